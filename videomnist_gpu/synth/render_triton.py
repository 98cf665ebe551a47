"""The fused backend: one Triton kernel launch renders a whole batch, parameters included.

The torch backend (`params.draw_clip_params`, then `render_fast`) issues a few hundred small
kernels per render; on a GPU they, not the pixels, bound small and medium batches. The fused
kernel (`triton_kernel.fused_render_kernel`) does the same work per (clip, frame) in one launch:
the keyed random bits, labels and digit choice, the trajectory of every built-in motion, the
rotation and scale waves, the sprite sampling (bilinear, whole-pixel, or area-averaged when
shrinking), the composite, the uint8 video, the ground truth and, on request, the float32
VideoGPT batch ``u8 / 255 - 0.5``.

Launches per render:

- built-in motions only: **1** (the outputs are fresh ``torch.empty`` tensors, which launch
  nothing);
- a config with a registered (non built-in) motion: the torch backend draws the parameters
  (`draw_clip_params`: 88 launches for default clips with `bounce` and one registered motion), the
  position of each digit box is ``center - S * scale / 2`` (3 launches), and the fused kernel
  renders the pixels from the given parameters (**1**).

Exactness (against the torch backend, same device type): labels, digits and motion are bitwise
equal; positions, angles and scales agree to float rounding (the kernel follows `motions.py`'s
float operations in order; its sines and cosines may differ from torch's by an ulp), and the
whole-pixel motions (``svg_bounce``, ``svg_stochastic_bounce``, and every motion with
``placement: integer`` away from rounding ties) agree bitwise; pixels are within one grey level
of `render.render_reference`. The kernel runs on CUDA devices, and on the CPU under Triton's
interpreter (``TRITON_INTERPRET=1`` set before ``triton`` is first imported), which is how the
test suite checks it.

Importing this module does not import ``triton``; the first launch does.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
from dataclasses import dataclass
from typing import Iterator

import torch

from videomnist_gpu.errors import UsageError
from videomnist_gpu.synth import motions
from videomnist_gpu.synth.config import VideoMNISTConfig
from videomnist_gpu.synth.digits import DigitBank
from videomnist_gpu.synth.keyed_random import stream_key
from videomnist_gpu.synth.params import ClipParams, draw_clip_params

__all__ = [
    "BACKENDS",
    "FusedOutput",
    "LaunchRecord",
    "builtin_motions_only",
    "recording_launches",
    "render_fused",
    "resolve_backend",
    "triton_unavailable_reason",
]

BACKENDS = ("auto", "torch", "triton")
# built-in motion functions and their ids in the kernel
_BUILTIN_IDS = {
    motions.bounce_positions: 0, motions.circular_positions: 1, motions.linear_positions: 2,
    motions.spiral_positions: 3, motions.srivastava_bounce_positions: 4, motions.svg_bounce_positions: 5,
    motions.svg_stochastic_bounce_positions: 6,
}
# pixels x digit slots per tile: (KP, ROWS * WP) with KP * ROWS * WP <= the tile. On a GPU 512 (4
# per thread of 4 warps) keeps registers low (62 for default clips, 126 for 4 rotated digits at
# 128 px, sm_90, no spills); Triton's CPU interpreter pays per operation, so it takes large tiles.
_TILE = {"cuda": 512, "cpu": 4096}
_NUM_WARPS = 4


def triton_unavailable_reason(device: torch.device) -> str | None:
    """Why the fused kernel cannot run on `device` here, or None when it can.

    It runs on CUDA devices when Triton is installed, and on the CPU only under Triton's
    interpreter (``TRITON_INTERPRET=1`` in the environment before ``triton`` is imported).
    """
    if importlib.util.find_spec("triton") is None:
        return "Triton is not installed (it ships with PyTorch's Linux CUDA wheels)"
    if device.type == "cuda":
        return None
    if device.type == "cpu" and os.environ.get("TRITON_INTERPRET") == "1":
        return None
    return f"the fused kernel runs on CUDA devices (on the CPU only with TRITON_INTERPRET=1), not on {device}"


def resolve_backend(backend: str, device: torch.device) -> str:
    """The backend that renders on `device`: ``torch`` or ``triton``.

    ``auto`` is ``triton`` on a CUDA device when CUDA is available and Triton is installed, else
    ``torch``. ``triton`` where it cannot run is an error, not a silent fallback.

    Raises:
        UsageError: `backend` is not one of `BACKENDS`, or is ``triton`` where it cannot run.
    """
    if backend not in BACKENDS:
        raise UsageError(f"backend: unknown {backend!r}. Valid: {', '.join(BACKENDS)}")
    if backend == "torch":
        return "torch"
    reason = triton_unavailable_reason(device)
    if backend == "triton":
        if reason is not None:
            raise UsageError(f"backend: 'triton' cannot run here: {reason}; use --backend torch")
        return "triton"
    return "triton" if reason is None and device.type == "cuda" and torch.cuda.is_available() else "torch"


def builtin_motions_only(config: VideoMNISTConfig) -> bool:
    """True when every motion of `config` is a built-in one (the kernel computes it itself)."""
    return all(motions.get_motion(name) in _BUILTIN_IDS for name in config.motion_types)


@dataclass(frozen=True)
class FusedOutput:
    """What one fused render writes (the fields of `synthesizer.Clips` but the index).

    Shape:
        video: uint8 (B, T, H, W). label: int64 (B, K). motion: int64 (B,).
        position, center: float32 (B, T, K, 2) (box top-left corner; digit centre).
        angle, scale: float32 (B, T, K) (degrees; scale).
    """

    video: torch.Tensor
    label: torch.Tensor
    motion: torch.Tensor
    position: torch.Tensor
    center: torch.Tensor
    angle: torch.Tensor
    scale: torch.Tensor


@dataclass(frozen=True)
class LaunchRecord:
    """One fused launch: its programs and its compulsory memory traffic in bytes.

    ``bytes_read``: the clip indices, the sprites of the clip's digits once each (a program
    re-reads its clip's sprites, which stay in cache), the class tables and, for custom
    motions, the given parameters; ``bytes_written``: every output tensor, once.
    """

    programs: int
    bytes_read: int
    bytes_written: int


_RECORDERS: list[tuple[list[LaunchRecord], bool]] = []


@contextlib.contextmanager
def recording_launches(run: bool = True) -> Iterator[list[LaunchRecord]]:
    """Record every fused launch made inside the block into the yielded list.

    With ``run=False`` the kernel is not launched at all (for counting under a fake device,
    where tensors hold no data); the outputs then hold whatever memory they were given.
    """
    records: list[LaunchRecord] = []
    _RECORDERS.append((records, run))
    try:
        yield records
    finally:
        _RECORDERS.remove((records, run))


def _pow2(n: int) -> int:
    return 1 << max(int(n) - 1, 0).bit_length()


def _nbytes(*tensors: torch.Tensor) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _motion_constants(config: VideoMNISTConfig) -> dict[str, float]:
    """Host-side constants of `motions.py`, computed in Python floats exactly as it does."""
    lo, hi = config.center_bounds
    room = hi - lo
    smin, smax = config.speed_range
    max_radius = room / 2
    r_lo = min(4.0, max_radius / 2)
    v_max = max(math.floor(smax), 0)
    return dict(
        lo=lo, hi=hi, room=room, lo_plus_room=lo + room, two_room=2 * room, smin=smin, sdiff=smax - smin,
        duration=float(max(config.sequence_length - 1, 1)),
        r_lo=r_lo, r_diff=max_radius - r_lo, big_lo=0.6 * max_radius, big_diff=max_radius - 0.6 * max_radius,
        small_diff=0.3 * max_radius - 0.0, room_or_tiny=max(room, 1e-6),
        wall=float(math.floor(room)), v_min=float(min(max(math.ceil(smin), 1), max(v_max, 1))),
        v_up=float(max(v_max, 1)), v_max=float(v_max),
    )


def _kernel():
    from videomnist_gpu.synth.triton_kernel import fused_render_kernel

    return fused_render_kernel


def render_fused(config: VideoMNISTConfig, bank: DigitBank, indices: torch.Tensor, split: str, *,
                 float_video: torch.Tensor | None = None) -> FusedOutput:
    """Render clips `indices` of `split` in one fused launch (see the module docstring).

    Args:
        config: the dataset description.
        bank: the split's digits, resized to ``config.digit_size``, on the rendering device.
        indices: clip indices >= 0 on the bank's device (not checked here).
        split: ``train`` or ``test``.
        float_video: float32 (B, C, T, H, W), contiguous, on the device: also receives
            ``u8 / 255 - 0.5`` for each of its C channels, in the same launch.

    Shape:
        indices: int64 (B,). Returns `FusedOutput` with video uint8 (B, T, H, W).
    """
    B, T, K, H = indices.shape[0], config.sequence_length, config.num_digits, config.image_size
    S = config.digit_size
    device = bank.device
    video = torch.empty(B, T, H, H, dtype=torch.uint8, device=device)  # (B, T, H, W)
    given: ClipParams | None = None
    if builtin_motions_only(config):
        label = torch.empty(B, K, dtype=torch.int64, device=device)  # (B, K)
        motion = torch.empty(B, dtype=torch.int64, device=device)  # (B,)
        position = torch.empty(B, T, K, 2, dtype=torch.float32, device=device)  # (B, T, K, 2)
        center = torch.empty(B, T, K, 2, dtype=torch.float32, device=device)  # (B, T, K, 2)
        angle = torch.empty(B, T, K, dtype=torch.float32, device=device)  # (B, T, K)
        scale = torch.empty(B, T, K, dtype=torch.float32, device=device)  # (B, T, K)
    else:  # a registered motion: the torch backend's parameters, the kernel's pixels
        given = draw_clip_params(config, bank, indices, split)
        label, motion, center, angle, scale = given.label, given.motion, given.center, given.angle, given.scale
        position = given.center - S * given.scale[..., None] / 2  # (B, T, K, 2)
    if B == 0:
        return FusedOutput(video, label, motion, position, center, angle, scale)

    C = 1
    if float_video is not None:
        C = float_video.shape[1]
        if float_video.shape != (B, C, T, H, H) or float_video.dtype != torch.float32 or not float_video.is_contiguous():
            raise ValueError(f"float_video: expected contiguous float32 {(B, 'C', T, H, H)}, "
                             f"got {float_video.dtype} {tuple(float_video.shape)}")
    KP = _pow2(K)
    WP = _pow2(H)
    rows = max(1, min(WP, _TILE.get(device.type, _TILE["cuda"]) // (KP * WP)))
    lo_s, hi_s = config.scale_range
    shrink = min(lo_s, 1.0)
    if config.translation_only:
        reach, nb = S / 2 + 2.5, 2
    else:
        reach = (hi_s * S / 2 + 0.5 * max(hi_s, 1.0)) * math.sqrt(2) + 2.0
        nb = math.ceil(1 / shrink) + 1
    ids = 0
    for i, name in enumerate(config.motion_types):
        ids |= _BUILTIN_IDS.get(motions.get_motion(name), 0) << (4 * i)
    frame_uniforms = max(motions.motion_frame_uniforms(name) for name in config.motion_types)

    written = [video, float_video] if float_video is not None else [video]
    read = _nbytes(indices) + B * K * S * S
    if given is None:
        written += [label, motion, position, center, angle, scale]
        read += _nbytes(bank.class_start, bank.class_count)
    else:
        read += _nbytes(given.digit, given.center, given.angle, given.scale)
    record = LaunchRecord(B * T, read, _nbytes(*written))
    run = all(r for _, r in _RECORDERS)
    for records, _ in _RECORDERS:
        records.append(record)
    if not run:
        return FusedOutput(video, label, motion, position, center, angle, scale)

    if given is not None:
        inputs = (given.digit.contiguous(), given.center.contiguous(), given.angle.contiguous(),
                  given.scale.contiguous())
    else:
        inputs = (video, video, video, video)  # unused pointers
    _kernel()[(B * T,)](
        indices.contiguous(), bank.images.contiguous(), bank.class_start, bank.class_count, *inputs,
        video, float_video if float_video is not None else video, label, motion, position, center, angle, scale,
        stream_key(config.seed, split), len(config.motion_types), ids,
        **_motion_constants(config),
        half_digit=S / 2, rotation_range=float(config.rotation_range), scale_lo=float(lo_s),
        scale_diff=float(hi_s - lo_s), reach=float(reach),
        T=T, K=K, S=S, F=frame_uniforms,
        H=H, KP=KP, FP=_pow2(4 * T) if frame_uniforms else 1, C=C, WP=WP, ROWS=rows, NB=nb,
        PARAMS_GIVEN=given is not None, WRITE_FLOAT=float_video is not None,
        INTEGER=config.placement == "integer",
        ONE_READ=config.translation_only and config.placement == "integer",
        AFFINE=not config.translation_only, ROTATE=config.rotation_range != 0, SCALE=hi_s != lo_s,
        COMPOSITE_SUM=config.composite == "sum", TWO_PI=2 * math.pi, DEG=math.pi / 180,
        num_warps=_NUM_WARPS, enable_fp_fusion=False,
    )
    return FusedOutput(video, label, motion, position, center, angle, scale)
