"""Shared fixtures for imbfast's tests."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification


@pytest.fixture(scope="session")
def binary_data() -> tuple[np.ndarray, np.ndarray]:
    """1:9 binary data without distance ties."""
    return make_classification(
        n_samples=600,
        n_features=8,
        n_informative=5,
        weights=[0.1, 0.9],
        random_state=0,
    )


@pytest.fixture(scope="session")
def multiclass_data() -> tuple[np.ndarray, np.ndarray]:
    """Three classes (1:3:6) without distance ties."""
    return make_classification(
        n_samples=900,
        n_features=10,
        n_informative=6,
        n_classes=3,
        weights=[0.1, 0.3, 0.6],
        random_state=1,
    )
