"""`Synthesizer`: clip indices in, `Clips` out, on any torch device.

The one entry point that stream, export, visualization, benchmarks and models call:

    >>> import torch
    >>> from videomnist_gpu import Synthesizer, VideoMNISTConfig
    >>> clips = Synthesizer(VideoMNISTConfig(digits="mnist-5k"), device="cpu").render(torch.arange(4))
    >>> tuple(clips.video.shape), clips.video.dtype
    ((4, 16, 64, 64), torch.uint8)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from videomnist_gpu.errors import UsageError
from videomnist_gpu.synth.config import VideoMNISTConfig
from videomnist_gpu.synth.annotations import annotate
from videomnist_gpu.synth.cpu_buffers import OutputPool, scratch
from videomnist_gpu.synth.digits import DigitBank, load_digit_bank
from videomnist_gpu.synth.ground_truth import FIELDS, check_annotations, field_shape
from videomnist_gpu.synth.keyed_random import check_split
from videomnist_gpu.synth.params import ClipParams, draw_clip_params, draw_depth
from videomnist_gpu.synth.render_fast import render_fast

__all__ = ["Clips", "Synthesizer", "as_device", "default_device", "parse_device"]


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


def parse_device(name: str | torch.device | None) -> torch.device:
    """`--device` value -> torch.device; one-line UsageError for bad or unavailable devices.

    Args:
        name: `cpu`, `cuda`, `cuda:N`, `mps`, a `torch.device`, or `None` for `default_device()`.

    Raises:
        UsageError: `name` is not a device torch knows, is not cpu/cuda/mps, or asks for CUDA or
            MPS where it is not available, or for a CUDA index that does not exist.
    """
    device = as_device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device: {name!r} requested but CUDA is not available here; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"device: {name!r} does not exist ({torch.cuda.device_count()} CUDA devices)")
    elif device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise UsageError(f"device: {name!r} requested but MPS is not available here; use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise UsageError(f"device: unsupported device {name!r}. Valid: cpu, cuda, cuda:N, mps")
    return device


# On a CPU the render kernels run fastest on about 128 clips at a time (their temporaries stay in
# cache and in reused scratch buffers of bounded size), so larger batches are rendered in slices of
# this many clips, each written straight into the returned video. A GPU renders a batch in one call.
CPU_RENDER_SLICE = 128
# Rotation/scale temporaries are larger (a patch per frame, four corner reads when shrinking):
# measured with scale 0.9-1.1, slices of 64 clips render ~1.4x faster than slices of 128.
CPU_AFFINE_SLICE = 64


class Synthesizer:
    """Renders clips of `config` on `device`; digit banks load lazily, once per split.

    A clip is a pure function of (config, digits, split, index): the same index renders the same
    clip bitwise in any batch on the same device type (across devices, pixels may differ by
    rounding only). Constructing one reads no files; the first `render` or
    `params` of a split loads its digits (`load_digit_bank(config.digits, split, root)`).

    Args:
        config: the dataset description (already validated by its constructor).
        device: where digits live and clips are rendered: a `torch.device` or a string such as
            `cpu`, `cuda`, `cuda:1` (default: CUDA when available, else CPU). Its availability is
            not checked here (`parse_device` checks it).
        root: where full MNIST lives (default `$VIDEOMNIST_DATA` or `~/.cache/videomnist`).

    Raises:
        UsageError: `device` is not a device name torch knows.
    """

    def __init__(self, config: VideoMNISTConfig, device: torch.device | str | None = None,
                 root: str | Path | None = None) -> None:
        self.config = config
        self.device = as_device(device)
        self.root = root
        self._banks: dict[str, DigitBank] = {}
        self._videos = OutputPool()  # CPU only: recycled memory for returned videos

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
            UsageError: `split` is not `train` or `test`, or its digits cannot be loaded.
            ValueError: `indices` has more than one dimension, or (checked on the CPU only, to
                avoid a device sync) holds a negative index.
        """
        check_split(split)
        return draw_clip_params(self.config, self.bank(split), self._clip_indices(indices), split)

    def _clip_indices(self, indices: torch.Tensor | Sequence[int]) -> torch.Tensor:
        """`indices` as int64 (B,) on the device; ValueError for another shape or (CPU) a negative index."""
        indices = torch.as_tensor(indices, dtype=torch.int64, device=self.device)
        if indices.ndim != 1:
            raise ValueError(f"indices: expected a 1-D tensor of clip indices, got shape {tuple(indices.shape)}")
        if indices.device.type == "cpu" and indices.numel() and int(indices.min()) < 0:
            raise ValueError("indices: clip indices must be >= 0")
        return indices

    def render(self, indices: torch.Tensor | Sequence[int], split: str = "train",
               annotations: str | Sequence[str] | None = ()) -> Clips:
        """Render clips `indices` of `split`, with the annotations asked for.

        The result is on this synthesizer's device; on the CPU its video is pooled memory that
        no later call writes while anything still references it. B = 0 gives empty `Clips`.
        Annotations are computed from each digit's own layer, which is kept only when some
        annotation is asked for: asking for none costs nothing.

        Args:
            indices: clip indices >= 0 (moved to the device as int64).
            split: `train` or `test`; each draws from its own digit bank and random stream.
            annotations: names from `ground_truth.ANNOTATION_NAMES` (`instance_mask`,
                `semantic_mask`, `boxes`, `amodal_boxes`, `visibility`, `flow`, `depth`), in any
                order; they fill the `Clips` fields of the same names (the others stay None).

        Shape:
            indices: int64 (B,) (any sequence of ints works too).
            returns: `Clips` with video uint8 (B, T, H, W), T = `config.sequence_length`,
            H = W = `config.image_size`; see `Clips` for the other fields.

        Raises:
            UsageError: `split` is not `train` or `test`, its digits cannot be loaded (see
                `load_digit_bank`), or `annotations` holds an unknown name.
            ValueError: `indices` has more than one dimension, or (on the CPU) a negative index.
        """
        names = check_annotations(annotations)
        indices = self._clip_indices(indices)  # (B,)
        bank = self.bank(split)
        config = self.config
        B, T, H, K = indices.shape[0], config.sequence_length, config.image_size, config.num_digits
        if self.device.type == "cpu":  # slices: parameters and temporaries of 128 clips stay in reused memory
            video = self._videos.empty((B, T, H, H), torch.uint8)  # (B, T, H, W)
            step = CPU_RENDER_SLICE if config.translation_only else CPU_AFFINE_SLICE
        else:
            video = torch.empty(B, T, H, H, dtype=torch.uint8, device=self.device)  # (B, T, H, W)
            step = max(B, 1)
        found = {name: torch.empty(field_shape(name, B, T, K, H), dtype=FIELDS[name].dtype, device=self.device)
                 for name in names}
        parts = []
        for a in range(0, max(B, 1), step):  # slices of the batch, never clips
            p = draw_clip_params(config, bank, indices[a:a + step], split)  # indices checked above
            depth = None
            if config.composite == "over" or "depth" in names:
                depth = (draw_depth(config, p.index, split) if config.composite == "over"
                         else torch.zeros_like(p.digit))  # (b, K)
            layers = None
            if names:  # each digit's own frames, kept for the annotations
                layers = scratch("synthesizer.layers", (p.index.shape[0], K, T, H, H), torch.uint8, self.device)
            render_from_params(config, bank, p, out=video[a:a + step], depth=depth, layers=layers)
            if names:
                annotate(names, layers, p, depth, config.composite, {n: t[a:a + step] for n, t in found.items()},
                         affine=not config.translation_only)
            parts.append(p)
        p = ClipParams.cat(parts)
        half = config.digit_size * p.scale[..., None] / 2  # (B, T, K, 1)
        return Clips(video, p.label, p.motion, p.center - half, p.angle, p.scale, p.index, center=p.center, **found)


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
