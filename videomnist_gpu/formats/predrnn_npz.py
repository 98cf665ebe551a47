"""The `.npz` of PredRNN and E3D-LSTM (`moving-mnist-train.npz`, `moving-mnist-valid.npz`).

PredRNN's `core/data_provider/mnist.py` reads three arrays:

    clips           int32   (2, N, 2)            [0, i] = (start, length) of clip i's input frames,
                                                 [1, i] = (start, length) of its output frames,
                                                 as rows of input_raw_data
    dims            int32   (1, 3)               [[C, H, W]] = [[1, 64, 64]]
    input_raw_data  float32 (N * T, 1, H, W)     every frame of every clip, intensities in [0, 1]

Clip i is rows ``i*T .. i*T + T - 1``: ``clips[0, i] = (i*T, n_past)`` and
``clips[1, i] = (i*T + n_past, n_future)``. PredRNN trains on `--train_data_paths` and tests on
`--valid_data_paths`.

`write_predrnn_npz` streams the frames into the archive (zip entries written batch by batch, deflate
level 1: Moving MNIST's mostly black float frames shrink about 40x), so memory stays one batch.

Convention:
    ``input_raw_data[i*T + t, 0] == source clip i, frame t / 255`` in float32.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from videomnist_gpu.atomic_file import atomic_file
from videomnist_gpu.data.prediction import check_split_frames
from videomnist_gpu.formats.clip_source import ClipSource
from videomnist_gpu.interrupt import check_interrupt
from videomnist_gpu.progress import progress_bar

__all__ = ["write_predrnn_npz", "predrnn_clips", "PREDRNN_FILES"]

PREDRNN_FILES = {"train": "moving-mnist-train.npz", "test": "moving-mnist-valid.npz"}  # PredRNN's names
_DEFLATE_LEVEL = 1


def predrnn_clips(num_clips: int, split_frames: tuple[int, int]) -> np.ndarray:
    """PredRNN's `clips` index: int32 (2, N, 2), (start row, length) of each clip's input and output.

    >>> predrnn_clips(2, (3, 2)).tolist()
    [[[0, 3], [5, 3]], [[3, 2], [8, 2]]]
    """
    n_past, n_future = split_frames
    starts = np.arange(num_clips, dtype=np.int32) * (n_past + n_future)  # (N,)
    clips = np.empty((2, num_clips, 2), dtype=np.int32)
    clips[0, :, 0], clips[0, :, 1] = starts, n_past
    clips[1, :, 0], clips[1, :, 1] = starts + n_past, n_future
    return clips


def write_predrnn_npz(path: str | os.PathLike, source: ClipSource, split_frames: tuple[int, int], *,
                      overwrite: bool = False, progress: bool | None = None) -> Path:
    """Write the clips of `source` as PredRNN's `.npz` at `path`; returns `path`.

    Args:
        path: the `.npz` file (its folder is created).
        source: the clips (N = `source.num_clips`, T frames each).
        split_frames: `(n_past, n_future)`, the input and output frames, adding up to T.
        overwrite: replace an existing file (only once the new one is complete).
        progress: see `videomnist_gpu.progress.progress_bar`.

    Raises:
        UsageError: `split_frames` does not add up to T, `path` cannot be written, or the digits
            cannot be loaded; nothing is written. `Interrupted` on SIGINT/SIGTERM.
    """
    split_frames = check_split_frames(split_frames, source.frames)
    n, t, h = source.num_clips, source.frames, source.size
    source.load_digits()
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
              "shape": (n * t, 1, h, h)}
    with atomic_file(path, "path", overwrite=overwrite) as partial:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_DEFLATE_LEVEL) as archive:
            with archive.open("clips.npy", "w") as f:
                np.lib.format.write_array(f, predrnn_clips(n, split_frames), allow_pickle=False)
            with archive.open("dims.npy", "w") as f:
                np.lib.format.write_array(f, np.array([[1, h, h]], dtype=np.int32), allow_pickle=False)
            with (archive.open("input_raw_data.npy", "w", force_zip64=True) as f,
                  progress_bar(n, f"write {Path(path).name}", "clips", progress) as bar):
                np.lib.format.write_array_header_1_0(f, header)
                for _, video in source.batches():  # (B, T, H, W)
                    frames = video.reshape(-1, 1, h, h).astype(np.float32) / np.float32(255)  # (B*T, 1, H, W)
                    f.write(frames.tobytes())
                    bar.update(len(video))
        check_interrupt()  # the last safe point: the archive is complete
    return Path(path).expanduser()
