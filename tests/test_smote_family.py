"""ADASYN, BorderlineSMOTE, SVMSMOTE, KMeansSMOTE: imbalanced-learn's output.

Every sampler is run against imbalanced-learn 0.14 on the same tie-free
data with the same integer random_state and must give the same X, y (and
index attributes) with ``np.array_equal``, on every kind of input.
"""

from __future__ import annotations

import copy
import re
import warnings

import imblearn.over_sampling as imb
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.datasets import make_classification
from sklearn.neighbors import NearestNeighbors as SkNearestNeighbors

import imbfast.over_sampling as ours
from imbfast.neighbors import NearestNeighbors, kneighbors, last_plan, tuned

# name -> (keyword arguments used for both libraries, the neighbour parameters)
SPECS = {
    "ADASYN": ({}, ("n_neighbors",)),
    "BorderlineSMOTE": ({}, ("k_neighbors", "m_neighbors")),
    "BorderlineSMOTE-2": ({"kind": "borderline-2"}, ("k_neighbors", "m_neighbors")),
    "SVMSMOTE": ({}, ("k_neighbors", "m_neighbors")),
    "KMeansSMOTE": (
        {"kmeans_estimator": 4, "cluster_balance_threshold": 0.05},
        ("k_neighbors",),
    ),
}
NAMES = list(SPECS)


def make(name, lib, **kwargs):
    """The sampler ``name`` from ``lib`` (imbfast or imblearn's module)."""
    base, _ = SPECS[name]
    cls = getattr(lib, name.split("-")[0])
    params = {**base, **kwargs}
    params.setdefault("random_state", 0)
    return cls(**params)


def run_both(name, X, y, **kwargs):
    """(imbfast sampler, its output), (imblearn sampler, its output)."""
    a = make(name, ours, **copy.deepcopy(kwargs))
    b = make(name, imb, **copy.deepcopy(kwargs))
    return (a, a.fit_resample(X, y)), (b, b.fit_resample(X, y))


def assert_same(mine, theirs):
    X1, y1 = mine
    X2, y2 = theirs
    assert type(X1) is type(X2)
    if sparse.issparse(X1):
        assert X1.format == X2.format
        assert X1.dtype == X2.dtype
        X1, X2 = X1.toarray(), X2.toarray()
    if isinstance(X1, pd.DataFrame):
        pd.testing.assert_frame_equal(X1, X2)
        pd.testing.assert_series_equal(y1, y2)
        return
    assert np.asarray(X1).dtype == np.asarray(X2).dtype
    assert np.array_equal(X1, X2)
    assert np.array_equal(y1, y2)


def assert_same_attributes(a, b):
    """Index attributes equal imbalanced-learn's."""
    if hasattr(b, "in_danger_indices"):
        assert a.in_danger_indices.keys() == b.in_danger_indices.keys()
        for key, value in b.in_danger_indices.items():
            assert np.array_equal(a.in_danger_indices[key], value)
    assert a.sampling_strategy_ == b.sampling_strategy_


def check_parity(name, X, y, **kwargs):
    try:
        b = make(name, imb, **copy.deepcopy(kwargs))
        out_b = b.fit_resample(X, y)
    except (ValueError, RuntimeError) as exc:
        # Where imbalanced-learn refuses, imbfast refuses the same way.
        with pytest.raises(type(exc), match=re.escape(str(exc)[:40])):
            make(name, ours, **copy.deepcopy(kwargs)).fit_resample(X, y)
        return None, None
    a = make(name, ours, **copy.deepcopy(kwargs))
    out_a = a.fit_resample(X, y)
    assert_same(out_a, out_b)
    assert_same_attributes(a, b)
    return a, out_a


def gaussian(n, d, weights, seed=0, n_classes=None):
    return make_classification(
        n_samples=n,
        n_features=d,
        n_informative=min(d, 4),
        n_redundant=0,
        n_clusters_per_class=1,
        n_classes=n_classes or len(weights),
        weights=weights,
        random_state=seed,
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("data", ["binary_data", "multiclass_data"])
def test_dense_parity(request, name, data, dtype):
    X, y = request.getfixturevalue(data)
    X = X.astype(dtype)
    _, (X_res, _) = check_parity(name, X, y)
    assert X_res.dtype == dtype
    assert X_res.shape[0] > X.shape[0]


@pytest.mark.parametrize("name", ["ADASYN", "BorderlineSMOTE", "BorderlineSMOTE-2"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_parity_with_the_int8_filter(name, dtype):
    # The int8 filter pass forced on every query search (on any CPU), such
    # as the minority rows' search among all rows: the same output as
    # imbalanced-learn.
    X, y = gaussian(4000, 20, [0.9, 0.1], seed=5)
    X = X.astype(dtype)
    with tuned(int8_filter="always"):
        check_parity(name, X, y)
        kneighbors(X, 6, query=X[y == 1])
        assert last_plan()["int8_filter"] is True


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_parity(binary_data, name, fmt):
    X, y = binary_data
    Xs = sparse.csr_matrix(X) if fmt == "csr" else sparse.csc_matrix(X)
    if name == "BorderlineSMOTE-2":
        pytest.skip("imbalanced-learn fails here: see test_borderline2_sparse")
    check_parity(name, Xs, y)


@pytest.mark.parametrize("name", NAMES)
def test_pandas_parity(binary_data, name):
    X, y = binary_data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    ys = pd.Series(y, name="target")
    a, (X_res, _) = check_parity(name, df, ys)
    assert isinstance(X_res, pd.DataFrame)
    assert list(a.feature_names_in_) == list(df.columns)


@pytest.mark.parametrize("name", NAMES)
def test_string_labels(multiclass_data, name):
    X, y = multiclass_data
    labels = np.array(["red", "green", "blue"])[y]
    check_parity(name, X, labels)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "strategy",
    [
        "auto",
        "minority",
        "not minority",
        "not majority",
        "all",
        {0: 150, 1: 400, 2: 540},
        {0: 150, 1: 400, 2: 600},
        lambda y: {0: 200, 1: 300},
    ],
)
def test_every_sampling_strategy_form(multiclass_data, name, strategy):
    X, y = multiclass_data
    check_parity(name, X, y, sampling_strategy=strategy)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("ratio", [0.5, 1.0])
def test_float_sampling_strategy(binary_data, name, ratio):
    X, y = binary_data
    check_parity(name, X, y, sampling_strategy=ratio)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("k", [1, 3, 7])
def test_int_neighbours(binary_data, name, k):
    X, y = binary_data
    _, params = SPECS[name]
    # m_neighbors=1 puts no sample in danger (tested on its own below).
    check_parity(name, X, y, **{p: k + 2 * i for i, p in enumerate(params)})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["sklearn", "imbfast"])
def test_neighbours_object(multiclass_data, name, kind):
    X, y = multiclass_data
    _, params = SPECS[name]
    cls = SkNearestNeighbors if kind == "sklearn" else NearestNeighbors
    kwargs = {p: cls(n_neighbors=4 + i) for i, p in enumerate(params)}
    check_parity(name, X, y, **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_random_state_instance(multiclass_data, name):
    X, y = multiclass_data
    check_parity(name, X, y, random_state=np.random.RandomState(7))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("d", "algorithm"), [(20, "brute"), (2, "tree")], ids=["brute", "tree"]
)
def test_parity_on_production_engines(monkeypatch, name, d, algorithm):
    plans = []
    search = NearestNeighbors.kneighbors

    def recording(self, *args, **kwargs):
        result = search(self, *args, **kwargs)
        plans.append(last_plan())
        return result

    monkeypatch.setattr(NearestNeighbors, "kneighbors", recording)
    n = 6000 if d == 2 else 4000
    if name == "KMeansSMOTE":
        if d == 2:
            pytest.skip("KMeansSMOTE searches within clusters: too small for a tree")
        # Two clusters of about 1000 minority rows: the fused brute force.
        X, y = gaussian(8000, d, [0.25, 0.75], seed=3)
        check_parity(name, X, y, kmeans_estimator=2)
        assert plans and all(p["algorithm"] == "brute" for p in plans)
        return
    X, y = gaussian(n, d, [0.25, 0.75], seed=3)
    check_parity(name, X, y)
    # The search over the whole dataset runs on the production engine.
    assert plans[0]["algorithm"] == algorithm
    assert plans[0]["n"] == n
    assert all(p["algorithm"] in {"brute", "tree"} for p in plans)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n_jobs", [1, 2, -1])
def test_output_independent_of_n_jobs(multiclass_data, name, n_jobs):
    X, y = multiclass_data
    X_ref, y_ref = make(name, ours).fit_resample(X, y)
    X_res, y_res = make(name, ours, n_jobs=n_jobs).fit_resample(X, y)
    assert np.array_equal(X_res, X_ref)
    assert np.array_equal(y_res, y_ref)


@pytest.mark.parametrize("name", NAMES)
def test_approx_neighbours_record_recall(name):
    X, y = gaussian(3000, 8, [0.3, 0.7], seed=5)
    sampler = make(name, ours, neighbors="approx")
    X_res, y_res = sampler.fit_resample(X, y)
    assert 0.0 < sampler.neighbors_recall_ <= 1.0
    assert X_res.shape[0] == y_res.shape[0] > X.shape[0]


@pytest.mark.parametrize("name", NAMES)
def test_integer_X_gives_float64(binary_data, name):
    X, y = binary_data
    Xi = np.round(X * 100).astype(np.int64)
    X_res, _ = make(name, ours).fit_resample(Xi, y)
    assert X_res.dtype == np.float64
    assert np.array_equal(X_res[: X.shape[0]], Xi)
    # Same synthetic samples as on the float64 copy: nothing is truncated.
    X_ref, _ = make(name, ours).fit_resample(Xi.astype(np.float64), y)
    assert np.array_equal(X_res, X_ref)


class TestBadInput:
    @pytest.mark.parametrize("name", NAMES)
    @pytest.mark.parametrize("value", [np.nan, np.inf])
    def test_not_finite(self, binary_data, name, value):
        X, y = binary_data
        X = X.copy()
        X[3, 2] = value
        with pytest.raises(ValueError, match=r"NaN|infinity"):
            make(name, ours).fit_resample(X, y)

    @pytest.mark.parametrize("name", NAMES)
    def test_neighbours_larger_than_class(self, name):
        X, y = gaussian(200, 4, [0.05, 0.95], seed=1)
        n_min = int(np.sum(y == 0))
        _, params = SPECS[name]
        kwargs = {p: n_min for p in params}
        if name == "BorderlineSMOTE-2":
            # Partners come from the whole dataset: k may exceed the class.
            check_parity(name, X, y, **kwargs)
            return
        if name == "KMeansSMOTE":
            # No cluster holds k + 1 samples of the class.
            for lib in (imb, ours):
                with pytest.raises(RuntimeError, match="No clusters found"):
                    make(name, lib, **kwargs).fit_resample(X, y)
            return
        with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
            make(name, imb, **kwargs).fit_resample(X, y)
        with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
            make(name, ours, **kwargs).fit_resample(X, y)

    @pytest.mark.parametrize("name", NAMES)
    def test_class_with_one_row(self, binary_data, name):
        X, y = binary_data
        y = y.copy()
        y[np.flatnonzero(y == 0)[1:]] = 1
        if name.startswith("Borderline"):
            # A lone sample has only other-class neighbours: noise, not in
            # danger; imblearn skips the class silently, imbfast says so.
            with pytest.warns(UserWarning, match="no sample of class 0"):
                mine = make(name, ours).fit_resample(X, y)
            assert_same(mine, make(name, imb).fit_resample(X, y))
            return
        if name == "KMeansSMOTE":
            for lib in (imb, ours):
                with pytest.raises(RuntimeError, match="No clusters found"):
                    make(name, lib).fit_resample(X, y)
            return
        if name == "SVMSMOTE":
            # The lone support vector has only other-class neighbours.
            for lib in (imb, ours):
                with pytest.raises(ValueError, match="All support vectors are"):
                    make(name, lib).fit_resample(X, y)
            return
        with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
            make(name, ours).fit_resample(X, y)

    @pytest.mark.parametrize("name", NAMES)
    def test_zero_neighbours(self, binary_data, name):
        X, y = binary_data
        _, params = SPECS[name]
        with pytest.raises(ValueError, match=params[0]):
            make(name, ours, **{params[0]: 0}).fit_resample(X, y)

    @pytest.mark.parametrize("name", NAMES)
    def test_bad_neighbors_mode(self, binary_data, name):
        X, y = binary_data
        with pytest.raises(ValueError, match="neighbors"):
            make(name, ours, neighbors="fast").fit_resample(X, y)


# ADASYN -------------------------------------------------------------------


def test_adasyn_counts_are_imblearns_rounded_totals(binary_data):
    X, y = binary_data
    (a, (_, y_a)), (_, (_, y_b)) = run_both("ADASYN", X, y)
    n_new = int(np.sum(y_a == 0)) - int(np.sum(y == 0))
    # rint per sample: the total need not be the target; it is imblearn's.
    assert n_new == int(np.sum(y_b == 0)) - int(np.sum(y == 0))
    assert abs(n_new - a.sampling_strategy_[0]) < 20


def test_adasyn_no_other_class_neighbours():
    # The minority class far from the rest: no neighbour of another class.
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(30, 3)), rng.normal(size=(90, 3)) + 100.0])
    y = np.array([0] * 30 + [1] * 90)
    with pytest.raises(RuntimeError, match="Not any neigbours belong to the majority"):
        imb.ADASYN(random_state=0).fit_resample(X, y)
    with pytest.raises(RuntimeError, match="Not any neigbours belong to the majority"):
        ours.ADASYN(random_state=0).fit_resample(X, y)


@pytest.mark.parametrize("share", [0.0, 1.0], ids=["all-pairs", "subset"])
@pytest.mark.parametrize(("d", "algorithm"), [(20, "brute"), (2, "tree")])
def test_adasyn_partner_search_paths(monkeypatch, share, d, algorithm):
    # Partners of only the rows that get new samples (share 1.0), or of the
    # whole class (share 0.0): the same table, imbalanced-learn's output.
    from imbfast.over_sampling import _adasyn

    plans = []
    search = NearestNeighbors.kneighbors

    def recording(self, *args, **kwargs):
        result = search(self, *args, **kwargs)
        plans.append(last_plan())
        return result

    monkeypatch.setattr(_adasyn, "_SUBSET_SHARE", share)
    monkeypatch.setattr(NearestNeighbors, "kneighbors", recording)
    X, y = gaussian(6000 if d == 2 else 4000, d, [0.2, 0.8], seed=5)
    (_, mine), (_, theirs) = run_both("ADASYN", X, y)
    assert_same(mine, theirs)
    assert [p["algorithm"] for p in plans][:1] == [algorithm]
    # The partner search: every row of the class, or only some.
    n_class = int(np.sum(y == 0))
    assert plans[1]["n"] == n_class
    assert (plans[1]["n_queries"] == n_class) == (share == 0.0)


# BorderlineSMOTE ----------------------------------------------------------


def separated_classes():
    """Class 0 far from class 1 (no sample in danger), class 2 mixed with 1."""
    rng = np.random.RandomState(1)
    X = np.vstack(
        [
            rng.normal(size=(40, 3)) + 50.0,
            rng.normal(size=(300, 3)),
            rng.normal(size=(80, 3)) + 0.3,
        ]
    )
    y = np.array([0] * 40 + [1] * 300 + [2] * 80)
    return X, y


@pytest.mark.parametrize("kind", ["borderline-1", "borderline-2"])
def test_borderline_no_danger_warns_and_keeps_imblearns_output(kind):
    X, y = separated_classes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # imblearn is silent about class 0
        theirs = imb.BorderlineSMOTE(random_state=0, kind=kind).fit_resample(X, y)
    with pytest.warns(UserWarning, match="class 0 is in danger|class 0"):
        mine = ours.BorderlineSMOTE(random_state=0, kind=kind).fit_resample(X, y)
    assert_same(mine, theirs)
    assert np.sum(mine[1] == 0) == 40  # class 0 not over-sampled
    assert np.sum(mine[1] == 2) == 300  # class 2 was


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_borderline2_sparse(binary_data, fmt):
    X, y = binary_data
    Xs = sparse.csr_matrix(X) if fmt == "csr" else sparse.csc_matrix(X)
    # imbalanced-learn fails on sparse borderline-2 ...
    with pytest.raises((ValueError, TypeError)):
        imb.BorderlineSMOTE(random_state=0, kind="borderline-2").fit_resample(Xs, y)
    # ... imbfast gives the dense result in X's sparse format.
    X_res, y_res = ours.BorderlineSMOTE(
        random_state=0, kind="borderline-2"
    ).fit_resample(Xs, y)
    X_ref, y_ref = imb.BorderlineSMOTE(
        random_state=0, kind="borderline-2"
    ).fit_resample(X, y)
    assert X_res.format == fmt
    assert np.array_equal(X_res.toarray(), X_ref)
    assert np.array_equal(y_res, y_ref)


@pytest.mark.parametrize(("k", "m"), [(5, 10), (12, 6), (7, 7)])
@pytest.mark.parametrize(("d", "algorithm"), [(20, "brute"), (2, "tree")])
def test_borderline2_one_search_serves_danger_and_partners(
    monkeypatch, k, m, d, algorithm
):
    # With k <= m the partners are the first k of the m neighbours, with
    # k > m the danger test reads the first m of k: one search either way,
    # and imbalanced-learn's output.
    calls = []
    search = NearestNeighbors.kneighbors

    def recording(self, X=None, n_neighbors=None, return_distance=True):
        result = search(self, X, n_neighbors, return_distance)
        calls.append(last_plan())
        return result

    monkeypatch.setattr(NearestNeighbors, "kneighbors", recording)
    X, y = gaussian(6000 if d == 2 else 4000, d, [0.25, 0.75], seed=3)
    kwargs = {"kind": "borderline-2", "k_neighbors": k, "m_neighbors": m}
    (a, mine), (b, theirs) = run_both("BorderlineSMOTE", X, y, **kwargs)
    assert_same(mine, theirs)
    assert_same_attributes(a, b)
    assert len(calls) == 1
    assert calls[0]["algorithm"] == algorithm
    assert calls[0]["k"] == max(k, m) + 1
    assert a.nn_k_.n_samples_fit_ == X.shape[0]


def test_borderline2_searchers_of_different_kinds_search_twice(binary_data):
    X, y = binary_data
    kwargs = {
        "kind": "borderline-2",
        "k_neighbors": NearestNeighbors(n_neighbors=6, algorithm="scan"),
        "m_neighbors": NearestNeighbors(n_neighbors=11, algorithm="brute"),
    }
    theirs = make(
        "BorderlineSMOTE", imb, kind="borderline-2", k_neighbors=5, m_neighbors=10
    ).fit_resample(X, y)
    other = make("BorderlineSMOTE", ours, **kwargs)
    assert_same(other.fit_resample(X, y), theirs)
    assert other.nn_k_.last_plan_["algorithm"] == "scan"
    assert other.nn_m_.last_plan_["algorithm"] == "brute"


def test_borderline2_uses_other_class_partners(binary_data):
    X, y = binary_data
    one = ours.BorderlineSMOTE(random_state=0).fit_resample(X, y)[0]
    two = ours.BorderlineSMOTE(random_state=0, kind="borderline-2").fit_resample(X, y)[
        0
    ]
    assert not np.array_equal(one, two)


def test_borderline_bad_kind(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="kind"):
        ours.BorderlineSMOTE(kind="borderline-3").fit_resample(X, y)


# KMeansSMOTE --------------------------------------------------------------


def blobs():
    from sklearn.datasets import make_blobs

    X, y = make_blobs(
        [100, 800, 100], centers=[(-10, 0), (0, 0), (10, 0)], random_state=0
    )
    y[y == 2] = 0
    return X, y


def test_kmeans_defaults_and_ceil_overshoot():
    X, y = blobs()
    mine = ours.KMeansSMOTE(random_state=42).fit_resample(X, y)
    theirs = imb.KMeansSMOTE(random_state=42).fit_resample(X, y)
    assert_same(mine, theirs)
    # ceil per cluster: one sample more than asked, as in imbalanced-learn.
    assert np.sum(mine[1] == 0) == 801


def test_kmeans_auto_threshold_without_clusters(binary_data):
    X, y = binary_data
    for lib in (imb, ours):
        with pytest.raises(RuntimeError, match="No clusters found with sufficient"):
            lib.KMeansSMOTE(random_state=0).fit_resample(X, y)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kmeans_estimator": 1},
        {"kmeans_estimator": 3, "density_exponent": 1.5},
        {"cluster_balance_threshold": 0.2},
    ],
)
def test_kmeans_options(multiclass_data, kwargs):
    X, y = multiclass_data
    a, _ = check_parity("KMeansSMOTE", X, y, **kwargs)
    if kwargs.get("kmeans_estimator") == 1:
        assert a.cluster_balance_threshold_ == -np.inf


def test_kmeans_estimator_object(multiclass_data):
    from sklearn.cluster import KMeans

    X, y = multiclass_data
    km = KMeans(n_clusters=3, n_init=1, random_state=0)
    a, _ = check_parity("KMeansSMOTE", X, y, kmeans_estimator=km)
    assert a.kmeans_estimator_ is not km
    assert np.array_equal(a.kmeans_estimator_.labels_, km.fit(X).labels_)


def test_kmeans_same_clusters_as_sklearn(multiclass_data):
    X, y = multiclass_data
    a, _ = check_parity("KMeansSMOTE", X, y)
    b = imb.KMeansSMOTE(**SPECS["KMeansSMOTE"][0], random_state=0)
    b.fit_resample(X, y)
    assert np.array_equal(a.kmeans_estimator_.labels_, b.kmeans_estimator_.labels_)


@pytest.mark.parametrize("kind", ["dense", "float32", "csr"])
def test_pairwise_distance_sum(kind):
    from scipy.spatial.distance import pdist

    from imbfast.over_sampling._kmeans_smote import pairwise_distance_sum

    rng = np.random.RandomState(0)
    X = rng.normal(size=(700, 6))
    expected = 2 * pdist(X).sum()
    Xk = {
        "dense": X,
        "float32": X.astype(np.float32),
        "csr": sparse.csr_matrix(X),
    }[kind]
    rtol = 1e-6 if kind == "float32" else 1e-10
    assert np.isclose(pairwise_distance_sum(Xk), expected, rtol=rtol)
    assert pairwise_distance_sum(X[:1]) == 0.0


def test_pairwise_distance_sum_never_builds_the_square_matrix():
    import tracemalloc

    from imbfast.over_sampling._kmeans_smote import pairwise_distance_sum

    X = np.random.RandomState(0).normal(size=(6000, 4))
    tracemalloc.start()
    pairwise_distance_sum(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.25 * 6000 * 6000 * 8  # the matrix would be 288 MB


# SVMSMOTE -----------------------------------------------------------------


def test_svm_same_support_vectors(multiclass_data):
    X, y = multiclass_data
    (a, out_a), (b, out_b) = run_both("SVMSMOTE", X, y)
    assert_same(out_a, out_b)
    assert np.array_equal(a.svm_estimator_.support_, b.svm_estimator_.support_)


@pytest.mark.parametrize("out_step", [0.0, 0.25, 1.0])
def test_svm_out_step(binary_data, out_step):
    X, y = binary_data
    check_parity("SVMSMOTE", X, y, out_step=out_step)


def test_svm_estimator_object(multiclass_data):
    from sklearn.svm import SVC

    X, y = multiclass_data
    svc = SVC(kernel="linear", C=0.5)
    a, _ = check_parity("SVMSMOTE", X, y, svm_estimator=svc)
    assert a.svm_estimator_ is not svc
    assert a.svm_estimator_.kernel == "linear"


def test_svm_estimator_without_support(binary_data):
    from sklearn.linear_model import LogisticRegression

    X, y = binary_data
    for lib in (imb, ours):
        with pytest.raises(RuntimeError, match="exposed a `support_` fitted"):
            lib.SVMSMOTE(svm_estimator=LogisticRegression()).fit_resample(X, y)


def test_svm_bad_out_step(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="out_step"):
        ours.SVMSMOTE(out_step=1.5).fit_resample(X, y)


# SMOTEENN / SMOTETomek with SMOTE-family objects ---------------------------
#
# imbalanced-learn's combined samplers take instances of its SMOTE class
# (hence also SMOTENC and SMOTEN, its subclasses) and refuse the other
# variants (BorderlineSMOTE, SVMSMOTE, KMeansSMOTE, ADASYN subclass
# BaseSMOTE or BaseOverSampler, not SMOTE). imbfast accepts and refuses the
# same objects, from either library.


def combined(lib_name, cls_name):
    import imblearn.combine

    import imbfast.combine

    lib = imbfast.combine if lib_name == "imbfast" else imblearn.combine
    return getattr(lib, cls_name)


@pytest.mark.parametrize("combiner", ["SMOTEENN", "SMOTETomek"])
@pytest.mark.parametrize("lib", ["imbfast", "imblearn"])
@pytest.mark.parametrize(
    "name", ["ADASYN", "BorderlineSMOTE", "SVMSMOTE", "KMeansSMOTE"]
)
def test_combine_refuses_what_imblearn_refuses(binary_data, combiner, lib, name):
    X, y = binary_data
    smote = getattr(ours if lib == "imbfast" else imb, name)()
    for side in ("imbfast", "imblearn"):
        with pytest.raises(ValueError, match="The 'smote' parameter of"):
            combined(side, combiner)(smote=smote).fit_resample(X, y)


@pytest.mark.parametrize("combiner", ["SMOTEENN", "SMOTETomek"])
@pytest.mark.parametrize(
    "smote",
    [
        lambda: imb.SMOTEN(random_state=0),
        lambda: imb.SMOTENC(categorical_features=[0], random_state=0),
        lambda: imb.SMOTE(random_state=0, k_neighbors=3),
        lambda: ours.SMOTE(random_state=0, k_neighbors=3),
    ],
    ids=["imblearn-SMOTEN", "imblearn-SMOTENC", "imblearn-SMOTE", "imbfast-SMOTE"],
)
def test_combine_accepts_what_imblearn_accepts(binary_data, combiner, smote):
    from imbfast.under_sampling import EditedNearestNeighbours, TomekLinks

    X, y = binary_data
    X = X.copy()
    X[:, 0] = np.round(X[:, 0])  # a categorical column for SMOTENC
    if type(smote()).__name__ == "SMOTEN":
        X = np.floor(X[:, :4] * 2).astype(int)  # all categorical
    mine = combined("imbfast", combiner)(smote=smote()).fit_resample(X, y)
    # The object given is the over-sampler used ...
    cleaner = (
        EditedNearestNeighbours(sampling_strategy="all")
        if combiner == "SMOTEENN"
        else TomekLinks(sampling_strategy="all")
    )
    expected = cleaner.fit_resample(*smote().fit_resample(X, y))
    assert np.array_equal(mine[0], expected[0])
    assert np.array_equal(mine[1], expected[1])
    if type(smote()).__name__ != "SMOTEN":
        # ... and on tie-free data the result is imbalanced-learn's.
        given = smote()
        if type(given).__module__.startswith("imbfast"):
            given = imb.SMOTE(random_state=0, k_neighbors=3)
        theirs = combined("imblearn", combiner)(smote=given).fit_resample(X, y)
        assert np.array_equal(mine[0], theirs[0])
        assert np.array_equal(mine[1], theirs[1])
