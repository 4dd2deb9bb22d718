"""Checkpoints: state dicts written atomically, read back with `weights_only=True`.

A checkpoint is a dict of plain tensors and Python values (never a pickled module, which
breaks across PyTorch versions):

    {"format": 1, "model_class": ..., "model": state_dict,
     "optimizer": state_dict | None,                 # one optimiser
     "optimizers": {name: state_dict} | None,        # several (a GAN's), by name ("0", "1", ... for a list)
     "optimizer_classes": {name: class name},
     "ema": EMA state | None, "scaler": GradScaler state | None, "extra": {...}}

so everything a run needs to resume (all optimisers, the weight average, the mixed-precision
scale, and in `extra` the step counter and history) travels together. Writing goes to a
temporary file in the same folder, then `os.replace`, so a crash mid-write leaves the old
checkpoint intact. Loading checks everything first (model class, every tensor's shape, the
optimisers' names, classes and parameter groups, the EMA's weights) and then loads: a
checkpoint that does not fit raises `CheckpointError`, naming what was expected and what came,
and leaves the model and optimisers untouched.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import torch
from torch import nn

from .utils import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    from .training.ema import EMA

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint"]

FORMAT = 1
_SINGLE = "optimizer"   # the name one optimiser goes by in error messages and "optimizer_classes"

Optimizers = torch.optim.Optimizer | Mapping[str, torch.optim.Optimizer] | Sequence[torch.optim.Optimizer]


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, or does not fit the model it is loaded into."""


def _named(optimizer: Optimizers) -> dict[str, torch.optim.Optimizer] | None:
    """Several optimisers by name (a list's are "0", "1", ...); None for a single optimiser."""
    if isinstance(optimizer, torch.optim.Optimizer):
        return None
    if isinstance(optimizer, Mapping):
        named = {str(k): v for k, v in optimizer.items()}
    elif isinstance(optimizer, (list, tuple)):
        named = {str(i): v for i, v in enumerate(optimizer)}
    else:
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, or a dict or list of them, "
                        f"got {type(optimizer).__name__}")
    bad = {k: type(v).__name__ for k, v in named.items() if not isinstance(v, torch.optim.Optimizer)}
    if bad or not named:
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, or a non-empty dict or list of them; "
                        f"got {bad or 'an empty ' + type(optimizer).__name__}")
    return named


def save_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer: Optimizers | None = None, *,
                    ema: EMA | None = None, scaler: torch.amp.GradScaler | None = None, **extra: Any) -> Path:
    """Atomically write the state of `model` and of what trains it to `path`; returns the path.

    `optimizer` is one optimiser, or a dict (or list) of several, saved together; `ema` a
    `coursekit.training.EMA`; `scaler` a mixed-precision `GradScaler`; `extra` anything else
    made of tensors and plain Python values (a step counter, a history, a cache key).
    """
    path = Path(path)
    named = _named(optimizer) if optimizer is not None else None
    single = optimizer if optimizer is not None and named is None else None
    classes = {k: type(v).__name__ for k, v in (named or ({_SINGLE: single} if single is not None else {})).items()}
    payload = {
        "format": FORMAT,
        "model_class": type(model).__name__,
        "model": model.state_dict(),
        "optimizer": single.state_dict() if single is not None else None,
        "optimizers": {k: v.state_dict() for k, v in named.items()} if named is not None else None,
        "optimizer_classes": classes,
        "ema": ema.state_dict() if ema is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "extra": extra,
    }
    with atomic_write(path) as f:
        torch.save(payload, f)
    return path


def load_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer: Optimizers | None = None,
                    map_location: str | torch.device | None = None, *, ema: EMA | None = None,
                    scaler: torch.amp.GradScaler | None = None, require_extra: Sequence[str] = ()) -> dict[str, Any]:
    """Load a checkpoint written by `save_checkpoint` into `model` (and `optimizer`, `ema`, `scaler`).

    `optimizer` must have the shape it was saved with: one optimiser, or a dict (list) with the
    same names (length). `ema` must be given if and only if it should be restored (a checkpoint
    with an EMA loads into a bare model too); `scaler` is restored when the checkpoint has its
    state and left as it is otherwise (a scale is re-learnt within a few steps). Tensors are
    mapped to the model's device unless `map_location` says otherwise. Returns the `extra`
    dict saved with it, which must hold the keys `require_extra` (e.g. the training state that
    `train(resume_from=...)` needs). Raises `CheckpointError` with what was expected and what came for a
    missing, corrupt or mismatched file; nothing is loaded in that case.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path} (expected a file written by save_checkpoint; "
                              f"train the model first or check the path)")
    if map_location is None:
        first = next(iter(model.state_dict().values()), None)
        map_location = first.device if first is not None else "cpu"
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"could not read the checkpoint {path}: it is corrupt, truncated or not a "
                              f"checkpoint ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "model" not in payload:
        raise CheckpointError(f"{path} is not a coursekit checkpoint (expected a dict with format {FORMAT} "
                              f"and a 'model' state dict, got {type(payload).__name__})")
    if payload["model_class"] != type(model).__name__:
        raise CheckpointError(f"{path} holds a {payload['model_class']}, but it is being loaded into a "
                              f"{type(model).__name__}")
    _check_state_dict(path, model.state_dict(), payload["model"])
    lacking = [key for key in require_extra if key not in (payload.get("extra") or {})]
    if lacking:
        raise CheckpointError(f"{path} lacks {lacking} (it has {sorted(payload.get('extra') or {})}): it was not "
                              f"written by train(checkpoint_path=...), so there is no training state to resume")
    pairs = _optimizer_pairs(path, optimizer, payload) if optimizer is not None else []
    if ema is not None:
        saved = payload.get("ema")
        if saved is None:
            raise CheckpointError(f"{path} has no EMA state, but an EMA (decay {ema.decay}) was given to load into")
        if float(saved["decay"]) != ema.decay:
            raise CheckpointError(f"{path} holds an EMA with decay {saved['decay']}, but one with decay {ema.decay} "
                                  f"was given to load into")
        _check_state_dict(path, ema.model.state_dict(), saved["model"], what="its EMA")
    model.load_state_dict(payload["model"])
    for opt, state in pairs:
        opt.load_state_dict(state)
    if ema is not None:
        ema.load_state_dict(payload["ema"])
    if scaler is not None and payload.get("scaler") is not None:
        scaler.load_state_dict(payload["scaler"])
    return payload["extra"]


def _optimizer_pairs(path: Path, optimizer: Optimizers, payload: dict) -> list[tuple[torch.optim.Optimizer, dict]]:
    """Match the given optimiser(s) with the saved states by name, checking class and parameter groups."""
    named = _named(optimizer)
    several, single = payload.get("optimizers"), payload.get("optimizer")
    if named is None:
        if single is None:
            if several is not None:
                raise CheckpointError(f"{path} holds several optimizers {sorted(several)}, but one optimizer was "
                                      f"given to load into; pass a dict (or list) with those names")
            raise CheckpointError(f"{path} has no optimizer state, but an optimizer was given to load into")
        given, saved = {_SINGLE: optimizer}, {_SINGLE: single}
    else:
        if several is None:
            held = "one optimizer" if single is not None else "no optimizer state"
            raise CheckpointError(f"{path} has {held}, but optimizers {sorted(named)} were given to load into")
        if sorted(several) != sorted(named):
            raise CheckpointError(f"{path} holds optimizers {sorted(several)}, but {sorted(named)} were given "
                                  f"to load into")
        given, saved = named, several
    classes = payload.get("optimizer_classes") or {}
    for name, opt in given.items():
        if name in classes and classes[name] != type(opt).__name__:
            raise CheckpointError(f"{path}: optimizer {name!r} was saved as {classes[name]}, but "
                                  f"{type(opt).__name__} was given to load into")
        expected = [len(g["params"]) for g in opt.param_groups]
        got = [len(g["params"]) for g in saved[name]["param_groups"]]
        if expected != got:
            raise CheckpointError(f"{path}: optimizer {name!r} has parameter groups of sizes {got} in the "
                                  f"checkpoint, but the one given has {expected}")
    return [(opt, saved[name]) for name, opt in given.items()]


def _check_state_dict(path: Path, expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor],
                      what: str = "this model") -> None:
    """Name every missing key, unexpected key and shape mismatch at once, before loading anything."""
    problems = []
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    if missing:
        problems.append(f"missing {missing}")
    if unexpected:
        problems.append(f"unexpected {unexpected}")
    for key in sorted(set(expected) & set(got)):
        if tuple(expected[key].shape) != tuple(got[key].shape):
            problems.append(f"{key}: the model has shape {tuple(expected[key].shape)}, "
                            f"the checkpoint {tuple(got[key].shape)}")
    if problems:
        raise CheckpointError(f"{path} does not fit {what} (was it saved with another configuration?): "
                              + "; ".join(problems))
