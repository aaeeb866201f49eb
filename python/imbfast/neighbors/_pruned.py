"""Pruned exact k-NN: k-means cells and triangle-inequality bounds.

The rows are cut into about ``sqrt(n)`` cells (FAISS k-means on a sample,
:mod:`imbfast.neighbors._partition`, the partition the ``"cells"``
approximate engine uses too); everything after the centroids runs in the
C++ core (``_core.pruned_knn``, cpp/src/knn_pruned.cpp, on its thread
pool): every row assigned to its nearest centroid (proven from sorted lists
of nearest centroids by the triangle inequality, or by an exact search of
every centroid where the proof would cost more), each cell's exact radius,
fine cells inside each cell, and the search in two passes over the queries
grouped by cell. The first pass searches each query's own cell (and nearer
ones while they hold too few rows) with the fused exact kernel; querying X
itself, cells whose rows would search each other anyway are searched
together, each pair once. Its k-th distance ``u_q`` bounds the answer, and
a cell or fine cell of centre ``c`` and radius ``r`` is searched by the
second pass only if the triangle inequality allows it
(``||q - c|| - r <= u_q``); the two lists are merged by (squared distance,
index). Every bound is computed in double on the data scaled by a power of
two and loosened by a relative margin far above its rounding error, so a
cell is skipped only when none of its rows can be among the k nearest, ties
included: the answer is the exact brute-force one, ties by the lower index
(the full argument is in the C++ source).

The work is counted before the second pass runs: :func:`pruned_knn` can be
asked to give up (return ``None``) when the pruned search would compute
more than a given fraction of the distances of the brute force, which is
how ``algorithm="auto"`` tries it without risking much; the decision is
taken on a fixed random sample of the blocks, then on growing rounds of
them, so it does not depend on the thread count.

Memory: beyond the input and the (n_queries, k) result, per row its cell,
its place in the cell order, its fine cell and its distance to the
centroid (O(n)), the centroids and fine centres in double, each centroid's
128 nearest centroids, the second pass's plan of every block, and per
running block the rows it gathers; rows are assigned to cells in chunks (no
float32 copy of X). Measured at 10M x 32 float32 (1000 clusters, k=4, 2
threads, ``benchmarks/approx_10m.py --check 200`` on this shared 2-core
machine, load 2.2-3.3): 38-44 s and 2.42 GiB peak RSS including the 1.28 GB
input (k-means and cells 5.5-7.4 s, fine cells 1.9-2.1 s, first pass 29-32 s,
second pass 1.5-2.4 s; about 0.05% of the brute force's distances), 83-89 s
of CPU for the whole benchmark process; the search before the proven
assignment and the grouped first pass took 120-130 s in the same session
(load 1.6-4.5, 132-136 s of CPU) and 69 s at load 1.4-2.0. On the idle
machine, after both changes: 37.1 s (2026-11-26).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from imbfast import _core
from imbfast.neighbors._partition import n_cells, power_of_two_scale, train_centroids


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
        holds ``nlist``, ``n_fine`` (fine cells), ``n_first_pass_blocks``
        (groups of cells the first pass searches together), ``work_fraction``
        (distances computed over ``n * n_queries``), ``n_second_pass``
        (queries that searched cells beyond their own), ``build_seconds``
        (k-means, assigning rows and queries to cells), ``split_seconds``
        (fine cells), ``first_pass_seconds`` and ``second_pass_seconds``.
    """
    t0 = time.perf_counter()
    scale = power_of_two_scale((X,) if Q is None else (X, Q))
    centroids = train_centroids(
        X, n_cells(X.shape[0]), np.random.default_rng(0), n_threads, scale
    )
    kmeans_seconds = time.perf_counter() - t0
    found = _core.pruned_knn(X, Q, centroids, scale, k, n_threads, max_work)
    if found is None:
        return None
    idx, dist, core = found
    info = {
        "nlist": core["nlist"],
        "n_fine": core["n_fine"],
        "n_first_pass_blocks": core["n_first_pass_blocks"],
        "work_fraction": core["work_fraction"],
        "n_second_pass": core["n_second_pass"],
        "build_seconds": kmeans_seconds + core["assign_seconds"],
        "split_seconds": core["split_seconds"],
        "first_pass_seconds": core["first_pass_seconds"],
        "second_pass_seconds": core["second_pass_seconds"],
    }
    return idx, dist, info
