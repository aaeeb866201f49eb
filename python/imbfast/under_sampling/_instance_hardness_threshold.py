"""Instance hardness threshold: scikit-learn's cross-validated probabilities."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from imblearn.under_sampling.base import BaseUnderSampler
from sklearn.base import clone, is_classifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, check_cv, cross_val_predict
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods

from imbfast.base import DaskDispatchMixin, resolve_n_jobs, take_rows


def _seed_random_states(estimator: Any, random_state: np.random.RandomState) -> None:
    """Give every ``random_state`` parameter of estimator a seed drawn in order.

    The parameters (nested ones included) are visited in sorted name order
    and each gets ``random_state.randint(2**31 - 1)``: the seeds
    scikit-learn's ensembles (and imbalanced-learn) give their members.
    """
    seeds = {}
    for name in sorted(estimator.get_params(deep=True)):
        if name == "random_state" or name.endswith("__random_state"):
            seeds[name] = random_state.randint(np.iinfo(np.int32).max)
    if seeds:
        estimator.set_params(**seeds)


class InstanceHardnessThreshold(DaskDispatchMixin, BaseUnderSampler):
    """Under-sample by removing the rows a classifier finds hardest.

    A drop-in for :class:`imblearn.under_sampling.InstanceHardnessThreshold`:
    the same parameters, the same cross-validation (scikit-learn's
    ``cross_val_predict`` over a shuffled ``StratifiedKFold``, seeded the
    same way) and, for labels ``0..n_classes - 1``, the same rows. Each row's
    probability is read from the column of its own class, found from the
    classifier's classes (imbalanced-learn uses the label as the column
    number, see Notes).

    Parameters
    ----------
    estimator : estimator object, default=None
        A classifier with ``predict_proba``; cloned, and every
        ``random_state`` parameter in it seeded from ``random_state``.
        ``None`` uses ``RandomForestClassifier(n_estimators=100,
        random_state=random_state, n_jobs=n_jobs)``.
    sampling_strategy : float, str, dict or callable, default='auto'
        How many samples of each class to keep, as in imbalanced-learn's
        under-samplers (a float for binary problems, 'majority', 'not
        minority', 'not majority', 'all', 'auto', a dict or a callable).
    random_state : int, RandomState instance or None, default=None
        Seeds the estimator and the folds.
    cv : int, cross-validation generator or iterable, default=5
        An int is the number of folds of a shuffled ``StratifiedKFold``;
        anything else is used as scikit-learn's ``cv`` (imbalanced-learn
        only accepts an int).
    n_jobs : int, default=None
        Jobs of ``cross_val_predict`` (and of the default forest), with
        joblib's meaning; also the threads gathering the kept rows.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples to keep per targeted class.
    estimator_ : estimator object
        The classifier that was cross-validated (not fitted on all rows).
    sample_indices_ : ndarray of shape (n_new_samples,)
        Rows of the input kept, in output order (grouped by class).
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``.

    Notes
    -----
    A targeted class keeps its rows whose probability is at least the
    ``(1 - n_keep / n_class)`` percentile of the class's probabilities, so
    ties at the threshold can keep a few more rows than asked, as in
    imbalanced-learn.

    Difference from imbalanced-learn 0.14: it reads row i's probability at
    column ``y[i]``, which is right only for labels ``0..n_classes - 1``:
    string labels and labels such as ``{1, 2}`` raise an IndexError there,
    and labels ``{-1, 1}`` silently read the probability of class 1 for
    every row (keeping the wrong rows of class -1). imbfast reads the column
    of the row's class in the order of the classifier's ``classes_``
    (``cross_val_predict`` encodes the labels in sorted order), so every
    labelling gives the selection of its 0-based equivalent.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.under_sampling import InstanceHardnessThreshold
    >>> X, y = make_classification(n_samples=300, weights=[0.2, 0.8],
    ...                            random_state=0)
    >>> iht = InstanceHardnessThreshold(random_state=0)
    >>> X_res, y_res = iht.fit_resample(X, y)
    >>> int((y_res == 0).sum()) == int((y == 0).sum())
    True
    """

    _parameter_constraints: dict = {
        **BaseUnderSampler._parameter_constraints,
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "cv": ["cv_object"],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        estimator: Any = None,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        cv: Any = 5,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.estimator = estimator
        self.random_state = random_state
        self.cv = cv
        self.n_jobs = n_jobs

    def _validate_estimator(self, random_state: np.random.RandomState) -> None:
        if self.estimator is None:
            self.estimator_ = RandomForestClassifier(
                n_estimators=100, random_state=self.random_state, n_jobs=self.n_jobs
            )
            return
        if not is_classifier(self.estimator):
            raise ValueError(
                "estimator must be a classifier with predict_proba, got "
                f"{self.estimator!r} (not a classifier)."
            )
        self.estimator_ = clone(self.estimator)
        _seed_random_states(self.estimator_, random_state)

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        random_state = check_random_state(self.random_state)
        self._validate_estimator(random_state)
        if isinstance(self.cv, numbers.Integral):
            folds: Any = StratifiedKFold(
                n_splits=self.cv, shuffle=True, random_state=random_state
            )
        else:
            folds = check_cv(self.cv, y, classifier=True)
        proba = cross_val_predict(
            self.estimator_, X, y, cv=folds, n_jobs=self.n_jobs, method="predict_proba"
        )
        # cross_val_predict encodes y in sorted label order: the classifier's
        # classes_, hence the columns of proba.
        classes, columns = np.unique(y, return_inverse=True)
        own = proba[np.arange(y.shape[0]), columns.ravel()]
        kept = []
        for code, label in enumerate(classes):
            class_rows = np.flatnonzero(columns.ravel() == code)
            if label not in self.sampling_strategy_:
                kept.append(class_rows)
                continue
            n_keep = self.sampling_strategy_[label]
            own_class = own[class_rows]
            threshold = np.percentile(
                own_class, (1.0 - n_keep / class_rows.shape[0]) * 100.0
            )
            kept.append(class_rows[own_class >= threshold])
        self.sample_indices_ = np.concatenate(kept).astype(np.intp, copy=False)
        n_threads = resolve_n_jobs(self.n_jobs)
        return (
            take_rows(X, self.sample_indices_, n_threads),
            _safe_indexing(y, self.sample_indices_),
        )

    def __sklearn_tags__(self):
        """Tags: ``sample_indices_`` is set."""
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags
