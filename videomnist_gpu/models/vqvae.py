"""VQ-VAE for videos: 3D-conv encoder, EMA codebook, 3D-conv decoder (VideoGPT, Yan et al. 2021).

The encoder downsamples a clip `(B, C, T, H, W)` by `downsample = (dt, dh, dw)` (powers of two)
with stride-2 convolutions, `log2(d)` of them per axis (an axis that is done downsampling gets
stride 1), then refines it with residual blocks that hold axial attention. A 1x1x1 convolution maps
to `embedding_dim`, the codebook quantizes each of the `t*h*w` vectors to one of `n_codes` codes,
and the decoder mirrors the encoder with transposed convolutions back to `(B, C, T, H, W)`.

Loss = reconstruction MSE + commitment loss (weight 0.25); the codebook learns by EMA, not by
gradients (see `codebook.py`).

Convention:
    Videos are float `(B, C, T, H, W)` in `[-0.5, 0.5]` (`uint8 / 255 - 0.5`); codes are int64
    `(B, t, h, w)` with `(t, h, w) = (T/dt, H/dh, W/dw)`. Batches are dicts
    `{'video': (B, C, T, H, W), 'label': int64 (B,)}`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from videomnist_gpu.errors import UsageError
from videomnist_gpu.evaluation.evaluate import training_scores
from videomnist_gpu.file_kind import ZIP, file_kind
from videomnist_gpu.models.attention import AxialBlock
from videomnist_gpu.models.codebook import EMACodebook
from videomnist_gpu.models.validation_scores import digit_judge, psnr
from videomnist_gpu.synth.pixels import to_uint8_clips

__all__ = ["VQVAE", "load_vqvae"]


class SamePadConv3d(nn.Conv3d):
    """`Conv3d` whose output is `ceil(input / stride)` per axis (TensorFlow's "same" padding).

    The total padding `kernel - stride` per axis is split, the larger half first.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride=1) -> None:
        stride = (stride,) * 3 if isinstance(stride, int) else tuple(stride)
        super().__init__(in_channels, out_channels, kernel_size, stride=stride)
        self._pad = _same_pad(kernel_size, stride)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, self._pad))


class SamePadConvTranspose3d(nn.ConvTranspose3d):
    """`ConvTranspose3d` whose output is exactly `input * stride` per axis."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride=1) -> None:
        stride = (stride,) * 3 if isinstance(stride, int) else tuple(stride)
        # Pre-padding by (kernel - stride) and cropping (kernel - 1) gives (L - 1 + k - s) * s ...
        # ... - 2(k - 1) + k = L * s exactly, for any kernel k and stride s.
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size - 1)
        self._pad = _same_pad(kernel_size, stride)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, self._pad))


def _same_pad(kernel_size: int, stride: tuple[int, ...]) -> tuple[int, ...]:
    """`F.pad` amounts (last axis first) for a total padding of `kernel - stride` per axis."""
    pad: list[int] = []
    for s in reversed(stride):
        total = kernel_size - s
        pad += [total // 2 + total % 2, total // 2]
    return tuple(pad)


class AttentionResidualBlock(nn.Module):
    """`x + f(x)`, `f` = BN-ReLU-conv3-BN-ReLU-conv1-BN-ReLU-axial attention; keeps the shape."""

    def __init__(self, n_hiddens: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.BatchNorm3d(n_hiddens),
            nn.ReLU(),
            SamePadConv3d(n_hiddens, n_hiddens // 2, 3),
            nn.BatchNorm3d(n_hiddens // 2),
            nn.ReLU(),
            SamePadConv3d(n_hiddens // 2, n_hiddens, 1),
            nn.BatchNorm3d(n_hiddens),
            nn.ReLU(),
            AxialBlock(n_hiddens, heads=2),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


def _residual_stack(n_hiddens: int, n_res_layers: int) -> nn.Sequential:
    return nn.Sequential(
        *[AttentionResidualBlock(n_hiddens) for _ in range(n_res_layers)],
        nn.BatchNorm3d(n_hiddens),
        nn.ReLU(),
    )


def _halvings(downsample: Sequence[int]) -> list[int]:
    """Stride-2 steps per axis: `log2` of each factor."""
    return [int(math.log2(d)) for d in downsample]


class Encoder(nn.Module):
    """`(B, C, T, H, W)` -> `(B, n_hiddens, T/dt, H/dh, W/dw)`."""

    def __init__(self, in_channels: int, n_hiddens: int, n_res_layers: int, downsample: Sequence[int]) -> None:
        super().__init__()
        halvings = _halvings(downsample)
        convs = []
        for i in range(max(halvings)):
            stride = tuple(2 if n > i else 1 for n in halvings)
            convs.append(SamePadConv3d(in_channels if i == 0 else n_hiddens, n_hiddens, 4, stride=stride))
        self.convs = nn.ModuleList(convs)
        self.conv_last = SamePadConv3d(n_hiddens if convs else in_channels, n_hiddens, 3)
        self.res_stack = _residual_stack(n_hiddens, n_res_layers)

    def forward(self, x: Tensor) -> Tensor:
        for conv in self.convs:
            x = F.relu(conv(x))  # each step halves the axes still being downsampled
        return self.res_stack(self.conv_last(x))  # (B, n_hiddens, t, h, w)


class Decoder(nn.Module):
    """`(B, n_hiddens, t, h, w)` -> `(B, C, t*dt, h*dh, w*dw)`."""

    def __init__(self, out_channels: int, n_hiddens: int, n_res_layers: int, downsample: Sequence[int]) -> None:
        super().__init__()
        halvings = _halvings(downsample)
        steps = max(halvings)
        self.res_stack = _residual_stack(n_hiddens, n_res_layers)
        convs = []
        for i in range(steps):
            stride = tuple(2 if n > i else 1 for n in halvings)
            out = out_channels if i == steps - 1 else n_hiddens
            convs.append(SamePadConvTranspose3d(n_hiddens, out, 4, stride=stride))
        self.convts = nn.ModuleList(convs)
        self.conv_out = None if convs else SamePadConv3d(n_hiddens, out_channels, 3)

    def forward(self, x: Tensor) -> Tensor:
        x = self.res_stack(x)  # (B, n_hiddens, t, h, w)
        if self.conv_out is not None:  # downsample (1, 1, 1): no transposed convolution
            return self.conv_out(x)
        for i, convt in enumerate(self.convts):
            x = convt(x)  # each step doubles the axes still being upsampled
            if i < len(self.convts) - 1:
                x = F.relu(x)
        return x  # (B, C, T, H, W)


class VQVAE(pl.LightningModule):
    """Video VQ-VAE with an EMA codebook (VideoGPT's first stage).

    Args:
        embedding_dim: size of each code vector D (default 256).
        n_codes: codebook size (default 512).
        n_hiddens: channels of the encoder and decoder; even (2 attention heads). Default 128.
        n_res_layers: residual blocks (with axial attention) in the encoder and in the decoder.
        downsample: `(dt, dh, dw)`, powers of two dividing `sequence_length`, `resolution`
            (default (2, 4, 4)).
        lr: Adam learning rate.
        in_channels: video channels `C` (1 for VideoMNIST, 3 for upstream-style RGB).
        sequence_length: clip length `T` the model is trained on (default 16).
        resolution: frame size `H = W` (default 64).
        commitment_cost: weight of the commitment loss.
        ema_decay: decay of the codebook's moving averages.

    The other sizes are not checked. The hyperparameters are saved (`self.hparams`), so
    `load_vqvae` rebuilds the model from a checkpoint.

    Shape:
        - `forward(x)`: `(B, C, T, H, W)` -> `(x_recon (B, C, T, H, W), recon_loss, vq dict)`.
        - `encode(x)`: `(B, C, T, H, W)` -> int64 `(B, t, h, w)`.
        - `decode(codes)`: int64 `(B, t, h, w)` -> `(B, C, T, H, W)` (not clamped).
        - `(t, h, w) = latent_shape = (T/dt, H/dh, W/dw)`.

    Raises:
        UsageError: `downsample` is not 3 powers of two, or one does not divide its axis
            (`sequence_length`, `resolution`); `n_hiddens` is odd.

    Example:
        >>> model = VQVAE(embedding_dim=8, n_codes=16, n_hiddens=8, n_res_layers=1,
        ...               downsample=(2, 4, 4), sequence_length=4, resolution=16).eval()
        >>> model.latent_shape
        (2, 4, 4)
        >>> x = torch.zeros(2, 1, 4, 16, 16)  # (B, C, T, H, W) in [-0.5, 0.5]
        >>> tuple(model.encode(x).shape), tuple(model.decode(model.encode(x)).shape)
        ((2, 2, 4, 4), (2, 1, 4, 16, 16))
    """

    def __init__(
        self,
        embedding_dim: int = 256,
        n_codes: int = 512,
        n_hiddens: int = 128,
        n_res_layers: int = 2,
        downsample: Sequence[int] = (2, 4, 4),
        lr: float = 3e-4,
        in_channels: int = 1,
        sequence_length: int = 16,
        resolution: int = 64,
        commitment_cost: float = 0.25,
        ema_decay: float = 0.99,
    ) -> None:
        super().__init__()
        downsample = tuple(int(d) for d in downsample)
        _check_downsample(downsample, sequence_length, resolution)
        if n_hiddens % 2:
            raise UsageError(f"n_hiddens must be even (2 attention heads), got {n_hiddens}.")
        self.save_hyperparameters()
        self.encoder = Encoder(in_channels, n_hiddens, n_res_layers, downsample)
        self.pre_vq_conv = SamePadConv3d(n_hiddens, embedding_dim, 1)
        self.codebook = EMACodebook(n_codes, embedding_dim, commitment_cost, ema_decay)
        self.post_vq_conv = SamePadConv3d(embedding_dim, n_hiddens, 1)
        self.decoder = Decoder(in_channels, n_hiddens, n_res_layers, downsample)
        self._val_videos: Tensor | None = None  # first validation batch, for `log_videos`
        self._digit_judge = None  # (digit classifier, margin), loaded at the first validation

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """`(t, h, w)` of the code grid for clips of `sequence_length x resolution x resolution`."""
        dt, dh, dw = self.hparams.downsample
        res = self.hparams.resolution
        return (self.hparams.sequence_length // dt, res // dh, res // dw)

    def _check_input(self, x: Tensor) -> None:
        """Clips must have the shape this model was built for (a host-side shape check, no sync)."""
        hp = self.hparams
        want = (hp.in_channels, hp.sequence_length, hp.resolution, hp.resolution)
        if x.dim() != 5 or tuple(x.shape[1:]) != want:
            raise UsageError(f"VQVAE input: expected clips (B, {', '.join(map(str, want))}) "
                             f"(in_channels, sequence_length, resolution, resolution), got {tuple(x.shape)}")

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """Encode, quantize and decode `x`; in training mode this also updates the codebook (EMA).

        Args:
            x: videos float `(B, C, T, H, W)` in `[-0.5, 0.5]`, with C, T, H, W as built.

        Returns:
            `(x_recon, recon_loss, vq)`: the reconstruction `(B, C, T, H, W)` (not clamped), its
            MSE to `x` (a scalar), and the codebook's dict: ``embeddings`` `(B, D, t, h, w)`
            (straight-through), ``codes`` int64 `(B, t, h, w)`, and scalars
            ``commitment_loss`` (already weighted by `commitment_cost`), ``perplexity`` and
            ``code_usage`` (codes used in this batch).

        Raises:
            UsageError: `x` is not 5-D with `(C, T, H, W) = (in_channels, sequence_length,
                resolution, resolution)`.
        """
        self._check_input(x)
        z = self.pre_vq_conv(self.encoder(x))  # (B, D, t, h, w)
        vq = self.codebook(z)
        x_recon = self.decoder(self.post_vq_conv(vq["embeddings"]))  # (B, C, T, H, W)
        return x_recon, F.mse_loss(x_recon, x), vq

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        """Codes of videos `x` `(B, C, T, H, W)`: int64 `(B, t, h, w)`. Never updates the codebook.

        No gradients. BatchNorm follows the module's mode: call `eval()` first for inference
        (`VideoGPT` does).

        Raises:
            UsageError: `x` is not 5-D with `(C, T, H, W) = (in_channels, sequence_length,
                resolution, resolution)`.
        """
        self._check_input(x)
        return self.codebook.codes_for(self.pre_vq_conv(self.encoder(x)))

    @torch.no_grad()
    def decode(self, codes: Tensor) -> Tensor:
        """Videos `(B, C, T, H, W)` from codes int64 `(B, t, h, w)`; values near `[-0.5, 0.5]`.

        No gradients; the shape of `codes` is not checked (a grid `(B, t', h', w')` decodes to
        `(B, C, t'*dt, h'*dh, w'*dw)`). Codes must lie in `[0, n_codes)`: others fail in
        `F.embedding` (an `IndexError` on the CPU).
        """
        return self.decoder(self.post_vq_conv(self.codebook.embed(codes)))

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        x = batch["video"]  # (B, C, T, H, W)
        _, recon_loss, vq = self(x)
        loss = recon_loss + vq["commitment_loss"]
        b = x.shape[0]
        self.log("train/loss", loss, batch_size=b)
        self.log("train/recon_loss", recon_loss, prog_bar=True, batch_size=b)
        self.log("train/commitment_loss", vq["commitment_loss"], batch_size=b)
        self.log("train/perplexity", vq["perplexity"], prog_bar=True, batch_size=b)
        self.log("train/code_usage", vq["code_usage"], batch_size=b)
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        x = batch["video"]  # (B, C, T, H, W)
        x_recon, recon_loss, vq = self(x)
        b = x.shape[0]
        self.log("val/recon_loss", recon_loss, prog_bar=True, sync_dist=True, batch_size=b)
        self.log("val/perplexity", vq["perplexity"], sync_dist=True, batch_size=b)
        self.log("val/psnr", psnr(x_recon, x), sync_dist=True, batch_size=b)
        judge = digit_judge(self)
        if judge is not None and batch["label"].ndim == 1:  # one digit per clip
            scores = training_scores(to_uint8_clips(x_recon), batch["label"], *judge)
            self.log("val/digit_accuracy", scores["digit_accuracy"], sync_dist=True, batch_size=b)
        if batch_idx == 0:
            n = min(4, b)
            # input i beside its reconstruction: x0, r0, x1, r1, ... in rows of two
            self._val_videos = torch.stack([x[:n], x_recon[:n]], dim=1).flatten(0, 1).detach()  # (2n, C, T, H, W)
        return recon_loss

    def on_validation_epoch_end(self) -> None:
        if self._val_videos is not None and not self.trainer.sanity_checking:
            pairs = len(self._val_videos) // 2
            _log_videos(self, "val/reconstructions", self._val_videos, ncol=2,
                        captions=["input", "reconstruction"] * pairs)
        self._val_videos = None

    def log_videos(self, tag: str, videos: Tensor) -> None:
        """Save videos `(N, C, T, H, W)` in `[-0.5, 0.5]` as a GIF grid under the run's `videos/`.

        Written by the global-zero rank as `videos/<tag with / as _>_stepNNNNNNN.gif` under the
        Trainer's `default_root_dir`; does nothing outside a Trainer or during its sanity check.
        """
        _log_videos(self, tag, videos)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Adam with `lr`, betas (0.9, 0.999), over all parameters."""
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr, betas=(0.9, 0.999))


def _check_downsample(downsample: tuple[int, ...], sequence_length: int, resolution: int) -> None:
    if len(downsample) != 3 or any(d < 1 or d & (d - 1) for d in downsample):
        raise UsageError(f"downsample must be 3 powers of two (t h w), e.g. 2 4 4; got {list(downsample)}.")
    for size, d, name in zip((sequence_length, resolution, resolution), downsample, "thw"):
        if size % d:
            raise UsageError(
                f"downsample {list(downsample)}: axis {name} of size {size} is not divisible by {d}."
            )


def _log_videos(module: pl.LightningModule, tag: str, videos: Tensor, fps: int = 4, ncol: int | None = None,
                captions: list[str] | None = None) -> None:
    """Save `videos` (N, C, T, H, W) in [-0.5, 0.5] as one GIF grid under the run's `videos/`.

    Written by the global-zero rank only, named by tag and step, e.g.
    `videos/val_samples_step0000500.gif`; nothing happens outside a Trainer. `ncol` and
    `captions` as in `save_video_grid`.
    """
    trainer = module._trainer
    if trainer is None or not trainer.is_global_zero or trainer.sanity_checking:
        return
    from videomnist_gpu.viz.visualize import save_videos

    name = f"{tag.replace('/', '_')}_step{module.global_step:07d}.gif"
    save_videos(videos.detach().float(), Path(trainer.default_root_dir) / "videos" / name, fps=fps, ncol=ncol,
                captions=captions)


def load_vqvae(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> VQVAE:
    """Load a VQ-VAE from a Lightning checkpoint with `torch.load(weights_only=True)`.

    Args:
        path: checkpoint written by a `Trainer` fitting `VQVAE`.
        map_location: device for the weights.

    Returns:
        The VQ-VAE with its weights and codebook state.

    Raises:
        UsageError: the file does not exist, cannot be loaded by `torch.load(weights_only=True)`,
            holds no Lightning ``hyper_parameters``/``state_dict``, or is a VideoGPT checkpoint.
    """
    if not os.path.isfile(path):
        raise UsageError(f"vqvae_ckpt: no such file {os.fspath(path)!r}.")
    kind = file_kind(path)
    if kind != ZIP:
        raise UsageError(f"vqvae_ckpt: {os.fspath(path)!r} is {kind}, not a checkpoint; give a VQ-VAE checkpoint "
                         "from train-vqvae.")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception:  # a zip that is no torch file, or objects only unpickling code could make
        raise UsageError(f"vqvae_ckpt: {os.fspath(path)!r} is not a checkpoint of plain tensors and values; give a "
                         "VQ-VAE checkpoint from train-vqvae.") from None
    hparams = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    if not isinstance(hparams, dict) or "state_dict" not in checkpoint:
        raise UsageError(f"vqvae_ckpt: {os.fspath(path)!r} is not a Lightning VQVAE checkpoint.")
    if "vqvae_hparams" in hparams:
        raise UsageError(f"vqvae_ckpt: {os.fspath(path)!r} is a VideoGPT checkpoint; give the VQ-VAE checkpoint "
                         "from train-vqvae.")
    vqvae = VQVAE(**hparams)
    vqvae.load_state_dict(checkpoint["state_dict"])
    return vqvae
