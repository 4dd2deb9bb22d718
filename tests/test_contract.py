"""Every model of `coursekit.models` through the contract of `coursekit/models/base.py`, in a tiny configuration.

A new family joins by adding one entry to `TINY` (how to build it small, and labels if it is
conditional); `test_every_model_is_registered` fails until it does. The batch each check uses
is made from the model's own `data_shape` and `data_levels`: integer levels 0..K−1 (int64),
0./1. floats for K = 2 (what `data.binarize` gives), floats in [0, 1) for real-valued data.

Checks per configuration: `loss(batch)` is a dict with a finite scalar "loss" and one backward
pass (or, for a model with its own `training_step`, one step of `coursekit.training`) reaches
every parameter; `sample(n)` has the data's shape, dtype convention and range (or raises a
NotImplementedError that explains, for `can_sample = False`); the declared likelihood method
returns (N,) finite nats, and log P ≤ 0 for discrete data; everything runs in float64; the
model builds on the `meta` device (no hard-coded device) and runs `loss` there; a checkpoint
round trip into a fresh instance gives identical outputs.
"""
from __future__ import annotations

import importlib
import math
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch
from torch import nn

import coursekit.models as models
from coursekit.checkpoint import load_checkpoint, save_checkpoint
from coursekit.models import (
    PCA, VAE, ConvAutoencoder, GenerativeModel, LinearAutoencoder, MLPAutoencoder, PixelCategorical,
)
from coursekit.models.base import batch_images
from coursekit.training import train


@dataclass(frozen=True)
class Tiny:
    """A tiny configuration: `make()` builds the model (from torch's global stream, which the tests seed)."""

    make: Callable[[], GenerativeModel]
    fit: Callable[[GenerativeModel], GenerativeModel] | None = None
    """For a model fitted in closed form: fit it on random data (a data-dependent step, skipped on meta)."""
    labels: int = 0
    """K > 0 for a model conditioned on labels 0..K−1 (batches are (x, y) either way)."""
    zero_grad_ok: dict[str, str] = field(default_factory=dict)
    """Parameter name → why it may legitimately get an exactly zero gradient on a tiny batch."""


_VAE = dict(latent_dim=2, hidden=8, depth=1, iwae_k=3)

TINY: dict[str, Tiny] = {
    "PixelCategorical": Tiny(lambda: PixelCategorical(shape=(1, 4, 4), levels=5),
                             fit=lambda m: m.fit(torch.randint(0, 5, (30, 1, 4, 4)))),
    "VAE-categorical-mlp": Tiny(lambda: VAE(shape=(1, 4, 4), levels=5, **_VAE)),
    "VAE-bernoulli-conv": Tiny(lambda: VAE(architecture="conv", decoder="bernoulli", shape=(1, 8, 8),
                                           conv_channels=(4, 4), **_VAE)),
    "VAE-gaussian-linear-learned-std": Tiny(lambda: VAE(architecture="linear", decoder="gaussian", shape=(1, 4, 4),
                                                        learn_x_std=True, **_VAE)),
    "VAE-gaussian-mlp-fixed-std": Tiny(lambda: VAE(decoder="gaussian", shape=(1, 4, 4), dropout=0.0, **_VAE)),
    "VAE-conditional": Tiny(lambda: VAE(shape=(1, 4, 4), levels=5, num_classes=3, **_VAE), labels=3),
    "LinearAutoencoder": Tiny(lambda: LinearAutoencoder(shape=(1, 4, 4), latent_dim=2)),
    "MLPAutoencoder-denoising": Tiny(lambda: MLPAutoencoder(shape=(1, 4, 4), latent_dim=2, hidden=(8,),
                                                            noise_std=0.1, mask_prob=0.2)),
    "ConvAutoencoder": Tiny(lambda: ConvAutoencoder(shape=(1, 8, 8), latent_dim=2, channels=(4, 4))),
    "PCA": Tiny(lambda: PCA(shape=(1, 4, 4), latent_dim=2), fit=lambda m: m.fit(torch.rand(30, 1, 4, 4))),
}

def build(name: str, seed: int = 0) -> GenerativeModel:
    torch.manual_seed(seed)
    tiny = TINY[name]
    model = tiny.make()
    return tiny.fit(model) if tiny.fit is not None else model


def build_on_meta(name: str) -> GenerativeModel:
    """The model built under `with torch.device("meta")` (not fitted: that needs data)."""
    with torch.device("meta"):
        return TINY[name].make()


def make_batch(model: GenerativeModel, tiny: Tiny, n: int = 6, dtype: torch.dtype = torch.float32,
               device: torch.device | str = "cpu", seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) in the model's data convention, drawn from a seeded CPU generator, then moved to `device`."""
    g = torch.Generator().manual_seed(seed)
    shape, levels = (n, *model.data_shape), model.data_levels
    if levels is None:
        x = torch.rand(shape, generator=g, dtype=dtype)                 # real-valued, in [0, 1)
    elif levels == 2:
        x = torch.randint(0, 2, shape, generator=g).to(dtype)          # binary, as data.binarize gives
    else:
        x = torch.randint(0, levels, shape, generator=g)                # integer levels 0..K−1
    y = torch.randint(0, tiny.labels or 10, (n,), generator=g)
    return x.to(device), y.to(device)


def likelihood_values(model: GenerativeModel, x: torch.Tensor) -> torch.Tensor:
    """−log p(x) or the bound, (N,) nats, by the declared method (the models' contract)."""
    if model.likelihood == "exact":
        return -model.log_prob(x)
    return model.nll_bound(x)


def graph_leaves(loss: torch.Tensor) -> list[torch.Tensor]:
    """The leaf tensors requiring grad that `loss` depends on (the AccumulateGrad nodes of its graph)."""
    leaves, seen, stack = [], set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):
            leaves.append(node.variable)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return leaves


def gradient_problems(model: nn.Module, loss: torch.Tensor, zero_ok: dict[str, str] = {}) -> list[str]:
    """Backpropagate `loss` once; name every parameter the gradient does not reach (None, non-finite or all
    zero), and every trainable tensor the loss depends on that the model does not register (an optimiser
    built from model.parameters() would never update it: a sub-network kept in a plain list or dict)."""
    owned = {id(p) for p in model.parameters()}
    foreign = [tuple(t.shape) for t in graph_leaves(loss) if id(t) not in owned]
    problems = [f"the loss depends on a trainable tensor of shape {shape} that the model does not register"
                for shape in foreign]
    model.zero_grad(set_to_none=True)
    loss.backward()
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.grad is None:
            problems.append(f"{name}: no gradient (not used by the loss: an unregistered or detached sub-network?)")
        elif not torch.isfinite(p.grad).all():
            problems.append(f"{name}: non-finite gradient")
        elif not p.grad.any() and name not in zero_ok:
            problems.append(f"{name}: gradient exactly zero")
    return problems


def step_problems(model: nn.Module, batch) -> list[str]:
    """One step of `coursekit.training` (the model's own training_step); name every parameter it leaves untouched."""
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    train(model, [batch], steps=1, device="cpu", progress=False)
    return [f"{name}: unchanged by one training step and no gradient" for name, p in model.named_parameters()
            if p.requires_grad and torch.equal(before[name], p.detach()) and (p.grad is None or not p.grad.any())]


# --- every model is registered --------------------------------------------------------------

def concrete_models() -> set[type]:
    """Every non-abstract GenerativeModel defined in coursekit: exported or not, in every module of coursekit.models."""
    for info in pkgutil.iter_modules(models.__path__):
        importlib.import_module(f"{models.__name__}.{info.name}")
    found, stack = set(), [GenerativeModel]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    return {c for c in found if c.__module__.startswith("coursekit.") and not c.abstract}


def unregistered(classes: set[type]) -> list[str]:
    registered = {type(build(name)) for name in TINY}
    return sorted(c.__qualname__ for c in classes - registered)


def test_every_model_is_registered():
    exported = {obj for obj in (getattr(models, n) for n in models.__all__)
                if isinstance(obj, type) and issubclass(obj, GenerativeModel) and not obj.abstract}
    everything = concrete_models()
    assert exported <= everything
    assert {PixelCategorical, VAE, LinearAutoencoder, MLPAutoencoder, ConvAutoencoder, PCA} <= everything
    missing = unregistered(everything)
    assert not missing, f"models without a tiny configuration in tests/test_contract.py TINY: {missing}"


def test_the_registry_check_can_fail():
    class Unregistered(GenerativeModel):
        likelihood = "none"

    assert unregistered(concrete_models() | {Unregistered}) == ["test_the_registry_check_can_fail.<locals>.Unregistered"]


# --- the checks, per configuration ----------------------------------------------------------

@pytest.mark.parametrize("name", TINY)
def test_loss_is_finite_and_reaches_every_parameter(name):
    model, tiny = build(name), TINY[name]
    batch = make_batch(model, tiny)
    model.train()
    torch.manual_seed(0)
    parts = model.loss(batch)
    assert isinstance(parts, dict) and "loss" in parts, f"loss(batch) must return a dict with 'loss', got {parts!r}"
    for key, value in parts.items():
        value = torch.as_tensor(value)
        assert value.dim() == 0 and torch.isfinite(value), f"{key} = {value} is not a finite scalar"
    if hasattr(model, "training_step"):
        assert not step_problems(model, batch)
    elif any(p.requires_grad for p in model.parameters()):
        assert parts["loss"].requires_grad
        assert not gradient_problems(model, parts["loss"], tiny.zero_grad_ok)


def test_the_gradient_check_can_fail():
    """A registered sub-network the loss never uses, and one the loss uses but the model does not register
    (either way the optimiser never trains it: the diffusion bug of the issue), are named."""

    class Forgetful(GenerativeModel):
        def __init__(self):
            super().__init__()
            self.used, self.reverse_nets = nn.Linear(2, 1), nn.ModuleList([nn.Linear(2, 1)])

        def loss(self, batch):
            return {"loss": self.used(batch_images(batch)).pow(2).mean()}

    model = Forgetful()
    problems = gradient_problems(model, model.loss(torch.ones(3, 2))["loss"])
    assert problems and all(p.startswith("reverse_nets.0.") for p in problems)

    class Unregistered(Forgetful):
        def __init__(self):
            super().__init__()
            self.hidden_nets = [nn.Linear(2, 2)]      # a plain list: not a submodule, not in parameters()

        def loss(self, batch):
            return {"loss": self.used(self.hidden_nets[0](batch_images(batch))).pow(2).mean()}

    model = Unregistered()
    problems = gradient_problems(model, model.loss(torch.ones(3, 2))["loss"])
    assert sum("does not register" in p for p in problems) == 2    # the list's weight (2, 2) and bias (2,)

    class OneSidedStep(Forgetful):
        def configure_optimizers(self, lr):
            return torch.optim.SGD(self.used.parameters(), lr=lr)

        def training_step(self, batch, optimizer, step):
            optimizer.zero_grad()
            parts = self.loss(batch)
            parts["loss"].backward()
            optimizer.step()
            return parts

    assert len(step_problems(OneSidedStep(), (torch.ones(3, 2),))) == 2   # reverse_nets.0.weight and .bias


@pytest.mark.parametrize("name", TINY)
def test_sample_has_the_data_shape_and_range(name):
    model = build(name).eval()
    torch.manual_seed(0)
    if not model.can_sample:
        with pytest.raises(NotImplementedError) as err:
            model.sample(5)
        assert len(str(err.value)) > 40, f"say why {type(model).__name__} cannot sample, got {str(err.value)!r}"
        return
    s = model.sample(5)
    assert tuple(s.shape) == (5, *model.data_shape)
    assert s.device == model.device
    levels = model.data_levels
    if levels is None:
        assert s.is_floating_point() and torch.isfinite(s).all()
    else:
        assert torch.equal(s, s.round()), "samples of integer levels must be integer-valued"
        assert 0 <= s.min() and s.max() <= levels - 1, f"samples in {s.min()}..{s.max()}, levels 0..{levels - 1}"
        if levels > 2:
            assert s.dtype == torch.int64, f"categorical samples are int64 levels, got {s.dtype}"


@pytest.mark.parametrize("name", TINY)
def test_declared_likelihood(name):
    model, tiny = build(name), TINY[name]
    x, _ = make_batch(model, tiny)
    assert model.likelihood in ("exact", "bound", "none")
    if model.likelihood == "none":
        return
    if model.likelihood == "bound":
        assert isinstance(model.bound, str) and model.bound, "a bound must say which bound it is"
    model.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        nll = likelihood_values(model, x) if not tiny.labels else model.nll_bound(x, torch.zeros(6, dtype=torch.long))
    assert tuple(nll.shape) == (6,) and nll.is_floating_point() and torch.isfinite(nll).all()
    if model.data_levels is not None:   # a probability of a discrete image is at most 1: −log P ≥ 0
        assert (nll >= 0).all()


@pytest.mark.parametrize("name", TINY)
def test_runs_in_float64(name):
    model, tiny = build(name).double(), TINY[name]
    batch = make_batch(model, tiny, dtype=torch.float64)
    model.train()
    torch.manual_seed(0)
    loss = model.loss(batch)["loss"]
    assert loss.dtype == torch.float64
    if loss.requires_grad:
        loss.backward()
        assert all(p.grad is None or p.grad.dtype == torch.float64 for p in model.parameters())
    model.eval()
    if model.likelihood != "none" and not tiny.labels:
        with torch.no_grad():
            assert likelihood_values(model, batch[0]).dtype == torch.float64
    if model.can_sample:
        s = model.sample(3)
        assert s.dtype == (torch.float64 if model.data_levels in (None, 2) else torch.int64)


@pytest.mark.parametrize("name", TINY)
def test_builds_on_the_meta_device(name):
    """Built under `with torch.device("meta")`, every tensor is on meta: nothing in __init__ names a device."""
    model = build_on_meta(name)
    tensors = dict(model.named_parameters()) | dict(model.named_buffers())
    off = [n for n, t in tensors.items() if t.device.type != "meta"]
    assert not off, f"built off the meta device (a hard-coded device?): {off}"
    if tensors:
        assert model.device.type == "meta"


@pytest.mark.parametrize("name", TINY)
def test_loss_runs_on_the_meta_device(name):
    model = build_on_meta(name)
    batch = make_batch(model, TINY[name], device="meta")
    loss = model.loss(batch)["loss"]
    assert loss.device.type == "meta" and loss.dim() == 0


@pytest.mark.parametrize("name", TINY)
def test_checkpoint_round_trip(name, tmp_path):
    model, tiny = build(name, seed=0), TINY[name]
    fresh = build(name, seed=1)
    state, other = model.state_dict(), fresh.state_dict()
    assert any(not torch.equal(state[k], other[k]) for k in state), "seed 1 must give another model (test is vacuous)"
    save_checkpoint(tmp_path / "model.pt", model)
    load_checkpoint(tmp_path / "model.pt", fresh)
    model.eval(), fresh.eval()
    batch = make_batch(model, tiny)

    def outputs(m: GenerativeModel) -> list[torch.Tensor]:
        torch.manual_seed(0)
        with torch.no_grad():
            out = [torch.as_tensor(v) for v in m.loss(batch).values()]
            if m.likelihood != "none":
                out.append(likelihood_values(m, batch[0]) if not tiny.labels else m.nll_bound(*batch))
            if m.can_sample:
                out.append(m.sample(4))
        return out

    for a, b in zip(outputs(model), outputs(fresh), strict=True):
        assert torch.equal(a, b)


# --- properties the lectures claim ------------------------------------------------------------

def test_pixel_categorical_sums_to_one():
    """2 pixels × 3 levels: the probabilities of all 9 images sum to 1 (exhaustive enumeration)."""
    model = PixelCategorical(shape=(1, 1, 2), levels=3).fit(torch.randint(0, 3, (7, 1, 1, 2)))
    images = torch.cartesian_prod(torch.arange(3), torch.arange(3)).view(9, 1, 1, 2)   # (9, C, H, W)
    assert model.log_prob(images).exp().sum().item() == pytest.approx(1.0, abs=1e-6)


def test_vae_bound_is_above_the_exact_nll():
    """A categorical VAE with a 1-d latent on 2 pixels × 3 levels: p(x) = ∫ p(x|z) N(z; 0, 1) dz by quadrature.

    The 9 probabilities sum to 1; the bound, averaged over repeated draws, is ≥ −log p(x) for every
    image, and with many importance samples it closes in on it."""
    torch.manual_seed(0)
    model = VAE(shape=(1, 1, 2), levels=3, latent_dim=1, hidden=8, depth=1, dropout=0.0, iwae_k=2).double().eval()
    images = torch.cartesian_prod(torch.arange(3), torch.arange(3)).view(9, 1, 1, 2)
    z = torch.linspace(-9, 9, 3601, dtype=torch.float64).view(-1, 1)                     # (G, 1)
    log_prior = -0.5 * (math.log(2 * math.pi) + z.squeeze(1) ** 2)                         # (G,)
    with torch.no_grad():
        params = model.decoder_output(z)                                                # (G, K, 1, 1, 2)
        log_px_z = torch.stack([model._log_px_z(x.expand(len(z), -1, -1, -1), params) for x in images])  # (9, G)
        log_px = torch.logsumexp(log_px_z + log_prior, 1) + math.log(z[1, 0] - z[0, 0])   # Riemann sum of the integral
        assert log_px.exp().sum().item() == pytest.approx(1.0, abs=1e-6)
        bound = model.nll_bound(images.repeat(400, 1, 1, 1)).view(400, 9).mean(0)       # E[−L_2] over 400 draws, (9,)
        assert (bound >= -log_px - 0.01).all() and (bound - (-log_px)).mean() > 0
        model.config.iwae_k = 4000
        tight = model.nll_bound(images)
        assert (tight - (-log_px)).abs().max() < 0.05 < (bound - (-log_px)).max()


# --- the contract is enforced when a class is created ---------------------------------------------

def test_exact_without_log_prob_fails_at_class_creation():
    with pytest.raises(TypeError, match=r"NoLogProb declares likelihood = 'exact' but defines no log_prob"):
        class NoLogProb(GenerativeModel):
            likelihood = "exact"


def test_bound_needs_nll_bound_and_its_name():
    with pytest.raises(TypeError, match=r"NoMethod declares likelihood = 'bound' but lacks nll_bound"):
        class NoMethod(GenerativeModel):
            likelihood, bound = "bound", "elbo"
    with pytest.raises(TypeError, match=r"Nameless declares likelihood = 'bound' but lacks a non-empty bound"):
        class Nameless(GenerativeModel):
            likelihood = "bound"

            def nll_bound(self, x):
                return x.sum(1)

    class Named(GenerativeModel):      # a property names it too
        likelihood = "bound"

        @property
        def bound(self):
            return "elbo"

        def nll_bound(self, x):
            return x.sum(1)

    assert Named().bound == "elbo"


def test_unknown_likelihood_and_bad_can_sample_fail():
    with pytest.raises(TypeError, match=r"Vague declares likelihood = 'approximate'; it must be 'exact'"):
        class Vague(GenerativeModel):
            likelihood = "approximate"
    with pytest.raises(TypeError, match="can_sample"):
        class Maybe(GenerativeModel):
            can_sample = "no"


def test_abstract_bases_opt_out_and_their_subclasses_do_not():
    class Base(GenerativeModel, abstract=True):
        likelihood = "exact"

    assert Base.abstract
    with pytest.raises(TypeError, match="Leaf declares likelihood = 'exact'"):
        class Leaf(Base):
            pass

    class Good(Base):
        def log_prob(self, x):
            return x.sum(1)

    assert not Good.abstract
    with pytest.raises(TypeError, match="likelihood"):
        class BadAbstract(GenerativeModel, abstract=True):
            likelihood = "maybe"


def test_the_course_models_declare_what_they_provide():
    assert (PixelCategorical.likelihood, VAE.likelihood) == ("exact", "bound")
    assert all(c.likelihood == "none" and not c.can_sample for c in (LinearAutoencoder, MLPAutoencoder,
                                                                     ConvAutoencoder, PCA))
    assert models.Autoencoder.abstract and not MLPAutoencoder.abstract
