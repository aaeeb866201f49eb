"""Shared helpers for imbfast's benchmarks.

Every benchmark puts imbalanced-learn (the baseline) and imbfast in the same
pytest-benchmark group on the same data, so the ratio is measured in one run.
Set IMBFAST_BENCH_LARGE=1 for the large sizes.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

LARGE = os.environ.get("IMBFAST_BENCH_LARGE", "") not in ("", "0")


def best_time(fn, repeat: int = 5) -> float:
    """Best wall time of ``repeat`` calls of fn (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def copy_bandwidth(n_bytes: int = 256 * 2**20) -> float:
    """Measured memory copy bandwidth in bytes/s (bytes written per second).

    A NumPy copy between two large buffers: the physical floor for kernels
    that write a new array of the same size.
    """
    src = np.ones(n_bytes // 8)
    dst = np.empty_like(src)
    seconds = best_time(lambda: np.copyto(dst, src), repeat=5)
    return n_bytes / seconds


def gemm_rate(n: int = 2048) -> float:
    """Measured float32 GEMM rate in FLOP/s (compute-bound square product)."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    seconds = best_time(lambda: a @ a, repeat=3)
    return 2 * n**3 / seconds


@pytest.fixture(scope="session")
def bandwidth() -> float:
    return copy_bandwidth()
