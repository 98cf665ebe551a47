"""What a clip promises (digits inside the margin, visible, moving; the same clip on every device and batch), on real (mnist-5k) digits."""

import pytest
import torch

from conftest import fake_cuda
from videomnist_gpu import Synthesizer, UsageError, VideoMNISTConfig, VideoMNISTStream, load_digit_bank

QUALITY_CONFIGS = {
    "default": VideoMNISTConfig(digits="mnist-5k", motion_types=("bounce", "circular", "linear", "spiral")),
    "128px_32frames": VideoMNISTConfig(digits="mnist-5k", image_size=128, sequence_length=32),
    "rotation_scale": VideoMNISTConfig(digits="mnist-5k", rotation_range=20.0, scale_range=(0.9, 1.1),
                                       motion_types=("bounce", "circular", "linear", "spiral")),
    "two_digits": VideoMNISTConfig(digits="mnist-5k", num_digits=2),
    # shrinking to 0.7 and growing to 1.3: area averaging keeps the ink (bilinear lost up to 7%)
    "wide_scale": VideoMNISTConfig(digits="mnist-5k", rotation_range=20.0, scale_range=(0.7, 1.3),
                                   image_size=96, motion_types=("bounce", "circular", "linear", "spiral")),
}


def _render_many(config, n, split="train", batch=250):
    synth = Synthesizer(config, device="cpu")
    parts = [synth.render(torch.arange(i, min(i + batch, n)), split) for i in range(0, n, batch)]
    return synth, parts


@pytest.mark.parametrize("name", list(QUALITY_CONFIGS))
def test_quality_over_1000_clips(name):
    config = QUALITY_CONFIGS[name]
    n = 1000 if name != "128px_32frames" else 1000
    synth, parts = _render_many(config, n)
    bank = synth.bank("train")
    m, H = config.margin, config.image_size
    nonzero_counts, motions = [], []
    for clips in parts:
        video = clips.video  # (B, T, H, W)
        # no ink within the margin
        border = video.clone()
        border[:, :, m:H - m, m:H - m] = 0
        assert int(border.max()) == 0, "ink inside the margin"
        # no ink lost: each frame's total equals its digit's total times scale^2 (single digit)
        if config.num_digits == 1:
            ink = video.double().sum(dim=(2, 3))  # (B, T)
            digit_ink = bank.images[synth.params(clips.index).digit[:, 0]].double().sum(dim=(1, 2))  # (B,)
            expected = digit_ink[:, None] * clips.scale[:, :, 0].double() ** 2
            rel = ((ink - expected).abs() / expected).max()
            assert float(rel) < 0.03, f"ink lost: {float(rel):.3f}"
        else:
            assert int(video.amax(dim=(2, 3)).min()) > 0
        nonzero_counts.append((video > 0).sum(dim=(2, 3)).double().flatten())
        assert int(video.max()) >= 200
        centre = clips.position + config.digit_size * clips.scale[..., None] / 2  # (B, T, K, 2) box centre
        step = (centre[:, 1:] - centre[:, :-1]).norm(dim=-1).mean(dim=(1, 2))  # (B,)
        assert float(step.min()) > 0.5, "a clip does not move"
        motions.append(clips.motion)
    assert float(torch.cat(nonzero_counts).mean()) >= 100
    assert set(torch.cat(motions).tolist()) == set(range(len(config.motion_types)))


def test_rotation_and_scale_change_smoothly():
    config = QUALITY_CONFIGS["rotation_scale"]
    clips = Synthesizer(config, device="cpu").render(torch.arange(300))
    assert float(clips.angle.abs().max()) <= 20.0 + 1e-4 and float(clips.angle.abs().max()) > 15
    assert float(clips.scale.min()) >= 0.9 - 1e-6 and float(clips.scale.max()) <= 1.1 + 1e-6
    assert float((clips.angle[:, 1:] - clips.angle[:, :-1]).abs().max()) <= 20 * 0.4 + 1e-3
    assert float((clips.scale[:, 1:] - clips.scale[:, :-1]).abs().max()) <= 0.1 * 0.4 + 1e-4


def test_render_is_independent_of_batching_and_order():
    config = VideoMNISTConfig(digits="mnist-5k", num_digits=2, rotation_range=20.0, scale_range=(0.9, 1.1))
    synth = Synthesizer(config, device="cpu")
    whole = synth.render(torch.arange(40))
    perm = torch.randperm(40, generator=torch.Generator().manual_seed(0))
    pieces, start = [], 0
    for size in (1, 7, 13, 19):
        idx = perm[start:start + size]
        pieces.append((idx, synth.render(idx)))
        start += size
    video = torch.empty_like(whole.video)
    position = torch.empty_like(whole.position)
    for idx, clips in pieces:
        video[idx], position[idx] = clips.video, clips.position
    assert torch.equal(video, whole.video)
    assert torch.equal(position, whole.position)
    # a fresh synthesizer gives the same clips
    assert torch.equal(Synthesizer(config, device="cpu").render(torch.arange(40)).video, whole.video)


def test_seeds_and_splits_differ():
    n = 200
    a = Synthesizer(VideoMNISTConfig(digits="mnist-5k", seed=0), device="cpu").render(torch.arange(n))
    b = Synthesizer(VideoMNISTConfig(digits="mnist-5k", seed=1), device="cpu").render(torch.arange(n))
    differ = (a.video != b.video).flatten(1).any(dim=1).float().mean()
    assert float(differ) >= 0.99
    t = Synthesizer(VideoMNISTConfig(digits="mnist-5k", seed=0), device="cpu").render(torch.arange(n), "test")
    assert float((a.video != t.video).flatten(1).any(dim=1).float().mean()) >= 0.99


def test_clips_shapes_and_dtypes(device):
    config = VideoMNISTConfig(digits="mnist-5k", num_digits=2, sequence_length=5)
    clips = Synthesizer(config, device=device).render(torch.arange(3))
    assert clips.video.shape == (3, 5, 64, 64) and clips.video.dtype == torch.uint8
    assert clips.label.shape == (3, 2) and clips.label.dtype == torch.int64
    assert clips.motion.shape == (3,) and clips.position.shape == (3, 5, 2, 2)
    assert clips.angle.shape == (3, 5, 2) and clips.scale.shape == (3, 5, 2)
    assert clips.video.device.type == device
    assert clips.label[:, 0].tolist() == [0, 1, 2]
    empty = Synthesizer(config, device=device).render(torch.arange(0))
    assert empty.video.shape == (0, 5, 64, 64)


def test_bad_indices_and_split_raise():
    synth = Synthesizer(VideoMNISTConfig(digits="mnist-5k"), device="cpu")
    with pytest.raises(ValueError, match="split: unknown split 'val'"):
        synth.render([0], split="val")
    with pytest.raises(ValueError, match="indices"):
        synth.render([-1])
    with pytest.raises(ValueError, match="indices"):
        synth.render([[0, 1]])
    with pytest.raises(ValueError, match=r"indices: expected a 1-D tensor of clip indices, got shape \(\)"):
        synth.render(torch.tensor(3))


def test_an_unknown_device_name_is_a_usage_error():
    config = VideoMNISTConfig(digits="mnist-5k")
    for make in (lambda: Synthesizer(config, device="gpu0"), lambda: VideoMNISTStream(config, 2, device="gpu0")):
        with pytest.raises(UsageError, match="^device: unknown device 'gpu0'. Valid: cpu, cuda, cuda:N, mps$"):
            make()


def test_render_on_fake_cuda_keeps_everything_on_the_device():
    config = VideoMNISTConfig(digits="mnist-5k", num_digits=2, rotation_range=10.0)
    synth = Synthesizer(config, device="cpu")
    synth.bank("train")  # real digits loaded on the CPU first, as a GPU run would
    with fake_cuda():
        gpu = Synthesizer(config, device="cuda")
        gpu.set_bank("train", synth.bank("train"))
        clips = gpu.render(torch.arange(8, device="cuda"))
        assert clips.video.device.type == "cuda" and clips.video.shape == (8, 16, 64, 64)
        assert clips.position.device.type == "cuda"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    config = VideoMNISTConfig(digits="mnist-5k", num_digits=2)
    cpu = Synthesizer(config, device="cpu")
    gpu = Synthesizer(config, device="cuda")
    pc, pg = cpu.params(torch.arange(64)), gpu.params(torch.arange(64))
    assert torch.equal(pc.digit, pg.digit.cpu()) and torch.equal(pc.motion, pg.motion.cpu())
    assert torch.allclose(pc.center, pg.center.cpu(), atol=1e-4)
    diff = (cpu.render(torch.arange(64)).video.int() - gpu.render(torch.arange(64)).video.cpu().int()).abs()
    assert int(diff.max()) <= 1


@pytest.mark.parametrize("name, config, n", [
    ("translation_every_motion", VideoMNISTConfig(digits="mnist-5k", sequence_length=8,
                                                  motion_types=("bounce", "circular", "linear", "spiral")), 400),
    ("rotation_scale_every_motion", VideoMNISTConfig(digits="mnist-5k", sequence_length=8, rotation_range=20.0,
                                                     scale_range=(0.9, 1.1),
                                                     motion_types=("bounce", "circular", "linear", "spiral")), 400),
    ("two_digits", VideoMNISTConfig(digits="mnist-5k", sequence_length=8, num_digits=2, rotation_range=10.0), 200),
])
def test_fast_renderer_matches_the_reference(name, config, n):
    """The Synthesizer's fast path equals the affine_grid/grid_sample reference (1,000 clips in all)."""
    import math

    from videomnist_gpu.synth.render import render_reference

    synth = Synthesizer(config, device="cpu")
    p = synth.params(torch.arange(n))
    fast = synth.render(torch.arange(n)).video
    sprites = synth.bank("train").images[p.digit]
    ref = render_reference(sprites, p.center, p.angle * (math.pi / 180), p.scale, config.image_size)
    diff = (fast.int() - ref.int()).abs()
    assert int(diff.max()) <= 1, name
    assert float((diff == 0).double().mean()) > 0.999
    assert set(p.motion.tolist()) == set(range(len(config.motion_types)))


def test_set_bank_resizes_moves_and_is_used_for_rendering():
    config = VideoMNISTConfig(digits="mnist-5k", image_size=32, sequence_length=4)
    synth = Synthesizer(config, device="cpu")
    bank = load_digit_bank("mnist-5k", "test")  # 28 px test digits given as the train split
    stored = synth.set_bank("train", bank)
    assert stored.images.shape[-1] == config.digit_size and stored.fingerprint == bank.fingerprint
    assert synth.bank("train") is stored
    own = Synthesizer(config, device="cpu")
    assert torch.equal(stored.images, own.bank("test").images)  # resized exactly as its own loader does
    assert not torch.equal(synth.render(torch.arange(6)).video, own.render(torch.arange(6)).video)
    with pytest.raises(UsageError, match="bank"):
        synth.set_bank("train", bank.images)
