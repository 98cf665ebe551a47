"""`benchmarks/bench_standard.py`: output format only (rows, ratios, table); no timing asserted."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_tiny_run_reports_every_preset_and_ratio():
    spec = importlib.util.spec_from_file_location("bench_standard", ROOT / "benchmarks" / "bench_standard.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = bench.run("cpu", batch_size=4, ref_clips=2, reps=1, digits="mnist-5k")
    assert set(results["ratios"]) == set(bench.PRESETS)
    assert all(results["rows"][f"{p}/{who}"]["clips_per_s"] > 0 for p in bench.PRESETS for who in ("ours", "original"))
    table = bench.markdown(results)
    assert all(f"| {p} |" in table for p in bench.PRESETS) and "ours / original" in table
