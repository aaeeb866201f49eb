"""The ``imbfast`` command.

``imbfast demo`` resamples a dataset that ships with scikit-learn and shows
what imbfast does: class counts, time against imbalanced-learn on the same
data, and a classifier's balanced accuracy with and without resampling.
``imbfast config`` prints :func:`imbfast.show_config`. ``imbfast resample``
resamples a Parquet, CSV or NumPy file (see :mod:`imbfast._batch`);
``imbfast bench`` times imbfast against imbalanced-learn (see
:mod:`imbfast._bench`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any


def _timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[Any, float]:
    """Best wall time of ``repeat`` calls of fn, and fn's last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def _counts(y: Any) -> str:
    return ", ".join(f"{label}: {count}" for label, count in sorted(Counter(y).items()))


def run_demo(n_jobs: int | None = -1, scale_rows: int = 200_000) -> int:
    """Run the demo; returns the process exit code.

    Parameters
    ----------
    n_jobs : int or None, default=-1
        Threads for imbfast.
    scale_rows : int, default=200_000
        Rows of the synthetic data in the timing part (0 skips it).
    """
    import numpy as np
    from imblearn.over_sampling import SMOTE as ImblearnSMOTE
    from imblearn.pipeline import make_pipeline
    from sklearn.datasets import load_digits, make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.preprocessing import StandardScaler

    from imbfast._show_config import config as imbfast_config
    from imbfast.over_sampling import SMOTE
    from imbfast.under_sampling import RandomUnderSampler

    config = imbfast_config()
    print(
        f"imbfast {config['version']} (SIMD: {config['simd']}, "
        f"{config['hardware_threads']} hardware threads)\n"
    )

    digits = load_digits()
    X = digits.data.astype(np.float64)
    # Digit 9 against all others: a 1:9 imbalance on real data.
    y = (digits.target == 9).astype(int)
    print("Dataset: scikit-learn's digits, 'is it a 9?' (1797 images x 64 pixels)")
    print(f"  classes before: {_counts(y)}")

    ours, t_ours = _timed(
        lambda: SMOTE(random_state=0, n_jobs=n_jobs).fit_resample(X, y)
    )
    theirs, t_theirs = _timed(lambda: ImblearnSMOTE(random_state=0).fit_resample(X, y))
    print(f"  classes after SMOTE: {_counts(ours[1])}")
    print(
        f"  SMOTE time: imbfast {t_ours * 1e3:.1f} ms, imbalanced-learn "
        f"{t_theirs * 1e3:.1f} ms ({t_theirs / t_ours:.1f}x)"
    )
    # Integer pixels give many equally distant neighbours: imbfast orders
    # them by index, imbalanced-learn by its tree's traversal, so some
    # synthetic rows differ here; on tie-free data the output is identical
    # (see the part at scale below).

    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)

    def score(*steps: Any) -> float:
        model = make_pipeline(
            StandardScaler(), *steps, LogisticRegression(C=0.01, max_iter=2000)
        )
        return float(
            np.mean(cross_val_score(model, X, y, cv=cv, scoring="balanced_accuracy"))
        )

    print("\nLogistic regression, 5-fold balanced accuracy:")
    print(f"  no resampling:        {score():.3f}")
    print(f"  imbfast SMOTE:        {score(SMOTE(random_state=0)):.3f}")
    print(f"  imbfast under-sample: {score(RandomUnderSampler(random_state=0)):.3f}")

    if scale_rows > 0:
        X_big, y_big = make_classification(
            n_samples=scale_rows,
            n_features=20,
            n_informative=10,
            weights=[0.9, 0.1],
            random_state=0,
        )
        print(f"\nAt scale: SMOTE on {scale_rows:,} x 20 synthetic rows (9:1)")
        print(f"  classes before: {_counts(y_big)}")
        ours, t_ours = _timed(
            lambda: SMOTE(random_state=0, n_jobs=n_jobs).fit_resample(X_big, y_big), 1
        )
        theirs, t_theirs = _timed(
            lambda: ImblearnSMOTE(random_state=0).fit_resample(X_big, y_big), 1
        )
        same = np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1])
        print(f"  classes after:  {_counts(ours[1])}")
        print(
            f"  imbfast {t_ours:.2f} s, imbalanced-learn {t_theirs:.2f} s "
            f"({t_theirs / t_ours:.1f}x); identical output: {same}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``imbfast`` command."""
    parser = argparse.ArgumentParser(
        prog="imbfast",
        description="C++-accelerated resampling for imbalanced classification.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="resample a bundled dataset and compare")
    demo.add_argument("--n-jobs", type=int, default=-1, help="threads (joblib style)")
    demo.add_argument(
        "--scale-rows",
        type=int,
        default=200_000,
        help="rows of the synthetic timing part (0 skips it)",
    )

    sub.add_parser("config", help="print the build and runtime configuration")

    res = sub.add_parser(
        "resample",
        help="resample a Parquet, CSV, .npy or .npz file",
        description="Resample INPUT into OUTPUT (same format). random-under and "
        "stratified stream the file with bounded memory; the other methods load it.",
    )
    res.add_argument("input", metavar="INPUT")
    res.add_argument("output", metavar="OUTPUT")
    res.add_argument(
        "--target",
        required=True,
        help="label column (.npy: column index; .npz: array name)",
    )
    res.add_argument(
        "--method",
        required=True,
        help="random-under, random-over, stratified, smote, tomek, enn, "
        "smote-tomek, smote-enn, near-miss, cluster-centroids, instance-hardness, "
        "smote-nc, smote-n, adasyn, borderline-smote, svm-smote or kmeans-smote",
    )
    res.add_argument(
        "--sampling-strategy",
        default=None,
        help="a name ('auto', 'all', ...), a number, or a JSON object "
        'such as \'{"0": 1000, "1": 0.5}\'',
    )
    res.add_argument("--random-state", type=int, default=None)
    res.add_argument("--n-jobs", type=int, default=None)
    res.add_argument(
        "--k-neighbors",
        type=int,
        default=None,
        help="k_neighbors of the SMOTE variants (ADASYN's n_neighbors); "
        "default: the sampler's own (5; 2 for kmeans-smote)",
    )
    res.add_argument(
        "--categorical",
        default=None,
        metavar="COLS",
        help="smote-nc: comma-separated categorical feature columns (names; "
        ".npy/.npz: column indices); default: a Parquet file's categorical columns",
    )
    res.add_argument(
        "--indicator-column",
        default=None,
        metavar="NAME",
        help="add a boolean column NAME marking rows the sampler created",
    )
    res.add_argument(
        "--batch-rows",
        type=int,
        default=1 << 18,
        help="rows per streamed batch (random-under, stratified)",
    )
    res.add_argument(
        "--overwrite", action="store_true", help="replace an existing OUTPUT"
    )
    res.add_argument("--quiet", action="store_true", help="no progress bar or summary")

    bench = sub.add_parser("bench", help="time imbfast against imbalanced-learn")
    bench.add_argument(
        "--samplers",
        default="smote,random-under,stratified",
        help="comma-separated: smote, random-over, random-under, "
        "stratified, tomek, enn, smote-tomek, smote-enn, near-miss, "
        "cluster-centroids, instance-hardness, smote-nc, smote-n, adasyn, "
        "borderline-smote, svm-smote, kmeans-smote",
    )
    bench.add_argument("--n", default="10000,100000", help="comma-separated row counts")
    bench.add_argument("--d", type=int, default=20, help="features")
    bench.add_argument("--classes", type=int, default=2)
    bench.add_argument(
        "--imbalance", type=float, default=0.1, help="minority size / majority size"
    )
    bench.add_argument("--repeat", type=int, default=3)
    bench.add_argument("--n-jobs", type=int, default=-1)
    bench.add_argument("--random-state", type=int, default=0)
    bench.add_argument(
        "--plot",
        default=None,
        metavar="FILE.png",
        help="also draw the timings (needs imbfast[plot])",
    )
    return parser


def run_resample(args: argparse.Namespace) -> int:
    """``imbfast resample``: one line on stderr and a non-zero code on bad input."""
    from imbfast import _batch

    try:
        opts = _batch.Options(
            input=args.input,
            output=args.output,
            target=args.target,
            method=args.method,
            sampling_strategy=_batch.parse_strategy(args.sampling_strategy),
            random_state=args.random_state,
            n_jobs=args.n_jobs,
            k_neighbors=args.k_neighbors,
            categorical=(
                None
                if args.categorical is None
                else [c.strip() for c in args.categorical.split(",") if c.strip()]
            ),
            indicator_column=args.indicator_column,
            overwrite=args.overwrite,
            quiet=args.quiet,
            batch_rows=args.batch_rows,
        )
        summary = _batch.resample(opts)
    except _batch.UsageError as exc:
        print(f"imbfast resample: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("imbfast resample: interrupted; nothing written", file=sys.stderr)
        return 130
    except Exception as exc:
        print(
            f"imbfast resample: error: {type(exc).__name__}: {exc}".splitlines()[0],
            file=sys.stderr,
        )
        return 1
    if not args.quiet:
        print(f"wrote {summary['rows']:,} rows to {args.output}")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    """``imbfast bench``: print a table of medians and ratios."""
    from imbfast import _bench

    try:
        sizes = [int(v) for v in args.n.split(",") if v]
        samplers = [v.strip() for v in args.samplers.split(",") if v.strip()]
        rows = _bench.run(
            samplers,
            sizes,
            args.d,
            args.classes,
            args.imbalance,
            args.repeat,
            args.n_jobs,
            args.random_state,
            log=lambda m: print(m, file=sys.stderr),
        )
    except ValueError as exc:
        print(f"imbfast bench: error: {exc}", file=sys.stderr)
        return 2
    print(_bench.table(rows))
    if args.plot:
        _bench.plot(rows, args.plot)
        print(f"plot written to {args.plot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``imbfast`` command."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        return run_demo(n_jobs=args.n_jobs, scale_rows=args.scale_rows)
    if args.command == "config":
        from imbfast._show_config import show_config

        show_config()
        return 0
    if args.command == "resample":
        return run_resample(args)
    if args.command == "bench":
        return run_bench(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
