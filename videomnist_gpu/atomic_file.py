"""Files that appear complete or not at all, and output paths checked before any work starts.

Every file the package writes goes through `atomic_file` (one file) or `atomic_folder` (a folder
of files): the writer fills ``PATH.partial`` (or a hidden sibling folder), which is fsynced and
renamed to `PATH` only when the block ends without an exception; on any exception, Ctrl-C
included, the partial output is removed and the exception goes on. A killed process leaves at
most ``PATH.partial``, never a file at `PATH` that looks complete.

`check_output_file` and `check_output_dir` are the checks a command runs on its output paths
before its long work: each problem is one `UsageError` line that starts with the flag's name.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_file(folder / "result.json") as partial:
    ...     _ = partial.write_text("{}")
    >>> sorted(p.name for p in folder.iterdir())
    ['result.json']
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from videomnist_gpu.errors import UsageError, VideoMNISTError

__all__ = [
    "atomic_file",
    "atomic_folder",
    "check_output_file",
    "check_output_dir",
    "check_free_space",
    "partial_path",
    "remove_partial",
    "fsync_dir",
    "removed_on_failure",
]

FREE_SPACE_MARGIN = 16 * 2**20  # bytes kept free on top of what a write is expected to need


def partial_path(path: str | os.PathLike, unique: bool = False) -> Path:
    """Where `path` is written until it is complete: ``PATH.partial`` in the same directory.

    With `unique`, ``PATH.<pid>.partial``, so processes writing the same path at once (a shared
    cache) never write into one another's partial file.

    >>> partial_path("out/data.h5").as_posix(), partial_path("c.pt", unique=True).name == f"c.pt.{os.getpid()}.partial"
    ('out/data.h5.partial', True)
    """
    path = Path(path)
    return path.with_name(path.name + (f".{os.getpid()}" if unique else "") + ".partial")


def _as_path(path: object, flag: str, what: str) -> Path:
    if path is None or (isinstance(path, (str, os.PathLike)) and os.fspath(path) == ""):
        raise UsageError(f"{flag}: required (the {what} to write)")
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"{flag}: expected a {what} path, got {path!r}")
    return Path(path).expanduser()


def _existing_ancestor(path: Path, flag: str) -> Path:
    """The nearest existing directory above `path`; `UsageError` when a file is in the way."""
    for ancestor in path.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise UsageError(f"{flag}: {str(ancestor)!r} is a file, not a directory")
            return ancestor
    return Path(path.anchor or ".")


def _check_writable(directory: Path, flag: str) -> None:
    """Create and remove a probe file: `os.access` says yes to root even on a read-only folder."""
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".videomnist-probe-"):
            pass
    except OSError:
        raise UsageError(f"{flag}: directory {str(directory)!r} is not writable") from None


def _make_parent(path: Path, flag: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{flag}: cannot create directory {str(path.parent)!r}: {err.strerror or err}") from None


def check_free_space(directory: str | os.PathLike, need: int) -> None:
    """`VideoMNISTError` unless `directory` has `need` bytes free plus a 16 MiB margin."""
    free = shutil.disk_usage(directory).free
    if free < need + FREE_SPACE_MARGIN:
        raise VideoMNISTError(
            f"not enough free space in {str(directory)!r}: the output needs about {need / 2**20:.0f} MiB "
            f"(+{FREE_SPACE_MARGIN // 2**20} MiB margin), {free / 2**20:.0f} MiB free"
        )


def check_output_file(path: object, flag: str = "output_file", *, overwrite: bool = False,
                      create_parent: bool = False, require_parent: bool = False,
                      need_bytes: int | None = None) -> Path:
    """Check, before any work, that a file can be written at `path`; returns it as a `Path`.

    Nothing is created unless `create_parent`: a missing directory only has to be creatable
    (its nearest existing ancestor accepts new files); `atomic_file` creates it when it writes.

    Args:
        path: the file to write (``~`` expanded).
        flag: the argument's name, the first word of every message (e.g. ``"output_file"``).
        overwrite: allow an existing file at `path`.
        create_parent: create a missing directory now.
        require_parent: refuse a missing directory instead.
        need_bytes: the expected size; the directory must have it free (plus a 16 MiB margin).

    Raises:
        UsageError: `path` is None, empty or not a path; it is a directory; it exists without
            `overwrite`; a file is in the way of its directory; the directory is missing (with
            `require_parent`), cannot be created or does not accept new files.
        VideoMNISTError: less than `need_bytes` free.
    """
    p = _as_path(path, flag, "file")
    if p.is_dir():
        raise UsageError(f"{flag}: {str(p)!r} is a directory; give a file path inside it")
    if p.exists() and not overwrite:
        raise UsageError(f"{flag}: {str(p)!r} exists; pass --overwrite (overwrite=True) to replace it")
    ancestor = _existing_ancestor(p, flag)
    if require_parent and not p.parent.is_dir():
        raise UsageError(f"{flag}: directory {str(p.parent)!r} does not exist")
    if create_parent:
        _make_parent(p, flag)
        ancestor = p.parent
    _check_writable(ancestor, flag)
    if need_bytes is not None:
        check_free_space(ancestor, need_bytes)
    return p


def check_output_dir(path: object, flag: str = "output_dir") -> Path:
    """Check, before any work, that files can be written into the folder `path` (created if missing).

    Nothing is created. Raises `UsageError` naming `flag` when `path` is None, empty or not a
    path, is a file, has a file in the way, or its nearest existing folder accepts no new files.
    """
    p = _as_path(path, flag, "folder")
    if p.exists() and not p.is_dir():
        raise UsageError(f"{flag}: {str(p)!r} is a file, not a directory")
    _check_writable(p if p.is_dir() else _existing_ancestor(p, flag), flag)
    return p


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: str | os.PathLike) -> None:
    """Make a rename in `directory` durable (best effort: ignored where directories cannot be synced)."""
    with contextlib.suppress(OSError):
        _fsync(Path(directory))


def remove_partial(partial: str | os.PathLike, keep: bool = False) -> None:
    """Remove a failed write's partial file unless `keep` (a missing one is fine)."""
    if not keep:
        with contextlib.suppress(OSError):
            Path(partial).unlink()


@contextlib.contextmanager
def atomic_file(path: object, flag: str = "output_file", *, overwrite: bool = False,
                keep_partial: bool = False, unique: bool = False) -> Iterator[Path]:
    """``with atomic_file(path) as partial:`` write `partial`; it becomes `path` when the block succeeds.

    `path` is checked first (`check_output_file`; its directory is created). A leftover
    ``PATH.partial`` from a killed run is replaced. On success the partial file is fsynced,
    renamed to `path` and the directory fsynced; on any exception (``KeyboardInterrupt``
    included) the partial file is removed, unless `keep_partial`, and the exception goes on.

    Args:
        path: the file to write. flag: its argument's name, for messages.
        overwrite: replace an existing file at `path` (only once the new one is complete).
        keep_partial: on failure leave the partial file for inspection.
        unique: name the partial file after the process (`partial_path`), for a shared cache.

    Raises:
        UsageError: see `check_output_file`.
    """
    p = check_output_file(path, flag, overwrite=overwrite, create_parent=True)
    partial = partial_path(p, unique)
    remove_partial(partial)
    try:
        yield partial
        _fsync(partial)
        os.replace(partial, p)
    except BaseException:
        remove_partial(partial, keep_partial)
        raise
    fsync_dir(p.parent)


def _first_missing(path: Path) -> Path | None:
    """The top-most folder of `path`'s chain that does not exist yet (None: `path` exists)."""
    missing = None
    for p in [path, *path.parents]:
        if p.exists():
            break
        missing = p
    return missing


@contextlib.contextmanager
def atomic_folder(path: object, flag: str = "output_dir", *, overwrite: bool = False) -> Iterator[Path]:
    """``with atomic_folder(out) as tmp:`` write files under `tmp`; they move into `out` on success.

    `tmp` is a hidden sibling of `out` (``.NAME.partial-XXXX``). When the block succeeds, every
    file under it moves to the same relative path under `out` (created if missing; files already
    there and not written now are kept), each fsynced first. A file that would replace an
    existing one without `overwrite` is refused before any moves. On any failure the hidden
    folder is removed, and so is what this call added: `out` itself (and the folders above it)
    when they did not exist, else the files moved so far.

    Raises:
        UsageError: `out` fails `check_output_dir`, or a file to move exists without `overwrite`.
    """
    out = check_output_dir(path, flag).absolute()
    created = _first_missing(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{flag}: cannot create directory {str(out.parent)!r}: {err.strerror or err}") from None
    moved: list[Path] = []
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield tmp
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        targets = [out / p.relative_to(tmp) for p in files]
        if not overwrite:
            for target in targets:
                if target.exists():
                    raise UsageError(f"{flag}: {str(target)!r} exists; pass --overwrite (overwrite=True) to replace it")
        for src, dst in zip(files, targets):
            _fsync(src)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
            moved.append(dst)
        for folder in sorted({dst.parent for dst in moved}):
            fsync_dir(folder)
    except BaseException:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        else:
            for p in moved:
                p.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def removed_on_failure(*directories: str | os.PathLike, keep: Callable[[], bool] | None = None) -> Iterator[None]:
    """Remove, on any exception, the directories (and missing parents) that did not exist on entry.

    Directories that existed are left alone: the writers inside clean up their own files.
    `keep()`, when given and true at failure time, keeps everything (e.g. a finished checkpoint).
    """
    created = [m for m in (_first_missing(Path(d).expanduser().absolute()) for d in directories) if m is not None]
    try:
        yield
    except BaseException:
        if keep is None or not keep():
            for path in created:
                shutil.rmtree(path, ignore_errors=True)
        raise
