"""Every model trained in the course, as benchmark entries: one `Entry` per lecture model, in course order.

    from coursekit.evaluation.families import ENTRIES       # importing this module registers them
    fitted = ENTRIES["nade"].fit(data.digits(), 0, torch.device("cpu"), ENTRIES["nade"].settings)
    rows = [evaluate_model(v.model, splits.test, name=v.name) for v in fitted.variants]

Each entry's `settings` are its lecture's parameters-cell defaults (the names in lower case: 04a's
`NADE_HIDDEN = 128` is the NADE's `hidden`), and `fit` trains as the lecture does with them: the same
model, the same `coursekit.training.train` options, the same batch size and the loaders of
`data.loaders(splits, batch_size=..., seed=seed)`, torch seeded with `seed` before the model is built
(the lectures' `torch.manual_seed(SEED)`; 04a, 04b, 04c and 02 build their models after other cells
have drawn from torch's stream, so their printed numbers start from other initial weights: seed 0 here
matches 04a's FVSBN, 04d and 05 to the printed digit, 06 up to its dequantisation noise (one draw here, ten
in the lecture), and the others within a seed's spread). `mnist_settings` are the lecture's
"GPU / MNIST" values where its parameters cell has `DATA = "mnist"`, None where it has none; the
binarised MNIST of 04a/04b (`BINARIZE`) is not taken: every row of the table models the same
integer levels. `tests/test_benchmark_families.py` reads the lectures' parameters cells and fails
when a default changes here or there alone.

Rows that need a wrapper to be evaluated as the lecture reports them:
- the VAE's two bounds (lecture 02): `vae-elbo` is `ELBOBound` over the trained network (−ELBO with
  the lecture's 100 draws of z), `vae-iwae` the network itself (`nll_bound`: −IWAE with k = 1000);
- the DDPM's two samplers (lecture 08): `DiffusionSampler` gives the same network, with the same
  bound, each sampler as its row's samples (the unconditional model, the null label: w = −1); the
  two rows share one computation of the bound (`_BoundCache`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import time
from typing import Any, Callable

import torch

from .. import data
from ..data import Splits
from ..models import FVSBN, GPT, MADE, NADE, VAE, GatedPixelCNN, PixelCNN, WaveNet
from ..models.base import GenerativeModel
from ..models.diffusion import DDPM
from ..models.gan import DIGITS_TRAINING, GAN, dcgan_digits
from ..models.realnvp import RealNVP
from ..models.vq_vae import VQVAE, code_splits
from ..training import train
from .diffusion_digits import (DIGITS_DDPM, DigitsDDPMSettings, digits_ddpm_checkpoint_info, pretrained_digits_ddpm,
                               train_digits_ddpm)
from .likelihood import floor_model
from .registry import ENTRIES, Entry, Fitted, Variant, register

__all__ = ["ENTRIES", "ELBOBound", "DiffusionSampler", "COURSE_ORDER"]

COURSE_ORDER = ("floor", "fvsbn", "nade", "made", "pixelcnn", "gated-pixelcnn", "wavenet", "vq-vae", "gpt", "vae",
                "realnvp", "dcgan", "ddpm")
"""The entries' keys in the order the course meets the models."""

DIGITS_SHAPE, DIGITS_LEVELS = (1, 8, 8), 17


# --- helpers ------------------------------------------------------------------------------------------

def _shape_levels(splits: Splits) -> tuple[tuple[int, ...], int]:
    return tuple(splits.train.x.shape[1:]), splits.train.levels


def _is_digits(splits: Splits) -> bool:
    return _shape_levels(splits) == (DIGITS_SHAPE, DIGITS_LEVELS)


def _sampler(model: GenerativeModel, **options: Any) -> Callable[[int, torch.Generator | None], torch.Tensor]:
    """`model.sample(n, generator=g, **options)` as a Variant's sampler."""
    return lambda n, generator=None: model.sample(n, generator=generator, **options)


def _fit_adam(model_factory: Callable[[], GenerativeModel], splits: Splits, seed: int,
             device: torch.device, *, epochs: int, patience: int, lr: float, batch_size: int,
             weight_decay: float = 0.0) -> tuple[GenerativeModel, float]:
    """The lectures' `fit` (04a-06): Adam with early stopping on the validation loss, best weights kept.
    Returns (the model in eval mode, the seconds of training)."""
    loaders = data.loaders(splits, batch_size=batch_size, seed=seed)
    torch.manual_seed(seed)
    model = model_factory().to(device)
    start = time.perf_counter()
    train(model, loaders["train"], val_data=loaders["val"], epochs=epochs, patience=patience, lr=lr,
          weight_decay=weight_decay, seed=seed, device=device, progress=False)
    seconds = time.perf_counter() - start
    return model.eval(), seconds


def _one(key: str, name: str, model: GenerativeModel, seconds: float) -> Fitted:
    return Fitted([Variant(key, name, model, _sampler(model))], train_seconds=seconds)


# --- wrappers -----------------------------------------------------------------------------------------

class ELBOBound(GenerativeModel):
    """A trained VAE evaluated by its −ELBO (lecture 02's `vae.elbo(x, samples=...)`, the expectation over
    q(z | x) estimated with `samples` draws): an upper bound on −log p(x), looser than the VAE's own IWAE
    `nll_bound`. The same network (its parameters are the VAE's); samples are the VAE's."""

    likelihood = "bound"
    bound = "elbo"

    def __init__(self, vae: VAE, samples: int = 100):
        super().__init__()
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
            raise ValueError(f"samples (draws of z per image for the ELBO) must be a positive int, got {samples!r}")
        self.vae, self.samples = vae, samples

    @property
    def data_shape(self) -> tuple[int, ...]:
        return self.vae.data_shape

    @property
    def data_levels(self) -> int | None:
        return self.vae.data_levels

    def loss(self, batch) -> dict[str, torch.Tensor]:
        return self.vae.loss(batch)

    def nll_bound(self, x: torch.Tensor) -> torch.Tensor:
        """−ELBO(x) in nats, (N,): −(E_q[log p(x | z)] from `samples` draws − KL(q(z | x) ‖ p(z)))."""
        return -self.vae.elbo(x, samples=self.samples)

    def sample(self, n: int, **options) -> torch.Tensor:
        return self.vae.sample(n, **options)


class _BoundCache:
    """One computation of a DDPM's bound for several rows: the result of `model.nll_bound(x)` kept under
    (x's bytes, the random state it was drawn with), so a second row evaluated on the same images with the
    same seed (what `evaluate_model` does) gets the same numbers without the T network passes per image."""

    def __init__(self):
        self.values: dict[str, torch.Tensor] = {}

    @staticmethod
    def _key(x: torch.Tensor) -> str:
        digest = hashlib.sha1()
        digest.update(str((tuple(x.shape), x.dtype, x.device)).encode())
        digest.update(x.detach().cpu().contiguous().numpy().tobytes())
        digest.update(torch.random.get_rng_state().numpy().tobytes())
        if x.device.type == "cuda":
            digest.update(torch.cuda.get_rng_state(x.device).numpy().tobytes())
        return digest.hexdigest()

    def __call__(self, model: DDPM, x: torch.Tensor) -> torch.Tensor:
        key = self._key(x)
        if key not in self.values:
            self.values[key] = model.nll_bound(x)
        return self.values[key].clone()


class DiffusionSampler(GenerativeModel):
    """A trained DDPM with one sampler: its bound (`nll_bound` of the unconditional model, every one of the T + 1
    terms) and `sample(n)` drawn with `options` (method, steps, eta, guidance). Rows of the same DDPM with
    different samplers share `cache`, so the bound is computed once."""

    likelihood = "bound"

    def __init__(self, ddpm: DDPM, cache: _BoundCache | None = None, **options: Any):
        super().__init__()
        self.ddpm, self.options, self.cache = ddpm, dict(options), cache or _BoundCache()

    @property
    def bound(self) -> str:
        return self.ddpm.bound

    @property
    def data_shape(self) -> tuple[int, ...]:
        return self.ddpm.data_shape

    @property
    def data_levels(self) -> int | None:
        return self.ddpm.data_levels

    def loss(self, batch) -> dict[str, torch.Tensor]:
        return self.ddpm.loss(batch)

    def nll_bound(self, x: torch.Tensor) -> torch.Tensor:
        """The DDPM's bound on −log P(x) in nats, (N,) (its unconditional model: the null label)."""
        return self.cache(self.ddpm, x)

    def sample(self, n: int, generator: torch.Generator | None = None, **options: Any) -> torch.Tensor:
        return self.ddpm.sample(n, generator=generator, **{**self.options, **options})


# --- lecture 00: the floor ----------------------------------------------------------------------------

def _fit_floor(splits: Splits, seed: int, device: torch.device, settings: dict) -> Fitted:
    start = time.perf_counter()
    model = floor_model(splits.train, alpha=settings["alpha"]).to(device)
    seconds = time.perf_counter() - start
    return _one("floor", f"floor (independent pixels, α = {settings['alpha']:g})", model.eval(), seconds)


# --- lecture 04a: FVSBN, NADE, MADE ---------------------------------------------------------------------

def _training(settings: dict, lr_key: str = "lr") -> dict:
    return dict(epochs=settings["epochs"], patience=settings["patience"], lr=settings[lr_key],
                batch_size=settings["batch_size"])


def _fit_fvsbn(splits, seed, device, settings) -> Fitted:
    shape, levels = _shape_levels(splits)
    model, seconds = _fit_adam(lambda: FVSBN(shape=shape, levels=levels), splits, seed, device,
                               **_training(settings))
    return _one("fvsbn", "FVSBN", model, seconds)


def _fit_nade(splits, seed, device, settings) -> Fitted:
    shape, levels = _shape_levels(splits)
    model, seconds = _fit_adam(lambda: NADE(shape=shape, levels=levels, hidden=settings["hidden"]),
                               splits, seed, device, **_training(settings))
    return _one("nade", f"NADE (H = {settings['hidden']})", model, seconds)


def _fit_made(splits, seed, device, settings) -> Fitted:
    """Lecture 04a's two MADEs: one ordering (raster) with the L2 penalty, and the order-agnostic one
    (`orderings` mask sets, no penalty) whose likelihood is the ensemble's (log-mean-exp)."""
    shape, levels, hidden = *_shape_levels(splits), settings["hidden"]
    raster, seconds_raster = _fit_adam(
        lambda: MADE(shape=shape, levels=levels, hidden_sizes=(hidden,), direct=True), splits, seed, device,
        weight_decay=settings["weight_decay"], **_training(settings))
    agnostic, seconds_agnostic = _fit_adam(
        lambda: MADE(shape=shape, levels=levels, hidden_sizes=(hidden,), direct=True,
                     orderings=settings["orderings"]), splits, seed, device, **_training(settings))
    return Fitted([Variant("made", f"MADE ({hidden}, direct, raster order)", raster, _sampler(raster)),
                   Variant("made-orderings", f"MADE ({hidden}, direct, {settings['orderings']} orderings)", agnostic,
                           _sampler(agnostic))],
                  train_seconds=seconds_raster + seconds_agnostic)


# --- lectures 04b, 04c: PixelCNN, gated PixelCNN, WaveNet -------------------------------------------------

def _fit_pixelcnn(splits, seed, device, settings) -> Fitted:
    shape, levels = _shape_levels(splits)
    c, n = settings["channels"], settings["layers"]
    model, seconds = _fit_adam(lambda: PixelCNN(shape=shape, levels=levels, channels=c, layers=n),
                               splits, seed, device, **_training(settings))
    return _one("pixelcnn", f"PixelCNN ({c} × {n}, masked)", model, seconds)


def _fit_gated(splits, seed, device, settings) -> Fitted:
    shape, levels = _shape_levels(splits)
    c, n = settings["channels"] // 2, settings["layers"] + 1          # lecture 04b: CHANNELS // 2, LAYERS + 1
    model, seconds = _fit_adam(
        lambda: GatedPixelCNN(shape=shape, levels=levels, channels=c, layers=n, head=c), splits, seed, device,
        **_training(settings))
    return _one("gated-pixelcnn", f"Gated PixelCNN ({c} × {n})", model, seconds)


def _fit_wavenet(splits, seed, device, settings) -> Fitted:
    shape, levels = _shape_levels(splits)
    c, dilations = settings["channels"], tuple(settings["dilations"])
    model, seconds = _fit_adam(
        lambda: WaveNet(shape=shape, levels=levels, channels=c, dilations=dilations, skip=c, head=c),
        splits, seed, device, **_training(settings))
    return _one("wavenet", f"WaveNet ({c} channels, {len(dilations)} dilations)", model, seconds)


# --- lecture 04d: VQ-VAE with a PixelCNN prior ----------------------------------------------------------

def _fit_vq_vae(splits, seed, device, settings) -> Fitted:
    """Lecture 04d: the VQ-VAE for a fixed number of epochs (last weights kept), then a PixelCNN prior on the
    frozen encoder's code grids (early stopping); the row is the one-code bound ("elbo-delta") with that prior."""
    shape, levels = _shape_levels(splits)
    s = settings
    loaders = data.loaders(splits, batch_size=s["batch_size"], seed=seed)
    torch.manual_seed(seed)
    vq = VQVAE(shape=shape, levels=levels, downsample=s["downsample"], codes=s["codes"], code_dim=s["code_dim"],
               channels=s["channels"], beta_commit=s["beta_commit"]).to(device)
    start = time.perf_counter()
    train(vq, loaders["train"], val_data=loaders["val"], epochs=s["epochs"], patience=None, restore_best=False,
          lr=s["lr"], seed=seed, device=device, progress=False)
    vq.eval()
    codes = code_splits(vq, splits)                                            # (N, 1, h, w) code grids, levels M
    code_loaders = data.loaders(codes, batch_size=s["batch_size"], seed=seed)
    h, w = vq.grid
    torch.manual_seed(seed)
    prior = PixelCNN(shape=(1, h, w), levels=s["codes"], inputs="one_hot", channels=s["prior_channels"],
                     head=s["prior_channels"], layers=s["prior_layers"], first_kernel=3 if max(h, w) <= 3 else 7)
    train(prior, code_loaders["train"], val_data=code_loaders["val"], epochs=s["prior_epochs"],
          patience=s["patience"], lr=s["prior_lr"], seed=seed, device=device, progress=False)
    vq.attach_prior(prior.eval())
    seconds = time.perf_counter() - start
    return _one("vq-vae", f"VQ-VAE ({h}×{w} grid, M = {s['codes']}), PixelCNN prior", vq.eval(), seconds)


# --- lecture 05: GPT ------------------------------------------------------------------------------------

def _fit_gpt(splits, seed, device, settings) -> Fitted:
    shape, levels = _shape_levels(splits)
    s = settings
    model, seconds = _fit_adam(
        lambda: GPT(shape=shape, levels=levels, d_model=s["d_model"], n_heads=s["heads"], layers=s["layers"],
                    positions=s["positions"], dropout=s["dropout"]), splits, seed, device, **_training(s))
    return _one("gpt", f"GPT ({s['layers']} layers, {s['heads']} heads, d = {s['d_model']})", model, seconds)


# --- lecture 02: VAE ------------------------------------------------------------------------------------

def _fit_vae(splits, seed, device, settings) -> Fitted:
    """Lecture 02's main VAE (categorical decoder, dropout, early stopping on the validation ELBO); two rows of
    one network: its −ELBO (`elbo_samples` draws) and its −IWAE bound with k = `iwae_k`."""
    shape, levels = _shape_levels(splits)
    s = settings
    loaders = data.loaders(splits, batch_size=s["batch_size"], seed=seed)
    torch.manual_seed(seed)
    vae = VAE(latent_dim=s["latent_dim"], hidden=s["hidden"], dropout=s["dropout"], levels=levels, shape=shape,
              iwae_k=s["iwae_k"]).to(device)
    start = time.perf_counter()
    train(vae, loaders["train"], val_data=loaders["val"], epochs=s["epochs"], patience=s["patience"], lr=s["lr"],
          device=device, seed=seed, progress=False)
    seconds = time.perf_counter() - start
    vae.eval()
    elbo = ELBOBound(vae, samples=s["elbo_samples"]).eval()
    return Fitted([Variant("vae-elbo", "VAE (−ELBO)", elbo, _sampler(vae)),
                   Variant("vae-iwae", f"VAE (IWAE-{s['iwae_k']})", vae, _sampler(vae))], train_seconds=seconds)


# --- lecture 06: RealNVP --------------------------------------------------------------------------------

def _fit_realnvp(splits, seed, device, settings) -> Fitted:
    shape, levels = _shape_levels(splits)
    s = settings
    model, seconds = _fit_adam(
        lambda: RealNVP(shape=shape, levels=levels, hidden=s["hidden"], steps=s["steps"]), splits, seed, device,
        **_training(s))
    return _one("realnvp", f"RealNVP ({s['steps']} steps per scale, uniform dequantisation)", model, seconds)


# --- lecture 07: DCGAN ----------------------------------------------------------------------------------

def _fit_dcgan(splits, seed, device, settings) -> Fitted:
    shape, levels = _shape_levels(splits)
    s = settings
    loaders = data.loaders(splits, batch_size=s["batch_size"], seed=seed)
    torch.manual_seed(seed)
    model = GAN(dcgan_digits(shape=shape, levels=levels, width=s["width"])).to(device)
    start = time.perf_counter()
    train(model, loaders["train"], steps=s["steps"], lr=s["lr"], seed=seed, device=device, progress=False)
    seconds = time.perf_counter() - start
    return _one("dcgan", f"DCGAN (width {s['width']}, {s['steps']} steps)", model.eval(), seconds)


# --- lecture 08: DDPM -----------------------------------------------------------------------------------

DDPM_SETTING_FIELDS = tuple(f.name for f in dataclasses.fields(DigitsDDPMSettings))
"""The settings of the ddpm entry that are `DigitsDDPMSettings` fields (T among them, lecture 08's `T`)."""


def _ddpm_setting(settings: dict) -> DigitsDDPMSettings:
    return DigitsDDPMSettings(**{name: settings[name] for name in DDPM_SETTING_FIELDS})


def _train_ddpm_live(splits: Splits, seed: int, device: torch.device, setting: DigitsDDPMSettings,
                     steps: int) -> tuple[DDPM, float]:
    """Lecture 08's `load_digits_ddpm` with `DIGITS_STEPS` set or on MNIST: the setting on the data's shape and
    levels, trained `steps` steps, the EMA weights kept."""
    shape, levels = _shape_levels(splits)
    torch.manual_seed(seed)
    model = DDPM(dataclasses.replace(setting.model_config(), shape=shape, levels=levels, T=setting.T)).to(device)
    loader = data.loaders(splits, batch_size=setting.batch_size, seed=seed)["train"]
    options = dict(setting.training(), steps=steps)
    start = time.perf_counter()
    history = train(model, loader, seed=seed, device=device, progress=False, **options)
    seconds = time.perf_counter() - start
    history.ema.copy_to(model)                                                  # keep the averaged weights
    return model.eval(), seconds


def _fit_ddpm(splits, seed, device, settings) -> Fitted:
    """Lecture 08's class-conditional U-Net DDPM, measured as its unconditional model (the null label, w = −1).
    On the digits with `digits_steps` None (the lecture's default): seed 0 is the committed checkpoint the
    lecture loads, other seeds `train_digits_ddpm(seed)`; with `digits_steps` set, or on MNIST, trained live as
    the lecture does. Two rows: Algorithm 2 over all T steps, and DDIM with `ddim_steps` steps and `ddim_eta`."""
    setting = _ddpm_setting(settings)
    source, notes = "trained", ""
    if _is_digits(splits) and settings["digits_steps"] is None:
        if seed == 0:
            model = pretrained_digits_ddpm(settings=setting, device=device)
            info = digits_ddpm_checkpoint_info()["info"]
            seconds, source = None, "checkpoint"
            notes = (f"seed {info.get('seed')} is the committed checkpoint lecture 08 loads "
                     f"(coursekit/weights/ddpm_digits.pt), not trained here, so its training is not timed here (it "
                     f"recorded {float(info['train_seconds']):.0f} s for {info.get('steps')} steps on "
                     f"{info.get('device')}, under other conditions); train s is the mean over the seeds this "
                     f"command trained")
        else:
            run = train_digits_ddpm(seed, settings=setting, splits=splits, device=device)
            model, seconds = run["model"].to(device), run["seconds"]
    else:
        model, seconds = _train_ddpm_live(splits, seed, device, setting, settings["digits_steps"] or setting.steps)
    cache = _BoundCache()
    ddpm = DiffusionSampler(model, cache, guidance=-1.0, method="ddpm").eval()
    ddim = DiffusionSampler(model, cache, guidance=-1.0, method="ddim", steps=settings["ddim_steps"],
                            eta=settings["ddim_eta"]).eval()
    return Fitted([Variant("ddpm", f"DDPM (Algorithm 2, {setting.T} steps)", ddpm, _sampler(ddpm)),
                   Variant(f"ddim-{settings['ddim_steps']}",
                           f"DDPM (DDIM, {settings['ddim_steps']} steps, η = {settings['ddim_eta']:g})", ddim,
                           _sampler(ddim))],
                  train_seconds=seconds, source=source, notes=notes)


# --- the entries ----------------------------------------------------------------------------------------
# settings: the lectures' parameters cells (digits); mnist_settings: their "GPU" / "GPU / MNIST" values.

_AR_04A = dict(epochs=60, patience=5, batch_size=64)
_AR_04A_MNIST = dict(epochs=100, patience=5, batch_size=128)

register(Entry("floor", "Floor (independent pixels)", "independent", "00", _fit_floor, dict(alpha=0.5)))
register(Entry("fvsbn", "FVSBN", "autoregressive", "04a", _fit_fvsbn, dict(_AR_04A, lr=1e-2),
               dict(_AR_04A_MNIST, lr=1e-2)))
register(Entry("nade", "NADE", "autoregressive", "04a", _fit_nade, dict(_AR_04A, lr=3e-3, hidden=128),
               dict(_AR_04A_MNIST, lr=3e-3, hidden=500)))
register(Entry("made", "MADE", "autoregressive", "04a", _fit_made,
               dict(_AR_04A, lr=3e-3, hidden=256, orderings=8, weight_decay=1e-2),
               dict(_AR_04A_MNIST, lr=3e-3, hidden=2000, orderings=32, weight_decay=0.0)))
register(Entry("pixelcnn", "PixelCNN", "autoregressive", "04b", _fit_pixelcnn,
               dict(epochs=30, patience=5, lr=3e-3, channels=64, layers=4, batch_size=64),
               dict(epochs=50, patience=5, lr=3e-3, channels=128, layers=12, batch_size=128)))
register(Entry("gated-pixelcnn", "Gated PixelCNN", "autoregressive", "04b", _fit_gated,
               dict(epochs=30, patience=5, lr=3e-3, channels=64, layers=4, batch_size=64),
               dict(epochs=50, patience=5, lr=3e-3, channels=128, layers=12, batch_size=128)))
register(Entry("wavenet", "WaveNet", "autoregressive", "04c", _fit_wavenet,
               dict(epochs=40, patience=5, lr=3e-3, channels=48, dilations=[1, 2, 4, 8, 16, 32], batch_size=64),
               dict(epochs=50, patience=5, lr=3e-3, channels=128, dilations=[2 ** i for i in range(10)],
                    batch_size=128)))
register(Entry("vq-vae", "VQ-VAE", "VQ-VAE", "04d", _fit_vq_vae,
               dict(downsample=1, codes=16, code_dim=8, channels=32, beta_commit=0.25, epochs=25, lr=2e-3,
                    prior_channels=32, prior_layers=2, prior_epochs=60, patience=10, prior_lr=3e-3, batch_size=64),
               dict(downsample=2, codes=64, code_dim=16, channels=64, beta_commit=0.25, epochs=20, lr=2e-3,
                    prior_channels=64, prior_layers=5, prior_epochs=40, patience=10, prior_lr=3e-3,
                    batch_size=128)))
register(Entry("gpt", "GPT", "autoregressive", "05", _fit_gpt,
               dict(d_model=64, heads=4, layers=2, positions="learned", dropout=0.1, epochs=60, patience=5, lr=3e-3,
                    batch_size=64),
               dict(d_model=256, heads=8, layers=6, positions="learned", dropout=0.1, epochs=30, patience=5,
                    lr=1e-3, batch_size=128)))
register(Entry("vae", "VAE", "VAE", "02", _fit_vae,
               dict(latent_dim=16, hidden=512, dropout=0.5, epochs=40, patience=50, lr=1e-3, batch_size=64,
                    iwae_k=1000, elbo_samples=100),
               dict(latent_dim=32, hidden=1024, dropout=0.1, epochs=100, patience=50, lr=1e-3, batch_size=128,
                    iwae_k=1000, elbo_samples=100)))
register(Entry("realnvp", "RealNVP", "flow", "06", _fit_realnvp,
               dict(epochs=20, patience=5, lr=3e-3, hidden=32, steps=4, batch_size=64)))
register(Entry("dcgan", "DCGAN", "GAN", "07", _fit_dcgan,
               dict(steps=DIGITS_TRAINING["steps"], lr=DIGITS_TRAINING["lr"], batch_size=DIGITS_TRAINING["batch_size"],
                    width=32),
               dict(steps=10000, lr=DIGITS_TRAINING["lr"], batch_size=DIGITS_TRAINING["batch_size"], width=64)))
register(Entry("ddpm", "DDPM", "diffusion", "08", _fit_ddpm,
               dict(DIGITS_DDPM.as_dict(), digits_steps=None, ddim_steps=50, ddim_eta=0.0),
               dict(DIGITS_DDPM.as_dict(), digits_steps=20000, ddim_steps=50, ddim_eta=0.0)))

if tuple(ENTRIES)[:len(COURSE_ORDER)] != COURSE_ORDER:      # pragma: no cover - a registration out of order
    raise RuntimeError(f"the benchmark entries must be registered in the course's order {COURSE_ORDER}, "
                       f"got {tuple(ENTRIES)}")
