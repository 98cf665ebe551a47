"""`videomnist import-moving-mnist`: the classic frames-first .npy file into our HDF5 layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from videomnist_gpu import HDF5VideoDataset, VideoMNISTConfig
from videomnist_gpu.cli import build_parser, main
from videomnist_gpu.hdf5.moving_mnist import moving_mnist_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def classic(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A small file in the classic layout: 12 clips of 20 frames, frames first."""
    frames = np.random.default_rng(0).integers(0, 256, size=(20, 12, 64, 64), dtype=np.uint8)  # (T, N, H, W)
    path = tmp_path_factory.mktemp("classic") / "mnist_test_seq.npy"
    np.save(path, frames)
    return path, frames


@pytest.fixture(scope="module")
def imported(classic, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("imported") / "mm_test.h5"
    assert main(["import-moving-mnist", str(classic[0]), "--output_file", str(out)]) == 0
    return out


def test_reader_gives_back_every_clip(classic, imported):
    _, frames = classic
    ds = HDF5VideoDataset(imported, 20, train=False, resolution=64)
    assert len(ds) == 12 and ds.labels.shape == (12, 2)
    for i in (0, 5, 11):
        want = torch.from_numpy(frames[:, i].astype(np.float32))[None] / 255.0 - 0.5  # (1, T, H, W)
        assert torch.equal(ds[i]["video"], want)
    split = HDF5VideoDataset(imported, 20, train=False, resolution=64, split_frames=(10, 10))[3]
    assert torch.equal(torch.cat([split["context"], split["target"]], dim=1), ds[3]["video"])
    assert not imported.with_name(imported.name + ".partial").exists()


def test_verify_checks_structure_and_visualize_works(imported, tmp_path, capsys):
    assert main(["verify", str(imported)]) == 0
    out = capsys.readouterr().out
    assert "test: 12 clips" in out and "checksums pass" in out and "content: skipped" in out and ": OK" in out
    assert main(["visualize", "--hdf5_path", str(imported), "--output_dir", str(tmp_path / "v"), "--split", "test",
                 "--formats", "gif", "--num_samples", "2"]) == 0
    assert list((tmp_path / "v").rglob("*.gif"))


def test_verify_catches_a_corrupt_chunk(imported, tmp_path, capsys):
    import h5py

    broken = tmp_path / "broken.h5"
    broken.write_bytes(imported.read_bytes())
    with h5py.File(broken, "r") as f:
        offset = f["test_data"].id.get_chunk_info(4).byte_offset  # clip 4's chunk
    with open(broken, "r+b") as fh:
        fh.seek(offset + 100)
        fh.write(bytes([(imported.read_bytes()[offset + 100] + 1) % 256]))
    assert main(["verify", str(broken)]) == 1
    assert "test_data: clip 4 cannot be read" in capsys.readouterr().err


def _bad_files(tmp_path):
    np.save(tmp_path / "float.npy", np.zeros((20, 2, 64, 64), dtype=np.float32))
    np.save(tmp_path / "three_d.npy", np.zeros((20, 64, 64), dtype=np.uint8))
    np.save(tmp_path / "not_square.npy", np.zeros((20, 2, 64, 32), dtype=np.uint8))
    (tmp_path / "text.npy").write_text("not an array")
    return tmp_path


@pytest.mark.parametrize("name, needle", [
    ("missing.npy", "does not exist"),
    ("float.npy", "holds float32, expected uint8"),
    ("three_d.npy", "expected frames first (T, N, H, W)"),
    ("not_square.npy", "expected frames first (T, N, H, W)"),
    ("text.npy", "is a text file, not a .npy array"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, name, needle):
    folder = _bad_files(tmp_path)
    out = tmp_path / "out.h5"
    assert main(["import-moving-mnist", str(folder / name), "--output_file", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: file:") and needle in err and "\n" not in err
    assert not out.exists() and not out.with_name("out.h5.partial").exists()


def test_existing_output_needs_overwrite(classic, imported, tmp_path, capsys):
    out = tmp_path / "x.h5"
    out.write_bytes(b"keep")
    assert main(["import-moving-mnist", str(classic[0]), "--output_file", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err and out.read_bytes() == b"keep"
    assert main(["import-moving-mnist", str(classic[0]), "--output_file", str(out), "--overwrite"]) == 0
    assert HDF5VideoDataset(out, 20, train=False).num_clips == 12


def test_stored_config_is_the_moving_mnist_preset_and_every_flag_has_help():
    assert moving_mnist_config() == VideoMNISTConfig.from_yaml(ROOT / "configs" / "moving_mnist.yaml")
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["import-moving-mnist"]
    assert all(action.help for action in sub._actions)
