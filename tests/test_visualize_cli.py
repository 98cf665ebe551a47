"""`videomnist visualize` and `videomnist_gpu.viz.samples`: from a config, from an HDF5 file, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import av
import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from videomnist_gpu import Synthesizer, VideoMNISTConfig
from videomnist_gpu.cli import main
from videomnist_gpu.viz import visualize as V
from videomnist_gpu.viz.samples import hdf5_stats, load_hdf5_samples, visualize_hdf5, write_overlays

MOTIONS = ("bounce", "circular", "linear")
CFG = VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32, motion_types=MOTIONS)
T, S = CFG.sequence_length, CFG.image_size


def write_h5(path: Path, n_train: int = 24, n_test: int = 10, channels: int = 1, motion: bool = True,
             multi_digit: bool = False, attrs: bool = True) -> Path:
    """A tiny file in the canonical layout, rendered by the synthesizer (independent of the exporter)."""
    synth = Synthesizer(CFG, device="cpu")
    with h5py.File(path, "w") as f:
        for split, n in (("train", n_train), ("test", n_test)):
            clips = synth.render(torch.arange(n), split)
            data = clips.video.numpy().reshape(n * T, S, S)  # (N*T, H, W)
            if split == "train":  # one frame with ink in the border band, one empty frame
                data[1, 0, 0] = 200
                data[6] = 0
            if channels == 3:
                data = np.repeat(data[..., None], 3, axis=-1)  # (N*T, H, W, 3)
            f.create_dataset(f"{split}_data", data=data, chunks=(T, *data.shape[1:]))
            f.create_dataset(f"{split}_idx", data=np.arange(n, dtype=np.int64) * T)
            labels = clips.label.numpy()  # (N, 1)
            if multi_digit:
                labels = np.concatenate([labels, (labels + 3) % 10], axis=1)  # (N, 2)
            f.create_dataset(f"{split}_labels", data=labels if multi_digit else labels[:, 0])
            if motion:
                f.create_dataset(f"{split}_motion", data=clips.motion.numpy())
        if attrs:
            f.attrs.update(dict(
                sequence_length=T, resolution=S, fps=7, n_classes=10, train_videos=n_train, test_videos=n_test,
                motion_types=list(MOTIONS), seed=CFG.seed, config_json=CFG.to_json(),
                digit_source=synth.bank("train").source, digit_fingerprint_train=synth.bank("train").fingerprint,
                digit_fingerprint_test=synth.bank("test").fingerprint, package_version="0.1.0",
                format_version=1, channels=channels, num_digits=2 if multi_digit else 1,
            ))
    return path


def expected_stats(path: Path, split: str, margin: int = 5) -> dict:
    """The numbers of dataset_stats.txt, computed directly from the whole file with numpy."""
    with h5py.File(path, "r") as f:
        data = f[f"{split}_data"][()]
        data = data[..., 0] if data.ndim == 4 else data  # (N*T, H, W)
        labels = f[f"{split}_labels"][()].reshape(len(f[f"{split}_idx"]), -1)  # (N, K)
        motion = f[f"{split}_motion"][()] if f"{split}_motion" in f else None
    nz = (data != 0).sum(axis=(1, 2))  # (N*T,)
    inner = (data[:, margin:-margin, margin:-margin] != 0).sum(axis=(1, 2))
    out = {
        "class_counts": dict(enumerate(np.bincount(labels.reshape(-1), minlength=10).tolist())),
        "nz": (int(nz.min()), float(nz.mean()), int(nz.max())),
        "violations": int((nz > inner).sum()),
        "empty": int((nz == 0).sum()),
    }
    if motion is not None:
        out["motion_counts"] = dict(zip(MOTIONS, np.bincount(motion, minlength=3).tolist()))
    return out


def gif_frames(path: Path) -> int:
    with Image.open(path) as im:
        return im.n_frames


def mp4_frames(path: Path) -> tuple[int, int, int]:
    with av.open(str(path)) as c:
        frames = [fr.to_ndarray(format="gray") for fr in c.decode(video=0)]
    return len(frames), frames[0].shape[0], frames[0].shape[1]


def check_outputs(out: Path, num_samples: int, comparison: bool) -> str:
    gifs, mp4s = sorted(out.glob("digit_*_video_*.gif")), sorted(out.glob("digit_*_video_*.mp4"))
    assert len(gifs) == len(mp4s) == num_samples
    assert sorted(p.stem for p in gifs) == sorted(p.stem for p in mp4s)
    # samples spread over classes: the first ten are ten different digits
    assert len({p.name.split("_")[1] for p in gifs}) == min(num_samples, 10)
    assert gif_frames(gifs[0]) == T
    n, h, w = mp4_frames(mp4s[0])
    assert n == T and h % 2 == 0 and w % 2 == 0 and h >= S
    with Image.open(out / "videomnist_montage.png") as im:
        assert im.format == "PNG" and im.size[0] > 0
    comps = sorted((out / "class_comparisons").glob("digit_*_comparison.gif"))
    assert len(comps) == (10 if comparison else 0)
    if comparison:
        assert gif_frames(comps[0]) == T
    assert not list(out.parent.glob(".*partial*")), "temporary folder left behind"
    return (out / "dataset_stats.txt").read_text()


def test_from_config_without_any_file(tmp_path, capsys):
    cfg = tmp_path / "preset.yaml"
    cfg.write_text(CFG.to_yaml())
    out = tmp_path / "samples"
    rc = main(["visualize", "--config", str(cfg), "--output-dir", str(out), "--num_samples", "3",
               "--create_comparison", "--num_per_class", "2", "--device", "cpu", "--seed", "1"])
    assert rc == 0, capsys.readouterr().err
    text = check_outputs(out, 3, comparison=True)
    assert "videos: 200" in text and "sequence length: 4 frames" in text and "resolution: 32x32" in text
    assert "digit source: mnist-5k" in text and "fps: 10" in text
    assert "frames with ink within 5 px of the border: 0 of 800" in text
    for m in MOTIONS:
        assert f"  {m}: " in text


def test_from_hdf5_file_and_stats_equal_the_file(tmp_path, capsys):
    h5 = write_h5(tmp_path / "tiny.h5")
    out = tmp_path / "samples"
    rc = main(["visualize", "--hdf5_path", str(h5), "--output_dir", str(out), "--num_samples", "12",
               "--formats", "gif", "mp4", "--create_comparison", "--fps", "5"])
    assert rc == 0, capsys.readouterr().err
    text = check_outputs(out, 12, comparison=True)
    exp = expected_stats(h5, "train")
    assert "videos: 24" in text and "fps: 7" in text  # stats report the file's fps
    assert f"digit fingerprint (sha256): {Synthesizer(CFG).bank('train').fingerprint}" in text
    lo, mean, hi = exp["nz"]
    assert f"non-zero pixels per frame: min {lo}, mean {mean:.1f}, max {hi}" in text
    assert f"frames with ink within 5 px of the border: {exp['violations']} of {24 * T}" in text
    assert f"empty frames (no ink): {exp['empty']}" in text
    for c, n in exp["class_counts"].items():
        assert f"\n  {c}: {n}\n" in text
    for m, n in exp["motion_counts"].items():
        assert f"\n  {m}: {n}\n" in text
    with Image.open(next(out.glob("digit_*_video_*.gif"))) as im:
        assert im.info["duration"] == 200  # --fps 5 wins over the file's 7


def test_overlays_draw_a_file_s_clips_re_rendered_with_their_ground_truth(tmp_path, capsys):
    h5 = write_h5(tmp_path / "tiny.h5")
    out = tmp_path / "samples"
    rc = main(["visualize", "--hdf5_path", str(h5), "--output_dir", str(out), "--num_samples", "2",
               "--formats", "gif", "mp4", "--overlays", "2"])
    assert rc == 0, capsys.readouterr().err
    gifs, mp4s = sorted((out / "overlays").glob("clip_*.gif")), sorted((out / "overlays").glob("clip_*.mp4"))
    assert len(gifs) == len(mp4s) == 2 and [p.stem for p in gifs] == [p.stem for p in mp4s]
    index = [int(p.stem.split("_")[1]) for p in gifs]
    assert all(0 <= i < 24 for i in index)  # clips of the file's train split
    with Image.open(gifs[0]) as im:  # panels: boxes, instance mask, flow; 4x upscaled, 2 px apart
        assert im.n_frames == T and im.size == (3 * 4 * S + 2 * V.SEPARATOR_WIDTH, 4 * S)
        assert im.info["duration"] == 140  # the file's fps (7), as the samples: 1000/7 ms in GIF's 10 ms steps
    direct = write_overlays(CFG, index, tmp_path / "direct", formats=("gif",), fps=7)
    assert [p.read_bytes() for p in direct] == [p.read_bytes() for p in gifs]  # the config the file stores


@pytest.mark.parametrize("chunk", [1, 5, 256])
def test_streamed_stats_equal_numpy(tmp_path, chunk):
    h5 = write_h5(tmp_path / "tiny.h5")
    exp = expected_stats(h5, "train")
    got = hdf5_stats(h5, "train", chunk_clips=chunk)
    assert got["class_counts"] == exp["class_counts"] and got["motion_counts"] == exp["motion_counts"]
    nz = got["nonzero_pixels_per_frame"]
    assert (nz["min"], nz["max"]) == (exp["nz"][0], exp["nz"][2]) and nz["mean"] == pytest.approx(exp["nz"][1])
    assert got["margin_violation_frames"] == exp["violations"] == 1
    assert got["empty_frames"] == exp["empty"] == 1
    assert got["digit_source"] == "mnist-5k" and got["fps"] == 7


def test_foreign_file_three_channels_two_digits_no_motion(tmp_path):
    h5 = write_h5(tmp_path / "foreign.h5", channels=3, motion=False, multi_digit=True, attrs=False)
    out = tmp_path / "samples"
    written = visualize_hdf5(h5, out, split="test", formats=["gif"], num_samples=4)
    assert len(list(out.glob("digit_*-*_video_*.gif"))) == 4 and out / "dataset_stats.txt" in written
    text = (out / "dataset_stats.txt").read_text()
    exp = expected_stats(h5, "test")
    assert "videos: 10" in text and "digit source: unknown" in text and "(no motion recorded): 10" in text
    assert f"max {exp['nz'][2]}" in text and "digits per clip: 2" in text


def test_seed_picks_the_samples(tmp_path):
    h5 = write_h5(tmp_path / "tiny.h5", n_train=40)
    a, b, c = (load_hdf5_samples(h5, "train", num=10, seed=s) for s in (3, 3, 4))
    assert np.array_equal(a.index, b.index) and not np.array_equal(a.index, c.index)
    with h5py.File(h5, "r") as f:  # clip j of the pool is clip a.index[j] of the file
        j = 7
        assert np.array_equal(a.video[j], f["train_data"][a.index[j] * T : (a.index[j] + 1) * T])
        assert a.label[j, 0] == f["train_labels"][a.index[j]] and a.motion[j] == f["train_motion"][a.index[j]]


def test_refuses_to_overwrite_then_overwrites(tmp_path, capsys):
    h5 = write_h5(tmp_path / "tiny.h5")
    out = tmp_path / "samples"
    argv = ["visualize", "--hdf5-path", str(h5), "--output-dir", str(out), "--num-samples", "2", "--formats", "gif"]
    assert main(argv) == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: output_dir:") and "--overwrite" in err and err.count("\n") == 1
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    assert main(argv + ["--overwrite"]) == 0


def test_failure_half_way_leaves_nothing(tmp_path, monkeypatch, capsys):
    h5 = write_h5(tmp_path / "tiny.h5")

    from videomnist_gpu.errors import VideoMNISTError

    def fail(*args, **kwargs):
        raise VideoMNISTError("mp4: encoder failed")

    monkeypatch.setattr(V, "save_mp4", fail)
    out = tmp_path / "samples"
    assert main(["visualize", "--hdf5_path", str(h5), "--output_dir", str(out), "--num_samples", "3"]) == 1
    assert capsys.readouterr().err == "error: mp4: encoder failed\n"
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["tiny.h5"]


def _bad_layout(tmp: Path) -> Path:
    with h5py.File(tmp / "other.h5", "w") as f:
        f.create_dataset("images", data=np.zeros((2, 4, 4), np.uint8))
    return tmp / "other.h5"


def _not_hdf5(tmp: Path) -> Path:
    (tmp / "notes.h5").write_text("not hdf5")
    return tmp / "notes.h5"


def _motion_out_of_range(tmp: Path) -> Path:
    path = write_h5(tmp / "bad_motion.h5")
    with h5py.File(path, "a") as f:
        f["train_motion"][0] = 7
    return path


@pytest.mark.parametrize("case, make_args, code, needle", [
    ("missing file", lambda t: ["--hdf5_path", str(t / "nope.h5")], 2, "does not exist"),
    ("not hdf5", lambda t: ["--hdf5_path", str(_not_hdf5(t))], 2, "is not an HDF5 file"),
    ("wrong layout", lambda t: ["--hdf5_path", str(_bad_layout(t))], 2, "no dataset train_data"),
    ("motion out of range", lambda t: ["--hdf5_path", str(_motion_out_of_range(t))], 2, "train_motion holds"),
    ("bad format", lambda t: ["--hdf5_path", str(t / "x.h5"), "--formats", "avi"], 2, "invalid choice: 'avi'"),
    ("bad split", lambda t: ["--hdf5_path", str(t / "x.h5"), "--split", "val"], 2, "invalid choice: 'val'"),
    ("both sources", lambda t: ["--hdf5_path", str(t / "x.h5"), "--config", str(t / "c.yaml")], 2, "exactly one"),
    ("neither source", lambda t: [], 2, "exactly one"),
    ("missing config", lambda t: ["--config", str(t / "c.yaml")], 2, "--config: no such file or preset"),
    ("bad config key", lambda t: ["--config", str(_yaml(t, "zoom: 3\n"))], 2, "unknown key 'zoom'"),
    ("bad num_samples", lambda t: ["--config", str(_yaml(t, "")), "--num_samples", "-1"], 2, "num_samples"),
    ("bad device", lambda t: ["--config", str(_yaml(t, "")), "--device", "nodevice"], 2, "device"),
    ("bad overlays", lambda t: ["--config", str(_yaml(t, "")), "--overlays", "-1"], 2,
     "overlays: must be an integer within 0..200, got -1"),
    ("overlays of a file without a config",
     lambda t: ["--hdf5_path", str(write_h5(t / "x.h5", motion=False, attrs=False)), "--overlays", "1"], 2,
     "stores no VideoMNIST config"),
])
def test_bad_invocations_give_one_line(tmp_path, capsys, case, make_args, code, needle):
    out = tmp_path / "samples"
    rc = main(["visualize", "--output_dir", str(out)] + make_args(tmp_path))
    err = capsys.readouterr().err
    assert rc == code, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert needle in err, err
    assert not out.exists()


def _yaml(tmp: Path, text: str) -> Path:
    path = tmp / "c.yaml"
    path.write_text(text or json.dumps({"digits": "mnist-5k", "sequence_length": 4, "image_size": 32}))
    return path
