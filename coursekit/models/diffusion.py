"""Denoising diffusion probabilistic models (Ho et al., 2020), DDIM sampling (Song et al., 2021),
classifier-free guidance (Ho & Salimans, 2022) and latent diffusion (Rombach et al., 2022).

**Forward process** (fixed, no parameters; `NoiseSchedule`). With a variance schedule β_1, …, β_T,

    q(x_t | x_{t−1}) = N(√α_t x_{t−1}, β_t I),   α_t = 1 − β_t                  (`q_step`)
    q(x_t | x_0)     = N(√ᾱ_t x_0, (1 − ᾱ_t) I),  ᾱ_t = Π_{s≤t} α_s              (`q_sample`)
    q(x_{t−1} | x_t, x_0) = N(μ̃_t, β̃_t I),                                     (`q_posterior`)
        μ̃_t = √ᾱ_{t−1} β_t / (1 − ᾱ_t) · x_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · x_t,
        β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t,   ᾱ_0 = 1.

(Seed 000 trains on √α_t x_0 + √(1 − ᾱ_t) ε; the closed form needs √ᾱ_t, the cumulative product.)
Time steps are ints t ∈ 1..T everywhere (Ho et al.'s convention); the schedule's buffers hold step t at
position t − 1.

**Reverse process** (learned). p_θ(x_{t−1} | x_t) = N(μ_θ(x_t, t), σ_t² I) with σ_t² = β_t or β̃_t
(`variance="beta" | "beta_tilde"`), and μ_θ written through a noise predictor ε_θ (Ho et al. eq. 11):

    μ_θ(x_t, t) = (x_t − β_t / √(1 − ᾱ_t) · ε_θ(x_t, t)) / √α_t

which is μ̃_t with x_0 replaced by its estimate (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t: predicting ε is enough.
Training minimises the simplified loss E_{t, x_0, ε} ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖² (Algorithm 1,
`DDPM.loss`); sampling runs Algorithm 2 (`DDPM.sample(method="ddpm")`): x_T ~ N(0, I), then for t = T..1,
x_{t−1} = μ_θ(x_t, t) + σ_t z with z ~ N(0, I) for t > 1 and z = 0 at t = 1.

**The bound** (`DDPM.bound_terms`, `DDPM.nll_bound`), in nats per example, every term:

    −log p_θ(x_0) ≤ L_T + Σ_{t=2}^{T} L_{t−1} + L_0
    L_T     = KL(q(x_T | x_0) ‖ N(0, I))                                   (no parameters)
    L_{t−1} = KL(q(x_{t−1} | x_t, x_0) ‖ p_θ(x_{t−1} | x_t)),  x_t ~ q(x_t | x_0) (one draw per t)
    L_0     = −log p_θ(x_0 | x_1),  x_1 ~ q(x_1 | x_0)

Each L_{t−1} is an expectation over x_t ~ q(x_t | x_0). `bound_terms` computes every t (none is sampled) but
each at one draw of x_t, so what it returns is an unbiased Monte-Carlo estimate of the bound: the bound in
expectation over the draws, not the bound itself. One evaluation can fall below −log p_θ(x_0) (on N(0, I)
with the exact ε_θ, where the bound is tight, about half of them do: 55% of 4000 in tests/test_diffusion.py); averaged over examples or repeated draws
it converges to the bound. "The bound" in the lecture's numbers means this estimate, averaged over test images.

For integer-level images p_θ(x_0 | x_1) is Ho et al.'s discretised Gaussian (section 3.3): levels k map to
x = 2k/(K − 1) − 1, each gets the mass of N(μ_θ(x_1, 1), σ_1²) over its bin of width 2/(K − 1), the two end
bins extended to ±∞, so L_0 is a code length and the bound bounds −log P(x) of the discrete image. For
real-valued data (`levels=None`) it is the Gaussian density itself. At t = 1 the decoder's σ_1² is β_1 for
"beta" and β̃_2 for "beta_tilde" (β̃_1 = 0; Ho et al.'s released code clips it the same way).

**Schedules.** `NoiseSchedule.linear(T, 1e-4, 0.02)` (Ho et al.), `.cosine(T, s=0.008)` (Nichol & Dhariwal,
2021: ᾱ_t = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s)·π/2), β_t clipped at 0.999) and `.grey_level(T, levels)`
for integer-level images: linear from β_1 = (½·2/(K − 1))² to β_T = 0.02, i.e. the first step's noise std
√β_1 is half a grey level (0.0625 for K = 17 on [−1, 1]). Why: with β_1 = 1e-4 the first steps' noise (std
0.01 on a grid of spacing 0.125) leaves x_0 exactly readable from x_t, ε_θ must then be a near-step function
of x_t that a small network does not learn, and the first terms of the bound, each weighted by about 1/(2t),
are expensive (in the issue's probe the t < 10 terms cost about 2 bits/dim on the 17-level digits). Half a
grey level blurs the grid from the first step; the discretised decoder L_0 pays for it, less than the early
terms save. It is the default (`schedule="auto"`) for integer-level data; "linear" for real-valued data.

**DDIM** (Song et al., 2021, eq. 12) on any increasing sub-sequence τ of 1..T (`ddim_timesteps`):

    x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t
    x_{t'} = √ᾱ_{t'} x̂_0 + √(1 − ᾱ_{t'} − σ²) ε_θ + σ z,   σ = η √((1 − ᾱ_{t'}) / (1 − ᾱ_t)) √(1 − ᾱ_t / ᾱ_{t'})

with t' the previous element of τ (ᾱ_{t'} = 1 after the first): η = 0 is deterministic given x_T; η = 1 on
τ = 1..T is Algorithm 2 with σ_t² = β̃_t.

**Classifier-free guidance** (Ho & Salimans, 2022). One network learns ε_θ(x_t, t, y) and, with the label
replaced by a null class with probability `p_uncond` in training, ε_θ(x_t, t, ∅). At sampling

    ε̃ = (1 + w) ε_θ(x_t, t, y) − w ε_θ(x_t, t, ∅)

`guidance=w`: w = 0 is the plain conditional model, w > 0 moves ε̃ away from the unconditional prediction
(sharper, more class-typical, less diverse), w = −1 is the unconditional model. Public code differs:
diffusers' `guidance_scale` s is ε_∅ + s (ε_y − ε_∅), so s = 1 + w (its default 7.5 is w = 6.5).

**Latent diffusion** (`LatentDiffusion`): a DDPM with a `TimeMLP` on the latents of a trained VAE (lecture 02);
samples are decoded by the VAE.

    model = DDPM(shape=(2,))                                            # a 2-D toy, TimeMLP, linear schedule
    model = DDPM(shape=(1, 8, 8), levels=17, classes=10)               # the digits, UNet, grey-level schedule
    x = model.sample(16, y=3, guidance=2.0, method="ddim", steps=50)
    bits_per_dim = model.nll_bound(test_x) / (64 * math.log(2))         # every one of the T + 1 terms
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import check_images, check_shape, rand, randn
from .base import GenerativeModel, ImagesFromConfig, batch_images, check_labels, config_from
from .layers import MultiHeadAttention, SinusoidalTimeEmbedding

__all__ = ["NoiseSchedule", "SCHEDULES", "VARIANCES", "ddim_timesteps", "gaussian_kl", "discretized_gaussian_log_prob",
           "TimeMLP", "UNet", "DDPMConfig", "DDPM", "LatentDiffusion"]

SCHEDULES = ("linear", "cosine", "grey_level")
"""The schedules `DDPMConfig.schedule` names (besides "auto")."""
VARIANCES = ("beta", "beta_tilde")
"""The reverse variances σ_t²: β_t (Ho et al.'s "fixedlarge") or β̃_t ("fixedsmall")."""


# --- time steps -------------------------------------------------------------------------------

def _is_meta(t: torch.Tensor) -> bool:
    return t.device.type == "meta"


def _check_t(t, T: int, n: int | None = None) -> torch.Tensor:
    """t as int64 (n,) in 1..T; an int becomes a full tensor only when n is given."""
    if isinstance(t, int) and not isinstance(t, bool):
        if n is None:
            raise TypeError("t must be a tensor of time steps (N,) here, got an int")
        t = torch.full((n,), t, dtype=torch.long)
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"t must be an int64 tensor of time steps in 1..{T}, got {type(t).__name__}")
    if t.is_floating_point() or t.dtype == torch.bool:
        raise TypeError(f"t must hold integer time steps 1..{T} (int64), got dtype {t.dtype}")
    if t.dim() != 1 or (n is not None and t.shape[0] != n):
        raise ValueError(f"t must have shape ({'N' if n is None else n},), one step per example, got {tuple(t.shape)}")
    if t.numel() and not _is_meta(t):
        lo, hi = int(t.min()), int(t.max())
        if lo < 1 or hi > T:
            raise ValueError(f"time steps run from 1 to T = {T} (Ho et al.'s convention), got values in {lo}..{hi}")
    return t.long()


def ddim_timesteps(T: int, steps: int) -> torch.Tensor:
    """The increasing sub-sequence τ of 1..T that DDIM visits with `steps` steps: round(linspace(1, T, steps)),
    which always includes T and (for steps ≥ 2) 1; steps = T gives 1..T. int64 (steps,), on the CPU."""
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= T:
        raise ValueError(f"steps must be an int in 1..T = {T}, got {steps!r}")
    if steps == 1:
        return torch.tensor([T])
    return torch.linspace(1, T, steps, dtype=torch.float64, device="cpu").round().long()


# --- the forward process --------------------------------------------------------------------------

class NoiseSchedule(nn.Module):
    """β_1..β_T and what follows from them, as buffers (they follow the model's device and dtype):
    `betas` β_t, `alphas` α_t = 1 − β_t, `alpha_bars` ᾱ_t = Π α_s, `alpha_bars_prev` ᾱ_{t−1} (ᾱ_0 = 1),
    `beta_tildes` β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) β_t; position t − 1 holds step t. Built with `linear`,
    `cosine` or `grey_level` (module docstring), or from any betas in (0, 1)."""

    def __init__(self, betas: torch.Tensor, name: str = "custom"):
        super().__init__()
        if not isinstance(betas, torch.Tensor) or betas.dim() != 1 or betas.numel() < 1:
            raise ValueError(f"betas must be a 1-D tensor (T,), got "
                             f"{tuple(betas.shape) if isinstance(betas, torch.Tensor) else type(betas).__name__}")
        if not _is_meta(betas) and not ((betas > 0) & (betas < 1)).all():
            raise ValueError(f"every β_t must lie in (0, 1), got values in {betas.min().item():.3g}..{betas.max().item():.3g}")
        self.name = name
        betas = betas.double()                                        # computed in float64, stored in the default dtype
        alphas = 1 - betas                                            # α_t = 1 − β_t
        alpha_bars = torch.cumprod(alphas, 0)                         # ᾱ_t = Π_{s≤t} α_s
        alpha_bars_prev = torch.cat([alpha_bars.new_ones(1), alpha_bars[:-1]])   # ᾱ_{t−1}, ᾱ_0 = 1
        beta_tildes = (1 - alpha_bars_prev) / (1 - alpha_bars) * betas           # β̃_t (β̃_1 = 0)
        dtype = torch.get_default_dtype()
        for key, value in (("betas", betas), ("alphas", alphas), ("alpha_bars", alpha_bars),
                           ("alpha_bars_prev", alpha_bars_prev), ("beta_tildes", beta_tildes)):
            self.register_buffer(key, value.to(dtype))

    # -- the three schedules --------------------------------------------------------------------

    @classmethod
    def linear(cls, T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02) -> "NoiseSchedule":
        """β_t linear from β_1 to β_T (Ho et al.: 1e-4 to 0.02 over T = 1000, ᾱ_T ≈ 4e-5)."""
        _check_T(T)
        if not 0 < beta_1 <= beta_T < 1:
            raise ValueError(f"need 0 < beta_1 <= beta_T < 1, got beta_1={beta_1!r}, beta_T={beta_T!r}")
        return cls(torch.linspace(beta_1, beta_T, T, dtype=torch.float64), name="linear")

    @classmethod
    def cosine(cls, T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> "NoiseSchedule":
        """Nichol & Dhariwal (2021): ᾱ_t = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s)·π/2), β_t = 1 − ᾱ_t/ᾱ_{t−1}
        clipped at `max_beta` (so ᾱ_T ≈ 0 but the last step stays a proper Gaussian)."""
        _check_T(T)
        if not s >= 0 or not 0 < max_beta < 1:
            raise ValueError(f"need s >= 0 and 0 < max_beta < 1, got s={s!r}, max_beta={max_beta!r}")
        steps = torch.arange(T + 1, dtype=torch.float64)
        f = torch.cos((steps / T + s) / (1 + s) * math.pi / 2) ** 2           # f(0..T)
        alpha_bars = f / f[0]
        betas = (1 - alpha_bars[1:] / alpha_bars[:-1]).clamp(max=max_beta)    # β_t, t = 1..T
        return cls(betas, name="cosine")

    @classmethod
    def grey_level(cls, T: int = 1000, levels: int = 17, fraction: float = 0.5, beta_T: float = 0.02) -> "NoiseSchedule":
        """Linear from β_1 = (fraction · 2/(K − 1))² to β_T: the first step's noise std √β_1 is `fraction` of one
        grey level of K-level data mapped to [−1, 1] (0.0625 for K = 17, fraction ½). Module docstring: why."""
        _check_T(T)
        if not isinstance(levels, int) or levels < 2 or not fraction > 0:
            raise ValueError(f"need levels >= 2 and fraction > 0, got levels={levels!r}, fraction={fraction!r}")
        beta_1 = (fraction * 2 / (levels - 1)) ** 2
        if not beta_1 <= beta_T < 1:
            raise ValueError(f"β_1 = {beta_1:.3g} (fraction {fraction} of a grey level) exceeds beta_T = {beta_T}: "
                             f"raise beta_T, lower fraction, or use the linear or cosine schedule")
        schedule = cls(torch.linspace(beta_1, beta_T, T, dtype=torch.float64), name="grey_level")
        return schedule

    @property
    def T(self) -> int:
        return self.betas.shape[0]

    def extra_repr(self) -> str:
        return f"{self.name}, T={self.T}"

    # -- indexing by t ----------------------------------------------------------------------------

    def at(self, values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """values[t − 1] shaped (N, 1, …, 1) to broadcast against `like` (N, …), on like's device, in like's dtype
        (the device follows the data: a schedule on the CPU serves data on any device)."""
        t = _check_t(t, self.T, like.shape[0])
        picked = values.to(t.device)[t - 1]                                  # (N,), indexed where t is
        return picked.to(like.device, like.dtype).view(-1, *([1] * (like.dim() - 1)))   # (N, 1, ..., 1)

    def sigma2(self, variance: str = "beta") -> torch.Tensor:
        """σ_t² of the reverse process, (T,): β_t for "beta", β̃_t for "beta_tilde" with σ_1² = β̃_2 (β̃_1 = 0;
        only the decoder at t = 1 uses it: Algorithm 2 adds no noise there)."""
        if variance not in VARIANCES:
            raise ValueError(f"variance must be one of {VARIANCES}, got {variance!r}")
        if variance == "beta":
            return self.betas
        if self.T == 1:
            return self.betas
        return torch.cat([self.beta_tildes[1:2], self.beta_tildes[1:]])

    # -- the forward process ------------------------------------------------------------------------

    def _check_pair(self, a: torch.Tensor, b: torch.Tensor, names: str) -> None:
        if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor) or a.shape != b.shape or a.dim() < 1:
            shapes = [tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__ for v in (a, b)]
            raise ValueError(f"{names} must be tensors of one shape (N, ...), got {shapes[0]} and {shapes[1]}")

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε: a draw of q(x_t | x_0) in closed form (t ∈ 1..T, (N,))."""
        self._check_pair(x0, eps, "x0 and eps")
        alpha_bar = self.at(self.alpha_bars, t, x0)
        return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * eps

    def q_step(self, x_prev: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_t = √α_t x_{t−1} + √β_t ε: one step of q(x_t | x_{t−1})."""
        self._check_pair(x_prev, eps, "x_prev and eps")
        beta = self.at(self.betas, t, x_prev)
        return (1 - beta).sqrt() * x_prev + beta.sqrt() * eps

    def q_posterior(self, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ̃_t, β̃_t) of q(x_{t−1} | x_t, x_0): the mean shaped like x_t, the variance (N, 1, …, 1)."""
        self._check_pair(x0, x_t, "x0 and x_t")
        beta, alpha = self.at(self.betas, t, x_t), self.at(self.alphas, t, x_t)
        alpha_bar, alpha_bar_prev = self.at(self.alpha_bars, t, x_t), self.at(self.alpha_bars_prev, t, x_t)
        mean = (alpha_bar_prev.sqrt() * beta / (1 - alpha_bar)) * x0 \
            + (alpha.sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar)) * x_t
        return mean, self.at(self.beta_tildes, t, x_t)

    def predict_x0(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x̂_0 = (x_t − √(1 − ᾱ_t) ε) / √ᾱ_t: q_sample solved for x_0."""
        alpha_bar = self.at(self.alpha_bars, t, x_t)
        return (x_t - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()

    def reverse_mean(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """μ_θ(x_t, t) = (x_t − β_t / √(1 − ᾱ_t) · ε) / √α_t with ε = ε_θ(x_t, t) (Ho et al. eq. 11)."""
        beta, alpha_bar = self.at(self.betas, t, x_t), self.at(self.alpha_bars, t, x_t)
        return (x_t - beta / (1 - alpha_bar).sqrt() * eps) / (1 - beta).sqrt()


def _check_device(x: torch.Tensor, device: torch.device, what: str = "x") -> None:
    """Data must be on the model's device: name both (the training loop moves batches; direct calls must too)."""
    if x.device != device:
        raise ValueError(f"{what} is on {x.device} but the model is on {device}: move one to the other "
                         f"({what}.to(model.device) or model.to({what}.device))")


def _check_T(T) -> None:
    if not isinstance(T, int) or isinstance(T, bool) or T < 1:
        raise ValueError(f"T (the number of diffusion steps) must be a positive int, got {T!r}")


# --- Gaussian pieces of the bound ---------------------------------------------------------------

def gaussian_kl(mean_q: torch.Tensor, var_q, mean_p: torch.Tensor, var_p) -> torch.Tensor:
    """KL(N(μ_q, σ_q²) ‖ N(μ_p, σ_p²)) = ½ [log(σ_p²/σ_q²) + (σ_q² + (μ_q − μ_p)²)/σ_p² − 1], elementwise."""
    var_q, var_p = torch.as_tensor(var_q, dtype=mean_q.dtype), torch.as_tensor(var_p, dtype=mean_q.dtype)
    return 0.5 * (var_p.log() - var_q.log() + (var_q + (mean_q - mean_p).pow(2)) / var_p - 1)


def _log_phi_difference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log(Φ(b) − Φ(a)) for a < b, stable in both tails (a = −∞ and b = +∞ allowed): where a > 0 use
    Φ(b) − Φ(a) = Φ(−a) − Φ(−b), then log Φ(b') + log(1 − exp(log Φ(a') − log Φ(b')))."""
    flip = a > 0
    a, b = torch.where(flip, -b, a), torch.where(flip, -a, b)
    log_b, log_a = torch.special.log_ndtr(b), torch.special.log_ndtr(a)
    return log_b + torch.log(-torch.expm1(log_a - log_b))


def discretized_gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, var, levels: int) -> torch.Tensor:
    """log P(x) under N(mean, var) discretised on the K = `levels` grid of [−1, 1] (Ho et al., section 3.3):
    the mass of the bin [x − Δ/2, x + Δ/2], Δ = 2/(K − 1), with the bins of x = −1 and x = 1 extended to −∞
    and +∞. `x` on the grid (2k/(K − 1) − 1), elementwise; the K masses of a pixel sum to 1."""
    std = torch.as_tensor(var, dtype=mean.dtype).sqrt()
    half = 1.0 / (levels - 1)                                            # Δ/2
    lower = torch.where(x <= -1 + 1e-3 * half, torch.full_like(x, -math.inf), (x - half - mean) / std)
    upper = torch.where(x >= 1 - 1e-3 * half, torch.full_like(x, math.inf), (x + half - mean) / std)
    return _log_phi_difference(lower, upper)


# --- ε-networks ---------------------------------------------------------------------------------

def _null_labels(y: torch.Tensor | None, n: int, classes: int, device) -> torch.Tensor | None:
    """Labels for a network with `classes` > 0: y, or the null class `classes` where y is None."""
    if not classes:
        if y is not None:
            raise ValueError("this ε-network is unconditional (classes=0) but was given labels y")
        return None
    if y is None:
        return torch.full((n,), classes, dtype=torch.long, device=device)
    return y.long()


class TimeMLP(nn.Module):
    """ε_θ(x_t, t [, y]) for points x ∈ ℝ^D (the 2-D toys, latent codes): the sinusoidal embedding of t through a
    two-layer MLP (plus a label embedding, with a null class `classes` for classifier-free guidance) is added
    to the hidden units before every one of `layers` SiLU layers of `hidden` units; a linear output of D."""

    def __init__(self, dim: int = 2, hidden: int = 128, layers: int = 3, time_dim: int = 64, classes: int = 0):
        super().__init__()
        self.dim, self.classes = dim, classes
        self.time_embedding = SinusoidalTimeEmbedding(time_dim)
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.label_embedding = nn.Embedding(classes + 1, hidden) if classes else None   # row `classes`: ∅
        self.inp = nn.Linear(dim, hidden)
        self.hidden = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers))
        self.out = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        check_shape(x, (None, self.dim), "x")
        emb = self.time_mlp(self.time_embedding(t))                          # (N, hidden)
        if self.label_embedding is not None:
            emb = emb + self.label_embedding(_null_labels(y, x.shape[0], self.classes, x.device))
        elif y is not None:
            raise ValueError("this TimeMLP is unconditional (classes=0) but was given labels y")
        h = self.inp(x)                                                      # (N, hidden)
        for layer in self.hidden:
            h = layer(F.silu(h + emb))
        return self.out(F.silu(h))                                           # (N, D)


def _groups(channels: int) -> int:
    """GroupNorm's groups: the largest of 8, 4, 2, 1 that divides `channels`."""
    return next(g for g in (8, 4, 2, 1) if channels % g == 0)


class ResBlock(nn.Module):
    """h + F(h, emb): GroupNorm → SiLU → 3×3 conv, plus a projection of the time (and label) embedding added to
    every pixel, GroupNorm → SiLU → dropout → 3×3 conv (Ho et al.'s residual block, after Wide ResNets); a 1×1
    conv on the skip when the channels change."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(_groups(c_in), c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(_groups(c_out), c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.silu(self.norm1(h)))                              # (N, c_out, H, W)
        out = out + self.emb(F.silu(emb))[:, :, None, None]                  # (N, c_out, 1, 1): one shift per channel
        out = self.conv2(self.dropout(F.silu(self.norm2(out))))
        return self.skip(h) + out


class SelfAttention2d(nn.Module):
    """h + MultiHeadAttention(GroupNorm(h)) over the H·W pixels as tokens (the U-Net's lowest resolution)."""

    def __init__(self, channels: int, heads: int = 4):
        super().__init__()
        heads = math.gcd(heads, channels)
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.attention = MultiHeadAttention(channels, heads)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        N, C, H, W = h.shape
        tokens = self.norm(h).flatten(2).transpose(1, 2)                     # (N, H·W, C)
        out = self.attention(tokens).transpose(1, 2).reshape(N, C, H, W)     # (N, C, H, W)
        return h + out


class UNet(nn.Module):
    """ε_θ(x_t, t [, y]) for images (C, H, W), Ho et al.'s U-Net in miniature:

        3×3 conv → C0 = channels
        per level i (channels · channel_mult[i]): `blocks` ResBlocks, keep a skip, then a stride-2 3×3 conv
            (all but the last level)
        middle: ResBlock → self-attention (H·W / 4^(levels − 1) tokens) → ResBlock
        per level, in reverse: concat the skip, `blocks` ResBlocks, nearest ×2 upsampling + 3×3 conv
        GroupNorm → SiLU → 3×3 conv → C

    The time embedding (sinusoidal, then Linear → SiLU → Linear to 4·channels) is added in every ResBlock;
    with `classes` = K it is joined by a learned label embedding with K + 1 rows, row K the null label ∅ of
    classifier-free guidance. (8, 8) digits: channel_mult (1, 2), attention at 4×4; (28, 28) MNIST: (1, 2, 2),
    attention at 7×7. H and W must be divisible by 2^(levels − 1). `channels` scales the width, the parameter count
    about as its square: on (1, 8, 8) the default 24 gives 287 545 parameters (288 601 with 10 classes), 16
    gives 128 465, 32 gives 509 857; small enough to train on a CPU, `channels=64` or more for a GPU."""

    def __init__(self, shape: tuple[int, int, int] = (1, 8, 8), channels: int = 24,
                 channel_mult: tuple[int, ...] = (1, 2), blocks: int = 1, attention: bool = True, heads: int = 4,
                 dropout: float = 0.0, classes: int = 0):
        super().__init__()
        C, H, W = shape
        factor = 2 ** (len(channel_mult) - 1)
        if H % factor or W % factor:
            raise ValueError(f"a U-Net with {len(channel_mult)} levels halves H and W {len(channel_mult) - 1} times: "
                             f"they must be divisible by {factor}, got shape {tuple(shape)}")
        self.shape, self.classes = tuple(shape), classes
        emb_dim = 4 * channels
        self.time_embedding = SinusoidalTimeEmbedding(channels)
        self.time_mlp = nn.Sequential(nn.Linear(channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label_embedding = nn.Embedding(classes + 1, emb_dim) if classes else None    # row `classes`: ∅
        self.stem = nn.Conv2d(C, channels, 3, padding=1)
        widths = [channels * m for m in channel_mult]
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        c = channels
        for i, w in enumerate(widths):
            self.down.append(nn.ModuleList(ResBlock(c if b == 0 else w, w, emb_dim, dropout) for b in range(blocks)))
            c = w
            self.downsample.append(nn.Conv2d(w, w, 3, stride=2, padding=1) if i < len(widths) - 1 else nn.Identity())
        self.mid1 = ResBlock(c, c, emb_dim, dropout)
        self.mid_attention = SelfAttention2d(c, heads) if attention else nn.Identity()
        self.mid2 = ResBlock(c, c, emb_dim, dropout)
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i, w in reversed(list(enumerate(widths))):
            self.up.append(nn.ModuleList(ResBlock(c + w if b == 0 else w, w, emb_dim, dropout) for b in range(blocks)))
            c = w
            self.upsample.append(nn.Conv2d(w, w, 3, padding=1) if i > 0 else nn.Identity())
        self.out_norm, self.out = nn.GroupNorm(_groups(c), c), nn.Conv2d(c, C, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        check_shape(x, (None, *self.shape), "x")
        emb = self.time_mlp(self.time_embedding(t))                          # (N, 4·channels)
        if self.label_embedding is not None:
            emb = emb + self.label_embedding(_null_labels(y, x.shape[0], self.classes, x.device))
        elif y is not None:
            raise ValueError("this UNet is unconditional (classes=0) but was given labels y")
        h, skips = self.stem(x), []
        for blocks, down in zip(self.down, self.downsample):
            for block in blocks:
                h = block(h, emb)
            skips.append(h)                                                  # (N, w_i, H_i, W_i)
            h = down(h)                                                      # (N, w_i, H_i/2, W_i/2), not the last
        h = self.mid2(self.mid_attention(self.mid1(h, emb)), emb)
        for blocks, up in zip(self.up, self.upsample):
            h = torch.cat([h, skips.pop()], dim=1)                           # (N, c + w_i, H_i, W_i)
            for block in blocks:
                h = block(h, emb)
            if not isinstance(up, nn.Identity):
                h = up(F.interpolate(h, scale_factor=2.0, mode="nearest"))   # (N, w_i, 2H_i, 2W_i)
        return self.out(F.silu(self.out_norm(h)))                            # (N, C, H, W)


# --- the model ------------------------------------------------------------------------------------

@dataclass
class DDPMConfig:
    """Everything that defines a DDPM.

    `shape`: one example, (D,) for points, (C, H, W) for images; `levels`: K for integer-level images (mapped
    to [−1, 1] inside, the bound's decoder discretised), None for real values. `T`, `schedule` ("auto":
    "grey_level" for integer levels, "linear" otherwise; or one of SCHEDULES), `beta_1`, `beta_T` (linear;
    beta_T also ends the grey-level schedule), `cosine_s`, `grey_fraction` (√β_1 in grey levels).
    `variance`: σ_t² of sampling and the bound, "beta" or "beta_tilde". `network`: "auto" (UNet for images,
    TimeMLP for points), "unet" or "mlp"; TimeMLP: `hidden`, `layers`, `time_dim`; UNet: `channels`,
    `channel_mult` (None: (1, 2) up to 16 pixels a side, else (1, 2, 2)), `blocks`, `attention`, `dropout`.
    `classes`: K > 0 for class-conditional ε_θ with the null label dropped in at rate `p_uncond`."""

    shape: tuple[int, ...] = (2,)
    levels: int | None = None
    T: int = 1000
    schedule: str = "auto"
    beta_1: float = 1e-4
    beta_T: float = 0.02
    cosine_s: float = 0.008
    grey_fraction: float = 0.5
    variance: str = "beta"
    network: str = "auto"
    hidden: int = 128
    layers: int = 3
    time_dim: int = 64
    channels: int = 24
    channel_mult: tuple[int, ...] | None = None
    blocks: int = 1
    attention: bool = True
    dropout: float = 0.0
    classes: int = 0
    p_uncond: float = 0.1

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        if self.channel_mult is not None:
            self.channel_mult = tuple(int(m) for m in self.channel_mult)
        if len(self.shape) not in (1, 3) or min(self.shape) < 1:
            raise ValueError(f"shape must be (D,) for points or (C, H, W) for images, got {self.shape}")
        if self.levels is not None and (not isinstance(self.levels, int) or isinstance(self.levels, bool)
                                        or self.levels < 2):
            raise ValueError(f"levels must be None (real-valued data) or an int >= 2 (grey levels K), got {self.levels!r}")
        _check_T(self.T)
        if self.schedule not in ("auto",) + SCHEDULES:
            raise ValueError(f"schedule must be 'auto' or one of {SCHEDULES}, got {self.schedule!r}")
        if self.schedule_name == "grey_level" and self.levels is None:
            raise ValueError("the grey_level schedule is for integer-level data: give levels=K")
        if self.variance not in VARIANCES:
            raise ValueError(f"variance must be one of {VARIANCES}, got {self.variance!r}")
        if self.network not in ("auto", "unet", "mlp"):
            raise ValueError(f"network must be 'auto', 'unet' or 'mlp', got {self.network!r}")
        if self.net == "unet" and len(self.shape) != 3:
            raise ValueError(f"the UNet needs an image shape (C, H, W), got {self.shape}")
        for name in ("hidden", "layers", "time_dim", "channels", "blocks"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.time_dim % 2:
            raise ValueError(f"time_dim must be even (half sines, half cosines), got {self.time_dim}")
        if not isinstance(self.classes, int) or self.classes < 0 or self.classes == 1:
            raise ValueError(f"classes must be 0 (unconditional) or >= 2 (class-conditional), got {self.classes!r}")
        if not 0 <= self.p_uncond < 1:
            raise ValueError(f"p_uncond (the rate of the null label in training) must be in [0, 1), got {self.p_uncond!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    @property
    def schedule_name(self) -> str:
        if self.schedule != "auto":
            return self.schedule
        return "grey_level" if self.levels is not None else "linear"

    @property
    def net(self) -> str:
        if self.network != "auto":
            return self.network
        return "unet" if len(self.shape) == 3 else "mlp"

    @property
    def mult(self) -> tuple[int, ...]:
        if self.channel_mult is not None:
            return self.channel_mult
        return (1, 2) if max(self.shape[1:]) <= 16 else (1, 2, 2)

    @property
    def dims(self) -> int:
        return math.prod(self.shape)

    def make_schedule(self) -> NoiseSchedule:
        name = self.schedule_name
        if name == "linear":
            return NoiseSchedule.linear(self.T, self.beta_1, self.beta_T)
        if name == "cosine":
            return NoiseSchedule.cosine(self.T, self.cosine_s)
        return NoiseSchedule.grey_level(self.T, self.levels, self.grey_fraction, self.beta_T)


class DDPM(ImagesFromConfig, GenerativeModel):
    """A denoising diffusion model (module docstring). `DDPM(config)` or `DDPM(**fields of DDPMConfig)`.
    Batches `(x,)` or `(x, y)` in the data's convention (int64 levels or integer-valued floats for images,
    floats for points); a conditional model reads y."""

    likelihood = "bound"
    can_sample = True

    def __init__(self, config: DDPMConfig | None = None, **fields):
        super().__init__()
        self.config = c = config_from(config, fields, DDPMConfig)
        self.schedule = c.make_schedule()
        if c.net == "unet":
            self.eps_net = UNet(c.shape, c.channels, c.mult, c.blocks, c.attention, dropout=c.dropout,
                                classes=c.classes)
        else:
            self.eps_net = TimeMLP(c.dims, c.hidden, c.layers, c.time_dim, c.classes)

    @property
    def bound(self) -> str:
        return f"diffusion bound (all {self.config.T + 1} terms, T={self.config.T})"

    @property
    def T(self) -> int:
        return self.config.T

    @property
    def dtype(self) -> torch.dtype:
        return self.schedule.betas.dtype

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())

    # -- the data's convention and the network's ------------------------------------------------------

    def to_network(self, x: torch.Tensor) -> torch.Tensor:
        """Data → the diffusion's scale: levels k ↦ 2k/(K − 1) − 1 ∈ [−1, 1]; real values unchanged (checked, and
        on the model's device: `loss` and `bound_terms` name both devices otherwise)."""
        c = self.config
        check_images(x, c.shape, levels=c.levels)
        _check_device(x, self.device)
        x = x.to(self.dtype)
        return x * (2 / (c.levels - 1)) - 1 if c.levels is not None else x

    def from_network(self, x: torch.Tensor) -> torch.Tensor:
        """The diffusion's scale → data: int64 levels round((x + 1)/2 · (K − 1)) clipped to 0..K−1; reals as they are."""
        c = self.config
        if c.levels is None:
            return x
        return ((x + 1) / 2 * (c.levels - 1)).round().clamp(0, c.levels - 1).long()

    def _labels(self, y, n: int, device) -> torch.Tensor | None:
        return check_labels(y, n, device, classes=self.config.classes, model="DDPM", field="classes",
                            conditioned="this is a class-conditional DDPM")

    def eps_theta(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None,
                  guidance: float = 0.0) -> torch.Tensor:
        """ε_θ(x_t, t, y) on the diffusion's scale, x_t (N, *shape), t (N,) in 1..T. A conditional model with
        `guidance` w ≠ 0 returns (1 + w) ε_θ(x_t, t, y) − w ε_θ(x_t, t, ∅) (Ho & Salimans), computed in one
        batch; y None (or w = −1) gives the unconditional ε_θ(x_t, t, ∅)."""
        c = self.config
        t = _check_t(t, c.T, x_t.shape[0])
        flat = (lambda v: v.flatten(1)) if c.net == "mlp" else (lambda v: v)
        unflat = (lambda v: v.view(x_t.shape))
        if not c.classes:
            if y is not None:
                raise ValueError("this DDPM is unconditional (classes=0) but was given labels y")
            if guidance:
                raise ValueError("guidance needs a class-conditional DDPM (classes=K)")
            return unflat(self.eps_net(flat(x_t), t))
        null = torch.full((x_t.shape[0],), c.classes, dtype=torch.long, device=x_t.device)   # ∅
        if y is None or guidance == -1:
            return unflat(self.eps_net(flat(x_t), t, null))
        if guidance == 0:
            return unflat(self.eps_net(flat(x_t), t, y))
        both = self.eps_net(flat(torch.cat([x_t, x_t])), torch.cat([t, t]), torch.cat([y, null]))   # (2N, ...)
        eps_y, eps_null = unflat(both[: x_t.shape[0]]), unflat(both[x_t.shape[0]:])
        return (1 + guidance) * eps_y - guidance * eps_null                 # ε̃ = (1 + w) ε_y − w ε_∅

    # -- training (Algorithm 1) ----------------------------------------------------------------------

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """The simplified loss of Ho et al. (Algorithm 1): t ~ U{1..T}, ε ~ N(0, I),
        ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖² averaged over examples and dimensions ("mse" = "loss").
        A conditional model replaces each label by the null class with probability `p_uncond`."""
        c = self.config
        x = batch_images(batch)
        x0 = self.to_network(x)
        n = x0.shape[0]
        y = batch[1] if c.classes and isinstance(batch, (tuple, list)) and len(batch) >= 2 else None
        y = self._labels(y, n, x0.device)
        t = torch.randint(1, c.T + 1, (n,), device=x0.device)               # t ~ Uniform{1, ..., T}
        eps = torch.randn_like(x0)                                           # ε ~ N(0, I)
        x_t = self.schedule.q_sample(x0, t, eps)                             # √ᾱ_t x_0 + √(1 − ᾱ_t) ε
        if y is not None and c.p_uncond > 0:
            drop = torch.rand(n, device=x0.device) < c.p_uncond              # label dropout: y → ∅
            y = torch.where(drop, torch.full_like(y, c.classes), y)
        mse = (eps - self.eps_theta(x_t, t, y)).pow(2).mean()
        return {"loss": mse, "mse": mse}

    # -- sampling ---------------------------------------------------------------------------------

    def _sample_labels(self, y, n: int) -> torch.Tensor | None:
        if self.config.classes and y is None:
            return torch.arange(n, device=self.device) % self.config.classes  # 0, 1, …, K−1, 0, …
        return self._labels(y, n, self.device)

    @torch.no_grad()
    def sample(self, n: int, y=None, guidance: float = 0.0, method: str = "ddpm", steps: int | None = None,
               eta: float = 0.0, variance: str | None = None, x_T: torch.Tensor | None = None,
               return_trajectory: bool = False, decoder_noise: bool = False, clip_x0: bool = False,
               generator: torch.Generator | None = None):
        """n samples in the data's convention (int64 levels for images, floats for points).

        `method="ddpm"`: Algorithm 2 of Ho et al. over all T steps with σ_t² = β_t or β̃_t (`variance`, default
        the config's); no noise at t = 1 (x_0 is μ_θ(x_1, 1)) unless `decoder_noise`, which draws x_0 from
        N(μ_θ(x_1, 1), σ_1²), the continuous decoder the bound assumes. `method="ddim"`: Song et al.'s eq. 12 on
        `steps` of 1..T (default T; `ddim_timesteps`) with `eta` in [0, 1] (0: deterministic given x_T). Each
        method refuses the other's options (`eta` ≠ 0 for "ddpm"; `variance`, `decoder_noise` for "ddim").
        `y`: labels of a conditional model (an int or (n,); None gives 0, 1, …, K−1, 0, …), `guidance` the
        weight w of classifier-free guidance (module docstring: ε̃ = (1 + w) ε_y − w ε_∅; diffusers' scale is
        1 + w). `x_T` (n, *shape) replaces the draw of x_T ~ N(0, I). `return_trajectory=True` returns
        (samples, trajectory) with the trajectory (steps + 1, n, *shape) on the diffusion's scale, x_T first.
        `clip_x0=True` (images only; not part of Algorithm 2, but what Ho et al.'s released code does) clips the
        estimate x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ)/√ᾱ_t to [−1, 1] at every step: DDPM then steps to the posterior
        mean μ̃_t(x̂_0, x_t), which equals μ_θ(x_t, t) where nothing is clipped; DDIM uses the clipped x̂_0."""
        c = self.config
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if method not in ("ddpm", "ddim"):
            raise ValueError(f"method must be 'ddpm' (Algorithm 2) or 'ddim' (Song et al.), got {method!r}")
        if method == "ddim" and variance is not None:
            raise ValueError(f"variance picks σ_t² of Algorithm 2 (method='ddpm'); DDIM's σ comes from eta "
                             f"(Song et al. eq. 16), got variance={variance!r} with method='ddim'")
        if method == "ddim" and decoder_noise:
            raise ValueError("decoder_noise draws Algorithm 2's last step from N(μ_θ(x_1, 1), σ_1²) (method='ddpm'); "
                             "DDIM's last step returns x̂_0 (ᾱ_0 = 1), got decoder_noise=True with method='ddim'")
        if not 0 <= eta <= 1:
            raise ValueError(f"eta must be in [0, 1] (0: deterministic DDIM, 1: DDPM-like; above 1 σ² would exceed "
                             f"1 − ᾱ_t'), got {eta!r}")
        if method == "ddpm" and eta != 0:
            raise ValueError(f"eta is DDIM's (method='ddim'); Algorithm 2's noise is σ_t² = β_t or β̃_t (variance=), "
                             f"got eta={eta!r} with method='ddpm'")
        variance = c.variance if variance is None else variance
        if variance not in VARIANCES:
            raise ValueError(f"variance must be one of {VARIANCES}, got {variance!r}")
        if method == "ddpm" and steps is not None and steps != c.T:
            raise ValueError(f"Algorithm 2 runs all T = {c.T} steps; for {steps} steps use method='ddim' "
                             f"(eta=1 is its stochastic, DDPM-like variant)")
        if not isinstance(guidance, (int, float)) or isinstance(guidance, bool):
            raise TypeError(f"guidance must be a number (the weight w), got {type(guidance).__name__}")
        if guidance and not c.classes:
            raise ValueError("guidance needs a class-conditional DDPM (classes=K)")
        if clip_x0 and c.levels is None:
            raise ValueError("clip_x0 clips to the images' range [−1, 1]: real-valued data have no range")
        labels = self._sample_labels(y, n)
        shape = (n, *c.shape)
        if x_T is None:
            x = randn(shape, device=self.device, dtype=self.dtype, generator=generator)   # x_T ~ N(0, I)
        else:
            check_shape(x_T, shape, "x_T")
            x = x_T.to(device=self.device, dtype=self.dtype)
        trajectory = [x] if return_trajectory else None
        if method == "ddpm":
            x = self._ddpm_loop(x, labels, guidance, variance, decoder_noise, clip_x0, generator, trajectory)
        else:
            x = self._ddim_loop(x, labels, guidance, steps or c.T, eta, clip_x0, generator, trajectory)
        out = self.from_network(x)
        return (out, torch.stack(trajectory)) if return_trajectory else out

    def _ddpm_loop(self, x, labels, guidance, variance, decoder_noise, clip_x0, generator, trajectory):
        """Algorithm 2: for t = T, …, 1: z ~ N(0, I) if t > 1 else 0; x_{t−1} = μ_θ(x_t, t) + σ_t z."""
        sigma2 = self.schedule.sigma2(variance)
        for step in range(self.config.T, 0, -1):
            t = torch.full((x.shape[0],), step, dtype=torch.long, device=x.device)
            eps = self.eps_theta(x, t, labels, guidance)
            if clip_x0:
                x0_hat = self.schedule.predict_x0(x, t, eps).clamp(-1, 1)
                mean = self.schedule.q_posterior(x0_hat, x, t)[0]            # μ̃_t(x̂_0, x_t)
            else:
                mean = self.schedule.reverse_mean(x, t, eps)                 # μ_θ(x_t, t)
            if step > 1 or decoder_noise:
                z = randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
                x = mean + sigma2[step - 1].to(x.dtype).sqrt() * z
            else:
                x = mean                                                     # t = 1: no noise
            if trajectory is not None:
                trajectory.append(x)
        return x

    def _ddim_loop(self, x, labels, guidance, steps, eta, clip_x0, generator, trajectory):
        """Song et al. eq. 12 from τ_S = T down the sub-sequence to ᾱ = 1 (module docstring)."""
        tau = ddim_timesteps(self.config.T, steps).tolist()
        alpha_bars = self.schedule.alpha_bars
        for i in range(len(tau) - 1, -1, -1):
            t = torch.full((x.shape[0],), tau[i], dtype=torch.long, device=x.device)
            ab = alpha_bars[tau[i] - 1].to(x.dtype)                           # ᾱ_t
            ab_prev = alpha_bars[tau[i - 1] - 1].to(x.dtype) if i > 0 else torch.ones_like(ab)   # ᾱ_{t'}
            eps = self.eps_theta(x, t, labels, guidance)
            x0_hat = (x - (1 - ab).sqrt() * eps) / ab.sqrt()                 # x̂_0
            if clip_x0:
                x0_hat = x0_hat.clamp(-1, 1)
            sigma = eta * ((1 - ab_prev) / (1 - ab)).sqrt() * (1 - ab / ab_prev).sqrt()
            x = ab_prev.sqrt() * x0_hat + (1 - ab_prev - sigma ** 2).clamp(min=0).sqrt() * eps
            if eta > 0 and i > 0:
                x = x + sigma * randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
            if trajectory is not None:
                trajectory.append(x)
        return x

    # -- the bound -----------------------------------------------------------------------------------

    @torch.no_grad()
    def bound_terms(self, x: torch.Tensor, y=None, *, variance: str | None = None, batch_size: int = 8192,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """The bound's terms in nats per example, (N, T + 1): column 0 is L_0 = −log p_θ(x_0 | x_1) (discretised
        for integer levels), column j = 1..T−1 is L_j = KL(q(x_j | x_{j+1}, x_0) ‖ p_θ(x_j | x_{j+1})) (step
        t = j + 1, one draw of x_t ~ q(x_t | x_0) each: an unbiased estimate of the term, module docstring), column T
        is L_T = KL(q(x_T | x_0) ‖ N(0, I)) (exact). All T
        network evaluations per example, `batch_size` (example, t) pairs at a time. `y`: the labels of a
        conditional model (the conditional bound, no guidance); y None on a conditional model: the bound of its
        unconditional model ε_θ(x_t, t, ∅) (the null label of classifier-free guidance)."""
        c, schedule = self.config, self.schedule
        variance = c.variance if variance is None else variance
        x0 = self.to_network(x)
        N, T = x0.shape[0], c.T
        labels = self._labels(y, N, x0.device) if y is not None else None   # None: ∅ on a conditional model
        sigma2 = schedule.sigma2(variance).to(x0.dtype)                      # σ_t², (T,)
        terms = x0.new_zeros(N, T + 1)
        # L_T: KL(N(√ᾱ_T x_0, 1 − ᾱ_T) ‖ N(0, 1)), no network.
        ab_T = schedule.alpha_bars[-1].to(x0.dtype)
        terms[:, T] = gaussian_kl(ab_T.sqrt() * x0, 1 - ab_T, torch.zeros_like(x0), 1.0).flatten(1).sum(1)
        per_chunk = max(1, batch_size // N)
        for chunk in torch.arange(1, T + 1, device=x0.device).split(per_chunk):
            k = chunk.shape[0]
            t = chunk.repeat_interleave(N)                                   # (k·N,): t-major
            xx0 = x0.repeat(k, *([1] * (x0.dim() - 1)))                      # (k·N, *shape)
            yy = labels.repeat(k) if labels is not None else None
            eps = randn(xx0.shape, device=xx0.device, dtype=xx0.dtype, generator=generator)
            x_t = schedule.q_sample(xx0, t, eps)                             # x_t ~ q(x_t | x_0)
            mean = schedule.reverse_mean(x_t, t, self.eps_theta(x_t, t, yy))   # μ_θ(x_t, t)
            s2 = sigma2[t - 1].view(-1, *([1] * (x0.dim() - 1)))             # (k·N, 1, ...)
            first = t == 1
            values = torch.empty(k * N, dtype=x0.dtype, device=x0.device)
            if first.any():                                                  # L_0 = −log p_θ(x_0 | x_1)
                if c.levels is not None:
                    log_p = discretized_gaussian_log_prob(xx0[first], mean[first], s2[first], c.levels)
                else:
                    log_p = -0.5 * (math.log(2 * math.pi) + s2[first].log() + (xx0[first] - mean[first]).pow(2) / s2[first])
                values[first] = -log_p.flatten(1).sum(1)
            rest = ~first
            if rest.any():                                                   # L_{t−1}, t ≥ 2
                mean_q, var_q = schedule.q_posterior(xx0[rest], x_t[rest], t[rest])
                values[rest] = gaussian_kl(mean_q, var_q, mean[rest], s2[rest]).flatten(1).sum(1)
            terms[:, chunk - 1] = values.view(k, N).T                        # (N, k): column t − 1
        return terms

    def nll_bound(self, x: torch.Tensor, y=None, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """L_0 + Σ_{t=2}^T L_{t−1} + L_T in nats per example (N,), each term at one draw of x_t: an unbiased
        estimate of the bound, so an upper bound on −log p_θ(x) in expectation over the draws (a single value can
        lie below it; module docstring). −log P(x) of the discrete image for integer levels. Divide by D·ln 2
        for bits/dim.
        `generator` draws the x_t (`bound_terms`)."""
        return self.bound_terms(x, y, generator=generator).sum(1)


# --- latent diffusion ----------------------------------------------------------------------------

class LatentDiffusion(GenerativeModel):
    """Latent diffusion (Rombach et al., 2022) in miniature: a DDPM with a TimeMLP (`prior`, T steps, linear
    schedule, real-valued) on the latent codes z of a trained VAE (`vae`, lecture 02), whose weights stay
    frozen (`requires_grad_(False)`). Training encodes each batch with q_φ(z | x) and trains ε_θ on
    z ~ q_φ(z | x) (`latents="sample"`, the default: the aggregate posterior the diffusion prior should match)
    or on the means μ_φ(x) (`latents="mean"`). `sample` draws z_0 by the diffusion model and decodes it with
    the VAE, x ~ p_θ(x | z_0) (integer levels for the categorical VAE).

    The likelihood is a bound, an ELBO with the diffusion model as the prior: for one z ~ q_φ(z | x),

        −log p(x) ≤ −log p_θ(x | z) + log q_φ(z | x) + B(z),   B(z) ≥ −log p_prior(z)

    where B is the diffusion bound of `prior` on z (continuous Gaussian decoder at t = 0). It bounds the model
    whose last reverse step draws z_0 ~ N(μ_θ(z_1, 1), σ_1²), so `sample` does draw that noise
    (`decoder_noise=True`); the bound is in expectation over z and the draws of z_t, and holds whatever the
    prior was trained on (training on the means only makes it looser)."""

    likelihood = "bound"
    can_sample = True
    bound = "elbo with a diffusion prior (all T + 1 terms)"

    def __init__(self, vae: nn.Module, *, T: int = 1000, hidden: int = 128, layers: int = 3, time_dim: int = 64,
                 beta_1: float = 1e-4, beta_T: float = 0.02, latents: str = "sample"):
        super().__init__()
        if not all(callable(getattr(vae, name, None)) for name in ("encode", "log_px_z", "sample")) \
                or not hasattr(vae, "config"):
            raise TypeError(f"vae must be a coursekit VAE (with encode, log_px_z, sample), got {type(vae).__name__}")
        if getattr(vae.config, "num_classes", 0):
            raise ValueError("LatentDiffusion takes an unconditional VAE (num_classes=0)")
        if latents not in ("sample", "mean"):
            raise ValueError(f"latents must be 'sample' (z ~ q(z|x)) or 'mean' (μ(x)), got {latents!r}")
        self.vae = vae.requires_grad_(False)
        self.latents = latents
        self.prior = DDPM(shape=(vae.config.latent_dim,), T=T, schedule="linear", beta_1=beta_1, beta_T=beta_T,
                          network="mlp", hidden=hidden, layers=layers, time_dim=time_dim)

    @property
    def data_shape(self) -> tuple[int, ...]:
        return self.vae.data_shape

    @property
    def data_levels(self) -> int | None:
        return self.vae.data_levels

    def train(self, mode: bool = True) -> "LatentDiffusion":
        """The frozen VAE stays in evaluation mode (no dropout) while the prior trains."""
        super().train(mode)
        self.vae.eval()
        return self

    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The latents the prior is trained on, (N, latent_dim): z ~ q_φ(z | x), or μ_φ(x) for latents="mean"."""
        _check_device(x, self.device)
        with torch.no_grad():
            mu, log_var = self.vae.encode(x)
            if self.latents == "mean":
                return mu
            return mu + (0.5 * log_var).exp() * randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """The prior's simplified ε-loss on the batch's latents."""
        return self.prior.loss((self.encode(batch_images(batch)),))

    @torch.no_grad()
    def sample(self, n: int, **options) -> torch.Tensor:
        """z_0 by the prior (`options` go to `DDPM.sample`: method, steps, eta, ...; Algorithm 2's last step draws
        the decoder's noise unless `decoder_noise=False`; DDIM has none), then x ~ p_θ(x | z_0) by the VAE."""
        if options.get("method", "ddpm") == "ddpm":
            options.setdefault("decoder_noise", True)
        z = self.prior.sample(n, **options)
        return self.vae.sample(n, z=z, generator=options.get("generator"))

    @torch.no_grad()
    def nll_bound(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """−log p_θ(x | z) + log q_φ(z | x) + B(z) for one z ~ q_φ(z | x), nats per example (N,) (class docstring).
        `generator` draws z and the prior's x_t, so a seeded bound is reproducible (as `sample`'s)."""
        _check_device(x, self.device)
        mu, log_var = self.vae.encode(x)
        z = mu + (0.5 * log_var).exp() * randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
        log_q = -0.5 * (math.log(2 * math.pi) + log_var + (z - mu).pow(2) * torch.exp(-log_var)).sum(1)
        return -self.vae.log_px_z(x, z) + log_q + self.prior.nll_bound(z, generator=generator)
