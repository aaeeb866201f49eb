"""``imbfast resample --method smote-nc / smote-n`` and their ``imbfast bench`` rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from imbfast import cli
from imbfast.over_sampling import SMOTEN, SMOTENC

N = 300


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    label = rng.choice([0, 1, 2], size=N, p=[0.6, 0.3, 0.1])
    return pd.DataFrame(
        {
            "a": rng.normal(size=N) + label,
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], size=N)),
            "count": rng.integers(0, 50, N).astype(np.int32),
            "label": label,
            "name": rng.choice(["x", "y", "z", "w"], size=N),
            "c": rng.normal(size=N),
        }
    )


def run(*args: str) -> int:
    return cli.main(["resample", *args, "--quiet"])


def balanced(y: np.ndarray) -> bool:
    counts = np.bincount(np.asarray(y).astype(int))
    return bool((counts == counts.max()).all())


def test_smote_nc_parquet_names_keep_types_and_match_the_sampler(frame, tmp_path):
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    frame.to_parquet(src, index=False)
    args = [str(src), str(out), "--target", "label", "--method", "smote-nc"]
    args += ["--categorical", "colour,name", "--random-state", "0"]
    assert run(*args, "--indicator-column", "added") == 0
    got = pq.read_table(out).to_pandas()
    assert list(got.columns) == [*frame.columns, "added"]
    assert balanced(got["label"])
    for c in frame.columns:
        assert got[c].dtype == frame[c].dtype
    new = got[got["added"]]
    assert len(new) == len(got) - N and not got["added"][:N].any()
    assert set(new["colour"]) <= set(frame["colour"])
    assert set(new["name"]) <= set(frame["name"])
    # The same rows as the sampler on the frame (integer column interpolated
    # in float, then rounded).
    X = frame.drop(columns="label").astype({"count": np.float64})
    X_res, _ = SMOTENC(
        categorical_features=["colour", "name"], random_state=0
    ).fit_resample(X, frame["label"])
    assert np.array_equal(got["a"].to_numpy(), X_res["a"].to_numpy())
    assert np.array_equal(got["name"].to_numpy(), X_res["name"].to_numpy())
    assert np.array_equal(
        got["count"].to_numpy(), np.rint(X_res["count"].to_numpy()).astype(np.int32)
    )


def test_smote_nc_parquet_categorical_columns_by_default(frame, tmp_path):
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    frame.drop(columns="name").to_parquet(src, index=False)
    assert run(str(src), str(out), "--target", "label", "--method", "smote-nc") == 0
    got = pq.read_table(out).to_pandas()
    assert balanced(got["label"])
    assert set(got["colour"]) == set(frame["colour"])


def test_smote_nc_csv_strings(frame, tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    args = [str(src), str(out), "--target", "label", "--method", "smote-nc"]
    assert run(*args, "--categorical", "colour,name", "--random-state", "1") == 0
    got = pacsv.read_csv(out).to_pandas()
    assert balanced(got["label"])
    assert set(got["name"]) <= set(frame["name"])


@pytest.mark.parametrize("fmt", ["npy", "npz"])
def test_smote_nc_arrays_take_column_indices(frame, tmp_path, fmt):
    colour = frame["colour"].cat.codes.to_numpy().astype(np.float64)
    y = frame["label"].to_numpy().astype(np.float64)
    src, out = tmp_path / f"in.{fmt}", tmp_path / f"out.{fmt}"
    if fmt == "npy":
        # Columns: a, label, colour, c; --categorical counts the file's columns.
        np.save(src, np.column_stack([frame["a"], y, colour, frame["c"]]))
        target, cats = "1", "2"
    else:
        np.savez(src, X=np.column_stack([frame["a"], colour, frame["c"]]), y=y)
        target, cats = "y", "1"
    args = [str(src), str(out), "--target", target, "--method", "smote-nc"]
    assert run(*args, "--categorical", cats, "--random-state", "0") == 0
    if fmt == "npy":
        res = np.load(out)
        labels, new_colour = res[:, 1], res[N:, 2]
    else:
        with np.load(out) as data:
            labels, new_colour = data["y"], data["X"][N:, 1]
    assert balanced(labels)
    assert set(new_colour) <= set(colour)


def test_smote_n_csv_matches_the_sampler(frame, tmp_path):
    data = frame[["colour", "name", "label"]]
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    data.to_csv(src, index=False)
    args = [str(src), str(out), "--target", "label", "--method", "smote-n"]
    assert run(*args, "--random-state", "0") == 0
    got = pacsv.read_csv(out).to_pandas()
    assert balanced(got["label"])
    X_res, _ = SMOTEN(random_state=0).fit_resample(
        data[["colour", "name"]].astype(object), data["label"]
    )
    assert np.array_equal(got[["colour", "name"]].to_numpy(), np.asarray(X_res))


BAD = [
    (["--method", "smote-nc", "--categorical", "nope"], "not columns of the dataframe"),
    (["--method", "smote-nc"], "only with numerical features"),
    (["--method", "smote-nc", "--categorical", "a,c,colour,count,name"], "only with"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_one_line_nothing_written(frame, tmp_path, capsys, args, message):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(src, index=False)
    assert run(str(src), str(out), "--target", "label", *args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("cats", "message"),
    [("x", "integer indices"), ("9", "outside the 3 columns"), ("1", "is the target")],
)
def test_bad_array_categorical(tmp_path, capsys, cats, message):
    src, out = tmp_path / "in.npy", tmp_path / "out.npy"
    rng = np.random.default_rng(1)
    np.save(
        src,
        np.column_stack(
            [rng.normal(size=50), np.r_[[0] * 40, [1] * 10], rng.integers(0, 3, 50)]
        ),
    )
    args = [str(src), str(out), "--target", "1", "--method", "smote-nc"]
    assert run(*args, "--categorical", cats) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_bench_categorical_rows(capsys):
    code = cli.main(
        [
            "bench",
            "--samplers",
            "smote-nc,smote-n",
            "--n",
            "1500",
            "--d",
            "6",
            "--repeat",
            "1",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "| smote-nc | 1,500 | 6 |" in text and "| smote-n | 1,500 | 6 |" in text
    assert cli.main(["bench", "--samplers", "smote-nc", "--n", "100", "--d", "1"]) == 2
