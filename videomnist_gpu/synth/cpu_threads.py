"""How many threads the render's torch operations use on a CPU: one, unless asked otherwise.

A render is a few hundred torch operations, most of them small. torch splits every operation
over its intra-op (OpenMP) threads, one per core by default, and an operation ends only when its
slowest thread does: on a machine where another process keeps one of the cores busy, every
operation waits for the thread that shares that core, and the render collapses (measured on 2
cores with one busy: rotation/scale 0.43x of a single thread, and 0.06x on a busier machine),
while one thread keeps the speed of the free core. So the render runs its own operations on
`DEFAULT_RENDER_THREADS` thread(s), whatever ``torch.get_num_threads()`` says, and restores that
setting afterwards; `Synthesizer(threads=N)` asks for N. For more throughput on an idle
many-core machine, render in several processes (DataLoader workers), which share nothing.

    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with render_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from videomnist_gpu.errors import check_int

__all__ = ["DEFAULT_RENDER_THREADS", "check_threads", "render_threads"]

DEFAULT_RENDER_THREADS = 1


def check_threads(threads: int | None) -> int:
    """The intra-op thread count a CPU render uses: `threads`, or `DEFAULT_RENDER_THREADS` for None.

    Raises:
        UsageError: `threads` is not None or an integer >= 1.
    """
    if threads is None:
        return DEFAULT_RENDER_THREADS
    return check_int("threads", threads, minimum=1)


@contextlib.contextmanager
def render_threads(threads: int) -> Iterator[None]:
    """Run the block's torch CPU operations on `threads` intra-op threads; restore the count after."""
    previous = torch.get_num_threads()
    if previous == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
