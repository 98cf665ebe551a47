"""Both synthesis backends on one device: throughput against the device's copy bandwidth, launches
and bytes per clip, and the fused kernel checked against the CPU.

    python benchmarks/bench_fused.py [--device cuda] [--digits mnist-5k] [--quick] [--json FILE]

Parts, in one run:

- ``copy``: a device-to-device copy of 1 GiB (``dst.copy_(src)``; quick: 16 MiB), median of 5:
  the bytes a copy writes per second (it reads as many). This is the write bandwidth a render is
  compared with.
- ``throughput``: `Synthesizer.render` for each backend (``torch``; ``triton`` where it can run)
  at batch 1, 64, 256, 1,024, 4,096 and 16,384 with rotation/scale off and on (1 digit, 64 px,
  16 frames), plus 4 digits and 128 px at batch 1,024, and the float32 model batch written by
  the same call (``float_video``) at batch 64 and 1,024. Each row: clips/s (median), the output
  bytes per clip (the uint8 video and the ground truth, what must be written), that output rate
  as a fraction of the copy's write rate, and the kernels and bytes per clip counted on a fake
  CUDA device at batch 64 (`videomnist_gpu.bench.kernel_count`). A case that runs out of device memory is
  recorded as such.
- ``exactness``: the fused backend on the device against the torch backend on the CPU for a few
  configs (every motion family, rotation and shrinking, 4 digits summed at 128 px, whole-pixel
  placement): labels and motion equal, largest position/angle/scale difference, largest pixel
  difference and the share of pixels that differ; and against `render.render_reference` on the
  CPU for the first clips. Also the launches of one fused render (expected: 1).

On a device where the fused kernel cannot run (a CPU without ``TRITON_INTERPRET=1``), the fused
rows and the exactness part say why and only the torch backend is timed.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import statistics
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from videomnist_gpu import VideoMNISTConfig  # noqa: E402
from videomnist_gpu.bench.kernel_count import count_render_kernels  # noqa: E402
from videomnist_gpu.bench.throughput import time_calls  # noqa: E402
from videomnist_gpu.synth.digits import DigitBank, load_digit_bank  # noqa: E402
from videomnist_gpu.synth.render import render_reference  # noqa: E402
from videomnist_gpu.synth.render_triton import recording_launches, triton_unavailable_reason  # noqa: E402
from videomnist_gpu.synth.synthesizer import Synthesizer  # noqa: E402

BATCHES = (1, 64, 256, 1024, 4096, 16384)
ROTATION_SCALE = dict(rotation_range=20.0, scale_range=(0.9, 1.1))
EXACTNESS_CONFIGS = {
    "default": {},
    "rotation_scale": ROTATION_SCALE,
    "shrinking_rotation_integer": dict(rotation_range=15.0, scale_range=(0.5, 1.0), placement="integer",
                                       motion_types=("linear", "spiral")),
    "four_digits_sum_128px": dict(num_digits=4, composite="sum", image_size=128, motion_types=("bounce", "circular")),
    "moving_mnist_scans": dict(num_digits=2, sequence_length=20, speed_range=(2.0, 5.0),
                               motion_types=("srivastava_bounce", "svg_bounce", "svg_stochastic_bounce")),
}


def copy_bandwidth(device: torch.device, nbytes: int, repeats: int = 5) -> dict:
    """Bytes written per second by a device-to-device copy of `nbytes` (median of `repeats`)."""
    src = torch.ones(nbytes, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    secs = time_calls({"copy": lambda r: dst.copy_(src)}, device, repeats)["copy"]
    return {"bytes": nbytes, "seconds": secs, "write_bytes_per_s": nbytes / statistics.median(secs)}


def output_bytes(config: VideoMNISTConfig) -> int:
    """What a render must write per clip: the uint8 video and the ground truth."""
    T, H, K = config.sequence_length, config.image_size, config.num_digits
    return T * H * H + K * 8 + 8 + T * K * (2 * 4 + 4 + 4)


def throughput_cases(quick: bool) -> list[dict]:
    if quick:  # a smoke run: one uint8 and one float32 render of default clips
        return [dict(batch=8, rotation_scale=False), dict(batch=8, rotation_scale=False, float32=True)]
    cases = [dict(batch=b, rotation_scale=r) for b in BATCHES for r in (False, True)]
    cases += [dict(batch=1024, rotation_scale=r, num_digits=4) for r in (False, True)]
    cases += [dict(batch=1024, rotation_scale=r, image_size=128) for r in (False, True)]
    return cases + [dict(batch=b, rotation_scale=False, float32=True) for b in (64, 1024)]


def case_config(case: dict, digits: str) -> VideoMNISTConfig:
    extra = ROTATION_SCALE if case["rotation_scale"] else {}
    return VideoMNISTConfig(digits=digits, num_digits=case.get("num_digits", 1), image_size=case.get("image_size", 64),
                            **extra)


def measure(case: dict, backend: str, device: torch.device, digits: str, repeats: int, min_seconds: float,
            copy_rate: float) -> dict:
    config = case_config(case, digits)
    row = dict(case, backend=backend, output_bytes_per_clip=output_bytes(config))
    synth = Synthesizer(config, device=device, backend=backend)
    synth.set_bank("train", _bank(digits))
    B, T, H = case["batch"], config.sequence_length, config.image_size
    floats = torch.empty(B, 1, T, H, H, device=device) if case.get("float32") else None

    def fn(r: int) -> object:  # fresh clips every call
        return synth.render(torch.arange((r + 1) * B, (r + 2) * B, device=device), float_video=floats)

    try:
        secs = time_calls({"render": fn}, device, repeats, min_seconds)["render"]
    except torch.cuda.OutOfMemoryError:
        row["error"] = "out of device memory"
        return row
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()
    clips_per_s = B / statistics.median(secs)
    row.update(seconds=secs, clips_per_s=clips_per_s,
               output_fraction_of_copy_bandwidth=clips_per_s * row["output_bytes_per_clip"] / copy_rate)
    counted = _counted(config, backend)
    row.update(kernels=counted.kernels, bytes_read_per_clip=counted.bytes_read_per_clip,
               bytes_written_per_clip=counted.bytes_written_per_clip)
    return row


@functools.lru_cache(maxsize=None)
def _bank(digits: str) -> DigitBank:
    """The train digits, loaded once for every case."""
    return load_digit_bank(digits, "train")


@functools.lru_cache(maxsize=None)
def _counted(config: VideoMNISTConfig, backend: str):
    """Kernels and bytes of one render of 64 clips (per clip, they hardly depend on the batch)."""
    return count_render_kernels(config, 64, backend=backend)


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item() if a.numel() else 0.0


def exactness(device: torch.device, digits: str, n_clips: int, n_reference: int) -> dict:
    """The fused backend on `device` against the torch backend (and the reference) on the CPU."""
    out = {}
    indices = torch.arange(n_clips)
    for name, fields in EXACTNESS_CONFIGS.items():
        config = VideoMNISTConfig(digits=digits, **fields)
        fused = Synthesizer(config, device=device, backend="triton")
        cpu = Synthesizer(config, device="cpu", backend="torch")
        with recording_launches() as launches:
            got = fused.render(indices.to(device))
        want = cpu.render(indices)
        video = got.video.cpu()
        differ = video.to(torch.int16) - want.video.to(torch.int16)
        p = cpu.params(indices[:n_reference])
        reference = render_reference(cpu.bank("train").images[p.digit], p.center, p.angle * (math.pi / 180),
                                     p.scale, config.image_size, config.composite)
        out[name] = {
            "launches": len(launches),
            "label_motion_equal": torch.equal(got.label.cpu(), want.label) and torch.equal(got.motion.cpu(), want.motion),
            "position_max_abs_diff_px": _max_diff(got.position.cpu(), want.position),
            "angle_max_abs_diff_deg": _max_diff(got.angle.cpu(), want.angle),
            "scale_max_abs_diff": _max_diff(got.scale.cpu(), want.scale),
            "video_max_abs_diff_vs_cpu_torch": differ.abs().max().item(),
            "video_fraction_of_pixels_differing": (differ != 0).float().mean().item(),
            "video_max_abs_diff_vs_reference": _max_diff(video[:n_reference], reference),
        }
    return out


def markdown(report: dict) -> str:
    copy = report["copy"]
    lines = [f"Device {report['device']}: copy writes {copy['write_bytes_per_s'] / 1e9:,.1f} GB/s "
             f"({copy['bytes'] / 2**20:,.0f} MiB copied, median of {len(copy['seconds'])}). Fused backend: "
             f"{report['fused'] or 'runs here'}.", "",
             "| backend | batch | digits | px | rotation/scale | float32 | clips/s | output / copy bandwidth "
             "| kernels | KB written / clip (counted) |",
             "| --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |"]
    for r in report["throughput"]:
        head = (f"| {r['backend']} | {r['batch']} | {r.get('num_digits', 1)} | {r.get('image_size', 64)} | "
                f"{'on' if r['rotation_scale'] else 'off'} | {'yes' if r.get('float32') else 'no'} | ")
        if "error" in r:
            lines.append(head + f"{r['error']} | | | |")
        else:
            lines.append(head + f"{r['clips_per_s']:,.0f} | {100 * r['output_fraction_of_copy_bandwidth']:.1f}% | "
                                f"{r['kernels']} | {r['bytes_written_per_clip'] / 1024:,.0f} |")
    if report.get("exactness"):
        lines += ["", "| config | launches | labels, motion equal | position / angle / scale max diff | "
                  "pixels vs CPU torch (max, share) | pixels vs reference (max) |", "| --- | ---: | --- | --- | --- | ---: |"]
        for name, e in report["exactness"].items():
            lines.append(f"| {name} | {e['launches']} | {e['label_motion_equal']} | {e['position_max_abs_diff_px']:.2g} px / "
                         f"{e['angle_max_abs_diff_deg']:.2g} deg / {e['scale_max_abs_diff']:.2g} | "
                         f"{e['video_max_abs_diff_vs_cpu_torch']}, {100 * e['video_fraction_of_pixels_differing']:.4f}% | "
                         f"{e['video_max_abs_diff_vs_reference']:g} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--digits", default="mnist-5k", help="auto, mnist, mnist-5k or an IDX folder")
    parser.add_argument("--quick", action="store_true", help="smoke sizes (CI, CPU)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    reason = triton_unavailable_reason(device)
    backends = ("torch",) if reason else ("torch", "triton")
    copy = copy_bandwidth(device, 2**24 if args.quick else 2**30)
    report = {"device": str(device), "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "torch": torch.__version__, "quick": args.quick, "fused": reason, "copy": copy, "throughput": []}
    repeats, min_seconds = (1, 0.0) if args.quick else (5, 0.05)
    for case in throughput_cases(args.quick):
        for backend in backends:
            row = measure(case, backend, device, args.digits, repeats, min_seconds, copy["write_bytes_per_s"])
            report["throughput"].append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "seconds"}), file=sys.stderr, flush=True)
    if reason is None:
        report["exactness"] = exactness(device, args.digits, 4 if args.quick else 256, 2 if args.quick else 16)
    print(markdown(report), end="")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
