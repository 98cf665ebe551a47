"""Axial self-attention over 3D feature maps, as in the VQ-VAE's residual blocks.

Full self-attention over all `T*H*W` positions of a video feature map is quadratic in its size.
Axial attention (Ho et al. 2019, used by VideoGPT's VQ-VAE) attends along one axis at a time:
every position sees the positions that share its other two coordinates. One `AxialAttention`
per axis (t, h, w), their outputs summed, gives every position a view of its whole row, column and
time line at the cost of three short attentions.

Convention:
    Feature maps are `(B, C, T, H, W)`, channels first, as `nn.Conv3d` takes them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

__all__ = ["AxialAttention", "AxialBlock"]

# einops patterns that move one axis into the sequence position, the other two into the batch.
_TO_SEQUENCE = {
    "t": "b c t h w -> (b h w) t c",
    "h": "b c t h w -> (b t w) h c",
    "w": "b c t h w -> (b t h) w c",
}
_FROM_SEQUENCE = {
    "t": "(b h w) t c -> b c t h w",
    "h": "(b t w) h c -> b c t h w",
    "w": "(b t h) w c -> b c t h w",
}


class AxialAttention(nn.Module):
    """Multi-head self-attention along one axis (`'t'`, `'h'` or `'w'`) of a feature map.

    Args:
        channels: feature channels `C`; must be divisible by `heads`.
        heads: attention heads.
        axis: the axis attended along: `'t'`, `'h'` or `'w'`.

    Shape:
        - Input: `(B, C, T, H, W)`.
        - Output: `(B, C, T, H, W)`.
    """

    def __init__(self, channels: int, heads: int, axis: str) -> None:
        super().__init__()
        if axis not in _TO_SEQUENCE:
            raise ValueError(f"Unknown axis {axis!r}. Valid: t, h, w.")
        if channels % heads:
            raise ValueError(f"channels ({channels}) must be divisible by heads ({heads}).")
        self.heads = heads
        self.axis = axis
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        b, _, t, h, w = x.shape
        seq = rearrange(x, _TO_SEQUENCE[self.axis])  # (N, L, C), N = B * (other two axes)
        q, k, v = self.qkv(seq).chunk(3, dim=-1)  # 3 x (N, L, C)
        q, k, v = (rearrange(y, "n l (m d) -> n m l d", m=self.heads) for y in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)  # (N, heads, L, C / heads)
        out = self.proj(rearrange(out, "n m l d -> n l (m d)"))  # (N, L, C)
        return rearrange(out, _FROM_SEQUENCE[self.axis], b=b, t=t, h=h, w=w)  # (B, C, T, H, W)


class AxialBlock(nn.Module):
    """Sum of axial attentions along t, h and w.

    Args:
        channels: feature channels `C`.
        heads: attention heads per axis.

    Shape:
        - Input: `(B, C, T, H, W)`.
        - Output: `(B, C, T, H, W)`.
    """

    def __init__(self, channels: int, heads: int = 2) -> None:
        super().__init__()
        self.attentions = nn.ModuleList(AxialAttention(channels, heads, axis) for axis in "thw")

    def forward(self, x: Tensor) -> Tensor:
        return torch.stack([attention(x) for attention in self.attentions]).sum(0)
