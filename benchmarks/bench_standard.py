"""The standard Moving MNIST presets against the original per-clip generators, in one run.

    PYTHONPATH=. python benchmarks/bench_standard.py [--device cuda] [--reps 5] [--json FILE]

For each preset (`moving_mnist`, `dm_mnist`, `sm_mnist`) two candidates synthesize whole clips
(motion and pixels, uint8): ours (`Synthesizer.render` of `--batch_size` fresh clip indices per
call, on `--device`) and our numpy re-implementation of the original generator
(`videomnist_gpu.bench.standard_baselines`, one clip at a time on the CPU, as its users run it), from the
same digit sprites. Every candidate runs once per round and rounds repeat `--reps` times, so
machine noise hits all alike; medians of clips/s and the same-run ratio ours / original are
printed as a Markdown table (and written as JSON with `--json`).
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

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from videomnist_gpu import Synthesizer, VideoMNISTConfig, __version__  # noqa: E402
from videomnist_gpu.bench.standard_baselines import srivastava_clips, svg_clips  # noqa: E402

PRESETS = ("moving_mnist", "dm_mnist", "sm_mnist")
_REFERENCE = {
    "moving_mnist": ("Srivastava et al. 2015", lambda d, n, c, seed: srivastava_clips(
        d, n, num_digits=c.num_digits, T=c.sequence_length, H=c.image_size, seed=seed)),
    "dm_mnist": ("Denton & Fergus 2018, deterministic", lambda d, n, c, seed: svg_clips(
        d, n, stochastic=False, num_digits=c.num_digits, T=c.sequence_length, H=c.image_size, seed=seed)),
    "sm_mnist": ("Denton & Fergus 2018, stochastic", lambda d, n, c, seed: svg_clips(
        d, n, stochastic=True, num_digits=c.num_digits, T=c.sequence_length, H=c.image_size, seed=seed)),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _environment(device: torch.device) -> dict:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"device": str(device), "device_name": name, "torch": torch.__version__, "numpy": np.__version__,
            "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "load_1min": load, "package": __version__}


def _ours(synth: Synthesizer, batch_size: int, device: torch.device):
    """A call that renders the next `batch_size` fresh clip indices (never the same clips twice)."""
    calls = itertools.count()

    def fn(_round: int) -> torch.Tensor:
        first = next(calls) * batch_size
        return synth.render(torch.arange(first, first + batch_size, device=device)).video  # (B, T, H, W)

    return fn


def run(device: str, batch_size: int, ref_clips: int, reps: int, digits: str,
        presets: tuple[str, ...] = PRESETS) -> dict:
    """Median clips/s of ours and of each original generator, measured interleaved."""
    device = torch.device(device)
    candidates = {}  # name -> (clips per call, fn(round))
    for name in presets:
        config = VideoMNISTConfig.from_yaml(ROOT / "configs" / f"{name}.yaml").replace(digits=digits)
        synth = Synthesizer(config, device)
        sprites = synth.bank("train").images.cpu().numpy()  # (N, S, S), the same digits for both
        candidates[f"{name}/ours"] = (batch_size, _ours(synth, batch_size, device))
        reference = _REFERENCE[name][1]
        candidates[f"{name}/original"] = (ref_clips, lambda r, f=reference, d=sprites, c=config: f(d, ref_clips, c, r))
    for _, fn in candidates.values():  # warm-up: digit banks, allocator, caches
        fn(reps)  # a seed no timed round uses
    _sync(device)
    seconds = {name: [] for name in candidates}
    for r in range(reps):
        for name, (_, fn) in candidates.items():
            _sync(device)
            start = time.perf_counter()
            fn(r)
            _sync(device)
            seconds[name].append(time.perf_counter() - start)
    rows = {}
    for name, (n, _) in candidates.items():
        median = statistics.median(seconds[name])
        rows[name] = {"clips_per_call": n, "seconds": seconds[name], "clips_per_s": n / median}
    ratios = {p: rows[f"{p}/ours"]["clips_per_s"] / rows[f"{p}/original"]["clips_per_s"] for p in presets}
    return {"environment": _environment(device), "settings": {"batch_size": batch_size, "ref_clips": ref_clips,
            "reps": reps, "digits": digits}, "rows": rows, "ratios": ratios}


def markdown(results: dict) -> str:
    env = results["environment"]
    lines = [f"device {env['device']} ({env['device_name']}), torch {env['torch']}, {env['threads']} threads, "
             f"load {env['load_1min']}", "",
             "| preset | original generator | original clips/s | ours clips/s | ours / original |",
             "| --- | --- | ---: | ---: | ---: |"]
    for preset, ratio in results["ratios"].items():
        ours, orig = results["rows"][f"{preset}/ours"], results["rows"][f"{preset}/original"]
        lines.append(f"| {preset} | {_REFERENCE[preset][0]} | {orig['clips_per_s']:,.0f} | "
                     f"{ours['clips_per_s']:,.0f} | {ratio:.1f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="where ours renders (default: cuda when available)")
    parser.add_argument("--batch_size", type=int, default=None, metavar="N",
                        help="clips per call of ours (default 128 on the CPU, 1024 on a GPU)")
    parser.add_argument("--ref_clips", type=int, default=200, metavar="N", help="clips per call of the originals")
    parser.add_argument("--reps", type=int, default=5, metavar="N", help="rounds (median reported)")
    parser.add_argument("--digits", default="mnist-5k", help="digit source (default mnist-5k, offline)")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="torch CPU threads (default: torch's)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    batch = args.batch_size or (128 if torch.device(args.device).type == "cpu" else 1024)
    results = run(args.device, batch, args.ref_clips, args.reps, args.digits)
    print(markdown(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
