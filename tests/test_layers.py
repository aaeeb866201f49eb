"""The import contract of the package: layers, and no private names.

Every module of ``python/imbfast`` is parsed with :mod:`ast`; every import
statement counts, at module level or inside a function, guarded or not, and
so does ``importlib.import_module("imbfast...")`` with a literal name.

Layers, top to bottom; a module may import its own unit (its top-level
package or module under ``imbfast``) and units of *lower* layers only, so
units of one layer are independent of each other:

0. ``imbfast`` itself (the package's facade) and ``__main__``
1. ``cli``
2. ``_batch``, ``_bench`` (the command line's helpers), ``patch`` (the
   ``python -m imbfast.patch`` entry point)
3. ``_patch`` (the patching of imbalanced-learn)
4. ``dask``
5. ``combine``
6. ``over_sampling``, ``under_sampling``
7. ``neighbors``, ``sampling``
8. ``base``, ``_show_config``
9. ``_core``, ``_version``

One reference goes up, and it is not an import statement: the samplers'
hand-off to the Dask layer (``imbfast.base.dask_layer``), which runs
``importlib.import_module("imbfast.dask")`` only when a dask collection was
given to ``fit_resample`` (so dask is already loaded). It is whitelisted
below by module and target, and nothing else may do it. Modules that import
by computed names (from their own tables of samplers or dependencies) are
listed too; any other ``import_module``/``__import__`` call fails.

Private names: ``from imbfast.x import _name`` is allowed only for
``_core`` and ``_version``, and for a submodule ``_name`` of a package the
importing module belongs to (``from imbfast.neighbors._plan import tuning``
inside ``imbfast.neighbors`` is fine: the name is public; ``from
imbfast.sampling import _seed`` anywhere else is not).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "imbfast"

LAYERS: list[set[str]] = [
    {"imbfast", "__main__"},
    {"cli"},
    {"_batch", "_bench", "patch"},
    {"_patch"},
    {"dask"},
    {"combine"},
    {"over_sampling", "under_sampling"},
    {"neighbors", "sampling"},
    {"base", "_show_config"},
    {"_core", "_version"},
]
LEVEL = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}

# (importing module, imported module) pairs allowed against the layers.
HAND_OFFS = {("imbfast.base", "imbfast.dask")}
# Modules that import by computed names: imbalanced-learn's modules and
# imbfast's replacements listed in the patch registry, the samplers of the
# command line's benchmark table, the dependencies whose versions
# show_config prints.
DYNAMIC = {"imbfast._patch", "imbfast._bench", "imbfast._show_config"}
PRIVATE_OK = {"_core", "_version"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def is_module(name: str, root: Path) -> bool:
    """Whether ``imbfast.a.b`` names a module or package of the tree."""
    rel = Path(*name.split(".")[1:])
    return (root / rel).with_suffix(".py").is_file() or (
        root / rel / "__init__.py"
    ).is_file()


def unit(name: str) -> str:
    """The layered unit of a module: ``imbfast.neighbors._plan`` -> neighbors."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "imbfast"


def is_private(name: str) -> bool:
    return (
        name.startswith("_") and not name.startswith("__") and (name not in PRIVATE_OK)
    )


def imports(path: Path) -> list[tuple[int, str, str | None, bool]]:
    """(line, module, name imported from it or None, dynamic) of every import."""
    out: list[tuple[int, str, str | None, bool]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, None, False) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                out.append((node.lineno, "<relative>", None, False))
            else:
                out += [(node.lineno, node.module, a.name, False) for a in node.names]
        elif isinstance(node, ast.Call):
            func = node.func
            called = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else None
            )
            if called in ("import_module", "__import__"):
                arg = node.args[0] if node.args else None
                literal = (
                    arg.value
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                    else None
                )
                out.append((node.lineno, literal or "<computed>", None, True))
    return out


def violations(path: Path, root: Path = PACKAGE) -> list[str]:
    """Every breach of the contract by the module at ``path`` of tree ``root``."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    here = unit(name)
    found = []
    for line, module, imported, dynamic in imports(path):
        where = f"{path.relative_to(root.parent)}:{line}"
        if module == "<relative>":
            found.append(f"{where}: relative import")
            continue
        if module == "<computed>":
            if name not in DYNAMIC:
                found.append(f"{where}: import by computed name")
            continue
        if module != "imbfast" and not module.startswith("imbfast."):
            continue
        target = module
        submodule = imported in PRIVATE_OK  # _core is compiled: no .py file
        if imported is not None and (
            submodule or is_module(f"{module}.{imported}", root)
        ):
            # `from imbfast.x import _y` of a submodule: only inside imbfast.x.
            target = f"{module}.{imported}"
            inside = package == module or package.startswith(module + ".")
            if is_private(imported) and not inside:
                found.append(f"{where}: private module {target} outside {module}")
        elif imported is not None and is_private(imported):
            found.append(f"{where}: private name {imported} of {module}")
        if dynamic and (name, target) in HAND_OFFS:
            continue
        there = unit(target)
        if there == here:
            continue
        if there not in LEVEL or here not in LEVEL:
            found.append(f"{where}: {name} -> {target}: unit not in LAYERS")
        elif LEVEL[there] <= LEVEL[here]:
            found.append(
                f"{where}: {name} (layer {LEVEL[here]}) imports {target} "
                f"(layer {LEVEL[there]})"
            )
    return found


def test_every_unit_has_a_layer():
    units = {unit(module_name(p, PACKAGE)) for p in PACKAGE.rglob("*.py")}
    assert units - set(LEVEL) == set()


def test_imports_go_down_the_layers_and_skip_private_names():
    found = [v for p in sorted(PACKAGE.rglob("*.py")) for v in violations(p)]
    assert not found, "import contract broken:\n" + "\n".join(found)


def _copy_with(tmp_path: Path, where: str, source: str) -> tuple[Path, Path]:
    """The package's modules copied, plus one module at ``where``."""
    root = tmp_path / "imbfast"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("*.so", "*.pyc"))
    module = root / where
    module.write_text(source)
    return module, root


@pytest.mark.parametrize(
    ("where", "source", "message"),
    [
        ("base.py", "from imbfast.over_sampling import SMOTE\n", "imports"),
        ("base.py", "def f():\n    import imbfast.dask\n", "imports"),
        (
            "over_sampling/_x.py",
            "def f():\n    from imbfast.under_sampling import TomekLinks\n",
            "imports",
        ),
        ("neighbors/_x.py", "from imbfast.sampling import _seed\n", "private name"),
        ("dask/_x.py", "from imbfast.neighbors import _plan\n", "private module"),
        (
            "sampling.py",
            "import importlib\nimportlib.import_module('imbfast.dask')\n",
            "imports",
        ),
        ("combine/_x.py", "name = 'os'\n__import__(name)\n", "computed"),
        ("combine/_x.py", "from . import _combine\n", "relative"),
    ],
)
def test_the_contract_can_fail(tmp_path, where, source, message):
    module, root = _copy_with(tmp_path, where, source)
    found = violations(module, root)
    assert any(message in v for v in found), found


def test_allowed_forms_pass(tmp_path):
    module, root = _copy_with(
        tmp_path,
        "neighbors/_x.py",
        "from imbfast import _core\n"
        "from imbfast._version import __version__\n"
        "from imbfast.neighbors import _plan\n"
        "from imbfast.neighbors._plan import tuning\n"
        "def f():\n    from imbfast.base import resolve_n_jobs\n",
    )
    assert violations(module, root) == []
