"""Fuzzing (tests/fuzz_worker.py) in child processes, so a crash is a failure.

``IMBFAST_FUZZ_EXAMPLES`` sets the examples per target (default 100: a few
hundred in all for CI; ``make fuzz`` runs 2,600 per target, over 10,000 in
all), ``IMBFAST_FUZZ_SEED`` the Hypothesis seed (default 0, so CI is
repeatable; ``make fuzz`` draws a fresh one).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("fuzz_worker.py")
EXAMPLES = int(os.environ.get("IMBFAST_FUZZ_EXAMPLES", "100"))
SEED = int(os.environ.get("IMBFAST_FUZZ_SEED", "0"))


def run_worker(target: str, record: Path, examples: int, timeout: float):
    return subprocess.run(
        [
            sys.executable,
            str(WORKER),
            "--target",
            target,
            "--examples",
            str(examples),
            "--seed",
            str(SEED),
            "--record",
            str(record),
            "--stats",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def describe(proc: subprocess.CompletedProcess, record: Path) -> str:
    how = (
        f"killed by signal {signal.Signals(-proc.returncode).name}"
        if proc.returncode < 0
        else f"exit code {proc.returncode}"
    )
    text = [f"fuzz worker {how} (seed {SEED})"]
    if proc.returncode < 0 or "Timeout" in proc.stderr:
        # A crash or a hang: the last example started is the culprit.
        if record.exists():
            text.append(
                "last example (replay with: python tests/fuzz_worker.py "
                f"--replay {record}):"
            )
            text.append(record.read_text())
    text.append(proc.stdout[-3000:])
    text.append(proc.stderr[-5000:])
    return "\n".join(text)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["core", "neighbors", "samplers", "sampling"])
def test_fuzz(target, tmp_path):
    record = tmp_path / "last_example.json"
    proc = run_worker(target, record, EXAMPLES, timeout=max(280, EXAMPLES * 0.5))
    assert proc.returncode == 0, describe(proc, record)
    assert f"fuzz {target}: {EXAMPLES} examples passed" in proc.stdout
    # Real work happened: some calls returned results.
    assert "'ok'" in proc.stdout


def test_a_crash_is_reported_with_its_example(tmp_path):
    # A worker killed mid-example (as by a segfault) fails with the example
    # it was running, ready to replay.
    record = tmp_path / "last_example.json"
    code = (
        "import os, signal, sys\n"
        f"sys.path.insert(0, {str(WORKER.parent)!r})\n"
        "import fuzz_worker\n"
        "def boom(spec, tmpdir):\n"
        "    os.kill(os.getpid(), signal.SIGSEGV)\n"
        "fuzz_worker.TARGETS['core'] = (fuzz_worker.core_specs, boom)\n"
        f"fuzz_worker.main(['--target', 'core', '--examples', '5', '--record', "
        f"{str(record)!r}])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -signal.SIGSEGV
    message = describe(proc, record)
    assert "SIGSEGV" in message and "--replay" in message
    example = json.loads(record.read_text())
    assert example["target"] == "core" and "call" in example["spec"]


def test_a_hang_is_cut_by_the_example_timeout(tmp_path):
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(WORKER.parent)!r})\n"
        "import fuzz_worker\n"
        "fuzz_worker.TARGETS['core'] = (fuzz_worker.core_specs, "
        "lambda spec, tmpdir: time.sleep(60))\n"
        "fuzz_worker.main(['--target', 'core', '--examples', '2', "
        "'--example-timeout', '1'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    assert "Timeout" in proc.stderr


def test_known_defects_are_few_and_explained():
    sys.path.insert(0, str(WORKER.parent))
    try:
        import fuzz_worker
    finally:
        sys.path.pop(0)
    assert len(fuzz_worker.KNOWN_DEFECTS) <= 6
    for target, why, _ in fuzz_worker.KNOWN_DEFECTS:
        assert target in fuzz_worker.TARGETS
        assert ".py" in why or ".cpp" in why
