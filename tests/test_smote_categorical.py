"""SMOTENC and SMOTEN: imbalanced-learn's output, without its memory blow-up.

Tie rule. imbfast orders equal neighbour distances by the lower sample index
and never counts a sample as its own neighbour; scikit-learn's search, which
imbalanced-learn uses, breaks ties arbitrarily. Parity is therefore tested on
data without distance ties:

- SMOTENC: continuous Gaussian features (make_classification), so that two
  distances (continuous part + a multiple of the category weight) are never
  equal; categorical features with a few levels, so that the category vote
  itself has many ties, which both libraries break with the same
  permutation draws.
- SMOTEN: many features with many levels and class-dependent frequencies,
  so that the Value Difference Metric between distinct rows is generic
  (duplicate rows are at distance 0 from each other but are identical, so
  which of them is taken does not change the output).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from imblearn.metrics.pairwise import ValueDifferenceMetric
from imblearn.over_sampling import SMOTEN as ImbSMOTEN
from imblearn.over_sampling import SMOTENC as ImbSMOTENC
from scipy import sparse
from sklearn.datasets import make_classification
from sklearn.exceptions import DataConversionWarning
from sklearn.neighbors import NearestNeighbors as SkNearestNeighbors
from sklearn.preprocessing import OneHotEncoder

from imbfast import _core
from imbfast.neighbors import last_plan, squared_kneighbors
from imbfast.over_sampling import SMOTEN, SMOTENC

LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def mixed_data(n, weights=(0.8, 0.2), d_cont=5, n_cat=3, levels=4, seed=0):
    """Continuous Gaussian features and integer-coded categories."""
    X, y = make_classification(
        n_samples=n,
        n_features=d_cont,
        n_informative=min(d_cont, 4),
        n_redundant=0,
        n_classes=len(weights),
        n_clusters_per_class=1,
        weights=list(weights),
        random_state=seed,
    )
    C = np.random.RandomState(seed + 1).randint(0, levels, size=(n, n_cat))
    return X, C, y


def assert_same(ours, theirs):
    X1, y1 = ours
    X2, y2 = theirs
    assert type(X1) is type(X2)
    if isinstance(X1, pd.DataFrame):
        pd.testing.assert_frame_equal(X1, X2)
        if isinstance(y1, pd.Series):
            pd.testing.assert_series_equal(y1, y2)
        else:
            assert np.array_equal(y1, y2)
        return
    if sparse.issparse(X1):
        assert X1.format == X2.format
        assert X1.dtype == X2.dtype
        X1, X2 = X1.toarray(), X2.toarray()
    assert X1.dtype == X2.dtype
    assert X1.shape == X2.shape
    assert np.array_equal(X1, X2, equal_nan=X1.dtype.kind == "f")
    assert np.array_equal(y1, y2)


def both(X, y, **params):
    ours = SMOTENC(**params).fit_resample(X, y)
    theirs = ImbSMOTENC(**params).fit_resample(X, y)
    return ours, theirs


# ---------------------------------------------------------------- SMOTENC parity


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("levels", [2, 5])
@pytest.mark.parametrize("seed", [0, 3])
def test_smotenc_dense_parity(dtype, levels, seed):
    X, C, y = mixed_data(500, levels=levels, seed=seed)
    # Categorical columns interleaved with the continuous ones.
    Xn = np.column_stack([C[:, 0], X[:, :2], C[:, 1], X[:, 2:], C[:, 2]]).astype(dtype)
    cats = [0, 3, Xn.shape[1] - 1]
    ours, theirs = both(Xn, y, categorical_features=cats, random_state=seed)
    assert_same(ours, theirs)
    assert ours[0].dtype == dtype


def test_smotenc_fitted_attributes_match():
    X, C, y = mixed_data(400, weights=(0.5, 0.3, 0.2))
    Xn = np.hstack([X, C])
    ours = SMOTENC(categorical_features=[7, 5], random_state=1)
    theirs = ImbSMOTENC(categorical_features=[7, 5], random_state=1)
    ours.fit_resample(Xn, y)
    theirs.fit_resample(Xn, y)
    assert np.array_equal(ours.categorical_features_, theirs.categorical_features_)
    assert np.array_equal(ours.continuous_features_, theirs.continuous_features_)
    assert ours.median_std_ == theirs.median_std_
    assert ours.n_features_ == theirs.n_features_ == Xn.shape[1]
    for a, b in zip(
        ours.categorical_encoder_.categories_,
        theirs.categorical_encoder_.categories_,
        strict=True,
    ):
        assert np.array_equal(a, b)
    assert (
        ours.categorical_encoder_.get_params()
        == theirs.categorical_encoder_.get_params()
    )
    assert ours.nn_k_.n_neighbors == 6


@pytest.mark.parametrize(
    "strategy",
    ["auto", "minority", "not majority", "all", {0: 310, 1: 250, 2: 200}],
)
def test_smotenc_multiclass_string_labels_and_strategies(strategy):
    X, C, y = mixed_data(600, weights=(0.5, 0.3, 0.2), levels=3, seed=2)
    Xn = np.hstack([X, C])
    labels = np.array(["ant", "bee", "cat"])
    if isinstance(strategy, dict):
        strategy = {str(labels[k]): v for k, v in strategy.items()}
    ours, theirs = both(
        Xn,
        labels[y],
        categorical_features=[5, 6, 7],
        random_state=4,
        sampling_strategy=strategy,
    )
    assert_same(ours, theirs)


def test_smotenc_random_state_instance_continues_the_stream():
    X, C, y = mixed_data(600, weights=(0.5, 0.3, 0.2), levels=3)
    Xn = np.hstack([X, C])
    ours = SMOTENC(
        categorical_features=[5, 6, 7], random_state=np.random.RandomState(9)
    ).fit_resample(Xn, y)
    theirs = ImbSMOTENC(
        categorical_features=[5, 6, 7], random_state=np.random.RandomState(9)
    ).fit_resample(Xn, y)
    assert_same(ours, theirs)


def test_smotenc_object_array_with_strings():
    X, C, y = mixed_data(400, levels=6)
    Xo = np.empty((400, 8), dtype=object)
    Xo[:, [0, 2, 4, 5, 7]] = X
    Xo[:, [6, 1, 3]] = LETTERS[C]
    ours, theirs = both(Xo, y, categorical_features=[6, 1, 3], random_state=0)
    assert_same(ours, theirs)
    assert ours[0].dtype == object
    # A boolean mask names the same columns (imbalanced-learn needs a list).
    mask = np.zeros(8, dtype=bool)
    mask[[1, 3, 6]] = True
    ours_mask = SMOTENC(categorical_features=mask, random_state=0).fit_resample(Xo, y)
    theirs_mask = ImbSMOTENC(
        categorical_features=mask.tolist(), random_state=0
    ).fit_resample(Xo, y)
    assert_same(ours_mask, theirs_mask)


def test_smotenc_dataframe_names_auto_and_string_dtype():
    X, C, y = mixed_data(400, levels=5, seed=1)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    df.insert(1, "colour", pd.Categorical(LETTERS[C[:, 0]]))
    df["name"] = pd.Series(LETTERS[C[:, 1]], dtype="string")
    df["code"] = C[:, 2]
    y_s = pd.Series(np.array(["no", "yes"])[y], name="target")
    ours, theirs = both(
        df, y_s, categorical_features=["colour", "name", "code"], random_state=0
    )
    assert_same(ours, theirs)
    assert isinstance(ours[0]["colour"].dtype, pd.CategoricalDtype)

    df_auto = df.copy()
    df_auto["name"] = pd.Categorical(df_auto["name"].astype(str))
    df_auto["code"] = pd.Categorical(df_auto["code"])
    ours, theirs = both(df_auto, y_s, categorical_features="auto", random_state=0)
    assert_same(ours, theirs)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_smotenc_sparse_parity(fmt):
    X, C, y = mixed_data(300, levels=3)
    Xs = sparse.csr_matrix(np.hstack([X, C])).asformat(fmt)
    ours, theirs = both(Xs, y, categorical_features=[5, 6, 7], random_state=0)
    # imbalanced-learn returns CSR for both formats: so does imbfast.
    assert ours[0].format == "csr"
    assert_same(ours, theirs)


def test_smotenc_neighbours_object_and_k():
    X, C, y = mixed_data(500, levels=3)
    Xn = np.hstack([X, C])
    nn = SkNearestNeighbors(n_neighbors=4)
    ours, theirs = both(
        Xn, y, categorical_features=[5, 6, 7], random_state=0, k_neighbors=nn
    )
    assert_same(ours, theirs)
    ours, theirs = both(
        Xn, y, categorical_features=[5, 6, 7], random_state=0, k_neighbors=2
    )
    assert_same(ours, theirs)


def test_smotenc_zero_median_std_votes_with_the_encoder_values():
    X, C, y = mixed_data(300, levels=3)
    Xn = np.hstack([X, C])
    Xn[:, 1:5] = 1.0  # four of five continuous features constant: median std 0
    ours, theirs = both(Xn, y, categorical_features=[5, 6, 7], random_state=0)
    assert_same(ours, theirs)
    sampler = SMOTENC(categorical_features=[5, 6, 7])
    sampler.fit_resample(Xn, y)
    assert sampler.median_std_[1] == 0


def test_smotenc_custom_encoder():
    X, C, y = mixed_data(300, levels=4)
    Xn = np.hstack([X, C])
    enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    ours, theirs = both(
        Xn, y, categorical_features=[5, 6, 7], random_state=0, categorical_encoder=enc
    )
    assert_same(ours, theirs)


def test_smotenc_production_size_threads_do_not_change_the_result():
    """A class of 2,400 rows: many query blocks and candidate tiles."""
    X, C, y = mixed_data(6000, weights=(0.6, 0.4), d_cont=8, levels=6, seed=5)
    Xn = np.hstack([X, C])
    one = SMOTENC(categorical_features=[8, 9, 10], random_state=0, n_jobs=1)
    two = SMOTENC(categorical_features=[8, 9, 10], random_state=0, n_jobs=2)
    r1, r2 = one.fit_resample(Xn, y), two.fit_resample(Xn, y)
    assert_same(r1, r2)
    theirs = ImbSMOTENC(categorical_features=[8, 9, 10], random_state=0).fit_resample(
        Xn, y
    )
    assert_same(r1, theirs)


def test_smotenc_mixed_knn_is_the_scaled_one_hot_search():
    """The core's search equals a brute force on the scaled one-hot matrix."""
    X, C, _ = mixed_data(700, levels=4)
    v = 0.7
    onehot = OneHotEncoder(sparse_output=False).fit_transform(C) * v
    Z = np.hstack([X, onehot])
    d2 = ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    expected = np.argsort(d2, axis=1, kind="stable")[:, :5]
    idx, dist = _core.mixed_knn(
        np.ascontiguousarray(X), C.astype(np.int32), 2 * v * v, 5, 2
    )
    assert np.array_equal(idx, expected)
    assert np.allclose(dist, np.take_along_axis(d2, expected, axis=1))


# ------------------------------------------------------ deliberate differences


def test_smotenc_integer_continuous_features_are_interpolated_in_float():
    X, C, y = mixed_data(300, levels=3)
    Xi = np.hstack([np.round(X * 100), C]).astype(np.int64)
    ours = SMOTENC(categorical_features=[5, 6, 7], random_state=0).fit_resample(Xi, y)
    theirs = ImbSMOTENC(categorical_features=[5, 6, 7], random_state=0).fit_resample(
        Xi, y
    )
    assert ours[0].dtype == np.float64
    assert theirs[0].dtype == np.int64  # imbalanced-learn truncates
    new = ours[0][Xi.shape[0] :, :5]
    assert np.any(new != np.round(new))


def test_smotenc_numpy_array_of_indices():
    X, C, y = mixed_data(200, levels=3)
    Xn = np.hstack([X, C])
    cats = np.array([5, 6, 7])
    X_res, _ = SMOTENC(categorical_features=cats, random_state=0).fit_resample(Xn, y)
    assert_same(
        (X_res, _),
        ImbSMOTENC(categorical_features=cats.tolist(), random_state=0).fit_resample(
            Xn, y
        ),
    )
    # imbalanced-learn compares the array with "auto" and fails.
    with pytest.raises(ValueError, match="truth value"):
        ImbSMOTENC(categorical_features=cats, random_state=0).fit_resample(Xn, y)


# ---------------------------------------------------------------- bad input


def small():
    X, C, y = mixed_data(120, levels=3)
    return np.hstack([X, C]).astype(np.float64), y


@pytest.mark.parametrize(
    ("value", "message"),
    [(np.nan, "Input contains NaN"), (np.inf, "Input contains infinity")],
)
@pytest.mark.parametrize("column", [0, 6])
def test_smotenc_nan_and_inf(value, message, column):
    X, y = small()
    X[3, column] = value
    if column == 6 and np.isnan(value):
        # A NaN category is a category, as in imbalanced-learn.
        ours, theirs = both(X, y, categorical_features=[5, 6, 7], random_state=0)
        assert_same(ours, theirs)
        assert np.isnan(ours[0][:, 6]).sum() >= 1
        return
    for cls in (SMOTENC, ImbSMOTENC):
        with pytest.raises(ValueError, match=message):
            cls(categorical_features=[5, 6, 7]).fit_resample(X, y)


@pytest.mark.parametrize(
    ("cats", "message"),
    [
        ([5, 8], r"all features must be in \[0, 7\]"),
        ([-9], r"all features must be in \[0, 7\]"),
        ([True, False], r"all features must be in \[0, 7\]"),
        (["a"], "only supported for dataframes"),
        ("auto", "should be a pandas.DataFrame"),
        (list(range(8)), "only with categorical features"),
        ([], "only with numerical features"),
    ],
)
def test_smotenc_bad_categorical_features(cats, message):
    X, y = small()
    with pytest.raises(ValueError, match=message):
        SMOTENC(categorical_features=cats).fit_resample(X, y)


def test_smotenc_unknown_column_name():
    X, y = small()
    df = pd.DataFrame(X, columns=list("abcdefgh"))
    with pytest.raises(ValueError, match="not columns of the dataframe"):
        SMOTENC(categorical_features=["f", "zz"]).fit_resample(df, y)


def test_smotenc_k_larger_than_class_and_single_row_class():
    X, y = small()
    n_min = int(np.sum(y == 1))
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
        SMOTENC(categorical_features=[5, 6, 7], k_neighbors=n_min).fit_resample(X, y)
    y1 = np.zeros_like(y)
    y1[0] = 1
    for cls in (SMOTENC, ImbSMOTENC):
        with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
            cls(categorical_features=[5, 6, 7]).fit_resample(X, y1)


def test_smotenc_dropping_encoder_is_rejected():
    X, y = small()
    enc = OneHotEncoder(drop="first")
    with pytest.raises(ValueError, match="one column per category"):
        SMOTENC(categorical_features=[5, 6, 7], categorical_encoder=enc).fit_resample(
            X, y
        )


def test_core_vote_and_search_reject_bad_arguments():
    ohe = sparse.csr_matrix(np.eye(4))
    args = (
        ohe.indptr.astype(np.int64),
        ohe.indices.astype(np.int64),
        ohe.data,
        0,
        4,
        np.array([[1], [0], [3], [2]], dtype=np.int64),
    )
    offsets = _core.vote_candidates(*args, np.array([0, 2], dtype=np.int64))
    assert offsets.tolist() == [0, 1, 2]
    with pytest.raises(IndexError):
        _core.vote_candidates(*args, np.array([7], dtype=np.int64))
    with pytest.raises(ValueError, match="not a permutation"):
        _core.vote_resolve(
            *args,
            np.array([0, 2], dtype=np.int64),
            offsets,
            np.array([0, 0], dtype=np.int64),
        )
    with pytest.raises(ValueError, match="k must be"):
        _core.mixed_knn(np.zeros((3, 2)), np.zeros((3, 1), np.int32), 1.0, 3)
    with pytest.raises(ValueError, match="non-finite"):
        _core.mixed_knn(
            np.array([[0.0], [np.nan], [1.0]]), np.zeros((3, 1), np.int32), 1.0, 1
        )


# ---------------------------------------------------------------- memory


def test_smotenc_many_categories_many_new_rows_stay_small():
    """18,000 new rows, 3 features x 2,000 levels, k=5.

    imbalanced-learn's (new rows, k, one-hot columns) float64 array alone
    would be 18,000 * 5 * 6,000 * 8 bytes = 4.3 GB; imbfast's NumPy
    allocations stay a few times the output.
    """
    rng = np.random.RandomState(0)
    n_maj, n_min = 20_000, 2_000
    X = rng.normal(size=(n_maj + n_min, 4))
    C = rng.randint(0, 2_000, size=(n_maj + n_min, 3)).astype(np.float64)
    Xn = np.hstack([X, C])
    y = np.r_[np.zeros(n_maj, int), np.ones(n_min, int)]
    out_bytes = (n_maj + 2 * n_maj) * Xn.shape[1] * 8
    tracemalloc.start()
    try:
        X_res, y_res = SMOTENC(
            categorical_features=[4, 5, 6], random_state=0
        ).fit_resample(Xn, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert X_res.shape == (2 * n_maj, 7)
    assert np.bincount(y_res).tolist() == [n_maj, n_maj]
    # Every new category is one of the class's neighbours' categories.
    assert np.isin(X_res[n_maj + n_min :, 4], C[y == 1, 0]).all()
    assert peak < out_bytes + 64 * 2**20, peak


# ---------------------------------------------------------------- SMOTEN


def nominal_data(n, weights=(0.8, 0.2), d=8, levels=6, seed=0):
    """Categories whose frequencies depend on the class (a generic VDM)."""
    rng = np.random.RandomState(seed)
    y = rng.choice(len(weights), size=n, p=list(weights))
    X = np.empty((n, d), dtype=np.int64)
    for f in range(d):
        n_levels = levels + f
        for c in range(len(weights)):
            p = rng.dirichlet(np.ones(n_levels))
            X[y == c, f] = rng.choice(n_levels, size=int((y == c).sum()), p=p)
    return X, y


def both_n(X, y, **params):
    return SMOTEN(**params).fit_resample(X, y), ImbSMOTEN(**params).fit_resample(X, y)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("d", [6, 9])
def test_smoten_int_parity(seed, d):
    # Three features with a handful of levels would give distinct rows at
    # equal distances; six or more make the metric generic.
    X, y = nominal_data(500, d=d, seed=seed)
    assert_same(*both_n(X, y, random_state=seed))


def test_smoten_strings_multiclass_and_strategies():
    X, y = nominal_data(700, weights=(0.5, 0.3, 0.2), d=6, seed=3)
    Xs = LETTERS[X].astype(object)
    labels = np.array(["ant", "bee", "cat"])[y]
    for strategy in ["auto", "all", {"ant": 360, "bee": 300, "cat": 250}]:
        assert_same(*both_n(Xs, labels, random_state=1, sampling_strategy=strategy))
    ours = SMOTEN(random_state=np.random.RandomState(5)).fit_resample(Xs, labels)
    theirs = ImbSMOTEN(random_state=np.random.RandomState(5)).fit_resample(Xs, labels)
    assert_same(ours, theirs)
    assert ours[0].dtype == object


def test_smoten_dataframe_and_unicode_array():
    X, y = nominal_data(400, d=5, seed=4)
    df = pd.DataFrame(LETTERS[X], columns=[f"f{i}" for i in range(5)])
    df["f1"] = df["f1"].astype("category")
    assert_same(*both_n(df, pd.Series(y, name="t"), random_state=0))
    assert_same(*both_n(LETTERS[X], y, random_state=0))  # dtype <U1


@pytest.mark.filterwarnings(
    "ignore:Passing a sparse matrix to SMOTEN:sklearn.exceptions.DataConversionWarning"
)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_smoten_sparse_parity(fmt):
    X, y = nominal_data(300, d=5, seed=6)
    assert_same(*both_n(sparse.csr_matrix(X).asformat(fmt), y, random_state=0))


def test_smoten_sparse_warns_like_imblearn():
    X, y = nominal_data(100, d=3)
    with pytest.warns(DataConversionWarning, match="converted to a dense array"):
        SMOTEN(random_state=0).fit_resample(sparse.csr_matrix(X), y)


def test_smoten_float_features_are_categories_as_in_imblearn():
    """A continuous feature gives one category per value: no error, no O(n^2)."""
    X, y = nominal_data(300, d=8, seed=7)
    Xf = X.astype(np.float64)
    Xf[:, 0] = np.random.RandomState(0).normal(size=300)
    assert_same(*both_n(Xf, y, random_state=0))


def test_smoten_neighbours_object_builds_the_matrix_like_imblearn():
    X, y = nominal_data(400, d=6, seed=8)
    nn = SkNearestNeighbors(n_neighbors=4)
    assert_same(*both_n(X, y, random_state=0, k_neighbors=nn))
    assert_same(*both_n(X, y, random_state=0, k_neighbors=2))


def test_smoten_production_size_threads_do_not_change_the_result():
    """A class of about 1,800 rows: many query blocks and tiles, two threads."""
    X, y = nominal_data(6000, weights=(0.7, 0.3), d=10, levels=8, seed=9)
    r1 = SMOTEN(random_state=0, n_jobs=1).fit_resample(X, y)
    r2 = SMOTEN(random_state=0, n_jobs=2).fit_resample(X, y)
    assert_same(r1, r2)
    assert_same(r1, ImbSMOTEN(random_state=0).fit_resample(X, y))


@pytest.mark.parametrize("n_classes", [2, 9, 10])
def test_vdm_core_equals_imblearn_metric_bit_for_bit(n_classes):
    """Tables and distances, including NumPy's pairwise sum over >= 8 classes."""
    rng = np.random.RandomState(n_classes)
    n, d = 400, 4
    y = rng.randint(0, n_classes, size=n)
    X = rng.randint(0, 300, size=(n, d)).astype(np.int32)
    X[:, 1] %= 5
    n_categories = X.max(axis=0).astype(np.int64) + 1
    vdm = ValueDifferenceMetric(n_categories=n_categories).fit(X, y)
    tables = _core.vdm_tables(X, y.astype(np.int64), n_classes, n_categories)
    assert np.array_equal(
        tables, np.concatenate([p.ravel() for p in vdm.proba_per_class_])
    )
    ours = _core.vdm_pairwise(X[:150], X, tables, n_classes, n_categories, 2)
    assert np.array_equal(ours, vdm.pairwise(X[:150], X))
    knn = _core.vdm_knn(X, tables, n_classes, n_categories, 4, 2)
    full = vdm.pairwise(X)
    expected = np.lexsort((np.tile(np.arange(n), (n, 1)), full), axis=1)[:, :4]
    assert np.array_equal(knn, expected)


def test_smoten_bad_input():
    X, y = nominal_data(200, d=3)
    Xf = X.astype(np.float64)
    Xf[0, 0] = np.nan
    for cls in (SMOTEN, ImbSMOTEN):
        with pytest.raises(ValueError, match="contains NaN"):
            cls().fit_resample(Xf, y)
    Xf[0, 0] = np.inf
    with pytest.raises(ValueError, match="contains infinity"):
        SMOTEN().fit_resample(Xf, y)
    n_min = int(np.sum(y == 1))
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
        SMOTEN(k_neighbors=n_min).fit_resample(X, y)
    y1 = np.zeros_like(y)
    y1[0] = 1
    for cls in (SMOTEN, ImbSMOTEN):
        with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
            cls().fit_resample(X, y1)
    with pytest.raises(IndexError):
        _core.vdm_knn(
            np.array([[5]], dtype=np.int32),
            np.ones(2),
            2,
            np.array([1], dtype=np.int64),
            1,
        )


def test_smoten_large_class_without_the_square_matrix():
    """12,000 minority rows: imbalanced-learn's VDM matrix is 1.15 GB."""
    X, y = nominal_data(40_000, weights=(0.7, 0.3), d=4, levels=30, seed=11)
    n_min = int(np.sum(y == 1))
    assert n_min > 11_000
    tracemalloc.start()
    try:
        _, y_res = SMOTEN(random_state=0, n_jobs=2).fit_resample(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.bincount(y_res)[0] == np.bincount(y_res)[1]
    assert peak < 64 * 2**20, peak


# ---------------------------------------------------------------- parameters


@pytest.mark.parametrize("cls", [SMOTENC, SMOTEN])
def test_approx_mode_searches_exactly_and_says_so(cls):
    if cls is SMOTENC:
        X, C, y = mixed_data(400, levels=4)
        X, params = np.hstack([X, C]), {"categorical_features": [5, 6, 7]}
    else:
        X, y = nominal_data(400, d=6)
        params = {}
    exact = cls(random_state=0, **params)
    approx = cls(random_state=0, neighbors="approx", **params)
    assert_same(exact.fit_resample(X, y), approx.fit_resample(X, y))
    assert approx.neighbors_recall_ == 1.0
    assert not hasattr(exact, "neighbors_recall_")


@pytest.mark.parametrize("cls", [SMOTENC, SMOTEN])
def test_parameters_are_validated(cls):
    X, y = nominal_data(100, d=3)
    params = {"categorical_features": [0]} if cls is SMOTENC else {}
    for bad in ({"k_neighbors": 0}, {"neighbors": "fast"}, {"n_jobs": "two"}):
        with pytest.raises(ValueError):
            cls(**params, **bad).fit_resample(X.astype(float), y)


def test_list_input_comes_back_as_a_list():
    X, C, y = mixed_data(200, levels=3)
    Xl = np.hstack([X, C]).tolist()
    ours, theirs = both(Xl, y.tolist(), categorical_features=[5, 6, 7], random_state=0)
    assert isinstance(ours[0], list) and ours[0] == theirs[0]
    assert list(ours[1]) == list(theirs[1])
    Xn, yn = nominal_data(200, d=6)
    ours, theirs = both_n(Xn.tolist(), yn.tolist(), random_state=0)
    assert isinstance(ours[0], list) and ours[0] == theirs[0]


@pytest.mark.parametrize(
    ("n", "d_cont", "engine"), [(16_000, 2, "tree"), (6_000, 20, "brute")]
)
def test_smotenc_pruned_search_at_production_size(n, d_cont, engine):
    """Classes of 2,400-7,200 rows with 300-level categories: the search
    takes its candidates from imbfast.neighbors' exact continuous search
    (KD-tree at d=2, fused brute force at d=20) and the rows sharing a
    category."""
    weights = (0.55, 0.45) if n > 10_000 else (0.6, 0.4)
    X, C, y = mixed_data(
        n, weights=weights, d_cont=d_cont, n_cat=3, levels=300, seed=12
    )
    Xn = np.hstack([X, C])
    cats = list(range(d_cont, d_cont + 3))
    ours = SMOTENC(categorical_features=cats, random_state=0, n_jobs=2)
    result = ours.fit_resample(Xn, y)
    plan = last_plan()
    assert plan["n"] == plan["n_queries"] == int(np.sum(y == 1))
    assert plan["algorithm"] == engine
    theirs = ImbSMOTENC(categorical_features=cats, random_state=0).fit_resample(Xn, y)
    assert_same(result, theirs)


@pytest.mark.parametrize("levels", [3, 400])
def test_core_pruned_search_equals_brute_force(levels):
    """Proven lists and rescanned ones (few levels) both equal the brute force."""
    X, C, _ = mixed_data(3000, d_cont=6, n_cat=4, levels=levels, seed=13)
    codes = C.astype(np.int32)
    expected, dist = _core.mixed_knn(X, codes, 0.8, 5, 2)
    cand, cand_sq = squared_kneighbors(X, 21, n_threads=2)
    idx, dist2, rescanned = _core.mixed_knn_pruned(
        X, codes, 0.8, 5, cand, np.ascontiguousarray(cand_sq[:, -1]), 750, 2
    )
    assert np.array_equal(idx, expected) and np.array_equal(dist, dist2)
    if levels == 3:
        assert rescanned == 3000
    else:
        assert rescanned < 300
