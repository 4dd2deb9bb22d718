"""Learning-rate warm-up and cosine decay, set per optimisation step.

For step s = 0, 1, ..., T − 1 of a run of T steps, with W warm-up steps, base rate η (each
parameter group's own `lr`) and floor η_min:

    warm-up   s < W:   η_s = η · (s + 1) / W                          (reaches η at s = W − 1)
    constant  s ≥ W:   η_s = η
    cosine    s ≥ W:   η_s = η_min + ½ (η − η_min) (1 + cos(π (s − W) / (T − W)))

so the cosine starts at η right after the warm-up and would reach η_min at step T, one past the
last. A warm-up longer than the run (W > T) is refused: the rate would never reach η. The schedule keeps no state of its own: the rate follows from the step, and the base rate
is stored in each parameter group as `"initial_lr"` (as torch's schedulers do), so it travels
with the optimiser's state dict in a checkpoint.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch

__all__ = ["LRSchedule", "SCHEDULES"]

SCHEDULES = ("constant", "cosine")


class LRSchedule:
    """Warm-up followed by a constant or cosine rate; `apply(optimizers, step)` sets the rate of step `step`."""

    def __init__(self, *, total_steps: int, warmup_steps: int = 0, schedule: str = "constant", min_lr: float = 0.0):
        if schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {SCHEDULES}, got {schedule!r}")
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(f"warmup_steps must be an int >= 0, got {warmup_steps!r}")
        if warmup_steps > total_steps:
            raise ValueError(f"warmup_steps={warmup_steps} is longer than the run's {total_steps} steps: the rate "
                             f"would never reach lr; give warmup_steps <= {total_steps} (a few percent of the run "
                             f"is usual)")
        if not isinstance(min_lr, (int, float)) or min_lr < 0:
            raise ValueError(f"min_lr must be a number >= 0, got {min_lr!r}")
        if min_lr != 0 and schedule != "cosine":
            raise ValueError(f"min_lr={min_lr} is the floor of the cosine decay; it needs lr_schedule='cosine', "
                             f"got lr_schedule={schedule!r}")
        self.total_steps, self.warmup_steps = int(total_steps), warmup_steps
        self.schedule, self.min_lr = schedule, float(min_lr)

    @property
    def is_constant(self) -> bool:
        """True when the rate never changes (no warm-up, constant schedule): nothing to set."""
        return self.warmup_steps == 0 and self.schedule == "constant"

    def lr(self, step: int, base_lr: float) -> float:
        """The learning rate of step `step` (0-based) for a parameter group whose base rate is `base_lr`."""
        W, T = self.warmup_steps, self.total_steps
        if step < W:
            return base_lr * (step + 1) / W                      # linear warm-up
        if self.schedule == "constant":
            return base_lr
        progress = min(1.0, (step - W) / max(1, T - W))          # (s − W) / (T − W)
        return self.min_lr + 0.5 * (base_lr - self.min_lr) * (1.0 + math.cos(math.pi * progress))

    def attach(self, optimizers: Iterable[torch.optim.Optimizer]) -> None:
        """Remember each group's base rate (`"initial_lr"`) and check the floor lies below it."""
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
                if self.schedule == "cosine" and self.min_lr > group["initial_lr"]:
                    raise ValueError(f"min_lr={self.min_lr} is above the learning rate {group['initial_lr']} it "
                                     f"decays from; give min_lr <= lr")

    def apply(self, optimizers: Iterable[torch.optim.Optimizer], step: int) -> None:
        """Set every group's rate for step `step`."""
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group["lr"] = self.lr(step, group["initial_lr"])
