"""Print cleaning/combined sampler timings against imbalanced-learn.

Each (sampler, implementation) runs in a fresh subprocess so its peak RSS is
its own; outputs are checked equal.

Usage: python benchmarks/cleaning_report.py --rows 100000 --d 20 --classes 2
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
name, impl, n, d, n_classes = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5])
weights = [0.9, 0.1] if n_classes == 2 else [0.6, 0.3, 0.1][:n_classes]
informative = min(10, max(2, d - 2))  # 10 (and 2 redundant) from d = 12 on
X, y = make_classification(n_samples=n, n_features=d, n_informative=informative,
                           n_redundant=min(2, d - informative),
                           n_classes=n_classes, weights=weights, flip_y=0.01,
                           random_state=0)
if impl == "imblearn":
    import imblearn.under_sampling as us, imblearn.combine as cb
    kw = {}
else:
    import imbfast.under_sampling as us, imbfast.combine as cb
    kw = {"n_jobs": -1}
make = {
    "TomekLinks": lambda: us.TomekLinks(**kw),
    "ENN": lambda: us.EditedNearestNeighbours(**kw),
    "RENN": lambda: us.RepeatedEditedNearestNeighbours(**kw),
    "AllKNN": lambda: us.AllKNN(**kw),
    "SMOTETomek": lambda: cb.SMOTETomek(random_state=0, **kw),
    "SMOTEENN": lambda: cb.SMOTEENN(random_state=0, **kw),
}[name]
make().fit_resample(X[:500], y[:500])  # warm up imports and thread pools
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
X_res, y_res = make().fit_resample(X, y)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "extra_mb": (peak - base) / 1024,
                  "rows": int(len(y_res)), "digest": float(np.sum(X_res[:, 0]))}))
"""

NAMES = ["TomekLinks", "ENN", "RENN", "AllKNN", "SMOTETomek", "SMOTEENN"]


def run(*args: object) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, args)], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--samplers", nargs="+", default=NAMES)
    args = parser.parse_args()
    print(
        f"{args.rows:,} rows x {args.d}, {args.classes} classes "
        f"(imbalanced-learn and imbfast, same data, fresh processes)"
    )
    print(
        f"{'sampler':>11} {'imblearn s':>10} {'imbfast s':>9} {'ratio':>6} "
        f"{'imblearn MB':>11} {'imbfast MB':>10} {'same':>5}"
    )
    for name in args.samplers:
        theirs = run(name, "imblearn", args.rows, args.d, args.classes)
        ours = run(name, "imbfast", args.rows, args.d, args.classes)
        same = theirs["rows"] == ours["rows"] and theirs["digest"] == ours["digest"]
        print(
            f"{name:>11} {theirs['seconds']:>10.2f} {ours['seconds']:>9.2f} "
            f"{theirs['seconds'] / ours['seconds']:>5.1f}x {theirs['extra_mb']:>11.0f} "
            f"{ours['extra_mb']:>10.0f} {same!s:>5}",
            flush=True,
        )


if __name__ == "__main__":
    main()
