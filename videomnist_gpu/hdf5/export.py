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
from videomnist_gpu.errors import UsageError, VideoMNISTError, check_choice, check_int
from videomnist_gpu.hdf5.chunks import DEFLATE_LEVEL, ChunkWriter
from videomnist_gpu.hdf5.layout import (FORMAT_VERSION, SPLIT_NAMES, dataset_name, dataset_specs, file_attrs,
                                        write_attrs)
from videomnist_gpu.interrupt import Interrupted, check_interrupt, hold_for_test, interruptible
from videomnist_gpu.progress import progress_bar
from videomnist_gpu.synth.config import VideoMNISTConfig
from videomnist_gpu.synth.digits import NUM_CLASSES
from videomnist_gpu.synth.ground_truth import check_annotations
from videomnist_gpu.synth.synthesizer import Clips, Synthesizer, as_device

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
    annotations: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Clips per split: ``{"train": 10 * videos_per_digit, "test": 10 * test_videos_per_digit}``."""
        return {"train": NUM_CLASSES * self.videos_per_digit, "test": NUM_CLASSES * self.test_videos_per_digit}


def default_batch_size(device: torch.device | str | None, config: VideoMNISTConfig | None = None) -> int:
    """`Synthesizer.preferred_batch_size` of `config` (default: the default config) on `device`:
    512 clips on accelerators; on the CPU 128 default clips, fewer for longer or larger clips
    and with rotation/scale, so a batch and its render temporaries stay small."""
    return Synthesizer(VideoMNISTConfig() if config is None else config, as_device(device)).preferred_batch_size


def _check_config(config: object) -> None:
    if not isinstance(config, VideoMNISTConfig):
        raise UsageError(f"config: expected a VideoMNISTConfig, got {type(config).__name__}")


def plan_export(config: VideoMNISTConfig, videos_per_digit: int = 1000, test_videos_per_digit: int | None = None,
                channels: int = 1, compression: str | None = "gzip", batch_size: int = 64,
                annotations: tuple[str, ...] | None = ()) -> ExportPlan:
    """Validate the export settings; `test_videos_per_digit` defaults to `videos_per_digit // 5`, at least 1.

    Arguments as in `export_dataset` (here `batch_size` defaults to 64 and may not be None).

    Raises:
        UsageError: `config` is not a `VideoMNISTConfig`; `videos_per_digit`,
            `test_videos_per_digit` or `batch_size` is not an integer >= 1; `channels` is not 1
            or 3; `compression` is not one of `COMPRESSIONS` (or None); or `annotations` holds
            an unknown name.
    """
    _check_config(config)
    vpd = check_int("videos_per_digit", videos_per_digit, 1)
    tvpd = max(1, vpd // 5) if test_videos_per_digit is None else check_int(
        "test_videos_per_digit", test_videos_per_digit, 1)
    channels = check_choice("channels", channels, (1, 3))
    compression = check_choice("compression", "none" if compression is None else compression, COMPRESSIONS)
    batch = check_int("batch_size", batch_size, 1)
    return ExportPlan(config, vpd, tvpd, int(channels), compression, batch, check_annotations(annotations))


def estimate_bytes(plan: ExportPlan) -> int:
    """Upper estimate of the file size, uncompressed (compression only makes it smaller in practice)."""
    raw = sum(int(np.prod(spec.shape)) * spec.dtype.itemsize
              for split, n in plan.counts.items()
              for spec in dataset_specs(plan.config, plan.channels, n, annotations=plan.annotations).values())
    return int(raw * _FREE_SPACE_SLACK) + 64 * 1024


def check_output_path(path: str | os.PathLike, overwrite: bool = False, create_parent: bool = True) -> Path:
    """`atomic_file.check_output_file` for the `output_file` flag: its directory is created, or
    with ``create_parent=False`` must exist."""
    return check_output_file(path, "output_file", overwrite=overwrite, create_parent=create_parent,
                             require_parent=not create_parent)


def _create(f, plan: ExportPlan, split: str, n: int) -> dict:
    opts: dict = {"fletcher32": True}
    if plan.compression != "none":
        opts["compression"] = plan.compression
    if plan.compression == "gzip":
        opts["compression_opts"] = DEFLATE_LEVEL
    return {name: f.create_dataset(dataset_name(split, name), shape=spec.shape, dtype=spec.dtype,
                                   chunks=spec.chunks, **opts)
            for name, spec in dataset_specs(plan.config, plan.channels, n, annotations=plan.annotations).items()}


def _write_attrs(f, plan: ExportPlan, synth: Synthesizer) -> None:
    bank_train, bank_test = synth.bank("train"), synth.bank("test")
    write_attrs(f, file_attrs(plan.config, channels=plan.channels, counts=plan.counts,
                              digit_source=bank_train.source,
                              fingerprints={"train": bank_train.fingerprint, "test": bank_test.fingerprint},
                              render_device=synth.device.type, render_backend=synth.backend_for(plan.annotations),
                              annotations=plan.annotations))


def _clip_arrays(clips: Clips, plan: ExportPlan) -> dict[str, np.ndarray]:
    """One rendered batch as numpy arrays in file layout."""
    b, t = clips.video.shape[:2]
    video = clips.video.cpu().numpy()  # (B, T, H, W)
    if plan.channels == 3:
        video = np.repeat(video[..., None], 3, axis=-1)  # (B, T, H, W, 3)
    truth = {name: value.cpu().numpy() for name, value in clips.ground_truth().items()}  # ground truth, by name
    label = truth.pop("label")  # (B, K)
    return {
        **truth,
        "data": video.reshape(b * t, *video.shape[2:]),  # (B*T, H, W[, 3])
        "idx": truth["index"] * t,  # (B,)
        "labels": label[:, 0] if plan.config.num_digits == 1 else label,  # (B,) or (B, K)
    }


def export_dataset(
    path: str | os.PathLike,
    config: VideoMNISTConfig | ExportPlan,
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
    annotations: tuple[str, ...] | None = (),
) -> Path:
    """Render and write a VideoMNIST HDF5 file; returns its path.

    Writes clips ``0 .. 10 * videos_per_digit - 1`` of the train split and
    ``0 .. 10 * test_videos_per_digit - 1`` of the test split in the layout of
    `videomnist_gpu.hdf5.layout` (per split: ``{split}_data`` uint8 (N*T, H, W) or
    (N*T, H, W, 3), ``{split}_idx`` int64 (N,), ``{split}_labels`` int64 (N,) or (N, K),
    ``{split}_motion`` int64 (N,), ``{split}_position`` and ``{split}_center`` float32
    (N, T, K, 2), ``{split}_angle``/``{split}_scale`` float32 (N, T, K) when the config
    rotates/scales, and the `annotations` asked for), into
    ``PATH.partial``, renamed to `path` only after a clean finish.

    Args:
        path: the file to write (``~`` expanded); its directory is created if missing.
        config: the dataset description (seed included), or a whole `ExportPlan` (from
            `plan_export`), which then also gives the counts, `channels`, `compression` and
            `batch_size`: those arguments must be left out.
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
            longer or larger clips and with rotation/scale), 512 on accelerators. A CPU render
            uses one torch thread (see `Synthesizer`), leaving the other cores to compression.
        device: where to render, a `torch.device` or a string (default: CUDA when available;
            ignored when `synthesizer` is given).
        overwrite: replace an existing file (only after the new one is complete).
        keep_partial: on failure leave `PATH.partial` for inspection instead of removing it.
        progress: a tqdm bar on stderr (True), nothing (False), or (None) a bar when stderr is a
            terminal and otherwise a line every 10 s: clips done, clips/s, time left.
        log: called with a short line after each written batch (for `--debug`).
        synthesizer: reuse one (must hold `config`); default builds one on `device`.
        annotations: names from `ground_truth.ANNOTATION_NAMES` to store as datasets
            ``{split}_{name}`` (e.g. ``train_instance_mask`` uint8 (N, T, H, W), one clip per
            chunk, compressed like the data), listed in the file attribute ``annotations``.

    Returns:
        `path` (as a `Path`, ``~`` expanded), now complete.

    Raises:
        UsageError: nothing is written when: `config` is not a `VideoMNISTConfig`;
            `videos_per_digit`, `test_videos_per_digit` or `batch_size` is not an integer >= 1;
            `channels` is not 1 or 3; `compression` is unknown; `annotations` holds an unknown
            name; `path` is empty, a directory,
            exists without `overwrite`, or its directory is under a file, cannot be created or
            is not writable; `synthesizer` holds another config; or the digits of either split
            cannot be loaded (see `load_digit_bank`).
        VideoMNISTError: the directory lacks the estimated free space (checked before writing,
            nothing written), or a write failed (disk full, I/O error): the message says how
            many clips had been written, and `PATH.partial` is removed unless `keep_partial`.
        Interrupted: (a `VideoMNISTError`, exit code 128 + signal) SIGINT or SIGTERM arrived;
            nothing is written to `path`.
    """
    if isinstance(config, ExportPlan):
        given = {"videos_per_digit": (videos_per_digit, 1000), "test_videos_per_digit": (test_videos_per_digit, None),
                 "channels": (channels, 1), "compression": (compression, "gzip"), "batch_size": (batch_size, None),
                 "annotations": (annotations, ())}
        extra = [name for name, (value, default) in given.items() if value != default]
        if extra:
            raise UsageError(f"{extra[0]}: given with an ExportPlan, which holds it; set it in plan_export")
        plan = config
    else:
        _check_config(config)  # before the default batch size reads it
        if batch_size is None:
            batch_size = default_batch_size(synthesizer.device if synthesizer is not None else device, config)
        plan = plan_export(config, videos_per_digit, test_videos_per_digit, channels, compression, batch_size,
                           annotations)
    config = plan.config
    path = check_output_path(path, overwrite=overwrite)
    partial = partial_path(path)
    check_free_space(path.parent, estimate_bytes(plan))
    synth = synthesizer if synthesizer is not None else Synthesizer(config, device=device)
    if synth.config != config:
        raise UsageError("synthesizer: its config differs from the export's config")
    for split in SPLIT_NAMES:
        synth.bank(split)  # load digits before creating any file: a bad source writes nothing

    total = sum(plan.counts.values())
    done = 0
    with hdf5_written_atomically(path, keep_partial, lambda: f" after {done} of {total} clips") as f:
        with progress_bar(total, "export", "clips", progress) as bar, ChunkWriter() as writer:
            for split in SPLIT_NAMES:
                n = plan.counts[split]
                datasets = _create(f, plan, split, n)
                t = config.sequence_length
                for start in range(0, n, plan.batch_size):
                    stop = min(n, start + plan.batch_size)
                    clips = synth.render(torch.arange(start, stop, dtype=torch.int64), split, plan.annotations)
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
            _write_attrs(f, plan, synth)  # after rendering: the backend that actually rendered
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
