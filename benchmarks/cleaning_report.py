"""Print cleaning/combined sampler timings against imbalanced-learn.

Each (sampler, implementation) runs in a fresh subprocess so its peak memory
is its own. Both libraries get the same thread count (``--threads``, default
every usable core): ``n_jobs`` (both have it) and every BLAS/OpenMP pool
limited to it (threadpoolctl and the child's ``*_NUM_THREADS``: scikit-learn's
compiled search follows the OpenMP limit, not ``n_jobs``). Each child warms
up and times ``--rounds`` calls (median); the SHA-256 digests of X, y and
``sample_indices_`` must be equal.

Usage: python benchmarks/cleaning_report.py --rows 100000 --d 20 --classes 2
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
name, impl, n, d, n_classes, threads, rounds = (
    sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
    int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8]))
weights = [0.9, 0.1] if n_classes == 2 else [0.6, 0.3, 0.1][:n_classes]
informative = min(10, max(2, d - 2))  # 10 (and 2 redundant) from d = 12 on
X, y = make_classification(n_samples=n, n_features=d, n_informative=informative,
                           n_redundant=min(2, d - informative),
                           n_classes=n_classes, weights=weights, flip_y=0.01,
                           random_state=0)
if impl == "imblearn":
    import imblearn.under_sampling as us, imblearn.combine as cb
else:
    import imbfast.under_sampling as us, imbfast.combine as cb
kw = {"n_jobs": threads}
make = {
    "TomekLinks": lambda: us.TomekLinks(**kw),
    "ENN": lambda: us.EditedNearestNeighbours(**kw),
    "RENN": lambda: us.RepeatedEditedNearestNeighbours(**kw),
    "AllKNN": lambda: us.AllKNN(**kw),
    "SMOTETomek": lambda: cb.SMOTETomek(random_state=0, **kw),
    "SMOTEENN": lambda: cb.SMOTEENN(random_state=0, **kw),
}[name]
print(json.dumps(measure.time_sampler(make, X, y, rounds, slice(500), threads)))
"""

NAMES = ["TomekLinks", "ENN", "RENN", "AllKNN", "SMOTETomek", "SMOTEENN"]


def run(threads: int, *args: object) -> dict:
    return measure.run_child(CHILD, threads, *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--samplers", nargs="+", default=NAMES)
    parser.add_argument("--threads", type=int, default=measure.usable_cores())
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(f"# {measure.machine_line(args.threads)}")
    print(
        f"{args.rows:,} rows x {args.d}, {args.classes} classes "
        f"(imbalanced-learn and imbfast, same data and threads, fresh processes, "
        f"median of {args.rounds} after a warm-up)"
    )
    print(
        f"{'sampler':>11} {'imblearn s':>10} {'imbfast s':>9} {'ratio':>6} "
        f"{'imblearn MB':>11} {'imbfast MB':>10} {'same':>5}"
    )
    differ = []
    for name in args.samplers:
        common = (args.rows, args.d, args.classes, args.threads, args.rounds)
        theirs = run(args.threads, name, "imblearn", *common)
        ours = run(args.threads, name, "imbfast", *common)
        same = theirs["digest"] == ours["digest"]
        if not same:
            differ.append(name)
        print(
            f"{name:>11} {theirs['seconds']:>10.2f} {ours['seconds']:>9.2f} "
            f"{theirs['seconds'] / ours['seconds']:>5.1f}x {theirs['extra_mb']:>11.0f} "
            f"{ours['extra_mb']:>10.0f} {same!s:>5}",
            flush=True,
        )
    if differ:
        raise SystemExit(f"outputs differ: {', '.join(differ)}")


if __name__ == "__main__":
    main()
