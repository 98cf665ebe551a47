"""`videomnist export-for TOOL ... --output_dir DIR`: the files torchvision, OpenSTL and PredRNN read.

Thin: merge the dataset flags over `--config` (as `generate` does), call
`videomnist_gpu.formats.tools.export_for`, print the files and the calls that load them.
"""

from __future__ import annotations

import argparse

from videomnist_gpu.cli.flags import add_flag

DEFAULT_NUM_CLIPS = 10_000  # the size of the Toronto test set


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export-for", help="write the Moving MNIST files torchvision, OpenSTL or PredRNN read",
        description="Render clips 0..N-1 of one split and write them in the files and folders that "
                    "torchvision's MovingMNIST, OpenSTL and PredRNN read (see docs/formats.md).",
    )
    p.add_argument("tools", nargs="+", metavar="TOOL",
                   help="torchvision (MovingMNIST/mnist_test_seq.npy), openstl (moving_mnist/mnist_test_seq.npy "
                        "and train-images-idx3-ubyte.gz), predrnn (moving-mnist-valid.npz, or -train.npz with "
                        "--split train)")
    add_flag(p, "output_dir", required=True, help="the root folder the tools are given (created if missing)")
    add_flag(p, "config", default="moving_mnist",
             help="dataset preset: a shipped name or a YAML path (default moving_mnist: 2 digits, 20 frames, 64x64)")
    add_flag(p, "num_clips", type=int, default=DEFAULT_NUM_CLIPS, metavar="N",
             help=f"clips in each file: clips 0..N-1 of the split (default {DEFAULT_NUM_CLIPS}, the size of "
                  f"the Toronto test set)")
    add_flag(p, "split", choices=("train", "test"), default="test",
             help="which split's clips and digits (default test; openstl: test only)")
    add_flag(p, "split_frames", type=int, nargs=2, metavar=("N_PAST", "N_FUTURE"),
             help="observed and predicted frames, adding up to the clip length (default: halves, 10 10)")
    add_flag(p, "sequence_length", type=int, metavar="T", help="frames per clip (default: the preset's)")
    add_flag(p, "seed", type=int, help="seed of every random number (default: the preset's, 0)")
    add_flag(p, "digits", metavar="SOURCE", help="auto | mnist | mnist-5k | PATH to MNIST IDX files (default auto)")
    add_flag(p, "batch_size", type=int, help="clips rendered and written at once (memory only; never changes the data)")
    add_flag(p, "device", help="where to render, e.g. cpu, cuda (default: CUDA when available)")
    add_flag(p, "overwrite", action="store_true", default=False, help="replace existing files")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from videomnist_gpu.cli.generate import resolve_settings
    from videomnist_gpu.formats.clip_source import ClipSource
    from videomnist_gpu.formats.tools import export_for, loading_calls
    from videomnist_gpu.hdf5.export import default_batch_size
    from videomnist_gpu.synth.synthesizer import parse_device

    config, export = resolve_settings(args)  # flags over the preset; export keys besides batch_size unused
    device = parse_device(args.device)
    batch_size = export["batch_size"] if export["batch_size"] is not None else default_batch_size(device, config)
    source = ClipSource(config, args.num_clips, args.split, batch_size, device)
    t = config.sequence_length
    split_frames = tuple(args.split_frames) if args.split_frames is not None else (t // 2, t - t // 2)
    paths = export_for(args.tools, args.output_dir, source, split_frames=split_frames, overwrite=args.overwrite)
    for path in paths:
        print(f"wrote {path}")
    print(f"{args.num_clips:,} {args.split} clips (0..{args.num_clips - 1}) of {t} frames, "
          f"{config.image_size}x{config.image_size}, seed {config.seed}; load with:")
    for line in loading_calls(args.tools, args.output_dir, args.split, split_frames):
        print(f"  {line}")
    return 0
