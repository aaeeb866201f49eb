"""SMOTE followed by a cleaning pass: SMOTEENN and SMOTETomek."""

from __future__ import annotations

import numbers
from abc import abstractmethod
from typing import Any

import numpy as np
from imblearn.base import BaseSampler
from imblearn.over_sampling import SMOTE as _ImbSMOTE
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.under_sampling import EditedNearestNeighbours as _ImbENN
from imblearn.under_sampling import TomekLinks as _ImbTomekLinks
from sklearn.base import clone
from sklearn.utils import check_X_y

from imbfast.base import DaskDispatchMixin, target_labels
from imbfast.neighbors import NEIGHBORS_CONSTRAINT, NeighborsModeMixin
from imbfast.over_sampling import SMOTE
from imbfast.under_sampling import EditedNearestNeighbours, TomekLinks


class _SMOTEThenClean(NeighborsModeMixin, DaskDispatchMixin, BaseSampler):
    """SMOTE, then a cleaning sampler on the over-sampled data."""

    _sampling_type = "over-sampling"

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        smote: Any = None,
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__()
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.smote = smote
        self.n_jobs = n_jobs
        self.neighbors = neighbors

    def smote_estimator(self) -> Any:
        """The over-sampler ``smote`` describes, stored as ``smote_``.

        With :meth:`cleaner_estimator`, the protocol the in-memory and dask
        paths share: ``smote_`` resamples, then the cleaner.

        Returns
        -------
        smote_ : sampler
            A clone of ``smote``, or imbfast's SMOTE with this sampler's
            ``sampling_strategy``, ``random_state``, ``n_jobs`` and
            ``neighbors``.
        """
        if self.smote is not None:
            self.smote_ = clone(self.smote)
        else:
            # n_jobs only changes the speed of imbfast's SMOTE, not its output.
            self.smote_ = SMOTE(
                sampling_strategy=self.sampling_strategy,
                random_state=self.random_state,
                n_jobs=self.n_jobs,
                neighbors=self.neighbors,
            )
        return self.smote_

    @abstractmethod
    def cleaner_estimator(self) -> Any:
        """The validated cleaning sampler (also set as a fitted attribute)."""

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self.smote_estimator()
        cleaner = self.cleaner_estimator()
        y, _ = target_labels(y)
        X, y = check_X_y(X, y, accept_sparse=["csr", "csc"])
        self.sampling_strategy_ = self.sampling_strategy
        X_res, y_res = self.smote_.fit_resample(X, y)
        return cleaner.fit_resample(X_res, y_res)


class SMOTEENN(_SMOTEThenClean):
    """Over-sample with SMOTE, then clean with edited nearest neighbours.

    A drop-in for :class:`imblearn.combine.SMOTEENN`: for the same integer
    ``random_state`` the same output.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        Passed to the default SMOTE (see
        :class:`imbfast.over_sampling.SMOTE`).
    random_state : int, RandomState instance or None, default=None
        Seeds the default SMOTE.
    smote : SMOTE, default=None
        An imbfast or imbalanced-learn SMOTE to use instead of the default.
    enn : EditedNearestNeighbours, default=None
        An imbfast or imbalanced-learn ENN to use instead of the default
        ``EditedNearestNeighbours(sampling_strategy='all')``.
    n_jobs : int, default=None
        Threads of the default SMOTE and ENN, ``None`` (default) uses every core
        the process may use, ``1`` one thread (see
        ``imbfast.base.resolve_n_jobs``).
    neighbors : {"exact", "approx"}, default="exact"
        Neighbour search of the default SMOTE and ENN: "exact" or "approx" (an
        inverted file of FAISS k-means cells, calibrated to recall 0.99, its
        candidates re-ranked with exact distances; see
        :func:`imbfast.neighbors.kneighbors`). Samplers given in ``smote`` or
        ``enn`` keep their own setting (also on dask input).

    Attributes
    ----------
    sampling_strategy_ : dict
        The ``sampling_strategy`` given.
    smote_ : sampler object
        The SMOTE used.
    enn_ : sampler object
        The ENN used.
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``.
    neighbors_recall_ : float
        Only with ``neighbors="approx"``: the estimated recall of all the
        approximate searches run (fraction of the exact neighbours found,
        weighted by queries).

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.combine import SMOTEENN
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            random_state=10)
    >>> X_res, y_res = SMOTEENN(random_state=0).fit_resample(X, y)
    >>> Counter(y_res)[0] > Counter(y)[0]
    True
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "smote": [SMOTE, _ImbSMOTE, None],
        "enn": [EditedNearestNeighbours, _ImbENN, None],
        "n_jobs": [numbers.Integral, None],
        "neighbors": NEIGHBORS_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        smote: Any = None,
        enn: Any = None,
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(
            sampling_strategy=sampling_strategy,
            random_state=random_state,
            smote=smote,
            n_jobs=n_jobs,
            neighbors=neighbors,
        )
        self.enn = enn

    def cleaner_estimator(self) -> Any:
        """The validated cleaning sampler (also set as a fitted attribute)."""
        if self.enn is not None:
            self.enn_ = clone(self.enn)
        else:
            self.enn_ = EditedNearestNeighbours(
                sampling_strategy="all", n_jobs=self.n_jobs, neighbors=self.neighbors
            )
        return self.enn_


class SMOTETomek(_SMOTEThenClean):
    """Over-sample with SMOTE, then remove both members of Tomek links.

    A drop-in for :class:`imblearn.combine.SMOTETomek`: for the same integer
    ``random_state`` the same output.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        Passed to the default SMOTE (see
        :class:`imbfast.over_sampling.SMOTE`).
    random_state : int, RandomState instance or None, default=None
        Seeds the default SMOTE.
    smote : SMOTE, default=None
        An imbfast or imbalanced-learn SMOTE to use instead of the default.
    tomek : TomekLinks, default=None
        An imbfast or imbalanced-learn TomekLinks to use instead of the
        default ``TomekLinks(sampling_strategy='all')``.
    n_jobs : int, default=None
        Threads of the default SMOTE and TomekLinks, ``None`` (default) uses every core
        the process may use, ``1`` one thread (see
        ``imbfast.base.resolve_n_jobs``).
    neighbors : {"exact", "approx"}, default="exact"
        Neighbour search of the default SMOTE and Tomek links: "exact" or
        "approx" (an inverted file of FAISS k-means cells, calibrated to
        recall 0.99, its candidates re-ranked with exact distances; see
        :func:`imbfast.neighbors.kneighbors`). Samplers given in ``smote`` or
        ``tomek`` keep their own setting (also on dask input).

    Attributes
    ----------
    sampling_strategy_ : dict
        The ``sampling_strategy`` given.
    smote_ : sampler object
        The SMOTE used.
    tomek_ : sampler object
        The TomekLinks used.
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``.
    neighbors_recall_ : float
        Only with ``neighbors="approx"``: the estimated recall of all the
        approximate searches run (fraction of the exact neighbours found,
        weighted by queries).

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from imbfast.combine import SMOTETomek
    >>> X, y = make_classification(n_samples=1000, weights=[0.1, 0.9],
    ...                            random_state=10)
    >>> X_res, y_res = SMOTETomek(random_state=0).fit_resample(X, y)
    >>> Counter(y_res)[0] > Counter(y)[0]
    True
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "smote": [SMOTE, _ImbSMOTE, None],
        "tomek": [TomekLinks, _ImbTomekLinks, None],
        "n_jobs": [numbers.Integral, None],
        "neighbors": NEIGHBORS_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        smote: Any = None,
        tomek: Any = None,
        n_jobs: int | None = None,
        neighbors: str = "exact",
    ) -> None:
        super().__init__(
            sampling_strategy=sampling_strategy,
            random_state=random_state,
            smote=smote,
            n_jobs=n_jobs,
            neighbors=neighbors,
        )
        self.tomek = tomek

    def cleaner_estimator(self) -> Any:
        """The validated cleaning sampler (also set as a fitted attribute)."""
        if self.tomek is not None:
            self.tomek_ = clone(self.tomek)
        else:
            self.tomek_ = TomekLinks(
                sampling_strategy="all", n_jobs=self.n_jobs, neighbors=self.neighbors
            )
        return self.tomek_
