"""MOTChallenge sequences of clips: frames, ``seqinfo.ini`` and ground truth ``gt/gt.txt``.

One folder per clip, as the MOTChallenge tools (TrackEval, py-motmetrics) read it:

    DIR/videomnist-000003/img1/000001.jpg ...   the frames, numbered from 1
    DIR/videomnist-000003/seqinfo.ini            name, imDir, frameRate, seqLength, imWidth, imHeight, imExt
    DIR/videomnist-000003/gt/gt.txt              frame,id,left,top,width,height,conf,class,visibility

Convention:
    One line per frame and digit, frames and ids from 1 (id = digit index + 1, the same in every
    frame). As in MOT17, the box is the digit's whole extent even where it is covered (its
    amodal box) and `visibility` says how much of it shows (the ground truth's visibility);
    conf is 1, class is the digit's class + 1. Pixel coordinates are 1-based, as MOTChallenge
    writes them (py-motmetrics subtracts 1 on reading): left = x + 1, top = y + 1 for the COCO
    box (x, y, w, h). A digit with no ink in a frame (an empty amodal box) gets no line.
"""

from __future__ import annotations

import os
from pathlib import Path

from videomnist_gpu.errors import UsageError
from videomnist_gpu.formats.output import write_frames, written_directory
from videomnist_gpu.synth.synthesizer import Clips

__all__ = ["write_mot", "sequence_name"]

NEEDS = ("amodal_boxes", "visibility")


def sequence_name(index: int) -> str:
    """The folder of clip `index`: ``videomnist-000003``."""
    return f"videomnist-{index:06d}"


def write_mot(clips: Clips, directory: str | os.PathLike, fps: int = 10, overwrite: bool = False) -> Path:
    """Write `clips` as MOTChallenge sequences into `directory` (created; see the module docstring).

    Args:
        clips: rendered with ``annotations=("amodal_boxes", "visibility")`` (or more).
        directory: the folder to create, one sequence folder per clip inside.
        fps: the frame rate written into ``seqinfo.ini`` (e.g. ``config.fps``).
        overwrite: replace an existing `directory`.

    Returns:
        `directory` as a `Path`, complete.

    Raises:
        UsageError: `clips` lacks an annotation this format needs (nothing is written), or
            `directory` exists without `overwrite` or is a file.
    """
    missing = [name for name in NEEDS if getattr(clips, name) is None]
    if missing:
        raise UsageError(f"annotations: MOTChallenge files need {', '.join(NEEDS)}; the clips lack "
                         f"{', '.join(missing)} (render them with annotations=...)")
    video = clips.video.cpu().numpy()  # (B, T, H, W)
    boxes = clips.amodal_boxes.cpu().numpy()  # (B, T, K, 4)
    visibility = clips.visibility.cpu().numpy()  # (B, T, K)
    label = clips.label.cpu().numpy()  # (B, K)
    index = clips.index.cpu().numpy()  # (B,)
    B, T, H, W = video.shape
    with written_directory(directory, overwrite) as root:
        for b in range(B):
            seq = root / sequence_name(int(index[b]))
            write_frames(video[b], seq / "img1", first=1, digits=6)
            (seq / "seqinfo.ini").write_text(
                f"[Sequence]\nname={seq.name}\nimDir=img1\nframeRate={fps}\nseqLength={T}\n"
                f"imWidth={W}\nimHeight={H}\nimExt=.jpg\n")
            lines = []
            for t in range(T):
                for k in range(boxes.shape[2]):
                    x, y, w, h = boxes[b, t, k].tolist()
                    if w > 0:
                        lines.append(f"{t + 1},{k + 1},{x + 1:g},{y + 1:g},{w:g},{h:g},1,{int(label[b, k]) + 1},"
                                     f"{float(visibility[b, t, k]):.6g}\n")
            (seq / "gt").mkdir()
            (seq / "gt" / "gt.txt").write_text("".join(lines))
    return Path(directory).expanduser()
