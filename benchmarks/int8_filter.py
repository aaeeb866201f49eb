"""The int8 filter pass against the float32 pass of the fused brute force.

Times the kernel call (``_core.fused_knn``) on the query searches of the
samplers the pass is for, on ``make_classification`` data (9:1, see
``realistic_data.gaussian``): ADASYN (the minority rows among all rows,
k=6), BorderlineSMOTE (k=11) and NearMiss-1 (the majority rows among the
minority rows, k=3); optionally on the realistic datasets too, where the
probe must keep the float32 pass when the int8 one does not pay. For each,
``int8="never"`` (the float32 pass) and ``"auto"`` (the probe decides)
alternate for ``--rounds`` rounds; the best CPU time on one thread
(``time.process_time``: a shared machine's load inflates wall time far more
than CPU time) and the best wall time on ``--threads`` threads are printed,
with the load average, and the outputs of the two are asserted equal.

``--lattice`` times the lattice mode instead (``int8="always"`` against
``"never"``, the float32 pass's exact arithmetic): counts (d=9) and flags
(d=24), all pairs and a tenth of the rows as queries (k=3), from 300 rows to
``--rows``, with each search's pairs x features, the measure behind the
mode's ``"auto"`` threshold (2^22).

``--samplers`` also times the samplers end to end against imbalanced-learn
(ADASYN, BorderlineSMOTE 1 and 2, NearMiss 1 and 3, ``random_state=0``): CPU
time on one thread for both (threadpoolctl limits, ``n_jobs=1`` where the
sampler has it), best of two rounds, outputs asserted ``np.array_equal``.

Usage: python benchmarks/int8_filter.py --rows 100000 --rounds 3 [--realistic]
[--samplers] [--lattice]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import realistic_data
from imbfast import _core


def shapes(rows: int, realistic: bool) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    """(name, X, queries, k) of each search."""
    X, y = realistic_data.make("gaussian", rows, 20)
    minority = np.ascontiguousarray(X[y == 1])
    majority = np.ascontiguousarray(X[y == 0])
    out = [
        ("ADASYN (minority among all, k=6)", X, minority, 6),
        ("BorderlineSMOTE (minority among all, k=11)", X, minority, 11),
        ("NearMiss-1 (majority among minority, k=3)", minority, majority, 3),
    ]
    if realistic:
        for name in ("counts", "flags", "quantized", "mixed", "blobs"):
            Xr, yr = realistic_data.make(name, min(rows, 30_000))
            Xr = np.ascontiguousarray(Xr, dtype=np.float64)
            out.append((f"{name} (minority among all, k=6)", Xr, Xr[yr == 1].copy(), 6))
    return out


def lattice_shapes(rows: int) -> list[tuple[str, np.ndarray, np.ndarray | None, int]]:
    """(name, X, queries or None for all pairs, k) on lattice data."""
    out = []
    for name in ("counts", "flags"):
        X_all, _ = realistic_data.make(name, rows)
        for n in (300, 1000, 3000, 10_000, 30_000, 100_000):
            if n > rows:
                break
            X = np.ascontiguousarray(X_all[:n], dtype=np.float64)
            for Q, what in ((None, "all pairs"), (X[: n // 10].copy(), "n/10 queries")):
                nq = n if Q is None else Q.shape[0]
                work = np.log2(float(n) * nq * X.shape[1])
                out.append((f"{name} {what}, 2^{work:.1f}", X, Q, 3))
    return out


def timed(X, Q, k, mode, threads):
    """(CPU seconds, wall seconds, result) of one kernel call."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = _core.fused_knn(X, Q, k, 4, threads, int8=mode)
    return time.process_time() - cpu, time.perf_counter() - wall, result


def samplers(rows: int) -> None:
    """Print imbalanced-learn's and imbfast's CPU time per sampler (one thread)."""
    import imblearn.over_sampling as imb_over
    import imblearn.under_sampling as imb_under
    from threadpoolctl import threadpool_limits

    import imbfast.over_sampling as fast_over
    import imbfast.under_sampling as fast_under

    X, y = realistic_data.make("gaussian", rows, 20)
    specs = [
        ("ADASYN", "ADASYN", {}, False),
        ("BorderlineSMOTE borderline-1", "BorderlineSMOTE", {}, False),
        (
            "BorderlineSMOTE borderline-2",
            "BorderlineSMOTE",
            {"kind": "borderline-2"},
            False,
        ),
        ("NearMiss-1", "NearMiss", {"version": 1, "n_jobs": 1}, True),
        ("NearMiss-3", "NearMiss", {"version": 3, "n_jobs": 1}, True),
    ]
    print("| sampler | imbalanced-learn CPU s | imbfast CPU s | ratio | output |")
    print("|---|---:|---:|---:|---|")
    with threadpool_limits(1):
        for label, name, params, under in specs:
            libs = {
                "imblearn": imb_under if under else imb_over,
                "imbfast": fast_under if under else fast_over,
            }
            if not under:
                params = {**params, "random_state": 0}
            best: dict[str, float] = {}
            outs = {}
            for _ in range(2):
                for lib, module in libs.items():
                    sampler = getattr(module, name)(**params)
                    cpu = time.process_time()
                    outs[lib] = sampler.fit_resample(X, y)
                    best[lib] = min(best.get(lib, np.inf), time.process_time() - cpu)
            for a, b in zip(outs["imblearn"], outs["imbfast"], strict=True):
                np.testing.assert_array_equal(a, b)
            ratio = best["imblearn"] / best["imbfast"]
            print(
                f"| {label} | {best['imblearn']:.3f} | {best['imbfast']:.3f} "
                f"| {ratio:.1f}x | equal |",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--realistic", action="store_true")
    parser.add_argument("--samplers", action="store_true")
    parser.add_argument("--lattice", action="store_true")
    args = parser.parse_args(argv)
    int8 = "always" if args.lattice else "auto"
    searches = (
        lattice_shapes(args.rows) if args.lattice else shapes(args.rows, args.realistic)
    )
    print(
        f"simd {_core.active_isa()}, vnni {_core.vnni_active()}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(
        "| search | float32 CPU s (1 thread) | int8 CPU s | speed-up "
        f"| float32 wall s ({args.threads} threads) | int8 wall s | plan |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, X, Q, k in searches:
        best: dict[tuple[str, int], float] = {}
        results = {}
        for _ in range(args.rounds):
            for mode in ("never", int8):
                for threads in (1, args.threads):
                    cpu, wall, result = timed(X, Q, k, mode, threads)
                    key_cpu, key_wall = (mode, 0), (mode, threads)
                    if threads == 1:
                        best[key_cpu] = min(best.get(key_cpu, np.inf), cpu)
                    if threads == args.threads:
                        best[key_wall] = min(best.get(key_wall, np.inf), wall)
                    results[mode] = result
        np.testing.assert_array_equal(results["never"][0], results[int8][0])
        np.testing.assert_array_equal(results["never"][1], results[int8][1])
        info = results[int8][2]
        plan = f"int8 {info['int8_filter']}"
        if "int8_probe_hits" in info:
            plan += f", probe {info['int8_probe_hits']:.0f} rows/query"
        if info["n_int8_fallback"]:
            plan += f", {info['n_int8_fallback']} fell back"
        c32, c8 = best[("never", 0)], best[(int8, 0)]
        w32, w8 = best[("never", args.threads)], best[(int8, args.threads)]
        print(
            f"| {name}, {X.shape[0]:,} x {X.shape[1]}, "
            f"{X.shape[0] if Q is None else Q.shape[0]:,} queries "
            f"| {c32:.3f} | {c8:.3f} | {c32 / c8:.2f}x | {w32:.3f} | {w8:.3f} "
            f"| {plan} |",
            flush=True,
        )
    if args.samplers:
        samplers(args.rows)
    print(f"load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
