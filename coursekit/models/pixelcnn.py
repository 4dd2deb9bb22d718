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
autograd, and the gated PixelCNN's two stacks, `gated_pixelcnn.py`, remove it).

Colour (C = 3, the paper's §3.4): the chain rule runs pixel-major, R then G then B within a pixel,

    p(x) = Π_{ij} p(x_{ij,R} | x_{<(i,j)}) · p(x_{ij,G} | x_{<(i,j)}, x_{ij,R}) · p(x_{ij,B} | x_{<(i,j)}, x_{ij,R}, x_{ij,G}),

so every channel of the network belongs to one colour group (`layers.MaskedConv2d(channel_groups=C)`,
channel k to group k mod C) and the centre tap of each mask lets group c see groups < c (mask A) or
≤ c (mask B) of the same pixel; the other taps see every channel. ℓ_{ij,c} then depends on every
channel of the pixels before (i, j) and on channels < c of (i, j), and `sampling_order` visits
(i, j, R), (i, j, G), (i, j, B), then the next pixel. C = 1 is the grey model, unchanged.

    model = PixelCNN()                                                # 8×8 digits, 17 levels
    model = PixelCNN(shape=(1, 3, 3), levels=2, channels=8, layers=1)   # binary 3×3 images
    model = PixelCNN(shape=(3, 8, 8), levels=4)                       # data.colour_digits(): R → G → B
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
    """A PixelCNN: the data (`shape` (C, H, W): grey for C = 1, colour R → G → B for C = 3; `levels` K per
    channel; `inputs` "scaled" or "one_hot"), `channels` h of the hidden feature maps, `layers` L residual
    blocks of masked 3×3 (`kernel`) convolutions after one mask-A `first_kernel` × `first_kernel` convolution,
    and `head` channels of the 1×1 output layer (with C > 1, channel k of each belongs to colour group k mod C).

    On the 1000 training digits the default (62k parameters) reached 1.873 test bits/dim in 24 s (seed 0, two
    threads; 1.877 in 30 s on one), 32 channels 1.903: benchmarks/ar_bits_per_dim.py --models pixelcnn pixelcnn-32.
    On `data.colour_digits()` ((3, 8, 8), 4 levels, R → G → B) the default reached 0.363 test bits/dim (seed 0,
    61 s on one shared thread), where the per-pixel floor is 0.999 and uniform 2: --colour --quick."""

    channels: int = 64
    layers: int = 4
    first_kernel: int = 7
    kernel: int = 3
    head: int = 64

    def __post_init__(self) -> None:
        super().__post_init__()
        C = self.shape[0]
        for name in ("channels", "head"):
            _positive_int(getattr(self, name), name)
            if getattr(self, name) < C:
                raise ValueError(f"{name} must be at least C = {C} (one feature per colour group, channel k in "
                                 f"group k mod C), got {getattr(self, name)}")
        if not isinstance(self.layers, int) or isinstance(self.layers, bool) or self.layers < 0:
            raise ValueError(f"layers (L, the residual blocks after the mask-A layer) must be an int >= 0, "
                             f"got {self.layers!r}")
        for name in ("first_kernel", "kernel"):
            k = getattr(self, name)
            if not isinstance(k, int) or isinstance(k, bool) or k < 1 or k % 2 == 0:
                raise ValueError(f"{name} must be an odd positive int (the mask needs a centre pixel), got {k!r}")


class ResidualBlock(nn.Module):
    """The paper's residual block on h (N, h, H, W): h + 1×1(ReLU(k×k^B(ReLU(1×1(ReLU(h)))))), with the
    middle convolution masked (type B) and the 1×1 convolutions halving and restoring the channels.
    With `colours` C > 1 every convolution keeps the colour groups (mask B at the centre tap)."""

    def __init__(self, channels: int, kernel: int, colours: int = 1):
        super().__init__()
        inner = max(channels // 2, colours)             # every colour group keeps a feature
        B = dict(mask_type="B", channel_groups=colours)   # grey: a 1×1 mask B is no mask at all
        self.reduce = MaskedConv2d(channels, inner, 1, **B)
        self.conv = MaskedConv2d(inner, inner, kernel, **B)
        self.expand = MaskedConv2d(inner, channels, 1, **B)
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
        E, K, C = c.features, c.levels, c.shape[0]
        A, B = dict(mask_type="A", channel_groups=C), dict(mask_type="B", channel_groups=C)
        self.conv_A = MaskedConv2d(E * C, c.channels, c.first_kernel, **A)   # h⁰: x̃_{ij,≥c} never seen by group c
        self.blocks = nn.Sequential(*(ResidualBlock(c.channels, c.kernel, C) for _ in range(c.layers)))
        self.head = nn.Sequential(nn.ReLU(), MaskedConv2d(c.channels, c.head, 1, **B), nn.ReLU(),
                                  MaskedConv2d(c.head, K * C, 1, **B))          # K logits per pixel and colour
        self.relu = nn.ReLU()

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())

    @property
    def sampling_order(self) -> torch.Tensor:
        """o: pixel-major, (i, j, R), (i, j, G), (i, j, B), then the next pixel in raster order: the flat indices
        c·H·W + i·W + j of (C, H, W), (D,) long on the CPU. For grey images (C = 1) this is raster order."""
        C, H, W = self.config.shape
        return torch.arange(self.config.dims, device="cpu").view(C, H * W).t().reshape(-1)  # (C, HW) → (HW, C) → (D,)

    def conditional_logits(self, x_tilde: torch.Tensor) -> torch.Tensor:
        """ℓ (N, K, C, H, W) from x̃ (N, E, C, H, W): mask A, L residual mask-B blocks, a 1×1 head."""
        N, E, C, H, W = x_tilde.shape
        h = self.relu(self.conv_A(x_tilde.reshape(N, E * C, H, W)))   # (N, E, C, H, W) → (N, E·C, H, W) → h⁰ (N, h, H, W)
        h = self.blocks(h)                                             # h^L (N, h, H, W)
        return self.head(h).view(N, -1, C, H, W)                       # (N, K·C, H, W) → (N, K, C, H, W)


def receptive_field(model: Autoregressive, position: tuple[int, ...] | int, x: torch.Tensor | None = None,
                    n: int = 8, seed: int = 0) -> torch.Tensor:
    """Which inputs the logits ℓ at `position` depend on, found by autograd: True where
    ∂ℓ_{position} / ∂x̃_{c,ij} ≠ 0 for some example and feature; (H, W) bool for grey images (C = 1),
    (C, H, W) bool for colour.

    `position` is (i, j) (channel 0), (c, i, j), or the flat index c·H·W + i·W + j (i·W + j for grey). The
    gradient is taken at `x` (N, C, H, W) levels, or at `n` random images drawn from `seed`; a ReLU that is
    off for every example hides its paths, so a few random images are used rather than one. For a PixelCNN
    the result is False at and after `position` in the sampling order (the autoregressive property) and also
    False on the blind spot, some pixels up and to the right that no stack of masked convolutions reaches;
    the gated PixelCNN has no blind spot."""
    C, H, W = model.config.shape
    if isinstance(position, int) and not isinstance(position, bool):
        if not 0 <= position < C * H * W:
            raise ValueError(f"a flat position must be in 0..{C * H * W - 1} (C·H·W for shape {model.config.shape}), "
                             f"got {position}")
        c, rest = divmod(position, H * W)
        i, j = divmod(rest, W)
    elif isinstance(position, tuple) and len(position) in (2, 3):
        c, i, j = position if len(position) == 3 else (0, *position)
    else:
        raise ValueError(f"position must be (i, j), (c, i, j) or a flat index, got {position!r}")
    if not (0 <= c < C and 0 <= i < H and 0 <= j < W):
        raise ValueError(f"position must be in the {H}×{W} image (row 0..{H - 1}, column 0..{W - 1}, channel "
                         f"0..{C - 1}), got {position!r}")
    if x is None:
        generator = torch.Generator(device="cpu").manual_seed(seed)
        x = torch.randint(0, model.config.levels, (n, C, H, W), generator=generator).to(model.device)
    x_tilde = model.input_features(model._check_x(x)).detach().requires_grad_(True)  # (N, E, C, H, W)
    logits = model.conditional_logits(x_tilde)                                        # (N, K, C, H, W)
    (grad,) = torch.autograd.grad(logits[:, :, c, i, j].sum(), x_tilde)              # (N, E, C, H, W)
    seen = grad.abs().sum((0, 1)) != 0                                                # (C, H, W)
    return seen[0] if C == 1 else seen                                                # grey: (H, W)
