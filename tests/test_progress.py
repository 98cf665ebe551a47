"""Progress for log files: lines every few seconds (a clock that the test moves), one line per validation."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from videomnist_gpu import progress
from videomnist_gpu.cli import main
from videomnist_gpu.models.validation_lines import ValidationLines
from videomnist_gpu.progress import ProgressLines, format_duration, progress_bar


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_come_every_interval_with_rate_and_time_left():
    clock, lines = Clock(), []
    progress = ProgressLines(1000, "export", "clips", interval=5.0, write=lines.append, clock=clock)
    clock.now += 2
    progress.update(100)  # 2 s in: before the first interval, no line
    assert lines == []
    clock.now += 3
    progress.update(150)  # 5 s in: 250 clips, 50 clips/s, 750 left -> 15 s
    assert lines == ["export: 250/1,000 clips (25.0%), 50 clips/s, 0:00:15 left"]
    clock.now += 4
    progress.update(50)  # 4 s after the line: none
    clock.now += 1
    progress.update(0)  # 5 s after it: 300 clips in 10 s
    assert lines[1:] == ["export: 300/1,000 clips (30.0%), 30 clips/s, 0:00:23 left"]


def test_durations_read_as_hours_minutes_seconds():
    assert [format_duration(s) for s in (0, 4.4, 61, 100_000, float("inf"))] == \
        ["0:00:00", "0:00:04", "0:01:01", "27:46:40", "?"]


def test_without_a_terminal_the_bar_is_lines(capsys):  # capsys: stderr is not a terminal
    assert isinstance(progress_bar(10, "export"), ProgressLines)
    with progress_bar(10, "export", enabled=False) as bar:
        assert not isinstance(bar, ProgressLines)


def test_generate_without_a_terminal_prints_progress_lines(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(progress, "LINE_INTERVAL_S", 0.0)  # a line at every written batch
    assert main(["generate", "--config", "test", "--digits", "mnist-5k", "--videos_per_digit", "2",
                 "--test_videos_per_digit", "1", "--batch_size", "10", "--device", "cpu",
                 "--output_file", str(tmp_path / "d.h5")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("export: ")]
    assert [line.split()[1] for line in lines] == ["10/30", "20/30", "30/30"]
    assert all(" clips/s, " in line and line.endswith(" left") for line in lines)


def test_validation_lines_report_step_scores_rate_and_time_left():
    clock, lines = Clock(), []
    callback = ValidationLines(max_steps=1000, write=lines.append, clock=clock)
    trainer = SimpleNamespace(global_step=200, sanity_checking=False, is_global_zero=True, callback_metrics={})
    callback.on_train_start(trainer, None)  # resumed at step 200
    trainer.global_step, clock.now = 300, clock.now + 50  # 100 steps in 50 s
    trainer.callback_metrics = {"val/loss": torch.tensor(0.25), "train/loss": torch.tensor(0.5),
                                "val/per_frame": torch.zeros(3)}  # not a scalar: left out
    callback.on_validation_end(trainer, None)
    assert lines == ["step 300/1000: train/loss 0.5, val/loss 0.25; 2 steps/s, 0:05:50 left"]
    trainer.sanity_checking = True
    callback.on_validation_end(trainer, None)
    trainer.sanity_checking, trainer.is_global_zero = False, False  # other ranks stay quiet
    callback.on_validation_end(trainer, None)
    assert len(lines) == 1
