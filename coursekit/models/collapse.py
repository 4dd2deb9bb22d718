"""Posterior collapse on a toy (lecture 02): a VAE on 2-D points whose decoder's capacity decides
whether the code z is used at all.

    p(z) = N(0, I_L),   q_φ(z | x) = N(μ_φ(x), diag σ²_φ(x)),
    p_θ(x | z) = Σ_{m=1}^{M} π_m(z) N(x; m_m(z), diag s_m(z)²)     (one MLP gives π, m, log s from z)

With M = 1 the decoder is one Gaussian blob: to put its mass on the eight separate modes of the
ring (`data.EightGaussians`) it must be told by z where to go, so the ELBO uses z (KL > 0). With
M ≥ 8 the decoder can model p(x) on its own, with π, m, s constant in z; then every nat of
KL(q ‖ p) costs ELBO and buys nothing, and the ELBO's optimum is KL = 0: z is ignored for every x
(posterior collapse; Bowman et al. 2016, Chen et al. 2017 "Variational lossy autoencoder"). The
same happens to a VAE with an autoregressive decoder (lecture 04) that can model the pixels alone.

Two remedies used in practice, both here:
- a **KL warm-up**: train on recon + β·KL with β rising from 0 to 1 (`kl_warmup(steps)` gives
  `coursekit.training.train` a step that sets `beta_kl` per step); β = 1 afterwards, so it only
  changes where optimisation starts from, not the objective's optimum;
- **free bits** (Kingma et al. 2016): charge each latent dimension's KL, averaged over the
  batch, only above λ nats, `loss = −E_q log p(x | z) + Σ_j max(λ, KL_j)` (`free_bits=λ`): up to
  λ nats per dimension are free, so using them costs the loss nothing. This changes the objective;
  the "elbo" part of `loss` is always the true ELBO.

    model = CollapseVAE(components=8, free_bits=0.5)
    parts = model.loss((x,))          # {"loss", "recon", "kl", "elbo"}: per-example means in nats
    model.nll_bound(x)                # −ELBO per point (an upper bound on −log p(x))
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..utils import check_shape, rand
from .base import GenerativeModel, batch_images
from .layers import MLP
from .vae import _randn, gaussian_kl_per_dim, reparameterize

__all__ = ["CollapseVAEConfig", "CollapseVAE", "kl_warmup"]


@dataclass
class CollapseVAEConfig:
    """`components` M of the decoder's mixture (1: a blob that needs z; ≥ 8: it can model the ring
    alone), `latent_dim` L, `hidden` units in the two hidden layers of each network, `beta_kl` (the
    KL weight: 1 is the ELBO; `kl_warmup` changes it between steps), `free_bits` λ ≥ 0 nats per
    latent dimension (0: none)."""
    components: int = 1
    latent_dim: int = 2
    hidden: int = 64
    beta_kl: float = 1.0
    free_bits: float = 0.0

    def __post_init__(self):
        for name in ("components", "latent_dim", "hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("beta_kl", "free_bits"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")


class CollapseVAE(GenerativeModel):
    """The toy VAE of the module docstring; 2-D real-valued points in, (N, 2) samples out."""

    likelihood = "bound"
    bound = "elbo"

    def __init__(self, *, components: int = 1, latent_dim: int = 2, hidden: int = 64, beta_kl: float = 1.0,
                 free_bits: float = 0.0):
        super().__init__()
        self.config = c = CollapseVAEConfig(components, latent_dim, hidden, beta_kl, free_bits)
        self.encoder = MLP([2, c.hidden, c.hidden, 2 * c.latent_dim], activation="elu")    # x → (μ, log σ²)
        self.decoder = MLP([c.latent_dim, c.hidden, c.hidden, 5 * c.components], activation="elu")  # z → π, m, log s

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (2,)

    @property
    def data_levels(self) -> None:
        return None

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """μ_φ(x), log σ²_φ(x): (N, L) each."""
        x = self._check_x(x)
        mu, log_var = self.encoder(x).chunk(2, dim=-1)
        return mu, log_var.clamp(-12.0, 8.0)

    def mixture(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """log π (N, M), means m (N, M, 2) and log standard deviations log s (N, M, 2) of p_θ(x | z)."""
        M = self.config.components
        out = self.decoder(z)
        logits, means, log_s = out[:, :M], out[:, M:3 * M], out[:, 3 * M:]
        return logits.log_softmax(-1), means.view(-1, M, 2), log_s.view(-1, M, 2).clamp(-7.0, 5.0)

    def log_px_z(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p_θ(x | z) = log Σ_m π_m N(x; m_m, diag s_m²) in nats, (N,)."""
        log_pi, means, log_s = self.mixture(z)
        x = x.unsqueeze(1)                                                                     # (N, 1, 2)
        log_n = -0.5 * (math.log(2 * math.pi) * 2 + (2 * log_s + ((x - means) * torch.exp(-log_s)).pow(2)).sum(-1))
        return torch.logsumexp(log_pi + log_n, dim=-1)                                        # (N, M) → (N,)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        x = self._check_x(batch_images(batch))
        mu, log_var = self.encode(x)
        z = reparameterize(mu, log_var)
        recon = -self.log_px_z(x, z)                                                          # (N,)
        kl_per_dim = gaussian_kl_per_dim(mu, log_var)                                         # (N, L)
        kl = kl_per_dim.sum(-1)
        c = self.config
        charged = kl_per_dim.mean(0).clamp(min=c.free_bits).sum() if c.free_bits > 0 else kl.mean()  # Σ_j max(λ, KL_j)
        return {"loss": recon.mean() + c.beta_kl * charged, "recon": recon.mean(), "kl": kl.mean(),
                "elbo": -(recon + kl).mean()}

    def nll_bound(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """−ELBO per point with one z ~ q(z | x): an upper bound on −log p(x) in expectation, (N,)."""
        x = self._check_x(x)
        mu, log_var = self.encode(x)
        z = mu + torch.exp(0.5 * log_var) * _randn(mu.shape, mu, generator)
        return -self.log_px_z(x, z) + gaussian_kl_per_dim(mu, log_var).sum(-1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ N(0, I), a component m ~ π(z), then x ~ N(m_m(z), diag s_m(z)²): (n, 2)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        like = torch.empty(0, device=self.device, dtype=next(self.parameters()).dtype)
        log_pi, means, log_s = self.mixture(_randn((n, self.config.latent_dim), like, generator))
        u = rand(log_pi.shape, device=like.device, dtype=like.dtype, generator=generator).clamp_min(1e-12)
        m = (log_pi - torch.log(-torch.log(u))).argmax(-1)                                   # Gumbel-max: m ~ π(z)
        pick = m.view(n, 1, 1).expand(n, 1, 2)                                               # (n, 1, 2)
        centre, log_spread = means.gather(1, pick).squeeze(1), log_s.gather(1, pick).squeeze(1)   # (n, 2) each
        return centre + log_spread.exp() * _randn((n, 2), like, generator)

    def _check_x(self, x: torch.Tensor) -> torch.Tensor:
        check_shape(x, (None, 2), "x")
        if not x.is_floating_point():
            raise TypeError(f"x must hold real-valued 2-D points (a floating-point tensor), got dtype {x.dtype}")
        if x.device != self.device:
            raise ValueError(f"x is on {x.device} but the model is on {self.device}: move one, e.g. x.to(model.device)")
        return x.to(next(self.parameters()).dtype)


def kl_warmup(warmup_steps: int, beta_max: float = 1.0):
    """A `step_fn` for `coursekit.training.train`: before step s it sets the model's KL weight to
    β_s = beta_max · min(1, (s + 1) / warmup_steps), then takes the default step (zero grad, backward
    on "loss", optimiser step). The model is left at β = beta_max."""
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 1:
        raise ValueError(f"warmup_steps must be a positive int, got {warmup_steps!r}")
    if isinstance(beta_max, bool) or not isinstance(beta_max, (int, float)) or not beta_max >= 0:
        raise ValueError(f"beta_max (the KL weight after the warm-up) must be a number >= 0, got {beta_max!r}")

    def step(model, batch, optimizers, step, ctx):
        model.config.beta_kl = beta_max * min(1.0, (step + 1) / warmup_steps)
        ctx.zero_grad(optimizers)
        parts = ctx.loss(batch)
        ctx.backward(parts["loss"], optimizers)
        ctx.step(optimizers)
        return {**parts, "beta_kl": torch.tensor(model.config.beta_kl)}

    return step
