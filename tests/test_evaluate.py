"""`videomnist_gpu.evaluation.evaluate`: the metrics separate real clips from damaged ones; API, CLI and inputs.

The digit classifier is trained once per session (into a temporary cache) and shared.
"""

import dataclasses
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import fake_cuda
from videomnist_gpu import Synthesizer, UsageError, VideoMNISTConfig
from videomnist_gpu.cli import main
from videomnist_gpu.evaluation.digit_classifier import load_or_train_classifier
from videomnist_gpu.evaluation.evaluate import clip_measures, evaluate, format_report, frechet_distance
from videomnist_gpu.synth.digits import load_digit_bank

CONFIG = VideoMNISTConfig(digits="mnist-5k", sequence_length=6)  # 64x64, 28 px digits
N, M = 100, 150  # clips scored, reference clips


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("classifiers")


@pytest.fixture(scope="session")
def real(cache):
    """Test clips (not used by the reference, which renders clips 0..M-1) and train clips."""
    synth = Synthesizer(CONFIG, device="cpu")
    test = synth.render(torch.arange(10_000, 10_000 + N), split="test")
    train = synth.render(torch.arange(N), split="train")
    return test.video, test.label[:, 0], train.video, train.label[:, 0]


def score(video, labels, cache, **kwargs):
    return evaluate(video, labels, reference=CONFIG, num_reference=M, device="cpu", cache_dir=cache, **kwargs)


def blur(video, times):
    x = video.float().flatten(0, 1)[:, None]  # (N*T, 1, H, W)
    for _ in range(times):
        x = F.avg_pool2d(x, 3, stride=1, padding=1)
    return x[:, 0].view(video.shape).round().clamp(0, 255).to(torch.uint8)


def noise(video, std):
    g = torch.Generator().manual_seed(1)
    return (video.float() + std * torch.randn(video.shape, generator=g)).round().clamp(0, 255).to(torch.uint8)


def test_real_test_clips_score_near_perfect(real, cache):
    video, labels, _, _ = real
    r = score(video, labels, cache)
    assert r["classifier"]["test_accuracy"] >= 0.95
    assert r["digit_accuracy"] >= 0.95 and r["clip_accuracy"] >= 0.95
    assert r["identity_consistency"] >= 0.95
    assert r["margin_frames"] == 0 and r["ink_mass_distance"] < 0.1 and r["speed_distance"] < 0.3
    assert r["smoothness"] < 2 * r["reference_smoothness"]
    assert r["not_scored"] == {}
    assert "digit_accuracy" in format_report(r)


def test_shuffled_labels_score_near_chance(real, cache):
    video, labels, _, _ = real
    shuffled = (labels + torch.randint(1, 10, labels.shape, generator=torch.Generator().manual_seed(0))) % 10
    r = score(video, shuffled, cache)  # every label wrong: chance or below
    assert r["digit_accuracy"] <= 0.1 and r["identity_consistency"] >= 0.95


def test_frames_shuffled_within_clips_are_less_smooth(real, cache):
    video, labels, _, _ = real
    order = torch.argsort(torch.rand(video.shape[:2], generator=torch.Generator().manual_seed(0)), 1)  # (N, T)
    shuffled = torch.gather(video, 1, order[:, :, None, None].expand_as(video))
    good, bad = score(video, labels, cache), score(shuffled, labels, cache)
    assert bad["smoothness"] > 3 * good["smoothness"]
    assert bad["speed_distance"] > 3 * good["speed_distance"]
    assert bad["digit_accuracy"] == good["digit_accuracy"]  # the same frames


def test_frechet_distance_orders_damage_and_real_train_beats_all(real, cache):
    video, labels, train_video, train_labels = real
    fd = {name: score(v, labels, cache)["frechet_distance"] for name, v in {
        "test": video, "blur1": blur(video, 1), "blur3": blur(video, 3), "noise20": noise(video, 20),
        "noise60": noise(video, 60), "blank": torch.zeros_like(video)}.items()}
    fd["train"] = score(train_video, train_labels, cache)["frechet_distance"]
    damaged = [fd[k] for k in ("blur1", "blur3", "noise20", "noise60", "blank")]
    assert max(fd["test"], fd["train"]) < min(damaged) / 1.5, fd
    assert fd["blur1"] < fd["blur3"] and fd["noise20"] < fd["noise60"], fd


def test_two_digit_clips_score_what_can_be_scored(cache):
    config = CONFIG.replace(num_digits=2)
    clips = Synthesizer(config, device="cpu").render(torch.arange(20), split="test")
    r = evaluate(clips.video, clips.label[:, 0], reference=config, num_reference=40, device="cpu", cache_dir=cache)
    assert r["digit_accuracy"] is None and r["identity_consistency"] is None
    assert set(r["not_scored"]) == {"digit_accuracy", "clip_accuracy", "identity_consistency"}
    assert r["frechet_distance"] >= 0 and r["speed_distance"] >= 0 and r["smoothness"] > 0


def test_a_two_digit_export_is_scored_against_its_own_config(cache, tmp_path, capsys):
    """`videomnist evaluate mm.h5` on a moving_mnist-style export: its (N, 2) labels are accepted, the
    reference is the file's own two-digit config, and the digit metrics say why they are not scored."""
    from videomnist_gpu.hdf5.export import export_dataset

    config = VideoMNISTConfig.from_yaml("moving_mnist").replace(digits="mnist-5k", sequence_length=6)
    path = export_dataset(tmp_path / "mm.h5", config, 1, 2, device="cpu")
    assert main(["evaluate", str(path), "--num_reference", "20", "--device", "cpu", "--cache_dir", str(cache),
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["clips"] == 20 and r["num_digits"] == 2 and r["reference"].startswith(f"the config of {path}")
    assert r["not_scored"]["digit_accuracy"].startswith("2 digits per clip")
    assert r["frechet_distance"] == 0 and r["speed_distance"] == 0  # the export's clips are its config's clips
    stored = np.stack([np.arange(20) % 10, np.zeros(20, dtype=np.int64)], 1)  # (N, 2) labels given in Python
    r = evaluate(path, stored, reference="videomnist", num_reference=20, device="cpu", cache_dir=cache)
    assert r["digit_accuracy"] is None and r["not_scored"]["digit_accuracy"].startswith("2 digits per clip")


def test_cli_reads_npy_with_sidecar_labels_and_writes_json(real, cache, tmp_path, capsys):
    video, labels, _, _ = real
    np.save(tmp_path / "s.npy", video[:20].numpy())
    np.save(tmp_path / "s.labels.npy", labels[:20].numpy())
    (tmp_path / "ref.yaml").write_text(CONFIG.to_yaml())
    out = tmp_path / "metrics" / "r.json"
    assert main(["evaluate", str(tmp_path / "s.npy"), "--config", str(tmp_path / "ref.yaml"), "--num_reference",
                 str(M), "--device", "cpu", "--cache_dir", str(cache), "--json", "--output_file", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text()) and printed["clips"] == 20
    assert printed["digit_accuracy"] >= 0.9  # the sidecar's labels were used
    assert not list(out.parent.glob("*.partial"))


def test_hdf5_export_as_clips_and_as_reference(cache, tmp_path):
    from videomnist_gpu.hdf5.export import export_dataset

    path = export_dataset(tmp_path / "d.h5", CONFIG, 3, 3, device="cpu")
    r = evaluate(path, reference=path, num_reference=30, split="test", device="cpu", cache_dir=cache)
    assert r["clips"] == 30 and r["digit_accuracy"] >= 0.9  # labels read from the file
    assert r["reference_clips"] == 30 and r["frechet_distance"] < 1e-6  # the same clips


def test_bad_inputs_name_the_argument(real, cache, tmp_path):
    video, labels, _, _ = real
    with pytest.raises(UsageError, match="clips"):
        score(video.float(), labels, cache)
    with pytest.raises(UsageError, match="labels"):
        score(video, labels[:3], cache)
    with pytest.raises(UsageError, match="config"):
        evaluate(video, labels, reference="no_such_preset", device="cpu", cache_dir=cache)
    for bad in (11, -1):  # one label outside 0..9, the right count
        with pytest.raises(UsageError, match=f"labels: {bad} is not a digit class"):
            score(video, torch.where(torch.arange(len(labels)) == 5, bad, labels), cache)
    assert main(["evaluate", str(tmp_path / "missing.npy"), "--cache_dir", str(cache)]) == 2


def test_frechet_distance_of_known_gaussians():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 3, generator=g)
    y = 2 * torch.randn(4000, 3, generator=g) + torch.tensor([1.0, 0.0, 0.0])
    # |mu|^2 = 1; tr(I + 4I - 2*2I) = 3 * (1 + 4 - 4) = 3
    assert float(frechet_distance(x, y)) == pytest.approx(4.0, rel=0.1)
    assert float(frechet_distance(x, x)) == pytest.approx(0.0, abs=1e-6)
    assert float(frechet_distance(x[:64] * 1e3, x[:64] * 1e3)) >= 0  # rounding never takes it below 0


def test_measures_on_fake_cuda_keep_everything_on_the_device(cache):
    classifier = load_or_train_classifier(load_digit_bank("mnist-5k", "train"), load_digit_bank("mnist-5k", "test"),
                                          CONFIG.digit_size, cache_dir=cache)
    video = Synthesizer(CONFIG, device="cpu").render(torch.arange(4), split="test").video
    with fake_cuda():
        on_gpu = dataclasses.replace(classifier, model=classifier.model.to("cuda"))
        measures = clip_measures(video.to("cuda"), on_gpu, CONFIG.margin)
        for name, value in measures.items():
            assert value.device.type == "cuda", name
        assert measures["pred"].shape == (4, 6) and measures["center"].shape == (4, 6, 2)
