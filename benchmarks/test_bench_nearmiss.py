"""NearMiss, ClusterCentroids and InstanceHardnessThreshold against imbalanced-learn.

Each group holds both libraries on the same data (9:1, 20 features), the
same thread count, a warm-up round, then ``IMBFAST_BENCH_ROUNDS`` rounds
(default 3); the kept rows are checked equal. Default size 20k rows (10k
for InstanceHardnessThreshold, whose time is scikit-learn's forest: imbfast
runs the same cross-validation, it fixes the class columns);
``IMBFAST_BENCH_LARGE=1`` adds 100k rows for NearMiss versions 1 and 3
(imbalanced-learn's version 2 holds n_majority x n_minority arrays: 14 GB
there). ``benchmarks/nearmiss_report.py`` prints the same comparison with
peak memory.
"""

from __future__ import annotations

import functools
import os

import imblearn.under_sampling as imb_under
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

import imbfast.under_sampling as fast_under

LARGE = os.environ.get("IMBFAST_BENCH_LARGE") == "1"
ROUNDS = int(os.environ.get("IMBFAST_BENCH_ROUNDS", "3"))
THREADS = 2

CASES = [("NearMiss", {"version": v}, 20_000) for v in (1, 2, 3)]
if LARGE:
    CASES += [("NearMiss", {"version": v}, 100_000) for v in (1, 3)]
CASES += [
    (
        "InstanceHardnessThreshold",
        {"estimator": RandomForestClassifier(n_estimators=10), "random_state": 0},
        10_000,
    ),
]


@functools.cache
def _data(n: int) -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=n,
        n_features=20,
        n_informative=10,
        n_redundant=2,
        weights=[0.9, 0.1],
        random_state=0,
    )


@functools.cache
def _reference(name: str, key: str, n: int) -> np.ndarray:
    params = dict(
        next(p for c, p, m in CASES if c == name and str(p) == key and m == n)
    )
    sampler = getattr(imb_under, name)(n_jobs=THREADS, **params)
    sampler.fit_resample(*_data(n))
    return sampler.sample_indices_


@pytest.mark.parametrize("library", ["imblearn", "imbfast"])
@pytest.mark.parametrize(
    ("name", "params", "n"),
    CASES,
    ids=[f"{c}-{p.get('version', '')}-{n}" for c, p, n in CASES],
)
def test_prototype_selection(benchmark, name, params, n, library):
    X, y = _data(n)
    module = fast_under if library == "imbfast" else imb_under
    make = functools.partial(getattr(module, name), n_jobs=THREADS, **params)
    make().fit_resample(X[:2000], y[:2000])  # warm-up
    benchmark.group = f"{name}-{params.get('version', '')}-{n}x20"
    benchmark.extra_info["library"] = library
    sampler = make()
    benchmark.pedantic(sampler.fit_resample, args=(X, y), rounds=ROUNDS, iterations=1)
    np.testing.assert_array_equal(
        sampler.sample_indices_, _reference(name, str(params), n)
    )
