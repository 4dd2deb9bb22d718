"""CycleGAN on the toy domain pair (coursekit/models/cyclegan.py): the cycle loss against its closed form, the
gradients of every player, the domains, the batches, the contract's checks, and a short training run in which
the cycle term is what makes G undo F."""
import math

import pytest
import torch
from torch import nn

from coursekit.evaluation import mode_coverage
from coursekit.models.cyclegan import CycleGAN2D, CycleGAN2DConfig, domain_pair, unpaired_dataset, unpaired_loader
from coursekit.training import train
from test_contract import Tiny, gradient_problems, loss_problems, sample_problems, step_problems


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These networks are tiny: one thread is faster than two fighting over a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def rotation(degrees: float) -> torch.Tensor:
    t = math.radians(degrees)
    return torch.tensor([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def linear(matrix: torch.Tensor) -> nn.Linear:
    layer = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(matrix)
    return layer


def small(**fields) -> CycleGAN2D:
    torch.manual_seed(0)
    return CycleGAN2D(hidden=8, layers=1, **fields)


def points(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = unpaired_dataset(CycleGAN2DConfig(), n, seed=seed).tensors
    return x, y


# --- the cycle loss ------------------------------------------------------------------------------------

def test_cycle_loss_is_zero_for_exact_inverses_and_its_closed_form_otherwise():
    """F = R(θ), G = R(−θ) = R(θ)ᵀ: G(F(x)) = x, the loss is 0. F = G = R(θ): G(F(x)) = R(2θ)x, and the loss is
    E‖R(2θ)x − x‖₁ + E‖R(2θ)y − y‖₁."""
    model, (x, y) = small(), points()
    model.F, model.G = linear(rotation(22.5)), linear(rotation(-22.5))
    assert model.cycle_loss(x, y).item() == pytest.approx(0.0, abs=1e-5)
    model.G = linear(rotation(22.5))
    twice = rotation(45.0)
    expected = (x @ twice.T - x).abs().sum(1).mean() + (y @ twice.T - y).abs().sum(1).mean()
    assert model.cycle_loss(x, y).item() == pytest.approx(expected.item(), rel=1e-5)
    assert expected.item() > 1.0
    assert torch.allclose(model.cycle_error(x=x), (x @ twice.T - x).abs().sum(1), atol=1e-5)


def test_the_cycle_weight_scales_the_cycle_term_only():
    x, y = points()
    parts = {lam: small(cycle_weight=lam).generator_objective(x, y) for lam in (0.0, 5.0)}
    assert torch.equal(parts[0.0]["g_loss"], parts[0.0]["adversarial"])
    assert torch.allclose(parts[5.0]["g_loss"], parts[5.0]["adversarial"] + 5.0 * parts[5.0]["cycle"])
    assert torch.allclose(parts[0.0]["cycle"], parts[5.0]["cycle"]) and parts[5.0]["cycle"] > 0


# --- gradients -----------------------------------------------------------------------------------------

def test_gradients_reach_both_translators_and_both_discriminators():
    model, (x, y) = small(), points()
    assert not gradient_problems(model, model.loss((x, y))["loss"])
    d_loss = model.discriminator_objective(x, y, model.F(x).detach(), model.G(y).detach())
    assert not gradient_problems(model, d_loss, {"F.": "fakes detached", "G.": "fakes detached"})
    assert all(p.grad is None for p in (*model.F.parameters(), *model.G.parameters()))
    cycle = model.generator_objective(x, y)["cycle"]
    assert not gradient_problems(model, cycle, {"D_X.": "the cycle loss has no critic", "D_Y.": "likewise"})
    assert all(p.grad is None for p in (*model.D_X.parameters(), *model.D_Y.parameters()))


def test_one_training_step_moves_all_four_networks_and_each_optimiser_only_its_own():
    model, (x, y) = small(), points()
    assert not step_problems(model, (x, y))
    optimizers = model.configure_optimizers(1e-3)
    owned = {name: {id(p) for g in o.param_groups for p in g["params"]} for name, o in optimizers.items()}
    assert owned["discriminator"] == {id(p) for m in (model.D_X, model.D_Y) for p in m.parameters()}
    assert owned["generator"] == {id(p) for m in (model.F, model.G) for p in m.parameters()}


# --- domains, batches, samples ---------------------------------------------------------------------------

def test_the_domains_are_the_ring_and_its_rotated_copy():
    domain_x, domain_y = domain_pair(rotation=22.5, scale=1.5)
    angles_x = torch.atan2(domain_x.modes[:, 1], domain_x.modes[:, 0])
    angles_y = torch.atan2(domain_y.means[:, 1], domain_y.means[:, 0])
    assert torch.allclose(torch.remainder(angles_y - angles_x, 2 * math.pi),
                          torch.full((8,), math.radians(22.5), dtype=torch.float64))
    assert torch.allclose(domain_y.means.norm(dim=1), 1.5 * domain_x.modes.norm(dim=1))
    x, y = unpaired_dataset(CycleGAN2DConfig(rotation=22.5, scale=1.5), 800, seed=3).tensors
    assert mode_coverage(x, domain_x.modes.float(), domain_x.std)["fraction_near_a_mode"] > 0.95
    assert mode_coverage(y, domain_y.means.float(), 1.5 * domain_x.std)["fraction_near_a_mode"] > 0.95
    assert mode_coverage(y, domain_x.modes.float(), domain_x.std)["fraction_near_a_mode"] < 0.05
    again = unpaired_dataset(CycleGAN2DConfig(rotation=22.5, scale=1.5), 800, seed=3).tensors
    assert torch.equal(x, again[0]) and torch.equal(y, again[1])
    batch = next(iter(unpaired_loader(CycleGAN2DConfig(), n=100, batch_size=32)))
    assert len(batch) == 2 and batch[0].shape == batch[1].shape == (32, 2)


def test_a_batch_without_points_of_y_draws_them_and_labels_are_ignored():
    model, (x, y) = small(), points(8)
    assert torch.equal(model._batch((x, y))[1], y)
    torch.manual_seed(0)
    drawn = model._batch((x,))[1]
    torch.manual_seed(0)
    assert torch.equal(model._batch((x, torch.arange(8)))[1], drawn)
    assert drawn.shape == (8, 2) and not torch.equal(drawn, y)
    with pytest.raises(ValueError, match=r"y \(points of domain Y\) must have shape \(N, 2\), got \(8, 3\)"):
        model.loss((x, torch.zeros(8, 3)))
    with pytest.raises(ValueError, match=r"x \(points of domain X\) must have shape \(N, 2\), got \(8,\)"):
        model.loss((x[:, 0],))
    with pytest.raises(ValueError, match="exactly one of x"):
        model.cycle_error(x=x, y=y)


def test_sample_is_F_of_fresh_points_of_X():
    model = small()
    samples = model.sample(50, generator=torch.Generator().manual_seed(4))
    x = model.domain_x.sample(50, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert torch.equal(samples, model.F(x))
    run = model.translations(50, generator=torch.Generator().manual_seed(4))
    assert torch.equal(run["x"], x) and torch.equal(run["translated"], samples)
    with torch.no_grad():
        assert torch.equal(run["reconstructed"], model.G(samples))


def test_the_config_refuses_bad_values():
    with pytest.raises(ValueError, match="cycle_weight .* >= 0, got -1"):
        CycleGAN2DConfig(cycle_weight=-1)
    with pytest.raises(ValueError, match="loss must be one of"):
        CycleGAN2DConfig(loss="wasserstein")
    with pytest.raises(ValueError, match="hidden must be a positive int, got 0"):
        CycleGAN2DConfig(hidden=0)
    with pytest.raises(ValueError, match="scale must be a positive number"):
        CycleGAN2DConfig(scale=0)
    with pytest.raises(TypeError, match="not both"):
        CycleGAN2D(CycleGAN2DConfig(), hidden=8)


TINY = {"CycleGAN2D": Tiny(lambda: CycleGAN2D(hidden=8, layers=1))}
"""The entry to add to TINY in tests/test_contract.py (run here through its checks until it is)."""


def test_contract_checks():
    tiny = TINY["CycleGAN2D"]
    torch.manual_seed(0)
    model = tiny.make()
    assert not loss_problems(model, tiny)
    torch.manual_seed(0)
    assert not sample_problems(model.eval())
    assert not sample_problems(model.double(), n=3)
    with torch.device("meta"):
        on_meta = tiny.make()
    assert not sample_problems(on_meta.double())


# --- what the cycle term buys ------------------------------------------------------------------------------

def test_the_cycle_term_makes_G_undo_F():
    """A short run (150 steps) with λ = 5 and with λ = 0: the round trip G(F(x)) comes back to x only with it."""
    errors = {}
    for lam in (5.0, 0.0):
        torch.manual_seed(0)
        model = CycleGAN2D(cycle_weight=lam, hidden=32)
        train(model, unpaired_loader(model.config, n=1024, batch_size=128), steps=150, lr=3e-3, seed=0,
              progress=False, device="cpu")
        run = model.translations(500, generator=torch.Generator().manual_seed(1))
        errors[lam] = model.cycle_error(x=run["x"]).mean().item()
    assert errors[5.0] < 0.3 < 1.0 < errors[0.0]
