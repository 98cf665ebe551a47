"""Synthesis throughput per device, against the baselines users would run instead, in one run.

    >>> from videomnist_gpu.bench import run_benchmark, markdown_report   # doctest: +SKIP
    >>> results = run_benchmark(device="cpu", quick=True)                  # doctest: +SKIP
    >>> print(markdown_report(results))                                    # doctest: +SKIP

What is measured:

- **Synthesis** (`Synthesizer.render`: keyed randomness, motion, sprite gather, render, ground
  truth) in clips/s and frames/s over a grid of batch sizes, image sizes, sequence lengths, digit
  counts and rotation/scale off and on. One warm-up call per case is excluded; each repeat renders
  fresh clip indices; the device is synchronized (CUDA events on a GPU); the median of the repeats
  is reported.
- **Baselines** with equal work (one digit, 16 frames, 64x64, the same number of clips), see
  `videomnist_gpu.baselines`: the original scripts' algorithm (scipy per frame), the classic
  Moving MNIST generator (numpy paste) and the naive full-canvas `grid_sample`.
- **The headline rows** (default config at batch 128, rotation/scale off and on) run interleaved
  with the baselines, one call of each per round, so machine load hits all alike: the ratios
  come from these rows; read them, not the absolute numbers.

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
from videomnist_gpu.baselines import (
    classic_moving_mnist_clips,
    full_canvas_grid_sample_clips,
    original_scipy_clips,
)
from videomnist_gpu.config import VideoMNISTConfig
from videomnist_gpu.synthesizer import Synthesizer

__all__ = [
    "BATCH_SIZES",
    "IMAGE_SIZES",
    "SEQUENCE_LENGTHS",
    "NUM_DIGITS",
    "ROTATION_SCALE",
    "BASELINES",
    "synthesis_cases",
    "case_config",
    "time_calls",
    "run_benchmark",
    "markdown_report",
    "results_to_json",
]

BATCH_SIZES = (64, 256, 1024, 4096)
IMAGE_SIZES = (64, 128)
SEQUENCE_LENGTHS = (16, 32)
NUM_DIGITS = (1, 2)
ROTATION_SCALE = (False, True)
_ROTATION, _SCALE = 20.0, (0.9, 1.1)  # "on": angles within +-20 degrees, scale within 0.9..1.1
BASELINES = ("original_scipy", "classic_moving_mnist", "full_canvas_grid_sample")
# The headline batch: 128 clips is where the CPU kernels run fastest (see synthesizer.CPU_RENDER_SLICE).
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
    """Rough peak bytes of one render: video, the placement workspace and float patches."""
    H, T, K = case["image_size"], case["sequence_length"], case["num_digits"]
    P = 48 if case["rotation_scale"] else 29
    per_frame = H * H * (1 + K) + K * (2 * H * H + P * H) + K * P * P * 16
    return batch * T * per_frame


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
                  log: Callable[[str], None] | None = None) -> dict:
    """Run the synthesis grid and the baselines; returns a JSON-ready dict.

    Args:
        device: where to synthesize (baselines that are numpy-only run on the CPU).
        quick: the default config at batch 128 (rotation/scale off and on) plus the baselines,
            3 repeats, a few clips each: a smoke run.
        repeats: repeats per measurement (median reported); default 5 (3 with `quick`).
        threads: `torch.set_num_threads` for the run (default: leave as is).
        max_memory_gb: CPU only, cap the batch of a case so its buffers stay below this.
        digits: the digit source of the synthesizer and the baselines.
        log: called with a line per finished measurement (progress).

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

    # Headline and baselines, interleaved, equal work: 1 digit, 16 frames, 64x64, n clips.
    head_synth = Synthesizer(case_config(HEADLINE, digits), device=device)
    n_clips = HEADLINE["batch_size"]
    bank_digits = head_synth.bank("train").images.cpu().numpy()  # (N, S, S) uint8, once, not timed
    rot_synth = Synthesizer(case_config(dict(HEADLINE, rotation_scale=True), digits), device=device)
    fns = {"ours": _synthesis_fn(head_synth, n_clips),
           "ours_rotation_scale": _synthesis_fn(rot_synth, n_clips),
           **_baseline_fns(bank_digits, n_clips, device)}
    if quick:  # few clips for the slow baseline: 8 scipy clips take ~25 ms
        fns["original_scipy"] = lambda r: original_scipy_clips(bank_digits, 8, seed=r + 1)
    clips = {name: (8 if quick and name == "original_scipy" else n_clips) for name in fns}
    times = time_calls(fns, device, repeats, min_seconds)
    rows = {}
    for name, secs in times.items():
        med = statistics.median(secs)
        rows[name] = dict(name=name, clips=clips[name], seconds=secs, clips_per_s=clips[name] / med,
                          frames_per_s=clips[name] * HEADLINE["sequence_length"] / med)
        log(f"{name}: {rows[name]['clips_per_s']:.0f} clips/s")
    headline = dict(HEADLINE, batch_measured=n_clips, **rows.pop("ours"))
    headline_rotation = dict(HEADLINE, rotation_scale=True, batch_measured=n_clips,
                             **rows.pop("ours_rotation_scale"))

    synthesis = []
    for case in synthesis_cases(quick):
        batch = _measured_batch(case, device, max_memory_gb)
        synth = Synthesizer(case_config(case, digits), device=device)
        secs = time_calls({"case": _synthesis_fn(synth, batch)}, device, repeats, min_seconds)["case"]
        med = statistics.median(secs)
        row = dict(case, batch_measured=batch, seconds=secs, clips_per_s=batch / med,
                   frames_per_s=batch * case["sequence_length"] / med)
        synthesis.append(row)
        log(f"{_case_label(row)}: {row['clips_per_s']:.0f} clips/s")
        del synth

    ratios = {f"ours_vs_{name}": headline["clips_per_s"] / row["clips_per_s"] for name, row in rows.items()}
    ratios["rotation_scale_off_vs_on"] = headline["clips_per_s"] / headline_rotation["clips_per_s"]
    settings = dict(quick=quick, repeats=repeats, min_seconds_per_repeat=min_seconds,
                    max_memory_gb=max_memory_gb if device.type == "cpu" else None, digits=digits,
                    rotation_scale_on=dict(rotation_range=_ROTATION, scale_range=list(_SCALE)),
                    baseline_clips=clips)
    return dict(environment=_environment(device), settings=settings, synthesis=synthesis,
                baselines=rows, headline=headline, headline_rotation_scale=headline_rotation,
                ratios=ratios)


def _case_label(row: dict) -> str:
    return (f"B={row['batch_size']} {row['image_size']}px T={row['sequence_length']} "
            f"K={row['num_digits']} rot/scale={'on' if row['rotation_scale'] else 'off'}")


_TARGETS = {"ours_vs_original_scipy": ">= 30", "ours_vs_classic_moving_mnist": ">= 2",
            "rotation_scale_off_vs_on": "<= 2"}


def markdown_report(results: dict) -> str:
    """The results as markdown: environment line, baseline ratios, synthesis grid."""
    env, head = results["environment"], results["headline"]
    header = (f"Device: {env['device']} ({env['device_name']}), torch {env['torch']}, "
              f"threads {env['threads']}, numpy {env['numpy']}, videomnist_gpu {env['package']}")
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
    lines += ["", "| ratio | measured | target |", "| --- | ---: | --- |"]
    for name, value in results["ratios"].items():
        lines.append(f"| {name} | {value:.2f} | {_TARGETS.get(name, '')} |")
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
