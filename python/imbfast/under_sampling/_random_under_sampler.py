"""Random under-sampling with imbalanced-learn's draws and a C++ row gather."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from imblearn.under_sampling.base import BaseUnderSampler
from sklearn.utils import _safe_indexing, check_random_state

from imbfast.base import (
    DaskDispatchMixin,
    check_X_y,
    choice_without_replacement,
    resolve_n_jobs,
    sorted_labels,
    take_rows,
)


class RandomUnderSampler(DaskDispatchMixin, BaseUnderSampler):
    """Under-sample by keeping a random subset of each targeted class.

    A drop-in for :class:`imblearn.under_sampling.RandomUnderSampler`: the
    same parameters and, for the same integer ``random_state``, the same
    output and ``sample_indices_`` (rows grouped by class, classes in sorted
    order).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        What to under-sample, as in imbalanced-learn: a float (binary
        problems only) is the desired minority/majority ratio; 'majority',
        'not minority', 'not majority', 'all' or 'auto' (= 'not minority')
        name the classes brought down to the minority count; a dict maps
        each class to the number of samples to keep; a callable takes y and
        returns such a dict.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws; one stream for the whole call.
    replacement : bool, default=False
        Whether to draw with replacement.
    n_jobs : int, default=None
        Threads for gathering rows, ``None`` (default) uses every core
        the process may use, ``1`` one thread (see
        ``imbfast.base.resolve_n_jobs``).

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples to keep per targeted class.
    sample_indices_ : ndarray of shape (n_new_samples,)
        Rows of the input kept, in output order.
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``.

    Notes
    -----
    Peak memory: the output plus one int64 index per kept row.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.under_sampling import RandomUnderSampler
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            random_state=10)
    >>> X_res, y_res = RandomUnderSampler(random_state=0).fit_resample(X, y)
    >>> sorted(Counter(y_res).items())
    [(np.int64(0), 102), (np.int64(1), 102)]
    """

    _parameter_constraints: dict = {
        **BaseUnderSampler._parameter_constraints,
        "replacement": ["boolean"],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        replacement: bool = False,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.replacement = replacement
        self.n_jobs = n_jobs

    def _check_X_y(self, X: Any, y: Any) -> tuple[Any, np.ndarray, bool]:
        return check_X_y(self, X, y)

    def draw_sample_indices(self, y: np.ndarray) -> np.ndarray:
        """Rows kept, in output order, drawn as imbalanced-learn draws them.

        The random draw of this sampler, shared by the in-memory and the
        dask paths: classes in sorted order, one random stream (from
        ``random_state``) for the call. Needs ``sampling_strategy_``.

        Parameters
        ----------
        y : ndarray of shape (n_samples,)
            The labels.

        Returns
        -------
        indices : ndarray of int
            The rows kept (``sample_indices_``).
        """
        random_state = check_random_state(self.random_state)
        kept = []
        for target_class in sorted_labels(y):
            class_indices = np.flatnonzero(y == target_class)
            if target_class in self.sampling_strategy_:
                n_class = class_indices.shape[0]
                size = self.sampling_strategy_[target_class]
                if self.replacement:
                    picks = random_state.choice(n_class, size=size, replace=True)
                else:
                    picks = choice_without_replacement(random_state, n_class, size)
                class_indices = class_indices[picks]
            kept.append(class_indices)
        return np.concatenate(kept) if kept else np.empty(0, dtype=np.intp)

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self.sample_indices_ = self.draw_sample_indices(y)
        X_resampled = take_rows(X, self.sample_indices_, resolve_n_jobs(self.n_jobs))
        return X_resampled, _safe_indexing(y, self.sample_indices_)

    def __sklearn_tags__(self):
        """Tags: strings and NaN pass through, ``sample_indices_`` is set."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.sampler_tags.sample_indices = True
        return tags
