"""One disk cache for everything the course trains once and loads afterwards.

Lecture models (`coursekit.training.train_cached`) and the evaluation classifiers
(`coursekit.evaluation.classifier`) are both stored here, as state-dict checkpoints written
atomically:

    <root>/<kind>/<label>-<key[:16]>.pt      kind = "models" | "classifiers"

`root` is the `cache_dir` argument, else `$COURSEKIT_CACHE`, else `~/.cache/coursekit`.
`key` is a SHA-256 of everything that decides the stored weights, computed by the caller.
A file that cannot be read is a cache miss (with a warning): the caller trains again and the
file is overwritten; nothing of the user's is lost. A file that cannot be written (a read-only
or full disk) leaves the trained model in memory, with a warning.
"""
from __future__ import annotations

import copy
import inspect
import os
import re
import types
import warnings
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .utils import resolve_cache_dir

__all__ = ["cache_root", "cache_path", "load_cached", "store_cached", "source_key", "torch_version", "KINDS"]

KINDS = ("models", "classifiers")
"""The folders of the cache: trained lecture models and evaluation classifiers."""


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache's root folder: `cache_dir`, else `$COURSEKIT_CACHE`, else `~/.cache/coursekit`."""
    return resolve_cache_dir(cache_dir)


def cache_path(kind: str, label: str, key: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where an entry lives: `<root>/<kind>/<label>-<key[:16]>.pt` (the label is made file-name safe)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(key, str) or not re.fullmatch(r"[0-9a-f]{16,}", key):
        raise ValueError(f"key must be a hex digest (at least 16 characters), got {key!r}")
    safe = re.sub(r"[^A-Za-z0-9_.=-]+", "_", label) or "model"
    return cache_root(cache_dir) / kind / f"{safe}-{key[:16]}.pt"


def torch_version() -> str:
    """torch's major.minor version, part of every key (a new PyTorch may train to other weights)."""
    return ".".join(torch.__version__.split("+")[0].split(".")[:2])


def _classes_of(model: nn.Module) -> list[type]:
    """Every class whose code runs in `model`: the MRO of the model's type and of each submodule's."""
    seen: dict[type, None] = {}
    for module in model.modules():
        for cls in type(module).__mro__:
            if cls.__module__.split(".")[0] not in ("torch", "builtins", "typing", "abc"):
                seen.setdefault(cls)
    return list(seen)


def source_key(h, model: nn.Module | None = None, modules: Iterable[types.ModuleType] = ()) -> None:
    """Feed the hashlib object `h` the code that decides trained weights: the source files of every
    class in `model` (the model's own, its layers' — e.g. `models/layers.py` — and their bases,
    with the helper functions in those files), and of `modules` (e.g. the training loop).

    A class without a file (defined in a notebook cell) is hashed by its own source; one whose
    source Python cannot find is refused, since a key that misses code would serve stale weights.
    """
    files: dict[str, bytes] = {}
    for cls in _classes_of(model) if model is not None else []:
        try:
            path = inspect.getsourcefile(cls)
            if path:
                files.setdefault(str(Path(path).resolve()), Path(path).read_bytes())
                continue
        except (OSError, TypeError):
            pass
        try:
            files.setdefault(f"<{cls.__module__}.{cls.__qualname__}>", inspect.getsource(cls).encode())
        except (OSError, TypeError) as err:
            raise TypeError(f"the cache needs the source of {cls.__qualname__} to key it, and Python cannot find "
                            f"it ({err}); define the model in a .py file, or train without the cache") from err
    for module in modules:
        files.setdefault(str(Path(module.__file__).resolve()), Path(module.__file__).read_bytes())
    for name in sorted(files, key=lambda f: Path(f).name if not f.startswith("<") else f):
        h.update(Path(name).name.encode() if not name.startswith("<") else name.encode())
        h.update(files[name])


def load_cached(path: str | os.PathLike, model: nn.Module, key: str, required: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """Load the entry at `path` into `model`; return what was saved beside the weights, or None.

    None means a miss: no file, or a file that cannot be used (unreadable, saved under another
    key, lacking one of `required`), which is reported with a warning. On a miss the model's
    weights are exactly what they were before the call.
    """
    path = Path(path)
    if not path.exists():
        return None
    initial = copy.deepcopy(model.state_dict())   # put back if the file turns out unusable half-way
    try:
        extra = load_checkpoint(path, model)
        if extra.get("key") != key:
            raise CheckpointError(f"it was saved under another key ({str(extra.get('key'))[:16]}...)")
        missing = [name for name in required if name not in extra]
        if missing:
            raise CheckpointError(f"it lacks {missing}")
    except (CheckpointError, KeyError, TypeError, AttributeError) as err:
        model.load_state_dict(initial)
        warnings.warn(f"the cached file {path} could not be used ({err}); it is trained again and overwritten",
                      stacklevel=3)
        return None
    return extra


def store_cached(path: str | os.PathLike, model: nn.Module, key: str, **extra: Any) -> bool:
    """Save `model` and `extra` (with `key`) at `path` atomically; False, with a warning, if the disk refuses."""
    try:
        save_checkpoint(path, model, key=key, **extra)
    except OSError as err:
        warnings.warn(f"the trained model could not be cached at {path} ({err}); it is returned, but the next run "
                      f"will train it again", stacklevel=3)
        return False
    return True
