"""The course's benchmark entries: every family, trained with its lecture's default parameters.

An `Entry` says how to train one lecture's model (`fit`) and with which settings (the lecture's
parameters cell, `settings`; `mnist_settings` for the MNIST configuration, None where the
lecture has none). `fit` returns a `Fitted`: the trained model(s) as `Variant`s, each one row
of the comparison table (one model can give several rows: a VAE's −ELBO and its IWAE bound, a
diffusion model sampled by two samplers), and the training time.

The entries themselves are registered in `coursekit.evaluation.families`; the runner that
measures them (bits/dim through `evaluate_model`, Fréchet distance, coverage, sampling time,
parameters, peak memory) and writes `benchmarks/results.json` is `coursekit.evaluation.suite`,
driven by `python -m benchmarks`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..data import Splits
from ..models.base import GenerativeModel

__all__ = ["Variant", "Fitted", "Entry", "ENTRIES", "register"]


@dataclass
class Variant:
    """One row of the table from a trained model.

    `key` is the row's key ("vae-elbo"), `name` its label ("VAE (−ELBO)"). `model` is evaluated
    by `evaluate_model` as it declares itself (exact, a named bound, or no likelihood).
    `sample(n, generator)` draws n samples in the data's convention (default: `model.sample(n)`
    under the generator's seed); None when the row has no samples of its own.
    """

    key: str
    name: str
    model: GenerativeModel
    sample: Callable[[int, torch.Generator | None], torch.Tensor] | None = None


@dataclass
class Fitted:
    """What an entry's `fit` returns: its rows, the wall-clock seconds of training, and where the
    weights came from ("trained", or "checkpoint" when the lecture loads committed weights: then
    `train_seconds` is None, since nothing was trained or timed here, and `notes` says what the
    checkpoint recorded when it was trained, under other conditions)."""

    variants: list[Variant]
    train_seconds: float | None
    source: str = "trained"
    notes: str = ""


@dataclass(frozen=True)
class Entry:
    """One lecture's model in the benchmark: `fit(splits, seed, device, settings) -> Fitted`."""

    key: str                                   # "nade"
    name: str                                  # "NADE"
    family: str                                # "autoregressive", "VAE", "flow", "GAN", "diffusion", ...
    lecture: str                               # "04a"
    fit: Callable[[Splits, int, torch.device, dict], Fitted]
    settings: dict[str, Any] = field(default_factory=dict)          # the lecture's default parameters (digits)
    mnist_settings: dict[str, Any] | None = None                    # its MNIST configuration, None: none

    def settings_for(self, data: str) -> dict[str, Any]:
        """The settings for `data` ("digits" or "mnist"); a ValueError naming the lecture when there are none."""
        if data == "digits":
            return dict(self.settings)
        if data == "mnist":
            if self.mnist_settings is None:
                raise ValueError(f"{self.name} (lecture {self.lecture}) has no MNIST configuration")
            return dict(self.mnist_settings)
        raise ValueError(f"data must be 'digits' or 'mnist', got {data!r}")


ENTRIES: dict[str, Entry] = {}
"""Every registered entry by key, in the course's order (filled by `coursekit.evaluation.families`)."""


def register(entry: Entry) -> Entry:
    """Add `entry` to `ENTRIES`; a ValueError if its key is taken."""
    if not isinstance(entry, Entry):
        raise TypeError(f"register takes an Entry, got {type(entry).__name__}")
    if entry.key in ENTRIES:
        raise ValueError(f"a benchmark entry with key {entry.key!r} is already registered")
    ENTRIES[entry.key] = entry
    return entry
