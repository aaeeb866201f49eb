"""Exact search of sparse input, through scikit-learn's brute force."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.neighbors import NearestNeighbors as _SkNearestNeighbors


def exact_sparse(
    X: sparse.spmatrix, Q: sparse.spmatrix | None, k: int, n_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN for sparse input through scikit-learn's brute force.

    Enough extra candidates are asked for to drop self by index; the lists
    are then ordered by (distance, index).
    """
    n = X.shape[0]
    extra = 1 if Q is None else 0
    k_ask = min(n, k + extra)
    nn = _SkNearestNeighbors(n_neighbors=k_ask, algorithm="brute", n_jobs=n_threads)
    nn.fit(X)
    dist, ind = nn.kneighbors(X if Q is None else Q)
    dist = dist.astype(np.float64) ** 2
    if Q is None:
        rows = np.arange(n)[:, None]
        keep = ind != rows
        # Self missing from a row (exact duplicates): drop the farthest.
        missing = keep.all(axis=1)
        keep[missing, -1] = False
        ind = ind[keep].reshape(n, k_ask - 1)
        dist = dist[keep].reshape(n, k_ask - 1)
    order = np.lexsort((ind, dist), axis=1)
    ind = np.take_along_axis(ind, order, axis=1)[:, :k]
    dist = np.take_along_axis(dist, order, axis=1)[:, :k]
    return np.ascontiguousarray(ind, dtype=np.int64), np.ascontiguousarray(dist)
