"""Pictures a user can read: reconstructions beside their inputs, sample grids labelled by class."""

from __future__ import annotations

import types

import numpy as np
import torch
from PIL import Image

from cli_child import tiny_checkpoints
from videomnist_gpu.models import VQVAE
from videomnist_gpu.viz.visualize import HEADER_PX, SEPARATOR_WIDTH, save_videos


def _gif_frames(path) -> np.ndarray:
    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("L")))
    return np.stack(frames)  # (T, H, W)


def test_captioned_grid_puts_a_label_strip_over_every_row(tmp_path):
    videos = np.zeros((3, 2, 8, 8), np.uint8)  # (N, T, H, W)
    videos[1] = 200
    path = save_videos(videos, tmp_path / "g.gif", ncol=2, scale=4, captions=["digit 1", "digit 2", "digit 3"])
    frames = _gif_frames(path)
    tile = 4 * 8
    assert frames.shape[1:] == (2 * (HEADER_PX + tile) + SEPARATOR_WIDTH, 2 * tile + SEPARATOR_WIDTH)
    for row in range(2):
        strip = frames[0, row * (HEADER_PX + tile + SEPARATOR_WIDTH):][:HEADER_PX]
        assert strip[:, :tile].max() > 200  # (GIF palette) text over the left tile of every row
    assert strip[:, tile + SEPARATOR_WIDTH:].max() < 10  # no text over the empty cell
    second = frames[0, HEADER_PX:HEADER_PX + tile, tile + SEPARATOR_WIDTH:]
    assert (abs(second.astype(int) - 200) < 8).all()  # clip 1 is the right tile of the first row, under its caption


def test_vqvae_reconstructions_are_shown_beside_their_inputs(monkeypatch):
    import videomnist_gpu.models.vqvae as vqvae_module

    model = VQVAE(embedding_dim=8, n_codes=16, n_hiddens=8, n_res_layers=1, downsample=(1, 4, 4),
                  sequence_length=4, resolution=32).eval()  # as in validation
    monkeypatch.setattr(model, "log", lambda *args, **kwargs: None)
    x = torch.rand(5, 1, 4, 32, 32) - 0.5  # (B, C, T, H, W)
    with torch.no_grad():
        model.validation_step({"video": x, "label": torch.zeros(5, dtype=torch.long)}, 0)
        recon = model(x[:4])[0]
    logged = {}
    monkeypatch.setattr(vqvae_module, "_log_videos", lambda module, tag, videos, **kw: logged.update(videos=videos, **kw))
    model._trainer = types.SimpleNamespace(sanity_checking=False)
    model.on_validation_epoch_end()
    assert logged["ncol"] == 2 and logged["captions"] == ["input", "reconstruction"] * 4
    torch.testing.assert_close(logged["videos"][0::2], x[:4])  # left column: the inputs
    torch.testing.assert_close(logged["videos"][1::2], recon, atol=1e-5, rtol=1e-4)  # right: their own reconstructions


def test_sample_grids_are_labelled_with_their_class(tmp_path):
    from videomnist_gpu.models.training import load_videogpt, sample_videos

    model = load_videogpt(tiny_checkpoints(tmp_path)["gpt"])
    gif, *_ = sample_videos(model, 2, [3, 7], tmp_path / "out" / "s")  # gif, mp4, npy, labels.npy
    frames = _gif_frames(gif)
    header = frames[0, :HEADER_PX]
    half = header.shape[1] // 2
    left, right = header[:, :half], header[:, half:]
    assert left.max() > 200 and right.max() > 200  # "digit 3" over the first clip, "digit 7" over the second
    assert not np.array_equal(left > 128, right > 128)


def test_unconditional_sample_grids_have_no_label_strip(tmp_path):
    from videomnist_gpu.models.training import load_videogpt, sample_videos

    model = load_videogpt(tiny_checkpoints(tmp_path)["gpt_uncond"])
    gif, _, npy = sample_videos(model, 1, None, tmp_path / "s")  # unconditional: no labels file
    assert npy.name == "s.npy" and not (tmp_path / "s.labels.npy").exists()
    frames = _gif_frames(gif)
    assert frames.shape[1] == frames.shape[2]  # one square tile, no strip above it
