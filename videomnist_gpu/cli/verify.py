"""`videomnist verify FILE`: structure, counts, checksums and a re-render of sampled clips."""

from __future__ import annotations

import argparse
import sys

from videomnist_gpu.cli.flags import add_flag


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "verify", help="check an exported HDF5 file: layout, counts, checksums, re-rendered clips",
        description="Check an exported file; prints every problem found and exits 1 if there is any.",
    )
    p.add_argument("file", metavar="FILE", help="the HDF5 file to check")
    add_flag(p, "num_clips", type=int, default=32, metavar="N",
             help="clips to re-render and compare (seeded pick; 0 skips; default 32)")
    add_flag(p, "seed", type=int, default=0, help="seed of the pick of clips (default 0)")
    add_flag(p, "device", help="where to re-render (default: CUDA when available)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from videomnist_gpu.synth.synthesizer import parse_device
    from videomnist_gpu.hdf5.verify import verify_file

    device = parse_device(args.device)
    report = verify_file(args.file, num_clips=args.num_clips, device=device, seed=args.seed)
    for line in report.checked:
        print(f"ok: {line}")
    if report.ok:
        print(f"{args.file}: OK")
        return 0
    for line in report.problems:
        print(f"problem: {line}", file=sys.stderr)
    print(f"error: {args.file}: {len(report.problems)} problem(s) found", file=sys.stderr)
    return 1
