"""Disentanglement against known factors of variation: the Mutual Information Gap (MIG) and
the plug-in mutual information matrix behind it."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..utils import check_shape, float64_device

__all__ = ["MIGResult", "mig", "mig_details"]


@dataclass(frozen=True)
class MIGResult:
    """MIG and its parts: per-factor gaps (F,), normalised MI (L, F), factor entropies (F,) in nats."""

    score: float
    gaps: torch.Tensor
    normalized_mi: torch.Tensor
    factor_entropy: torch.Tensor
    top_latent: torch.Tensor = field(repr=False)
    """(F,) the latent dimension with the most information about each factor."""

    def __float__(self) -> float:
        return self.score

    @property
    def top_factor(self) -> torch.Tensor:
        """(L,) the factor each latent dimension has the most normalised information about."""
        return self.normalized_mi.argmax(1)


def _discretise_latents(z: torch.Tensor, bins: int) -> torch.Tensor:
    """Each column into `bins` equal-width bins between its min and max: (N, L) int64 in 0..bins-1."""
    lo, hi = z.min(0).values, z.max(0).values
    width = (hi - lo).clamp_min(torch.finfo(z.dtype).tiny)
    return ((z - lo) / width * bins).long().clamp(0, bins - 1)


def _entropy(counts: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of the distributions whose counts are in the last dimension."""
    p = counts / counts.sum(-1, keepdim=True)
    return -torch.special.xlogy(p, p).sum(-1)


def mig_details(latents: torch.Tensor, factors: torch.Tensor, bins: int = 20) -> MIGResult:
    """The Mutual Information Gap (Chen et al., 2018) with its parts; see `mig`."""
    if latents.dim() != 2 or latents.shape[1] < 2:
        raise ValueError(f"latents must have shape (N, L) with L >= 2 (the gap needs two latents), "
                         f"got {tuple(latents.shape)}")
    if factors.dim() != 2 or factors.shape[0] != latents.shape[0]:
        raise ValueError(f"factors must have shape ({latents.shape[0]}, F) to match latents "
                         f"{tuple(latents.shape)}, got {tuple(factors.shape)}")
    if not isinstance(bins, int) or bins < 2:
        raise ValueError(f"bins must be an int >= 2, got {bins!r}")
    dev = float64_device(latents)
    z = _discretise_latents(latents.detach().to(dev, torch.float64), bins)  # (N, L)
    n, num_latents = z.shape
    factors = factors.detach().to(dev)
    mi_rows, entropies = [], []
    for k in range(factors.shape[1]):
        values, v = torch.unique(factors[:, k], return_inverse=True)    # v: (N,) in 0..V-1
        if len(values) < 2:
            raise ValueError(f"factor {k} takes a single value, so it has no entropy and MIG is undefined for it")
        nv = len(values)
        # joint counts of (latent bin, factor value) for every latent at once: (L, bins, V)
        index = torch.arange(num_latents, device=dev) * bins * nv + z * nv + v[:, None]  # (N, L)
        joint = torch.bincount(index.reshape(-1), minlength=num_latents * bins * nv)
        joint = joint.reshape(num_latents, bins * nv).to(torch.float64)
        h_v = _entropy(torch.bincount(v, minlength=nv).to(torch.float64))
        h_z = _entropy(joint.reshape(num_latents, bins, nv).sum(2))       # (L,)
        # I(z_j; v_k) = H(z_j) + H(v_k) − H(z_j, v_k)
        mi_rows.append(h_z + h_v - _entropy(joint))
        entropies.append(h_v)
    mi = torch.stack(mi_rows, 1).clamp_min(0)                             # (L, F)
    entropy = torch.stack(entropies)                                      # (F,)
    normalized = mi / entropy                                             # I(z_j; v_k) / H(v_k)
    top2 = normalized.topk(2, dim=0)
    gaps = top2.values[0] - top2.values[1]                                # (F,)
    return MIGResult(float(gaps.mean()), gaps, normalized, entropy, top2.indices[0])


def mig(latents: torch.Tensor, factors: torch.Tensor, bins: int = 20) -> float:
    """Mutual Information Gap (Chen et al., 2018) of a code against known discrete factors.

        MIG = 1/F Σ_k ( I(z_{j*}; v_k) − I(z_{j°}; v_k) ) / H(v_k)

    with j* and j° the latent dimensions with the most and second-most information about
    factor v_k. Each latent dimension is discretised into `bins` equal-width bins over its
    range, each factor by its distinct values; the mutual information is the plug-in
    estimate from counts (nats). 1 means every factor lives in exactly one latent; 0 means
    two latents share it equally (or none holds it). `latents` (N, L), `factors` (N, F).
    Use `mig_details` for the per-factor gaps.
    """
    return mig_details(latents, factors, bins).score
