"""OneSidedSelection and CondensedNearestNeighbour with exact k-NN votes."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from imblearn.under_sampling.base import BaseCleaningSampler
from sklearn.base import clone
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval

from imbfast import _core
from imbfast.base import DaskDispatchMixin, resolve_n_jobs, take_rows
from imbfast.neighbors import (
    NEIGHBORS_CONSTRAINT,
    NEIGHBORS_COUNT_CONSTRAINT,
    NeighborsModeMixin,
    algorithm_for,
    kneighbors,
)
from imbfast.under_sampling._cleaning import (
    first_seen_minority,
    label_codes,
    warn_emptied,
)
from imbfast.under_sampling._tomek_links import tomek_removal

_PARAMS: dict = {
    **BaseCleaningSampler._parameter_constraints,
    "n_neighbors": [*NEIGHBORS_COUNT_CONSTRAINT, None],
    "n_seeds_S": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_jobs": [numbers.Integral, None],
    "random_state": ["random_state"],
    "neighbors": NEIGHBORS_CONSTRAINT,
}


class _PrototypeSelection(NeighborsModeMixin, DaskDispatchMixin, BaseCleaningSampler):
    """Shared parameters and the k-NN vote of OSS and CNN."""

    _parameter_constraints: dict = _PARAMS

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        n_neighbors: Any = None,
        n_seeds_S: int = 1,
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.n_neighbors = n_neighbors
        self.n_seeds_S = n_seeds_S
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    def _validate_estimator(self) -> KNeighborsClassifier:
        # None and ints give a Euclidean KNeighborsClassifier whose vote
        # imbfast computes from its exact search; a classifier object is
        # used through its own predict.
        self._own_vote = True
        if self.n_neighbors is None:
            return KNeighborsClassifier(n_neighbors=1, n_jobs=self.n_jobs)
        if isinstance(self.n_neighbors, numbers.Integral):
            return KNeighborsClassifier(
                n_neighbors=self.n_neighbors, n_jobs=self.n_jobs
            )
        if hasattr(self.n_neighbors, "predict"):
            self._own_vote = False
            return clone(self.n_neighbors)
        # imbalanced-learn fails here with an UnboundLocalError.
        raise ValueError(
            "n_neighbors must be None, an int or a k-NN classifier with a predict "
            f"method (such as KNeighborsClassifier); got {self.n_neighbors!r}."
        )

    def _well_classified(
        self,
        X: Any,
        estimator: Any,
        C_ids: np.ndarray,
        S_ids: np.ndarray,
        y: np.ndarray,
        codes: np.ndarray,
        n_classes: int,
        n_threads: int,
    ) -> np.ndarray:
        """Whether a k-NN vote over the rows C_ids gets each row of S_ids right."""
        if not self._own_vote:
            pred = estimator.predict(take_rows(X, S_ids, n_threads))
            return pred == _safe_indexing(y, S_ids)
        k = estimator.n_neighbors
        X_C = take_rows(X, C_ids, n_threads)
        ind = kneighbors(
            X_C,
            k,
            query=take_rows(X, S_ids, n_threads),
            n_jobs=self.n_jobs,
            algorithm=algorithm_for(self.neighbors),
        )
        voters = np.ascontiguousarray(C_ids[ind])
        # A 'mode' vote equal to the sample's own label = classified right;
        # ties go to the smaller label, as KNeighborsClassifier.predict does.
        return _core.enn_keep(S_ids, voters, k, codes, n_classes, "mode", n_threads)

    def __sklearn_tags__(self):
        """Tags: ``sample_indices_`` is set."""
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags


class OneSidedSelection(_PrototypeSelection):
    """One-sided selection: a 1-pass condensing step followed by Tomek links.

    A drop-in for :class:`imblearn.under_sampling.OneSidedSelection`: the
    same draws in the same order for the same ``random_state``, and the
    same ``sample_indices_``.

    Parameters
    ----------
    sampling_strategy : str, list or callable, default='auto'
        The classes under-sampled.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of the initial samples of each class.
    n_neighbors : int, object or None, default=None
        Neighbours of the k-NN vote (None means 1), or a k-NN classifier
        such as ``KNeighborsClassifier``.
    n_seeds_S : int, default=1
        Samples of each targeted class put in the initial set.
    n_jobs : int, default=None
        Threads: ``None`` (default) uses every core the process may use,
        ``1`` one thread (see ``imbfast.base.resolve_n_jobs``). The result
        does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        How neighbours are searched: "exact" (imbfast's exact engines) or
        "approx" (an inverted file of FAISS k-means cells, calibrated to
        recall 0.99 on a sample of queries, its candidates re-ranked with
        exact distances; see :func:`imbfast.neighbors.kneighbors`). Ignored
        when ``n_neighbors`` is a classifier object. Not available on dask
        input.

    Attributes
    ----------
    sampling_strategy_ : dict
        The targeted classes (keys).
    estimators_ : list of estimator objects
        The k-NN classifier fitted for each targeted class.
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

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.under_sampling import OneSidedSelection
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            random_state=10)
    >>> X_res, y_res = OneSidedSelection(random_state=0).fit_resample(X, y)
    >>> len(y_res) < len(y)
    True
    """

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        estimator = self._validate_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        random_state = check_random_state(self.random_state)
        classes, codes = label_codes(y)
        minority_ids = np.flatnonzero(y == first_seen_minority(y))
        keys = list(self.sampling_strategy_.keys())
        kept = []
        self.estimators_ = []
        for target_class in classes:
            class_ids = np.flatnonzero(y == target_class)
            if target_class not in keys:
                kept.append(class_ids)
                continue
            # imbalanced-learn's draw, in its order.
            picks = random_state.randint(
                low=0, high=class_ids.shape[0], size=self.n_seeds_S
            )
            seeds = class_ids[picks]
            C_ids = np.append(minority_ids, seeds)
            S_ids = np.delete(class_ids, picks, axis=0)
            fitted = clone(estimator).fit(
                take_rows(X, C_ids, n_threads), _safe_indexing(y, C_ids)
            )
            self.estimators_.append(fitted)
            right = self._well_classified(
                X, fitted, C_ids, S_ids, y, codes, classes.shape[0], n_threads
            )
            kept.extend([seeds, S_ids[~right]])
        idx_under = np.concatenate(kept)
        # Tomek links among what is left, for the targeted classes.
        X_sub = take_rows(X, idx_under, n_threads)
        links = tomek_removal(
            X_sub, y[idx_under], keys, self.n_jobs, algorithm_for(self.neighbors)
        )
        self.sample_indices_ = idx_under[~links]
        y_res = _safe_indexing(y, self.sample_indices_)
        warn_emptied(self, y, y_res)
        return take_rows(X, self.sample_indices_, n_threads), y_res


class CondensedNearestNeighbour(_PrototypeSelection):
    """Condensed nearest neighbour: keep the samples a growing 1-NN set misreads.

    A drop-in for :class:`imblearn.under_sampling.CondensedNearestNeighbour`:
    the same draws, the same scan order and skip rule, the same
    ``sample_indices_``. The k-NN votes use imbfast's exact search.

    Parameters
    ----------
    sampling_strategy : str, list or callable, default='auto'
        The classes under-sampled.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of the initial samples of each class.
    n_neighbors : int, object or None, default=None
        Neighbours of the k-NN vote (None means 1), or a k-NN classifier
        such as ``KNeighborsClassifier``.
    n_seeds_S : int, default=1
        Samples of each targeted class put in the initial set.
    n_jobs : int, default=None
        Threads: ``None`` (default) uses every core the process may use,
        ``1`` one thread (see ``imbfast.base.resolve_n_jobs``). The result
        does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        How neighbours are searched: "exact" (imbfast's exact engines) or
        "approx" (an inverted file of FAISS k-means cells, calibrated to
        recall 0.99 on a sample of queries, its candidates re-ranked with
        exact distances; see :func:`imbfast.neighbors.kneighbors`). Ignored
        when ``n_neighbors`` is a classifier object. Not available on dask
        input.

    Attributes
    ----------
    sampling_strategy_ : dict
        The targeted classes (keys).
    estimators_ : list of estimator objects
        For each targeted class, the k-NN classifier fitted on the final set.
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
    Works on ``scipy.sparse.csr_array`` input (imbalanced-learn's fails
    there: it iterates the rows of the sparse array).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.under_sampling import CondensedNearestNeighbour
    >>> X, y = make_classification(n_samples=300, weights=[0.2, 0.8],
    ...                            random_state=10)
    >>> cnn = CondensedNearestNeighbour(random_state=0)
    >>> X_res, y_res = cnn.fit_resample(X, y)
    >>> len(y_res) < len(y)
    True
    """

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        estimator = self._validate_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        random_state = check_random_state(self.random_state)
        classes, codes = label_codes(y)
        n_classes = classes.shape[0]
        minority_ids = np.flatnonzero(y == first_seen_minority(y))
        keys = list(self.sampling_strategy_.keys())
        kept = []
        self.estimators_ = []
        for target_class in classes:
            S_ids = np.flatnonzero(y == target_class)
            if target_class not in keys:
                kept.append(S_ids)
                continue
            seeds = S_ids[
                random_state.randint(low=0, high=S_ids.shape[0], size=self.n_seeds_S)
            ]
            selected = list(seeds)
            C_ids = np.append(minority_ids, seeds)
            fitted = clone(estimator).fit(
                take_rows(X, C_ids, n_threads), _safe_indexing(y, C_ids)
            )
            # imbalanced-learn's skip set mixes sample ids (the seeds) and
            # positions in the class (the well-classified samples); it is
            # reproduced as is, since it decides which samples are tested.
            skip = set(seeds.tolist())
            for position in range(S_ids.shape[0]):
                if position in skip:
                    continue
                row = S_ids[position : position + 1]
                if self._well_classified(
                    X, fitted, C_ids, row, y, codes, n_classes, n_threads
                )[0]:
                    continue
                selected.append(S_ids[position])
                C_ids = np.append(C_ids, S_ids[position])
                if not self._own_vote:
                    fitted.fit(take_rows(X, C_ids, n_threads), _safe_indexing(y, C_ids))
                right = self._well_classified(
                    X, fitted, C_ids, S_ids, y, codes, n_classes, n_threads
                )
                skip = set(selected) | set(np.flatnonzero(right).tolist())
            if self._own_vote:
                fitted.fit(take_rows(X, C_ids, n_threads), _safe_indexing(y, C_ids))
            self.estimators_.append(fitted)
            kept.append(np.asarray(selected, dtype=np.intp))
        self.sample_indices_ = np.concatenate(kept)
        y_res = _safe_indexing(y, self.sample_indices_)
        warn_emptied(self, y, y_res)
        return take_rows(X, self.sample_indices_, n_threads), y_res
