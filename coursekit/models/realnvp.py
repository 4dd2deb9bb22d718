"""RealNVP (Dinh et al., 2017) on integer-level images, and a small flow for 2-D toy densities.

**The image flow.** Pixels are integer levels x ∈ {0, …, K−1}^D (17 levels for the digits). A flow
is a density on ℝ^D, so the levels are *dequantised*: v = (x + u) / K with u ∈ [0, 1)^D, which
fills exactly the level's cell [x/K, (x+1)/K) and never reaches the next one. Then (Theis et al., 2016)

    log P(x) = log ∫_{[0,1)^D} p_Y(x + u) du ≥ E_q[log p_Y(x + u) − log q(u | x)]       (Jensen)
    p_Y(x + u) = p_V(v) / K^D                              (y = x + u ∈ [0, K)^D, v = y / K ∈ [0, 1)^D)
    −log P(x) ≤ −E_q[log p_V(v) − log q(u | x)] + D log K                             (the bound, in nats)

- uniform dequantisation: q(u | x) = U[0, 1)^D, log q = 0: the bound is −E_u log p_V((x+u)/K) + D log K;
- variational dequantisation (Ho et al., 2019, Flow++): q(u | x) is itself a small conditional
  flow, u = sigmoid(g(ε; x)) with ε ~ N(0, I) and g affine couplings that read x, so
  log q(u | x) = log N(ε) − log |det ∂u/∂ε|; it learns to put u where p_V is high and tightens the bound.

Either way `nll_bound(x)` is a valid upper bound on the discrete −log P(x), in nats, so its bits/dim
(÷ D ln 2) stand next to the autoregressive models' exact ones. (Tomczak's intro_dgm RealNVP adds
noise over half a level: the 2.76 bits/dim reported for it on this split, quoted, not rerun here, would be
3.76 as a valid bound.)

p_V is a RealNVP on v ∈ [0, 1)^D, in the density direction f: v → z (`flows.Flow.forward`):

    LogitTransform                                               [0, 1) → ℝ
    scale 1, (C, H, W):     steps × [ActNorm, affine coupling with a checkerboard mask (alternating)]
    Squeeze → (4C, H/2, W/2)
    scale 2:                steps × [ActNorm, invertible 1×1 conv (LU), coupling with a channel mask]
    multi-scale (`multiscale=True`): after the first step of scale 2, half the channels are factored
    out (`flows.FactorOut`) and the remaining steps act on the other half.

log p_V(v) = log p_Z(f(v)) + log |det ∂f/∂v|, p_Z a standard normal (or logistic, `base="logistic"`).
A class-conditional flow (`classes` = 10) gives every coupling the one-hot label y as well
(conditional coupling): `nll_bound(x, y)`, `loss((x, y))`, `sample(n, y=...)`.

Samples: z ~ p_Z at `temperature` T (z = T·ε), v = f⁻¹(z), and the levels ⌊K v⌋ (clamped to
0..K−1): int64 levels, the data's convention (base.py); `dequantised=True` gives K·v instead, the
continuous values in [0, K) before flooring.

**The 2-D flow** (`Flow2D`): ActNorm and affine couplings with half masks (x₁ given then x₂)
on continuous points in ℝ², exact `log_prob(x)` (the lecture draws its density on a grid), and
`layer_samples` for the "slide through the layers" picture.

    model = RealNVP()                                    # digits, uniform dequantisation
    model = RealNVP(dequantization="variational")        # a tighter bound
    model = RealNVP(classes=10); model.sample(10, y=3, temperature=0.7)
    toy = Flow2D(); toy.log_prob(points)                  # (N,) nats, exact
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from ..utils import check_images, check_shape, rand
from .base import GenerativeModel, ImagesFromConfig, batch_images, check_labels, config_from
from .flows import (
    ActNorm, AffineCoupling, AdditiveCoupling, Base, FactorOut, Flow, FlowSequence, InvertibleConv1x1,
    LogitTransform, Squeeze, StandardLogistic, StandardNormal, channel_mask, checkerboard_mask, half_mask,
)

__all__ = ["RealNVPConfig", "RealNVP", "VariationalDequantizer", "dequantize", "dequantized_bound",
           "Flow2DConfig", "Flow2D"]

DEQUANTIZATIONS = ("uniform", "variational")
BASES = {"normal": StandardNormal, "logistic": StandardLogistic}


# --- dequantisation: the bookkeeping ----------------------------------------------------------

def dequantize(x: torch.Tensor, levels: int, u: torch.Tensor) -> torch.Tensor:
    """v = (x + u) / K for levels x ∈ {0..K−1} and noise u ∈ [0, 1): a point of the cell [x/K, (x+1)/K).

    In floating point x + u can round up to x + 1 when u is within rounding of 1 (float32 near 16);
    v is then set to the largest float below (x + 1)/K, so it never reaches the next level."""
    x = x.to(u.dtype)
    v = (x + u) / levels
    top = torch.nextafter((x + 1) / levels, torch.zeros((), dtype=u.dtype, device=u.device))
    return torch.minimum(v, top)


def dequantized_bound(log_p_v: torch.Tensor, log_q_u: torch.Tensor | float, levels: int, dims: int) -> torch.Tensor:
    """−log P(x) ≤ −(log p_V(v) − log q(u | x)) + D log K, per example in nats (module docstring).

    `log_p_v`: the flow's log-density of v = (x + u)/K on [0, 1)^D; `log_q_u`: log q(u | x) (0 for
    uniform noise). The D log K converts the density of v to that of y = x + u on [0, K)^D."""
    return -(log_p_v - log_q_u) + dims * math.log(levels)


class VariationalDequantizer(torch.nn.Module):
    """q(u | x): ε ~ N(0, I), h = g(ε; x) (affine couplings, checkerboard masks, each reading
    x / (K−1) − ½ as extra channels), u = sigmoid(h) ∈ (0, 1):

        log q(u | x) = log N(ε; 0, I) − log |det ∂h/∂ε| − Σ_d log σ'(h_d),   σ'(h) = σ(h) σ(−h)."""

    def __init__(self, shape: tuple[int, int, int], levels: int, hidden: int = 32, steps: int = 2,
                 context_dim: int = 0):
        super().__init__()
        C, H, W = shape
        self.shape, self.levels = tuple(shape), levels
        self.flow = FlowSequence([AffineCoupling(checkerboard_mask(C, H, W, i % 2), hidden, context_dim=C + context_dim)
                                  for i in range(steps)])
        self.noise = StandardNormal(shape)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(u, log q(u | x)): u (N, C, H, W) in (0, 1), log q (N,), for ε ~ N(0, I) (`transform`)."""
        return self.transform(self.noise.sample(x.shape[0], generator=generator), x, label)

    def transform(self, eps: torch.Tensor, x: torch.Tensor,
                  label: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(u, log q(u | x)) for given noise ε (N, C, H, W): u = sigmoid(g(ε; x))."""
        context = x.to(eps.dtype) / (self.levels - 1) - 0.5                      # (N, C, H, W)
        if label is not None:
            label_map = label[:, :, None, None].expand(-1, -1, *self.shape[1:])     # (N, classes, H, W)
            context = torch.cat([context, label_map], dim=1)                        # (N, C + classes, H, W)
        h, log_det = self.flow(eps, context)
        log_q = self.noise.log_prob(eps) - log_det - (F.logsigmoid(h) + F.logsigmoid(-h)).flatten(1).sum(1)
        return torch.sigmoid(h), log_q


# --- the image flow ---------------------------------------------------------------------------

@dataclass
class RealNVPConfig:
    """Everything that defines a RealNVP; the defaults are the benchmark's model for the 17-level digits
    (`benchmarks/flow_bits_per_dim.py`).

    `steps` coupling steps at each of the two scales (only one scale when H or W is odd); `hidden`
    channels in every conditioner; `coupling` "affine" (RealNVP) or "additive" (NICE); `multiscale`
    factors out half the channels after the squeeze; `base` "normal" or "logistic"; `alpha` the
    logit transform's margin (the flow's density covers (−α/(1−2α), (1−α)/(1−2α))^D, so the mass it
    puts outside [0, 1)^D is wasted: RealNVP's α = 0.05 costs this model about 0.09 bits/dim against
    α = 1e-4, 2.163 vs 2.072 at seed 0); `dequantization` "uniform" or "variational" (with `deq_hidden`,
    `deq_steps` for q(u | x)); `classes` K > 0 for a class-conditional flow."""

    shape: tuple[int, int, int] = (1, 8, 8)
    levels: int = 17
    hidden: int = 32
    steps: int = 4
    coupling: Literal["affine", "additive"] = "affine"
    multiscale: bool = False
    base: Literal["normal", "logistic"] = "normal"
    alpha: float = 1e-4
    dequantization: Literal["uniform", "variational"] = "uniform"
    deq_hidden: int = 32
    deq_steps: int = 2
    classes: int = 0

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise ValueError(f"shape must be (C, H, W) with positive sizes, got {self.shape}")
        if not isinstance(self.levels, int) or self.levels < 2:
            raise ValueError(f"levels must be an int >= 2 (the grey levels K), got {self.levels!r}")
        for name in ("hidden", "steps", "deq_hidden", "deq_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.coupling not in ("affine", "additive"):
            raise ValueError(f"coupling must be 'affine' or 'additive', got {self.coupling!r}")
        if self.base not in BASES:
            raise ValueError(f"base must be one of {tuple(BASES)}, got {self.base!r}")
        if self.dequantization not in DEQUANTIZATIONS:
            raise ValueError(f"dequantization must be one of {DEQUANTIZATIONS}, got {self.dequantization!r}")
        if not isinstance(self.classes, int) or self.classes < 0 or self.classes == 1:
            raise ValueError(f"classes must be 0 (unconditional) or >= 2 (class-conditional), got {self.classes!r}")
        if self.multiscale and not self.squeezes:
            raise ValueError(f"multiscale needs a squeeze, so even H and W, got shape {self.shape}")

    @property
    def squeezes(self) -> bool:
        """Whether the image is squeezed to a second scale (H and W even)."""
        return self.shape[1] % 2 == 0 and self.shape[2] % 2 == 0

    @property
    def dims(self) -> int:
        """D = C·H·W."""
        return self.shape[0] * self.shape[1] * self.shape[2]


def _image_flow(c: RealNVPConfig) -> tuple[FlowSequence, tuple[int, int, int]]:
    """The flow f: v → z of the module docstring, and the latent's shape."""
    C, H, W = c.shape
    Coupling = AffineCoupling if c.coupling == "affine" else AdditiveCoupling
    layers: list[Flow] = [LogitTransform(c.alpha)]
    for i in range(c.steps):                                             # scale 1: checkerboard couplings
        layers += [ActNorm(C), Coupling(checkerboard_mask(C, H, W, i % 2), c.hidden, context_dim=c.classes)]
    if not c.squeezes:
        return FlowSequence(layers), (C, H, W)
    C, H, W = 4 * C, H // 2, W // 2
    layers.append(Squeeze())                                             # (4C, H/2, W/2)

    def channel_step(channels: int, i: int) -> list[Flow]:
        return [ActNorm(channels), InvertibleConv1x1(channels),
                Coupling(channel_mask(channels, H, W, i % 2), c.hidden, context_dim=c.classes)]

    if not c.multiscale:
        for i in range(c.steps):
            layers += channel_step(C, i)
        return FlowSequence(layers), (C, H, W)
    layers += channel_step(C, 0)
    kept = C // 2                                                        # factored out here
    inner = FlowSequence([f for i in range(1, c.steps) for f in channel_step(C - kept, i)])
    layers.append(FactorOut(kept, inner))
    return FlowSequence(layers), (C, H, W)


class RealNVP(ImagesFromConfig, GenerativeModel):
    """A RealNVP on dequantised integer levels (module docstring). `RealNVP(config)` or
    `RealNVP(**fields of RealNVPConfig)`. Takes levels 0..K−1 (int64 or integer-valued floats)."""

    likelihood = "bound"
    bound = "dequantised"

    def __init__(self, config: RealNVPConfig | None = None, **fields):
        super().__init__()
        self.config = c = config_from(config, fields, RealNVPConfig)
        self.flow, latent_shape = _image_flow(c)
        self.base: Base = BASES[c.base](latent_shape)
        self.dequantizer = (VariationalDequantizer(c.shape, c.levels, c.deq_hidden, c.deq_steps, c.classes)
                            if c.dequantization == "variational" else None)

    @property
    def dtype(self) -> torch.dtype:
        return self.base.loc.dtype

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())

    # -- inputs --------------------------------------------------------------------------------

    def _label(self, y, n: int, device) -> torch.Tensor | None:
        """The one-hot label (n, classes) of a conditional flow, None for an unconditional one."""
        y = check_labels(y, n, device, classes=self.config.classes, model="RealNVP", field="classes",
                         conditioned="this is a class-conditional RealNVP")
        return None if y is None else F.one_hot(y, self.config.classes).to(self.dtype)   # (n, K)

    # -- the density ---------------------------------------------------------------------------

    def log_prob_continuous(self, v: torch.Tensor, y=None) -> torch.Tensor:
        """log p_V(v) for v ∈ [0, 1)^D (the flow's density of the scaled, dequantised image), (N,) nats."""
        label = self._label(y, v.shape[0], v.device)
        z, log_det = self.flow(v.to(self.dtype), label)                  # f: v → z, log |det ∂z/∂v|
        return self.base.log_prob(z) + log_det                           # change of variables

    def nll_bound(self, x: torch.Tensor, y=None, generator: torch.Generator | None = None) -> torch.Tensor:
        """−E_q[log p_V((x+u)/K) − log q(u | x)] + D log K with one draw of u per example: an unbiased
        estimate of the dequantised bound on the discrete −log P(x), (N,) nats. Average several calls
        (or repeat x) for a less noisy estimate; the expectation is the bound."""
        c = self.config
        check_images(x, c.shape, levels=c.levels)
        label = self._label(y, x.shape[0], x.device)
        if self.dequantizer is None:
            u = rand(x.shape, device=x.device, dtype=self.dtype, generator=generator)   # U[0, 1)^D
            log_q = torch.zeros(x.shape[0], device=x.device, dtype=self.dtype)
        else:
            u, log_q = self.dequantizer(x, label, generator)
        v = dequantize(x, c.levels, u)                                   # (N, C, H, W) in [x/K, (x+1)/K)
        z, log_det = self.flow(v, label)
        return dequantized_bound(self.base.log_prob(z) + log_det, log_q, c.levels, c.dims)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """{"loss": the mean bound in nats per example, "bits_per_dim": the same ÷ (D ln 2)}."""
        x = batch_images(batch)
        y = batch[1] if self.config.classes and isinstance(batch, (tuple, list)) and len(batch) >= 2 else None
        nats = self.nll_bound(x, y).mean()
        return {"loss": nats, "bits_per_dim": nats / (self.config.dims * math.log(2))}

    # -- latents and samples -----------------------------------------------------------------------

    def encode(self, x: torch.Tensor, y=None) -> torch.Tensor:
        """z = f((x + ½)/K): the latent of each image at the centre of its cells (no noise), (N, *latent)."""
        c = self.config
        check_images(x, c.shape, levels=c.levels)
        v = (x.to(self.dtype) + 0.5) / c.levels
        return self.flow(v, self._label(y, x.shape[0], x.device))[0]

    def decode(self, z: torch.Tensor, y=None, dequantised: bool = False) -> torch.Tensor:
        """x = ⌊K f⁻¹(z)⌋ as int64 levels 0..K−1, or K·f⁻¹(z) (floats in [0, K)) with `dequantised=True`."""
        c = self.config
        check_shape(z, (None, *self.base.shape), "z")
        v, _ = self.flow.inverse(z.to(self.dtype), self._label(y, z.shape[0], z.device))
        if dequantised:
            return (v * c.levels).clamp(0, c.levels)
        return torch.floor(v * c.levels).clamp(0, c.levels - 1).long()

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, y=None, dequantised: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """n images: z ~ p_Z with z = T·ε (T = `temperature`), x = `decode(z)`: int64 levels, or the
        continuous K·v with `dequantised=True`. A conditional flow takes `y` (an int or (n,) labels;
        None gives every class in turn, 0, 1, …, K−1, 0, …)."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if self.config.classes and y is None:
            y = torch.arange(n, device=self.device) % self.config.classes
        return self.decode(self.base.sample(n, temperature, generator), y, dequantised)


# --- the 2-D flow -------------------------------------------------------------------------------

@dataclass
class Flow2DConfig:
    """A RealNVP on ℝ²: `layers` × [ActNorm, affine coupling (half masks, alternating which
    coordinate is given)], MLP conditioners of `hidden` units; `base` "normal" or "logistic"."""

    layers: int = 8
    hidden: int = 64
    base: Literal["normal", "logistic"] = "normal"

    def __post_init__(self) -> None:
        for name in ("layers", "hidden"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.base not in BASES:
            raise ValueError(f"base must be one of {tuple(BASES)}, got {self.base!r}")


class Flow2D(GenerativeModel):
    """A flow on continuous 2-D points (the toy densities of `coursekit.data.toy2d`), exact likelihood:
    log p(x) = log p_Z(f(x)) + log |det ∂f/∂x|. Batches `(x,)` with x (N, 2)."""

    likelihood = "exact"

    def __init__(self, config: Flow2DConfig | None = None, **fields):
        super().__init__()
        self.config = c = config_from(config, fields, Flow2DConfig)
        self.flow = FlowSequence([f for i in range(c.layers)
                                  for f in (ActNorm(2), AffineCoupling(half_mask(2, i % 2), c.hidden))])
        self.base: Base = BASES[c.base]((2,))

    data_shape = (2,)
    data_levels = None

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x), (N,) nats, exact."""
        check_shape(x, (None, 2), "x")
        z, log_det = self.flow(x.to(self.base.loc.dtype))
        return self.base.log_prob(z) + log_det

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """{"loss": −mean log p(x) in nats}."""
        return {"loss": -self.log_prob(batch_images(batch)).mean()}

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, 2) points: x = f⁻¹(z), z ~ p_Z at `temperature`."""
        return self.flow.inverse(self.base.sample(n, temperature, generator))[0]

    @torch.no_grad()
    def layer_samples(self, n: int = 1000, temperature: float = 1.0, z: torch.Tensor | None = None,
                      generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """The points after each layer of the sampling direction: [z, f_K⁻¹(z), …, x], 2K + 1 tensors of
        (n, 2) (K coupling steps, each ActNorm then coupling): what the "slide through the layers" widget shows."""
        if z is None:
            z = self.base.sample(n, temperature, generator)
        check_shape(z, (None, 2), "z")
        return self.flow.inverse(z.to(self.base.loc.dtype), return_all=True)[2]
