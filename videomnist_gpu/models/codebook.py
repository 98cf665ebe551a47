"""Vector-quantization codebook with EMA updates, data-dependent init and dead-code restarts.

The VQ-VAE's bottleneck (van den Oord et al. 2017, as used by VideoGPT): each encoder output
vector is replaced by its nearest codebook vector. The codebook is not learned by gradients but by
exponential moving averages of the encoder outputs assigned to each code (the "EMA" variant):

- **init**: on the first training batch the codes are set to random encoder outputs, so they start
  where the data is (a random-normal codebook would leave most codes unused);
- **EMA update**: per code, a moving count `N_k` and a moving sum `m_k` of the vectors assigned to
  it; the code is `m_k / N_k` (with Laplace smoothing of the counts);
- **restarts**: a code whose moving count falls below 1 ("dead") is moved to a random encoder
  output of the current batch.

The init flag, counts and sums are registered buffers, so they travel with `state_dict` and with
Lightning checkpoints: a resumed run neither re-initializes the codebook nor loses its statistics.

Under `torch.distributed` (Lightning DDP) the counts and sums are summed over ranks and the
random candidates for init and restarts come from rank 0, so every rank holds the same codebook.

No host-device synchronization: the init is branch-free (`torch.where` on the flag), so a training
step never reads a device value on the host.

Convention:
    Encoder outputs and quantized vectors are `(B, D, t, h, w)` with `D = embedding_dim`;
    codes are int64 `(B, t, h, w)` in `[0, n_codes)`.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

__all__ = ["EMACodebook"]


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class EMACodebook(nn.Module):
    """Codebook of `n_codes` vectors of size `embedding_dim`, updated by EMA in training mode.

    Args:
        n_codes: number of codes `K`.
        embedding_dim: size `D` of each code vector.
        commitment_cost: weight of the commitment loss `||z - sg(e)||^2` (0.25 in the paper).
        decay: EMA decay of the counts and sums.
        eps: Laplace smoothing of the counts.

    Shape:
        - Input `z`: `(B, D, t, h, w)`.
        - Output: a dict with `embeddings` `(B, D, t, h, w)` (straight-through: values of the
          codes, gradients to `z`), `codes` int64 `(B, t, h, w)`, and scalar tensors
          `commitment_loss`, `perplexity` (exp of the entropy of the batch's code histogram) and
          `code_usage` (number of distinct codes in the batch).
    """

    def __init__(
        self,
        n_codes: int,
        embedding_dim: int,
        commitment_cost: float = 0.25,
        decay: float = 0.99,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.n_codes = n_codes
        self.embedding_dim = embedding_dim
        self.commitment_cost = commitment_cost
        self.decay = decay
        self.eps = eps
        self.register_buffer("embeddings", torch.randn(n_codes, embedding_dim))  # (K, D)
        self.register_buffer("cluster_size", torch.zeros(n_codes))  # (K,) EMA counts N_k
        self.register_buffer("embedding_sum", self.embeddings.clone())  # (K, D) EMA sums m_k
        self.register_buffer("initialized", torch.tensor(False))  # set by the first training batch

    def codes_for(self, z: Tensor) -> Tensor:
        """Nearest code of every vector of `z` (no update, no gradient).

        Args:
            z: encoder outputs `(B, D, t, h, w)`.

        Returns:
            int64 codes `(B, t, h, w)`.
        """
        b, _, t, h, w = z.shape
        flat = rearrange(z, "b d t h w -> (b t h w) d")  # (B*t*h*w, D)
        return self._nearest(flat.detach()).view(b, t, h, w)

    def embed(self, codes: Tensor) -> Tensor:
        """Code vectors of `codes`.

        Args:
            codes: int64 `(B, t, h, w)`.

        Returns:
            `(B, D, t, h, w)`.
        """
        return rearrange(F.embedding(codes, self.embeddings), "b t h w d -> b d t h w")

    def forward(self, z: Tensor) -> dict[str, Tensor]:
        b, _, t, h, w = z.shape
        flat = rearrange(z, "b d t h w -> (b t h w) d")  # (N, D), N = B*t*h*w
        if self.training:
            with torch.no_grad():
                candidates = self._random_rows(flat.detach())  # (K, D)
                self._init_once(candidates)
        codes = self._nearest(flat.detach())  # (N,)
        one_hot = F.one_hot(codes, self.n_codes).type_as(flat)  # (N, K)
        counts = one_hot.sum(0)  # (K,)
        if self.training:
            with torch.no_grad():
                self._ema_update(one_hot, counts, flat.detach(), candidates)

        quantized = F.embedding(codes, self.embeddings)  # (N, D)
        commitment_loss = self.commitment_cost * F.mse_loss(flat, quantized.detach())
        quantized = flat + (quantized - flat).detach()  # straight-through estimator, (N, D)

        probs = counts / counts.sum()  # (K,)
        perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum())
        return {
            "embeddings": rearrange(quantized, "(b t h w) d -> b d t h w", b=b, t=t, h=h, w=w),
            "codes": codes.view(b, t, h, w),
            "commitment_loss": commitment_loss,
            "perplexity": perplexity,
            "code_usage": (counts > 0).sum().float(),
        }

    def _nearest(self, flat: Tensor) -> Tensor:
        """Index of the nearest code of each row of `flat` `(N, D)`, as int64 `(N,)`."""
        distances = (
            flat.pow(2).sum(1, keepdim=True)
            - 2 * flat @ self.embeddings.t()
            + self.embeddings.pow(2).sum(1)[None]
        )  # (N, K)
        return distances.argmin(1)

    def _random_rows(self, flat: Tensor) -> Tensor:
        """`n_codes` random rows of `flat` `(N, D)` (tiled with small noise if `N < n_codes`)."""
        n, d = flat.shape
        if n < self.n_codes:
            repeats = math.ceil(self.n_codes / n)
            flat = flat.repeat(repeats, 1)  # (N*repeats, D)
            flat = flat + torch.randn_like(flat) * (0.01 / math.sqrt(d))
        rows = flat[torch.randperm(flat.shape[0], device=flat.device)[: self.n_codes]]  # (K, D)
        if _distributed():
            dist.broadcast(rows, src=0)
        return rows

    def _init_once(self, candidates: Tensor) -> None:
        """Data-dependent init on the first training batch; a no-op (branch-free) afterwards."""
        fresh = ~self.initialized  # () bool
        self.embeddings.copy_(torch.where(fresh, candidates, self.embeddings))
        self.embedding_sum.copy_(torch.where(fresh, candidates, self.embedding_sum))
        self.cluster_size.copy_(torch.where(fresh, torch.ones_like(self.cluster_size), self.cluster_size))
        self.initialized.fill_(True)

    def _ema_update(self, one_hot: Tensor, counts: Tensor, flat: Tensor, candidates: Tensor) -> None:
        """EMA step of the counts and sums, then restart the dead codes at `candidates`."""
        sums = one_hot.t() @ flat  # (K, D)
        counts = counts.clone()
        if _distributed():
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embedding_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (total + self.n_codes * self.eps) * total  # (K,)
        means = self.embedding_sum / smoothed[:, None]  # (K, D)
        alive = (self.cluster_size >= 1)[:, None]  # (K, 1)
        self.embeddings.copy_(torch.where(alive, means, candidates))
