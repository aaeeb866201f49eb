"""KMeansSMOTE: scikit-learn's k-means, imbfast's distances, searches and draws."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from scipy import sparse
from sklearn.base import clone
from sklearn.cluster import MiniBatchKMeans
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from imbfast.base import DaskDispatchMixin, resolve_n_jobs, take_rows
from imbfast.neighbors import (
    NEIGHBORS_CONSTRAINT,
    NEIGHBORS_COUNT_CONSTRAINT,
    NeighborsModeMixin,
)
from imbfast.over_sampling._family import (
    as_float,
    assemble,
    class_neighbours,
    neighbours_estimator,
    smote_block,
)

# Rows x columns of one block of the pairwise distance computation.
_BLOCK_ELEMENTS = 1 << 20


def pairwise_distance_sum(X: Any) -> float:
    """Sum of the Euclidean distances between all ordered pairs of rows of X.

    Computed in float64 blocks of rows (``|a|^2 + |b|^2 - 2 a.b``, clipped at
    0), each unordered pair once, so the memory used is a few megabytes whatever
    the number of rows, never an (r, r) matrix. The block products run on
    NumPy's BLAS with its own thread settings, as imbalanced-learn's do.
    """
    r = X.shape[0]
    if r < 2:
        return 0.0
    X = X.astype(np.float64) if X.dtype != np.float64 else X
    if sparse.issparse(X):
        X = sparse.csr_matrix(X)
        sq = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    else:
        X = np.ascontiguousarray(X)
        sq = np.einsum("ij,ij->i", X, X)
    step = max(1, _BLOCK_ELEMENTS // r)
    total = 0.0
    # Each unordered pair once: a block of rows against the columns from its
    # first row on, the block's own square cut to its strict upper triangle.
    for start in range(0, r, step):
        stop = min(start + step, r)
        G = X[start:stop] @ X[start:].T
        if sparse.issparse(G):
            G = G.toarray()
        D = np.asarray(G, dtype=np.float64)
        D *= -2.0
        D += sq[start:stop, np.newaxis]
        D += sq[np.newaxis, start:]
        np.maximum(D, 0.0, out=D)
        b = stop - start
        D[:, :b] = np.triu(D[:, :b], k=1)
        np.sqrt(D, out=D)
        total += 2.0 * float(D.sum())
    return total


class KMeansSMOTE(NeighborsModeMixin, DaskDispatchMixin, BaseOverSampler):
    """SMOTE inside k-means clusters, C++-accelerated.

    A drop-in for :class:`imblearn.over_sampling.KMeansSMOTE`: the same
    parameters and, for the same integer ``random_state``, the same output.
    X is clustered with scikit-learn's k-means (the same clusters as
    imbalanced-learn); clusters where the class is frequent enough get new
    samples in proportion to their sparsity, made by SMOTE within the
    cluster's samples of the class.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        What to over-sample, as in imbalanced-learn: a float (binary
        problems only) is the desired minority/majority ratio; 'minority',
        'not minority', 'not majority', 'all' or 'auto' (= 'not majority')
        name the classes brought up to the majority count; a dict maps each
        class to its desired number of samples; a callable takes y and
        returns such a dict.
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means and the draws. An int restarts the draws for
        every cluster, as imbalanced-learn does.
    k_neighbors : int or object, default=2
        Number of nearest neighbours to interpolate towards, or an object
        with ``kneighbors`` and ``kneighbors_graph`` whose ``n_neighbors``
        counts the sample itself (imbalanced-learn's convention).
    n_jobs : int, default=None
        Threads for the neighbour searches and the interpolation, with
        joblib's meaning (the k-means and the distance block products use
        scikit-learn's and NumPy's own thread settings). The output does not depend on
        it.
    kmeans_estimator : int or object, default=None
        None: ``MiniBatchKMeans(random_state=random_state)``; an int: the
        same with that many clusters; otherwise a clustering object with
        ``fit`` and ``predict`` (cloned).
    cluster_balance_threshold : "auto" or float, default="auto"
        Minimum share of the class in a cluster for the cluster to be
        over-sampled; "auto" is ``n_samples / sum(n_samples) / 2`` for the
        class's number of new samples.
    density_exponent : "auto" or float, default="auto"
        Exponent of the mean distance in the cluster sparsity; "auto" is
        ``log(r, 1.6) ** 1.8 * 0.16`` with r the cluster's samples of the
        class (imbalanced-learn's choice; the paper uses the number of
        features).
    neighbors : {"exact", "approx"}, default="exact"
        How neighbours are searched: "exact" (imbfast's exact engines) or
        "approx" (an inverted file of k-means cells calibrated to recall
        0.99, candidates re-ranked exactly). Ignored for a neighbours object.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples to generate per class (before the per-cluster
        rounding up).
    nn_k_ : estimator object
        The neighbour searcher: :class:`imbfast.neighbors.NearestNeighbors`
        for an int, else a clone of the object.
    kmeans_estimator_ : estimator
        The fitted clustering estimator.
    cluster_balance_threshold_ : float or str
        The threshold used (``-inf`` when there is a single cluster).
    n_features_in_ : int
        Number of features in the input dataset.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit_resample``, for dataframes with
        string column names.
    neighbors_recall_ : float
        Only with ``neighbors="approx"``: the estimated recall of the
        approximate searches.

    Notes
    -----
    Each cluster gets ``ceil(n_samples * weight)`` new samples, so a class
    can get a few more samples than ``sampling_strategy_`` asks for;
    imbfast keeps imbalanced-learn's counts so the outputs match.

    Differences from imbalanced-learn, all deliberate:

    - The mean pairwise distance of a cluster is computed in float64 blocks
      of rows instead of one (r, r) matrix (imbalanced-learn needs 8 r^2
      bytes). Its last bits can differ, which changes the output only if
      ``n_samples * weight`` falls within about 1e-12 of an integer.
    - The k-means is fitted once per call when its result cannot change
      (the default estimator with an int ``random_state``); imbalanced-learn
      refits the same model for every class.
    - A sample is excluded from its own neighbour list by index, not by
      dropping the first column.
    - Integer ``X`` gives float64 synthetic samples (imbalanced-learn
      truncates them to integers), and the output is float64.

    Peak memory: the output, the k-means' own, and O(r * k) per cluster.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from imbfast.over_sampling import KMeansSMOTE
    >>> blobs = [100, 800, 100]
    >>> X, y = make_blobs(blobs, centers=[(-10, 0), (0, 0), (10, 0)],
    ...                   random_state=0)
    >>> y[y == 2] = 0
    >>> X_res, y_res = KMeansSMOTE(random_state=42).fit_resample(X, y)
    >>> int((y_res == 0).sum()), int((y_res == 1).sum())
    (801, 800)
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "k_neighbors": NEIGHBORS_COUNT_CONSTRAINT,
        "kmeans_estimator": [
            HasMethods(["fit", "predict"]),
            Interval(numbers.Integral, 1, None, closed="left"),
            None,
        ],
        "cluster_balance_threshold": [StrOptions({"auto"}), numbers.Real],
        "density_exponent": [StrOptions({"auto"}), numbers.Real],
        "n_jobs": [numbers.Integral, None],
        "neighbors": NEIGHBORS_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        k_neighbors: Any = 2,
        n_jobs: int | None = None,
        kmeans_estimator: Any = None,
        cluster_balance_threshold: Any = "auto",
        density_exponent: Any = "auto",
        neighbors: str = "exact",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs
        self.kmeans_estimator = kmeans_estimator
        self.cluster_balance_threshold = cluster_balance_threshold
        self.density_exponent = density_exponent
        self.neighbors = neighbors

    def _validate_estimator(self) -> None:
        self.nn_k_ = neighbours_estimator(
            "k_neighbors", self.k_neighbors, self.n_jobs, self.neighbors
        )
        if self.kmeans_estimator is None:
            self.kmeans_estimator_ = MiniBatchKMeans(random_state=self.random_state)
        elif isinstance(self.kmeans_estimator, numbers.Integral):
            self.kmeans_estimator_ = MiniBatchKMeans(
                n_clusters=int(self.kmeans_estimator),
                random_state=self.random_state,
            )
        else:
            self.kmeans_estimator_ = clone(self.kmeans_estimator)
        self.cluster_balance_threshold_ = (
            self.cluster_balance_threshold
            if self.kmeans_estimator_.n_clusters != 1
            else -np.inf
        )

    def _sparsity(self, X_cluster_class: Any) -> float:
        r = X_cluster_class.shape[0]
        mean_distance = np.float64(pairwise_distance_sum(X_cluster_class))
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_distance = mean_distance / np.float64(r * r - r)
        exponent = (
            math.log(r, 1.6) ** 1.8 * 0.16
            if self.density_exponent == "auto"
            else self.density_exponent
        )
        return float((mean_distance**exponent) / r)

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self._validate_estimator()
        n_threads = resolve_n_jobs(self.n_jobs)
        X = as_float(X)
        total_inp_samples = sum(self.sampling_strategy_.values())
        # Refitting gives the same clusters when the default k-means is
        # seeded with an int: fit it once.
        fit_once = self.kmeans_estimator is None or isinstance(
            self.kmeans_estimator, numbers.Integral
        )
        fit_once = fit_once and isinstance(self.random_state, numbers.Integral)
        labels = None
        blocks = []
        k_total = int(self.nn_k_.n_neighbors)
        for class_sample, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            if labels is None or not fit_once:
                labels = np.asarray(self.kmeans_estimator_.fit_predict(X))
            is_class = y == class_sample
            n_clusters = self.kmeans_estimator_.n_clusters
            in_range = (labels >= 0) & (labels < n_clusters)
            sizes = np.bincount(labels[in_range], minlength=n_clusters)
            class_sizes = np.bincount(labels[in_range & is_class], minlength=n_clusters)
            if self.cluster_balance_threshold_ == "auto":
                threshold = n_samples / total_inp_samples / 2
            else:
                threshold = self.cluster_balance_threshold_
            valid, sparsities = [], []
            for c in range(n_clusters):
                if sizes[c] == 0:
                    continue
                class_mean = np.float64(class_sizes[c]) / np.float64(sizes[c])
                if class_mean < threshold:
                    continue
                if class_mean * sizes[c] < k_total:
                    continue
                ids = np.flatnonzero((labels == c) & is_class)
                valid.append(ids)
                sparsities.append(self._sparsity(take_rows(X, ids, n_threads)))
            if not valid:
                raise RuntimeError(
                    "No clusters found with sufficient samples of "
                    f"class {class_sample}. Try lowering the "
                    "cluster_balance_threshold or increasing the number of "
                    "clusters."
                )
            weights = np.array(sparsities) / np.sum(sparsities)
            for ids, weight in zip(valid, weights, strict=True):
                nns = class_neighbours(self.nn_k_, take_rows(X, ids, n_threads))
                block, _ = smote_block(
                    class_sample,
                    ids,
                    ids[nns],
                    check_random_state(self.random_state),
                    math.ceil(n_samples * weight),
                )
                blocks.append(block)
        return assemble(X, y, blocks, n_threads)
