"""RandomOverSampler and RandomUnderSampler: imbalanced-learn's exact output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import RandomOverSampler as ImbROS
from imblearn.under_sampling import RandomUnderSampler as ImbRUS
from scipy import sparse
from sklearn.datasets import load_digits

from imbfast.over_sampling import RandomOverSampler
from imbfast.under_sampling import RandomUnderSampler, StratifiedSampler

PAIRS = [(RandomOverSampler, ImbROS), (RandomUnderSampler, ImbRUS)]
IDS = ["RandomOverSampler", "RandomUnderSampler"]


def run_both(ours_cls, theirs_cls, X, y, **params):
    ours = ours_cls(**params)
    theirs = theirs_cls(**params)
    return ours, ours.fit_resample(X, y), theirs, theirs.fit_resample(X, y)


def assert_same(a, b):
    (X1, y1), (X2, y2) = a, b
    assert type(X1) is type(X2)
    if sparse.issparse(X1):
        assert X1.format == X2.format and X1.dtype == X2.dtype
        X1, X2 = X1.toarray(), X2.toarray()
    if isinstance(X1, pd.DataFrame):
        pd.testing.assert_frame_equal(X1, X2)
        pd.testing.assert_series_equal(y1, y2)
        return
    assert np.asarray(X1).dtype == np.asarray(X2).dtype
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
@pytest.mark.parametrize("data", ["binary_data", "multiclass_data"])
def test_dense_parity(request, pair, dtype, data):
    X, y = request.getfixturevalue(data)
    X = (X * 10).astype(dtype)
    ours, r1, theirs, r2 = run_both(*pair, X, y, random_state=0)
    assert_same(r1, r2)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
@pytest.mark.parametrize("strategy", ["auto", "not minority", "not majority", "all"])
def test_string_strategies(multiclass_data, pair, strategy):
    X, y = multiclass_data
    ours, r1, theirs, r2 = run_both(
        *pair, X, y, random_state=2, sampling_strategy=strategy
    )
    assert_same(r1, r2)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)


@pytest.mark.parametrize(
    "pair, strategy",
    [
        (PAIRS[0], "minority"),
        (PAIRS[0], 0.5),
        (PAIRS[0], {0: 100, 1: 600}),
        (PAIRS[0], lambda y: {0: 300}),
        (PAIRS[1], "majority"),
        (PAIRS[1], 0.5),
        (PAIRS[1], {0: 30, 1: 100}),
        (PAIRS[1], lambda y: {1: 70}),
    ],
)
def test_other_strategies(binary_data, pair, strategy):
    X, y = binary_data
    ours, r1, theirs, r2 = run_both(
        *pair, X, y, random_state=2, sampling_strategy=strategy
    )
    assert_same(r1, r2)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)


def test_under_sampling_with_replacement(multiclass_data):
    X, y = multiclass_data
    ours, r1, theirs, r2 = run_both(
        RandomUnderSampler, ImbRUS, X, y, random_state=4, replacement=True
    )
    assert_same(r1, r2)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse(binary_data, pair, fmt):
    X, y = binary_data
    Xs = sparse.csr_matrix(np.where(np.abs(X) < 0.7, 0, X)).asformat(fmt)
    _, r1, _, r2 = run_both(*pair, Xs, y, random_state=0)
    assert_same(r1, r2)


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_pandas_with_mixed_dtypes(binary_data, pair):
    X, y = binary_data
    df = pd.DataFrame(
        {
            "a": X[:, 0],
            "b": (X[:, 1] * 10).astype(np.int16),
            "c": np.where(X[:, 2] > 0, "up", "down"),
        }
    )
    ys = pd.Series(y, name="label")
    _, r1, _, r2 = run_both(*pair, df, ys, random_state=0)
    assert_same(r1, r2)


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_strings_and_nan_pass_through(binary_data, pair):
    X, y = binary_data
    X_obj = X.astype(object)
    X_obj[0, 0] = "text"
    X_obj[1, 1] = np.nan
    labels = np.array(["no", "yes"])[y]
    _, r1, _, r2 = run_both(*pair, X_obj, labels, random_state=0)
    assert r1[0].dtype == object
    assert [list(map(str, row)) for row in r1[0]] == [list(map(str, r)) for r in r2[0]]
    np.testing.assert_array_equal(r1[1], r2[1])


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_bundled_digits(pair):
    X, y = load_digits(return_X_y=True)
    ours, r1, theirs, r2 = run_both(*pair, X, y, random_state=11)
    assert_same(r1, r2)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
@pytest.mark.parametrize("n_jobs", [1, 2, -1])
def test_n_jobs_does_not_change_output(multiclass_data, pair, n_jobs):
    X, y = multiclass_data
    ref = pair[0](random_state=0).fit_resample(X, y)
    assert_same(pair[0](random_state=0, n_jobs=n_jobs).fit_resample(X, y), ref)


def test_non_contiguous_input(multiclass_data):
    X, y = multiclass_data
    X_f = np.asfortranarray(X)
    X_strided = np.hstack([X, X])[:, ::2]
    for X_in in (X_f, X_strided):
        for ours_cls, theirs_cls in PAIRS:
            _, r1, _, r2 = run_both(ours_cls, theirs_cls, X_in, y, random_state=0)
            assert_same(r1, r2)


class TestShrinkage:
    @pytest.mark.parametrize("shrinkage", [0.0, 0.5, 2.0, {0: 1.0}])
    def test_parity_float64(self, binary_data, shrinkage):
        X, y = binary_data
        ours, r1, theirs, r2 = run_both(
            RandomOverSampler, ImbROS, X, y, random_state=0, shrinkage=shrinkage
        )
        assert_same(r1, r2)
        assert ours.shrinkage_ == theirs.shrinkage_

    def test_multiclass(self, multiclass_data):
        X, y = multiclass_data
        _, r1, _, r2 = run_both(
            RandomOverSampler, ImbROS, X, y, random_state=0, shrinkage=0.3
        )
        assert_same(r1, r2)

    def test_sparse(self, binary_data):
        X, y = binary_data
        Xs = sparse.csr_matrix(np.where(np.abs(X) < 0.7, 0, X))
        _, r1, _, r2 = run_both(
            RandomOverSampler, ImbROS, Xs, y, random_state=0, shrinkage=0.5
        )
        assert_same(r1, r2)

    def test_float32_is_kept(self, binary_data):
        # imbalanced-learn returns float64 here; imbfast keeps float32 and
        # its values are imbalanced-learn's rounded to float32.
        X, y = binary_data
        X32 = X.astype(np.float32)
        X1, y1 = RandomOverSampler(random_state=0, shrinkage=0.5).fit_resample(X32, y)
        X2, y2 = ImbROS(random_state=0, shrinkage=0.5).fit_resample(X32, y)
        assert X1.dtype == np.float32
        assert X2.dtype == np.float64
        np.testing.assert_array_equal(X1, X2.astype(np.float32))
        np.testing.assert_array_equal(y1, y2)

    def test_missing_class(self, multiclass_data):
        X, y = multiclass_data
        with pytest.raises(ValueError, match="should contain a shrinkage factor"):
            RandomOverSampler(shrinkage={0: 1.0}).fit_resample(X, y)

    def test_negative(self, binary_data):
        X, y = binary_data
        with pytest.raises(ValueError, match="The shrinkage factor needs to be >= 0"):
            RandomOverSampler(shrinkage={0: -1.0}).fit_resample(X, y)
        with pytest.raises(ValueError, match="'shrinkage' parameter"):
            RandomOverSampler(shrinkage=-1.0).fit_resample(X, y)

    def test_non_numeric(self, binary_data):
        X, y = binary_data
        X_obj = X.astype(str).astype(object)
        X_obj[0, 0] = "text"
        with pytest.raises(ValueError, match="X needs to contain only numerical"):
            RandomOverSampler(shrinkage=1.0).fit_resample(X_obj, y)


class TestBadInput:
    @pytest.mark.parametrize("cls", [RandomOverSampler, RandomUnderSampler])
    def test_one_class(self, binary_data, cls):
        X, _ = binary_data
        with pytest.raises(ValueError, match="needs to have more than 1 class"):
            cls().fit_resample(X, np.zeros(len(X)))

    def test_under_sampling_too_many(self, binary_data):
        X, y = binary_data
        with pytest.raises(ValueError, match="With under-sampling methods"):
            RandomUnderSampler(sampling_strategy={0: 10_000}).fit_resample(X, y)

    def test_under_sampling_minority_string(self, binary_data):
        X, y = binary_data
        with pytest.raises(
            ValueError, match="'sampling_strategy' parameter of RandomUnderSampler"
        ):
            RandomUnderSampler(sampling_strategy="minority").fit_resample(X, y)

    def test_replacement_type(self, binary_data):
        X, y = binary_data
        with pytest.raises(ValueError, match="'replacement' parameter"):
            RandomUnderSampler(replacement="yes").fit_resample(X, y)

    def test_continuous_target(self, binary_data):
        X, _ = binary_data
        with pytest.raises(ValueError, match="Unknown label type"):
            RandomUnderSampler().fit_resample(X, np.linspace(0, 1, len(X)))

    def test_mismatched_lengths(self, binary_data):
        X, y = binary_data
        with pytest.raises(ValueError, match="inconsistent numbers of samples"):
            RandomOverSampler().fit_resample(X, y[:-1])


@pytest.mark.parametrize(
    "cls",
    [
        RandomUnderSampler,
        RandomOverSampler,
        StratifiedSampler,
    ],
)
def test_x_and_y_of_different_lengths_rejected(cls):
    X = np.zeros((10, 2))
    y = np.array([0, 1] * 6)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cls().fit_resample(X, y)
