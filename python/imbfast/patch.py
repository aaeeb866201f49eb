"""``python -m imbfast.patch script.py [args]``: run a script with imblearn patched.

The implementation is in :mod:`imbfast._patch`; this module is its command
line. It also stays usable as a function: ``import imbfast.patch`` binds
this module to ``imbfast.patch``, where :func:`imbfast.patch` is expected,
so calling the module patches (see :func:`imbfast._patch.patch`).
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from imbfast._patch import REGISTRY, is_patched, main, patch, patched, unpatch

__all__ = ["REGISTRY", "is_patched", "main", "patch", "patched", "unpatch"]


class _CallableModule(ModuleType):
    """A module that behaves as :func:`imbfast.patch` when called."""

    def __call__(self, verbose: bool = False) -> Any:
        return patch(verbose=verbose)


if __name__ == "__main__":
    sys.exit(main())
else:
    sys.modules[__name__].__class__ = _CallableModule
