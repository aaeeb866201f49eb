"""Exact stratified sampling over row-sharded labels.

The selection is, per class, the rows with the smallest keyed hash of
(seed, global row); it does not depend on the partitioning, so the result
equals :func:`imbfast.sampling.stratified_sample` on the whole array. Only
class counts and candidate row ids move:

1. every partition counts its labels; the client adds them up and resolves
   the per-class quotas;
2. every partition keeps, per class, its rows whose key is below a bound
   that the quota-th smallest key stays under with overwhelming probability
   (at most the quota of them);
3. the client keeps the quota smallest keys among the candidates. A class
   whose bound turned out too tight (fewer candidates than its quota) is
   searched again without a bound, so the result is always exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imbfast import _core
from imbfast.dask._collections import DaskInput

_SIGMAS = 8.0


def _partition_counts(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.unique(np.asarray(block), return_counts=True)


def _partition_candidates(
    block: np.ndarray,
    offset: int,
    classes: np.ndarray,
    want: np.ndarray,
    threshold: list[int] | None,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """This partition's rows below the key bound, per class (rows, sizes)."""
    slots = np.searchsorted(classes, np.asarray(block)).astype(np.int64)
    selector = _core.StratifiedSelector(0, want, threshold, seed)
    if slots.shape[0]:
        selector.add(np.ascontiguousarray(slots), int(offset), 1)
    return selector.finish(complete=False)


def _class_counts(y: Any) -> tuple[np.ndarray, np.ndarray]:
    import dask

    parts = dask.compute(
        *[dask.delayed(_partition_counts)(b) for b in y.to_delayed().ravel()]
    )
    classes = np.unique(np.concatenate([c for c, _ in parts]))
    counts = np.zeros(classes.shape[0], dtype=np.int64)
    for c, n in parts:
        counts[np.searchsorted(classes, c)] += n
    return classes, counts


def _candidates(
    y: Any,
    classes: np.ndarray,
    want: np.ndarray,
    threshold: list[int] | None,
    seed: int,
) -> list[np.ndarray]:
    """Candidate rows per class slot, gathered from every partition."""
    import dask

    offsets = np.concatenate([[0], np.cumsum(y.chunks[0])]).astype(np.int64)
    tasks = [
        dask.delayed(_partition_candidates, pure=True)(
            block, int(offsets[i]), classes, want, threshold, seed
        )
        for i, block in enumerate(y.to_delayed().ravel())
    ]
    per_slot: list[list[np.ndarray]] = [[] for _ in range(classes.shape[0])]
    for rows, sizes in dask.compute(*tasks):
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        for s in range(classes.shape[0]):
            per_slot[s].append(rows[bounds[s] : bounds[s + 1]])
    return [np.concatenate(p) if p else np.empty(0, np.int64) for p in per_slot]


def stratified_indices(sampler: Any, inp: DaskInput) -> np.ndarray:
    """The StratifiedSampler's sample indices for sharded labels."""
    from imblearn.utils import check_sampling_strategy

    from imbfast.sampling import resolve_target, stratified_draw

    classes, counts = _class_counts(inp.y)
    if classes.shape[0] < 2:
        raise ValueError(
            "The target 'y' needs to have more than 1 class. "
            f"Got {classes.shape[0]} class instead"
        )
    # imbalanced-learn resolves the strategy from y; only its class counts
    # matter, so a y with the same counts is built here, not gathered.
    y_like = np.repeat(classes, counts)
    sampler.sampling_strategy_ = check_sampling_strategy(
        sampler.sampling_strategy, y_like, sampler._sampling_type
    )
    del y_like
    sampler.n_features_in_ = inp.X.shape[1]
    target = {label: int(n) for label, n in sampler.sampling_strategy_.items()}
    n_keep = resolve_target(target, classes, counts, replace=sampler.replacement)
    draw = stratified_draw(
        classes,
        counts,
        n_keep,
        replace=sampler.replacement,
        random_state=sampler.random_state,
    )
    seed, want = draw.seed, draw.want
    max_key = (1 << 64) - 1
    threshold = [
        max_key if w < 0 else int(_core.key_threshold(int(w), int(n), _SIGMAS))
        for w, n in zip(want, counts, strict=True)
    ]
    cands = _candidates(inp.y, classes, want, threshold, seed)
    short = [
        s
        for s in range(classes.shape[0])
        if want[s] >= 0 and cands[s].shape[0] < want[s]
    ]
    if short:  # a bound was too tight: search those classes without one
        retry_want = np.zeros_like(want)
        retry_want[short] = want[short]
        unbounded = [max_key] * classes.shape[0]
        retry = _candidates(inp.y, classes, retry_want, unbounded, seed)
        for s in short:
            cands[s] = retry[s]

    kept, sizes = [], []
    for s in range(classes.shape[0]):
        rows = cands[s]
        if want[s] >= 0 and rows.shape[0] > want[s]:
            keys = _core.row_keys_at(seed, np.ascontiguousarray(rows, dtype=np.int64))
            rows = rows[np.argpartition(keys, int(want[s]) - 1)[: int(want[s])]]
        rows = np.sort(rows)
        kept.append(rows)
        sizes.append(rows.shape[0])
    idx = np.concatenate(kept) if kept else np.empty(0, np.int64)
    return draw.expand(idx, np.asarray(sizes, dtype=np.int64))
