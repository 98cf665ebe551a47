import math

import pytest
import torch

from videomnist_gpu import MotionBounds, Synthesizer, VideoMNISTConfig, register_motion, registered_motions
from videomnist_gpu.synth.motions import get_motion

BOUNDS = MotionBounds(lo=19.0, hi=45.0, speed_min=1.0, speed_max=3.0)
FRAMES = torch.arange(32, dtype=torch.float32)


def _u(n=2000, seed=0):
    return torch.rand(n, 8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", ["bounce", "circular", "linear", "spiral"])
def test_every_motion_stays_in_bounds_and_moves(name):
    pos = get_motion(name)(_u(), FRAMES, BOUNDS)
    assert pos.shape == (2000, 32, 2) and pos.dtype == torch.float32
    assert float(pos.min()) >= BOUNDS.lo - 1e-4 and float(pos.max()) <= BOUNDS.hi + 1e-4
    step = (pos[:, 1:] - pos[:, :-1]).norm(dim=-1).mean(dim=1)  # (B,) mean displacement per frame
    assert float(step.min()) > 0.5


def test_bounce_reflects_at_the_walls():
    u = torch.tensor([[0.5, 0.5, 1.0, 0.125, 0, 0, 0, 0]])  # middle start, speed 3, heading 45 deg
    got = get_motion("bounce")(u, torch.arange(40, dtype=torch.float32), BOUNDS)[0]  # (T, 2)
    # an independent step-by-step simulation of a ball reflecting off walls at lo and hi
    pos = [32.0, 32.0]
    vel = [3.0 * math.cos(math.pi / 4), 3.0 * math.sin(math.pi / 4)]
    expected = []
    for _ in range(40):
        expected.append(list(pos))
        for axis in range(2):
            pos[axis] += vel[axis]
            if pos[axis] > BOUNDS.hi:
                pos[axis], vel[axis] = 2 * BOUNDS.hi - pos[axis], -vel[axis]
            if pos[axis] < BOUNDS.lo:
                pos[axis], vel[axis] = 2 * BOUNDS.lo - pos[axis], -vel[axis]
    assert torch.allclose(got, torch.tensor(expected), atol=1e-3)
    turns = ((got[2:] - got[1:-1]) * (got[1:-1] - got[:-2]) < 0).sum()
    assert int(turns) >= 4  # it did hit walls on both axes


def _fit_circle(p):
    """Algebraic least-squares circle fit; returns centre (2,), radius, max residual."""
    x, y = p[:, 0].double(), p[:, 1].double()
    a = torch.stack([x, y, torch.ones_like(x)], 1)
    b = x**2 + y**2
    sol = torch.linalg.lstsq(a, b[:, None]).solution[:, 0]
    cx, cy = sol[0] / 2, sol[1] / 2
    r = torch.sqrt(sol[2] + cx**2 + cy**2)
    dist = torch.sqrt((x - cx) ** 2 + (y - cy) ** 2)
    return r, (dist - r).abs().max()


def test_circular_keeps_its_radius():
    pos = get_motion("circular")(_u(200), FRAMES, BOUNDS)
    for clip in pos:
        r, residual = _fit_circle(clip)
        assert float(residual) < 1e-3 * float(r) + 1e-3


def test_spiral_radius_changes_monotonically():
    u = _u(200)
    pos = get_motion("spiral")(u, FRAMES, BOUNDS)
    # the centre is not returned; recover it as the point whose distances are monotone
    lo, room = BOUNDS.lo, BOUNDS.hi - BOUNDS.lo
    big = 0.6 * room / 2 + (room / 2 - 0.6 * room / 2) * u[:, 0]
    centre = lo + big[:, None] + (room - 2 * big[:, None]) * u[:, 3:5]
    radius = (pos - centre[:, None, :]).norm(dim=-1)  # (B, T)
    d = radius[:, 1:] - radius[:, :-1]
    growing = u[:, 2] < 0.5
    assert bool((d[growing] >= -1e-3).all()) and bool((d[~growing] <= 1e-3).all())
    assert bool(((radius[:, -1] - radius[:, 0]).abs() > 2).all())


def test_custom_motion_is_used_from_config():
    def diagonal(u, frames, bounds):
        start = torch.full((u.shape[0], 1, 2), bounds.lo, device=u.device)
        return (start + frames[None, :, None]).clamp(max=bounds.hi)

    register_motion("diagonal_test", diagonal, overwrite=True)
    assert "diagonal_test" in registered_motions()
    config = VideoMNISTConfig(motion_types=("diagonal_test",), digits="mnist-5k", sequence_length=8)
    clips = Synthesizer(config, device="cpu").render(torch.arange(3))
    lo = config.center_bounds[0]
    expect = lo + torch.arange(8, dtype=torch.float32) - 14
    assert torch.allclose(clips.position[:, :, 0, 0], expect.expand(3, 8))
    assert torch.equal(clips.motion, torch.zeros(3, dtype=torch.int64))


def test_register_motion_rejects_bad_input():
    with pytest.raises(ValueError, match="already registered"):
        register_motion("bounce", get_motion("bounce"))
    with pytest.raises(ValueError, match="identifier"):
        register_motion("zig zag", get_motion("bounce"))
    with pytest.raises(ValueError, match="Unknown motion 'nope'"):
        get_motion("nope")
