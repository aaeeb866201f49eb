"""Every neighbour engine returns exactly the brute-force float64 answer."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.neighbors import NearestNeighbors as SkNearestNeighbors

from imbfast import _core
from imbfast.neighbors import (
    NearestNeighbors,
    choose_algorithm,
    kneighbors,
    last_plan,
    neighbors_excluding_self,
    tuned,
)

ENGINES = ["brute", "tree", "pruned", "auto"]


def reference(X, k, Q=None):
    """Exact k-NN in float64, ordered by (squared distance, index).

    Squared distances are summed feature by feature in order, the same
    operations as the C++ reference scan, so near-ties rank identically.
    """
    X64 = np.asarray(X, dtype=np.float64)
    Q64 = X64 if Q is None else np.asarray(Q, dtype=np.float64)
    dist = np.zeros((Q64.shape[0], X64.shape[0]))
    for j in range(X64.shape[1]):
        diff = Q64[:, j, None] - X64[None, :, j]
        dist = dist + diff * diff
    if Q is None:
        np.fill_diagonal(dist, np.inf)
    cols = np.broadcast_to(np.arange(X64.shape[0]), dist.shape)
    order = np.lexsort((cols, dist), axis=1)[:, :k]
    return order, np.take_along_axis(dist, order, axis=1)


def make_data(kind, n, d, seed):
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.standard_normal((n, d))
    if kind == "duplicated":
        X = rng.standard_normal((n // 3, d))
        return X[rng.integers(0, n // 3, size=n)]
    if kind == "clustered":
        X, _ = make_blobs(
            n_samples=n, n_features=d, centers=5, cluster_std=0.05, random_state=seed
        )
        X[: n // 10] = X[n // 10 : 2 * (n // 10)]  # exact duplicates too
        return X
    if kind == "grid":
        # Integer coordinates: many exactly equal distances.
        return rng.integers(0, 4, size=(n, d)).astype(np.float64)
    if kind == "binary":
        # Flags: few distinct rows, hundreds of exact duplicates each.
        return (rng.random((n, d)) < 0.3).astype(np.float64)
    if kind == "onehot":
        # A wide-range amount column beside one-hot blocks: float32 cannot
        # resolve neighbour distances against the amount's magnitude.
        amount = np.round(rng.lognormal(8, 1.2, n))
        blocks = [np.eye(4)[rng.integers(0, 4, n)] for _ in range(max(1, d // 4))]
        return np.column_stack([amount, *blocks])
    if kind == "offset":
        # Far from the origin: the float32 pass works on centred data.
        return rng.standard_normal((n, d)) * 1e-3 + 1e4
    raise AssertionError(kind)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "kind", ["random", "duplicated", "clustered", "grid", "offset"]
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("d", "k"), [(2, 1), (5, 4), (20, 7)])
def test_self_matches_reference(engine, kind, dtype, d, k):
    X = make_data(kind, 300, d, seed=d + k).astype(dtype)
    dist, ind = kneighbors(X, k, algorithm=engine, return_distance=True)
    ref_ind, ref_dist = reference(X, k)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(dist, np.sqrt(ref_dist))
    assert ind.dtype == np.int64
    assert dist.dtype == np.float64


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["random", "duplicated", "grid"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 6])
def test_query_matches_reference(engine, kind, dtype, k):
    X = make_data(kind, 250, 6, seed=k).astype(dtype)
    # Queries include exact copies of fitted rows (distance-0 ties).
    Q = np.vstack([make_data(kind, 40, 6, seed=99), X[:10]]).astype(dtype)
    ind = kneighbors(X, k, query=Q, algorithm=engine)
    np.testing.assert_array_equal(ind, reference(X, k, Q)[0])


@pytest.mark.parametrize("engine", ["brute", "tree"])
def test_large_k(engine):
    X = make_data("clustered", 260, 9, seed=3)
    for k in (50, 100, 259):
        np.testing.assert_array_equal(
            kneighbors(X, k, algorithm=engine), reference(X, k)[0]
        )


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("d", [3, 30])
def test_matches_sklearn_brute_on_tie_free_data(engine, d):
    X = make_data("random", 2000, d, seed=d)
    Q = make_data("random", 300, d, seed=d + 1)
    sk = SkNearestNeighbors(n_neighbors=5, algorithm="brute").fit(X)
    _, sk_ind = sk.kneighbors(Q)
    np.testing.assert_array_equal(kneighbors(X, 5, query=Q, algorithm=engine), sk_ind)
    _, sk_self = (
        SkNearestNeighbors(n_neighbors=6, algorithm="brute").fit(X).kneighbors(X)
    )
    np.testing.assert_array_equal(kneighbors(X, 5, algorithm=engine), sk_self[:, 1:])


@pytest.mark.parametrize("engine", ["brute", "tree"])
@pytest.mark.parametrize("kind", ["duplicated", "binary"])
def test_results_do_not_depend_on_threads(engine, kind):
    # Binary rows run the brute force in exact arithmetic. Two workers take
    # the symmetric pass's block pairs out of row order, so ties reach the
    # lists from both sides of a tile in any order: they must still resolve
    # to the lower index.
    # (With the int8 pass off too: on binary rows it would answer instead.)
    X = make_data(kind, 3000, 8, seed=5)
    for int8 in ("auto", "never"):
        with tuned(int8_filter=int8):
            one = kneighbors(X, 5, n_jobs=1, algorithm=engine, return_distance=True)
            two = kneighbors(X, 5, n_jobs=2, algorithm=engine, return_distance=True)
        np.testing.assert_array_equal(one[1], two[1])
        np.testing.assert_array_equal(one[0], two[0])
        np.testing.assert_array_equal(two[1], reference(X, 5)[0])


def test_fused_pass_reports_its_plan_and_its_tie_handling():
    # Small integers: every value of the float32 pass is exact, so the lists
    # are the exact answer (ties by index) without a proof or a tie pass.
    X = make_data("grid", 400, 3, seed=0)
    ind = kneighbors(X, 5, algorithm="brute")
    plan = last_plan()
    assert plan["algorithm"] == "brute"
    assert plan["symmetric"] is True
    assert plan["n_candidates"] == 5  # extra candidates only serve the proof
    assert plan["exact_arithmetic"] is True
    assert plan["n_tie_pass"] == 0
    np.testing.assert_array_equal(ind, reference(X, 5)[0])
    # The same grid spread too wide for exact float32 products: the proof
    # cannot separate the ties and those queries take the tie pass.
    ind = kneighbors(X * 4096, 5, algorithm="brute")
    plan = last_plan()
    assert plan["exact_arithmetic"] is False
    assert plan["n_candidates"] == 5 + 4
    assert plan["n_tie_pass"] > 0
    np.testing.assert_array_equal(ind, reference(X * 4096, 5)[0])
    kneighbors(make_data("random", 400, 3, seed=0), 5, algorithm="brute")
    assert last_plan()["n_tie_pass"] == 0
    assert last_plan()["exact_arithmetic"] is False


@pytest.mark.parametrize("kind", ["grid", "binary", "onehot"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("spread", [1.0, 1024.0, 0.125])
def test_ties_are_exact_on_discrete_data(kind, dtype, spread):
    # Integer, binary and one-hot data have more rows tied at the k-th
    # distance than a candidate list holds. Small lattice values (spread 1
    # or a power-of-two fraction) run in exact arithmetic; wider ones (a
    # spread of 1024, or the one-hot data's wide amount column) take the
    # tie pass (a second float32 pass at a fixed radius), never a scalar
    # scan. Either way the answer is the exact (distance, index) order.
    X = (make_data(kind, 1500, 12, seed=3) * spread).astype(dtype)
    Q = X[::7] + (X[:1] if kind == "grid" else 0)
    for query in (None, Q):
        ref_ind, ref_dist = reference(X, 6, query)
        for int8 in ("auto", "never"):  # lattice data: the int8 pass or not
            ind, dist = _core.fused_knn(X, query, 6, 8, 2, None, int8)[:2]
            np.testing.assert_array_equal(ind, ref_ind)
            np.testing.assert_array_equal(dist, ref_dist)
    # One thread: with two, which worker gets which block changes the
    # candidate lists, and so how many queries the proof leaves to the tie
    # pass (the answer never changes); under load it was seen to be 0.
    info = _core.fused_knn(X, None, 6, 8, 1)[2]
    exact = kind != "onehot" and spread != 1024.0
    assert info["exact_arithmetic"] is exact
    if exact:
        assert info["n_tie_pass"] == 0
    else:
        assert 0 < info["n_tie_pass"] <= X.shape[0]


@pytest.mark.parametrize("spread", [1.0, 1024.0])
def test_ties_respect_within(spread):
    X = make_data("binary", 1200, 10, seed=4) * spread
    Q = X[:300]
    ref_ind, ref_dist = reference(X, 5, Q)
    within = ref_dist[:, 2].copy()  # the third distance: ties straddle it
    ind, dist, info = _core.fused_knn(X, Q, 5, 2, 2, within)
    assert info["exact_arithmetic"] is (spread == 1.0)
    keep = ref_dist <= within[:, None]
    np.testing.assert_array_equal(np.where(keep, ref_ind, -1), ind)
    np.testing.assert_array_equal(np.where(keep, ref_dist, np.inf), dist)


def test_fused_extra_candidates_never_overflow():
    X = make_data("random", 50, 3, seed=0)
    ind, _, info = _core.fused_knn(X, None, 1, 2**63 - 1, 2)
    assert info["n_candidates"] == 49
    np.testing.assert_array_equal(ind, reference(X, 1)[0])


def test_fused_binding_direct():
    X = make_data("random", 500, 12, seed=1)
    Q = make_data("random", 70, 12, seed=2)
    idx, dist, info = _core.fused_knn(X, Q, 3, 0, 2)
    ref_ind, ref_dist = reference(X, 3, Q)
    np.testing.assert_array_equal(idx, ref_ind)
    np.testing.assert_array_equal(dist, ref_dist)
    assert info["symmetric"] is False
    assert info["n_candidates"] == 3


def test_choose_algorithm():
    assert choose_algorithm(100, 100, 5, 5) == "scan"
    assert choose_algorithm(1_000_000, 1_000_000, 3, 5) == "tree"
    assert choose_algorithm(100_000, 100_000, 20, 5) == "brute"
    assert choose_algorithm(100_000, 100_000, 100, 5) == "brute"
    X = make_data("random", 1000, 4, seed=0)
    kneighbors(X, 2)
    assert last_plan()["algorithm"] == choose_algorithm(1000, 1000, 4, 2)


def test_estimator_reports_choice_and_matches_function():
    X = make_data("clustered", 500, 4, seed=2)
    nn = NearestNeighbors(n_neighbors=3, algorithm="tree").fit(X)
    assert nn.algorithm_ == "tree"
    dist, ind = nn.kneighbors()
    assert nn.last_plan_["algorithm"] == "tree"
    ref_ind, ref_dist = reference(X, 3)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(dist, np.sqrt(ref_dist))
    assert NearestNeighbors(n_neighbors=3).fit(X).algorithm_ == choose_algorithm(
        500, 500, 4, 3
    )
    graph = nn.kneighbors_graph(X[:5], mode="distance")
    assert graph.shape == (5, 500)
    np.testing.assert_array_equal(
        neighbors_excluding_self(NearestNeighbors(n_neighbors=4), X), reference(X, 3)[0]
    )


def test_bad_inputs():
    X = make_data("random", 50, 3, seed=0)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        kneighbors(bad, 2)
    with pytest.raises(ValueError, match="NaN or infinity"):
        kneighbors(X, 2, query=np.full((2, 3), np.inf))
    with pytest.raises(ValueError, match="n_neighbors < n_samples_fit"):
        kneighbors(X, 50)
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        kneighbors(X, 51, query=X)
    with pytest.raises(ValueError, match="n_neighbors must be >= 1"):
        kneighbors(X, 0)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        kneighbors(X, 2, algorithm="ball_tree")
    with pytest.raises(ValueError, match="query must have shape"):
        kneighbors(X, 2, query=np.zeros((4, 5)))
    for fn in (_core.fused_knn, _core.kdtree_knn, _core.brute_knn):
        with pytest.raises(ValueError, match="dtype float32 or float64"):
            fn(X.astype(np.int64), None, 2)
        with pytest.raises(ValueError, match="C-contiguous"):
            fn(np.asfortranarray(X), None, 2)
        with pytest.raises(ValueError, match="Q must have dtype float64"):
            fn(X, X.astype(np.float32), 2)
        with pytest.raises(ValueError, match="k=60 but only 49"):
            fn(X, None, 60)
        with pytest.raises(ValueError, match="k must be >= 1"):
            fn(X, None, 0)
    with pytest.raises(ValueError, match="NaN or infinity"):
        _core.fused_knn(bad, None, 2)
    with pytest.raises(ValueError, match="n_extra"):
        _core.fused_knn(X, None, 2, -1)


@pytest.mark.parametrize("scale", [1e-30, 1e30, 1e150])
def test_tiny_and_huge_magnitudes(scale):
    # The float32 pass works on data scaled by a power of two: no overflow,
    # no underflow, and the proof still holds.
    X = make_data("random", 800, 3, seed=4) * scale
    ind = kneighbors(X, 3, algorithm="brute")
    assert last_plan()["n_tie_pass"] == 0
    np.testing.assert_array_equal(ind, reference(X, 3)[0])
    # The pruned search computes its bounds on scaled data too.
    Xc = make_data("clustered", 800, 40, seed=4) * scale
    np.testing.assert_array_equal(
        kneighbors(Xc, 3, algorithm="pruned"), reference(Xc, 3)[0]
    )


def blobs(n, d, centers, seed, dtype=np.float64):
    """Tight, well separated clusters: what the pruned search is for."""
    X, _ = make_blobs(
        n_samples=n,
        n_features=d,
        centers=centers,
        cluster_std=0.3,
        center_box=(-20, 20),
        random_state=seed,
    )
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 5])
def test_pruned_skips_work_and_stays_exact(dtype, k):
    X = blobs(6000, 12, 40, seed=k, dtype=dtype)
    X[:300] = X[300:600]  # exact duplicates
    expected = kneighbors(X, k, algorithm="brute", return_distance=True)
    got = kneighbors(X, k, algorithm="pruned", return_distance=True)
    plan = last_plan()
    assert plan["algorithm"] == "pruned"
    assert plan["work_fraction"] < 0.2
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])
    # Queries from outside the data, and copies of its rows.
    Q = np.vstack([blobs(500, 12, 40, seed=99, dtype=dtype), X[:50]])
    got = kneighbors(X, k, query=Q, algorithm="pruned")
    assert last_plan()["work_fraction"] < 0.2
    np.testing.assert_array_equal(got, kneighbors(X, k, query=Q, algorithm="brute"))


def test_pruned_boundaries_and_threads():
    # Points on the bisector of two clusters, and a cluster with fewer rows
    # than k: the bounds must keep every cell that can hold a neighbour.
    rng = np.random.default_rng(0)
    X = np.vstack(
        [
            rng.standard_normal((2000, 6)) * 0.1,
            rng.standard_normal((2000, 6)) * 0.1 + 5.0,
            np.full((40, 6), 2.5) + rng.standard_normal((40, 6)) * 1e-3,
            np.full((3, 6), -40.0),
        ]
    )
    ref = kneighbors(X, 6, algorithm="brute")  # checked against reference above
    for n_jobs in (1, 2):
        np.testing.assert_array_equal(
            kneighbors(X, 6, algorithm="pruned", n_jobs=n_jobs), ref
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pruned_groups_cells_and_stays_exact(dtype):
    # A Gaussian mixture of a few wide clusters, each cut into several cells
    # (the 10M benchmark's shape at a small scale): cells of one cluster are
    # searched together by the first pass, and the answer is unchanged,
    # ties included (duplicated rows), on one thread or two.
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((6, 16)) * 4
    X = centres[rng.integers(0, 6, 12000)] + rng.standard_normal((12000, 16))
    X = X.astype(dtype)
    X[:200] = X[200:400]
    expected = kneighbors(X, 4, algorithm="brute", return_distance=True)
    for n_jobs in (1, 2):
        got = kneighbors(X, 4, algorithm="pruned", return_distance=True, n_jobs=n_jobs)
        plan = last_plan()
        assert plan["algorithm"] == "pruned"
        assert plan["n_first_pass_blocks"] < plan["nlist"]
        np.testing.assert_array_equal(got[1], expected[1])
        np.testing.assert_array_equal(got[0], expected[0])


def nearest_centroid_reference(X, C, scale):
    """Nearest centroid of each row of X * scale rounded to float32, ranked by
    the squared distance summed in order in float64, ties by the lower index."""
    R = (np.asarray(X, dtype=np.float64) * scale).astype(np.float32).astype(np.float64)
    C64 = C.astype(np.float64)
    dist = np.zeros((R.shape[0], C64.shape[0]))
    for j in range(R.shape[1]):
        diff = R[:, j, None] - C64[None, :, j]
        dist = dist + diff * diff
    return dist.argmin(axis=1)  # the first of equal minima


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nearest_centroids_proof_is_exact(dtype):
    # Enough rows per centroid for the assignment by proof (sorted lists of
    # nearest centroids and the triangle inequality) instead of the search
    # of every centroid: it must give the same cells, ties by the lower
    # index. Duplicated centroids, rows at centroids, rows equidistant from
    # two centroids, and rows far from every centroid (left to the search).
    rng = np.random.default_rng(5)
    X = blobs(12000, 10, 60, seed=5, dtype=dtype)
    C = np.ascontiguousarray(
        X[rng.choice(len(X), 150, replace=False)], dtype=np.float32
    )
    C[140:] = C[:10]  # duplicates: the lower index wins
    X[:150] = C  # rows exactly at centroids
    X[150:160] = (C[20:30].astype(np.float64) + C[30:40]) / 2  # near-bisectors
    X[160:170] = C[40:50].astype(np.float64) * 2 - C[50:60]
    X[170:180] = 1000.0  # far from every centroid
    expected = nearest_centroid_reference(X, C, 0.5)
    for n_threads in (1, 2):
        got = _core.nearest_centroids(X, C, 0.5, n_threads)
        np.testing.assert_array_equal(got, expected)
    Y = X.copy()
    Y[7, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _core.nearest_centroids(Y, C, 0.5, 2)


def test_auto_tries_pruning_and_gives_up_on_unclustered_data():
    with tuned(pruned_auto_min_pairs=1000):
        X = blobs(5000, 30, 30, seed=1)
        ind = kneighbors(X, 4)
        assert last_plan()["algorithm"] == "pruned"
        np.testing.assert_array_equal(ind, kneighbors(X, 4, algorithm="brute"))
        G = make_data("random", 5000, 30, seed=1)
        ind = kneighbors(G, 4)
        plan = last_plan()
        assert plan["algorithm"] == "brute"
        assert plan["pruned_tried"] is True
        np.testing.assert_array_equal(ind, kneighbors(G, 4, algorithm="brute"))


@pytest.mark.parametrize("kind", ["random", "grid", "duplicated"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_within_bound(kind, dtype):
    # Only rows at squared distance <= within[i] count, ties at the bound
    # included (the grid has many), padded with -1 / inf.
    X = make_data(kind, 400, 5, seed=3).astype(dtype)
    Q = make_data(kind, 60, 5, seed=4).astype(dtype)
    ref_ind, ref_dist = reference(X, 6, Q)
    within = np.ascontiguousarray(ref_dist[:, 2])  # the third distance, exactly
    within[:5] = 0.0
    within[5:10] = np.inf
    ind, dist, _ = _core.fused_knn(X, Q, 6, 8, 2, within)
    keep = ref_dist <= within[:, None]
    np.testing.assert_array_equal(ind, np.where(keep, ref_ind, -1))
    np.testing.assert_array_equal(dist, np.where(keep, ref_dist, np.inf))
    with pytest.raises(ValueError, match="within needs queries"):
        _core.fused_knn(X, None, 2, 8, 1, np.zeros(400))
    with pytest.raises(ValueError, match="within must be >= 0"):
        _core.fused_knn(X, Q, 2, 8, 1, np.full(60, np.nan))
    with pytest.raises(ValueError, match="within"):
        _core.fused_knn(X, Q, 2, 8, 1, np.zeros(59))


def test_list_input_and_empty_queries():
    # Regressions found by fuzzing: a list X raised AttributeError, and the
    # pruned search divided by zero on an empty query set.
    np.testing.assert_array_equal(kneighbors([[0.0], [1.0], [3.0]], 1), [[1], [0], [1]])
    X = make_data("random", 100, 3, seed=0)
    for engine in ENGINES:
        ind, dist = kneighbors(
            X, 2, query=np.empty((0, 3)), algorithm=engine, return_distance=True
        )[::-1]
        assert ind.shape == dist.shape == (0, 2)


def test_float32_fit_float64_query_is_not_rounded():
    # The query 0.1 + 1e-12 rounds to float32 0.1 (a tie broken to row 0);
    # in float64 row 1 (0.2f) is strictly nearer, as scikit-learn finds.
    X = np.array([[0.0], [0.2]], dtype=np.float32)
    q = np.array([[0.10000000149 + 1e-12]])
    expected = SkNearestNeighbors(n_neighbors=1).fit(X).kneighbors(q)[1]
    assert expected[0, 0] == 1
    np.testing.assert_array_equal(
        NearestNeighbors(n_neighbors=1).fit(X).kneighbors(q)[1], expected
    )
    np.testing.assert_array_equal(kneighbors(X, 1, query=q), expected)


@pytest.mark.parametrize("kind", ["grid", "binary", "onehot", "duplicated"])
@pytest.mark.parametrize("engine", ["scan", "brute", "tree", "pruned", "auto"])
def test_every_engine_exact_on_tabular_data(kind, engine):
    # Integer, binary, one-hot and duplicated rows, at a size where each
    # production engine runs: every engine returns the float64 reference
    # (ties by the lower index, self excluded by index).
    X = make_data(kind, 2500, 8, seed=11)
    ind, dist = kneighbors(X, 5, algorithm=engine, return_distance=True)[::-1]
    used = last_plan()["algorithm"]
    assert used == engine if engine != "auto" else used in ("scan", "brute", "tree")
    ref_ind, ref_dist = reference(X, 5)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(dist, np.sqrt(ref_dist))


@pytest.mark.parametrize("engine", ENGINES)
def test_subnormal_data(engine):
    # Found by fuzzing: the pruned search's scale overflowed on data whose
    # largest magnitude is subnormal.
    X = np.array([[5e-324, 0.0], [0.0, 5e-324], [1e-320, 1e-321], [0.0, 0.0]])
    ind, dist = kneighbors(X, 2, algorithm=engine, return_distance=True)[::-1]
    ref_ind, ref_dist = reference(X, 2)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(dist, np.sqrt(ref_dist))
    q = np.array([[5e-324, 5e-324]])
    np.testing.assert_array_equal(
        kneighbors(X, 1, query=q, algorithm=engine), reference(X, 1, q)[0]
    )


def test_kdtree_is_built_once_and_answers_every_query_kind():
    from concurrent.futures import ThreadPoolExecutor

    X = make_data("duplicated", 2000, 4, seed=11)
    tree = _core.KDTree(X)
    assert (tree.n_rows, tree.n_features) == X.shape
    ref_self = reference(X, 5)
    for n_threads in (1, 2):
        ind, dist = tree.query(None, 5, n_threads)
        np.testing.assert_array_equal(ind, ref_self[0])
        np.testing.assert_array_equal(dist, ref_self[1])
    Q = make_data("random", 300, 4, seed=12)
    ref_q = reference(X, 3, Q)
    np.testing.assert_array_equal(tree.query(Q, 3)[0], ref_q[0])
    # float32 queries of a float64 tree are searched at their own values.
    Q32 = Q.astype(np.float32)
    np.testing.assert_array_equal(
        tree.query(Q32, 3)[0], reference(X, 3, Q32.astype(np.float64))[0]
    )
    # One tree, eight threads querying it at once.
    with ThreadPoolExecutor(8) as pool:
        parts = [np.ascontiguousarray(Q[s::8]) for s in range(8)]
        results = list(pool.map(lambda part: tree.query(part, 3, 1)[0], parts))
    for s, ind in enumerate(results):
        np.testing.assert_array_equal(ind, ref_q[0][s::8])


@pytest.mark.parametrize(
    ("make", "query", "k", "message"),
    [
        (lambda: np.empty((0, 3)), None, 1, "at least one row"),
        (lambda: np.zeros(5), None, 1, "2-dimensional"),
        (lambda: np.zeros((5, 2), dtype=np.int64), None, 1, "dtype"),
        (lambda: np.zeros((5, 2)), np.zeros((3, 4)), 1, "Q"),
        (lambda: np.zeros((5, 2)), None, 5, "k=5"),
        (lambda: np.zeros((5, 2)), None, 0, "k must be"),
    ],
)
def test_kdtree_rejects_bad_input(make, query, k, message):
    with pytest.raises(ValueError, match=message):
        _core.KDTree(make()).query(query, k)


def test_auto_probe_times_the_tree_where_it_is_plausible():
    # Up to tree_max_d features the tree is timed whatever the ties (the
    # cost model is Gaussian data's) on long searches; beyond, only when
    # many rows tie (the tree's build made free: its gate is tested below).
    rng = np.random.default_rng(3)
    low = rng.standard_normal((3000, 6))
    high = rng.standard_normal((3000, 24))
    with tuned(probe_min_work=1, probe_tree_min_seconds=1e9):
        kneighbors(low, 3)
        assert "probe_tree_seconds" not in last_plan()
    with tuned(probe_min_work=1, probe_tree_min_seconds=0.0, tree_build_seconds=0.0):
        ind = kneighbors(low, 3)
        plan_low = last_plan()
        kneighbors(high, 3)
        plan_high = last_plan()
    assert "probe_tree_seconds" in plan_low
    assert plan_low["algorithm"] in {"tree", "brute"}
    np.testing.assert_array_equal(ind, reference(low, 3)[0])
    assert plan_high["probe_tie_fraction"] < 0.25
    assert "probe_tree_seconds" not in plan_high
    assert plan_high["algorithm"] == "brute"


def test_auto_probe_keeps_the_tree_it_timed(monkeypatch):
    # One-hot blocks beside a wide amount column: float32 cannot resolve the
    # distances, most probe rows need the tie pass, and the KD-tree wins (by
    # 4-5x here, a margin that a loaded machine's timings do not overturn;
    # at 3000 x 12 it was 1.3x and a busy CI run chose the brute force). The
    # probe builds the tree once and the search reuses it.
    X = make_data("onehot", 10000, 6, seed=2)
    builds = []
    real_tree = _core.KDTree

    def counting_tree(data):
        builds.append(data.shape)
        return real_tree(data)

    monkeypatch.setattr(_core, "KDTree", counting_tree)
    with tuned(probe_min_work=1):
        ind = kneighbors(X, 4)
    plan = last_plan()
    assert plan["probe_tie_fraction"] > 0.25
    assert plan["algorithm"] == "tree"
    assert builds == [X.shape]
    np.testing.assert_array_equal(ind, reference(X, 4)[0])


def test_auto_tries_the_pruned_search_on_wide_tie_heavy_data():
    # One-hot blocks beside an amount at d=40: float32 ties most rows, the
    # rows cluster, and the tree is weak at this d. The pruned search is
    # tried first and kept when it prunes; when it would not (a budget no
    # search meets), it gives up and the probe goes on to the tree (its
    # build made free here: whether the timed brute force exceeds the
    # modelled build is the next test's subject).
    X = make_data("onehot", 6000, 40, seed=4)
    expected = reference(X, 4)[0]
    with tuned(probe_min_work=1):
        ind = kneighbors(X, 4)
    plan = last_plan()
    assert plan["probe_tie_fraction"] > 0.25
    assert plan["algorithm"] == "pruned"
    assert plan["work_fraction"] <= 0.1
    np.testing.assert_array_equal(ind, expected)
    with tuned(probe_min_work=1, pruned_tie_max_work=1e-9, tree_build_seconds=0.0):
        ind = kneighbors(X, 4)
    plan = last_plan()
    assert plan["pruned_tried"]
    assert "probe_tree_seconds" in plan
    assert plan["algorithm"] in {"tree", "brute"}
    np.testing.assert_array_equal(ind, expected)


def test_auto_probe_skips_small_query_sets_and_unaffordable_trees():
    # A few queries among many tie-heavy rows: the probe's rows would be a
    # large share of the search, so there is none (the brute force answers).
    X = make_data("onehot", 20000, 12, seed=5)
    Q = np.ascontiguousarray(X[::2000] + 0.5)
    with tuned(probe_min_work=1):
        ind = kneighbors(X, 4, query=Q)
    plan = last_plan()
    assert "probe_tie_fraction" not in plan
    assert plan["algorithm"] == "brute"
    np.testing.assert_array_equal(ind, reference(X, 4, Q)[0])
    # Where the tree's modelled build exceeds the brute force's estimate,
    # the probe does not build it; with a free build it does.
    X = make_data("onehot", 3000, 12, seed=2)
    expected = reference(X, 4)[0]
    with tuned(probe_min_work=1, tree_build_seconds=1.0):
        ind = kneighbors(X, 4)
    plan = last_plan()
    assert plan["probe_tie_fraction"] > 0.25
    assert "probe_tree_seconds" not in plan
    assert plan["algorithm"] == "brute"
    np.testing.assert_array_equal(ind, expected)
    with tuned(probe_min_work=1, tree_build_seconds=0.0):
        ind = kneighbors(X, 4)
    assert "probe_tree_seconds" in last_plan()
    np.testing.assert_array_equal(ind, expected)


def int8_data(kind, n, d, seed):
    """Data for the int8 filter pass: Gaussian, duplicated rows, a grid that
    is not a power of two (many equal distances, not lattice data), wide
    range (three outliers make the one global grid far too coarse), and a
    pile of 1000 copies of one row (more ties than a query may collect)."""
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return rng.standard_normal((n, d))
    if kind == "duplicated":
        return make_data("duplicated", n, d, seed)
    if kind == "ties":
        return rng.integers(0, 4, size=(n, d)) * 0.3
    X = rng.standard_normal((n, d))
    if kind == "wide":
        X[:3] *= 1e4
    elif kind == "pile":
        X[: min(1000, n)] = X[0]
    return X


@pytest.mark.parametrize("kind", ["gaussian", "duplicated", "ties", "wide", "pile"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bounded", [False, True])
def test_int8_filter_is_exact(kind, dtype, bounded):
    # Forced on any CPU (a portable kernel stands in for VNNI): the answer is
    # the float64 reference, ties by index, with and without a bound; rows
    # whose window holds too many rows take the float32 pass.
    X = int8_data(kind, 1500, 20, 7).astype(dtype)
    Q = np.vstack([X[::10], int8_data(kind, 150, 20, 8).astype(dtype)])
    ref_ind, ref_dist = reference(X, 6, Q)
    within = None
    keep = np.ones(ref_dist.shape, dtype=bool)
    if bounded:
        within = np.ascontiguousarray(ref_dist[:, 2])  # ties straddle it
        within[:5] = 0.0
        within[5:10] = np.inf
        keep = ref_dist <= within[:, None]
    ind, dist, info = _core.fused_knn(X, Q, 6, 4, 2, within, int8="always")
    assert info["int8_filter"] is True
    np.testing.assert_array_equal(ind, np.where(keep, ref_ind, -1))
    np.testing.assert_array_equal(dist, np.where(keep, ref_dist, np.inf))
    if kind == "wide":
        assert info["n_int8_fallback"] >= Q.shape[0] - 1
    elif kind == "pile":
        assert 0 < info["n_int8_fallback"] < Q.shape[0]
    else:
        assert info["n_int8_fallback"] == 0
    never = _core.fused_knn(X, Q, 6, 4, 2, within, int8="never")
    assert never[2]["int8_filter"] is False
    np.testing.assert_array_equal(never[0], ind)
    np.testing.assert_array_equal(never[1], dist)


@pytest.mark.parametrize("kind", ["gaussian", "duplicated", "pile"])
@pytest.mark.parametrize("k", [1, 11])
def test_int8_filter_is_exact_with_many_cells(kind, k):
    # 6,000 rows: X packed in 23 cells, the queries searched cell by cell
    # and seeded from their cell (see "Seeding" in knn_int8.cpp). The
    # answer is still the reference's, ties by lower index, whatever the
    # order rows and queries are visited in, on one thread or two.
    X = int8_data(kind, 6000, 12, 3)
    Q = np.vstack([X[::9], int8_data(kind, 200, 12, 4)])
    ref_ind, ref_dist = reference(X, k, Q)
    for threads in (1, 2):
        ind, dist, info = _core.fused_knn(X, Q, k, 4, threads, None, int8="always")
        assert info["int8_filter"] is True
        np.testing.assert_array_equal(ind, ref_ind)
        np.testing.assert_array_equal(dist, ref_dist)


@pytest.mark.parametrize("kind", ["grid", "binary", "quarters", "pile", "edge"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 6, 40])
def test_int8_lattice_pass_is_exact(kind, dtype, k):
    # Lattice data (integers, flags, multiples of 1/4) within 127 units of
    # their centre: the int8 pass is exact itself and keeps the k smallest
    # (distance, row); hundreds of rows tie at the k-th distance ("binary",
    # and "pile": 300 copies of one row), and must go to the lowest index.
    # "edge": values spanning exactly 254 units, the whole int8 range.
    rng = np.random.default_rng(k)
    if kind in ("grid", "binary"):
        X = make_data(kind, 1200, 11, seed=k)
    elif kind == "quarters":
        X = rng.integers(-40, 40, size=(1200, 11)) * 0.25
    elif kind == "pile":
        X = make_data("binary", 1200, 11, seed=k)
        X[100:400] = X[7]
    else:
        # Mirrored rows: every column's mean is 0, the lattice centre.
        half = rng.integers(0, 2, size=(600, 11)) * 254.0 - 127.0
        half[:, 0] = np.linspace(-127, 0, 600).round()
        X = np.vstack([half, -half])
    X = X.astype(dtype)
    shifted = X[::9][:20] + (1 if kind != "edge" else 0)
    Q = np.vstack([X[::9], shifted, X[:5]]).astype(dtype)
    ind, dist, info = _core.fused_knn(X, Q, k, 4, 2, None, int8="always")
    assert info["exact_arithmetic"] is True
    assert info["int8_filter"] is True
    ref_ind, ref_dist = reference(X, k, Q)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(dist, ref_dist)
    never = _core.fused_knn(X, Q, k, 4, 1, None, int8="never")
    assert never[2]["int8_filter"] is False
    np.testing.assert_array_equal(never[0], ind)
    np.testing.assert_array_equal(never[1], dist)
    # X itself: each row skips its own index, and only its own.
    ind, dist, info = _core.fused_knn(X, None, k, 4, 2, None, int8="always")
    assert info["int8_filter"] is True
    assert info["symmetric"] is True
    ref_ind, ref_dist = reference(X, k)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(dist, ref_dist)


def test_int8_filter_through_tuning_and_plan():
    X = int8_data("gaussian", 3000, 20, 1)
    Q = int8_data("gaussian", 200, 20, 2)
    with tuned(int8_filter="always"):
        dist, ind = kneighbors(X, 5, query=Q, algorithm="brute", return_distance=True)
        plan = last_plan()
    assert plan["int8_filter"] is True
    assert plan["n_int8_fallback"] == 0
    ref_ind, ref_dist = reference(X, 5, Q)
    np.testing.assert_array_equal(ind, ref_ind)
    np.testing.assert_array_equal(dist, np.sqrt(ref_dist))
    with tuned(int8_filter="never"):
        kneighbors(X, 5, query=Q, algorithm="brute")
        assert last_plan()["int8_filter"] is False
    # Never on all pairs of non-lattice data; on lattice data only within
    # 127 units of the centre (its exact pass), else the float32 pass's
    # exact arithmetic.
    with tuned(int8_filter="always"):
        kneighbors(X, 5, algorithm="brute")
        assert last_plan()["int8_filter"] is False
        G = make_data("grid", 400, 3, seed=0)
        kneighbors(G, 5, query=G[:10] + 1.0, algorithm="brute")
        assert last_plan()["exact_arithmetic"] is True
        assert last_plan()["int8_filter"] is True
        kneighbors(G * 100, 5, query=G[:10] * 100, algorithm="brute")
        assert last_plan()["exact_arithmetic"] is True
        assert last_plan()["int8_filter"] is False
    with pytest.raises(ValueError, match="int8 must be"):
        _core.fused_knn(X, Q, 5, 4, 1, int8="sometimes")


@pytest.mark.skipif(
    not _core.vnni_active(), reason="auto takes int8 only with AVX-512 VNNI"
)
def test_int8_filter_auto_probe():
    # Gaussian data pass the probe; three outliers (a grid too coarse for
    # everything else) do not, and the float32 pass answers.
    X = int8_data("gaussian", 30_000, 20, 3)
    Q = int8_data("gaussian", 1200, 20, 4)
    ind, dist, info = _core.fused_knn(X, Q, 5, 4, 2)
    assert info["int8_filter"] is True
    assert info["int8_probe_hits"] > 0
    ref = _core.fused_knn(X, Q, 5, 4, 2, int8="never")
    np.testing.assert_array_equal(ind, ref[0])
    np.testing.assert_array_equal(dist, ref[1])
    # The range check turns it down before any probe; without it, the probe.
    X[:3] *= 1e4
    info = _core.fused_knn(X, Q, 5, 4, 2)[2]
    assert info["int8_filter"] is False
    assert "int8_probe_hits" not in info
    info = _core.fused_knn(X, Q, 5, 4, 2, int8_max_range=1e12)[2]
    assert info["int8_filter"] is False
    assert info["int8_probe_hits"] > 0


@pytest.mark.parametrize("kind", ["gaussian", "ties", "duplicated"])
def test_keep_smallest_sums_leaves_out_only_queries_that_cannot_be_kept(kind):
    # NearMiss-1 keeps the queries whose k distances sum smallest: the int8
    # pass leaves out queries whose sum it proves larger than that many
    # others' (strictly: a tie at the n-th is answered), and answers the
    # rest exactly. The kept queries, ties by position, are the same.
    X = int8_data(kind, 1500, 20, 7)
    Q = int8_data(kind, 6000, 20, 8)
    n_keep = 500
    ref_ind, ref_sq, _ = _core.fused_knn(X, Q, 3, 4, 2, int8="never")
    ind, sq, info = _core.fused_knn(
        X, Q, 3, 4, 2, int8="always", keep_smallest_sums=n_keep
    )
    assert info["int8_filter"] is True
    answered = ind[:, 0] >= 0
    assert info["n_unanswered"] == np.count_nonzero(~answered)
    if kind == "gaussian":
        assert info["n_unanswered"] > Q.shape[0] // 4
    np.testing.assert_array_equal(ind[answered], ref_ind[answered])
    np.testing.assert_array_equal(sq[answered], ref_sq[answered])
    assert np.all(ind[~answered] == -1)
    assert np.all(np.isinf(sq[~answered]))
    ours = np.sum(np.sqrt(sq), axis=1)
    theirs = np.sum(np.sqrt(ref_sq), axis=1)
    np.testing.assert_array_equal(
        np.argsort(ours, kind="stable")[:n_keep],
        np.argsort(theirs, kind="stable")[:n_keep],
    )
    # A bound on the distances, or no selection: every query answered.
    for extra in ({"within": ref_sq[:, 2].copy()}, {}):
        info = _core.fused_knn(X, Q, 3, 4, 2, int8="always", **extra)[2]
        assert info.get("n_unanswered", 0) == 0
    with pytest.raises(ValueError, match="keep_smallest_sums"):
        _core.fused_knn(X, Q, 3, 4, 2, keep_smallest_sums=-1)


@pytest.mark.skipif(
    not _core.vnni_active(), reason="auto takes int8 only with AVX-512 VNNI"
)
def test_int8_only_answers_or_leaves_the_search_to_another_engine():
    X = int8_data("gaussian", 30_000, 20, 3)
    Q = int8_data("gaussian", 1200, 20, 4)
    ref = _core.fused_knn(X, Q, 5, 4, 2, int8="never")
    ind, dist, info = _core.fused_knn(X, Q, 5, 4, 2, int8="only")
    assert info["int8_filter"] is True
    np.testing.assert_array_equal(ind, ref[0])
    np.testing.assert_array_equal(dist, ref[1])
    # Declined (a grid too coarse): nothing answered, nothing else run.
    wide = X.copy()
    wide[:3] *= 1e4
    info = _core.fused_knn(wide, Q, 5, 4, 2, int8="only")[2]
    assert info["int8_filter"] is False
    assert info["n_tie_pass"] == 0
    # "auto" above tree_max_d lets the int8 pass go first: when it takes
    # the search, no float32 probe runs; when it declines, the probe does,
    # and the answer is the same either way.
    with tuned(probe_min_work=1):
        ind = kneighbors(X, 5, query=Q)
        plan = last_plan()
        assert plan["int8_filter"] is True
        assert "probe_tie_fraction" not in plan
        np.testing.assert_array_equal(ind, ref[0])
        ind = kneighbors(wide, 5, query=Q)
        plan = last_plan()
        assert plan["int8_filter"] is False
        assert "probe_tie_fraction" in plan
        np.testing.assert_array_equal(ind, reference(wide, 5, Q)[0])
    with tuned(probe_min_work=1, int8_filter="never"):
        kneighbors(X, 5, query=Q)
        assert "probe_tie_fraction" in last_plan()


@pytest.mark.parametrize("k", [1, 3, 8])
def test_kdtree_skips_tied_nodes_of_higher_rows_exactly(k):
    # Piles of identical rows (hundreds of copies of a few points) and a
    # small integer grid: a node at exactly the k-th distance is skipped
    # only when all its rows have higher indices than the k-th neighbour.
    rng = np.random.default_rng(9)
    piles = np.repeat(rng.integers(0, 3, size=(6, 3)), 300, axis=0)
    grid = rng.integers(0, 4, size=(1200, 3))
    X = rng.permutation(np.vstack([piles, grid])).astype(np.float64)
    Q = np.ascontiguousarray(X[::13] + rng.integers(0, 2, size=(X[::13].shape[0], 3)))
    tree = _core.KDTree(X)
    for query in (None, Q):
        ind, dist = tree.query(query, k, 2)
        ref_ind, ref_dist = reference(X, k, query)
        np.testing.assert_array_equal(ind, ref_ind)
        np.testing.assert_array_equal(dist, ref_dist)
