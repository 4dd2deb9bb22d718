"""Checkpoints: state dicts written atomically, read back with `weights_only=True`.

A checkpoint is a dict of plain tensors and Python values (never a pickled module, which
breaks across PyTorch versions): `{"format": 1, "model_class": ..., "model": state_dict,
"optimizer": state_dict | None, "extra": {...}}`. Writing goes to a temporary file in the
same folder, then `os.replace`, so a crash mid-write leaves the old checkpoint intact.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .utils import atomic_write

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint"]

FORMAT = 1


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, or does not fit the model it is loaded into."""


def save_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    **extra: Any) -> Path:
    """Atomically write the model's (and optimiser's) state dict to `path`; returns the path."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "model_class": type(model).__name__,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "extra": extra,
    }
    with atomic_write(path) as f:
        torch.save(payload, f)
    return path


def load_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    map_location: str | torch.device | None = None) -> dict[str, Any]:
    """Load a checkpoint written by `save_checkpoint` into `model` (and `optimizer`).

    Tensors are mapped to the model's device unless `map_location` says otherwise. Returns the
    `extra` dict saved with it. Raises `CheckpointError` with what was expected and what came
    for a missing, corrupt or mismatched file; the model is left untouched in that case.
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
    model.load_state_dict(payload["model"])
    if optimizer is not None:
        if payload["optimizer"] is None:
            raise CheckpointError(f"{path} has no optimizer state, but an optimizer was given to load into")
        optimizer.load_state_dict(payload["optimizer"])
    return payload["extra"]


def _check_state_dict(path: Path, expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor]) -> None:
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
        raise CheckpointError(f"{path} does not fit this model (was it saved with another configuration?): "
                              + "; ".join(problems))
