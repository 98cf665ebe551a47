"""`Synthesizer`: clip indices in, `Clips` out, on any torch device.

The one entry point that stream, export, visualization, benchmarks and models call:

    >>> import torch
    >>> from videomnist_gpu import Synthesizer, VideoMNISTConfig
    >>> clips = Synthesizer(VideoMNISTConfig(digits="mnist-5k"), device="cpu").render(torch.arange(4))
    >>> tuple(clips.video.shape), clips.video.dtype
    ((4, 16, 64, 64), torch.uint8)
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from videomnist_gpu.errors import UsageError
from videomnist_gpu.synth.annotations import annotate
from videomnist_gpu.synth.config import VideoMNISTConfig, as_config
from videomnist_gpu.synth.cpu_buffers import OutputPool, scratch
from videomnist_gpu.synth.cpu_threads import check_threads, render_threads
from videomnist_gpu.synth.digits import DigitBank, load_digit_bank
from videomnist_gpu.synth.ground_truth import FIELDS, check_annotations, field_shape
from videomnist_gpu.synth.keyed_random import check_split
from videomnist_gpu.synth.params import ClipParams, draw_clip_params, draw_depth
from videomnist_gpu.synth.pixels import normalize_video
from videomnist_gpu.synth.render_fast import render_fast
from videomnist_gpu.synth.render_triton import render_fused, resolve_backend

__all__ = ["Clips", "Synthesizer", "as_device", "available_devices", "default_device", "parse_device"]

_log = logging.getLogger("videomnist_gpu")


@dataclass(frozen=True)
class Clips:
    """A batch of rendered clips with their ground truth, as `Synthesizer.render` returns it.

    B clips of T = `config.sequence_length` frames of H = W = `config.image_size` pixels, with
    K = `config.num_digits` digits each. Every tensor is on the synthesizer's device. `len(clips)`
    is B. Every field but `video` is ground truth as `videomnist_gpu.synth.ground_truth`
    describes it; the annotations (`instance_mask` ... `depth`) are None unless `render` was asked
    for them.

    Shape:
        video: uint8 (B, T, H, W) in 0..255.
        label: int64 (B, K), class of each digit (column 0 cycles 0..9 with the clip index).
        motion: int64 (B,), index into `config.motion_types`.
        position: float32 (B, T, K, 2), (x, y) of each digit box's top-left corner, pixels
            (the box is the sprite at its current scale, before rotation).
        angle: float32 (B, T, K), degrees (all 0 when `rotation_range` is 0).
        scale: float32 (B, T, K) (all 1 when `scale_range` is (1, 1)).
        index: int64 (B,), the clip indices.
        center: float32 (B, T, K, 2), (x, y) of each digit's centre, pixels.
        instance_mask, semantic_mask: uint8 (B, T, H, W). boxes, amodal_boxes: float32
            (B, T, K, 4). visibility: float32 (B, T, K). flow: float32 (B, T-1, 2, H, W).
            depth: int64 (B, K).
    """

    video: torch.Tensor
    label: torch.Tensor
    motion: torch.Tensor
    position: torch.Tensor
    angle: torch.Tensor
    scale: torch.Tensor
    index: torch.Tensor
    center: torch.Tensor | None = None
    instance_mask: torch.Tensor | None = None
    semantic_mask: torch.Tensor | None = None
    boxes: torch.Tensor | None = None
    amodal_boxes: torch.Tensor | None = None
    visibility: torch.Tensor | None = None
    flow: torch.Tensor | None = None
    depth: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.video.shape[0]

    def ground_truth(self) -> dict[str, torch.Tensor]:
        """Every ground-truth field these clips carry (annotations only when rendered), by name,
        in `ground_truth.FIELDS` order."""
        return {name: getattr(self, name) for name in FIELDS if getattr(self, name) is not None}


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def as_device(name: str | torch.device | None) -> torch.device:
    """A device name (or device) as a `torch.device`; None: `default_device()`.

    Only the name is checked, not whether the device exists here (`parse_device` checks both).

    Raises:
        UsageError: `name` is not a device name torch knows.
    """
    if name is None:
        return default_device()
    try:
        return torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise UsageError(f"device: unknown device {name!r}. Valid: cpu, cuda, cuda:N, mps") from None


def available_devices() -> list[str]:
    """The devices clips can be rendered on here: `cpu`, each `cuda:N`, and `mps` where available."""
    cuda = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    mps = ["mps"] if hasattr(torch.backends, "mps") and torch.backends.mps.is_available() else []
    return ["cpu", *cuda, *mps]


def parse_device(name: str | torch.device | None) -> torch.device:
    """A device name (or device) that exists here, as a `torch.device`; None: `default_device()`.

    Args:
        name: `cpu`, `cuda`, `cuda:N`, `mps`, a `torch.device`, or `None` for `default_device()`.

    Raises:
        UsageError: one line, naming the devices this machine has, when `name` is not a device
            torch knows, is not cpu/cuda/mps, asks for CUDA or MPS where it is not available, or
            for a CUDA index that does not exist. Inside a `FakeTensorMode` (tests that pretend
            to have a GPU) only the name is checked.
    """
    device = as_device(name)
    here = f"Available here: {', '.join(available_devices())}"
    if device.type not in ("cpu", "cuda", "mps"):
        raise UsageError(f"device: unsupported device {str(name)!r}. Valid: cpu, cuda, cuda:N, mps. {here}")
    if device.type == "cpu" or _pretending_devices():
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device: {str(name)!r} requested but CUDA is not available. {here}")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"device: {str(name)!r} does not exist. {here}")
    elif not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise UsageError(f"device: {str(name)!r} requested but MPS is not available. {here}")
    return device


def _pretending_devices() -> bool:
    """True inside a `FakeTensorMode`, where tensors of any device carry no data."""
    from torch._guards import detect_fake_mode

    return detect_fake_mode() is not None


# On a CPU the render draws the parameters of up to _CPU_BATCH_CLIPS default clips at once and
# renders their pixels in slices of up to _CPU_AFFINE_SLICE_CLIPS clips with rotation/scale,
# whose temporaries are larger; fewer for longer or larger clips. The temporaries stay in cache
# and in reused scratch buffers of bounded size, and each slice is written straight into the
# returned video. A GPU renders a batch in one call.
_CPU_BATCH_CLIPS = 128
_CPU_AFFINE_SLICE_CLIPS = 32
_ACCELERATOR_BATCH = 512


class Synthesizer:
    """Renders clips of `config` on `device`; digit banks load lazily, once per split.

    A clip is a pure function of (config, digits, split, index): the same index renders the same
    clip bitwise in any batch on the same device type (across devices, pixels may differ by
    rounding only). Constructing one reads no files; the first `render` or
    `params` of a split loads its digits (`load_digit_bank(config.digits, split, root)`).

    Args:
        config: the dataset description: a `VideoMNISTConfig`, a dict of its fields, a preset
            name (`moving_mnist`) or a YAML path (see `as_config`).
        device: where digits live and clips are rendered: a `torch.device` or a string such as
            `cpu`, `cuda`, `cuda:1` (default: CUDA when available, else CPU).
        root: where full MNIST lives (default `$VIDEOMNIST_DATA` or `~/.cache/videomnist`).
        threads: on a CPU, the intra-op threads the render's torch operations use (default 1,
            whatever ``torch.get_num_threads()`` says; see `videomnist_gpu.synth.cpu_threads`).
        backend: ``torch`` (parameters, then the patch renderer: the CPU path and the
            reference), ``triton`` (one fused kernel launch per render, `render_triton`; CUDA, or
            the CPU under ``TRITON_INTERPRET=1``) or ``auto`` (default: ``triton`` on a CUDA
            device when Triton is installed, else ``torch``; if the fused kernel fails to compile
            on first use, one notice is logged and ``torch`` renders). The backend in use is
            the attribute `backend`.

    Raises:
        UsageError: `config` is none of those forms or fails validation; `device` is not a
            device this machine has (`parse_device`: the message lists those it has); `threads`
            is not an integer >= 1; `backend` is unknown, or ``triton`` cannot run here (the
            message says why).
    """

    def __init__(self, config: VideoMNISTConfig | dict | str | Path, device: torch.device | str | None = None,
                 root: str | Path | None = None, *, backend: str = "auto", threads: int | None = None) -> None:
        self.config = as_config(config)
        self.device = parse_device(device)
        self.root = root
        self.threads = check_threads(threads)
        self.backend = resolve_backend(backend, self.device)
        self._fallback = backend == "auto"  # until a fused render succeeds, auto may fall back to torch
        self._banks: dict[str, DigitBank] = {}
        self._videos = OutputPool()  # CPU only: recycled memory for returned videos

    @property
    def preferred_batch_size(self) -> int:
        """Clips per `render` call that cost least per clip here (any batch size renders the same clips).

        On a CPU, the clips the render works on at once: 128 default clips, fewer for longer or
        larger clips, at least 1 (larger batches are rendered in such pieces); on accelerators 512.
        """
        if self.device.type != "cpu":
            return _ACCELERATOR_BATCH
        return self._cpu_clips(_CPU_BATCH_CLIPS)

    def backend_for(self, annotations: str | Sequence[str] | None = ()) -> str:
        """The backend that renders ``render(..., annotations=annotations)``: `backend`, except that
        annotations and the ``over`` composite are rendered by the torch backend.

        Raises:
            UsageError: `annotations` holds an unknown name.
        """
        if self.backend == "triton" and not check_annotations(annotations) and self.config.composite != "over":
            return "triton"
        return "torch"

    def _cpu_clips(self, clips: int) -> int:
        """`clips` default clips, scaled down for longer or larger clips, at least 1."""
        c = self.config
        pixels = c.sequence_length * c.image_size**2 / (16 * 64 * 64)  # relative to the default clip
        return max(1, min(clips, int(clips / pixels)))

    def bank(self, split: str = "train") -> DigitBank:
        """The digits of `split`, resized to `config.digit_size`, on the device.

        Loaded on first use, then kept.

        Raises:
            UsageError: `split` is unknown, or `load_digit_bank` cannot load `config.digits`.
        """
        if split not in self._banks:
            return self.set_bank(split, load_digit_bank(self.config.digits, split, root=self.root))
        return self._banks[split]

    def set_bank(self, split: str, bank: DigitBank) -> DigitBank:
        """Use `bank` as the digits of `split` (your own digits, or a bank already loaded elsewhere).

        The bank is resized to `config.digit_size` and moved to the device; clips rendered after
        this call draw from it. Returns the bank as stored.

        Args:
            split: `train` or `test`.
            bank: the digits, e.g. from `load_digit_bank` (any sprite size, any device).

        Raises:
            UsageError: `split` is not `train` or `test`, or `bank` is not a `DigitBank`.

        Example:
            >>> from videomnist_gpu import Synthesizer, VideoMNISTConfig, load_digit_bank
            >>> synth = Synthesizer(VideoMNISTConfig(digits="mnist-5k", image_size=32), device="cpu")
            >>> synth.set_bank("train", load_digit_bank("mnist-5k", "train")).images.shape[-1]
            14
        """
        check_split(split)
        if not isinstance(bank, DigitBank):
            raise UsageError(f"bank: expected a DigitBank (see load_digit_bank), got {type(bank).__name__}")
        self._banks[split] = bank.resized(self.config.digit_size).to(self.device)
        return self._banks[split]

    def params(self, indices: torch.Tensor | Sequence[int], split: str = "train") -> ClipParams:
        """The parameters of clips `indices` (no pixels): motion, labels, path, angle, scale.

        Args:
            indices: clip indices >= 0, int64 (B,) on any device, or a sequence of ints.
            split: `train` or `test`.

        Raises:
            UsageError: `split` is not `train` or `test`, or its digits cannot be loaded;
                `indices` is not integers (floats and bools are refused), has more than one
                dimension, or (checked on the CPU only, to avoid a device sync) holds a negative
                index.
        """
        check_split(split)
        return draw_clip_params(self.config, self.bank(split), self._clip_indices(indices), split)

    def _clip_indices(self, indices: torch.Tensor | Sequence[int]) -> torch.Tensor:
        """`indices` as int64 (B,) on the device; UsageError for non-integers, another shape or (CPU) a negative index."""
        try:
            given = torch.as_tensor(indices)
        except (TypeError, ValueError, RuntimeError):
            raise UsageError(f"indices: expected clip indices (integers >= 0), got {type(indices).__name__}") from None
        if given.dtype.is_floating_point or given.dtype.is_complex or given.dtype == torch.bool:
            raise UsageError(f"indices: expected integer clip indices, got {given.dtype} (a fractional or boolean "
                             "index names no clip)")
        if given.ndim != 1:
            raise UsageError(f"indices: expected a 1-D tensor of clip indices, got shape {tuple(given.shape)}")
        indices = given.to(device=self.device, dtype=torch.int64)
        if indices.device.type == "cpu" and indices.numel() and int(indices.min()) < 0:
            raise UsageError("indices: clip indices must be >= 0")
        return indices

    def render(self, indices: torch.Tensor | Sequence[int], split: str = "train",
               annotations: str | Sequence[str] | None = (), *,
               float_video: torch.Tensor | None = None) -> Clips:
        """Render clips `indices` of `split`, with the annotations asked for.

        The result is on this synthesizer's device; on the CPU (torch backend) its video is
        pooled memory that no later call writes while anything still references it. B = 0
        gives empty `Clips`. Annotations are computed from each digit's own layer, which is kept
        only when some annotation is asked for: asking for none costs nothing. Annotations and
        the ``over`` composite are rendered by the torch backend: with the ``triton`` backend,
        such a render runs the torch path on the same device.

        Args:
            indices: clip indices >= 0 (moved to the device as int64).
            split: `train` or `test`; each draws from its own digit bank and random stream.
            annotations: names from `ground_truth.ANNOTATION_NAMES` (`instance_mask`,
                `semantic_mask`, `boxes`, `amodal_boxes`, `visibility`, `flow`, `depth`), in any
                order; they fill the `Clips` fields of the same names (the others stay None).
            float_video: float32 (B, C, T, H, W), contiguous, on the device: also receives the
                VideoGPT model input ``video / 255 - 0.5`` in each of its C channels; the
                ``triton`` backend writes it in the same launch, the ``torch`` backend in one
                more pass.

        Shape:
            indices: int64 (B,) (any sequence of ints works too).
            returns: `Clips` with video uint8 (B, T, H, W), T = `config.sequence_length`,
            H = W = `config.image_size`; see `Clips` for the other fields.

        Raises:
            UsageError: `split` is not `train` or `test`, or its digits cannot be loaded (see
                `load_digit_bank`); `annotations` holds an unknown name; `indices` is not
                integers, has more than one dimension, or (on the CPU) holds a negative index.
        """
        names = check_annotations(annotations)
        indices = self._clip_indices(indices)  # (B,)
        bank = self.bank(split)
        config = self.config
        if self.backend_for(names) == "triton":
            clips = self._render_fused(indices, bank, split, float_video)
            if clips is not None:
                return clips
        B, T, H, K = indices.shape[0], config.sequence_length, config.image_size, config.num_digits
        if self.device.type == "cpu":
            video = self._videos.empty((B, T, H, H), torch.uint8)  # (B, T, H, W)
            chunk = step = self.preferred_batch_size
            if not config.translation_only:
                step = self._cpu_clips(_CPU_AFFINE_SLICE_CLIPS)
        else:
            video = torch.empty(B, T, H, H, dtype=torch.uint8, device=self.device)  # (B, T, H, W)
            chunk = step = max(B, 1)
        found = {name: torch.empty(field_shape(name, B, T, K, H), dtype=FIELDS[name].dtype, device=self.device)
                 for name in names}
        parts = []
        with render_threads(self.threads):  # the CPU thread policy (a GPU is unaffected)
            for a in range(0, max(B, 1), chunk):  # chunks and slices of the batch, never clips
                p = draw_clip_params(config, bank, indices[a:a + chunk], split)  # indices checked above
                depth = None  # (b, K): the drawing order under ``over``, all 0 when only asked for
                if config.composite == "over":
                    depth = draw_depth(config, p.index, split)
                elif "depth" in names:
                    depth = torch.zeros_like(p.digit)
                for b in range(0, max(len(p.index), 1), step):
                    rows = p.rows(b, b + step)
                    n = rows.index.shape[0]
                    part = None if depth is None else depth[b:b + step]  # (n, K)
                    layers = None  # (n, K, T, H, W): each digit's own frames, kept for the annotations
                    if names:
                        layers = scratch("synthesizer.layers", (n, K, T, H, H), torch.uint8, self.device)
                    render_from_params(config, bank, rows, out=video[a + b:a + b + n], depth=part, layers=layers)
                    if names:
                        annotate(names, layers, rows, part, config.composite,
                                 {name: t[a + b:a + b + n] for name, t in found.items()},
                                 affine=not config.translation_only)
                parts.append(p)
        p = ClipParams.cat(parts)
        if float_video is not None:
            normalize_video(video[:, None], out=float_video[:, :1])  # (B, 1, T, H, W)
            float_video[:, 1:] = float_video[:, :1]  # (B, C, T, H, W)
        half = config.digit_size * p.scale[..., None] / 2  # (B, T, K, 1)
        return Clips(video, p.label, p.motion, p.center - half, p.angle, p.scale, p.index, center=p.center, **found)

    def _render_fused(self, indices: torch.Tensor, bank: DigitBank, split: str,
                      float_video: torch.Tensor | None) -> Clips | None:
        """One fused launch; None when ``auto`` fell back to torch (the kernel failed on first use)."""
        try:
            out = render_fused(self.config, bank, indices, split, float_video=float_video)
        except ValueError:  # bad arguments, not the device
            raise
        except Exception as err:  # noqa: BLE001 - compiling for this device failed: say so once, render with torch
            if not self._fallback:
                raise
            _log.warning("backend: the fused Triton kernel failed on %s (%s: %s); rendering with the torch backend",
                         self.device, type(err).__name__, str(err).splitlines()[0] if str(err) else "")
            self.backend, self._fallback = "torch", False
            return None
        self._fallback = False
        return Clips(out.video, out.label, out.motion, out.position, out.angle, out.scale, indices, center=out.center)


def render_from_params(config: VideoMNISTConfig, bank: DigitBank, p: ClipParams,
                       out: torch.Tensor | None = None, depth: torch.Tensor | None = None,
                       layers: torch.Tensor | None = None) -> torch.Tensor:
    """Pixels of clips with parameters `p`: uint8 (B, T, H, W), written into `out` when given.

    `depth` (int64 (B, K), `params.draw_depth`) orders the digits under composite ``over``;
    `layers` (uint8 (B, K, T, H, W)) receives each digit's own frames when given.
    """
    sprites = bank.images[p.digit]  # (B, K, S, S)
    angle = None if config.translation_only else p.angle * (math.pi / 180)  # (B, T, K) radians
    return render_fast(sprites, p.center, angle, p.scale, config.image_size,
                       config.translation_only, max_scale=config.scale_range[1],
                       max_angle=math.radians(config.rotation_range), min_scale=config.scale_range[0],
                       composite=config.composite, depth=depth, layers=layers,
                       integer_placement=config.placement == "integer", out=out)
