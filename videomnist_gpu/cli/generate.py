"""`videomnist generate`: export a seeded VideoMNIST dataset into one HDF5 file.

Flags keep the original scripts' spellings (`--output_file`) and accept dashes (`--output-file`).
A `--config NAME_OR_PATH` preset (a shipped name such as `videomnist`, or a YAML file) supplies defaults (VideoMNISTConfig fields plus `videos_per_digit`,
`test_videos_per_digit`, `output_file`, `channels`, `compression`, `batch_size`); explicit flags win.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


from videomnist_gpu.cli.flags import add_flag
from videomnist_gpu.errors import UsageError
from videomnist_gpu.atomic_file import removed_on_failure
from videomnist_gpu.presets import resolve_preset
from videomnist_gpu.synth.config import EXPORT_KEYS, VideoMNISTConfig, read_yaml_mapping
from videomnist_gpu.synth.synthesizer import CPU_RENDER_SLICE, parse_device

# Keys a --config file may hold besides VideoMNISTConfig's fields.
SAMPLE_FORMATS = ("gif", "mp4")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "generate", help="export a seeded dataset into one HDF5 file (the canonical layout)",
        description="Render a seeded VideoMNIST dataset batch by batch into one HDF5 file.",
    )
    add_flag(p, "output_file", help="HDF5 file to write (required, here or in --config)")
    add_flag(p, "config", help="dataset preset: a shipped name (videomnist, test, hq, moving_mnist, ...) or a YAML "
                               "path; config fields, videos_per_digit, ... (flags win)")
    g = p.add_argument_group("dataset")
    add_flag(g, "sequence_length", type=int, metavar="T", help="frames per video (default 16)")
    add_flag(g, "videos_per_digit", type=int, metavar="N", help="train videos per class (default 1000)")
    add_flag(g, "test_videos_per_digit", type=int, metavar="N", help="test videos per class (default videos_per_digit // 5, at least 1)")
    add_flag(g, "motion_types", nargs="+", metavar="NAME", help="motions to draw from (default: bounce circular linear; spiral too)")
    add_flag(g, "image_size", type=int, metavar="PX", help="frame height and width (default 64)")
    add_flag(g, "digit_size", type=int, metavar="PX", help="digit sprite side (default 28 at 64 px, scaled with image_size)")
    add_flag(g, "num_digits", type=int, metavar="K", help="digits per video, 1-4 (default 1)")
    add_flag(g, "margin", type=int, metavar="PX", help="border no ink may touch (default 5)")
    add_flag(g, "speed_range", type=float, nargs=2, metavar=("MIN", "MAX"), help="pixels per frame (default 1 3)")
    add_flag(g, "rotation_range", type=float, metavar="DEG", help="max absolute angle (default 0: off)")
    add_flag(g, "scale_range", type=float, nargs=2, metavar=("MIN", "MAX"), help="digit scale range (default 1 1: off)")
    add_flag(g, "fps", type=int, metavar="N", help="frame rate stored in the file and samples (default 10)")
    add_flag(g, "seed", type=int, help="seed of every random number (default 0)")
    add_flag(g, "digits", metavar="SOURCE", help="auto | mnist | mnist-5k | PATH to MNIST IDX files (default auto)")
    add_flag(g, "placement", metavar="subpixel|integer",
             help="subpixel: bilinear between pixels; integer: top-left corners on whole pixels (default subpixel)")
    add_flag(g, "composite", metavar="max|sum", help="where digits overlap: max, or sum clipped at 255 (default max)")
    s = p.add_argument_group("storage")
    add_flag(s, "channels", type=int, metavar="1|3", help="1: [N*T,H,W] gray; 3: [N*T,H,W,3] for upstream VideoGPT (default 1)")
    add_flag(s, "compression", metavar="none|gzip|lzf", help="chunk compression (default gzip: any HDF5 reader opens it)")
    add_flag(s, "batch_size", type=int,
             help=f"clips rendered and written at once (default {CPU_RENDER_SLICE} on CPU, fewer for longer or larger clips; "
             "512 on GPU; never changes the data)")
    add_flag(s, "device", help="where to render, e.g. cpu, cuda, cuda:1 (default: CUDA when available)")
    add_flag(s, "overwrite", action="store_true", default=False, help="replace an existing output file")
    add_flag(s, "log_progress", action="store_true", default=False,
          help="print one line per written batch to stderr (for logs; the tqdm bar shows only on a terminal)")
    add_flag(s, "keep_partial", action="store_true", default=False, help="on failure keep PATH.partial for inspection")
    v = p.add_argument_group("samples")
    add_flag(v, "create_samples", action="store_true", default=False, help="write sample GIF/MP4s and a montage into <dir of PATH>/samples/")
    add_flag(v, "formats", aliases=("sample_formats",), nargs="+", help="gif and/or mp4 (default: gif mp4)")
    add_flag(v, "num_samples", type=int, metavar="N", help="sample videos to write (default 20)")
    p.set_defaults(run=run)


def resolve_settings(args: argparse.Namespace) -> tuple[VideoMNISTConfig, dict]:
    """Merge `--config` file values and explicit flags (flags win); validate the config."""
    import dataclasses

    fields = [f.name for f in dataclasses.fields(VideoMNISTConfig)]
    values: dict = {}
    if args.config is not None:
        try:
            values = read_yaml_mapping(resolve_preset(args.config))
        except ValueError as err:
            raise UsageError(str(err)) from None
        unknown = sorted(set(values) - set(fields) - set(EXPORT_KEYS))
        if unknown:
            raise UsageError(f"config: {args.config} has unknown key {unknown[0]!r}. "
                             f"Valid: {', '.join(sorted(fields + list(EXPORT_KEYS)))}")
    for name in fields + list(EXPORT_KEYS):
        flag = getattr(args, name, None)
        if flag is not None:
            values[name] = flag
    export = {name: values.pop(name, None) for name in EXPORT_KEYS}
    if "image_size" in values and "digit_size" not in values:
        values["digit_size"] = None
    try:
        config = VideoMNISTConfig.from_dict(values)
    except ValueError as err:
        raise UsageError(str(err)) from None
    except TypeError as err:
        raise UsageError(f"config: {err}") from None
    return config, export


def run(args: argparse.Namespace) -> int:
    from videomnist_gpu.hdf5.export import (check_free_space, check_output_path, default_batch_size, estimate_bytes,
                                            export_dataset, plan_export)

    config, export = resolve_settings(args)
    if export["output_file"] is None:
        raise UsageError("output_file: required; pass --output_file PATH (or output_file: in --config)")
    plan = plan_export(
        config,
        1000 if export["videos_per_digit"] is None else export["videos_per_digit"],
        export["test_videos_per_digit"],
        channels=1 if export["channels"] is None else export["channels"],
        compression="gzip" if export["compression"] is None else export["compression"],
        batch_size=1 if export["batch_size"] is None else export["batch_size"],  # validated here, chosen below
    )
    formats = list(args.formats) if args.formats is not None else list(SAMPLE_FORMATS)
    bad = [fmt for fmt in formats if fmt not in SAMPLE_FORMATS]
    if bad:
        raise UsageError(f"formats: unknown format {bad[0]!r}. Valid: {', '.join(SAMPLE_FORMATS)}")
    num_samples = 20 if args.num_samples is None else args.num_samples
    if num_samples < 0:
        raise UsageError(f"num_samples: must be an integer >= 0, got {num_samples}")
    device = parse_device(args.device)
    batch_size = default_batch_size(device, config) if export["batch_size"] is None else plan.batch_size

    output = Path(export["output_file"]).expanduser()
    samples_dir = output.parent / "samples"
    if args.create_samples and samples_dir.exists() and any(samples_dir.iterdir()) and not args.overwrite:
        raise UsageError(f"samples: {str(samples_dir)!r} is not empty; pass --overwrite to replace its files")
    with removed_on_failure(output.parent, samples_dir):
        output = check_output_path(output, overwrite=args.overwrite)
        check_free_space(output.parent, estimate_bytes(plan))
        verbose = args.log_progress or args.verbose or args.debug
        log = (lambda line: print(line, file=sys.stderr, flush=True)) if verbose else None
        path = export_dataset(
            output, config, plan.videos_per_digit, plan.test_videos_per_digit, channels=plan.channels,
            compression=plan.compression, batch_size=batch_size, device=device, overwrite=args.overwrite,
            keep_partial=args.keep_partial, log=log,
        )
        counts = plan.counts
        print(f"wrote {path}: {counts['train']} train + {counts['test']} test videos, "
              f"{config.sequence_length}x{config.image_size}x{config.image_size}, {path.stat().st_size / 2**20:.1f} MiB")
        if args.create_samples:
            from videomnist_gpu.viz.samples import visualize_hdf5

            written = visualize_hdf5(path, samples_dir, formats=formats, num_samples=num_samples,
                                     overwrite=args.overwrite)
            print(f"wrote {len(written)} sample files into {samples_dir}")
    return 0
