"""Keyed randomness: every random number of clip `i` is a pure function of (seed, split, i).

Numbers come from an integer hash of (seed, split, clip index, counter) computed on the clip
indices' device, never from a shared `torch.Generator` stream. So clip `i` gets the same numbers
whatever the batch size, batch order, worker, rank, resume point or device: the hash uses only
integer xor, shift, mask and multiplications whose products stay below 2**63, which are exact on
every device, and uniforms keep 24 bits, which float32 holds exactly.

Convention:
    `random_bits(seed, split, indices, n)[b, j]` is the j-th 32-bit random integer of clip
    `indices[b]`, held in an int64 tensor in [0, 2**32). Callers give each random quantity its
    own fixed counter `j` (see `params.py`), so adding a quantity never shifts the others.
"""

from __future__ import annotations

import torch

from videomnist_gpu.errors import UsageError

__all__ = ["SPLITS", "check_split", "stream_key", "random_bits", "uniforms", "bits_below"]

SPLITS = ("train", "test")
_MASK32 = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9


def _mix32(x):
    """A 32-bit avalanche hash (lowbias32 family) on Python ints or int64 tensors in [0, 2**32).

    Both multipliers are below 2**31, so every product stays below 2**63: no int64 overflow.
    """
    x = x ^ (x >> 16)  # a new tensor: the input is never changed; the rest works in place
    x *= 0x7FEB352D
    x &= _MASK32
    x ^= x >> 15
    x *= 0x2C1B3C6D
    x &= _MASK32
    x ^= x >> 16
    return x


def check_split(split: str) -> str:
    """`split` if it is one of `SPLITS`; else a one-line `UsageError` (a ValueError) naming the valid ones."""
    if split not in SPLITS:
        raise UsageError(f"split: unknown split {split!r}. Valid: {', '.join(SPLITS)}")
    return split


def _split_id(split: str) -> int:
    return SPLITS.index(check_split(split))


def stream_key(seed: int, split: str) -> int:
    """The 32-bit key of (seed, split) that every random number of the split mixes in."""
    key = _mix32(_mix32(seed & _MASK32) ^ (seed >> 32))
    return _mix32(key ^ (_split_id(split) * _GOLDEN & _MASK32))


def random_bits(seed: int, split: str, indices: torch.Tensor, n: int) -> torch.Tensor:
    """32-bit random integers for each clip index.

    Shape:
        indices: int64 (B,), non-negative clip indices, on any device.
        returns: int64 (B, n) in [0, 2**32), on `indices.device`.
    """
    key = stream_key(seed, split)
    indices = indices.to(torch.int64)
    # mix32((i & mask) ^ key) and mix32(i >> 32) in one call: the same numbers, fewer kernels
    halves = _mix32(torch.stack([(indices & _MASK32) ^ key, indices >> 32]))  # (2, B)
    h = _mix32(halves[0] ^ halves[1])  # (B,)
    counter = torch.arange(0, n * _GOLDEN, _GOLDEN, device=indices.device, dtype=torch.int64) & _MASK32  # (n,)
    return _mix32(_mix32(h[:, None] ^ counter[None, :]) ^ key)  # (B, n)


def uniforms(bits: torch.Tensor) -> torch.Tensor:
    """Uniforms in [0, 1) with 24 random bits (exact in float32, identical on every device)."""
    return (bits >> 8).to(torch.float32) * (1.0 / (1 << 24))


def bits_below(bits: torch.Tensor, n: torch.Tensor | int) -> torch.Tensor:
    """Integers uniform in [0, n) from 32-bit random integers, without float rounding.

    `n` may be a tensor broadcastable to `bits` (per-element ranges) and must be < 2**31.
    """
    return (bits * n) >> 32
