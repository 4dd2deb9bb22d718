"""An exponential moving average (EMA) of a model's weights: the copy DDPM evaluates and samples from.

    history = train(model, loader, steps=10_000, ema_decay=0.999)
    samples = history.ema.model.sample(16)      # the averaged weights
    history.ema.copy_to(model)                   # or put them into the trained model

After every optimisation step, every parameter of the copy follows

    θ_ema ← d·θ_ema + (1 − d)·θ

and every buffer (BatchNorm statistics, a registered schedule) is copied as it is. With d = 0
the copy equals the raw weights; the closer d is to 1, the longer the memory (about 1/(1 − d)
steps).
"""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

__all__ = ["EMA"]


class EMA:
    """The averaged copy `self.model` of `model` (same class, so `sample`, `loss`, ... work on it)."""

    def __init__(self, model: nn.Module, decay: float):
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0.0 <= decay < 1.0:
            raise ValueError(f"ema_decay must be a float in [0, 1) (e.g. 0.999), got {decay!r}")
        self.decay = float(decay)
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.updates = 0
        """How many optimisation steps have been averaged in."""

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Average `model`'s current parameters in: θ_ema ← d·θ_ema + (1 − d)·θ; copy its buffers."""
        d = self.decay
        params = dict(model.named_parameters())
        for name, theta_ema in self.model.named_parameters():
            theta_ema.mul_(d).add_(params[name].detach(), alpha=1.0 - d)
        buffers = dict(model.named_buffers())
        for name, buffer in self.model.named_buffers():
            buffer.copy_(buffers[name])
        self.updates += 1

    def copy_to(self, model: nn.Module) -> None:
        """Put the averaged weights (and buffers) into `model`, e.g. the trained model before sampling."""
        model.load_state_dict(self.model.state_dict())

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps: the decay, the number of updates and the averaged state dict."""
        return {"decay": self.decay, "updates": self.updates, "model": self.model.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (the decay is checked: an EMA resumed with another
        decay would silently average differently)."""
        if float(state["decay"]) != self.decay:
            raise ValueError(f"the saved EMA has decay {state['decay']}, this one {self.decay}")
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])

    def __repr__(self) -> str:
        return f"EMA(decay={self.decay}, updates={self.updates}, model={type(self.model).__name__})"
