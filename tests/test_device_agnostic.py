"""Everything coursekit offers runs in float64, and on every other device this machine has.

A tensor created inside the library with a fixed device or dtype (`torch.zeros(n)` next to
the caller's CUDA tensors, a hard-coded float32) fails here: in float64 the result's dtype or a
dtype mismatch gives it away, and on a GPU machine the same checks run on CUDA (and MPS).
"""
import pytest
import torch
from torch import nn

from coursekit import data, divergences, evaluation, viz
from coursekit.data import toy2d
from coursekit.models.base import GenerativeModel, batch_images
from coursekit.training import evaluate, train

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (
    ["mps"] if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available() else [])
DTYPE = torch.float64


@pytest.fixture(params=DEVICES)
def device(request):
    if request.param == "mps":
        pytest.skip("MPS has no float64")
    return torch.device(request.param)


def same_place(t: torch.Tensor, device, dtype=DTYPE):
    assert t.device.type == device.type, f"on {t.device}, expected {device}"
    assert t.dtype == dtype, f"{t.dtype}, expected {dtype}"


def test_floor_model_follows_the_device(device, digits):
    model = evaluation.floor_model(digits.train).to(device=device, dtype=DTYPE)
    lp = model.log_prob(digits.test.x.to(device))
    same_place(lp, device)
    assert evaluation.bits_per_dim(-lp.mean().item(), 64) == pytest.approx(2.398, abs=1e-3)
    samples = model.sample(5)
    assert samples.device.type == device.type


def test_dequantize_and_views_follow_the_device(device, digits):
    x = digits.train.x[:10].to(device)
    assert data.dequantize(x).device.type == device.type
    assert data.to_float(x).device.type == device.type


def test_divergences_in_float64(device):
    p = divergences.GaussianMixture1D(means=torch.tensor([-2.0, 2.0], dtype=DTYPE, device=device),
                                      stds=torch.tensor([1.0, 1.0], dtype=DTYPE, device=device),
                                      weights=torch.tensor([0.5, 0.5], dtype=DTYPE, device=device))
    grid = divergences.default_grid(p)
    same_place(grid, device)
    same_place(p.log_prob(grid), device)
    kl = divergences.kl_divergence_on_grid(p.log_prob, lambda x: divergences.gaussian_log_prob(x, 0.0, 2.0), grid)
    same_place(kl, device)
    mu, sigma = divergences.fit_gaussian_reverse_kl(p, grid=grid)
    assert abs(abs(mu) - 2.0) < 0.2 or abs(mu) < 0.2


def test_toy_densities_in_float64(device):
    for toy in (toy2d.EightGaussians(), toy2d.Checkerboard(), toy2d.GaussianMixture2D(means=[[0.0, 0.0], [1.0, 1.0]], stds=[0.5, 0.5])):
        x = toy.sample(64, generator=torch.Generator().manual_seed(0), device=device, dtype=DTYPE)
        same_place(x, device)
        same_place(toy.log_prob(x), device)


class Gauss2D(GenerativeModel):
    likelihood = "exact"

    def __init__(self):
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(2))
        self.log_sigma = nn.Parameter(torch.zeros(2))

    def log_prob(self, x):
        return torch.distributions.Normal(self.mu, self.log_sigma.exp()).log_prob(x).sum(-1)

    def loss(self, batch):
        nll = -self.log_prob(batch_images(batch)).mean()
        return {"loss": nll, "nll": nll}


def test_trainer_keeps_the_models_dtype_and_moves_batches(device):
    ds = toy2d.toy_dataset("8gaussians", 512, seed=0)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(ds.tensors[0].to(DTYPE)), batch_size=128)
    model = Gauss2D().to(DTYPE)
    history = train(model, loader, val_data=loader, epochs=3, lr=0.05, device=device, progress=False)
    assert history["val/loss"][-1] < history["val/loss"][0]
    same_place(model.mu, device)
    assert evaluate(model, loader)["loss"] == pytest.approx(history["val/loss"][history.best_round], rel=1e-6)
    fig = viz.density_2d(model.log_prob, (-3, 3), (-3, 3), resolution=20)
    assert len(fig.axes) >= 1


def test_metrics_on_float64_features(device):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(400, 8, generator=g, dtype=DTYPE).to(device)
    b = (torch.randn(400, 8, generator=g, dtype=DTYPE) + 1).to(device)
    fd = evaluation.frechet_distance(a, b, None, n=400)
    assert float(fd) == pytest.approx(8.0, rel=0.3)
    ring = toy2d.EightGaussians()
    x = ring.sample(800, generator=g, device=device, dtype=DTYPE)
    cov = evaluation.mode_coverage(x, ring.modes.to(device=device, dtype=DTYPE), ring.std)
    assert cov["modes_hit"] == 8
    factors = torch.randint(0, 4, (500, 2), generator=g).to(device)
    assert evaluation.mig(factors.to(DTYPE) + 0.01 * torch.randn(500, 2, generator=g, dtype=DTYPE).to(device), factors) > 0.8
