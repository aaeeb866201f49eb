"""imbfast on a 2-worker LocalCluster against the single-process path.

For TomekLinks, EditedNearestNeighbours and StratifiedSampler on the same
data: wall time, peak memory (the process for the single-process path; each
worker and the client for dask), bytes moved between workers, and the rows
the distributed algorithm shipped (``dask_stats_``). Each measurement starts
a fresh process or cluster so peaks are its own. Results are checked equal.

Usage::

    python benchmarks/dask_cluster.py --rows 1000000 --minority 0.1 0.01
    python benchmarks/dask_cluster.py --rows 10000000 --samplers stratified

The data is made chunk by chunk from seeded generators, so the single-process
path builds exactly the array the workers build.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHUNK_ROWS = 250_000

COMMON = r"""
import json, resource, sys, time
import numpy as np

def chunk(i, rows, d, minority, data):
    rng = np.random.default_rng(1000 + i)
    y = (rng.random(rows) < minority).astype(np.int64)
    X = rng.standard_normal((rows, d))
    if data == "clusters":  # 1000 tight clusters: structure an index can use
        centres = np.random.default_rng(7).standard_normal((1000, d)) * 4.0
        X *= 0.5
        X += centres[rng.integers(0, 1000, rows)]
    X[:, 0] += 2.0 * y  # the minority sits apart, with an overlap
    return X, y

def sampler(name, neighbors):
    from imbfast.under_sampling import (EditedNearestNeighbours, StratifiedSampler,
                                        TomekLinks)
    return {"tomek": lambda: TomekLinks(n_jobs=-1, neighbors=neighbors),
            "enn": lambda: EditedNearestNeighbours(n_jobs=-1, neighbors=neighbors),
            "stratified": lambda: StratifiedSampler(random_state=0, n_jobs=-1)}[name]()

def args():
    a = sys.argv[1:]
    return a[0], int(a[1]), int(a[2]), float(a[3]), int(a[4]), a[5], a[6]

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

SINGLE = (
    COMMON
    + r"""
name, n, d, minority, chunk_rows, neighbors, data = args()
parts = [chunk(i, min(chunk_rows, n - s), d, minority, data)
         for i, s in enumerate(range(0, n, chunk_rows))]
X = np.concatenate([p[0] for p in parts]); y = np.concatenate([p[1] for p in parts])
del parts
s = sampler(name, neighbors)
start = time.perf_counter()
X_res, y_res = s.fit_resample(X, y)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), "rows_out": int(len(y_res)),
                  "digest": float(X_res[:, 0].sum()),
                  "recall": getattr(s, "neighbors_recall_", None)}))
"""
)

DASK = (
    COMMON
    + r"""
import dask, dask.array as da, distributed
name, n, d, minority, chunk_rows, neighbors, data = args()
with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=":0", memory_limit="8GiB") as cluster, \
        distributed.Client(cluster) as client:
    xs, ys = [], []
    for i, s in enumerate(range(0, n, chunk_rows)):
        rows = min(chunk_rows, n - s)
        part = dask.delayed(chunk, pure=True)(i, rows, d, minority, data)
        xs.append(da.from_delayed(part[0], shape=(rows, d), dtype=np.float64))
        ys.append(da.from_delayed(part[1], shape=(rows,), dtype=np.int64))
    X, y = da.concatenate(xs), da.concatenate(ys)
    X, y = client.persist([X, y])  # data lives on the workers, as in production
    distributed.wait([X, y])
    def sent(dask_worker):
        return dask_worker.transfer_outgoing_bytes_total
    before = sum(client.run(sent).values())
    s = sampler(name, neighbors)
    start = time.perf_counter()
    X_res, y_res = s.fit_resample(X, y)
    rows_out, digest = dask.compute(y_res.shape[0], X_res[:, 0].sum())
    seconds = time.perf_counter() - start
    after = sum(client.run(sent).values())
    worker_peaks = list(client.run(peak_mb).values())
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(),
                  "worker_peak_mb": worker_peaks,
                  "worker_transfer_mb": (after - before) / 2**20,
                  "rows_out": int(rows_out), "digest": float(digest),
                  "stats": getattr(s, "dask_stats_", {}),
                  "recall": getattr(s, "neighbors_recall_", None)}))
"""
)


def run(code: str, *args: object) -> dict:
    load = os.getloadavg()[0]
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["load_before"] = load
    result["load_after"] = os.getloadavg()[0]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--minority", type=float, nargs="+", default=[0.1, 0.01])
    parser.add_argument("--samplers", nargs="+", default=["tomek", "enn", "stratified"])
    parser.add_argument(
        "--neighbors",
        choices=["exact", "approx"],
        default="exact",
        help="the samplers' neighbors parameter (both paths)",
    )
    parser.add_argument(
        "--data",
        choices=["gaussian", "clusters"],
        default="gaussian",
        help="standard normal rows, or 1000 tight clusters (approximate search "
        "needs structure to index)",
    )
    paths = parser.add_mutually_exclusive_group()
    paths.add_argument(
        "--skip-single", action="store_true", help="only the dask path (large sizes)"
    )
    paths.add_argument("--skip-dask", action="store_true", help="only one process")
    parser.add_argument("--log", help="append every result as a JSON line here")
    args = parser.parse_args()
    print(
        f"{'sampler':>10} {'minority':>8} {'path':>7} {'seconds':>8} {'peak MB':>14} "
        f"{'w2w MB':>7} {'load':>9}  rows shipped / recall"
    )
    for minority in args.minority:
        for name in args.samplers:
            common = (
                name,
                args.rows,
                args.d,
                minority,
                CHUNK_ROWS,
                args.neighbors,
                args.data,
            )
            results = {}
            if not args.skip_single:
                results["single"] = run(SINGLE, *common)
            if not args.skip_dask:
                results["dask"] = run(DASK, *common)
            if len(results) == 2 and args.neighbors == "exact":
                single, dist = results["single"], results["dask"]
                assert single["rows_out"] == dist["rows_out"], (single, dist)
                assert abs(single["digest"] - dist["digest"]) <= 1e-6 * max(
                    1.0, abs(single["digest"])
                ), (single, dist)
            for path, r in results.items():
                peaks = "/".join(f"{p:.0f}" for p in r.get("worker_peak_mb", []))
                peak = peaks or f"{r['peak_mb']:.0f}"
                moved = f"{r['worker_transfer_mb']:.0f}" if path == "dask" else ""
                load = f"{r['load_before']:.1f}-{r['load_after']:.1f}"
                extra = r.get("stats", "")
                if r.get("recall") is not None:
                    extra = f"{extra} recall={r['recall']:.4f}"
                print(
                    f"{name:>10} {minority:>8} {path:>7} {r['seconds']:>8.1f} "
                    f"{peak:>14} {moved:>7} {load:>9}  {extra} "
                    f"rows_out={r['rows_out']}",
                    flush=True,
                )
                if args.log:
                    with open(args.log, "a") as log:
                        record = {
                            "sampler": name,
                            "minority": minority,
                            "path": path,
                            "rows": args.rows,
                            "d": args.d,
                            "neighbors": args.neighbors,
                            "data": args.data,
                            **r,
                        }
                        log.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
