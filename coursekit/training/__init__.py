"""Training: one loop for every model that follows the course's contract, and cached training.

- `loop`: `train(model, train_data, ...)` in epochs or steps, `evaluate`, `History`;
- `cached`: `train_cached`, which trains a model once and loads it from the disk cache after.
"""
from .cached import cache_key, train_cached
from .loop import History, evaluate, to_device, train

__all__ = ["History", "train", "evaluate", "to_device", "train_cached", "cache_key"]
