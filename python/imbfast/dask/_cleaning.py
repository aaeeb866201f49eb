"""Tomek links and edited nearest neighbours on row-sharded data.

Both decide from neighbour lists; on Dask only the rows that can change the
decision are searched against the shards:

- Tomek links (see imbfast.under_sampling._tomek_links): the non-majority
  rows and the majority rows they point at are searched, nothing else.
- Edited nearest neighbours: each chunk answers, for its own majority rows,
  the k-th neighbour distance within the chunk (an upper bound of the global
  one) and the distance to the nearest non-majority row (broadcast). When the
  latter is larger, every global neighbour is a majority row and the row is
  kept; only the other ("ambiguous") rows are searched against the shards.

With ``neighbors="approx"`` the searches against the shards are the
approximate sharded search (see imbfast.dask._search). The ENN prefilter
stays exact: its within-chunk k-th distance may then come from the
approximate engine, which only returns real rows at exact distances, so it
is still an upper bound of the global one; the distance to the nearest
non-majority row is always exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imbfast import _core
from imbfast.dask._collections import DaskInput, as_graph_value
from imbfast.dask._search import search_settings, sharded_kneighbors


def gather_rows(X: Any, rows: np.ndarray) -> np.ndarray:
    """X[rows] for sorted rows, computed into the client."""
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    if rows.size == 0:
        return np.empty((0, X.shape[1]), dtype=dtype)
    return np.ascontiguousarray(X[rows].compute(), dtype=dtype)


def _record(sampler: Any, **stats: int) -> None:
    """Rows the distributed algorithm shipped, for the curious and the benchmarks."""
    sampler.dask_stats_ = stats


def tomek_keep(sampler: Any, inp: DaskInput, y: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows a TomekLinks sampler keeps."""
    from imbfast.under_sampling._cleaning import label_codes, targeted_codes
    from imbfast.under_sampling._tomek_links import tomek_links_mask

    classes, codes = label_codes(y)
    targeted = targeted_codes(classes, sampler.sampling_strategy_.keys())

    def nearest(rows: np.ndarray) -> np.ndarray:
        ind, _ = sharded_kneighbors(
            inp.X,
            gather_rows(inp.X, rows),
            1,
            query_rows=rows,
            neighbors=sampler.neighbors,
        )
        return ind[:, 0]

    remove, n_searched = tomek_links_mask(codes, targeted, nearest, 1)
    _record(sampler, rows_queried=n_searched, n_chunks=len(inp.X.chunks[0]))
    return ~remove


def _enn_prefilter(
    block: np.ndarray,
    codes: np.ndarray,
    offset: int,
    majority: int,
    others: np.ndarray,
    k: int,
    settings: dict[str, Any],
) -> np.ndarray:
    """Global ids of this chunk's majority rows whose neighbours may be mixed."""
    from imbfast.neighbors import squared_kneighbors, untracked

    local = np.flatnonzero(codes == majority)
    if local.size == 0:
        return local.astype(np.int64)
    if block.shape[0] <= k or others.shape[0] == 0:
        return local.astype(np.int64) + offset
    dtype = others.dtype
    block = np.ascontiguousarray(block, dtype=dtype)
    if settings["neighbors"] == "approx":
        # Any k rows give an upper bound of the k-th neighbour distance.
        with untracked():
            _, d_local = squared_kneighbors(
                block,
                k,
                n_threads=1,
                algorithm="approx",
                approx_recall=settings["approx_recall"],
                nprobe=settings["nprobe"],
            )
    else:
        _, d_local = squared_kneighbors(block, k, n_threads=1)
    _, d_other = squared_kneighbors(others, 1, query=block[local], n_threads=1)
    ambiguous = d_other[:, 0] <= d_local[local, k - 1]
    return local[ambiguous].astype(np.int64) + offset


def enn_keep(sampler: Any, inp: DaskInput, y: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows an EditedNearestNeighbours sampler keeps."""
    import dask

    from imbfast.neighbors import NearestNeighbors
    from imbfast.under_sampling._cleaning import label_codes, targeted_codes

    sampler.neighbors_estimator()
    if not isinstance(sampler.nn_, NearestNeighbors):
        raise TypeError(
            "On dask, EditedNearestNeighbours needs an int n_neighbors; "
            "a neighbours object cannot search sharded data."
        )
    sampler.nn_._validate_params()  # as NearestNeighbors.fit does in memory
    settings = search_settings(sampler.nn_)
    k = sampler.nn_.n_neighbors - 1
    classes, codes = label_codes(y)
    n_classes = classes.shape[0]
    targeted = targeted_codes(classes, sampler.sampling_strategy_.keys())
    majority = int(np.argmax(np.bincount(codes, minlength=n_classes)))
    X = inp.X
    others = np.flatnonzero(codes != majority)
    if k > codes.shape[0] - 1:
        raise ValueError(
            f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k + 1}, "
            f"n_samples_fit = {codes.shape[0]}, n_samples = {codes.shape[0]}"
        )

    ambiguous = np.empty(0, dtype=np.int64)
    if targeted[majority]:
        others_ref = as_graph_value(gather_rows(X, others))
        offsets = np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(np.int64)
        tasks = [
            dask.delayed(_enn_prefilter, pure=True)(
                block,
                codes[offsets[i] : offsets[i + 1]],
                int(offsets[i]),
                majority,
                others_ref,
                k,
                settings,
            )
            for i, block in enumerate(X.to_delayed().ravel())
        ]
        ambiguous = np.concatenate([np.empty(0, dtype=np.int64), *dask.compute(*tasks)])
    queried = np.union1d(others[targeted[codes[others]]], ambiguous).astype(np.int64)

    keep = np.ones(codes.shape[0], dtype=bool)
    if queried.size:
        nbrs, _ = sharded_kneighbors(
            X, gather_rows(X, queried), k, query_rows=queried, **settings
        )
        votes = _core.enn_keep(
            queried,
            np.ascontiguousarray(nbrs),
            k,
            codes,
            n_classes,
            sampler.kind_sel,
            1,
        )
        keep[queried] = np.asarray(votes, dtype=bool)
    _record(
        sampler,
        rows_broadcast=int(others.size) if targeted[majority] else 0,
        rows_queried=int(queried.size),
        majority_rows_prefiltered=int(
            np.count_nonzero(codes == majority) - ambiguous.size
        )
        if targeted[majority]
        else 0,
        n_chunks=len(X.chunks[0]),
    )
    return keep
