"""`videomnist train-vqvae`, `train-videogpt` and `sample`: the original README's quick start.

Settings: the preset given by `--config` (a name such as `vqvae_tiny`, or a flat YAML path), then
any flag given on the command line. Every flag is accepted with underscores (as the original
scripts spelled them) and with dashes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from videomnist_gpu.cli.flags import add_flag
from videomnist_gpu.errors import UsageError
from videomnist_gpu.atomic_file import check_output_dir, removed_on_failure
from videomnist_gpu.interrupt import Interrupted

_RUN_KEYS = ("batch_size", "max_steps", "gpus", "precision", "seed", "num_workers",
             "val_check_interval", "val_clips", "data_path", "dataset")
_NOT_SETTINGS = ("config", "run", "kind", "command", "debug", "verbose", "output_dir", "resume")
SAMPLE_NAME = "videogpt_samples"  # sample writes OUTPUT_DIR/videogpt_samples.{gif,mp4,npy}


def _common_flags(parser: argparse.ArgumentParser, preset: str) -> None:
    add_flag(parser, "config", default=preset,
             help=f"model preset: a shipped name (vqvae, vqvae_tiny, videogpt, videogpt_tiny) or a flat YAML "
                  f"path (default: {preset})")
    add_flag(parser, "data_path", metavar="FILE", help="train on an HDF5 export instead of the live stream")
    add_flag(parser, "dataset_config", aliases=("dataset",),
             help="VideoMNIST dataset preset for the stream: a name (videomnist, moving_mnist, ...) or a YAML "
                  "path (default: the default config)")
    add_flag(parser, "resolution", type=int, metavar="PX", help="frame size (must match the preset's model)")
    add_flag(parser, "sequence_length", type=int, metavar="T", help="frames per clip")
    add_flag(parser, "batch_size", type=int, help="clips per step on each device")
    add_flag(parser, "gpus", type=int, metavar="N", help="GPUs to use (0: CPU; > 1: Lightning DDP)")
    add_flag(parser, "precision", metavar="P", help="Lightning precision, e.g. 32-true, 16-mixed, bf16-mixed")
    add_flag(parser, "max_steps", type=int, metavar="N", help="optimizer steps")
    add_flag(parser, "seed", type=int, help="seed of model initialization")
    add_flag(parser, "num_workers", type=int, metavar="N", help="DataLoader workers (CPU streams only)")
    add_flag(parser, "val_check_interval", type=int, metavar="N", help="validate (and checkpoint) every N steps")
    add_flag(parser, "val_clips", type=int, metavar="N", help="fixed test-split clips used for validation")
    add_flag(parser, "lr", type=float, metavar="LR", help="learning rate")
    add_flag(parser, "output_dir", default="runs/vqvae" if "vqvae" in preset else "runs/videogpt",
             help="run directory: checkpoints/, logs/, videos/ (default: runs/vqvae or runs/videogpt)")
    add_flag(parser, "resume", metavar="FILE", help="resume model, optimizer, step and data stream from a checkpoint")


class _OutputPrefix(argparse.Action):
    """`sample --output PREFIX` (the old spelling): OUTPUT_DIR = PREFIX's folder, files PREFIX.*"""

    def __call__(self, parser, namespace, value, option_string=None) -> None:
        prefix = Path(value)
        namespace.output_dir, namespace.output_name = str(prefix.parent), prefix.name


def add_parser(subparsers) -> None:
    vq = subparsers.add_parser("train-vqvae", help="train a VQ-VAE on the stream or an HDF5 export",
                               description="Train a VQ-VAE on fresh clips from the stream (or an HDF5 export).")
    _common_flags(vq, "vqvae")
    add_flag(vq, "embedding_dim", type=int, metavar="N", help="size of each codebook vector")
    add_flag(vq, "n_codes", type=int, metavar="N", help="codebook size")
    add_flag(vq, "n_hiddens", type=int, metavar="N", help="channels of the encoder and decoder")
    add_flag(vq, "n_res_layers", type=int, metavar="N", help="residual blocks in the encoder and decoder")
    add_flag(vq, "downsample", type=int, nargs=3, metavar=("T", "H", "W"),
             help="downsampling factor of time, height, width (powers of 2)")
    add_flag(vq, "in_channels", type=int, metavar="C", help="1 for VideoMNIST (default), 3 for upstream-style RGB")
    vq.set_defaults(run=_train, kind="vqvae")

    gpt = subparsers.add_parser("train-videogpt", help="train VideoGPT on a frozen VQ-VAE's codes",
                                description="Train a VideoGPT transformer on the codes of a trained VQ-VAE.")
    _common_flags(gpt, "videogpt")
    add_flag(gpt, "vqvae", metavar="FILE", help="the trained VQ-VAE checkpoint (required)")
    add_flag(gpt, "hidden_dim", type=int, metavar="N", help="transformer width")
    add_flag(gpt, "heads", type=int, metavar="N", help="attention heads")
    add_flag(gpt, "layers", type=int, metavar="N", help="transformer layers")
    add_flag(gpt, "dropout", type=float, metavar="P", help="dropout of the residual branches")
    add_flag(gpt, "attn_dropout", type=float, metavar="P", help="dropout of the attention weights")
    add_flag(gpt, "warmup_steps", type=int, metavar="N", help="steps of linear learning-rate warm-up")
    add_flag(gpt, "class_cond", action="store_true", help="condition on the digit label")
    gpt.set_defaults(run=_train, kind="videogpt")

    sample = subparsers.add_parser("sample", help="sample clips from a trained VideoGPT",
                                   description=f"Sample clips from a trained VideoGPT into OUTPUT_DIR/{SAMPLE_NAME}"
                                               ".gif, .mp4 (labelled grids) and .npy (uint8 (N, T, H, W)).")
    add_flag(sample, "ckpt", metavar="FILE", help="VideoGPT checkpoint (required)")
    add_flag(sample, "num_samples", aliases=("n",), type=int, default=16, help="number of clips (default 16)")
    add_flag(sample, "labels", type=int, nargs="+", metavar="LABEL",
             help="digit class of each clip, 0-9, one per clip (class-conditional models; default 0, 1, 2, ...)")
    add_flag(sample, "output_dir", default="samples", help="folder for the files (default: samples)")
    sample.add_argument("--output", dest="output_dir", action=_OutputPrefix, metavar="PREFIX",
                        help="old spelling: write PREFIX.gif, PREFIX.mp4, PREFIX.npy")
    sample.set_defaults(output_name=SAMPLE_NAME)
    add_flag(sample, "seed", type=int, default=0, help="seed of the sampling (default 0)")
    add_flag(sample, "temperature", type=float, default=1.0, metavar="T",
             help="softmax temperature; lower is more conservative (default 1.0)")
    add_flag(sample, "top_k", type=int, metavar="K", help="draw from the K most likely codes only (default: all)")
    add_flag(sample, "device", help="cpu or cuda (default: CUDA when available)")
    add_flag(sample, "fps", type=int, default=4, metavar="N", help="frames per second of the GIF/MP4 (default 4)")
    add_flag(sample, "data_path", metavar="FILE", help="accepted for the original script; not read")
    for name, metavar in (("resolution", "PX"), ("sequence_length", "T")):  # the original script's flags
        add_flag(sample, name, type=int, metavar=metavar, help="checked against the checkpoint")
    sample.set_defaults(run=_sample)


def _settings(args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    from videomnist_gpu.models import read_preset
    from videomnist_gpu.presets import resolve_preset
    from videomnist_gpu.models.training import RunSettings

    preset = read_preset(resolve_preset(args.config))
    overrides = {k: v for k, v in vars(args).items() if v is not None and k not in _NOT_SETTINGS}
    if "vqvae" in overrides:
        overrides["vqvae_ckpt"] = overrides.pop("vqvae")
    if "dataset_config" in overrides:
        overrides["dataset"] = str(resolve_preset(overrides.pop("dataset_config"), "--dataset_config"))
    merged = {**preset, **overrides}
    for name in ("batch_size", "max_steps", "val_check_interval", "val_clips"):
        if name in merged and (isinstance(merged[name], bool) or not isinstance(merged[name], int) or merged[name] < 1):
            raise UsageError(f"--{name}: must be a positive integer, got {merged[name]!r}")
    for name in ("gpus", "num_workers"):
        if int(merged.get(name, 0)) < 0:
            raise UsageError(f"--{name}: must be >= 0, got {merged[name]}")
    if "lr" in merged and not merged["lr"] > 0:
        raise UsageError(f"--lr: must be > 0, got {merged['lr']}")
    run = {k: merged[k] for k in _RUN_KEYS if k in merged}
    run["precision"] = str(run.get("precision", "32-true"))
    return merged, RunSettings(output_dir=Path(args.output_dir), **run)


def _train(args: argparse.Namespace) -> int:
    from videomnist_gpu.models.training import train

    preset, settings = _settings(args)
    out = check_output_dir(settings.output_dir, "--output_dir")
    checkpoints = out / "checkpoints"

    def has_checkpoint() -> bool:  # a finished checkpoint is kept: it is what --resume needs
        return checkpoints.is_dir() and any(checkpoints.glob("*.ckpt"))

    try:
        with removed_on_failure(out, out / "logs", checkpoints, out / "videos", keep=has_checkpoint):
            best = train(args.kind, preset, settings, resume=args.resume, verbose=args.verbose)
    except Interrupted as err:
        if not has_checkpoint():
            raise
        raise Interrupted(f"{err}; kept the checkpoints in {str(checkpoints)!r} "
                          f"(continue with --resume {checkpoints / 'last.ckpt'})", err.signum) from None
    print(f"best checkpoint: {best}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from videomnist_gpu.synth.synthesizer import parse_device
    from videomnist_gpu.models.training import load_videogpt, sample_videos

    if args.ckpt is None:
        raise UsageError("--ckpt: required (a VideoGPT checkpoint from train-videogpt)")
    n = args.num_samples
    if n < 1:
        raise UsageError(f"--num_samples: must be >= 1, got {n}")
    if args.labels is not None and len(args.labels) != n:
        raise UsageError(f"--labels: give one label per clip ({n}), got {len(args.labels)}")
    if args.top_k is not None and args.top_k < 1:
        raise UsageError(f"--top_k: must be >= 1, got {args.top_k}")
    if not args.temperature > 0:
        raise UsageError(f"--temperature: must be > 0, got {args.temperature}")
    if args.fps < 1:
        raise UsageError(f"--fps: must be >= 1, got {args.fps}")
    out = check_output_dir(args.output_dir, "--output_dir")
    model = load_videogpt(args.ckpt, parse_device(args.device))
    hp, vq = model.hparams, model.vqvae.hparams
    for name, have in (("resolution", vq.resolution), ("sequence_length", vq.sequence_length)):
        given = getattr(args, name)
        if given is not None and int(given) != have:
            raise UsageError(f"--{name}: the checkpoint was trained with {name} {have}, got {given}")
    if args.labels is not None:
        if not hp.class_cond:
            raise UsageError("--labels: this VideoGPT was trained without --class_cond; leave --labels out")
        bad = [label for label in args.labels if not 0 <= label < hp.n_classes]
        if bad:
            raise UsageError(f"--labels: {bad[0]} is not a class of this model. Valid: 0-{hp.n_classes - 1}")
    with removed_on_failure(out):
        paths = sample_videos(model, n, args.labels, out / args.output_name, seed=args.seed,
                              temperature=args.temperature, top_k=args.top_k, fps=args.fps)
    for path in paths:
        print(path)
    return 0
