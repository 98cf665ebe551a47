"""Sample pools and statistics for `videomnist visualize`, from an HDF5 export or straight from a config.

Two one-call entry points write a whole samples folder (GIF/MP4 per sample, montage, optional
class comparisons, `dataset_stats.txt`; see `visualize.write_samples`):

- `visualize_hdf5(path, output_dir, ...)`: picks a seeded random pool of clips of one split
  (reading only those clips) and streams the whole split through `StatsAccumulator` in chunks;
- `visualize_config(config, output_dir, ...)`: renders a seeded random pool of clips with the
  `Synthesizer` (no file at all) and computes the statistics on that pool.

With ``overlays=N`` both also write `overlays/clip_IIIIIIIIII.{gif,mp4}`: the first N clips of
the pool re-rendered with their ground truth (`write_overlays`: boxes with track id and class,
instance mask colours, flow colours, side by side). A file's clips are re-rendered from the
config it stores, so the file needs none of the annotation datasets.

`videomnist visualize` and `videomnist generate --create_samples` both call one of them. The
pieces (`hdf5_stats`, `config_samples`) are public too; files are read through
`videomnist_gpu.hdf5.clip_files` (`read_hdf5_info`, `load_hdf5_samples`, `SamplePool`,
`HDF5Info`, also importable from here).

Convention:
    Sample picks are a pure function of `seed`: `numpy.random.default_rng(seed)` draws the pool
    of clip indices, in random order, and `write_samples` spreads the samples over the classes
    in that order. The output folder is written all or nothing: files go to a hidden sibling
    folder first and are moved into `output_dir` only when every one of them is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videomnist_gpu.atomic_file import atomic_folder, check_output_dir
from videomnist_gpu.errors import UsageError, VideoMNISTError, check_int, check_number
from videomnist_gpu.hdf5.clip_files import (MIN_POOL, HDF5Info, SamplePool, check_stored_labels, check_stored_motions,
                                            info_from_file, load_hdf5_samples, read_clip_block, read_hdf5_info)
from videomnist_gpu.hdf5.layout import stored_config
from videomnist_gpu.hdf5.reader import open_hdf5
from videomnist_gpu.interrupt import check_interrupt
from videomnist_gpu.synth.config import VideoMNISTConfig
from videomnist_gpu.synth.keyed_random import check_split
from videomnist_gpu.viz.overlays import save_overlay
from videomnist_gpu.viz.stats import StatsAccumulator, format_stats
from videomnist_gpu.viz.visualize import VIDEO_FORMATS, write_samples

__all__ = [
    "SamplePool",
    "HDF5Info",
    "pool_size",
    "read_hdf5_info",
    "load_hdf5_samples",
    "hdf5_stats",
    "config_samples",
    "visualize_hdf5",
    "visualize_config",
    "write_overlays",
    "OVERLAY_ANNOTATIONS",
]

STATS_CHUNK_CLIPS = 256  # clips per read when streaming a split through the statistics
CONFIG_INDEX_SPACE = 2**31  # clip indices drawn from a config lie in 0 .. 2**31 - 1
_SAMPLE_GLOBS = ("digit_*_video_*.gif", "digit_*_video_*.mp4", "videomnist_montage.png", "dataset_stats.txt",
                 "class_comparisons/digit_*_comparison.gif", "overlays/clip_*.gif", "overlays/clip_*.mp4")
OVERLAY_ANNOTATIONS = ("boxes", "instance_mask", "flow")  # what each overlay panel draws


def pool_size(num_samples: int, num_per_class: int) -> int:
    """Clips in a pool: enough for the samples and ten classes' comparisons, at least 200."""
    return max(num_samples, 10 * num_per_class, MIN_POOL)


# --------------------------------------------------------------------------- argument checks


def _check_common(split: str, formats: Any, num_samples: Any, num_per_class: Any, fps: Any) -> list[str]:
    check_split(split)
    fmts = [formats] if isinstance(formats, str) else list(formats)
    for f in fmts:
        if str(f).lower() not in VIDEO_FORMATS:
            raise UsageError(f"formats: unknown format {f!r}. Valid: {', '.join(VIDEO_FORMATS)}.")
    check_int("num_samples", num_samples, 0)
    check_int("num_per_class", num_per_class, 1)
    if fps is not None:
        check_number("fps", fps, above=0)
    return [str(f).lower() for f in fmts]


def _check_overlays(overlays: Any, num_samples: int, num_per_class: int, num_clips: int | None = None) -> int:
    """`overlays` if it is an integer from 0 to the pool's size."""
    pool = num_clips if num_clips is not None else pool_size(num_samples, num_per_class)
    return check_int("overlays", overlays, 0, pool)


def _check_seed(seed: Any) -> int:
    return check_int("seed", seed, 0)


# --------------------------------------------------------------------------- HDF5


def hdf5_stats(path: str | os.PathLike, split: str = "train", chunk_clips: int = STATS_CHUNK_CLIPS) -> dict[str, Any]:
    """Statistics of a whole split of a file, streamed `chunk_clips` clips at a time.

    Digit source and fingerprint, fps, seed and versions come from the file's attributes
    (`None`, shown as "unknown", where absent); the margin from its stored config (else 5).
    Without a `{split}_motion` dataset the motion counts are empty and every clip counts as
    "no motion recorded".

    Returns:
        `StatsAccumulator.result` plus `split`, `hdf5_path`, `fps`, `digit_source`,
        `digit_fingerprint`, `seed`, `package_version`, `format_version`.
    """
    check_int("chunk_clips", chunk_clips, 1)
    with open_hdf5(path, "hdf5_path") as f:
        info = info_from_file(f, Path(path), split)
        acc = StatsAccumulator(info.motion_names if info.has_motion else (), margin=info.margin,
                               n_classes=info.n_classes)
        for a in range(0, info.num_videos, chunk_clips):
            check_interrupt()  # Ctrl-C stops the statistics of a large file between chunks
            b = min(a + chunk_clips, info.num_videos)
            try:
                video, labels, motions = read_clip_block(f, info, a, b)
            except OSError as err:
                raise VideoMNISTError(f"hdf5_path: cannot read {split} clips {a}..{b - 1} of {str(path)!r}: {err}") from None
            check_stored_labels(info, labels)
            check_stored_motions(info, motions)
            acc.update(video, labels, motions)
    attrs = info.attrs
    return acc.result(
        split=split,
        hdf5_path=str(path),
        fps=info.fps,
        digit_source=attrs.get("digit_source"),
        digit_fingerprint=attrs.get(f"digit_fingerprint_{split}"),
        seed=attrs.get("seed"),
        package_version=attrs.get("package_version"),
        format_version=attrs.get("format_version"),
    )


# --------------------------------------------------------------------------- config


def config_samples(
    config: VideoMNISTConfig,
    num: int = MIN_POOL,
    split: str = "train",
    seed: int = 0,
    device: torch.device | str | None = None,
    root: str | Path | None = None,
) -> tuple[SamplePool, dict[str, Any]]:
    """Renders a seeded random pool of `num` clips of `config` and computes their statistics.

    Clip indices are drawn without replacement from `0 .. 2**31 - 1` by
    `numpy.random.default_rng(seed)` (`seed` picks clips; `config.seed` decides what clip `i`
    looks like). Rendering and the statistics' reductions run on `device`.

    Returns:
        (pool with video a uint8 tensor `(num, T, H, W)` on `device`, `StatsAccumulator.result`
        of the pool plus `split`, `fps`, `digit_source`, `digit_fingerprint`, `seed`
        (the config's), `samples_seed`, `source: "generated from config, no file"`).
    """
    from videomnist_gpu.synth.synthesizer import Synthesizer, parse_device

    seed = _check_seed(seed)
    check_split(split)
    num = check_int("num", num, 1)
    synth = Synthesizer(config, device=parse_device(device), root=root)
    index = np.random.default_rng(seed).choice(CONFIG_INDEX_SPACE, size=num, replace=False).astype(np.int64)
    clips = synth.render(torch.from_numpy(index).to(synth.device), split)
    acc = StatsAccumulator(config.motion_types, margin=config.margin, n_classes=10)
    acc.update(clips.video, clips.label, clips.motion)
    bank = synth.bank(split)
    stats = acc.result(
        split=split,
        fps=config.fps,
        digit_source=bank.source,
        digit_fingerprint=bank.fingerprint,
        source="generated from config, no file",
        seed=config.seed,
        samples_seed=seed,
    )
    pool = SamplePool(clips.video, clips.label, clips.motion, tuple(config.motion_types), index, float(config.fps))
    return pool, stats


def write_overlays(config: VideoMNISTConfig, index: Any, folder: str | os.PathLike, *, split: str = "train",
                   formats: Sequence[str] = ("gif",), fps: float | None = None,
                   device: torch.device | str | None = None, root: str | Path | None = None) -> list[Path]:
    """Renders clips `index` of `config` with `OVERLAY_ANNOTATIONS` and writes each clip's overlay
    (`overlays.save_overlay`) as `folder/overlays/clip_IIIIIIIIII.FMT` (I: the clip's index).

    Shape: `index` int64 `(N,)`, clip indices within `split`.

    Returns:
        The written paths, clip by clip, format by format.
    """
    from videomnist_gpu.synth.synthesizer import Synthesizer, parse_device

    synth = Synthesizer(config, device=parse_device(device), root=root)
    index = torch.as_tensor(np.asarray(index, dtype=np.int64))  # (N,)
    clips = synth.render(index.to(synth.device), split, OVERLAY_ANNOTATIONS)
    out = Path(folder) / "overlays"
    out.mkdir(parents=True, exist_ok=True)
    return [save_overlay(clips, out / f"clip_{int(i):010d}.{fmt}", b, fmt, config.fps if fps is None else fps)
            for b, i in enumerate(index.tolist()) for fmt in formats]


# --------------------------------------------------------------------------- samples folders


def _refuse_existing(output_dir: Path, overwrite: bool) -> None:
    """Before any work: `output_dir` can be written (`check_output_dir`), and holds no samples unless `overwrite`."""
    check_output_dir(output_dir, "output_dir")
    if overwrite or not output_dir.is_dir():
        return
    for pattern in _SAMPLE_GLOBS:
        for p in sorted(output_dir.glob(pattern)):
            raise UsageError(f"output_dir: {str(p)!r} exists; pass --overwrite (overwrite=True) to replace samples")


def _write_folder(pool: SamplePool, output_dir: str | os.PathLike, stats: dict[str, Any], fmts: list[str],
                  fps: float | None, num_samples: int, create_comparison: bool, num_per_class: int,
                  scale: int | None, overwrite: bool,
                  overlays: Callable[[Path], list[Path]] | None = None) -> list[Path]:
    """`write_samples` (and `overlays(folder)` when given) into a hidden sibling folder
    (`atomic_folder`), then every file moved into `output_dir`."""
    out = Path(output_dir)
    _refuse_existing(out, overwrite)
    with atomic_folder(out, "output_dir", overwrite=overwrite) as tmp:
        written = write_samples(pool.video, pool.label, pool.motion, pool.motion_names, tmp, formats=fmts,
                                fps=fps if fps is not None else pool.fps, num_samples=num_samples,
                                create_comparison=create_comparison, num_per_class=num_per_class,
                                stats=format_stats(stats), scale=scale, overwrite=True)
        if overlays is not None:
            written += overlays(tmp)
    return [out / p.relative_to(tmp) for p in written]


def _overlay_writer(config: VideoMNISTConfig, pool: SamplePool, count: int, split: str, fmts: list[str],
                    fps: float | None, device: Any = None, root: Any = None) -> Callable[[Path], list[Path]] | None:
    """What writes the overlays of the pool's first `count` clips into a folder (None for none)."""
    if count == 0:
        return None
    index = np.asarray(pool.index[:count], dtype=np.int64)  # (count,)
    fps = fps if fps is not None else pool.fps  # as the samples
    return lambda folder: write_overlays(config, index, folder, split=split, formats=fmts, fps=fps, device=device,
                                         root=root)


def visualize_hdf5(
    hdf5_path: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    split: str = "train",
    formats: Sequence[str] = ("gif", "mp4"),
    num_samples: int = 20,
    create_comparison: bool = False,
    num_per_class: int = 3,
    fps: float | None = None,
    seed: int = 0,
    scale: int | None = None,
    overwrite: bool = False,
    chunk_clips: int = STATS_CHUNK_CLIPS,
    overlays: int = 0,
) -> list[Path]:
    """Writes the samples folder of an HDF5 export (what `videomnist visualize --hdf5_path` does).

    Picks a seeded pool of `pool_size(num_samples, num_per_class)` clips of `split` (reading only
    them), writes `num_samples` of them spread over the classes as `digit_X_video_YYY.{gif,mp4}`,
    `videomnist_montage.png`, with `create_comparison` `class_comparisons/digit_X_comparison.gif`,
    and `dataset_stats.txt` computed over the **whole** split (streamed in chunks).

    Args:
        hdf5_path: a file in the canonical layout. output_dir: created if missing.
        split: `train` or `test`. formats: any of `gif`, `mp4` (may be empty).
        fps: of GIFs/MP4s; None = the file's `fps` attribute (10 if absent).
        seed: which clips are picked. scale: integer upscale, None = auto.
        overwrite: replace existing sample files (otherwise refuse before writing anything).
        chunk_clips: clips per read when streaming the statistics.
        overlays: clips of the pool whose ground truth is drawn (`write_overlays`), re-rendered
            from the config the file stores (on CUDA when available).

    Returns:
        The written paths.

    Raises:
        UsageError: bad arguments, a missing/non-HDF5/wrong-layout file, existing outputs.
        VideoMNISTError: the file cannot be read half-way. Nothing is left in `output_dir` then.
    """
    fmts = _check_common(split, formats, num_samples, num_per_class, fps)
    overlays = _check_overlays(overlays, num_samples, num_per_class)
    _refuse_existing(Path(output_dir), overwrite)
    config = None
    if overlays:
        try:
            config = stored_config(read_hdf5_info(hdf5_path, split).attrs)
        except ValueError:  # a config_json that is not a config of this version: none to re-render from
            config = None
        if config is None:
            raise UsageError(f"overlays: {str(hdf5_path)!r} stores no VideoMNIST config to re-render its clips from "
                             "(an imported file?); draw overlays with --config instead")
    pool = load_hdf5_samples(hdf5_path, split, pool_size(num_samples, num_per_class), seed)
    stats = hdf5_stats(hdf5_path, split, chunk_clips)
    stats["samples_seed"] = seed
    return _write_folder(pool, output_dir, stats, fmts, fps, num_samples, create_comparison, num_per_class,
                         scale, overwrite, _overlay_writer(config, pool, overlays, split, fmts, fps))


def visualize_config(
    config: VideoMNISTConfig,
    output_dir: str | os.PathLike,
    *,
    split: str = "train",
    formats: Sequence[str] = ("gif", "mp4"),
    num_samples: int = 20,
    create_comparison: bool = False,
    num_per_class: int = 3,
    fps: float | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    root: str | Path | None = None,
    scale: int | None = None,
    overwrite: bool = False,
    num_clips: int | None = None,
    overlays: int = 0,
) -> list[Path]:
    """Writes the samples folder straight from the generator, no file involved.

    Renders `num_clips` (default `pool_size(num_samples, num_per_class)`) clips of `config` on
    `device` (`config_samples`), writes the same outputs as `visualize_hdf5`, and
    `dataset_stats.txt` over those rendered clips.

    Args: as `visualize_hdf5`, plus `config`, `device`, `root` (full MNIST's folder) and
        `num_clips`; `fps=None` takes `config.fps`; overlays are rendered on `device`.
    """
    fmts = _check_common(split, formats, num_samples, num_per_class, fps)
    overlays = _check_overlays(overlays, num_samples, num_per_class, num_clips)
    if not isinstance(config, VideoMNISTConfig):
        raise UsageError(f"config must be a VideoMNISTConfig, got {type(config).__name__}.")
    _refuse_existing(Path(output_dir), overwrite)
    n = num_clips if num_clips is not None else pool_size(num_samples, num_per_class)
    pool, stats = config_samples(config, n, split, seed, device, root)
    return _write_folder(pool, output_dir, stats, fmts, fps, num_samples, create_comparison, num_per_class,
                         scale, overwrite, _overlay_writer(config, pool, overlays, split, fmts, fps, device, root))
