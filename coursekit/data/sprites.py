"""Sprites: small binary (or grey) images with known factors of variation, for the β-VAE lecture.

Like dSprites (Matthey et al., 2017), made locally in a second or two: one filled shape per
image, rendered at every combination of five factors,

    shape     0 = square, 1 = ellipse, 2 = triangle (the index into `shapes`)
    scale     s ∈ [0.6, 1]: the shape's circumradius is R = s · R_max
    rotation  ρ ∈ [0, 1), in turns of the shape's own symmetry: the angle is θ = ρ · 2π/m
              for a shape with m-fold rotational symmetry (square m = 4, θ ∈ [0, π/2);
              ellipse m = 2, θ ∈ [0, π); triangle m = 3, θ ∈ [0, 2π/3)), counter-clockwise
              on screen
    x, y      the centre, in [0, 1] across the range where the largest shape still fits
              (x = 0 at the left, y = 0 at the top: y grows down the rows, as in `imshow`)

Why rotation is measured in turns of the symmetry: a square turned by π/2 is the same
square, so with one angle range for all shapes (dSprites uses [0, 2π) for all three)
several rotation values give one image and no encoder can tell them apart. Here, with the
default grid (32×32, 3 · 5 · 8 · 8 · 8 = 7,680 images), every combination of factor values
gives a different image, and changing any one factor changes at least 8 pixels (tests
check both); the price is that ρ = ½ means 45° for a square and 90° for an ellipse.

Why 32×32 by default: at 16×16 a binary square of circumradius 3 px looks the same turned
by 11° or not, and a scale step often moves no edge across a sub-pixel centre. With the
default factors at 16×16, 192 of the 7,680 images repeat another one; in a search over
grids of 1,500 to 10,000 images at 16×16, none stayed free of repeats under every
anti-aliasing setting. `size=16` and `size=28` work (28×28 has no repeats with the default
factors), but count the distinct images (`torch.unique(x.flatten(1), dim=0)`) before
trusting a disentanglement score on a grid of your own.

Rendering (`render`, `render_batch`, `sprites`): in image coordinates [−1, 1]² with pixels
of width w = 2/size, the shape stays inside the border-free box [−b, b]², b = 1 − w: the
centre is c = 2Pb (x − ½, y − ½) and the circumradius R = s (1 − P) b, with P = 0.35, so
|c| + R ≤ b and no ink ever touches the outermost row or column. Each pixel is split into
`supersample`² sub-pixels; the inside test (below) is evaluated at their centres, the
fraction inside is the pixel's coverage a ∈ [0, 1], and the pixel's level is
round(a · (levels − 1)) (halves up). `levels=2` gives binary images, for a Bernoulli decoder.

Inside tests, for q = R(−θ)(p − c) / R in the shape's own frame (y up, circumradius 1):
    square    max(|q₁|, |q₂|) ≤ 1/√2
    ellipse   q₁² + (q₂ / ½)² ≤ 1                  (semi-axes 1 and ½)
    triangle  n_k · q ≤ ½ for n_k at −90°, 30°, 150° (equilateral, a vertex pointing up)

    splits = sprites()                  # Splits(train, val, test) of ImageSplit
    splits.train.factors[:5]            # (5, 5): shape, scale, rotation, x, y
    grid = sprite_factors()             # the discrete values of each factor
    img = render("triangle", scale=1.0, rotation=0.25)   # (1, 32, 32): turned by 30°
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils import randperm, seeded_generator
from .splits import ImageSplit, Splits

__all__ = [
    "SHAPES", "SYMMETRY", "FACTOR_NAMES", "SCALE_RANGE", "POSITION_RANGE", "ELLIPSE_ASPECT",
    "SpriteFactors", "sprite_factors", "render", "render_batch", "sprites",
]

SHAPES: tuple[str, ...] = ("square", "ellipse", "triangle")
"""The shapes `render` knows, in their default order."""

SYMMETRY = MappingProxyType({"square": 4, "ellipse": 2, "triangle": 3})
"""m, the order of each shape's rotational symmetry: turning it by 2π/m gives the same shape."""

FACTOR_NAMES: tuple[str, ...] = ("shape", "scale", "rotation", "x", "y")
"""The columns of `ImageSplit.factors` for sprites."""

SCALE_RANGE = (0.6, 1.0)
"""The smallest and largest scale on the grid (fractions of the largest circumradius R_max)."""

POSITION_RANGE = 0.35
"""P: the centre moves over [−Pb, Pb] and the largest shape has circumradius (1 − P) b."""

ELLIPSE_ASPECT = 0.5
"""The ellipse's semi-minor / semi-major axis."""

_SPLIT_NAMES = ("train", "val", "test")
_CHUNK = 256  # images rendered at once: 256 · 64² sub-pixels ≈ 1M floats per temporary
_MIN_SIZE = 12


def _check_int(value: Any, name: str, low: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _supersample(size: int, supersample: int | None) -> int:
    """Sub-pixels per pixel side: by default about 64 sub-pixels across the image, at least 2."""
    if supersample is None:
        return max(2, round(64 / size))
    return _check_int(supersample, "supersample", 1)


def _linspace(lo: float, hi: float, n: int) -> Tensor:
    """n evenly spaced values from lo to hi; the midpoint when n = 1."""
    if n == 1:
        return torch.tensor([(lo + hi) / 2])
    return torch.linspace(lo, hi, n)


@dataclass(frozen=True)
class SpriteFactors:
    """The discrete values each factor takes on the grid, for discretising factors in a metric.

    `values[i]` is the grid of factor `names[i]` (the shape's is 0, 1, ..., len(shapes) − 1);
    the full grid has `len(self)` = Π sizes combinations, enumerated by `grid()` with the
    last factor (y) varying fastest.
    """

    shapes: tuple[str, ...]
    scale: Tensor  # (n_scale,)
    rotation: Tensor  # (n_rotation,), in turns of each shape's symmetry, in [0, 1)
    x: Tensor  # (n_x,)
    y: Tensor  # (n_y,)

    @property
    def names(self) -> tuple[str, ...]:
        return FACTOR_NAMES

    @property
    def values(self) -> tuple[Tensor, ...]:
        """The grid of each factor, in the order of `names`."""
        shape = torch.arange(len(self.shapes), dtype=torch.float32)
        return (shape, self.scale, self.rotation, self.x, self.y)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(v.numel() for v in self.values)

    def __len__(self) -> int:
        return math.prod(self.sizes)

    def grid(self) -> Tensor:
        """Every combination of factor values, (len(self), 5) float32, y varying fastest."""
        mesh = torch.meshgrid(*self.values, indexing="ij")  # 5 tensors of shape `sizes`
        return torch.stack([m.reshape(-1) for m in mesh], dim=1)  # (Π sizes, 5)

    def indices(self, factors: Tensor) -> Tensor:
        """The index of each factor value on its grid, (N, 5) int64 (the nearest grid value)."""
        if factors.dim() != 2 or factors.shape[1] != len(FACTOR_NAMES):
            raise ValueError(f"factors must have shape (N, {len(FACTOR_NAMES)}), got {tuple(factors.shape)}")
        cols = [(factors[:, i, None] - v.to(factors)).abs().argmin(dim=1)  # (N,): nearest of (N, n_i)
                for i, v in enumerate(self.values)]
        return torch.stack(cols, dim=1)  # (N, 5)

    def angle(self, shape: Tensor, rotation: Tensor) -> Tensor:
        """θ = ρ · 2π / m in radians, for shape indices and rotations ρ of the same shape."""
        m = torch.tensor([SYMMETRY[s] for s in self.shapes], dtype=rotation.dtype, device=rotation.device)
        return rotation * 2 * math.pi / m[shape.long()]


def sprite_factors(shapes: Sequence[str] = SHAPES, n_scale: int = 5, n_rotation: int = 8,
                   n_x: int = 8, n_y: int = 8) -> SpriteFactors:
    """The factor grids that `sprites` renders with the same arguments.

    scale: n_scale values evenly over [0.6, 1]; rotation: ρ_j = j / n_rotation for
    j < n_rotation (one turn of the shape's symmetry, without its repeat at ρ = 1); x, y:
    n_x and n_y values evenly over [0, 1]. A factor with one value sits mid-range.
    """
    shapes = tuple(shapes)
    if not shapes or any(s not in SYMMETRY for s in shapes) or len(set(shapes)) != len(shapes):
        raise ValueError(f"shapes must be distinct names from {list(SHAPES)}, got {shapes!r}")
    n_scale = _check_int(n_scale, "n_scale", 1)
    n_rotation = _check_int(n_rotation, "n_rotation", 1)
    n_x = _check_int(n_x, "n_x", 1)
    n_y = _check_int(n_y, "n_y", 1)
    return SpriteFactors(
        shapes=shapes,
        scale=_linspace(*SCALE_RANGE, n_scale),
        rotation=torch.arange(n_rotation, dtype=torch.float32) / n_rotation,
        x=_linspace(0.0, 1.0, n_x),
        y=_linspace(0.0, 1.0, n_y),
    )


# --- rendering ---------------------------------------------------------------------------

def _half_planes(shape: str) -> tuple[tuple[float, float, float], ...]:
    """A polygon (circumradius 1, y up) as the intersection of half-planes n · q ≤ h: (n₁, n₂, h)."""
    if shape == "square":  # max(|q₁|, |q₂|) ≤ 1/√2
        h = 1 / math.sqrt(2)
        return ((1.0, 0.0, h), (-1.0, 0.0, h), (0.0, 1.0, h), (0.0, -1.0, h))
    if shape == "triangle":  # outward normals at −90°, 30°, 150°; inradius ½
        return tuple((math.cos(phi), math.sin(phi), 0.5) for phi in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6))
    raise ValueError(f"shape {shape!r} is not a polygon")


def _render_one_shape(shape: str, scale: Tensor, theta: Tensor, x: Tensor, y: Tensor,
                      size: int, levels: int, supersample: int) -> Tensor:
    """Images (B, size, size) int64 of one shape; scale, θ (radians), x, y are (B,) float64."""
    w = 2.0 / size  # pixel width in image coordinates [−1, 1]
    b = 1.0 - w  # the border-free box is [−b, b]²
    s = supersample
    sub = -1.0 + (torch.arange(size * s, dtype=torch.float64) + 0.5) * (w / s)  # (S,) sub-pixel centres
    radius = scale * (1 - POSITION_RANGE) * b  # (B,): R = s (1 − P) b
    cx, cy = 2 * POSITION_RANGE * b * (x - 0.5), 2 * POSITION_RANGE * b * (y - 0.5)  # (B,): c, y down
    dx = ((sub[None, :] - cx[:, None]) / radius[:, None]).float()  # (B, S): (p − c)/R along a row
    dy = (-(sub[None, :] - cy[:, None]) / radius[:, None]).float()  # (B, S): down a column, flipped to y up
    cos, sin = theta.cos().float()[:, None], theta.sin().float()[:, None]  # (B, 1)
    # q = R(−θ)(dx, dy): q₁ = cos θ dx + sin θ dy, q₂ = −sin θ dx + cos θ dy. Rows (dim 1) index
    # dy and columns (dim 2) index dx, so each term is an outer sum of two (B, S) vectors.
    if shape == "ellipse":  # q₁² + (q₂ / aspect)² ≤ 1
        q1 = (cos * dx)[:, None, :] + (sin * dy)[:, :, None]  # (B, S, S)
        q2 = (-sin * dx)[:, None, :] + (cos * dy)[:, :, None]  # (B, S, S)
        inside = q1.square_() + q2.div_(ELLIPSE_ASPECT).square_() <= 1
    else:  # n · q = (R(θ) n) · (dx, dy) ≤ h for every edge
        inside = None
        for n1, n2, h in _half_planes(shape):
            a = n1 * cos - n2 * sin  # (B, 1): (R(θ) n)₁
            c = n1 * sin + n2 * cos  # (B, 1): (R(θ) n)₂
            edge = (a * dx)[:, None, :] + (c * dy)[:, :, None] <= h  # (B, S, S)
            inside = edge if inside is None else inside.logical_and_(edge)
    coverage = F.avg_pool2d(inside.float()[:, None], s)[:, 0]  # (B, size, size): a, the fraction inside
    count = torch.round(coverage * (s * s)).long()  # sub-pixels inside, exact
    # level = round(a (L − 1)) with halves rounded up, in integer arithmetic
    return (2 * count * (levels - 1) + s * s) // (2 * s * s)


def render_batch(shape: Tensor, scale: Tensor, rotation: Tensor, x: Tensor, y: Tensor,
                 shapes: Sequence[str] = SHAPES, size: int = 32, levels: int = 2,
                 supersample: int | None = None) -> Tensor:
    """Images (N, 1, size, size) int64 in 0..levels−1, one per row of factor values.

    `shape` (N,) indexes `shapes`; `scale` (N,) in (0, 1]; `rotation` (N,) in turns of the
    shape's symmetry (any real number: it is periodic); `x`, `y` (N,) in [0, 1].
    `supersample` sub-pixels per pixel side (default: about 64 across the image, at least 2).
    Each kind of shape is rendered in chunks of a few hundred images.
    """
    size = _check_int(size, "size", _MIN_SIZE)
    levels = _check_int(levels, "levels", 2)
    supersample = _supersample(size, supersample)
    shapes = tuple(shapes)
    for name in shapes:
        if name not in SYMMETRY:
            raise ValueError(f"shapes must be names from {list(SHAPES)}, got {name!r}")
    n = shape.shape[0] if shape.dim() == 1 else -1
    for name, col in {"shape": shape, "scale": scale, "rotation": rotation, "x": x, "y": y}.items():
        if col.dim() != 1 or col.shape[0] != n:
            raise ValueError(f"shape, scale, rotation, x and y must be 1-D of one length N, "
                             f"got {name} of shape {tuple(col.shape)} (shape: {tuple(shape.shape)})")
    scale, rotation, x, y = (c.detach().to("cpu", torch.float64) for c in (scale, rotation, x, y))
    shape = shape.detach().cpu().long()
    if n == 0:
        return torch.zeros(0, 1, size, size, dtype=torch.int64)
    span = lambda v: f"[{v.min().item():.3g}, {v.max().item():.3g}]"  # noqa: E731
    if not ((scale > 0) & (scale <= 1)).all():
        raise ValueError(f"scale must be in (0, 1], got values in {span(scale)}")
    for name, col in (("x", x), ("y", y)):
        if not ((col >= 0) & (col <= 1)).all():
            raise ValueError(f"{name} must be in [0, 1], got values in {span(col)}")
    if not torch.isfinite(rotation).all():
        raise ValueError(f"rotation must be finite, got {rotation[~torch.isfinite(rotation)][:3].tolist()}")
    if shape.min() < 0 or shape.max() >= len(shapes):
        raise ValueError(f"shape must index shapes {shapes} (0..{len(shapes) - 1}), "
                         f"got values in {shape.min().item()}..{shape.max().item()}")
    out = torch.zeros(n, size, size, dtype=torch.int64)
    for k, name in enumerate(shapes):
        for rows in (shape == k).nonzero().squeeze(1).split(_CHUNK):  # (≤ _CHUNK,) each
            theta = rotation[rows] * 2 * math.pi / SYMMETRY[name]  # θ = ρ · 2π/m
            out[rows] = _render_one_shape(name, scale[rows], theta, x[rows], y[rows], size, levels, supersample)
    return out.unsqueeze(1)  # (N, 1, size, size)


def render(shape: str | int, scale: float = 1.0, rotation: float = 0.0, x: float = 0.5, y: float = 0.5,
           size: int = 32, levels: int = 2, supersample: int | None = None) -> Tensor:
    """One sprite, (1, size, size) int64 in 0..levels−1 (the factors are in the module docstring).

    `shape` is a name from SHAPES or an index into it. Values between the grid points are
    fine, for smooth traversals of one factor.
    """
    if isinstance(shape, str):
        if shape not in SHAPES:
            raise ValueError(f"shape must be one of {list(SHAPES)} or an index into it, got {shape!r}")
        shape = SHAPES.index(shape)
    elif not isinstance(shape, (int, np.integer)) or isinstance(shape, bool) or not 0 <= shape < len(SHAPES):
        raise ValueError(f"shape must be one of {list(SHAPES)} or an index 0..{len(SHAPES) - 1}, got {shape!r}")
    one = lambda v: torch.tensor([float(v)], dtype=torch.float64)  # noqa: E731
    return render_batch(torch.tensor([int(shape)]), one(scale), one(rotation), one(x), one(y),
                        SHAPES, size, levels, supersample)[0]


# --- the data set ------------------------------------------------------------------------

def sprites(size: int = 32, shapes: Sequence[str] = SHAPES, n_scale: int = 5, n_rotation: int = 8,
            n_x: int = 8, n_y: int = 8, levels: int = 2, n: int | None = None, seed: int = 0,
            split: str | None = None, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
            supersample: int | None = None) -> Splits | ImageSplit:
    """Sprites at every factor combination (n=None), or at n combinations drawn without replacement.

    Returns `Splits(train, val, test)` of `ImageSplit`s, as `digits()` does: `x` (N, 1, size,
    size) int64 in 0..levels−1, `y` the shape index, `factors` (N, 5) float32 with
    `factor_names` FACTOR_NAMES. The combinations are shuffled by a generator seeded with
    `seed` and cut by `fractions` (val and test get round(f · N) each, train the rest), so
    the same arguments give the same splits; `sprites(split="test")` renders and returns only
    that split. The factor grids are `sprite_factors(shapes, n_scale, n_rotation, n_x, n_y)`.

    The defaults give 3 · 5 · 8 · 8 · 8 = 7,680 binary 32×32 images (6,144 / 768 / 768), all
    different, in about a second.
    """
    factors = sprite_factors(shapes, n_scale, n_rotation, n_x, n_y)
    size = _check_int(size, "size", _MIN_SIZE)
    levels = _check_int(levels, "levels", 2)
    supersample = _supersample(size, supersample)
    if split is not None and split not in _SPLIT_NAMES:
        raise ValueError(f"split must be one of {sorted(_SPLIT_NAMES)} or None, got {split!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}")
    fractions = tuple(fractions)
    if (len(fractions) != 3 or any(not isinstance(f, (int, float)) or not f >= 0 for f in fractions)
            or abs(sum(fractions) - 1) > 1e-9):
        raise ValueError(f"fractions must be three numbers >= 0 summing to 1 (train, val, test), got {fractions!r}")
    total = len(factors)
    if n is None:
        n = total
    elif not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 1 <= n <= total:
        raise ValueError(f"n must be None (the full grid) or an int in 1..{total} "
                         f"(the number of factor combinations), got {n!r}")
    n = int(n)
    n_val, n_test = round(fractions[1] * n), round(fractions[2] * n)
    counts = {"train": n - n_val - n_test, "val": n_val, "test": n_test}
    if min(counts.values()) < 1:
        raise ValueError(f"n={n} images cut by fractions {fractions} leaves a split empty, got sizes {counts}")

    # one seeded permutation both draws the n combinations and shuffles them
    order = randperm(total, generator=seeded_generator(int(seed)))[:n]  # (n,)
    grid = factors.grid()  # (total, 5)
    parts, start = {}, 0
    for name in _SPLIT_NAMES:
        rows = order[start:start + counts[name]]
        start += counts[name]
        if split is not None and name != split:
            continue
        f = grid[rows]  # (N_split, 5): shape, scale, rotation, x, y
        x = render_batch(f[:, 0].long(), f[:, 1], f[:, 2], f[:, 3], f[:, 4], factors.shapes,
                         size, levels, supersample)  # (N_split, 1, size, size)
        parts[name] = ImageSplit(x, f[:, 0].long(), levels, name, f, FACTOR_NAMES)
    return parts[split] if split is not None else Splits(**parts)
