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
import functools
import hashlib
import inspect
import math
import os
import re
import types
import warnings
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import torch
from torch import nn
from tqdm.auto import tqdm

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .utils import hash_tensor, resolve_cache_dir, resolve_device, seed_everything

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


# --- train once, load afterwards ---------------------------------------------------------------

_CACHE_FORMAT = 2  # bump when the meaning of a cached model changes
_NOT_IN_KEY = ("device", "progress", "desc", "checkpoint_path")  # do not change the weights trained
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
    """Hash the code that decides the weights: the files that define the model's classes (with
    their helper functions), or a class's own source where it has no file, and this file."""
    for cls in type(model).__mro__:
        if cls.__module__.split(".")[0] in ("torch", "builtins"):
            continue
        try:
            h.update(Path(inspect.getsourcefile(cls) or "").read_bytes())
            continue
        except (OSError, TypeError):
            pass
        try:
            h.update(inspect.getsource(cls).encode())  # e.g. a class defined in a notebook cell
        except (OSError, TypeError) as err:
            raise TypeError(f"train_cached needs the source of {cls.__qualname__} to key its cache, and Python "
                            f"cannot find it ({err}); define the model in a .py file, or use `train`") from err
    h.update(Path(__file__).read_bytes())    # the training loop itself


def cache_key(model: nn.Module, train_data: Iterable, **train_options: Any) -> str:
    """The SHA-256 under which `train_cached` stores `model` trained on `train_data` with `train_options`.

    It covers what decides the trained weights: the source of the model's classes and of the
    training loop, its `config`, plain attributes and layers, its initial weights (so the seed
    it was built with), the training options with `train`'s defaults filled in (`epochs`,
    `lr`, `seed`, `patience`, ... but not `device` or `progress`), the training and
    validation data (tensors, batch size, sampler, the code of the transform or collate
    function), torch's major.minor version and the cache format. Change any of them and the
    model is trained afresh; what it cannot describe (a custom step, an optimiser, a loader
    over another kind of data set) it refuses with a TypeError.
    """
    for option in ("optimizer", "step_fn", "checkpoint_path"):
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
    torch_version = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    cls = type(model)
    h.update(repr((_CACHE_FORMAT, cls.__module__, cls.__qualname__, torch_version,
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


def train_cached(model: nn.Module, train_data: Iterable, *, cache_dir: str | os.PathLike | None = None,
                 name: str | None = None, retrain: bool = False, **train_options: Any) -> History:
    """`train(model, train_data, **train_options)` the first time; later calls load the result.

    The trained weights and history go to `<cache_dir>/models/<name>-<key>.pt` (`cache_dir`
    defaults to `$COURSEKIT_CACHE`, else `~/.cache/coursekit`), with `key = cache_key(...)`:
    the same model code, configuration, initial weights, options and data give the same
    file, so a lecture that trains a set of models re-runs in seconds and a changed parameter
    trains afresh. The returned history has `from_cache=True` when it was loaded.
    `retrain=True` trains and overwrites. A cached file that cannot be read is trained
    again and replaced (it is a cache: nothing of the user's is lost); if the cache cannot be
    written (a read-only or full disk), the trained model is returned with a warning.
    `train_options` are `train`'s keyword arguments except `optimizer`, `step_fn` and
    `checkpoint_path`.
    """
    key = cache_key(model, train_data, **train_options)
    label = re.sub(r"[^A-Za-z0-9_.=-]+", "_", name or type(model).__name__)
    path = resolve_cache_dir(cache_dir) / "models" / f"{label}-{key[:16]}.pt"
    if path.exists() and not retrain:
        model.to(resolve_device(train_options.get("device", "auto")))
        initial = copy.deepcopy(model.state_dict())   # put back if the file turns out unreadable half-way
        try:
            extra = load_checkpoint(path, model)
            saved = extra["history"]
            history = History(rounds={k: list(v) for k, v in saved["rounds"].items()},
                              steps={k: list(v) for k, v in saved["steps"].items()},
                              best_round=saved["best_round"], stopped_early=saved["stopped_early"], from_cache=True)
        except (CheckpointError, KeyError, TypeError, AttributeError) as err:
            model.load_state_dict(initial)
            warnings.warn(f"the cached model {path} could not be read ({err}); training it again", stacklevel=2)
        else:
            model.eval()
            return history
    history = train(model, train_data, **train_options)
    try:
        save_checkpoint(path, model, history={"rounds": history.rounds, "steps": history.steps,
                                              "best_round": history.best_round, "stopped_early": history.stopped_early})
    except OSError as err:
        warnings.warn(f"the trained model could not be cached at {path} ({err}); it is returned, but the next run "
                      f"will train it again", stacklevel=2)
    return history


__all__ += ["train_cached", "cache_key"]
