"""IMBFAST_ISA caps the dispatched instruction set; every ISA gives the same bits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imbfast import _core

# avx512vnni caps the ISA at avx512 and keeps VNNI (the int8 filter pass);
# an avx512 cap turns VNNI off.
ORDER = ["generic", "avx2", "avx512", "avx512vnni"]
SCRIPT = Path(__file__).with_name("isa_outputs.py")


def supported() -> list[str]:
    """ISAs this machine can run, from the best one the CPU supports."""
    compiled = _core.compiled_isas().split(",")
    best = ORDER.index(_core.best_isa())
    isas = [isa for isa in ORDER[: best + 1] if isa in compiled]
    return isas + (["avx512vnni"] if _core.vnni_supported() else [])


def run(code: str, isa: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("IMBFAST_ISA", None)
    if isa is not None:
        env["IMBFAST_ISA"] = isa
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


REPORT = (
    "import json, imbfast\n"
    "from imbfast._show_config import config\n"
    "c = config()\n"
    "keys = ('simd', 'simd_best', 'simd_cap', 'simd_vnni')\n"
    "print(json.dumps({k: c[k] for k in keys}))\n"
)


@pytest.mark.parametrize("isa", ORDER)
def test_cap_is_applied_and_reported(isa):
    proc = run(REPORT, isa)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    best = _core.best_isa()
    expected = ORDER[min(ORDER.index(isa), ORDER.index(best))]
    vnni = isa == "avx512vnni" and _core.vnni_supported()
    assert got == {
        "simd": expected,
        "simd_best": best,
        "simd_cap": isa,
        "simd_vnni": vnni,
    }


def test_no_cap_runs_the_best():
    proc = run(REPORT, None)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {
        "simd": _core.best_isa(),
        "simd_best": _core.best_isa(),
        "simd_cap": "none",
        "simd_vnni": _core.vnni_supported(),
    }


def test_unknown_value_keeps_the_best_and_says_so():
    proc = run(REPORT, "sse9")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["simd"] == _core.best_isa()
    assert "'sse9' ignored" in got["simd_cap"]
    assert got["simd_vnni"] == _core.vnni_supported()


@pytest.mark.slow
def test_every_isa_gives_identical_outputs():
    isas = supported()
    if len(isas) < 2:
        pytest.skip(f"only {isas} runs on this machine")
    digests = {}
    for isa in isas:
        proc = run(SCRIPT.read_text(), isa)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert out.pop("isa") == isa
        digests[isa] = out
    reference = digests[isas[0]]
    # The engines named in the keys really ran (brute, tree, pruned).
    assert any("[brute]" in k for k in reference)
    assert any("[tree]" in k for k in reference)
    assert any("[pruned]" in k for k in reference)
    for isa in isas[1:]:
        differ = {k for k in reference if digests[isa][k] != reference[k]}
        assert not differ, f"{isa} differs from {isas[0]} on {sorted(differ)}"
