"""Parity with imbalanced-learn 0.14 on the production neighbour engines.

The other parity tests mostly run on inputs small enough for the "scan"
engine. Here every neighbour-based sampler imbfast took over from
imbalanced-learn runs at sizes and dimensions where the engines used on real
data answer its searches:

- ``brute``: the fused float32 kernel, d=20 with thousands of rows;
- ``tree``: the KD-tree, d=2-3 with enough rows that ``"auto"`` picks it;
- ``pruned``: the cluster-pruned search, forced (``"auto"`` only tries it
  from 500k x 500k distance pairs, far beyond a test).

Each test records every search the sampler makes (through the public
``imbfast.neighbors.squared_kneighbors``, which all exact searches go
through), asserts that the largest one ran on the engine under test
(``imbfast.neighbors.last_plan()["algorithm"]``) and that X, y and
``sample_indices_`` equal imbalanced-learn's (``np.array_equal``). The data
is Gaussian ``make_classification`` output: no two distances are equal, so
the tie rules of the two libraries never come into play.
"""

from __future__ import annotations

import sys

import imblearn.combine as imb_combine
import imblearn.over_sampling as imb_over
import imblearn.under_sampling as imb_under
import numpy as np
import pytest
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_limits

import imbfast.combine as fast_combine
import imbfast.neighbors
import imbfast.over_sampling as fast_over
import imbfast.under_sampling as fast_under
from imbfast.neighbors import choose_algorithm, last_plan

# name -> (imbfast class, imbalanced-learn class, constructor keywords)
SAMPLERS = {
    "SMOTE": (fast_over.SMOTE, imb_over.SMOTE, {"random_state": 0}),
    "TomekLinks": (fast_under.TomekLinks, imb_under.TomekLinks, {}),
    "EditedNearestNeighbours": (
        fast_under.EditedNearestNeighbours,
        imb_under.EditedNearestNeighbours,
        {},
    ),
    "RepeatedEditedNearestNeighbours": (
        fast_under.RepeatedEditedNearestNeighbours,
        imb_under.RepeatedEditedNearestNeighbours,
        {},
    ),
    "AllKNN": (fast_under.AllKNN, imb_under.AllKNN, {}),
    "NeighbourhoodCleaningRule": (
        fast_under.NeighbourhoodCleaningRule,
        imb_under.NeighbourhoodCleaningRule,
        {},
    ),
    "OneSidedSelection": (
        fast_under.OneSidedSelection,
        imb_under.OneSidedSelection,
        {"random_state": 0},
    ),
    "CondensedNearestNeighbour": (
        fast_under.CondensedNearestNeighbour,
        imb_under.CondensedNearestNeighbour,
        {"random_state": 0},
    ),
    "SMOTEENN": (fast_combine.SMOTEENN, imb_combine.SMOTEENN, {"random_state": 0}),
    "SMOTETomek": (
        fast_combine.SMOTETomek,
        imb_combine.SMOTETomek,
        {"random_state": 0},
    ),
}
NAMES = list(SAMPLERS)

# Rows, features and class weights per engine. ``brute``: d=20, where "auto"
# never takes the tree. ``tree``: d=2, where "auto" takes the KD-tree for an
# all-pairs search from about 6,800 rows (a class-wise search, as SMOTE's,
# needs that many rows in the class). ``pruned``: forced, so any size works.
SIZES = {
    "brute": {"n": 4000, "d": 20, "weights": [0.3, 0.7]},
    "tree": {"n": 9000, "d": 2, "weights": [0.3, 0.7]},
    "pruned": {"n": 3000, "d": 8, "weights": [0.3, 0.7]},
}
# SMOTE searches the minority class only: enough minority rows for the tree.
SMOTE_TREE = {"n": 16000, "d": 2, "weights": [0.45, 0.55]}
# imbalanced-learn's CNN re-fits a k-NN classifier per misclassified row
# (a Python loop), and its set of voters stays small (minority + selected
# rows): "auto" answers those searches by brute force; the tree and the
# pruned search are forced on it. Each misclassified row starts a new search
# (a new index for the tree and the pruned search), hence the small sizes
# and the well-separated classes.
CNN_SIZES = {
    "brute": {"n": 1000, "d": 20, "weights": [0.1, 0.9], "class_sep": 1.0},
    "tree": {"n": 1500, "d": 2, "weights": [0.1, 0.9], "class_sep": 1.5},
    "pruned": {"n": 400, "d": 8, "weights": [0.1, 0.9], "class_sep": 1.5},
}
SMOTE_BASED = {"SMOTE", "SMOTEENN", "SMOTETomek"}
# The samplers whose largest search covers every row of the input.
WHOLE_DATASET = {
    "TomekLinks",
    "EditedNearestNeighbours",
    "RepeatedEditedNearestNeighbours",
    "AllKNN",
    "NeighbourhoodCleaningRule",
}


def gaussian(
    n: int, d: int, weights: list[float], seed: int = 0, class_sep: float = 0.8
):
    """Tie-free Gaussian data (every pair of rows at a distinct distance)."""
    return make_classification(
        n_samples=n,
        n_features=d,
        n_informative=min(d, max(2, d // 2)),
        n_redundant=0,
        n_clusters_per_class=1 if d < 4 else 2,
        weights=weights,
        flip_y=0.02,
        class_sep=class_sep,
        random_state=seed,
    )


@pytest.fixture
def searches(monkeypatch):
    """Record (and optionally force) the engine of every exact search.

    Every imbfast module that holds the public ``squared_kneighbors`` (the
    function behind ``kneighbors`` and ``NearestNeighbors``) gets a wrapper
    that, when ``force`` is set, turns ``algorithm="auto"`` into that engine,
    and appends ``last_plan()`` after each call.
    """
    original = imbfast.neighbors.squared_kneighbors
    plans: list[dict] = []
    state = {"force": None}

    def spy(*args, **kwargs):
        if state["force"] is not None and kwargs.get("algorithm", "auto") == "auto":
            kwargs["algorithm"] = state["force"]
        result = original(*args, **kwargs)
        plans.append(dict(last_plan()))
        return result

    for name, module in list(sys.modules.items()):
        if not name.startswith("imbfast") or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                monkeypatch.setattr(module, attr, spy)

    class Searches:
        def force(self, engine: str) -> None:
            state["force"] = engine

        @property
        def plans(self) -> list[dict]:
            return plans

        def largest(self) -> dict:
            assert plans, "the sampler made no neighbour search"
            return max(plans, key=lambda p: p.get("n", 0) * p.get("n_queries", 0))

    return Searches()


def assert_same(name: str, X, y, **extra):
    ours_cls, theirs_cls, params = SAMPLERS[name]
    ours = ours_cls(**params, **extra)
    X_a, y_a = ours.fit_resample(X, y)
    theirs = theirs_cls(**params)
    X_b, y_b = theirs.fit_resample(X, y)
    assert np.array_equal(X_a, X_b), f"{name}: X differs"
    assert np.array_equal(y_a, y_b), f"{name}: y differs"
    if hasattr(theirs, "sample_indices_"):
        assert np.array_equal(ours.sample_indices_, theirs.sample_indices_)
    # The samplers did something: a parity test on an unchanged set is weak.
    assert len(y_a) != len(y), f"{name} left the data unchanged"
    return ours


def sizes_for(name: str, engine: str) -> dict:
    if name == "CondensedNearestNeighbour":
        return CNN_SIZES[engine]
    if name in SMOTE_BASED and engine == "tree":
        return SMOTE_TREE
    return SIZES[engine]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("engine", ["brute", "tree", "pruned"])
def test_parity_on_production_engine(searches, name, engine):
    size = sizes_for(name, engine)
    X, y = gaussian(
        size["n"],
        size["d"],
        size["weights"],
        seed=NAMES.index(name),
        class_sep=size.get("class_sep", 0.8),
    )
    forced = engine == "pruned" or name == "CondensedNearestNeighbour"
    if forced and engine != "brute":
        searches.force(engine)
    elif engine == "tree" and name not in SMOTE_BASED:
        # "auto" itself picks the tree for the all-pairs search at this size.
        assert choose_algorithm(size["n"], size["n"], size["d"], 3) == "tree"
    if name == "CondensedNearestNeighbour":
        # Hundreds of tiny searches in both libraries: one thread each, so
        # that a loaded machine does not stretch every parallel region.
        with threadpool_limits(1):
            assert_same(name, X, y, n_jobs=1)
    else:
        assert_same(name, X, y, n_jobs=2)
    largest = searches.largest()
    assert largest["algorithm"] == engine, (name, largest)
    # Every exact search of the sampler ran on a production engine (tiny
    # follow-up searches may take the scan).
    assert {p["algorithm"] for p in searches.plans} <= {
        "scan",
        "brute",
        "tree",
        "pruned",
    }
    if name in WHOLE_DATASET:
        assert largest["n"] == size["n"]


# The samplers added after the engines (their brute-force and KD-tree parity
# is tested beside them, in test_smote_family.py and test_nearmiss.py): the
# pruned search, forced. SMOTENC and SMOTEN are absent: their mixed and VDM
# distances are searched by their own kernels, not by the exact engines.
LATER_SAMPLERS = {
    "ADASYN": (fast_over.ADASYN, imb_over.ADASYN, {"random_state": 0}),
    "BorderlineSMOTE-1": (
        fast_over.BorderlineSMOTE,
        imb_over.BorderlineSMOTE,
        {"random_state": 0, "kind": "borderline-1"},
    ),
    "BorderlineSMOTE-2": (
        fast_over.BorderlineSMOTE,
        imb_over.BorderlineSMOTE,
        {"random_state": 0, "kind": "borderline-2"},
    ),
    "SVMSMOTE": (fast_over.SVMSMOTE, imb_over.SVMSMOTE, {"random_state": 0}),
    "KMeansSMOTE": (
        fast_over.KMeansSMOTE,
        imb_over.KMeansSMOTE,
        {"random_state": 0, "kmeans_estimator": 2, "cluster_balance_threshold": 0.05},
    ),
    "NearMiss-1": (fast_under.NearMiss, imb_under.NearMiss, {"version": 1}),
    "NearMiss-2": (fast_under.NearMiss, imb_under.NearMiss, {"version": 2}),
    "NearMiss-3": (fast_under.NearMiss, imb_under.NearMiss, {"version": 3}),
}


@pytest.mark.parametrize("name", list(LATER_SAMPLERS))
def test_parity_of_later_samplers_on_the_pruned_search(searches, name):
    ours_cls, theirs_cls, params = LATER_SAMPLERS[name]
    X, y = gaussian(3000, 8, [0.25, 0.75], seed=7)
    searches.force("pruned")
    ours = ours_cls(**params, n_jobs=2)
    theirs = theirs_cls(**params)
    X_a, y_a = ours.fit_resample(X, y)
    X_b, y_b = theirs.fit_resample(X, y)
    assert np.array_equal(X_a, X_b), f"{name}: X differs"
    assert np.array_equal(y_a, y_b), f"{name}: y differs"
    if hasattr(theirs, "sample_indices_"):
        assert np.array_equal(ours.sample_indices_, theirs.sample_indices_)
    assert len(y_a) != len(y), f"{name} left the data unchanged"
    assert searches.largest()["algorithm"] == "pruned", searches.largest()
