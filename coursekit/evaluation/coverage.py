"""Coverage: how many modes of a Gaussian mixture (the 8-Gaussian ring) a sampler hits, and how
many of its samples lie near a mode (`mode_coverage`); for images, the share of real images
whose neighbourhood in the classifier's feature space holds a sample (`knn_coverage`)."""
from __future__ import annotations

import math

import torch

from ..data import ImageSplit
from ..utils import check_shape
from .frechet import _subsample

__all__ = ["mode_coverage", "knn_coverage"]


def mode_coverage(samples: torch.Tensor, modes: torch.Tensor, std: float, radius_in_stds: float = 3.0,
                  min_share: float = 0.1) -> dict:
    """How many modes of a Gaussian mixture a sampler covers, and how many samples are good.

    Each sample is assigned to its nearest mode and counts as *near* it if it lies within
    `radius_in_stds`·`std` of it (3σ: 99% of a 2-D Gaussian's mass lies within 3.03σ).
    A mode is **hit** if at least max(1, ⌈`min_share`·N/K⌉) samples are near it: a tenth (by
    default) of the N/K it would get if the sampler were the mixture with equal weights.

    Returns `modes_hit` (int), `hit` (K,) bool, `fraction_near_a_mode` (float, the share of
    "high-quality" samples) and `per_mode_fraction` (K,), the share of all N samples near
    each mode (these sum to `fraction_near_a_mode`), on the samples' device.
    """
    if samples.dim() != 2:
        raise ValueError(f"samples must have shape (N, D), got {tuple(samples.shape)}")
    check_shape(modes, (None, samples.shape[1]), "modes")
    if samples.shape[0] == 0 or modes.shape[0] == 0:
        raise ValueError(f"need at least one sample and one mode, got samples {tuple(samples.shape)}, "
                         f"modes {tuple(modes.shape)}")
    if not float(std) > 0 or not float(radius_in_stds) > 0:
        raise ValueError(f"std and radius_in_stds must be positive, got std={std}, radius_in_stds={radius_in_stds}")
    n, k = samples.shape[0], modes.shape[0]
    dtype = samples.dtype if samples.is_floating_point() else torch.get_default_dtype()
    x = samples.to(dtype)
    distance = torch.cdist(x, modes.to(x.device, dtype))                  # (N, K)
    nearest_distance, nearest = distance.min(1)                           # (N,), (N,)
    near = nearest_distance <= radius_in_stds * float(std)
    counts = torch.bincount(nearest[near], minlength=k)                   # (K,)
    hit = counts >= max(1, math.ceil(min_share * n / k))
    return {
        "modes_hit": int(hit.sum()),
        "hit": hit,
        "fraction_near_a_mode": float(near.float().mean()),
        "per_mode_fraction": counts.to(dtype) / n,
    }


def knn_coverage(samples: torch.Tensor, split: ImageSplit | torch.Tensor, classifier, n: int = 400, k: int = 5,
                 seed: int = 0) -> float:
    """Naeem et al. (2020)'s coverage: the share of n real images whose k-NN ball holds a sample.

    In the evaluation classifier's features (the penultimate layer, as `frechet_distance` takes
    them), each of n real images of `split` gets the radius r_i of the ball around it that
    reaches its k-th nearest neighbour among the other n − 1 real images; the real image is
    *covered* if at least one of n `samples` lies strictly inside that ball:

        coverage = (1/n) Σ_i 1[ min_j ||f(sample_j) − f(real_i)|| < r_i ]

    1 means the samples reach every region the real data occupies (no mode dropped); a sampler
    that repeats one image covers only that image's neighbourhood (≈ k/n). Samples as good as
    fresh real data score about 1 − 2^−k (0.97 for k = 5) at large n. Unlike precision, it
    ignores samples far from all real data, so read it beside the Fréchet distance.

    Both sets are brought to exactly n examples as the Fréchet distance does (a seeded subsample
    without replacement, generator seeded with `seed`); `samples` are integer levels or floats
    in [0, 1] of the split's image shape; `split` is an `ImageSplit` or a tensor of real images.
    """
    if not isinstance(n, int) or isinstance(n, bool) or not isinstance(k, int) or isinstance(k, bool):
        raise TypeError(f"n and k must be ints, got n={n!r}, k={k!r}")
    if k < 1 or n < k + 1:
        raise ValueError(f"need k >= 1 and n >= k + 1 (each real image needs k neighbours among the others), "
                         f"got n={n}, k={k}")
    if classifier is None or not callable(getattr(classifier, "features", None)):
        raise TypeError(f"classifier must be the evaluation classifier (coursekit.evaluation.classifier(splits)), "
                        f"got {type(classifier).__name__}")
    if isinstance(split, ImageSplit):
        real = classifier.float_view(split)
    elif isinstance(split, torch.Tensor):
        real = split
    else:
        raise TypeError(f"split must be an ImageSplit (e.g. splits.test) or a tensor of real images, "
                        f"got {type(split).__name__}")
    if not isinstance(samples, torch.Tensor):
        raise TypeError(f"samples must be a tensor of images (N, {', '.join(map(str, classifier.shape))}), "
                        f"got {type(samples).__name__}")
    check_shape(samples, (None, *classifier.shape), "samples")
    check_shape(real, (None, *classifier.shape), "real images")
    if samples.shape[0] < n or real.shape[0] < n:
        raise ValueError(f"coverage is computed at exactly n={n} examples per set, got {samples.shape[0]} samples "
                         f"and {real.shape[0]} real images: pass at least {n} of each, or a smaller n")
    f_real = classifier.features(_subsample(real, n, seed)).double()           # (n, F)
    f_fake = classifier.features(_subsample(samples, n, seed)).double()        # (n, F)
    real_real = torch.cdist(f_real, f_real)                                    # (n, n), 0 on the diagonal
    radius = real_real.topk(k + 1, dim=1, largest=False).values[:, k]          # (n,) k-th neighbour, self excluded
    nearest_sample = torch.cdist(f_real, f_fake.to(f_real.device)).min(1).values   # (n,)
    return float((nearest_sample < radius).double().mean())
