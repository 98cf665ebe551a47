"""Ctrl-C and SIGTERM always stop `videomnist generate`: exit 128 + signal, one line, nothing left.

The bug these tests would have caught: the old handler raised from inside the signal handler, and
when the signal landed in a weakref callback the exception was swallowed; the export finished and
exited 0. Each case below starts a real `generate` process, waits for a line it prints, delivers
one signal and checks the exit code, the single `error:` line, and that neither the file, its
`.partial` nor the directory the command created is left.

Moments: `hold` cases set the hidden hook `VIDEOMNIST_TEST_HOLD=PHASE`, which makes the export
print `hold: PHASE` and wait for a signal exactly there (first batch, mid-run, split boundary, the
final flush before the rename), so they are deterministic; `after` cases send the signal right
after the Nth `wrote ... clips` progress line while the export runs on (the signal lands wherever
the process happens to be: in h5py, in the renderer, in a destructor). Children fork from a warm
server (`cli_child.py`); two cases use the real `python -m videomnist_gpu` entry point.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import cli_child

ROOT = Path(__file__).resolve().parents[1]
SIGNALS = [signal.SIGINT, signal.SIGTERM]
# (moment kind, value): hold at a phase of the export, or signal after the Nth progress line.
MOMENTS = [("hold", "train_batch_0"), ("hold", "train_batch_7"), ("hold", "test_batch_0"),
           ("hold", "final_flush"), ("after", 1), ("after", 4), ("after", 12), ("after", 30)]
# Small frames, many small batches: each batch is quick, and a run lasts long past every moment.
ARGS = ["generate", "--log_progress", "--videos_per_digit", "300", "--test_videos_per_digit", "4",
        "--sequence_length", "4", "--image_size", "32", "--digits", "mnist-5k", "--batch_size", "4",
        "--device", "cpu"]
HOLD_ARGS = ["--videos_per_digit", "4"]  # a hold waits for the signal: the run can be tiny


def _argv(out: Path, kind: str) -> list[str]:
    return ARGS + (HOLD_ARGS if kind == "hold" else []) + ["--output_file", str(out)]


def _trigger(kind: str, value) -> callable:
    if kind == "hold":
        return lambda line: line == f"hold: {value}"
    progress = [0]

    def after(line: str) -> bool:
        progress[0] += line.startswith("wrote train clips")
        return progress[0] == value
    return after


def _lines(fd: int):  # for the real entry point
    """Lines from a pipe until EOF; fails instead of hanging if nothing comes for 60 s."""
    buffer = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        assert ready, "the child printed nothing for 60 s"
        chunk = os.read(fd, 65536)
        if not chunk:
            if buffer:
                yield buffer.decode()
            return
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line.decode()


def _check(code: int, lines: list[str], sig: int, out: Path, created: Path) -> None:
    errors = [line for line in lines if not line.startswith(("wrote ", "hold: ", "export: "))]  # progress lines
    assert code == 128 + sig, lines
    assert len(errors) == 1 and errors[0].startswith(f"error: interrupted by {sig.name}"), lines
    assert not any("Traceback" in line or "Exception ignored" in line for line in lines), lines
    assert not out.exists() and not (out.parent / (out.name + ".partial")).exists()
    assert not created.exists(), "the directory the command created is left behind"


def _deliver_all(ctx, cases: list[tuple[list[str], dict, object, int]]) -> list[tuple[int, list[str]]]:
    """Run each case (argv, env, trigger, signal) in a forked child, all at once; send the signal at
    the first stderr line its trigger accepts. Returns (exit code, stderr lines) per case."""
    procs, readers, seen, fired = [], [], [], []
    for argv, env, _, _ in cases:
        reader, writer = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=cli_child.run_cli, args=(argv, writer, env))
        proc.start()
        writer.close()
        procs.append(proc)
        readers.append(reader)
        seen.append([])
        fired.append(False)
    streams = {reader.fileno(): i for i, reader in enumerate(readers)}
    buffers = {fd: b"" for fd in streams}
    try:
        while buffers:
            ready, _, _ = select.select(list(buffers), [], [], 60)
            assert ready, "no child printed anything for 60 s"
            for fd in ready:
                i, chunk = streams[fd], os.read(fd, 65536)
                *lines, rest = (buffers[fd] + chunk).split(b"\n")
                buffers[fd] = rest
                if not chunk:  # EOF: the child is done
                    lines += [rest] if rest else []
                    del buffers[fd]
                for line in (raw.decode() for raw in lines):
                    seen[i].append(line)
                    if not fired[i] and cases[i][2](line):
                        os.kill(procs[i].pid, cases[i][3])
                        fired[i] = True
        for proc in procs:
            proc.join(60)
    finally:
        for reader, proc in zip(readers, procs):
            reader.close()
            if proc.is_alive():
                proc.kill()
                proc.join()
    for (argv, _, _, _), lines, done in zip(cases, seen, fired):
        assert done, f"{argv[0]}: the moment never came: {lines[-3:]}"
    return [(proc.exitcode, lines) for proc, lines in zip(procs, seen)]


def _deliver(ctx, argv: list[str], env: dict[str, str], trigger, sig: int) -> tuple[int, list[str]]:
    return _deliver_all(ctx, [(argv, env, trigger, sig)])[0]


def test_every_signal_at_every_moment_ends_the_export(tmp_path):
    """16 deliveries into forked `generate` processes running side by side."""
    cases, paths = [], []
    for kind, value in MOMENTS:
        for sig in SIGNALS:
            created = tmp_path / f"{kind}-{value}-{sig.name}"
            out = created / "sub" / "out.h5"  # both folders are the command's to create and remove
            env = {"VIDEOMNIST_TEST_HOLD": str(value)} if kind == "hold" else {}
            cases.append((_argv(out, kind), env, _trigger(kind, value), sig))
            paths.append((out, created))
    for (code, seen), (_, _, _, sig), (out, created) in zip(_deliver_all(cli_child.context(), cases), cases, paths):
        _check(code, seen, sig, out, created)


def _held(phase: str):
    return {"VIDEOMNIST_TEST_HOLD": phase}, lambda line: line == f"hold: {phase}"


def _one_error(code: int, lines: list[str], sig: int) -> str:
    progress = ("hold: ", "videomnist: full MNIST", "step ", "export: ")  # the lines of a run without a terminal
    errors = [line for line in lines if not line.startswith(progress)]
    assert code == 128 + sig and len(errors) == 1, lines
    assert errors[0].startswith(f"error: interrupted by {sig.name}"), lines
    return errors[0]


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_visualize_is_interrupted_between_files(tmp_path, sig):
    out = tmp_path / "new" / "samples"
    env, trigger = _held("write_samples")
    code, seen = _deliver(cli_child.context(), ["visualize", "--config", "test", "--output_dir", str(out),
                                                "--num_samples", "3", "--device", "cpu"], env, trigger, sig)
    _one_error(code, seen, sig)
    assert list(tmp_path.iterdir()) == []  # no folder, no hidden partial folder


TRAIN = ["train-vqvae", "--config", "vqvae_tiny", "--max_steps", "6", "--val_check_interval", "2", "--batch_size", "2",
         "--val_clips", "2", "--sequence_length", "4", "--resolution", "32"]


def test_training_interrupted_before_a_checkpoint_leaves_nothing(tmp_path):
    env, trigger = _held("train_step_1")
    code, seen = _deliver(cli_child.context(), [*TRAIN, "--output_dir", str(tmp_path / "run")], env, trigger,
                          signal.SIGINT)
    _one_error(code, seen, signal.SIGINT)
    assert list(tmp_path.iterdir()) == []


def test_training_interrupted_after_a_checkpoint_keeps_it_for_resume(tmp_path):
    env, trigger = _held("train_step_3")
    code, seen = _deliver(cli_child.context(), [*TRAIN, "--output_dir", str(tmp_path / "run")], env, trigger,
                          signal.SIGTERM)
    line = _one_error(code, seen, signal.SIGTERM)
    assert "--resume" in line and (tmp_path / "run/checkpoints/last.ckpt").is_file()


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_sample_interrupted_writes_none_of_its_files(tmp_path, sig):
    ckpt = cli_child.tiny_checkpoints(tmp_path)["gpt"]
    env, trigger = _held("sample_wrote_gif")
    code, seen = _deliver(cli_child.context(), ["sample", "--ckpt", str(ckpt), "--num_samples", "2", "--output_dir",
                                                str(tmp_path / "out"), "--device", "cpu"], env, trigger, sig)
    _one_error(code, seen, sig)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("sig,phase", [(signal.SIGINT, "final_flush"), (signal.SIGTERM, "train_batch_0")])
def test_the_real_entry_point_is_interrupted(tmp_path, sig, phase):
    created = tmp_path / "new"
    out = created / "out.h5"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "VIDEOMNIST_TEST_HOLD": phase}
    proc = subprocess.Popen([sys.executable, "-m", "videomnist_gpu", *_argv(out, "hold")], env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    seen = []
    try:
        for line in _lines(proc.stderr.fileno()):
            seen.append(line)
            if line == f"hold: {phase}":
                proc.send_signal(sig)
        proc.wait(60)
    finally:
        proc.stderr.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _check(proc.returncode, seen, sig, out, created)


def _real_entry_point(argv: list[str], env: dict[str, str], trigger, sig: int, cwd: Path) -> tuple[int, list[str]]:
    """Run `python -m videomnist_gpu ARGV`, send `sig` at the first stderr line `trigger` accepts."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **env}
    proc = subprocess.Popen([sys.executable, "-m", "videomnist_gpu", *argv], env=env, cwd=cwd,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    seen = []
    try:
        for line in _lines(proc.stderr.fileno()):
            seen.append(line)
            if trigger(line):
                proc.send_signal(sig)
        proc.wait(60)
    finally:
        proc.stderr.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, seen


def test_the_command_imports_no_torch_before_its_signal_handler():
    """The entry point's module loads in milliseconds: a Ctrl-C while torch loads meets our handler."""
    code = "import sys, videomnist_gpu.cli; sys.exit('torch' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    assert subprocess.run([sys.executable, "-c", code], env=env, timeout=60).returncode == 0


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_while_the_command_starts_is_one_line(tmp_path, sig):
    """Held at the first line of `main`, before the subcommands (and torch) load: 128 + signal,
    `error: interrupted by SIG...`, no traceback, nothing created."""
    out = tmp_path / "new" / "out.h5"
    code, seen = _real_entry_point(["generate", "--output_file", str(out)], *_held("startup"), sig, tmp_path)
    _check(code, seen, sig, out, tmp_path / "new")


def test_evaluate_bench_visualize_and_import_stop_at_a_signal_and_leave_nothing(tmp_path):
    """Seven deliveries into forked commands running side by side; none leaves its output file."""
    import numpy as np

    np.save(tmp_path / "clips.npy", np.zeros((4, 4, 32, 32), dtype=np.uint8))
    np.save(tmp_path / "classic.npy", np.zeros((4, 3, 64, 64), dtype=np.uint8))  # (T, N, H, W)
    export = tmp_path / "tiny.h5"
    from videomnist_gpu import VideoMNISTConfig
    from videomnist_gpu.hdf5.export import export_dataset

    export_dataset(export, VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32),
                   videos_per_digit=1, test_videos_per_digit=1, device="cpu", progress=False)
    data = {"VIDEOMNIST_DATA": str(tmp_path / "no-mnist")}
    first_measurement = (data, lambda line: line.startswith("ours_"))
    cases, outputs = [], []  # (argv, env, trigger, signal); the paths that must not exist afterwards
    for sig in SIGNALS:  # evaluate, stopped while it trains its classifier: no JSON, no cached classifier
        out, cache = tmp_path / f"eval-{sig.name}.json", tmp_path / f"cache-{sig.name}"
        env, trigger = _held("classifier_step_0")
        cases.append((["evaluate", str(tmp_path / "clips.npy"), "--config", "test", "--num_reference", "8",
                       "--device", "cpu", "--output_file", str(out), "--cache_dir", str(cache)],
                      {**env, **data}, trigger, sig))
        outputs.append([out, out.with_name(out.name + ".partial"), cache])
    for sig in SIGNALS:  # bench, after its first measurement line: no table file
        out = tmp_path / f"bench-{sig.name}.json"
        cases.append((["bench", "--quick", "--repeats", "1", "--threads", "1", "--device", "cpu", "--json", str(out)],
                      *first_measurement, sig))
        outputs.append([out, out.with_name(out.name + ".partial")])
    out = tmp_path / "vis-hdf5"  # visualize from a file, between two written samples
    cases.append((["visualize", "--hdf5_path", str(export), "--output_dir", str(out), "--num_samples", "3",
                   "--formats", "gif"], *_held("write_samples"), signal.SIGTERM))
    outputs.append([out])
    for sig in SIGNALS:  # import-moving-mnist, after its first block of clips
        out = tmp_path / f"imported-{sig.name}.h5"
        cases.append((["import-moving-mnist", str(tmp_path / "classic.npy"), "--output_file", str(out)],
                      *_held("import_block_0"), sig))
        outputs.append([out, out.with_name(out.name + ".partial")])
    for (code, seen), (argv, _, _, sig), paths in zip(_deliver_all(cli_child.context(), cases), cases, outputs):
        _one_error(code, [line for line in seen if not line.endswith(" clips/s")], sig)  # measurements
        assert not any("Traceback" in line for line in seen), (argv[0], seen)
        left = [p for p in paths if p.exists()]
        assert not left, f"{argv[0]} left {left}"
