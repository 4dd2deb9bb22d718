"""The fully visible sigmoid belief network (FVSBN): a softmax regression per pixel on the previous pixels.

    ℓ_d = c_d + Σ_{j<d} W_{d,j} x̃_j        p(x_d | x_<d) = Cat(softmax(ℓ_d))          (raster order)

with x̃_j the input features of pixel j (x_j / (K − 1), or one_hot(x_j): then W_{d,j} is a K × K
table of how much level a at pixel j favours level k at pixel d). For binary data and scaled
inputs this is the seeds' f_i = σ(α_0^(i) + α^(i) x_<i^T): a logistic regression per pixel.

All D regressions are one masked linear map, ℓ = W̄ x̃ + c with W̄ = W ⊙ M and M strictly block
lower triangular (M[(d, k), (j, e)] = 1[j < d]): O(D²) parameters, linear in the earlier pixels,
so it cannot represent interactions between them (NADE's hidden layer adds that).

    model = FVSBN()                           # 8×8 digits, 17 levels, scaled inputs
    model = FVSBN(shape=(1, 3, 3), levels=2)  # a logistic FVSBN on 3×3 binary images
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from .autoregressive import Autoregressive, AutoregressiveConfig, _check_config
from .layers import MaskedLinear

__all__ = ["FVSBNConfig", "FVSBN", "fvsbn_mask"]


@dataclass
class FVSBNConfig(AutoregressiveConfig):
    """A FVSBN: the data (`shape`, `levels` K) and its input features (`inputs`: "scaled" by default, the seeds'
    linear form, x_j / (K − 1); "one_hot" lets each earlier pixel's level enter through its own row of a K × K
    table: D²K² weights, which overfit the 1000 training digits, 2.26 bits/dim against 2.08 scaled, measured
    by benchmarks/ar_bits_per_dim.py)."""


def fvsbn_mask(D: int, K: int, E: int) -> torch.Tensor:
    """M (D·K, D·E), float 0/1: M[d·K + k, j·E + e] = 1[j < d], the strictly lower-triangular D × D pattern
    with each entry a K × E block. Row d·K + k is the logit of level k at pixel d; column j·E + e is
    feature e of pixel j."""
    lower = torch.tril(torch.ones(D, D, device="cpu"), diagonal=-1)     # 1[j < d], (D, D)
    return lower.repeat_interleave(K, 0).repeat_interleave(E, 1)         # (D·K, D·E)


class FVSBN(Autoregressive):
    """One softmax regression per pixel on the pixels before it (raster order); exact likelihood.

    `FVSBN(config)` or `FVSBN(**fields of FVSBNConfig)`."""

    def __init__(self, config: FVSBNConfig | None = None, **fields):
        super().__init__()
        self.config = _check_config(config, fields, FVSBNConfig)
        D, K, E = self.config.dims, self.config.levels, self.config.features
        self.W = MaskedLinear(D * E, D * K)          # W̄ = W ⊙ M and c (its bias): ℓ = W̄ x̃ + c
        self.W.set_mask(fvsbn_mask(D, K, E))

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())

    def conditional_logits(self, x_tilde: torch.Tensor) -> torch.Tensor:
        """ℓ = W̄ x̃ + c: (N, E, C, H, W) → (N, K, C, H, W)."""
        N, (C, H, W_), K = x_tilde.shape[0], self.config.shape, self.config.levels
        x_flat = x_tilde.flatten(2).transpose(1, 2).reshape(N, -1)   # (N, E, D) → (N, D, E) → (N, D·E), pixel-major
        logits = self.W(x_flat)                                       # (N, D·K), row d·K + k
        return logits.view(N, -1, K).transpose(1, 2).reshape(N, K, C, H, W_)   # (N, D, K) → (N, K, D) → (N, K, C, H, W)
