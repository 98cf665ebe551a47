"""VideoMNISTDataModule under a real Lightning Trainer: fit, validate, checkpoint, resume, DDP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from videomnist_gpu import VideoMNISTConfig
from videomnist_gpu.data.datamodule import VideoMNISTDataModule

CONFIG = {"digits": "mnist-5k", "sequence_length": 4, "image_size": 32}


def lightning_noise(test):
    """Silence, for one test, the warnings Lightning itself raises in these tiny CPU runs."""
    for message in ("The 'train_dataloader' does not have many workers",
                    "The 'val_dataloader' does not have many workers",
                    "`isinstance(treespec, LeafSpec)` is deprecated"):  # Lightning 2.6 on torch 2.14
        test = pytest.mark.filterwarnings(f"ignore:{re.escape(message)}")(test)
    return test


class Recorder(pl.LightningModule):
    """One parameter; remembers the clip indices of every batch it trains and validates on."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))
        self.train_seen: list[list[int]] = []
        self.val_seen: list[list[int]] = []

    def training_step(self, batch, batch_idx):
        assert batch["video"].shape[1:] == (1, 4, 32, 32)  # (B, C, T, H, W)
        self.train_seen.append(batch["index"].tolist())
        return (self.w - batch["video"].mean()) ** 2

    def validation_step(self, batch, batch_idx):
        self.val_seen.append(batch["index"].tolist())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _trainer(tmp_path, max_steps, callbacks=()):
    return pl.Trainer(accelerator="cpu", devices=1, max_steps=max_steps, logger=False,
                      enable_progress_bar=False, enable_model_summary=False,
                      enable_checkpointing=bool(callbacks), callbacks=list(callbacks),
                      val_check_interval=3, check_val_every_n_epoch=None, num_sanity_val_steps=0,
                      default_root_dir=tmp_path)


def test_hyperparameters_override_the_config(tmp_path):
    preset = tmp_path / "preset.yaml"
    preset.write_text(VideoMNISTConfig(digits="mnist-5k", seed=7).to_yaml())
    dm = VideoMNISTDataModule(str(preset), sequence_length=6, resolution=48, batch_size=3)
    assert (dm.config.seed, dm.config.sequence_length, dm.config.image_size) == (7, 6, 48)
    assert VideoMNISTDataModule(VideoMNISTConfig(seed=2)).config.seed == 2
    with pytest.raises(ValueError, match="^batch_size:"):
        VideoMNISTDataModule(CONFIG, batch_size=0)
    with pytest.raises(ValueError, match="^config:"):
        VideoMNISTDataModule(3)


def test_setup_without_trainer_and_state_before_setup():
    dm = VideoMNISTDataModule(CONFIG, batch_size=2, val_clips=5)
    dm.setup("fit")
    assert dm.train_stream.device.type == "cpu"
    batch = next(iter(dm.train_dataloader()))
    assert batch["video"].shape == (2, 1, 4, 32, 32)
    assert [b["index"].tolist() for b in dm.val_dataloader()] == [[0, 1], [2, 3], [4]]
    state = json.loads(json.dumps(dm.state_dict()))
    fresh = VideoMNISTDataModule(CONFIG, batch_size=2, val_clips=5)
    fresh.load_state_dict(state)  # before setup: kept and applied by setup
    fresh.setup("fit")
    assert fresh.state_dict() == state
    bad = VideoMNISTDataModule(CONFIG, batch_size=3)
    bad.setup("fit")
    with pytest.raises(ValueError, match="^batch_size:"):
        bad.load_state_dict(state)


@pytest.mark.parametrize("num_workers", [0, 2])
@lightning_noise
@pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty")  # resuming into it
def test_fit_checkpoint_mid_run_and_resume_exactly(tmp_path, num_workers):
    def datamodule():
        return VideoMNISTDataModule(CONFIG, batch_size=2, val_clips=5, num_workers=num_workers)

    # Uninterrupted run of 7 steps; a checkpoint is taken at step 3 (mid-run, with a batch prefetched).
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=3, save_top_k=-1)
    full = Recorder()
    _trainer(tmp_path, 7, [ckpt]).fit(full, datamodule=datamodule())
    assert full.train_seen == [[2 * i, 2 * i + 1] for i in range(7)]
    assert full.val_seen == [[0, 1], [2, 3], [4]] * 2  # fixed test-split clips, the same every pass

    saved = torch.load(tmp_path / "ckpt" / "epoch=0-step=3.ckpt", weights_only=True)
    assert saved["VideoMNISTDataModule"]["train"]["clips_yielded"] == 6

    # A second fit on the same DataModule continues after the consumed clips (the prefetched
    # batch of the first fit is not skipped).
    more = Recorder()
    dm = datamodule()
    _trainer(tmp_path / "first", 2).fit(Recorder(), datamodule=dm)
    _trainer(tmp_path / "second", 2).fit(more, datamodule=dm)
    assert more.train_seen == full.train_seen[2:4]

    resumed = Recorder()
    again = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=3, save_top_k=-1)
    _trainer(tmp_path / "resume", 7, [again]).fit(resumed, datamodule=datamodule(),
                                         ckpt_path=tmp_path / "ckpt" / "epoch=0-step=3.ckpt")
    assert resumed.train_seen == full.train_seen[3:]


_DDP_SCRIPT = textwrap.dedent("""
    import json, os, sys, warnings
    warnings.simplefilter("ignore")
    import lightning.pytorch as pl
    sys.path.insert(0, os.environ["VIDEOMNIST_TESTS"])
    from test_datamodule import CONFIG, Recorder
    from videomnist_gpu.data.datamodule import VideoMNISTDataModule

    out = sys.argv[1]
    model = Recorder()
    dm = VideoMNISTDataModule(CONFIG, batch_size=3, val_clips=10)
    trainer = pl.Trainer(strategy="ddp", devices=2, accelerator="cpu", max_steps=4, logger=False,
                         enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                         val_check_interval=4, check_val_every_n_epoch=None, num_sanity_val_steps=0,
                         default_root_dir=out)
    trainer.fit(model, datamodule=dm)
    with open(os.path.join(out, f"rank{trainer.global_rank}.json"), "w") as f:
        json.dump({"train": model.train_seen, "val": model.val_seen, "state": dm.state_dict()}, f)
""")


def test_two_process_ddp_shards_disjoint_and_complete(tmp_path):
    script = tmp_path / "ddp_run.py"
    script.write_text(_DDP_SCRIPT)
    env = dict(os.environ, VIDEOMNIST_TESTS=str(Path(__file__).parent), PYTHONWARNINGS="ignore",
               OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    # Step s: rank 0 has clips 6s..6s+2, rank 1 has 6s+3..6s+5 (one global batch of 6 per step).
    assert ranks[0]["train"] == [[6 * s, 6 * s + 1, 6 * s + 2] for s in range(4)]
    assert ranks[1]["train"] == [[6 * s + 3, 6 * s + 4, 6 * s + 5] for s in range(4)]
    train = [sorted(sum(r["train"], [])) for r in ranks]
    assert not set(train[0]) & set(train[1])
    assert sorted(train[0] + train[1]) == list(range(24))  # = the single-process stream's first 24 clips
    val = [sum(r["val"], []) for r in ranks]
    assert not set(val[0]) & set(val[1]) and sorted(val[0] + val[1]) == list(range(10))
    assert ranks[0]["state"] == ranks[1]["state"]  # the resume state is rank-independent
    assert ranks[0]["state"]["train"]["clips_yielded"] == 24


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@lightning_noise
def test_synthesizes_on_the_trainer_device(tmp_path):
    dm = VideoMNISTDataModule(CONFIG, batch_size=2, val_clips=4)
    assert dm.train_stream is None  # nothing built (nor CUDA touched) at construction
    trainer = pl.Trainer(accelerator="cuda", devices=1, max_steps=2, logger=False, enable_progress_bar=False,
                         enable_checkpointing=False, num_sanity_val_steps=0, limit_val_batches=0,
                         default_root_dir=tmp_path)
    trainer.fit(Recorder(), datamodule=dm)
    assert dm.train_stream.device.type == "cuda"
    with pytest.raises(ValueError, match="^num_workers:"):
        bad = VideoMNISTDataModule(CONFIG, batch_size=2, num_workers=1)
        bad.trainer = trainer
        bad.setup("fit")


@lightning_noise
def test_data_path_reads_an_hdf5_export(tmp_path):
    from videomnist_gpu.hdf5.export import export_dataset

    path = export_dataset(tmp_path / "tiny.h5", VideoMNISTConfig(**CONFIG), videos_per_digit=1,
                          test_videos_per_digit=1, device="cpu", progress=False)
    dm = VideoMNISTDataModule(CONFIG, batch_size=3, val_clips=6, data_path=path)
    dm.setup("fit")
    assert dm.train_stream is None and dm.state_dict() == {}  # nothing synthesized, nothing to resume
    train = list(dm.train_dataloader())
    val = list(dm.val_dataloader())
    assert len(train) == 3 and len(val) == 4  # 10 clips: drop_last for train, all of them for val
    for batch in train + val:
        video, label = batch["video"], batch["label"]
        assert video.dtype == torch.float32 and video.shape[1:] == (1, 4, 32, 32)  # (B, C, T, H, W)
        assert label.dtype == torch.int64 and label.shape == video.shape[:1]
        assert video.min() >= -0.5 and video.max() <= 0.5
        assert torch.allclose((video + 0.5) * 255, ((video + 0.5) * 255).round(), atol=1e-3)  # u8 / 255 - 0.5
    assert min(b["video"].min() for b in val) == -0.5 and max(b["video"].max() for b in val) > 0.4  # ink
    assert sorted(torch.cat([b["label"] for b in val]).tolist()) == list(range(10))  # one clip per digit
    # The train loader shuffles with the DataModule's seed: the same order every time.
    again = VideoMNISTDataModule(CONFIG, batch_size=3, data_path=path)
    assert [b["label"].tolist() for b in again.train_dataloader()] == [b["label"].tolist() for b in train]
    rgb = VideoMNISTDataModule(CONFIG, batch_size=3, channels=3, data_path=path)
    assert next(iter(rgb.val_dataloader()))["video"].shape == (3, 3, 4, 32, 32)


class VideoRecorder(Recorder):
    """Also keeps a copy of every training video it sees."""

    def __init__(self):
        super().__init__()
        self.videos: list[torch.Tensor] = []

    def training_step(self, batch, batch_idx):
        self.videos.append(batch["video"].clone())
        return super().training_step(batch, batch_idx)


@lightning_noise
def test_uint8_batches_reach_the_model_as_the_float_contract(tmp_path):
    seen = {}
    for output in ("float32", "uint8"):
        model = VideoRecorder()
        dm = VideoMNISTDataModule(CONFIG, batch_size=2, val_clips=3, output=output)
        _trainer(tmp_path / output, 4).fit(model, datamodule=dm)
        assert dm.train_stream.output == output and dm.hparams["output"] == output
        seen[output] = model
    assert seen["uint8"].train_seen == seen["float32"].train_seen
    for u8, f in zip(seen["uint8"].videos, seen["float32"].videos, strict=True):
        assert u8.dtype == torch.float32 and torch.equal(u8, f)
    assert seen["uint8"].val_seen == seen["float32"].val_seen
    with pytest.raises(ValueError, match="^output: unknown 'fp16'. Valid: float32, uint8"):
        VideoMNISTDataModule(CONFIG, output="fp16")
    with pytest.raises(ValueError, match="^output: 'uint8' applies to synthesized streams"):
        VideoMNISTDataModule(CONFIG, output="uint8", data_path=tmp_path / "x.h5")


def test_uint8_prediction_splits_are_normalized_on_the_device_like_the_float_ones():
    batches = {}
    for output in ("float32", "uint8"):
        dm = VideoMNISTDataModule(CONFIG, batch_size=2, val_clips=2, output=output, split_frames=(1, 3))
        dm.setup("fit")
        raw = next(iter(dm.train_dataloader()))
        assert raw["context"].dtype == (torch.uint8 if output == "uint8" else torch.float32)
        batches[output] = dm.on_after_batch_transfer(raw, 0)
    for key, shape in (("context", (2, 1, 1, 32, 32)), ("target", (2, 1, 3, 32, 32))):
        assert batches["uint8"][key].dtype == torch.float32 and batches["uint8"][key].shape == shape
        assert torch.equal(batches["uint8"][key], batches["float32"][key])
    assert "video" not in batches["uint8"]
