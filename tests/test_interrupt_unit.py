"""The signal mechanism itself, in-process: record in the handler, raise at a safe point."""

from __future__ import annotations

import gc
import signal
import weakref

import pytest

from videomnist_gpu.interrupt import Interrupted, check_interrupt, interruptible, removed_on_failure


class _Thing:
    pass


def test_a_signal_landing_in_a_weakref_callback_is_not_lost():
    """The observed bug: an exception raised by the handler inside a weakref callback is discarded
    ("Exception ignored in ..."). Recorded instead, it is raised at the next safe point."""
    thing = _Thing()
    with pytest.raises(Interrupted) as caught:
        with interruptible():
            ref = weakref.ref(thing, lambda _: signal.raise_signal(signal.SIGINT))  # noqa: F841
            del thing
            gc.collect()
            check_interrupt()
    assert caught.value.exit_code == 130 and "SIGINT" in str(caught.value)


def test_a_signal_after_the_last_safe_point_is_raised_on_leaving():
    with pytest.raises(Interrupted) as caught:
        with interruptible():
            signal.raise_signal(signal.SIGTERM)
    assert caught.value.exit_code == 143


def test_handlers_are_restored_and_nesting_is_harmless():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with interruptible():
        with interruptible():
            check_interrupt()  # nothing pending: no-op
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_removed_on_failure_takes_back_only_what_it_created(tmp_path):
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    with pytest.raises(RuntimeError):
        with removed_on_failure(existing, tmp_path / "new" / "deeper"):
            (tmp_path / "new" / "deeper").mkdir(parents=True)
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"] and (existing / "keep.txt").exists()
    with pytest.raises(RuntimeError):
        with removed_on_failure(tmp_path / "run", keep=lambda: True):
            (tmp_path / "run").mkdir()
            raise RuntimeError("boom")
    assert (tmp_path / "run").is_dir()
