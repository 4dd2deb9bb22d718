"""The contract every model in the course follows, so one trainer, one evaluator and one test serve all.

What a model provides (all log-likelihoods in **nats per example**, one value per row of x):

- `loss(batch) -> dict` with `"loss"` (the scalar to minimise) and its named parts
  (`"recon"`, `"kl"`, ...); `batch` is what the loader yields, `(x,)` or `(x, y)`.
- `sample(n, **options)` where the family can sample: a tensor (n, *data_shape) on the
  model's device, in the data's convention (below). A model that cannot generate (a plain
  autoencoder, PCA) sets `can_sample = False` and its `sample` raises `NotImplementedError` saying why.
- The likelihood, declared in the class attribute `likelihood`:
  - `"exact"`: `log_prob(x)` returns log p(x), shape (N,);
  - `"bound"`: `nll_bound(x)` returns an upper bound on −log p(x) (in expectation for a
    stochastic bound), shape (N,), and `bound` names it ("elbo", "iwae-1000", "dequantised":
    a class attribute or a property);
  - `"none"`: no likelihood (GANs, autoencoders, PCA).
  A bound is never reported as an exact likelihood: `coursekit.evaluation.evaluate_model`
  prints its name beside every number.
- `data_shape` (the shape of one example, (C, H, W) for images) and `data_levels` (K when
  the data are integer levels 0..K−1, None when they are real-valued): what `loss`, the
  likelihood method and `sample` take and give. A model of integer levels (`data_levels = K`,
  K = 2 included) takes x both as int64 levels 0..K−1 (what `ImageSplit.x` holds and
  `evaluate_model` passes) and as the same levels in floats (what the loaders' views give,
  e.g. `data.binarize`'s 0./1.), with the same result: it casts inside, `x.long()` for a
  categorical, `x.to(logits.dtype)` for a Bernoulli likelihood (`F.binary_cross_entropy_with_logits`
  refuses an int64 target). `sample` returns, accordingly,
  - categorical models (`data_levels = K`): integer levels 0..K−1, dtype int64;
  - Bernoulli models (`data_levels = 2`): 0./1. in the model's float dtype;
  - real-valued models (`data_levels = None`, Gaussian decoders, dequantised data): floats in
    the model's dtype (a Gaussian decoder's draws are not clipped to [0, 1]).
  A model with `bound = "dequantised"` takes integer levels (`data_levels = K`), adds the
  uniform noise itself and returns −E_u log p((x + u)/K) + D·log K, a bound on the discrete
  −log P(x) (Theis et al., 2016).
- Models that need their own optimisation step (GANs: two optimisers, k critic steps)
  define `configure_optimizers(lr)` and `training_step(batch, optimizers, step, ctx) -> dict`;
  `coursekit.training` then calls them instead of its default step, and `ctx.backward(loss,
  optimizers)` / `ctx.step(optimizers)` give them its non-finite check, loss scaling and
  gradient clipping (`coursekit.training.step`).

What is enforced where:

- **At class creation** (`__init_subclass__`): `likelihood` is one of the three; a concrete
  class declaring "exact" has a `log_prob`, one declaring "bound" has `nll_bound` and a
  non-empty `bound` (a string or a property); `can_sample` is a bool. A violation is a
  `TypeError` naming the class, what it declared and what is missing. An intermediate base
  that leaves these to its subclasses says so with `class Autoencoder(GenerativeModel,
  abstract=True)`; `abstract` is not inherited, so every subclass is checked again.
- **In `tests/test_contract.py`**: every concrete model of `coursekit.models` is registered
  there in a tiny configuration and run through the rest (finite loss on int64 and float levels
  alike, gradients reach every parameter and no unregistered tensor, `sample`'s shape, dtype and
  range, float64, the meta device, checkpoint round trip).
"""
from __future__ import annotations

from typing import ClassVar, Literal

import torch
from torch import nn

from ..utils import check_integer_range

__all__ = ["GenerativeModel", "LIKELIHOODS", "batch_images", "ImagesFromConfig", "config_from", "check_labels"]

LIKELIHOODS = ("exact", "bound", "none")
"""The values `GenerativeModel.likelihood` may take."""


def batch_images(batch) -> torch.Tensor:
    """The images of a batch, whether the loader yields `x`, `(x,)` or `(x, y)`."""
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, (tuple, list)) and len(batch) >= 1 and isinstance(batch[0], torch.Tensor):
        return batch[0]
    raise TypeError(f"a batch must be a tensor, (x,) or (x, y), got {type(batch).__name__}")


def _check_declaration(cls: type) -> None:
    """Raise a TypeError unless `cls` declares a likelihood it provides (see the module docstring)."""
    name, likelihood = cls.__qualname__, getattr(cls, "likelihood", None)
    if likelihood not in LIKELIHOODS:
        raise TypeError(f"{name} declares likelihood = {likelihood!r}; it must be 'exact' (with log_prob(x)), "
                        f"'bound' (with nll_bound(x) and bound naming it) or 'none'")
    if not isinstance(cls.can_sample, bool):
        raise TypeError(f"{name} declares can_sample = {cls.can_sample!r}; it must be True or False")
    if cls.abstract:
        return
    if likelihood == "exact" and not callable(getattr(cls, "log_prob", None)):
        raise TypeError(f"{name} declares likelihood = 'exact' but defines no log_prob(x) (log p(x) in nats, one "
                        f"value per example): add it, or declare likelihood = 'bound' with nll_bound(x), or 'none'")
    if likelihood == "bound":
        missing = []
        if not callable(getattr(cls, "nll_bound", None)):
            missing.append("nll_bound(x) (an upper bound on −log p(x) in nats, one value per example)")
        bound = getattr(cls, "bound", None)
        if not ((isinstance(bound, str) and bound) or isinstance(bound, property)):
            missing.append(f"a non-empty bound naming it, such as 'elbo' or 'iwae-1000' (a string or a property; "
                           f"got {bound!r})")
        if missing:
            raise TypeError(f"{name} declares likelihood = 'bound' but lacks " + " and ".join(missing))


def check_labels(y, n: int, device: torch.device, *, classes: int | None, model: str, field: str,
                 conditioned: str) -> torch.Tensor | None:
    """The labels of a class-conditional model as int64 (n,) on `device`, or None for an unconditional one
    (`classes` None or 0). An int is every example's label. A label given to an unconditional model, none given
    to a conditional one, a wrong shape or a label outside 0..classes−1 is a ValueError naming what came:
    "this {model} is unconditional ({field}=0) but was given labels y", "{conditioned} ({field}=K): give the
    labels y, e.g. the batch (x, y)". The one label check of the GPT, the conditional VAE and RealNVP."""
    if not classes:
        if y is not None:
            raise ValueError(f"this {model} is unconditional ({field}={classes!r}) but was given labels y; "
                             f"build it with {field}=K to condition on them")
        return None
    if y is None:
        raise ValueError(f"{conditioned} ({field}={classes}): give the labels y, e.g. the batch (x, y)")
    if isinstance(y, int) and not isinstance(y, bool):
        y = torch.full((n,), y, dtype=torch.long, device=device)
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (n,):
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"y must have shape ({n},), one label per example, got {got}")
    check_integer_range(y, 0, classes - 1, "y")
    return y.long().to(device)


def config_from(config, fields: dict, cls: type):
    """The config of a model built as `Model(config)` or `Model(**fields)` (never both): a TypeError names what
    came when it is both, or a config of another class."""
    if config is not None and fields:
        raise TypeError(f"give a {cls.__name__} or keyword fields, not both (got config and {sorted(fields)})")
    if config is not None and not isinstance(config, cls):
        raise TypeError(f"config must be a {cls.__name__}, got {type(config).__name__}")
    return config if config is not None else cls(**fields)


class ImagesFromConfig:
    """`data_shape` and `data_levels` read from the model's config dataclass (`self.config.shape`, `.levels`):
    for the models of integer-level images (C, H, W) with K levels. Put it before GenerativeModel in the bases,
    `class PixelModel(ImagesFromConfig, GenerativeModel)`, so its properties replace the contract's stubs."""

    @property
    def data_shape(self) -> tuple[int, int, int]:
        return tuple(self.config.shape)

    @property
    def data_levels(self) -> int:
        return self.config.levels


class GenerativeModel(nn.Module):
    """Base class: the likelihood declaration (checked when a subclass is created), the data
    description, `device`, and `loss`/`sample` placeholders. See the module docstring."""

    likelihood: ClassVar[Literal["exact", "bound", "none"]] = "none"
    """Which likelihood the model provides: "exact" (`log_prob`), "bound" (`nll_bound`) or "none"."""
    bound: str | None = None
    """The name of the bound `nll_bound` computes ("elbo", "iwae-1000", "dequantised") when likelihood is "bound"."""
    can_sample: ClassVar[bool] = True
    """False for a model that cannot generate: its `sample` raises NotImplementedError and says why."""
    abstract: ClassVar[bool] = True
    """True for an intermediate base class (`class B(GenerativeModel, abstract=True)`): its methods are not checked."""

    def __init_subclass__(cls, *, abstract: bool = False, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.abstract = bool(abstract)  # set on every class, so a subclass of an abstract base is checked
        _check_declaration(cls)

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters or buffers (the CPU for a model with neither)."""
        for tensor in (*self.parameters(), *self.buffers()):
            return tensor.device
        return torch.device("cpu")

    @property
    def data_shape(self) -> tuple[int, ...]:
        """The shape of one example, e.g. (C, H, W): what `loss` and the likelihood take after the batch dim."""
        raise NotImplementedError(f"{type(self).__name__} does not say what data it models: define data_shape "
                                  f"(the shape of one example) and data_levels (K, or None for real values)")

    @property
    def data_levels(self) -> int | None:
        """K when the data are integer levels 0..K−1 (2 for binary data); None when they are real-valued."""
        raise NotImplementedError(f"{type(self).__name__} does not say what data it models: define data_shape "
                                  f"(the shape of one example) and data_levels (K, or None for real values)")

    def loss(self, batch) -> dict[str, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement loss(batch) -> dict with 'loss'")

    def sample(self, n: int, **options) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement sample(n)")
