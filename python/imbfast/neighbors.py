"""Exact k-nearest-neighbour search: FAISS candidates, exact C++ refinement.

FAISS (``IndexFlatL2``) proposes a few more candidates than needed in float32;
the C++ core re-ranks them with exact distances accumulated in double, breaks
ties by the lower sample index, excludes the query point itself by index, and
proves the answer complete with an error bound of the float32 search (a query
whose proof fails is answered by an exact scan). The neighbour lists equal an
exact brute-force float64 search.

Differences from ``sklearn.neighbors.NearestNeighbors``: ties are always
broken by the lower index, and a sample is never its own neighbour when
querying the fitted data (``X=None``) even when it has exact duplicates.
"""

from __future__ import annotations

import numbers
from contextlib import contextmanager
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestNeighbors as _SkNearestNeighbors
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from imbfast import _core
from imbfast.base import resolve_n_jobs

# Below this many distance evaluations the exact C++ scan beats setting up
# a FAISS index.
_BRUTE_MAX_PAIRS = 4_000_000
# Extra candidates asked of FAISS beyond k (and self).
_EXTRA_CANDIDATES = 8
# Unit roundoff of float32.
_U32 = 2.0**-24


@contextmanager
def _faiss_threads(n_threads: int):
    """Set FAISS's OpenMP thread count for the duration of one call."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n_threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _as_float(X: np.ndarray) -> np.ndarray:
    """C-contiguous float32/float64 view of X (float64 for other dtypes)."""
    if X.dtype not in (np.float32, np.float64):
        return np.ascontiguousarray(X, dtype=np.float64)
    return np.ascontiguousarray(X)


def _centered_float32(X: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    """The float32 copy FAISS searches, centred on ``mean`` when given."""
    if mean is None:
        return X if X.dtype == np.float32 else X.astype(np.float32)
    out = np.empty(X.shape, dtype=np.float32)
    np.subtract(X, mean, out=out, casting="same_kind")
    return out


def _needs_centering(X: np.ndarray) -> np.ndarray | None:
    """The mean to centre on, or None when centring buys no accuracy.

    The refinement bound grows with the squared norms of the float32 rows,
    so data far from the origin is centred; float32 data already near it is
    handed to FAISS as is.
    """
    mean = X.mean(axis=0, dtype=np.float64)
    if X.dtype == np.float32:
        spread = float(np.mean(np.var(X, axis=0, dtype=np.float64)))
        if float(mean @ mean) <= spread:
            return None
    return mean


def _sq_norms(Xf: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", Xf, Xf, dtype=np.float64)


def _exact_dense(
    X: np.ndarray, Q: np.ndarray | None, k: int, n_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN of Q (or of X itself, self excluded) among the rows of X."""
    n, d = X.shape
    nq = n if Q is None else Q.shape[0]
    if n * nq <= _BRUTE_MAX_PAIRS:
        return _core.brute_knn(X, Q, k, n_threads)

    import faiss

    mean = _needs_centering(X)
    Xf = _centered_float32(X, mean)
    Qf = Xf if Q is None else _centered_float32(Q, mean)
    x_norms = _sq_norms(Xf)
    q_norms = x_norms if Q is None else _sq_norms(Qf)
    # Error of a float32 squared distance: rounding of the inputs (4u) and
    # of the norm/inner-product evaluation (~2(d+2)u), in units of
    # |q|^2 + |p|^2; p is bounded by the largest row norm. Generous slack.
    bound = (2 * d + 16) * _U32 * (q_norms + float(x_norms.max())) * 1.01

    c = min(n, k + (1 if Q is None else 0) + max(_EXTRA_CANDIDATES, k))
    index = faiss.IndexFlatL2(d)
    with _faiss_threads(n_threads):
        index.add(Xf)
        cand_dist, cand = index.search(Qf, c)
    del index
    idx, dist, _ = _core.refine_knn(
        X,
        Q,
        cand,
        np.ascontiguousarray(cand_dist, dtype=np.float32),
        bound,
        k,
        n_threads,
    )
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
    nn = _SkNearestNeighbors(
        n_neighbors=k_ask, algorithm="brute", n_jobs=n_threads
    ).fit(X)
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
    X: Any, n_neighbors: int, *, query: Any = None, n_threads: int = 1
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

    Returns
    -------
    indices : ndarray of shape (n_queries, n_neighbors), int64
        Nearest first; equal distances ordered by index.
    sq_distances : ndarray of shape (n_queries, n_neighbors), float64
        Exact squared Euclidean distances.
    """
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
    Qd = None if query is None else np.ascontiguousarray(query, dtype=Xd.dtype)
    return _exact_dense(Xd, Qd, k, n_threads)


def kneighbors(
    X: Any,
    n_neighbors: int,
    *,
    query: Any = None,
    n_jobs: int | None = None,
    return_distance: bool = False,
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

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), float64
        Only when ``return_distance`` is True.
    indices : ndarray of shape (n_queries, n_neighbors), int64
        Nearest first; equal distances ordered by index.
    """
    ind, dist = squared_kneighbors(
        X, n_neighbors, query=query, n_threads=resolve_n_jobs(n_jobs)
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

    Attributes
    ----------
    n_samples_fit_ : int
        Number of rows searched.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(self, n_neighbors: int = 5, *, n_jobs: int | None = None) -> None:
        self.n_neighbors = n_neighbors
        self.n_jobs = n_jobs

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
        return kneighbors(
            self._fit_X, k, query=X, n_jobs=self.n_jobs, return_distance=return_distance
        )

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
