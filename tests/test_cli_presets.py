"""Presets by name from anywhere: shipped inside the package, `--config NAME` or a path.

The training defaults (`--config vqvae`) and preset names must work after `pip install .` from
any directory: one test builds the wheel, installs it into a fresh folder and trains from a
directory outside the repository. The same run checks the output is quiet (item 6 of the report
that found these problems): one digit-source notice, no Lightning banner, no weights_only warning.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from videomnist_gpu.cli import main
from videomnist_gpu.errors import UsageError
from videomnist_gpu.presets import PRESET_DIR, preset_names, resolve_preset

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_presets_are_the_repository_configs():
    ours = sorted(p.name for p in PRESET_DIR.glob("*.yaml"))
    assert ours == sorted(p.name for p in (ROOT / "configs").glob("*.yaml"))
    assert {"vqvae", "vqvae_tiny", "videogpt", "videogpt_tiny", "videomnist", "test"} <= set(preset_names())
    match, mismatch, errors = filecmp.cmpfiles(PRESET_DIR, ROOT / "configs", ours, shallow=False)
    assert mismatch == [] and errors == []


@pytest.mark.parametrize("value", ["vqvae_tiny", "vqvae_tiny.yaml", "configs/vqvae_tiny.yaml"])
def test_a_preset_resolves_by_name_from_any_directory(value, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_preset(value) == PRESET_DIR / "vqvae_tiny.yaml"


def test_a_path_wins_over_a_name_and_unknown_names_list_the_presets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "test.yaml").write_text("sequence_length: 4\n")
    assert resolve_preset("test.yaml") == Path("test.yaml")
    with pytest.raises(UsageError, match=r"--config: no such file or preset 'nope'\. Presets: .*vqvae_tiny"):
        resolve_preset("nope")


def test_generate_and_visualize_take_preset_names(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--config", "test", "--output_file", "t.h5", "--videos_per_digit", "1",
                 "--digits", "mnist-5k", "--device", "cpu"]) == 0
    assert main(["visualize", "--config", "test", "--output_dir", "v", "--num_samples", "1", "--formats", "gif",
                 "--device", "cpu"]) == 0
    assert (tmp_path / "t.h5").is_file() and list((tmp_path / "v").glob("*.gif"))


def test_installed_package_trains_from_outside_the_repository_quietly(tmp_path):
    """pip wheel + install into a fresh folder; train-vqvae --config vqvae_tiny from another directory."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md", "configs"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, source / name)
    shutil.copytree(ROOT / "videomnist_gpu", source / "videomnist_gpu", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "wheel"), str(source)],
                   check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "wheel").glob("*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(tmp_path / "site"), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    assert (tmp_path / "site" / "videomnist_gpu" / "configs" / "vqvae_tiny.yaml").is_file()

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "OMP_NUM_THREADS": "1",
           "VIDEOMNIST_DATA": str(tmp_path / "no-mnist")}
    where = subprocess.run([sys.executable, "-c", "import importlib.util as u; print(u.find_spec('videomnist_gpu').origin)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(tmp_path / "site")), where.stdout
    proc = subprocess.run([sys.executable, "-m", "videomnist_gpu", "train-vqvae", "--config", "vqvae_tiny",
                           "--max_steps", "2", "--val_check_interval", "2", "--batch_size", "2", "--val_clips", "2",
                           "--output_dir", "run"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert torch.load(work / "run/checkpoints/last.ckpt", weights_only=True)["global_step"] == 2
    lines = proc.stderr.splitlines()  # the digits notice, then (no terminal) one line per validation
    assert len(lines) == 2 and "using the 5,000-digit mnist-5k set" in lines[0], proc.stderr
    assert lines[1].startswith("step 2/2: ") and lines[1].endswith(" left"), proc.stderr
    for noise in ("GPU available", "TPU available", "weights_only", "Warning", "Traceback"):
        assert noise not in proc.stderr + proc.stdout
