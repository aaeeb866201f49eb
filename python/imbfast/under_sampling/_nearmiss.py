"""NearMiss (versions 1, 2 and 3): selection on imbfast's neighbour search."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from imblearn.under_sampling.base import BaseUnderSampler
from imblearn.utils import check_neighbors_object
from scipy import sparse
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval
from threadpoolctl import threadpool_limits

from imbfast.base import DaskDispatchMixin, resolve_n_jobs, sorted_labels, take_rows
from imbfast.neighbors import (
    NEIGHBORS_CONSTRAINT,
    NEIGHBORS_COUNT_CONSTRAINT,
    NearestNeighbors,
    NeighborsModeMixin,
    algorithm_for,
    kneighbors,
)
from imbfast.under_sampling._cleaning import (
    first_seen_minority,
    int_neighbors,
    set_n_jobs,
)

# Extra candidates kept per query by the candidate pass of the farthest
# search (lifted k-NN, or the GEMM blocks for sparse input) before the exact
# re-ranking.
_FARTHEST_MARGIN = 8
# Elements of one block's GEMM (queries x minority rows), about 8 MB.
_BLOCK_ELEMENTS = 1 << 20
_EPS = np.finfo(np.float64).eps


def smallest_first(scores: np.ndarray, n: int) -> np.ndarray:
    """``np.argsort(scores, kind="stable")[:n]`` without sorting every score.

    The n smallest scores (ties at the n-th by lower index, as the stable
    sort takes them) are found by a partition, and only they are sorted.
    NearMiss keeps about one row in nine of a 9:1 majority: the stable sort
    of all 90k scores took 8 ms of a 180 ms call.

    Parameters
    ----------
    scores : ndarray of shape (m,)
        Scores, finite or +inf (no NaN).
    n : int
        How many to return (all of them when ``n >= m``).

    Returns
    -------
    ndarray of shape (min(n, m),)
        Positions in ``scores``, by increasing score, then position.
    """
    if n <= 0:
        return np.empty(0, dtype=np.intp)
    # Scores of +inf (rows the search proved are not kept) go last, in index
    # order, so only the finite ones need ranking when enough are finite.
    finite = np.flatnonzero(scores < np.inf)
    if n <= finite.shape[0] < scores.shape[0]:
        return finite[_smallest_of(scores[finite], n)]
    return _smallest_of(scores, n)


def _smallest_of(scores: np.ndarray, n: int) -> np.ndarray:
    m = scores.shape[0]
    if 2 * n >= m:
        return np.argsort(scores, kind="stable")[:n]
    cut = np.partition(scores, n - 1)[n - 1]
    below = np.flatnonzero(scores < cut)
    tied = np.flatnonzero(scores == cut)[: n - below.shape[0]]
    chosen = np.sort(np.concatenate([below, tied]))
    return chosen[np.argsort(scores[chosen], kind="stable")]


def row_sums(values: Any) -> np.ndarray:
    """``np.sum(values, axis=1)`` in float64, bit for bit, faster for few columns.

    NumPy sums fewer than 8 values in order, left to right; a reduction
    along rows of width k that way costs a call per row (1.4 ms for NearMiss's
    90k x 3 distances), one vector add per column here.

    Parameters
    ----------
    values : array-like of shape (m, k)
        The values, converted to float64.

    Returns
    -------
    ndarray of shape (m,)
        Each row's sum.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or not 1 <= values.shape[1] < 8:
        return np.sum(values, axis=1)
    out = values[:, 0].copy()
    for j in range(1, values.shape[1]):
        out += values[:, j]
    return out


def _neighbours(value: Any, name: str, n_jobs: int | None, neighbors: str) -> Any:
    """An imbfast searcher for a count, a clone of a neighbours object otherwise."""
    if int_neighbors(value):
        return NearestNeighbors(
            n_neighbors=int(value), n_jobs=n_jobs, algorithm=algorithm_for(neighbors)
        )
    nn = check_neighbors_object(name, value)
    # imbalanced-learn sets n_jobs unconditionally and fails on objects
    # without such a parameter; imbfast sets it only where it exists.
    set_n_jobs(nn, n_jobs)
    return nn


def _as_float64(X: Any) -> Any:
    if sparse.issparse(X):
        return sparse.csr_matrix(X, dtype=np.float64)
    return np.ascontiguousarray(X, dtype=np.float64)


def _dense_rows(X: Any, rows: np.ndarray) -> np.ndarray:
    sub = X[rows]
    return sub.toarray() if sparse.issparse(sub) else sub


def _exact_sq(Q: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Squared distances of Q[i] to P[i, j] (shape (b, c, d)), by differences."""
    diff = P - Q[:, None, :]
    return np.einsum("ijk,ijk->ij", diff, diff)


def _exact_row(q: np.ndarray, X: Any, chunk: int) -> np.ndarray:
    """Squared distances of one dense row to every row of X, by differences."""
    out = np.empty(X.shape[0])
    for start in range(0, X.shape[0], chunk):
        block = _dense_rows(X, np.arange(start, min(start + chunk, X.shape[0])))
        diff = block - q
        out[start : start + block.shape[0]] = np.einsum("ij,ij->i", diff, diff)
    return out


def _top_candidates(sq: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns of the kk largest values per row, and the largest value left out.

    A value-only partition (several times cheaper than ``argpartition``)
    finds each row's threshold; the columns at or above it are the
    candidates. Rows where ties at the threshold give more than kk columns
    are rare; the block then falls back to ``argpartition``.
    """
    b, m = sq.shape
    part = np.partition(sq, m - kk, axis=1)
    threshold = part[:, m - kk].copy()
    excluded = part[:, : m - kk].max(axis=1)
    del part
    mask = sq >= threshold[:, None]
    if np.count_nonzero(mask) == b * kk:
        return np.nonzero(mask)[1].reshape(b, kk), excluded
    order = np.argpartition(sq, m - kk - 1, axis=1)
    return order[:, m - kk :], excluded


def _farthest_lifted(
    Q: np.ndarray, R: np.ndarray, k: int, n_threads: int
) -> np.ndarray:
    """Dense farthest search as a nearest search in d + 1 dimensions.

    With rows centred on R's mean, ``q' = (q, 0)`` and
    ``r' = (-r, sqrt(2 * max|r|^2 - 2 * |r|^2))`` satisfy
    ``|q' - r'|^2 = 2 |q|^2 + 2 max|r|^2 - |q - r|^2``: the nearest lifted
    rows are the farthest original ones, so imbfast's exact k-NN engines
    find them. ``k`` plus a few lifted neighbours are taken, their
    distances recomputed from the original rows, and the choice is proven
    complete against the first row left out (a query whose proof fails is
    answered by an exact scan).
    """
    n_q, d = Q.shape
    m = R.shape[0]
    centre = R.mean(axis=0)
    Qc, Rc = Q - centre, R - centre
    q_norms = np.einsum("ij,ij->i", Qc, Qc)
    r_norms = np.einsum("ij,ij->i", Rc, Rc)
    r_max = float(r_norms.max())
    lift_q = np.zeros((n_q, d + 1))
    lift_q[:, :d] = Qc
    lift_r = np.empty((m, d + 1))
    np.negative(Rc, out=lift_r[:, :d])
    lift_r[:, d] = np.sqrt(np.maximum(2.0 * r_max - 2.0 * r_norms, 0.0))
    del Qc, Rc
    kk = min(m, k + _FARTHEST_MARGIN)
    ind = kneighbors(lift_r, kk, query=lift_q, n_jobs=n_threads)
    del lift_q, lift_r
    out = np.empty((n_q, k))
    block = max(1, _BLOCK_ELEMENTS // max(kk * d, 1))
    for start in range(0, n_q, block):
        rows = np.arange(start, min(start + block, n_q))
        cand = ind[rows]
        exact = _exact_sq(Q[rows], R[cand.ravel()].reshape(rows.shape[0], kk, d))
        if kk < m:
            # The first row left out is the lifted kk-th neighbour at best:
            # its distance is at most that of the last candidate (up to
            # rounding), which the chosen rows must beat.
            last = exact[np.arange(rows.shape[0]), kk - 1]
        exact.sort(axis=1)
        chosen = exact[:, kk - k :]
        if kk < m:
            scale = q_norms[rows] + r_max
            bound = 16.0 * (d + 4) * _EPS * (scale + np.sqrt(scale) + 1.0)
            proven = chosen[:, 0] > last + bound
            for i in np.flatnonzero(~proven):
                full = _exact_row(Q[rows[i]], R, max(1, _BLOCK_ELEMENTS // max(d, 1)))
                full.sort()
                chosen[i] = full[m - k :]
        out[rows] = np.sqrt(chosen)
    return out


def farthest_distances(
    X_query: Any, X_ref: Any, k: int, n_threads: int = 1
) -> np.ndarray:
    """Euclidean distances to the k farthest rows of X_ref, per query row.

    Memory stays bounded whatever the sizes (no ``n_query x n_ref``
    matrix). Dense input: the farthest rows are the nearest ones of a
    lifted problem in one more dimension (see :func:`_farthest_lifted`),
    searched by imbfast's exact engines. Sparse input: blocks of queries, a
    float64 GEMM pass finding ``k`` plus a few candidates per query. Either
    way the candidates' distances are recomputed exactly from differences,
    and the choice is proven complete with a bound on the rounding of the
    candidate pass (a query whose proof fails is answered by an exact scan
    of all reference rows).

    Parameters
    ----------
    X_query : {ndarray, sparse matrix} of shape (n_queries, n_features)
        The query rows.
    X_ref : {ndarray, sparse matrix} of shape (n_ref, n_features)
        The reference rows.
    k : int
        Number of farthest rows, at most ``n_ref``.
    n_threads : int, default=1
        Threads of the search (BLAS threads for sparse input); the result
        does not depend on it.

    Returns
    -------
    distances : ndarray of shape (n_queries, k), float64
        Ascending in each row (the farthest last), as the last ``k`` columns
        of a full ascending k-NN answer would be.
    """
    Q = _as_float64(X_query)
    R = _as_float64(X_ref)
    n_q, d = Q.shape
    m = R.shape[0]
    if not 1 <= k <= m:
        raise ValueError(f"k must be in [1, {m}], got {k}.")
    if not (sparse.issparse(Q) or sparse.issparse(R)):
        return _farthest_lifted(Q, R, k, n_threads)
    Q, R = sparse.csr_matrix(Q), sparse.csr_matrix(R)
    q_norms = np.asarray(Q.multiply(Q).sum(axis=1)).ravel()
    r_norms = np.asarray(R.multiply(R).sum(axis=1)).ravel()
    kk = min(m, k + _FARTHEST_MARGIN)
    block = max(1, min(4096, _BLOCK_ELEMENTS // max(m, kk * d, 1)))
    out = np.empty((n_q, k))
    r_max = float(r_norms.max(initial=0.0))
    with threadpool_limits(limits=n_threads, user_api="blas"):
        for start in range(0, n_q, block):
            rows = np.arange(start, min(start + block, n_q))
            sq = (Q[rows] @ R.T).toarray()
            sq *= -2.0
            sq += q_norms[rows, None]
            sq += r_norms[None, :]
            if kk < m:
                cand, excluded = _top_candidates(sq, kk)
            else:
                cand = np.broadcast_to(np.arange(m), (rows.shape[0], m))
                excluded = np.full(rows.shape[0], -np.inf)
            del sq
            Qb = _dense_rows(Q, rows)
            Pb = _dense_rows(R, cand.ravel()).reshape(rows.shape[0], kk, d)
            exact = _exact_sq(Qb, Pb)
            exact.sort(axis=1)
            chosen = exact[:, kk - k :]
            # Rounding of q_norm + r_norm - 2 q.r in float64, with a margin.
            bound = 4.0 * (d + 4) * _EPS * (q_norms[rows] + r_max) + 1e-300
            proven = chosen[:, 0] > excluded + bound
            for i in np.flatnonzero(~proven):
                full = _exact_row(Qb[i], R, max(1, _BLOCK_ELEMENTS // max(d, 1)))
                full.sort()
                chosen[i] = full[m - k :]
            out[rows] = np.sqrt(chosen)
    return out


class NearMiss(NeighborsModeMixin, DaskDispatchMixin, BaseUnderSampler):
    """Under-sample the majority classes by their distances to the minority.

    A drop-in for :class:`imblearn.under_sampling.NearMiss`: the same
    parameters, fitted attributes and, on data without distance ties, the
    same rows in the same order (grouped by class in sorted label order).
    The neighbour searches are imbfast's exact engines; version 2's
    farthest neighbours are found as the nearest neighbours of a lifted
    problem (see :func:`farthest_distances`), never holding a
    majority x minority distance matrix as imbalanced-learn does.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        How many samples of each class to keep, as in imbalanced-learn's
        under-samplers: a float (binary problems only) is the desired
        minority/majority ratio; 'majority', 'not minority', 'not majority',
        'all' or 'auto' (= 'not minority') name the classes brought down to
        the minority count; a dict maps each class to the number of samples
        to keep; a callable takes y and returns such a dict.
    version : {1, 2, 3}, default=1
        1 keeps the rows whose k nearest minority rows are closest on
        average; 2 the rows whose k farthest minority rows are closest on
        average; 3 first shortlists, for every minority row, its
        ``n_neighbors_ver3`` nearest rows of the class, then keeps the
        shortlisted rows whose k nearest minority rows are farthest on
        average (it can return fewer rows than asked, with a warning).
    n_neighbors : int or object, default=3
        k, the number of minority rows averaged over, or a k-NN object
        (with ``kneighbors`` and ``kneighbors_graph``) used with its own
        ``n_neighbors``.
    n_neighbors_ver3 : int or object, default=3
        Version 3 only: the size of each minority row's shortlist, or a
        k-NN object.
    n_jobs : int, default=None
        Threads, with joblib's meaning. The result does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        How the nearest-neighbour searches run: "exact" (imbfast's exact
        engines) or "approx" (calibrated approximate search, see
        :func:`imbfast.neighbors.kneighbors`). Version 2's farthest
        search is always exact. Ignored for neighbours objects.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples to keep per targeted class.
    nn_ : estimator object
        The searcher fitted on the minority rows: an imbfast
        :class:`~imbfast.neighbors.NearestNeighbors` for an int, else a
        clone of the object.
    nn_ver3_ : estimator object
        Version 3 only: the searcher of the shortlists (fitted on the last
        class processed).
    sample_indices_ : ndarray of shape (n_new_samples,)
        Rows of the input kept, in output order.
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``.
    neighbors_recall_ : float
        Only with ``neighbors="approx"``: the estimated recall of the
        approximate searches.

    Notes
    -----
    The score of a row is the sum (imbalanced-learn's "average") of its
    distances; rows are ranked with a stable sort, so equal scores keep the
    lower index first. The minority class is the least frequent label,
    ties to the first seen, as in imbalanced-learn.

    Differences from imbalanced-learn: ``n_jobs`` is set on a neighbours
    object only when it has such a parameter; version 2 with
    ``n_neighbors`` larger than the minority sums over every minority row
    (as imbalanced-learn silently does) and warns.

    Peak memory: the output, O(n_samples * n_neighbors) neighbour ids and
    distances; for version 2 also a lifted float64 copy of the class and
    the minority (one extra column), or for sparse input a bounded block
    (a few 8 MB arrays) of distances.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.under_sampling import NearMiss
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            random_state=10)
    >>> X_res, y_res = NearMiss(version=2).fit_resample(X, y)
    >>> sorted(Counter(y_res).items())
    [(np.int64(0), 102), (np.int64(1), 102)]
    """

    _parameter_constraints: dict = {
        **BaseUnderSampler._parameter_constraints,
        "version": [Interval(numbers.Integral, 1, 3, closed="both")],
        "n_neighbors": NEIGHBORS_COUNT_CONSTRAINT,
        "n_neighbors_ver3": NEIGHBORS_COUNT_CONSTRAINT,
        "n_jobs": [numbers.Integral, None],
        "neighbors": NEIGHBORS_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        version: int = 1,
        n_neighbors: Any = 3,
        n_neighbors_ver3: Any = 3,
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.version = version
        self.n_neighbors = n_neighbors
        self.n_neighbors_ver3 = n_neighbors_ver3
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    def _validate_estimator(self) -> None:
        self.nn_ = _neighbours(
            self.n_neighbors, "n_neighbors", self.n_jobs, self.neighbors
        )
        if self.version == 3:
            self.nn_ver3_ = _neighbours(
                self.n_neighbors_ver3, "n_neighbors_ver3", self.n_jobs, self.neighbors
            )
        elif hasattr(self, "nn_ver3_"):
            del self.nn_ver3_

    def _nearest_sums(self, X_rows: Any, n_keep: int | None = None) -> np.ndarray:
        """Sum of the distances to the k nearest minority rows, per row.

        With ``n_keep`` (only the rows of the n_keep smallest sums are kept)
        imbfast's searcher may prove some rows are not among them: their
        sum is then +inf.
        """
        if n_keep is not None and isinstance(self.nn_, NearestNeighbors):
            dist, _ = self.nn_.kneighbors(
                X_rows, n_neighbors=self.nn_.n_neighbors, keep_smallest_sums=n_keep
            )
        else:
            dist, _ = self.nn_.kneighbors(X_rows, n_neighbors=self.nn_.n_neighbors)
        return row_sums(dist)

    def _farthest_sums(self, X_rows: Any, X_min: Any, n_threads: int) -> np.ndarray:
        """Sum of the distances to the k farthest minority rows, per row."""
        n_min = X_min.shape[0]
        k = self.nn_.n_neighbors
        if k > n_min:
            warnings.warn(
                f"n_neighbors={k} is larger than the minority class ({n_min} "
                "samples): NearMiss-2 sums the distances to every minority "
                "sample, as imbalanced-learn does.",
                UserWarning,
                stacklevel=4,
            )
            k = n_min
        if isinstance(self.nn_, NearestNeighbors):
            dist = farthest_distances(X_rows, X_min, k, n_threads)
            return row_sums(dist)
        # A neighbours object: its own metric, full lists block by block.
        sums = np.empty(X_rows.shape[0])
        step = max(1, _BLOCK_ELEMENTS // max(n_min, 1))
        for start in range(0, X_rows.shape[0], step):
            rows = np.arange(start, min(start + step, X_rows.shape[0]))
            dist, _ = self.nn_.kneighbors(
                _safe_indexing(X_rows, rows), n_neighbors=n_min
            )
            sums[rows] = row_sums(np.asarray(dist, dtype=np.float64)[:, -k:])
        return sums

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self._validate_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        minority = first_seen_minority(y)
        X_min = take_rows(X, np.flatnonzero(y == minority), n_threads)
        self.nn_.fit(X_min)
        kept = []
        for target_class in sorted_labels(y):
            class_rows = np.flatnonzero(y == target_class)
            if target_class not in self.sampling_strategy_:
                kept.append(class_rows)
                continue
            n_keep = self.sampling_strategy_[target_class]
            X_class = take_rows(X, class_rows, n_threads)
            candidates = np.arange(class_rows.shape[0])
            if self.version == 1:
                order = smallest_first(self._nearest_sums(X_class, n_keep), n_keep)
            elif self.version == 2:
                sums = self._farthest_sums(X_class, X_min, n_threads)
                order = smallest_first(sums, n_keep)
            else:
                self.nn_ver3_.fit(X_class)
                short = self.nn_ver3_.kneighbors(X_min, return_distance=False)
                candidates = np.unique(np.asarray(short).ravel())
                sums = self._nearest_sums(_safe_indexing(X_class, candidates))
                # Farthest first; the stable order of the negated scores
                # keeps equal scores in index order.
                order = smallest_first(-sums, n_keep)
            if order.shape[0] < n_keep:
                warnings.warn(
                    "The number of the samples to be selected is larger than "
                    "the number of samples available. The balancing ratio "
                    "cannot be ensure and all samples will be returned.",
                    UserWarning,
                    stacklevel=3,
                )
            kept.append(class_rows[candidates[order[:n_keep]]])
        self.sample_indices_ = np.concatenate(kept).astype(np.intp, copy=False)
        return (
            take_rows(X, self.sample_indices_, n_threads),
            _safe_indexing(y, self.sample_indices_),
        )

    def __sklearn_tags__(self):
        """Tags: ``sample_indices_`` is set."""
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags
