import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from coursekit.data import toy2d
from coursekit.divergences import GaussianMixture1D


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def midpoint_grid(lo: float = -3.0, hi: float = 3.0, cells: int = 600, dtype=torch.float64):
    """Cell centres of a cells × cells grid over [lo, hi]², (cells², 2), and the cell area."""
    h = (hi - lo) / cells
    c = lo + h * (torch.arange(cells, dtype=dtype) + 0.5)
    xx, yy = torch.meshgrid(c, c, indexing="xy")
    return torch.stack([xx, yy], dim=-1).reshape(-1, 2), h * h  # (cells², 2)


@pytest.mark.parametrize("name", toy2d.TOY_NAMES)
def test_samplers_shape_dtype_and_seeded_determinism(name):
    toy = toy2d.toy_distribution(name)
    x = toy.sample(500, generator=gen(1))
    assert x.shape == (500, 2) and x.dtype == torch.float32 and torch.isfinite(x).all()
    assert toy.name == name
    assert torch.equal(x, toy.sample(500, generator=gen(1)))
    assert not torch.allclose(x, toy.sample(500, generator=gen(2)))
    x64 = toy.sample(7, generator=gen(1), dtype=torch.float64, device="cpu")
    assert x64.dtype == torch.float64 and x64.device.type == "cpu"
    # every toy lives in about [-3, 3]², the box the lectures plot
    assert x.abs().max() < 3.5
    # the points are spread out, not collapsed to a few values
    assert x.std(dim=0).min() > 0.3


def test_eight_gaussians_every_mode_gets_an_eighth():
    toy = toy2d.EightGaussians()
    assert toy.modes.shape == (8, 2) and toy.std == 0.1
    assert torch.allclose(toy.modes.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    x = toy.sample(8000, generator=gen(0)).double()
    dist = torch.cdist(x, toy.modes)  # (8000, 8)
    nearest, which = dist.min(dim=1)
    # |x − μ|/σ is Rayleigh in 2-D: P(> 4σ) = e⁻⁸ ≈ 3e-4, P(> 6σ) = e⁻¹⁸
    assert (nearest < 6 * toy.std).all()
    counts = torch.bincount(which[nearest < 4 * toy.std], minlength=8)
    # binomial(8000, 1/8): sd ≈ 30, so ±150 is a 5-sigma band
    assert (counts - 1000).abs().max() < 150, counts.tolist()
    # per-mode spread is the std: E|x − μ|² = 2σ²
    sq = (nearest**2).mean()
    assert abs(sq.item() - 2 * toy.std**2) < 0.1 * 2 * toy.std**2


@pytest.mark.parametrize("toy", [toy2d.EightGaussians(), toy2d.Checkerboard()], ids=repr)
def test_log_prob_integrates_to_one(toy):
    points, area = midpoint_grid()
    mass = (toy.log_prob(points).exp().sum() * area).item()
    assert abs(mass - 1) < 1e-4, mass


def test_checkerboard_uniform_on_black_squares_and_minus_inf_elsewhere():
    toy = toy2d.Checkerboard()
    assert toy.area == 8.0
    points, _ = midpoint_grid(cells=120)
    lp = toy.log_prob(points)
    col = torch.floor(points[:, 0] + 2)
    row = torch.floor(points[:, 1] + 2)
    on_board = (points.abs() < 2).all(dim=1)
    black = on_board & ((col + row) % 2 == 0)
    assert black.any() and (~black).any()
    assert torch.equal(lp[black], torch.full_like(lp[black], -math.log(8)))
    assert torch.isneginf(lp[~black]).all()
    # the bottom-left square [-2, -1)² is black, its neighbour to the right is white
    assert toy.log_prob(torch.tensor([[-1.5, -1.5], [-0.5, -1.5]])).isneginf().tolist() == [False, True]


def test_checkerboard_samples_lie_on_black_squares_and_fill_them():
    toy = toy2d.Checkerboard()
    x = toy.sample(4000, generator=gen(3))
    assert toy.is_black(x).all()
    assert torch.isfinite(toy.log_prob(x)).all()
    cells = (torch.floor(x[:, 0] + 2) * 4 + torch.floor(x[:, 1] + 2)).long()
    counts = torch.bincount(cells, minlength=16)
    assert (counts > 0).sum() == 8  # all 8 black squares are used, no white one
    assert (counts[counts > 0] - 500).abs().max() < 100


def test_gaussian_mixture_matches_scipy():
    rng = np.random.default_rng(0)
    means = rng.normal(size=(2, 2))
    a = rng.normal(size=(2, 2, 2))
    covs = a @ a.transpose(0, 2, 1) + 0.3 * np.eye(2)  # random SPD, non-diagonal
    weights = np.array([0.3, 0.7])
    gm = toy2d.GaussianMixture2D(means=means, covariances=covs, weights=weights)
    x = rng.normal(scale=2.0, size=(50, 2))
    ref = np.log(sum(w * multivariate_normal(m, c).pdf(x) for w, m, c in zip(weights, means, covs)))
    got = gm.log_prob(torch.from_numpy(x))
    assert got.dtype == torch.float64 and got.shape == (50,)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10, atol=1e-10)
    # float32 follows x's dtype and agrees to float32 precision
    got32 = gm.log_prob(torch.from_numpy(x).float())
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(got32.numpy(), ref, rtol=1e-5, atol=1e-5)
    # a grid of points (G, G, 2) gives a (G, G) answer
    assert gm.log_prob(torch.zeros(3, 4, 2)).shape == (3, 4)


def test_gaussian_mixture_samples_have_the_right_moments():
    cov = torch.tensor([[[1.0, 0.6], [0.6, 0.5]]], dtype=torch.float64)
    gm = toy2d.GaussianMixture2D(means=[[1.0, -2.0]], covariances=cov)
    x = gm.sample(20000, generator=gen(0), dtype=torch.float64)
    assert torch.allclose(x.mean(0), torch.tensor([1.0, -2.0], dtype=torch.float64), atol=0.03)
    assert torch.allclose(torch.cov(x.T), cov[0], atol=0.04)


def test_stds_forms_agree():
    means = [[0.0, 0.0], [1.0, 1.0]]
    a = toy2d.GaussianMixture2D(means, stds=0.5)
    b = toy2d.GaussianMixture2D(means, stds=[0.5, 0.5])
    c = toy2d.GaussianMixture2D(means, covariances=torch.eye(2).expand(2, 2, 2) * 0.25)
    d = toy2d.GaussianMixture2D(means, stds=[[0.5, 1.0], [0.5, 1.0]])
    x = torch.randn(20, 2, generator=gen(0), dtype=torch.float64)
    assert torch.allclose(a.log_prob(x), b.log_prob(x)) and torch.allclose(a.log_prob(x), c.log_prob(x))
    assert not torch.allclose(a.log_prob(x), d.log_prob(x))


def test_log_prob_works_in_float64_and_follows_x():
    toy = toy2d.EightGaussians()
    x = toy.sample(100, generator=gen(0), dtype=torch.float64)
    lp = toy.log_prob(x)
    assert lp.dtype == torch.float64 and lp.shape == (100,)
    assert torch.allclose(lp.float(), toy.log_prob(x.float()), atol=1e-4)
    # at a mode: log(1/8) + log N(0; 0, σ² I) = −log 8 − log(2πσ²) (other modes are far)
    at_mode = toy.log_prob(toy.modes[:1])
    assert abs(at_mode.item() - (-math.log(8) - math.log(2 * math.pi * 0.01))) < 1e-9
    cb = toy2d.Checkerboard()
    assert cb.log_prob(x).dtype == torch.float64


@pytest.mark.parametrize("name", ["moons", "swissroll", "rings"])
def test_samplers_without_density_say_so(name):
    toy = toy2d.toy_distribution(name)
    assert toy.has_log_prob is False
    with pytest.raises(NotImplementedError, match="no closed-form density"):
        toy.log_prob(torch.zeros(3, 2))


def test_closed_form_toys_say_so():
    assert toy2d.EightGaussians().has_log_prob and toy2d.Checkerboard().has_log_prob
    assert toy2d.GaussianMixture2D([[0.0, 0.0]], stds=1.0).has_log_prob


def test_moons_rings_and_swissroll_have_their_shape():
    x = toy2d.TwoMoons(noise=0.0).sample(2000, generator=gen(0)).double()
    # noise-free moons: every point is on the unit circle around (−½, −¼) or around (½, ¼)
    r_upper = (x - torch.tensor([-0.5, -0.25], dtype=torch.float64)).norm(dim=1)
    r_lower = (x - torch.tensor([0.5, 0.25], dtype=torch.float64)).norm(dim=1)
    on_upper = (r_upper - 1).abs() < 1e-5
    on_lower = (r_lower - 1).abs() < 1e-5
    assert (on_upper | on_lower).all()
    assert abs(on_upper.double().mean().item() - 0.5) < 0.05
    assert abs(x.mean(0)).max() < 0.05  # centred
    rings = toy2d.ConcentricRings(radii=(1.0, 2.0), noise=0.0)
    r = rings.sample(3000, generator=gen(0)).double().norm(dim=1)
    assert torch.allclose(r, r.round(), atol=1e-5)  # radius 1 or 2
    # rings picked ∝ circumference: the outer one gets 2/3 of the points
    assert abs((r > 1.5).double().mean().item() - 2 / 3) < 0.03
    roll = toy2d.SwissRoll(noise=0.0).sample(2000, generator=gen(0)).double()
    radius = roll.norm(dim=1)
    assert radius.min() > 1.5 * math.pi / 5 - 1e-4 and radius.max() < 4.5 * math.pi / 5 + 1e-4


def test_toy_dataset_and_splits():
    ds = toy2d.toy_dataset("8gaussians", 300, seed=4)
    (x,) = ds[0:300]
    assert x.shape == (300, 2) and x.dtype == torch.float32
    assert torch.equal(x, toy2d.toy_dataset("8gaussians", 300, seed=4).tensors[0])
    splits = toy2d.toy_splits("moons", n_train=100, n_val=20, n_test=30, seed=1)
    assert [len(s) for s in splits] == [100, 20, 30]
    assert splits._fields == ("train", "val", "test")
    batch = next(iter(torch.utils.data.DataLoader(splits.train, batch_size=16)))
    assert len(batch) == 1 and batch[0].shape == (16, 2)  # the trainer's (x,) contract
    # splits are independent draws (not one stream reused), even at equal sizes
    same_size = toy2d.toy_splits("moons", n_train=50, n_val=50, n_test=50, seed=1)
    a, b, c = (part.tensors[0] for part in same_size)
    assert not torch.allclose(a, b) and not torch.allclose(b, c) and not torch.allclose(a, c)
    # val/test do not depend on n_train; the seed matters
    again = toy2d.toy_splits("moons", n_train=500, n_val=20, n_test=30, seed=1)
    assert torch.equal(again.val.tensors[0], splits.val.tensors[0])
    assert torch.equal(again.test.tensors[0], splits.test.tensors[0])
    other = toy2d.toy_splits("moons", n_train=100, n_val=20, n_test=30, seed=2)
    assert not torch.equal(other.val.tensors[0], splits.val.tensors[0])
    # keyword arguments reach the toy
    wide = toy2d.toy_dataset("8gaussians", 200, radius=3.0).tensors[0]
    assert abs(wide.norm(dim=1).mean().item() - 3.0) < 0.05


def test_bad_arguments_name_what_came():
    with pytest.raises(ValueError, match=r"one of \['moons', '8gaussians'.*got 'spiral'"):
        toy2d.toy_distribution("spiral")
    with pytest.raises(ValueError, match="got 'circles'"):
        toy2d.toy_splits("circles")
    with pytest.raises(ValueError, match="got 0"):
        toy2d.EightGaussians().sample(0)
    with pytest.raises(ValueError, match=r"got 2\.5"):
        toy2d.TwoMoons().sample(2.5)
    with pytest.raises(ValueError, match="n_val must be a positive int, got -1"):
        toy2d.toy_splits("rings", n_val=-1)
    with pytest.raises(ValueError, match=r"std must be .*> 0, got -0\.1"):
        toy2d.EightGaussians(std=-0.1)
    with pytest.raises(ValueError, match=r"noise must be .*>= 0, got -1"):
        toy2d.SwissRoll(noise=-1)
    with pytest.raises(ValueError, match=r"stds must be finite and > 0"):
        toy2d.GaussianMixture2D([[0.0, 0.0]], stds=[-1.0])
    with pytest.raises(ValueError, match=r"means must have shape \(K, 2\).*got \(3,\)"):
        toy2d.GaussianMixture2D([0.0, 1.0, 2.0], stds=1.0)
    with pytest.raises(ValueError, match="positive definite"):
        toy2d.GaussianMixture2D([[0.0, 0.0]], covariances=[[[1.0, 2.0], [2.0, 1.0]]])
    with pytest.raises(ValueError, match="exactly one of covariances"):
        toy2d.GaussianMixture2D([[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"weights must be >= 0 and sum to 1, got \[0\.5, 0\.6\]"):
        toy2d.GaussianMixture2D([[0.0, 0.0], [1.0, 1.0]], stds=1.0, weights=[0.5, 0.6])
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\).*got \(5, 3\)"):
        toy2d.EightGaussians().log_prob(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -3"):
        toy2d.toy_dataset("moons", 10, seed=-3)
    with pytest.raises(ValueError, match="cells .* got 1"):
        toy2d.Checkerboard(cells=1)


def test_gan_mixture_and_optimal_discriminator():
    p_d = toy2d.gan_mixture_1d()
    assert isinstance(p_d, GaussianMixture1D)
    assert p_d.means.tolist() == [-2.0, 2.0]
    x = p_d.sample(4000, generator=gen(0))
    assert x.dtype == torch.float64 and abs((x > 0).double().mean().item() - 0.5) < 0.03
    grid = torch.linspace(-6, 6, 2001, dtype=torch.float64)
    assert abs(torch.trapezoid(p_d.log_prob(grid).exp(), grid).item() - 1) < 1e-6
    # a collapsed model N(2, 0.5²) covers only the right mode
    p_m = GaussianMixture1D(means=[2.0], stds=[0.5], weights=[1.0])
    d_star = toy2d.optimal_discriminator(p_d.log_prob(grid), p_m.log_prob(grid))
    direct = p_d.log_prob(grid).exp() / (p_d.log_prob(grid).exp() + p_m.log_prob(grid).exp())
    finite = torch.isfinite(direct)
    assert torch.allclose(d_star[finite], direct[finite], atol=1e-12)
    at = lambda v: d_star[(grid - v).abs().argmin()].item()  # noqa: E731
    assert at(-2.0) > 0.999  # only the data has mass there: D* → 1
    assert abs(at(2.0) - 1 / 3) < 1e-3  # p_d = ½ p_m there: D* = ½ / (½ + 1)
    same = toy2d.optimal_discriminator(p_d.log_prob(grid), p_d.log_prob(grid))
    assert torch.equal(same, torch.full_like(same, 0.5))
    with pytest.raises(ValueError, match="same shape"):
        toy2d.optimal_discriminator(torch.zeros(3), torch.zeros(4))
