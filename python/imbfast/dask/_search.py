"""Exact k-NN of in-memory queries against row-sharded data.

Every chunk of the data answers the queries locally (imbfast's exact engine,
returning global row indices); the partial answers are merged pairwise by
(squared distance, index). Only the queries travel to the workers and only
(n_queries, k) answers come back, whatever the size of the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_NO_ROW = np.iinfo(np.int64).max


def _local(
    block: np.ndarray,
    offset: int,
    queries: np.ndarray,
    query_rows: np.ndarray | None,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """k nearest rows of one chunk for every query, as (sq. distances, global rows)."""
    from imbfast.neighbors import squared_kneighbors

    n_q = queries.shape[0]
    k_ask = min(block.shape[0], k + (0 if query_rows is None else 1))
    if k_ask == 0 or n_q == 0:
        return np.full((n_q, 0), np.inf), np.full((n_q, 0), _NO_ROW, dtype=np.int64)
    block = np.ascontiguousarray(block, dtype=queries.dtype)
    ind, dist = squared_kneighbors(block, k_ask, query=queries, n_threads=1)
    rows = ind + offset
    if query_rows is not None:
        self_hit = rows == query_rows[:, None]
        dist = np.where(self_hit, np.inf, dist)
        rows = np.where(self_hit, _NO_ROW, rows)
    return _best(dist, rows, k)


def _best(dist: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((rows, dist), axis=1)[:, :k]
    return np.take_along_axis(dist, order, 1), np.take_along_axis(rows, order, 1)


def _merge(a: tuple, b: tuple, k: int) -> tuple[np.ndarray, np.ndarray]:
    return _best(np.hstack([a[0], b[0]]), np.hstack([a[1], b[1]]), k)


def sharded_kneighbors(
    X: Any,
    queries: np.ndarray,
    k: int,
    *,
    query_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest rows of a row-chunked dask array for in-memory queries.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        The data, chunked by rows.
    queries : ndarray of shape (n_queries, n_features)
        The query points.
    k : int
        Neighbours per query.
    query_rows : ndarray of shape (n_queries,), default=None
        Global row of each query in X, excluded from its own answer.

    Returns
    -------
    indices : ndarray of shape (n_queries, k), int64
        Global rows, nearest first, equal distances by lower index.
    sq_distances : ndarray of shape (n_queries, k)
        Squared Euclidean distances.
    """
    import dask

    from imbfast.dask._collections import as_graph_value

    available = X.shape[0] - (0 if query_rows is None else 1)
    if k > available:
        raise ValueError(
            f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
            f"n_samples_fit = {available}, n_samples = {queries.shape[0]}"
        )
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    queries = np.ascontiguousarray(queries, dtype=dtype)
    q_ref = as_graph_value(queries)
    r_ref = None if query_rows is None else as_graph_value(np.asarray(query_rows))
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])])
    parts = [
        dask.delayed(_local, pure=True)(block, int(offsets[i]), q_ref, r_ref, k)
        for i, block in enumerate(X.to_delayed().ravel())
    ]
    while len(parts) > 1:  # pairwise tree reduction
        parts = [
            dask.delayed(_merge, pure=True)(parts[i], parts[i + 1], k)
            if i + 1 < len(parts)
            else parts[i]
            for i in range(0, len(parts), 2)
        ]
    dist, rows = dask.compute(parts[0])[0]
    return rows, dist
