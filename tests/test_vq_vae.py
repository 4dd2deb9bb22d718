"""The properties lecture 04c claims of the VQ-VAE (coursekit/models/vq_vae.py).

- the straight-through estimator: the reconstruction term alone reaches the encoder (and the decoder), never
  the codebook; the codebook term reaches the codebook only; the commitment term the encoder only;
- the quantiser picks the nearest code (against a brute-force (N, M, d) search), and z_q is that code;
- a code unused for `dead_after` training batches is restarted on a z_e of the batch, only in training mode,
  deterministically under the seed, and counted;
- the bound: on models small enough to enumerate every code grid, −log p(x | k(x)) − log p(k(x)) is at least
  the exact −log Σ_k p(k) p(x | k), the gap is −log p(k(x) | x), and the exact p(x) sums to 1; an attached
  prior changes the second term only;
- shapes of codes, decode, reconstruct, samples and the prior's data; errors that name what was expected.
"""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from coursekit.data.splits import ImageSplit, Splits
from coursekit.models.pixelcnn import PixelCNN
from coursekit.models.vq_vae import VQVAE, VQVAEConfig, code_splits, nearest_code, perplexity
from coursekit.training import train


def tiny(seed: int = 0, **fields) -> VQVAE:
    """A 4×4-image, 3-level VQ-VAE with a 2×2 grid of M = 4 codes (float64)."""
    torch.manual_seed(seed)
    config = dict(shape=(1, 4, 4), levels=3, codes=4, code_dim=3, channels=8)
    config.update(fields)
    return VQVAE(**config).double()


def images(n: int = 8, shape=(1, 4, 4), levels: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, levels, (n, *shape), generator=torch.Generator().manual_seed(seed))


def tiny_prior(grid=(2, 2), codes: int = 4) -> PixelCNN:
    return PixelCNN(shape=(1, *grid), levels=codes, inputs="one_hot", channels=4, layers=1, head=4,
                    first_kernel=3).double()


def initialised(model: VQVAE, x: torch.Tensor) -> VQVAE:
    """The model after one training-mode loss (the first batch sets every code from data), back in eval mode."""
    model.train()
    model.loss((x,))
    return model.eval()


# --- straight-through gradients --------------------------------------------------------------

def gradients(model: VQVAE, term: torch.Tensor) -> dict[str, bool]:
    """Which parts of the model (encoder, codebook, decoder) get a non-zero gradient from `term`."""
    parts = {"encoder": list(model.encoder.parameters()), "codebook": [model.codebook],
             "decoder": list(model.decoder.parameters())}
    flat = [p for ps in parts.values() for p in ps]
    grads = torch.autograd.grad(term, flat, retain_graph=True, allow_unused=True)
    reached, i = {}, 0
    for name, ps in parts.items():
        reached[name] = any(g is not None and bool(g.abs().sum() > 0) for g in grads[i:i + len(ps)])
        i += len(ps)
    return reached


def test_each_term_reaches_exactly_the_parts_it_should():
    model = tiny()
    x = images()
    initialised(model, x).train()
    parts = model.loss((x,))
    assert gradients(model, parts["recon"]) == {"encoder": True, "codebook": False, "decoder": True}
    assert gradients(model, parts["codebook"]) == {"encoder": False, "codebook": True, "decoder": False}
    assert gradients(model, parts["commitment"]) == {"encoder": True, "codebook": False, "decoder": False}
    total = parts["recon"] + parts["codebook"] + model.config.beta_commit * parts["commitment"]
    assert torch.allclose(parts["loss"], total)


def test_straight_through_copies_the_decoder_gradient_to_z_e():
    """z_q^st = z_e + sg[z_q − z_e] has the value z_q, and ∂recon/∂z_e through it is ∂recon/∂z_q, unchanged."""
    model, x = initialised(tiny(), images()), images()
    F = torch.nn.functional
    z_e = model.encode(x).detach().requires_grad_(True)
    z_q = model.quantize(z_e)[0].detach().requires_grad_(True)              # a leaf of its own
    z_q_st = z_e + (z_q - z_e).detach()
    assert torch.equal(z_q_st, z_q) and not torch.equal(z_e, z_q)
    (g_e,) = torch.autograd.grad(F.cross_entropy(model.decoder_logits(z_q_st), x, reduction="sum"), z_e)
    (g_q,) = torch.autograd.grad(F.cross_entropy(model.decoder_logits(z_q), x, reduction="sum"), z_q)
    assert g_e.abs().sum() > 0 and torch.allclose(g_e, g_q)


# --- the quantiser --------------------------------------------------------------------------

def test_nearest_code_matches_a_brute_force_search():
    g = torch.Generator().manual_seed(0)
    z_e, codebook = torch.randn(200, 5, generator=g, dtype=torch.float64), torch.randn(17, 5, generator=g,
                                                                                       dtype=torch.float64)
    brute = (z_e[:, None, :] - codebook[None, :, :]).pow(2).sum(-1).argmin(1)     # (N, M, d) → (N, M) → (N,)
    assert torch.equal(nearest_code(z_e, codebook), brute)
    model = initialised(tiny(), images())
    z_e = model.encode(images(seed=1))
    z_q, k = model.quantize(z_e)
    cells = z_e.permute(0, 2, 3, 1).reshape(-1, 3)                                  # (N·h·w, d)
    assert torch.equal(k.flatten(), (cells[:, None] - model.codebook[None]).pow(2).sum(-1).argmin(1))
    assert torch.equal(z_q.permute(0, 2, 3, 1).reshape(-1, 3), model.codebook[k.flatten()])


def test_perplexity_counts_the_codes_in_use():
    assert perplexity(torch.zeros(10, dtype=torch.long), 4).item() == pytest.approx(1.0)
    assert perplexity(torch.arange(8) % 4, 4).item() == pytest.approx(4.0)
    assert 1.0 < perplexity(torch.tensor([0, 0, 0, 1]), 4).item() < 2.0
    model = initialised(tiny(), images())
    usage = model.code_usage(images(seed=1))
    assert usage.shape == (4,) and usage.sum().item() == pytest.approx(1.0)
    assert 1.0 <= model.perplexity(images(seed=1)) <= 4.0


# --- dead codes -------------------------------------------------------------------------------

def test_the_first_batch_sets_every_code_from_the_data():
    model, x = tiny(), images()
    model.train()
    model.loss((x,))
    cells = model.encode(x).permute(0, 2, 3, 1).reshape(-1, 3)                      # (N·h·w, d)
    distance = (model.codebook[:, None] - cells[None]).abs().amax(-1).amin(1)        # each code to its nearest cell
    assert torch.allclose(distance, torch.zeros(4, dtype=torch.float64), atol=1e-12)
    assert model.restarts.item() == 0                                               # initialisation is not a restart


def test_a_dead_code_is_restarted_after_dead_after_batches():
    model, x = initialised(tiny(dead_after=3), images()), images()
    model.train()
    with torch.no_grad():
        model.codebook[3] = 100.0                               # far from every z_e: never picked
        model.unused_for.zero_()
    for _ in range(3):                                          # unused for 0, 1, 2 batches when checked
        assert model.loss((x,))["restarts"].item() == 0
    assert (model.codebook[3] == 100.0).all()
    parts = model.loss((x,))                                     # the fourth check sees 3 ≥ dead_after
    assert parts["restarts"].item() == 1 and model.restarts.item() == 1
    cells = model.encode(x).permute(0, 2, 3, 1).reshape(-1, 3)
    assert (model.codebook[3] - cells).abs().amax(1).min() < 1e-12   # a z_e of this batch
    assert model.unused_for[3].item() in (0, 1)


def test_restarts_happen_in_training_mode_only_and_follow_the_seed():
    def run(seed):
        model, x = initialised(tiny(dead_after=1), images()), images()
        with torch.no_grad():
            model.codebook[1:] = 100.0                          # codes 1..3 never picked; code 0 is fine
            model.unused_for.copy_(torch.tensor([0, 1, 1, 1]))
        model.eval()
        assert model.loss((x,))["restarts"].item() == 0 and (model.codebook[1:] == 100.0).all()
        model.train()
        torch.manual_seed(seed)
        assert model.loss((x,))["restarts"].item() == 3
        return model.codebook.detach().clone()

    assert torch.equal(run(0), run(0)) and not torch.equal(run(0), run(1))


# --- the bound --------------------------------------------------------------------------------

def exact_log_px(model: VQVAE, x: torch.Tensor) -> torch.Tensor:
    """log p(x) = log Σ_k p(k) p(x | k) by enumerating every code grid k, (N,)."""
    h, w = model.grid
    grids = torch.tensor(list(itertools.product(range(model.config.codes), repeat=h * w))).view(-1, h, w)   # (G, h, w)
    log_prior = model.prior_log_prob(grids)                                                                # (G,)
    n, G = x.shape[0], grids.shape[0]
    log_px_k = model.log_px_z(x.repeat_interleave(G, 0), grids.repeat(n, 1, 1)).view(n, G)               # (N, G)
    return torch.logsumexp(log_px_k + log_prior, 1)


@pytest.mark.parametrize("with_prior", [False, True])
def test_the_bound_is_above_the_exact_nll_by_the_posterior_of_the_code(with_prior):
    """4×4 images, 3 levels; a 2×2 grid of 3 codes (81 code grids), under the uniform prior and a PixelCNN prior."""
    model = tiny(codes=3)
    x = images(20, seed=3)
    initialised(model, x)
    if with_prior:
        model.attach_prior(tiny_prior(codes=3).eval())
    with torch.no_grad():
        exact = -exact_log_px(model, x)                                           # −log p(x), (N,)
        bound = model.nll_bound(x)
        k = model.codes(x)
        log_posterior = model.log_px_z(x, k) + model.prior_log_prob(k) + exact   # log p(k(x) | x)
    assert (bound >= exact - 1e-9).all() and (bound > exact + 1e-6).any()
    assert torch.allclose(bound - exact, -log_posterior, atol=1e-9)


def test_the_exact_likelihood_of_a_tiny_model_sums_to_one():
    """2×2 images, 3 levels (81 images), a 1×1 grid of 3 codes: Σ_x p(x) = 1, and the bound holds for every image."""
    torch.manual_seed(0)
    model = VQVAE(shape=(1, 2, 2), levels=3, codes=3, code_dim=2, channels=4).double()
    every = torch.tensor(list(itertools.product(range(3), repeat=4))).view(81, 1, 2, 2)
    initialised(model, every)
    with torch.no_grad():
        log_px = exact_log_px(model, every)
        assert log_px.exp().sum().item() == pytest.approx(1.0, abs=1e-9)
        assert (model.nll_bound(every) >= -log_px - 1e-9).all()


def test_a_prior_changes_the_second_term_only():
    model, x = initialised(tiny(), images()), images()
    with torch.no_grad():
        recon_uniform, prior_uniform = model.nll_bound_parts(x)
        assert torch.allclose(prior_uniform, torch.full((8,), 4 * math.log(4), dtype=torch.float64))
        assert "uniform" in model.bound
        model.attach_prior(tiny_prior().eval())
        recon, prior = model.nll_bound_parts(x)
    assert torch.equal(recon, recon_uniform) and not torch.allclose(prior, prior_uniform)
    assert torch.allclose(prior, -model.prior.log_prob(model.codes(x).unsqueeze(1)))
    assert "PixelCNN" in model.bound and (model.nll_bound(x) >= 0).all()


# --- shapes, sampling, the prior's data ------------------------------------------------------

def test_codes_decode_reconstruct_and_sample_shapes():
    model = initialised(tiny(), images())
    x = images(5)
    k = model.codes(x)
    assert k.shape == (5, 2, 2) and k.dtype == torch.long and 0 <= k.min() and k.max() < 4
    mean = model.decode(k)
    assert mean.shape == (5, 1, 4, 4) and mean.is_floating_point() and 0 <= mean.min() and mean.max() <= 2
    assert torch.equal(model.reconstruct(x), mean)
    for prior in (None, tiny_prior().eval()):
        if prior is not None:
            model.attach_prior(prior)
        for pixels in ("sample", "argmax"):
            s = model.sample(6, pixels=pixels, generator=torch.Generator().manual_seed(0))
            assert s.shape == (6, 1, 4, 4) and s.dtype == torch.long and 0 <= s.min() and s.max() <= 2
            assert torch.equal(s, model.sample(6, pixels=pixels, generator=torch.Generator().manual_seed(0)))


def test_argmax_pixels_are_the_decoders_mode():
    model = initialised(tiny(), images())
    g = torch.Generator().manual_seed(0)
    s = model.sample(4, pixels="argmax", generator=g)
    g = torch.Generator().manual_seed(0)
    u = torch.rand(4, 2, 2, generator=g, dtype=torch.float64)                  # the uniform prior's draw
    k = (u * 4).long()
    assert torch.equal(s, model.decoder_logits(model.lookup(k)).argmax(1))


def test_code_splits_hold_the_codes_of_every_split():
    model = initialised(tiny(), images())
    parts = [ImageSplit(images(n, seed=n), torch.zeros(n, dtype=torch.long), 3, name) for n, name in
             ((7, "train"), (3, "val"), (2, "test"))]
    codes = code_splits(model.train(), Splits(*parts))
    assert model.training                                         # the mode is given back
    for part, code in zip(parts, codes):
        assert code.x.shape == (len(part), 1, 2, 2) and code.levels == 4
        assert torch.equal(code.x.squeeze(1), model.codes(part.x))


def test_one_epoch_of_training_runs_and_changes_every_part():
    model, x = tiny(), images(16)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    history = train(model, [(x,)], epochs=1, lr=1e-2, device="cpu", progress=False)
    assert "train/perplexity" in history and "train/restarts" in history
    assert all(not torch.equal(before[name], p) for name, p in model.named_parameters())


# --- errors -----------------------------------------------------------------------------------

def test_bad_inputs_are_refused_with_messages_that_say_what_was_expected():
    model = tiny()
    with pytest.raises(ValueError, match=r"shape \(N, 1, 4, 4\), got \(2, 16\).*reshape"):
        model.codes(torch.zeros(2, 16, dtype=torch.long))
    with pytest.raises(ValueError, match=r"levels 0\.\.2, got values in 5\.\.5"):
        model.nll_bound(torch.full((2, 1, 4, 4), 5))
    with pytest.raises(ValueError, match=r"codes must have shape \(N, 2, 2\).*got \(3, 4\)"):
        model.decode(torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"codes must hold integer levels 0\.\.3, got values in 4\.\.4"):
        model.decode(torch.full((1, 2, 2), 4))
    with pytest.raises(TypeError, match="codes must be integer indices"):
        model.decode(torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match=r"shape \(1, h, w\) = \(1, 2, 2\) with levels M = 4; got shape "
                                         r"\(1, 3, 3\) with levels 4"):
        model.attach_prior(tiny_prior(grid=(3, 3)))
    with pytest.raises(TypeError, match="autoregressive model"):
        model.attach_prior(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="multiples of 4"):
        VQVAEConfig(shape=(1, 6, 6), downsample=2)
    with pytest.raises(ValueError, match="pixels must be 'sample'"):
        model.sample(2, pixels="mean")
    with pytest.raises(ValueError, match="temperature"):
        model.sample(2, temperature=-1.0)
    with pytest.raises(TypeError, match="VQVAEConfig or keyword fields"):
        VQVAE(VQVAEConfig(), codes=3)
