"""One error path: every user mistake, in every subcommand, is one `error:` line and exit 2.

A table of bad invocations runs in-process through `videomnist_gpu.cli.main` (a subprocess pays
~3 s of `import torch` each); a few run as real `python -m videomnist_gpu` processes to prove the
entry point. Each asserts the exit code, a single stderr line starting with `error:` that names
the argument, no traceback, and nothing created in the working directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_child import tiny_checkpoints
from videomnist_gpu.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, str]:
    """Files to be wrong about: a tiny export, VQ-VAE and VideoGPT checkpoints, text, binary."""
    from videomnist_gpu import VideoMNISTConfig
    from videomnist_gpu.hdf5.export import export_dataset

    d = tmp_path_factory.mktemp("inputs")
    export_dataset(d / "tiny.h5", VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32),
                   videos_per_digit=1, test_videos_per_digit=1, device="cpu", progress=False)
    tiny_checkpoints(d)
    (d / "notes.txt").write_text("my notes\n")
    (d / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (d / "list.yaml").write_text("- a\n- b\n")
    (d / "broken.yaml").write_text("a: [1, 2\n")
    (d / "int_output.yaml").write_text("output_file: 42\n")
    return {"INPUTS_DIR": str(d), **{name.upper().replace(".", "_"): str(d / name) for name in
            ("tiny.h5", "vq.ckpt", "gpt.ckpt", "gpt_uncond.ckpt", "notes.txt", "blob.bin", "list.yaml", "broken.yaml",
             "int_output.yaml")}}


BAD = [  # (subcommand and flags; placeholders from `inputs`), exit code, words the line must hold
    (["generate"], 2, "output_file: required"),
    (["generate", "--output_file", "o.h5", "--sequence_length", "0"], 2, "sequence_length"),
    (["generate", "--output_file", "o.h5", "--sequence_length", "ten"], 2, "invalid int value"),
    (["generate", "--output_file", "o.h5", "--motion_types", "zigzag"], 2, "zigzag"),
    (["generate", "--output_file", "/proc/x.h5"], 2, "not writable"),
    (["generate", "--output_file", "o.h5", "--config", "nope"], 2, "no such file or preset 'nope'"),
    (["generate", "--output_file", "o.h5", "--config", "NOTES_TXT"], 2, "config"),
    (["generate", "--output_file", "o.h5", "--config", "BLOB_BIN"], 2, "config"),
    (["generate", "--output_file", "o.h5", "--config", "BROKEN_YAML"], 2, "not valid YAML"),
    (["generate", "--output_file", "o.h5", "--device", "cuda:99"], 2, "device"),
    (["generate", "--output_file", "o.h5", "--device", "tpu"], 2, "device"),
    (["generate", "--output_file", "o.h5", "--create_samples", "--formats", "avi"], 2, "formats"),
    (["generate", "--output_file", "o.h5", "--batch_size", "0"], 2, "batch_size"),
    (["generate", "--output_file", "TINY_H5"], 2, "--overwrite"),
    (["generate", "--output_file", "o.h5", "--bogus"], 2, "unrecognized arguments: --bogus"),
    (["verify", "missing.h5"], 2, "does not exist"),
    (["verify", "NOTES_TXT"], 2, "not an HDF5 file"),
    (["verify"], 2, "FILE"),
    (["visualize", "--output_dir", "out"], 2, "exactly one of --hdf5_path"),
    (["visualize", "--output_dir", "out", "--hdf5_path", "NOTES_TXT"], 2, "not an HDF5 file"),
    (["visualize", "--output_dir", "out", "--hdf5_path", "TINY_H5", "--device", "cpu"], 2, "--device"),
    (["visualize", "--output_dir", "out", "--config", "nope"], 2, "--config: no such file or preset"),
    (["visualize", "--output_dir", "out", "--config", "LIST_YAML"], 2, "mapping"),
    (["visualize", "--output_dir", "out", "--hdf5_path", "TINY_H5", "--num_samples", "-1"], 2, "num_samples"),
    (["visualize", "--output_dir", "out", "--hdf5_path", "TINY_H5", "--split", "val"], 2, "invalid choice: 'val'"),
    (["visualize", "--hdf5_path", "TINY_H5"], 2, "--output_dir"),
    (["digits"], 2, "ACTION"),
    (["digits", "info", "--digits", "nope"], 2, "unknown source 'nope'"),
    (["train-vqvae", "--gpus", "99"], 2, "--gpus: 99 requested"),
    (["train-vqvae", "--gpus", "-1"], 2, "--gpus"),
    (["train-vqvae", "--data_path", "NOTES_TXT"], 2, "--data_path"),
    (["train-vqvae", "--data_path", "missing.h5"], 2, "--data_path"),
    (["train-vqvae", "--config", "nope"], 2, "--config: no such file or preset 'nope'"),
    (["train-vqvae", "--config", "BROKEN_YAML"], 2, "not valid YAML"),
    (["train-vqvae", "--dataset_config", "nope"], 2, "--dataset_config"),
    (["train-vqvae", "--precision", "17-bits"], 2, "--precision"),
    (["train-vqvae", "--batch_size", "0"], 2, "--batch_size"),
    (["train-vqvae", "--lr", "0"], 2, "--lr"),
    (["train-vqvae", "--resume", "missing.ckpt"], 2, "--resume"),
    (["train-videogpt"], 2, "--vqvae"),
    (["train-videogpt", "--vqvae", "GPT_CKPT"], 2, "--vqvae: ") ,
    (["train-videogpt", "--vqvae", "NOTES_TXT"], 2, "--vqvae: "),
    (["train-videogpt", "--vqvae", "missing.ckpt"], 2, "--vqvae: "),
    (["sample"], 2, "--ckpt: required"),
    (["sample", "--ckpt", "GPT_CKPT", "--labels", "11", "12", "--num_samples", "2"], 2, "--labels: 11 is not a class"),
    (["sample", "--ckpt", "GPT_CKPT", "--labels", "-1"], 2, "--labels"),
    (["sample", "--ckpt", "GPT_CKPT", "--labels", "1", "2", "--n", "3"], 2, "one label per clip"),
    (["sample", "--ckpt", "GPT_UNCOND_CKPT", "--labels", "1", "--n", "1"], 2, "without --class_cond"),
    (["sample", "--ckpt", "VQ_CKPT"], 2, "is a VQ-VAE checkpoint"),
    (["sample", "--ckpt", "NOTES_TXT"], 2, "not a VideoGPT checkpoint"),
    (["sample", "--ckpt", "missing.ckpt"], 2, "--ckpt"),
    (["sample", "--ckpt", "GPT_CKPT", "--num_samples", "0"], 2, "--num_samples"),
    (["sample", "--ckpt", "GPT_CKPT", "--top_k", "0"], 2, "--top_k"),
    (["sample", "--ckpt", "GPT_CKPT", "--temperature", "0"], 2, "--temperature"),
    (["sample", "--ckpt", "GPT_CKPT", "--resolution", "64"], 2, "--resolution"),
    (["bench", "--threads", "0"], 2, "threads"),
    (["bench", "--json", "/nonexistent/dir/x.json"], 2, "json"),
    (["bogus"], 2, "invalid choice: 'bogus'"),
    (["evaluate", "--bogus"], 2, "evaluate"),
    (["evaluate", "missing.npy"], 2, "missing.npy"),
    (["evaluate", "NOTES_TXT"], 2, "notes.txt"),
    (["evaluate", "TINY_H5", "--config", "nope"], 2, "--config: no such file or preset 'nope'"),
    (["evaluate", "TINY_H5", "--num_reference", "0"], 2, "num_reference"),
    (["evaluate", "TINY_H5", "--device", "cuda:7"], 2, "device"),
    (["import-moving-mnist", "--bogus"], 2, "import-moving-mnist"),
    (["import-moving-mnist", "missing.npy", "--output_file", "o.h5"], 2, "missing.npy"),
    (["import-moving-mnist", "NOTES_TXT", "--output_file", "o.h5"], 2, "notes.txt"),
    (["import-moving-mnist", "BLOB_BIN", "--output_file", "o.h5"], 2, "blob.bin"),
]
# Every command that writes, given an output it cannot write: refused before any work (a run of
# `bench` without --quick, or of `train-vqvae`, would take minutes). /proc refuses new files even
# to root, whom a chmod'ed folder would not stop (`test_proc_refuses_new_files_even_to_root`).
BAD_OUTPUTS = [
    (["generate", "--output_file", "INPUTS_DIR"], 2, "output_file: "),
    (["generate", "--config", "INT_OUTPUT_YAML"], 2, "output_file: expected a file path, got 42"),
    (["visualize", "--hdf5_path", "TINY_H5", "--output_dir", "NOTES_TXT"], 2, "output_dir: "),
    (["visualize", "--hdf5_path", "TINY_H5", "--output_dir", "/proc/vis"], 2, "output_dir: cannot create directory '/proc/vis': directory '/proc' is not writable"),
    (["visualize", "--config", "test", "--output_dir", "/proc/vis"], 2, "output_dir: cannot create directory '/proc/vis': directory '/proc' is not writable"),
    (["evaluate", "TINY_H5", "--output_file", "INPUTS_DIR"], 2, "output_file: "),
    (["evaluate", "TINY_H5", "--output_file", "/proc/e.json"], 2, "output_file: directory '/proc' is not writable"),
    (["bench", "--json", "INPUTS_DIR"], 2, "json: "),
    (["bench", "--json", "/proc/b.json"], 2, "json: directory '/proc' is not writable"),
    (["train-vqvae", "--output_dir", "NOTES_TXT"], 2, "--output_dir: "),
    (["train-vqvae", "--output_dir", "/proc/run"], 2, "--output_dir: cannot create directory '/proc/run': directory '/proc' is not writable"),
    (["train-videogpt", "--vqvae", "VQ_CKPT", "--output_dir", "/proc/run"], 2, "--output_dir: cannot create directory '/proc/run': directory '/proc' is not writable"),
    (["sample", "--ckpt", "GPT_CKPT", "--output_dir", "NOTES_TXT"], 2, "--output_dir: "),
    (["sample", "--ckpt", "GPT_CKPT", "--output_dir", "/proc/s"], 2, "--output_dir: cannot create directory '/proc/s': directory '/proc' is not writable"),
    (["import-moving-mnist", "NOTES_TXT", "--output_file", "INPUTS_DIR"], 2, "output_file: "),
    (["import-moving-mnist", "NOTES_TXT", "--output_file", "/proc/m.h5"], 2, "output_file: directory '/proc' is not writable"),
]
BAD += BAD_OUTPUTS


def test_proc_refuses_new_files_even_to_root():
    """What makes the /proc rows above a real test: writing there fails for every user."""
    with pytest.raises(OSError):
        open("/proc/videomnist-probe", "x").close()


def test_every_command_that_writes_has_output_rows():
    writers = {"generate", "visualize", "evaluate", "bench", "train-vqvae", "train-videogpt", "sample",
               "import-moving-mnist"}
    assert {args[0] for args, _, _ in BAD_OUTPUTS} == writers


def _fill(args: list[str], inputs: dict[str, str]) -> list[str]:
    return [inputs.get(a, a) for a in args]


def _assert_one_error_line(code: int, expected: int, err: str, needle: str) -> None:
    assert code == expected, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "(UsageError)" not in err and "Error)" not in err, err
    assert needle in err, err


def test_the_table_covers_every_subcommand():
    from videomnist_gpu.cli import _subparsers, build_parser

    leaves = {p.prog.split()[1] for p in _subparsers(build_parser())}
    assert leaves <= {args[0] for args, _, _ in BAD}
    assert len(BAD) >= 30


@pytest.mark.parametrize("args, code, needle", BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_bad_invocation(args, code, needle, inputs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc = main(_fill(args, inputs))
    out, err = capsys.readouterr()
    _assert_one_error_line(rc, code, err, needle)
    assert list(tmp_path.iterdir()) == [], "a failed command left something behind"


def test_bad_invocations_through_the_real_entry_point(inputs, tmp_path):
    """Two at once (each pays the torch import): a training command and an export."""
    cases = [(["train-vqvae", "--gpus", "99"], "--gpus"),
             (["generate", "--output_file", "/proc/x.h5"], "not writable")]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [subprocess.Popen([sys.executable, "-m", "videomnist_gpu", *args], cwd=tmp_path, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for args, _ in cases]
    for proc, (_, needle) in zip(procs, cases):
        out, err = proc.communicate(timeout=300)
        _assert_one_error_line(proc.returncode, 2, err, needle)
    assert list(tmp_path.iterdir()) == []
