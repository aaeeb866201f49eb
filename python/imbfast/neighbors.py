"""k-nearest-neighbour search: exact engines and an approximate one.

Engines (all exact unless ``algorithm="approx"``):

- ``"brute"``: the C++ fused kernel. A float32 SIMD pass over centred data
  computes a lower bound of every pair's distance (its float32 error is
  subtracted per pair) and keeps a few more candidates than needed per
  query, without ever storing a distance matrix (querying the fitted data
  computes each pair once); the candidates are re-ranked with exact
  distances accumulated in double, ties broken by the lower sample index,
  the query point itself excluded by index, and the answer proven complete
  by those bounds. A query whose proof fails (more rows tie at its k-th
  distance than the list holds, as on integer, binary, one-hot or
  duplicated data, or distances below float32's resolution) takes the tie
  pass: one more float32 pass with its threshold fixed at its k-th exact
  distance, every row under it ranked exactly, however many tie; the plan
  counts them in ``n_tie_pass``.
- ``"scan"``: an exact scan in double, for tiny problems (no set-up).
- ``"tree"``: a C++ KD-tree searched in double, for low-dimensional data.
- ``"pruned"``: cluster pruning (:mod:`imbfast._pruned`): k-means cells with
  exact radii, split again into fine cells; each query searches its own cell
  with the fused kernel, and then only the fine cells that the triangle
  inequality cannot rule out (``||q - c|| - r <= `` its k-th distance so
  far). On clustered data it computes a small fraction of the brute force's
  distances (1M x 20 rows in 1000 clusters: 0.5%, 24 s where the brute-force
  GEMM floor measured in the same run was 249 s); on unclustered data it
  prunes nothing.
- ``"auto"`` picks scan, tree or brute from n, d and k (see
  :func:`choose_algorithm`); on searches of at least 1e9 pairs x features
  it then times the fused pass on 256 sample rows, and when more than a
  quarter of them need the tie pass (ties, or data float32 cannot resolve)
  it times the KD-tree on them too and takes whichever is estimated faster
  (plan key ``probe_tie_fraction``); where that is the brute force on a large
  problem (at least ``500_000**2`` distance pairs), it first tries the pruned
  search and keeps it when its second pass would compute at most 30% of the
  brute force's distances, judged on a random sample of its blocks (a
  failed attempt cost 3.2 s at 400k x 20, under 10%); :func:`last_plan`
  says which ran.

The neighbour lists of these engines equal an exact brute-force float64
search.

- ``"approx"``: at least the requested recall, as cheaply as possible. By
  default (``approx_engine="auto"``) the pruned exact search is tried first
  and kept when its work is at most about 16 probed cells' worth
  (``16 * sqrt(n)`` rows per query): on clustered data it is then as fast as
  the index and exact (recall 1.0; 10M x 32 rows in 1000 clusters, see
  ``benchmarks/approx_10m.py``). Otherwise (and with
  ``approx_engine="cells"`` or ``"faiss-ivf"``): approximate search over an
  inverted file of k-means cells
  (FAISS k-means, ``nlist`` about ``sqrt(n)`` cells trained on a sample of
  rows; ``nprobe`` cells searched per query). Two engines produce the
  candidates (``k`` plus a few per query, float32):

  * ``"cells"`` (the default): every row is assigned to its nearest
    centroid by the fused C++ kernel; the queries of one cell all search
    the rows of the ``nprobe`` cells whose centroids are nearest to that
    cell's centroid (itself first), as one fused SIMD block, blocks run on
    the threads in parallel.
  * ``"faiss-ivf"``: FAISS ``IndexIVFFlat``, each query probing the
    ``nprobe`` cells nearest to it.

  The candidates are then re-ranked by the C++ core (``refine_knn``) with
  exact distances in double and ties by the lower index, so every returned
  distance is exact and every list exactly ordered; only neighbours the
  index missed can differ from the exact answer. Queries of the fitted data
  never return themselves (excluded by index). ``refine_knn`` is called
  with an error bound of ``-inf``: its completeness test ``k-th exact
  distance < largest candidate distance - bound`` then always holds, so no
  query is sent to the exact scan for lack of proof; the scan is only used
  for a query left with fewer than ``k`` valid candidates (reported as
  ``n_fallback``).

  ``nprobe`` is chosen by a calibration: a random sample of
  ``min(n_queries, 1000)`` queries (fixed seed) is answered by the exact
  engine, and ``nprobe`` = 1, 2, 3, 4, 6, 9, ... is tried on it until the
  sample's recall (fraction of the exact ``k`` neighbour ids found, averaged
  over the queries) reaches ``approx_recall``; an explicit ``nprobe`` skips
  the search but is still measured. When the target is not reached with
  20% of the cells probed, the index would cost about as much as the exact
  brute force: the exact engine answers instead (recall 1.0, and
  :func:`last_plan` says ``index_gave_up``). The sample's recall is what
  :func:`last_plan` reports, with its standard error (per-query spread,
  finite-population corrected): for recall 0.99 and 1000 queries it is
  about 0.002, so the true recall is within about 0.006 of the estimate
  (3 standard errors). Stopping at the first ``nprobe`` that passes biases
  the estimate up by a fraction of a standard error. Problems too small
  for an index (fewer than ``2**14`` rows or ``200_000`` distance pairs)
  are answered exactly and report recall 1.0.

  Measured on this project's 2-core machine (shared, noisy), all pairs,
  k=4, d=32, clustered float32: at 200k rows FAISS ``IndexIVFFlat`` reached
  recall 0.999 at nprobe=4 after 10 s of training and adding, while
  ``IndexHNSWFlat`` (M=32) needed efSearch=64 for 0.991 after 15.5 s of
  building and searched about twice as slowly, so HNSW is not offered; at
  1M rows ``"faiss-ivf"`` took 50 s (38.8 s of it in the per-query search,
  recall 0.997) and ``"cells"`` 8.5 s (recall 0.996). At 100k rows of the
  same kind of mixture (1000 clusters of 100 rows, d=8 and 20) each cell
  holds parts of several clusters; ``"cells"`` then needs 28-42 probes and
  is slightly slower than ``"faiss-ivf"`` (4.0 s against 2.7 s at d=20).
  Unclustered data of high intrinsic dimension has no cell structure to
  exploit: on 1M x 32 standard Gaussian rows FAISS IVF found only 65% of
  the neighbours with 64 of 4000 cells probed; the calibration then climbs
  to many probes (at most ``nprobe_max``, 256 cells), which can cost more
  than the exact engine: use ``"approx"`` for clustered data.

  Peak memory of ``"cells"``: the input, its float32 copy when it is
  float64, a float32 copy sorted by cell, two ``nlist**2`` tables (centroid
  distances, votes), the 4 nearest centroids of every row while building,
  and O(n_queries * (k + 3)) candidates; the cell blocks searched at once
  (one per thread) are ``nprobe * n / nlist`` rows each.

Differences from ``sklearn.neighbors.NearestNeighbors``: ties are always
broken by the lower index, and a sample is never its own neighbour when
querying the fitted data (``X=None``) even when it has exact duplicates.
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestNeighbors as _SkNearestNeighbors
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from imbfast import _core
from imbfast._pruned import pruned_knn
from imbfast.base import resolve_n_jobs

# Below this much work (distance pairs x features) the plain exact scan,
# which needs no setup, beats the fused pass (measured with
# benchmarks/engine_choice.py: 178 x 178 x 64 digits rows take 1.5 ms by
# scan and 0.4 ms by the fused pass; 178 x 178 x 13 wine rows 0.3 / 0.2 ms).
_SCAN_MAX_WORK = 400_000
# Extra candidates kept by the float32 pass beyond k. Fewer mean fewer heap
# insertions, more mean fewer queries in the tie pass; measured all-pairs
# k=5 on 2 threads (benchmarks/realistic_data.py sets), extra = 2 / 4 / 8:
# Gaussian 100k x 20 1.46 / 1.59 / 1.78 s, Poisson counts 100k x 9
# 1.67 / 1.60 / 1.53 s, binary flags 30k x 24 0.43 / 0.38 / 0.39 s.
_EXTRA_CANDIDATES = 4
# KD-tree versus fused brute force, measured on Gaussian data at 50k rows,
# all pairs, k=5, one thread (kdtree_knn / fused_knn time): the tree's cost
# grows about 1.8x per added dimension, the brute force's slowly with d and
# linearly with n. "auto" takes the tree when the modelled ratio is below 1.
_TREE_MAX_D = 16
_TREE_RATIO_AT_50K = 0.09 / 0.66  # d=2
_TREE_GROWTH_PER_DIM = 1.8

# "auto" tries the pruned search on problems the brute force would answer
# with at least this many distance pairs, and gives up on it (before its
# second pass) when it would compute more than this fraction of the brute
# force's distances. A failed attempt (partition, fine cells, a random
# sample of blocks) cost 3.2 s at 400k x 20 Gaussian rows on this loaded
# machine, where the brute force takes about 37 s.
_PRUNED_AUTO_MIN_PAIRS = 500_000 * 500_000
_PRUNED_AUTO_MAX_WORK = 0.3

# Data the float32 pass cannot resolve. Where float32 cannot separate the
# neighbours of many rows (a wide-range column beside one-hot blocks: the
# distances that matter are below float32's resolution of the norms; or many
# rows tie), those queries take the fused engine's tie pass and the brute
# force costs up to three passes. "auto" probes the brute force on
# _PROBE_QUERIES evenly spaced rows when the search is at least
# _PROBE_MIN_WORK (pairs x features); when more than _PROBE_MAX_TIES of them
# need the tie pass it times the KD-tree (double) on the same rows and takes
# it when its estimated time is lower. Measured (all pairs, k=3, 2 threads):
# census-like numeric + one-hot rows, d=130, 30k rows: brute 2.8 s, tree
# 0.70 s (estimates 5.5 s / 0.44 s), pruned 1.2 s; binary flags, d=24, 30k
# rows (43% of the probe in the tie pass): brute 0.62 s, tree 10.9 s
# (estimates 1.1 s / 19 s).
_PROBE_QUERIES = 256
_PROBE_MIN_WORK = 1_000_000_000
_PROBE_MAX_TIES = 0.25

ALGORITHMS = ("auto", "scan", "brute", "tree", "pruned", "approx")

# Approximate search (algorithm="approx").
# Below this many rows, or distance pairs, the index is not worth building:
# the search is exact.
_APPROX_MIN_N = 1 << 14
_APPROX_MIN_PAIRS = 200_000
# Queries in the recall calibration sample (fewer when there are fewer).
_APPROX_SAMPLE = 1000
# Cells per sqrt(n) and k-means settings of the inverted file.
_APPROX_CELLS_PER_SQRT_N = 1.0
_APPROX_MIN_POINTS_PER_CELL = 39  # FAISS warns below this many per centroid
_APPROX_TRAIN_PER_CELL = 50
_APPROX_KMEANS_ITER = 10
# Candidates FAISS returns beyond k (and self), re-ranked exactly.
_APPROX_EXTRA = 2
# The "cells" engine: cells per sqrt(n) (balances assigning a row to a
# cell, nlist distances, against searching nprobe cells of n / nlist rows),
# at least this many rows per cell, k-means sample rows per cell, and the
# most cells a query may probe.
_CELLS_PER_SQRT_N = 1.0
_CELLS_MIN_ROWS = 32
_CELLS_TRAIN_PER_CELL = 20
_CELLS_MAX_PROBE = 256
# Centroids found per row: a cell's probe order counts how many of its rows
# have each other cell among their nearest _CELLS_ROW_CENTROIDS centroids.
_CELLS_ROW_CENTROIDS = 4


def _next_probe(probe: int) -> int:
    """Calibration steps: 1, 2, 3, 4, 6, 9, 13, ... (about x1.5)."""
    return max(probe + 1, (3 * probe) // 2)


# The plan of the most recent dense search of this thread or task (see
# last_plan()). A context variable, not a module global: searches running
# at once in several threads never see each other's plans or recalls.
_PLAN: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "imbfast_neighbors_plan", default=None
)


def _set_plan(plan: dict[str, Any] | None = None, **entries: Any) -> None:
    """Make ``plan`` (and ``entries``) what :func:`last_plan` reports here."""
    _PLAN.set({**(plan or {}), **entries})


def _update_plan(**entries: Any) -> None:
    """Add entries to this context's current plan."""
    _PLAN.set({**(_PLAN.get() or {}), **entries})


# The samplers' ``neighbors`` parameter: the same name and values everywhere.
NEIGHBORS_MODES = ("exact", "approx")
NEIGHBORS_CONSTRAINT = [StrOptions(set(NEIGHBORS_MODES))]
# The samplers' k_neighbors / n_neighbors: a count, or an object with
# kneighbors (imbalanced-learn's duck typing).
NEIGHBORS_COUNT_CONSTRAINT = [
    Interval(numbers.Integral, 1, None, closed="left"),
    HasMethods(["kneighbors", "kneighbors_graph"]),
]


def algorithm_for(neighbors: str) -> str:
    """The search ``algorithm`` a sampler's ``neighbors`` value asks for."""
    return "approx" if neighbors == "approx" else "auto"


class RecallTracker:
    """Collects the estimated recall of the approximate searches in a block.

    Used as ``with RecallTracker() as tracker: ...``; :attr:`recall` is then
    the mean of the searches' estimated recalls weighted by their numbers of
    queries (the expected fraction of exact neighbours found over all the
    lists searched), 1.0 when no approximate search ran; :attr:`n_indexed`
    counts the searches answered by the index (the others were small enough
    to be exact).
    """

    def __init__(self) -> None:
        self._weighted = 0.0
        self._queries = 0
        self.n_indexed = 0

    def __enter__(self) -> RecallTracker:
        self._token = _TRACKERS.set((*_TRACKERS.get(), self))
        return self

    def __exit__(self, *exc: object) -> None:
        _TRACKERS.reset(self._token)

    def add(self, recall: float, n_queries: int, indexed: bool) -> None:
        """Record one search."""
        self._weighted += recall * n_queries
        self._queries += n_queries
        self.n_indexed += int(indexed)

    @property
    def recall(self) -> float:
        """Query-weighted mean estimated recall (1.0 without searches)."""
        return self._weighted / self._queries if self._queries else 1.0


# The trackers active in this thread or task, and whether its searches are
# measured by their caller instead (see untracked).
_TRACKERS: contextvars.ContextVar[tuple[RecallTracker, ...]] = contextvars.ContextVar(
    "imbfast_recall_trackers", default=()
)
_UNTRACKED: contextvars.ContextVar[int] = contextvars.ContextVar(
    "imbfast_untracked_depth", default=0
)


def _record_recall(recall: float, n_queries: int, indexed: bool) -> None:
    if _UNTRACKED.get():
        return
    for tracker in _TRACKERS.get():
        tracker.add(recall, n_queries, indexed)


@contextlib.contextmanager
def untracked() -> Iterator[None]:
    """Keep this thread's searches out of the active :class:`RecallTracker`.

    For searches that are parts of a larger one whose recall is measured as
    a whole (the per-partition searches of the sharded dask search).
    """
    token = _UNTRACKED.set(_UNTRACKED.get() + 1)
    try:
        yield
    finally:
        _UNTRACKED.reset(token)


def last_plan() -> dict[str, Any]:
    """How the most recent dense search in this process was answered.

    Returns
    -------
    plan : dict
        ``algorithm`` (the engine used: ``"scan"``, ``"brute"``, ``"tree"``,
        ``"pruned"`` or, for ``"approx"``, ``"cells"`` or ``"faiss-ivf"``),
        ``requested``, ``n``, ``n_queries``, ``d``, ``k``,
        ``dtype`` and, for the fused brute force, ``n_tie_pass`` (queries
        whose candidate list could not be proven complete and that took the
        tie pass), ``n_candidates`` and ``symmetric``;
        ``probe_tie_fraction`` when ``"auto"`` probed the data; for the
        pruned search ``nlist``,
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
    if n * n_queries * d <= _SCAN_MAX_WORK:
        return "scan"
    if d <= _TREE_MAX_D:
        brute_per_dim = (0.6 + 0.03 * d) / 0.66
        ratio = (
            _TREE_RATIO_AT_50K
            * _TREE_GROWTH_PER_DIM ** (d - 2)
            / brute_per_dim
            * (50_000 / n)
        )
        # The all-pairs brute force computes each pair once: half the work.
        if n_queries != n:
            ratio /= 2
        if ratio < 1.0:
            return "tree"
    return "brute"


def _as_float(X: np.ndarray) -> np.ndarray:
    """C-contiguous float32/float64 view of X (float64 for other dtypes)."""
    if X.dtype not in (np.float32, np.float64):
        return np.ascontiguousarray(X, dtype=np.float64)
    return np.ascontiguousarray(X)


def _check_finite(A: np.ndarray, name: str) -> None:
    if A.size and not (np.isfinite(A.min()) and np.isfinite(A.max())):
        raise ValueError(f"Input {name} contains NaN or infinity.")


def _exact_dense(
    X: np.ndarray, Q: np.ndarray | None, k: int, n_threads: int, algorithm: str
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN of Q (or of X itself, self excluded) among the rows of X."""
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
        _set_plan(plan)
        return np.empty((0, k), dtype=np.int64), np.empty((0, k))
    engine = choose_algorithm(n, nq, d, k) if algorithm == "auto" else algorithm
    if algorithm == "auto" and engine == "brute" and n * nq * d >= _PROBE_MIN_WORK:
        ties, brute_seconds = _probe_brute(X, Q, k, n_threads)
        plan["probe_tie_fraction"] = ties
        if ties > _PROBE_MAX_TIES and _probe_tree(X, Q, k, n_threads) < brute_seconds:
            engine = "tree"
    if engine == "pruned" or (
        algorithm == "auto" and engine == "brute" and n * nq >= _PRUNED_AUTO_MIN_PAIRS
    ):
        max_work = None if algorithm == "pruned" else _PRUNED_AUTO_MAX_WORK
        found = pruned_knn(X, Q, k, n_threads, max_work)
        if found is not None:
            idx, dist, info = found
            plan.update(info, algorithm="pruned")
            _set_plan(plan)
            return idx, dist
        plan["pruned_tried"] = True
        engine = "brute"
    if engine == "scan":
        idx, dist = _core.brute_knn(X, Q, k, n_threads)
    elif engine == "tree":
        idx, dist = _core.kdtree_knn(X, Q, k, n_threads)
    else:
        idx, dist, info = _core.fused_knn(X, Q, k, _EXTRA_CANDIDATES, n_threads)
        plan.update(info)
    plan["algorithm"] = engine
    _set_plan(plan)
    return idx, dist


def _probe_rows(X: np.ndarray, Q: np.ndarray | None) -> np.ndarray:
    """_PROBE_QUERIES evenly spaced query rows (copied)."""
    source = X if Q is None else Q
    rows = np.linspace(0, source.shape[0] - 1, _PROBE_QUERIES).astype(np.int64)
    return np.ascontiguousarray(source[rows])


def _probe_brute(
    X: np.ndarray, Q: np.ndarray | None, k: int, n_threads: int
) -> tuple[float, float]:
    """Share of sample queries that need the fused tie pass, and the
    brute force's whole time estimated from theirs.

    The sample rows query all of X (themselves included: one more
    neighbour). The estimate scales their time to all queries, times 0.75
    when querying X itself (each pair once in the symmetric pass, the tie
    pass per query).
    """
    probe = _probe_rows(X, Q)
    start = time.perf_counter()
    _, _, info = _core.fused_knn(X, probe, k + 1, _EXTRA_CANDIDATES, n_threads)
    seconds = time.perf_counter() - start
    nq = X.shape[0] if Q is None else Q.shape[0]
    scale = nq / probe.shape[0] * (0.75 if Q is None else 1.0)
    return info["n_tie_pass"] / probe.shape[0], seconds * scale


def _probe_tree(X: np.ndarray, Q: np.ndarray | None, k: int, n_threads: int) -> float:
    """The KD-tree's whole time, estimated from the sample queries.

    Two calls (1/8 of the sample, then all of it) separate the cost of
    building the tree from the cost per query.
    """
    probe = _probe_rows(X, Q)
    times = []
    for m in (probe.shape[0] // 8, probe.shape[0]):
        start = time.perf_counter()
        _core.kdtree_knn(X, probe[:m], k + 1, n_threads)
        times.append(time.perf_counter() - start)
    per_query = max(times[1] - times[0], 0.0) / (probe.shape[0] * 7 / 8)
    build = max(times[0] - per_query * probe.shape[0] / 8, 0.0)
    nq = X.shape[0] if Q is None else Q.shape[0]
    return build + per_query * nq


def _sample_truth(
    X: np.ndarray, Q: np.ndarray | None, rows: np.ndarray, k: int, n_threads: int
) -> np.ndarray:
    """Exact neighbours of the sampled query rows (self excluded by id)."""
    if Q is not None:
        ind, _ = _exact_dense(X, np.ascontiguousarray(Q[rows]), k, n_threads, "auto")
        return ind
    # k + 1 among all rows, then drop the query itself by id; where
    # duplicates pushed it out of its list, the last column goes instead.
    ind, _ = _exact_dense(X, np.ascontiguousarray(X[rows]), k + 1, n_threads, "auto")
    keep = ind != rows[:, None]
    keep[keep.all(axis=1), -1] = False
    return ind[keep].reshape(rows.shape[0], k)


def _per_query_recall(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Fraction of each row of ``truth`` present in the same row of ``found``."""
    hits = (found[:, :, None] == truth[:, None, :]).any(axis=1)
    return hits.mean(axis=1)


class _FaissIVF:
    """Per-query probing of a FAISS ``IndexIVFFlat`` (engine ``"faiss-ivf"``).

    Each query scans the ``nprobe`` cells whose centroids are nearest to it.
    """

    name = "faiss-ivf"

    def __init__(self, Xf: np.ndarray, rng: np.random.Generator) -> None:
        import faiss

        n, d = Xf.shape
        nlist = int(_APPROX_CELLS_PER_SQRT_N * np.sqrt(n))
        self.nlist = max(1, min(nlist, n // _APPROX_MIN_POINTS_PER_CELL))
        self.max_probe = self.nlist
        self.index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, self.nlist)
        self.index.cp.niter = _APPROX_KMEANS_ITER
        self.index.cp.seed = 1234
        n_train = min(n, _APPROX_TRAIN_PER_CELL * self.nlist)
        train = np.sort(rng.choice(n, n_train, replace=False))
        self.index.train(np.ascontiguousarray(Xf[train]))
        self.index.add(Xf)

    def candidates(
        self,
        Qf: np.ndarray,
        probe: int,
        n_cand: int,
        _threads: int,
        rows: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        self.index.nprobe = probe
        dist, ind = self.index.search(Qf, n_cand)
        return ind, dist

    def release(self) -> None:
        self.index.reset()


class _Cells:
    """Cell-blocked probing of a k-means partition (engine ``"cells"``).

    FAISS k-means (trained on a sample) cuts the rows into ``nlist`` cells;
    every row is assigned to its nearest centroid by the fused C++ kernel.
    The queries of a cell all search the same rows: those of ``nprobe``
    cells, the cell itself first, then the cells that most often are among
    the nearest centroids (second to fourth) of the cell's rows, then the
    cells with the nearest centroids. This follows the data: a cluster
    split between two cells makes them probe each other even when their
    centroids are far apart. One fused SIMD block search per cell replaces
    a heap per query, which is what makes this engine faster than
    per-query probing; a query near the edge of its cell relies on the
    neighbouring cells being among the probed ones, which the calibration
    accounts for.
    """

    name = "cells"

    def __init__(
        self, Xf: np.ndarray, rng: np.random.Generator, n_threads: int
    ) -> None:
        import faiss

        n, d = Xf.shape
        nlist = int(_CELLS_PER_SQRT_N * np.sqrt(n))
        self.nlist = max(1, min(nlist, n // _CELLS_MIN_ROWS))
        n_train = min(n, _CELLS_TRAIN_PER_CELL * self.nlist)
        train = np.ascontiguousarray(Xf[np.sort(rng.choice(n, n_train, replace=False))])
        km = faiss.Kmeans(
            d,
            self.nlist,
            niter=_APPROX_KMEANS_ITER,
            seed=1234,
            min_points_per_centroid=1,
            max_points_per_centroid=_CELLS_TRAIN_PER_CELL,
        )
        km.train(train)
        self.centroids = np.ascontiguousarray(km.centroids, dtype=np.float32)
        n_near = min(_CELLS_ROW_CENTROIDS, self.nlist)
        near_rows, _, _ = _core.fused_knn(
            self.centroids, Xf, n_near, _EXTRA_CANDIDATES, n_threads
        )
        cell = np.ascontiguousarray(near_rows[:, 0])
        self.cell = cell
        # How many rows of cell a have cell b among their nearest centroids.
        votes = np.bincount(
            (cell[:, None] * self.nlist + near_rows[:, 1:]).ravel(),
            minlength=self.nlist * self.nlist,
        ).reshape(self.nlist, self.nlist)
        del near_rows
        self.order = np.argsort(cell, kind="stable")
        counts = np.bincount(cell, minlength=self.nlist)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.Xs = np.ascontiguousarray(Xf[self.order])
        # Probe order of each cell: itself, then by votes, then by centroid
        # distance (ties by cell id).
        C = self.centroids.astype(np.float64)
        sq = (C * C).sum(axis=1)
        D = sq[:, None] + sq[None, :] - 2.0 * (C @ C.T)
        np.fill_diagonal(D, -np.inf)
        np.fill_diagonal(votes, np.iinfo(votes.dtype).max)
        self.max_probe = min(self.nlist, _CELLS_MAX_PROBE)
        probes = np.empty((self.nlist, self.max_probe), dtype=np.int64)
        for a in range(self.nlist):
            probes[a] = np.lexsort((D[a], -votes[a]))[: self.max_probe]
        self.probes = probes

    def assign(self, A: np.ndarray, n_threads: int) -> np.ndarray:
        """Nearest centroid of every row of A."""
        ind, _, _ = _core.fused_knn(self.centroids, A, 1, _EXTRA_CANDIDATES, n_threads)
        return ind[:, 0]

    def _block(self, c: int, probe: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows (sorted copy) and original ids searched by the queries of cell c."""
        cells = self.probes[c, :probe]
        parts = [slice(self.offsets[j], self.offsets[j + 1]) for j in cells]
        rows = np.concatenate([self.Xs[p] for p in parts])
        ids = np.concatenate([self.order[p] for p in parts])
        return rows, ids

    def candidates(
        self,
        Qf: np.ndarray,
        probe: int,
        n_cand: int,
        n_threads: int,
        rows: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        from concurrent.futures import ThreadPoolExecutor

        nq = Qf.shape[0]
        # Rows of X (given by ``rows``) already have their cell.
        cell = self.assign(Qf, n_threads) if rows is None else self.cell[rows]
        q_order = np.argsort(cell, kind="stable")
        q_offsets = np.concatenate(
            [[0], np.cumsum(np.bincount(cell, minlength=self.nlist))]
        )
        cand = np.full((nq, n_cand), -1, dtype=np.int64)
        cand_dist = np.full((nq, n_cand), np.inf, dtype=np.float32)

        def run(c: int) -> None:
            qs = q_order[q_offsets[c] : q_offsets[c + 1]]
            if qs.size == 0:
                return
            rows, ids = self._block(c, probe)
            kk = min(n_cand, rows.shape[0])
            # One thread per block; blocks run concurrently (GIL released).
            ind, dist, _ = _core.fused_knn(
                rows, np.ascontiguousarray(Qf[qs]), kk, _EXTRA_CANDIDATES, 1
            )
            cand[qs, :kk] = ids[ind]
            cand_dist[qs, :kk] = dist

        cells = np.flatnonzero(np.diff(q_offsets))
        if n_threads == 1:
            for c in cells:
                run(int(c))
        else:
            with ThreadPoolExecutor(n_threads) as pool:
                list(pool.map(run, cells.tolist()))
        return cand, cand_dist

    def release(self) -> None:
        self.Xs = np.empty((0, 0), dtype=np.float32)


APPROX_ENGINES = ("cells", "faiss-ivf")
# The calibration stops at this share of the cells: an index probing more
# costs about what the exact brute force does (its blocks run at a third of
# the brute force's rate, which computes each pair once); the exact engine
# answers instead.
_APPROX_MAX_PROBE_SHARE = 0.2
# ``approx_engine="auto"`` first tries the pruned exact search and keeps it
# when its work is at most this many probed cells' worth (each about
# sqrt(n) rows per query), what the index would need on clustered data.
_APPROX_PRUNED_PROBES = 16


def _answered_exactly(nq: int, target: float, **extra: Any) -> None:
    """Record an ``algorithm="approx"`` search that was answered exactly."""
    _update_plan(
        requested="approx",
        recall=1.0,
        recall_stderr=0.0,
        recall_sample=0,
        recall_target=target,
        **extra,
    )
    _record_recall(1.0, nq, False)


def _approx_dense(
    X: np.ndarray,
    Q: np.ndarray | None,
    k: int,
    n_threads: int,
    target: float,
    nprobe: int | None,
    engine: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate k-NN: candidates from an index, re-ranked exactly in double.

    With ``engine="auto"`` the pruned exact search is tried first and kept
    when it is about as cheap as the index (recall 1.0).
    """
    import time

    import faiss

    n, d = X.shape
    nq = n if Q is None else Q.shape[0]
    if n < _APPROX_MIN_N or n * nq <= _APPROX_MIN_PAIRS:
        idx, dist = _exact_dense(X, Q, k, n_threads, "auto")
        _answered_exactly(nq, target)
        return idx, dist

    if engine == "auto" and _APPROX_PRUNED_PROBES > 0:
        # Exact when the pruned search is about as cheap as the index.
        fraction = _APPROX_PRUNED_PROBES / np.sqrt(n)
        found = pruned_knn(X, Q, k, n_threads, fraction * (2.0 if Q is None else 1.0))
        if found is not None:
            idx, dist, info = found
            _set_plan(
                algorithm="pruned", n=n, n_queries=nq, d=d, k=k, dtype=str(X.dtype)
            )
            _answered_exactly(nq, target, **info)
            return idx, dist
    if engine == "auto":
        engine = "cells"

    rng = np.random.default_rng(0)
    Xf = X if X.dtype == np.float32 else X.astype(np.float32)
    Qf = None if Q is None else (Q if Q.dtype == np.float32 else Q.astype(np.float32))
    self_slot = 1 if Q is None else 0
    n_cand = min(n, k + self_slot + _APPROX_EXTRA)
    timings: dict[str, float] = {}

    saved_threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n_threads)
    try:
        t0 = time.perf_counter()
        index: Any = (
            _Cells(Xf, rng, n_threads) if engine == "cells" else _FaissIVF(Xf, rng)
        )
        t1 = time.perf_counter()
        timings["build_seconds"] = t1 - t0

        # Calibration: a random sample of the queries against the exact engine.
        m = min(nq, _APPROX_SAMPLE)
        rows = np.sort(rng.choice(nq, m, replace=False))
        truth = _sample_truth(X, Q, rows, k, n_threads)
        Qs = np.ascontiguousarray((Xf if Q is None else Qf)[rows])
        Q_exact = np.ascontiguousarray((X if Q is None else Q)[rows])
        bound_s = np.full(m, -np.inf)

        def sample_recall(probe: int) -> np.ndarray:
            ci, cd = index.candidates(
                Qs, probe, n_cand, n_threads, rows if Q is None else None
            )
            if Q is None:
                ci[ci == rows[:, None]] = -1  # self, excluded by id
            found, _, _ = _core.refine_knn(X, Q_exact, ci, cd, bound_s, k, n_threads)
            return _per_query_recall(found, truth)

        if nprobe is None:
            # Beyond this many probes the exact engine costs less.
            limit = min(
                index.max_probe, max(1, int(_APPROX_MAX_PROBE_SHARE * index.nlist))
            )
            probe = 1
            per_query = sample_recall(probe)
            while per_query.mean() < target and probe < limit:
                probe = min(limit, _next_probe(probe))
                per_query = sample_recall(probe)
            source = "calibrated"
            if per_query.mean() < target:
                index.release()
                idx, dist = _exact_dense(X, Q, k, n_threads, "auto")
                gave_up = f"recall {per_query.mean():.4f} at nprobe={probe}"
                _answered_exactly(nq, target, index_gave_up=gave_up)
                return idx, dist
        else:
            probe = min(int(nprobe), index.max_probe)
            per_query = sample_recall(probe)
            source = "given"
        t2 = time.perf_counter()
        timings["calibrate_seconds"] = t2 - t1

        cand, cand_dist = index.candidates(
            Xf if Q is None else Qf,
            probe,
            n_cand,
            n_threads,
            np.arange(n) if Q is None else None,
        )
        t3 = time.perf_counter()
        timings["search_seconds"] = t3 - t2
    finally:
        faiss.omp_set_num_threads(saved_threads)
    index.release()  # the index's float32 copy of X goes before re-ranking
    # A bound of -inf makes refine_knn trust the candidate lists (no proof,
    # no exact fallback) except for queries left with fewer than k valid
    # candidates, which it answers by an exact scan.
    ind, dist, n_fallback = _core.refine_knn(
        X, Q, cand, cand_dist, np.full(nq, -np.inf), k, n_threads
    )
    timings["refine_seconds"] = time.perf_counter() - t3

    recall = float(per_query.mean())
    fpc = (nq - m) / (nq - 1) if nq > 1 else 0.0
    stderr = float(per_query.std(ddof=1) / np.sqrt(m) * np.sqrt(fpc)) if m > 1 else 0.0
    _set_plan(
        requested="approx",
        algorithm=index.name,
        n=n,
        n_queries=nq,
        d=d,
        k=k,
        dtype=str(X.dtype),
        nlist=index.nlist,
        nprobe=probe,
        nprobe_max=index.max_probe,
        nprobe_source=source,
        n_candidates=n_cand,
        n_fallback=int(n_fallback),
        recall=recall,
        recall_stderr=stderr,
        recall_sample=m,
        recall_target=target,
        **timings,
    )
    _record_recall(recall, nq, True)
    return ind, dist


def _exact_sparse(
    X: sparse.spmatrix, Q: sparse.spmatrix | None, k: int, n_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN for sparse input through scikit-learn's brute force.

    Enough extra candidates are asked for to drop self by index; the lists
    are then ordered by (distance, index).
    """
    n = X.shape[0]
    extra = 1 if Q is None else 0
    k_ask = min(n, k + extra)
    nn = _SkNearestNeighbors(n_neighbors=k_ask, algorithm="brute", n_jobs=n_threads)
    nn.fit(X)
    dist, ind = nn.kneighbors(X if Q is None else Q)
    dist = dist.astype(np.float64) ** 2
    if Q is None:
        rows = np.arange(n)[:, None]
        keep = ind != rows
        # Self missing from a row (exact duplicates): drop the farthest.
        missing = keep.all(axis=1)
        keep[missing, -1] = False
        ind = ind[keep].reshape(n, k_ask - 1)
        dist = dist[keep].reshape(n, k_ask - 1)
    order = np.lexsort((ind, dist), axis=1)
    ind = np.take_along_axis(ind, order, axis=1)[:, :k]
    dist = np.take_along_axis(dist, order, axis=1)[:, :k]
    return np.ascontiguousarray(ind, dtype=np.int64), np.ascontiguousarray(dist)


def squared_kneighbors(
    X: Any,
    n_neighbors: int,
    *,
    query: Any = None,
    n_threads: int = 1,
    algorithm: str = "auto",
    approx_recall: float = 0.99,
    nprobe: int | None = None,
    approx_engine: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """k-NN with squared distances: the engine behind :func:`kneighbors`.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The points searched.
    n_neighbors : int
        Number of neighbours per query.
    query : {ndarray, sparse matrix} of shape (n_queries, n_features), default=None
        The query points; ``None`` queries the rows of X, each excluding itself.
    n_threads : int, default=1
        Threads (already resolved, see :func:`imbfast.base.resolve_n_jobs`).
    algorithm : {"auto", "scan", "brute", "tree", "pruned", "approx"}, default="auto"
        The engine; the exact ones return the same neighbours, ``"approx"``
        may miss some (see the module docstring).
    approx_recall : float, default=0.99
        With ``algorithm="approx"``: the recall the calibration aims for,
        in (0, 1].
    nprobe : int, default=None
        With ``algorithm="approx"``: inverted-file cells visited per query
        (>= 1, capped at ``nprobe_max`` of :func:`last_plan`); ``None``
        calibrates it from ``approx_recall``.
    approx_engine : {"auto", "cells", "faiss-ivf"}, default="auto"
        With ``algorithm="approx"``: how candidates are found (see the
        module docstring). ``"auto"`` answers exactly with the pruned
        search when that costs no more than about 16 probed cells, and
        uses ``"cells"`` otherwise.

    Returns
    -------
    indices : ndarray of shape (n_queries, n_neighbors), int64
        Nearest first; equal distances ordered by index.
    sq_distances : ndarray of shape (n_queries, n_neighbors), float64
        Exact squared Euclidean distances, computed in double.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}.")
    check_approx_knobs(approx_recall, nprobe)
    if approx_engine not in ("auto", *APPROX_ENGINES):
        raise ValueError(
            "approx_engine must be one of "
            f"{('auto', *APPROX_ENGINES)}, got {approx_engine!r}."
        )
    k = int(n_neighbors)
    if k < 1:
        raise ValueError(f"n_neighbors must be >= 1, got {n_neighbors}.")
    if not sparse.issparse(X):
        X = np.asarray(X)
    if query is not None and not sparse.issparse(query):
        query = np.asarray(query)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got shape {X.shape}.")
    n = X.shape[0]
    available = n if query is not None else n - 1
    if k > available:
        if query is None:
            raise ValueError(
                f"Expected n_neighbors < n_samples_fit, but n_neighbors = {k}, "
                f"n_samples_fit = {n}, n_samples = {n}"
            )
        raise ValueError(
            f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
            f"n_samples_fit = {n}, n_samples = {query.shape[0]}"
        )
    if sparse.issparse(X) or (query is not None and sparse.issparse(query)):
        Xs = sparse.csr_matrix(X)
        Qs = None if query is None else sparse.csr_matrix(query)
        ind, dist = _exact_sparse(Xs, Qs, k, n_threads)
        if algorithm == "approx":
            _set_plan()
            _answered_exactly(ind.shape[0], float(approx_recall), algorithm="sparse")
        return ind, dist
    Xd = _as_float(X)
    if query is not None and Xd.dtype == np.float32 and query.dtype != np.float32:
        # A float64 query is not rounded to float32: the search runs in
        # float64 (as scikit-learn does), so the nearest row stays nearest.
        Xd = Xd.astype(np.float64)
    Qd = None if query is None else np.ascontiguousarray(query, dtype=Xd.dtype)
    if Qd is not None and (Qd.ndim != 2 or Qd.shape[1] != Xd.shape[1]):
        raise ValueError(
            f"query must have shape (n_queries, {Xd.shape[1]}), got {Qd.shape}."
        )
    _check_finite(Xd, "X")
    if Qd is not None:
        _check_finite(Qd, "query")
    if algorithm == "approx":
        return _approx_dense(
            Xd, Qd, k, n_threads, float(approx_recall), nprobe, approx_engine
        )
    return _exact_dense(Xd, Qd, k, n_threads, algorithm)


def check_approx_knobs(approx_recall: Any, nprobe: Any) -> None:
    """Reject recall targets outside (0, 1] and nprobe values below 1."""
    if (
        isinstance(approx_recall, bool)
        or not isinstance(approx_recall, numbers.Real)
        or not 0.0 < float(approx_recall) <= 1.0
    ):
        raise ValueError(
            f"approx_recall must be a float in (0, 1], got {approx_recall!r}."
        )
    if nprobe is not None and (
        isinstance(nprobe, bool)
        or not isinstance(nprobe, numbers.Integral)
        or nprobe < 1
    ):
        raise ValueError(f"nprobe must be None or an int >= 1, got {nprobe!r}.")


def kneighbors(
    X: Any,
    n_neighbors: int,
    *,
    query: Any = None,
    n_jobs: int | None = None,
    return_distance: bool = False,
    algorithm: str = "auto",
    approx_recall: float = 0.99,
    nprobe: int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """k nearest neighbours among the rows of X (exact unless asked otherwise).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The points searched.
    n_neighbors : int
        Number of neighbours per query.
    query : {ndarray, sparse matrix} of shape (n_queries, n_features), default=None
        The query points. ``None`` queries the rows of X themselves, and a
        row is then never its own neighbour (excluded by index).
    n_jobs : int, default=None
        Threads, ``None`` (default) uses every core
        the process may use, ``1`` one thread (see
        ``imbfast.base.resolve_n_jobs``).
    return_distance : bool, default=False
        Also return the Euclidean distances.
    algorithm : {"auto", "scan", "brute", "tree", "pruned", "approx"}, default="auto"
        The engine (see the module docstring); the exact ones return the same
        neighbours. ``"approx"`` searches an inverted file of k-means cells
        and re-ranks its candidates exactly; its estimated recall is in
        :func:`last_plan`. Sparse input always uses scikit-learn's exact brute
        force.
    approx_recall : float, default=0.99
        With ``algorithm="approx"``: the recall the calibration aims for.
    nprobe : int, default=None
        With ``algorithm="approx"``: cells visited per query, instead of
        calibrating it.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), float64
        Only when ``return_distance`` is True.
    indices : ndarray of shape (n_queries, n_neighbors), int64
        Nearest first; equal distances ordered by index.
    """
    ind, dist = squared_kneighbors(
        X,
        n_neighbors,
        query=query,
        n_threads=resolve_n_jobs(n_jobs),
        algorithm=algorithm,
        approx_recall=approx_recall,
        nprobe=nprobe,
    )
    if return_distance:
        return np.sqrt(dist), ind
    return ind


class NearestNeighbors(BaseEstimator):
    """Nearest neighbours with scikit-learn's ``kneighbors`` interface.

    A drop-in for ``sklearn.neighbors.NearestNeighbors(algorithm="brute")``
    where the samplers need one: FAISS finds candidates, the C++ core makes
    them exact. Ties are broken by the lower index; with ``X=None`` a sample
    is never its own neighbour, duplicates included.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours returned by :meth:`kneighbors` by default.
    n_jobs : int, default=None
        Threads, ``None`` (default) uses every core the process
        may use, ``1`` one thread, ``-1`` all CPUs (see ``resolve_n_jobs``).
    algorithm : {"auto", "scan", "brute", "tree", "pruned", "approx"}, default="auto"
        The engine; the exact ones all return the same neighbours,
        ``"approx"`` trades recall for speed (see :func:`kneighbors`).
    approx_recall : float, default=0.99
        With ``algorithm="approx"``: the recall the calibration aims for.
    nprobe : int, default=None
        With ``algorithm="approx"``: cells visited per query, instead of
        calibrating it.

    Attributes
    ----------
    n_samples_fit_ : int
        Number of rows searched.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    algorithm_ : str
        The engine ``algorithm`` resolves to for an all-pairs search of the
        fitted data with ``n_neighbors`` (dense input).
    last_plan_ : dict
        How the latest :meth:`kneighbors` call was answered (see
        :func:`last_plan`); set by :meth:`kneighbors` on dense input.
    recall_ : float
        Estimated recall of the latest :meth:`kneighbors` call with
        ``algorithm="approx"`` (1.0 when it was answered exactly); see
        :func:`last_plan` for how it is estimated.
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "algorithm": [StrOptions(set(ALGORITHMS))],
        "approx_recall": [Interval(numbers.Real, 0, 1, closed="right")],
        "nprobe": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        n_jobs: int | None = None,
        algorithm: str = "auto",
        approx_recall: float = 0.99,
        nprobe: int | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.n_jobs = n_jobs
        self.algorithm = algorithm
        self.approx_recall = approx_recall
        self.nprobe = nprobe

    def fit(self, X: Any, y: Any = None) -> NearestNeighbors:
        """Store the points to search.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The points searched.
        y : None
            Ignored.

        Returns
        -------
        self : NearestNeighbors
            The fitted searcher.
        """
        self._validate_params()
        from sklearn.utils.validation import validate_data

        X = validate_data(self, X, accept_sparse="csr", reset=True)
        self._fit_X = X
        self.n_samples_fit_ = X.shape[0]
        n, d = X.shape
        self.algorithm_ = (
            choose_algorithm(n, n, d, self.n_neighbors)
            if self.algorithm == "auto"
            else self.algorithm
        )
        return self

    def kneighbors(
        self,
        X: Any = None,
        n_neighbors: int | None = None,
        return_distance: bool = True,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Find the nearest neighbours of each query point.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The query points; ``None`` queries the fitted points, each
            excluding itself.
        n_neighbors : int, default=None
            Neighbours per query; defaults to the constructor's value.
        return_distance : bool, default=True
            Whether to return the distances too.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries, n_neighbors)
            Euclidean distances, only when ``return_distance`` is True.
        neigh_ind : ndarray of shape (n_queries, n_neighbors)
            Indices of the neighbours in the fitted data.
        """
        check_is_fitted(self)
        from sklearn.utils.validation import validate_data

        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if X is not None:
            X = validate_data(self, X, accept_sparse="csr", reset=False)
        result = kneighbors(
            self._fit_X,
            k,
            query=X,
            n_jobs=self.n_jobs,
            return_distance=return_distance,
            algorithm=self.algorithm,
            approx_recall=self.approx_recall,
            nprobe=self.nprobe,
        )
        if not sparse.issparse(self._fit_X):
            self.last_plan_ = last_plan()
        if self.algorithm == "approx":
            self.recall_ = last_plan()["recall"]
        return result

    def kneighbors_graph(
        self, X: Any = None, n_neighbors: int | None = None, mode: str = "connectivity"
    ) -> sparse.csr_matrix:
        """The k-neighbours graph as a CSR matrix.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features), default=None
            The query points; ``None`` queries the fitted points.
        n_neighbors : int, default=None
            Neighbours per query; defaults to the constructor's value.
        mode : {"connectivity", "distance"}, default="connectivity"
            Ones, or the Euclidean distances, as the matrix entries.

        Returns
        -------
        graph : csr_matrix of shape (n_queries, n_samples_fit_)
            Row i holds the neighbours of query i.
        """
        if mode not in ("connectivity", "distance"):
            raise ValueError(
                f'Unsupported mode, must be one of "connectivity", or "distance" '
                f"but got {mode!r} instead"
            )
        dist, ind = self.kneighbors(X, n_neighbors, return_distance=True)
        n_queries, k = ind.shape
        data = np.ones(ind.size) if mode == "connectivity" else dist.ravel()
        indptr = np.arange(0, n_queries * k + 1, k)
        return sparse.csr_matrix(
            (data, ind.ravel(), indptr), shape=(n_queries, self.n_samples_fit_)
        )


def neighbors_excluding_self(nn: Any, X: Any) -> np.ndarray:
    """Neighbour table of X's rows among themselves from any k-NN object.

    ``nn`` follows imbalanced-learn's duck typing: it is fitted on X and its
    ``n_neighbors`` counts the point itself. Instead of dropping column 0, the
    query row is removed by index; where exact duplicates pushed it out of
    its own list, the last column is dropped.

    Returns
    -------
    ind : ndarray of shape (n_samples, nn.n_neighbors - 1), int64
    """
    if isinstance(nn, NearestNeighbors):
        nn.fit(X)
        return nn.kneighbors(None, nn.n_neighbors - 1, return_distance=False)
    nn.fit(X)
    ind = np.asarray(nn.kneighbors(X, return_distance=False), dtype=np.int64)
    n, width = ind.shape
    keep = ind != np.arange(n)[:, None]
    missing = keep.all(axis=1)
    keep[missing, -1] = False
    return np.ascontiguousarray(ind[keep].reshape(n, width - 1))


class NeighborsModeMixin:
    """The samplers' ``neighbors`` parameter: records the recall after a fit.

    Listed first among a sampler's bases. With ``neighbors="approx"``,
    ``fit_resample`` sets ``neighbors_recall_``: the estimated recall of the
    approximate searches it ran (see :class:`RecallTracker`); with
    ``"exact"`` the attribute is not set.
    """

    neighbors: str

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        """Resample the dataset.

        Parameters
        ----------
        X : {array-like, dataframe, sparse matrix}
            Matrix of shape (n_samples, n_features).
        y : array-like of shape (n_samples,)
            The target.
        **params : dict
            Extra parameters for the sampler.

        Returns
        -------
        X_resampled, y_resampled
            The resampled data.
        """
        with RecallTracker() as tracker:
            result = super().fit_resample(X, y, **params)  # type: ignore[misc]
        if self.neighbors == "approx":
            self.neighbors_recall_ = tracker.recall
        elif hasattr(self, "neighbors_recall_"):
            del self.neighbors_recall_
        return result
