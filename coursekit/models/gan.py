"""Generative adversarial networks (Goodfellow et al., 2014): the minimax game, its losses, DCGAN, the
conditional GAN, the unrolled GAN, and GAN inversion.

**The game.** A generator G maps noise z ~ N(0, I) to data space; a discriminator D(x) = σ(l(x)) says how
likely x is to be real. Both play the value function

    min_G max_D V(G, D) = E_{x~p_d} log D(x) + E_{z~p_z} log(1 − D(G(z)))          (`value_function`)

For a fixed G the best discriminator is D*(x) = p_d(x) / (p_d(x) + p_g(x)) (`data.optimal_discriminator`),
and V(G, D*) = −log 4 + 2·JS(p_d ‖ p_g): the game minimises a Jensen–Shannon divergence.

**The losses** (`discriminator_loss`, `generator_loss`), all from D's raw output l (a logit, or a critic's
score), never through log(sigmoid(l)), which overflows (softplus(t) = log(1 + eᵗ), log σ(l) = −softplus(−l),
log(1 − σ(l)) = −softplus(l)):

    kind              D (or critic) minimises                        G minimises
    minimax           −E log D(x) − E log(1 − D(G(z)))               E log(1 − D(G(z)))   (saturates: ∂/∂l = −σ(l))
    non_saturating    the same                                        −E log D(G(z))       (∂/∂l = −(1 − σ(l)))
    least_squares     ½ E (l(x) − 1)² + ½ E l(G(z))²                  ½ E (l(G(z)) − 1)²   (Mao et al., 2017)
    wasserstein       E f(G(z)) − E f(x)  [+ λ·GP]                    −E f(G(z))           (Arjovsky et al.; Gulrajani et al.)

The gradient penalty (`gradient_penalty`) GP = E (‖∇_x̂ f(x̂)‖₂ − 1)² at x̂ = ε x + (1 − ε) x̃, ε ~ U[0, 1]
per example, keeps the critic f near 1-Lipschitz.

**Training** (`GAN.training_step`, Algorithm 1 of Goodfellow et al.): every step of the course's trainer is
one discriminator step on a fresh real minibatch and fresh z; every k-th step is followed by one generator
step (so k discriminator steps per generator step). An unrolled GAN (Metz et al., 2017; `unroll` > 0) lets
the **generator** look ahead: its loss is taken against D after `unroll` differentiable SGD steps of D on
the current fake batch, and its gradient flows through those steps. (Seed 000 describes it the other way
round; it is the generator that looks ahead.)

**Networks.** MLPs for 1-D and 2-D data; DCGAN (Radford et al., 2016) for images: strided convolutions in
D, fractionally-strided (transposed) ones in G, batch norm, no fully connected hidden layers (only the
projection of z), ReLU in G with a Tanh output, LeakyReLU in D. Integer-level images x ∈ {0..K−1} are
mapped to [−1, 1] inside (x / (K − 1)·2 − 1) and samples mapped back (rounded).

The settings the lecture and the benchmark share: `RING_NETWORK` and `RING_DEFAULTS` for the ring of
eight Gaussians (trained and scored by `coursekit.evaluation.gan_ring.ring_experiment`), `dcgan_digits` and
`DIGITS_TRAINING` for the digits; what each measured is written beside it.

    model = GAN(shape=(2,), loss="wasserstein")                     # the ring of eight Gaussians
    model = GAN(dcgan_digits(conditional=True)); model.sample(10, labels=3)
    z, x_hat, err = invert(model, x, steps=200, lr=0.05)             # find z with G(z) ≈ x
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from ..utils import check_images, check_shape, rand, randn
from .base import GenerativeModel, batch_images, check_labels, config_from

__all__ = ["GAN_LOSSES", "discriminator_loss", "generator_loss", "gradient_penalty", "value_function",
           "MLPGenerator", "MLPDiscriminator", "DCGenerator", "DCDiscriminator", "GANConfig", "GAN", "invert",
           "RING_NETWORK", "RING_DEFAULTS", "dcgan_digits", "DIGITS_TRAINING"]

GAN_LOSSES = ("minimax", "non_saturating", "least_squares", "wasserstein")
"""The losses `discriminator_loss`, `generator_loss` and `GANConfig.loss` take."""


# --- losses --------------------------------------------------------------------------------------

def _check_kind(kind: str) -> None:
    if kind not in GAN_LOSSES:
        raise ValueError(f"loss kind must be one of {GAN_LOSSES}, got {kind!r}")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, kind: str) -> torch.Tensor:
    """What D (or the critic) minimises, from its raw outputs l on real and on generated data (module docstring).

    minimax / non_saturating: −E log σ(l(x)) − E log(1 − σ(l(G(z)))) = E softplus(−l(x)) + E softplus(l(G(z)));
    least_squares: ½ E (l(x) − 1)² + ½ E l(G(z))²; wasserstein: E f(G(z)) − E f(x) (add the penalty yourself)."""
    _check_kind(kind)
    if kind in ("minimax", "non_saturating"):
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if kind == "least_squares":
        return 0.5 * (real_logits - 1).pow(2).mean() + 0.5 * fake_logits.pow(2).mean()
    return fake_logits.mean() - real_logits.mean()


def generator_loss(fake_logits: torch.Tensor, kind: str) -> torch.Tensor:
    """What G minimises, from D's raw outputs l on generated data (module docstring).

    minimax: E log(1 − σ(l)) = −E softplus(l) (saturating: ∂/∂l = −σ(l) → 0 where D rejects the fakes);
    non_saturating: −E log σ(l) = E softplus(−l) (∂/∂l = −(1 − σ(l)) → −1 there);
    least_squares: ½ E (l − 1)²; wasserstein: −E f(G(z))."""
    _check_kind(kind)
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()
    if kind == "least_squares":
        return 0.5 * (fake_logits - 1).pow(2).mean()
    return -fake_logits.mean()


def value_function(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """V(G, D) = E log D(x) + E log(1 − D(G(z))) from D's logits: log σ(l) and log σ(−l) = log(1 − σ(l)).
    At D = D* it is −log 4 + 2·JS(p_d ‖ p_g); it is minus the (shared) discriminator loss."""
    return F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, *, generator: torch.Generator | None = None,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
    """E (‖∇_x̂ f(x̂)‖₂ − 1)² at x̂ = ε x + (1 − ε) x̃, ε ~ U[0, 1] per example (Gulrajani et al., 2017).

    `critic(x)` (or `critic(x, labels)`) gives one score per example; `real` x and `fake` x̃ have the same
    shape (N, ...). The gradient is taken with create_graph=True, so the penalty itself trains the critic
    (without it the penalty's gradient with respect to the critic's weights would be lost). A `fake` that
    carries G's graph passes it on to the penalty; train the critic with its own optimiser (`GAN.training_step`
    makes the fakes of its critic steps without a graph)."""
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    eps = rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype,
               generator=generator)                                          # (N, 1, ...): one ε per example
    with torch.enable_grad():                                                # also under an outer no_grad
        x_hat = eps * real + (1 - eps) * fake                                # (N, ...)
        if not x_hat.requires_grad:                                          # data and a fake made without grad
            x_hat.requires_grad_(True)
        scores = critic(x_hat) if labels is None else critic(x_hat, labels)
        (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
        norm = (grad.flatten(1).pow(2).sum(1) + 1e-12).sqrt()                # ‖∇_x̂ f(x̂)‖₂, (N,)
        return (norm - 1).pow(2).mean()


# --- networks --------------------------------------------------------------------------------------

def _one_hot(labels: torch.Tensor | None, classes: int, like: torch.Tensor) -> torch.Tensor | None:
    return None if labels is None else F.one_hot(labels.long(), classes).to(like.dtype)   # (N, classes)


def _label_needed(labels, classes: int, who: str) -> None:
    if classes and labels is None:
        raise ValueError(f"this {who} is conditional (classes={classes}): give labels, one per example")
    if not classes and labels is not None:
        raise ValueError(f"this {who} is unconditional (classes=0) but was given labels")


class MLPGenerator(nn.Module):
    """G(z [, y]): `layers` hidden layers of `hidden` ReLU units, a linear output of `data_dim` (unbounded:
    1-D and 2-D data are real-valued). A conditional G (`classes` > 0) reads [z, one_hot(y)]."""

    def __init__(self, latent_dim: int, data_dim: int, hidden: int = 64, layers: int = 2, classes: int = 0):
        super().__init__()
        self.latent_dim, self.data_dim, self.classes = latent_dim, data_dim, classes
        sizes = [latent_dim + classes] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            blocks += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*blocks, nn.Linear(sizes[-1], data_dim))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _label_needed(labels, self.classes, "MLPGenerator")
        if labels is not None:
            z = torch.cat([z, _one_hot(labels, self.classes, z)], dim=1)         # (N, latent_dim + classes)
        return self.net(z)                                                   # (N, data_dim)


class MLPDiscriminator(nn.Module):
    """D(x [, y]) as a logit: `layers` hidden layers of `hidden` LeakyReLU(0.2) units, one output per example.

    `minibatch_std=True` (a remedy for mode collapse; Karras et al., 2018, after Salimans et al.'s minibatch
    discrimination) appends one feature to every example before the output layer: the mean over features of
    the batch's standard deviation of the last hidden layer. A collapsed generator's batch has a small one,
    which D can see and punish. A conditional D (`classes` > 0) reads [x, one_hot(y)]."""

    def __init__(self, data_dim: int, hidden: int = 64, layers: int = 2, minibatch_std: bool = False,
                 classes: int = 0):
        super().__init__()
        self.data_dim, self.minibatch_std, self.classes = data_dim, minibatch_std, classes
        sizes = [data_dim + classes] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            blocks += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(sizes[-1] + int(minibatch_std), 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _label_needed(labels, self.classes, "MLPDiscriminator")
        if labels is not None:
            x = torch.cat([x, _one_hot(labels, self.classes, x)], dim=1)         # (N, data_dim + classes)
        h = self.body(x)                                                     # (N, hidden)
        if self.minibatch_std:
            s = h.std(0, unbiased=False).mean()                               # one number for the batch
            h = torch.cat([h, s.expand(h.shape[0], 1)], dim=1)               # (N, hidden + 1)
        return self.head(h).squeeze(1)                                       # (N,)


class DCGenerator(nn.Module):
    """DCGAN's generator for (C, H, W) images with H, W divisible by 4 (the (1, 8, 8) digits, MNIST's (1, 28, 28)):

        [z, one_hot(y)] → Linear → (2w, H/4, W/4) → BN, ReLU                (the projection of z)
        → ConvT 4×4 stride 2 → (w, H/2, W/2) → BN, ReLU                    (fractionally-strided)
        → ConvT 4×4 stride 2 → (C, H, W) → Tanh                            (in [−1, 1], the data's scale)"""

    def __init__(self, latent_dim: int, shape: tuple[int, int, int], width: int = 32, classes: int = 0):
        super().__init__()
        C, H, W = shape
        if H % 4 or W % 4:
            raise ValueError(f"DCGenerator needs H and W divisible by 4 (two stride-2 steps), got shape {shape}")
        self.latent_dim, self.shape, self.classes, self.width = latent_dim, tuple(shape), classes, width
        self.project = nn.Linear(latent_dim + classes, 2 * width * (H // 4) * (W // 4))
        self.net = nn.Sequential(
            nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, C, 4, stride=2, padding=1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _label_needed(labels, self.classes, "DCGenerator")
        if labels is not None:
            z = torch.cat([z, _one_hot(labels, self.classes, z)], dim=1)         # (N, latent_dim + classes)
        _, H, W = self.shape
        h = self.project(z).view(z.shape[0], 2 * self.width, H // 4, W // 4)   # (N, 2w, H/4, W/4)
        return self.net(h)                                                   # (N, C, H, W)


class DCDiscriminator(nn.Module):
    """DCGAN's discriminator for (C, H, W) images in [−1, 1], H, W divisible by 4, a logit per example:

        [x, one_hot(y) as K constant channels] → Conv 4×4 stride 2 → (w, H/2, W/2) → LeakyReLU(0.2)
        → Conv 4×4 stride 2 → (2w, H/4, W/4) → BN, LeakyReLU(0.2)
        → Conv (H/4 × W/4) → (1, 1, 1)                                     (no fully connected hidden layer)

    DCGAN puts no batch norm on D's input layer. `batch_norm=False` drops it everywhere: a Wasserstein critic
    with a gradient penalty must, since the penalty is per example and batch norm makes each example's score
    depend on the rest of the batch (Gulrajani et al., 2017, section 4)."""

    def __init__(self, shape: tuple[int, int, int], width: int = 32, classes: int = 0, batch_norm: bool = True):
        super().__init__()
        C, H, W = shape
        if H % 4 or W % 4:
            raise ValueError(f"DCDiscriminator needs H and W divisible by 4 (two stride-2 steps), got shape {shape}")
        self.shape, self.classes = tuple(shape), classes
        self.net = nn.Sequential(
            nn.Conv2d(C + classes, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
            nn.BatchNorm2d(2 * width) if batch_norm else nn.Identity(), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 1, (H // 4, W // 4)),
        )

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _label_needed(labels, self.classes, "DCDiscriminator")
        if labels is not None:
            label_maps = _one_hot(labels, self.classes, x)[:, :, None, None].expand(-1, -1, *self.shape[1:])
            x = torch.cat([x, label_maps], dim=1)                             # (N, C + classes, H, W)
        return self.net(x).flatten()                                         # (N, 1, 1, 1) → (N,)


# --- the GAN -----------------------------------------------------------------------------------------

@dataclass
class GANConfig:
    """Everything that defines a GAN and how it trains (the trainer's `lr` is used where `lr_g`/`lr_d` are None).

    `shape`: one example's shape, (1,) for 1-D, (2,) for 2-D, (C, H, W) for images; `levels`: K for
    integer-level images (mapped to [−1, 1] inside), None for real-valued data; `architecture`: "mlp",
    "dcgan" or "auto" (DCGAN for (C, H, W) shapes, MLPs otherwise); `latent_dim`; `hidden`, `layers` (the
    MLPs); `width` (DCGAN's base channels); `loss`: one of GAN_LOSSES; `k`: discriminator steps per
    generator step; `lr_g`, `lr_d`, `betas`: the two Adams; `gp_weight`: λ of the gradient penalty (None:
    10 for "wasserstein", else 0); `unroll`: discriminator steps the generator looks ahead (0: off), each an
    SGD step of size `unroll_lr`; `minibatch_std`: the MLP discriminator's batch-diversity feature;
    `classes`: K > 0 for a class-conditional GAN."""

    shape: tuple[int, ...] = (2,)
    levels: int | None = None
    architecture: str = "auto"
    latent_dim: int = 2
    hidden: int = 64
    layers: int = 2
    width: int = 32
    loss: str = "non_saturating"
    k: int = 1
    lr_g: float | None = None
    lr_d: float | None = None
    betas: tuple[float, float] = (0.5, 0.999)
    gp_weight: float | None = None
    unroll: int = 0
    unroll_lr: float = 0.05
    minibatch_std: bool = False
    classes: int = 0

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        self.betas = tuple(float(b) for b in self.betas)
        if len(self.shape) not in (1, 3) or min(self.shape) < 1:
            raise ValueError(f"shape must be (D,) for points or (C, H, W) for images, got {self.shape}")
        if self.levels is not None and (not isinstance(self.levels, int) or isinstance(self.levels, bool)
                                        or self.levels < 2):
            raise ValueError(f"levels must be None (real-valued data) or an int >= 2 (the grey levels K), "
                             f"got {self.levels!r}")
        if self.architecture not in ("auto", "mlp", "dcgan"):
            raise ValueError(f"architecture must be 'auto', 'mlp' or 'dcgan', got {self.architecture!r}")
        if self.net == "dcgan" and len(self.shape) != 3:
            raise ValueError(f"architecture 'dcgan' needs an image shape (C, H, W), got {self.shape}")
        if self.loss not in GAN_LOSSES:
            raise ValueError(f"loss must be one of {GAN_LOSSES}, got {self.loss!r}")
        for name in ("latent_dim", "hidden", "layers", "width", "k"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}"
                                 + (" (discriminator steps per generator step)" if name == "k" else ""))
        if not isinstance(self.unroll, int) or isinstance(self.unroll, bool) or self.unroll < 0:
            raise ValueError(f"unroll must be an int >= 0 (discriminator steps the generator looks ahead), "
                             f"got {self.unroll!r}")
        if self.unroll and self.net == "dcgan" and self.batch_norm:
            raise ValueError("unroll needs a discriminator without batch norm (its functional copy would update "
                             "the running statistics): use loss='wasserstein' or architecture='mlp'")
        if self.gp_weight is not None and not self.gp_weight >= 0:
            raise ValueError(f"gp_weight must be None or >= 0, got {self.gp_weight!r}")
        for name in ("lr_g", "lr_d"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be None (the trainer's lr) or > 0, got {value!r}")
        if not isinstance(self.classes, int) or self.classes < 0 or self.classes == 1:
            raise ValueError(f"classes must be 0 (unconditional) or >= 2 (class-conditional), got {self.classes!r}")

    @property
    def net(self) -> str:
        """"mlp" or "dcgan": the architecture, with "auto" resolved by the shape."""
        if self.architecture != "auto":
            return self.architecture
        return "dcgan" if len(self.shape) == 3 and self.shape[1] % 4 == 0 and self.shape[2] % 4 == 0 else "mlp"

    @property
    def batch_norm(self) -> bool:
        """Whether DCGAN's discriminator uses batch norm: not for a Wasserstein critic (per-example penalty)."""
        return self.loss != "wasserstein"

    @property
    def penalty(self) -> float:
        """λ: `gp_weight`, or 10 for "wasserstein" and 0 otherwise when it is None."""
        if self.gp_weight is not None:
            return float(self.gp_weight)
        return 10.0 if self.loss == "wasserstein" else 0.0

    @property
    def dims(self) -> int:
        return math.prod(self.shape)


class GAN(GenerativeModel):
    """A GAN (module docstring). `GAN(config)` or `GAN(**fields of GANConfig)`. Batches `(x,)` or `(x, y)` in
    the data's convention (int64 levels, or integer-valued floats, for images; floats for points)."""

    likelihood = "none"
    can_sample = True

    def __init__(self, config: GANConfig | None = None, **fields):
        super().__init__()
        self.config = c = config_from(config, fields, GANConfig)
        if c.net == "dcgan":
            self.generator = DCGenerator(c.latent_dim, c.shape, c.width, c.classes)
            self.discriminator = DCDiscriminator(c.shape, c.width, c.classes, batch_norm=c.batch_norm)
        else:
            self.generator = MLPGenerator(c.latent_dim, c.dims, c.hidden, c.layers, c.classes)
            self.discriminator = MLPDiscriminator(c.dims, c.hidden, c.layers, c.minibatch_std, c.classes)

    @property
    def data_shape(self) -> tuple[int, ...]:
        return tuple(self.config.shape)

    @property
    def data_levels(self) -> int | None:
        return self.config.levels

    @property
    def dtype(self) -> torch.dtype:
        return self.generator.net[-1].weight.dtype if self.config.net == "mlp" else self.generator.project.weight.dtype

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())

    # -- the data's convention and the networks' ---------------------------------------------------

    def to_network(self, x: torch.Tensor) -> torch.Tensor:
        """Data → the networks' scale: levels x ↦ x / (K − 1)·2 − 1 ∈ [−1, 1]; real values unchanged.
        The shape and the levels are checked (errors name both shapes)."""
        c = self.config
        check_images(x, c.shape, levels=c.levels)
        x = x.to(self.dtype)
        return x / (c.levels - 1) * 2 - 1 if c.levels is not None else x

    def from_network(self, out: torch.Tensor) -> torch.Tensor:
        """The networks' scale → the data's convention: int64 levels round((out + 1)/2·(K − 1)), clamped;
        real values unchanged."""
        c = self.config
        if c.levels is None:
            return out
        return ((out + 1) / 2 * (c.levels - 1)).round().clamp(0, c.levels - 1).long()

    def _labels(self, labels, n: int, device) -> torch.Tensor | None:
        return check_labels(labels, n, device, classes=self.config.classes, model="GAN", field="classes",
                            conditioned="this is a class-conditional GAN")

    def _batch(self, batch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(x on the networks' scale, labels or None): an unconditional GAN ignores the labels of (x, y)."""
        x = batch_images(batch)
        y = batch[1] if self.config.classes and isinstance(batch, (tuple, list)) and len(batch) >= 2 else None
        return self.to_network(x), self._labels(y, x.shape[0], x.device)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ N(0, I), (n, latent_dim), in the model's dtype on its device."""
        return randn((n, self.config.latent_dim), device=self.device, dtype=self.dtype, generator=generator)

    def _fake(self, n: int, labels: torch.Tensor | None) -> torch.Tensor:
        """G(z) for fresh z, (n, *shape) on the networks' scale."""
        return self.generator(self.noise(n), labels).view(n, *self.config.shape)   # (n, *shape)

    def _d(self, x_net: torch.Tensor, labels: torch.Tensor | None, params: dict | None = None) -> torch.Tensor:
        """D's raw output (N,) on data on the networks' scale (with `params`: a functional copy of D)."""
        x_in = x_net.flatten(1) if self.config.net == "mlp" else x_net              # (N, D) for the MLP
        if params is None:
            return self.discriminator(x_in, labels)
        return functional_call(self.discriminator, params, (x_in, labels))

    # -- the public maps ---------------------------------------------------------------------------------

    def generate(self, z: torch.Tensor, labels=None) -> torch.Tensor:
        """G(z): the raw continuous output (N, *shape) on the networks' scale ([−1, 1] for images: Tanh),
        with gradients (for interpolation figures and inversion). `labels` for a conditional GAN."""
        check_shape(z, (None, self.config.latent_dim), "z")
        labels = self._labels(labels, z.shape[0], z.device)
        return self.generator(z.to(self.dtype), labels).view(z.shape[0], *self.config.shape)   # (N, *shape)

    def discriminate(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        """D's logits (N,) (a critic's scores for "wasserstein") on data in the data's convention."""
        return self._d(self.to_network(x), self._labels(labels, x.shape[0], x.device))

    @torch.no_grad()
    def sample(self, n: int, labels=None, z: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples G(z), z ~ N(0, I) (or the given z, (n, latent_dim)), in the data's convention: int64
        levels (rounded) for images, floats for points. A conditional GAN takes `labels` (an int or (n,));
        None gives every class in turn, 0, 1, …, K−1, 0, …"""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if z is None:
            z = self.noise(n, generator)
        check_shape(z, (n, self.config.latent_dim), "z")
        if self.config.classes and labels is None:
            labels = torch.arange(n, device=self.device) % self.config.classes
        return self.from_network(self.generate(z.to(self.device), labels))

    # -- the objectives --------------------------------------------------------------------------------

    def discriminator_objective(self, real: torch.Tensor, fake: torch.Tensor,
                                labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(D's loss + λ·GP, GP or None) on a real and a fake batch on the networks' scale (D's loss sees the fake
        detached; the penalty's x̂ = ε x + (1 − ε) x̃ keeps the fake's graph, if any: see `gradient_penalty`)."""
        c = self.config
        d_loss = discriminator_loss(self._d(real, labels), self._d(fake.detach(), labels), c.loss)
        if not c.penalty:
            return d_loss, None
        gp = gradient_penalty(lambda x, y=None: self._d(x, y), real, fake, labels=labels)
        return d_loss + c.penalty * gp, gp

    def generator_objective(self, fake: torch.Tensor, labels: torch.Tensor | None, real: torch.Tensor | None = None,
                            unroll: int | None = None) -> torch.Tensor:
        """G's loss on a fake batch G(z) (with its graph). With `unroll` = u > 0 (default: the config's) it is
        taken against D after u SGD steps θ_D ← θ_D − η ∇ L_D(θ_D) on (real, fake) (η = `unroll_lr`; L_D
        without the gradient penalty), made with create_graph on a functional copy of D's weights, so the
        generator's gradient flows through D's look-ahead (Metz et al., 2017); D itself is unchanged."""
        c = self.config
        unroll = c.unroll if unroll is None else unroll
        if not unroll:
            return generator_loss(self._d(fake, labels), c.loss)
        if real is None:
            raise ValueError("an unrolled generator loss needs the real batch D is unrolled on")
        params = dict(self.discriminator.named_parameters())
        for _ in range(unroll):
            d_loss = discriminator_loss(self._d(real, labels, params), self._d(fake, labels, params), c.loss)
            grads = torch.autograd.grad(d_loss, list(params.values()), create_graph=True)
            params = {name: p - c.unroll_lr * g for (name, p), g in zip(params.items(), grads)}
        return generator_loss(self._d(fake, labels, params), c.loss)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """{"loss": d_loss + g_loss, "d_loss", "g_loss"}, each evaluated once on the batch and one fresh z
        (for validation and the contract; training uses `training_step`). "gp" too when the penalty is on."""
        real, labels = self._batch(batch)
        fake = self._fake(real.shape[0], labels)
        d_loss, gp = self.discriminator_objective(real, fake, labels)
        g_loss = self.generator_objective(fake, labels, real, unroll=0)
        parts = {"loss": d_loss + g_loss, "d_loss": d_loss, "g_loss": g_loss}
        if gp is not None:
            parts["gp"] = gp
        return parts

    # -- training --------------------------------------------------------------------------------------

    def configure_optimizers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        """{"discriminator": Adam(D), "generator": Adam(G)} at `lr_d`/`lr_g` (the trainer's lr where None)."""
        c = self.config
        return {"discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=c.lr_d or lr, betas=c.betas),
                "generator": torch.optim.Adam(self.generator.parameters(), lr=c.lr_g or lr, betas=c.betas)}

    def is_generator_step(self, step: int) -> bool:
        """Whether trainer step `step` (0-based) ends with a generator step: after every k-th D step."""
        return (step + 1) % self.config.k == 0

    def training_step(self, batch, optimizers, step: int, ctx) -> dict[str, torch.Tensor]:
        """One discriminator step (this real batch, fresh z); after every k-th, one generator step (fresh z).
        Reports "d_loss" every step, "g_loss" and "loss" (= d_loss + g_loss) on generator steps, "gp" when on."""
        opt_d, opt_g = optimizers["discriminator"], optimizers["generator"]
        real, labels = self._batch(batch)
        n = real.shape[0]
        with torch.no_grad():
            fake = self._fake(n, labels)
        d_loss, gp = self.discriminator_objective(real, fake, labels)
        ctx.zero_grad(opt_d)
        ctx.backward(d_loss, opt_d, name="d_loss")
        ctx.step(opt_d)
        parts = {"d_loss": d_loss.detach()}
        if gp is not None:
            parts["gp"] = gp.detach()
        if self.is_generator_step(step):
            g_loss = self.generator_objective(self._fake(n, labels), labels, real)
            ctx.zero_grad(opt_g)
            ctx.backward(g_loss, opt_g, name="g_loss")
            ctx.step(opt_g)
            parts["g_loss"] = g_loss.detach()
            parts["loss"] = parts["d_loss"] + parts["g_loss"]
        return parts


# --- inversion ----------------------------------------------------------------------------------------

def invert(model: GAN, x: torch.Tensor, *, steps: int = 300, lr: float = 0.05, restarts: int = 1, labels=None,
           generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """GAN inversion: z* = argmin_z ‖G(z) − x‖² by Adam from `restarts` random starts z ~ N(0, I), the best
    per example kept. Returns (z (N, latent_dim), G(z) in the data's convention, the per-example squared error
    (N,) on the networks' scale, summed over the dimensions). The model's weights are not changed."""
    if not isinstance(steps, int) or steps < 1 or not isinstance(restarts, int) or restarts < 1:
        raise ValueError(f"steps and restarts must be positive ints, got steps={steps!r}, restarts={restarts!r}")
    target = model.to_network(x).detach()
    n = target.shape[0]
    labels = model._labels(labels, n, target.device)
    was_training = model.training
    model.eval()
    best_z, best_err = None, None
    try:
        for _ in range(restarts):
            z = model.noise(n, generator).requires_grad_(True)
            opt = torch.optim.Adam([z], lr=lr)
            for _ in range(steps):
                err = (model.generate(z, labels) - target).flatten(1).pow(2).sum(1)   # ‖G(z) − x‖², (N,)
                (z.grad,) = torch.autograd.grad(err.sum(), z)                         # w.r.t. z alone, not G
                opt.step()
            with torch.no_grad():
                err = (model.generate(z, labels) - target).flatten(1).pow(2).sum(1)
                if best_z is None:
                    best_z, best_err = z.detach().clone(), err
                else:
                    better = err < best_err
                    best_z[better], best_err = z.detach()[better], torch.minimum(err, best_err)
        with torch.no_grad():
            reconstruction = model.from_network(model.generate(best_z, labels))
    finally:
        model.train(was_training)
    return best_z, reconstruction, best_err


# --- the lecture's and the benchmark's settings ----------------------------------------------------------

RING_NETWORK = dict(latent_dim=2, hidden=64, layers=2)
"""The small MLP GAN every ring experiment shares (`coursekit.evaluation.gan_ring.ring_experiment`)."""

RING_DEFAULTS: dict[str, dict] = {
    "vanilla (collapses)": dict(loss="minimax", lr_g=5e-3, lr_d=5e-4, steps=750),
    "non_saturating": dict(loss="non_saturating", lr=5e-3, steps=750),
    "least_squares": dict(loss="least_squares", lr=5e-3, steps=750),
    "wasserstein": dict(loss="wasserstein", k=2, lr=2e-3, betas=(0.5, 0.9), gp_weight=0.1, batch_size=256,
                        steps=3500),
    "unrolled": dict(loss="minimax", lr_g=5e-3, lr_d=5e-4, unroll=3, unroll_lr=0.05, steps=750),
}
"""The ring experiments of lecture 07 and the benchmark: `ring_experiment(**RING_DEFAULTS[name], seed=s)`
(`coursekit.evaluation.gan_ring`), all on RING_NETWORK, 10 000 ring points, batches of 128 unless set.
Measured through `ring_experiment` at seeds 0, 1, 2 (modes hit of 8; share of 2 000 samples within 3σ of a
mode; `benchmarks/gan_quality.py` reruns them):

- "vanilla (collapses)", the pinned collapse: the saturating minimax GAN with a discriminator ten times
  slower than its generator (lr_d = 5e-4, lr_g = 5e-3), 750 steps: 1, 2, 0 modes (9.1%, 11.2%, 0.0% near a
  mode: all the samples lie in one streak on one side of the ring, per-axis spread 0.3-1.4 against the ring's
  radius 2, passing by one or two modes or none). With 2 000 steps: 1, 3, 0 modes (99.9%, 24.8%, 0.1%);
  1 000: 1, 0, 1 (25.7%, 0.0%, 5.7%). The non-saturating loss with the same rates collapses as well (2 000 steps: 2, 1, 1 modes; 27.5%, 14.2%, 27.0%): the loss alone does not cure it.
- "non_saturating", "least_squares": both networks at 5e-3, 750 steps: 8, 8, 8 modes (67.4%, 74.6%, 86.2%)
  and 8, 8, 7 modes (60.5%, 80.3%, 53.1%). With 1 000 steps 8, 8, 8 (72.3%, 75.1%, 91.0%) and 8, 8, 8
  (70.9%, 87.1%, 82.3%); with 2 000, 8, 8, 8 (92.7%, 91.5%, 92.0%) and 7, 8, 8 (79.0%, 91.4%, 90.9%).
- "wasserstein": WGAN-GP, k = 2 critic steps per generator step (1 750 generator steps), Adam (0.5, 0.9) at
  2e-3, batches of 256, λ = 0.1, 3 500 steps: 8, 8, 8 modes (86.7%, 88.2%, 81.5%); at the benchmark's
  7 000: 8, 8, 8 (94.5%, 87.6%, 89.1%, 23 s each). Batches of 512 gave 8, 8,
  8 (85.4%, 86.9%, 87.7%) at 1.4 times the time; fewer steps fell below 80%: 3 000 steps at 256 gave 74.0%,
  79.8%, 83.6%, 3 500 at 128 gave 85.1%, 81.2%, 75.4%, and at 512, 2 500 steps 77.4% (seed 0), 2 000 steps
  at lr 3e-3 74.4%, 77.7%, 74.4% (a cosine decay of the rate did not help: 68.6% at seed 0); k = 1
  collapsed (1 mode at seed 0). With the images' λ = 10 (and k = 5, lr 1e-3, batches of 128 or 256) the
  critic and the generator oscillate on this ring (in 1-D the samples' mean swings far past the data and
  back) and covered 0-3 modes in 5 000 steps.
- "unrolled": the pinned collapse with the generator looking 3 discriminator SGD steps (η = 0.05) ahead
  (Metz et al., 2017), the same 750 steps: 8, 8, 8 modes (72.4%, 66.1%, 66.8%) where the same GAN without
  them collapses (1 500 steps: 8, 8, 8 with 88.2%, 83.6%, 85.9%; 500: 8, 8, 8 with 58.1%, 55.4%, 50.0%). The
  minibatch-standard-deviation feature instead (`minibatch_std=True` on the pinned collapse, 2 000 steps)
  covered 0, 0, 8 modes (0%, 0.4%, 70.1%): no reliable cure at these rates.

Time: all five at seed 0 took 23.7 s of one CPU thread, one after another in a fresh process, on a shared
2-core machine under a load of about 1.4 (2.0-3.2 s for each of the three plain losses, the first with
torch's one-off optimiser import; 10.0 s "wasserstein", 5.6 s "unrolled"); the earlier defaults (2 000
steps, batches of 512 for WGAN-GP, 1 500 unrolled) took 42.6 s there. Per trainer step: about 3 ms for the
plain losses at batches of 128 (the trainer's own bookkeeping and Adam, not the data: 10 000 points indexed
in one go), 3.3 ms for WGAN-GP at 256 (4.7 ms at 512: the penalty's double backward), 7.9 ms unrolled.
"""

DIGITS_TRAINING = dict(steps=750, lr=2e-4, batch_size=64)
"""How `dcgan_digits` models are trained: `train(model, data.loaders(splits, batch_size=64, seed=s)["train"],
steps=750, lr=2e-4, seed=s)` (or `train_cached` with the same options: the model's own `training_step` and
`configure_optimizers`). `benchmarks/gan_quality.py` (seeds 0, 1, 2, one CPU thread of a shared machine,
11-14 s each) measured Fréchet distances of 16.59, 18.69 and 27.22 at n = 400 against the test digits
(20.83 ± 5.63; real-vs-real 7.1, independent-pixel floor 112.4, noise 179.6): a spread of about ten units
between seeds. The conditional DCGAN: 90.4%, 89.2% and 91.7% of 1 000 samples (100 per class) labelled as
the requested digit by the evaluation classifier (90.4% ± 1.3), Fréchet distances 19.26, 15.96 and 16.14
(17.12 ± 1.85). With 1 000 steps (19 s) seed 0 gave 16.3 and, conditional, 13.6 with 92.3% (an earlier
measurement)."""


def dcgan_digits(*, conditional: bool = False, **overrides) -> GANConfig:
    """The DCGAN for the (1, 8, 8) digits with 17 levels (with `conditional`, on the 10 classes: one-hot label
    concatenated to z in G and as 10 constant channels in D): z of 32 dimensions, base width 32 (G: 64×2×2 →
    32×4×4 → 1×8×8; D the reverse), the non-saturating loss, both Adams (0.5, 0.999), trained with
    `DIGITS_TRAINING`; `overrides` replace any field of GANConfig (e.g. `loss="wasserstein"`, whose critic
    then has no batch norm)."""
    config = GANConfig(shape=(1, 8, 8), levels=17, architecture="dcgan", latent_dim=32, width=32,
                       loss="non_saturating", classes=10 if conditional else 0)
    return replace(config, **overrides)
