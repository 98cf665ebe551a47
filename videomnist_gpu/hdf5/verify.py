"""`verify_file`: check an exported VideoMNIST HDF5 file against its own stored config.

Checks, in order, and reports every problem found (an empty list means the file is good):

1. structure: the required attributes and datasets exist with the right dtypes and shapes, and
   the attributes agree with the stored config (`config_json`);
2. counts: `train_videos`/`test_videos` clips, start frames 0, T, 2T, ..., exactly the same number
   of clips per class, classes interleaved (clip i has class i % 10);
3. checksums: every chunk of every dataset is read, so HDF5 verifies its fletcher32 checksum;
4. content: a seeded sample of clips is re-rendered from the stored config and compared with the
   stored pixels and ground truth (bitwise when the file was rendered on the same device type,
   within one grey level otherwise: see the README's determinism section).

A file made by `videomnist import-moving-mnist` (attribute `imported_from`) gets the structure
and checksum checks only: it holds the splits it has clips for, no ground truth beyond the
frames, no digit classes, and no seed to re-render from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch

from videomnist_gpu.errors import VideoMNISTError, check_int
from videomnist_gpu.hdf5.layout import (FORMAT_VERSION, IMPORTED_ATTR, LATER_DATASETS, REQUIRED_ATTRS, SPLIT_NAMES,
                                        CONFIG_ATTR, dataset_name, dataset_specs, decode_annotations,
                                        decode_motion_types, scalar_attr, stored_config)
from videomnist_gpu.hdf5.reader import open_hdf5
from videomnist_gpu.synth.config import VideoMNISTConfig
from videomnist_gpu.synth.digits import NUM_CLASSES

__all__ = ["verify_file", "VerifyReport", "REQUIRED_ATTRS"]

_MAX_LINES = 10
_READ_BLOCK = 64  # clips per read while checking checksums


@dataclass
class VerifyReport:
    """What `verify_file` found: `problems` (empty = good) and `checked` (what was looked at)."""

    path: str
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:160]


def _capped(lines: list[str], what: str) -> list[str]:
    if len(lines) <= _MAX_LINES:
        return lines
    return lines[:_MAX_LINES] + [f"... and {len(lines) - _MAX_LINES} more {what}"]


def verify_file(path: str | os.PathLike, num_clips: int = 32, device: torch.device | str | None = None,
                seed: int = 0) -> VerifyReport:
    """Check `path`; see the module docstring. Raises only for a file that cannot be opened.

    Args:
        num_clips: clips to re-render (a seeded pick, 3/4 train and 1/4 test); 0 skips content.
        device: where to re-render (default: CUDA when available).
        seed: seed of the pick of clips.
    """
    check_int("num_clips", num_clips, 0)
    report = VerifyReport(str(path))
    with open_hdf5(path) as f:
        config = _check_attrs(f, report)
        if config is None:
            return report
        imported = IMPORTED_ATTR in f.attrs
        counts = {}
        for split in SPLIT_NAMES:
            if imported and scalar_attr(f.attrs.get(f"{split}_videos", -1)) == 0:
                continue  # an imported file holds only the splits it has clips for
            n = _check_split_structure(f, split, config, report, imported)
            if n is not None:
                counts[split] = n
        for split in counts:
            _check_checksums(f, split, config, report)
        if imported and num_clips:
            report.checked.append(f"content: skipped (imported from {scalar_attr(f.attrs[IMPORTED_ATTR])}: "
                                  "no generator seed to re-render)")
        elif num_clips and counts and not report.problems:
            _check_content(f, config, counts, num_clips, device, seed, report)
        elif num_clips and report.problems:
            report.checked.append("content: skipped (fix the problems above first)")
    return report


# ---------------------------------------------------------------------- structure
def _check_attrs(f, report: VerifyReport) -> VideoMNISTConfig | None:
    attrs = f.attrs
    missing = [a for a in REQUIRED_ATTRS if a not in attrs]
    if missing:
        report.problems.append(f"attributes missing: {', '.join(missing)}")
        if CONFIG_ATTR in missing:
            return None
    try:
        config = stored_config(attrs)
    except ValueError as err:
        report.problems.append(f"attribute config_json is not a valid config: {err}")
        return None
    expect = {
        "sequence_length": config.sequence_length, "resolution": config.image_size, "fps": config.fps,
        "seed": config.seed, "num_digits": config.num_digits, "format_version": FORMAT_VERSION,
    }
    if IMPORTED_ATTR not in attrs:  # an imported file knows no digit classes
        expect["n_classes"] = NUM_CLASSES
    for name, want in expect.items():
        if name in attrs and scalar_attr(attrs[name]) != want:
            report.problems.append(f"attribute {name} is {scalar_attr(attrs[name])!r}, the stored config says {want!r}")
    if "motion_types" in attrs:
        stored = list(decode_motion_types(attrs["motion_types"]))
        if stored != list(config.motion_types):
            report.problems.append(f"attribute motion_types is {stored}, the stored config says {list(config.motion_types)}")
    if "channels" in attrs and scalar_attr(attrs["channels"]) not in (1, 3):
        report.problems.append(f"attribute channels is {scalar_attr(attrs['channels'])!r}, expected 1 or 3")
    report.checked.append(f"attributes: {len(REQUIRED_ATTRS) - len(missing)} of {len(REQUIRED_ATTRS)}, config parses")
    return config


def _expected_shapes(f, split: str, config: VideoMNISTConfig, n: int,
                     imported: bool = False) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """name -> (shape, dtype) a split of `n` clips must have (the layout's, at the stored channels,
    with the annotations the file lists; `LATER_DATASETS` only when present)."""
    channels = scalar_attr(f.attrs.get("channels", 1))
    specs = dataset_specs(config, channels, n, imported, annotations=decode_annotations(f.attrs))
    return {name: (spec.shape, spec.dtype) for name, spec in specs.items()
            if not (name in LATER_DATASETS and dataset_name(split, name) not in f)}


def _check_split_structure(f, split: str, config: VideoMNISTConfig, report: VerifyReport,
                           imported: bool = False) -> int | None:
    n = scalar_attr(f.attrs.get(f"{split}_videos", -1))
    if not isinstance(n, int) or n < 0:
        report.problems.append(f"attribute {split}_videos is {n!r}, expected a count of clips")
        return None
    bad = len(report.problems)
    for name, (shape, dtype) in _expected_shapes(f, split, config, n, imported).items():
        key = dataset_name(split, name)
        if key not in f:
            report.problems.append(f"dataset {key} is missing")
            continue
        ds = f[key]
        if tuple(ds.shape) != shape or ds.dtype != dtype:
            report.problems.append(f"dataset {key} is {ds.dtype} {list(ds.shape)}, expected {dtype} {list(shape)}")
        elif name == "data" and ds.chunks is not None and ds.chunks[0] != config.sequence_length:
            report.problems.append(f"dataset {key} has chunks {ds.chunks}, expected one clip ({config.sequence_length} frames) per chunk")
    if len(report.problems) > bad:
        return None
    if imported:
        idx = f[dataset_name(split, "idx")][()]
        if not np.array_equal(idx, np.arange(n, dtype=np.int64) * config.sequence_length):
            report.problems.append(f"{split}_idx: clips do not start at frames 0, T, 2T, ... (T = {config.sequence_length})")
        else:
            report.checked.append(f"{split}: {n} clips, layout and start frames (imported: no classes)")
        return n
    try:
        idx = f[dataset_name(split, "idx")][()]
        labels = f[dataset_name(split, "labels")][()]
        motion = f[dataset_name(split, "motion")][()]
    except OSError as err:
        report.problems.append(f"{split}: reading idx/labels/motion failed: {_first_line(err)}")
        return None
    t = config.sequence_length
    if not np.array_equal(idx, np.arange(n, dtype=np.int64) * t):
        wrong = np.flatnonzero(idx != np.arange(n) * t)
        report.problems.append(f"{split}_idx: clip {int(wrong[0])} starts at frame {int(idx[wrong[0]])}, expected {int(wrong[0]) * t}")
    first = labels if labels.ndim == 1 else labels[:, 0]
    per_class = np.bincount(np.clip(first, 0, NUM_CLASSES - 1), minlength=NUM_CLASSES)
    if n % NUM_CLASSES or not np.all(per_class == n // NUM_CLASSES):
        report.problems.append(f"{split}_labels: clips per class {per_class.tolist()}, expected {n // NUM_CLASSES} each")
    if not np.array_equal(first, np.arange(n) % NUM_CLASSES):
        wrong = np.flatnonzero(first != np.arange(n) % NUM_CLASSES)
        report.problems.append(f"{split}_labels: clip {int(wrong[0])} has class {int(first[wrong[0]])}, expected {int(wrong[0]) % NUM_CLASSES} (interleaved)")
    if np.any((labels < 0) | (labels >= NUM_CLASSES)):
        report.problems.append(f"{split}_labels: values outside 0..{NUM_CLASSES - 1}")
    if np.any((motion < 0) | (motion >= len(config.motion_types))):
        report.problems.append(f"{split}_motion: values outside 0..{len(config.motion_types) - 1}")
    if len(report.problems) == bad:
        report.checked.append(f"{split}: {n} clips, {n // NUM_CLASSES} per class, layout and counts")
    return n


# ---------------------------------------------------------------------- checksums
def _check_checksums(f, split: str, config: VideoMNISTConfig, report: VerifyReport) -> None:
    t = config.sequence_length
    n = scalar_attr(f.attrs[f"{split}_videos"])
    lines: list[str] = []
    for name in _expected_shapes(f, split, config, n, IMPORTED_ATTR in f.attrs):
        ds = f[dataset_name(split, name)]
        per_clip = t if name == "data" else 1
        for start in range(0, n, _READ_BLOCK):
            stop = min(n, start + _READ_BLOCK)
            try:
                ds[start * per_clip:stop * per_clip]
                continue
            except OSError:
                pass
            for clip in range(start, stop):  # locate the bad clip(s)
                try:
                    ds[clip * per_clip:(clip + 1) * per_clip]
                except OSError as err:
                    lines.append(f"{split}_{name}: clip {clip} cannot be read (checksum mismatch or corrupt chunk): "
                                 f"{_first_line(err)}")
    report.problems.extend(_capped(lines, f"unreadable {split} chunks"))
    if not lines:
        report.checked.append(f"{split}: every chunk read, fletcher32 checksums pass")


# ---------------------------------------------------------------------- content
def _check_content(f, config: VideoMNISTConfig, counts: dict[str, int], num_clips: int, device, seed: int,
                   report: VerifyReport) -> None:
    from videomnist_gpu.synth.render_triton import resolve_backend
    from videomnist_gpu.synth.synthesizer import Synthesizer, as_device

    stored_device = scalar_attr(f.attrs.get("render_device", ""))
    stored_backend = scalar_attr(f.attrs.get("render_backend", "torch"))  # older files: torch rendered them
    here = "triton" if stored_backend == "triton" and resolve_backend("auto", as_device(device)) == "triton" else "torch"
    synth = Synthesizer(config, device=device, backend=here)
    exact = stored_device == synth.device.type and stored_backend == synth.backend_for(decode_annotations(f.attrs))
    rng = np.random.default_rng(seed)
    n_test = min(counts.get("test", 0), num_clips // 4)
    n_train = min(counts.get("train", 0), num_clips - n_test)
    lines: list[str] = []
    checked = 0
    for split, k in (("train", n_train), ("test", n_test)):
        if k == 0:
            continue
        try:
            bank = synth.bank(split)
        except VideoMNISTError as err:
            report.problems.append(f"cannot re-render {split} clips: {err}")
            continue
        stored_fp = scalar_attr(f.attrs.get(f"digit_fingerprint_{split}", ""))
        if bank.fingerprint != stored_fp:
            report.problems.append(
                f"cannot re-render {split} clips: digits here ({bank.source}, sha256 {bank.fingerprint[:12]}) differ "
                f"from the file's ({scalar_attr(f.attrs.get('digit_source', '?'))}, sha256 {str(stored_fp)[:12]}); "
                f"use --digits to point at the same source")
            continue
        picks = np.sort(rng.choice(counts[split], size=k, replace=False))
        clips = synth.render(torch.from_numpy(picks.astype(np.int64)), split, decode_annotations(f.attrs))
        lines += _compare(f, split, config, picks, clips, exact)
        checked += k
    report.problems.extend(_capped(lines, "differences"))
    how = "bitwise" if exact else (f"within 1 grey level (file rendered on {stored_device or 'unknown'} by {stored_backend}, "
                                   f"here on {synth.device.type} by {synth.backend_for(decode_annotations(f.attrs))})")
    if decode_annotations(f.attrs):
        how += ", annotations too" if exact else "; annotations not compared (rendered on another device type or backend)"
    if checked:
        report.checked.append(f"content: {checked} clips re-rendered from the stored config, compared {how}")


def _compare(f, split: str, config: VideoMNISTConfig, picks: np.ndarray, clips, exact: bool) -> list[str]:
    t, k = config.sequence_length, config.num_digits
    lines = []
    video = clips.video.cpu().numpy()  # (B, T, H, W)
    tol = 0 if exact else 1
    for j, clip in enumerate(picks.tolist()):
        stored = f[dataset_name(split, "data")][clip * t:(clip + 1) * t]  # (T, H, W) or (T, H, W, 3)
        if stored.ndim == 4:
            if not (np.array_equal(stored[..., 0], stored[..., 1]) and np.array_equal(stored[..., 0], stored[..., 2])):
                lines.append(f"{split} clip {clip}: RGB channels are not equal (expected replicated gray)")
            stored = stored[..., 0]
        diff = np.abs(stored.astype(np.int16) - video[j].astype(np.int16))
        if diff.max() > tol:
            lines.append(f"{split} clip {clip}: {int((diff > tol).sum())} of {diff.size} pixels differ from a "
                         f"re-render (max difference {int(diff.max())})")
        label = f[dataset_name(split, "labels")][clip]
        want = clips.label[j].cpu().numpy()
        if not np.array_equal(np.atleast_1d(label), want[:k] if k > 1 else want[:1]):
            lines.append(f"{split} clip {clip}: label stored {np.atleast_1d(label).tolist()}, re-rendered {want.tolist()}")
        motion = int(f[dataset_name(split, "motion")][clip])
        if motion != int(clips.motion[j]):
            lines.append(f"{split} clip {clip}: motion stored {config.motion_types[motion] if 0 <= motion < len(config.motion_types) else motion}, "
                         f"re-rendered {config.motion_types[int(clips.motion[j])]}")
        for name in ("position", "angle", "scale", "center"):
            key = dataset_name(split, name)
            if key not in f:
                continue
            got = f[key][clip]
            ref = getattr(clips, name)[j].cpu().numpy()
            err = float(np.abs(got - ref).max()) if got.size else 0.0
            if (exact and not np.array_equal(got, ref)) or err > 1e-3:
                lines.append(f"{split} clip {clip}: {name} differs from a re-render (max {err:.4g})")
        for name in decode_annotations(f.attrs) if exact else ():  # elsewhere pixels, so owners, may differ
            got, ref = f[dataset_name(split, name)][clip], getattr(clips, name)[j].cpu().numpy()
            if not np.array_equal(got, ref):
                lines.append(f"{split} clip {clip}: {name} differs from a re-render in {int((got != ref).sum())} "
                             f"of {got.size} values")
    return lines
