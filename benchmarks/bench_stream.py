"""Stream throughput through a DataLoader next to raw `Synthesizer.render`, in the same run.

    python benchmarks/bench_stream.py [--device cuda] [--batch_size 128] [--quick]

Three paths are measured interleaved after a warm-up, each over the same number of batches, and
reported as medians: raw `Synthesizer.render` (uint8 clips), the same plus `batch_from_clips` (the
float32 (B, C, T, H, W) model batch, built without the stream), and the stream through a
DataLoader. Two overheads are printed: stream / raw - 1 (the issue's target: under 10%) and
stream / (render + batch) - 1, the cost of the stream's own machinery (partition, state,
DataLoader). On a CPU the float32 batch is 4x the bytes of the uint8 clips and lives in freshly
allocated memory, so building it can cost more than rendering; on a GPU it is one elementwise kernel.
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
from videomnist_gpu.stream import batch_from_clips


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch_size", type=int, default=128)
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

    def raw(as_batch: bool = False) -> float:
        _sync(device)
        start = time.perf_counter()
        for _ in range(batches):
            first = next(next_index)
            clips = synth.render(torch.arange(first, first + args.batch_size, device=device))
            if as_batch:
                batch_from_clips(clips, args.channels)
        _sync(device)
        return time.perf_counter() - start

    def streamed() -> float:
        _sync(device)
        start = time.perf_counter()
        for _ in range(batches):
            next(loader_iter)
        _sync(device)
        return time.perf_counter() - start

    raw(), raw(True), streamed()  # warm-up: digit bank, kernels, allocator
    raw_times, batch_times, stream_times = [], [], []
    for _ in range(repeats):
        raw_times.append(raw())
        batch_times.append(raw(True))
        stream_times.append(streamed())
    raw_s, batch_s = statistics.median(raw_times), statistics.median(batch_times)
    stream_s = statistics.median(stream_times)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or "cpu")
    print(f"videomnist_gpu {__version__}, torch {torch.__version__}, python {platform.python_version()}")
    print(f"device {device} ({name}), torch threads {torch.get_num_threads()}, cpu cores {os.cpu_count()}")
    print(f"clip {config.sequence_length}x{config.image_size}x{config.image_size}, {config.num_digits} digit(s), "
          f"batch {args.batch_size}, channels {args.channels}, {batches} batches x {repeats} repeats, medians")
    for label, seconds in (("raw Synthesizer.render", raw_s), ("render + batch_from_clips", batch_s),
                           ("VideoMNISTStream+DataLoader", stream_s)):
        print(f"  {label:<28} {batches / seconds:9.2f} batches/s {batches * args.batch_size / seconds:11.1f} clips/s")
    print(f"  stream vs raw render:              {100 * (stream_s / raw_s - 1):+.1f}% (target < 10%)")
    print(f"  stream vs render + float32 batch:  {100 * (stream_s / batch_s - 1):+.1f}% (the stream's own machinery)")
    print(f"  [medians of {repeats}; raw min/max {min(raw_times):.3f}/{max(raw_times):.3f} s, "
          f"stream min/max {min(stream_times):.3f}/{max(stream_times):.3f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
