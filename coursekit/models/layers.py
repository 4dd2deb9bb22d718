"""Building blocks shared by the model families: each small, each with the equation it implements.

- `MLP`: Linear layers with an activation (and dropout) between them.
- `MaskedLinear`: y = x (W ⊙ M)ᵀ + b with a fixed 0/1 mask M, a buffer applied functionally.
- `made_degrees`, `made_masks`: MADE's degrees and masks (Germain et al., 2015);
  `MaskedMLP`: MaskedLinear layers stacked with those masks (what MADE is built from).
- `MaskedConv2d`: PixelCNN's type A / type B masked convolution (van den Oord et al., 2016),
  optionally with R → G → B colour groups within a pixel.
- `CausalConv1d`: WaveNet's left-padded (optionally dilated, optionally shifted) convolution.
- `attention`, `causal_mask`, `MultiHeadAttention`: softmax(QKᵀ/√d) V written out by hand,
  and multi-head self-attention that runs either that path or `F.scaled_dot_product_attention`.
- `SinusoidalTimeEmbedding`: the Transformer / DDPM embedding of a position or time step t.

Masks and constant tables are buffers, so they follow the module to its device and dtype;
masks multiply the weights inside `forward` and never overwrite them.

Every layer builds under `with torch.device("meta")` (nothing in `__init__` names a device).
A meta-built layer materialised with `layer.to_empty(device=...)` holds uninitialised memory in
its parameters *and* its buffers; `reset_parameters()` (what FSDP and PyTorch's meta-device
recipes call after `to_empty`, on every module with parameters or buffers of its own) draws
fresh weights and rebuilds the module's own masks, order and frequency tables exactly, from the
constructor's arguments or the last `set_mask` (kept as a small CPU copy). `materialize(module,
device)` does both for a whole tree: `to_empty`, then `reset_parameters()` parents first.

    net = MaskedMLP(64, [512, 512], out_per_dim=17)       # output d sees only x_<d in the order
    conv = MaskedConv2d(1, 64, 7, mask_type="A")           # first PixelCNN layer
    attn = MultiHeadAttention(128, n_heads=4, causal=True)  # GPT's self-attention
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import check_shape, seeded_generator

__all__ = [
    "MLP", "MaskedLinear", "made_degrees", "made_masks", "MaskedMLP", "MaskedConv2d", "CausalConv1d",
    "attention", "causal_mask", "MultiHeadAttention", "SinusoidalTimeEmbedding", "materialize",
]

ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh,
               "leaky_relu": nn.LeakyReLU}
"""The activations the layers (and the models built from them) accept, by name."""


def _check_positive_int(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")


def _check_last_dim(x: torch.Tensor, size: int, name: str = "x") -> None:
    if x.dim() == 0 or x.shape[-1] != size:
        raise ValueError(f"{name} must have shape (..., {size}), got {tuple(x.shape)}")


def _cpu_source(mask, expected: tuple[int, ...], what: str) -> torch.Tensor | None:
    """`mask` (a tensor or nested lists) as a CPU copy to rebuild a buffer from, after checking its
    shape against `expected`; None when its values are unknown (a meta tensor)."""
    if not isinstance(mask, torch.Tensor):
        mask = torch.as_tensor(mask, device="cpu")
    if tuple(mask.shape) != expected:
        raise ValueError(f"mask must have shape {what} = {expected}, got {tuple(mask.shape)}")
    return None if mask.device.type == "meta" else mask.detach().to("cpu", copy=True)


def _copy_into(buffer: torch.Tensor, source: torch.Tensor | None, owner: str) -> None:
    """buffer ← source (on the buffer's device and dtype), or a clear error when the source is unknown."""
    if source is None:
        raise RuntimeError(f"{owner}'s mask was set from a meta tensor, so its values are unknown and cannot be "
                           f"rebuilt: call set_mask with a real mask after to_empty")
    with torch.no_grad():
        buffer.copy_(source)


def materialize(module: nn.Module, device: torch.device | str = "cpu") -> nn.Module:
    """Give a module built on the `meta` device real storage on `device` and initialise it:
    `module.to_empty(device=device)`, then `reset_parameters()` of every submodule that has
    parameters or buffers of its own, parents first (the order FSDP uses). Weights are drawn
    afresh from torch's global stream; masks, orders and frequency tables are rebuilt exactly.
    Returns `module`. A submodule with its own tensors but no `reset_parameters` is an error
    (its values would stay uninitialised memory)."""
    module.to_empty(device=device)
    with torch.no_grad():
        for name, sub in module.named_modules():
            own = [*sub.parameters(recurse=False), *sub.buffers(recurse=False)]
            if not own:
                continue
            reset = getattr(sub, "reset_parameters", None)
            if not callable(reset):
                raise TypeError(f"{name or 'the module'} ({type(sub).__name__}) has parameters or buffers of its "
                                f"own but no reset_parameters(): after to_empty they would stay uninitialised")
            reset()
    return module


class _FixedMask:
    """What MaskedLinear and MaskedConv2d share: a 0/1 `mask` buffer shaped like the weight, set by
    `set_mask` (a CPU copy is kept) or else the layer's `_default_mask()`, and rebuilt by
    `reset_parameters()` after the weights, so a layer built on `meta` is whole after `to_empty`.
    The host class calls `_init_mask()` once its weight exists."""

    _MASK_SHAPE = "(weight's shape)"   # how an error names the mask's dimensions

    def _default_mask(self) -> torch.Tensor:  # pragma: no cover - each layer defines its own
        raise NotImplementedError

    def _init_mask(self) -> None:
        self._custom_mask, self._mask_source = False, None   # set_mask: True and its CPU copy (None: unknown)
        self.register_buffer("mask", torch.empty_like(self.weight))
        self._reset_mask()

    def set_mask(self, mask: torch.Tensor) -> None:
        """Copy `mask` (the weight's shape) into the mask buffer (on the buffer's device and dtype),
        and keep a CPU copy for `reset_parameters`."""
        self._mask_source = _cpu_source(mask, tuple(self.mask.shape), self._MASK_SHAPE)
        self._custom_mask = True
        with torch.no_grad():
            self.mask.copy_(torch.as_tensor(mask) if self._mask_source is None else self._mask_source)

    def reset_parameters(self) -> None:
        """W and b as the torch layer initialises them; the mask rebuilt (the default, or the last `set_mask`)."""
        super().reset_parameters()
        if "mask" in self._buffers:   # the torch layer's __init__ calls this before the mask exists
            self._reset_mask()

    def _reset_mask(self) -> None:
        source = self._mask_source if self._custom_mask else self._default_mask()
        _copy_into(self.mask, source, type(self).__name__)


# --- MLP ------------------------------------------------------------------------------------

class MLP(nn.Sequential):
    """h_{l+1} = act(W_l h_l + b_l): Linear layers of widths `sizes` (input first, output last),
    an activation (then dropout, if any) between them, and none after the last unless
    `final_activation`. Input (..., sizes[0]) → output (..., sizes[-1])."""

    def __init__(self, sizes: Sequence[int], activation: str = "relu", dropout: float = 0.0,
                 final_activation: bool = False):
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
        for s in sizes:
            _check_positive_int(s, "every entry of sizes")
        _check_activation(activation)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2 or final_activation:
                layers.append(ACTIVATIONS[activation]())
                if dropout > 0 and i < len(sizes) - 2:
                    layers.append(nn.Dropout(dropout))
        super().__init__(*layers)
        self.in_features, self.out_features = sizes[0], sizes[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_last_dim(x, self.in_features)
        return super().forward(x)


# --- masked linear layers and MADE's masks --------------------------------------------------

class MaskedLinear(_FixedMask, nn.Linear):
    """y = x (W ⊙ M)ᵀ + b: a Linear layer whose weight W (out, in) is multiplied by a fixed 0/1 mask
    M (out, in), a buffer of ones until `set_mask`. W itself is never changed: a masked entry keeps
    its value and gets zero gradient, because the product W ⊙ M is taken in every forward.

    `reset_parameters()` re-draws W and b (as `nn.Linear`) and rebuilds M: ones, or the last
    `set_mask` (kept as a CPU copy), so a layer built on `meta` is whole after `to_empty`."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__(_check_positive_int(in_features, "in_features"),
                         _check_positive_int(out_features, "out_features"), bias=bias)
        self._init_mask()

    _MASK_SHAPE = "(out_features, in_features)"

    def _default_mask(self) -> torch.Tensor:
        """All ones (nothing masked) until `set_mask`, on the CPU."""
        return torch.ones(self.out_features, self.in_features, device="cpu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_last_dim(x, self.in_features)
        return F.linear(x, self.weight * self.mask, self.bias)


def made_degrees(D: int, hidden_sizes: Sequence[int], order: Sequence[int] | torch.Tensor | None = None,
                 generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """MADE's degrees [m⁰, m¹, …, m^L]: m⁰(d) is input d's position in the autoregressive order (a
    permutation of 1..D; `order`, default 1, 2, …, D), m^l(k) ∈ [1, D−1] says that hidden unit k
    of layer l may depend on inputs of degree ≤ m^l(k) only.

    With a CPU `generator`, hidden degrees are drawn uniformly from [min m^{l−1}, D−1], as in the
    paper; without one they are spread evenly (min m^{l−1}, …, D−1, then round again), so every
    degree has units. Degrees are long tensors on the CPU (small constant tables)."""
    _check_positive_int(D, "D")
    hidden_sizes = [_check_positive_int(h, "every entry of hidden_sizes") for h in hidden_sizes]
    if order is None:
        m0 = torch.arange(1, D + 1, device="cpu")
    else:
        m0 = torch.as_tensor(order, dtype=torch.long, device="cpu").flatten()
        if m0.numel() != D or not torch.equal(m0.sort().values, torch.arange(1, D + 1, device="cpu")):
            raise ValueError(f"order must be a permutation of 1..{D} (the degree m(d) of each input; "
                             f"add 1 to a 0-based torch.randperm), got {m0.tolist()}")
    degrees = [m0]
    high = max(D - 1, 1)  # m^l(k) ≤ D − 1: a unit that saw all D inputs could feed no output
    for H in hidden_sizes:
        low = min(int(degrees[-1].min()), high)  # m^l(k) ≥ min m^{l−1}: every unit has some input
        if generator is None:
            m = low + torch.arange(H, device="cpu") % (high - low + 1)
        else:
            m = torch.randint(low, high + 1, (H,), generator=generator, device="cpu")
        degrees.append(m)
    return degrees


def made_masks(degrees: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """MADE's masks (Germain et al., 2015) from `made_degrees`, one per layer, float 0/1:

        hidden layer l:  M^l[k, j] = 1[m^l(k) ≥ m^{l−1}(j)]       shape (H_l, H_{l−1})
        output layer:    M^V[d, k] = 1[m⁰(d) > m^L(k)]             shape (D, H_L)

    The strict > at the output makes output d depend on inputs that come before d in the order
    only. With no hidden layers the single mask is M[d, j] = 1[m⁰(d) > m⁰(j)] (a FVSBN)."""
    if len(degrees) < 1:
        raise ValueError("degrees must hold at least the input degrees m⁰")
    masks = [(m[:, None] >= m_prev[None, :]).float() for m_prev, m in zip(degrees[:-1], degrees[1:])]
    masks.append((degrees[0][:, None] > degrees[-1][None, :]).float())
    return masks


class MaskedMLP(nn.Module):
    """MaskedLinear layers with MADE's masks: x (B, D) → (B, out_per_dim · D), where output
    j·D + d (so `out.view(B, out_per_dim, D)[:, j, d]`, e.g. the j-th logit for x_d) depends
    only on the inputs that come before d in `order`. ∂ out[j·D + d] / ∂ x_e = 0 unless order[e] < order[d].

    `order`: a permutation of 1..D (see `made_degrees`), kept as the buffer `order`; `seed`
    draws the hidden degrees (None spreads them evenly). `reset_parameters()` rebuilds `order`
    (each MaskedLinear's own `reset_parameters` rebuilds its weights and MADE mask)."""

    def __init__(self, D: int, hidden_sizes: Sequence[int], out_per_dim: int = 1,
                 order: Sequence[int] | torch.Tensor | None = None, seed: int | None = 0, activation: str = "relu"):
        super().__init__()
        _check_positive_int(out_per_dim, "out_per_dim")
        _check_activation(activation)
        generator = None if seed is None else seeded_generator(seed)
        degrees = made_degrees(D, hidden_sizes, order, generator)
        masks = made_masks(degrees)
        masks[-1] = masks[-1].repeat(out_per_dim, 1)  # (out_per_dim·D, H_L): the same mask for each block
        self.D, self.out_per_dim = D, out_per_dim
        self._order_source = degrees[0].clone()        # m⁰ on the CPU, to rebuild the buffer from
        self.register_buffer("order", torch.empty(D, dtype=torch.long))
        self.reset_parameters()
        layers: list[nn.Module] = []
        for i, mask in enumerate(masks):
            layer = MaskedLinear(mask.shape[1], mask.shape[0])
            layer.set_mask(mask)
            layers += [layer] if i == len(masks) - 1 else [layer, ACTIVATIONS[activation]()]
        self.net = nn.Sequential(*layers)

    def reset_parameters(self) -> None:
        """Rebuild this module's own buffer, `order` (the layers in `net` reset themselves)."""
        _copy_into(self.order, self._order_source, type(self).__name__)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_shape(x, (None, self.D), "x")
        return self.net(x)  # (B, out_per_dim · D)


# --- masked and causal convolutions ---------------------------------------------------------

class MaskedConv2d(_FixedMask, nn.Conv2d):
    """PixelCNN's masked convolution: y = conv(x, W ⊙ M) + b, 'same' padding, stride 1.

    In raster order (row by row, left to right) the k×k mask M keeps the rows above the centre
    and the centre row left of the centre; the centre pixel itself only for type "B". Use one
    type A layer first (output (i, j) must not see x_ij) and type B after it (a feature at
    (i, j) may see the features already computed there). A stack has PixelCNN's blind spot:
    some pixels up and to the right are never seen.

    Colour, R → G → B within a pixel (PixelCNN paper §3.4): with `channel_groups` = C > 1 every
    input and output channel belongs to one colour group, channel k to group g(k) = k mod C (the
    order a reshape (N, E, C, H, W) → (N, E·C, H, W) gives, and (N, K·C, H, W) → (N, K, C, H, W)
    undoes; with a channel count that C does not divide, the groups differ in size by one).
    Away from the centre M is as above, for every channel; at the centre tap

        type A:  M[o, i, centre] = 1[g(i) < g(o)]     (G sees R, B sees R and G, R sees nothing)
        type B:  M[o, i, centre] = 1[g(i) ≤ g(o)]     (a feature of group c also sees group c)

    With C = 1 (the default) this is the grey mask: all channels of pixel (i, j) together.

    `reset_parameters()` re-draws W and b (as `nn.Conv2d`) and rebuilds M: the type A/B mask,
    or the last `set_mask` (kept as a CPU copy), so a layer built on `meta` is whole after `to_empty`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str = "A",
                 bias: bool = True, channel_groups: int = 1):
        if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be an odd positive int (the mask needs a centre pixel), "
                             f"got {kernel_size!r}")
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be 'A' (first layer: centre hidden) or 'B' (centre seen), "
                             f"got {mask_type!r}")
        _check_positive_int(channel_groups, "channel_groups (C, the colour groups)")
        super().__init__(_check_positive_int(in_channels, "in_channels"),
                         _check_positive_int(out_channels, "out_channels"), kernel_size,
                         padding=kernel_size // 2, bias=bias)
        self.mask_type, self.channel_groups = mask_type, channel_groups
        self._init_mask()

    _MASK_SHAPE = "(out_channels, in_channels, k, k)"

    def _default_mask(self) -> torch.Tensor:
        """The type A/B mask (out_channels, in_channels, k, k), with colour groups at the centre, on the CPU."""
        k = self.kernel_size[0]
        mid = k // 2                                      # the centre tap is (mid, mid)
        mask = torch.ones(self.out_channels, self.in_channels, k, k, device="cpu")
        mask[:, :, mid, mid:] = 0                         # centre row: the centre and right of it
        mask[:, :, mid + 1:, :] = 0                       # every row below the centre
        g_out = torch.arange(self.out_channels, device="cpu") % self.channel_groups   # g(o), (out,)
        g_in = torch.arange(self.in_channels, device="cpu") % self.channel_groups     # g(i), (in,)
        seen = g_in[None, :] < g_out[:, None] if self.mask_type == "A" else g_in[None, :] <= g_out[:, None]
        mask[:, :, mid, mid] = seen.float()               # (out, in): the R → G → B order within the pixel
        return mask

    def extra_repr(self) -> str:
        groups = f", channel_groups={self.channel_groups}" if self.channel_groups > 1 else ""
        return f"{super().extra_repr()}, mask_type={self.mask_type!r}{groups}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_shape(x, (None, self.in_channels, None, None), "x")
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class CausalConv1d(nn.Conv1d):
    """WaveNet's causal convolution on x (B, C_in, T) → (B, C_out, T):

        y_t = Σ_{i=0}^{k−1} W_i x_{t − i·dilation}        (x_s = 0 for s < 0)

    made by padding (k − 1)·dilation zeros on the left only, so y_t depends on x_≤t. With
    `shift=True` the input is first delayed by one step, y_t depends on x_<t: the first layer
    of an autoregressive model, whose output t predicts x_t. A stack of layers with kernel k
    and dilations d_1, …, d_L sees 1 + Σ_l (k − 1)·d_l inputs (the receptive field); k = 2 and
    d = 1, 2, 4, …, 2^{L−1} give 2^L."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1,
                 shift: bool = False, bias: bool = True):
        super().__init__(_check_positive_int(in_channels, "in_channels"),
                         _check_positive_int(out_channels, "out_channels"),
                         _check_positive_int(kernel_size, "kernel_size"),
                         dilation=_check_positive_int(dilation, "dilation"), bias=bias)
        self.shift = shift
        self.left_padding = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_shape(x, (None, self.in_channels, None), "x")
        if self.shift:
            x = F.pad(x, (1, 0))[..., :-1]           # (B, C_in, T): x_{t−1} at t, zero at t = 0
        x = F.pad(x, (self.left_padding, 0))         # (B, C_in, (k−1)·dilation + T)
        return F.conv1d(x, self.weight, self.bias, dilation=self.dilation)


# --- attention ------------------------------------------------------------------------------

def causal_mask(T: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, T) bool, True where query t may attend to key s, i.e. s ≤ t (the lower triangle)."""
    t = torch.arange(T, device=device)
    return t[:, None] >= t[None, :]


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
              dropout_p: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention, written out: A = softmax(Q Kᵀ / √d + log M), output A V.

    q (..., T_q, d), k (..., T_k, d), v (..., T_k, d_v); `mask` bool, broadcastable to
    (..., T_q, T_k), True where attending is allowed (as in `F.scaled_dot_product_attention`);
    disallowed scores become −∞, so their weights are exactly 0 (a row with no allowed key gives
    NaN). Returns (output (..., T_q, d_v), weights A (..., T_q, T_k)); `dropout_p` drops weights
    for the output only, the returned A is the softmax itself (each row sums to 1)."""
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise ValueError(f"q, k, v must have shape (..., T, d), got {tuple(q.shape)}, {tuple(k.shape)}, "
                         f"{tuple(v.shape)}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"need q (..., T_q, d), k (..., T_k, d), v (..., T_k, d_v); got q {tuple(q.shape)}, "
                         f"k {tuple(k.shape)}, v {tuple(v.shape)}")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])   # (..., T_q, T_k): q_t · k_s / √d
    if mask is not None:
        if mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool tensor (True = may attend), got dtype {mask.dtype}")
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)                      # (..., T_q, T_k), rows sum to 1
    dropped = F.dropout(weights, dropout_p) if dropout_p > 0 else weights
    return dropped @ v, weights                                  # (..., T_q, d_v)


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention on x (B, T, d_model) → (B, T, d_model):

        Q, K, V = x W_Q, x W_K, x W_V, split into `n_heads` heads of head_dim = d_model / n_heads
        head_h = softmax(Q_h K_hᵀ / √head_dim) V_h,   output = concat(head_1, …, head_H) W_O

    `causal=True` lets position t attend to positions ≤ t only (GPT). `fused=True` runs
    `F.scaled_dot_product_attention` (fast, no weights kept); `fused=False` the hand-written
    `attention`; the two agree (tests/test_layers.py) and share one state dict. `dropout` acts
    on the attention weights in training mode."""

    def __init__(self, d_model: int, n_heads: int, causal: bool = False, dropout: float = 0.0, fused: bool = True):
        super().__init__()
        _check_positive_int(d_model, "d_model")
        _check_positive_int(n_heads, "n_heads")
        if d_model % n_heads:
            raise ValueError(f"d_model must be divisible by n_heads, got d_model={d_model}, n_heads={n_heads}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
        self.causal, self.dropout, self.fused = causal, dropout, fused
        self.qkv = nn.Linear(d_model, 3 * d_model)   # W_Q, W_K, W_V side by side
        self.out = nn.Linear(d_model, d_model)       # W_O

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, return_weights: bool = False):
        """`mask`: optional bool, broadcastable to (B, heads, T, T), True = may attend (combined with
        `causal`). `return_weights=True` runs the hand-written path and returns (output, weights)."""
        check_shape(x, (None, None, self.d_model), "x")
        B, T, _ = x.shape
        q, k, v = self.qkv(x).split(self.d_model, dim=2)                      # 3 × (B, T, d_model)
        q = q.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)         # (B, heads, T, head_dim)
        k = k.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)         # (B, heads, T, head_dim)
        v = v.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)         # (B, heads, T, head_dim)
        dropout_p = self.dropout if self.training else 0.0
        allowed = mask
        if self.causal and mask is not None:
            allowed = mask & causal_mask(T, x.device)
        weights = None
        if self.fused and not return_weights:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=dropout_p,
                                               is_causal=self.causal and mask is None)
        else:
            if self.causal and mask is None:
                allowed = causal_mask(T, x.device)
            y, weights = attention(q, k, v, allowed, dropout_p)                # (B, heads, T, head_dim)
        y = y.transpose(1, 2).reshape(B, T, self.d_model)                     # (B, T, d_model): heads concatenated
        y = self.out(y)
        return (y, weights) if return_weights else y


# --- time embedding -------------------------------------------------------------------------

class SinusoidalTimeEmbedding(nn.Module):
    """The Transformer's position / DDPM's time-step embedding of t (B,) → (B, dim):

        ω_i = max_period^(−i / (dim/2)),   i = 0, …, dim/2 − 1
        emb(t) = [sin(t ω_0), …, sin(t ω_{dim/2−1}), cos(t ω_0), …, cos(t ω_{dim/2−1})]

    sines in the first half, cosines in the second (DDPM's layout; the Transformer interleaves
    them, sin at even and cos at odd dims, a fixed permutation of the same features). t may be
    integer steps or floats; the frequencies ω are a buffer, rebuilt by `reset_parameters()`."""

    def __init__(self, dim: int, max_period: float = 10000.0):
        super().__init__()
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 2 or dim % 2:
            raise ValueError(f"dim must be an even int >= 2 (half sines, half cosines), got {dim!r}")
        if not max_period > 0:
            raise ValueError(f"max_period must be > 0, got {max_period!r}")
        self.dim, self.max_period = dim, max_period
        self.register_buffer("freqs", torch.empty(dim // 2))   # ω_i, computed on the CPU by reset_parameters
        self._freqs_dtype = self.freqs.dtype                    # computed in the dtype it was built in
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Rebuild the frequency table ω exactly as `__init__` computed it (on the CPU, in the dtype the
        module was built in, then cast to the buffer's), so meta + `to_empty` + reset equals a CPU build."""
        half = self.dim // 2
        steps = torch.arange(half, device="cpu", dtype=self._freqs_dtype)
        _copy_into(self.freqs, torch.exp(-math.log(self.max_period) * steps / half), type(self).__name__)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        check_shape(t, (None,), "t")
        angles = t.to(self.freqs.dtype)[:, None] * self.freqs[None, :]   # (B, dim/2): t ω_i
        return torch.cat([angles.sin(), angles.cos()], dim=1)            # (B, dim)
