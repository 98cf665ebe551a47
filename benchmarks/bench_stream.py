"""Stream throughput through a DataLoader next to raw `Synthesizer.render`, in the same run.

    python benchmarks/bench_stream.py [--device cuda] [--batch_size 64] [--quick]

The two are measured interleaved (raw, stream, raw, stream, ...) after a warm-up, each over the
same number of batches, and reported as medians; the overhead is stream time / raw time - 1
(target: under 10%). The stream's extra work is the uint8 -> float32 [-0.5, 0.5] conversion in
the (B, C, T, H, W) layout plus the DataLoader's per-batch bookkeeping.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import sys
import time

import torch
from torch.utils.data import DataLoader

from videomnist_gpu import Synthesizer, VideoMNISTConfig, VideoMNISTStream, __version__


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=None, help="batches per measurement")
    parser.add_argument("--repeats", type=int, default=None, help="measurements of each (>= 5)")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--digits", default="auto", help="auto, mnist, mnist-5k or an IDX folder")
    parser.add_argument("--quick", action="store_true", help="fewer batches, for a smoke run")
    args = parser.parse_args(argv)
    batches = args.batches or (3 if args.quick else 20)
    repeats = max(5, args.repeats or 5)
    device = torch.device(args.device)
    config = VideoMNISTConfig(digits=args.digits)

    synth = Synthesizer(config, device)
    stream = VideoMNISTStream(config, args.batch_size, device=device, channels=args.channels)
    stream.synthesizer = synth  # share the digit bank; the stream adds only its own work
    loader_iter = iter(DataLoader(stream, batch_size=None, num_workers=0))
    next_index = itertools.count(0, args.batch_size)

    def raw() -> float:
        _sync(device)
        start = time.perf_counter()
        for _ in range(batches):
            first = next(next_index)
            synth.render(torch.arange(first, first + args.batch_size, device=device))
        _sync(device)
        return time.perf_counter() - start

    def streamed() -> float:
        _sync(device)
        start = time.perf_counter()
        for _ in range(batches):
            next(loader_iter)
        _sync(device)
        return time.perf_counter() - start

    raw(), streamed()  # warm-up: digit bank, kernels, allocator
    raw_times, stream_times = [], []
    for _ in range(repeats):
        raw_times.append(raw())
        stream_times.append(streamed())
    raw_s, stream_s = statistics.median(raw_times), statistics.median(stream_times)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or "cpu")
    print(f"videomnist_gpu {__version__}, torch {torch.__version__}, python {platform.python_version()}")
    print(f"device {device} ({name}), torch threads {torch.get_num_threads()}, cpu cores {os.cpu_count()}")
    print(f"clip {config.sequence_length}x{config.image_size}x{config.image_size}, {config.num_digits} digit(s), "
          f"batch {args.batch_size}, channels {args.channels}, {batches} batches x {repeats} repeats, medians")
    for label, seconds in (("raw Synthesizer.render", raw_s), ("VideoMNISTStream+DataLoader", stream_s)):
        print(f"  {label:<28} {batches / seconds:9.2f} batches/s {batches * args.batch_size / seconds:11.1f} clips/s")
    overhead = stream_s / raw_s - 1
    print(f"  stream overhead {100 * overhead:+.1f}% (target < 10%)  "
          f"[raw min/max {min(raw_times):.3f}/{max(raw_times):.3f} s, "
          f"stream min/max {min(stream_times):.3f}/{max(stream_times):.3f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
