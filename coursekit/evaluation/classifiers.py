"""The evaluation classifier: a small CNN trained once per data set and kept in the disk cache.

    clf = classifier()                 # the digits: trained once in seconds, then loaded
    clf.features(x), clf.predict(x)    # penultimate features (N, F) and labels (N,)

Images go in as the data sets hold them, **integer levels** (an integer dtype, 0..levels-1,
converted with `coursekit.data.to_float` and the classifier's `levels`), or as **floats in
[0, 1]** (the float view). Floats outside [0, 1] are refused rather than clipped: clamp
them yourself if your decoder overshoots, so the number you report is the one you meant.

The classifier is cached (`coursekit.cache`, kind "classifiers") under a hash of what
determines its weights (the training and validation data, the architecture and training
configuration, the seed and torch's major.minor version). Its test accuracy is recomputed
on every call from the splits given, never read from the cache. `conditional_accuracy`
scores a conditional model's samples with it.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import os
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import nn

from ..cache import cache_path, load_cached, source_key, store_cached, torch_version
from ..data import ImageSplit, Splits, digits, loaders, to_float
from ..data import splits as data_splits
from ..training import ema as training_ema, loop as training_loop, schedules as training_schedules
from ..training import step as training_step, train
from ..utils import check_shape, hash_tensor, random_state_preserved, resolve_device

__all__ = ["ClassifierConfig", "DEFAULT_CONFIGS", "SmallCNN", "random_shift", "Classifier", "classifier",
           "classifier_key", "conditional_accuracy"]

_CACHE_FORMAT = 2  # bump when the meaning of a cached file changes


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
    kind, the configuration, the seed, the code that trains it (this file, the data views and
    loaders, the training loop: the same rule as `train_cached`'s key), torch's major.minor
    version and the cache format. The test split is not in it: the test accuracy is measured
    afresh on every call. `config` defaults to `DEFAULT_CONFIGS[kind]`, as in `classifier`.
    """
    config = config or DEFAULT_CONFIGS.get(kind, ClassifierConfig())
    h = hashlib.sha256()
    h.update(repr((_CACHE_FORMAT, SmallCNN.__name__, kind, splits.train.levels, seed,
                   sorted(asdict(config).items()), torch_version())).encode())
    source_key(h, modules=(sys.modules[__name__], data_splits, training_loop, training_step, training_schedules,
                           training_ema))
    for part in (splits.train, splits.val):
        hash_tensor(h, part.x)
        hash_tensor(h, part.y)
    return h.hexdigest()


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
    `coursekit.training.train` (Adam, random 1-pixel shifts, early stopping on the validation
    loss, best weights kept), which takes seconds on the digits, and saves it to
    `<cache_dir>/classifiers/<kind>-<key[:16]>.pt` (`coursekit.cache`); later calls with the same data,
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
    path = cache_path("classifiers", kind, key, cache_dir)
    device = resolve_device(device)

    with random_state_preserved(device):   # train() reseeds: the caller's streams come back afterwards
        torch.manual_seed(seed)  # the initial weights
        net = SmallCNN(shape=shape, num_classes=num_classes, config=config).to(device)
        extra = load_cached(path, net, key)
        from_cache = extra is not None
        if not from_cache:
            data = loaders(splits, batch_size=config.batch_size, seed=seed,
                           transform=functools.partial(to_float, levels=levels))
            start = time.perf_counter()
            with _single_thread_on_cpu(device):
                history = train(net, data["train"], val_data=data["val"], epochs=config.epochs, lr=config.lr,
                                weight_decay=config.weight_decay, patience=config.patience, device=device,
                                seed=seed, progress=progress, desc=f"{kind} classifier",
                                distributed=False)   # each process trains the same classifier alone
            seconds = time.perf_counter() - start
            extra = {"train_seconds": seconds, "epochs_trained": len(history["epoch"]),
                     "best_epoch": (history.best_round or 0) + 1, "history": history.as_dict()}
            store_cached(path, net, key, **extra)

    clf = Classifier(net, kind=kind, levels=levels, num_classes=num_classes, config=config, seed=seed, key=key,
                     path=path, from_cache=from_cache, train_seconds=extra.get("train_seconds"),
                     epochs_trained=extra.get("epochs_trained"))
    clf.val_accuracy = clf.accuracy(splits.val)
    clf.test_accuracy = clf.accuracy(splits.test)
    return clf


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
