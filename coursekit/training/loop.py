"""One training loop for every model that follows the course's contract.

    history = train(model, loaders["train"], val_data=loaders["val"], epochs=20)

The model provides `loss(batch) -> dict` with `"loss"` (and named parts such as `"recon"`,
`"kl"`); the loop does the rest: device placement (`device="auto"`: CUDA, then MPS, then
CPU), seeding, a progress bar (text in a terminal; in Jupyter an HTML bar updated in place,
not a widget: see `_progress_bar`),
validation, early stopping with the best weights restored, optional mixed precision on CUDA,
gradient clipping, a weight average (EMA), learning-rate warm-up and cosine decay, atomic
checkpoints that a run resumes from, and a `History` of every named loss part.

Training length is set in `epochs` or `steps`, never in seconds, so a seeded run reproduces.

Models that need their own optimisation step (a GAN's two optimisers, k critic steps per
generator step) define `configure_optimizers(lr)` and `training_step(batch, optimizers, step, ctx)`,
or the caller passes `step_fn(model, batch, optimizers, step, ctx)`; the loop then calls that
instead of its default step, under the same autocast, and `ctx` (a `StepContext`, see step.py)
gives it the default step's non-finite check, gradient scaling, clipping and averaging.

Under `torchrun` the same call trains data-parallel with DistributedDataParallel (see
distributed.py and scripts/train_ddp.py); the notebooks stay single-process.
"""
from __future__ import annotations

import copy
import functools
import html
import inspect
import math
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from tqdm.std import tqdm

from ..checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ..utils import resolve_device, seed_everything
from .distributed import LossForward, Ranks, broadcast_model, mean_over_ranks, on_main, ranks_for, shard_loader
from .ema import EMA
from .schedules import LRSchedule
from .step import StepContext, check_finite, current_lr, loss_parts, optimizer_list

__all__ = ["History", "train", "evaluate", "to_device"]


@dataclass
class History:
    """What happened during training.

    `rounds` holds one value per evaluation round (an epoch, or `eval_every` steps): the keys
    "epoch" and "step" say when, "train/<part>" is the mean of each loss part over the values
    logged in the round and "val/<part>" its value on the validation data. `steps` holds every
    optimisation step's values ("loss", ...) and its learning rate ("lr", or "lr/<name>" for
    each of several optimisers). `history["val/loss"]` reads a round series. `ema` is the
    weight average when training kept one (`ema_decay`): `history.ema.model` is the averaged model.

    Every series is aligned with its index: `steps[key][s]` belongs to optimisation step s
    (0-based) and `rounds[key][r]` to the round that ended at `rounds["step"][r]`. A part that
    a custom step reports on some steps only (a GAN's "g_loss" once every k critic steps) is
    NaN on the steps that did not report it (and in a round where it was never reported);
    its round mean is the mean of the values logged, not divided by the steps that lacked it.
    `history.logged("g_loss")` gives the steps and values actually logged (NaNs left out),
    e.g. `plt.plot(*history.logged("g_loss"))`; `numpy.nanmean` averages such a series.
    """

    rounds: dict[str, list[float]] = field(default_factory=dict)
    steps: dict[str, list[float]] = field(default_factory=dict)
    best_round: int | None = None
    stopped_early: bool = False
    from_cache: bool = False
    """True when `train_cached` loaded the model and this history from its cache instead of training."""
    ema: EMA | None = field(default=None, repr=False)

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.rounds:
            raise KeyError(f"no series {key!r} in the history; it has {sorted(self.rounds)}")
        return self.rounds[key]

    def __contains__(self, key: str) -> bool:
        return key in self.rounds

    def as_dict(self) -> dict[str, list[float]]:
        """The per-round series, e.g. for `coursekit.viz.training_curves` or a checkpoint."""
        return {k: list(v) for k, v in self.rounds.items()}

    def last(self, key: str) -> float:
        return self[key][-1]

    def logged(self, key: str) -> tuple[list[int], list[float]]:
        """The optimisation steps (0-based) at which the per-step series `key` was logged, and
        its values there: `history.steps[key]` without the NaNs of the steps that did not report it."""
        if key not in self.steps:
            raise KeyError(f"no per-step series {key!r} in the history; it has {sorted(self.steps)}")
        pairs = [(s, v) for s, v in enumerate(self.steps[key]) if not math.isnan(v)]
        return [s for s, _ in pairs], [v for _, v in pairs]


def _in_jupyter_kernel() -> bool:
    """Whether this process is a Jupyter kernel whose frontend renders rich output (JupyterLab,
    Notebook, VS Code, Colab, JupyterLite): tqdm.autonotebook's test, which leaves the Qt console
    and Spyder (and plain IPython) with the text bar."""
    zmqshell = sys.modules.get("ipykernel.zmqshell")
    if zmqshell is not None:
        if any(key == "QT_API" or key.startswith("SPYDER") for key in os.environ):
            return False
        shell = sys.modules["IPython"].get_ipython()
        name = type(shell).__name__.lower()
        return isinstance(shell, zmqshell.ZMQInteractiveShell) and "qt" not in name and "spyder" not in name
    return "IPython.utils._process_emscripten" in sys.modules   # JupyterLite (pyodide, xeus)


class _DisplayBar(tqdm):
    """tqdm's counting, rate and ETA, shown as one HTML progress bar (with a text/plain twin) that a
    display handle updates in place: one `display_data` output, then `update_display_data`
    messages on IOPub, at most every `mininterval` seconds.

    Not `tqdm.notebook` (an ipywidgets HBox): a widget opens comms, and JupyterLab >= 4.4 answers
    the first comm of a target with a `create_subshell_request` on the control channel when the
    kernel supports subshells (ipykernel 7). The kernel handles it concurrently with the running
    cell and publishes `busy`/`idle` for it on IOPub; JupyterLab's indicator takes that `idle`
    and shows the kernel Idle for the rest of the training cell. A display update opens no comm
    and asks the frontend for nothing, so the indicator stays Busy until the cell ends; the saved
    notebook keeps one small output (the bar's last state) instead of a widget view and its state.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["gui"] = True   # tqdm then neither prints nor sets up a screen printer: display() below shows it
        super().__init__(*args, **kwargs)
        self._handle = None
        if self.disable:
            return
        from IPython.display import display
        self._handle = display(self._bundle(), raw=True, display_id=True)

    def _bundle(self, style: str = "") -> dict[str, str]:
        meter = self.format_dict
        meter["ncols"] = None   # the width is the cell's, not a terminal's
        text = self.format_meter(**meter)
        meter["bar_format"] = (meter["bar_format"] or "{l_bar}<bar/>{r_bar}").replace("{bar}", "<bar/>")
        left, _, right = self.format_meter(**meter).partition("<bar/>")
        left, right = (html.escape(part.strip().strip("|").strip()) for part in (left, right))
        total = self.total or 0
        value = min(self.n, total) if total else 0
        colour = {"success": "var(--jp-success-color1, #4caf50)",
                  "stopped": "var(--jp-warn-color1, #ff9800)"}.get(style, "var(--jp-brand-color1, #2196f3)")
        fill = f"{100 * value / total:.1f}%" if total else "100%"
        bar = (f'<div style="flex:1 1 12em;max-width:32em;height:0.9em;background:var(--jp-layout-color3, #ddd);'
               f'border-radius:2px;overflow:hidden"><div style="width:{fill};height:100%;background:{colour}">'
               f'</div></div>')
        page = (f'<div class="coursekit-progress" style="display:flex;align-items:center;gap:0.6em;'
                f'font-family:var(--jp-code-font-family, monospace);font-size:var(--jp-code-font-size, 13px)">'
                f'<span style="white-space:pre">{left}</span>{bar}<span style="white-space:pre">{right}</span></div>')
        return {"text/plain": text, "text/html": page}

    def display(self, msg: str | None = None, pos: int | None = None, style: str = "") -> bool:
        handle = getattr(self, "_handle", None)
        if handle is None:
            return False
        handle.update(self._bundle(style), raw=True)
        return True

    def clear(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to clear (tqdm.write() calls this on every bar): the display is replaced, not overprinted."""

    def close(self) -> None:
        if getattr(self, "disable", True):
            return
        super().close()   # gui mode: tqdm's own close prints nothing
        done = bool(self.total) and self.n >= self.total
        self.display(style="success" if done else "stopped")   # stopped early, or by an error


def _progress_bar(**kwargs: Any) -> tqdm:
    """The training loop's progress bar: tqdm's text bar in a terminal, `_DisplayBar` in Jupyter."""
    if _in_jupyter_kernel():
        return _DisplayBar(**kwargs)
    return tqdm(dynamic_ncols=True, **kwargs)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move a batch (a tensor, or a tuple/list/dict of them) to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


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
        for key, value in loss_parts(model, batch).items():
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
        optimizers = model.configure_optimizers(lr)
        optimizer_list(optimizers)  # one, or a dict / list of several: anything else is refused here
        return optimizers
    if optimizer is not None:
        return optimizer
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{type(model).__name__} has no trainable parameters; nothing for train() to do "
                         f"(a closed-form model such as PixelCategorical is fitted with .fit())")
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def _custom_step(model: nn.Module, step_fn: Callable | None) -> tuple[Callable | None, bool, str, str]:
    """The custom step as `call(batch, optimizers, step, **ctx)` (None: the default step), whether it
    takes `ctx`, and, for an error message, the step as found and the signature expected."""
    fn = step_fn if step_fn is not None else getattr(model, "training_step", None)
    if fn is None:
        return None, True, "", ""
    if step_fn is not None:
        name = f"step_fn {getattr(step_fn, '__qualname__', type(step_fn).__name__)}"
        expected = "step_fn(model, batch, optimizers, step, ctx)"
    else:
        name = f"{type(model).__name__}.training_step"
        expected = "training_step(self, batch, optimizers, step, ctx)"
    try:
        signature = inspect.signature(fn)
        params = signature.parameters
        takes_ctx = "ctx" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
        found = f"{name}{signature}"
    except (TypeError, ValueError):
        takes_ctx, found = False, f"{name}(...)"
    return (functools.partial(step_fn, model) if step_fn is not None else fn), takes_ctx, found, expected


def _refuse_step_without_ctx(found: str, expected: str, *, grad_clip: float | None, use_amp: bool,
                             ranks: Ranks | None) -> None:
    """Raise a TypeError when a custom step without `ctx` would silently lose what `ctx.backward` does."""
    needs = []
    if grad_clip is not None:
        needs.append(f"clip its gradients (grad_clip={grad_clip})")
    if use_amp:
        needs.append("scale its loss for mixed precision (amp=True, a GradScaler)")
    if ranks is not None:
        needs.append(f"average its gradients over the {ranks.world_size} processes (distributed training)")
    if needs:
        raise TypeError(f"{found} takes no `ctx` argument, so the trainer cannot {' or '.join(needs)}: define it "
                        f"as {expected} and backpropagate with ctx.zero_grad(optimizers); "
                        f"ctx.backward(loss, optimizers); ctx.step(optimizers) instead of loss.backward() and "
                        f"optimizer.step() (coursekit.training.step)")


def _default_step(batch: Any, optimizers: Any, step: int, ctx: StepContext) -> dict[str, torch.Tensor]:
    """Zero the gradients, backpropagate "loss" (checked, scaled, clipped), step every optimiser."""
    ctx.zero_grad(optimizers)
    parts = ctx.loss(batch)
    ctx.backward(parts["loss"], optimizers, parts=parts)
    ctx.step(optimizers)
    return parts


def _lr_keys(optimizers: Any) -> dict[str, torch.optim.Optimizer]:
    """Where each optimiser's learning rate is recorded in `History.steps`: "lr", or "lr/<name>"."""
    if isinstance(optimizers, torch.optim.Optimizer):
        return {"lr": optimizers}
    names = optimizers.keys() if isinstance(optimizers, Mapping) else range(len(optimizers))
    return {f"lr/{name}": opt for name, opt in zip(names, optimizer_list(optimizers))}


def _snapshot(model: nn.Module, ema: EMA | None) -> dict[str, Any]:
    """A CPU copy of the weights (and the EMA's), to put back the best round's."""
    copy_of = lambda m: copy.deepcopy({k: v.detach().cpu() for k, v in m.state_dict().items()})  # noqa: E731
    return {"model": copy_of(model), "ema": copy_of(ema.model) if ema is not None else None}


def _rng_state(device: torch.device) -> dict[str, torch.Tensor | None]:
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}


def _epoch_rng(device: torch.device, generator: torch.Generator | None) -> dict[str, Any]:
    """The random state an epoch begins with: torch's and the loader's shuffling generator's."""
    return {"epoch": _rng_state(device), "loader": generator.get_state() if generator is not None else None}


def _set_rng_state(state: Mapping[str, torch.Tensor | None], device: torch.device) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def _round_values(history: History, pending: dict[str, list], logged_at: dict[str, list[int]],
                  lrs: dict[str, list[float]], step: int, ranks: Ranks | None,
                  device: torch.device) -> dict[str, float]:
    """Move a round's per-step values into `history.steps` (averaged over processes) and return their means.

    `pending[key]` holds the values of part `key`, logged at the steps `logged_at[key]`; the round
    ends before step `step`. Each part's mean is over its own values; in `history.steps` every
    series gets one entry per step, NaN where a step did not report the part (see `History`).
    """
    means = {}
    for key, values in pending.items():
        if ranks is not None:   # one all-reduce per part and round, on the training device (NCCL needs CUDA)
            values = list(mean_over_ranks(torch.stack([v.to(device) for v in values]), ranks))
        means[f"train/{key}"] = float(sum(values, 0.0)) / len(values)   # over the steps that reported it
        series = history.steps.setdefault(key, [])
        for index, value in zip(logged_at[key], torch.stack(values).cpu().double().tolist()):  # exact for float32
            series.extend([math.nan] * (index - len(series)))       # the steps before it that did not report it
            series.append(value)
    for key, values in lrs.items():
        history.steps.setdefault(key, []).extend(values)
    for series in history.steps.values():                           # parts the round's last steps did not report
        series.extend([math.nan] * (step - len(series)))
    return means


def _append_round(history: History, record: Mapping[str, float]) -> None:
    """Append a round to `history.rounds`, keeping every series one value per round: a part
    missing from this round is NaN here, a part new in it is NaN in the rounds before."""
    done = len(history.rounds.get("step", []))
    for key, value in record.items():
        series = history.rounds.setdefault(key, [])
        series.extend([math.nan] * (done - len(series)))
        series.append(float(value))
    for series in history.rounds.values():
        series.extend([math.nan] * (done + 1 - len(series)))


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
    ema_decay: float | None = None,
    warmup_steps: int = 0,
    lr_schedule: str = "constant",
    min_lr: float = 0.0,
    resume_from: str | None = None,
    distributed: bool | str = "auto",
) -> History:
    """Train `model` on `train_data` for `epochs` epochs or `steps` optimisation steps.

    - `val_data`: evaluated after every round: every epoch with `epochs`; with `steps`, every
      `eval_every` steps (default: an epoch's worth). `eval_every` with `epochs` is refused.
    - `patience`: stop when "val/loss" has not improved for that many rounds; with
      `restore_best` the best round's weights are put back at the end.
    - `seed`: seeds everything before the first step (shuffling, including a DataLoader's own
      generator, dropout, sampling in the loss); `None` leaves the random state alone.
    - `amp`: float16 autocast with a gradient scaler, on CUDA only (ignored with a warning
      elsewhere); `grad_clip`: the largest gradient norm (over the parameters being stepped).
    - `step_fn(model, batch, optimizers, step, ctx) -> dict`, or a model's own
      `training_step(batch, optimizers, step, ctx)`, replaces the default step (zero grad,
      backward on "loss", clip, step every optimiser); `ctx.backward` / `ctx.step` give it the
      same checks, scaling and clipping (step.py). A step without `ctx` is refused (TypeError)
      with `grad_clip`, with `amp` on CUDA and under distributed training, which it would
      silently escape; without those it still works.
    - `ema_decay`: keep an exponential moving average of the weights, θ_ema ← d·θ_ema + (1−d)·θ
      after every step (`history.ema`); validation, early stopping and `restore_best` then
      use the averaged weights, and the raw weights stay in `model`.
    - `warmup_steps`, `lr_schedule` ("constant" or "cosine"), `min_lr`: the learning rate of
      every step, set per step (schedules.py) and recorded in `history.steps["lr"]`; a warm-up
      longer than the run is refused (ValueError).
    - `checkpoint_path`: the model, every optimiser, the EMA, the gradient scaler, the step
      counter, the history and the random state are saved (atomically) whenever the
      validation loss improves, or after every round without `val_data`;
      `resume_from=<such a checkpoint>` continues that run to `epochs`/`steps` in total
      (exactly as if it had not stopped, on one process).
    - `distributed`: "auto" trains data-parallel when torch.distributed is initialised with
      several processes (torchrun), True requires it, False trains this process alone. The
      loader's batch size is then the global batch, split among the processes
      (distributed.py); each process seeds its random stream with `seed + rank`.
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
    if eval_every is not None:
        if epochs is not None:
            raise ValueError(f"eval_every={eval_every} counts optimisation steps and goes with steps=...; with "
                             f"epochs={epochs} a round is one epoch: drop eval_every, or give the length in steps")
        if isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 1:
            raise ValueError(f"eval_every must be a positive int, got {eval_every!r}")
    ranks = ranks_for(distributed)
    custom, takes_ctx, found, expected = _custom_step(model, step_fn)
    if ranks is not None:
        if not takes_ctx:
            _refuse_step_without_ctx(found, expected, grad_clip=None, use_amp=False, ranks=ranks)
        train_data = shard_loader(train_data, ranks, seed=seed or 0)
        per_epoch = len(train_data)
    total_steps = epochs * per_epoch if epochs is not None else steps
    schedule = LRSchedule(total_steps=total_steps, warmup_steps=warmup_steps, schedule=lr_schedule, min_lr=min_lr)

    if seed is not None:
        seed_everything(seed if ranks is None else seed + ranks.rank)
        # A loader made by coursekit.data.loaders carries its own shuffling generator: reseed it
        # too, so training twice with the same loader and seed sees the same batches.
        generator = getattr(train_data, "generator", None)
        if isinstance(generator, torch.Generator):
            generator.manual_seed(seed)
    device = resolve_device(device)
    if ranks is not None and device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())   # init_distributed set it to LOCAL_RANK
    use_amp = bool(amp) and device.type == "cuda"
    if amp and not use_amp:
        warnings.warn(f"amp=True is ignored on {device.type}: mixed precision is used on CUDA only", stacklevel=2)
    if not takes_ctx:
        _refuse_step_without_ctx(found, expected, grad_clip=grad_clip, use_amp=use_amp, ranks=ranks)
    model.to(device)
    optimizers = _make_optimizers(model, optimizer, lr, weight_decay)
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    loss_module = None
    if ranks is not None and custom is None:   # DDP averages the gradients of the default step (and broadcasts rank 0's weights)
        loss_module = DistributedDataParallel(LossForward(model), device_ids=[device.index] if device.type == "cuda" else None)
    elif ranks is not None:                    # a custom step's ctx.backward averages them; start from rank 0's weights
        broadcast_model(model)
    ema = EMA(model, ema_decay) if ema_decay is not None else None
    ctx = StepContext(model, device=device, lr=lr, grad_clip=grad_clip, scaler=scaler, ranks=ranks,
                      loss_module=loss_module, average_grads=custom is not None)
    run_step = custom or _default_step
    history = History(ema=ema)
    main = ranks is None or ranks.main
    settings = {"per_epoch": per_epoch, "total_steps": total_steps, "ema_decay": ema_decay,
                "warmup_steps": warmup_steps, "lr_schedule": lr_schedule, "min_lr": min_lr}

    round_len = per_epoch if epochs is not None else min(eval_every or per_epoch, total_steps)
    step, best_val, rounds_since_best, best_state, resumed_rng = 0, math.inf, 0, None, None
    if resume_from is not None:
        step, best_val, rounds_since_best, resumed_rng = _resume(
            resume_from, model, optimizers, ema, scaler, history, settings, val_data=val_data, ranks=ranks)
        if restore_best and val_data is not None:
            best_state = _snapshot(model, ema)   # a checkpoint with val_data is written at a best round
    if not schedule.is_constant:
        schedule.attach(optimizer_list(optimizers))   # after a resume: the base rates come from the checkpoint
    bar = _progress_bar(total=total_steps, initial=step, desc=desc or f"training {type(model).__name__}",
                        disable=not (progress and main), unit="step")
    generator = getattr(train_data, "generator", None)
    generator = generator if isinstance(generator, torch.Generator) else None
    opt_list, lr_keys = optimizer_list(optimizers), _lr_keys(optimizers)
    pending, logged_at, lrs, in_round = {}, {}, {}, 0
    model.train()
    try:
        while step < total_steps:
            epoch, skip = divmod(step, per_epoch)
            if isinstance(getattr(train_data, "sampler", None), DistributedSampler):
                train_data.sampler.set_epoch(epoch)
            if resumed_rng is not None:       # put back the random state this epoch began with
                _set_rng_state(resumed_rng["epoch"], device)
                if generator is not None and resumed_rng["loader"] is not None:
                    generator.set_state(resumed_rng["loader"].cpu())
            epoch_rng = _epoch_rng(device, generator)   # saved with a checkpoint written mid-epoch
            batches = iter(train_data)
            for _ in range(skip):             # resuming mid-epoch: the batches already trained on
                next(batches)
            if resumed_rng is not None:
                if skip:
                    _set_rng_state(resumed_rng["now"], device)
                resumed_rng = None
            for batch in batches:
                if not schedule.is_constant:
                    schedule.apply(opt_list, step)
                for key, opt in lr_keys.items():
                    lrs.setdefault(key, []).append(opt.param_groups[0]["lr"])
                batch = to_device(batch, device)
                ctx.step_index = step
                with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                    parts = run_step(batch, optimizers, step, **({"ctx": ctx} if takes_ctx else {}))
                ctx._end()
                if custom is not None and "loss" in parts:   # the default step checked before its backward
                    loss = torch.as_tensor(parts["loss"]).detach().float()
                    check_finite(mean_over_ranks(loss, ranks) if ranks is not None else loss, step=step,
                                 lr=current_lr(opt_list))
                if ema is not None:
                    ema.update(model)
                step += 1
                in_round += 1
                for key, value in parts.items():
                    value = value.detach() if isinstance(value, torch.Tensor) else torch.tensor(float(value))
                    pending.setdefault(key, []).append(value)  # tensors until the round ends (one sync per round)
                    logged_at.setdefault(key, []).append(step - 1)
                bar.update(1)
                if in_round == round_len or step == total_steps:
                    record = {"step": step, "epoch": step / per_epoch}
                    record.update(_round_values(history, pending, logged_at, lrs, step, ranks, device))
                    if val_data is not None:
                        scored = ema.model if ema is not None else model
                        # on rank 0, its numbers broadcast (all stop alike), its failure too (distributed.py)
                        values = on_main(functools.partial(evaluate, scored, val_data, device), ranks,
                                         what="evaluate the validation data", share=True)
                        record.update({f"val/{k}": v for k, v in values.items()})
                    _append_round(history, record)
                    pending, logged_at, lrs, in_round = {}, {}, {}, 0
                    trained = record.get("train/loss", math.nan)   # NaN: a custom step reported no "loss"
                    postfix = {"loss": f"{trained:.4g}"}
                    watched = record.get("val/loss", trained)
                    if val_data is not None:
                        postfix["val"] = f"{watched:.4g}"
                    bar.set_postfix(postfix)
                    improved = watched < best_val
                    if improved:
                        best_val, rounds_since_best = watched, 0
                        history.best_round = len(history.rounds["step"]) - 1
                        if restore_best and val_data is not None:
                            best_state = _snapshot(model, ema)
                    else:
                        rounds_since_best += 1
                    if checkpoint_path is not None and (improved or val_data is None):   # alike on every rank
                        def write_checkpoint():   # on rank 0 alone; a failure there stops every rank
                            rng = epoch_rng
                            if step % per_epoch == 0:
                                # The epoch is over: let its sampler finish (a RandomSampler draws once more as
                                # it stops), so that the state saved is the one the next epoch begins with.
                                next(batches, None)
                                rng = _epoch_rng(device, generator)
                            trainer = {"step": step, "steps": history.steps, "best_round": history.best_round,
                                       "best_val": best_val, "rounds_since_best": rounds_since_best,
                                       "rng": {"now": _rng_state(device), **rng}, "settings": settings}
                            save_checkpoint(checkpoint_path, model, optimizers, ema=ema, scaler=scaler,
                                            step=step, history=history.as_dict(), trainer=trainer)
                        on_main(write_checkpoint, ranks, what=f"write the checkpoint {checkpoint_path}")
                    if patience is not None and rounds_since_best >= patience:
                        history.stopped_early = True
                        return history
                if step >= total_steps:
                    break
    finally:
        bar.close()
        if best_state is not None and restore_best:
            model.load_state_dict(best_state["model"])
            if ema is not None:
                ema.model.load_state_dict(best_state["ema"])
        model.eval()
    return history


def _resume(path: str, model: nn.Module, optimizers: Any, ema: EMA | None, scaler: torch.amp.GradScaler | None,
            history: History, settings: dict[str, Any], *, val_data: Iterable | None,
            ranks: Ranks | None) -> tuple[int, float, int, dict | None]:
    """Load a checkpoint written by `train(checkpoint_path=...)` and return where the run stood:
    the step, the best watched loss, the rounds since it, and the random state to put back."""
    extra = load_checkpoint(path, model, optimizers, ema=ema, scaler=scaler, require_extra=("trainer", "history"))
    state = extra["trainer"]
    if ("val/loss" in extra["history"]) != (val_data is not None):
        had = "with" if "val/loss" in extra["history"] else "without"
        raise CheckpointError(f"{path} was written by a run {had} val_data, but this one is "
                              f"{'with' if val_data is not None else 'without'}; resume it as it was trained")
    if state["step"] > settings["total_steps"]:
        raise ValueError(f"{path} is at step {state['step']}, beyond the {settings['total_steps']} steps asked for")
    changed = {k: (state["settings"].get(k), v) for k, v in settings.items()
               if state["settings"].get(k) != v and not (k == "total_steps" and settings["lr_schedule"] == "constant")}
    if changed:
        warnings.warn(f"resuming {path} with other settings than it was trained with (was, now): {changed}; "
                      f"the run will not be the one it would have been", stacklevel=3)
    history.rounds = {k: list(v) for k, v in extra["history"].items()}
    history.steps = {k: list(v) for k, v in state["steps"].items()}
    history.best_round = state["best_round"]
    rng = state["rng"] if ranks is None or ranks.main else None   # other ranks keep their own (seed + rank) stream
    return state["step"], state["best_val"], state["rounds_since_best"], rng
