"""Lecture 08's DDPM on the digits: one setting, trained once into a committed checkpoint, and the
measurements the lecture and `benchmarks/diffusion_quality.py` both make with it.

    model = pretrained_digits_ddpm()                       # the committed checkpoint, weights_only=True
    x = model.sample(40, y=7, guidance=1.0, method="ddim", steps=50)
    fresh = train_digits_ddpm(seed=0)["model"]             # the same setting trained afresh (minutes on a CPU)

`DIGITS_DDPM` is the setting: a small class-conditional U-Net ε_θ (`coursekit.models.diffusion.UNet`) on the
17-level 8×8 digits, T = 1000 steps of the grey-level schedule (√β_1 = half a grey level), trained with the
simplified loss and label dropout (the null label ∅ in a share `p_uncond` of the batches), so one network is
both models of classifier-free guidance: ε_θ(x_t, t, y) and the unconditional ε_θ(x_t, t, ∅). The weights kept
are the exponential moving average (`ema_decay`) of the trained ones. `scripts/train_diffusion.py` trains it
with seed 0 and writes `coursekit/weights/ddpm_digits.pt` (a state dict with the setting beside it);
`pretrained_digits_ddpm` loads that file and refuses it if it was trained with another setting.

The unconditional model is the conditional network with the null label: `sample(n, guidance=-1.0)` (w = −1 in
Ho & Salimans' convention ε̃ = (1 + w) ε_θ(x, y) − w ε_θ(x, ∅)) and `bound_bits_per_dim(model, x)`.
The measurements: `timed_samples` (samples and the wall time of drawing them), `within_class_spread` (the
diversity that guidance trades for accuracy), `guidance_sweep`, and `bound_bits_per_dim` (the full bound,
every one of the T + 1 terms, split by which t cost the bits).
(It lives here, not in `coursekit.models.diffusion`, because a model module may not import the trainer or the
evaluation: tests/test_import_graph.py.)
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Sequence

import torch

from ..data import ImageSplit, Splits, digits, loaders
from ..models.diffusion import DDPM, DDPMConfig
from ..training import train
from ..utils import atomic_write, resolve_device, seeded_generator
from .classifiers import Classifier, conditional_accuracy
from .frechet import DEFAULT_FRECHET_N, frechet_distance

__all__ = ["DigitsDDPMSettings", "DIGITS_DDPM", "DIGITS_DDPM_CHECKPOINT", "digits_ddpm", "train_digits_ddpm",
           "save_digits_ddpm", "pretrained_digits_ddpm", "digits_ddpm_checkpoint_info", "timed_samples",
           "within_class_spread", "guidance_sweep", "bound_bits_per_dim", "BOUND_PARTS"]

_FORMAT = 1

DIGITS_DDPM_CHECKPOINT = Path(__file__).resolve().parents[1] / "weights" / "ddpm_digits.pt"
"""The committed checkpoint (shipped with the package: pyproject's package data), written by
scripts/train_diffusion.py."""


@dataclass(frozen=True)
class DigitsDDPMSettings:
    """The digits DDPM: its network and schedule (`model_config()`) and its training (`training()`).

    A class-conditional U-Net (`channels` wide, levels (1, 2), self-attention at 4×4) with the null label in a
    share `p_uncond` of the training batches; T steps of the grey-level schedule; Adam at `lr` with
    `warmup_steps` of linear warm-up and a cosine decay to `min_lr` over `steps` steps of `batch_size`; the
    weights kept are their EMA with decay `ema_decay`."""

    channels: int = 16
    p_uncond: float = 0.2
    T: int = 1000
    schedule: str = "grey_level"
    variance: str = "beta"
    steps: int = 4000
    batch_size: int = 128
    lr: float = 2e-3
    warmup_steps: int = 200
    min_lr: float = 2e-4
    ema_decay: float = 0.995

    def model_config(self) -> DDPMConfig:
        """The `DDPMConfig` of the network: (1, 8, 8) digits with 17 levels and 10 classes."""
        return DDPMConfig(shape=(1, 8, 8), levels=17, classes=10, p_uncond=self.p_uncond, T=self.T,
                          schedule=self.schedule, variance=self.variance, channels=self.channels)

    def training(self) -> dict[str, Any]:
        """`coursekit.training.train`'s keyword arguments (with `steps`)."""
        return dict(steps=self.steps, lr=self.lr, warmup_steps=self.warmup_steps, lr_schedule="cosine",
                    min_lr=self.min_lr, ema_decay=self.ema_decay)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DIGITS_DDPM = DigitsDDPMSettings()
"""The setting of lecture 08's digits DDPM, its committed checkpoint and the benchmark."""


def digits_ddpm(settings: DigitsDDPMSettings = DIGITS_DDPM) -> DDPM:
    """An untrained DDPM of `settings` (seed torch first for reproducible initial weights)."""
    return DDPM(settings.model_config())


def train_digits_ddpm(seed: int = 0, *, settings: DigitsDDPMSettings = DIGITS_DDPM, steps: int | None = None,
                      splits: Splits | None = None, device: str | torch.device = "cpu",
                      progress: bool = False) -> dict[str, Any]:
    """Train the digits DDPM of `settings` with seed `seed` (initial weights, batches, t, ε and the label
    dropout) on `splits.train` (default the digits) for `steps` (default `settings.steps`).

    Returns {"model": a DDPM holding the EMA weights, in eval mode, "seconds": the wall time of training,
    "cpu_seconds": the CPU time this process spent on it (what a shared, loaded machine does not inflate),
    "history": the trainer's History, "steps": the steps run}. On a CPU use one thread
    (`torch.set_num_threads(1)`): these batches are too small for more to help."""
    splits = splits or digits()
    steps = steps or settings.steps
    options = settings.training()
    options["steps"] = steps
    if options["warmup_steps"] >= steps:          # a short (smoke) run: no warm-up longer than the run
        options["warmup_steps"] = 0
    loader = loaders(splits, batch_size=settings.batch_size, seed=seed)["train"]
    torch.manual_seed(seed)
    model = digits_ddpm(settings)
    start, cpu_start = time.perf_counter(), time.process_time()
    history = train(model, loader, seed=seed, device=resolve_device(device), progress=progress,
                    desc="digits DDPM", **options)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    history.ema.copy_to(model)                    # keep the averaged weights
    return {"model": model.eval(), "seconds": seconds, "cpu_seconds": cpu_seconds, "history": history, "steps": steps}


def save_digits_ddpm(model: DDPM, path: str | Path = DIGITS_DDPM_CHECKPOINT, *,
                     settings: DigitsDDPMSettings = DIGITS_DDPM, **info: Any) -> Path:
    """Write `model`'s state dict with `settings` and `info` (seed, train_seconds, ...: plain values) to `path`,
    atomically; `pretrained_digits_ddpm` reads it back."""
    if asdict(model.config) != asdict(settings.model_config()):
        raise ValueError(f"the model's config {asdict(model.config)} is not the one of the settings "
                         f"{asdict(settings.model_config())}")
    payload = {"format": _FORMAT, "settings": settings.as_dict(), "config": asdict(model.config),
               "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
               "info": {"torch": str(torch.__version__), **info}}   # str: TorchVersion is not weights_only-safe
    path = Path(path)
    with atomic_write(path) as f:
        torch.save(payload, f)
    return path


def _read(path: str | Path | None) -> dict[str, Any]:
    path = Path(path) if path is not None else DIGITS_DDPM_CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"no digits DDPM checkpoint at {path}: train it with "
                                f"`python scripts/train_diffusion.py` (minutes on a CPU)")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a digits DDPM checkpoint of format {_FORMAT} (a dict with 'format', "
                         f"'settings', 'config', 'model', 'info'); retrain it with `python scripts/train_diffusion.py`")
    return payload


def digits_ddpm_checkpoint_info(path: str | Path | None = None) -> dict[str, Any]:
    """What the checkpoint says beside its weights: {"settings", "config", "info" (seed, train_seconds,
    steps, torch, ...)}."""
    payload = _read(path)
    return {key: payload[key] for key in ("settings", "config", "info")}


def pretrained_digits_ddpm(path: str | Path | None = None, *, settings: DigitsDDPMSettings = DIGITS_DDPM,
                           device: str | torch.device = "cpu") -> DDPM:
    """The trained digits DDPM from `path` (default the committed `DIGITS_DDPM_CHECKPOINT`), loaded with
    `torch.load(weights_only=True)`, in eval mode on `device`.

    The file must have been trained with `settings` (default `DIGITS_DDPM`): a checkpoint of another setting
    raises a ValueError naming the fields that differ (retrain with `python scripts/train_diffusion.py`)."""
    payload = _read(path)
    expected = settings.as_dict()
    stored = payload["settings"]
    differ = {name: (stored.get(name), expected[name]) for name in expected if stored.get(name) != expected[name]}
    differ.update({name: (value, None) for name, value in stored.items() if name not in expected})
    if differ:
        raise ValueError(f"the checkpoint {path or DIGITS_DDPM_CHECKPOINT} was trained with another setting "
                         f"(field: (checkpoint, expected)) {differ}; retrain it with "
                         f"`python scripts/train_diffusion.py`")
    model = digits_ddpm(settings)
    if payload["config"] != asdict(model.config):
        raise ValueError(f"the checkpoint's DDPMConfig {payload['config']} is not the setting's "
                         f"{asdict(model.config)}; retrain it with `python scripts/train_diffusion.py`")
    model.load_state_dict(payload["model"])
    return model.to(resolve_device(device)).eval()


# --- measurements -------------------------------------------------------------------------------------------

def timed_samples(model: DDPM, n: int, *, seed: int = 0, **options: Any) -> tuple[torch.Tensor, float]:
    """(n samples as int64 levels on the CPU, the wall-clock seconds of drawing them) with `model.sample`'s
    `options` (y, guidance, method, steps, ...), the noise drawn by a generator seeded with `seed`."""
    start = time.perf_counter()
    samples = model.sample(n, generator=seeded_generator(seed), **options)
    return samples.cpu(), time.perf_counter() - start


def within_class_spread(samples: torch.Tensor | ImageSplit, labels: torch.Tensor | None,
                        classifier: Classifier) -> float:
    """Diversity within classes: the root mean square distance of each image's classifier features (the
    Fréchet distance's features) to its class's mean feature vector, averaged over the classes present.
    Read a model's value against the real digits' (the test split's with its labels): guidance shrinks it."""
    if isinstance(samples, ImageSplit):
        samples, labels = samples.x, samples.y
    if labels is None or labels.shape != (samples.shape[0],):
        raise ValueError(f"labels must have shape ({samples.shape[0]},), one per image, got "
                         f"{None if labels is None else tuple(labels.shape)}")
    features = classifier.features(samples).double()                    # (N, F)
    labels = labels.to(features.device)
    spreads = []
    for k in labels.unique():
        f = features[labels == k]                                        # (N_k, F)
        if f.shape[0] > 1:
            spreads.append((f - f.mean(0)).pow(2).sum(1).mean().sqrt().item())
    return float(sum(spreads) / len(spreads))


def guidance_sweep(model: DDPM, weights: Sequence[float], classifier: Classifier, real: ImageSplit, *,
                   n: int = DEFAULT_FRECHET_N, method: str = "ddim", steps: int | None = 50,
                   seed: int = 0) -> list[dict[str, float]]:
    """For each guidance weight w: n samples with the labels 0, 1, …, 9, 0, … (the same x_T for every w),
    and {"w", "accuracy" (the classifier's label = the requested one), "fd" (Fréchet distance to `real` at
    n), "spread" (`within_class_spread`), "seconds"}. `method`/`steps`: the sampler (DDIM with 50 steps by
    default; method="ddpm", steps=None for Algorithm 2)."""
    labels = torch.arange(n) % model.config.classes
    rows = []
    for w in weights:
        options = dict(y=labels.to(model.device), guidance=float(w), method=method)
        if method == "ddim":
            options["steps"] = steps
        samples, seconds = timed_samples(model, n, seed=seed, **options)
        rows.append({"w": float(w), "accuracy": conditional_accuracy(samples, labels, classifier),
                     "fd": frechet_distance(samples, real, classifier, n=n).value,
                     "spread": within_class_spread(samples, labels, classifier), "seconds": seconds})
    return rows


BOUND_PARTS = {"L_0 (decoder, t = 1)": (0, 1), "t = 2..9": (1, 9), "t = 10..100": (9, 100),
               "t = 101..T": (100, None), "L_T (prior)": (None, None)}
"""How `bound_bits_per_dim` splits the bound: the columns of `DDPM.bound_terms` (column t − 1 holds the KL
L_{t−1} that compares p_θ(x_{t−1} | x_t) with q at step t; column 0 the decoder, column T the prior term)."""


def bound_bits_per_dim(model: DDPM, x: torch.Tensor, y: torch.Tensor | None = None, *, seed: int = 0,
                       batch_size: int = 8192) -> dict[str, Any]:
    """The full variational bound of `model` on the images x (int64 levels), every one of the T + 1 terms, in
    bits/dim: {"bits_per_dim" (the mean over x of L_0 + Σ L_{t−1} + L_T), "parts" (BOUND_PARTS → bits/dim, summing
    to the total), "per_t" (T + 1,) bits/dim per column, "seconds"}. With `y` None a conditional model is
    measured as the unconditional model (the null label ∅); with labels y it is the bound on −log p(x | y).
    The draws of x_t ~ q(x_t | x_0) come from a generator seeded with `seed`."""
    T = model.config.T
    start = time.perf_counter()
    terms = model.bound_terms(x, y, batch_size=batch_size, generator=seeded_generator(seed))   # (N, T + 1) nats
    seconds = time.perf_counter() - start
    per_t = terms.double().mean(0).cpu() / (x[0].numel() * math.log(2))            # (T + 1,) bits/dim
    parts = {}
    for name, (lo, hi) in BOUND_PARTS.items():
        parts[name] = per_t[T].item() if lo is None else per_t[lo:(T if hi is None else hi)].sum().item()
    return {"bits_per_dim": per_t.sum().item(), "parts": parts, "per_t": per_t, "seconds": seconds}
