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

CHILD = r"""
import hashlib, json, resource, sys, time
import numpy as np

mode, impl = sys.argv[1], sys.argv[2]
n, n_jobs, rounds = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def rss_kb(field):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False

def nc_data(n):
    rng = np.random.default_rng(0)
    y = np.zeros(n, dtype=np.int64)
    y[rng.permutation(n)[: n // 10]] = 1
    X = np.empty((n, 20))
    for s in range(0, n, 1 << 16):
        e = min(n, s + (1 << 16))
        X[s:e, :10] = rng.normal(size=(e - s, 10)) + y[s:e, None]
        X[s:e, 10:] = rng.integers(0, 1000, size=(e - s, 10))
    return X, y, {"categorical_features": list(range(10, 20))}

def n_data(n):
    rng = np.random.default_rng(0)
    y = np.zeros(n, dtype=np.int64)
    y[rng.permutation(n)[: n // 10]] = 1
    X = np.empty((n, 20), dtype=np.int64)
    for f in range(20):
        levels = 5 + f
        for c in (0, 1):
            rows = np.flatnonzero(y == c)
            p = rng.dirichlet(np.ones(levels))
            X[rows, f] = rng.choice(levels, size=rows.size, p=p)
    return X, y, {}

def sampler(lib, name, extra, n_jobs):
    if lib == "imblearn":
        import imblearn.over_sampling as mod
        return getattr(mod, name)(random_state=0, **extra)
    import imbfast.over_sampling as mod
    return getattr(mod, name)(random_state=0, n_jobs=n_jobs, **extra)

def digest(X, y):
    h = hashlib.sha1()
    X = np.ascontiguousarray(X)
    for s in range(0, X.shape[0], 1 << 16):
        h.update(X[s : s + (1 << 16)].tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    return h.hexdigest()

name = "SMOTENC" if mode == "nc" else "SMOTEN"
X, y, extra = (nc_data if mode == "nc" else n_data)(n)
input_mb = (X.nbytes + y.nbytes) / 2**20
warm = np.r_[np.flatnonzero(y == 0)[:1800], np.flatnonzero(y == 1)[:200]]
libs = ["imbfast", "imblearn"] if impl == "both" else [impl]
result = {"mode": mode, "impl": impl, "n": n, "n_jobs": n_jobs, "input_mb": input_mb}
for lib in libs:
    s = sampler(lib, name, extra, n_jobs)
    s.fit_resample(X[warm], y[warm])
for lib in libs:
    s = sampler(lib, name, extra, n_jobs)
    base = rss_kb("VmRSS")
    exact_peak = reset_peak()
    if not exact_peak:
        base = rss_kb("VmHWM")
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        X_res, y_res = s.fit_resample(X, y)
        times.append(time.perf_counter() - start)
    peak = rss_kb("VmHWM")
    result[lib] = {
        "seconds": min(times),
        "extra_mb": (peak - base) / 1024,
        "out_mb": (X_res.nbytes + y_res.nbytes) / 2**20,
        "peak_reset": exact_peak,
        "digest": digest(X_res, y_res),
    }
    del X_res, y_res, s
if impl == "both":
    assert result["imbfast"]["digest"] == result["imblearn"]["digest"], "outputs differ"
    result["same_output"] = True
print(json.dumps(result))
"""


def child(mode: str, impl: str, n: int, n_jobs: int, rounds: int) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, mode, impl, str(n), str(n_jobs), str(rounds)],
        capture_output=True,
        text=True,
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
