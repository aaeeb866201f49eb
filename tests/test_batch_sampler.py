"""BalancedBatchSampler: the batch_sampler protocol, and inside a real DataLoader."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from imbfast.sampling import BalancedBatchSampler, balanced_batches


@pytest.fixture(scope="module")
def labels():
    rng = np.random.default_rng(0)
    return rng.permutation(np.array([0] * 700 + [1] * 250 + [2] * 50))


def test_protocol_lists_of_ints_and_len(labels):
    sampler = BalancedBatchSampler(labels, batch_size=30, random_state=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == int(np.ceil(1000 / 30))
    assert all(isinstance(b, list) for b in batches)
    assert all(type(i) is int for b in batches for i in b)
    assert [len(b) for b in batches[:-1]] == [30] * (len(batches) - 1)
    assert len(batches[-1]) == 1000 % 30
    for batch in batches[:-1]:
        assert np.bincount(labels[batch], minlength=3).tolist() == [10, 10, 10]
        assert len(set(batch)) == len(batch)


def test_same_index_logic_as_balanced_batches(labels):
    """Epoch e's batches are balanced_batches' first epoch with e's seed."""
    sampler = BalancedBatchSampler(
        labels, batch_size=64, class_weights={0: 1, 2: 3}, random_state=4
    )
    sampler.set_epoch(3)
    ours = list(sampler)
    seed = np.random.SeedSequence([4, 3]).generate_state(1)[0]
    X = np.arange(labels.shape[0], dtype=np.float64)[:, None]
    theirs = [
        xb[:, 0].astype(int).tolist()
        for xb, _ in balanced_batches(
            X,
            labels,
            batch_size=64,
            class_weights={0: 1, 2: 3},
            random_state=np.random.RandomState(int(seed)),
        )
    ]
    assert ours == theirs


def test_deterministic_per_epoch(labels):
    a = BalancedBatchSampler(labels, batch_size=32, random_state=7)
    b = BalancedBatchSampler(labels, batch_size=32, random_state=7)
    epoch0, epoch1 = list(a), list(a)
    assert a.epoch == 2
    assert epoch0 != epoch1
    assert list(b) == epoch0
    b.set_epoch(1)
    assert list(b) == epoch1
    b.set_epoch(0)
    assert list(b) == epoch0
    c = BalancedBatchSampler(labels, batch_size=32, random_state=8)
    assert list(c) != epoch0


def test_epoch_advances_when_the_first_batch_is_drawn(labels):
    """An iterator created but never read (DataLoader with workers makes one)
    does not use up an epoch."""
    sampler = BalancedBatchSampler(labels, batch_size=100, random_state=0)
    unused = iter(sampler)
    it = iter(sampler)
    assert sampler.epoch == 0
    first = next(it)
    assert sampler.epoch == 1 and len(first) == 100
    del unused
    sampler.set_epoch(0)
    assert next(iter(sampler)) == first


def test_drop_last_sampling_strategy_and_label_kinds(labels):
    names = np.array(["cat", "dog", "emu"], dtype=object)[labels]
    for y in (names, pd.Series(names), names.tolist()):
        sampler = BalancedBatchSampler(y, batch_size=48, drop_last=True, random_state=1)
        batches = list(sampler)
        assert len(batches) == len(sampler) == 1000 // 48
        assert all(len(b) == 48 for b in batches)
        assert list(sampler.classes_) == ["cat", "dog", "emu"]
    by_strategy = BalancedBatchSampler(
        labels, batch_size=50, sampling_strategy="not majority", random_state=0
    )
    assert len(by_strategy) == int(np.ceil(2100 / 50))


def test_random_state_none_still_replays_an_epoch(labels):
    sampler = BalancedBatchSampler(labels, batch_size=40)
    first = list(sampler)
    sampler.set_epoch(0)
    assert list(sampler) == first


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an int"),
        ({"batch_size": 2}, ValueError, "smaller than the 3 classes"),
        (
            {"batch_size": 8, "class_weights": {0: 1}, "sampling_strategy": "auto"},
            ValueError,
            "not both",
        ),
        ({"batch_size": 8, "class_weights": {5: 1}}, ValueError, "not present"),
    ],
)
def test_bad_input(labels, kwargs, error, match):
    with pytest.raises(error, match=match):
        BalancedBatchSampler(labels, **kwargs)


def test_bad_epoch(labels):
    sampler = BalancedBatchSampler(labels, batch_size=8)
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        sampler.set_epoch(-1)
    with pytest.raises(TypeError, match="epoch must be an int"):
        sampler.set_epoch("1")


def test_importing_and_using_the_sampler_does_not_import_torch():
    code = (
        "import sys, numpy as np\n"
        "from imbfast.sampling import BalancedBatchSampler\n"
        "s = BalancedBatchSampler(np.array([0, 1] * 50), batch_size=10)\n"
        "list(s)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_inside_a_torch_dataloader(labels):
    """Runs when torch is installed (``make test-torch`` installs it)."""
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    features = torch.arange(labels.shape[0], dtype=torch.float32)[:, None]
    dataset = TensorDataset(features, torch.as_tensor(labels))
    # Labels given as a tensor give the same batches as the NumPy labels.
    sampler = BalancedBatchSampler(
        torch.as_tensor(labels), batch_size=30, random_state=0
    )
    loader = DataLoader(dataset, batch_sampler=sampler)
    assert len(loader) == len(sampler)
    expected = list(BalancedBatchSampler(labels, batch_size=30, random_state=0))
    seen = []
    for (xb, yb), rows in zip(loader, expected, strict=True):
        assert xb[:, 0].long().tolist() == rows
        assert yb.tolist() == labels[rows].tolist()
        seen.append(yb)
    counts = torch.bincount(torch.cat(seen[:-1]), minlength=3)
    assert counts.tolist() == [10 * (len(seen) - 1)] * 3
    # A second pass over the loader is the next epoch; set_epoch replays.
    second = [xb[:, 0].long().tolist() for xb, _ in loader]
    assert second != expected
    sampler.set_epoch(0)
    assert [xb[:, 0].long().tolist() for xb, _ in loader] == expected
    # Worker processes get the same batches.
    sampler.set_epoch(0)
    with_workers = DataLoader(dataset, batch_sampler=sampler, num_workers=2)
    assert [xb[:, 0].long().tolist() for xb, _ in with_workers] == expected
