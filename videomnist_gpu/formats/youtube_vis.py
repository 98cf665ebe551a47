"""YouTube-VIS style video instance segmentation: frames and one JSON of per-instance tracks.

    DIR/JPEGImages/videomnist-000003/00000.jpg ...   the frames
    DIR/instances.json                               videos, annotations, categories

Convention:
    ``videos``: id (from 1), file_names (relative to ``JPEGImages``), height, width, length.
    ``annotations``: one per digit of a clip (its track): id, video_id, category_id (digit class
    + 1), iscrowd 0, height, width, and per frame ``segmentations`` (the pixels it owns, the
    instance mask, as COCO RLE from ``pycocotools.mask.encode`` with ``counts`` a string),
    ``bboxes`` (its tight box, COCO x, y, w, h) and ``areas`` (pixels owned); all three are
    null in a frame where it owns no pixel. ``categories``: ids 1..10, names "0".."9".
    `pycocotools` (``pip install pycocotools``) is needed to write the RLE.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from videomnist_gpu.errors import UsageError
from videomnist_gpu.formats.mot import sequence_name
from videomnist_gpu.formats.output import write_frames, written_directory
from videomnist_gpu.synth.digits import NUM_CLASSES
from videomnist_gpu.synth.synthesizer import Clips

__all__ = ["write_youtube_vis"]

NEEDS = ("instance_mask", "boxes")


def write_youtube_vis(clips: Clips, directory: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write `clips` as a YouTube-VIS style dataset into `directory` (see the module docstring).

    Args:
        clips: rendered with ``annotations=("instance_mask", "boxes")`` (or more).
        directory: the folder to create.
        overwrite: replace an existing `directory`.

    Returns:
        `directory` as a `Path`, complete.

    Raises:
        UsageError: `clips` lacks an annotation this format needs, or `pycocotools` is not
            installed (nothing is written), or `directory` exists without `overwrite` or is a file.
    """
    missing = [name for name in NEEDS if getattr(clips, name) is None]
    if missing:
        raise UsageError(f"annotations: YouTube-VIS files need {', '.join(NEEDS)}; the clips lack "
                         f"{', '.join(missing)} (render them with annotations=...)")
    try:
        from pycocotools import mask as coco_mask
    except ImportError:
        raise UsageError("pycocotools: needed for YouTube-VIS RLE masks; pip install pycocotools") from None
    video = clips.video.cpu().numpy()  # (B, T, H, W)
    masks = clips.instance_mask.cpu().numpy()  # (B, T, H, W)
    boxes = clips.boxes.cpu().numpy()  # (B, T, K, 4)
    label = clips.label.cpu().numpy()  # (B, K)
    index = clips.index.cpu().numpy()  # (B,)
    B, T, H, W = video.shape
    K = boxes.shape[2]
    videos, annotations = [], []
    with written_directory(directory, overwrite) as root:
        for b in range(B):
            name = sequence_name(int(index[b]))
            files = write_frames(video[b], root / "JPEGImages" / name, first=0, digits=5)
            videos.append({"id": b + 1, "file_names": [f"{name}/{f}" for f in files], "height": H, "width": W,
                           "length": T})
            for k in range(K):
                owned = np.asfortranarray((masks[b] == k + 1).transpose(1, 2, 0).astype(np.uint8))  # (H, W, T)
                rles = coco_mask.encode(owned)  # one RLE per frame
                areas = owned.sum(axis=(0, 1))  # (T,)
                segmentations, bboxes, area = [], [], []
                for t in range(T):
                    owns = areas[t] > 0
                    segmentations.append({"size": [H, W], "counts": rles[t]["counts"].decode("ascii")} if owns else None)
                    bboxes.append([float(v) for v in boxes[b, t, k]] if owns else None)
                    area.append(int(areas[t]) if owns else None)
                annotations.append({"id": len(annotations) + 1, "video_id": b + 1,
                                    "category_id": int(label[b, k]) + 1, "iscrowd": 0, "height": H, "width": W,
                                    "length": 1, "segmentations": segmentations, "bboxes": bboxes, "areas": area})
        categories = [{"id": c + 1, "name": str(c), "supercategory": "digit"} for c in range(NUM_CLASSES)]
        with open(root / "instances.json", "w") as f:
            json.dump({"info": {"description": "VideoMNIST"}, "licenses": [], "videos": videos,
                       "annotations": annotations, "categories": categories}, f)
    return Path(directory).expanduser()
