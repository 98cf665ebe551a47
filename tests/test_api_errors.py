"""The Python API is as strict as the command line: every bad argument of a public constructor or of
`render` raises `UsageError` (a `ValueError`) with one line that names the argument.

One table (`BAD`) of calls, each with the words its message must hold; then the forms that must
work (a config, a dict, a preset name or a YAML path, wherever a config is taken).
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from videomnist_gpu import HDF5VideoDataset, Synthesizer, UsageError, VideoMNISTConfig, VideoMNISTStream
from videomnist_gpu.data.datamodule import VideoMNISTDataModule
from videomnist_gpu.evaluation.evaluate import evaluate, frechet_distance
from videomnist_gpu.synth.config import as_config

CONFIG = VideoMNISTConfig(digits="mnist-5k", sequence_length=4, image_size=32)
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")


def synth() -> Synthesizer:
    return Synthesizer(CONFIG, device="cpu")


def stream(**kwargs) -> VideoMNISTStream:
    return VideoMNISTStream(CONFIG, **{"batch_size": 2, "device": "cpu", **kwargs})


def first_batch_of(loader: DataLoader):
    return next(iter(loader))


BAD = [  # (id, call, words the one-line message holds)
    ("config num_digits 5", lambda: VideoMNISTConfig(num_digits=5), "num_digits"),
    ("config sequence_length 1", lambda: VideoMNISTConfig(sequence_length=1), "sequence_length"),
    ("config image_size str", lambda: VideoMNISTConfig(image_size="64"), "image_size"),
    ("config seed negative", lambda: VideoMNISTConfig(seed=-1), "seed"),
    ("config seed bool", lambda: VideoMNISTConfig(seed=True), "seed"),
    ("config motion_types int", lambda: VideoMNISTConfig(motion_types=5), "motion_types"),
    ("config motion unknown", lambda: VideoMNISTConfig(motion_types="zigzag"), "zigzag"),
    ("config speed_range str", lambda: VideoMNISTConfig(speed_range="fast"), "speed_range"),
    ("config speed_range zero", lambda: VideoMNISTConfig(speed_range=(0, 1)), "speed_range"),
    ("config placement", lambda: VideoMNISTConfig(placement="nearest"), "placement"),
    ("config digits empty", lambda: VideoMNISTConfig(digits=""), "digits"),
    ("config too small", lambda: VideoMNISTConfig(image_size=16), "image_size"),
    ("from_dict unknown key", lambda: VideoMNISTConfig.from_dict({"frames": 4}), "unknown key 'frames'"),
    ("from_dict list", lambda: VideoMNISTConfig.from_dict([1]), "mapping"),
    ("from_yaml no preset", lambda: VideoMNISTConfig.from_yaml("nope"), "no such file or preset 'nope'"),
    ("from_json broken", lambda: VideoMNISTConfig.from_json("{"), "not valid JSON"),
    ("Synthesizer config int", lambda: Synthesizer(42), "config"),
    ("Synthesizer config dict bad", lambda: Synthesizer({"num_digits": 9}), "num_digits"),
    ("Synthesizer preset unknown", lambda: Synthesizer("nope"), "nope"),
    pytest.param("Synthesizer cuda", lambda: Synthesizer(CONFIG, device="cuda"), "CUDA is not available",
                 marks=NO_CUDA),
    ("Synthesizer cuda:99", lambda: Synthesizer(CONFIG, device="cuda:99"), "device"),
    ("Synthesizer tpu", lambda: Synthesizer(CONFIG, device="tpu"), "device"),
    ("render float index", lambda: synth().render(torch.tensor([0.5])), "indices"),
    ("render bool index", lambda: synth().render(torch.tensor([True, False])), "indices"),
    ("render float list", lambda: synth().render([1.0, 2.0]), "indices"),
    ("render 2-D", lambda: synth().render([[0, 1]]), "1-D"),
    ("render 0-d", lambda: synth().render(torch.tensor(3)), "1-D"),
    ("render negative", lambda: synth().render([-1]), ">= 0"),
    ("render text", lambda: synth().render("abc"), "indices"),
    ("render split", lambda: synth().render([0], split="val"), "split"),
    ("params float index", lambda: synth().params(torch.tensor([0.5])), "indices"),
    ("stream batch_size 0", lambda: stream(batch_size=0), "batch_size"),
    ("stream channels 2", lambda: stream(channels=2), "channels"),
    ("stream channels bool", lambda: stream(channels=True), "channels"),
    pytest.param("stream cuda", lambda: stream(device="cuda"), "CUDA is not available", marks=NO_CUDA),
    ("stream split", lambda: stream(split="val"), "split"),
    ("stream num_clips", lambda: stream(num_clips=-1), "num_clips"),
    ("stream output", lambda: stream(output="float16"), "output"),
    ("stream rank alone", lambda: stream(rank=0), "rank, world_size"),
    ("stream rank too big", lambda: stream(rank=2, world_size=2), "rank"),
    ("stream split_frames", lambda: stream(split_frames=(3, 3)), "split_frames"),
    ("stream config int", lambda: VideoMNISTStream(7, batch_size=2, device="cpu"), "config"),
    ("DataLoader batch_size", lambda: first_batch_of(DataLoader(stream(), batch_size=4)), "batch_size=None"),
    ("DataModule preset unknown", lambda: VideoMNISTDataModule("nope"), "nope"),
    ("DataModule channels 2", lambda: VideoMNISTDataModule(CONFIG, channels=2), "channels"),
    ("DataModule batch_size 0", lambda: VideoMNISTDataModule(CONFIG, batch_size=0), "batch_size"),
    ("DataModule output", lambda: VideoMNISTDataModule(CONFIG, output="bf16"), "output"),
    ("DataModule resolution", lambda: VideoMNISTDataModule(CONFIG, resolution=4), "image_size"),
    ("HDF5VideoDataset missing", lambda: HDF5VideoDataset("missing.h5", 4), "missing.h5"),
    ("HDF5VideoDataset channels", lambda: HDF5VideoDataset("missing.h5", 4, channels=2), "channels"),
    ("evaluate labels 11", lambda: evaluate(torch.zeros(2, 4, 32, 32, dtype=torch.uint8), [11, 1]), "11"),
    ("evaluate labels -1", lambda: evaluate(torch.zeros(2, 4, 32, 32, dtype=torch.uint8), [-1, 1]), "-1"),
    ("evaluate labels float", lambda: evaluate(torch.zeros(2, 4, 32, 32, dtype=torch.uint8), [0.5, 1.0]), "labels"),
]


def test_the_table_covers_every_public_constructor_and_render():
    ids = [row.values[0] if hasattr(row, "values") else row[0] for row in BAD]
    for name in ("config", "from_yaml", "Synthesizer", "render", "stream", "DataLoader", "DataModule",
                 "HDF5VideoDataset", "evaluate"):
        assert any(i.startswith(name) for i in ids), name


@pytest.mark.parametrize("name, call, needle", BAD, ids=[r.values[0] if hasattr(r, "values") else r[0] for r in BAD])
def test_bad_argument_is_one_usage_error(name, call, needle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as caught:
        call()
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert needle in message and "\n" not in message, message
    assert list(tmp_path.iterdir()) == []


def test_every_config_form_works_everywhere(tmp_path):
    """A config, a dict, a preset name and a YAML path mean the same config in every constructor."""
    path = tmp_path / "mine.yaml"
    path.write_text("num_digits: 2\nmotion_types: bounce\ndigits: mnist-5k\n")  # one motion as a plain string
    expected = VideoMNISTConfig(num_digits=2, motion_types=("bounce",), digits="mnist-5k")
    forms = [expected, expected.to_dict(), str(path), path]
    for form in forms:
        assert as_config(form) == expected
        assert VideoMNISTConfig.from_yaml(path) == expected
        assert Synthesizer(form, device="cpu").config == expected
        assert VideoMNISTStream(form, batch_size=2, device="cpu").config == expected
        assert VideoMNISTDataModule(form).config == expected
    moving = VideoMNISTConfig.from_yaml("moving_mnist")  # a preset name, as on the command line
    assert moving.num_digits == 2 and moving == VideoMNISTConfig.from_yaml("moving_mnist.yaml")
    assert Synthesizer("moving_mnist", device="cpu").config == moving
    assert VideoMNISTDataModule("moving_mnist", batch_size=2).config == moving
    assert VideoMNISTStream("moving_mnist", batch_size=2, device="cpu").config == moving


def test_a_dict_config_renders():
    clips = Synthesizer({"num_digits": 2, "digits": "mnist-5k", "image_size": 32, "sequence_length": 4},
                        device="cpu").render([0, 1])
    assert clips.label.shape == (2, 2) and clips.video.shape == (2, 4, 32, 32)


def test_integer_index_forms_still_render_the_same_clips():
    s = synth()
    reference = s.render(torch.arange(3)).video.clone()
    for indices in ([0, 1, 2], (0, 1, 2), torch.arange(3, dtype=torch.int32), torch.arange(3).numpy()):
        assert torch.equal(s.render(indices).video, reference)


def test_frechet_distance_of_a_set_with_itself_is_zero_up_to_rounding_and_never_negative():
    x = torch.randn(64, 12, generator=torch.Generator().manual_seed(0)) * 1e3
    spread = float(torch.cov(x.T).trace())  # ~1.2e7: the size of the terms that cancel
    assert 0.0 <= float(frechet_distance(x, x)) <= 1e-12 * spread
    assert float(frechet_distance(x, x + 1)) > 0
