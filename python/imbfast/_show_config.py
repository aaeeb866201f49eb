"""Report how imbfast was built and what it will use on this machine."""

from __future__ import annotations

import platform
import sys
from typing import Any

from imbfast import _core


def _module_version(name: str) -> str:
    try:
        module = __import__(name)
    except ImportError:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


def _isa_cap() -> str:
    request = _core.isa_request()
    if not request:
        return "none"
    if not _core.isa_request_valid():
        return (
            f"IMBFAST_ISA={request!r} ignored (use generic, avx2, avx512 or avx512vnni)"
        )
    return request


def config() -> dict[str, Any]:
    """Return imbfast's build and runtime configuration as a dict.

    Returns
    -------
    info : dict
        Keys: ``version``, ``simd`` (the instruction set the kernels use),
        ``simd_best`` (the best one this CPU supports), ``simd_cap`` (the
        ``IMBFAST_ISA`` cap as read, ``"none"`` when unset; an unknown value
        is ignored and shown as such), ``simd_vnni`` (whether the int8
        kernels use AVX-512 VNNI: the CPU has it and the cap, if any, is
        ``avx512vnni``), ``simd_compiled``,
        ``hardware_threads``, ``faiss_threads``,
        and the versions of Python, NumPy, FAISS, scikit-learn and
        imbalanced-learn.
    """
    import faiss

    from imbfast._version import __version__

    return {
        "version": __version__,
        "simd": _core.active_isa(),
        "simd_best": _core.best_isa(),
        "simd_cap": _isa_cap(),
        "simd_vnni": _core.vnni_active(),
        "simd_compiled": _core.compiled_isas(),
        "hardware_threads": _core.hardware_threads(),
        "faiss_threads": faiss.omp_get_max_threads(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": _module_version("numpy"),
        "faiss": str(getattr(faiss, "__version__", "unknown")),
        "scikit-learn": _module_version("sklearn"),
        "imbalanced-learn": _module_version("imblearn"),
    }


def show_config() -> None:
    """Print imbfast's version, SIMD path, thread count and library versions."""
    for key, value in config().items():
        print(f"{key:>17}: {value}")
