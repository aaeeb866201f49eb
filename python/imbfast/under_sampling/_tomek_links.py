"""Tomek links: pairs decided in C++ from the nearest neighbours that matter.

A Tomek link joins two samples of different classes, so at least one end is
not of the majority class. Only the non-majority samples are searched, then
the majority samples they point at; no other majority sample can be in a
link. With a 9:1 majority that is about a tenth of the pairs of searching
every sample. The same rule serves the single-machine and the dask paths;
only the search differs.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
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
from imbfast.under_sampling._cleaning import (
    drop_self,
    label_codes,
    targeted_codes,
    warn_emptied,
)


def tomek_links_mask(
    codes: np.ndarray,
    targeted: np.ndarray,
    nearest: Callable[[np.ndarray], np.ndarray],
    n_threads: int,
) -> tuple[np.ndarray, int]:
    """Targeted members of Tomek links, searching only the rows that matter.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,), int64
        Label code of every sample.
    targeted : ndarray of shape (n_classes,), bool
        Which classes lose their linked samples.
    nearest : callable
        ``nearest(rows)`` returns the nearest other sample of each of
        ``rows`` (self excluded by index, ties to the lower index).
    n_threads : int
        Threads for the decision.

    Returns
    -------
    remove : ndarray of shape (n_samples,), bool
        The samples to remove.
    n_searched : int
        How many samples were searched.
    """
    n = codes.shape[0]
    majority = int(np.argmax(np.bincount(codes)))
    others = np.flatnonzero(codes != majority)
    nn1 = np.full(n, -1, dtype=np.int64)
    if others.size:
        nn1[others] = nearest(others)
        partners = np.unique(nn1[others])
        partners = partners[codes[partners] == majority]
        if partners.size:
            nn1[partners] = nearest(partners)
        n_searched = int(others.size + partners.size)
    else:
        n_searched = 0
    return _core.tomek_links(nn1, codes, targeted, n_threads), n_searched


def tomek_removal(
    X: Any, y: np.ndarray, keys: Any, n_jobs: int | None, algorithm: str = "auto"
) -> np.ndarray:
    """Boolean mask of the samples of classes ``keys`` that sit in a Tomek link."""
    classes, codes = label_codes(y)
    targeted = targeted_codes(classes, keys)
    n_threads = resolve_n_jobs(n_jobs)
    n_others = int(np.count_nonzero(codes != np.argmax(np.bincount(codes))))
    if 2 * n_others >= codes.shape[0]:
        # Most samples need a search anyway: one all-pairs search, which
        # computes each pair once, is cheaper than two query searches.
        all_nn1 = np.ascontiguousarray(
            kneighbors(X, 1, n_jobs=n_jobs, algorithm=algorithm)[:, 0]
        )
        remove, _ = tomek_links_mask(codes, targeted, lambda r: all_nn1[r], n_threads)
        return remove

    def nearest(rows: np.ndarray) -> np.ndarray:
        query = take_rows(X, rows, n_threads)
        ind = kneighbors(X, 2, query=query, n_jobs=n_jobs, algorithm=algorithm)
        return drop_self(np.asarray(ind, dtype=np.int64), rows)[:, 0]

    remove, _ = tomek_links_mask(codes, targeted, nearest, n_threads)
    return remove


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
        Threads: ``None`` (default) uses every core the process may use,
        ``1`` one thread (see ``imbfast.base.resolve_n_jobs``). The result
        does not depend on it.
    neighbors : {"exact", "approx"}, default="exact"
        How neighbours are searched: "exact" (imbfast's exact engines) or
        "approx" (an inverted file of FAISS k-means cells, calibrated to
        recall 0.99 on a sample of queries, its candidates re-ranked with
        exact distances; see :func:`imbfast.neighbors.kneighbors`). On dask
        input every partition searches its own rows with that engine, the
        answers are merged, and ``neighbors_recall_`` is measured against
        the exact sharded search (see :mod:`imbfast.dask`).

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
