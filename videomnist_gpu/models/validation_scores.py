"""What VQ-VAE and VideoGPT validation logs besides the losses: digit scores of their outputs.

The digit classifier of `videomnist_gpu.evaluation.evaluate` is loaded (or trained, once, then cached) for
the dataset of the run's DataModule: its train digits at its digit size. Runs whose DataModule has
no VideoMNIST `config`, or whose clips hold more than one digit, log no digit scores.

Convention:
    Model videos are float `(B, C, T, H, W)` in `[-0.5, 0.5]`; scores are computed on them as uint8
    `(B, T, H, W)` (`synth.pixels.to_uint8_clips`), exactly what `videomnist sample` writes.
"""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch import Tensor

__all__ = ["digit_judge", "psnr"]


def psnr(reconstruction: Tensor, target: Tensor) -> Tensor:
    """Peak signal-to-noise ratio in dB of videos in [-0.5, 0.5] (peak-to-peak 1), clamped output."""
    mse = torch.mean((reconstruction.clamp(-0.5, 0.5) - target) ** 2)
    return 10 * torch.log10(1 / mse.clamp_min(1e-10))


def digit_judge(module: pl.LightningModule):
    """(classifier, margin) for the module's run, or None when digits cannot be scored.

    Loaded once per module (kept in `module._digit_judge`); the classifier lives on the module's device.
    """
    if getattr(module, "_digit_judge", None) is not None:
        return module._digit_judge
    trainer = module._trainer
    config = getattr(getattr(trainer, "datamodule", None), "config", None) if trainer is not None else None
    from videomnist_gpu.synth.config import VideoMNISTConfig

    if not isinstance(config, VideoMNISTConfig) or config.num_digits != 1:
        return None
    from videomnist_gpu.evaluation.evaluate import classifier_for

    module._digit_judge = (classifier_for(config, module.device), config.margin)
    return module._digit_judge
