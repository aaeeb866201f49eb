"""Edited nearest neighbours, repeated ENN and AllKNN: votes in C++."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from imblearn.under_sampling.base import BaseCleaningSampler
from imblearn.utils import check_neighbors_object
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions

from imbfast.base import DaskDispatchMixin, resolve_n_jobs, take_rows
from imbfast.neighbors import (
    NEIGHBORS_CONSTRAINT,
    NEIGHBORS_COUNT_CONSTRAINT,
    NearestNeighbors,
    NeighborsModeMixin,
    algorithm_for,
)
from imbfast.under_sampling._cleaning import (
    NeighbourTable,
    ObjectNeighbours,
    enn_pass,
    first_seen_minority,
    int_neighbors,
    label_codes,
    resolve_keys,
    set_n_jobs,
    targeted_codes,
    warn_emptied,
)


def _neighbours_estimator(n_neighbors: Any, n_jobs: int | None, neighbors: str) -> Any:
    """``nn_``: an imbfast searcher for a count (self included), else a clone."""
    if int_neighbors(n_neighbors):
        return NearestNeighbors(
            n_neighbors=int(n_neighbors) + 1,
            n_jobs=n_jobs,
            algorithm=algorithm_for(neighbors),
        )
    nn = check_neighbors_object("n_neighbors", n_neighbors, additional_neighbor=1)
    # imbalanced-learn sets n_jobs unconditionally and fails on objects
    # without such a parameter; imbfast sets it only where it exists.
    set_n_jobs(nn, n_jobs)
    return nn


class _IterativeCleaning:
    """What RENN and AllKNN share: estimators and the stopping rules."""

    def _validate_estimator(self) -> None:
        self.nn_ = _neighbours_estimator(self.n_neighbors, self.n_jobs, self.neighbors)
        self.enn_ = EditedNearestNeighbours(
            sampling_strategy=self.sampling_strategy,
            n_neighbors=self.n_neighbors,
            kind_sel=self.kind_sel,
            n_jobs=self.n_jobs,
            neighbors=self.neighbors,
        )

    def _start(self, y: np.ndarray) -> None:
        self._classes, self._codes = label_codes(y)
        minority = first_seen_minority(y)
        self._minority_code = int(np.searchsorted(self._classes, minority))
        self._n_minority = int(np.count_nonzero(self._codes == self._minority_code))

    def _stops(self, kept: np.ndarray, allow_minority: bool) -> bool:
        counts = np.bincount(self._codes[kept], minlength=self._classes.shape[0])
        present = counts > 0
        others = present.copy()
        others[self._minority_code] = False
        below = bool(np.any(counts[others] < self._n_minority)) and not allow_minority
        vanished = int(present.sum()) < self._classes.shape[0]
        return below or vanished


class EditedNearestNeighbours(
    NeighborsModeMixin, DaskDispatchMixin, BaseCleaningSampler
):
    """Remove samples whose neighbours disagree with their label.

    A drop-in for :class:`imblearn.under_sampling.EditedNearestNeighbours`:
    same parameters and ``sample_indices_`` (rows grouped by class in sorted
    label order). The neighbour search is exact; the votes run in C++.

    Parameters
    ----------
    sampling_strategy : str, list or callable, default='auto'
        The classes edited: 'majority', 'not minority', 'not majority',
        'all', 'auto' (= 'not minority'), a list of labels, or a callable
        returning a dict whose keys are the labels.
    n_neighbors : int or object, default=3
        Size of the neighbourhood looked at, or a k-NN object (with
        ``kneighbors`` and ``kneighbors_graph``) whose ``n_neighbors``
        counts the sample itself.
    kind_sel : {'all', 'mode'}, default='all'
        'all' keeps a sample only when all its neighbours share its label;
        'mode' when the most frequent neighbour label is its own (ties to
        the smaller label).
    n_jobs : int, default=None
        Threads: ``None`` (default) uses every core the process may use,
        ``1`` one thread (see ``imbfast.base.resolve_n_jobs``). The result
        does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        How neighbours are searched: "exact" (imbfast's exact engines) or
        "approx" (an inverted file of FAISS k-means cells, calibrated to
        recall 0.99 on a sample of queries, its candidates re-ranked with
        exact distances; see :func:`imbfast.neighbors.kneighbors`). Ignored
        when ``n_neighbors`` is an object. On dask input (an int or an
        imbfast ``NearestNeighbors``, whose ``algorithm``, ``approx_recall``
        and ``nprobe`` are then used) every partition searches its own rows
        with that engine, the answers are merged, and ``neighbors_recall_``
        is measured against the exact sharded search (see
        :mod:`imbfast.dask`).

    Attributes
    ----------
    sampling_strategy_ : dict
        The targeted classes (keys).
    nn_ : estimator object
        The neighbour searcher: :class:`imbfast.neighbors.NearestNeighbors`
        with ``n_neighbors + 1`` for an int, else a clone of the object.
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
    Differences from imbalanced-learn: a sample never votes for itself,
    even with exact duplicates (self is removed by index); 'mode' works with
    string labels; ``n_jobs`` is set on a neighbours object only when it has
    such a parameter.

    Peak memory: the output plus O(n_samples * n_neighbors) neighbour ids.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.under_sampling import EditedNearestNeighbours
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            flip_y=0.05, random_state=10)
    >>> X_res, y_res = EditedNearestNeighbours().fit_resample(X, y)
    >>> len(y_res) < len(y)
    True
    """

    _parameter_constraints: dict = {
        **BaseCleaningSampler._parameter_constraints,
        "n_neighbors": NEIGHBORS_COUNT_CONSTRAINT,
        "kind_sel": [StrOptions({"all", "mode"})],
        "n_jobs": [numbers.Integral, None],
        "neighbors": NEIGHBORS_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        n_neighbors: Any = 3,
        kind_sel: str = "all",
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.n_neighbors = n_neighbors
        self.kind_sel = kind_sel
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    def neighbors_estimator(self) -> Any:
        """The neighbour searcher ``n_neighbors`` describes, stored as ``nn_``.

        Shared by the in-memory and dask paths.

        Returns
        -------
        nn_ : object
            A :class:`imbfast.neighbors.NearestNeighbors` for an int
            ``n_neighbors``, else the given object (checked).
        """
        self.nn_ = _neighbours_estimator(self.n_neighbors, self.n_jobs, self.neighbors)
        return self.nn_

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self.neighbors_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        classes, codes = label_codes(y)
        targeted = targeted_codes(classes, self.sampling_strategy_.keys())
        if int_neighbors(self.n_neighbors):
            k = int(self.n_neighbors)
            table: Any = NeighbourTable(
                X, k, self.n_jobs, algorithm_for(self.neighbors)
            )
        else:
            k = self.nn_.n_neighbors - 1
            table = ObjectNeighbours(X, self.nn_, pass_k=False, n_threads=n_threads)
        ids = np.arange(y.shape[0])
        self.sample_indices_ = enn_pass(
            table, ids, codes, classes.shape[0], targeted, k, self.kind_sel, n_threads
        )
        y_res = _safe_indexing(y, self.sample_indices_)
        warn_emptied(self, y, y_res)
        return take_rows(X, self.sample_indices_, n_threads), y_res

    def __sklearn_tags__(self):
        """Tags: ``sample_indices_`` is set."""
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags


class RepeatedEditedNearestNeighbours(
    NeighborsModeMixin, DaskDispatchMixin, _IterativeCleaning, BaseCleaningSampler
):
    """Repeat edited nearest neighbours until it stops changing the data.

    A drop-in for
    :class:`imblearn.under_sampling.RepeatedEditedNearestNeighbours` with
    the same stopping rules: nothing removed, ``max_iter`` passes, a
    non-minority class fell below the original minority count, or a class
    vanished. One neighbour search serves the first pass; later passes
    filter the lists of the survivors and search again only the rows that
    lost too many neighbours.

    Parameters
    ----------
    sampling_strategy : str, list or callable, default='auto'
        The classes edited (resolved again on the current data at every
        pass, as imbalanced-learn does).
    n_neighbors : int or object, default=3
        Size of the neighbourhood, or a k-NN object whose ``n_neighbors``
        counts the sample itself.
    max_iter : int, default=100
        Maximum number of passes.
    kind_sel : {'all', 'mode'}, default='all'
        Selection rule of each pass, as in :class:`EditedNearestNeighbours`.
    n_jobs : int, default=None
        Threads: ``None`` (default) uses every core the process may use,
        ``1`` one thread (see ``imbfast.base.resolve_n_jobs``). The result
        does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        How neighbours are searched: "exact" (imbfast's exact engines) or
        "approx" (an inverted file of FAISS k-means cells, calibrated to
        recall 0.99 on a sample of queries, its candidates re-ranked with
        exact distances; see :func:`imbfast.neighbors.kneighbors`). Ignored
        when ``n_neighbors`` is an object. Not available on dask input.

    Attributes
    ----------
    sampling_strategy_ : dict
        The targeted classes (keys), resolved on the input.
    nn_ : estimator object
        The neighbour searcher (see :class:`EditedNearestNeighbours`).
    enn_ : EditedNearestNeighbours
        The single-pass sampler these passes repeat (not fitted).
    n_iter_ : int
        Number of passes run.
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
    Besides the differences of :class:`EditedNearestNeighbours`:
    imbalanced-learn applies the indices of the last pass twice when it
    stops because nothing changed, so its ``sample_indices_`` can point at
    rows other than the ones returned. imbfast's ``sample_indices_`` always
    equals the rows returned.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.under_sampling import RepeatedEditedNearestNeighbours
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            flip_y=0.05, random_state=10)
    >>> renn = RepeatedEditedNearestNeighbours()
    >>> X_res, y_res = renn.fit_resample(X, y)
    >>> bool((X_res == X[renn.sample_indices_]).all())
    True
    """

    _parameter_constraints: dict = {
        **BaseCleaningSampler._parameter_constraints,
        "n_neighbors": NEIGHBORS_COUNT_CONSTRAINT,
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "kind_sel": [StrOptions({"all", "mode"})],
        "n_jobs": [numbers.Integral, None],
        "neighbors": NEIGHBORS_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        n_neighbors: Any = 3,
        max_iter: int = 100,
        kind_sel: str = "all",
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.n_neighbors = n_neighbors
        self.max_iter = max_iter
        self.kind_sel = kind_sel
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self._validate_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        self._start(y)
        classes, codes = self._classes, self._codes
        if int_neighbors(self.n_neighbors):
            k = int(self.n_neighbors)
            # Spare neighbours let most lists survive a few removals.
            table: Any = NeighbourTable(
                X, 2 * k + 2, self.n_jobs, algorithm_for(self.neighbors)
            )
        else:
            k = self.nn_.n_neighbors - 1
            table = ObjectNeighbours(X, self.nn_, pass_k=False, n_threads=n_threads)
        ids = np.arange(y.shape[0])
        alive = np.ones(y.shape[0], dtype=bool)
        self.n_iter_ = 0
        while self.n_iter_ < self.max_iter:
            self.n_iter_ += 1
            targeted = targeted_codes(
                classes, resolve_keys(self.sampling_strategy, y[ids])
            )
            kept = enn_pass(
                table,
                ids,
                codes,
                classes.shape[0],
                targeted,
                k,
                self.kind_sel,
                n_threads,
            )
            converged = kept.shape[0] == ids.shape[0]
            alive[:] = False
            alive[kept] = True
            table.remove(ids[~alive[ids]])
            ids = kept
            if converged or self._stops(kept, allow_minority=False):
                break
        self.sample_indices_ = ids
        y_res = _safe_indexing(y, ids)
        warn_emptied(self, y, y_res)
        return take_rows(X, ids, n_threads), y_res

    def __sklearn_tags__(self):
        """Tags: ``sample_indices_`` is set."""
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags


class AllKNN(
    NeighborsModeMixin, DaskDispatchMixin, _IterativeCleaning, BaseCleaningSampler
):
    """Edited nearest neighbours with k = 1, 2, ..., n_neighbors in turn.

    A drop-in for :class:`imblearn.under_sampling.AllKNN`: each pass edits
    what the previous one kept; it stops early when a non-minority class
    falls below the original minority count (unless ``allow_minority``) or
    a class vanishes. One search for ``n_neighbors`` (plus spares) serves
    every k: lists are nearest first, so their prefixes are the smaller-k
    answers, and lists are filtered as samples go.

    Parameters
    ----------
    sampling_strategy : str, list or callable, default='auto'
        The classes edited (resolved again on the current data at every
        pass, as imbalanced-learn does).
    n_neighbors : int or object, default=3
        The largest neighbourhood, or a k-NN object whose ``n_neighbors``
        counts the sample itself (k then runs up to ``n_neighbors - 1``).
    kind_sel : {'all', 'mode'}, default='all'
        Selection rule of each pass, as in :class:`EditedNearestNeighbours`.
    allow_minority : bool, default=False
        Whether to keep going when a class becomes smaller than the
        original minority.
    n_jobs : int, default=None
        Threads: ``None`` (default) uses every core the process may use,
        ``1`` one thread (see ``imbfast.base.resolve_n_jobs``). The result
        does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        How neighbours are searched: "exact" (imbfast's exact engines) or
        "approx" (an inverted file of FAISS k-means cells, calibrated to
        recall 0.99 on a sample of queries, its candidates re-ranked with
        exact distances; see :func:`imbfast.neighbors.kneighbors`). Ignored
        when ``n_neighbors`` is an object. Not available on dask input.

    Attributes
    ----------
    sampling_strategy_ : dict
        The targeted classes (keys), resolved on the input.
    nn_ : estimator object
        The neighbour searcher (see :class:`EditedNearestNeighbours`).
    enn_ : EditedNearestNeighbours
        A single-pass sampler with the same settings (not fitted).
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
    Besides the differences of :class:`EditedNearestNeighbours`: given a
    neighbours object, imbalanced-learn only reads its ``n_neighbors`` and
    searches with a default Euclidean ``NearestNeighbors`` for every k;
    imbfast searches with the object itself (its metric, its algorithm).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.under_sampling import AllKNN
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            flip_y=0.05, random_state=10)
    >>> X_res, y_res = AllKNN().fit_resample(X, y)
    >>> len(y_res) < len(y)
    True
    """

    _parameter_constraints: dict = {
        **BaseCleaningSampler._parameter_constraints,
        "n_neighbors": NEIGHBORS_COUNT_CONSTRAINT,
        "kind_sel": [StrOptions({"all", "mode"})],
        "allow_minority": ["boolean"],
        "n_jobs": [numbers.Integral, None],
        "neighbors": NEIGHBORS_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        n_neighbors: Any = 3,
        kind_sel: str = "all",
        allow_minority: bool = False,
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.n_neighbors = n_neighbors
        self.kind_sel = kind_sel
        self.allow_minority = allow_minority
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self._validate_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        self._start(y)
        classes, codes = self._classes, self._codes
        k_max = self.nn_.n_neighbors - 1
        if int_neighbors(self.n_neighbors):
            table: Any = NeighbourTable(
                X, 2 * k_max + 2, self.n_jobs, algorithm_for(self.neighbors)
            )
        else:
            table = ObjectNeighbours(X, self.nn_, pass_k=True, n_threads=n_threads)
        ids = np.arange(y.shape[0])
        alive = np.ones(y.shape[0], dtype=bool)
        for k in range(1, k_max + 1):
            targeted = targeted_codes(
                classes, resolve_keys(self.sampling_strategy, y[ids])
            )
            kept = enn_pass(
                table,
                ids,
                codes,
                classes.shape[0],
                targeted,
                k,
                self.kind_sel,
                n_threads,
            )
            alive[:] = False
            alive[kept] = True
            table.remove(ids[~alive[ids]])
            ids = kept
            if self._stops(kept, allow_minority=self.allow_minority):
                break
        self.sample_indices_ = ids
        y_res = _safe_indexing(y, ids)
        warn_emptied(self, y, y_res)
        return take_rows(X, ids, n_threads), y_res

    def __sklearn_tags__(self):
        """Tags: ``sample_indices_`` is set."""
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags
