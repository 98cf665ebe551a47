"""Pre-compressed chunks (`videomnist_gpu.hdf5.chunks`) and the default gzip export read by plain h5py."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from videomnist_gpu import HDF5VideoDataset, Synthesizer, VideoMNISTConfig
from videomnist_gpu.cli import main
from videomnist_gpu.hdf5.chunks import ChunkWriter, deflate_chunk, fletcher32
from videomnist_gpu.hdf5.export import export_dataset

ROOT = Path(__file__).resolve().parents[1]
CONFIG = VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32)


def _payloads() -> list[bytes]:
    rng = np.random.default_rng(0)
    return [b"", b"\x00", b"\xff", bytes(1000), b"\xff" * 1000, bytes(rng.integers(0, 256, 999, dtype=np.uint8)),
            bytes(rng.choice(np.array([0, 255], dtype=np.uint8), 4096)),
            bytes(rng.integers(0, 256, 70001, dtype=np.uint8))]


def test_fletcher32_is_hdf5s(tmp_path):
    """HDF5 appends its Fletcher-32 to every chunk; ours must be the same number."""
    with h5py.File(tmp_path / "f.h5", "w") as f:
        for i, payload in enumerate(p for p in _payloads() if p):
            ds = f.create_dataset(f"d{i}", data=np.frombuffer(payload, np.uint8), chunks=(len(payload),),
                                  fletcher32=True)
            _, stored = ds.id.read_direct_chunk((0,))
            assert stored[:-4] == payload
            assert int.from_bytes(stored[-4:], "little") == fletcher32(payload), len(payload)
    assert fletcher32(b"") == 0


def test_written_chunks_read_back_bitwise_through_the_filters(tmp_path):
    rng = np.random.default_rng(1)
    clips = rng.integers(0, 256, (6, 4, 8, 8), dtype=np.uint8)  # (B, T, H, W)
    clips[::2] = (clips[::2] > 200) * np.uint8(255)  # sparse, like our frames
    path = tmp_path / "c.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("data", shape=(24, 8, 8), dtype=np.uint8, chunks=(4, 8, 8),
                              compression="gzip", fletcher32=True)
        with ChunkWriter(threads=2) as writer:
            writer.write(ds, 0, clips[:4])
            writer.write(ds, 16, clips[4:])
            with pytest.raises(ValueError, match="^chunks: expected whole chunks"):
                writer.write(ds, 2, clips[:1])
    with h5py.File(path, "r") as f:
        ds = f["data"]
        assert np.array_equal(ds[()], clips.reshape(24, 8, 8))  # HDF5 inflates and checks every chunk
        for i, clip in enumerate(clips):
            mask, stored = ds.id.read_direct_chunk((4 * i, 0, 0))
            assert mask == 0 and stored == deflate_chunk(clip)
            assert zlib.decompress(stored[:-4]) == clip.tobytes()


def test_an_error_discards_queued_chunks(tmp_path):
    with h5py.File(tmp_path / "e.h5", "w") as f:
        ds = f.create_dataset("data", shape=(8, 2), dtype=np.uint8, chunks=(4, 2), compression="gzip",
                              fletcher32=True)
        with pytest.raises(KeyboardInterrupt):
            with ChunkWriter(threads=1) as writer:
                writer.write(ds, 0, np.ones((2, 4, 2), np.uint8))
                raise KeyboardInterrupt
        assert ds.id.get_num_chunks() == 0


_PLAIN_READ = """
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    for split in ("train", "test"):
        ds = f[split + "_data"]
        filters = ds.id.get_create_plist()
        ids = [filters.get_filter(i)[0] for i in range(filters.get_nfilters())]
        assert ids == [h5py.h5z.FILTER_DEFLATE, h5py.h5z.FILTER_FLETCHER32], ids
        np.save(sys.argv[2] + split + ".npy", ds[()])
"""


def test_default_export_is_gzip_and_opens_with_plain_h5py_our_reader_and_verify(tmp_path, capsys):
    path = export_dataset(tmp_path / "d.h5", CONFIG, 2, device="cpu", progress=False)
    env = dict(os.environ, HDF5_PLUGIN_PATH=str(tmp_path / "no-plugins"), PYTHONPATH="")
    proc = subprocess.run([sys.executable, "-c", _PLAIN_READ, str(path), str(tmp_path / "plain_")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    synth = Synthesizer(CONFIG, "cpu")
    with h5py.File(path, "r") as f:
        for split in ("train", "test"):
            n = f.attrs[f"{split}_videos"]
            assert f[f"{split}_data"].compression == "gzip" and f[f"{split}_data"].fletcher32
            assert f[f"{split}_data"].chunks == (4, 32, 32)  # one clip per chunk
            want = synth.render(torch.arange(n), split).video.reshape(n * 4, 32, 32).numpy()
            assert np.array_equal(np.load(tmp_path / f"plain_{split}.npy"), want)
            assert f[f"{split}_position"].compression == "gzip"
    item = HDF5VideoDataset(path, 4, train=True, resolution=32)[3]
    assert torch.equal(item["video"][0], synth.render([3]).video[0].float() / 255 - 0.5)
    assert main(["verify", str(path), "--device", "cpu"]) == 0
    assert capsys.readouterr().out.strip().endswith("OK")
