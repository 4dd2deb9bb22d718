"""NADE, the neural autoregressive density estimator (Larochelle & Murray, 2011): one hidden layer shared by all pixels.

    h_d = σ(b + W_{·,<d} x̃_<d)             (the seeds' h_i = σ(b + W_{·,<i} x_<i))
    ℓ_d = c_d + V_d h_d                      p(x_d | x_<d) = Cat(softmax(ℓ_d))          (raster order)

W (H, D, E) is shared: the pre-activation of pixel d + 1 is that of pixel d plus one column,

    a_1 = b,   a_{d+1} = a_d + W_{·,d} x̃_d,   h_d = σ(a_d)

so all D conditionals cost O(H·D·E) (O(TD) in the seeds' words) instead of the O(H·D²·E) of D
separate networks. `logits_explicit` runs that recursion as a loop, one pixel at a time;
`conditional_logits` (used for training) computes every a_d at once as an exclusive cumulative
sum; `tests/test_autoregressive.py` checks that they agree. V (D, K, H) and c (D, K) give each
pixel its own K-way output layer.

    model = NADE(hidden=128)                            # 8×8 digits, 17 levels
    model = NADE(shape=(1, 3, 3), levels=2, hidden=4)   # binary 3×3 images
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .autoregressive import Autoregressive, AutoregressiveConfig, _check_config
from .layers import ACTIVATIONS

__all__ = ["NADEConfig", "NADE"]

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, **ACTIVATIONS}


@dataclass
class NADEConfig(AutoregressiveConfig):
    """A NADE: the data (`shape`, `levels` K, `inputs`: "scaled" by default, x̃_d = x_d / (K − 1) as in the seeds;
    with "one_hot", a_{d+1} = a_d + W_{·,d,x_d} adds the column of pixel d's level, K times the weights, which
    overfit the 1000 training digits), `hidden` units H and their `activation` σ ("sigmoid", as in the paper
    and the seeds, or any of layers.ACTIVATIONS)."""

    hidden: int = 128
    activation: str = "sigmoid"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.hidden, int) or isinstance(self.hidden, bool) or self.hidden < 1:
            raise ValueError(f"hidden (H, the hidden units) must be a positive int, got {self.hidden!r}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(_ACTIVATIONS)}, got {self.activation!r}")


class NADE(Autoregressive):
    """NADE with a categorical output per pixel; exact likelihood. `NADE(config)` or `NADE(**fields of NADEConfig)`."""

    def __init__(self, config: NADEConfig | None = None, **fields):
        super().__init__()
        self.config = c = _check_config(config, fields, NADEConfig)
        D, K, E, H = c.dims, c.levels, c.features, c.hidden
        self.W = nn.Parameter(torch.empty(H, D, E))   # column W_{·,d} (H, E): what pixel d adds to a_{d+1}
        self.b = nn.Parameter(torch.empty(H))         # a_1 = b: the hidden pre-activation of the first pixel
        self.V = nn.Parameter(torch.empty(D, K, H))   # V_d (K, H): pixel d's output layer
        self.c = nn.Parameter(torch.empty(D, K))      # c_d (K,)
        self.sigma = _ACTIVATIONS[c.activation]()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform(±1/√fan_in) as nn.Linear draws them: fan-in D·E for W, H for V; zero biases."""
        with torch.no_grad():
            bound_W, bound_V = 1 / math.sqrt(self.W.shape[1] * self.W.shape[2]), 1 / math.sqrt(self.V.shape[2])
            self.W.uniform_(-bound_W, bound_W)
            self.V.uniform_(-bound_V, bound_V)
            self.b.zero_()
            self.c.zero_()

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())

    def _pixels(self, x_tilde: torch.Tensor) -> torch.Tensor:
        return x_tilde.flatten(2).transpose(1, 2)   # (N, E, C, H, W) → (N, E, D) → (N, D, E)

    def _image(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.transpose(1, 2).reshape(logits.shape[0], self.config.levels, *self.config.shape)  # (N, D, K) → (N, K, C, H, W)

    def logits_explicit(self, x_tilde: torch.Tensor) -> torch.Tensor:
        """The O(TD) recursion, one pixel at a time: a_1 = b; h_d = σ(a_d), ℓ_d = c_d + V_d h_d;
        a_{d+1} = a_d + W_{·,d} x̃_d. (N, E, C, H, W) → (N, K, C, H, W)."""
        x_pixels = self._pixels(x_tilde)                              # (N, D, E)
        a = self.b.expand(x_pixels.shape[0], -1)                      # a_1 = b, (N, H)
        logits = []
        for d in range(self.config.dims):
            h_d = self.sigma(a)                                       # h_d = σ(a_d), (N, H)
            logits.append(self.c[d] + h_d @ self.V[d].T)              # ℓ_d = c_d + V_d h_d, (N, K)
            a = a + x_pixels[:, d] @ self.W[:, d].T                   # a_{d+1} = a_d + W_{·,d} x̃_d, (N, H)
        return self._image(torch.stack(logits, 1))                    # (N, D, K) → (N, K, C, H, W)

    def conditional_logits(self, x_tilde: torch.Tensor) -> torch.Tensor:
        """The same logits with every a_d at once: a_d = b + Σ_{j<d} W_{·,j} x̃_j, an exclusive cumulative sum."""
        x_pixels = self._pixels(x_tilde)                              # (N, D, E)
        added = torch.einsum("nde,hde->ndh", x_pixels, self.W)        # W_{·,j} x̃_j for every j, (N, D, H)
        before = torch.cat([torch.zeros_like(added[:, :1]), added[:, :-1]], 1)  # shifted one pixel on, (N, D, H)
        a = self.b + before.cumsum(1)                                 # a_d = b + Σ_{j<d} W_{·,j} x̃_j, (N, D, H)
        h = self.sigma(a)                                             # (N, D, H)
        logits = torch.einsum("ndh,dkh->ndk", h, self.V) + self.c     # ℓ_d = c_d + V_d h_d, (N, D, K)
        return self._image(logits)
