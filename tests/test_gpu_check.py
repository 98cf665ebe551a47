"""`benchmarks/gpu_check.py --device cpu --quick`: every part runs and the summary says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from videomnist_gpu.synth.digits import load_digit_bank

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu_check  # noqa: E402


def test_quick_cpu_run_writes_json_and_markdown(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--device", "cpu", "--quick",
                           "--output_dir", str(out)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["device"] == "cpu" and report["quick"] is True and report["digits"] == "mnist-5k"
    parts = report["parts"]
    assert list(parts) == list(gpu_check.PARTS)
    for name, entry in parts.items():
        assert entry["status"] == "ok", (name, entry.get("output_tail"))
    assert "skipped" in parts["tests"]["summary"]  # no CUDA here: the CUDA cases skip
    bench = parts["bench"]["result"]
    assert bench["headline"]["clips_per_s"] > 0 and set(bench["ratios"]) >= {"ours_vs_original_scipy"}
    fused = parts["fused"]["result"]  # no CUDA here: the torch backend only, and the reason
    assert fused["copy"]["write_bytes_per_s"] > 0 and "not on cpu" in fused["fused"]
    assert {r["backend"] for r in fused["throughput"]} == {"torch"} and "exactness" not in fused
    assert all(r["clips_per_s"] > 0 and r["kernels"] > 10 for r in fused["throughput"])
    stream = parts["stream"]["result"]["results"][0]
    assert stream["clips_per_s"]["stream_float32"] > 0 and stream["ratio_uint8_vs_raw"] > 0
    assert parts["export"]["result"]["verify_on_cpu_exit_code"] == 0 and parts["export"]["result"]["file_mib"] > 0
    consistency = parts["consistency"]["result"]  # on a CPU: the CPU against itself
    for case in ("default", "rotation_scale"):
        assert consistency[case]["ground_truth_equal"] and consistency[case]["video_max_abs_diff"] == 0
    train = parts["train"]["result"]
    assert train["steps_per_s"] > 0 and train["peak_gpu_memory_mib"] is None
    summary = (out / "gpu_check.md").read_text()
    assert summary.startswith("# GPU check on cpu (quick)")
    for name in gpu_check.PARTS:
        assert f"| {name} | ok" in summary
    assert "| stream batch 8, torch: raw / float32 / uint8 |" in summary and "steps/s" in summary
    assert "| copy bandwidth (device to device) |" in summary and "| fused backend | not run: " in summary
    assert "| default clips, 64 on the device vs the CPU | ground truth equal: True" in summary
    assert summary == proc.stdout and (out / "gpu_check.log").stat().st_size > 0


def test_standin_digits_load_as_an_idx_folder(tmp_path):
    folder = gpu_check.write_standin_digits(tmp_path / "digits")
    train, test = load_digit_bank(str(folder), "train"), load_digit_bank(str(folder), "test")
    assert train.images.shape[1:] == (28, 28) and len(train) == 1500 and len(test) == 297
    assert train.images.max() > 200 and set(train.labels.tolist()) == set(range(10))
