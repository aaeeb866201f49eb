"""SMOTE with imbalanced-learn's exact draws and a C++ interpolation kernel."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_neighbors_object
from scipy import sparse
from sklearn.utils import _safe_indexing, check_random_state

from imbfast import _core
from imbfast.base import DaskDispatchMixin, resolve_n_jobs
from imbfast.neighbors import (
    NEIGHBORS_CONSTRAINT,
    NEIGHBORS_COUNT_CONSTRAINT,
    NearestNeighbors,
    NeighborsModeMixin,
    algorithm_for,
    neighbors_excluding_self,
)


class SMOTE(NeighborsModeMixin, DaskDispatchMixin, BaseOverSampler):
    """Synthetic Minority Over-sampling Technique, C++-accelerated.

    A drop-in for :class:`imblearn.over_sampling.SMOTE`: the same
    parameters and, for the same integer ``random_state``, the same output.
    Each new sample lies on the segment between a minority sample and one of
    its ``k_neighbors`` nearest minority neighbours.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        What to over-sample, as in imbalanced-learn: a float (binary
        problems only) is the desired minority/majority ratio; 'minority',
        'not minority', 'not majority', 'all' or 'auto' (= 'not majority')
        name the classes brought up to the majority count; a dict maps each
        class to its desired number of samples; a callable takes y and
        returns such a dict.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws. An int restarts the stream for every class, as
        imbalanced-learn does; a RandomState instance continues it.
    k_neighbors : int or object, default=5
        Number of nearest minority neighbours to interpolate towards, or an
        object with ``kneighbors`` and ``kneighbors_graph`` whose
        ``n_neighbors`` counts the sample itself (imbalanced-learn's
        convention).
    n_jobs : int, default=None
        Threads for the neighbour search and interpolation: ``None``
        (default) uses every core the process may use, ``1`` one thread;
        never more than the machine has. The output does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        How neighbours are searched: "exact" (imbfast's exact engines) or
        "approx" (an inverted file of FAISS k-means cells, calibrated to
        recall 0.99 on a sample of queries, its candidates re-ranked with
        exact distances; see :func:`imbfast.neighbors.kneighbors`). Ignored
        when ``k_neighbors`` is an object. On dask input a gathered
        minority class is searched in memory with that engine; a class
        above ``imbfast.gather-limit`` goes through the approximate sharded
        search, whose recall is measured against the exact sharded search
        (see :mod:`imbfast.dask`).

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples to generate per class.
    nn_k_ : estimator object
        The neighbour searcher used: :class:`imbfast.neighbors.NearestNeighbors`
        for an int ``k_neighbors``, else a clone of the object given.
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``, for dataframes with
        string column names.
    neighbors_recall_ : float
        Only with ``neighbors="approx"``: the estimated recall of the
        approximate searches (fraction of the exact neighbours found,
        weighted by queries; 1.0 when every search was small enough to be
        answered exactly).

    Notes
    -----
    Differences from imbalanced-learn, all deliberate:

    - A sample is excluded from its own neighbour list by index, not by
      dropping the first column, so exact duplicates do not produce copies
      of existing samples; equally distant neighbours are ordered by index.
    - Integer ``X`` gives float64 synthetic samples (imbalanced-learn
      truncates them to integers), and the output is float64.

    Peak memory: the output, one float32 copy of the largest class being
    over-sampled (the search index) and O(n_class * k) for its neighbours.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.over_sampling import SMOTE
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            random_state=10)
    >>> X_res, y_res = SMOTE(random_state=42).fit_resample(X, y)
    >>> sorted(Counter(y_res).items())
    [(np.int64(0), 898), (np.int64(1), 898)]
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "k_neighbors": NEIGHBORS_COUNT_CONSTRAINT,
        "n_jobs": [numbers.Integral, None],
        "neighbors": NEIGHBORS_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        k_neighbors: Any = 5,
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    def neighbors_estimator(self) -> Any:
        """The neighbour searcher ``k_neighbors`` describes, stored as ``nn_k_``.

        With :meth:`class_neighbors` and :meth:`class_draws`, the protocol
        the in-memory and dask paths share.

        Returns
        -------
        nn_k_ : object
            A :class:`imbfast.neighbors.NearestNeighbors` for an int
            ``k_neighbors``, else the given object (checked).
        """
        if isinstance(self.k_neighbors, numbers.Integral):
            self.nn_k_ = NearestNeighbors(
                n_neighbors=int(self.k_neighbors) + 1,
                n_jobs=self.n_jobs,
                algorithm=algorithm_for(self.neighbors),
            )
        else:
            self.nn_k_ = check_neighbors_object("k_neighbors", self.k_neighbors)
        return self.nn_k_

    def class_neighbors(self, X_class: Any) -> np.ndarray:
        """(n_class, k) neighbour positions within the class, self excluded.

        Parameters
        ----------
        X_class : {ndarray, sparse matrix} of shape (n_class, n_features)
            The rows of one class.

        Returns
        -------
        nns : ndarray of shape (n_class, k), int64
            Raises imbalanced-learn's ValueError when the class has no more
            than ``k`` rows. Needs ``nn_k_`` (:meth:`neighbors_estimator`).
        """
        n_c = X_class.shape[0]
        k_total = self.nn_k_.n_neighbors
        if k_total > n_c:
            # imbalanced-learn's message for a class with <= k samples.
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k_total}, "
                f"n_samples_fit = {n_c}, n_samples = {n_c}"
            )
        return neighbors_excluding_self(self.nn_k_, X_class)

    def class_draws(
        self, X_class: Any, n_samples: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Neighbours of one class and imbalanced-learn's draws for it.

        Parameters
        ----------
        X_class : {ndarray, sparse matrix} of shape (n_class, n_features)
            The rows of one class.
        n_samples : int
            Synthetic rows to make for it.

        Returns
        -------
        nns : ndarray of shape (n_class, k), int64
            The neighbour table (:meth:`class_neighbors`).
        samples : ndarray of shape (n_samples,), int64
            Flat indices into ``nns``: row ``samples // k`` and its
            neighbour ``nns.flat[samples]``.
        steps : ndarray of shape (n_samples,)
            Interpolation steps in [0, 1).

        Drawn in imbalanced-learn's order (``randint`` then ``uniform``; an
        int ``random_state`` restarts the stream for every class).
        """
        nns = self.class_neighbors(X_class)
        random_state = check_random_state(self.random_state)
        samples = random_state.randint(low=0, high=nns.size, size=n_samples)
        steps = random_state.uniform(size=n_samples)
        return nns, samples.astype(np.int64, copy=False), steps

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self.neighbors_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        is_sparse = sparse.issparse(X)
        if X.dtype not in (np.float32, np.float64):
            # imbalanced-learn truncates synthetic samples of integer input;
            # imbfast keeps their values and returns float64.
            X = X.astype(np.float64)
        if not is_sparse:
            X = np.ascontiguousarray(X)

        plans = []
        for class_sample, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            target_indices = np.flatnonzero(y == class_sample)
            X_class = _safe_indexing(X, target_indices)
            nns, samples, steps = self.class_draws(X_class, n_samples)
            plans.append((class_sample, X_class, nns, samples, steps))

        n_new = sum(p[3].shape[0] for p in plans)
        y_resampled = np.empty(y.shape[0] + n_new, dtype=y.dtype)
        y_resampled[: y.shape[0]] = y
        offset = y.shape[0]
        for class_sample, _, _, samples, _ in plans:
            y_resampled[offset : offset + samples.shape[0]] = class_sample
            offset += samples.shape[0]

        if is_sparse:
            blocks = [
                _sparse_interpolate(X_class, nns, samples, steps)
                for _, X_class, nns, samples, steps in plans
            ]
            return sparse.vstack([X, *blocks], format=X.format), y_resampled

        # The output is allocated once; the kernel writes each class's block
        # straight into it.
        X_resampled = np.empty((X.shape[0] + n_new, X.shape[1]), dtype=X.dtype)
        X_resampled[: X.shape[0]] = X
        offset = X.shape[0]
        for _, X_class, nns, samples, steps in plans:
            m = samples.shape[0]
            _core.smote_interpolate(
                np.ascontiguousarray(X_class),
                np.ascontiguousarray(nns, dtype=np.int64),
                samples,
                steps,
                X_resampled[offset : offset + m],
                n_threads,
            )
            offset += m
        return X_resampled, y_resampled


def _sparse_interpolate(
    X_class: sparse.spmatrix, nns: np.ndarray, samples: np.ndarray, steps: np.ndarray
) -> sparse.spmatrix:
    """Sparse SMOTE samples with imbalanced-learn's arithmetic and format."""
    k = nns.shape[1]
    rows = samples // k
    cols = samples % k
    diffs = X_class[nns[rows, cols]] - X_class[rows]
    steps_sparse = getattr(sparse, type(X_class).__name__)(steps[:, np.newaxis])
    X_new = X_class[rows] + steps_sparse.multiply(diffs)
    return X_new.astype(X_class.dtype)
