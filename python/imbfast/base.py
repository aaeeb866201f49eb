"""Plumbing shared by imbfast's samplers.

The samplers subclass imbalanced-learn's base classes, which validate X and y,
resolve ``sampling_strategy_`` and restore the input containers. What is
added here is what every imbfast sampler needs on top: turning ``n_jobs`` into
a thread count and moving rows through the C++ core.
"""

from __future__ import annotations

import importlib
import numbers
import os
import sys
from types import ModuleType
from typing import Any

import numpy as np
from imblearn.utils import check_target_type
from scipy import sparse
from sklearn.utils import _safe_indexing, check_array, check_consistent_length
from sklearn.utils.validation import check_random_state, column_or_1d, validate_data

from imbfast import _core

# Below this population, NumPy's own shuffle (in cache) is as fast as the
# core's, which pays for reading and writing the generator's state.
LEGACY_SHUFFLE_MIN = 200_000


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - macOS, Windows
        n = os.cpu_count() or 1
    return max(1, min(n, _core.hardware_threads()))


def default_threads() -> int:
    """Threads for ``n_jobs=None``: what scikit-learn's compiled code uses.

    scikit-learn's OpenMP routines (such as the brute-force neighbour search
    imbalanced-learn runs by default) use ``omp_get_max_threads()`` capped at
    the usable CPUs, which honours ``OMP_NUM_THREADS`` and
    ``threadpoolctl.threadpool_limits``. FAISS's OpenMP runtime answers the
    same question for the calling thread (threadpoolctl limits every loaded
    OpenMP runtime).
    """
    import faiss  # loaded on first use (about 60 ms)

    return max(1, min(int(faiss.omp_get_max_threads()), usable_cpus()))


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Turn ``n_jobs`` into a number of threads.

    Parameters
    ----------
    n_jobs : int or None
        ``None`` uses every core the process may use, as scikit-learn's
        compiled routines do (respecting the CPU affinity mask,
        ``OMP_NUM_THREADS`` and ``threadpoolctl`` limits); ``1`` one
        thread; ``-1`` all CPUs, ``-2`` all but one, and so on (joblib's
        convention). A positive count is capped at the number of CPUs:
        imbfast never starts more threads than the hardware has. Results
        never depend on it.

    Returns
    -------
    n_threads : int
        At least 1 and at most the number of CPUs available to the process.
    """
    if n_jobs is None:
        return default_threads()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be an int or None, got {n_jobs!r}.")
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError(
            "n_jobs == 0 has no meaning; use None, a positive or a negative int."
        )
    n_cpus = usable_cpus()
    if n_jobs < 0:
        return max(1, n_cpus + 1 + n_jobs)
    return min(n_jobs, n_cpus)


class DaskDispatchMixin:
    """The samplers' one hand-off to the Dask layer (:mod:`imbfast.dask`).

    Listed among the bases of every imbfast sampler (after
    :class:`imbfast.neighbors.NeighborsModeMixin` where there is one).
    NumPy, pandas and sparse input take the sampler's usual path. A dask
    array or dataframe (for X or y) is handed to
    ``imbfast.dask.fit_resample_dask``, which resamples it lazily with the
    same result, or raises a TypeError naming the samplers that accept dask
    input (a sampler without a dask path never computes a dask input into
    memory).

    The samplers know nothing else of dask: :func:`is_dask_collection`
    only looks at ``sys.modules``, and :func:`dask_layer` finds the layer
    above at run time, only once a dask collection was passed. What both
    paths draw at random is public on the samplers (for example
    ``SMOTE.class_draws``, ``RandomUnderSampler.draw_sample_indices``).
    """

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        """Resample the dataset.

        Parameters
        ----------
        X : {array-like, dataframe, sparse matrix, dask array, dask dataframe}
            Matrix of shape (n_samples, n_features).
        y : array-like of shape (n_samples,), dask array or series
            Labels; with a dask dataframe X, also the name of its target column.
        **params : dict
            Extra parameters for the sampler.

        Returns
        -------
        X_resampled, y_resampled
            Of the input's kind (lazy dask collections for dask input).
        """
        if is_dask_collection(X) or is_dask_collection(y):
            return dask_layer().fit_resample_dask(self, X, y)
        return super().fit_resample(X, y, **params)  # type: ignore[misc]


def dask_layer() -> ModuleType:
    """:mod:`imbfast.dask`, found at run time: the only reference upwards.

    The Dask layer sits above the samplers and imports them; base.py, the
    lowest layer, never imports it. :class:`DaskDispatchMixin` calls this
    only after :func:`is_dask_collection` recognised a dask collection, so
    dask is loaded already and only imbfast's thin layer over it is
    imported here. The import contract (tests/test_layers.py) whitelists
    exactly this call.
    """
    return importlib.import_module("imbfast.dask")


def is_dask_collection(obj: Any) -> bool:
    """Whether obj is a dask collection (array, dataframe, series).

    Never imports dask: an object can only be a dask collection once dask is
    loaded. Asks dask itself, so dask-expr collections (whose classes live
    outside the ``dask`` package on some versions) are recognised too.
    """
    dask = sys.modules.get("dask")
    if dask is None:
        return False
    check = getattr(dask, "is_dask_collection", None)
    if check is None:  # dask only partly imported
        return False
    return bool(check(obj))


def target_labels(y: Any) -> tuple[np.ndarray, bool]:
    """imbalanced-learn's ``check_target_type(y, indicate_one_vs_all=True)``.

    A 1-D array cannot be a one-hot target: it is only checked to be a
    column (``column_or_1d``), without ``type_of_target``, which
    ``fit_resample`` has already run on it (about a fifth of a 0.8 ms
    RandomUnderSampler call on digits).

    Returns
    -------
    y : ndarray of shape (n_samples,)
    binarize_y : bool
        Whether y was one-hot encoded.
    """
    if isinstance(y, np.ndarray) and y.ndim == 1:
        return column_or_1d(y), False
    return check_target_type(y, indicate_one_vs_all=True)


def check_X_y(sampler: Any, X: Any, y: Any) -> tuple[Any, np.ndarray, bool]:
    """Validate X and y for a sampler that accepts any X, as imbalanced-learn.

    Any dtype, NaN and dataframes are kept as they are (like imbalanced-learn's
    random samplers); unlike imbalanced-learn, X and y of different lengths
    are an error. Records ``n_features_in_`` and ``feature_names_in_`` on
    ``sampler``.

    Returns
    -------
    X, y, binarize_y
        X unchanged but for lists made arrays, y as a 1-D array, and whether y
        was one-hot encoded.
    """
    y, binarize_y = target_labels(y)
    X = check_X_any(X)
    check_consistent_length(X, y)
    X, y = validate_data(sampler, X=X, y=y, reset=True, skip_check_array=True)
    return X, y, binarize_y


def check_X_any(X: Any) -> Any:
    """X as imbalanced-learn's samplers accept it.

    A pandas dataframe passes unchanged; anything else goes through
    scikit-learn's ``check_array`` keeping its dtype, NaN and infinities, and
    CSR/CSC sparse format. At least one row is required.
    """
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(X, pandas.DataFrame):
        if len(X) < 1:
            raise ValueError(
                f"Found array with {len(X)} sample(s) while a minimum of 1 is required."
            )
        return X
    return check_array(
        X, dtype=None, accept_sparse=["csr", "csc"], ensure_all_finite=False
    )


def is_dense_numeric(X: Any) -> bool:
    """Whether X is a NumPy array the C++ core can move rows of."""
    return (
        isinstance(X, np.ndarray)
        and X.ndim == 2
        and X.dtype.kind in "biuf"
        and X.dtype.isnative
    )


def take_rows(X: Any, indices: np.ndarray, n_threads: int = 1) -> Any:
    """Return ``X[indices]`` for arrays, sparse matrices and dataframes.

    C-contiguous numeric arrays are gathered by the C++ core with
    ``n_threads`` threads; everything else goes through scikit-learn's
    ``_safe_indexing``.
    """
    if is_dense_numeric(X) and X.flags.c_contiguous:
        rows = np.ascontiguousarray(indices, dtype=np.int64)
        out = np.empty((rows.shape[0], X.shape[1]), dtype=X.dtype)
        _core.gather_rows(X, rows, out, n_threads)
        return out
    return _safe_indexing(X, indices)


def sorted_labels(y: np.ndarray) -> np.ndarray:
    """``np.unique(y)``, by counting when y holds integers of a narrow range.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)

    Returns
    -------
    classes : ndarray
        The distinct values of y, sorted, of y's dtype.
    """
    if y.ndim == 1 and y.size >= 65_536 and y.dtype.kind in "iu":
        lo, hi = int(y.min()), int(y.max())
        if hi - lo < y.size and -(2**62) < lo and hi < 2**62:
            counts = np.bincount(y.astype(np.intp) - lo)
            return (np.flatnonzero(counts) + lo).astype(y.dtype)
    return np.unique(y)


def choice_without_replacement(
    random_state: np.random.RandomState, n: int, size: int
) -> np.ndarray:
    """``random_state.choice(n, size, replace=False)``: the same draws, faster.

    For a large population of a legacy MT19937 ``RandomState`` the shuffle
    runs in the core (``_core.legacy_permutation``, bit for bit NumPy's) and
    the generator's state is advanced exactly as NumPy's would be (its
    32-bit entries and prefetched swaps make it several times faster once
    the population leaves the cache). The process-wide generator
    (``random_state=None``), which other threads may draw from at the same
    time, and other bit generators keep NumPy's call.

    Parameters
    ----------
    random_state : numpy.random.RandomState
        The generator; advanced by the draw.
    n : int
        Population size.
    size : int
        Draws, at most n.

    Returns
    -------
    indices : ndarray of shape (size,), int64
    """
    if (
        n < LEGACY_SHUFFLE_MIN
        or not 0 <= size <= n
        or not isinstance(random_state, np.random.RandomState)
        or random_state is check_random_state(None)
    ):
        return random_state.choice(n, size=size, replace=False)
    state = random_state.get_state(legacy=False)
    if state["bit_generator"] != "MT19937":
        return random_state.choice(n, size=size, replace=False)
    key = np.array(state["state"]["key"], dtype=np.uint32)
    picks, pos = _core.legacy_permutation(key, int(state["state"]["pos"]), n, size)
    state["state"] = {"key": key, "pos": pos}
    random_state.set_state(state)
    return picks


def stack_rows(X: Any, blocks: list[Any]) -> Any:
    """Stack X and extra row blocks the way imbalanced-learn does."""
    if sparse.issparse(X):
        return sparse.vstack([X, *blocks], format=X.format)
    return np.vstack([X, *blocks])
