"""The VAE family: the properties lecture 02 claims, checked.

The closed-form KL against Monte Carlo; ELBO ≤ log p(x) on probabilistic PCA, where log p(x)
is exact, with the gap equal to KL(q ‖ p(z|x)) and zero at the true posterior; the IWAE
bound growing with k and equal to the ELBO in expectation at k = 1; gradients through the
reparameterised sample and none through `Normal.sample`; normalised decoders; a conditional
VAE that uses its label; one-epoch smoke tests; dtype, device and shape errors.
"""
import math

import pytest
import torch
from torch.distributions import Categorical, MultivariateNormal, Normal

from coursekit import data
from coursekit.models import VAE, VAEConfig
from coursekit.models.vae import (
    decoder_log_likelihood, diagonal_gaussian_log_prob, gaussian_kl, reparameterize, standard_normal_log_prob,
)
from coursekit.data.sprites import sprites
from coursekit.training import train

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are tiny: one thread is faster than two fighting over a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_vae(**fields) -> VAE:
    torch.manual_seed(fields.pop("seed", 0))
    return VAE(**{"latent_dim": 4, "hidden": 32, "dropout": 0.0, **fields})


# --- the pieces of the ELBO -------------------------------------------------------------------

def test_closed_form_gaussian_kl_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64)
    log_var = torch.randn(4, 3, generator=g, dtype=torch.float64)
    closed = gaussian_kl(mu, log_var)                                              # (4,)
    z = reparameterize(mu.expand(200_000, -1, -1), log_var.expand(200_000, -1, -1), g)  # (S, 4, 3)
    log_ratio = diagonal_gaussian_log_prob(z, mu, log_var) - standard_normal_log_prob(z)  # (S, 4)
    mc, se = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(200_000)
    assert torch.all((closed - mc).abs() < 5 * se + 1e-6), (closed, mc, se)
    # and against torch.distributions, and its edge cases
    q, p = Normal(mu, (0.5 * log_var).exp()), Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.testing.assert_close(closed, torch.distributions.kl_divergence(q, p).sum(-1))
    assert gaussian_kl(torch.zeros(2, 5), torch.zeros(2, 5)).abs().max() == 0
    assert (closed > 0).all()


def test_log_densities_match_torch_distributions():
    g = torch.Generator().manual_seed(1)
    z, mu, log_var = (torch.randn(6, 3, generator=g, dtype=torch.float64) for _ in range(3))
    expected = Normal(mu, (0.5 * log_var).exp()).log_prob(z).sum(-1)
    torch.testing.assert_close(diagonal_gaussian_log_prob(z, mu, log_var), expected)
    torch.testing.assert_close(standard_normal_log_prob(z), Normal(0.0, 1.0).log_prob(z).sum(-1))


def test_reparameterised_samples_carry_gradients_and_plain_samples_do_not():
    mu = torch.tensor([0.5, -1.0], requires_grad=True)
    sigma = torch.tensor([2.0, 0.3], requires_grad=True)
    g = torch.Generator().manual_seed(2)
    z = reparameterize(mu, 2 * sigma.log(), g)            # z = μ + σ ε
    z.sum().backward()
    eps = (z - mu) / sigma
    torch.testing.assert_close(mu.grad, torch.ones(2))      # ∂z/∂μ = 1
    torch.testing.assert_close(sigma.grad, eps.detach())    # ∂z/∂σ = ε
    assert sigma.grad.abs().min() > 0
    # sampling without the trick cuts the graph; rsample is the same trick inside torch
    plain = Normal(mu, sigma).sample()
    assert not plain.requires_grad and plain.grad_fn is None
    assert Normal(mu, sigma).rsample().grad_fn is not None


def test_decoders_normalise():
    z = torch.randn(3, 4, generator=torch.Generator().manual_seed(3))
    for decoder, levels in (("categorical", 17), ("categorical", 5), ("bernoulli", 2)):
        model = small_vae(decoder=decoder, levels=levels)
        per_level = torch.stack([model.log_px_z(torch.full((3, 1, 8, 8), k), z, per_dim=True)
                                 for k in range(levels)])  # (K, N, C, H, W)
        torch.testing.assert_close(per_level.logsumexp(0), torch.zeros(3, 1, 8, 8), atol=1e-5, rtol=0)
        assert per_level.std() > 0.01  # not trivially uniform
    for learn in (False, True):  # fixed σ_x and learned σ_x (starts at 1)
        model = small_vae(decoder="gaussian", x_std=0.1 if not learn else 1.0, learn_x_std=learn).double()
        grid = torch.linspace(-8, 8, 4001, dtype=torch.float64)
        x = grid.view(-1, 1, 1, 1, 1).expand(-1, 3, 1, 8, 8).reshape(-1, 1, 8, 8)   # (G·N, C, H, W)
        log_p = model.log_px_z(x, z.double().repeat(len(grid), 1), per_dim=True)     # (G·N, C, H, W)
        density = log_p.view(len(grid), 3, 1, 8, 8).exp()                            # (G, N, C, H, W)
        torch.testing.assert_close(torch.trapezoid(density, grid, dim=0), torch.ones(3, 1, 8, 8, dtype=torch.float64),
                                   atol=1e-6, rtol=0)


def test_decoder_log_likelihoods_match_torch_distributions():
    g = torch.Generator().manual_seed(4)
    logits = torch.randn(2, 17, 1, 3, 3, generator=g)
    x = torch.randint(0, 17, (2, 1, 3, 3), generator=g)
    expected = Categorical(logits=logits.movedim(1, -1)).log_prob(x)
    torch.testing.assert_close(decoder_log_likelihood("categorical", logits, x), expected)
    bern_logits, xb = torch.randn(2, 1, 3, 3, generator=g), torch.randint(0, 2, (2, 1, 3, 3), generator=g)
    expected = torch.distributions.Bernoulli(logits=bern_logits).log_prob(xb.float())
    torch.testing.assert_close(decoder_log_likelihood("bernoulli", bern_logits, xb), expected)
    mean, xg = torch.randn(2, 1, 3, 3, generator=g), torch.randn(2, 1, 3, 3, generator=g)
    log_std = torch.tensor(-1.2)
    torch.testing.assert_close(decoder_log_likelihood("gaussian", mean, xg, log_std),
                               Normal(mean, log_std.exp()).log_prob(xg))


# --- the ELBO is below the exact log-likelihood: probabilistic PCA -----------------------------

def ppca(sigma=0.5, seed=5):
    """A linear-Gaussian VAE, x = W z + b + σ ε with D = 4, L = 2, and W's columns orthogonal, so that
    the true posterior N(M⁻¹Wᵀ(x − b), σ² M⁻¹), M = WᵀW + σ² I, is diagonal and the encoder can be it."""
    model = VAE(architecture="linear", decoder="gaussian", shape=(1, 2, 2), latent_dim=2, x_std=sigma).double()
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(4, 2, generator=g, dtype=torch.float64))
    W = q * torch.tensor([2.0, 0.7], dtype=torch.float64)                    # (D, L), orthogonal columns
    b = torch.randn(4, generator=g, dtype=torch.float64)
    M = W.T @ W + sigma**2 * torch.eye(2, dtype=torch.float64)               # diagonal
    with torch.no_grad():
        decoder, encoder = model.decoder_head[0], model.encoder_head[0]
        decoder.weight.copy_(W)
        decoder.bias.copy_(b)
        A = torch.linalg.solve(M, W.T)                                       # (L, D): posterior mean = A (x − b)
        encoder.weight.copy_(torch.cat([A, torch.zeros(2, 4, dtype=torch.float64)]))
        encoder.bias.copy_(torch.cat([-A @ b, torch.log(sigma**2 / torch.diagonal(M))]))
    marginal = MultivariateNormal(b, W @ W.T + sigma**2 * torch.eye(4, dtype=torch.float64))  # N(b, WWᵀ + σ²I)
    x = marginal.sample((50,)).view(50, 1, 2, 2)
    return model, marginal, x


def test_elbo_is_below_the_exact_log_likelihood_of_probabilistic_pca():
    torch.manual_seed(0)
    model, marginal, x = ppca()
    log_px = marginal.log_prob(x.view(50, 4))                               # exact, (50,)
    # at the true posterior every importance weight equals p(x): the bound is exact for every k
    torch.testing.assert_close(model.iwae_bound(x, k=3), log_px)
    torch.testing.assert_close(model.log_weights(x, k=4).std(0), torch.zeros(50, dtype=torch.float64), atol=1e-6, rtol=0)
    _, post_log_var = model.encode(x)                                        # σ²_j of p(z|x)
    gaps = [(log_px - model.elbo(x, samples=2000)).mean()]
    # shift q's mean away from the posterior's: the ELBO drops below log p(x) by
    # KL(q ‖ p(z|x)) = ½ Σ_j δ² / σ²_j (same variances, means δ apart)
    for total_shift in (0.3, 1.3):
        with torch.no_grad():
            model.encoder_head[0].bias[:2] += total_shift - (0.3 if total_shift == 1.3 else 0.0)
        elbo = model.elbo(x, samples=2000)
        assert (elbo < log_px).all()
        gap = (log_px - elbo).mean()
        expected = 0.5 * (total_shift**2 / post_log_var.exp()).sum(-1).mean()
        assert abs(gap - expected) < 0.03 * expected + 0.02, (gap, expected)
        gaps.append(gap)
    assert abs(gaps[0]) < 0.02 and gaps[0] < gaps[1] < gaps[2]


# --- importance sampling ----------------------------------------------------------------------

def test_iwae_bound_tightens_with_k_towards_the_exact_log_likelihood():
    torch.manual_seed(0)
    model, marginal, x = ppca()
    log_px = marginal.log_prob(x.view(50, 4)).mean()
    with torch.no_grad():
        model.encoder_head[0].bias[:2] += 0.4          # q is no longer the posterior: the bound has a gap
    g = torch.Generator().manual_seed(6)
    bounds = [model.iwae_bound(x, k=k, generator=g).mean() for k in (1, 10, 100, 1000)]
    assert bounds[0] < bounds[1] < bounds[2] < bounds[3] < log_px + 0.01, (bounds, log_px)
    assert log_px - bounds[3] < 0.15 * (log_px - bounds[0])         # most of the gap closed at k = 1000


def test_iwae_at_k_1_is_the_elbo_in_expectation(digits):
    model = small_vae()
    x = digits.test.x[:16]
    g = torch.Generator().manual_seed(6)
    # k = 1: L_1 = log w = log p(x|z) + log p(z) − log q(z|x), z ~ q; its mean is the ELBO
    log_w = model.log_weights(x, k=1000, generator=g)                       # 1000 draws of L_1 per example
    elbo = model.elbo(x, samples=200, generator=g)
    se = log_w.std(0).pow(2).sum().sqrt() / (len(x) * math.sqrt(1000))    # s.e. of log_w.mean()
    assert abs(log_w.mean() - elbo.mean()) < 5 * se * (1 + math.sqrt(1000 / 200)), (log_w.mean(), elbo.mean(), se)
    # and the k = 1 bound is exactly one log weight
    one = model.iwae_bound(x, k=1, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(one, model.log_weights(x, k=1, generator=torch.Generator().manual_seed(3))[0])


def test_log_weights_match_an_explicit_computation(digits):
    model = small_vae()
    x = digits.test.x[:1]
    g = torch.Generator().manual_seed(7)
    fast = model.log_weights(x, k=5, generator=torch.Generator().manual_seed(7))  # (5, 1)
    mu, log_var = model.encode(x)
    eps = torch.randn((5, 1, 4), generator=g)
    z = (mu + (0.5 * log_var).exp() * eps)[:, 0]                                # (5, L)
    logits = model.decoder_output(z)                                            # (5, K, 1, 8, 8)
    log_px_z = Categorical(logits=logits.movedim(1, -1)).log_prob(x.expand(5, -1, -1, -1)).flatten(1).sum(1)
    log_pz = Normal(0.0, 1.0).log_prob(z).sum(1)
    log_qz = Normal(mu[0], (0.5 * log_var[0]).exp()).log_prob(z).sum(1)
    torch.testing.assert_close(fast[:, 0], (log_px_z + log_pz - log_qz).detach(), atol=1e-4, rtol=1e-5)
    # the prior as proposal: the weights are p(x|z) alone
    prior = model.log_weights(x, k=3, proposal="prior", generator=torch.Generator().manual_seed(8))
    z = torch.randn((3, 1, 4), generator=torch.Generator().manual_seed(8))[:, 0]
    expected = model.log_px_z(x.expand(3, -1, -1, -1), z).detach()
    torch.testing.assert_close(prior[:, 0], expected, atol=1e-4, rtol=1e-5)


def test_iwae_chunks_cover_every_example_and_sample(digits, monkeypatch):
    import coursekit.models.vae as vae_module

    model = small_vae()
    x = digits.test.x[:7]
    whole = model.log_weights(x, k=6, generator=torch.Generator().manual_seed(9))
    monkeypatch.setattr(vae_module, "_CHUNK_ELEMENTS", 3 * 17 * 64)  # 3 decoder rows per chunk
    chunked = model.log_weights(x, k=6, generator=torch.Generator().manual_seed(9))
    assert chunked.shape == whole.shape == (6, 7) and torch.isfinite(chunked).all()
    # different chunking draws different ε, but the per-example means agree within noise
    assert (chunked.mean(0) - whole.mean(0)).abs().max() < 6 * whole.std(0).max()
    assert len({round(v, 4) for v in chunked.flatten().tolist()}) == 42  # no sample reused


def test_nll_bound_names_its_bound(digits):
    model = small_vae(iwae_k=20)
    assert model.likelihood == "bound" and model.bound == "iwae-20"
    x = digits.test.x[:5]
    torch.manual_seed(0)
    nll = model.nll_bound(x)
    torch.manual_seed(0)
    torch.testing.assert_close(nll, -model.iwae_bound(x, k=20))
    assert nll.shape == (5,) and (nll > 0).all()


# --- the objective, the conditional VAE, generation --------------------------------------------

def test_loss_parts_are_consistent_and_beta_weights_the_kl(digits):
    model = small_vae()
    batch = (digits.train.x[:16], digits.train.y[:16])
    for beta in (0.0, 1.0, 4.0):
        model.config.beta_kl = beta
        torch.manual_seed(1)
        parts = model.loss(batch)
        assert set(parts) == {"loss", "recon", "kl", "elbo"}
        torch.testing.assert_close(parts["loss"], parts["recon"] + beta * parts["kl"])
        torch.testing.assert_close(parts["elbo"], -(parts["recon"] + parts["kl"]))
        assert parts["kl"] > 0 and parts["recon"] > 0
    mu, log_var = model.encode(batch[0])
    torch.testing.assert_close(parts["kl"], gaussian_kl(mu, log_var).mean())


def test_conditional_vae_uses_its_label(digits):
    model = small_vae(num_classes=10)
    x, y = digits.train.x[:8], digits.train.y[:8]
    mu3, _ = model.encode(x, 3)
    mu5, _ = model.encode(x, torch.full((8,), 5))
    assert (mu3 - mu5).abs().max() > 1e-4
    z = torch.zeros(2, 4)
    assert (model.decode(z, 3) - model.decode(z, 5)).abs().max() > 1e-4
    parts = model.loss((x, y))
    parts["loss"].backward()
    label_columns = model.decoder_head[0].weight.grad[:, 4:]  # the one-hot inputs of the decoder
    assert label_columns.abs().sum() > 0
    with pytest.raises(ValueError, match="conditional VAE"):
        model.loss((x,))
    with pytest.raises(ValueError, match=r"y must have shape \(8,\)"):
        model.encode(x, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="levels 0..9"):
        model.encode(x, torch.full((8,), 10))
    with pytest.raises(ValueError, match="unconditional"):
        small_vae().encode(x, y)
    # one z, every class: the same style, ten labels
    images = model.sample(10, z=torch.zeros(10, 4), mean=True)
    assert images.shape == (10, 1, 8, 8) and (images[0] - images[1]).abs().max() > 1e-4


def test_sampling_follows_the_decoder(digits):
    model = small_vae(levels=5)
    z = torch.zeros(4000, 4)
    draws = model.sample(4000, z=z, generator=torch.Generator().manual_seed(10))
    assert draws.dtype == torch.long and draws.shape == (4000, 1, 8, 8) and 0 <= draws.min() and draws.max() <= 4
    probs = model.decoder_output(z[:1]).softmax(1)[0]                                   # (K, C, H, W)
    freq = torch.stack([(draws == k).float().mean(0) for k in range(5)])                # (K, C, H, W)
    assert (freq - probs).abs().max() < 0.04
    torch.testing.assert_close(model.sample(3, temperature=0.0, mean=True), model.decode(torch.zeros(3, 4)).detach())
    mean = model.decode(torch.zeros(1, 4))
    torch.testing.assert_close(mean, (probs * torch.arange(5.0).view(5, 1, 1, 1)).sum(0, keepdim=True))
    b = small_vae(decoder="bernoulli")
    xb = b.sample(6)
    assert xb.dtype == torch.float32 and set(xb.unique().tolist()) <= {0.0, 1.0}
    recon = model.reconstruct(digits.test.x[:3].clamp(max=4))
    torch.testing.assert_close(recon, model.decode(model.encode(digits.test.x[:3].clamp(max=4))[0]))


def test_dropout_acts_in_training_only(digits):
    model = small_vae(dropout=0.5)
    x = digits.test.x[:8]
    z = torch.zeros(8, 4)
    model.train()
    assert (model.decode(z) - model.decode(z)).abs().max() > 0          # a new dropout mask each call
    model.eval()
    torch.testing.assert_close(model.decode(z), model.decode(z))
    g = lambda: torch.Generator().manual_seed(0)
    torch.testing.assert_close(model.elbo(x, generator=g()), model.elbo(x, generator=g()))
    assert sum(isinstance(m, torch.nn.Dropout) for m in model.modules()) == 2 * model.config.depth


# --- training, architectures, dtype, device, errors -------------------------------------------

@pytest.mark.parametrize("case", ["categorical-mlp", "bernoulli-conv-sprites", "gaussian-mlp-learned", "categorical-conv-cvae"])
def test_one_epoch_smoke(case, digits):
    if case == "categorical-mlp":
        model, x, y = small_vae(), digits.train.x[:128], digits.train.y[:128]
    elif case == "bernoulli-conv-sprites":
        part = sprites(n=160, split="train", seed=0)                          # (128, 1, 32, 32) binary
        model = small_vae(decoder="bernoulli", architecture="conv", shape=(1, 32, 32), conv_channels=(8, 16, 16))
        x, y = part.x, part.y
    elif case == "gaussian-mlp-learned":
        model = small_vae(decoder="gaussian", learn_x_std=True)
        x, y = data.dequantize(digits.train.x[:128], generator=torch.Generator().manual_seed(0)), digits.train.y[:128]
    else:
        model = small_vae(architecture="conv", conv_channels=(8, 8), num_classes=10)
        x, y = digits.train.x[:128], digits.train.y[:128]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    before = [p.detach().clone() for p in model.parameters()]
    history = train(model, loader, epochs=1, progress=False, device="cpu")
    assert all(math.isfinite(v) for k in ("train/loss", "train/kl", "train/recon", "train/elbo") for v in history[k])
    assert any((p - q).abs().max() > 0 for p, q in zip(model.parameters(), before))
    if case == "gaussian-mlp-learned":
        assert model.log_std_x.requires_grad and (model.log_std_x != math.log(0.1)).all()
    n = 5
    yy = y[:n] if model.config.num_classes else None
    assert model.sample(n, y=yy).shape == (n, *model.config.shape)
    assert model.reconstruct(x[:n], yy).shape == (n, *model.config.shape)
    assert model.elbo(x[:n], yy).shape == (n,) and model.iwae_bound(x[:n], yy, k=3).shape == (n,)


@pytest.mark.parametrize("size", [(8, 8), (28, 28), (32, 32), (7, 9)])
def test_conv_decoder_restores_the_image_size(size):
    model = small_vae(architecture="conv", shape=(1, *size), conv_channels=(4, 4, 4))
    out = model.decoder_output(torch.zeros(2, 4))
    assert out.shape == (2, 17, 1, *size)


@pytest.mark.parametrize("device", DEVICES)
def test_dtype_and_device_follow_the_data(device, digits):
    model = small_vae().to(device=device, dtype=torch.float64)
    x = digits.test.x[:6].to(device)
    parts = model.loss((x,))
    for value in (*parts.values(), model.elbo(x), model.iwae_bound(x, k=3), model.reconstruct(x), *model.encode(x)):
        assert value.dtype == torch.float64 and value.device.type == device
    assert model.sample(2, mean=True).dtype == torch.float64
    assert model.sample(2, generator=torch.Generator().manual_seed(0)).device.type == device
    gaussian = small_vae(decoder="gaussian").to(device=device, dtype=torch.float64)
    xg = data.to_float(x).double()
    assert gaussian.loss((xg,))["loss"].dtype == torch.float64
    assert gaussian.sample(2).dtype == torch.float64


def test_errors_name_both_shapes_and_the_fix(digits):
    model = small_vae()
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 8, 8\), got \(5, 64\)"):
        model.loss((digits.test.x[:5].view(5, 64),))
    with pytest.raises(ValueError, match=r"z must have shape \(N, 4\), got \(3, 2\)"):
        model.decode(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="levels 0..16"):
        model.elbo(digits.test.x[:2] + 20)
    with pytest.raises(ValueError, match="pass the raw levels"):
        model.elbo(data.to_float(digits.test.x[:2]) + 0.01)
    with pytest.raises(ValueError, match="levels must be 2"):
        VAEConfig(decoder="bernoulli", levels=17)
    with pytest.raises(ValueError, match="x_std"):
        VAEConfig(decoder="gaussian", x_std=None)
    assert not small_vae(decoder="gaussian").log_std_x.requires_grad   # fixed σ_x is a buffer
    with pytest.raises(ValueError, match="real-valued"):
        small_vae(decoder="gaussian").elbo(digits.test.x[:2])
    with pytest.raises(ValueError, match="architecture must be one of"):
        VAEConfig(architecture="transformer")
    with pytest.raises(ValueError, match="activation must be one of"):
        VAEConfig(activation="swish")
    with pytest.raises(ValueError, match="dropout"):
        VAEConfig(dropout=1.0)
    with pytest.raises(TypeError, match="not both"):
        VAE(VAEConfig(), latent_dim=3)
    with pytest.raises(ValueError, match="k .* positive"):
        model.iwae_bound(digits.test.x[:2], k=0)


def test_rate_plus_distortion_is_minus_the_elbo_and_chunks_do_not_matter():
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden=16, dropout=0.0).eval()
    x = data.digits("test").x[:50]
    R, D = model.rate_distortion(x, generator=torch.Generator().manual_seed(1))
    elbo = model.elbo(x, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(-(R + D), elbo)
    with torch.no_grad():
        torch.testing.assert_close(R, gaussian_kl(*model.encode(x)))
    R7, D7 = model.rate_distortion(x, generator=torch.Generator().manual_seed(1), batch_size=7)
    torch.testing.assert_close(R7, R)
    torch.testing.assert_close(D7, D)
    assert (R > 0).all() and R.shape == D.shape == (50,)
    with pytest.raises(ValueError, match="batch_size"):
        model.rate_distortion(x, batch_size=0)
