"""NearMiss: parity with imbalanced-learn, the farthest search, bad input."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tracemalloc

import imblearn.under_sampling as imb_under
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.datasets import make_classification
from sklearn.neighbors import NearestNeighbors as SkNearestNeighbors
from sklearn.utils._param_validation import InvalidParameterError

from imbfast.neighbors import tuned
from imbfast.under_sampling import NearMiss
from imbfast.under_sampling._nearmiss import (
    farthest_distances,
    row_sums,
    smallest_first,
)

TOO_FEW = pytest.mark.filterwarnings("ignore:The number of the samples to be selected")


def _data(n, d, weights=(0.1, 0.3, 0.6), seed=0):
    return make_classification(
        n_samples=n,
        n_features=d,
        n_informative=min(d, 4),
        n_redundant=0,
        n_classes=len(weights),
        weights=list(weights),
        random_state=seed,
    )


def _both(X, y, **params):
    ours = NearMiss(**params)
    theirs = imb_under.NearMiss(**params)
    X_o, y_o = ours.fit_resample(X, y)
    X_t, y_t = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    if sparse.issparse(X_t):
        assert X_o.format == X_t.format
        X_o, X_t = X_o.toarray(), X_t.toarray()
    if isinstance(X_t, pd.DataFrame):
        pd.testing.assert_frame_equal(X_o, X_t)
        pd.testing.assert_series_equal(y_o, y_t)
    else:
        assert X_o.dtype == X_t.dtype
        np.testing.assert_array_equal(X_o, X_t)
        np.testing.assert_array_equal(y_o, y_t)
    return ours


STRATEGIES = [
    "auto",
    "all",
    "majority",
    "not minority",
    "not majority",
    {0: 40, 1: 60, 2: 50},
    lambda y: {1: 70, 2: 55},
]


@TOO_FEW
@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize("strategy", STRATEGIES, ids=range(len(STRATEGIES)))
def test_parity_multiclass(version, strategy):
    X, y = _data(800, 6)
    _both(X, y, version=version, sampling_strategy=strategy)


@TOO_FEW
@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize("ratio", [0.5, 1.0])
def test_parity_binary_float_strategy(version, ratio):
    X, y = _data(600, 5, weights=(0.2, 0.8), seed=3)
    _both(X, y, version=version, sampling_strategy=ratio, n_neighbors=4)


@TOO_FEW
@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize("kind", ["float32", "pandas", "csr", "csc", "strings"])
def test_parity_input_kinds(version, kind):
    X, y = _data(500, 6, seed=4)
    if kind == "float32":
        X = X.astype(np.float32)
    elif kind == "pandas":
        X = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
        y = pd.Series(y, name="target")
    elif kind in ("csr", "csc"):
        X[np.abs(X) < 0.5] = 0.0
        X = getattr(sparse, f"{kind}_matrix")(X)
    else:
        y = np.array(["cat", "dog", "emu"], dtype=object)[y]
    _both(X, y, version=version, n_neighbors_ver3=4)


@TOO_FEW
@pytest.mark.parametrize("version", [1, 2, 3])
def test_parity_with_neighbours_objects(version):
    X, y = _data(500, 5, seed=5)
    _both(
        X,
        y,
        version=version,
        n_neighbors=SkNearestNeighbors(n_neighbors=2),
        n_neighbors_ver3=SkNearestNeighbors(n_neighbors=5),
    )


@TOO_FEW
@pytest.mark.parametrize("version", [1, 2, 3])
def test_parity_at_production_sizes_brute(version):
    """d=20, thousands of rows: the fused brute force answers the searches."""
    X, y = _data(6000, 20, weights=(0.1, 0.9), seed=6)
    ours = _both(X, y, version=version, n_jobs=2)
    search = ours.nn_ver3_ if version == 3 else ours.nn_
    if version != 2:
        assert search.last_plan_["algorithm"] == "brute"


@TOO_FEW
def test_parity_at_production_sizes_tree():
    """d=4: version 3's shortlist search of the majority runs on the KD-tree."""
    X, y = _data(30000, 4, weights=(0.1, 0.9), seed=7)
    ours = _both(X, y, version=3)
    assert ours.nn_ver3_.last_plan_["algorithm"] == "tree"


def test_result_does_not_depend_on_threads():
    X, y = _data(3000, 12, seed=8)
    for version in (1, 2):
        one = NearMiss(version=version, n_jobs=1).fit_resample(X, y)[1]
        two = NearMiss(version=version, n_jobs=2).fit_resample(X, y)[1]
        np.testing.assert_array_equal(one, two)


def _brute_farthest(Q, R, k):
    sq = ((Q[:, None, :] - R[None, :, :]) ** 2).sum(axis=2)
    return np.sqrt(np.sort(sq, axis=1)[:, -k:])


@pytest.mark.parametrize("k", [1, 3, 20])
def test_farthest_distances_equal_a_full_sort(k):
    rng = np.random.default_rng(0)
    Q, R = rng.normal(size=(700, 7)), rng.normal(size=(300, 7)) + 5.0
    np.testing.assert_allclose(
        farthest_distances(Q, R, k), _brute_farthest(Q, R, k), rtol=1e-14
    )
    np.testing.assert_allclose(
        farthest_distances(sparse.csr_matrix(Q), sparse.csc_matrix(R), k),
        _brute_farthest(Q, R, k),
        rtol=1e-14,
    )


def test_farthest_distances_with_ties_fall_back_to_the_exact_scan():
    """Many equal distances defeat the candidate proof; the answer stays exact."""
    rng = np.random.default_rng(1)
    R = np.repeat(rng.integers(0, 3, size=(4, 3)).astype(float), 30, axis=0)
    Q = rng.integers(0, 3, size=(50, 3)).astype(float)
    np.testing.assert_array_equal(
        farthest_distances(Q, R, 12), _brute_farthest(Q, R, 12)
    )


def test_sparse_farthest_search_streams_in_blocks():
    """Sparse input: GEMM blocks, no n_query x n_ref matrix (its 320 MB)."""
    rng = np.random.default_rng(2)
    Q, R = rng.normal(size=(20000, 10)), rng.normal(size=(2000, 10))
    Q[np.abs(Q) < 0.3] = 0.0
    Qs, Rs = sparse.csr_matrix(Q), sparse.csr_matrix(R)
    tracemalloc.start()
    try:
        farthest_distances(Qs, Rs, 3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 80e6


def test_dense_farthest_search_memory_is_bounded():
    """Dense input (lifted k-NN, C++ buffers included): the process grows by
    far less than the 1.3 GB an n_query x n_ref float64 matrix would take."""
    code = textwrap.dedent(
        """
        import resource, numpy as np
        from imbfast.under_sampling._nearmiss import farthest_distances
        rng = np.random.default_rng(3)
        Q, R = rng.normal(size=(40000, 10)), rng.normal(size=(4000, 10))
        farthest_distances(Q[:100], R[:100], 3)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        farthest_distances(Q, R, 3, n_threads=2)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert float(out.stdout.split()[-1]) < 200


def test_version_2_with_k_above_the_minority_warns_and_matches():
    X, y = _data(300, 4, weights=(0.03, 0.97), seed=9)
    n_min = int(np.bincount(y).min())
    with pytest.warns(UserWarning, match="larger than the minority"):
        ours = NearMiss(version=2, n_neighbors=n_min + 5).fit_resample(X, y)
    theirs = imb_under.NearMiss(version=2, n_neighbors=n_min + 5).fit_resample(X, y)
    np.testing.assert_array_equal(ours[0], theirs[0])


@pytest.mark.parametrize("version", [1, 3])
def test_n_neighbors_above_the_minority_raises_sklearns_error(version):
    X, y = _data(300, 4, weights=(0.03, 0.97), seed=9)
    n_min = int(np.bincount(y).min())
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
        NearMiss(version=version, n_neighbors=n_min + 1).fit_resample(X, y)


@pytest.mark.parametrize(
    "params",
    [{"version": 4}, {"version": 0}, {"n_neighbors": 0}, {"n_neighbors_ver3": "x"}],
)
def test_bad_parameters_are_rejected(params):
    X, y = _data(200, 4)
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        NearMiss(**params).fit_resample(X, y)


def test_version_3_fewer_rows_than_asked_warns_like_imblearn():
    X, y = _data(400, 4, weights=(0.2, 0.8), seed=10)
    with pytest.warns(UserWarning, match="number of the samples to be selected"):
        ours = NearMiss(version=3, n_neighbors_ver3=1).fit_resample(X, y)
    with pytest.warns(UserWarning, match="number of the samples to be selected"):
        theirs = imb_under.NearMiss(version=3, n_neighbors_ver3=1).fit_resample(X, y)
    np.testing.assert_array_equal(ours[1], theirs[1])


class _NoJobs:
    """A neighbours object without an n_jobs parameter (imblearn fails on it)."""

    def __init__(self, n_neighbors=3):
        self.n_neighbors = n_neighbors

    def get_params(self, deep=True):
        return {"n_neighbors": self.n_neighbors}

    def set_params(self, **params):
        for key, value in params.items():
            if key not in self.get_params():
                raise ValueError(f"Invalid parameter {key!r}")
            setattr(self, key, value)
        return self

    def fit(self, X):
        self._nn = SkNearestNeighbors(n_neighbors=self.n_neighbors).fit(X)
        return self

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        return self._nn.kneighbors(X, n_neighbors, return_distance)

    def kneighbors_graph(self, X=None, n_neighbors=None):
        return self._nn.kneighbors_graph(X, n_neighbors)


def test_neighbours_object_without_n_jobs():
    X, y = _data(300, 4, seed=11)
    with pytest.raises(ValueError, match="n_jobs"):
        imb_under.NearMiss(n_neighbors=_NoJobs()).fit_resample(X, y)
    ours = NearMiss(n_neighbors=_NoJobs(), n_jobs=2).fit_resample(X, y)
    expected = imb_under.NearMiss(n_neighbors=3).fit_resample(X, y)
    np.testing.assert_array_equal(ours[0], expected[0])


@TOO_FEW
@pytest.mark.parametrize("version", [1, 3])
def test_parity_with_the_int8_filter(version):
    """The int8 filter pass forced on the query searches (on any CPU)."""
    X, y = _data(6000, 20, weights=(0.1, 0.9), seed=6)
    with tuned(int8_filter="always"):
        ours = _both(X, y, version=version, n_jobs=2)
    search = ours.nn_ver3_ if version == 3 else ours.nn_
    assert search.last_plan_["int8_filter"] is True
    if version == 1:
        # Majority rows provably outside the selection were left unanswered.
        assert search.last_plan_["n_unanswered"] > 0


@pytest.mark.parametrize("levels", [3, 50, 10_000])
def test_smallest_first_is_the_stable_sort_prefix(levels):
    # Few levels: many scores tie at the n-th, and the stable sort takes
    # the lowest positions among them.
    rng = np.random.default_rng(levels)
    scores = rng.integers(0, levels, 5000).astype(np.float64)
    for n in (0, 1, 7, 100, 2499, 2500, 2501, 4999, 5000, 6000):
        np.testing.assert_array_equal(
            smallest_first(scores, n), np.argsort(scores, kind="stable")[:n]
        )
        np.testing.assert_array_equal(
            smallest_first(-scores, n), np.argsort(-scores, kind="stable")[:n]
        )


def test_smallest_first_puts_infinite_scores_last_in_index_order():
    # NearMiss-1's search leaves rows it proves are not kept at +inf.
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 40, 3000).astype(np.float64)
    scores[rng.random(3000) < 0.6] = np.inf
    n_finite = int(np.isfinite(scores).sum())
    for n in (1, 100, n_finite - 1, n_finite, n_finite + 1, 2999, 3000):
        np.testing.assert_array_equal(
            smallest_first(scores, n), np.argsort(scores, kind="stable")[:n]
        )


@pytest.mark.parametrize("width", range(1, 13))
def test_row_sums_is_numpys_row_sum_bit_for_bit(width):
    # Magnitudes far apart make every order of additions round differently.
    rng = np.random.default_rng(width)
    values = rng.random((20_000, width)) * rng.choice([1e-8, 1.0, 1e8], (20_000, width))
    values[::7, 0] = np.inf
    np.testing.assert_array_equal(row_sums(values), np.sum(values, axis=1))
    # A strided slice of the last columns (NearMiss-2 sums the last k of a
    # wider answer).
    last = values[:, width // 2 :]
    np.testing.assert_array_equal(row_sums(last), np.sum(last, axis=1))
