"""What kind of file a path holds, from its first bytes: for messages that say what a file is not.

A command given the wrong file (a text file as a checkpoint, an HDF5 export as a `.npy` array)
says what the file is, instead of passing on the loader's own error (which may be cut off, or
advise loading the file in an unsafe way).

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> _ = path.write_text("my notes")
    >>> file_kind(path)
    'a text file'
"""

from __future__ import annotations

import os

__all__ = ["file_kind", "HDF5", "NPY", "ZIP"]

HDF5 = "an HDF5 file"
NPY = "a numpy .npy array"
ZIP = "a zip archive (the format of torch checkpoints)"
_SIGNATURES = ((b"\x89HDF\r\n\x1a\n", HDF5), (b"\x93NUMPY", NPY), (b"PK\x03\x04", ZIP))
_HEAD = 512  # bytes read


def file_kind(path: str | os.PathLike) -> str:
    """A few words naming what `path` holds: `an HDF5 file`, `a numpy .npy array`, `a zip archive
    (...)`, `a text file`, `an empty file`, `binary data`, `a folder` or `not a file`.

    Reads at most the first 512 bytes; never raises for an unreadable path (`not a file`).
    """
    if os.path.isdir(path):
        return "a folder"
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
    except OSError:
        return "not a file"
    if not head:
        return "an empty file"
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "binary data"
    return "binary data" if b"\x00" in head else "a text file"
