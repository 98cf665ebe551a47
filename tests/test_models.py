"""VQ-VAE and VideoGPT: shapes, codebook state, learning, checkpoints, cached sampling.

Training data here are synthetic moving squares made in this file (the stream has its own tests),
at tiny sizes (16x16 frames, 4 frames) so the whole file runs in well under a minute on 2 cores.
"""

from __future__ import annotations

import copy
import warnings

import lightning.pytorch as pl
import pytest
import torch
from torch.utils.data import DataLoader

from videomnist_gpu.errors import UsageError
from videomnist_gpu.models import VQVAE, VideoGPT, load_vqvae, model_kwargs, read_preset
from videomnist_gpu.models.codebook import EMACodebook

# Lightning's advice for real runs, irrelevant to tiny in-memory loaders (and training-only fits).
NO_WORKERS = pytest.mark.filterwarnings("ignore:The '(train|val)_dataloader' does not have many workers")
NO_VAL = pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
# Resume checks run without checkpointing, so Lightning says the checkpoint's callback is missing.
NO_CKPT_CALLBACK = pytest.mark.filterwarnings("ignore:Be aware that when using `ckpt_path`, callbacks used to create")
# The in-memory test loaders are not resumable (the stream's are; tested with the stream).
NOT_RESUMABLE = pytest.mark.filterwarnings("ignore:You're resuming from a checkpoint that ended before the epoch ended")
# Lightning 2.6's data fetcher still uses torch's LeafSpec, deprecated in the torch installed here.
pytestmark = pytest.mark.filterwarnings(r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning")

TINY_VQVAE = dict(
    embedding_dim=16, n_codes=32, n_hiddens=16, n_res_layers=1, downsample=(2, 4, 4),
    sequence_length=4, resolution=16, lr=2e-3,
)  # fmt: skip
VQVAE_STEPS = 10  # steps of the fixture VQ-VAE checkpoint
TINY_GPT = dict(hidden_dim=32, heads=2, layers=2, dropout=0.0, attn_dropout=0.0, lr=3e-3, warmup_steps=2, max_steps=20)


def moving_squares(batch: int, seed: int, frames: int = 4, size: int = 16, side: int = 6) -> dict[str, torch.Tensor]:
    """A batch of bright squares moving on a dark canvas, in the model batch contract.

    Returns:
        `{'video': float32 (B, 1, T, H, W) in [-0.5, 0.5], 'label': int64 (B,)}`, the label being
        the square's direction of motion (0..7), so class conditioning has something to learn.
    """
    g = torch.Generator().manual_seed(seed)
    start = torch.randint(0, size - side, (batch, 2), generator=g)  # (B, 2) y, x
    label = torch.randint(0, 8, (batch,), generator=g)  # (B,)
    directions = torch.tensor([[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]])
    t = torch.arange(frames)
    span = size - side
    pos = start[:, None] + directions[label][:, None] * t[None, :, None]  # (B, T, 2)
    pos = span - (pos % (2 * span) - span).abs()  # bounce off the borders, (B, T, 2)
    grid = torch.arange(size)
    inside_y = (grid[None, None] >= pos[..., :1]) & (grid[None, None] < pos[..., :1] + side)  # (B, T, H)
    inside_x = (grid[None, None] >= pos[..., 1:]) & (grid[None, None] < pos[..., 1:] + side)  # (B, T, W)
    video = (inside_y[..., :, None] & inside_x[..., None, :]).float() - 0.5  # (B, T, H, W)
    return {"video": video[:, None], "label": label}


def loader(n_batches: int, batch: int = 8, seed: int = 0) -> DataLoader:
    batches = [moving_squares(batch, seed + i) for i in range(n_batches)]
    return DataLoader(batches, batch_size=None)


def trainer(tmp_path, max_steps: int, **kwargs) -> pl.Trainer:
    defaults = dict(
        accelerator="cpu", max_steps=max_steps, logger=False, enable_progress_bar=False,
        enable_model_summary=False, default_root_dir=tmp_path, num_sanity_val_steps=0,
    )  # fmt: skip
    defaults.update(kwargs)
    return pl.Trainer(**defaults)


@pytest.fixture(scope="module")
def vqvae_ckpt(tmp_path_factory) -> str:
    """A tiny VQ-VAE trained a few steps with a real Trainer; path of its checkpoint."""
    with warnings.catch_warnings():  # fixtures do not take marks: the same narrow filters as NO_WORKERS
        warnings.filterwarnings("ignore", "The '(train|val)_dataloader' does not have many workers")
        warnings.filterwarnings("ignore", r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning)
        pl.seed_everything(0, verbose=False)
        root = tmp_path_factory.mktemp("vqvae")
        model = VQVAE(**TINY_VQVAE)
        t = trainer(root, max_steps=VQVAE_STEPS, limit_val_batches=1)
        t.fit(model, loader(VQVAE_STEPS // 2), loader(1, seed=100))  # 2 whole epochs
    return t.checkpoint_callback.best_model_path


# --- VQ-VAE ---------------------------------------------------------------------------------


def test_moving_squares_contract():
    batch = moving_squares(5, seed=1)
    assert batch["video"].shape == (5, 1, 4, 16, 16) and batch["video"].dtype == torch.float32
    assert batch["label"].dtype == torch.int64
    assert batch["video"].min() == -0.5 and batch["video"].max() == 0.5
    assert (batch["video"] > 0).sum(dim=(1, 3, 4)).eq(36).all()  # every frame shows the whole 6x6 square


@pytest.mark.parametrize("downsample", [(1, 1, 1), (2, 4, 4), (4, 2, 1), (1, 2, 8), (2, 8, 8)])
def test_encode_decode_shapes(downsample):
    torch.manual_seed(0)
    model = VQVAE(**{**TINY_VQVAE, "downsample": downsample, "sequence_length": 8}).eval()
    x = moving_squares(2, seed=0, frames=8)["video"]
    codes = model.encode(x)
    t, h, w = 8 // downsample[0], 16 // downsample[1], 16 // downsample[2]
    assert codes.shape == (2, t, h, w) == (2, *model.latent_shape) and codes.dtype == torch.int64
    assert codes.min() >= 0 and codes.max() < TINY_VQVAE["n_codes"]
    assert model.decode(codes).shape == x.shape
    x_recon, recon_loss, vq = model(x)
    assert x_recon.shape == x.shape and recon_loss.ndim == 0
    assert torch.equal(vq["codes"], codes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"downsample": (3, 4, 4)}, "powers of two"), ({"downsample": (2, 4)}, "powers of two"), ({"downsample": (8, 1, 1)}, "axis t")],
)
def test_bad_downsample_is_a_usage_error(kwargs, message):
    with pytest.raises(UsageError, match=message):
        VQVAE(**{**TINY_VQVAE, **kwargs})


def test_codebook_initializes_once_from_data_and_survives_state_dict():
    torch.manual_seed(0)
    codebook = EMACodebook(n_codes=8, embedding_dim=4).train()
    assert not codebook.initialized
    z = torch.randn(2, 4, 2, 4, 4)  # (B, D, t, h, w): 64 vectors
    codebook(z)
    assert codebook.initialized
    # Data-dependent init: right after it (one EMA step of the same batch) every used code sits
    # near the data; none is still a random-normal vector far from all encoder outputs.
    flat = z.permute(0, 2, 3, 4, 1).reshape(-1, 4)
    assert torch.cdist(codebook.embeddings, flat).min(1).values.max() < 1.0

    restored = EMACodebook(n_codes=8, embedding_dim=4)
    restored.load_state_dict(copy.deepcopy(codebook.state_dict()))
    assert restored.initialized and torch.equal(restored.embeddings, codebook.embeddings)
    # The next training step does the same on both: no re-initialization after loading.
    z2 = torch.randn(2, 4, 2, 4, 4) + 3.0  # shifted data: a re-init would jump the codes to it
    torch.manual_seed(1)
    out = codebook(z2)
    torch.manual_seed(1)
    out_restored = restored.train()(z2)
    assert torch.equal(restored.embeddings, codebook.embeddings)
    assert torch.equal(restored.cluster_size, codebook.cluster_size)
    assert torch.equal(out["codes"], out_restored["codes"])


def test_codebook_does_not_change_in_eval_or_encode():
    torch.manual_seed(0)
    model = VQVAE(**TINY_VQVAE).eval()
    before = {k: v.clone() for k, v in model.codebook.state_dict().items()}
    x = moving_squares(2, seed=0)["video"]
    model(x)
    model.train().encode(x)  # encode never updates, even in training mode
    for key, value in model.codebook.state_dict().items():
        assert torch.equal(value, before[key]), key


@NO_WORKERS
@NO_VAL
def test_vqvae_learns_moving_squares(tmp_path):
    """Reconstruction loss on held-out clips falls by >= 50% and beats the constant predictor."""
    pl.seed_everything(0, verbose=False)
    model = VQVAE(**TINY_VQVAE)
    held_out = moving_squares(16, seed=999)["video"]
    with torch.no_grad():
        loss_start = model.eval()(held_out)[1].item()
    model.train()
    trainer(tmp_path, max_steps=100, enable_checkpointing=False).fit(model, loader(100))
    with torch.no_grad():
        _, recon_loss, vq = model.eval()(held_out)
    mean_predictor = held_out.var(unbiased=False).item()  # MSE of predicting the mean pixel
    print(f"recon loss {loss_start:.4f} -> {recon_loss.item():.4f} (mean predictor {mean_predictor:.4f}), "
          f"{vq['code_usage'].item():.0f} codes, perplexity {vq['perplexity'].item():.1f}")  # fmt: skip
    assert recon_loss.item() <= 0.5 * loss_start
    assert recon_loss.item() <= 0.5 * mean_predictor
    assert vq["code_usage"].item() > 1


def test_checkpoint_loads_with_weights_only(vqvae_ckpt):
    checkpoint = torch.load(vqvae_ckpt, weights_only=True)
    assert checkpoint["global_step"] == VQVAE_STEPS
    hparams = checkpoint["hyper_parameters"]
    assert {k: hparams[k] for k in TINY_VQVAE} == TINY_VQVAE | {"downsample": hparams["downsample"]}
    assert list(hparams["downsample"]) == [2, 4, 4]
    assert bool(checkpoint["state_dict"]["codebook.initialized"])

    for model in (VQVAE.load_from_checkpoint(vqvae_ckpt, map_location="cpu"), load_vqvae(vqvae_ckpt)):
        assert model.codebook.initialized
        for key, value in checkpoint["state_dict"].items():
            assert torch.equal(model.state_dict()[key], value), key


@NO_WORKERS
@NO_VAL
@NO_CKPT_CALLBACK
@NOT_RESUMABLE
def test_vqvae_resume_keeps_codebook_and_step(vqvae_ckpt, tmp_path):
    """Resuming from a checkpoint continues the step count and does not re-initialize the codebook."""
    saved = torch.load(vqvae_ckpt, weights_only=True)["state_dict"]
    model = VQVAE(**TINY_VQVAE)
    t = trainer(tmp_path, max_steps=VQVAE_STEPS + 1, enable_checkpointing=False)
    t.fit(model, loader(6, seed=50), ckpt_path=vqvae_ckpt)
    assert t.global_step == VQVAE_STEPS + 1
    # One EMA step (decay 0.99) from the saved codebook: the counts move by at most 1%, plus new counts.
    moved = (model.codebook.cluster_size - 0.99 * saved["codebook.cluster_size"]).abs().sum()
    assert moved <= 0.01 * 8 * 2 * 4 * 4 + 1e-3  # 0.01 x (vectors in one batch)


# --- VideoGPT -------------------------------------------------------------------------------


@NO_WORKERS
@NO_VAL
@NO_CKPT_CALLBACK
@pytest.mark.parametrize("class_cond", [False, True])
def test_videogpt_trains_from_vqvae_checkpoint(vqvae_ckpt, tmp_path, class_cond):
    pl.seed_everything(0, verbose=False)
    model = VideoGPT(vqvae_ckpt, class_cond=class_cond, **TINY_GPT)
    vqvae_before = copy.deepcopy(model.vqvae.state_dict())
    assert not any(p.requires_grad for p in model.vqvae.parameters())
    held_out = moving_squares(16, seed=999)
    loss_start = model.eval()._loss(held_out).item()
    model.train()
    t = trainer(tmp_path, max_steps=20, limit_val_batches=1)
    t.fit(model, loader(20), loader(1, seed=100))
    loss_end = model.eval()._loss(held_out).item()
    assert loss_end < loss_start
    for key, value in model.vqvae.state_dict().items():  # frozen: BatchNorm stats, codebook too
        assert torch.equal(value, vqvae_before[key]), key

    # The checkpoint loads with weights_only, and rebuilds the model even without the VQ-VAE file.
    path = t.checkpoint_callback.best_model_path
    checkpoint = torch.load(path, weights_only=True)
    assert checkpoint["hyper_parameters"]["vqvae_hparams"]["n_codes"] == TINY_VQVAE["n_codes"]
    for ckpt_of_vqvae in (vqvae_ckpt, str(tmp_path / "moved.ckpt")):
        restored = VideoGPT.load_from_checkpoint(path, map_location="cpu", vqvae_ckpt=ckpt_of_vqvae)
        for key, value in checkpoint["state_dict"].items():
            assert torch.equal(restored.state_dict()[key], value), key
    # Resume continues the step count.
    t2 = trainer(tmp_path, max_steps=22, enable_checkpointing=False)
    t2.fit(VideoGPT(vqvae_ckpt, class_cond=class_cond, **TINY_GPT), loader(20), ckpt_path=path)
    assert t2.global_step == 22


@pytest.fixture(scope="module")
def gpt(vqvae_ckpt) -> VideoGPT:
    torch.manual_seed(0)
    return VideoGPT(vqvae_ckpt, class_cond=True, **TINY_GPT).eval()


def test_sample_shape_and_range(gpt):
    torch.manual_seed(0)
    videos = gpt.sample(3)
    assert videos.shape == (3, 1, 4, 16, 16) and videos.dtype == torch.float32
    assert videos.min() >= -0.5 and videos.max() <= 0.5
    videos = gpt.sample(2, labels=torch.tensor([7, 3]), top_k=5)
    assert videos.shape == (2, 1, 4, 16, 16)
    with pytest.raises(UsageError, match="labels: expected shape"):
        gpt.sample(2, labels=torch.tensor([1, 2, 3]))


def test_unconditional_model_refuses_labels(vqvae_ckpt):
    model = VideoGPT(vqvae_ckpt, **TINY_GPT)
    assert model.sample(1).shape == (1, 1, 4, 16, 16)
    with pytest.raises(UsageError, match="class_cond"):
        model.sample(1, labels=torch.tensor([0]))


def test_class_conditioning_changes_the_prediction(gpt):
    codes = gpt.vqvae.encode(moving_squares(2, seed=0)["video"])
    logits_a = gpt(codes, torch.tensor([0, 0]))
    logits_b = gpt(codes, torch.tensor([5, 5]))
    assert not torch.allclose(logits_a, logits_b)


def test_step_logits_match_full_forward(gpt):
    """The cached one-position step computes the same logits as the full causal forward."""
    labels = torch.tensor([1, 4])
    codes = gpt.vqvae.encode(moving_squares(2, seed=3)["video"])  # (2, t, h, w)
    full = gpt(codes, labels)  # (2, L, K)
    tokens = codes.flatten(1)
    positions = gpt.positions()
    cache = gpt.transformer.new_cache(2, gpt.seq_len, positions)
    for i in range(gpt.seq_len):
        prev = gpt._start(2, labels) if i == 0 else gpt.token_emb(tokens[:, i - 1 : i])
        step = gpt.head(gpt.transformer.step(prev + positions[i], cache, i))[:, 0]  # (2, K)
        torch.testing.assert_close(step, full[:, i], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_cached_sampling_equals_full_recomputation(gpt, temperature):
    labels = torch.tensor([0, 3, 9])
    cached = gpt.sample_codes(3, labels, temperature=temperature, generator=torch.Generator().manual_seed(5))
    full = gpt.sample_codes(3, labels, temperature=temperature, generator=torch.Generator().manual_seed(5), use_cache=False)
    assert cached.shape == (3, *gpt.latent_shape)
    assert torch.equal(cached, full)


def test_videogpt_needs_a_vqvae():
    with pytest.raises(UsageError, match="vqvae_ckpt"):
        VideoGPT(**TINY_GPT)
    with pytest.raises(UsageError, match="no such file"):
        VideoGPT("does/not/exist.ckpt", **TINY_GPT)


# --- presets --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vqvae", "vqvae_tiny"])
def test_vqvae_presets_build(name):
    preset = read_preset(f"configs/{name}.yaml")
    model = VQVAE(**model_kwargs(VQVAE, preset))
    assert preset["batch_size"] > 0 and preset["max_steps"] > 0
    assert model.latent_shape == tuple(
        s // d for s, d in zip((preset["sequence_length"], preset["resolution"], preset["resolution"]), preset["downsample"])
    )


@pytest.mark.parametrize("name", ["videogpt", "videogpt_tiny"])
def test_videogpt_presets_build(name, vqvae_ckpt):
    preset = read_preset(f"configs/{name}.yaml")
    model = VideoGPT(vqvae_ckpt, **model_kwargs(VideoGPT, preset))
    assert preset["batch_size"] > 0 and model.hparams.max_steps == preset["max_steps"]


def test_read_preset_rejects_nesting(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  n_codes: 4\n")
    with pytest.raises(UsageError, match="'model'"):
        read_preset(path)
    with pytest.raises(UsageError, match="no such file"):
        read_preset(tmp_path / "missing.yaml")


def test_vqvae_refuses_clips_of_another_shape():
    model = VQVAE(embedding_dim=8, n_codes=16, n_hiddens=8, n_res_layers=1, downsample=(2, 4, 4),
                  sequence_length=4, resolution=16)
    with pytest.raises(UsageError, match=r"expected clips \(B, 1, 4, 16, 16\)"):
        model(torch.zeros(2, 1, 8, 16, 16))
    with pytest.raises(UsageError, match="got"):
        model.encode(torch.zeros(2, 3, 4, 16, 16))
