"""Exact stratified sampling, its stream form, and balanced mini-batches."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from imblearn.utils import check_sampling_strategy
from scipy import sparse, stats

from imbfast import _core
from imbfast.sampling import (
    StratifiedStream,
    balanced_batches,
    stratified_sample,
    under_sampling_targets,
)
from imbfast.under_sampling import StratifiedSampler


@pytest.fixture(scope="module")
def labels() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.choice([-3, 5, 7], size=5000, p=[0.1, 0.3, 0.6]).astype(np.int64)


def class_counts(y: np.ndarray) -> dict:
    values, counts = np.unique(y, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


TARGETS = [
    ("auto", {-3: 527, 5: 527, 7: 527}),
    ("all", {-3: 527, 5: 527, 7: 527}),
    ("majority", {-3: 527, 5: 1479, 7: 527}),
    ("not majority", {-3: 527, 5: 527, 7: 2994}),
    (100, {-3: 100, 5: 100, 7: 100}),
    ({-3: 10, 7: 20}, {-3: 10, 5: 1479, 7: 20}),
    ({5: 0.5, 7: 0.1}, {-3: 527, 5: 740, 7: 299}),
    ({-3: 0}, {-3: 0, 5: 1479, 7: 2994}),
    # 52.7, 147.9, 299.4 -> 500 rows by largest remainder
    (0.1, {-3: 53, 5: 148, 7: 299}),
    (lambda y: {5: 3, 7: 4}, {-3: 527, 5: 3, 7: 4}),
]


@pytest.mark.parametrize(("target", "expected"), TARGETS)
def test_counts_exact_for_every_target_form(labels, target, expected):
    assert class_counts(labels) == {-3: 527, 5: 1479, 7: 2994}
    idx = stratified_sample(labels, target, random_state=0)
    got = class_counts(labels[idx])
    assert {k: got.get(k, 0) for k in expected} == expected
    # Output order: classes sorted, rows ascending within a class.
    assert np.array_equal(np.argsort(labels[idx], kind="stable"), np.arange(idx.size))
    for c in expected:
        rows = idx[labels[idx] == c]
        assert np.all(np.diff(rows) > 0)


def test_fraction_keeps_total_by_largest_remainder():
    y = np.array([0] * 5 + [1] * 5 + [2] * 5)
    idx = stratified_sample(y, 0.5, random_state=1)  # 7.5 -> 8 rows: 3, 3, 2
    assert idx.size == 8
    assert class_counts(y[idx]) == {0: 3, 1: 3, 2: 2}


@pytest.mark.parametrize(
    "counts", [[10, 30, 60], [50, 50, 20], [7, 7, 7], [100, 3], [3, 100], [40, 40]]
)
@pytest.mark.parametrize(
    "strategy", ["auto", "all", "majority", "not majority", "not minority", 0.5]
)
def test_under_sampling_targets_match_imblearn(counts, strategy):
    y = np.repeat(np.arange(len(counts)), counts)
    classes = np.arange(len(counts))
    try:
        expected = dict(check_sampling_strategy(strategy, y, "under-sampling"))
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc)[:30]):
            under_sampling_targets(strategy, classes, np.array(counts))
        return
    assert under_sampling_targets(strategy, classes, np.array(counts)) == expected


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("target", ["auto", 0.3, {5: 2000, -3: 900}])
def test_identical_across_whole_chunked_and_threads(labels, replace, target):
    if not replace and isinstance(target, dict):
        target = {5: 200, -3: 90}
    whole = stratified_sample(labels, target, replace=replace, random_state=11)
    for n_jobs in (1, 2, -1):
        assert np.array_equal(
            whole,
            stratified_sample(
                labels, target, replace=replace, random_state=11, n_jobs=n_jobs
            ),
        )
    # Streams with different chunkings, fed out of order.
    rng = np.random.default_rng(3)
    for _ in range(3):
        cuts = np.unique(
            np.concatenate([[0, labels.size], rng.integers(0, labels.size, 6)])
        )
        pieces = list(itertools.pairwise(cuts))
        rng.shuffle(pieces)
        stream = StratifiedStream(
            target,
            class_counts=class_counts(labels),
            replace=replace,
            random_state=11,
            n_jobs=2,
        )
        for lo, hi in pieces:
            stream.add(labels[lo:hi], int(lo))
        assert np.array_equal(whole, stream.finish())
    # Another label encoding of the same classes: only integer labels seed the
    # replacement draw, so compare selections without replacement.
    if not replace:
        as_int32 = stratified_sample(labels.astype(np.int32), target, random_state=11)
        assert np.array_equal(whole, as_int32)


def test_stream_with_counts_only_needs_no_class_counts(labels):
    target = {-3: 40, 5: 50, 7: 60}
    stream = StratifiedStream(target, random_state=4)
    for start in range(0, labels.size, 777):
        stream.add(labels[start : start + 777], start)
    assert np.array_equal(
        stream.finish(), stratified_sample(labels, target, random_state=4)
    )


def test_wide_integer_and_string_labels():
    rng = np.random.default_rng(5)
    wide = rng.choice([-(10**12), 0, 10**15], size=3000)
    idx = stratified_sample(wide, 50, random_state=0)
    assert class_counts(wide[idx]) == {-(10**12): 50, 0: 50, 10**15: 50}
    words = np.array(["b", "a", "c"])[rng.integers(0, 3, 3000)]
    idx_words = stratified_sample(words, 50, random_state=0)
    assert class_counts(words[idx_words]) == {"a": 50, "b": 50, "c": 50}
    # Same selection for the same class sizes and positions, whatever the labels.
    codes = np.unique(words, return_inverse=True)[1]
    assert np.array_equal(idx_words, stratified_sample(codes, 50, random_state=0))


def test_selection_is_the_smallest_keys(labels):
    idx = stratified_sample(labels, {7: 25}, random_state=9)
    keys = _core.row_keys(9, 0, labels.size)
    rows7 = np.flatnonzero(labels == 7)
    expected = np.sort(rows7[np.argsort(keys[rows7])[:25]])
    assert np.array_equal(idx[labels[idx] == 7], expected)


@pytest.mark.parametrize("bound", [0, 2**64 - 1])
def test_wrong_key_bounds_still_give_the_exact_rows(labels, bound):
    # The key bounds guessed from a sample only set how much work the scan
    # does: far too tight (every class scanned again, then unbounded) or
    # far too loose, the selection is the same.
    from imbfast.sampling import _encode, _select

    target = {7: 25, 5: 40, -3: 0}
    enc = _encode(labels)
    given = np.full(enc.sampled.shape[0], bound, dtype=np.uint64)
    idx = _select(labels, enc, given, target, False, 2, 1)
    assert np.array_equal(idx, stratified_sample(labels, target, random_state=2))


def test_labels_missing_from_the_sample():
    # One row of a class below and one above every sampled label: the scan
    # finds them and widens the range (or codes the labels when too wide).
    for extreme in (5, 10**9):
        y = np.zeros(3_000_000, dtype=np.int64)
        y[1::2] = 1
        y[7] = -extreme
        y[2_000_001] = extreme
        idx = stratified_sample(y, "not minority", random_state=3)
        assert class_counts(y[idx]) == {-extreme: 1, 0: 1, 1: 1, extreme: 1}


def test_uniform_within_class_chi_square():
    # 10 rows in a class, 3 drawn, over a fixed set of 2000 seeds: every row
    # is picked 600 times in expectation (deterministic: the seeds are fixed).
    y = np.array([0] * 10 + [1] * 4)
    hits = np.zeros(10)
    pairs = np.zeros((10, 10))
    for seed in range(2000):
        idx = stratified_sample(y, {0: 3}, random_state=seed)
        chosen = idx[y[idx] == 0]
        hits[chosen] += 1
        pairs[np.ix_(chosen, chosen)] += 1
    assert stats.chisquare(hits).pvalue > 0.01
    off = pairs[~np.eye(10, dtype=bool)]  # every pair equally likely
    assert stats.chisquare(off).pvalue > 0.01


def test_replacement_law_chi_square():
    # k = 3 draws with replacement from 4 rows: the multiset law is known.
    y = np.zeros(4, dtype=np.int64)
    seen = {}
    for seed in range(3000):
        idx = stratified_sample(y, 3, replace=True, random_state=seed)
        key = tuple(np.bincount(idx, minlength=4))
        seen[key] = seen.get(key, 0) + 1
    keys = sorted(seen)
    # P(multiplicities m) = 3! / prod(m!) / 4**3
    from math import factorial, prod

    probs = np.array([factorial(3) / prod(factorial(m) for m in k) / 64 for k in keys])
    assert len(keys) == 20 and np.isclose(probs.sum(), 1)
    observed = np.array([seen[k] for k in keys])
    assert stats.chisquare(observed, probs * 3000).pvalue > 0.01


def test_bad_targets(labels):
    with pytest.raises(ValueError, match="class 8 is not present"):
        stratified_sample(labels, {8: 1})
    with pytest.raises(ValueError, match="has 527 rows, 600 requested"):
        stratified_sample(labels, {-3: 600})
    with pytest.raises(ValueError, match="fraction must be in"):
        stratified_sample(labels, 1.5)
    with pytest.raises(ValueError, match="cannot be used with under-sampler"):
        stratified_sample(labels, "minority")
    with pytest.raises(TypeError, match="target must be"):
        stratified_sample(labels, [1, 2])
    with pytest.raises(ValueError, match="1-dimensional"):
        stratified_sample(np.zeros((3, 2)), 1)
    with pytest.raises(ValueError, match="class_counts is required"):
        StratifiedStream("auto")
    stream = StratifiedStream({5: 1, 7: 1}, random_state=0)
    with pytest.raises(ValueError, match="not one of the stream's classes"):
        stream.add(np.array([5, 6]), 0)
    stream.add(np.array([5, 7, 7]), 0)
    with pytest.raises(ValueError, match="overlap"):
        stream.add(np.array([5]), 2)
    expected = stratified_sample(np.array([5, 7, 7]), {5: 1, 7: 1}, random_state=0)
    assert np.array_equal(stream.finish(), expected)


def test_stratified_sampler_counts_and_indices(multiclass_data):
    X, y = multiclass_data
    sampler = StratifiedSampler(random_state=0, n_jobs=2)
    X_res, y_res = sampler.fit_resample(X, y)
    counts = np.bincount(y_res)
    assert counts.min() == counts.max() == np.bincount(y).min()
    assert np.array_equal(X_res, X[sampler.sample_indices_])
    ratio = StratifiedSampler(sampling_strategy=0.5, random_state=0)
    _, y_ratio = ratio.fit_resample(X[y < 2], y[y < 2])
    n_min = np.bincount(y[y < 2]).min()
    assert np.bincount(y_ratio).tolist() == [n_min, 2 * n_min]


@pytest.mark.parametrize("kind", ["numpy", "pandas", "sparse"])
def test_balanced_batches_class_mix(binary_data, kind):
    X, y = binary_data  # 60 / 540 rows
    if kind == "pandas":
        X, y = pd.DataFrame(X), pd.Series(y)
    elif kind == "sparse":
        X = sparse.csr_matrix(X)
    batches = list(balanced_batches(X, y, batch_size=32, random_state=0, n_epochs=2))
    assert len(batches) == 2 * 19  # ceil(600 / 32) per epoch
    y_all = np.asarray(y)
    for i, (xb, yb) in enumerate(batches):
        yb = np.asarray(yb)
        size = 32 if i % 19 != 18 else 600 - 18 * 32
        assert yb.shape[0] == xb.shape[0] == size
        assert np.bincount(yb, minlength=2).tolist() == [size // 2, size - size // 2]
        if kind == "pandas":
            assert isinstance(xb, pd.DataFrame)
            assert np.array_equal(y_all[xb.index], yb)
        elif kind == "sparse":
            assert sparse.issparse(xb)
    # Each class is read through a permutation: no row repeats in the first
    # epoch's majority draws (fewer than the majority's rows).
    if kind == "pandas":
        first = np.concatenate([np.asarray(b[1].index) for b in batches[:19]])
        majority = first[y_all[first] == 1]
        assert np.unique(majority).size == majority.size


def test_balanced_batches_weights_and_drop_last(binary_data):
    X, y = binary_data
    X = np.column_stack([np.arange(y.size), X])  # column 0: row id
    n_min = int(np.bincount(y).min())
    batches = list(
        balanced_batches(
            X,
            y,
            batch_size=10,
            class_weights={0: 1, 1: 3},
            drop_last=True,
            random_state=1,
        )
    )
    assert len(batches) == 60
    for _, yb in batches:
        assert np.bincount(yb, minlength=2).tolist() == [3, 7]  # 2.5/7.5: tie to 0
    # The minority is cycled through permutations: each run of n_min draws
    # uses every minority row exactly once.
    drawn = np.concatenate([xb[yb == 0, 0] for xb, yb in batches]).astype(int)
    for start in range(0, drawn.size - n_min + 1, n_min):
        assert np.array_equal(
            np.sort(drawn[start : start + n_min]), np.flatnonzero(y == 0)
        )
    strat = next(
        balanced_batches(
            X, y, batch_size=20, sampling_strategy={0: 180}, random_state=0
        )
    )
    assert np.bincount(strat[1]).tolist() == [5, 15]  # 180 : 537
    with pytest.raises(ValueError, match="batch_size"):
        next(balanced_batches(X, y, batch_size=0))
    with pytest.raises(ValueError, match="not both"):
        next(
            balanced_batches(
                X, y, batch_size=4, class_weights={0: 1}, sampling_strategy="auto"
            )
        )


def test_gather_rejects_inputs_that_are_not_its_scan(labels):
    # Slots -3 .. 7; keep 25 rows of class 7 (slot 10).
    bound = np.full(11, 2**63, dtype=np.uint64)
    rows, cand, bits, outside = _core.stratified_scan(labels, -3, bound, 1)
    assert outside is None
    want = np.zeros(11, dtype=np.int64)
    want[10] = 25
    idx, sizes = _core.stratified_gather(labels, -3, want, bound, rows, cand, bits, 1)
    assert sizes[10] == 25 and np.all(labels[idx] == 7)
    with pytest.raises(ValueError, match="do not match the scan"):
        _core.stratified_gather(labels, -3, want, bound, rows, cand, ~bits, 1)
    with pytest.raises(ValueError, match="bits and bound do not match"):
        _core.stratified_gather(labels, -3, want, bound // 4, rows, cand, bits, 1)
    with pytest.raises(IndexError, match="outside the classes"):
        _core.stratified_gather(labels + 1, -3, want, bound, rows, cand, bits, 1)
    with pytest.raises(ValueError, match="bits must have"):
        _core.stratified_gather(labels, -3, want, bound, rows, cand, bits[:-1], 1)


@pytest.mark.parametrize("n_classes", [2, 20])
@pytest.mark.parametrize("n", [1_000, 600_001])
def test_per_class_smallest_keys_few_and_many_classes(n_classes, n):
    # Up to 8 classes and more take different kernels; above 2^18 rows the
    # key bounds are guessed from a strided sample. Sorted labels too.
    rng = np.random.default_rng(n + n_classes)
    p = rng.random(n_classes) + 0.05
    y = rng.choice(np.arange(n_classes) * 3 - 7, size=n, p=p / p.sum())
    keys = _core.row_keys(11, 0, n)
    for labels in (y.astype(np.int32), np.sort(y)):
        counts = class_counts(labels)
        target = {c: k // 3 for c, k in counts.items()}
        expected = np.concatenate(
            [
                np.sort(rows[np.argsort(keys[rows])[: target[c]]])
                for c in sorted(counts)
                for rows in [np.flatnonzero(labels == c)]
            ]
        )
        for n_jobs in (1, 2):
            idx = stratified_sample(labels, target, random_state=11, n_jobs=n_jobs)
            assert np.array_equal(idx, expected)
