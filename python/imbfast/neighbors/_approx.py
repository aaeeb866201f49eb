"""Approximate dense search (``algorithm="approx"``) and its calibration.

Candidates come from an inverted file of k-means cells (``"cells"``: this
project's cell-blocked probing; ``"faiss-ivf"``: FAISS ``IndexIVFFlat``),
are re-ranked exactly by the C++ core, and ``nprobe`` is calibrated on a
sample of the queries against the exact engine (see the package docstring
of :mod:`imbfast.neighbors`). ``approx_engine="auto"`` first tries the
pruned exact search. Every setting is a field of
:class:`imbfast.neighbors.Tuning`.
"""

from __future__ import annotations

import numbers
import time
from typing import Any

import numpy as np

from imbfast import _core
from imbfast.neighbors._exact import exact_dense
from imbfast.neighbors._partition import (
    faiss_threads,
    ivf_flat_index,
    n_cells,
    train_centroids,
)
from imbfast.neighbors._plan import set_plan, tuning, update_plan
from imbfast.neighbors._pruned import pruned_knn
from imbfast.neighbors._recall import per_query_recall, record_recall


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


def index_worthwhile(n: int, n_queries: int) -> bool:
    """Whether ``algorithm="approx"`` builds an index for this problem size.

    Parameters
    ----------
    n : int
        Rows searched.
    n_queries : int
        Query rows.

    Returns
    -------
    worthwhile : bool
        False below ``approx_min_n`` rows or ``approx_min_pairs`` distance
        pairs (:class:`imbfast.neighbors.Tuning`): such searches are answered
        exactly (recall 1.0).
    """
    t = tuning()
    return n >= t.approx_min_n and n * n_queries > t.approx_min_pairs


def _next_probe(probe: int) -> int:
    """Calibration steps: 1, 2, 3, 4, 6, 9, 13, ... (about x1.5)."""
    return max(probe + 1, (3 * probe) // 2)


def _sample_truth(
    X: np.ndarray, Q: np.ndarray | None, rows: np.ndarray, k: int, n_threads: int
) -> np.ndarray:
    """Exact neighbours of the sampled query rows (self excluded by id)."""
    if Q is not None:
        ind, _ = exact_dense(X, np.ascontiguousarray(Q[rows]), k, n_threads, "auto")
        return ind
    # k + 1 among all rows, then drop the query itself by id; where
    # duplicates pushed it out of its list, the last column goes instead.
    ind, _ = exact_dense(X, np.ascontiguousarray(X[rows]), k + 1, n_threads, "auto")
    keep = ind != rows[:, None]
    keep[keep.all(axis=1), -1] = False
    return ind[keep].reshape(rows.shape[0], k)


class _FaissIVF:
    """Per-query probing of a FAISS ``IndexIVFFlat`` (engine ``"faiss-ivf"``).

    Each query scans the ``nprobe`` cells whose centroids are nearest to it.
    """

    name = "faiss-ivf"

    def __init__(self, Xf: np.ndarray, rng: np.random.Generator) -> None:
        t = tuning()
        n = Xf.shape[0]
        nlist = int(t.approx_cells_per_sqrt_n * np.sqrt(n))
        self.nlist = max(1, min(nlist, n // t.approx_min_points_per_cell))
        self.max_probe = self.nlist
        self.index = ivf_flat_index(Xf, rng, self.nlist)

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
        t = tuning()
        self.extra_candidates = t.extra_candidates
        n = Xf.shape[0]
        self.nlist = n_cells(n)
        self.centroids = train_centroids(Xf, self.nlist, rng, n_threads)
        n_near = min(t.cells_row_centroids, self.nlist)
        near_rows, _, _ = _core.fused_knn(
            self.centroids, Xf, n_near, self.extra_candidates, n_threads
        )
        cell = np.ascontiguousarray(near_rows[:, 0])
        self.cell = cell
        # How many rows of cell a have cell b among their nearest centroids.
        votes = np.bincount(
            (cell[:, None] * self.nlist + near_rows[:, 1:]).ravel(),
            minlength=self.nlist * self.nlist,
        ).reshape(self.nlist, self.nlist)
        del near_rows
        self.order, self.offsets = _core.cell_order(cell, self.nlist)
        self.Xs = np.ascontiguousarray(Xf[self.order])
        # Probe order of each cell: itself, then by votes, then by centroid
        # distance (ties by cell id).
        C = self.centroids.astype(np.float64)
        sq = (C * C).sum(axis=1)
        D = sq[:, None] + sq[None, :] - 2.0 * (C @ C.T)
        np.fill_diagonal(D, -np.inf)
        np.fill_diagonal(votes, np.iinfo(votes.dtype).max)
        self.max_probe = min(self.nlist, t.cells_max_probe)
        probes = np.empty((self.nlist, self.max_probe), dtype=np.int64)
        for a in range(self.nlist):
            probes[a] = np.lexsort((D[a], -votes[a]))[: self.max_probe]
        self.probes = probes

    def assign(self, A: np.ndarray, n_threads: int) -> np.ndarray:
        """Nearest centroid of every row of A."""
        return _core.nearest_centroids(A, self.centroids, 1.0, n_threads)

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
        q_order, q_offsets = _core.cell_order(np.ascontiguousarray(cell), self.nlist)
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
                rows, np.ascontiguousarray(Qf[qs]), kk, self.extra_candidates, 1
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


def answered_exactly(nq: int, target: float, **extra: Any) -> None:
    """Record an ``algorithm="approx"`` search that was answered exactly."""
    update_plan(
        requested="approx",
        recall=1.0,
        recall_stderr=0.0,
        recall_sample=0,
        recall_target=target,
        **extra,
    )
    record_recall(1.0, nq, False)


def approx_dense(
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
    t = tuning()
    n, d = X.shape
    nq = n if Q is None else Q.shape[0]
    if not index_worthwhile(n, nq):
        idx, dist = exact_dense(X, Q, k, n_threads, "auto")
        answered_exactly(nq, target)
        return idx, dist

    if engine == "auto" and t.approx_pruned_probes > 0:
        # Exact when the pruned search is about as cheap as the index.
        fraction = t.approx_pruned_probes / np.sqrt(n)
        found = pruned_knn(X, Q, k, n_threads, fraction * (2.0 if Q is None else 1.0))
        if found is not None:
            idx, dist, info = found
            set_plan(
                algorithm="pruned", n=n, n_queries=nq, d=d, k=k, dtype=str(X.dtype)
            )
            answered_exactly(nq, target, **info)
            return idx, dist
    if engine == "auto":
        engine = "cells"

    rng = np.random.default_rng(0)
    Xf = X if X.dtype == np.float32 else X.astype(np.float32)
    Qf = None if Q is None else (Q if Q.dtype == np.float32 else Q.astype(np.float32))
    self_slot = 1 if Q is None else 0
    n_cand = min(n, k + self_slot + t.approx_extra)
    timings: dict[str, float] = {}

    with faiss_threads(n_threads):
        t0 = time.perf_counter()
        index: Any = (
            _Cells(Xf, rng, n_threads) if engine == "cells" else _FaissIVF(Xf, rng)
        )
        t1 = time.perf_counter()
        timings["build_seconds"] = t1 - t0

        # Calibration: a random sample of the queries against the exact engine.
        m = min(nq, t.approx_sample)
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
            return per_query_recall(found, truth)

        if nprobe is None:
            # Beyond this many probes the exact engine costs less.
            limit = min(
                index.max_probe, max(1, int(t.approx_max_probe_share * index.nlist))
            )
            probe = 1
            per_query = sample_recall(probe)
            while per_query.mean() < target and probe < limit:
                probe = min(limit, _next_probe(probe))
                per_query = sample_recall(probe)
            source = "calibrated"
            if per_query.mean() < target:
                index.release()
                idx, dist = exact_dense(X, Q, k, n_threads, "auto")
                gave_up = f"recall {per_query.mean():.4f} at nprobe={probe}"
                answered_exactly(nq, target, index_gave_up=gave_up)
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
    set_plan(
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
    record_recall(recall, nq, True)
    return ind, dist
