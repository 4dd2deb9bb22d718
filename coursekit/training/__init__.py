"""Training: one loop for every model that follows the course's contract, and cached training.

- `loop`: `train(model, train_data, ...)` in epochs or steps, `evaluate`, `History`;
- `step`: `StepContext`, the `ctx` a custom training step gets (checks, scaling, clipping);
- `ema`: `EMA`, the exponential moving average of the weights (`train(ema_decay=...)`);
- `schedules`: `LRSchedule`, warm-up and cosine decay (`train(warmup_steps=..., lr_schedule=...)`);
- `distributed`: data-parallel training under torchrun (`init_distributed`, `is_main_process`);
- `cached`: `train_cached`, which trains a model once and loads it from the disk cache after.
"""
from .cached import cache_key, train_cached
from .distributed import init_distributed, is_main_process
from .ema import EMA
from .loop import History, evaluate, to_device, train
from .schedules import LRSchedule
from .step import StepContext

__all__ = ["History", "train", "evaluate", "to_device", "train_cached", "cache_key", "EMA", "LRSchedule",
           "StepContext", "init_distributed", "is_main_process"]
