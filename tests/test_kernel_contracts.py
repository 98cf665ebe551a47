"""Every kernel keeps the contract of `kernel_contract.check_kernel_contract`."""

import math

import pytest
import torch

from kernel_contract import check_kernel_contract
from videomnist_gpu.synth.motions import MotionBounds, get_motion
from videomnist_gpu.synth.render import render_reference
from videomnist_gpu.synth.render_fast import render_fast

BOUNDS = MotionBounds(lo=19.0, hi=45.0, speed_min=1.0, speed_max=3.0)


@pytest.mark.parametrize("name", ["bounce", "circular", "linear", "spiral"])
def test_motion_kernels(name, device):
    u = torch.rand(6, 8, generator=torch.Generator().manual_seed(1)).to(device)
    frames = torch.arange(16, dtype=torch.float32, device=device)
    check_kernel_contract(lambda uu, ff: get_motion(name)(uu, ff, BOUNDS), [u, frames],
                          torch.float32, [0, None], atol=1e-5)


def test_reference_renderer(device):
    g = torch.Generator().manual_seed(0)
    B, T, K, S = 3, 4, 2, 28
    sprites = torch.randint(0, 256, (B, K, S, S), generator=g, dtype=torch.uint8).to(device)
    center = (20 + 24 * torch.rand(B, T, K, 2, generator=g)).to(device)
    angle = (math.pi / 6 * (2 * torch.rand(B, T, K, generator=g) - 1)).to(device)
    scale = (0.9 + 0.2 * torch.rand(B, T, K, generator=g)).to(device)
    check_kernel_contract(lambda *a: render_reference(*a, 64), [sprites, center, angle, scale],
                          torch.uint8, [0, 0, 0, 0])


@pytest.mark.parametrize("translation_only", [True, False])
def test_fast_renderer(device, translation_only):
    g = torch.Generator().manual_seed(0)
    B, T, K, S = 3, 4, 2, 28
    sprites = torch.randint(0, 256, (B, K, S, S), generator=g, dtype=torch.uint8).to(device)
    center = (20 + 24 * torch.rand(B, T, K, 2, generator=g)).to(device)
    angle = torch.zeros(B, T, K) if translation_only else math.pi / 6 * (2 * torch.rand(B, T, K, generator=g) - 1)
    scale = torch.ones(B, T, K) if translation_only else 0.9 + 0.2 * torch.rand(B, T, K, generator=g)
    check_kernel_contract(
        lambda *a: render_fast(*a, 64, translation_only, max_scale=1.1, max_angle=math.pi / 6),
        [sprites, center, angle.to(device), scale.to(device)], torch.uint8, [0, 0, 0, 0])
