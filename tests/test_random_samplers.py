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


# ------------------------------------------------- NumPy's legacy shuffle


def _core_choice(rs: np.random.RandomState, n: int, size: int) -> np.ndarray:
    from imbfast import _core

    state = rs.get_state(legacy=False)
    key = np.array(state["state"]["key"], dtype=np.uint32)
    picks, pos = _core.legacy_permutation(key, int(state["state"]["pos"]), n, size)
    state["state"] = {"key": key, "pos": pos}
    rs.set_state(state)
    return picks


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("n", [0, 1, 2, 3, 31, 33, 623, 624, 625, 5000])
def test_legacy_permutation_is_numpy_bit_for_bit(seed, n):
    # The same picks as RandomState.choice(replace=False), and the generator
    # left in the same state (its next draws agree), from any position in
    # the 624-word block (the warm-up draws move it).
    ours, theirs = np.random.RandomState(seed), np.random.RandomState(seed)
    ours.random_sample(seed * 53 % 700)
    theirs.random_sample(seed * 53 % 700)
    for size in sorted({0, n // 3, n}):
        expected = theirs.choice(n, size, replace=False) if n else np.empty(0, int)
        np.testing.assert_array_equal(_core_choice(ours, n, size), expected)
    after = ours.randint(1 << 62, size=3), theirs.randint(1 << 62, size=3)
    np.testing.assert_array_equal(*after)


@pytest.mark.parametrize(
    "key, pos, n, size, message",
    [
        (np.zeros(624, dtype=np.uint64), 0, 3, 1, "dtype uint32"),
        (np.zeros(600, dtype=np.uint32), 0, 3, 1, "shape"),
        (np.zeros(624, dtype=np.uint32), 625, 3, 1, "pos"),
        (np.zeros(624, dtype=np.uint32), 0, -1, 0, "n must be"),
        (np.zeros(624, dtype=np.uint32), 0, 3, 4, "size must be"),
    ],
)
def test_legacy_permutation_rejects_bad_input(key, pos, n, size, message):
    from imbfast import _core

    with pytest.raises(ValueError, match=message):
        _core.legacy_permutation(key, pos, n, size)


@pytest.mark.parametrize("random_state", [0, "instance", None])
def test_under_sampler_large_class_parity(random_state):
    # Classes above LEGACY_SHUFFLE_MIN rows take the core's shuffle: same
    # rows as imbalanced-learn, and a user's RandomState is advanced alike.
    from imbfast.base import LEGACY_SHUFFLE_MIN

    n = LEGACY_SHUFFLE_MIN + 30_000
    y = np.zeros(n, dtype=np.int64)
    y[::7] = 1
    y[::11] = 2
    X = np.arange(n, dtype=np.float64).reshape(-1, 1)
    if random_state == "instance":
        ours_rs, theirs_rs = np.random.RandomState(5), np.random.RandomState(5)
    elif random_state is None:
        # The process-wide generator keeps NumPy's own call: seeded for both.
        ours_rs = theirs_rs = None
        np.random.seed(11)  # noqa: NPY002
    else:
        ours_rs = theirs_rs = random_state
    ours = RandomUnderSampler(random_state=ours_rs)
    X_a, y_a = ours.fit_resample(X, y)
    if random_state is None:
        np.random.seed(11)  # noqa: NPY002
    theirs = ImbRUS(random_state=theirs_rs)
    X_b, y_b = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    np.testing.assert_array_equal(X_a, X_b)
    np.testing.assert_array_equal(y_a, y_b)
    if random_state == "instance":
        assert ours_rs.randint(1 << 30) == theirs_rs.randint(1 << 30)


@pytest.mark.parametrize(
    "y",
    [
        np.arange(70_000) % 3,
        (np.arange(70_000) % 256 - 128).astype(np.int8),
        (np.arange(70_000) % 5 * 2**61).astype(np.uint64),
        np.arange(70_000, dtype=np.uint64) + 2**63,
        np.array([3, 1, 2]),
        np.where(np.arange(70_000) % 2, "b", "a"),
    ],
)
def test_sorted_labels_is_unique(y):
    from imbfast.base import sorted_labels

    got, expected = sorted_labels(y), np.unique(y)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == expected.dtype
