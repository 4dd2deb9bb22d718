"""The properties lecture 00 claims about KL, JS and the forward vs reverse KL fits."""
import math

import pytest
import torch

from coursekit.divergences import (
    GaussianMixture1D,
    default_grid,
    fit_gaussian_forward_kl,
    fit_gaussian_reverse_kl,
    forward_kl,
    gaussian_log_prob,
    js_divergence_on_grid,
    kl_divergence_on_grid,
    reverse_kl,
    two_component_mixture,
)

GRID = torch.linspace(-30.0, 30.0, 6001, dtype=torch.float64)


def normal(mu: float, sigma: float):
    return lambda x: gaussian_log_prob(x, mu, sigma)


def closed_form_gaussian_kl(m1: float, s1: float, m2: float, s2: float) -> float:
    """KL(N(m1, s1²) ‖ N(m2, s2²)) = log(s2/s1) + (s1² + (m1 − m2)²) / (2 s2²) − ½."""
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


# ---------------------------------------------------------------------------------- the mixture


def test_mixture_log_prob_integrates_to_one_and_matches_the_sum_of_components():
    p = GaussianMixture1D(means=[-1.0, 2.0], stds=[0.5, 1.5], weights=[0.3, 0.7])
    assert torch.trapezoid(p.log_prob(GRID).exp(), GRID).item() == pytest.approx(1.0, abs=1e-10)
    x = torch.tensor([-1.0, 0.0, 3.0], dtype=torch.float64)
    by_hand = 0.3 * gaussian_log_prob(x, -1.0, 0.5).exp() + 0.7 * gaussian_log_prob(x, 2.0, 1.5).exp()
    torch.testing.assert_close(p.log_prob(x), by_hand.log())


def test_mixture_log_prob_is_finite_where_the_density_underflows():
    p = two_component_mixture(separation=4.0)
    far = torch.tensor([-200.0, 200.0], dtype=torch.float64)
    assert (p.log_prob(far).exp() == 0).all()
    assert torch.isfinite(p.log_prob(far)).all()


def test_mixture_moments_match_samples():
    p = GaussianMixture1D(means=[-2.0, 3.0], stds=[1.0, 0.5], weights=[0.25, 0.75])
    x = p.sample(200_000, generator=torch.Generator().manual_seed(0))
    assert x.dtype == torch.float64 and x.shape == (200_000,)
    assert p.mean().item() == pytest.approx(1.75)
    assert x.mean().item() == pytest.approx(p.mean().item(), abs=0.02)
    assert x.var().item() == pytest.approx(p.variance().item(), rel=0.01)


def test_two_component_mixture_puts_modes_at_plus_minus_half_the_separation():
    p = two_component_mixture(separation=6.0, std=0.5, weight=0.2)
    assert p.means.tolist() == [-3.0, 3.0]
    assert p.stds.tolist() == [0.5, 0.5]
    assert p.weights.tolist() == pytest.approx([0.2, 0.8])


def test_float32_tensors_keep_their_dtype():
    p = GaussianMixture1D(torch.zeros(1), torch.ones(1), torch.ones(1))
    assert p.dtype == torch.float32
    assert two_component_mixture(1.0).dtype == torch.float64


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(means=[0.0, 1.0], stds=[1.0, -1.0], weights=[0.5, 0.5]), "stds must be > 0"),
        (dict(means=[0.0, 1.0], stds=[1.0, 1.0], weights=[0.5, 0.6]), "sum to 1"),
        (dict(means=[0.0, 1.0], stds=[1.0, 1.0], weights=[1.5, -0.5]), "weights must be >= 0"),
        (dict(means=[0.0, 1.0], stds=[1.0], weights=[0.5, 0.5]), "one entry per component"),
        (dict(means=[[0.0]], stds=[[1.0]], weights=[[1.0]]), "got shape (1, 1)"),
    ],
)
def test_bad_mixtures_raise_value_errors_that_say_what_came(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        GaussianMixture1D(**kwargs)


@pytest.mark.parametrize(
    "kwargs", [dict(separation=-1.0), dict(separation=1.0, std=0.0), dict(separation=1.0, weight=1.2)]
)
def test_bad_two_component_arguments_raise(kwargs):
    with pytest.raises(ValueError, match="got"):
        two_component_mixture(**kwargs)


# ---------------------------------------------------------------------------------- KL and JS


def test_kl_is_zero_for_identical_densities_and_positive_otherwise():
    assert kl_divergence_on_grid(normal(0.0, 1.0), normal(0.0, 1.0), GRID).item() == 0.0
    for m2, s2 in [(0.5, 1.0), (0.0, 2.0), (-3.0, 0.3)]:
        assert kl_divergence_on_grid(normal(0.0, 1.0), normal(m2, s2), GRID).item() > 1e-3


@pytest.mark.parametrize("m1, s1, m2, s2", [(0.0, 1.0, 1.0, 1.0), (0.0, 1.0, 0.0, 2.0), (1.0, 0.5, -2.0, 3.0)])
def test_grid_kl_between_gaussians_matches_the_closed_form(m1, s1, m2, s2):
    kl = kl_divergence_on_grid(normal(m1, s1), normal(m2, s2), GRID).item()
    assert kl == pytest.approx(closed_form_gaussian_kl(m1, s1, m2, s2), abs=1e-4)


def test_kl_is_asymmetric():
    narrow, wide = normal(0.0, 0.5), normal(0.0, 2.0)
    kl_nw = kl_divergence_on_grid(narrow, wide, GRID).item()
    kl_wn = kl_divergence_on_grid(wide, narrow, GRID).item()
    assert kl_nw == pytest.approx(closed_form_gaussian_kl(0.0, 0.5, 0.0, 2.0), abs=1e-4)
    assert kl_wn > kl_nw + 1.0


def test_kl_handles_zero_density_without_nans():
    """0 · log(0/q) = 0; p · log(p/0) = +inf. A uniform density is −inf outside its support."""
    def uniform(x):  # U(−1, 1)
        inside = x.abs() <= 1
        return torch.where(inside, torch.full_like(x, math.log(0.5)), torch.full_like(x, float("-inf")))

    kl_uq = kl_divergence_on_grid(uniform, normal(0.0, 1.0), GRID).item()
    assert math.isfinite(kl_uq) and kl_uq > 0
    assert kl_divergence_on_grid(uniform, uniform, GRID).item() == 0.0
    assert kl_divergence_on_grid(normal(0.0, 1.0), uniform, GRID).item() == math.inf


def test_js_is_symmetric_and_between_zero_and_log_two():
    pairs = [(normal(0.0, 1.0), normal(1.0, 2.0)), (normal(-1.0, 0.5), normal(2.0, 1.0)),
             (two_component_mixture(4.0).log_prob, normal(0.0, 1.0))]
    for log_p, log_q in pairs:
        js_pq = js_divergence_on_grid(log_p, log_q, GRID).item()
        js_qp = js_divergence_on_grid(log_q, log_p, GRID).item()
        assert js_pq == pytest.approx(js_qp, abs=1e-12)
        assert 0.0 < js_pq < math.log(2)
    assert js_divergence_on_grid(normal(0.0, 1.0), normal(0.0, 1.0), GRID).item() == pytest.approx(0.0, abs=1e-12)


def test_js_approaches_log_two_for_far_apart_gaussians():
    near = js_divergence_on_grid(normal(-1.0, 1.0), normal(1.0, 1.0), GRID).item()
    far = js_divergence_on_grid(normal(-20.0, 1.0), normal(20.0, 1.0), GRID).item()
    assert near < 0.5
    assert far == pytest.approx(math.log(2), abs=1e-6)


def test_bad_grids_and_log_densities_raise():
    with pytest.raises(ValueError, match=r"got \(2, 3\)"):
        kl_divergence_on_grid(normal(0.0, 1.0), normal(0.0, 1.0), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="strictly increasing"):
        kl_divergence_on_grid(normal(0.0, 1.0), normal(0.0, 1.0), torch.tensor([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"log_q\(grid\).*got \(1,\)"):
        kl_divergence_on_grid(normal(0.0, 1.0), lambda x: x.sum(0, keepdim=True), GRID)


def test_default_grid_covers_the_mixture_mass():
    p = GaussianMixture1D(means=[-5.0, 5.0], stds=[0.2, 2.0], weights=[0.5, 0.5])
    grid = default_grid(p)
    assert grid[0] < -5.0 - 7 * 0.2 and grid[-1] > 5.0 + 7 * 2.0
    assert torch.trapezoid(p.log_prob(grid).exp(), grid).item() == pytest.approx(1.0, abs=1e-8)


# ---------------------------------------------------------------------------------- the two fits


def test_forward_fit_is_moment_matching():
    p = GaussianMixture1D(means=[-2.0, 1.0, 4.0], stds=[0.5, 1.0, 0.7], weights=[0.2, 0.5, 0.3])
    mu, sigma = fit_gaussian_forward_kl(p)
    assert mu == pytest.approx(p.mean().item())
    assert sigma == pytest.approx(p.variance().sqrt().item())
    x = p.sample(200_000, generator=torch.Generator().manual_seed(1))
    assert mu == pytest.approx(x.mean().item(), abs=0.02)
    assert sigma == pytest.approx(x.std().item(), abs=0.02)


PERTURBATIONS = [(dmu, dlog_sigma) for dmu in (-0.1, 0.0, 0.1) for dlog_sigma in (-0.1, 0.0, 0.1)
                 if (dmu, dlog_sigma) != (0.0, 0.0)]


@pytest.mark.parametrize("separation, weight", [(8.0, 0.5), (3.0, 0.5), (3.0, 0.8)])
def test_forward_fit_minimises_forward_kl(separation, weight):
    p = two_component_mixture(separation, weight=weight)
    mu, sigma = fit_gaussian_forward_kl(p)
    best = forward_kl(p, mu, sigma)
    for dmu, dlog_sigma in PERTURBATIONS:
        assert best < forward_kl(p, mu + dmu, sigma * math.exp(dlog_sigma))


@pytest.mark.parametrize("separation, weight", [(8.0, 0.5), (3.0, 0.5), (3.0, 0.8), (5.0, 0.3)])
def test_reverse_fit_minimises_reverse_kl(separation, weight):
    p = two_component_mixture(separation, weight=weight)
    mu, sigma = fit_gaussian_reverse_kl(p)
    best = reverse_kl(p, mu, sigma)
    for dmu, dlog_sigma in PERTURBATIONS:
        assert best < reverse_kl(p, mu + dmu, sigma * math.exp(dlog_sigma))
    # and it is no worse than the forward fit in the reverse KL it minimises
    assert best <= reverse_kl(p, *fit_gaussian_forward_kl(p))


def test_far_apart_modes_reverse_fit_seeks_one_mode_forward_fit_covers_both():
    p = two_component_mixture(separation=8.0, std=1.0)
    mu_f, sigma_f = fit_gaussian_forward_kl(p)
    mu_r, sigma_r = fit_gaussian_reverse_kl(p)
    assert mu_f == pytest.approx(0.0, abs=1e-12) and sigma_f > 3.0
    assert abs(mu_r) == pytest.approx(4.0, abs=0.01)
    assert sigma_r == pytest.approx(1.0, abs=0.01)
    # q sitting on one of two equal modes misses half of p: KL(q‖p) ≈ log 2
    assert reverse_kl(p, mu_r, sigma_r) == pytest.approx(math.log(2), abs=1e-3)


def test_unequal_weights_reverse_fit_picks_the_heavier_mode():
    p = two_component_mixture(separation=8.0, weight=0.8)  # the mode at −4 weighs 0.8
    mu, _ = fit_gaussian_reverse_kl(p)
    assert mu == pytest.approx(-4.0, abs=0.01)


def test_zero_separation_both_fits_are_the_single_gaussian():
    p = two_component_mixture(separation=0.0, std=1.5, weight=0.3)
    for mu, sigma in (fit_gaussian_forward_kl(p), fit_gaussian_reverse_kl(p)):
        assert mu == pytest.approx(0.0, abs=1e-3)
        assert sigma == pytest.approx(1.5, abs=1e-3)


def test_reverse_fit_is_deterministic():
    p = two_component_mixture(separation=5.0, weight=0.4)
    assert fit_gaussian_reverse_kl(p) == fit_gaussian_reverse_kl(p)


def test_reverse_fit_uses_the_given_inits():
    p = two_component_mixture(separation=8.0)
    assert fit_gaussian_reverse_kl(p, inits=[3.0])[0] == pytest.approx(4.0, abs=0.01)
    assert fit_gaussian_reverse_kl(p, inits=[-3.0])[0] == pytest.approx(-4.0, abs=0.01)


def test_reverse_fit_rejects_bad_arguments():
    p = two_component_mixture(separation=2.0)
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        fit_gaussian_reverse_kl(p, steps=0)
    with pytest.raises(ValueError, match="inits"):
        fit_gaussian_reverse_kl(p, inits=[])


def test_written_out_adam_agrees_with_torch_optim_adam():
    """Explicit first, library second: `_adam` takes the same steps as torch.optim.Adam + cosine decay."""
    from coursekit.divergences import _adam

    def loss_per_row(theta):  # a different bowl per row, with a non-constant curvature
        return (theta[:, 0] - 1.0) ** 4 + 3 * (theta[:, 1] + theta[:, 0]) ** 2

    theta0 = torch.tensor([[0.0, 0.0], [2.0, -1.0], [-3.0, 5.0]], dtype=torch.float64)
    ours = _adam(loss_per_row, theta0, steps=40, lr=0.1)

    theta = theta0.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([theta], lr=0.1)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=40)
    for _ in range(40):
        optimizer.zero_grad()
        loss_per_row(theta).sum().backward()
        optimizer.step()
        schedule.step()
    assert not torch.equal(ours, theta0)
    torch.testing.assert_close(ours, theta.detach(), rtol=1e-12, atol=1e-12)
