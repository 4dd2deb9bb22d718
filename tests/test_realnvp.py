"""RealNVP on integer levels and the 2-D flow: dequantisation over exactly one level, the bits/dim bookkeeping
against cases computed by hand, the bound above the exact discrete −log P(x) (by numerical integration),
the whole model's inverse and log-det, samples in the data's convention, and the 2-D density's total mass."""
from __future__ import annotations

import math

import pytest
import torch
from torch.autograd.functional import jacobian

from coursekit import data
from coursekit.models.flows import Base, Flow, FlowSequence
from coursekit.models.realnvp import Flow2D, RealNVP, dequantize, dequantized_bound
from coursekit.training import train


def jitter(module: torch.nn.Module, std: float, seed: int = 0) -> torch.nn.Module:
    """Every parameter moved by N(0, std²) noise (away from the identity start), in place."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(std * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


class UniformBase(Base):
    """U[0, width)^D: log p = −D log width inside, −∞ outside (for the hand-computed cases)."""

    def __init__(self, shape, width: float = 1.0):
        super().__init__(shape)
        self.width = width

    def log_prob(self, z):
        inside = ((z >= 0) & (z < self.width)).flatten(1).all(1)
        value = torch.full((z.shape[0],), -z[0].numel() * math.log(self.width), dtype=z.dtype)
        return torch.where(inside, value, torch.full_like(value, -math.inf))


class Recorder(Flow):
    """The identity, remembering what it was given."""

    def forward(self, x, context=None):
        self.seen = x.detach().clone()
        return x, x.new_zeros(x.shape[0])

    def inverse(self, z, context=None):
        return z, z.new_zeros(z.shape[0])


def all_levels(K: int = 17, repeats: int = 200) -> torch.Tensor:
    """(repeats·K, 1, 1, 1) int64: every level 0..K−1, many times."""
    return torch.arange(K).repeat(repeats).view(-1, 1, 1, 1)


# --- dequantisation and the bookkeeping -----------------------------------------------------------

def test_dequantisation_noise_spans_exactly_one_level():
    K, x = 17, all_levels()
    torch.manual_seed(0)
    v = dequantize(x, K, torch.rand(x.shape, dtype=torch.float64))
    assert ((v >= x / K) & (v < (x + 1) / K)).all()                      # inside the level's cell, never the next
    within = (v * K - x).flatten()                                        # where in the cell, in [0, 1)
    assert within.min() < 0.01 and within.max() > 0.99                   # the whole level, not half of it
    assert torch.equal(dequantize(x, K, torch.zeros(x.shape)), x.float() / K)


def test_dequantisation_never_rounds_up_into_the_next_level_in_float32():
    """u = the largest float32 below 1 at the top level: 16 + u rounds to 17 in float32, so (x + u)/K
    would reach 1; dequantize keeps v below (x + 1)/K."""
    K, x = 17, torch.full((1, 1, 1, 1), 16)
    u = torch.full((1, 1, 1, 1), 1 - 2.0 ** -24)
    assert ((x + u) / K).item() == 1.0                                    # the trap is real
    v = dequantize(x, K, u)
    assert v.item() < 1.0 and v.item() >= 16 / 17


def test_the_model_adds_its_noise_over_whole_levels():
    """What the flow is given: (x + u)/K inside each level's cell and across all of it (a half-level
    dequantisation, Tomczak's, would stop at (x + ½)/K)."""
    K = 17
    model = RealNVP(shape=(1, 1, 1), levels=K, hidden=4, steps=1)
    model.flow, model.base = Recorder(), UniformBase((1, 1, 1))
    x = all_levels(K)
    torch.manual_seed(0)
    model.nll_bound(x)
    v = model.flow.seen
    assert ((v >= x / K) & (v < (x + 1) / K)).all()
    within = v * K - x
    assert within.min() < 0.02 and within.max() > 0.98


def test_identity_flow_with_a_uniform_base_costs_exactly_log2_K_bits_per_dim():
    """p_V = 1 on [0, 1)^D: the bound is 0 + D log K nats, log2 17 = 4.087 bits per dimension."""
    K = 17
    model = RealNVP(shape=(1, 2, 2), levels=K, hidden=4, steps=1)
    model.flow, model.base = FlowSequence([]), UniformBase((1, 2, 2))
    x = torch.randint(0, K, (5, 1, 2, 2))
    assert torch.allclose(model.nll_bound(x), torch.full((5,), 4 * math.log(K)))
    assert model.loss((x,))["bits_per_dim"].item() == pytest.approx(math.log2(K))


def test_a_perfect_model_of_blank_binary_images_costs_nothing():
    """K = 2 and p_V = 2^D on [0, ½)^D (all mass on the cells of x = 0): P(0) = 1, so the bound on
    −log P(0) is exactly 0; any other image is impossible. Fails if the levels are not scaled by 1/K."""
    model = RealNVP(shape=(1, 2, 2), levels=2, hidden=4, steps=1)
    model.flow, model.base = FlowSequence([]), UniformBase((1, 2, 2), width=0.5)
    blank, one_on = torch.zeros(3, 1, 2, 2, dtype=torch.long), torch.zeros(1, 1, 2, 2, dtype=torch.long)
    one_on[0, 0, 1, 1] = 1
    assert torch.allclose(model.nll_bound(blank), torch.zeros(3), atol=1e-6)
    assert model.nll_bound(one_on).item() == math.inf
    assert dequantized_bound(torch.tensor([4 * math.log(2)]), 0.0, 2, 4).item() == pytest.approx(0.0, abs=1e-6)


def _tiny(dequantization: str, seed: int = 0) -> RealNVP:
    """A jittered RealNVP on 1 × 1 × 2 images of 3 levels, in float64, its ActNorms initialised."""
    torch.manual_seed(seed)
    model = RealNVP(shape=(1, 1, 2), levels=3, hidden=8, steps=2, dequantization=dequantization, deq_hidden=8,
                    alpha=0.05).double()                         # RealNVP's margin: mass falls outside [0, 1)²
    jitter(model, 0.3, seed)
    with torch.no_grad():
        model.log_prob_continuous(torch.rand(64, 1, 1, 2, dtype=torch.float64))   # ActNorm's first batch
    return model.eval()


@pytest.mark.parametrize("dequantization", ["uniform", "variational"])
def test_the_bound_is_above_the_exact_discrete_nll(dequantization):
    """P(x) = ∫ over x's cell of p_V (midpoint rule, 80² points per cell). p_V integrates to 1 over the
    logit's whole domain, (−α/(1−2α), (1−α)/(1−2α))², slightly wider than [0, 1)², so the 9 images' P sum
    to at most 1 (a code that wastes the margin's mass is still a valid code); the bound, averaged over
    many noise draws, is at or above −log P(x) for every image (Jensen), and not far above it."""
    model, K, n = _tiny(dequantization), 3, 80
    alpha = model.config.alpha
    lo, hi = -alpha / (1 - 2 * alpha), (1 - alpha) / (1 - 2 * alpha)
    s = lo + (hi - lo) * (torch.arange(400, dtype=torch.float64) + 0.5) / 400
    with torch.no_grad():
        total = model.log_prob_continuous(torch.cartesian_prod(s, s).view(-1, 1, 1, 2)).exp().mean().item()
    assert total * (hi - lo) ** 2 == pytest.approx(1.0, abs=0.01)
    t = (torch.arange(K * n, dtype=torch.float64) + 0.5) / (K * n)                   # midpoints of [0, 1)
    grid = torch.cartesian_prod(t, t)                                                # (K²n², 2)
    with torch.no_grad():
        density = model.log_prob_continuous(grid.view(-1, 1, 1, 2)).exp()           # p_V on the grid
    cell = (grid * K).floor().long()                                                 # the level pair of each point
    index = cell[:, 0] * K + cell[:, 1]
    P = torch.zeros(K * K, dtype=torch.float64).index_add_(0, index, density) / (K * n) ** 2   # (9,)
    assert 0.5 < P.sum().item() <= 1.0 + 1e-6
    images = torch.cartesian_prod(torch.arange(K), torch.arange(K)).view(K * K, 1, 1, 2)
    torch.manual_seed(0)
    with torch.no_grad():
        bound = model.nll_bound(images.repeat(2000, 1, 1, 1)).view(2000, K * K).mean(0)   # E over the noise
    exact = -P.log()
    assert (bound >= exact - 0.02).all(), (bound, exact)
    assert (bound - exact).max() < 2.0


def test_variational_log_q_is_the_change_of_variables_of_its_noise():
    torch.manual_seed(0)
    model = RealNVP(shape=(1, 2, 2), levels=5, hidden=4, steps=1, dequantization="variational", deq_hidden=8).double()
    q = jitter(model.dequantizer, 0.3)
    x = torch.randint(0, 5, (1, 1, 2, 2))
    eps = torch.randn(1, 1, 2, 2, dtype=torch.float64)
    u, log_q = q.transform(eps, x)
    J = jacobian(lambda e: q.transform(e.view(1, 1, 2, 2), x)[0].flatten(), eps.flatten())
    expected = q.noise.log_prob(eps) - torch.linalg.slogdet(J)[1]
    assert ((u > 0) & (u < 1)).all() and log_q.item() == pytest.approx(expected.item(), abs=1e-9)


# --- the whole model ------------------------------------------------------------------------------

@pytest.mark.parametrize("options", [dict(), dict(multiscale=True, base="logistic"), dict(classes=3),
                                     dict(coupling="additive")])
def test_the_whole_flow_inverts_and_its_log_det_matches_autograd(options):
    torch.manual_seed(0)
    model = RealNVP(shape=(1, 4, 4), levels=5, hidden=4, steps=2, **options).double()
    jitter(model, 0.2)
    label = None if not options.get("classes") else model._label(torch.tensor([2, 0]), 2, "cpu")
    v = torch.rand(2, 1, 4, 4, dtype=torch.float64) * 0.9 + 0.05
    model.flow(v, label)                                            # ActNorm's first batch
    z, log_det = model.flow(v, label)
    back, inv = model.flow.inverse(z, label)
    assert torch.allclose(back, v, atol=1e-9) and torch.allclose(inv, -log_det, atol=1e-8)
    for i in range(2):
        c = None if label is None else label[i:i + 1]
        J = jacobian(lambda f: model.flow(f.view(1, 1, 4, 4), c)[0].flatten(), v[i].flatten())
        assert log_det[i].item() == pytest.approx(torch.linalg.slogdet(J)[1].item(), abs=1e-7)


def test_multiscale_factors_out_half_the_channels_after_the_squeeze():
    model = RealNVP(shape=(1, 8, 8), hidden=4, steps=2, multiscale=True)
    assert model.base.shape == (4, 4, 4)
    assert model.flow.flows[-1].keep == 2 and model.flow.flows[-1].inner.flows[0].channels == 2
    with pytest.raises(ValueError, match=r"multiscale needs a squeeze, so even H and W, got shape \(1, 3, 3\)"):
        RealNVP(shape=(1, 3, 3), multiscale=True)


def test_samples_are_levels_in_the_data_convention():
    torch.manual_seed(0)
    model = jitter(RealNVP(shape=(1, 4, 4), levels=5, hidden=4, steps=2), 0.2)
    s = model.sample(7)
    assert s.shape == (7, 1, 4, 4) and s.dtype == torch.int64 and s.min() >= 0 and s.max() <= 4
    cold = model.sample(3, temperature=0.0)
    assert torch.equal(cold[0], cold[1]) and torch.equal(cold[1], cold[2])      # T = 0: the base's mode, one image
    y = model.sample(4, dequantised=True)
    assert y.is_floating_point() and y.min() >= 0 and y.max() <= 5


def test_encode_then_decode_gives_the_image_back():
    torch.manual_seed(0)
    model = jitter(RealNVP(shape=(1, 4, 4), levels=5, hidden=4, steps=2, multiscale=True), 0.2).double()
    x = torch.randint(0, 5, (6, 1, 4, 4))
    with torch.no_grad():
        assert torch.equal(model.decode(model.encode(x)), x)


def test_the_class_conditional_flow_needs_and_uses_the_labels():
    torch.manual_seed(0)
    model = jitter(RealNVP(shape=(1, 4, 4), levels=5, hidden=4, steps=2, classes=3), 0.2)
    x = torch.randint(0, 5, (4, 1, 4, 4))
    torch.manual_seed(1)
    a = model.nll_bound(x, torch.tensor([0, 1, 2, 0]))
    torch.manual_seed(1)
    b = model.nll_bound(x, torch.tensor([1, 2, 0, 1]))
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match="class-conditional RealNVP .classes=3.: give the labels y"):
        model.nll_bound(x)
    with pytest.raises(ValueError, match="unconditional"):
        RealNVP(shape=(1, 4, 4), levels=5, hidden=4, steps=1).nll_bound(x, torch.zeros(4, dtype=torch.long))
    assert model.sample(5, y=2).shape == (5, 1, 4, 4)


def test_input_errors_name_what_was_expected():
    model = RealNVP(shape=(1, 4, 4), levels=5, hidden=4, steps=1)
    with pytest.raises(ValueError, match=r"\(N, 1, 4, 4\), got \(3, 16\)"):
        model.nll_bound(torch.zeros(3, 16, dtype=torch.long))
    with pytest.raises(ValueError, match="levels 0..4"):
        model.nll_bound(torch.full((2, 1, 4, 4), 5))


def test_a_few_training_steps_lower_the_bound(digits):
    torch.manual_seed(0)
    x = digits.train.x[:64]
    model = RealNVP(hidden=8, steps=1)
    torch.manual_seed(1)
    before = model.nll_bound(x).mean().item()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(10):                                               # 5 epochs of 2 batches
        optimizer.zero_grad()
        model.loss((x[32 * (step % 2):32 * (step % 2 + 1)],))["loss"].backward()
        optimizer.step()
    torch.manual_seed(1)
    after = model.nll_bound(x).mean().item()
    assert after < before - 0.1 * 64 and math.isfinite(after)


# --- the 2-D flow ----------------------------------------------------------------------------------

def test_the_2d_density_integrates_to_one_on_a_grid():
    torch.manual_seed(0)
    model = Flow2D(layers=3, hidden=16).double()
    jitter(model, 0.15)
    with torch.no_grad():
        model.log_prob(torch.randn(256, 2, dtype=torch.float64))           # ActNorm's first batch
        t = torch.linspace(-9, 9, 601, dtype=torch.float64)
        grid = torch.cartesian_prod(t, t)                                    # (601², 2)
        mass = model.log_prob(grid).exp().sum().item() * (t[1] - t[0]).item() ** 2
    assert mass == pytest.approx(1.0, abs=0.01)


def test_the_2d_flow_layer_samples_end_at_its_samples():
    torch.manual_seed(0)
    model = Flow2D(layers=2, hidden=8)
    jitter(model, 0.2)
    model.log_prob(torch.randn(64, 2))              # ActNorm initialises on its first forward batch
    stages = model.layer_samples(50, generator=torch.Generator().manual_seed(3))
    assert len(stages) == 2 * 2 + 1 and all(s.shape == (50, 2) for s in stages)
    assert torch.allclose(stages[-1], model.sample(50, generator=torch.Generator().manual_seed(3)))
    z = model.flow(stages[-1])[0]
    assert torch.allclose(z, stages[0], atol=1e-5)


def test_the_2d_flow_learns_a_toy_density():
    splits = data.load("moons", n_train=4096, n_val=128, n_test=512)
    loaders = data.loaders(splits, batch_size=128, seed=0)
    torch.manual_seed(0)
    model = Flow2D(layers=4, hidden=32)
    x = splits.test.tensors[0]                                             # (512, 2)
    before = -model.log_prob(x).mean().item()
    train(model, loaders["train"], epochs=6, lr=3e-3, device="cpu", progress=False)
    assert -model.log_prob(x).mean().item() < before - 0.5
