import gzip
import struct

import numpy as np
import pytest
import torch

from videomnist_gpu import Synthesizer, UsageError, VideoMNISTConfig, load_digit_bank
from videomnist_gpu.synth.digits import read_idx


def _write_idx(path, array, compress):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def _idx_folder(folder, seed, compress):
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for prefix, n in (("train", 50), ("t10k", 20)):
        images = rng.integers(0, 256, size=(n, 28, 28))
        labels = np.arange(n) % 10
        _write_idx(folder / f"{prefix}-images-idx3-ubyte", images, compress)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, compress)
    return folder


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder_loads_and_fingerprint_tracks_the_digits(tmp_path, compress):
    a = load_digit_bank(str(_idx_folder(tmp_path / "a", 0, compress)), "train")
    b = load_digit_bank(str(_idx_folder(tmp_path / "b", 1, compress)), "train")
    assert a.images.shape == (50, 28, 28) and a.images.dtype == torch.uint8
    assert torch.equal(a.labels, torch.arange(10).repeat_interleave(5))
    assert a.class_count.tolist() == [5] * 10 and a.class_start.tolist() == list(range(0, 50, 5))
    assert a.source.startswith("idx:") and len(a.fingerprint) == 64
    assert a.fingerprint != b.fingerprint
    assert load_digit_bank(str(tmp_path / "a"), "train").fingerprint == a.fingerprint
    assert len(load_digit_bank(str(tmp_path / "a"), "test")) == 20


def test_auto_falls_back_to_mnist_5k_offline(caplog):
    bank = load_digit_bank("auto", "train")
    assert bank.source == "mnist-5k"
    assert len(bank) == 4000 and bank.class_count.tolist() == [400] * 10


def test_mnist_5k_splits_are_disjoint_and_balanced():
    train, test = load_digit_bank("mnist-5k", "train"), load_digit_bank("mnist-5k", "test")
    assert test.class_count.tolist() == [100] * 10
    flat_train = {bytes(x) for x in train.images.reshape(len(train), -1).numpy()}
    flat_test = [bytes(x) for x in test.images.reshape(len(test), -1).numpy()]
    assert not flat_train.intersection(flat_test)
    assert train.fingerprint != test.fingerprint


def test_train_clips_use_train_digits_only():
    synth = Synthesizer(VideoMNISTConfig(digits="mnist-5k", num_digits=2), device="cpu")
    train_bank, test_bank = synth.bank("train"), synth.bank("test")
    p = synth.params(torch.arange(500), "train")
    assert int(p.digit.max()) < len(train_bank)
    assert torch.equal(train_bank.labels[p.digit], p.label)
    q = synth.params(torch.arange(500), "test")
    assert int(q.digit.max()) < len(test_bank)
    assert torch.equal(test_bank.labels[q.digit], q.label)


def test_missing_full_mnist_and_bad_sources_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="videomnist digits download"):
        load_digit_bank("mnist", "train", root=tmp_path)
    with pytest.raises(UsageError, match="unknown source 'emnist'"):
        load_digit_bank("emnist", "train")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match="has no train-images-idx3-ubyte"):
        load_digit_bank(str(empty), "train")
    broken = tmp_path / "broken"
    broken.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 10, 28, 28) + b"\x00" * 100)
    with pytest.raises(UsageError, match="its header says"):
        read_idx(broken)
