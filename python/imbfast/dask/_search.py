"""k-NN of in-memory queries against row-sharded data, exact or approximate.

Every chunk of the data answers the queries locally, returning global row
indices; the partial answers are merged pairwise by (squared distance,
index). Only the queries travel to the workers and only (n_queries, k)
answers come back, whatever the size of the data.

- Exact (``neighbors="exact"``): each chunk runs imbfast's exact engine, so
  the merged lists equal an exact search of the whole data.
- Approximate (``neighbors="approx"``): each chunk builds the in-memory
  approximate engine (``algorithm="approx"`` of
  :func:`imbfast.neighbors.squared_kneighbors`, calibrated to
  ``approx_recall`` on that chunk) over its own rows and answers the queries
  against it; the merge is the same. Every returned distance is exact, a
  list can only miss neighbours. The recall of the merged lists is measured
  directly: a seeded sample of up to 1000 queries is answered by the exact
  sharded search and the fraction of its neighbours found is recorded (see
  :class:`imbfast.neighbors.RecallTracker`; the samplers report it as
  ``neighbors_recall_``). Cost: every chunk builds an index (k-means over a
  sample of its rows) and answers every query, so the work per query grows
  with the number of chunks (about ``nprobe * sqrt(chunk rows)`` distances
  per chunk); the measurement adds an exact search of 1000 queries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_NO_ROW = np.iinfo(np.int64).max
#: Queries of the recall measurement of an approximate sharded search.
RECALL_SAMPLE = 1000
_RECALL_SEED = 0


def _local(
    block: np.ndarray,
    offset: int,
    queries: np.ndarray,
    query_rows: np.ndarray | None,
    k: int,
    approx: tuple[float, int | None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """k nearest rows of one chunk for every query, as (sq. distances, global rows).

    ``approx`` is ``None`` for the exact engine, else ``(approx_recall,
    nprobe)`` for the approximate one.
    """
    from imbfast.neighbors import squared_kneighbors, untracked

    n_q = queries.shape[0]
    k_ask = min(block.shape[0], k + (0 if query_rows is None else 1))
    if k_ask == 0 or n_q == 0:
        return np.full((n_q, 0), np.inf), np.full((n_q, 0), _NO_ROW, dtype=np.int64)
    block = np.ascontiguousarray(block, dtype=queries.dtype)
    if approx is None:
        ind, dist = squared_kneighbors(block, k_ask, query=queries, n_threads=1)
    else:
        with untracked():  # the merged answer's recall is measured as a whole
            ind, dist = squared_kneighbors(
                block,
                k_ask,
                query=queries,
                n_threads=1,
                algorithm="approx",
                approx_recall=approx[0],
                nprobe=approx[1],
            )
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


def _search(
    X: Any,
    queries: np.ndarray,
    k: int,
    query_rows: np.ndarray | None,
    approx: tuple[float, int | None] | None,
) -> tuple[np.ndarray, np.ndarray]:
    import dask

    from imbfast.dask._collections import as_graph_value

    q_ref = as_graph_value(queries)
    r_ref = None if query_rows is None else as_graph_value(np.asarray(query_rows))
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])])
    parts = [
        dask.delayed(_local, pure=True)(block, int(offsets[i]), q_ref, r_ref, k, approx)
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


def recall_sample(n_queries: int) -> np.ndarray:
    """The queries (sorted positions) on which a sharded search's recall is measured.

    A seeded draw of ``min(n_queries, RECALL_SAMPLE)`` positions, the same
    for the same number of queries.
    """
    m = min(n_queries, RECALL_SAMPLE)
    rng = np.random.default_rng(_RECALL_SEED)
    return np.sort(rng.choice(n_queries, m, replace=False))


def measure_recall(
    X: Any,
    queries: np.ndarray,
    found: np.ndarray,
    *,
    query_rows: np.ndarray | None = None,
) -> float:
    """Fraction of the exact neighbours present in ``found``, averaged over queries.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        The data searched.
    queries : ndarray of shape (n_queries, n_features)
        The query points (typically the :func:`recall_sample` of a search).
    found : ndarray of shape (n_queries, k)
        Their neighbour lists to judge (global rows).
    query_rows : ndarray of shape (n_queries,), default=None
        Global row of each query in X, excluded from its own answer.

    Returns
    -------
    recall : float
        For each query, the fraction of its exact ``k`` neighbours (exact
        sharded search, ties by the lower index) present in its list,
        averaged; 1.0 without queries.
    """
    from imbfast.neighbors import per_query_recall

    n_q, k = found.shape
    if n_q == 0 or k == 0:
        return 1.0
    truth, _ = sharded_kneighbors(X, queries, k, query_rows=query_rows)
    return float(per_query_recall(found, truth).mean())


def chunks_indexed(X: Any, n_queries: int) -> bool:
    """Whether some chunk of X is large enough for the approximate engine's index."""
    from imbfast.neighbors import index_worthwhile

    return index_worthwhile(max(X.chunks[0], default=0), n_queries)


def search_settings(nn: Any) -> dict[str, Any]:
    """Arguments of :func:`sharded_kneighbors` from an imbfast NearestNeighbors."""
    if nn.algorithm != "approx":
        return {"neighbors": "exact"}
    return {
        "neighbors": "approx",
        "approx_recall": nn.approx_recall,
        "nprobe": nn.nprobe,
    }


def sharded_kneighbors(
    X: Any,
    queries: np.ndarray,
    k: int,
    *,
    query_rows: np.ndarray | None = None,
    neighbors: str = "exact",
    approx_recall: float = 0.99,
    nprobe: int | None = None,
    measure: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """k nearest rows of a row-chunked dask array for in-memory queries.

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
    neighbors : {"exact", "approx"}, default="exact"
        "exact": the lists equal an exact search of all of X. "approx": each
        chunk answers with the approximate engine (see the module
        docstring).
    approx_recall : float, default=0.99
        With ``neighbors="approx"``: the recall each chunk's engine is
        calibrated to, in (0, 1].
    nprobe : int, default=None
        With ``neighbors="approx"``: cells each chunk's engine probes instead
        of calibrating.
    measure : bool, default=True
        With ``neighbors="approx"``: measure the recall of the merged lists
        (:func:`measure_recall`) and record it for the active
        :class:`imbfast.neighbors.RecallTracker`.

    Returns
    -------
    indices : ndarray of shape (n_queries, k), int64
        Global rows, nearest first, equal distances by lower index.
    sq_distances : ndarray of shape (n_queries, k)
        Squared Euclidean distances (exact, also in approximate mode).
    """
    from imbfast.neighbors import NEIGHBORS_MODES, check_approx_knobs, record_recall

    if neighbors not in NEIGHBORS_MODES:
        raise ValueError(
            f"neighbors must be one of {NEIGHBORS_MODES}, got {neighbors!r}."
        )
    check_approx_knobs(approx_recall, nprobe)
    available = X.shape[0] - (0 if query_rows is None else 1)
    if k > available:
        raise ValueError(
            f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
            f"n_samples_fit = {available}, n_samples = {queries.shape[0]}"
        )
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    queries = np.ascontiguousarray(queries, dtype=dtype)
    if neighbors == "exact":
        return _search(X, queries, k, query_rows, None)
    approx = (float(approx_recall), None if nprobe is None else int(nprobe))
    rows, dist = _search(X, queries, k, query_rows, approx)
    if measure:
        n_q = queries.shape[0]
        pick = recall_sample(n_q)
        recall = measure_recall(
            X,
            queries[pick],
            rows[pick],
            query_rows=None if query_rows is None else np.asarray(query_rows)[pick],
        )
        record_recall(recall, n_q, chunks_indexed(X, n_q))
    return rows, dist
