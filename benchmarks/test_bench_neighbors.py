"""All-pairs k-NN: scikit-learn brute force and KD-tree, FAISS Flat, imbfast.

``test_clustered`` adds the pruned exact search on a Gaussian mixture.

Every engine of one shape runs in the same benchmark group. Default sizes
are 10k rows; ``IMBFAST_BENCH_LARGE=1`` adds 100k rows (minutes per case).
Run with ``pytest benchmarks/test_bench_neighbors.py --benchmark-only``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors as SkNearestNeighbors

from imbfast.neighbors import kneighbors

K = 5
N_JOBS = 2
SIZES = [10_000] + ([100_000] if os.environ.get("IMBFAST_BENCH_LARGE") else [])
DIMS = [8, 20, 100]


def _data(n: int, d: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)


def _sklearn(algorithm: str):
    def run(X):
        nn = SkNearestNeighbors(n_neighbors=K + 1, algorithm=algorithm, n_jobs=N_JOBS)
        return nn.fit(X).kneighbors(X, return_distance=False)

    return run


def _faiss_flat(X):
    import faiss

    faiss.omp_set_num_threads(N_JOBS)
    index = faiss.IndexFlatL2(X.shape[1])
    index.add(X)
    return index.search(X, K + 1)[1]


def _imbfast(algorithm: str):
    def run(X):
        return kneighbors(X, K, n_jobs=N_JOBS, algorithm=algorithm)

    return run


ENGINES = {
    "sklearn_brute": _sklearn("brute"),
    "sklearn_kd_tree": _sklearn("kd_tree"),
    "faiss_flat": _faiss_flat,
    "imbfast_auto": _imbfast("auto"),
    "imbfast_brute": _imbfast("brute"),
    "imbfast_tree": _imbfast("tree"),
    "imbfast_pruned": _imbfast("pruned"),
}


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("n", SIZES)
def test_all_pairs(benchmark, n, d, engine):
    if "tree" in engine and d > 20:
        pytest.skip("KD-trees are not meant for d > 20")
    if engine == "imbfast_pruned":
        pytest.skip("no clusters to prune in Gaussian rows: see test_clustered")
    X = _data(n, d)
    benchmark.group = f"knn all-pairs n={n} d={d} k={K}"
    rounds = 3 if n <= 10_000 else 1
    result = benchmark.pedantic(ENGINES[engine], args=(X,), rounds=rounds, iterations=1)
    assert result.shape[0] == n


def _blobs(n: int, d: int) -> np.ndarray:
    """A Gaussian mixture: 1000 centres (spread 4), unit noise, float32."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((1000, d)) * 4
    return (centres[rng.integers(0, 1000, n)] + rng.standard_normal((n, d))).astype(
        np.float32
    )


CLUSTERED = ["sklearn_brute", "faiss_flat", "imbfast_brute", "imbfast_pruned"]


@pytest.mark.parametrize("engine", CLUSTERED)
@pytest.mark.parametrize("n", SIZES)
def test_clustered(benchmark, n, engine):
    """Clustered rows, where the pruned search skips most distances."""
    X = _blobs(n, 20)
    benchmark.group = f"knn all-pairs clustered n={n} d=20 k={K}"
    rounds = 3 if n <= 10_000 else 1
    result = benchmark.pedantic(ENGINES[engine], args=(X,), rounds=rounds, iterations=1)
    assert result.shape[0] == n
