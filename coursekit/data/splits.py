"""Splits of image data sets, their float views and DataLoaders (imports no data set).

`ImageSplit` holds integer images (N, C, H, W) and labels; `Splits(train, val, test)` holds
three. `to_float`, `binarize` and `dequantize` turn integer levels into the views the models
train on; `loaders` wraps a `Splits` in seeded DataLoaders.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset

from ..utils import check_integer_range, rand, seeded_generator

__all__ = ["DIGITS_LEVELS", "ImageSplit", "Splits", "to_float", "binarize", "binarized", "dequantize", "loaders"]

DIGITS_LEVELS = 17
"""Number of grey levels in the digits (values 0..16), the default `levels` of the views."""


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


# --- views of integer images -------------------------------------------------------------

def to_float(x: torch.Tensor, levels: int = DIGITS_LEVELS) -> torch.Tensor:
    """Integer levels 0..levels-1 → floats in [0, 1] (level k ↦ k / (levels - 1))."""
    check_integer_range(x, 0, levels - 1)
    return x.float() / (levels - 1)


def binarize(x: torch.Tensor, levels: int = DIGITS_LEVELS, threshold: float = 0.5) -> torch.Tensor:
    """Integer levels → {0., 1.}: 1 where the float view exceeds `threshold` (default: level > 8)."""
    return (to_float(x, levels) > threshold).float()


def binarized(splits: Splits | ImageSplit, threshold: float = 0.5) -> Splits | ImageSplit:
    """The same images as binary *integer levels* 0/1 (`levels = 2`): what a Bernoulli model's
    likelihood and `coursekit.evaluation.evaluate_model` take, so its bits/dim are measured on
    the data it models (the baselines then become 1 bit/dim uniform and a binary floor; a
    table mixes only rows of one data set). `binarize` gives the float 0./1. view for training.
    """
    if isinstance(splits, ImageSplit):
        x = binarize(splits.x, splits.levels, threshold).long()
        return ImageSplit(x, splits.y, 2, f"{splits.name}-binary" if splits.name else "binary",
                          splits.factors, splits.factor_names)
    if not (isinstance(splits, tuple) and hasattr(splits, "_asdict")):
        raise TypeError(f"splits must be a Splits(train, val, test) or an ImageSplit, got {type(splits).__name__}")
    return Splits(**{name: binarized(part, threshold) for name, part in splits._asdict().items()})


def dequantize(x: torch.Tensor, levels: int = DIGITS_LEVELS, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform dequantisation: y = (x + u) / levels with u ~ U[0, 1), so y ∈ [0, 1).

    Level k is spread uniformly over [k/levels, (k+1)/levels): the noise spans exactly one
    level. A continuous density p(y) then gives a lower bound on the discrete likelihood,
    log P(x) ≥ E_u[log p(y)] − D·log(levels)  (Theis et al., 2016).
    """
    check_integer_range(x, 0, levels - 1)
    u = rand(x.shape, device=x.device, dtype=torch.float32, generator=generator)
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


def loaders(splits: Splits, batch_size: int = 64, seed: int = 0,
            transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
            num_workers: int = 0) -> dict[str, DataLoader]:
    """DataLoaders for each split: `{"train": ..., "val": ..., "test": ...}`.

    The training loader shuffles with its own generator seeded by `seed` (the same seed gives
    the same batches); validation and test are not shuffled. `transform` (e.g. `to_float`,
    `binarize`, `dequantize`) is applied to each batch of images.
    """
    if not (isinstance(splits, tuple) and hasattr(splits, "_asdict")):
        raise TypeError(f"splits must be a Splits(train, val, test), e.g. coursekit.data.load('digits'), "
                        f"got {type(splits).__name__}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    collate = _Collate(transform)
    out = {}
    for name, part in splits._asdict().items():
        shuffle = name == "train"
        out[name] = DataLoader(part, batch_size=batch_size, shuffle=shuffle, collate_fn=collate,
                               generator=seeded_generator(seed) if shuffle else None,
                               num_workers=num_workers)
    return out


