"""Data that ships with the course, as tensors and DataLoaders.

The default data set is scikit-learn's bundled 8×8 handwritten digits (1,797 images, 17 grey
levels 0..16), so every lecture runs offline on a laptop. The split is the fixed one used by
the public reference code for this data (Tomczak's *intro_dgm*): the first 1,000 images for
training, the next 350 for validation and the last 447 for testing, without shuffling, so
our bits/dim are directly comparable with published numbers.
"""
from __future__ import annotations

import torch

from ..utils import seeded_generator
from .splits import DIGITS_LEVELS, ImageSplit, Splits

__all__ = ["DIGITS_LEVELS", "DIGITS_SPLIT", "digits", "TINTS", "colour_digits"]

DIGITS_SPLIT = {"train": (0, 1000), "val": (1000, 1350), "test": (1350, 1797)}
"""Index ranges of the fixed split: train = first 1000, val = next 350, test = last 447."""


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
    [1.0, 2 / 3, 0.0],    # orange           (Okabe & Ito's palette, rounded to thirds so that the default
    [1 / 3, 2 / 3, 1.0],  # sky blue          4 levels per channel keep every tint distinct; no red-green pair,
    [0.0, 2 / 3, 1 / 3],  # bluish green      so a colour-blind student can tell the tints apart)
    [1.0, 1.0, 1 / 3],    # yellow
    [0.0, 1 / 3, 2 / 3],  # blue
    [2 / 3, 1 / 3, 0.0],  # vermillion
    [2 / 3, 1 / 3, 2 / 3],  # reddish purple
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
    g = seeded_generator(seed)
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


