"""Disentanglement against known factors of variation: the Mutual Information Gap (MIG), the
plug-in mutual information matrix behind it, and which latents count (the active ones).

MIG is estimated on the encoder means μ(x). A latent that the KL term has switched off
(mean KL(q(z_j | x) ‖ N(0, 1)) of a few thousandths of a nat) still has a μ_j that moves a
little with x, and binning it into equal-width bins between its own min and max stretches
those tiny moves over every bin: the plug-in estimate then finds information that the code
z_j = μ_j + σ_j ε, with σ_j ≈ 1, does not carry, and such a latent can become a factor's
runner-up and shrink its gap. `active_latents` gives the latents that carry more than
`ACTIVE_KL` nats (the criterion `VAE.latent_report` counts with), and
`mig_details(..., active=mask)` takes the others' information as zero."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..models.vae import ACTIVE_KL, gaussian_kl_per_dim
from ..utils import float64_device

__all__ = ["MIGResult", "mig", "mig_details", "active_latents", "ACTIVE_KL"]


@dataclass(frozen=True)
class MIGResult:
    """MIG and its parts: per-factor gaps (F,), normalised MI (L, F), factor entropies (F,) in nats."""

    score: float
    gaps: torch.Tensor
    normalized_mi: torch.Tensor
    factor_entropy: torch.Tensor
    top_latent: torch.Tensor = field(repr=False)
    """(F,) the latent dimension with the most information about each factor."""
    active: torch.Tensor | None = field(default=None, repr=False)
    """(L,) bool: the latents the score counts (None: all); the others' rows of `normalized_mi` are 0."""
    estimated_mi: torch.Tensor | None = field(default=None, repr=False)
    """(L, F) the plug-in I(z_j; v_k) / H(v_k) of every latent, switched-off ones included."""

    def __float__(self) -> float:
        return self.score

    @property
    def top_factor(self) -> torch.Tensor:
        """(L,) the factor each latent dimension has the most normalised information about."""
        return self.normalized_mi.argmax(1)

    def on_all_latents(self) -> MIGResult:
        """The same MIG with every latent counted (Chen et al.'s), from `estimated_mi`: no second binning."""
        if self.estimated_mi is None:
            raise ValueError("this MIGResult keeps no estimated_mi: compute it with mig_details")
        return _gap_result(self.estimated_mi, self.factor_entropy, None)


def _discretise_latents(z: torch.Tensor, bins: int) -> torch.Tensor:
    """Each column into `bins` equal-width bins between its min and max: (N, L) int64 in 0..bins-1."""
    lo, hi = z.min(0).values, z.max(0).values
    width = (hi - lo).clamp_min(torch.finfo(z.dtype).tiny)
    return ((z - lo) / width * bins).long().clamp(0, bins - 1)


def _entropy(counts: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of the distributions whose counts are in the last dimension."""
    p = counts / counts.sum(-1, keepdim=True)
    return -torch.special.xlogy(p, p).sum(-1)


def active_latents(mu: torch.Tensor, log_var: torch.Tensor, threshold: float = ACTIVE_KL) -> torch.Tensor:
    """(L,) bool: the latents whose mean KL(q(z_j | x) ‖ N(0, 1)) over the N inputs exceeds `threshold` nats.

    `mu`, `log_var` (N, L) are the encoder's q(z | x) on the data MIG is measured on. The mean KL
    of a latent is the rate it carries (it bounds the information z_j holds about x), so a
    latent at or below the threshold (default `ACTIVE_KL` = 0.05 nats, as `VAE.latent_report`
    counts) is switched off: its z_j is prior noise whatever the input.
    """
    if mu.dim() != 2 or tuple(log_var.shape) != tuple(mu.shape):
        raise ValueError(f"mu and log_var must both have shape (N, L), got {tuple(mu.shape)} and {tuple(log_var.shape)}")
    if not threshold >= 0:
        raise ValueError(f"threshold must be a number of nats >= 0, got {threshold!r}")
    return gaussian_kl_per_dim(mu.detach(), log_var.detach()).mean(0) > threshold


def _check_active(active, num_latents: int) -> torch.Tensor:
    mask = torch.as_tensor(active)
    if mask.dtype != torch.bool or tuple(mask.shape) != (num_latents,):
        raise ValueError(f"active must be a bool mask of shape ({num_latents},), one entry per latent "
                         f"(e.g. active_latents(mu, log_var)), got dtype {mask.dtype} and shape {tuple(mask.shape)}")
    return mask.cpu()


def mig_details(latents: torch.Tensor, factors: torch.Tensor, bins: int = 20, *,
                active: torch.Tensor | None = None) -> MIGResult:
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
    estimated = mi / entropy                                              # I(z_j; v_k) / H(v_k)
    normalized = estimated
    if active is not None:
        active = _check_active(active, num_latents)
    return _gap_result(estimated, entropy, active)


def _gap_result(estimated: torch.Tensor, entropy: torch.Tensor, active: torch.Tensor | None) -> MIGResult:
    """MIG from the normalised MI (L, F): the mean over factors of the top two latents' gap, counting `active` only."""
    normalized = estimated
    if active is not None:
        normalized = estimated * active.to(estimated.device, torch.float64)[:, None]   # a switched-off latent carries nothing
    top2 = normalized.topk(2, dim=0)
    gaps = top2.values[0] - top2.values[1]                                # (F,)
    return MIGResult(float(gaps.mean()), gaps, normalized, entropy, top2.indices[0], active, estimated)


def mig(latents: torch.Tensor, factors: torch.Tensor, bins: int = 20, *, active: torch.Tensor | None = None) -> float:
    """Mutual Information Gap (Chen et al., 2018) of a code against known discrete factors.

        MIG = 1/F Σ_k ( I(z_{j*}; v_k) − I(z_{j°}; v_k) ) / H(v_k)

    with j* and j° the latent dimensions with the most and second-most information about
    factor v_k. Each latent dimension is discretised into `bins` equal-width bins over its
    range, each factor by its distinct values; the mutual information is the plug-in
    estimate from counts (nats). 1 means every factor lives in exactly one latent; 0 means
    two latents share it equally (or none holds it). `latents` (N, L), `factors` (N, F).

    `active` (L,) bool, e.g. `active_latents(mu, log_var)`: only those latents count; the
    information of the others is taken as 0 (a switched-off latent's z_j is prior noise, while
    the binned μ_j would show spurious information). With one active latent the runner-up is
    a switched-off one, with 0. Chen et al. compute MIG on all latents (`active=None`); on a
    VAE with switched-off latents that is the lower, artefact-laden number.
    Use `mig_details` for the per-factor gaps.
    """
    return mig_details(latents, factors, bins, active=active).score
