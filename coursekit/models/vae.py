"""Variational autoencoders (Kingma & Welling, 2014): a latent variable model trained on the ELBO.

    p(z) = N(0, I),   p_θ(x) = ∫ p_θ(x | z) p(z) dz          (the model; the integral is intractable)
    q_φ(z | x) = N(μ_φ(x), diag σ²_φ(x))                     (the encoder, an approximate posterior)
    log p_θ(x) = ELBO + KL(q_φ(z | x) ‖ p_θ(z | x)) ≥ ELBO
    ELBO = E_q[log p_θ(x | z)] − KL(q_φ(z | x) ‖ p(z))     ("recon" = −first term, "kl" = second)

The encoder outputs μ and log σ² (`mu`, `log_var`); samples use the reparameterisation
z = μ + σ ⊙ ε, ε ~ N(0, I), so gradients reach μ and σ. The KL to the prior is in closed form.

Decoders, `VAEConfig.decoder` (all factorise over the pixels given z):

- "categorical": x_d ∈ {0, …, K−1}, p(x_d | z) = Cat(softmax(logits_d)), K = `levels`
  (17 for the digits). A discrete likelihood: −log p(x) is a code length, so bits/dim are
  comparable with every other model of the course.
- "bernoulli": x_d ∈ {0, 1}, p(x_d | z) = Bern(sigmoid(logit_d)): binarised digits, sprites.
- "gaussian": x_d ∈ ℝ, p(x_d | z) = N(mean_d(z), σ_x²). The variance is **fixed** at
  `x_std`² (default 0.1²; then −log p(x|z) is a scaled squared error plus a constant) or,
  with `learn_x_std=True`, **learned**: one log σ_x per pixel, starting at log `x_std`, a
  parameter trained with the rest that does not depend
  on z. Use it on continuous data (e.g. `data.dequantize`d digits), not on raw levels: on
  pixels that are always 0, a learned σ_x shrinks towards 0 and the density grows without bound.

Architectures, `VAEConfig.architecture`: "mlp" (the default: `depth` hidden layers of
`hidden` units each way, ELU activations, dropout on the hidden units in training: on the
1000 training digits the model overfits within a few dozen epochs without it), "conv" (stride-2 3×3 convolutions down, nearest-neighbour
upsampling and 3×3 convolutions up, for any image size: 8×8 digits, 28×28 MNIST, 32×32
sprites) and "linear" (one affine map each way; with the Gaussian decoder this is
probabilistic PCA, whose log p(x) is known in closed form).

A conditional VAE (`num_classes > 0`) gives the label y to both encoder and decoder,
q_φ(z | x, y) and p_θ(x | z, y), as a one-hot vector; batches are then `(x, y)`. The prior
stays p(z) = N(0, I), independent of y, so z is pushed to hold what the label does not say
(style: slant, thickness) and the same z decodes to every class in the same style.

    model = VAE(latent_dim=16)                               # the categorical MLP VAE of lecture 02
    model = VAE(architecture="conv", decoder="bernoulli", shape=(1, 32, 32), beta_kl=4.0)   # lecture 03
    parts = model.loss((x, y))     # {"loss", "recon", "kl", "elbo"}: per-example means in nats
    model.iwae_bound(x, k=1000)    # log p(x) estimates (N,), tighter than model.elbo(x)
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import check_images, draw_device, rand, randn
from .base import GenerativeModel, check_labels, config_from
from .layers import ACTIVATIONS, MLP

__all__ = [
    "VAEConfig", "VAE", "reparameterize", "gaussian_kl", "gaussian_kl_per_dim", "diagonal_gaussian_log_prob",
    "standard_normal_log_prob", "decoder_log_likelihood",
]

DECODERS = ("categorical", "bernoulli", "gaussian")
ARCHITECTURES = ("mlp", "conv", "linear")
_LOG_VAR_RANGE = (-30.0, 20.0)  # σ² in [1e-13, 5e8]: keeps exp(log σ²) finite in float32
_CHUNK_ELEMENTS = 1 << 22       # iwae_bound: decoder outputs per chunk (16 MiB of float32)


# --- the pieces of the ELBO, as functions ---------------------------------------------------

def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = μ + σ ⊙ ε with ε ~ N(0, I): a sample of N(μ, diag σ²) that is differentiable in μ and σ."""
    eps = _randn(mu.shape, mu, generator)
    return mu + torch.exp(0.5 * log_var) * eps  # σ = exp(½ log σ²)


def gaussian_kl_per_dim(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(μ_j, σ_j²) ‖ N(0, 1)) = ½ (μ_j² + σ_j² − log σ_j² − 1) of each coordinate, shaped like μ.

    Averaged over a batch, `.mean(0)`, it is the rate each latent dimension carries (lecture 03):
    a dimension near 0 is switched off."""
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1.0)


def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1), summed over the last dim."""
    return gaussian_kl_per_dim(mu, log_var).sum(-1)


def diagonal_gaussian_log_prob(z: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(z; μ, diag σ²) = −½ Σ_j [log 2π + log σ_j² + (z_j − μ_j)² / σ_j²], summed over the last dim."""
    return -0.5 * (math.log(2 * math.pi) + log_var + (z - mu).pow(2) * torch.exp(-log_var)).sum(-1)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) = −½ Σ_j (log 2π + z_j²), summed over the last dim: the prior's log density."""
    return -0.5 * (math.log(2 * math.pi) + z.pow(2)).sum(-1)


def decoder_log_likelihood(decoder: str, params: torch.Tensor, x: torch.Tensor,
                           log_std: torch.Tensor | None = None) -> torch.Tensor:
    """log p(x_d | z) for every dimension d, shape (N, C, H, W), from the decoder's outputs `params`.

    - "categorical": `params` are logits (N, K, C, H, W), `x` integer levels (N, C, H, W):
      log softmax(logits)_{x_d};
    - "bernoulli": `params` are logits (N, C, H, W), `x` in {0, 1}: x log s + (1 − x) log(1 − s), s = sigmoid;
    - "gaussian": `params` are means (N, C, H, W), `log_std` log σ_x (broadcasts), `x` real:
      −½ log 2π − log σ_x − (x − mean)² / (2σ_x²).
    """
    if decoder == "categorical":
        return -F.cross_entropy(params, x.long(), reduction="none")
    if decoder == "bernoulli":
        return -F.binary_cross_entropy_with_logits(params, x.to(params.dtype), reduction="none")
    if decoder == "gaussian":
        if log_std is None:
            raise ValueError("the gaussian decoder's log-likelihood needs log_std, log σ_x")
        return -0.5 * math.log(2 * math.pi) - log_std - 0.5 * ((x - params) * torch.exp(-log_std)).pow(2)
    raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")


def _randn(shape: tuple[int, ...] | torch.Size, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise on `like`'s device and dtype, by the package's rule (`coursekit.utils.randn`)."""
    return randn(shape, device=like.device, dtype=like.dtype, generator=generator)


# --- configuration --------------------------------------------------------------------------

@dataclass
class VAEConfig:
    """Everything that defines a VAE. The defaults are the lecture 02 model for the 17-level digits.

    The MLP defaults (latent 16, 2 × 512 ELU units each way, dropout 0.5) are the benchmark's
    model (`benchmarks/vae_bits_per_dim.py`). `dropout` acts in training mode only: evaluate
    after `model.eval()` (as `coursekit.training` leaves it).

    `levels` defaults by decoder: 17 (categorical), 2 (bernoulli, which needs 2), None
    (gaussian: real-valued data). `beta_kl` weights the KL term of `loss` (β-VAE, lecture 03;
    it may be changed between steps, e.g. for a KL warm-up); the "elbo" part is always the
    true ELBO. `iwae_k` is the number of importance samples of `nll_bound`.
    """

    shape: tuple[int, int, int] = (1, 8, 8)
    decoder: Literal["categorical", "bernoulli", "gaussian"] = "categorical"
    levels: int | None = None
    latent_dim: int = 16
    architecture: Literal["mlp", "conv", "linear"] = "mlp"
    hidden: int = 512
    depth: int = 2
    activation: Literal["elu", "leaky_relu", "relu", "gelu"] = "elu"
    dropout: float = 0.5
    conv_channels: tuple[int, ...] = (32, 64, 64)
    x_std: float = 0.1
    learn_x_std: bool = False
    beta_kl: float = 1.0
    num_classes: int = 0
    iwae_k: int = 1000

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        self.conv_channels = tuple(int(c) for c in self.conv_channels)
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise ValueError(f"shape must be (C, H, W) with positive sizes, got {self.shape}")
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {self.decoder!r}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.levels is None:
            self.levels = {"categorical": 17, "bernoulli": 2, "gaussian": None}[self.decoder]
        if self.decoder == "categorical" and (not isinstance(self.levels, int) or self.levels < 2):
            raise ValueError(f"the categorical decoder needs levels >= 2 (grey levels per pixel), got {self.levels!r}")
        if self.decoder == "bernoulli" and self.levels != 2:
            raise ValueError(f"the bernoulli decoder models binary data, so levels must be 2, got {self.levels!r}; "
                             f"use decoder='categorical' for {self.levels} levels")
        if self.decoder == "gaussian" and self.levels is not None:
            raise ValueError(f"the gaussian decoder models real-valued data: leave levels=None, got {self.levels!r}")
        for name in ("latent_dim", "hidden", "depth", "iwae_k"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(self.num_classes, int) or self.num_classes < 0 or self.num_classes == 1:
            raise ValueError(f"num_classes must be 0 (unconditional) or >= 2 (a conditional VAE), got {self.num_classes!r}")
        if not (isinstance(self.x_std, (int, float)) and self.x_std > 0):
            raise ValueError(f"x_std (the gaussian decoder's σ_x, fixed or initial) must be a number > 0, got {self.x_std!r}")
        if not self.beta_kl >= 0:
            raise ValueError(f"beta_kl (the KL weight) must be >= 0, got {self.beta_kl!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {self.activation!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout (the probability of zeroing a hidden unit in training) must be in [0, 1), "
                             f"got {self.dropout!r}")
        if self.architecture == "conv" and not self.conv_channels:
            raise ValueError("the conv architecture needs at least one entry in conv_channels")

    @property
    def dims(self) -> int:
        """D = C·H·W, the dimensions of one example (the denominator of bits/dim)."""
        return self.shape[0] * self.shape[1] * self.shape[2]


# --- networks -------------------------------------------------------------------------------

def _mlp(sizes: list[int], activation: str = "elu", dropout: float = 0.0) -> MLP:
    """Linear layers with an activation (then dropout, if any) between them, none after the last."""
    return MLP(sizes, activation=activation, dropout=dropout)


def _halve(size: tuple[int, int]) -> tuple[int, int]:
    """Output size of a 3×3 convolution with stride 2 and padding 1: ⌈H/2⌉ × ⌈W/2⌉."""
    return (size[0] + 1) // 2, (size[1] + 1) // 2


class _ConvEncoder(nn.Module):
    """x (N, C, H, W) → features (N, c_last·h·w): one stride-2 3×3 convolution per entry of `channels`."""

    def __init__(self, in_channels: int, size: tuple[int, int], channels: tuple[int, ...], activation: str):
        super().__init__()
        layers: list[nn.Module] = []
        self.sizes = [size]
        for c_in, c_out in zip((in_channels, *channels[:-1]), channels):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), ACTIVATIONS[activation]()]
            self.sizes.append(_halve(self.sizes[-1]))
        self.net = nn.Sequential(*layers)
        self.out_features = channels[-1] * self.sizes[-1][0] * self.sizes[-1][1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)  # (N, c_last, h, w) → (N, c_last·h·w)


class _ConvDecoder(nn.Module):
    """features (N, c_last·h·w) → (N, out_channels, H, W): nearest upsampling + 3×3 convolution per stage
    (upsampling then convolving avoids the checkerboard artefacts of transposed convolutions)."""

    def __init__(self, out_channels: int, sizes: list[tuple[int, int]], channels: tuple[int, ...], activation: str):
        super().__init__()
        self.start = (channels[-1], *sizes[-1])
        layers: list[nn.Module] = []
        for stage in range(len(channels) - 1, -1, -1):  # back from the smallest map to the image size
            c_in, c_out = channels[stage], channels[max(stage - 1, 0)]
            layers += [nn.Upsample(size=sizes[stage], mode="nearest"), nn.Conv2d(c_in, c_out, 3, padding=1),
                       ACTIVATIONS[activation]()]
        layers.append(nn.Conv2d(channels[0], out_channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h.view(h.shape[0], *self.start))  # (N, c_last·h·w) → (N, c_last, h, w) → (N, out, H, W)


# --- the model ------------------------------------------------------------------------------

class VAE(GenerativeModel):
    """A VAE with a diagonal Gaussian encoder and a categorical, Bernoulli or Gaussian decoder.

    `VAE(config)` or `VAE(**fields of VAEConfig)`. Inputs `x` have shape (N, *config.shape):
    integer levels for "categorical" (the encoder sees x / (K − 1)), 0/1 for "bernoulli",
    floats for "gaussian". Every log-likelihood is in nats per example.
    """

    likelihood = "bound"

    def __init__(self, config: VAEConfig | None = None, **fields):
        super().__init__()
        self.config = config_from(config, fields, VAEConfig)
        c = self.config
        channels, height, width = c.shape
        D, L, Y = c.dims, c.latent_dim, c.num_classes
        out_channels = channels * c.levels if c.decoder == "categorical" else channels  # per pixel: K logits, or one value

        if c.architecture == "conv":
            self.encoder_body = _ConvEncoder(channels, (height, width), c.conv_channels, c.activation)
            self.encoder_head = _mlp([self.encoder_body.out_features + Y, c.hidden, 2 * L], c.activation, c.dropout)
            self.decoder_head = nn.Sequential(_mlp([L + Y, c.hidden, self.encoder_body.out_features], c.activation,
                                                   c.dropout), ACTIVATIONS[c.activation]())
            self.decoder_body = _ConvDecoder(out_channels, self.encoder_body.sizes, c.conv_channels, c.activation)
        else:
            widths = [c.hidden] * c.depth if c.architecture == "mlp" else []
            self.encoder_body = nn.Flatten()                                # (N, C, H, W) → (N, D)
            self.encoder_head = _mlp([D + Y, *widths, 2 * L], c.activation, c.dropout)      # → (N, 2L): μ, log σ²
            self.decoder_head = _mlp([L + Y, *widths, out_channels * height * width], c.activation, c.dropout)
            self.decoder_body = nn.Unflatten(1, (out_channels, height, width))
        if c.decoder == "gaussian":
            log_std = torch.full((channels, height, width), math.log(c.x_std))
            if c.learn_x_std:
                self.log_std_x = nn.Parameter(log_std)   # learned log σ_x, one per pixel, starts at log x_std
            else:
                self.register_buffer("log_std_x", log_std)  # fixed log σ_x

    # -- the contract's declaration ----------------------------------------------------------

    @property
    def bound(self) -> str:
        """Which bound `nll_bound` computes: "iwae-<k>" (k = config.iwae_k; "iwae-1" is a one-sample ELBO)."""
        return f"iwae-{self.config.iwae_k}"

    @property
    def data_shape(self) -> tuple[int, int, int]:
        return self.config.shape

    @property
    def data_levels(self) -> int | None:
        """K (categorical), 2 (bernoulli) or None (gaussian: real-valued data), as `config.levels`."""
        return self.config.levels

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())

    # -- input checks --------------------------------------------------------------------------

    def _check_x(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        c = self.config
        levels = {"categorical": c.levels, "bernoulli": 2}.get(c.decoder)
        check_images(x, c.shape, levels=levels, name=name)
        if levels is None and not x.is_floating_point():
            raise ValueError(f"the gaussian decoder models real-valued data: {name} must be floating point, got "
                             f"{x.dtype} (use data.dequantize or data.to_float)")
        return x

    def _check_y(self, y: torch.Tensor | int | None, n: int, device: torch.device) -> torch.Tensor | None:
        return check_labels(y, n, device, classes=self.config.num_classes, model="VAE", field="num_classes",
                            conditioned="this is a conditional VAE")

    def _with_label(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if y is None:
            return h
        return torch.cat([h, F.one_hot(y, self.config.num_classes).to(h.dtype)], dim=1)  # (N, F + K)

    def _split(self, batch) -> tuple[torch.Tensor, torch.Tensor | None]:
        if isinstance(batch, torch.Tensor):
            return batch, None
        if isinstance(batch, (tuple, list)) and len(batch) >= 1:
            y = batch[1] if len(batch) >= 2 and self.config.num_classes > 0 else None
            return batch[0], y
        raise TypeError(f"a batch must be a tensor, (x,) or (x, y), got {type(batch).__name__}")

    # -- encoder and decoder ---------------------------------------------------------------------

    def encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the encoder sees: levels scaled to [0, 1] (categorical), else x, in the model's dtype."""
        x = x.to(self.dtype)
        return x / (self.config.levels - 1) if self.config.decoder == "categorical" else x

    def encode(self, x: torch.Tensor, y: torch.Tensor | int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """q_φ(z | x, y) = N(μ, diag σ²): returns (mu, log_var), each (N, latent_dim)."""
        x = self._check_x(x)
        y = self._check_y(y, x.shape[0], x.device)
        h = self._with_label(self.encoder_body(self.encoder_input(x)), y)  # (N, F [+ K])
        mu, log_var = self.encoder_head(h).chunk(2, dim=1)                  # (N, 2L) → (N, L), (N, L)
        return mu, log_var.clamp(*_LOG_VAR_RANGE)

    def decoder_output(self, z: torch.Tensor, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """The decoder's parameters of p_θ(x | z, y): logits (N, K, C, H, W) for "categorical",
        logits (N, C, H, W) for "bernoulli", means (N, C, H, W) for "gaussian"."""
        c = self.config
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != c.latent_dim:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"z must have shape (N, {c.latent_dim}), got {got}")
        y = self._check_y(y, z.shape[0], z.device)
        out = self.decoder_body(self.decoder_head(self._with_label(z.to(self.dtype), y)))  # (N, out_channels, H, W)
        if c.decoder == "categorical":
            return out.view(out.shape[0], c.levels, *c.shape)  # (N, K·C, H, W) → (N, K, C, H, W)
        return out

    def decode(self, z: torch.Tensor, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """The mean image E[x | z, y], (N, C, H, W), in the data's units: levels 0..K−1 as floats
        (categorical), probabilities (bernoulli), means (gaussian). What the pictures show."""
        return self._mean(self.decoder_output(z, y))

    def _mean(self, params: torch.Tensor) -> torch.Tensor:
        c = self.config
        if c.decoder == "categorical":
            levels = torch.arange(c.levels, device=params.device, dtype=params.dtype).view(1, -1, 1, 1, 1)
            return (params.softmax(dim=1) * levels).sum(dim=1)  # Σ_k k·p_k: (N, K, C, H, W) → (N, C, H, W)
        if c.decoder == "bernoulli":
            return torch.sigmoid(params)
        return params

    def log_px_z(self, x: torch.Tensor, z: torch.Tensor, y: torch.Tensor | int | None = None,
                 per_dim: bool = False) -> torch.Tensor:
        """log p_θ(x | z, y) in nats: (N,), or (N, C, H, W) per dimension with `per_dim=True`."""
        x = self._check_x(x)
        if z.shape[0] != x.shape[0]:
            raise ValueError(f"x and z must have one row each per example, got x {tuple(x.shape)} and z {tuple(z.shape)}")
        return self._log_px_z(x, self.decoder_output(z, y), per_dim)

    def _log_px_z(self, x: torch.Tensor, params: torch.Tensor, per_dim: bool = False) -> torch.Tensor:
        log_std = getattr(self, "log_std_x", None)
        x = x if self.config.decoder == "categorical" else x.to(params.dtype)
        log_p = decoder_log_likelihood(self.config.decoder, params, x, log_std)  # (N, C, H, W)
        return log_p if per_dim else log_p.flatten(1).sum(1)

    # -- the objective ---------------------------------------------------------------------------

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """One-sample ELBO on a batch `(x,)` or `(x, y)`: per-example means in nats.

        "recon" = −log p_θ(x | z) with z = μ + σ ⊙ ε (one sample), "kl" = KL(q_φ(z|x) ‖ p(z))
        in closed form, "loss" = recon + β_KL·kl (what is minimised), "elbo" = −(recon + kl).
        """
        x, y = self._split(batch)
        mu, log_var = self.encode(x, y)                            # (N, L) each
        z = reparameterize(mu, log_var)                            # (N, L): gradients reach μ and σ
        recon = -self.log_px_z(x, z, y)                            # (N,)
        kl = gaussian_kl(mu, log_var)                              # (N,)
        return {"loss": (recon + self.config.beta_kl * kl).mean(), "recon": recon.mean(), "kl": kl.mean(),
                "elbo": -(recon + kl).mean()}

    def elbo(self, x: torch.Tensor, y: torch.Tensor | int | None = None, samples: int = 1,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """The ELBO of each example, (N,) nats: E_q[log p(x|z)] from `samples` draws, minus the closed-form KL."""
        if not isinstance(samples, int) or samples < 1:
            raise ValueError(f"samples must be a positive int, got {samples!r}")
        mu, log_var = self.encode(x, y)
        y = self._check_y(y, x.shape[0], x.device)
        recon = torch.zeros(x.shape[0], device=mu.device, dtype=mu.dtype)
        for _ in range(samples):
            recon = recon + self.log_px_z(x, reparameterize(mu, log_var, generator), y)
        return recon / samples - gaussian_kl(mu, log_var)

    @torch.no_grad()
    def rate_distortion(self, x: torch.Tensor, y: torch.Tensor | int | None = None,
                        generator: torch.Generator | None = None,
                        batch_size: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
        """Rate and distortion of each example, two (N,) tensors in nats (lecture 03):

            R = KL(q_φ(z | x) ‖ p(z))          (closed form: the nats the code spends on x)
            D = −log p_θ(x | z), z ~ q_φ(z | x)  (one reparameterised draw from `generator`)

        so −ELBO = D + R and the β-VAE minimises D + β·R. The noise is drawn once for all of x,
        as `elbo` draws it, and the networks run in chunks of `batch_size` (which changes nothing).
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        x = self._check_x(x)
        y = self._check_y(y, x.shape[0], x.device)
        chunks = range(0, x.shape[0], batch_size)
        encoded = [self.encode(x[i:i + batch_size], None if y is None else y[i:i + batch_size]) for i in chunks]
        mu, log_var = torch.cat([m for m, _ in encoded]), torch.cat([v for _, v in encoded])  # (N, L) each
        z = reparameterize(mu, log_var, generator)                                            # (N, L): one draw each
        distortion = torch.cat([-self.log_px_z(x[i:i + batch_size], z[i:i + batch_size],
                                                None if y is None else y[i:i + batch_size]) for i in chunks])
        return gaussian_kl(mu, log_var), distortion                                           # R, D: (N,) each

    # -- importance sampling ---------------------------------------------------------------------

    @torch.no_grad()
    def log_weights(self, x: torch.Tensor, y: torch.Tensor | int | None = None, k: int = 1000,
                    proposal: Literal["encoder", "prior"] = "encoder",
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """log w_s = log p_θ(x | z_s) + log p(z_s) − log q(z_s | x), z_s ~ q, for s = 1..k: shape (k, N).

        `proposal="encoder"` draws z_s from q_φ(z | x); `proposal="prior"` draws them from
        p(z), so log w_s = log p_θ(x | z_s): naive Monte Carlo. Either way
        E[w_s] = p_θ(x). Computed without gradients, in chunks of examples and samples so
        that k = 1000 fits in memory for any N.
        """
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k (the number of importance samples) must be a positive int, got {k!r}")
        if proposal not in ("encoder", "prior"):
            raise ValueError(f"proposal must be 'encoder' or 'prior', got {proposal!r}")
        x = self._check_x(x)
        n = x.shape[0]
        y = self._check_y(y, n, x.device)
        mu, log_var = self.encode(x, y)                                    # (N, L) each
        if proposal == "prior":
            mu, log_var = torch.zeros_like(mu), torch.zeros_like(log_var)  # q = p(z) = N(0, I)
        per_row = self.config.dims * (self.config.levels if self.config.decoder == "categorical" else 1)
        rows = max(1, _CHUNK_ELEMENTS // per_row)                          # decoder calls per chunk
        s_chunk = min(k, rows)
        n_chunk = max(1, rows // s_chunk)
        out = torch.empty(k, n, device=mu.device, dtype=mu.dtype)
        for a in range(0, n, n_chunk):
            b = min(n, a + n_chunk)
            for s in range(0, k, s_chunk):
                t = min(k, s + s_chunk)
                m, lv = mu[a:b].expand(t - s, -1, -1), log_var[a:b].expand(t - s, -1, -1)  # (S, B, L)
                z = reparameterize(m, lv, generator)                                        # (S, B, L)
                xs = x[a:b].expand(t - s, *x[a:b].shape).reshape(-1, *x.shape[1:])  # (S, B, C, H, W) → (S·B, C, H, W)
                ys = None if y is None else y[a:b].expand(t - s, -1).reshape(-1)            # (S·B,)
                log_px_z = self._log_px_z(xs, self.decoder_output(z.reshape(-1, z.shape[-1]), ys))  # (S·B,)
                log_w = log_px_z.view(t - s, b - a)                                          # (S, B)
                if proposal == "encoder":
                    log_w = log_w + standard_normal_log_prob(z) - diagonal_gaussian_log_prob(z, m, lv)
                out[s:t, a:b] = log_w
        return out

    def iwae_bound(self, x: torch.Tensor, y: torch.Tensor | int | None = None, k: int = 1000,
                   proposal: Literal["encoder", "prior"] = "encoder",
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """The importance-weighted estimate of log p_θ(x), (N,) nats (Burda et al., 2016):

            L_k = log (1/k) Σ_s w_s = logsumexp_s(log w_s) − log k.

        E[L_k] ≤ log p(x); E[L_1] = ELBO; E[L_k] grows with k and tends to log p(x).
        """
        log_w = self.log_weights(x, y, k, proposal, generator)  # (k, N)
        return torch.logsumexp(log_w, dim=0) - math.log(k)

    def nll_bound(self, x: torch.Tensor, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """−L_k with k = config.iwae_k (`self.bound` names it): an upper bound on −log p(x) in expectation, (N,) nats."""
        return -self.iwae_bound(x, y, k=self.config.iwae_k)

    # -- generation ------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, y: torch.Tensor | int | None = None, temperature: float = 1.0, mean: bool = False,
               z: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images: z ~ N(0, temperature² I), then x ~ p_θ(x | z, y) (or its mean with `mean=True`).

        Draws are integer levels (categorical), 0./1. floats (bernoulli) or floats (gaussian);
        means are as `decode`. A conditional VAE takes `y` (an int or (n,) labels; None gives
        every class in turn, y = 0, 1, …, K−1, 0, …). `z` (n, latent_dim) replaces the prior draw.
        """
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        c = self.config
        like = torch.empty(0, device=self.device, dtype=self.dtype)
        if c.num_classes > 0 and y is None:
            y = torch.arange(n, device=self.device) % c.num_classes
        if z is None:
            z = temperature * _randn((n, c.latent_dim), like, generator)
        elif tuple(z.shape) != (n, c.latent_dim):
            raise ValueError(f"z must have shape ({n}, {c.latent_dim}), got {tuple(z.shape)}")
        params = self.decoder_output(z, y)
        if mean:
            return self._mean(params)
        if c.decoder == "categorical":
            probs = params.movedim(1, -1).softmax(-1).reshape(-1, c.levels)             # (N·C·H·W, K)
            probs = probs.to(draw_device(generator, probs.device))
            draws = torch.multinomial(probs, 1, generator=generator).to(params.device)  # (N·C·H·W, 1)
            return draws.view(n, *c.shape)
        if c.decoder == "bernoulli":
            u = rand(params.shape, device=params.device, dtype=params.dtype, generator=generator)
            return (u < torch.sigmoid(params)).to(params.dtype)
        return params + self.log_std_x.exp() * _randn(params.shape, params, generator)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """decode(μ): the mean image at the encoder's mean, no sampling (what to use at inference)."""
        mu, _ = self.encode(x, y)
        return self.decode(mu, y)

    # -- what the code carries (lecture 03) ------------------------------------------------------

    @torch.no_grad()
    def latent_report(self, x: torch.Tensor, y: torch.Tensor | int | None = None,
                      generator: torch.Generator | None = None, batch_size: int = 2048) -> LatentReport:
        """Rate, distortion and the per-dimension KL of the code on images x: a `LatentReport`.

        R and D are `rate_distortion(x, y, generator, batch_size)` (D from one reparameterised
        draw, the only random numbers used); μ and log σ² are the encoder's, in chunks of
        `batch_size`; `kl_per_dim` (L,) is the mean over x of KL(q(z_j | x) ‖ N(0, 1)), the nats
        each latent dimension carries, which sum to the mean rate.
        """
        rate, distortion = self.rate_distortion(x, y, generator=generator, batch_size=batch_size)  # (N,) each
        y = self._check_y(y, x.shape[0], x.device)
        encoded = [self.encode(x[i:i + batch_size], None if y is None else y[i:i + batch_size])
                   for i in range(0, x.shape[0], batch_size)]
        mu, log_var = torch.cat([m for m, _ in encoded]), torch.cat([v for _, v in encoded])    # (N, L) each
        kl_per_dim = gaussian_kl_per_dim(mu, log_var).mean(0)                                   # (L,)
        return LatentReport(rate=rate, distortion=distortion, mu=mu, log_var=log_var, kl_per_dim=kl_per_dim)

    @torch.no_grad()
    def traverse(self, z: torch.Tensor, dims, values, y: int | None = None) -> torch.Tensor:
        """Latent traversals around one code z (L,): row r decodes z with z_{dims[r]} set to each of `values`.

        Returns the mean images, shape (len(dims), S, C, H, W) for S = len(values), e.g. with z the
        μ of one image, `dims` the latents by KL and values = linspace(−2.5, 2.5, 9). All other
        coordinates stay at z. Each row is decoded as its own batch of S codes, so a row does not
        depend on which other rows were asked for. `y` is the label of a conditional VAE.
        """
        L = self.config.latent_dim
        if not isinstance(z, torch.Tensor) or tuple(z.shape) != (L,):
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"z must be one latent vector of shape ({L},), got {got}")
        dims = [int(j) for j in dims]
        if any(not 0 <= j < L for j in dims):
            raise ValueError(f"dims must be latent dimensions in 0..{L - 1}, got {dims}")
        values = torch.as_tensor(values, device=z.device)
        if values.dim() != 1 or values.numel() < 1:
            raise ValueError(f"values must be a non-empty 1-D sequence of z_j values, got shape {tuple(values.shape)}")
        rows = []
        for j in dims:
            codes = z.repeat(values.numel(), 1)                    # (S, L): S copies of z
            codes[:, j] = values                                    # sweep z_j
            rows.append(self.decode(codes, y))                      # (S, C, H, W)
        if not rows:
            return torch.empty(0, values.numel(), *self.config.shape, device=z.device, dtype=self.dtype)
        return torch.stack(rows)                                    # (len(dims), S, C, H, W)


# --- the latent space: what a code carries, and paths through it ------------------------------

ACTIVE_KL = 0.05
"""Nats: a latent dimension whose mean KL(q(z_j | x) ‖ N(0, 1)) is at most this is switched off (lecture 03)."""


@dataclass(frozen=True, eq=False)
class LatentReport:
    """What a VAE's code does on a set of images x, from `VAE.latent_report` (nats throughout).

    - `rate` (N,): R = KL(q_φ(z | x) ‖ p(z)) of each image, in closed form;
    - `distortion` (N,): D = −log p_θ(x | z), z ~ q_φ(z | x), one draw; R + D = −ELBO;
    - `mu`, `log_var` (N, L): the encoder's q_φ(z | x);
    - `kl_per_dim` (L,): the mean over x of KL(q(z_j | x) ‖ N(0, 1)); it sums to `rate.mean()`.
    """

    rate: torch.Tensor
    distortion: torch.Tensor
    mu: torch.Tensor
    log_var: torch.Tensor
    kl_per_dim: torch.Tensor

    @property
    def order(self) -> torch.Tensor:
        """(L,) the latent dimensions by the nats they carry, most first."""
        return torch.argsort(self.kl_per_dim, descending=True)

    @property
    def active(self) -> int:
        """How many latent dimensions carry more than `ACTIVE_KL` nats on average."""
        return int((self.kl_per_dim > ACTIVE_KL).sum())


def slerp(z_a: torch.Tensor, z_b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: along the great circle from z_a to z_b, norms interpolated linearly.

    Under a Gaussian prior in many dimensions almost all mass sits near the sphere of radius
    √L, while the straight line between two such points passes closer to the origin, where
    typical latents do not live; slerp stays out at typical norms.
    """
    norm_a, norm_b = z_a.norm(), z_b.norm()
    cos = torch.clamp(torch.dot(z_a / norm_a, z_b / norm_b), -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:
        return (1 - t) * z_a + t * z_b
    direction = (torch.sin((1 - t) * omega) * z_a / norm_a + torch.sin(t * omega) * z_b / norm_b) / torch.sin(omega)
    return direction * ((1 - t) * norm_a + t * norm_b)


__all__ += ["LatentReport", "ACTIVE_KL", "slerp"]
