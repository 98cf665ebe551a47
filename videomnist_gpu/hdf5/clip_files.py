"""Clips and their ground truth read from a file of the canonical layout, for viewing and scoring.

`read_hdf5_info` checks one split of a file and reads its shape and attributes; `load_hdf5_samples`
reads a seeded random pool of its clips; `read_clip_block` reads consecutive clips (for streaming
a whole split through statistics). `videomnist_gpu.viz.samples` and `videomnist_gpu.evaluation`
read files through these.

Convention:
    The HDF5 layout is the canonical one (`videomnist_gpu.hdf5.layout`): `{split}_data` uint8
    `(N*T, H, W)` or `(N*T, H, W, 3)` (channel 0 is read), `{split}_idx` int64 `(N,)` start frames,
    `{split}_labels` int64 `(N,)` or `(N, K)`, optional `{split}_motion` int64 `(N,)` indexing
    the `motion_types` attribute. Missing optional attributes read as "unknown"; a missing
    `sequence_length` is taken from the start frames. A file that does not hold this layout is a
    usage error (exit 2); a read that fails half-way is a runtime error (exit 1). Pools are a
    pure function of `seed`: `numpy.random.default_rng(seed)` draws the clip indices, in random
    order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from videomnist_gpu.errors import UsageError, VideoMNISTError, check_int
from videomnist_gpu.hdf5.layout import FRAME_DATASETS, dataset_name, decode_attr, decode_motion_types, stored_config
from videomnist_gpu.hdf5.reader import open_hdf5
from videomnist_gpu.synth.keyed_random import check_split

__all__ = ["SamplePool", "HDF5Info", "MIN_POOL", "read_hdf5_info", "info_from_file", "load_hdf5_samples",
           "read_clip_block", "check_stored_labels", "check_stored_motions"]

MIN_POOL = 200  # smallest pool of clips picked for samples (and statistics of a rendered pool)


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


def info_from_file(f: Any, path: Path, split: str) -> HDF5Info:
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
        return info_from_file(f, Path(path), split)


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


def read_clip_block(f: Any, info: HDF5Info, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
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


def check_stored_motions(info: HDF5Info, motions: np.ndarray | None) -> None:
    if motions is not None and len(motions) and (motions.min() < 0 or motions.max() >= len(info.motion_names)):
        raise UsageError(
            f"hdf5_path: {info.split}_motion holds {motions.min()}..{motions.max()}, "
            f"outside the {len(info.motion_names)} motion_types ({', '.join(info.motion_names)})."
        )


def check_stored_labels(info: HDF5Info, labels: np.ndarray) -> None:
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
    seed = check_int("seed", seed, 0)
    with open_hdf5(path, "hdf5_path") as f:
        info = info_from_file(f, Path(path), split)
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
    check_stored_labels(info, labels)
    check_stored_motions(info, motions)
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
