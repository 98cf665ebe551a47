"""The canonical VideoMNIST HDF5 layout: dataset names, dtypes, shapes, chunks, attributes.

This module owns what a VideoMNIST file holds; the writer (`export`), the importer
(`moving_mnist`), the verifier (`verify`), the reader (`reader`), the sample loader
(`viz.samples`) and the evaluator (`evaluation.evaluate`) all take the layout from here. It may import only
numpy, h5py (lazily), the config, the digit classes, the ground-truth description and the
package version; it reads and writes no clips itself.

Layout (format version 1), for split `s` in `train`, `test`; N clips of T frames, K digits:

    s_data      uint8  [N*T, H, W]   ([N*T, H, W, 3] with channels=3, gray replicated)
    s_idx       int64  [N]           start frame of each clip: 0, T, 2T, ...
    s_labels    int64  [N]           class of the clip's digit ([N, K] when K > 1)
    s_motion    int64  [N]           index into the `motion_types` attribute
    s_position  float32 [N, T, K, 2] (x, y) of each digit box's top-left corner, pixels
    s_angle     float32 [N, T, K]    degrees (only when rotation is on)
    s_scale     float32 [N, T, K]    (only when scaling is on)
    s_center    float32 [N, T, K, 2] (x, y) of each digit's centre, pixels (files written by
                                     earlier versions lack it: `LATER_DATASETS`)
    s_{name}    the annotations listed in the `annotations` attribute, each [N, ...] as
                `videomnist_gpu.synth.ground_truth` describes it for one clip, e.g.
                s_instance_mask uint8 [N, T, H, W], s_flow float32 [N, T-1, 2, H, W]

The names, dtypes and meanings of every dataset but data and idx are those of
`videomnist_gpu.synth.ground_truth` (`labels` is its `label`).

An imported file (attribute `imported_from`) holds only `s_data`, `s_idx`, `s_labels`.

Chunks: the data one clip per chunk (`(T, H, W[, 3])`, so a random clip read is one chunk read),
and so are the per-pixel annotations (masks and flow); idx/labels/motion/depth in blocks of up
to 4096 clips, position/angle/scale/center, boxes and visibility in blocks of up to 256.

Attributes (`REQUIRED_ATTRS`, plus `render_device` and `render_backend` on an export and `imported_from`,
`source_sha256` on an import): plain scalars and strings, except `motion_types`, an array of
variable-length strings (`write_attrs` / `decode_motion_types`), and `config_json`, the full
config as JSON (`decode_config`), and `annotations`, the annotation datasets the file holds, an
array of variable-length strings (absent: none; `decode_annotations`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from videomnist_gpu.version import __version__
from videomnist_gpu.synth.config import VideoMNISTConfig
from videomnist_gpu.synth.digits import NUM_CLASSES
from videomnist_gpu.synth.ground_truth import FIELDS, check_annotations, field_shape, numpy_dtype

__all__ = [
    "FORMAT_VERSION",
    "SPLIT_NAMES",
    "FRAME_DATASETS",
    "REQUIRED_ATTRS",
    "IMPORTED_ATTR",
    "CONFIG_ATTR",
    "stored_config",
    "ANNOTATIONS_ATTR",
    "LATER_DATASETS",
    "DatasetSpec",
    "dataset_name",
    "dataset_specs",
    "file_attrs",
    "write_attrs",
    "decode_attr",
    "scalar_attr",
    "decode_motion_types",
    "decode_config",
    "decode_annotations",
]

FORMAT_VERSION = 1
SPLIT_NAMES = ("train", "test")
FRAME_DATASETS = ("data", "idx", "labels")  # what every file holds per split, an imported one too
CONFIG_ATTR = "config_json"  # the full VideoMNISTConfig as JSON (`stored_config` reads it)
REQUIRED_ATTRS = (
    "sequence_length", "resolution", "fps", "n_classes", "train_videos", "test_videos", "motion_types",
    "seed", CONFIG_ATTR, "digit_source", "digit_fingerprint_train", "digit_fingerprint_test",
    "package_version", "format_version", "channels", "num_digits",
)
IMPORTED_ATTR = "imported_from"
ANNOTATIONS_ATTR = "annotations"
LATER_DATASETS = ("center",)  # per split; a file written by an earlier version may lack them
_STRING_ARRAY_ATTRS = ("motion_types", ANNOTATIONS_ATTR)
_INDEX_CHUNK_CLIPS = 4096  # clips per chunk of idx, labels, motion
_SMALL_CHUNK_CLIPS = 256  # clips per chunk of position, angle, scale


class DatasetSpec(NamedTuple):
    """One dataset of a split: full shape, chunk shape and dtype."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype


def dataset_name(split: str, name: str) -> str:
    """The HDF5 name of dataset `name` (`data`, `idx`, ...) of `split`: `{split}_{name}`."""
    return f"{split}_{name}"


def dataset_specs(config: VideoMNISTConfig, channels: int, n: int, imported: bool = False,
                  annotations: tuple[str, ...] = ()) -> dict[str, DatasetSpec]:
    """name (without the split prefix) -> `DatasetSpec` of a split of `n` clips, in writing order.

    `imported`: only the frame datasets (`FRAME_DATASETS`), as `import-moving-mnist` writes them.
    `annotations`: names from `ground_truth.ANNOTATION_NAMES` whose datasets follow the others.

    Shape:
        data (N*T, H, W) or (N*T, H, W, 3); idx, motion (N,); labels (N,) or (N, K);
        position, center (N, T, K, 2); angle, scale (N, T, K); an annotation: its ground-truth
        shape with N clips.
    """
    t, hw, k = config.sequence_length, config.image_size, config.num_digits
    frame = (hw, hw, 3) if channels == 3 else (hw, hw)
    index_chunk = min(n, _INDEX_CHUNK_CLIPS)
    small = min(n, _SMALL_CHUNK_CLIPS)
    label_shape = () if k == 1 else (k,)
    out = {
        "data": DatasetSpec((n * t, *frame), (t, *frame), np.dtype(np.uint8)),
        "idx": DatasetSpec((n,), (index_chunk,), np.dtype(np.int64)),
        "labels": DatasetSpec((n, *label_shape), (index_chunk, *label_shape), np.dtype(np.int64)),
    }
    if imported:
        return out
    out["motion"] = DatasetSpec((n,), (index_chunk,), np.dtype(np.int64))
    out["position"] = DatasetSpec((n, t, k, 2), (small, t, k, 2), np.dtype(np.float32))
    if config.rotation_range != 0:
        out["angle"] = DatasetSpec((n, t, k), (small, t, k), np.dtype(np.float32))
    if config.scale_range != (1.0, 1.0):
        out["scale"] = DatasetSpec((n, t, k), (small, t, k), np.dtype(np.float32))
    out["center"] = DatasetSpec((n, t, k, 2), (small, t, k, 2), np.dtype(np.float32))
    for name in check_annotations(annotations):
        shape = field_shape(name, n, t, k, hw)
        per_pixel = shape[-2:] == (hw, hw)
        rows = 1 if per_pixel else (small if FIELDS[name].frames else index_chunk)
        out[name] = DatasetSpec(shape, (max(1, min(n, rows)), *shape[1:]), numpy_dtype(name))
    return out


def file_attrs(config: VideoMNISTConfig, *, channels: int, counts: dict[str, int], digit_source: str,
               fingerprints: dict[str, str], n_classes: int = NUM_CLASSES,
               render_device: str | None = None, render_backend: str | None = None,
               annotations: tuple[str, ...] = ()) -> dict[str, Any]:
    """The file attributes (`REQUIRED_ATTRS`, then `render_device`, `render_backend` and
    `annotations` when given), in writing order.

    Args:
        counts: clips per split (`train_videos`, `test_videos`).
        fingerprints: sha256 of the digits per split (`digit_fingerprint_{split}`).
        n_classes: digit classes (1 for an imported file, whose classes are unknown).
        render_device: the device type that rendered the pixels (`verify` expects bitwise equality
            on the same type).
        render_backend: the synthesizer backend that rendered them (``torch`` or ``triton``; a
            file without it was rendered by ``torch``).
        annotations: the annotation datasets the file holds.
    """
    attrs = {
        "sequence_length": config.sequence_length,
        "resolution": config.image_size,
        "fps": config.fps,
        "n_classes": n_classes,
        "train_videos": counts["train"],
        "test_videos": counts["test"],
        "motion_types": np.array(list(config.motion_types), dtype=object),
        "seed": config.seed,
        CONFIG_ATTR: config.to_json(),
        "digit_source": digit_source,
        "digit_fingerprint_train": fingerprints["train"],
        "digit_fingerprint_test": fingerprints["test"],
        "package_version": __version__,
        "format_version": FORMAT_VERSION,
        "channels": channels,
        "num_digits": config.num_digits,
    }
    if render_device is not None:
        attrs["render_device"] = render_device
    if render_backend is not None:
        attrs["render_backend"] = render_backend
    if annotations:
        attrs[ANNOTATIONS_ATTR] = np.array(list(annotations), dtype=object)
    return attrs


def write_attrs(f, attrs: dict[str, Any]) -> None:
    """Write `attrs` to the open h5py file `f`, in order; `motion_types` and `annotations` as
    variable-length strings."""
    import h5py

    for key, value in attrs.items():
        if key in _STRING_ARRAY_ATTRS:
            f.attrs.create(key, value, dtype=h5py.string_dtype())
        else:
            f.attrs[key] = value


def decode_attr(value: Any) -> Any:
    """An HDF5 attribute as plain Python (bytes decoded, arrays as lists, numpy scalars unwrapped)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [decode_attr(v) for v in value.tolist()]
    if isinstance(value, list):
        return [decode_attr(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def scalar_attr(value: Any) -> Any:
    """An HDF5 attribute read as one Python scalar (a one-element array unwrapped, bytes decoded)."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode()
    return value


def decode_motion_types(value: Any) -> tuple[str, ...]:
    """The `motion_types` attribute (strings, bytes, or one string) as a tuple of names."""
    return tuple(m.decode() if isinstance(m, bytes) else str(m) for m in np.atleast_1d(value))


def decode_config(value: Any) -> VideoMNISTConfig:
    """The `config_json` attribute (str or bytes) as a config; `ValueError` when it is not one."""
    return VideoMNISTConfig.from_json(value.decode() if isinstance(value, bytes) else str(value))


def stored_config(attrs: Any) -> VideoMNISTConfig | None:
    """The config a file's attributes (`h5py` attrs or a dict) store; None when they store none.

    Raises:
        ValueError: the `config_json` attribute is there but is not a valid config.
    """
    return decode_config(attrs[CONFIG_ATTR]) if CONFIG_ATTR in attrs else None


def decode_annotations(attrs: Any) -> tuple[str, ...]:
    """The annotation datasets a file holds, from its attributes (`annotations`; absent: none)."""
    if ANNOTATIONS_ATTR not in attrs:
        return ()
    return decode_motion_types(attrs[ANNOTATIONS_ATTR])
