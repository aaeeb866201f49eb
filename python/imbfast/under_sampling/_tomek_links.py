"""Tomek links: pairs decided in C++ from one 1-NN search."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from imblearn.under_sampling.base import BaseCleaningSampler
from sklearn.utils import _safe_indexing

from imbfast import _core
from imbfast.base import DaskDispatchMixin, resolve_n_jobs, take_rows
from imbfast.neighbors import (
    NEIGHBORS_CONSTRAINT,
    NeighborsModeMixin,
    algorithm_for,
    kneighbors,
)
from imbfast.under_sampling._cleaning import label_codes, targeted_codes, warn_emptied


def tomek_removal(
    X: Any, y: np.ndarray, keys: Any, n_jobs: int | None, algorithm: str = "auto"
) -> np.ndarray:
    """Boolean mask of the samples of classes ``keys`` that sit in a Tomek link."""
    classes, codes = label_codes(y)
    nn1 = np.ascontiguousarray(
        kneighbors(X, 1, n_jobs=n_jobs, algorithm=algorithm)[:, 0]
    )
    targeted = targeted_codes(classes, keys)
    return _core.tomek_links(nn1, codes, targeted, resolve_n_jobs(n_jobs))


class TomekLinks(NeighborsModeMixin, DaskDispatchMixin, BaseCleaningSampler):
    """Remove the targeted members of Tomek links.

    Two samples form a Tomek link when each is the other's nearest
    neighbour and their labels differ. A drop-in for
    :class:`imblearn.under_sampling.TomekLinks`: same parameters, same
    ``sample_indices_`` (original order kept).

    Parameters
    ----------
    sampling_strategy : str, list or callable, default='auto'
        The classes whose linked samples are removed: 'majority',
        'not minority', 'not majority', 'all', 'auto' (= 'not minority'), a
        list of labels, or a callable returning a dict whose keys are the
        labels.
    n_jobs : int, default=None
        Threads, with joblib's meaning. The result does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        How neighbours are searched: "exact" (imbfast's exact engines) or
        "approx" (an inverted file of FAISS k-means cells, calibrated to
        recall 0.99 on a sample of queries, its candidates re-ranked with
        exact distances; see :func:`imbfast.neighbors.kneighbors`). Not
        available on dask input.

    Attributes
    ----------
    sampling_strategy_ : dict
        The targeted classes (keys).
    sample_indices_ : ndarray of shape (n_new_samples,)
        Rows of the input kept.
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``.
    neighbors_recall_ : float
        Only with ``neighbors="approx"``: the estimated recall of the
        approximate searches (fraction of the exact neighbours found,
        weighted by queries; 1.0 when every search was small enough to be
        answered exactly).

    Notes
    -----
    The nearest neighbour of a sample never is the sample itself, even with
    exact duplicates (imbalanced-learn takes column 0 of its search as
    "self", which with duplicates is often another sample); equally distant
    neighbours go to the lower index.

    Peak memory: the output plus O(n_samples) for the neighbour ids.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.under_sampling import TomekLinks
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            flip_y=0.05, random_state=10)
    >>> X_res, y_res = TomekLinks().fit_resample(X, y)
    >>> Counter(y_res)[1] < Counter(y)[1]
    True
    """

    _parameter_constraints: dict = {
        **BaseCleaningSampler._parameter_constraints,
        "n_jobs": [numbers.Integral, None],
        "neighbors": NEIGHBORS_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        links = tomek_removal(
            X,
            y,
            self.sampling_strategy_.keys(),
            self.n_jobs,
            algorithm_for(self.neighbors),
        )
        self.sample_indices_ = np.flatnonzero(~links)
        y_res = _safe_indexing(y, self.sample_indices_)
        warn_emptied(self, y, y_res)
        return take_rows(X, self.sample_indices_, resolve_n_jobs(self.n_jobs)), y_res

    def __sklearn_tags__(self):
        """Tags: ``sample_indices_`` is set."""
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags
