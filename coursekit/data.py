"""Data that ships with the course, as tensors and DataLoaders.

The default data set is scikit-learn's bundled 8×8 handwritten digits (1,797 images, 17 grey
levels 0..16), so every lecture runs offline on a laptop. The split is the fixed one used by
the public reference code for this data (Tomczak's *intro_dgm*): the first 1,000 images for
training, the next 350 for validation and the last 447 for testing, without shuffling, so
our bits/dim are directly comparable with published numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset

from .utils import check_integer_range

__all__ = [
    "DIGITS_LEVELS", "DIGITS_SPLIT", "ImageSplit", "Splits", "digits", "TINTS", "colour_digits",
    "to_float", "binarize", "dequantize", "loaders", "load", "DATASETS",
]

DIGITS_LEVELS = 17
"""Number of grey levels in the digits (values 0..16)."""

DIGITS_SPLIT = {"train": (0, 1000), "val": (1000, 1350), "test": (1350, 1797)}
"""Index ranges of the fixed split: train = first 1000, val = next 350, test = last 447."""


@dataclass(frozen=True)
class ImageSplit(Dataset):
    """One split of an image data set: integer images `x` (N, C, H, W) and labels `y` (N,).

    Indexing gives `(x_i, y_i)`, so a DataLoader yields batches `(x, y)`, as every model's
    `loss(batch)` expects.
    """

    x: torch.Tensor
    y: torch.Tensor
    levels: int
    name: str = ""
    factors: torch.Tensor | None = None
    """Known factors of variation, (N, F) floats, for data sets that have them (sprites, tints)."""
    factor_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.x.dim() != 4:
            raise ValueError(f"x must have shape (N, C, H, W), got {tuple(self.x.shape)}")
        if self.y.shape != (self.x.shape[0],):
            raise ValueError(f"y must have shape ({self.x.shape[0]},) to match x, got {tuple(self.y.shape)}")
        if self.factors is not None and (self.factors.dim() != 2 or self.factors.shape[0] != self.x.shape[0]
                                         or self.factors.shape[1] != len(self.factor_names)):
            raise ValueError(f"factors must have shape ({self.x.shape[0]}, {len(self.factor_names)}) to match x and "
                             f"factor_names {self.factor_names}, got {tuple(self.factors.shape)}")

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    @property
    def dims(self) -> int:
        """D, the number of dimensions of one example (C·H·W), the denominator of bits/dim."""
        return int(self.x[0].numel())

    def __repr__(self) -> str:
        return (f"ImageSplit({self.name!r}: x {tuple(self.x.shape)} {self.x.dtype} in 0..{self.levels - 1}, "
                f"y {tuple(self.y.shape)})")


class Splits(NamedTuple):
    train: ImageSplit
    val: ImageSplit
    test: ImageSplit


def digits(split: str | None = None) -> Splits | ImageSplit:
    """scikit-learn's 8×8 digits as int64 tensors (N, 1, 8, 8) with values 0..16, and labels.

    `digits()` returns `Splits(train, val, test)` with 1000 / 350 / 447 images;
    `digits("test")` returns one split. No download: the data ships with scikit-learn.
    """
    from sklearn.datasets import load_digits

    if split is not None and split not in DIGITS_SPLIT:
        raise ValueError(f"split must be one of {sorted(DIGITS_SPLIT)} or None, got {split!r}")
    bunch = load_digits()
    x = torch.from_numpy(bunch.images).round().long().reshape(-1, 1, 8, 8)  # (1797, 1, 8, 8)
    y = torch.from_numpy(bunch.target).long()
    parts = {name: ImageSplit(x[a:b].clone(), y[a:b].clone(), DIGITS_LEVELS, name)
             for name, (a, b) in DIGITS_SPLIT.items()}
    return parts[split] if split is not None else Splits(**parts)


TINTS = torch.tensor([
    [1.0, 0.0, 0.0],  # red
    [0.0, 1.0, 0.0],  # green
    [0.0, 0.0, 1.0],  # blue
    [1.0, 1.0, 0.0],  # yellow
    [0.0, 1.0, 1.0],  # cyan
    [1.0, 0.0, 1.0],  # magenta
    [1.0, 0.5, 0.0],  # orange
])
"""The palette of `colour_digits`: ink colours as RGB in [0, 1]."""


def colour_digits(levels: int = 4, seed: int = 0, split: str | None = None) -> Splits | ImageSplit:
    """The digits with coloured ink: (N, 3, 8, 8) integer images, `levels` levels per channel.

    Each image gets one tint t from `TINTS`, drawn with a fixed seed, and channel c of pixel d
    is round(x_d / 16 · t_c · (levels − 1)). The channels of one pixel are strongly dependent
    (they share x_d), which is what PixelCNN's R → G → B ordering models: p(r) p(g | r) p(b | r, g).
    The tint is a known factor: `factors[:, 0]` is its index, `factors[:, 1:]` its RGB values.
    Same fixed split as `digits()`.
    """
    if not isinstance(levels, int) or levels < 2:
        raise ValueError(f"levels (per channel) must be an int >= 2, got {levels!r}")
    grey = digits()
    g = torch.Generator().manual_seed(seed)
    tint_index = torch.randint(len(TINTS), (sum(len(s) for s in grey),), generator=g)  # one tint per image
    parts, start = {}, 0
    for name, part in grey._asdict().items():
        idx = tint_index[start:start + len(part)]
        start += len(part)
        tint = TINTS[idx]  # (N, 3)
        x = torch.round(part.x.float() / 16 * tint[:, :, None, None] * (levels - 1)).long()  # (N, 3, 8, 8)
        factors = torch.cat([idx[:, None].float(), tint], dim=1)  # (N, 4)
        parts[name] = ImageSplit(x, part.y.clone(), levels, name, factors, ("tint", "r", "g", "b"))
    if split is not None:
        if split not in parts:
            raise ValueError(f"split must be one of {sorted(parts)} or None, got {split!r}")
        return parts[split]
    return Splits(**parts)


# --- views of integer images -------------------------------------------------------------

def to_float(x: torch.Tensor, levels: int = DIGITS_LEVELS) -> torch.Tensor:
    """Integer levels 0..levels-1 → floats in [0, 1] (level k ↦ k / (levels - 1))."""
    check_integer_range(x, 0, levels - 1)
    return x.float() / (levels - 1)


def binarize(x: torch.Tensor, levels: int = DIGITS_LEVELS, threshold: float = 0.5) -> torch.Tensor:
    """Integer levels → {0., 1.}: 1 where the float view exceeds `threshold` (default: level > 8)."""
    return (to_float(x, levels) > threshold).float()


def dequantize(x: torch.Tensor, levels: int = DIGITS_LEVELS, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform dequantisation: y = (x + u) / levels with u ~ U[0, 1), so y ∈ [0, 1).

    Level k is spread uniformly over [k/levels, (k+1)/levels): the noise spans exactly one
    level. A continuous density p(y) then gives a lower bound on the discrete likelihood,
    log P(x) ≥ E_u[log p(y)] − D·log(levels)  (Theis et al., 2016).
    """
    check_integer_range(x, 0, levels - 1)
    u = torch.rand(x.shape, generator=generator, dtype=torch.float32,
                   device="cpu" if generator is not None else x.device).to(x.device)
    return (x.float() + u) / levels


# --- loaders -----------------------------------------------------------------------------

class _Collate:
    """Stack a list of examples `(x,)` or `(x, y, ...)` field by field and apply `transform` to x
    (a class, not a lambda, so DataLoader workers can pickle it)."""

    def __init__(self, transform: Callable[[torch.Tensor], torch.Tensor] | None):
        self.transform = transform

    def __call__(self, items):
        fields = [torch.stack(column) for column in zip(*items)]
        if self.transform is not None:
            fields[0] = self.transform(fields[0])
        return tuple(fields)


def loaders(splits: Splits | None = None, batch_size: int = 64, seed: int = 0,
            transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
            num_workers: int = 0) -> dict[str, DataLoader]:
    """DataLoaders for each split: `{"train": ..., "val": ..., "test": ...}`.

    The training loader shuffles with its own generator seeded by `seed` (the same seed gives
    the same batches); validation and test are not shuffled. `transform` (e.g. `to_float`,
    `binarize`, `dequantize`) is applied to each batch of images. Defaults to the digits.
    """
    if splits is None:
        splits = digits()
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    collate = _Collate(transform)
    out = {}
    for name, part in splits._asdict().items():
        shuffle = name == "train"
        out[name] = DataLoader(part, batch_size=batch_size, shuffle=shuffle, collate_fn=collate,
                               generator=torch.Generator().manual_seed(seed) if shuffle else None,
                               num_workers=num_workers)
    return out


# --- one door to every data set ----------------------------------------------------------

DATASETS = ("digits", "colour_digits", "sprites", "mnist", "fashion_mnist",
            "moons", "8gaussians", "swissroll", "checkerboard", "rings")
"""The names `load` accepts."""


def load(name: str, **options):
    """Any of the course's data sets by name, with the digits' split and seed conventions.

    - "digits", "colour_digits" (options: levels, seed), "sprites" (options of `coursekit.sprites.sprites`):
      `Splits` of `ImageSplit`s, batches `(x, y)`;
    - "mnist", "fashion_mnist": `Splits` read from IDX files; needs `root=` (the folder with the
      files; `coursekit.mnist.download(root)` fetches them when you are online);
    - "moons", "8gaussians", "swissroll", "checkerboard", "rings": train/val/test `TensorDataset`s
      of 2-D points, batches `(x,)` (options of `coursekit.toy2d.toy_splits`).

    Pass the result to `loaders(...)` for DataLoaders. A lecture's parameters cell names the
    data set (`DATA = "digits"`), so switching to MNIST on a GPU is one line.
    """
    if name == "digits":
        return digits(**options)
    if name == "colour_digits":
        return colour_digits(**options)
    if name == "sprites":
        from .sprites import sprites

        return sprites(**options)
    if name in ("mnist", "fashion_mnist"):
        from .mnist import mnist

        if "root" not in options:
            raise ValueError(f"load({name!r}) needs root=, the folder that holds the IDX files "
                             f"(coursekit.mnist.download(root) fetches them when you are online)")
        return mnist(kind="mnist" if name == "mnist" else "fashion", **options)
    if name in ("moons", "8gaussians", "swissroll", "checkerboard", "rings"):
        from .toy2d import toy_splits

        return toy_splits(name, **options)
    raise ValueError(f"name must be one of {list(DATASETS)}, got {name!r}")
