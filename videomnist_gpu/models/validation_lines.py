"""One plain line per validation, for training runs whose stderr is a log file, not a terminal.

Lightning's progress bar needs a terminal; without one a run would be silent for many minutes.
`ValidationLines` prints, after each validation, the step, every logged loss and validation
score, the steps per second since the previous line, and the time left to `max_steps`:

    step 500/8000: train/loss 0.0312, val/loss 0.0297, val/psnr 21.4; 3.1 steps/s, 0:40:19 left
"""

from __future__ import annotations

import math
import time
from typing import Callable

import lightning.pytorch as pl

from videomnist_gpu.progress import format_duration, print_to_stderr

__all__ = ["ValidationLines"]


class ValidationLines(pl.Callback):
    """Prints one line after each validation (on rank 0 only).

    Args:
        max_steps: the run's last step, for the time left.
        write: called with each line (default: print to stderr).
        clock: seconds, monotonic (default `time.monotonic`).
    """

    def __init__(self, max_steps: int, write: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_steps = max_steps
        self.write = write if write is not None else print_to_stderr
        self.clock = clock
        self._since: tuple[int, float] | None = None  # (step, time) of the previous line or the start

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._since = (trainer.global_step, self.clock())  # a resumed run starts past 0

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or self._since is None:
            return
        step, now = trainer.global_step, self.clock()
        last_step, last_time = self._since
        self._since = (step, now)
        rate = (step - last_step) / (now - last_time) if now > last_time else math.inf
        left = (self.max_steps - step) / rate if rate > 0 else math.inf
        self.write(f"step {step}/{self.max_steps}: {self.scores(trainer)}; {rate:.3g} steps/s, "
                   f"{format_duration(left)} left")

    @staticmethod
    def scores(trainer: pl.Trainer) -> str:
        """Every scalar the model logged, training values first, as `name value` pairs."""
        values = {name: float(value) for name, value in trainer.callback_metrics.items() if value.numel() == 1}
        names = sorted(values, key=lambda name: (not name.startswith("train"), name))
        return ", ".join(f"{name} {values[name]:.4g}" for name in names) or "no scores logged"
