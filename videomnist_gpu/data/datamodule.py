"""`VideoMNISTDataModule`: the stream as a Lightning DataModule with VideoGPT's hyperparameters.

    >>> dm = VideoMNISTDataModule({"digits": "mnist-5k"}, sequence_length=4, resolution=32, batch_size=2)
    >>> dm.config.sequence_length, dm.config.image_size
    (4, 32)

Train batches come from the infinite train stream; validation and test batches from ``val_clips``
fixed clips of the test split (the same every pass). Clips are synthesized on the trainer's
device (``trainer.strategy.root_device``, read in `setup`, so nothing touches CUDA before
Lightning starts its processes) and sharded by the trainer's global rank and world size.

uint8 batches: with ``output="uint8"`` the streams yield the raw uint8 pixels (4x fewer bytes to
render into, copy and move to the device) and `on_after_batch_transfer` turns them into the
VideoGPT batch on the training device, in one fused kernel there (`normalize_video`): the model
sees the same float32 ``u8 / 255 - 0.5`` batch either way.

    >>> VideoMNISTDataModule({"digits": "mnist-5k"}, output="uint8").output
    'uint8'

Resume: Lightning stores `state_dict` in every checkpoint. The DataModule counts the train
batches handed to ``training_step`` (in `on_after_batch_transfer`, which Lightning calls for the
batch about to be used, after its one-batch prefetch), so a checkpoint records exactly what the
model consumed, whatever the prefetch or number of workers. Because of this the DataModule
overrides `on_after_batch_transfer`; a LightningModule that overrides it too is not called
(Lightning prefers the DataModule's hook).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader

from videomnist_gpu.data.prediction import check_split_frames
from videomnist_gpu.data.stream import OUTPUTS, VideoMNISTStream, check_channels
from videomnist_gpu.errors import UsageError, check_int
from videomnist_gpu.synth.config import VideoMNISTConfig, as_config
from videomnist_gpu.synth.ground_truth import check_annotations
from videomnist_gpu.synth.pixels import normalize_video
from videomnist_gpu.synth.render_triton import BACKENDS

__all__ = ["VideoMNISTDataModule"]

_VIDEO_KEYS = ("video", "context", "target")  # the pixel entries of a batch


class VideoMNISTDataModule(pl.LightningDataModule):
    """VideoMNIST for Lightning: streamed on the fly, or read from an HDF5 export.

    Args:
        config: a `VideoMNISTConfig`, a dict of its fields, a preset name (`moving_mnist`) or
            the path of a YAML preset (default: the default config).
        sequence_length: frames per clip; overrides the config's when given.
        resolution: frame side; overrides the config's ``image_size`` when given, and then the
            digit size is rescaled with it (28 px at 64), replacing any ``digit_size`` of the
            config (see `VideoMNISTConfig.replace`).
        batch_size: clips per step on each device, an integer >= 1 (default 32; global batch =
            ``batch_size * world_size``).
        num_workers: DataLoader workers, an integer >= 0 (default 0; CPU only: synthesizing on
            a CUDA device needs 0).
        channels: 1 (default), or 3 for upstream VideoGPT.
        data_path: an HDF5 export to read instead of synthesizing (with `HDF5VideoDataset`;
            opened only when a dataloader is built).
        val_clips: fixed test-split clips for validation and test, an integer >= 0 (default
            1000; synthesis only: with `data_path` the file's test split is used).
        seed: seed of the HDF5 train shuffle (the stream's randomness comes from the config).
        split_frames: ``(n_past, n_future)`` adding up to the sequence length: batches carry
            ``context`` and ``target`` instead of ``video`` (streamed and HDF5 alike).
        output: ``float32`` (default): the streams yield VideoGPT batches; ``uint8``: they yield
            raw pixels, normalized after the batch reaches the training device (synthesis only).
        backend: the streams' synthesis backend, ``auto`` (default), ``torch`` or ``triton``
            (see `Synthesizer`); checked against the training device in `setup`.
        annotations: names from `ground_truth.ANNOTATION_NAMES` rendered with every streamed
            batch, as extra keys on the training device; with `data_path`, read from the file
            (which must have been exported with them); default none.

    Shape:
        batch['video']: float32 (B, C, T, H, W) in [-0.5, 0.5] as the model receives it (after
            `on_after_batch_transfer`); ``context``/``target`` instead with `split_frames`.
        batch['label']: int64 (B,). Streamed batches also carry ``labels`` (B, K), ``motion``
            (B,), ``position`` (B, T, K, 2) and ``index`` (B,) (see `VideoMNISTStream`); HDF5
            batches carry only ``video`` and ``label``. With `annotations`, batches carry those
            too.

    Raises:
        UsageError: (a `ValueError`) in one line naming the argument: `config` is not a config,
            dict, preset name or path; a config field (or the override of
            `sequence_length`/`resolution`) fails validation, or the YAML preset cannot be read;
            `output` is unknown, or is ``uint8`` together with `data_path`; `batch_size`,
            `num_workers` or `val_clips` is not an integer at or above its minimum, `channels`
            is not 1 or 3, `split_frames` does not fit the sequence length, `backend` is unknown, or
            `annotations` holds an unknown name.
    """

    def __init__(self, config: VideoMNISTConfig | dict | str | Path | None = None,
                 sequence_length: int | None = None, resolution: int | None = None,
                 batch_size: int = 32, num_workers: int = 0, channels: int = 1,
                 data_path: str | Path | None = None, val_clips: int = 1000, seed: int = 0,
                 split_frames: tuple[int, int] | None = None, output: str = "float32",
                 backend: str = "auto", annotations: str | tuple[str, ...] | None = ()) -> None:
        super().__init__()
        config = as_config(config)
        changes: dict[str, Any] = {}
        if sequence_length is not None:
            changes["sequence_length"] = sequence_length
        if resolution is not None:
            changes["image_size"] = resolution
        self.config = config.replace(**changes) if changes else config
        for name, value, minimum in (("batch_size", batch_size, 1), ("num_workers", num_workers, 0),
                                     ("val_clips", val_clips, 0)):
            check_int(name, value, minimum)
        check_channels(channels)
        if output not in OUTPUTS:
            raise UsageError(f"output: unknown {output!r}. Valid: {', '.join(OUTPUTS)}")
        if output != "float32" and data_path is not None:
            raise UsageError(f"output: {output!r} applies to synthesized streams; data_path reads float32 batches")
        if backend not in BACKENDS:
            raise UsageError(f"backend: unknown {backend!r}. Valid: {', '.join(BACKENDS)}")
        self.annotations = check_annotations(annotations)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.channels = channels
        self.data_path = None if data_path is None else str(data_path)
        self.val_clips = val_clips
        self.seed = seed
        self.split_frames = check_split_frames(split_frames, self.config.sequence_length)
        self.output = output
        self.backend = backend
        # Plain values only, so checkpoints load with torch.load(weights_only=True).
        self.save_hyperparameters({
            "config": self.config.to_dict(), "sequence_length": self.config.sequence_length,
            "resolution": self.config.image_size, "batch_size": batch_size, "num_workers": num_workers,
            "channels": channels, "data_path": self.data_path, "val_clips": val_clips, "seed": seed,
            "split_frames": None if self.split_frames is None else list(self.split_frames),
            "output": output, "backend": backend, "annotations": list(self.annotations),
        })
        self.train_stream: VideoMNISTStream | None = None
        self.val_stream: VideoMNISTStream | None = None
        self._pending_state: dict[str, Any] | None = None
        self._pass_start = 0       # global batch where the train stream's current position began
        self._consumed = 0         # train batches handed to training_step since then

    # ------------------------------------------------------------------ setup
    def setup(self, stage: str | None = None) -> None:
        """Build the train and validation streams on the trainer's device, rank and world size.

        Called by the Trainer; without one, the streams render on the CPU as rank 0 of 1. Does
        nothing when reading `data_path` or when the streams exist already. Applies a state
        loaded before setup.

        Raises:
            ValueError: the trainer's device is not the CPU and `num_workers` > 0, or a pending
                state does not match (see `load_state_dict`).
        """
        if self.data_path is not None or self.train_stream is not None:
            return
        trainer = self.trainer
        device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        if device.type != "cpu" and self.num_workers > 0:
            raise ValueError(f"num_workers: synthesizing on {device} needs num_workers=0 "
                             f"(CUDA cannot run in forked DataLoader workers), got {self.num_workers}")
        common = dict(device=device, channels=self.channels, rank=rank, world_size=world,
                      split_frames=self.split_frames, output=self.output, backend=self.backend,
                      annotations=self.annotations)
        self.train_stream = VideoMNISTStream(self.config, self.batch_size, "train", **common)
        self.val_stream = VideoMNISTStream(self.config, self.batch_size, "test",
                                           num_clips=self.val_clips, **common)
        if self._pending_state is not None:
            state, self._pending_state = self._pending_state, None
            self.load_state_dict(state)

    # ------------------------------------------------------------------ loaders
    def train_dataloader(self) -> DataLoader:
        """The infinite train stream from where the model stopped consuming, or the shuffled
        HDF5 train split (``drop_last=True``) with `data_path`.

        Raises:
            RuntimeError: synthesizing and `setup` has not run.
            UsageError, VideoMNISTError: with `data_path`, the file cannot be read as
                `HDF5VideoDataset` says.
        """
        if self.data_path is not None:
            return self._hdf5_loader(train=True)
        self._require_setup()
        # Start where the model stopped consuming (not where the stream's last loader, prefetch
        # included, stopped producing): this is what a checkpoint taken now would record.
        position = self._next_train_batch()
        self.train_stream.load_state_dict(self.train_stream.state_dict(next_batch=position))
        self._pass_start, self._consumed = self.train_stream.next_batch, 0
        return DataLoader(self.train_stream, batch_size=None, num_workers=self.num_workers)

    def val_dataloader(self) -> DataLoader:
        """`val_clips` fixed test-split clips (the same every pass), or the HDF5 test split in
        order with `data_path`.

        Raises:
            RuntimeError: synthesizing and `setup` has not run.
            UsageError, VideoMNISTError: with `data_path`, the file cannot be read as
                `HDF5VideoDataset` says.
        """
        if self.data_path is not None:
            return self._hdf5_loader(train=False)
        self._require_setup()
        return DataLoader(self.val_stream, batch_size=None, num_workers=self.num_workers)

    def test_dataloader(self) -> DataLoader:
        """The same loader as `val_dataloader`."""
        return self.val_dataloader()

    def _require_setup(self) -> None:
        if self.train_stream is None:
            raise RuntimeError("VideoMNISTDataModule: call setup() first (a Trainer does it for you)")

    def _hdf5_loader(self, train: bool) -> DataLoader:
        # Map-style items {'video': (C, T, H, W), 'label'}; under DDP, Lightning shards them by
        # injecting a DistributedSampler (it does so for map-style datasets).
        from videomnist_gpu.hdf5.reader import HDF5VideoDataset

        dataset = HDF5VideoDataset(self.data_path, self.config.sequence_length, train=train,
                                   resolution=self.config.image_size, channels=self.channels,
                                   split_frames=self.split_frames, ground_truth=self.annotations or False)
        generator = torch.Generator().manual_seed(self.seed) if train else None
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=train, generator=generator,
                          num_workers=self.num_workers, pin_memory=torch.cuda.is_available(),
                          drop_last=train)

    # ------------------------------------------------------------------ resume, uint8 batches
    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Count consumed train batches; normalize uint8 videos on the device they now live on."""
        trainer = self.trainer
        if trainer is not None and trainer.training and self.data_path is None:
            self._consumed += 1
        if self.output == "uint8":  # video (B, C, T, H, W), or context and target with split_frames
            batch = {**batch, **{key: normalize_video(batch[key]) for key in _VIDEO_KEYS
                                 if key in batch and batch[key].dtype == torch.uint8}}  # float32
        return batch

    def _next_train_batch(self) -> int:
        position = self._pass_start + self._consumed
        per_pass = self.train_stream.batches_per_pass
        return position if per_pass is None else position % per_pass

    def state_dict(self) -> dict[str, Any]:
        """The train stream's state at the batches the model consumed ({} when reading HDF5)."""
        if self.data_path is not None:
            return {}
        if self.train_stream is None:
            return dict(self._pending_state or {})
        return {"train": self.train_stream.state_dict(next_batch=self._next_train_batch())}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume the train stream from a dict of `state_dict` (deferred until `setup` when the
        streams do not exist yet; ignored when empty or when reading `data_path`).

        Raises:
            ValueError: ``train`` is missing, or the stream rejects its state, naming the
                mismatched field (see `VideoMNISTStream.load_state_dict`).
        """
        if not state_dict or self.data_path is not None:
            return
        if self.train_stream is None:  # before setup: apply once the streams exist
            self._pending_state = dict(state_dict)
            return
        if "train" not in state_dict:
            raise ValueError("train: missing from the VideoMNISTDataModule state")
        self.train_stream.load_state_dict(state_dict["train"])
        self._pass_start, self._consumed = self.train_stream.next_batch, 0
