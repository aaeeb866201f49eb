"""Cleaning and combined samplers, imbfast against imbalanced-learn.

Each group holds both libraries on the same data. Default sizes: 10k rows x
20 and 100 features, 2 and 3 classes; ``IMBFAST_BENCH_LARGE=1`` adds 100k
rows. ``IMBFAST_BENCH_ROUNDS`` sets the rounds per benchmark (default 3).
"""

from __future__ import annotations

import functools
import os

import imblearn.combine as imb_combine
import imblearn.under_sampling as imb_under
import numpy as np
import pytest
from sklearn.datasets import make_classification

import imbfast.combine as fast_combine
import imbfast.under_sampling as fast_under

ROWS = [10_000] + ([100_000] if os.environ.get("IMBFAST_BENCH_LARGE") == "1" else [])
FEATURES = [20, 100]
CLASSES = [2, 3]
ROUNDS = int(os.environ.get("IMBFAST_BENCH_ROUNDS", "3"))

SAMPLERS = {
    "TomekLinks": (fast_under.TomekLinks, imb_under.TomekLinks, {}),
    "EditedNearestNeighbours": (
        fast_under.EditedNearestNeighbours,
        imb_under.EditedNearestNeighbours,
        {},
    ),
    "RepeatedEditedNearestNeighbours": (
        fast_under.RepeatedEditedNearestNeighbours,
        imb_under.RepeatedEditedNearestNeighbours,
        {},
    ),
    "AllKNN": (fast_under.AllKNN, imb_under.AllKNN, {}),
    "SMOTETomek": (
        fast_combine.SMOTETomek,
        imb_combine.SMOTETomek,
        {"random_state": 0},
    ),
    "SMOTEENN": (fast_combine.SMOTEENN, imb_combine.SMOTEENN, {"random_state": 0}),
}


@functools.cache
def _data(n: int, d: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    weights = [0.1, 0.9] if n_classes == 2 else [0.1, 0.3, 0.6]
    return make_classification(
        n_samples=n,
        n_features=d,
        n_informative=min(d, 10),
        n_classes=n_classes,
        weights=weights,
        flip_y=0.05,
        random_state=0,
    )


@pytest.mark.parametrize("library", ["imblearn", "imbfast"])
@pytest.mark.parametrize("n_classes", CLASSES)
@pytest.mark.parametrize("d", FEATURES)
@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("name", list(SAMPLERS))
def test_cleaning(benchmark, name, n, d, n_classes, library):
    ours, theirs, params = SAMPLERS[name]
    X, y = _data(n, d, n_classes)
    if library == "imbfast":
        sampler = ours(n_jobs=-1, **params)
    else:
        sampler = theirs(n_jobs=-1, **params)
    benchmark.group = f"{name}-{n}x{d}-{n_classes}classes"
    benchmark.extra_info["library"] = library
    _, y_res = benchmark.pedantic(
        sampler.fit_resample, args=(X, y), rounds=ROUNDS, iterations=1
    )
    assert y_res.shape[0] > 0
