"""The ground truth of a clip: one table of names, dtypes, shapes and meanings.

`Clips` (attributes), stream batches (keys), `HDF5VideoDataset` items (keys) and exported files
(datasets ``{split}_{name}``) all carry ground truth under the names below, with these dtypes and
meanings. Shapes are written for a batch of B clips of T frames of H x W pixels with K digits;
a file has N clips instead of B, a reader item has no clip axis and L window frames instead of T.

Parameters come with every clip; annotations are computed only when asked for
(``annotations=(...)`` on `Synthesizer.render`, `VideoMNISTStream`, `VideoMNISTDataModule`,
``videomnist generate --annotations``): asking for none costs nothing.

    >>> [f.name for f in ANNOTATIONS]
    ['instance_mask', 'semantic_mask', 'boxes', 'amodal_boxes', 'visibility', 'flow', 'depth']
    >>> check_annotations(["boxes", "instance_mask", "boxes"])
    ('instance_mask', 'boxes')

Convention:
    Pixel coordinates: pixel (x, y) covers [x, x+1) x [y, y+1), its centre is (x + 0.5, y + 0.5);
    x grows to the right, y downwards. Angles are degrees, positive turns a digit clockwise on
    screen. Digit k of a clip is its k-th label; its track id is k (the same in every frame).
    A digit's *ink* in a frame is its own rendered layer (what the frame would show with that
    digit alone); the digit that *owns* a pixel is the one that contributes the most to it (ties
    to the lower index), and under ``composite="over"`` the front-most digit with ink there.
    Boxes are COCO ``(x, y, w, h)``: left, top, width, height in pixels; the tight box of pixels
    x0..x1, y0..y1 is ``(x0, y0, x1 - x0 + 1, y1 - y0 + 1)``. An *empty* box (no pixel) is
    ``(0, 0, 0, 0)``: test ``w == 0``.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

import numpy as np
import torch

from videomnist_gpu.errors import UsageError

__all__ = ["Field", "PARAMETERS", "ANNOTATIONS", "FIELDS", "ANNOTATION_NAMES", "check_annotations", "field_shape", "numpy_dtype"]


class Field(NamedTuple):
    """One ground-truth quantity.

    Attributes:
        name: its name everywhere (attribute, batch key, reader key, file dataset suffix).
        dtype: its torch dtype (the file stores the numpy equivalent).
        shape: its shape in a batch, e.g. ``(B, T, K, 2)``.
        frames: which axis 1 counts frames: ``"T"``, ``"T-1"`` (between consecutive frames) or
            ``""`` (none: per clip).
        meaning: one line for users.
    """

    name: str
    dtype: torch.dtype
    shape: str
    frames: str
    meaning: str


PARAMETERS = (
    Field("label", torch.int64, "(B, K)", "",
          "class of each digit (digit 0's class is index % 10); model batches and reader items call "
          "this `labels` and keep `label` for digit 0's class, VideoGPT's contract"),
    Field("motion", torch.int64, "(B,)", "", "index into config.motion_types"),
    Field("center", torch.float32, "(B, T, K, 2)", "T",
          "(x, y) of each digit's centre, pixels: the point the digit rotates and scales about"),
    Field("position", torch.float32, "(B, T, K, 2)", "T",
          "(x, y) of the top-left corner of each digit's sprite box at its scale, before rotation: "
          "center - digit_size * scale / 2"),
    Field("angle", torch.float32, "(B, T, K)", "T", "degrees, positive clockwise on screen (0 without rotation)"),
    Field("scale", torch.float32, "(B, T, K)", "T", "digit scale (1 without scaling)"),
    Field("index", torch.int64, "(B,)", "", "clip index within its split"),
)

ANNOTATIONS = (
    Field("instance_mask", torch.uint8, "(B, T, H, W)", "T",
          "0 where the video is 0, else 1 + the index of the digit that owns the pixel"),
    Field("semantic_mask", torch.uint8, "(B, T, H, W)", "T",
          "0 where the video is 0, else 1 + the class of the digit that owns the pixel"),
    Field("boxes", torch.float32, "(B, T, K, 4)", "T",
          "COCO (x, y, w, h) tight box of the pixels each digit owns; (0, 0, 0, 0) when it owns none"),
    Field("amodal_boxes", torch.float32, "(B, T, K, 4)", "T",
          "COCO (x, y, w, h) tight box of each digit's whole ink, as if nothing covered it"),
    Field("visibility", torch.float32, "(B, T, K)", "T",
          "fraction of each digit's ink on the pixels it owns, in [0, 1] (0 when it has no ink)"),
    Field("flow", torch.float32, "(B, T-1, 2, H, W)", "T-1",
          "forward optical flow (dx, dy) in pixels from frame t to t+1 of the point of the digit "
          "that owns each pixel centre of frame t; 0 where frame t is 0"),
    Field("depth", torch.int64, "(B, K)", "",
          "drawing order under composite 'over': 0 is the front-most digit; all 0 under 'max' and 'sum'"),
)

FIELDS = {f.name: f for f in (*PARAMETERS, *ANNOTATIONS)}
ANNOTATION_NAMES = tuple(f.name for f in ANNOTATIONS)


def check_annotations(names: str | Iterable[str] | None) -> tuple[str, ...]:
    """Annotation names as a tuple in `ANNOTATION_NAMES` order, without repeats.

    Args:
        names: annotation names, one name as a string, or None (none).

    Raises:
        UsageError: a name is not an annotation (the message lists the valid ones), or `names`
            is not a string or an iterable of strings.
    """
    if names is None:
        return ()
    if isinstance(names, str):
        names = (names,)
    try:
        asked = list(names)
    except TypeError:
        raise UsageError(f"annotations: expected names, got {type(names).__name__}. "
                         f"Valid: {', '.join(ANNOTATION_NAMES)}") from None
    for name in asked:
        if name not in ANNOTATION_NAMES:
            raise UsageError(f"annotations: unknown {name!r}. Valid: {', '.join(ANNOTATION_NAMES)}")
    return tuple(n for n in ANNOTATION_NAMES if n in asked)


def field_shape(name: str, B: int, T: int, K: int, H: int) -> tuple[int, ...]:
    """The concrete shape of field `name` for B clips of T frames of H x H pixels with K digits.

    >>> field_shape("flow", B=2, T=16, K=1, H=64)
    (2, 15, 2, 64, 64)
    """
    sizes = {"B": B, "T": T, "T-1": T - 1, "K": K, "H": H, "W": H}
    return tuple(sizes[d] if d in sizes else int(d) for d in FIELDS[name].shape.strip("(,)").split(", "))


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype of field `name`, as files and numpy arrays hold it.

    >>> numpy_dtype("instance_mask")
    dtype('uint8')
    """
    return np.dtype(str(FIELDS[name].dtype).removeprefix("torch."))
