"""Realistic tabular data for the benchmarks, built in code (no downloads).

Real tabular data is not Gaussian: it has integer counts, binary flags,
one-hot blocks, columns quantized to a few levels, exact duplicate rows and
columns of very different scales, hence many equal neighbour distances. The
generators here produce each of those kinds, with a label that depends on the
features (so cleaning rules have something to do) and a chosen imbalance.
scikit-learn's bundled datasets (digits, breast_cancer, wine) are offered
too, made binary (one class against the rest).

Every generator is deterministic for a given ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _labels(score: np.ndarray, minority: float, rng: np.random.Generator) -> np.ndarray:
    """Label 1 for the top ``minority`` share of a noisy score, else 0."""
    noisy = score + rng.normal(scale=score.std() + 1e-12, size=score.shape[0])
    cut = np.quantile(noisy, 1.0 - minority)
    return (noisy > cut).astype(np.int64)


def _duplicate(
    X: np.ndarray, y: np.ndarray, share: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Overwrite ``share`` of the rows with copies of other rows (and labels)."""
    n = X.shape[0]
    n_dup = int(share * n)
    if n_dup == 0:
        return X, y
    dst = rng.choice(n, n_dup, replace=False)
    src = rng.integers(0, n, n_dup)
    X[dst] = X[src]
    y[dst] = y[src]
    return X, y


def counts(n: int, d: int = 9, minority: float = 0.1, seed: int = 0):
    """Integer counts (Poisson with row- and column-varying rates), 10% duplicates."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(2.0, 1.5, size=d) * rng.gamma(4.0, 0.25, size=(n, 1))
    X = rng.poisson(rate).astype(np.float64)
    y = _labels(X @ rng.normal(size=d), minority, rng)
    return _duplicate(X, y, 0.10, rng)


def flags(n: int, d: int = 24, minority: float = 0.1, seed: int = 0):
    """Binary flags with varying prevalence (many identical rows)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.5, size=d)
    X = (rng.random((n, d)) < p).astype(np.float64)
    y = _labels(X @ rng.normal(size=d), minority, rng)
    return _duplicate(X, y, 0.05, rng)


def quantized(n: int, d: int = 20, minority: float = 0.1, seed: int = 0):
    """Gaussian columns rounded to 3-7 levels, 20% duplicates."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d))
    levels = rng.integers(3, 8, size=d)
    X = np.round(np.clip(Z, -2, 2) * (levels - 1) / 4.0) / ((levels - 1) / 4.0)
    y = _labels(Z @ rng.normal(size=d), minority, rng)
    return _duplicate(X, y, 0.20, rng)


def mixed(n: int, d: int = 130, minority: float = 0.1, seed: int = 0):
    """Census-like: a few numeric columns (ages, amounts, counts) + one-hot blocks.

    Numeric columns on mixed scales (one log-normal amount, integer ages and
    counts, a rounded rate); the rest one-hot encodings of categorical columns
    with 2-16 levels; 5% duplicate rows. ``d`` is the total width.
    """
    rng = np.random.default_rng(seed)
    n_num = min(6, d)
    cols = [
        rng.integers(18, 90, n).astype(np.float64),  # age
        np.round(rng.lognormal(8, 1.2, n), 0),  # amount
        rng.poisson(2.0, n).astype(np.float64),  # count
        np.round(rng.uniform(0, 1, n), 2),  # rate
        rng.integers(0, 40, n).astype(np.float64) * 5,  # hours
        (rng.random(n) < 0.3).astype(np.float64),  # flag
    ][:n_num]
    blocks = []
    width = n_num
    while width < d:
        levels = int(min(rng.integers(2, 17), d - width))
        if levels == 1:
            blocks.append((rng.random(n) < 0.5).astype(np.float64)[:, None])
        else:
            p = rng.dirichlet(np.ones(levels))
            codes = rng.choice(levels, n, p=p)
            blocks.append(np.eye(levels)[codes])
        width += levels
    X = np.column_stack([*cols, *blocks])
    score = X[:, :n_num] @ rng.normal(size=n_num) / (X[:, :n_num].std(0) + 1e-9).sum()
    score = score + X[:, n_num:] @ rng.normal(size=d - n_num)
    y = _labels(score, minority, rng)
    return _duplicate(X, y, 0.05, rng)


def gaussian(n: int, d: int = 20, minority: float = 0.1, seed: int = 0):
    """The usual ``make_classification`` data (no equal distances), for contrast."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n,
        n_features=d,
        n_informative=max(2, d // 2),
        n_redundant=0,
        weights=[1.0 - minority, minority],
        random_state=seed,
    )
    return X, y


def blobs(n: int, d: int = 20, minority: float = 0.1, seed: int = 0):
    """A Gaussian mixture: 1000 centres (spread 4), unit noise; no equal distances.

    Clustered rows, where the pruned exact search skips most distances.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1000, d)) * 4
    X = centres[rng.integers(0, 1000, n)] + rng.standard_normal((n, d))
    y = _labels(X @ rng.normal(size=d), minority, rng)
    return X, y


def smote_nc_data(n: int, minority: float = 0.1, seed: int = 0):
    """SMOTENC data: 10 continuous features (shifted by class) + 10 categorical.

    The categorical features have 1,000 levels each, stored as float64 codes
    in columns 10-19. Built in blocks of rows, without temporaries larger than
    a block. Returns X, y and the ``categorical_features`` list.
    """
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=np.int64)
    y[rng.permutation(n)[: int(n * minority)]] = 1
    X = np.empty((n, 20))
    for s in range(0, n, 1 << 16):
        e = min(n, s + (1 << 16))
        X[s:e, :10] = rng.normal(size=(e - s, 10)) + y[s:e, None]
        X[s:e, 10:] = rng.integers(0, 1000, size=(e - s, 10))
    return X, y, list(range(10, 20))


def smote_n_data(n: int, minority: float = 0.1, seed: int = 0):
    """SMOTEN data: 20 categorical features (int64 codes, 5 to 24 levels).

    Each class draws its codes from its own level frequencies.
    """
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=np.int64)
    y[rng.permutation(n)[: int(n * minority)]] = 1
    X = np.empty((n, 20), dtype=np.int64)
    for f in range(20):
        levels = 5 + f
        for c in (0, 1):
            rows = np.flatnonzero(y == c)
            p = rng.dirichlet(np.ones(levels))
            X[rows, f] = rng.choice(levels, size=rows.size, p=p)
    return X, y


def _bundled(loader: Callable, positive: int) -> tuple[np.ndarray, np.ndarray]:
    data = loader()
    return np.asarray(data.data, dtype=np.float64), (data.target == positive).astype(
        np.int64
    )


def digits(n: int | None = None, **_: object):
    """scikit-learn's digits (1797 x 64, integers 0-16): digit 0 against the rest."""
    from sklearn.datasets import load_digits

    return _bundled(load_digits, 0)


def breast_cancer(n: int | None = None, **_: object):
    """scikit-learn's breast_cancer (569 x 30): malignant (0) against benign."""
    from sklearn.datasets import load_breast_cancer

    return _bundled(load_breast_cancer, 0)


def wine(n: int | None = None, **_: object):
    """scikit-learn's wine (178 x 13): class 2 against the rest."""
    from sklearn.datasets import load_wine

    return _bundled(load_wine, 2)


GENERATORS: dict[str, Callable] = {
    "counts": counts,
    "flags": flags,
    "quantized": quantized,
    "mixed": mixed,
    "gaussian": gaussian,
    "blobs": blobs,
}
BUNDLED: dict[str, Callable] = {
    "digits": digits,
    "breast_cancer": breast_cancer,
    "wine": wine,
}


def make(
    name: str,
    n: int | None = None,
    d: int | None = None,
    seed: int = 0,
    minority: float = 0.1,
):
    """Dataset ``name`` with n rows and d columns (defaults of each generator).

    Returns
    -------
    X : ndarray of shape (n, d), float64
    y : ndarray of shape (n,), int64 (0 majority, 1 minority)
    """
    if name in BUNDLED:
        return BUNDLED[name]()
    kwargs = {"seed": seed, "minority": minority}
    if d is not None:
        kwargs["d"] = d
    return GENERATORS[name](n, **kwargs)
