"""KL and JS divergences in one dimension, and the forward vs reverse KL fits of lecture 00.

The lecture fits a single Gaussian q = N(μ, σ²) to a two-mode mixture p in two ways:

- forward KL, KL(p‖q) = E_p[log p − log q]: the expectation is under p, so q is punished
  wherever p has mass and q has none. The minimiser covers every mode (mode covering,
  "zero-avoiding") and is found in closed form by moment matching.
- reverse KL, KL(q‖p) = E_q[log q − log p]: the expectation is under q, so q is punished
  wherever q has mass and p has none. The minimiser sits on one mode (mode seeking,
  "zero-forcing") and is found here by gradient descent.

Every density is handled through its log: log p(x) of a mixture is a logsumexp, so it stays
finite where p(x) itself underflows to 0, and 0 · log 0 is taken as 0, never as a NaN.
Everything is float64 unless the mixture's tensors say otherwise; the device follows them.

    p = two_component_mixture(separation=8.0)
    fit_gaussian_forward_kl(p)   # (0.0, 4.12...): one wide Gaussian over both modes
    fit_gaussian_reverse_kl(p)   # (±4.0, 1.0): one of the two modes
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor

from .utils import draw_device, randn

__all__ = [
    "GaussianMixture1D",
    "two_component_mixture",
    "gaussian_log_prob",
    "default_grid",
    "kl_divergence_on_grid",
    "js_divergence_on_grid",
    "forward_kl",
    "reverse_kl",
    "fit_gaussian_forward_kl",
    "fit_gaussian_reverse_kl",
]

LogDensity = Callable[[Tensor], Tensor]

_LOG_2PI = math.log(2 * math.pi)


def gaussian_log_prob(x: Tensor, mu: Tensor | float, sigma: Tensor | float) -> Tensor:
    """log N(x; μ, σ²) = −½((x − μ)/σ)² − log σ − ½ log 2π, broadcast over x, μ and σ."""
    mu = torch.as_tensor(mu, dtype=x.dtype, device=x.device)
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    z = (x - mu) / sigma
    return -0.5 * z**2 - torch.log(sigma) - 0.5 * _LOG_2PI


@dataclass(frozen=True)
class GaussianMixture1D:
    """p(x) = Σ_k w_k N(x; m_k, s_k²): `means` m_k, `stds` s_k > 0, `weights` w_k ≥ 0 summing to 1.

    Lists, NumPy arrays and tensors are accepted; they are stored as 1-D tensors, float64
    unless a floating-point tensor is given, on the device of the first tensor given.
    """

    means: Tensor
    stds: Tensor
    weights: Tensor

    def __post_init__(self) -> None:
        given = [v for v in (self.means, self.stds, self.weights) if isinstance(v, Tensor)]
        like = given[0] if given else None
        dtype = like.dtype if like is not None and like.is_floating_point() else torch.float64
        device = like.device if like is not None else torch.device("cpu")
        for name in ("means", "stds", "weights"):
            value = torch.as_tensor(getattr(self, name), dtype=dtype, device=device)
            object.__setattr__(self, name, value)  # frozen dataclass: set once, here
        self._check()

    def _check(self) -> None:
        for name in ("means", "stds", "weights"):
            value = getattr(self, name)
            if value.ndim != 1 or value.numel() == 0:
                raise ValueError(f"{name} must be a non-empty 1-D sequence (one entry per component), "
                                 f"got shape {tuple(value.shape)}")
            if not torch.isfinite(value).all():
                raise ValueError(f"{name} must be finite, got {value.tolist()}")
        sizes = {name: getattr(self, name).numel() for name in ("means", "stds", "weights")}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"means, stds and weights must have one entry per component, got sizes {sizes}")
        if (self.stds <= 0).any():
            raise ValueError(f"stds must be > 0, got {self.stds.tolist()}")
        if (self.weights < 0).any():
            raise ValueError(f"weights must be >= 0, got {self.weights.tolist()}")
        total = self.weights.sum().item()
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, got {self.weights.tolist()} (sum {total:.6g})")

    @property
    def dtype(self) -> torch.dtype:
        return self.means.dtype

    @property
    def device(self) -> torch.device:
        return self.means.device

    def log_prob(self, x: Tensor | float) -> Tensor:
        """log p(x) = logsumexp_k [log w_k + log N(x; m_k, s_k²)], elementwise, same shape as x.

        Computed in log space, so it is finite far in the tails where p(x) underflows to 0
        (and a component with w_k = 0 contributes log 0 = −inf, which logsumexp ignores).
        """
        x = torch.as_tensor(x, dtype=self.dtype, device=self.device)
        log_components = gaussian_log_prob(x.unsqueeze(-1), self.means, self.stds)  # (*x.shape, K)
        return torch.logsumexp(torch.log(self.weights) + log_components, dim=-1)  # (*x.shape,)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n draws: pick component k with probability w_k, then x = m_k + s_k ε with ε ~ N(0, 1)."""
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        on = draw_device(generator, self.device)       # the package's rule: the generator's device, else p's
        k = torch.multinomial(self.weights.to(on), n, replacement=True, generator=generator).to(self.device)  # (n,)
        eps = randn((n,), device=self.device, dtype=self.dtype, generator=generator)
        return self.means[k] + self.stds[k] * eps

    def mean(self) -> Tensor:
        """E_p[x] = Σ_k w_k m_k."""
        return (self.weights * self.means).sum()

    def variance(self) -> Tensor:
        """Var_p[x] = Σ_k w_k (s_k² + m_k²) − (E_p[x])², the law of total variance."""
        second_moment = (self.weights * (self.stds**2 + self.means**2)).sum()
        return second_moment - self.mean() ** 2


def two_component_mixture(separation: float, std: float = 1.0, weight: float = 0.5) -> GaussianMixture1D:
    """The lecture's p: weight · N(−separation/2, std²) + (1 − weight) · N(+separation/2, std²)."""
    if not separation >= 0:
        raise ValueError(f"separation must be >= 0 (the distance between the two modes), got {separation!r}")
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std!r}")
    if not 0 <= weight <= 1:
        raise ValueError(f"weight (of the first component) must be in [0, 1], got {weight!r}")
    half = separation / 2
    return GaussianMixture1D(means=[-half, half], stds=[std, std], weights=[weight, 1 - weight])


def default_grid(p: GaussianMixture1D, width: float = 8.0, points_per_std: int = 25) -> Tensor:
    """An evenly spaced grid over [min_k(m_k − width·s_k), max_k(m_k + width·s_k)].

    With width 8 the mass left outside is below 1e-14, and `points_per_std` points per
    smallest component std make the trapezoid rule accurate to far better than 1e-6 (the
    grid has 501 to 20001 points; widely different stds may need a grid of your own).
    """
    lo = (p.means - width * p.stds).min().item()
    hi = (p.means + width * p.stds).max().item()
    step = p.stds.min().item() / points_per_std
    num = min(max(math.ceil((hi - lo) / step) + 1, 501), 20001)
    return torch.linspace(lo, hi, num, dtype=p.dtype, device=p.device)


def _check_grid(grid: Tensor) -> None:
    if not isinstance(grid, Tensor) or grid.ndim != 1 or grid.numel() < 2:
        shape = tuple(grid.shape) if isinstance(grid, Tensor) else type(grid).__name__
        raise ValueError(f"grid must be a 1-D tensor of at least 2 points, got {shape}")
    if not (grid[1:] > grid[:-1]).all():
        raise ValueError("grid must be strictly increasing")


def _kl_integrand(log_p: Tensor, log_q: Tensor) -> Tensor:
    """p (log p − log q) pointwise, with 0 · log(0/q) = 0 and p · log(p/0) = +inf."""
    p_is_zero = log_p == float("-inf")
    log_ratio = torch.where(p_is_zero, torch.zeros_like(log_p), log_p - log_q)  # no (−inf) − (−inf) = NaN
    return torch.exp(log_p) * log_ratio


def _log_densities_on(grid: Tensor, log_p: LogDensity, log_q: LogDensity) -> tuple[Tensor, Tensor]:
    _check_grid(grid)
    values = log_p(grid), log_q(grid)
    for name, value in zip(("log_p", "log_q"), values):
        if tuple(value.shape) != tuple(grid.shape):
            raise ValueError(f"{name}(grid) must return one value per grid point, shape {tuple(grid.shape)}, "
                             f"got {tuple(value.shape)}")
    return values


def kl_divergence_on_grid(log_p: LogDensity, log_q: LogDensity, grid: Tensor) -> Tensor:
    """KL(p‖q) = ∫ p(x) [log p(x) − log q(x)] dx by the trapezoid rule on a 1-D grid, in nats.

    `log_p` and `log_q` map a tensor of points to their log-densities. The grid must cover
    p's mass; the result is +inf where p > 0 and q = 0 somewhere on the grid.
    """
    lp, lq = _log_densities_on(grid, log_p, log_q)
    return torch.trapezoid(_kl_integrand(lp, lq), grid)


def js_divergence_on_grid(log_p: LogDensity, log_q: LogDensity, grid: Tensor) -> Tensor:
    """JS(p‖q) = ½ KL(p‖m) + ½ KL(q‖m) with m = ½(p + q), on a 1-D grid, in nats.

    Symmetric, and 0 ≤ JS ≤ log 2: 0 when p = q, log 2 when p and q do not overlap.
    log m = logaddexp(log p, log q) − log 2 stays in log space.
    """
    lp, lq = _log_densities_on(grid, log_p, log_q)
    lm = torch.logaddexp(lp, lq) - math.log(2)
    return 0.5 * torch.trapezoid(_kl_integrand(lp, lm) + _kl_integrand(lq, lm), grid)


def forward_kl(p: GaussianMixture1D, mu: float, sigma: float, grid: Tensor | None = None) -> float:
    """KL(p‖q) for q = N(μ, σ²), on `grid` (default: `default_grid(p)`)."""
    grid = default_grid(p) if grid is None else grid
    q = lambda x: gaussian_log_prob(x, mu, sigma)  # noqa: E731
    return kl_divergence_on_grid(p.log_prob, q, grid).item()


def reverse_kl(p: GaussianMixture1D, mu: float, sigma: float, grid: Tensor | None = None) -> float:
    """KL(q‖p) for q = N(μ, σ²), on `grid` (default: `default_grid(p)`)."""
    grid = default_grid(p) if grid is None else grid
    q = lambda x: gaussian_log_prob(x, mu, sigma)  # noqa: E731
    return kl_divergence_on_grid(q, p.log_prob, grid).item()


def fit_gaussian_forward_kl(p: GaussianMixture1D) -> tuple[float, float]:
    """The (μ, σ) minimising the forward KL(p‖N(μ, σ²)), in closed form: moment matching.

    KL(p‖q) = E_p[log p] − E_p[log q], and only the second term depends on q:
    −E_p[log q] = ½ log 2πσ² + E_p[(x − μ)²] / 2σ². Setting its derivatives to zero gives
    μ = E_p[x] and σ² = Var_p[x]. Because the expectation is under p, q must put mass
    wherever p does (log q → −∞ there would cost +∞): the fit is mode covering,
    "zero-avoiding", and for two far-apart modes it puts its mean between them, where p has
    almost no mass.
    """
    return p.mean().item(), p.variance().sqrt().item()


def _default_inits(p: GaussianMixture1D) -> list[float]:
    """Each mode with non-zero weight, and the mixture mean (the forward fit's μ)."""
    modes = p.means[p.weights > 0].tolist()
    return list(dict.fromkeys([*modes, p.mean().item()]))


def fit_gaussian_reverse_kl(
    p: GaussianMixture1D,
    grid: Tensor | None = None,
    steps: int = 150,
    inits: Sequence[float] | None = None,
    lr: float = 0.05,
) -> tuple[float, float]:
    """The (μ, σ) minimising the reverse KL(N(μ, σ²)‖p), by gradient descent.

    KL(q‖p) = E_q[log q − log p] is integrated on `grid` (default: `default_grid(p)`) by
    the trapezoid rule and minimised with Adam over θ = (μ, log σ) (log σ keeps σ > 0), with
    the step size decayed to 0 along a cosine. Because the expectation is under q, q is punished
    wherever it puts mass and p has none (log p → −∞ there), but not for missing some of
    p's mass: the fit is mode seeking, "zero-forcing", and for two far-apart modes it sits on
    one of them. The objective then has one local minimum per mode, so every start in
    `inits` (default: each mode and the mixture mean; all with σ₀ = √(Σ_k w_k s_k²)) is run
    and the lowest KL(q‖p) is kept. The starts run together as one batch; there is no
    randomness, so the same p gives the same fit twice.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    grid = default_grid(p) if grid is None else grid
    _check_grid(grid)
    inits = _default_inits(p) if inits is None else list(inits)
    if not inits:
        raise ValueError("inits must hold at least one initial mean, got an empty sequence")

    log_p = p.log_prob(grid).detach()  # (G,): p does not move, so log p is computed once
    sigma_init = (p.weights * p.stds**2).sum().sqrt().item()
    mu = torch.tensor(inits, dtype=grid.dtype, device=grid.device)  # (S,), one start per row
    theta = torch.stack([mu, torch.full_like(mu, math.log(sigma_init))], dim=1)  # (S, 2): (μ, log σ)

    def reverse_kl_per_start(theta: Tensor) -> Tensor:
        mu, sigma = theta[:, :1], theta[:, 1:].exp()  # (S, 1) each
        log_q = gaussian_log_prob(grid, mu, sigma)  # (S, G)
        return torch.trapezoid(_kl_integrand(log_q, log_p), grid)  # (S,): KL(q‖p) per start

    theta = _adam(reverse_kl_per_start, theta, steps=steps, lr=lr)
    with torch.no_grad():
        best = reverse_kl_per_start(theta).argmin()
    return theta[best, 0].item(), theta[best, 1].exp().item()


def _adam(
    loss_per_row: Callable[[Tensor], Tensor],
    theta: Tensor,
    steps: int,
    lr: float,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> Tensor:
    """Minimise each row of `loss_per_row(theta)` with Adam (Kingma & Ba, 2015, Algorithm 1).

    The step size follows a cosine from `lr` down to 0, as torch.optim.Adam with
    CosineAnnealingLR(T_max=steps) does (a test checks they agree). Written out because it
    is six lines, and because torch.optim's first use imports torch._dynamo (about 2 s),
    which the lecture's first slider move should not wait for. Rows do not interact: the
    sum's gradient with respect to row i is row i's own gradient, and Adam is elementwise.
    """
    beta1, beta2 = betas
    theta = theta.detach().clone().requires_grad_(True)
    m = torch.zeros_like(theta)  # first moment of the gradient
    v = torch.zeros_like(theta)  # second moment
    for t in range(1, steps + 1):
        (g,) = torch.autograd.grad(loss_per_row(theta).sum(), theta)
        m = beta1 * m + (1 - beta1) * g  # m_t = β₁ m_{t−1} + (1 − β₁) g_t
        v = beta2 * v + (1 - beta2) * g**2  # v_t = β₂ v_{t−1} + (1 − β₂) g_t²
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)  # bias correction
        lr_t = lr * 0.5 * (1 + math.cos(math.pi * (t - 1) / steps))  # cosine decay
        with torch.no_grad():
            theta -= lr_t * m_hat / (v_hat.sqrt() + eps)  # θ_t = θ_{t−1} − α_t m̂_t / (√v̂_t + ε)
    return theta.detach()
