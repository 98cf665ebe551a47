"""Files other tools read: torchvision's MovingMNIST and OpenSTL (`mnist_test_seq.npy`), OpenSTL's IDX
digits, PredRNN's `.npz`; each read back the way its tool reads it and compared with our clips."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from videomnist_gpu import Synthesizer, VideoMNISTConfig
from videomnist_gpu.cli import main
from videomnist_gpu.data.prediction import split_prediction
from videomnist_gpu.errors import UsageError
from videomnist_gpu.formats import tools
from videomnist_gpu.formats.clip_source import ClipSource
from videomnist_gpu.formats.tools import export_for
from videomnist_gpu.synth.digits import load_digit_bank, read_idx

ROOT = Path(__file__).resolve().parents[1]
N = 5  # clips per file: batches of 2 make the last batch partial
CONFIG = VideoMNISTConfig.from_yaml(ROOT / "configs" / "moving_mnist.yaml").replace(digits="mnist-5k")  # 20 x 64x64


@pytest.fixture(scope="module")
def clips() -> torch.Tensor:
    """Clips 0..N-1 of the test split, rendered at once: uint8 (N, T, H, W)."""
    return Synthesizer(CONFIG, device="cpu").render(torch.arange(N), "test").video.clone()


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    export_for(["torchvision", "openstl", "predrnn"], root, ClipSource(CONFIG, N, "test", batch_size=2, device="cpu"),
               progress=False)
    return root


def test_torchvision_reads_the_file_as_is_and_split_ratio_gives_our_prediction_split(written, clips):
    from torchvision.datasets import MovingMNIST

    whole = MovingMNIST(str(written))
    assert len(whole) == N
    for i in range(N):
        assert whole[i].shape == (20, 1, 64, 64) and whole[i].dtype == torch.uint8
        assert torch.equal(whole[i][:, 0], clips[i])  # frame for frame
    ours = split_prediction({"video": clips[:, None]}, (10, 10))  # context / target (N, 1, 10, H, W)
    observed = MovingMNIST(str(written), split="train", split_ratio=10)  # torchvision: the first 10 frames
    predicted = MovingMNIST(str(written), split="test", split_ratio=10)  # the last 10
    for i in range(N):
        assert torch.equal(observed[i][:, 0], ours["context"][i, 0])
        assert torch.equal(predicted[i][:, 0], ours["target"][i, 0])


def test_openstl_reads_the_same_frames_first_file_beside_its_digits(written, clips):
    npy = written / "moving_mnist" / "mnist_test_seq.npy"
    dataset = np.load(npy)  # as OpenSTL's load_fixed_set: (T, N, H, W), clip i is dataset[:, i]
    assert dataset.dtype == np.uint8 and dataset.shape == (20, N, 64, 64)
    for i in range(N):
        np.testing.assert_array_equal(dataset[:, i], clips[i].numpy())
    assert os.path.samefile(npy, written / "MovingMNIST" / "mnist_test_seq.npy")  # one file, two names


def test_the_idx_digits_round_trip_through_a_plain_reader(written):
    path = written / "moving_mnist" / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, rows, cols = struct.unpack(">4I", data[:16])  # the 16-byte header
    digits = np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28)  # as OpenSTL's load_mnist
    bank = load_digit_bank("mnist-5k", "train").images.numpy()  # (4000, 28, 28)
    assert (magic, n, rows, cols) == (2051, len(bank), 28, 28)
    np.testing.assert_array_equal(digits, bank)
    np.testing.assert_array_equal(read_idx(path), bank)


def test_the_predrnn_npz_holds_its_keys_shapes_dtypes_and_our_frames(written, clips):
    with np.load(written / "moving-mnist-valid.npz") as npz:
        data = {key: npz[key] for key in npz.files}
    assert sorted(data) == ["clips", "dims", "input_raw_data"]
    assert data["clips"].shape == (2, N, 2) and data["clips"].dtype == np.int32
    assert data["dims"].tolist() == [[1, 64, 64]] and data["dims"].dtype == np.int32
    raw = data["input_raw_data"]
    assert raw.shape == (N * 20, 1, 64, 64) and raw.dtype == np.float32
    np.testing.assert_array_equal(raw[:, 0], clips.reshape(-1, 64, 64).numpy().astype(np.float32) / np.float32(255))
    for i in range(N):  # PredRNN's InputHandle: rows begin .. begin + length of input_raw_data
        (a, n_in), (b, n_out) = data["clips"][0, i], data["clips"][1, i]
        assert (a, n_in, b, n_out) == (20 * i, 10, 20 * i + 10, 10)
        np.testing.assert_array_equal(np.rint(raw[b:b + n_out, 0] * 255).astype(np.uint8), clips[i, 10:].numpy())


def test_export_for_writes_every_file_and_prints_how_to_load_them(tmp_path, capsys):
    args = ["export-for", "torchvision", "predrnn", "--output_dir", str(tmp_path / "d"), "--num_clips", "3",
            "--split", "train", "--sequence_length", "8", "--split_frames", "5", "3", "--digits", "mnist-5k",
            "--device", "cpu", "--batch_size", "2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "MovingMNIST(" in out and "--train_data_paths" in out and "split_ratio=5" in out
    frames = np.load(tmp_path / "d" / "MovingMNIST" / "mnist_test_seq.npy")
    config = CONFIG.replace(sequence_length=8)
    expected = Synthesizer(config, device="cpu").render(torch.arange(3), "train").video.numpy()
    np.testing.assert_array_equal(frames.transpose(1, 0, 2, 3), expected)
    with np.load(tmp_path / "d" / "moving-mnist-train.npz") as npz:
        assert npz["clips"][1].tolist() == [[5, 3], [13, 3], [21, 3]]
    assert main(args) == 2  # the files exist now
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


@pytest.mark.parametrize("extra, message", [
    (["mxnet"], "tools: unknown tool 'mxnet'. Valid: torchvision, openstl, predrnn"),
    (["predrnn", "--split_frames", "10", "5"], "split_frames: expected (n_past, n_future), integers >= 1 that add up "
                                               "to sequence_length 20"),
    (["openstl", "--split", "train"], "split: OpenSTL reads a fixed test set only"),
    (["torchvision", "--num_clips", "0"], "num_clips: must be an integer >= 1, got 0"),
])
def test_bad_requests_give_one_line_and_leave_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert main(["export-for", *extra, "--output_dir", str(out), "--digits", "mnist-5k", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["export-for", "torchvision", "--output_dir", str(tmp_path / "file" / "data"), "--num_clips", "2",
                 "--digits", "mnist-5k", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "output_dir:" in err and "is a file, not a directory" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_failure_after_the_first_file_removes_what_the_request_wrote(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()  # an existing root stays; what the call added goes
    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tools, "write_idx_images", fail)
    with pytest.raises(OSError):
        export_for("openstl", tmp_path / "data", ClipSource(CONFIG, 2, "test", 2, "cpu"), progress=False)
    assert list((tmp_path / "data").iterdir()) == []


def test_the_writers_refuse_what_their_tools_cannot_read():
    with pytest.raises(UsageError, match="tools: name at least one"):
        tools.tool_files([])
    with pytest.raises(UsageError, match="num_clips"):
        ClipSource(CONFIG, -1)
