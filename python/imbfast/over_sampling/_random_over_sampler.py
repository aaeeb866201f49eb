"""Random over-sampling with imbalanced-learn's draws and a C++ row gather."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from numbers import Real
from typing import Any

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from scipy import sparse
from sklearn.utils import (
    _safe_indexing,
    check_array,
    check_random_state,
)
from sklearn.utils._param_validation import Interval
from sklearn.utils.sparsefuncs import mean_variance_axis

from imbfast.base import (
    DaskDispatchMixin,
    check_X_y,
    is_dense_numeric,
    resolve_n_jobs,
    stack_rows,
    take_rows,
)


class RandomOverSampler(DaskDispatchMixin, BaseOverSampler):
    """Over-sample by picking samples at random with replacement.

    A drop-in for :class:`imblearn.over_sampling.RandomOverSampler`: the same
    parameters and, for the same integer ``random_state``, the same output and
    ``sample_indices_``. With ``shrinkage`` it draws a smoothed bootstrap
    (Gaussian noise around each picked sample, scaled per feature).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        What to over-sample, as in imbalanced-learn (see
        :class:`imbfast.over_sampling.SMOTE`).
    random_state : int, RandomState instance or None, default=None
        Seeds the draws; one stream for the whole call.
    shrinkage : float or dict, default=None
        Factor of the smoothed bootstrap: a float for every class or a dict
        per class; ``None`` is a plain bootstrap.
    n_jobs : int, default=None
        Threads for gathering rows, ``None`` (default) uses every core
        the process may use, ``1`` one thread (see
        ``imbfast.base.resolve_n_jobs``).

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples to generate per class.
    sample_indices_ : ndarray of shape (n_new_samples,)
        Row of the input each output row was taken from.
    shrinkage_ : dict or None
        The per-class shrinkage factors used.
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``.

    Notes
    -----
    Deliberate difference: with ``shrinkage``, float32 input stays float32
    (imbalanced-learn returns float64).

    Peak memory: the output, plus with ``shrinkage`` one float64 noise block
    per class.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.over_sampling import RandomOverSampler
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            random_state=10)
    >>> X_res, y_res = RandomOverSampler(random_state=0).fit_resample(X, y)
    >>> sorted(Counter(y_res).items())
    [(np.int64(0), 898), (np.int64(1), 898)]
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "shrinkage": [Interval(Real, 0, None, closed="left"), dict, None],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        shrinkage: float | dict | None = None,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.shrinkage = shrinkage
        self.n_jobs = n_jobs

    def _check_X_y(self, X: Any, y: Any) -> tuple[Any, np.ndarray, bool]:
        return check_X_y(self, X, y)

    def resolve_shrinkage(self) -> dict | None:
        """``shrinkage`` as a factor per resampled class (``shrinkage_``).

        Part of the protocol the in-memory and dask paths share, with
        :meth:`smoothing_scale`. The draws, in imbalanced-learn's order: for
        each class of ``sampling_strategy_``, ``random_state.choice`` of its
        rows (with replacement), then with shrinkage
        ``random_state.randn(n_new, n_features)`` scaled by
        :meth:`smoothing_scale`.

        Returns
        -------
        shrinkage : dict or None
            Class label to factor; ``None`` without smoothing.
        """
        if isinstance(self.shrinkage, Real):
            shrinkage = {klass: self.shrinkage for klass in self.sampling_strategy_}
        elif self.shrinkage is None or isinstance(self.shrinkage, Mapping):
            shrinkage = self.shrinkage
        if shrinkage is None:
            return None
        missing = self.sampling_strategy_.keys() - shrinkage.keys()
        if missing:
            raise ValueError(
                "`shrinkage` should contain a shrinkage factor for "
                "each class that will be resampled. The missing "
                f"classes are: {missing!r}"
            )
        for klass, factor in shrinkage.items():
            if factor < 0:
                raise ValueError(
                    "The shrinkage factor needs to be >= 0. "
                    f"Got {factor} for class {klass}."
                )
        return shrinkage

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        random_state = check_random_state(self.random_state)
        n_threads = resolve_n_jobs(self.n_jobs)
        self.shrinkage_ = self.resolve_shrinkage()
        if self.shrinkage_ is not None:
            try:
                X = check_array(X, accept_sparse=["csr", "csc"], dtype="numeric")
            except ValueError as exc:
                raise ValueError(
                    "When shrinkage is not None, X needs to contain only "
                    "numerical data to later generate a smoothed bootstrap "
                    "sample."
                ) from exc

        # Same draws, in the same order, as imbalanced-learn.
        picks = []
        for class_sample, num_samples in self.sampling_strategy_.items():
            class_indices = np.flatnonzero(y == class_sample)
            bootstrap = random_state.choice(
                class_indices, size=num_samples, replace=True
            )
            noise = None
            if self.shrinkage_ is not None:
                noise = self._smoothing_noise(
                    X, class_indices, class_sample, num_samples, random_state
                )
            picks.append((bootstrap, noise))

        n = y.shape[0]
        new_indices = np.concatenate(
            [np.empty(0, dtype=np.intp)] + [b for b, _ in picks]
        ).astype(np.intp, copy=False)
        self.sample_indices_ = np.concatenate([np.arange(n), new_indices])
        y_resampled = np.concatenate([y, y[new_indices]])

        if self.shrinkage_ is None and is_dense_numeric(X) and X.flags.c_contiguous:
            # One output buffer, filled by the C++ gather.
            return take_rows(X, self.sample_indices_, n_threads), y_resampled

        blocks = []
        for bootstrap, noise in picks:
            picked = take_rows(X, bootstrap, n_threads)
            if noise is None:
                blocks.append(picked)
                continue
            if sparse.issparse(picked):
                picked = picked.toarray()
            noise += picked
            dtype = X.dtype if X.dtype.kind == "f" else np.float64
            block = noise.astype(dtype, copy=False)
            blocks.append(sparse.csr_matrix(block) if sparse.issparse(X) else block)
        if not sparse.issparse(X) and not isinstance(X, np.ndarray):
            X = np.asarray(X)
        return stack_rows(X, blocks), y_resampled

    def _smoothing_noise(
        self,
        X: Any,
        class_indices: np.ndarray,
        class_sample: Any,
        num_samples: int,
        random_state: np.random.RandomState,
    ) -> np.ndarray:
        """Gaussian noise of the smoothed bootstrap, drawn as imbalanced-learn does.

        imbalanced-learn multiplies the draws by a diagonal matrix; scaling
        each column gives the same values without the matrix product.
        """
        scale = self.smoothing_scale(
            _safe_indexing(X, class_indices), X.shape[0], class_sample
        )
        noise = random_state.randn(num_samples, X.shape[1])
        noise *= scale
        return noise

    def smoothing_scale(
        self, X_class: Any, n_samples: int, class_sample: Any
    ) -> np.ndarray:
        """Standard deviation of the smoothed bootstrap's noise, per feature.

        imbalanced-learn's rule: the class's spread times its shrinkage
        factor (``shrinkage_``) and ``(4 / ((d + 2) n)) ** (1 / (d + 4))``.

        Parameters
        ----------
        X_class : {ndarray, sparse matrix} of shape (n_class, n_features)
            The rows of the class.
        n_samples : int
            Rows of the whole data set.
        class_sample : label
            The class.

        Returns
        -------
        scale : ndarray of shape (n_features,)
        """
        n_features = X_class.shape[1]
        smoothing_constant = (4 / ((n_features + 2) * n_samples)) ** (
            1 / (n_features + 4)
        )
        if sparse.issparse(X_class):
            _, variance = mean_variance_axis(X_class, axis=0)
            scale = np.sqrt(variance, out=variance)
        else:
            scale = np.std(X_class, axis=0)
        return self.shrinkage_[class_sample] * smoothing_constant * scale

    def __sklearn_tags__(self):
        """Tags: strings and NaN pass through, ``sample_indices_`` is set."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.sampler_tags.sample_indices = True
        return tags
