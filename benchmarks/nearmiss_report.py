"""Print NearMiss timings against imbalanced-learn (versions 1, 2, 3).

Each (version, implementation) runs in a fresh subprocess, so its peak RSS is
its own; both libraries get the same thread count (``--threads``: n_jobs and
the BLAS/OpenMP pools), one warm-up call and the same number of timed rounds
(median reported); the kept rows (``sample_indices_``) are checked equal.

imbalanced-learn's version 2 asks scikit-learn for every minority neighbour
of every majority row (an n_majority x n_minority array of distances and one
of indices: 14 GB at 100k x 20, 9:1), so it is only run where that fits
(``--v2-rows``); imbfast's version 2 runs at every size.

Usage: python benchmarks/nearmiss_report.py --rows 100000 --d 20 --threads 2
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
version, impl, n, d, threads, rounds = (int(sys.argv[2]), sys.argv[3],
    int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
X, y = make_classification(n_samples=n, n_features=d, n_informative=10,
                           n_redundant=2, weights=[0.9, 0.1], random_state=0)
if impl == "imblearn":
    from imblearn.under_sampling import NearMiss
else:
    from imbfast.under_sampling import NearMiss
make = lambda: NearMiss(version=version, n_jobs=threads)
print(json.dumps(measure.time_sampler(make, X, y, rounds, slice(2000), threads)))
"""


def run(version: int, impl: str, n: int, d: int, threads: int, rounds: int) -> dict:
    return measure.run_child(CHILD, threads, version, impl, n, d, threads, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--versions", default="1,2,3")
    parser.add_argument(
        "--v2-rows",
        type=int,
        default=20_000,
        help="largest size at which imbalanced-learn's version 2 is run",
    )
    args = parser.parse_args()
    print(
        f"NearMiss, {args.rows:,} x {args.d}, 9:1, {args.threads} threads, "
        f"median of {args.rounds} rounds after a warm-up"
    )
    print(
        "| version | rows | imbalanced-learn | imbfast | ratio | extra peak MB "
        "(imblearn / imbfast) | same rows |"
    )
    print("|---|---|---|---|---|---|---|")
    for version in map(int, args.versions.split(",")):
        sizes = [args.rows]
        if version == 2 and args.rows > args.v2_rows:
            sizes = [args.v2_rows, args.rows]
        for n in sizes:
            ours = run(version, "imbfast", n, args.d, args.threads, args.rounds)
            theirs = None
            if version != 2 or n <= args.v2_rows:
                theirs = run(version, "imblearn", n, args.d, args.threads, args.rounds)
            if theirs is None:
                print(
                    f"| {version} | {n:,} | not run (n_maj x n_min arrays) | "
                    f"{ours['seconds']:.3f} s | | - / {ours['extra_mb']:.0f} | |"
                )
                continue
            same = ours["digest"] == theirs["digest"]
            print(
                f"| {version} | {n:,} | {theirs['seconds']:.3f} s | "
                f"{ours['seconds']:.3f} s | {theirs['seconds'] / ours['seconds']:.1f}x "
                f"| {theirs['extra_mb']:.0f} / {ours['extra_mb']:.0f} | {same} |"
            )
            if not same:
                raise SystemExit("outputs differ")


if __name__ == "__main__":
    main()
