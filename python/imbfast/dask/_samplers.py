"""fit_resample for dask collections: one function per sampler family.

Each function reproduces the in-memory sampler's result: the random draws are
made on the client with the sampler's own code (they depend only on labels
and counts), the heavy work (gathers, interpolation, neighbour search) runs
in tasks over the row chunks.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from imblearn.utils import check_sampling_strategy
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets

from imbfast.base import target_labels
from imbfast.combine import SMOTEENN, SMOTETomek
from imbfast.dask._cleaning import enn_keep, tomek_keep
from imbfast.dask._collections import DaskInput, as_graph_value, normalize, restore
from imbfast.dask._search import search_settings, sharded_kneighbors
from imbfast.over_sampling import SMOTE, RandomOverSampler
from imbfast.under_sampling import (
    EditedNearestNeighbours,
    RandomUnderSampler,
    StratifiedSampler,
    TomekLinks,
)

#: Rows per synthetic block built by one task.
SYNTHETIC_BLOCK_ROWS = 262_144
_DEFAULT_GATHER_LIMIT = "1GiB"


def _gather_limit() -> int:
    import dask
    from dask.utils import parse_bytes

    return int(
        parse_bytes(dask.config.get("imbfast.gather-limit", _DEFAULT_GATHER_LIMIT))
    )


def _labels(sampler: Any, inp: DaskInput) -> np.ndarray:
    """Gather the labels (n x itemsize bytes) and fit the sampler's strategy."""
    y = np.asarray(inp.y.compute())
    check_classification_targets(y)
    y, binarize = target_labels(y)
    if binarize:  # pragma: no cover - normalize() only lets 1-D targets through
        raise ValueError("On dask, y must hold one label per row.")
    sampler.sampling_strategy_ = check_sampling_strategy(
        sampler.sampling_strategy, y, sampler._sampling_type
    )
    sampler.n_features_in_ = inp.X.shape[1]
    if inp.columns is not None and all(isinstance(c, str) for c in inp.columns):
        sampler.feature_names_in_ = np.asarray(inp.columns, dtype=object)
    return y


def _labels_like(y: np.ndarray, rows: np.ndarray, chunks: tuple) -> Any:
    import dask.array as da

    return da.from_array(y[rows], chunks=(chunks,))


def _check_finite(X: Any) -> None:
    import dask.array as da

    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"X must be numeric for this sampler, got a dask array of dtype {X.dtype}."
        )
    if X.dtype.kind == "f":
        finite = bool(da.isfinite(X).all().compute())
        if not finite:
            raise ValueError("Input X contains NaN or infinity.")


def _random_under(sampler: Any, inp: DaskInput) -> tuple[Any, Any]:
    import dask.array as da

    y = _labels(sampler, inp)
    idx = sampler.draw_sample_indices(y)
    X_res = inp.X[idx]
    sampler.sample_indices_ = da.from_array(idx, chunks=(X_res.chunks[0],))
    return X_res, _labels_like(y, idx, X_res.chunks[0])


def _noise_block(state: tuple, rows: int, scale: np.ndarray) -> np.ndarray:
    rng = np.random.RandomState()
    rng.set_state(state)
    noise = rng.randn(rows, scale.shape[0])
    noise *= scale
    return noise


def _add_noise(picked: np.ndarray, noise: np.ndarray, dtype: np.dtype) -> np.ndarray:
    noise += picked
    return noise.astype(dtype, copy=False)


def _random_over(sampler: Any, inp: DaskInput) -> tuple[Any, Any]:
    import dask
    import dask.array as da

    y = _labels(sampler, inp)
    X = inp.X
    random_state = check_random_state(sampler.random_state)
    sampler.shrinkage_ = sampler.resolve_shrinkage()
    if sampler.shrinkage_ is not None and X.dtype.kind not in "biuf":
        raise ValueError(
            "When shrinkage is not None, X needs to contain only "
            "numerical data to later generate a smoothed bootstrap "
            "sample."
        )
    n, d = X.shape
    out_dtype = X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)
    blocks = [X.astype(out_dtype) if sampler.shrinkage_ is not None else X]
    new_rows = []
    for class_sample, num_samples in sampler.sampling_strategy_.items():
        class_indices = np.flatnonzero(y == class_sample)
        bootstrap = random_state.choice(class_indices, size=num_samples, replace=True)
        new_rows.append(bootstrap)
        picked = X[bootstrap]
        if sampler.shrinkage_ is None:
            blocks.append(picked)
            continue
        # Smoothed bootstrap: the class's spread is computed exactly as in
        # memory (the class is gathered once), and the noise is drawn in
        # blocks from snapshots of the one random stream, so the values equal
        # the in-memory ones without holding them all on the client.
        X_class = np.asarray(X[class_indices].compute())
        scale = sampler.smoothing_scale(X_class, n, class_sample)
        scale_ref = as_graph_value(scale)
        noise_parts = []
        for start in range(0, num_samples, SYNTHETIC_BLOCK_ROWS):
            rows = min(SYNTHETIC_BLOCK_ROWS, num_samples - start)
            state = random_state.get_state()
            random_state.randn(rows, d)  # advance the stream past this block
            noise_parts.append(
                da.from_delayed(
                    dask.delayed(_noise_block, pure=True)(state, rows, scale_ref),
                    shape=(rows, d),
                    dtype=np.float64,
                )
            )
        if not noise_parts:
            blocks.append(picked.astype(out_dtype))
            continue
        noise = da.concatenate(noise_parts).rechunk((picked.chunks[0], (d,)))
        blocks.append(
            da.map_blocks(_add_noise, picked, noise, out_dtype, dtype=out_dtype)
        )
    new_indices = np.concatenate([np.empty(0, dtype=np.intp), *new_rows])
    all_indices = np.concatenate([np.arange(n), new_indices])
    X_res = da.concatenate(blocks, axis=0)
    sampler.sample_indices_ = da.from_array(all_indices, chunks=(X_res.chunks[0],))
    return X_res, _labels_like(y, all_indices, X_res.chunks[0])


def _interpolate(
    X_class: np.ndarray, nns: np.ndarray, samples: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    from imbfast import _core

    out = np.empty((samples.shape[0], X_class.shape[1]), dtype=X_class.dtype)
    _core.smote_interpolate(X_class, nns, samples, steps, out, 1)
    return out


def _interpolate_pairs(
    base: np.ndarray, nb: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    """SMOTE rows from gathered pairs; ``steps`` has shape (n, 1).

    Same arithmetic as the C++ kernel and imbalanced-learn: the difference in
    the data's dtype, the rest in float64.
    """
    diff = nb - base
    return (base + steps * diff).astype(base.dtype)


def _sharded_class_neighbors(X_class: Any, k: int, settings: dict) -> np.ndarray:
    """(n_class, k) neighbours within a class too large to gather: query by chunk.

    In approximate mode the recall of the whole table is measured once (on
    a sample of its rows) and recorded, not once per chunk of queries.
    """
    from imbfast.dask._cleaning import gather_rows
    from imbfast.dask._search import chunks_indexed, measure_recall, recall_sample
    from imbfast.neighbors import record_recall

    n_class = X_class.shape[0]
    nns = np.empty((n_class, k), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(X_class.chunks[0])])
    for i in range(len(X_class.chunks[0])):
        lo, hi = int(offsets[i]), int(offsets[i + 1])
        queries = np.asarray(X_class[lo:hi].compute())
        nns[lo:hi], _ = sharded_kneighbors(
            X_class, queries, k, query_rows=np.arange(lo, hi), measure=False, **settings
        )
    if settings["neighbors"] == "approx":
        pick = recall_sample(n_class)
        recall = measure_recall(
            X_class, gather_rows(X_class, pick), nns[pick], query_rows=pick
        )
        record_recall(recall, n_class, chunks_indexed(X_class, n_class))
    return nns


def _smote(sampler: Any, inp: DaskInput) -> tuple[Any, Any]:
    import dask
    import dask.array as da

    from imbfast.neighbors import NearestNeighbors

    y = _labels(sampler, inp)
    _check_finite(inp.X)
    sampler.neighbors_estimator()
    X = inp.X
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    blocks, y_blocks = [X], [inp.y]
    limit = _gather_limit()
    for class_sample, n_samples in sampler.sampling_strategy_.items():
        if n_samples == 0:
            continue
        rows = np.flatnonzero(y == class_sample)
        X_class = X[rows]
        k_total = sampler.nn_k_.n_neighbors
        if k_total > rows.shape[0]:
            sampler.class_neighbors(np.empty((rows.shape[0], X.shape[1])))
        gathered = rows.shape[0] * X.shape[1] * X.dtype.itemsize <= limit
        if gathered or not isinstance(sampler.nn_k_, NearestNeighbors):
            X_local = np.ascontiguousarray(X_class.compute())
            nns, samples, steps = sampler.class_draws(X_local, n_samples)
            x_ref, nns_ref = as_graph_value(X_local), as_graph_value(nns)
            for start in range(0, n_samples, SYNTHETIC_BLOCK_ROWS):
                stop = min(n_samples, start + SYNTHETIC_BLOCK_ROWS)
                task = dask.delayed(_interpolate, pure=True)(
                    x_ref, nns_ref, samples[start:stop], steps[start:stop]
                )
                blocks.append(
                    da.from_delayed(
                        task, shape=(stop - start, X.shape[1]), dtype=X.dtype
                    )
                )
        else:
            # The class does not fit one process: its neighbours come from the
            # sharded search, its rows are gathered by the tasks that need them.
            sampler.nn_k_._validate_params()  # as NearestNeighbors.fit does
            settings = search_settings(sampler.nn_k_)
            nns = _sharded_class_neighbors(X_class, k_total - 1, settings)
            random_state = check_random_state(sampler.random_state)
            samples = random_state.randint(low=0, high=nns.size, size=n_samples)
            steps = random_state.uniform(size=n_samples)
            base = X_class[samples // nns.shape[1]]
            nb = X_class[nns.ravel()[samples]].rechunk((base.chunks[0], -1))
            step_arr = da.from_array(steps, chunks=(base.chunks[0],))
            blocks.append(
                da.map_blocks(
                    _interpolate_pairs, base, nb, step_arr[:, None], dtype=X.dtype
                )
            )
        y_blocks.append(
            da.full(n_samples, class_sample, dtype=y.dtype, chunks=SYNTHETIC_BLOCK_ROWS)
        )
    X_res = da.concatenate(blocks, axis=0)
    y_res = da.concatenate(y_blocks).rechunk((X_res.chunks[0],))
    return X_res, y_res


def _cleaning(keep_fn: Any, grouped: bool) -> Any:
    """A handler for a cleaning sampler whose decision is ``keep_fn``."""

    def handler(sampler: Any, inp: DaskInput) -> tuple[Any, Any]:
        import dask.array as da

        y = _labels(sampler, inp)
        _check_finite(inp.X)
        keep = keep_fn(sampler, inp, y)
        if grouped:  # rows grouped by class (sorted labels), ascending within
            order = np.argsort(np.unique(y, return_inverse=True)[1], kind="stable")
            idx = order[keep[order]]
        else:  # original order
            idx = np.flatnonzero(keep)
        from imbfast.under_sampling._cleaning import warn_emptied

        warn_emptied(sampler, y, y[idx])
        X_res = inp.X[idx]
        sampler.sample_indices_ = da.from_array(idx, chunks=(X_res.chunks[0],))
        return X_res, _labels_like(y, idx, X_res.chunks[0])

    return handler


def _stratified(sampler: Any, inp: DaskInput) -> tuple[Any, Any]:
    import dask.array as da

    from imbfast.dask._stratified import stratified_indices

    idx = stratified_indices(sampler, inp)
    X_res = inp.X[idx]
    sampler.sample_indices_ = da.from_array(idx, chunks=(X_res.chunks[0],))
    return X_res, inp.y[idx]


def _smote_then_clean(sampler: Any, inp: DaskInput) -> tuple[Any, Any]:
    sampler.smote_estimator()
    cleaner = sampler.cleaner_estimator()
    if not isinstance(sampler.smote_, SMOTE):
        raise TypeError(
            f"On dask, {type(sampler).__name__} needs imbfast's SMOTE "
            f"(got {type(sampler.smote_).__module__}.{type(sampler.smote_).__name__})."
        )
    sampler.sampling_strategy_ = sampler.sampling_strategy
    sampler.n_features_in_ = inp.X.shape[1]
    X_over, y_over = sampler.smote_.fit_resample(inp.X, inp.y)
    return cleaner.fit_resample(X_over, y_over)


def _unsupported(sampler: Any, inp: DaskInput) -> tuple[Any, Any]:
    raise TypeError(_unsupported_message(sampler))


# The dask path of each sampler class, found by the sampler's class (its
# method resolution order: a subclass takes its base's path). Filled once,
# below, at import; _unsupported for every other class.
_PATHS = functools.singledispatch(_unsupported)
_PATHS.register(RandomUnderSampler, _random_under)
_PATHS.register(RandomOverSampler, _random_over)
_PATHS.register(StratifiedSampler, _stratified)
_PATHS.register(SMOTE, _smote)
_PATHS.register(TomekLinks, _cleaning(tomek_keep, grouped=False))
_PATHS.register(EditedNearestNeighbours, _cleaning(enn_keep, grouped=True))
_PATHS.register(SMOTETomek, _smote_then_clean)
_PATHS.register(SMOTEENN, _smote_then_clean)


def dask_samplers() -> list[str]:
    """Names of the sampler classes that accept dask collections.

    Their subclasses do too (they take the same path).
    """
    return sorted(cls.__name__ for cls in _PATHS.registry if cls is not object)


def _unsupported_message(sampler: Any) -> str:
    return (
        f"{type(sampler).__name__} does not accept dask collections (it would "
        "compute them into memory); the samplers that do are: "
        f"{', '.join(dask_samplers())}."
    )


def fit_resample_dask(sampler: Any, X: Any, y: Any) -> tuple[Any, Any]:
    """Resample dask X and y with ``sampler``; returns lazy dask collections.

    The samplers hand dask input over to this function (see
    :class:`imbfast.base.DaskDispatchMixin`).

    Parameters
    ----------
    sampler : imbfast sampler
        Its parameters are used as given; its fitted attributes are set.
        One of :func:`dask_samplers` or a subclass of one.
    X : dask array or dask DataFrame
        Rows chunked, columns in one chunk (rechunked if not).
    y : dask array, dask Series, NumPy array, or a column name of X
        The target.

    Returns
    -------
    X_resampled, y_resampled
        Dask collections of the input's kind, equal to the in-memory result.

    Raises
    ------
    TypeError
        For a sampler without a dask path, before anything is computed.
    """
    fn = _PATHS.dispatch(type(sampler))
    if fn is _unsupported:
        raise TypeError(_unsupported_message(sampler))
    sampler._validate_params()
    inp = normalize(X, y)
    X_res, y_res = fn(sampler, inp)
    return restore(inp, X_res, y_res)
