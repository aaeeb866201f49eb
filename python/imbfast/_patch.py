"""Make imbalanced-learn use imbfast's samplers without editing a program.

After :func:`patch`, ``from imblearn.over_sampling import SMOTE`` gives
:class:`imbfast.over_sampling.SMOTE`, and so on for every sampler imbfast
has. imbalanced-learn's own modules that imported a sampler at module level
(``imblearn.combine``'s SMOTEENN/SMOTETomek build a ``SMOTE``; the
ensembles ``BalancedBaggingClassifier``, ``BalancedRandomForestClassifier``,
``EasyEnsembleClassifier`` and ``RUSBoostClassifier`` build a
``RandomUnderSampler``) then build imbfast's. :func:`unpatch` restores
imbalanced-learn's classes; ``with patched(): ...`` does both around a
block; ``python -m imbfast.patch script.py [args]`` runs a script patched.

Which samplers are replaced is discovered when :func:`patch` runs: every
name in ``__all__`` of :mod:`imbfast.over_sampling`,
:mod:`imbfast.under_sampling` and :mod:`imbfast.combine` that is also a
class of the same name in the corresponding ``imblearn`` package. Every
attribute of every loaded ``imblearn`` module (``sys.modules``) that *is*
one of those imbalanced-learn classes is swapped, including the modules
that define them; modules imported later pick up imbfast's classes from the
patched packages. imblearn's classes themselves are not modified.

State: a monkey-patch has to remember what it replaced to undo it; that is
the one piece of process-wide mutable state here, kept in a single
:class:`PatchRegistry` object (``REGISTRY``) whose lock makes
:func:`patch` and :func:`unpatch` safe to call from several threads.
Patching is process-wide by nature: every thread sees the patched modules.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import runpy
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType

# imbfast package -> the imblearn package whose names it mirrors.
PACKAGES: tuple[tuple[str, str], ...] = (
    ("imbfast.over_sampling", "imblearn.over_sampling"),
    ("imbfast.under_sampling", "imblearn.under_sampling"),
    ("imbfast.combine", "imblearn.combine"),
)


@dataclass(frozen=True)
class Replacement:
    """One imbalanced-learn class and the imbfast class that stands in for it."""

    public_name: str  # e.g. "imblearn.over_sampling.SMOTE"
    original: type
    replacement: type


def discover() -> list[Replacement]:
    """The samplers imbfast can stand in for, found in the packages' ``__all__``.

    Returns
    -------
    replacements : list of Replacement
        One per imbfast sampler whose name is also an imbalanced-learn
        class in the matching package, in ``__all__`` order.
    """
    found = []
    for fast_name, imb_name in PACKAGES:
        fast_module = importlib.import_module(fast_name)
        imb_module = importlib.import_module(imb_name)
        for name in getattr(fast_module, "__all__", ()):
            ours = getattr(fast_module, name, None)
            theirs = getattr(imb_module, name, None)
            if isinstance(ours, type) and isinstance(theirs, type):
                if theirs.__module__.startswith("imblearn"):
                    found.append(Replacement(f"{imb_name}.{name}", theirs, ours))
    return found


def _imblearn_modules() -> list[ModuleType]:
    return [
        module
        for name, module in list(sys.modules.items())
        if isinstance(module, ModuleType)
        and (name == "imblearn" or name.startswith("imblearn."))
    ]


class PatchRegistry:
    """What :func:`patch` replaced, so that :func:`unpatch` can undo it.

    The single module-level object of this kind (``REGISTRY``) is the only
    mutable state of the patch: a monkey-patch cannot avoid remembering the
    originals somewhere. It holds the active replacements (imbalanced-learn
    class -> imbfast class) and every ``(module, attribute, original)``
    swapped; a lock serialises patching and unpatching.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[Replacement] = []
        self._swapped: list[tuple[ModuleType, str, type]] = []

    @property
    def active(self) -> bool:
        """Whether imbalanced-learn is currently patched."""
        return bool(self._active)

    def replacements(self) -> list[Replacement]:
        """The replacements in force (empty when not patched)."""
        return list(self._active)

    def apply(self) -> list[str] | None:
        """Swap the classes; None when already patched."""
        with self._lock:
            if self._active:
                return None
            found = discover()
            by_original = {id(r.original): r for r in found}
            for module in _imblearn_modules():
                for attr, value in list(vars(module).items()):
                    hit = by_original.get(id(value))
                    if hit is not None and value is hit.original:
                        setattr(module, attr, hit.replacement)
                        self._swapped.append((module, attr, value))
            self._active = found
            return [r.public_name for r in found]

    def restore(self) -> list[str] | None:
        """Put imbalanced-learn's classes back; None when not patched."""
        with self._lock:
            if not self._active:
                return None
            for module, attr, original in self._swapped:
                setattr(module, attr, original)
            # Modules imported while patched bound imbfast's classes: undo
            # those bindings too.
            by_replacement = {id(r.replacement): r for r in self._active}
            for module in _imblearn_modules():
                for attr, value in list(vars(module).items()):
                    hit = by_replacement.get(id(value))
                    if hit is not None and value is hit.replacement:
                        setattr(module, attr, hit.original)
            names = [r.public_name for r in self._active]
            self._active = []
            self._swapped = []
            return names


REGISTRY = PatchRegistry()


def _say_patched(names: list[str]) -> None:
    short = ", ".join(name.rsplit(".", 1)[1] for name in names)
    print(f"imbfast: {len(names)} imbalanced-learn samplers use imbfast: {short}")


def patch(verbose: bool = False) -> list[str]:
    """Make imbalanced-learn's sampler names give imbfast's samplers.

    Parameters
    ----------
    verbose : bool, default=False
        Print one line saying what was replaced.

    Returns
    -------
    replaced : list of str
        The imbalanced-learn names now bound to imbfast's classes (e.g.
        ``"imblearn.over_sampling.SMOTE"``); empty when imbalanced-learn was
        already patched (a warning says so and nothing changes).

    Examples
    --------
    >>> import imbfast
    >>> replaced = imbfast.patch()
    >>> from imblearn.over_sampling import SMOTE
    >>> SMOTE.__module__
    'imbfast.over_sampling._smote'
    >>> _ = imbfast.unpatch()
    """
    names = REGISTRY.apply()
    if names is None:
        warnings.warn(
            "imbfast.patch(): imbalanced-learn is already patched; nothing done.",
            UserWarning,
            stacklevel=2,
        )
        return []
    if verbose:
        _say_patched(names)
    return names


def unpatch(verbose: bool = False) -> list[str]:
    """Give imbalanced-learn its own samplers back.

    Parameters
    ----------
    verbose : bool, default=False
        Print one line saying what was restored.

    Returns
    -------
    restored : list of str
        The imbalanced-learn names restored; empty when imbalanced-learn was
        not patched (a warning says so and nothing changes).
    """
    names = REGISTRY.restore()
    if names is None:
        warnings.warn(
            "imbfast.unpatch(): imbalanced-learn is not patched; nothing done.",
            UserWarning,
            stacklevel=2,
        )
        return []
    if verbose:
        print(f"imbfast: {len(names)} imbalanced-learn samplers restored")
    return names


def is_patched() -> bool:
    """Whether imbalanced-learn is currently patched."""
    return REGISTRY.active


@contextlib.contextmanager
def patched(verbose: bool = False) -> Iterator[list[str]]:
    """Patch imbalanced-learn for the duration of a ``with`` block.

    Yields the list :func:`patch` returns. When imbalanced-learn was already
    patched on entry, the block changes nothing and leaves it patched.

    Examples
    --------
    >>> import imbfast
    >>> with imbfast.patched():
    ...     from imblearn.under_sampling import RandomUnderSampler
    >>> RandomUnderSampler.__module__
    'imbfast.under_sampling._random_under_sampler'
    >>> from imblearn.under_sampling import RandomUnderSampler
    >>> RandomUnderSampler.__module__
    'imblearn.under_sampling._prototype_selection._random_under_sampler'
    """
    names = REGISTRY.apply()
    if names is not None and verbose:
        _say_patched(names)
    try:
        yield names or []
    finally:
        if names is not None:
            REGISTRY.restore()
            if verbose:
                print(f"imbfast: {len(names)} imbalanced-learn samplers restored")


USAGE = "usage: python -m imbfast.patch [-v] script.py [args ...]"


def main(argv: Sequence[str] | None = None) -> int:
    """Run a Python script with imbalanced-learn patched.

    Parameters
    ----------
    argv : sequence of str, default=None
        ``[-v] script.py [args ...]``; ``None`` reads ``sys.argv[1:]``. The
        script sees ``sys.argv == [script.py, args ...]`` and runs as
        ``__main__``, its directory first on ``sys.path``, as with
        ``python script.py``.

    Returns
    -------
    code : int
        0 after the script ran (its own ``sys.exit`` propagates), 2 for a
        missing or unreadable script.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = False
    if args and args[0] in ("-v", "--verbose"):
        verbose = True
        args = args[1:]
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 0 if args else 2
    script = args[0]
    if not os.path.isfile(script):
        print(f"{USAGE}\nerror: no such script: {script}", file=sys.stderr)
        return 2
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = list(args)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        with patched(verbose=verbose):
            runpy.run_path(script, run_name="__main__")
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
    return 0
