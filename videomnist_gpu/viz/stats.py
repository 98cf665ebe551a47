"""Dataset statistics for `dataset_stats.txt`, computed incrementally over batches of clips.

A big HDF5 file is streamed through `StatsAccumulator.update` in chunks, so it never has to fit in
memory; `dataset_stats` is the one-call form for arrays or an iterable of batches, and
`format_stats` turns the result into the text that `videomnist visualize` writes.

Convention:
    A frame *violates the margin* when any non-zero pixel lies in the outer band of `margin`
    pixels: row or column index `< margin` or `>= size - margin`. With the default `margin=5` the
    outer 5 rows and columns on every side must be black (`VideoMNISTConfig.margin`: no ink there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from videomnist_gpu.errors import UsageError, check_int

__all__ = ["StatsAccumulator", "dataset_stats", "format_stats"]


def _as_tensor(x: Any, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach()
    try:
        return torch.from_numpy(np.ascontiguousarray(x))
    except TypeError as err:
        raise UsageError(f"{name} must be a torch tensor or numpy array, got {type(x).__name__}.") from err


class StatsAccumulator:
    """Accumulates dataset statistics over batches of uint8 clips.

    Args:
        motion_names: names of the motion indices, e.g. `("bounce", "circular", "linear")`.
            Empty when the clips carry no motion ground truth.
        margin: border width in pixels that must stay black (see the module's Convention).
        n_classes: number of digit classes; every class is counted, also with zero clips.

    Shape:
        - update `video`: `(B, T, H, W)` uint8, on any device (reduced there, small sums moved once).
        - update `labels`: `(B,)` or `(B, K)` int, K digits per clip; each digit is counted.
        - update `motions`: `(B,)` int index into `motion_names`, or None.

    Example:
        >>> acc = StatsAccumulator(("bounce",), margin=1, n_classes=2)
        >>> video = torch.zeros(1, 2, 4, 4, dtype=torch.uint8); video[0, 0, 1, 1] = 255
        >>> acc.update(video, torch.tensor([1]), torch.tensor([0]))
        >>> r = acc.result(); r["class_counts"], r["nonzero_pixels_per_frame"]["max"]
        ({0: 0, 1: 1}, 1)
    """

    def __init__(self, motion_names: Sequence[str] = (), margin: int = 5, n_classes: int = 10):
        margin, n_classes = check_int("margin", margin, 0), check_int("n_classes", n_classes, 1)
        self.motion_names = tuple(str(m) for m in motion_names)
        self.margin = margin
        self.n_classes = n_classes
        self._shape: tuple[int, int, int] | None = None  # (T, H, W)
        self._digits_per_clip: int | None = None
        self._videos = 0
        self._class_counts = np.zeros(n_classes, dtype=np.int64)
        self._motion_counts = np.zeros(len(self.motion_names), dtype=np.int64)
        self._clips_without_motion = 0
        self._nz_min: int | None = None
        self._nz_max: int | None = None
        self._nz_sum = 0
        self._violating_frames = 0
        self._violating_videos = 0
        self._empty_frames = 0
        self._value_min: int | None = None
        self._value_max: int | None = None

    def update(self, video: Any, labels: Any, motions: Any = None) -> None:
        """Adds one batch of clips (see the class's Shape block)."""
        video = _as_tensor(video, "video")
        if video.dtype != torch.uint8 or video.ndim != 4:
            raise UsageError(
                f"video must be uint8 (B, T, H, W), got {str(video.dtype).replace('torch.', '')} "
                f"{tuple(video.shape)}."
            )
        b, t, h, w = video.shape
        if self._shape is not None and (t, h, w) != self._shape:
            raise UsageError(f"video frames {(t, h, w)} differ from earlier batches' {self._shape}.")
        labels = _as_tensor(labels, "labels")
        if labels.ndim == 1:
            labels = labels[:, None]  # (B, 1)
        if labels.ndim != 2 or labels.shape[0] != b or labels.is_floating_point():
            raise UsageError(f"labels must be int (B,) or (B, K) with B={b}, got {tuple(labels.shape)}.")
        if self._digits_per_clip is not None and labels.shape[1] != self._digits_per_clip:
            raise UsageError(f"labels have K={labels.shape[1]} digits per clip, earlier batches {self._digits_per_clip}.")
        if motions is not None:
            motions = _as_tensor(motions, "motions").reshape(-1)
            if motions.shape[0] != b or motions.is_floating_point():
                raise UsageError(f"motions must be int (B,) with B={b}, got {tuple(motions.shape)}.")
        if b == 0:
            return

        # Reductions run on the clips' device; only these small results travel to the host.
        m = self.margin
        ink = video != 0  # (B, T, H, W)
        nonzero = ink.sum(dim=(-2, -1))  # (B, T)
        if m == 0:
            violates = torch.zeros(b, t, dtype=torch.bool, device=video.device)
        elif 2 * m >= h or 2 * m >= w:
            violates = nonzero > 0  # (B, T): the band covers the whole frame
        else:
            inner = ink[..., m : h - m, m : w - m].sum(dim=(-2, -1))  # (B, T)
            violates = nonzero > inner  # (B, T): some ink lies in the border band
        host = {
            "nz_min": nonzero.min(),
            "nz_max": nonzero.max(),
            "nz_sum": nonzero.sum(),
            "viol_frames": violates.sum(),
            "viol_videos": violates.any(dim=1).sum(),
            "empty": (nonzero == 0).sum(),
            "vmin": video.min(),
            "vmax": video.max(),
        }
        host = {k: int(v) for k, v in zip(host, torch.stack([v.to(torch.int64) for v in host.values()]).cpu().tolist())}
        labels_np = labels.cpu().numpy().astype(np.int64)  # (B, K)
        if labels_np.min() < 0 or labels_np.max() >= self.n_classes:
            raise UsageError(f"labels must lie in 0..{self.n_classes - 1}, got {labels_np.min()}..{labels_np.max()}.")
        if motions is not None:
            motions_np = motions.cpu().numpy().astype(np.int64)  # (B,)
            n = len(self.motion_names)
            if n == 0 or motions_np.min() < 0 or motions_np.max() >= n:
                raise UsageError(
                    f"motions must index motion_names ({', '.join(self.motion_names) or 'none given'}), "
                    f"got {motions_np.min()}..{motions_np.max()}."
                )

        self._shape = (t, h, w)
        self._digits_per_clip = labels_np.shape[1]
        self._videos += b
        self._class_counts += np.bincount(labels_np.reshape(-1), minlength=self.n_classes)
        if motions is None:
            self._clips_without_motion += b
        else:
            self._motion_counts += np.bincount(motions_np, minlength=len(self.motion_names))
        self._nz_min = host["nz_min"] if self._nz_min is None else min(self._nz_min, host["nz_min"])
        self._nz_max = host["nz_max"] if self._nz_max is None else max(self._nz_max, host["nz_max"])
        self._nz_sum += host["nz_sum"]
        self._violating_frames += host["viol_frames"]
        self._violating_videos += host["viol_videos"]
        self._empty_frames += host["empty"]
        self._value_min = host["vmin"] if self._value_min is None else min(self._value_min, host["vmin"])
        self._value_max = host["vmax"] if self._value_max is None else max(self._value_max, host["vmax"])

    def result(self, **info: Any) -> dict[str, Any]:
        """The statistics so far as a plain, JSON-friendly dict.

        Args:
            **info: passed-through facts the clips cannot tell, e.g. `fps=10`,
                `digit_source="mnist"`, `digit_fingerprint="ab12..."`, `split="train"`.
                `None` values are kept (shown as "unknown").
        """
        t, h, w = self._shape if self._shape is not None else (None, None, None)
        frames = self._videos * t if t is not None else 0
        return {
            "num_videos": self._videos,
            "num_frames": frames,
            "sequence_length": t,
            "resolution": [h, w] if h is not None else None,  # [H, W]
            "digits_per_clip": self._digits_per_clip,
            "class_counts": {c: int(n) for c, n in enumerate(self._class_counts)},
            "motion_counts": {name: int(n) for name, n in zip(self.motion_names, self._motion_counts)},
            "clips_without_motion": self._clips_without_motion,
            "nonzero_pixels_per_frame": {
                "min": self._nz_min,
                "mean": self._nz_sum / frames if frames else None,
                "max": self._nz_max,
            },
            "margin": self.margin,
            "margin_violation_frames": self._violating_frames,
            "margin_violation_videos": self._violating_videos,
            "empty_frames": self._empty_frames,
            "value_min": self._value_min,
            "value_max": self._value_max,
            **info,
        }


def dataset_stats(
    videos: Any,
    labels: Any = None,
    motions: Any = None,
    *,
    motion_names: Sequence[str] = (),
    margin: int = 5,
    n_classes: int = 10,
    **info: Any,
) -> dict[str, Any]:
    """Statistics of a whole set of clips, given as arrays or as an iterable of batches.

    Args:
        videos: either one `(N, T, H, W)` uint8 array/tensor (then `labels` is required and
            `motions` optional), or an iterable of `(video, labels, motions)` batches (then
            `labels` and `motions` must be None; a batch's `motions` may be None).
        labels, motions, motion_names, margin, n_classes: see `StatsAccumulator`.
        **info: passed through into the result, e.g. `fps`, `digit_source`, `digit_fingerprint`.

    Returns:
        The dict of `StatsAccumulator.result`; keys include `class_counts`, `motion_counts`,
        `nonzero_pixels_per_frame` (min/mean/max), `margin_violation_frames`, `value_min/max`.

    Shape:
        - videos: `(N, T, H, W)` uint8, or batches of `(B, T, H, W)` uint8.
        - labels: `(N,)` or `(N, K)` int. motions: `(N,)` int.
    """
    acc = StatsAccumulator(motion_names, margin=margin, n_classes=n_classes)
    if isinstance(videos, (torch.Tensor, np.ndarray)):
        if labels is None:
            raise UsageError("labels is required when videos is one array.")
        acc.update(videos, labels, motions)
    else:
        if labels is not None or motions is not None:
            raise UsageError("Give labels and motions inside each (video, labels, motions) batch, not separately.")
        for batch in videos:
            if not isinstance(batch, (tuple, list)) or len(batch) != 3:
                raise UsageError("Each batch must be a (video, labels, motions) tuple.")
            acc.update(*batch)
    return acc.result(**info)


def _fmt(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def format_stats(stats: Mapping[str, Any]) -> str:
    """Renders a `dataset_stats` / `StatsAccumulator.result` dict as the text of `dataset_stats.txt`.

    Known keys come first in a fixed order; any other keys (e.g. `split`, `seed`, `hdf5_path`)
    follow as `key: value` lines. Ends with a newline.
    """
    s = dict(stats)
    lines = ["VideoMNIST dataset statistics", "=============================="]

    def pop(key: str) -> Any:
        return s.pop(key, None)

    res = pop("resolution")
    n_videos, n_frames = pop("num_videos"), pop("num_frames")
    lines += [
        f"videos: {_fmt(n_videos)}",
        f"frames: {_fmt(n_frames)}",
        f"sequence length: {_fmt(pop('sequence_length'))} frames",
        f"resolution: {f'{res[0]}x{res[1]} (H x W)' if res else 'unknown'}",
        f"fps: {_fmt(pop('fps'))}",
        f"digits per clip: {_fmt(pop('digits_per_clip'))}",
        f"digit source: {_fmt(pop('digit_source'))}",
        f"digit fingerprint (sha256): {_fmt(pop('digit_fingerprint'))}",
        "",
        "clips per class (each digit of a clip counts):",
    ]
    for c, n in (pop("class_counts") or {}).items():
        lines.append(f"  {c}: {n}")
    lines.append("clips per motion:")
    for name, n in (pop("motion_counts") or {}).items():
        lines.append(f"  {name}: {n}")
    without = pop("clips_without_motion")
    if without:
        lines.append(f"  (no motion recorded): {without}")
    nz = pop("nonzero_pixels_per_frame") or {}
    margin = pop("margin")
    lines += [
        "",
        f"non-zero pixels per frame: min {_fmt(nz.get('min'))}, mean {_fmt(nz.get('mean'))}, max {_fmt(nz.get('max'))}",
        f"empty frames (no ink): {_fmt(pop('empty_frames'))}",
        f"frames with ink within {_fmt(margin)} px of the border: {_fmt(pop('margin_violation_frames'))} "
        f"of {_fmt(n_frames)} (in {_fmt(pop('margin_violation_videos'))} videos)",
        f"value range: {_fmt(pop('value_min'))}..{_fmt(pop('value_max'))}",
    ]
    if s:
        lines.append("")
        lines += [f"{k}: {_fmt(v)}" for k, v in s.items()]
    return "\n".join(lines) + "\n"
