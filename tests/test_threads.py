"""Several Python threads calling imbfast at once: no shared mutable state.

Plans (``last_plan()``) and recalls (``neighbors_recall_``) live in context
variables, so each thread sees its own; results never depend on what runs
beside them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.datasets import make_classification

from imbfast.neighbors import NearestNeighbors, kneighbors, last_plan, tuned, tuning
from imbfast.over_sampling import SMOTE
from imbfast.under_sampling import EditedNearestNeighbours, TomekLinks


def _data(seed: int, n: int = 3000, d: int = 6):
    return make_classification(
        n_samples=n,
        n_features=d,
        n_informative=3,
        n_redundant=0,
        weights=[0.85, 0.15],
        random_state=seed,
    )


def _jobs():
    """(name, callable returning comparable results) of mixed work."""
    jobs = []
    for seed in range(4):
        X, y = _data(seed, n=2000 + 500 * seed, d=4 + 4 * seed)

        def search(X=X):
            ind = kneighbors(X, 4, algorithm="auto")
            return ind, last_plan()

        def smote(X=X, y=y, seed=seed):
            res = SMOTE(random_state=seed).fit_resample(X, y)
            return res, last_plan()

        def enn(X=X, y=y):
            res = EditedNearestNeighbours(neighbors="approx").fit_resample(X, y)
            return res, None

        def tomek(X=X, y=y):
            sampler = TomekLinks(neighbors="approx")
            res = sampler.fit_resample(X, y)
            return (res, sampler.sample_indices_), sampler.neighbors_recall_

        def estimator(X=X):
            nn = NearestNeighbors(n_neighbors=3).fit(X)
            res = nn.kneighbors(X[:700])
            # Another search by the same thread in between: the estimator
            # keeps the plan its own search returned.
            kneighbors(X[:50], 2, algorithm="scan")
            return res, nn.last_plan_

        jobs += [search, smote, enn, tomek, estimator]
    return jobs


def _equal(a, b) -> bool:
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def test_eight_threads_give_the_results_of_single_calls():
    jobs = _jobs()
    alone = [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            order = np.random.default_rng(_).permutation(len(jobs))
            futures = {i: pool.submit(jobs[i]) for i in order}
            for i, future in futures.items():
                assert _equal(future.result(), alone[i]), f"job {i} differs"


def test_plan_of_another_thread_is_not_seen():
    X, _ = _data(0, n=500, d=3)
    kneighbors(X, 2, algorithm="tree")
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(kneighbors, X, 2, algorithm="brute").result()
        assert pool.submit(last_plan).result()["algorithm"] == "brute"
    assert last_plan()["algorithm"] == "tree"


def test_search_returns_its_plan():
    X, _ = _data(1, n=3000, d=4)
    ind, plan = kneighbors(X, 3, return_plan=True)
    assert plan == last_plan() and plan["algorithm"] in ("brute", "tree")
    dist, ind2, plan = kneighbors(
        X, 3, algorithm="brute", return_distance=True, return_plan=True
    )
    assert np.array_equal(ind, ind2) and dist.shape == ind.shape
    assert plan["algorithm"] == "brute" and plan["requested"] == "brute"
    nn = NearestNeighbors(n_neighbors=3).fit(X)
    nn.kneighbors(X[:10])
    assert nn.last_plan_["n_queries"] == 10
    kneighbors(X, 2, algorithm="scan")
    assert nn.last_plan_["n_queries"] == 10  # its own search's plan
    # Sparse queries: the estimator's plan says so; last_plan() keeps the
    # latest dense search, as documented.
    from scipy import sparse

    nn.kneighbors(sparse.csr_matrix(X[:5]))
    assert nn.last_plan_["algorithm"] == "sparse"
    assert nn.last_plan_["n_queries"] == 5
    assert last_plan()["algorithm"] == "scan"


def test_tuned_is_seen_by_its_thread_and_block_only():
    default = tuning().probe_queries
    with tuned(probe_queries=8) as inside:
        assert inside.probe_queries == tuning().probe_queries == 8
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert pool.submit(tuning).result().probe_queries == default
    assert tuning().probe_queries == default
