"""The CPU render's three ratios, each against baselines measured in the same run.

    PYTHONPATH=. python benchmarks/bench_cpu.py [--rounds 7] [--only rotation batch threads]

1. ``rotation``: `Synthesizer.render` at batch 256 with rotation +-20 degrees and scale 0.9-1.1
   (digits shrink in part of the frames: area-averaged) against rotation/scale off; rotation
   alone and growing only (scale 1.0-1.1) for reference.
2. ``batch``: time per clip of the default config at batches 16 ... 1,024; batch 64 against the
   best batch.
3. ``threads``: with nothing else started, then with a busy loop on one core (a child process
   running ``while True: pass``, killed at the end): default settings against 1 and 2 torch
   threads for the render (batch 128, rotation/scale off and on), the float32 stream (batch 128)
   and ``videomnist bench --quick`` (its headline clips/s).

Every candidate of a section runs once per round, rounds repeat, so machine noise hits all
alike; medians are printed, of the clock and (sections 1 and 2, where the render runs on one
thread) of the thread's CPU time, which other processes disturb less. Read the ratios: absolute
numbers move with the machine's load (the load average is printed before each section).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from videomnist_gpu import Synthesizer, VideoMNISTConfig  # noqa: E402
from videomnist_gpu.bench.throughput import run_benchmark  # noqa: E402
from videomnist_gpu.data.stream import VideoMNISTStream  # noqa: E402

DIGITS = "mnist-5k"
ROTATION_SCALE = dict(rotation_range=20.0, scale_range=(0.9, 1.1))


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def interleaved(candidates: dict[str, Callable[[int], int]], rounds: int) -> dict[str, tuple[float, float]]:
    """Median seconds per clip of each candidate, (wall clock, this thread's CPU time).

    ``fn(r)`` does round r's work and returns its clips. The CPU time of a single-threaded
    render is its work, which other processes on the machine disturb far less than the clock.
    """
    for fn in candidates.values():
        fn(-1)  # warm-up: digit bank, reused buffers
    wall: dict[str, list[float]] = {name: [] for name in candidates}
    cpu: dict[str, list[float]] = {name: [] for name in candidates}
    for r in range(rounds):
        for name, fn in candidates.items():
            t0, c0 = time.perf_counter(), time.thread_time()
            clips = fn(r)
            wall[name].append((time.perf_counter() - t0) / clips)
            cpu[name].append((time.thread_time() - c0) / clips)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in candidates}


def _render(synth: Synthesizer, batch: int, calls: int = 1) -> Callable[[int], int]:
    def fn(r: int) -> int:
        for c in range(calls):
            start = ((r + 1) * calls + c) * batch
            synth.render(torch.arange(start, start + batch))
        return batch * calls
    return fn


def rotation_section(rounds: int) -> None:
    print(f"\n## Rotation/scale at batch 256 ({_load()})\n")
    configs = {
        "off": VideoMNISTConfig(digits=DIGITS),
        "rotation +-20, scale 0.9-1.1": VideoMNISTConfig(digits=DIGITS, **ROTATION_SCALE),
        "rotation +-20, scale 1.0-1.1": VideoMNISTConfig(digits=DIGITS, rotation_range=20.0, scale_range=(1.0, 1.1)),
        "rotation +-20 only": VideoMNISTConfig(digits=DIGITS, rotation_range=20.0),
    }
    med = interleaved({name: _render(Synthesizer(c, "cpu"), 256) for name, c in configs.items()}, rounds)
    print("| config | clips/s | / off, clock | / off, CPU time |\n| --- | ---: | ---: | ---: |")
    for name, (wall, cpu) in med.items():
        print(f"| {name} | {1 / wall:,.0f} | {wall / med['off'][0]:.2f} | {cpu / med['off'][1]:.2f} |")


def batch_section(rounds: int) -> None:
    print(f"\n## Batch size, default config ({_load()})\n")
    synth = Synthesizer(VideoMNISTConfig(digits=DIGITS), "cpu")
    batches = (16, 32, 64, 128, 256, 512, 1024)
    med = interleaved({b: _render(synth, b, calls=max(1, 512 // b)) for b in batches}, rounds)
    best_wall, best_cpu = min(w for w, _ in med.values()), min(c for _, c in med.values())
    print("| batch | clips/s | time per clip / best batch's, clock | CPU time |\n| ---: | ---: | ---: | ---: |")
    for b, (wall, cpu) in med.items():
        print(f"| {b} | {1 / wall:,.0f} | {wall / best_wall:.2f} | {cpu / best_cpu:.2f} |")


def _stream(threads: int | None, batch: int = 128) -> Callable[[int], int]:
    config = VideoMNISTConfig(digits=DIGITS)
    stream = VideoMNISTStream(config, batch_size=batch, device="cpu")
    stream.synthesizer = Synthesizer(config, "cpu", threads=threads)
    batches = iter(stream)

    def fn(r: int) -> int:
        next(batches)
        return batch
    return fn


def _bench(threads: int | None) -> Callable[[int], int]:
    clips = []

    def fn(r: int) -> int:  # `videomnist bench --quick` without the baselines' rows; its headline row
        results = run_benchmark("cpu", quick=True, threads=threads, grid=False, repeats=1)
        clips.append(results["headline"]["clips_per_s"])
        return 1
    fn.rates = clips  # type: ignore[attr-defined]
    return fn


def threads_section(rounds: int) -> None:
    settings = {"default": None, "1 thread": 1, "2 threads": 2}
    for loaded in (False, True):
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if loaded else None
        try:
            time.sleep(1.0 if loaded else 0.0)  # let the busy loop take its core
            what = "one core kept busy by another process" if loaded else "nothing else started"
            print(f"\n## Threads, {what} ({_load()})\n")
            cands = {}
            for label, n in settings.items():
                cands[f"render off, {label}"] = _render(Synthesizer(VideoMNISTConfig(digits=DIGITS), "cpu", threads=n), 128)
                cands[f"render on, {label}"] = _render(
                    Synthesizer(VideoMNISTConfig(digits=DIGITS, **ROTATION_SCALE), "cpu", threads=n), 128)
                cands[f"stream, {label}"] = _stream(n)
            benches = {label: _bench(n) for label, n in settings.items()}
            cands.update({f"bench --quick, {label}": fn for label, fn in benches.items()})
            med = {name: wall for name, (wall, _) in interleaved(cands, rounds).items()}
            for label, fn in benches.items():  # bench reports its own rate; use its median
                med[f"bench --quick, {label}"] = 1 / statistics.median(fn.rates[1:])
            print("| what | default clips/s | 1 thread | 2 threads | default / best |\n| --- | ---: | ---: | ---: | ---: |")
            for what in ("render off", "render on", "stream", "bench --quick"):
                rate = {label: 1 / med[f"{what}, {label}"] for label in settings}
                best = max(rate["1 thread"], rate["2 threads"])
                print(f"| {what} | {rate['default']:,.0f} | {rate['1 thread']:,.0f} | {rate['2 threads']:,.0f} | "
                      f"{rate['default'] / best:.2f} |")
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--only", nargs="+", choices=("rotation", "batch", "threads"),
                    default=["rotation", "batch", "threads"])
    args = ap.parse_args()
    print(f"torch {torch.__version__}, torch threads {torch.get_num_threads()}, {_load()}")
    sections = {"rotation": rotation_section, "batch": batch_section, "threads": threads_section}
    for name in args.only:
        sections[name](args.rounds)


if __name__ == "__main__":
    main()
