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
import subprocess
import sys

CHUNK_ROWS = 250_000

COMMON = r"""
import json, resource, sys, time
import numpy as np

def chunk(i, rows, d, minority):
    rng = np.random.default_rng(1000 + i)
    y = (rng.random(rows) < minority).astype(np.int64)
    X = rng.standard_normal((rows, d))
    X[:, 0] += 2.0 * y  # the minority sits apart, with an overlap
    return X, y

def sampler(name):
    from imbfast.under_sampling import (EditedNearestNeighbours, StratifiedSampler,
                                        TomekLinks)
    return {"tomek": lambda: TomekLinks(n_jobs=-1),
            "enn": lambda: EditedNearestNeighbours(n_jobs=-1),
            "stratified": lambda: StratifiedSampler(random_state=0, n_jobs=-1)}[name]()

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

SINGLE = (
    COMMON
    + r"""
name, n, d, minority, chunk_rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    float(sys.argv[4]), int(sys.argv[5])
parts = [chunk(i, min(chunk_rows, n - s), d, minority)
         for i, s in enumerate(range(0, n, chunk_rows))]
X = np.concatenate([p[0] for p in parts]); y = np.concatenate([p[1] for p in parts])
del parts
s = sampler(name)
start = time.perf_counter()
X_res, y_res = s.fit_resample(X, y)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), "rows_out": int(len(y_res)),
                  "digest": float(X_res[:, 0].sum())}))
"""
)

DASK = (
    COMMON
    + r"""
import dask, dask.array as da, distributed
name, n, d, minority, chunk_rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    float(sys.argv[4]), int(sys.argv[5])
with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=":0", memory_limit="8GiB") as cluster, \
        distributed.Client(cluster) as client:
    xs, ys = [], []
    for i, s in enumerate(range(0, n, chunk_rows)):
        rows = min(chunk_rows, n - s)
        part = dask.delayed(chunk, pure=True)(i, rows, d, minority)
        xs.append(da.from_delayed(part[0], shape=(rows, d), dtype=np.float64))
        ys.append(da.from_delayed(part[1], shape=(rows,), dtype=np.int64))
    X, y = da.concatenate(xs), da.concatenate(ys)
    X, y = client.persist([X, y])  # data lives on the workers, as in production
    distributed.wait([X, y])
    def sent(dask_worker):
        return dask_worker.transfer_outgoing_bytes_total
    before = sum(client.run(sent).values())
    s = sampler(name)
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
                  "stats": getattr(s, "dask_stats_", {})}))
"""
)


def run(code: str, *args: object) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--minority", type=float, nargs="+", default=[0.1, 0.01])
    parser.add_argument("--samplers", nargs="+", default=["tomek", "enn", "stratified"])
    parser.add_argument(
        "--skip-single", action="store_true", help="only the dask path (large sizes)"
    )
    args = parser.parse_args()
    print(
        f"{'sampler':>10} {'minority':>8} {'path':>7} {'seconds':>8} {'peak MB':>14} "
        f"{'w2w MB':>7}  rows shipped"
    )
    for minority in args.minority:
        for name in args.samplers:
            common = (name, args.rows, args.d, minority, CHUNK_ROWS)
            single = None if args.skip_single else run(SINGLE, *common)
            dist = run(DASK, *common)
            if single is not None:
                assert single["rows_out"] == dist["rows_out"], (single, dist)
                assert abs(single["digest"] - dist["digest"]) <= 1e-6 * max(
                    1.0, abs(single["digest"])
                ), (single, dist)
                print(
                    f"{name:>10} {minority:>8} {'single':>7} {single['seconds']:>8.1f} "
                    f"{single['peak_mb']:>14.0f} {'':>7}"
                )
            peaks = "/".join(f"{p:.0f}" for p in dist["worker_peak_mb"])
            print(
                f"{name:>10} {minority:>8} {'dask':>7} {dist['seconds']:>8.1f} "
                f"{peaks:>14} {dist['worker_transfer_mb']:>7.0f}  {dist['stats']}"
            )


if __name__ == "__main__":
    main()
