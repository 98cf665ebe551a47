"""The metrics video-prediction papers report (MSE, MAE, PSNR, SSIM), defined as OpenSTL defines them.

A model sees a clip's first frames and predicts the next ones; `prediction_metrics` scores the
predicted frames against the true ones, per frame index and overall, with the definitions of
OpenSTL (`openstl/core/metrics.py`), the benchmark suite most Moving MNIST papers report on:

    >>> import numpy as np
    >>> from videomnist_gpu.evaluation.prediction_metrics import prediction_metrics
    >>> targets = np.zeros((2, 3, 8, 8), dtype=np.uint8)  # 2 clips, 3 predicted frames
    >>> predictions = targets.astype(np.float32)
    >>> predictions[:, :, 0, 0] = 0.5  # one pixel off by 0.5 in every frame
    >>> result = prediction_metrics(predictions, targets)
    >>> result["mse"], result["mae"], result["per_frame"]["mse"]
    (0.25, 0.5, [0.25, 0.25, 0.25])

Convention:
    Frames are `(N, T, H, W)` or `(N, T, C, H, W)` (OpenSTL's saved `preds.npy`/`trues.npy`):
    N clips, T predicted frames. uint8 frames are divided by 255; float frames are taken as they
    are and must hold intensities in [0, 1] (targets are checked; predictions may overshoot, as a
    model's output does). With `x` the prediction and `y` the target of one frame:

    - **MSE** = sum over the frame's pixels (and channels) of `(x - y)^2`, averaged over clips
      and frames. Not a per-pixel mean: a 64x64 frame's MSE is 4,096 times the mean squared
      pixel error. (OpenSTL: `np.mean((pred - true)**2, axis=(0, 1)).sum()` on (B, T, C, H, W).)
    - **MAE** = the same with `|x - y|`.
    - **PSNR** = `-10 log10(mean over the frame's pixels of (clip(x, 0, 1) - y)^2)` dB per frame,
      averaged over clips and frames; a frame predicted exactly scores `inf` (so does the mean).
    - **SSIM** = scikit-image's `structural_similarity` per frame, averaged over clips and frames,
      on the prediction clipped to [0, 1], both frames as float32, with the arguments that set
      its value pinned: a 7x7 uniform window (`win_size=7`, `gaussian_weights=False`), sample
      covariance, `K1=0.01`, `K2=0.03`, channels averaged, and `data_range=2.0`. OpenSTL passes
      no `data_range`; the scikit-image it requires (<= 0.19.3) then takes the range of a float
      dtype, -1..1, i.e. 2.0, and its published tables were computed so. `ssim_data_range=1.0`
      gives the constants of Wang et al. (2004) for images in [0, 1] (lower values; not
      comparable to those tables).

    Per frame index, each metric is averaged over clips; overall, over clips and frames (the mean
    of the per-frame values).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from videomnist_gpu.errors import UsageError, check_int

__all__ = ["prediction_metrics", "load_frames", "format_prediction_report", "METRICS", "OPENSTL_SSIM_DATA_RANGE"]

METRICS = ("mse", "mae", "psnr", "ssim")
OPENSTL_SSIM_DATA_RANGE = 2.0  # what OpenSTL's structural_similarity call uses (see the module docstring)
_SSIM_WINDOW = 7


def load_frames(source: Any, name: str) -> np.ndarray:
    """Frames as `(N, T, C, H, W)` (a view: a `.npy` file is memory-mapped, not read).

    Args:
        source: a numpy array, a torch tensor, or the path of a `.npy` file; `(N, T, H, W)` or
            `(N, T, C, H, W)`, uint8 or float.
        name: the argument's name for error messages (`predictions`, `targets`).

    Raises:
        UsageError: a missing or unreadable file, another dtype or number of dimensions, or no
            clips (one line naming `name`).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise UsageError(f"{name}: no such file {str(path)!r}")
        try:
            frames = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise UsageError(f"{name}: cannot read {str(path)!r} as a .npy array: {err}") from None
    elif hasattr(source, "detach"):  # a torch tensor
        frames = source.detach().cpu().numpy()
    else:
        frames = np.asarray(source)
    if frames.dtype != np.uint8 and not np.issubdtype(frames.dtype, np.floating):
        raise UsageError(f"{name}: expected uint8 or float frames, got {frames.dtype}")
    if frames.ndim not in (4, 5) or 0 in frames.shape:
        raise UsageError(f"{name}: expected frames (N, T, H, W) or (N, T, C, H, W), none empty, "
                         f"got shape {list(frames.shape)}")
    return frames[:, :, None] if frames.ndim == 4 else frames  # (N, T, C, H, W)


def _in_unit_range(block: np.ndarray, name: str, check_range: bool) -> np.ndarray:
    """A block of frames as float32 intensities in [0, 1]: uint8 / 255, floats as they are."""
    if block.dtype == np.uint8:
        return block.astype(np.float32) / np.float32(255)
    block = np.asarray(block, dtype=np.float32)
    if not np.isfinite(block).all():
        raise UsageError(f"{name}: holds NaN or infinite values")
    if check_range and (block.min() < 0 or block.max() > 1):
        raise UsageError(f"{name}: float frames must hold intensities in [0, 1], found "
                         f"{block.min():.3g}..{block.max():.3g} (uint8 frames are divided by 255; "
                         f"model batches of this package are u8 / 255 - 0.5: add 0.5)")
    return block


def _ssim(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    """SSIM of one frame, (C, H, W) float32, with every argument that sets its value pinned."""
    from skimage.metrics import structural_similarity

    pinned = dict(win_size=_SSIM_WINDOW, gaussian_weights=False, use_sample_covariance=True, K1=0.01, K2=0.03,
                  data_range=data_range)
    if x.shape[0] == 1:
        return float(structural_similarity(x[0], y[0], **pinned))
    return float(structural_similarity(x, y, channel_axis=0, **pinned))


def prediction_metrics(predictions: Any, targets: Any, *, ssim_data_range: float = OPENSTL_SSIM_DATA_RANGE,
                       block_clips: int = 256) -> dict[str, Any]:
    """MSE, MAE, PSNR and SSIM of predicted frames, per frame index and overall (module docstring).

    Args:
        predictions: the model's frames: an array, tensor or `.npy` path, `(N, T, H, W)` or
            `(N, T, C, H, W)`, uint8 or float in [0, 1] (float overshoot is allowed).
        targets: the true frames, same shape, uint8 or float in [0, 1].
        ssim_data_range: SSIM's `data_range`; 2.0 reproduces OpenSTL's published numbers.
        block_clips: clips converted at once (memory: a block of float32 frames, a few copies).

    Returns:
        ``{"mse", "mae", "psnr", "ssim"}``: overall values (floats); ``"per_frame"``: each
        metric's list of T values (index 0: the first predicted frame); ``"clips"``,
        ``"frames"``, ``"channels"``, ``"height"``, ``"width"``, ``"ssim_data_range"``.

    Raises:
        UsageError: unreadable frames, another dtype, shapes that differ, frames smaller than
            SSIM's 7x7 window, float targets outside [0, 1], or NaN/inf values.
    """
    pred = load_frames(predictions, "predictions")  # (N, T, C, H, W)
    true = load_frames(targets, "targets")  # (N, T, C, H, W)
    if pred.shape != true.shape:
        raise UsageError(f"targets: shape {list(true.shape)} does not match the predictions' {list(pred.shape)} "
                         f"(both (N, T, C, H, W) after a missing C is taken as 1)")
    n, t, c, h, w = pred.shape
    if min(h, w) < _SSIM_WINDOW:
        raise UsageError(f"predictions: frames of {h}x{w} px are smaller than SSIM's "
                         f"{_SSIM_WINDOW}x{_SSIM_WINDOW} window")
    if not ssim_data_range > 0:
        raise UsageError(f"ssim_data_range: must be > 0, got {ssim_data_range!r}")
    block_clips = check_int("block_clips", block_clips, 1)
    sums = {name: np.zeros(t, dtype=np.float64) for name in METRICS}  # (T,) each
    for start in range(0, n, block_clips):
        stop = min(n, start + block_clips)
        x = _in_unit_range(pred[start:stop], "predictions", check_range=False)  # (B, T, C, H, W)
        y = _in_unit_range(true[start:stop], "targets", check_range=True)  # (B, T, C, H, W)
        err = x.astype(np.float64) - y  # (B, T, C, H, W)
        sums["mse"] += (err**2).sum(axis=(2, 3, 4)).sum(axis=0)
        sums["mae"] += np.abs(err).sum(axis=(2, 3, 4)).sum(axis=0)
        x = np.clip(x, 0, 1)  # PSNR and SSIM score the prediction clipped to [0, 1]
        pixel_mse = ((x.astype(np.float64) - y) ** 2).mean(axis=(2, 3, 4))  # (B, T)
        with np.errstate(divide="ignore"):
            sums["psnr"] += (-10 * np.log10(pixel_mse)).sum(axis=0)  # inf where a frame is exact
        for b in range(stop - start):
            for f in range(t):
                sums["ssim"][f] += _ssim(x[b, f], y[b, f], ssim_data_range)
    per_frame = {name: (total / n).tolist() for name, total in sums.items()}
    result: dict[str, Any] = {name: float(np.mean(values)) for name, values in per_frame.items()}
    result.update(per_frame=per_frame, clips=n, frames=t, channels=c, height=h, width=w,
                  ssim_data_range=float(ssim_data_range))
    return result


def format_prediction_report(result: dict[str, Any]) -> str:
    """The result of `prediction_metrics` as a table: one row per predicted frame, then all frames."""
    size = f"{result['height']}x{result['width']}" + ("" if result["channels"] == 1 else f"x{result['channels']}")
    lines = [f"{result['clips']} clips x {result['frames']} predicted frames of {size} (MSE, MAE: summed over a "
             f"frame's pixels; SSIM data_range {result['ssim_data_range']:g})",
             f"{'frame':>6} {'MSE':>10} {'MAE':>10} {'PSNR':>8} {'SSIM':>8}"]
    rows = [(str(i + 1), *(result["per_frame"][name][i] for name in METRICS)) for i in range(result["frames"])]
    rows.append(("all", *(result[name] for name in METRICS)))
    for label, mse, mae, psnr, ssim in rows:
        psnr_text = "inf" if math.isinf(psnr) else f"{psnr:.3f}"
        lines.append(f"{label:>6} {mse:>10.3f} {mae:>10.3f} {psnr_text:>8} {ssim:>8.4f}")
    return "\n".join(lines)
