"""Exact k-nearest-neighbour search.

Engines (all exact unless ``algorithm="approx"``):

- ``"brute"``: the C++ fused kernel. A float32 SIMD pass over centred data
  keeps a few more candidates than needed per query, without ever storing a
  distance matrix (querying the fitted data computes each pair once); the
  candidates are re-ranked with exact distances accumulated in double, ties
  broken by the lower sample index, the query point itself excluded by index,
  and the answer proven complete with an error bound of the float32 pass (a
  query whose proof fails is answered by an exact scan).
- ``"tree"``: a C++ KD-tree searched in double, for low-dimensional data.
- ``"auto"`` picks between them from n, d and k (see :func:`choose_algorithm`).

The neighbour lists equal an exact brute-force float64 search.

Differences from ``sklearn.neighbors.NearestNeighbors``: ties are always
broken by the lower index, and a sample is never its own neighbour when
querying the fitted data (``X=None``) even when it has exact duplicates.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestNeighbors as _SkNearestNeighbors
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from imbfast import _core
from imbfast.base import resolve_n_jobs

# Below this many distance evaluations the plain exact scan needs no setup.
_BRUTE_MAX_PAIRS = 200_000
# Extra candidates kept by the float32 pass beyond k.
_EXTRA_CANDIDATES = 8
# KD-tree versus fused brute force, measured on Gaussian data at 50k rows,
# all pairs, k=5, one thread (kdtree_knn / fused_knn time): the tree's cost
# grows about 1.8x per added dimension, the brute force's slowly with d and
# linearly with n. "auto" takes the tree when the modelled ratio is below 1.
_TREE_MAX_D = 16
_TREE_RATIO_AT_50K = 0.09 / 0.66  # d=2
_TREE_GROWTH_PER_DIM = 1.8

ALGORITHMS = ("auto", "brute", "tree")

# The plan of the most recent dense search (see last_plan()).
_LAST_PLAN: dict[str, Any] = {}


def last_plan() -> dict[str, Any]:
    """How the most recent dense search in this process was answered.

    Returns
    -------
    plan : dict
        ``algorithm`` (the engine used: ``"scan"``, ``"brute"`` or
        ``"tree"``), ``requested``, ``n``, ``n_queries``, ``d``, ``k``,
        ``dtype`` and, for the fused brute force, ``n_fallback`` (queries
        answered by the exact scan because the float32 proof failed),
        ``n_candidates`` and ``symmetric``.
    """
    return dict(_LAST_PLAN)


def choose_algorithm(n: int, n_queries: int, d: int, k: int) -> str:
    """The exact engine ``algorithm="auto"`` uses for this problem size.

    Parameters
    ----------
    n : int
        Rows searched.
    n_queries : int
        Query rows.
    d : int
        Features.
    k : int
        Neighbours per query.

    Returns
    -------
    algorithm : str
        ``"scan"`` (tiny problems), ``"tree"`` or ``"brute"``.
    """
    if n * n_queries <= _BRUTE_MAX_PAIRS:
        return "scan"
    if d <= _TREE_MAX_D:
        brute_per_dim = (0.6 + 0.03 * d) / 0.66
        ratio = (
            _TREE_RATIO_AT_50K
            * _TREE_GROWTH_PER_DIM ** (d - 2)
            / brute_per_dim
            * (50_000 / n)
        )
        # The all-pairs brute force computes each pair once: half the work.
        if n_queries != n:
            ratio /= 2
        if ratio < 1.0:
            return "tree"
    return "brute"


def _as_float(X: np.ndarray) -> np.ndarray:
    """C-contiguous float32/float64 view of X (float64 for other dtypes)."""
    if X.dtype not in (np.float32, np.float64):
        return np.ascontiguousarray(X, dtype=np.float64)
    return np.ascontiguousarray(X)


def _check_finite(A: np.ndarray, name: str) -> None:
    if A.size and not (np.isfinite(A.min()) and np.isfinite(A.max())):
        raise ValueError(f"Input {name} contains NaN or infinity.")


def _exact_dense(
    X: np.ndarray, Q: np.ndarray | None, k: int, n_threads: int, algorithm: str
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN of Q (or of X itself, self excluded) among the rows of X."""
    n, d = X.shape
    nq = n if Q is None else Q.shape[0]
    plan: dict[str, Any] = {
        "requested": algorithm,
        "n": n,
        "n_queries": nq,
        "d": d,
        "k": k,
        "dtype": str(X.dtype),
    }
    engine = choose_algorithm(n, nq, d, k) if algorithm == "auto" else algorithm
    if engine == "scan":
        idx, dist = _core.brute_knn(X, Q, k, n_threads)
    elif engine == "tree":
        idx, dist = _core.kdtree_knn(X, Q, k, n_threads)
    else:
        idx, dist, info = _core.fused_knn(X, Q, k, _EXTRA_CANDIDATES, n_threads)
        plan.update(info)
    plan["algorithm"] = engine
    _LAST_PLAN.clear()
    _LAST_PLAN.update(plan)
    return idx, dist


def _exact_sparse(
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


def squared_kneighbors(
    X: Any,
    n_neighbors: int,
    *,
    query: Any = None,
    n_threads: int = 1,
    algorithm: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN with squared distances: the engine behind :func:`kneighbors`.

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
    algorithm : {"auto", "brute", "tree"}, default="auto"
        The exact engine; every engine returns the same neighbours.

    Returns
    -------
    indices : ndarray of shape (n_queries, n_neighbors), int64
        Nearest first; equal distances ordered by index.
    sq_distances : ndarray of shape (n_queries, n_neighbors), float64
        Exact squared Euclidean distances, computed in double.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}.")
    k = int(n_neighbors)
    if k < 1:
        raise ValueError(f"n_neighbors must be >= 1, got {n_neighbors}.")
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
        return _exact_sparse(Xs, Qs, k, n_threads)
    Xd = _as_float(np.asarray(X))
    if Xd.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got shape {Xd.shape}.")
    Qd = None if query is None else np.ascontiguousarray(query, dtype=Xd.dtype)
    if Qd is not None and (Qd.ndim != 2 or Qd.shape[1] != Xd.shape[1]):
        raise ValueError(
            f"query must have shape (n_queries, {Xd.shape[1]}), got {Qd.shape}."
        )
    _check_finite(Xd, "X")
    if Qd is not None:
        _check_finite(Qd, "query")
    return _exact_dense(Xd, Qd, k, n_threads, algorithm)


def kneighbors(
    X: Any,
    n_neighbors: int,
    *,
    query: Any = None,
    n_jobs: int | None = None,
    return_distance: bool = False,
    algorithm: str = "auto",
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours among the rows of X.

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
        Threads, with joblib's meaning.
    return_distance : bool, default=False
        Also return the Euclidean distances.
    algorithm : {"auto", "brute", "tree"}, default="auto"
        The exact engine (see the module docstring); every engine returns
        the same neighbours. Sparse input always uses scikit-learn's brute
        force.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), float64
        Only when ``return_distance`` is True.
    indices : ndarray of shape (n_queries, n_neighbors), int64
        Nearest first; equal distances ordered by index.
    """
    ind, dist = squared_kneighbors(
        X,
        n_neighbors,
        query=query,
        n_threads=resolve_n_jobs(n_jobs),
        algorithm=algorithm,
    )
    if return_distance:
        return np.sqrt(dist), ind
    return ind


class NearestNeighbors(BaseEstimator):
    """Exact nearest neighbours with scikit-learn's ``kneighbors`` interface.

    A drop-in for ``sklearn.neighbors.NearestNeighbors(algorithm="brute")``
    where the samplers need one: FAISS finds candidates, the C++ core makes
    them exact. Ties are broken by the lower index; with ``X=None`` a sample
    is never its own neighbour, duplicates included.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours returned by :meth:`kneighbors` by default.
    n_jobs : int, default=None
        Threads, with joblib's meaning (``-1`` uses all CPUs).
    algorithm : {"auto", "brute", "tree"}, default="auto"
        The exact engine; all return the same neighbours (see
        :func:`kneighbors`).

    Attributes
    ----------
    n_samples_fit_ : int
        Number of rows searched.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    algorithm_ : str
        The engine ``algorithm`` resolves to for an all-pairs search of the
        fitted data with ``n_neighbors`` (dense input).
    last_plan_ : dict
        How the latest :meth:`kneighbors` call was answered (see
        :func:`last_plan`); set by :meth:`kneighbors` on dense input.
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "algorithm": [StrOptions(set(ALGORITHMS))],
    }

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        n_jobs: int | None = None,
        algorithm: str = "auto",
    ) -> None:
        self.n_neighbors = n_neighbors
        self.n_jobs = n_jobs
        self.algorithm = algorithm

    def fit(self, X: Any, y: Any = None) -> NearestNeighbors:
        """Store the points to search.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The points searched.
        y : None
            Ignored.

        Returns
        -------
        self : NearestNeighbors
            The fitted searcher.
        """
        self._validate_params()
        from sklearn.utils.validation import validate_data

        X = validate_data(self, X, accept_sparse="csr", reset=True)
        self._fit_X = X
        self.n_samples_fit_ = X.shape[0]
        n, d = X.shape
        self.algorithm_ = (
            choose_algorithm(n, n, d, self.n_neighbors)
            if self.algorithm == "auto"
            else self.algorithm
        )
        return self

    def kneighbors(
        self,
        X: Any = None,
        n_neighbors: int | None = None,
        return_distance: bool = True,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Find the nearest neighbours of each query point.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The query points; ``None`` queries the fitted points, each
            excluding itself.
        n_neighbors : int, default=None
            Neighbours per query; defaults to the constructor's value.
        return_distance : bool, default=True
            Whether to return the distances too.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries, n_neighbors)
            Euclidean distances, only when ``return_distance`` is True.
        neigh_ind : ndarray of shape (n_queries, n_neighbors)
            Indices of the neighbours in the fitted data.
        """
        check_is_fitted(self)
        from sklearn.utils.validation import validate_data

        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if X is not None:
            X = validate_data(self, X, accept_sparse="csr", reset=False)
        result = kneighbors(
            self._fit_X,
            k,
            query=X,
            n_jobs=self.n_jobs,
            return_distance=return_distance,
            algorithm=self.algorithm,
        )
        if not sparse.issparse(self._fit_X):
            self.last_plan_ = last_plan()
        return result

    def kneighbors_graph(
        self, X: Any = None, n_neighbors: int | None = None, mode: str = "connectivity"
    ) -> sparse.csr_matrix:
        """The k-neighbours graph as a CSR matrix.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The query points; ``None`` queries the fitted points.
        n_neighbors : int, default=None
            Neighbours per query; defaults to the constructor's value.
        mode : {"connectivity", "distance"}, default="connectivity"
            Ones, or the Euclidean distances, as the matrix entries.

        Returns
        -------
        graph : csr_matrix of shape (n_queries, n_samples_fit_)
            Row i holds the neighbours of query i.
        """
        if mode not in ("connectivity", "distance"):
            raise ValueError(
                f'Unsupported mode, must be one of "connectivity", or "distance" '
                f"but got {mode!r} instead"
            )
        dist, ind = self.kneighbors(X, n_neighbors, return_distance=True)
        n_queries, k = ind.shape
        data = np.ones(ind.size) if mode == "connectivity" else dist.ravel()
        indptr = np.arange(0, n_queries * k + 1, k)
        return sparse.csr_matrix(
            (data, ind.ravel(), indptr), shape=(n_queries, self.n_samples_fit_)
        )


def neighbors_excluding_self(nn: Any, X: Any) -> np.ndarray:
    """Neighbour table of X's rows among themselves from any k-NN object.

    ``nn`` follows imbalanced-learn's duck typing: it is fitted on X and its
    ``n_neighbors`` counts the point itself. Instead of dropping column 0, the
    query row is removed by index; where exact duplicates pushed it out of
    its own list, the last column is dropped.

    Returns
    -------
    ind : ndarray of shape (n_samples, nn.n_neighbors - 1), int64
    """
    if isinstance(nn, NearestNeighbors):
        nn.fit(X)
        return nn.kneighbors(None, nn.n_neighbors - 1, return_distance=False)
    nn.fit(X)
    ind = np.asarray(nn.kneighbors(X, return_distance=False), dtype=np.int64)
    n, width = ind.shape
    keep = ind != np.arange(n)[:, None]
    missing = keep.all(axis=1)
    keep[missing, -1] = False
    return np.ascontiguousarray(ind[keep].reshape(n, width - 1))
