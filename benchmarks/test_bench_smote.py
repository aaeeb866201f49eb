"""SMOTE end to end and its interpolation kernel, against imbalanced-learn.

Run: ``pytest benchmarks/test_bench_smote.py --benchmark-only``
(IMBFAST_BENCH_LARGE=1 adds 1M x 20). The interpolation group reports the
achieved output bandwidth against a NumPy copy of the same size.
"""

from __future__ import annotations

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE as ImbSMOTE
from sklearn.datasets import make_classification

from conftest import LARGE
from imbfast import _core
from imbfast.over_sampling import SMOTE

SIZES = [100_000] + ([1_000_000] if LARGE else [])


def _data(n: int, d: int = 20) -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=n,
        n_features=d,
        n_informative=10,
        weights=[0.9, 0.1],
        flip_y=0,
        random_state=0,
    )


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n // 1000}k")
def data(request):
    return _data(request.param)


@pytest.mark.parametrize("impl", ["imblearn", "imbfast"])
def test_smote(benchmark, data, impl):
    X, y = data
    benchmark.group = f"SMOTE {X.shape[0]:,}x{X.shape[1]} 9:1"
    sampler = (
        ImbSMOTE(random_state=0)
        if impl == "imblearn"
        else SMOTE(random_state=0, n_jobs=-1)
    )
    rounds = 1 if X.shape[0] >= 1_000_000 else 3
    X_res, _ = benchmark.pedantic(sampler.fit_resample, args=(X, y), rounds=rounds)
    assert X_res.shape[0] == 2 * np.bincount(y).max()


M_OUT = 2_000_000
D_OUT = 20


@pytest.fixture(scope="module")
def kernel_inputs():
    rng = np.random.RandomState(0)
    n_class, k = 100_000, 5
    X = rng.normal(size=(n_class, D_OUT))
    nns = rng.randint(0, n_class, size=(n_class, k)).astype(np.int64)
    samples = rng.randint(0, n_class * k, size=M_OUT).astype(np.int64)
    steps = rng.uniform(size=M_OUT)
    out = np.empty((M_OUT, D_OUT))
    return X, nns, samples, steps, out


def _record_bandwidth(benchmark, n_bytes: int) -> None:
    if benchmark.stats is not None:
        benchmark.extra_info["GB/s written"] = round(
            n_bytes / benchmark.stats.stats.min / 1e9, 2
        )


def test_interpolation_numpy_copy_floor(benchmark, kernel_inputs):
    """The floor: copying an array the size of the output."""
    *_, out = kernel_inputs
    src = np.ones_like(out)
    benchmark.group = "interpolation 2M x 20 float64"
    benchmark(np.copyto, out, src)
    _record_bandwidth(benchmark, out.nbytes)


def test_interpolation_numpy_expression(benchmark, kernel_inputs):
    """imbalanced-learn's NumPy expression for the same samples."""
    X, nns, samples, steps, out = kernel_inputs
    benchmark.group = "interpolation 2M x 20 float64"

    def numpy_interp():
        rows, cols = samples // nns.shape[1], samples % nns.shape[1]
        return X[rows] + steps[:, None] * (X[nns[rows, cols]] - X[rows])

    benchmark(numpy_interp)
    _record_bandwidth(benchmark, out.nbytes)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_interpolation_kernel(benchmark, kernel_inputs, n_threads):
    X, nns, samples, steps, out = kernel_inputs
    benchmark.group = "interpolation 2M x 20 float64"
    benchmark(_core.smote_interpolate, X, nns, samples, steps, out, n_threads)
    _record_bandwidth(benchmark, out.nbytes)
