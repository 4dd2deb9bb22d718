"""Normalizing flows: invertible layers with tractable log-determinants, and the base densities.

The change of variables: for an invertible, differentiable f mapping data x to a latent z = f(x),

    log p_X(x) = log p_Z(f(x)) + log |det ∂f/∂x|                                  (1)

The contract (normflows'): every `Flow` has

- `forward(x, context=None) -> (z, log_det)`: data → latent, the **density direction** used in
  training; log_det = log |det ∂z/∂x|, one value per example, shape (N,);
- `inverse(z, context=None) -> (x, log_det)`: latent → data, the **sampling direction**;
  log_det = log |det ∂x/∂z| = −(the forward log-det at that x).

The seeds use both conventions: seeds 000 and 002 write the generator x = f(z), latent to data
(sample z ~ p_z, x = f(z); the density through f⁻¹ and its Jacobian), while seed 004 writes
z = f_θ(x), data to latent, as here (the density direction, which training uses). Same flow, the
other direction: this module's `inverse` is the seeds' 000/002 f. `context` is the condition of a
conditional flow (a one-hot label, or a feature map for the variational dequantiser): the layers
that do not use it ignore it.

Layers (x of shape (N, D) for vectors or (N, C, H, W) for images):

- `ElementwiseAffine`: z = x ⊙ exp(log s) + b, log-det Σ log s (the simplest flow);
- `AffineCoupling` / `AdditiveCoupling` (Dinh et al., 2015, 2017): with a 0/1 mask m,
  z = m ⊙ x + (1 − m) ⊙ (x ⊙ exp(log s(m ⊙ x)) + t(m ⊙ x)); the Jacobian is triangular, so its
  log-det is Σ (1 − m) ⊙ log s, O(D) instead of the O(D³) of a general determinant. Masks:
  `half_mask` (vectors), `checkerboard_mask` and `channel_mask` (images). The log-scale is
  bounded, log s = a·tanh(raw) with a learned per-dimension a (initially 1), so exp(log s) can
  never overflow. With `context_dim > 0` the conditioner also reads a context (conditional coupling);
- `Permutation`: a fixed reversal or random shuffle of the features (vectors) or channels (images);
- `ActNorm` (Glow): z = (x + b) ⊙ exp(log s) per channel, initialised on the first batch it sees so
  that z has zero mean and unit variance per channel; a channel whose std is below `min_std` (the
  digits' always-zero border) is only centred, never divided by ~0;
- `InvertibleConv1x1` (Glow): a learned C×C channel mixing W = P L (U + diag(s)) (the LU form;
  seed 000 writes P(L + diag(s)), dropping U, and its LU log-det Σ log |s_i| without the H·W that its
  own full-matrix formula has), log-det = H·W·Σ log |s_i|;
- `Squeeze`: (C, H, W) → (4C, H/2, W/2), each 2×2 patch into channels; log-det 0;
- `FactorOut`: the multi-scale architecture's split: keep the first half of the channels as
  latents and run an inner flow on the rest;
- `LogitTransform`: [0, 1) → ℝ, y = logit(α + (1 − 2α) v), what image flows apply first;
- `FlowSequence`: f = f_K ∘ … ∘ f_1, log-dets add; the inverse runs in reverse order.

Bases, each with `log_prob(z)` summed per example and `sample(n, temperature)`:
`StandardNormal` and `StandardLogistic` (heavier tails; RealNVP's and NICE's choice for images).

    flow = FlowSequence([ActNorm(2), AffineCoupling(half_mask(2, 0), hidden=64), ...])
    z, log_det = flow(x)                                           # (N, 2), (N,)
    log_px = StandardNormal((2,)).log_prob(z) + log_det            # (1)
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import randn, rand
from .layers import MLP

__all__ = [
    "Flow", "FlowSequence", "ElementwiseAffine", "Coupling", "AffineCoupling", "AdditiveCoupling", "half_mask",
    "checkerboard_mask", "channel_mask", "Permutation", "ActNorm", "InvertibleConv1x1", "Squeeze", "FactorOut",
    "LogitTransform", "Base", "StandardNormal", "StandardLogistic",
]


def _sum_per_example(t: torch.Tensor) -> torch.Tensor:
    """Σ over every dimension but the batch: (N, ...) → (N,)."""
    return t.flatten(1).sum(1)


def _check_event(x: torch.Tensor, shape: tuple[int, ...], name: str, who: str) -> None:
    """x must be (N, *shape): raise naming both shapes."""
    if not isinstance(x, torch.Tensor) or tuple(x.shape[1:]) != tuple(shape) or x.dim() != len(shape) + 1:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{who} expects {name} of shape (N, {', '.join(map(str, shape))}), got {got}")


def _copy_from_cpu(buffer: torch.Tensor, source: torch.Tensor) -> None:
    """buffer ← source (computed on the CPU), on the buffer's device and dtype (a no-op on meta)."""
    with torch.no_grad():
        buffer.copy_(source)


# --- the contract ---------------------------------------------------------------------------

class Flow(nn.Module):
    """An invertible map with a tractable log-determinant (module docstring for the directions)."""

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Data → latent: (z, log |det ∂z/∂x|), the log-det of shape (N,)."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x) -> (z, log_det)")

    def inverse(self, z: torch.Tensor, context: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent → data: (x, log |det ∂x/∂z|), the log-det of shape (N,)."""
        raise NotImplementedError(f"{type(self).__name__} must implement inverse(z) -> (x, log_det)")


class FlowSequence(Flow):
    """f = f_K ∘ … ∘ f_1: forward runs f_1 first and adds the log-dets; inverse runs f_K⁻¹ first.

    `forward(x, return_all=True)` / `inverse(z, return_all=True)` also return the list of
    intermediate tensors, the input first and the output last (K + 1 of them): what the
    "slide through the layers" picture shows."""

    def __init__(self, flows: Sequence[Flow]):
        super().__init__()
        flows = list(flows)
        for i, f in enumerate(flows):
            if not isinstance(f, Flow):
                raise TypeError(f"every layer of a FlowSequence must be a Flow, got {type(f).__name__} at {i}")
        self.flows = nn.ModuleList(flows)

    def __len__(self) -> int:
        return len(self.flows)

    def forward(self, x, context=None, return_all: bool = False):
        log_det = x.new_zeros(x.shape[0])
        states = [x]
        for f in self.flows:
            x, ld = f(x, context)
            log_det = log_det + ld                     # log|det| of a composition: the sum
            states.append(x)
        return (x, log_det, states) if return_all else (x, log_det)

    def inverse(self, z, context=None, return_all: bool = False):
        log_det = z.new_zeros(z.shape[0])
        states = [z]
        for f in reversed(self.flows):
            z, ld = f.inverse(z, context)
            log_det = log_det + ld
            states.append(z)
        return (z, log_det, states) if return_all else (z, log_det)


# --- elementwise layers ---------------------------------------------------------------------

class ElementwiseAffine(Flow):
    """z = x ⊙ exp(log s) + b with one (log s, b) per dimension of `shape`: log-det = Σ log s.
    Both start at 0 (the identity)."""

    def __init__(self, shape: Sequence[int]):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        self.log_scale = nn.Parameter(torch.zeros(self.shape))   # log s
        self.shift = nn.Parameter(torch.zeros(self.shape))       # b

    def forward(self, x, context=None):
        _check_event(x, self.shape, "x", type(self).__name__)
        log_det = self.log_scale.sum().expand(x.shape[0])
        return x * self.log_scale.exp() + self.shift, log_det

    def inverse(self, z, context=None):
        _check_event(z, self.shape, "z", type(self).__name__)
        log_det = -self.log_scale.sum().expand(z.shape[0])
        return (z - self.shift) * torch.exp(-self.log_scale), log_det


class LogitTransform(Flow):
    """v ∈ [0, 1) → y = logit(s), s = α + (1 − 2α) v (α keeps s away from 0 and 1):

        log |dy/dv| = log(1 − 2α) − log s − log(1 − s)       per dimension.

    The first layer of an image flow: dequantised pixels live in [0, 1), the base on ℝ. The inverse
    maps ℝ onto (−α/(1−2α), (1−α)/(1−2α)), a little wider than [0, 1): the density the flow puts
    there is lost to the data (a valid but looser bound), so a small α (1e-4) wastes less than
    RealNVP's 0.05."""

    def __init__(self, alpha: float = 0.05):
        super().__init__()
        if not 0 <= alpha < 0.5:
            raise ValueError(f"alpha must be in [0, 0.5), got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, x, context=None):
        s = self.alpha + (1 - 2 * self.alpha) * x
        log_det = _sum_per_example(math.log(1 - 2 * self.alpha) - torch.log(s) - torch.log1p(-s))
        return torch.log(s) - torch.log1p(-s), log_det

    def inverse(self, z, context=None):
        s = torch.sigmoid(z)
        log_det = _sum_per_example(F.logsigmoid(z) + F.logsigmoid(-z) - math.log(1 - 2 * self.alpha))
        return (s - self.alpha) / (1 - 2 * self.alpha), log_det


# --- coupling layers ------------------------------------------------------------------------

def half_mask(D: int, parity: int = 0) -> torch.Tensor:
    """(D,) 0/1: the first ⌈D/2⌉ dimensions given (parity 0), or the others (parity 1)."""
    m = (torch.arange(D, device="cpu") < (D + 1) // 2).float()
    return m if parity == 0 else 1 - m


def checkerboard_mask(C: int, H: int, W: int, parity: int = 0) -> torch.Tensor:
    """(C, H, W) 0/1: 1 where (i + j + parity) is even, the same pattern in every channel."""
    i, j = torch.arange(H, device="cpu")[:, None], torch.arange(W, device="cpu")[None, :]
    return ((i + j + parity) % 2 == 0).float().expand(C, H, W).clone()


def channel_mask(C: int, H: int, W: int, parity: int = 0) -> torch.Tensor:
    """(C, H, W) 0/1: the first ⌈C/2⌉ channels given (parity 0), or the others (parity 1)."""
    return half_mask(C, parity)[:, None, None].expand(C, H, W).clone()


class _ConvNet(nn.Module):
    """The image conditioner: 3×3 conv → ReLU → 1×1 conv → ReLU → 3×3 conv, 'same' padding."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                                 nn.Conv2d(hidden, out_channels, 3, padding=1))

    def forward(self, h):
        return self.net(h)


class Coupling(Flow):
    """A coupling layer (Dinh et al.): with a fixed 0/1 `mask` m of the event's shape, (D,) or (C, H, W),

        (log s, t) = NN(m ⊙ x [, context])
        z = m ⊙ x + (1 − m) ⊙ (x ⊙ exp(log s) + t)              affine (RealNVP)
        z = m ⊙ x + (1 − m) ⊙ (x + t)                            additive (NICE): log s = 0
        log |det ∂z/∂x| = Σ_d (1 − m_d) log s_d                  (triangular Jacobian)
        x = m ⊙ z + (1 − m) ⊙ (z − t) ⊙ exp(−log s)             (the inverse: NN sees m ⊙ z = m ⊙ x)

    The conditioner NN is an MLP (vectors) or a small CNN (images) of `hidden` units; its last
    layer starts with small weights, so the layer starts near the identity. log s = a·tanh(raw),
    a learned per dimension and initially 1: bounded, so exp(log s) stays finite.

    Conditional coupling (`context_dim` = c > 0): the conditioner also reads `context`, (N, c)
    (e.g. a one-hot label; for images broadcast over the pixels) or, for images, a feature map
    (N, c, H, W)."""

    def __init__(self, mask: torch.Tensor, hidden: int = 64, affine: bool = True, context_dim: int = 0):
        super().__init__()
        mask = torch.as_tensor(mask, device="cpu").float()
        if mask.dim() not in (1, 3) or not ((mask == 0) | (mask == 1)).all():
            raise ValueError(f"mask must be 0/1 of shape (D,) or (C, H, W), got shape {tuple(mask.shape)}")
        if not isinstance(context_dim, int) or context_dim < 0:
            raise ValueError(f"context_dim must be an int >= 0, got {context_dim!r}")
        self.shape, self.affine, self.context_dim = tuple(mask.shape), bool(affine), context_dim
        self.register_buffer("mask", torch.empty(self.shape))
        _copy_from_cpu(self.mask, mask)
        outputs = 2 if affine else 1                                   # (log s, t) or t
        if mask.dim() == 1:
            D = self.shape[0]
            self.net = MLP([D + context_dim, hidden, hidden, outputs * D], activation="relu")
            last = self.net[-1]
        else:
            C = self.shape[0]
            self.net = _ConvNet(C + context_dim, hidden, outputs * C)
            last = self.net.net[-1]
        with torch.no_grad():                                         # start near the identity
            last.weight.mul_(0.01)
            last.bias.zero_()
        if affine:
            self.scale = nn.Parameter(torch.ones(self.shape))         # a in log s = a·tanh(raw)

    def _conditioner(self, given: torch.Tensor, context: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(log s, t), each shaped like x, from m ⊙ x and the context."""
        if self.context_dim:
            if context is None:
                raise ValueError(f"this coupling is conditional (context_dim={self.context_dim}): give a context")
            if len(self.shape) == 3 and context.dim() == 2:
                context = context[:, :, None, None].expand(-1, -1, *self.shape[1:])   # (N, c) → (N, c, H, W)
            if context.shape[1] != self.context_dim or context.shape[0] != given.shape[0]:
                raise ValueError(f"context must have {given.shape[0]} rows and {self.context_dim} features/channels, "
                                 f"got shape {tuple(context.shape)}")
            given = torch.cat([given, context.to(given.dtype)], dim=1)           # (N, D + c) or (N, C + c, H, W)
        out = self.net(given)                                          # (N, 2D) or (N, 2C, H, W) (or 1× additive)
        if not self.affine:
            return torch.zeros_like(out), out
        raw, t = out.chunk(2, dim=1)                                   # two (N, D) or (N, C, H, W)
        return self.scale * torch.tanh(raw), t

    def forward(self, x, context=None):
        _check_event(x, self.shape, "x", type(self).__name__)
        m = self.mask
        log_s, t = self._conditioner(m * x, context)
        log_s, t = (1 - m) * log_s, (1 - m) * t                       # the given half passes unchanged
        z = m * x + (1 - m) * (x * log_s.exp() + t)
        return z, _sum_per_example(log_s)

    def inverse(self, z, context=None):
        _check_event(z, self.shape, "z", type(self).__name__)
        m = self.mask
        log_s, t = self._conditioner(m * z, context)
        log_s, t = (1 - m) * log_s, (1 - m) * t
        x = m * z + (1 - m) * ((z - t) * torch.exp(-log_s))
        return x, -_sum_per_example(log_s)


class AffineCoupling(Coupling):
    """RealNVP's affine coupling: `Coupling(mask, hidden, affine=True, context_dim)`."""

    def __init__(self, mask: torch.Tensor, hidden: int = 64, context_dim: int = 0):
        super().__init__(mask, hidden, affine=True, context_dim=context_dim)


class AdditiveCoupling(Coupling):
    """NICE's additive coupling, z = m ⊙ x + (1 − m) ⊙ (x + t(m ⊙ x)): volume-preserving, log-det 0."""

    def __init__(self, mask: torch.Tensor, hidden: int = 64, context_dim: int = 0):
        super().__init__(mask, hidden, affine=False, context_dim=context_dim)


# --- mixing the dimensions ------------------------------------------------------------------

class Permutation(Flow):
    """z = x[..., π] over the features (vectors, (N, D)) or the channels (images, (N, C, H, W)):
    `kind="reverse"` (π = D−1, …, 0) or `"random"` (drawn from `seed`). log-det 0."""

    def __init__(self, size: int, kind: str = "reverse", seed: int = 0):
        super().__init__()
        if kind not in ("reverse", "random"):
            raise ValueError(f"kind must be 'reverse' or 'random', got {kind!r}")
        g = torch.Generator(device="cpu").manual_seed(seed)
        perm = (torch.arange(size - 1, -1, -1, device="cpu") if kind == "reverse"
                else torch.randperm(size, generator=g, device="cpu"))
        self.size, self.kind = size, kind
        self.register_buffer("perm", torch.empty(size, dtype=torch.long))
        self.register_buffer("inverse_perm", torch.empty(size, dtype=torch.long))
        _copy_from_cpu(self.perm, perm)
        _copy_from_cpu(self.inverse_perm, torch.argsort(perm))

    def _check(self, x, name):
        if x.dim() not in (2, 4) or x.shape[1] != self.size:
            raise ValueError(f"Permutation({self.size}) expects {name} of shape (N, {self.size}) or "
                             f"(N, {self.size}, H, W), got {tuple(x.shape)}")

    def forward(self, x, context=None):
        self._check(x, "x")
        return x[:, self.perm], x.new_zeros(x.shape[0])

    def inverse(self, z, context=None):
        self._check(z, "z")
        return z[:, self.inverse_perm], z.new_zeros(z.shape[0])


class ActNorm(Flow):
    """Glow's activation normalisation, per channel c: z = (x + b_c) · exp(log s_c),
    log-det = (H·W) Σ_c log s_c (vectors (N, D): one channel per feature, H·W = 1).

    Data-dependent initialisation: on the first `forward` (training or not) b_c = −mean_c and
    log s_c = −log std_c over that batch (and the pixels), so z has zero mean and unit variance
    per channel; `initialized` (a buffer, saved with the weights) records that it happened. A
    channel with std < `min_std` (constant, like the digits' always-zero border pixels) gets
    log s_c = 0: it is centred but not divided by ~0, so no inf and no NaN."""

    def __init__(self, channels: int, min_std: float = 1e-3):
        super().__init__()
        self.channels, self.min_std = channels, float(min_std)
        self.shift = nn.Parameter(torch.zeros(channels))       # b
        self.log_scale = nn.Parameter(torch.zeros(channels))   # log s
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    def _view(self, p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return p.view(1, -1, 1, 1) if x.dim() == 4 else p.view(1, -1)   # (1, C, 1, 1) or (1, D)

    def _check(self, x, name):
        if x.dim() not in (2, 4) or x.shape[1] != self.channels:
            raise ValueError(f"ActNorm({self.channels}) expects {name} of shape (N, {self.channels}) or "
                             f"(N, {self.channels}, H, W), got {tuple(x.shape)}")

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Set b and log s from the batch x (zero mean, unit variance per channel)."""
        per_channel = x.transpose(0, 1).reshape(self.channels, -1)      # (C, N·H·W)
        mean, std = per_channel.mean(1), per_channel.std(1, unbiased=False)
        self.shift.copy_(-mean)
        self.log_scale.copy_(torch.where(std > self.min_std, -torch.log(std.clamp_min(self.min_std)),
                                         torch.zeros_like(std)))
        self.initialized.fill_(True)

    def forward(self, x, context=None):
        self._check(x, "x")
        if x.device.type != "meta" and not bool(self.initialized):   # a meta tensor has no values to read
            self.initialize(x.detach())
        pixels = x[0, 0].numel()                                        # H·W (1 for vectors)
        z = (x + self._view(self.shift, x)) * self._view(self.log_scale, x).exp()
        return z, (pixels * self.log_scale.sum()).expand(x.shape[0])

    def inverse(self, z, context=None):
        self._check(z, "z")
        pixels = z[0, 0].numel()
        x = z * self._view(-self.log_scale, z).exp() - self._view(self.shift, z)
        return x, (-pixels * self.log_scale.sum()).expand(z.shape[0])


class InvertibleConv1x1(Flow):
    """Glow's invertible 1×1 convolution: every pixel's channels mixed by one C×C matrix W, with

        W = P L (U + diag(s))       P a fixed permutation, L unit lower-triangular,
                                     U strictly upper-triangular, s the diagonal (sign fixed)
        log |det ∂z/∂x| = H·W·Σ_i log |s_i|                  (O(C), not the O(C³) of slogdet(W))

    Initialised from a random rotation (the LU factors of a QR's Q, computed on the CPU). Seed 000
    writes W = P(L + diag(s)) and drops U: that W is lower-triangular up to P, a much smaller family.
    Works on images (N, C, H, W) and vectors (N, C)."""

    def __init__(self, channels: int):
        super().__init__()
        C = self.channels = channels
        q, _ = torch.linalg.qr(torch.randn(C, C, device="cpu"))          # a random rotation
        P, L, U = torch.linalg.lu(q)
        s = torch.diagonal(U)
        self.register_buffer("P", torch.empty(C, C))
        self.register_buffer("sign_s", torch.empty(C))
        self.register_buffer("lower_mask", torch.empty(C, C))
        self.lower = nn.Parameter(torch.empty(C, C))                    # L below the diagonal
        self.upper = nn.Parameter(torch.empty(C, C))                    # U above the diagonal
        self.log_abs_s = nn.Parameter(torch.empty(C))                   # log |s|
        _copy_from_cpu(self.P, P)
        _copy_from_cpu(self.sign_s, torch.sign(s))
        _copy_from_cpu(self.lower_mask, torch.tril(torch.ones(C, C, device="cpu"), -1))
        _copy_from_cpu(self.lower, L)
        _copy_from_cpu(self.upper, torch.triu(U, 1))
        _copy_from_cpu(self.log_abs_s, s.abs().log())

    def weight(self) -> torch.Tensor:
        """W = P L (U + diag(s)), (C, C)."""
        eye = torch.eye(self.channels, device=self.lower.device, dtype=self.lower.dtype)
        L = self.lower * self.lower_mask + eye                                  # unit lower-triangular
        U = self.upper * self.lower_mask.T + torch.diag(self.sign_s * self.log_abs_s.exp())   # U + diag(s)
        return self.P @ L @ U

    def _check(self, x, name):
        if x.dim() not in (2, 4) or x.shape[1] != self.channels:
            raise ValueError(f"InvertibleConv1x1({self.channels}) expects {name} of shape (N, {self.channels}) "
                             f"or (N, {self.channels}, H, W), got {tuple(x.shape)}")

    def _mix(self, x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return x @ W.T                                                      # z_n = W x_n
        return F.conv2d(x, W[:, :, None, None])                                 # (N, C, H, W), W as (C, C, 1, 1)

    def forward(self, x, context=None):
        self._check(x, "x")
        pixels = x[0, 0].numel()
        return self._mix(x, self.weight()), (pixels * self.log_abs_s.sum()).expand(x.shape[0])

    def inverse(self, z, context=None):
        self._check(z, "z")
        pixels = z[0, 0].numel()
        return self._mix(z, torch.linalg.inv(self.weight())), (-pixels * self.log_abs_s.sum()).expand(z.shape[0])


# --- reshaping: squeeze and the multi-scale split ---------------------------------------------

class Squeeze(Flow):
    """(N, C, H, W) → (N, 4C, H/2, W/2): each 2×2 patch of a channel becomes 4 channels. A
    permutation of the entries, so log-det 0. H and W must be even."""

    def forward(self, x, context=None):
        if x.dim() != 4 or x.shape[2] % 2 or x.shape[3] % 2:
            raise ValueError(f"Squeeze expects x of shape (N, C, H, W) with H and W even, got {tuple(x.shape)}")
        N, C, H, W = x.shape
        x = x.reshape(N, C, H // 2, 2, W // 2, 2)                # (N, C, H/2, 2, W/2, 2)
        x = x.permute(0, 1, 3, 5, 2, 4)                          # (N, C, 2, 2, H/2, W/2)
        return x.reshape(N, 4 * C, H // 2, W // 2), x.new_zeros(N)   # (N, 4C, H/2, W/2)

    def inverse(self, z, context=None):
        if z.dim() != 4 or z.shape[1] % 4:
            raise ValueError(f"Squeeze.inverse expects z of shape (N, 4C, H, W), got {tuple(z.shape)}")
        N, C4, H, W = z.shape
        z = z.reshape(N, C4 // 4, 2, 2, H, W)                    # (N, C, 2, 2, H, W)
        z = z.permute(0, 1, 4, 2, 5, 3)                          # (N, C, H, 2, W, 2)
        return z.reshape(N, C4 // 4, 2 * H, 2 * W), z.new_zeros(N)   # (N, C, 2H, 2W)


class FactorOut(Flow):
    """The multi-scale split (RealNVP §3.6): the first `keep` channels leave as latents here, the
    rest go through `inner` (a flow on (C − keep) channels), and z = cat(kept, inner(rest)). The
    base density is over all of z, so factoring out is the same as sending those channels straight
    to the base: a flow on the whole tensor, with inner's log-det."""

    def __init__(self, keep: int, inner: Flow):
        super().__init__()
        if not isinstance(inner, Flow):
            raise TypeError(f"inner must be a Flow, got {type(inner).__name__}")
        self.keep, self.inner = keep, inner

    def forward(self, x, context=None):
        if x.dim() < 2 or x.shape[1] <= self.keep:
            raise ValueError(f"FactorOut(keep={self.keep}) needs more than {self.keep} channels, got {tuple(x.shape)}")
        kept, rest = x[:, :self.keep], x[:, self.keep:]          # (N, keep, ...), (N, C − keep, ...)
        rest, log_det = self.inner(rest, context)
        return torch.cat([kept, rest], dim=1), log_det

    def inverse(self, z, context=None):
        kept, rest = z[:, :self.keep], z[:, self.keep:]
        rest, log_det = self.inner.inverse(rest, context)
        return torch.cat([kept, rest], dim=1), log_det


# --- base densities ---------------------------------------------------------------------------

class Base(nn.Module):
    """A fully factorised base density over `shape`: `log_prob(z)` (N,) summed over the dimensions,
    `sample(n, temperature)` (n, *shape) on the base's device and dtype (buffers `loc`, `log_scale`:
    a location and scale that `.to()` moves; the standard densities keep them at 0)."""

    def __init__(self, shape: Sequence[int]):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        self.register_buffer("loc", torch.zeros(self.shape))
        self.register_buffer("log_scale", torch.zeros(self.shape))

    def _standard_log_prob(self, e: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _standard_sample(self, shape, generator) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) = Σ_d [log p₀((z_d − loc_d)/σ_d) − log σ_d], (N,)."""
        _check_event(z, self.shape, "z", type(self).__name__)
        e = (z - self.loc) * torch.exp(-self.log_scale)
        return _sum_per_example(self._standard_log_prob(e) - self.log_scale)

    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws of loc + T·σ·ε, ε from the standard density (T = `temperature`; T < 1 gives
        more typical, smoother samples, T = 0 the mode)."""
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        e = self._standard_sample((n, *self.shape), generator)
        return self.loc + temperature * self.log_scale.exp() * e


class StandardNormal(Base):
    """N(0, I): log p(z) = −½ Σ_d (log 2π + z_d²)."""

    def _standard_log_prob(self, e):
        return -0.5 * (math.log(2 * math.pi) + e * e)

    def _standard_sample(self, shape, generator):
        return randn(shape, device=self.loc.device, dtype=self.loc.dtype, generator=generator)


class StandardLogistic(Base):
    """The standard logistic, log p(z) = −z − 2 log(1 + e^{−z}) per dimension: heavier tails than
    the Gaussian (NICE's base for images). Sampled as logit(u), u ~ U(0, 1)."""

    def _standard_log_prob(self, e):
        return -e - 2 * F.softplus(-e)

    def _standard_sample(self, shape, generator):
        u = rand(shape, device=self.loc.device, dtype=self.loc.dtype, generator=generator)
        u = u.clamp(torch.finfo(u.dtype).tiny, 1 - torch.finfo(u.dtype).eps)
        return torch.log(u) - torch.log1p(-u)                   # logit(u)
