"""SMOTEN without the (n_class, n_class) distance matrix.

imbalanced-learn computes the Value Difference Metric between every pair of
rows of the class being over-sampled and hands that dense matrix to a
precomputed-metric neighbour search: O(n_class^2) memory. imbfast builds the
same per-feature class-conditional probability tables, then streams the
brute-force search over the class in the C++ core (O(n_class * k) memory,
same distances to the last bit), and takes the feature-wise mode of each
drawn row's neighbourhood there too.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_neighbors_object
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning
from sklearn.neighbors import NearestNeighbors as SkNearestNeighbors
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import validate_data

from imbfast import _core
from imbfast.base import DaskDispatchMixin, resolve_n_jobs, target_labels
from imbfast.neighbors import (
    NEIGHBORS_CONSTRAINT,
    NEIGHBORS_COUNT_CONSTRAINT,
    NeighborsModeMixin,
)

# Rows encoded at a time.
_CHUNK_ROWS = 1 << 16


class SMOTEN(NeighborsModeMixin, DaskDispatchMixin, BaseOverSampler):
    """SMOTE for nominal (categorical-only) features, in O(n * k) memory.

    A drop-in for :class:`imblearn.over_sampling.SMOTEN`: the same
    parameters and, for the same integer ``random_state``, the same output
    on data without ties in the Value Difference Metric. Each new sample is
    the feature-wise most frequent category (ties to the smallest code) of
    the ``k_neighbors + 1`` rows nearest to a randomly drawn row of the
    class (the row itself included), under the Value Difference Metric
    ``sum_f (sum_c |P(c | a_f) - P(c | b_f)|)^2``.

    Parameters
    ----------
    categorical_encoder : estimator, default=None
        Ordinal encoder of the features; ``None`` uses
        ``OrdinalEncoder(dtype=np.int32)``.
    sampling_strategy : float, str, dict or callable, default='auto'
        What to over-sample, as in imbalanced-learn (see
        :class:`imbfast.over_sampling.SMOTE`).
    random_state : int, RandomState instance or None, default=None
        Seeds the draws. An int restarts the stream for every class, as
        imbalanced-learn does.
    k_neighbors : int or object, default=5
        Number of nearest neighbours, or an object with ``kneighbors`` and
        ``kneighbors_graph`` accepting ``metric="precomputed"``. Such an
        object is fitted on the class's full VDM matrix, as in
        imbalanced-learn (O(n_class^2) memory); an int never builds it.
    n_jobs : int, default=None
        Threads for the search and the modes, with joblib's meaning. The
        output does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        Accepted for symmetry with the other samplers: the VDM search is
        always exact, and ``neighbors_recall_`` is then 1.0.

    Attributes
    ----------
    categorical_encoder_ : estimator
        The fitted ordinal encoder.
    sampling_strategy_ : dict
        Number of samples to generate per class.
    nn_k_ : estimator object
        The neighbours object with ``metric="precomputed"``; with an int
        ``k_neighbors`` it is left unfitted (the search streams in imbfast's
        core instead of fitting it on an n_class x n_class matrix).
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample`` (DataFrames with
        string column names).
    neighbors_recall_ : float
        Only with ``neighbors="approx"``: 1.0 (the search is exact).

    Notes
    -----
    Equally distant rows are taken in index order (scikit-learn's
    precomputed search takes them in an arbitrary order). Float features
    are categories like any other value, as in imbalanced-learn: a
    continuous feature gives one category per distinct value.

    Peak memory beyond the output: the ordinal codes of X (int32), the VDM
    tables (categories x classes per feature, plus the level-pair terms of
    features with at most 256 categories), O(n_class * (k + 1)) neighbours
    and the codes of the new rows. Time: O(n_class^2 * n_features) per
    class.

    Examples
    --------
    >>> import numpy as np
    >>> from collections import Counter
    >>> from imbfast.over_sampling import SMOTEN
    >>> X = np.array(["A"] * 10 + ["B"] * 20 + ["C"] * 30, dtype=object).reshape(-1, 1)
    >>> y = np.array([0] * 20 + [1] * 40, dtype=np.int32)
    >>> X_res, y_res = SMOTEN(random_state=0).fit_resample(X, y)
    >>> sorted(Counter(y_res).items())
    [(np.int32(0), 40), (np.int32(1), 40)]
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "categorical_encoder": [
            HasMethods(["fit_transform", "inverse_transform"]),
            None,
        ],
        "random_state": ["random_state"],
        "k_neighbors": NEIGHBORS_COUNT_CONSTRAINT,
        "n_jobs": [numbers.Integral, None],
        "neighbors": NEIGHBORS_CONSTRAINT,
    }

    def __init__(
        self,
        categorical_encoder: Any = None,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        k_neighbors: Any = 5,
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.categorical_encoder = categorical_encoder
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    def _check_X_y(self, X: Any, y: Any) -> tuple[Any, np.ndarray, bool]:
        """Accept strings and CSR/CSC input (densified later, as imblearn)."""
        y, binarize_y = target_labels(y)
        X, y = validate_data(
            self, X=X, y=y, reset=True, dtype=None, accept_sparse=["csr", "csc"]
        )
        return X, y, binarize_y

    def _validate_estimator(self) -> None:
        if isinstance(self.k_neighbors, numbers.Integral):
            self.nn_k_ = SkNearestNeighbors(
                n_neighbors=int(self.k_neighbors) + 1, metric="precomputed"
            )
        else:
            self.nn_k_ = check_neighbors_object(
                "k_neighbors", self.k_neighbors, additional_neighbor=1
            )
            self.nn_k_.set_params(metric="precomputed")

    def _encode(self, X: np.ndarray) -> np.ndarray:
        """Fit categorical_encoder_ and return X's codes as C-contiguous int32."""
        if self.categorical_encoder is not None:
            self.categorical_encoder_ = clone(self.categorical_encoder)
            codes = self.categorical_encoder_.fit_transform(X)
            return np.ascontiguousarray(codes, dtype=np.int32)
        self.categorical_encoder_ = OrdinalEncoder(dtype=np.int32)
        self.categorical_encoder_.fit(X)
        codes = np.empty(X.shape, dtype=np.int32)
        for start in range(0, X.shape[0], _CHUNK_ROWS):
            rows = slice(start, start + _CHUNK_ROWS)
            codes[rows] = self.categorical_encoder_.transform(X[rows])
        return codes

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        sparse_format = None
        if sparse.issparse(X):
            sparse_format = X.format
            X = X.toarray()
            warnings.warn(
                "Passing a sparse matrix to SMOTEN is not really efficient since it"
                " is converted to a dense array internally.",
                DataConversionWarning,
                stacklevel=2,
            )
        self._validate_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        codes = self._encode(X)
        categories = self.categorical_encoder_.categories_
        n_categories = np.array([len(c) for c in categories], dtype=np.int64)
        classes, class_codes = np.unique(y, return_inverse=True)
        tables = _core.vdm_tables(
            codes,
            class_codes.astype(np.int64),
            classes.shape[0],
            n_categories,
            n_threads,
        )

        news = []
        for class_sample, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            codes_c = np.ascontiguousarray(codes[y == class_sample])
            n_c = codes_c.shape[0]
            k_total = self.nn_k_.n_neighbors
            vdm = (tables, classes.shape[0], n_categories)
            if isinstance(self.k_neighbors, numbers.Integral):
                if k_total > n_c:
                    raise ValueError(
                        f"Expected n_neighbors <= n_samples_fit, but n_neighbors = "
                        f"{k_total}, n_samples_fit = {n_c}, n_samples = {n_c}"
                    )
                nn = _core.vdm_knn(codes_c, *vdm, k_total, n_threads)
            else:
                dist = _core.vdm_pairwise(codes_c, codes_c, *vdm, n_threads)
                self.nn_k_.fit(dist)
                nn = self.nn_k_.kneighbors(dist, return_distance=False)
                del dist
            nn = np.ascontiguousarray(nn, dtype=np.int64)
            random_state = check_random_state(self.random_state)
            rows = random_state.choice(np.arange(n_c), size=n_samples, replace=True)
            new_codes = _core.neighbourhood_mode(
                codes_c, nn, rows.astype(np.int64), n_threads
            )
            news.append((class_sample, new_codes))

        n, n_new = X.shape[0], sum(c.shape[0] for _, c in news)
        default = self.categorical_encoder is None
        if default:
            decoded = [c.dtype for c in categories]
            blocks = []
        else:
            blocks = [self.categorical_encoder_.inverse_transform(c) for _, c in news]
            decoded = [b.dtype for b in blocks]
        out_dtype = np.result_type(X.dtype, *decoded)
        X_res = np.empty((n + n_new, X.shape[1]), dtype=out_dtype)
        X_res[:n] = X
        y_res = np.empty(n + n_new, dtype=y.dtype)
        y_res[:n] = y
        offset = n
        for i, (class_sample, new_codes) in enumerate(news):
            m = new_codes.shape[0]
            if default:
                for f, cats in enumerate(categories):
                    X_res[offset : offset + m, f] = cats[new_codes[:, f]]
            else:
                X_res[offset : offset + m] = blocks[i]
            y_res[offset : offset + m] = class_sample
            offset += m

        if sparse_format == "csr":
            return sparse.csr_matrix(X_res), y_res
        if sparse_format == "csc":
            return sparse.csc_matrix(X_res), y_res
        return X_res, y_res

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags
