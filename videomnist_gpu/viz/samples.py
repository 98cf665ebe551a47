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
pieces (`read_hdf5_info`, `load_hdf5_samples`, `hdf5_stats`, `config_samples`) are public too.

Convention:
    The HDF5 layout is the canonical one (`videomnist_gpu.hdf5.layout`): `{split}_data` uint8
    `(N*T, H, W)` or `(N*T, H, W, 3)` (channel 0 is read), `{split}_idx` int64 `(N,)` start frames,
    `{split}_labels` int64 `(N,)` or `(N, K)`, optional `{split}_motion` int64 `(N,)` indexing
    the `motion_types` attribute. Missing optional attributes read as "unknown"; a missing
    `sequence_length` is taken from the start frames. A file that does not hold this layout is a
    usage error (exit 2); a read that fails half-way is a runtime error (exit 1).

    Sample picks are a pure function of `seed`: `numpy.random.default_rng(seed)` draws the pool
    of clip indices, in random order, and `write_samples` spreads the samples over the classes
    in that order. The output folder is written all or nothing: files go to a hidden sibling
    folder first and are moved into `output_dir` only when every one of them is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videomnist_gpu.atomic_file import atomic_folder, check_output_dir
from videomnist_gpu.errors import UsageError, VideoMNISTError, check_int, check_number
from videomnist_gpu.hdf5.layout import FRAME_DATASETS, dataset_name, decode_attr, decode_motion_types, stored_config
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
MIN_POOL = 200  # smallest pool a config is rendered into (and statistics computed on)
CONFIG_INDEX_SPACE = 2**31  # clip indices drawn from a config lie in 0 .. 2**31 - 1
_SAMPLE_GLOBS = ("digit_*_video_*.gif", "digit_*_video_*.mp4", "videomnist_montage.png", "dataset_stats.txt",
                 "class_comparisons/digit_*_comparison.gif", "overlays/clip_*.gif", "overlays/clip_*.mp4")
OVERLAY_ANNOTATIONS = ("boxes", "instance_mask", "flow")  # what each overlay panel draws


@dataclass(frozen=True)
class SamplePool:
    """Clips to pick samples from, with their ground truth.

    Shape:
        video: uint8 `(N, T, H, W)`, numpy (from a file) or a torch tensor on any device.
        label: int64 `(N, K)`. motion: int64 `(N,)` index into `motion_names`, or None.
        index: int64 `(N,)`, each clip's index within its split.
    """

    video: Any
    label: Any
    motion: Any
    motion_names: tuple[str, ...]
    index: np.ndarray
    fps: float


@dataclass(frozen=True)
class HDF5Info:
    """What `read_hdf5_info` learned about one split of a file (its layout checked)."""

    path: Path
    split: str
    num_videos: int
    sequence_length: int
    resolution: tuple[int, int]  # (H, W)
    channels: int
    digits_per_clip: int
    n_classes: int
    motion_names: tuple[str, ...]
    has_motion: bool
    fps: float | None
    margin: int
    attrs: dict[str, Any]


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


def _info_from_file(f: Any, path: Path, split: str) -> HDF5Info:
    check_split(split)
    bad = f"hdf5_path: {str(path)!r} is not a VideoMNIST HDF5 file"
    for name in FRAME_DATASETS:
        if dataset_name(split, name) not in f:
            present = ", ".join(sorted(f.keys())) or "nothing"
            raise UsageError(f"{bad}: no dataset {split}_{name} (it holds {present}).")
    data, idx, labels = (f[dataset_name(split, name)] for name in FRAME_DATASETS)
    channels = 1 if data.ndim == 3 else data.shape[3] if data.ndim == 4 else 0
    if data.dtype != np.uint8 or channels == 0:
        raise UsageError(f"{bad}: {split}_data must be uint8 [N*T, H, W] or [N*T, H, W, C], "
                         f"got {data.dtype} {list(data.shape)}.")
    if idx.ndim != 1 or idx.dtype.kind not in "iu":
        raise UsageError(f"{bad}: {split}_idx must be int [N], got {idx.dtype} {list(idx.shape)}.")
    n = idx.shape[0]
    if labels.ndim not in (1, 2) or labels.shape[0] != n or labels.dtype.kind not in "iu":
        raise UsageError(f"{bad}: {split}_labels must be int [N] or [N, K] with N={n}, "
                         f"got {labels.dtype} {list(labels.shape)}.")
    attrs = {k: decode_attr(v) for k, v in f.attrs.items()}
    t = attrs.get("sequence_length")
    if not isinstance(t, int):
        if n == 0:
            t = 0
        else:
            t = int(idx[1] - idx[0]) if n > 1 else data.shape[0]
    if n and (t < 1 or n * t > data.shape[0]):
        raise UsageError(f"{bad}: {n} clips of {t} frames need {n * t} frames, {split}_data holds {data.shape[0]}.")
    motion_names = decode_motion_types(attrs["motion_types"]) if attrs.get("motion_types") else ()
    has_motion = dataset_name(split, "motion") in f
    if has_motion:
        m = f[dataset_name(split, "motion")]
        if m.shape != (n,) or m.dtype.kind not in "iu":
            raise UsageError(f"{bad}: {split}_motion must be int [N] with N={n}, got {m.dtype} {list(m.shape)}.")
        if not motion_names:
            raise UsageError(f"{bad}: {split}_motion is present but the motion_types attribute is missing.")
    try:
        config = stored_config(attrs)
    except ValueError:  # not a videomnist config: the defaults below
        config = None
    margin = 5 if config is None else config.margin
    fps = attrs.get("fps")
    if fps is None and config is not None:
        fps = config.fps
    n_classes = attrs.get("n_classes")
    return HDF5Info(
        path=path,
        split=split,
        num_videos=int(n),
        sequence_length=int(t),
        resolution=(int(data.shape[1]), int(data.shape[2])),
        channels=int(channels),
        digits_per_clip=1 if labels.ndim == 1 else int(labels.shape[1]),
        n_classes=int(n_classes) if isinstance(n_classes, int) and n_classes >= 1 else 10,
        motion_names=motion_names,
        has_motion=has_motion,
        fps=float(fps) if isinstance(fps, (int, float)) and fps > 0 else None,
        margin=margin,
        attrs=attrs,
    )


def read_hdf5_info(path: str | os.PathLike, split: str = "train") -> HDF5Info:
    """Checks that `path` holds `split` in the canonical layout and reads its shape and attributes.

    Raises:
        UsageError: missing file, not HDF5, or not the layout (names what is wrong).
    """
    with open_hdf5(path, "hdf5_path") as f:
        return _info_from_file(f, Path(path), split)


def _read_clips(f: Any, info: HDF5Info, starts: np.ndarray) -> np.ndarray:
    """Clips starting at frames `starts` as uint8 `(len(starts), T, H, W)`, one contiguous read per clip."""
    data = f[dataset_name(info.split, "data")]
    t, (h, w) = info.sequence_length, info.resolution
    out = np.empty((len(starts), t, h, w), np.uint8)  # (B, T, H, W)
    for j, s in enumerate(starts.tolist()):
        clip = data[s : s + t]  # (T, H, W) or (T, H, W, C)
        if clip.shape[0] != t:
            raise VideoMNISTError(f"hdf5_path: clip at frame {s} runs past the end of {info.split}_data.")
        out[j] = clip[..., 0] if data.ndim == 4 else clip  # channel 0 of (T, H, W, C)
    return out


def _read_block(f: Any, info: HDF5Info, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Clips a..b-1 with labels and motions; one read when their frames are contiguous."""
    split, t = info.split, info.sequence_length
    starts = np.asarray(f[dataset_name(split, "idx")][a:b], dtype=np.int64)  # (B,)
    labels = np.asarray(f[dataset_name(split, "labels")][a:b], dtype=np.int64)  # (B,) or (B, K)
    motions = np.asarray(f[dataset_name(split, "motion")][a:b], dtype=np.int64) if info.has_motion else None
    lo = int(starts[0])
    if np.array_equal(starts, lo + t * np.arange(len(starts))):
        data = f[dataset_name(split, "data")]
        frames = data[lo : lo + t * len(starts)]  # (B*T, H, W) or (B*T, H, W, C)
        if frames.shape[0] != t * len(starts):
            raise VideoMNISTError(f"hdf5_path: clips {a}..{b - 1} run past the end of {split}_data.")
        if data.ndim == 4:
            frames = frames[..., 0]
        video = frames.reshape(len(starts), t, *info.resolution)  # (B, T, H, W)
    else:
        video = _read_clips(f, info, starts)
    return video, labels, motions


def _check_motions(info: HDF5Info, motions: np.ndarray | None) -> None:
    if motions is not None and len(motions) and (motions.min() < 0 or motions.max() >= len(info.motion_names)):
        raise UsageError(
            f"hdf5_path: {info.split}_motion holds {motions.min()}..{motions.max()}, "
            f"outside the {len(info.motion_names)} motion_types ({', '.join(info.motion_names)})."
        )


def _check_labels(info: HDF5Info, labels: np.ndarray) -> None:
    if len(labels) and (labels.min() < 0 or labels.max() >= info.n_classes):
        raise UsageError(f"hdf5_path: {info.split}_labels holds {labels.min()}..{labels.max()}, "
                         f"outside 0..{info.n_classes - 1}.")


def load_hdf5_samples(path: str | os.PathLike, split: str = "train", num: int = MIN_POOL, seed: int = 0) -> SamplePool:
    """A seeded random pool of `min(num, N)` clips of `split`, reading only those clips.

    Args:
        path: an HDF5 file in the canonical layout (module Convention).
        split: `train` or `test`.
        num: clips in the pool.
        seed: picks the clips (`numpy.random.default_rng(seed)`, without replacement); the pool
            keeps that random order.

    Shape:
        Returns a `SamplePool` with numpy video uint8 `(min(num, N), T, H, W)`.
    """
    seed = _check_seed(seed)
    with open_hdf5(path, "hdf5_path") as f:
        info = _info_from_file(f, Path(path), split)
        if info.num_videos == 0:
            raise UsageError(f"hdf5_path: {str(path)!r} holds no {split} clips.")
        order = np.random.default_rng(seed).choice(info.num_videos, size=min(num, info.num_videos), replace=False)
        sorted_idx = np.sort(order)  # read in file order (h5py fancy indexing wants increasing indices)
        starts = np.asarray(f[dataset_name(split, "idx")][sorted_idx], dtype=np.int64)
        labels = np.asarray(f[dataset_name(split, "labels")][sorted_idx], dtype=np.int64)
        motions = np.asarray(f[dataset_name(split, "motion")][sorted_idx], dtype=np.int64) if info.has_motion else None
        try:
            video = _read_clips(f, info, starts)  # (P, T, H, W)
        except OSError as err:
            raise VideoMNISTError(f"hdf5_path: cannot read {split} clips of {str(path)!r}: {err}") from None
    _check_labels(info, labels)
    _check_motions(info, motions)
    back = np.argsort(np.argsort(order))  # position of each drawn index within sorted_idx
    labels = labels.reshape(len(order), -1)  # (P, K)
    return SamplePool(
        video=video[back],
        label=labels[back],
        motion=None if motions is None else motions[back],
        motion_names=info.motion_names if info.has_motion else (),
        index=order.astype(np.int64),
        fps=info.fps or 10.0,
    )


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
        info = _info_from_file(f, Path(path), split)
        acc = StatsAccumulator(info.motion_names if info.has_motion else (), margin=info.margin,
                               n_classes=info.n_classes)
        for a in range(0, info.num_videos, chunk_clips):
            check_interrupt()  # Ctrl-C stops the statistics of a large file between chunks
            b = min(a + chunk_clips, info.num_videos)
            try:
                video, labels, motions = _read_block(f, info, a, b)
            except OSError as err:
                raise VideoMNISTError(f"hdf5_path: cannot read {split} clips {a}..{b - 1} of {str(path)!r}: {err}") from None
            _check_labels(info, labels)
            _check_motions(info, motions)
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
    info = read_hdf5_info(hdf5_path, split)
    config = None
    if overlays:
        config = stored_config(info.attrs)
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
