"""The contract every model in the course follows, so one trainer and one evaluator serve all.

- `loss(batch) -> dict` with `"loss"` (the scalar to minimise) and its named parts
  (`"recon"`, `"kl"`, ...); `batch` is what the loader yields, `(x,)` or `(x, y)`.
- `sample(n, **options)` where the family can sample.
- `log_prob(x)` in nats per example where the likelihood is exact (`likelihood = "exact"`),
  or `nll_bound(x)` where only a bound is available (`likelihood = "bound"`, with `bound`
  naming it: "elbo", "iwae-1000", "dequantised"); `likelihood = "none"` for GANs.
- Models that need their own optimisation step (GANs: two optimisers, k critic steps)
  define `configure_optimizers(lr)` and `training_step(batch, optimizers, step) -> dict`;
  `coursekit.train` then calls them instead of its default step.
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import nn

__all__ = ["GenerativeModel", "batch_images"]


def batch_images(batch) -> torch.Tensor:
    """The images of a batch, whether the loader yields `x`, `(x,)` or `(x, y)`."""
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, (tuple, list)) and len(batch) >= 1 and isinstance(batch[0], torch.Tensor):
        return batch[0]
    raise TypeError(f"a batch must be a tensor, (x,) or (x, y), got {type(batch).__name__}")


class GenerativeModel(nn.Module):
    """Base class: a `device` property and the likelihood declaration. Subclasses add the rest."""

    likelihood: Literal["exact", "bound", "none"] = "none"
    bound: str | None = None

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters or buffers (the CPU for a model with neither)."""
        for tensor in (*self.parameters(), *self.buffers()):
            return tensor.device
        return torch.device("cpu")

    def loss(self, batch) -> dict[str, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement loss(batch) -> dict with 'loss'")

    def sample(self, n: int, **options) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement sample(n)")
