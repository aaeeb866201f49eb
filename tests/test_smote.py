"""SMOTE: imbalanced-learn's exact output for the same random_state."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE as ImbSMOTE
from scipy import sparse
from sklearn.datasets import load_breast_cancer, load_wine, make_classification
from sklearn.neighbors import NearestNeighbors as SkNearestNeighbors
from sklearn.utils._param_validation import InvalidParameterError

from imbfast.neighbors import NearestNeighbors
from imbfast.over_sampling import SMOTE


def assert_same(ours, theirs):
    X1, y1 = ours
    X2, y2 = theirs
    assert type(X1) is type(X2)
    if sparse.issparse(X1):
        assert X1.format == X2.format
        X1, X2 = X1.toarray(), X2.toarray()
    if isinstance(X1, pd.DataFrame):
        pd.testing.assert_frame_equal(X1, X2)
        pd.testing.assert_series_equal(y1, y2)
        return
    assert np.asarray(X1).dtype == np.asarray(X2).dtype
    assert np.array_equal(X1, X2)
    assert np.array_equal(y1, y2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("data", ["binary_data", "multiclass_data"])
def test_dense_parity(request, data, dtype):
    X, y = request.getfixturevalue(data)
    X = X.astype(dtype)
    ours = SMOTE(random_state=0).fit_resample(X, y)
    theirs = ImbSMOTE(random_state=0).fit_resample(X, y)
    assert_same(ours, theirs)
    assert ours[0].dtype == dtype


@pytest.mark.parametrize(
    "strategy",
    [
        "auto",
        "minority",
        "not minority",
        "not majority",
        "all",
        {0: 150, 1: 400, 2: 540},
        lambda y: {0: 200, 1: 300},
    ],
)
def test_every_sampling_strategy_form(multiclass_data, strategy):
    X, y = multiclass_data
    ours = SMOTE(sampling_strategy=strategy, random_state=3).fit_resample(X, y)
    theirs = ImbSMOTE(sampling_strategy=strategy, random_state=3).fit_resample(X, y)
    assert_same(ours, theirs)


@pytest.mark.parametrize("ratio", [0.5, 1.0])
def test_float_sampling_strategy(binary_data, ratio):
    X, y = binary_data
    ours = SMOTE(sampling_strategy=ratio, random_state=1).fit_resample(X, y)
    theirs = ImbSMOTE(sampling_strategy=ratio, random_state=1).fit_resample(X, y)
    assert_same(ours, theirs)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_parity(binary_data, fmt):
    X, y = binary_data
    X = np.where(np.abs(X) < 0.5, 0.0, X)  # some structure for sparsity
    Xs = sparse.csr_matrix(X).asformat(fmt)
    ours = SMOTE(random_state=0).fit_resample(Xs, y)
    theirs = ImbSMOTE(random_state=0).fit_resample(Xs, y)
    assert_same(ours, theirs)
    # The sparse path uses the same draws as the dense one.
    dense = SMOTE(random_state=0).fit_resample(X, y)
    np.testing.assert_allclose(ours[0].toarray(), dense[0], rtol=1e-12, atol=1e-12)


def test_pandas_in_pandas_out(binary_data):
    X, y = binary_data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    ys = pd.Series(y, name="target")
    ours = SMOTE(random_state=0).fit_resample(df, ys)
    theirs = ImbSMOTE(random_state=0).fit_resample(df, ys)
    assert_same(ours, theirs)
    sampler = SMOTE(random_state=0).fit(df, ys)
    assert list(sampler.feature_names_in_) == list(df.columns)


def test_list_in_list_out(binary_data):
    X, y = binary_data
    ours = SMOTE(random_state=0).fit_resample(X.tolist(), y.tolist())
    theirs = ImbSMOTE(random_state=0).fit_resample(X.tolist(), y.tolist())
    assert isinstance(ours[0], list)
    assert ours == theirs


def test_string_labels(multiclass_data):
    X, y = multiclass_data
    names = np.array(["cat", "dog", "emu"])[y]
    ours = SMOTE(random_state=0).fit_resample(X, names)
    theirs = ImbSMOTE(random_state=0).fit_resample(X, names)
    assert_same(ours, theirs)


def test_y_column_vector_and_one_hot(binary_data):
    X, y = binary_data
    _, y_res = SMOTE(random_state=0).fit_resample(X, y.reshape(-1, 1))
    assert y_res.ndim == 1
    one_hot = np.eye(2, dtype=int)[y]
    ours = SMOTE(random_state=0).fit_resample(X, one_hot)
    theirs = ImbSMOTE(random_state=0).fit_resample(X, one_hot)
    assert_same(ours, theirs)


@pytest.mark.parametrize(
    "loader", [load_breast_cancer, load_wine], ids=["breast_cancer", "wine"]
)
def test_bundled_datasets(loader):
    X, y = loader(return_X_y=True)
    ours = SMOTE(random_state=7).fit_resample(X, y)
    theirs = ImbSMOTE(random_state=7).fit_resample(X, y)
    assert_same(ours, theirs)


def test_random_state_instance_continues_the_stream(multiclass_data):
    X, y = multiclass_data
    ours = SMOTE(random_state=np.random.RandomState(5)).fit_resample(X, y)
    theirs = ImbSMOTE(random_state=np.random.RandomState(5)).fit_resample(X, y)
    assert_same(ours, theirs)
    # An int seed restarts per class; an instance does not: they differ.
    seeded = SMOTE(random_state=5).fit_resample(X, y)
    assert not np.array_equal(seeded[0], ours[0])


@pytest.mark.parametrize("k", [1, 3, 7])
def test_k_neighbors_int(binary_data, k):
    X, y = binary_data
    sampler = SMOTE(k_neighbors=k, random_state=0)
    ours = sampler.fit_resample(X, y)
    theirs = ImbSMOTE(k_neighbors=k, random_state=0).fit_resample(X, y)
    assert_same(ours, theirs)
    assert isinstance(sampler.nn_k_, NearestNeighbors)
    assert sampler.nn_k_.n_neighbors == k + 1


def test_k_neighbors_object(binary_data):
    X, y = binary_data
    nn = SkNearestNeighbors(n_neighbors=4)
    sampler = SMOTE(k_neighbors=nn, random_state=0)
    ours = sampler.fit_resample(X, y)
    theirs = ImbSMOTE(k_neighbors=nn, random_state=0).fit_resample(X, y)
    assert_same(ours, theirs)
    assert sampler.nn_k_ is not nn  # cloned, as in imbalanced-learn


@pytest.mark.parametrize("n_jobs", [None, 1, 2, -1, 1000])
def test_output_independent_of_n_jobs(multiclass_data, n_jobs):
    X, y = multiclass_data
    reference = SMOTE(random_state=0).fit_resample(X, y)
    assert_same(SMOTE(random_state=0, n_jobs=n_jobs).fit_resample(X, y), reference)


def test_large_enough_for_the_faiss_path():
    # Above the small-problem threshold the FAISS + refinement path runs.
    X, y = make_classification(
        n_samples=30_000, n_features=12, weights=[0.3, 0.7], random_state=4
    )
    ours = SMOTE(random_state=0, n_jobs=2).fit_resample(X, y)
    theirs = ImbSMOTE(random_state=0).fit_resample(X, y)
    assert_same(ours, theirs)


def test_integer_X_gives_float64_not_truncated(binary_data):
    X, y = binary_data
    X_int = np.round(X * 100).astype(np.int64)
    X_res, _ = SMOTE(random_state=0).fit_resample(X_int, y)
    assert X_res.dtype == np.float64
    # The values are imbalanced-learn's before its truncation to integers.
    X_ref, _ = ImbSMOTE(random_state=0).fit_resample(X_int.astype(np.float64), y)
    assert np.array_equal(X_res, X_ref)
    X_trunc, _ = ImbSMOTE(random_state=0).fit_resample(X_int, y)
    assert X_trunc.dtype == np.int64  # imbalanced-learn's behaviour
    assert not np.array_equal(X_res, X_trunc)


@pytest.mark.parametrize("copies", [2, 3])
@pytest.mark.parametrize("k", [1, 3])
def test_duplicates_same_output_as_imblearn(copies, k):
    # imbalanced-learn drops column 0 as "self", which with exact duplicates
    # may be the twin; imbfast excludes self by index. For SMOTE that is no
    # difference: the twin and the sample are the same point, so both
    # libraries make the same synthetic samples, copies included.
    rng = np.random.RandomState(0)
    minority = rng.normal(size=(20, 3))
    X = np.vstack([minority] * copies + [rng.normal(loc=5, size=(200, 3))])
    y = np.array([0] * (20 * copies) + [1] * 200)
    X_imb, y_imb = ImbSMOTE(k_neighbors=k, random_state=0).fit_resample(X, y)
    X_res, y_res = SMOTE(k_neighbors=k, random_state=0).fit_resample(X, y)
    assert np.array_equal(X_res, X_imb) and np.array_equal(y_res, y_imb)
    new = X_res[len(X) :]
    is_copy = (new[:, None, :] == X[None, : 20 * copies, :]).all(-1).any(-1)
    # Copies of minority samples do occur (always with k=1), in both.
    assert is_copy.any() and (is_copy.all() if k == 1 else not is_copy.all())


def test_counts(binary_data):
    X, y = binary_data
    _, y_res = SMOTE(random_state=0).fit_resample(X, y)
    counts = Counter(y_res)
    assert counts[0] == counts[1] == Counter(y)[1]


class TestBadInput:
    def test_nan(self, binary_data):
        X, y = binary_data
        X = X.copy()
        X[0, 0] = np.nan
        with pytest.raises(ValueError, match="Input X contains NaN"):
            SMOTE().fit_resample(X, y)

    def test_inf(self, binary_data):
        X, y = binary_data
        X = X.copy()
        X[0, 0] = np.inf
        with pytest.raises(ValueError, match="Input X contains infinity"):
            SMOTE().fit_resample(X, y)

    def test_one_class(self, binary_data):
        X, _ = binary_data
        y = np.zeros(len(X), dtype=int)
        with pytest.raises(ValueError, match="needs to have more than 1 class"):
            SMOTE().fit_resample(X, y)

    def test_class_not_larger_than_k(self, binary_data):
        X, y = binary_data
        y = y.copy()
        y[:] = 1
        y[:5] = 0
        msg = "Expected n_neighbors <= n_samples_fit, but n_neighbors = 6"
        with pytest.raises(ValueError, match=msg):
            SMOTE().fit_resample(X, y)
        with pytest.raises(ValueError, match=msg):
            ImbSMOTE().fit_resample(X, y)

    def test_k_neighbors_zero(self, binary_data):
        X, y = binary_data
        with pytest.raises(InvalidParameterError, match="'k_neighbors' parameter"):
            SMOTE(k_neighbors=0).fit_resample(X, y)

    @pytest.mark.parametrize(
        "strategy, match",
        [
            ("majority", "'sampling_strategy' cannot be 'majority'|majority"),
            ({0: 10}, "With over-sampling methods, the number of samples"),
            (1.5, "'sampling_strategy' parameter"),
            ("bogus", "'sampling_strategy' parameter"),
            ({5: 1000}, "are not present in the data"),
        ],
    )
    def test_wrong_sampling_strategy(self, binary_data, strategy, match):
        X, y = binary_data
        with pytest.raises(ValueError, match=match):
            SMOTE(sampling_strategy=strategy).fit_resample(X, y)

    def test_float_strategy_on_multiclass(self, multiclass_data):
        X, y = multiclass_data
        with pytest.raises(ValueError, match="binary"):
            SMOTE(sampling_strategy=0.5).fit_resample(X, y)

    def test_n_jobs_zero(self, binary_data):
        X, y = binary_data
        with pytest.raises(ValueError, match="n_jobs"):
            SMOTE(n_jobs=0).fit_resample(X, y)
