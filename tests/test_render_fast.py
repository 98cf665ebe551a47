"""render_fast == the affine_grid / grid_sample reference; baselines' contract; fake-CUDA discipline."""
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from videomnist_gpu.synth.render import render_reference as reference
from videomnist_gpu.synth.render_fast import affine_patch_size, render_fast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from videomnist_gpu.bench.baselines import (  # noqa: E402
    classic_moving_mnist_clips,
    full_canvas_grid_sample_clips,
    original_scipy_clips,
)

S, H, T = 28, 64, 4


def random_inputs(B, K, gen, affine, max_scale=1.25, max_angle=math.pi / 6):
    sprites = torch.randint(0, 256, (B, K, S, S), generator=gen, dtype=torch.uint8)
    sprites[..., :2, :] = 0  # zero border, as MNIST digits have
    sprites[..., -2:, :] = 0
    sprites[..., :, :2] = 0
    sprites[..., :, -2:] = 0
    P = affine_patch_size(S, max_scale, max_angle, H) if affine else S + 1
    lo, hi = P / 2 + 1, H - P / 2 - 1  # the patch stays inside the canvas
    centers = torch.rand(B, T, K, 2, generator=gen) * (hi - lo) + lo
    if affine:
        angle = (torch.rand(B, T, K, generator=gen) * 2 - 1) * max_angle
        scale = torch.rand(B, T, K, generator=gen) * (max_scale - 0.75) + 0.75
    else:
        angle, scale = torch.zeros(B, T, K), torch.ones(B, T, K)
    return sprites, centers, angle, scale


@pytest.mark.parametrize("K", [1, 2])
@pytest.mark.parametrize("affine", [False, True])
def test_fast_path_matches_reference(K, affine):
    gen = torch.Generator().manual_seed(1000 * K + affine)
    sprites, centers, angle, scale = random_inputs(1000, K, gen, affine)
    ref = reference(sprites, centers, angle, scale, H)
    if affine:
        out = render_fast(sprites, centers, angle, scale, H, False, max_scale=1.25, max_angle=math.pi / 6)
    else:
        out = render_fast(sprites, centers, None, None, H, True)
    assert out.dtype == torch.uint8 and out.shape == (1000, T, H, H)
    diff = (out.int() - ref.int()).abs()
    assert diff.max().item() <= 1  # rounding of sample coordinates differs; never more than one level
    assert (diff == 0).float().mean().item() > 0.999  # pixels bitwise equal
    # the reference computes in float64; flips of the rounding are rare even among the ~600
    # inked pixels per frame of these noise sprites (measured 4e-4 with area averaging)
    assert (diff[ref > 0] > 0).float().mean().item() < 0.002


def test_growing_only_path_matches_reference():
    # min_scale >= 1: one bilinear read per pixel instead of the four-corner area average
    gen = torch.Generator().manual_seed(5)
    sprites, centers, angle, scale = random_inputs(300, 2, gen, affine=True)
    scale = 1 + (scale - 0.75) * 0.5  # (B, T, K) in [1, 1.25)
    ref = reference(sprites, centers, angle, scale, H)
    out = render_fast(sprites, centers, angle, scale, H, False, max_scale=1.25, max_angle=math.pi / 6, min_scale=1.0)
    diff = (out.int() - ref.int()).abs()
    assert diff.max().item() <= 1 and (diff[ref > 0] > 0).float().mean().item() < 0.002
    area = render_fast(sprites, centers, angle, scale, H, False, max_scale=1.25, max_angle=math.pi / 6)
    assert (area.int() - out.int()).abs().max().item() <= 1  # both formulations, same values


def test_off_canvas_and_unbounded_patch_match_reference():
    gen = torch.Generator().manual_seed(7)
    sprites, _, angle, scale = random_inputs(64, 2, gen, affine=True)
    centers = torch.rand(64, T, 2, 2, generator=gen) * (H + 40) - 20  # partly or wholly off canvas
    ref = reference(sprites, centers, angle, scale, H)
    for out in (
        render_fast(sprites, centers, angle, scale, H, False, max_scale=1.25, max_angle=math.pi / 6),
        render_fast(sprites, centers, angle, scale, H, False),  # no bounds: whole-canvas patch
    ):
        assert (out.int() - ref.int()).abs().max().item() <= 1
    ones, zeros = torch.ones_like(scale), torch.zeros_like(angle)
    ref = reference(sprites, centers, zeros, ones, H)
    out = render_fast(sprites, centers, None, None, H, True)
    assert (out.int() - ref.int()).abs().max().item() <= 1


def test_contract_empty_batched_inputs_untouched():
    gen = torch.Generator().manual_seed(3)
    sprites, centers, angle, scale = random_inputs(6, 2, gen, affine=True)
    before = [x.clone() for x in (sprites, centers, angle, scale)]
    for kw in (dict(translation_only=True), dict(translation_only=False, max_scale=1.25)):
        whole = render_fast(sprites, centers, angle, scale, H, **kw)
        parts = torch.cat([render_fast(sprites[i:i + 1], centers[i:i + 1], angle[i:i + 1],
                                       scale[i:i + 1], H, **kw) for i in range(6)])
        assert torch.equal(whole, parts)  # batched == one at a time
        empty = render_fast(sprites[:0], centers[:0], angle[:0], scale[:0], H, **kw)
        assert empty.shape == (0, T, H, H) and empty.dtype == torch.uint8
    for x, y in zip(before, (sprites, centers, angle, scale)):
        assert torch.equal(x, y)


@pytest.mark.parametrize("translation_only", [True, False])
def test_fake_cuda_device_discipline(translation_only):
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode(allow_non_fake_inputs=True):
        sprites = torch.zeros(4, 2, S, S, dtype=torch.uint8, device="cuda")
        centers = torch.full((4, T, 2, 2), 32.0, device="cuda")
        angle = torch.zeros(4, T, 2, device="cuda")
        scale = torch.ones(4, T, 2, device="cuda")
        out = render_fast(sprites, centers, angle, scale, H, translation_only, max_scale=1.2, max_angle=0.3)
        assert out.device.type == "cuda" and out.shape == (4, T, H, H) and out.dtype == torch.uint8


def test_baselines_shapes_and_content():
    digits = np.zeros((5, S, S), dtype=np.uint8)
    digits[:, 6:22, 10:18] = 200
    for clips in (original_scipy_clips(digits, 3), classic_moving_mnist_clips(digits, 3),
                  full_canvas_grid_sample_clips(digits, 3, batch_size=2).numpy()):
        assert clips.shape == (3, 16, 64, 64) and clips.dtype == np.uint8
        assert (clips.reshape(3 * 16, -1).max(axis=1) > 0).all()  # every frame shows the digit


def test_reused_workspace_never_leaks_earlier_patches():
    # the CPU placement workspace is reused across calls: alternate layouts (translation, affine,
    # H=62 with P=34 has the same pitch as H=64 with P=29) and sizes, compare every call
    gen = torch.Generator().manual_seed(11)
    for _ in range(2):
        for canvas, affine, max_scale in ((64, False, None), (62, True, 0.78), (64, True, 1.25), (64, False, None)):
            sprites, centers, angle, scale = random_inputs(5, 2, gen, affine=True)
            centers = centers * (canvas / H)
            ref = reference(sprites, centers, angle if affine else torch.zeros_like(angle),
                            scale.clamp(max=max_scale) if affine else torch.ones_like(scale), canvas)
            if affine:
                out = render_fast(sprites, centers, angle, scale.clamp(max=max_scale), canvas, False,
                                  max_scale=max_scale, max_angle=math.pi / 6)
            else:
                out = render_fast(sprites, centers, None, None, canvas, True)
            assert (out.int() - ref.int()).abs().max().item() <= 1


def test_cpu_windows_around_small_ink_match_reference_near_the_edges_too():
    """Digits whose ink stays near the sprite's centre: a CPU render samples windows smaller than
    the config's patch, centred on each digit, also where the digit is partly off the canvas."""
    from videomnist_gpu.synth.render_fast import _cpu_window_sizes

    gen = torch.Generator().manual_seed(11)
    sprites, _, angle, scale = random_inputs(200, 2, gen, affine=True)
    sprites[..., :8, :] = 0  # ink within 6 px of the centre
    sprites[..., -8:, :] = 0
    sprites[..., :, :8] = 0
    sprites[..., :, -8:] = 0
    centers = torch.rand(200, T, 2, 2, generator=gen) * (H + 20) - 10  # some near or over the edge
    P = affine_patch_size(S, 1.25, math.pi / 6, H)
    n = 200 * 2 * T
    size = _cpu_window_sizes(sprites.reshape(-1, S, S), torch.arange(400).repeat_interleave(T),
                             angle.transpose(1, 2).reshape(n), scale.transpose(1, 2).reshape(n), P)
    assert (size < P).all()  # every frame samples a smaller window
    ref = reference(sprites, centers, angle, scale, H)
    out = render_fast(sprites, centers, angle, scale, H, False, max_scale=1.25, max_angle=math.pi / 6)
    diff = (out.int() - ref.int()).abs()
    assert diff.max().item() <= 1 and (diff[ref > 0] > 0).float().mean().item() < 0.002
