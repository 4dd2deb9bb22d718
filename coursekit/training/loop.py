"""One training loop for every model that follows the course's contract.

    history = train(model, loaders["train"], val_data=loaders["val"], epochs=20)

The model provides `loss(batch) -> dict` with `"loss"` (and named parts such as `"recon"`,
`"kl"`); the loop does the rest: device placement (`device="auto"`: CUDA, then MPS, then
CPU), seeding, a progress bar (`tqdm.auto`: a widget in JupyterLab, text in a terminal),
validation, early stopping with the best weights restored, optional mixed precision on CUDA,
gradient clipping, atomic checkpoints, and a `History` of every named loss part.

Training length is set in `epochs` or `steps`, never in seconds, so a seeded run reproduces.

Models that need their own optimisation step (a GAN's two optimisers, k critic steps per
generator step) define `configure_optimizers(lr)` and `training_step(batch, optimizers, step)`,
or the caller passes `step_fn`; the loop then calls that instead of its default step.
"""
from __future__ import annotations

import copy
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import torch
from torch import nn
from tqdm.auto import tqdm

from ..checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ..utils import resolve_device, seed_everything

__all__ = ["History", "train", "evaluate", "to_device"]


@dataclass
class History:
    """What happened during training.

    `rounds` holds one value per evaluation round (an epoch, or `eval_every` steps): the keys
    "epoch" and "step" say when, "train/<part>" is the mean of each loss part over the round's
    steps and "val/<part>" its value on the validation data. `steps` holds every optimisation
    step's values ("loss", ...). `history["val/loss"]` reads a round series.
    """

    rounds: dict[str, list[float]] = field(default_factory=dict)
    steps: dict[str, list[float]] = field(default_factory=dict)
    best_round: int | None = None
    stopped_early: bool = False
    from_cache: bool = False
    """True when `train_cached` loaded the model and this history from its cache instead of training."""

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.rounds:
            raise KeyError(f"no series {key!r} in the history; it has {sorted(self.rounds)}")
        return self.rounds[key]

    def __contains__(self, key: str) -> bool:
        return key in self.rounds

    def as_dict(self) -> dict[str, list[float]]:
        """The per-round series, e.g. for `coursekit.plot.training_curves` or a checkpoint."""
        return {k: list(v) for k, v in self.rounds.items()}

    def last(self, key: str) -> float:
        return self[key][-1]

    def _append(self, store: dict[str, list[float]], values: Mapping[str, float]) -> None:
        for key, value in values.items():
            store.setdefault(key, []).append(float(value))


def to_device(batch: Any, device: torch.device) -> Any:
    """Move a batch (a tensor, or a tuple/list/dict of them) to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def _loss_parts(model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
    parts = model.loss(batch)
    if not isinstance(parts, Mapping) or "loss" not in parts:
        got = f"a dict with keys {sorted(parts)}" if isinstance(parts, Mapping) else type(parts).__name__
        raise TypeError(f"{type(model).__name__}.loss(batch) must return a dict with a 'loss' entry, got {got}")
    return parts


@torch.no_grad()
def evaluate(model: nn.Module, data: Iterable, device: str | torch.device | None = None) -> dict[str, float]:
    """The mean of every loss part over `data`, weighted by batch size, in eval mode."""
    device = resolve_device(device) if device is not None else _model_device(model)
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    for batch in data:
        batch = to_device(batch, device)
        size = _batch_size(batch)
        for key, value in _loss_parts(model, batch).items():
            sums[key] = sums.get(key, 0.0) + float(value) * size
        count += size
    model.train(was_training)
    if count == 0:
        raise ValueError("evaluate() got no batches: the data loader is empty")
    return {key: total / count for key, total in sums.items()}


def _model_device(model: nn.Module) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _batch_size(batch: Any) -> int:
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() > 0 else 1


def _make_optimizers(model: nn.Module, optimizer: torch.optim.Optimizer | None, lr: float, weight_decay: float):
    if hasattr(model, "configure_optimizers"):
        return model.configure_optimizers(lr)
    if optimizer is not None:
        return optimizer
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{type(model).__name__} has no trainable parameters; nothing for train() to do "
                         f"(a closed-form model such as PixelCategorical is fitted with .fit())")
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def train(
    model: nn.Module,
    train_data: Iterable,
    *,
    epochs: int | None = None,
    steps: int | None = None,
    val_data: Iterable | None = None,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    optimizer: torch.optim.Optimizer | None = None,
    device: str | torch.device = "auto",
    seed: int | None = 0,
    patience: int | None = None,
    restore_best: bool = True,
    amp: bool = False,
    grad_clip: float | None = None,
    eval_every: int | None = None,
    step_fn: Callable[..., Mapping[str, Any]] | None = None,
    checkpoint_path: str | None = None,
    progress: bool = True,
    desc: str | None = None,
) -> History:
    """Train `model` on `train_data` for `epochs` epochs or `steps` optimisation steps.

    - `val_data`: evaluated after every round (every epoch, or every `eval_every` steps).
    - `patience`: stop when "val/loss" has not improved for that many rounds; with
      `restore_best` the best round's weights are put back at the end.
    - `seed`: seeds everything before the first step (shuffling, including a DataLoader's own
      generator, dropout, sampling in the loss); `None` leaves the random state alone.
    - `amp`: float16 autocast with a gradient scaler, on CUDA only (ignored with a warning
      elsewhere).
    - `step_fn(model, batch, optimizers, step) -> dict`, or a model's own `training_step`,
      replaces the default step (zero grad, backward on "loss", clip, optimizer step).
    - `checkpoint_path`: the model and optimiser state are saved (atomically) whenever the
      validation loss improves, or after every round without `val_data`.
    """
    if (epochs is None) == (steps is None):
        raise ValueError(f"give exactly one of epochs or steps, got epochs={epochs!r}, steps={steps!r}")
    length = epochs if epochs is not None else steps
    if not isinstance(length, int) or length < 1:
        raise ValueError(f"{'epochs' if epochs is not None else 'steps'} must be a positive int, got {length!r}")
    if patience is not None and val_data is None:
        raise ValueError("early stopping (patience) needs val_data to watch the validation loss")
    try:
        per_epoch = len(train_data)  # type: ignore[arg-type]
    except TypeError as err:
        raise TypeError(f"train_data must be a sized iterable of batches such as a DataLoader, "
                        f"got {type(train_data).__name__}") from err
    if per_epoch == 0:
        raise ValueError("train_data yields no batches (is the data set smaller than drop_last's batch size?)")

    if seed is not None:
        seed_everything(seed)
        # A loader made by coursekit.data.loaders carries its own shuffling generator: reseed it
        # too, so training twice with the same loader and seed sees the same batches.
        generator = getattr(train_data, "generator", None)
        if isinstance(generator, torch.Generator):
            generator.manual_seed(seed)
    device = resolve_device(device)
    model.to(device)
    optimizers = _make_optimizers(model, optimizer, lr, weight_decay)
    use_amp = bool(amp) and device.type == "cuda"
    if amp and not use_amp:
        warnings.warn(f"amp=True is ignored on {device.type}: mixed precision is used on CUDA only", stacklevel=2)
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    custom_step = step_fn or getattr(model, "training_step", None)

    total_steps = epochs * per_epoch if epochs is not None else steps
    round_len = per_epoch if epochs is not None else min(eval_every or per_epoch, total_steps)
    history = History()
    best_val, best_state, rounds_since_best = math.inf, None, 0
    bar = tqdm(total=total_steps, desc=desc or f"training {type(model).__name__}", disable=not progress,
               unit="step", dynamic_ncols=True)

    def default_step(batch) -> dict[str, torch.Tensor]:
        optimizers.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            parts = _loss_parts(model, batch)
        loss = parts["loss"]
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the loss became {loss.item()} at step {step}: lower the learning rate "
                                     f"(lr={lr}) or set grad_clip")
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizers)
        else:
            loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        if scaler is not None:
            scaler.step(optimizers)
            scaler.update()
        else:
            optimizers.step()
        return parts

    step, sums, pending, in_round = 0, {}, {}, 0
    model.train()
    try:
        while step < total_steps:
            for batch in train_data:
                batch = to_device(batch, device)
                parts = custom_step(model, batch, optimizers, step) if step_fn else (
                    custom_step(batch, optimizers, step) if custom_step else default_step(batch))
                step += 1
                in_round += 1
                for key, value in parts.items():
                    value = value.detach() if isinstance(value, torch.Tensor) else torch.tensor(float(value))
                    sums[key] = sums.get(key, 0.0) + value
                    pending.setdefault(key, []).append(value)  # tensors until the round ends (one sync per round)
                bar.update(1)
                if in_round == round_len or step == total_steps:
                    record = {"step": step, "epoch": step / per_epoch}
                    record.update({f"train/{k}": float(v) / in_round for k, v in sums.items()})
                    if val_data is not None:
                        record.update({f"val/{k}": v for k, v in evaluate(model, val_data, device).items()})
                    history._append(history.rounds, record)
                    for key, values in pending.items():
                        history.steps.setdefault(key, []).extend(torch.stack(values).float().tolist())
                    sums, pending, in_round = {}, {}, 0
                    postfix = {"loss": f"{record['train/loss']:.4g}"}
                    watched = record.get("val/loss", record["train/loss"])
                    if val_data is not None:
                        postfix["val"] = f"{watched:.4g}"
                    bar.set_postfix(postfix)
                    improved = watched < best_val
                    if improved:
                        best_val, rounds_since_best = watched, 0
                        history.best_round = len(history.rounds["step"]) - 1
                        if restore_best and val_data is not None:
                            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
                    else:
                        rounds_since_best += 1
                    if checkpoint_path is not None and (improved or val_data is None):
                        save_checkpoint(checkpoint_path, model, optimizers if isinstance(optimizers, torch.optim.Optimizer) else None,
                                        step=step, history=history.as_dict())
                    if patience is not None and rounds_since_best >= patience:
                        history.stopped_early = True
                        return history
                if step >= total_steps:
                    break
    finally:
        bar.close()
        if best_state is not None and restore_best:
            model.load_state_dict(best_state)
        model.eval()
    return history
