"""Look at clips: animated GIF and MP4, PNG frame grids, a labelled montage, class comparisons.

Every function takes clips in any of the package's layouts (see `to_uint8_video`) on any device,
moves them to the CPU once, and writes files atomically: `PATH.partial` first, renamed to `PATH`
on success, removed on failure. `write_samples` is the one call behind `videomnist visualize` and
`videomnist generate --create_samples`.

Convention:
    Small frames are upscaled by an integer factor with nearest-neighbour (pixels stay sharp).
    `scale=None` picks it: the largest factor that makes a clip's longer side at most 256 px
    (64 px -> x4 = 256 px), reduced if needed so a whole grid stays at most 1024 px on its longer
    side, and never below 1. Separators between tiles are `SEPARATOR_WIDTH` px of gray
    (`SEPARATOR_VALUE`), drawn after upscaling.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videomnist_gpu.atomic_file import atomic_file, check_output_dir, check_output_file
from videomnist_gpu.errors import UsageError
from videomnist_gpu.interrupt import check_interrupt, hold_for_test
from videomnist_gpu.viz.stats import format_stats

__all__ = [
    "to_uint8_clips",
    "to_uint8_video",
    "save_gif",
    "save_mp4",
    "save_grid_png",
    "save_video_grid",
    "save_videos",
    "save_montage",
    "save_class_comparison",
    "write_samples",
    "sample_filename",
]

SEPARATOR_WIDTH = 2  # px, after upscaling
SEPARATOR_VALUE = 128  # gray level of separators between tiles
CLIP_TARGET_PX = 256  # auto scale: a clip's longer side
GRID_TARGET_PX = 1024  # auto scale: a grid's longer side
HEADER_PX = 14  # height of the label strip above each clip in class comparisons
MP4_CRF = 18  # libx264 quality (0 lossless .. 51); 18 is visually lossless
VIDEO_FORMATS = ("gif", "mp4")
ALL_FORMATS = ("gif", "mp4", "png")


# --------------------------------------------------------------------------- conversion


def to_uint8_clips(videos: torch.Tensor) -> torch.Tensor:
    """Model batches back to clips, on their device: float `(B, C, T, H, W)` in [-0.5, 0.5] ->
    uint8 `(B, T, H, W)`.

    `round((x + 0.5) * 255)` clamped to 0..255 (NaN -> 0) inverts `u8 / 255 - 0.5` exactly;
    channels become gray by their mean (each channel, for replicated grey). No checks: for
    arbitrary input use `to_uint8_video`, which validates the layout.

    Shape:
        videos: float (B, C, T, H, W) (any float dtype, any C, any device).
        returns: uint8 (B, T, H, W) on `videos`' device.
    """
    gray = torch.nan_to_num(videos.float().mean(dim=1), nan=-0.5)  # (B, T, H, W)
    return ((gray + 0.5) * 255.0).round().clamp(0, 255).to(torch.uint8)  # (B, T, H, W)


def to_uint8_video(x: Any) -> np.ndarray:
    """Any clip layout of the package as a CPU uint8 batch of grayscale clips.

    Accepts clips `(T, H, W)` or `(B, T, H, W)` uint8 (0..255), or model batches float
    `(B, C, T, H, W)` in [-0.5, 0.5] with C = 1 or 3 (torch tensors on any device, or numpy).
    Floats map back with `round((x + 0.5) * 255)`, clamped to 0..255 (NaN -> 0), which inverts
    `u8 / 255 - 0.5` exactly. Three channels become gray by their **mean** (for the package's
    replicated 3-channel batches that equals each channel). The work runs on the input's device;
    the result moves to the CPU once, as uint8.

    Shape:
        - x: `(T, H, W)` or `(B, T, H, W)` uint8, or `(B, C, T, H, W)` float, C in {1, 3}.
        - output: `(B, T, H, W)` uint8 numpy array, C-contiguous (`B = 1` for a single clip).

    Raises:
        UsageError: `x` is neither a torch tensor nor a numpy array, its dtype is neither uint8
            nor float, a uint8 input is not 3-D or 4-D, or a float input is not 5-D with C in
            {1, 3}. (Other integer dtypes are refused too.)

    Example:
        >>> to_uint8_video(torch.zeros(2, 1, 3, 4, 4) + 0.5).shape
        (2, 3, 4, 4)
    """
    if isinstance(x, torch.Tensor):
        t = x.detach()
    elif isinstance(x, np.ndarray):
        if x.dtype.kind not in "uif":
            raise UsageError(f"video dtype must be uint8 or float, got {x.dtype}.")
        t = torch.from_numpy(np.ascontiguousarray(x))
    else:
        raise UsageError(f"video must be a torch tensor or numpy array, got {type(x).__name__}.")
    shape = tuple(t.shape)
    if t.dtype == torch.uint8:
        if t.ndim == 3:
            t = t[None]  # (1, T, H, W)
        elif t.ndim != 4:
            raise UsageError(f"uint8 video must be (T, H, W) or (B, T, H, W), got shape {shape}.")
    elif t.is_floating_point():
        if t.ndim != 5 or shape[1] not in (1, 3):
            raise UsageError(f"float video must be (B, C, T, H, W) with C = 1 or 3, got shape {shape}.")
        t = to_uint8_clips(t)  # (B, T, H, W)
    else:
        raise UsageError(f"video dtype must be uint8 or float, got {str(t.dtype).replace('torch.', '')}.")
    return np.ascontiguousarray(t.cpu().numpy())


def _clip(video: Any) -> np.ndarray:
    """One clip `(T, H, W)` uint8 from any single-clip layout (a batch must hold exactly one)."""
    v = to_uint8_video(video)  # (B, T, H, W)
    if v.shape[0] != 1:
        raise UsageError(f"Expected one clip, got a batch of {v.shape[0]}; use save_video_grid for batches.")
    _check_nonempty(v)
    return v[0]  # (T, H, W)


def _check_nonempty(v: np.ndarray) -> None:
    if v.shape[0] == 0 or 0 in v.shape[1:]:
        raise UsageError(f"video is empty: shape {tuple(v.shape)}.")


# --------------------------------------------------------------------------- arguments, paths


def _check_fps(fps: Any) -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise UsageError(f"fps must be a positive number, got {fps!r}.")
    return float(fps)


def _check_scale(scale: Any) -> int | None:
    if scale is None:
        return None
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise UsageError(f"scale must be an integer >= 1 or None (auto), got {scale!r}.")
    return int(scale)


def _auto_scale(h: int, w: int, nrow: int = 1, ncol: int = 1) -> int:
    """Largest k with k * max(h, w) <= 256 and k * grid side <= 1024, at least 1."""
    k = min(CLIP_TARGET_PX // max(h, w), GRID_TARGET_PX // max(nrow * h, ncol * w))
    return max(1, k)


def _check_format(fmt: Any, valid: Sequence[str]) -> str:
    f = str(fmt).lower().lstrip(".")
    if f not in valid:
        raise UsageError(f"Unknown format {fmt!r}. Valid: {', '.join(valid)}.")
    return f


def _target(path: Any) -> Path:
    """Checks an output file path (`check_output_file`, flag ``path``); an existing file is replaced."""
    return check_output_file(path, "path", overwrite=True)


# --------------------------------------------------------------------------- pixels


def _upscale(frames: np.ndarray, k: int) -> np.ndarray:
    """Nearest-neighbour integer upscale of the last two axes: `(..., H, W)` -> `(..., k*H, k*W)`."""
    if k == 1:
        return frames
    return frames.repeat(k, axis=-2).repeat(k, axis=-1)


def _tile(clips: np.ndarray, ncol: int, k: int, sep: int = SEPARATOR_WIDTH) -> np.ndarray:
    """Tiles clips into a grid of `ceil(N / ncol)` rows x `ncol` columns, separators between.

    Shape:
        - clips: `(N, T, H, W)` uint8. Output: `(T, nrow*k*H + (nrow-1)*sep, ncol*k*W + (ncol-1)*sep)`.
        Cells past the last clip stay black.
    """
    n, t, h, w = clips.shape
    nrow = -(-n // ncol)
    th, tw = k * h, k * w
    canvas = np.full((t, nrow * th + (nrow - 1) * sep, ncol * tw + (ncol - 1) * sep), SEPARATOR_VALUE, np.uint8)
    for i in range(nrow * ncol):
        r, c = divmod(i, ncol)
        y, x = r * (th + sep), c * (tw + sep)
        canvas[:, y : y + th, x : x + tw] = _upscale(clips[i], k) if i < n else 0  # (T, kH, kW)
    return canvas


# --------------------------------------------------------------------------- encoders


def _gif_frame_ms(fps: float) -> int:
    """GIF delays are stored in 1/100 s: the nearest multiple of 10 ms, at least 20 ms."""
    return max(20, int(round(100.0 / fps)) * 10)


def _write_gif(frames: np.ndarray, path: Path, fps: float) -> None:
    """Writes `(T, H, W)` uint8 as a looping grayscale GIF (lossless: 256 gray levels fit a palette)."""
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]  # mode "L"
    with atomic_file(path, "path", overwrite=True) as tmp:
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=_gif_frame_ms(fps),
            loop=0,
        )


def _write_mp4(frames: np.ndarray, path: Path, fps: float, crf: int = MP4_CRF) -> None:
    """Writes `(T, H, W)` uint8 as H.264 / yuv420p MP4, padding odd sizes with a black row/column."""
    import av

    t, h, w = frames.shape
    eh, ew = h + h % 2, w + w % 2
    if (eh, ew) != (h, w):
        padded = np.zeros((t, eh, ew), np.uint8)
        padded[:, :h, :w] = frames
        frames = padded  # (T, even H, even W)
    rate = Fraction(fps).limit_denominator(1001)
    with atomic_file(path, "path", overwrite=True) as tmp:
        with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=rate, options={"crf": str(crf)})
            stream.width, stream.height, stream.pix_fmt = ew, eh, "yuv420p"
            for i, f in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="gray")
                frame.pts = i
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))  # flush delayed frames


def _write_png(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    with atomic_file(path, "path", overwrite=True) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def _write_animation(frames: np.ndarray, path: Path, fmt: str, fps: float) -> None:
    if fmt == "gif":
        _write_gif(frames, path, fps)
    else:
        _write_mp4(frames, path, fps)


# --------------------------------------------------------------------------- public savers


def save_gif(video: Any, path: str | os.PathLike, fps: float = 10, scale: int | None = None) -> Path:
    """Saves one clip as an animated grayscale GIF that loops forever.

    Each frame lasts `1000 / fps` ms, rounded to GIF's 10 ms steps and at least 20 ms (browsers
    play shorter delays at 100 ms), so fps above 50 plays at 50. Pixels are exact (no dithering);
    Pillow stores consecutive identical frames once with their durations summed.

    Args:
        video: one clip in any layout `to_uint8_video` accepts (a batch must hold one clip).
        path: output file; its directory is created. Written via `path.partial`.
        fps: frames per second.
        scale: integer nearest-neighbour upscale; None = auto (64 px -> 256 px).

    Returns:
        The written path.

    Shape:
        - video: `(T, H, W)` uint8, `(1, T, H, W)` uint8 or `(1, C, T, H, W)` float.
        - file: T frames of `(scale*H, scale*W)`.

    Raises:
        UsageError: `video` is not a layout `to_uint8_video` accepts, is empty, or holds more
            than one clip; `fps` is not a positive finite number; `scale` is not an integer >= 1
            or None; `path` is empty, a directory, or its directory cannot be created (a
            file in the way, permission denied). An existing file at `path` is replaced.
    """
    fps, scale = _check_fps(fps), _check_scale(scale)
    clip = _clip(video)  # (T, H, W)
    p = _target(path)
    k = scale or _auto_scale(*clip.shape[1:])
    _write_gif(_upscale(clip, k), p, fps)
    return p


def save_mp4(video: Any, path: str | os.PathLike, fps: float = 10, scale: int | None = None, crf: int = MP4_CRF) -> Path:
    """Saves one clip as an H.264 MP4 (yuv420p, faststart) that plays in browsers.

    The clip is upscaled by an integer factor (nearest-neighbour) and, if a side is then odd,
    padded with one black row/column to the even size yuv420p needs. H.264 is lossy: decoded
    gray levels differ from the source by a few levels at digit edges (`crf` trades size for it).

    Args:
        video: one clip in any layout `to_uint8_video` accepts (a batch must hold one clip).
        path: output file; its directory is created. Written via `path.partial`.
        fps: frames per second (stored exactly for integers, as a fraction otherwise).
        scale: integer nearest-neighbour upscale; None = auto (64 px -> 256 px).
        crf: libx264 constant rate factor, 0 (lossless) .. 51; default 18.

    Returns:
        The written path.

    Shape:
        - video: `(T, H, W)` uint8, `(1, T, H, W)` uint8 or `(1, C, T, H, W)` float.
        - file: T frames of `(scale*H, scale*W)` rounded up to even.

    Raises:
        UsageError: `video` is not a layout `to_uint8_video` accepts, is empty, or holds more
            than one clip; `fps` is not a positive finite number; `scale` is not an integer >= 1
            or None; `crf` is not an integer in 0..51; `path` is empty, a directory, or its
            directory cannot be created (a file in the way, permission denied). An existing
            file at `path` is replaced.
    """
    fps, scale = _check_fps(fps), _check_scale(scale)
    if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51:
        raise UsageError(f"crf must be an integer in 0..51, got {crf!r}.")
    clip = _clip(video)  # (T, H, W)
    p = _target(path)
    k = scale or _auto_scale(*clip.shape[1:])
    _write_mp4(_upscale(clip, k), p, fps, crf)
    return p


def _pick_frames(t: int, frames: str | Sequence[int]) -> list[int]:
    if isinstance(frames, str):
        if frames == "all":
            return list(range(t))
        if frames == "first_last":
            return [0, t - 1] if t > 1 else [0]
        raise UsageError(f"Unknown frames {frames!r}. Valid: all, first_last, or a list of frame indices.")
    idx = [int(i) for i in frames]
    if not idx or any(not -t <= i < t for i in idx):
        raise UsageError(f"frames must be non-empty indices in {-t}..{t - 1}, got {list(frames)!r}.")
    return [i % t for i in idx]


def save_grid_png(
    videos: Any,
    path: str | os.PathLike,
    frames: str | Sequence[int] = "all",
    scale: int | None = None,
) -> Path:
    """Saves a still PNG grid: one row per clip, one column per chosen frame.

    Args:
        videos: clips in any layout `to_uint8_video` accepts.
        path: output file; its directory is created. Written via `path.partial`.
        frames: `"all"`, `"first_last"`, or a list of frame indices (negative counts from the end).
        scale: integer nearest-neighbour upscale per tile; None = auto (see module Convention).

    Returns:
        The written path.

    Shape:
        - videos: `(B, T, H, W)` uint8 or `(B, C, T, H, W)` float.
        - image: `(B*k*H + (B-1)*2, F*k*W + (F-1)*2)` gray, F chosen frames, k the scale,
          2 px gray separators.

    Raises:
        UsageError: `videos` is not a layout `to_uint8_video` accepts or is empty; `frames` is
            an unknown name, empty, or holds an index outside ``-T .. T-1``; `scale` is not an
            integer >= 1 or None; `path` is empty, a directory, or its directory cannot be
            created. An existing file at `path` is replaced.
    """
    scale = _check_scale(scale)
    v = to_uint8_video(videos)  # (B, T, H, W)
    _check_nonempty(v)
    b, t, h, w = v.shape
    idx = _pick_frames(t, frames)
    p = _target(path)
    k = scale or _auto_scale(h, w, b, len(idx))
    tiles = v[:, idx].reshape(b * len(idx), 1, h, w)  # (B*F, 1, H, W): one "clip" of one frame per cell
    _write_png(_tile(tiles, len(idx), k)[0], p)
    return p


def _tile_captioned(clips: np.ndarray, ncol: int, k: int, captions: Sequence[str]) -> np.ndarray:
    """`_tile`, with each row of tiles under a `HEADER_PX` strip that names every tile.

    Shape:
        - clips: `(N, T, H, W)` uint8. Output: `(T, R*(HEADER_PX + k*H) + (R-1)*sep, ncol*k*W + (ncol-1)*sep)`.
    """
    n, t, h, w = clips.shape
    texts = list(captions) + [""] * (-n % ncol)
    rows = []
    for start in range(0, n, ncol):
        body = _tile(clips[start : start + ncol], ncol, k)  # (T, k*H, width); missing cells stay black
        if body.shape[2] < ncol * k * w + (ncol - 1) * SEPARATOR_WIDTH:  # a short last row
            full = np.zeros((t, k * h, ncol * k * w + (ncol - 1) * SEPARATOR_WIDTH), np.uint8)
            full[:, :, : body.shape[2]] = body
            body = full
        head = np.broadcast_to(_header(texts[start : start + ncol], k * w), (t, HEADER_PX, body.shape[2]))
        rows.append(np.concatenate([head, body], axis=1))  # (T, HEADER_PX + k*H, width)
        rows.append(np.full((t, SEPARATOR_WIDTH, body.shape[2]), SEPARATOR_VALUE, np.uint8))
    return np.concatenate(rows[:-1], axis=1)


def save_video_grid(
    videos: Any,
    path: str | os.PathLike,
    fmt: str = "gif",
    ncol: int | None = None,
    fps: float = 10,
    scale: int | None = None,
    captions: Sequence[str] | None = None,
) -> Path:
    """Tiles B clips into one animated GIF or MP4 (the call training code uses to dump samples).

    Args:
        videos: clips in any layout `to_uint8_video` accepts, all of the same length.
        path: output file; its directory is created. Written via `path.partial`.
        fmt: `"gif"` or `"mp4"`.
        ncol: clips per row; None = `ceil(sqrt(B))`. Empty cells stay black.
        fps: frames per second.
        scale: integer nearest-neighbour upscale per tile; None = auto (see module Convention).
        captions: B texts (e.g. `"digit 3"`, `"input"`), drawn with Pillow's built-in font in a
            strip above each tile; None = no strips.

    Returns:
        The written path.

    Shape:
        - videos: `(B, T, H, W)` uint8 or `(B, C, T, H, W)` float.
        - file: T frames of `(R*k*H + (R-1)*2, ncol*k*W + (ncol-1)*2)`, `R = ceil(B / ncol)`
          (MP4: rounded up to even); with captions each row is `HEADER_PX` taller.

    Raises:
        UsageError: `fmt` is not gif or mp4; `videos` is not a layout `to_uint8_video` accepts
            or is empty; `fps` is not a positive finite number; `scale` is not an integer >= 1
            or None; `ncol` is not an integer >= 1 or None; `captions` does not hold B texts;
            `path` is empty, a directory, or its directory cannot be created. An existing file
            at `path` is replaced.
    """
    fmt = _check_format(fmt, VIDEO_FORMATS)
    fps, scale = _check_fps(fps), _check_scale(scale)
    v = to_uint8_video(videos)  # (B, T, H, W)
    _check_nonempty(v)
    b, t, h, w = v.shape
    if ncol is None:
        ncol = math.ceil(math.sqrt(b))
    if isinstance(ncol, bool) or not isinstance(ncol, int) or ncol < 1:
        raise UsageError(f"ncol must be an integer >= 1 or None, got {ncol!r}.")
    ncol = min(ncol, b)
    if captions is not None and len(captions) != b:
        raise UsageError(f"captions must have one text per clip: {b} clips, {len(captions)} captions.")
    p = _target(path)
    k = scale or _auto_scale(h, w, -(-b // ncol), ncol)
    grid = _tile(v, ncol, k) if captions is None else _tile_captioned(v, ncol, k, [str(c) for c in captions])
    _write_animation(grid, p, fmt, fps)
    return p


def save_videos(
    videos: Any,
    path: str | os.PathLike,
    fmt: str | None = None,
    fps: float = 10,
    scale: int | None = None,
    ncol: int | None = None,
    captions: Sequence[str] | None = None,
) -> Path:
    """Saves clips as GIF, MP4 or a PNG frame grid, the format taken from `fmt` or the suffix.

    GIF/MP4 go through `save_video_grid` (one clip = a 1x1 grid, same as `save_gif`/`save_mp4`;
    `captions` label the tiles), PNG through `save_grid_png` with all frames.

    Args:
        videos: clips in any layout `to_uint8_video` accepts.
        path: output file; its directory is created. Written via `path.partial`.
        fmt: `"gif"`, `"mp4"` or `"png"` (case and a leading dot ignored); None = `path`'s suffix.
        fps, ncol, captions: as in `save_video_grid` (not used for PNG).
        scale: integer nearest-neighbour upscale per tile; None = auto.

    Returns:
        The written path.

    Shape:
        - videos: `(T, H, W)` / `(B, T, H, W)` uint8 or `(B, C, T, H, W)` float.

    Raises:
        UsageError: `fmt` is None and `path` has no suffix, or the format is not gif, mp4 or
            png; otherwise what `save_video_grid` (GIF, MP4) or `save_grid_png` (PNG) raises.

    Example:
        >>> import tempfile
        >>> clips = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)  # (B, T, H, W)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     save_videos(clips, Path(folder) / "clips.gif").name
        'clips.gif'
    """
    if fmt is None:
        suffix = Path(str(path)).suffix
        if not suffix:
            raise UsageError(f"Cannot tell the format of {str(path)!r}: give fmt or a suffix. Valid: {', '.join(ALL_FORMATS)}.")
        fmt = suffix[1:]
    fmt = _check_format(fmt, ALL_FORMATS)
    if fmt == "png":
        return save_grid_png(videos, path, frames="all", scale=scale)
    return save_video_grid(videos, path, fmt=fmt, ncol=ncol, fps=fps, scale=scale, captions=captions)


# --------------------------------------------------------------------------- labelled views


def _labels_2d(labels: Any, b: int) -> np.ndarray:
    lab = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if lab.ndim == 1:
        lab = lab[:, None]  # (B, 1)
    if lab.ndim != 2 or lab.shape[0] != b or lab.dtype.kind not in "iu":
        raise UsageError(f"labels must be int (B,) or (B, K) with B={b}, got shape {tuple(lab.shape)}.")
    return lab.astype(np.int64)  # (B, K)


def _motions_1d(motions: Any, b: int, motion_names: Sequence[str]) -> np.ndarray | None:
    if motions is None:
        return None
    mot = motions.detach().cpu().numpy() if isinstance(motions, torch.Tensor) else np.asarray(motions)
    mot = mot.reshape(-1)
    if mot.shape[0] != b or mot.dtype.kind not in "iu":
        raise UsageError(f"motions must be int (B,) with B={b}, got shape {tuple(mot.shape)}.")
    if b and (mot.min() < 0 or mot.max() >= len(motion_names)):
        raise UsageError(
            f"motions must index motion_names ({', '.join(motion_names) or 'none given'}), got {mot.min()}..{mot.max()}."
        )
    return mot.astype(np.int64)


def _digits_text(lab: np.ndarray) -> str:
    return "-".join(str(int(d)) for d in lab)


def save_montage(
    videos: Any,
    labels: Any,
    motions: Any,
    motion_names: Sequence[str],
    path: str | os.PathLike,
    ncol: int = 5,
    dpi: int = 100,
) -> Path:
    """Saves `videomnist_montage.png`: first and last frame of each clip in a labelled grid.

    Each clip takes two neighbouring panels, its first and last frame, titled
    `digit 3 · bounce` (`digit 3-7` with two digits per clip; no motion when `motions` is None).
    Drawn with matplotlib's Agg backend (no display, no pyplot state).

    Args:
        videos: clips in any layout `to_uint8_video` accepts.
        labels: digit classes (tensor, array or list). motions: motion indices into
            `motion_names`, or None. motion_names: the names (e.g. `config.motion_types`).
        path: output PNG; its directory is created. Written via `path.partial`.
        ncol: clips per row. dpi: pixels per inch; each panel is one inch (`dpi` px) square.

    Returns:
        The written path.

    Shape:
        - videos: `(B, T, H, W)` uint8 or `(B, C, T, H, W)` float.
        - labels: `(B,)` or `(B, K)` int. motions: `(B,)` int.

    Raises:
        UsageError: `videos` is not a layout `to_uint8_video` accepts or is empty; `labels` is
            not integers of shape (B,) or (B, K); `motions` is not B integers within
            ``0 .. len(motion_names) - 1``; `ncol` is not an integer >= 1; `path` is empty, a
            directory, or its directory cannot be created. An existing file at `path` is
            replaced.
    """
    from matplotlib.figure import Figure

    v = to_uint8_video(videos)  # (B, T, H, W)
    _check_nonempty(v)
    b, t = v.shape[:2]
    lab = _labels_2d(labels, b)  # (B, K)
    mot = _motions_1d(motions, b, motion_names)  # (B,) or None
    if isinstance(ncol, bool) or not isinstance(ncol, int) or ncol < 1:
        raise UsageError(f"ncol must be an integer >= 1, got {ncol!r}.")
    ncol = min(ncol, b)
    nrow = -(-b // ncol)
    p = _target(path)

    # Fixed layout in inches: PANEL-sized images, a title band above each row of clips.
    panel, pair_gap, clip_gap, band, top, edge = 1.0, 0.05, 0.25, 0.45, 0.35, 0.1
    fig_w = 2 * edge + ncol * (2 * panel + pair_gap) + (ncol - 1) * clip_gap
    fig_h = top + nrow * (band + panel) + edge
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi)
    for i in range(b):
        r, c = divmod(i, ncol)
        x0 = edge + c * (2 * panel + pair_gap + clip_gap)  # inches from the left
        y0 = fig_h - top - r * (band + panel) - band - panel  # inches from the bottom
        title = f"digit {_digits_text(lab[i])}" + (f" · {motion_names[mot[i]]}" if mot is not None else "")
        fig.text((x0 + panel + pair_gap / 2) / fig_w, (y0 + panel + band * 0.55) / fig_h, title,
                 ha="center", va="bottom", fontsize=8)
        for j, (f, name) in enumerate(((0, "first"), (t - 1, "last"))):
            ax = fig.add_axes(((x0 + j * (panel + pair_gap)) / fig_w, y0 / fig_h, panel / fig_w, panel / fig_h))
            ax.imshow(v[i, f], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_axis_off()
            ax.set_title(f"{name} (t={f})", fontsize=6, pad=2)
    fig.suptitle(f"VideoMNIST samples: first and last of {t} frames", fontsize=9, y=1 - 0.08 / fig_h, va="top")
    with atomic_file(p, "path", overwrite=True) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return p


def _header(texts: Sequence[str], tile_w: int, sep: int = SEPARATOR_WIDTH) -> np.ndarray:
    """A black strip `(HEADER_PX, N*tile_w + (N-1)*sep)` with each text centred over its tile, white."""
    from PIL import Image, ImageDraw, ImageFont

    n = len(texts)
    strip = Image.new("L", (n * tile_w + (n - 1) * sep, HEADER_PX), 0)
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default()
    for i, text in enumerate(texts):
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        x = i * (tile_w + sep) + max(0, (tile_w - (right - left)) // 2) - left
        y = (HEADER_PX - (bottom - top)) // 2 - top
        draw.text((x, y), text, fill=255, font=font)
    out = np.asarray(strip).copy()
    for i in range(1, n):
        out[:, i * (tile_w + sep) - sep : i * (tile_w + sep)] = SEPARATOR_VALUE
    return out  # (HEADER_PX, width)


def save_class_comparison(
    videos_of_one_class: Any,
    motion_labels: Sequence[str],
    path: str | os.PathLike,
    fps: float = 10,
    scale: int | None = None,
) -> Path:
    """Saves clips of one class side by side as one GIF, each labelled (e.g. with its motion).

    The labels are drawn in white with Pillow's default font into a black header strip of
    `HEADER_PX` px above the clips; the clips play in one row with gray separators. Written as
    `class_comparisons/digit_X_comparison.gif` by `write_samples`.

    Args:
        videos_of_one_class: N clips in any layout `to_uint8_video` accepts.
        motion_labels: N texts, one per clip, e.g. `["bounce", "circular", "linear"]`.
        path: output GIF; its directory is created. Written via `path.partial`.
        fps: frames per second. scale: integer upscale per tile; None = auto (module Convention).

    Returns:
        The written path.

    Shape:
        - videos_of_one_class: `(N, T, H, W)` uint8 or `(N, C, T, H, W)` float.
        - file: T frames of `(HEADER_PX + k*H, N*k*W + (N-1)*2)`.

    Raises:
        UsageError: the clips are not a layout `to_uint8_video` accepts or are empty; `fps` is
            not a positive finite number; `scale` is not an integer >= 1 or None;
            `motion_labels` does not hold N texts; `path` is empty, a directory, or its
            directory cannot be created. An existing file at `path` is replaced.
    """
    fps, scale = _check_fps(fps), _check_scale(scale)
    v = to_uint8_video(videos_of_one_class)  # (N, T, H, W)
    _check_nonempty(v)
    n, t, h, w = v.shape
    texts = [str(s) for s in motion_labels]
    if len(texts) != n:
        raise UsageError(f"motion_labels must have one text per clip: {n} clips, {len(texts)} labels.")
    p = _target(path)
    k = scale or _auto_scale(h, w, 1, n)
    body = _tile(v, n, k)  # (T, k*H, width)
    head = np.broadcast_to(_header(texts, k * w), (t, HEADER_PX, body.shape[2]))  # (T, HEADER_PX, width)
    _write_gif(np.concatenate([head, body], axis=1), p, fps)  # (T, HEADER_PX + k*H, width)
    return p


# --------------------------------------------------------------------------- samples folder


def sample_filename(label: Any, index: int, fmt: str) -> str:
    """`digit_X_video_YYY.fmt`: X the class (`3-7` for two digits per clip), YYY a 3-digit index.

    Args:
        label: the clip's class (an int), or its K classes (a sequence or 1-D array/tensor).
        index: the running sample index (more than 3 digits when >= 1000).
        fmt: the suffix, without a dot.

    >>> sample_filename(3, 7, "gif")
    'digit_3_video_007.gif'
    """
    digits = _digits_text(np.atleast_1d(np.asarray(label)))
    return f"digit_{digits}_video_{index:03d}.{fmt}"


def _spread_over_classes(first_labels: np.ndarray, num: int) -> list[int]:
    """Indices of `num` clips, round-robin over classes in ascending order (0, 1, ..., 9, 0, 1, ...)."""
    queues = {c: list(np.flatnonzero(first_labels == c)) for c in np.unique(first_labels)}
    picked: list[int] = []
    while len(picked) < num and any(queues.values()):
        for c in sorted(queues):
            if queues[c] and len(picked) < num:
                picked.append(int(queues[c].pop(0)))
    return picked


def _spread_over_motions(indices: np.ndarray, mot: np.ndarray | None, num: int) -> list[int]:
    """Up to `num` of `indices`, preferring distinct motions (round-robin over motion indices)."""
    if mot is None:
        return [int(i) for i in indices[:num]]
    queues = {m: [int(i) for i in indices if mot[i] == m] for m in np.unique(mot[indices])}
    picked: list[int] = []
    while len(picked) < num and any(queues.values()):
        for m in sorted(queues):
            if queues[m] and len(picked) < num:
                picked.append(queues[m].pop(0))
    return picked


def write_samples(
    videos: Any,
    labels: Any,
    motions: Any,
    motion_names: Sequence[str],
    output_dir: str | os.PathLike,
    formats: Sequence[str] = ("gif", "mp4"),
    fps: float = 10,
    num_samples: int = 20,
    create_comparison: bool = False,
    num_per_class: int = 3,
    stats: str | dict | None = None,
    scale: int | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Writes the samples folder of `videomnist visualize` / `videomnist generate --create_samples`.

    From the pool of clips given, picks `num_samples` spread over all classes (round-robin over
    classes in ascending order, pool order within a class; pass a shuffled pool for random
    picks) and writes into `output_dir`:

    - `digit_X_video_YYY.gif` / `.mp4`: each picked clip in each of `formats` (X the class,
      `3-7` for two digits per clip; YYY = 000, 001, ... the running sample index);
    - `videomnist_montage.png`: first and last frames of the picked clips (`save_montage`);
    - with `create_comparison`: `class_comparisons/digit_X_comparison.gif` for every class in
      the pool, `num_per_class` clips of that class side by side, chosen to show different
      motions where the pool has them, each labelled with its motion name;
    - `dataset_stats.txt` when `stats` is given (text, or a `dataset_stats` dict to format).

    Nothing is written if any target exists and `overwrite` is False (checked first).

    Args:
        videos, labels, motions, motion_names: the pool (see Shape); `motions` may be None.
        output_dir: created if missing.
        formats: any of `"gif"`, `"mp4"`; may be empty (then only montage, comparisons, stats).
        fps: frames per second of GIFs and MP4s. num_samples: clips to write (fewer if the pool is
            smaller). num_per_class: clips per comparison GIF. scale: upscale, None = auto.

    Returns:
        The written paths, in writing order.

    Shape:
        - videos: `(N, T, H, W)` uint8 or `(N, C, T, H, W)` float, on any device.
        - labels: `(N,)` or `(N, K)` int. motions: `(N,)` int or None.

    Raises:
        UsageError: before anything is written, when a format is not gif or mp4; `fps` is not
            a positive finite number; `scale` is not an integer >= 1 or None; `num_samples` is
            not an integer >= 0 or `num_per_class` not one >= 1; `stats` is not text, a dict or
            None; `videos`, `labels` or `motions` fails the checks of `save_montage`;
            `output_dir` is a file; or, without `overwrite`, a file to write exists.
        Interrupted: (`videomnist_gpu.interrupt.Interrupted`, a `VideoMNISTError`) inside
            `interrupt.interruptible`, as the CLI runs it, a SIGINT or SIGTERM arrived; it is
            raised between two files, so every file written is complete.
    """
    fmts = [_check_format(f, VIDEO_FORMATS) for f in ([formats] if isinstance(formats, str) else formats)]
    fmts = list(dict.fromkeys(fmts))
    fps, scale = _check_fps(fps), _check_scale(scale)
    for name, value, low in (("num_samples", num_samples, 0), ("num_per_class", num_per_class, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise UsageError(f"{name} must be an integer >= {low}, got {value!r}.")
    if stats is not None and not isinstance(stats, (str, dict)):
        raise UsageError(f"stats must be text, a dataset_stats dict or None, got {type(stats).__name__}.")
    v = to_uint8_video(videos)  # (N, T, H, W)
    _check_nonempty(v)
    n = v.shape[0]
    lab = _labels_2d(labels, n)  # (N, K)
    mot = _motions_1d(motions, n, motion_names)  # (N,) or None
    out = check_output_dir(output_dir, "output_dir")

    # Plan every file first, so that a refused overwrite leaves nothing behind.
    picked = _spread_over_classes(lab[:, 0], num_samples)
    plan: list[tuple[Path, Any]] = []
    for j, i in enumerate(picked):
        for f in fmts:
            plan.append((out / sample_filename(lab[i], j, f), ("clip", i, f)))
    if picked:
        plan.append((out / "videomnist_montage.png", ("montage", picked)))
    if create_comparison:
        for c in np.unique(lab[:, 0]):
            chosen = _spread_over_motions(np.flatnonzero(lab[:, 0] == c), mot, num_per_class)
            plan.append((out / "class_comparisons" / f"digit_{int(c)}_comparison.gif", ("comparison", chosen)))
    if stats is not None:
        plan.append((out / "dataset_stats.txt", ("stats",)))
    if not overwrite:
        for p, _ in plan:
            if p.exists():
                raise UsageError(f"output_dir: {str(p)!r} exists; pass --overwrite (overwrite=True) to replace it")

    written: list[Path] = []
    for p, job in plan:
        hold_for_test("write_samples")
        check_interrupt()  # a safe point: every file so far is complete
        kind = job[0]
        if kind == "clip":
            _, i, f = job
            (save_gif if f == "gif" else save_mp4)(v[i], p, fps=fps, scale=scale)
        elif kind == "montage":
            idx = job[1]
            save_montage(v[idx], lab[idx], None if mot is None else mot[idx], motion_names, p)
        elif kind == "comparison":
            idx = job[1]
            texts = [motion_names[mot[i]] for i in idx] if mot is not None else [f"clip {i}" for i in idx]
            save_class_comparison(v[idx], texts, p, fps=fps, scale=scale)
        else:
            text = stats if isinstance(stats, str) else format_stats(stats)
            with atomic_file(p, "path", overwrite=True) as tmp:
                tmp.write_text(text, encoding="utf-8")
        written.append(p)
    return written
