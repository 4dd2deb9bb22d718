"""Judging samples without a likelihood: a digits classifier, the Fréchet distance, mode
coverage on the 8-Gaussian ring, the Mutual Information Gap and conditional accuracy.

    clf = classifier()                        # trained once in seconds, then cached on disk
    fd = frechet_distance(samples, digits("test").x, clf)      # FrechetResult(value, n=400)
    frechet_reference(digits(), clf)          # the same number for real data, the floor, noise

Images go in as the data sets hold them, **integer levels** (an integer dtype, 0..levels-1,
converted with `coursekit.data.to_float` and the classifier's `levels`), or as **floats in
[0, 1]** (the float view). Floats outside [0, 1] are refused rather than clipped: clamp
them yourself if your decoder overshoots, so the number you report is the one you meant.

The classifier is cached by a hash of what determines its weights (the training and
validation data, the architecture and training configuration, the seed and torch's
major.minor version) in `cache_dir`, else `$COURSEKIT_CACHE`, else `~/.cache/coursekit`.
Its test accuracy is recomputed on every call from the splits given, never read from the cache.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import os
import random
import re
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import ImageSplit, Splits, digits, loaders, to_float
from .train import train
from .utils import check_shape, hash_tensor, resolve_cache_dir, resolve_device

__all__ = [
    "ClassifierConfig", "DEFAULT_CONFIGS", "SmallCNN", "random_shift", "Classifier", "classifier",
    "classifier_key", "resolve_cache_dir", "DEFAULT_FRECHET_N", "FrechetResult", "frechet_distance", "frechet_from_stats", "frechet_reference",
    "mode_coverage", "MIGResult", "mig", "mig_details", "conditional_accuracy",
]

DEFAULT_FRECHET_N = 400
"""Default sample size of the Fréchet distance: fits the digits test split (447 images)."""

_CACHE_FORMAT = 1  # bump when the meaning of a cached file changes


# --- the classifier ----------------------------------------------------------------------

@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture and training of the evaluation classifier (all part of the cache key)."""

    channels: tuple[int, int] = (16, 32)
    features: int = 128
    """F, the width of the penultimate layer: the feature vector of the Fréchet distance."""
    dropout: float = 0.3
    max_shift: int = 1
    """Training images are translated by up to this many pixels (zero fill), a fresh shift per step."""
    epochs: int = 100
    """The most epochs; training usually stops earlier (`patience`)."""
    patience: int = 5
    """Stop when the validation loss has not improved for this many epochs; keep the best."""
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4


DEFAULT_CONFIGS = MappingProxyType({"digits": ClassifierConfig(),
                                    "mnist": ClassifierConfig(max_shift=2, epochs=15, patience=3)})
"""The configuration `classifier(kind=...)` uses unless given one (any other kind: the digits')."""


def random_shift(x: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Translate each image (B, C, H, W) by its own random (dy, dx) in −max_shift..max_shift, zero fill."""
    if max_shift == 0:
        return x
    b, _, h, w = x.shape
    m = max_shift
    padded = F.pad(x, (m, m, m, m))                                       # (B, C, H+2m, W+2m)
    dy = torch.randint(0, 2 * m + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(0, 2 * m + 1, (b, 1, 1), device=x.device)
    rows = dy + torch.arange(h, device=x.device)[None, :, None]           # (B, H, 1)
    cols = dx + torch.arange(w, device=x.device)[None, None, :]           # (B, 1, W)
    batch = torch.arange(b, device=x.device)[:, None, None]               # (B, 1, 1)
    return padded[batch, :, rows, cols].permute(0, 3, 1, 2)               # (B, H, W, C) → (B, C, H, W)


class SmallCNN(nn.Module):
    """conv3×3 → ReLU → [max-pool] → conv3×3 → ReLU → max-pool → (4×4) → linear (F) → ReLU → linear (classes).

    Works for any image size: images larger than 8×8 are max-pooled after the first
    convolution too (28×28 → 14 → 7), and an adaptive average pool brings every size to 4×4.
    The F-dimensional ReLU layer before the last linear map is `features(x)`.
    """

    def __init__(self, *, shape: tuple[int, int, int], num_classes: int, config: ClassifierConfig):
        super().__init__()
        c, h, w = shape
        c1, c2 = config.channels
        self.shape = tuple(shape)
        self.body = nn.Sequential(
            nn.Conv2d(c, c1, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2) if min(h, w) > 8 else nn.Identity(),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2) if min(h, w) >= 4 else nn.Identity(),
            nn.AdaptiveAvgPool2d(4),                       # (B, c2, 4, 4) whatever the input size
            nn.Flatten(),                                  # (B, c2·16)
            nn.Linear(c2 * 16, config.features), nn.ReLU(),
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.features, num_classes)
        self.max_shift = config.max_shift

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer activations (B, F) of float images (B, C, H, W) in [0, 1]."""
        return self.body(2 * x - 1)                        # centre the inputs on 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, classes)."""
        return self.head(self.dropout(self.features(x)))

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """Cross-entropy of the labels, and the batch accuracy (the trainer's contract).

        In training mode the images are first shifted by up to `max_shift` pixels: the digits'
        test writers differ from the training writers, and the augmentation is worth ~3 points.
        """
        x, y = batch
        if self.training:
            x = random_shift(x, self.max_shift)
        logits = self(x)
        ce = F.cross_entropy(logits, y)
        return {"loss": ce, "accuracy": (logits.argmax(1) == y).float().mean()}


class Classifier:
    """A trained `SmallCNN` with the conversions around it; made by `classifier(...)`.

    `features(x)` (N, F), `logits(x)` (N, classes) and `predict(x)` (N,) take integer images
    with values 0..levels-1 (or an `ImageSplit`), or floats in [0, 1], of shape (N, *shape),
    and return tensors on x's device. `test_accuracy` and `val_accuracy` are measured on the
    splits it was made with; `train_seconds` is how long the training took when it ran (also
    for a classifier loaded from the cache, where `from_cache` is True).
    """

    def __init__(self, net: SmallCNN, *, kind: str, levels: int, num_classes: int, config: ClassifierConfig,
                 seed: int, key: str, path: Path, from_cache: bool, train_seconds: float | None,
                 epochs_trained: int | None):
        self.net = net.eval()
        self.kind, self.levels, self.num_classes = kind, levels, num_classes
        self.shape = net.shape
        self.config, self.seed, self.key, self.path = config, seed, key, path
        self.from_cache, self.train_seconds, self.epochs_trained = from_cache, train_seconds, epochs_trained
        self.val_accuracy = math.nan
        self.test_accuracy = math.nan

    @property
    def feature_dim(self) -> int:
        return self.config.features

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def __repr__(self) -> str:
        where = "loaded from" if self.from_cache else "trained, saved to"
        return (f"Classifier({self.kind!r}: {self.shape} in 0..{self.levels - 1}, {self.num_classes} classes, "
                f"F={self.feature_dim}; test accuracy {self.test_accuracy:.4f}; {where} {self.path})")

    def float_view(self, x: torch.Tensor | ImageSplit) -> torch.Tensor:
        """Check the images and return their float view in [0, 1], on x's device."""
        if isinstance(x, ImageSplit):
            if x.levels != self.levels:
                raise ValueError(f"the split {x.name!r} has {x.levels} levels, the classifier was trained on "
                                 f"{self.levels}")
            x = x.x
        check_shape(x, (None, *self.shape), "images")
        if not x.is_floating_point():
            return to_float(x, self.levels)
        if x.numel() and (x.min() < 0 or x.max() > 1):
            raise ValueError(f"float images must lie in [0, 1], got values in {x.min().item():.3g}.."
                             f"{x.max().item():.3g}; pass integer levels 0..{self.levels - 1} as an integer "
                             f"dtype, or clamp(0, 1) the float view")
        return x

    @torch.no_grad()
    def _apply(self, fn, x: torch.Tensor | ImageSplit, batch_size: int) -> torch.Tensor:
        x = self.float_view(x)
        self.net.eval()
        dtype = next(self.net.parameters()).dtype
        outs = [fn(chunk.to(self.device, dtype)) for chunk in x.split(batch_size)]
        out = torch.cat(outs) if outs else fn(x.to(self.device, dtype))
        return out.to(x.device)

    def features(self, x: torch.Tensor | ImageSplit, batch_size: int = 1024) -> torch.Tensor:
        """Penultimate-layer features (N, F), on x's device."""
        return self._apply(self.net.features, x, batch_size)

    def logits(self, x: torch.Tensor | ImageSplit, batch_size: int = 1024) -> torch.Tensor:
        """Class logits (N, classes), on x's device."""
        return self._apply(self.net, x, batch_size)

    def predict(self, x: torch.Tensor | ImageSplit, batch_size: int = 1024) -> torch.Tensor:
        """Predicted labels (N,) as int64, on x's device."""
        return self.logits(x, batch_size).argmax(1)

    def accuracy(self, split: ImageSplit) -> float:
        """Fraction of `split`'s images whose predicted label is its label."""
        return float((self.predict(split) == split.y.to(split.x.device)).float().mean())


def classifier_key(splits: Splits, *, kind: str = "digits", seed: int = 0,
                   config: ClassifierConfig | None = None) -> str:
    """The cache key: a SHA-256 of everything that determines the trained weights.

    The training and validation images and labels (bytes, dtype, shape), the levels, the
    kind, the configuration, the seed, torch's major.minor version and the cache format. The
    test split is not in it: the test accuracy is measured afresh on every call. `config`
    defaults to `DEFAULT_CONFIGS[kind]`, as in `classifier`.
    """
    config = config or DEFAULT_CONFIGS.get(kind, ClassifierConfig())
    torch_version = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    h = hashlib.sha256()
    h.update(repr((_CACHE_FORMAT, SmallCNN.__name__, kind, splits.train.levels, seed,
                   sorted(asdict(config).items()), torch_version)).encode())
    for part in (splits.train, splits.val):
        hash_tensor(h, part.x)
        hash_tensor(h, part.y)
    return h.hexdigest()


@contextlib.contextmanager
def _rng_preserved(device: torch.device):
    """Leave Python's, NumPy's and torch's random streams as they were (train() reseeds them)."""
    py_state, np_state = random.getstate(), np.random.get_state()
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


@contextlib.contextmanager
def _single_thread_on_cpu(device: torch.device):
    """Train on one CPU thread: batches this small gain nothing from more, and on shared cores
    (a laptop with a browser, CI) torch's thread pool makes them 10-20× slower."""
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def classifier(splits: Splits | None = None, *, kind: str = "digits", seed: int = 0,
               config: ClassifierConfig | None = None, cache_dir: str | os.PathLike | None = None,
               device: str | torch.device = "auto", progress: bool = False) -> Classifier:
    """The evaluation classifier for `splits` (default: the digits), trained once and cached.

    The first call trains a `SmallCNN` (`config`, default `DEFAULT_CONFIGS[kind]`) with
    `coursekit.train.train` (Adam, random 1-pixel shifts, early stopping on the validation
    loss, best weights kept), which takes seconds on the digits, and saves it to
    `<cache_dir>/<kind>-classifier-<key[:16]>.pt`; later calls with the same data,
    configuration, seed and torch version load that file (the device it was trained on is
    not in the key). A cache file that cannot be read is retrained and overwritten, with a
    warning. Training does not disturb the caller's random streams, so a notebook gives the
    same numbers whether the classifier was cached or not.

    For MNIST pass its splits: `classifier(mnist_splits, kind="mnist")`. The test accuracy
    (`.test_accuracy`, ≈ 0.98 on the digits) is measured on `splits.test` on every call.
    """
    if not isinstance(kind, str) or not re.fullmatch(r"[a-z0-9_\-]+", kind):
        raise ValueError(f"kind must be a short lower-case name such as 'digits' or 'mnist', got {kind!r}")
    if splits is None:
        if kind != "digits":
            raise ValueError(f"kind={kind!r} needs its splits: pass them, e.g. classifier(splits, kind={kind!r}); "
                             f"only the digits are loaded by default")
        splits = digits()
    if not isinstance(splits, Splits):
        raise TypeError(f"splits must be a coursekit.data.Splits (train, val, test), got {type(splits).__name__}")
    config = config or DEFAULT_CONFIGS.get(kind, ClassifierConfig())
    levels = splits.train.levels
    if splits.val.levels != levels or splits.test.levels != levels:
        raise ValueError(f"all splits must have the same levels, got train {levels}, val {splits.val.levels}, "
                         f"test {splits.test.levels}")
    shape = tuple(splits.train.x.shape[1:])
    num_classes = int(splits.train.y.max()) + 1
    key = classifier_key(splits, kind=kind, seed=seed, config=config)
    path = resolve_cache_dir(cache_dir) / f"{kind}-classifier-{key[:16]}.pt"
    device = resolve_device(device)

    with _rng_preserved(device):
        torch.manual_seed(seed)  # the initial weights
        net = SmallCNN(shape=shape, num_classes=num_classes, config=config).to(device)
        extra = None
        if path.exists():
            try:
                extra = load_checkpoint(path, net)
                if extra.get("key") != key:
                    raise CheckpointError(f"{path} was saved under another key ({str(extra.get('key'))[:16]}...)")
            except CheckpointError as err:
                warnings.warn(f"the cached classifier could not be used, so it is trained again and overwritten: "
                              f"{err}", stacklevel=2)
                extra = None
        from_cache = extra is not None
        if not from_cache:
            torch.manual_seed(seed)  # the initial weights, again: a failed load may have touched them
            net = SmallCNN(shape=shape, num_classes=num_classes, config=config).to(device)
            data = loaders(splits, batch_size=config.batch_size, seed=seed,
                           transform=functools.partial(to_float, levels=levels))
            start = time.perf_counter()
            with _single_thread_on_cpu(device):
                history = train(net, data["train"], val_data=data["val"], epochs=config.epochs, lr=config.lr,
                                weight_decay=config.weight_decay, patience=config.patience, device=device,
                                seed=seed, progress=progress, desc=f"{kind} classifier")
            seconds = time.perf_counter() - start
            extra = {"key": key, "train_seconds": seconds, "epochs_trained": len(history["epoch"]),
                     "best_epoch": (history.best_round or 0) + 1, "history": history.as_dict()}
            save_checkpoint(path, net, **extra)

    clf = Classifier(net, kind=kind, levels=levels, num_classes=num_classes, config=config, seed=seed, key=key,
                     path=path, from_cache=from_cache, train_seconds=extra.get("train_seconds"),
                     epochs_trained=extra.get("epochs_trained"))
    clf.val_accuracy = clf.accuracy(splits.val)
    clf.test_accuracy = clf.accuracy(splits.test)
    return clf


# --- the Fréchet distance ----------------------------------------------------------------

@dataclass(frozen=True)
class FrechetResult:
    """A Fréchet distance and the sample size n it was computed at (the statistic depends on n)."""

    value: float
    n: int

    def __float__(self) -> float:
        return self.value

    def __str__(self) -> str:
        return f"{self.value:.3f} (n = {self.n})"


def _stats_device(t: torch.Tensor) -> torch.device:
    """Where float64 statistics are computed: t's device, except Apple's MPS (no float64) → CPU."""
    return torch.device("cpu") if t.device.type == "mps" else t.device


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
    dev = _stats_device(mu_a)
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
    idx = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx.to(x.device)]


def _gaussian_fit(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (F,) and unbiased covariance (F, F) of features (n, F), in float64."""
    f = f.to(_stats_device(f), torch.float64)
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
    - `"floor"`: samples of the floor model (independent pixels, `metrics.floor_model`);
    - `"noise"`: uniformly random levels at every pixel.
    A model is reported as FD(its n samples, test) and read between "real" and "floor".
    """
    from .metrics import floor_model

    test = splits.test
    gen = torch.Generator().manual_seed(seed)
    floor = floor_model(splits.train).sample(n, generator=gen)
    noise = torch.randint(0, test.levels, (n, *test.x.shape[1:]), generator=gen)
    return {
        "real": frechet_distance(splits.train, test, classifier, n, seed),
        "floor": frechet_distance(floor, test, classifier, n, seed),
        "noise": frechet_distance(noise, test, classifier, n, seed),
    }


# --- mode coverage (the 8-Gaussian ring) -------------------------------------------------

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


# --- the Mutual Information Gap ----------------------------------------------------------

@dataclass(frozen=True)
class MIGResult:
    """MIG and its parts: per-factor gaps (F,), normalised MI (L, F), factor entropies (F,) in nats."""

    score: float
    gaps: torch.Tensor
    normalized_mi: torch.Tensor
    factor_entropy: torch.Tensor
    top_latent: torch.Tensor = field(repr=False)
    """(F,) the latent dimension with the most information about each factor."""

    def __float__(self) -> float:
        return self.score


def _discretise_latents(z: torch.Tensor, bins: int) -> torch.Tensor:
    """Each column into `bins` equal-width bins between its min and max: (N, L) int64 in 0..bins-1."""
    lo, hi = z.min(0).values, z.max(0).values
    width = (hi - lo).clamp_min(torch.finfo(z.dtype).tiny)
    return ((z - lo) / width * bins).long().clamp(0, bins - 1)


def _entropy(counts: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of the distributions whose counts are in the last dimension."""
    p = counts / counts.sum(-1, keepdim=True)
    return -torch.special.xlogy(p, p).sum(-1)


def mig_details(latents: torch.Tensor, factors: torch.Tensor, bins: int = 20) -> MIGResult:
    """The Mutual Information Gap (Chen et al., 2018) with its parts; see `mig`."""
    if latents.dim() != 2 or latents.shape[1] < 2:
        raise ValueError(f"latents must have shape (N, L) with L >= 2 (the gap needs two latents), "
                         f"got {tuple(latents.shape)}")
    if factors.dim() != 2 or factors.shape[0] != latents.shape[0]:
        raise ValueError(f"factors must have shape ({latents.shape[0]}, F) to match latents "
                         f"{tuple(latents.shape)}, got {tuple(factors.shape)}")
    if not isinstance(bins, int) or bins < 2:
        raise ValueError(f"bins must be an int >= 2, got {bins!r}")
    dev = _stats_device(latents)
    z = _discretise_latents(latents.detach().to(dev, torch.float64), bins)  # (N, L)
    n, num_latents = z.shape
    factors = factors.detach().to(dev)
    mi_rows, entropies = [], []
    for k in range(factors.shape[1]):
        values, v = torch.unique(factors[:, k], return_inverse=True)    # v: (N,) in 0..V-1
        if len(values) < 2:
            raise ValueError(f"factor {k} takes a single value, so it has no entropy and MIG is undefined for it")
        nv = len(values)
        # joint counts of (latent bin, factor value) for every latent at once: (L, bins, V)
        index = torch.arange(num_latents, device=dev) * bins * nv + z * nv + v[:, None]  # (N, L)
        joint = torch.bincount(index.reshape(-1), minlength=num_latents * bins * nv)
        joint = joint.reshape(num_latents, bins * nv).to(torch.float64)
        h_v = _entropy(torch.bincount(v, minlength=nv).to(torch.float64))
        h_z = _entropy(joint.reshape(num_latents, bins, nv).sum(2))       # (L,)
        # I(z_j; v_k) = H(z_j) + H(v_k) − H(z_j, v_k)
        mi_rows.append(h_z + h_v - _entropy(joint))
        entropies.append(h_v)
    mi = torch.stack(mi_rows, 1).clamp_min(0)                             # (L, F)
    entropy = torch.stack(entropies)                                      # (F,)
    normalized = mi / entropy                                             # I(z_j; v_k) / H(v_k)
    top2 = normalized.topk(2, dim=0)
    gaps = top2.values[0] - top2.values[1]                                # (F,)
    return MIGResult(float(gaps.mean()), gaps, normalized, entropy, top2.indices[0])


def mig(latents: torch.Tensor, factors: torch.Tensor, bins: int = 20) -> float:
    """Mutual Information Gap (Chen et al., 2018) of a code against known discrete factors.

        MIG = 1/F Σ_k ( I(z_{j*}; v_k) − I(z_{j°}; v_k) ) / H(v_k)

    with j* and j° the latent dimensions with the most and second-most information about
    factor v_k. Each latent dimension is discretised into `bins` equal-width bins over its
    range, each factor by its distinct values; the mutual information is the plug-in
    estimate from counts (nats). 1 means every factor lives in exactly one latent; 0 means
    two latents share it equally (or none holds it). `latents` (N, L), `factors` (N, F).
    Use `mig_details` for the per-factor gaps.
    """
    return mig_details(latents, factors, bins).score


# --- conditional models ------------------------------------------------------------------

def conditional_accuracy(samples: torch.Tensor, requested_labels: torch.Tensor, classifier: Classifier) -> float:
    """Fraction of a conditional model's samples that `classifier` labels as the requested class.

    Read it against the classifier's own `test_accuracy` (the most a perfect model can get)
    and 1/classes (what ignoring the label gets).
    """
    if requested_labels.dim() != 1 or samples.dim() < 1 or requested_labels.shape[0] != samples.shape[0]:
        raise ValueError(f"requested_labels must have shape ({samples.shape[0] if samples.dim() else 'N'},) to "
                         f"match samples {tuple(samples.shape)}, got {tuple(requested_labels.shape)}")
    predicted = classifier.predict(samples)
    return float((predicted == requested_labels.to(predicted.device)).float().mean())
