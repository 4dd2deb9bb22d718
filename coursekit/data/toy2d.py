"""Toy densities in two dimensions (and one in one), for the lectures on flows, GANs and diffusion.

Every toy is a sampler, `sample(n, generator=None, device=None, dtype=torch.float32)` giving
an (n, 2) tensor, with a `name`. Where the density is known in closed form it also has
`log_prob(x)` (nats, one value per point) and `has_log_prob = True`, so a flow's learned
log p̂(x) can be compared with the truth; the others raise NotImplementedError.

    closed form             samplers only
    ---------------------   ------------------------------
    GaussianMixture2D       TwoMoons        ("moons")
    EightGaussians          SwissRoll       ("swissroll")
    ("8gaussians")          ConcentricRings ("rings")
    Checkerboard
    ("checkerboard")

Draws are made with `generator` (a CPU `torch.Generator` unless you pass one of your own
device) and moved to `device`; the same seed gives the same points. `log_prob` follows the
device and dtype of x. `toy_dataset` and `toy_splits` wrap the samplers as seeded
`TensorDataset`s whose batches are `(x,)`, the trainer's contract.

For the GAN lecture's optimal discriminator D*(x) = p_d(x) / (p_d(x) + p_m(x)) in one
dimension, `gan_mixture_1d()` gives a two-mode data density (a
`coursekit.divergences.GaussianMixture1D`) and `optimal_discriminator` evaluates D*.
"""
from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any, NamedTuple, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from ..utils import draw_device, seeded_generator
from ..divergences import GaussianMixture1D

__all__ = [
    "Toy2D", "GaussianMixture2D", "EightGaussians", "Checkerboard", "TwoMoons", "SwissRoll",
    "ConcentricRings", "TOY_NAMES", "toy_distribution", "toy_dataset", "ToySplits", "toy_splits",
    "gan_mixture_1d", "optimal_discriminator",
]

_LOG_2PI = math.log(2 * math.pi)


def _check_n(n: Any) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n (the number of samples) must be a positive int, got {n!r}")
    return int(n)


def _check_positive(value: Any, name: str, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def _check_seed(seed: Any) -> None:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def _check_points(x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor of points (..., 2), got {type(x).__name__}")
    if x.dim() < 1 or x.shape[-1] != 2:
        raise ValueError(f"x must have shape (..., 2) (points in the plane), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    return x


class Toy2D:
    """A 2-D toy distribution: `sample(n)` always, `log_prob(x)` where `has_log_prob` is True.

    Subclasses implement `_sample(n, generator, dtype, device)`, which draws on `device` (the
    generator's), and, for closed-form densities, `log_prob`.
    """

    name: str = "toy2d"
    has_log_prob: bool = False

    def sample(self, n: int, generator: torch.Generator | None = None,
               device: str | torch.device | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
        """n points, shape (n, 2), dtype `dtype`, on `device` (default: the CPU).

        Drawn by the package's rule (`coursekit.utils.draw_device`): with `generator`, on its
        device (a seeded CPU generator gives the same points whatever `device` is), then moved;
        without one, from torch's global stream on `device` itself.
        """
        n = _check_n(n)
        if not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating-point dtype, got {dtype}")
        draw_on = draw_device(generator, device if device is not None else "cpu")
        x = self._sample(n, generator, dtype, draw_on)  # (n, 2)
        return x.to(device) if device is not None else x

    def _sample(self, n: int, generator: torch.Generator | None, dtype: torch.dtype,
                device: torch.device) -> Tensor:
        raise NotImplementedError

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) in nats for points x (..., 2), shape x.shape[:-1]; only where `has_log_prob`."""
        raise NotImplementedError(
            f"{type(self).__name__} ({self.name!r}) has no closed-form density (has_log_prob is False): "
            f"use it as a sampler only, or pick one of GaussianMixture2D, EightGaussians, Checkerboard")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, has_log_prob={self.has_log_prob})"


# --- closed-form densities ---------------------------------------------------------------

class GaussianMixture2D(Toy2D):
    """p(x) = Σ_k w_k N(x; μ_k, Σ_k) in the plane.

    `means` (K, 2); exactly one of `covariances` (K, 2, 2), symmetric positive definite, or
    `stds`: a number (the same isotropic σ for all), (K,) (isotropic σ_k, Σ_k = σ_k² I) or
    (K, 2) (diagonal, Σ_k = diag(σ_k1², σ_k2²)); `weights` (K,) ≥ 0 summing to 1 (default
    uniform). Parameters are kept as float64 CPU tensors and cast to x's device and dtype in
    `log_prob`.

    With Σ_k = L_k L_kᵀ (Cholesky) and z = L_k⁻¹ (x − μ_k),
        log N(x; μ_k, Σ_k) = −½ |z|² − log |L_k| − log 2π,   |L_k| = L_k,11 · L_k,22,
    and log p(x) = logsumexp_k [log w_k + log N(x; μ_k, Σ_k)].
    """

    name = "gaussian_mixture_2d"
    has_log_prob = True

    def __init__(self, means: Any, covariances: Any = None, stds: Any = None, weights: Any = None):
        means = torch.as_tensor(means, dtype=torch.float64).cpu()
        if means.dim() != 2 or means.shape[1] != 2 or means.shape[0] == 0:
            raise ValueError(f"means must have shape (K, 2) with K >= 1, got {tuple(means.shape)}")
        if not torch.isfinite(means).all():
            raise ValueError(f"means must be finite, got {means.tolist()}")
        k = means.shape[0]
        if (covariances is None) == (stds is None):
            raise ValueError("give exactly one of covariances (K, 2, 2) or stds (a number, (K,) or (K, 2)), "
                             f"got covariances={'None' if covariances is None else '...'} and "
                             f"stds={'None' if stds is None else '...'}")
        if stds is not None:
            stds = torch.as_tensor(stds, dtype=torch.float64).cpu()
            if stds.dim() == 0:
                stds = stds.expand(k, 2)
            elif stds.shape == (k,):
                stds = stds[:, None].expand(k, 2)  # (K, 2): isotropic
            if stds.shape != (k, 2):
                raise ValueError(f"stds must be a number, ({k},) or ({k}, 2) for {k} components, "
                                 f"got {tuple(stds.shape)}")
            if not (torch.isfinite(stds).all() and (stds > 0).all()):
                raise ValueError(f"stds must be finite and > 0, got {stds.tolist()}")
            covariances = torch.diag_embed(stds**2)  # (K, 2, 2)
        covariances = torch.as_tensor(covariances, dtype=torch.float64).cpu()
        if covariances.shape != (k, 2, 2):
            raise ValueError(f"covariances must have shape ({k}, 2, 2) for {k} components, "
                             f"got {tuple(covariances.shape)}")
        if not torch.allclose(covariances, covariances.transpose(1, 2)):
            raise ValueError(f"covariances must be symmetric, got {covariances.tolist()}")
        scale_tril, info = torch.linalg.cholesky_ex(covariances)  # L_k with Σ_k = L_k L_kᵀ
        if (info != 0).any():
            raise ValueError(f"covariances must be positive definite, got {covariances.tolist()}")
        if weights is None:
            weights = torch.full((k,), 1.0 / k, dtype=torch.float64)
        weights = torch.as_tensor(weights, dtype=torch.float64).cpu()
        if weights.shape != (k,):
            raise ValueError(f"weights must have shape ({k},), one per component, got {tuple(weights.shape)}")
        if not torch.isfinite(weights).all() or (weights < 0).any() or abs(weights.sum().item() - 1) > 1e-6:
            raise ValueError(f"weights must be >= 0 and sum to 1, got {weights.tolist()}")
        self.means = means  # (K, 2)
        self.covariances = covariances  # (K, 2, 2)
        self.scale_tril = scale_tril  # (K, 2, 2), lower triangular
        self.weights = weights  # (K,)

    def _sample(self, n, generator, dtype, device):
        # k ~ Categorical(w), then x = μ_k + L_k ε with ε ~ N(0, I)
        k = torch.multinomial(self.weights.to(device), n, replacement=True, generator=generator)  # (n,)
        eps = torch.randn(n, 2, 1, generator=generator, dtype=dtype, device=device)  # (n, 2, 1)
        means = self.means.to(device=device, dtype=dtype)
        scale_tril = self.scale_tril.to(device=device, dtype=dtype)
        return means[k] + (scale_tril[k] @ eps).squeeze(-1)  # (n, 2)

    def component_log_prob(self, x: Tensor) -> Tensor:
        """log N(x; μ_k, Σ_k) for every component, shape (*x.shape[:-1], K)."""
        x = _check_points(x)
        means = self.means.to(device=x.device, dtype=x.dtype)
        tril = self.scale_tril.to(device=x.device, dtype=x.dtype)  # (K, 2, 2)
        d = x.unsqueeze(-2) - means  # (..., K, 2): x − μ_k
        # z = L⁻¹ d by forward substitution on the 2×2 lower-triangular L
        l11, l21, l22 = tril[:, 0, 0], tril[:, 1, 0], tril[:, 1, 1]  # (K,) each
        z1 = d[..., 0] / l11  # (..., K)
        z2 = (d[..., 1] - l21 * z1) / l22
        return -0.5 * (z1**2 + z2**2) - torch.log(l11) - torch.log(l22) - _LOG_2PI

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) = logsumexp_k [log w_k + log N(x; μ_k, Σ_k)] for x (..., 2), shape x.shape[:-1]."""
        log_components = self.component_log_prob(x)  # (..., K)
        log_w = torch.log(self.weights.to(device=x.device, dtype=x.dtype))
        return torch.logsumexp(log_w + log_components, dim=-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(K={self.means.shape[0]})"


class EightGaussians(GaussianMixture2D):
    """8 equal-weight isotropic Gaussians N(μ_k, σ² I) with μ_k = r (cos 2πk/8, sin 2πk/8).

    The classic mode-collapse test for GANs: `modes` (8, 2) and `std` σ let a metric count
    how many of the 8 modes a model's samples reach (e.g. within 3σ of a mode).
    """

    name = "8gaussians"

    def __init__(self, radius: float = 2.0, std: float = 0.1):
        self.radius = _check_positive(radius, "radius")
        self.std = _check_positive(std, "std")
        angles = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8  # θ_k = 2πk/8
        modes = self.radius * torch.stack([angles.cos(), angles.sin()], dim=1)  # (8, 2)
        super().__init__(means=modes, stds=self.std)

    @property
    def modes(self) -> Tensor:
        """The 8 mode centres μ_k, (8, 2) float64."""
        return self.means

    def __repr__(self) -> str:
        return f"EightGaussians(radius={self.radius}, std={self.std})"


class Checkerboard(Toy2D):
    """Uniform on the black squares of a `cells` × `cells` board covering [−bound, bound]².

    Square (i, j) (column i, row j, counted from the bottom-left, 0-based) is
    [−b + i h, −b + (i+1) h) × [−b + j h, −b + (j+1) h) with h = 2b / cells; it is black when
    i + j is even. With B black squares the black area is A = B h², and
        log p(x) = −log A on a black square, −inf elsewhere.
    The default 4 × 4 board on [−2, 2]² has 8 black unit squares: log p = −log 8 there.
    """

    name = "checkerboard"
    has_log_prob = True

    def __init__(self, cells: int = 4, bound: float = 2.0):
        if not isinstance(cells, (int, np.integer)) or isinstance(cells, bool) or cells < 2:
            raise ValueError(f"cells (squares per side) must be an int >= 2, got {cells!r}")
        self.cells = int(cells)
        self.bound = _check_positive(bound, "bound")
        self.cell_size = 2 * self.bound / self.cells  # h
        i, j = torch.meshgrid(torch.arange(self.cells), torch.arange(self.cells), indexing="ij")
        black = (i + j) % 2 == 0
        self.black_cells = torch.stack([i[black], j[black]], dim=1)  # (B, 2): (column, row)
        self.area = self.black_cells.shape[0] * self.cell_size**2  # A = B h²

    def _sample(self, n, generator, dtype, device):
        # pick a black square uniformly (all have the same area), then a uniform point in it
        pick = torch.randint(self.black_cells.shape[0], (n,), generator=generator, device=device)  # (n,)
        corner = -self.bound + self.cell_size * self.black_cells.to(device)[pick].to(dtype)  # (n, 2)
        return corner + self.cell_size * torch.rand(n, 2, generator=generator, dtype=dtype, device=device)

    def is_black(self, x: Tensor) -> Tensor:
        """True where x (..., 2) lies on a black square (boolean, shape x.shape[:-1])."""
        x = _check_points(x)
        cell = torch.floor((x + self.bound) / self.cell_size)  # (..., 2): (i, j), real-valued
        on_board = ((cell >= 0) & (cell < self.cells)).all(dim=-1)
        return on_board & (cell.sum(dim=-1) % 2 == 0)

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) = −log A on the black squares, −inf elsewhere; shape x.shape[:-1]."""
        inside = self.is_black(x)
        log_p = torch.full(inside.shape, -math.log(self.area), dtype=x.dtype, device=x.device)
        return log_p.masked_fill(~inside, float("-inf"))

    def __repr__(self) -> str:
        return f"Checkerboard(cells={self.cells}, bound={self.bound})"


# --- samplers only -----------------------------------------------------------------------

class TwoMoons(Toy2D):
    """Two interleaved half circles plus Gaussian noise (scikit-learn's make_moons, in torch).

    Upper moon: (cos t, sin t); lower moon: (1 − cos t, ½ − sin t), t ~ U[0, π], each with
    probability ½; then x += σ ε, ε ~ N(0, I), and the whole is shifted by (−½, −¼) so the
    data is centred on the origin (it spans about [−1.5, 1.5] × [−0.75, 0.75]).
    """

    name = "moons"

    def __init__(self, noise: float = 0.1):
        self.noise = _check_positive(noise, "noise", allow_zero=True)

    def _sample(self, n, generator, dtype, device):
        t = math.pi * torch.rand(n, generator=generator, dtype=dtype, device=device)  # (n,)
        lower = torch.rand(n, generator=generator, device=device) < 0.5  # which moon
        upper_xy = torch.stack([t.cos(), t.sin()], dim=1)  # (n, 2)
        lower_xy = torch.stack([1 - t.cos(), 0.5 - t.sin()], dim=1)
        x = torch.where(lower[:, None], lower_xy, upper_xy)
        x = x + self.noise * torch.randn(n, 2, generator=generator, dtype=dtype, device=device)
        return x - torch.tensor([0.5, 0.25], dtype=dtype, device=device)

    def __repr__(self) -> str:
        return f"TwoMoons(noise={self.noise})"


class SwissRoll(Toy2D):
    """A 2-D Swiss roll: x = t (cos t, sin t) / 5 + σ ε, t = 1.5π (1 + 2u), u ~ U[0, 1].

    The spiral winds from radius 0.94 out to 2.83 (one and a half turns), so it fits in
    [−3, 3]² like the other toys; σ is the noise on that scale.
    """

    name = "swissroll"

    def __init__(self, noise: float = 0.05):
        self.noise = _check_positive(noise, "noise", allow_zero=True)

    def _sample(self, n, generator, dtype, device):
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator, dtype=dtype, device=device))  # (n,)
        x = t[:, None] * torch.stack([t.cos(), t.sin()], dim=1) / 5  # (n, 2)
        return x + self.noise * torch.randn(n, 2, generator=generator, dtype=dtype, device=device)

    def __repr__(self) -> str:
        return f"SwissRoll(noise={self.noise})"


class ConcentricRings(Toy2D):
    """Concentric circles of radii r_k plus Gaussian noise: x = r_k (cos θ, sin θ) + σ ε.

    θ ~ U[0, 2π), and ring k is picked with probability r_k / Σ_j r_j (proportional to its
    circumference), so the points are spread evenly along the total arc length.
    """

    name = "rings"

    def __init__(self, radii: Sequence[float] = (0.5, 1.25, 2.0), noise: float = 0.05):
        radii = tuple(radii)
        if len(radii) < 1:
            raise ValueError(f"radii must hold at least one radius, got {radii!r}")
        self.radii = tuple(_check_positive(r, "each radius") for r in radii)
        self.noise = _check_positive(noise, "noise", allow_zero=True)

    def _sample(self, n, generator, dtype, device):
        r = torch.tensor(self.radii, dtype=torch.float64, device=device)  # (K,)
        ring = torch.multinomial(r / r.sum(), n, replacement=True, generator=generator)  # (n,)
        theta = 2 * math.pi * torch.rand(n, generator=generator, dtype=dtype, device=device)  # (n,)
        x = r.to(dtype)[ring, None] * torch.stack([theta.cos(), theta.sin()], dim=1)  # (n, 2)
        return x + self.noise * torch.randn(n, 2, generator=generator, dtype=dtype, device=device)

    def __repr__(self) -> str:
        return f"ConcentricRings(radii={self.radii}, noise={self.noise})"


# --- named toys as data sets -------------------------------------------------------------

_TOYS = MappingProxyType({
    "moons": TwoMoons,
    "8gaussians": EightGaussians,
    "swissroll": SwissRoll,
    "checkerboard": Checkerboard,
    "rings": ConcentricRings,
})

TOY_NAMES: tuple[str, ...] = tuple(_TOYS)
"""The names `toy_distribution`, `toy_dataset` and `toy_splits` accept."""


def toy_distribution(name: str, **kwargs: Any) -> Toy2D:
    """The toy called `name` (one of TOY_NAMES), built with `kwargs` (e.g. `std=0.2`)."""
    if name not in _TOYS:
        raise ValueError(f"name must be one of {list(TOY_NAMES)}, got {name!r}")
    return _TOYS[name](**kwargs)


def toy_dataset(name: str, n: int, seed: int = 0, **kwargs: Any) -> TensorDataset:
    """n float32 points of the toy `name`, drawn with a generator seeded by `seed`; batches are `(x,)`."""
    _check_seed(seed)
    x = toy_distribution(name, **kwargs).sample(n, generator=seeded_generator(seed))
    return TensorDataset(x)


class ToySplits(NamedTuple):
    train: TensorDataset
    val: TensorDataset
    test: TensorDataset


def toy_splits(name: str, n_train: int = 10_000, n_val: int = 2_000, n_test: int = 2_000,
               seed: int = 0, **kwargs: Any) -> ToySplits:
    """Train / val / test `TensorDataset`s of float32 points (n, 2) of the toy `name`.

    Each split is drawn with its own generator, seeded from `seed` by NumPy's SeedSequence,
    so the splits are independent streams and the validation and test points do not change
    when `n_train` does. Batches from a DataLoader are `(x,)`, the trainer's contract.
    """
    _check_seed(seed)
    toy = toy_distribution(name, **kwargs)
    children = np.random.SeedSequence(int(seed)).spawn(3)
    parts = {}
    for split, n, child in zip(ToySplits._fields, (n_train, n_val, n_test), children):
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n_{split} must be a positive int, got {n!r}")
        generator = seeded_generator(int(child.generate_state(1, np.uint64)[0] >> 1))
        parts[split] = TensorDataset(toy.sample(int(n), generator=generator))
    return ToySplits(**parts)


# --- one dimension: the GAN lecture's optimal discriminator -------------------------------

def gan_mixture_1d(means: Sequence[float] = (-2.0, 2.0), stds: Sequence[float] = (0.5, 0.5),
                   weights: Sequence[float] = (0.5, 0.5)) -> GaussianMixture1D:
    """The data density p_d of the GAN lecture: by default ½ N(−2, 0.5²) + ½ N(2, 0.5²).

    Two well-separated modes, so a model p_m that covers only one (mode collapse) gives a
    discriminator D*(x) near 1 on the other. A `coursekit.divergences.GaussianMixture1D`
    (float64): `.sample(n, generator)` and `.log_prob(x)`.
    """
    return GaussianMixture1D(means=list(means), stds=list(stds), weights=list(weights))


def optimal_discriminator(log_p_data: Tensor, log_p_model: Tensor) -> Tensor:
    """D*(x) = p_d(x) / (p_d(x) + p_m(x)) = σ(log p_d(x) − log p_m(x)), from the two log-densities.

    The best discriminator for a fixed generator (Goodfellow et al., 2014, Proposition 1).
    Computed through the sigmoid of the log-ratio, so it stays exact where both densities
    underflow; it is ½ where p_d = p_m and undefined (NaN) where both are exactly 0.
    """
    if log_p_data.shape != log_p_model.shape:
        raise ValueError(f"log_p_data and log_p_model must have the same shape, "
                         f"got {tuple(log_p_data.shape)} and {tuple(log_p_model.shape)}")
    return torch.sigmoid(log_p_data - log_p_model)
