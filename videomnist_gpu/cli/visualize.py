"""`videomnist visualize`: GIFs, MP4s, a montage, class comparisons and dataset statistics.

From an HDF5 export (`--hdf5_path`) or straight from the generator (`--config NAME_OR_PATH`);
the work is `videomnist_gpu.viz.samples.visualize_hdf5` / `visualize_config`.
"""

from __future__ import annotations

import argparse

from videomnist_gpu.cli.flags import add_flag
from videomnist_gpu.errors import UsageError
from videomnist_gpu.atomic_file import removed_on_failure
from videomnist_gpu.synth.config import as_config
from videomnist_gpu.synth.keyed_random import SPLITS
from videomnist_gpu.viz.visualize import VIDEO_FORMATS


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "visualize",
        help="write sample GIFs/MP4s, a montage, class comparisons and dataset_stats.txt",
        description="Write sample videos, a montage, class comparisons and dataset statistics, "
        "from an HDF5 file (--hdf5_path) or straight from a config (--config). "
        "Every flag is also accepted with dashes (--hdf5-path).",
    )
    source = parser.add_argument_group("source (exactly one)")
    add_flag(source, "hdf5_path", metavar="FILE", help="HDF5 file in the VideoMNIST layout")
    add_flag(source, "config", help="dataset preset: a shipped name (videomnist, test, moving_mnist, ...) or a "
                                    "YAML path; render clips with no file at all")
    add_flag(parser, "output_dir", required=True, help="folder for the samples (created)")
    add_flag(parser, "num_samples", type=int, default=20,
             help="sample videos to write, spread over the classes (default: 20)")
    add_flag(parser, "formats", aliases=("sample_formats",), nargs="+", default=["gif", "mp4"],
             choices=VIDEO_FORMATS, help="video formats (default: gif mp4)")
    add_flag(parser, "create_comparison", action="store_true", help="write class_comparisons/digit_X_comparison.gif")
    add_flag(parser, "fps", type=float, metavar="N",
             help="frames per second of GIFs/MP4s (default: the file's or config's fps)")
    add_flag(parser, "num_per_class", type=int, default=3, metavar="N",
             help="clips per class comparison (default: 3)")
    add_flag(parser, "overlays", type=int, default=0, metavar="N",
             help="also write overlays/clip_I.{gif,mp4} for N sampled clips: boxes with track id and class, "
                  "instance masks and optical flow in colour, side by side (default: 0)")
    add_flag(parser, "split", default="train", choices=SPLITS, help="split to show (default: train)")
    add_flag(parser, "seed", type=int, default=0, help="seed of the random choice of samples (default: 0)")
    add_flag(parser, "device",
             help="with --config: where clips are rendered (default: cuda if available, else cpu)")
    add_flag(parser, "overwrite", action="store_true", help="replace existing sample files")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from videomnist_gpu.viz.samples import visualize_config, visualize_hdf5

    if (args.hdf5_path is None) == (args.config is None):
        raise UsageError("visualize: give exactly one of --hdf5_path FILE or --config NAME_OR_PATH.")
    if args.device is not None and args.hdf5_path is not None:
        raise UsageError("visualize: --device only applies with --config (a file is read on the CPU).")
    fps = None if args.fps is None else (int(args.fps) if float(args.fps).is_integer() else args.fps)
    common = dict(split=args.split, formats=args.formats, num_samples=args.num_samples,
                  create_comparison=args.create_comparison, num_per_class=args.num_per_class,
                  fps=fps, seed=args.seed, overwrite=args.overwrite, overlays=args.overlays)
    with removed_on_failure(args.output_dir):
        if args.hdf5_path is not None:
            written = visualize_hdf5(args.hdf5_path, args.output_dir, **common)
        else:
            written = visualize_config(as_config(args.config, "--config"), args.output_dir, device=args.device, **common)
    print(f"wrote {len(written)} files to {args.output_dir}")
    return 0

