"""Converting likelihoods to the course's common unit and the baselines every model must beat
(`coursekit.evaluation.comparison` turns a model and a split into a row of the course's table).

Bits per dimension: bpd = NLL_nats / (D · ln 2), with D the number of dimensions of one
example (64 for the 8×8 digits). Uniform over 17 levels is log2 17 ≈ 4.087 bits/dim; the
independent per-pixel categorical ("floor") is ≈ 2.398 bits/dim on the digits test split.
"""
from __future__ import annotations

import math

import torch

from ..data import DIGITS_LEVELS, ImageSplit
from ..models.independent import PixelCategorical

__all__ = [
    "bits_per_dim", "nats_per_example", "uniform_bits_per_dim", "floor_model", "floor_bits_per_dim",
]


def bits_per_dim(nats: torch.Tensor | float, dims: int) -> torch.Tensor | float:
    """Negative log-likelihood in nats per example → bits per dimension: nats / (D · ln 2)."""
    if dims <= 0:
        raise ValueError(f"dims (D, the dimensions of one example) must be positive, got {dims}")
    return nats / (dims * math.log(2))


def nats_per_example(bpd: torch.Tensor | float, dims: int) -> torch.Tensor | float:
    """Bits per dimension → negative log-likelihood in nats per example: bpd · D · ln 2."""
    if dims <= 0:
        raise ValueError(f"dims (D, the dimensions of one example) must be positive, got {dims}")
    return bpd * dims * math.log(2)


def uniform_bits_per_dim(levels: int = DIGITS_LEVELS) -> float:
    """A model that puts 1/levels on every level scores log2(levels) bits/dim (4.087 for 17)."""
    return math.log2(levels)


def floor_model(train: ImageSplit, alpha: float = 0.5):
    """The independent per-pixel categorical fitted on `train` with add-α smoothing."""
    return PixelCategorical(shape=tuple(train.x.shape[1:]), levels=train.levels, alpha=alpha).fit(train.x)


def floor_bits_per_dim(train: ImageSplit, test: ImageSplit, alpha: float = 0.5) -> float:
    """Test bits/dim of the floor model fitted on `train` (≈ 2.398 on the digits)."""
    model = floor_model(train, alpha)
    return float(bits_per_dim(-model.log_prob(test.x).mean(), test.dims))
