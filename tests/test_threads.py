"""Several Python threads calling imbfast at once: no shared mutable state.

Plans (``last_plan()``) and recalls (``neighbors_recall_``) live in context
variables, so each thread sees its own; results never depend on what runs
beside them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.datasets import make_classification

from imbfast.neighbors import kneighbors, last_plan
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

        jobs += [search, smote, enn, tomek]
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
