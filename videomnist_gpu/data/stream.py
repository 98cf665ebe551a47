"""`VideoMNISTStream`: ready model batches synthesized on the device, sharded, resumable.

    >>> from torch.utils.data import DataLoader
    >>> from videomnist_gpu import VideoMNISTConfig
    >>> stream = VideoMNISTStream(VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32),
    ...                           batch_size=2, device="cpu")
    >>> batch = next(iter(DataLoader(stream, batch_size=None)))
    >>> tuple(batch["video"].shape), batch["index"].tolist()
    ((2, 1, 4, 32, 32), [0, 1])

Semantics:
    * Which clips: `videomnist_gpu.data.partition` (global batches of ``batch_size * world_size``,
      each rank a contiguous slice, workers round-robin over batches).
    * Passes: an infinite stream (``num_clips=None``) is one endless pass. A finite stream is a
      fixed set of clips: every ``iter()`` starts a new pass from clip 0 (the same clips in the
      same order every time), except right after `load_state_dict`, whose position applies to
      the next pass only.
    * Counting: batches are counted when they are yielded in the main process (``num_workers=0``).
      With ``DataLoader(stream, batch_size=None, num_workers=0)`` nothing is prefetched, so after
      the consumer has received ``n`` batches, `state_dict` says ``n``. Workers count in their own
      copies, which the main process never sees: with ``num_workers > 0`` (or when a trainer
      prefetches) count the batches your model consumed and call ``state_dict(next_batch=n)``;
      `VideoMNISTDataModule` does this for you.
"""

from __future__ import annotations

import sys
from typing import Any, Iterator

import torch
from torch.utils.data import IterableDataset, get_worker_info

from videomnist_gpu.data.partition import clip_ranges, num_global_batches
from videomnist_gpu.data.prediction import check_split_frames, split_prediction
from videomnist_gpu.errors import UsageError, check_int
from videomnist_gpu.synth.config import VideoMNISTConfig, as_config
from videomnist_gpu.synth.cpu_buffers import OutputPool
from videomnist_gpu.synth.ground_truth import check_annotations
from videomnist_gpu.synth.keyed_random import check_split
from videomnist_gpu.synth.pixels import normalize_video
from videomnist_gpu.synth.synthesizer import Clips, Synthesizer

__all__ = ["VideoMNISTStream", "STATE_FORMAT_VERSION", "OUTPUTS", "CHANNELS", "batch_from_clips", "normalize_video",
           "check_channels"]

STATE_FORMAT_VERSION = 1
_MATCHED_FIELDS = ("format_version", "config_hash", "seed", "split", "batch_size", "world_size", "num_clips")


OUTPUTS = ("float32", "uint8")
CHANNELS = (1, 3)  # grey, or grey replicated for upstream VideoGPT's 3-channel encoder


def check_channels(channels: object) -> int:
    """`channels` if it is 1 or 3; else a one-line `UsageError`."""
    if isinstance(channels, bool) or channels not in CHANNELS:
        raise UsageError(f"channels: expected 1 (grey) or 3 (for upstream VideoGPT), got {channels!r}")
    return channels


def batch_from_clips(clips: Clips, channels: int = 1, output: str = "float32",
                     out: torch.Tensor | None = None, normalized: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The model batch of `clips` (VideoGPT's contract plus ground truth), on the clips' device.

    Args:
        clips: rendered clips, video uint8 (B, T, H, W).
        channels: 1, or C > 1 for replicated grey (an `expand`ed view, no copy: call
            ``.contiguous()`` before writing into it in place).
        output: ``float32`` (VideoGPT's model input) or ``uint8`` (the raw pixels, to be
            normalized with `normalize_video` on the training device).
        out: float32 (B, 1, T, H, W) memory to write the float video into (default: new).
        normalized: float32 (B, 1, T, H, W), the float video already made (by the fused
            renderer, `Synthesizer.render(..., float_video=...)`); used as is.

    Shape:
        video: float32 (B, C, T, H, W) in [-0.5, 0.5], ``u8 / 255 - 0.5`` (uint8 (B, C, T, H, W)
            in 0..255 with ``output="uint8"``).
        label: int64 (B,), class of the first digit. labels: int64 (B, K).
        Then every ground-truth field the clips carry, under its name
        (`videomnist_gpu.synth.ground_truth`): motion (B,), center and position (B, T, K, 2),
        angle and scale (B, T, K), index (B,), and the annotations that were rendered.

    Arguments are not checked here (`VideoMNISTStream` checks them): any `output` other than
    ``float32`` leaves the video uint8.
    """
    video = clips.video[:, None]  # (B, 1, T, H, W) uint8
    if output == "float32":
        video = normalized if normalized is not None else normalize_video(video, out)  # (B, 1, T, H, W) float32
    if channels != 1:
        video = video.expand(-1, channels, -1, -1, -1)  # (B, C, T, H, W), stride 0 over C
    truth = clips.ground_truth()
    return {"video": video, "label": truth["label"][:, 0], "labels": truth.pop("label"), **truth}


class VideoMNISTStream(IterableDataset):
    """Batches of clips of `config`, rendered on `device`, for ``DataLoader(stream, batch_size=None)``.

    Each item is already a whole batch (hence ``batch_size=None`` in the DataLoader), a dict of
    tensors on `device` as `batch_from_clips` makes it; see the module docstring for which clips
    each rank and worker gets, passes, and resume.

    Args:
        config: the dataset description: a `VideoMNISTConfig`, a dict of its fields, a preset
            name (`moving_mnist`) or a YAML path (see `as_config`).
        batch_size: clips per batch on this rank, an integer >= 1 (the global batch is
            ``batch_size * world_size``).
        split: ``train`` or ``test`` digits (validation and test streams use ``test``).
        device: where clips are rendered and batches live, a `torch.device` or a string
            (default: CUDA when available); it must exist on this machine.
        channels: 1, or 3 for upstream VideoGPT (replicated grey).
        num_clips: finite stream of clips ``0 .. num_clips - 1`` (same clips every pass), an
            integer >= 0; ``None``: clips 0, 1, 2, ... forever.
        rank, world_size: this process's shard; default: from `torch.distributed` when it is
            initialized (looked up at iteration time), else 0 and 1.
        split_frames: ``(n_past, n_future)`` adding up to the clip length: batches carry
            ``context`` (B, C, n_past, H, W) and ``target`` (B, C, n_future, H, W) instead of
            ``video`` (see `videomnist_gpu.data.prediction`); None: ``video``.
        output: ``float32``: the VideoGPT model batch; ``uint8``: the raw pixels (4x fewer bytes
            to move), to be normalized on the training device with `normalize_video`
            (`VideoMNISTDataModule(output="uint8")` does it after the batch reaches the device).
        backend: the synthesizer's backend, ``auto``, ``torch`` or ``triton`` (see `Synthesizer`);
            with ``triton`` the float32 video comes out of the same kernel launch as the pixels
            (annotations and the ``over`` composite are rendered by the torch backend).
        annotations: names from `ground_truth.ANNOTATION_NAMES` to render with every batch
            (extra keys of the same names, on `device`); default none, which costs nothing.

    On a CPU the float video of every batch is written into memory reused from earlier batches
    that nobody holds any more (`cpu_buffers.OutputPool`), never into a batch still in use.

    Shape:
        video: float32 (B, C, T, H, W) in [-0.5, 0.5] (uint8 in 0..255 with ``output="uint8"``);
            with `split_frames`, ``context`` (B, C, n_past, H, W) and ``target``
            (B, C, n_future, H, W) instead.
        label: int64 (B,), class of the first digit. labels: int64 (B, K).
        motion: int64 (B,). center, position: float32 (B, T, K, 2). angle, scale: float32
        (B, T, K). index: int64 (B,), the clip indices. The annotations asked for, as
        `Clips` holds them (e.g. instance_mask uint8 (B, T, H, W), flow float32
        (B, T-1, 2, H, W)); `split_frames` cuts only the video.
        B is `batch_size`, except in a finite stream's last global batch, which may be smaller.

    Raises:
        UsageError: (a `ValueError`) an argument is invalid, in one line that names it:
            `output` is unknown, only one of `rank`/`world_size` is given, ``rank >= world_size``,
            `config` is not a config form (see above) or fails validation, `batch_size`,
            `num_clips`, `rank` or `world_size` is not an integer at or above its minimum,
            `channels` is not 1 or 3, `split` is unknown, `split_frames` is not two
            integers >= 1 adding up to ``config.sequence_length``, `device` does not exist
            on this machine (the message lists those that do), `backend` is unknown or
            cannot run here, or `annotations` holds an unknown name.
        UsageError: at iteration, the stream is given to a DataLoader with a ``batch_size``
            (each item already is a batch: write ``DataLoader(stream, batch_size=None)``).
        RuntimeError: at iteration, the stream runs in a DataLoader worker with a non-CPU device.
        UsageError: at the first batch of a split, its digits cannot be loaded (see
            `load_digit_bank`).
    """

    def __init__(self, config: VideoMNISTConfig | dict | str, batch_size: int, split: str = "train",
                 device: torch.device | str | None = None, channels: int = 1,
                 num_clips: int | None = None, rank: int | None = None,
                 world_size: int | None = None, split_frames: tuple[int, int] | None = None,
                 output: str = "float32", backend: str = "auto",
                 annotations: str | tuple[str, ...] | None = ()) -> None:
        super().__init__()
        config = as_config(config)
        check_int("batch_size", batch_size, 1)
        check_channels(channels)
        check_split(split)
        if output not in OUTPUTS:
            raise UsageError(f"output: unknown {output!r}. Valid: {', '.join(OUTPUTS)}")
        if num_clips is not None:
            check_int("num_clips", num_clips, 0)
        if (rank is None) != (world_size is None):
            raise UsageError("rank, world_size: give both or neither (neither: from torch.distributed)")
        if world_size is not None:
            check_int("world_size", world_size, 1)
            check_int("rank", rank, 0)
            if rank >= world_size:
                raise UsageError(f"rank: must be within 0..{world_size - 1} for world_size {world_size}, got {rank}")
        self.config = config
        self.batch_size = batch_size
        self.split = split
        self.synthesizer = Synthesizer(config, device, backend=backend)
        self.device = self.synthesizer.device
        self.channels = channels
        self.split_frames = check_split_frames(split_frames, config.sequence_length)
        self.output = output
        self.annotations = check_annotations(annotations)
        self.num_clips = num_clips
        self._rank, self._world_size = rank, world_size
        self._buffers = OutputPool()  # float videos of CPU batches
        self._next_batch = 0          # global batch number where the next pass starts
        self._resumed = False         # True: the next pass starts at _next_batch even if finite

    # ------------------------------------------------------------------ sharding
    @property
    def rank(self) -> int:
        """This process's rank: as given, else `torch.distributed`'s when initialized, else 0."""
        return self._rank_world()[0]

    @property
    def world_size(self) -> int:
        """Number of ranks: as given, else `torch.distributed`'s when initialized, else 1."""
        return self._rank_world()[1]

    def _rank_world(self) -> tuple[int, int]:
        if self._world_size is not None:
            return self._rank, self._world_size
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    @property
    def next_batch(self) -> int:
        """Global batch number where the stream stands (batches yielded in the main process)."""
        return self._next_batch

    @property
    def batches_per_pass(self) -> int | None:
        """Global batches in one pass (``None``: infinite)."""
        return num_global_batches(self.num_clips, self.batch_size, self.world_size)

    # ------------------------------------------------------------------ iteration
    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        _refuse_batching_loader(sys._getframe(1))
        info = get_worker_info()
        worker_id, num_workers = (0, 0) if info is None else (info.id, info.num_workers)
        if info is not None and self.device.type != "cpu":
            raise RuntimeError(
                f"num_workers: a VideoMNISTStream on {self.device} must run in the main process "
                f"(DataLoader num_workers=0; CUDA cannot run in forked workers), got num_workers={num_workers}"
            )
        rank, world_size = self._rank_world()
        start = self._next_batch if (self._resumed or self.num_clips is None) else 0
        self._resumed = False
        return self._generate(start, rank, world_size, worker_id, num_workers, counting=info is None)

    def _generate(self, start: int, rank: int, world_size: int, worker_id: int, num_workers: int,
                  counting: bool) -> Iterator[dict[str, torch.Tensor]]:
        self._next_batch = start
        ranges = clip_ranges(self.num_clips, self.batch_size, rank, world_size,
                             worker_id, num_workers, start_batch=start)
        for batch_number, lo, hi in ranges:
            indices = torch.arange(lo, hi, dtype=torch.int64, device=self.device)  # (B,)
            fused = None
            if self.output == "float32" and self.synthesizer.backend_for(self.annotations) == "triton":
                T, H = self.config.sequence_length, self.config.image_size  # written by the render's launch
                fused = torch.empty(hi - lo, 1, T, H, H, dtype=torch.float32, device=self.device)  # (B, 1, T, H, W)
            clips = self.synthesizer.render(indices, self.split, self.annotations, float_video=fused)
            out = None
            if self.output == "float32" and self.device.type == "cpu" and fused is None:
                out = self._buffers.empty((hi - lo, 1, *clips.video.shape[1:]), torch.float32)  # (B, 1, T, H, W)
            batch = batch_from_clips(clips, self.channels, self.output, out, normalized=fused)
            if self.split_frames is not None:
                batch = split_prediction(batch, self.split_frames)
            if counting:
                self._next_batch = batch_number + 1
            yield batch
            del batch, out, fused  # keep nothing of a yielded batch: its memory is reused once the consumer drops it
        if counting and self.num_clips is not None:
            self._next_batch = self.batches_per_pass  # a full pass: the next one starts at 0

    # ------------------------------------------------------------------ resume
    def state_dict(self, next_batch: int | None = None) -> dict[str, Any]:
        """Where the stream stands, as a small JSON-serializable dict.

        Args:
            next_batch: the global batch number to resume at (= batches consumed in this pass);
                default: the batches this object has yielded in the main process.

        ``clips_yielded`` counts clips of the single-process stream consumed by all ranks
        together: ``min(next_batch * batch_size * world_size, num_clips)``.

        Returns:
            ``format_version``, ``config_hash`` (the config's fingerprint), ``seed``, ``split``,
            ``batch_size``, ``world_size``, ``num_clips`` and ``clips_yielded``.

        Raises:
            UsageError: `next_batch` is not an integer >= 0.
        """
        if next_batch is None:
            next_batch = self._next_batch
        check_int("next_batch", next_batch, 0)
        clips = next_batch * self.batch_size * self.world_size
        if self.num_clips is not None:
            clips = min(clips, self.num_clips)
        return {
            "format_version": STATE_FORMAT_VERSION,
            "config_hash": self.config.fingerprint(),
            "seed": self.config.seed,
            "split": self.split,
            "batch_size": self.batch_size,
            "world_size": self.world_size,
            "num_clips": self.num_clips,
            "clips_yielded": clips,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue where `state` stopped: the next pass starts at its position.

        A state saved at the end of a finite pass makes the next pass start at clip 0.

        Args:
            state: a dict from `state_dict` of a stream with the same config, seed, split,
                batch size, world size and number of clips.

        Raises:
            ValueError: `state` is not a dict; or, naming the field, a field is missing or does
                not match this stream, or ``clips_yielded`` is not an integer >= 0 on a batch
                boundary of this stream (a multiple of ``batch_size * world_size``, or
                ``num_clips``).
        """
        if not isinstance(state, dict):
            raise ValueError(f"state: expected a dict from VideoMNISTStream.state_dict, got {type(state).__name__}")
        mine = self.state_dict(next_batch=0)
        for field in (*_MATCHED_FIELDS, "clips_yielded"):
            if field not in state:
                raise ValueError(f"{field}: missing from the stream state")
        for field in _MATCHED_FIELDS:
            if state[field] != mine[field]:
                raise ValueError(f"{field}: the state was saved with {state[field]!r}, this stream has {mine[field]!r}")
        clips = state["clips_yielded"]
        check_int("clips_yielded", clips, 0)
        global_batch = self.batch_size * self.world_size
        end = self.num_clips is not None and clips == self.num_clips
        if (clips % global_batch and not end) or (self.num_clips is not None and clips > self.num_clips):
            raise ValueError(f"clips_yielded: {clips} is not a batch boundary of this stream "
                             f"(multiples of {global_batch}, or num_clips={self.num_clips})")
        self._next_batch = -(-clips // global_batch)
        self._resumed = True
        if end:
            self._next_batch, self._resumed = 0, False

    def __repr__(self) -> str:
        return (f"VideoMNISTStream(split={self.split!r}, batch_size={self.batch_size}, device={self.device}, "
                f"channels={self.channels}, output={self.output!r}, num_clips={self.num_clips}, "
                f"split_frames={self.split_frames}, annotations={self.annotations}, config={self.config})")


def _refuse_batching_loader(caller) -> None:
    """UsageError when `caller` (the frame that called `iter(stream)`) is a DataLoader that would
    batch the stream's batches (``DataLoader(stream, batch_size=4)``: 6-D videos).

    The DataLoader's fetcher calls `iter(dataset)` in its constructor, after storing
    ``auto_collation`` (True exactly when the loader has a ``batch_size``).
    """
    from torch.utils.data._utils.fetch import _IterableDatasetFetcher

    fetcher = caller.f_locals.get("self")
    if isinstance(fetcher, _IterableDatasetFetcher) and fetcher.auto_collation:
        raise UsageError("DataLoader: a VideoMNISTStream yields whole batches already; "
                         "write DataLoader(stream, batch_size=None) and set the batch size on the stream")
