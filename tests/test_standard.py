"""The standard presets are the original generators in distribution, and render exactly.

Each preset is compared with our per-clip numpy re-implementation of its original generator
(`videomnist_gpu.bench.standard_baselines`) over thousands of digit tracks, with fixed seeds (so the
outcome is fixed): chi-square tests on start positions, displacements, bounces; KS tests on
per-frame ink. Every test also shows that it can fail: a generator that differs slightly (a
longer step, the other SVG variant) is rejected by the same statistic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from conftest import fake_cuda
from kernel_contract import check_kernel_contract
from videomnist_gpu import Synthesizer, VideoMNISTConfig
from videomnist_gpu.bench.standard_baselines import srivastava_clips, svg_clips
from videomnist_gpu.synth.render import render_reference
from videomnist_gpu.synth.render_fast import render_integer, render_translation

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
N_TRACKS_CLIPS = 2500   # clips whose trajectories are compared (2 independent digits each)
N_INK_CLIPS = 600       # clips rendered for the ink comparison
ALPHA = 1e-3            # a match must not be rejected at this level ...
POWER = 1e-6            # ... and a slightly different generator must be rejected at this one


def _preset(name: str, **changes) -> VideoMNISTConfig:
    return VideoMNISTConfig.from_yaml(CONFIGS / f"{name}.yaml").replace(digits="mnist-5k", **changes)


def _ours(config: VideoMNISTConfig, n_tracks: int, n_ink: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(top-left corners int (n_tracks, T, K, 2), video uint8 (n_ink, T, H, W), sprites (N, S, S))."""
    synth = Synthesizer(config, device="cpu")
    center = synth.params(torch.arange(n_tracks)).center  # (n, T, K, 2)
    corners = (center - config.digit_size / 2).numpy()
    assert np.array_equal(corners, np.round(corners))  # integer placement
    video = synth.render(torch.arange(n_ink)).video.numpy()
    return corners.astype(np.int64), video, synth.bank("train").images.numpy()


def _tracks(corners: np.ndarray) -> np.ndarray:
    """(n, T, K, 2) -> (n*K, T, 2): digits move independently, so each is one sample."""
    return corners.transpose(0, 2, 1, 3).reshape(-1, corners.shape[1], 2)


def _chi2_p(a: np.ndarray, b: np.ndarray) -> float:
    """p-value of a chi-square test that two samples of integers share one distribution.

    Values with fewer than 10 observations in both samples together are pooled into one bin.
    """
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    values, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    counts = np.stack([np.bincount(inverse[:len(a)], minlength=len(values)),
                       np.bincount(inverse[len(a):], minlength=len(values))])  # (2, V)
    common = counts.sum(0) >= 10
    table = np.concatenate([counts[:, common], counts[:, ~common].sum(1, keepdims=True)], axis=1)
    table = table[:, table.sum(0) > 0]
    if table.shape[1] < 2:
        return 1.0 if np.array_equal(np.unique(a), np.unique(b)) else 0.0
    return float(stats.chi2_contingency(table)[1])


def _track_statistics(tracks: np.ndarray, wall: int) -> dict[str, np.ndarray]:
    """One number (or a few independent ones) per track for each property we compare."""
    step = np.diff(tracks, axis=1)  # (n, T-1, 2)
    at_wall = (tracks == 0) | (tracks == wall)  # (n, T, 2)
    # the displacement right after the first frame where x sits on the left wall (a bounce), if any
    first = np.argmax(at_wall[:, :-1, 0] & (tracks[:, :-1, 0] == 0), axis=1)  # (n,)
    bounced = (tracks[np.arange(len(tracks)), first, 0] == 0) & (first < tracks.shape[1] - 1)
    return {
        "start_x": tracks[:, 0, 0], "start_y": tracks[:, 0, 1],
        "first_step": step[:, 0, 0] * 100 + step[:, 0, 1],   # joint (dx, dy) of the first move
        "last_step": step[:, -1, 0] * 100 + step[:, -1, 1],  # and of the last one
        "frames_at_wall": at_wall.any(axis=2).sum(axis=1),
        "after_bounce_dx": step[np.arange(len(tracks)), first, 0][bounced],
    }


def _compare(ours: dict, reference: dict) -> dict[str, float]:
    return {key: _chi2_p(ours[key], reference[key]) for key in ours}


def _ink_p(ours: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """KS p-values of the total ink of frame 0 and of the last frame (one value per clip)."""
    ink = lambda video, t: video[:, t].reshape(len(video), -1).sum(axis=1, dtype=np.int64)  # noqa: E731
    return {f"ink_frame_{t}": float(stats.ks_2samp(ink(ours, t), ink(reference, t)).pvalue)
            for t in (0, ours.shape[1] - 1)}


STANDARDS = {
    # preset: (reference generator for (sprites, n, seed, variant), wall position of top-left corners)
    "moving_mnist": (lambda d, n, seed, T, off=False: srivastava_clips(d, n, T=T, step=0.12 if off else 0.1, seed=seed), 36),
    "dm_mnist": (lambda d, n, seed, T, off=False: svg_clips(d, n, stochastic=off, T=T, seed=seed), 31),
    "sm_mnist": (lambda d, n, seed, T, off=False: svg_clips(d, n, stochastic=not off, T=T, seed=seed), 31),
}


@pytest.mark.parametrize("name", list(STANDARDS))
def test_preset_matches_the_original_generator_in_distribution(name):
    reference_fn, wall = STANDARDS[name]
    config = _preset(name)
    T = config.sequence_length
    corners, video, sprites = _ours(config, N_TRACKS_CLIPS, N_INK_CLIPS)
    ref_video, ref_corners = reference_fn(sprites, N_TRACKS_CLIPS, 1, T)
    assert corners.min() == 0 and corners.max() == wall == ref_corners.max()

    ours, ref = _track_statistics(_tracks(corners), wall), _track_statistics(_tracks(ref_corners), wall)
    p = {**_compare(ours, ref), **_ink_p(video, ref_video[:N_INK_CLIPS])}
    assert min(p.values()) > ALPHA, p

    # The same statistics reject a generator that differs slightly from the original.
    off_video, off_corners = reference_fn(sprites, N_TRACKS_CLIPS, 2, T, off=True)
    off = {**_compare(_track_statistics(_tracks(off_corners), wall), ref), **_ink_p(off_video[:N_INK_CLIPS], ref_video[:N_INK_CLIPS])}
    assert min(off.values()) < POWER, off


@pytest.mark.parametrize("name, digit_size, composite", [("moving_mnist", 28, "max"), ("dm_mnist", 32, "sum"),
                                                         ("sm_mnist", 32, "sum")])
def test_frames_are_the_sprites_pasted_and_composited_exactly(name, digit_size, composite):
    config = _preset(name, num_digits=3)  # three digits: overlaps are common
    synth = Synthesizer(config, device="cpu")
    clips = synth.render(torch.arange(40))
    sprites = synth.bank("train").images
    assert sprites.shape[-1] == digit_size == config.digit_size
    corners = clips.position.numpy().astype(np.int64)  # (B, T, K, 2), whole pixels
    assert np.array_equal(clips.position.numpy(), corners)
    digit = synth.params(torch.arange(40)).digit.numpy()  # (B, K)
    layers = np.zeros((40, config.sequence_length, 3, 64, 64), dtype=np.int64)  # one layer per digit
    for b in range(40):
        for t in range(config.sequence_length):
            for k in range(3):
                x, y = corners[b, t, k]
                layers[b, t, k, y:y + digit_size, x:x + digit_size] = sprites[digit[b, k]].numpy()
    want = layers.max(axis=2) if composite == "max" else np.minimum(layers.sum(axis=2), 255)
    assert np.array_equal(clips.video.numpy(), want)
    assert ((layers > 0).sum(axis=2) > 1).any()  # digits do overlap, so compositing was exercised
    assert (layers.sum(axis=2) > 255).any()      # and sums beyond 255 occur (clipped by `sum`)


@pytest.mark.parametrize("composite", ["max", "sum"])
def test_integer_kernel_contract_and_equality_with_the_bilinear_kernels(device, composite):
    g = torch.Generator().manual_seed(0)
    sprites = torch.randint(0, 256, (6, 3, 28, 28), generator=g, dtype=torch.uint8).to(device)  # (B, K, S, S)
    corners = torch.randint(-30, 66, (6, 5, 3, 2), generator=g).float().to(device)  # (B, T, K, 2), some off canvas
    centers = corners + 14
    out = check_kernel_contract(lambda sp, c: render_integer(sp, c, 64, composite=composite), [sprites, centers],
                                torch.uint8, [0, 0])
    assert torch.equal(out, render_translation(sprites, centers, 64, composite=composite))
    zeros = torch.zeros(6, 5, 3, device=device)
    assert torch.equal(out, render_reference(sprites, centers, zeros, zeros + 1, 64, composite))


def test_stochastic_bounce_is_keyed_per_clip():
    config = _preset("sm_mnist")
    synth = Synthesizer(config, device="cpu")
    whole = synth.render(torch.arange(24))
    for a, b in ((0, 5), (5, 24), (17, 18)):
        part = synth.render(torch.arange(a, b))
        assert torch.equal(part.video, whole.video[a:b]) and torch.equal(part.position, whole.position[a:b])
    other = Synthesizer(config.replace(seed=1), device="cpu").render(torch.arange(24))
    assert not torch.equal(other.position, whole.position)


def test_stochastic_bounce_draws_fresh_velocities_only_at_walls():
    tracks = _tracks((Synthesizer(_preset("sm_mnist"), device="cpu").params(torch.arange(400)).center - 16).numpy())
    step = np.diff(tracks, axis=1)  # (n, T-1, 2)
    off_wall = ((tracks[:, 1:] > 0) & (tracks[:, 1:] < 31)).all(axis=2)  # (n, T-1) frames 1..T-1
    # step t+1 differs from step t only if frame t+1 had a bounce (new velocity) or frame t+2 did
    # (the digit is set back onto the wall): away from the walls the velocity never changes
    inside = off_wall[:, :-1] & off_wall[:, 1:]  # (n, T-2)
    assert np.array_equal(step[:, 1:][inside], step[:, :-1][inside])
    changed = (step[:, 1:] != step[:, :-1]).any(axis=2) & ~inside
    assert changed.sum() > 100
    assert np.abs(step).max() <= 4


def test_standard_presets_render_on_fake_cuda():
    for name in STANDARDS:
        config = _preset(name, sequence_length=6)  # fake tensors are slow per op; the scan is per frame
        cpu = Synthesizer(config, device="cpu")
        cpu.bank("train")
        with fake_cuda():
            gpu = Synthesizer(config, device="cuda")
            gpu._banks["train"] = cpu.bank("train").to("cuda")
            clips = gpu.render(torch.arange(8, device="cuda"))
            assert clips.video.device.type == "cuda" and clips.video.shape == (8, config.sequence_length, 64, 64)


@pytest.mark.parametrize("field, value, message", [
    ("placement", "nearest", "placement: unknown 'nearest'. Valid: subpixel, integer"),
    ("composite", "add", "composite: unknown 'add'. Valid: max, sum, over"),
])
def test_bad_placement_or_composite_is_one_line(field, value, message):
    with pytest.raises(ValueError) as err:
        VideoMNISTConfig(**{field: value})
    assert str(err.value) == message
