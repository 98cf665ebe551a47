"""Motions: vectorized maps from per-clip uniforms to per-frame digit centres.

A motion is a function `fn(u, frames, bounds) -> centers`:

Shape:
    u: float32 (B, MOTION_UNIFORMS), independent uniforms in [0, 1), one row per digit.
    frames: float32 (T,), the frame numbers 0, 1, ..., T-1.
    returns: float32 (B, T, 2), the (x, y) centre of the digit in each frame, in pixels.

Contract: every centre lies within `[bounds.lo, bounds.hi]` on both axes (that keeps the whole
digit box inside the margin), and the digit moves at a speed drawn from
`[bounds.speed_min, bounds.speed_max]` pixels per frame wherever the room allows. Motions are pure
and use only tensor arithmetic: no host syncs, no Python loops over clips or frames.

`register_motion(name, fn)` adds a motion usable from the config, YAML and CLI:

    >>> import torch
    >>> def still(u, frames, bounds):
    ...     centre = bounds.lo + u[:, None, :2] * (bounds.hi - bounds.lo)  # (B, 1, 2)
    ...     return centre.expand(-1, frames.numel(), 2)
    >>> register_motion("still", still)
    >>> "still" in registered_motions()
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

__all__ = [
    "MOTION_UNIFORMS",
    "MotionBounds",
    "MotionFn",
    "register_motion",
    "registered_motions",
    "get_motion",
    "bounce_positions",
    "circular_positions",
    "linear_positions",
    "spiral_positions",
]

MOTION_UNIFORMS = 8
MotionFn = Callable[[torch.Tensor, torch.Tensor, "MotionBounds"], torch.Tensor]
_REGISTRY: dict[str, MotionFn] = {}


@dataclass(frozen=True)
class MotionBounds:
    """Where centres may go and how fast: `lo <= x, y <= hi`, speeds in px/frame."""

    lo: float
    hi: float
    speed_min: float
    speed_max: float

    @property
    def room(self) -> float:
        return self.hi - self.lo


def register_motion(name: str, fn: MotionFn, *, overwrite: bool = False) -> None:
    """Make `fn` available as motion `name` (see the module docstring for its contract)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"register_motion: name must be an identifier, got {name!r}")
    if not callable(fn):
        raise ValueError(f"register_motion: fn for {name!r} is not callable")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"register_motion: {name!r} is already registered (pass overwrite=True)")
    _REGISTRY[name] = fn


def registered_motions() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get_motion(name: str) -> MotionFn:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown motion {name!r}. Valid: {', '.join(_REGISTRY)}") from None


def _lerp(lo: float, hi: float, u: torch.Tensor) -> torch.Tensor:
    return lo + (hi - lo) * u


def _reflect(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Fold an unbounded coordinate into [lo, hi] like a ball bouncing off walls at lo and hi."""
    length = hi - lo
    y = torch.remainder(x - lo, 2 * length)
    return lo + length - (length - y).abs()


def _direction(u: torch.Tensor) -> torch.Tensor:
    """Unit vectors (..., 2) from uniforms: angle 2*pi*u."""
    theta = 2 * math.pi * u
    return torch.stack([torch.cos(theta), torch.sin(theta)], dim=-1)


def bounce_positions(u: torch.Tensor, frames: torch.Tensor, bounds: MotionBounds) -> torch.Tensor:
    """Constant velocity from a random start; reflects off the walls like a ball."""
    start = _lerp(bounds.lo, bounds.hi, u[:, :2])  # (B, 2)
    speed = _lerp(bounds.speed_min, bounds.speed_max, u[:, 2])  # (B,)
    velocity = _direction(u[:, 3]) * speed[:, None]  # (B, 2)
    free = start[:, None, :] + velocity[:, None, :] * frames[None, :, None]  # (B, T, 2)
    return _reflect(free, bounds.lo, bounds.hi)


def circular_positions(u: torch.Tensor, frames: torch.Tensor, bounds: MotionBounds) -> torch.Tensor:
    """A circle of random centre, radius, phase and direction, fully inside the bounds."""
    max_radius = bounds.room / 2
    radius = _lerp(min(4.0, max_radius / 2), max_radius, u[:, 0])  # (B,)
    centre = bounds.lo + radius[:, None] + (bounds.room - 2 * radius[:, None]) * u[:, 1:3]  # (B, 2)
    phase = 2 * math.pi * u[:, 3]  # (B,)
    sign = torch.where(u[:, 4] < 0.5, -1.0, 1.0)  # (B,)
    speed = _lerp(bounds.speed_min, bounds.speed_max, u[:, 5])  # (B,)
    omega = sign * speed / radius  # (B,) radians per frame
    angle = phase[:, None] + omega[:, None] * frames[None, :]  # (B, T)
    offset = torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)  # (B, T, 2)
    return centre[:, None, :] + radius[:, None, None] * offset


def linear_positions(u: torch.Tensor, frames: torch.Tensor, bounds: MotionBounds) -> torch.Tensor:
    """A straight path that fits the bounds, plus a small smooth sideways wobble."""
    direction = _direction(u[:, 0])  # (B, 2)
    speed = _lerp(bounds.speed_min, bounds.speed_max, u[:, 1])  # (B,)
    duration = frames[-1].clamp_min(1.0)
    reach = (speed * duration)[:, None] * direction.abs()  # (B, 2) extent of the path per axis
    shrink = (bounds.room / reach.clamp_min(1e-6)).amin(dim=1).clamp(max=1.0)  # (B,)
    travel = direction * (speed * shrink)[:, None]  # (B, 2) px per frame
    span = travel.abs() * duration  # (B, 2)
    low = bounds.lo + torch.where(travel < 0, span, torch.zeros_like(span))  # (B, 2)
    start = low + (bounds.room - span) * u[:, 2:4]  # (B, 2)
    path = start[:, None, :] + travel[:, None, :] * frames[None, :, None]  # (B, T, 2)
    normal = torch.stack([-direction[:, 1], direction[:, 0]], dim=-1)  # (B, 2)
    amplitude = 1.0 * u[:, 4]  # (B,) px
    cycles = _lerp(0.5, 1.5, u[:, 5])  # (B,) wobbles per clip
    phase = 2 * math.pi * u[:, 6]
    wobble = amplitude[:, None] * torch.sin(
        phase[:, None] + 2 * math.pi * cycles[:, None] * frames[None, :] / duration
    )  # (B, T)
    return (path + wobble[..., None] * normal[:, None, :]).clamp(bounds.lo, bounds.hi)


def spiral_positions(u: torch.Tensor, frames: torch.Tensor, bounds: MotionBounds) -> torch.Tensor:
    """Circling a random centre while the radius grows or shrinks linearly."""
    max_radius = bounds.room / 2
    big = _lerp(0.6 * max_radius, max_radius, u[:, 0])  # (B,)
    small = _lerp(0.0, 0.3 * max_radius, u[:, 1])  # (B,)
    growing = u[:, 2] < 0.5  # (B,)
    r0 = torch.where(growing, small, big)
    r1 = torch.where(growing, big, small)
    centre = bounds.lo + big[:, None] + (bounds.room - 2 * big[:, None]) * u[:, 3:5]  # (B, 2)
    fraction = frames / frames[-1].clamp_min(1.0)  # (T,)
    radius = r0[:, None] + (r1 - r0)[:, None] * fraction[None, :]  # (B, T)
    sign = torch.where(u[:, 5] < 0.5, -1.0, 1.0)
    speed = _lerp(bounds.speed_min, bounds.speed_max, u[:, 6])
    omega = sign * speed / ((r0 + r1) / 2).clamp_min(2.0)  # (B,) radians per frame
    angle = 2 * math.pi * u[:, 7, None] + omega[:, None] * frames[None, :]  # (B, T)
    offset = torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)  # (B, T, 2)
    return centre[:, None, :] + radius[..., None] * offset


for _name, _fn in (("bounce", bounce_positions), ("circular", circular_positions),
                   ("linear", linear_positions), ("spiral", spiral_positions)):
    register_motion(_name, _fn)
