"""Freeze a seeded run into the canonical HDF5 layout, batch by batch, safely.

`export_dataset` renders clips `0 .. 10*n - 1` of each split with the `Synthesizer` and streams
them into `PATH.partial`, one batch at a time (peak memory is one batch, whatever the number of
videos), then renames the partial file to `PATH` only after a clean finish. Any error, Ctrl-C or
SIGTERM removes the partial file (unless `keep_partial`) and raises a one-line error; a killed
process (SIGKILL) leaves at most `PATH.partial`, never a file at `PATH` that looks complete.
The file is written through `videomnist_gpu.atomic_file`; `hdf5_written_atomically` adds what
HDF5 needs on top (`GuardedFile`, `abandon_partial`) for other writers of the layout
(`import_moving_mnist`). `partial_path`, `check_free_space`, `remove_partial` and `fsync_dir`
are `atomic_file`'s, kept importable from here.

The layout (dataset names, dtypes, shapes, chunks, attributes, format version) is
`videomnist_gpu.hdf5.layout`'s. Every chunk carries a fletcher32 checksum. Compression is gzip by
default (deflate, readable by every HDF5 reader; the data's chunks are compressed on threads by
`videomnist_gpu.hdf5.chunks` and written pre-filtered), or lzf (h5py only) or none. Clip `i` has
class `i % 10`: each class has exactly `n` clips per split, interleaved.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from videomnist_gpu.atomic_file import (atomic_file, check_free_space, check_output_file, fsync_dir, partial_path,
                                        remove_partial)
from videomnist_gpu.errors import UsageError, VideoMNISTError
from videomnist_gpu.hdf5.chunks import DEFLATE_LEVEL, ChunkWriter
from videomnist_gpu.hdf5.layout import (FORMAT_VERSION, SPLIT_NAMES, dataset_name, dataset_specs, file_attrs,
                                        write_attrs)
from videomnist_gpu.interrupt import Interrupted, check_interrupt, hold_for_test, interruptible
from videomnist_gpu.progress import progress_bar
from videomnist_gpu.synth.config import VideoMNISTConfig
from videomnist_gpu.synth.digits import NUM_CLASSES
from videomnist_gpu.synth.synthesizer import CPU_RENDER_SLICE, Clips, Synthesizer, as_device

__all__ = [
    "export_dataset",
    "ExportPlan",
    "plan_export",
    "default_batch_size",
    "estimate_bytes",
    "partial_path",
    "check_output_path",
    "check_free_space",
    "hdf5_written_atomically",
    "GuardedFile",
    "abandon_partial",
    "remove_partial",
    "fsync_dir",
    "Interrupted",
    "FORMAT_VERSION",
    "COMPRESSIONS",
    "SPLIT_NAMES",
]

COMPRESSIONS = ("none", "gzip", "lzf")
_FREE_SPACE_SLACK = 1.05  # HDF5 metadata and checksums on top of the raw bytes


@dataclass(frozen=True)
class ExportPlan:
    """What an export writes: clips per split and how they are stored (all validated)."""

    config: VideoMNISTConfig
    videos_per_digit: int
    test_videos_per_digit: int
    channels: int = 1
    compression: str = "gzip"
    batch_size: int = 64

    @property
    def counts(self) -> dict[str, int]:
        """Clips per split: ``{"train": 10 * videos_per_digit, "test": 10 * test_videos_per_digit}``."""
        return {"train": NUM_CLASSES * self.videos_per_digit, "test": NUM_CLASSES * self.test_videos_per_digit}


def _check_positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UsageError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def default_batch_size(device: torch.device | str | None, config: VideoMNISTConfig | None = None) -> int:
    """512 clips on accelerators; on the CPU 128 default clips (the kernels' fastest batch), fewer
    for longer or larger clips (`config`) so a batch and its render temporaries stay as small."""
    if as_device(device).type != "cpu":
        return 512
    pixels = 1 if config is None else config.sequence_length * config.image_size**2 / (16 * 64 * 64)
    return max(1, min(CPU_RENDER_SLICE, int(CPU_RENDER_SLICE / pixels)))


def _check_config(config: object) -> None:
    if not isinstance(config, VideoMNISTConfig):
        raise UsageError(f"config: expected a VideoMNISTConfig, got {type(config).__name__}")


def plan_export(config: VideoMNISTConfig, videos_per_digit: int = 1000, test_videos_per_digit: int | None = None,
                channels: int = 1, compression: str | None = "gzip", batch_size: int = 64) -> ExportPlan:
    """Validate the export settings; `test_videos_per_digit` defaults to `videos_per_digit // 5`, at least 1.

    Arguments as in `export_dataset` (here `batch_size` defaults to 64 and may not be None).

    Raises:
        UsageError: `config` is not a `VideoMNISTConfig`; `videos_per_digit`,
            `test_videos_per_digit` or `batch_size` is not an integer >= 1; `channels` is not 1
            or 3; or `compression` is not one of `COMPRESSIONS` (or None).
    """
    _check_config(config)
    vpd = _check_positive_int("videos_per_digit", videos_per_digit)
    tvpd = max(1, vpd // 5) if test_videos_per_digit is None else _check_positive_int(
        "test_videos_per_digit", test_videos_per_digit)
    if isinstance(channels, bool) or channels not in (1, 3):
        raise UsageError(f"channels: must be 1 (grayscale) or 3 (RGB, gray replicated), got {channels!r}")
    compression = "none" if compression is None else compression
    if compression not in COMPRESSIONS:
        raise UsageError(f"compression: unknown {compression!r}. Valid: {', '.join(COMPRESSIONS)}")
    batch = _check_positive_int("batch_size", batch_size)
    return ExportPlan(config, vpd, tvpd, int(channels), compression, batch)


def estimate_bytes(plan: ExportPlan) -> int:
    """Upper estimate of the file size, uncompressed (compression only makes it smaller in practice)."""
    c = plan.config
    n = sum(plan.counts.values())
    t, k, hw = c.sequence_length, c.num_digits, c.image_size**2
    per_clip = t * hw * plan.channels + 8 + 8 * k + 8 + 4 * t * k * 2
    if not c.translation_only:
        per_clip += 2 * 4 * t * k
    return int(n * per_clip * _FREE_SPACE_SLACK) + 64 * 1024


def check_output_path(path: str | os.PathLike, overwrite: bool = False, create_parent: bool = True) -> Path:
    """`atomic_file.check_output_file` for the `output_file` flag: its directory is created, or
    with ``create_parent=False`` must exist."""
    return check_output_file(path, "output_file", overwrite=overwrite, create_parent=create_parent,
                             require_parent=not create_parent)


@contextlib.contextmanager
def _render_threads(plan: ExportPlan, synth: Synthesizer):
    """A CPU render uses one torch thread while gzip compresses on the others.

    torch's intra-op workers would compete with the compression threads for the same cores; one
    render thread overlapped with compression is faster (measured on 2 loaded cores: a render on
    1 thread ran 4.5x faster than on 2; with this and the pipelining of `ChunkWriter` the default
    export went from 33.7 s to 13.5 s).
    """
    if synth.device.type != "cpu" or plan.compression != "gzip":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _create(f, plan: ExportPlan, split: str, n: int) -> dict:
    opts: dict = {"fletcher32": True}
    if plan.compression != "none":
        opts["compression"] = plan.compression
    if plan.compression == "gzip":
        opts["compression_opts"] = DEFLATE_LEVEL
    return {name: f.create_dataset(dataset_name(split, name), shape=spec.shape, dtype=spec.dtype,
                                   chunks=spec.chunks, **opts)
            for name, spec in dataset_specs(plan.config, plan.channels, n).items()}


def _write_attrs(f, plan: ExportPlan, synth: Synthesizer) -> None:
    bank_train, bank_test = synth.bank("train"), synth.bank("test")
    write_attrs(f, file_attrs(plan.config, channels=plan.channels, counts=plan.counts,
                              digit_source=bank_train.source,
                              fingerprints={"train": bank_train.fingerprint, "test": bank_test.fingerprint},
                              render_device=synth.device.type))


def _clip_arrays(clips: Clips, plan: ExportPlan) -> dict[str, np.ndarray]:
    """One rendered batch as numpy arrays in file layout."""
    b, t = clips.video.shape[:2]
    video = clips.video.cpu().numpy()  # (B, T, H, W)
    if plan.channels == 3:
        video = np.repeat(video[..., None], 3, axis=-1)  # (B, T, H, W, 3)
    label = clips.label.cpu().numpy()  # (B, K)
    out = {
        "data": video.reshape(b * t, *video.shape[2:]),  # (B*T, H, W[, 3])
        "idx": clips.index.cpu().numpy() * t,  # (B,)
        "labels": label[:, 0] if plan.config.num_digits == 1 else label,  # (B,) or (B, K)
        "motion": clips.motion.cpu().numpy(),  # (B,)
        "position": clips.position.cpu().numpy().astype(np.float32),  # (B, T, K, 2)
        "angle": clips.angle.cpu().numpy().astype(np.float32),  # (B, T, K)
        "scale": clips.scale.cpu().numpy().astype(np.float32),  # (B, T, K)
    }
    return out


def export_dataset(
    path: str | os.PathLike,
    config: VideoMNISTConfig,
    videos_per_digit: int = 1000,
    test_videos_per_digit: int | None = None,
    *,
    channels: int = 1,
    compression: str | None = "gzip",
    batch_size: int | None = None,
    device: torch.device | str | None = None,
    overwrite: bool = False,
    keep_partial: bool = False,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    synthesizer: Synthesizer | None = None,
) -> Path:
    """Render and write a VideoMNIST HDF5 file; returns its path.

    Writes clips ``0 .. 10 * videos_per_digit - 1`` of the train split and
    ``0 .. 10 * test_videos_per_digit - 1`` of the test split in the layout of
    `videomnist_gpu.hdf5.layout` (per split: ``{split}_data`` uint8 (N*T, H, W) or
    (N*T, H, W, 3), ``{split}_idx`` int64 (N,), ``{split}_labels`` int64 (N,) or (N, K),
    ``{split}_motion`` int64 (N,), ``{split}_position`` float32 (N, T, K, 2), and
    ``{split}_angle``/``{split}_scale`` float32 (N, T, K) when the config rotates/scales), into
    ``PATH.partial``, renamed to `path` only after a clean finish.

    Args:
        path: the file to write (``~`` expanded); its directory is created if missing.
        config: the dataset description (seed included).
        videos_per_digit: train clips per class, an integer >= 1 (default 1000; train has
            `10 * videos_per_digit` clips).
        test_videos_per_digit: test clips per class, an integer >= 1; default
            `videos_per_digit // 5`, at least 1.
        channels: 1 (gray, `[N*T, H, W]`) or 3 (gray replicated, `[N*T, H, W, 3]`).
        compression: "gzip" (default: deflate, any HDF5 reader), "lzf" (h5py only) or "none"
            (None means "none").
        batch_size: clips rendered and written at once, an integer >= 1 (peak memory; never
            changes the data);
            default `default_batch_size(device, config)`: 128 default clips on the CPU (fewer for
            longer or larger clips), 512 on accelerators.
        device: where to render, a `torch.device` or a string (default: CUDA when available;
            ignored when `synthesizer` is given).
        overwrite: replace an existing file (only after the new one is complete).
        keep_partial: on failure leave `PATH.partial` for inspection instead of removing it.
        progress: a tqdm bar on stderr (True), nothing (False), or (None) a bar when stderr is a
            terminal and otherwise a line every 10 s: clips done, clips/s, time left.
        log: called with a short line after each written batch (for `--debug`).
        synthesizer: reuse one (must hold `config`); default builds one on `device`.

    Returns:
        `path` (as a `Path`, ``~`` expanded), now complete.

    Raises:
        UsageError: nothing is written when: `config` is not a `VideoMNISTConfig`;
            `videos_per_digit`, `test_videos_per_digit` or `batch_size` is not an integer >= 1;
            `channels` is not 1 or 3; `compression` is unknown; `path` is empty, a directory,
            exists without `overwrite`, or its directory is under a file, cannot be created or
            is not writable; `synthesizer` holds another config; or the digits of either split
            cannot be loaded (see `load_digit_bank`).
        VideoMNISTError: the directory lacks the estimated free space (checked before writing,
            nothing written), or a write failed (disk full, I/O error): the message says how
            many clips had been written, and `PATH.partial` is removed unless `keep_partial`.
        Interrupted: (a `VideoMNISTError`, exit code 128 + signal) SIGINT or SIGTERM arrived;
            nothing is written to `path`.
    """
    _check_config(config)  # before the default batch size reads it
    if batch_size is None:
        batch_size = default_batch_size(synthesizer.device if synthesizer is not None else device, config)
    plan = plan_export(config, videos_per_digit, test_videos_per_digit, channels, compression, batch_size)
    path = check_output_path(path, overwrite=overwrite)
    partial = partial_path(path)
    need = estimate_bytes(plan)
    check_free_space(path.parent, need)
    synth = synthesizer if synthesizer is not None else Synthesizer(config, device=device)
    if synth.config != config:
        raise UsageError("synthesizer: its config differs from the export's config")
    for split in SPLIT_NAMES:
        synth.bank(split)  # load digits before creating any file: a bad source writes nothing

    total = sum(plan.counts.values())
    done = 0
    with hdf5_written_atomically(path, keep_partial, lambda: f" after {done} of {total} clips") as f:
        with (progress_bar(total, "export", "clips", progress) as bar, ChunkWriter() as writer,
              _render_threads(plan, synth)):
            _write_attrs(f, plan, synth)
            for split in SPLIT_NAMES:
                n = plan.counts[split]
                datasets = _create(f, plan, split, n)
                t = config.sequence_length
                for start in range(0, n, plan.batch_size):
                    stop = min(n, start + plan.batch_size)
                    clips = synth.render(torch.arange(start, stop, dtype=torch.int64), split)
                    hold_for_test(f"{split}_batch_{start // plan.batch_size}")
                    arrays = _clip_arrays(clips, plan)
                    for name, ds in datasets.items():
                        if name == "data" and plan.compression == "gzip":  # compressed on threads
                            video = arrays[name]  # (B*T, H, W[, 3])
                            writer.write(ds, start * t, video.reshape(stop - start, t, *video.shape[1:]))
                        elif name == "data":
                            ds[start * t:stop * t] = arrays[name]
                        else:
                            ds[start:stop] = arrays[name]
                    f.flush()  # surface write errors (disk full) now, not at close
                    done += stop - start
                    bar.update(stop - start)
                    if log is not None:
                        log(f"wrote {split} clips {start}..{stop - 1} ({done}/{total}) to {partial}")
                    check_interrupt()  # a safe point: the batch is written
        hold_for_test("final_flush")
    return path


@contextlib.contextmanager
def hdf5_written_atomically(path: Path, keep_partial: bool = False,
                            written: Callable[[], str] = lambda: "") -> Iterator:
    """An h5py file open on ``PATH.partial`` (`atomic_file`) that becomes `path` only when the block completes.

    Inside, SIGINT/SIGTERM are only recorded (`interrupt.interruptible`); the block calls
    `check_interrupt` at its own safe points. On success the file is closed, a signal still
    pending is raised (the last safe point), then `atomic_file` fsyncs and renames it. On any
    failure ``PATH.partial`` is removed (kept with `keep_partial`) and the error becomes one
    line: `Interrupted` (exit 128 + signal), a `VideoMNISTError` raised inside as is, or a
    `VideoMNISTError` for a failed write whose message includes `written()` (for example
    `" after 40 of 100 clips"`). Writes go through `GuardedFile`, so a full disk fails cleanly.
    `path` must have been checked (`check_output_path`); an existing file there is replaced.
    """
    import h5py

    partial = partial_path(path)
    sink: GuardedFile | None = None
    try:
        with atomic_file(path, overwrite=True, keep_partial=keep_partial):
            f = None
            try:
                with interruptible():
                    sink = GuardedFile(partial)
                    f = h5py.File(sink, "w")
                    yield f
                    f.close()
                    sink.close()
                    check_interrupt()  # the last safe point: the file is complete, the rename commits it
            except BaseException:
                abandon_partial(f, sink)
                raise
    except BaseException as err:
        failure = sink.error if sink is not None and sink.error is not None else err
        where = f"; kept {str(partial)!r}" if keep_partial and partial.exists() else ""
        if isinstance(err, Interrupted):
            raise Interrupted(f"{err}; nothing written to {str(path)!r}{where}", err.exit_code - 128) from None
        if isinstance(err, KeyboardInterrupt):
            raise Interrupted(f"interrupted by SIGINT; nothing written to {str(path)!r}{where}",
                              signal.SIGINT) from None
        if isinstance(err, VideoMNISTError):
            raise
        if isinstance(failure, OSError):
            raise VideoMNISTError(
                f"writing {str(partial)!r} failed{written()}: {_os_reason(failure)}; "
                f"nothing written to {str(path)!r}{where}") from None
        raise


def _os_reason(err: OSError) -> str:
    if err.errno is not None and err.strerror:
        return err.strerror
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]


class GuardedFile(io.RawIOBase):
    """The file HDF5 writes through (h5py's fileobj driver), made safe to abandon.

    HDF5 cannot close a file whose dirty metadata it failed to write (disk full, file size
    limit): the file stays open and the library crashes at interpreter exit (measured: segfault).
    Here the first failed write is recorded in `error` and every later write is discarded, so
    closing the HDF5 file always succeeds and leaves the library clean; the partial file is then
    removed.
    """

    def __init__(self, path: Path) -> None:
        self._f = open(path, "x+b", buffering=0)
        self.error: OSError | None = None
        self.discard = False

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._f.seek(pos, whence)

    def tell(self) -> int:
        return self._f.tell()

    def readinto(self, buffer) -> int:
        return self._f.readinto(buffer)

    def write(self, data) -> int:
        if self.discard:
            n = memoryview(data).nbytes
            self._f.seek(n, os.SEEK_CUR)
            return n
        try:
            return self._f.write(data)
        except OSError as err:
            self.error, self.discard = err, True
            raise

    def truncate(self, size: int | None = None) -> int:
        if self.discard:
            return self._f.tell() if size is None else size
        try:
            return self._f.truncate(size)
        except OSError as err:
            self.error, self.discard = err, True
            raise

    def flush(self) -> None:
        pass  # unbuffered: every write already reached the OS

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()
        super().close()


def abandon_partial(f, sink: GuardedFile | None) -> None:
    """Close a failed write's HDF5 file `f` and its `GuardedFile` sink without raising."""
    if sink is not None:
        sink.discard = True
    if f is not None:
        with contextlib.suppress(Exception):
            f.close()
    if sink is not None:
        with contextlib.suppress(Exception):
            sink.close()
