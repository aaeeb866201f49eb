"""Neighbourhood cleaning rule: ENN ('mode') plus the neighbours of misread minority."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from imblearn.under_sampling.base import BaseCleaningSampler
from sklearn.base import clone
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neighbors import NearestNeighbors as _SkNearestNeighbors
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval

from imbfast import _core
from imbfast.base import DaskDispatchMixin, resolve_n_jobs, take_rows
from imbfast.neighbors import (
    NEIGHBORS_CONSTRAINT,
    NEIGHBORS_COUNT_CONSTRAINT,
    NearestNeighbors,
    NeighborsModeMixin,
    algorithm_for,
    kneighbors,
)
from imbfast.under_sampling._cleaning import (
    classes_by_first_seen,
    drop_self,
    int_neighbors,
    label_codes,
    warn_emptied,
)
from imbfast.under_sampling._edited_nearest_neighbours import EditedNearestNeighbours


class NeighbourhoodCleaningRule(
    NeighborsModeMixin, DaskDispatchMixin, BaseCleaningSampler
):
    """Clean the neighbourhoods of the minority class.

    A drop-in for :class:`imblearn.under_sampling.NeighbourhoodCleaningRule`.
    Removed are (A1) the samples an edited-nearest-neighbours pass ('mode')
    rejects and (A2) the neighbours, in classes large enough to clean, of
    minority samples that a k-NN vote misclassifies. Original order kept.

    Parameters
    ----------
    sampling_strategy : str, list or callable, default='auto'
        The classes that may be cleaned.
    edited_nearest_neighbours : object, default=None
        The sampler giving A1; default
        ``EditedNearestNeighbours(kind_sel='mode')`` with this
        ``sampling_strategy``, ``n_neighbors`` and ``n_jobs``.
    n_neighbors : int or object, default=3
        Size of the neighbourhood, or a k-NN object: a ``NearestNeighbors``
        (whose ``n_neighbors`` counts the sample itself) or a classifier
        such as ``KNeighborsClassifier``.
    threshold_cleaning : float, default=0.5
        A class is cleaned in A2 only when it has more than
        ``threshold_cleaning`` times the minority count.
    n_jobs : int, default=None
        Threads: ``None`` (default) uses every core the process may use,
        ``1`` one thread (see ``imbfast.base.resolve_n_jobs``). The result
        does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        How neighbours are searched: "exact" (imbfast's exact engines) or
        "approx" (an inverted file of FAISS k-means cells, calibrated to
        recall 0.99 on a sample of queries, its candidates re-ranked with
        exact distances; see :func:`imbfast.neighbors.kneighbors`). Used by
        the default edited-nearest-neighbours step and the minority vote when
        ``n_neighbors`` is an int or a ``NearestNeighbors``. Not available on
        dask input.

    Attributes
    ----------
    sampling_strategy_ : dict
        The targeted classes (keys).
    edited_nearest_neighbours_ : object
        The fitted sampler that gave A1.
    nn_ : estimator object
        The k-NN classifier voting on the minority samples, fitted on X.
    classes_to_clean_ : list
        The classes cleaned in A2.
    sample_indices_ : ndarray of shape (n_new_samples,)
        Rows of the input kept.
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``.
    neighbors_recall_ : float
        Only with ``neighbors="approx"``: the estimated recall of the
        approximate searches (fraction of the exact neighbours found,
        weighted by queries; 1.0 when every search was small enough to be
        answered exactly).

    Notes
    -----
    Works with string labels (imbalanced-learn's fails in its 'mode'
    vote); a sample is removed from its own neighbour list by index.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.under_sampling import NeighbourhoodCleaningRule
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            flip_y=0.05, random_state=10)
    >>> X_res, y_res = NeighbourhoodCleaningRule().fit_resample(X, y)
    >>> len(y_res) < len(y)
    True
    """

    _parameter_constraints: dict = {
        **BaseCleaningSampler._parameter_constraints,
        "edited_nearest_neighbours": [HasMethods(["fit_resample"]), None],
        "n_neighbors": NEIGHBORS_COUNT_CONSTRAINT,
        "threshold_cleaning": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_jobs": [numbers.Integral, None],
        "neighbors": NEIGHBORS_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        edited_nearest_neighbours: Any = None,
        n_neighbors: Any = 3,
        threshold_cleaning: float = 0.5,
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.edited_nearest_neighbours = edited_nearest_neighbours
        self.n_neighbors = n_neighbors
        self.threshold_cleaning = threshold_cleaning
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    def _validate_estimator(self) -> None:
        # Our own vote (exact search) stands in for the classifier's predict
        # whenever nn_ is a plain Euclidean KNeighborsClassifier we built.
        self._own_vote = True
        if int_neighbors(self.n_neighbors):
            self.nn_ = KNeighborsClassifier(
                n_neighbors=self.n_neighbors, n_jobs=self.n_jobs
            )
        elif isinstance(self.n_neighbors, _SkNearestNeighbors | NearestNeighbors):
            self.nn_ = KNeighborsClassifier(
                n_neighbors=self.n_neighbors.n_neighbors - 1, n_jobs=self.n_jobs
            )
        else:
            self.nn_ = clone(self.n_neighbors)
            self._own_vote = False
        if self.edited_nearest_neighbours is None:
            self.edited_nearest_neighbours_ = EditedNearestNeighbours(
                sampling_strategy=self.sampling_strategy,
                n_neighbors=self.n_neighbors,
                kind_sel="mode",
                n_jobs=self.n_jobs,
                neighbors=self.neighbors,
            )
        else:
            self.edited_nearest_neighbours_ = clone(self.edited_nearest_neighbours)

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self._validate_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        self.edited_nearest_neighbours_.fit_resample(X, y)
        removed = np.ones(y.shape[0], dtype=bool)
        removed[self.edited_nearest_neighbours_.sample_indices_] = False

        classes_seen, counts_seen = classes_by_first_seen(y)
        minority = classes_seen[np.argmin(counts_seen)]
        n_minority = counts_seen.min()
        keys = list(self.sampling_strategy_.keys())
        self.classes_to_clean_ = [
            c
            for c, n_c in zip(classes_seen, counts_seen, strict=True)
            if c in keys and n_c > n_minority * self.threshold_cleaning
        ]

        self.nn_.fit(X, y)
        minority_ids = np.flatnonzero(y == minority)
        k = self.nn_.n_neighbors
        if self._own_vote:
            # The classifier's vote on a training sample counts the sample
            # itself plus its k - 1 nearest others.
            others = self._others(X, minority_ids, k, n_threads)
            classes, codes = label_codes(y)
            voters = np.hstack([minority_ids[:, None], others[:, : k - 1]])
            # enn_keep with kind 'mode' says whether the vote equals the label.
            well_read = _core.enn_keep(
                minority_ids,
                np.ascontiguousarray(voters),
                k,
                codes,
                classes.shape[0],
                "mode",
                n_threads,
            )
            misread = ~well_read
        else:
            X_min = take_rows(X, minority_ids, n_threads)
            misread = self.nn_.predict(X_min) != _safe_indexing(y, minority_ids)
            ind = self.nn_.kneighbors(X_min, n_neighbors=k + 1, return_distance=False)
            others = drop_self(np.asarray(ind, dtype=np.int64), minority_ids)
        candidates = np.unique(others[misread])
        clean = np.isin(
            y[candidates], np.asarray(self.classes_to_clean_, dtype=y.dtype)
        )
        removed[candidates[clean]] = True
        self.sample_indices_ = np.flatnonzero(~removed)
        y_res = _safe_indexing(y, self.sample_indices_)
        warn_emptied(self, y, y_res)
        return take_rows(X, self.sample_indices_, n_threads), y_res

    def _others(self, X: Any, rows: np.ndarray, k: int, n_threads: int) -> np.ndarray:
        """The k nearest samples of ``rows`` other than themselves."""
        if k > X.shape[0] - 1:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k + 1}, "
                f"n_samples_fit = {X.shape[0]}, n_samples = {rows.shape[0]}"
            )
        query = take_rows(X, rows, n_threads)
        ind = kneighbors(
            X,
            k + 1,
            query=query,
            n_jobs=self.n_jobs,
            algorithm=algorithm_for(self.neighbors),
        )
        return drop_self(ind, rows)

    def __sklearn_tags__(self):
        """Tags: ``sample_indices_`` is set."""
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags
