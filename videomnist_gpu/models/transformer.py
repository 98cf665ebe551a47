"""A small GPT: pre-LN causal transformer blocks with an optional key/value cache.

Used by `VideoGPT` over the flattened code grid. `forward(x)` runs full causal self-attention on a
whole sequence (training, and the uncached reference decoder); `step(x, cache, pos)` runs one new
position against the keys and values cached for positions `0..pos-1` (sampling), so generating `L`
tokens costs `L` single-position passes instead of `L` passes over growing prefixes.

Convention:
    Hidden states are `(B, L, hidden_dim)`; the cache holds per layer keys and values
    `(B, heads, L_max, hidden_dim / heads)`.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["CausalSelfAttention", "Block", "Transformer", "KVCache"]

KVCache = list[tuple[Tensor, Tensor]]  # per layer: keys, values, each (B, heads, L_max, head_dim)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention (`F.scaled_dot_product_attention`).

    Args:
        hidden_dim: model width; divisible by `heads`.
        heads: attention heads.
        attn_dropout: dropout on attention weights (training only).
        dropout: dropout on the output projection.
    """

    def __init__(self, hidden_dim: int, heads: int, attn_dropout: float, dropout: float) -> None:
        super().__init__()
        if hidden_dim % heads:
            raise ValueError(f"hidden_dim ({hidden_dim}) must be divisible by heads ({heads}).")
        self.heads = heads
        self.attn_dropout = attn_dropout
        self.qkv = nn.Linear(hidden_dim, 3 * hidden_dim)
        self.proj = nn.Linear(hidden_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)

    def _split(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, n, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # 3 x (B, n, D)
        return tuple(y.view(b, n, self.heads, d // self.heads).transpose(1, 2) for y in (q, k, v))  # (B, heads, n, D/heads)

    def _merge(self, out: Tensor) -> Tensor:
        b, _, n, _ = out.shape
        return self.dropout(self.proj(out.transpose(1, 2).reshape(b, n, -1)))  # (B, n, D)

    def forward(self, x: Tensor) -> Tensor:
        """Full causal attention over `x` `(B, L, D)`."""
        q, k, v = self._split(x)
        p = self.attn_dropout if self.training else 0.0
        return self._merge(F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True))

    def step(self, x: Tensor, cache: tuple[Tensor, Tensor], pos: int) -> Tensor:
        """Attention of one new position `pos`, `x` `(B, 1, D)`, over cached positions `0..pos`."""
        q, k, v = self._split(x)  # each (B, heads, 1, D/heads)
        keys, values = cache
        keys[:, :, pos : pos + 1] = k
        values[:, :, pos : pos + 1] = v
        out = F.scaled_dot_product_attention(q, keys[:, :, : pos + 1], values[:, :, : pos + 1])  # (B, heads, 1, D/heads)
        return self._merge(out)


class Block(nn.Module):
    """Pre-LN transformer block: `x + attn(ln(x))`, then `x + mlp(ln(x))` (4x GELU MLP)."""

    def __init__(self, hidden_dim: int, heads: int, attn_dropout: float, dropout: float) -> None:
        super().__init__()
        self.ln_attn = nn.LayerNorm(hidden_dim)
        self.attn = CausalSelfAttention(hidden_dim, heads, attn_dropout, dropout)
        self.ln_mlp = nn.LayerNorm(hidden_dim)
        self.mlp = nn.Sequential(
            nn.Linear(hidden_dim, 4 * hidden_dim),
            nn.GELU(),
            nn.Linear(4 * hidden_dim, hidden_dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_attn(x))
        return x + self.mlp(self.ln_mlp(x))

    def step(self, x: Tensor, cache: tuple[Tensor, Tensor], pos: int) -> Tensor:
        x = x + self.attn.step(self.ln_attn(x), cache, pos)
        return x + self.mlp(self.ln_mlp(x))


class Transformer(nn.Module):
    """`layers` pre-LN blocks and a final LayerNorm.

    Args:
        hidden_dim: model width `D`.
        heads: attention heads.
        layers: number of blocks.
        dropout: residual/MLP dropout.
        attn_dropout: attention-weight dropout.

    Shape:
        - `forward`: `(B, L, D)` -> `(B, L, D)`.
        - `step`: `(B, 1, D)` at position `pos` -> `(B, 1, D)`.
    """

    def __init__(self, hidden_dim: int, heads: int, layers: int, dropout: float, attn_dropout: float) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.heads = heads
        self.blocks = nn.ModuleList(Block(hidden_dim, heads, attn_dropout, dropout) for _ in range(layers))
        self.ln_f = nn.LayerNorm(hidden_dim)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def new_cache(self, batch: int, length: int, like: Tensor) -> KVCache:
        """Empty keys/values for `batch` sequences of up to `length` positions (dtype/device of `like`)."""
        shape = (batch, self.heads, length, self.hidden_dim // self.heads)
        return [(like.new_zeros(shape), like.new_zeros(shape)) for _ in self.blocks]

    def step(self, x: Tensor, cache: KVCache, pos: int) -> Tensor:
        for block, layer_cache in zip(self.blocks, cache):
            x = block.step(x, layer_cache, pos)
        return self.ln_f(x)
