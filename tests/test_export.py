"""Export (`videomnist generate`), `videomnist verify` and the HDF5 reader (issue 3).

Tiny exports only: 4 frames at 32x32 from the offline mnist-5k digits, 20 train + 10 test clips.
A few tests run the real command in a subprocess (SIGKILL, SIGTERM, a file-size limit standing in
for a full disk); everything else runs in-process through `videomnist_gpu.cli.main`.
"""

from __future__ import annotations

import os
import pickle
import resource
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from videomnist_gpu import HDF5VideoDataset, Synthesizer, UsageError, VideoMNISTConfig, VideoMNISTError
from videomnist_gpu.cli import main
from videomnist_gpu.hdf5.export import export_dataset, partial_path
from videomnist_gpu.synth.digits import load_digit_bank
from videomnist_gpu.synth.synthesizer import render_from_params

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--videos_per_digit", "2", "--sequence_length", "4", "--image_size", "32", "--digits", "mnist-5k"]
TINY_CONFIG = VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32)
ATTRS = {
    "sequence_length", "resolution", "fps", "n_classes", "train_videos", "test_videos", "motion_types", "seed",
    "config_json", "digit_source", "digit_fingerprint_train", "digit_fingerprint_test", "package_version",
    "format_version", "channels", "num_digits",
}


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "videomnist_gpu", *args], env=_env(), text=True, **kwargs)


def _read_all(path: Path) -> tuple[dict, dict]:
    with h5py.File(path, "r") as f:
        data = {k: f[k][()] for k in f}
        attrs = {k: f.attrs[k] for k in f.attrs}
    return data, attrs


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """The tiny export, written once through the CLI (batch size 64)."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.h5"
    assert main(["generate", "--output_file", str(path), *TINY, "--batch_size", "64", "--device", "cpu"]) == 0
    return path


# ---------------------------------------------------------------------- layout
def test_layout_dtypes_shapes_attributes_counts(tiny):
    with h5py.File(tiny, "r") as f:
        assert set(f) == {f"{s}_{n}" for s in ("train", "test") for n in ("data", "idx", "labels", "motion", "position")}
        assert ATTRS <= set(f.attrs)
        a = f.attrs
        assert (a["sequence_length"], a["resolution"], a["fps"], a["n_classes"]) == (4, 32, 10, 10)
        assert (a["train_videos"], a["test_videos"], a["channels"], a["num_digits"], a["seed"]) == (20, 10, 1, 1, 0)
        assert list(a["motion_types"]) == ["bounce", "circular", "linear"]
        assert VideoMNISTConfig.from_json(a["config_json"]) == TINY_CONFIG
        assert a["digit_source"] == "mnist-5k" and a["format_version"] == 1
        assert a["digit_fingerprint_train"] == load_digit_bank("mnist-5k", "train").fingerprint
        assert a["digit_fingerprint_test"] == load_digit_bank("mnist-5k", "test").fingerprint
        for split, n in (("train", 20), ("test", 10)):
            data = f[f"{split}_data"]
            assert data.shape == (n * 4, 32, 32) and data.dtype == np.uint8
            assert data.chunks == (4, 32, 32) and data.fletcher32
            assert f[f"{split}_idx"].dtype == np.int64
            np.testing.assert_array_equal(f[f"{split}_idx"][()], np.arange(n) * 4)
            labels = f[f"{split}_labels"][()]
            assert labels.dtype == np.int64 and labels.shape == (n,)
            np.testing.assert_array_equal(labels, np.arange(n) % 10)  # interleaved, equal counts
            assert np.bincount(labels).tolist() == [n // 10] * 10
            assert f[f"{split}_motion"].dtype == np.int64 and f[f"{split}_motion"].shape == (n,)
            assert f[f"{split}_position"].dtype == np.float32 and f[f"{split}_position"].shape == (n, 4, 1, 2)
            assert all(f[k].fletcher32 for k in f)
            assert data[()].max() > 200  # digits are visible


def test_layout_rgb_two_digits_rotation_scale(tmp_path):
    config = VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=48, num_digits=2,
                              rotation_range=20, scale_range=(0.9, 1.1))
    path = export_dataset(tmp_path / "x.h5", config, 1, channels=3, compression="lzf", device="cpu", batch_size=4)
    clips = Synthesizer(config, device="cpu").render(torch.arange(10))
    with h5py.File(path, "r") as f:
        assert f["train_data"].shape == (40, 48, 48, 3) and f["train_data"].chunks == (4, 48, 48, 3)
        assert f["train_data"].compression == "lzf"
        assert f["train_labels"].shape == (10, 2) and f["test_labels"].shape == (10, 2)
        assert f["train_angle"].shape == f["train_scale"].shape == (10, 4, 2)
        assert f["train_angle"].dtype == f["train_scale"].dtype == np.float32
        assert f.attrs["channels"] == 3 and f.attrs["num_digits"] == 2
        rgb = f["train_data"][()].reshape(10, 4, 48, 48, 3)
        for c in range(3):
            np.testing.assert_array_equal(rgb[..., c], clips.video.numpy())
        np.testing.assert_array_equal(f["train_labels"][()], clips.label.numpy())
        np.testing.assert_array_equal(f["train_angle"][()], clips.angle.numpy())


def test_train_clips_use_train_digits_only(tiny):
    synth = Synthesizer(TINY_CONFIG, device="cpu")
    train, test = synth.bank("train"), synth.bank("test")
    with h5py.File(tiny, "r") as f:
        for split, bank, other in (("train", train, test), ("test", test, train)):
            n = f.attrs[f"{split}_videos"]
            stored = f[f"{split}_data"][()].reshape(n, 4, 32, 32)
            p = synth.params(torch.arange(n), split)
            # The stored pixels are exactly the render with this split's sprites ...
            np.testing.assert_array_equal(stored, render_from_params(TINY_CONFIG, bank, p).numpy())
            # ... and those sprites are not in the other split (mnist-5k's splits share no digit).
            used = bank.images[p.digit[:, 0]].reshape(n, 1, -1)  # (n, 1, S*S)
            assert not (used == other.images.reshape(1, len(other), -1)).all(-1).any()


def test_bitwise_equal_for_batch_sizes_1_7_64(tiny, tmp_path):
    reference_data, reference_attrs = _read_all(tiny)
    for batch in ("1", "7"):
        path = tmp_path / f"b{batch}.h5"
        assert main(["generate", "--output-file", str(path), *TINY, "--batch-size", batch, "--device", "cpu"]) == 0
        data, attrs = _read_all(path)
        assert data.keys() == reference_data.keys()
        for key in data:
            assert data[key].dtype == reference_data[key].dtype
            assert data[key].tobytes() == reference_data[key].tobytes(), key
        assert attrs.keys() == reference_attrs.keys()
        for key in attrs:
            np.testing.assert_array_equal(attrs[key], reference_attrs[key])


# ---------------------------------------------------------------------- verify
def test_verify_passes_on_a_good_file(tiny, capsys):
    assert main(["verify", str(tiny), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "checksums pass" in out and "re-rendered" in out and out.strip().endswith("OK")


def test_verify_reports_a_flipped_byte(tmp_path, capsys):
    path = tmp_path / "x.h5"
    export_dataset(path, TINY_CONFIG, 2, device="cpu")
    with h5py.File(path, "r") as f:
        info = f["train_data"].id.get_chunk_info(3)  # clip 3 is chunk 3
    with open(path, "r+b") as raw:
        raw.seek(info.byte_offset + info.size // 2)
        byte = raw.read(1)
        raw.seek(-1, os.SEEK_CUR)
        raw.write(bytes([byte[0] ^ 0xFF]))
    assert main(["verify", str(path), "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert "train_data: clip 3 cannot be read" in err and "checksum" in err
    assert err.strip().splitlines()[-1].startswith("error:")


@pytest.mark.parametrize("change, expect", [
    ({"seed": 1}, "attribute seed is 0, the stored config says 1"),
    ({"speed_range": [2.0, 4.0]}, "pixels differ from a re-render"),
])
def test_verify_reports_a_changed_config(tmp_path, capsys, change, expect):
    path = tmp_path / "x.h5"
    export_dataset(path, TINY_CONFIG, 2, device="cpu")
    with h5py.File(path, "r+") as f:
        f.attrs["config_json"] = TINY_CONFIG.replace(**change).to_json()
    assert main(["verify", str(path), "--device", "cpu", "--num_clips", "8"]) == 1
    assert expect in capsys.readouterr().err


# ---------------------------------------------------------------------- killed, interrupted, disk full
def _wait_for_first_batch(proc: subprocess.Popen) -> str:
    """Block on the writer's --log_progress lines until one batch is on disk."""
    for line in proc.stderr:
        if line.startswith("wrote train clips"):
            return line
    raise AssertionError(f"the writer ended before writing a batch (exit {proc.wait()})")


def _start_slow_export(path):
    """A generate subprocess big enough (small batches) to be stopped mid-write; stderr piped."""
    return _cli("generate", "--log_progress", "--output_file", str(path), "--videos_per_digit", "400",
                "--sequence_length", "16", "--image_size", "64", "--digits", "mnist-5k", "--batch_size", "8",
                "--device", "cpu", stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)


def test_sigkill_mid_write_leaves_nothing_at_the_final_path(tmp_path):
    path = tmp_path / "out.h5"
    proc = _start_slow_export(path)
    try:
        _wait_for_first_batch(proc)
        assert partial_path(path).exists()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.stderr.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not path.exists()  # at most the .partial, never a complete-looking file


def test_sigterm_removes_the_partial_and_prints_one_line(tmp_path):
    path = tmp_path / "out.h5"
    proc = _start_slow_export(path)
    try:
        _wait_for_first_batch(proc)
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        proc.stderr.close()
    errors = [line for line in rest.splitlines() if not line.startswith("wrote ")]
    assert proc.returncode == 128 + signal.SIGTERM
    assert len(errors) == 1 and errors[0].startswith("error: interrupted by SIGTERM"), rest
    assert not path.exists() and not partial_path(path).exists()


def _limit_file_size():  # runs in the child: writes past 200 kB fail with EFBIG instead of killing
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def test_disk_full_stand_in_gives_one_line_and_nothing_at_the_path(tmp_path):
    path = tmp_path / "out.h5"
    proc = subprocess.run(
        [sys.executable, "-m", "videomnist_gpu", "generate", "--output_file", str(path), "--videos_per_digit", "30",
         "--sequence_length", "4", "--image_size", "32", "--digits", "mnist-5k", "--device", "cpu", "--batch_size", "16"],
        env=_env(), capture_output=True, text=True, preexec_fn=_limit_file_size, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: writing"), proc.stderr
    assert "File too large" in proc.stderr
    assert not path.exists() and not partial_path(path).exists()


# ---------------------------------------------------------------------- bad invocations
def _bad_yaml(tmp_path: Path, text: str) -> str:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    return str(cfg)


BAD = [
    # (id, extra args (OUT = the output file, TMP = the tmp dir), expected exit, text in the message)
    ("unknown-motion", ["--motion_types", "zigzag"], 2, "unknown motion 'zigzag'"),
    ("duplicate-motion", ["--motion_types", "bounce", "bounce"], 2, "motion_types"),
    ("zero-length", ["--sequence_length", "0"], 2, "sequence_length"),
    ("negative-length", ["--sequence_length", "-3"], 2, "sequence_length"),
    ("length-not-int", ["--sequence_length", "abc"], 2, "invalid int value"),
    ("zero-image", ["--image_size", "0"], 2, "image_size"),
    ("negative-image", ["--image_size", "-64"], 2, "image_size"),
    ("image-smaller-than-digit", ["--image_size", "16", "--digit_size", "28"], 2, "image_size"),
    ("zero-digit-size", ["--digit_size", "0"], 2, "digit_size"),
    ("zero-videos", ["--videos_per_digit", "0"], 2, "videos_per_digit"),
    ("negative-videos", ["--videos-per-digit", "-5"], 2, "videos_per_digit"),
    ("zero-test-videos", ["--test_videos_per_digit", "0"], 2, "test_videos_per_digit"),
    ("zero-batch", ["--batch_size", "0"], 2, "batch_size"),
    ("channels-2", ["--channels", "2"], 2, "channels"),
    ("channels-text", ["--channels", "rgb"], 2, "invalid int value"),
    ("bad-compression", ["--compression", "zip"], 2, "compression: unknown 'zip'"),
    ("zero-digits", ["--num_digits", "0"], 2, "num_digits"),
    ("too-many-digits", ["--num_digits", "9"], 2, "num_digits"),
    ("negative-seed", ["--seed", "-1"], 2, "seed"),
    ("bad-speed", ["--speed_range", "0", "2"], 2, "speed_range"),
    ("bad-digit-source", ["--digits", "TMP/no-such-folder"], 2, "digits: unknown source"),
    ("bad-device", ["--device", "gpu7"], 2, "device"),
    ("bad-sample-format", ["--create_samples", "--sample_formats", "avi"], 2, "formats: unknown format 'avi'"),
    ("negative-num-samples", ["--create_samples", "--num_samples", "-1"], 2, "num_samples"),
    ("unknown-flag", ["--frobnicate"], 2, "unrecognized arguments"),
    ("output-is-directory", ["--output_file", "TMP"], 2, "is a directory"),
    ("parent-is-a-file", ["--output_file", "TMP/afile/x.h5"], 2, "is a file, not a directory"),
    ("uncreatable-directory", ["--output_file", "/proc/videomnist-no/x.h5"], 2, "cannot create directory"),
    ("malformed-yaml", ["--config", "YAML:image_size: [64\n"], 2, "is not valid YAML"),
    ("unknown-config-key", ["--config", "YAML:image_sz: 64\n"], 2, "unknown key 'image_sz'"),
    ("yaml-not-a-mapping", ["--config", "YAML:- 1\n- 2\n"], 2, "must hold a mapping"),
    ("yaml-bad-value", ["--config", "YAML:fps: 0\n"], 2, "fps: must be >= 1"),
    ("missing-config-file", ["--config", "TMP/nope.yaml"], 2, "no such file or preset"),
]


def _materialize(args: list[str], tmp_path: Path) -> list[str]:
    (tmp_path / "afile").write_text("not a folder")
    out = []
    for a in args:
        if a.startswith("YAML:"):
            a = _bad_yaml(tmp_path, a[5:])
        out.append(a.replace("TMP", str(tmp_path)))
    return out


def _assert_one_line_error(code, expected_code, out, err, needle):
    assert code == expected_code, err
    assert out == ""
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert needle in err, err


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_invocation_exits_with_one_line(case, tmp_path, capsys):
    _, extra, expected_code, needle = case
    out_file = tmp_path / "out.h5"
    args = ["generate", "--output_file", str(out_file), *TINY, "--device", "cpu", *_materialize(extra, tmp_path)]
    code = main(args)
    captured = capsys.readouterr()
    _assert_one_line_error(code, expected_code, captured.out, captured.err, needle)
    assert not out_file.exists() and not partial_path(out_file).exists()
    assert not (tmp_path / "samples").exists()


def test_a_config_that_is_not_a_config_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="^config: expected a VideoMNISTConfig, got dict$"):
        export_dataset(tmp_path / "out.h5", {"image_size": 64})
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_refused_and_kept(tmp_path, capsys):
    out_file = tmp_path / "out.h5"
    out_file.write_bytes(b"precious")
    code = main(["generate", "--output_file", str(out_file), *TINY, "--device", "cpu"])
    captured = capsys.readouterr()
    _assert_one_line_error(code, 2, captured.out, captured.err, "exists; pass --overwrite")
    assert out_file.read_bytes() == b"precious" and not partial_path(out_file).exists()


def test_not_enough_free_space_is_refused_before_writing(tmp_path, capsys, monkeypatch):
    import shutil

    from videomnist_gpu import atomic_file

    monkeypatch.setattr(atomic_file.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 10**5, 10**5))
    out_file = tmp_path / "out.h5"
    code = main(["generate", "--output_file", str(out_file), *TINY, "--device", "cpu"])
    captured = capsys.readouterr()
    _assert_one_line_error(code, 1, captured.out, captured.err, "not enough free space")
    assert not out_file.exists() and not partial_path(out_file).exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_directory_is_refused(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code = main(["generate", "--output_file", str(locked / "out.h5"), *TINY, "--device", "cpu"])
    captured = capsys.readouterr()
    _assert_one_line_error(code, 2, captured.out, captured.err, "is not writable")


@pytest.mark.parametrize("args, needle", [
    (["generate", *TINY], "output_file: required"),
    (["verify", "NOFILE"], "does not exist"),
    (["verify", "TEXTFILE"], "is not an HDF5 file"),
])
def test_bad_invocations_in_a_real_process(tmp_path, args, needle):
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    args = [a.replace("NOFILE", str(tmp_path / "nope.h5")).replace("TEXTFILE", str(text)) for a in args]
    proc = subprocess.run([sys.executable, "-m", "videomnist_gpu", *args], env=_env(), capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode in (1, 2)
    _assert_one_line_error(proc.returncode, proc.returncode, proc.stdout, proc.stderr, needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.h5"]


def test_config_file_values_apply_and_flags_win(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"sequence_length: 6\nimage_size: 32\ndigits: mnist-5k\nvideos_per_digit: 1\n"
                   f"test_videos_per_digit: 1\nseed: 5\noutput_file: {tmp_path / 'from_yaml.h5'}\n")
    assert main(["generate", "--config", str(cfg), "--sequence-length", "4", "--device", "cpu"]) == 0
    with h5py.File(tmp_path / "from_yaml.h5", "r") as f:
        assert f.attrs["sequence_length"] == 4 and f.attrs["seed"] == 5 and f.attrs["train_videos"] == 10


def test_presets_validate():
    from videomnist_gpu.cli import build_parser
    from videomnist_gpu.cli.generate import resolve_settings

    expected = {"videomnist": (16, 64, 1000, 200), "test": (8, 32, 2, 1), "hq": (32, 128, 2000, 400),
                "moving_mnist": (20, 64, 1000, 200), "sm_mnist": (15, 64, 1000, 200), "dm_mnist": (15, 64, 1000, 200)}
    for name, (t, size, vpd, tvpd) in expected.items():
        args = build_parser().parse_args(["generate", "--config", str(ROOT / "configs" / f"{name}.yaml")])
        config, export = resolve_settings(args)
        assert (config.sequence_length, config.image_size) == (t, size)
        assert (export["videos_per_digit"], export["test_videos_per_digit"]) == (vpd, tvpd)
    config, _ = resolve_settings(build_parser().parse_args(["generate", "--config", str(ROOT / "configs/moving_mnist.yaml")]))
    assert config.num_digits == 2 and config.motion_types == ("srivastava_bounce",) and config.digit_size == 28


# ---------------------------------------------------------------------- reader
@pytest.fixture(scope="module")
def sixteen(tmp_path_factory) -> dict[int, Path]:
    """16-frame clips, 10 train + 10 test, gray and RGB."""
    folder = tmp_path_factory.mktemp("sixteen")
    config = VideoMNISTConfig(digits="mnist-5k", sequence_length=16, image_size=32)
    return {c: export_dataset(folder / f"c{c}.h5", config, 1, channels=c, device="cpu") for c in (1, 3)}


@pytest.mark.parametrize("stored", [1, 3])
@pytest.mark.parametrize("length", [16, 8])
def test_reader_every_window_in_a_dataloader(sixteen, stored, length):
    path = sixteen[stored]
    ds = HDF5VideoDataset(path, length, train=True, resolution=32)
    windows = 16 - length + 1
    assert len(ds) == 10 * windows and ds.channels == stored
    with h5py.File(path, "r") as f:
        raw = f["train_data"][()]
    gray = (raw if raw.ndim == 3 else raw[..., 0]).reshape(10, 16, 32, 32)
    loader = torch.utils.data.DataLoader(ds, batch_size=7, num_workers=2, shuffle=False)
    videos = torch.cat([b["video"] for b in loader])  # (10*windows, C, L, H, W)
    labels = torch.cat([b["label"] for b in loader])
    assert videos.dtype == torch.float32 and videos.shape == (10 * windows, stored, length, 32, 32)
    assert labels.dtype == torch.int64 and labels.tolist() == [c for c in range(10) for _ in range(windows)]
    assert videos.min() >= -0.5 and videos.max() <= 0.5
    expect = torch.stack([torch.from_numpy(gray[c, s:s + length]) for c in range(10) for s in range(windows)])
    for ch in range(stored):
        torch.testing.assert_close(videos[:, ch], expect.float() / 255 - 0.5, rtol=0, atol=0)
    # test split, channel conversion both ways, pickling
    other = HDF5VideoDataset(path, length, train=False, resolution=32, channels=4 - stored)
    item = pickle.loads(pickle.dumps(other))[len(other) - 1]
    assert item["video"].shape == (4 - stored, length, 32, 32) and item["label"].item() == 9
    assert torch.equal(item["video"][0], torch.from_numpy(
        (h5py.File(path, "r")["test_data"][-length:].astype(np.float32).reshape(length, 32, 32, -1)[..., 0] / 255 - 0.5)
    ))


def _flip_chunk_byte(path: Path) -> None:
    with h5py.File(path, "r") as f:
        info = f["train_data"].id.get_chunk_info(0)
    with open(path, "r+b") as raw:
        raw.seek(info.byte_offset + 10)
        b = raw.read(1)
        raw.seek(-1, os.SEEK_CUR)
        raw.write(bytes([b[0] ^ 0x55]))


def _broken(kind: str, good: Path, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.h5"
    if kind == "missing":
        return path
    if kind == "not-hdf5":
        path.write_text("train_data,train_idx\n1,2\n")
    elif kind == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "wrong-layout":
        with h5py.File(path, "w") as f:
            f["videos"] = np.zeros((4, 32, 32), np.uint8)
    elif kind == "wrong-dtype":
        with h5py.File(path, "w") as f:
            f["train_data"] = np.zeros((16, 32, 32), np.float32)
            f["train_idx"] = np.zeros(1, np.int64)
            f["train_labels"] = np.zeros(1, np.int64)
    elif kind == "bad-idx":
        with h5py.File(path, "w") as f:
            f["train_data"] = np.zeros((16, 32, 32), np.uint8)
            f["train_idx"] = np.array([0, 99], np.int64)
            f["train_labels"] = np.zeros(2, np.int64)
    elif kind == "corrupt-chunk":
        path.write_bytes(good.read_bytes())
        _flip_chunk_byte(path)
    return path


@pytest.mark.parametrize("kind, error, needle", [
    ("missing", UsageError, "does not exist"),
    ("not-hdf5", VideoMNISTError, "is not an HDF5 file"),
    ("truncated", VideoMNISTError, "cannot be opened as HDF5 (truncated or corrupt?)"),
    ("wrong-layout", VideoMNISTError, "no dataset 'train_data'"),
    ("wrong-dtype", VideoMNISTError, "train_data must be uint8"),
    ("bad-idx", VideoMNISTError, "train_idx must start at 0"),
    ("corrupt-chunk", VideoMNISTError, "reading train clip 0 failed"),
])
def test_reader_clear_error_for_broken_files(sixteen, tmp_path, kind, error, needle):
    path = _broken(kind, sixteen[1], tmp_path)
    with pytest.raises(error) as info:
        ds = HDF5VideoDataset(path, 16, resolution=32)
        ds[0]
    message = str(info.value)
    assert needle in message and "\n" not in message


def test_reader_argument_errors(sixteen):
    with pytest.raises(UsageError, match="longer than the file's shortest clip"):
        HDF5VideoDataset(sixteen[1], 17, resolution=32)
    with pytest.raises(UsageError, match="resolution: the file stores 32x32 frames, asked for 64"):
        HDF5VideoDataset(sixteen[1], 16)
    with pytest.raises(UsageError, match="channels"):
        HDF5VideoDataset(sixteen[1], 16, resolution=32, channels=2)
