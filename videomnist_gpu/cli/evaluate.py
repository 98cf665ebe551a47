"""`videomnist evaluate`: score clips (samples, reconstructions, exports) against real VideoMNIST clips,
or, with `--targets`, a model's predicted frames against the true ones (MSE, MAE, PSNR, SSIM).

Thin: parse, call `evaluation.evaluate.evaluate` (or `evaluation.prediction_metrics.prediction_metrics`),
print the table (or JSON), write `--output_file`.
"""

from __future__ import annotations

import argparse
import json

from videomnist_gpu.cli.flags import add_flag


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="score clips (samples, reconstructions, an export) against real clips",
        description="Score uint8 clips (N, T, H, W) against real VideoMNIST clips: digit accuracy, identity "
                    "consistency, motion, appearance and a Frechet distance (see docs/evaluate.md).",
    )
    p.add_argument("clips", metavar="FILE",
                   help="clips to score: a .npy of uint8 (N, T, H, W) (labels from FILE.labels.npy when present, "
                        "as `videomnist sample` writes them) or an HDF5 export (its --split clips and labels)")
    add_flag(p, "targets", metavar="FILE",
             help="score FILE as predicted frames against these true frames instead: MSE, MAE, PSNR, SSIM as "
                  "OpenSTL defines them, per frame and overall (.npy, (N, T, H, W) or (N, T, C, H, W), uint8 or "
                  "float in [0, 1]; the reference flags do not apply)")
    add_flag(p, "labels", type=int, nargs="+", metavar="N", help="class 0..9 of each clip (overrides stored labels)")
    add_flag(p, "config", metavar="NAME_OR_PATH",
             help="reference: a dataset preset name or YAML path, rendered at the clips' length and size; or an "
                  "HDF5 export of the same shape (default: an HDF5 FILE's own config, else videomnist)")
    add_flag(p, "num_reference", type=int, default=1000, metavar="N", help="reference clips (default 1000)")
    add_flag(p, "split", choices=("train", "test"), default="test",
             help="split of the reference, and of FILE when it is an HDF5 export (default test)")
    add_flag(p, "output_file", metavar="FILE", help="also write the result as JSON to FILE")
    add_flag(p, "json", action="store_true", default=False, help="print JSON instead of the table")
    add_flag(p, "device", help="where to compute, e.g. cpu, cuda (default: CUDA when available)")
    add_flag(p, "seed", type=int, default=0, metavar="N", help="seed of the digit classifier's training (default 0)")
    add_flag(p, "batch_size", type=int, default=256, metavar="N", help="clips measured at once (default 256)")
    add_flag(p, "cache_dir", metavar="DIR",
             help="digit classifier cache (default: classifiers/ under $VIDEOMNIST_DATA or ~/.cache/videomnist)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from videomnist_gpu.atomic_file import check_output_file
    from videomnist_gpu.evaluation.evaluate import evaluate, format_report, write_json
    from videomnist_gpu.interrupt import check_interrupt

    if args.output_file is not None:  # before the work: a path that cannot be written fails now
        check_output_file(args.output_file, "output_file", overwrite=True)
    if args.targets is not None:
        return _run_prediction(args)
    result = evaluate(args.clips, args.labels, reference=args.config, num_reference=args.num_reference,
                      split=args.split, device=args.device, seed=args.seed, batch_size=args.batch_size,
                      cache_dir=args.cache_dir)
    check_interrupt()  # a signal during the last measurement: print and write nothing
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    if args.output_file is not None:
        write_json(result, args.output_file)
    return 0


def _run_prediction(args: argparse.Namespace) -> int:
    from videomnist_gpu.evaluation.evaluate import write_json
    from videomnist_gpu.evaluation.prediction_metrics import format_prediction_report, prediction_metrics

    result = prediction_metrics(args.clips, args.targets)
    print(json.dumps(result, indent=2) if args.json else format_prediction_report(result))
    if args.output_file is not None:
        write_json(result, args.output_file)
    return 0
