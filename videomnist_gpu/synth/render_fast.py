"""Fast render kernels: sample only where the digit is, then place the patch in the canvas.

Pure functions of (sprites, per-frame affine parameters). They produce what the reference
formulation (`render.render_reference`: every canvas pixel sampled over the whole canvas,
bilinear at scales >= 1, area-averaged when shrinking, ``max`` over digits, rounded) produces,
to within one grey level (float rounding of the sample coordinates differs), while touching only the
``(S+1) x (S+1)`` pixels a translated digit can reach, or the ``P x P`` box a rotated and
scaled digit can reach.

Device discipline: no host syncs (no ``.item()``, ``.tolist()``, ``.cpu()``), no Python loops
over clips or frames (only over the K <= 4 digits of a clip), fixed shapes that depend only on
tensor shapes and host floats, every tensor created on the inputs' device.

Memory: the kernels write their result into ``out`` when given (every byte overwritten). On the
CPU their temporaries live in per-thread scratch buffers reused across calls
(`videomnist_gpu.synth.cpu_buffers.scratch`), so a call pays for no fresh pages; elsewhere they are
ordinary tensors (CUDA's caching allocator reuses memory).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from videomnist_gpu.synth.annotations import tight_boxes
from videomnist_gpu.synth.config import COMPOSITES
from videomnist_gpu.synth.cpu_buffers import scratch
from videomnist_gpu.synth.render import BOX_CORNERS, integral_image

__all__ = [
    "render_fast",
    "render_translation",
    "render_integer",
    "render_affine",
    "affine_patch_size",
    "composite_digits",
]


def _check(sprites: torch.Tensor, centers: torch.Tensor, H: int) -> tuple[int, int, int, int]:
    if sprites.dim() != 4 or sprites.shape[-1] != sprites.shape[-2]:
        raise ValueError(f"sprites must be (B, K, S, S), got {tuple(sprites.shape)}")
    B, K, S, _ = sprites.shape
    if centers.dim() != 4 or centers.shape[0] != B or centers.shape[2] != K or centers.shape[3] != 2:
        raise ValueError(f"centers must be (B, T, K, 2) with B={B}, K={K}, got {tuple(centers.shape)}")
    if int(H) <= 0:
        raise ValueError(f"H must be a positive canvas size, got {H}")
    return B, centers.shape[1], K, S


def _write_patches(values: torch.Tensor, run: torch.Tensor) -> None:
    """Write float patches that hold whole numbers, or whole numbers plus a fraction to truncate,
    as uint8 into ``run``: through int16, because uint8 <-> float32 conversions are scalar loops
    on the CPU and via int16 they vectorize.

    Convention:
        values: float32 (..., P, P) in [0, 256); run: uint8 of the same shape (a view).
    """
    whole = scratch("render_fast.int16", values.shape, torch.int16, values.device)  # (B, K, T, P, P)
    whole.copy_(values)  # truncates
    run.copy_(whole)


def composite_digits(frames: torch.Tensor, composite: str = "max",
                     out: torch.Tensor | None = None, depth: torch.Tensor | None = None) -> torch.Tensor:
    """Composite the K digit layers of each frame: ``max``, ``sum`` clipped at 255, or ``over``.

    ``over`` shows at each pixel the front-most digit (smallest ``depth``) whose layer is > 0
    there, 0 where no layer has ink.

    Convention:
        frames: uint8 (B, K, T, H, W). out: uint8 (B, T, H, W) or None. depth: int64 (B, K),
        each row a permutation of 0..K-1 (0 = front), required for ``over``. Returns uint8
        (B, T, H, W) (``out`` when given).
    """
    if composite not in COMPOSITES:
        raise ValueError(f"composite: unknown {composite!r}. Valid: {', '.join(COMPOSITES)}")
    if composite == "over" and depth is None:
        raise ValueError("depth: required for composite 'over'")
    if out is None:
        out = torch.empty_like(frames[:, 0])  # (B, T, H, W)
    if frames.shape[1] == 1:
        return out.copy_(frames[:, 0])
    if composite == "max":
        return torch.amax(frames, dim=1, out=out)  # (B, T, H, W)
    if composite == "over":
        order = torch.argsort(depth, dim=1)  # (B, K): digit at each depth, front first
        clip = torch.arange(frames.shape[0], device=frames.device)  # (B,)
        out.copy_(frames[clip, order[:, -1]])  # (B, T, H, W): the back-most digit
        for r in range(frames.shape[1] - 2, -1, -1):  # K <= 4 digits, back to front
            layer = frames[clip, order[:, r]]  # (B, T, H, W)
            torch.where(layer > 0, layer, out, out=out)
        return out
    # saturating uint8 adds, a + min(b, 255 - a): no wider dtype (measured 18x faster than int16)
    out.copy_(frames[:, 0])
    for k in range(1, frames.shape[1]):  # K <= 4 digits
        out.add_(torch.minimum(frames[:, k], 255 - out))  # (B, T, H, W)
    return out


def _place(
    write_patches: Callable[[torch.Tensor], None], x0: torch.Tensor, y0: torch.Tensor,
    K: int, P: int, H: int, out: torch.Tensor | None = None, composite: str = "max",
    depth: torch.Tensor | None = None, layers: torch.Tensor | None = None,
) -> torch.Tensor:
    """Place uint8 patches in zero canvases at integer offsets, compositing digits (`composite_digits`).

    No per-pixel index and no scatter. Each patch is zero-padded to canvas width H, so its
    flattened rows form one contiguous run that equals the canvas's flat pixels from offset
    ``base = y0 * H + x0`` on (patch columns that fall outside the canvas must be zero, so the
    wrap from one row to the next only ever carries zeros). Every run sits at a fixed place
    in a zero buffer, and each canvas is the window of that buffer starting at ``HH - base``:
    windows are rows of an overlapping strided view, picked with one ``index_select`` (one
    contiguous copy per frame and digit) that writes straight into ``out``. Rows off the canvas
    fall outside the window. Consecutive runs share their zero gaps (pitch ``HH + P*H``). On the
    CPU the buffer is zeroed scratch (`cpu_buffers.scratch`) that stays zero outside the patch
    slots, so no call pays for zeroing it.

    Convention:
        write_patches(run) writes uint8 patches into ``run``, a (B, K, T, P, P) view into the
        buffer (P <= H); x0, y0: int64 (B, K, T), the canvas column / row of patch pixel (0, 0).
        out: uint8 (B, T, H, H), contiguous, or None (fresh). composite, depth: as
        `composite_digits` takes them. layers: uint8 (B, K, T, H, H), contiguous, or None: where
        to keep each digit's own canvas. Returns uint8 (B, T, H, H) (``out`` when given).
    """
    B, _, T = x0.shape
    HH = H * H
    dev = x0.device
    n = B * K * T
    if out is None:
        out = torch.empty(B, T, H, H, dtype=torch.uint8, device=dev)
    if n == 0:
        return out
    L = HH + P * H  # pitch: HH zeros, then run i; the zeros after run i are those before run i+1
    # (n+1, L): run i at [i*L + HH, (i+1)*L); row n: zeros. The name fixes where runs go.
    buf = scratch(f"render_fast.place.{H}.{P}", (n + 1, L), torch.uint8, dev, zeroed=True)
    write_patches(buf[:n, HH:].view(B, K, T, P, H)[..., :P])  # (B, K, T, P, P) view into buf
    base = (y0 * H + x0).clamp(-P * H, HH)  # (B, K, T); beyond the clamp the window is empty anyway
    # window i = [i*L + HH - base, +HH) lies within [i*L, (i+1)*L + HH): run i and zeros only
    start = torch.arange(n, device=dev) * L + (HH - base.reshape(n))  # (n,)
    windows = buf.view(-1).as_strided((n * L + 1, HH), (1, 1))  # every window, a view
    if K == 1 and layers is None:
        torch.index_select(windows, 0, start, out=out.view(n, HH))  # (B*T, HH) straight into out
        return out
    frames = scratch("render_fast.frames", (B, K, T, H, H), torch.uint8, dev) if layers is None else layers
    torch.index_select(windows, 0, start, out=frames.view(n, HH))  # (B, K, T, H, H)
    return composite_digits(frames, composite, out=out, depth=depth)  # (B, T, H, H)


def render_translation(
    sprites: torch.Tensor, centers: torch.Tensor, H: int, *, out: torch.Tensor | None = None,
    composite: str = "max", depth: torch.Tensor | None = None, layers: torch.Tensor | None = None,
) -> torch.Tensor:
    """Render translated digits (angle 0, scale 1): separable bilinear on an (S+1)^2 patch.

    For a pure translation the sub-pixel fraction is the same for every pixel of a frame, so the
    bilinear sample is a horizontal lerp of the zero-padded sprite followed by a vertical lerp,
    computed on the ``(S+1) x (S+1)`` patch the digit can touch. The sprite is converted once per
    clip; frames come in by broadcasting, never by copying sprites per frame.

    Convention:
        sprites: uint8 (B, K, S, S); centers: float32 (B, T, K, 2), (x, y) of each digit's centre
        in canvas pixels (pixel k spans [k, k+1)). out: uint8 (B, T, H, H), contiguous, or None.
        composite, depth, layers: as `render_fast` takes them. Returns uint8 (B, T, H, H)
        (``out`` when given).
    """
    B, T, K, S = _check(sprites, centers, H)
    dev = sprites.device
    origin = centers.to(torch.float32).transpose(1, 2) - S / 2  # (B, K, T, 2) sprite top-left
    o_int = torch.floor(origin)  # (B, K, T, 2)
    frac = (origin - o_int)[..., None, None]  # (B, K, T, 2, 1, 1) in [0, 1)
    o_int = o_int.to(torch.int64)  # (B, K, T, 2)
    # Patch columns that fall off the canvas must be zero (see _place): the horizontal
    # weights carry that mask. Every sample carries +0.5 (weights sum to 1), so the truncating
    # conversion rounds (half up); masked columns are exactly 0 and stay 0.
    cols = o_int[..., 0, None] + torch.arange(S + 1, device=dev)  # (B, K, T, S+1) canvas column per patch column
    inside = ((cols >= 0) & (cols < H)).unsqueeze(-2)  # (B, K, T, 1, S+1)
    fx = frac[:, :, :, 0] * inside  # (B, K, T, 1, S+1) masked weight of s[m-1]
    fx1 = (1 - frac[:, :, :, 0]) * inside  # (B, K, T, 1, S+1) masked weight of s[m]
    # uint8 <-> float32 conversions are scalar loops on the CPU; via int16 they vectorize
    sp = F.pad(sprites.to(torch.int16).to(torch.float32) + 0.5, (1, 1, 1, 1), value=0.5).unsqueeze(2)  # (B, K, 1, S+2, S+2)
    # canvas column o+m samples sprite column m - frac: (1-f) * s[m] + f * s[m-1]
    h = scratch("render_fast.rows", (B, K, T, S + 2, S + 1), torch.float32, dev)
    torch.mul(sp[..., 1:], fx1, out=h).addcmul_(sp[..., :-1], fx)  # (B, K, T, S+2, S+1)
    v = scratch("render_fast.values", (B, K, T, S + 1, S + 1), torch.float32, dev)
    torch.lerp(h[..., 1:, :], h[..., :-1, :], frac[:, :, :, 1], out=v)  # (B, K, T, S+1, S+1)
    return _place(lambda run: _write_patches(v, run), o_int[..., 0], o_int[..., 1], K, S + 1, H, out, composite,
                  depth, layers)


def render_integer(
    sprites: torch.Tensor, centers: torch.Tensor, H: int, *, out: torch.Tensor | None = None,
    composite: str = "max", depth: torch.Tensor | None = None, layers: torch.Tensor | None = None,
) -> torch.Tensor:
    """Render digits whose top-left corners sit on whole pixels: the sprite itself, placed.

    No sampling at all: each frame's patch is the uint8 sprite (a broadcast view over frames),
    its off-canvas columns zeroed, placed by `_place`. Equal to `render_translation` whenever
    ``centers - S/2`` holds whole numbers (its bilinear weights are then 0 and 1), at a fraction
    of the cost.

    Convention:
        sprites: uint8 (B, K, S, S); centers: float32 (B, T, K, 2) with ``centers - S/2`` whole
        (other values are rounded down). out: uint8 (B, T, H, H), contiguous, or None.
        composite, depth, layers: as `render_fast` takes them. Returns uint8 (B, T, H, H)
        (``out`` when given).
    """
    B, T, K, S = _check(sprites, centers, H)
    corner = torch.floor(centers.to(torch.float32).transpose(1, 2) - S / 2).to(torch.int64)  # (B, K, T, 2)
    cols = corner[..., 0, None] + torch.arange(S, device=sprites.device)  # (B, K, T, S) canvas column per sprite column
    inside = ((cols >= 0) & (cols < H)).to(torch.uint8).unsqueeze(-2)  # (B, K, T, 1, S)
    patches = sprites[:, :, None]  # (B, K, 1, S, S), broadcast over frames
    return _place(lambda run: torch.mul(patches, inside, out=run), corner[..., 0], corner[..., 1], K, S, H, out,
                  composite, depth, layers)


def affine_patch_size(S: int, max_scale: float | None, max_angle: float | None, H: int) -> int:
    """Side of the square patch that holds every pixel a rotated, scaled digit can touch.

    At scale s a canvas pixel averages the sprite over a square of side ``max(1, 1/s)`` (see
    `render.render_reference`), so the digit reaches a square of side ``S * s + max(s, 1)``
    around its centre; rotated by at most ``max_angle`` (radians, absolute) and scaled by at
    most ``max_scale`` its bounding box has that side times ``|cos a| + |sin a|``, maximised over
    ``|a| <= max_angle``; the patch adds 3 px for the integer placement (``floor`` of the origin
    plus the open footprint's edge pixels). ``None`` means unbounded: the whole canvas.
    """
    if max_scale is None:
        return int(H) + 3
    a = math.pi / 4 if max_angle is None else min(abs(float(max_angle)), math.pi / 4)
    side = (S * float(max_scale) + max(float(max_scale), 1.0)) * (math.cos(a) + math.sin(a))
    return int(min(math.ceil(side) + 3, int(H) + 3))


def _patch_values(
    sprites: torch.Tensor, sprite: torch.Tensor | None, d: torch.Tensor, angle: torch.Tensor, scale: torch.Tensor,
    P: int, area: bool,
) -> torch.Tensor:
    """Each frame's ``P x P`` patch as float values plus 0.5, for a truncating conversion to round.

    ``area=False``: one bilinear read of the sprite per pixel, exact when the frame's scale is
    >= 1. ``area=True``: the square's average read as the four-corner combination of the
    sprite's integral image (`render.integral_image`, sampled bilinearly: exact for an integral
    image of pixel squares), exact at every scale. With ``sprite=None`` the frames are those of
    every sprite in order (m = D * T) and fold into one sample grid per sprite, so sources are
    never copied per frame; otherwise each frame samples its own copy of its sprite's source
    (``(m, 1, n, n)``, a few KB), so any subset of frames can be rendered.

    Convention:
        sprites: uint8 (D, S, S); sprite: int64 (m,), each frame's row of ``sprites``, or None
        for T = m / D consecutive frames per sprite; d: float32 (m, 2), centre of patch pixel
        (0, 0) minus the digit centre, canvas pixels; angle (radians), scale: float32 (m,). Canvas point p maps to sprite point
        q = R(-angle) (p - c) / scale + S/2. Returns float32 (m, P, P), contiguous.
    """
    m, S, dev = d.shape[0], sprites.shape[-1], sprites.device
    if area:
        # integral image, sampled at normalized 2 q / S - 1 (align_corners=True, border padding:
        # beyond the sprite the integral image is constant, as border padding extends it)
        src, align, padding = integral_image(sprites), True, "border"  # (D, S+1, S+1)
        inv = 2.0 / (scale * S)  # (m,): canvas pixels -> normalized sprite units
        half = (1.0 / (S * scale.clamp(max=1.0)))[:, None]  # (m, 1): half the square's side, normalized
        corners = torch.tensor(BOX_CORNERS, device=dev, dtype=torch.float32)  # (4, 3): x sign, y sign, weight
        shift_x, shift_y = half * corners[:, 0], half * corners[:, 1]  # (m, 4)
    else:
        # Every sprite value carries +0.5, and so does a one-pixel border (the sprite's zeros
        # just outside), so a sample that reads only the padded sprite is its value + 0.5
        # (weights sum to 1) and the truncating conversion rounds it (half up); a sample that
        # also reads the zero padding beyond lies in [0, 0.5] where the true value is 0.
        src = F.pad(sprites.to(torch.int16).to(torch.float32) + 0.5, (1, 1, 1, 1), value=0.5)  # (D, S+2, S+2)
        align, padding = False, "zeros"  # F.grid_sample's zero padding, align_corners=False
        inv = 2.0 / (scale * (S + 2))  # (m,): canvas pixels -> [-1, 1] of the padded sprite
        shift_x = shift_y = torch.zeros((), device=dev)
    C = 4 if area else 1
    ar = torch.arange(P, device=dev, dtype=torch.float32)  # (P,)
    dx, dy = d[:, 0, None] + ar, d[:, 1, None] + ar  # (m, P): p_x - c_x per column, p_y - c_y per row
    cos, sin = (torch.cos(angle) * inv)[:, None], (torch.sin(angle) * inv)[:, None]  # (m, 1)
    # normalized sprite point g = inv R(-angle) (p - c), R(-angle) = [[cos, sin], [-sin, cos]],
    # plus each corner's shift, written as two planes; grid_sample reads the (..., 2) view of
    # them (coordinate stride m*C*P*P, W stride 1) as fast as an interleaved grid.
    planes = scratch("render_fast.grid", (2, m, C, P, P), torch.float32, dev)  # (2, m, C, P, P)
    torch.add(((dx * cos)[:, None, :] + shift_x[..., None])[:, :, None, :], (dy * sin)[:, None, :, None],
              out=planes[0])  # g_x: (m, C, 1, P) + (m, 1, P, 1)
    torch.sub(((dy * cos)[:, None, :] + shift_y[..., None])[:, :, :, None], (dx * sin)[:, None, None, :],
              out=planes[1])  # g_y: (m, C, P, 1) - (m, 1, 1, P)
    source = src[:, None] if sprite is None else src[sprite, None]  # (D or m, 1, n, n)
    grid = planes.view(2, source.shape[0], -1, P).permute(1, 2, 3, 0)  # (D or m, frames*C*P, P, 2)
    at = F.grid_sample(source, grid, mode="bilinear", padding_mode=padding,
                       align_corners=align).view(m, C, P, P)  # (m, C, P, P)
    if not area:
        return at[:, 0]  # (m, P, P)
    values = scratch("render_fast.values", (m, P, P), torch.float32, dev)  # (m, P, P)
    torch.sub(at[:, 0], at[:, 1], out=values).sub_(at[:, 2]).add_(at[:, 3])  # the square's sum
    # average (the square's area is 1 / min(s, 1)^2) + 0.5 in one pass, so the truncating
    # conversion rounds (half up); off the digit the sum is 0 up to float error and truncates to 0
    shrink = scale.clamp(max=1.0)  # (m,)
    return torch.addcmul(torch.full((), 0.5, device=dev), values, (shrink * shrink)[:, None, None], out=values)


_WINDOW_STEP = 6  # px between the window sizes a CPU render samples (even: windows stay centred)
_WINDOW_SIZES = 4  # how many: P, P - 6, P - 12, P - 18


def _cpu_window_sizes(sprites: torch.Tensor, sprite: torch.Tensor, angle: torch.Tensor,
                      scale: torch.Tensor, P: int) -> torch.Tensor:
    """The side of the square each frame samples on a CPU: the smallest of P, P - 6, ... that
    covers its digit's ink as drawn in that frame, else P.

    `affine_patch_size` bounds every frame by the whole sprite at the config's largest scale and
    angle; a frame needs only its own digit's ink (most MNIST digits reach 10-11 px from the
    sprite's centre, not 14) at its own scale and angle. The window sits at the centre of the
    frame's P x P slot (sizes differ from P by an even number), centred on the digit. A frame's
    size depends on that frame alone, so the pixels are the same whatever the batch.

    Shape: sprites uint8 (D, S, S); sprite int64 (n,); angle (radians), scale float32 (n,).
    Returns int64 (n,).
    """
    half = sprites.shape[-1] / 2
    x, y, w, h = tight_boxes(sprites).unbind(dim=-1)  # (D,) each; no ink: (0, 0, 0, 0), reach S/2
    reach = torch.stack([half - x, x + w - half, half - y, y + h - half]).amax(dim=0)  # (D,): farthest ink edge
    spread = angle.cos().abs() + angle.sin().abs()  # (n,): a rotated square's side / its own
    # the bound of `affine_patch_size` for a sprite of side 2 * reach, one pixel to spare
    need = torch.ceil((2 * reach[sprite] * scale + scale.clamp(min=1.0)) * spread) + 4  # (n,)
    sizes = [P - _WINDOW_STEP * i for i in range(_WINDOW_SIZES) if P - _WINDOW_STEP * i > 0]
    size = torch.full_like(sprite, P)  # (n,)
    for side in sizes[1:]:  # smaller and smaller
        size = torch.where(need <= side, side, size)
    return size


def render_affine(
    sprites: torch.Tensor,
    centers: torch.Tensor,
    angle: torch.Tensor,
    scale: torch.Tensor,
    H: int,
    patch_size: int,
    *,
    shrinking: bool = True,
    out: torch.Tensor | None = None,
    composite: str = "max",
    depth: torch.Tensor | None = None,
    layers: torch.Tensor | None = None,
) -> torch.Tensor:
    """Render rotated, scaled digits: ``grid_sample`` on a ``P x P`` patch around each digit.

    Each canvas pixel shows the average of the sprite (a field of pixel squares) over the square
    of side ``max(1, 1/scale)`` around its sprite point (`render.render_reference`). At scales
    >= 1 that is bilinear sampling of the sprite: one ``grid_sample`` read per pixel. With
    ``shrinking`` (some scale may be below 1) it is read from the sprite's integral image at the
    square's four corners (`_patch_values`). On the CPU, frames whose scale is >= 1 still take
    the one bilinear read (the frames are split by scale, which costs no device sync there), and
    each frame samples only the centred window of its patch that its own digit's ink can reach
    (`_cpu_window_sizes`); elsewhere every frame takes the four reads over the whole patch (same
    values up to float rounding). A patch as large as the canvas samples the canvas.

    Convention:
        sprites: uint8 (B, K, S, S); centers: float32 (B, T, K, 2); angle, scale: float32
        (B, T, K). Canvas point p maps to sprite point q = R(-angle) (p - c) / scale + S/2.
        ``patch_size`` P must cover the digit (see :func:`affine_patch_size`). ``shrinking=False``
        is the caller's promise that every scale is >= 1 (exact either way; faster). out: uint8
        (B, T, H, H), contiguous, or None. composite, depth, layers: as `render_fast` takes
        them. Returns uint8 (B, T, H, H) (``out`` when given).
    """
    B, T, K, S = _check(sprites, centers, H)
    P = min(int(patch_size), H)  # a patch as large as the canvas samples the canvas itself
    dev = sprites.device
    n = B * K * T
    c = centers.to(torch.float32).transpose(1, 2).reshape(n, 2)  # (n, 2), frames in (B, K, T) order
    windows = shrinking and dev.type == "cpu"  # frames sample windows around their own ink
    o_int = torch.floor(c - P / 2)  # (n, 2): canvas position of patch pixel (0, 0)
    if not windows:
        # kept on the canvas: the patch still covers every on-canvas pixel the digit reaches, and
        # no patch column falls off the canvas (windows zero their off-canvas columns instead)
        o_int.clamp_(0, H - P)
    d = o_int - c + 0.5  # (n, 2): centre of patch pixel (0, 0) relative to the digit centre
    left = o_int[:, 0]  # (n,): canvas column of patch column 0
    ang = angle.to(torch.float32).transpose(1, 2).reshape(n)  # (n,)
    s = scale.to(torch.float32).transpose(1, 2).reshape(n)  # (n,)
    flat = sprites.reshape(B * K, S, S)  # (B*K, S, S)

    def write_patches(run: torch.Tensor) -> None:  # run: uint8 (B, K, T, P, P) view
        frames = run.flatten(0, 2)  # (n, P, P) view
        if not windows:
            return _write_patches(_patch_values(flat, None, d, ang, s, P, area=shrinking), frames)
        sprite = torch.arange(B * K, device=dev).repeat_interleave(T)  # (n,): each frame's sprite
        size = _cpu_window_sizes(flat, sprite, ang, s, P)  # (n,): the window each frame samples
        for area, pick in ((False, s >= 1), (True, s < 1)):
            for side in size.unique().tolist():  # a host-side list, free on the CPU
                idx = (pick & (size == side)).nonzero().squeeze(1)  # (m,)
                if not idx.numel():
                    continue
                delta = (P - side) // 2  # the window sits at the centre of the frame's P x P slot
                values = _patch_values(flat, sprite[idx], d[idx] + delta, ang[idx], s[idx], side,
                                       area)  # (m, side, side)
                cols = left[idx, None] + delta + torch.arange(side, device=dev)  # (m, side) canvas columns
                values.mul_(((cols >= 0) & (cols < H))[:, None, :])  # off the canvas: 0 (see _place)
                patches = scratch("render_fast.patches", (idx.numel(), P, P), torch.uint8, dev)  # (m, P, P)
                if side < P:
                    patches.zero_()
                _write_patches(values, patches[:, delta:delta + side, delta:delta + side])
                frames.index_copy_(0, idx, patches)

    o_int = o_int.to(torch.int64).view(B, K, T, 2)  # (B, K, T, 2)
    return _place(write_patches, o_int[..., 0], o_int[..., 1], K, P, H, out, composite, depth, layers)


def render_fast(
    sprites: torch.Tensor,
    centers: torch.Tensor,
    angle: torch.Tensor | None,
    scale: torch.Tensor | None,
    H: int,
    translation_only: bool,
    *,
    max_scale: float | None = None,
    max_angle: float | None = None,
    min_scale: float | None = None,
    composite: str = "max",
    integer_placement: bool = False,
    out: torch.Tensor | None = None,
    depth: torch.Tensor | None = None,
    layers: torch.Tensor | None = None,
) -> torch.Tensor:
    """Render VideoMNIST frames from digit sprites and per-frame affine parameters.

    Args:
        sprites: digit images.
        centers: each digit's centre per frame.
        angle: rotation per frame in radians (ignored, may be None, when ``translation_only``).
        scale: scale per frame (ignored, may be None, when ``translation_only``).
        H: canvas side in pixels (square canvas).
        translation_only: the caller's promise that every angle is 0 and every scale 1 (the
            default config); selects the separable lerp kernel.
        max_scale, max_angle: host-side bounds on ``scale`` and ``|angle|`` (from the config)
            that size the affine patch; ``None`` samples a patch as large as the canvas (always
            correct, slower). Values outside the bounds would be cropped, never wrong elsewhere.
        min_scale: host-side lower bound on ``scale``; ``>= 1`` selects one bilinear read per
            pixel instead of the four-corner area average (same values). ``None``: may shrink.
        composite: ``max`` (default), ``sum`` (clipped at 255) or ``over`` (the front-most
            digit with ink) where digits overlap (`composite_digits`).
        integer_placement: the caller's promise that ``centers - S/2`` holds whole pixels; with
            ``translation_only`` selects `render_integer` (no sampling).
        out: where to write the frames (every byte is overwritten), or None for a fresh tensor.
        depth: each clip's drawing order of its digits (0 = front), required for ``over``.
        layers: where to keep each digit's own frames before compositing (every byte is
            overwritten), or None (not kept: the fastest).

    Returns:
        uint8 frames.

    Convention:
        sprites: uint8 (B, K, S, S). centers: float32 (B, T, K, 2), (x, y) in canvas pixel
        coordinates, pixel k spanning [k, k+1) (its centre at k + 0.5). angle, scale: float32
        (B, T, K). depth: int64 (B, K). layers: uint8 (B, K, T, H, H), contiguous. Returns
        uint8 (B, T, H, H) on the inputs' device.
        Canvas point p maps to sprite point q = R(-angle) (p - c) / scale + S/2 and shows the
        average of the sprite's pixel squares (sprite pixel j spans [j, j+1), zero outside) over
        the square of side ``max(1, 1/scale)`` centred at q: at scales >= 1 exactly what
        ``F.grid_sample(mode='bilinear', padding_mode='zeros', align_corners=False)`` samples;
        when shrinking, an area average that keeps the digit's ink. Digits composite with
        ``composite``; values are rounded to the nearest level (ties half up) and lie in 0..255.
        Equal to `render.render_reference` to within one grey level (sample coordinates are
        computed in a different float order).
    """
    if translation_only and integer_placement:
        return render_integer(sprites, centers, H, out=out, composite=composite, depth=depth, layers=layers)
    if translation_only:
        return render_translation(sprites, centers, H, out=out, composite=composite, depth=depth, layers=layers)
    if angle is None or scale is None:
        raise ValueError("angle and scale are required when translation_only=False")
    P = affine_patch_size(sprites.shape[-1], max_scale, max_angle, H)
    shrinking = min_scale is None or min_scale < 1
    return render_affine(sprites, centers, angle, scale, H, P, shrinking=shrinking, out=out, composite=composite,
                         depth=depth, layers=layers)
