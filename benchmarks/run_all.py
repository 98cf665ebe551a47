"""Run every benchmark in one command: the synthesis grid plus the baselines, in one run.

    python benchmarks/run_all.py [--quick] [--device cpu|cuda] [--threads 1] [--json PATH]
                                 [--render_kernels]

The synthesis grid and baselines are `videomnist bench` (videomnist_gpu/bench/throughput.py); this script
writes its markdown table to stdout (and JSON with `--json`), then with `--render_kernels` also
runs the render-kernel microbenchmark (benchmarks/bench_render.py). Extra flags go to
`videomnist bench` unchanged (see `videomnist bench --help`).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from videomnist_gpu.cli import main as videomnist_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    kernels = "--render_kernels" in argv
    argv = [a for a in argv if a != "--render_kernels"]
    code = videomnist_main(["bench", *argv])
    if code == 0 and kernels:
        extra = ["--reps", "3", "--batches", "64"] if "--quick" in argv else []
        if "--threads" in argv:
            extra += ["--threads", argv[argv.index("--threads") + 1]]
        code = subprocess.call([sys.executable, str(ROOT / "benchmarks" / "bench_render.py"), *extra],
                               env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    return code


if __name__ == "__main__":
    sys.exit(main())
