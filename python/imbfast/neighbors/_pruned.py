"""Pruned exact k-NN: k-means cells and triangle-inequality bounds.

The rows are cut into ``nlist`` cells by FAISS k-means (trained on a sample;
every row then assigned to its nearest centroid by the fused C++ kernel),
and each cell gets its exact radius ``r_j``: the largest distance, in
double, from its centroid ``c_j`` to one of its rows. For a query ``q`` and
any row ``x`` of cell ``j`` the triangle inequality gives
``||q - x|| >= ||q - c_j|| - r_j``. The search then runs in two passes over
the queries grouped by cell (the queries of one cell form a block, blocks
run on the threads):

1. Each block searches its own cell (and the nearest other cells when its
   own holds fewer than k rows) with the fused exact kernel. The k-th
   distance found, ``u_q``, bounds the true k-th distance from above.
2. A cell ``j`` can hold a neighbour of ``q`` only if
   ``||q - c_j|| - r_j <= u_q``. Cells are first screened for the whole
   block with ``||c_a - c_j|| - ||q - c_a|| - r_j`` (centroid distances
   only), then per query with ``||q - c_j||`` itself. Queries with cells left
   search the union of their block's remaining cells, and the two lists are
   merged by (squared distance, index).

Every bound is computed in double from the original values and loosened by
a relative margin far above its rounding error, so a cell is skipped only
when none of its rows can be among the k nearest, ties included (a row at
exactly the k-th distance with a lower index is never skipped). Each pass
is the fused kernel's exact search over rows ordered by their original
index, so the answer is the exact brute-force one, ties by the lower index.

The work is counted before the second pass runs: :func:`pruned_knn` can be
asked to give up (return ``None``) when the pruned search would compute
more than a given fraction of the distances of the brute force, which is
how ``algorithm="auto"`` tries it without risking much (the first pass
and the partition cost about ``3 / sqrt(n)`` of the brute force).

Memory: the float32 copy of the input (when it is float64 or needs
scaling) while partitioning, the cell, order, fine cell and distance to the
centroid of every row (O(n)), an ``nlist x nlist`` table of centroid
distances, O(n_queries * k) lists, the second pass's fine-cell list of every
block, and per running block the rows it gathers. Measured at 10M x 32
float32 (1000 clusters, k=4): 3.5 GB peak RSS including the 1.28 GB input,
150 s on 2 threads (build 36 s, fine cells 11 s, first pass 59 s, second
pass 44 s), 0.074% of the brute force's distances.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from imbfast import _core

# Cells per sqrt(n), at least this many rows per cell, and the k-means
# training sample (rows per cell) and iterations.
CELLS_PER_SQRT_N = 1.0
MIN_ROWS_PER_CELL = 32
TRAIN_PER_CELL = 20
KMEANS_ITER = 10
# Fine cells: rows per fine cell aimed at, and at most this many per cell.
FINE_ROWS = 32
FINE_MAX = 32
# Relative margin of every bound: far above the rounding error of sums of
# squares in double (about d * 1e-16), far below any pruning that matters.
MARGIN = 1e-9
# Absolute slack of the bounds (in the scaled units, where coordinates are
# below 2): covers values that underflowed when scaled.
ABS_SLACK = 1e-200
# Extra candidates of the fused kernel's float32 pass.
FUSED_EXTRA = 4
# With a work budget, the first pass gives up once this many blocks (taken
# in random order) predict more work than the budget.
_SAMPLE_BLOCKS = 8
# Elements of the temporaries of one bound test (about 8 MB each).
_NEEDED_CHUNK = 1 << 20
# Rows per chunk when computing distances to the centroids.
_CHUNK = 1 << 16


class Partition:
    """A k-means partition of the rows of X with exact cell radii.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32 or float64, C-contiguous
        The rows searched.
    n_threads : int
        Threads for the assignment.
    seed : int, default=0
        Seed of the training sample and of k-means.
    """

    def __init__(
        self, X: np.ndarray, n_threads: int, scale: float = 1.0, seed: int = 0
    ) -> None:
        import faiss

        n, d = X.shape
        # The partition works on a float32 copy of the scaled rows (on X
        # itself when it is float32 and needs no scaling).
        self.scale = scale
        Xf = self._float32(X)
        nlist = max(
            1, min(int(CELLS_PER_SQRT_N * math.sqrt(n)), n // MIN_ROWS_PER_CELL)
        )
        if nlist > 1:
            rng = np.random.default_rng(seed)
            n_train = min(n, TRAIN_PER_CELL * nlist)
            train = np.ascontiguousarray(
                Xf[np.sort(rng.choice(n, n_train, replace=False))]
            )
            saved = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(n_threads)
            try:
                km = faiss.Kmeans(
                    d,
                    nlist,
                    niter=KMEANS_ITER,
                    seed=seed + 1234,
                    min_points_per_centroid=1,
                    max_points_per_centroid=TRAIN_PER_CELL,
                )
                km.train(train)
            finally:
                faiss.omp_set_num_threads(saved)
            centroids = np.ascontiguousarray(km.centroids, dtype=np.float32)
        else:
            centroids = Xf.mean(axis=0, dtype=np.float64)[None, :].astype(np.float32)

        self.nlist = nlist
        self.centroids = centroids
        # Bounds are computed on data scaled by a power of two (exact) that
        # brings the largest coordinate near 1: no overflow or underflow.
        self.C = centroids.astype(np.float64)
        self.cell = self._nearest(Xf, n_threads)
        del Xf
        self.row_dist = centroid_distances(X, self.C, self.cell, scale)
        self.order = np.argsort(self.cell, kind="stable")
        self.counts = np.bincount(self.cell, minlength=nlist)
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)])
        # Exact radii, loosened by the margin; an empty cell is never searched.
        self.radius = np.full(nlist, -np.inf)
        full = np.flatnonzero(self.counts)
        sorted_dist = self.row_dist[self.order]
        self.radius[full] = np.maximum.reduceat(sorted_dist, self.offsets[full]) * (
            1.0 + MARGIN
        )
        sq = (self.C * self.C).sum(axis=1)
        D2 = sq[:, None] + sq[None, :] - 2.0 * (self.C @ self.C.T)
        # Centroid distances are only used to screen cells for a block;
        # lowering them by the margin keeps the screen conservative.
        slack = MARGIN * (sq[:, None] + sq[None, :]) + ABS_SLACK
        self.D = np.sqrt(np.maximum(D2 - slack, 0.0))
        np.fill_diagonal(self.D, 0.0)

        # Fine cells: each cell split around up to FINE_MAX pivots.
        self.fine_centres: list[np.ndarray] = [np.empty((0, d))] * nlist
        self.fine_radius: list[np.ndarray] = [np.empty(0)] * nlist
        self.fine_ids: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * nlist
        self.fine_label: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * nlist

    def split(self, X: np.ndarray, c: int) -> None:
        """Split cell c into fine cells with exact radii.

        ``m`` rows of the cell (evenly spaced in its order, which is the
        original order: a deterministic, density-following sample) are the
        first centres; rows go to the nearest centre, each centre moves to
        the mean of its rows and rows are assigned once more (one k-means
        step). A fine cell's radius is the largest distance from its centre
        to one of its rows (double, loosened by the margin).
        """
        ids = self.order[self.offsets[c] : self.offsets[c + 1]]
        count = ids.shape[0]
        m = int(min(FINE_MAX, max(1, count // FINE_ROWS)))
        R = X[ids].astype(np.float64) * self.scale
        if m == 1:
            label = np.zeros(count, dtype=np.int64)
        else:
            centres = R[np.linspace(0, count - 1, m).astype(np.int64)]
            for _ in range(2):
                c2 = np.einsum("ij,ij->i", centres, centres)
                label = np.argmin(c2[None, :] - 2.0 * (R @ centres.T), axis=1)
                centres, _ = _group_means(R, label)
            label = np.unique(label, return_inverse=True)[1]
        centres, order = _group_means(R, label)
        m = centres.shape[0]
        sizes = np.bincount(label, minlength=m)
        diff = R - centres[label]
        dist = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        radius = np.maximum.reduceat(dist[order], bounds[:-1])
        self.fine_centres[c] = centres
        self.fine_radius[c] = radius * (1.0 + MARGIN)
        self.fine_label[c] = label
        # Original ids grouped by fine cell, ascending within each.
        self.fine_ids[c] = ids[order]

    def gather_fine(self) -> None:
        """All fine cells in flat arrays, once every cell is split.

        Fine cells of cell c are ``fine_offsets[c]:fine_offsets[c + 1]`` of
        ``F_centres`` / ``F_radius``; the ids of fine cell f are
        ``fine_rows[F_start[f]:F_start[f + 1]]``.
        """
        sizes = [np.bincount(lab) if lab.size else lab for lab in self.fine_label]
        counts = np.array([len(z) for z in sizes], dtype=np.int64)
        self.fine_offsets = np.concatenate([[0], np.cumsum(counts)])
        d = self.C.shape[1]
        self.F_centres = np.concatenate(
            [np.reshape(z, (-1, d)) for z in self.fine_centres]
        )
        self.F_radius = np.concatenate(self.fine_radius)
        self.F_start = np.concatenate(
            [[0], np.cumsum(np.concatenate(sizes).astype(np.int64))]
        )
        self.fine_rows = np.concatenate(self.fine_ids)
        # The flat arrays replace the per-cell lists (labels stay per cell).
        self.fine_ids, self.fine_centres, self.fine_radius = [], [], []

    def _float32(self, A: np.ndarray) -> np.ndarray:
        if self.scale == 1.0:
            return A if A.dtype == np.float32 else A.astype(np.float32)
        out = np.empty(A.shape, dtype=np.float32)
        for lo in range(0, A.shape[0], _CHUNK):
            out[lo : lo + _CHUNK] = A[lo : lo + _CHUNK] * self.scale
        return out

    def assign(self, A: np.ndarray, n_threads: int) -> np.ndarray:
        """Nearest centroid (float32 search) of every scaled row of A."""
        return self._nearest(self._float32(A), n_threads)

    def _nearest(self, Af: np.ndarray, n_threads: int) -> np.ndarray:
        ind, _, _ = _core.fused_knn(self.centroids, Af, 1, FUSED_EXTRA, n_threads)
        return np.ascontiguousarray(ind[:, 0])

    def rows_of(self, cells: np.ndarray) -> np.ndarray:
        """Original ids, ascending, of the rows in ``cells``."""
        if cells.size == 1:
            c = int(cells[0])
            return self.order[self.offsets[c] : self.offsets[c + 1]]
        ids = np.concatenate(
            [self.order[self.offsets[c] : self.offsets[c + 1]] for c in cells]
        )
        ids.sort()
        return ids


def _group_means(R: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means of the rows of R per label (labels without rows dropped), and
    the stable order of the rows by label."""
    order = np.argsort(label, kind="stable")
    sizes = np.bincount(label)
    full = sizes > 0
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[full]
    sums = np.add.reduceat(R[order], starts, axis=0)
    return sums / sizes[full, None], order


def centroid_distances(
    A: np.ndarray, C: np.ndarray, cell: np.ndarray, scale: float
) -> np.ndarray:
    """Distance, in double, from every scaled row of A to its cell's centroid."""
    out = np.empty(A.shape[0])
    for lo in range(0, A.shape[0], _CHUNK):
        hi = min(A.shape[0], lo + _CHUNK)
        diff = A[lo:hi].astype(np.float64) * scale - C[cell[lo:hi]]
        out[lo:hi] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def _needed(
    Qc: np.ndarray, q2: np.ndarray, Cc: np.ndarray, radius: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Which (query, centre) pairs pass ``||q - c|| - r <= u_q``.

    Queries and centres are given relative to the same point (the block's
    centroid) so the expansion ``|q|^2 + |c|^2 - 2<q, c>`` loses little;
    its rounding error is covered by the margin. Compared squared:
    ``||q - c||^2 - MARGIN * (|q|^2 + |c|^2) <= (u_q + r)^2``.
    """
    c2 = (1.0 - MARGIN) * np.einsum("ij,ij->i", Cc, Cc) - ABS_SLACK
    out = np.empty((Qc.shape[0], Cc.shape[0]), dtype=bool)
    step = max(1, _NEEDED_CHUNK // max(1, Cc.shape[0]))  # bounded temporaries
    for lo in range(0, Qc.shape[0], step):
        hi = min(Qc.shape[0], lo + step)
        lhs = Qc[lo:hi] @ Cc.T
        lhs *= -2.0
        lhs += (1.0 - MARGIN) * q2[lo:hi, None]
        lhs += c2[None, :]
        reach = u[lo:hi, None] + radius[None, :]
        reach *= reach
        np.less_equal(lhs, reach, out=out[lo:hi])
    return out


def _power_of_two_scale(arrays: np.ndarray | tuple[np.ndarray, ...]) -> float:
    """1.0, or 2**-e bringing the largest absolute value into [1, 2) (or
    as near as a double allows, for subnormal data).

    Data whose largest value is within 2**±40 are used as they are (no
    copy): their squares stay far from float32's and double's limits.
    """
    arrays = arrays if isinstance(arrays, tuple) else (arrays,)
    top = max(
        (max(abs(float(A.max())), abs(float(A.min()))) for A in arrays if A.size),
        default=0.0,
    )
    if top == 0.0 or 2.0**-40 <= top <= 2.0**40:
        return 1.0
    # Subnormal data would need more than 2**1023: stop at 2**1000 (their
    # squares are then far above double's underflow).
    return math.ldexp(1.0, min(-math.frexp(top)[1] + 1, 1000))


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(starts[i], stops[i])`` over i."""
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return _NONE
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(total) + shift


def _fine_of(part: Partition, J: np.ndarray) -> np.ndarray:
    """Indices of the fine cells of the cells J."""
    return _ranges(part.fine_offsets[J], part.fine_offsets[J + 1])


def _union(part: Partition, fine: np.ndarray) -> np.ndarray:
    """Original ids, ascending, of the rows of the fine cells ``fine``."""
    rows = part.fine_rows[_ranges(part.F_start[fine], part.F_start[fine + 1])]
    rows.sort()
    return rows


_NONE = np.empty(0, dtype=np.int64)


def _plan_by_queries(
    part: Partition,
    a: int,
    J: np.ndarray,
    Qc: np.ndarray,
    q2: np.ndarray,
    u: np.ndarray,
    reach: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows the block's queries must still search, and which queries need them.

    Cells and fine cells are tested query by query (queries not from X).
    """
    J = J[_needed(Qc, q2, part.C[J] - part.C[a], part.radius[J], u).any(axis=0)]
    if not J.size:
        return _NONE, _NONE
    fine = _fine_of(part, J)
    centres = part.F_centres[fine] - part.C[a]
    radius = part.F_radius[fine]
    # Screened for the whole block by the distance to the block's centroid.
    to_centre = np.sqrt(np.einsum("ij,ij->i", centres, centres)) * (1.0 - MARGIN)
    keep = np.flatnonzero(to_centre - radius <= reach)
    need = _needed(Qc, q2, centres[keep], radius[keep], u)
    needy = np.flatnonzero(need.any(axis=1))
    if not needy.size:
        return _NONE, _NONE
    return fine[keep[need[needy].any(axis=0)]], needy


def _plan_by_fine_cells(
    part: Partition,
    a: int,
    J: np.ndarray,
    Qc: np.ndarray,
    q2: np.ndarray,
    u: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`_plan_by_queries`, for queries that are the rows of cell a.

    The queries are grouped by their own fine cell g (centre s_g, radius
    r_g, largest bound U_g): a cell or fine cell (c, r) can matter to one of
    them only if ``||s_g - c|| - r - r_g <= U_g``, a test per group instead
    of per query; the queries are then tested against the fine cells some
    group kept.
    """
    own = slice(part.fine_offsets[a], part.fine_offsets[a + 1])
    S = part.F_centres[own] - part.C[a]
    s2 = np.einsum("ij,ij->i", S, S)
    U = np.zeros(S.shape[0])
    np.maximum.at(U, part.fine_label[a], u)
    U += part.F_radius[own]
    J = J[_needed(S, s2, part.C[J] - part.C[a], part.radius[J], U).any(axis=0)]
    if not J.size:
        return _NONE, _NONE
    fine = _fine_of(part, J)
    centres = part.F_centres[fine] - part.C[a]
    radius = part.F_radius[fine]
    by_group = _needed(S, s2, centres, radius, U)
    label = part.fine_label[a]
    order = np.argsort(label, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(label))])
    needy_parts = []
    used = np.zeros(centres.shape[0], dtype=bool)
    for g in np.flatnonzero(by_group.any(axis=1)):
        cand = np.flatnonzero(by_group[g])
        pos = order[bounds[g] : bounds[g + 1]]
        need = _needed(Qc[pos], q2[pos], centres[cand], radius[cand], u[pos])
        hit = need.any(axis=1)
        if hit.any():
            needy_parts.append(pos[hit])
            used[cand[need[hit].any(axis=0)]] = True
    if not needy_parts:
        return _NONE, _NONE
    needy = np.sort(np.concatenate(needy_parts))
    return fine[used], needy


def _drop_self(
    ind: np.ndarray, dist: np.ndarray, qs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Drop each query's own id from its k + 1 nearest; where duplicates
    pushed it out of the list, the last entry goes instead."""
    keep = ind != qs[:, None]
    keep[keep.all(axis=1), -1] = False
    m, width = ind.shape
    return ind[keep].reshape(m, width - 1), dist[keep].reshape(m, width - 1)


def _merge(
    idx_a: np.ndarray, dist_a: np.ndarray, idx_b: np.ndarray, dist_b: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest (distance, index) of two disjoint lists per row."""
    idx = np.concatenate([idx_a, idx_b], axis=1)
    dist = np.concatenate([dist_a, dist_b], axis=1)
    order = np.lexsort((idx, dist), axis=1)[:, :k]
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(
        dist, order, axis=1
    )


def _run(fn: Callable[[int], None], items: list[int], n_threads: int) -> None:
    """fn over items on n_threads threads, BLAS single-threaded inside."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        if n_threads == 1 or len(items) < 2:
            for item in items:
                fn(item)
            return
        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(fn, items))


def pruned_knn(
    X: np.ndarray,
    Q: np.ndarray | None,
    k: int,
    n_threads: int,
    max_work: float | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]] | None:
    """Exact k-NN of Q (or of X itself, self excluded) with cell pruning.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32 or float64, C-contiguous
        The rows searched (finite).
    Q : ndarray of shape (n_queries, d) of X's dtype, or None
        The queries; ``None`` queries the rows of X, each excluding itself.
    k : int
        Neighbours per query (``k <= n - 1`` when Q is None).
    n_threads : int
        Threads.
    max_work : float, default=None
        Give up and return ``None`` when the distances the search would
        compute exceed this fraction of the brute force's (``n * n_queries``,
        halved for all pairs, which the brute force computes once per pair).

    Returns
    -------
    (indices, sq_distances, info) or None
        Indices (int64) and exact squared distances (float64), shape
        (n_queries, k), nearest first, ties by the lower index; ``info``
        holds ``nlist``, ``work_fraction`` (distances computed over
        ``n * n_queries``), ``n_second_pass`` (queries that searched cells
        beyond their own) and ``build_seconds``.
    """
    import time

    t0 = time.perf_counter()
    n, _ = X.shape
    self_query = Q is None
    nq = n if self_query else Q.shape[0]
    scale = _power_of_two_scale(X if self_query else (X, Q))
    part = Partition(X, n_threads, scale)
    if self_query:
        q_cell = part.cell
        q_dist = part.row_dist
        Qsrc = X
    else:
        q_cell = part.assign(Q, n_threads)
        q_dist = centroid_distances(Q, part.C, q_cell, scale)
        Qsrc = Q
    q_order = np.argsort(q_cell, kind="stable")
    q_offsets = np.concatenate(
        [[0], np.cumsum(np.bincount(q_cell, minlength=part.nlist))]
    )
    build_seconds = time.perf_counter() - t0

    out_idx = np.empty((nq, k), dtype=np.int64)
    out_dist = np.empty((nq, k), dtype=np.float64)
    # Second-pass plans per block: (query ids, fine cells to search).
    plans: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    work = np.zeros(part.nlist)

    total = float(n) * float(nq)
    # With max_work, the first pass stops as soon as the work counted so far
    # exceeds the budget (brute force: each pair once for all pairs).
    budget = None
    if max_work is not None:
        budget = max_work * (total / 2 if self_query else total)
    gave_up: list[int] = []
    seen = [0, 0]  # blocks and queries done
    lock = threading.Lock()

    def first_pass(a: int) -> None:
        if gave_up:
            return
        qs = q_order[q_offsets[a] : q_offsets[a + 1]]
        Qb = np.ascontiguousarray(Qsrc[qs])
        # The own cell's rows among themselves (each pair once, self
        # excluded by index) when it holds more than k rows; otherwise the
        # own cell and the nearest others until there are enough rows.
        need_rows = k + 1 if self_query else k
        if self_query and part.counts[a] >= need_rows:
            first = np.array([a])
            ind, dist, _ = _core.fused_knn(Qb, None, k, FUSED_EXTRA, 1)
            out_idx[qs] = qs[ind]
            out_dist[qs] = dist
            done = qs.shape[0] * qs.shape[0] // 2
        else:
            if part.counts[a] >= need_rows:
                first = np.array([a])
            else:
                others = np.argsort(part.D[a], kind="stable")
                others = others[others != a]
                enough = np.searchsorted(
                    np.cumsum(part.counts[others]), need_rows - part.counts[a]
                )
                first = np.concatenate([[a], others[: int(enough) + 1]])
            ids = part.rows_of(first)
            ind, dist, _ = _core.fused_knn(
                np.ascontiguousarray(X[ids]), Qb, need_rows, FUSED_EXTRA, 1
            )
            ind = ids[ind]
            if self_query:
                ind, dist = _drop_self(ind, dist, qs)
            out_idx[qs] = ind
            out_dist[qs] = dist
            done = int(ids.shape[0]) * qs.shape[0]
        # Upper bound on each query's k-th distance, loosened by the margin.
        u = np.sqrt(dist[:, -1]) * scale * (1.0 + MARGIN)
        # ||q - c_j|| >= ||c_a - c_j|| - ||q - c_a||: screen for the block.
        reach = float((q_dist[qs] + u).max()) * (1.0 + MARGIN)
        screen = part.D[a] - part.radius <= reach
        screen[first] = False
        J = np.flatnonzero(screen)
        if J.size:
            Qc = Qb.astype(np.float64) * scale - part.C[a]
            q2 = np.einsum("ij,ij->i", Qc, Qc)
            if self_query:
                cells, needy = _plan_by_fine_cells(part, a, J, Qc, q2, u)
            else:
                cells, needy = _plan_by_queries(part, a, J, Qc, q2, u, reach)
            if needy.size:
                plans[a] = (qs[needy], cells)
                rows = int((part.F_start[cells + 1] - part.F_start[cells]).sum())
                done += needy.size * rows
        work[a] = done
        if budget is None:
            return
        with lock:
            seen[0] += 1
            seen[1] += qs.shape[0]
            spent = float(work.sum())
            # The total can only grow; and once a few random blocks are in,
            # their work per query predicts the rest (giving up is safe:
            # the caller answers by brute force).
            if spent > budget or (
                seen[0] >= _SAMPLE_BLOCKS and spent / seen[1] * nq > budget
            ):
                gave_up.append(a)

    _run(lambda c: part.split(X, c), np.flatnonzero(part.counts).tolist(), n_threads)
    part.gather_fine()
    t1 = time.perf_counter()
    blocks = np.flatnonzero(np.diff(q_offsets))
    if budget is not None:  # random order: the first blocks are a fair sample
        blocks = np.random.default_rng(0).permutation(blocks)
    _run(first_pass, blocks.tolist(), n_threads)
    t2 = time.perf_counter()
    if gave_up:
        return None
    work_fraction = float(work.sum()) / total

    def second_pass(a: int) -> None:
        qs, cells = plans[a]
        ids = _union(part, cells)
        k2 = min(k, ids.shape[0])
        # Only rows within the first pass's k-th distance can enter a list
        # (ties included): the kernel starts its thresholds there.
        ind, dist, _ = _core.fused_knn(
            np.ascontiguousarray(X[ids]),
            np.ascontiguousarray(Qsrc[qs]),
            k2,
            FUSED_EXTRA,
            1,
            np.ascontiguousarray(out_dist[qs, -1]),
        )
        found = np.where(ind >= 0, ids[np.maximum(ind, 0)], -1)
        out_idx[qs], out_dist[qs] = _merge(out_idx[qs], out_dist[qs], found, dist, k)

    n_second = sum(plan[0].shape[0] for plan in plans.values())
    _run(second_pass, sorted(plans), n_threads)
    t3 = time.perf_counter()

    info = {
        "nlist": part.nlist,
        "work_fraction": work_fraction,
        "n_second_pass": int(n_second),
        "build_seconds": build_seconds,
        "split_seconds": t1 - t0 - build_seconds,
        "first_pass_seconds": t2 - t1,
        "second_pass_seconds": t3 - t2,
    }
    return out_idx, out_dist, info
