"""`mnist_test_seq.npy`: clips as uint8 frames first, (T, N, H, W), the Toronto Moving MNIST file's format.

Srivastava et al. (2015) published their 10,000-clip test set as this one `.npy` array, and the
tools that test on it read exactly this file:

- torchvision: `torchvision.datasets.MovingMNIST(root)` reads `root/MovingMNIST/mnist_test_seq.npy`;
  items are (T, 1, H, W) uint8, and ``split="train"`` / ``"test"`` with ``split_ratio=k`` give the
  first k frames / the rest of each clip (a prediction split, not a clip split).
- OpenSTL: `openstl/datasets/dataloader_moving_mnist.py` reads `root/moving_mnist/mnist_test_seq.npy`
  as its fixed test set: clip i is ``dataset[:, i]``, divided by 255, and T must equal its input
  plus output frames.

`write_mnist_test_seq` streams a `ClipSource` into a memory-mapped `.npy` (numpy's
`open_memmap`): memory stays one batch whatever N is, and the file appears only when complete.

Convention:
    ``array[t, i]`` is frame t of clip i of the source (clip i of its split), uint8 0..255, a
    plain `.npy` (format 1.0 or 2.0, C order) that `numpy.load` reads as is.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from videomnist_gpu.atomic_file import atomic_file, check_free_space
from videomnist_gpu.formats.clip_source import ClipSource
from videomnist_gpu.interrupt import check_interrupt
from videomnist_gpu.progress import progress_bar

__all__ = ["write_mnist_test_seq", "TORCHVISION_PATH", "OPENSTL_PATH"]

TORCHVISION_PATH = "MovingMNIST/mnist_test_seq.npy"  # under the `root` given to torchvision's MovingMNIST
OPENSTL_PATH = "moving_mnist/mnist_test_seq.npy"  # under OpenSTL's data root


def write_mnist_test_seq(path: str | os.PathLike, source: ClipSource, *, overwrite: bool = False,
                         progress: bool | None = None) -> Path:
    """Write the clips of `source` to `path` as uint8 (T, N, H, W); returns `path`.

    Args:
        path: the `.npy` file (its folder is created).
        source: the clips (N = `source.num_clips`).
        overwrite: replace an existing file (only once the new one is complete).
        progress: see `videomnist_gpu.progress.progress_bar` (None: a bar on a terminal, else
            a line every few seconds).

    Raises:
        UsageError: `path` cannot be written (a directory, exists without `overwrite`, an
            unwritable folder) or the digits cannot be loaded; nothing is written.
        VideoMNISTError: not enough free space; `Interrupted` on SIGINT/SIGTERM (nothing left).
    """
    shape = (source.frames, source.num_clips, source.size, source.size)  # (T, N, H, W)
    source.load_digits()
    with atomic_file(path, "path", overwrite=overwrite) as partial:
        check_free_space(partial.parent, int(np.prod(shape)) + 4096)
        frames = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=shape)  # (T, N, H, W)
        try:
            with progress_bar(source.num_clips, f"write {Path(path).name}", "clips", progress) as bar:
                for start, video in source.batches():  # (B, T, H, W)
                    frames[:, start:start + len(video)] = video.transpose(1, 0, 2, 3)  # (T, B, H, W)
                    bar.update(len(video))
            frames.flush()
        finally:
            del frames  # unmap before the rename (or the removal)
        check_interrupt()  # the last safe point: the file is complete
    return Path(path).expanduser()
