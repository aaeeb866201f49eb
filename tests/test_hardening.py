"""Regression tests for defects fuzzing found outside the neighbour engine.

Each case used to hang (spinning with the GIL released), overflow, or raise
an unrelated exception; now it answers at once.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from imbfast import _core
from imbfast.sampling import StratifiedStream, balanced_batches, stratified_sample

INT64_MAX = np.iinfo(np.int64).max


def run_isolated(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter: a hang fails by timeout, not forever."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    "call",
    [
        "stratified_sample(np.array([0, 0, 1]), {0: 2**62}, replace=True)",
        "stratified_sample(np.array([0, 0, 1]), 1e12, replace=True)",
        "stratified_sample(np.array([0, 0, 1]), 2**62, replace=True)",
        "StratifiedStream({0: 2**62}, class_counts={0: 2, 1: 1}, replace=True)",
        "StratifiedStream(2**62, class_counts={0: 2, 1: 1}, replace=True)",
        "_core.replacement_profile(0, 0, 1, 2**62)",
    ],
)
def test_huge_replacement_targets_fail_at_once(call):
    # imbalanced-learn raises MemoryError at once for such a draw; so do we.
    proc = run_isolated(
        f"""
        import numpy as np
        from imbfast import _core
        from imbfast.sampling import StratifiedStream, stratified_sample
        try:
            {call}
        except MemoryError as exc:
            print("MemoryError:", exc)
        """,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert "MemoryError:" in proc.stdout and "memory" in proc.stdout


def test_huge_targets_without_replacement_are_value_errors():
    y = np.array([0, 0, 1])
    for target in ({0: 2**64}, 2**64, {0: 2**62}):
        with pytest.raises(ValueError, match="rows"):
            stratified_sample(y, target)
    with pytest.raises(ValueError, match="rows"):
        StratifiedStream({0: 2**64})


def test_replacement_below_the_limit_still_works():
    limit = _core.max_index_rows()
    assert 2**20 < limit <= INT64_MAX // 8
    idx = stratified_sample(
        np.array([0, 0, 1]), {0: 1000}, replace=True, random_state=0
    )
    assert idx.shape == (1001,)
    assert np.bincount(np.array([0, 0, 1])[idx]).tolist() == [1000, 1]


def test_replacement_profile_limit_is_memory():
    limit = _core.max_index_rows()
    with pytest.raises(MemoryError, match="replacement_profile"):
        _core.replacement_profile(0, 0, 3, limit + 1)
    assert _core.replacement_profile(0, 0, 3, 10).sum() == 10


def test_drop_last_without_a_full_batch_raises():
    gen = balanced_batches(
        np.zeros((3, 2)), [0, 1, 1], batch_size=4, drop_last=True, n_epochs=None
    )
    with pytest.raises(ValueError, match="no batch would ever be yielded"):
        next(gen)
    # Finite epochs too: silently yielding nothing would hide the mistake.
    gen = balanced_batches(
        np.zeros((3, 2)), [0, 1, 1], batch_size=4, drop_last=True, n_epochs=2
    )
    with pytest.raises(ValueError, match="no batch"):
        next(gen)
    # Zero epochs asked: nothing to do, nothing to complain about.
    assert (
        list(
            balanced_batches(
                np.zeros((3, 2)), [0, 1, 1], batch_size=4, drop_last=True, n_epochs=0
            )
        )
        == []
    )


def test_balanced_batches_accepts_lists():
    X = [[0.0, 1.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
    y = [0, 1, 1, 1]
    got = list(balanced_batches(X, y, batch_size=2, random_state=0))
    want = list(balanced_batches(np.array(X), y, batch_size=2, random_state=0))
    assert len(got) == len(want) == 2
    for (xa, ya), (xb, yb) in zip(got, want, strict=True):
        assert isinstance(xa, np.ndarray)
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)


def test_stream_accepts_uint64_labels_like_stratified_sample():
    big = 2**64 - 1
    y = np.array([big, big, big, 5], dtype=np.uint64)
    for replace in (False, True):
        expected = stratified_sample(y, 1, replace=replace, random_state=4)
        stream = StratifiedStream(
            1, class_counts={big: 3, 5: 1}, replace=replace, random_state=4
        )
        got = stream.add(y[:1], 0).add(y[1:], 1).finish()
        assert np.array_equal(got, expected)
    only = StratifiedStream(2, class_counts={big: 3}, random_state=0)
    got = only.add(y[:3], 0).finish()
    assert got.shape == (2,) and set(got.tolist()) <= {0, 1, 2}


def test_stream_rejects_bad_class_counts():
    with pytest.raises(ValueError, match="class_counts"):
        StratifiedStream(1, class_counts={0: 2**64})
    with pytest.raises(ValueError, match="class_counts"):
        StratifiedStream(1, class_counts={0: -1})
    with pytest.raises(ValueError, match="int64 or uint64"):
        StratifiedStream(1, class_counts={-1: 1, 2**64 - 1: 1})


def test_stream_callable_target_with_class_counts():
    y = np.array([0] * 6 + [1] * 2 + [2] * 3)

    def halve_majority(labels):
        values, counts = np.unique(labels, return_counts=True)
        return {values[np.argmax(counts)]: int(counts.max()) // 2}

    expected = stratified_sample(y, halve_majority, random_state=1)
    stream = StratifiedStream(
        halve_majority, class_counts={0: 6, 1: 2, 2: 3}, random_state=1
    )
    got = stream.add(y[:5], 0).add(y[5:], 5).finish()
    assert np.array_equal(got, expected)
    assert np.bincount(y[got]).tolist() == [3, 2, 3]


def test_key_threshold_rejects_non_finite_sigmas():
    for sigmas in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="sigmas"):
            _core.key_threshold(0, 5, sigmas)


def test_gather_rows_rejects_structured_object_dtypes():
    dt = np.dtype([("a", "O")])
    X = np.empty((2, 1), dtype=dt)
    with pytest.raises(ValueError, match="objects"):
        _core.gather_rows(X, np.array([0], dtype=np.int64), np.empty((1, 1), dtype=dt))


def test_extreme_labels_do_not_overflow():
    # Labels far outside the caller's range: reported, never a wrapped slot.
    y = np.array([INT64_MAX, 0, np.iinfo(np.int64).min], dtype=np.int64)
    bound = np.full(2, np.iinfo(np.uint64).max, dtype=np.uint64)
    *_, outside = _core.stratified_scan(y, -5, bound, 0, 1)
    assert outside == (np.iinfo(np.int64).min, INT64_MAX)
    idx = stratified_sample(y, 1, random_state=0)
    assert sorted(y[idx].tolist()) == sorted(y.tolist())


def test_enn_keep_huge_n_classes_costs_nothing():
    codes = np.array([0, 1, 1], dtype=np.int64)
    nbrs = np.array([[1, 2], [2, 0], [1, 0]], dtype=np.int64)
    rows = np.arange(3, dtype=np.int64)
    small = _core.enn_keep(rows, nbrs, 2, codes, 2, "mode")
    huge = _core.enn_keep(rows, nbrs, 2, codes, 2**62, "mode")
    assert np.array_equal(small, huge)
