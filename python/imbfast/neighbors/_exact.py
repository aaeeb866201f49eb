"""Exact dense search: the ``"auto"`` policy, its probe, and the dispatch.

The engines themselves are in the C++ core (``brute_knn``: the exact scan;
``fused_knn``: the fused float32 pass re-ranked in double, with its tie
pass, or for queries its int8 filter pass; ``KDTree``: the KD-tree) and in
:mod:`imbfast.neighbors._pruned` (cluster pruning). This module decides
which one answers: from the problem size (:func:`choose_algorithm`), then,
on large searches, by timing the fused pass and the KD-tree on a sample of
the queries (the probe) and by trying the pruned search. Every threshold
is a field of :class:`imbfast.neighbors.Tuning`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from imbfast import _core
from imbfast.neighbors._plan import set_plan, tuning
from imbfast.neighbors._pruned import pruned_knn


def choose_algorithm(n: int, n_queries: int, d: int, k: int) -> str:
    """The exact engine ``algorithm="auto"`` uses for this problem size.

    Parameters
    ----------
    n : int
        Rows searched.
    n_queries : int
        Query rows.
    d : int
        Features.
    k : int
        Neighbours per query.

    Returns
    -------
    algorithm : str
        ``"scan"`` (tiny problems), ``"tree"`` or ``"brute"``.
    """
    t = tuning()
    if n * n_queries * d <= t.scan_max_work:
        return "scan"
    if d <= t.tree_max_d:
        brute_per_dim = (0.6 + 0.03 * d) / 0.66
        ratio = (
            t.tree_ratio_at_50k
            * t.tree_growth_per_dim ** (d - 2)
            / brute_per_dim
            * (50_000 / n)
        )
        # The all-pairs brute force computes each pair once: half the work.
        if n_queries != n:
            ratio /= 2
        if ratio < 1.0:
            return "tree"
    return "brute"


def as_float(X: np.ndarray) -> np.ndarray:
    """C-contiguous float32/float64 view of X (float64 for other dtypes)."""
    if X.dtype not in (np.float32, np.float64):
        return np.ascontiguousarray(X, dtype=np.float64)
    return np.ascontiguousarray(X)


def check_finite(A: np.ndarray, name: str) -> None:
    """Reject NaN and infinity in ``A`` (named ``name`` in the message)."""
    if A.size and not (np.isfinite(A.min()) and np.isfinite(A.max())):
        raise ValueError(f"Input {name} contains NaN or infinity.")


def exact_dense(
    X: np.ndarray,
    Q: np.ndarray | None,
    k: int,
    n_threads: int,
    algorithm: str,
    keep_smallest_sums: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN of Q (or of X itself, self excluded) among the rows of X.

    With ``keep_smallest_sums`` the int8 pass may leave unanswered queries
    that cannot be among that many with the smallest sums of distances
    (see :func:`imbfast.neighbors.squared_kneighbors`).
    """
    keep = 0 if keep_smallest_sums is None else int(keep_smallest_sums)
    n, d = X.shape
    nq = n if Q is None else Q.shape[0]
    plan: dict[str, Any] = {
        "requested": algorithm,
        "n": n,
        "n_queries": nq,
        "d": d,
        "k": k,
        "dtype": str(X.dtype),
    }
    if nq == 0:
        plan["algorithm"] = "scan"
        set_plan(plan)
        return np.empty((0, k), dtype=np.int64), np.empty((0, k))
    engine = choose_algorithm(n, nq, d, k) if algorithm == "auto" else algorithm
    t = tuning()
    tree = None
    # Above tree_max_d the probe only asks for the share of ties, which
    # fewer rows estimate well enough; it is not worth its rows where they
    # are a large share of the queries (the brute force answers those).
    n_probe = t.probe_queries if d <= t.tree_max_d else t.probe_tie_queries
    int8 = t.int8_filter
    if (
        algorithm == "auto"
        and engine == "brute"
        and n * nq * d >= t.probe_min_work
        and n_probe <= t.probe_max_share * nq
    ):
        if (
            d > t.tree_max_d
            and Q is not None
            and int8 == "auto"
            and n * nq < t.pruned_auto_min_pairs
        ):
            # Where the probe would only look for ties, the int8 pass's own
            # probe answers first: when it takes the search (data it can
            # resolve, so no tie-heavy search for the pruned engine), the
            # float32 probe and its set-up are saved (8 ms, 5% of
            # BorderlineSMOTE's search at 100k x 20); when it declines, the
            # search goes on without it.
            idx, dist, info = _fused(X, Q, k, n_threads, "only", keep)
            if info["int8_filter"]:
                return _planned(plan, idx, dist, info, "brute")
            int8 = "never"
        probe = _probe_rows(X, Q, n_probe)
        ties, brute_seconds, sample_seconds = _probe_brute(X, Q, probe, k, n_threads)
        plan["probe_tie_fraction"] = ties
        plan["probe_brute_seconds"] = brute_seconds
        # The cost model above is Gaussian data's; clustered, discrete or
        # duplicated rows can favour the tree at any d where it is
        # plausible (worth a tree build on long searches only), and ties
        # favour it at any d.
        plausible = d <= t.tree_max_d and brute_seconds >= t.probe_tree_min_seconds
        if (
            ties > t.probe_max_ties
            and d > t.tree_max_d
            and n * nq >= t.pruned_tie_min_pairs
        ):
            # Rows float32 cannot separate are often strongly clustered
            # (one-hot blocks): the pruned search, when it prunes well,
            # beats the tree where d is too large for it.
            found = pruned_knn(X, Q, k, n_threads, t.pruned_tie_max_work)
            if found is not None:
                return _planned(plan, *found, "pruned")
            plan["pruned_tried"] = True
        if plausible or ties > t.probe_max_ties:
            brute_seconds = _refine_brute(X, Q, probe, k, n_threads, sample_seconds)
            plan["probe_brute_seconds"] = brute_seconds
            # The tree's build is paid before it can win: not where the
            # whole brute force costs less (few queries among many rows, or
            # a small X).
            build = t.tree_build_seconds * n * d * np.log2(max(n, 2))
            if brute_seconds > build:
                tree, tree_seconds = _probe_tree(X, Q, probe, k, n_threads)
                plan["probe_tree_seconds"] = tree_seconds
                if tree_seconds < brute_seconds:
                    engine = "tree"
                else:
                    tree = None
    if engine == "pruned" or (
        algorithm == "auto"
        and engine == "brute"
        and "pruned_tried" not in plan
        and n * nq >= t.pruned_auto_min_pairs
    ):
        max_work = None if algorithm == "pruned" else t.pruned_auto_max_work
        found = pruned_knn(X, Q, k, n_threads, max_work)
        if found is not None:
            return _planned(plan, *found, "pruned")
        plan["pruned_tried"] = True
        engine = "brute"
    if engine == "scan":
        idx, dist = _core.brute_knn(X, Q, k, n_threads)
    elif engine == "tree":
        tree = _core.KDTree(X) if tree is None else tree
        idx, dist = tree.query(Q, k, n_threads)
    else:
        idx, dist, info = _fused(X, Q, k, n_threads, int8, keep)
        plan.update(info)
    plan["algorithm"] = engine
    set_plan(plan)
    return idx, dist


def _fused(
    X: np.ndarray,
    Q: np.ndarray | None,
    k: int,
    n_threads: int,
    int8: str,
    keep_smallest_sums: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The fused brute force with the tuned int8 costs (``int8``: its mode)."""
    t = tuning()
    return _core.fused_knn(
        X,
        Q,
        k,
        t.extra_candidates,
        n_threads,
        int8=int8,
        int8_hit_cost=t.int8_hit_cost,
        int8_max_cost=t.int8_max_cost,
        int8_max_range=t.int8_max_range,
        keep_smallest_sums=keep_smallest_sums,
    )


def _planned(
    plan: dict[str, Any],
    idx: np.ndarray,
    dist: np.ndarray,
    info: dict[str, Any],
    algorithm: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Record the plan of a search answered early and return its answer."""
    plan.update(info, algorithm=algorithm)
    set_plan(plan)
    return idx, dist


def _probe_rows(X: np.ndarray, Q: np.ndarray | None, count: int) -> np.ndarray:
    """``count`` evenly spaced query rows (copied)."""
    source = X if Q is None else Q
    rows = np.linspace(0, source.shape[0] - 1, count).astype(np.int64)
    return np.ascontiguousarray(source[rows])


def _seconds(run: Any, rows: np.ndarray) -> tuple[float, Any]:
    """Wall time of ``run(rows)``, and what it returned."""
    start = time.perf_counter()
    result = run(rows)
    return time.perf_counter() - start, result


def _probe_brute(
    X: np.ndarray, Q: np.ndarray | None, probe: np.ndarray, k: int, n_threads: int
) -> tuple[float, float, float]:
    """Share of sample queries that need the fused tie pass, and the
    brute force's whole time estimated from theirs.

    The sample rows query all of X (themselves included: one more
    neighbour). The estimate scales their time to all queries, times 0.75
    when querying X itself (each pair once in the symmetric pass, the tie
    pass per query). It scales the call's fixed cost (the copy of X, the
    threads) too, so it is an upper bound; :func:`_refine_brute` separates
    the two when the estimate is compared with the tree's.

    Returns
    -------
    ties, seconds, probe_seconds : float
        The share, the estimate, and the sample's own time.
    """
    run = _brute_runner(X, k, n_threads)
    seconds, (_, _, info) = _seconds(run, probe)
    return info["n_tie_pass"] / probe.shape[0], seconds * _scale(X, Q, probe), seconds


def _brute_runner(X: np.ndarray, k: int, n_threads: int) -> Any:
    """The probe's brute-force search of some rows among X."""
    extra = tuning().extra_candidates
    return lambda P: _core.fused_knn(X, P, k + 1, extra, n_threads)


def _scale(X: np.ndarray, Q: np.ndarray | None, probe: np.ndarray) -> float:
    """From the probe's rows to the whole search (see :func:`_probe_brute`)."""
    nq = X.shape[0] if Q is None else Q.shape[0]
    return nq / probe.shape[0] * (0.75 if Q is None else 1.0)


def _refine_brute(
    X: np.ndarray,
    Q: np.ndarray | None,
    probe: np.ndarray,
    k: int,
    n_threads: int,
    seconds: float,
) -> float:
    """The brute force's estimate with its fixed cost paid once.

    A quarter of the sample is timed as well: the difference from the
    whole sample's ``seconds``, over the rows it adds, is the cost of one
    more query, and what the quarter cost beyond its queries is the fixed
    cost. Scaling the whole sample's time alone estimated 10.1 s for a
    3.3 s search (SMOTEENN's on the realistic counts data, 129k queries
    among 180k rows, 256 probe rows).
    """
    quarter = max(1, probe.shape[0] // 4)
    if quarter == probe.shape[0]:
        return seconds * _scale(X, Q, probe)
    head, _ = _seconds(
        _brute_runner(X, k, n_threads), np.ascontiguousarray(probe[:quarter])
    )
    per_query = max(seconds - head, 0.0) / (probe.shape[0] - quarter)
    fixed = max(head - per_query * quarter, 0.0)
    return fixed + per_query * probe.shape[0] * _scale(X, Q, probe)


def _probe_tree(
    X: np.ndarray, Q: np.ndarray | None, probe: np.ndarray, k: int, n_threads: int
) -> tuple[Any, float]:
    """The KD-tree over X, and its search time estimated from the sample.

    The tree is built once, timed on the sample queries (after a warm-up
    on a quarter of them), and kept: if it wins, it answers the whole
    search, so its building is paid once and the comparison is of search
    times alone.
    """
    tree = _core.KDTree(X)
    run = lambda P: tree.query(P, k + 1, n_threads)  # noqa: E731
    # A first search of a new tree runs about twice as slow (its memory is
    # cold): a quarter of the sample warms it up, untimed.
    run(np.ascontiguousarray(probe[: max(1, probe.shape[0] // 4)]))
    seconds, _ = _seconds(run, probe)
    nq = X.shape[0] if Q is None else Q.shape[0]
    return tree, seconds / probe.shape[0] * nq
