"""Pictures of ground truth: instance masks in colour, boxes drawn on frames, flow as a colour wheel.

Pure numpy functions from annotations (as `Synthesizer.render(..., annotations=...)` gives them,
any device; they are moved to the CPU) to uint8 RGB frames, ready for `visualize.save_gif` or a
PNG.

    >>> import numpy as np
    >>> mask_to_rgb(np.array([[0, 1], [2, 0]], dtype=np.uint8)).shape
    (2, 2, 3)

Convention:
    Digit k (instance mask value k + 1) is drawn in `DIGIT_COLORS[k]`, background black. Flow is
    shown as optical-flow datasets show it (Middlebury): the hue is the direction (right red,
    down yellow-green, left cyan, up blue-violet), the brightness the length relative to
    `max_norm`; no motion is black.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videomnist_gpu.errors import UsageError
from videomnist_gpu.viz.visualize import (SEPARATOR_VALUE, SEPARATOR_WIDTH, _check_fps, _check_format, _target,
                                          _write_animation)

__all__ = ["DIGIT_COLORS", "mask_to_rgb", "flow_to_rgb", "draw_boxes", "overlay_frames", "save_overlay"]

DIGIT_COLORS = np.array([[230, 25, 75], [60, 180, 75], [0, 130, 200], [255, 225, 25]], dtype=np.uint8)  # (4, 3)


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def mask_to_rgb(mask: Any) -> np.ndarray:
    """An instance mask in colour: 0 black, k + 1 `DIGIT_COLORS[k]`.

    Shape: mask uint8 (..., H, W) in 0..4; returns uint8 (..., H, W, 3).
    """
    palette = np.concatenate([np.zeros((1, 3), np.uint8), DIGIT_COLORS])  # (5, 3)
    return palette[_numpy(mask).astype(np.int64)]


def flow_to_rgb(flow: Any, max_norm: float | None = None) -> np.ndarray:
    """Optical flow as colours: hue the direction, brightness the length over `max_norm`.

    Args:
        flow: (dx, dy) per pixel.
        max_norm: the length shown at full brightness (longer is clipped); default the longest
            vector in `flow` (black everywhere when all is 0).

    Shape: flow float (..., 2, H, W); returns uint8 (..., H, W, 3).
    """
    f = _numpy(flow).astype(np.float64)
    dx, dy = f[..., 0, :, :], f[..., 1, :, :]  # (..., H, W)
    norm = np.hypot(dx, dy)
    top = float(norm.max()) if max_norm is None and norm.size else float(max_norm or 0.0)
    value = np.clip(norm / top, 0, 1) if top > 0 else np.zeros_like(norm)  # (..., H, W)
    hue = (np.arctan2(dy, dx) / (2 * np.pi)) % 1.0 * 6  # (..., H, W) in [0, 6): 0 is right
    # HSV -> RGB with full saturation: each channel a piecewise-linear ramp of the hue
    rgb = np.stack([np.clip(np.abs((hue + shift) % 6 - 3) - 1, 0, 1) for shift in (0, 4, 2)], axis=-1)
    return np.round(rgb * value[..., None] * 255).astype(np.uint8)


def draw_boxes(frames: Any, boxes: Any, colors: Any = None, thickness: int = 1) -> np.ndarray:
    """Frames with the outline of each non-empty box drawn on them.

    Args:
        frames: grey or RGB frames (grey is replicated to RGB).
        boxes: COCO (x, y, w, h) per frame and digit; empty boxes (w == 0) are skipped.
        colors: one RGB colour per digit (default `DIGIT_COLORS`).
        thickness: outline width in pixels, drawn inside the box.

    Shape: frames uint8 (T, H, W) or (T, H, W, 3); boxes (T, K, 4); returns uint8 (T, H, W, 3).
    """
    out = _numpy(frames).astype(np.uint8)
    if out.ndim == 3:
        out = np.repeat(out[..., None], 3, axis=-1)
    else:
        out = out.copy()
    palette = DIGIT_COLORS if colors is None else np.asarray(colors, dtype=np.uint8)
    boxes = _numpy(boxes)
    for t in range(boxes.shape[0]):
        for k in range(boxes.shape[1]):
            x, y, w, h = (int(round(v)) for v in boxes[t, k])
            if w <= 0 or h <= 0:
                continue
            c, d = palette[k % len(palette)], thickness
            out[t, y:y + d, x:x + w] = c
            out[t, y + h - d:y + h, x:x + w] = c
            out[t, y:y + h, x:x + d] = c
            out[t, y:y + h, x + w - d:x + w] = c
    return out


def _labelled_boxes(frames: np.ndarray, boxes: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Upscaled frames with each visible digit's box and ``id:class`` above it (Pillow's font).

    Shape: frames uint8 (T, H, W, 3); boxes (T, K, 4) in unscaled pixels; labels (K,); returns
    uint8 (T, kH, kW, 3).
    """
    from PIL import Image, ImageDraw

    out = []
    for t, frame in enumerate(frames.repeat(k, axis=1).repeat(k, axis=2)):
        image = Image.fromarray(frame)
        draw = ImageDraw.Draw(image)
        for d, (x, y, w, h) in enumerate(boxes[t].tolist()):
            if w <= 0:
                continue
            color = tuple(int(c) for c in DIGIT_COLORS[d % len(DIGIT_COLORS)])
            draw.rectangle([x * k, y * k, (x + w) * k - 1, (y + h) * k - 1], outline=color)
            draw.text((x * k + 1, max(0, y * k - 11)), f"{d + 1}:{int(labels[d])}", fill=color)
        out.append(np.asarray(image))
    return np.stack(out)


def overlay_frames(clips: Any, index: int = 0, scale: int = 4) -> np.ndarray:
    """One clip and its ground truth as colour frames, panels side by side.

    Panels, each when the clips carry what it needs: the video with each digit's box and
    ``track id:class`` (`boxes`), the instance mask in `DIGIT_COLORS` (`instance_mask`), the
    flow to the next frame as colours (`flow`; the last frame has none and stays black). The
    flow's brightness is relative to the clip's longest vector.

    Args:
        clips: `Clips` from `Synthesizer.render(..., annotations=...)`.
        index: which clip of the batch.
        scale: integer upscale of every panel.

    Shape: returns uint8 (T, scale*H, P*scale*W + (P-1)*sep, 3) for P panels.

    Raises:
        UsageError: the clips carry none of boxes, instance_mask and flow.
    """
    video = _numpy(clips.video[index])  # (T, H, W)
    T, H, W = video.shape
    panels = []
    if clips.boxes is not None:
        grey = np.repeat(video[..., None], 3, axis=-1)  # (T, H, W, 3)
        panels.append(_labelled_boxes(grey, _numpy(clips.boxes[index]), _numpy(clips.label[index]), scale))
    if clips.instance_mask is not None:
        panels.append(mask_to_rgb(clips.instance_mask[index]))
    if clips.flow is not None:
        flow = np.zeros((T, H, W, 3), np.uint8)
        flow[:-1] = flow_to_rgb(clips.flow[index])
        panels.append(flow)
    if not panels:
        raise UsageError("annotations: overlays need boxes, instance_mask or flow; render with annotations=...")
    panels = [p if p.shape[1] == scale * H else p.repeat(scale, axis=1).repeat(scale, axis=2) for p in panels]
    sep = np.full((T, scale * H, SEPARATOR_WIDTH, 3), SEPARATOR_VALUE, np.uint8)
    out = [panels[0]]
    for panel in panels[1:]:
        out += [sep, panel]
    return np.concatenate(out, axis=2)


def save_overlay(clips: Any, path: str | os.PathLike, index: int = 0, fmt: str = "gif", fps: float = 10,
                 scale: int = 4) -> Path:
    """Save `overlay_frames` of clip `index` as an animated GIF or an MP4 (written via ``path.partial``).

    Raises:
        UsageError: as `overlay_frames`; `fmt` is not gif or mp4; `fps` is not a positive number;
            `path` is empty or a directory.
    """
    fmt, fps = _check_format(fmt, ("gif", "mp4")), _check_fps(fps)
    frames = overlay_frames(clips, index, scale)
    target = _target(path)
    _write_animation(frames, target, fmt, fps)
    return target
