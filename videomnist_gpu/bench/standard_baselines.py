"""The two standard Moving MNIST generators, re-implemented per clip in numpy from their papers' code.

These are what users of the standard benchmarks run today (one clip at a time on the CPU). The
tests compare our presets' distributions against them, and `benchmarks/bench_standard.py` times
them against our generator in one run. Written by us from the published generators' behaviour:

- :func:`srivastava_clips`: Moving MNIST of Srivastava et al. (2015): per digit a start uniform
  in the unit square, a direction uniform in [0, 2*pi), a step of ``step`` (0.1) of the free range
  per frame taken *before* each frame is recorded; a coordinate at or past a wall (<= 0 or >= 1) is
  set onto the wall and its velocity component flips; the top-left corner is
  ``int((H - S) * x)``; digits composite with ``np.maximum``.
- :func:`svg_clips`: Moving MNIST of Denton & Fergus (2018, SVG), ``stochastic`` or
  deterministic: per digit a whole-pixel start uniform in ``[0, H - S - 1]``, a velocity uniform in
  ``[-4, 4]`` per axis; before each frame is drawn, y then x is checked: below 0 it is set to 0,
  at ``H - S`` or above to ``H - S - 1``, and the velocity is reflected (deterministic) or redrawn
  (stochastic: 1..4 away from the wall, -4..4 for the other axis); the digit is added into the
  frame, then moves; frames are clipped at the maximum intensity.

Both take uint8 sprites already at the generator's digit size (28 px for Srivastava, 32 px for
SVG) and draw digits uniformly from them.
"""
from __future__ import annotations

import numpy as np

__all__ = ["srivastava_clips", "svg_clips"]


def srivastava_clips(digits: np.ndarray, n_clips: int, num_digits: int = 2, T: int = 20, H: int = 64,
                     step: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Srivastava et al. (2015) Moving MNIST, one clip and one digit at a time.

    Convention:
        digits: uint8 (N, S, S). Returns (video uint8 (n_clips, T, H, H), top-left corners int64
        (n_clips, T, num_digits, 2) as (x, y) pixels).
    """
    rng = np.random.default_rng(seed)
    S = digits.shape[-1]
    room = H - S
    video = np.zeros((n_clips, T, H, H), dtype=np.uint8)
    corners = np.zeros((n_clips, T, num_digits, 2), dtype=np.int64)
    for i in range(n_clips):
        for k in range(num_digits):
            digit = digits[rng.integers(len(digits))]  # (S, S)
            y, x = rng.random(), rng.random()
            theta = rng.random() * 2 * np.pi
            vy, vx = np.sin(theta), np.cos(theta)
            for t in range(T):
                y, x = y + vy * step, x + vx * step
                if x <= 0:
                    x, vx = 0.0, -vx
                if x >= 1:
                    x, vx = 1.0, -vx
                if y <= 0:
                    y, vy = 0.0, -vy
                if y >= 1:
                    y, vy = 1.0, -vy
                left, top = int(room * x), int(room * y)
                corners[i, t, k] = left, top
                region = video[i, t, top:top + S, left:left + S]  # a view into the frame
                np.maximum(region, digit, out=region)
    return video, corners


def svg_clips(digits: np.ndarray, n_clips: int, stochastic: bool, num_digits: int = 2, T: int = 20,
              H: int = 64, max_speed: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Denton & Fergus (2018) Moving MNIST (SM-MNIST when `stochastic`), one clip at a time.

    Convention:
        digits: uint8 (N, S, S). Returns (video uint8 (n_clips, T, H, H), top-left corners int64
        (n_clips, T, num_digits, 2) as (x, y) pixels).
    """
    rng = np.random.default_rng(seed)
    S = digits.shape[-1]
    wall = H - S
    video = np.zeros((n_clips, T, H, H), dtype=np.uint8)
    corners = np.zeros((n_clips, T, num_digits, 2), dtype=np.int64)
    for i in range(n_clips):
        canvas = np.zeros((T, H, H), dtype=np.int32)  # (T, H, H), summed before clipping
        for k in range(num_digits):
            digit = digits[rng.integers(len(digits))]  # (S, S)
            sx, sy = int(rng.integers(wall)), int(rng.integers(wall))
            dx, dy = int(rng.integers(-max_speed, max_speed + 1)), int(rng.integers(-max_speed, max_speed + 1))
            for t in range(T):
                if sy < 0 or sy >= wall:
                    low = sy < 0
                    sy = 0 if low else wall - 1
                    if stochastic:
                        dy = int(rng.integers(1, max_speed + 1)) * (1 if low else -1)
                        dx = int(rng.integers(-max_speed, max_speed + 1))
                    else:
                        dy = -dy
                if sx < 0 or sx >= wall:
                    low = sx < 0
                    sx = 0 if low else wall - 1
                    if stochastic:
                        dx = int(rng.integers(1, max_speed + 1)) * (1 if low else -1)
                        dy = int(rng.integers(-max_speed, max_speed + 1))
                    else:
                        dx = -dx
                corners[i, t, k] = sx, sy
                canvas[t, sy:sy + S, sx:sx + S] += digit
                sx, sy = sx + dx, sy + dy
        video[i] = np.minimum(canvas, 255)
    return video, corners
