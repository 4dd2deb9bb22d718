"""Train once, load afterwards: `train_cached` keys a trained model on everything that decides
its weights and keeps it in the course's disk cache (`coursekit.cache`)."""
from __future__ import annotations

import copy
import functools
import hashlib
import inspect
import os
import time
import types
import warnings
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from ..cache import cache_path, load_cached, source_key, store_cached, torch_version
from ..utils import hash_tensor, resolve_device
from . import ema as ema_module, loop, schedules, step
from .distributed import ranks_for
from .ema import EMA
from .loop import History, train

__all__ = ["train_cached", "cache_key"]

_CACHE_FORMAT = 2  # bump when the meaning of a cached model changes
_NOT_IN_KEY = ("device", "progress", "desc", "checkpoint_path", "distributed")  # do not change the weights trained
_REFUSED = ("optimizer", "step_fn", "checkpoint_path", "resume_from")            # the key cannot describe them
_SIMPLE = (int, float, str, bool, bytes, type(None))
_TRAIN_SIGNATURE = inspect.signature(train)   # train's options and their defaults, for the key


def _value_key(value: Any, what: str) -> Any:
    """A stable, address-free description of an argument or constant for the cache key."""
    if isinstance(value, _SIMPLE):
        return value
    if isinstance(value, (tuple, list)):
        return type(value).__name__, tuple(_value_key(v, what) for v in value)
    if isinstance(value, dict):
        return "dict", tuple(sorted((repr(k), _value_key(v, what)) for k, v in value.items()))
    if isinstance(value, torch.Tensor):
        h = hashlib.sha256()
        hash_tensor(h, value)
        return "tensor", h.hexdigest()
    if isinstance(value, torch.dtype):
        return str(value)
    if isinstance(value, types.CodeType):
        return ("code", value.co_code, value.co_names, tuple(_value_key(c, what) for c in value.co_consts))
    if callable(value):
        return _callable_key(value, what)
    raise TypeError(f"train_cached cannot key a cache on {what} = {value!r} ({type(value).__name__}); "
                    f"use `train` to train without a cache")


def _callable_key(fn: Any, what: str) -> Any:
    """Key a transform or collate function by its code (so two lambdas differ) and what it closes over."""
    if isinstance(fn, functools.partial):
        return ("partial", _callable_key(fn.func, what), _value_key(fn.args, what), _value_key(fn.keywords, what))
    module = getattr(fn, "__module__", None)
    if module is not None and module.split(".")[0] in ("torch", "builtins", "math", "numpy"):
        return module, getattr(fn, "__qualname__", type(fn).__qualname__)   # library code: its name is its meaning
    code = getattr(fn, "__code__", None)
    if code is None:
        raise TypeError(f"train_cached cannot key a cache on {what}, a {type(fn).__name__} without code to hash; "
                        f"pass a function or a lambda, or use `train`")
    closure = tuple(_value_key(c.cell_contents, what) for c in (fn.__closure__ or ()))
    return ("function", module, fn.__qualname__, _value_key(code, what), closure,
            _value_key(fn.__defaults__ or (), what), _value_key(fn.__kwdefaults__ or {}, what))


def _data_key(h, data: Iterable, name: str) -> None:
    """Hash what a loader yields: its data set's tensors, batch size, sampler, collate/transform and length."""
    dataset = getattr(data, "dataset", None)
    tensors = [getattr(dataset, a) for a in ("x", "y", "factors") if isinstance(getattr(dataset, a, None), torch.Tensor)]
    if not tensors and isinstance(dataset, torch.utils.data.TensorDataset):
        tensors = list(dataset.tensors)
    if not tensors:
        raise TypeError(f"{name} must be a DataLoader over an ImageSplit or a TensorDataset, so that the cache "
                        f"key can cover the data it trains on; got {type(data).__name__} over "
                        f"{type(dataset).__name__}. Use `train` to train without a cache.")
    collate = getattr(data, "collate_fn", None)
    if hasattr(collate, "transform"):        # coursekit.data.loaders' collate: what matters is its transform
        collate_key = ("transform", None if collate.transform is None else _callable_key(collate.transform, f"{name}'s transform"))
    else:
        collate_key = ("collate_fn", _callable_key(collate, f"{name}'s collate_fn"))
    h.update(repr((name, len(data), getattr(data, "batch_size", None), getattr(data, "drop_last", None),
                   type(getattr(data, "sampler", None)).__name__, collate_key)).encode())
    for t in tensors:
        hash_tensor(h, t)


def _source_key(h, model: nn.Module) -> None:
    """Hash the code that decides the weights: the source files of every class in the model (its
    own, its layers', their bases) and of the training loop (loop, step, schedules, ema)."""
    source_key(h, model, modules=(loop, step, schedules, ema_module))


def cache_key(model: nn.Module, train_data: Iterable, **train_options: Any) -> str:
    """The SHA-256 under which `train_cached` stores `model` trained on `train_data` with `train_options`.

    It covers what decides the trained weights: the source of the model's classes and of the
    training loop, its `config`, plain attributes and layers, its initial weights (so the seed
    it was built with), the training options with `train`'s defaults filled in (`epochs`,
    `lr`, `seed`, `patience`, `ema_decay`, `lr_schedule`, ... but not `device`, `progress` or
    `distributed`, which say where and how, not what, is trained), the training and
    validation data (tensors, batch size, sampler, the code of the transform or collate
    function), torch's major.minor version and the cache format. Change any of them and the
    model is trained afresh; what it cannot describe (a custom step, an optimiser, a loader
    over another kind of data set) it refuses with a TypeError.
    """
    for option in _REFUSED:
        if train_options.get(option) is not None:
            raise TypeError(f"train_cached does not take {option!r} (got {type(train_options[option]).__name__}): "
                            f"it cannot key a cache on it; use `train`")
    try:
        bound = _TRAIN_SIGNATURE.bind(model, train_data, **train_options)
    except TypeError as err:
        raise TypeError(f"train_cached passes its options to `train`, which refuses them: {err}") from err
    bound.apply_defaults()
    options = {k: v for k, v in bound.arguments.items()
               if k not in _NOT_IN_KEY and k not in ("model", "train_data", "val_data")}
    h = hashlib.sha256()
    _source_key(h, model)
    cls = type(model)
    h.update(repr((_CACHE_FORMAT, cls.__module__, cls.__qualname__, torch_version(),
                   sorted((k, _value_key(v, k)) for k, v in options.items()))).encode())
    h.update(repr(getattr(model, "config", None)).encode())   # e.g. a VAE's beta_kl, which no weight shows
    plain = {k: v for k, v in vars(model).items() if not k.startswith("_") and isinstance(v, _SIMPLE + (tuple,))}
    h.update(repr(sorted((k, _value_key(v, k)) for k, v in plain.items())).encode())  # hyperparameters kept as attributes
    h.update(repr(model).encode())                            # the layers
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        hash_tensor(h, tensor)
    _data_key(h, train_data, "train_data")
    if bound.arguments.get("val_data") is not None:
        _data_key(h, bound.arguments["val_data"], "val_data")
    return h.hexdigest()


def _report(model: nn.Module, name: str | None, history: History, seconds: float | None) -> None:
    """One line: what was trained, how long, or that it came from the cache. The best round is named only
    when there was validation data to pick it by; a run that stopped inside an epoch says its steps."""
    where = "loaded from the cache" if seconds is None else f"trained in {seconds:.1f} s"
    rounds = len(history.rounds.get("step", []))
    validated = any(key.startswith("val/") for key in history.rounds)
    best = f" (best {history.best_round + 1})" if validated and history.best_round is not None else ""
    epochs = history.rounds.get("epoch", [])
    if epochs and epochs[-1] != int(epochs[-1]):   # a step-based run: e.g. "750 steps (46.9 epochs)"
        done = f"{int(history.rounds['step'][-1]):,} steps ({epochs[-1]:.1f} epochs)"
    else:
        done = f"{rounds} {'epochs' if epochs else 'evaluation rounds'}"
    print(f"{name or type(model).__name__}: {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"{done}{best}, {where}")


def train_cached(model: nn.Module, train_data: Iterable, *, cache_dir: str | os.PathLike | None = None,
                 name: str | None = None, retrain: bool = False, report: bool = False,
                 **train_options: Any) -> History:
    """`train(model, train_data, **train_options)` the first time; later calls load the result.

    The trained weights and history go to the course's one disk cache (`coursekit.cache`),
    `<cache_dir>/models/<name>-<key[:16]>.pt` (`cache_dir` defaults to `$COURSEKIT_CACHE`,
    else `~/.cache/coursekit`), with `key = cache_key(...)`: the same model code,
    configuration, initial weights, options and data give the same file, so a lecture that
    trains a set of models re-runs in seconds and a changed parameter trains afresh. The
    returned history has `from_cache=True` when it was loaded. `retrain=True` trains and
    overwrites. A cached file that cannot be read is trained again and replaced (it is a
    cache: nothing of the user's is lost); if the cache cannot be written (a read-only or
    full disk), the trained model is returned with a warning. `train_options` are `train`'s
    keyword arguments except `optimizer`, `step_fn`, `checkpoint_path` and `resume_from`. With
    `ema_decay`, the weight average is cached too and comes back as `history.ema`. `report=True`
    prints the lectures' one line: the name, parameters, epochs (and the best one), and the
    seconds of training or "loaded from the cache".

    It runs in one process (the notebooks): under torchrun, where several processes would
    each train on a shard and race to one file, it refuses; use `train` with `checkpoint_path`.
    """
    if train_options.get("distributed", "auto") is not False and ranks_for("auto") is not None:
        raise RuntimeError("train_cached runs in one process, but torch.distributed is initialised with "
                           f"{torch.distributed.get_world_size()} processes; under torchrun use `train` with "
                           "checkpoint_path (scripts/train_ddp.py), or pass distributed=False to train this model "
                           "in each process alone")
    key = cache_key(model, train_data, **train_options)
    path = cache_path("models", name or type(model).__name__, key, cache_dir)
    model.to(resolve_device(train_options.get("device", "auto")))
    initial = copy.deepcopy(model.state_dict())   # put back if a cached file turns out unusable
    if not retrain:
        extra = load_cached(path, model, key, required=("history",))
        if extra is not None:
            try:
                saved = extra["history"]
                history = History(rounds={k: list(v) for k, v in saved["rounds"].items()},
                                  steps={k: list(v) for k, v in saved["steps"].items()},
                                  best_round=saved["best_round"], stopped_early=saved["stopped_early"],
                                  from_cache=True)
                if train_options.get("ema_decay") is not None:
                    history.ema = EMA(model, train_options["ema_decay"])
                    history.ema.load_state_dict(extra["ema_state"])
            except (KeyError, TypeError, AttributeError, ValueError, RuntimeError) as err:
                model.load_state_dict(initial)
                warnings.warn(f"the cached model {path} has an unreadable history ({err}); training it again",
                              stacklevel=2)
            else:
                model.eval()
                if report:
                    _report(model, name, history, None)
                return history
    start = time.perf_counter()
    history = train(model, train_data, **train_options)
    if report:
        _report(model, name, history, time.perf_counter() - start)
    store_cached(path, model, key, history={"rounds": history.rounds, "steps": history.steps,
                                            "best_round": history.best_round, "stopped_early": history.stopped_early},
                 ema_state=history.ema.state_dict() if history.ema is not None else None)
    return history
