"""`videomnist bench --quick`: the output format only (JSON keys, table, ratios); no timings asserted."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from videomnist_gpu.bench.throughput import BASELINES, markdown_report, run_benchmark, synthesis_cases
from videomnist_gpu.cli import main

ROOT = Path(__file__).resolve().parents[1]


def check_results(res: dict) -> None:
    assert set(res) >= {"environment", "settings", "synthesis", "baselines", "headline",
                        "headline_rotation_scale", "ratios"}
    env = res["environment"]
    assert {"device", "device_name", "torch", "threads", "numpy", "package"} <= set(env)
    assert set(res["baselines"]) == set(BASELINES)
    for row in [res["headline"], res["headline_rotation_scale"], *res["baselines"].values(), *res["synthesis"]]:
        assert row["clips_per_s"] > 0 and row["frames_per_s"] > 0 and len(row["seconds"]) >= 1
    for row in res["synthesis"]:
        assert {"batch_size", "batch_measured", "image_size", "sequence_length", "num_digits",
                "rotation_scale"} <= set(row)
    assert set(res["ratios"]) == ({f"ours_vs_{b}" for b in BASELINES} | {"rotation_scale_off_vs_on"}
                                  | {f"ours_vs_{b}_slowest_batch" for b in BASELINES}
                                  | {"best_batch_vs_slowest_batch", "rotation_scale_off_vs_on_worst_batch"})
    assert all(v > 0 for v in res["ratios"].values())
    sweep = res["batch_sweep"]
    assert [r["batch_size"] for r in sweep] == res["settings"]["batch_sweep"]
    assert max(r["vs_best_batch"] for r in sweep) == 1.0
    for r in sweep:
        assert r["clips_per_s"] > 0 and r["rotation_scale_clips_per_s"] > 0
        assert {f"vs_{b}" for b in BASELINES} <= set(r)
    assert res["headline"]["clips_per_s"] == next(r["clips_per_s"] for r in sweep if r["batch_size"] == 128)
    counts = res["kernel_counts"]
    assert [(c["backend"], c["rotation_scale"]) for c in counts] == [
        ("torch", False), ("torch", True), ("triton", False), ("triton", True)]
    for c in counts:  # a render launches kernels and writes at least its output; the fused one launches one
        assert c["kernels"] > 10 if c["backend"] == "torch" else c["kernels"] == 1
        assert c["bytes_written_per_clip"] >= c["output_bytes_per_clip"] == 16 * 64 * 64


def test_grid_covers_the_issue():
    cases = synthesis_cases()
    assert len(cases) == 4 * 2 * 2 * 2 * 2
    assert {c["batch_size"] for c in cases} == {64, 256, 1024, 4096}
    assert {c["image_size"] for c in cases} == {64, 128}
    assert {c["sequence_length"] for c in cases} == {16, 32}
    assert {c["num_digits"] for c in cases} == {1, 2}
    assert {c["rotation_scale"] for c in cases} == {False, True}


def test_cli_quick_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--device", "cpu", "--threads", "1", "--repeats", "1",
                 "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("Device: cpu (") and "torch " in table and "threads 1" in table
    assert "| approach (1 digit, 16 x 64 x 64) | clips/s | frames/s | ours / it |" in table
    assert "| batch | image | frames | digits | rotation/scale | clips/s | frames/s |" in table
    for name in BASELINES:
        assert f"| {name} |" in table and f"| ours_vs_{name} |" in table and f"/ {name}" in table
    assert "| batch | clips/s | / best batch |" in table and "| 64 | " in table
    assert "| rotation/scale | batch | kernels |" in table
    res = json.loads(out.read_text())
    check_results(res)
    assert res["settings"]["quick"] is True and res["environment"]["threads"] == 1
    assert not (tmp_path / "bench.json.partial").exists()


def test_markdown_report_of_a_library_run():
    res = run_benchmark("cpu", quick=True, repeats=1)
    check_results(res)
    assert markdown_report(res).count("\n| ") >= 9


@pytest.mark.parametrize("argv", [["--repeats", "0"], ["--threads", "0"], ["--device", "tpu"],
                                  ["--json", "/nonexistent-dir/x.json"]])
def test_bad_flags_are_usage_errors(argv, capsys):
    assert main(["bench", "--quick", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_run_all_script_quick(tmp_path):
    out = tmp_path / "all.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick",
                           "--threads", "1", "--repeats", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "| ours_vs_original_scipy |" in proc.stdout
    check_results(json.loads(out.read_text()))
