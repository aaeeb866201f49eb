"""Dask collections in, lazy dask collections out, equal to the in-memory result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402

from imbfast.combine import SMOTEENN, SMOTETomek  # noqa: E402
from imbfast.dask import _stratified, sharded_kneighbors  # noqa: E402
from imbfast.neighbors import kneighbors  # noqa: E402
from imbfast.over_sampling import SMOTE, RandomOverSampler  # noqa: E402
from imbfast.under_sampling import (  # noqa: E402
    EditedNearestNeighbours,
    RandomUnderSampler,
    StratifiedSampler,
    TomekLinks,
)

SAMPLERS = [
    RandomUnderSampler(random_state=0),
    RandomUnderSampler(random_state=1, replacement=True),
    RandomOverSampler(random_state=0),
    RandomOverSampler(random_state=0, shrinkage=0.5),
    SMOTE(random_state=0),
    SMOTE(random_state=np.random.RandomState(3), k_neighbors=3),
    StratifiedSampler(random_state=0),
    StratifiedSampler(random_state=5, replacement=True),
    TomekLinks(),
    TomekLinks(sampling_strategy="all"),
    EditedNearestNeighbours(),
    EditedNearestNeighbours(kind_sel="mode", n_neighbors=5),
    EditedNearestNeighbours(sampling_strategy="all"),
    SMOTETomek(random_state=0),
    SMOTEENN(random_state=0),
]


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of two worker processes, as in production."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            memory_limit="1GiB",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def data():
    return make_classification(
        n_samples=6000,
        n_features=8,
        n_informative=5,
        n_classes=3,
        weights=[0.1, 0.3, 0.6],
        random_state=0,
    )


def fresh(sampler):
    params = sampler.get_params()
    if isinstance(params.get("random_state"), np.random.RandomState):
        params["random_state"] = np.random.RandomState(3)
    return type(sampler)(**params)


@pytest.mark.parametrize("sampler", SAMPLERS, ids=repr)
@pytest.mark.parametrize("chunks", [500, 1777, 6000])
def test_same_result_as_in_memory(client, data, sampler, chunks):
    X, y = data
    X_ref, y_ref = fresh(sampler).fit_resample(X, y)
    ours = fresh(sampler)
    X_res, y_res = ours.fit_resample(
        da.from_array(X, chunks=(chunks, -1)), da.from_array(y, chunks=chunks)
    )
    assert isinstance(X_res, da.Array) and isinstance(y_res, da.Array)
    X_res, y_res = dask.compute(X_res, y_res)
    np.testing.assert_array_equal(X_res, X_ref)
    np.testing.assert_array_equal(y_res, y_ref)
    if hasattr(ours, "sample_indices_"):
        reference = fresh(sampler)
        reference.fit_resample(X, y)
        np.testing.assert_array_equal(
            ours.sample_indices_.compute(), reference.sample_indices_
        )
    assert ours.n_features_in_ == X.shape[1]


def test_stratified_too_tight_bound_is_redone(client, data, monkeypatch):
    # Bounds far below the quota's quantile: every class must be searched
    # again without one, and the result stays exact.
    X, y = data
    monkeypatch.setattr(_stratified, "_SIGMAS", -30.0)
    ref = StratifiedSampler(random_state=2)
    X_ref, _ = ref.fit_resample(X, y)
    ours = StratifiedSampler(random_state=2)
    X_res, _ = ours.fit_resample(da.from_array(X, chunks=(900, -1)), y)
    np.testing.assert_array_equal(X_res.compute(), X_ref)
    np.testing.assert_array_equal(ours.sample_indices_.compute(), ref.sample_indices_)


@pytest.mark.parametrize("minority_share", [0.1, 0.01])
def test_tomek_queries_do_not_grow_with_the_majority(client, minority_share):
    X, y = make_classification(
        n_samples=8000,
        n_features=5,
        n_informative=3,
        weights=[minority_share, 1 - minority_share],
        flip_y=0,
        random_state=0,
    )
    sampler = TomekLinks()
    sampler.fit_resample(da.from_array(X, chunks=(1000, -1)), y)
    n_minority = int(np.sum(y == 0))
    # Minority rows plus at most one partner each.
    assert sampler.dask_stats_["rows_queried"] <= 2 * n_minority


def test_enn_prefilter_skips_majority_rows(client):
    X, y = make_classification(
        n_samples=8000,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        weights=[0.05, 0.95],
        class_sep=2.0,
        flip_y=0,
        random_state=0,
    )
    sampler = EditedNearestNeighbours()
    X_res, _ = sampler.fit_resample(da.from_array(X, chunks=(4000, -1)), y)
    stats = sampler.dask_stats_
    assert stats["majority_rows_prefiltered"] > 0
    assert stats["rows_queried"] < len(y)
    X_ref, _ = EditedNearestNeighbours().fit_resample(X, y)
    np.testing.assert_array_equal(X_res.compute(), X_ref)


def test_dataframe_with_target_column(client, data):
    X, y = data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["label"] = np.array(["a", "b", "c"])[y]
    ddf = dd.from_pandas(df, npartitions=5)
    sampler = SMOTE(random_state=0)
    X_res, y_res = sampler.fit_resample(ddf, "label")
    assert isinstance(X_res, dd.DataFrame) and isinstance(y_res, dd.Series)
    X_ref, y_ref = SMOTE(random_state=0).fit_resample(
        df.drop(columns="label"), df["label"]
    )
    pd.testing.assert_frame_equal(
        X_res.compute().reset_index(drop=True), X_ref.reset_index(drop=True)
    )
    assert y_res.name == "label"
    np.testing.assert_array_equal(y_res.compute().to_numpy(), y_ref.to_numpy())
    assert list(sampler.feature_names_in_) == list(df.columns[:-1])


def test_dataframe_and_series_keep_dtypes(client, data):
    X, y = data
    df = pd.DataFrame({"a": X[:, 0], "b": (X[:, 1] * 100).astype(np.int32)})
    ddf = dd.from_pandas(df, npartitions=3)
    ys = dd.from_pandas(pd.Series(y, name="t"), npartitions=3)
    X_res, y_res = RandomUnderSampler(random_state=0).fit_resample(ddf, ys)
    X_ref, y_ref = RandomUnderSampler(random_state=0).fit_resample(df, pd.Series(y))
    out = X_res.compute()
    assert dict(out.dtypes) == dict(X_ref.dtypes)
    np.testing.assert_array_equal(out.to_numpy(), X_ref.to_numpy())
    np.testing.assert_array_equal(y_res.compute().to_numpy(), y_ref.to_numpy())


def test_smote_sharded_minority_equals_gathered(client, data):
    X, y = data
    X_ref, y_ref = SMOTE(random_state=0).fit_resample(X, y)
    with dask.config.set({"imbfast.gather-limit": "1KiB"}):
        X_res, y_res = SMOTE(random_state=0).fit_resample(
            da.from_array(X, chunks=(700, -1)), da.from_array(y, chunks=700)
        )
        X_res, y_res = dask.compute(X_res, y_res)
    np.testing.assert_array_equal(X_res, X_ref)
    np.testing.assert_array_equal(y_res, y_ref)


@pytest.mark.parametrize("chunks", [100, 999, 5000])
def test_sharded_kneighbors_is_exact(client, chunks):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(3000, 6))
    X[10] = X[20]  # exact duplicates: the tie rule must hold across shards
    queries = X[:300]
    ind, _ = sharded_kneighbors(
        da.from_array(X, chunks=(chunks, -1)), queries, 4, query_rows=np.arange(300)
    )
    reference = kneighbors(X, 4)[:300]
    np.testing.assert_array_equal(ind, reference)


def test_columns_chunked_and_numpy_y(client, data):
    X, y = data
    X_res, _ = RandomUnderSampler(random_state=0).fit_resample(
        da.from_array(X, chunks=(1000, 3)), y
    )
    X_ref, _ = RandomUnderSampler(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(X_res.compute(), X_ref)


class TestBadInput:
    def test_length_mismatch(self, data):
        X, y = data
        with pytest.raises(ValueError, match="inconsistent numbers of samples"):
            SMOTE().fit_resample(da.from_array(X), da.from_array(y[:-1]))

    def test_unknown_column(self, data):
        X, _ = data
        ddf = dd.from_pandas(pd.DataFrame(X), npartitions=2)
        with pytest.raises(ValueError, match="'nope' is not a column of X"):
            SMOTE().fit_resample(ddf, "nope")

    def test_nan_for_smote(self, data):
        X, y = data
        X = X.copy()
        X[5, 0] = np.nan
        with pytest.raises(ValueError, match="NaN or infinity"):
            SMOTE().fit_resample(da.from_array(X, chunks=(1000, -1)), y)

    def test_one_class(self, data):
        X, _ = data
        with pytest.raises(ValueError, match="needs to have more than 1 class"):
            RandomUnderSampler().fit_resample(
                da.from_array(X), da.zeros(len(X), dtype=int)
            )

    def test_small_class(self, data):
        X, y = data
        y = y.copy()
        y[:] = 1
        y[:3] = 0
        with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
            SMOTE().fit_resample(da.from_array(X), da.from_array(y))


@pytest.mark.slow
def test_larger_than_worker_memory():
    """640 MB of rows through workers limited to 300 MB each, none killed."""
    n, d, chunk = 4_000_000, 20, 100_000
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            memory_limit="300MB",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        X = da.random.RandomState(0).standard_normal((n, d), chunks=(chunk, d))
        y = (da.random.RandomState(1).random_sample(n, chunks=chunk) < 0.1).astype(
            np.int64
        )
        X_res, y_res = RandomUnderSampler(random_state=0).fit_resample(X, y)
        total_rows, class_one = dask.compute(y_res.shape[0], y_res.sum())
        column_sums = X_res.sum(axis=0).compute()
        assert total_rows == 2 * class_one
        assert np.all(np.isfinite(column_sums))
        assert len(client.scheduler_info()["workers"]) == 2


# ----------------------------------------------------------------------------
# neighbors="approx": the sharded search runs the approximate engine per
# partition; below Tuning.approx_min_n rows a partition's engine is exact.

APPROX_SAMPLERS = [
    TomekLinks(neighbors="approx"),
    EditedNearestNeighbours(neighbors="approx"),
    EditedNearestNeighbours(sampling_strategy="all", neighbors="approx"),
    SMOTE(random_state=0, neighbors="approx"),
    SMOTETomek(random_state=0, neighbors="approx"),
    SMOTEENN(random_state=0, neighbors="approx"),
]


@pytest.mark.parametrize("sampler", APPROX_SAMPLERS, ids=repr)
def test_approx_on_small_partitions_equals_exact(client, data, sampler, chunks=1777):
    X, y = data
    exact = type(sampler)(**{**sampler.get_params(), "neighbors": "exact"})
    X_ref, y_ref = exact.fit_resample(X, y)
    ours = type(sampler)(**sampler.get_params())
    X_res, y_res = ours.fit_resample(
        da.from_array(X, chunks=(chunks, -1)), da.from_array(y, chunks=chunks)
    )
    X_res, y_res = dask.compute(X_res, y_res)
    np.testing.assert_array_equal(X_res, X_ref)
    np.testing.assert_array_equal(y_res, y_ref)
    assert ours.neighbors_recall_ == 1.0


def test_approx_smote_sharded_minority_equals_exact(client, data):
    X, y = data
    X_ref, _ = SMOTE(random_state=0).fit_resample(X, y)
    ours = SMOTE(random_state=0, neighbors="approx")
    with dask.config.set({"imbfast.gather-limit": "1KiB"}):
        X_res, _ = ours.fit_resample(da.from_array(X, chunks=(700, -1)), y)
        np.testing.assert_array_equal(X_res.compute(), X_ref)
    assert ours.neighbors_recall_ == 1.0


def _direct_recall(found, X, query_rows, k):
    """Fraction of the exact in-memory neighbours of query_rows found, averaged."""
    truth = kneighbors(X, k)[query_rows]
    return (found[:, :, None] == truth[:, None, :]).any(axis=1).mean(axis=1).mean()


@pytest.fixture(scope="module")
def large_partitions():
    """Two partitions above Tuning.approx_min_n rows: each builds an index.

    Unclustered rows, so that one probed cell misses neighbours (and no
    exact shortcut of the approximate engine applies).
    """
    from imbfast import neighbors

    n = 2 * (neighbors.tuning().approx_min_n + 2000)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(n, 6))
    X[n // 2 + 5] = X[7]  # an exact duplicate in the other partition
    y = (rng.random(n) < 0.05).astype(np.int64)
    return X, y, da.from_array(X, chunks=(n // 2, -1))


def test_sharded_approx_recall_is_measured(client, large_partitions):
    from imbfast.dask._search import recall_sample
    from imbfast.neighbors import RecallTracker

    X, _, X_dask = large_partitions
    rows = np.concatenate([[7], np.arange(3, X.shape[0], 29)])
    assert rows.size > 1000  # the recall is measured on a sample of 1000
    with RecallTracker() as tracker:
        ind, dist = sharded_kneighbors(
            X_dask, X[rows], 4, query_rows=rows, neighbors="approx", nprobe=1
        )
    assert tracker.n_indexed == 1
    pick = recall_sample(rows.size)
    direct = _direct_recall(ind[pick], X, rows[pick], 4)
    assert tracker.recall == pytest.approx(direct, rel=1e-12)
    assert tracker.recall < 1.0  # one probed cell per partition misses some
    assert not np.any(ind == rows[:, None])  # self excluded by global index
    assert ind[0, 0] == X.shape[0] // 2 + 5  # ... but not its duplicate
    exact_dist = ((X[ind] - X[rows][:, None, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(dist, exact_dist, rtol=1e-9, atol=1e-9)
    assert np.all(np.diff(dist, axis=1) >= 0)


@pytest.mark.parametrize("kind", ["tomek", "enn"])
def test_sampler_recall_is_the_measured_one(
    client, large_partitions, monkeypatch, kind
):
    # Every sharded search the sampler runs is captured; its recall, measured
    # here against the exact in-memory search on the same sample of queries
    # and weighted by queries, is what the sampler reports.
    from imbfast.dask import _cleaning
    from imbfast.dask._search import recall_sample
    from imbfast.neighbors import NearestNeighbors

    X, y, X_dask = large_partitions
    searches = []

    def spy(X_arg, queries, k, **kwargs):
        ind, dist = sharded_kneighbors(X_arg, queries, k, **kwargs)
        searches.append((kwargs["query_rows"], ind, k))
        return ind, dist

    monkeypatch.setattr(_cleaning, "sharded_kneighbors", spy)
    if kind == "tomek":
        sampler = TomekLinks(neighbors="approx")
    else:
        nn = NearestNeighbors(n_neighbors=4, algorithm="approx", nprobe=1)
        sampler = EditedNearestNeighbours(n_neighbors=nn, neighbors="approx")
    X_res, _ = sampler.fit_resample(X_dask, y)
    X_res.compute()
    assert searches
    weighted = sum(
        _direct_recall(ind[recall_sample(len(r))], X, r[recall_sample(len(r))], k)
        * len(r)
        for r, ind, k in searches
    )
    expected = weighted / sum(len(r) for r, _, _ in searches)
    assert sampler.neighbors_recall_ == pytest.approx(expected, rel=1e-12)
    if kind == "enn":
        assert sampler.neighbors_recall_ < 1.0


class TestApproxBadInput:
    def test_recall_out_of_range_as_in_memory(self, data):
        from sklearn.utils._param_validation import InvalidParameterError

        from imbfast.neighbors import NearestNeighbors

        X, y = data
        nn = NearestNeighbors(n_neighbors=4, algorithm="approx", approx_recall=1.5)
        with pytest.raises(InvalidParameterError) as in_memory:
            EditedNearestNeighbours(n_neighbors=nn).fit_resample(X, y)
        with pytest.raises(InvalidParameterError) as on_dask:
            EditedNearestNeighbours(n_neighbors=nn).fit_resample(
                da.from_array(X, chunks=(1000, -1)), y
            )
        assert "approx_recall" in str(on_dask.value)
        assert str(on_dask.value) == str(in_memory.value)

    def test_sharded_smote_bad_nprobe_as_in_memory(self, data):
        from sklearn.utils._param_validation import InvalidParameterError

        from imbfast.neighbors import NearestNeighbors

        X, y = data
        nn = NearestNeighbors(n_neighbors=6, algorithm="approx", nprobe=0)
        with pytest.raises(InvalidParameterError) as in_memory:
            SMOTE(k_neighbors=nn).fit_resample(X, y)
        with (
            dask.config.set({"imbfast.gather-limit": "1KiB"}),
            pytest.raises(InvalidParameterError) as on_dask,
        ):
            SMOTE(k_neighbors=nn).fit_resample(da.from_array(X, chunks=(700, -1)), y)
        assert str(on_dask.value) == str(in_memory.value)

    @pytest.mark.parametrize("recall", [0.0, 1.5, True])
    def test_sharded_search_bad_recall(self, recall):
        X = np.random.default_rng(0).normal(size=(50, 3))
        message = r"approx_recall must be a float in \(0, 1\]"
        with pytest.raises(ValueError, match=message):
            sharded_kneighbors(
                da.from_array(X, chunks=(20, -1)),
                X[:5],
                2,
                neighbors="approx",
                approx_recall=recall,
            )

    def test_sharded_search_bad_mode(self):
        X = np.zeros((10, 2))
        with pytest.raises(ValueError, match="neighbors must be one of"):
            sharded_kneighbors(da.from_array(X), X[:2], 1, neighbors="fast")

    def test_bad_neighbors_value_as_in_memory(self, data):
        from sklearn.utils._param_validation import InvalidParameterError

        X, y = data
        with pytest.raises(InvalidParameterError) as in_memory:
            TomekLinks(neighbors="fast").fit_resample(X, y)
        with pytest.raises(InvalidParameterError) as on_dask:
            TomekLinks(neighbors="fast").fit_resample(da.from_array(X), y)
        assert str(on_dask.value) == str(in_memory.value)


def _unsupported_samplers():
    from imbfast.over_sampling import (
        ADASYN,
        SMOTEN,
        SMOTENC,
        SVMSMOTE,
        BorderlineSMOTE,
        KMeansSMOTE,
    )
    from imbfast.under_sampling import (
        AllKNN,
        ClusterCentroids,
        CondensedNearestNeighbour,
        InstanceHardnessThreshold,
        NearMiss,
        NeighbourhoodCleaningRule,
        OneSidedSelection,
        RepeatedEditedNearestNeighbours,
    )

    return [
        RepeatedEditedNearestNeighbours(),
        AllKNN(),
        NeighbourhoodCleaningRule(),
        OneSidedSelection(random_state=0),
        CondensedNearestNeighbour(random_state=0),
        NearMiss(),
        ClusterCentroids(random_state=0),
        InstanceHardnessThreshold(random_state=0),
        ADASYN(random_state=0),
        BorderlineSMOTE(random_state=0),
        SVMSMOTE(random_state=0),
        KMeansSMOTE(random_state=0),
        SMOTEN(random_state=0),
        SMOTENC(categorical_features=[0], random_state=0),
    ]


SUPPORTED_NAMES = sorted(
    {type(s).__name__ for s in SAMPLERS},
)


@pytest.mark.parametrize("sampler", _unsupported_samplers(), ids=repr)
def test_sampler_without_dask_path_raises_before_computing(data, sampler):
    from dask.callbacks import Callback

    X, y = data
    Xd, yd = da.from_array(X, chunks=(1000, -1)), da.from_array(y, chunks=1000)
    started = []
    # The synchronous scheduler runs the callbacks (a distributed client,
    # open from other tests, would not).
    with (
        dask.config.set(scheduler="sync"),
        Callback(start=lambda dsk: started.append(dsk)),
    ):
        for X_in, y_in in [(Xd, yd), (X, yd), (Xd, y)]:
            with pytest.raises(TypeError) as info:
                sampler.fit_resample(X_in, y_in)
            message = str(info.value)
            assert message.startswith(f"{type(sampler).__name__} does not accept")
            for name in SUPPORTED_NAMES:
                assert name in message
    assert started == []  # nothing was computed
    assert not hasattr(sampler, "sampling_strategy_")


def test_supported_list_is_the_dispatch_table():
    from imbfast.dask import dask_samplers

    assert dask_samplers() == SUPPORTED_NAMES


def test_subclass_takes_its_base_dask_path(client, data):
    class MySMOTE(SMOTE):
        pass

    class MyTomek(TomekLinks):
        pass

    X, y = data
    Xd, yd = da.from_array(X, chunks=(1777, -1)), da.from_array(y, chunks=1777)
    for cls in (MySMOTE, MyTomek):
        params = {"random_state": 0} if cls is MySMOTE else {}
        X_ref, y_ref = cls(**params).fit_resample(X, y)
        X_res, y_res = cls(**params).fit_resample(Xd, yd)
        assert isinstance(X_res, da.Array)
        X_res, y_res = dask.compute(X_res, y_res)
        np.testing.assert_array_equal(X_res, X_ref)
        np.testing.assert_array_equal(y_res, y_ref)
