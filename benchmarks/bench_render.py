"""Render kernels against the baselines, interleaved in one run; medians of clips/s.

    PYTHONPATH=. python benchmarks/bench_render.py [--reps 5] [--compile] [--threads N]

Every candidate runs once per round, rounds repeat ``--reps`` times, so machine noise hits all
alike; report medians and read ratios. The render kernels get random digit sprites and centres
(cost does not depend on content); the baselines synthesize whole clips including motion.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from videomnist_gpu.bench.baselines import (  # noqa: E402
    classic_moving_mnist_clips,
    full_canvas_grid_sample_clips,
    original_scipy_clips,
)
from videomnist_gpu.synth.render_fast import render_fast, render_translation  # noqa: E402

S, H, T = 28, 64, 16


def inputs(B, gen, K=1):
    sprites = torch.randint(0, 256, (B, K, S, S), generator=gen, dtype=torch.uint8)
    centers = torch.rand(B, T, K, 2, generator=gen) * (H - 2 * 24) + 24  # (B, T, K, 2)
    angle = (torch.rand(B, T, K, generator=gen) * 2 - 1) * math.radians(15)
    scale = torch.rand(B, T, K, generator=gen) * 0.2 + 0.9
    return sprites, centers, angle, scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batches", type=int, nargs="+", default=[64, 256, 1024])
    ap.add_argument("--compile", action="store_true", help="also time torch.compile of the lerp kernel")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=str, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    digits = torch.randint(0, 256, (1000, S, S), generator=gen, dtype=torch.uint8)
    digits[:, :4] = digits[:, -4:] = digits[:, :, :4] = digits[:, :, -4:] = 0
    dnp = digits.numpy()

    cands = {  # name -> (clips per call, callable)
        "original_scipy": (32, lambda: original_scipy_clips(dnp, 32)),
        "classic_moving_mnist": (256, lambda: classic_moving_mnist_clips(dnp, 256)),
        "full_canvas_grid_sample": (64, lambda: full_canvas_grid_sample_clips(dnp, 64, batch_size=64)),
    }
    compile_s = None
    for B in args.batches:
        sp, c, a, s = inputs(B, gen)
        cands[f"lerp_B{B}"] = (B, lambda sp=sp, c=c: render_fast(sp, c, None, None, H, True))
        cands[f"affine15_B{B}"] = (B, lambda sp=sp, c=c, a=a, s=s: render_fast(
            sp, c, a, s, H, False, max_scale=1.1, max_angle=math.radians(15)))
        cands[f"affine45_B{B}"] = (B, lambda sp=sp, c=c, a=a, s=s: render_fast(
            sp, c, a, s, H, False, max_scale=1.0))
    if args.compile:
        B = 64
        sp, c, _, _ = inputs(B, gen)
        t0 = time.perf_counter()
        try:
            fn = torch.compile(render_translation, dynamic=False)
            fn(sp, c, H)
            compile_s = time.perf_counter() - t0
            cands[f"lerp_compiled_B{B}"] = (B, lambda: fn(sp, c, H))
        except Exception as e:  # no compiler / inductor failure: eager stays the path
            print(f"torch.compile failed ({type(e).__name__}: {e}); eager only", file=sys.stderr)

    for _, f in cands.values():
        f()  # warm-up
    rates = {k: [] for k in cands}
    for _ in range(args.reps):
        for k, (n, f) in cands.items():
            calls = max(1, 1024 // n) if not k.startswith("original") else 1
            t0 = time.perf_counter()
            for _ in range(calls):
                f()
            rates[k].append(n * calls / (time.perf_counter() - t0))
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, reps {args.reps}"
          + (f", compile {compile_s:.1f} s" if compile_s else ""))
    print(f"{'candidate':28s} {'clips/s':>10s} {'x original':>11s} {'x classic':>10s}")
    for k, v in med.items():
        print(f"{k:28s} {v:10.0f} {v / med['original_scipy']:11.1f} {v / med['classic_moving_mnist']:10.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(medians=med, compile_s=compile_s,
                                                   torch=torch.__version__,
                                                   threads=torch.get_num_threads()), indent=1))


if __name__ == "__main__":
    main()
