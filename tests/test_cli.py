"""``imbfast resample`` and ``imbfast bench`` end to end on small files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import imbfast.under_sampling
from imbfast import _batch, cli
from imbfast.sampling import stratified_sample

HAVE_CLEANERS = hasattr(imbfast.under_sampling, "TomekLinks")
N = 400


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    label = rng.choice([0, 1, 2], size=N, p=[0.6, 0.3, 0.1])
    return pd.DataFrame(
        {
            "a": rng.normal(size=N) + label,
            "b": rng.integers(0, 50, N).astype(np.int32),
            "c": rng.normal(size=N).astype(np.float32),
            "label": label,
        }
    )


def write_input(frame: pd.DataFrame, directory, fmt: str) -> tuple[str, str]:
    """The frame as a file of this format, and the --target to use."""
    path = str(directory / f"in.{fmt}")
    if fmt == "parquet":
        pq.write_table(
            pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=97
        )
        return path, "label"
    if fmt == "csv":
        frame.to_csv(path, index=False)
        return path, "label"
    numeric = frame[["a", "b", "label"]].to_numpy(dtype=np.float64)
    if fmt == "npy":
        np.save(path, numeric)
        return path, "2"
    np.savez(
        path, X=numeric[:, :2], y=frame["label"].to_numpy(), meta=np.array([1, 2, 3])
    )
    return path, "y"


def read_output(path: str, fmt: str) -> tuple[pd.DataFrame | dict, np.ndarray]:
    if fmt == "parquet":
        df = pq.read_table(path).to_pandas()
        return df, df["label"].to_numpy()
    if fmt == "csv":
        df = pacsv.read_csv(path).to_pandas()
        return df, df["label"].to_numpy()
    if fmt == "npy":
        arr = np.load(path)
        return arr, arr[:, 2].astype(int)
    with np.load(path) as data:
        out = {k: data[k] for k in data.files}
    return out, out["y"]


def run(*args: str) -> int:
    return cli.main(["resample", *args, "--quiet"])


FORMATS = ["parquet", "csv", "npy", "npz"]
METHODS = [
    "random-under",
    "stratified",
    "random-over",
    "smote",
    "tomek",
    "enn",
    "smote-tomek",
    "smote-enn",
    "near-miss",
    "cluster-centroids",
    "instance-hardness",
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("method", METHODS)
def test_resample_end_to_end(frame, tmp_path, fmt, method):
    if method in ("tomek", "enn", "smote-tomek", "smote-enn") and not HAVE_CLEANERS:
        pytest.skip("imbfast's cleaning samplers are not in this build")
    src, target = write_input(frame, tmp_path, fmt)
    out = str(tmp_path / f"out.{fmt}")
    data = frame if fmt in ("parquet", "csv") else frame[["a", "b", "label"]]
    args = [
        src,
        out,
        "--target",
        target,
        "--method",
        method,
        "--random-state",
        "0",
        "--batch-rows",
        "64",
        "--indicator-column",
        "added",
    ]
    if method in ("smote", "smote-tomek", "smote-enn") and fmt in ("parquet", "csv"):
        # Only numeric features for neighbour-based methods.
        src_num = str(tmp_path / f"num.{fmt}")
        numeric = frame[["a", "b", "label"]]
        if fmt == "parquet":
            numeric.to_parquet(src_num, index=False)
        else:
            numeric.to_csv(src_num, index=False)
        args[0], data = src_num, numeric
    assert run(*args) == 0
    result, y_out = read_output(out, fmt)
    counts = np.bincount(y_out.astype(int), minlength=3)
    original = np.bincount(frame["label"], minlength=3)
    if method in ("random-under", "stratified"):
        assert counts.tolist() == [original.min()] * 3
        added = result["added"] if fmt != "npy" else result[:, -1]
        assert not np.asarray(added).any()
    elif method in ("random-over", "smote"):
        assert counts.tolist() == [original.max()] * 3
        added = np.asarray(result["added"] if fmt != "npy" else result[:, -1]).astype(
            bool
        )
        assert added.sum() == counts.sum() - N and not added[:N].any()
    elif method in ("near-miss", "cluster-centroids", "instance-hardness"):
        added = np.asarray(result["added"] if fmt != "npy" else result[:, -1])
        added = added.astype(bool)
        if method == "instance-hardness":
            # Thresholds on probabilities: at least the minority count kept.
            assert (counts >= original.min()).all() and (counts <= original).all()
        else:
            assert counts.tolist() == [original.min()] * 3
        # ClusterCentroids' soft voting: the non-minority rows are centroids.
        created = y_out.astype(int) != 2 if method == "cluster-centroids" else 0
        np.testing.assert_array_equal(added, np.zeros_like(added) | created)
    if fmt in ("parquet", "csv"):
        assert list(result.columns) == [*data.columns, "added"]
        if fmt == "parquet":
            for c in data.columns:
                assert result[c].dtype == data[c].dtype
        # Kept rows are rows of the input.
        kept = result[~result["added"].astype(bool)]
        merged = kept[["a", "label"]].merge(
            data[["a", "label"]], how="left", indicator=True
        )
        assert (merged["_merge"] == "both").all()
    if fmt == "npz":
        assert np.array_equal(result["meta"], [1, 2, 3])


def test_streaming_matches_stratified_sample(frame, tmp_path):
    src, _ = write_input(frame, tmp_path, "parquet")
    out = str(tmp_path / "out.parquet")
    assert (
        run(
            src,
            out,
            "--target",
            "label",
            "--method",
            "stratified",
            "--sampling-strategy",
            '{"0": 30, "2": 0.5}',
            "--random-state",
            "3",
            "--batch-rows",
            "50",
        )
        == 0
    )
    got = pq.read_table(out).to_pandas()
    idx = np.sort(
        stratified_sample(frame["label"].to_numpy(), {0: 30, 2: 0.5}, random_state=3)
    )
    pd.testing.assert_frame_equal(got, frame.iloc[idx].reset_index(drop=True))


BAD = [
    (["--target", "nope", "--method", "random-under"], "column 'nope' not found"),
    (["--target", "label", "--method", "magic"], "unknown method 'magic'"),
    (["--target", "label", "--method", "smote"], "needs numeric features; column 's'"),
    (
        ["--target", "label", "--method", "stratified", "--sampling-strategy", "{bad"],
        "not valid JSON",
    ),
    (
        ["--target", "label", "--method", "stratified", "--sampling-strategy", "2.5"],
        "fraction must be in",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_one_line_nothing_written(frame, tmp_path, capsys, args, message):
    df = frame.assign(s=np.where(frame["a"] > 0, "x", "y"))
    src = str(tmp_path / "in.parquet")
    df.to_parquet(src, index=False)
    out = tmp_path / "out.parquet"
    assert cli.main(["resample", src, str(out), *args]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert sorted(os.listdir(tmp_path)) == ["in.parquet"]


def test_unreadable_and_existing_output(tmp_path, capsys, frame):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    out = tmp_path / "out.parquet"
    assert (
        run(str(broken), str(out), "--target", "label", "--method", "stratified") == 2
    )
    assert "cannot read" in capsys.readouterr().err
    assert (
        run(
            str(tmp_path / "missing.csv"),
            str(tmp_path / "o.csv"),
            "--target",
            "label",
            "--method",
            "stratified",
        )
        == 2
    )
    assert "no such file" in capsys.readouterr().err
    src, _ = write_input(frame, tmp_path, "csv")
    existing = tmp_path / "exists.csv"
    existing.write_text("keep me")
    assert run(src, str(existing), "--target", "label", "--method", "stratified") == 2
    assert "--overwrite" in capsys.readouterr().err
    assert existing.read_text() == "keep me"
    assert (
        run(
            src,
            str(existing),
            "--target",
            "label",
            "--method",
            "stratified",
            "--overwrite",
        )
        == 0
    )
    assert existing.read_text() != "keep me"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_failure_mid_write_leaves_no_output(frame, tmp_path, monkeypatch):
    src, _ = write_input(frame, tmp_path, "parquet")
    out = tmp_path / "out.parquet"
    real = _batch._arrow_writer

    class Exploding:
        def __init__(self, *args):
            self.inner = real(*args)
            self.calls = 0

        def write_batch(self, batch):
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt  # what Ctrl-C raises
            self.inner.write_batch(batch)

        def close(self):
            self.inner.close()

    monkeypatch.setattr(_batch, "_arrow_writer", Exploding)
    assert (
        run(
            src,
            str(out),
            "--target",
            "label",
            "--method",
            "random-under",
            "--batch-rows",
            "40",
        )
        == 130
    )
    assert sorted(os.listdir(tmp_path)) == ["in.parquet"]


@pytest.mark.slow
def test_sigint_subprocess_leaves_no_output(tmp_path):
    # A file big enough that the write is still running when SIGINT arrives.
    rng = np.random.default_rng(1)
    n = 2_000_000
    src = tmp_path / "in.npy"
    np.save(src, np.column_stack([rng.normal(size=(n, 6)), rng.integers(0, 2, n)]))
    out = tmp_path / "out.npy"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imbfast",
            "resample",
            str(src),
            str(out),
            "--target",
            "-1",
            "--method",
            "stratified",
            "--sampling-strategy",
            "0.9",
            "--batch-rows",
            "2000",
            "--random-state",
            "0",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Wait until the temporary output exists, then interrupt.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.endswith(".tmp") for p in os.listdir(tmp_path)):
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert proc.returncode == 130, err
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


def test_bench_prints_table_and_plot(tmp_path, capsys):
    png = tmp_path / "bench.png"
    code = cli.main(
        [
            "bench",
            "--samplers",
            "random-under,stratified",
            "--n",
            "2000",
            "--d",
            "4",
            "--repeat",
            "1",
            "--plot",
            str(png),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "| sampler | n | d | imbfast (s) | imbalanced-learn (s) | speed-up |" in text
    assert (
        "| stratified | 2,000 | 4 |" in text and "| random-under | 2,000 | 4 |" in text
    )
    assert png.stat().st_size > 0
    assert cli.main(["bench", "--samplers", "nope", "--n", "100"]) == 2


def test_bench_new_under_samplers(capsys):
    code = cli.main(
        [
            "bench",
            "--samplers",
            "near-miss,cluster-centroids,instance-hardness",
            "--n",
            "300",
            "--d",
            "4",
            "--repeat",
            "1",
            "--n-jobs",
            "1",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    for name in ("near-miss", "cluster-centroids", "instance-hardness"):
        assert f"| {name} | 300 | 4 |" in text


def test_resample_help_lists_the_new_methods(capsys):
    with pytest.raises(SystemExit):
        cli.main(["resample", "--help"])
    # argparse wraps lines at hyphens: compare without whitespace.
    text = "".join(capsys.readouterr().out.split())
    for name in ("near-miss", "cluster-centroids", "instance-hardness"):
        assert name in text


def _variant_data(method: str) -> tuple[np.ndarray, np.ndarray]:
    if method == "kmeans-smote":
        from sklearn.datasets import make_blobs

        X, y = make_blobs(
            [60, 400, 60], centers=[(-10, 0), (0, 0), (10, 0)], random_state=0
        )
        y[y == 2] = 0
        return X, y
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=500, n_features=5, weights=[0.2, 0.8], random_state=0
    )


@pytest.mark.parametrize(
    ("method", "cls", "k"),
    [
        ("adasyn", "ADASYN", None),
        ("adasyn", "ADASYN", 3),
        ("borderline-smote", "BorderlineSMOTE", None),
        ("svm-smote", "SVMSMOTE", 4),
        ("kmeans-smote", "KMeansSMOTE", None),
        ("kmeans-smote", "KMeansSMOTE", 3),
    ],
)
@pytest.mark.parametrize("fmt", ["npz", "parquet"])
def test_resample_smote_variants(tmp_path, method, cls, k, fmt):
    import imbfast.over_sampling as ov

    X, y = _variant_data(method)
    src = str(tmp_path / f"in.{fmt}")
    out = str(tmp_path / f"out.{fmt}")
    if fmt == "npz":
        np.savez(src, X=X, y=y)
        target = "y"
    else:
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        frame["label"] = y
        frame.to_parquet(src, index=False)
        target = "label"
    args = [src, out, "--target", target, "--method", method, "--random-state", "3"]
    if k is not None:
        args += ["--k-neighbors", str(k)]
    assert run(*args) == 0
    kwargs = (
        {} if k is None else {"n_neighbors" if method == "adasyn" else "k_neighbors": k}
    )
    X_ref, y_ref = getattr(ov, cls)(random_state=3, **kwargs).fit_resample(X, y)
    result, y_out = read_output(out, fmt)
    X_out = result["X"] if fmt == "npz" else result.drop(columns="label").to_numpy()
    assert np.array_equal(X_out, X_ref)
    assert np.array_equal(y_out, y_ref)


def test_resample_smote_variant_error_is_one_line(tmp_path, capsys):
    # ADASYN on a class with no other-class neighbour: a clear error, code 1.
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(30, 3)), rng.normal(size=(90, 3)) + 100.0])
    y = np.array([0] * 30 + [1] * 90)
    src = str(tmp_path / "in.npz")
    np.savez(src, X=X, y=y)
    code = run(src, str(tmp_path / "out.npz"), "--target", "y", "--method", "adasyn")
    assert code == 1
    err = capsys.readouterr().err
    assert "Not any neigbours belong to the majority class" in err
    assert len(err.strip().splitlines()) == 1


# The bench's well-separated blobs put no minority sample in danger.
@pytest.mark.filterwarnings("ignore:BorderlineSMOTE. no sample:UserWarning")
def test_bench_smote_variants(capsys):
    code = cli.main(
        [
            "bench",
            "--samplers",
            "adasyn,borderline-smote,svm-smote,kmeans-smote",
            "--n",
            "1500",
            "--d",
            "4",
            "--repeat",
            "1",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    for name in ("adasyn", "borderline-smote", "svm-smote", "kmeans-smote"):
        assert f"| {name} | 1,500 | 4 |" in text
