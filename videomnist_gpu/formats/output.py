"""Where format writers put their files: a folder that appears only when it is complete.

`written_directory` yields ``PATH.partial`` (the safe-write pieces of `atomic_file`: the same
``.partial`` naming and directory fsync) and renames it to ``PATH`` on success; on any failure
it removes it, so nothing is left half-written. `write_frames` stores a clip's frames as JPEG.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator

import numpy as np

from videomnist_gpu.errors import UsageError
from videomnist_gpu.atomic_file import fsync_dir, partial_path

__all__ = ["written_directory", "write_frames", "JPEG_QUALITY"]

JPEG_QUALITY = 95


@contextlib.contextmanager
def written_directory(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """A fresh folder ``PATH.partial`` to fill; renamed to `path` when the block completes.

    Args:
        path: the folder to create.
        overwrite: replace an existing `path` (only once the new one is complete).

    Raises:
        UsageError: `path` is a file, or exists without `overwrite` (nothing is written).
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"output_dir: {str(path)!r} is a file, not a folder")
    if path.exists() and not overwrite:
        raise UsageError(f"output_dir: {str(path)!r} exists; pass overwrite=True to replace it")
    partial = partial_path(path)
    shutil.rmtree(partial, ignore_errors=True)  # a leftover from a killed run
    partial.mkdir(parents=True)
    try:
        yield partial
        if path.exists():
            shutil.rmtree(path)
        os.replace(partial, path)
        fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def write_frames(video: np.ndarray, folder: Path, first: int, digits: int) -> list[str]:
    """Write frames as JPEG files ``{first:0{digits}d}.jpg``, ``{first+1:...}.jpg``, ...; their names.

    Shape: video uint8 (T, H, W), grey.
    """
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for t, frame in enumerate(video):
        name = f"{first + t:0{digits}d}.jpg"
        Image.fromarray(np.ascontiguousarray(frame)).save(folder / name, quality=JPEG_QUALITY)
        names.append(name)
    return names
