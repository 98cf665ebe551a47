"""The reference renderer: `F.affine_grid` + `F.grid_sample` over the whole canvas.

This is the definition of what a clip looks like; faster kernels must match it (see tests).

Convention:
    A canvas point p (pixel (x, y) has its centre at (x + 0.5, y + 0.5)) shows the sprite at
    q = R(-angle) (p - center) / scale + S / 2, sampled bilinearly with zero padding and
    `align_corners=False` (sprite pixel j has its centre at j + 0.5). Digits composite with `max`;
    values round half to even and clamp to 0..255.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["render_reference", "sprite_to_canvas_theta"]


def sprite_to_canvas_theta(center: torch.Tensor, angle: torch.Tensor, scale: torch.Tensor,
                           sprite_size: int, image_size: int) -> torch.Tensor:
    """`affine_grid` matrices that map normalized canvas coordinates to normalized sprite ones.

    Shape:
        center: float32 (..., 2); angle (radians), scale: float32 (...).
        returns: float32 (..., 2, 3).
    """
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale  # (...)
    a = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)  # (..., 2, 2) = R(-angle)/scale
    shift = image_size / 2 - center  # (..., 2)
    linear = a * (image_size / sprite_size)  # (..., 2, 2)
    offset = (a @ shift[..., None]) * (2 / sprite_size)  # (..., 2, 1)
    return torch.cat([linear, offset], dim=-1)


def render_reference(sprites: torch.Tensor, center: torch.Tensor, angle: torch.Tensor,
                     scale: torch.Tensor, image_size: int, composite: str = "max") -> torch.Tensor:
    """Render clips by sampling every canvas pixel of every frame and digit.

    Shape:
        sprites: uint8 (B, K, S, S).
        center: float32 (B, T, K, 2); angle (radians), scale: float32 (B, T, K).
        returns: uint8 (B, T, H, H) with H = image_size.

    `composite="sum"` adds the rounded digit layers and clips at 255 instead of taking the max.
    """
    B, K, S, _ = sprites.shape
    T = center.shape[1]
    if B * T * K == 0:
        return torch.zeros(B, T, image_size, image_size, dtype=torch.uint8, device=sprites.device)
    theta = sprite_to_canvas_theta(center, angle, scale, S, image_size)  # (B, T, K, 2, 3)
    grid = F.affine_grid(theta.reshape(B * T * K, 2, 3), [B * T * K, 1, image_size, image_size],
                         align_corners=False)  # (B*T*K, H, H, 2)
    source = sprites.to(torch.float32)[:, None].expand(B, T, K, S, S).reshape(B * T * K, 1, S, S)
    frames = F.grid_sample(source, grid, mode="bilinear", padding_mode="zeros",
                           align_corners=False)  # (B*T*K, 1, H, H)
    frames = frames.reshape(B, T, K, image_size, image_size)  # (B, T, K, H, H)
    if composite == "sum":
        return frames.round().clamp(0, 255).sum(dim=2).clamp(max=255).to(torch.uint8)  # (B, T, H, H)
    return frames.amax(dim=2).round().clamp(0, 255).to(torch.uint8)  # (B, T, H, H)
