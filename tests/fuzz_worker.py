"""Property-based fuzzing of imbfast, run in a child process.

Run as a script (``tests/test_fuzz.py`` does, and so do ``make fuzz`` and
``make fuzz-ci``)::

    python tests/fuzz_worker.py --target samplers --examples 1000 --seed 0 \
        --record /tmp/last.json
    python tests/fuzz_worker.py --replay /tmp/last.json

Targets: ``samplers`` (every public sampler), ``sampling``
(``stratified_sample``, ``StratifiedStream`` against it, ``balanced_batches``),
``neighbors`` (the public neighbour functions), ``core`` (every raw
``imbfast._core`` binding).
Hypothesis draws a JSON-able *spec* per example (shape, dtype, memory layout,
values, label kind, parameters); the inputs are built from the spec, so an
example written to ``--record`` before it runs can be replayed exactly. A
crash (segfault, abort) kills this process: the parent reads the record and
prints the reproducer. A hang is cut by ``faulthandler`` after
``--example-timeout`` seconds (exit code 1, tracebacks on stderr).

An example passes when the call returns a consistent result (row counts,
dtypes, indices in range, exact neighbour distances, no NaN or infinity from
finite input) or raises ValueError, TypeError, MemoryError or IndexError
with a message. Anything else fails and Hypothesis shrinks it.
"""

from __future__ import annotations

import argparse
import faulthandler
import inspect
import json
import os
import sys
import tempfile
import warnings
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from scipy import sparse

ACCEPTED = (ValueError, TypeError, MemoryError, IndexError)
FLOATS = [0.0, 1.0, -1.0, 0.5, 2.0, 3.0, 5e-324, -5e-324, 1e-310, 1e150, -1e150]
DTYPES = ["float64", "float32", "int64", "int32", "uint8", "bool"]
LAYOUTS = [
    "C",
    "F",
    "strided",
    "reversed",
    "readonly",
    "memmap",
    "list",
    "csr",
    "csc",
    "coo",
    "dataframe",
]
LABEL_KINDS = [
    "int",
    "int",
    "int32",
    "str",
    "uint64",
    "negative",
    "float",
    "list",
    "series",
]
# Sizes that are either tiny or far beyond any memory: never a size that an
# overcommitting kernel would grant and then kill the process for touching.
INTS = [-(2**63), -(2**31), -1, 0, 1, 2, 3, 5, 2**40, 2**62, 2**63 - 1]


# Defects found by this fuzzer in files owned elsewhere, being fixed there.
# Each entry skips only its own input region; remove it once fixed. Kept as
# short as possible and reported with a reproducer.
def _known(target: str, why: str, predicate: Any) -> tuple[str, str, Any]:
    return (target, why, predicate)


# Defects found by fuzzing and not yet fixed, skipped for their own inputs
# only (IMBFAST_FUZZ_ALL=1 ignores the list). Empty: every one found so far
# is fixed and has a regression test.
KNOWN_DEFECTS: list[tuple[str, str, Any]] = []


class Failure(AssertionError):
    """An outcome outside the accepted ones."""


# --------------------------------------------------------------- strategies


@st.composite
def data_specs(draw: Any, max_rows: int = 24, max_dim: int = 5) -> dict:
    # Edge sizes (0 to 3 rows) a quarter of the time, else enough rows to
    # get past validation and into the kernels.
    big = st.integers(6, max_rows)
    n = draw(st.one_of(big, big, big, st.sampled_from([0, 1, 2, 3])))
    d = draw(st.integers(1, max_dim))
    pool = draw(
        st.lists(
            st.one_of(
                st.sampled_from(FLOATS),
                st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32),
            ),
            min_size=1,
            max_size=6,
        )
    )
    # Rows drawn from a few distinct rows (ties, duplicates) or all free.
    distinct = draw(st.integers(1, max(1, n)))
    rows = [[draw(st.sampled_from(pool)) for _ in range(d)] for _ in range(distinct)]
    picks = [draw(st.integers(0, distinct - 1)) for _ in range(n)]
    values = [rows[p] for p in picks]
    special = draw(st.sampled_from([None] * 10 + ["nan", "inf", "-inf"]))
    where = draw(st.integers(0, max(0, n * d - 1)))
    n_classes = draw(st.sampled_from([2, 3, 2, 4, 2, 3, 1]))
    # Every class present (when rows allow), then an imbalanced mix.
    codes = [i % n_classes for i in range(min(n, n_classes))]
    weights = draw(st.sampled_from(["skewed", "uniform"]))
    for _ in range(n - len(codes)):
        c = draw(st.integers(0, n_classes - 1))
        codes.append(0 if weights == "skewed" and draw(st.booleans()) else c)
    return {
        "n": n,
        "d": d,
        "values": values,
        "special": special,
        "where": where,
        "dtype": draw(st.sampled_from(DTYPES)),
        "layout": draw(st.sampled_from(LAYOUTS)),
        "codes": codes,
        "label_kind": draw(st.sampled_from(LABEL_KINDS)),
    }


def build_X(spec: dict, tmpdir: str) -> Any:
    n, d = spec["n"], spec["d"]
    X = np.array(spec["values"], dtype=np.float64).reshape(n, d)
    if spec["special"] and n:
        X.flat[spec["where"]] = float(spec["special"])
    dtype = np.dtype(spec["dtype"])
    if dtype.kind in "iub":
        X = np.clip(np.nan_to_num(X, nan=0.0, posinf=100, neginf=-100), -100, 100)
        X = np.rint(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        X = X.astype(dtype)
    layout = spec["layout"]
    if layout == "F":
        return np.asfortranarray(X)
    if layout == "strided":
        wide = np.zeros((n, 2 * d), dtype=dtype)
        wide[:, ::2] = X
        return wide[:, ::2]
    if layout == "reversed":
        return X[::-1].copy()[::-1]
    if layout == "readonly":
        X.setflags(write=False)
        return X
    if layout == "memmap" and n > 0:
        path = os.path.join(tmpdir, "X.dat")
        mm = np.memmap(path, dtype=dtype, mode="w+", shape=X.shape)
        mm[:] = X
        mm.flush()
        del mm
        return np.memmap(path, dtype=dtype, mode="r", shape=X.shape)
    if layout == "list":
        return X.tolist()
    if layout in ("csr", "csc", "coo"):
        if dtype == np.bool_:
            X = X.astype(np.float64)
        return getattr(sparse, f"{layout}_matrix")(X)
    if layout == "dataframe":
        import pandas as pd

        return pd.DataFrame(X, columns=[f"f{j}" for j in range(d)])
    return X


def build_y(spec: dict) -> Any:
    codes = np.array(spec["codes"], dtype=np.int64)
    kind = spec["label_kind"]
    if kind == "int":
        return codes
    if kind == "int32":
        return codes.astype(np.int32)
    if kind == "str":
        return np.array(["neg", "pos", "x", "yy"])[codes]
    if kind == "uint64":
        return (np.uint64(2**64 - 1) - codes.astype(np.uint64)).astype(np.uint64)
    if kind == "negative":
        return codes - 5
    if kind == "float":
        return codes * 0.5
    if kind == "list":
        return codes.tolist()
    import pandas as pd

    return pd.Series(codes, name="target")


def is_finite_dense(X: Any) -> bool:
    arr = np.asarray(X.toarray() if sparse.issparse(X) else X)
    if arr.dtype.kind not in "fc":
        return arr.dtype.kind in "iub"
    return bool(np.isfinite(arr).all())


def as_dense(X: Any) -> np.ndarray:
    if sparse.issparse(X):
        return X.toarray()
    if hasattr(X, "to_numpy"):
        return X.to_numpy()
    return np.asarray(X)


# imbalanced-learn's own RuntimeErrors, which imbfast keeps word for word:
# the data leave the method nothing to work with.
RUNTIME_ERRORS = (
    "Not any neigbours belong to the majority class",  # ADASYN (sic)
    "No clusters found with sufficient samples",  # KMeansSMOTE
    "All support vectors are considered as noise",  # SVMSMOTE
)


def accepted(exc: BaseException) -> bool:
    if isinstance(exc, RuntimeError) and not isinstance(exc, ACCEPTED):
        return str(exc).startswith(RUNTIME_ERRORS)
    return isinstance(exc, ACCEPTED) and bool(str(exc).strip())


# Outcomes of the calls made, per function: "ok" or the exception's type.
OUTCOMES: dict[str, dict[str, int]] = {}
MESSAGES: dict[str, int] = {}


def call_checked(fn: Any, *args: Any, **kwargs: Any) -> tuple[bool, Any]:
    """(True, result) or (False, None) for an accepted exception."""
    name = getattr(fn, "__qualname__", getattr(fn, "__name__", repr(fn)))
    tally = OUTCOMES.setdefault(name, {})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(*args, **kwargs)
    except Exception as exc:
        if accepted(exc):
            key = type(exc).__name__
            tally[key] = tally.get(key, 0) + 1
            msg = f"{key}: {str(exc).splitlines()[0][:70]}"
            MESSAGES[msg] = MESSAGES.get(msg, 0) + 1
            return False, None
        raise Failure(f"{type(exc).__name__}: {exc}") from exc
    tally["ok"] = tally.get("ok", 0) + 1
    return True, result


# ------------------------------------------------------------------ samplers


def sampler_classes() -> list[type]:
    import imbfast.combine
    import imbfast.over_sampling
    import imbfast.under_sampling

    out = []
    for module in (imbfast.over_sampling, imbfast.under_sampling, imbfast.combine):
        out.extend(getattr(module, name) for name in module.__all__)
    return out


@st.composite
def sampler_specs(draw: Any) -> dict:
    classes = [c.__name__ for c in sampler_classes()]
    data = draw(data_specs())
    n = data["n"]
    k = draw(st.sampled_from([1, 2, 3, 5, max(n - 1, 1), max(n, 1), n + 3]))
    strategy = draw(
        st.sampled_from(
            [
                None,
                "auto",
                "all",
                "majority",
                "not minority",
                "not majority",
                "minority",
                0.5,
                1.0,
            ]
        )
    )
    return {
        "data": data,
        "sampler": draw(st.sampled_from(classes)),
        "k": k,
        "sampling_strategy": strategy,
        "n_jobs": draw(st.sampled_from([None, 1, 2, -1])),
        "random_state": draw(st.integers(0, 2**32 - 1)),
        "extra": draw(st.sampled_from([None, "replacement", "shrinkage", "kind_mode"])),
    }


def make_sampler(spec: dict) -> Any:
    cls = {c.__name__: c for c in sampler_classes()}[spec["sampler"]]
    params = inspect.signature(cls).parameters
    kwargs: dict[str, Any] = {}
    for name in ("k_neighbors", "n_neighbors"):
        if name in params:
            kwargs[name] = spec["k"]
    if "categorical_features" in params:  # SMOTENC: feature 0 categorical
        kwargs["categorical_features"] = [0]
    if spec["sampling_strategy"] is not None and "sampling_strategy" in params:
        kwargs["sampling_strategy"] = spec["sampling_strategy"]
    if "n_jobs" in params:
        kwargs["n_jobs"] = spec["n_jobs"]
    if "random_state" in params:
        kwargs["random_state"] = spec["random_state"]
    extra = spec["extra"]
    if extra == "replacement" and "replacement" in params:
        kwargs["replacement"] = True
    if extra == "shrinkage" and "shrinkage" in params:
        kwargs["shrinkage"] = 0.5
    if extra == "kind_mode" and "kind_sel" in params:
        kwargs["kind_sel"] = "mode"
    return cls(**kwargs)


def check_sampler(spec: dict, tmpdir: str) -> None:
    X = build_X(spec["data"], tmpdir)
    y = build_y(spec["data"])
    sampler = make_sampler(spec)
    ok, result = call_checked(sampler.fit_resample, X, y)
    if not ok:
        return
    if not (isinstance(result, tuple) and len(result) == 2):
        raise Failure(f"fit_resample returned {type(result).__name__}")
    X_res, y_res = result
    Xd, Xr = as_dense(X), as_dense(X_res)
    if isinstance(X_res, list) and not X_res:  # an empty list has no columns
        Xr = np.empty((0, Xd.shape[1]), dtype=Xd.dtype)
    y_in, y_out = np.asarray(y), np.asarray(y_res)
    if Xr.ndim != 2 or Xr.shape[1] != Xd.shape[1]:
        raise Failure(f"X_res has shape {Xr.shape}, X {Xd.shape}")
    if Xr.shape[0] != y_out.shape[0]:
        raise Failure(f"{Xr.shape[0]} rows in X_res, {y_out.shape[0]} in y_res")
    if sparse.issparse(X) != sparse.issparse(X_res):
        raise Failure("sparse input gave dense output or the reverse")
    labels_in = set(y_in.tolist())
    if not set(y_out.tolist()) <= labels_in:
        raise Failure("y_res holds labels that are not in y")
    if is_finite_dense(X) and not is_finite_dense(X_res):
        raise Failure("non-finite values in X_res from finite X")
    module = type(sampler).__module__
    # ClusterCentroids' soft voting makes new rows (k-means centroids): from
    # integer X they are floats, as in imbalanced-learn.
    generates = getattr(sampler, "voting_", None) == "soft"
    if isinstance(X, np.ndarray) and "under_sampling" in module and not generates:
        if X_res.dtype != X.dtype:
            raise Failure(f"dtype {X.dtype} became {X_res.dtype}")
    indices = getattr(sampler, "sample_indices_", None)
    if indices is not None and "under_sampling" in module:
        indices = np.asarray(indices)
        if indices.shape != (Xr.shape[0],):
            raise Failure("sample_indices_ does not match the output rows")
        if indices.size and (indices.min() < 0 or indices.max() >= Xd.shape[0]):
            raise Failure("sample_indices_ out of range")
        kept = Xd[indices]
        same = (
            np.array_equal(kept, Xr, equal_nan=True)
            if kept.dtype.kind in "fc"
            else np.array_equal(kept, Xr)
        )
        if not same or not np.array_equal(y_in[indices], y_out):
            raise Failure("output rows are not the rows of sample_indices_")


# ------------------------------------------------------------------ sampling


@st.composite
def sampling_specs(draw: Any) -> dict:
    data = draw(data_specs(max_rows=40))
    target = draw(
        st.sampled_from(
            [
                ["int", 1],
                ["int", 2],
                ["int", 0],
                ["int", 2**40],
                ["int", 2**63],
                ["int", -1],
                ["float", 0.5],
                ["float", 1.0],
                ["float", 2.5],
                ["float", 1e12],
                ["float", float("nan")],
                ["dict", 1],
                ["dict", 2**62],
                ["dict", 0.5],
                ["str", "auto"],
                ["str", "majority"],
                ["str", "bogus"],
                ["callable", 1],
            ]
        )
    )
    return {
        "data": data,
        "function": draw(
            st.sampled_from(
                ["stratified_sample", "StratifiedStream", "balanced_batches"]
            )
        ),
        "target": target,
        "replace": draw(st.booleans()),
        "random_state": draw(st.integers(0, 2**32)),
        "n_jobs": draw(st.sampled_from([None, 1, 2, -1])),
        "chunks": draw(st.integers(1, 4)),
        "batch_size": draw(st.sampled_from([1, 2, 3, 4, 7, 64, 2**40, 0])),
        "drop_last": draw(st.booleans()),
        "n_epochs": draw(st.sampled_from([1, 2, 0, None])),
    }


def make_target(spec: dict, labels: np.ndarray) -> Any:
    kind, value = spec["target"]
    if kind == "dict":
        first = labels[0].item() if labels.size else 0
        return {first: value}
    if kind == "callable":
        return lambda y: {np.unique(y)[0]: value}
    return value


def check_sampling(spec: dict, tmpdir: str) -> None:
    from imbfast.sampling import StratifiedStream, balanced_batches, stratified_sample

    y = build_y(spec["data"])
    y_arr = np.asarray(y)
    labels = np.unique(y_arr) if y_arr.size else y_arr
    target = make_target(spec, labels)
    n = y_arr.shape[0]
    if spec["function"] == "balanced_batches":
        X = build_X(spec["data"], tmpdir)
        gen = balanced_batches(
            X,
            y,
            batch_size=spec["batch_size"],
            random_state=spec["random_state"],
            drop_last=spec["drop_last"],
            n_epochs=spec["n_epochs"],
            n_jobs=spec["n_jobs"],
        )
        for _ in range(4):
            ok, batch = call_checked(next, gen, None)
            if not ok or batch is None:
                return
            X_b, y_b = batch
            rows = as_dense(X_b).shape[0] if not isinstance(X_b, list) else len(X_b)
            if rows != len(y_b) or not 0 < rows <= spec["batch_size"]:
                raise Failure(f"batch of {rows} rows, {len(y_b)} labels")
            if not set(np.asarray(y_b).tolist()) <= set(y_arr.tolist()):
                raise Failure("batch labels not in y")
        return
    ok, idx = call_checked(
        stratified_sample,
        y,
        target,
        replace=spec["replace"],
        random_state=spec["random_state"],
        n_jobs=spec["n_jobs"],
    )
    if ok:
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.dtype != np.int64:
            raise Failure(f"indices of shape {idx.shape}, dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise Failure("index out of range")
        if not spec["replace"] and np.unique(idx).size != idx.size:
            raise Failure("a row drawn twice without replacement")
    if spec["function"] != "StratifiedStream" or not n:
        return
    values, counts = np.unique(y_arr, return_counts=True)
    class_counts = {v: int(c) for v, c in zip(values.tolist(), counts, strict=True)}
    ok_stream, stream = call_checked(
        StratifiedStream,
        target,
        class_counts=class_counts,
        replace=spec["replace"],
        random_state=spec["random_state"],
        n_jobs=spec["n_jobs"],
    )
    if not ok_stream:
        return
    bounds = np.linspace(0, n, spec["chunks"] + 1).astype(int)
    order = list(range(spec["chunks"]))[::-1]  # chunks fed in reverse order
    for c in order:
        ok_add, _ = call_checked(
            stream.add, y_arr[bounds[c] : bounds[c + 1]], int(bounds[c])
        )
        if not ok_add:
            return
    ok_fin, got = call_checked(stream.finish)
    if ok_fin != ok or (ok and not np.array_equal(got, idx)):
        raise Failure("StratifiedStream differs from stratified_sample")


# ----------------------------------------------------------------- neighbors


@st.composite
def neighbor_specs(draw: Any) -> dict:
    data = draw(data_specs(max_rows=40, max_dim=6))
    n = data["n"]
    query = draw(st.sampled_from([None, "self_copy", "other", "other64", "empty"]))
    return {
        "data": data,
        "k": draw(st.sampled_from([0, 1, 2, 3, max(n - 1, 1), max(n, 1), n + 1])),
        "algorithm": draw(
            st.sampled_from(["auto", "brute", "tree", "pruned", "approx"])
        ),
        "query": query,
        "n_q": draw(st.integers(1, 6)),
        "api": draw(st.sampled_from(["kneighbors", "estimator", "excluding_self"])),
        "n_jobs": draw(st.sampled_from([None, 1, 2, -1])),
        "q_seed": draw(st.integers(0, 1000)),
    }


def build_query(spec: dict, X: Any) -> Any:
    kind = spec["query"]
    d = spec["data"]["d"]
    if kind is None:
        return None
    Xd = as_dense(X)
    if kind == "empty":
        return np.empty((0, d), dtype=Xd.dtype if Xd.dtype.kind == "f" else np.float64)
    if kind == "self_copy":
        return Xd.copy()
    rng = np.random.default_rng(spec["q_seed"])
    Q = rng.normal(size=(spec["n_q"], d))
    if kind == "other64":  # float64 queries whatever X's dtype
        return Q
    return Q.astype(Xd.dtype if Xd.dtype.kind == "f" else np.float64)


def check_neighbors(spec: dict, tmpdir: str) -> None:
    from imbfast.neighbors import NearestNeighbors, kneighbors, neighbors_excluding_self

    X = build_X(spec["data"], tmpdir)
    Q = build_query(spec, X)
    k, algorithm = spec["k"], spec["algorithm"]
    if spec["api"] == "kneighbors":
        ok, res = call_checked(
            kneighbors,
            X,
            k,
            query=Q,
            algorithm=algorithm,
            return_distance=True,
            n_jobs=spec["n_jobs"],
        )
        if not ok:
            return
        dist, ind = res
    elif spec["api"] == "estimator":
        nn = NearestNeighbors(n_neighbors=k, algorithm=algorithm, n_jobs=spec["n_jobs"])
        ok, _ = call_checked(nn.fit, X)
        if not ok:
            return
        ok, res = call_checked(nn.kneighbors, Q, k, return_distance=True)
        if not ok:
            return
        dist, ind = res
    else:
        nn = NearestNeighbors(n_neighbors=k, algorithm=algorithm)
        ok, _ = call_checked(nn.fit, X)
        if not ok:
            return
        ok, ind = call_checked(neighbors_excluding_self, nn, X)
        if not ok:
            return
        ind = np.asarray(ind)
        n = as_dense(X).shape[0]
        if ind.shape != (n, max(k - 1, 0)):
            raise Failure(f"neighbors_excluding_self gave shape {ind.shape}")
        if ind.size and (ind.min() < 0 or ind.max() >= n):
            raise Failure("index out of range")
        if ind.size and np.any(ind == np.arange(n)[:, None]):
            raise Failure("a row is its own neighbour")
        return
    check_knn_result(spec, X, Q, k, dist, ind)


def check_knn_result(spec: dict, X: Any, Q: Any, k: int, dist: Any, ind: Any) -> None:
    Xd = as_dense(X).astype(np.float64)
    n = Xd.shape[0]
    Qd = Xd if Q is None else np.asarray(Q, dtype=np.float64)
    nq = Qd.shape[0]
    dist, ind = np.asarray(dist), np.asarray(ind)
    if ind.shape != (nq, k) or dist.shape != (nq, k):
        raise Failure(f"shapes {ind.shape}, {dist.shape}; expected ({nq}, {k})")
    if ind.dtype.kind not in "iu" or dist.dtype.kind != "f":
        raise Failure(f"dtypes {ind.dtype}, {dist.dtype}")
    if ind.size and (ind.min() < 0 or ind.max() >= n):
        raise Failure("index out of range")
    if not ind.size:
        return
    if Q is None and np.any(ind == np.arange(n)[:, None]):
        raise Failure("a row is its own neighbour")
    if not np.isfinite(Xd).all() or not np.isfinite(Qd).all():
        return
    if not np.isfinite(dist).all() or (dist < 0).any():
        raise Failure("non-finite or negative distance from finite input")
    if np.any(np.diff(dist, axis=1) < 0):
        raise Failure("distances not sorted")
    if np.any([len(set(row)) != len(row) for row in ind.tolist()]):
        raise Failure("a neighbour listed twice")
    if spec["algorithm"] == "approx":
        return
    # Exact engines: the k smallest distances, whatever the tie order.
    true = np.sqrt(((Qd[:, None, :] - Xd[None, :, :]) ** 2).sum(-1))
    if Q is None:
        np.fill_diagonal(true, np.inf)
    best = np.sort(true, axis=1)[:, :k]
    own = np.take_along_axis(true, ind, axis=1)
    scale = np.abs(Xd).max() * 1e-5 + 1e-300
    if not np.allclose(own, best, rtol=1e-5, atol=scale):
        raise Failure("not the k nearest rows")
    if not np.allclose(dist, best, rtol=1e-5, atol=scale):
        raise Failure("distances do not match the rows")


# ---------------------------------------------------------------------- core


@st.composite
def arrays(draw: Any, ndim: int | None = None, dtype: str | None = None) -> dict:
    nd = draw(st.sampled_from([1, 2])) if ndim is None else ndim
    if draw(st.integers(0, 9)) == 0:
        nd = draw(st.sampled_from([0, 1, 2, 3]))
    shape = [draw(st.integers(0, 6)) for _ in range(nd)]
    return {
        "shape": shape,
        "dtype": dtype
        if dtype is not None and draw(st.integers(0, 5))
        else draw(
            st.sampled_from(
                ["float64", "float32", "int64", "int32", "uint64", "uint8", "bool"]
            )
        ),
        "values": draw(
            st.sampled_from(["small", "zeros", "range", "neg", "huge", "nan"])
        ),
        "layout": draw(st.sampled_from(["C"] * 6 + ["F", "strided", "readonly"])),
    }


def build_array(spec: dict) -> np.ndarray:
    shape = tuple(spec["shape"])
    size = int(np.prod(shape)) if shape else 1
    kind = spec["values"]
    base = {
        "small": np.arange(size) % 3,
        "zeros": np.zeros(size),
        "range": np.arange(size),
        "neg": -np.arange(size) - 1,
        "huge": np.full(size, 2.0**62),
        "nan": np.full(size, np.nan),
    }[kind]
    dtype = np.dtype(spec["dtype"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dtype.kind in "iub" and kind == "nan":
            base = np.zeros(size)
        arr = base.astype(dtype).reshape(shape)
    layout = spec["layout"]
    if layout == "F":
        arr = np.asfortranarray(arr)
    elif layout == "strided" and arr.ndim >= 1:
        wide = np.zeros((*arr.shape[:-1], 2 * arr.shape[-1]), dtype=dtype)
        wide[..., ::2] = arr
        arr = wide[..., ::2]
    elif layout == "readonly":
        arr.setflags(write=False)
    return arr


SCALARS = st.one_of(st.sampled_from(INTS), st.integers(-3, 8))

CORE_CALLS: dict[str, dict[str, Any]] = {
    # The SMOTE-family and categorical kernels: random arguments only.
    "smote_interpolate_rows": {
        "base": arrays(2, "float64"),
        "nb": arrays(2, "float64"),
        "base_rows": arrays(1, "int64"),
        "nb_rows": arrays(1, "int64"),
        "steps": arrays(1, "float64"),
        "scales": st.one_of(st.none(), arrays(1, "float64")),
        "out": arrays(2, "float64"),
        "n_threads": SCALARS,
    },
    "mixed_knn": {
        "cont": arrays(2, "float64"),
        "codes": arrays(2, "int32"),
        "cat_weight": st.sampled_from([0.0, 0.5, 1.0, -1.0, float("nan")]),
        "k": SCALARS,
        "n_threads": SCALARS,
    },
    "mixed_knn_pruned": {
        "cont": arrays(2, "float64"),
        "codes": arrays(2, "int32"),
        "cat_weight": st.sampled_from([0.0, 0.5, 1.0, -1.0, float("nan")]),
        "k": SCALARS,
        "cand": arrays(2, "int64"),
        "cand_sq": arrays(1, "float64"),
        "max_shared": SCALARS,
        "n_threads": SCALARS,
    },
    "neighbourhood_mode": {
        "codes": arrays(2, "int32"),
        "nn": arrays(2, "int64"),
        "rows": arrays(1, "int64"),
        "n_threads": SCALARS,
    },
    "vdm_tables": {
        "codes": arrays(2, "int32"),
        "class_codes": arrays(1, "int64"),
        "n_classes": SCALARS,
        "n_categories": arrays(1, "int64"),
        "n_threads": SCALARS,
    },
    "vdm_knn": {
        "codes": arrays(2, "int32"),
        "tables": arrays(1, "float64"),
        "n_classes": SCALARS,
        "n_categories": arrays(1, "int64"),
        "k": SCALARS,
        "n_threads": SCALARS,
    },
    "vdm_pairwise": {
        "codes_a": arrays(2, "int32"),
        "codes_b": arrays(2, "int32"),
        "tables": arrays(1, "float64"),
        "n_classes": SCALARS,
        "n_categories": arrays(1, "int64"),
        "n_threads": SCALARS,
    },
    "vote_candidates": {
        "indptr": arrays(1, "int64"),
        "indices": arrays(1, "int64"),
        "data": arrays(1, "float64"),
        "block_start": SCALARS,
        "block_end": SCALARS,
        "nns": arrays(2, "int64"),
        "base_rows": arrays(1, "int64"),
        "n_threads": SCALARS,
    },
    "vote_resolve": {
        "indptr": arrays(1, "int64"),
        "indices": arrays(1, "int64"),
        "data": arrays(1, "float64"),
        "block_start": SCALARS,
        "block_end": SCALARS,
        "nns": arrays(2, "int64"),
        "base_rows": arrays(1, "int64"),
        "offsets": arrays(1, "int64"),
        "perm": arrays(1, "int64"),
        "n_threads": SCALARS,
    },
    "refine_knn": {
        "X": arrays(2, "float64"),
        "Q": st.one_of(st.none(), arrays(2, "float64")),
        "cand": arrays(2, "int64"),
        "cand_dist": arrays(2, "float32"),
        "bound": arrays(1, "float64"),
        "k": SCALARS,
        "n_threads": SCALARS,
    },
    "brute_knn": {
        "X": arrays(2, "float64"),
        "Q": st.one_of(st.none(), arrays(2, "float64")),
        "k": SCALARS,
        "n_threads": SCALARS,
    },
    "kdtree_knn": {
        "X": arrays(2, "float64"),
        "Q": st.one_of(st.none(), arrays(2, "float64")),
        "k": SCALARS,
        "n_threads": SCALARS,
    },
    "fused_knn": {
        "X": arrays(2, "float32"),
        "Q": st.one_of(st.none(), arrays(2, "float32")),
        "k": SCALARS,
        "n_extra": SCALARS,
        "n_threads": SCALARS,
        "within": st.one_of(st.none(), arrays(1, "float64")),
    },
    "pruned_knn": {
        "X": arrays(2, "float64"),
        "Q": st.one_of(st.none(), arrays(2, "float64")),
        "centroids": arrays(2, "float32"),
        "scale": st.sampled_from([1.0, 0.5, 2.0**-70, 0.0, -1.0, float("nan")]),
        "k": SCALARS,
        "n_threads": SCALARS,
        "max_work": st.sampled_from([None, 0.0, 0.3, -1.0, float("nan")]),
    },
    "nearest_centroids": {
        "X": arrays(2, "float32"),
        "centroids": arrays(2, "float32"),
        "scale": st.sampled_from([1.0, 0.5, 0.0, float("inf")]),
        "n_threads": SCALARS,
    },
    "cell_order": {"cell": arrays(1, "int64"), "nlist": SCALARS},
    "smote_interpolate": {
        "X": arrays(2, "float64"),
        "nns": arrays(2, "int64"),
        "samples": arrays(1, "int64"),
        "steps": arrays(1, "float64"),
        "out": arrays(2, "float64"),
        "n_threads": SCALARS,
    },
    "legacy_permutation": {
        "key": arrays(1, "uint32"),
        "pos": SCALARS,
        "n": SCALARS,
        "size": SCALARS,
    },
    "gather_rows": {
        "X": arrays(2, "float64"),
        "rows": arrays(1, "int64"),
        "out": arrays(2, "float64"),
        "n_threads": SCALARS,
    },
    "tomek_links": {
        "nn1": arrays(1, "int64"),
        "codes": arrays(1, "int64"),
        "targeted": arrays(1, "bool"),
        "n_threads": SCALARS,
    },
    "enn_keep": {
        "rows": arrays(1, "int64"),
        "nbrs": arrays(2, "int64"),
        "k": SCALARS,
        "codes": arrays(1, "int64"),
        "n_classes": SCALARS,
        "kind": st.sampled_from(["all", "mode", "bogus"]),
        "n_threads": SCALARS,
    },
    "compact_neighbors": {
        "nbrs": arrays(2, "int64"),
        "alive": arrays(1, "bool"),
        "n_threads": SCALARS,
    },
    "stratified_scan": {
        "y": arrays(1, "int64"),
        "lo": SCALARS,
        "bound": arrays(1, "uint64"),
        "seed": st.integers(0, 2**64 - 1),
        "n_threads": SCALARS,
    },
    "stratified_gather": {
        "y": arrays(1, "int64"),
        "lo": SCALARS,
        "want": arrays(1, "int64"),
        "bound": arrays(1, "uint64"),
        "counts": arrays(2, "int64"),
        "candidates": arrays(2, "int64"),
        "bits": arrays(1, "uint64"),
        "seed": st.integers(0, 2**64 - 1),
        "n_threads": SCALARS,
    },
    "replacement_profile": {
        "seed": st.integers(0, 2**64 - 1),
        "label": SCALARS,
        "n_class": SCALARS,
        "n_draws": st.one_of(SCALARS, st.integers(0, 5000)),
    },
    "row_keys": {
        "seed": st.integers(0, 2**64 - 1),
        "begin": SCALARS,
        "n": SCALARS,
    },
    "row_keys_at": {"seed": st.integers(0, 2**64 - 1), "rows": arrays(1, "int64")},
    "key_threshold": {
        "want": SCALARS,
        "n": SCALARS,
        "sigmas": st.sampled_from([8.0, 0.0, -1.0, float("nan"), float("inf"), 1e300]),
    },
    "StratifiedSelector": {
        "lo": SCALARS,
        "want": arrays(1, "int64"),
        "threshold": st.one_of(
            st.none(), st.lists(st.integers(0, 2**64 - 1), max_size=4)
        ),
        "seed": st.integers(0, 2**64 - 1),
        "y": arrays(1, "int64"),
        "offset": SCALARS,
        "n_threads": SCALARS,
        "complete": st.booleans(),
    },
}
INFO_CALLS = [
    "active_isa",
    "best_isa",
    "compiled_isas",
    "hardware_threads",
    "isa_request",
    "isa_request_valid",
    "max_index_rows",
]


def explicit(values: Any, dtype: str, shape: list[int]) -> dict:
    return {"explicit": values, "dtype": dtype, "shape": shape}


@st.composite
def coherent_args(draw: Any, name: str) -> dict | None:
    """Arguments that fit together (shapes, index ranges), or None."""
    n, d = draw(st.integers(0, 12)), draw(st.integers(1, 4))
    m = draw(st.integers(0, 8))
    c = draw(st.integers(1, 4))
    ints = st.integers
    dtype = draw(st.sampled_from(["float64", "float32"]))
    vals = st.sampled_from([0.0, 1.0, -2.0, 0.5, 1e-310, 3.0, 1e30])

    def mat(rows: int, cols: int, el: Any, dt: str) -> dict:
        return explicit(
            [[draw(el) for _ in range(cols)] for _ in range(rows)], dt, [rows, cols]
        )

    def vec(size: int, el: Any, dt: str) -> dict:
        return explicit([draw(el) for _ in range(size)], dt, [size])

    idx = ints(0, max(n - 1, 0)) if n else st.just(0)
    if name in ("brute_knn", "kdtree_knn", "fused_knn"):
        use_q = draw(st.booleans())
        args = {
            "X": mat(n, d, vals, dtype),
            "Q": mat(m, d, vals, dtype) if use_q else None,
            "k": draw(ints(1, n + 2)),
            "n_threads": draw(ints(1, 3)),
        }
        if name == "fused_knn":
            args["n_extra"] = draw(ints(0, 9))
            args["within"] = (
                vec(m, st.sampled_from([0.0, 1.0, 4.0, float("inf")]), "float64")
                if use_q and draw(st.booleans())
                else None
            )
        return args
    if name == "pruned_knn":
        use_q = draw(st.booleans())
        return {
            "X": mat(n, d, vals, dtype),
            "Q": mat(m, d, vals, dtype) if use_q else None,
            "centroids": mat(c, d, vals, "float32"),
            "scale": draw(st.sampled_from([1.0, 0.5, 2.0**-40])),
            "k": draw(ints(1, n + 2)),
            "n_threads": draw(ints(1, 3)),
            "max_work": draw(st.sampled_from([None, 0.0, 0.3, 1.0])),
        }
    if name == "nearest_centroids":
        return {
            "X": mat(n, d, vals, dtype),
            "centroids": mat(c, d, vals, "float32"),
            "scale": draw(st.sampled_from([1.0, 0.5])),
            "n_threads": draw(ints(1, 3)),
        }
    if name == "cell_order":
        return {"cell": vec(n, ints(0, c - 1), "int64"), "nlist": c}
    if name == "refine_knn":
        use_q = draw(st.booleans())
        nq = m if use_q else n
        w = draw(ints(1, 5))
        return {
            "X": mat(n, d, vals, "float64"),
            "Q": mat(m, d, vals, "float64") if use_q else None,
            "cand": mat(nq, w, st.one_of(idx, st.just(-1)), "int64"),
            "cand_dist": mat(nq, w, st.sampled_from([0.0, 1.0, 9.0]), "float32"),
            "bound": vec(nq, st.sampled_from([0.0, 1.0, 100.0]), "float64"),
            "k": draw(ints(1, w + 1)),
            "n_threads": draw(ints(1, 3)),
        }
    if name == "smote_interpolate":
        k = draw(ints(1, 3))
        return {
            "X": mat(n, d, vals, dtype),
            "nns": mat(n, k, idx, "int64"),
            "samples": vec(m, ints(0, max(n * k - 1, 0)), "int64"),
            "steps": vec(m, st.sampled_from([0.0, 0.25, 0.999]), "float64"),
            "out": mat(m, d, st.just(0.0), dtype),
            "n_threads": draw(ints(1, 3)),
        }
    if name == "legacy_permutation":
        size = draw(ints(0, n))
        return {
            "key": vec(624, st.integers(0, 2**32 - 1), "uint32"),
            "pos": draw(ints(0, 624)),
            "n": n,
            "size": size,
        }
    if name == "gather_rows":
        return {
            "X": mat(n, d, vals, dtype),
            "rows": vec(m, idx, "int64"),
            "out": mat(m, d, st.just(0.0), dtype),
            "n_threads": draw(ints(1, 3)),
        }
    if name == "tomek_links":
        return {
            "nn1": vec(n, st.one_of(idx, st.just(-1)), "int64"),
            "codes": vec(n, ints(0, c - 1), "int64"),
            "targeted": vec(c, st.booleans(), "bool"),
            "n_threads": draw(ints(1, 3)),
        }
    if name == "enn_keep":
        w = draw(ints(1, 4))
        return {
            "rows": vec(m, idx, "int64"),
            "nbrs": mat(m, w, idx, "int64"),
            "k": draw(ints(1, w)),
            "codes": vec(n, ints(0, c - 1), "int64"),
            "n_classes": c,
            "kind": draw(st.sampled_from(["all", "mode"])),
            "n_threads": draw(ints(1, 3)),
        }
    if name == "compact_neighbors":
        w = draw(ints(0, 4))
        return {
            "nbrs": mat(m, w, st.one_of(idx, st.just(-1)), "int64"),
            "alive": vec(n, st.booleans(), "bool"),
            "n_threads": draw(ints(1, 3)),
        }
    if name in ("stratified_scan", "stratified_gather", "StratifiedSelector"):
        lo = draw(st.sampled_from([0, -3, 5, 2**62]))
        y = vec(n, ints(lo, lo + c - 1), "int64")
        if name == "StratifiedSelector":
            return {
                "lo": lo,
                "want": vec(c, ints(-1, 4), "int64"),
                "threshold": None,
                "seed": draw(ints(0, 2**64 - 1)),
                "y": y,
                "offset": draw(ints(0, 5)),
                "n_threads": draw(ints(1, 3)),
                "complete": draw(st.booleans()),
            }
        return {
            key: value
            for key, value in {
                "y": y,
                "lo": lo,
                "want": vec(c, ints(-1, 4), "int64"),
                "bound": vec(
                    c, st.sampled_from([2**64 - 1, 2**63, 0, 2**60]), "uint64"
                ),
                "counts": explicit([[0] * c], "int64", [1, c]),
                "candidates": explicit([[0] * c], "int64", [1, c]),
                "bits": explicit([0] * ((n + 63) // 64), "uint64", [(n + 63) // 64]),
                "seed": draw(ints(0, 2**64 - 1)),
                "n_threads": draw(ints(1, 3)),
                "from_scan": True,
            }.items()
            if name == "stratified_gather"
            or key in ("y", "lo", "bound", "seed", "n_threads")
        }
    return None


@st.composite
def core_specs(draw: Any) -> dict:
    name = draw(st.sampled_from(sorted(CORE_CALLS)))
    args = draw(coherent_args(name)) if draw(st.integers(0, 2)) else None
    if args is not None:
        # Then, a third of the time, one argument replaced by a random one.
        if draw(st.integers(0, 2)) == 0:
            key = draw(st.sampled_from(sorted(CORE_CALLS[name])))
            args[key] = draw(CORE_CALLS[name][key])
        return {"call": name, "args": args}
    args = {key: draw(strategy) for key, strategy in CORE_CALLS[name].items()}
    # A valid scan to feed stratified_gather, most of the time.
    if name == "stratified_gather" and draw(st.booleans()):
        args["from_scan"] = True
    return {"call": name, "args": args}


def materialize(value: Any) -> Any:
    if isinstance(value, dict) and "explicit" in value:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.array(value["explicit"], dtype=value["dtype"]).reshape(
                value["shape"]
            )
    if isinstance(value, dict) and "shape" in value and "layout" in value:
        return build_array(value)
    return value


def check_core(spec: dict, tmpdir: str) -> None:
    from imbfast import _core

    for name in INFO_CALLS:
        getattr(_core, name)()
    name = spec["call"]
    args = {k: materialize(v) for k, v in spec["args"].items()}
    if name == "StratifiedSelector":
        ok, sel = call_checked(
            _core.StratifiedSelector,
            args["lo"],
            args["want"],
            args["threshold"],
            args["seed"],
        )
        if not ok:
            return
        ok, _ = call_checked(sel.add, args["y"], args["offset"], args["n_threads"])
        call_checked(sel.seen)
        call_checked(sel.finish, args["complete"])
        call_checked(sel.finish, True)  # a second finish: an error, not a crash
        return
    if args.pop("from_scan", False):
        ok, scan = call_checked(
            _core.stratified_scan, args["y"], args["lo"], args["bound"], args["seed"], 1
        )
        if ok:
            args["counts"], args["candidates"], args["bits"], _ = scan
    fn = getattr(_core, name)
    ok, res = call_checked(fn, **args)
    if ok and name in ("brute_knn", "kdtree_knn", "fused_knn"):
        ind = res[0]
        n = args["X"].shape[0]
        valid = ind[ind >= 0]
        if valid.size and valid.max() >= n:
            raise Failure(f"{name}: index out of range")
    if ok and name == "pruned_knn" and res is not None:
        check_pruned(args, res)


def check_pruned(args: dict, res: Any) -> None:
    """The pruned search equals the exact scan, where squares neither
    underflow nor overflow (then both rank the same distances)."""
    from imbfast import _core

    X, Q = args["X"], args["Q"]
    data = X if Q is None else np.concatenate([X, Q])
    mags = np.abs(data[data != 0])
    if mags.size and (mags.min() < 1e-100 or mags.max() > 1e100):
        return
    ind, dist = _core.brute_knn(
        np.ascontiguousarray(X, dtype=np.float64),
        None if Q is None else np.ascontiguousarray(Q, dtype=np.float64),
        args["k"],
    )
    if not (np.array_equal(ind, res[0]) and np.array_equal(dist, res[1])):
        raise Failure("pruned_knn differs from brute_knn")


# ------------------------------------------------------------------- driver

TARGETS = {
    "samplers": (sampler_specs, check_sampler),
    "sampling": (sampling_specs, check_sampling),
    "neighbors": (neighbor_specs, check_neighbors),
    "core": (core_specs, check_core),
}


def known_defect(target: str, spec: dict) -> str | None:
    for known_target, why, predicate in KNOWN_DEFECTS:
        if known_target == target and predicate(spec):
            return why
    return None


def run_one(
    target: str, spec: dict, record: str | None, example_timeout: float
) -> None:
    if known_defect(target, spec) and not os.environ.get("IMBFAST_FUZZ_ALL"):
        return
    if record:
        with open(record, "w") as fh:
            json.dump({"target": target, "spec": spec}, fh, allow_nan=True)
            fh.flush()
            os.fsync(fh.fileno())
    faulthandler.dump_traceback_later(example_timeout, exit=True)
    try:
        with tempfile.TemporaryDirectory() as tmpdir:
            TARGETS[target][1](spec, tmpdir)
    finally:
        faulthandler.cancel_dump_traceback_later()


def fuzz(
    target: str, examples: int, seed: int, record: str | None, timeout: float
) -> int:
    strategy = TARGETS[target][0]
    count = 0

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
        print_blob=False,
    )
    @given(strategy())
    def body(spec: dict) -> None:
        nonlocal count
        count += 1
        run_one(target, spec, record, timeout)

    body()
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(TARGETS), action="append")
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", default=None)
    parser.add_argument("--example-timeout", type=float, default=30.0)
    parser.add_argument("--replay", default=None)
    parser.add_argument("--stats", action="store_true", help="print call outcomes")
    opts = parser.parse_args(argv)
    faulthandler.enable()
    if opts.replay:
        with open(opts.replay) as fh:
            example = json.load(fh)
        print(json.dumps(example, allow_nan=True))
        run_one(example["target"], example["spec"], None, opts.example_timeout)
        print("replay: passed")
        return 0
    for target in opts.target or sorted(TARGETS):
        ran = fuzz(target, opts.examples, opts.seed, opts.record, opts.example_timeout)
        print(f"fuzz {target}: {ran} examples passed", flush=True)
    if opts.stats:
        for name, tally in sorted(OUTCOMES.items()):
            print(f"  {name}: {dict(sorted(tally.items()))}")
        for msg, count in sorted(MESSAGES.items(), key=lambda kv: -kv[1])[:25]:
            print(f"    {count:5d}  {msg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
