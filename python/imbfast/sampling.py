"""Exact stratified sampling and balanced mini-batches, as plain functions.

:func:`stratified_sample` returns row indices with exactly the requested
number of rows per class. Every row gets a 64-bit key from a hash of
``(seed, global row index)`` (splitmix64, computed with SIMD in the C++
core); per class, the rows with the smallest keys are kept. Keys never tie,
so the selection is a function of the seed, the row index and the label
alone: the whole array, a stream of chunks fed in any order
(:class:`StratifiedStream`) and any ``n_jobs`` return the same indices for the
same seed.

Output order: classes in sorted label order, row indices ascending within a
class (with replacement, a row drawn several times appears that many times in
a row).

:func:`balanced_batches` yields mini-batches with a fixed class mix, epoch
after epoch, without building a resampled copy of the data;
:class:`BalancedBatchSampler` hands the same batches' row indices to a
PyTorch ``DataLoader`` (``batch_sampler=``) without importing torch.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state

from imbfast import _core
from imbfast.base import check_X_any, resolve_n_jobs, take_rows

__all__ = [
    "BalancedBatchSampler",
    "StratifiedDraw",
    "StratifiedStream",
    "balanced_batches",
    "resolve_target",
    "stratified_draw",
    "stratified_sample",
    "under_sampling_targets",
]

# Integer labels spanning at most this many values go to the core as they
# are; wider ones are encoded with np.unique first.
_MAX_SPAN = 1 << 20
# Labels read (a strided view) to guess the class sizes before the exact pass.
_SAMPLE = 1 << 18
_MAX_KEY = np.uint64(2**64 - 1)
# Margin of the key bounds, in standard deviations of the quota.
_SIGMAS = 8.0
# Surplus candidates beyond which a loose bound is worth another pass.
_LOOSE = 1 << 16
_UNDER_STRINGS = ("auto", "majority", "not minority", "not majority", "all")


@dataclass
class _Labels:
    """Labels ready for the core: slot = codes - lo."""

    codes: np.ndarray  # int32 or int64, C-contiguous
    lo: int
    span: int  # number of slots
    classes: np.ndarray  # the distinct labels, sorted
    slots: np.ndarray  # slot of each class
    counts: np.ndarray  # rows per class
    integer: bool  # labels are integers (their value seeds the replacement draw)


def _as_1d(y: Any) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional, got an array of shape {y.shape}.")
    return y


def _integer_codes(y: np.ndarray) -> np.ndarray | None:
    """y as a contiguous int32/int64 array, or None when it is not integer."""
    if y.dtype.kind not in "iu":
        return None
    if y.dtype in (np.int32, np.int64):
        return np.ascontiguousarray(y)
    if y.dtype.itemsize < 4 or y.dtype == np.uint32:
        return np.ascontiguousarray(
            y, dtype=np.int64 if y.dtype == np.uint32 else np.int32
        )
    if y.size and y.max() > np.iinfo(np.int64).max:  # uint64 beyond int64
        return None
    return np.ascontiguousarray(y, dtype=np.int64)


@dataclass
class _Encoded:
    """Codes for the core and how many rows of each slot a sample holds."""

    codes: np.ndarray  # int32 or int64, C-contiguous; slot = codes - lo
    lo: int
    sampled: np.ndarray  # rows per slot in the sample
    sample_size: int  # the whole array when `sampled` are exact counts
    classes: np.ndarray | None  # the label of each slot (None: lo + slot)

    def labels(self, counts: np.ndarray) -> _Labels:
        """The classes present, given the exact rows per slot."""
        slots = np.flatnonzero(counts)
        classes = slots + self.lo if self.classes is None else self.classes[slots]
        integer = self.classes is None or self.classes.dtype.kind in "iu"
        return _Labels(
            self.codes, self.lo, counts.shape[0], classes, slots, counts[slots], integer
        )


def _encode(y: np.ndarray) -> _Encoded:
    """Integer labels as they are, with a strided sample of them; others coded."""
    n = y.shape[0]
    codes = _integer_codes(y)
    if codes is not None:
        sample = codes[:: max(1, n // _SAMPLE)]
        lo, hi = int(sample.min()), int(sample.max())
        if hi - lo < _MAX_SPAN:
            sampled = np.bincount(sample - lo, minlength=hi - lo + 1)
            return _Encoded(codes, lo, sampled, sample.shape[0], None)
    return _unique_codes(y)


def _unique_codes(y: np.ndarray) -> _Encoded:
    """Labels coded by np.unique (exact counts): wide or non-integer labels."""
    classes, inverse = np.unique(y, return_inverse=True)
    inverse = np.ascontiguousarray(inverse.ravel(), dtype=np.int64)
    counts = np.bincount(inverse, minlength=classes.shape[0])
    return _Encoded(inverse, 0, counts, y.shape[0], classes)


def _widen(y: np.ndarray, enc: _Encoded, outside: tuple[int, int]) -> _Encoded:
    """The sample missed labels outside its range: cover them, or code y."""
    lo = min(enc.lo, outside[0])
    hi = max(enc.lo + enc.sampled.shape[0] - 1, outside[1])
    if hi - lo >= _MAX_SPAN:
        return _unique_codes(y)
    sampled = np.zeros(hi - lo + 1, dtype=np.int64)
    sampled[enc.lo - lo : enc.lo - lo + enc.sampled.shape[0]] = enc.sampled
    return _Encoded(enc.codes, lo, sampled, enc.sample_size, None)


def _key_bounds(want: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Key bound under which, w.h.p., at least `want` of `n` rows fall."""
    return np.asarray(
        _core.key_threshold(want.astype(np.int64), n.astype(np.int64), _SIGMAS),
        dtype=np.uint64,
    ).reshape(-1)


def _guess_bounds(target: Any, enc: _Encoded, replace: bool) -> np.ndarray:
    """Key bound per slot from the sampled class sizes.

    The bound only decides how many candidates the exact pass keeps (a few
    more than needed); a wrong guess costs another pass, never a wrong row.
    """
    bound = np.full(enc.sampled.shape[0], _MAX_KEY, dtype=np.uint64)
    present = np.flatnonzero(enc.sampled)
    if callable(target) and not isinstance(target, Mapping):
        return bound  # resolving it needs every label
    seen = enc.sampled[present].astype(np.float64)
    n = enc.codes.shape[0]
    est = np.maximum(np.rint(seen * (n / enc.sample_size)), 1).astype(np.int64)
    classes = present + enc.lo if enc.classes is None else enc.classes[present]
    try:
        n_keep = resolve_target(target, classes, est, replace=replace)
    except (TypeError, ValueError):
        return bound  # the exact counts will tell whether the target is valid
    quota = n_keep.astype(np.float64)
    if replace:  # about the expected number of distinct rows among n_keep draws
        quota = est * -np.expm1(-quota / est)
    if enc.sample_size < n:  # binomial error of the sampled counts
        quota *= 1 + 6 * np.sqrt(1 / seen + 1 / seen.min())
    quota = np.ceil(quota)
    sel = (quota > 0) & (quota < est)
    bound[present[sel]] = _key_bounds(quota[sel], est[sel])
    return bound


def _seed(random_state: Any) -> int:
    """A 64-bit seed: the int itself, or one draw from the RandomState."""
    if isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, bool
    ):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state}.")
        return int(random_state) & 0xFFFFFFFFFFFFFFFF
    rng = check_random_state(random_state)
    return int(rng.randint(0, 2**63 - 1, dtype=np.int64))


def under_sampling_targets(
    strategy: str | float, classes: np.ndarray, counts: np.ndarray
) -> dict[Any, int]:
    """imbalanced-learn's under-sampling targets, computed from class counts.

    Gives what ``check_sampling_strategy(strategy, y, "under-sampling")``
    gives for a y with these counts (the tests check it), without the sorts
    imbalanced-learn runs over y: minority and majority ties go to the
    smaller label.
    """
    if len(classes) <= 1:
        raise ValueError(
            "The target 'y' needs to have more than 1 class. "
            f"Got {len(classes)} class instead"
        )
    i_min, i_max = int(np.argmin(counts)), int(np.argmax(counts))
    n_min = int(counts[i_min])
    if isinstance(strategy, str):
        if strategy == "minority":
            raise ValueError(
                "'sampling_strategy'='minority' cannot be used with under-sampler "
                "and clean-sampler."
            )
        if strategy not in _UNDER_STRINGS:
            raise ValueError(
                "When 'sampling_strategy' is a string, it needs to be one of "
                f"{(*_UNDER_STRINGS, 'minority')}. Got '{strategy}' instead."
            )
        keep = {
            "all": lambda i: True,
            "majority": lambda i: i == i_max,
            "not majority": lambda i: i != i_max,
            "not minority": lambda i: i != i_min,
            "auto": lambda i: i != i_min,
        }[strategy]
        return {classes[i]: n_min for i in range(len(classes)) if keep(i)}
    # imbalanced-learn's float ratio: binary problems only.
    if len(classes) != 2:
        raise ValueError(
            '"sampling_strategy" can be a float only when the type of target is '
            "binary. For multi-class, use a dict."
        )
    if not 0 < strategy <= 1:
        raise ValueError(
            "When 'sampling_strategy' is a float, it should be in the range (0, 1]. "
            f"Got {strategy} instead."
        )
    out = {}
    for i in range(2):
        if i == i_min:
            continue
        out[classes[i]] = int(n_min / strategy)
        if out[classes[i]] > counts[i]:
            raise ValueError(
                "The specified ratio required to generate new sample in the majority "
                "class while trying to remove samples. Please increase the ratio."
            )
    return out


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to weights summing to total; ties to earlier entries."""
    share = total * weights / weights.sum()
    base = np.floor(share).astype(np.int64)
    left = int(total - base.sum())
    if left > 0:
        order = np.argsort(-(share - base), kind="stable")
        base[order[:left]] += 1
    return base


def _row_count(k: int, what: str, replace: bool) -> int:
    """k, checked to fit the int64 row counts (and memory, with replacement)."""
    limit = _core.max_index_rows() if replace else np.iinfo(np.int64).max
    if k > limit:
        if replace:
            raise MemoryError(
                f"target: {k} rows requested {what}; an index array of that many "
                f"rows does not fit in this machine's memory ({limit} rows at most)."
            )
        raise ValueError(f"target: {k} rows requested {what}, more than any y has.")
    return k


def resolve_target(
    target: Any,
    classes: np.ndarray,
    counts: np.ndarray,
    *,
    replace: bool = False,
    y: Any = None,
) -> np.ndarray:
    """Rows to keep per class for a stratified-sampling target.

    Parameters
    ----------
    target : int, float, str, dict or callable
        - int ``k``: ``k`` rows of every class.
        - float ``f`` in (0, 1] (any positive float with ``replace``): a
          fraction of all rows, keeping the class proportions: the total is
          ``round(f * n)`` and it is split over the classes by largest
          remainder of ``f * n_c`` (ties to the smaller label).
        - dict ``{label: value}``: an int value is a number of rows, a
          float value a fraction of that class (``floor(f * n_c + 0.5)``);
          classes not listed are kept whole.
        - str: imbalanced-learn's under-sampling strategies ('auto',
          'majority', 'not minority', 'not majority', 'all'): the targeted
          classes are brought to the minority count, the others kept whole.
        - callable ``f(y) -> dict``: resolved by imbalanced-learn's
          ``check_sampling_strategy`` on ``y`` (under-sampling), then as a
          dict of counts.
    classes, counts : ndarray
        The sorted distinct labels and their number of rows.
    replace : bool, default=False
        Whether counts above a class's size are allowed.
    y : array-like, default=None
        The labels, needed only for a callable target.

    Returns
    -------
    n_keep : ndarray of int64, shape (n_classes,)
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_keep = counts.copy()
    index = {label: i for i, label in enumerate(classes.tolist())}

    def class_index(label: Any) -> int:
        key = label.item() if isinstance(label, np.generic) else label
        if key not in index:
            raise ValueError(f"target: class {label!r} is not present in y.")
        return index[key]

    if callable(target) and not isinstance(target, Mapping):
        from imblearn.utils import check_sampling_strategy

        if y is None:
            raise ValueError("target: a callable needs the labels y.")
        target = dict(check_sampling_strategy(target, _as_1d(y), "under-sampling"))
    if isinstance(target, bool):
        raise TypeError(
            "target must be an int, float, str, dict or callable, got a bool."
        )
    if isinstance(target, str):
        target = under_sampling_targets(target, classes, counts)
    if isinstance(target, numbers.Integral):
        if target < 0:
            raise ValueError(
                f"target: the number of rows per class must be >= 0, got {target}."
            )
        n_keep[:] = _row_count(int(target), "per class", replace)
    elif isinstance(target, numbers.Real):
        f = float(target)
        if not (f > 0 and (replace or f <= 1)) or not np.isfinite(f):
            raise ValueError(
                "target: a fraction must be in (0, 1] (or > 0 with replace=True), "
                f"got {target}."
            )
        total = _row_count(int(np.floor(f * counts.sum() + 0.5)), "in all", replace)
        n_keep = _largest_remainder(total, f * counts)
    elif isinstance(target, Mapping):
        for label, value in target.items():
            i = class_index(label)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(
                    f"target: the value for class {label!r} must be an int (rows) or a "
                    f"float (fraction), got {value!r}."
                )
            if isinstance(value, numbers.Integral):
                if value < 0:
                    raise ValueError(
                        f"target: class {label!r} cannot keep a negative number "
                        "of rows "
                        f"({value})."
                    )
                n_keep[i] = _row_count(int(value), f"of class {label!r}", replace)
            else:
                if not (value >= 0 and (replace or value <= 1)) or not np.isfinite(
                    value
                ):
                    raise ValueError(
                        f"target: the fraction for class {label!r} must be in [0, 1], "
                        f"got {value}."
                    )
                n_keep[i] = _row_count(
                    int(np.floor(value * counts[i] + 0.5)),
                    f"of class {label!r}",
                    replace,
                )
    else:
        raise TypeError(
            "target must be an int, float, str, dict or callable, got "
            f"{type(target).__name__}."
        )
    if not replace:
        over = np.flatnonzero(n_keep > counts)
        if over.size:
            i = int(over[0])
            raise ValueError(
                f"target: class {classes[i]!r} has {counts[i]} rows, {n_keep[i]} "
                "requested; pass replace=True to draw with replacement."
            )
    empty = np.flatnonzero((counts == 0) & (n_keep > 0))
    if empty.size:
        raise ValueError(
            f"target: class {classes[int(empty[0])]!r} has no rows to draw from."
        )
    return n_keep


def _label_key(label: Any) -> int:
    """An integer label as the int64 with its 64 bits (uint64 labels wrap)."""
    key = int(label) & 0xFFFFFFFFFFFFFFFF
    return key - (1 << 64) if key >= 1 << 63 else key


def _plan(
    labels: _Labels, n_keep: np.ndarray, seed: int, replace: bool
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Per slot: distinct rows wanted (-1 = all), and multiplicities if any."""
    want = np.zeros(labels.span, dtype=np.int64)
    profiles: list[np.ndarray | None] = [None] * labels.classes.shape[0]
    if replace:
        # Like NumPy's "Unable to allocate": fail at once, before any draw.
        total = sum(int(k) for k in n_keep)
        if total > _core.max_index_rows():
            raise MemoryError(
                f"target: {total} rows requested in all; an index array of that "
                "many rows does not fit in this machine's memory "
                f"({_core.max_index_rows()} rows at most)."
            )
    for i, (slot, n_c, k) in enumerate(
        zip(labels.slots, labels.counts, n_keep, strict=True)
    ):
        if not replace:
            want[slot] = -1 if k == n_c else k
            continue
        key = _label_key(labels.classes[i]) if labels.integer else i
        profile = _core.replacement_profile(seed, key, int(n_c), int(k))
        profiles[i] = profile
        want[slot] = profile.shape[0]
    return want, profiles


def _expand(
    rows: np.ndarray,
    sizes: np.ndarray,
    labels: _Labels,
    profiles: list[np.ndarray | None],
) -> np.ndarray:
    if all(p is None for p in profiles):
        return rows
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    parts = []
    for i, slot in enumerate(labels.slots):
        block = rows[bounds[slot] : bounds[slot + 1]]
        parts.append(block if profiles[i] is None else np.repeat(block, profiles[i]))
    return np.concatenate(parts) if parts else rows[:0]


@dataclass(frozen=True, eq=False)
class StratifiedDraw:
    """What a stratified sample keeps of each class, from the class sizes alone.

    The part of :func:`stratified_sample` that needs no labels, for callers
    that select the rows themselves (the sharded path of
    :class:`imbfast.under_sampling.StratifiedSampler` on dask): per class,
    the ``want`` rows with the smallest keys ``splitmix64(seed, row)``,
    then :meth:`expand` repeats them for a draw with replacement. Made by
    :func:`stratified_draw`.

    Attributes
    ----------
    seed : int
        The 64-bit seed of the row keys.
    want : ndarray of shape (n_classes,), int64
        Distinct rows kept per class (classes in sorted label order); -1
        keeps every row of the class.
    profiles : tuple of ndarray or None
        With replacement, how many times each kept row appears, per class
        (``None`` for a class without repeats).
    """

    seed: int
    want: np.ndarray
    profiles: tuple[np.ndarray | None, ...]
    labels: _Labels

    def expand(self, rows: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """The sample indices from the selected rows.

        Parameters
        ----------
        rows : ndarray of int64
            The selected rows, class after class (sorted label order),
            ascending within a class.
        sizes : ndarray of shape (n_classes,), int64
            How many of ``rows`` belong to each class.

        Returns
        -------
        indices : ndarray of int64
            ``rows`` with each repeated as its profile says (unchanged
            without replacement): what :func:`stratified_sample` returns.
        """
        return _expand(rows, sizes, self.labels, list(self.profiles))


def stratified_draw(
    classes: np.ndarray,
    counts: np.ndarray,
    n_keep: np.ndarray,
    *,
    replace: bool = False,
    random_state: Any = None,
) -> StratifiedDraw:
    """Draw a stratified sample's per-class quotas and repeats from class sizes.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
        The distinct labels, sorted.
    counts : ndarray of shape (n_classes,)
        Rows per class.
    n_keep : ndarray of shape (n_classes,)
        Rows to return per class (see :func:`resolve_target`).
    replace : bool, default=False
        Draw with replacement.
    random_state : int, RandomState instance or None, default=None
        An int is the seed itself; otherwise one 63-bit seed is drawn, as
        :func:`stratified_sample` does.

    Returns
    -------
    draw : StratifiedDraw
        The seed, the distinct rows wanted per class and the repeats; the
        same as :func:`stratified_sample` decides for labels with these
        class sizes.
    """
    classes = np.asarray(classes)
    counts = np.asarray(counts, dtype=np.int64)
    labels = _Labels(
        np.empty(0, np.int64),
        0,
        classes.shape[0],
        classes,
        np.arange(classes.shape[0]),
        counts,
        classes.dtype.kind in "iu",
    )
    seed = _seed(random_state)
    want, profiles = _plan(labels, n_keep, seed, replace)
    return StratifiedDraw(seed, want, tuple(profiles), labels)


def stratified_sample(
    y: Any,
    target: Any,
    *,
    replace: bool = False,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Row indices with exactly the requested number of rows per class.

    Within each class the rows are a uniform random sample: without
    replacement, the rows whose key ``splitmix64(seed, row)`` is smallest;
    with replacement, the multiplicities of ``k`` i.i.d. draws are simulated
    from the class size alone and given to the rows with the smallest keys
    (see ``cpp/include/imbfast/stratified.hpp``). Either way the result
    depends only on the seed, the labels and the row indices: the same as
    :class:`StratifiedStream` over any chunking, for any ``n_jobs``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels. Integer arrays go to the C++ core as they are; other
        labels are encoded with ``np.unique`` first.
    target : int, float, str, dict or callable
        How many rows to keep per class; see :func:`resolve_target`. A float
        is a fraction of all rows keeping the class proportions (not
        imbalanced-learn's minority/majority ratio; use
        :class:`imbfast.under_sampling.StratifiedSampler` for that).
    replace : bool, default=False
        Draw with replacement (then counts may exceed a class's size).
    random_state : int, RandomState instance or None, default=None
        An int is the seed itself; otherwise one 63-bit seed is drawn.
    n_jobs : int, default=None
        Threads, ``None`` (default) uses every core the process may use,
        ``1`` one thread (see ``imbfast.base.resolve_n_jobs``).

    Returns
    -------
    indices : ndarray of int64
        Classes in sorted label order, rows ascending within each class.

    Examples
    --------
    >>> import numpy as np
    >>> from imbfast.sampling import stratified_sample
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> idx = stratified_sample(y, "auto", random_state=0)
    >>> np.bincount(y[idx]).tolist()
    [10, 10]
    """
    n_threads = resolve_n_jobs(n_jobs)
    y = _as_1d(y)
    if y.shape[0] == 0:
        raise ValueError("y must contain at least one label.")
    seed = _seed(random_state)
    enc = _encode(y)
    bound = _guess_bounds(target, enc, replace)
    return _select(y, enc, bound, target, replace, seed, n_threads)


def _select(
    y: np.ndarray,
    enc: _Encoded,
    bound: np.ndarray,
    target: Any,
    replace: bool,
    seed: int,
    n_threads: int,
) -> np.ndarray:
    """Scan the labels (exact counts, candidates under `bound`), then gather.

    A class whose bound turns out too tight (fewer candidates than its
    quota) or far too loose is scanned again with the bound computed from
    its exact size; a bound that is still too tight is lifted.
    """
    while True:
        rows_per_block, cand_per_block, bits, outside = _core.stratified_scan(
            enc.codes, enc.lo, bound, seed, n_threads
        )
        if outside is not None:
            enc = _widen(y, enc, outside)
            bound = _guess_bounds(target, enc, replace)
            continue
        counts = rows_per_block.sum(axis=0)
        labels = enc.labels(counts)
        n_keep = resolve_target(
            target, labels.classes, labels.counts, replace=replace, y=y
        )
        want, profiles = _plan(labels, n_keep, seed, replace)
        cand = cand_per_block.sum(axis=0)
        sel = np.flatnonzero(want > 0)
        exact = _key_bounds(want[sel], counts[sel])
        tight = cand[sel] < want[sel]
        loose = (cand[sel] > 2 * want[sel] + _LOOSE) & (bound[sel] > exact)
        if not (tight.any() or loose.any()):
            break
        retry = np.where(tight & (bound[sel] >= exact), _MAX_KEY, exact)
        bound = bound.copy()
        bound[sel[tight | loose]] = retry[tight | loose]
    rows, sizes = _core.stratified_gather(
        enc.codes,
        enc.lo,
        want,
        bound,
        rows_per_block,
        cand_per_block,
        bits,
        seed,
        n_threads,
    )
    return _expand(rows, sizes, labels, profiles)


def _class_array(labels: Any) -> np.ndarray:
    """Sorted labels as an array; integers beyond int64 as uint64, not floats."""
    keys = sorted(labels)
    if keys and all(
        isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in keys
    ):
        lo, hi = int(keys[0]), int(keys[-1])
        if lo >= np.iinfo(np.int64).min and hi <= np.iinfo(np.int64).max:
            return np.array(keys, dtype=np.int64)
        if lo >= 0 and hi <= np.iinfo(np.uint64).max:
            return np.array(keys, dtype=np.uint64)
        raise ValueError(
            f"class labels must fit in int64 or uint64, got {lo if lo < 0 else hi}."
        )
    return np.array(keys)


class StratifiedStream:
    """Exact stratified sampling over labels that arrive in chunks.

    Feed each chunk of labels with the global index of its first row
    (:meth:`add`), in any order, each row once; :meth:`finish` returns the
    indices :func:`stratified_sample` would return on the concatenated
    labels with the same seed. Memory is about the selected rows (plus one
    chunk), whatever the number of rows.

    Parameters
    ----------
    target : int, float, str, dict or callable
        As for :func:`stratified_sample`. A dict of int counts needs no
        ``class_counts`` (without replacement); every other form does. A
        callable is called with the labels rebuilt from ``class_counts``
        (one per row, classes in sorted order).
    class_counts : dict, default=None
        Rows per class over the whole stream (e.g. from a first pass over
        the labels). It fixes the classes; :meth:`finish` checks it.
    replace : bool, default=False
        Draw with replacement (needs ``class_counts``).
    random_state : int, RandomState instance or None, default=None
        As for :func:`stratified_sample`.
    n_jobs : int, default=None
        Threads per chunk.
    """

    def __init__(
        self,
        target: Any,
        *,
        class_counts: Mapping[Any, int] | None = None,
        replace: bool = False,
        random_state: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self._n_threads = resolve_n_jobs(n_jobs)
        self._seed = _seed(random_state)
        self._replace = replace
        if class_counts is None:
            if (
                replace
                or not isinstance(target, Mapping)
                or not all(
                    isinstance(v, numbers.Integral) and not isinstance(v, bool)
                    for v in target.values()
                )
            ):
                raise ValueError(
                    "class_counts is required unless target is a dict of row counts "
                    "and replace=False."
                )
            classes = _class_array(target)
            counts = None
        else:
            classes = _class_array(class_counts)
            raw = [class_counts[c] for c in classes.tolist()]
            if not all(
                isinstance(v, numbers.Integral)
                and not isinstance(v, bool)
                and 0 <= v <= np.iinfo(np.int64).max
                for v in raw
            ):
                raise ValueError(
                    "class_counts: every value must be a non-negative int of at most "
                    f"2**63 - 1 rows, got {raw!r}."
                )
            counts = np.array(raw, dtype=np.int64)
        if classes.size == 0:
            raise ValueError("StratifiedStream needs at least one class.")
        self.classes_ = classes
        self._counts = counts
        if counts is not None:
            y_all = None
            if callable(target) and not isinstance(target, Mapping):
                # The callable reads labels: one per row, rebuilt from the counts.
                y_all = np.repeat(classes, counts)
            n_keep = resolve_target(target, classes, counts, replace=replace, y=y_all)
        else:
            wanted = [int(target[c]) for c in classes.tolist()]
            if any(k < 0 for k in wanted):
                raise ValueError("target: row counts must be >= 0.")
            n_keep = np.array(
                [
                    _row_count(k, f"of class {c!r}", False)
                    for c, k in zip(classes.tolist(), wanted, strict=True)
                ],
                dtype=np.int64,
            )
        self._integer = classes.dtype.kind in "iu"
        # Narrow integer classes within int64: the labels are their own codes.
        self._direct = (
            self._integer
            and int(classes[-1]) <= np.iinfo(np.int64).max
            and int(classes[-1]) - int(classes[0]) < _MAX_SPAN
        )
        if self._direct:
            lo, span = int(classes[0]), int(classes[-1]) - int(classes[0]) + 1
            slots = classes.astype(np.int64) - lo
        else:
            lo, span, slots = 0, classes.shape[0], np.arange(classes.shape[0])
        self._labels = _Labels(
            np.empty(0, np.int64),
            lo,
            span,
            classes,
            slots,
            counts if counts is not None else np.zeros(classes.shape[0], np.int64),
            self._integer,
        )
        want, self._profiles = _plan(self._labels, n_keep, self._seed, replace)
        self._selector = _core.StratifiedSelector(lo, want, None, self._seed)
        self._finished = False

    def _chunk_codes(self, y: Any) -> np.ndarray:
        y = _as_1d(y)
        if self._direct and y.dtype.kind in "iu":
            codes = _integer_codes(y)
            if codes is not None:
                slot = codes.astype(np.int64, copy=False) - self._labels.lo
                bad = (slot < 0) | (slot >= self._labels.span)
                if not bad.any():
                    known = np.zeros(self._labels.span, dtype=bool)
                    known[self._labels.slots] = True
                    bad = ~known[slot]
                if bad.any():
                    raise ValueError(
                        f"label {y[int(np.argmax(bad))]!r} is not one of the "
                        "stream's classes."
                    )
                return codes
        pos = np.searchsorted(self.classes_, y)
        pos = np.minimum(pos, self.classes_.shape[0] - 1)
        bad = self.classes_[pos] != y
        if np.any(bad):
            raise ValueError(
                f"label {y[int(np.argmax(bad))]!r} is not one of the stream's classes."
            )
        return np.ascontiguousarray(
            self._labels.slots[pos] + self._labels.lo, dtype=np.int64
        )

    def add(self, y: Any, offset: int) -> StratifiedStream:
        """Feed the labels of rows ``offset .. offset + len(y) - 1``."""
        if self._finished:
            raise ValueError("StratifiedStream.add: the stream is finished.")
        if (
            isinstance(offset, bool)
            or not isinstance(offset, numbers.Integral)
            or offset < 0
        ):
            raise ValueError(f"offset must be a non-negative int, got {offset!r}.")
        codes = self._chunk_codes(y)
        if codes.shape[0]:
            self._selector.add(codes, int(offset), self._n_threads)
        return self

    def finish(self) -> np.ndarray:
        """The selected row indices (order as :func:`stratified_sample`)."""
        if self._finished:
            raise ValueError("StratifiedStream.finish: the stream is already finished.")
        seen = self._selector.seen()[self._labels.slots]
        if self._counts is not None and not np.array_equal(seen, self._counts):
            i = int(np.argmax(seen != self._counts))
            raise ValueError(
                f"class_counts says class {self.classes_[i]!r} has "
                f"{self._counts[i]} rows, "
                f"the stream had {seen[i]}."
            )
        rows, sizes = self._selector.finish()
        self._finished = True
        return _expand(rows, sizes, self._labels, self._profiles)


def _index_rows(X: Any, idx: np.ndarray, n_threads: int) -> Any:
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    if sparse.issparse(X):
        return X[idx]
    return take_rows(X, idx, n_threads)


class _BatchPlan:
    """The class mix of balanced batches, and the row indices of each batch.

    Shared by :func:`balanced_batches` (which gathers the rows) and
    :class:`BalancedBatchSampler` (which hands the indices to a data loader):
    validates the settings, splits every batch size between the classes
    (largest remainder of the class weights) and draws the indices from one
    random stream per class (see :func:`balanced_batches` for the semantics).
    """

    def __init__(
        self,
        y_arr: np.ndarray,
        batch_size: Any,
        class_weights: Mapping[Any, float] | None,
        sampling_strategy: Any,
        drop_last: bool,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
            raise TypeError(f"batch_size must be an int, got {batch_size!r}.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        if class_weights is not None and sampling_strategy is not None:
            raise ValueError("Pass class_weights or sampling_strategy, not both.")
        n = y_arr.shape[0]
        classes, inverse = np.unique(y_arr, return_inverse=True)
        counts = np.bincount(inverse.ravel(), minlength=classes.shape[0])
        if sampling_strategy is not None:
            from imblearn.utils import check_sampling_strategy

            added = check_sampling_strategy(sampling_strategy, y_arr, "over-sampling")
            totals = counts.astype(np.float64)
            for label, extra in added.items():
                totals[int(np.searchsorted(classes, label))] += extra
            weights, n_epoch_rows = totals, int(totals.sum())
        else:
            weights = (
                np.ones(classes.shape[0])
                if class_weights is None
                else np.zeros(classes.shape[0])
            )
            for label, w in (class_weights or {}).items():
                i = int(np.searchsorted(classes, label))
                if i >= classes.shape[0] or classes[i] != label:
                    raise ValueError(
                        f"class_weights: class {label!r} is not present in y."
                    )
                if not np.isfinite(w) or w < 0:
                    raise ValueError(
                        f"class_weights: weight of {label!r} must be >= 0, got {w}."
                    )
                weights[i] = w
            n_epoch_rows = n
        if weights.sum() <= 0:
            raise ValueError("class_weights: at least one weight must be positive.")
        if np.count_nonzero(weights) > batch_size:
            raise ValueError(
                f"batch_size={batch_size} is smaller than the "
                f"{np.count_nonzero(weights)} classes that must appear in a batch."
            )
        self.classes = classes
        self.members = [
            np.flatnonzero(inverse.ravel() == i) for i in range(classes.shape[0])
        ]
        n_full, rest = divmod(n_epoch_rows, batch_size)
        self.sizes = [batch_size] * n_full + ([rest] if rest and not drop_last else [])
        self.batch_size = batch_size
        self.n_epoch_rows = n_epoch_rows
        self.mixes = {s: _largest_remainder(s, weights) for s in set(self.sizes)}

    def batches(
        self, rng: np.random.RandomState, n_epochs: int | None
    ) -> Iterator[np.ndarray]:
        """Row indices of every batch of ``n_epochs`` epochs (None: forever).

        Each class is read through its own permutation, reshuffled when it
        runs out; the class streams continue across epochs; rows are
        shuffled within each batch. All draws come from ``rng``.
        """
        if not self.sizes and n_epochs != 0:
            raise ValueError(
                f"drop_last=True with batch_size={self.batch_size} larger than the "
                f"{self.n_epoch_rows} rows of an epoch: no batch would ever be "
                "yielded."
            )
        members = self.members
        orders = [rng.permutation(m) for m in members]
        cursor = [0] * len(members)

        def draw(i: int, k: int) -> np.ndarray:
            taken = []
            while k > 0:
                if cursor[i] == len(orders[i]):
                    orders[i] = rng.permutation(members[i])
                    cursor[i] = 0
                step = min(k, len(orders[i]) - cursor[i])
                taken.append(orders[i][cursor[i] : cursor[i] + step])
                cursor[i] += step
                k -= step
            return np.concatenate(taken) if taken else np.empty(0, dtype=np.int64)

        epoch = 0
        while n_epochs is None or epoch < n_epochs:
            for size in self.sizes:
                mix = self.mixes[size]
                idx = np.concatenate([draw(i, int(q)) for i, q in enumerate(mix) if q])
                yield idx[rng.permutation(idx.shape[0])]
            epoch += 1


def balanced_batches(
    X: Any,
    y: Any,
    *,
    batch_size: int,
    class_weights: Mapping[Any, float] | None = None,
    sampling_strategy: Any = None,
    random_state: Any = None,
    drop_last: bool = False,
    n_epochs: int | None = 1,
    n_jobs: int | None = None,
) -> Iterator[tuple[Any, Any]]:
    """Yield mini-batches with a fixed class mix, epoch after epoch.

    Nothing is resampled up front: each batch gathers its rows from X and y.

    Semantics:

    - Class mix: every full batch holds ``q_c`` rows of class ``c``, the
      largest-remainder split of ``batch_size`` proportional to the class
      weights (ties to the smaller label). Default weights are equal: a
      balanced batch. ``sampling_strategy`` (imbalanced-learn's
      over-sampling forms) instead weights each class by its size after that
      resampling.
    - Epoch length: ``ceil(N / batch_size)`` batches (``floor`` with
      ``drop_last``), ``N`` the number of rows (or the resampled size with
      ``sampling_strategy``). A short last batch splits its size the same way.
    - Rows: each class is read through its own random permutation; when a
      class runs out it is reshuffled and read again (small classes cycle
      several times per epoch, large ones continue where they stopped in the
      next epoch). Rows are shuffled within each batch. The class streams
      continue across epochs.

    Parameters
    ----------
    X : ndarray, sparse matrix or DataFrame of shape (n_samples, n_features)
    y : array-like or Series of shape (n_samples,)
    batch_size : int
        Rows per batch (at least the number of classes with weight > 0).
    class_weights : dict, default=None
        Non-negative weight per class; classes not listed weigh 0.
    sampling_strategy : float, str, dict or callable, default=None
        Alternative to ``class_weights`` (see above).
    random_state : int, RandomState instance or None, default=None
        Seeds every permutation; one stream for the whole generator.
    drop_last : bool, default=False
        Drop the short last batch of each epoch.
    n_epochs : int or None, default=1
        Epochs to yield; None yields forever.
    n_jobs : int, default=None
        Threads for gathering dense rows.

    Yields
    ------
    X_batch, y_batch
        Same container types as X and y.
    """
    if n_epochs is not None and (
        isinstance(n_epochs, bool)
        or not isinstance(n_epochs, numbers.Integral)
        or n_epochs < 0
    ):
        raise ValueError(
            f"n_epochs must be a non-negative int or None, got {n_epochs!r}."
        )
    y_arr = _as_1d(y)
    if not (hasattr(X, "shape") and hasattr(X, "__getitem__")):
        X = check_X_any(X)  # lists and other array-likes, as scikit-learn does
    plan = _BatchPlan(y_arr, batch_size, class_weights, sampling_strategy, drop_last)
    if X.shape[0] != y_arr.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y_arr.shape[0]}.")
    if sparse.issparse(X) and X.format not in ("csr", "csc"):
        X = X.tocsr()
    rng = check_random_state(random_state)
    n_threads = resolve_n_jobs(n_jobs)
    for idx in plan.batches(rng, n_epochs):
        y_batch = y.iloc[idx] if hasattr(y, "iloc") else y_arr[idx]
        yield _index_rows(X, idx, n_threads), y_batch


class BalancedBatchSampler:
    """Balanced mini-batches of row indices, for a PyTorch ``DataLoader``.

    ``DataLoader(dataset, batch_sampler=BalancedBatchSampler(y, 64))`` makes
    every batch hold the class mix of :func:`balanced_batches` (the same
    index logic), without resampling the dataset and without this module
    importing torch: the sampler only implements the protocol a
    ``batch_sampler`` needs (``__iter__`` yielding lists of int indices,
    ``__len__``), so it also works with any other loader that takes one.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The labels of the dataset's rows (row i of the dataset has label
        ``y[i]``): a list, NumPy array, pandas Series or CPU tensor.
    batch_size : int
        Rows per batch (at least the number of classes with weight > 0).
    class_weights : dict, default=None
        Non-negative weight per class; classes not listed weigh 0. Default:
        equal weights, a balanced batch.
    sampling_strategy : float, str, dict or callable, default=None
        Alternative to ``class_weights``: weight each class by its size
        after imbalanced-learn's over-sampling with this strategy.
    random_state : int, RandomState instance or None, default=None
        Base seed. Epoch ``e`` draws from a stream seeded by
        ``(seed, e)``, so an epoch's batches depend only on the seed and
        the epoch number. ``None`` draws a base seed once, at construction.
    drop_last : bool, default=False
        Drop the short last batch of each epoch.

    Attributes
    ----------
    epoch : int
        The epoch the next pass yields; it advances by one when a pass
        starts (its first batch is drawn), and :meth:`set_epoch` sets it
        (as with PyTorch's ``DistributedSampler``).
    classes_ : ndarray
        The sorted labels.

    Notes
    -----
    Within an epoch, each class is read through its own random permutation
    (small classes cycle, reshuffled, as often as needed); rows are shuffled
    within each batch. Unlike :func:`balanced_batches`, whose class streams
    continue from one epoch to the next, every epoch here starts fresh
    streams from its own seed, so that ``set_epoch`` can replay any epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from imbfast.sampling import BalancedBatchSampler
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> sampler = BalancedBatchSampler(y, batch_size=10, random_state=0)
    >>> len(sampler)
    10
    >>> batch = next(iter(sampler))
    >>> int((y[batch] == 1).sum())
    5
    """

    def __init__(
        self,
        y: Any,
        batch_size: int,
        *,
        class_weights: Mapping[Any, float] | None = None,
        sampling_strategy: Any = None,
        random_state: Any = None,
        drop_last: bool = False,
    ) -> None:
        y_arr = _as_1d(y)
        self._plan = _BatchPlan(
            y_arr, batch_size, class_weights, sampling_strategy, drop_last
        )
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)
        self.classes_ = self._plan.classes
        self.n_samples = int(y_arr.shape[0])
        if random_state is None:
            self._seed = int(np.random.SeedSequence().generate_state(1)[0])
        else:
            self._seed = _seed(random_state)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` yield the batches of this epoch."""
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
            raise TypeError(f"epoch must be an int, got {epoch!r}.")
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}.")
        self.epoch = int(epoch)

    def __len__(self) -> int:
        """Batches per epoch."""
        return len(self._plan.sizes)

    def __iter__(self) -> Iterator[list[int]]:
        """The batches of the current epoch, as lists of row indices.

        The epoch is read (and advanced) when the first batch is drawn, not
        when the iterator is created: PyTorch's multi-process ``DataLoader``
        creates one iterator it never uses before the one it reads.
        """
        epoch = self.epoch
        self.epoch += 1
        state = np.random.SeedSequence([self._seed, epoch]).generate_state(1)
        rng = np.random.RandomState(int(state[0]))
        for idx in self._plan.batches(rng, 1):
            yield idx.tolist()
