"""A small CNN that reads the digit in a frame: the judge of `videomnist_gpu.evaluation.evaluate`.

The classifier sees a 16x16 window resampled from a square of `digit_size` pixels around a point
(`crop_windows`). Training draws the same windows from the digit bank's train sprites (rendered
at `digit_size`, as the synthesizer renders them), with small random shifts, zooms, contrast and
blur so that imperfect model outputs are still read; the bank's test split is held out and the
accuracy on it is reported. A trained classifier is cached on disk, keyed by the train digits'
fingerprint and the digit size, and written atomically (`PATH.partial`, then renamed).

Convention:
    Frames and sprites are uint8 or float in 0..255; windows are float32 `(B, 1, 16, 16)` in
    0..1. Centres are (x, y) in pixels of the frame, pixel `i` covering `[i, i + 1)`.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from videomnist_gpu.atomic_file import atomic_file, check_output_file
from videomnist_gpu.synth.digits import DigitBank, default_data_root

__all__ = ["DigitClassifier", "TrainedClassifier", "crop_windows", "load_or_train_classifier",
           "classifier_cache_path"]

WINDOW = 16  # classifier input side, whatever the digit size
FEATURES = 64  # width of the feature layer (used by the Frechet distance)
_VERSION = 1  # bump when the architecture or the training recipe changes (invalidates caches)
_TRAIN_STEPS = 1000
_TRAIN_BATCH = 128


class DigitClassifier(nn.Module):
    """Two conv blocks and two linear layers over 16x16 windows.

    Shape:
        - `features(x)`: float `(B, 1, 16, 16)` in 0..1 -> `(B, FEATURES)`.
        - `forward(x)`: -> logits `(B, 10)`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 16, 8, 8)
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 4, 4)
            nn.Flatten(), nn.Linear(32 * 4 * 4, FEATURES), nn.ReLU(),
        )
        self.head = nn.Linear(FEATURES, 10)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


@dataclass(frozen=True)
class TrainedClassifier:
    """A classifier in eval mode with what it was trained on.

    `test_accuracy` is its accuracy on the bank's held-out test digits (clean windows).
    """

    model: DigitClassifier
    digit_size: int
    fingerprint: str
    test_accuracy: float
    path: Path


def crop_windows(frames: Tensor, center: Tensor, size: float | Tensor) -> Tensor:
    """16x16 windows of side `size` px centred on `center`, bilinear, zeros outside the frame.

    Args:
        frames: `(B, H, W)` uint8 or float in 0..255.
        center: float `(B, 2)`, (x, y) in pixels.
        size: side of the square read from each frame, in pixels (a number or `(B,)`).

    Shape:
        returns float32 `(B, 1, 16, 16)` in 0..1.
    """
    B, H, W = frames.shape
    x = frames[:, None].float() / 255  # (B, 1, H, W)
    size = torch.as_tensor(size, dtype=torch.float32, device=frames.device).expand(B)  # (B,)
    theta = torch.zeros(B, 2, 3, device=frames.device)
    theta[:, 0, 0] = size / W
    theta[:, 1, 1] = size / H
    theta[:, 0, 2] = center[:, 0] * 2 / W - 1
    theta[:, 1, 2] = center[:, 1] * 2 / H - 1
    grid = F.affine_grid(theta, [B, 1, WINDOW, WINDOW], align_corners=False)  # (B, 16, 16, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _augmented_batch(sprites: Tensor, generator: torch.Generator) -> Tensor:
    """Windows of random sprites with random shift, zoom, contrast and blur: `(B, 1, 16, 16)`."""
    B, S, _ = sprites.shape
    dev = sprites.device

    def uniform(lo: float, hi: float, *shape: int) -> Tensor:
        return lo + (hi - lo) * torch.rand(*shape, generator=generator, device=dev)

    center = S / 2 + uniform(-0.12, 0.12, B, 2) * S  # (B, 2): the ink centroid misses by a few px
    windows = crop_windows(sprites, center, S * uniform(0.85, 1.15, B))  # (B, 1, 16, 16)
    blurred = F.avg_pool2d(windows, 3, stride=1, padding=1, count_include_pad=False)
    mix = uniform(0, 1, B, 1, 1, 1) * (torch.rand(B, 1, 1, 1, generator=generator, device=dev) < 0.5)
    windows = torch.lerp(windows, blurred, mix)  # half of them blurred a little
    return (windows * uniform(0.6, 1.0, B, 1, 1, 1)).clamp(0, 1)  # contrast


def _clean_windows(sprites: Tensor) -> Tensor:
    S = sprites.shape[-1]
    center = torch.full((sprites.shape[0], 2), S / 2, device=sprites.device)
    return crop_windows(sprites, center, S)  # (N, 1, 16, 16)


def classifier_cache_path(fingerprint: str, digit_size: int, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the classifier of train digits `fingerprint` at `digit_size` px is cached.

    `cache_dir` defaults to `classifiers/` under `$VIDEOMNIST_DATA` (else `~/.cache/videomnist`).
    """
    root = Path(cache_dir) if cache_dir is not None else default_data_root() / "classifiers"
    return root / f"digit_cnn_v{_VERSION}_{fingerprint[:16]}_{digit_size}px.pt"


@torch.no_grad()
def _accuracy(model: DigitClassifier, windows: Tensor, labels: Tensor) -> float:
    return float((model(windows).argmax(1) == labels).float().mean())


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device):
    """Train on one CPU thread: a model this small gains nothing from more, and on a busy machine
    the threads' barriers made training many times slower (measured on 2 shared cores: 11 ms of CPU
    per step on one thread; 2 threads took minutes of wall time for what one thread did in 30 s)."""
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _train(train: DigitBank, test: DigitBank, device: torch.device, steps: int, seed: int) -> tuple[DigitClassifier, float]:
    # Gradients on even when called from a model's validation (Lightning runs it in inference mode).
    with _one_cpu_thread(device), torch.inference_mode(False), torch.enable_grad():
        return _train_steps(train, test, device, steps, seed)


def _train_steps(train: DigitBank, test: DigitBank, device: torch.device, steps: int, seed: int) -> tuple[DigitClassifier, float]:
    generator = torch.Generator(device=device).manual_seed(seed)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        model = DigitClassifier().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    images = train.images.to(device).clone()  # (N, S, S), a normal tensor even if loaded in inference mode
    labels = train.labels.to(device).clone()  # (N,)
    for _ in range(steps):
        pick = torch.randint(0, len(images), (_TRAIN_BATCH,), generator=generator, device=device)  # (B,)
        loss = F.cross_entropy(model(_augmented_batch(images[pick], generator)), labels[pick])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    model.eval()
    accuracy = _accuracy(model, _clean_windows(test.images.to(device)), test.labels.to(device))
    return model, accuracy


def load_or_train_classifier(train: DigitBank, test: DigitBank, digit_size: int,
                             device: torch.device | str = "cpu", cache_dir: str | os.PathLike | None = None,
                             steps: int = _TRAIN_STEPS, seed: int = 0) -> TrainedClassifier:
    """The digit classifier for `train`'s digits at `digit_size` px, from the cache or trained now.

    Training takes `steps` Adam steps of 128 augmented windows (about 12 s of CPU time on one core),
    then measures the accuracy on `test` (held-out digits). The result is saved at
    `classifier_cache_path(...)` (atomically) and loaded from there next time.

    Args:
        train: the train digits (any size; resized to `digit_size`).
        test: held-out digits of the same source.
        digit_size: sprite side in the clips to be read.
        device: where the classifier runs.
        cache_dir: folder of cached classifiers (default `$VIDEOMNIST_DATA/classifiers`).
        steps, seed: the training recipe (part of the cache key only through `_VERSION`; a
            cached classifier is used as is).
    """
    device = torch.device(device)
    path = classifier_cache_path(train.fingerprint, digit_size, cache_dir)
    if path.is_file():
        state = torch.load(path, map_location=device, weights_only=True)
        model = DigitClassifier().to(device)
        model.load_state_dict(state["state_dict"])
        return TrainedClassifier(model.eval(), digit_size, train.fingerprint, float(state["test_accuracy"]), path)
    check_output_file(path, "cache_dir", overwrite=True)  # before training: the cache must be writable
    start = time.perf_counter()
    model, accuracy = _train(train.resized(digit_size), test.resized(digit_size), device, steps, seed)
    with atomic_file(path, "cache_dir", overwrite=True, unique=True) as partial:  # other processes may race
        torch.save({"state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "test_accuracy": accuracy,
                    "digit_size": digit_size, "fingerprint": train.fingerprint,
                    "train_seconds": time.perf_counter() - start}, partial)
    return TrainedClassifier(model, digit_size, train.fingerprint, accuracy, path)
