"""The clips a file holds: clips 0 .. N-1 of one split of a config, rendered batch by batch.

Every writer of `videomnist_gpu.formats` takes a `ClipSource` and streams its batches into the
file, so peak memory is one batch whatever N is; clip `i` of the file is clip `i` of the
stream's split (same seed, same pixels on the same device type).

    >>> from videomnist_gpu import VideoMNISTConfig
    >>> source = ClipSource(VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32),
    ...                     num_clips=5, split="test", batch_size=2, device="cpu")
    >>> [(start, video.shape) for start, video in source.batches()]
    [(0, (2, 4, 32, 32)), (2, (2, 4, 32, 32)), (4, (1, 4, 32, 32))]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from videomnist_gpu.errors import UsageError, check_int
from videomnist_gpu.interrupt import check_interrupt
from videomnist_gpu.synth.config import VideoMNISTConfig
from videomnist_gpu.synth.keyed_random import check_split
from videomnist_gpu.synth.synthesizer import Synthesizer

__all__ = ["ClipSource"]


@dataclass
class ClipSource:
    """Clips ``0 .. num_clips - 1`` of `split`, rendered `batch_size` at a time on `device`.

    Args:
        config: the dataset description (its seed included).
        num_clips: N, the clips in the file (an integer >= 1).
        split: `train` or `test` (their own digits and random streams).
        batch_size: clips rendered at once (memory only; never changes the clips).
        device: where to render (default: CUDA when available).

    Raises:
        UsageError: `config` is not a `VideoMNISTConfig`, `num_clips` or `batch_size` is not an
            integer >= 1, or `split` is unknown.
    """

    config: VideoMNISTConfig
    num_clips: int
    split: str = "test"
    batch_size: int = 128
    device: torch.device | str | None = None
    _synth: Synthesizer | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.config, VideoMNISTConfig):
            raise UsageError(f"config: expected a VideoMNISTConfig, got {type(self.config).__name__}")
        check_int("num_clips", self.num_clips, 1)
        check_int("batch_size", self.batch_size, 1)
        check_split(self.split)

    @property
    def frames(self) -> int:
        """T, frames per clip."""
        return self.config.sequence_length

    @property
    def size(self) -> int:
        """H = W, frame side in pixels."""
        return self.config.image_size

    @property
    def synthesizer(self) -> Synthesizer:
        """The one synthesizer every batch comes from (built on first use)."""
        if self._synth is None:
            self._synth = Synthesizer(self.config, device=self.device)
        return self._synth

    def load_digits(self) -> None:
        """Load the split's digits now, so a bad digit source fails before any file is created."""
        self.synthesizer.bank(self.split)

    def batches(self) -> Iterator[tuple[int, np.ndarray]]:
        """`(start, video)` for each batch in clip order; a signal stops between batches.

        Shape:
            video: uint8 (B, T, H, W) on the CPU, clips ``start .. start + B - 1``; valid until
            the next batch is drawn (the CPU renderer reuses its memory).
        """
        for start in range(0, self.num_clips, self.batch_size):
            check_interrupt()  # a safe point: the previous batch is written
            stop = min(self.num_clips, start + self.batch_size)
            clips = self.synthesizer.render(torch.arange(start, stop, dtype=torch.int64), self.split)
            yield start, clips.video.cpu().numpy()  # (B, T, H, W)
