"""Stream throughput through a DataLoader next to raw `Synthesizer.render`, in the same run.

    python benchmarks/bench_stream.py [--device cuda] [--batch_sizes 32 128] [--quick] [--json FILE]

For each batch size three paths are measured interleaved after a warm-up, each over the same
number of batches, and reported as medians: raw `Synthesizer.render` (uint8 clips), the default
stream (float32 (B, C, T, H, W) VideoGPT batches) through a DataLoader, and the uint8 stream
(``output="uint8"``, normalized later on the training device) through a DataLoader. Printed:
each stream's clips/s as a fraction of the raw render's. On a CPU the float batch is 4x the bytes of the uint8 clips; the stream writes it
into reused memory. On a GPU the float batch is one extra elementwise kernel with the torch
backend, and written by the render's own launch with the fused one (``--backends torch triton``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from videomnist_gpu import Synthesizer, VideoMNISTConfig, VideoMNISTStream, __version__  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(device: str | torch.device, batch_size: int, batches: int = 20, repeats: int = 5,
            channels: int = 1, digits: str = "auto", backend: str = "auto") -> dict:
    """clips/s (medians of `repeats`) of the raw render and the float32 and uint8 streams, one run."""
    device = torch.device(device)
    config = VideoMNISTConfig(digits=digits)
    synth = Synthesizer(config, device, backend=backend)
    loaders = {}
    for output in ("float32", "uint8"):
        stream = VideoMNISTStream(config, batch_size, device=device, channels=channels, output=output, backend=backend)
        stream.synthesizer = synth  # share the digit bank; the stream adds only its own work
        loaders[output] = iter(DataLoader(stream, batch_size=None, num_workers=0))
    next_index = itertools.count(0, batch_size)

    def raw() -> float:
        _sync(device)
        start = time.perf_counter()
        for _ in range(batches):
            first = next(next_index)
            synth.render(torch.arange(first, first + batch_size, device=device))
        _sync(device)
        return time.perf_counter() - start

    def streamed(output: str) -> float:
        _sync(device)
        start = time.perf_counter()
        for _ in range(batches):
            next(loaders[output])
        _sync(device)
        return time.perf_counter() - start

    arms = {"raw_render": raw, "stream_float32": lambda: streamed("float32"),
            "stream_uint8": lambda: streamed("uint8")}
    for arm in arms.values():
        arm()  # warm-up: digit bank, kernels, allocator, reused buffers
    seconds: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(repeats):
        for name, arm in arms.items():
            seconds[name].append(arm())
    clips_per_s = {name: batches * batch_size / statistics.median(s) for name, s in seconds.items()}
    return {
        "batch_size": batch_size, "backend": synth.backend, "batches": batches, "repeats": repeats, "channels": channels,
        "clips_per_s": clips_per_s, "seconds": seconds,
        "ratio_float32_vs_raw": clips_per_s["stream_float32"] / clips_per_s["raw_render"],
        "ratio_uint8_vs_raw": clips_per_s["stream_uint8"] / clips_per_s["raw_render"],
    }


def environment(device: torch.device) -> dict:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or "cpu")
    return {"package": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "device": str(device), "device_name": name, "threads": torch.get_num_threads(),
            "cpu_cores": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[32, 128], metavar="N")
    parser.add_argument("--batches", type=int, default=None, metavar="N", help="batches per measurement")
    parser.add_argument("--repeats", type=int, default=5, metavar="N", help="measurements of each (medians)")
    parser.add_argument("--channels", type=int, default=1, metavar="N")
    parser.add_argument("--backends", nargs="+", default=["auto"], choices=("auto", "torch", "triton"),
                        help="synthesizer backends to measure, each in turn (default: auto)")
    parser.add_argument("--digits", default="auto", help="auto, mnist, mnist-5k or an IDX folder")
    parser.add_argument("--quick", action="store_true", help="fewer batches, for a smoke run")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    batches = args.batches or (3 if args.quick else 20)
    device = torch.device(args.device)
    env = environment(device)
    print(f"videomnist_gpu {env['package']}, torch {env['torch']}, python {env['python']}")
    print(f"device {device} ({env['device_name']}), torch threads {env['threads']}, cpu cores {env['cpu_cores']}")
    rows = []
    for backend, batch_size in itertools.product(args.backends, args.batch_sizes):
        row = measure(device, batch_size, batches, args.repeats, args.channels, args.digits, backend)
        rows.append(row)
        c = row["clips_per_s"]
        print(f"backend {row['backend']}, batch {batch_size}, channels {args.channels}, {batches} batches x "
              f"{args.repeats} repeats, medians:")
        print(f"  raw Synthesizer.render (uint8)      {c['raw_render']:11.1f} clips/s")
        print(f"  stream, float32 batch (default)     {c['stream_float32']:11.1f} clips/s "
              f"{row['ratio_float32_vs_raw']:.2f}x raw")
        print(f"  stream, uint8 batch                 {c['stream_uint8']:11.1f} clips/s "
              f"{row['ratio_uint8_vs_raw']:.2f}x raw")
    if args.json:
        Path(args.json).write_text(json.dumps({"environment": env, "results": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
