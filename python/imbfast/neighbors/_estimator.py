"""The estimator and the samplers' glue: ``NearestNeighbors``, the
``neighbors`` parameter of the samplers and their neighbour tables."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from imbfast.neighbors._exact import choose_algorithm
from imbfast.neighbors._plan import ALGORITHMS
from imbfast.neighbors._recall import RecallTracker
from imbfast.neighbors._search import kneighbors

# The samplers' ``neighbors`` parameter: the same name and values everywhere.
NEIGHBORS_MODES = ("exact", "approx")
NEIGHBORS_CONSTRAINT = [StrOptions(set(NEIGHBORS_MODES))]
# The samplers' k_neighbors / n_neighbors: a count, or an object with
# kneighbors (imbalanced-learn's duck typing).
NEIGHBORS_COUNT_CONSTRAINT = [
    Interval(numbers.Integral, 1, None, closed="left"),
    HasMethods(["kneighbors", "kneighbors_graph"]),
]


def algorithm_for(neighbors: str) -> str:
    """The search ``algorithm`` a sampler's ``neighbors`` value asks for."""
    return "approx" if neighbors == "approx" else "auto"


class NearestNeighbors(BaseEstimator):
    """Nearest neighbours with scikit-learn's ``kneighbors`` interface.

    A drop-in for ``sklearn.neighbors.NearestNeighbors(algorithm="brute")``
    where the samplers need one: FAISS finds candidates, the C++ core makes
    them exact. Ties are broken by the lower index; with ``X=None`` a sample
    is never its own neighbour, duplicates included.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours returned by :meth:`kneighbors` by default.
    n_jobs : int, default=None
        Threads, ``None`` (default) uses every core the process
        may use, ``1`` one thread, ``-1`` all CPUs (see ``resolve_n_jobs``).
    algorithm : {"auto", "scan", "brute", "tree", "pruned", "approx"}, default="auto"
        The engine; the exact ones all return the same neighbours,
        ``"approx"`` trades recall for speed (see :func:`kneighbors`).
    approx_recall : float, default=0.99
        With ``algorithm="approx"``: the recall the calibration aims for.
    nprobe : int, default=None
        With ``algorithm="approx"``: cells visited per query, instead of
        calibrating it.

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
        The plan of this searcher's latest :meth:`kneighbors` call (engine,
        sizes, work done and, with ``algorithm="approx"``, the recall; the
        keys of :func:`last_plan`, ``algorithm="sparse"`` for sparse input),
        returned by the search itself: searches run meanwhile elsewhere, in
        this thread or others, do not change it.
    recall_ : float
        Estimated recall of the latest :meth:`kneighbors` call with
        ``algorithm="approx"`` (1.0 when it was answered exactly); see
        :func:`last_plan` for how it is estimated.
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "algorithm": [StrOptions(set(ALGORITHMS))],
        "approx_recall": [Interval(numbers.Real, 0, 1, closed="right")],
        "nprobe": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        n_jobs: int | None = None,
        algorithm: str = "auto",
        approx_recall: float = 0.99,
        nprobe: int | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.n_jobs = n_jobs
        self.algorithm = algorithm
        self.approx_recall = approx_recall
        self.nprobe = nprobe

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
        *,
        keep_smallest_sums: int | None = None,
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
        keep_smallest_sums : int, default=None
            For a caller that keeps only this many queries, those whose
            distances sum smallest (NearMiss-1): queries the search proves
            are not among them may be left unanswered (indices -1,
            distances inf; see :func:`imbfast.neighbors.squared_kneighbors`).

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
        *result, plan = kneighbors(
            self._fit_X,
            k,
            query=X,
            n_jobs=self.n_jobs,
            return_distance=return_distance,
            algorithm=self.algorithm,
            approx_recall=self.approx_recall,
            nprobe=self.nprobe,
            return_plan=True,
            keep_smallest_sums=keep_smallest_sums,
        )
        self.last_plan_ = plan
        if self.algorithm == "approx":
            self.recall_ = plan["recall"]
        return tuple(result) if return_distance else result[0]

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


class NeighborsModeMixin:
    """The samplers' ``neighbors`` parameter: records the recall after a fit.

    Listed first among a sampler's bases. With ``neighbors="approx"``,
    ``fit_resample`` sets ``neighbors_recall_``: the estimated recall of the
    approximate searches it ran (see :class:`RecallTracker`); with
    ``"exact"`` the attribute is not set.
    """

    neighbors: str

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        """Resample the dataset.

        Parameters
        ----------
        X : {array-like, dataframe, sparse matrix}
            Matrix of shape (n_samples, n_features).
        y : array-like of shape (n_samples,)
            The target.
        **params : dict
            Extra parameters for the sampler.

        Returns
        -------
        X_resampled, y_resampled
            The resampled data.
        """
        with RecallTracker() as tracker:
            result = super().fit_resample(X, y, **params)  # type: ignore[misc]
        if self.neighbors == "approx":
            self.neighbors_recall_ = tracker.recall
        elif hasattr(self, "neighbors_recall_"):
            del self.neighbors_recall_
        return result
