import math
import time

import numpy as np
import pytest
import torch
from matplotlib.path import Path

from coursekit import data
from coursekit.data import sprites
from coursekit.data.sprites import FACTOR_NAMES, SHAPES, render, sprite_factors


@pytest.fixture(scope="module")
def full():
    """The default full grid, and how long it took to make."""
    start = time.perf_counter()
    splits = sprites.sprites()
    return splits, time.perf_counter() - start


@pytest.fixture(scope="module")
def cube(full):
    """The default grid's images arranged by factor index: (3, 5, 8, 8, 8, 32, 32) int64."""
    splits, _ = full
    grid = sprite_factors()
    x = torch.cat([p.x for p in splits])  # (N, 1, 32, 32)
    idx = grid.indices(torch.cat([p.factors for p in splits]))  # (N, 5)
    flat = torch.from_numpy(np.ravel_multi_index(idx.T.numpy(), grid.sizes))  # (N,)
    assert torch.equal(flat.sort().values, torch.arange(len(grid)))  # each combination exactly once
    out = torch.empty(len(grid), 32, 32, dtype=torch.int64)
    out[flat] = x[:, 0]
    return out.reshape(*grid.sizes, 32, 32)


def ink_border(x: torch.Tensor) -> torch.Tensor:
    """Total ink on the outermost rows and columns of each image (N, 1, H, W) -> (N,)."""
    edges = (x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1])  # each (N, 1, side)
    return sum(edge.sum((-1, -2)) for edge in edges)


def test_default_splits_shapes_dtypes_and_sizes(full):
    splits, _ = full
    assert isinstance(splits, data.Splits) and [p.name for p in splits] == ["train", "val", "test"]
    grid = sprite_factors()
    assert grid.sizes == (3, 5, 8, 8, 8) and len(grid) == 7680
    assert [len(p) for p in splits] == [6144, 768, 768]
    for part in splits:
        assert isinstance(part, data.ImageSplit)
        assert part.x.shape[1:] == (1, 32, 32) and part.x.dtype == torch.int64
        assert part.y.dtype == torch.int64 and part.levels == 2
        assert part.factors.dtype == torch.float32 and part.factors.shape == (len(part), 5)
        assert part.factor_names == FACTOR_NAMES == ("shape", "scale", "rotation", "x", "y")
        assert torch.equal(part.y, part.factors[:, 0].long())
        assert part.x.min() == 0 and part.x.max() == 1
        assert torch.equal(part.y.bincount() > 0, torch.ones(3, dtype=torch.bool))  # every shape in every split


def test_grey_levels_stay_in_range():
    part = sprites.sprites(levels=4, n=300, split="train")
    assert part.levels == 4 and part.x.min() == 0 and part.x.max() == 3
    # anti-aliased edges give the intermediate levels too
    assert set(part.x.unique().tolist()) == {0, 1, 2, 3}
    # binarising the grey image at ½ gives the binary image
    binary = sprites.sprites(levels=2, n=300, split="train")
    assert torch.equal(binary.factors, part.factors)
    assert (data.to_float(part.x, 4) >= 0.5).long().ne(binary.x).float().mean() < 0.02


def test_factor_columns_are_the_grid(full):
    splits, _ = full
    grid = sprite_factors()
    f = torch.cat([p.factors for p in splits])
    for i, values in enumerate(grid.values):
        assert torch.isin(f[:, i], values).all(), FACTOR_NAMES[i]
    # the sorted rows are exactly the full grid (the `cube` fixture checks each appears once)
    assert torch.equal(torch.unique(f, dim=0), torch.unique(grid.grid(), dim=0))
    assert torch.allclose(grid.scale, torch.tensor([0.6, 0.7, 0.8, 0.9, 1.0]))
    assert torch.equal(grid.rotation, torch.arange(8) / 8)
    assert torch.allclose(grid.x, torch.linspace(0, 1, 8)) and torch.equal(grid.x, grid.y)


def test_images_are_rendered_from_their_factor_rows(full):
    splits, _ = full
    part = splits.test
    for i in torch.randperm(len(part), generator=torch.Generator().manual_seed(0))[:25].tolist():
        shape, scale, rotation, x, y = part.factors[i].tolist()
        assert torch.equal(render(SHAPES[int(shape)], scale, rotation, x, y), part.x[i]), part.factors[i]


def test_every_image_has_ink_and_none_touches_the_border(full):
    splits, _ = full
    x = torch.cat([p.x for p in splits])
    assert (x.sum((1, 2, 3)) >= 20).all()
    assert (ink_border(x) == 0).all()


@pytest.mark.parametrize("size", [12, 16, 28, 32])
def test_the_largest_shapes_in_the_corners_stay_inside(size):
    # every shape at the largest scale, in each corner, turned through a fine sweep of angles
    corners = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    rows = [(k, 1.0, r / 24, cx, cy) for k in range(3) for r in range(24) for cx, cy in corners]
    f = torch.tensor(rows, dtype=torch.float64)  # (288, 5)
    x = sprites.render_batch(f[:, 0].long(), f[:, 1], f[:, 2], f[:, 3], f[:, 4], size=size)
    assert (ink_border(x) == 0).all()
    assert (x.sum((1, 2, 3)) > 0).all()
    # ... and they use the room: at x = 0 some shape reaches into the second or third column
    left = x[f[:, 3] == 0]
    first_ink_col = left[:, 0].amax(dim=1).float().argmax(dim=1)  # (n,): leftmost inked column
    assert first_ink_col.min() <= 2


@pytest.mark.parametrize("size", [16, 28])
def test_other_sizes(size):
    splits = sprites.sprites(size=size, n=400, seed=3)
    x = torch.cat([p.x for p in splits])
    assert x.shape == (400, 1, size, size)
    assert (x.sum((1, 2, 3)) > 0).all() and (ink_border(x) == 0).all()


def test_x_moves_the_centre_of_mass_right_and_y_moves_it_down(cube):
    ink = cube.float()
    total = ink.sum((-1, -2))
    col = (ink.sum(-2) * torch.arange(32.0)).sum(-1) / total  # (3, 5, 8, 8, 8): mean column
    row = (ink.sum(-1) * torch.arange(32.0)).sum(-1) / total  # mean row
    assert (col.diff(dim=3) > 0.5).all()  # along x
    assert (row.diff(dim=4) > 0.5).all()  # along y (down the rows)
    # the centre of mass follows the factor: x = 0 is left of the middle, x = 1 right of it
    assert (col[:, :, :, 0] < 15.5).all() and (col[:, :, :, -1] > 15.5).all()


def test_scale_grows_the_ink_pixel_by_pixel(cube):
    # a convex shape holding the centre contains its own smaller copies: no pixel loses ink
    assert (cube.diff(dim=1) >= 0).all()
    area = cube.sum((-1, -2))  # (3, 5, 8, 8, 8)
    assert (area.diff(dim=1) > 0).all()


def test_shapes_are_distinguishable(cube):
    flat = cube.flatten(-2)  # (3, 5, 8, 8, 8, 1024)
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert ((flat[a] != flat[b]).sum(-1) >= 8).all(), (SHAPES[a], SHAPES[b])


POPCOUNT = np.array([bin(v).count("1") for v in range(256)], dtype=np.int64)


def test_every_factor_value_gives_a_different_image(full, cube):
    splits, _ = full
    x = torch.cat([p.x for p in splits]).flatten(1).numpy().astype(bool)  # (N, 1024)
    packed = np.packbits(x, axis=1)  # (N, 128): one bit per pixel
    assert len({row.tobytes() for row in packed}) == len(packed)  # no two combinations share an image
    bits = np.packbits(cube.flatten(-2).numpy().astype(bool), axis=-1)  # (3, 5, 8, 8, 8, 128)
    for axis, name in enumerate(FACTOR_NAMES):
        n = bits.shape[axis]
        for i in range(n):
            for j in range(i + 1, n):
                diff = np.bitwise_xor(bits.take(i, axis=axis), bits.take(j, axis=axis))
                changed = POPCOUNT[diff].sum(-1)  # pixels that differ, per combination of the others
                assert changed.min() >= 8, (name, i, j, changed.min())


def test_rotation_turns_by_the_shape_symmetry():
    gen = torch.Generator().manual_seed(0)
    for shape in SHAPES:
        for _ in range(6):
            scale, rho, x, y = (0.6 + 0.4 * torch.rand(4, generator=gen, dtype=torch.float64)).tolist()
            rho, x, y = rho - 0.6, x - 0.6, y - 0.6
            img = render(shape, scale, rho, x, y)
            # one turn of the symmetry (2π/m) gives the same image; half a turn does not
            assert torch.equal(img, render(shape, scale, rho + 1.0, x, y)), shape
            assert not torch.equal(img, render(shape, scale, rho + 0.5, x, y)), shape
    m = sprite_factors().angle(torch.tensor([0, 1, 2]), torch.tensor([0.5, 0.5, 0.5]))
    assert torch.allclose(m, torch.tensor([math.pi / 4, math.pi / 2, math.pi / 3]))


def test_rotation_is_counter_clockwise_on_screen():
    img = render("ellipse", 1.0, 0.25)[0].float()  # turned by 45°
    top_right, top_left = img[:16, 16:].sum(), img[:16, :16].sum()
    assert top_right > 2 * top_left
    upright = render("ellipse", 1.0, 0.5)[0].float()  # 90°: the long axis is vertical
    assert upright.sum(0).count_nonzero() < upright.sum(1).count_nonzero()


def reference(shape: str, scale: float, theta: float, x: float, y: float, size: int, s: int = 4):
    """A point-in-polygon (matplotlib) or point-in-ellipse test per sub-pixel, written independently."""
    half = size / 2 - 1  # b in pixels
    p = sprites.POSITION_RANGE
    cc, cr = size / 2 + 2 * p * half * (x - 0.5), size / 2 + 2 * p * half * (y - 0.5)  # centre (col, row)
    r = scale * (1 - p) * half  # circumradius in pixels
    sub = (np.arange(size * s) + 0.5) / s
    cols, rows = np.meshgrid(sub, sub)  # (S, S)
    if shape == "ellipse":
        dx, dy = cols - cc, -(rows - cr)
        q1 = (math.cos(theta) * dx + math.sin(theta) * dy) / r
        q2 = (-math.sin(theta) * dx + math.cos(theta) * dy) / r
        inside = q1**2 + (q2 / sprites.ELLIPSE_ASPECT) ** 2 <= 1
    else:
        first, m = (math.pi / 4, 4) if shape == "square" else (math.pi / 2, 3)
        angles = first + theta + 2 * math.pi * np.arange(m) / m
        verts = np.stack([cc + r * np.cos(angles), cr - r * np.sin(angles)], axis=1)
        inside = Path(verts).contains_points(np.stack([cols.ravel(), rows.ravel()], 1)).reshape(cols.shape)
    coverage = inside.reshape(size, s, size, s).mean(axis=(1, 3))
    return np.floor(coverage + 0.5).astype(np.int64)


def test_render_agrees_with_an_independent_reference():
    gen = np.random.default_rng(0)
    for shape in SHAPES:
        for _ in range(5):
            scale, rho, x, y = gen.uniform(0.3, 1.0), gen.uniform(0, 1), gen.uniform(0, 1), gen.uniform(0, 1)
            theta = rho * 2 * math.pi / sprites.SYMMETRY[shape]
            for size in (16, 32):
                got = render(shape, scale, rho, x, y, size=size, supersample=4)[0].numpy()
                want = reference(shape, scale, theta, x, y, size)
                assert (got != want).sum() <= 1, (shape, scale, rho, x, y, size)  # a sub-pixel on an edge


def test_seeded_shuffle_subsets_and_single_splits(full):
    splits, _ = full
    val = sprites.sprites(split="val")
    assert isinstance(val, data.ImageSplit) and val.name == "val"
    assert torch.equal(val.x, splits.val.x) and torch.equal(val.factors, splits.val.factors)
    small = dict(n_scale=2, n_rotation=4, n_x=5, n_y=5)  # 600 combinations
    other = sprites.sprites(seed=1, split="test", **small)
    assert not torch.equal(other.factors, sprites.sprites(seed=0, split="test", **small).factors)
    a = sprites.sprites(n=300, seed=5, **small)
    b = sprites.sprites(n=300, seed=5, **small)
    c = sprites.sprites(n=300, seed=6, **small)
    assert [len(p) for p in a] == [240, 30, 30]
    fa = torch.cat([p.factors for p in a])
    assert torch.unique(fa, dim=0).shape[0] == 300  # drawn without replacement
    assert torch.equal(fa, torch.cat([p.factors for p in b]))
    assert torch.equal(a.train.x, b.train.x)
    assert not torch.equal(fa, torch.cat([p.factors for p in c]))
    # the shuffle mixes the grid: the training split is not the grid's first rows
    assert not torch.equal(splits.train.factors[:100], sprite_factors().grid()[:100])


def test_fewer_shapes_and_coarser_grids():
    part = sprites.sprites(shapes=("triangle", "ellipse"), n_scale=2, n_rotation=3, n_x=2, n_y=1, split="train")
    grid = sprite_factors(shapes=("triangle", "ellipse"), n_scale=2, n_rotation=3, n_x=2, n_y=1)
    assert len(grid) == 24 and grid.sizes == (2, 2, 3, 2, 1)
    assert grid.y.tolist() == [0.5]  # a single value sits mid-range
    # y indexes `shapes`: 0 is the triangle here
    i = (part.y == 0).nonzero()[0, 0].item()
    _, scale, rotation, x, y = part.factors[i].tolist()
    assert torch.equal(part.x[i], render("triangle", scale, rotation, x, y))


def test_works_with_the_loaders(full):
    splits, _ = full
    batches = data.loaders(splits, batch_size=64, transform=lambda x: x.float())
    x, y = next(iter(batches["train"]))
    assert x.shape == (64, 1, 32, 32) and x.dtype == torch.float32 and y.shape == (64,)


def test_default_grid_is_made_quickly(full):
    # a loose bound for a slow, shared machine; the benchmark-free figure is about a second
    _, seconds = full
    assert seconds < 10, f"sprites() took {seconds:.1f} s"


def test_bad_arguments_name_what_came():
    with pytest.raises(ValueError, match="size must be an int >= 12, got 8"):
        sprites.sprites(size=8)
    with pytest.raises(ValueError, match="levels must be an int >= 2, got 1"):
        sprites.sprites(levels=1)
    with pytest.raises(ValueError, match=r"n must be None .* 1\.\.7680 .*got 0"):
        sprites.sprites(n=0)
    with pytest.raises(ValueError, match="got 100000"):
        sprites.sprites(n=100_000)
    with pytest.raises(ValueError, match="leaves a split empty"):
        sprites.sprites(n=5)
    with pytest.raises(ValueError, match="split must be one of .* got 'training'"):
        sprites.sprites(split="training")
    with pytest.raises(ValueError, match=r"shapes must be distinct names .* got \('circle',\)"):
        sprites.sprites(shapes=("circle",))
    with pytest.raises(ValueError, match="n_scale must be an int >= 1, got 0"):
        sprites.sprites(n_scale=0)
    with pytest.raises(ValueError, match=r"fractions must be .* got \(0\.5, 0\.5, 0\.5\)"):
        sprites.sprites(fractions=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match=r"scale must be in \(0, 1\], got values in \[1\.5, 1\.5\]"):
        render("square", scale=1.5)
    with pytest.raises(ValueError, match=r"x must be in \[0, 1\], got values in \[-0\.1"):
        render("square", x=-0.1)
    with pytest.raises(ValueError, match="got 'hexagon'"):
        render("hexagon")
    with pytest.raises(ValueError, match="got 3"):
        render(3)
    with pytest.raises(ValueError, match=r"got scale of shape \(3,\)"):
        sprites.render_batch(torch.zeros(2, dtype=torch.long), torch.ones(3), torch.zeros(2), torch.zeros(2),
                             torch.zeros(2))
    with pytest.raises(ValueError, match=r"factors must have shape \(N, 5\), got \(4, 3\)"):
        sprite_factors().indices(torch.zeros(4, 3))
