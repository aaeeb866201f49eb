"""BorderlineSMOTE (borderline-1 and -2) with imbalanced-learn's exact draws."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions

from imbfast.base import DaskDispatchMixin, resolve_n_jobs, take_rows
from imbfast.neighbors import (
    NEIGHBORS_CONSTRAINT,
    NEIGHBORS_COUNT_CONSTRAINT,
    NeighborsModeMixin,
)
from imbfast.over_sampling._family import (
    as_float,
    assemble,
    danger_and_noise,
    neighbours_estimator,
    neighbours_of_rows,
    positions,
    same_searcher,
    smote_block,
)


class BorderlineSMOTE(NeighborsModeMixin, DaskDispatchMixin, BaseOverSampler):
    """Borderline SMOTE (borderline-1 and borderline-2), C++-accelerated.

    A drop-in for :class:`imblearn.over_sampling.BorderlineSMOTE`: the same
    parameters and, for the same integer ``random_state``, the same output.
    Only the samples "in danger" are over-sampled: those with at least half,
    but not all, of their ``m_neighbors`` nearest neighbours (over the whole
    dataset) in other classes. borderline-1 interpolates towards their
    ``k_neighbors`` nearest neighbours of the same class; borderline-2
    towards their nearest neighbours of any class, shortening the step
    towards another class by a factor drawn in [0, 0.5).

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
        Seeds the draws. An int restarts the stream for every class (and
        for borderline-2's step factors), as imbalanced-learn does; a
        RandomState instance continues it.
    k_neighbors : int or object, default=5
        Number of nearest neighbours to interpolate towards, or an object
        with ``kneighbors`` and ``kneighbors_graph`` whose ``n_neighbors``
        counts the sample itself (imbalanced-learn's convention).
    m_neighbors : int or object, default=10
        Number of nearest neighbours that decide whether a sample is in
        danger, or such an object.
    kind : {"borderline-1", "borderline-2"}, default='borderline-1'
        Which variant to use.
    n_jobs : int, default=None
        Threads for the neighbour searches and the interpolation, with
        joblib's meaning. The output does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        How neighbours are searched: "exact" (imbfast's exact engines) or
        "approx" (an inverted file of k-means cells calibrated to recall
        0.99, candidates re-ranked exactly; see
        :func:`imbfast.neighbors.kneighbors`). Ignored for a neighbours
        object.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples to generate per class.
    nn_k_ : estimator object
        The searcher for the interpolation partners:
        :class:`imbfast.neighbors.NearestNeighbors` for an int, else a clone.
    nn_m_ : estimator object
        The searcher deciding the danger: the same kinds.
    in_danger_indices : dict
        For each class over-sampled, the indices (rows of X) of its samples
        in danger. imbalanced-learn's name, without the trailing underscore.
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``, for dataframes with
        string column names.
    neighbors_recall_ : float
        Only with ``neighbors="approx"``: the estimated recall of the
        approximate searches.

    Notes
    -----
    Differences from imbalanced-learn, all deliberate:

    - A class with no sample in danger is left as it is (as in
      imbalanced-learn), with a ``UserWarning`` naming it instead of
      silently.
    - borderline-2 works on ``csr_matrix``/``csc_matrix`` input
      (imbalanced-learn fails there).
    - A sample is excluded from its own neighbour lists by index, not by
      dropping the first column; equally distant neighbours are ordered by
      index.
    - Integer ``X`` gives float64 synthetic samples (imbalanced-learn
      truncates them to integers), and the output is float64.

    Peak memory: the output plus O(n_class * m_neighbors) neighbour ids and
    one float32 copy of the rows searched.

    Searches: one over the whole dataset per class (``m_neighbors``; for
    borderline-2 with two searchers of the same kind, ``max(m_neighbors,
    k_neighbors)``, whose first columns are also the partners, so no second
    search runs), and for borderline-1 one of the samples in danger within
    their class.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.over_sampling import BorderlineSMOTE
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            random_state=10)
    >>> X_res, y_res = BorderlineSMOTE(random_state=42).fit_resample(X, y)
    >>> sorted(Counter(y_res).items())
    [(np.int64(0), 898), (np.int64(1), 898)]
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "k_neighbors": NEIGHBORS_COUNT_CONSTRAINT,
        "m_neighbors": NEIGHBORS_COUNT_CONSTRAINT,
        "kind": [StrOptions({"borderline-1", "borderline-2"})],
        "n_jobs": [numbers.Integral, None],
        "neighbors": NEIGHBORS_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        k_neighbors: Any = 5,
        m_neighbors: Any = 10,
        kind: str = "borderline-1",
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.m_neighbors = m_neighbors
        self.kind = kind
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    def _validate_estimator(self) -> None:
        self.nn_k_ = neighbours_estimator(
            "k_neighbors", self.k_neighbors, self.n_jobs, self.neighbors
        )
        self.nn_m_ = neighbours_estimator(
            "m_neighbors", self.m_neighbors, self.n_jobs, self.neighbors
        )

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self._validate_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        X = as_float(X)
        blocks = []
        self.in_danger_indices = {}
        m_total = int(self.nn_m_.n_neighbors)
        k_total = int(self.nn_k_.n_neighbors)
        # borderline-2's partners are the first k neighbours over the whole
        # dataset: with two imbfast searchers of the same kind, one search
        # of max(m, k) neighbours gives both tables (a prefix each).
        shared = (
            self.kind == "borderline-2"
            and same_searcher(self.nn_m_, self.nn_k_)
            and max(m_total, k_total) <= X.shape[0]
        )
        width = max(m_total, k_total) if shared else m_total
        for class_sample, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            class_ids = np.flatnonzero(y == class_sample)
            nns_wide = neighbours_of_rows(
                self.nn_m_, X, class_ids, n_threads, n_neighbors=width
            )
            danger, _ = danger_and_noise(nns_wide[:, : m_total - 1], y, class_sample)
            if not danger.any():
                warnings.warn(
                    f"BorderlineSMOTE: no sample of class {class_sample} is in "
                    "danger (at least half, but not all, of its m_neighbors "
                    "nearest neighbours in other classes); the class is not "
                    "over-sampled.",
                    UserWarning,
                    stacklevel=2,
                )
                continue
            danger_ids = class_ids[danger]
            self.in_danger_indices[class_sample] = danger_ids
            if self.kind == "borderline-1":
                # Partners from the class alone: search within X_class.
                X_class = take_rows(X, class_ids, n_threads)
                nns = class_ids[
                    neighbours_of_rows(
                        self.nn_k_,
                        X_class,
                        positions(class_ids, danger_ids),
                        n_threads,
                    )
                ]
            elif shared:
                nns = np.ascontiguousarray(nns_wide[danger, : k_total - 1])
            else:
                nns = neighbours_of_rows(self.nn_k_, X, danger_ids, n_threads)
            block, _ = smote_block(
                class_sample,
                danger_ids,
                nns,
                check_random_state(self.random_state),
                n_samples,
            )
            if self.kind == "borderline-2":
                other = y[block.nb] != class_sample
                scales = np.ones(block.size)
                scales[other] = check_random_state(self.random_state).uniform(
                    low=0.0, high=0.5, size=int(other.sum())
                )
                block.scales = scales
            blocks.append(block)
        if shared and blocks:
            # Left fitted on X, as imbalanced-learn leaves it.
            self.nn_k_.fit(X)
        return assemble(X, y, blocks, n_threads)
