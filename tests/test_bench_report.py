"""The README's benchmark report runs end to end (tiny sizes; no speed asserted).

``benchmarks/bench_report.py`` writes every performance table of the README;
this smoke test runs all of its rows at the ``--quick`` sizes so that the
script cannot rot, and checks what each row must show: both libraries timed,
the output check passed, the README block rewritten between its markers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_report  # noqa: E402


def table_rows(text: str) -> list[list[str]]:
    """The cells of every data row of the report's tables."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| |") and "---" not in line:
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def check_rows(rows: list[list[str]], expected: int) -> None:
    assert len(rows) == expected
    for cells in rows:
        rounds, theirs, ours, ratio = cells[2:6]
        verdict, engine = cells[-2], cells[-1]
        assert int(rounds) >= 1
        assert theirs.endswith(("s", "ms")) and ours.endswith(("s", "ms")), cells
        assert ratio.endswith("x"), cells
        assert " / " in cells[8], cells  # peak memory of both libraries
        assert verdict in ("equal", "ties, rule checked", "same counts"), cells
        assert engine in ("-", "scan", "brute", "tree", "pruned"), cells


@pytest.mark.slow
def test_every_row_runs_and_rewrites_the_readme(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "# title\n\nbefore\n\n"
        f"{bench_report.START}\nold numbers\n{bench_report.END}\n\nafter\n"
    )
    out = tmp_path / "report.md"
    code = bench_report.main(
        ["--quick", "--in-process", "--out", str(out), "--readme", str(readme)]
    )
    assert code == 0
    text = out.read_text()
    check_rows(table_rows(text), len(bench_report.plan_rows(quick=True)))
    for _, title, _ in bench_report.SECTIONS:
        assert f"#### {title}" in text
    assert "usable cores" in text and "GEMM" in text and "copy bandwidth" in text
    new = readme.read_text()
    assert "old numbers" not in new
    assert new.startswith("# title\n\nbefore\n\n") and new.endswith("\n\nafter\n")
    assert f"{bench_report.START}\n{text}{bench_report.END}" in new


def test_rows_run_in_their_own_process(tmp_path):
    out = tmp_path / "report.md"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "bench_report.py"),
            "--quick",
            "--sections",
            "random",
            "--only",
            "RandomUnderSampler",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    check_rows(table_rows(out.read_text()), 1)


def test_missing_markers_are_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="no <!-- bench-report:start -->"):
        bench_report.rewrite_readme(readme, "text\n")
