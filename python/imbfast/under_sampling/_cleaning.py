"""Shared machinery of the cleaning samplers: neighbour lists and ENN passes.

Labels go to the C++ core as int codes (``np.unique(y, return_inverse=True)``),
so "ties to the smaller label" is "ties to the smaller code" whatever the
label type. Neighbour lists are kept in original sample ids: when samples are
removed, each list is filtered in C++, and because the L nearest samples of
a set, restricted to a subset, are the nearest samples of that subset, the
filtered lists stay exact. Only rows whose list became too short are searched
again.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from imblearn.utils import check_sampling_strategy
from scipy import sparse

from imbfast import _core
from imbfast.base import resolve_n_jobs, take_rows
from imbfast.neighbors import kneighbors, squared_kneighbors

# The pre-filter of edited nearest neighbours (see NeighbourTable.settled):
# rows per block of the local search, and the fewest majority rows for which
# it is worth its two extra searches.
PREFILTER_BLOCK_ROWS = 4096
PREFILTER_MIN_ROWS = 20_000


def label_codes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted classes and the int64 code of every sample."""
    classes, codes = np.unique(y, return_inverse=True)
    return classes, np.ascontiguousarray(codes.ravel(), dtype=np.int64)


def _classes_first_counts(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(y, return_index=True, return_counts=True)``.

    Integer labels of a narrow range (the usual 0/1 or a few codes) are
    counted instead of sorted: on 100k labels, 0.3 ms against 2 ms.
    """
    if y.ndim == 1 and y.size >= 65_536 and y.dtype.kind in "iu":
        lo, hi = int(y.min()), int(y.max())
        if hi - lo < 64:
            codes = (y - lo).astype(np.intp)
            counts = np.bincount(codes)
            present = np.flatnonzero(counts)
            first = np.array([np.argmax(codes == c) for c in present], dtype=np.intp)
            return (present + lo).astype(y.dtype), first, counts[present]
    return np.unique(y, return_index=True, return_counts=True)


def first_seen_minority(y: np.ndarray) -> Any:
    """The class ``min(Counter(y), key=...)`` picks: ties to the first seen.

    imbalanced-learn's ENN family, NCR, OSS and CNN find the minority this
    way (not with the sorted-label rule of ``sampling_strategy``).
    """
    classes, first, counts = _classes_first_counts(y)
    order = np.argsort(first, kind="stable")
    return classes[order[np.argmin(counts[order])]]


def classes_by_first_seen(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Classes in order of first appearance (``Counter(y)``'s order), counts."""
    classes, first, counts = _classes_first_counts(y)
    order = np.argsort(first, kind="stable")
    return classes[order], counts[order]


def targeted_codes(classes: np.ndarray, keys: Any) -> np.ndarray:
    """Boolean mask over the sorted classes: which ones are cleaned."""
    keys = list(keys)
    return np.array([c in keys for c in classes], dtype=bool)


def set_n_jobs(estimator: Any, n_jobs: int | None) -> None:
    """Pass n_jobs to a neighbours object, only when it has such a parameter."""
    get_params = getattr(estimator, "get_params", None)
    if get_params is not None and "n_jobs" in get_params():
        estimator.set_params(n_jobs=n_jobs)


def warn_emptied(sampler: Any, y: np.ndarray, y_kept: np.ndarray) -> None:
    """Report the classes a cleaning pass removed entirely."""
    gone = np.setdiff1d(np.unique(y), np.unique(y_kept))
    if gone.size:
        warnings.warn(
            f"{type(sampler).__name__} removed every sample of class(es) "
            f"{gone.tolist()}; the resampled data no longer contains them.",
            UserWarning,
            stacklevel=3,
        )


def _n_neighbors_error(k_total: int, n_fit: int, n_query: int) -> ValueError:
    # scikit-learn's message, which imbalanced-learn lets through.
    return ValueError(
        f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k_total}, "
        f"n_samples_fit = {n_fit}, n_samples = {n_query}"
    )


def drop_self(ind: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Remove each query's own id from its list (by id, not by position).

    Where exact duplicates pushed the query out of its own list, the last
    column goes instead: what is left equals a search that skips the query.
    """
    m, width = ind.shape
    keep = ind != rows[:, None]
    missing = keep.all(axis=1)
    keep[missing, -1] = False
    return np.ascontiguousarray(ind[keep].reshape(m, width - 1), dtype=np.int64)


class NeighbourTable:
    """Neighbour lists of samples among the samples still alive.

    Parameters
    ----------
    X : {ndarray, sparse matrix}
        All samples.
    width : int
        Neighbours kept per list; lists longer than what is asked for
        survive more removals before a row must be searched again.
    n_jobs : int or None
        Threads for the searches.
    algorithm : str, default="auto"
        The search engine (:func:`imbfast.neighbors.kneighbors`); with
        ``"approx"`` the lists are approximate (exactly ranked candidates).
    """

    def __init__(
        self, X: Any, width: int, n_jobs: int | None, algorithm: str = "auto"
    ) -> None:
        self.algorithm = algorithm
        self.X = X
        self.n = X.shape[0]
        self.width = int(width)
        self.n_jobs = n_jobs
        self.n_threads = resolve_n_jobs(n_jobs)
        self.sparse = sparse.issparse(X)
        self.alive = np.ones(self.n, dtype=bool)
        self.lists = np.full((self.n, self.width), -1, dtype=np.int64)
        self.counts = np.zeros(self.n, dtype=np.int64)
        self.searched = np.zeros(self.n, dtype=bool)
        self._stale = False
        self.n_searched = 0

    def remove(self, ids: np.ndarray) -> None:
        """Take samples out of the searched set."""
        if ids.size:
            self.alive[ids] = False
            self._stale = True

    def _search(self, rows: np.ndarray, k: int) -> None:
        alive_ids = np.flatnonzero(self.alive)
        n_alive = alive_ids.shape[0]
        if k > n_alive - 1:
            raise _n_neighbors_error(k + 1, n_alive, rows.shape[0])
        w = min(self.width, n_alive - 1)
        if n_alive == self.n and rows.shape[0] == self.n:
            # Every sample, among every sample: self is excluded by index.
            rows = np.arange(self.n)
            ind = kneighbors(self.X, w, n_jobs=self.n_jobs, algorithm=self.algorithm)
        else:
            X_alive = (
                self.X
                if n_alive == self.n
                else take_rows(self.X, alive_ids, self.n_threads)
            )
            query = take_rows(self.X, rows, self.n_threads)
            ind = kneighbors(
                X_alive,
                w + 1,
                query=query,
                n_jobs=self.n_jobs,
                algorithm=self.algorithm,
            )
            ind = drop_self(alive_ids[ind], rows)
        self.lists[rows, :w] = ind
        self.lists[rows, w:] = -1
        self.counts[rows] = w
        self.searched[rows] = True
        self.n_searched += rows.shape[0]

    def settled(self, rows: np.ndarray, others: np.ndarray, k: int) -> np.ndarray:
        """Which of ``rows`` certainly have no row of ``others`` among their k NN.

        ``rows`` are alive rows of one class (the majority), ``others`` every
        alive row of the other classes. The alive rows are cut into blocks of
        nearby rows (see ``_local_blocks``); a row's k-th neighbour
        distance within its block is an upper bound of its k-th distance
        among all alive rows. When its nearest row of ``others`` is strictly
        farther than that bound, all its k nearest neighbours are of its own
        class, whatever the ties: edited nearest neighbours keeps it (for
        ``kind_sel`` "all" and "mode" alike) without searching it. The same
        rule as the Dask path's pre-filter, on one machine.

        Returns
        -------
        settled : ndarray of bool, shape (len(rows),)
        """
        settled = np.zeros(rows.shape[0], dtype=bool)
        if rows.size < PREFILTER_MIN_ROWS or others.size == 0:
            return settled
        alive_ids = np.flatnonzero(self.alive)
        X = self.X
        bound = np.full(self.n, np.inf)
        for block in self._local_blocks(alive_ids):
            if block.shape[0] <= k:
                continue
            _, dist = squared_kneighbors(
                take_rows(X, block, self.n_threads),
                k,
                n_threads=self.n_threads,
                algorithm=self.algorithm,
            )
            bound[block] = dist[:, k - 1]
        _, nearest_other = squared_kneighbors(
            take_rows(X, others, self.n_threads),
            1,
            query=take_rows(X, rows, self.n_threads),
            n_threads=self.n_threads,
        )
        return nearest_other[:, 0] > bound[rows]

    def _local_blocks(self, ids: np.ndarray) -> list[np.ndarray]:
        """``ids`` cut into blocks of nearby rows, about PREFILTER_BLOCK_ROWS each.

        The blocks are the Voronoi cells of random pivot rows (fixed seed),
        cells larger than two blocks cut by id: a row's neighbours within
        its cell are nearly its nearest overall, so the bound is tight.
        """
        n_cells = ids.shape[0] // PREFILTER_BLOCK_ROWS
        if n_cells <= 1:
            return [ids]
        rng = np.random.default_rng(0)
        pivots = np.sort(rng.choice(ids, n_cells, replace=False))
        cell, _ = squared_kneighbors(
            take_rows(self.X, pivots, self.n_threads),
            1,
            query=take_rows(self.X, ids, self.n_threads),
            n_threads=self.n_threads,
        )
        order = np.argsort(cell[:, 0], kind="stable")
        bounds = np.flatnonzero(np.diff(cell[order, 0])) + 1
        blocks = []
        for members in np.split(ids[order], bounds):
            pieces = max(1, members.shape[0] // PREFILTER_BLOCK_ROWS)
            blocks.extend(np.array_split(members, pieces))
        return blocks

    def neighbours(self, rows: np.ndarray, k: int) -> np.ndarray:
        """The (len(rows), k) nearest alive neighbours of ``rows``, nearest first."""
        if self._stale:
            self.counts = _core.compact_neighbors(
                self.lists, self.alive, self.n_threads
            )
            self._stale = False
        need = rows[~self.searched[rows] | (self.counts[rows] < k)]
        if need.size:
            self._search(need, k)
        return np.ascontiguousarray(self.lists[rows, :k])


class ObjectNeighbours:
    """Neighbour lists from a user's k-NN object (imbalanced-learn's duck typing).

    The object is refitted on the alive samples whenever they changed; the
    query row is removed from its own list by id, not by dropping column 0.
    ``pass_k`` asks for ``k + 1`` neighbours explicitly; otherwise the
    object's own ``n_neighbors`` (which counts the sample itself) is used.
    """

    def __init__(self, X: Any, estimator: Any, pass_k: bool, n_threads: int) -> None:
        self.X = X
        self.n = X.shape[0]
        self.estimator = estimator
        self.pass_k = pass_k
        self.n_threads = n_threads
        self.alive = np.ones(self.n, dtype=bool)
        self._fitted_on: np.ndarray | None = None

    def remove(self, ids: np.ndarray) -> None:
        """Take samples out of the searched set."""
        if ids.size:
            self.alive[ids] = False
            self._fitted_on = None

    def neighbours(self, rows: np.ndarray, k: int) -> np.ndarray:
        """The (len(rows), k) nearest alive neighbours of ``rows``."""
        if self._fitted_on is None:
            self._fitted_on = np.flatnonzero(self.alive)
            X_fit = (
                self.X
                if self._fitted_on.shape[0] == self.n
                else take_rows(self.X, self._fitted_on, self.n_threads)
            )
            self.estimator.fit(X_fit)
        query = take_rows(self.X, rows, self.n_threads)
        if self.pass_k:
            ind = self.estimator.kneighbors(
                query, n_neighbors=k + 1, return_distance=False
            )
        else:
            ind = self.estimator.kneighbors(query, return_distance=False)
        ind = self._fitted_on[np.asarray(ind, dtype=np.int64)]
        return np.ascontiguousarray(drop_self(ind, rows)[:, :k])


def enn_pass(
    table: NeighbourTable | ObjectNeighbours,
    ids: np.ndarray,
    codes: np.ndarray,
    n_classes: int,
    targeted: np.ndarray,
    k: int,
    kind: str,
    n_threads: int,
) -> np.ndarray:
    """One edited-nearest-neighbours pass over the samples ``ids``.

    Returns the kept ids grouped by class (sorted labels), ascending within
    a class: imbalanced-learn's output order.
    """
    ids_codes = codes[ids]
    order = np.argsort(ids_codes, kind="stable")
    ids_sorted = ids[order]
    voting = targeted[ids_codes[order]]
    rows = ids_sorted[voting]
    votes = np.ones(rows.shape[0], dtype=bool)
    search = np.ones(rows.shape[0], dtype=bool)
    if rows.size and isinstance(table, NeighbourTable) and not table.sparse:
        # Majority rows far from every other class are kept unsearched.
        majority = int(np.argmax(np.bincount(ids_codes, minlength=n_classes)))
        if targeted[majority]:
            maj = np.flatnonzero(codes[rows] == majority)
            others = ids[ids_codes != majority]
            search[maj[table.settled(rows[maj], others, k)]] = False
    if search.any():
        queried = rows[search]
        nbrs = table.neighbours(queried, k)
        votes[search] = _core.enn_keep(
            queried, nbrs, k, codes, n_classes, kind, n_threads
        )
    keep = np.ones(ids_sorted.shape[0], dtype=bool)
    keep[voting] = votes
    return ids_sorted[keep]


def resolve_keys(sampling_strategy: Any, y: np.ndarray) -> list:
    """The classes a cleaning pass targets on ``y`` (imbalanced-learn's rule)."""
    return list(check_sampling_strategy(sampling_strategy, y, "clean-sampling").keys())


def int_neighbors(value: Any) -> bool:
    """Whether a ``n_neighbors`` parameter is a count rather than an object."""
    return isinstance(value, numbers.Integral)
