"""Search plans and the tuning of the engine choice, on one screen.

A *plan* says how a search was answered (engine, sizes, work done, recall);
the most recent one of this thread or task is in a context variable (see
:func:`last_plan`), never in a module global, so searches running at once
in several threads never see each other's plans.

:class:`Tuning` holds every threshold and setting of the neighbour engines
(the pruned search's partition included; the constants of its bounds and
passes are in the C++ core, cpp/src/knn_pruned.cpp), each with the
measurement behind it. The
values in force are ``tuning()``; :func:`tuned` changes some of them for a
block of code in this thread or task only (experiments, tests).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator
from typing import Any

# The search engines (``algorithm=``) and the approximate candidate finders
# (``approx_engine=``).
ALGORITHMS = ("auto", "scan", "brute", "tree", "pruned", "approx")
APPROX_ENGINES = ("cells", "faiss-ivf")


@dataclasses.dataclass(frozen=True)
class Tuning:
    """Every tuning constant of the neighbour engines (defaults measured).

    Attributes
    ----------
    scan_max_work : int
        Below this much work (distance pairs x features) the plain exact
        scan, which needs no setup, beats the fused pass. Gaussian rows,
        all pairs, k=6, 2 threads, best of 5 (scan / fused, microseconds):
        100 x 9: 78 / 96; 48 x 64: 101 / 91; 100 x 20: 118 / 106;
        200 x 9: 259 / 164; 100 x 64: 371 / 165 (the fused pass costs about
        70 us of set-up, the scan about 0.6 ns per pair and feature plus
        6 ns per pair).
    extra_candidates : int
        Extra candidates kept by the float32 pass beyond k (none in exact
        arithmetic, where no proof needs them). Fewer mean fewer list
        insertions, more mean fewer queries in the tie pass; measured
        all-pairs k=5, one thread, CPU time (benchmarks/realistic_data.py
        sets), extra = 2 / 4 / 8: Gaussian 100k x 20 2.51 / 2.65 / 2.83 s,
        quantized 30k x 20 0.28 / 0.29 / 0.32 s (760 / 9 / 0 queries in the
        tie pass), mixed one-hot 10k x 130 0.33 / 0.30 / 0.27 s.
    tree_max_d, tree_ratio_at_50k, tree_growth_per_dim : int, float, float
        KD-tree versus fused brute force, measured on Gaussian data at 50k
        rows, all pairs, k=5, one thread (kdtree_knn / fused_knn time): the
        tree's cost grows about 1.8x per added dimension (ratio 0.09 / 0.66
        at d=2), the brute force's slowly with d and linearly with n.
        ``"auto"`` takes the tree when the modelled ratio is below 1.
    pruned_auto_min_pairs, pruned_auto_max_work : int, float
        ``"auto"`` tries the pruned search on problems the brute force would
        answer with at least this many distance pairs, and gives up on it
        (before its second pass) when it would compute more than this
        fraction of the brute force's distances. A failed attempt
        (partition, fine cells, a random sample of blocks) cost 3.2 s at
        400k x 20 Gaussian rows on this loaded machine, where the brute
        force takes about 37 s.
    probe_queries, probe_min_work, probe_max_ties : int, int, float
        Data the float32 pass cannot resolve. Where float32 cannot separate
        the neighbours of many rows (a wide-range column beside one-hot
        blocks: the distances that matter are below float32's resolution of
        the norms; or many rows tie), those queries take the fused engine's
        tie pass and the brute force costs up to three passes. ``"auto"``
        probes the brute force on ``probe_queries`` evenly spaced rows when
        the search is at least ``probe_min_work`` (pairs x features); when
        more than ``probe_max_ties`` of them need the tie pass, or when d is
        at most ``tree_max_d`` (clustered or discrete rows can favour the
        tree where Gaussian data would not) and the brute force is
        estimated at ``probe_tree_min_seconds`` or more (the tree's build
        and probe cost 16 ms on a 20k x 9 ENN search of 50 ms), it times
        the KD-tree (double) on the same rows and takes it when its
        estimated time is lower. The probe itself costs 1-2 ms (mostly a
        fused call's set-up): 15% of the 12 ms search of a 2,991 x 130
        census-like class (1.2e9), where the brute force wins anyway; from
        2e9 (census-like rows, all pairs, from about 4k rows, where the
        pruned search starts to win) it pays.
        Integer counts, d=9, after SMOTE (180k rows, all pairs, k=1, CPU time of
        2 threads on a loaded machine): brute 5.7 s (21% of the rows in the tie
        pass), tree 2.7 s; the model alone chose the brute force. Measured (all
        pairs, k=3, 2 threads): census-like numeric + one-hot rows, d=130, 30k
        rows: brute 2.8 s, tree 0.70 s (estimates 5.5 s / 0.44 s), pruned 1.2 s;
        binary flags, d=24, 30k rows (43% of the probe in the tie pass): brute
        0.62 s, tree 10.9 s (estimates 1.1 s / 19 s).
    pruned_tie_min_pairs, pruned_tie_max_work : int, float
        When more than ``probe_max_ties`` of the probe's rows need the tie
        pass, d is above ``tree_max_d`` and the search has at least
        ``pruned_tie_min_pairs`` distance pairs, ``"auto"`` tries the pruned
        search first (before timing the tree) and keeps it when it computes
        at most ``pruned_tie_max_work`` of the brute force's distances.
        Such data (one-hot blocks beside wide numeric columns) is strongly
        clustered: on the census-like rows of benchmarks/realistic_data.py
        (d=130, all pairs, k=3, 2 threads) the pruned search computes
        1.7-3% of the distances and takes 75 ms at 10k rows and 0.24-0.30 s
        at 30k, against the tree's 0.12 s and 0.40 s; on one-hot blocks
        beside an amount (30k rows, k=4) 52 ms against 136 ms at d=40, but
        47 ms against 36 ms at d=12 and 24 ms against 7 ms at 10k x 6 rows,
        where the tree is timed instead. Where it would not prune, its
        give-up costs the partition and a sample of blocks. The other
        realistic sets have no ties there (the int8 and lattice passes are
        exact) and never reach this step.
    probe_max_share : float
        The probe runs only where its rows are at most this share of the
        queries: on fewer queries it would cost a large part of the search
        it plans, and no tree build pays off there. RepeatedEditedNearest-
        Neighbours on 100k census-like rows searched 29-187 unsettled rows
        among 68k several times; the probe (64 + 16 tie-pass rows) made
        each 0.16 s, against 0.05-0.07 s without it.
    tree_build_seconds : float
        The KD-tree's build, in seconds per n * d * log2(n): the probe times
        the tree only when the brute force's estimate exceeds that. Measured
        3.1-5.7 ns (68k x 130 census-like rows: 0.81 s; 100k x 20 Gaussian:
        0.17 s). Without this gate, RepeatedEditedNearestNeighbours on 100k
        census-like rows built a 0.8 s tree for 141 queries that the brute
        force answers in 50 ms.
    probe_tie_queries : int
        The probe's rows where d is above ``tree_max_d``: there it only asks
        for the share of ties, which fewer rows estimate well enough (256
        rows took 12.8 ms, 9% of BorderlineSMOTE's 100k x 20 search).
    probe_tree_min_seconds : float
        The brute force's estimated seconds from which the probe also times
        the KD-tree on data with few ties (see ``probe_max_ties``).
    approx_min_n, approx_min_pairs : int, int
        ``algorithm="approx"``: below this many rows, or distance pairs, the
        index is not worth building and the search is exact (see
        :func:`imbfast.neighbors.index_worthwhile`).
    approx_sample : int
        Queries in the recall calibration sample (fewer when there are fewer).
    approx_cells_per_sqrt_n, approx_min_points_per_cell : float, int
        ``"faiss-ivf"``: cells per sqrt(n), and at least this many rows per
        cell (FAISS warns below 39 per centroid).
    approx_train_per_cell, approx_kmeans_iter : int, int
        ``"faiss-ivf"``: k-means training rows per cell; k-means iterations
        (also of ``"cells"`` and the pruned search).
    approx_extra : int
        Candidates the index returns beyond k (and self), re-ranked exactly.
    cells_per_sqrt_n, cells_min_rows, cells_train_per_cell : float, int, int
        The k-means partition of ``"cells"`` and of the pruned search
        (:mod:`imbfast.neighbors._partition`): cells per sqrt(n) (balances
        assigning a row to a cell,
        nlist distances, against searching nprobe cells of n / nlist rows),
        at least this many rows per cell, k-means sample rows per cell.
    cells_max_probe : int
        ``"cells"``: the most cells a query may probe.
    cells_row_centroids : int
        ``"cells"``: centroids found per row; a cell's probe order counts how
        many of its rows have each other cell among their nearest ones.
    approx_max_probe_share : float
        The calibration stops at this share of the cells: an index probing
        more costs about what the exact brute force does (its blocks run at
        a third of the brute force's rate, which computes each pair once);
        the exact engine answers instead.
    approx_pruned_probes : int
        ``approx_engine="auto"`` first tries the pruned exact search and
        keeps it when its work is at most this many probed cells' worth
        (each about sqrt(n) rows per query), what the index would need on
        clustered data; 0 never tries it.
    int8_filter : {"auto", "always", "never"}
        The int8 pass of the fused brute force. On the query search (not
        the all-pairs one), a filter: rows rounded to int8 on one global
        grid, exact int32 distances (AVX-512 VNNI), every row within a
        window proven to hold the k nearest ranked exactly; the answer is
        the same bit for bit. ``"auto"`` takes it only on a CPU with
        AVX-512 VNNI, on more than 512 queries and 2^28 pairs x features,
        when a probe (1/32 of the queries, 64 to 256) says it pays (see
        ``int8_hit_cost``); ``"always"`` takes it on any CPU (a portable
        kernel stands in for VNNI; tests), except for d > 4096 or k > 256.
        On lattice data (integers, flags, counts: see ``exact_arithmetic``
        in :func:`last_plan`) within 127 units of their centre, the int8
        values are the data themselves: the pass is exact with no window
        and no probe (``"auto"``: with VNNI, from 2^22 pairs x features),
        for queries and for all pairs (each pair twice, still faster than
        the float32 pass's exact arithmetic; EditedNearestNeighbours on
        100k flags x 24 in benchmarks/realistic_report.py: 1.60 / 0.67 s);
        wider lattice data keep the float32 pass. The filter, measured with
        benchmarks/int8_filter.py (make_classification 100k x 20, 9:1, one
        thread, CPU time, float32 / int8): 10k minority queries among all
        rows, k=6, 0.46 / 0.20 s; k=11, 0.49 / 0.25 s; 90k majority queries
        among the 10k minority rows, k=3, 0.48 / 0.29 s.
    int8_hit_cost, int8_max_cost : float, float
        The probe's model: the int8 pass costs (words + 2) int8 steps per
        16 rows (words = ceil(d / 4)), plus ``int8_hit_cost`` steps per row
        it collects, plus the float32 pass for the queries that collect too
        many (ties, duplicates, a grid too coarse for the data); the
        float32 pass d + 2 steps. ``"auto"`` takes the int8 pass when its
        modelled cost is below ``int8_max_cost`` times the float32 one.
        The probe's mean rows per query is in the plan
        (``int8_probe_hits``).
    int8_max_range : float
        ``"auto"`` does not even probe (nor make the int8 copy of X) when
        the largest ``|x - mean|`` is above this many times the median
        column's RMS deviation: the one global grid would be too coarse for
        most columns. The ratio is 3.7 to 8 on make_classification, blobs,
        quantized and digits data, 1e3 to 3e6 on wine, breast_cancer and
        the mixed one-hot + amount data of benchmarks/realistic_data.py,
        where a failed probe cost 4% of the float32 search.
    """

    scan_max_work: int = 150_000
    extra_candidates: int = 4
    tree_max_d: int = 16
    tree_ratio_at_50k: float = 0.09 / 0.66  # d=2
    tree_growth_per_dim: float = 1.8
    pruned_auto_min_pairs: int = 500_000 * 500_000
    pruned_auto_max_work: float = 0.3
    pruned_tie_min_pairs: int = 5_000 * 5_000
    pruned_tie_max_work: float = 0.1
    probe_max_share: float = 0.25
    tree_build_seconds: float = 5e-9
    probe_queries: int = 256
    probe_tie_queries: int = 64
    probe_min_work: int = 2_000_000_000
    probe_max_ties: float = 0.25
    probe_tree_min_seconds: float = 0.5
    approx_min_n: int = 1 << 14
    approx_min_pairs: int = 200_000
    approx_sample: int = 1000
    approx_cells_per_sqrt_n: float = 1.0
    approx_min_points_per_cell: int = 39
    approx_train_per_cell: int = 50
    approx_kmeans_iter: int = 10
    approx_extra: int = 2
    cells_per_sqrt_n: float = 1.0
    cells_min_rows: int = 32
    cells_train_per_cell: int = 20
    cells_max_probe: int = 256
    cells_row_centroids: int = 4
    approx_max_probe_share: float = 0.2
    approx_pruned_probes: int = 16
    int8_filter: str = "auto"
    int8_hit_cost: float = 24.0
    int8_max_cost: float = 0.8
    int8_max_range: float = 64.0


_DEFAULTS = Tuning()
# Overrides of this thread or task (see tuned); None: the defaults.
_TUNING: contextvars.ContextVar[Tuning | None] = contextvars.ContextVar(
    "imbfast_neighbors_tuning", default=None
)


def tuning() -> Tuning:
    """The :class:`Tuning` in force in this thread or task."""
    return _TUNING.get() or _DEFAULTS


@contextlib.contextmanager
def tuned(**changes: Any) -> Iterator[Tuning]:
    """Change some :class:`Tuning` values for the searches of a ``with`` block.

    Only this thread or task sees the change (a context variable), and only
    inside the block. Searches other threads run for it (the dask workers,
    for example) keep the defaults.

    Parameters
    ----------
    **changes
        Field names of :class:`Tuning` and their values for the block.

    Yields
    ------
    tuning : Tuning
        The values in force inside the block.
    """
    new = dataclasses.replace(tuning(), **changes)
    token = _TUNING.set(new)
    try:
        yield new
    finally:
        _TUNING.reset(token)


# The plan of the most recent dense search of this thread or task (see
# last_plan()). A context variable, not a module global: searches running
# at once in several threads never see each other's plans or recalls.
_PLAN: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "imbfast_neighbors_plan", default=None
)


def set_plan(plan: dict[str, Any] | None = None, **entries: Any) -> None:
    """Make ``plan`` (and ``entries``) what :func:`last_plan` reports here."""
    _PLAN.set({**(plan or {}), **entries})


def update_plan(**entries: Any) -> None:
    """Add entries to this context's current plan."""
    _PLAN.set({**(_PLAN.get() or {}), **entries})


def last_plan() -> dict[str, Any]:
    """How the most recent dense search in this thread or task was answered.

    Returns
    -------
    plan : dict
        ``algorithm`` (the engine used: ``"scan"``, ``"brute"``, ``"tree"``,
        ``"pruned"`` or, for ``"approx"``, ``"cells"`` or ``"faiss-ivf"``),
        ``requested``, ``n``, ``n_queries``, ``d``, ``k``,
        ``dtype`` and, for the fused brute force, ``n_tie_pass`` (queries
        whose candidate list could not be proven complete and that took the
        tie pass), ``n_candidates``, ``symmetric`` and ``exact_arithmetic``
        (lattice data: the float32 pass was exact, no proof or tie pass),
        ``int8_filter`` (the search took the int8 pass, see
        :class:`Tuning`; with ``exact_arithmetic``, its exact lattice
        mode), ``n_int8_fallback`` (of those, queries that collected too
        many rows and took the float32 pass), ``n_unanswered`` (with
        ``keep_smallest_sums``: queries left unanswered, see
        :func:`imbfast.neighbors.squared_kneighbors`) and, when
        ``"auto"`` probed it, ``int8_probe_hits`` (rows collected per probe
        query); ``probe_tie_fraction`` and ``probe_brute_seconds`` when
        ``"auto"`` probed the data (not where the int8 pass took the search
        first: d > 16, queries other than X), ``probe_tree_seconds`` when it timed the
        KD-tree too (both estimates of the whole search); for the
        pruned search ``nlist``, ``n_fine``, ``n_first_pass_blocks``,
        ``work_fraction`` (distances computed over ``n * n_queries``),
        ``n_second_pass`` and ``build_seconds``; ``pruned_tried`` when
        ``"auto"`` tried the pruned search and fell back to the brute force.

        After ``algorithm="approx"`` it also holds ``recall`` (the estimated
        recall: the fraction of the exact k neighbours found, averaged over
        the calibration sample; 1.0 when the search was exact),
        ``recall_stderr`` (its standard error, from the spread of the
        per-query recalls, with the finite-population correction),
        ``recall_sample`` (queries in the sample, 0 when exact) and
        ``recall_target``; when an index was used also ``nlist``, ``nprobe``
        (the knob), ``nprobe_max``, ``nprobe_source`` (``"calibrated"`` or
        ``"given"``), ``n_candidates``, ``n_fallback`` (queries with fewer
        than k candidates, answered by an exact scan) and the seconds spent
        in ``build_seconds``, ``calibrate_seconds``, ``search_seconds`` and
        ``refine_seconds``.
    """
    return dict(_PLAN.get() or {})
