"""Every sampler against imbalanced-learn on realistic tabular data.

Datasets come from ``realistic_data.py`` (integer counts, binary flags,
quantized columns, census-like numeric + one-hot, duplicates; Gaussian for
contrast) and scikit-learn's bundled digits, breast_cancer and wine. Both
libraries run with their defaults as a user gets them (imbalanced-learn's
scikit-learn neighbour search and imbfast's ``n_jobs=None`` both use every
core of the process; pass ``--threads 1`` to pin both to one thread through
threadpoolctl and ``n_jobs=1``), in the same process, on the same data,
after one warm-up call each, with the same number of rounds; the median is
reported (the warm-up runs on 2,000 rows of the same data).

Outputs are compared: ``equal`` means X, y (and ``sample_indices_`` where
both have it) are ``np.array_equal``. On data with equal neighbour distances
the two libraries may legitimately differ: imbalanced-learn drops column 0 of
each neighbour list as "self" (with duplicates often another row) and orders
ties by its tree/heap, imbfast excludes self by index and orders ties by the
lower index. Such rows say ``ties`` and are accepted only when the data has
tied distances (checked); a difference on tie-free data fails the run.

Usage::

    python benchmarks/realistic_report.py --sizes 1000,10000 --rounds 3
    python benchmarks/realistic_report.py --sizes 100000 --samplers SMOTE,ENN \
        --datasets counts,gaussian --rounds 1
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))

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
    if lib == "imbfast" and threads is not None:
        kwargs["n_jobs"] = threads
    return cls(**kwargs)


def has_ties(X: np.ndarray) -> bool:
    """Whether some row has an exact duplicate or a grid-like feature set.

    Duplicate rows or features with few distinct values make equal
    neighbour distances likely; Gaussian data has none.
    """
    if np.unique(X, axis=0).shape[0] < X.shape[0]:
        return True
    return bool(min(np.unique(col).size for col in X.T) < 0.5 * X.shape[0])


def compare(a, b) -> bool:
    (Xa, ya, sa), (Xb, yb, sb) = a, b
    same = np.array_equal(Xa, Xb) and np.array_equal(ya, yb)
    if sa is not None and sb is not None:
        same = same and np.array_equal(sa, sb)
    return same


def run_once(lib: str, name: str, X, y, threads: int | None):
    sampler = make_sampler(lib, name, threads)
    start = time.perf_counter()
    Xr, yr = sampler.fit_resample(X, y)
    seconds = time.perf_counter() - start
    return seconds, (Xr, yr, getattr(sampler, "sample_indices_", None))


def measure(name, X, y, rounds, threads):
    limit = threadpool_limits(threads) if threads else contextlib.nullcontext()
    with limit:
        times = {"imblearn": [], "imbfast": []}
        outs = {}
        # Warm-up (imports, thread pools) on a slice of the data.
        warm = np.sort(np.random.default_rng(0).permutation(len(y))[:2000])
        for lib in times:
            run_once(lib, name, X[warm], y[warm], threads)
        engines = []
        from imbfast.neighbors import last_plan

        for _ in range(rounds):
            for lib in times:
                seconds, out = run_once(lib, name, X, y, threads)
                times[lib].append(seconds)
                outs[lib] = out
                if lib == "imbfast":
                    engines.append(last_plan().get("algorithm", "-"))
    a, b = statistics.median(times["imblearn"]), statistics.median(times["imbfast"])
    engine = engines[-1] if name not in NO_SEARCH else "-"
    return a, b, compare(outs["imblearn"], outs["imbfast"]), engine


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

    import imblearn

    import imbfast
    from imbfast.base import resolve_n_jobs

    machine = platform.processor() or platform.machine()
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M')} | {machine}"
        f" | ISA {imbfast._core.active_isa()} | threads "
        f"{args.threads or resolve_n_jobs(None)} both | imbfast {imbfast.__version__},"
        f" imbalanced-learn {imblearn.__version__} | rounds {args.rounds} (median)"
    )
    print(
        "| dataset | n | d | sampler | imbalanced-learn s | imbfast s | speed-up "
        "| output | imbfast engine |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---|---|")
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
            ties = has_ties(X)
            for name in args.samplers.split(","):
                if X.shape[0] > MAX_ROWS.get(name, 1 << 62):
                    continue
                a, b, same, engine = measure(name, X, y, args.rounds, args.threads)
                verdict = "equal" if same else ("ties" if ties else "DIFFERENT")
                bad += verdict == "DIFFERENT"
                ratios.append(a / b)
                print(
                    f"| {ds} | {X.shape[0]} | {X.shape[1]} | {name} | {a:.4f} | "
                    f"{b:.4f} | {a / b:.1f}x | {verdict} | {engine} |",
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
