"""The partition of clips over ranks and workers: exhaustive over small sizes, pure integers."""

from __future__ import annotations

import itertools

import pytest

from videomnist_gpu.data.partition import clip_ranges, num_global_batches, rank_batch_range, worker_batch_numbers


def _dataloader_order(num_clips, batch_size, rank, world_size, num_workers, start_batch=0):
    """What DataLoader(batch_size=None) yields: workers' batches read round-robin."""
    per_worker = [list(clip_ranges(num_clips, batch_size, rank, world_size, w, num_workers, start_batch))
                  for w in range(max(num_workers, 1))]
    out = []
    for row in itertools.zip_longest(*per_worker):
        out.extend(r for r in row if r is not None)
    return out


@pytest.mark.parametrize("num_clips", [0, 1, 103, 1000])
@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_every_clip_exactly_once(num_clips, batch_size):
    for world_size in range(1, 9):
        reference = list(range(num_clips))
        for num_workers in range(0, 5):
            seen = []
            steps = []
            for rank in range(world_size):
                order = _dataloader_order(num_clips, batch_size, rank, world_size, num_workers)
                # The DataLoader's interleaving reproduces the single-worker order exactly.
                assert order == _dataloader_order(num_clips, batch_size, rank, world_size, 0)
                assert [b for b, _, _ in order] == sorted(b for b, _, _ in order)
                for _, lo, hi in order:
                    assert 0 < hi - lo <= batch_size
                    seen.extend(range(lo, hi))
                steps.append(len(order))
            assert sorted(seen) == reference, (world_size, num_workers)
            # Every rank runs the same number of steps unless the last batch has fewer clips than ranks.
            if num_clips % (batch_size * world_size) == 0 or num_clips % (batch_size * world_size) >= world_size:
                assert len(set(steps)) <= 1


@pytest.mark.parametrize("world_size", [1, 2, 3, 8])
@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_global_batch_is_the_single_process_batch(world_size, batch_size):
    """Step g on all ranks together = batch g of one process with batch_size * world_size."""
    for num_clips in (None, 103, 1000):
        batches = num_global_batches(num_clips, batch_size, world_size)
        for g in range(batches if batches is not None else 20):
            parts = [rank_batch_range(g, batch_size, r, world_size, num_clips) for r in range(world_size)]
            assert all(parts[i][1] == parts[i + 1][0] for i in range(world_size - 1))  # contiguous, in rank order
            single = rank_batch_range(g, batch_size * world_size, 0, 1, num_clips)
            assert (parts[0][0], parts[-1][1]) == single
            sizes = [hi - lo for lo, hi in parts]
            if sum(sizes) == batch_size * world_size:
                assert sizes == [batch_size] * world_size
            else:  # the last, partial batch: balanced
                assert max(sizes) - min(sizes) <= 1


def test_infinite_prefix_and_resume_start():
    """After n steps the ranks have seen exactly clips 0 .. n*G-1; resuming at batch s skips s*G."""
    B, W = 7, 3
    for num_workers in (0, 1, 2, 4):
        for start in (0, 1, 10):
            seen = []
            for rank in range(W):
                for w in range(max(num_workers, 1)):
                    for _, lo, hi in itertools.islice(clip_ranges(None, B, rank, W, w, num_workers, start), 5):
                        seen.extend(range(lo, hi))
            n = 5 * max(num_workers, 1)
            assert sorted(seen) == list(range(start * B * W, (start + n) * B * W))


def test_worker_batches_round_robin_from_start():
    assert list(worker_batch_numbers(0, 0, 0, 4)) == [0, 1, 2, 3]
    assert list(worker_batch_numbers(5, 2, 3, 14)) == [7, 10, 13]
    assert list(itertools.islice(worker_batch_numbers(2, 1, 2), 3)) == [3, 5, 7]


def test_num_global_batches():
    assert num_global_batches(0, 7, 2) == 0
    assert num_global_batches(14, 7, 2) == 1
    assert num_global_batches(15, 7, 2) == 2
    assert num_global_batches(None, 7, 2) is None


@pytest.mark.parametrize("kwargs, name", [
    (dict(batch=0, batch_size=0, rank=0, world_size=1), "batch_size"),
    (dict(batch=0, batch_size=1, rank=2, world_size=2), "rank"),
    (dict(batch=0, batch_size=1, rank=0, world_size=0), "world_size"),
    (dict(batch=-1, batch_size=1, rank=0, world_size=1), "batch"),
    (dict(batch=3, batch_size=4, rank=0, world_size=1, num_clips=12), "batch"),
])
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        rank_batch_range(**kwargs)
    with pytest.raises(ValueError, match="^worker_id:"):
        worker_batch_numbers(0, 2, 2)
