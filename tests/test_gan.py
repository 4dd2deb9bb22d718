"""The GAN family (coursekit/models/gan.py): the losses' closed forms and gradients, the gradient penalty,
D* and V(G, D*) = −log 4 + 2·JS on the 1-D mixture, the k-step training schedule, the unrolled generator,
inversion, and the errors. Tiny networks and a few hundred steps at most: the ring and digits numbers live
in benchmarks/gan_quality.py."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from coursekit.data.toy2d import gan_mixture_1d, optimal_discriminator
from coursekit.divergences import GaussianMixture1D, js_divergence_on_grid
from coursekit.models import GAN, GANConfig
from coursekit.models.gan import (
    GAN_LOSSES, MLPDiscriminator, dcgan_digits, discriminator_loss, generator_loss, gradient_penalty, invert,
    value_function,
)
from coursekit.training import train

LOGITS_REAL = torch.tensor([-2.0, 0.0, 3.0], dtype=torch.float64)
LOGITS_FAKE = torch.tensor([-1.0, 0.5, 4.0, -3.0], dtype=torch.float64)


# --- the losses --------------------------------------------------------------------------------------

def test_the_losses_match_their_closed_forms_on_fixed_logits():
    """Written out with σ and log, on moderate logits where the naive formulas are exact."""
    D_real, D_fake = torch.sigmoid(LOGITS_REAL), torch.sigmoid(LOGITS_FAKE)
    bce = -torch.log(D_real).mean() - torch.log(1 - D_fake).mean()
    for kind in ("minimax", "non_saturating"):          # one discriminator loss for both
        assert discriminator_loss(LOGITS_REAL, LOGITS_FAKE, kind).item() == pytest.approx(bce.item(), rel=1e-12)
    assert generator_loss(LOGITS_FAKE, "minimax").item() == pytest.approx(torch.log(1 - D_fake).mean().item())
    assert generator_loss(LOGITS_FAKE, "non_saturating").item() == pytest.approx(-torch.log(D_fake).mean().item())
    lsq_d = 0.5 * ((LOGITS_REAL - 1) ** 2).mean() + 0.5 * (LOGITS_FAKE ** 2).mean()   # Mao et al., a=0, b=c=1
    assert discriminator_loss(LOGITS_REAL, LOGITS_FAKE, "least_squares").item() == pytest.approx(lsq_d.item())
    assert generator_loss(LOGITS_FAKE, "least_squares").item() == pytest.approx(
        (0.5 * (LOGITS_FAKE - 1) ** 2).mean().item())
    assert discriminator_loss(LOGITS_REAL, LOGITS_FAKE, "wasserstein").item() == pytest.approx(
        (LOGITS_FAKE.mean() - LOGITS_REAL.mean()).item())
    assert generator_loss(LOGITS_FAKE, "wasserstein").item() == pytest.approx(-LOGITS_FAKE.mean().item())
    # V(G, D) is minus the shared discriminator loss
    assert value_function(LOGITS_REAL, LOGITS_FAKE).item() == pytest.approx(-bce.item())


def test_the_losses_stay_finite_where_the_naive_formula_overflows():
    """At logits ±100 in float32, σ(l) rounds to exactly 1 or 0 and log(1 − σ(l)), log σ(l) give −inf; the
    softplus forms stay finite and equal their asymptotes (softplus(100) = 100)."""
    real = torch.tensor([-100.0, 100.0])
    fake = torch.tensor([100.0, -100.0])
    assert not torch.isfinite(torch.log(1 - torch.sigmoid(fake))).all()        # the naive formula fails here
    for kind in GAN_LOSSES:
        assert torch.isfinite(discriminator_loss(real, fake, kind)) and torch.isfinite(generator_loss(fake, kind))
    assert discriminator_loss(real, fake, "minimax").item() == pytest.approx(100.0, rel=1e-4)   # ½(100 + 0) · 2
    assert generator_loss(fake, "non_saturating").item() == pytest.approx(50.0, rel=1e-4)       # ½(0 + 100)
    assert generator_loss(fake, "minimax").item() == pytest.approx(-50.0, rel=1e-4)
    assert torch.isfinite(value_function(real, fake))


def test_saturating_and_non_saturating_gradients_have_their_closed_forms():
    """∂/∂l of log(1 − σ(l)) is −σ(l) (→ 0 where D rejects a fake, l ≪ 0: the minimax generator saturates);
    ∂/∂l of −log σ(l) is −(1 − σ(l)) (→ −1 there). Per example, so ×N for the mean over N."""
    n = LOGITS_FAKE.numel()
    for kind, expected in (("minimax", -torch.sigmoid(LOGITS_FAKE)),
                           ("non_saturating", -(1 - torch.sigmoid(LOGITS_FAKE)))):
        l = LOGITS_FAKE.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(generator_loss(l, kind), l)
        torch.testing.assert_close(grad * n, expected)
    rejected = torch.tensor([-8.0], requires_grad=True)
    (sat,) = torch.autograd.grad(generator_loss(rejected, "minimax"), rejected)
    (non_sat,) = torch.autograd.grad(generator_loss(rejected, "non_saturating"), rejected)
    assert abs(sat.item()) < 1e-3 < 0.99 < abs(non_sat.item())


def test_an_unknown_loss_is_refused_by_name():
    with pytest.raises(ValueError, match=r"one of \('minimax', .*got 'vanilla'"):
        discriminator_loss(LOGITS_REAL, LOGITS_FAKE, "vanilla")
    with pytest.raises(ValueError, match="got 'hinge'"):
        generator_loss(LOGITS_FAKE, "hinge")


# --- the gradient penalty --------------------------------------------------------------------------------

def linear_critic(weight: torch.Tensor) -> nn.Linear:
    critic = nn.Linear(weight.numel(), 1).double()
    with torch.no_grad():
        critic.weight.copy_(weight.view(1, -1))
    return critic


def test_the_gradient_penalty_is_zero_for_a_unit_norm_linear_critic_and_positive_otherwise():
    """f(x) = wᵀx + b has ∇f = w everywhere, so GP = (‖w‖ − 1)² exactly: 0 for ‖w‖ = 1 (a 1-Lipschitz critic
    that uses its budget), 1 for ‖w‖ = 2, ¼ for ‖w‖ = ½."""
    torch.manual_seed(0)
    real, fake = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 3, dtype=torch.float64) + 2
    direction = torch.tensor([1.0, -2.0, 2.0], dtype=torch.float64) / 3          # unit norm
    for norm in (1.0, 2.0, 0.5):
        critic = linear_critic(norm * direction)
        gp = gradient_penalty(lambda x: critic(x).squeeze(1), real, fake)
        assert gp.item() == pytest.approx((norm - 1) ** 2, abs=1e-9)


def test_the_gradient_penalty_trains_the_critic_and_is_taken_between_real_and_fake():
    """With create_graph=True the penalty has a gradient w.r.t. the critic's weights (for ‖w‖ = 2 it is
    d(‖w‖ − 1)²/dw = 2(‖w‖ − 1) w/‖w‖); and it is evaluated at interpolates x̂ (a critic whose gradient is 1 on
    the segment between the two points, far from 1 at both ends, gets a penalty near 0)."""
    w = torch.tensor([0.0, 2.0, 0.0], dtype=torch.float64)
    critic = linear_critic(w)
    real, fake = torch.zeros(8, 3, dtype=torch.float64), torch.ones(8, 3, dtype=torch.float64)
    gp = gradient_penalty(lambda x: critic(x).squeeze(1), real, fake)
    (grad_w,) = torch.autograd.grad(gp, critic.weight)
    torch.testing.assert_close(grad_w.view(-1), 2 * (2 - 1) * w / 2)

    def bump(x):    # f(x) = x₀ on |x₀ − ½| < ½ (slope 1 inside the segment), slope 5 outside
        x0 = x[:, 0]
        inside = (x0 - 0.5).abs() < 0.5
        return torch.where(inside, x0, 5 * x0)

    torch.manual_seed(0)
    assert gradient_penalty(bump, real, fake).item() < 1e-6                       # x̂ lies strictly inside
    torch.manual_seed(0)
    assert gradient_penalty(bump, real, real).item() == pytest.approx(16.0)       # "x̂" = the real points


def test_the_gradient_penalty_refuses_mismatched_batches():
    with pytest.raises(ValueError, match=r"same shape, got \(4, 2\) and \(4, 3\)"):
        gradient_penalty(lambda x: x.sum(1), torch.zeros(4, 2), torch.zeros(4, 3))


# --- D* and the value of the game on the 1-D mixture -------------------------------------------------------

MODEL_1D = GaussianMixture1D(means=[0.0], stds=[1.5], weights=[1.0])
"""A fixed model density p_m = N(0, 1.5²), overlapping both modes of the data's ½ N(−2, ½²) + ½ N(2, ½²)."""


def test_value_at_the_optimal_discriminator_is_minus_log4_plus_twice_js():
    """V(G, D*) = ∫ p_d log D* + ∫ p_m log(1 − D*) (trapezoid rule) equals −log 4 + 2·JS(p_d ‖ p_m), and a
    Monte-Carlo `value_function` on D*'s logits agrees within its standard error."""
    p_d, p_m = gan_mixture_1d(), MODEL_1D
    grid = torch.linspace(-12, 12, 20001, dtype=torch.float64)
    log_ratio = p_d.log_prob(grid) - p_m.log_prob(grid)                           # D*'s logit: log p_d − log p_m
    d_star = optimal_discriminator(p_d.log_prob(grid), p_m.log_prob(grid))
    torch.testing.assert_close(d_star, torch.sigmoid(log_ratio))
    integrand = (p_d.log_prob(grid).exp() * torch.nn.functional.logsigmoid(log_ratio)
                 + p_m.log_prob(grid).exp() * torch.nn.functional.logsigmoid(-log_ratio))
    value = torch.trapezoid(integrand, grid).item()
    js = js_divergence_on_grid(p_d.log_prob, p_m.log_prob, grid).item()
    assert 0.05 < js < math.log(2)                                                  # not a vacuous case
    assert value == pytest.approx(-math.log(4) + 2 * js, abs=1e-6)
    g = torch.Generator().manual_seed(0)
    x_real, x_fake = p_d.sample(50_000, generator=g), p_m.sample(50_000, generator=g)
    logit = lambda x: p_d.log_prob(x) - p_m.log_prob(x)                              # noqa: E731
    assert value_function(logit(x_real), logit(x_fake)).item() == pytest.approx(value, abs=0.02)   # ~4 s.e.


def test_a_trained_discriminator_approaches_the_optimal_one():
    """A small MLP (16 units × 2) trained 300 Adam steps with the discriminator loss on samples of p_d and the fixed p_m
    learns D(x) ≈ D*(x) = p_d / (p_d + p_m). Compared where both densities have mass (|x| ≤ 3; outside,
    D* is set by tails with almost no samples); the tolerance (mean |D − D*| < 0.07, max < 0.2; seeds 0-2 gave
    0.027-0.044 and 0.08-0.13) allows for the finite training and the sampling noise of 256-point batches, and
    still fails for a D off by a constant 0.1 or for D = ½ (mean |½ − D*| > 0.2 here)."""
    torch.manual_seed(0)
    p_d, p_m = gan_mixture_1d(), MODEL_1D
    D = MLPDiscriminator(1, hidden=16, layers=2)
    opt = torch.optim.Adam(D.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        real, fake = p_d.sample(256, generator=g).float(), p_m.sample(256, generator=g).float()
        real, fake = real.view(-1, 1), fake.view(-1, 1)                               # (256, 1)
        loss = discriminator_loss(D(real), D(fake), "non_saturating")
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = torch.linspace(-3, 3, 301, dtype=torch.float64)
    with torch.no_grad():
        trained = torch.sigmoid(D(x.float().view(-1, 1))).double()                     # (301,)
    d_star = optimal_discriminator(p_d.log_prob(x), p_m.log_prob(x))
    assert (0.5 - d_star).abs().mean() > 0.2                                        # the comparison has teeth
    assert (trained - d_star).abs().mean() < 0.07 and (trained - d_star).abs().max() < 0.2


# --- training: who moves when ----------------------------------------------------------------------------------

def tiny_gan(**fields) -> GAN:
    torch.manual_seed(0)
    return GAN(**{**dict(shape=(2,), latent_dim=2, hidden=8, layers=1), **fields})


def points(n: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))


def snapshot(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def changed(module: nn.Module, before: list[torch.Tensor]) -> list[bool]:
    return [not torch.equal(a, p.detach()) for a, p in zip(before, module.parameters())]


@pytest.mark.parametrize("loss", GAN_LOSSES)
def test_one_training_step_moves_every_parameter_of_both_networks(loss):
    """Except, for a Wasserstein critic, its output bias c: E (f(x̃) + c) − E (f(x) + c) does not depend on c
    and the penalty sees only ∇ₓf, so c's gradient in the critic's step is exactly 0."""
    model = tiny_gan(loss=loss)
    g0, d0 = snapshot(model.generator), snapshot(model.discriminator)
    history = train(model, [(points(),)], steps=1, lr=1e-2, device="cpu", progress=False)
    moved = dict(zip((n for n, _ in model.discriminator.named_parameters()), changed(model.discriminator, d0)))
    assert all(changed(model.generator, g0))
    assert moved.pop("head.bias") == (loss != "wasserstein") and all(moved.values())
    assert {"d_loss", "g_loss", "loss"} <= set(history.steps) and (("gp" in history.steps) == (loss == "wasserstein"))


def test_k_discriminator_steps_per_generator_step():
    """With k = 3, trainer steps 0 and 1 are critic-only (G does not move), step 2 ends with a generator step;
    over 6 steps "d_loss" is logged 6 times and "g_loss" at steps 2 and 5."""
    model = tiny_gan(k=3)
    batches = [(points(seed=s),) for s in range(6)]
    g0, d0 = snapshot(model.generator), snapshot(model.discriminator)
    train(model, batches[:2], steps=2, lr=1e-2, device="cpu", progress=False)
    assert not any(changed(model.generator, g0)) and all(changed(model.discriminator, d0))
    model = tiny_gan(k=3)
    history = train(model, batches, steps=6, lr=1e-2, device="cpu", progress=False)
    assert history.logged("g_loss")[0] == [2, 5] and history.logged("d_loss")[0] == list(range(6))
    assert [model.is_generator_step(s) for s in range(6)] == [False, False, True] * 2


def test_the_unrolled_generator_gradient_differs_and_leaves_the_discriminator_alone():
    """The generator's gradient through `unroll` look-ahead steps of D is not the plain one (it is for 0 steps),
    and the look-ahead runs on a functional copy: D's own weights are unchanged."""
    model = tiny_gan(loss="non_saturating", unroll_lr=0.5)
    real = points()
    z = model.noise(16)

    def generator_grads(unroll: int) -> torch.Tensor:
        model.zero_grad(set_to_none=True)
        fake = model.generate(z)
        model.generator_objective(fake, None, real, unroll=unroll).backward()
        return torch.cat([p.grad.flatten() for p in model.generator.parameters()])

    d0 = snapshot(model.discriminator)
    plain, unrolled = generator_grads(0), generator_grads(3)
    assert not torch.allclose(plain, unrolled, rtol=1e-3, atol=1e-6)
    assert not any(changed(model.discriminator, d0))
    torch.testing.assert_close(generator_grads(0), plain)


# --- inversion, sampling and the data's convention ----------------------------------------------------------

def test_inversion_recovers_the_image_of_a_known_z():
    """x = G(z₀) for a random G: Adam on ‖G(z) − x‖² from 3 random starts gets back to x (the best restart per
    example is kept, so the error never exceeds the first start's)."""
    model = tiny_gan(hidden=16)
    model.config = GANConfig(shape=(2,), latent_dim=2, hidden=16, layers=1)
    z0 = torch.randn(8, 2, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        x = model.generate(z0)
    g0 = snapshot(model.generator)
    z, reconstruction, error = invert(model, x, steps=300, lr=0.05, restarts=3,
                                      generator=torch.Generator().manual_seed(0))
    assert z.shape == (8, 2) and reconstruction.shape == (8, 2) and error.shape == (8,)
    assert error.max().item() < 1e-3 < (x - model.generate(torch.zeros(8, 2)).detach()).pow(2).sum(1).max().item()
    assert not any(changed(model.generator, g0))


def test_digits_samples_follow_the_data_convention_and_the_labels():
    model = GAN(dcgan_digits(conditional=True, latent_dim=4, width=4)).eval()
    samples = model.sample(20, labels=torch.arange(20) % 10)
    assert samples.dtype == torch.int64 and samples.shape == (20, 1, 8, 8)
    assert samples.min() >= 0 and samples.max() <= 16
    x = torch.randint(0, 17, (5, 1, 8, 8))
    torch.testing.assert_close(model.to_network(x), x.float() / 16 * 2 - 1)
    torch.testing.assert_close(model.from_network(model.to_network(x)), x)
    assert model.discriminate(x, labels=3).shape == (5,)
    z = model.noise(3)
    torch.testing.assert_close(model.sample(3, labels=2, z=z), model.from_network(model.generate(z, labels=2)))


def test_a_28_by_28_dcgan_builds_trains_one_step_and_samples_mnist_shaped_images():
    """Lecture 07's DATA = "mnist": dcgan_digits(shape=(1, 28, 28), levels=256) projects z to (2w, 7, 7), two
    stride-2 steps reach 28×28, and D's last convolution spans its 7×7 map to one logit per image."""
    model = GAN(dcgan_digits(shape=(1, 28, 28), levels=256, latent_dim=4, width=4))
    x = torch.randint(0, 256, (6, 1, 28, 28))
    g0, d0 = snapshot(model.generator), snapshot(model.discriminator)
    train(model, [(x,)], steps=1, lr=1e-2, device="cpu", progress=False)
    assert all(changed(model.generator, g0)) and all(changed(model.discriminator, d0))
    model.eval()
    samples = model.sample(3, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (3, 1, 28, 28) and samples.dtype == torch.int64
    assert samples.min() >= 0 and samples.max() <= 255
    assert model.discriminate(x).shape == (6,)


def test_a_wasserstein_dcgan_critic_has_no_batch_norm():
    critic = GAN(dcgan_digits(loss="wasserstein", latent_dim=4, width=4)).discriminator
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in GAN(dcgan_digits(latent_dim=4, width=4)).discriminator.modules())


# --- bad input ------------------------------------------------------------------------------------------------

def test_bad_configurations_and_inputs_are_refused_with_what_came():
    with pytest.raises(ValueError, match=r"loss must be one of .*got 'vanilla'"):
        GAN(loss="vanilla")
    with pytest.raises(ValueError, match=r"k must be a positive int, got 0 \(discriminator steps per generator"):
        GAN(k=0)
    with pytest.raises(ValueError, match="unroll must be an int >= 0"):
        GAN(unroll=-1)
    with pytest.raises(ValueError, match="unroll needs a discriminator without batch norm"):
        GAN(dcgan_digits(unroll=2))
    conditional = GAN(dcgan_digits(conditional=True, latent_dim=4, width=4))
    x = torch.randint(0, 17, (4, 1, 8, 8))
    with pytest.raises(ValueError, match=r"class-conditional GAN \(classes=10\): give the labels y"):
        conditional.loss((x,))
    with pytest.raises(ValueError, match=r"must hold integer levels 0..9, got values in 0..12"):
        conditional.loss((x, torch.tensor([0, 3, 12, 1])))
    unconditional = tiny_gan()
    with pytest.raises(ValueError, match=r"unconditional \(classes=0\) but was given labels"):
        unconditional.sample(3, labels=1)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\), got \(4, 3\)"):
        unconditional.loss((torch.zeros(4, 3),))
    with pytest.raises(ValueError, match=r"z must have shape \(3, 2\), got \(3, 5\)"):
        unconditional.sample(3, z=torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"levels 0..16, got values in 20..20"):
        GAN(dcgan_digits(latent_dim=4, width=4)).loss((torch.full((2, 1, 8, 8), 20),))


def test_the_ring_experiment_trains_the_shared_network_and_scores_it():
    """A 3-step smoke run of the lecture's helper (the numbers themselves are benchmarks/gan_quality.py's): the
    configuration it names is the one trained, and the coverage is mode_coverage's on the returned samples."""
    from coursekit.data.toy2d import EightGaussians
    from coursekit.evaluation import mode_coverage
    from coursekit.evaluation.gan_ring import ring_experiment
    from coursekit.models.gan import RING_DEFAULTS, RING_NETWORK

    options = {**RING_DEFAULTS["unrolled"], "steps": 3}
    run = ring_experiment(**options, seed=0, n_samples=50)
    model = run["model"]
    assert (model.config.loss, model.config.unroll, model.config.lr_d) == ("minimax", options["unroll"], 5e-4)
    assert options["unroll"] > 0
    assert model.config.hidden == RING_NETWORK["hidden"] and run["samples"].shape == (50, 2)
    assert run["history"].logged("g_loss")[0] == [0, 1, 2] and run["seconds"] > 0
    ring = EightGaussians()
    assert run["coverage"]["modes_hit"] == mode_coverage(run["samples"], ring.modes.float(), ring.std)["modes_hit"]


def test_the_cached_ring_experiment_loads_the_same_gan_the_second_time(tmp_path):
    """`cached=True` trains through train_cached once; the same call then loads it (history.from_cache) and
    returns the same samples, and a different batch size is a different model. cache_dir without the cache
    is refused."""
    from coursekit.evaluation.gan_ring import ring_experiment

    options = dict(loss="non_saturating", steps=3, seed=0, n_samples=20, cached=True, cache_dir=tmp_path)
    first, second = ring_experiment(**options), ring_experiment(**options)
    assert not first["history"].from_cache and second["history"].from_cache
    assert torch.equal(first["samples"], second["samples"])
    other = ring_experiment(**{**options, "batch_size": 64})
    assert not other["history"].from_cache and not torch.equal(other["samples"], first["samples"])
    with pytest.raises(ValueError, match="cached=True"):
        ring_experiment("minimax", steps=1, cache_dir=tmp_path)
