"""Shared helpers for imbfast's benchmarks.

Every benchmark puts imbalanced-learn (the baseline) and imbfast in the same
pytest-benchmark group on the same data, so the ratio is measured in one run.
Set IMBFAST_BENCH_LARGE=1 for the large sizes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from measure import best_time, copy_bandwidth, gemm_rate

__all__ = ["LARGE", "best_time", "copy_bandwidth", "gemm_rate"]

LARGE = os.environ.get("IMBFAST_BENCH_LARGE", "") not in ("", "0")


@pytest.fixture(scope="session")
def bandwidth() -> float:
    return copy_bandwidth()
