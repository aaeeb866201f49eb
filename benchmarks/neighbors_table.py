"""Print a table of k-NN engines against the brute-force GEMM floor.

For each dimension the floor is 2 * n_queries * n_rows * d FLOP divided by
the float32 GEMM rate numpy reaches in this run (4096 x 4096 @ 4096 x 4096).
Each engine runs in its own subprocess; its peak memory is the peak RSS
(VmHWM, reset once the data exists) minus the RSS at that point, so the
input itself is not counted. Scenarios: ``all-pairs`` (every
row against all others, self excluded) and ``class`` (a 10% class queried
against the other 90%, as TomekLinks/ENN-style samplers do).

    python benchmarks/neighbors_table.py --n 100000 --dims 8,20,100
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

ENGINES = [
    "sklearn_brute",
    "sklearn_kd_tree",
    "faiss_flat",
    "imbfast_brute",
    "imbfast_tree",
    "imbfast_auto",
]


def _data(n: int, d: int, dtype: str) -> tuple[np.ndarray, np.ndarray | None]:
    return np.random.default_rng(0).standard_normal((n, d)).astype(dtype), None


def _split(X: np.ndarray, scenario: str) -> tuple[np.ndarray, np.ndarray | None]:
    if scenario == "all-pairs":
        return X, None
    m = X.shape[0] // 10
    return np.ascontiguousarray(X[m:]), np.ascontiguousarray(X[:m])


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    """Reset the process's peak RSS (Linux: 5 > /proc/self/clear_refs)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def worker(engine: str, scenario: str, n: int, d: int, k: int, n_jobs: int, dtype: str):
    # Imports (and imbfast's editable rebuild check) happen before timing.
    import faiss
    from sklearn.neighbors import NearestNeighbors

    from imbfast.neighbors import kneighbors, last_plan

    X, _ = _data(n, d, dtype)
    D, Q = _split(X, scenario)
    kneighbors(D[:200], 2)  # loads the extension, warms the thread start-up
    _reset_peak()
    base = _status_mb("VmRSS")
    t = time.perf_counter()
    if engine.startswith("sklearn"):
        algorithm = engine.split("_", 1)[1]
        extra = 1 if Q is None else 0
        nn = NearestNeighbors(n_neighbors=k + extra, algorithm=algorithm, n_jobs=n_jobs)
        nn.fit(D).kneighbors(D if Q is None else Q)
        plan = ""
    elif engine == "faiss_flat":
        faiss.omp_set_num_threads(n_jobs)
        index = faiss.IndexFlatL2(d)
        index.add(D.astype(np.float32))
        q = D if Q is None else Q
        index.search(q.astype(np.float32), k + (1 if Q is None else 0))
        plan = ""
    else:
        kneighbors(D, k, query=Q, n_jobs=n_jobs, algorithm=engine.split("_", 1)[1])
        p = last_plan()
        plan = p["algorithm"] + (
            f" fallback={p['n_fallback']}" if "n_fallback" in p else ""
        )
    seconds = time.perf_counter() - t
    peak = _status_mb("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_mb": peak - base, "plan": plan}))


def gemm_rate() -> float:
    a = np.random.default_rng(1).standard_normal((4096, 4096)).astype(np.float32)
    a @ a
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        a @ a
        best = max(best, 2 * 4096**3 / (time.perf_counter() - t))
    return best


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
    parser.add_argument("--worker", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        e, s, n, d, k, j, dt = args.worker
        worker(e, s, int(n), int(d), int(k), int(j), dt)
        return
    engines = args.engines.split(",")
    print(f"n={args.n} k={args.k} n_jobs={args.n_jobs} dtype={args.dtype}")
    header = (
        f"{'scenario':<10} {'d':>4} {'engine':<16} {'seconds':>8} {'x floor':>8} "
        f"{'vs sk brute':>11} {'peak MB':>8}  plan"
    )
    print(header)
    print("-" * len(header))
    for scenario in args.scenarios.split(","):
        for d in [int(x) for x in args.dims.split(",")]:
            rate = gemm_rate()
            n_db = args.n if scenario == "all-pairs" else args.n - args.n // 10
            n_q = args.n if scenario == "all-pairs" else args.n // 10
            floor = 2 * n_q * n_db * d / rate
            print(
                f"{scenario:<10} {d:>4} {'GEMM floor':<16} {floor:>8.2f} {1:>8.2f} "
                f"{'':>11} {'':>8}  numpy sgemm {rate / 1e9:.0f} GFLOP/s"
            )
            sk_brute = None
            for engine in engines:
                if engine == "sklearn_kd_tree" and d > args.tree_max_d:
                    continue
                if engine == "imbfast_tree" and d > args.tree_max_d:
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
                ]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                if engine == "sklearn_brute":
                    sk_brute = r["seconds"]
                ratio = f"{sk_brute / r['seconds']:.2f}x" if sk_brute else ""
                print(
                    f"{scenario:<10} {d:>4} {engine:<16} {r['seconds']:>8.2f} "
                    f"{r['seconds'] / floor:>8.2f} {ratio:>11} {r['peak_mb']:>8.0f}  "
                    f"{r['plan']}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
