"""Annotations (masks, boxes, visibility, flow, depth) and the `over` composite, on mnist-5k digits."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import fake_cuda
from videomnist_gpu import Synthesizer, UsageError, VideoMNISTConfig, VideoMNISTStream
from videomnist_gpu.synth.annotations import annotate
from videomnist_gpu.synth.ground_truth import ANNOTATION_NAMES, FIELDS, field_shape
from videomnist_gpu.synth.params import ClipParams, draw_depth
from videomnist_gpu.synth.render import render_reference
from videomnist_gpu.synth.render_fast import render_fast
from videomnist_gpu.synth.synthesizer import render_from_params

ALL = ANNOTATION_NAMES
MOTIONS = ("bounce", "circular", "linear", "spiral")
CONFIGS = {  # three digits overlap often; every composite, with and without rotation and scale
    "max": VideoMNISTConfig(digits="mnist-5k", num_digits=3, sequence_length=6, motion_types=MOTIONS),
    "sum": VideoMNISTConfig(digits="mnist-5k", num_digits=3, sequence_length=6, composite="sum",
                            rotation_range=30.0, scale_range=(0.8, 1.2)),
    "over": VideoMNISTConfig(digits="mnist-5k", num_digits=3, sequence_length=6, composite="over",
                             rotation_range=30.0, scale_range=(0.8, 1.2)),
    "over_integer": VideoMNISTConfig(digits="mnist-5k", num_digits=2, sequence_length=6, composite="over",
                                     placement="integer"),
    "one_digit": VideoMNISTConfig(digits="mnist-5k", sequence_length=6),
}


def digit_layers(synth, clips):
    """Each digit rendered alone, as the render's own kernels draw it: uint8 (B, K, T, H, W)."""
    p = synth.params(clips.index)
    alone = []
    for k in range(synth.config.num_digits):
        one = ClipParams(p.index, p.digit[:, k:k + 1], p.label[:, k:k + 1], p.motion, p.center[:, :, k:k + 1],
                         p.angle[:, :, k:k + 1], p.scale[:, :, k:k + 1])
        alone.append(render_from_params(synth.config, synth.bank("train"), one))  # (B, T, H, W)
    return torch.stack(alone, dim=1)


def numpy_box(pixels):
    """COCO box of the True pixels of one (H, W) array, (0, 0, 0, 0) when none, by np.nonzero."""
    ys, xs = np.nonzero(pixels)
    if len(xs) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_masks_boxes_and_visibility_agree_with_the_pixels(name):
    config = CONFIGS[name]
    synth = Synthesizer(config, device="cpu")
    clips = synth.render(torch.arange(24), annotations=ALL)
    layers = digit_layers(synth, clips)  # (B, K, T, H, W)
    video, mask, K = clips.video, clips.instance_mask, config.num_digits
    assert torch.equal(mask == 0, video == 0)  # background exactly where the video is 0
    depth = clips.depth
    if config.composite == "over":
        assert torch.equal(depth, draw_depth(config, clips.index, "train"))
        assert torch.equal(depth.sort(dim=1).values, torch.arange(K).expand(24, K))
    else:
        assert not depth.any()
    for k in range(K):
        owned = mask == k + 1  # (B, T, H, W)
        mine = layers[:, k]  # (B, T, H, W)
        assert bool((mine[owned] > 0).all())  # every owned pixel has ink of its owner
        others = torch.cat([layers[:, :k], layers[:, k + 1:]], dim=1)  # (B, K-1, T, H, W)
        if config.composite == "over":  # the front-most digit with ink shows, and owns the pixel
            assert torch.equal(video[owned], mine[owned])
            in_front = (depth[:, None, :] < depth[:, k, None, None]).squeeze(1)  # (B, K): j in front of k
            for j in range(K):
                hides = in_front[:, j][:, None, None, None] & (layers[:, j] > 0)  # (B, T, H, W)
                assert not bool((owned & hides).any())
        elif config.composite == "max":
            assert torch.equal(video[owned], mine[owned])
        else:  # sum: the owner added the most
            assert bool((mine[owned][None] >= others.transpose(0, 1)[:, owned]).all())
        if K > 1 and config.composite != "over":  # ties go to the lower index
            earlier = layers[:, :k].amax(dim=1) if k else torch.zeros_like(mine)
            assert not bool((owned & (earlier >= mine)).any())
    # semantic mask: class + 1 of the owner
    label = torch.cat([torch.zeros(24, 1, dtype=torch.int64), clips.label + 1], dim=1)  # (B, K+1)
    want = torch.gather(label, 1, mask.flatten(1).long()).view_as(mask).to(torch.uint8)
    assert torch.equal(clips.semantic_mask, want)
    # boxes: the tight box of the mask, amodal boxes of the whole ink (checked with np.nonzero)
    for b in range(0, 24, 5):
        for t in range(config.sequence_length):
            for k in range(K):
                assert clips.boxes[b, t, k].tolist() == numpy_box((mask[b, t] == k + 1).numpy())
                assert clips.amodal_boxes[b, t, k].tolist() == numpy_box((layers[b, k, t] > 0).numpy())
    # visibility: the fraction of the digit's ink on its own pixels; 1 when it overlaps nothing
    vis = clips.visibility
    assert bool(((vis >= 0) & (vis <= 1)).all())
    ink = layers.sum(dim=(3, 4)).transpose(1, 2).double()  # (B, T, K)
    kept = torch.stack([(layers[:, k] * (mask == k + 1)).sum(dim=(2, 3)) for k in range(K)], dim=2).double()
    assert torch.allclose(vis.double(), kept / ink, atol=1e-6)
    alone = torch.stack([((layers[:, k] > 0) & (torch.cat([layers[:, :k], layers[:, k + 1:]], 1) > 0).any(1))
                         .flatten(2).any(2) == 0 for k in range(K)], dim=2)  # (B, T, K): shares no pixel
    assert bool((vis[alone] == 1).all())
    if K == 1:
        assert bool(alone.all())
    else:
        assert bool((vis < 1).any())  # overlaps happen in these clips, so the test saw them


def test_over_matches_the_reference_and_hides_what_is_behind():
    gen = torch.Generator().manual_seed(0)
    sprites = torch.randint(0, 256, (8, 3, 28, 28), generator=gen, dtype=torch.uint8)  # (B, K, S, S)
    centers = torch.rand(8, 4, 3, 2, generator=gen) * 20 + 22  # (B, T, K, 2): overlapping
    angle, scale = torch.rand(8, 4, 3, generator=gen) - 0.5, torch.rand(8, 4, 3, generator=gen) * 0.4 + 0.8
    depth = torch.stack([torch.randperm(3, generator=gen) for _ in range(8)])  # (B, K)
    ref = render_reference(sprites, centers, angle, scale, 64, "over", depth)
    out = render_fast(sprites, centers, angle, scale, 64, False, max_scale=1.2, max_angle=0.5, composite="over",
                      depth=depth)
    assert int((out.int() - ref.int()).abs().max()) <= 1

    # a filled square in front of a digit at the same place hides it completely
    digit = Synthesizer(CONFIGS["one_digit"], device="cpu").bank("train").images[0]  # (S, S)
    square = torch.full_like(digit, 200)
    sprites = torch.stack([square, digit])[None]  # (1, 2, S, S)
    centers = torch.tensor([32.0, 30.0]).expand(1, 3, 2, 2).clone()  # (1, T, K, 2): both at one place
    centers[:, :, 0] += torch.tensor([0.0, 1.0, 2.0])[:, None]  # the square moves, still covering the digit
    p = ClipParams(torch.zeros(1, dtype=torch.int64), torch.zeros(1, 2, dtype=torch.int64),
                   torch.tensor([[3, 7]]), torch.zeros(1, dtype=torch.int64), centers,
                   torch.zeros(1, 3, 2), torch.ones(1, 3, 2))
    for order, hidden in (([0, 1], 1), ([1, 0], None)):
        depth = torch.tensor([order])
        layers = torch.empty(1, 2, 3, 64, 64, dtype=torch.uint8)
        video = render_fast(sprites, centers, None, None, 64, True, composite="over", depth=depth, layers=layers)
        out = {n: torch.empty(field_shape(n, 1, 3, 2, 64), dtype=FIELDS[n].dtype) for n in ALL}
        annotate(ALL, layers, p, depth, "over", out, affine=False)
        if hidden == 1:  # the square is in front: the digit owns nothing, its box is empty
            assert torch.equal(video, layers[:, 0])
            assert bool((out["visibility"][0, :, 1] == 0).all())
            assert bool((out["boxes"][0, :, 1] == 0).all())
            assert bool((out["amodal_boxes"][0, :, 1, 2:] > 0).all())  # though it is there
            assert set(out["semantic_mask"].unique().tolist()) == {0, 4}
        else:  # the digit is in front: all of it shows, the square around it
            assert bool((out["visibility"][0, :, 1] == 1).all())
            assert torch.equal(out["boxes"][0, :, 1], out["amodal_boxes"][0, :, 1])


def warp_back(frames, flow):
    """Frame t+1 sampled (bilinear) at each pixel centre of frame t moved by the flow: (N, T-1, H, W)."""
    n, t1, _, H, W = flow.shape
    ys, xs = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    gx = (xs + flow[:, :, 0]) * (2 / W) - 1  # (N, T-1, H, W), align_corners=False
    gy = (ys + flow[:, :, 1]) * (2 / H) - 1
    grid = torch.stack([gx, gy], dim=-1).reshape(n * t1, H, W, 2)
    nxt = frames[:, 1:].reshape(n * t1, 1, H, W).float()
    return F.grid_sample(nxt, grid, mode="bilinear", padding_mode="zeros", align_corners=False).view(n, t1, H, W)


@pytest.mark.parametrize("kind, changes", [
    ("translation", {}),
    ("rotation", {"rotation_range": 60.0}),
    ("scale", {"scale_range": (0.8, 1.25)}),
    ("all", {"rotation_range": 45.0, "scale_range": (0.9, 1.2), "num_digits": 2, "composite": "over"}),
])
def test_flow_warps_the_next_frame_back_onto_this_one(kind, changes):
    config = VideoMNISTConfig(digits="mnist-5k", sequence_length=8, motion_types=MOTIONS, **changes)
    synth = Synthesizer(config, device="cpu")
    clips = synth.render(torch.arange(32), annotations=("flow", "instance_mask", "visibility"))
    video, flow, mask = clips.video.float(), clips.flow, clips.instance_mask
    assert not bool(flow[(mask[:, :-1] == 0)[:, :, None].expand_as(flow)].any())  # 0 on the background
    # pixels of digits that nothing covers in frame t nor t+1: the flow must carry them over
    clear = (clips.visibility[:, :-1] == 1) & (clips.visibility[:, 1:] == 1)  # (B, T-1, K)
    owned = torch.zeros_like(mask[:, :-1], dtype=torch.bool)  # (B, T-1, H, W)
    for k in range(config.num_digits):
        owned |= (mask[:, :-1] == k + 1) & clear[:, :, k, None, None]
    assert int(owned.sum()) > 5_000
    this = video[:, :-1]

    def error(f):  # mean grey-level difference on those pixels
        return float((warp_back(video, f) - this).abs()[owned].mean())

    # Tolerance: the flow leaves under 20% of zero flow's error (measured 12-13%: bilinear
    # resampling of the rendered frame is what remains), and under half the error of the flow
    # moved by half a pixel in any direction (measured 35-40%): no other flow nearby does better.
    got, zero = error(flow), error(torch.zeros_like(flow))
    assert got < 0.2 * zero, (got, zero)
    inked = (mask[:, :-1] > 0)[:, :, None]  # (B, T-1, 1, H, W)
    for shift in ([0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.0, -0.5]):
        moved = error(flow + torch.tensor(shift)[:, None, None] * inked)
        assert got < 0.5 * moved, (shift, got, moved)
    if kind == "translation":  # the displacement of the centre, on every owned pixel
        step = (clips.center[:, 1:] - clips.center[:, :-1])[:, :, 0]  # (B, T-1, 2)
        want = step[..., None, None] * (mask[:, :-1] > 0)[:, :, None]  # (B, T-1, 2, H, W)
        assert torch.equal(flow, want)


def test_annotations_do_not_depend_on_the_batch():
    config = CONFIGS["over"].replace(motion_types=MOTIONS)
    synth = Synthesizer(config, device="cpu")
    whole = synth.render(torch.arange(20), annotations=ALL)
    pieces = [synth.render(torch.arange(a, b), annotations=ALL) for a, b in ((0, 1), (1, 8), (8, 20))]
    for name in ALL:
        assert torch.equal(torch.cat([getattr(p, name) for p in pieces]), getattr(whole, name)), name
    assert torch.equal(torch.cat([p.video for p in pieces]), whole.video)
    plain = synth.render(torch.arange(20))  # asking for annotations changes no pixel
    assert torch.equal(plain.video, whole.video) and plain.instance_mask is None
    empty = synth.render(torch.arange(0), annotations=ALL)
    assert all(getattr(empty, name).shape == field_shape(name, 0, 6, 3, 64) for name in ALL)


def test_the_centre_is_where_the_digit_turns_and_the_new_counter_moves_nothing():
    config = VideoMNISTConfig(digits="mnist-5k", rotation_range=40.0, scale_range=(0.8, 1.2))
    clips = Synthesizer(config, device="cpu").render(torch.arange(50), annotations=("amodal_boxes",))
    half = config.digit_size * clips.scale[..., None] / 2
    assert torch.equal(clips.position, clips.center - half)
    box = clips.amodal_boxes  # (B, T, K, 4)
    middle = box[..., :2] + box[..., 2:] / 2  # (B, T, K, 2)
    assert float((middle - clips.center).abs().mean()) < 2.0  # the ink is around the centre
    # `over` draws a depth order from a counter of its own: every other parameter is unchanged
    over = Synthesizer(config.replace(composite="over", num_digits=2), device="cpu").params(torch.arange(50))
    plain = Synthesizer(config.replace(num_digits=2), device="cpu").params(torch.arange(50))
    for name in ("digit", "label", "motion", "center", "angle", "scale"):
        assert torch.equal(getattr(over, name), getattr(plain, name)), name


def test_stream_batches_carry_the_ground_truth_and_the_annotations_asked_for():
    config = CONFIGS["over"]
    stream = VideoMNISTStream(config, batch_size=3, device="cpu", annotations=("boxes", "flow"), num_clips=3)
    batch = next(iter(stream))
    clips = Synthesizer(config, device="cpu").render(torch.arange(3), annotations=("boxes", "flow"))
    assert batch["video"].shape == (3, 1, 6, 64, 64) and batch["label"].shape == (3,)
    for name in ("labels", "motion", "center", "position", "angle", "scale", "index", "boxes", "flow"):
        want = clips.label if name == "labels" else getattr(clips, name)
        assert torch.equal(batch[name], want), name
    assert "instance_mask" not in batch and "depth" not in batch
    plain = next(iter(VideoMNISTStream(config, batch_size=3, device="cpu")))
    assert set(batch) - set(plain) == {"boxes", "flow"}


def test_annotations_on_fake_cuda_stay_on_the_device():
    config = CONFIGS["over"]
    cpu = Synthesizer(config, device="cpu")
    cpu.bank("train")
    with fake_cuda():
        gpu = Synthesizer(config, device="cuda")
        gpu.set_bank("train", cpu.bank("train"))
        clips = gpu.render(torch.arange(4, device="cuda"), annotations=ALL)
        for name in ALL:
            value = getattr(clips, name)
            assert value.device.type == "cuda" and value.dtype == FIELDS[name].dtype, name
            assert tuple(value.shape) == field_shape(name, 4, 6, 3, 64), name
        stream = VideoMNISTStream(config, batch_size=2, device="cuda", annotations=("instance_mask", "flow"))
        stream.synthesizer.set_bank("train", cpu.bank("train"))
        batch = next(iter(stream))
        assert batch["flow"].device.type == "cuda" and batch["instance_mask"].device.type == "cuda"


def test_bad_annotation_requests_are_one_line():
    message = f"annotations: unknown 'mask'. Valid: {', '.join(ALL)}"
    synth = Synthesizer(CONFIGS["one_digit"], device="cpu")
    for make in (lambda: synth.render([0], annotations=("boxes", "mask")),
                 lambda: VideoMNISTStream(CONFIGS["one_digit"], 2, device="cpu", annotations=["mask"])):
        with pytest.raises(UsageError) as err:
            make()
        assert str(err.value) == message
    with pytest.raises(UsageError, match="^annotations: expected names, got int"):
        synth.render([0], annotations=3)
    assert synth.render([0], annotations="depth").depth.shape == (1, 1)  # one name as a string
    assert math.isclose(float(synth.render([0], annotations=("visibility",)).visibility.min()), 1.0)


def test_datamodule_streams_the_annotations_asked_for():
    from videomnist_gpu import VideoMNISTDataModule

    dm = VideoMNISTDataModule({"digits": "mnist-5k"}, sequence_length=4, resolution=32, batch_size=2,
                              annotations=["visibility"])
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    assert batch["visibility"].shape == (2, 4, 1) and dm.hparams["annotations"] == ["visibility"]
    with pytest.raises(UsageError, match="^annotations: unknown 'box'"):
        VideoMNISTDataModule(annotations=["box"])


# ---------------------------------------------------------------------- files
FILE_ANNOTATIONS = ("instance_mask", "boxes", "flow", "depth")
FILE_FLAGS = ["--digits", "mnist-5k", "--sequence_length", "4", "--image_size", "32", "--num_digits", "2",
              "--composite", "over", "--videos_per_digit", "2", "--test_videos_per_digit", "1", "--device", "cpu"]


@pytest.fixture(scope="module")
def annotated(tmp_path_factory):
    path = tmp_path_factory.mktemp("annotated") / "clips.h5"
    from videomnist_gpu.cli import main

    assert main(["generate", "--output_file", str(path), *FILE_FLAGS, "--annotations", *FILE_ANNOTATIONS]) == 0
    return path


def test_export_stores_the_annotations_one_clip_per_chunk_and_the_reader_returns_them(annotated):
    import h5py

    from videomnist_gpu import HDF5VideoDataset

    config = VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32, num_digits=2, composite="over")
    clips = Synthesizer(config, device="cpu").render(torch.arange(20), annotations=FILE_ANNOTATIONS)
    with h5py.File(annotated, "r") as f:
        assert list(f.attrs["annotations"]) == list(FILE_ANNOTATIONS)
        for name in FILE_ANNOTATIONS:
            ds = f[f"train_{name}"]
            assert ds.compression == "gzip" and ds.fletcher32
            assert np.array_equal(ds[()], getattr(clips, name).numpy()), name
        assert f["train_instance_mask"].chunks == (1, 4, 32, 32) and f["train_flow"].chunks == (1, 3, 2, 32, 32)
        assert np.array_equal(f["train_center"][()], clips.center.numpy())
    items = HDF5VideoDataset(annotated, 3, resolution=32, ground_truth=True)
    item = items[5]  # clip 2, frames 1..3
    assert items.window(5) == (2, 1)
    assert torch.equal(item["instance_mask"], clips.instance_mask[2, 1:4])
    assert torch.equal(item["flow"], clips.flow[2, 1:3])
    assert torch.equal(item["boxes"], clips.boxes[2, 1:4]) and torch.equal(item["depth"], clips.depth[2])
    assert torch.equal(item["center"], clips.center[2, 1:4]) and torch.equal(item["labels"], clips.label[2])
    assert int(item["index"]) == 2 and item["video"].shape == (1, 3, 32, 32)
    only = HDF5VideoDataset(annotated, 4, resolution=32, train=False, ground_truth=["depth"])[0]
    assert set(only) == {"video", "label", "depth"}
    with pytest.raises(UsageError, match="^ground_truth: .* holds no 'visibility' for the train split. It holds: "):
        HDF5VideoDataset(annotated, 4, resolution=32, ground_truth=["visibility"])


def test_verify_re_renders_the_annotations_and_catches_a_changed_one(annotated, tmp_path, capsys):
    import shutil

    import h5py

    from videomnist_gpu.cli import main

    assert main(["verify", str(annotated), "--device", "cpu"]) == 0
    assert "annotations too" in capsys.readouterr().out
    changed = tmp_path / "changed.h5"
    shutil.copy(annotated, changed)
    with h5py.File(changed, "r+") as f:
        mask = f["train_instance_mask"][3]
        mask[0, 0, 0] = 2
        f["train_instance_mask"][3] = mask
    assert main(["verify", str(changed), "--device", "cpu"]) == 1
    assert "train clip 3: instance_mask differs from a re-render in 1 of 4096 values" in capsys.readouterr().err


def test_an_unknown_annotation_on_the_command_line_is_one_line_and_writes_nothing(tmp_path, capsys):
    from videomnist_gpu.cli import main

    path = tmp_path / "x.h5"
    assert main(["generate", "--output_file", str(path), *FILE_FLAGS, "--annotations", "boxes", "mask"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: annotations: unknown 'mask'. Valid: {', '.join(ALL)}"]
    assert list(tmp_path.iterdir()) == []


def test_overlays_show_boxes_masks_and_flow_in_a_gif(tmp_path):
    from PIL import Image

    from videomnist_gpu.viz.overlays import flow_to_rgb, mask_to_rgb, save_overlay

    clips = Synthesizer(CONFIGS["over"], device="cpu").render(torch.arange(2), annotations=("boxes", "instance_mask",
                                                                                             "flow"))
    path = save_overlay(clips, tmp_path / "clip.gif", index=1, scale=2)
    with Image.open(path) as gif:
        assert gif.n_frames == 6 and gif.size == (3 * 128 + 2 * 2, 128)
    assert mask_to_rgb(clips.instance_mask[1, 0])[clips.instance_mask[1, 0].numpy() == 0].max() == 0
    right = torch.zeros(2, 1, 1)
    right[0] = 1.0
    assert flow_to_rgb(right).tolist() == [[[255, 0, 0]]]  # right is red at full length
    with pytest.raises(UsageError, match="^annotations: overlays need"):
        save_overlay(Synthesizer(CONFIGS["over"], device="cpu").render([0]), tmp_path / "x.gif")


@pytest.mark.parametrize("shape", [(2, 3, 64, 64), (2, 5, 7, 16), (3, 9, 24), (2, 33, 40), (4, 12, 20)])
def test_row_and_column_hits_on_words_equal_the_per_byte_reductions(shape):
    """Every bit of every byte alone, and random pixels, at word-aligned widths (multiples of 8,
    odd heights included) and others (the per-byte path); a sliced, non-contiguous input too."""
    from videomnist_gpu.synth.annotations import _hits

    g = torch.Generator().manual_seed(1)
    single = torch.zeros(8 * shape[-1], *shape[-2:], dtype=torch.uint8)  # one set bit per frame
    for i in range(single.shape[0]):
        single[i, i % shape[-2], i // 8] = 1 << (i % 8)
    dense = (torch.rand(shape, generator=g) < 0.05).to(torch.uint8) * torch.randint(1, 256, shape, generator=g,
                                                                                     dtype=torch.uint8)
    for pixels in (single, dense, dense[..., ::2, :], torch.zeros(shape, dtype=torch.uint8)):
        columns, rows = _hits(pixels)
        assert torch.equal(columns, pixels.amax(dim=-2) > 0) and torch.equal(rows, pixels.amax(dim=-1) > 0)


@pytest.mark.parametrize("shape", [(2, 3, 64, 64), (2, 3, 32, 32), (1, 2, 128, 128), (2, 3, 24, 24)])
def test_frame_sums_on_words_equal_torch_sum(shape):
    """Full frames of 255 (the largest lane sums), random frames, one digit's slice of the layers
    (strided), and a size that takes torch.sum."""
    from videomnist_gpu.synth.annotations import _frame_sums

    g = torch.Generator().manual_seed(2)
    layers = torch.randint(0, 256, (shape[0], 3, *shape[1:]), generator=g, dtype=torch.uint8)  # (B, K, T, H, W)
    for pixels in (torch.full(shape, 255, dtype=torch.uint8), layers[:, 0], layers[:, 2], layers[:, 1] // 7):
        assert torch.equal(_frame_sums(pixels).to(torch.int64), pixels.sum(dim=(-2, -1)))
