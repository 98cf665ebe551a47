"""Which clips each rank and each DataLoader worker renders: pure functions of integers.

The stream is the sequence of clip indices 0, 1, 2, ... (``num_clips`` of them when finite, else
forever), cut into *global batches* of ``batch_size * world_size`` clips. ``batch_size`` is the
per-rank batch (what one ``training_step`` sees, as in Lightning and VideoGPT).

Convention:
    Global batch ``g`` holds clips ``[g * G, (g + 1) * G)`` with ``G = batch_size * world_size``.
    Rank ``r`` takes the contiguous slice ``[g * G + r * batch_size, g * G + (r + 1) * batch_size)``,
    so after ``n`` steps the ranks together have seen exactly clips ``0 .. n * G - 1``: the same
    clips as one process with ``batch_size * world_size`` (batch for batch), or with
    ``batch_size`` over ``n * world_size`` steps, whatever the world size.
    A finite stream's last global batch may be partial (``R < G`` clips): it is split into
    contiguous slices whose sizes differ by at most one (rank ``r`` gets ``R // W + (r < R % W)``),
    so no clip is duplicated or dropped. A rank whose share is empty (only when ``R < W``) yields
    no batch for it; pick ``num_clips`` divisible by the world size to keep step counts equal.
    DataLoader workers split a rank's batches round-robin counted from where the pass starts:
    worker ``w`` of ``n`` takes batches ``start + w, start + w + n, ...``. The DataLoader reads
    its workers in that same order, so its output equals the ``num_workers=0`` order exactly.

Example:
    >>> rank_batch_range(batch=1, batch_size=4, rank=1, world_size=2)
    (12, 16)
    >>> [rank_batch_range(2, 4, r, 2, num_clips=19) for r in range(2)]
    [(16, 18), (18, 19)]
    >>> list(worker_batch_numbers(start_batch=3, worker_id=1, num_workers=2, stop_batch=9))
    [4, 6, 8]
"""

from __future__ import annotations

import itertools
from typing import Iterable, Iterator

from videomnist_gpu.errors import check_int

__all__ = ["num_global_batches", "rank_batch_range", "worker_batch_numbers", "clip_ranges"]


def num_global_batches(num_clips: int | None, batch_size: int, world_size: int = 1) -> int | None:
    """Global batches in one pass over ``num_clips`` clips (``None``: infinite stream).

    >>> num_global_batches(103, 7, 2), num_global_batches(None, 7, 2)
    (8, None)
    """
    check_int("batch_size", batch_size, 1)
    check_int("world_size", world_size, 1)
    if num_clips is None:
        return None
    check_int("num_clips", num_clips, 0)
    global_batch = batch_size * world_size
    return -(-num_clips // global_batch)


def rank_batch_range(batch: int, batch_size: int, rank: int, world_size: int,
                     num_clips: int | None = None) -> tuple[int, int]:
    """Clip indices ``[start, stop)`` of rank ``rank`` in global batch ``batch``.

    Args:
        batch: global batch number (0-based), the same on every rank.
        batch_size: clips per rank per full batch.
        rank, world_size: this process and the number of processes.
        num_clips: length of a finite stream; ``None`` for infinite.

    Returns:
        ``(start, stop)``; ``start == stop`` when this rank's share is empty.
    """
    check_int("batch", batch, 0)
    check_int("batch_size", batch_size, 1)
    check_int("world_size", world_size, 1)
    check_int("rank", rank, 0)
    if rank >= world_size:
        raise ValueError(f"rank: must be within 0..{world_size - 1} for world_size {world_size}, got {rank}")
    global_batch = batch_size * world_size
    first = batch * global_batch
    if num_clips is None or first + global_batch <= num_clips:
        start = first + rank * batch_size
        return start, start + batch_size
    check_int("num_clips", num_clips, 0)
    if first >= num_clips:
        raise ValueError(f"batch: a stream of {num_clips} clips has "
                         f"{num_global_batches(num_clips, batch_size, world_size)} batches, got batch {batch}")
    share, extra = divmod(num_clips - first, world_size)
    start = first + rank * share + min(rank, extra)
    return start, start + share + (rank < extra)


def worker_batch_numbers(start_batch: int, worker_id: int, num_workers: int,
                         stop_batch: int | None = None) -> Iterable[int]:
    """Global batch numbers that worker ``worker_id`` of ``num_workers`` renders, in order.

    ``num_workers=0`` (no DataLoader workers) is the same as one worker. ``stop_batch=None``
    gives an endless iterator.
    """
    check_int("start_batch", start_batch, 0)
    num_workers = max(num_workers, 1)
    check_int("worker_id", worker_id, 0)
    if worker_id >= num_workers:
        raise ValueError(f"worker_id: must be within 0..{num_workers - 1}, got {worker_id}")
    if stop_batch is None:
        return itertools.count(start_batch + worker_id, num_workers)
    return range(start_batch + worker_id, stop_batch, num_workers)


def clip_ranges(num_clips: int | None, batch_size: int, rank: int = 0, world_size: int = 1,
                worker_id: int = 0, num_workers: int = 0, start_batch: int = 0
                ) -> Iterator[tuple[int, int, int]]:
    """``(batch, start, stop)`` for every non-empty batch one worker of one rank yields, in order.

    This is the whole partition in one call: the stream iterates exactly this.
    """
    stop_batch = num_global_batches(num_clips, batch_size, world_size)
    for batch in worker_batch_numbers(start_batch, worker_id, num_workers, stop_batch):
        start, stop = rank_batch_range(batch, batch_size, rank, world_size, num_clips)
        if stop > start:
            yield batch, start, stop
