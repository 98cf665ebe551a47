"""`videomnist train-vqvae`, `train-videogpt` and `sample`: the original README's quick start.

Settings: the preset given by `--config` (flat YAML), then any flag given on the command line.
Every flag is accepted with underscores (as the original scripts spelled them) and with dashes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from videomnist_gpu.cli.flags import add_flag
from videomnist_gpu.errors import UsageError

_RUN_KEYS = ("batch_size", "max_steps", "gpus", "precision", "seed", "num_workers",
             "val_check_interval", "val_clips", "data_path", "dataset")


def _common_flags(parser: argparse.ArgumentParser, preset: str) -> None:
    add_flag(parser, "config", metavar="PRESET.yaml", default=preset, help=f"flat YAML preset (default: {preset})")
    add_flag(parser, "data_path", metavar="FILE.h5", help="train on an HDF5 export instead of the live stream")
    add_flag(parser, "dataset", metavar="DATASET.yaml", help="VideoMNIST dataset preset for the stream (default config)")
    add_flag(parser, "resolution", type=int, help="frame size (must match the preset's model)")
    add_flag(parser, "sequence_length", type=int, help="frames per clip")
    add_flag(parser, "batch_size", type=int, help="clips per step on each device")
    add_flag(parser, "gpus", type=int, help="GPUs to use (0: CPU; > 1: Lightning DDP)")
    add_flag(parser, "precision", help="Lightning precision, e.g. 32-true, 16-mixed, bf16-mixed")
    add_flag(parser, "max_steps", type=int, help="optimizer steps")
    add_flag(parser, "seed", type=int, help="seed of model initialization")
    add_flag(parser, "num_workers", type=int, help="DataLoader workers (CPU streams only)")
    add_flag(parser, "val_check_interval", type=int, help="validate (and checkpoint) every N steps")
    add_flag(parser, "val_clips", type=int, help="fixed test-split clips used for validation")
    add_flag(parser, "lr", type=float, help="learning rate")
    add_flag(parser, "output_dir", metavar="DIR", default="runs/vqvae" if "vqvae" in preset else "runs/videogpt",
          help="run directory: checkpoints/, logs/, videos/")
    add_flag(parser, "resume", metavar="CKPT", help="resume model, optimizer, step and data stream from a checkpoint")


def add_parser(subparsers) -> None:
    vq = subparsers.add_parser("train-vqvae", help="train a VQ-VAE on the stream or an HDF5 export")
    _common_flags(vq, "configs/vqvae.yaml")
    add_flag(vq, "embedding_dim", type=int)
    add_flag(vq, "n_codes", type=int)
    add_flag(vq, "n_hiddens", type=int)
    add_flag(vq, "n_res_layers", type=int)
    add_flag(vq, "downsample", type=int, nargs=3, metavar=("T", "H", "W"))
    add_flag(vq, "in_channels", type=int, help="1 for VideoMNIST (default), 3 for upstream-style RGB")
    vq.set_defaults(run=_train, kind="vqvae")

    gpt = subparsers.add_parser("train-videogpt", help="train VideoGPT on a frozen VQ-VAE's codes")
    _common_flags(gpt, "configs/videogpt.yaml")
    add_flag(gpt, "vqvae", metavar="CKPT", help="the trained VQ-VAE checkpoint (required)")
    add_flag(gpt, "hidden_dim", type=int)
    add_flag(gpt, "heads", type=int)
    add_flag(gpt, "layers", type=int)
    add_flag(gpt, "dropout", type=float)
    add_flag(gpt, "attn_dropout", type=float)
    add_flag(gpt, "warmup_steps", type=int)
    gpt.add_argument("--class_cond", "--class-cond", dest="class_cond", action="store_true", default=None,
                     help="condition on the digit label")
    gpt.set_defaults(run=_train, kind="videogpt")

    sample = subparsers.add_parser("sample", help="sample clips from a trained VideoGPT")
    add_flag(sample, "ckpt", metavar="CKPT", help="VideoGPT checkpoint (required)")
    add_flag(sample, "n", type=int, default=16, help="number of clips (default 16)")
    add_flag(sample, "labels", type=int, nargs="+", help="digit labels, one per clip (class-conditional models)")
    add_flag(sample, "output", metavar="PREFIX", default="samples/videogpt_samples",
          help="writes PREFIX.gif, PREFIX.mp4 (grids) and PREFIX.npy (uint8 (n, T, H, W))")
    add_flag(sample, "seed", type=int, default=0)
    add_flag(sample, "temperature", type=float, default=1.0)
    add_flag(sample, "top_k", type=int)
    add_flag(sample, "device", help="cpu or cuda (default: CUDA when available)")
    add_flag(sample, "fps", type=int, default=4)
    for name in ("data_path", "resolution", "sequence_length"):  # the original script's flags
        add_flag(sample, name, type=str if name == "data_path" else int, help="checked against the checkpoint")
    sample.set_defaults(run=_sample)


def _settings(args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    from videomnist_gpu.models import read_preset
    from videomnist_gpu.training import RunSettings

    preset = read_preset(args.config)
    overrides = {k: v for k, v in vars(args).items()
                 if v is not None and k not in ("config", "run", "kind", "command", "debug", "output_dir", "resume")}
    if "vqvae" in overrides:
        overrides["vqvae_ckpt"] = overrides.pop("vqvae")
    merged = {**preset, **overrides}
    for name in ("batch_size", "max_steps", "val_check_interval", "val_clips"):
        if name in merged and (not isinstance(merged[name], int) or merged[name] < 1):
            raise UsageError(f"--{name}: must be a positive integer, got {merged[name]!r}")
    if int(merged.get("gpus", 0)) < 0:
        raise UsageError(f"--gpus: must be >= 0, got {merged['gpus']}")
    run = {k: merged[k] for k in _RUN_KEYS if k in merged}
    run["precision"] = str(run.get("precision", "32-true"))
    return merged, RunSettings(output_dir=Path(args.output_dir), **run)


def _train(args: argparse.Namespace) -> int:
    from videomnist_gpu.training import train

    preset, settings = _settings(args)
    best = train(args.kind, preset, settings, resume=args.resume)
    print(f"best checkpoint: {best}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from videomnist_gpu.synthesizer import parse_device
    from videomnist_gpu.training import load_videogpt, sample_videos

    if args.ckpt is None:
        raise UsageError("sample: --ckpt is required (a VideoGPT checkpoint from train-videogpt)")
    if args.n < 1:
        raise UsageError(f"--n: must be >= 1, got {args.n}")
    if args.labels is not None and len(args.labels) != args.n:
        raise UsageError(f"--labels: give one label per clip ({args.n}), got {len(args.labels)}")
    model = load_videogpt(args.ckpt, parse_device(args.device))
    vq = model.vqvae.hparams
    for name, have in (("resolution", vq.resolution), ("sequence_length", vq.sequence_length)):
        given = getattr(args, name)
        if given is not None and int(given) != have:
            raise UsageError(f"--{name}: the checkpoint was trained with {name} {have}, got {given}")
    for path in sample_videos(model, args.n, args.labels, Path(args.output), seed=args.seed,
                              temperature=args.temperature, top_k=args.top_k, fps=args.fps):
        print(path)
    return 0
