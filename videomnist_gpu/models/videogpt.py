"""VideoGPT: a causal transformer over the codes of a frozen VQ-VAE (Yan et al. 2021).

A clip's code grid `(t, h, w)` is flattened in raster order (t, then h, then w) into `L = t*h*w`
tokens, and a GPT learns `p(code_i | code_<i)` with cross-entropy. The input at position `i` is
the embedding of code `i - 1` (a learned start vector at `i = 0`) plus an axial positional
embedding of position `i`: one learned table per axis, `pos[t, h, w] = E_t[t] + E_h[h] + E_w[w]`.
With `class_cond=True` a learned embedding of the digit label is added to the start vector, so
the label conditions every position through attention.

Training encodes each batch with the frozen VQ-VAE (run in eval mode, no gradients, its codebook
never updates), then optimizes the transformer with AdamW and a linear-warmup cosine schedule.
`sample(n)` decodes autoregressively with a key/value cache, then maps codes to pixels with the
VQ-VAE's decoder.

Convention:
    Batches are dicts `{'video': float32 (B, C, T, H, W) in [-0.5, 0.5], 'label': int64 (B,)}`;
    codes are int64 `(B, t, h, w)`; logits are `(B, L, n_codes)`.
"""

from __future__ import annotations

import contextlib
import math
import os

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from videomnist_gpu.errors import UsageError
from videomnist_gpu.evaluation.evaluate import training_scores
from videomnist_gpu.interrupt import check_interrupt
from videomnist_gpu.models.transformer import Transformer
from videomnist_gpu.models.validation_scores import digit_judge
from videomnist_gpu.models.vqvae import VQVAE, _log_videos, load_vqvae
from videomnist_gpu.synth.pixels import to_uint8_clips

__all__ = ["VideoGPT"]


class VideoGPT(pl.LightningModule):
    """Autoregressive prior over a frozen VQ-VAE's codes.

    Args:
        vqvae_ckpt: path of a `VQVAE` Lightning checkpoint, loaded with `weights_only=True`.
        hidden_dim: transformer width; divisible by `heads`.
        heads: attention heads.
        layers: transformer blocks.
        dropout: residual/MLP/embedding dropout.
        attn_dropout: attention-weight dropout.
        class_cond: condition on the digit label (`batch['label']`, int64 (B,) in
            `[0, n_classes)`).
        n_classes: number of labels when `class_cond` (default 10).
        lr: peak AdamW learning rate.
        warmup_steps: linear warmup steps from 0 to `lr`.
        max_steps: steps of the cosine decay from `lr` to 0 (set it to the Trainer's `max_steps`).
        weight_decay: AdamW weight decay of the weight matrices (not biases, norms).
        vqvae: a `VQVAE` instance instead of `vqvae_ckpt` (tests, notebooks).
        vqvae_hparams: the VQ-VAE's hyperparameters; filled in automatically and saved in the
            checkpoint, so a resume rebuilds the VQ-VAE even if `vqvae_ckpt` has moved (its weights
            come from this model's own checkpoint).

    The VQ-VAE comes from, in order: `vqvae`, `vqvae_ckpt` (when the file exists or no
    `vqvae_hparams` are given), then `vqvae_hparams`. It is frozen (no gradients) and runs in
    eval mode whenever this model uses it.

    Shape:
        - `forward(codes, labels)`: int64 `(B, t, h, w)`, `(B,)` -> logits `(B, t*h*w, n_codes)`.
        - `sample(n, labels)`: -> float `(n, C, T, H, W)` in `[-0.5, 0.5]`.
        - `(t, h, w)` is the VQ-VAE's `latent_shape`; batches are `{'video': float32
          (B, C, T, H, W) in [-0.5, 0.5], 'label': int64 (B,)}` of the VQ-VAE's C, T, H, W.

    Raises:
        UsageError: none of `vqvae`, `vqvae_ckpt`, `vqvae_hparams` is given; or `vqvae_ckpt` is
            loaded and `load_vqvae` refuses it (missing file, not a VQ-VAE checkpoint).
        ValueError: `hidden_dim` is not divisible by `heads`.
    """

    n_logged_videos = 4  # samples drawn for `log_videos` at the end of each validation
    n_scored_samples = 20  # samples whose digit scores validation logs (`val/sample_*`)

    def __init__(
        self,
        vqvae_ckpt: str | None = None,
        hidden_dim: int = 256,
        heads: int = 4,
        layers: int = 6,
        dropout: float = 0.2,
        attn_dropout: float = 0.3,
        class_cond: bool = False,
        n_classes: int = 10,
        lr: float = 3e-4,
        warmup_steps: int = 1000,
        max_steps: int = 200_000,
        weight_decay: float = 0.01,
        vqvae: VQVAE | None = None,
        vqvae_hparams: dict | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["vqvae"])
        self.vqvae = _frozen(_build_vqvae(vqvae, vqvae_ckpt, vqvae_hparams))
        self.hparams["vqvae_hparams"] = dict(self.vqvae.hparams)

        t, h, w = self.vqvae.latent_shape
        self.latent_shape = (t, h, w)
        self.seq_len = t * h * w
        self.n_codes = self.vqvae.hparams.n_codes
        self.token_emb = nn.Embedding(self.n_codes, hidden_dim)
        self.start = nn.Parameter(torch.zeros(hidden_dim))
        self.class_emb = nn.Embedding(n_classes, hidden_dim) if class_cond else None
        self.pos_t = nn.Parameter(torch.randn(t, hidden_dim) * 0.02)
        self.pos_h = nn.Parameter(torch.randn(h, hidden_dim) * 0.02)
        self.pos_w = nn.Parameter(torch.randn(w, hidden_dim) * 0.02)
        self.drop = nn.Dropout(dropout)
        self.transformer = Transformer(hidden_dim, heads, layers, dropout, attn_dropout)
        self.head = nn.Linear(hidden_dim, self.n_codes, bias=False)
        self._digit_judge = None  # (digit classifier, margin), loaded at the first validation
        self._val_reference: Tensor | None = None  # uint8 (B, T, H, W), first validation batch
        for name, child in self.named_children():
            if name != "vqvae":  # keep the trained VQ-VAE's weights
                child.apply(_init_weights)

    # --- model -------------------------------------------------------------------------------

    def positions(self) -> Tensor:
        """Axial positional embeddings in raster order: `(L, hidden_dim)`."""
        pos = self.pos_t[:, None, None] + self.pos_h[None, :, None] + self.pos_w[None, None, :]  # (t, h, w, D)
        return pos.flatten(0, 2)  # (L, D)

    def _start(self, n: int, labels: Tensor | None) -> Tensor:
        """Input vector of position 0: `(n, 1, D)`."""
        start = self.start.expand(n, -1)  # (n, D)
        if self.class_emb is not None:
            start = start + self.class_emb(labels)
        return start[:, None]

    def _inputs(self, tokens: Tensor, labels: Tensor | None, length: int) -> Tensor:
        """Inputs of positions `0..length-1` from the first `length - 1` tokens: `(B, length, D)`."""
        x = torch.cat([self._start(tokens.shape[0], labels), self.token_emb(tokens[:, : length - 1])], 1)
        return self.drop(x + self.positions()[:length])

    def forward(self, codes: Tensor, labels: Tensor | None = None) -> Tensor:
        """Next-code logits for every position of `codes` (teacher forcing).

        Args:
            codes: int64 `(B, t, h, w)` in `[0, n_codes)`, of the VQ-VAE's `latent_shape` (not
                checked here; a batch of the wrong size fails in training with a `UsageError`).
            labels: int64 `(B,)` when the model is class-conditional; ignored otherwise.

        Returns:
            logits `(B, L, n_codes)`, `L = t*h*w`: row `i` predicts code `i` from codes `< i`.
        """
        tokens = codes.flatten(1)  # (B, L)
        hidden = self.transformer(self._inputs(tokens, labels, self.seq_len))  # (B, L, D)
        return self.head(hidden)  # (B, L, n_codes)

    # --- training ----------------------------------------------------------------------------

    def _loss(self, batch: dict[str, Tensor]) -> Tensor:
        video = batch["video"]  # (B, C, T, H, W)
        with _evaluating(self.vqvae):
            codes = self.vqvae.encode(video)  # (B, t, h, w), no grad
        if tuple(codes.shape[1:]) != self.latent_shape:
            raise UsageError(
                f"video: shape {tuple(video.shape)} gives codes {tuple(codes.shape[1:])}, but the "
                f"VQ-VAE was trained for codes {self.latent_shape} (sequence_length "
                f"{self.vqvae.hparams.sequence_length}, resolution {self.vqvae.hparams.resolution})."
            )
        labels = batch["label"] if self.hparams.class_cond else None
        logits = self(codes, labels)  # (B, L, n_codes)
        return F.cross_entropy(logits.reshape(-1, self.n_codes), codes.reshape(-1))

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["video"].shape[0])
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss = self._loss(batch)
        self.log("val/loss", loss, prog_bar=True, sync_dist=True, batch_size=batch["video"].shape[0])
        if batch_idx == 0:
            self._val_reference = to_uint8_clips(batch["video"])  # (B, T, H, W) real clips
        return loss

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking or not self.trainer.is_global_zero:
            return
        judge = digit_judge(self)
        n = max(self.n_logged_videos, self.n_scored_samples if judge is not None else 0)
        labels = self._check_labels(n, None)  # 0, 1, ..., 9, 0, ... (None without class_cond)
        samples = self.sample(n, labels)  # (n, C, T, H, W)
        shown = self.n_logged_videos
        captions = None if labels is None else [f"digit {c}" for c in labels[:shown].tolist()]
        _log_videos(self, "val/samples", samples[:shown], captions=captions)
        if judge is not None:
            scores = training_scores(to_uint8_clips(samples), labels, *judge, reference=self._val_reference)
            for name, value in scores.items():
                self.log(f"val/sample_{name}", value, rank_zero_only=True)

    def log_videos(self, tag: str, videos: Tensor) -> None:
        """Save videos `(N, C, T, H, W)` in `[-0.5, 0.5]` as a GIF grid under the run's `videos/`.

        As `VQVAE.log_videos`: global-zero rank only, nothing outside a Trainer.
        """
        _log_videos(self, tag, videos)

    def configure_optimizers(self):
        """AdamW (betas 0.9, 0.95; `weight_decay` on weight matrices only) with a per-step
        schedule: linear warmup over `warmup_steps`, then cosine decay to 0 at `max_steps`."""
        trainable = [(n, p) for n, p in self.named_parameters() if p.requires_grad]
        decay = [p for n, p in trainable if p.dim() >= 2 and not n.startswith("pos_")]
        no_decay = [p for n, p in trainable if p.dim() < 2 or n.startswith("pos_")]
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.hparams.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.hparams.lr,
            betas=(0.9, 0.95),
        )
        warmup, total = self.hparams.warmup_steps, self.hparams.max_steps

        def lr_factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return 0.5 * (1.0 + math.cos(math.pi * progress))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # --- sampling ----------------------------------------------------------------------------

    def _check_labels(self, n: int, labels: Tensor | None) -> Tensor | None:
        if not self.hparams.class_cond:
            if labels is not None:
                raise UsageError("labels: this VideoGPT was trained without class_cond; pass labels=None.")
            return None
        if labels is None:
            return torch.arange(n, device=self.device) % self.hparams.n_classes  # 0, 1, ..., 9, 0, ...
        labels = torch.as_tensor(labels, dtype=torch.long, device=self.device)
        if labels.shape != (n,):
            raise UsageError(f"labels: expected shape ({n},), got {tuple(labels.shape)}.")
        return labels

    @torch.no_grad()
    def sample_codes(
        self,
        n: int,
        labels: Tensor | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
    ) -> Tensor:
        """Draw code grids autoregressively.

        Args:
            n: number of clips.
            labels: int64 `(n,)` digit labels (class-conditional models only); default
                `0, 1, ..., 9, 0, ...`.
            temperature: softmax temperature; `0` picks the most likely code (greedy).
            top_k: sample among the `top_k` most likely codes only.
            generator: random generator of the draws (`torch.multinomial`), for reproducibility.
            use_cache: decode with the key/value cache (one position per step); `False`
                recomputes the whole prefix each step (slow reference, same draws).

        Returns:
            int64 codes `(n, t, h, w)` on the model's device.

        Runs in eval mode (dropout off) and restores the previous mode.

        Raises:
            UsageError: `labels` is given to a model trained without `class_cond`, or is not of
                shape `(n,)`.
            Interrupted: (a `VideoMNISTError`) inside `interrupt.interruptible`, as the CLI runs
                it, a SIGINT or SIGTERM arrived; checked between tokens.
        """
        labels = self._check_labels(n, labels)
        was_training = self.training
        self.eval()
        tokens = torch.zeros(n, self.seq_len, dtype=torch.long, device=self.device)  # (n, L)
        positions = self.positions()  # (L, D)
        cache = self.transformer.new_cache(n, self.seq_len, positions) if use_cache else None
        for i in range(self.seq_len):
            if use_cache:
                prev = self._start(n, labels) if i == 0 else self.token_emb(tokens[:, i - 1 : i])  # (n, 1, D)
                hidden = self.transformer.step(prev + positions[i], cache, i)  # (n, 1, D)
            else:
                hidden = self.transformer(self._inputs(tokens, labels, i + 1))[:, -1:]  # (n, 1, D)
            logits = self.head(hidden[:, 0])  # (n, n_codes)
            tokens[:, i] = _draw(logits, temperature, top_k, generator)
            check_interrupt()  # Ctrl-C stops a long sampling between tokens
        self.train(was_training)
        return tokens.view(n, *self.latent_shape)

    @torch.no_grad()
    def sample(self, n: int, labels: Tensor | None = None, **kwargs) -> Tensor:
        """Generate `n` clips: float `(n, C, T, H, W)` in `[-0.5, 0.5]`.

        Args:
            n: number of clips.
            labels: int64 `(n,)` digit labels for a class-conditional model (default
                `0, 1, ..., 9, 0, ...`); must be None otherwise.
            **kwargs: `temperature`, `top_k`, `generator`, `use_cache` of `sample_codes`.

        Returns:
            float `(n, C, T, H, W)` clamped to `[-0.5, 0.5]`, on the model's device (C, T, H, W
            of the VQ-VAE); `synth.pixels.to_uint8_clips` turns it into uint8 clips.

        Raises:
            UsageError, Interrupted: as `sample_codes`.
        """
        codes = self.sample_codes(n, labels, **kwargs)  # (n, t, h, w)
        with _evaluating(self.vqvae):
            return self.vqvae.decode(codes).clamp(-0.5, 0.5)  # (n, C, T, H, W)


def _draw(logits: Tensor, temperature: float, top_k: int | None, generator: torch.Generator | None) -> Tensor:
    """One code per row of `logits` `(n, K)`: int64 `(n,)`."""
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float() / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]  # (n, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return torch.multinomial(F.softmax(logits, -1), 1, generator=generator)[:, 0]


def _build_vqvae(vqvae: VQVAE | None, vqvae_ckpt: str | None, vqvae_hparams: dict | None) -> VQVAE:
    """The VQ-VAE from, in order: the instance, the checkpoint file, the saved hyperparameters."""
    if vqvae is not None:
        return vqvae
    if vqvae_ckpt is not None and (vqvae_hparams is None or os.path.isfile(vqvae_ckpt)):
        return load_vqvae(vqvae_ckpt)
    if vqvae_hparams is not None:
        return VQVAE(**vqvae_hparams)  # weights follow from the VideoGPT checkpoint's state_dict
    raise UsageError("vqvae_ckpt: a VQ-VAE checkpoint is required (or pass vqvae=VQVAE(...)).")


def _frozen(vqvae: VQVAE) -> VQVAE:
    """No gradients; eval mode is set around each use (`_evaluating`), not kept, because Lightning
    warns about modules left in eval mode at the start of training."""
    vqvae.requires_grad_(False)
    return vqvae


@contextlib.contextmanager
def _evaluating(module: nn.Module):
    """Run `module` in eval mode (BatchNorm running stats, no codebook update), then restore."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
