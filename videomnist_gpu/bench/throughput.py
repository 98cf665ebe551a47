"""Synthesis throughput per device, against the baselines users would run instead, in one run.

    >>> from videomnist_gpu.bench.throughput import run_benchmark, markdown_report   # doctest: +SKIP
    >>> results = run_benchmark(device="cpu", quick=True)                  # doctest: +SKIP
    >>> print(markdown_report(results))                                    # doctest: +SKIP

What is measured:

- **Synthesis** (`Synthesizer.render`: keyed randomness, motion, sprite gather, render, ground
  truth) in clips/s and frames/s over a grid of batch sizes, image sizes, sequence lengths, digit
  counts and rotation/scale off and on. One warm-up call per case is excluded; each repeat renders
  fresh clip indices; the device is synchronized (CUDA events on a GPU); the median of the repeats
  is reported.
- **Baselines** with equal work (one digit, 16 frames, 64x64, the same number of clips), see
  `videomnist_gpu.bench.baselines`: the original scripts' algorithm (scipy per frame), the classic
  Moving MNIST generator (numpy paste) and the naive full-canvas `grid_sample`.
- **The batch sweep** (default config at every batch of `BATCH_SWEEP`, rotation/scale off and
  on) runs interleaved with the baselines, one call of each per round, so machine load hits all
  alike: the ratios come from these rows (each batch against the best batch, the original
  algorithm, the classic generator, and rotation/scale on against off); read them, not the
  absolute numbers. The headline rows are batch 128 of the sweep.
- **Kernels and bytes per clip** of one default render (and one with rotation/scale) at batch
  4,096, counted on a fake CUDA device (`videomnist_gpu.bench.kernel_count`): what a GPU would launch.

On the CPU, cases whose buffers would exceed `max_memory_gb` are measured at the largest batch
that fits (the row says which batch was measured).
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import os
import platform
import statistics
import time
from typing import Callable

import numpy as np
import torch

from videomnist_gpu import __version__
from videomnist_gpu.bench.baselines import (
    classic_moving_mnist_clips,
    full_canvas_grid_sample_clips,
    original_scipy_clips,
)
from videomnist_gpu.bench.kernel_count import count_render_kernels
from videomnist_gpu.synth.config import VideoMNISTConfig
from videomnist_gpu.synth.synthesizer import Synthesizer

__all__ = [
    "BATCH_SIZES",
    "BATCH_SWEEP",
    "IMAGE_SIZES",
    "SEQUENCE_LENGTHS",
    "NUM_DIGITS",
    "ROTATION_SCALE",
    "BASELINES",
    "synthesis_cases",
    "case_config",
    "time_calls",
    "run_benchmark",
    "kernel_counts",
    "markdown_report",
    "results_to_json",
]

BATCH_SIZES = (64, 256, 1024, 4096)
BATCH_SWEEP = (64, 128, 256, 512, 1024, 2048, 4096)  # default config, against the baselines
QUICK_BATCH_SWEEP = (64, 128)
IMAGE_SIZES = (64, 128)
SEQUENCE_LENGTHS = (16, 32)
NUM_DIGITS = (1, 2)
ROTATION_SCALE = (False, True)
_ROTATION, _SCALE = 20.0, (0.9, 1.1)  # "on": angles within +-20 degrees, scale within 0.9..1.1
BASELINES = ("original_scipy", "classic_moving_mnist", "full_canvas_grid_sample")
# The headline batch: 128 clips, the CPU render's `Synthesizer.preferred_batch_size`; every other batch is in the sweep.
HEADLINE = dict(batch_size=128, image_size=64, sequence_length=16, num_digits=1, rotation_scale=False)


def synthesis_cases(quick: bool = False) -> list[dict]:
    """The grid of synthesis cases; `quick`: the default config at the headline batch, off and on."""
    if quick:
        return [dict(HEADLINE), dict(HEADLINE, rotation_scale=True)]
    return [dict(batch_size=b, image_size=h, sequence_length=t, num_digits=k, rotation_scale=r)
            for r, k, h, t, b in itertools.product(ROTATION_SCALE, NUM_DIGITS, IMAGE_SIZES,
                                                   SEQUENCE_LENGTHS, BATCH_SIZES)]


def case_config(case: dict, digits: str = "mnist-5k") -> VideoMNISTConfig:
    """The config of one synthesis case (everything else at its default)."""
    extra = dict(rotation_range=_ROTATION, scale_range=_SCALE) if case["rotation_scale"] else {}
    return VideoMNISTConfig(image_size=case["image_size"], sequence_length=case["sequence_length"],
                            num_digits=case["num_digits"], digits=digits, **extra)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fns: dict[str, Callable[[int], object]], device: torch.device, repeats: int,
               min_seconds: float = 0.0) -> dict[str, list[float]]:
    """Seconds per call of each function, interleaved: round r calls every `fn(r)` once.

    One warm-up call each (excluded). On CUDA each call is timed with CUDA events after a
    synchronize; elsewhere with `time.perf_counter`. A round repeats a call until it has run for
    `min_seconds` (the time per call is the mean within the round), which steadies tiny timings.
    """
    for fn in fns.values():
        fn(-1)
    _sync(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(repeats):
        for name, fn in fns.items():
            calls, elapsed = 0, 0.0
            while calls == 0 or elapsed < min_seconds:
                if device.type == "cuda":
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record()
                    fn(r)
                    end.record()
                    end.synchronize()
                    elapsed += start.elapsed_time(end) / 1000
                else:
                    t0 = time.perf_counter()
                    fn(r)
                    elapsed += time.perf_counter() - t0
                calls += 1
            times[name].append(elapsed / calls)
    return times


def _case_bytes(case: dict, batch: int) -> int:
    """Rough peak bytes of one CPU render: the video plus the scratch of one 128-clip slice."""
    H, T, K = case["image_size"], case["sequence_length"], case["num_digits"]
    P = 48 if case["rotation_scale"] else 29
    per_frame = H * H * (1 + K) + K * (2 * H * H + P * H) + K * P * P * 16
    return batch * T * H * H + min(batch, 128) * T * per_frame


def _measured_batch(case: dict, device: torch.device, max_memory_gb: float | None) -> int:
    batch = case["batch_size"]
    if device.type != "cpu" or max_memory_gb is None:
        return batch
    while batch > 1 and _case_bytes(case, batch) > max_memory_gb * 2**30:
        batch //= 2
    return batch


def _synthesis_fn(synth: Synthesizer, batch: int) -> Callable[[int], object]:
    device = synth.device

    def fn(r: int) -> object:  # fresh indices every call: repeat r renders clips r*B .. (r+1)*B-1
        start = (r + 1) * batch
        return synth.render(torch.arange(start, start + batch, device=device))
    return fn


def _baseline_fns(digits: np.ndarray, n_clips: int, device: torch.device) -> dict[str, Callable]:
    return {
        "original_scipy": lambda r: original_scipy_clips(digits, n_clips, seed=r + 1),
        "classic_moving_mnist": lambda r: classic_moving_mnist_clips(digits, n_clips, seed=r + 1),
        "full_canvas_grid_sample": lambda r: full_canvas_grid_sample_clips(
            digits, n_clips, batch_size=64, device=device, seed=r + 1),
    }


def _environment(device: torch.device) -> dict:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo") as f:
                name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return dict(device=str(device), device_name=name, torch=torch.__version__, numpy=np.__version__,
                python=platform.python_version(), package=__version__, threads=torch.get_num_threads(),
                cpu_count=os.cpu_count(), load_average=load,
                date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def run_benchmark(device: str | torch.device = "cpu", quick: bool = False,
                  repeats: int | None = None, threads: int | None = None,
                  max_memory_gb: float | None = 2.0, digits: str = "mnist-5k",
                  log: Callable[[str], None] | None = None, grid: bool = True) -> dict:
    """Run the synthesis grid and the baselines; returns a JSON-ready dict.

    Args:
        device: where to synthesize (baselines that are numpy-only run on the CPU).
        quick: the default config at batch 128 (rotation/scale off and on) plus the baselines,
            3 repeats, a few clips each: a smoke run.
        repeats: repeats per measurement (median reported); default 5 (3 with `quick`).
        threads: torch threads of the render (`Synthesizer(threads=...)`; default 1) and of the
            torch baseline (`torch.set_num_threads`; default: leave as is).
        max_memory_gb: CPU only, cap the batch of a case so its buffers stay below this.
        digits: the digit source of the synthesizer and the baselines.
        log: called with a line per finished measurement (progress).
        grid: also time the synthesis grid (`synthesis_cases`); without it, only the batch
            sweep, the baselines and the kernel counts.

    Returns:
        ``{"environment": {...}, "settings": {...}, "synthesis": [row, ...],
        "baselines": {name: row}, "headline": row, "headline_rotation_scale": row,
        "ratios": {...}}``; a row holds
        ``clips_per_s``, ``frames_per_s``, ``seconds`` (per call, all repeats) and its case.
    """
    device = torch.device(device)
    if threads is not None:
        torch.set_num_threads(int(threads))
    repeats = int(repeats if repeats is not None else (3 if quick else 5))
    if repeats < 1:
        raise ValueError(f"repeats: must be >= 1, got {repeats}")
    log = log or (lambda line: None)
    min_seconds = 0.02 if quick else 0.2

    # Batch sweep and baselines, interleaved. Baselines do equal work per clip (1 digit, 16
    # frames, 64x64) on n_clips clips per call.
    sweep_batches = QUICK_BATCH_SWEEP if quick else BATCH_SWEEP
    head_synth = Synthesizer(case_config(HEADLINE, digits), device=device, threads=threads)
    n_clips = HEADLINE["batch_size"]
    bank_digits = head_synth.bank("train").images.cpu().numpy()  # (N, S, S) uint8, once, not timed
    rot_config = case_config(dict(HEADLINE, rotation_scale=True), digits)
    fns = {}
    for b in sweep_batches:  # one synthesizer per batch, as a user keeps one batch size
        fns[f"ours_B{b}"] = _synthesis_fn(Synthesizer(head_synth.config, device=device, threads=threads), b)
        fns[f"ours_rotation_scale_B{b}"] = _synthesis_fn(Synthesizer(rot_config, device=device, threads=threads), b)
    fns.update(_baseline_fns(bank_digits, n_clips, device))
    if quick:  # few clips for the slow baseline: 8 scipy clips take ~25 ms
        fns["original_scipy"] = lambda r: original_scipy_clips(bank_digits, 8, seed=r + 1)
    clips = {name: n_clips for name in BASELINES}
    clips.update({f"ours_B{b}": b for b in sweep_batches})
    clips.update({f"ours_rotation_scale_B{b}": b for b in sweep_batches})
    if quick:
        clips["original_scipy"] = 8
    times = time_calls(fns, device, repeats, min_seconds)
    rows = {}
    for name, secs in times.items():
        med = statistics.median(secs)
        rows[name] = dict(name=name, clips=clips[name], seconds=secs, clips_per_s=clips[name] / med,
                          frames_per_s=clips[name] * HEADLINE["sequence_length"] / med)
        log(f"{name}: {rows[name]['clips_per_s']:.0f} clips/s")
    off = {b: rows.pop(f"ours_B{b}") for b in sweep_batches}
    on = {b: rows.pop(f"ours_rotation_scale_B{b}") for b in sweep_batches}
    headline = dict(HEADLINE, batch_measured=n_clips, **off[n_clips])
    headline_rotation = dict(HEADLINE, rotation_scale=True, batch_measured=n_clips, **on[n_clips])
    best = max(row["clips_per_s"] for row in off.values())
    batch_sweep = [dict(batch_size=b, clips_per_s=off[b]["clips_per_s"], seconds=off[b]["seconds"],
                        rotation_scale_clips_per_s=on[b]["clips_per_s"],
                        rotation_scale_seconds=on[b]["seconds"],
                        vs_best_batch=off[b]["clips_per_s"] / best,
                        rotation_scale_off_vs_on=off[b]["clips_per_s"] / on[b]["clips_per_s"],
                        **{f"vs_{name}": off[b]["clips_per_s"] / row["clips_per_s"]
                           for name, row in rows.items()})
                   for b in sweep_batches]

    synthesis = []
    for case in synthesis_cases(quick) if grid else []:
        batch = _measured_batch(case, device, max_memory_gb)
        synth = Synthesizer(case_config(case, digits), device=device, threads=threads)
        secs = time_calls({"case": _synthesis_fn(synth, batch)}, device, repeats, min_seconds)["case"]
        med = statistics.median(secs)
        row = dict(case, batch_measured=batch, seconds=secs, clips_per_s=batch / med,
                   frames_per_s=batch * case["sequence_length"] / med)
        synthesis.append(row)
        log(f"{_case_label(row)}: {row['clips_per_s']:.0f} clips/s")
        del synth

    ratios = {f"ours_vs_{name}": headline["clips_per_s"] / row["clips_per_s"] for name, row in rows.items()}
    ratios["rotation_scale_off_vs_on"] = headline["clips_per_s"] / headline_rotation["clips_per_s"]
    ratios["best_batch_vs_slowest_batch"] = 1 / min(r["vs_best_batch"] for r in batch_sweep)
    for name in rows:
        ratios[f"ours_vs_{name}_slowest_batch"] = min(r[f"vs_{name}"] for r in batch_sweep)
    ratios["rotation_scale_off_vs_on_worst_batch"] = max(r["rotation_scale_off_vs_on"] for r in batch_sweep)
    kernels = kernel_counts(digits)
    settings = dict(quick=quick, repeats=repeats, min_seconds_per_repeat=min_seconds,
                    max_memory_gb=max_memory_gb if device.type == "cpu" else None, digits=digits,
                    rotation_scale_on=dict(rotation_range=_ROTATION, scale_range=list(_SCALE)),
                    baseline_clips={name: clips[name] for name in BASELINES}, batch_sweep=list(sweep_batches))
    return dict(environment=dict(_environment(device), render_threads=head_synth.threads), settings=settings, synthesis=synthesis,
                baselines=rows, headline=headline, headline_rotation_scale=headline_rotation,
                batch_sweep=batch_sweep, ratios=ratios, kernel_counts=kernels)


KERNEL_COUNT_BATCH = 4096


def kernel_counts(digits: str = "mnist-5k", batch_size: int = KERNEL_COUNT_BATCH) -> list[dict]:
    """Kernels per batch and bytes per clip of one render on a fake CUDA device, rotation/scale off and on."""
    rows = []
    for rotation_scale in (False, True):
        case = dict(HEADLINE, rotation_scale=rotation_scale)
        c = count_render_kernels(case_config(case, digits), batch_size)
        rows.append(dict(rotation_scale=rotation_scale, batch_size=batch_size, kernels=c.kernels,
                         bytes_read_per_clip=c.bytes_read_per_clip,
                         bytes_written_per_clip=c.bytes_written_per_clip,
                         output_bytes_per_clip=HEADLINE["sequence_length"] * HEADLINE["image_size"] ** 2))
    return rows


def _case_label(row: dict) -> str:
    return (f"B={row['batch_size']} {row['image_size']}px T={row['sequence_length']} "
            f"K={row['num_digits']} rot/scale={'on' if row['rotation_scale'] else 'off'}")




def markdown_report(results: dict) -> str:
    """The results as markdown: environment line, baseline ratios, synthesis grid."""
    env, head = results["environment"], results["headline"]
    header = (f"Device: {env['device']} ({env['device_name']}), torch {env['torch']}, "
              f"threads {env['threads']} (render {env.get('render_threads', env['threads'])}), numpy {env['numpy']}, videomnist_gpu {env['package']}")
    if env.get("load_average") is not None:
        header += f", load average {env['load_average']:.1f} on {env['cpu_count']} CPUs"
    lines = [
        header,
        "",
        "| approach (1 digit, 16 x 64 x 64) | clips/s | frames/s | ours / it |",
        "| --- | ---: | ---: | ---: |",
        f"| ours: `Synthesizer.render`, default config, B={head['batch_size']} | "
        f"{head['clips_per_s']:,.0f} | {head['frames_per_s']:,.0f} | 1.0 |",
    ]
    rot = results.get("headline_rotation_scale")
    if rot is not None:
        lines.append(f"| ours, rotation +-{_ROTATION:g} deg and scale {_SCALE[0]}-{_SCALE[1]} on | "
                     f"{rot['clips_per_s']:,.0f} | {rot['frames_per_s']:,.0f} | "
                     f"{head['clips_per_s'] / rot['clips_per_s']:.1f}x |")
    for name, row in results["baselines"].items():
        ratio = results["ratios"][f"ours_vs_{name}"]
        lines.append(f"| {name} | {row['clips_per_s']:,.0f} | {row['frames_per_s']:,.0f} | {ratio:,.1f}x |")
    lines += ["", "| ratio | measured |", "| --- | ---: |"]
    for name, value in results["ratios"].items():
        lines.append(f"| {name} | {value:.2f} |")
    sweep = results.get("batch_sweep", [])
    if sweep:
        names = list(results["baselines"])
        lines += ["", "Default config (1 digit, 16 x 64 x 64) at every batch, interleaved with the baselines:", "",
                  "| batch | clips/s | / best batch | " + " | ".join(f"/ {n}" for n in names)
                  + " | rotation/scale on clips/s | off / on |",
                  "| ---: | ---: | ---: | " + " | ".join("---:" for _ in names) + " | ---: | ---: |"]
        for r in sweep:
            lines.append(f"| {r['batch_size']} | {r['clips_per_s']:,.0f} | {r['vs_best_batch']:.2f} | "
                         + " | ".join(f"{r[f'vs_{n}']:,.1f}" for n in names)
                         + f" | {r['rotation_scale_clips_per_s']:,.0f} | {r['rotation_scale_off_vs_on']:.2f} |")
    counts = results.get("kernel_counts", [])
    if counts:
        lines += ["", "One render on a fake CUDA device (what a GPU would launch and move, counted, not timed):", "",
                  "| rotation/scale | batch | kernels | KB read / clip | KB written / clip | output KB / clip |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for r in counts:
            lines.append(f"| {'on' if r['rotation_scale'] else 'off'} | {r['batch_size']} | {r['kernels']} | "
                         f"{r['bytes_read_per_clip'] / 1024:,.0f} | {r['bytes_written_per_clip'] / 1024:,.0f} | "
                         f"{r['output_bytes_per_clip'] / 1024:,.0f} |")
    lines += ["", "| batch | image | frames | digits | rotation/scale | clips/s | frames/s |",
              "| ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for row in results["synthesis"]:
        batch = str(row["batch_size"])
        if row["batch_measured"] != row["batch_size"]:
            batch += f" (measured {row['batch_measured']})"
        lines.append(f"| {batch} | {row['image_size']} | {row['sequence_length']} | {row['num_digits']} | "
                     f"{'on' if row['rotation_scale'] else 'off'} | {row['clips_per_s']:,.0f} | "
                     f"{row['frames_per_s']:,.0f} |")
    return "\n".join(lines) + "\n"


def results_to_json(results: dict) -> dict:
    """A copy safe for `json.dumps` (tuples become lists)."""
    def convert(x):
        if isinstance(x, dict):
            return {k: convert(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [convert(v) for v in x]
        if dataclasses.is_dataclass(x):
            return convert(dataclasses.asdict(x))
        return x
    return convert(results)
