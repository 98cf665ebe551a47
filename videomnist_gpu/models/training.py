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
from lightning.fabric.utilities.exceptions import MisconfigurationException

from videomnist_gpu.atomic_file import atomic_file
from videomnist_gpu.data.datamodule import VideoMNISTDataModule
from videomnist_gpu.errors import UsageError, VideoMNISTError
from videomnist_gpu.file_kind import ZIP, file_kind
from videomnist_gpu.interrupt import check_interrupt, hold_for_test
from videomnist_gpu.models import VQVAE, VideoGPT, model_kwargs
from videomnist_gpu.models.validation_lines import ValidationLines

__all__ = ["RunSettings", "train", "check_resume", "load_videogpt", "sample_videos"]

_MODEL_NAMES = {"vqvae": "VQ-VAE", "videogpt": "VideoGPT"}


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
def _quiet_lightning(verbose: bool = False):
    """Hide what Lightning prints on every run that a user cannot act on: the LeafSpec
    FutureWarning, the litlogger tip and, unless `verbose`, its INFO banner ("GPU available: ...",
    "`Trainer.fit` stopped: ..."). Warnings and errors still show."""
    tip_filter = _DropLitLoggerTip()
    loggers = [logging.getLogger(name) for name in _RANK_ZERO_LOGGERS]
    banners = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric")]
    levels = [logger.level for logger in banners]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=re.escape(_LEAFSPEC_WARNING), category=FutureWarning)
        for logger in loggers:
            logger.addFilter(tip_filter)
        for logger in banners:
            logger.setLevel(logging.INFO if verbose else logging.WARNING)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeFilter(tip_filter)
            for logger, level in zip(banners, levels):
                logger.setLevel(level)


class _StopOnSignal(pl.Callback):
    """Ctrl-C / SIGTERM stop training between batches (the handler only records the signal)."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        hold_for_test(f"train_step_{trainer.global_step}")
        check_interrupt()

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        check_interrupt()


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
        # a terminal shows Lightning's bar; a log file gets one line per validation instead
        callbacks=[checkpoint, _StopOnSignal(),
                   *([] if sys.stderr.isatty() else [ValidationLines(settings.max_steps)])],
        log_every_n_steps=min(50, settings.val_check_interval),
        enable_progress_bar=sys.stderr.isatty(),
        enable_model_summary=False,
    )


def _datamodule(settings: RunSettings, sequence_length: int, resolution: int, channels: int) -> VideoMNISTDataModule:
    return VideoMNISTDataModule(settings.dataset, sequence_length=sequence_length, resolution=resolution,
                                batch_size=settings.batch_size, num_workers=settings.num_workers,
                                channels=channels, data_path=settings.data_path, val_clips=settings.val_clips)


def train(kind: str, preset: dict[str, Any], settings: RunSettings, resume: str | None = None,
          verbose: bool = False) -> Path:
    """Fit a `vqvae` or `videogpt` and return the best checkpoint's path.

    `preset` holds the model hyperparameters (and, for VideoGPT, `vqvae_ckpt`); `verbose` lets
    Lightning's INFO lines through.
    """
    if resume is not None:
        check_resume(kind, resume)
    pl.seed_everything(settings.seed, workers=True, verbose=False)
    if kind == "vqvae":
        model = VQVAE(**model_kwargs(VQVAE, preset))
        channels, monitor = model.hparams.in_channels, "val/recon_loss"
        sequence_length, resolution = model.hparams.sequence_length, model.hparams.resolution
    elif kind == "videogpt":
        if not preset.get("vqvae_ckpt"):
            raise UsageError("--vqvae: train-videogpt needs the VQ-VAE checkpoint to model")
        try:
            model = VideoGPT(**{**model_kwargs(VideoGPT, preset), "max_steps": settings.max_steps})
        except UsageError as err:  # the library names its argument vqvae_ckpt; the command line --vqvae
            raise UsageError(str(err).replace("vqvae_ckpt:", "--vqvae:", 1)) from None
        vq = model.vqvae.hparams
        channels, monitor = vq.in_channels, "val/loss"
        sequence_length, resolution = vq.sequence_length, vq.resolution
        for name, have in (("sequence_length", sequence_length), ("resolution", resolution)):
            if name in preset and int(preset[name]) != have:
                raise UsageError(f"--{name}: the VQ-VAE checkpoint was trained with {name} {have}, got {preset[name]}")
    else:
        raise UsageError(f"train: unknown model {kind!r}. Valid: vqvae, videogpt")
    datamodule = _datamodule(settings, sequence_length, resolution, channels)
    _check_before_writing(settings, sequence_length, resolution, channels)
    with _quiet_lightning(verbose):
        try:
            trainer = _trainer(settings, monitor)
        except (ValueError, MisconfigurationException) as err:  # precision, accelerator
            message = str(err).strip().splitlines()[0]
            raise UsageError(f"{'--precision' if 'recision' in message else '--gpus'}: {message}") from None
        trainer.fit(model, datamodule=datamodule, ckpt_path=resume, weights_only=True)
        if not trainer.interrupted:
            # ModelCheckpoint saves last.ckpt only at validation: when max_steps is not a multiple
            # of val_check_interval the final steps would be missing from it (and from --resume).
            trainer.save_checkpoint(settings.output_dir / "checkpoints" / "last.ckpt", weights_only=False)
    best = trainer.checkpoint_callback.best_model_path
    return Path(best) if best else settings.output_dir / "checkpoints" / "last.ckpt"


def check_resume(kind: str, path: str | Path) -> None:
    """Refuse, before any work, a `--resume` file that is not a checkpoint of a `kind` run.

    The file is read as the resume will read it (`torch.load(weights_only=True)`, memory-mapped),
    so a file that passes here loads there.

    Raises:
        UsageError: one line saying what the file is instead: missing, another kind of file (text,
            HDF5, ...), not loadable without running code, or a checkpoint of the other model.
    """
    where = f"give checkpoints/last.ckpt of a train-{kind} run"
    if not Path(path).is_file():
        raise UsageError(f"--resume: no such checkpoint {str(path)!r}; {where}")
    kind_of_file = file_kind(path)
    if kind_of_file != ZIP:
        raise UsageError(f"--resume: {str(path)!r} is {kind_of_file}, not a checkpoint; {where}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # a zip that is no torch file, or objects that only unpickling code could make
        raise UsageError(f"--resume: {str(path)!r} is not a checkpoint of plain tensors and values; {where}") from None
    hparams = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    found = None if not isinstance(hparams, dict) else "videogpt" if "vqvae_hparams" in hparams else \
        "vqvae" if "n_codes" in hparams else None
    if found is None:
        raise UsageError(f"--resume: {str(path)!r} is not a checkpoint of our models (no model settings); {where}")
    if found != kind:
        raise UsageError(f"--resume: {str(path)!r} is a {_MODEL_NAMES[found]} checkpoint; train-{kind} resumes a "
                         f"{_MODEL_NAMES[kind]} run: {where}")
    if "optimizer_states" not in checkpoint:
        raise UsageError(f"--resume: {str(path)!r} holds weights only (no optimizer state to resume); {where}")


def _check_before_writing(settings: RunSettings, sequence_length: int, resolution: int, channels: int) -> None:
    """Refuse what would fail inside `fit`, before the Trainer creates the run directory."""
    available = torch.cuda.device_count()
    if settings.gpus > available:
        raise UsageError(f"--gpus: {settings.gpus} requested, but this machine has {available} CUDA device(s). "
                         f"Valid: 0 (CPU){f' .. {available}' if available else ''}")
    if settings.gpus > 0 and settings.data_path is None and settings.num_workers > 0:
        raise UsageError(f"--num_workers: the stream synthesizes on the GPU and needs 0 workers "
                         f"(CUDA cannot run in forked DataLoader workers), got {settings.num_workers}")
    if settings.data_path is not None:
        from videomnist_gpu.hdf5.reader import HDF5VideoDataset

        try:
            HDF5VideoDataset(settings.data_path, sequence_length, train=True, resolution=resolution,
                             channels=channels)
        except VideoMNISTError as err:  # not a file, not HDF5, wrong layout or shape: the user's pick
            raise UsageError(f"--data_path: {err}") from None


def load_videogpt(path: str | Path, device: str | torch.device = "cpu") -> VideoGPT:
    """A trained VideoGPT from its checkpoint (weights_only load), in eval mode on `device`."""
    if not Path(path).is_file():
        raise UsageError(f"--ckpt: no such checkpoint {str(path)!r}")
    wrong = f"--ckpt: {str(path)!r} is not a VideoGPT checkpoint; give best.ckpt or last.ckpt from a train-videogpt run"
    if file_kind(path) != ZIP:
        raise UsageError(wrong.replace("is not a VideoGPT checkpoint", f"is {file_kind(path)}, not a VideoGPT checkpoint"))
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not a torch file at all (zip, pickle or unpickling errors)
        raise UsageError(wrong) from None
    hparams = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    if not isinstance(hparams, dict) or "vqvae_hparams" not in hparams:
        if isinstance(hparams, dict) and "n_codes" in hparams:
            wrong = wrong.replace("is not a VideoGPT checkpoint", "is a VQ-VAE checkpoint, not a VideoGPT one")
        raise UsageError(wrong)
    try:
        model = VideoGPT.load_from_checkpoint(str(path), map_location=device, weights_only=True)
    except (KeyError, RuntimeError, TypeError, ValueError):  # hyperparameters or weights that do not fit
        raise UsageError(wrong) from None
    return model.eval()


def sample_videos(model: VideoGPT, n: int, labels: list[int] | None, output: Path, seed: int = 0,
                  temperature: float = 1.0, top_k: int | None = None, fps: int = 4) -> list[Path]:
    """Sample `n` clips and write `OUTPUT.gif`, `OUTPUT.mp4` (grids, each clip captioned with its
    digit class when the model is class-conditional), `OUTPUT.npy` (uint8) and, for a
    class-conditional model, `OUTPUT.labels.npy` (the labels the clips were sampled with).

    The `.npy` holds uint8 `(n, T, H, W)` (first channel), the same layout as `Clips.video`; the
    `.labels.npy` int64 `(n,)` the label each clip was sampled with (`labels`, or the default
    `0, 1, ..., 9, 0, ...`), which `videomnist evaluate OUTPUT.npy` reads.
    """
    from videomnist_gpu.viz.visualize import save_videos, to_uint8_video

    label_tensor = model._check_labels(n, labels)  # (n,) given or default classes; None without class_cond
    captions = None if label_tensor is None else [f"digit {c}" for c in label_tensor.tolist()]
    generator = torch.Generator(device=model.device).manual_seed(seed)
    with torch.no_grad():
        videos = model.sample(n, labels=label_tensor, temperature=temperature, top_k=top_k,
                              generator=generator)  # (n, C, T, H, W)
    arrays = {".npy": to_uint8_video(videos)}  # (n, T, H, W)
    if label_tensor is not None:
        arrays[".labels.npy"] = label_tensor.cpu().numpy()  # (n,) int64, as sampled
    written: list[Path] = []
    try:  # every file or none
        for suffix in (".gif", ".mp4"):
            written.append(save_videos(videos, output.with_suffix(suffix), fps=fps, captions=captions))
            hold_for_test(f"sample_wrote_{suffix[1:]}")
            check_interrupt()
        for suffix, array in arrays.items():
            path = output.with_suffix(suffix)
            with atomic_file(path, "output_dir", overwrite=True) as partial, open(partial, "wb") as f:
                np.save(f, array)  # to an open file: np.save would add `.npy` to a path
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written
