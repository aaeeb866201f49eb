"""Every sampler against imbalanced-learn on realistic tabular data.

Datasets come from ``realistic_data.py`` (integer counts, binary flags,
quantized columns, census-like numeric + one-hot, duplicates; Gaussian for
contrast) and scikit-learn's bundled digits, breast_cancer and wine. Both
libraries get the same thread count (``--threads``, default every core the
process may use): ``n_jobs`` where the sampler has it, and every BLAS/OpenMP
pool limited to it through threadpoolctl (scikit-learn's compiled search,
imbalanced-learn's, follows that limit). They run in the same process, on
the same data, after one warm-up call each, with the same number of rounds;
the median is reported (the warm-up runs on 2,000 rows of the same data; a
round of a sampler faster than ``ROUND_SECONDS`` is several calls in a row,
as many for both libraries, see ``calls_per_round``),
with the largest extra peak memory of a call (peak RSS during the call minus
the RSS before it, output included).

Outputs are compared: ``equal`` means X, y (and ``sample_indices_`` where
both have it) are ``np.array_equal``. On data with equal neighbour distances
the two libraries may legitimately differ: imbalanced-learn drops column 0 of
each neighbour list as "self" (with duplicates often another row) and orders
ties by its tree/heap, imbfast excludes self by index and orders ties by the
lower index. Such rows say ``ties, rule checked`` and are accepted only
when the data has tied distances and imbfast's neighbour lists follow its
tie rule (checked on 256 rows, see ``measure.tie_rule_holds``); any other
difference fails the run.

Usage::

    python benchmarks/realistic_report.py --sizes 1000,10000 --rounds 3
    python benchmarks/realistic_report.py --sizes 100000 --samplers SMOTE,ENN \
        --datasets counts,gaussian --rounds 1
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import measure
import realistic_data

SAMPLERS = [
    "SMOTE",
    "RandomOverSampler",
    "RandomUnderSampler",
    "TomekLinks",
    "EditedNearestNeighbours",
    "RepeatedEditedNearestNeighbours",
    "AllKNN",
    "NeighbourhoodCleaningRule",
    "OneSidedSelection",
    "CondensedNearestNeighbour",
    "SMOTETomek",
    "SMOTEENN",
]
RANDOM = {
    "SMOTE",
    "RandomOverSampler",
    "RandomUnderSampler",
    "OneSidedSelection",
    "CondensedNearestNeighbour",
    "SMOTETomek",
    "SMOTEENN",
}
NO_SEARCH = {"RandomOverSampler", "RandomUnderSampler"}
# imbalanced-learn's CNN is a Python loop over rows: too slow beyond this.
MAX_ROWS = {"CondensedNearestNeighbour": 5_000}


def make_sampler(lib: str, name: str, threads: int | None):
    import imblearn.combine
    import imblearn.over_sampling
    import imblearn.under_sampling

    import imbfast.combine
    import imbfast.over_sampling
    import imbfast.under_sampling

    mods = {
        "imblearn": (imblearn.over_sampling, imblearn.under_sampling, imblearn.combine),
        "imbfast": (imbfast.over_sampling, imbfast.under_sampling, imbfast.combine),
    }[lib]
    cls = next(getattr(m, name) for m in mods if hasattr(m, name))
    kwargs = {"random_state": 0} if name in RANDOM else {}
    # The same thread count for both, where the sampler has the parameter.
    if threads is not None and "n_jobs" in cls(**kwargs).get_params():
        kwargs["n_jobs"] = threads
    return cls(**kwargs)


# A round of a fast sampler is this many calls in a row at least (see
# calls_per_round).
ROUND_SECONDS = 0.05
MAX_CALLS = 50


def run_once(
    lib: str, name: str, X, y, threads: int | None, memory: bool = False, calls: int = 1
):
    """One round: seconds per call, extra peak memory (when ``memory``), output.

    A round is ``calls`` calls in a row after one wait for the process's
    other threads (``measure.quiesce``), timed together. The memory
    measurement hands freed heap pages back to the OS first, which costs
    the call about 2 ms of page faults: timed rounds go without.
    """
    sampler = make_sampler(lib, name, threads)
    measure.quiesce()
    with contextlib.ExitStack() as stack:
        mem = stack.enter_context(measure.PeakMemory()) if memory else None
        start = time.perf_counter()
        for _ in range(calls):
            Xr, yr = sampler.fit_resample(X, y)
        seconds = (time.perf_counter() - start) / calls
    extra = mem.extra if mem is not None else 0
    return seconds, extra, (Xr, yr, getattr(sampler, "sample_indices_", None))


def calls_per_round(seconds: float) -> int:
    """Calls per round for a sampler whose call takes ``seconds`` (the
    slower library's): a single millisecond call after the wait measures
    cold caches and clocks more than the call (RandomOverSampler on digits:
    2.4 ms a call alone, 0.86 ms in a row; imbalanced-learn 1.7 and
    2.7 ms), so fast samplers are timed over ``ROUND_SECONDS`` of calls,
    the same number for both libraries."""
    return int(min(MAX_CALLS, max(1, ROUND_SECONDS // max(seconds, 1e-6))))


def run_pair(name, X, y, rounds, threads):
    with measure.same_threads(threads):
        times = {"imblearn": [], "imbfast": []}
        peaks = {"imblearn": 0, "imbfast": 0}
        outs = {}
        # Warm-up (imports, thread pools) on a slice of the data.
        warm = np.sort(np.random.default_rng(0).permutation(len(y))[:2000])
        for lib in times:
            run_once(lib, name, X[warm], y[warm], threads)
        # The peak memory, in a call of its own when there are several
        # rounds (one round, for slow samplers, measures it as it is timed);
        # its time, the slower library's, sets the calls per round.
        alone = rounds > 1
        slowest = 0.0
        for lib in times if alone else ():
            seconds, peaks[lib], _ = run_once(lib, name, X, y, threads, memory=True)
            slowest = max(slowest, seconds)
        calls = calls_per_round(slowest) if alone else 1
        engines = []
        from imbfast.neighbors import last_plan

        # Each round swaps which library goes first, and every call waits
        # for the process's other threads to stop spinning (measure.quiesce).
        for r in range(rounds):
            for lib in list(times)[:: 1 if r % 2 == 0 else -1]:
                outs.pop(lib, None)
                seconds, extra, out = run_once(
                    lib, name, X, y, threads, memory=not alone, calls=calls
                )
                times[lib].append(seconds)
                peaks[lib] = max(peaks[lib], extra)
                outs[lib] = out
                if lib == "imbfast":
                    engines.append(last_plan().get("algorithm", "-"))
    a, b = statistics.median(times["imblearn"]), statistics.median(times["imbfast"])
    engine = engines[-1] if name not in NO_SEARCH else "-"
    same = measure.outputs_equal(outs["imblearn"], outs["imbfast"])
    return a, b, same, engine, peaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument(
        "--datasets",
        default="counts,flags,quantized,mixed,gaussian,digits,breast_cancer,wine",
    )
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--d", type=int, default=None, help="override widths")
    parser.add_argument(
        "--minority", type=float, default=0.1, help="minority share (0.01: 99:1)"
    )
    args = parser.parse_args(argv)

    from imbfast.base import resolve_n_jobs

    threads = args.threads or resolve_n_jobs(None)
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M')} | {measure.machine_line(threads)}"
        f" | rounds {args.rounds} (median)"
    )
    print(
        "| dataset | n | d | sampler | imbalanced-learn s | imbfast s | speed-up "
        "| extra peak MB (imblearn / imbfast) | output | imbfast engine |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|---|---|")
    ratios: list[float] = []
    bad = 0
    seen_bundled: set[str] = set()
    for size in map(int, args.sizes.split(",")):
        for ds in args.datasets.split(","):
            if ds in realistic_data.BUNDLED:
                if ds in seen_bundled:
                    continue
                seen_bundled.add(ds)
            X, y = realistic_data.make(ds, size, args.d, minority=args.minority)
            ties = measure.has_ties(X)
            for name in args.samplers.split(","):
                if X.shape[0] > MAX_ROWS.get(name, 1 << 62):
                    continue
                a, b, same, engine, peaks = run_pair(name, X, y, args.rounds, threads)
                verdict = "equal"
                if not same:
                    rule = ties and measure.tie_rule_holds(X)
                    verdict = "ties, rule checked" if rule else "DIFFERENT"
                bad += verdict == "DIFFERENT"
                ratios.append(a / b)
                print(
                    f"| {ds} | {X.shape[0]} | {X.shape[1]} | {name} | {a:.4f} | "
                    f"{b:.4f} | {a / b:.1f}x | {peaks['imblearn'] / 2**20:.1f} / "
                    f"{peaks['imbfast'] / 2**20:.1f} | {verdict} | {engine} |",
                    flush=True,
                )
    if ratios:
        print(
            f"\nmedian speed-up {statistics.median(ratios):.1f}x, "
            f"slowest {min(ratios):.2f}x over {len(ratios)} (sampler, dataset) pairs"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
