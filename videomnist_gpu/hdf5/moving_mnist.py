"""Convert the classic Moving MNIST test set (`mnist_test_seq.npy`) into our HDF5 layout.

The file of Srivastava et al. (2015) holds uint8 frames *frames first*: `(T, N, H, W)`, usually
`(20, 10000, 64, 64)`. `import_moving_mnist` writes its N clips as the test split of a canonical
VideoMNIST file (see `hdf5/layout.py`), so `HDF5VideoDataset`, the DataModule (`data_path`),
`videomnist verify` (structure and checksums) and `videomnist visualize --split test` read it:

    test_data    uint8 [N*T, H, W]   clip i is frames i*T .. i*T + T - 1, chunked one clip per chunk
    test_idx     int64 [N]           0, T, 2T, ...
    test_labels  int64 [N, 2]        0: the classic file carries no digit classes

Attributes are those of an export, with `config_json` the `moving_mnist` preset's settings at the
file's length and size (`moving_mnist_config`), `n_classes` 1 (no classes are known), `train_videos` 0 (no train
datasets), plus `imported_from` (the input's file name) and `source_sha256` (of its frames).
Nothing can be re-rendered: the seed that made the file is unknown.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from videomnist_gpu.errors import UsageError
from videomnist_gpu.atomic_file import check_output_file
from videomnist_gpu.file_kind import NPY, file_kind
from videomnist_gpu.hdf5.export import check_free_space, check_output_path, hdf5_written_atomically
from videomnist_gpu.hdf5.layout import IMPORTED_ATTR, dataset_name, dataset_specs, file_attrs, write_attrs
from videomnist_gpu.interrupt import check_interrupt, hold_for_test
from videomnist_gpu.synth.config import VideoMNISTConfig

__all__ = ["import_moving_mnist", "read_moving_mnist_npy", "moving_mnist_config", "IMPORTED_ATTR"]

_CLIPS_PER_WRITE = 256


def read_moving_mnist_npy(path: str | os.PathLike) -> np.ndarray:
    """The frames of a classic Moving MNIST file, memory-mapped: uint8 (T, N, H, W).

    Raises:
        UsageError: a missing file, not a .npy array, or the wrong dtype or shape (one line).
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"file: {str(path)!r} does not exist (expected mnist_test_seq.npy or a file like it)")
    kind = file_kind(path)
    if kind != NPY:
        raise UsageError(f"file: {str(path)!r} is {kind}, not a .npy array (expected mnist_test_seq.npy: "
                         "uint8 frames (T, N, H, W))")
    try:
        frames = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError):  # a damaged header, or an array of Python objects
        raise UsageError(f"file: {str(path)!r} is not a readable .npy array of uint8 frames (T, N, H, W)") from None
    if frames.dtype != np.uint8:
        raise UsageError(f"file: {str(path)!r} holds {frames.dtype}, expected uint8 frames (T, N, H, W)")
    if frames.ndim != 4 or frames.shape[0] < 2 or frames.shape[1] < 1 or frames.shape[2] != frames.shape[3]:
        raise UsageError(f"file: {str(path)!r} has shape {list(frames.shape)}, expected frames first "
                         f"(T, N, H, W) with T >= 2 and H == W, like [20, 10000, 64, 64]")
    return frames


def moving_mnist_config(sequence_length: int = 20, image_size: int = 64) -> VideoMNISTConfig:
    """The settings of `configs/moving_mnist.yaml` (Srivastava et al. 2015) at another length or size.

    One-line `UsageError` when 28 px digits do not fit `image_size`.
    """
    try:
        return VideoMNISTConfig(sequence_length=sequence_length, image_size=image_size, digit_size=28, num_digits=2,
                                motion_types=("srivastava_bounce",), margin=0,
                                speed_range=(0.1 * (image_size - 28),) * 2, placement="integer", composite="max")
    except ValueError as err:
        raise UsageError(f"file: {image_size}x{image_size} px frames do not fit Moving MNIST's 28 px digits: {err}") from None


def import_moving_mnist(path: str | os.PathLike, output_file: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write the clips of classic Moving MNIST file `path` as the test split of `output_file`.

    The file is written as `output_file.partial` and renamed when complete; any failure removes
    it and raises a one-line error.

    Raises:
        UsageError: bad input file or output path (nothing written).
        VideoMNISTError: a write failed (nothing left at `output_file`); `Interrupted` on
            SIGINT/SIGTERM.
    """
    check_output_file(output_file, "output_file", overwrite=overwrite)  # before reading the input
    frames = read_moving_mnist_npy(path)  # (T, N, H, W)
    T, N, H, _ = frames.shape
    config = moving_mnist_config(int(T), int(H))
    output = check_output_path(output_file, overwrite=overwrite)
    check_free_space(output.parent, int(frames.nbytes * 1.05) + 64 * 1024)
    digest = hashlib.sha256()
    with hdf5_written_atomically(output) as f:
        opts = {"fletcher32": True}
        spec = dataset_specs(config, 1, N, imported=True)  # data (N*T, H, W), idx (N,), labels (N, 2)
        data = f.create_dataset(dataset_name("test", "data"), shape=spec["data"].shape, dtype=spec["data"].dtype,
                                chunks=spec["data"].chunks, **opts)
        f.create_dataset(dataset_name("test", "idx"), data=np.arange(N, dtype=spec["idx"].dtype) * T,
                         chunks=spec["idx"].chunks, **opts)
        labels = spec["labels"]
        f.create_dataset(dataset_name("test", "labels"), data=np.zeros(labels.shape, dtype=labels.dtype),
                         chunks=labels.chunks, **opts)
        for start in range(0, N, _CLIPS_PER_WRITE):
            stop = min(N, start + _CLIPS_PER_WRITE)
            block = np.ascontiguousarray(frames[:, start:stop].transpose(1, 0, 2, 3))  # (B, T, H, W)
            digest.update(block.tobytes())
            data[start * T:stop * T] = block.reshape(-1, H, H)  # (B*T, H, W)
            hold_for_test(f"import_block_{start // _CLIPS_PER_WRITE}")
            check_interrupt()  # a safe point: the block is written
        attrs = file_attrs(config, channels=1, counts={"train": 0, "test": N}, n_classes=1,
                           digit_source="unknown (classic Moving MNIST file)",
                           fingerprints={"train": "", "test": ""})
        attrs[IMPORTED_ATTR] = Path(path).name
        attrs["source_sha256"] = digest.hexdigest()
        write_attrs(f, attrs)
    return output
