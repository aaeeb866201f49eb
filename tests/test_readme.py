"""The README's Python code blocks run as they are, in order, in one script."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[int, str]]:
    text = README.read_text()
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(1)) for m in BLOCK.finditer(text)
    ]


def test_readme_has_python_blocks():
    found = blocks()
    assert len(found) >= 4
    assert any("SMOTE" in code and "fit_resample" in code for _, code in found)


def run_script(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=200,
        cwd=path.parent,
    )


@pytest.mark.slow
def test_readme_python_blocks_run(tmp_path):
    # Blocks run in README order in one script (later blocks use earlier
    # names), except a block written as a program of its own (with
    # `if __name__ == "__main__":`, as the dask one needs for its worker
    # processes), which runs as its own script file, as a user would.
    # A block that needs an optional package the environment lacks (torch:
    # `make test-torch` installs it) is left out.
    optional = [mod for mod in ("torch",) if importlib.util.find_spec(mod) is None]
    runnable = [
        (line, code)
        for line, code in blocks()
        if not any(f"import {m}" in code or f"from {m}" in code for m in optional)
    ]
    shared, alone = [], []
    for line, code in runnable:
        marked = f"print('--- README.md line {line}', flush=True)\n{code}"
        if '__name__ == "__main__"' in code:
            alone.append(code)  # no marker: worker processes re-import it
        else:
            shared.append(marked)
    scripts = [tmp_path / "readme_blocks.py"]
    scripts[0].write_text("\n".join(shared))
    for i, code in enumerate(alone):
        scripts.append(tmp_path / f"readme_program_{i}.py")
        scripts[-1].write_text(code)
    ran = 0
    for script in scripts:
        proc = run_script(script)
        assert proc.returncode == 0, (
            f"{script.name}:\n" + proc.stdout[-2000:] + proc.stderr[-4000:]
        )
        ran += proc.stdout.count("--- README.md line")
    assert ran == len(shared) and len(shared) + len(alone) == len(runnable)
