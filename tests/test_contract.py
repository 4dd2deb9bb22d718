"""Every model of `coursekit.models` through the contract of `coursekit/models/base.py`, in a tiny configuration.

A new family joins by adding one entry to `TINY` (how to build it small, and labels if it is
conditional: see `Tiny`); `test_every_model_is_registered` fails until it does, and says what
to write. The batches each check uses are made from the model's own `data_shape` and
`data_levels` (`make_batch`): for discrete data (`data_levels = K`) both views a model meets,
integer levels 0..K−1 as int64 (what `ImageSplit.x` holds and `evaluate_model` passes) and
the same levels as integer-valued floats (what the loaders' views give, e.g. `data.binarize`'s
0./1.); floats in [0, 1) for real-valued data.

Checks per configuration, each with a self-test below showing it can fail:

- `loss(batch)`, on every view, is a dict of finite scalars with "loss", and the views agree;
  one backward pass of "loss" reaches every parameter, and the loss depends on no trainable
  tensor the model does not register (a sub-network in a plain list or dict: an optimiser
  built from `model.parameters()` would never train it). This runs for every model, a GAN's
  too; a model with its own `training_step` must also change every parameter in one step of
  `coursekit.training`.
- `sample(n)` has the data's shape and the dtype convention of base.py (int64 levels 0..K−1;
  0./1. in the model's float dtype for K = 2; finite floats in the model's dtype, no range, for
  real values), and follows the model: built on `meta` in float64, it samples float64 (or
  int64) tensors on `meta`. A model with `can_sample = False` raises a NotImplementedError
  that explains.
- The declared likelihood method (`log_prob` or `nll_bound`, with the labels for a conditional
  model) returns (N,) finite nats, −log P ≥ 0 for discrete data, the same on every view; a
  bound names itself with a non-empty string.
- Everything runs in float64; the model builds on the `meta` device (no hard-coded device) and
  runs `loss` there; a checkpoint round trip into a fresh instance gives identical outputs.
"""
from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import coursekit.models as models
from coursekit.checkpoint import load_checkpoint, save_checkpoint
from coursekit.models import (
    FVSBN, MADE, NADE, PCA, VAE, CollapseVAE, ConvAutoencoder, GenerativeModel, LinearAutoencoder, MLPAutoencoder,
    GPT, Flow2D, GAN, GatedPixelCNN, PixelCategorical, PixelCNN, RealNVP, VQVAE, WaveNet, CycleGAN2D, Memoriser,
    NoisyMixture, DDPM, LatentDiffusion,
)
from coursekit.evaluation.families import DiffusionSampler, ELBOBound
from coursekit.models.base import batch_images
from coursekit.training import train


@dataclass(frozen=True)
class Tiny:
    """A tiny configuration of one model for `TINY`: small enough that every check runs in well
    under a second on a CPU.

    Batches are not part of the entry: `make_batch` builds them from the model's own
    `data_shape` (one example's shape, e.g. (1, 4, 4)) and `data_levels` (K: integer levels
    0..K−1, given both as int64 and as integer-valued floats; None: floats in [0, 1)), six
    examples, as `(x, y)` with labels y in 0..labels−1 (0..9 for an unconditional model, which
    must ignore them). Keep data_shape small: (1, 4, 4), or (1, 8, 8) for a convolutional model.
    """

    make: Callable[[], GenerativeModel]
    """Builds the model: `lambda: Family(shape=(1, 4, 4), <small widths>)`. Called with torch's global
    stream seeded (0, and 1 for the checkpoint test, which needs two different models) and also under
    `with torch.device("meta")`, so it must not name a device or draw data."""
    fit: Callable[[GenerativeModel], GenerativeModel] | None = None
    """For a model fitted in closed form (PCA, the per-pixel floor): fit it on random data of its
    convention and return it, `lambda m: m.fit(torch.randint(0, 5, (30, 1, 4, 4)))`. Not run on meta."""
    labels: int = 0
    """K > 0 for a model conditioned on labels 0..K−1: the likelihood method is then called as
    `log_prob(x, y)` / `nll_bound(x, y)`. Batches are (x, y) either way."""
    zero_grad_ok: dict[str, str] = field(default_factory=dict)
    """Parameter name → why one backward pass of `loss(batch)["loss"]` may legitimately give it an
    exactly zero gradient, or none at all (a parameter the loss does not use, e.g. one that only a GAN's
    `training_step` trains). A name ending in "." covers every parameter under it ("critic.").
    Every exemption says why; a trainable tensor the model does not register is never exempt."""


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
    "CollapseVAE-free-bits": Tiny(lambda: CollapseVAE(components=3, hidden=8, free_bits=0.1)),
    "FVSBN-one-hot": Tiny(lambda: FVSBN(shape=(1, 3, 3), levels=3, inputs="one_hot")),
    "FVSBN-binary-scaled": Tiny(lambda: FVSBN(shape=(1, 3, 3), levels=2, inputs="scaled")),
    "NADE": Tiny(lambda: NADE(shape=(1, 3, 3), levels=3, hidden=4)),
    "MADE-order-agnostic": Tiny(lambda: MADE(shape=(1, 3, 3), levels=3, hidden_sizes=(8, 8), orderings=3,
                                             resample_every=2)),
    "PixelCNN": Tiny(lambda: PixelCNN(shape=(1, 4, 4), levels=3, channels=4, layers=1, head=4)),
    "GatedPixelCNN": Tiny(lambda: GatedPixelCNN(shape=(1, 4, 4), levels=3, channels=4, layers=2, head=4)),
    "PixelCNN-colour": Tiny(lambda: PixelCNN(shape=(3, 4, 4), levels=3, channels=6, layers=1, head=6)),
    "VQVAE": Tiny(lambda: VQVAE(shape=(1, 4, 4), levels=3, codes=4, code_dim=2, channels=4)),
    "VQVAE-pixelcnn-prior": Tiny(lambda: VQVAE(shape=(1, 4, 4), levels=3, codes=4, code_dim=2, channels=4,
                                               prior=PixelCNN(shape=(1, 2, 2), levels=4, inputs="one_hot", channels=4,
                                                              layers=1, head=4, first_kernel=3)),
                                 zero_grad_ok={"prior.": "the prior is fitted afterwards on the code grids "
                                                         "(code_splits + train), not by the VQ-VAE's loss"}),
    "GPT": Tiny(lambda: GPT(shape=(1, 3, 3), levels=3, d_model=8, n_heads=2, layers=1)),
    "GPT-sinusoidal-conditional": Tiny(lambda: GPT(shape=(1, 3, 3), levels=3, d_model=8, n_heads=2, layers=1,
                                                   positions="sinusoidal", classes=3), labels=3),
    "MADE-direct": Tiny(lambda: MADE(shape=(1, 3, 3), levels=3, hidden_sizes=(8,), direct=True)),
    "WaveNet": Tiny(lambda: WaveNet(shape=(1, 3, 3), levels=3, channels=4, dilations=(1, 2), head=4)),
    "RealNVP": Tiny(lambda: RealNVP(shape=(1, 4, 4), levels=3, hidden=4, steps=2)),
    "RealNVP-variational-multiscale-conditional-logistic": Tiny(lambda: RealNVP(
        shape=(1, 4, 4), levels=3, hidden=4, steps=2, multiscale=True, dequantization="variational", deq_hidden=4,
        classes=3, base="logistic"), labels=3),
    "Flow2D": Tiny(lambda: Flow2D(layers=2, hidden=8)),
    "GAN-2d-wasserstein-gp": Tiny(lambda: GAN(shape=(2,), latent_dim=2, hidden=8, layers=1, loss="wasserstein")),
    "GAN-1d-minimax-unrolled-minibatch-std": Tiny(lambda: GAN(shape=(1,), latent_dim=1, hidden=8, layers=1,
                                                              loss="minimax", unroll=2, minibatch_std=True)),
    "GAN-digits-dcgan-conditional": Tiny(lambda: GAN(shape=(1, 8, 8), levels=5, latent_dim=4, width=4,
                                                     loss="non_saturating", classes=3), labels=3),
    "GAN-digits-dcgan-least-squares": Tiny(lambda: GAN(shape=(1, 8, 8), levels=5, latent_dim=4, width=4,
                                                       loss="least_squares")),
    "CycleGAN2D": Tiny(lambda: CycleGAN2D(hidden=8, layers=1)),
    "Memoriser": Tiny(lambda: Memoriser(shape=(1, 4, 4), levels=5, epsilon=0.1),
                      fit=lambda m: m.fit(torch.randint(0, 5, (30, 1, 4, 4)))),
    "NoisyMixture": Tiny(lambda: NoisyMixture(FVSBN(shape=(1, 3, 3), levels=3), weight=0.5)),
    "DDPM-2d": Tiny(lambda: DDPM(shape=(2,), T=10, hidden=8, layers=1, time_dim=8)),
    "DDPM-digits-unet-conditional": Tiny(lambda: DDPM(shape=(1, 8, 8), levels=17, T=10, channels=8, classes=3),
                                         labels=3),
    "LatentDiffusion": Tiny(lambda: LatentDiffusion(VAE(shape=(1, 4, 4), levels=5, **_VAE), T=10, hidden=8,
                                                    layers=1, time_dim=8)),
    # the benchmark's adapters (coursekit/evaluation/families.py): a VAE's −ELBO row, a DDPM with one sampler
    "ELBOBound": Tiny(lambda: ELBOBound(VAE(shape=(1, 4, 4), levels=5, **_VAE), samples=2)),
    "DiffusionSampler": Tiny(lambda: DiffusionSampler(DDPM(shape=(1, 8, 8), levels=17, T=10, channels=8, classes=10),
                                                      guidance=-1.0, method="ddim", steps=3)),
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


VIEWS = ("int64", "float")
"""How discrete data reach a model: int64 levels (ImageSplit.x, evaluate_model) and integer-valued floats
(the loaders' views, e.g. data.binarize). A model of integer levels must take both, with the same result."""


def views(model: GenerativeModel) -> tuple[str, ...]:
    return VIEWS if model.data_levels is not None else ("float",)


def make_batch(model: GenerativeModel, tiny: Tiny, n: int = 6, dtype: torch.dtype = torch.float32,
               device: torch.device | str = "cpu", seed: int = 0,
               view: str = "int64") -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) in the model's data convention, drawn from a seeded CPU generator, then moved to `device`.

    Discrete data (`data_levels = K`): levels 0..K−1, as int64 (`view="int64"`) or as integer-valued
    floats of `dtype` (`view="float"`); the same levels either way for one seed. Real-valued data:
    floats of `dtype` in [0, 1). Labels y: 0..labels−1 (0..9 for an unconditional model)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    g = torch.Generator().manual_seed(seed)
    shape, levels = (n, *model.data_shape), model.data_levels
    if levels is None:
        x = torch.rand(shape, generator=g, dtype=dtype)                 # real-valued, in [0, 1)
    else:
        x = torch.randint(0, levels, shape, generator=g)                # integer levels 0..K−1, int64
        if view == "float":
            x = x.to(dtype)                                             # 0./1. for K = 2: data.binarize's view
    y = torch.randint(0, tiny.labels or 10, (n,), generator=g)
    return x.to(device), y.to(device)


def likelihood_values(model: GenerativeModel, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """−log p(x [| y]) or the bound, (N,) nats, by the declared method (the models' contract); the labels
    y go to a conditional model's method as its second argument."""
    method = model.log_prob if model.likelihood == "exact" else model.nll_bound
    values = method(x) if y is None else method(x, y)
    return -values if model.likelihood == "exact" else values


def model_dtype(model: nn.Module) -> torch.dtype:
    """The model's float dtype: that of its first floating parameter or buffer (the default dtype without one)."""
    return next((t.dtype for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()),
                torch.get_default_dtype())


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


def exempt(name: str, zero_ok: dict[str, str]) -> bool:
    """Whether `zero_ok` (Tiny.zero_grad_ok) exempts parameter `name`: by its name, or a prefix ending in "."."""
    return name in zero_ok or any(key.endswith(".") and name.startswith(key) for key in zero_ok)


def gradient_problems(model: nn.Module, loss: torch.Tensor, zero_ok: dict[str, str] = {}) -> list[str]:
    """Backpropagate `loss` once; name every parameter the gradient does not reach (None, non-finite or all
    zero, unless `zero_ok` exempts it), and every trainable tensor the loss depends on that the model does
    not register (an optimiser built from model.parameters() would never update it: a sub-network kept in
    a plain list or dict)."""
    owned = {id(p) for p in model.parameters()}
    foreign = [tuple(t.shape) for t in graph_leaves(loss) if id(t) not in owned]
    problems = [f"the loss depends on a trainable tensor of shape {shape} that the model does not register "
                f"(a sub-network in a plain list or dict? use nn.ModuleList / nn.ModuleDict)" for shape in foreign]
    model.zero_grad(set_to_none=True)
    loss.backward()
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.grad is None:
            if not exempt(name, zero_ok):
                problems.append(f"{name}: no gradient (not used by the loss: an unregistered or detached sub-network?)")
        elif not torch.isfinite(p.grad).all():
            problems.append(f"{name}: non-finite gradient")
        elif not p.grad.any() and not exempt(name, zero_ok):
            problems.append(f"{name}: gradient exactly zero")
    return problems


def step_problems(model: nn.Module, batch) -> list[str]:
    """One step of `coursekit.training` (the model's own training_step); name every parameter it leaves untouched."""
    model.zero_grad(set_to_none=True)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    train(model, [batch], steps=1, device="cpu", progress=False)
    return [f"{name}: unchanged by one training step and no gradient" for name, p in model.named_parameters()
            if p.requires_grad and torch.equal(before[name], p.detach()) and (p.grad is None or not p.grad.any())]


def loss_problems(model: GenerativeModel, tiny: Tiny) -> list[str]:
    """Everything the contract asks of `loss(batch)` (module docstring), as a list of problems (empty: fine)."""
    model.train()
    problems, losses, errors = [], {}, []
    for view in views(model):
        batch = make_batch(model, tiny, view=view)
        torch.manual_seed(0)
        try:
            parts = model.loss(batch)
        except (RuntimeError, TypeError, ValueError) as err:
            if len(errors) + 1 == len(views(model)):
                raise                                # fails on every view: its own bug, with its traceback
            errors.append(err)
            problems.append(f"loss((x, y)) with x {batch[0].dtype} ({view} view of the levels) raised "
                            f"{type(err).__name__}: {err}; a model of integer levels takes them as int64 and as "
                            f"integer-valued floats (coursekit/models/base.py)")
            continue
        if not (isinstance(parts, dict) and "loss" in parts):
            return problems + [f"loss(batch) must return a dict with 'loss', got {parts!r}"]
        for key, value in parts.items():
            value = torch.as_tensor(value)
            if value.dim() != 0 or not torch.isfinite(value):
                problems.append(f"{key} = {value} is not a finite scalar ({view} view)")
        losses[view] = parts
        if view == views(model)[0] and any(p.requires_grad for p in model.parameters()):
            if not parts["loss"].requires_grad:
                problems.append("loss(batch)['loss'] does not require grad, but the model has trainable parameters")
            else:
                problems += gradient_problems(model, parts["loss"], tiny.zero_grad_ok)
    if len(losses) == 2:
        a, b = losses.values()
        problems += [f"loss part {key!r} differs between the int64 and the float view: {a[key]} vs {b[key]}"
                     for key in a if not torch.allclose(torch.as_tensor(a[key]).detach().double(),
                                                        torch.as_tensor(b.get(key, math.nan)).detach().double(),
                                                        rtol=1e-5, atol=1e-6)]
    if hasattr(model, "training_step") and not problems:
        problems += step_problems(model, make_batch(model, tiny))
    return problems


def sample_problems(model: GenerativeModel, n: int = 5) -> list[str]:
    """`sample(n)` against base.py's convention: shape (n, *data_shape), on the model's device; int64 levels
    0..K−1 (K > 2), 0./1. in the model's float dtype (K = 2), finite floats in the model's dtype (real-valued,
    no range: a Gaussian decoder's draws are not clipped). Values are checked off the meta device only."""
    s, levels, dtype = model.sample(n), model.data_levels, model_dtype(model)
    problems = []
    if not isinstance(s, torch.Tensor):
        return [f"sample({n}) must return a tensor, got {type(s).__name__}"]
    if tuple(s.shape) != (n, *model.data_shape):
        problems.append(f"sample({n}) has shape {tuple(s.shape)}, expected {(n, *model.data_shape)}")
    if s.device != model.device:
        problems.append(f"sample({n}) is on {s.device}, the model on {model.device} (a hard-coded device?)")
    want = torch.int64 if levels is not None and levels > 2 else dtype
    if s.dtype != want:
        problems.append(f"sample({n}) has dtype {s.dtype}, expected {want} ("
                        + ("categorical samples are int64 levels" if want == torch.int64 else
                           "the model's float dtype") + ")")
    if s.device.type == "meta" or problems:
        return problems
    if levels is None:
        if not torch.isfinite(s).all():
            problems.append("real-valued samples must be finite")
    elif not torch.equal(s, s.round()) or s.min() < 0 or s.max() > levels - 1:
        problems.append(f"samples must be integer levels 0..{levels - 1}, got values in {s.min()}..{s.max()}")
    return problems


def likelihood_problems(model: GenerativeModel, tiny: Tiny, dtype: torch.dtype = torch.float32) -> list[str]:
    """The declared likelihood method on every view, as a list of problems (empty for likelihood "none")."""
    if model.likelihood not in ("exact", "bound", "none"):
        return [f"likelihood = {model.likelihood!r} is not one of 'exact', 'bound', 'none'"]
    if model.likelihood == "none":
        return []
    problems = []
    if model.likelihood == "bound" and not (isinstance(model.bound, str) and model.bound):
        problems.append(f"a bound must say which bound it is: bound is {model.bound!r}, not a non-empty string")
    model.eval()
    values = {}
    for view in views(model):
        x, y = make_batch(model, tiny, dtype=dtype, view=view)
        torch.manual_seed(0)
        with torch.no_grad():
            nll = likelihood_values(model, x, y if tiny.labels else None)
        if not (isinstance(nll, torch.Tensor) and tuple(nll.shape) == (6,) and nll.is_floating_point()):
            problems.append(f"the likelihood must be (6,) floats, got {nll!r} ({view} view)")
            continue
        if dtype == torch.float64 and nll.dtype != dtype:           # float64 all the way (float32 may go up)
            problems.append(f"the likelihood is {nll.dtype} for a float64 model ({view} view)")
        if not torch.isfinite(nll).all():
            problems.append(f"the likelihood is not finite: {nll} ({view} view)")
        elif model.data_levels is not None and (nll < 0).any():   # a probability of a discrete image is ≤ 1
            problems.append(f"−log P(x) < 0 for discrete data: {nll} ({view} view)")
        values[view] = nll
    if len(values) == 2 and not torch.allclose(*values.values(), rtol=1e-5, atol=1e-5):
        problems.append(f"the likelihood differs between the int64 and the float view: {list(values.values())}")
    return problems


# --- every model is registered --------------------------------------------------------------

def concrete_models() -> set[type]:
    """Every non-abstract GenerativeModel defined in coursekit: exported or not, in every module of coursekit.models,
    and the benchmark's adapters in coursekit.evaluation.families (imported here, so that the set does not depend
    on which tests ran before)."""
    for info in pkgutil.iter_modules(models.__path__):
        importlib.import_module(f"{models.__name__}.{info.name}")
    importlib.import_module("coursekit.evaluation.families")
    found, stack = set(), [GenerativeModel]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    return {c for c in found if c.__module__.startswith("coursekit.") and not c.abstract}


def unregistered(classes: set[type]) -> list[type]:
    registered = {type(build(name)) for name in TINY}
    return sorted(classes - registered, key=lambda c: c.__qualname__)


def what_to_write(cls: type) -> str:
    """The TINY entry to add for an unregistered model class, as a line to copy and fill in."""
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        params = {}
    takes_shape = "shape" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
    args = "shape=(1, 4, 4), <small sizes>" if takes_shape else "<small sizes>"
    where = "" if getattr(models, cls.__name__, None) is cls else f" (import it from {cls.__module__})"
    return (f'add  "{cls.__qualname__}": Tiny(lambda: {cls.__qualname__}({args})),  to TINY in '
            f"tests/test_contract.py{where} (a tiny configuration: see Tiny's docstring; labels=K if it is "
            f"conditional, fit=... if it is fitted in closed form)")


def test_every_model_is_registered():
    exported = {obj for obj in (getattr(models, n) for n in models.__all__)
                if isinstance(obj, type) and issubclass(obj, GenerativeModel) and not obj.abstract}
    everything = concrete_models()
    assert exported <= everything
    assert {PixelCategorical, VAE, LinearAutoencoder, MLPAutoencoder, ConvAutoencoder, PCA} <= everything
    missing = unregistered(everything)
    assert not missing, "models without a tiny configuration:\n" + "\n".join(map(what_to_write, missing))


def test_the_registry_check_can_fail():
    class Unregistered(GenerativeModel):
        likelihood = "none"

        def __init__(self, shape=(1, 8, 8)):
            super().__init__()

    missing = unregistered(concrete_models() | {Unregistered})
    assert missing == [Unregistered]
    message = what_to_write(Unregistered)
    assert message.startswith('add  "test_the_registry_check_can_fail.<locals>.Unregistered": Tiny(lambda: ')
    assert "shape=(1, 4, 4)" in message and "to TINY in tests/test_contract.py" in message
    assert "see Tiny's docstring" in message and "import it from tests" not in message


# --- the checks, per configuration ----------------------------------------------------------

@pytest.mark.parametrize("name", TINY)
def test_loss_is_finite_and_reaches_every_parameter(name):
    assert not loss_problems(build(name), TINY[name])


@pytest.mark.parametrize("name", TINY)
def test_sample_has_the_data_shape_and_range(name):
    model = build(name).eval()
    torch.manual_seed(0)
    if not model.can_sample:
        with pytest.raises(NotImplementedError) as err:
            model.sample(5)
        assert len(str(err.value)) > 40, f"say why {type(model).__name__} cannot sample, got {str(err.value)!r}"
        return
    assert not sample_problems(model)


@pytest.mark.parametrize("name", TINY)
def test_sample_follows_the_model_to_meta_and_float64(name):
    """Built on meta and cast to float64, the model samples on meta in float64 (int64 for K > 2 levels): the
    device and dtype come from the model, not from a literal (on a CPU-only machine the CPU check is vacuous)."""
    model = build_on_meta(name).double().eval()
    if model.can_sample:
        assert not sample_problems(model)


@pytest.mark.parametrize("name", TINY)
def test_declared_likelihood(name):
    assert not likelihood_problems(build(name), TINY[name])


@pytest.mark.parametrize("name", TINY)
def test_runs_in_float64(name):
    model, tiny = build(name).double(), TINY[name]
    model.train()
    for view in views(model):
        batch = make_batch(model, tiny, dtype=torch.float64, view=view)
        torch.manual_seed(0)
        loss = model.loss(batch)["loss"]
        assert loss.dtype == torch.float64
        if loss.requires_grad:
            model.zero_grad(set_to_none=True)
            loss.backward()
            assert all(p.grad is None or p.grad.dtype == torch.float64 for p in model.parameters())
    assert not likelihood_problems(model, tiny, dtype=torch.float64)     # conditional models too: with y
    if model.can_sample:
        torch.manual_seed(0)
        assert not sample_problems(model.eval(), n=3)


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
    for view in views(model):
        batch = make_batch(model, TINY[name], device="meta", view=view)
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
    x, y = make_batch(model, tiny)

    def outputs(m: GenerativeModel) -> list[torch.Tensor]:
        torch.manual_seed(0)
        with torch.no_grad():
            out = [torch.as_tensor(v) for v in m.loss((x, y)).values()]
            if m.likelihood != "none":
                out.append(likelihood_values(m, x, y if tiny.labels else None))
            if m.can_sample:
                out.append(m.sample(4))
        return out

    for a, b in zip(outputs(model), outputs(fresh), strict=True):
        assert torch.equal(a, b)


# --- each check can fail: small models that break the contract one way each ---------------------

class _Fake(GenerativeModel, abstract=True):
    """A stand-in family on 2×2 real-valued images (subclasses set what they break)."""

    data_shape, data_levels = (1, 2, 2), None


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
    assert not gradient_problems(model, model.loss(torch.ones(3, 2))["loss"],
                                 {"reverse_nets.": "trained elsewhere (an exemption by prefix)"})

    class Unregistered(Forgetful):
        def __init__(self):
            super().__init__()
            self.hidden_nets = [nn.Linear(2, 2)]      # a plain list: not a submodule, not in parameters()

        def loss(self, batch):
            return {"loss": self.used(self.hidden_nets[0](batch_images(batch))).pow(2).mean()}

    model = Unregistered()
    problems = gradient_problems(model, model.loss(torch.ones(3, 2))["loss"], {"reverse_nets.": "exempt"})
    assert sum("does not register" in p for p in problems) == 2 == len(problems)   # the list's weight and bias

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


class _TinyGAN(_Fake):
    """A GAN in miniature with its own two-optimiser step: G(z) = W z + b, critic D(x) = v·x + c.
    `registered=False` keeps the critic in a plain Python list, so model.parameters() misses it."""

    def __init__(self, registered: bool = True):
        super().__init__()
        self.generator = nn.Linear(2, 4)
        critic = nn.Linear(4, 1)
        if registered:
            self.critic = critic
        else:
            self.critics = [critic]

    def _critic(self) -> nn.Linear:
        return self.critic if "critic" in self._modules else self.critics[0]

    def loss(self, batch):
        x = batch_images(batch).flatten(1)
        fake = self.generator(torch.randn(x.shape[0], 2, dtype=x.dtype, device=x.device))
        d_loss = F.softplus(-self._critic()(x)).mean() + F.softplus(self._critic()(fake.detach())).mean()
        g_loss = F.softplus(-self._critic()(fake)).mean()
        return {"loss": d_loss + g_loss, "d_loss": d_loss, "g_loss": g_loss}

    def configure_optimizers(self, lr):
        return {"generator": torch.optim.SGD(self.generator.parameters(), lr=lr),
                "critic": torch.optim.SGD(self._critic().parameters(), lr=lr)}

    def training_step(self, batch, optimizers, step):
        for opt in optimizers.values():
            opt.zero_grad()
        parts = self.loss(batch)
        parts["loss"].backward()
        for opt in optimizers.values():
            opt.step()
        return parts

    def sample(self, n):
        return self.generator(torch.randn(n, 2, dtype=model_dtype(self), device=self.device)).view(n, 1, 2, 2)


def test_a_gan_with_its_critic_in_a_plain_list_is_caught():
    """Its own training_step trains every *registered* parameter, so the one-step check alone passes; the
    foreign-tensor walk of loss(batch), run for every model, names the critic's weight and bias."""
    torch.manual_seed(0)
    hidden = _TinyGAN(registered=False)
    assert not step_problems(hidden, make_batch(hidden, Tiny(_TinyGAN)))    # what the old check looked at
    problems = loss_problems(hidden, Tiny(_TinyGAN))
    assert len(problems) == 2 and all("does not register" in p for p in problems), problems
    torch.manual_seed(0)
    assert not loss_problems(_TinyGAN(registered=True), Tiny(_TinyGAN))     # the same GAN, registered: fine


def test_a_model_that_only_takes_float_levels_is_caught():
    """The trial contributor's Bernoulli model: fine on 0./1. floats, broken on the int64 levels evaluate_model
    passes ("result type Float can't be cast to the desired output type Long")."""

    class NaiveBernoulli(_Fake):
        data_levels = 2

        def __init__(self):
            super().__init__()
            self.logits = nn.Parameter(torch.zeros(1, 2, 2))

        def loss(self, batch):
            x = batch_images(batch)
            return {"loss": F.binary_cross_entropy_with_logits(self.logits.expand_as(x), x)}

    model = NaiveBernoulli()
    x, _ = make_batch(model, Tiny(NaiveBernoulli), view="float")
    assert torch.isfinite(model.loss((x,))["loss"])                           # what the old batches tested
    problems = loss_problems(model, Tiny(NaiveBernoulli))
    assert len(problems) == 1 and "with x torch.int64 (int64 view of the levels) raised RuntimeError" in problems[0]
    assert "can't be cast" in problems[0] and "takes them as int64 and as integer-valued floats" in problems[0]


def test_the_sample_check_can_fail():
    """A model that samples on the CPU in float32 whatever it was built as: wrong device and dtype on meta in
    float64; one whose 'levels' are out of range; one whose shape is off."""

    class Fixed(_Fake):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(()))

        def sample(self, n):
            return torch.rand(n, 1, 2, 2, device="cpu") * 2.0

    assert not sample_problems(Fixed())
    with torch.device("meta"):
        on_meta = Fixed().double()
    problems = sample_problems(on_meta)
    assert len(problems) == 2 and "on cpu, the model on meta" in problems[0] and "float64" in problems[1]

    class OutOfRange(Fixed):
        data_levels = 3

        def sample(self, n):
            return torch.full((n, 1, 2, 2), 3)

    assert sample_problems(OutOfRange()) == ["samples must be integer levels 0..2, got values in 3..3"]

    class BinaryAsInt(Fixed):
        data_levels = 2

        def sample(self, n):
            return torch.ones(n, 1, 2, 2, dtype=torch.long)

    assert "expected torch.float32" in sample_problems(BinaryAsInt())[0]

    class Flat(Fixed):
        def sample(self, n):
            return torch.zeros(n, 4)

    assert "has shape (5, 4)" in sample_problems(Flat())[0]


def test_the_likelihood_check_calls_the_declared_method_with_the_labels():
    """A conditional exact-likelihood model is asked for log_prob(x, y) (not nll_bound); a bound whose name
    property returns None, and a likelihood that depends on the dtype of the levels, are named."""

    class ConditionalExact(_Fake):
        likelihood, data_levels = "exact", 3

        def __init__(self):
            super().__init__()
            self.logits = nn.Parameter(torch.zeros(2, 3))        # p(x_d = k | y) = softmax(logits[y])_k

        def log_prob(self, x, y):
            log_p = self.logits.log_softmax(1)[y]                 # (N, 3)
            return log_p.gather(1, x.long().flatten(1)).sum(1)    # (N,)

    model, tiny = ConditionalExact(), Tiny(ConditionalExact, labels=2)
    assert not likelihood_problems(model, tiny)
    x, y = make_batch(model, tiny)
    assert torch.allclose(likelihood_values(model, x, y), torch.full((6,), 4 * math.log(3)))

    class Nameless(_Fake):
        likelihood = "bound"
        bound = property(lambda self: None)                       # passes class creation; caught here

        def nll_bound(self, x):
            return torch.zeros(x.shape[0])

    assert "a bound must say which bound it is" in likelihood_problems(Nameless(), Tiny(Nameless))[0]

    class DtypeDependent(ConditionalExact):
        def log_prob(self, x, y):
            return super().log_prob(x, y) - float(x.is_floating_point())

    problems = likelihood_problems(DtypeDependent(), tiny)
    assert len(problems) == 1 and "differs between the int64 and the float view" in problems[0]


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

    for empty in (None, ""):           # said outright, not only inherited from GenerativeModel
        with pytest.raises(TypeError, match=rf"Explicit declares likelihood = 'bound' but lacks a non-empty bound"
                                            rf".*got {empty!r}"):
            class Explicit(GenerativeModel):
                likelihood, bound = "bound", empty

                def nll_bound(self, x):
                    return x.sum(1)

    class Named(GenerativeModel):      # a property names it too (what it returns is checked by the contract
                                       # test, likelihood_problems: a property cannot be read on the class)
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
