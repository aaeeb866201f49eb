"""Print a table of k-NN engines against the brute-force GEMM floor.

For each dimension the floor is n² * d FLOP all-pairs (the brute force
computes each pair once) or 2 * n_queries * n_rows * d, divided by the
float32 GEMM rate numpy reaches in this run (4096 x 4096 @ 4096 x 4096;
``measure.gemm_rate``).
Each engine runs in its own subprocess; its peak memory is the peak RSS
(VmHWM, reset once the data exists) minus the RSS at that point, so the
input itself is not counted. Scenarios: ``all-pairs`` (every
row against all others, self excluded) and ``class`` (a 10% class queried
against the other 90%, as TomekLinks/ENN-style samplers do).

The approximate engines (``imbfast_approx``: the default "cells" engine,
``imbfast_approx_ivf``: FAISS IndexIVFFlat, both calibrated to recall 0.99)
get a recall column: the fraction of the exact neighbours found, measured
after the timed search on 1000 random queries against imbfast's exact
engine (the engine's own estimate is in the plan column). ``--data blobs``
uses a Gaussian mixture (``--centres``, default 1000, spread 4, unit noise) instead of
standard Gaussian rows; the approximate engines and the pruned exact engine
(``imbfast_pruned``, run on Gaussian rows only up to ``--tree-max-d``) need
such structure. ``--sample m`` times the baselines (sklearn, FAISS) on m
random queries and scales their query time to all queries (the table says
so): at 1M rows they would otherwise run for hours.

    python benchmarks/neighbors_table.py --n 100000 --dims 8,20,100
    python benchmarks/neighbors_table.py --n 1000000 --sample 20000
    python benchmarks/neighbors_table.py --n 100000 --data blobs \
        --engines sklearn_brute,imbfast_auto,imbfast_approx,imbfast_approx_ivf
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import measure

ENGINES = [
    "sklearn_brute",
    "sklearn_kd_tree",
    "faiss_flat",
    "imbfast_brute",
    "imbfast_tree",
    "imbfast_pruned",
    "imbfast_auto",
    "imbfast_approx",
    "imbfast_approx_ivf",
]


def _data(
    n: int, d: int, dtype: str, kind: str = "gauss", n_centres: int = 1000
) -> np.ndarray:
    rng = np.random.default_rng(0)
    if kind == "blobs":
        centres = rng.standard_normal((n_centres, d)) * 4
        X = centres[rng.integers(0, n_centres, n)] + rng.standard_normal((n, d))
        return X.astype(dtype)
    return rng.standard_normal((n, d)).astype(dtype)


def _measured_recall(D: np.ndarray, Q: np.ndarray | None, ind: np.ndarray, k: int):
    """Recall of ``ind`` on 1000 random queries against the exact engine."""
    from imbfast.neighbors import kneighbors

    nq = D.shape[0] if Q is None else Q.shape[0]
    rows = np.sort(np.random.default_rng(7).choice(nq, min(nq, 1000), replace=False))
    if Q is None:
        exact = kneighbors(D, k + 1, query=D[rows])
        keep = exact != rows[:, None]
        keep[keep.all(axis=1), -1] = False
        exact = exact[keep].reshape(rows.shape[0], k)
    else:
        exact = kneighbors(D, k, query=Q[rows])
    return float((ind[rows][:, :, None] == exact[:, None, :]).any(axis=1).mean())


def _split(X: np.ndarray, scenario: str) -> tuple[np.ndarray, np.ndarray | None]:
    if scenario == "all-pairs":
        return X, None
    m = X.shape[0] // 10
    return np.ascontiguousarray(X[m:]), np.ascontiguousarray(X[:m])


def worker(
    engine: str,
    scenario: str,
    n: int,
    d: int,
    k: int,
    n_jobs: int,
    dtype: str,
    kind: str,
    sample: int,
    n_centres: int = 1000,
):
    # Imports (and imbfast's editable rebuild check) happen before timing.
    import faiss
    from sklearn.neighbors import NearestNeighbors

    from imbfast.neighbors import kneighbors, last_plan

    X = _data(n, d, dtype, kind, n_centres)
    D, Q = _split(X, scenario)
    kneighbors(D[:200], 2)  # loads the extension, warms the thread start-up
    memory = measure.PeakMemory()
    memory.__enter__()  # peak RSS from here, over the RSS at this point
    # The baselines answer every query, or a random sample of ``sample``
    # queries whose time is scaled to all of them (their cost per query does
    # not depend on which queries are asked; the fit is timed once).
    queries = D if Q is None else Q
    nq = queries.shape[0]
    factor = 1.0
    if sample and sample < nq and not engine.startswith("imbfast"):
        pick = np.sort(np.random.default_rng(3).choice(nq, sample, replace=False))
        queries = np.ascontiguousarray(queries[pick])
        factor = nq / sample
    t = time.perf_counter()
    if engine.startswith("sklearn"):
        algorithm = engine.split("_", 1)[1]
        extra = 1 if Q is None else 0
        nn = NearestNeighbors(n_neighbors=k + extra, algorithm=algorithm, n_jobs=n_jobs)
        nn.fit(D)
        t_fit = time.perf_counter() - t
        nn.kneighbors(queries)
        plan = ""
    elif engine == "faiss_flat":
        faiss.omp_set_num_threads(n_jobs)
        index = faiss.IndexFlatL2(d)
        index.add(D.astype(np.float32))
        t_fit = time.perf_counter() - t
        index.search(queries.astype(np.float32), k + (1 if Q is None else 0))
        plan = ""
    elif engine.startswith("imbfast_approx"):
        from imbfast.neighbors import squared_kneighbors

        approx_engine = "faiss-ivf" if engine.endswith("_ivf") else "cells"
        ind, _ = squared_kneighbors(
            D,
            k,
            query=Q,
            n_threads=n_jobs,
            algorithm="approx",
            approx_engine=approx_engine,
        )
        p = last_plan()
        plan = f"{p['algorithm']} est={p['recall']:.4f}" + (
            f" nlist={p['nlist']} nprobe={p['nprobe']}" if "nprobe" in p else ""
        )
    else:
        kneighbors(D, k, query=Q, n_jobs=n_jobs, algorithm=engine.split("_", 1)[1])
        p = last_plan()
        plan = p["algorithm"] + (
            f" fallback={p['n_fallback']}" if "n_fallback" in p else ""
        )
        if "work_fraction" in p:
            plan += f" work={p['work_fraction']:.4f} nlist={p['nlist']}"
        if p.get("pruned_tried"):
            plan += " (pruned tried)"
    seconds = time.perf_counter() - t
    if factor > 1.0:
        seconds = t_fit + (seconds - t_fit) * factor
        plan = f"{int(nq / factor)} queries timed, x{factor:.0f} extrapolated"
    memory.__exit__(None, None, None)
    recall = (
        _measured_recall(D, Q, ind, k) if engine.startswith("imbfast_approx") else None
    )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": memory.extra / 2**20,
                "plan": plan,
                "recall": recall,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dims", default="8,20,100")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--scenarios", default="all-pairs,class")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument(
        "--tree-max-d", type=int, default=8, help="skip the KD-trees above this d"
    )
    parser.add_argument("--data", default="gauss", choices=["gauss", "blobs"])
    parser.add_argument(
        "--centres", type=int, default=1000, help="centres of --data blobs"
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=0,
        help="baselines (sklearn, FAISS) answer this many random queries and "
        "their time is scaled to all queries (0: all queries)",
    )
    parser.add_argument("--worker", nargs=10, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        e, s, n, d, k, j, dt, kind, sample, centres = args.worker
        worker(
            e, s, int(n), int(d), int(k), int(j), dt, kind, int(sample), int(centres)
        )
        return
    engines = args.engines.split(",")
    print(
        f"n={args.n} k={args.k} n_jobs={args.n_jobs} dtype={args.dtype} "
        f"data={args.data}"
        + (f" centres={args.centres}" if args.data == "blobs" else "")
    )
    header = (
        f"{'scenario':<10} {'d':>4} {'engine':<18} {'seconds':>8} {'x floor':>8} "
        f"{'vs sk brute':>11} {'peak MB':>8} {'recall':>7}  plan"
    )
    print(header)
    print("-" * len(header))
    for scenario in args.scenarios.split(","):
        for d in [int(x) for x in args.dims.split(",")]:
            with measure.same_threads(args.n_jobs):
                rate = measure.gemm_rate(4096)
            n_db = args.n if scenario == "all-pairs" else args.n - args.n // 10
            n_q = args.n if scenario == "all-pairs" else args.n // 10
            flop = (
                measure.all_pairs_flop(args.n, d)
                if scenario == "all-pairs"
                else measure.query_flop(n_q, n_db, d)
            )
            floor = flop / rate
            print(
                f"{scenario:<10} {d:>4} {'GEMM floor':<18} {floor:>8.2f} {1:>8.2f} "
                f"{'':>11} {'':>8} {'':>7}  numpy sgemm {rate / 1e9:.0f} GFLOP/s"
            )
            sk_brute = None
            for engine in engines:
                if engine == "sklearn_kd_tree" and d > args.tree_max_d:
                    continue
                if engine in ("imbfast_tree", "imbfast_pruned") and d > args.tree_max_d:
                    if engine == "imbfast_tree" or args.data != "blobs":
                        continue
                cmd = [
                    sys.executable,
                    __file__,
                    "--worker",
                    engine,
                    scenario,
                    str(args.n),
                    str(d),
                    str(args.k),
                    str(args.n_jobs),
                    args.dtype,
                    args.data,
                    str(args.sample),
                    str(args.centres),
                ]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                if engine == "sklearn_brute":
                    sk_brute = r["seconds"]
                ratio = f"{sk_brute / r['seconds']:.2f}x" if sk_brute else ""
                recall = "" if r["recall"] is None else f"{r['recall']:.4f}"
                print(
                    f"{scenario:<10} {d:>4} {engine:<18} {r['seconds']:>8.2f} "
                    f"{r['seconds'] / floor:>8.2f} {ratio:>11} {r['peak_mb']:>8.0f} "
                    f"{recall:>7}  {r['plan']}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
