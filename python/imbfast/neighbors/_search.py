"""The search functions: validate, then hand to the sparse, exact or
approximate path."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from imbfast.base import resolve_n_jobs
from imbfast.neighbors._approx import answered_exactly, approx_dense, check_approx_knobs
from imbfast.neighbors._exact import as_float, check_finite, exact_dense
from imbfast.neighbors._plan import ALGORITHMS, APPROX_ENGINES, last_plan, set_plan
from imbfast.neighbors._sparse import exact_sparse


def squared_kneighbors(
    X: Any,
    n_neighbors: int,
    *,
    query: Any = None,
    n_threads: int = 1,
    algorithm: str = "auto",
    approx_recall: float = 0.99,
    nprobe: int | None = None,
    approx_engine: str = "auto",
    return_plan: bool = False,
    keep_smallest_sums: int | None = None,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """k-NN with squared distances: the engine behind :func:`kneighbors`.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The points searched.
    n_neighbors : int
        Number of neighbours per query.
    query : {ndarray, sparse matrix} of shape (n_queries, n_features), default=None
        The query points; ``None`` queries the rows of X, each excluding itself.
    n_threads : int, default=1
        Threads (already resolved, see :func:`imbfast.base.resolve_n_jobs`).
    algorithm : {"auto", "scan", "brute", "tree", "pruned", "approx"}, default="auto"
        The engine; the exact ones return the same neighbours, ``"approx"``
        may miss some (see the :mod:`imbfast.neighbors` docstring).
    approx_recall : float, default=0.99
        With ``algorithm="approx"``: the recall the calibration aims for,
        in (0, 1].
    nprobe : int, default=None
        With ``algorithm="approx"``: inverted-file cells visited per query
        (>= 1, capped at ``nprobe_max`` of :func:`last_plan`); ``None``
        calibrates it from ``approx_recall``.
    approx_engine : {"auto", "cells", "faiss-ivf"}, default="auto"
        With ``algorithm="approx"``: how candidates are found (see the
        :mod:`imbfast.neighbors` docstring). ``"auto"`` answers exactly with
        the pruned search when that costs no more than about 16 probed
        cells, and uses ``"cells"`` otherwise.
    return_plan : bool, default=False
        Also return the plan of this search.
    keep_smallest_sums : int, default=None
        For a caller that keeps only this many queries, those whose
        ``n_neighbors`` distances (not squared) sum smallest (NearMiss-1):
        the int8 pass of the exact brute force may then leave unanswered
        (indices -1, distances inf) queries whose sum it proves larger than
        that many others'; the plan counts them in ``n_unanswered``. Other
        engines answer every query. ``None``: every query answered.

    Returns
    -------
    indices : ndarray of shape (n_queries, n_neighbors), int64
        Nearest first; equal distances ordered by index.
    sq_distances : ndarray of shape (n_queries, n_neighbors), float64
        Exact squared Euclidean distances, computed in double.
    plan : dict
        Only when ``return_plan`` is True: how this search was answered.
        On dense input the dict :func:`last_plan` returns after it (see
        there for its keys); on sparse input ``algorithm="sparse"``,
        ``requested``, ``n``, ``n_queries``, ``d``, ``k`` and ``dtype`` (and
        the recall keys with ``algorithm="approx"``), while
        :func:`last_plan` keeps describing the latest dense search.
    """
    ind, dist, plan = _search(
        X,
        n_neighbors,
        query,
        n_threads,
        algorithm,
        approx_recall,
        nprobe,
        approx_engine,
        keep_smallest_sums,
    )
    if return_plan:
        return ind, dist, plan
    return ind, dist


def _search(
    X: Any,
    n_neighbors: int,
    query: Any,
    n_threads: int,
    algorithm: str,
    approx_recall: float,
    nprobe: int | None,
    approx_engine: str,
    keep_smallest_sums: int | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """:func:`squared_kneighbors`, the plan always returned."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}.")
    check_approx_knobs(approx_recall, nprobe)
    if approx_engine not in ("auto", *APPROX_ENGINES):
        raise ValueError(
            "approx_engine must be one of "
            f"{('auto', *APPROX_ENGINES)}, got {approx_engine!r}."
        )
    k = int(n_neighbors)
    if k < 1:
        raise ValueError(f"n_neighbors must be >= 1, got {n_neighbors}.")
    if not sparse.issparse(X):
        X = np.asarray(X)
    if query is not None and not sparse.issparse(query):
        query = np.asarray(query)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got shape {X.shape}.")
    n = X.shape[0]
    available = n if query is not None else n - 1
    if k > available:
        if query is None:
            raise ValueError(
                f"Expected n_neighbors < n_samples_fit, but n_neighbors = {k}, "
                f"n_samples_fit = {n}, n_samples = {n}"
            )
        raise ValueError(
            f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
            f"n_samples_fit = {n}, n_samples = {query.shape[0]}"
        )
    if sparse.issparse(X) or (query is not None and sparse.issparse(query)):
        Xs = sparse.csr_matrix(X)
        Qs = None if query is None else sparse.csr_matrix(query)
        ind, dist = exact_sparse(Xs, Qs, k, n_threads)
        plan: dict[str, Any] = {
            "requested": algorithm,
            "algorithm": "sparse",
            "n": n,
            "n_queries": ind.shape[0],
            "d": Xs.shape[1],
            "k": k,
            "dtype": str(Xs.dtype),
        }
        if algorithm == "approx":
            set_plan()
            answered_exactly(ind.shape[0], float(approx_recall), algorithm="sparse")
            plan.update(last_plan())
        return ind, dist, plan
    Xd = as_float(X)
    if query is not None and Xd.dtype == np.float32 and query.dtype != np.float32:
        # A float64 query is not rounded to float32: the search runs in
        # float64 (as scikit-learn does), so the nearest row stays nearest.
        Xd = Xd.astype(np.float64)
    Qd = None if query is None else np.ascontiguousarray(query, dtype=Xd.dtype)
    if Qd is not None and (Qd.ndim != 2 or Qd.shape[1] != Xd.shape[1]):
        raise ValueError(
            f"query must have shape (n_queries, {Xd.shape[1]}), got {Qd.shape}."
        )
    check_finite(Xd, "X")
    if Qd is not None:
        check_finite(Qd, "query")
    if algorithm == "approx":
        ind, dist = approx_dense(
            Xd, Qd, k, n_threads, float(approx_recall), nprobe, approx_engine
        )
    else:
        ind, dist = exact_dense(Xd, Qd, k, n_threads, algorithm, keep_smallest_sums)
    # The engines record their plan in this context; it is this search's.
    return ind, dist, last_plan()


def kneighbors(
    X: Any,
    n_neighbors: int,
    *,
    query: Any = None,
    n_jobs: int | None = None,
    return_distance: bool = False,
    algorithm: str = "auto",
    approx_recall: float = 0.99,
    nprobe: int | None = None,
    return_plan: bool = False,
    keep_smallest_sums: int | None = None,
) -> np.ndarray | tuple[Any, ...]:
    """k nearest neighbours among the rows of X (exact unless asked otherwise).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The points searched.
    n_neighbors : int
        Number of neighbours per query.
    query : {ndarray, sparse matrix} of shape (n_queries, n_features), default=None
        The query points. ``None`` queries the rows of X themselves, and a
        row is then never its own neighbour (excluded by index).
    n_jobs : int, default=None
        Threads, ``None`` (default) uses every core
        the process may use, ``1`` one thread (see
        ``imbfast.base.resolve_n_jobs``).
    return_distance : bool, default=False
        Also return the Euclidean distances.
    algorithm : {"auto", "scan", "brute", "tree", "pruned", "approx"}, default="auto"
        The engine (see the :mod:`imbfast.neighbors` docstring); the exact
        ones return the same neighbours. ``"approx"`` searches an inverted
        file of k-means cells and re-ranks its candidates exactly; its
        estimated recall is in :func:`last_plan`. Sparse input always uses
        scikit-learn's exact brute force.
    approx_recall : float, default=0.99
        With ``algorithm="approx"``: the recall the calibration aims for.
    nprobe : int, default=None
        With ``algorithm="approx"``: cells visited per query, instead of
        calibrating it.
    return_plan : bool, default=False
        Also return the plan of this search (see :func:`squared_kneighbors`).
    keep_smallest_sums : int, default=None
        For a caller that keeps only this many queries, those whose
        distances sum smallest: others may be left unanswered (see
        :func:`squared_kneighbors`).

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), float64
        Only when ``return_distance`` is True.
    indices : ndarray of shape (n_queries, n_neighbors), int64
        Nearest first; equal distances ordered by index.
    plan : dict
        Only when ``return_plan`` is True: how this search was answered.
    """
    ind, dist, plan = squared_kneighbors(
        X,
        n_neighbors,
        query=query,
        n_threads=resolve_n_jobs(n_jobs),
        algorithm=algorithm,
        approx_recall=approx_recall,
        nprobe=nprobe,
        return_plan=True,
        keep_smallest_sums=keep_smallest_sums,
    )
    result: tuple[Any, ...] = (np.sqrt(dist), ind) if return_distance else (ind,)
    if return_plan:
        result += (plan,)
    return result if len(result) > 1 else ind
