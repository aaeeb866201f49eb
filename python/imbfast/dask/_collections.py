"""Turning dask inputs into row-chunked arrays and results back into their kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from imbfast.base import is_dask_collection

__all__ = ["DaskInput", "as_graph_value", "is_dask_collection", "normalize", "restore"]


@dataclass
class DaskInput:
    """A validated dask input: X chunked by rows only, y aligned with it."""

    X: Any  # dask.array.Array, 2-D, one column chunk
    y: Any  # dask.array.Array, 1-D, X's row chunks
    kind: str  # "array" or "dataframe"
    columns: list | None = None
    dtypes: Any = None
    y_name: Any = None

    @property
    def row_chunks(self) -> tuple[int, ...]:
        return self.X.chunks[0]

    @property
    def offsets(self) -> np.ndarray:
        """Global index of the first row of every chunk (plus the total)."""
        return np.concatenate([[0], np.cumsum(self.row_chunks)]).astype(np.int64)


def _known_chunks(arr: Any) -> Any:
    if any(np.isnan(c) for c in arr.chunks[0]):
        arr = arr.compute_chunk_sizes()
    return arr


def _series_to_array(series: Any) -> Any:
    """Labels of a dask Series as a dask array (extension dtypes as objects)."""
    if not isinstance(series.dtype, np.dtype):
        series = series.astype(object)
    return series.to_dask_array(lengths=True)


def normalize(X: Any, y: Any) -> DaskInput:
    """Validate and align a dask (or mixed dask/NumPy) X and y.

    Parameters
    ----------
    X : dask array of shape (n_samples, n_features) or dask DataFrame
        Rows may be chunked freely; columns are brought into one chunk.
    y : dask array, dask Series, column name of X, or NumPy array
        The target. A column name is taken out of a dataframe X.

    Returns
    -------
    DaskInput
    """
    import dask.array as da
    import dask.dataframe as dd

    kind = "array"
    columns = dtypes = y_name = None
    if isinstance(X, dd.DataFrame):
        kind = "dataframe"
        if isinstance(y, str) or (np.isscalar(y) and y in X.columns):
            if y not in X.columns:
                raise ValueError(f"The target column {y!r} is not a column of X.")
            y_name = y
            y = X[y]
            X = X.drop(columns=[y_name])
        columns = list(X.columns)
        dtypes = X.dtypes
        y_series = y
        X = X.to_dask_array(lengths=True)
        if isinstance(y_series, dd.Series):
            y_name = y_series.name if y_name is None else y_name
            y = _series_to_array(y_series)
    elif isinstance(y, dd.Series):
        y_name = y.name
        y = _series_to_array(y)
    elif isinstance(y, str):
        raise ValueError("A target given by column name needs a dask DataFrame X.")

    if not isinstance(X, da.Array):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-D X, got {X.ndim} dimensions.")
        y = y if isinstance(y, da.Array) else da.from_array(np.asarray(y))
        y = _known_chunks(y)
        X = da.from_array(X, chunks=(y.chunks[0], -1))
    X = _known_chunks(X)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D X, got a dask array with {X.ndim} dimensions."
        )
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    if not isinstance(y, da.Array):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        y = da.from_array(y, chunks=(X.chunks[0],))
    y = _known_chunks(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            "On dask, y must be 1-D (one label per row); "
            f"got a dask array with {y.ndim} dimensions."
        )
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{X.shape[0]}, {y.shape[0]}]"
        )
    if y.chunks[0] != X.chunks[0]:
        y = y.rechunk((X.chunks[0],))
    return DaskInput(X=X, y=y, kind=kind, columns=columns, dtypes=dtypes, y_name=y_name)


def restore(inp: DaskInput, X_res: Any, y_res: Any) -> tuple[Any, Any]:
    """Give the resampled arrays the kind (and column names, dtypes) of the input."""
    if inp.kind == "array":
        return X_res, y_res
    import dask.dataframe as dd

    X_df = dd.from_dask_array(X_res, columns=inp.columns)
    y_ser = dd.from_dask_array(y_res, columns=inp.y_name)
    try:
        return X_df.astype(inp.dtypes.to_dict()), y_ser
    except (TypeError, ValueError):
        # Like imbalanced-learn's ArraysTransformer: when the input's dtypes
        # cannot hold the resampled values, the resampled dtypes stay.
        return X_df, y_ser


def as_graph_value(value: Any) -> Any:
    """A handle for a NumPy array that many tasks read.

    With a distributed client the array is scattered once to the workers,
    under a fresh key: a content-hashed key would be shared by two scatters
    of equal arrays, and the release of the first (its futures dropped) can
    then race with the second's use ("lost dependencies"). Otherwise it is
    placed in the graph once (a delayed value).
    """
    import dask

    try:
        from distributed import get_client

        client = get_client()
    except (ImportError, ValueError):
        return dask.delayed(value, pure=True)
    return client.scatter(value, broadcast=False, hash=False)
