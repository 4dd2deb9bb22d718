"""Mode coverage: how many modes of a Gaussian mixture (the 8-Gaussian ring) a sampler hits,
and how many of its samples lie near a mode."""
from __future__ import annotations

import math

import torch

from ..utils import check_shape

__all__ = ["mode_coverage"]


def mode_coverage(samples: torch.Tensor, modes: torch.Tensor, std: float, radius_in_stds: float = 3.0,
                  min_share: float = 0.1) -> dict:
    """How many modes of a Gaussian mixture a sampler covers, and how many samples are good.

    Each sample is assigned to its nearest mode and counts as *near* it if it lies within
    `radius_in_stds`·`std` of it (3σ: 99% of a 2-D Gaussian's mass lies within 3.03σ).
    A mode is **hit** if at least max(1, ⌈`min_share`·N/K⌉) samples are near it: a tenth (by
    default) of the N/K it would get if the sampler were the mixture with equal weights.

    Returns `modes_hit` (int), `hit` (K,) bool, `fraction_near_a_mode` (float, the share of
    "high-quality" samples) and `per_mode_fraction` (K,), the share of all N samples near
    each mode (these sum to `fraction_near_a_mode`), on the samples' device.
    """
    if samples.dim() != 2:
        raise ValueError(f"samples must have shape (N, D), got {tuple(samples.shape)}")
    check_shape(modes, (None, samples.shape[1]), "modes")
    if samples.shape[0] == 0 or modes.shape[0] == 0:
        raise ValueError(f"need at least one sample and one mode, got samples {tuple(samples.shape)}, "
                         f"modes {tuple(modes.shape)}")
    if not float(std) > 0 or not float(radius_in_stds) > 0:
        raise ValueError(f"std and radius_in_stds must be positive, got std={std}, radius_in_stds={radius_in_stds}")
    n, k = samples.shape[0], modes.shape[0]
    dtype = samples.dtype if samples.is_floating_point() else torch.get_default_dtype()
    x = samples.to(dtype)
    distance = torch.cdist(x, modes.to(x.device, dtype))                  # (N, K)
    nearest_distance, nearest = distance.min(1)                           # (N,), (N,)
    near = nearest_distance <= radius_in_stds * float(std)
    counts = torch.bincount(nearest[near], minlength=k)                   # (K,)
    hit = counts >= max(1, math.ceil(min_share * n / k))
    return {
        "modes_hit": int(hit.sum()),
        "hit": hit,
        "fraction_near_a_mode": float(near.float().mean()),
        "per_mode_fraction": counts.to(dtype) / n,
    }
