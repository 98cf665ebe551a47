"""The fused synthesis kernel in Triton: keyed bits, parameters, trajectory, sampling, output.

Imported only by `render_triton` when the fused backend runs (this module imports ``triton``;
no ``from __future__ import annotations``: Triton reads the ``tl.constexpr`` annotations).
Every function here is a ``@triton.jit`` function; `render_triton` describes the launch and the
layout of the outputs.

Work split: one program per (clip, frame). A clip's parameters are a few hundred scalar
operations (hashes, a trajectory, two waves), so each program recomputes them for its own clip
instead of reading them from a buffer a second launch would need; the frame's pixels are the
bulk of the work, and B x T programs keep a GPU busy already at small batches (64 clips of 16
frames are 1,024 programs). A program walks its canvas in tiles of rows, computes each pixel
from the K digits (a (KP, BLOCK) tile, KP = K rounded up to a power of two), and writes each
output byte once, coalesced. A tile that no digit reaches is written as zeros without sampling.
The scanning motions (``srivastava_bounce``, ``svg_bounce``, ``svg_stochastic_bounce``) loop
over frames 0..t inside the program.

Float order: every parameter follows `params.py` and `motions.py` operation by operation, in
float32, with the host constants rounded as torch rounds Python scalars (the caller passes them
as float32 arguments), divisions correctly rounded (``div_rn``; ``x / 2`` written ``x * 0.5``,
the same value) and, on a GPU, no contraction
into fused multiply-adds (the launch sets ``enable_fp_fusion=False``). Integer quantities
(labels, digits, motion, the whole-pixel SVG motions) are therefore bitwise those of the torch
path; sines and cosines may differ from torch's by an ulp, so positions of the other motions
agree to float rounding.
"""

import triton
import triton.language as tl


@triton.jit
def _mix32(x):
    """`keyed_random._mix32` on uint32 (products wrap modulo 2**32, as the int64 version masks)."""
    x = (x ^ (x >> 16)) * 0x7FEB352D
    x = (x ^ (x >> 15)) * 0x2C1B3C6D
    return x ^ (x >> 16)


@triton.jit
def _bits(h, key, counter):
    """`keyed_random.random_bits`' 32-bit number `counter` (any int tensor) of a clip with hash `h`."""
    c = ((counter.to(tl.int64) * 0x9E3779B9) & 0xFFFFFFFF).to(tl.uint32)
    return _mix32(_mix32(h ^ c) ^ key)


@triton.jit
def _uniforms(bits):
    """`keyed_random.uniforms`: 24 random bits, exact in float32."""
    return (bits >> 8).to(tl.float32) * (1.0 / 16777216.0)


@triton.jit
def _column(table, cols, j):
    """Column `j` (a scalar or one per row) of a (KP, N) table: exact, every other term is zero."""
    return tl.sum(tl.where(cols[None, :] == j, table, 0), axis=1)


@triton.jit
def _reflect(x, lo, length, lo_plus_length, two_length):
    """`motions._reflect` (torch.remainder: fmod, then the divisor added to a negative rest)."""
    y = (x - lo) % two_length
    y = tl.where(y < 0, y + two_length, y)
    return lo_plus_length - tl.abs(length - y)


@triton.jit
def _bounce(u0, u1, u2, u3, t, lo, room, lo_plus_room, two_room, smin, sdiff, TWO_PI: tl.constexpr):
    start_x = lo + room * u0
    start_y = lo + room * u1
    speed = smin + sdiff * u2
    theta = TWO_PI * u3
    vx = tl.cos(theta) * speed
    vy = tl.sin(theta) * speed
    return (_reflect(start_x + vx * t, lo, room, lo_plus_room, two_room),
            _reflect(start_y + vy * t, lo, room, lo_plus_room, two_room))


@triton.jit
def _circular(u0, u1, u2, u3, u4, u5, t, lo, room, r_lo, r_diff, smin, sdiff, TWO_PI: tl.constexpr):
    radius = r_lo + r_diff * u0
    centre_x = (lo + radius) + (room - 2 * radius) * u1
    centre_y = (lo + radius) + (room - 2 * radius) * u2
    phase = TWO_PI * u3
    sign = tl.where(u4 < 0.5, -1.0, 1.0)
    speed = smin + sdiff * u5
    omega = tl.math.div_rn(sign * speed, radius)
    angle = phase + omega * t
    return centre_x + radius * tl.cos(angle), centre_y + radius * tl.sin(angle)


@triton.jit
def _linear(u0, u1, u2, u3, u4, u5, u6, t, lo, hi, room, smin, sdiff, duration, TWO_PI: tl.constexpr):
    theta = TWO_PI * u0
    dir_x = tl.cos(theta)
    dir_y = tl.sin(theta)
    speed = smin + sdiff * u1
    length = speed * duration
    reach_x = length * tl.abs(dir_x)
    reach_y = length * tl.abs(dir_y)
    # torch computes `room / x` as reciprocal(x) * room
    shrink_x = tl.math.div_rn(1.0, tl.maximum(reach_x, 1e-6)) * room
    shrink_y = tl.math.div_rn(1.0, tl.maximum(reach_y, 1e-6)) * room
    shrink = tl.minimum(tl.minimum(shrink_x, shrink_y), 1.0)
    step = speed * shrink
    travel_x = dir_x * step
    travel_y = dir_y * step
    span_x = tl.abs(travel_x) * duration
    span_y = tl.abs(travel_y) * duration
    start_x = (lo + tl.where(travel_x < 0, span_x, 0.0)) + (room - span_x) * u2
    start_y = (lo + tl.where(travel_y < 0, span_y, 0.0)) + (room - span_y) * u3
    cycles = 0.5 + 1.0 * u5
    phase = TWO_PI * u6
    wobble = u4 * tl.sin(phase + tl.math.div_rn((TWO_PI * cycles) * t, duration))
    x = (start_x + travel_x * t) + wobble * (-dir_y)
    y = (start_y + travel_y * t) + wobble * dir_x
    return tl.minimum(tl.maximum(x, lo), hi), tl.minimum(tl.maximum(y, lo), hi)


@triton.jit
def _spiral(u0, u1, u2, u3, u4, u5, u6, u7, t, lo, room, big_lo, big_diff, small_diff, smin, sdiff,
            duration, TWO_PI: tl.constexpr):
    big = big_lo + big_diff * u0
    small = 0.0 + small_diff * u1
    growing = u2 < 0.5
    r0 = tl.where(growing, small, big)
    r1 = tl.where(growing, big, small)
    centre_x = (lo + big) + (room - 2 * big) * u3
    centre_y = (lo + big) + (room - 2 * big) * u4
    fraction = tl.math.div_rn(t, duration)
    radius = r0 + (r1 - r0) * fraction
    sign = tl.where(u5 < 0.5, -1.0, 1.0)
    speed = smin + sdiff * u6
    omega = tl.math.div_rn(sign * speed, tl.maximum((r0 + r1) * 0.5, 2.0))  # x * 0.5 == x / 2 exactly
    angle = TWO_PI * u7 + omega * t
    return centre_x + radius * tl.cos(angle), centre_y + radius * tl.sin(angle)


@triton.jit
def _srivastava(u0, u1, u2, u3, frame, lo, room, smin, sdiff, room_or_tiny, TWO_PI: tl.constexpr):
    speed = tl.math.div_rn(smin + sdiff * u3, room_or_tiny)
    theta = TWO_PI * u2
    vx = tl.cos(theta) * speed
    vy = tl.sin(theta) * speed
    x = u0
    y = u1
    for _ in range(frame + 1):  # the scan of `motions.srivastava_bounce_positions`, frames 0..t
        x = x + vx
        y = y + vy
        hit_x = (x <= 0) | (x >= 1)
        hit_y = (y <= 0) | (y >= 1)
        x = tl.minimum(tl.maximum(x, 0.0), 1.0)
        y = tl.minimum(tl.maximum(y, 0.0), 1.0)
        vx = tl.where(hit_x, -vx, vx)
        vy = tl.where(hit_y, -vy, vy)
    return lo + room * x, lo + room * y


@triton.jit
def _uniform_int(u, lo, n):
    """`motions._uniform_int`: lo + min(floor(u * n), n - 1) as float32, n = hi - lo + 1."""
    return lo + tl.minimum(tl.floor(u * n), n - 1.0)


@triton.jit
def _svg(u0, u1, u2, u3, frame, fresh, fresh_cols, lo, wall, v_min, v_up, v_max, STOCHASTIC: tl.constexpr):
    """`motions._svg_positions` for frame `frame`: the scan runs over frames 0..frame.

    `fresh` (KP, N) holds each digit's frame uniforms: frame s, axis a (1: y, 0: x), draw d in
    column ``4 s + 2 a + d``. The y wall is checked before the x wall, as in the original.
    """
    px = tl.minimum(tl.floor(u0 * wall), wall - 1.0)
    py = tl.minimum(tl.floor(u1 * wall), wall - 1.0)
    vx = _uniform_int(u2, -v_max, 2.0 * v_max + 1.0)
    vy = _uniform_int(u3, -v_max, 2.0 * v_max + 1.0)
    for s in range(frame + 1):
        # y wall
        low = py < 0
        high = py >= wall
        py = tl.where(low, 0.0, tl.where(high, wall - 1.0, py))
        hit = low | high
        if STOCHASTIC:
            away = _uniform_int(_column(fresh, fresh_cols, 4 * s + 2), v_min, v_up - v_min + 1.0)
            along = _uniform_int(_column(fresh, fresh_cols, 4 * s + 3), -v_max, 2.0 * v_max + 1.0)
            vy = tl.where(low, away, tl.where(high, -away, vy))
            vx = tl.where(hit, along, vx)
        else:
            vy = tl.where(hit, -vy, vy)
        # x wall
        low = px < 0
        high = px >= wall
        px = tl.where(low, 0.0, tl.where(high, wall - 1.0, px))
        hit = low | high
        if STOCHASTIC:
            away = _uniform_int(_column(fresh, fresh_cols, 4 * s), v_min, v_up - v_min + 1.0)
            along = _uniform_int(_column(fresh, fresh_cols, 4 * s + 1), -v_max, 2.0 * v_max + 1.0)
            vx = tl.where(low, away, tl.where(high, -away, vx))
            vy = tl.where(hit, along, vy)
        else:
            vx = tl.where(hit, -vx, vx)
        if s < frame:  # after frame s is drawn, the digit moves
            px = px + vx
            py = py + vy
    return lo + px, lo + py


@triton.jit
def _wave(phase_u, speed_u, t, TWO_PI: tl.constexpr):
    """`params._smooth_wave` for speeds (0.1, 0.4): sin(2 pi phase + omega t)."""
    omega = 0.1 + 0.30000000000000004 * speed_u
    return tl.sin(TWO_PI * phase_u + omega * t)


# integer arguments are not specialized (Triton would compile a variant for values of 1 and for
# multiples of 16): one compiled kernel per combination of the constexpr switches below
@triton.jit(do_not_specialize=["key", "n_motions", "motion_ids", "T", "K", "S", "F"])
def fused_render_kernel(
    # inputs
    index_ptr, images_ptr, class_start_ptr, class_count_ptr,
    given_digit_ptr, given_center_ptr, given_angle_ptr, given_scale_ptr,
    # outputs
    video_ptr, float_ptr, label_ptr, motion_ptr, position_ptr, center_ptr, angle_ptr, scale_ptr,
    # scalars: keyed randomness and motions
    key, n_motions, motion_ids,
    lo, hi, room, lo_plus_room, two_room, smin, sdiff, duration,
    r_lo, r_diff, big_lo, big_diff, small_diff, room_or_tiny,
    wall, v_min, v_up, v_max,
    # scalars: geometry and waves
    half_digit, rotation_range, scale_lo, scale_diff, reach,
    # shapes: clip length, digits, sprite side, frame uniforms per frame (run-time values: one
    # compiled kernel serves every clip length, digit count and sprite size)
    T, K, S, F,
    # constexpr shapes and switches
    H: tl.constexpr, KP: tl.constexpr, FP: tl.constexpr, C: tl.constexpr, WP: tl.constexpr,
    ROWS: tl.constexpr, NB: tl.constexpr,
    PARAMS_GIVEN: tl.constexpr, WRITE_FLOAT: tl.constexpr, INTEGER: tl.constexpr, ONE_READ: tl.constexpr,
    AFFINE: tl.constexpr, ROTATE: tl.constexpr, SCALE: tl.constexpr, COMPOSITE_SUM: tl.constexpr,
    TWO_PI: tl.constexpr, DEG: tl.constexpr,
):
    """Clip ``pid // T``, frame ``pid % T``: parameters, ground truth, and the frame's pixels.

    Shape (B clips): index int64 (B,); images uint8 (N, S, S); class_start, class_count int64
    (10,); given_* (only with PARAMS_GIVEN) digit int64 (B, K), center float32 (B, T, K, 2),
    angle, scale float32 (B, T, K). Outputs: video uint8 (B, T, H, H); float float32
    (B, C, T, H, H) (with WRITE_FLOAT); label int64 (B, K); motion int64 (B,); position, center
    float32 (B, T, K, 2); angle, scale float32 (B, T, K) (ground truth written unless PARAMS_GIVEN).
    """
    pid = tl.program_id(0)
    b = pid // T
    t = pid % T
    tf = t.to(tl.float32)
    k = tl.arange(0, KP)  # (KP,) digit slot
    valid = k < K  # (KP,)

    if PARAMS_GIVEN:
        digit = tl.load(given_digit_ptr + b * K + k, mask=valid, other=0)  # (KP,)
        row = (b * T + t) * K + k  # (KP,)
        cx = tl.load(given_center_ptr + row * 2, mask=valid, other=0.0)
        cy = tl.load(given_center_ptr + row * 2 + 1, mask=valid, other=0.0)
        angle = tl.load(given_angle_ptr + row, mask=valid, other=0.0)
        scale = tl.load(given_scale_ptr + row, mask=valid, other=1.0)
    else:
        index = tl.load(index_ptr + b)
        kk = key.to(tl.int64).to(tl.uint32)
        low_half = (index & 0xFFFFFFFF).to(tl.uint32)
        high_half = (index >> 32).to(tl.uint32)
        h = _mix32(_mix32(low_half ^ kk) ^ _mix32(high_half))  # the clip's hash (scalar)
        # one table of the clip's random bits: columns 0..15 are counters 0..15 (digits 0 + k,
        # classes 4 + k, motion 8), columns 16 + j are counter 16 + 16 k + j of digit k
        cols = tl.arange(0, 32)  # (32,)
        counter = tl.where(cols[None, :] < 16, cols[None, :], 16 + 16 * k[:, None] + cols[None, :] - 16)  # (KP, 32)
        table = _bits(h, kk, counter)  # (KP, 32) uint32
        wide = table.to(tl.int64)
        label = tl.where(k == 0, index % 10, (_column(wide, cols, (4 + k)[:, None]) * 10) >> 32)  # (KP,)
        count = tl.load(class_count_ptr + label)
        digit = tl.load(class_start_ptr + label) + ((_column(wide, cols, k[:, None]) * count) >> 32)  # (KP,)
        motion = (tl.sum(_column(wide, cols, 8) * (k == 0)) * n_motions) >> 32  # scalar
        first = t == 0
        tl.store(label_ptr + b * K + k, label, mask=valid & first)
        tl.store(motion_ptr + b, motion, mask=first)
        uni = _uniforms(table)  # (KP, 32)
        u0 = _column(uni, cols, 16)
        u1 = _column(uni, cols, 17)
        u2 = _column(uni, cols, 18)
        u3 = _column(uni, cols, 19)
        u4 = _column(uni, cols, 20)
        u5 = _column(uni, cols, 21)
        u6 = _column(uni, cols, 22)
        u7 = _column(uni, cols, 23)
        # built-in id of the clip's motion (4 bits per config motion, `render_triton._BUILTIN_IDS`):
        # 0 bounce, 1 circular, 2 linear, 3 spiral, 4 srivastava_bounce, 5 svg_bounce,
        # 6 svg_stochastic_bounce
        kind = (motion_ids >> (4 * motion)) & 15
        cx = tl.zeros([KP], dtype=tl.float32)
        cy = tl.zeros([KP], dtype=tl.float32)
        if kind == 0:
            cx, cy = _bounce(u0, u1, u2, u3, tf, lo, room, lo_plus_room, two_room, smin, sdiff, TWO_PI)
        elif kind == 1:
            cx, cy = _circular(u0, u1, u2, u3, u4, u5, tf, lo, room, r_lo, r_diff, smin, sdiff, TWO_PI)
        elif kind == 2:
            cx, cy = _linear(u0, u1, u2, u3, u4, u5, u6, tf, lo, hi, room, smin, sdiff, duration, TWO_PI)
        elif kind == 3:
            cx, cy = _spiral(u0, u1, u2, u3, u4, u5, u6, u7, tf, lo, room, big_lo, big_diff, small_diff,
                             smin, sdiff, duration, TWO_PI)
        elif kind == 4:
            cx, cy = _srivastava(u0, u1, u2, u3, t, lo, room, smin, sdiff, room_or_tiny, TWO_PI)
        elif kind == 5:
            cx, cy = _svg(u0, u1, u2, u3, t, uni, cols, lo, wall, v_min, v_up, v_max, False)
        else:
            # frame uniforms of digit k: counter 80 + k T F + 4 s + 2 a + d (`params.py`)
            fresh_cols = tl.arange(0, FP)  # (FP,)
            fresh_counter = 80 + (k * (T * F))[:, None] + fresh_cols[None, :]  # (KP, FP)
            fresh = _uniforms(_bits(h, kk, fresh_counter))  # (KP, FP)
            cx, cy = _svg(u0, u1, u2, u3, t, fresh, fresh_cols, lo, wall, v_min, v_up, v_max, True)
        if INTEGER:
            cx = tl.floor(cx - half_digit) + half_digit
            cy = tl.floor(cy - half_digit) + half_digit
        # rotation (counters 16 + 16 k + 8, 9) and scale (+ 10, 11) waves
        if ROTATE:
            angle = rotation_range * _wave(_column(uni, cols, 24), _column(uni, cols, 25), tf, TWO_PI)
        else:
            angle = tl.zeros([KP], dtype=tl.float32)
        if SCALE:
            scale = scale_lo + scale_diff * (0.5 + 0.5 * _wave(_column(uni, cols, 26), _column(uni, cols, 27), tf, TWO_PI))
        else:
            scale = tl.zeros([KP], dtype=tl.float32) + scale_lo
        row = (b * T + t) * K + k  # (KP,)
        tl.store(position_ptr + row * 2, cx - (S * scale) * 0.5, mask=valid)
        tl.store(position_ptr + row * 2 + 1, cy - (S * scale) * 0.5, mask=valid)
        tl.store(center_ptr + row * 2, cx, mask=valid)
        tl.store(center_ptr + row * 2 + 1, cy, mask=valid)
        tl.store(angle_ptr + row, angle, mask=valid)
        tl.store(scale_ptr + row, scale, mask=valid)

    # ---------------------------------------------------------------- pixels
    # canvas point p maps to sprite point q = R(-angle) (p - c) / scale + S/2; the value is the
    # average of the sprite's pixel squares over the square of side 1 / min(scale, 1) around q
    sprite = images_ptr + digit.to(tl.int64) * (S * S)  # (KP,) pointers
    if AFFINE:
        radians = angle * DEG
        cos_s = tl.math.div_rn(tl.cos(radians), scale)  # (KP,)
        sin_s = tl.math.div_rn(tl.sin(radians), scale)
        shrink = tl.minimum(scale, 1.0)
        side = tl.math.div_rn(1.0, shrink)  # (KP,) side of the averaging square, sprite pixels
    y_top = tl.min(tl.where(valid, cy - reach, 1e9), axis=0)  # rows the digits may reach
    y_bottom = tl.max(tl.where(valid, cy + reach, -1e9), axis=0)
    pix = tl.arange(0, ROWS * WP)  # (BLOCK,)
    col = pix % WP
    frame_base = (b * T + t).to(tl.int64) * (H * H)
    for r0 in range(0, H, ROWS):
        rows = r0 + pix // WP  # (BLOCK,)
        inside = (col < H) & (rows < H)
        value = tl.zeros([ROWS * WP], dtype=tl.float32)
        if (y_bottom >= r0) & (y_top <= r0 + ROWS):
            dx = (col.to(tl.float32) + 0.5)[None, :] - cx[:, None]  # (KP, BLOCK) p - c
            dy = (rows.to(tl.float32) + 0.5)[None, :] - cy[:, None]
            if AFFINE:
                qx = (cos_s[:, None] * dx + sin_s[:, None] * dy) + half_digit
                qy = (cos_s[:, None] * dy - sin_s[:, None] * dx) + half_digit
                half = (side * 0.5)[:, None]  # (KP, 1)
            else:
                qx = dx + half_digit
                qy = dy + half_digit
                half = 0.5
            x_lo = qx - half  # (KP, BLOCK) the square [x_lo, x_hi] x [y_lo, y_hi]
            x_hi = qx + half
            y_lo = qy - half
            y_hi = qy + half
            j0 = tl.floor(x_lo)
            i0 = tl.floor(y_lo)
            total = tl.zeros([KP, ROWS * WP], dtype=tl.float32)
            if ONE_READ:  # whole-pixel placement, no rotation or scale: the square is one sprite pixel
                j = j0.to(tl.int32)
                i = i0.to(tl.int32)
                m = valid[:, None] & (j >= 0) & (j < S) & (i >= 0) & (i < S)
                total = tl.load(sprite[:, None] + i * S + j, mask=m, other=0).to(tl.float32)
            else:
                for di in tl.static_range(NB):
                    i = i0 + di
                    wy = tl.maximum(tl.minimum(i + 1.0, y_hi) - tl.maximum(i, y_lo), 0.0)
                    ii = i.to(tl.int32)
                    row_ok = valid[:, None] & (ii >= 0) & (ii < S) & (wy > 0)
                    for dj in tl.static_range(NB):
                        j = j0 + dj
                        wx = tl.maximum(tl.minimum(j + 1.0, x_hi) - tl.maximum(j, x_lo), 0.0)
                        jj = j.to(tl.int32)
                        m = row_ok & (jj >= 0) & (jj < S) & (wx > 0)
                        ink = tl.load(sprite[:, None] + ii * S + jj, mask=m, other=0).to(tl.float32)
                        total += (wx * wy) * ink
                if AFFINE:
                    total = total * (shrink * shrink)[:, None]  # divide by the square's area
            level = tl.minimum(tl.floor(total + 0.5), 255.0)  # (KP, BLOCK), rounded half up
            if COMPOSITE_SUM:
                value = tl.minimum(tl.sum(level, axis=0), 255.0)
            else:
                value = tl.max(level, axis=0)
        offset = frame_base + rows * H + col  # (BLOCK,)
        tl.store(video_ptr + offset, value.to(tl.uint8), mask=inside)
        if WRITE_FLOAT:
            normalized = tl.math.div_rn(value, 255.0) - 0.5
            clip_base = b.to(tl.int64) * (C * T * H * H) + t * (H * H) + rows * H + col
            for c in tl.static_range(C):
                tl.store(float_ptr + clip_base + c * (T * H * H), normalized, mask=inside)
