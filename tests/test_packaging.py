"""What a plain ``pip install imbfast`` (no extras) gives a user.

A fresh virtual environment costs minutes here, so two cheaper checks stand
in for it, each able to fail:

* statically, every module imbfast imports outside the dask subpackage and
  outside ``try/except ImportError`` guards is provided by a distribution in
  the closure of ``[project.dependencies]`` (extras excluded);
* dynamically, ``imbfast resample`` runs every method on CSV and Parquet in a
  subprocess where importing any third-party module outside that closure
  raises ModuleNotFoundError, as it would in a no-extras environment.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import tomllib
from packaging.requirements import Requirement

import imbfast
from imbfast import _core

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "python" / "imbfast"


def _pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def _closure(requirements: list[str], extra: str = "") -> set[str]:
    """Installed distributions these requirements pull in, recursively."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = req.name.lower().replace("_", "-")
        if name in seen or name == "imbfast":
            continue
        seen.add(name)
        try:
            sub = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue
        todo.extend(Requirement(r) for r in sub)
    return seen


def _modules_of(dists: set[str]) -> set[str]:
    """Top-level import names the given distributions provide."""
    mapping = metadata.packages_distributions()
    return {
        module
        for module, owners in mapping.items()
        if any(o.lower().replace("_", "-") in dists for o in owners)
    }


def core_modules() -> set[str]:
    return _modules_of(_closure(_pyproject()["project"]["dependencies"])) | {"imbfast"}


def extra_modules(extra: str) -> set[str]:
    reqs = [
        r
        for r in _pyproject()["project"]["optional-dependencies"][extra]
        if not r.startswith("imbfast")
    ]
    return _modules_of(_closure(reqs))


def _imports(path: Path) -> list[tuple[str, bool, int]]:
    """(top-level module, guarded by except ImportError, line) per import."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out: list[tuple[str, bool, int]] = []

    def guarded_by(node: ast.Try) -> bool:
        for handler in node.handlers:
            names = []
            if isinstance(handler.type, ast.Name):
                names = [handler.type.id]
            elif isinstance(handler.type, ast.Tuple):
                names = [e.id for e in handler.type.elts if isinstance(e, ast.Name)]
            if {"ImportError", "ModuleNotFoundError"} & set(names):
                return True
        return False

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.Try) and guarded_by(node):
            for child in node.body:
                visit(child, True)
            for part in (node.handlers, node.orelse, node.finalbody):
                for child in part:
                    visit(child, guarded)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append((alias.name.partition(".")[0], guarded, node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.module.partition(".")[0], guarded, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return out


def test_every_import_is_a_declared_dependency():
    core = core_modules()
    dask_extra = core | extra_modules("dask")
    any_extra = dask_extra | extra_modules("plot")
    stdlib = set(sys.stdlib_module_names)
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        in_dask = "dask" in path.relative_to(PACKAGE).parts[:-1]
        for module, guarded, line in _imports(path):
            if module in stdlib or module == "__future__":
                continue
            allowed = any_extra if guarded else (dask_extra if in_dask else core)
            if module not in allowed:
                problems.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    assert not problems, "imports not covered by the dependencies:\n" + "\n".join(
        problems
    )


def test_the_static_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import dask\ntry:\n    import matplotlib\nexcept ImportError:\n    pass\n"
    )
    found = _imports(bad)
    assert ("dask", False, 1) in found and ("matplotlib", True, 3) in found
    assert "dask" not in core_modules() and "matplotlib" not in core_modules()
    assert "pandas" in core_modules() and "pyarrow" in core_modules()


# Runs the CLI with every third-party module outside the core closure hidden.
_BLOCKED_CLI = textwrap.dedent(
    """
    import importlib.abc
    import json
    import sys

    allowed = set(json.loads(sys.argv[1]))
    stdlib = set(sys.stdlib_module_names)

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            # Private top-level helpers (_sysconfigdata_*, ...) belong to
            # the interpreter or to the packages that load them.
            if top in stdlib or top in allowed or top.startswith("_"):
                return None
            raise ModuleNotFoundError(f"No module named {name!r} (hidden)", name=name)

    for name in list(sys.modules):
        top = name.partition(".")[0]
        if top not in stdlib and top not in allowed and not top.startswith("_"):
            del sys.modules[name]
    sys.meta_path.insert(0, NotInstalled())

    from imbfast.cli import main

    failures = []
    for args in json.loads(sys.argv[2]):
        code = main(args)
        if code != 0:
            failures.append((args, code))
    loaded = {m.partition(".")[0] for m in sys.modules}
    # cython_runtime: a placeholder Cython-built extensions register;
    # swig_runtime_dataN: the one FAISS's SWIG bindings register.
    loaded -= {"cython_runtime"}
    loaded = {m for m in loaded if not m.startswith("swig_runtime_data")}
    hidden = sorted(m for m in loaded - allowed - stdlib if not m.startswith("_"))
    print(json.dumps({"failures": failures, "hidden_loaded": hidden}))
    """
)


@pytest.mark.slow
def test_cli_every_method_without_extras(tmp_path):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from imbfast._batch import METHODS

    rng = np.random.default_rng(0)
    n = 240
    label = rng.choice([0, 1, 2], size=n, p=[0.6, 0.3, 0.1])
    table = pa.table(
        {
            # Separated classes: KMeansSMOTE finds clusters of each.
            "a": 0.3 * rng.normal(size=n) + 3 * label,
            "b": rng.integers(0, 50, n).astype(np.int32),
            "label": label,
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    pacsv.write_csv(table, tmp_path / "in.csv")
    runs = []
    for fmt in ("csv", "parquet"):
        for method in METHODS:
            out = tmp_path / f"{method}.{fmt}"
            runs.append(
                [
                    "resample",
                    str(tmp_path / f"in.{fmt}"),
                    str(out),
                    "--target",
                    "label",
                    "--method",
                    method,
                    "--random-state",
                    "0",
                    "--quiet",
                    # SMOTENC needs a categorical column.
                    *(["--categorical", "b"] if method == "smote-nc" else []),
                ]
            )
    allowed = sorted(core_modules())
    proc = subprocess.run(
        [sys.executable, "-c", _BLOCKED_CLI, json.dumps(allowed), json.dumps(runs)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["failures"] == [], proc.stderr[-3000:]
    assert report["hidden_loaded"] == []
    for fmt in ("csv", "parquet"):
        for method in METHODS:
            out = tmp_path / f"{method}.{fmt}"
            result = pq.read_table(out) if fmt == "parquet" else pacsv.read_csv(out)
            assert result.column_names == ["a", "b", "label"]
            assert result.num_rows > 0


def test_hiding_a_module_is_effective(tmp_path):
    """The blocker really hides what is outside the closure (here: pandas)."""
    allowed = sorted(core_modules() - {"pandas"})
    runs = [["resample", "x.csv", "y.csv", "--target", "t", "--method", "smote"]]
    (tmp_path / "x.csv").write_text("a,t\n1,0\n2,1\n")
    proc = subprocess.run(
        [sys.executable, "-c", _BLOCKED_CLI, json.dumps(allowed), json.dumps(runs)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(report["failures"]) == 1
    assert "No module named 'pandas' (hidden)" in proc.stderr


def test_one_version_everywhere():
    assert imbfast.__version__ == _core.__version__
    assert imbfast.__version__ == metadata.version("imbfast")
    assert "version" in _pyproject()["project"]["dynamic"]
    assert "version" not in _pyproject()["project"]
    assert "VERSION" not in (ROOT / "CMakeLists.txt").read_text().split("project(", 1)[
        1
    ].split(")", 1)[0].replace("VERSION ${SKBUILD_PROJECT_VERSION}", "")


def test_license_and_py_typed():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "imbfast developers" in (ROOT / "LICENSE").read_text()
    assert (Path(imbfast.__file__).parent / "py.typed").is_file()
    files = metadata.files("imbfast") or []
    names = {str(f) for f in files}
    # A wheel install lists its files; an editable install points at the tree.
    if any(n.endswith("__init__.py") for n in names):
        assert any(n.endswith("imbfast/py.typed") for n in names)


def test_dask_not_imported_to_detect_collections():
    code = (
        "import sys, numpy as np\n"
        "from imbfast.base import is_dask_collection\n"
        "assert not is_dask_collection(np.zeros(3))\n"
        "assert not is_dask_collection([1])\n"
        "assert 'dask' not in sys.modules, 'dask was imported'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


def test_dask_collections_detected():
    pytest.importorskip("dask.dataframe")
    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd

    from imbfast.base import is_dask_collection

    ddf = dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0]}), npartitions=1)
    assert is_dask_collection(ddf)
    assert is_dask_collection(ddf["a"])
    assert is_dask_collection(da.zeros(3))
    assert not is_dask_collection(pd.DataFrame({"a": [1]}))

    class Impostor:  # a "dask" attribute alone is not enough
        dask = {}

    Impostor.__module__ = "dask.fake"
    assert not is_dask_collection(Impostor())


def test_a_hung_test_fails_instead_of_stalling(tmp_path):
    # pytest-timeout is configured for every test (pyproject.toml); a test
    # stuck past the limit ends the run with a failure.
    assert _pyproject()["tool"]["pytest"]["ini_options"]["timeout"] > 0
    hung = tmp_path / "test_hung.py"
    hung.write_text("import time\n\ndef test_hung():\n    time.sleep(120)\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(hung),
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            "--timeout=2",
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode != 0
    assert "Timeout" in proc.stdout + proc.stderr
