"""Mode collapse on the ring of eight Gaussians: one small GAN trained and scored in one call.

    from coursekit.models.gan import RING_DEFAULTS
    runs = {name: ring_experiment(**options, seed=0) for name, options in RING_DEFAULTS.items()}
    runs["vanilla (collapses)"]["coverage"]["modes_hit"]        # 1: the pinned collapse

`ring_experiment(loss, ...)` trains the shared small MLP GAN (`coursekit.models.gan.RING_NETWORK`) on
10 000 points of `data.EightGaussians()` with the course's trainer (the model's own k-critic-step
`training_step`, through `coursekit.training.train`) and scores `n_samples` of its samples with
`mode_coverage`: the modes hit and the share of samples within 3σ of a mode. Lecture 07 runs the
configurations of `RING_DEFAULTS` side by side through the disk cache (`cached=True`:
`coursekit.training.train_cached`, so a second run loads them); `benchmarks/gan_quality.py` trains them
afresh over seeds.
(It lives here, not in `coursekit.models.gan`, because a model module may not import the trainer or
the evaluation: tests/test_import_graph.py.)
"""
from __future__ import annotations

import os
import time
from typing import Any

import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler

from ..data.toy2d import EightGaussians, toy_dataset
from ..models.gan import GAN, RING_NETWORK
from ..training import train, train_cached
from ..utils import seeded_generator
from .coverage import mode_coverage

__all__ = ["ring_experiment"]


def ring_experiment(loss: str, *, steps: int = 2000, seed: int = 0, k: int = 1, unroll: int = 0,
                    minibatch_std: bool = False, lr: float = 5e-3, n_samples: int = 2000,
                    batch_size: int = 128, lr_schedule: str = "constant", cached: bool = False, cache_dir: str | os.PathLike | None = None,
                    retrain: bool = False, **fields: Any) -> dict[str, Any]:
    """Train a GAN with `loss` (one of GAN_LOSSES) on the 8-Gaussian ring for `steps` trainer steps (k critic
    steps per generator step, so steps / k generator steps) at learning rate `lr` (Adam; `lr_schedule="cosine"`
    decays both players' rates to 0 over the run), and score it.

    The network is RING_NETWORK's; `fields` set other GANConfig fields (`lr_g`, `lr_d`, `betas`, `gp_weight`,
    `unroll_lr`, `hidden`, ...). The data (10 000 points), the initial weights, the batches and the samples
    are all seeded by `seed`. With `cached=True` the training goes through `train_cached` (`cache_dir`: None
    for $COURSEKIT_CACHE, else ~/.cache/coursekit; `retrain=True` trains and overwrites), so the same call
    loads the trained GAN the second time and returns the same samples. Returns {"model", "history" (its
    `from_cache` says whether it was loaded), "samples" (n_samples, 2) float32, "coverage" (`mode_coverage`'s
    dict: "modes_hit", "fraction_near_a_mode", ...), "seconds" (the training, or the loading, alone)}."""
    if not cached and (cache_dir is not None or retrain):
        raise ValueError(f"cache_dir and retrain only apply with cached=True; got cached=False, "
                         f"cache_dir={cache_dir!r}, retrain={retrain!r}")
    ring = EightGaussians()
    points = toy_dataset("8gaussians", 10_000, seed=seed)
    shuffle = seeded_generator(seed)
    # The batches of DataLoader(points, batch_size, shuffle=True, drop_last=True, generator=shuffle), each
    # fetched as points[indices] in one indexing instead of 128 single rows and a collate (the same tensors).
    batches = BatchSampler(RandomSampler(points, generator=shuffle), batch_size, drop_last=True)
    loader = DataLoader(points, sampler=batches, batch_size=None, generator=shuffle)
    torch.manual_seed(seed)
    model = GAN(**{**RING_NETWORK, **fields, "shape": (2,), "loss": loss, "k": k, "unroll": unroll,
                   "minibatch_std": minibatch_std})
    start = time.perf_counter()
    options = dict(steps=steps, lr=lr, lr_schedule=lr_schedule, seed=seed, device="cpu", progress=False)
    if cached:   # the batch size is in the name: the cache key sees this loader's length, not its batch size
        history = train_cached(model, loader, cache_dir=cache_dir, retrain=retrain,
                               name=f"gan-ring-{loss}-b{batch_size}", **options)
    else:
        history = train(model, loader, **options)
    seconds = time.perf_counter() - start
    samples = model.sample(n_samples, generator=seeded_generator(seed + 1)).float()
    coverage = mode_coverage(samples, ring.modes.float(), ring.std)
    return {"model": model, "history": history, "samples": samples, "coverage": coverage, "seconds": seconds}
