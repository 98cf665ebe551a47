"""Progress that a person and a log file can both read: a bar on a terminal, a line every few seconds elsewhere.

A batch job (a scheduler writing stderr to a file) cannot show a progress bar: tqdm's carriage
returns turn into one enormous line, or, disabled, into minutes of silence. `progress_bar` gives
a tqdm bar when stderr is a terminal and otherwise a `ProgressLines`, which prints a plain line
every `interval` seconds:

    export: 3,072/12,000 clips (25.6%), 2,210 clips/s, 0:00:04 left

The clock is injectable, so the lines can be tested without waiting.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Callable

__all__ = ["progress_bar", "ProgressLines", "format_duration", "print_to_stderr", "LINE_INTERVAL_S"]

LINE_INTERVAL_S = 10.0  # seconds between two progress lines when no terminal shows a bar


def format_duration(seconds: float) -> str:
    """`H:MM:SS` (`0:00:04`, `27:46:40`), or `?` when unknown (infinite or NaN)."""
    if not math.isfinite(seconds):
        return "?"
    whole = max(0, int(round(seconds)))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def print_to_stderr(line: str) -> None:
    """Print one complete line on stderr, flushed (a log file sees it at once)."""
    print(line, file=sys.stderr, flush=True)


class ProgressLines:
    """Counts work done and prints `what: done/total unit (pct), rate unit/s, time left` every `interval` s.

    Used like a tqdm bar (`update(n)`, a context manager, `close()`). The rate is the average
    since the start; the time left assumes it holds.

    Args:
        total: units of work in all.
        what: the first word of each line (`export`, `write`).
        unit: what is counted, plural (`clips`).
        interval: seconds between two lines (none is printed before the first interval passes).
        write: called with each line (default: print to stderr).
        clock: seconds, monotonic (default `time.monotonic`).
    """

    def __init__(self, total: int, what: str, unit: str = "clips", interval: float = LINE_INTERVAL_S,
                 write: Callable[[str], None] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.what, self.unit, self.interval = total, what, unit, interval
        self.write = write if write is not None else print_to_stderr
        self.clock = clock
        self.done = 0
        self.start = self.last = clock()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            self.write(self.line(now))

    def line(self, now: float) -> str:
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else math.inf
        left = (self.total - self.done) / rate if rate > 0 else math.inf
        share = f" ({100 * self.done / self.total:.1f}%)" if self.total else ""
        return (f"{self.what}: {self.done:,}/{self.total:,} {self.unit}{share}, {rate:,.0f} {self.unit}/s, "
                f"{format_duration(left)} left")

    def close(self) -> None:
        pass  # nothing to clear: every line is already complete

    def __enter__(self) -> "ProgressLines":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(total: int, what: str, unit: str = "clips", enabled: bool | None = None,
                 interval: float | None = None):
    """A tqdm bar on stderr, or `ProgressLines` when stderr is not a terminal.

    Args:
        total: units of work in all.
        what: the bar's description and the lines' first word.
        unit: what is counted, plural.
        enabled: True: a bar even without a terminal; False: nothing; None (default): a bar on
            a terminal, else a line every `interval` seconds.
        interval: seconds between two lines (default `LINE_INTERVAL_S`).
    """
    from tqdm import tqdm

    if enabled is None and not sys.stderr.isatty():
        return ProgressLines(total, what, unit, LINE_INTERVAL_S if interval is None else interval)
    singular = unit[:-1] if unit.endswith("s") else unit  # tqdm shows "clip/s"
    return tqdm(total=total, unit=singular, desc=what, disable=enabled is False, dynamic_ncols=True,
                smoothing=0.1)
