"""Approximate k-NN (algorithm="approx") and the samplers' neighbors="approx"."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.utils._param_validation import InvalidParameterError

from imbfast import neighbors as nb
from imbfast.combine import SMOTEENN, SMOTETomek
from imbfast.neighbors import NearestNeighbors, kneighbors, last_plan
from imbfast.over_sampling import SMOTE
from imbfast.under_sampling import (
    AllKNN,
    CondensedNearestNeighbour,
    EditedNearestNeighbours,
    NeighbourhoodCleaningRule,
    OneSidedSelection,
    RepeatedEditedNearestNeighbours,
    TomekLinks,
)

# Big enough for the inverted file (Tuning.approx_min_n rows), small enough for CI.
N = 20_000


@pytest.fixture(autouse=True)
def index_only():
    # These tests are about the approximate index: keep approx_engine="auto"
    # from answering exactly with the pruned search (tested on its own below).
    with nb.tuned(approx_pruned_probes=0):
        yield


def _clustered(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, d)) * 5
    return centres[rng.integers(0, 50, n)] + rng.standard_normal((n, d))


def _gaussian(n: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d))


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float((found[:, :, None] == exact[:, None, :]).any(axis=1).mean())


def _tolerance(plan: dict) -> float:
    """How far the true recall may be from the estimate of a 1000-query sample.

    4 standard errors (reported, from the per-query spread), plus 3/m: when
    a miss is rare the sample may show none and a standard error of 0, and
    the rule of three bounds a rate never seen in m queries (95%).
    """
    return 4 * plan["recall_stderr"] + 3 / plan["recall_sample"]


@pytest.fixture(scope="module", params=nb.APPROX_ENGINES)
def clustered_case(request):
    X = _clustered(N, 16, 0).astype(np.float32)
    ind, dist = nb.squared_kneighbors(
        X, 4, n_threads=2, algorithm="approx", approx_engine=request.param
    )
    plan = last_plan()
    exact, _ = nb.squared_kneighbors(X, 4, n_threads=2, algorithm="brute")
    return X, ind, dist, plan, exact


def test_plan_reports_engine_knob_and_recall(clustered_case):
    _, _, _, plan, _ = clustered_case
    assert plan["requested"] == "approx"
    assert plan["algorithm"] in nb.APPROX_ENGINES
    assert plan["nprobe_source"] == "calibrated"
    assert 1 <= plan["nprobe"] <= plan["nprobe_max"] <= plan["nlist"]
    assert plan["recall_sample"] == nb.tuning().approx_sample
    assert 0.0 <= plan["recall_stderr"] < 0.01


def test_reported_recall_matches_direct_measurement(clustered_case):
    _, ind, _, plan, exact = clustered_case
    true = _recall(ind, exact)
    assert abs(plan["recall"] - true) <= _tolerance(plan)
    assert true >= plan["recall_target"] - _tolerance(plan)


def test_self_never_returned_and_distances_exact(clustered_case):
    X, ind, dist, _, _ = clustered_case
    assert not (ind == np.arange(N)[:, None]).any()
    X64 = X.astype(np.float64)
    direct = ((X64[ind] - X64[:, None, :]) ** 2).sum(axis=-1)
    np.testing.assert_allclose(dist, direct, rtol=1e-12, atol=1e-12)
    # Exactly ordered: by distance, then by index.
    order = np.lexsort((ind, dist), axis=1)
    assert np.array_equal(order, np.broadcast_to(np.arange(4), order.shape))
    # Rows are distinct neighbours.
    assert all(len(set(r)) == 4 for r in ind[:200])


@pytest.mark.parametrize("make", [_clustered, _gaussian], ids=["clustered", "gauss"])
def test_recall_at_least_target(make):
    X = make(N, 8, 1)
    target = 0.95
    ind = kneighbors(X, 3, algorithm="approx", approx_recall=target, n_jobs=2)
    plan = last_plan()
    exact = kneighbors(X, 3, algorithm="brute", n_jobs=2)
    true = _recall(ind, exact)
    assert plan["recall"] >= target
    if "index_gave_up" in plan:
        # Unclustered rows: the index needed too many probes, exact instead.
        assert make is _gaussian and plan["recall_sample"] == 0 and true == 1.0
    else:
        assert true >= target - _tolerance(plan)


def test_queries_given_and_explicit_nprobe():
    X = _clustered(N, 8, 2)
    Q = _clustered(3000, 8, 3)
    dist, ind = kneighbors(
        X, 5, query=Q, algorithm="approx", nprobe=3, return_distance=True
    )
    plan = last_plan()
    assert plan["nprobe"] == 3 and plan["nprobe_source"] == "given"
    exact = kneighbors(X, 5, query=Q, algorithm="brute")
    assert abs(plan["recall"] - _recall(ind, exact)) <= _tolerance(plan)
    direct = np.sqrt(((X[ind] - Q[:, None, :]) ** 2).sum(axis=-1))
    np.testing.assert_allclose(dist, direct, rtol=1e-12)
    # nprobe above the number of cells is capped; probing every cell (here
    # nlist <= nprobe_max) searches every row: the exact answer.
    every = kneighbors(X, 5, query=Q, algorithm="approx", nprobe=10**6)
    assert last_plan()["nprobe"] == last_plan()["nprobe_max"] == last_plan()["nlist"]
    assert last_plan()["recall"] == 1.0
    assert np.array_equal(every, exact)


def test_small_problem_is_exact():
    X = _gaussian(500, 4, 4)
    ind = kneighbors(X, 3, algorithm="approx")
    plan = last_plan()
    assert plan["recall"] == 1.0 and plan["recall_sample"] == 0
    assert np.array_equal(ind, kneighbors(X, 3, algorithm="brute"))


def test_faiss_threads_restored():
    import faiss

    before = faiss.omp_get_max_threads()
    kneighbors(_clustered(N, 4, 5), 2, algorithm="approx", n_jobs=1)
    assert faiss.omp_get_max_threads() == before


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"approx_recall": 0.0}, "approx_recall must be a float in"),
        ({"approx_recall": 1.5}, "approx_recall must be a float in"),
        ({"approx_recall": float("nan")}, "approx_recall must be a float in"),
        ({"approx_recall": "high"}, "approx_recall must be a float in"),
        ({"nprobe": 0}, "nprobe must be None or an int >= 1"),
        ({"nprobe": 2.5}, "nprobe must be None or an int >= 1"),
        ({"nprobe": True}, "nprobe must be None or an int >= 1"),
        ({"approx_engine": "hnsw"}, "approx_engine must be one of"),
    ],
)
def test_bad_knobs_rejected(kwargs, match):
    X = _gaussian(50, 3, 6)
    with pytest.raises(ValueError, match=match):
        nb.squared_kneighbors(X, 2, algorithm="approx", **kwargs)


def test_nearest_neighbors_estimator_recall():
    X = _clustered(N, 8, 7)
    nn = NearestNeighbors(n_neighbors=3, algorithm="approx", n_jobs=2).fit(X)
    ind = nn.kneighbors(return_distance=False)
    assert nn.algorithm_ == "approx"
    assert nn.recall_ == nn.last_plan_["recall"] >= 0.99
    exact = kneighbors(X, 3, algorithm="brute")
    assert _recall(ind, exact) >= 0.99 - _tolerance(nn.last_plan_)
    with pytest.raises(InvalidParameterError, match="approx_recall"):
        NearestNeighbors(algorithm="approx", approx_recall=2.0).fit(X[:10])
    with pytest.raises(InvalidParameterError, match="nprobe"):
        NearestNeighbors(algorithm="approx", nprobe=0).fit(X[:10])


def _imbalanced(n: int, seed: int = 0):
    return make_classification(
        n_samples=n,
        n_features=6,
        n_informative=4,
        weights=[0.3, 0.7],
        flip_y=0.02,
        class_sep=0.8,
        random_state=seed,
    )


@pytest.fixture
def small_index():
    # Let the inverted file serve classes of a few thousand rows, so that the
    # samplers' searches really are approximate on test-sized data.
    with nb.tuned(approx_min_n=2000):
        yield


SAMPLERS = [
    SMOTE(random_state=0),
    TomekLinks(),
    EditedNearestNeighbours(),
    RepeatedEditedNearestNeighbours(max_iter=3),
    AllKNN(),
    NeighbourhoodCleaningRule(),
    OneSidedSelection(random_state=0),
    SMOTEENN(random_state=0),
    SMOTETomek(random_state=0),
]


@pytest.mark.parametrize("sampler", SAMPLERS, ids=lambda s: type(s).__name__)
def test_samplers_accept_approx(sampler, small_index):
    X, y = _imbalanced(10_000)
    approx = sampler.set_params(neighbors="approx")
    with nb.RecallTracker() as tracker:
        X_res, y_res = approx.fit_resample(X, y)
    assert X_res.shape == (y_res.shape[0], X.shape[1])
    assert approx.neighbors_recall_ == tracker.recall
    # Every search was calibrated to 0.99; at least one used the index.
    assert tracker.n_indexed >= 1
    assert approx.neighbors_recall_ >= 0.99
    counts, before = Counter(y_res), Counter(y)
    if isinstance(approx, SMOTE):
        assert counts[0] == counts[1] == before[1]
        assert np.array_equal(X_res[: X.shape[0]], X)
    elif isinstance(approx, SMOTEENN | SMOTETomek):
        assert max(counts.values()) <= before[1]
        assert min(counts.values()) > before[0]
    else:
        idx = approx.sample_indices_
        assert np.array_equal(X_res, X[idx]) and np.array_equal(y_res, y[idx])
        # The minority is not targeted; the majority lost samples.
        assert counts[0] == before[0]
        assert counts[1] < before[1]
    exact = type(approx)(**{**approx.get_params(), "neighbors": "exact"})
    exact.fit_resample(X, y)
    assert not hasattr(exact, "neighbors_recall_")


def test_sampler_recall_is_the_search_recall(small_index):
    # TomekLinks searches the non-majority rows, then their majority
    # partners (k=2 queries, self dropped by index): its recall is the
    # query-weighted recall of those searches, and each is calibrated.
    X, y = _imbalanced(10_000, seed=1)
    tl = TomekLinks(neighbors="approx")
    tl.fit_resample(X, y)
    plan = last_plan()
    assert plan["k"] == 2 and plan["n_queries"] < len(y)
    assert 0.99 - _tolerance(plan) <= tl.neighbors_recall_ <= 1.0
    exact = kneighbors(X, 1, algorithm="brute")
    found = kneighbors(X, 1, algorithm="approx")
    assert abs(_recall(found, exact) - last_plan()["recall"]) <= _tolerance(last_plan())


def test_condensed_accepts_approx():
    X, y = _imbalanced(600, seed=2)
    cnn = CondensedNearestNeighbour(random_state=0, neighbors="approx")
    X_res, y_res = cnn.fit_resample(X, y)
    assert cnn.neighbors_recall_ == 1.0  # every search is small: exact
    ref = CondensedNearestNeighbour(random_state=0).fit_resample(X, y)
    assert np.array_equal(X_res, ref[0]) and np.array_equal(y_res, ref[1])


@pytest.mark.parametrize(
    "cls", [type(s) for s in SAMPLERS] + [CondensedNearestNeighbour]
)
def test_bogus_neighbors_rejected(cls):
    X, y = _imbalanced(200)
    with pytest.raises(
        InvalidParameterError, match=r"The 'neighbors' parameter of \w+ must be"
    ):
        cls(neighbors="bogus").fit_resample(X, y)


def test_dask_input_with_approx_accepted():
    # Partitions below the index size are searched exactly: the in-memory
    # result, with a measured recall of 1 (more in tests/test_dask.py).
    da = pytest.importorskip("dask.array")
    import dask

    X, y = _imbalanced(400)
    Xd, yd = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
    sampler = TomekLinks(neighbors="approx")
    with dask.config.set(scheduler="sync"):
        X_res = sampler.fit_resample(Xd, yd)[0].compute()
    np.testing.assert_array_equal(X_res, TomekLinks().fit_resample(X, y)[0])
    assert sampler.neighbors_recall_ == 1.0


def test_auto_engine_answers_exactly_when_pruning_is_cheap():
    # The default approx_pruned_probes, not index_only's 0.
    with nb.tuned(approx_pruned_probes=nb.Tuning().approx_pruned_probes):
        rng = np.random.default_rng(5)
        X = rng.standard_normal((200, 12)) * 20
        X = X[rng.integers(0, 200, N)] + rng.standard_normal((N, 12)) * 0.1
        ind, dist = nb.squared_kneighbors(X, 4, n_threads=2, algorithm="approx")
        plan = last_plan()
        assert plan["requested"] == "approx" and plan["algorithm"] == "pruned"
        assert plan["recall"] == 1.0 and plan["recall_sample"] == 0
        exact = nb.squared_kneighbors(X, 4, n_threads=2, algorithm="brute")
        assert np.array_equal(ind, exact[0]) and np.array_equal(dist, exact[1])
        # Unclustered rows: the pruned search gives up; so does the index (it
        # would need more than 20% of its cells), and the brute force answers.
        G = _gaussian(N, 12, 6)
        ind = nb.squared_kneighbors(G, 4, n_threads=2, algorithm="approx")[0]
        plan = last_plan()
        assert plan["algorithm"] == "brute" and "index_gave_up" in plan
        assert plan["recall"] == 1.0
        assert np.array_equal(ind, nb.squared_kneighbors(G, 4, algorithm="brute")[0])
