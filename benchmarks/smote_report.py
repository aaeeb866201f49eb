"""Print SMOTE timings, ratios, peak memory and the bandwidth floor.

Each measurement runs in a fresh subprocess so its peak RSS is its own.

Usage: python benchmarks/smote_report.py [--sizes 100000 1000000] [--d 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy as np
from sklearn.datasets import make_classification
n, d, impl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
X, y = make_classification(n_samples=n, n_features=d, n_informative=10,
                           weights=[0.9, 0.1], flip_y=0, random_state=0)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if impl == "imblearn":
    from imblearn.over_sampling import SMOTE
    sampler = SMOTE(random_state=0)
else:
    from imbfast.over_sampling import SMOTE
    sampler = SMOTE(random_state=0, n_jobs=-1)
# Warm up (imports, thread pools) on a small slice, as a benchmark would.
warm = np.r_[np.flatnonzero(y == 0)[:900], np.flatnonzero(y == 1)[:100]]
sampler.fit_resample(X[warm], y[warm])
start = time.perf_counter()
X_res, y_res = sampler.fit_resample(X, y)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
digest = float(np.sum(X_res[-1000:]))
print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024,
                  "extra_mb": (peak - base) / 1024, "out_mb": X_res.nbytes / 2**20,
                  "digest": digest}))
"""

INTERP = r"""
import json, time
import numpy as np
from imbfast import _core
rng = np.random.RandomState(0)
n_class, k, m, d = 100_000, 5, 2_000_000, 20
X = rng.normal(size=(n_class, d))
nns = rng.randint(0, n_class, size=(n_class, k)).astype(np.int64)
samples = rng.randint(0, n_class * k, size=m).astype(np.int64)
steps = rng.uniform(size=m)
out = np.empty((m, d)); src = np.ones_like(out)
def best(fn, r=5):
    b = 1e9
    for _ in range(r):
        t = time.perf_counter(); fn(); b = min(b, time.perf_counter() - t)
    return b
copy = best(lambda: np.copyto(out, src))
kern = best(lambda: _core.smote_interpolate(X, nns, samples, steps, out, 2))
def numpy_interp():
    rows, cols = samples // k, samples % k
    return X[rows] + steps[:, None] * (X[nns[rows, cols]] - X[rows])
npy = best(numpy_interp, 3)
gb = out.nbytes / 1e9
print(json.dumps({"copy_gbs": gb / copy, "kernel_gbs": gb / kern,
                  "numpy_gbs": gb / npy}))
"""


def run(code: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--d", type=int, default=20)
    args = parser.parse_args()

    print(
        f"{'rows':>10} {'impl':>9} {'seconds':>8} {'ratio':>6} {'peak MB':>8} "
        f"{'extra MB':>9} {'output MB':>9}"
    )
    for n in args.sizes:
        theirs = run(CHILD, str(n), str(args.d), "imblearn")
        ours = run(CHILD, str(n), str(args.d), "imbfast")
        assert ours["digest"] == theirs["digest"], "outputs differ"
        for name, r in (("imblearn", theirs), ("imbfast", ours)):
            ratio = theirs["seconds"] / r["seconds"]
            print(
                f"{n:>10,} {name:>9} {r['seconds']:>8.2f} {ratio:>5.1f}x "
                f"{r['peak_mb']:>8.0f} {r['extra_mb']:>9.0f} {r['out_mb']:>9.0f}"
            )
    interp = run(INTERP)
    print("\ninterpolation, 2M x 20 float64 output (2 threads):")
    print(f"  numpy copy (floor) {interp['copy_gbs']:.2f} GB/s")
    print(
        f"  imbfast kernel     {interp['kernel_gbs']:.2f} GB/s "
        f"({100 * interp['kernel_gbs'] / interp['copy_gbs']:.0f}% of copy)"
    )
    print(
        f"  numpy expression   {interp['numpy_gbs']:.2f} GB/s "
        f"({100 * interp['numpy_gbs'] / interp['copy_gbs']:.0f}% of copy)"
    )


if __name__ == "__main__":
    main()
