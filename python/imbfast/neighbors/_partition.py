"""The k-means partition shared by the pruned exact search and the "cells"
approximate engine, and the only module that imports FAISS.

Both engines cut the rows into ``nlist`` cells (about ``sqrt(n)``, at least
:attr:`~imbfast.neighbors.Tuning.cells_min_rows` rows each) whose centroids
FAISS k-means trains on a random sample of rows
(:func:`train_centroids`); the C++ core then assigns every row to its
nearest centroid and groups the rows by cell (``_core.nearest_centroids``,
``_core.cell_order``, and inside ``_core.pruned_knn``). The ``"faiss-ivf"``
engine's index is made here too (:func:`ivf_flat_index`), so that FAISS,
its OpenMP threads and their restoring live in one place
(:func:`faiss_threads`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from imbfast.neighbors._plan import tuning

# FAISS's OpenMP threads spin at their barriers; on a busy machine a team
# of threads can cost far more than it saves on a small training set (a
# k-means of 2,000 rows into 100 cells took 20 ms on one thread and up to
# 0.6 s on two on this 2-core machine under load). Training runs on one
# thread below this much work (rows x cells x d x iterations).
KMEANS_MIN_WORK_PER_THREAD = 1 << 28
# The seed FAISS k-means is given (the sample's comes from the caller).
KMEANS_SEED = 1234


def n_cells(n: int) -> int:
    """Cells of a partition of n rows: about ``sqrt(n)``, at least
    ``cells_min_rows`` rows each, at least one."""
    t = tuning()
    return max(1, min(int(t.cells_per_sqrt_n * math.sqrt(n)), n // t.cells_min_rows))


def power_of_two_scale(arrays: tuple[np.ndarray, ...]) -> float:
    """1.0, or the power of two bringing the largest absolute value of the
    arrays into [1, 2) (as near as a double allows, for subnormal data).

    Data whose largest value is within 2**±40 are used as they are: their
    squares stay far from float32's and double's limits.
    """
    top = max(
        (max(abs(float(A.max())), abs(float(A.min()))) for A in arrays if A.size),
        default=0.0,
    )
    if top == 0.0 or 2.0**-40 <= top <= 2.0**40:
        return 1.0
    # Subnormal data would need more than 2**1023: stop at 2**1000.
    return math.ldexp(1.0, min(-math.frexp(top)[1] + 1, 1000))


@contextlib.contextmanager
def faiss_threads(n_threads: int) -> Iterator[None]:
    """FAISS's OpenMP thread count set to n_threads inside, restored after."""
    import faiss

    saved = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(max(1, n_threads))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(saved)


def train_centroids(
    X: np.ndarray,
    nlist: int,
    rng: np.random.Generator,
    n_threads: int,
    scale: float = 1.0,
) -> np.ndarray:
    """float32 centroids of ``nlist`` cells of the rows of ``X * scale``.

    FAISS k-means (``approx_kmeans_iter`` iterations) on
    ``cells_train_per_cell * nlist`` rows drawn by ``rng`` (all of them when
    there are fewer); one cell is the mean of the rows.
    """
    import faiss

    t = tuning()
    n, d = X.shape
    if nlist <= 1:
        mean = X.mean(axis=0, dtype=np.float64) * scale
        return np.ascontiguousarray(mean[None, :], dtype=np.float32)
    n_train = min(n, t.cells_train_per_cell * nlist)
    rows = X[np.sort(rng.choice(n, n_train, replace=False))]
    if scale != 1.0:
        rows = rows * scale
    train = np.ascontiguousarray(rows, dtype=np.float32)
    work = n_train * nlist * d * t.approx_kmeans_iter
    threads = max(1, min(n_threads, work // KMEANS_MIN_WORK_PER_THREAD))
    with faiss_threads(threads):
        km = faiss.Kmeans(
            d,
            nlist,
            niter=t.approx_kmeans_iter,
            seed=KMEANS_SEED,
            min_points_per_centroid=1,
            max_points_per_centroid=t.cells_train_per_cell,
        )
        km.train(train)
    return np.ascontiguousarray(km.centroids, dtype=np.float32)


def ivf_flat_index(Xf: np.ndarray, rng: np.random.Generator, nlist: int) -> Any:
    """A FAISS ``IndexIVFFlat`` of the float32 rows Xf, trained on
    ``approx_train_per_cell * nlist`` rows drawn by ``rng`` (engine
    ``"faiss-ivf"``)."""
    import faiss

    t = tuning()
    n, d = Xf.shape
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, nlist)
    index.cp.niter = t.approx_kmeans_iter
    index.cp.seed = KMEANS_SEED
    n_train = min(n, t.approx_train_per_cell * nlist)
    train = np.sort(rng.choice(n, n_train, replace=False))
    index.train(np.ascontiguousarray(Xf[train]))
    index.add(Xf)
    return index
