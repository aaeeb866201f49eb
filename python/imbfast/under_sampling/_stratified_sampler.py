"""Exact stratified under-sampling by keyed hashes (partition-independent)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from imblearn.under_sampling.base import BaseUnderSampler
from sklearn.utils import _safe_indexing

from imbfast.base import DaskDispatchMixin, check_X_y, resolve_n_jobs, take_rows
from imbfast.sampling import stratified_sample


class StratifiedSampler(DaskDispatchMixin, BaseUnderSampler):
    """Under-sample each targeted class to an exact count, reproducibly at scale.

    Like :class:`imbfast.under_sampling.RandomUnderSampler` it keeps a uniform
    random subset of each targeted class, but the rows are chosen by
    :func:`imbfast.sampling.stratified_sample`: per class, the rows with the
    smallest hash of ``(seed, row index)``. The choice is the same however the
    data is split (whole, streamed in chunks, partitioned) and for any
    ``n_jobs``; it differs from imbalanced-learn's ``RandomUnderSampler``
    draws.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        imbalanced-learn's under-sampling forms: a float (binary problems) is
        the minority/majority ratio after resampling; 'majority',
        'not minority', 'not majority', 'all', 'auto' (= 'not minority')
        bring the named classes to the minority count; a dict maps classes to
        the rows to keep; a callable takes y and returns such a dict.
    random_state : int, RandomState instance or None, default=None
        An int is the hash seed; otherwise one seed is drawn from it.
    replacement : bool, default=False
        Draw with replacement (exact counts; see ``stratified_sample``).
    n_jobs : int, default=None
        Threads, ``None`` (default) uses every core the process may use,
        ``1`` one thread (see ``imbfast.base.resolve_n_jobs``).

    Attributes
    ----------
    sampling_strategy_ : dict
        Rows to keep per targeted class.
    sample_indices_ : ndarray of shape (n_new_samples,)
        Rows kept: classes in sorted label order, rows ascending within each.
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.under_sampling import StratifiedSampler
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            random_state=10)
    >>> X_res, y_res = StratifiedSampler(random_state=0).fit_resample(X, y)
    >>> sorted(Counter(y_res.tolist()).items())
    [(0, 102), (1, 102)]
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

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        n_threads = resolve_n_jobs(self.n_jobs)
        target = {label: int(n) for label, n in self.sampling_strategy_.items()}
        self.sample_indices_ = stratified_sample(
            y,
            target,
            replace=self.replacement,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
        return take_rows(X, self.sample_indices_, n_threads), _safe_indexing(
            y, self.sample_indices_
        )

    def __sklearn_tags__(self):
        """Tags: strings and NaN pass through, ``sample_indices_`` is set."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.sampler_tags.sample_indices = True
        return tags
