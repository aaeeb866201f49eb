"""imbfast: C++-accelerated, drop-in replacement for imbalanced-learn's resampling.

Change ``from imblearn.over_sampling import SMOTE`` to
``from imbfast.over_sampling import SMOTE``: same parameters, same result for
the same ``random_state``, many times faster.
"""

try:
    from imbfast import _core  # noqa: F401 - fail early, with advice
except ImportError as exc:  # pragma: no cover - only on a broken install
    raise ImportError(
        "imbfast's compiled core (imbfast._core) could not be imported. "
        "Rebuild and reinstall imbfast from its source tree, for example with "
        "`pip install --force-reinstall --no-deps .` (or `make test`), "
        f"then try again. The original error was: {exc}"
    ) from exc

from imbfast._show_config import show_config
from imbfast._version import __version__

__all__ = ["__version__", "patch", "patched", "show_config", "unpatch"]

# imbfast.patch() and friends sit at the top layer (like the cli): loaded on
# first use, so that ``import imbfast`` stays light.
_PATCH_NAMES = ("patch", "unpatch", "patched", "is_patched")


def __getattr__(name: str):
    if name in _PATCH_NAMES:
        from imbfast import _patch

        return getattr(_patch, name)
    raise AttributeError(f"module 'imbfast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_PATCH_NAMES})
