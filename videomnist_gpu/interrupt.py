"""Ctrl-C and SIGTERM that always stop a command, cleanly, at a safe point.

A signal handler that raises can lose its exception: when the signal lands while Python runs a
weakref callback or a destructor, the exception is printed as "Exception ignored in ..." and the
program goes on (seen with `generate`: the export finished and exited 0). So the handlers
installed by `interruptible()` only *record* the signal; long-running work calls
`check_interrupt()` at safe points (between batches, before a final rename, between training
steps, between written samples), which raises `Interrupted` there. The command line maps it to
one line and exit code `128 + signal` (130 for Ctrl-C, 143 for SIGTERM).

A second signal while the first is still pending restores the default action, so a third one
ends a command that is stuck outside any safe point (at most a `.partial` file stays behind).

`removed_on_failure(path)` (defined in `videomnist_gpu.atomic_file`) is the other half: a
directory a command creates is removed again when the command fails or is interrupted.

Example:
    >>> with interruptible():
    ...     for batch in range(3):
    ...         check_interrupt()  # raises Interrupted here after Ctrl-C
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Iterator

from videomnist_gpu.atomic_file import removed_on_failure
from videomnist_gpu.errors import VideoMNISTError

__all__ = ["Interrupted", "interruptible", "check_interrupt", "removed_on_failure", "hold_for_test"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_pending: list[int] = []  # signals received and not yet raised, in arrival order
_installed = False
# Hidden test hook: the phase name at which `hold_for_test` waits for a signal (see there).
_HOLD_ENV = "VIDEOMNIST_TEST_HOLD"


class Interrupted(VideoMNISTError):
    """The command was stopped by a signal; `exit_code` is `128 + signum`."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = int(signum)
        self.exit_code = 128 + self.signum


def _record(signum: int, frame) -> None:
    """The handler: remember the signal, never raise (an exception here can be swallowed)."""
    if _pending:
        signal.signal(signum, signal.SIG_DFL)  # second signal: the next one acts at once
    _pending.append(signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Record SIGINT/SIGTERM while inside (main thread only; nesting is a no-op).

    On leaving, the previous handlers come back; a signal still pending is raised as `Interrupted`
    if the block ended normally, so a Ctrl-C is never lost.
    """
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    _pending.clear()
    previous = {sig: signal.signal(sig, _record) for sig in _SIGNALS}
    _installed = True
    try:
        yield
        check_interrupt()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _installed = False
        _pending.clear()


def check_interrupt() -> None:
    """Raise `Interrupted` if a signal arrived since the last check (a safe point; cheap, no sync)."""
    if _pending:
        signum = _pending[0]
        _pending.clear()
        raise Interrupted(f"interrupted by {signal.Signals(signum).name}", signum)


def hold_for_test(phase: str) -> None:
    """Test hook: when `VIDEOMNIST_TEST_HOLD` names `phase`, print `hold: PHASE` to stderr and
    wait (up to 60 s) until a signal arrives, so a test can deliver one at exactly this point.

    Does nothing otherwise (one environment lookup).
    """
    if os.environ.get(_HOLD_ENV) != phase:
        return
    os.write(2, f"hold: {phase}\n".encode())
    deadline = time.monotonic() + 60
    while not _pending and time.monotonic() < deadline:
        time.sleep(0.001)
