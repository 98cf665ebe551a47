"""Prediction splits: a clip as observed frames (`context`) and frames to predict (`target`).

Video-prediction code (SVG, PredRNN, OpenSTL and the like) expects each clip cut in two along
time. `split_prediction` makes that cut on a batch or a single item; the stream, the DataModule
and the HDF5 reader all call it when given ``split_frames=(n_past, n_future)``:

    >>> import torch
    >>> batch = {"video": torch.zeros(2, 1, 20, 64, 64), "label": torch.zeros(2, dtype=torch.int64)}
    >>> out = split_prediction(batch, (10, 10))
    >>> tuple(out["context"].shape), tuple(out["target"].shape), "video" in out
    ((2, 1, 10, 64, 64), (2, 1, 10, 64, 64), False)

Convention:
    ``video`` (..., C, T, H, W) becomes ``context`` (..., C, n_past, H, W) and ``target``
    (..., C, n_future, H, W) with ``n_past + n_future == T``: views of the same memory, in the
    same dtype and normalisation as ``video``. Every other entry passes through unchanged.
"""

from __future__ import annotations

from typing import Any, Sequence

from videomnist_gpu.errors import UsageError, is_int

__all__ = ["check_split_frames", "split_prediction"]


def check_split_frames(split_frames: Sequence[int] | None, sequence_length: int) -> tuple[int, int] | None:
    """`(n_past, n_future)` as a tuple, or None; one-line `UsageError` unless both are integers >= 1
    that add up to `sequence_length`."""
    if split_frames is None:
        return None
    ok = (isinstance(split_frames, (tuple, list)) and len(split_frames) == 2
          and all(is_int(n) and n >= 1 for n in split_frames))
    if not ok or sum(split_frames) != sequence_length:
        raise UsageError(f"split_frames: expected (n_past, n_future), integers >= 1 that add up to "
                         f"sequence_length {sequence_length}, got {split_frames!r}")
    return int(split_frames[0]), int(split_frames[1])


def split_prediction(batch: dict[str, Any], split_frames: tuple[int, int]) -> dict[str, Any]:
    """`batch` with ``video`` replaced by ``context`` and ``target`` (views, see the module docstring)."""
    n_past, n_future = split_frames
    video = batch["video"]  # (..., C, T, H, W)
    out = {key: value for key, value in batch.items() if key != "video"}
    out["context"] = video[..., :n_past, :, :]  # (..., C, n_past, H, W)
    out["target"] = video[..., n_past:n_past + n_future, :, :]  # (..., C, n_future, H, W)
    return out
