"""Prediction splits (`split_frames`): stream, DataModule and HDF5 reader yield context/target."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from conftest import fake_cuda
from videomnist_gpu import HDF5VideoDataset, Synthesizer, UsageError, VideoMNISTConfig, VideoMNISTStream
from videomnist_gpu.data.datamodule import VideoMNISTDataModule
from videomnist_gpu.hdf5.export import export_dataset

CONFIG = VideoMNISTConfig(digits="mnist-5k", sequence_length=5, image_size=32)


def _first(stream):
    return next(iter(DataLoader(stream, batch_size=None)))


@pytest.mark.parametrize("channels", [1, 3])
def test_stream_context_and_target_are_the_video_cut_in_time(channels):
    whole = _first(VideoMNISTStream(CONFIG, batch_size=3, device="cpu", channels=channels))
    split = _first(VideoMNISTStream(CONFIG, batch_size=3, device="cpu", channels=channels, split_frames=(2, 3)))
    assert "video" not in split
    assert split["context"].shape == (3, channels, 2, 32, 32) and split["target"].shape == (3, channels, 3, 32, 32)
    assert split["context"].dtype == split["target"].dtype == torch.float32
    assert torch.equal(split["context"], whole["video"][:, :, :2]) and torch.equal(split["target"], whole["video"][:, :, 2:])
    for key in ("label", "labels", "motion", "position", "index"):
        assert torch.equal(split[key], whole[key]), key


@pytest.mark.parametrize("bad", [(2, 2), (0, 5), (5, 0), (2.0, 3), (5,), "2,3", (True, 4)])
def test_bad_split_frames_is_one_line(bad):
    with pytest.raises(UsageError) as err:
        VideoMNISTStream(CONFIG, batch_size=2, device="cpu", split_frames=bad)
    message = str(err.value)
    assert message.startswith("split_frames:") and "sequence_length 5" in message and "\n" not in message


def test_split_batch_on_fake_cuda_has_no_host_sync():
    cpu = Synthesizer(CONFIG, device="cpu")
    cpu.bank("train")
    with fake_cuda():
        stream = VideoMNISTStream(CONFIG, batch_size=4, device="cuda", split_frames=(3, 2))
    batches = iter(DataLoader(stream, batch_size=None))  # the loader's seed is drawn on the CPU, outside
    with fake_cuda():
        stream.synthesizer._banks["train"] = cpu.bank("train").to("cuda")
        batch = next(batches)  # any CPU tensor or host sync would raise here
        assert batch["context"].device.type == batch["target"].device.type == "cuda"
        assert batch["context"].shape == (4, 1, 3, 32, 32) and batch["target"].shape == (4, 1, 2, 32, 32)


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    return export_dataset(tmp_path_factory.mktemp("pred") / "tiny.h5", CONFIG, 1, 1, device="cpu", progress=False)


def test_reader_items_and_batches_split(tiny_file):
    plain = HDF5VideoDataset(tiny_file, 5, resolution=32)
    split = HDF5VideoDataset(tiny_file, 5, resolution=32, split_frames=(1, 4))
    item = split[3]
    assert set(item) == {"context", "target", "label"}
    assert item["context"].shape == (1, 1, 32, 32) and item["target"].shape == (1, 4, 32, 32)
    assert torch.equal(torch.cat([item["context"], item["target"]], dim=1), plain[3]["video"])
    batch = next(iter(DataLoader(split, batch_size=4)))
    assert batch["context"].shape == (4, 1, 1, 32, 32) and batch["target"].shape == (4, 1, 4, 32, 32)
    with pytest.raises(UsageError, match="^split_frames:"):
        HDF5VideoDataset(tiny_file, 4, resolution=32, split_frames=(1, 4))


def test_datamodule_streams_and_reads_splits(tiny_file):
    dm = VideoMNISTDataModule(CONFIG, batch_size=2, val_clips=4, split_frames=(2, 3))
    dm.setup("fit")
    for loader in (dm.train_dataloader(), dm.val_dataloader()):
        batch = next(iter(loader))
        assert batch["context"].shape == (2, 1, 2, 32, 32) and batch["target"].shape == (2, 1, 3, 32, 32)
    assert dm.hparams["split_frames"] == [2, 3]
    read = VideoMNISTDataModule(CONFIG, batch_size=2, data_path=tiny_file, split_frames=(2, 3))
    read.setup("fit")
    batch = next(iter(read.val_dataloader()))
    assert batch["context"].shape == (2, 1, 2, 32, 32) and batch["target"].shape == (2, 1, 3, 32, 32)
    assert batch["context"].min() >= -0.5 and batch["target"].max() <= 0.5
    with pytest.raises(UsageError, match="^split_frames:"):
        VideoMNISTDataModule(CONFIG, split_frames=(2, 2))
