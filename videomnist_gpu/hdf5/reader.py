"""`HDF5VideoDataset`: read a canonical VideoMNIST HDF5 file back as VideoGPT-style samples.

A drop-in for VideoGPT's `HDF5Dataset` that avoids its traps: clips of exactly `sequence_length`
frames work, every window start can be drawn, grayscale and RGB storage both load, and a broken
file raises one clear error.

Items are *windows*: item `i` is one (clip, start) pair, enumerated clip by clip, start by start,
so a clip of T frames gives `T - sequence_length + 1` items and every valid start is one item.
(With `sequence_length == T` there is one item per clip, as in VideoGPT.) Shuffle with the
DataLoader (`shuffle=True`) for random windows; indexing is deterministic.

Convention:
    item: {'video': float32 (C, L, H, W) in [-0.5, 0.5] (u8 / 255 - 0.5), 'label': int64}
    with L = sequence_length and C = `channels` (default: as stored, 1 or 3). 'label' is the
    clip's class, a 0-d tensor; (K,) for files with K > 1 digits per clip.
    A grayscale file read with channels=3 replicates the gray; an RGB file read with channels=1
    averages the three channels (exact for our exports, which store replicated gray).
    `resolution` must equal the stored resolution (UsageError otherwise: export at the size you
    train at, `--image_size`, rather than resample).
    With `split_frames=(n_past, n_future)` (adding up to `sequence_length`) items carry
    'context' (C, n_past, H, W) and 'target' (C, n_future, H, W) instead of 'video'.
    With `ground_truth`, items also carry the clip's stored ground truth under the names of
    `videomnist_gpu.synth.ground_truth` (the class of every digit as 'labels' (K,), 'index' the
    clip's row), per-frame fields cut to the window: e.g. 'center' (L, K, 2), 'instance_mask'
    (L, H, W), 'flow' (L-1, 2, H, W).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from videomnist_gpu.data.prediction import check_split_frames, split_prediction
from videomnist_gpu.errors import UsageError, VideoMNISTError, check_choice, check_int
from videomnist_gpu.hdf5.layout import FRAME_DATASETS, dataset_name
from videomnist_gpu.synth.ground_truth import FIELDS
from videomnist_gpu.synth.pixels import normalize_video

__all__ = ["HDF5VideoDataset", "open_hdf5"]


def open_hdf5(path: str | os.PathLike, what: str = "data file"):
    """Open `path` read-only; one-line errors, naming `what`, for a missing, non-HDF5 or truncated file.

    Args:
        path: the HDF5 file.
        what: how the messages name the file (e.g. "data file").

    Returns:
        An open `h5py.File` (mode "r"); the caller closes it.

    Raises:
        UsageError: `path` does not exist, is a directory, is empty, or is not an HDF5 file.
        VideoMNISTError: h5py cannot open it (truncated or corrupt).
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise UsageError(f"{what} {str(path)!r} does not exist")
    if path.is_dir():
        raise UsageError(f"{what} {str(path)!r} is a directory, not an HDF5 file")
    if path.stat().st_size == 0:
        raise UsageError(f"{what} {str(path)!r} is empty (0 bytes), not an HDF5 file")
    try:
        if not h5py.is_hdf5(path):
            raise UsageError(f"{what} {str(path)!r} is not an HDF5 file")
        return h5py.File(path, "r")
    except OSError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise VideoMNISTError(
            f"{what} {str(path)!r} cannot be opened as HDF5 (truncated or corrupt?): {first[:160]}"
        ) from None


class HDF5VideoDataset(torch.utils.data.Dataset):
    """Windows of `sequence_length` frames from the train or test split of a VideoMNIST file.

    Args:
        path: the HDF5 file (canonical layout: `{split}_data`, `{split}_idx`, `{split}_labels`).
        sequence_length: frames per item (L), an integer >= 1; at most the shortest clip.
        train: read `train_*` (True) or `test_*` (False).
        resolution: expected frame size, an integer >= 1 (default 64); must equal the file's
            (no resampling).
        channels: 1 or 3 output channels; None keeps what the file stores.
        split_frames: (n_past, n_future) adding up to `sequence_length`: items carry 'context'
            and 'target' instead of 'video'; None: 'video'.
        ground_truth: True: items carry every ground-truth dataset the file holds (motion,
            center, position, angle, scale, the annotations it was exported with, ...) and
            'labels' and 'index'; a list of names: those only; False (default): only 'video'
            and 'label'.

    The constructor opens the file once to check its layout and read the index and labels; the
    frames are read per item through a handle opened lazily, once per process (DataLoader
    workers each open their own), so the dataset pickles and works with any `num_workers`.
    `len(dataset)` is the number of windows (see the module docstring).

    Shape:
        item['video']: float32 (C, L, H, W) in [-0.5, 0.5], ``u8 / 255 - 0.5``.
        item['label']: int64 () (the clip's class), or (K,) for files with K > 1 digits per clip.
        With `split_frames`: item['context'] (C, n_past, H, W) and item['target']
        (C, n_future, H, W) instead of item['video'].
        With `ground_truth`: item['labels'] int64 (K,), item['index'] int64 (), and each stored
        field as one clip of it (`ground_truth.FIELDS` without the clip axis), per-frame ones
        cut to the window's L frames (L-1 for 'flow').
        labels (attribute): int64 (N,) or (N, K), one row per clip of the split.

    Raises:
        UsageError: `sequence_length` or `resolution` is not an integer >= 1; `channels` is not
            1, 3 or None; `split_frames` is not two integers >= 1 adding up to
            `sequence_length`; `path` does not exist, is a directory, is empty or is not HDF5;
            `resolution` differs from the file's; `sequence_length` is longer than the
            split's shortest clip; or `ground_truth` names a field the file does not hold.
        VideoMNISTError: the file cannot be opened (truncated or corrupt); the split's datasets
            are missing (a file without that split names the first missing one, e.g.
            `test_data`); `{split}_data` is not uint8 [frames, H, W] or [frames, H, W, 3] with
            square frames; `{split}_idx` is not a non-empty 1-D integer array that starts at 0
            and increases strictly below the frame count; or `{split}_labels` is not integers
            [N] or [N, K].
    """

    def __init__(self, path: str | os.PathLike, sequence_length: int, train: bool = True,
                 resolution: int = 64, channels: int | None = None,
                 split_frames: tuple[int, int] | None = None,
                 ground_truth: bool | list[str] | tuple[str, ...] = False) -> None:
        super().__init__()
        check_int("sequence_length", sequence_length, 1)
        check_int("resolution", resolution, 1)
        if channels is not None:
            check_choice("channels", channels, (1, 3))
        self.path = str(path)
        self.sequence_length = int(sequence_length)
        self.train = bool(train)
        self.split = "train" if train else "test"
        self.resolution = int(resolution)
        self.split_frames = check_split_frames(split_frames, self.sequence_length)

        with open_hdf5(self.path) as f:
            data, idx, labels = self._check_layout(f)
            self.stored_channels = 3 if data.ndim == 4 else 1
            self.channels = self.stored_channels if channels is None else int(channels)
            self._num_frames = data.shape[0]
            starts = idx[()].astype(np.int64)  # (N,)
            self.labels = torch.from_numpy(labels[()].astype(np.int64))  # (N,) or (N, K)
            self.ground_truth = self._check_ground_truth(f, ground_truth)
        self._check_index(starts)
        ends = np.append(starts[1:], self._num_frames)  # (N,)
        lengths = ends - starts  # (N,)
        short = int(lengths.min())
        if self.sequence_length > short:
            raise UsageError(
                f"sequence_length: {self.sequence_length} is longer than the file's shortest clip "
                f"({short} frames); use sequence_length <= {short}"
            )
        windows = lengths - self.sequence_length + 1  # (N,) valid starts per clip
        self.clip_starts = starts
        self._cum_windows = np.concatenate([[0], np.cumsum(windows)])  # (N+1,)
        self._file = None
        self._pid = None

    # ------------------------------------------------------------------ validation
    def _check_layout(self, f):
        import h5py

        s = self.split
        names = [dataset_name(s, name) for name in FRAME_DATASETS]
        missing = [n for n in names if not isinstance(f.get(n), h5py.Dataset)]
        if missing:
            raise VideoMNISTError(
                f"data file {self.path!r} is not in the VideoMNIST layout: no dataset {missing[0]!r} "
                f"(found: {', '.join(sorted(f.keys())) or 'nothing'})"
            )
        data, idx, labels = (f[n] for n in names)
        rgb = data.ndim == 4 and data.shape[-1] == 3
        if data.dtype != np.uint8 or not (data.ndim == 3 or rgb):
            raise VideoMNISTError(
                f"data file {self.path!r}: {s}_data must be uint8 [frames, H, W] or [frames, H, W, 3], "
                f"got {data.dtype} {list(data.shape)}"
            )
        if data.shape[1] != data.shape[2]:
            raise VideoMNISTError(f"data file {self.path!r}: {s}_data frames are not square: {list(data.shape)}")
        if data.shape[1] != self.resolution:
            raise UsageError(
                f"resolution: the file stores {data.shape[1]}x{data.shape[2]} frames, asked for "
                f"{self.resolution}; pass resolution={data.shape[1]} or export with --image_size {self.resolution}"
            )
        if idx.ndim != 1 or idx.dtype.kind not in "iu" or idx.shape[0] == 0:
            raise VideoMNISTError(
                f"data file {self.path!r}: {s}_idx must be a non-empty 1-D integer array, got {idx.dtype} {list(idx.shape)}")
        if labels.dtype.kind not in "iu" or labels.ndim not in (1, 2) or labels.shape[0] != idx.shape[0]:
            raise VideoMNISTError(
                f"data file {self.path!r}: {s}_labels must be integers [N] or [N, K] with N = {idx.shape[0]} "
                f"clips, got {labels.dtype} {list(labels.shape)}")
        return data, idx, labels

    def _check_ground_truth(self, f, asked) -> tuple[str, ...]:
        """The ground-truth fields items carry: those of `asked` (True: all) the file holds."""
        if asked is False or asked is None:
            return ()
        stored = tuple(name for name in FIELDS
                       if name in ("label", "index") or dataset_name(self.split, name) in f)
        if asked is True:
            return stored
        names = (asked,) if isinstance(asked, str) else tuple(asked)
        for name in names:
            if name not in stored:
                raise UsageError(f"ground_truth: {self.path!r} holds no {name!r} for the {self.split} split. "
                                 f"It holds: {', '.join(stored)}")
        return tuple(n for n in stored if n in names)

    def _check_index(self, starts: np.ndarray) -> None:
        s = self.split
        if starts[0] != 0 or np.any(np.diff(starts) <= 0) or starts[-1] >= self._num_frames:
            raise VideoMNISTError(
                f"data file {self.path!r}: {s}_idx must start at 0 and increase strictly below "
                f"{self._num_frames} frames (got first {int(starts[0])}, last {int(starts[-1])})"
            )

    # ------------------------------------------------------------------ pickling / lazy open
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_file"], state["_pid"] = None, None
        return state

    def _data(self):
        if self._file is None or self._pid != os.getpid():
            self._file = open_hdf5(self.path)
            self._pid = os.getpid()
        return self._file[dataset_name(self.split, "data")]

    def close(self) -> None:
        """Close this process's handle (reopened on the next read)."""
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    # ------------------------------------------------------------------ items
    @property
    def num_clips(self) -> int:
        """Clips (N) in this split of the file."""
        return len(self.clip_starts)

    def __len__(self) -> int:
        return int(self._cum_windows[-1])

    def window(self, index: int) -> tuple[int, int]:
        """(clip, first frame within the clip) of item `index`.

        Raises:
            IndexError: `index` is outside ``-len(self) .. len(self) - 1``.
        """
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"index {index} out of range for {n} windows")
        clip = int(np.searchsorted(self._cum_windows, index, side="right") - 1)
        return clip, int(index - self._cum_windows[clip])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """Item `index` (negative counts from the end), a CPU dict as the class docstring says.

        Raises:
            IndexError: `index` is out of range.
            UsageError, VideoMNISTError: the file can no longer be opened (as in the
                constructor).
            VideoMNISTError: reading the frames failed (corrupt data, checksum mismatch).
        """
        clip, offset = self.window(int(index))
        first = int(self.clip_starts[clip]) + offset
        try:
            frames = self._data()[first:first + self.sequence_length]  # (L, H, W) or (L, H, W, 3)
            truth = self._ground_truth(clip, offset) if self.ground_truth else {}
        except OSError as err:
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise VideoMNISTError(
                f"data file {self.path!r}: reading {self.split} clip {clip} failed (corrupt data, "
                f"checksum mismatch?): {first_line[:160]}"
            ) from None
        video = torch.from_numpy(np.ascontiguousarray(frames))
        if video.ndim == 3:
            video = video[None]  # (1, L, H, W)
        else:
            video = video.permute(3, 0, 1, 2)  # (3, L, H, W)
        if self.channels != video.shape[0]:
            if self.channels == 3:
                video = video.expand(3, -1, -1, -1)  # (3, L, H, W) uint8
            else:
                video = video.float().mean(dim=0, keepdim=True)  # (1, L, H, W) in 0..255; exact for replicated gray
        video = normalize_video(video)  # (C, L, H, W) float32 in [-0.5, 0.5]
        label = self.labels[clip]
        item = {"video": video, "label": label.clone(), **truth}
        return item if self.split_frames is None else split_prediction(item, self.split_frames)

    def _ground_truth(self, clip: int, offset: int) -> dict[str, torch.Tensor]:
        """The stored ground truth of `clip`, per-frame fields cut to the window at `offset`."""
        out = {}
        for name in self.ground_truth:
            if name == "label":
                out["labels"] = self.labels[clip].reshape(-1).clone()  # (K,)
                continue
            if name == "index":
                out["index"] = torch.tensor(clip, dtype=torch.int64)
                continue
            frames = {"T": self.sequence_length, "T-1": self.sequence_length - 1}.get(FIELDS[name].frames)
            ds = self._file[dataset_name(self.split, name)]  # opened by _data() for this item
            value = ds[clip] if frames is None else ds[clip, offset:offset + frames]
            out[name] = torch.from_numpy(np.ascontiguousarray(value))
        return out
