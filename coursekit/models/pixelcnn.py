"""PixelCNN with masked convolutions (van den Oord, Kalchbrenner & Kavukcuoglu, 2016): the conditionals by a conv net.

    ℓ_{ij} = f_θ(x̃_{<(i,j)})      p(x_{ij} | x_{<(i,j)}) = Cat(softmax(ℓ_{ij}))      (raster order: row by row)

One network computes every ℓ_{ij} at once (teacher forcing), with weights shared across positions,
because every convolution is masked (`layers.MaskedConv2d`, y = conv(x, W ⊙ M) + b):

    h⁰ = ReLU(conv_{k×k}^A(x̃))                            mask A: rows above, and left of the centre; not x̃_{ij}
    hˡ = hˡ⁻¹ + 1×1(ReLU(3×3^B(ReLU(1×1(ReLU(hˡ⁻¹))))))  l = 1..L, the paper's residual block; mask B: the centre too
    ℓ  = 1×1^B(ReLU(1×1^B(ReLU(h^L))))                    K logits per pixel

Mask A in the first layer keeps x̃_{ij} out of ℓ_{ij}; mask B after it lets a feature at (i, j) use the
features already computed there (they depend on x̃_{<(i,j)} only). Stacking masked 3×3 convolutions
grows the receptive field upwards and to the left, but not up and to the right fast enough: some pixels
before (i, j) are never seen, however deep the stack (the **blind spot**; `receptive_field` shows it by
autograd, and the gated PixelCNN's two stacks remove it).

Grey images only (C = 1): colour needs the R → G → B ordering within a pixel, i.e. masks per channel
group, which this model does not build.

    model = PixelCNN()                                                # 8×8 digits, 17 levels
    model = PixelCNN(shape=(1, 3, 3), levels=2, channels=8, layers=1)   # binary 3×3 images
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .autoregressive import Autoregressive, AutoregressiveConfig, _check_config
from .layers import MaskedConv2d

__all__ = ["PixelCNNConfig", "PixelCNN", "receptive_field"]


def _positive_int(value, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")


@dataclass
class PixelCNNConfig(AutoregressiveConfig):
    """A PixelCNN: the data (`shape` (1, H, W): grey only; `levels` K; `inputs` "scaled" or "one_hot"),
    `channels` h of the hidden feature maps, `layers` L residual blocks of masked 3×3 (`kernel`) convolutions
    after one mask-A `first_kernel` × `first_kernel` convolution, and `head` channels of the 1×1 output layer.

    On the 1000 training digits the default (62k parameters) reached 1.873 test bits/dim in 24 s (seed 0, two
    threads; 1.877 in 30 s on one), 32 channels 1.903: benchmarks/ar_bits_per_dim.py --models pixelcnn pixelcnn-32."""

    channels: int = 64
    layers: int = 4
    first_kernel: int = 7
    kernel: int = 3
    head: int = 64

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.shape[0] != 1:
            raise ValueError(f"PixelCNN models grey images only, shape (1, H, W); got shape {self.shape} with "
                             f"C = {self.shape[0]} channels. Colour needs the R → G → B ordering within a pixel "
                             f"(masks per channel group), which is left for later")
        for name in ("channels", "head"):
            _positive_int(getattr(self, name), name)
        if not isinstance(self.layers, int) or isinstance(self.layers, bool) or self.layers < 0:
            raise ValueError(f"layers (L, the residual blocks after the mask-A layer) must be an int >= 0, "
                             f"got {self.layers!r}")
        for name in ("first_kernel", "kernel"):
            k = getattr(self, name)
            if not isinstance(k, int) or isinstance(k, bool) or k < 1 or k % 2 == 0:
                raise ValueError(f"{name} must be an odd positive int (the mask needs a centre pixel), got {k!r}")


class ResidualBlock(nn.Module):
    """The paper's residual block on h (N, h, H, W): h + 1×1(ReLU(k×k^B(ReLU(1×1(ReLU(h)))))), with the
    middle convolution masked (type B) and the 1×1 convolutions halving and restoring the channels."""

    def __init__(self, channels: int, kernel: int):
        super().__init__()
        inner = max(channels // 2, 1)
        self.reduce = MaskedConv2d(channels, inner, 1, mask_type="B")      # a 1×1 mask B is no mask at all
        self.conv = MaskedConv2d(inner, inner, kernel, mask_type="B")
        self.expand = MaskedConv2d(inner, channels, 1, mask_type="B")
        self.relu = nn.ReLU()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        r = self.reduce(self.relu(h))                 # (N, h/2, H, W)
        r = self.conv(self.relu(r))                   # (N, h/2, H, W), sees the rows above and the left only
        return h + self.expand(self.relu(r))          # (N, h, H, W)


class PixelCNN(Autoregressive):
    """PixelCNN with mask A then mask B convolutions, a categorical over K levels per pixel; exact likelihood.

    `PixelCNN(config)` or `PixelCNN(**fields of PixelCNNConfig)`."""

    def __init__(self, config: PixelCNNConfig | None = None, **fields):
        super().__init__()
        self.config = c = _check_config(config, fields, PixelCNNConfig)
        E, K = c.features, c.levels
        self.conv_A = MaskedConv2d(E, c.channels, c.first_kernel, mask_type="A")   # h⁰: x̃_{ij} never seen
        self.blocks = nn.Sequential(*(ResidualBlock(c.channels, c.kernel) for _ in range(c.layers)))
        self.head = nn.Sequential(nn.ReLU(), MaskedConv2d(c.channels, c.head, 1, mask_type="B"), nn.ReLU(),
                                  MaskedConv2d(c.head, K, 1, mask_type="B"))     # K logits per pixel
        self.relu = nn.ReLU()

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())

    def conditional_logits(self, x_tilde: torch.Tensor) -> torch.Tensor:
        """ℓ (N, K, 1, H, W) from x̃ (N, E, 1, H, W): mask A, L residual mask-B blocks, a 1×1 head."""
        h = self.relu(self.conv_A(x_tilde.squeeze(2)))   # (N, E, 1, H, W) → (N, E, H, W) → h⁰ (N, h, H, W)
        h = self.blocks(h)                               # h^L (N, h, H, W)
        return self.head(h).unsqueeze(2)                 # (N, K, H, W) → (N, K, 1, H, W)


def receptive_field(model: Autoregressive, position: tuple[int, int] | int, x: torch.Tensor | None = None,
                    n: int = 8, seed: int = 0) -> torch.Tensor:
    """Which input pixels the logits ℓ at `position` depend on, found by autograd: (H, W) bool, True where
    ∂ℓ_{position} / ∂x̃_{ij} ≠ 0 for some example and feature.

    `position` is (i, j) or the flat raster index i·W + j (grey images, C = 1). The gradient is taken at
    `x` (N, 1, H, W) levels, or at `n` random images drawn from `seed`; a ReLU that is off for every example
    hides its paths, so a few random images are used rather than one. For a PixelCNN the result is False at
    and after `position` in raster order (the autoregressive property) and also False on the blind spot, some
    pixels up and to the right that no stack of masked convolutions reaches."""
    C, H, W = model.config.shape
    if C != 1:
        raise ValueError(f"receptive_field works on grey images, shape (1, H, W); the model's is {model.config.shape}")
    i, j = divmod(position, W) if isinstance(position, int) else position
    if not (0 <= i < H and 0 <= j < W):
        raise ValueError(f"position must be in the {H}×{W} image (row 0..{H - 1}, column 0..{W - 1}), got {position!r}")
    if x is None:
        generator = torch.Generator(device="cpu").manual_seed(seed)
        x = torch.randint(0, model.config.levels, (n, 1, H, W), generator=generator).to(model.device)
    x_tilde = model.input_features(model._check_x(x)).detach().requires_grad_(True)  # (N, E, 1, H, W)
    logits = model.conditional_logits(x_tilde)                                        # (N, K, 1, H, W)
    (grad,) = torch.autograd.grad(logits[:, :, 0, i, j].sum(), x_tilde)              # (N, E, 1, H, W)
    return grad.abs().sum((0, 1, 2)) != 0                                             # (H, W)
