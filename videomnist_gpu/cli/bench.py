"""`videomnist bench`: synthesis throughput per device against the baselines, in one run."""

from __future__ import annotations

import argparse
import json
import sys

from videomnist_gpu.cli.flags import add_flag


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "bench", help="measure synthesis throughput (clips/s, frames/s) against the baselines",
        description="Synthesis throughput over batch sizes, image sizes, sequence lengths, digit "
                    "counts and rotation/scale, with the original algorithm, classic Moving MNIST "
                    "and naive full-canvas grid_sample measured in the same run. Prints a markdown "
                    "table; read the ratios (the machine's load moves absolute numbers).",
    )
    add_flag(p, "device", help="cpu, cuda, cuda:N, mps (default: CUDA when available)")
    add_flag(p, "threads", type=int, metavar="N", help="torch threads (default: torch's; use 1 on a loaded CPU)")
    add_flag(p, "quick", action="store_true",
             help="default config at batch 128 (rotation/scale off and on) plus baselines, 3 repeats")
    add_flag(p, "repeats", type=int, metavar="N", help="repeats per measurement, median reported (default 5; 3 with --quick)")
    add_flag(p, "max_memory_gb", type=float, default=2.0, metavar="GB",
             help="CPU only: cap each case's batch so it fits (default 2)")
    add_flag(p, "json", metavar="FILE", help="also write the results as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from videomnist_gpu.bench.throughput import markdown_report, results_to_json, run_benchmark
    from videomnist_gpu.atomic_file import atomic_file, check_output_file
    from videomnist_gpu.synth.synthesizer import parse_device
    from videomnist_gpu.errors import UsageError
    from videomnist_gpu.interrupt import check_interrupt

    device = parse_device(args.device)
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"threads: must be >= 1, got {args.threads}")
    if args.repeats is not None and args.repeats < 1:
        raise UsageError(f"repeats: must be >= 1, got {args.repeats}")
    if args.max_memory_gb <= 0:
        raise UsageError(f"max_memory_gb: must be > 0, got {args.max_memory_gb}")
    if args.json is not None:
        check_output_file(args.json, "json", overwrite=True, require_parent=True)
    def log(line: str) -> None:  # after every measurement: print it, then a safe point for Ctrl-C
        print(line, file=sys.stderr, flush=True)
        check_interrupt()

    results = run_benchmark(device=device, quick=args.quick, repeats=args.repeats, threads=args.threads,
                            max_memory_gb=args.max_memory_gb, log=log)
    print(markdown_report(results), end="")
    if args.json is not None:
        with atomic_file(args.json, "json", overwrite=True) as partial:
            partial.write_text(json.dumps(results_to_json(results), indent=1) + "\n")
    return 0
