"""MOTChallenge and YouTube-VIS files, read back with the standard readers (skipped without them)."""

import configparser
import contextlib
import json
import warnings

import numpy as np
import pytest
import torch

from videomnist_gpu import Synthesizer, UsageError, VideoMNISTConfig
from videomnist_gpu.formats.mot import write_mot
from videomnist_gpu.formats.youtube_vis import write_youtube_vis

CONFIG = VideoMNISTConfig(digits="mnist-5k", num_digits=2, sequence_length=5, image_size=48, composite="over")


@contextlib.contextmanager
def their_deprecations():
    """The readers' own deprecation warnings (py-motmetrics 1.4 under pandas 3, pycocotools' decode
    under numpy 2) are theirs to fix: ignored inside, errors everywhere else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


@pytest.fixture(scope="module")
def clips():
    return Synthesizer(CONFIG, device="cpu").render(
        torch.arange(3, 6), annotations=("instance_mask", "boxes", "amodal_boxes", "visibility"))


def test_mot_sequences_hold_frames_seqinfo_and_ground_truth(clips, tmp_path):
    from PIL import Image

    root = write_mot(clips, tmp_path / "mot", fps=CONFIG.fps)
    assert sorted(p.name for p in root.iterdir()) == ["videomnist-000003", "videomnist-000004", "videomnist-000005"]
    seq = root / "videomnist-000004"
    info = configparser.ConfigParser()
    info.read(seq / "seqinfo.ini")
    assert dict(info["Sequence"]) == {"name": "videomnist-000004", "imdir": "img1", "framerate": "10",
                                      "seqlength": "5", "imwidth": "48", "imheight": "48", "imext": ".jpg"}
    frames = sorted((seq / "img1").iterdir())
    assert [p.name for p in frames] == [f"{t:06d}.jpg" for t in range(1, 6)]
    first = np.asarray(Image.open(frames[0]))
    assert first.shape == (48, 48) and np.abs(first.astype(int) - clips.video[1, 0].numpy()).mean() < 3  # JPEG
    gt = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",", ndmin=2)  # (lines, 9)
    assert gt.shape == (5 * 2, 9)
    for frame, track, x, y, w, h, conf, cls, vis in gt:
        t, k = int(frame) - 1, int(track) - 1
        assert [x - 1, y - 1, w, h] == clips.amodal_boxes[1, t, k].tolist()  # 1-based pixels
        assert conf == 1 and cls == int(clips.label[1, k]) + 1
        assert abs(vis - float(clips.visibility[1, t, k])) < 1e-5


def test_mot_ground_truth_reads_with_py_motmetrics(clips, tmp_path):
    mm = pytest.importorskip("motmetrics")
    root = write_mot(clips, tmp_path / "mot")
    with their_deprecations():
        gt = mm.io.loadtxt(str(root / "videomnist-000003" / "gt" / "gt.txt"), fmt="mot15-2D")
    row = gt.loc[(2, 1)]  # frame 2, track 1
    assert [row["X"], row["Y"], row["Width"], row["Height"]] == clips.amodal_boxes[0, 1, 0].tolist()
    assert row["Visibility"] == pytest.approx(float(clips.visibility[0, 1, 0]), abs=1e-5)


def test_youtube_vis_json_decodes_to_the_instance_masks(clips, tmp_path):
    coco_mask = pytest.importorskip("pycocotools.mask")
    root = write_youtube_vis(clips, tmp_path / "vis")
    data = json.loads((root / "instances.json").read_text())
    assert [v["file_names"][0] for v in data["videos"]] == [f"videomnist-00000{i}/00000.jpg" for i in (3, 4, 5)]
    assert all((root / "JPEGImages" / name).exists() for v in data["videos"] for name in v["file_names"])
    assert [c["name"] for c in data["categories"]] == [str(c) for c in range(10)]
    assert len(data["annotations"]) == 3 * 2
    for ann in data["annotations"]:
        b, k = ann["video_id"] - 1, (ann["id"] - 1) % 2
        assert ann["category_id"] == int(clips.label[b, k]) + 1
        for t, (rle, box, area) in enumerate(zip(ann["segmentations"], ann["bboxes"], ann["areas"])):
            owned = (clips.instance_mask[b, t] == k + 1).numpy()
            if rle is None:
                assert not owned.any() and box is None and area is None
                continue
            with their_deprecations():
                decoded, their_area, their_box = coco_mask.decode(rle), coco_mask.area(rle), coco_mask.toBbox(rle)
            assert np.array_equal(decoded, owned.astype(np.uint8))
            assert area == int(owned.sum()) == int(their_area)
            assert box == clips.boxes[b, t, k].tolist() == their_box.tolist()


def test_a_format_that_needs_a_missing_annotation_is_one_line_and_writes_nothing(tmp_path):
    plain = Synthesizer(CONFIG, device="cpu").render(torch.arange(2), annotations=("boxes",))
    with pytest.raises(UsageError) as err:
        write_mot(plain, tmp_path / "mot")
    assert str(err.value) == ("annotations: MOTChallenge files need amodal_boxes, visibility; the clips lack "
                              "amodal_boxes, visibility (render them with annotations=...)")
    with pytest.raises(UsageError, match="^annotations: YouTube-VIS files need instance_mask, boxes; the clips lack "
                                         "instance_mask "):
        write_youtube_vis(plain, tmp_path / "vis")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "taken").mkdir()
    with pytest.raises(UsageError, match="exists; pass overwrite=True"):
        write_mot(Synthesizer(CONFIG, device="cpu").render([0], annotations=("amodal_boxes", "visibility")),
                  tmp_path / "taken")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
