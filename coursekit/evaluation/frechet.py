"""The Fréchet distance between two image sets, in the evaluation classifier's feature space,
at a fixed sample size n, and its reference scale (real vs real, the per-pixel floor, noise).

    fd = frechet_distance(samples, digits("test").x, clf)      # FrechetResult(value, n=400)
    frechet_reference(digits(), clf)          # the same number for real data, the floor, noise
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ..data import ImageSplit, Splits
from ..utils import check_shape, float64_device, randperm, seeded_generator
from .classifiers import Classifier
from .likelihood import floor_model

__all__ = ["DEFAULT_FRECHET_N", "FrechetResult", "frechet_distance", "frechet_from_stats", "frechet_reference"]

DEFAULT_FRECHET_N = 400
"""Default sample size of the Fréchet distance: fits the digits test split (447 images)."""


@dataclass(frozen=True)
class FrechetResult:
    """A Fréchet distance and the sample size n it was computed at (the statistic depends on n)."""

    value: float
    n: int

    def __float__(self) -> float:
        return self.value

    def __str__(self) -> str:
        return f"{self.value:.3f} (n = {self.n})"


def frechet_from_stats(mu_a: torch.Tensor, cov_a: torch.Tensor, mu_b: torch.Tensor, cov_b: torch.Tensor,
                       method: Literal["eigh", "sqrtm"] = "eigh") -> float:
    """Fréchet (2-Wasserstein²) distance between N(μa, Σa) and N(μb, Σb), in float64:

        d² = ||μa − μb||² + Tr(Σa + Σb − 2 (Σa Σb)^{1/2})

    `method="sqrtm"` is the formula as written: `scipy.linalg.sqrtm` of the product ΣaΣb,
    keeping the real part (tiny imaginary parts are round-off). `method="eigh"` (default)
    uses that ΣaΣb has the eigenvalues of the symmetric PSD matrix Σa^{1/2} Σb Σa^{1/2}, so
    Tr (ΣaΣb)^{1/2} = Σ_i √λ_i, with negative round-off eigenvalues set to 0: no complex
    numbers, stable for singular covariances. The result is clamped at 0.
    """
    d = mu_a.shape[-1] if mu_a.dim() == 1 else None
    check_shape(mu_a, (d,), "mu_a")
    check_shape(mu_b, (d,), "mu_b")
    check_shape(cov_a, (d, d), "cov_a")
    check_shape(cov_b, (d, d), "cov_b")
    dev = float64_device(mu_a)
    mu_a, mu_b, cov_a, cov_b = (t.to(dev, torch.float64) for t in (mu_a, mu_b, cov_a, cov_b))
    if method == "eigh":
        w, v = torch.linalg.eigh((cov_a + cov_a.T) / 2)
        sqrt_a = (v * w.clamp_min(0).sqrt()) @ v.T                        # Σa^{1/2}
        m = sqrt_a @ cov_b @ sqrt_a                                       # Σa^{1/2} Σb Σa^{1/2}
        trace_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum().item()
    elif method == "sqrtm":
        from scipy import linalg

        product = (cov_a @ cov_b).cpu().numpy()
        root = linalg.sqrtm(product)
        if not np.isfinite(root).all():  # singular product: nudge both covariances (as pytorch-fid does)
            eps = 1e-6 * np.eye(product.shape[0])
            root = linalg.sqrtm((cov_a.cpu().numpy() + eps) @ (cov_b.cpu().numpy() + eps))
        if np.iscomplexobj(root):
            imaginary = np.abs(root.imag).max()
            if imaginary > 1e-6 * max(1.0, np.abs(root.real).max()):
                raise ValueError(f"scipy's sqrtm of Σa Σb has an imaginary part of size {imaginary:.3g}, more "
                                 f"than round-off: are both covariances symmetric positive semi-definite?")
            root = root.real  # tiny imaginary parts are round-off
        trace_sqrt = float(np.trace(root))
    else:
        raise ValueError(f"method must be 'eigh' or 'sqrtm', got {method!r}")
    value = ((mu_a - mu_b) ** 2).sum().item() + torch.trace(cov_a).item() + torch.trace(cov_b).item() - 2 * trace_sqrt
    return max(value, 0.0)


def _subsample(x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n rows of x, chosen without replacement by a generator seeded with `seed` (all of x if it has n)."""
    if x.shape[0] == n:
        return x
    idx = randperm(x.shape[0], device=x.device, generator=seeded_generator(seed))[:n]
    return x[idx]


def _gaussian_fit(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (F,) and unbiased covariance (F, F) of features (n, F), in float64."""
    f = f.to(float64_device(f), torch.float64)
    mu = f.mean(0)
    centred = f - mu                                                      # (n, F)
    return mu, centred.T @ centred / (f.shape[0] - 1)


def frechet_distance(x_a: torch.Tensor | ImageSplit, x_b: torch.Tensor | ImageSplit,
                     classifier: Classifier | None, n: int = DEFAULT_FRECHET_N, seed: int = 0) -> FrechetResult:
    """Fréchet distance between Gaussians fitted to the classifier features of two image sets.

    FD = ||μa − μb||² + Tr(Σa + Σb − 2 (Σa Σb)^{1/2})  (Heusel et al. 2017's FID, with our
    small classifier's penultimate layer in place of Inception's). The estimate is biased
    upwards, more so for small sets, so both sets are brought to exactly `n` examples
    (default 400): a set with more is subsampled without replacement by a generator seeded
    with `seed` (the same for both sets, so FD(x, x) = 0 and FD(a, b) = FD(b, a)); a set with
    fewer is an error. Only numbers at the same n are comparable; the result carries its n.

    `classifier=None` takes the rows of x_a and x_b (N, F) as the feature vectors themselves.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    sets = []
    for name, x in (("x_a", x_a), ("x_b", x_b)):
        if isinstance(x, ImageSplit):
            x = classifier.float_view(x) if classifier is not None else x.x
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a tensor or an ImageSplit, got {type(x).__name__}")
        sets.append(x)
    sizes = (sets[0].shape[0] if sets[0].dim() else 0, sets[1].shape[0] if sets[1].dim() else 0)
    if min(sizes) < n:
        raise ValueError(f"the Fréchet distance is computed at exactly n={n} examples per set, got "
                         f"x_a with {sizes[0]} and x_b with {sizes[1]}: pass at least {n} of each, or a smaller n "
                         f"(and compare only numbers at the same n)")
    feats = []
    for name, x in zip(("x_a", "x_b"), sets):
        x = _subsample(x, n, seed)
        if classifier is None:
            check_shape(x, (None, None), name)
            feats.append(x)
        else:
            feats.append(classifier.features(x))
    if feats[0].shape[1] != feats[1].shape[1]:
        raise ValueError(f"x_a and x_b must have the same feature dimension, got {tuple(feats[0].shape)} "
                         f"and {tuple(feats[1].shape)}")
    (mu_a, cov_a), (mu_b, cov_b) = _gaussian_fit(feats[0]), _gaussian_fit(feats[1])
    return FrechetResult(frechet_from_stats(mu_a, cov_a, mu_b, cov_b), n)


def frechet_reference(splits: Splits, classifier: Classifier, n: int = DEFAULT_FRECHET_N,
                      seed: int = 0) -> dict[str, FrechetResult]:
    """The scale for a model's Fréchet distance against the test images, all at the same n.

    - `"real"`: training images vs test images, what a model whose samples are as good as
      fresh data would score (the best to hope for);
    - `"floor"`: samples of the floor model (independent pixels, `evaluation.floor_model`);
    - `"noise"`: uniformly random levels at every pixel.
    A model is reported as FD(its n samples, test) and read between "real" and "floor".
    """
    test = splits.test
    gen = seeded_generator(seed)
    floor = floor_model(splits.train).sample(n, generator=gen)
    noise = torch.randint(0, test.levels, (n, *test.x.shape[1:]), generator=gen)
    return {
        "real": frechet_distance(splits.train, test, classifier, n, seed),
        "floor": frechet_distance(floor, test, classifier, n, seed),
        "noise": frechet_distance(noise, test, classifier, n, seed),
    }
