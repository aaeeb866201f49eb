"""ADASYN, BorderlineSMOTE, SVMSMOTE, KMeansSMOTE: imbfast against imbalanced-learn.

Both libraries run on the same make_classification data (9:1), each
measurement in a fresh subprocess (so its peak RSS is its own), after a
warm-up on a 10,000-row slice, for the same number of rounds; the median is
reported. Two thread settings: "1 thread" (imbfast ``n_jobs=1``, every
BLAS/OpenMP pool limited to one thread for both) and "default" (each
library's defaults, no limits). The outputs are compared with
``np.array_equal``. For SVMSMOTE and KMeansSMOTE the time of scikit-learn's
SVC / MiniBatchKMeans fit (which both libraries run) is timed inside the
same runs and the speed-up of the rest is reported.

Usage:
    python benchmarks/smote_family_report.py [--n 100000] [--d 20] [--rounds 3]
        [--samplers adasyn,borderline-1,borderline-2,svm-smote,kmeans-smote]
        [--modes 1-thread,default]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

# name -> (class, constructor keywords for both libraries)
SAMPLERS = {
    "adasyn": ("ADASYN", {}),
    "borderline-1": ("BorderlineSMOTE", {"kind": "borderline-1"}),
    "borderline-2": ("BorderlineSMOTE", {"kind": "borderline-2"}),
    "svm-smote": ("SVMSMOTE", {}),
    # 'auto' (0.5 for a binary problem) leaves no cluster on this data.
    "kmeans-smote": ("KMeansSMOTE", {"cluster_balance_threshold": 0.1}),
}

CHILD = r"""
import json, statistics, sys, time
sys.path.insert(0, sys.argv[2])
import numpy as np
import measure
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_limits

cfg = json.loads(sys.argv[1])
X, y = make_classification(n_samples=cfg["n"], n_features=cfg["d"],
                           n_informative=10, weights=[0.9, 0.1], flip_y=0,
                           random_state=0)
if cfg["impl"] == "imblearn":
    import imblearn.over_sampling as lib
    kw = dict(cfg["kwargs"])
else:
    import imbfast.over_sampling as lib
    kw = dict(cfg["kwargs"])
    if cfg["mode"] == "1-thread":
        kw["n_jobs"] = 1
cls = getattr(lib, cfg["cls"])
limits = threadpool_limits(1) if cfg["mode"] == "1-thread" else None

# scikit-learn's SVC / MiniBatchKMeans fits, which both libraries run, are
# timed inside the same runs.
fit_seconds = [0.0]
if cfg["cls"] in ("SVMSMOTE", "KMeansSMOTE"):
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.svm import SVC
    target = SVC if cfg["cls"] == "SVMSMOTE" else MiniBatchKMeans
    plain_fit = target.fit
    def timed_fit(self, *a, **k):
        start = time.perf_counter()
        try:
            return plain_fit(self, *a, **k)
        finally:
            fit_seconds[0] += time.perf_counter() - start
    target.fit = timed_fit

def fit():
    return cls(random_state=0, **kw).fit_resample(X, y)

warm = np.r_[np.flatnonzero(y == 0)[:9000], np.flatnonzero(y == 1)[:1000]]
try:
    cls(random_state=0, **kw).fit_resample(X[warm], y[warm])
except (ValueError, RuntimeError):
    pass  # the warm-up only loads code and starts thread pools
times, est, extra = [], [], 0
for _ in range(cfg["rounds"]):
    fit_seconds[0] = 0.0
    with measure.PeakMemory() as mem:
        start = time.perf_counter()
        X_res, y_res = fit()
        times.append(time.perf_counter() - start)
    extra = max(extra, mem.extra)
    est.append(fit_seconds[0])
estimator = None
if cfg["cls"] in ("SVMSMOTE", "KMeansSMOTE"):
    estimator = statistics.median(est)
    rest = statistics.median(t - e for t, e in zip(times, est))
else:
    rest = None
np.save(cfg["out"] + "_X.npy", X_res)
np.save(cfg["out"] + "_y.npy", y_res)
print(json.dumps({"seconds": statistics.median(times), "estimator": estimator,
                  "rest": rest,
                  "extra_mb": extra / 2**20,
                  "input_mb": X.nbytes / 2**20, "rows_out": int(X_res.shape[0])}))
"""


def measure(cfg: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(cfg), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{cfg['impl']} {cfg['cls']} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="rows (9:1)")
    parser.add_argument("--d", type=int, default=20, help="features")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds each")
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    parser.add_argument("--modes", default="1-thread,default")
    args = parser.parse_args()
    names = [s for s in args.samplers.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    for name in names:
        if name not in SAMPLERS:
            parser.error(f"unknown sampler {name!r}; choose from {', '.join(SAMPLERS)}")
    for mode in modes:
        if mode not in ("1-thread", "default"):
            parser.error(f"unknown mode {mode!r}; choose 1-thread or default")

    print(
        f"{args.n:,} x {args.d}, 9:1, median of {args.rounds} rounds after a "
        f"warm-up; {os.cpu_count()} CPUs"
    )
    header = (
        f"{'sampler':<13} {'threads':<8} {'imblearn s':>10} {'imbfast s':>9} "
        f"{'ratio':>6} {'imblearn MB':>11} {'imbfast MB':>10} {'fit s imb/fast':>14} "
        f"{'share imb/fast':>14} {'rest ratio':>10}"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            cls, kwargs = SAMPLERS[name]
            for mode in modes:
                res = {}
                for impl in ("imblearn", "imbfast"):
                    cfg = {
                        "n": args.n,
                        "d": args.d,
                        "impl": impl,
                        "cls": cls,
                        "kwargs": kwargs,
                        "mode": mode,
                        "rounds": args.rounds,
                        "out": os.path.join(tmp, f"{name}_{mode}_{impl}"),
                    }
                    res[impl] = measure(cfg)
                    res[impl]["X"] = np.load(cfg["out"] + "_X.npy")
                    res[impl]["y"] = np.load(cfg["out"] + "_y.npy")
                theirs, ours = res["imblearn"], res["imbfast"]
                assert np.array_equal(ours["X"], theirs["X"]), f"{name}: X differs"
                assert np.array_equal(ours["y"], theirs["y"]), f"{name}: y differs"
                ratio = theirs["seconds"] / ours["seconds"]
                if theirs["estimator"] is None:
                    extra = f"{'-':>14} {'-':>14} {'-':>10}"
                else:
                    fits = f"{theirs['estimator']:.2f}/{ours['estimator']:.2f}"
                    share = (
                        f"{100 * theirs['estimator'] / theirs['seconds']:.0f}%/"
                        f"{100 * ours['estimator'] / ours['seconds']:.0f}%"
                    )
                    rest = theirs["rest"] / max(ours["rest"], 1e-6)
                    extra = f"{fits:>14} {share:>14} {rest:>9.1f}x"
                print(
                    f"{name:<13} {mode:<8} {theirs['seconds']:>10.2f} "
                    f"{ours['seconds']:>9.3f} {ratio:>5.1f}x "
                    f"{theirs['extra_mb']:>11.0f} {ours['extra_mb']:>10.0f} {extra}",
                    flush=True,
                )
    print(
        "MB: peak RSS during a call over the RSS before it, largest over "
        "the rounds (output included). fit s: time in scikit-learn's SVC / "
        "MiniBatchKMeans fit inside each library's runs (median); share: "
        "its part of each library's time; rest ratio: speed-up of "
        "everything else."
    )


if __name__ == "__main__":
    main()
