"""Run `videomnist_gpu.cli.main` in a child forked from a warm fork server (tests only).

A fresh `python -m videomnist_gpu` pays ~3 s of `import torch`; a child forked from a
multiprocessing fork server that imported torch once starts in milliseconds, and is still a
separate process that real signals are delivered to. The fork server never runs a torch op, so
no thread pool is forked. Used by the interrupt tests; `run_cli` is the child's target.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

# pytest too: multiprocessing re-imports the parent's main module (pytest's) in every child
PRELOAD = ["torch", "h5py", "pytest", "lightning.pytorch", "videomnist_gpu.cli", "videomnist_gpu.hdf5.export",
           "videomnist_gpu.synth.synthesizer", "videomnist_gpu.models.training", "cli_child"]


def _warm() -> None:
    """Parse the offline digits once (numpy only, no torch op), so forked children inherit them."""
    from videomnist_gpu.synth.digits import _mnist_5k_arrays

    _mnist_5k_arrays()


_warm()  # at import: in the fork server (preloaded) and in the test process


def context() -> multiprocessing.context.BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def run_cli(argv: list[str], stderr, env: dict[str, str]) -> None:
    """Child: stdout to /dev/null, stderr into the pipe `stderr` (a Connection), then the CLI."""
    import torch

    from videomnist_gpu.cli import main

    os.environ.update(env)
    torch.set_num_threads(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(stderr.fileno(), 2)
    sys.exit(main(argv))


def tiny_checkpoints(directory: Path) -> dict[str, Path]:
    """Lightning-format checkpoints of a tiny VQ-VAE and VideoGPTs, written without a Trainer."""
    import lightning
    import torch

    from videomnist_gpu.models import VQVAE, VideoGPT

    def save(model, path: Path) -> Path:
        torch.save({"hyper_parameters": dict(model.hparams), "state_dict": model.state_dict(),
                    "pytorch-lightning_version": lightning.__version__}, path)
        return path

    vq = VQVAE(embedding_dim=8, n_codes=16, n_hiddens=8, n_res_layers=1, downsample=(1, 4, 4),
               sequence_length=4, resolution=32)
    return {"vq": save(vq, directory / "vq.ckpt"),
            "gpt": save(VideoGPT(vqvae=vq, hidden_dim=16, heads=2, layers=1, class_cond=True), directory / "gpt.ckpt"),
            "gpt_uncond": save(VideoGPT(vqvae=vq, hidden_dim=16, heads=2, layers=1), directory / "gpt_uncond.ckpt")}
