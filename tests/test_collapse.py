"""The posterior-collapse toy (coursekit/models/collapse.py, appendix 02b): its decoder density is the
mixture it claims, free bits charge max(λ, KL_j), the KL warm-up sets β per step, and bad input is refused."""
import math

import pytest
import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from coursekit.models import CollapseVAE, kl_warmup
from coursekit.training import train


def test_log_px_z_is_the_mixture_of_diagonal_gaussians():
    torch.manual_seed(0)
    model = CollapseVAE(components=3, hidden=8).double()
    x, z = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    log_pi, means, log_s = model.mixture(z)
    reference = MixtureSameFamily(Categorical(logits=log_pi), Independent(Normal(means, log_s.exp()), 1))
    torch.testing.assert_close(model.log_px_z(x, z), reference.log_prob(x))
    assert torch.allclose(log_pi.exp().sum(-1), torch.ones(5, dtype=torch.float64))


def _prior_encoder(model):
    """Make q(z|x) = N(0, I) for every x (the collapsed encoder)."""
    last = model.encoder[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)


def test_free_bits_charge_lambda_per_dimension_and_leave_the_elbo_alone():
    torch.manual_seed(0)
    x = torch.randn(64, 2)
    plain, free = CollapseVAE(components=2, hidden=8), CollapseVAE(components=2, hidden=8, free_bits=0.5)
    free.load_state_dict(plain.state_dict())
    for model in (plain, free):
        _prior_encoder(model)
    torch.manual_seed(1); a = plain.loss((x,))
    torch.manual_seed(1); b = free.loss((x,))
    assert a["kl"].item() == pytest.approx(0.0, abs=1e-6)
    assert b["loss"].item() == pytest.approx(a["recon"].item() + 2 * 0.5, abs=1e-5)   # L = 2 dims, λ each
    torch.testing.assert_close(a["elbo"], b["elbo"])                                      # the ELBO is the true one


def test_free_bits_do_not_clamp_a_kl_above_lambda():
    torch.manual_seed(0)
    x = 3 * torch.randn(64, 2)
    model = CollapseVAE(components=2, hidden=8, free_bits=1e-4)
    torch.manual_seed(1); parts = model.loss((x,))
    assert parts["kl"].item() > 2e-4
    assert parts["loss"].item() == pytest.approx((parts["recon"] + parts["kl"]).item(), rel=1e-5)


def test_kl_warmup_raises_beta_per_step_and_ends_at_one():
    x = torch.randn(64, 2)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=16)
    model = CollapseVAE(components=1, hidden=8, beta_kl=0.3)
    history = train(model, loader, steps=8, lr=1e-3, seed=0, progress=False, step_fn=kl_warmup(4))
    assert history.steps["beta_kl"] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert model.config.beta_kl == 1.0
    with pytest.raises(ValueError, match="warmup_steps must be a positive int, got 0"):
        kl_warmup(0)


def test_samples_follow_the_decoder():
    torch.manual_seed(0)
    model = CollapseVAE(components=2, hidden=8)
    last = model.decoder[-1]
    torch.nn.init.zeros_(last.weight)
    with torch.no_grad():   # π = (0.3, 0.7), means (3, −3) and (−3, 3), s = e^-3 for every z
        last.bias.copy_(torch.tensor([math.log(0.3), math.log(0.7), 3.0, -3.0, -3.0, 3.0, -3.0, -3.0, -3.0, -3.0]))
    x = model.sample(4000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4000, 2)
    first = x[:, 0] > 0
    assert first.float().mean().item() == pytest.approx(0.3, abs=0.03)          # the component drawn with π
    torch.testing.assert_close(x[first].mean(0), torch.tensor([3.0, -3.0]), atol=0.01, rtol=0)
    assert x[first].std(0).max().item() == pytest.approx(math.exp(-3), rel=0.1)


def test_free_bits_clamp_each_dimension_s_batch_mean():
    """One dimension carries more than λ on average, though not on every example; the other carries nothing:
    loss = recon + E_x KL_0 + λ. Clamping each example, or the total, gives another number."""
    torch.manual_seed(0)
    x = torch.randn(256, 2)
    lam = 0.25
    model = CollapseVAE(components=2, hidden=8, free_bits=lam)
    mu = torch.stack([x[:, 0], torch.zeros(256)], 1)                                  # KL_0 = x_0² / 2, KL_1 = 0
    model.encode = lambda inputs: (mu, torch.zeros(256, 2))
    torch.manual_seed(1); parts = model.loss((x,))
    kl_0 = 0.5 * x[:, 0].pow(2)
    assert kl_0.mean().item() > lam and (kl_0 < lam).any()
    assert parts["loss"].item() == pytest.approx((parts["recon"] + kl_0.mean() + lam).item(), rel=1e-6)
    assert parts["kl"].item() == pytest.approx(kl_0.mean().item(), rel=1e-6)


def test_bad_input_is_refused_with_what_was_expected():
    model = CollapseVAE()
    with pytest.raises(ValueError, match=r"x"):
        model.loss((torch.randn(4, 3),))
    with pytest.raises(TypeError, match=r"floating-point tensor\), got dtype torch.int64"):
        model.nll_bound(torch.zeros(4, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="components must be a positive int, got 0"):
        CollapseVAE(components=0)
    with pytest.raises(ValueError, match="free_bits must be a number >= 0, got -1"):
        CollapseVAE(free_bits=-1)
