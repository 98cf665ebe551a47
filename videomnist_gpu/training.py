"""Train VQ-VAE and VideoGPT on the stream (or an HDF5 export), and sample from a VideoGPT.

The library side of `videomnist train-vqvae`, `train-videogpt` and `sample`: settings come from a
flat YAML preset (`configs/vqvae.yaml`, `configs/*_tiny.yaml`; see `models/presets.py`) with
command-line overrides applied on top. A run directory holds:

    OUTPUT_DIR/checkpoints/best.ckpt   lowest validation loss (ModelCheckpoint)
    OUTPUT_DIR/checkpoints/last.ckpt   the latest state, for --resume
    OUTPUT_DIR/logs/                   TensorBoard event files (CSV when tensorboard is absent)
    OUTPUT_DIR/videos/                 reconstructions / samples as GIF grids at each validation

Checkpoints hold plain hyperparameters only and load with `torch.load(weights_only=True)`;
`--resume` restores the model, the optimizer, the step count and the data stream position.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch

from videomnist_gpu.datamodule import VideoMNISTDataModule
from videomnist_gpu.errors import UsageError
from videomnist_gpu.models import VQVAE, VideoGPT, model_kwargs

__all__ = ["RunSettings", "train", "load_videogpt", "sample_videos"]


# Printed on every run by Lightning 2.6 on torch >= 2.10 (Lightning's own `_pytree` still uses
# torch's LeafSpec); nothing a user can act on.
_LEAFSPEC_WARNING = "`isinstance(treespec, LeafSpec)` is deprecated"
# Lightning's advertisement, logged at INFO when a Trainer is built without its cloud logger.
_LITLOGGER_TIP = "💡 Tip: For seamless cloud logging and experiment tracking"
_RANK_ZERO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


class _DropLitLoggerTip(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_LITLOGGER_TIP)


@contextlib.contextmanager
def _quiet_lightning():
    """Hide two messages Lightning prints on every run: the LeafSpec FutureWarning and the
    litlogger tip. Only these two; every other warning and log line still shows."""
    tip_filter = _DropLitLoggerTip()
    loggers = [logging.getLogger(name) for name in _RANK_ZERO_LOGGERS]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=re.escape(_LEAFSPEC_WARNING), category=FutureWarning)
        for logger in loggers:
            logger.addFilter(tip_filter)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeFilter(tip_filter)


@dataclass(frozen=True)
class RunSettings:
    """Trainer and data settings of one run (model hyperparameters live in the preset)."""

    output_dir: Path
    batch_size: int = 8
    max_steps: int = 1000
    gpus: int = 0
    precision: str = "32-true"
    seed: int = 0
    num_workers: int = 0
    val_check_interval: int = 250
    val_clips: int = 64
    data_path: str | None = None
    dataset: str | None = None  # a VideoMNIST dataset preset (YAML) for the stream


def _trainer(settings: RunSettings, monitor: str) -> pl.Trainer:
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    log_dir = settings.output_dir / "logs"
    has_tensorboard = importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX")
    logger = (TensorBoardLogger if has_tensorboard else CSVLogger)(str(log_dir), name="", version="")
    checkpoint = ModelCheckpoint(dirpath=str(settings.output_dir / "checkpoints"), filename="best",
                                 monitor=monitor, mode="min", save_last=True, save_top_k=1)
    gpus = settings.gpus
    return pl.Trainer(
        accelerator="gpu" if gpus > 0 else "cpu",
        devices=max(gpus, 1),
        strategy="ddp" if gpus > 1 else "auto",
        precision=settings.precision,
        max_steps=settings.max_steps,
        val_check_interval=settings.val_check_interval,
        check_val_every_n_epoch=None,
        limit_val_batches=max(1, settings.val_clips // settings.batch_size),
        num_sanity_val_steps=0,
        default_root_dir=str(settings.output_dir),
        logger=logger,
        callbacks=[checkpoint],
        log_every_n_steps=min(50, settings.val_check_interval),
        enable_progress_bar=sys.stderr.isatty(),
        enable_model_summary=False,
    )


def _datamodule(settings: RunSettings, sequence_length: int, resolution: int, channels: int) -> VideoMNISTDataModule:
    return VideoMNISTDataModule(settings.dataset, sequence_length=sequence_length, resolution=resolution,
                                batch_size=settings.batch_size, num_workers=settings.num_workers,
                                channels=channels, data_path=settings.data_path, val_clips=settings.val_clips)


def train(kind: str, preset: dict[str, Any], settings: RunSettings, resume: str | None = None) -> Path:
    """Fit a `vqvae` or `videogpt` and return the best checkpoint's path.

    `preset` holds the model hyperparameters (and, for VideoGPT, `vqvae_ckpt`).
    """
    if resume is not None and not Path(resume).is_file():
        raise UsageError(f"--resume: no such checkpoint {resume!r}")
    pl.seed_everything(settings.seed, workers=True, verbose=False)
    if kind == "vqvae":
        model = VQVAE(**model_kwargs(VQVAE, preset))
        channels, monitor = model.hparams.in_channels, "val/recon_loss"
        sequence_length, resolution = model.hparams.sequence_length, model.hparams.resolution
    elif kind == "videogpt":
        if not preset.get("vqvae_ckpt"):
            raise UsageError("--vqvae: train-videogpt needs the VQ-VAE checkpoint to model")
        model = VideoGPT(**{**model_kwargs(VideoGPT, preset), "max_steps": settings.max_steps})
        vq = model.vqvae.hparams
        channels, monitor = vq.in_channels, "val/loss"
        sequence_length, resolution = vq.sequence_length, vq.resolution
        for name, have in (("sequence_length", sequence_length), ("resolution", resolution)):
            if name in preset and int(preset[name]) != have:
                raise UsageError(f"--{name}: the VQ-VAE checkpoint was trained with {name} {have}, got {preset[name]}")
    else:
        raise UsageError(f"train: unknown model {kind!r}. Valid: vqvae, videogpt")
    datamodule = _datamodule(settings, sequence_length, resolution, channels)
    with _quiet_lightning():
        trainer = _trainer(settings, monitor)
        trainer.fit(model, datamodule=datamodule, ckpt_path=resume)
        if not trainer.interrupted:
            # ModelCheckpoint saves last.ckpt only at validation: when max_steps is not a multiple
            # of val_check_interval the final steps would be missing from it (and from --resume).
            trainer.save_checkpoint(settings.output_dir / "checkpoints" / "last.ckpt")
    best = trainer.checkpoint_callback.best_model_path
    return Path(best) if best else settings.output_dir / "checkpoints" / "last.ckpt"


def load_videogpt(path: str | Path, device: str | torch.device = "cpu") -> VideoGPT:
    """A trained VideoGPT from its checkpoint (weights_only load), in eval mode on `device`."""
    if not Path(path).is_file():
        raise UsageError(f"--ckpt: no such checkpoint {str(path)!r}")
    try:
        model = VideoGPT.load_from_checkpoint(str(path), map_location=device, weights_only=True)
    except (KeyError, RuntimeError, TypeError) as err:
        raise UsageError(f"--ckpt: {str(path)!r} is not a VideoGPT checkpoint ({err.__class__.__name__})") from None
    return model.eval()


def sample_videos(model: VideoGPT, n: int, labels: list[int] | None, output: Path, seed: int = 0,
                  temperature: float = 1.0, top_k: int | None = None, fps: int = 4) -> list[Path]:
    """Sample `n` clips and write `OUTPUT.gif`, `OUTPUT.mp4` (grids), `OUTPUT.npy` (uint8) and, for a
    class-conditional model, `OUTPUT.labels.npy`.

    The `.npy` holds uint8 `(n, T, H, W)` (first channel), the same layout as `Clips.video`; the
    `.labels.npy` int64 `(n,)` the label each clip was sampled with (`labels`, or the default
    `0, 1, ..., 9, 0, ...`), which `videomnist evaluate OUTPUT.npy` reads.
    """
    from videomnist_gpu.visualize import save_videos, to_uint8_video

    label_tensor = None if labels is None else torch.tensor(labels, dtype=torch.int64, device=model.device)
    generator = torch.Generator(device=model.device).manual_seed(seed)
    with torch.no_grad():
        videos = model.sample(n, labels=label_tensor, temperature=temperature, top_k=top_k,
                              generator=generator)  # (n, C, T, H, W)
    output.parent.mkdir(parents=True, exist_ok=True)
    written = [save_videos(videos, output.with_suffix(".gif"), fps=fps),
               save_videos(videos, output.with_suffix(".mp4"), fps=fps)]
    arrays = {".npy": to_uint8_video(videos)}  # (n, T, H, W)
    if label_tensor is not None or model.hparams.class_cond:
        arrays[".labels.npy"] = model._check_labels(n, label_tensor).cpu().numpy()  # (n,) int64, as sampled
    for suffix, array in arrays.items():
        path = output.with_suffix(suffix)
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as f:
            np.save(f, array)
        partial.replace(path)
        written.append(path)
    return written
