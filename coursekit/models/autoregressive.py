"""What every pixel-by-pixel model shares: the chain rule, its exact likelihood, the naive sampler and completion.

    p(x) = Π_{t=1}^{D} p(x_{o(t)} | x_{o(1)}, …, x_{o(t−1)})          (the chain rule in the ordering o)
    p(x_d | x_<d) = Cat(x_d | softmax(ℓ_d)),  ℓ_d ∈ ℝ^K                 (K grey levels per dimension)
    log p(x) = Σ_d log softmax(ℓ_d)_{x_d}                                 (exact, one forward pass)

A subclass says how the logits ℓ are computed from the earlier dimensions; this base class
turns them into the likelihood, the loss, samples and completions (the layout of
pytorch-generative, whose base class owns the sampling loop). What a subclass provides:

- `conditional_logits(x̃) -> (N, K, C, H, W)`: the logits ℓ_d of every dimension d from the
  input features x̃ (N, E, C, H, W) (below), where ℓ_d may depend on the features of the
  dimensions that come *before* d in `sampling_order` only (the autoregressive property:
  ∂ℓ_d / ∂x̃_j = 0 unless j comes before d; `tests/test_autoregressive.py` checks it);
- optionally `sampling_order` (default: raster order, the flat index of (C, H, W)), and
  `input_features(x)` (default from `inputs`: "scaled", x̃ = x / (K − 1) with E = 1, or
  "one_hot", x̃ = one_hot(x) with E = K).

Training is parallel ("teacher forcing": every ℓ_d from the true earlier pixels in one pass);
sampling is sequential, one full forward pass per dimension (`sample`, `complete`): D passes
for D pixels, which is what makes autoregressive sampling slow.

Random draws use the Gumbel-max trick: x_d = argmax_k (ℓ_{d,k} / T + g_{d,k}), g = −log(−log u),
u ~ U(0, 1), with all the noise (n, D, K) drawn up front by the package's rule, so a seeded
generator gives the same images on every device. T → 0 gives the argmax of ℓ_d at every step
(`temperature=0` is that greedy decoding); T = 1 samples the model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from ..utils import check_images, rand
from .base import GenerativeModel, ImagesFromConfig, batch_images
from .base import config_from as _check_config  # the name the family files import from here

__all__ = ["Autoregressive", "AutoregressiveConfig", "INPUTS"]

INPUTS = ("scaled", "one_hot")
"""How the earlier pixels reach the network: "scaled", x̃_d = x_d / (K − 1) (one number per pixel, E = 1);
"one_hot", x̃_d = one_hot(x_d) (K numbers per pixel, E = K)."""


@dataclass
class AutoregressiveConfig:
    """What every pixel model's configuration holds: the data (`shape` (C, H, W), `levels` K) and how the
    earlier pixels are fed to the network (`inputs`, one of INPUTS)."""

    shape: tuple[int, int, int] = (1, 8, 8)
    levels: int = 17
    inputs: Literal["scaled", "one_hot"] = "scaled"

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise ValueError(f"shape must be (C, H, W) with positive sizes, got {self.shape}")
        if not isinstance(self.levels, int) or isinstance(self.levels, bool) or self.levels < 2:
            raise ValueError(f"levels (K, the grey levels per pixel) must be an int >= 2, got {self.levels!r}")
        if self.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {INPUTS}, got {self.inputs!r}")

    @property
    def dims(self) -> int:
        """D = C·H·W, the number of conditionals in the chain rule (the denominator of bits/dim)."""
        return math.prod(self.shape)

    @property
    def features(self) -> int:
        """E, the input features per pixel: 1 ("scaled") or K ("one_hot")."""
        return 1 if self.inputs == "scaled" else self.levels


class Autoregressive(ImagesFromConfig, GenerativeModel, abstract=True):
    """Base class of the pixel-by-pixel models (FVSBN, NADE, MADE, ...): a categorical over K levels per
    dimension, exact `log_prob`, `loss`, the naive sampler `sample` and `complete`. Subclasses set
    `self.config` (an AutoregressiveConfig) and implement `conditional_logits` (module docstring)."""

    likelihood = "exact"
    config: AutoregressiveConfig

    # -- the data ----------------------------------------------------------------------------

    @property
    def sampling_order(self) -> torch.Tensor:
        """o: the flat indices of (C, H, W) in the order the chain rule visits them, (D,) long on the CPU.
        Raster order (0, 1, …, D − 1) unless the model says otherwise."""
        return torch.arange(self.config.dims, device="cpu")

    def _check_x(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        """x as int64 levels (N, C, H, W), after checking its shape and levels (int64 or integer-valued floats)."""
        check_images(x, self.config.shape, levels=self.config.levels, name=name)
        return x.long()

    def _float_dtype(self) -> torch.dtype:
        return next((t.dtype for t in (*self.parameters(), *self.buffers()) if t.is_floating_point()),
                    torch.get_default_dtype())

    # -- the network: x → x̃ → ℓ --------------------------------------------------------------

    def input_features(self, x: torch.Tensor) -> torch.Tensor:
        """x̃ (N, E, C, H, W) in the model's float dtype from int64 levels x (N, C, H, W): x / (K − 1)
        ("scaled", E = 1) or one_hot(x) ("one_hot", E = K)."""
        dtype, K = self._float_dtype(), self.config.levels
        if self.config.inputs == "scaled":
            return (x.to(dtype) / (K - 1)).unsqueeze(1)                 # (N, 1, C, H, W)
        return F.one_hot(x, K).to(dtype).permute(0, 4, 1, 2, 3)         # (N, C, H, W, K) → (N, K, C, H, W)

    def conditional_logits(self, x_tilde: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """ℓ (N, K, C, H, W) from x̃ (N, E, C, H, W); ℓ_d may depend on x̃_j for j before d in the ordering only."""
        raise NotImplementedError(f"{type(self).__name__} must implement conditional_logits(x_tilde)")

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """ℓ (N, K, C, H, W): the logits of p(x_d | x_<d) for every d, all in one pass (teacher forcing)."""
        x = self._check_x(x)
        out = self.conditional_logits(self.input_features(x))
        expected = (x.shape[0], self.config.levels, *self.config.shape)
        if tuple(out.shape) != expected:
            raise RuntimeError(f"{type(self).__name__}.conditional_logits must return (N, K, C, H, W) = {expected}, "
                               f"got {tuple(out.shape)}")
        return out

    # -- the likelihood and the loss ------------------------------------------------------------

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) = Σ_d log softmax(ℓ_d)_{x_d} in nats, (N,): exact, by the chain rule."""
        x = self._check_x(x)
        log_p = -F.cross_entropy(self.logits(x), x, reduction="none")   # log p(x_d | x_<d), (N, C, H, W)
        return log_p.flatten(1).sum(1)                                    # (N, D) → (N,)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """The mean negative log-likelihood per example in nats ("loss" = "nll"), and the same in bits/dim."""
        nll = -self.log_prob(batch_images(batch)).mean()
        return {"loss": nll, "nll": nll, "bits_per_dim": nll / (self.config.dims * math.log(2))}

    # -- sampling: one full forward pass per dimension -------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images (n, C, H, W) (int64 levels; 0./1. in the model's float dtype when K = 2), drawn one dimension at a time in `sampling_order`:
        x_{o(t)} ~ Cat(softmax(ℓ_{o(t)}(x_{o(<t)}) / T)). `temperature=0` takes the argmax at every step."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n (the number of samples) must be a positive int, got {n!r}")
        x = torch.zeros(n, *self.config.shape, dtype=torch.long, device=self.device)
        known = torch.zeros_like(x, dtype=torch.bool)
        return self._fill(x, known, temperature, generator)

    @torch.no_grad()
    def complete(self, x: torch.Tensor, known_mask: torch.Tensor, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Image completion: keep x where `known_mask` (bool, (N, C, H, W) or (C, H, W)) is True, and draw the
        other dimensions in `sampling_order`, each from p(x_d | x_<d) given what is known or drawn before it.

        The conditionals see the dimensions *before* d only, so a known pixel later in the ordering does not
        inform earlier draws: the completion is exact p(unknown | known) when the known pixels come first
        (the top rows in raster order)."""
        x, known = self._completion_inputs(x, known_mask)
        return self._fill(x.clone(), known, temperature, generator)

    def _completion_inputs(self, x: torch.Tensor, known_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x as int64 levels on the model's device and `known_mask` expanded to x's shape (N, C, H, W), after
        checking both: what every completion (naive or cached) starts from."""
        x = self._check_x(x).to(self.device)
        if not isinstance(known_mask, torch.Tensor) or known_mask.dtype != torch.bool:
            raise TypeError(f"known_mask must be a bool tensor of shape (N, C, H, W) or (C, H, W), got "
                            f"{type(known_mask).__name__} {getattr(known_mask, 'dtype', '')}")
        if tuple(known_mask.shape) not in (tuple(x.shape), tuple(x.shape[1:])):
            raise ValueError(f"known_mask must have shape {tuple(x.shape)} or {tuple(x.shape[1:])} (like x), "
                             f"got {tuple(known_mask.shape)}")
        return x, known_mask.to(self.device).expand_as(x)

    def _sampling_noise(self, n: int, temperature: float, device: torch.device,
                        generator: torch.Generator | None) -> torch.Tensor | None:
        """All the Gumbel noise of n draws, up front: g = −log(−log u), u ~ U(0, 1), (n, D, K) in the model's float
        dtype, g[:, d] for dimension d (flat index of (C, H, W)); None at temperature 0 (the argmax needs none).
        Every sampler of a model (naive or cached) draws it here, so a seeded generator gives the same images."""
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not temperature >= 0:
            raise ValueError(f"temperature must be a number >= 0 (1 samples the model, 0 takes the argmax), "
                             f"got {temperature!r}")
        if temperature == 0:
            return None
        dtype = self._float_dtype()
        u = rand((n, self.config.dims, self.config.levels), device=device, dtype=dtype, generator=generator)
        return -torch.log(-torch.log(u.clamp_min(torch.finfo(dtype).tiny)))         # g = −log(−log u), (n, D, K)

    def _fill(self, x: torch.Tensor, known: torch.Tensor, temperature: float,
              generator: torch.Generator | None) -> torch.Tensor:
        """The naive sampler: for t = 1..D, one full forward pass, then x_{o(t)} = argmax(ℓ/T + g) where unknown."""
        gumbel = self._sampling_noise(x.shape[0], temperature, x.device, generator)  # (n, D, K), None at T = 0
        n, D, K = x.shape[0], self.config.dims, self.config.levels
        dtype = self._float_dtype()
        flat, known_flat = x.view(n, D), known.reshape(n, D)                       # (N, C, H, W) → (N, D) views
        check_values = x.device.type != "meta"
        for d in self.sampling_order.tolist():
            if check_values and bool(known_flat[:, d].all()):
                continue                                                           # nothing to draw here
            logits_d = self.logits(x).flatten(2)[:, :, d]                          # (N, K, C, H, W) → (N, K, D) → (N, K)
            scores = logits_d / temperature + gumbel[:, d] if temperature > 0 else logits_d
            flat[:, d] = torch.where(known_flat[:, d], flat[:, d], scores.argmax(1))
        return x.to(dtype) if K == 2 else x      # base.py's convention: 0./1. floats for binary data, else int64
