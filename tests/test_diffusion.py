"""The diffusion family (coursekit/models/diffusion.py): the properties lecture 08 claims.

The forward process in closed form against t single steps; ᾱ_T ≈ 0; with the exact ε-predictor of Gaussian
data the samplers reproduce the data and the bound equals the exact NLL; DDIM's determinism; the guidance
sign; Algorithm 2's noiseless last step; gradients reach every network; EMA; the errors.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from coursekit.models import VAE
from coursekit.models.diffusion import (
    DDPM, LatentDiffusion, NoiseSchedule, TimeMLP, UNet, ddim_timesteps, discretized_gaussian_log_prob, gaussian_kl,
)
from coursekit.training import train


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


class ExactEps(nn.Module):
    """ε*(x_t, t) = E[ε | x_t] for data N(m, s² I): x_t = √ᾱ x_0 + √(1 − ᾱ) ε is Gaussian, so
    E[ε | x_t] = √(1 − ᾱ) (x_t − √ᾱ m) / (ᾱ s² + 1 − ᾱ). For N(0, I) it is √(1 − ᾱ) x_t."""

    def __init__(self, schedule: NoiseSchedule, m: torch.Tensor, s: float):
        super().__init__()
        self.schedule, self.s = schedule, s
        self.register_buffer("m", m)

    def forward(self, x, t, y=None):
        ab = self.schedule.alpha_bars[t - 1].to(x.dtype).view(-1, 1)        # (N, 1)
        return (1 - ab).sqrt() * (x - ab.sqrt() * self.m) / (ab * self.s ** 2 + 1 - ab)


def exact_model(T: int, m, s: float, **fields) -> DDPM:
    model = DDPM(shape=(len(m),), T=T, **fields)
    model.eps_net = ExactEps(model.schedule, torch.as_tensor(m, dtype=torch.float32), s)
    return model


# --- the forward process ------------------------------------------------------------------------

def test_closed_form_matches_t_single_steps():
    """q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I) against t applications of q(x_t | x_{t−1}): means and variances
    agree within 5 Monte-Carlo standard errors (the mean's error is √(var/n), the variance's var·√(2/n))."""
    torch.manual_seed(0)
    schedule = NoiseSchedule.linear(100, 1e-3, 0.05).double()
    x0 = torch.tensor([1.0, -0.5, 0.0], dtype=torch.float64)
    n = 40_000
    for t in (1, 7, 60):
        x = x0.expand(n, 3)
        for step in range(1, t + 1):
            x = schedule.q_step(x, torch.full((n,), step), torch.randn(n, 3, dtype=torch.float64))
        ab = schedule.alpha_bars[t - 1]
        mean, var = ab.sqrt() * x0, 1 - ab
        assert ((x.mean(0) - mean).abs() < 5 * (var / n).sqrt()).all()
        assert ((x.var(0) - var).abs() < 5 * var * math.sqrt(2 / n)).all()
        closed = schedule.q_sample(x0.expand(n, 3), torch.full((n,), t), torch.randn(n, 3, dtype=torch.float64))
        assert ((closed.mean(0) - x.mean(0)).abs() < 5 * (2 * var / n).sqrt()).all()
    # x_T forgets x_0: with the default schedule (ᾱ_T ≈ 4e-5) q_sample's x_T has mean √ᾱ_T x_0 ≈ 0 even for
    # x_0 = (3, −3); the seeds' slip √α_T x_0 + √(1 − ᾱ_T) ε (√α_T ≈ 0.99) keeps x_0 almost whole
    default, x0, n = NoiseSchedule.linear().double(), torch.tensor([3.0, -3.0], dtype=torch.float64), 40_000
    t, eps = torch.full((n,), 1000), torch.randn(n, 2, dtype=torch.float64)
    x_T = default.q_sample(x0.expand(n, 2), t, eps)
    assert ((x_T.mean(0) - default.alpha_bars[-1].sqrt() * x0).abs() < 5 / math.sqrt(n)).all()
    assert (x_T.mean(0).abs() < 0.05).all() and ((x_T.var(0) - 1).abs() < 5 * math.sqrt(2 / n)).all()
    slip = default.alphas[-1].sqrt() * x0 + (1 - default.alpha_bars[-1]).sqrt() * eps
    assert (slip.mean(0).abs() > 2.9).all()


def test_alpha_bar_T_is_near_zero_for_the_default_schedules():
    for schedule in (NoiseSchedule.linear(), NoiseSchedule.cosine(), NoiseSchedule.grey_level()):
        assert schedule.T == 1000 and schedule.alpha_bars[-1] < 1e-4
        assert torch.allclose(schedule.alpha_bars, torch.cumprod(schedule.alphas.double(), 0).float())
    for model in (DDPM(shape=(2,)), DDPM(shape=(1, 8, 8), levels=17)):
        assert model.schedule.alpha_bars[-1] < 1e-4


def test_grey_level_schedule_starts_at_half_a_grey_level():
    schedule = NoiseSchedule.grey_level(1000, levels=17)
    assert schedule.betas[0].sqrt().item() == pytest.approx(0.5 * 2 / 16)    # half of one level on [−1, 1]
    assert DDPM(shape=(1, 8, 8), levels=17).schedule.name == "grey_level"
    assert DDPM(shape=(2,)).schedule.name == "linear"


def test_posterior_matches_bayes_by_monte_carlo():
    """q(x_{t−1} | x_t, x_0): draw x_{t−1} ~ q(x_{t−1} | x_0), x_t by one step; regress x_{t−1} on x_t."""
    torch.manual_seed(1)
    schedule = NoiseSchedule.linear(50, 1e-3, 0.1).double()
    n, t, x0 = 200_000, 20, torch.full((200_000, 1), 0.7, dtype=torch.float64)
    x_prev = schedule.q_sample(x0, torch.full((n,), t - 1), torch.randn(n, 1, dtype=torch.float64))
    x_t = schedule.q_step(x_prev, torch.full((n,), t), torch.randn(n, 1, dtype=torch.float64))
    mean, var = schedule.q_posterior(x0, x_t, torch.full((n,), t))
    residual = x_prev - mean
    assert residual.mean().abs() < 5 * (var[0] / n).sqrt()
    assert (residual.var() / var[0] - 1).abs() < 5 * math.sqrt(2 / n)


# --- the samplers with the exact ε-predictor --------------------------------------------------------

@pytest.mark.parametrize("options", [dict(variance="beta"), dict(variance="beta_tilde"),
                                     dict(method="ddim", eta=0.0), dict(method="ddim", steps=250, eta=1.0)])
def test_samplers_reproduce_a_gaussian(options):
    """Data N(m, s² I) with m = (1, −0.5), s = 0.3: with ε* the samples' mean and standard deviation match
    (Algorithm 2 with both variances, DDIM η = 0 over all T steps and η = 1 over 250 of them)."""
    torch.manual_seed(0)
    m, s, n = torch.tensor([1.0, -0.5]), 0.3, 8000
    model = exact_model(1000, m, s)
    x = model.sample(n, **options)
    assert ((x.mean(0) - m).abs() < 5 * s / math.sqrt(n) + 0.01).all()
    assert ((x.std(0) / s - 1).abs() < 0.05).all()


def test_bound_equals_the_exact_nll_of_a_standard_normal():
    """N(0, I) data, σ_t² = β_t, the continuous Gaussian decoder: with ε* = √(1 − ᾱ) x_t the reverse process is
    exactly q's, so E[bound] = −log N(x_0; 0, I) for every x_0; a wrong predictor gives a bound above it."""
    torch.manual_seed(0)
    model = exact_model(200, [0.0, 0.0], 1.0, variance="beta").double()
    x0 = torch.randn(4000, 2, dtype=torch.float64)
    exact = 0.5 * (2 * math.log(2 * math.pi) + x0.pow(2).sum(1))            # −log N(x_0; 0, I)
    gap = model.nll_bound(x0) - exact
    assert gap.mean().abs() < 5 * gap.std() / math.sqrt(len(gap))
    assert 0.3 < (gap < 0).double().mean() < 0.7     # one draw per term: an unbiased estimate, about half below
    terms = model.bound_terms(x0[:3])
    assert terms.shape == (3, 201) and (terms[:, 1:] >= 0).all()
    model.eps_net.s = 0.7                                                    # ε* of N(0, 0.49 I): wrong
    worse = model.nll_bound(x0) - exact
    assert worse.mean() > 10 * worse.std() / math.sqrt(len(worse))


def test_beta_tilde_reverse_variance_and_its_bound():
    """σ_t² = β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) β_t for t ≥ 2 (recomputed here from the betas in float64), and the
    decoder's σ_1² = β̃_2 (β̃_1 = 0 would make L_0 infinite). The bound with β̃ is finite, and on N(0, I) data
    with ε* it lies above the exact NLL: the true reverse step of N(0, I) has variance β_t, and β̃_t < β_t
    costs ½ [log(β̃_t/β_t) + β_t/β̃_t − 1] > 0 nats per dimension and step."""
    betas = torch.linspace(1e-3, 0.05, 30, dtype=torch.float64)
    alpha_bar = torch.cumprod(1 - betas, 0)                                  # ᾱ_1..ᾱ_T
    beta_tilde = (1 - alpha_bar[:-1]) / (1 - alpha_bar[1:]) * betas[1:]      # β̃_2..β̃_T
    sigma2 = NoiseSchedule.linear(30, 1e-3, 0.05).sigma2("beta_tilde")
    assert sigma2.shape == (30,)
    torch.testing.assert_close(sigma2[1:].double(), beta_tilde, rtol=1e-5, atol=0)
    torch.testing.assert_close(sigma2[0].double(), beta_tilde[0], rtol=1e-5, atol=0)     # σ_1² = β̃_2
    torch.manual_seed(0)
    digits = DDPM(shape=(1, 8, 8), levels=17, T=10, channels=8, variance="beta_tilde").eval()
    bound = digits.nll_bound(torch.randint(0, 17, (3, 1, 8, 8)), generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(bound).all()
    model = exact_model(200, [0.0, 0.0], 1.0, variance="beta_tilde").double()
    x0 = torch.randn(4000, 2, dtype=torch.float64)
    exact = 0.5 * (2 * math.log(2 * math.pi) + x0.pow(2).sum(1))            # −log N(x_0; 0, I)
    gap = model.nll_bound(x0, generator=torch.Generator().manual_seed(1)) - exact
    assert torch.isfinite(gap).all() and gap.mean() > 10 * gap.std() / math.sqrt(len(gap))


def test_predicting_eps_is_enough():
    """μ_θ(x_t, t) written through ε equals the posterior mean μ̃_t at x̂_0 = (x_t − √(1 − ᾱ_t) ε)/√ᾱ_t."""
    torch.manual_seed(0)
    schedule = NoiseSchedule.cosine(100).double()
    x_t, eps, t = torch.randn(50, 3, dtype=torch.float64), torch.randn(50, 3, dtype=torch.float64), torch.randint(2, 101, (50,))
    mean_q, _ = schedule.q_posterior(schedule.predict_x0(x_t, t, eps), x_t, t)
    assert torch.allclose(schedule.reverse_mean(x_t, t, eps), mean_q, atol=1e-5)   # the buffers are float32-rounded


def test_batched_bound_equals_the_bound_written_out_term_by_term():
    """bound_terms evaluates (example, t) pairs in large batches; the same terms one t at a time, from the
    public pieces and the same noise, agree. Every column is a term: L_0 (discretised), L_1..L_{T−1}, L_T."""
    torch.manual_seed(0)
    model = DDPM(shape=(1, 8, 8), levels=17, T=12, channels=8).eval()
    x = torch.randint(0, 17, (5, 1, 8, 8))
    fast = model.bound_terms(x, batch_size=10_000, generator=torch.Generator().manual_seed(3))
    s, g, x0 = model.schedule, torch.Generator().manual_seed(3), x.float() / 8 - 1
    slow = torch.zeros(5, 13)
    with torch.no_grad():
        for step in range(1, 13):
            t = torch.full((5,), step)
            x_t = s.q_sample(x0, t, torch.randn(x0.shape, generator=g))
            mean = s.reverse_mean(x_t, t, model.eps_theta(x_t, t))
            if step == 1:
                slow[:, 0] = -discretized_gaussian_log_prob(x0, mean, s.betas[0], 17).flatten(1).sum(1)
            else:
                mean_q, var_q = s.q_posterior(x0, x_t, t)
                slow[:, step - 1] = gaussian_kl(mean_q, var_q, mean, s.betas[step - 1]).flatten(1).sum(1)
        slow[:, 12] = gaussian_kl(s.alpha_bars[-1].sqrt() * x0, 1 - s.alpha_bars[-1], torch.zeros_like(x0), 1.0).flatten(1).sum(1)
    assert torch.allclose(fast, slow, rtol=1e-4, atol=1e-4)
    bound = model.nll_bound(x, generator=torch.Generator().manual_seed(3))  # the same draws: the sum of every term
    assert (fast >= 0).all() and torch.allclose(bound, fast.sum(1), rtol=1e-6, atol=0)


def test_clipping_x0_changes_nothing_where_nothing_is_clipped():
    """clip_x0 steps to μ̃_t(clip(x̂_0), x_t): with an ε-network that makes x̂_0 = 0 exactly, never clipped, the
    samples equal Algorithm 2's; where x̂_0 leaves [−1, 1] they differ."""

    class ZeroX0(nn.Module):
        def __init__(self, schedule, scale):
            super().__init__()
            self.schedule, self.scale = schedule, scale

        def forward(self, x, t, y=None):   # ε = x_t/√(1 − ᾱ_t) − scale: x̂_0 = scale·√(1 − ᾱ_t)/√ᾱ_t
            ab = self.schedule.alpha_bars[t - 1].view(-1, 1, 1, 1)
            return x / (1 - ab).sqrt() - self.scale

    model = DDPM(shape=(1, 2, 2), levels=17, T=20, channels=8)
    x_T = torch.randn(4, 1, 2, 2)
    for scale, same in ((0.0, True), (-3.0, False)):
        model.eps_net = ZeroX0(model.schedule, scale)
        runs = []
        for clip in (False, True):
            torch.manual_seed(0)
            runs.append(model.sample(4, x_T=x_T, clip_x0=clip, return_trajectory=True)[1])
        assert torch.allclose(runs[0], runs[1], atol=1e-5) == same


def test_discretized_decoder_sums_to_one_over_the_levels():
    K = 17
    grid = torch.arange(K, dtype=torch.float64) * 2 / (K - 1) - 1            # the levels on [−1, 1]
    for mean, var in ((0.03, 0.004), (-0.98, 1e-4), (0.5, 4.0), (3.0, 1e-6)):
        log_p = discretized_gaussian_log_prob(grid, torch.full((K,), mean, dtype=torch.float64), var, K)
        assert torch.isfinite(log_p).all() and log_p.exp().sum().item() == pytest.approx(1.0, abs=1e-9)


def test_ddim_is_deterministic_given_x_T_only_for_eta_zero():
    torch.manual_seed(0)
    model = DDPM(shape=(2,), T=50, hidden=16, layers=1).eval()
    x_T = torch.randn(5, 2)
    runs = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        runs.append([model.sample(5, method="ddim", steps=10, eta=eta, x_T=x_T) for eta in (0.0, 0.5)])
    assert torch.equal(runs[0][0], runs[1][0])
    assert not torch.allclose(runs[0][1], runs[1][1])
    assert ddim_timesteps(1000, 50)[[0, -1]].tolist() == [1, 1000] and len(ddim_timesteps(1000, 50).unique()) == 50
    assert torch.equal(ddim_timesteps(7, 7), torch.arange(1, 8))


@pytest.mark.parametrize("eta, steps", [(0.7, 10), (1.0, 50)])
def test_ddim_steps_add_sigma_squared_and_end_at_alpha_bar_0(eta, steps):
    """With ε_θ ≡ 0 each DDIM step is x_{t'} = √(ᾱ_{t'}/ᾱ_t) x_t + σ z (x̂_0 = x_t/√ᾱ_t), so the residual
    x_{t'} − √(ᾱ_{t'}/ᾱ_t) x_t of every step has variance σ² = η² (1 − ᾱ_{t'})/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_{t'})
    (within 5 Monte-Carlo standard errors, σ²·√(2/n)), including the noise of the second-to-last step, and
    η = 1 on all of 1..T gives σ² = β̃_t. The last step goes to ᾱ_0 = 1: x_0 = x̂_0 = x_1/√ᾱ_1 exactly."""
    model = DDPM(shape=(2,), T=50, hidden=8, layers=1).double()
    model.eps_net = ZeroEps()
    n = 20_000
    _, trajectory = model.sample(n, method="ddim", steps=steps, eta=eta, return_trajectory=True,
                                 generator=torch.Generator().manual_seed(0))
    tau = ddim_timesteps(50, steps).tolist()
    alpha_bar = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 50, dtype=torch.float64), 0)   # ᾱ_t, recomputed
    assert trajectory.shape == (steps + 1, n, 2)
    for k, i in enumerate(range(len(tau) - 1, 0, -1)):                       # steps τ_i → τ_{i−1}, i ≥ 1
        ab, ab_prev = alpha_bar[tau[i] - 1], alpha_bar[tau[i - 1] - 1]
        sigma2 = eta ** 2 * (1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)
        if steps == 50:
            beta = 1 - ab / ab_prev                                          # consecutive steps: β_t
            assert sigma2 == pytest.approx((1 - ab_prev) / (1 - ab) * beta)  # = β̃_t
        residual = trajectory[k + 1] - (ab_prev / ab).sqrt() * trajectory[k]
        assert residual.mean().abs() < 5 * (sigma2 / (2 * n)).sqrt(), f"step {tau[i]} → {tau[i - 1]}"
        assert (residual.var() - sigma2).abs() < 5 * sigma2 * math.sqrt(2 / (2 * n)), \
            f"step {tau[i]} → {tau[i - 1]}: residual variance {residual.var():.4g}, σ² {sigma2:.4g}"
    # (the buffers are float32-rounded: 1e-6 here; stopping at ᾱ_1 instead would be off by 1/√ᾱ_1 − 1 = 5e-5)
    torch.testing.assert_close(trajectory[-1], trajectory[-2] / alpha_bar[0].sqrt(), rtol=1e-6, atol=1e-7)


def test_algorithm_2_adds_no_noise_at_the_last_step():
    torch.manual_seed(0)
    model = DDPM(shape=(2,), T=4, hidden=8, layers=1).eval()
    x, trajectory = model.sample(6, return_trajectory=True)
    assert trajectory.shape == (5, 6, 2) and torch.equal(trajectory[-1], x)
    with torch.no_grad():
        for step, x_t, x_prev in ((1, trajectory[-2], trajectory[-1]), (2, trajectory[-3], trajectory[-2])):
            t = torch.full((6,), step)
            mean = model.schedule.reverse_mean(x_t, t, model.eps_theta(x_t, t))
            assert torch.allclose(x_prev, mean) == (step == 1)             # t = 1: the mean; t = 2: + σ_t z


class LabelStub(nn.Module):
    """ε(x, t, y) = y (the label as a constant), the null class ∅ = 3 → 0: the guided ε̃ can be read off."""

    def forward(self, x, t, y=None):
        return torch.where(y == 3, 0.0, y.float() + 1)[:, None].expand_as(x)


def test_guidance_moves_away_from_the_unconditional_prediction():
    model = DDPM(shape=(2,), T=10, classes=3, hidden=8, layers=1)
    model.eps_net = LabelStub()
    x, t, y = torch.zeros(3, 2), torch.full((3,), 5), torch.tensor([0, 1, 2])
    eps_y, eps_null = model.eps_theta(x, t, y), model.eps_theta(x, t, None)
    assert (eps_null == 0).all() and torch.equal(eps_y[:, 0], y.float() + 1)
    for w in (0.5, 2.0):
        guided = model.eps_theta(x, t, y, guidance=w)                       # (1 + w) ε_y − w ε_∅
        assert torch.allclose(guided, (1 + w) * eps_y)
        assert ((guided - eps_null).norm(dim=1) > (eps_y - eps_null).norm(dim=1)).all()
    assert torch.equal(model.eps_theta(x, t, y, guidance=0.0), eps_y)
    assert torch.equal(model.eps_theta(x, t, y, guidance=-1.0), eps_null)


class ZeroEps(nn.Module):
    def forward(self, x, t, y=None):
        return torch.zeros_like(x)


def test_a_conditional_bound_without_labels_is_the_null_models():
    """bound_terms(x) of a conditional DDPM without y bounds its unconditional model ε_θ(x_t, t, ∅): with the
    LabelStub (ε_∅ = 0) it equals the bound of an unconditional model whose ε-network returns 0."""
    torch.manual_seed(0)
    model = DDPM(shape=(2,), T=10, classes=3, hidden=8, layers=1)
    model.eps_net = LabelStub()
    x = torch.randn(4, 2)
    plain = DDPM(shape=(2,), T=10, hidden=8, layers=1)
    plain.eps_net = ZeroEps()
    null = model.bound_terms(x, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(null, plain.bound_terms(x, generator=torch.Generator().manual_seed(0)))
    assert not torch.allclose(null, model.bound_terms(x, torch.tensor([0, 1, 2, 0]),
                                                      generator=torch.Generator().manual_seed(0)))


# --- networks, gradients, training ----------------------------------------------------------------

def _check_gradients(model: nn.Module, loss: torch.Tensor) -> None:
    model.zero_grad(set_to_none=True)
    loss.backward()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{name} receives no gradient"


@pytest.mark.parametrize("fields", [dict(shape=(2,), hidden=16), dict(shape=(1, 8, 8), levels=17, channels=8),
                                    dict(shape=(1, 8, 8), levels=17, channels=8, classes=10, p_uncond=0.5),
                                    dict(shape=(1, 28, 28), levels=256, channels=8, T=100)])
def test_every_network_is_registered_and_trained(fields):
    torch.manual_seed(0)
    model = DDPM(T=fields.pop("T", 1000), **fields)
    assert isinstance(model.eps_net, UNet if len(model.data_shape) == 3 else TimeMLP)
    x = (torch.randint(0, model.data_levels, (8, *model.data_shape)) if model.data_levels
         else torch.randn(8, *model.data_shape))
    parts = model.loss((x, torch.arange(8) % 10))
    assert set(parts) == {"loss", "mse"} and torch.isfinite(parts["loss"])
    _check_gradients(model, parts["loss"])
    if model.config.classes:
        assert model.eps_net.label_embedding.weight.grad[10].abs().sum() > 0      # the null row was trained too
    s = model.eval().sample(2, method="ddim", steps=3)
    assert s.shape == (2, *model.data_shape)


def test_unet_default_size_and_shapes():
    assert 100_000 <= sum(p.numel() for p in UNet((1, 8, 8)).parameters()) <= 400_000
    with pytest.raises(ValueError, match="divisible by 4"):
        UNet((1, 10, 10), channel_mult=(1, 2, 2))


def test_ema_follows_a_ddpm():
    torch.manual_seed(0)
    model = DDPM(shape=(2,), T=20, hidden=16, layers=1)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    data = [(torch.randn(32, 2),) for _ in range(5)]
    history = train(model, data, steps=5, ema_decay=0.9, device="cpu", progress=False, lr=1e-2)
    averaged = history.ema.model
    assert isinstance(averaged, DDPM) and history.ema.updates == 5
    w, w_ema, w0 = (m["eps_net.out.weight"] for m in (model.state_dict(), averaged.state_dict(), start))
    assert not torch.equal(w_ema, w) and not torch.equal(w_ema, w0)
    assert torch.equal(averaged.schedule.alpha_bars, model.schedule.alpha_bars)
    assert averaged.sample(3).shape == (3, 2)


def test_latent_diffusion_trains_its_prior_only_and_samples_digits():
    torch.manual_seed(0)
    vae = VAE(shape=(1, 8, 8), levels=17, latent_dim=3, hidden=16, depth=1)
    model = LatentDiffusion(vae, T=30, hidden=16, layers=1)
    x = torch.randint(0, 17, (8, 1, 8, 8))
    before = {k: v.clone() for k, v in vae.state_dict().items()}
    _check_gradients(model.prior, model.loss((x,))["loss"])
    assert all(p.grad is None for p in vae.parameters())
    assert all(torch.equal(before[k], v) for k, v in vae.state_dict().items())
    s = model.eval().sample(4, generator=torch.Generator().manual_seed(0))
    assert s.shape == (4, 1, 8, 8) and s.dtype == torch.int64 and 0 <= s.min() and s.max() <= 16
    assert torch.equal(s, model.sample(4, generator=torch.Generator().manual_seed(0)))     # seeded: the VAE's draw too
    assert model.sample(3, method="ddim", steps=4).shape == (3, 1, 8, 8)  # no decoder_noise for DDIM
    bound = model.nll_bound(x, generator=torch.Generator().manual_seed(0))
    assert bound.shape == (8,) and torch.isfinite(bound).all()
    torch.manual_seed(1)                                                     # the global RNG plays no part
    assert torch.equal(bound, model.nll_bound(x, generator=torch.Generator().manual_seed(0)))   # z and the x_t
    assert not torch.allclose(bound, model.nll_bound(x, generator=torch.Generator().manual_seed(1)))


# --- devices ----------------------------------------------------------------------------------------

def test_the_schedule_follows_the_data_to_its_device():
    """A schedule on the CPU serves data on another device (meta here; CUDA the same way): q_sample, q_step,
    q_posterior and reverse_mean return tensors on the data's device, t on either."""
    schedule = NoiseSchedule.linear(10)
    x = torch.zeros(3, 2, device="meta")
    for t in (torch.full((3,), 2), torch.full((3,), 2, device="meta")):
        outputs = [schedule.q_sample(x, t, x), schedule.q_step(x, t, x), *schedule.q_posterior(x, x, t),
                   schedule.reverse_mean(x, t, x), schedule.predict_x0(x, t, x)]
        assert all(v.device.type == "meta" for v in outputs)


def test_data_on_another_device_than_the_models_is_named():
    x, images = torch.zeros(4, 2, device="meta"), torch.zeros(2, 1, 4, 4, dtype=torch.long, device="meta")
    model = DDPM(shape=(2,), T=10, hidden=8, layers=1)
    for call in (lambda: model.loss((x,)), lambda: model.bound_terms(x), lambda: model.nll_bound(x)):
        with pytest.raises(ValueError, match=r"x is on meta but the model is on cpu"):
            call()
    with torch.device("meta"):
        on_meta = DDPM(shape=(2,), T=10, hidden=8, layers=1)
    with pytest.raises(ValueError, match=r"x is on cpu but the model is on meta"):
        on_meta.loss((torch.zeros(4, 2),))
    latent = LatentDiffusion(VAE(shape=(1, 4, 4), levels=5, latent_dim=2, hidden=8, depth=1), T=10, hidden=8, layers=1)
    for call in (lambda: latent.loss((images,)), lambda: latent.nll_bound(images)):
        with pytest.raises(ValueError, match=r"x is on meta but the model is on cpu"):
            call()


# --- errors -----------------------------------------------------------------------------------------

def test_errors_name_what_was_expected():
    schedule = NoiseSchedule.linear(10)
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match=r"from 1 to T = 10.*0\.\.0"):
        schedule.q_sample(x, torch.zeros(3, dtype=torch.long), x)
    with pytest.raises(ValueError, match=r"from 1 to T = 10.*11\.\.11"):
        schedule.q_step(x, torch.full((3,), 11), x)
    with pytest.raises(TypeError, match="integer time steps"):
        schedule.q_sample(x, torch.ones(3), x)
    with pytest.raises(ValueError, match=r"one shape.*\(3, 2\) and \(3, 1\)"):
        schedule.q_sample(x, torch.ones(3, dtype=torch.long), torch.zeros(3, 1))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        schedule.q_sample(x, torch.ones(2, dtype=torch.long), x)
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        NoiseSchedule(torch.tensor([0.1, 1.5]))
    model = DDPM(shape=(1, 8, 8), levels=17, T=10, channels=8)
    with pytest.raises(ValueError, match=r"shape \(N, 1, 8, 8\), got \(4, 64\)"):
        model.loss((torch.zeros(4, 64, dtype=torch.long),))
    with pytest.raises(ValueError, match="levels 0..16"):
        model.loss((torch.full((4, 1, 8, 8), 17),))
    with pytest.raises(ValueError, match="guidance needs a class-conditional"):
        model.sample(2, guidance=1.0)
    with pytest.raises(ValueError, match="steps must be an int in 1..T = 10"):
        model.sample(2, method="ddim", steps=11)
    with pytest.raises(ValueError, match="use method='ddim'"):
        model.sample(2, steps=5)
    with pytest.raises(ValueError, match="variance must be one of"):
        model.sample(2, variance="learned")
    with pytest.raises(ValueError, match=r"x_T must have shape"):
        model.sample(2, x_T=torch.zeros(2, 64))
    for eta in (1.5, -0.1, math.nan):                                        # σ² > 1 − ᾱ_t' above 1
        with pytest.raises(ValueError, match=rf"eta must be in \[0, 1\].*got {eta}"):
            model.sample(2, method="ddim", steps=3, eta=eta)
    with pytest.raises(ValueError, match=r"got variance='beta_tilde' with method='ddim'"):
        model.sample(2, method="ddim", steps=3, variance="beta_tilde")
    with pytest.raises(ValueError, match=r"got decoder_noise=True with method='ddim'"):
        model.sample(2, method="ddim", steps=3, decoder_noise=True)
    with pytest.raises(ValueError, match=r"got eta=0.5 with method='ddpm'"):
        model.sample(2, eta=0.5)
    conditional = DDPM(shape=(2,), T=10, classes=3, hidden=8, layers=1)
    with pytest.raises(ValueError, match="give the labels y"):
        conditional.loss((torch.zeros(4, 2),))
    with pytest.raises(ValueError, match=r"levels=K"):
        DDPM(shape=(2,), schedule="grey_level")
