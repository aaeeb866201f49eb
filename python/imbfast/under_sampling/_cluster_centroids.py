"""ClusterCentroids: scikit-learn's k-means, imbfast's nearest-row search."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from imblearn.under_sampling.base import BaseUnderSampler
from scipy import sparse
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, StrOptions

from imbfast.base import DaskDispatchMixin, resolve_n_jobs, take_rows
from imbfast.neighbors import kneighbors


class ClusterCentroids(DaskDispatchMixin, BaseUnderSampler):
    """Under-sample each targeted class to the centroids of its k-means clusters.

    A drop-in for :class:`imblearn.under_sampling.ClusterCentroids`: the same
    parameters, scikit-learn's ``KMeans`` (or the given estimator) fitted the
    same way, so the same clusters and, for the same integer
    ``random_state``, the same output. With hard voting each centroid is
    replaced by its nearest row of the class, found by imbfast's exact
    search (ties to the lower row).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        How many samples of each class to keep (the number of clusters), as
        in imbalanced-learn's under-samplers.
    random_state : int, RandomState instance or None, default=None
        Seeds the default ``KMeans``.
    estimator : estimator object, default=None
        A clustering estimator with an ``n_clusters`` parameter and a
        fitted ``cluster_centers_``; cloned, ``n_clusters`` set per class.
        ``None`` uses ``KMeans(random_state=random_state)``.
    voting : {'auto', 'hard', 'soft'}, default='auto'
        'soft' returns the centroids; 'hard' the row of the class nearest to
        each centroid; 'auto' is 'hard' for sparse input, 'soft' otherwise.
    n_jobs : int, default=None
        Threads of the hard-voting search and of the row gathers, with
        joblib's meaning (imbfast's addition; the k-means uses its own
        threads). The result does not depend on it.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples to keep per targeted class.
    estimator_ : estimator object
        The clustering estimator, fitted on the last targeted class.
    voting_ : str
        The voting used, 'hard' or 'soft'.
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``.

    Notes
    -----
    Soft voting creates new rows, so there is no ``sample_indices_``. The
    output is grouped by class in sorted label order; a targeted class's
    block holds its centroids (or their nearest rows) in cluster order.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.under_sampling import ClusterCentroids
    >>> X, y = make_classification(n_samples=500, weights=[0.1, 0.9],
    ...                            random_state=0)
    >>> X_res, y_res = ClusterCentroids(random_state=0).fit_resample(X, y)
    >>> sorted(Counter(y_res.tolist()).items())
    [(0, 52), (1, 52)]
    """

    _parameter_constraints: dict = {
        **BaseUnderSampler._parameter_constraints,
        "estimator": [HasMethods(["fit", "predict"]), None],
        "voting": [StrOptions({"auto", "hard", "soft"})],
        "random_state": ["random_state"],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        estimator: Any = None,
        voting: str = "auto",
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.estimator = estimator
        self.voting = voting
        self.n_jobs = n_jobs

    def _validate_estimator(self) -> None:
        if self.estimator is None:
            self.estimator_ = KMeans(random_state=self.random_state)
            return
        self.estimator_ = clone(self.estimator)
        if "n_clusters" not in self.estimator_.get_params():
            raise ValueError(
                "`estimator` should be a clustering estimator exposing a parameter"
                " `n_clusters` and a fitted parameter `cluster_centers_`."
            )

    def _class_block(self, X_class: Any, centroids: np.ndarray, n_threads: int) -> Any:
        """The rows standing for one class: centroids or their nearest rows."""
        if self.voting_ == "hard":
            nearest = kneighbors(X_class, 1, query=centroids, n_jobs=self.n_jobs)
            return take_rows(X_class, nearest[:, 0], n_threads)
        if sparse.issparse(X_class):
            return sparse.csr_matrix(centroids, dtype=X_class.dtype)
        return centroids

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self._validate_estimator()
        if self.voting == "auto":
            self.voting_ = "hard" if sparse.issparse(X) else "soft"
        else:
            self.voting_ = self.voting
        n_threads = resolve_n_jobs(self.n_jobs)
        X_blocks, y_blocks = [], []
        for label in np.unique(y):
            class_rows = np.flatnonzero(y == label)
            X_class = take_rows(X, class_rows, n_threads)
            if label not in self.sampling_strategy_:
                X_blocks.append(X_class)
                y_blocks.append(_safe_indexing(y, class_rows))
                continue
            self.estimator_.set_params(n_clusters=self.sampling_strategy_[label])
            self.estimator_.fit(X_class)
            if not hasattr(self.estimator_, "cluster_centers_"):
                raise RuntimeError(
                    "`estimator` should be a clustering estimator exposing a "
                    "fitted parameter `cluster_centers_`."
                )
            centroids = self.estimator_.cluster_centers_
            X_blocks.append(self._class_block(X_class, centroids, n_threads))
            y_blocks.append(np.full(centroids.shape[0], label, dtype=y.dtype))
        if sparse.issparse(X):
            X_res = sparse.vstack(X_blocks)
        else:
            X_res = np.vstack(X_blocks)
        return X_res, np.asarray(np.hstack(y_blocks), dtype=y.dtype)

    def __sklearn_tags__(self):
        """Tags: no ``sample_indices_`` (soft voting creates rows)."""
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = False
        return tags
