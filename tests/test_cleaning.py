"""Cleaning samplers and SMOTEENN/SMOTETomek: parity with imbalanced-learn."""

from __future__ import annotations

import imblearn.combine as imb_combine
import imblearn.under_sampling as imb_under
import numpy as np
import pandas as pd
import pytest
from imblearn.pipeline import Pipeline
from scipy import sparse
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neighbors import NearestNeighbors as SkNearestNeighbors

import imbfast.combine as fast_combine
import imbfast.under_sampling as fast_under
from imbfast import _core
from imbfast.over_sampling import SMOTE

# (class name, parameters) of every cleaning sampler, several settings each.
CLEANERS = [
    ("TomekLinks", {}),
    ("EditedNearestNeighbours", {}),
    ("EditedNearestNeighbours", {"kind_sel": "mode", "n_neighbors": 4}),
    ("RepeatedEditedNearestNeighbours", {}),
    ("RepeatedEditedNearestNeighbours", {"kind_sel": "mode", "max_iter": 2}),
    ("AllKNN", {"n_neighbors": 5}),
    ("AllKNN", {"n_neighbors": 4, "allow_minority": True, "kind_sel": "mode"}),
    ("NeighbourhoodCleaningRule", {}),
    ("NeighbourhoodCleaningRule", {"n_neighbors": 5, "threshold_cleaning": 0.1}),
    ("OneSidedSelection", {"random_state": 0}),
    ("OneSidedSelection", {"random_state": 3, "n_neighbors": 3, "n_seeds_S": 4}),
    ("CondensedNearestNeighbour", {"random_state": 0}),
    ("CondensedNearestNeighbour", {"random_state": 1, "n_neighbors": 3}),
]
STRATEGIES = ["auto", "all", "majority", "not majority", "not minority", [0, 2]]
# Some settings legitimately clean a class away; that is reported by a
# warning, tested in test_emptied_class_is_reported.
EMPTIED = pytest.mark.filterwarnings("ignore:.*removed every sample:UserWarning")
IDS = [f"{name}-{'-'.join(map(str, p.values()))}" for name, p in CLEANERS]


@pytest.fixture(scope="module")
def noisy3() -> tuple[np.ndarray, np.ndarray]:
    """Three overlapping classes (so that cleaning removes samples), no ties."""
    return make_classification(
        n_samples=300,
        n_features=6,
        n_informative=4,
        n_classes=3,
        weights=[0.15, 0.3, 0.55],
        flip_y=0.08,
        random_state=0,
    )


@pytest.fixture(scope="module")
def noisy2() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=300, n_features=5, weights=[0.2, 0.8], flip_y=0.1, random_state=2
    )


def _pair(name: str, params: dict, sampling_strategy="auto"):
    ours = getattr(fast_under, name)(sampling_strategy=sampling_strategy, **params)
    theirs = getattr(imb_under, name)(sampling_strategy=sampling_strategy, **params)
    return ours, theirs


def _assert_same(ours, theirs, X, y):
    X_o, y_o = ours.fit_resample(X, y)
    X_t, y_t = theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    if sparse.issparse(X_t):
        assert type(X_o) is type(X_t) and X_o.format == X_t.format
        X_o, X_t = X_o.toarray(), X_t.toarray()
    if isinstance(X_t, pd.DataFrame):
        pd.testing.assert_frame_equal(X_o, X_t)
        pd.testing.assert_series_equal(y_o, y_t)
        return
    assert X_o.dtype == X_t.dtype
    np.testing.assert_array_equal(X_o, X_t)
    np.testing.assert_array_equal(y_o, y_t)


@EMPTIED
@pytest.mark.parametrize("sampling_strategy", STRATEGIES)
@pytest.mark.parametrize(("name", "params"), CLEANERS, ids=IDS)
def test_same_as_imblearn_every_strategy(noisy3, name, params, sampling_strategy):
    X, y = noisy3
    _assert_same(*_pair(name, params, sampling_strategy), X, y)


@EMPTIED
@pytest.mark.parametrize(
    "form", ["float32", "csr", "csc", "pandas", "strings", "binary"]
)
@pytest.mark.parametrize(("name", "params"), CLEANERS, ids=IDS)
def test_same_as_imblearn_every_input(noisy3, noisy2, name, params, form):
    X, y = noisy2 if form == "binary" else noisy3
    if form == "float32":
        X = X.astype(np.float32)
    elif form in ("csr", "csc"):
        X = sparse.csr_matrix(X) if form == "csr" else sparse.csc_matrix(X)
    elif form == "pandas":
        X = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
        y = pd.Series(y, name="target")
    elif form == "strings":
        if params.get("kind_sel") == "mode" or name == "NeighbourhoodCleaningRule":
            pytest.skip("imbalanced-learn fails here; see test_mode_with_string_labels")
        y = np.array(["ant", "bee", "cat"], dtype=object)[y]
    _assert_same(*_pair(name, params), X, y)


@pytest.mark.parametrize("name", ["SMOTEENN", "SMOTETomek"])
@pytest.mark.parametrize("random_state", [0, 7])
@pytest.mark.parametrize("form", ["dense", "float32", "csr", "multiclass"])
def test_combined_same_as_imblearn(noisy2, noisy3, name, random_state, form):
    X, y = noisy3 if form == "multiclass" else noisy2
    if form == "float32":
        X = X.astype(np.float32)
    elif form == "csr":
        X = sparse.csr_matrix(X)
    ours = getattr(fast_combine, name)(random_state=random_state)
    theirs = getattr(imb_combine, name)(random_state=random_state)
    X_o, y_o = ours.fit_resample(X, y)
    X_t, y_t = theirs.fit_resample(X, y)
    if sparse.issparse(X_t):
        X_o, X_t = X_o.toarray(), X_t.toarray()
    np.testing.assert_array_equal(X_o, X_t)
    np.testing.assert_array_equal(y_o, y_t)
    assert X_o.dtype == X_t.dtype


@pytest.mark.parametrize("source", ["imbfast", "imblearn"])
def test_combined_accept_either_library_objects(noisy2, source):
    from imblearn.over_sampling import SMOTE as ImbSMOTE

    X, y = noisy2
    lib = fast_under if source == "imbfast" else imb_under
    smote = SMOTE(random_state=1) if source == "imbfast" else ImbSMOTE(random_state=1)
    enn = lib.EditedNearestNeighbours(n_neighbors=4)
    tomek = lib.TomekLinks(sampling_strategy="majority")
    # The reference: imbalanced-learn with its own objects, same settings.
    ref_smote = ImbSMOTE(random_state=1)
    ref_enn = imb_under.EditedNearestNeighbours(n_neighbors=4)
    ref_tomek = imb_under.TomekLinks(sampling_strategy="majority")
    ours = fast_combine.SMOTEENN(smote=smote, enn=enn)
    X_o, y_o = ours.fit_resample(X, y)
    X_t, y_t = imb_combine.SMOTEENN(smote=ref_smote, enn=ref_enn).fit_resample(X, y)
    assert type(ours.enn_) is type(enn) and type(ours.smote_) is type(smote)
    np.testing.assert_array_equal(X_o, X_t)
    np.testing.assert_array_equal(y_o, y_t)
    ours = fast_combine.SMOTETomek(smote=smote, tomek=tomek)
    X_o, y_o = ours.fit_resample(X, y)
    X_t, y_t = imb_combine.SMOTETomek(smote=ref_smote, tomek=ref_tomek).fit_resample(
        X, y
    )
    assert type(ours.tomek_) is type(tomek)
    np.testing.assert_array_equal(X_o, X_t)
    np.testing.assert_array_equal(y_o, y_t)
    with pytest.raises(ValueError, match="The 'enn' parameter of SMOTEENN"):
        fast_combine.SMOTEENN(enn=lib.TomekLinks()).fit_resample(X, y)


def test_fitted_attributes(noisy3):
    X, y = noisy3
    renn = fast_under.RepeatedEditedNearestNeighbours(max_iter=3).fit(X, y)
    theirs = imb_under.RepeatedEditedNearestNeighbours(max_iter=3)
    theirs.fit_resample(X, y)
    renn.fit_resample(X, y)
    assert renn.n_iter_ == theirs.n_iter_
    assert renn.nn_.n_neighbors == theirs.nn_.n_neighbors == 4
    assert isinstance(renn.enn_, fast_under.EditedNearestNeighbours)
    ncr = fast_under.NeighbourhoodCleaningRule()
    ncr_t = imb_under.NeighbourhoodCleaningRule()
    ncr.fit_resample(X, y)
    ncr_t.fit_resample(X, y)
    assert ncr.classes_to_clean_ == ncr_t.classes_to_clean_
    assert ncr.nn_.get_params() == ncr_t.nn_.get_params()
    oss = fast_under.OneSidedSelection(random_state=0)
    oss_t = imb_under.OneSidedSelection(random_state=0)
    oss.fit_resample(X, y)
    oss_t.fit_resample(X, y)
    assert len(oss.estimators_) == len(oss_t.estimators_) == 2
    for a, b in zip(oss.estimators_, oss_t.estimators_, strict=True):
        np.testing.assert_array_equal(a._fit_X, b._fit_X)
    cnn = fast_under.CondensedNearestNeighbour(random_state=0)
    cnn_t = imb_under.CondensedNearestNeighbour(random_state=0)
    cnn.fit_resample(X, y)
    cnn_t.fit_resample(X, y)
    for a, b in zip(cnn.estimators_, cnn_t.estimators_, strict=True):
        np.testing.assert_array_equal(a._fit_X, b._fit_X)


@EMPTIED
@pytest.mark.parametrize(("name", "params"), CLEANERS, ids=IDS)
def test_independent_of_n_jobs(noisy3, name, params):
    X, y = noisy3
    one = getattr(fast_under, name)(n_jobs=1, **params)
    many = getattr(fast_under, name)(n_jobs=-1, **params)
    one.fit_resample(X, y)
    many.fit_resample(X, y)
    np.testing.assert_array_equal(one.sample_indices_, many.sample_indices_)


def test_neighbour_objects_same_as_imblearn(noisy3):
    X, y = noisy3
    for name in ["EditedNearestNeighbours", "RepeatedEditedNearestNeighbours"]:
        ours = getattr(fast_under, name)(n_neighbors=SkNearestNeighbors(n_neighbors=4))
        theirs = getattr(imb_under, name)(n_neighbors=SkNearestNeighbors(n_neighbors=4))
        _assert_same(ours, theirs, X, y)
    for name in ["OneSidedSelection", "CondensedNearestNeighbour"]:
        clf = KNeighborsClassifier(n_neighbors=3)
        ours = getattr(fast_under, name)(n_neighbors=clf, random_state=0)
        theirs = getattr(imb_under, name)(n_neighbors=clf, random_state=0)
        _assert_same(ours, theirs, X, y)
    ours = fast_under.NeighbourhoodCleaningRule(
        n_neighbors=SkNearestNeighbors(n_neighbors=4)
    )
    theirs = imb_under.NeighbourhoodCleaningRule(
        n_neighbors=SkNearestNeighbors(n_neighbors=4)
    )
    _assert_same(ours, theirs, X, y)


def test_renn_reuses_neighbour_lists(noisy3):
    X, y = noisy3
    renn = fast_under.RepeatedEditedNearestNeighbours(sampling_strategy="majority")
    renn.fit_resample(X, y)
    assert renn.n_iter_ > 2
    # The count of rows searched is exposed only through the table; compare
    # with the naive cost of searching every targeted row at every pass.
    from imbfast.under_sampling._cleaning import NeighbourTable

    calls = []
    original = NeighbourTable._search

    def spy(self, rows, k):
        calls.append(rows.shape[0])
        return original(self, rows, k)

    NeighbourTable._search = spy
    try:
        renn.fit_resample(X, y)
    finally:
        NeighbourTable._search = original
    n_majority = int(np.sum(y == 2))
    assert sum(calls) < n_majority * renn.n_iter_ / 2


def _reference_lists(X, alive, rows, k):
    """k nearest alive rows of each row, self excluded, ties by lower id."""
    ids = np.flatnonzero(alive)
    diff = X[rows][:, None, :] - X[ids][None, :, :]
    dist = np.einsum("ijk,ijk->ij", diff, diff)
    dist[ids[None, :] == rows[:, None]] = np.inf
    order = np.lexsort((np.broadcast_to(ids, dist.shape), dist), axis=1)
    return ids[order[:, :k]]


@pytest.mark.parametrize("kind", ["integer", "gaussian"])
@pytest.mark.parametrize("share", [0.05, 0.3, 1.0])
def test_neighbour_table_lists_exact(kind, share):
    # Some alive rows among the alive rows, after removals: one search of
    # all alive rows, self excluded by id, ties by lower id. Integer rows
    # with duplicates tie often.
    from imbfast.under_sampling._cleaning import NeighbourTable

    rng = np.random.default_rng(7)
    n = 700
    if kind == "integer":
        X = rng.integers(0, 3, size=(n, 4)).astype(np.float64)
    else:
        X = rng.standard_normal((n, 5))
        X[rng.choice(n, 80)] = X[rng.choice(n, 80)]  # duplicated rows
    table = NeighbourTable(X, width=4, n_jobs=2)
    table.remove(rng.choice(n, 60, replace=False))
    alive = table.alive.copy()
    rows = rng.permutation(np.flatnonzero(alive))[: max(2, int(share * alive.sum()))]
    got = table.neighbours(rows, 4)
    np.testing.assert_array_equal(got, _reference_lists(X, alive, rows, 4))


# ------------------------------------------------------------ imblearn's quirks


def test_self_by_index_with_duplicates():
    # Samples 0 and 1 are the same point with different labels: a Tomek link.
    X = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [5.0, 6.0], [6.0, 5.0], [9, 9]])
    y = np.array([0, 1, 1, 1, 1, 1])
    theirs = imb_under.TomekLinks().fit(X, y)
    theirs.fit_resample(X, y)
    # imbalanced-learn takes column 0 as self: sample 1 "finds" itself.
    assert 1 in theirs.sample_indices_
    ours = fast_under.TomekLinks()
    ours.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, [0, 2, 3, 4, 5])


def test_renn_sample_indices_on_early_convergence():
    # Well separated classes, labels interleaved: the first pass removes
    # nothing, and its indices are a permutation (grouped by class).
    X, y = make_classification(
        n_samples=80,
        n_features=4,
        class_sep=6.0,
        flip_y=0,
        weights=[0.4],
        random_state=3,
    )
    theirs = imb_under.RepeatedEditedNearestNeighbours()
    X_t, _ = theirs.fit_resample(X, y)
    ours = fast_under.RepeatedEditedNearestNeighbours()
    X_o, _ = ours.fit_resample(X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 1
    np.testing.assert_array_equal(X_o, X_t)
    # imbalanced-learn's indices do not point at the rows it returned.
    assert not np.array_equal(X[theirs.sample_indices_], X_t)
    np.testing.assert_array_equal(X[ours.sample_indices_], X_o)


@pytest.mark.parametrize(
    "name", ["EditedNearestNeighbours", "NeighbourhoodCleaningRule"]
)
def test_mode_with_string_labels(noisy3, name):
    X, y = noisy3
    y_str = np.array(["ant", "bee", "cat"], dtype=object)[y]
    params = {"kind_sel": "mode"} if name == "EditedNearestNeighbours" else {}
    with pytest.raises(TypeError, match="not recognized as numeric"):
        getattr(imb_under, name)(**params).fit_resample(X, y_str)
    ours = getattr(fast_under, name)(**params)
    _, y_o = ours.fit_resample(X, y_str)
    # Same selection as imbalanced-learn on the integer labels.
    theirs = getattr(imb_under, name)(**params)
    theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    np.testing.assert_array_equal(y_o, y_str[theirs.sample_indices_])


def test_allknn_uses_the_neighbours_object(noisy2):
    X, y = noisy2
    manhattan = SkNearestNeighbors(n_neighbors=4, metric="manhattan")
    theirs = imb_under.AllKNN(n_neighbors=manhattan, allow_minority=True)
    theirs.fit_resample(X, y)
    euclid = imb_under.AllKNN(n_neighbors=3, allow_minority=True)
    euclid.fit_resample(X, y)
    # imbalanced-learn ignores the object beyond its n_neighbors.
    np.testing.assert_array_equal(theirs.sample_indices_, euclid.sample_indices_)
    ours = fast_under.AllKNN(n_neighbors=manhattan, allow_minority=True)
    ours.fit_resample(X, y)
    # imbfast runs k = 1, 2, 3 with the object's metric: chained imblearn ENNs.
    ids = np.arange(y.shape[0])
    for k in (1, 2, 3):
        enn = imb_under.EditedNearestNeighbours(
            n_neighbors=SkNearestNeighbors(n_neighbors=k + 1, metric="manhattan")
        )
        enn.fit_resample(X[ids], y[ids])
        ids = ids[enn.sample_indices_]
    np.testing.assert_array_equal(np.sort(ours.sample_indices_), np.sort(ids))
    assert not np.array_equal(
        np.sort(ours.sample_indices_), np.sort(euclid.sample_indices_)
    )


class _NoJobsNeighbours:
    """A k-NN object without an n_jobs parameter (imbalanced-learn's duck typing)."""

    def __init__(self, n_neighbors: int = 4) -> None:
        self.n_neighbors = n_neighbors

    def get_params(self, deep: bool = True) -> dict:
        return {"n_neighbors": self.n_neighbors}

    def set_params(self, **params):
        for key, value in params.items():
            if key != "n_neighbors":
                raise ValueError(f"Invalid parameter {key!r}")
            setattr(self, key, value)
        return self

    def fit(self, X, y=None):
        self._nn = SkNearestNeighbors(n_neighbors=self.n_neighbors).fit(X)
        return self

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        return self._nn.kneighbors(X, n_neighbors, return_distance)

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        return self._nn.kneighbors_graph(X, n_neighbors, mode)


@pytest.mark.parametrize(
    "name", ["EditedNearestNeighbours", "RepeatedEditedNearestNeighbours"]
)
def test_neighbours_object_without_n_jobs(noisy3, name):
    X, y = noisy3
    with pytest.raises(ValueError, match="Invalid parameter 'n_jobs'"):
        getattr(imb_under, name)(n_neighbors=_NoJobsNeighbours()).fit_resample(X, y)
    ours = getattr(fast_under, name)(n_neighbors=_NoJobsNeighbours(), n_jobs=2)
    ours.fit_resample(X, y)
    theirs = getattr(imb_under, name)(n_neighbors=3)
    theirs.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)


def test_cnn_on_csr_array(noisy2):
    X, y = noisy2
    with pytest.raises(ValueError, match="Expected 2D input"):
        imb_under.CondensedNearestNeighbour(random_state=0).fit_resample(
            sparse.csr_array(X), y
        )
    ours = fast_under.CondensedNearestNeighbour(random_state=0)
    X_o, _ = ours.fit_resample(sparse.csr_array(X), y)
    theirs = imb_under.CondensedNearestNeighbour(random_state=0)
    X_t, _ = theirs.fit_resample(sparse.csr_matrix(X), y)
    assert isinstance(X_o, sparse.csr_array)
    np.testing.assert_array_equal(ours.sample_indices_, theirs.sample_indices_)
    np.testing.assert_array_equal(X_o.toarray(), X_t.toarray())


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize(("name", "params"), CLEANERS, ids=IDS)
def test_dict_and_float_strategies_rejected(noisy2, name, params):
    X, y = noisy2
    with pytest.raises(ValueError, match="'sampling_strategy' parameter of"):
        getattr(fast_under, name)(sampling_strategy={0: 10}, **params).fit_resample(
            X, y
        )
    with pytest.raises(ValueError, match="'clean-sampling' methods do let the user"):
        getattr(fast_under, name)(sampling_strategy=0.5, **params).fit_resample(X, y)


def test_bad_parameters(noisy2):
    X, y = noisy2
    with pytest.raises(ValueError, match="'kind_sel' parameter"):
        fast_under.EditedNearestNeighbours(kind_sel="most").fit_resample(X, y)
    with pytest.raises(ValueError, match="'max_iter' parameter"):
        fast_under.RepeatedEditedNearestNeighbours(max_iter=0).fit_resample(X, y)
    with pytest.raises(ValueError, match="'n_neighbors' parameter"):
        fast_under.AllKNN(n_neighbors=0).fit_resample(X, y)
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
        fast_under.EditedNearestNeighbours(n_neighbors=400).fit_resample(X, y)
    with pytest.raises(ValueError, match="n_neighbors must be None, an int or a k-NN"):
        fast_under.OneSidedSelection(n_neighbors=SkNearestNeighbors()).fit_resample(
            X, y
        )


def test_emptied_class_is_reported():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 1, (40, 2)), rng.normal(8, 1, (40, 2)), [[0.1, 0.05]]])
    y = np.array([0] * 40 + [1] * 40 + [2])
    theirs = imb_under.EditedNearestNeighbours(sampling_strategy="all")
    theirs.fit_resample(X, y)
    with pytest.warns(UserWarning, match=r"removed every sample of class\(es\) \[2\]"):
        _, y_o = fast_under.EditedNearestNeighbours(
            sampling_strategy="all"
        ).fit_resample(X, y)
    assert 2 not in y_o
    np.testing.assert_array_equal(y_o, y[theirs.sample_indices_])


def test_core_validates_indices():
    codes = np.array([0, 1], dtype=np.int64)
    with pytest.raises(IndexError, match="nn1 holds index 5"):
        _core.tomek_links(np.array([5, 0], dtype=np.int64), codes, np.ones(2, bool))
    with pytest.raises(IndexError, match="codes holds label code 3"):
        _core.tomek_links(
            np.array([1, 0], dtype=np.int64),
            np.array([0, 3], dtype=np.int64),
            np.ones(2, bool),
        )
    with pytest.raises(ValueError, match="k must be in"):
        _core.enn_keep(
            np.array([0], dtype=np.int64),
            np.array([[1]], dtype=np.int64),
            2,
            codes,
            2,
            "all",
        )
    with pytest.raises(ValueError, match="kind must be"):
        _core.enn_keep(
            np.array([0], dtype=np.int64),
            np.array([[1]], dtype=np.int64),
            1,
            codes,
            2,
            "x",
        )


def test_in_imblearn_pipeline(noisy3):
    X, y = noisy3
    for sampler in [
        fast_under.TomekLinks(),
        fast_under.AllKNN(),
        fast_combine.SMOTEENN(random_state=0),
        fast_combine.SMOTETomek(random_state=0),
    ]:
        pipe = Pipeline([("sampler", sampler), ("clf", LogisticRegression())])
        pipe.fit(X, y)
        assert pipe.predict(X).shape == y.shape


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("EditedNearestNeighbours", {}),
        ("EditedNearestNeighbours", {"kind_sel": "mode", "n_neighbors": 4}),
        ("RepeatedEditedNearestNeighbours", {"max_iter": 3}),
        ("AllKNN", {"n_neighbors": 3}),
        ("NeighbourhoodCleaningRule", {}),
    ],
)
@pytest.mark.parametrize("weights", [[0.97, 0.03], [0.85, 0.1, 0.05]])
def test_enn_prefilter_same_as_imblearn(monkeypatch, name, params, weights):
    # Large enough for the pre-filter: most majority rows are settled by a
    # bound within their block and their nearest other-class row, unsearched.
    from imbfast.under_sampling import _cleaning

    settled = []
    original = _cleaning.NeighbourTable.settled

    def spy(self, rows, others, k):
        mask = original(self, rows, others, k)
        settled.append(int(mask.sum()))
        return mask

    monkeypatch.setattr(_cleaning.NeighbourTable, "settled", spy)
    X, y = make_classification(
        n_samples=30_000,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=len(weights),
        n_clusters_per_class=1,
        weights=weights,
        flip_y=0.01,
        random_state=0,
    )
    ours = getattr(fast_under, name)(**params)
    X_a, y_a = ours.fit_resample(X, y)
    X_b, y_b = getattr(imb_under, name)(**params).fit_resample(X, y)
    np.testing.assert_array_equal(X_a, X_b)
    np.testing.assert_array_equal(y_a, y_b)
    assert sum(settled) > 10_000
