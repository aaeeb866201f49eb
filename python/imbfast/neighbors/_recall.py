"""Recall of the approximate searches: per-search estimates and block totals.

A :class:`RecallTracker` collects the estimated recalls of the approximate
searches run inside a ``with`` block (the samplers' ``neighbors_recall_``);
the trackers active in a thread or task are in a context variable, never a
module global.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import numpy as np


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


def record_recall(recall: float, n_queries: int, indexed: bool) -> None:
    """Report one search to the active :class:`RecallTracker` objects.

    Parameters
    ----------
    recall : float
        The search's estimated recall (1.0 when it was exact).
    n_queries : int
        Its number of queries (the weight of ``recall``).
    indexed : bool
        Whether an index answered it (counted in ``n_indexed``).

    Nothing is recorded inside :func:`untracked`.
    """
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


def per_query_recall(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Fraction of each row of ``truth`` present in the same row of ``found``.

    Parameters
    ----------
    found : ndarray of shape (n_queries, k_found)
        The neighbour lists judged.
    truth : ndarray of shape (n_queries, k)
        The exact neighbour lists.

    Returns
    -------
    recall : ndarray of shape (n_queries,)
    """
    hits = (found[:, :, None] == truth[:, None, :]).any(axis=1)
    return hits.mean(axis=1)
