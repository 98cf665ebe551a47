"""The prediction metrics against values computed by hand on 7x7 frames.

On a 7x7 frame SSIM's 7x7 window fits exactly once (scikit-image crops 3 px of border), so the
frame's SSIM is the closed formula over all 49 pixels, with sample (n - 1) variances:
((2 mx my + C1)(2 sxy + C2)) / ((mx^2 + my^2 + C1)(sx^2 + sy^2 + C2)), C1 = (0.01 R)^2,
C2 = (0.03 R)^2, R = data_range.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from videomnist_gpu.cli import main
from videomnist_gpu.errors import UsageError
from videomnist_gpu.evaluation.prediction_metrics import format_prediction_report, prediction_metrics


def ssim_by_hand(x: list[float], y: list[float], data_range: float) -> float:
    """SSIM of two 49-pixel frames given as lists, written out from the formula."""
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sx = sum((a - mx) ** 2 for a in x) / (n - 1)
    sy = sum((b - my) ** 2 for b in y) / (n - 1)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y)) / (n - 1)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    return (2 * mx * my + c1) * (2 * sxy + c2) / ((mx**2 + my**2 + c1) * (sx + sy + c2))


def example():
    """2 clips x 2 frames of 7x7; targets, predictions and the frames as flat lists."""
    y = np.zeros((2, 2, 7, 7), dtype=np.float32)
    x = np.zeros((2, 2, 7, 7), dtype=np.float32)
    x[0, 0, 3, 3] = 0.5  # clip 0, frame 1: one pixel 0.5 too bright
    y[0, 1], x[0, 1] = 1.0, 0.75  # clip 0, frame 2: every pixel 0.25 too dark
    y[1, 0, 0, 0] = 1.0  # clip 1, frame 1: the lit pixel overshoots to 1.2, a dark one reads 0.1
    x[1, 0, 0, 0], x[1, 0, 6, 6] = 1.2, 0.1
    y[1, 1, 2, 2], x[1, 1, 2, 2] = 0.5, 0.25  # clip 1, frame 2: one pixel half as bright
    return x, y


def test_each_metric_equals_its_hand_computed_value():
    x, y = example()
    # squared / absolute error summed over each frame's 49 pixels (prediction unclipped):
    se = {(0, 0): 0.25, (0, 1): 49 * 0.0625, (1, 0): 0.2**2 + 0.1**2, (1, 1): 0.0625}
    ae = {(0, 0): 0.5, (0, 1): 49 * 0.25, (1, 0): 0.2 + 0.1, (1, 1): 0.25}
    # PSNR per frame, prediction clipped to [0, 1] (clip 1 frame 1: 1.2 -> 1.0 leaves 0.1 off)
    psnr = {(0, 0): 10 * math.log10(49 / 0.25), (0, 1): -10 * math.log10(0.0625),
            (1, 0): 10 * math.log10(49 / 0.01), (1, 1): 10 * math.log10(49 / 0.0625)}
    clipped = np.clip(x, 0, 1)
    frames = {(c, f): (clipped[c, f].ravel().tolist(), y[c, f].ravel().tolist()) for c in (0, 1) for f in (0, 1)}
    ssim = {key: ssim_by_hand(*frames[key], 2.0) for key in frames}
    assert ssim[(0, 1)] == pytest.approx((1.5 + 0.0004) / (0.5625 + 1 + 0.0004))  # constant frames: luminance only

    result = prediction_metrics(x, y)
    for name, table in (("mse", se), ("mae", ae), ("psnr", psnr), ("ssim", ssim)):
        per_frame = [(table[(0, f)] + table[(1, f)]) / 2 for f in (0, 1)]  # mean over clips
        assert result["per_frame"][name] == pytest.approx(per_frame, rel=1e-5), name
        assert result[name] == pytest.approx(sum(per_frame) / 2, rel=1e-5), name
    assert (result["clips"], result["frames"], result["channels"], result["height"]) == (2, 2, 1, 7)

    wang = prediction_metrics(x, y, ssim_data_range=1.0)["per_frame"]["ssim"]
    assert wang[0] == pytest.approx((ssim_by_hand(*frames[(0, 0)], 1.0) + ssim_by_hand(*frames[(1, 0)], 1.0)) / 2,
                                    rel=1e-5)


def test_mse_and_mae_are_openstls_sums_over_pixels_of_means_over_clips_and_frames():
    rng = np.random.default_rng(0)
    x = rng.random((3, 4, 2, 8, 9)).astype(np.float32)  # (B, T, C, H, W) as OpenSTL holds them
    y = rng.random((3, 4, 2, 8, 9)).astype(np.float32)
    result = prediction_metrics(x, y, block_clips=2)  # blocks do not change the sums
    assert result["mse"] == pytest.approx(np.mean((x - y) ** 2, axis=(0, 1)).sum(), rel=1e-5)
    assert result["mae"] == pytest.approx(np.mean(np.abs(x - y), axis=(0, 1)).sum(), rel=1e-5)


def test_uint8_frames_are_divided_by_255_and_an_exact_frame_has_infinite_psnr():
    y = np.zeros((1, 2, 7, 7), dtype=np.uint8)
    x = y.copy()
    x[0, 0, 0, 0] = 51  # 0.2
    result = prediction_metrics(x, y)
    assert result["per_frame"]["mse"] == pytest.approx([0.04, 0.0])
    assert result["per_frame"]["psnr"][0] == pytest.approx(10 * math.log10(49 / 0.04))
    assert math.isinf(result["per_frame"]["psnr"][1]) and math.isinf(result["psnr"])  # as OpenSTL: inf
    assert result["per_frame"]["ssim"][1] == 1.0
    assert "inf" in format_prediction_report(result)


@pytest.mark.parametrize("x, y, message", [
    (np.zeros((2, 3, 7, 7)), np.zeros((2, 4, 7, 7)), "targets: shape [2, 4, 1, 7, 7] does not match"),
    (np.zeros((2, 3, 7, 7), np.int32), np.zeros((2, 3, 7, 7)), "predictions: expected uint8 or float frames"),
    (np.zeros((2, 7, 7)), np.zeros((2, 7, 7)), "predictions: expected frames (N, T, H, W)"),
    (np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 5, 5)), "smaller than SSIM's 7x7 window"),
    (np.zeros((1, 1, 7, 7)), np.full((1, 1, 7, 7), -0.5), "targets: float frames must hold intensities in [0, 1]"),
    (np.full((1, 1, 7, 7), np.nan), np.zeros((1, 1, 7, 7)), "predictions: holds NaN"),
])
def test_bad_frames_give_one_line_naming_the_argument(x, y, message):
    with pytest.raises(UsageError) as err:
        prediction_metrics(x, y)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_evaluate_command_scores_npy_files_and_writes_json(tmp_path, capsys):
    x, y = example()
    np.save(tmp_path / "preds.npy", x[:, :, None])  # OpenSTL's saved layout (N, T, C, H, W)
    np.save(tmp_path / "trues.npy", y[:, :, None])
    out = tmp_path / "metrics.json"
    assert main(["evaluate", str(tmp_path / "preds.npy"), "--targets", str(tmp_path / "trues.npy"),
                 "--output_file", str(out)]) == 0
    table = capsys.readouterr().out
    expected = prediction_metrics(x, y)
    assert f"{expected['mse']:.3f}" in table and table.count("\n") >= 4  # header, 2 frames, all
    import json

    assert json.loads(out.read_text())["per_frame"]["mse"] == pytest.approx(expected["per_frame"]["mse"])
    assert main(["evaluate", str(tmp_path / "preds.npy"), "--targets", str(tmp_path / "missing.npy")]) == 2
    assert "targets: no such file" in capsys.readouterr().err
