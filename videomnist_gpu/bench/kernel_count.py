"""Count the device kernels and memory traffic of a synthesis call, without a GPU.

Under a fake CUDA device (``FakeTensorMode``: shapes, dtypes and devices, no data, no driver) a
dispatch mode records every aten operation that a real GPU would run as a kernel, with the bytes it
reads and writes. The count is what a GPU would launch in eager mode and the traffic is what
those kernels would move through device memory, so both are estimates of GPU cost measured on
any machine: kernels bound small batches (launch and dispatch overhead), bytes bound large ones.

    >>> from videomnist_gpu import VideoMNISTConfig
    >>> c = count_render_kernels(VideoMNISTConfig(digits="mnist-5k"), batch_size=64)
    >>> c.kernels > 0 and c.bytes_written_per_clip >= 16 * 64 * 64
    True

The fused backend (``backend="triton"``) is counted the same way: its one Triton launch per render
is recorded by the launch wrapper (`render_triton.recording_launches`, which skips the launch on
fake tensors) with the bytes it must move (`render_triton.LaunchRecord`), and any aten kernel
around it (a registered motion's parameters) is counted by the dispatch mode.

    >>> f = count_render_kernels(VideoMNISTConfig(digits="mnist-5k"), batch_size=64, backend="triton")
    >>> f.kernels, f.per_op["fused_render_kernel"]
    (1, 1)

Conventions: views and metadata operations (``view``, ``expand``, ``as_strided``, ...) and bare
allocations (``empty``) launch nothing and are not counted. An operation reads each tensor input
once: its distinct elements (a broadcast dimension counts once), at most its storage; a gather
(``index_select``, ``index``, ``gather``) reads what it copies plus its indices. It writes its
outputs (for ``out=`` and in-place forms, the tensors it mutates; an in-place ``self`` is also read).
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from videomnist_gpu.synth.config import VideoMNISTConfig

__all__ = ["KernelCounter", "KernelCount", "count_render_kernels"]

_FREE = {"empty", "empty_strided", "empty_like", "lift_fresh", "detach", "_local_scalar_dense"}
_OVERWRITE = {"copy_", "fill_", "zero_"}  # in-place ops that do not read ``self``
_GATHERS = {"index_select", "index", "gather", "take"}


def _distinct_bytes(t: torch.Tensor) -> int:
    numel = 1
    for size, stride in zip(t.shape, t.stride()):
        if stride != 0:
            numel *= size
    return min(numel, t.untyped_storage().nbytes() // t.element_size()) * t.element_size()


@dataclass
class KernelCount:
    """What one call launched: kernels, bytes, per aten op; ``clips`` divides the per-clip figures."""

    clips: int
    kernels: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    per_op: collections.Counter = field(default_factory=collections.Counter)
    bytes_per_op: collections.Counter = field(default_factory=collections.Counter)

    @property
    def bytes_per_clip(self) -> float:
        return (self.bytes_read + self.bytes_written) / max(self.clips, 1)

    @property
    def bytes_written_per_clip(self) -> float:
        return self.bytes_written / max(self.clips, 1)

    @property
    def bytes_read_per_clip(self) -> float:
        return self.bytes_read / max(self.clips, 1)


class KernelCounter(TorchDispatchMode):
    """A dispatch mode that adds every kernel-launching aten op to ``self.count`` (a `KernelCount`)."""

    def __init__(self, clips: int) -> None:
        super().__init__()
        self.count = KernelCount(clips)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = func.overloadpacket.__name__
        if func.namespace != "aten" or func.is_view or name in _FREE or torch.Tag.view_copy in func.tags:
            return out
        schema = func._schema
        # mutated arguments: in-place ``self`` is read and written, ``out=`` is only written
        write_only, read_write = [], []
        for i, arg in enumerate(schema.arguments):
            if arg.alias_info is None or not arg.alias_info.is_write:
                continue
            value = kwargs.get(arg.name, args[i] if i < len(args) and not arg.kwarg_only else None)
            (write_only if arg.kwarg_only or name in _OVERWRITE else read_write).append(value)
        written = [t for t in tree_flatten(write_only + read_write)[0] if isinstance(t, torch.Tensor)]
        if not written:
            written = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        write_only_ids = {id(t) for t in tree_flatten(write_only)[0]}
        inputs = [t for t in tree_flatten((args, kwargs))[0]
                  if isinstance(t, torch.Tensor) and id(t) not in write_only_ids]
        w = sum(_distinct_bytes(t) for t in written)
        if name in _GATHERS:
            r = w + sum(_distinct_bytes(t) for t in inputs if not t.is_floating_point() and t.dtype != torch.uint8)
        else:
            r = sum(_distinct_bytes(t) for t in inputs)
        c = self.count
        c.kernels += 1
        c.bytes_read += r
        c.bytes_written += w
        c.per_op[name] += 1
        c.bytes_per_op[name] += r + w
        return out


def count_render_kernels(config: VideoMNISTConfig, batch_size: int, split: str = "train",
                         backend: str = "torch") -> KernelCount:
    """Kernels and bytes of one `Synthesizer.render` call of ``batch_size`` clips on a fake CUDA device.

    The digit bank is loaded on the CPU first (loading is not part of a render), then moved to the
    fake device; the render runs exactly the code a GPU runs. `backend`: ``torch`` or ``triton``
    (the fused launch is recorded, not run; needs Triton installed).
    """
    from torch._subclasses.fake_tensor import FakeTensorMode

    from videomnist_gpu.synth.render_triton import recording_launches
    from videomnist_gpu.synth.synthesizer import Synthesizer

    cpu = Synthesizer(config, device="cpu")
    bank = cpu.bank(split)
    with FakeTensorMode(allow_non_fake_inputs=True):
        synth = Synthesizer(config, device="cuda", backend=backend)
        synth.set_bank(split, bank)
        indices = torch.arange(batch_size, device="cuda")
        with KernelCounter(batch_size) as counter, recording_launches(run=False) as launches:
            synth.render(indices, split)
    c = counter.count
    for launch in launches:
        c.kernels += 1
        c.bytes_read += launch.bytes_read
        c.bytes_written += launch.bytes_written
        c.per_op["fused_render_kernel"] += 1
        c.bytes_per_op["fused_render_kernel"] += launch.bytes_read + launch.bytes_written
    return c
