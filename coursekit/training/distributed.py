"""Data-parallel training under `torchrun`, with PyTorch's DistributedDataParallel (DDP).

The same `train` runs on one process (the notebooks) or on N (a script started with
`torchrun --nproc_per_node=N`, see scripts/train_ddp.py). Under a process group:

- the training loader is rebuilt with a `DistributedSampler`: its batch size is the *global*
  batch, and each of the N processes gets `batch_size / N` of it, so a run keeps the same
  number of steps per epoch, the same learning rate and (up to float rounding) the same losses
  as one process on the same global batches; the sampler is re-seeded every epoch
  (`set_epoch`);
- the default step calls the model through DDP, which averages the gradients during
  `backward`. DDP prepares that all-reduce in its `forward`, so `DDP(model).module.loss(batch)`
  would skip it: `LossForward` is a module whose `forward` *is* `model.loss`, and DDP wraps it.
  As DDP requires, every trainable parameter must take part in `loss` (a parameter used only
  for sampling makes DDP stop with "Expected to have finished reduction"): freeze it, or
  train such a model with its own `training_step`;
- a custom step (a GAN's) calls its sub-networks itself, which DDP cannot see: there the
  step's `ctx.backward` averages the gradients explicitly (`average_gradients`), after the
  model's weights were broadcast from rank 0 once at the start;
- logged losses are averaged over the processes; validation runs on rank 0 and its numbers
  are broadcast, so every process takes the same early-stopping decision; only rank 0 writes
  checkpoints and shows a progress bar.

Failures. Every collective (DDP's gradient all-reduce, a broadcast) waits until every process
has reached it, so an exception raised on one process alone leaves the others blocked in the
next collective, until the process group's timeout (30 minutes by default) or until torchrun,
seeing a worker exit with an error, stops the rest. The work `train` does on rank 0 alone, the
validation and the checkpoint (an `OSError` when the disk is full, say), runs through
`on_main`, which broadcasts whether it failed: rank 0 raises its own error and every other
rank a RuntimeError that says rank 0 failed and why. An exception on another process alone (a
custom step raising on one rank, CUDA running out of memory on one GPU) is not caught this
way: those processes wait for the timeout or for torchrun.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, SequentialSampler

__all__ = ["Ranks", "LossForward", "init_distributed", "is_main_process", "ranks_for", "shard_loader",
           "average_gradients", "mean_over_ranks", "broadcast_model", "broadcast_object", "on_main"]


@dataclass(frozen=True)
class Ranks:
    """This process's place in the process group."""

    rank: int
    world_size: int

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes checkpoints and shows progress."""
        return self.rank == 0


def ranks_for(distributed: bool | str) -> Ranks | None:
    """The process group `train` should use: `"auto"` uses one if torch.distributed is initialised
    with more than one process, `True` requires one, `False` trains this process alone."""
    if distributed not in ("auto", True, False):
        raise ValueError(f"distributed must be 'auto', True or False, got {distributed!r}")
    initialised = dist.is_available() and dist.is_initialized()
    if distributed is True and not initialised:
        raise RuntimeError("distributed=True needs an initialised process group: start the script with torchrun "
                           "and call coursekit.training.init_distributed() first (see scripts/train_ddp.py)")
    if distributed is False or not initialised or dist.get_world_size() == 1:
        return None
    return Ranks(dist.get_rank(), dist.get_world_size())


def is_main_process() -> bool:
    """True on rank 0 of an initialised process group, and always outside one."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def init_distributed(backend: str | None = None) -> torch.device:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT)
    and return this process's device: `cuda:LOCAL_RANK` with the NCCL backend where CUDA is
    available, else the CPU with gloo."""
    missing = [name for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK") if name not in os.environ]
    if missing:
        raise RuntimeError(f"init_distributed() runs under torchrun, which sets {missing}; start the script with "
                           f"`torchrun --nproc_per_node=N script.py ...`")
    local_rank = int(os.environ["LOCAL_RANK"])
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend or ("nccl" if device.type == "cuda" else "gloo"))
    return device


class LossForward(nn.Module):
    """A module whose `forward(batch)` is `model.loss(batch)`, so that DDP can wrap the loss.

    DDP does its bookkeeping for the gradient all-reduce (which parameters take part, buffer
    broadcast) in `DDP.forward`; calling `ddp.module.loss(...)` directly skips it.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> Any:
        return self.model.loss(batch)


def shard_loader(loader: Iterable, ranks: Ranks, *, seed: int) -> DataLoader:
    """`loader` rebuilt so that each process gets its share of every global batch.

    The loader's `batch_size` is the global batch; each process's loader yields
    `batch_size / world_size` examples per step, drawn by a `DistributedSampler` that shuffles
    (with `seed + epoch`) when the loader shuffled and keeps the order otherwise.
    """
    name = type(loader).__name__
    if not isinstance(loader, DataLoader):
        raise TypeError(f"distributed training needs train_data to be a DataLoader (to give each process its share), "
                        f"got {name}")
    if loader.batch_size is None:
        raise TypeError("distributed training needs a DataLoader with a batch_size (not a custom batch_sampler)")
    if not isinstance(loader.sampler, (RandomSampler, SequentialSampler)):
        raise TypeError(f"distributed training can shard a shuffled or sequential DataLoader, not one with a "
                        f"{type(loader.sampler).__name__}")
    if loader.batch_size % ranks.world_size:
        raise ValueError(f"train_data's batch size {loader.batch_size} is the global batch; it must divide evenly "
                         f"among the {ranks.world_size} processes")
    sampler = DistributedSampler(loader.dataset, num_replicas=ranks.world_size, rank=ranks.rank,
                                 shuffle=isinstance(loader.sampler, RandomSampler), seed=seed)
    workers = {"persistent_workers": loader.persistent_workers, "prefetch_factor": loader.prefetch_factor} \
        if loader.num_workers > 0 else {}
    return DataLoader(loader.dataset, batch_size=loader.batch_size // ranks.world_size, sampler=sampler,
                      num_workers=loader.num_workers, collate_fn=loader.collate_fn, pin_memory=loader.pin_memory,
                      drop_last=loader.drop_last, timeout=loader.timeout, worker_init_fn=loader.worker_init_fn,
                      generator=loader.generator, **workers)


@torch.no_grad()
def average_gradients(params: Sequence[torch.Tensor], ranks: Ranks) -> None:
    """Replace every gradient by its mean over the processes (what DDP does in `backward`).

    A parameter whose gradient is missing on some process counts as zero there; one missing
    everywhere stays `None`.
    """
    has_grad = torch.tensor([p.grad is not None for p in params], dtype=torch.float32,
                            device=params[0].device if params else "cpu")
    dist.all_reduce(has_grad)
    for p, anywhere in zip(params, has_grad.tolist()):
        if not anywhere:
            continue
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
        p.grad.div_(ranks.world_size)


@torch.no_grad()
def mean_over_ranks(values: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    """The element-wise mean of `values` over the processes (a new tensor)."""
    values = values.detach().clone()
    dist.all_reduce(values)
    return values / ranks.world_size


@torch.no_grad()
def broadcast_model(model: nn.Module) -> None:
    """Make every process's weights and buffers rank 0's (what DDP does when it wraps a model)."""
    for tensor in (*model.parameters(), *model.buffers()):
        dist.broadcast(tensor.data, src=0)


def broadcast_object(value: Any) -> Any:
    """Rank 0's `value` on every process (e.g. the validation losses, so all stop together)."""
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def on_main(fn: Callable[[], Any], ranks: Ranks | None, *, what: str, share: bool = False) -> Any:
    """`fn()` on rank 0 alone, and every process told whether it failed.

    Outside a process group (`ranks` is None) this is `fn()`. Under one, rank 0 runs `fn` and
    broadcasts whether it raised (one collective, which every process must reach): rank 0 then
    raises its own exception, every other rank a RuntimeError naming `what` failed and why, so
    that none is left waiting for rank 0 in the next collective. With `share`, every process
    returns rank 0's result (e.g. the validation losses, so that all stop together); without,
    the others return None.
    """
    if ranks is None:
        return fn()
    result, failure = None, None
    if ranks.main:
        try:
            result = fn()
        except Exception as err:   # noqa: BLE001 - re-raised below, after the others are told
            failure = err
    shared, failed = broadcast_object((result if share else None,
                                       None if failure is None else f"{type(failure).__name__}: {failure}"))
    if failure is not None:
        raise failure
    if failed is not None:
        raise RuntimeError(f"rank 0 failed to {what} ({failed}); rank {ranks.rank} stops too, instead of waiting "
                           f"for rank 0 in the next collective")
    return shared if share else result
