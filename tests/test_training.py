"""Training on the real stream and the `train-vqvae` / `train-videogpt` / `sample` commands.

Sizes are tiny (4 frames at 32x32, a few steps) and torch runs one thread: on 2 shared cores,
two intra-op threads were measured 10-20x slower than one. The whole file takes about a minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pytest
import torch

from videomnist_gpu import VideoMNISTConfig
from videomnist_gpu.cli import main
from videomnist_gpu.data.datamodule import VideoMNISTDataModule
from videomnist_gpu.models import VQVAE

ROOT = Path(__file__).resolve().parents[1]
# Shrinks the tiny presets further for the command tests: clips of 4 frames at 32x32.
SMALL = ["--sequence_length", "4", "--resolution", "32", "--batch_size", "4", "--val_clips", "8"]
TINY_VQVAE = str(ROOT / "configs" / "vqvae_tiny.yaml")
TINY_GPT = str(ROOT / "configs" / "videogpt_tiny.yaml")


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def videomnist(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run `python -m videomnist_gpu ARGS` as a user would, offline (mnist-5k digits)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "VIDEOMNIST_DATA": str(cwd / "no-mnist"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "videomnist_gpu", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
    return proc


# ------------------------------------------------------------------ learning on the stream
class _FirstLoss(pl.Callback):
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if batch_idx == 0:
            self.value = trainer.callback_metrics["train/recon_loss"].item()


@pytest.mark.filterwarnings("ignore:The 'train_dataloader' does not have many workers")
@pytest.mark.filterwarnings("ignore:You defined a `validation_step` but have no `val_dataloader`")
@pytest.mark.filterwarnings(r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning")
def test_vqvae_learns_on_the_stream(tmp_path, one_thread):
    # Measured (seeds 0, 1, 2; 300 steps): val loss 0.0066-0.0070 from a first step of 0.14-0.27,
    # against 0.013-0.014 for the best constant frame; ~17 s. 200 steps keep the margins.
    pl.seed_everything(0, verbose=False)
    model = VQVAE(embedding_dim=32, n_codes=64, n_hiddens=16, n_res_layers=1, downsample=(2, 4, 4),
                  lr=2e-3, sequence_length=4, resolution=32)
    dm = VideoMNISTDataModule({"digits": "mnist-5k"}, sequence_length=4, resolution=32, batch_size=8,
                              val_clips=32)
    dm.setup("fit")
    val = torch.cat([b["video"] for b in dm.val_dataloader()])  # (32, 1, 4, 32, 32)
    constant = ((val - val.mean()) ** 2).mean().item()  # MSE of the best constant prediction
    first = _FirstLoss()
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_steps=200, logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, limit_val_batches=0,
                         callbacks=[first], default_root_dir=tmp_path)
    trainer.fit(model, train_dataloaders=dm.train_dataloader())
    model.eval()
    with torch.no_grad():
        _, recon_loss, vq = model(val)
    assert recon_loss.item() <= 0.5 * first.value
    assert recon_loss.item() <= 0.75 * constant  # more than a blank frame: it draws the digits
    assert vq["code_usage"].item() > 1


# ------------------------------------------------------------------ the commands end to end
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """train-vqvae (3 steps) -> resume to 5 -> train-videogpt (3 steps) -> sample, in one folder.

    Validation every 2 steps: the runs end between two validations, so last.ckpt must still hold
    the final step."""
    cwd = tmp_path_factory.mktemp("runs")
    common = [*SMALL, "--val_check_interval", "2"]
    vq = videomnist("train-vqvae", "--config", TINY_VQVAE, *common, "--max_steps", "3",
                    "--output_dir", "run_vq", cwd=cwd)
    first_last = torch.load(cwd / "run_vq/checkpoints/last.ckpt", weights_only=True)
    resumed = videomnist("train-vqvae", "--config", TINY_VQVAE, *common, "--max_steps", "5",
                         "--output_dir", "run_vq", "--resume", "run_vq/checkpoints/last.ckpt", cwd=cwd)
    gpt = videomnist("train-videogpt", "--config", TINY_GPT, *common, "--max_steps", "3",
                     "--vqvae", "run_vq/checkpoints/best.ckpt", "--output_dir", "run_gpt", cwd=cwd)
    sample = videomnist("sample", "--ckpt", "run_gpt/checkpoints/best.ckpt", "--n", "2", "--labels", "3", "7",
                        "--output", "out/s", cwd=cwd)
    return {"cwd": cwd, "first_last": first_last, "vq": vq, "resumed": resumed, "gpt": gpt, "sample": sample}


def test_commands_write_run_directories(runs):
    cwd = runs["cwd"]
    for run in ("run_vq", "run_gpt"):
        assert (cwd / run / "checkpoints" / "best.ckpt").is_file()
        assert (cwd / run / "checkpoints" / "last.ckpt").is_file()
        assert list((cwd / run / "logs").glob("events.out.tfevents.*"))
        assert list((cwd / run / "videos").glob("*.gif"))
    assert "best checkpoint:" in runs["vq"].stdout
    for proc in (runs["vq"], runs["resumed"], runs["gpt"]):  # hidden by training.py
        assert "LeafSpec" not in proc.stderr and "litlogger" not in proc.stderr + proc.stdout


def test_without_a_terminal_training_prints_one_line_per_validation(runs):
    # validation every 2 steps: train-vqvae to 3 validates at 2, the resumed run to 5 at 4
    for run, steps in (("vq", ["2/3"]), ("resumed", ["4/5"]), ("gpt", ["2/3"])):
        lines = [line for line in runs[run].stderr.splitlines() if line.startswith("step ")]
        assert [line.split()[1].rstrip(":") for line in lines] == steps, runs[run].stderr[-2000:]
        for line in lines:
            assert "train/" in line and "val/" in line and " steps/s, " in line and line.endswith(" left"), line
    assert "val/recon_loss" in runs["vq"].stderr and "val/loss" in runs["gpt"].stderr


def test_validation_logs_digit_scores_next_to_the_losses(runs):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    def scalars(run):
        events = EventAccumulator(str(runs["cwd"] / run / "logs"))
        events.Reload()
        return {tag: [e.value for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}

    vq, gpt = scalars("run_vq"), scalars("run_gpt")
    assert "val/recon_loss" in vq and all(0 <= v <= 1 for v in vq["val/digit_accuracy"])
    assert all(v > 0 for v in vq["val/psnr"])
    for name in ("digit_accuracy", "identity_consistency", "speed_distance", "smoothness"):
        assert gpt[f"val/sample_{name}"], name
    assert all(0.25 <= v <= 1 for v in gpt["val/sample_identity_consistency"])  # 4 frames: at least 1/4


def test_checkpoints_load_with_weights_only(runs):
    cwd = runs["cwd"]
    vq = torch.load(cwd / "run_vq/checkpoints/best.ckpt", weights_only=True)
    assert vq["hyper_parameters"]["resolution"] == 32 and vq["hyper_parameters"]["sequence_length"] == 4
    gpt = torch.load(cwd / "run_gpt/checkpoints/last.ckpt", weights_only=True)
    assert gpt["global_step"] == 3
    assert gpt["hyper_parameters"]["class_cond"] is True
    assert gpt["hyper_parameters"]["vqvae_hparams"]["n_codes"] == 256
    assert "optimizer_states" in gpt and "lr_schedulers" in gpt


def test_resume_continues_steps_and_stream(runs):
    cwd = runs["cwd"]
    before = runs["first_last"]
    after = torch.load(cwd / "run_vq/checkpoints/last.ckpt", weights_only=True)
    assert before["global_step"] == 3 and after["global_step"] == 5
    # 4 clips a step: the stream stood at clip 12 and went on to 20 (not back to 0, not past).
    assert before["VideoMNISTDataModule"]["train"]["clips_yielded"] == 12
    assert after["VideoMNISTDataModule"]["train"]["clips_yielded"] == 20
    assert after["state_dict"]["codebook.initialized"].item()  # the codebook was not re-initialized


def test_sample_writes_gif_mp4_npy_and_labels_that_evaluate_reads(runs):
    from videomnist_gpu.evaluation.evaluate import load_clips

    out = runs["cwd"] / "out"
    assert (out / "s.gif").stat().st_size > 0 and (out / "s.mp4").stat().st_size > 0
    clips = np.load(out / "s.npy")
    assert clips.shape == (2, 4, 32, 32) and clips.dtype == np.uint8  # (n, T, H, W)
    assert np.load(out / "s.labels.npy").tolist() == [3, 7]
    assert runs["sample"].stdout.split() == [str(Path("out") / f"s.{ext}") for ext in ("gif", "mp4", "npy", "labels.npy")]
    video, labels = load_clips(out / "s.npy")
    assert torch.equal(video, torch.from_numpy(clips)) and labels.tolist() == [3, 7]


def test_train_from_an_hdf5_export(tmp_path):
    from videomnist_gpu.hdf5.export import export_dataset

    export_dataset(tmp_path / "tiny.h5", VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32),
                   videos_per_digit=1, test_videos_per_digit=1, device="cpu", progress=False)
    videomnist("train-vqvae", "--config", TINY_VQVAE, *SMALL, "--max_steps", "3", "--val_check_interval", "3",
               "--data_path", "tiny.h5", "--output_dir", "run_h5", cwd=tmp_path)
    saved = torch.load(tmp_path / "run_h5/checkpoints/last.ckpt", weights_only=True)
    assert saved["global_step"] == 3
    assert saved["datamodule_hyper_parameters"]["data_path"] == "tiny.h5"
    assert saved.get("VideoMNISTDataModule", {}) == {}  # nothing streamed, no stream state


# ------------------------------------------------------------------ bad invocations
@pytest.mark.parametrize("args, message", [
    (["train-videogpt", "--config", TINY_GPT], "--vqvae"),
    (["train-videogpt", "--config", TINY_GPT, "--vqvae", "missing.ckpt"], "missing.ckpt"),
    (["sample"], "--ckpt"),
    (["sample", "--ckpt", "missing.ckpt"], "--ckpt"),
    (["sample", "--ckpt", "x.ckpt", "--n", "3", "--labels", "1", "2"], "--labels"),
    (["train-vqvae", "--config", TINY_VQVAE, "--resume", "missing.ckpt"], "--resume"),
    (["train-vqvae", "--config", "configs/nope.yaml"], "nope.yaml"),
    (["train-videogpt", "--config", "nope.yaml", "--vqvae", "x.ckpt"], "nope.yaml"),
    (["train-vqvae", "--config", TINY_VQVAE, "--max_steps", "0"], "--max_steps"),
])
def test_bad_invocations_give_one_line_and_exit_2(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([*args, "--output_dir", "out"] if args[0] != "sample" else args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_a_vqvae_checkpoint_is_not_a_videogpt(runs, capsys):
    assert main(["sample", "--ckpt", str(runs["cwd"] / "run_vq/checkpoints/best.ckpt"), "--n", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --ckpt:") and err.count("\n") == 1, err


def test_bad_invocation_in_a_subprocess_exits_2_without_traceback(tmp_path):
    proc = videomnist("train-videogpt", "--config", TINY_GPT, cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --vqvae") and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr


def test_videogpt_refuses_a_shape_its_vqvae_was_not_trained_on(runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    vqvae = str(runs["cwd"] / "run_vq/checkpoints/best.ckpt")
    assert main(["train-videogpt", "--config", TINY_GPT, *SMALL, "--resolution", "64", "--vqvae", vqvae,
                 "--output_dir", "out"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resolution: the VQ-VAE checkpoint was trained with resolution 32"), err
    assert not (tmp_path / "out").exists()
