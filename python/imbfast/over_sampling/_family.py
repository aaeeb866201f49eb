"""What the SMOTE variants share: neighbour tables, draws and the output.

Every variant ends the same way: for each class, a list of base rows and
neighbour rows of X (global indices), interpolation steps and, for
borderline-2, a per-row scale of the difference. :func:`assemble` turns
those into the resampled X and y, through the C++ kernel for dense input
and with imbalanced-learn's sparse arithmetic for sparse input.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
from imblearn.utils import check_neighbors_object
from scipy import sparse

from imbfast import _core
from imbfast.base import take_rows
from imbfast.neighbors import (
    NearestNeighbors,
    algorithm_for,
    neighbors_excluding_self,
)


def neighbours_estimator(
    name: str, value: Any, n_jobs: int | None, neighbors: str
) -> Any:
    """An imbfast searcher for an int (self counted), else a clone of the object."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return NearestNeighbors(
            n_neighbors=int(value) + 1,
            n_jobs=n_jobs,
            algorithm=algorithm_for(neighbors),
        )
    return check_neighbors_object(name, value, additional_neighbor=1)


def too_few_rows(k_total: int, n_fit: int, n_query: int) -> ValueError:
    """scikit-learn's message for a search asking for more rows than exist."""
    return ValueError(
        f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k_total}, "
        f"n_samples_fit = {n_fit}, n_samples = {n_query}"
    )


def drop_self(ind: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Remove each query's own index from its neighbour list.

    ``rows[i]`` is the index of query i among the searched rows. Where exact
    duplicates pushed the query out of its own list, the last column goes
    instead, so the table has one column less either way.
    """
    m, width = ind.shape
    keep = ind != rows[:, None]
    missing = keep.all(axis=1)
    keep[missing, -1] = False
    return np.ascontiguousarray(ind[keep].reshape(m, width - 1), dtype=np.int64)


def neighbours_of_rows(
    nn: Any, X: Any, rows: np.ndarray, n_threads: int, n_neighbors: int | None = None
) -> np.ndarray:
    """Neighbours among all rows of X of the rows ``rows`` of X, self excluded.

    ``nn`` counts the query itself in its ``n_neighbors`` (imbalanced-learn's
    convention, which drops the first column); here the query is removed by
    index. ``n_neighbors`` (same convention) overrides ``nn.n_neighbors``
    for an imbfast :class:`~imbfast.neighbors.NearestNeighbors`. Returns an
    int64 table of shape (len(rows), n_neighbors - 1) holding row indices
    of X.

    Searching ``k + 1`` and dropping self by index gives the ``k`` nearest
    rows other than the query, ordered by (distance, index), so the first
    ``j`` columns of a wider table are the narrower table exactly.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if n_neighbors is not None and n_neighbors != int(nn.n_neighbors):
        if not isinstance(nn, NearestNeighbors):
            raise TypeError("n_neighbors can only override an imbfast searcher")
    else:
        n_neighbors = int(nn.n_neighbors)
    k_total = int(n_neighbors)
    if k_total > X.shape[0]:
        raise too_few_rows(k_total, X.shape[0], rows.shape[0])
    if rows.shape[0] == 0:
        return np.empty((0, k_total - 1), dtype=np.int64)
    if (
        k_total == int(nn.n_neighbors)
        and rows.shape[0] == X.shape[0]
        and np.array_equal(rows, np.arange(X.shape[0]))
    ):
        return class_neighbours(nn, X)
    nn.fit(X)
    query = take_rows(X, rows, n_threads)
    if k_total == int(nn.n_neighbors):
        found = nn.kneighbors(query, return_distance=False)
    else:
        found = nn.kneighbors(query, n_neighbors=k_total, return_distance=False)
    return drop_self(np.asarray(found, dtype=np.int64), rows)


def same_searcher(a: Any, b: Any) -> bool:
    """Whether two searchers are imbfast ones differing only in ``n_neighbors``.

    Their answers are then prefixes of one another (see
    :func:`neighbours_of_rows`), so one search can serve both.
    """
    if not (isinstance(a, NearestNeighbors) and isinstance(b, NearestNeighbors)):
        return False
    pa, pb = a.get_params(), b.get_params()
    pa.pop("n_neighbors")
    pb.pop("n_neighbors")
    return pa == pb


def class_neighbours(nn: Any, X: Any) -> np.ndarray:
    """Neighbours of every row of X among the rows of X, self excluded."""
    k_total = int(nn.n_neighbors)
    if k_total > X.shape[0]:
        raise too_few_rows(k_total, X.shape[0], X.shape[0])
    return np.ascontiguousarray(neighbors_excluding_self(nn, X), dtype=np.int64)


def positions(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Positions of ``ids`` within the sorted array ``sorted_ids`` (all present)."""
    return np.searchsorted(sorted_ids, ids).astype(np.int64)


def danger_and_noise(
    nns: np.ndarray, y: np.ndarray, label: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Which samples are in danger and which are noise, from their m neighbours.

    A sample is in danger when at least half but not all of its ``m``
    neighbours belong to other classes, and noise when all of them do.
    """
    m = nns.shape[1]
    n_other = np.count_nonzero(y[nns] != label, axis=1)
    return (n_other >= m / 2) & (n_other < m), n_other == m


@dataclass
class Block:
    """The new samples of one draw: ``X[base] + steps * (X[nb] - X[base])``.

    ``base`` and ``nb`` are row indices of the (validated) X; ``scales``,
    when given, multiplies each difference first (borderline-2).
    """

    label: Any
    base: np.ndarray
    nb: np.ndarray
    steps: np.ndarray
    scales: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.base.shape[0])


def smote_block(
    label: Any,
    base_ids: np.ndarray,
    nns: np.ndarray,
    random_state: np.random.RandomState,
    n_samples: int,
    step_size: float = 1.0,
) -> tuple[Block, np.ndarray]:
    """imbalanced-learn's SMOTE draws on a neighbour table.

    ``base_ids[i]`` is the row of X of the table's row i, and ``nns`` holds
    rows of X. Draws ``randint(0, nns.size, n_samples)`` then
    ``uniform(size=n_samples)`` from ``random_state``, in that order.
    Returns the block and the flat table positions drawn.
    """
    flat = random_state.randint(low=0, high=nns.size, size=n_samples)
    steps = step_size * random_state.uniform(size=n_samples)
    k = nns.shape[1]
    rows = flat // k
    block = Block(
        label,
        np.ascontiguousarray(base_ids[rows], dtype=np.int64),
        np.ascontiguousarray(nns.reshape(-1)[flat], dtype=np.int64),
        np.ascontiguousarray(steps, dtype=np.float64),
    )
    return block, flat


def as_float(X: Any) -> Any:
    """X as float32/float64 (other dtypes become float64), dense rows contiguous."""
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if not sparse.issparse(X):
        X = np.ascontiguousarray(X)
    return X


def _sparse_block(X: Any, block: Block) -> Any:
    """One block on sparse X with imbalanced-learn's sparse arithmetic."""
    kind = getattr(sparse, type(X).__name__)
    X_base = X[block.base]
    diffs = X[block.nb] - X_base
    if block.scales is not None:
        # imbalanced-learn scales the rows in place in X's dtype.
        diffs = kind(diffs.multiply(block.scales[:, np.newaxis])).astype(X.dtype)
    steps = kind(block.steps[:, np.newaxis])
    return (X_base + steps.multiply(diffs)).astype(X.dtype)


def assemble(
    X: Any, y: np.ndarray, blocks: list[Block], n_threads: int
) -> tuple[Any, np.ndarray]:
    """X and y followed by every block's new samples, in order."""
    n_new = sum(b.size for b in blocks)
    y_res = np.empty(y.shape[0] + n_new, dtype=y.dtype)
    y_res[: y.shape[0]] = y
    offset = y.shape[0]
    for b in blocks:
        y_res[offset : offset + b.size] = b.label
        offset += b.size
    if sparse.issparse(X):
        new = [_sparse_block(X, b) for b in blocks if b.size]
        return sparse.vstack([X, *new], format=X.format), y_res
    # Allocated once; the kernel writes each block in place.
    X_res = np.empty((X.shape[0] + n_new, X.shape[1]), dtype=X.dtype)
    X_res[: X.shape[0]] = X
    offset = X.shape[0]
    for b in blocks:
        if b.size:
            _core.smote_interpolate_rows(
                X,
                X,
                b.base,
                b.nb,
                b.steps,
                None if b.scales is None else np.ascontiguousarray(b.scales),
                X_res[offset : offset + b.size],
                n_threads,
            )
        offset += b.size
    return X_res, y_res
