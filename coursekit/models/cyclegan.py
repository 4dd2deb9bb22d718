"""CycleGAN (Zhu et al., 2017) on a toy pair of 2-D domains: unpaired translation kept honest by cycle consistency.

Two domains and no pairs: X, the ring of eight Gaussians (`data.toy2d.EightGaussians`), and Y, the same
ring rotated by `rotation` degrees (22.5° by default: Y's modes sit halfway between X's) and scaled by
`scale`. Two translators, in seed 000's names,

    F: X → Y,   G: Y → X                                                    (small MLPs, `gan.MLPGenerator`)

and two discriminators, D_Y (is y from Y, or an F(x)?) and D_X (is x from X, or a G(y)?)
(`gan.MLPDiscriminator`). The adversarial losses alone ask only that F(X) look like Y and G(Y) like X:
any of the ring's rotations by 22.5° + k·45°, or a reflection, or a map that sends several modes of X
to one mode of Y, satisfies them, and nothing ties G to F. The cycle-consistency loss does
(F ∘ G ≈ id, G ∘ F ≈ id):

    L_cyc = E_x ‖G(F(x)) − x‖₁ + E_y ‖F(G(y)) − y‖₁                   (`cycle_loss`, the L1 norm per point)
    L_G   = ½ E_x (l_Y(F(x)) − 1)² + ½ E_y (l_X(G(y)) − 1)² + λ L_cyc  (least squares, as CycleGAN; λ = `cycle_weight`)
    L_D   = ½ E_y (l_Y(y) − 1)² + ½ E_x l_Y(F(x))² + (the same for D_X) (`gan.discriminator_loss`)

with l the discriminators' raw outputs. `cycle_weight=0` trains the two GANs alone: the lecture's
comparison. The cycle term does not choose among the maps that match the domains; it makes G undo F
(measured with `CYCLE_TRAINING`: F reflected the ring at seeds 0 and 1 and rotated it by 22.5° at seed 2,
and G inverted it each time). Training is unpaired: every batch is (x, y) with x from X and y from Y
drawn independently (`unpaired_dataset`); one discriminator step then one translator step per trainer
step (`training_step`, with the trainer's `ctx`).

The contract (base.py): likelihood "none"; `data_shape` (2,), `data_levels` None; `sample(n)` draws n
fresh points of X and returns F(x), points of (the model's idea of) Y. A batch that is x alone, `(x,)`, or
`(x, labels)` with integer labels (the contract's batches, whose labels an unconditional model ignores)
gets its y drawn from Y here.

    model = CycleGAN2D()                                   # λ = 5; CycleGAN2D(cycle_weight=0) without the cycle
    train(model, unpaired_loader(model.config), steps=500, lr=1e-3)       # CYCLE_TRAINING
    run = model.translations(1000)                         # {"x", "translated" F(x), "reconstructed" G(F(x))}
    model.cycle_error(run["x"]).mean()                     # mean ‖G(F(x)) − x‖₁
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from ..data.toy2d import EightGaussians, GaussianMixture2D
from ..utils import check_shape, seeded_generator
from .base import GenerativeModel, config_from
from .gan import MLPDiscriminator, MLPGenerator, discriminator_loss, generator_loss

__all__ = ["CycleGAN2DConfig", "CycleGAN2D", "domain_pair", "unpaired_dataset", "unpaired_loader", "CYCLE_LOSSES",
           "CYCLE_TRAINING"]

CYCLE_LOSSES = ("least_squares", "non_saturating")
"""The adversarial losses a CycleGAN2D takes (`gan.GAN_LOSSES`' names); CycleGAN uses least squares."""

CYCLE_TRAINING = dict(points=4096, batch_size=128, steps=500, lr=1e-3)
"""How the lecture and `benchmarks/gan_quality.py` train a CycleGAN2D: `points` per domain (`unpaired_loader`),
batches of `batch_size`, `steps` trainer steps at `lr` (about 4 s of CPU). Measured by `benchmarks/gan_quality.py
--parts cycle` at these settings, seeds 0, 1, 2: mean ‖G(F(x)) − x‖₁ 0.078, 0.065, 0.066 with λ = 5 against
3.42, 3.49, 4.82 with λ = 0; F(X) hits all 8 modes of Y either way; G(F(x)) lands on x's own mode for 100% of
points with the cycle term and 27%, 0%, 0% without."""


def domain_pair(rotation: float = 22.5, scale: float = 1.0, radius: float = 2.0,
                std: float = 0.1) -> tuple[EightGaussians, GaussianMixture2D]:
    """(X, Y): X the ring of eight Gaussians N(μ_k, σ²I), μ_k = r (cos 2πk/8, sin 2πk/8); Y the same ring
    rotated by `rotation` degrees and scaled by `scale` (its modes s·R(θ)μ_k, its σ scaled too). Like every toy
    density they keep their parameters on the CPU and draw on the device asked, so they are built there even
    under `with torch.device("meta")` (a model built on meta still has domains to sample)."""
    with torch.device("cpu"):
        domain_x = EightGaussians(radius=radius, std=std)
        theta = math.radians(rotation)
        rotate = torch.tensor([[math.cos(theta), -math.sin(theta)],
                               [math.sin(theta), math.cos(theta)]], dtype=torch.float64)
        modes_y = scale * domain_x.modes @ rotate.T                        # (8, 2): s·R(θ)μ_k
        return domain_x, GaussianMixture2D(means=modes_y, stds=scale * std)


@dataclass
class CycleGAN2DConfig:
    """Everything that defines a CycleGAN2D and how it trains (the trainer's lr is used where `lr_g`/`lr_d` are
    None). The domains: `rotation` (degrees) and `scale` of Y against X, the ring's `radius` and `std`; the
    networks: `hidden` units in `layers` hidden layers, for all four; `loss` one of CYCLE_LOSSES;
    `cycle_weight` λ (0: no cycle term); `betas` of both Adams."""

    rotation: float = 22.5
    scale: float = 1.0
    radius: float = 2.0
    std: float = 0.1
    hidden: int = 64
    layers: int = 2
    loss: str = "least_squares"
    cycle_weight: float = 5.0
    lr_g: float | None = None
    lr_d: float | None = None
    betas: tuple[float, float] = (0.5, 0.999)

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)
        for name in ("hidden", "layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("scale", "radius", "std"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if isinstance(self.rotation, bool) or not isinstance(self.rotation, (int, float)) \
                or not math.isfinite(self.rotation):
            raise ValueError(f"rotation must be a finite number of degrees, got {self.rotation!r}")
        if self.loss not in CYCLE_LOSSES:
            raise ValueError(f"loss must be one of {CYCLE_LOSSES}, got {self.loss!r}")
        if isinstance(self.cycle_weight, bool) or not isinstance(self.cycle_weight, (int, float)) \
                or not self.cycle_weight >= 0:
            raise ValueError(f"cycle_weight (λ) must be a number >= 0, got {self.cycle_weight!r}")

    def domains(self) -> tuple[EightGaussians, GaussianMixture2D]:
        """(X, Y) of this configuration (`domain_pair`)."""
        return domain_pair(self.rotation, self.scale, self.radius, self.std)


def unpaired_dataset(config: CycleGAN2DConfig, n: int, seed: int = 0) -> TensorDataset:
    """n unpaired training pairs (x, y), float32 (n, 2) each: x from X and y from Y, drawn independently with
    two generators seeded from `seed` (NumPy's SeedSequence, as `toy2d.toy_splits`). Batches are (x, y)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the number of points per domain) must be a positive int, got {n!r}")
    domain_x, domain_y = config.domains()
    seeds = [int(child.generate_state(1, np.uint64)[0] >> 1) for child in np.random.SeedSequence(seed).spawn(2)]
    return TensorDataset(domain_x.sample(n, generator=seeded_generator(seeds[0])),
                         domain_y.sample(n, generator=seeded_generator(seeds[1])))


def unpaired_loader(config: CycleGAN2DConfig, n: int = CYCLE_TRAINING["points"],
                    batch_size: int = CYCLE_TRAINING["batch_size"], seed: int = 0) -> DataLoader:
    """Shuffled batches (x, y) of `unpaired_dataset(config, n, seed)`, `batch_size` each (the last partial
    batch dropped), shuffled by a generator seeded with `seed`."""
    return DataLoader(unpaired_dataset(config, n, seed), batch_size=batch_size, shuffle=True, drop_last=True,
                      generator=seeded_generator(seed))


class CycleGAN2D(GenerativeModel):
    """A CycleGAN between the ring X and its rotated copy Y (module docstring). `CycleGAN2D(config)` or
    `CycleGAN2D(**fields of CycleGAN2DConfig)`. F: X → Y and G: Y → X are `self.F` and `self.G`; the
    discriminators `self.D_Y` (of Y) and `self.D_X` (of X)."""

    likelihood = "none"
    data_shape = (2,)
    data_levels = None

    def __init__(self, config: CycleGAN2DConfig | None = None, **fields):
        super().__init__()
        self.config = c = config_from(config, fields, CycleGAN2DConfig)
        self.domain_x, self.domain_y = c.domains()
        self.F = MLPGenerator(2, 2, hidden=c.hidden, layers=c.layers)          # F: X → Y
        self.G = MLPGenerator(2, 2, hidden=c.hidden, layers=c.layers)          # G: Y → X
        self.D_Y = MLPDiscriminator(2, hidden=c.hidden, layers=c.layers)       # real y vs F(x)
        self.D_X = MLPDiscriminator(2, hidden=c.hidden, layers=c.layers)       # real x vs G(y)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())

    @property
    def dtype(self) -> torch.dtype:
        return next(self.F.parameters()).dtype

    # -- the batch ---------------------------------------------------------------------------------------

    def _batch(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y), both (N, 2) in the model's dtype: y from the batch when it holds points of Y, else drawn."""
        if isinstance(batch, torch.Tensor):
            x, y = batch, None
        elif isinstance(batch, (tuple, list)) and 1 <= len(batch) <= 2 and isinstance(batch[0], torch.Tensor):
            x, y = batch[0], (batch[1] if len(batch) == 2 else None)
        else:
            raise TypeError(f"a batch must be x, (x,) or (x, y) with points x of X and y of Y, got "
                            f"{type(batch).__name__}")
        check_shape(x, (None, 2), "x (points of domain X)")
        x = x.to(self.dtype)
        if isinstance(y, torch.Tensor) and not y.is_floating_point() and y.dim() == 1:
            y = None                                          # class labels (the contract's batches): ignored
        if y is None:
            return x, self.domain_y.sample(x.shape[0], device=x.device, dtype=x.dtype)
        check_shape(y, (None, 2), "y (points of domain Y)")
        return x, y.to(self.dtype)

    # -- the losses ----------------------------------------------------------------------------------------

    def cycle_error(self, x: torch.Tensor | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        """The per-point cycle error: ‖G(F(x)) − x‖₁ for points x of X, or ‖F(G(y)) − y‖₁ for points y of Y
        (give exactly one), (N,)."""
        if (x is None) == (y is None):
            raise ValueError("give exactly one of x (points of X: ‖G(F(x)) − x‖₁) or y (points of Y: ‖F(G(y)) − y‖₁)")
        if x is not None:
            check_shape(x, (None, 2), "x")
            x = x.to(self.dtype)
            return (self.G(self.F(x)) - x).abs().sum(1)                    # ‖G(F(x)) − x‖₁, (N,)
        check_shape(y, (None, 2), "y")
        y = y.to(self.dtype)
        return (self.F(self.G(y)) - y).abs().sum(1)                        # ‖F(G(y)) − y‖₁, (N,)

    def cycle_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """L_cyc = E_x ‖G(F(x)) − x‖₁ + E_y ‖F(G(y)) − y‖₁ (unweighted; the objective multiplies it by λ)."""
        return self.cycle_error(x=x).mean() + self.cycle_error(y=y).mean()

    def discriminator_objective(self, x: torch.Tensor, y: torch.Tensor, fake_y: torch.Tensor,
                                fake_x: torch.Tensor) -> torch.Tensor:
        """L_D: D_Y tells y from F(x) and D_X tells x from G(y), each by `gan.discriminator_loss`."""
        kind = self.config.loss
        return (discriminator_loss(self.D_Y(y), self.D_Y(fake_y), kind)
                + discriminator_loss(self.D_X(x), self.D_X(fake_x), kind))

    def generator_objective(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"g_loss": L_G = adversarial + λ·L_cyc, "adversarial", "cycle": L_cyc} for F and G."""
        kind = self.config.loss
        adversarial = generator_loss(self.D_Y(self.F(x)), kind) + generator_loss(self.D_X(self.G(y)), kind)
        cycle = self.cycle_loss(x, y)
        return {"g_loss": adversarial + self.config.cycle_weight * cycle, "adversarial": adversarial, "cycle": cycle}

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """{"loss": d_loss + g_loss, "d_loss", "g_loss", "adversarial", "cycle"} on one batch, all four networks in
        one graph (for validation and the contract; training uses `training_step`)."""
        x, y = self._batch(batch)
        d_loss = self.discriminator_objective(x, y, self.F(x), self.G(y))
        parts = self.generator_objective(x, y)
        return {"loss": d_loss + parts["g_loss"], "d_loss": d_loss, **parts}

    # -- training --------------------------------------------------------------------------------------------

    def configure_optimizers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        """{"discriminator": Adam(D_X, D_Y), "generator": Adam(F, G)} at `lr_d`/`lr_g` (the trainer's lr where None)."""
        c = self.config
        discriminators = [*self.D_X.parameters(), *self.D_Y.parameters()]
        translators = [*self.F.parameters(), *self.G.parameters()]
        return {"discriminator": torch.optim.Adam(discriminators, lr=c.lr_d or lr, betas=c.betas),
                "generator": torch.optim.Adam(translators, lr=c.lr_g or lr, betas=c.betas)}

    def training_step(self, batch, optimizers, step: int, ctx) -> dict[str, torch.Tensor]:
        """One step of both discriminators (fakes F(x), G(y) held fixed), then one of both translators."""
        opt_d, opt_g = optimizers["discriminator"], optimizers["generator"]
        x, y = self._batch(batch)
        with torch.no_grad():
            fake_y, fake_x = self.F(x), self.G(y)
        d_loss = self.discriminator_objective(x, y, fake_y, fake_x)
        ctx.zero_grad(opt_d)
        ctx.backward(d_loss, opt_d, name="d_loss")
        ctx.step(opt_d)
        parts = self.generator_objective(x, y)
        ctx.zero_grad(opt_g)
        ctx.backward(parts["g_loss"], opt_g, name="g_loss")
        ctx.step(opt_g)
        parts = {k: v.detach() for k, v in parts.items()}
        return {"loss": d_loss.detach() + parts["g_loss"], "d_loss": d_loss.detach(), **parts}

    # -- samples and translations ----------------------------------------------------------------------------

    @torch.no_grad()
    def translations(self, n: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """n fresh points x of X and their round trip: {"x", "translated": F(x), "reconstructed": G(F(x))},
        each (n, 2) (what `viz.gan.cycle_arrows_figure` draws)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        x = self.domain_x.sample(n, generator=generator, device=self.device, dtype=self.dtype)
        translated = self.F(x)
        return {"x": x, "translated": translated, "reconstructed": self.G(translated)}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """F(x) for n fresh points x of X: (n, 2) points of the model's Y, in the model's dtype."""
        return self.translations(n, generator)["translated"]
