"""InstanceHardnessThreshold and ClusterCentroids: parity, the IHT fix, bad input."""

from __future__ import annotations

import imblearn.under_sampling as imb_under
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.cluster import AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.datasets import make_classification
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

import imbfast.neighbors
from imbfast.under_sampling import ClusterCentroids, InstanceHardnessThreshold


def _data(n=400, d=6, weights=(0.15, 0.3, 0.55), seed=0):
    return make_classification(
        n_samples=n,
        n_features=d,
        n_informative=min(d, 4),
        n_redundant=0,
        n_classes=len(weights),
        weights=list(weights),
        random_state=seed,
    )


def _same(ours, theirs, X, y, indices=True):
    X_o, y_o = ours.fit_resample(X, y)
    X_t, y_t = theirs.fit_resample(X, y)
    if indices:
        np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    if sparse.issparse(X_t):
        assert sparse.issparse(X_o) and X_o.format == X_t.format
        X_o, X_t = X_o.toarray(), X_t.toarray()
    if isinstance(X_t, pd.DataFrame):
        pd.testing.assert_frame_equal(X_o, X_t)
        pd.testing.assert_series_equal(y_o, y_t)
        return X_o, y_o
    assert X_o.dtype == X_t.dtype
    np.testing.assert_array_equal(X_o, X_t)
    np.testing.assert_array_equal(y_o, y_t)
    assert y_o.dtype == y_t.dtype
    return X_o, y_o


STRATEGIES = [
    "auto",
    "all",
    "majority",
    "not majority",
    {0: 30, 1: 50, 2: 60},
    lambda y: {2: 70},
]
SMALL_FOREST = RandomForestClassifier(n_estimators=10)

# ---------------------------------------------------------------- IHT


@pytest.mark.parametrize("strategy", STRATEGIES, ids=range(len(STRATEGIES)))
def test_iht_parity_strategies(strategy):
    X, y = _data()
    params = {
        "estimator": SMALL_FOREST,
        "random_state": 0,
        "sampling_strategy": strategy,
    }
    _same(
        InstanceHardnessThreshold(**params),
        imb_under.InstanceHardnessThreshold(**params),
        X,
        y,
    )


def test_iht_parity_default_forest_and_float_strategy():
    X, y = _data(300, 5, weights=(0.25, 0.75), seed=1)
    for params in ({"random_state": 3}, {"random_state": 3, "sampling_strategy": 0.6}):
        _same(
            InstanceHardnessThreshold(**params),
            imb_under.InstanceHardnessThreshold(**params),
            X,
            y,
        )


@pytest.mark.parametrize("kind", ["float32", "pandas", "csr", "csc"])
def test_iht_parity_input_kinds(kind):
    X, y = _data(seed=2)
    if kind == "float32":
        X = X.astype(np.float32)
    elif kind == "pandas":
        X = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
        y = pd.Series(y, name="y")
    else:
        X[np.abs(X) < 0.4] = 0.0
        X = getattr(sparse, f"{kind}_matrix")(X)
    params = {"estimator": SMALL_FOREST, "random_state": 5, "n_jobs": 2}
    _same(
        InstanceHardnessThreshold(**params),
        imb_under.InstanceHardnessThreshold(**params),
        X,
        y,
    )


def test_iht_parity_other_estimators_and_cv():
    X, y = _data(seed=3)
    for params in (
        {"estimator": LogisticRegression(), "cv": 3},
        {
            "estimator": make_pipeline(StandardScaler(), ExtraTreesClassifier(5)),
            "cv": 4,
        },
        {"estimator": RandomForestClassifier(n_estimators=5), "cv": 2},
    ):
        params["random_state"] = 11
        _same(
            InstanceHardnessThreshold(**params),
            imb_under.InstanceHardnessThreshold(**params),
            X,
            y,
        )


def test_iht_random_state_instance_continues_the_stream():
    X, y = _data(seed=4)
    ours = InstanceHardnessThreshold(
        estimator=SMALL_FOREST, random_state=np.random.RandomState(9)
    )
    theirs = imb_under.InstanceHardnessThreshold(
        estimator=SMALL_FOREST, random_state=np.random.RandomState(9)
    )
    _same(ours, theirs, X, y)


@pytest.fixture(scope="module")
def binary():
    X, y = _data(400, 6, weights=(0.3, 0.7), seed=6)
    reference = InstanceHardnessThreshold(estimator=SMALL_FOREST, random_state=0)
    reference.fit_resample(X, y)
    return X, y, reference.sample_indices_


@pytest.mark.parametrize(
    "labels",
    [np.array(["a", "b"], dtype=object), np.array([1, 2])],
    ids=["strings", "one-two"],
)
def test_iht_labels_that_imblearn_cannot_index(binary, labels):
    """imblearn uses labels as column numbers: these raise there, work here."""
    X, y01, expected = binary
    y = labels[y01]
    with pytest.raises(IndexError):
        imb_under.InstanceHardnessThreshold(
            estimator=SMALL_FOREST, random_state=0
        ).fit_resample(X, y)
    ours = InstanceHardnessThreshold(estimator=SMALL_FOREST, random_state=0)
    _, y_res = ours.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, expected)
    np.testing.assert_array_equal(y_res, y[expected])


def test_iht_minus_one_one_labels_imblearn_selects_wrong_rows(binary):
    """Majority labelled -1: imblearn reads column -1 (class 1) for its rows."""
    X, y01, _ = binary
    y_coded = 1 - y01  # majority is 0, as -1 will be: same sorted order
    params = {"estimator": SMALL_FOREST, "random_state": 0}
    reference = InstanceHardnessThreshold(**params)
    _same(reference, imb_under.InstanceHardnessThreshold(**params), X, y_coded)
    expected = reference.sample_indices_

    y = np.array([-1, 1])[y_coded]
    ours = InstanceHardnessThreshold(**params)
    ours.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, expected)

    theirs = imb_under.InstanceHardnessThreshold(**params)
    theirs.fit_resample(X, y)
    majority = np.flatnonzero(y == -1)
    kept_ours = np.intersect1d(ours.sample_indices_, majority)
    kept_theirs = np.intersect1d(theirs.sample_indices_, majority)
    # imblearn kept the majority rows least like their own class.
    assert np.intersect1d(kept_theirs, kept_ours).size < kept_ours.size / 2


def test_iht_multiclass_string_labels_equal_the_integer_result():
    X, y = _data(seed=7)
    names = np.array(["low", "mid", "top"], dtype=object)
    a = InstanceHardnessThreshold(estimator=SMALL_FOREST, random_state=1)
    b = InstanceHardnessThreshold(estimator=SMALL_FOREST, random_state=1)
    a.fit_resample(X, y)
    b.fit_resample(X, names[y])
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)


def test_iht_cv_splitter_is_used_as_given():
    X, y = _data(seed=8)
    with pytest.raises(ValueError, match="number of folds must be of Integral"):
        imb_under.InstanceHardnessThreshold(cv=KFold(3)).fit_resample(X, y)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    ours = InstanceHardnessThreshold(estimator=SMALL_FOREST, cv=folds, random_state=0)
    _, y_res = ours.fit_resample(X, y)
    assert np.bincount(y_res).min() >= np.bincount(y).min()


def test_iht_bad_estimators():
    X, y = _data(seed=9)
    with pytest.raises(InvalidParameterError, match="estimator"):
        InstanceHardnessThreshold(estimator=LinearRegression()).fit_resample(X, y)

    class ProbaRegressor(LinearRegression):
        def predict_proba(self, X):
            return self.predict(X)

    with pytest.raises(ValueError, match="estimator must be a classifier"):
        InstanceHardnessThreshold(estimator=ProbaRegressor()).fit_resample(X, y)
    with pytest.raises(InvalidParameterError, match="cv"):
        InstanceHardnessThreshold(cv="five").fit_resample(X, y)


# ---------------------------------------------------------------- ClusterCentroids


def _row_of(X, row):
    return int(np.flatnonzero((X == row).all(axis=1))[0])


def _dense(A):
    return A.toarray() if sparse.issparse(A) else np.asarray(A)


def _same_cc(params, X, y):
    """ClusterCentroids parity; hard voting may differ only on exact ties.

    A centroid of a two-row cluster is their midpoint, at exactly the same
    distance from both: imbfast takes the lower row, scikit-learn's search
    whichever its tree visits first. Such rows are checked to be ties.
    """
    theirs_params = {k: v for k, v in params.items() if k != "n_jobs"}
    ours = ClusterCentroids(**params)
    theirs = imb_under.ClusterCentroids(**theirs_params)
    X_o, y_o = ours.fit_resample(X, y)
    X_t, y_t = theirs.fit_resample(X, y)
    assert type(X_o) is type(X_t)
    if sparse.issparse(X_t):
        assert X_o.format == X_t.format and X_o.dtype == X_t.dtype
    if isinstance(X_t, pd.DataFrame):
        pd.testing.assert_series_equal(y_o, y_t)
        assert list(X_o.columns) == list(X_t.columns)
    np.testing.assert_array_equal(np.asarray(y_o), np.asarray(y_t))
    A_o, A_t, X_d = _dense(X_o), _dense(X_t), _dense(X)
    assert A_o.dtype == A_t.dtype
    differ = np.flatnonzero((A_o != A_t).any(axis=1))
    if differ.size:
        assert ours.voting_ == "hard"
        soft = ClusterCentroids(**{**params, "voting": "soft"}).fit_resample(X, y)[0]
        centroids = _dense(soft).astype(np.float64)
        for i in differ:
            d_o = np.sum((A_o[i] - centroids[i]) ** 2)
            d_t = np.sum((A_t[i] - centroids[i]) ** 2)
            # A tie up to rounding (the engines accumulate differently).
            assert d_o == pytest.approx(d_t, rel=1e-12), i
            assert _row_of(X_d, A_o[i]) != _row_of(X_d, A_t[i])
        assert differ.size <= 0.1 * A_o.shape[0]
    return ours


KMEANS = KMeans(n_init=1, random_state=0)


@pytest.mark.parametrize("voting", ["soft", "hard", "auto"])
@pytest.mark.parametrize("strategy", STRATEGIES, ids=range(len(STRATEGIES)))
def test_cc_parity_strategies(voting, strategy):
    X, y = _data(seed=10)
    params = {"random_state": 0, "voting": voting, "sampling_strategy": strategy}
    _same_cc(params, X, y)


@pytest.mark.parametrize("kind", ["float32", "pandas", "csr", "csc", "strings"])
@pytest.mark.parametrize("voting", ["soft", "hard", "auto"])
def test_cc_parity_input_kinds(kind, voting):
    X, y = _data(seed=11)
    if kind == "float32":
        X = X.astype(np.float32)
    elif kind == "pandas":
        X = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
        y = pd.Series(y, name="y")
    elif kind in ("csr", "csc"):
        X[np.abs(X) < 0.4] = 0.0
        X = getattr(sparse, f"{kind}_matrix")(X)
    else:
        y = np.array(["ant", "bee", "cow"], dtype=object)[y]
    params = {"random_state": 1, "voting": voting, "estimator": KMEANS}
    _same_cc(params, X, y)


def test_cc_parity_given_estimators():
    X, y = _data(seed=12)
    for estimator in (MiniBatchKMeans(n_init=1, random_state=0), KMEANS):
        params = {"estimator": estimator, "voting": "hard", "n_jobs": 2}
        assert _same_cc(params, X, y).voting_ == "hard"


def test_cc_hard_voting_at_production_size():
    """Thousands of centroids against d=20 rows: the fused brute force runs."""
    X, y = make_classification(
        n_samples=8000, n_features=20, weights=[0.3, 0.7], random_state=13
    )
    params = {
        "voting": "hard",
        "sampling_strategy": {0: 400, 1: 500},
        "estimator": MiniBatchKMeans(n_init=1, random_state=0, max_iter=5),
    }
    _same_cc(params, X, y)
    assert imbfast.neighbors.last_plan()["algorithm"] in {"brute", "tree"}


def test_cc_bad_estimators():
    X, y = _data(seed=14)
    with pytest.raises(ValueError, match="exposing a parameter `n_clusters`"):
        ClusterCentroids(estimator=LogisticRegression()).fit_resample(X, y)
    with pytest.raises(RuntimeError, match="fitted parameter `cluster_centers_`"):
        ClusterCentroids(estimator=AgglomerativeClusteringWithPredict()).fit_resample(
            X, y
        )
    with pytest.raises(InvalidParameterError, match="voting"):
        ClusterCentroids(voting="majority").fit_resample(X, y)


class AgglomerativeClusteringWithPredict(AgglomerativeClustering):
    """Has n_clusters and predict, but no cluster_centers_."""

    def predict(self, X):
        return self.fit_predict(X)
