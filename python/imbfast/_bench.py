"""The work behind ``imbfast bench``: imbfast against imbalanced-learn, one run.

Both libraries get the same thread count (``n_jobs`` resolved to a number of
threads, passed to every sampler of either library that has the parameter,
and every BLAS/OpenMP pool limited to it with threadpoolctl: scikit-learn's
compiled neighbour search, which imbalanced-learn uses, follows that limit
rather than ``n_jobs``), one warm-up call each, and the same number of timed
rounds, alternating between the libraries. The outputs are compared.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

# name -> (imbfast module, class, imblearn module, class, takes random_state)
SAMPLERS: dict[str, tuple[str, str, str, str, bool]] = {
    "smote": (
        "imbfast.over_sampling",
        "SMOTE",
        "imblearn.over_sampling",
        "SMOTE",
        True,
    ),
    "random-over": (
        "imbfast.over_sampling",
        "RandomOverSampler",
        "imblearn.over_sampling",
        "RandomOverSampler",
        True,
    ),
    "random-under": (
        "imbfast.under_sampling",
        "RandomUnderSampler",
        "imblearn.under_sampling",
        "RandomUnderSampler",
        True,
    ),
    # Stratified sampling has no imblearn twin: RandomUnderSampler is the baseline.
    "stratified": (
        "imbfast.under_sampling",
        "StratifiedSampler",
        "imblearn.under_sampling",
        "RandomUnderSampler",
        True,
    ),
    "tomek": (
        "imbfast.under_sampling",
        "TomekLinks",
        "imblearn.under_sampling",
        "TomekLinks",
        False,
    ),
    "enn": (
        "imbfast.under_sampling",
        "EditedNearestNeighbours",
        "imblearn.under_sampling",
        "EditedNearestNeighbours",
        False,
    ),
    "smote-tomek": (
        "imbfast.combine",
        "SMOTETomek",
        "imblearn.combine",
        "SMOTETomek",
        True,
    ),
    "smote-enn": ("imbfast.combine", "SMOTEENN", "imblearn.combine", "SMOTEENN", True),
    "near-miss": (
        "imbfast.under_sampling",
        "NearMiss",
        "imblearn.under_sampling",
        "NearMiss",
        False,
    ),
    "cluster-centroids": (
        "imbfast.under_sampling",
        "ClusterCentroids",
        "imblearn.under_sampling",
        "ClusterCentroids",
        True,
    ),
    "instance-hardness": (
        "imbfast.under_sampling",
        "InstanceHardnessThreshold",
        "imblearn.under_sampling",
        "InstanceHardnessThreshold",
        True,
    ),
    # Categorical data (see categorical_data): half the features for SMOTENC,
    # all of them for SMOTEN.
    "smote-nc": (
        "imbfast.over_sampling",
        "SMOTENC",
        "imblearn.over_sampling",
        "SMOTENC",
        True,
    ),
    "smote-n": (
        "imbfast.over_sampling",
        "SMOTEN",
        "imblearn.over_sampling",
        "SMOTEN",
        True,
    ),
    **{
        method: (
            "imbfast.over_sampling",
            cls,
            "imblearn.over_sampling",
            cls,
            True,
        )
        for method, cls in (
            ("adasyn", "ADASYN"),
            ("borderline-smote", "BorderlineSMOTE"),
            ("svm-smote", "SVMSMOTE"),
            ("kmeans-smote", "KMeansSMOTE"),
        )
    },
}
# Levels of each generated categorical feature.
CATEGORY_LEVELS = 20


@dataclass
class Row:
    sampler: str
    n: int
    d: int
    ours: float
    theirs: float | None
    threads: int = 1
    output: str = "n/a"

    @property
    def ratio(self) -> float | None:
        return None if self.theirs is None else self.theirs / self.ours


def make_data(
    n: int, d: int, n_classes: int, imbalance: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs; class c has weight imbalance ** (c / (n_classes - 1)).

    The last class is the minority: ``imbalance`` times the majority's size.
    """
    rng = np.random.default_rng(seed)
    w = imbalance ** (np.arange(n_classes) / max(n_classes - 1, 1))
    counts = np.maximum(np.floor(n * w / w.sum()).astype(np.int64), 7)
    counts[0] += n - counts.sum()
    y = np.repeat(np.arange(n_classes), counts)
    rng.shuffle(y)
    centers = rng.normal(scale=2.0, size=(n_classes, d))
    X = rng.normal(size=(n, d)) + centers[y]
    return X, y


def categorical_data(
    name: str, X: np.ndarray, seed: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """The data and extra parameters of a sampler that needs categories.

    ``smote-nc``: the last half of the features (at least one) become
    integer categories with CATEGORY_LEVELS levels, drawn independently of
    the class; ``smote-n``: every feature does. Other samplers: X unchanged.
    """
    if name not in ("smote-nc", "smote-n"):
        return X, {}
    rng = np.random.default_rng(seed + 1)
    n, d = X.shape
    n_cat = d if name == "smote-n" else max(1, d // 2)
    if name == "smote-nc" and n_cat == d:
        raise ValueError("smote-nc needs --d >= 2 (continuous and categorical)")
    codes = rng.integers(0, CATEGORY_LEVELS, size=(n, n_cat))
    if name == "smote-n":
        return codes, {}
    X = X.copy()
    X[:, d - n_cat :] = codes
    return X, {"categorical_features": list(range(d - n_cat, d))}


def _factory(module: str, name: str) -> Callable[..., Any] | None:
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _fit(cls: Callable[..., Any], kw: dict[str, Any], X: Any, y: Any) -> Any:
    return cls(**kw).fit_resample(X, y)


def _with_threads(cls: Callable[..., Any], kw: dict[str, Any], threads: int):
    """``kw`` plus ``n_jobs=threads`` when ``cls`` has that parameter."""
    if "n_jobs" in cls(**kw).get_params():
        return {**kw, "n_jobs": threads}
    return dict(kw)


def _warm_up(fn: Callable[[Any, Any], Any], X: Any, y: np.ndarray, seed: int) -> None:
    """One call on up to 1,000 random rows: imports, thread pools, first calls."""
    rows = np.sort(np.random.default_rng(seed).permutation(y.shape[0])[:1000])
    try:
        fn(X[rows], y[rows])
    except (ValueError, RuntimeError):
        pass  # a sampler may refuse a slice; the call only loads code


def _compare(name: str, ours: Any, theirs: Any) -> str:
    """``equal`` (X and y), ``same counts`` (stratified) or ``differs``."""
    (Xa, ya), (Xb, yb) = ours, theirs
    if name == "stratified":
        counts = (
            np.unique(ya, return_counts=True)[1],
            np.unique(yb, return_counts=True)[1],
        )
        return "same counts" if np.array_equal(*counts) else "differs"
    Xa, Xb = (X.toarray() if hasattr(X, "toarray") else np.asarray(X) for X in (Xa, Xb))
    same = np.array_equal(Xa, Xb) and np.array_equal(np.asarray(ya), np.asarray(yb))
    return "equal" if same else "differs"


def run(
    samplers: Sequence[str],
    sizes: Sequence[int],
    d: int,
    n_classes: int,
    imbalance: float,
    repeat: int,
    n_jobs: int | None,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> list[Row]:
    """Time every sampler at every size; imblearn only when it is installed.

    Both libraries get ``resolve_n_jobs(n_jobs)`` threads (see the module
    docstring), a warm-up call and ``repeat`` timed rounds (median).
    """
    from threadpoolctl import threadpool_limits

    from imbfast.base import resolve_n_jobs

    threads = resolve_n_jobs(n_jobs)
    rows = []
    for name in samplers:
        if name not in SAMPLERS:
            raise ValueError(
                f"unknown sampler {name!r} (choose from {', '.join(SAMPLERS)})"
            )
    for n in sizes:
        X, y = make_data(n, d, n_classes, imbalance, seed)
        for name in samplers:
            mod, cls, imod, icls, seeded = SAMPLERS[name]
            ours_cls = _factory(mod, cls)
            if ours_cls is None:
                log(f"skipping {name}: {mod}.{cls} is not available")
                continue
            theirs_cls = _factory(imod, icls)
            X_s, extra = categorical_data(name, X, seed)
            kw = {"random_state": seed, **extra} if seeded else dict(extra)
            fits = {
                "imbfast": partial(_fit, ours_cls, _with_threads(ours_cls, kw, threads))
            }
            if theirs_cls is not None:
                fits["imblearn"] = partial(
                    _fit, theirs_cls, _with_threads(theirs_cls, kw, threads)
                )
            times: dict[str, list[float]] = {lib: [] for lib in fits}
            outputs: dict[str, Any] = {}
            with threadpool_limits(threads):
                for fit in fits.values():
                    _warm_up(fit, X_s, y, seed)
                for _ in range(repeat):
                    for lib, fit in fits.items():
                        start = time.perf_counter()
                        outputs[lib] = fit(X_s, y)
                        times[lib].append(time.perf_counter() - start)
            theirs = (
                statistics.median(times["imblearn"]) if "imblearn" in fits else None
            )
            output = (
                _compare(name, outputs["imbfast"], outputs["imblearn"])
                if "imblearn" in outputs
                else "n/a"
            )
            rows.append(
                Row(
                    name,
                    n,
                    d,
                    statistics.median(times["imbfast"]),
                    theirs,
                    threads,
                    output,
                )
            )
    return rows


def table(rows: Sequence[Row]) -> str:
    """A Markdown table of medians, ratios and output checks."""
    lines = [
        "| sampler | n | d | imbfast (s) | imbalanced-learn (s) | speed-up "
        "| threads (both) | output |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        theirs = "n/a" if r.theirs is None else f"{r.theirs:.4f}"
        ratio = "n/a" if r.ratio is None else f"{r.ratio:.1f}x"
        lines.append(
            f"| {r.sampler} | {r.n:,} | {r.d} | {r.ours:.4f} | {theirs} | {ratio} "
            f"| {r.threads} | {r.output} |"
        )
    return "\n".join(lines)


def plot(rows: Sequence[Row], path: str) -> None:
    """Median times against n, one line per sampler and library (log-log)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "--plot needs matplotlib: pip install 'imbfast[plot]'"
        ) from exc
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in dict.fromkeys(r.sampler for r in rows):
        mine = [r for r in rows if r.sampler == name]
        ax.plot(
            [r.n for r in mine], [r.ours for r in mine], "o-", label=f"imbfast {name}"
        )
        if all(r.theirs is not None for r in mine):
            ax.plot(
                [r.n for r in mine],
                [r.theirs for r in mine],
                "x--",
                label=f"imbalanced-learn {name}",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rows")
    ax.set_ylabel("median time (s)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
