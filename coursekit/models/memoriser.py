"""Why likelihood is not sample quality: seed 000's two examples as models with exact discrete likelihoods.

Seed 000 (section 5): "We can have high likelihood with poor quality by mixing in noise and not
losing much likelihood; or low likelihood with good quality by remembering input data and having
sharp peaks there." Both are built here on integer-level images, so their likelihoods are exact
and their samples can be scored like any other model's (the lecture prints test bits/dim beside
the Fréchet distance; `benchmarks/gan_quality.py` measures them):

**The memoriser** (sharp samples, poor likelihood). The training set x_1..x_N, memorised, with a
little of the per-pixel floor model mixed in so that an image never seen still has p(x) > 0:

    p(x) = (1 − ε) · (1/N) Σ_n 1[x = x_n] + ε · p_floor(x)

Its samples are training images, as sharp as the data; a test image, which is (almost surely) none of
them, gets log p(x) = log ε + log p_floor(x), **worse than the floor model itself** by −log₂ ε / D
bits/dim (0.156 for ε = 10⁻³ and D = 64).

**The noisy mixture** (good likelihood, poor samples). Any exact model, diluted with noise:

    p(x) = w · p_model(x) + (1 − w) · p_noise(x)                 (noise: uniform levels, or a given model)
    log p(x) ≥ log w + log p_model(x)   ⇒   bits/dim ≤ the model's + log₂(1/w) / D

With w = 0.01 and D = 64 the bits/dim is at most log₂ 100 / 64 = 0.104 worse than the model's,
yet 99% of its samples are noise.

Measured on the digits by `benchmarks/gan_quality.py --parts likelihood` (test bits/dim, exact; Fréchet
distance of 400 samples to the test digits, n = 400; mean of seeds 0, 1, 2): the per-pixel floor 2.398 and
107.3; an FVSBN 2.088 and 29.3; that FVSBN with w = 0.01 and uniform noise 2.192 and 178.2 (noise alone: 179.6);
the memoriser with ε = 10⁻³ 2.553 and 11.5 (real training digits against the test digits: 7.1).

    memo = Memoriser(shape=(1, 8, 8), levels=17, epsilon=1e-3).fit(splits.train.x)
    memo.log_prob(splits.test.x)                  # (N,) nats, exact
    noisy = NoisyMixture(fvsbn, weight=0.01)       # exact too; noisy.sample(400) is 99% noise
"""
from __future__ import annotations

import math

import torch

from ..utils import check_images, draw_device, rand
from .base import GenerativeModel, batch_images
from .independent import PixelCategorical

__all__ = ["Memoriser", "NoisyMixture"]


def _check_probability(value, name: str, what: str) -> float:
    """A number in (0, 1], as a float; a ValueError naming `name` and what it is otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"{name} ({what}) must be a number in (0, 1], got {value!r}")
    return float(value)


def _log_complement(p: float) -> float:
    """log(1 − p), −inf for p = 1 (math.log1p refuses −1)."""
    return math.log1p(-p) if p < 1 else -math.inf


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the number of samples) must be a positive int, got {n!r}")
    return n


class Memoriser(GenerativeModel):
    """p(x) = (1 − ε)·(1/N) Σ_n 1[x = x_n] + ε·p_floor(x): the training set memorised, smoothed by the
    per-pixel floor (`PixelCategorical` with add-α smoothing, as `evaluation.floor_model`). Exact likelihood.

    `fit(x)` memorises x (N, *shape) (int64 levels or integer-valued floats) and fits the floor on it;
    before `fit` nothing is memorised and the model is the (uniform) floor alone. No trainable parameters:
    `fit` is its training, and `loss` only reports −mean log p(x)."""

    likelihood = "exact"

    def __init__(self, *, shape: tuple[int, ...] = (1, 8, 8), levels: int = 17, epsilon: float = 1e-3,
                 alpha: float = 0.5):
        super().__init__()
        self.shape, self.levels = tuple(int(s) for s in shape), int(levels)
        self.epsilon = _check_probability(epsilon, "epsilon", "the weight of the floor model")
        self.floor = PixelCategorical(shape=self.shape, levels=self.levels, alpha=alpha)
        # the memorised images x_1..x_N, int64 levels (N, *shape); N = 0 until fit
        self.register_buffer("memory", torch.zeros((0, *self.shape), dtype=torch.long))

    @property
    def data_shape(self) -> tuple[int, ...]:
        return self.shape

    @property
    def data_levels(self) -> int:
        return self.levels

    def extra_repr(self) -> str:
        return f"shape={self.shape}, levels={self.levels}, epsilon={self.epsilon}, memorised={self.memory.shape[0]}"

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> "Memoriser":
        """Memorise the images x (N, *shape) and fit the floor model p_floor on them."""
        check_images(x, self.shape, levels=self.levels)
        self.memory = x.detach().long().to(self.memory.device).clone()
        self.floor.fit(self.memory)
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """A checkpoint's memory may hold any number of images: take its size before copying it in."""
        stored = state_dict.get(prefix + "memory")
        if isinstance(stored, torch.Tensor) and stored.shape != self.memory.shape:
            self.memory = torch.zeros(stored.shape, dtype=self.memory.dtype, device=self.memory.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def memorised_count(self, x: torch.Tensor) -> torch.Tensor:
        """How many memorised images equal each x: Σ_n 1[x = x_n], (N_x,) int64."""
        check_images(x, self.shape, levels=self.levels)
        flat = x.long().to(self.memory.device).flatten(1)                  # (N_x, D)
        memory = self.memory.flatten(1)                                    # (N, D)
        counts = [(chunk[:, None, :] == memory[None]).all(-1).sum(1)      # (chunk, N, D) → (chunk,)
                  for chunk in flat.split(256)]
        return torch.cat(counts) if counts else torch.zeros(0, dtype=torch.long, device=flat.device)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) = logsumexp(log(1 − ε) + log(count(x)/N), log ε + log p_floor(x)), (N_x,) nats, exact."""
        log_floor = self.floor.log_prob(x)                                 # (N_x,), checks x
        n_memory = self.memory.shape[0]
        if n_memory == 0:
            return log_floor                                               # nothing memorised: the floor alone
        count = self.memorised_count(x).to(log_floor.dtype)
        log_memory = torch.log(count / n_memory)                           # −inf for an image never seen
        terms = torch.stack([_log_complement(self.epsilon) + log_memory,  # log(1 − ε), −inf when ε = 1
                             math.log(self.epsilon) + log_floor])          # (2, N_x)
        return torch.logsumexp(terms, dim=0)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """{"loss": −mean log p(x) in nats} (nothing to train: `fit` memorises)."""
        nll = -self.log_prob(batch_images(batch)).mean()
        return {"loss": nll, "nll": nll}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images (n, *shape), int64 levels: each a uniformly chosen memorised image with probability
        1 − ε, a draw of the floor model otherwise (always the floor before `fit`)."""
        n = _check_n(n)
        from_floor = self.floor.sample(n, generator=generator)             # (n, *shape)
        n_memory = self.memory.shape[0]
        if n_memory == 0:
            return from_floor
        device = self.memory.device
        on = draw_device(generator, device)
        index = torch.randint(0, n_memory, (n,), generator=generator, device=on).to(device)
        remembered = rand((n,), device=device, generator=generator) >= self.epsilon   # probability 1 − ε
        chosen = self.memory[index]                                        # (n, *shape)
        mask = remembered.reshape(n, *([1] * len(self.shape)))             # (n, 1, ..., 1)
        return torch.where(mask, chosen, from_floor.to(device))


class NoisyMixture(GenerativeModel):
    """p(x) = w·p_model(x) + (1 − w)·p_noise(x) for an exact model of integer levels (module docstring).

    `noise="uniform"`: p_noise(x) = K^−D (every level equally likely at every pixel); or a model with an exact
    likelihood of the same data (e.g. the floor, `evaluation.floor_model(train)`). `loss` trains the wrapped
    model through the mixture; `sample(n)` takes each example from the model with probability w."""

    likelihood = "exact"

    def __init__(self, model: GenerativeModel, weight: float = 0.01, noise: str | GenerativeModel = "uniform"):
        super().__init__()
        if not isinstance(model, GenerativeModel) or model.likelihood != "exact":
            got = f"likelihood {model.likelihood!r}" if isinstance(model, GenerativeModel) else type(model).__name__
            raise TypeError(f"model must be a GenerativeModel with an exact likelihood (log_prob), got {got}")
        if model.data_levels is None:
            raise ValueError(f"model must model integer levels (data_levels = K), got a model of real values "
                             f"({type(model).__name__}, data_levels None): a density there is not a probability")
        self.weight = _check_probability(weight, "weight", "w, the model's share of the mixture")
        self.model = model
        if isinstance(noise, str):
            if noise != "uniform":
                raise ValueError(f"noise must be 'uniform' or a model with an exact likelihood, got {noise!r}")
            self.noise = None
        else:
            if not isinstance(noise, GenerativeModel) or noise.likelihood != "exact":
                got = (f"likelihood {noise.likelihood!r}" if isinstance(noise, GenerativeModel)
                       else type(noise).__name__)
                raise TypeError(f"noise must be 'uniform' or a GenerativeModel with an exact likelihood, got {got}")
            if (tuple(noise.data_shape), noise.data_levels) != (tuple(model.data_shape), model.data_levels):
                raise ValueError(f"noise must model the model's data, shape {tuple(model.data_shape)} with "
                                 f"{model.data_levels} levels, got shape {tuple(noise.data_shape)} with "
                                 f"{noise.data_levels} levels")
            self.noise = noise

    @property
    def data_shape(self) -> tuple[int, ...]:
        return tuple(self.model.data_shape)

    @property
    def data_levels(self) -> int:
        return self.model.data_levels

    def extra_repr(self) -> str:
        return f"weight={self.weight}, noise={'uniform' if self.noise is None else type(self.noise).__name__}"

    def noise_log_prob(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """log p_noise(x), (N,) nats, in the dtype of `like`: −D log K for uniform levels."""
        if self.noise is None:
            return torch.full_like(like, -math.prod(self.data_shape) * math.log(self.data_levels))
        return self.noise.log_prob(x).to(like.dtype)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) = logsumexp(log w + log p_model(x), log(1 − w) + log p_noise(x)), (N,) nats, exact."""
        check_images(x, self.data_shape, levels=self.data_levels)
        log_model = self.model.log_prob(x)                                 # (N,)
        terms = torch.stack([math.log(self.weight) + log_model,
                             _log_complement(self.weight) + self.noise_log_prob(x, log_model)])   # (2, N)
        return torch.logsumexp(terms, dim=0)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """{"loss": −mean log p(x) in nats}: trains the wrapped model through the mixture."""
        nll = -self.log_prob(batch_images(batch)).mean()
        return {"loss": nll, "nll": nll}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images: each the model's draw with probability w, the noise's otherwise (n draws of each are made
        and one kept per example, so a seeded generator gives the same images on every device)."""
        n = _check_n(n)
        options = {} if generator is None else {"generator": generator}
        from_model = self.model.sample(n, **options)                       # (n, *shape)
        device = from_model.device
        if self.noise is None:
            on = draw_device(generator, device)
            from_noise = torch.randint(0, self.data_levels, (n, *self.data_shape), generator=generator,
                                       device=on).to(device, from_model.dtype)
        else:
            from_noise = self.noise.sample(n, **options).to(device, from_model.dtype)
        keep = rand((n,), device=device, generator=generator) < self.weight      # probability w
        mask = keep.reshape(n, *([1] * len(self.data_shape)))             # (n, 1, ..., 1)
        return torch.where(mask, from_model, from_noise)
