"""Reused CPU memory: returned videos never alias later calls, reuse changes no pixel, memory stays bounded."""
import threading

import pytest
import torch

from videomnist_gpu import Synthesizer, VideoMNISTConfig
from videomnist_gpu.errors import UsageError
from videomnist_gpu.synth import cpu_buffers
from videomnist_gpu.synth.cpu_buffers import OutputPool, scratch
from videomnist_gpu.synth.synthesizer import render_from_params

CONFIG = VideoMNISTConfig(digits="mnist-5k", sequence_length=4)
B = Synthesizer(CONFIG, device="cpu").preferred_batch_size + 6  # two slices: a whole one and a short one


def test_held_batches_views_and_arrays_never_change():
    synth = Synthesizer(CONFIG, device="cpu")
    held, copies = [], []
    for i in range(4):
        video = synth.render(torch.arange(i * B, (i + 1) * B)).video  # (B, T, H, W)
        kept = [video, video[3:9], video.numpy(), video[1].numpy(), video.view(-1)[100:]]
        held.append(kept[1:] if i % 2 else kept)  # odd rounds keep only views and arrays
        copies.append([torch.as_tensor(k).clone() for k in held[-1]])
        del video, kept
    other = Synthesizer(CONFIG, device="cpu")  # its pool holds nothing else
    storage_only = other.render(torch.arange(B)).video.untyped_storage()  # only its storage survives
    storage_copy = torch.empty(0, dtype=torch.uint8).set_(storage_only).clone()  # the temporary tensor dies here
    for i in range(8):  # more calls, same shapes: any recycled held buffer would be overwritten
        for s in (synth, other):
            s.render(torch.arange(100 * B + i * B, 100 * B + (i + 1) * B))
    for kept, copy in zip(held, copies):
        for k, c in zip(kept, copy):
            assert torch.equal(torch.as_tensor(k), c)
    assert torch.equal(torch.empty(0, dtype=torch.uint8).set_(storage_only), storage_copy)


def test_reuse_changes_no_pixel_and_actually_reuses():
    synth = Synthesizer(CONFIG, device="cpu")
    bank = synth.bank("train")
    ptrs = set()
    for i in range(4):
        indices = torch.arange(i * B, (i + 1) * B)
        clips = synth.render(indices)
        ptrs.add(clips.video.data_ptr())
        fresh = render_from_params(CONFIG, bank, synth.params(indices))  # no pool, no slices
        assert torch.equal(clips.video, fresh)
        del clips  # nothing references the buffer: the next call may recycle it
    assert len(ptrs) == 1  # every call after the first reused the first call's buffer


def test_memory_stays_bounded_and_shared_buffers_are_dropped():
    pool = OutputPool(max_buffers=3, max_bytes=10_000)
    held = [pool.empty((10, 100), torch.uint8) for _ in range(5)]  # all in use: at most 3 pooled
    assert len(pool) == 3 and pool.nbytes <= 10_000
    del held
    for n in (10, 20, 30, 40, 10, 20, 30, 40) * 10:  # many sizes, nothing held
        pool.empty((n, 100), torch.uint8)
    assert len(pool) <= 3 and pool.nbytes <= 10_000
    a = pool.empty((40, 100), torch.uint8)
    a.share_memory_()  # what a DataLoader worker does, in place, to a batch it sends
    del a  # the worker lets go; the main process may still read the shared memory
    assert not pool.empty((40, 100), torch.uint8).is_shared()  # never recycled
    assert all(not b.is_shared() for b in pool._buffers)


def test_pool_is_thread_safe():
    pool = OutputPool(max_buffers=4)
    errors = []

    def work(value):
        for _ in range(200):
            t = pool.empty((64,), torch.uint8)
            t.fill_(value)
            if not bool((t == value).all()):
                errors.append(value)

    threads = [threading.Thread(target=work, args=(v,)) for v in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_scratch_is_reused_per_name_and_thread():
    a = scratch("test.a", (4, 8), torch.float32, torch.device("cpu"))
    b = scratch("test.a", (2, 8), torch.int16, torch.device("cpu"))
    c = scratch("test.c", (4, 8), torch.float32, torch.device("cpu"))
    assert a.data_ptr() == b.data_ptr() and a.data_ptr() != c.data_ptr()
    assert b.shape == (2, 8) and b.dtype == torch.int16 and b.is_contiguous()
    other = []
    t = threading.Thread(target=lambda: other.append(scratch("test.a", (4, 8), torch.float32,
                                                             torch.device("cpu")).data_ptr()))
    t.start()
    t.join()
    assert other[0] != a.data_ptr()


def test_zeroed_scratch_keeps_zeros_per_shape_and_the_cache_stays_bounded(monkeypatch):
    cpu = torch.device("cpu")
    a = scratch("test.z", (3, 5), torch.uint8, cpu, zeroed=True)
    assert not a.any()
    a[0, 1] = 7  # the caller's slot
    again = scratch("test.z", (3, 5), torch.uint8, cpu, zeroed=True)
    assert again.data_ptr() == a.data_ptr() and again[0, 1] == 7 and again.sum() == 7
    other = scratch("test.z", (5, 3), torch.uint8, cpu, zeroed=True)  # another layout: its own zeros
    assert other.data_ptr() != a.data_ptr() and not other.any()
    monkeypatch.setattr(cpu_buffers, "MAX_SCRATCH_BYTES", 1000)
    big = scratch("test.big", (2000,), torch.uint8, cpu)  # beyond the bound: fresh, not cached
    assert scratch("test.big", (2000,), torch.uint8, cpu).data_ptr() != big.data_ptr()
    for i in range(10):
        scratch(f"test.n{i}", (300,), torch.uint8, cpu)
    assert sum(b.numel() for b in cpu_buffers._CACHE.buffers.values()) <= 1000


def test_render_threads_policy_restores_torch_threads_and_changes_no_pixel():
    before = torch.get_num_threads()
    indices = torch.arange(10)
    one = Synthesizer(CONFIG, device="cpu").render(indices).video.clone()
    two = Synthesizer(CONFIG, device="cpu", threads=2).render(indices).video
    assert torch.equal(one, two) and torch.get_num_threads() == before
    with pytest.raises(UsageError, match="threads"):
        Synthesizer(CONFIG, device="cpu", threads=0)


def test_preferred_batch_size_is_the_export_default():
    from videomnist_gpu.hdf5.export import default_batch_size

    from torch._subclasses.fake_tensor import FakeTensorMode

    for config in (CONFIG, VideoMNISTConfig(digits="mnist-5k", rotation_range=10.0), VideoMNISTConfig(image_size=128)):
        assert Synthesizer(config, device="cpu").preferred_batch_size == default_batch_size("cpu", config) >= 1
        with FakeTensorMode(allow_non_fake_inputs=True):  # a CUDA synthesizer without a GPU
            assert Synthesizer(config, device="cuda").preferred_batch_size == default_batch_size("cuda", config) >= 1
