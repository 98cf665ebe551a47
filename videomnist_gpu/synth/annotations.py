"""Annotations of rendered clips: instance and semantic masks, boxes, visibility, optical flow.

Pure functions of each digit's own layer (the frames `render_fast` draws for that digit alone,
before compositing), the composite, the depth order and the clip parameters.
`Synthesizer.render(..., annotations=...)` calls `annotate`; what each annotation means is in
`videomnist_gpu.synth.ground_truth`.

Device discipline as in `render_fast`: no host syncs, no Python loops over clips or frames (only
over the K <= 4 digits), every tensor on the layers' device. Every value is computed per element
from its own clip, so annotations are bitwise the same whatever the batch size.
"""

from __future__ import annotations

import torch

from videomnist_gpu.synth.params import ClipParams

__all__ = ["annotate", "instance_mask", "tight_boxes", "optical_flow"]


def _scores(layers: torch.Tensor, composite: str, depth: torch.Tensor, k: int) -> torch.Tensor:
    """How much digit k contributes to each pixel, as uint8 (B, T, H, W): the larger wins.

    Its ink under ``max`` and ``sum``; under ``over`` ``K - depth`` where it has ink (front
    digits score higher), else 0.
    """
    if composite != "over":
        return layers[:, k]  # (B, T, H, W)
    K = layers.shape[1]
    front = (K - depth[:, k]).to(torch.uint8)[:, None, None, None]  # (B, 1, 1, 1) in 1..K
    return (layers[:, k] > 0) * front  # (B, T, H, W) uint8


def instance_mask(layers: torch.Tensor, composite: str, depth: torch.Tensor,
                  out: torch.Tensor | None = None) -> torch.Tensor:
    """0 where no digit has ink, else 1 + the index of the digit that owns the pixel.

    The owner contributes the most (`_scores`), ties to the lower index; so under ``max`` it is
    the brightest digit, under ``sum`` the one that added most, under ``over`` the front-most
    digit with ink. The mask is 0 exactly where the composite frame is 0, and its owner has ink
    wherever the frame is not.

    Convention:
        layers: uint8 (B, K, T, H, W). depth: int64 (B, K). out: uint8 (B, T, H, W) or None.
        Returns uint8 (B, T, H, W) in 0..K (``out`` when given).
    """
    K = layers.shape[1]
    if out is None:
        out = torch.empty_like(layers[:, 0])  # (B, T, H, W)
    if K == 1:
        torch.gt(layers[:, 0], 0, out=out.view(torch.bool))  # (B, T, H, W) 0 or 1
        return out
    # uint8 arithmetic throughout: measured several times faster on a CPU than bool
    # masked_fill / where, and argmax over K slower still
    best = _scores(layers, composite, depth, 0).clone()  # (B, T, H, W) the winner's score so far
    owner = torch.zeros_like(best)  # (B, T, H, W) its index
    for k in range(1, K):  # K <= 4 digits
        score = _scores(layers, composite, depth, k)
        take = torch.gt(score, best).view(torch.uint8)  # strictly more: ties stay with the lower index
        owner.add_(torch.rsub(owner, k).mul_(take))  # owner + take * (k - owner), wrapping: k or owner
        torch.maximum(best, score, out=best)
    return torch.mul(owner.add_(1), torch.gt(best, 0).view(torch.uint8), out=out)  # (B, T, H, W)


def _extent(hit: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First index and length of the run from the first to the last True along the last axis.

    Shape: hit bool (..., n); returns int64 (...) twice, (0, 0) where nothing is True.
    """
    n = hit.shape[-1]
    at = torch.arange(n, device=hit.device)  # (n,)
    first = torch.where(hit, at, n).amin(dim=-1)  # (...)
    last = torch.where(hit, at, -1).amax(dim=-1)  # (...)
    size = (last - first + 1).clamp(min=0)  # (...)
    return torch.where(size > 0, first, 0), size


_LOW_BIT_OF_EACH_BYTE = 0x0101010101010101


def _cpu_words(pixels: torch.Tensor) -> torch.Tensor | None:
    """uint8 pixels (..., H, W) on a CPU as int64 words (..., H, W/8), eight pixels each, or None
    where they are not on a CPU or their rows are not whole aligned words.

    Per-byte comparisons and reductions are scalar loops in torch on a CPU; word operations on
    eight pixels at once are measured 3-10x faster there. A GPU runs the per-byte operations
    as single kernels, which stay its path.
    """
    aligned = all(stride % 8 == 0 for stride in pixels.stride()[:-1]) and pixels.storage_offset() % 8 == 0
    if pixels.device.type != "cpu" or pixels.shape[-1] % 8 or pixels.stride(-1) != 1 or not aligned:
        return None
    return pixels.view(torch.int64)


def _hits(pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Which columns and which rows hold a non-zero pixel: bool (..., W) and bool (..., H).

    On words (`_cpu_words`): rows by comparing words with 0, columns by OR-ing the rows' words
    together (a halving tree) and folding each byte of the result onto its lowest bit; the same
    result as the two per-byte reductions, which other pixels take.
    """
    words = _cpu_words(pixels)  # (..., H, W/8)
    if words is None:
        return pixels.amax(dim=-2) > 0, pixels.amax(dim=-1) > 0
    rows = (words != 0).any(dim=-1)  # (..., H)
    while words.shape[-2] > 1:  # log2(H) steps, each over half the words of the last
        h = words.shape[-2]
        folded = words[..., :h // 2, :] | words[..., h // 2:2 * (h // 2), :]  # (..., h/2, W/8)
        if h % 2:
            folded[..., :1, :] |= words[..., h - 1:, :]
        words = folded
    # bit 0 of a byte collects its 8 bits (shifts of 4, 2, 1); bits carried in from the next
    # byte land no lower than bit 2 and are masked off
    words = words | (words >> 4)  # (..., 1, W/8)
    words |= words >> 2
    words |= words >> 1
    words &= _LOW_BIT_OF_EACH_BYTE
    return words.view(torch.bool).squeeze(-2), rows  # (..., W), (..., H)


_EVEN_BYTES = 0x00FF00FF00FF00FF  # bytes 0, 2, 4, 6 of an int64 word, each alone in a 16-bit lane
_WORDS_PER_PARTIAL = 128  # words added before a lane could pass 65535: 128 * (255 + 255) = 65280


def _frame_sums(pixels: torch.Tensor) -> torch.Tensor:
    """The sum of each frame's pixels: uint8 (..., H, W) -> int64 (...) (int32 on the other path).

    On words (`_cpu_words`) whose frames are whole blocks of 128 words (H * W a multiple of
    1,024): the even and the odd bytes of each word are added into four 16-bit lanes (<= 510
    each), 128 such words per lane sum (<= 65,280, no carry between lanes), and the lanes and
    blocks are added at the end. torch would first copy the frames to int32, a pass measured ~10x
    slower than these word operations. Other pixels take that one `torch.sum`.
    """
    H, W = pixels.shape[-2:]
    words = _cpu_words(pixels)  # (..., H, W/8)
    if words is None or (H * W) % (8 * _WORDS_PER_PARTIAL):
        return pixels.sum(dim=(-2, -1), dtype=torch.int32)
    words = words.flatten(-2)  # (..., H*W/8)
    pairs = (words & _EVEN_BYTES).add_((words >> 8) & _EVEN_BYTES)  # (..., H*W/8): four lanes <= 510
    partial = pairs.unflatten(-1, (-1, _WORDS_PER_PARTIAL)).sum(dim=-1)  # (..., blocks): lanes <= 65,280
    lanes = torch.stack([(partial >> shift) & 0xFFFF for shift in (0, 16, 32, 48)])  # (4, ..., blocks)
    return lanes.sum(dim=(0, -1))  # (...)


def tight_boxes(pixels: torch.Tensor) -> torch.Tensor:
    """COCO (x, y, w, h) of the smallest box holding every non-zero pixel; (0, 0, 0, 0) when none.

    Convention:
        pixels: uint8 or bool (..., H, W). Returns float32 (..., 4): pixel (x, y) covers
        [x, x+1) x [y, y+1), so the box of pixels x0..x1, y0..y1 is (x0, y0, x1 - x0 + 1, y1 - y0 + 1).
    """
    if pixels.dtype == torch.bool:
        pixels = pixels.view(torch.uint8)
    columns, rows = _hits(pixels)  # (..., W), (..., H)
    x, w = _extent(columns)
    y, h = _extent(rows)
    return torch.stack([x, y, w, h], dim=-1).to(torch.float32)  # (..., 4)


def _flow_coefficients(center: torch.Tensor, angle: torch.Tensor, scale: torch.Tensor):
    """Per digit and frame pair, the affine map of pixel coordinates to flow.

    A point p of frame t maps to sprite point q = R(-a_t) (p - c_t) / s_t + S/2, which frame t+1
    shows at p' = c_{t+1} + s_{t+1} R(a_{t+1}) (q - S/2); so the flow p' - p is
    (c_{t+1} - c_t) + (rho R(da) - I) (p - c_t), with rho = s_{t+1} / s_t, da = a_{t+1} - a_t and
    R(a) = [[cos a, -sin a], [sin a, cos a]] (y down: positive angles turn clockwise on screen).
    Written as flow_x = ox + m x - n y, flow_y = oy + n x + m y for pixel (x, y), whose centre is
    (x + 0.5, y + 0.5).

    Shape: center (B, T, K, 2), angle (degrees), scale (B, T, K); returns ox, oy, m, n, each
    float32 (B, T-1, K).
    """
    c0, c1 = center[:, :-1].to(torch.float32), center[:, 1:].to(torch.float32)  # (B, T-1, K, 2)
    turn = torch.deg2rad((angle[:, 1:] - angle[:, :-1]).to(torch.float32))  # (B, T-1, K)
    rho = scale[:, 1:].to(torch.float32) / scale[:, :-1].to(torch.float32)  # (B, T-1, K)
    m = rho * torch.cos(turn) - 1  # (B, T-1, K)
    n = rho * torch.sin(turn)  # (B, T-1, K)
    rx, ry = 0.5 - c0[..., 0], 0.5 - c0[..., 1]  # (B, T-1, K): pixel (0, 0)'s centre minus c_t
    ox = (c1[..., 0] - c0[..., 0]) + (m * rx - n * ry)  # (B, T-1, K)
    oy = (c1[..., 1] - c0[..., 1]) + (n * rx + m * ry)  # (B, T-1, K)
    return ox, oy, m, n


def optical_flow(mask: torch.Tensor, center: torch.Tensor, angle: torch.Tensor, scale: torch.Tensor,
                 out: torch.Tensor | None = None, affine: bool = True) -> torch.Tensor:
    """Forward optical flow from each frame to the next, of the digit that owns each pixel.

    Args:
        affine: False is the caller's promise that no digit rotates or scales (flow is then
            constant per digit and frame: fewer passes, the same values).

    Convention:
        mask: uint8 (B, T, H, W), an `instance_mask`. center: float32 (B, T, K, 2); angle
        (degrees), scale: float32 (B, T, K). out: float32 (B, T-1, 2, H, W) or None. Returns
        float32 (B, T-1, 2, H, W) (``out`` when given): ``[:, t, 0]`` is dx and ``[:, t, 1]`` dy
        in pixels, positive right and down, of the pixel centre (x + 0.5, y + 0.5) of frame t
        followed to frame t+1 with its owner's analytic motion, rotation and scale (see
        `_flow_coefficients`); 0 where frame t's mask is 0. The target may lie anywhere, also
        where another digit covers it in frame t+1.
    """
    B, T, H, W = mask.shape
    K = center.shape[2]
    if out is None:
        out = torch.empty(B, T - 1, 2, H, W, dtype=torch.float32, device=mask.device)
    ox, oy, m, n = (v[..., None, None] for v in _flow_coefficients(center, angle, scale))  # (B, T-1, K, 1, 1)
    xs = torch.arange(W, device=mask.device, dtype=torch.float32)  # (W,)
    ys = torch.arange(H, device=mask.device, dtype=torch.float32)[:, None]  # (H, 1)
    owner = mask[:, :-1]  # (B, T-1, H, W)
    for k in range(K):  # K <= 4 digits
        # owned as float once: float * uint8/bool products measured ~5x slower than float * float
        owned = (owner if K == 1 else torch.eq(owner, k + 1).view(torch.uint8)).to(torch.float32)  # (B, T-1, H, W)
        for c, (field, a, b) in enumerate(((ox, m, -n), (oy, n, m))):  # flow_c = field + a x + b y
            dst = out[:, :, c]  # (B, T-1, H, W) view, written in place: no temporary for digit 0
            if k == 0 and affine:
                torch.add(field[:, :, k] + a[:, :, k] * xs, b[:, :, k] * ys, out=dst).mul_(owned)
            elif k == 0:
                torch.mul(owned, field[:, :, k], out=dst)
            elif affine:
                dst.addcmul_(torch.add(field[:, :, k] + a[:, :, k] * xs, b[:, :, k] * ys), owned)
            else:
                dst.addcmul_(owned, field[:, :, k])
    return out


def annotate(names: tuple[str, ...], layers: torch.Tensor, p: ClipParams, depth: torch.Tensor,
             composite: str, out: dict[str, torch.Tensor], affine: bool = True) -> None:
    """Write the annotations `names` of clips `p` into `out` (one tensor per name, every byte).

    Args:
        names: annotation names (`ground_truth.ANNOTATION_NAMES`), already checked.
        layers: each digit's own frames, as `render_fast(..., layers=...)` keeps them.
        p: the clips' parameters.
        depth: the drawing order (0 = front) the frames were composited with (``over``), or
            all 0.
        composite: the config's composite.
        out: name -> the tensor to write, of the shape and dtype `ground_truth.FIELDS` says.
        affine: False is the caller's promise that no digit rotates or scales.

    Shape:
        layers: uint8 (B, K, T, H, W). depth: int64 (B, K).
    """
    K = layers.shape[1]
    if "depth" in names:
        out["depth"].copy_(depth)
    amodal = None
    if "amodal_boxes" in names or (K == 1 and {"boxes", "visibility"}.intersection(names)):
        amodal = tight_boxes(layers).transpose(1, 2)  # (B, T, K, 4)
        if "amodal_boxes" in names:
            out["amodal_boxes"].copy_(amodal)
    per_pixel = {"instance_mask", "semantic_mask", "boxes", "visibility", "flow"}
    if not per_pixel.intersection(names):
        return
    mask = instance_mask(layers, composite, depth, out=out.get("instance_mask"))  # (B, T, H, W)
    if "flow" in names:
        optical_flow(mask, p.center, p.angle, p.scale, out=out["flow"], affine=affine)
    semantic = out.get("semantic_mask")
    if K == 1:  # a lone digit owns all its ink
        if "boxes" in names:
            out["boxes"].copy_(amodal)
        if "visibility" in names:
            out["visibility"][:, :, 0] = amodal[:, :, 0, 2] > 0  # (B, T): 1, or 0 without ink (an empty box)
        if semantic is not None:
            torch.mul(mask, (p.label[:, 0] + 1).to(torch.uint8)[:, None, None, None], out=semantic)
        return
    for k in range(K):  # K <= 4 digits
        owned = torch.eq(mask, k + 1).view(torch.uint8)  # (B, T, H, W) 0 or 1
        if "boxes" in names:
            out["boxes"][:, :, k].copy_(tight_boxes(owned))  # (B, T, 4)
        if "visibility" in names:
            layer = layers[:, k]  # (B, T, H, W)
            ink = _frame_sums(layer)  # (B, T)
            kept = _frame_sums(layer * owned)  # (B, T)
            torch.div(kept.to(torch.float32), ink.clamp(min=1).to(torch.float32), out=out["visibility"][:, :, k])
        if semantic is not None:
            cls = (p.label[:, k] + 1).to(torch.uint8)[:, None, None, None]  # (B, 1, 1, 1)
            if k == 0:
                torch.mul(owned, cls, out=semantic)
            else:
                semantic.add_(owned * cls)
