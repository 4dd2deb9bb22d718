"""Data that ships with the course, as tensors and DataLoaders, and one door to every data set.

- `splits`: `ImageSplit`, `Splits`, the float views (`to_float`, `binarize`, `dequantize`) and
  seeded `loaders`; it imports no data set;
- `digits_8x8`: scikit-learn's bundled 8×8 digits with the fixed 1000/350/447 split (the default
  data of every lecture) and the coloured digits;
- `mnist`: MNIST / Fashion-MNIST from IDX files you have; `sprites`: binary sprites with known
  factors of variation; `toy2d`: 2-D densities with closed-form log-densities.

`load(name, **options)` reads `REGISTRY`, which maps each name to its loader; a new data set
joins with `register(name, loader)`.
"""
from __future__ import annotations

from typing import Callable

from . import digits_8x8 as _digits_module
from . import mnist, sprites, toy2d
from .digits_8x8 import DIGITS_LEVELS, DIGITS_SPLIT, TINTS, colour_digits, digits
from .splits import ImageSplit, Splits, binarize, binarized, dequantize, loaders, to_float

__all__ = [
    "DIGITS_LEVELS", "DIGITS_SPLIT", "ImageSplit", "Splits", "digits", "TINTS", "colour_digits",
    "to_float", "binarize", "binarized", "dequantize", "loaders", "load", "register", "REGISTRY", "DATASETS",
    "mnist", "sprites", "toy2d",
]


def _mnist_loader(kind: str) -> Callable:
    def load_idx(**options):
        if "root" not in options:
            name = "mnist" if kind == "mnist" else "fashion_mnist"
            raise ValueError(f"load({name!r}) needs root=, the folder that holds the IDX files "
                             f"(coursekit.data.mnist.download(root) fetches them when you are online)")
        return mnist.mnist(kind=kind, **options)

    return load_idx


def _toy_loader(name: str) -> Callable:
    def load_toy(**options):
        return toy2d.toy_splits(name, **options)

    return load_toy


REGISTRY: dict[str, Callable] = {
    "digits": _digits_module.digits,
    "colour_digits": _digits_module.colour_digits,
    "sprites": sprites.sprites,
    "mnist": _mnist_loader("mnist"),
    "fashion_mnist": _mnist_loader("fashion"),
    **{name: _toy_loader(name) for name in ("moons", "8gaussians", "swissroll", "checkerboard", "rings")},
}
"""Every name `load` accepts, mapped to the function that loads it (its keyword options are `load`'s)."""

DATASETS = tuple(REGISTRY)
"""The names `load` accepts (as registered when the package was imported)."""


def register(name: str, loader: Callable, *, replace: bool = False) -> None:
    """Add a data set to `load`: `loader(**options)` returns a `Splits` (or train/val/test datasets)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if not callable(loader):
        raise TypeError(f"loader must be callable (loader(**options) -> Splits), got {type(loader).__name__}")
    if name in REGISTRY and not replace:
        raise ValueError(f"a data set named {name!r} is already registered; pass replace=True to replace it")
    REGISTRY[name] = loader


def load(name: str, **options):
    """Any of the course's data sets by name, with the digits' split and seed conventions.

    - "digits", "colour_digits" (options: levels, seed), "sprites" (options of
      `coursekit.data.sprites.sprites`): `Splits` of `ImageSplit`s, batches `(x, y)`;
    - "mnist", "fashion_mnist": `Splits` read from IDX files; needs `root=` (the folder with the
      files; `coursekit.data.mnist.download(root)` fetches them when you are online);
    - "moons", "8gaussians", "swissroll", "checkerboard", "rings": train/val/test `TensorDataset`s
      of 2-D points, batches `(x,)` (options of `coursekit.data.toy2d.toy_splits`).

    Pass the result to `loaders(...)` for DataLoaders. A lecture's parameters cell names the
    data set (`DATA = "digits"`), so switching to MNIST on a GPU is one line.
    """
    try:
        loader = REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"name must be one of {list(REGISTRY)}, got {name!r}") from None
    return loader(**options)
