"""Motions: vectorized maps from per-clip uniforms to per-frame digit centres.

A motion is a function `fn(u, frames, bounds) -> centers`:

Shape:
    u: float32 (B, MOTION_UNIFORMS), independent uniforms in [0, 1), one row per digit.
    frames: float32 (T,), the frame numbers 0, 1, ..., T-1.
    returns: float32 (B, T, 2), the (x, y) centre of the digit in each frame, in pixels.

Contract: every centre lies within `[bounds.lo, bounds.hi]` on both axes (that keeps the whole
digit box inside the margin), and the digit moves at a speed drawn from
`[bounds.speed_min, bounds.speed_max]` pixels per frame wherever the room allows. Motions are pure
and use only tensor arithmetic: no host syncs, no Python loops over clips.

A motion registered with `frame_uniforms=F > 0` also gets F fresh uniforms per frame, appended to
each row: `u` is then (B, MOTION_UNIFORMS + T * F), and `u[:, MOTION_UNIFORMS:].view(B, T, F)`
holds frame t's uniforms (for random events during the clip, such as a stochastic bounce).

The standard Moving MNIST generators are here too (`srivastava_bounce`, `svg_bounce`,
`svg_stochastic_bounce`). Both originals clamp a digit that overshoots a wall back onto the wall
(the overshoot is lost, so a path is not a fold of a straight line), and the stochastic variant
draws a new velocity at each bounce, which depends on the path so far: so these three step
through the frames in a scan of a few elementwise tensor ops per frame (T is 20 or so), still
with no host sync and no loop over clips.

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

from videomnist_gpu.errors import check_int

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
    "motion_frame_uniforms",
    "srivastava_bounce_positions",
    "svg_bounce_positions",
    "svg_stochastic_bounce_positions",
]

MOTION_UNIFORMS = 8
MotionFn = Callable[[torch.Tensor, torch.Tensor, "MotionBounds"], torch.Tensor]
_REGISTRY: dict[str, MotionFn] = {}
_FRAME_UNIFORMS: dict[str, int] = {}


@dataclass(frozen=True)
class MotionBounds:
    """Where centres may go and how fast: `lo <= x, y <= hi`, speeds in px/frame.

    Built by the synthesizer from the config: (`lo`, `hi`) = `config.center_bounds` (the same
    for x and y), (`speed_min`, `speed_max`) = `config.speed_range`. A motion only reads it.

    Attributes:
        lo, hi: smallest and largest centre coordinate, pixels.
        speed_min, speed_max: the speed range, pixels per frame.
    """

    lo: float
    hi: float
    speed_min: float
    speed_max: float

    @property
    def room(self) -> float:
        """``hi - lo``: the free range of a centre on each axis, pixels."""
        return self.hi - self.lo


def register_motion(name: str, fn: MotionFn, *, overwrite: bool = False, frame_uniforms: int = 0) -> None:
    """Make `fn` available as motion `name` (see the module docstring for its contract).

    The registry is per process: register before building a `VideoMNISTConfig` that names the
    motion (the config checks its `motion_types` against it). Every motion of a config's
    `motion_types` is evaluated for every digit of a batch, so `fn` must accept any B.
    `fn`'s output is not checked here.

    Args:
        name: a Python identifier, used in `motion_types`, YAML presets and the CLI.
        fn: ``fn(u, frames, bounds) -> centers`` with the shapes of the module docstring.
        overwrite: replace a motion already registered under `name` (built-ins included).
        frame_uniforms: uniforms per frame that `fn` needs beyond the `MOTION_UNIFORMS` per
            digit, an integer >= 0 (default 0).

    Shape:
        u: float32 (B, MOTION_UNIFORMS + T * frame_uniforms) in [0, 1), one row per digit
            (B here counts digits: clips x num_digits). frames: float32 (T,).
        returns: float32 (B, T, 2), (x, y) centres within [bounds.lo, bounds.hi].

    Raises:
        ValueError: `name` is not an identifier string, `fn` is not callable, `name` is already
            registered without `overwrite`, or `frame_uniforms` is not an integer >= 0.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"register_motion: name must be an identifier, got {name!r}")
    if not callable(fn):
        raise ValueError(f"register_motion: fn for {name!r} is not callable")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"register_motion: {name!r} is already registered (pass overwrite=True)")
    frame_uniforms = check_int("frame_uniforms", frame_uniforms, 0)
    _REGISTRY[name] = fn
    _FRAME_UNIFORMS[name] = frame_uniforms


def registered_motions() -> tuple[str, ...]:
    """Names of the registered motions, built-ins first, in registration order.

    Built-ins: ``bounce``, ``circular``, ``linear``, ``spiral``, ``srivastava_bounce``,
    ``svg_bounce``, ``svg_stochastic_bounce``.
    """
    return tuple(_REGISTRY)


def motion_frame_uniforms(name: str) -> int:
    """Uniforms per frame that motion `name` needs (0 for most motions).

    Raises:
        ValueError: `name` is not registered.
    """
    get_motion(name)
    return _FRAME_UNIFORMS[name]


def get_motion(name: str) -> MotionFn:
    """The function registered as motion `name`.

    Raises:
        ValueError: `name` is not registered (the message lists the registered names).
    """
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
    return (lo + length) - (length - y).abs_()


def _direction(u: torch.Tensor) -> torch.Tensor:
    """Unit vectors (..., 2) from uniforms: angle 2*pi*u."""
    theta = 2 * math.pi * u
    return torch.stack([torch.cos(theta), torch.sin(theta)], dim=-1)


# The built-in motions below take their uniforms as columns (`u.unbind(1)`, one operation) and
# broadcast with `unsqueeze`/`view`: a render evaluates every motion of its config, so their
# operation count is a fixed cost of every call.


def bounce_positions(u: torch.Tensor, frames: torch.Tensor, bounds: MotionBounds) -> torch.Tensor:
    """Constant velocity from a random start; reflects off the walls like a ball."""
    speed = _lerp(bounds.speed_min, bounds.speed_max, u[:, 2])  # (B,)
    velocity = _direction(u[:, 3]) * speed.unsqueeze(1)  # (B, 2)
    start = _lerp(bounds.lo, bounds.hi, u[:, :2])  # (B, 2)
    free = start.unsqueeze(1) + velocity.unsqueeze(1) * frames.view(1, -1, 1)  # (B, T, 2)
    return _reflect(free, bounds.lo, bounds.hi)


def circular_positions(u: torch.Tensor, frames: torch.Tensor, bounds: MotionBounds) -> torch.Tensor:
    """A circle of random centre, radius, phase and direction, fully inside the bounds."""
    u0, _, _, u3, u4, u5, *_ = u.unbind(1)  # (B,) each
    max_radius = bounds.room / 2
    radius = _lerp(min(4.0, max_radius / 2), max_radius, u0).unsqueeze(1)  # (B, 1)
    centre = bounds.lo + radius + (bounds.room - 2 * radius) * u[:, 1:3]  # (B, 2)
    phase = 2 * math.pi * u3  # (B,)
    sign = torch.where(u4 < 0.5, -1.0, 1.0)  # (B,)
    speed = _lerp(bounds.speed_min, bounds.speed_max, u5)  # (B,)
    omega = sign * speed / radius.squeeze(1)  # (B,) radians per frame
    angle = phase.unsqueeze(1) + omega.unsqueeze(1) * frames  # (B, T)
    offset = torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)  # (B, T, 2)
    return centre.unsqueeze(1) + radius.unsqueeze(2) * offset


def linear_positions(u: torch.Tensor, frames: torch.Tensor, bounds: MotionBounds) -> torch.Tensor:
    """A straight path that fits the bounds, plus a small smooth sideways wobble."""
    u0, u1, _, _, u4, u5, u6, *_ = u.unbind(1)  # (B,) each
    direction = _direction(u0)  # (B, 2)
    speed = _lerp(bounds.speed_min, bounds.speed_max, u1)  # (B,)
    duration = frames[-1].clamp_min(1.0)
    reach = (speed * duration).unsqueeze(1) * direction.abs()  # (B, 2) extent of the path per axis
    shrink = (bounds.room / reach.clamp_min_(1e-6)).amin(dim=1).clamp_(max=1.0)  # (B,)
    travel = direction * (speed * shrink).unsqueeze(1)  # (B, 2) px per frame
    span = travel.abs() * duration  # (B, 2)
    low = bounds.lo + span * (travel < 0)  # (B, 2): lo + span where travelling backwards, lo + 0 elsewhere
    start = low + (bounds.room - span) * u[:, 2:4]  # (B, 2)
    path = start.unsqueeze(1) + travel.unsqueeze(1) * frames.view(1, -1, 1)  # (B, T, 2)
    d0, d1 = direction.unbind(1)  # (B,) each
    normal = torch.stack([-d1, d0], dim=-1)  # (B, 2)
    amplitude = 1.0 * u4  # (B,) px
    cycles = _lerp(0.5, 1.5, u5)  # (B,) wobbles per clip
    phase = 2 * math.pi * u6
    wobble = amplitude.unsqueeze(1) * torch.sin(
        phase.unsqueeze(1) + 2 * math.pi * cycles.unsqueeze(1) * frames / duration
    )  # (B, T)
    return (path + wobble.unsqueeze(2) * normal.unsqueeze(1)).clamp_(bounds.lo, bounds.hi)


def spiral_positions(u: torch.Tensor, frames: torch.Tensor, bounds: MotionBounds) -> torch.Tensor:
    """Circling a random centre while the radius grows or shrinks linearly."""
    u0, u1, u2, _, _, u5, u6, u7 = u[:, :MOTION_UNIFORMS].unbind(1)  # (B,) each
    max_radius = bounds.room / 2
    big = _lerp(0.6 * max_radius, max_radius, u0)  # (B,)
    small = _lerp(0.0, 0.3 * max_radius, u1)  # (B,)
    growing = u2 < 0.5  # (B,)
    r0 = torch.where(growing, small, big)
    r1 = torch.where(growing, big, small)
    centre = bounds.lo + big.unsqueeze(1) + (bounds.room - 2 * big.unsqueeze(1)) * u[:, 3:5]  # (B, 2)
    fraction = frames / frames[-1].clamp_min(1.0)  # (T,)
    radius = r0.unsqueeze(1) + (r1 - r0).unsqueeze(1) * fraction  # (B, T)
    sign = torch.where(u5 < 0.5, -1.0, 1.0)
    speed = _lerp(bounds.speed_min, bounds.speed_max, u6)
    omega = sign * speed / ((r0 + r1) / 2).clamp_min_(2.0)  # (B,) radians per frame
    angle = 2 * math.pi * u7.unsqueeze(1) + omega.unsqueeze(1) * frames  # (B, T)
    offset = torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)  # (B, T, 2)
    return centre.unsqueeze(1) + radius.unsqueeze(2) * offset


def srivastava_bounce_positions(u: torch.Tensor, frames: torch.Tensor, bounds: MotionBounds) -> torch.Tensor:
    """Moving MNIST as Srivastava et al. (2015) generate it: a fixed step, clamped at the walls.

    In units of the free range (0: centre at `lo`, 1: at `hi`) the start is uniform in [0, 1)^2,
    the direction uniform in [0, 2*pi), the step `speed / room` (the original: 0.1, i.e. 3.6 px at
    64 px with 28 px digits, `speed_range: [3.6, 3.6]`). Every frame, first the digit takes a step;
    a coordinate that reaches or passes a wall (<= 0 or >= 1) is set onto it and that velocity
    component flips; then the frame is recorded (frame 0 is already one step from the start).
    The original truncates `room * x` to whole pixels: `placement: integer` does that.

    Shape: u (B, >= 4); frames (T,); returns (B, T, 2).
    """
    x = u[:, :2].clone()  # (B, 2) normalized position
    speed = _lerp(bounds.speed_min, bounds.speed_max, u[:, 3]) / max(bounds.room, 1e-6)  # (B,)
    velocity = _direction(u[:, 2]) * speed[:, None]  # (B, 2) free ranges per frame
    out = torch.empty(u.shape[0], frames.shape[0], 2, device=u.device, dtype=torch.float32)  # (B, T, 2)
    for t in range(frames.shape[0]):  # a scan: clamping loses the overshoot (see module docstring)
        x = x + velocity
        hit = (x <= 0) | (x >= 1)  # (B, 2)
        x = x.clamp(0.0, 1.0)
        velocity = torch.where(hit, -velocity, velocity)
        out[:, t] = x
    return bounds.lo + bounds.room * out


def _uniform_int(u: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """Integers uniform in [lo, hi] (as float32) from uniforms in [0, 1)."""
    return lo + torch.floor(u * (hi - lo + 1)).clamp_(max=hi - lo)


def _svg_positions(u: torch.Tensor, frames: torch.Tensor, bounds: MotionBounds, stochastic: bool) -> torch.Tensor:
    """Denton & Fergus (2018) Stochastic Moving MNIST trajectories (see the two public motions).

    Top-left offsets from `lo` are whole pixels in [0, W - 1], W = floor(room): the start is
    uniform there, the velocity uniform in [-v, v] per axis (v = floor(speed_max)). Every frame,
    before the digit is drawn: the y axis, then the x axis, is checked; a coordinate below 0 is set
    to 0, one at W or above to W - 1, and the velocity changes: reflected (deterministic), or
    (stochastic) a fresh component away from the wall, uniform in [ceil(speed_min), v], and a fresh
    other component uniform in [-v, v] (so an x bounce redraws the y velocity too, as in the
    original). After drawing, the digit moves by its velocity.

    Shape: u (B, >= 4) (stochastic: (B, MOTION_UNIFORMS + 4 T)); frames (T,); returns (B, T, 2).
    """
    B, T = u.shape[0], frames.shape[0]
    wall = math.floor(bounds.room)  # positions run over 0 .. wall - 1
    v_max = max(math.floor(bounds.speed_max), 0)
    v_min = min(max(math.ceil(bounds.speed_min), 1), max(v_max, 1))
    p = torch.floor(u[:, :2] * wall).clamp_(max=wall - 1)  # (B, 2) whole pixels, (x, y)
    v = _uniform_int(u[:, 2:4], -v_max, v_max)  # (B, 2)
    if stochastic:
        fresh = u[:, MOTION_UNIFORMS:MOTION_UNIFORMS + 4 * T].view(B, T, 2, 2)  # (B, T, axis, draw)
    out = torch.empty(B, T, 2, device=u.device, dtype=torch.float32)  # (B, T, 2)
    for t in range(T):  # a scan: the bounce depends on the path so far (see module docstring)
        for axis in (1, 0):  # the original checks y first, then x
            other = 1 - axis
            low, high = p[:, axis] < 0, p[:, axis] >= wall  # (B,)
            p[:, axis] = torch.where(low, 0.0, torch.where(high, wall - 1.0, p[:, axis]))
            hit = low | high  # (B,)
            if stochastic:
                away = _uniform_int(fresh[:, t, axis, 0], v_min, max(v_max, 1))  # (B,)
                along = _uniform_int(fresh[:, t, axis, 1], -v_max, v_max)  # (B,)
                v_axis = torch.where(low, away, torch.where(high, -away, v[:, axis]))
                v_other = torch.where(hit, along, v[:, other])
                v = torch.stack([v_axis, v_other] if axis == 0 else [v_other, v_axis], dim=1)  # (B, 2)
            else:
                v[:, axis] = torch.where(hit, -v[:, axis], v[:, axis])
        out[:, t] = p
        p = p + v
    return bounds.lo + out


def svg_bounce_positions(u: torch.Tensor, frames: torch.Tensor, bounds: MotionBounds) -> torch.Tensor:
    """Deterministic Moving MNIST of Denton & Fergus (2018): integer velocity, reflected at walls."""
    return _svg_positions(u, frames, bounds, stochastic=False)


def svg_stochastic_bounce_positions(u: torch.Tensor, frames: torch.Tensor, bounds: MotionBounds) -> torch.Tensor:
    """Stochastic Moving MNIST (SVG, Denton & Fergus 2018): a fresh random velocity at each bounce."""
    return _svg_positions(u, frames, bounds, stochastic=True)


for _name, _fn in (("bounce", bounce_positions), ("circular", circular_positions),
                   ("linear", linear_positions), ("spiral", spiral_positions),
                   ("srivastava_bounce", srivastava_bounce_positions), ("svg_bounce", svg_bounce_positions)):
    register_motion(_name, _fn)
register_motion("svg_stochastic_bounce", svg_stochastic_bounce_positions, frame_uniforms=4)
