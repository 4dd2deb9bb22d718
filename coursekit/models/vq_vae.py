"""VQ-VAE (van den Oord, Vinyals & Kavukcuoglu, 2017): a discrete code grid, then an autoregressive prior over it.

    z_e = E(x) ∈ ℝ^{d×h×w}                           (the encoder: one d-vector per cell of an h×w grid)
    k_ij = argmin_k ‖z_e,ij − e_k‖²,  z_q,ij = e_{k_ij}    (nearest code of the codebook e ∈ ℝ^{M×d})
    z_q^st = z_e + sg[z_q − z_e]                      (straight-through: forward z_q, backward ∂/∂z_q copied to z_e)
    p(x | k) = Π_pixels Cat(x_d | softmax(ℓ_d(z_q)))  (the decoder: a categorical over the K levels per pixel)
    loss = −log p(x | z_q^st) + ‖sg[z_e] − e‖² + β ‖z_e − sg[e]‖²     ("recon", "codebook", "commitment")

The codebook e is a parameter trained by the loss (the paper's codebook term, not the EMA variant): it gets
gradient from the codebook term only, the encoder from the reconstruction (through the straight-through
copy) and the commitment term, the decoder from the reconstruction only. Squared errors are summed over
the grid and the d coordinates of one example, then averaged over the batch (like "recon", per example).

**Dead codes.** A code that no z_e picks gets no gradient and never comes back. The first training batch
sets every code to a random z_e of it (a data-dependent initialisation, not counted as a restart); after
that, in training mode only, a code unused for `dead_after` consecutive batches (default 16: one epoch of
the 1000 digits) is re-initialised to a random z_e of the current batch. Cells are drawn from torch's
global stream, which `coursekit.training.train(seed=...)` seeds: deterministic under the seed. `restarts`
counts them; `loss` reports this batch's count ("restarts") and the codes' perplexity exp(H(p̂)), p̂ the
batch's code frequencies (M when all are used equally, 1 when one code takes all).

**The prior and the bound.** The model is p(x) = Σ_k p(k) p(x | k), k ∈ {0..M−1}^{h×w}. With the
deterministic encoder q(k | x) = δ(k − k(x)) (entropy 0) the ELBO is log p(x | k(x)) + log p(k(x)),
one term of that sum, and a sum of non-negative terms is at least any one of them:

    −log p(x) ≤ −log p(x | k(x)) − log p(k(x))              (`nll_bound`, nats per image; bound "elbo-delta")

It is an upper bound on the −log p(x) of that latent-variable model, not its exact NLL; the gap is
−log p(k(x) | x), the posterior's doubt about the code. A better prior lowers the second term only;
the first is fixed once the VQ-VAE is trained. Without a fitted prior, p(k) is uniform, M^{−hw} (the
prior the paper trains under, when the KL term is the constant hw·log M); `bound` then says
"uniform prior". The fitted prior is an autoregressive model over the (1, h, w) code grid with M levels,
the course's `PixelCNN` with one-hot inputs (codes have no order; a MADE takes scaled inputs only and
did worse); `code_splits` gives its data and the training is `coursekit.training.train` (models do not
import the trainer, so the recipe is a few lines):

    vq = VQVAE()                                                       # 8×8 digits → a 4×4 grid of M = 16 codes
    train(vq, loaders["train"], val_data=loaders["val"], epochs=25, lr=2e-3, restore_best=False)
    codes = code_splits(vq, splits)                                    # Splits of (N, 1, 4, 4) code grids, levels M
    prior = PixelCNN(shape=(1, *vq.grid), levels=vq.config.codes, inputs="one_hot", channels=32, head=32, layers=2)
    code_loaders = data.loaders(codes)
    train(prior, code_loaders["train"], val_data=code_loaders["val"], epochs=60, patience=10, lr=3e-3)
    vq.attach_prior(prior.eval())
    vq.nll_bound(splits.test.x) / (64 * math.log(2))                   # bits/dim, an upper bound
    vq.sample(16)                                                      # codes from the prior → decoder → pixels

Train the VQ-VAE for a fixed number of epochs with `restore_best=False`: its validation "loss" holds the
commitment term, which grows as the encoder spreads its outputs while "recon" still improves, so the
best-"loss" epoch is an early one. Save a VQ-VAE with its prior by building it with the prior,
`VQVAE(prior=PixelCNN(...))`, so that a fresh instance has the same state-dict keys.

Grid: 8×8 digits → 4×4 (`downsample=1`, the default: 16 codes of 2×2-pixel patches, which leaves the
prior structure to learn) or 2×2 (`downsample=2`). On the 1000 training digits (seeds 0, 1, 2, test split,
benchmarks/vq_vae_bits_per_dim.py) the default 4×4 grid of 16 codes gave a bound of 2.21 ± 0.05 bits/dim:
recon 1.59 bits/dim, prior 40 bits per image where the uniform prior spends 64 (2.59 bits/dim under it,
above the per-pixel floor 2.398: the prior is what takes the bound below it). A 2×2 grid of 32 codes
(`downsample=2, codes=32, channels=64`) gave 2.16 ± 0.01, with a prior worth less (16 bits of 20). Both
are above the PixelCNN's exact 1.87 on the pixels: a bound, and a decoder that factorises given the code.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.splits import ImageSplit, Splits
from ..utils import check_images, check_integer_range, rand
from .autoregressive import Autoregressive
from .base import GenerativeModel, ImagesFromConfig, batch_images, config_from

__all__ = ["VQVAEConfig", "VQVAE", "nearest_code", "perplexity", "code_splits"]


# --- the quantiser, as functions ---------------------------------------------------------------

def nearest_code(z_e: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """k = argmin_k ‖z_e − e_k‖² for every row of z_e (N, d), codebook e (M, d): (N,) long.

    ‖z − e_k‖² = ‖z‖² − 2 z·e_k + ‖e_k‖²: one matrix product instead of an (N, M, d) difference tensor.
    Ties go to the lowest index (torch.argmin)."""
    distances = z_e.pow(2).sum(1, keepdim=True) - 2 * z_e @ codebook.T + codebook.pow(2).sum(1)   # (N, M)
    return distances.argmin(1)


def perplexity(k: torch.Tensor, codes: int) -> torch.Tensor:
    """exp(H(p̂)) of the code indices k (any shape), p̂_m their frequency: between 1 (one code) and M (all equally)."""
    p = F.one_hot(k.flatten(), codes).to(torch.get_default_dtype()).mean(0)        # (n, M) → (M,) frequencies
    entropy = -(p * torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))).sum()        # 0 log 0 = 0
    return entropy.exp()


# --- the model -----------------------------------------------------------------------------------

@dataclass
class VQVAEConfig:
    """A VQ-VAE: the data (`shape` (C, H, W), `levels` K), the grid (`downsample` stride-2 stages: an H×W image
    gives an H/2^s × W/2^s grid of codes), the codebook (`codes` M vectors of `code_dim` d), the conv nets'
    `channels`, the commitment weight `beta_commit` β and `dead_after` (training batches a code may go unused
    before it is restarted; 0 never restarts).

    On the 1000 training digits the default (a 4×4 grid of 16 codes of 8, 25 epochs, then a PixelCNN prior)
    bounds −log p(x) by 2.21 ± 0.05 bits/dim over seeds 0-2, about 10 s + 3.5 s on one shared core:
    benchmarks/vq_vae_bits_per_dim.py."""

    shape: tuple[int, int, int] = (1, 8, 8)
    levels: int = 17
    downsample: int = 1
    codes: int = 16
    code_dim: int = 8
    channels: int = 32
    beta_commit: float = 0.25
    dead_after: int = 16

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise ValueError(f"shape must be (C, H, W) with positive sizes, got {self.shape}")
        for name, low in (("levels", 2), ("codes", 1), ("code_dim", 1), ("channels", 1), ("downsample", 0),
                          ("dead_after", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        step = 2 ** self.downsample
        if self.shape[1] % step or self.shape[2] % step:
            raise ValueError(f"downsample={self.downsample} halves H and W {self.downsample} times, so they must be "
                             f"multiples of {step}; got shape {self.shape}")
        if not self.beta_commit >= 0:
            raise ValueError(f"beta_commit (β, the commitment weight) must be >= 0, got {self.beta_commit!r}")

    @property
    def grid(self) -> tuple[int, int]:
        """(h, w), the code grid: (H / 2^s, W / 2^s)."""
        return self.shape[1] >> self.downsample, self.shape[2] >> self.downsample


def _encoder(c: VQVAEConfig) -> nn.Sequential:
    """x̃ (N, C, H, W) → z_e (N, d, h, w): a 3×3 conv, `downsample` stride-2 4×4 convs, a 3×3 conv, a 1×1 to d."""
    layers = [nn.Conv2d(c.shape[0], c.channels, 3, padding=1), nn.ELU()]
    for _ in range(c.downsample):
        layers += [nn.Conv2d(c.channels, c.channels, 4, stride=2, padding=1), nn.ELU()]   # halves H and W
    layers += [nn.Conv2d(c.channels, c.channels, 3, padding=1), nn.ELU(), nn.Conv2d(c.channels, c.code_dim, 1)]
    return nn.Sequential(*layers)


def _decoder(c: VQVAEConfig) -> nn.Sequential:
    """z_q (N, d, h, w) → logits (N, C·K, H, W): the encoder's mirror, transposed convs doubling H and W."""
    layers = [nn.Conv2d(c.code_dim, c.channels, 3, padding=1), nn.ELU()]
    for _ in range(c.downsample):
        layers += [nn.ConvTranspose2d(c.channels, c.channels, 4, stride=2, padding=1), nn.ELU()]   # doubles H, W
    layers += [nn.Conv2d(c.channels, c.channels, 3, padding=1), nn.ELU(),
               nn.Conv2d(c.channels, c.shape[0] * c.levels, 1)]
    return nn.Sequential(*layers)


class VQVAE(ImagesFromConfig, GenerativeModel):
    """VQ-VAE with a categorical decoder over K levels per pixel and a prior over its code grid (module docstring).

    `VQVAE(config)` or `VQVAE(**fields of VQVAEConfig)`; `prior=` an autoregressive model of shape (1, h, w)
    with `levels` M (or `attach_prior` later). Its likelihood is a bound, `nll_bound` ("elbo-delta")."""

    likelihood = "bound"

    def __init__(self, config: VQVAEConfig | None = None, *, prior: Autoregressive | None = None, **fields):
        super().__init__()
        self.config = c = config_from(config, fields, VQVAEConfig)
        self.encoder = _encoder(c)
        self.codebook = nn.Parameter(torch.empty(c.codes, c.code_dim).uniform_(-1 / c.codes, 1 / c.codes))   # e
        self.decoder = _decoder(c)
        self.register_buffer("unused_for", torch.zeros(c.codes, dtype=torch.long))   # batches since each code was used
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))       # codebook set from data yet?
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))          # dead codes restarted so far
        self.prior: Autoregressive | None = None
        if prior is not None:
            self.attach_prior(prior)

    # -- the contract's declaration ----------------------------------------------------------

    @property
    def bound(self) -> str:
        """"elbo-delta" (the ELBO with q(k|x) = δ(k − k(x))) and which prior: uniform, or the attached model's class."""
        return f"elbo-delta, {'uniform' if self.prior is None else type(self.prior).__name__} prior"

    @property
    def grid(self) -> tuple[int, int]:
        """(h, w), the shape of the code grid."""
        return self.config.grid

    @property
    def dtype(self) -> torch.dtype:
        return self.codebook.dtype

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())

    def attach_prior(self, prior: Autoregressive) -> "VQVAE":
        """Use `prior` (an autoregressive model of the (1, h, w) code grid with M levels) as p(k); returns self."""
        c = self.config
        if not isinstance(prior, Autoregressive):
            raise TypeError(f"the prior must be an autoregressive model (PixelCNN, MADE, ...), "
                            f"got {type(prior).__name__}")
        want = ((1, *c.grid), c.codes)
        got = (tuple(prior.data_shape), prior.data_levels)
        if got != want:
            raise ValueError(f"the prior must model the code grid: shape (1, h, w) = {want[0]} with levels M = "
                             f"{want[1]}; got shape {got[0]} with levels {got[1]}")
        self.prior = prior
        return self

    # -- input checks --------------------------------------------------------------------------

    def _check_x(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        """x as int64 levels (N, C, H, W), after checking its shape and levels (int64 or integer-valued floats)."""
        check_images(x, self.config.shape, levels=self.config.levels, name=name)
        return x.long()

    def _check_codes(self, codes: torch.Tensor) -> torch.Tensor:
        h, w = self.grid
        if not isinstance(codes, torch.Tensor) or codes.dim() != 3 or tuple(codes.shape[1:]) != (h, w):
            got = tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__
            raise ValueError(f"codes must have shape (N, {h}, {w}) (one code index per grid cell), got {got}")
        if codes.is_floating_point() or codes.dtype == torch.bool:
            raise TypeError(f"codes must be integer indices 0..{self.config.codes - 1}, got dtype {codes.dtype}")
        check_integer_range(codes, 0, self.config.codes - 1, "codes")
        return codes.long()

    # -- encoder, quantiser, decoder ---------------------------------------------------------------

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z_e (N, d, h, w): the encoder's output at every grid cell, from levels x scaled to [0, 1]."""
        x = self._check_x(x)
        return self.encoder(x.to(self.dtype) / (self.config.levels - 1))

    def quantize(self, z_e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_q (N, d, h, w), k (N, h, w)): the nearest code e_k at every cell of z_e (N, d, h, w)."""
        n, d, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)                   # (N, d, h, w) → (N, h, w, d) → (N·h·w, d)
        k = nearest_code(flat, self.codebook).view(n, h, w)             # (N·h·w,) → (N, h, w)
        return self.lookup(k), k

    def lookup(self, k: torch.Tensor) -> torch.Tensor:
        """z_q = e_k (N, d, h, w) from code indices k (N, h, w)."""
        return F.embedding(k, self.codebook).permute(0, 3, 1, 2)         # (N, h, w, d) → (N, d, h, w)

    @torch.no_grad()
    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """k(x) (N, h, w) long: the deterministic encoder, the code index at every grid cell."""
        return self.quantize(self.encode(x))[1]

    def decoder_logits(self, z_q: torch.Tensor) -> torch.Tensor:
        """ℓ (N, K, C, H, W): the logits of p(x_d | z_q) for every pixel, from z_q (N, d, h, w)."""
        out = self.decoder(z_q)                                           # (N, C·K, H, W)
        return out.view(out.shape[0], self.config.levels, *self.config.shape)   # → (N, K, C, H, W)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """The mean image E[x | k] = Σ_k k·p(x_d = k | z_q), (N, C, H, W) floats in level units, from codes (N, h, w)."""
        logits = self.decoder_logits(self.lookup(self._check_codes(codes)))              # (N, K, C, H, W)
        levels = torch.arange(self.config.levels, device=logits.device, dtype=logits.dtype).view(1, -1, 1, 1, 1)
        return (logits.softmax(1) * levels).sum(1)                                       # (N, C, H, W)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """decode(codes(x)): the mean image of x's own code grid, (N, C, H, W)."""
        return self.decode(self.codes(x))

    def log_px_z(self, x: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """log p(x | k) = Σ_d log softmax(ℓ_d)_{x_d} in nats, (N,), for images x and code grids `codes` (N, h, w)."""
        x, codes = self._check_x(x), self._check_codes(codes)
        if codes.shape[0] != x.shape[0]:
            raise ValueError(f"x and codes must have one row each per image, got x {tuple(x.shape)} and codes "
                             f"{tuple(codes.shape)}")
        logits = self.decoder_logits(self.lookup(codes))                       # (N, K, C, H, W)
        return -F.cross_entropy(logits, x, reduction="none").flatten(1).sum(1)  # (N, C, H, W) → (N,)

    # -- the objective ---------------------------------------------------------------------------

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """recon + codebook + β·commitment on a batch `(x,)` or `(x, y)` (labels ignored): per-example means.

        "recon" = −log p(x | z_q^st) in nats, "codebook" = ‖sg[z_e] − e‖², "commitment" = ‖z_e − sg[e]‖²
        (summed over the grid and d), "perplexity" of the batch's codes, "restarts" = dead codes restarted
        before this batch (training mode only)."""
        x = self._check_x(batch_images(batch))
        z_e = self.encoder(x.to(self.dtype) / (self.config.levels - 1))   # (N, d, h, w)
        restarted = self._restart_dead_codes(z_e) if self.training else 0
        z_q, k = self.quantize(z_e)                                          # (N, d, h, w), (N, h, w)
        if self.training:
            self._count_usage(k)
        z_q_st = z_e + (z_q - z_e).detach()                                  # straight-through: value z_q, gradient to z_e
        logits = self.decoder_logits(z_q_st)                                 # (N, K, C, H, W)
        recon = F.cross_entropy(logits, x, reduction="none").flatten(1).sum(1)      # −log p(x | z_q), (N,)
        codebook = (z_e.detach() - z_q).pow(2).flatten(1).sum(1)                    # ‖sg[z_e] − e‖², (N,)
        commitment = (z_e - z_q.detach()).pow(2).flatten(1).sum(1)                  # ‖z_e − sg[e]‖², (N,)
        loss = recon + codebook + self.config.beta_commit * commitment
        return {"loss": loss.mean(), "recon": recon.mean(), "codebook": codebook.mean(),
                "commitment": commitment.mean(), "perplexity": perplexity(k, self.config.codes).to(loss.dtype),
                "restarts": torch.tensor(float(restarted), dtype=loss.dtype, device=loss.device)}

    @torch.no_grad()
    def _count_usage(self, k: torch.Tensor) -> None:
        """unused_for ← 0 for the codes this batch picked, + 1 for the others."""
        used = F.one_hot(k.flatten(), self.config.codes).any(0)      # (N, h, w) → (N·h·w, M) → (M,) bool
        self.unused_for.copy_(torch.where(used, torch.zeros_like(self.unused_for), self.unused_for + 1))

    @torch.no_grad()
    def _restart_dead_codes(self, z_e: torch.Tensor) -> int:
        """e_m ← a random z_e of this batch for every code m unused for `dead_after` batches; how many."""
        c = self.config
        if z_e.device.type == "meta":                            # a meta tensor has no values to compare
            return 0
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, c.code_dim)    # (N, d, h, w) → (N·h·w, d)
        if not self.initialised:                                 # the first training batch: every e_m from data
            self.codebook.copy_(flat[self._distinct_cells(flat.shape[0], c.codes, flat.device)].to(self.dtype))
            self.initialised.fill_(True)
            return 0
        if c.dead_after == 0:
            return 0
        dead = (self.unused_for >= c.dead_after).nonzero().flatten()                 # (n_dead,)
        if dead.numel() == 0:
            return 0
        self.codebook[dead] = flat[self._distinct_cells(flat.shape[0], dead.numel(), flat.device)].to(self.dtype)
        self.unused_for[dead] = 0
        self.restarts += dead.numel()
        return int(dead.numel())

    @staticmethod
    def _distinct_cells(cells: int, n: int, device: torch.device) -> torch.Tensor:
        """n random cell indices in 0..cells−1, distinct when there are enough cells (torch's global stream)."""
        if n <= cells:
            return torch.randperm(cells, device=device)[:n]
        return torch.randint(cells, (n,), device=device)

    # -- code usage ----------------------------------------------------------------------------

    @torch.no_grad()
    def code_usage(self, x: torch.Tensor) -> torch.Tensor:
        """p̂ (M,): how often each code is picked on images x, over every grid cell (sums to 1)."""
        k = self.codes(x)                                                              # (N, h, w)
        return F.one_hot(k.flatten(), self.config.codes).to(self.dtype).mean(0)       # (N·h·w, M) → (M,)

    @torch.no_grad()
    def perplexity(self, x: torch.Tensor) -> float:
        """exp(H(p̂)) of the codes of images x: the effective number of codes in use (1..M)."""
        return float(perplexity(self.codes(x), self.config.codes))

    # -- the bound -----------------------------------------------------------------------------

    def prior_log_prob(self, codes: torch.Tensor) -> torch.Tensor:
        """log p(k) in nats, (N,), of code grids (N, h, w): the attached prior's exact log-likelihood, or
        −hw·log M under the uniform prior when none is attached."""
        codes = self._check_codes(codes)
        if self.prior is None:
            h, w = self.grid
            return torch.full((codes.shape[0],), -h * w * math.log(self.config.codes), dtype=self.dtype,
                              device=codes.device)
        return self.prior.log_prob(codes.unsqueeze(1)).to(self.dtype)   # (N, h, w) → (N, 1, h, w) → (N,)

    def nll_bound_parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(−log p(x | k(x)), −log p(k(x))): the two terms of `nll_bound`, each (N,) nats."""
        codes = self.codes(x)
        return -self.log_px_z(x, codes), -self.prior_log_prob(codes)

    def nll_bound(self, x: torch.Tensor) -> torch.Tensor:
        """An upper bound on −log p(x) in nats, (N,) (`bound` = "elbo-delta, ... prior"):

            −log p(x) = −log Σ_k p(k) p(x | k) ≤ −log p(x | k(x)) − log p(k(x))

        for the latent-variable model p(x) = Σ_k p(k) p(x|k) with this decoder and prior: the ELBO with the
        deterministic encoder q(k | x) = δ(k − k(x)), one term of the sum. It is not the exact −log p(x) (the
        gap is −log p(k(x) | x)); a better prior lowers the second term only. Divide by D·ln 2 for bits/dim."""
        recon, prior = self.nll_bound_parts(x)
        return recon + prior

    # -- generation ------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None,
               pixels: str = "sample") -> torch.Tensor:
        """n images (n, C, H, W), int64 levels: k ~ p(k) (the prior's sampler at `temperature`; uniform codes
        without a prior), then every pixel from p(x_d | z_q): drawn (`pixels="sample"`, the model whose bound
        is reported) or its most likely level (`pixels="argmax"`, cleaner pictures)."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n (the number of samples) must be a positive int, got {n!r}")
        if pixels not in ("sample", "argmax"):
            raise ValueError(f"pixels must be 'sample' (draw each pixel) or 'argmax' (its most likely level), "
                             f"got {pixels!r}")
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not temperature >= 0:
            raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
        c, (h, w) = self.config, self.grid
        if self.prior is not None:
            codes = self.prior.sample(n, temperature=temperature, generator=generator)      # (n, 1, h, w)
            codes = codes.long().view(n, h, w)                                             # → (n, h, w)
        else:
            u = rand((n, h, w), device=self.device, dtype=self.dtype, generator=generator)
            codes = (u * c.codes).long().clamp_max(c.codes - 1)                 # uniform over 0..M−1
        logits = self.decoder_logits(self.lookup(codes))                          # (n, K, C, H, W)
        if pixels == "argmax":
            return logits.argmax(1)
        u = rand(logits.shape, device=logits.device, dtype=logits.dtype, generator=generator)
        gumbel = -torch.log(-torch.log(u.clamp_min(torch.finfo(u.dtype).tiny)))   # g = −log(−log u)
        return (logits + gumbel).argmax(1)                                         # Gumbel-max: a draw of Cat(softmax ℓ)


# --- the prior's data ------------------------------------------------------------------------------

@torch.no_grad()
def code_splits(model: VQVAE, splits: Splits, batch_size: int = 1024) -> Splits:
    """The code grids k(x) of every split, as `Splits` of (N, 1, h, w) int64 images with `levels` M (labels kept):
    what the prior is trained on, with `data.loaders` and `coursekit.training.train`. In eval mode."""
    if not (isinstance(splits, tuple) and hasattr(splits, "_asdict")):
        raise TypeError(f"splits must be a Splits(train, val, test), got {type(splits).__name__}")
    was_training = model.training
    model.eval()
    out = {}
    for name, part in splits._asdict().items():
        x = part.x.to(model.device)
        k = torch.cat([model.codes(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)])   # (N, h, w)
        out[name] = ImageSplit(k.unsqueeze(1).cpu(), part.y, model.config.codes,                     # (N, 1, h, w)
                               f"{part.name}-codes" if part.name else "codes")
    model.train(was_training)
    return Splits(**out)
