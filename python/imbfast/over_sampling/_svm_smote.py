"""SVMSMOTE: scikit-learn's SVC, imbfast's neighbour searches and interpolation."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.base import clone
from sklearn.svm import SVC
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval

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
    smote_block,
)


class SVMSMOTE(NeighborsModeMixin, DaskDispatchMixin, BaseOverSampler):
    """SMOTE around the support vectors of an SVM, C++-accelerated.

    A drop-in for :class:`imblearn.over_sampling.SVMSMOTE`: the same
    parameters and, for the same integer ``random_state``, the same output.
    An SVM (scikit-learn's, hence the same support vectors as
    imbalanced-learn) finds the class's support vectors; those whose
    ``m_neighbors`` nearest neighbours are all of other classes are dropped
    as noise. Support vectors in danger (at least half of their neighbours
    of other classes) get new samples between them and their
    ``k_neighbors`` nearest neighbours of the class; the safe ones get new
    samples on the far side (extrapolation by ``out_step``).

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
        Seeds the SVM and the draws, as in imbalanced-learn.
    k_neighbors : int or object, default=5
        Number of nearest neighbours of the class to interpolate towards, or
        an object with ``kneighbors`` and ``kneighbors_graph`` whose
        ``n_neighbors`` counts the sample itself (imbalanced-learn's
        convention).
    m_neighbors : int or object, default=10
        Number of nearest neighbours (over the whole dataset) deciding
        whether a support vector is noise or in danger, or such an object.
    svm_estimator : estimator object, default=None
        None: ``SVC(gamma="scale", random_state=random_state)``; otherwise
        an estimator with ``fit``, ``predict`` and, once fitted, a
        ``support_`` attribute (cloned).
    out_step : float, default=0.5
        Step size of the extrapolation from safe support vectors, in [0, 1].
    n_jobs : int, default=None
        Threads for the neighbour searches and the interpolation, with
        joblib's meaning. The output does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        How neighbours are searched: "exact" (imbfast's exact engines) or
        "approx" (an inverted file of k-means cells calibrated to recall
        0.99, candidates re-ranked exactly). Ignored for a neighbours object.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples to generate per class.
    nn_k_ : estimator object
        The searcher for the interpolation partners:
        :class:`imbfast.neighbors.NearestNeighbors` for an int, else a clone.
    nn_m_ : estimator object
        The searcher deciding noise and danger: the same kinds.
    svm_estimator_ : estimator object
        The fitted SVM.
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
    A share ``beta(10, 10)`` of the new samples comes from the support
    vectors in danger and the rest from the safe ones; when none is in
    danger only the safe share is generated, so the class can get fewer
    samples than asked for. imbfast keeps imbalanced-learn's counts.

    Differences from imbalanced-learn, all deliberate:

    - The default SVC is fitted once per call when ``random_state`` is an
      int (its fit cannot change then); imbalanced-learn refits the same
      model for every class. With a RandomState instance or None it is
      refitted per class, as the fits draw from the shared stream.
    - A sample is excluded from its own neighbour lists by index, not by
      dropping the first column.
    - Integer ``X`` gives float64 synthetic samples (imbalanced-learn
      truncates them to integers), and the output is float64.

    Peak memory: the output, the SVM's own, and O(n_support * m_neighbors)
    neighbour ids.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.over_sampling import SVMSMOTE
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            random_state=10)
    >>> X_res, y_res = SVMSMOTE(random_state=42).fit_resample(X, y)
    >>> sorted(Counter(y_res).items())
    [(np.int64(0), 898), (np.int64(1), 898)]
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "k_neighbors": NEIGHBORS_COUNT_CONSTRAINT,
        "m_neighbors": NEIGHBORS_COUNT_CONSTRAINT,
        "svm_estimator": [HasMethods(["fit", "predict"]), None],
        "out_step": [Interval(numbers.Real, 0, 1, closed="both")],
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
        svm_estimator: Any = None,
        out_step: float = 0.5,
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.m_neighbors = m_neighbors
        self.svm_estimator = svm_estimator
        self.out_step = out_step
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    def _validate_estimator(self) -> None:
        self.nn_k_ = neighbours_estimator(
            "k_neighbors", self.k_neighbors, self.n_jobs, self.neighbors
        )
        self.nn_m_ = neighbours_estimator(
            "m_neighbors", self.m_neighbors, self.n_jobs, self.neighbors
        )
        if self.svm_estimator is None:
            self.svm_estimator_ = SVC(gamma="scale", random_state=self.random_state)
        else:
            self.svm_estimator_ = clone(self.svm_estimator)

    def _support(self, X: Any, y: np.ndarray, fitted: bool) -> np.ndarray:
        if not fitted:
            self.svm_estimator_.fit(X, y)
        if not hasattr(self.svm_estimator_, "support_"):
            raise RuntimeError(
                "`svm_estimator` is required to exposed a `support_` fitted "
                "attribute. Such estimator belongs to the familly of Support "
                "Vector Machine."
            )
        return np.asarray(self.svm_estimator_.support_, dtype=np.int64)

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self._validate_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        random_state = check_random_state(self.random_state)
        X_in = X
        X = as_float(X)
        # An SVC seeded with an int gives the same fit every time: fit once.
        fit_once = self.svm_estimator is None and isinstance(
            self.random_state, numbers.Integral
        )
        fitted = False
        blocks = []
        for class_sample, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            class_ids = np.flatnonzero(y == class_sample)
            # The SVM sees the data as imbalanced-learn gives it.
            support = self._support(X_in, y, fitted)
            fitted = fit_once
            support_ids = support[y[support] == class_sample]

            nns_m = neighbours_of_rows(self.nn_m_, X, support_ids, n_threads)
            _, noise = danger_and_noise(nns_m, y, class_sample)
            support_ids, nns_m = support_ids[~noise], nns_m[~noise]
            if support_ids.shape[0] == 0:
                raise ValueError(
                    "All support vectors are considered as noise. SVM-SMOTE is "
                    "not adapted to your dataset. Try another SMOTE variant."
                )
            danger, _ = danger_and_noise(nns_m, y, class_sample)

            X_class = take_rows(X, class_ids, n_threads)
            nns = class_ids[
                neighbours_of_rows(
                    self.nn_k_, X_class, positions(class_ids, support_ids), n_threads
                )
            ]
            fraction = random_state.beta(10, 10)
            n_interpolated = int(fraction * (n_samples + 1))
            if danger.any():
                block, _ = smote_block(
                    class_sample,
                    support_ids[danger],
                    nns[danger],
                    check_random_state(self.random_state),
                    n_interpolated,
                )
                blocks.append(block)
            if not danger.all():
                block, _ = smote_block(
                    class_sample,
                    support_ids[~danger],
                    nns[~danger],
                    check_random_state(self.random_state),
                    n_samples - n_interpolated,
                    step_size=-self.out_step,
                )
                blocks.append(block)
        return assemble(X, y, blocks, n_threads)
