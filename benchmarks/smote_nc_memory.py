"""SMOTENC and SMOTEN: peak memory and speed against imbalanced-learn.

Every measurement runs in a fresh subprocess. The child builds its data in
place (no temporaries larger than a chunk), reads its resident set size,
warms the sampler up on a small slice, resets the kernel's peak-RSS counter
(``/proc/self/clear_refs``; elsewhere the peak since start, which includes
the data, is used) and then resamples once. "extra" is the peak RSS during
``fit_resample`` minus the RSS before it: the sampler's working memory plus
its output.

Data. SMOTENC: n rows x (10 continuous Gaussian features shifted by class +
10 categorical features with 1,000 levels each, stored as float64 codes),
9:1. SMOTEN: n rows x 20 categorical features (int64 codes, 5 to 24 levels,
class-dependent frequencies), 9:1.

Usage::

    python benchmarks/smote_nc_memory.py                  # everything below
    python benchmarks/smote_nc_memory.py --nc-rows 1000000 \
        --nc-imblearn-rows 10000 20000 --compare-rows 10000 \
        --n-rows 200000 --n-compare-rows 20000 --n-jobs 2

The comparisons run both libraries in one process on the same data with the
same thread count (imbalanced-learn's SMOTENC/SMOTEN have no n_jobs; imbfast
gets ``--n-jobs``), after a warm-up, with equal rounds, and assert equal
outputs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import measure

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[6])
import numpy as np
import measure
import realistic_data

mode, impl = sys.argv[1], sys.argv[2]
n, n_jobs, rounds = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def sampler(lib, name, extra, n_jobs):
    if lib == "imblearn":
        import imblearn.over_sampling as mod
        return getattr(mod, name)(random_state=0, **extra)
    import imbfast.over_sampling as mod
    return getattr(mod, name)(random_state=0, n_jobs=n_jobs, **extra)

name = "SMOTENC" if mode == "nc" else "SMOTEN"
if mode == "nc":
    X, y, cats = realistic_data.smote_nc_data(n)
    extra = {"categorical_features": cats}
else:
    X, y = realistic_data.smote_n_data(n)
    extra = {}
input_mb = (X.nbytes + y.nbytes) / 2**20
warm = np.r_[np.flatnonzero(y == 0)[:1800], np.flatnonzero(y == 1)[:200]]
libs = ["imbfast", "imblearn"] if impl == "both" else [impl]
result = {"mode": mode, "impl": impl, "n": n, "n_jobs": n_jobs, "input_mb": input_mb}
with measure.same_threads(n_jobs):
    for lib in libs:
        s = sampler(lib, name, extra, n_jobs)
        s.fit_resample(X[warm], y[warm])
    for lib in libs:
        s = sampler(lib, name, extra, n_jobs)
        times, extra_bytes = [], 0
        for _ in range(rounds):
            with measure.PeakMemory() as mem:
                start = time.perf_counter()
                X_res, y_res = s.fit_resample(X, y)
                times.append(time.perf_counter() - start)
            extra_bytes = max(extra_bytes, mem.extra)
        result[lib] = {
            "seconds": min(times),
            "extra_mb": extra_bytes / 2**20,
            "out_mb": (X_res.nbytes + y_res.nbytes) / 2**20,
            "peak_reset": mem.exact,
            "digest": measure.digest(X_res, y_res),
        }
        del X_res, y_res, s
if impl == "both":
    assert result["imbfast"]["digest"] == result["imblearn"]["digest"], "outputs differ"
    result["same_output"] = True
print(json.dumps(result))
"""


def child(mode: str, impl: str, n: int, n_jobs: int, rounds: int) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            mode,
            impl,
            str(n),
            str(n_jobs),
            str(rounds),
            str(Path(__file__).parent),
        ],
        capture_output=True,
        text=True,
        env=measure.thread_env(n_jobs),
        check=False,
    )
    if proc.returncode != 0:
        return {"mode": mode, "impl": impl, "n": n, "error": proc.stderr.strip()[-400:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def line(r: dict, lib: str) -> str:
    m = r[lib]
    ratio = m["extra_mb"] / r["input_mb"]
    return (
        f"| {r['mode']} | {lib} | {r['n']:,} | {r['input_mb']:.1f} "
        f"| {m['seconds']:.2f} | {m['extra_mb']:.0f} | {m['out_mb']:.1f} "
        f"| {ratio:.2f} |"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nc-rows", type=int, nargs="*", default=[1_000_000])
    p.add_argument("--nc-imblearn-rows", type=int, nargs="*", default=[10_000, 20_000])
    p.add_argument("--compare-rows", type=int, nargs="*", default=[10_000])
    p.add_argument("--n-rows", type=int, nargs="*", default=[200_000])
    p.add_argument("--n-imblearn-rows", type=int, nargs="*", default=[20_000, 60_000])
    p.add_argument("--n-compare-rows", type=int, nargs="*", default=[20_000])
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args()

    runs = []
    runs += [("nc", "imbfast", n) for n in args.nc_rows]
    runs += [("nc", "imblearn", n) for n in args.nc_imblearn_rows]
    runs += [("nc", "both", n) for n in args.compare_rows]
    runs += [("n", "imbfast", n) for n in args.n_rows]
    runs += [("n", "imblearn", n) for n in args.n_imblearn_rows]
    runs += [("n", "both", n) for n in args.n_compare_rows]

    print(
        "| data | library | rows | input (MB) | time (s) | extra peak RSS (MB) "
        "| output (MB) | extra / input |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    results = []
    for mode, impl, n in runs:
        r = child(mode, impl, n, args.n_jobs, args.rounds)
        results.append(r)
        if "error" in r:
            print(f"| {mode} | {impl} | {n:,} | error: {r['error']} |", flush=True)
            continue
        for lib in ("imbfast", "imblearn"):
            if lib in r:
                print(line(r, lib), flush=True)
        if impl == "both":
            ratio = r["imblearn"]["seconds"] / r["imbfast"]["seconds"]
            print(
                f"| {mode} | speed-up (same output) | {n:,} | | {ratio:.1f}x | | | |",
                flush=True,
            )
    print()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
