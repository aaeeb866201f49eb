"""Is ``algorithm="auto"`` within 1.3x of the fastest exact engine?

For each dataset of the realistic set (see ``realistic_data.py``) and size,
times every exact engine (scan, tree, brute, pruned) on the same search, the
way the samplers run it: all rows among all rows (ENN, Tomek links) and the
minority class among itself (SMOTE), k=3 and k=6, with the thread count of
``n_jobs=None``. Each engine gets one warm-up and the median of ``--rounds``
rounds, taken in turn with the other engines' (a call under 20 ms is
repeated within a round, and the round's time divided); every engine's
answer is asserted equal to the others'. Prints the choice of ``"auto"``, its
time over the fastest engine's, and the worst ratio.

Usage: python benchmarks/engine_choice.py --sizes 1000,10000,30000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import realistic_data
from imbfast.base import resolve_n_jobs
from imbfast.neighbors import last_plan, squared_kneighbors

ENGINES = ["scan", "tree", "brute", "pruned", "auto"]
# Engines whose cost is known to be hopeless beyond a size: skipped there.
LIMITS = {"scan": 2e9, "tree": 5e10, "pruned": 1e12}


# A round lasts at least this long: short searches are timed as several
# calls in a row (the round's time divided by the calls), so one call's
# scheduling noise does not decide a ratio.
ROUND_SECONDS = 0.02
MAX_CALLS = 200


def time_engines(X, k, engines, threads, rounds):
    """Median seconds per call, last answer and engine used, per engine.

    Each engine is warmed up once; then the rounds go engine by engine in
    turn (round 1 of every engine, then round 2, ...), so a slow spell of
    the machine falls on all of them rather than on one.
    """

    def call(engine):
        return squared_kneighbors(X, k, n_threads=threads, algorithm=engine)

    calls, results, times = {}, {}, {}
    for engine in engines:
        start = time.perf_counter()
        call(engine)
        once = time.perf_counter() - start
        calls[engine] = int(min(MAX_CALLS, max(1, ROUND_SECONDS // max(once, 1e-9))))
        times[engine] = []
    for _ in range(rounds):
        for engine in engines:
            start = time.perf_counter()
            for _ in range(calls[engine]):
                out = call(engine)
            times[engine].append((time.perf_counter() - start) / calls[engine])
            results[engine] = (out, last_plan()["algorithm"])
    return {
        e: (statistics.median(times[e]), results[e][0], results[e][1]) for e in engines
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,30000")
    parser.add_argument(
        "--datasets",
        default="counts,flags,quantized,mixed,gaussian,digits,breast_cancer,wine",
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    threads = resolve_n_jobs(None)
    print(f"threads {threads}, median of {args.rounds}")
    print("| dataset | search | n x nq x d | " + " | ".join(ENGINES) + " | auto/best |")
    print("|---|---|---|" + "---:|" * len(ENGINES) + "---:|")
    worst = 1.0
    seen: set[str] = set()
    for size in map(int, args.sizes.split(",")):
        for ds in args.datasets.split(","):
            if ds in realistic_data.BUNDLED:
                if ds in seen:
                    continue
                seen.add(ds)
            X, y = realistic_data.make(ds, size)
            minority = np.ascontiguousarray(X[y == 1])
            for label, data, k in (("all", X, 3), ("class", minority, 6)):
                if data.shape[0] <= k + 1:
                    continue
                n, d = data.shape
                runnable = [
                    e for e in ENGINES if not (e in LIMITS and n * n * d > LIMITS[e])
                ]
                timed = time_engines(data, k, runnable, threads, args.rounds)
                ref = timed[runnable[0]][1]
                times = {}
                for engine in ENGINES:
                    if engine not in timed:
                        times[engine] = float("nan")
                        continue
                    seconds, out, _ = timed[engine]
                    assert np.array_equal(out[0], ref[0]), (ds, engine)
                    times[engine] = seconds
                picked = timed["auto"][2]
                best = min(t for e, t in times.items() if e != "auto" and t == t)
                ratio = times["auto"] / best
                worst = max(worst, ratio)
                cells = " | ".join(
                    "-" if t != t else f"{t * 1e3:.1f}" for t in times.values()
                )
                print(
                    f"| {ds} | {label} k={k} | {n} x {n} x {d} | {cells} "
                    f"({picked}) | {ratio:.2f} |",
                    flush=True,
                )
    print(f"\nworst auto/best: {worst:.2f} (times in ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
