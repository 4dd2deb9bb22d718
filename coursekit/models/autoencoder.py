"""Autoencoders and PCA, their linear optimum (lecture 01).

An autoencoder is two maps trained so that their composition is close to the identity:

    encoder f: x ∈ R^D → z = f(x) ∈ R^k,    decoder g: z → x̂ = g(z),    g∘f ≈ id,
    loss = E_x ‖x − g(f(x))‖²   (summed over the D pixels, averaged over the examples).

k < D is *undercomplete* (a bottleneck: the code must compress), k ≥ D *overcomplete* (the
identity is a perfect solution, so something else — noise, masking — must make it learn).

- `LinearAutoencoder`, `MLPAutoencoder`, `ConvAutoencoder`: three encoder/decoder pairs under
  one contract (`encode`, `decode`, `forward`, `loss(batch) -> {"loss", "recon", "mse"}`),
  configured by `LinearAEConfig`, `MLPAEConfig`, `ConvAEConfig`.
- **Denoising**: any of them with `noise_std > 0` (x̃ = x + σε) or `mask_prob > 0` (each pixel
  of x̃ set to 0 with that probability) is a denoising autoencoder: in training mode `loss`
  feeds the *corrupted* x̃ to the encoder and compares g(f(x̃)) with the *clean* x. In eval
  mode (`model.eval()`, as `coursekit.training.evaluate` sets it) it measures plain
  reconstruction, so validation numbers compare across models. Like dropout.
- `PCA`: the closed-form linear autoencoder f(x) = U_kᵀ(x − μ), g(z) = μ + U_k z from the SVD of
  the centred data; its training error is the sum of the discarded eigenvalues.
- `principal_angles(A, B)`: the angles between the subspaces spanned by the columns of A and B
  (all ≈ 0 when a trained linear autoencoder's decoder spans the PCA subspace).
- `kernel_pca(x, k, gamma)`: the RBF-kernel PCA embedding (an encoder with no decoder).
- `corrupt(x, ...)` and `inpaint(model, x, known)`: the corruption of a denoising autoencoder,
  and filling in missing pixels by iterating x ← known·x + (1 − known)·g(f(x)).
- `few_label_indices` and `linear_probe`: the encoder's code as features for a small
  labelled set (logistic regression on, say, 50 labels).

A plain autoencoder is **not** a generative model: it defines no distribution over z to draw
from, so `sample` raises and explains; lecture 02's VAE adds the prior p(z).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Literal

import torch
from torch import nn

from ..utils import check_images, rand, randn, randperm
from .base import GenerativeModel, batch_images

__all__ = [
    "AutoencoderConfig", "LinearAEConfig", "MLPAEConfig", "ConvAEConfig",
    "Autoencoder", "LinearAutoencoder", "MLPAutoencoder", "ConvAutoencoder",
    "PCA", "principal_angles", "kernel_pca", "corrupt", "inpaint", "few_label_indices", "linear_probe",
]


# --- configuration -----------------------------------------------------------------------

@dataclass(kw_only=True)
class AutoencoderConfig:
    """What every autoencoder shares: the image shape, the code size k and the corruption."""

    shape: tuple[int, int, int] = (1, 8, 8)
    """(C, H, W) of one image; D = C·H·W."""
    latent_dim: int = 2
    """k, the size of the code z = f(x): k < D undercomplete, k ≥ D overcomplete."""
    noise_std: float = 0.0
    """Denoising: σ of the Gaussian noise added to the encoder's input in training, x̃ = x + σε."""
    mask_prob: float = 0.0
    """Denoising/inpainting: probability that a pixel of the encoder's input is set to 0 in training."""

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise ValueError(f"shape must be (C, H, W) with positive sizes, got {self.shape}")
        if not isinstance(self.latent_dim, int) or isinstance(self.latent_dim, bool) or self.latent_dim < 1:
            raise ValueError(f"latent_dim (k) must be a positive int, got {self.latent_dim!r}")
        if not self.noise_std >= 0:
            raise ValueError(f"noise_std (σ) must be >= 0, got {self.noise_std!r}")
        if not 0 <= self.mask_prob < 1:
            raise ValueError(f"mask_prob must be in [0, 1), got {self.mask_prob!r}")

    @property
    def dims(self) -> int:
        """D = C·H·W."""
        return math.prod(self.shape)


@dataclass(kw_only=True)
class LinearAEConfig(AutoencoderConfig):
    """f(x) = W_e x + b_e, g(z) = W_d z + b_d: the autoencoder whose optimum is PCA."""

    bias: bool = True
    """With biases the optimum is PCA of the *centred* data (b_d plays the mean μ)."""


@dataclass(kw_only=True)
class MLPAEConfig(AutoencoderConfig):
    """Fully connected encoder D → hidden → k and the mirrored decoder k → reversed(hidden) → D."""

    hidden: tuple[int, ...] = (128, 64)
    output: Literal["sigmoid", "identity"] = "sigmoid"
    """"sigmoid" keeps x̂ in (0, 1), the range of the float images."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.hidden = tuple(int(h) for h in self.hidden)
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden sizes must be positive, got {self.hidden}")
        _check_output(self.output)


@dataclass(kw_only=True)
class ConvAEConfig(AutoencoderConfig):
    """Convolutions C → c_1 (3×3), then c_{i-1} → c_i with stride 2 (each halves H and W), a linear
    map to k; the decoder mirrors it with transposed convolutions."""

    channels: tuple[int, ...] = (16, 32)
    output: Literal["sigmoid", "identity"] = "sigmoid"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.channels = tuple(int(c) for c in self.channels)
        if not self.channels or any(c < 1 for c in self.channels):
            raise ValueError(f"channels must be a non-empty tuple of positive ints, got {self.channels}")
        factor = 2 ** (len(self.channels) - 1)
        _, h, w = self.shape
        if h % factor or w % factor:
            raise ValueError(f"{len(self.channels) - 1} stride-2 layers need H and W divisible by {factor}, "
                             f"got shape {self.shape}; use fewer channels entries")
        _check_output(self.output)


def _check_output(output: str) -> None:
    if output not in ("sigmoid", "identity"):
        raise ValueError(f"output must be 'sigmoid' or 'identity', got {output!r}")


def _config(cls: type, config, overrides: dict):
    """`config` (or the class's defaults) with `overrides` applied: Model(cfg), Model(latent_dim=5)."""
    if config is None:
        return cls(**overrides)
    if not isinstance(config, cls):
        raise TypeError(f"config must be a {cls.__name__}, got {type(config).__name__}")
    unknown = set(overrides) - {f.name for f in fields(cls)}
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
    return replace(config, **overrides) if overrides else config


# --- corruption --------------------------------------------------------------------------

def corrupt(x: torch.Tensor, noise_std: float = 0.0, mask_prob: float = 0.0,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """x̃: x with each pixel set to 0 with probability `mask_prob`, then Gaussian noise σ = `noise_std` added.

    Same shape, device and dtype as x. With a `generator` (a CPU one) the corruption is
    reproducible whatever the device.
    """
    if not x.is_floating_point():
        raise TypeError(f"x must hold floats, got {x.dtype}")
    x_tilde = x
    if mask_prob > 0:
        u = rand(x.shape, device=x.device, dtype=x.dtype, generator=generator)
        x_tilde = x_tilde * (u >= mask_prob)  # keep a pixel with probability 1 − p
    if noise_std > 0:
        eps = randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
        x_tilde = x_tilde + noise_std * eps  # x̃ = x + σ ε
    return x_tilde


# --- the autoencoders --------------------------------------------------------------------

class Autoencoder(GenerativeModel, abstract=True):
    """Encoder f and decoder g with g∘f ≈ id; the loss is ‖x − g(f(x))‖² per example.

    Subclasses build `encoder` ((N, C, H, W) → (N, k)) and `decoder` ((N, k) → (N, C, H, W)).
    No likelihood and no sampling (`can_sample = False`): see the module docstring.
    """

    likelihood = "none"
    can_sample = False

    def __init__(self, config: AutoencoderConfig, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.config = config
        self.shape, self.latent_dim = config.shape, config.latent_dim
        self.encoder, self.decoder = encoder, decoder

    @property
    def dims(self) -> int:
        """D = C·H·W."""
        return self.config.dims

    @property
    def data_shape(self) -> tuple[int, int, int]:
        return self.shape

    @property
    def data_levels(self) -> None:
        """None: the autoencoders take real-valued images (the float view in [0, 1])."""
        return None

    @property
    def is_denoising(self) -> bool:
        return self.config.noise_std > 0 or self.config.mask_prob > 0

    def _check_x(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        return check_images(x, self.shape, floating=True, name=name)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = f(x): (N, C, H, W) → (N, k)."""
        return self.encoder(self._check_x(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """x̂ = g(z): (N, k) → (N, C, H, W)."""
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != self.latent_dim:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {got}")
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x̂ = g(f(x))."""
        return self.decode(self.encode(x))

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x̃ with this model's `noise_std` and `mask_prob` (x itself for a plain autoencoder)."""
        return corrupt(x, self.config.noise_std, self.config.mask_prob, generator)

    def reconstruction_error(self, x: torch.Tensor) -> torch.Tensor:
        """‖x − g(f(x))‖² summed over pixels, one value per example: (N,)."""
        x = self._check_x(x)
        return (x - self(x)).pow(2).flatten(1).sum(1)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """recon = mean over the batch of ‖x − g(f(x̃))‖², with x̃ = corrupt(x) in training mode
        for a denoising autoencoder and x̃ = x otherwise; the target is always the clean x.
        `mse` is the same per pixel (recon / D)."""
        x = self._check_x(batch_images(batch))
        x_in = self.corrupt(x) if (self.training and self.is_denoising) else x
        recon = (x - self(x_in)).pow(2).flatten(1).sum(1).mean()  # (N, D) → (N,) → scalar
        return {"loss": recon, "recon": recon, "mse": recon / self.dims}

    def sample(self, n: int, **options) -> torch.Tensor:
        raise NotImplementedError(
            "a plain autoencoder defines no distribution p(z) to sample codes from, so it cannot generate: "
            "decode codes you choose with .decode(z) (lecture 01 shows random ones land in holes of the "
            "latent space); the VAE of lecture 02 adds the prior p(z) that makes sampling possible")

    def extra_repr(self) -> str:
        kind = "denoising, " if self.is_denoising else ""
        return f"{kind}D={self.dims} → k={self.latent_dim}"


def _finish(output: str) -> nn.Module:
    return nn.Sigmoid() if output == "sigmoid" else nn.Identity()


class LinearAutoencoder(Autoencoder):
    """f(x) = W_e x + b_e, g(z) = W_d z + b_d. At its optimum W_d spans the top-k PCA subspace."""

    def __init__(self, config: LinearAEConfig | None = None, **overrides):
        config = _config(LinearAEConfig, config, overrides)
        D, k = config.dims, config.latent_dim
        encoder = nn.Sequential(nn.Flatten(), nn.Linear(D, k, bias=config.bias))  # (N, C, H, W) → (N, D) → (N, k)
        decoder = nn.Sequential(nn.Linear(k, D, bias=config.bias), nn.Unflatten(1, config.shape))  # (N, D) → (N, C, H, W)
        super().__init__(config, encoder, decoder)

    @property
    def W_e(self) -> torch.Tensor:
        """The encoder's weight, (k, D)."""
        return self.encoder[1].weight

    @property
    def W_d(self) -> torch.Tensor:
        """The decoder's weight, (D, k): its columns span the code's image in pixel space."""
        return self.decoder[0].weight


class MLPAutoencoder(Autoencoder):
    """Fully connected: D → hidden[0] → ... → k → ... → hidden[0] → D, ReLU between layers."""

    def __init__(self, config: MLPAEConfig | None = None, **overrides):
        config = _config(MLPAEConfig, config, overrides)
        sizes = [config.dims, *config.hidden, config.latent_dim]  # D, h_1, ..., k
        enc: list[nn.Module] = [nn.Flatten()]
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            enc += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
        back = sizes[::-1]  # k, ..., h_1, D
        dec: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
            dec += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(back) - 2 else [])
        dec += [_finish(config.output), nn.Unflatten(1, config.shape)]  # (N, D) → (N, C, H, W)
        super().__init__(config, nn.Sequential(*enc), nn.Sequential(*dec))


class ConvAutoencoder(Autoencoder):
    """Convolutional: 3×3 conv to channels[0], stride-2 4×4 convs to the rest, linear to k; mirrored back."""

    def __init__(self, config: ConvAEConfig | None = None, **overrides):
        config = _config(ConvAEConfig, config, overrides)
        C, H, W = config.shape
        ch = config.channels
        down = 2 ** (len(ch) - 1)
        inner = (ch[-1], H // down, W // down)  # (c_L, H/2^(L-1), W/2^(L-1))
        enc: list[nn.Module] = [nn.Conv2d(C, ch[0], 3, padding=1), nn.ReLU()]
        for a, b in zip(ch[:-1], ch[1:]):
            enc += [nn.Conv2d(a, b, 4, stride=2, padding=1), nn.ReLU()]  # halves H and W
        enc += [nn.Flatten(), nn.Linear(math.prod(inner), config.latent_dim)]  # (N, c_L·h·w) → (N, k)
        dec: list[nn.Module] = [nn.Linear(config.latent_dim, math.prod(inner)), nn.Unflatten(1, inner), nn.ReLU()]
        for a, b in zip(ch[::-1][:-1], ch[::-1][1:]):
            dec += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1), nn.ReLU()]  # doubles H and W
        dec += [nn.Conv2d(ch[0], C, 3, padding=1), _finish(config.output)]  # (N, C, H, W)
        super().__init__(config, nn.Sequential(*enc), nn.Sequential(*dec))


# --- PCA, the linear optimum -------------------------------------------------------------

class PCA(GenerativeModel):
    """Principal component analysis as a closed-form linear autoencoder.

        X_c = X − μ = U S Vᵀ (SVD),   λ_j = S_j² / N  (eigenvalues of the covariance, divisor N),
        f(x) = V_kᵀ (x − μ),   g(z) = μ + V_k z,

    with V_k the first k right singular vectors (the principal directions, `components`, (k, D)).
    On the data it was fitted on, the mean of ‖x − g(f(x))‖² is exactly Σ_{j>k} λ_j. Same
    `encode`/`decode`/`loss` as the autoencoders, so `coursekit.training.evaluate` scores both alike.
    """

    likelihood = "none"
    can_sample = False

    def __init__(self, *, shape: tuple[int, int, int] = (1, 8, 8), latent_dim: int = 2):
        super().__init__()
        config = AutoencoderConfig(shape=shape, latent_dim=latent_dim)  # validates both
        self.shape, self.latent_dim = config.shape, config.latent_dim
        D = config.dims
        if latent_dim > D:
            raise ValueError(f"PCA has at most D = {D} components, got latent_dim = {latent_dim}")
        self.register_buffer("mean", torch.zeros(D))                  # μ, (D,)
        self.register_buffer("components", torch.eye(D)[:latent_dim])  # V_kᵀ, (k, D); identity rows until fit()
        self.register_buffer("eigenvalues", torch.zeros(D))           # λ_1 ≥ λ_2 ≥ ..., all of them
        self.fitted = False

    @property
    def dims(self) -> int:
        return math.prod(self.shape)

    data_shape = Autoencoder.data_shape
    data_levels = Autoencoder.data_levels
    _check_x = Autoencoder._check_x

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> "PCA":
        """Fit μ, V_k and every λ_j on images x (N, C, H, W), on x's device and in x's dtype."""
        X = self._check_x(x).flatten(1)  # (N, D)
        N, D = X.shape
        if N < 2:
            raise ValueError(f"PCA needs at least 2 examples, got {N}")
        mu = X.mean(0)
        _, S, Vh = torch.linalg.svd(X - mu, full_matrices=False)  # X_c = U S Vᵀ; Vh (min(N, D), D)
        lam = torch.zeros(D, dtype=X.dtype, device=X.device)
        lam[: S.shape[0]] = S.pow(2) / N                              # λ_j = S_j² / N
        if self.latent_dim > Vh.shape[0]:
            raise ValueError(f"{N} examples give at most {Vh.shape[0]} components, asked for {self.latent_dim}")
        self.mean, self.components, self.eigenvalues = mu, Vh[: self.latent_dim].clone(), lam
        self.fitted = True
        return self

    @property
    def explained_variance_ratio(self) -> torch.Tensor:
        """λ_j / Σλ for j = 1..k."""
        return self.eigenvalues[: self.latent_dim] / self.eigenvalues.sum()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = V_kᵀ(x − μ): (N, C, H, W) → (N, k)."""
        return (self._check_x(x).flatten(1) - self.mean) @ self.components.T

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """x̂ = μ + V_k z: (N, k) → (N, C, H, W)."""
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != self.latent_dim:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {got}")
        return (self.mean + z @ self.components).reshape(-1, *self.shape)  # (N, D) → (N, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    reconstruction_error = Autoencoder.reconstruction_error

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """The autoencoders' loss: mean ‖x − g(f(x))‖² (nothing to train; `fit` minimises it)."""
        x = self._check_x(batch_images(batch))
        recon = (x - self(x)).pow(2).flatten(1).sum(1).mean()
        return {"loss": recon, "recon": recon, "mse": recon / self.dims}

    def sample(self, n: int, **options) -> torch.Tensor:
        raise NotImplementedError("PCA as fitted here is not generative (probabilistic PCA, which adds "
                                  "z ~ N(0, I) and Gaussian noise, is); decode codes you choose with .decode(z)")


# --- subspaces ---------------------------------------------------------------------------

def principal_angles(A: torch.Tensor, B: torch.Tensor, degrees: bool = False) -> torch.Tensor:
    """The principal angles 0 ≤ θ_1 ≤ ... ≤ θ_m ≤ π/2 between span(A) and span(B), m = min(p, q).

    A is (D, p) and B is (D, q); their columns span the two subspaces (they need not be
    orthonormal). With Q_A, Q_B orthonormal bases (QR), cos θ_i are the singular values of
    Q_Aᵀ Q_B and sin θ_i those of (I − Q_A Q_Aᵀ) Q_B; θ = atan2(sin, cos) stays accurate for
    tiny angles, where arccos of a number near 1 does not (Björck & Golub, 1973).
    All angles ≈ 0 means the subspaces coincide, whatever basis each is written in.
    """
    for name, M in (("A", A), ("B", B)):
        if not isinstance(M, torch.Tensor) or M.dim() != 2:
            got = tuple(M.shape) if isinstance(M, torch.Tensor) else type(M).__name__
            raise ValueError(f"{name} must be a (D, columns) matrix, got {got}")
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"A and B must have the same number of rows D (one per dimension), "
                         f"got A {tuple(A.shape)} and B {tuple(B.shape)}")
    if A.shape[1] > A.shape[0] or B.shape[1] > B.shape[0]:
        raise ValueError(f"A and B must have at most D columns (subspaces of R^D), got A {tuple(A.shape)} and B {tuple(B.shape)}")
    dtype = torch.promote_types(A.dtype, B.dtype)
    Q_a, _ = torch.linalg.qr(A.to(dtype))
    Q_b, _ = torch.linalg.qr(B.to(dtype))
    if Q_a.shape[1] < Q_b.shape[1]:
        Q_a, Q_b = Q_b, Q_a  # the larger subspace first: m = min(p, q) angles
    M = Q_a.T @ Q_b                                       # (p, q)
    cos = torch.linalg.svdvals(M).clamp(max=1.0)           # descending: θ ascending
    sin = torch.linalg.svdvals(Q_b - Q_a @ M).flip(0)      # (I − Q_a Q_aᵀ) Q_b; flipped to ascending
    theta = torch.atan2(sin.clamp(max=1.0), cos)
    return torch.rad2deg(theta) if degrees else theta


def kernel_pca(x: torch.Tensor, k: int = 2, gamma: float | None = None) -> torch.Tensor:
    """RBF kernel PCA: the first k coordinates of the N training points x (N, ...), (N, k).

    K_ij = exp(−γ‖x_i − x_j‖²) (γ defaults to 1/D), centred in feature space, K̃ = HKH with
    H = I − 11ᵀ/N; with its top eigenpairs (λ_j, a_j), z_ij = √λ_j · a_ij. A non-linear
    encoder with no decoder: mapping z back to an image (the pre-image problem) is not solved.
    Costs O(N²) memory and O(N³) time: use a few thousand points at most.
    """
    X = x.flatten(1)
    if not X.is_floating_point():
        raise TypeError(f"x must hold floats, got {x.dtype}")
    N, D = X.shape
    if not 1 <= k < N:
        raise ValueError(f"k must be in 1..{N - 1} for {N} points, got {k}")
    gamma = 1.0 / D if gamma is None else float(gamma)
    K = torch.exp(-gamma * torch.cdist(X, X).pow(2))           # (N, N)
    H = torch.eye(N, dtype=X.dtype, device=X.device) - 1.0 / N
    lam, a = torch.linalg.eigh(H @ K @ H)                      # ascending
    lam, a = lam.flip(0)[:k].clamp(min=0), a.flip(1)[:, :k]     # the top k
    return a * lam.sqrt()                                      # (N, k)


@torch.no_grad()
def inpaint(model: nn.Module, x: torch.Tensor, known: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """Fill in the pixels where `known` is False: start from x with them set to 0, then repeat
    x ← known·x + (1 − known)·g(f(x)) `steps` times. The known pixels never change."""
    if known.shape != x.shape:
        raise ValueError(f"known must have the shape of x, {tuple(x.shape)}, got {tuple(known.shape)}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    known = known.to(device=x.device, dtype=torch.bool)
    current = torch.where(known, x, torch.zeros_like(x))
    was_training = model.training
    model.eval()
    for _ in range(steps):
        current = torch.where(known, x, model(current))
    model.train(was_training)
    return current


# --- the code as features for a small labelled set (transfer) ----------------------------

def few_label_indices(y: torch.Tensor, per_class: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices of `per_class` examples of every class in the labels y (N,), drawn without
    replacement: the "small labelled set" of a transfer experiment (e.g. 5 per class = 50 labels)."""
    if y.dim() != 1:
        raise ValueError(f"y must be a vector of labels (N,), got {tuple(y.shape)}")
    chosen = []
    for c in torch.unique(y).tolist():
        members = torch.nonzero(y == c).flatten()
        if len(members) < per_class:
            raise ValueError(f"class {c} has {len(members)} examples, fewer than per_class = {per_class}")
        order = randperm(len(members), device=members.device, generator=generator)
        chosen.append(members[order[:per_class]])
    return torch.cat(chosen)


def linear_probe(features_train: torch.Tensor, y_train: torch.Tensor, features_test: torch.Tensor,
                 y_test: torch.Tensor, l2: float = 1e-2, max_iter: int = 50) -> float:
    """Test accuracy of multinomial logistic regression fitted on (features_train, y_train).

    Features are standardised with the training set's mean and std; the weights minimise the
    mean cross-entropy + l2·‖W‖² by L-BFGS (full batch, deterministic). Works on any device
    and dtype; the features are detached first.
    """
    a, b = features_train.detach().flatten(1), features_test.detach().flatten(1)
    if a.shape[1] != b.shape[1] or len(a) != len(y_train) or len(b) != len(y_test):
        raise ValueError(f"features and labels disagree: train {tuple(a.shape)} with {tuple(y_train.shape)} labels, "
                         f"test {tuple(b.shape)} with {tuple(y_test.shape)} labels")
    mu, sd = a.mean(0), a.std(0) + 1e-6
    a, b = (a - mu) / sd, (b - mu) / sd
    classes = int(max(y_train.max(), y_test.max())) + 1
    W = torch.zeros(a.shape[1], classes, dtype=a.dtype, device=a.device, requires_grad=True)
    c = torch.zeros(classes, dtype=a.dtype, device=a.device, requires_grad=True)
    opt = torch.optim.LBFGS([W, c], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        objective = nn.functional.cross_entropy(a @ W + c, y_train) + l2 * W.pow(2).sum()
        objective.backward()
        return objective

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        return ((b @ W + c).argmax(1) == y_test).float().mean().item()
