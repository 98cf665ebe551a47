"""Score clips (a model's samples, reconstructions, any uint8 video) against real VideoMNIST clips.

    >>> import torch
    >>> from videomnist_gpu import Synthesizer, VideoMNISTConfig
    >>> from videomnist_gpu.evaluation.evaluate import evaluate
    >>> config = VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32)
    >>> clips = Synthesizer(config, device="cpu").render(torch.arange(50), split="test")
    >>> result = evaluate(clips.video, clips.label[:, 0], reference=config, num_reference=100)
    >>> result["digit_accuracy"] > 0.9, result["identity_consistency"] > 0.9
    (True, True)

What is measured (every metric is computed on each clip set; `reference_*` is the reference's own
value, the score a perfect model would get):

- **digit_accuracy** (0..1, perfect 1, chance 0.1): the fraction of frames whose digit, read by a
  small CNN (`digit_classifier`), is the clip's label. Needs labels. **clip_accuracy**: the same
  with one vote per clip (its most frequent class).
- **identity_consistency** (1/T..1, perfect 1): the mean fraction of a clip's frames that agree
  with the clip's most frequent class. No labels needed.
- **speed_distance** (px/frame, >= 0, perfect 0): the Wasserstein-1 distance between the
  distributions of per-frame speed of the ink centroid in the clips and in the reference.
- **smoothness** (px/frame^2, >= 0): the mean length of the centroid's second difference
  (acceleration); perfect is the reference's value (bounces make it non-zero), jittery or
  shuffled frames score higher.
- **margin_frames** (0..1, perfect: the reference's, 0 with default settings): frames with ink
  closer than `margin` px to the border.
- **ink_mass** (pixels of full intensity per frame), **ink_mass_distance** (>= 0, perfect 0):
  Wasserstein-1 distance between per-frame ink mass distributions divided by the reference's
  mean mass; **ink_stability** (>= 0, perfect: the reference's, 0 without scaling): the mean
  over clips of the coefficient of variation of the ink mass over time.
- **frechet_distance** (>= 0, perfect 0): the Frechet distance between Gaussians fitted to
  per-clip features of the clips and of the reference: the classifier's features averaged over
  the clip plus four motion and appearance features (speed mean and spread,
  acceleration, ink mass), each standardized by the reference. It is
  our stand-in for FVD and is comparable **only within this tool**, between clip sets of equal
  size scored against the same reference (it grows when fewer clips are given).

Convention:
    "Ink" is intensity >= 25 of 255 (fainter pixels count as background, which keeps the
    centroid of a model's noisy output on the digit). Each frame's digit is read from a square of
    `digit_size` px around the frame's ink centroid. Blank frames (no ink) have their centroid at
    the frame's centre. Clips of several digits (labels `(N, K)` with K > 1, or a reference
    with `num_digits > 1`, as in the `moving_mnist` preset and its exports) are scored too: the
    centroid then lies between the digits, so digit_accuracy, clip_accuracy and
    identity_consistency are not scored (listed in `not_scored`); motion and appearance describe
    all the ink of a frame together, and the Frechet distance uses the same features (still
    comparable within one reference).

    An HDF5 export is scored against its own config by default (the clips its config renders),
    so `videomnist evaluate mm.h5` on a `moving_mnist` export compares like with like.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from videomnist_gpu.atomic_file import atomic_file
from videomnist_gpu.errors import UsageError, check_int
from videomnist_gpu.evaluation.digit_classifier import TrainedClassifier, crop_windows, load_or_train_classifier
from videomnist_gpu.hdf5.layout import stored_config
from videomnist_gpu.interrupt import check_interrupt
from videomnist_gpu.synth.config import VideoMNISTConfig, as_config
from videomnist_gpu.synth.digits import load_digit_bank
from videomnist_gpu.synth.keyed_random import check_split
from videomnist_gpu.synth.synthesizer import Synthesizer, parse_device

__all__ = ["evaluate", "load_clips", "clip_measures", "frechet_distance", "format_report",
           "reference_config", "write_json", "classifier_for", "training_scores", "INK_FLOOR"]

INK_FLOOR = 25  # intensities below this (of 255) are background
NUM_CLASSES = 10  # digit classes 0..9
DEFAULT_REFERENCE = "videomnist"  # the reference of clips that carry no config of their own


# --------------------------------------------------------------------------- inputs


def reference_config(name_or_path: str | os.PathLike) -> VideoMNISTConfig:
    """A dataset config from a YAML path or a preset name such as `videomnist`."""
    return as_config(name_or_path, "--config")


def _is_hdf5(path: Path) -> bool:
    import h5py

    return path.is_file() and h5py.is_hdf5(path)


def load_clips(source: str | os.PathLike | Tensor | np.ndarray, split: str = "test") -> tuple[Tensor, Tensor | None]:
    """Clips and their labels (None when unknown) from a tensor, a file or an HDF5 export.

    Files: `.npy` uint8 `(N, T, H, W)` with labels from a sidecar `NAME.labels.npy` when present
    (what `videomnist sample` writes), or an HDF5 export (`split` of the canonical layout, with its
    labels).

    Shape:
        returns video uint8 `(N, T, H, W)` (CPU for files), labels int64 `(N,)` or `(N, K)`.
    """
    if isinstance(source, (Tensor, np.ndarray)):
        return _check_video(torch.as_tensor(source), "clips"), None
    path = Path(source)
    if not path.exists():
        raise UsageError(f"clips: no such file {str(path)!r}")
    if _is_hdf5(path):
        from videomnist_gpu.hdf5.clip_files import load_hdf5_samples, read_hdf5_info

        n = read_hdf5_info(path, split).num_videos
        if n == 0:
            raise UsageError(f"clips: {str(path)!r} holds no {split} clips")
        pool = load_hdf5_samples(path, split, num=n, seed=0)
        order = np.argsort(pool.index)  # file order
        return _check_video(torch.from_numpy(pool.video[order]), "clips"), torch.from_numpy(pool.label[order])
    if path.suffix != ".npy":
        raise UsageError(f"clips: {str(path)!r} is neither a .npy array nor an HDF5 export")
    try:
        video = torch.from_numpy(np.load(path, allow_pickle=False))
    except (OSError, ValueError) as err:
        raise UsageError(f"clips: cannot read {str(path)!r} as a numpy array: {err}") from None
    video = _check_video(video, "clips")
    sidecar = path.with_suffix(".labels.npy")
    labels = torch.from_numpy(np.load(sidecar, allow_pickle=False)) if sidecar.is_file() else None
    return video, labels


def _check_video(video: Tensor, name: str) -> Tensor:
    if video.dtype != torch.uint8 or video.ndim != 4 or video.shape[0] == 0:
        raise UsageError(f"{name}: expected uint8 clips (N, T, H, W) with N >= 1, got {video.dtype} {tuple(video.shape)}")
    if video.shape[2] != video.shape[3]:
        raise UsageError(f"{name}: frames must be square, got {video.shape[2]}x{video.shape[3]}")
    return video


def _check_labels(labels: Any, n: int) -> Tensor | None:
    """`labels` as int64 `(N,)` (one digit per clip) or `(N, K)` (K digits); UsageError otherwise."""
    if labels is None:
        return None
    labels = torch.as_tensor(labels)
    expected = f"one integer class per clip, shape ({n},) (or ({n}, K) for K digits per clip)"
    if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
        raise UsageError(f"labels: expected {expected}, got {labels.dtype} {tuple(labels.shape)}")
    labels = labels.long()
    outside = labels[(labels < 0) | (labels >= NUM_CLASSES)]
    if outside.numel():
        raise UsageError(f"labels: {int(outside[0])} is not a digit class. Valid: 0..{NUM_CLASSES - 1}")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim not in (1, 2) or labels.shape[0] != n or labels.numel() == 0:
        raise UsageError(f"labels: expected {expected}, got {labels.dtype} {tuple(labels.shape)}")
    return labels


def _stored_config(clips: Any, split: str) -> VideoMNISTConfig | None:
    """The config stored in `clips` when it is a videomnist HDF5 export (None otherwise)."""
    if not isinstance(clips, (str, os.PathLike)) or not _is_hdf5(Path(clips)):
        return None
    from videomnist_gpu.hdf5.clip_files import read_hdf5_info

    return stored_config(read_hdf5_info(clips, split).attrs)


# --------------------------------------------------------------------------- measures


def clip_measures(video: Tensor, classifier: TrainedClassifier, margin: int, batch_size: int = 256) -> dict[str, Tensor]:
    """Per-frame and per-clip measurements of uint8 clips, on their device.

    Returns:
        `pred` int64 `(N, T)` class of each frame; `features` `(N, F)` classifier features
        averaged over frames; `center` `(N, T, 2)` ink centroid (x, y) px; `mass` `(N, T)` ink
        mass (full-intensity pixels); `touch` bool `(N, T)` ink within `margin` px of the border.
    """
    N, T, H, W = video.shape
    preds, feats, centers, masses, touches = [], [], [], [], []
    ys = torch.arange(H, device=video.device, dtype=torch.float32) + 0.5  # (H,) pixel centres
    xs = torch.arange(W, device=video.device, dtype=torch.float32) + 0.5  # (W,)
    border = torch.ones(H, W, dtype=torch.bool, device=video.device)
    border[margin:H - margin, margin:W - margin] = False  # (H, W), True within `margin` of an edge
    for a in range(0, N, batch_size):
        frames = video[a:a + batch_size].flatten(0, 1)  # (B*T, H, W)
        ink = frames.float() * (frames >= INK_FLOOR)  # (B*T, H, W)
        mass = ink.sum((1, 2))  # (B*T,)
        safe = mass.clamp_min(1e-6)
        cx = (ink.sum(1) * xs).sum(1) / safe  # (B*T,)
        cy = (ink.sum(2) * ys).sum(1) / safe  # (B*T,)
        blank = mass == 0
        center = torch.stack([torch.where(blank, W / 2, cx), torch.where(blank, H / 2, cy)], 1)  # (B*T, 2)
        with torch.no_grad():
            f = classifier.model.features(crop_windows(frames, center, classifier.digit_size))  # (B*T, F)
            logits = classifier.model.head(f)  # (B*T, 10)
        b = frames.shape[0] // T
        preds.append(logits.argmax(1).view(b, T))
        feats.append(f.view(b, T, -1).mean(1))
        centers.append(center.view(b, T, 2))
        masses.append((mass / 255).view(b, T))
        touches.append(((frames >= INK_FLOOR) & border).flatten(1).any(1).view(b, T))
        check_interrupt()  # a safe point for Ctrl-C between batches
    return {"pred": torch.cat(preds), "features": torch.cat(feats), "center": torch.cat(centers),
            "mass": torch.cat(masses), "touch": torch.cat(touches)}


def _speed(center: Tensor) -> Tensor:
    return (center[:, 1:] - center[:, :-1]).norm(dim=-1)  # (N, T-1)


def _accel(center: Tensor) -> Tensor:
    return (center[:, 2:] - 2 * center[:, 1:-1] + center[:, :-2]).norm(dim=-1)  # (N, T-2)


def _stability(mass: Tensor) -> Tensor:
    """Coefficient of variation of each clip's ink mass over time: `(N,)` (0 for blank clips)."""
    return mass.std(1, unbiased=False) / mass.mean(1).clamp_min(1.0)


def _wasserstein1(a: Tensor, b: Tensor, points: int = 512) -> Tensor:
    """Wasserstein-1 distance between the empirical distributions of `a` and `b` (any shapes)."""
    q = (torch.arange(points, device=a.device, dtype=torch.float32) + 0.5) / points  # (P,)
    return (torch.quantile(a.flatten().float(), q) - torch.quantile(b.flatten().float(), q)).abs().mean()


def _motion_features(m: dict[str, Tensor]) -> Tensor:
    """Four per-clip features: mean and spread of the centroid speed, mean acceleration, mean ink mass.

    (Margin touches and ink stability are constant on real clips, so they are left out here:
    standardized by the reference they would swamp everything else; they are reported apart.)
    """
    speed = _speed(m["center"])  # (N, T-1)
    accel = _accel(m["center"]).mean(1) if m["center"].shape[1] > 2 else torch.zeros_like(speed[:, 0])  # (N,)
    return torch.stack([speed.mean(1), speed.std(1, unbiased=False), accel, m["mass"].mean(1)], 1)  # (N, 4)


def frechet_distance(x: Tensor, y: Tensor) -> Tensor:
    """Frechet distance between Gaussians fitted to feature rows `x` `(N, D)` and `y` `(M, D)`.

    `|mu_x - mu_y|^2 + tr(S_x + S_y - 2 (S_x S_y)^(1/2))`, computed in float64 with symmetric
    eigendecompositions (no scipy), so it runs on any device; never below 0 (a set scored against
    itself gives 0 up to rounding, ~1e-15 of its trace, never a negative rounding error such as -1e-7).
    """
    x, y = x.double(), y.double()
    mu_x, mu_y = x.mean(0), y.mean(0)
    s_x = torch.cov(x.T, correction=0).reshape(x.shape[1], x.shape[1])  # (D, D)
    s_y = torch.cov(y.T, correction=0).reshape(y.shape[1], y.shape[1])  # (D, D)
    vals, vecs = torch.linalg.eigh(s_x)
    root_x = vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T  # S_x^(1/2)
    cross = torch.linalg.eigvalsh(root_x @ s_y @ root_x).clamp_min(0).sqrt().sum()  # tr (S_x S_y)^(1/2)
    distance = ((mu_x - mu_y) ** 2).sum() + torch.trace(s_x) + torch.trace(s_y) - 2 * cross
    return distance.clamp_min(0)  # >= 0 by definition; rounding takes a set scored against itself below 0


# --------------------------------------------------------------------------- reference


def _reference_clips(reference: Any, T: int, size: int, num: int, split: str, device: torch.device,
                     root: str | os.PathLike | None, name: str | None = None) -> tuple[VideoMNISTConfig, Tensor, Tensor, str]:
    """(config, video uint8 (M, T, H, W), labels (M, K), description) of the reference (`name`: how to call a config)."""
    if isinstance(reference, (str, os.PathLike)) and _is_hdf5(Path(reference)):
        from videomnist_gpu.hdf5.clip_files import load_hdf5_samples, read_hdf5_info

        info = read_hdf5_info(reference, split)
        config = stored_config(info.attrs)
        if config is None:
            raise UsageError(f"reference: {str(reference)!r} has no config_json attribute (not a videomnist export)")
        pool = load_hdf5_samples(reference, split, num=num, seed=0)
        video, labels = torch.from_numpy(pool.video).to(device), torch.from_numpy(pool.label).to(device)
        if video.shape[1:] != (T, size, size):
            raise UsageError(f"reference: {str(reference)!r} holds clips of {tuple(video.shape[1:])}, "
                             f"the clips to score are {(T, size, size)} (T, H, W)")
        return config, video, labels, f"{reference} ({split} split, {len(video)} clips)"
    if isinstance(reference, (str, os.PathLike)):
        config, name = reference_config(reference), str(reference)
    else:  # a config or a dict of its fields
        config, name = as_config(reference, "reference"), name or "config"
    if (config.sequence_length, config.image_size) != (T, size):
        config = config.replace(sequence_length=T, image_size=size)  # as training adapts the dataset
    clips = Synthesizer(config, device=device, root=root).render(torch.arange(num, device=device), split)
    return config, clips.video, clips.label, f"{name} rendered at {T}x{size}x{size} ({split} split, {num} clips)"


# --------------------------------------------------------------------------- API


def evaluate(clips: Tensor | np.ndarray | str | os.PathLike, labels: Any = None,
             reference: VideoMNISTConfig | str | os.PathLike | None = None, *, num_reference: int = 1000,
             split: str = "test", device: torch.device | str | None = None, seed: int = 0,
             batch_size: int = 256, cache_dir: str | os.PathLike | None = None,
             root: str | os.PathLike | None = None) -> dict[str, Any]:
    """Score `clips` against a reference set of real clips (metrics: see the module docstring).

    Args:
        clips: uint8 `(N, T, H, W)` (tensor or array), or a path `load_clips` reads.
        labels: the class of each clip, int 0..9 `(N,)`, or `(N, K)` for K digits per clip;
            default: the labels stored with the clips (HDF5, `.labels.npy` sidecar), else none
            (digit_accuracy is then not scored).
        reference: a `VideoMNISTConfig`, a dict of its fields, a preset name (`videomnist`) or
            YAML path, rendered on the fly at the clips' length and size; or an HDF5 export of the same shape. Default: the
            config stored in `clips` when it is a videomnist HDF5 export, else `videomnist`.
        num_reference: reference clips (rendered, or read from the export).
        split: the reference's split (`test`: digits the classifier never saw); also the split read
            when `clips` is an HDF5 export.
        device: where everything runs (default: CUDA when available).
        seed: seed of the classifier's training (used when it is not cached yet).
        batch_size: clips measured at once.
        cache_dir: classifier cache folder (default `$VIDEOMNIST_DATA/classifiers`).
        root: where full MNIST lives, for `digits: mnist` references.

    Returns:
        A JSON-ready dict: the metrics (floats, None when not scored), `reference_*` values,
        `not_scored` (metric -> reason), `classifier` (its held-out accuracy, digit size, cache path).
    """
    check_split(split)
    check_int("num_reference", num_reference, 2)
    check_int("batch_size", batch_size, 1)
    check_int("seed", seed, 0)
    device = parse_device(device)
    video, stored = load_clips(clips, split) if isinstance(clips, (str, os.PathLike)) else (load_clips(clips)[0], None)
    video = video.to(device)
    N, T, H, _ = video.shape
    if T < 2:
        raise UsageError(f"clips: need at least 2 frames per clip to measure motion, got {T}")
    labels = _check_labels(labels if labels is not None else stored, N)
    own = _stored_config(clips, split) if reference is None else None
    reference = own or reference or DEFAULT_REFERENCE
    config, ref_video, ref_labels, ref_name = _reference_clips(reference, T, H, num_reference, split, device, root,
                                                               name=None if own is None else f"the config of {clips}")
    classifier = classifier_for(config, device, cache_dir, root, seed)
    gen = clip_measures(video, classifier, config.margin, batch_size)
    ref = clip_measures(ref_video, classifier, config.margin, batch_size)

    not_scored: dict[str, str] = {}
    out: dict[str, Any] = {"clips": N, "frames": T, "resolution": H, "reference": ref_name,
                           "reference_clips": len(ref_video), "num_digits": config.num_digits}
    digits_per_clip = max(config.num_digits, 1 if labels is None or labels.ndim == 1 else labels.shape[1])
    if digits_per_clip == 1:
        out["identity_consistency"] = _consistency(gen["pred"])
        out["reference_identity_consistency"] = _consistency(ref["pred"])
        out["clip_accuracy"] = None if labels is None else _clip_accuracy(gen["pred"], labels.to(device))
        out["digit_accuracy"] = None if labels is None else _frame_accuracy(gen["pred"], labels.to(device))
        out["reference_digit_accuracy"] = _frame_accuracy(ref["pred"], ref_labels[:, 0])
        if labels is None:
            not_scored["digit_accuracy"] = not_scored["clip_accuracy"] = "no labels given"
    else:
        for name in ("digit_accuracy", "clip_accuracy", "identity_consistency"):
            out[name] = None
            not_scored[name] = f"{digits_per_clip} digits per clip: the ink centroid lies between digits"
    speed, ref_speed = _speed(gen["center"]), _speed(ref["center"])
    out["speed_distance"] = float(_wasserstein1(speed, ref_speed))
    out["speed"], out["reference_speed"] = float(speed.mean()), float(ref_speed.mean())
    if T > 2:
        out["smoothness"], out["reference_smoothness"] = float(_accel(gen["center"]).mean()), float(_accel(ref["center"]).mean())
    else:
        out["smoothness"] = out["reference_smoothness"] = None
        not_scored["smoothness"] = "needs at least 3 frames per clip"
    out["margin_frames"], out["reference_margin_frames"] = float(gen["touch"].float().mean()), float(ref["touch"].float().mean())
    ref_mass = ref["mass"].mean()
    out["ink_mass"], out["reference_ink_mass"] = float(gen["mass"].mean()), float(ref_mass)
    out["ink_mass_distance"] = float(_wasserstein1(gen["mass"], ref["mass"]) / ref_mass.clamp_min(1.0))
    out["ink_stability"], out["reference_ink_stability"] = float(_stability(gen["mass"]).mean()), float(_stability(ref["mass"]).mean())
    ref_feat = torch.cat([ref["features"], _motion_features(ref)], 1)  # (M, F + 4)
    gen_feat = torch.cat([gen["features"], _motion_features(gen)], 1)  # (N, F + 4)
    mean, std = ref_feat.mean(0), ref_feat.std(0).clamp_min(1e-3)
    out["frechet_distance"] = float(frechet_distance((gen_feat - mean) / std, (ref_feat - mean) / std))
    out["not_scored"] = not_scored
    out["classifier"] = {"test_accuracy": classifier.test_accuracy, "digit_size": classifier.digit_size,
                         "digit_fingerprint": classifier.fingerprint, "path": str(classifier.path)}
    return out


def classifier_for(config: VideoMNISTConfig, device: torch.device | str = "cpu",
                   cache_dir: str | os.PathLike | None = None, root: str | os.PathLike | None = None,
                   seed: int = 0) -> TrainedClassifier:
    """The digit classifier of `config`'s train digits at its digit size (cached; see `digit_classifier`)."""
    return load_or_train_classifier(load_digit_bank(config.digits, "train", root=root),
                                    load_digit_bank(config.digits, "test", root=root),
                                    config.digit_size, device=device, cache_dir=cache_dir, seed=seed)


def training_scores(video: Tensor, labels: Tensor | None, classifier: TrainedClassifier, margin: int,
                    reference: Tensor | None = None) -> dict[str, float]:
    """The few scores a training loop logs: cheap (no reference rendering, no Frechet distance).

    Args:
        video: uint8 `(N, T, H, W)` generated or reconstructed clips (one digit each).
        labels: int64 `(N,)` their classes, or None.
        classifier: from `classifier_for`.
        margin: the dataset's margin in pixels.
        reference: uint8 `(M, T, H, W)` real clips to compare the speeds with, or None.

    Returns:
        `identity_consistency`, `speed`, `ink_mass`; `digit_accuracy` with labels; `smoothness`
        with T >= 3; `speed_distance` with a reference (definitions: module docstring).
    """
    m = clip_measures(video, classifier, margin)
    speed = _speed(m["center"])  # (N, T-1)
    out = {"identity_consistency": _consistency(m["pred"]), "speed": float(speed.mean()),
           "ink_mass": float(m["mass"].mean())}
    if labels is not None:
        out["digit_accuracy"] = _frame_accuracy(m["pred"], labels)
    if video.shape[1] > 2:
        out["smoothness"] = float(_accel(m["center"]).mean())
    if reference is not None:
        out["speed_distance"] = float(_wasserstein1(speed, _speed(clip_measures(reference, classifier, margin)["center"])))
    return out


def _consistency(pred: Tensor) -> float:
    counts = torch.nn.functional.one_hot(pred, 10).sum(1)  # (N, 10)
    return float((counts.max(1).values.float() / pred.shape[1]).mean())


def _frame_accuracy(pred: Tensor, labels: Tensor) -> float:
    return float((pred == labels[:, None]).float().mean())


def _clip_accuracy(pred: Tensor, labels: Tensor) -> float:
    vote = torch.nn.functional.one_hot(pred, 10).sum(1).argmax(1)  # (N,)
    return float((vote == labels).float().mean())


# --------------------------------------------------------------------------- report

_ROWS = [
    ("digit_accuracy", "reference_digit_accuracy", "frames read as their label (1 = perfect)"),
    ("clip_accuracy", None, "clips whose majority class is their label"),
    ("identity_consistency", "reference_identity_consistency", "frames agreeing with their clip's class"),
    ("speed_distance", None, "W1 distance of centroid speeds, px/frame (0 = perfect)"),
    ("speed", "reference_speed", "mean centroid speed, px/frame"),
    ("smoothness", "reference_smoothness", "mean centroid acceleration, px/frame^2"),
    ("margin_frames", "reference_margin_frames", "frames with ink inside the margin"),
    ("ink_mass", "reference_ink_mass", "ink per frame, full-intensity pixels"),
    ("ink_mass_distance", None, "W1 distance of ink mass / reference mean (0 = perfect)"),
    ("ink_stability", "reference_ink_stability", "variation of ink over time (CV)"),
    ("frechet_distance", None, "Frechet distance, this tool's features (0 = perfect)"),
]


def format_report(result: dict[str, Any]) -> str:
    """The result of `evaluate` as a readable table."""
    lines = [f"{result['clips']} clips of {result['frames']}x{result['resolution']}x{result['resolution']} "
             f"against {result['reference']}",
             f"classifier: {result['classifier']['test_accuracy']:.1%} on held-out test digits "
             f"({result['classifier']['digit_size']} px)",
             f"{'metric':<22} {'clips':>9} {'reference':>10}  meaning"]
    for key, ref_key, meaning in _ROWS:
        value, ref = result.get(key), result.get(ref_key) if ref_key else None
        lines.append(f"{key:<22} {_fmt(value):>9} {_fmt(ref) if ref_key else '':>10}  {meaning}")
    for key, reason in result["not_scored"].items():
        lines.append(f"not scored: {key} ({reason})")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


def write_json(result: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write `result` as JSON to `path` atomically (`atomic_file`); an existing file is replaced.

    Raises:
        UsageError: `path` cannot be written (see `check_output_file`; the flag is `output_file`).
    """
    with atomic_file(path, "output_file", overwrite=True) as partial:
        partial.write_text(json.dumps(result, indent=2) + "\n")
    return Path(path).expanduser()
