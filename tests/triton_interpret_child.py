"""Runs the fused Triton renderer under Triton's CPU interpreter and measures it against torch.

Run as a child process by tests/test_render_triton.py: ``TRITON_INTERPRET=1`` must be in the
environment before ``triton`` is first imported, which a fresh process guarantees whatever the
test session imported before. Prints one JSON object: per case, how far the fused backend is
from the torch backend and from `render.render_reference`, and how many fused launches it made.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

os.environ["TRITON_INTERPRET"] = "1"

import torch  # noqa: E402

from videomnist_gpu import VideoMNISTConfig  # noqa: E402
from videomnist_gpu.synth.motions import register_motion  # noqa: E402
from videomnist_gpu.synth.render import render_reference  # noqa: E402
from videomnist_gpu.synth.render_triton import recording_launches  # noqa: E402
from videomnist_gpu.synth.synthesizer import Synthesizer  # noqa: E402


def still(u, frames, bounds):
    """A registered (non built-in) motion: the digit stays where it starts."""
    centre = bounds.lo + u[:, None, :2] * (bounds.hi - bounds.lo)  # (B, 1, 2)
    return centre.expand(-1, frames.numel(), 2)


register_motion("still", still)

# A covering design, not a product: every built-in motion, 1-4 digits, rotation/scale off and on
# (growing and shrinking), both placements, both composites, 32/64/128 px, 2/16/20/32 frames, both
# splits, a registered motion, and one mixed case rendered whole and in slices (batch invariance).
CASES = {
    "circular_k3_64px_t2_rot_scale_sum_test": (
        dict(motion_types=["circular"], num_digits=3, image_size=64, sequence_length=2, rotation_range=20.0,
             scale_range=[0.8, 1.1], composite="sum"), [3, 4], "test"),
    "linear_k4_32px_t4_integer": (
        dict(motion_types=["linear"], num_digits=4, image_size=32, sequence_length=4, placement="integer"), [5], "train"),
    "spiral_k2_128px_t2_sum": (
        dict(motion_types=["spiral"], num_digits=2, image_size=128, sequence_length=2, composite="sum"), [7], "train"),
    "srivastava_k1_32px_t32_integer": (
        dict(motion_types=["srivastava_bounce"], image_size=32, sequence_length=32, placement="integer",
             speed_range=[3.6, 3.6]), [2], "train"),
    "svg_bounce_k2_32px_t20_test": (
        dict(motion_types=["svg_bounce"], num_digits=2, image_size=32, sequence_length=20,
             speed_range=[2.0, 4.0]), [1], "test"),
    "svg_stochastic_k2_32px_t16_sum": (
        dict(motion_types=["svg_stochastic_bounce"], num_digits=2, image_size=32, sequence_length=16, composite="sum",
             speed_range=[2.0, 5.0]), [6], "train"),
    "all_builtins_k1_32px_t2": (
        dict(motion_types=["bounce", "circular", "linear", "spiral", "srivastava_bounce", "svg_bounce",
                           "svg_stochastic_bounce"], image_size=32, sequence_length=2), None, "train"),
    "custom_still_k2_40px_t4_rotation": (
        dict(motion_types=["still", "bounce"], num_digits=2, image_size=40, sequence_length=4, rotation_range=10.0),
        [0, 1], "train"),
    "shrink_k1_32px_t4_integer_test": (
        dict(motion_types=["bounce", "linear"], image_size=32, sequence_length=4, placement="integer",
             rotation_range=15.0, scale_range=[0.5, 1.0]), [0, 9], "test"),
}
SLICED = "all_builtins_k1_32px_t2"  # one clip of each motion; two of them also rendered apart, compared bitwise
FLOAT_CASE = "custom_still_k2_40px_t4_rotation"  # also writes the float32 batch, C = 3


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item() if a.numel() else 0.0


def measure(name: str, fields: dict, indices: list[int] | None, split: str) -> dict:
    """`indices` None: the first clip of each motion of the config."""
    config = VideoMNISTConfig(digits="mnist-5k", **fields)
    fused = Synthesizer(config, device="cpu", backend="triton")
    torch_synth = Synthesizer(config, device="cpu", backend="torch")
    if indices is None:
        motion = torch_synth.params(torch.arange(256), split).motion.tolist()
        indices = [motion.index(m) for m in range(len(config.motion_types))]
    idx = torch.tensor(indices, dtype=torch.int64)
    B, T, H = len(indices), config.sequence_length, config.image_size
    floats = torch.empty(B, 3, T, H, H) if name == FLOAT_CASE else None
    with recording_launches() as launches:
        got = fused.render(idx, split, float_video=floats)
    want = torch_synth.render(idx, split)
    p = torch_synth.params(idx, split)
    bank = torch_synth.bank(split)
    reference = render_reference(bank.images[p.digit], p.center, p.angle * (math.pi / 180), p.scale, H,
                                 config.composite)
    result = {
        "backend": fused.backend,
        "launches": len(launches),
        "label_equal": torch.equal(got.label, want.label),
        "motion_equal": torch.equal(got.motion, want.motion),
        "motions_covered": sorted(set(got.motion.tolist())),
        "index_equal": torch.equal(got.index, want.index),
        "position_max_diff": max_diff(got.position, want.position),
        "center_max_diff": max_diff(got.center, want.center),
        "angle_max_diff": max_diff(got.angle, want.angle),
        "scale_max_diff": max_diff(got.scale, want.scale),
        "video_vs_torch_max_diff": max_diff(got.video, want.video),
        "video_vs_reference_max_diff": max_diff(got.video, reference),
        "ink_per_frame": got.video.double().sum(dim=(2, 3)).mean().item(),
        "shapes_equal": all(getattr(got, f).shape == getattr(want, f).shape and getattr(got, f).dtype == getattr(want, f).dtype
                            for f in ("video", "label", "motion", "position", "center", "angle", "scale", "index")),
    }
    if floats is not None:
        expected = (got.video[:, None].to(torch.float32) / 255 - 0.5).expand(B, 3, T, H, H)
        result["float_equal"] = torch.equal(floats, expected)
    if name == SLICED:
        part = fused.render(idx[2:4], split)
        result["slices_equal"] = all(torch.equal(getattr(part, f), getattr(got, f)[2:4])
                                     for f in ("video", "label", "motion", "position", "center", "angle", "scale"))
    return result


def main(names: list[str]) -> None:
    results = {}
    for name in names or CASES:
        start = time.perf_counter()
        results[name] = measure(name, *CASES[name])
        results[name]["seconds"] = time.perf_counter() - start
        print(name, results[name], file=sys.stderr, flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
