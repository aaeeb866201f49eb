"""Approximate all-pairs k-NN at 10M x 32 float32: time, recall, peak memory.

Run: ``python benchmarks/approx_10m.py`` (defaults: 10M rows, d=32, k=4,
recall target 0.99, 2 threads; ``--n`` for a smaller run).

The data are a Gaussian mixture (1000 centres drawn with standard deviation
4 in every coordinate, unit-variance points around them), float32. The
search is ``imbfast.neighbors.squared_kneighbors(X, k,
algorithm="approx", approx_engine=...)``: with ``"auto"`` (the default) the
pruned exact search when it is as cheap as an index (then recall 1.0), with
``"cells"`` / ``"faiss-ivf"`` index build + recall calibration + search +
exact re-ranking, all timed together. The recall the engine reports (its
calibration sample) is checked against an independent random sample of
queries answered by the exact engine, here. Peak RSS is the process's
``ru_maxrss`` (the input itself is included: 1.28 GB at 10M x 32).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np

from imbfast.neighbors import last_plan, squared_kneighbors


def make_data(n: int, d: int, seed: int) -> np.ndarray:
    """Gaussian mixture, float32, built in chunks to keep memory at n x d."""
    rng = np.random.default_rng(seed)
    centres = (rng.standard_normal((1000, d)) * 4).astype(np.float32)
    X = np.empty((n, d), dtype=np.float32)
    step = 1 << 20
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        X[lo:hi] = centres[rng.integers(0, 1000, hi - lo)]
        X[lo:hi] += rng.standard_normal((hi - lo, d), dtype=np.float32)
    return X


def check_recall(
    X: np.ndarray, ind: np.ndarray, k: int, m: int, n_threads: int, seed: int
) -> tuple[float, float]:
    """Recall of ``ind`` on m random rows against the exact engine, and its SE."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(X.shape[0], m, replace=False))
    exact, _ = squared_kneighbors(
        X, k + 1, query=np.ascontiguousarray(X[rows]), n_threads=n_threads
    )
    keep = exact != rows[:, None]
    keep[keep.all(axis=1), -1] = False
    exact = exact[keep].reshape(m, k)
    per_query = (ind[rows][:, :, None] == exact[:, None, :]).any(axis=1).mean(axis=1)
    return float(per_query.mean()), float(per_query.std(ddof=1) / np.sqrt(m))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--recall", type=float, default=0.99)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--check", type=int, default=2000, help="rows re-checked")
    parser.add_argument(
        "--engine",
        default="auto",
        choices=["auto", "cells", "faiss-ivf"],
        help="approx_engine: auto answers exactly with the pruned search when "
        "that is as cheap as the index",
    )
    args = parser.parse_args()

    load_before = os.getloadavg()
    t = time.perf_counter()
    X = make_data(args.n, args.d, seed=0)
    t_data = time.perf_counter() - t
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    t = time.perf_counter()
    ind, _ = squared_kneighbors(
        X,
        args.k,
        n_threads=args.n_jobs,
        algorithm="approx",
        approx_recall=args.recall,
        approx_engine=args.engine,
    )
    t_search = time.perf_counter() - t
    plan = last_plan()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    load_after = os.getloadavg()

    t = time.perf_counter()
    recall, se = check_recall(X, ind, args.k, args.check, args.n_jobs, seed=1)
    t_check = time.perf_counter() - t

    result = {
        "n": args.n,
        "d": args.d,
        "k": args.k,
        "n_jobs": args.n_jobs,
        "data_seconds": round(t_data, 1),
        "total_seconds": round(t_search, 1),
        "peak_rss_gib": round(rss_peak, 2),
        "rss_after_data_gib": round(rss_data, 2),
        "engine_recall": round(plan["recall"], 4),
        "engine_recall_stderr": round(plan["recall_stderr"], 4),
        "checked_recall": round(recall, 4),
        "checked_recall_stderr": round(se, 4),
        "check_rows": args.check,
        "check_seconds": round(t_check, 1),
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in load_after],
        "plan": {
            key: round(v, 3) if isinstance(v, float) else v for key, v in plan.items()
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
