"""Baselines that users would run instead of us, written by us for equal work in one run.

Equal work for all: ``n_clips`` clips of one digit, 16 frames, 64x64, uint8 ``(n, T, H, H)``, from
a uint8 digit array ``(N, 28, 28)``.

- :func:`original_scipy_clips`: the original VideoMNIST scripts' algorithm (re-implemented from
  their README's description: per clip a bounce / circular / linear trajectory, per frame
  ``scipy.ndimage.affine_transform(order=1)`` on a 64x64 float canvas holding the centred digit,
  Python loops over clips and frames).
- :func:`classic_moving_mnist_clips`: Srivastava et al. 2015 style Moving MNIST: integer
  positions, velocity reflected at the walls, numpy paste with ``np.maximum``.
- :func:`full_canvas_grid_sample_clips`: the naive torch formulation, ``affine_grid`` +
  ``grid_sample`` over the whole canvas for every frame, batched.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

__all__ = [
    "original_scipy_clips",
    "classic_moving_mnist_clips",
    "full_canvas_grid_sample_clips",
]

_MOTIONS = ("bounce", "circular", "linear")


def _original_trajectory(rng: np.random.Generator, motion: str, T: int, H: int, S: int,
                         margin: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-left (x, y) per frame, as the original scripts describe their motions."""
    lo, hi = margin, H - S - margin  # top-left range that keeps the digit inside the margin
    t = np.arange(T, dtype=np.float64)
    if motion == "bounce":  # sine wave with linear horizontal movement
        x0, x1 = rng.uniform(lo, hi, size=2)
        x = np.linspace(x0, x1, T)
        amp = rng.uniform(2.0, (hi - lo) / 2)
        mid = (lo + hi) / 2
        y = mid + amp * np.sin(rng.uniform(0.2, 0.8) * t + rng.uniform(0, 2 * np.pi))
    elif motion == "circular":  # parametric circle with constrained radius
        r = rng.uniform(3.0, (hi - lo) / 2)
        cx = cy = (lo + hi) / 2
        phase = np.linspace(0, 2 * np.pi, T) + rng.uniform(0, 2 * np.pi)
        x, y = cx + r * np.cos(phase), cy + r * np.sin(phase)
    elif motion == "linear":  # straight line with random perturbation
        x0, y0 = rng.uniform(lo, hi, size=2)
        vx, vy = rng.uniform(-2.0, 2.0, size=2)
        x = x0 + vx * t + rng.normal(0.0, 0.5, T)
        y = y0 + vy * t + rng.normal(0.0, 0.5, T)
    else:
        raise ValueError(f"Unknown motion {motion!r}. Valid: {', '.join(_MOTIONS)}.")
    return np.clip(x, lo, hi), np.clip(y, lo, hi)  # bounds checking, as the original did


def original_scipy_clips(digits: np.ndarray, n_clips: int, T: int = 16, H: int = 64,
                         margin: int = 5, motion_types: tuple[str, ...] = _MOTIONS,
                         seed: int = 0) -> np.ndarray:
    """The original VideoMNIST algorithm: scipy ``affine_transform`` per frame, Python loops.

    Convention:
        digits: uint8 (N, S, S). Returns uint8 (n_clips, T, H, H).
    """
    rng = np.random.default_rng(seed)
    S = digits.shape[-1]
    out = np.zeros((n_clips, T, H, H), dtype=np.uint8)
    c0 = (H - S) // 2  # the digit sits centred on the canvas; motion is a shift from there
    for i in range(n_clips):
        digit = digits[rng.integers(len(digits))].astype(np.float32)  # (S, S), 0..255
        canvas = np.zeros((H, H), dtype=np.float32)  # (H, H)
        canvas[c0:c0 + S, c0:c0 + S] = digit
        motion = motion_types[rng.integers(len(motion_types))]
        xs, ys = _original_trajectory(rng, motion, T, H, S, margin)
        for f in range(T):
            matrix = np.eye(2)  # no rotation in the default config; a full 2x2 matrix as the scripts
            offset = -np.array([ys[f] - c0, xs[f] - c0])  # output[o] = input[matrix @ o + offset]
            frame = ndimage.affine_transform(canvas, matrix, offset=offset, order=1)  # (H, H)
            out[i, f] = np.clip(frame, 0, 255).astype(np.uint8)
    return out


def classic_moving_mnist_clips(digits: np.ndarray, n_clips: int, num_digits: int = 1,
                               T: int = 16, H: int = 64, step: float = 3.0,
                               seed: int = 0) -> np.ndarray:
    """Srivastava et al. 2015 style Moving MNIST: integer positions, reflecting walls, np.maximum.

    Convention:
        digits: uint8 (N, S, S). Returns uint8 (n_clips, T, H, H).
    """
    rng = np.random.default_rng(seed)
    S = digits.shape[-1]
    lim = H - S
    out = np.zeros((n_clips, T, H, H), dtype=np.uint8)
    for i in range(n_clips):
        for _ in range(num_digits):
            digit = digits[rng.integers(len(digits))]  # (S, S) uint8
            theta = rng.uniform(0, 2 * np.pi)
            vx, vy = step * math.cos(theta), step * math.sin(theta)
            x, y = rng.uniform(0, lim, size=2)
            for f in range(T):
                xi, yi = int(round(x)), int(round(y))
                region = out[i, f, yi:yi + S, xi:xi + S]  # view into the frame
                np.maximum(region, digit, out=region)
                x, y = x + vx, y + vy
                if x < 0 or x > lim:  # reflect the velocity at the walls
                    vx = -vx
                    x = min(max(x, 0.0), float(lim))
                if y < 0 or y > lim:
                    vy = -vy
                    y = min(max(y, 0.0), float(lim))
    return out


def full_canvas_grid_sample_clips(digits: np.ndarray | torch.Tensor, n_clips: int, T: int = 16,
                                  H: int = 64, batch_size: int = 64, margin: int = 5,
                                  device: str | torch.device = "cpu",
                                  seed: int = 0) -> torch.Tensor:
    """The naive formulation: ``affine_grid`` + ``grid_sample`` over the whole canvas, per frame.

    Linear motion with sub-pixel positions (what the motion is does not change the cost).

    Convention:
        digits: uint8 (N, S, S). Returns uint8 (n_clips, T, H, H) on ``device``.
    """
    g = torch.Generator().manual_seed(seed)
    bank = torch.as_tensor(digits).to(device)  # (N, S, S) uint8
    S = bank.shape[-1]
    lo, hi = margin + S / 2 + 1, H - margin - S / 2 - 1  # centre range keeping the digit inside
    out = []
    for start in range(0, n_clips, batch_size):
        B = min(batch_size, n_clips - start)
        idx = torch.randint(len(bank), (B,), generator=g).to(device)
        p0 = torch.rand(B, 2, generator=g).to(device) * (hi - lo) + lo  # (B, 2)
        p1 = torch.rand(B, 2, generator=g).to(device) * (hi - lo) + lo  # (B, 2)
        w = torch.linspace(0, 1, T, device=device)[None, :, None]  # (1, T, 1)
        c = p0[:, None] + (p1 - p0)[:, None] * w  # (B, T, 2) centre per frame
        theta = torch.zeros(B * T, 2, 3, device=device)  # (B*T, 2, 3)
        theta[:, 0, 0] = theta[:, 1, 1] = H / S
        theta[:, :, 2] = (2.0 / S) * (H / 2 - c.reshape(B * T, 2))
        grid = F.affine_grid(theta, [B * T, 1, H, H], align_corners=False)  # (B*T, H, H, 2)
        src = bank[idx].to(torch.float32)[:, None].expand(B, T, S, S).reshape(B * T, 1, S, S)
        frames = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros",
                               align_corners=False)  # (B*T, 1, H, H)
        out.append(frames.view(B, T, H, H).round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out) if out else torch.zeros(0, T, H, H, dtype=torch.uint8, device=device)
