"""Digits as a gzipped MNIST IDX file, `train-images-idx3-ubyte.gz`, for OpenSTL's training generator.

OpenSTL trains on Moving MNIST clips it draws on the fly from `root/moving_mnist/train-images-idx3-ubyte.gz`,
read as ``np.frombuffer(gzip.open(path).read(), np.uint8, offset=16).reshape(-1, 28, 28)``.
Written from our digit bank, that generator draws the very digits our clips are made of.

Convention:
    The IDX format of LeCun's MNIST files: a 16-byte header of four big-endian uint32, the magic
    number 2051 (0x00000803: unsigned bytes, 3 dimensions), N, rows, columns; then N x rows x
    columns uint8 pixels, C order. The gzip header carries no time stamp and no file name, so equal
    digits give equal bytes.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from videomnist_gpu.atomic_file import atomic_file
from videomnist_gpu.errors import UsageError

__all__ = ["write_idx_images", "IDX_IMAGES_MAGIC", "OPENSTL_DIGITS_PATH"]

IDX_IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
OPENSTL_DIGITS_PATH = "moving_mnist/train-images-idx3-ubyte.gz"  # under OpenSTL's data root


def write_idx_images(path: str | os.PathLike, images: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write `images` as a gzipped IDX image file at `path`; returns `path`.

    Args:
        path: the file to write, e.g. `.../train-images-idx3-ubyte.gz` (its folder is created).
        images: uint8 digits (N, H, W), N >= 1.
        overwrite: replace an existing file (only once the new one is complete).

    Raises:
        UsageError: `images` is not uint8 (N, H, W) with N >= 1, or `path` cannot be written.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or 0 in images.shape:
        raise UsageError(f"images: expected uint8 digits (N, H, W), got {images.dtype} {list(images.shape)}")
    with atomic_file(path, "path", overwrite=overwrite) as partial:
        with open(partial, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
            f.write(struct.pack(">4I", IDX_IMAGES_MAGIC, *images.shape))
            f.write(np.ascontiguousarray(images).tobytes())
    return Path(path).expanduser()
