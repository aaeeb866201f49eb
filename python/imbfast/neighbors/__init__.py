"""k-nearest-neighbour search: exact engines and an approximate one.

Engines (all exact unless ``algorithm="approx"``):

- ``"brute"``: the C++ fused kernel. A float32 SIMD pass over centred data
  computes a lower bound of every pair's distance (its float32 error is
  subtracted per pair) and keeps a few more candidates than needed per
  query, without ever storing a distance matrix (querying the fitted data
  computes each pair once); the candidates are re-ranked with exact
  distances accumulated in double, ties broken by the lower sample index,
  the query point itself excluded by index, and the answer proven complete
  by those bounds. On small lattice data (integer, binary, one-hot or
  count features, or multiples of a power of two, small enough that every
  float32 product and sum is exact) the pass runs in exact arithmetic: its
  candidate lists, ordered by distance and then index, are the exact answer
  however many rows tie, with no extra candidates and no proof (plan key
  ``exact_arithmetic``). Otherwise a query whose proof fails (more rows tie
  at its k-th distance than the list holds, or distances below float32's
  resolution, as beside a wide-range amount column) takes the tie pass: one
  more float32 pass with its threshold fixed at its k-th exact distance,
  every row under it ranked exactly, however many tie; the plan counts them
  in ``n_tie_pass``.
- ``"scan"``: an exact scan in double, for tiny problems (no set-up).
- ``"tree"``: a C++ KD-tree searched in double, for low-dimensional data.
- ``"pruned"``: cluster pruning (:mod:`imbfast.neighbors._pruned`): k-means cells with
  exact radii, split again into fine cells; each query searches its own cell
  with the fused kernel, and then only the fine cells that the triangle
  inequality cannot rule out (``||q - c|| - r <= `` its k-th distance so
  far). On clustered data it computes a small fraction of the brute force's
  distances (1M x 20 rows in 1000 clusters: 0.34%, 4.5 s on 2 threads, where
  the former Python-planned search took 6.8 s in the same run and the
  brute-force GEMM floor was measured at 249 s); on unclustered data it
  prunes nothing. Planned and run by the C++ core (cpp/src/knn_pruned.cpp).
- ``"auto"`` picks scan, tree or brute from n, d and k (see
  :func:`choose_algorithm`); on searches of at least 1e9 pairs x features it
  then times the fused pass on 256 sample rows, and when more than a quarter
  of them need the tie pass (ties, or data float32 cannot resolve), or d is at
  most 16 and the brute force is estimated at 0.5 s or more, it times the
  KD-tree on them too and takes whichever is estimated faster (plan keys
  ``probe_tie_fraction``, ``probe_brute_seconds``, ``probe_tree_seconds``);
  where that is the brute force on a large problem (at least ``500_000**2``
  distance pairs), it first tries the pruned search and keeps it when its
  second pass would compute at most 30% of the brute force's distances, judged
  on a random sample of its blocks (a failed attempt cost 3.2 s at 400k x 20,
  under 10%); :func:`last_plan` says which ran. Where d > 16 and the queries
  are not X itself, below that size the int8 pass's probe goes first (see
  ``"brute"``): when it takes the search, the float32 probe is not run.

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

Layout (every module below is private; this package's names are the API):

- ``_plan``: the plans (:func:`last_plan`, a context variable) and every
  tuning constant (:class:`Tuning`, :func:`tuning`, :func:`tuned`);
- ``_search``: :func:`kneighbors` and :func:`squared_kneighbors`: checks,
  then the sparse, exact or approximate path;
- ``_exact``: the ``"auto"`` policy (:func:`choose_algorithm`, the probe,
  the pruned attempt) and the exact engines' dispatch;
- ``_partition``: the k-means partition the pruned search and the
  ``"cells"`` engine share (centroids, cell counts, the power-of-two
  scale), the only module that imports FAISS;
- ``_pruned``: the pruned exact search (planned and run by the C++ core);
- ``_approx``: the approximate engines and their recall calibration;
- ``_recall``: recall estimates and :class:`RecallTracker`;
- ``_sparse``: sparse input (scikit-learn's brute force);
- ``_estimator``: :class:`NearestNeighbors` and the samplers' glue
  (:class:`NeighborsModeMixin`, :func:`neighbors_excluding_self`, the
  ``neighbors`` / ``k_neighbors`` parameter constraints).
"""

from imbfast.neighbors._approx import check_approx_knobs, index_worthwhile
from imbfast.neighbors._estimator import (
    NEIGHBORS_CONSTRAINT,
    NEIGHBORS_COUNT_CONSTRAINT,
    NEIGHBORS_MODES,
    NearestNeighbors,
    NeighborsModeMixin,
    algorithm_for,
    neighbors_excluding_self,
)
from imbfast.neighbors._exact import choose_algorithm
from imbfast.neighbors._plan import (
    ALGORITHMS,
    APPROX_ENGINES,
    Tuning,
    last_plan,
    tuned,
    tuning,
)
from imbfast.neighbors._recall import (
    RecallTracker,
    per_query_recall,
    record_recall,
    untracked,
)
from imbfast.neighbors._search import kneighbors, squared_kneighbors

__all__ = [
    "ALGORITHMS",
    "APPROX_ENGINES",
    "NEIGHBORS_CONSTRAINT",
    "NEIGHBORS_COUNT_CONSTRAINT",
    "NEIGHBORS_MODES",
    "NearestNeighbors",
    "NeighborsModeMixin",
    "RecallTracker",
    "Tuning",
    "algorithm_for",
    "check_approx_knobs",
    "choose_algorithm",
    "index_worthwhile",
    "kneighbors",
    "last_plan",
    "neighbors_excluding_self",
    "per_query_recall",
    "record_recall",
    "squared_kneighbors",
    "tuned",
    "tuning",
    "untracked",
]
