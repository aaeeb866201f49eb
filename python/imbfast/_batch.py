"""The work behind ``imbfast resample``: read a file, resample it, write it atomically.

Formats (by extension): Parquet (``.parquet``, ``.pq``), CSV (``.csv``),
NumPy ``.npy`` (a 2-D array; ``--target`` is a column index, negative
counts from the end) and ``.npz`` (``--target`` names the label array; every
other array with one entry per label is resampled along its first axis, the
rest copied). The output has the input's format.

``random-under`` and ``stratified`` stream Parquet, CSV and ``.npy`` input:
two passes over the target column (count the classes, then select rows with
:class:`imbfast.sampling.StratifiedStream`) and one pass over whole row
batches that writes the selected rows in input order. Memory is about one
batch plus one int64 per kept row. ``random-under`` reads
``--sampling-strategy`` as imbalanced-learn's RandomUnderSampler does (a
float is the minority/majority ratio), ``stratified`` as
:func:`imbfast.sampling.stratified_sample` does (a float is a fraction of
all rows). Both choose rows by keyed hash, so the counts equal
imbalanced-learn's but the rows differ from its draws.

The other methods load the data into memory and run the sampler of the same
name. Rows a sampler adds (SMOTE's synthetic rows, random-over's copies) are
marked by ``--indicator-column``; for integer feature columns synthetic
values are rounded to the nearest integer so column types are kept.

``smote-nc`` (SMOTENC) takes its categorical columns from ``--categorical``
(names; for ``.npy`` and ``.npz`` column indices of the file's array and of
the feature array) or, without it, the categorical (dictionary) columns of a
Parquet file. ``smote-n`` (SMOTEN) treats every feature as categorical.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

METHODS = (
    "random-under",
    "random-over",
    "stratified",
    "smote",
    "tomek",
    "enn",
    "smote-tomek",
    "smote-enn",
    "near-miss",
    "cluster-centroids",
    "instance-hardness",
    "smote-nc",
    "smote-n",
    "adasyn",
    "borderline-smote",
    "svm-smote",
    "kmeans-smote",
)
STREAMING = ("random-under", "stratified")
# The other SMOTE variants: method -> class in imbfast.over_sampling.
SMOTE_VARIANTS = {
    "adasyn": "ADASYN",
    "borderline-smote": "BorderlineSMOTE",
    "svm-smote": "SVMSMOTE",
    "kmeans-smote": "KMeansSMOTE",
}
NEIGHBOUR_BASED = (
    "smote",
    "tomek",
    "enn",
    "smote-tomek",
    "smote-enn",
    "near-miss",
    "cluster-centroids",
    "instance-hardness",
    *SMOTE_VARIANTS,
)
# --method -> (imbfast.under_sampling class, takes random_state)
UNDER_SAMPLERS = {
    "tomek": ("TomekLinks", False),
    "enn": ("EditedNearestNeighbours", False),
    "near-miss": ("NearMiss", False),
    "cluster-centroids": ("ClusterCentroids", True),
    "instance-hardness": ("InstanceHardnessThreshold", True),
}
BATCH_ROWS = 1 << 18


class UsageError(Exception):
    """A problem with the user's input: reported as one line, exit code 2."""


@dataclass
class Options:
    input: str
    output: str
    target: str
    method: str
    sampling_strategy: Any = "auto"
    random_state: int | None = None
    n_jobs: int | None = None
    k_neighbors: int | None = None
    categorical: list[Any] | None = None
    indicator_column: str | None = None
    overwrite: bool = False
    quiet: bool = False
    batch_rows: int = BATCH_ROWS


def parse_strategy(text: str | None) -> Any:
    """--sampling-strategy: a name, a number or a JSON object of class: value."""
    if text is None:
        return "auto"
    text = text.strip()
    if text.startswith("{"):
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"--sampling-strategy: not valid JSON: {exc.msg}"
            ) from None
        return {_label_key(k): v for k, v in raw.items()}
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _label_key(key: str) -> Any:
    """JSON object keys are strings; integer-looking ones name integer classes."""
    try:
        return int(key)
    except ValueError:
        return key


def _fmt(path: str) -> str:
    lower = path.lower()
    for ext, fmt in (
        (".parquet", "parquet"),
        (".pq", "parquet"),
        (".csv", "csv"),
        (".npy", "npy"),
        (".npz", "npz"),
    ):
        if lower.endswith(ext):
            return fmt
    raise UsageError(
        f"{path}: unknown file type (use .parquet, .pq, .csv, .npy or .npz)"
    )


def _progress(total: int | None, quiet: bool, desc: str) -> Any:
    """A tqdm bar on a terminal, a silent stand-in otherwise."""
    if quiet or not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rows", unit_scale=True, leave=False)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


# --------------------------------------------------------------------- sources
class _Source:
    """Row batches of a Parquet, CSV or .npy file, streamed."""

    def __init__(self, path: str, fmt: str, target: str, batch_rows: int) -> None:
        self.path, self.fmt, self.batch_rows = path, fmt, batch_rows
        try:
            if fmt == "parquet":
                import pyarrow.parquet as pq

                self._pf = pq.ParquetFile(path)
                self.schema = self._pf.schema_arrow
                self.n_rows = self._pf.metadata.num_rows
            elif fmt == "csv":
                self.schema = next(self._csv_batches()).schema
                self.n_rows = None
            else:
                self._arr = np.load(path, mmap_mode="r", allow_pickle=False)
                if self._arr.ndim != 2:
                    raise UsageError(
                        f"{path}: a .npy input must be 2-D, got {self._arr.ndim}-D"
                    )
                self.n_rows = self._arr.shape[0]
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: cannot read: {_short(exc)}") from None
        self.target = self._target_index(target) if fmt == "npy" else target
        if fmt != "npy" and target not in self.schema.names:
            raise UsageError(f"--target: column {target!r} not found in {path}")

    def _target_index(self, target: str) -> int:
        try:
            col = int(target)
        except ValueError:
            raise UsageError(
                f"--target: for .npy input give a column index, got {target!r}"
            ) from None
        d = self._arr.shape[1]
        if not -d <= col < d:
            raise UsageError(f"--target: column {col} out of range for {d} columns")
        return col % d

    def _csv_batches(self, columns: list[str] | None = None) -> Iterator[Any]:
        import pyarrow.csv as pacsv

        convert = pacsv.ConvertOptions(include_columns=columns) if columns else None
        if columns is None and hasattr(self, "schema"):
            convert = pacsv.ConvertOptions(column_types=self.schema)
        reader = pacsv.open_csv(
            self.path,
            read_options=pacsv.ReadOptions(block_size=1 << 24),
            convert_options=convert,
        )
        yield from reader

    def _row_groups(self, columns: list[str] | None) -> Iterator[Any]:
        # One row group at a time: pyarrow's iter_batches reads ahead and
        # holds many row groups at once (gigabytes on a large file).
        for i in range(self._pf.num_row_groups):
            table = self._pf.read_row_group(i, columns=columns, use_threads=False)
            yield from table.to_batches(max_chunksize=self.batch_rows)
            del table

    def labels(self) -> Iterator[np.ndarray]:
        """The target column, batch by batch."""
        if self.fmt == "parquet":
            for batch in self._row_groups([self.target]):
                yield batch.column(0).to_numpy(zero_copy_only=False)
        elif self.fmt == "csv":
            for batch in self._csv_batches():
                yield batch.column(self.target).to_numpy(zero_copy_only=False)
        else:
            for start in range(0, self._arr.shape[0], self.batch_rows):
                yield np.asarray(
                    self._arr[start : start + self.batch_rows, self.target]
                )

    def batches(self) -> Iterator[Any]:
        """Whole rows: pyarrow RecordBatches, or 2-D arrays for .npy."""
        if self.fmt == "parquet":
            yield from self._row_groups(None)
        elif self.fmt == "csv":
            yield from self._csv_batches()
        else:
            for start in range(0, self._arr.shape[0], self.batch_rows):
                yield np.asarray(self._arr[start : start + self.batch_rows])


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# -------------------------------------------------------------------- writing
@contextlib.contextmanager
def atomic_output(path: str, overwrite: bool) -> Iterator[str]:
    """A temporary path next to ``path``, renamed onto it only on success."""
    if os.path.exists(path) and not overwrite:
        raise UsageError(f"{path} exists; pass --overwrite to replace it")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"{path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
    )
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _arrow_writer(fmt: str, tmp: str, schema: Any) -> Any:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetWriter(tmp, schema)
    import pyarrow.csv as pacsv

    return pacsv.CSVWriter(tmp, schema)


# ------------------------------------------------------------------ streaming
def _stream_resample(opts: Options, fmt: str) -> dict[Any, int]:
    from imbfast.sampling import StratifiedStream, under_sampling_targets

    src = _Source(opts.input, fmt, opts.target, opts.batch_rows)
    # Pass 1: class counts.
    counts: dict[Any, int] = {}
    bar = _progress(src.n_rows, opts.quiet, "counting")
    for labels in src.labels():
        if labels.dtype.kind == "O" or labels.dtype.kind == "U":
            labels = labels.astype(str)
        values, n = np.unique(labels, return_counts=True)
        for v, c in zip(values.tolist(), n.tolist(), strict=True):
            counts[v] = counts.get(v, 0) + c
        bar.update(len(labels))
    bar.close()
    if not counts:
        raise UsageError(f"{opts.input}: no rows")
    classes = np.array(sorted(counts))
    class_n = np.array([counts[c] for c in classes.tolist()], dtype=np.int64)
    target = opts.sampling_strategy
    try:
        if opts.method == "random-under" and (
            isinstance(target, str) or isinstance(target, float)
        ):
            target = under_sampling_targets(target, classes, class_n)
        if opts.method == "random-under" and isinstance(target, int):
            raise UsageError(
                "--sampling-strategy: random-under takes a float, a name or a dict"
            )
        stream = StratifiedStream(
            target,
            class_counts=counts,
            random_state=opts.random_state,
            n_jobs=opts.n_jobs,
        )
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--sampling-strategy: {_short(exc)}") from None
    # Pass 2: select.
    offset = 0
    bar = _progress(src.n_rows, opts.quiet, "selecting")
    for labels in src.labels():
        if labels.dtype.kind == "O" or labels.dtype.kind == "U":
            labels = labels.astype(str)
        stream.add(labels, offset)
        offset += len(labels)
        bar.update(len(labels))
    bar.close()
    keep = np.sort(stream.finish())
    # Pass 3: write the kept rows in input order.
    with atomic_output(opts.output, opts.overwrite) as tmp:
        bar = _progress(src.n_rows, opts.quiet, "writing")
        if fmt == "npy":
            from numpy.lib.format import open_memmap

            extra = opts.indicator_column is not None
            out = open_memmap(
                tmp,
                mode="w+",
                dtype=src._arr.dtype,
                shape=(keep.shape[0], src._arr.shape[1] + extra),
            )
            start = written = 0
            for block in src.batches():
                lo, hi = np.searchsorted(keep, [start, start + len(block)])
                out[written : written + hi - lo, : block.shape[1]] = block[
                    keep[lo:hi] - start
                ]
                if extra:
                    out[written : written + hi - lo, -1] = 0
                written += hi - lo
                start += len(block)
                bar.update(len(block))
            out.flush()
            del out
        else:
            writer = None
            start = 0
            try:
                for batch in src.batches():
                    lo, hi = np.searchsorted(keep, [start, start + batch.num_rows])
                    part = batch.take(keep[lo:hi] - start)
                    if opts.indicator_column is not None:
                        part = _with_indicator(part, opts.indicator_column)
                    if writer is None:
                        writer = _arrow_writer(fmt, tmp, part.schema)
                    if hi > lo:
                        writer.write_batch(part)
                    start += batch.num_rows
                    bar.update(batch.num_rows)
                if writer is None:
                    writer = _arrow_writer(fmt, tmp, src.schema)  # no rows at all
            finally:
                if writer is not None:
                    writer.close()
        bar.close()
    return {"rows": int(keep.shape[0])}


def _with_indicator(batch: Any, name: str) -> Any:
    """The batch with an all-False column ``name``: streamed rows are all original."""
    import pyarrow as pa

    return batch.append_column(
        pa.field(name, pa.bool_()), pa.array(np.zeros(batch.num_rows, bool))
    )


# ---------------------------------------------------------------- in memory
def _sampler(opts: Options) -> Any:
    """The sampler of a method, imported by name when first needed."""
    common = {"sampling_strategy": opts.sampling_strategy}
    m = opts.method
    if m == "random-over":
        from imbfast.over_sampling import RandomOverSampler

        return RandomOverSampler(random_state=opts.random_state, **common)
    # --k-neighbors: the sampler's own default when not given.
    k_neighbors = 5 if opts.k_neighbors is None else opts.k_neighbors
    if m == "smote":
        from imbfast.over_sampling import SMOTE

        return SMOTE(
            random_state=opts.random_state,
            k_neighbors=k_neighbors,
            n_jobs=opts.n_jobs,
            **common,
        )
    if m in SMOTE_VARIANTS:
        import imbfast.over_sampling as ov

        cls = getattr(ov, SMOTE_VARIANTS[m])
        if opts.k_neighbors is not None:
            key = "n_neighbors" if m == "adasyn" else "k_neighbors"
            common[key] = opts.k_neighbors
        return cls(random_state=opts.random_state, n_jobs=opts.n_jobs, **common)
    if m == "smote-nc":
        from imbfast.over_sampling import SMOTENC

        return SMOTENC(
            categorical_features=(
                "auto" if opts.categorical is None else opts.categorical
            ),
            random_state=opts.random_state,
            k_neighbors=k_neighbors,
            n_jobs=opts.n_jobs,
            **common,
        )
    if m == "smote-n":
        from imbfast.over_sampling import SMOTEN

        return SMOTEN(
            random_state=opts.random_state,
            k_neighbors=k_neighbors,
            n_jobs=opts.n_jobs,
            **common,
        )
    if m in UNDER_SAMPLERS:
        import imbfast.under_sampling as us

        name, seeded = UNDER_SAMPLERS[m]
        cls = getattr(us, name, None)
        if cls is None:
            raise UsageError(
                f"--method {m}: imbfast.under_sampling.{name} is not available"
            )
        if seeded:
            common["random_state"] = opts.random_state
        return cls(n_jobs=opts.n_jobs, **common)
    import imbfast.combine as cb
    from imbfast.over_sampling import SMOTE

    name = "SMOTETomek" if m == "smote-tomek" else "SMOTEENN"
    cls = getattr(cb, name, None)
    if cls is None:
        raise UsageError(f"--method {m}: imbfast.combine.{name} is not available")
    smote = SMOTE(
        random_state=opts.random_state, k_neighbors=k_neighbors, n_jobs=opts.n_jobs
    )
    return cls(
        random_state=opts.random_state, smote=smote, n_jobs=opts.n_jobs, **common
    )


def _added_mask(
    sampler: Any, n_in: int, n_out: int, y_out: np.ndarray | None = None
) -> np.ndarray:
    """True for output rows the sampler created rather than kept."""
    if getattr(sampler, "voting_", None) == "soft" and y_out is not None:
        # ClusterCentroids' soft voting: the targeted classes are centroids.
        return np.isin(y_out, list(sampler.sampling_strategy_))
    idx = np.arange(n_out)
    # Combined samplers: the cleaning step's kept indices point into the
    # over-sampled data, whose rows past n_in are new.
    for attr in ("tomek_", "enn_"):
        step = getattr(sampler, attr, None)
        if step is not None and hasattr(step, "sample_indices_"):
            idx = np.asarray(step.sample_indices_)
    if hasattr(sampler, "sample_indices_") and not hasattr(sampler, "smote_"):
        if sampler.__class__.__name__ in ("TomekLinks", "EditedNearestNeighbours"):
            return np.zeros(n_out, dtype=bool)
    return idx >= n_in


def _memory_resample(opts: Options, fmt: str) -> dict[Any, int]:
    import pandas as pd

    if fmt == "npz":
        return _npz_resample(opts)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(opts.input)
        elif fmt == "csv":
            import pyarrow.csv as pacsv

            table = pacsv.read_csv(opts.input)
        else:
            arr = np.load(opts.input, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{opts.input}: cannot read: {_short(exc)}") from None
    if fmt == "npy":
        if arr.ndim != 2:
            raise UsageError(
                f"{opts.input}: a .npy input must be 2-D, got {arr.ndim}-D"
            )
        src_col = _Source.__new__(_Source)
        src_col._arr = arr
        col = _Source._target_index(src_col, opts.target)
        X = np.delete(arr, col, axis=1)
        y = arr[:, col]
        _check_numeric_array(opts, X)
        opts = _array_categorical(opts, arr.shape[1], col)
        X_res, y_res, added = _run(opts, X, y)
        X_res = np.asarray(X_res)
        if arr.dtype.kind in "biu":
            X_res = np.rint(X_res)
        out = np.insert(X_res.astype(arr.dtype), col, y_res.astype(arr.dtype), axis=1)
        if opts.indicator_column is not None:
            out = np.column_stack([out, added.astype(arr.dtype)])
        with atomic_output(opts.output, opts.overwrite) as tmp, open(tmp, "wb") as fh:
            np.save(fh, out)
        return {"rows": int(out.shape[0])}
    if opts.target not in table.column_names:
        raise UsageError(f"--target: column {opts.target!r} not found in {opts.input}")
    df = table.to_pandas()
    features = [c for c in df.columns if c != opts.target]
    if opts.method in NEIGHBOUR_BASED:
        for c in features:
            if not (
                pd.api.types.is_numeric_dtype(df[c])
                or pd.api.types.is_bool_dtype(df[c])
            ):
                raise UsageError(
                    f"--method {opts.method} needs numeric features; column {c!r} is "
                    f"{df[c].dtype}"
                )
        X = df[features].to_numpy(dtype=np.float64)
    else:
        X = df[features]
    if opts.method == "smote-nc":
        # Integer continuous columns are interpolated in float and rounded
        # below, like SMOTE's.
        named = opts.categorical or [
            c for c in features if isinstance(df[c].dtype, pd.CategoricalDtype)
        ]
        to_float = {
            c: np.float64
            for c in features
            if c not in named
            and (
                pd.api.types.is_integer_dtype(df[c])
                or pd.api.types.is_bool_dtype(df[c])
            )
        }
        X = X.astype(to_float) if to_float else X
    y = df[opts.target].to_numpy()
    X_res, y_res, added = _run(opts, X, y)
    out = (
        pd.DataFrame(X_res, columns=features)
        if isinstance(X_res, np.ndarray)
        else (X_res.reset_index(drop=True))
    )
    for c in features:
        if pd.api.types.is_integer_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            if isinstance(X_res, np.ndarray) or out[c].dtype.kind == "f":
                out[c] = np.rint(out[c].to_numpy())
        out[c] = out[c].astype(df[c].dtype)
    out.insert(
        list(df.columns).index(opts.target),
        opts.target,
        pd.Series(y_res).astype(df[opts.target].dtype).to_numpy(),
    )
    if opts.indicator_column is not None:
        out[opts.indicator_column] = added
    import pyarrow as pa

    schema = table.schema
    if opts.indicator_column is not None:
        schema = schema.append(pa.field(opts.indicator_column, pa.bool_()))
    result = pa.Table.from_pandas(out, schema=schema, preserve_index=False)
    with atomic_output(opts.output, opts.overwrite) as tmp:
        writer = _arrow_writer(fmt, tmp, result.schema)
        try:
            writer.write_table(result)
        finally:
            writer.close()
    return {"rows": int(result.num_rows)}


def _array_categorical(opts: Options, n_columns: int, target: int | None) -> Options:
    """--categorical for arrays: column indices, made relative to the features.

    ``target`` is the column of a .npy array holding the labels (the indices
    count the file's columns), None for an .npz feature array.
    """
    if opts.categorical is None:
        return opts
    columns = []
    for text in opts.categorical:
        try:
            j = int(text)
        except ValueError:
            raise UsageError(
                f"--categorical: array columns are integer indices, got {text!r}"
            ) from None
        j = j + n_columns if j < 0 else j
        if not 0 <= j < n_columns:
            raise UsageError(
                f"--categorical: column {text} outside the {n_columns} columns"
            )
        if target is not None:
            if j == target:
                raise UsageError(f"--categorical: column {text} is the target")
            j = j - 1 if j > target else j
        columns.append(j)
    return dataclasses.replace(opts, categorical=columns)


def _check_numeric_array(opts: Options, X: np.ndarray) -> None:
    if opts.method in NEIGHBOUR_BASED and X.dtype.kind not in "biuf":
        raise UsageError(
            f"--method {opts.method} needs numeric features; got dtype {X.dtype}"
        )


def _run(opts: Options, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray]:
    sampler = _sampler(opts)
    try:
        X_res, y_res = sampler.fit_resample(X, y)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--method {opts.method}: {_short(exc)}") from None
    y_res = np.asarray(y_res)
    return X_res, y_res, _added_mask(sampler, len(y), len(y_res), y_res)


def _npz_resample(opts: Options) -> dict[Any, int]:
    try:
        with np.load(opts.input, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise UsageError(f"{opts.input}: cannot read: {_short(exc)}") from None
    if opts.target not in arrays:
        raise UsageError(
            f"--target: array {opts.target!r} not found in {opts.input} "
            f"(has {', '.join(sorted(arrays))})"
        )
    y = arrays[opts.target].ravel()
    rows = [
        k
        for k, a in arrays.items()
        if k != opts.target and a.ndim >= 1 and a.shape[0] == y.shape[0]
    ]
    if opts.method in STREAMING or opts.method == "random-over":
        from imbfast.sampling import stratified_sample, under_sampling_targets

        if opts.method == "random-over":
            sampler = _sampler(opts)
            try:
                sampler.fit_resample(np.zeros((len(y), 1)), y)
            except (ValueError, TypeError) as exc:
                raise UsageError(f"--method {opts.method}: {_short(exc)}") from None
            idx = sampler.sample_indices_
        else:
            target = opts.sampling_strategy
            try:
                if opts.method == "random-under" and isinstance(target, str | float):
                    classes, counts = np.unique(y, return_counts=True)
                    target = under_sampling_targets(target, classes, counts)
                idx = stratified_sample(
                    y, target, random_state=opts.random_state, n_jobs=opts.n_jobs
                )
            except (ValueError, TypeError) as exc:
                raise UsageError(f"--sampling-strategy: {_short(exc)}") from None
            idx = np.sort(idx)
        out = {
            k: (a[idx] if k in rows or k == opts.target else a)
            for k, a in arrays.items()
        }
        added = (
            np.arange(len(idx)) >= len(y)
            if opts.method == "random-over"
            else np.zeros(len(idx), dtype=bool)
        )
    else:
        if len(rows) != 1:
            raise UsageError(
                f"--method {opts.method}: the .npz must hold exactly one feature array "
                f"besides {opts.target!r}, found {len(rows)}"
            )
        X = arrays[rows[0]]
        if X.ndim != 2:
            raise UsageError(f"{rows[0]}: features must be 2-D, got {X.ndim}-D")
        _check_numeric_array(opts, X)
        opts = _array_categorical(opts, X.shape[1], None)
        X_res, y_res, added = _run(opts, X, y)
        out = dict(arrays)
        out[rows[0]] = X_res
        out[opts.target] = y_res
    if opts.indicator_column is not None:
        out[opts.indicator_column] = added
    with atomic_output(opts.output, opts.overwrite) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **out)
    return {"rows": len(out[opts.target])}


def resample(opts: Options) -> dict[Any, int]:
    """Run ``imbfast resample``; raises UsageError for bad input."""
    if opts.method not in METHODS:
        raise UsageError(
            f"--method: unknown method {opts.method!r} "
            f"(choose from {', '.join(METHODS)})"
        )
    fmt = _fmt(opts.input)
    out_fmt = _fmt(opts.output)
    if fmt != out_fmt:
        raise UsageError(f"OUTPUT must have the input's format ({fmt}), got {out_fmt}")
    if not os.path.isfile(opts.input):
        raise UsageError(f"{opts.input}: no such file")
    if os.path.exists(opts.output) and not opts.overwrite:
        raise UsageError(f"{opts.output} exists; pass --overwrite to replace it")
    if opts.method in STREAMING and fmt != "npz":
        return _stream_resample(opts, fmt)
    return _memory_resample(opts, fmt)
