"""Reused CPU memory for the render's hot path: one per-thread scratch cache and a pool of outputs.

On the CPU a fresh multi-megabyte tensor is served by ``mmap``, handed back to the OS when freed
and page-faulted (zeroed by the kernel) again on the next call: measured on 2 cores, that made
batches of 256 and more cost 2-3x per clip what batch 128 costs. So the render keeps its
temporaries in per-thread buffers that live across calls (:func:`scratch`), and an
:class:`OutputPool` hands out returned videos whose memory is recycled once nothing outside the
pool references it any more. On other devices both fall back to fresh tensors: CUDA's caching
allocator already reuses memory.

The pool needs one private torch call (the C++ use count of a storage); it lives in
:func:`_storage_owners`, the only place this package calls a private torch function. Where a
torch release lacks it, the pool recycles nothing (correct, only slower).

    >>> import torch
    >>> pool = OutputPool()
    >>> a = pool.empty((2, 3), torch.uint8)
    >>> b = pool.empty((2, 3), torch.uint8)  # `a` is still referenced: fresh memory
    >>> a.data_ptr() != b.data_ptr()
    True
    >>> ptr = a.data_ptr(); del a
    >>> pool.empty((6,), torch.uint8).data_ptr() == ptr  # nothing references it: recycled
    True
"""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict

import torch

__all__ = ["scratch", "OutputPool", "MAX_SCRATCH_BYTES"]

MAX_SCRATCH_BYTES = 512 * 2**20  # per thread; a larger request gets fresh memory
_CACHE = threading.local()  # per thread: OrderedDict {key: flat uint8 tensor}, least recently used first


def _nbytes(shape: tuple[int, ...], dtype: torch.dtype) -> int:
    numel = 1
    for n in shape:
        numel *= int(n)
    return numel * torch.empty((), dtype=dtype).element_size()


def scratch(name: str, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device, *,
            zeroed: bool = False) -> torch.Tensor:
    """A tensor for a temporary that dies before the caller returns, in reused memory on the CPU.

    Each thread keeps one cache of flat buffers, at most `MAX_SCRATCH_BYTES` in all (least
    recently used buffers go first; a request larger than the bound gets fresh memory, not
    cached). Two tensors alive at the same time need different names.

    - ``zeroed=False``: uninitialised. One buffer per ``name``, grown to the largest request.
    - ``zeroed=True``: zero when first handed out, and afterwards holding whatever the caller left
      in it. One buffer per ``(name, shape, dtype)``: a caller that, on every call with that
      name and shape, overwrites the same elements sees zeros everywhere else without paying to
      zero the buffer again. Name the layout of the written elements in ``name``.

    Elsewhere than the CPU: a fresh ``torch.empty`` (``torch.zeros`` when ``zeroed``).

    Shape:
        returns ``shape``, contiguous, of ``dtype`` on ``device``.
    """
    if device.type != "cpu":
        return (torch.zeros if zeroed else torch.empty)(shape, dtype=dtype, device=device)
    nbytes = _nbytes(shape, dtype)
    if nbytes > MAX_SCRATCH_BYTES:
        return (torch.zeros if zeroed else torch.empty)(shape, dtype=dtype)
    cache = getattr(_CACHE, "buffers", None)
    if cache is None:
        cache = _CACHE.buffers = OrderedDict()
    key = (name, tuple(int(n) for n in shape), dtype) if zeroed else (name,)
    flat = cache.pop(key, None)
    if flat is None or flat.numel() < nbytes:
        held = sum(b.numel() for b in cache.values())
        while cache and held + nbytes > MAX_SCRATCH_BYTES:
            held -= cache.popitem(last=False)[1].numel()  # least recently used first
        flat = torch.zeros(nbytes, dtype=torch.uint8) if zeroed else torch.empty(nbytes, dtype=torch.uint8)
    cache[key] = flat  # most recently used last
    return flat[:nbytes].view(dtype).view(shape)


def _storage_owners(t: torch.Tensor) -> tuple[int, int] | None:
    """(C++ owners of ``t``'s storage, Python references to its storage object), or None where
    this torch has no public or private way to count them.

    The one private torch call of the package (``torch._C._storage_Use_Count``), guarded.
    """
    use_count = getattr(torch._C, "_storage_Use_Count", None)
    if use_count is None:
        return None
    storage = t.untyped_storage()
    try:
        return use_count(storage._cdata), sys.getrefcount(storage)
    except (AttributeError, RuntimeError, TypeError):
        return None


# What the pool sees for a buffer that only the pool holds (measured once, on this torch).
_UNREFERENCED = _storage_owners(torch.empty(1, dtype=torch.uint8))


class OutputPool:
    """Recycles CPU buffers for returned tensors once nothing but the pool references them.

    `empty` hands out a *view* of a pooled buffer (never the buffer itself), so every tensor,
    view, ``.numpy()`` array or storage object a caller keeps raises the buffer's reference
    count, and the buffer is recycled only when all of them are gone: a returned tensor never
    aliases memory that a later call writes. A buffer whose storage became shared memory
    (DataLoader workers move tensors there in place when they send them) is dropped, never
    recycled. Bounded: at most ``max_buffers`` buffers and ``max_bytes`` in all; when every
    buffer is in use and the pool is full, fresh memory is returned and not pooled.
    Thread-safe. A pickled pool (a spawned DataLoader worker's copy) carries no buffers. On
    non-CPU devices use ``torch.empty`` instead (CUDA's allocator reuses memory).

    Args:
        max_buffers: most buffers kept.
        max_bytes: most bytes kept in all.
    """

    def __init__(self, max_buffers: int = 4, max_bytes: int = 2**30) -> None:
        self.max_buffers = int(max_buffers)
        self.max_bytes = int(max_bytes)
        self._buffers: list[torch.Tensor] = []  # flat uint8, least recently used first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buffers)

    def __getstate__(self) -> dict:
        return {"max_buffers": self.max_buffers, "max_bytes": self.max_bytes}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    @property
    def nbytes(self) -> int:
        """Bytes held by the pool's buffers (in use or free)."""
        return sum(b.numel() for b in self._buffers)

    @staticmethod
    def _free(buf: torch.Tensor) -> bool:
        return (_UNREFERENCED is not None and not buf.is_shared()
                and _storage_owners(buf) == _UNREFERENCED)

    def empty(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        """An uninitialised contiguous CPU tensor of ``shape`` and ``dtype``, recycled when possible."""
        nbytes = _nbytes(shape, dtype)
        with self._lock:
            self._buffers = [b for b in self._buffers if not b.is_shared()]  # shared: never reuse
            for i, buf in enumerate(self._buffers):
                if buf.numel() == nbytes and self._free(buf):
                    self._buffers.append(self._buffers.pop(i))  # most recently used last
                    return buf.view(dtype).view(shape)
            buf = torch.empty(nbytes, dtype=torch.uint8)
            while self._buffers and (len(self._buffers) >= self.max_buffers
                                     or self.nbytes + nbytes > self.max_bytes):
                victim = next((i for i, b in enumerate(self._buffers) if self._free(b)), None)
                if victim is None:
                    break
                self._buffers.pop(victim)
            if len(self._buffers) < self.max_buffers and self.nbytes + nbytes <= self.max_bytes:
                self._buffers.append(buf)
            return buf.view(dtype).view(shape)
