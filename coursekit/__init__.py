"""coursekit: the tested plumbing behind the deep generative models course.

The notebooks tell the story; this package does the rest, written once:

- `coursekit.data`: the bundled 8×8 digits with the fixed train/val/test split, views of
  them (floats, binarised, dequantised), coloured digits, `load(name)` for every data set
  and DataLoaders; `coursekit.mnist` (IDX files), `coursekit.sprites` (known factors),
  `coursekit.toy2d` (2-D densities).
- `coursekit.train`: one training loop for every model (`model.loss(batch) -> dict`), and
  `train_cached`, which trains a model once and loads it from disk afterwards.
- `coursekit.checkpoint`: atomic state-dict checkpoints loaded with `weights_only=True`.
- `coursekit.metrics`: nats ↔ bits/dim and the baselines every model must beat;
  `coursekit.evaluation`: a cached classifier, Fréchet distance, mode coverage, MIG.
- `coursekit.models`: the course's models, one family per file.
- `coursekit.plot`, `coursekit.widgets`: figures and ipywidgets for the lectures.
- `coursekit.divergences`: KL and JS divergences, forward vs reverse KL fits.
- `coursekit.grading`: graded exercises (the `coursekit` command: build, release, grade, check).
"""
from .utils import resolve_device, seed_everything

__version__ = "0.1.0"
__all__ = ["resolve_device", "seed_everything", "__version__"]
