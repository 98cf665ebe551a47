"""Visualization and statistics: every output is decoded and compared with its source."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from videomnist_gpu.viz import visualize as V
from videomnist_gpu.viz.stats import StatsAccumulator, dataset_stats, format_stats

MOTIONS = ("bounce", "circular", "linear")
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")])]


def moving_squares(b: int = 2, t: int = 5, h: int = 16, w: int = 16, size: int = 4) -> np.ndarray:
    """`(B, T, H, W)` uint8: clip i shows a square of value 255 - 20 i moving one pixel per frame."""
    v = np.zeros((b, t, h, w), np.uint8)
    for i in range(b):
        for f in range(t):
            y, x = 2 + f % (h - size - 2), 2 + (f + i) % (w - size - 2)
            v[i, f, y : y + size, x : x + size] = 255 - 20 * i
            v[i, f, h - 1, w - 1] = 10 * f  # a frame counter in the corner
    return v


def up(x: np.ndarray, k: int) -> np.ndarray:
    return x.repeat(k, axis=-2).repeat(k, axis=-1)


def read_gif(path: Path) -> tuple[np.ndarray, list[int], dict]:
    """Frames `(T, H, W)` as gray, per-frame durations (ms) and the first frame's info."""
    with Image.open(path) as im:
        assert im.format == "GIF"
        info = dict(im.info)
        frames, durations = [], []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("L")))
            durations.append(im.info["duration"])
    return np.stack(frames), durations, info


def read_mp4(path: Path) -> tuple[np.ndarray, dict]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        meta = {"codec": stream.codec_context.name, "pix_fmt": stream.codec_context.pix_fmt, "rate": stream.average_rate}
        frames = [f.to_ndarray(format="gray") for f in container.decode(stream)]
    return np.stack(frames), meta


def no_partials(root: Path) -> bool:
    return not list(root.rglob("*.partial"))


def one_line_error(excinfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg and msg
    return msg


# --------------------------------------------------------------------------- to_uint8_video


@pytest.mark.parametrize("device", DEVICES)
def test_to_uint8_video_layouts(device):
    v = moving_squares(3, 4)
    u8 = torch.from_numpy(v).to(device)
    assert np.array_equal(V.to_uint8_video(u8), v)
    assert np.array_equal(V.to_uint8_video(u8[1]), v[1:2])  # (T, H, W) -> (1, T, H, W)
    model = u8.float()[:, None] / 255 - 0.5  # (B, 1, T, H, W) as the stream makes it
    out = V.to_uint8_video(model)
    assert out.dtype == np.uint8 and out.shape == v.shape and np.array_equal(out, v)
    assert np.array_equal(V.to_uint8_video(model.expand(-1, 3, -1, -1, -1)), v)  # replicated C=3
    mixed = torch.stack([model[:, 0] - 0.5, model[:, 0] + 0.5, model[:, 0]], dim=1)  # channel mean = model
    assert np.array_equal(V.to_uint8_video(mixed), v)
    assert np.array_equal(V.to_uint8_video(v), v)  # numpy in
    assert V.to_uint8_video(torch.full((1, 1, 1, 2, 2), 3.0)).max() == 255  # clamped
    assert V.to_uint8_video(torch.full((1, 1, 1, 2, 2), float("nan"))).max() == 0


@pytest.mark.parametrize(
    "bad, words",
    [
        (torch.zeros(2, 3, dtype=torch.uint8), "uint8 video must be (T, H, W) or (B, T, H, W)"),
        (torch.zeros(2, 2, 4, 8, 8), "C = 1 or 3"),
        (torch.zeros(2, 4, 8, 8), "float video must be (B, C, T, H, W)"),
        (torch.zeros(2, 4, 8, 8, dtype=torch.int32), "dtype must be uint8 or float"),
        ([[1, 2]], "torch tensor or numpy array"),
    ],
)
def test_to_uint8_video_rejects(bad, words):
    with pytest.raises(ValueError) as excinfo:
        V.to_uint8_video(bad)
    assert words in one_line_error(excinfo)


# --------------------------------------------------------------------------- GIF


@pytest.mark.parametrize("fps, ms", [(10, 100), (4, 250), (15, 70)])
def test_gif_frames_durations_loop_pixels(tmp_path, fps, ms):
    v = moving_squares(1, 6, 12, 16)[0]  # (T, H, W)
    path = V.save_gif(v, tmp_path / "a.gif", fps=fps, scale=3)
    frames, durations, info = read_gif(path)
    assert path == tmp_path / "a.gif"
    assert frames.shape == (6, 36, 48)
    assert np.array_equal(frames, up(v, 3))
    assert durations == [ms] * 6
    assert info["loop"] == 0  # forever
    assert no_partials(tmp_path)


def test_gif_auto_scale_and_float_input(tmp_path):
    v = moving_squares(1, 3, 64, 64)  # (1, T, 64, 64)
    model = torch.from_numpy(v).float()[:, None] / 255 - 0.5  # (1, 1, T, H, W)
    frames, _, _ = read_gif(V.save_gif(model, tmp_path / "a.gif"))
    assert frames.shape == (3, 256, 256)  # 64 px -> 256 px by default
    assert np.array_equal(frames, up(v[0], 4))


def test_gif_identical_frames_keep_total_duration(tmp_path):
    v = np.repeat(moving_squares(1, 1)[0], 4, axis=0)  # (4, H, W), all frames equal
    frames, durations, _ = read_gif(V.save_gif(v, tmp_path / "still.gif", fps=10, scale=1))
    assert sum(durations) == 400 and np.array_equal(frames[0], v[0])


# --------------------------------------------------------------------------- MP4


def test_mp4_decodes_to_source(tmp_path):
    v = moving_squares(1, 7, 16, 20)[0]  # (T, H, W)
    path = V.save_mp4(v, tmp_path / "a.mp4", fps=10, scale=3)
    frames, meta = read_mp4(path)
    assert meta["codec"] == "h264" and meta["pix_fmt"] == "yuv420p" and meta["rate"] == 10
    assert frames.shape == (7, 48, 60)
    assert np.abs(frames.astype(np.int16) - up(v, 3)).mean() < 8
    assert no_partials(tmp_path)


def test_mp4_odd_size_padded_even_and_auto_scale(tmp_path):
    v = moving_squares(1, 4, 15, 21)[0]  # odd sides
    frames, _ = read_mp4(V.save_mp4(v, tmp_path / "odd.mp4", scale=1))
    assert frames.shape == (4, 16, 22)
    assert np.abs(frames[:, :15, :21].astype(np.int16) - v).mean() < 8
    frames, _ = read_mp4(V.save_mp4(torch.from_numpy(moving_squares(1, 2, 64, 64)), tmp_path / "auto.mp4"))
    assert frames.shape == (2, 256, 256)


# --------------------------------------------------------------------------- grids


def test_grid_png_sizes_and_tiles(tmp_path):
    v = moving_squares(3, 5, 8, 10)  # (B, T, H, W)
    with Image.open(V.save_grid_png(v, tmp_path / "all.png", scale=2)) as im:
        assert im.size == (5 * 20 + 4 * 2, 3 * 16 + 2 * 2) and im.mode == "L"
        a = np.asarray(im)
    assert np.array_equal(a[18 : 18 + 16, 2 * 22 : 2 * 22 + 20], up(v[1, 2], 2))  # clip 1, frame 2
    assert (a[16:18] == V.SEPARATOR_VALUE).all()
    with Image.open(V.save_grid_png(v, tmp_path / "fl.png", frames="first_last", scale=1)) as im:
        assert im.size == (2 * 10 + 2, 3 * 8 + 2 * 2)
        assert np.array_equal(np.asarray(im)[:8, 12:], v[0, -1])
    with Image.open(V.save_grid_png(v, tmp_path / "auto.png", frames=[0, -1])) as im:
        assert im.size == (2 * 25 * 10 + 2, 3 * 25 * 8 + 2 * 2)  # 10 px -> 250 px per tile


@pytest.mark.parametrize("fmt", ["gif", "mp4"])
def test_video_grid(tmp_path, fmt):
    v = moving_squares(5, 4, 8, 8)
    path = V.save_video_grid(torch.from_numpy(v), tmp_path / f"grid.{fmt}", fmt=fmt, ncol=3, scale=2)
    frames = read_gif(path)[0] if fmt == "gif" else read_mp4(path)[0]
    assert frames.shape == (4, 2 * 16 + 2, 3 * 16 + 2 * 2)
    if fmt == "gif":
        assert np.array_equal(frames[:, 18:, 18:34], up(v[4], 2))  # row 1, column 1
        assert (frames[:, 18:, 36:] == 0).all()  # empty cell stays black
    else:
        assert np.abs(frames[:, 18:, 18:34].astype(np.int16) - up(v[4], 2)).mean() < 8
    assert no_partials(tmp_path)


def test_save_videos_dispatch_by_suffix(tmp_path):
    v = moving_squares(2, 3, 8, 8)
    assert read_gif(V.save_videos(v, tmp_path / "s.gif", scale=1))[0].shape == (3, 8, 8 * 2 + 2)
    assert read_mp4(V.save_videos(v, tmp_path / "s.mp4", scale=1))[0].shape == (3, 8, 18)
    with Image.open(V.save_videos(v, tmp_path / "s.png", scale=1)) as im:
        assert im.size == (3 * 8 + 4, 2 * 8 + 2)


# --------------------------------------------------------------------------- montage, comparison


def test_montage_png_size(tmp_path):
    v = moving_squares(7, 4, 16, 16)
    path = V.save_montage(v, np.arange(7) % 10, np.arange(7) % 3, MOTIONS, tmp_path / "m" / "videomnist_montage.png", ncol=5, dpi=50)
    fig_w, fig_h = 2 * 0.1 + 5 * 2.05 + 4 * 0.25, 0.35 + 2 * 1.45 + 0.1  # inches, see save_montage
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert abs(im.size[0] - fig_w * 50) <= 1 and abs(im.size[1] - fig_h * 50) <= 1
    assert no_partials(tmp_path)


def test_class_comparison_gif(tmp_path):
    v = moving_squares(3, 4, 8, 8)
    path = V.save_class_comparison(v, ["bounce", "circular", "linear"], tmp_path / "cmp.gif", fps=5, scale=4)
    frames, durations, _ = read_gif(path)
    hp = V.HEADER_PX
    assert frames.shape == (4, hp + 32, 3 * 32 + 2 * 2) and durations == [200] * 4
    assert (frames[:, :hp, :32] > 128).any()  # a label is drawn in each header cell
    assert (frames[:, :hp, 34:66] > 128).any() and (frames[:, :hp, 68:] > 128).any()
    for i in range(3):
        assert np.array_equal(frames[:, hp:, i * 34 : i * 34 + 32], up(v[i], 4))


# --------------------------------------------------------------------------- stats


def violations(v: np.ndarray, m: int) -> np.ndarray:
    """`(B, T)` bool: the frame has ink in its outer band of m pixels (computed the plain way)."""
    band = np.ones(v.shape[-2:], bool)
    band[m : v.shape[-2] - m, m : v.shape[-1] - m] = False
    return ((v > 0) & band).any(axis=(2, 3))


def test_stats_equal_numpy_and_incremental():
    h = w = 16
    v = np.zeros((6, 5, h, w), np.uint8)
    for f in range(5):
        v[:, f, 5 + f % 2 : 9 + f % 3, 6:11] = np.arange(6, dtype=np.uint8)[:, None, None] * 40 + 50  # inside the margin
    v[2, 3, 0, 7] = 77  # ink on the top row: violates any margin
    v[4, :, :, :] = 0  # clip 4 is empty
    v[5, 1, 8, 2] = 3  # ink 2 px from the left border: violates margin 5, not margin 2
    labels = np.array([0, 1, 1, 9, 3, 3])
    motions = np.array([0, 2, 2, 1, 0, 0])
    nz = (v > 0).sum(axis=(2, 3))  # (B, T)
    m = 5
    viol = violations(v, m)  # (B, T)
    assert viol.sum() == 2 and viol[2, 3] and viol[5, 1] and violations(v, 2).sum() == 1

    whole = dataset_stats(v, labels, motions, motion_names=MOTIONS, margin=m, fps=10, digit_source="test", digit_fingerprint="f00")
    acc = StatsAccumulator(MOTIONS, margin=m)
    for lo in range(0, 6, 4):  # chunks of 4 and 2, as a file streamed in pieces
        acc.update(torch.from_numpy(v[lo : lo + 4]), torch.from_numpy(labels[lo : lo + 4]), motions[lo : lo + 4])
    chunked = acc.result(fps=10, digit_source="test", digit_fingerprint="f00")
    batches = dataset_stats(
        ((v[i : i + 1], labels[i : i + 1], motions[i : i + 1]) for i in range(6)),
        motion_names=MOTIONS, margin=m, fps=10, digit_source="test", digit_fingerprint="f00",
    )
    assert whole == chunked == batches
    s = whole
    assert s["num_videos"] == 6 and s["num_frames"] == 30 and s["sequence_length"] == 5 and s["resolution"] == [h, w]
    assert s["class_counts"] == {c: int((labels == c).sum()) for c in range(10)}
    assert s["motion_counts"] == {name: int((motions == i).sum()) for i, name in enumerate(MOTIONS)}
    assert s["nonzero_pixels_per_frame"] == {"min": int(nz.min()), "mean": float(nz.mean()), "max": int(nz.max())}
    assert s["margin_violation_frames"] == int(viol.sum()) and s["margin_violation_frames"] > 0
    assert s["margin_violation_videos"] == int(viol.any(axis=1).sum())
    assert s["empty_frames"] == int((nz == 0).sum()) == 5
    assert (s["value_min"], s["value_max"]) == (int(v.min()), int(v.max()))
    assert (s["fps"], s["digit_source"], s["digit_fingerprint"]) == (10, "test", "f00")
    assert dataset_stats(v, labels, motions, motion_names=MOTIONS, margin=2)["margin_violation_frames"] == violations(v, 2).sum()

    text = format_stats(s)
    assert f"non-zero pixels per frame: min {nz.min()}, mean {nz.mean():.1f}, max {nz.max()}" in text
    assert f"frames with ink within 5 px of the border: {viol.sum()} of 30" in text
    assert "  linear: 2" in text and "  9: 1" in text and "digit fingerprint (sha256): f00" in text


def test_stats_two_digits_per_clip_and_errors():
    v = moving_squares(2, 3)
    s = dataset_stats(v, np.array([[1, 2], [2, 2]]), None)
    assert s["class_counts"][2] == 3 and s["digits_per_clip"] == 2 and s["clips_without_motion"] == 2
    with pytest.raises(ValueError) as excinfo:
        dataset_stats(v, np.array([0, 10]))
    assert "labels must lie in 0..9" in one_line_error(excinfo)
    with pytest.raises(ValueError) as excinfo:
        dataset_stats(v, np.array([0, 1]), np.array([0, 3]), motion_names=MOTIONS)
    assert "bounce, circular, linear" in one_line_error(excinfo)
    acc = StatsAccumulator()
    acc.update(v, np.array([0, 1]))
    with pytest.raises(ValueError) as excinfo:
        acc.update(moving_squares(1, 4), np.array([0]))
    assert "differ from earlier batches" in one_line_error(excinfo)


# --------------------------------------------------------------------------- write_samples


def test_write_samples_folder(tmp_path):
    n = 8
    v = moving_squares(n, 4, 16, 16)
    labels = np.array([3, 3, 3, 5, 5, 7, 3, 5])
    motions = np.array([0, 0, 1, 2, 2, 0, 2, 1])
    out = tmp_path / "samples"
    paths = V.write_samples(
        torch.from_numpy(v), labels, motions, MOTIONS, out, formats=("gif", "mp4"), fps=10, num_samples=5,
        create_comparison=True, num_per_class=3, stats=dataset_stats(v, labels, motions, motion_names=MOTIONS), scale=2,
    )
    names = sorted(str(p.relative_to(out)) for p in paths)
    picked = [0, 3, 5, 1, 4]  # round-robin over classes 3, 5, 7, then 3, 5
    expected = [f"digit_{labels[i]}_video_{j:03d}.{f}" for j, i in enumerate(picked) for f in ("gif", "mp4")]
    expected += ["videomnist_montage.png", "dataset_stats.txt"]
    expected += [f"class_comparisons/digit_{c}_comparison.gif" for c in (3, 5, 7)]
    assert names == sorted(expected)
    assert all(p.is_file() for p in paths) and no_partials(out)
    for j, i in enumerate(picked):
        frames, durations, _ = read_gif(out / f"digit_{labels[i]}_video_{j:03d}.gif")
        assert np.array_equal(frames, up(v[i], 2)) and durations == [100] * 4
        assert read_mp4(out / f"digit_{labels[i]}_video_{j:03d}.mp4")[0].shape == (4, 32, 32)
    frames, _, _ = read_gif(out / "class_comparisons" / "digit_3_comparison.gif")
    assert frames.shape == (4, V.HEADER_PX + 32, 3 * 32 + 4)
    tiles = [frames[:, V.HEADER_PX :, k * 34 : k * 34 + 32] for k in range(3)]
    assert [next(i for i in range(n) if np.array_equal(t, up(v[i], 2))) for t in tiles] == [0, 2, 6]  # bounce, circular, linear
    text = (out / "dataset_stats.txt").read_text()
    assert text.startswith("VideoMNIST dataset statistics") and "videos: 8" in text

    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    with pytest.raises(ValueError) as excinfo:
        V.write_samples(v, labels, motions, MOTIONS, out, formats=("gif",), num_samples=1)
    assert "exists; pass --overwrite (overwrite=True)" in one_line_error(excinfo)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # nothing touched
    again = V.write_samples(v, labels, None, MOTIONS, out, formats=(), num_samples=2, overwrite=True)
    assert [p.name for p in again] == ["videomnist_montage.png"]


# --------------------------------------------------------------------------- errors, atomicity


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda d, v: V.save_videos(v, d / "a.avi"), "Unknown format 'avi'. Valid: gif, mp4, png."),
        (lambda d, v: V.save_video_grid(v, d / "a.x", fmt="avi"), "Unknown format 'avi'. Valid: gif, mp4."),
        (lambda d, v: V.write_samples(v, [0, 1], None, (), d, formats=("png",)), "Unknown format 'png'. Valid: gif, mp4."),
        (lambda d, v: V.save_videos(v, d / "noext"), "Cannot tell the format"),
        (lambda d, v: V.save_gif(v[0], d), "is a directory"),
        (lambda d, v: V.save_gif(v[0], d / "file.txt" / "a.gif"), "is a file, not a directory"),
        (lambda d, v: V.save_gif(v, d / "a.gif"), "Expected one clip, got a batch of 2"),
        (lambda d, v: V.save_gif(v[0], d / "a.gif", fps=0), "fps must be a positive number"),
        (lambda d, v: V.save_mp4(v[0], d / "a.mp4", scale=1.5), "scale must be an integer >= 1"),
        (lambda d, v: V.save_gif(v[:0], d / "a.gif"), "Expected one clip, got a batch of 0"),
        (lambda d, v: V.save_grid_png(v, d / "a.png", frames="middle"), "Unknown frames 'middle'"),
        (lambda d, v: V.save_class_comparison(v, ["bounce"], d / "c.gif"), "one text per clip"),
        (lambda d, v: V.save_montage(v, [0], None, (), d / "m.png"), "labels must be int (B,) or (B, K) with B=2"),
        (lambda d, v: V.write_samples(v, [0, 1], None, (), d / "file.txt"), "is a file, not a directory"),
    ],
)
def test_bad_input_one_line_errors(tmp_path, call, words):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError) as excinfo:
        call(tmp_path, moving_squares(2, 3, 8, 8))
    assert words in one_line_error(excinfo)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]  # nothing written


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def broken_save(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError):
        V.save_gif(moving_squares(1, 2)[0], tmp_path / "a.gif")
    assert list(tmp_path.iterdir()) == []
