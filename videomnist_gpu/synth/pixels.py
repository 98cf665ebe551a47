"""Pixels both ways: uint8 clips (0..255) and VideoGPT's float model input in [-0.5, 0.5].

Convention:
    ``x = u8 / 255 - 0.5`` (float32), and back ``u8 = round((x + 0.5) * 255)`` clamped to
    0..255, which inverts it exactly. `normalize_video` is the only place the forward map is
    written (the stream, the DataModule and the HDF5 reader use it); `to_uint8_clips` is the
    only place of the inverse (pictures, validation scores, samples).

Example:
    >>> import torch
    >>> u8 = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 1, 16, 16)  # (B, C, T, H, W)
    >>> torch.equal(to_uint8_clips(normalize_video(u8)), u8[:, 0])
    True
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["normalize_video", "to_uint8_clips"]


def normalize_video(video: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """VideoGPT's model input from uint8 pixels: ``video / 255 - 0.5`` as float32, on `video`'s device.

    Bitwise the same value on every path (``fl(fl(u8 / 255) - 0.5)``). On a CPU: one numpy pass
    that reads the uint8 pixels and writes ``u8 / 255`` into `out` (the float conversion happens
    in cache-sized pieces inside it), then one in-place pass (single-threaded numpy: torch's
    three element-wise passes on two threads measured 2.5x slower on a loaded 2-core machine,
    see docs/benchmarks.md). On other devices: one fused kernel (`torch.addcdiv`), which is how
    `VideoMNISTDataModule` normalizes uint8 batches after they reach the training device.

    Shape:
        video: uint8 (...) in 0..255, or float32 holding such values.
        out: float32, same shape and device (default: a new tensor).
        returns: float32 (...) in [-0.5, 0.5] (`out` when given).
    """
    if video.device.type != "cpu":
        # 0-dim operands filled on the device: addcdiv takes no CPU scalar tensor beside CUDA ones,
        # and a Python-number divisor lets CUDA multiply by a rounded 1/255 (not bitwise u8 / 255)
        minus_half = torch.full((), -0.5, device=video.device)
        full_scale = torch.full((), 255.0, device=video.device)
        return torch.addcdiv(minus_half, video, full_scale, out=out)  # -0.5 + u8 / 255, one kernel
    if out is None:
        out = torch.empty(video.shape, dtype=torch.float32)
    pixels, values = video.numpy(), out.numpy()  # views: `out` is written in place
    np.divide(pixels, np.float32(255), out=values, dtype=np.float32)  # reads uint8, writes float32 once
    np.subtract(values, np.float32(0.5), out=values)
    return out


def to_uint8_clips(videos: torch.Tensor) -> torch.Tensor:
    """Model batches back to clips, on their device: float `(B, C, T, H, W)` in [-0.5, 0.5] ->
    uint8 `(B, T, H, W)`.

    `round((x + 0.5) * 255)` clamped to 0..255 (NaN -> 0) inverts `u8 / 255 - 0.5` exactly;
    channels become gray by their mean (each channel, for replicated grey). No checks: for
    arbitrary input use `viz.visualize.to_uint8_video`, which validates the layout.

    Shape:
        videos: float (B, C, T, H, W) (any float dtype, any C, any device).
        returns: uint8 (B, T, H, W) on `videos`' device.
    """
    gray = torch.nan_to_num(videos.float().mean(dim=1), nan=-0.5)  # (B, T, H, W)
    return ((gray + 0.5) * 255.0).round().clamp(0, 255).to(torch.uint8)  # (B, T, H, W)
