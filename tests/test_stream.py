"""VideoMNISTStream: batch contract, determinism over workers/batches/ranks, resume, devices."""

from __future__ import annotations

import itertools
import json
import pickle

import pytest
import torch
from torch.utils.data import DataLoader

from conftest import fake_cuda
from videomnist_gpu import Synthesizer, VideoMNISTConfig, VideoMNISTStream
from videomnist_gpu.data.stream import batch_from_clips, normalize_video

CONFIG = VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32)
KEYS = ("video", "label", "labels", "motion", "center", "position", "angle", "scale", "index")


@pytest.fixture(scope="module")
def reference():
    """Clips 0..63 of both splits, rendered in one call each: the single-process truth."""
    synth = Synthesizer(CONFIG, device="cpu")
    return {split: batch_from_clips(synth.render(torch.arange(64), split)) for split in ("train", "test")}


def _pull(stream, num_batches=None, num_workers=0):
    loader = DataLoader(stream, batch_size=None, num_workers=num_workers)
    return list(itertools.islice(loader, num_batches) if num_batches is not None else loader)


def _cat(batches):
    return {k: torch.cat([b[k] for b in batches]) for k in KEYS}


def _assert_equal(got, want):
    for k in KEYS:
        assert torch.equal(got[k], want[k]), k


def _sorted(batches):
    out = _cat(batches)
    order = out["index"].argsort()
    return {k: v[order] for k, v in out.items()}


def test_batch_contract(reference):
    stream = VideoMNISTStream(CONFIG, batch_size=5, device="cpu", channels=3)
    batch = next(iter(DataLoader(stream, batch_size=None)))
    assert set(batch) == set(KEYS)
    video = batch["video"]
    assert video.shape == (5, 3, 4, 32, 32) and video.dtype == torch.float32
    assert video.min() >= -0.5 and video.max() <= 0.5
    clips = Synthesizer(CONFIG, "cpu").render(torch.arange(5))
    assert torch.equal(video[:, 1], clips.video.float() / 255 - 0.5)
    assert video.stride(1) == 0  # channels are a view, not copies
    assert batch["label"].shape == (5,) and batch["label"].dtype == torch.int64
    assert torch.equal(batch["label"], batch["labels"][:, 0])
    assert batch["labels"].shape == (5, 1) and batch["position"].shape == (5, 4, 1, 2)
    assert batch["index"].tolist() == [0, 1, 2, 3, 4]
    single = next(iter(VideoMNISTStream(CONFIG, batch_size=5, device="cpu")))
    assert single["video"].shape == (5, 1, 4, 32, 32) and single["video"].is_contiguous()


@pytest.mark.parametrize("world_size", [1, 2, 4])
@pytest.mark.parametrize("batch_size", [1, 7, 32])
@pytest.mark.parametrize("num_workers", [0, 1, 2])
def test_determinism_matrix(reference, num_workers, batch_size, world_size):
    """All ranks' clips, sorted by index, equal one process rendering them in one call."""
    num_clips = 26  # partial last batches, and with batch 1 x 4 ranks two ranks with an empty share
    batches = []
    for rank in range(world_size):
        stream = VideoMNISTStream(CONFIG, batch_size, device="cpu", num_clips=num_clips,
                                  rank=rank, world_size=world_size)
        batches += _pull(stream, num_workers=num_workers)
    got = _sorted(batches)
    assert got["index"].tolist() == list(range(num_clips))
    _assert_equal(got, {k: v[:num_clips] for k, v in reference["train"].items()})


def test_infinite_stream_in_order_with_workers(reference):
    stream = VideoMNISTStream(CONFIG, batch_size=3, device="cpu")
    got = _cat(_pull(stream, num_batches=7, num_workers=2))
    _assert_equal(got, {k: v[:21] for k, v in reference["train"].items()})


def test_finite_test_stream_same_every_pass(reference):
    stream = VideoMNISTStream(CONFIG, batch_size=4, split="test", device="cpu", num_clips=10)
    first, second = _cat(_pull(stream)), _cat(_pull(stream))
    _assert_equal(first, second)
    _assert_equal(first, {k: v[:10] for k, v in reference["test"].items()})
    part = _pull(stream, num_batches=1)  # an abandoned pass does not shift the next one
    assert part[0]["index"].tolist() == [0, 1, 2, 3]
    _assert_equal(_cat(_pull(stream)), first)


@pytest.mark.parametrize("num_clips", [None, 23])
@pytest.mark.parametrize("interrupt_after", [0, 1, 10])
def test_resume_matrix(num_clips, interrupt_after):
    total = 12  # batches in the uninterrupted run (a whole pass when num_clips=23)
    def make():
        return VideoMNISTStream(CONFIG, batch_size=2, device="cpu", num_clips=num_clips)

    full = _cat(_pull(make(), num_batches=total))
    first = make()
    head = _pull(first, num_batches=interrupt_after)
    state = json.loads(json.dumps(first.state_dict()))
    assert state["clips_yielded"] == 2 * interrupt_after
    resumed = make()
    resumed.load_state_dict(state)
    tail = _pull(resumed, num_batches=total - interrupt_after)
    _assert_equal(_cat(head + tail), full)
    if num_clips is not None:  # the pass is complete: the next one starts again at clip 0
        assert resumed.state_dict()["clips_yielded"] == num_clips
        assert _pull(resumed, num_batches=1)[0]["index"].tolist() == [0, 1]


def test_resume_sharded_with_workers():
    """Workers count in their own copies: the consumer passes the batches it consumed."""
    def make(rank):
        return VideoMNISTStream(CONFIG, batch_size=3, device="cpu", rank=rank, world_size=2)

    full = [_cat(_pull(make(r), num_batches=6, num_workers=2)) for r in range(2)]
    for rank in range(2):
        first = make(rank)
        head = _pull(first, num_batches=4, num_workers=2)
        state = json.loads(json.dumps(first.state_dict(next_batch=4)))
        assert state["clips_yielded"] == 4 * 3 * 2
        resumed = make(rank)
        resumed.load_state_dict(state)
        _assert_equal(_cat(head + _pull(resumed, num_batches=2, num_workers=2)), full[rank])


@pytest.mark.parametrize("field, value", [
    ("format_version", 99), ("config_hash", "0" * 64), ("seed", 1), ("split", "test"),
    ("batch_size", 3), ("world_size", 2), ("num_clips", 100),
])
def test_mismatched_state_names_the_field(field, value):
    stream = VideoMNISTStream(CONFIG, batch_size=2, device="cpu")
    state = stream.state_dict()
    with pytest.raises(ValueError, match=f"^{field}:"):
        VideoMNISTStream(CONFIG, batch_size=2, device="cpu").load_state_dict({**state, field: value})
    missing = dict(state)
    del missing[field]
    with pytest.raises(ValueError, match=f"^{field}: missing"):
        stream.load_state_dict(missing)


def test_bad_positions_and_arguments():
    stream = VideoMNISTStream(CONFIG, batch_size=2, device="cpu")
    for bad in (3, -2, "4"):
        with pytest.raises(ValueError, match="^clips_yielded:"):
            stream.load_state_dict({**stream.state_dict(), "clips_yielded": bad})
    with pytest.raises(ValueError, match="^batch_size:"):
        VideoMNISTStream(CONFIG, batch_size=0)
    with pytest.raises(ValueError, match="^split:"):
        VideoMNISTStream(CONFIG, batch_size=1, split="val")
    with pytest.raises(ValueError, match="^rank:"):
        VideoMNISTStream(CONFIG, batch_size=1, rank=2, world_size=2)
    with pytest.raises(ValueError, match="^rank, world_size:"):
        VideoMNISTStream(CONFIG, batch_size=1, rank=0)


def test_rank_and_world_from_torch_distributed():
    import torch.distributed as dist

    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        stream = VideoMNISTStream(CONFIG, batch_size=2, device="cpu")
        assert (stream.rank, stream.world_size) == (0, 1)
        assert stream.state_dict()["world_size"] == 1
    finally:
        dist.destroy_process_group()


def test_cuda_stream_refuses_workers():
    with fake_cuda():  # a machine without CUDA refuses the device at construction
        stream = VideoMNISTStream(CONFIG, batch_size=2, device="cuda")  # touches no CUDA until iterated
    with pytest.raises(RuntimeError, match="num_workers=0"):
        next(iter(DataLoader(stream, batch_size=None, num_workers=1)))


def test_batch_on_fake_cuda_has_no_host_sync():
    cpu = Synthesizer(CONFIG, device="cpu")
    cpu.bank("train")
    with fake_cuda():
        stream = VideoMNISTStream(CONFIG, batch_size=4, device="cuda", channels=3)
    # The DataLoader draws its base seed with .item() when an iterator is made (once, on the CPU).
    batches = iter(DataLoader(stream, batch_size=None))
    with fake_cuda():
        stream.synthesizer.set_bank("train", cpu.bank("train"))
        batch = next(batches)  # renders on fake CUDA: any CPU tensor or host sync would raise
        for key in KEYS:
            assert batch[key].device.type == "cuda", key
        assert batch["video"].shape == (4, 3, 4, 32, 32) and batch["video"].dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_placement_and_equality_with_cpu():
    cuda = _cat(_pull(VideoMNISTStream(CONFIG, batch_size=8, device="cuda"), num_batches=2))
    cpu = _cat(_pull(VideoMNISTStream(CONFIG, batch_size=8, device="cpu"), num_batches=2))
    assert all(cuda[k].device.type == "cuda" for k in KEYS)
    for key in ("label", "labels", "motion", "index"):
        assert torch.equal(cuda[key].cpu(), cpu[key]), key
    torch.testing.assert_close(cuda["position"].cpu(), cpu["position"], rtol=0, atol=1e-4)
    assert (cuda["video"].cpu() - cpu["video"]).abs().max() <= 1 / 255 + 1e-6


def test_normalize_video_is_the_contract_on_every_path(device):
    u8 = torch.arange(256, dtype=torch.uint8)
    want = u8.float() / 255 - 0.5
    assert torch.equal(normalize_video(u8.to(device)).cpu(), want)
    out = torch.full((256,), 7.0, device=device)
    assert normalize_video(u8.to(device), out) is out and torch.equal(out.cpu(), want)
    # the one kernel used off the CPU computes the same float32 values
    assert torch.equal(torch.addcdiv(torch.tensor(-0.5), u8, torch.tensor(255.0)), want)


@pytest.mark.parametrize("channels", [1, 3])
def test_uint8_stream_equals_float_stream_after_normalization(reference, channels):
    raw = _pull(VideoMNISTStream(CONFIG, batch_size=5, device="cpu", channels=channels, output="uint8",
                                 num_clips=12))
    floats = _pull(VideoMNISTStream(CONFIG, batch_size=5, device="cpu", channels=channels, num_clips=12))
    for u8, f in zip(raw, floats, strict=True):
        assert u8["video"].dtype == torch.uint8 and u8["video"].shape == f["video"].shape
        assert torch.equal(normalize_video(u8["video"]), f["video"])
        for key in KEYS[1:]:
            assert torch.equal(u8[key], f[key]), key
    assert torch.equal(torch.cat([f["video"][:, 0] for f in floats]), reference["train"]["video"][:12, 0])
    with pytest.raises(ValueError, match="^output: unknown 'float16'. Valid: float32, uint8"):
        VideoMNISTStream(CONFIG, batch_size=1, output="float16")


@pytest.mark.parametrize("interrupt_after", [1, 3])
def test_uint8_stream_resumes_exactly(interrupt_after):
    def make():
        return VideoMNISTStream(CONFIG, batch_size=3, device="cpu", output="uint8")

    full = _cat(_pull(make(), num_batches=5))
    first = make()
    head = _pull(first, num_batches=interrupt_after)
    resumed = make()
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    _assert_equal(_cat(head + _pull(resumed, num_batches=5 - interrupt_after)), full)


def test_held_batches_are_never_overwritten(reference):
    """Reused float memory: held batches (tensors, views, numpy arrays) keep their values."""
    stream = VideoMNISTStream(CONFIG, batch_size=4, device="cpu")
    batches = iter(DataLoader(stream, batch_size=None))
    held = [next(batches) for _ in range(6)]  # more than the pool keeps
    view = next(batches)["video"][1:3]  # only a view of batch 6 stays alive
    array = next(batches)["video"].numpy()  # only a numpy array of batch 7
    for _ in range(6):
        next(batches)
    want = reference["train"]["video"]  # (64, 1, T, H, W)
    for i, batch in enumerate(held):
        assert torch.equal(batch["video"], want[4 * i:4 * i + 4]), i
    assert torch.equal(view, want[25:27])
    assert torch.equal(torch.from_numpy(array), want[28:32])


def test_released_batches_reuse_memory_without_growth():
    stream = VideoMNISTStream(CONFIG, batch_size=4, device="cpu")
    batches = iter(DataLoader(stream, batch_size=None))
    pointers = {next(batches)["video"].data_ptr() for _ in range(20)}  # each dropped before the next
    assert len(pointers) == 1
    assert len(stream._buffers) == 1


def test_a_stream_pickles_without_its_buffers_for_spawned_workers():
    stream = VideoMNISTStream(CONFIG, batch_size=4, device="cpu")
    next(iter(DataLoader(stream, batch_size=None)))  # the pools now hold buffers
    copy = pickle.loads(pickle.dumps(stream))  # what a spawned DataLoader worker receives
    assert len(stream._buffers) == 1 and len(copy._buffers) == 0 and len(copy.synthesizer._videos) == 0
    assert torch.equal(next(iter(DataLoader(copy, batch_size=None)))["video"],
                       next(iter(DataLoader(stream, batch_size=None)))["video"])


def test_uint8_batch_on_fake_cuda_and_its_normalization_on_the_device():
    from videomnist_gpu.data.datamodule import VideoMNISTDataModule

    cpu = Synthesizer(CONFIG, device="cpu")
    cpu.bank("train")
    with fake_cuda():
        stream = VideoMNISTStream(CONFIG, batch_size=4, device="cuda", output="uint8")
    batches = iter(DataLoader(stream, batch_size=None))
    dm = VideoMNISTDataModule(CONFIG, batch_size=4, output="uint8")
    host = next(iter(VideoMNISTStream(CONFIG, batch_size=4, device="cpu", channels=3, output="uint8")))
    with fake_cuda():
        stream.synthesizer._banks["train"] = cpu.bank("train").to("cuda")
        batch = next(batches)  # uint8, rendered on fake CUDA: a CPU tensor or host sync would raise
        assert batch["video"].device.type == "cuda" and batch["video"].dtype == torch.uint8
        moved = {k: v.to("cuda") for k, v in host.items()}  # a CPU uint8 batch sent to the device
        for b, channels in ((batch, 1), (moved, 3)):
            ready = dm.on_after_batch_transfer(b, 0)
            assert ready["video"].device.type == "cuda" and ready["video"].dtype == torch.float32
            assert ready["video"].shape == (4, channels, 4, 32, 32)
