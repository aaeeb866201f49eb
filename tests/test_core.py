"""The C++ core through its bindings: bad arguments are errors, never crashes."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import imbfast
from imbfast import _core
from imbfast.base import resolve_n_jobs, usable_cpus


def interp_args(n=10, d=3, k=2, m=5, dtype=np.float64):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, d)).astype(dtype)
    nns = np.ascontiguousarray((np.arange(n)[:, None] + np.arange(1, k + 1)) % n)
    samples = rng.randint(0, n * k, size=m).astype(np.int64)
    steps = rng.uniform(size=m)
    out = np.empty((m, d), dtype=dtype)
    return X, nns, samples, steps, out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_interpolation_matches_numpy(dtype):
    X, nns, samples, steps, out = interp_args(n=50, d=7, k=3, m=400, dtype=dtype)
    _core.smote_interpolate(X, nns, samples, steps, out, 2)
    rows, cols = samples // 3, samples % 3
    expected = (X[rows] + steps[:, None] * (X[nns[rows, cols]] - X[rows])).astype(dtype)
    assert np.array_equal(out, expected)


def test_interpolation_wrong_dtype():
    X, nns, samples, steps, out = interp_args()
    with pytest.raises(ValueError, match="X must have dtype float32 or float64"):
        _core.smote_interpolate(X.astype(np.int32), nns, samples, steps, out, 1)
    with pytest.raises(ValueError, match="nns must have dtype int64"):
        _core.smote_interpolate(X, nns.astype(np.int32), samples, steps, out, 1)
    with pytest.raises(ValueError, match="out must have dtype float64"):
        _core.smote_interpolate(X, nns, samples, steps, out.astype(np.float32), 1)


def test_interpolation_non_contiguous():
    X, nns, samples, steps, out = interp_args()
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.smote_interpolate(np.asfortranarray(X), nns, samples, steps, out, 1)
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.smote_interpolate(X, nns, samples[::2], steps[::2], out[:3], 1)


def test_interpolation_shape_mismatch():
    X, nns, samples, steps, out = interp_args()
    with pytest.raises(ValueError, match="steps has shape"):
        _core.smote_interpolate(X, nns, samples, steps[:-1], out, 1)
    with pytest.raises(ValueError, match="out has shape"):
        _core.smote_interpolate(X, nns, samples, steps, out[:, :2].copy(), 1)
    with pytest.raises(ValueError, match="nns has shape"):
        _core.smote_interpolate(X, nns[:-1].copy(), samples, steps, out, 1)
    with pytest.raises(ValueError, match="2-dimensional"):
        _core.smote_interpolate(X.ravel(), nns, samples, steps, out, 1)


def test_interpolation_out_of_range_indices():
    X, nns, samples, steps, out = interp_args()
    bad = samples.copy()
    bad[2] = nns.size
    with pytest.raises(IndexError, match="sample 20 out of range"):
        _core.smote_interpolate(X, nns, bad, steps, out, 1)
    bad[2] = -1
    with pytest.raises(IndexError, match="out of range"):
        _core.smote_interpolate(X, nns, bad, steps, out, 1)
    bad_nns = nns.copy()
    bad_nns[0, 0] = 10**12
    with pytest.raises(IndexError, match="neighbour"):
        _core.smote_interpolate(X, bad_nns, samples, steps, out, 1)


def test_interpolation_read_only_output():
    X, nns, samples, steps, out = interp_args()
    out.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        _core.smote_interpolate(X, nns, samples, steps, out, 1)


def test_gather_rows():
    X = np.arange(40, dtype=np.int16).reshape(10, 4)
    rows = np.array([3, 3, 0, 9], dtype=np.int64)
    out = np.empty((4, 4), dtype=np.int16)
    _core.gather_rows(X, rows, out, 2)
    assert np.array_equal(out, X[rows])
    with pytest.raises(IndexError, match="row 10 out of range"):
        _core.gather_rows(X, np.array([10], dtype=np.int64), out[:1], 1)
    with pytest.raises(ValueError, match="dtype of X"):
        _core.gather_rows(X, rows, out.astype(np.int32), 1)
    with pytest.raises(ValueError, match="out has shape"):
        _core.gather_rows(X, rows, out[:3], 1)
    with pytest.raises(ValueError, match="object arrays"):
        obj = X.astype(object)
        _core.gather_rows(obj, rows, np.empty((4, 4), dtype=object), 1)


def test_empty_inputs_are_fine():
    X = np.zeros((3, 2))
    out = np.empty((0, 2))
    _core.gather_rows(X, np.empty(0, dtype=np.int64), out, 2)
    nns = np.array([[1], [2], [0]], dtype=np.int64)
    _core.smote_interpolate(X, nns, np.empty(0, dtype=np.int64), np.empty(0), out, 2)


def test_resolve_n_jobs_never_exceeds_hardware():
    hw = _core.hardware_threads()
    assert resolve_n_jobs(None) == resolve_n_jobs(-1) == usable_cpus()
    assert resolve_n_jobs(1) == 1
    assert resolve_n_jobs(100_000) <= hw
    assert resolve_n_jobs(-1) <= hw
    assert resolve_n_jobs(-1000) == 1
    with pytest.raises(ValueError, match="n_jobs"):
        resolve_n_jobs(0)
    with pytest.raises(TypeError, match="n_jobs"):
        resolve_n_jobs(1.5)


def test_default_threads_follow_limits():
    # n_jobs=None honours threadpoolctl limits and OMP_NUM_THREADS, as
    # scikit-learn's compiled routines do.
    with threadpool_limits(1):
        assert resolve_n_jobs(None) == 1
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code = "from imbfast.base import resolve_n_jobs; print(resolve_n_jobs(None))"
    cmd = [sys.executable, "-c", code]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "1"


def test_show_config(capsys):
    imbfast.show_config()
    out = capsys.readouterr().out
    assert imbfast.__version__ in out
    assert _core.active_isa() in ("generic", "avx2", "avx512")
    for key in ("simd", "hardware_threads", "faiss", "numpy"):
        assert key in out


@pytest.mark.parametrize("n_threads", [1, 2])
def test_gather_rows_runs_and_scattered_rows(n_threads):
    # Runs of consecutive rows (copied in one piece), scattered rows,
    # repeats and a run that crosses a thread's chunk boundary.
    rng = np.random.default_rng(4)
    X = rng.standard_normal((5000, 3))
    rows = np.concatenate(
        [
            np.arange(5000),
            rng.integers(0, 5000, 3000),
            np.repeat([7, 7, 8], 5),
            np.arange(4000, 5000),
            np.arange(10)[::-1],
        ]
    ).astype(np.int64)
    out = np.empty((rows.shape[0], 3))
    _core.gather_rows(X, rows, out, n_threads)
    np.testing.assert_array_equal(out, X[rows])
    with pytest.raises(IndexError, match="-1"):
        _core.gather_rows(X, np.array([0, 1, -1], dtype=np.int64), out[:3], n_threads)
