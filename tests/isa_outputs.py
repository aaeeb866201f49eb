"""Print SHA-256 digests of the core's outputs under the current IMBFAST_ISA.

Run as ``python -m tests.isa_outputs`` (or a path) with IMBFAST_ISA set; the
ISA tests compare the digests across instruction sets. Covers every engine
that dispatches on the ISA: the fused brute force (its int8 filter pass
too), the KD-tree, the pruned search, SMOTE interpolation (float32 and
float64), ENN, row gathers and the stratified hashing kernels.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
from sklearn.datasets import make_classification

from imbfast import _core
from imbfast.neighbors import kneighbors, last_plan, tuned
from imbfast.over_sampling import SMOTE
from imbfast.sampling import stratified_sample
from imbfast.under_sampling import EditedNearestNeighbours, RandomUnderSampler


def digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def main() -> None:
    out: dict[str, str] = {
        "isa": "avx512vnni" if _core.vnni_active() else _core.active_isa()
    }
    rng = np.random.default_rng(0)
    for name, n, d, algorithm in (
        ("brute_d20", 3000, 20, "brute"),
        ("tree_d4", 3000, 4, "tree"),
        ("pruned_d8", 3000, 8, "pruned"),
        ("auto_d12", 2500, 12, "auto"),
    ):
        for dtype in (np.float64, np.float32):
            X = rng.normal(size=(n, d)).astype(dtype)
            dist, ind = kneighbors(X, 5, algorithm=algorithm, return_distance=True)
            engine = last_plan()["algorithm"]
            out[f"{name}_{np.dtype(dtype).name}[{engine}]"] = digest(dist, ind)
            Q = rng.normal(size=(200, d)).astype(dtype)
            dist, ind = kneighbors(
                X, 3, query=Q, algorithm=algorithm, return_distance=True
            )
            out[f"{name}_{np.dtype(dtype).name}_query"] = digest(dist, ind)
    # The query search: enough queries for "auto" to probe the int8 filter
    # pass (taken with VNNI only), and the int8 pass forced (its portable
    # kernel under the other caps).
    for dtype in (np.float64, np.float32):
        X = rng.normal(size=(4000, 20)).astype(dtype)
        Q = rng.normal(size=(4000, 20)).astype(dtype)
        dist, ind = kneighbors(X, 5, query=Q, algorithm="brute", return_distance=True)
        out[f"int8_auto_{np.dtype(dtype).name}"] = digest(dist, ind)
        with tuned(int8_filter="always"):
            dist, ind = kneighbors(
                X, 6, query=Q[:300], algorithm="brute", return_distance=True
            )
        out[f"int8_always_{np.dtype(dtype).name}"] = digest(dist, ind)
    # The assignment to centroids by proof (enough rows per centroid).
    X = rng.normal(size=(8000, 12)).astype(np.float32)
    C = np.ascontiguousarray(X[:100] + 0.01)
    out["nearest_centroids"] = digest(_core.nearest_centroids(X, C, 1.0, 2))
    for n, d in ((3000, 20), (3000, 4)):
        X, y = make_classification(
            n_samples=n,
            n_features=d,
            n_informative=min(d, 4),
            n_redundant=0,
            weights=[0.2, 0.8],
            random_state=1,
        )
        for dtype in (np.float64, np.float32):
            Xc = X.astype(dtype)
            Xs, ys = SMOTE(random_state=0).fit_resample(Xc, y)
            out[f"smote_{n}x{d}_{np.dtype(dtype).name}"] = digest(Xs, ys)
        enn = EditedNearestNeighbours()
        Xe, ye = enn.fit_resample(X, y)
        out[f"enn_{n}x{d}"] = digest(Xe, ye, enn.sample_indices_)
        rus = RandomUnderSampler(random_state=0)
        Xr, yr = rus.fit_resample(X, y)
        out[f"rus_{n}x{d}"] = digest(Xr, yr)
    labels = rng.integers(0, 7, size=200_000)
    out["stratified"] = digest(stratified_sample(labels, 1000, random_state=3))
    out["stratified_replace"] = digest(
        stratified_sample(labels, 40_000, replace=True, random_state=3)
    )
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
