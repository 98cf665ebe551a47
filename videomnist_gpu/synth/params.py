"""Draw every clip's parameters from keyed randomness: digits, motion, trajectories, angle, scale.

This is the only module that turns random bits into meaning; rendering is a pure function of its
output. Each quantity reads its own fixed counters of `keyed_random.random_bits`:

    counter  0 + k         digit of class, for digit k
    counter  4 + k         class of digit k >= 1 (digit 0's class is `index % 10`)
    counter  8             motion type of the clip
    counter  9 + k         depth key of digit k (`draw_depth`, composite `over`)
    counter 16 + 16k + j   j < 8: motion uniforms of digit k; j = 8..11: rotation and scale
    counter 80 + (kT + t)F + j   j < F: frame t's uniforms of digit k, for motions that need F
                                 per frame (`motions.motion_frame_uniforms`)

Digit 0's class is `index % 10`, so any 10 consecutive clips hold every class once: an export of
`10 * n` clips has exactly `n` per class, interleaved.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from videomnist_gpu.synth.config import MAX_DIGITS, VideoMNISTConfig
from videomnist_gpu.synth.digits import NUM_CLASSES, DigitBank
from videomnist_gpu.synth.keyed_random import bits_below, random_bits, uniforms
from videomnist_gpu.synth.motions import MOTION_UNIFORMS, MotionBounds, get_motion, motion_frame_uniforms

__all__ = ["ClipParams", "draw_clip_params", "draw_depth"]

_DIGIT, _CLASS, _MOTION, _PER_DIGIT, _PER_DIGIT_STRIDE = 0, MAX_DIGITS, 2 * MAX_DIGITS, 16, 16
_DEPTH = _MOTION + 1  # counters 9 .. 9 + K - 1, below _PER_DIGIT: no other counter moves
_PER_FRAME = _PER_DIGIT + _PER_DIGIT_STRIDE * MAX_DIGITS
_ROTATION_SPEED = (0.1, 0.4)  # radians of phase per frame: a few radians per clip, never a jump
_SCALE_SPEED = (0.1, 0.4)


@dataclass(frozen=True)
class ClipParams:
    """Everything that decides a batch of clips, before any pixel exists.

    Shape:
        index: int64 (B,), clip indices.
        digit: int64 (B, K), rows of the split's digit bank.
        label: int64 (B, K), class of each digit.
        motion: int64 (B,), index into `config.motion_types`.
        center: float32 (B, T, K, 2), (x, y) centre of each digit, pixels.
        angle: float32 (B, T, K), degrees; positive turns the digit clockwise on screen.
        scale: float32 (B, T, K).
    """

    index: torch.Tensor
    digit: torch.Tensor
    label: torch.Tensor
    motion: torch.Tensor
    center: torch.Tensor
    angle: torch.Tensor
    scale: torch.Tensor

    def rows(self, start: int, stop: int) -> "ClipParams":
        """The parameters of clips ``start:stop`` of this batch (views, no copy)."""
        return ClipParams(*(getattr(self, f.name)[start:stop] for f in dataclasses.fields(ClipParams)))

    @staticmethod
    def cat(parts: "list[ClipParams]") -> "ClipParams":
        """The parameters of consecutive slices of a batch as one batch (no copy for one slice)."""
        if len(parts) == 1:
            return parts[0]
        return ClipParams(*(torch.cat([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(ClipParams)))


def _smooth_wave(phase_u: torch.Tensor, speed_u: torch.Tensor, frames: torch.Tensor,
                 speed: tuple[float, float]) -> torch.Tensor:
    """sin(2*pi*phase + omega*t) per digit and frame, omega drawn from `speed` rad/frame.

    Shape: phase_u, speed_u (B, K); frames (T,); returns (B, T, K) in [-1, 1].
    """
    omega = speed[0] + (speed[1] - speed[0]) * speed_u  # (B, K)
    return torch.sin(2 * math.pi * phase_u[:, None, :] + omega[:, None, :] * frames[None, :, None])


def draw_clip_params(config: VideoMNISTConfig, bank: DigitBank, indices: torch.Tensor,
                     split: str) -> ClipParams:
    """Parameters of clips `indices` of `split`, on the bank's device, with no host sync.

    Shape:
        indices: int64 (B,), non-negative.
    """
    B, K, T = indices.shape[0], config.num_digits, config.sequence_length
    device = bank.device
    indices = indices.to(device=device, dtype=torch.int64)
    per_frame = max(motion_frame_uniforms(name) for name in config.motion_types)  # F, host int
    n_bits = _PER_FRAME + K * T * per_frame if per_frame else _PER_DIGIT + _PER_DIGIT_STRIDE * K
    bits = random_bits(config.seed, split, indices, n_bits)  # (B, n_bits)

    label = bits_below(bits[:, _CLASS:_CLASS + K], NUM_CLASSES)  # (B, K)
    label[:, 0] = indices % NUM_CLASSES
    within = bits_below(bits[:, _DIGIT:_DIGIT + K], bank.class_count[label])  # (B, K)
    digit = bank.class_start[label] + within  # (B, K)
    motion = bits_below(bits[:, _MOTION], len(config.motion_types))  # (B,)

    per_digit = bits[:, _PER_DIGIT:_PER_DIGIT + _PER_DIGIT_STRIDE * K].reshape(B, K, _PER_DIGIT_STRIDE)  # (B, K, 16)
    u = uniforms(per_digit)  # (B, K, 16)
    frames = torch.arange(T, device=device, dtype=torch.float32)  # (T,)
    lo, hi = config.center_bounds
    bounds = MotionBounds(lo, hi, *config.speed_range)
    motion_u = u[..., :MOTION_UNIFORMS].reshape(B * K, MOTION_UNIFORMS)  # (B*K, 8)
    if per_frame:
        frame_u = uniforms(bits[:, _PER_FRAME:]).reshape(B * K, T * per_frame)  # (B*K, T*F)
        motion_u = torch.cat([motion_u, frame_u], dim=1)  # (B*K, 8 + T*F)
    candidates = torch.stack(
        [get_motion(name)(motion_u, frames, bounds) for name in config.motion_types]
    )  # (M, B*K, T, 2)
    chosen = motion.repeat_interleave(K)  # (B*K,)
    center = candidates[chosen, torch.arange(B * K, device=device)]  # (B*K, T, 2)
    center = center.reshape(B, K, T, 2).transpose(1, 2).contiguous()  # (B, T, K, 2)
    if config.placement == "integer":  # top-left corner on a whole pixel, rounded down
        half = config.digit_size / 2
        center = torch.floor(center - half) + half  # (B, T, K, 2)

    # The config is static: skip the waves (host-side branch, no tensor sync) when they are off.
    if config.rotation_range:
        angle = config.rotation_range * _smooth_wave(u[..., 8], u[..., 9], frames, _ROTATION_SPEED)  # (B, T, K)
    else:
        angle = torch.zeros(B, T, K, device=device)  # (B, T, K)
    lo_s, hi_s = config.scale_range
    if hi_s != lo_s:
        wave = _smooth_wave(u[..., 10], u[..., 11], frames, _SCALE_SPEED)  # (B, T, K)
        scale = lo_s + (hi_s - lo_s) * (0.5 + 0.5 * wave)  # (B, T, K)
    else:
        scale = torch.full((B, T, K), float(lo_s), device=device)  # (B, T, K)
    return ClipParams(indices, digit, label, motion, center, angle, scale)


def draw_depth(config: VideoMNISTConfig, indices: torch.Tensor, split: str) -> torch.Tensor:
    """Each clip's drawing order of its digits (0 = front-most), a uniform random permutation.

    Digit k's rank is the number of digits whose depth key (counter ``9 + k``) is smaller, ties
    to the lower index: a pure function of (seed, split, index), on `indices`' device.

    Shape:
        indices: int64 (B,), non-negative. returns: int64 (B, K), each row a permutation of 0..K-1.
    """
    K = config.num_digits
    keys = random_bits(config.seed, split, indices.to(torch.int64), _DEPTH + K)[:, _DEPTH:]  # (B, K)
    order = torch.arange(K, device=keys.device)  # (K,)
    before = (keys[:, None, :] < keys[:, :, None]) | ((keys[:, None, :] == keys[:, :, None])
                                                      & (order[None, :] < order[:, None]))  # (B, K, K): j before k
    return before.sum(dim=2)  # (B, K)
