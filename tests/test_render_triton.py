"""The fused Triton backend: exact against the torch backend under Triton's CPU interpreter, one
launch per render, and chosen only where it can run.

The interpreted checks run in one child process (`triton_interpret_child.py`): the interpreter
must be switched on before ``triton`` is first imported, which this test session cannot promise
(other tests, or pytest plugins, may import it first). The child renders a covering design of
configs (every built-in motion, 1-4 digits, rotation/scale off and on, both placements, both
composites, 32/64/128 px, 2/4/16/20/32 frames, both splits, a registered motion, batch
invariance) with both backends and reports the differences; the assertions live here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import fake_cuda
from videomnist_gpu import VideoMNISTConfig
from videomnist_gpu.errors import UsageError
from videomnist_gpu.synth import motions, render_triton
from videomnist_gpu.synth.render_triton import recording_launches, resolve_backend
from videomnist_gpu.synth.synthesizer import Synthesizer

ROOT = Path(__file__).resolve().parents[1]
WHOLE_PIXEL_CASES = ("svg_bounce_k2_32px_t20_test", "svg_stochastic_k2_32px_t16_sum")

needs_triton = pytest.mark.skipif(render_triton.importlib.util.find_spec("triton") is None,
                                  reason="needs triton")


@pytest.fixture(scope="module")
def interpreted() -> dict:
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "triton_interpret_child.py")], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@needs_triton
def test_fused_backend_matches_torch_under_the_interpreter(interpreted):
    assert len(interpreted) == 9
    for name, r in interpreted.items():
        where = f"{name}: {r}"
        assert r["backend"] == "triton" and r["launches"] == 1, where  # one launch, no fallback
        assert r["shapes_equal"] and r["label_equal"] and r["motion_equal"] and r["index_equal"], where
        assert r["position_max_diff"] <= 1e-3 and r["center_max_diff"] <= 1e-3 and r["angle_max_diff"] <= 1e-3 and r["scale_max_diff"] <= 1e-5, where
        assert r["video_vs_reference_max_diff"] <= 1 and r["video_vs_torch_max_diff"] <= 1, where
        assert r["ink_per_frame"] > 1000, where  # digits were drawn
    for name in WHOLE_PIXEL_CASES:  # integer trajectories: bitwise
        assert interpreted[name]["position_max_diff"] == 0 and interpreted[name]["center_max_diff"] == 0, name
    assert interpreted["all_builtins_k1_32px_t2"]["motions_covered"] == list(range(7))
    assert interpreted["all_builtins_k1_32px_t2"]["slices_equal"]  # batch-size invariance
    assert interpreted["custom_still_k2_40px_t4_rotation"]["float_equal"]  # float32 batch, 3 channels


def test_unknown_backend_is_a_usage_error():
    config = VideoMNISTConfig(digits="mnist-5k")
    with pytest.raises(UsageError, match=r"^backend: unknown 'cuda'\. Valid: auto, torch, triton$"):
        Synthesizer(config, device="cpu", backend="cuda")


@needs_triton
def test_triton_where_it_cannot_run_is_a_usage_error(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(UsageError, match="backend: 'triton' cannot run here: .*not on cpu; use --backend torch"):
        Synthesizer(VideoMNISTConfig(digits="mnist-5k"), device="cpu", backend="triton")
    monkeypatch.setattr(render_triton.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UsageError, match="Triton is not installed"):
        resolve_backend("triton", torch.device("cuda"))


def test_auto_picks_triton_on_cuda_only_when_it_is_importable(monkeypatch):
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(render_triton.importlib.util, "find_spec", lambda name: object())
    assert resolve_backend("auto", cuda) == "triton"
    assert resolve_backend("auto", cpu) == "torch" and resolve_backend("torch", cuda) == "torch"
    monkeypatch.setattr(render_triton.importlib.util, "find_spec", lambda name: None)
    assert resolve_backend("auto", cuda) == "torch"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert Synthesizer(VideoMNISTConfig(digits="mnist-5k"), device="cpu").backend == "torch"


def test_stream_and_datamodule_take_the_backend():
    from videomnist_gpu.data.datamodule import VideoMNISTDataModule
    from videomnist_gpu.data.stream import VideoMNISTStream

    config = VideoMNISTConfig(digits="mnist-5k")
    assert VideoMNISTStream(config, 2, device="cpu", backend="torch").synthesizer.backend == "torch"
    with pytest.raises(UsageError, match="^backend: unknown 'fast'"):
        VideoMNISTStream(config, 2, device="cpu", backend="fast")
    with pytest.raises(UsageError, match="^backend: unknown 'fast'"):
        VideoMNISTDataModule(config, backend="fast")
    assert VideoMNISTDataModule(config, backend="torch").hparams["backend"] == "torch"


def test_torch_backend_writes_the_float_batch_too():
    config = VideoMNISTConfig(digits="mnist-5k", sequence_length=2, image_size=32)
    synth = Synthesizer(config, device="cpu", backend="torch")
    floats = torch.empty(2, 3, 2, 32, 32)
    clips = synth.render([0, 1], float_video=floats)
    assert torch.equal(floats, (clips.video[:, None].float() / 255 - 0.5).expand(2, 3, 2, 32, 32))


@needs_triton
def test_fused_render_keeps_to_the_device_on_fake_cuda():
    """The launch wrapper creates every output on the device and syncs nothing (launch recorded, not run)."""
    config = VideoMNISTConfig(digits="mnist-5k", num_digits=2, rotation_range=10.0)
    bank = Synthesizer(config, device="cpu").bank("train")
    with fake_cuda():
        synth = Synthesizer(config, device="cuda", backend="triton")
        synth.set_bank("train", bank)
        with recording_launches(run=False) as launches:
            clips = synth.render(torch.arange(8, device="cuda"))
        assert {getattr(clips, f).device.type for f in ("video", "label", "motion", "position", "center", "angle", "scale")} == {"cuda"}
        assert clips.video.shape == (8, 16, 64, 64) and clips.position.shape == (8, 16, 2, 2)
    assert len(launches) == 1 and launches[0].programs == 8 * 16
    assert launches[0].bytes_written == 8 * (16 * 64 * 64 + 2 * 8 + 8 + 16 * 2 * 6 * 4)


@needs_triton
def test_kernel_count_of_both_backends():
    from videomnist_gpu.bench.kernel_count import count_render_kernels

    config = VideoMNISTConfig(digits="mnist-5k", sequence_length=4)
    torch_count = count_render_kernels(config, 64)
    fused = count_render_kernels(config, 64, backend="triton")
    assert torch_count.kernels > 20 and fused.kernels == 1 and dict(fused.per_op) == {"fused_render_kernel": 1}
    output = 4 * 64 * 64
    assert output <= fused.bytes_written_per_clip < torch_count.bytes_written_per_clip
    motions.register_motion("fused_count_still", lambda u, frames, bounds: (bounds.lo + 0 * u[:, None, :2]).expand(
        -1, frames.numel(), 2))
    try:  # a registered motion: the torch backend's parameters, then the one fused launch
        custom = count_render_kernels(config.replace(motion_types=["bounce", "fused_count_still"]), 64, backend="triton")
    finally:
        motions._REGISTRY.pop("fused_count_still")
        motions._FRAME_UNIFORMS.pop("fused_count_still")
    assert custom.per_op["fused_render_kernel"] == 1 and custom.kernels > 20


@needs_triton
@pytest.mark.parametrize("command", [["generate", "--output_file", "x.h5", "--videos_per_digit", "1"], ["bench", "--quick"]])
def test_cli_backend_triton_on_a_cpu_is_a_usage_error(command, tmp_path, monkeypatch, capsys):
    from videomnist_gpu.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert main([*command, "--device", "cpu", "--backend", "triton"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: backend: 'triton' cannot run here"), err
    assert list(tmp_path.iterdir()) == []


def _compile_for_sm90(config: VideoMNISTConfig, float_channels: int | None, monkeypatch) -> object:
    """Compile the fused kernel as `render_fused` would launch it for `config`, to a cubin for sm_90.

    No GPU is needed: Triton's NVIDIA backend lowers to PTX and assembles it with the ptxas it
    ships. The launch's arguments are captured on a fake CUDA device.
    """
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    captured = []

    class Capture:
        def __getitem__(self, grid):
            return lambda *args, **kwargs: captured.append((args, kwargs))

    monkeypatch.setattr(render_triton, "_kernel", lambda: Capture())
    bank = Synthesizer(config, device="cpu").bank("train")
    T, H = config.sequence_length, config.image_size
    with fake_cuda():
        synth = Synthesizer(config, device="cuda", backend="triton")
        synth.set_bank("train", bank)
        floats = None if float_channels is None else torch.empty(2, float_channels, T, H, H, device="cuda")
        synth.render(torch.arange(2, device="cuda"), float_video=floats)
    from videomnist_gpu.synth.triton_kernel import fused_render_kernel as fn

    (args, kwargs), = captured
    values = {**dict(zip(fn.arg_names, args)), **kwargs}
    pointer = {torch.uint8: "*u8", torch.int64: "*i64", torch.float32: "*fp32"}
    constexprs = {p.name: values[p.name] for p in fn.params if p.is_constexpr}
    signature = {name: "constexpr" if name in constexprs else pointer[value.dtype] if isinstance(value, torch.Tensor)
                 else "fp32" if isinstance(value, float) else "i64" for name, value in
                 ((name, values[name]) for name in fn.arg_names)}
    return triton.compile(ASTSource(fn, signature, constexprs), target=GPUTarget("cuda", 90, 32),
                          options={"num_warps": kwargs["num_warps"], "enable_fp_fusion": kwargs["enable_fp_fusion"]})


@needs_triton
@pytest.mark.parametrize("fields, float_channels", [
    # every motion (the clip's motion is chosen at run time), rotation, shrinking, 4 digits summed, float batch
    (dict(num_digits=4, composite="sum", rotation_range=10.0, scale_range=(0.5, 1.0), image_size=96,
          motion_types=("bounce", "circular", "linear", "spiral", "srivastava_bounce", "svg_bounce",
                        "svg_stochastic_bounce")), 3),
    # given parameters (a registered motion), whole-pixel placement, one sprite read per pixel
    (dict(motion_types=("bounce", "still_for_compile"), placement="integer"), None),
])
def test_the_fused_kernel_compiles_for_a_gpu(fields, float_channels, monkeypatch):
    pytest.importorskip("triton.backends.nvidia")
    motions.register_motion("still_for_compile", lambda u, frames, bounds: (bounds.lo + 0 * u[:, None, :2]).expand(
        -1, frames.numel(), 2))
    try:
        config = VideoMNISTConfig(digits="mnist-5k", sequence_length=4, **fields)
        compiled = _compile_for_sm90(config, float_channels, monkeypatch)
    finally:
        motions._REGISTRY.pop("still_for_compile")
        motions._FRAME_UNIFORMS.pop("still_for_compile")
    ptx = compiled.asm["ptx"]
    assert ".entry fused_render_kernel" in ptx and compiled.asm["cubin"]
    assert "div.full.f32" not in ptx and "sin.approx" not in ptx and "cos.approx" not in ptx  # exact divisions, libdevice sines


@needs_triton
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("fields", [
    {}, dict(num_digits=3, rotation_range=20.0, scale_range=(0.6, 1.2), composite="sum"),
    dict(placement="integer", motion_types=("srivastava_bounce", "svg_bounce", "svg_stochastic_bounce")),
])
def test_fused_on_cuda_matches_the_cpu(fields):
    config = VideoMNISTConfig(digits="mnist-5k", **fields)
    gpu = Synthesizer(config, device="cuda", backend="triton")
    with recording_launches() as launches:
        got = gpu.render(torch.arange(256, device="cuda"))
    want = Synthesizer(config, device="cpu", backend="torch").render(torch.arange(256))
    assert len(launches) == 1 and gpu.backend == "triton"
    assert torch.equal(got.label.cpu(), want.label) and torch.equal(got.motion.cpu(), want.motion)
    torch.testing.assert_close(got.position.cpu(), want.position, rtol=0, atol=1e-3)
    torch.testing.assert_close(got.center.cpu(), want.center, rtol=0, atol=1e-3)
    assert (got.video.cpu().int() - want.video.int()).abs().max() <= 1
    floats = torch.empty(256, 1, 16, 64, 64, device="cuda")
    again = gpu.render(torch.arange(256, device="cuda"), float_video=floats)
    assert torch.equal(again.video, got.video)  # bitwise on the same device
    assert torch.equal(floats, again.video[:, None].float() / torch.full((), 255.0, device="cuda") - 0.5)


@needs_triton
def test_annotations_and_over_render_with_torch_on_the_same_device():
    """The fused kernel draws neither annotations nor the ``over`` composite: such renders take the
    torch path on the device (no launch), plain renders the fused one, and both carry ``center``."""
    config = VideoMNISTConfig(digits="mnist-5k", num_digits=2, sequence_length=4)
    bank = Synthesizer(config, device="cpu").bank("train")
    with fake_cuda():
        for cfg, names, fused in ((config, (), 1), (config, ("boxes",), 0), (config.replace(composite="over"), (), 0)):
            synth = Synthesizer(cfg, device="cuda", backend="triton")
            synth.set_bank("train", bank)
            assert synth.backend_for(names) == ("triton" if fused else "torch")
            with recording_launches(run=False) as launches:
                clips = synth.render(torch.arange(4, device="cuda"), annotations=names)
            assert len(launches) == fused and synth.backend == "triton"
            assert clips.video.device.type == "cuda" and clips.center.shape == (4, 4, 2, 2)
            assert (clips.boxes is not None) == ("boxes" in names)
