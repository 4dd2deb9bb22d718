import pytest
import torch

from coursekit import data


def test_digits_split_sizes_dtype_and_range(digits):
    assert [len(s) for s in digits] == [1000, 350, 447]
    for part in digits:
        assert part.x.shape[1:] == (1, 8, 8)
        assert part.x.dtype == torch.int64 and part.y.dtype == torch.int64
        assert int(part.x.min()) == 0 and int(part.x.max()) == 16
        assert part.levels == 17 and part.dims == 64
    # every class appears in every split
    for part in digits:
        assert set(part.y.tolist()) == set(range(10))


def test_digits_split_is_the_unshuffled_reference_split(digits):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    ref = torch.from_numpy(bunch.images).long().reshape(-1, 1, 8, 8)
    assert torch.equal(digits.train.x, ref[:1000])
    assert torch.equal(digits.val.x, ref[1000:1350])
    assert torch.equal(digits.test.x, ref[1350:])
    assert torch.equal(digits.test.y, torch.from_numpy(bunch.target[1350:]).long())
    assert torch.equal(data.digits("val").x, digits.val.x)


def test_digits_rejects_unknown_split():
    with pytest.raises(ValueError, match="split must be one of"):
        data.digits("training")


def test_views_float_binary_dequantised(digits):
    x = digits.train.x[:50]
    f = data.to_float(x)
    assert f.dtype == torch.float32 and f.min() == 0 and f.max() == 1
    assert torch.allclose(f * 16, x.float())
    b = data.binarize(x)
    assert set(b.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(b, (x > 8).float())
    g = torch.Generator().manual_seed(0)
    y = data.dequantize(x, generator=g)
    # the noise spans exactly one level: floor(17 y) recovers x, and y stays in [0, 1)
    assert torch.equal(torch.floor(y * 17).long(), x)
    assert y.min() >= 0 and y.max() < 1
    # within a level the noise is spread out, not constant
    assert (y * 17 - x).std() > 0.2
    assert torch.equal(y, data.dequantize(x, generator=torch.Generator().manual_seed(0)))


def test_views_reject_bad_input(digits):
    with pytest.raises(ValueError, match=r"0\.\.16.*got values in 1\.\.17"):
        data.to_float(digits.train.x + 1)
    with pytest.raises(ValueError, match="non-integer"):
        data.dequantize(data.to_float(digits.train.x))


def test_loaders_batches_and_seeded_shuffle(digits):
    a = data.loaders(digits, batch_size=100, seed=3, transform=data.to_float)
    b = data.loaders(digits, batch_size=100, seed=3, transform=data.to_float)
    c = data.loaders(digits, batch_size=100, seed=4, transform=data.to_float)
    xa, ya = next(iter(a["train"]))
    xb, _ = next(iter(b["train"]))
    xc, _ = next(iter(c["train"]))
    assert xa.shape == (100, 1, 8, 8) and xa.dtype == torch.float32 and ya.shape == (100,)
    assert torch.equal(xa, xb) and not torch.equal(xa, xc)
    # validation and test are not shuffled
    xv, _ = next(iter(a["val"]))
    assert torch.equal(xv, data.to_float(digits.val.x[:100]))
    assert sum(x.shape[0] for x, _ in a["test"]) == 447
    with pytest.raises(ValueError, match="batch_size"):
        data.loaders(digits, batch_size=0)


def test_image_split_validates_shapes():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), got \(5, 64\)"):
        data.ImageSplit(torch.zeros(5, 64, dtype=torch.long), torch.zeros(5, dtype=torch.long), 17)
    with pytest.raises(ValueError, match="y must have shape"):
        data.ImageSplit(torch.zeros(5, 1, 8, 8, dtype=torch.long), torch.zeros(4, dtype=torch.long), 17)


def test_colour_digits_tints_are_known_factors(digits):
    c = data.colour_digits(levels=4, seed=0)
    assert [len(s) for s in c] == [1000, 350, 447]
    x, f = c.train.x, c.train.factors
    assert x.shape == (1000, 3, 8, 8) and x.dtype == torch.int64
    assert x.min() == 0 and x.max() == 3 and c.train.levels == 4
    assert c.train.factor_names == ("tint", "r", "g", "b")
    assert torch.equal(c.train.y, digits.train.y)
    # the tint is the colour of the ink: the channels are the grey image scaled by the tint
    for i in range(20):
        tint = data.TINTS[int(f[i, 0])]
        assert torch.equal(f[i, 1:], tint)
        expected = torch.round(digits.train.x[i].float() / 16 * tint[:, None, None] * 3).long()
        assert torch.equal(x[i], expected)
    # every tint is used, and the draw is fixed by the seed
    assert set(f[:, 0].long().tolist()) == set(range(len(data.TINTS)))
    assert torch.equal(data.colour_digits(levels=4, seed=0, split="test").x, c.test.x)
    assert not torch.equal(data.colour_digits(levels=4, seed=1).train.factors, f)
    with pytest.raises(ValueError, match="levels"):
        data.colour_digits(levels=1)


def test_load_is_one_door_to_every_data_set(digits, tmp_path):
    assert torch.equal(data.load("digits").test.x, digits.test.x)
    assert data.load("colour_digits", levels=3).train.x.max() == 2
    toy = data.load("8gaussians", n_train=100, n_val=20, n_test=30)
    batches = data.loaders(toy, batch_size=32)
    (x,) = next(iter(batches["train"]))
    assert x.shape == (32, 2) and sum(b[0].shape[0] for b in batches["test"]) == 30
    with pytest.raises(ValueError, match="needs root="):
        data.load("mnist")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        data.load("mnist", root=tmp_path, split="test")
    with pytest.raises(ValueError, match="name must be one of"):
        data.load("cifar10")


def test_binarized_splits_are_integer_levels_of_the_float_view():
    splits = data.digits()
    b = data.binarized(splits)
    assert [len(p) for p in b] == [len(p) for p in splits]
    for part, orig in zip(b, splits):
        assert part.levels == 2 and part.x.dtype == torch.int64 and set(part.x.unique().tolist()) <= {0, 1}
        assert torch.equal(part.x, data.binarize(orig.x).long())     # the same images as the float 0./1. view
        assert torch.equal(part.y, orig.y)
    assert b.test.name == "test-binary"
    assert data.binarized(splits.test).x.equal(b.test.x)
    with pytest.raises(TypeError, match="Splits"):
        data.binarized(splits.test.x)


def test_load_reads_the_registry_and_register_adds_to_it():
    assert set(data.DATASETS) <= set(data.REGISTRY)
    with pytest.raises(ValueError, match="must be one of"):
        data.load("no-such-data")
    calls = []
    data.register("trial-data", lambda **options: calls.append(options) or data.digits())
    try:
        assert data.load("trial-data", seed=3).train.x.shape == (1000, 1, 8, 8) and calls == [{"seed": 3}]
        with pytest.raises(ValueError, match="already registered"):
            data.register("trial-data", data.digits)
        with pytest.raises(TypeError, match="callable"):
            data.register("other", 3)
    finally:
        data.REGISTRY.pop("trial-data")


def test_random_state_preserved_gives_every_stream_back():
    import random

    import numpy as np

    from coursekit.utils import random_state_preserved

    torch.manual_seed(5); random.seed(5); np.random.seed(5)
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.manual_seed(5); random.seed(5); np.random.seed(5)
    with random_state_preserved():
        torch.manual_seed(0); random.seed(0); np.random.seed(0)
        torch.rand(10); random.random(); np.random.rand(10)
    got = (torch.rand(3), random.random(), np.random.rand())
    assert torch.equal(got[0], expected[0]) and got[1:] == expected[1:]
