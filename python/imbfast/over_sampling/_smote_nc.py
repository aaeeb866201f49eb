"""SMOTE-NC without the dense (new rows, k, categories) array.

imbalanced-learn one-hot encodes every categorical feature of the whole
dataset, scales the one-hot cells of each class by the median standard
deviation of its continuous features, and votes the categories of each new
sample through a dense (new rows, k, one-hot columns) array. imbfast draws the
same random numbers in the same order but

- fits the encoder on each column's distinct values (the same categories),
- encodes only the rows of the class being over-sampled,
- searches that class's neighbours exactly under SMOTE-NC's distance
  (continuous squared differences plus a constant per differing category)
  without building the scaled one-hot matrix: candidates from
  imbfast.neighbors' continuous-only search and the rows sharing a category,
  proven complete by the C++ core, or the core's brute force,
- votes the categories of the new rows in the C++ core, streaming over them,
  with imbalanced-learn's tie rule (a permutation of all tied candidates,
  drawn by NumPy between the core's two passes),
- writes everything into one output array allocated once.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_neighbors_object
from scipy import sparse
from sklearn.base import clone
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import _safe_indexing, check_array, check_random_state
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import validate_data

from imbfast import _core
from imbfast.base import DaskDispatchMixin, resolve_n_jobs, target_labels
from imbfast.neighbors import (
    NEIGHBORS_CONSTRAINT,
    NEIGHBORS_COUNT_CONSTRAINT,
    NearestNeighbors,
    NeighborsModeMixin,
    algorithm_for,
    neighbors_excluding_self,
    squared_kneighbors,
)

# Rows converted, checked and copied at a time when streaming over X.
_CHUNK_ROWS = 1 << 16
# Classes up to this size are searched by the core's brute force directly.
_BRUTE_MAX_CLASS = 2000
# Continuous-only neighbours fetched per row beyond k by the pruned search.
_EXTRA_CONTINUOUS = 16


def is_dataframe(X: Any) -> bool:
    """Whether X is a pandas DataFrame (pandas is not imported)."""
    return (
        type(X).__name__ == "DataFrame" and hasattr(X, "iloc") and hasattr(X, "dtypes")
    )


def column_indices(X: Any, key: Any) -> np.ndarray:
    """Positions of the columns ``key`` names: ints, a bool mask or names.

    Raises imbalanced-learn's (scikit-learn's) errors for indices out of
    range and for names on something that is not a DataFrame.
    """
    n_columns = X.shape[1]
    key_arr = np.asarray(key)
    if key_arr.ndim == 0:
        key_arr = key_arr.reshape(1)
    if key_arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if key_arr.dtype.kind == "b":
        if key_arr.shape[0] != n_columns:
            raise ValueError(
                f"all features must be in [0, {n_columns - 1}] or [-{n_columns}, 0]"
            )
        return np.flatnonzero(key_arr).astype(np.int64)
    if key_arr.dtype.kind in "iu":
        if key_arr.min() < -n_columns or key_arr.max() >= n_columns:
            raise ValueError(
                f"all features must be in [0, {n_columns - 1}] or [-{n_columns}, 0]"
            )
        return np.where(key_arr < 0, key_arr + n_columns, key_arr).astype(np.int64)
    if key_arr.dtype.kind in "UO" and all(isinstance(k, str) for k in key_arr):
        if not is_dataframe(X):
            raise ValueError(
                "Specifying the columns using strings is only supported for dataframes."
            )
        columns = list(X.columns)
        missing = [k for k in key_arr if k not in columns]
        if missing:
            raise ValueError(
                f"Some column names are not columns of the dataframe: {missing}"
            )
        return np.array([columns.index(k) for k in key_arr], dtype=np.int64)
    raise ValueError(
        "No valid specification of the columns. Only a scalar, list or slice of all "
        "integers or all strings, or boolean mask is allowed"
    )


def row_chunks(n: int) -> list[slice]:
    """Consecutive row slices of at most ``_CHUNK_ROWS`` rows covering [0, n)."""
    return [slice(i, min(n, i + _CHUNK_ROWS)) for i in range(0, n, _CHUNK_ROWS)]


def take(X: Any, rows: Any = None, cols: Any = None) -> Any:
    """X[rows][:, cols] for arrays, sparse matrices and DataFrames."""
    if rows is not None:
        X = X.iloc[rows] if is_dataframe(X) else X[rows]
    if cols is not None:
        X = _safe_indexing(X, cols, axis=1)
    return X


class SMOTENC(NeighborsModeMixin, DaskDispatchMixin, BaseOverSampler):
    """SMOTE for continuous and categorical features, without its memory blow-up.

    A drop-in for :class:`imblearn.over_sampling.SMOTENC`: the same
    parameters, fitted attributes and, for the same integer
    ``random_state``, the same output on data without equal neighbour
    distances. Continuous features are interpolated as in SMOTE; each
    categorical feature of a new sample takes the most frequent category
    among the ``k_neighbors`` neighbours of the sample it starts from (ties
    broken at random, with imbalanced-learn's draws). Distances count every
    differing category as the median standard deviation of the class's
    continuous features.

    Parameters
    ----------
    categorical_features : "auto" or array-like of int, bool or str
        Which features are categorical: "auto" (the columns of a DataFrame
        with a ``pandas.CategoricalDtype``), their indices, a boolean mask
        of shape (n_features,), or column names of a DataFrame.
    categorical_encoder : estimator, default=None
        One-hot encoder of the categorical features, with one column per
        category. ``None`` uses ``OneHotEncoder(handle_unknown="ignore")``
        with the dtype of the continuous features.
    sampling_strategy : float, str, dict or callable, default='auto'
        What to over-sample, as in imbalanced-learn (see
        :class:`imbfast.over_sampling.SMOTE`).
    random_state : int, RandomState instance or None, default=None
        Seeds the draws. An int restarts the stream for every class (and
        for the category vote), as imbalanced-learn does.
    k_neighbors : int or object, default=5
        Number of nearest neighbours within the class, or an object with
        ``kneighbors`` and ``kneighbors_graph`` (its ``n_neighbors`` counts
        the sample itself); such an object is fitted on the class's scaled
        one-hot matrix, as in imbalanced-learn.
    n_jobs : int, default=None
        Threads for the neighbour search, the interpolation and the vote,
        with joblib's meaning. The output does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        Accepted for symmetry with the other samplers. SMOTE-NC's distance
        mixes continuous and categorical parts, which the approximate
        engines do not index: the search is always exact and
        ``neighbors_recall_`` is then 1.0.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples to generate per class.
    nn_k_ : estimator object
        The neighbour searcher. With an int ``k_neighbors`` it is an
        unfitted :class:`imbfast.neighbors.NearestNeighbors` describing the
        search (``k_neighbors + 1`` neighbours, self included): the search
        runs in imbfast's categorical kernel, which finds the neighbours of
        the scaled one-hot matrix without building it. A neighbours object
        given as ``k_neighbors`` is cloned and fitted on the last class's
        scaled one-hot matrix (sparse, class rows only), as in
        imbalanced-learn.
    categorical_encoder_ : estimator
        The fitted one-hot encoder.
    categorical_features_ : ndarray of shape (n_cat_features,), dtype=int64
        Indices of the categorical features.
    continuous_features_ : ndarray of shape (n_cont_features,), dtype=int64
        Indices of the continuous features.
    median_std_ : dict of class label -> float
        Median of the standard deviations of the continuous features, for
        each over-sampled class.
    n_features_ : int
        Number of features.
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample`` (DataFrames with
        string column names).
    neighbors_recall_ : float
        Only with ``neighbors="approx"``: 1.0 (the search is exact).

    Notes
    -----
    Differences from imbalanced-learn, all deliberate:

    - Neighbours exclude the sample itself by index and order equal
      distances by index (imbalanced-learn drops the first column of a
      search that breaks ties arbitrarily).
    - Integer continuous features are interpolated in float64 (imbalanced-
      learn computes everything, including the one-hot scale, in the
      integer dtype and truncates).

    Peak memory beyond the output: one column of X at a time while the
    encoder is fitted, the rows of the class being over-sampled (continuous
    part, category codes, a CSR one-hot), O(n_class * (k + 16)) neighbour
    candidates, the draws (two numbers per new row) and, per categorical
    feature, the candidates of the vote (one int64 per tied candidate: the
    permutation imbalanced-learn draws over them). Neither a one-hot copy of
    X nor a (new rows, k, categories) array is built.

    The neighbour search is exact. For a class of more than 2,000 rows
    whose categories are spread out, each row's candidates are its ``k + 16``
    nearest rows under the continuous features alone (imbfast's exact
    engines) and the rows sharing one of its categories; the core proves
    that nothing else can be closer (every other row differs in all
    categories and is farther in the continuous part) or searches that row
    by brute force. Other classes are searched by the core's brute force
    (O(n_class^2) time, O(n_class * k) memory).

    Examples
    --------
    >>> from collections import Counter
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.over_sampling import SMOTENC
    >>> X, y = make_classification(n_classes=2, class_sep=2, weights=[0.1, 0.9],
    ...                            n_informative=3, n_redundant=1, flip_y=0,
    ...                            n_features=20, n_clusters_per_class=1,
    ...                            n_samples=1000, random_state=10)
    >>> X[:, -2:] = np.random.RandomState(10).randint(0, 4, size=(1000, 2))
    >>> X_res, y_res = SMOTENC(categorical_features=[18, 19],
    ...                        random_state=42).fit_resample(X, y)
    >>> sorted(Counter(y_res).items())
    [(np.int64(0), 900), (np.int64(1), 900)]
    """

    _required_parameters = ["categorical_features"]

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "categorical_features": ["array-like", StrOptions({"auto"})],
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
        categorical_features: Any,
        *,
        categorical_encoder: Any = None,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        k_neighbors: Any = 5,
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.categorical_features = categorical_features
        self.categorical_encoder = categorical_encoder
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    # ------------------------------------------------------------ checks

    def _check_X_y(self, X: Any, y: Any) -> tuple[Any, np.ndarray, bool]:
        """Let strings and DataFrames through; continuous columns are checked later."""
        y, binarize_y = target_labels(y)
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
        if n_samples < 1:
            raise ValueError(
                f"Found array with {n_samples} sample(s) while a minimum of 1 is "
                "required."
            )
        if not is_dataframe(X):
            X = check_array(
                X, dtype=None, accept_sparse=["csr", "csc"], ensure_all_finite=False
            )
        validate_data(self, X=X, y=y, reset=True, skip_check_array=True)
        return X, y, binarize_y

    def _validate_column_types(self, X: Any) -> None:
        if isinstance(self.categorical_features, str):
            if not is_dataframe(X):
                raise ValueError(
                    "When `categorical_features='auto'`, the input data "
                    f"should be a pandas.DataFrame. Got {type(X)} instead."
                )
            import pandas as pd

            is_cat = np.array(
                [isinstance(dtype, pd.CategoricalDtype) for dtype in X.dtypes],
                dtype=bool,
            )
            self.categorical_features_ = np.flatnonzero(is_cat)
            self.continuous_features_ = np.flatnonzero(~is_cat)
        else:
            self.categorical_features_ = column_indices(X, self.categorical_features)
            self.continuous_features_ = np.setdiff1d(
                np.arange(self.n_features_), self.categorical_features_
            )

    def _validate_estimator(self) -> None:
        if isinstance(self.k_neighbors, numbers.Integral):
            self.nn_k_ = NearestNeighbors(
                n_neighbors=int(self.k_neighbors) + 1,
                n_jobs=self.n_jobs,
                algorithm=algorithm_for(self.neighbors),
            )
        else:
            self.nn_k_ = check_neighbors_object("k_neighbors", self.k_neighbors)
        if self.categorical_features_.size == self.n_features_in_:
            raise ValueError(
                "SMOTE-NC is not designed to work only with categorical "
                "features. It requires some numerical features."
            )
        if self.categorical_features_.size == 0:
            raise ValueError(
                "SMOTE-NC is not designed to work only with numerical "
                "features. It requires some categorical features."
            )

    # ------------------------------------------------------------ encoding

    def _continuous_dtype(self, X: Any) -> np.dtype:
        """Check every continuous value (row chunks) and return their dtype."""
        dtype = None
        cont = self.continuous_features_
        if sparse.issparse(X):
            X_cont = check_array(take(X, cols=cont), accept_sparse=["csr", "csc"])
            return X_cont.dtype
        for chunk in row_chunks(X.shape[0]):
            block = check_array(take(X, chunk, cont), accept_sparse=["csr", "csc"])
            dtype = block.dtype if dtype is None else np.result_type(dtype, block.dtype)
        return np.dtype(dtype)

    def _dense_continuous(self, X: Any, rows: Any, dtype: np.dtype) -> np.ndarray:
        """The checked continuous columns of some rows, as a dense array."""
        block = check_array(
            take(X, rows, self.continuous_features_), accept_sparse=["csr", "csc"]
        )
        if sparse.issparse(block):
            block = block.toarray()
        return block.astype(dtype, copy=False)

    def _fit_encoder(self, X: Any, dtype: np.dtype) -> Any:
        """Fit categorical_encoder_ without a one-hot (or full) copy of X.

        The default encoder's categories are each column's distinct values:
        every column is fitted alone, then the encoder is fitted on a small
        table holding those values, which gives it the same categories.
        A user-given encoder is fitted on all the categorical columns, as
        imbalanced-learn does; its one-hot output is returned (else None).
        """
        cat = self.categorical_features_
        if self.categorical_encoder is not None:
            self.categorical_encoder_ = clone(self.categorical_encoder)
            X_cat = take(X, cols=cat)
            X_ohe = self.categorical_encoder_.fit_transform(
                X_cat.toarray() if sparse.issparse(X_cat) else X_cat
            )
            return sparse.csr_matrix(X_ohe)
        self.categorical_encoder_ = OneHotEncoder(handle_unknown="ignore", dtype=dtype)
        uniques = []
        for j in cat:
            col = take(X, cols=[j])
            if sparse.issparse(col):
                col = col.toarray()
            enc = OneHotEncoder(handle_unknown="ignore", dtype=dtype).fit(col)
            uniques.append(enc.categories_[0])
        n_rows = max(u.shape[0] for u in uniques)
        padded = [
            np.concatenate([u, np.repeat(u[-1:], n_rows - u.shape[0])]) for u in uniques
        ]
        if is_dataframe(X):
            import pandas as pd

            table = pd.DataFrame(
                {
                    X.columns[j]: pd.Series(p, dtype=X.dtypes.iloc[j])
                    for j, p in zip(cat, padded, strict=True)
                }
            )
        else:
            table = np.empty((n_rows, cat.size), dtype=X.dtype)
            for f, p in enumerate(padded):
                table[:, f] = p
        self.categorical_encoder_.fit(table)
        return None

    def _check_encoder_width(self, n_columns: int) -> None:
        n_categories = sum(c.size for c in self.categorical_encoder_.categories_)
        if n_columns != n_categories:
            raise ValueError(
                "SMOTENC requires a one-hot encoding with one column per category "
                "for the categorical features. The provided `categorical_encoder` "
                f"produced {n_columns} columns for {n_categories} categories. "
                "This happens when the encoder drops columns (e.g. "
                "`OneHotEncoder(drop=...)`) or merges infrequent categories, which "
                "is not supported. Pass an encoder that keeps all categories, such "
                "as `OneHotEncoder(handle_unknown='ignore')`."
            )

    # ------------------------------------------------------------ resampling

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self.n_features_ = X.shape[1]
        self._validate_column_types(X)
        self._validate_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        cont, cat = self.continuous_features_, self.categorical_features_

        dtype = self._continuous_dtype(X)
        # imbalanced-learn would compute in an integer dtype here; imbfast
        # interpolates integer features in float64.
        work_dtype = (
            dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
        )
        X_ohe_all = self._fit_encoder(X, work_dtype)
        categories = self.categorical_encoder_.categories_
        widths = np.array([c.size for c in categories], dtype=np.int64)
        if X_ohe_all is not None:
            self._check_encoder_width(X_ohe_all.shape[1])
        starts = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)

        # Per class: the neighbours, the draws and the category votes. Dense
        # output is allocated once and each class writes into it; sparse and
        # DataFrame output collect the new rows and stack them.
        self.median_std_ = {}
        n = y.shape[0]
        n_new = sum(int(v) for v in self.sampling_strategy_.values())
        dense = not (sparse.issparse(X) or is_dataframe(X))
        out = self._dense_original(X, X_ohe_all, n_new, work_dtype) if dense else None
        y_res = np.empty(n + n_new, dtype=y.dtype)
        y_res[:n] = y
        blocks = []
        offset = n
        for class_sample, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            idx = np.flatnonzero(y == class_sample)
            sink = (
                _IntoOutput(self, out, offset)
                if dense
                else _Collected(n_samples, cont.size, cat.size, work_dtype)
            )
            self._class_block(
                X,
                X_ohe_all,
                idx,
                class_sample,
                n_samples,
                work_dtype,
                starts,
                n_threads,
                sink,
            )
            y_res[offset : offset + n_samples] = class_sample
            offset += n_samples
            if not dense:
                blocks.append((class_sample, sink.cont_new, sink.codes_new))

        if sparse.issparse(X):
            return self._assemble_sparse(X, X_ohe_all, blocks, work_dtype), y_res
        if is_dataframe(X):
            return self._assemble_frame(X, blocks, work_dtype), y_res
        return out, y_res

    def _class_block(
        self,
        X: Any,
        X_ohe_all: Any,
        idx: np.ndarray,
        class_sample: Any,
        n_samples: int,
        dtype: np.dtype,
        starts: np.ndarray,
        n_threads: int,
        sink: Any,
    ) -> None:
        """New continuous values and category codes of one class, to ``sink``."""
        cont, cat = self.continuous_features_, self.categorical_features_
        X_rows = take(X, idx)
        X_cont = check_array(take(X_rows, cols=cont), accept_sparse=["csr"])
        if sparse.issparse(X_cont):
            X_cont = X_cont.toarray()
        X_cont = np.ascontiguousarray(X_cont, dtype=dtype)
        _, var = mean_variance_axis(sparse.csr_matrix(X_cont), axis=0)
        median_std = np.median(np.sqrt(var))
        self.median_std_[class_sample] = median_std

        if X_ohe_all is None:
            X_cat = take(X_rows, cols=cat)
            del X_rows
            ohe = self.categorical_encoder_.transform(
                X_cat.toarray() if sparse.issparse(X_cat) else X_cat
            )
            del X_cat
        else:
            del X_rows
            ohe = X_ohe_all[idx]
        ohe = sparse.csr_matrix(ohe, dtype=dtype)
        ohe.sum_duplicates()
        ohe.sort_indices()
        # The one-hot cells of the class as imbalanced-learn scales them; when
        # the median is 0 it votes with the encoder's own values instead.
        scale = np.asarray(median_std / np.sqrt(2), dtype=dtype)
        if math.isclose(median_std, 0):
            vote_data = np.ascontiguousarray(ohe.data)
        else:
            vote_data = np.full(ohe.nnz, scale, dtype=dtype)

        n_c, n_cat = X_cont.shape[0], cat.size
        k_total = self.nn_k_.n_neighbors
        if k_total > n_c:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k_total}, "
                f"n_samples_fit = {n_c}, n_samples = {n_c}"
            )
        codes = _one_code_per_feature(ohe, starts)
        if isinstance(self.nn_k_, NearestNeighbors) and codes is not None:
            nns = _mixed_neighbors(
                X_cont, codes, 2.0 * float(scale) ** 2, k_total - 1, n_threads
            )
        else:
            # A neighbours object (or an encoder with several active columns
            # per feature) searches the scaled one-hot matrix of the class,
            # as in imbalanced-learn.
            scaled = ohe.copy()
            scaled.data[:] = scale
            Z = sparse.hstack(
                [sparse.csr_matrix(X_cont), scaled], format="csr", dtype=dtype
            )
            nns = neighbors_excluding_self(self.nn_k_, Z)
            del Z, scaled
        nns = np.ascontiguousarray(nns, dtype=np.int64)

        # imbalanced-learn's draws: the sample and neighbour, the step ...
        random_state = check_random_state(self.random_state)
        samples = random_state.randint(low=0, high=nns.size, size=n_samples)
        steps = random_state.uniform(size=n_samples)
        samples = samples.astype(np.int64, copy=False)
        for rows in row_chunks(n_samples):
            block = np.empty((rows.stop - rows.start, X_cont.shape[1]), dtype=dtype)
            _core.smote_interpolate(
                X_cont, nns, samples[rows], steps[rows], block, n_threads
            )
            sink.cont(rows, block)

        # ... then, from a fresh generator, one permutation per categorical
        # feature to break ties in the vote.
        base_rows = np.ascontiguousarray(samples // nns.shape[1])
        del samples, steps
        vote_rng = check_random_state(self.random_state)
        if codes is None:
            full = (
                ohe.indptr.astype(np.int64),
                ohe.indices.astype(np.int64),
                vote_data,
            )
        else:
            # One category per row and feature: each feature's vote reads a
            # one-entry-per-row CSR of its own column block (same values).
            row_ptr = np.arange(n_c + 1, dtype=np.int64)
            values = vote_data.reshape(n_c, n_cat)
        del ohe
        for f in range(n_cat):
            if codes is None:
                csr = full
            else:
                csr = (
                    row_ptr,
                    codes[:, f].astype(np.int64) + starts[f],
                    np.ascontiguousarray(values[:, f]),
                )
            args = (*csr, int(starts[f]), int(starts[f + 1]), nns, base_rows)
            offsets = _core.vote_candidates(*args, n_threads)
            perm = vote_rng.permutation(int(offsets[-1])).astype(np.int64, copy=False)
            sink.cat(f, _core.vote_resolve(*args, offsets, perm, n_threads))
            del offsets, perm

    # ------------------------------------------------------------ output

    def _output_dtype(self, dtype: np.dtype) -> np.dtype:
        cat_dtype = np.result_type(
            *[c.dtype for c in self.categorical_encoder_.categories_]
        )
        return np.result_type(dtype, cat_dtype)

    def _decoded(self, f: int, codes: np.ndarray) -> np.ndarray:
        return self.categorical_encoder_.categories_[f][codes]

    def _dense_original(
        self, X: np.ndarray, X_ohe_all: Any, n_new: int, dtype: np.dtype
    ) -> np.ndarray:
        """The output array, its first rows holding X as imbalanced-learn returns it."""
        cont, cat = self.continuous_features_, self.categorical_features_
        n = X.shape[0]
        out = np.empty((n + n_new, X.shape[1]), dtype=self._output_dtype(dtype))
        for chunk in row_chunks(n):
            out[chunk, cont] = self._dense_continuous(X, chunk, dtype)
            if X_ohe_all is None:
                out[chunk, cat] = take(X, chunk, cat)
            else:
                # A user-given encoder: the original rows come back through
                # it, as in imbalanced-learn.
                ones = sparse.csr_matrix(X_ohe_all[chunk])
                ones.data = np.ones_like(ones.data)
                out[chunk, cat] = self.categorical_encoder_.inverse_transform(ones)
        return out

    def _assemble_frame(self, X: Any, blocks: list, dtype: np.dtype) -> Any:
        import pandas as pd

        cont, cat = self.continuous_features_, self.categorical_features_
        where = {int(j): f for f, j in enumerate(cat)}
        X_cont = np.concatenate(
            [
                self._dense_continuous(X, chunk, dtype)
                for chunk in row_chunks(X.shape[0])
            ]
            + [b[1] for b in blocks]
        )
        columns = {}
        for pos in range(X.shape[1]):
            if pos in where:
                f = where[pos]
                original = np.asarray(X.iloc[:, pos])
                new = [self._decoded(f, b[2][:, f]) for b in blocks]
                values = (
                    np.concatenate([original.astype(object), *new]) if new else original
                )
            else:
                values = X_cont[:, int(np.searchsorted(cont, pos))]
            columns[pos] = values
        frame = pd.DataFrame(columns)
        frame.columns = X.columns
        return frame

    def _assemble_sparse(
        self, X: Any, X_ohe_all: Any, blocks: list, dtype: np.dtype
    ) -> sparse.csr_matrix:
        cont, cat = self.continuous_features_, self.categorical_features_
        X_cont = sparse.csr_matrix(take(X, cols=cont), dtype=dtype)
        cont_all = sparse.vstack(
            [X_cont] + [sparse.csr_matrix(b[1]) for b in blocks], format="csr"
        )
        X_cat = take(X, cols=cat).toarray()
        new_cat = [
            np.column_stack(
                [self._decoded(f, b[2][:, f]) for f in range(cat.size)]
            ).astype(X_cat.dtype if X_cat.dtype.kind != "O" else object)
            for b in blocks
        ]
        cat_all = np.vstack([X_cat, *new_cat])
        stacked = sparse.hstack((cont_all, cat_all), format="csr")
        order = np.argsort(np.hstack((cont, cat)))
        return stacked[:, order]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # imbalanced-learn's SMOTENC accepts CSR/CSC input but says it does
        # not; imbfast's tag tells the truth.
        tags.input_tags.sparse = True
        tags.input_tags.string = True
        return tags


class _IntoOutput:
    """Writes one class's new rows straight into the dense output."""

    def __init__(self, sampler: SMOTENC, out: np.ndarray, offset: int) -> None:
        self.sampler, self.out, self.offset = sampler, out, offset

    def cont(self, rows: slice, block: np.ndarray) -> None:
        start, stop = self.offset + rows.start, self.offset + rows.stop
        self.out[start:stop, self.sampler.continuous_features_] = block

    def cat(self, f: int, codes: np.ndarray) -> None:
        column = self.sampler.categorical_features_[f]
        stop = self.offset + codes.shape[0]
        self.out[self.offset : stop, column] = self.sampler._decoded(f, codes)


class _Collected:
    """Keeps one class's new rows (sparse and DataFrame output)."""

    def __init__(self, n_new: int, n_cont: int, n_cat: int, dtype: np.dtype) -> None:
        self.cont_new = np.empty((n_new, n_cont), dtype=dtype)
        self.codes_new = np.empty((n_new, n_cat), dtype=np.int64)

    def cont(self, rows: slice, block: np.ndarray) -> None:
        self.cont_new[rows] = block

    def cat(self, f: int, codes: np.ndarray) -> None:
        self.codes_new[:, f] = codes


def _mixed_neighbors(
    X_cont: np.ndarray, codes: np.ndarray, cat_weight: float, k: int, n_threads: int
) -> np.ndarray:
    """Exact k-NN of a class under SMOTE-NC's distance (self excluded).

    Large classes whose categories are spread out (a row shares a category
    with few others) take candidates from an exact continuous-only search
    (imbfast.neighbors) plus the rows sharing a category, which the core
    proves complete or answers by brute force; the others, and small
    classes, go straight to the core's brute force. Both give the same
    lists.
    """
    n_c = X_cont.shape[0]
    shared = sum(
        float(np.sum(np.bincount(codes[:, g]).astype(np.float64) ** 2)) / n_c
        for g in range(codes.shape[1])
    )
    if n_c <= _BRUTE_MAX_CLASS or shared > n_c / 8:
        return _core.mixed_knn(X_cont, codes, cat_weight, k, n_threads)[0]
    kc = min(n_c - 1, k + _EXTRA_CONTINUOUS)
    cand, cand_sq = squared_kneighbors(X_cont, kc, n_threads=n_threads)
    kth_sq = np.ascontiguousarray(cand_sq[:, -1])
    del cand_sq
    return _core.mixed_knn_pruned(
        X_cont, codes, cat_weight, k, cand, kth_sq, n_c // 4, n_threads
    )[0]


def _one_code_per_feature(
    ohe: sparse.csr_matrix, starts: np.ndarray
) -> np.ndarray | None:
    """Category codes (n, n_features) int32, or None.

    None unless every row has exactly one active column per feature block.
    """
    n_cat = starts.shape[0] - 1
    n = ohe.shape[0]
    if ohe.nnz != n * n_cat or not np.all(np.diff(ohe.indptr) == n_cat):
        return None
    cols = ohe.indices.reshape(n, n_cat).astype(np.int64)
    if not (np.all(cols >= starts[:-1]) and np.all(cols < starts[1:])):
        return None
    return np.ascontiguousarray(cols - starts[:-1], dtype=np.int32)
