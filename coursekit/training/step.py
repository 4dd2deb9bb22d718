"""One optimisation step's machinery, shared by the default step and custom ones.

A model that needs its own step (a GAN: two optimisers, k critic steps per generator step)
defines `configure_optimizers(lr)` and

    def training_step(self, batch, optimizers, step, ctx):
        d_loss = ...                                   # runs under the trainer's autocast
        ctx.zero_grad(optimizers["discriminator"])
        ctx.backward(d_loss, optimizers["discriminator"], name="d_loss")
        ctx.step(optimizers["discriminator"])
        ...
        return {"loss": d_loss + g_loss, "d_loss": d_loss, "g_loss": g_loss}

`ctx` (a `StepContext`) gives the custom step what the default step has: `backward` checks
that the loss is finite (the same `FloatingPointError`, naming the step, the loss part and its
value), scales it for mixed precision, averages the gradients over processes under
distributed training, unscales them and clips their norm to `grad_clip`; `step` steps the
optimiser through the gradient scaler. The step returns the loss parts to log; a part may be
left out on steps that do not compute it (a GAN's "g_loss" on its critic-only steps): the
round's mean of that part is then over the steps that reported it (see `History`).

The signature is `training_step(self, batch, optimizers, step, ctx)` for a model's own step and
`step_fn(model, batch, optimizers, step, ctx)` for one passed to `train(step_fn=...)`. A step
without `ctx` (the older `training_step(batch, optimizers, step)`) does its own backward, which
the trainer cannot clip, scale or average: `train` refuses it, with a TypeError saying to take
`ctx` and call `ctx.backward(loss, optimizers)`, when `grad_clip` is set, when mixed precision
is on (`amp=True` on CUDA) and under distributed training. Otherwise it still works: it runs
under the same autocast and the "loss" it returns is checked to be finite after the step.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from torch import nn

from .distributed import Ranks, average_gradients, mean_over_ranks

__all__ = ["StepContext", "loss_parts", "optimizer_list", "check_finite", "current_lr"]

Optimizers = torch.optim.Optimizer | Mapping[str, torch.optim.Optimizer] | Sequence[torch.optim.Optimizer]


def loss_parts(model: nn.Module, batch: Any, loss_module: nn.Module | None = None) -> dict[str, torch.Tensor]:
    """`model.loss(batch)`, checked to be a dict with a "loss" entry (through `loss_module` if given)."""
    parts = loss_module(batch) if loss_module is not None else model.loss(batch)
    if not isinstance(parts, Mapping) or "loss" not in parts:
        got = f"a dict with keys {sorted(parts)}" if isinstance(parts, Mapping) else type(parts).__name__
        raise TypeError(f"{type(model).__name__}.loss(batch) must return a dict with a 'loss' entry, got {got}")
    return parts


def optimizer_list(optimizers: Optimizers) -> list[torch.optim.Optimizer]:
    """One optimiser, a dict or a list of them, as a list (in the dict's order)."""
    if isinstance(optimizers, torch.optim.Optimizer):
        return [optimizers]
    if isinstance(optimizers, Mapping):
        items = list(optimizers.values())
    elif isinstance(optimizers, (list, tuple)):
        items = list(optimizers)
    else:
        items = []
    if not items or not all(isinstance(o, torch.optim.Optimizer) for o in items):
        what = f" of {[type(o).__name__ for o in items]}" if items else ""
        raise TypeError(f"expected a torch.optim.Optimizer, or a non-empty dict or list of them, got "
                        f"{type(optimizers).__name__}{what}")
    return items


def current_lr(optimizers: Optimizers) -> float | list[float]:
    """The learning rate `optimizers` step with now (after warm-up and decay): one number, or the
    distinct rates of their parameter groups in order when they differ."""
    rates = list(dict.fromkeys(g["lr"] for o in optimizer_list(optimizers) for g in o.param_groups))
    return rates[0] if len(rates) == 1 else rates


def check_finite(loss: torch.Tensor, *, step: int, name: str = "loss", lr: float | list[float] | None = None,
                 parts: Mapping[str, Any] | None = None) -> None:
    """Raise a FloatingPointError naming the step, the loss part and its value when `loss` is not finite
    (and the learning rate `lr` of that step, as `current_lr` gives it)."""
    if bool(torch.isfinite(loss)):
        return
    others = ""
    if parts:
        bad = [f"{k}={float(v):.4g}" for k, v in parts.items() if k != name and isinstance(v, torch.Tensor)
               and v.numel() == 1 and not bool(torch.isfinite(v))]
        others = f" (other non-finite parts: {', '.join(bad)})" if bad else ""
    raise FloatingPointError(f"the loss part {name!r} became {loss.item()} at step {step}{others}: lower the "
                             f"learning rate (lr={lr}) or set grad_clip")


class StepContext:
    """The trainer's machinery, handed to every training step as `ctx`.

    `step_index` is the optimisation step (0-based), `device` the training device, `model`
    the model being trained, `lr` the base learning rate given to `train` (the rate of the
    current step, after warm-up and decay, is each optimiser's `param_groups[i]["lr"]`). Call
    `backward(loss, optimizer)` once per `step(optimizer)`.
    """

    def __init__(self, model: nn.Module, *, device: torch.device, lr: float | None = None, grad_clip: float | None,
                 scaler: torch.amp.GradScaler | None, ranks: Ranks | None = None,
                 loss_module: nn.Module | None = None, average_grads: bool = False):
        self.model, self.device, self.lr, self.grad_clip = model, device, lr, grad_clip
        self.scaler, self.ranks, self.loss_module, self.average_grads = scaler, ranks, loss_module, average_grads
        self.step_index = 0
        self._pending: dict[int, torch.optim.Optimizer] = {}   # backward done, step not yet

    def loss(self, batch: Any) -> dict[str, torch.Tensor]:
        """The model's loss parts on `batch` (through DDP under distributed training)."""
        return loss_parts(self.model, batch, self.loss_module)

    def zero_grad(self, optimizers: Optimizers) -> None:
        """Clear the gradients of every parameter of `optimizers` (set them to None)."""
        for optimizer in optimizer_list(optimizers):
            optimizer.zero_grad(set_to_none=True)

    def backward(self, loss: torch.Tensor, optimizers: Optimizers, *, name: str = "loss",
                 parts: Mapping[str, Any] | None = None) -> None:
        """Backpropagate `loss` into the parameters of `optimizers`, as the default step does.

        Checks that `loss` (called `name` in the error) is finite, scales it for mixed
        precision, averages the gradients over processes (custom steps under distributed
        training), unscales them and clips their joint norm to `grad_clip`.
        """
        opts = optimizer_list(optimizers)
        twice = [o for o in opts if id(o) in self._pending]
        if twice:
            raise RuntimeError(f"ctx.backward was called twice for the same optimizer ({type(twice[0]).__name__}) "
                               f"before ctx.step: add the losses and call backward once per step")
        value = mean_over_ranks(loss.detach().float(), self.ranks) if self.ranks is not None else loss
        check_finite(value, step=self.step_index, name=name, lr=current_lr(opts), parts=parts)  # on every rank alike
        with torch.autocast(device_type=self.device.type, enabled=False):  # backward runs outside autocast
            (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
        params = list({id(p): p for o in opts for g in o.param_groups for p in g["params"]}.values())
        if self.average_grads and self.ranks is not None:
            average_gradients(params, self.ranks)
        for optimizer in opts:
            if self.scaler is not None:
                self.scaler.unscale_(optimizer)
            self._pending[id(optimizer)] = optimizer
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(params, self.grad_clip)

    def step(self, optimizers: Optimizers) -> None:
        """Step `optimizers` (through the gradient scaler under mixed precision)."""
        for optimizer in optimizer_list(optimizers):
            if self._pending.pop(id(optimizer), None) is None:
                raise RuntimeError(f"ctx.step({type(optimizer).__name__}) came without ctx.backward(loss, optimizer) "
                                   f"first: backward checks the loss, scales, clips and averages the gradients")
            if self.scaler is not None:
                self.scaler.step(optimizer)
            else:
                optimizer.step()
        if self.scaler is not None and not self._pending:
            self.scaler.update()   # once every optimiser that was backpropagated into has stepped

    def _end(self) -> None:
        """After a step: forget optimisers backpropagated into but not stepped (and let the scaler move on)."""
        if self._pending and self.scaler is not None:
            self.scaler.update()
        self._pending.clear()
