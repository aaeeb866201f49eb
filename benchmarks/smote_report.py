"""Print SMOTE timings, ratios, peak memory and the bandwidth floor.

Each measurement runs in a fresh subprocess so its peak memory is its own.
Both libraries get the same thread count (``--threads``, default every usable
core): imbfast ``n_jobs``, and for both every BLAS/OpenMP pool limited to it
(threadpoolctl and the child's ``*_NUM_THREADS``; imbalanced-learn's SMOTE
has no ``n_jobs``, its scikit-learn search follows the OpenMP limit). Each
child warms up, then times ``--rounds`` calls (median); the outputs' SHA-256
digests (X and y, every byte) must be equal.

Usage: python benchmarks/smote_report.py [--sizes 100000 1000000] [--d 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import measure

CHILD = r"""
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from sklearn.datasets import make_classification
import measure
n, d, impl, threads, rounds = (int(sys.argv[2]), int(sys.argv[3]), sys.argv[4],
                               int(sys.argv[5]), int(sys.argv[6]))
X, y = make_classification(n_samples=n, n_features=d, n_informative=10,
                           weights=[0.9, 0.1], flip_y=0, random_state=0)
if impl == "imblearn":
    from imblearn.over_sampling import SMOTE
    make = lambda: SMOTE(random_state=0)
else:
    from imbfast.over_sampling import SMOTE
    make = lambda: SMOTE(random_state=0, n_jobs=threads)
# Warm up (imports, thread pools) on a small slice, as a benchmark would.
warm = np.r_[np.flatnonzero(y == 0)[:900], np.flatnonzero(y == 1)[:100]]
print(json.dumps(measure.time_sampler(make, X, y, rounds, warm, threads)))
"""

INTERP = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from imbfast import _core
import measure
threads = int(sys.argv[2])
rng = np.random.RandomState(0)
n_class, k, m, d = 100_000, 5, 2_000_000, 20
X = rng.normal(size=(n_class, d))
nns = rng.randint(0, n_class, size=(n_class, k)).astype(np.int64)
samples = rng.randint(0, n_class * k, size=m).astype(np.int64)
steps = rng.uniform(size=m)
out = np.empty((m, d)); src = np.ones_like(out)
copy = measure.best_time(lambda: np.copyto(out, src))
kern = measure.best_time(
    lambda: _core.smote_interpolate(X, nns, samples, steps, out, threads))
def numpy_interp():
    rows, cols = samples // k, samples % k
    return X[rows] + steps[:, None] * (X[nns[rows, cols]] - X[rows])
npy = measure.best_time(numpy_interp, 3)
gb = out.nbytes / 1e9
print(json.dumps({"copy_gbs": gb / copy, "kernel_gbs": gb / kern,
                  "numpy_gbs": gb / npy}))
"""


def run(code: str, threads: int, *args: object) -> dict:
    return measure.run_child(code, threads, *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--threads", type=int, default=measure.usable_cores())
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    print(f"# {measure.machine_line(args.threads)}")
    print(
        f"{'rows':>10} {'impl':>9} {'seconds':>8} {'ratio':>6} "
        f"{'extra MB':>9} {'output MB':>9}"
    )
    for n in args.sizes:
        theirs = run(
            CHILD, args.threads, n, args.d, "imblearn", args.threads, args.rounds
        )
        ours = run(CHILD, args.threads, n, args.d, "imbfast", args.threads, args.rounds)
        if ours["digest"] != theirs["digest"]:
            raise SystemExit(f"{n} rows: outputs differ")
        for name, r in (("imblearn", theirs), ("imbfast", ours)):
            ratio = theirs["seconds"] / r["seconds"]
            print(
                f"{n:>10,} {name:>9} {r['seconds']:>8.2f} {ratio:>5.1f}x "
                f"{r['extra_mb']:>9.0f} {r['out_mb']:>9.0f}"
            )
    interp = run(INTERP, args.threads, args.threads)
    print(f"\ninterpolation, 2M x 20 float64 output ({args.threads} threads):")
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
