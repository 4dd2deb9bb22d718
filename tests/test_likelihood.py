import math

import pytest
import torch

from coursekit import evaluation
from coursekit.models import PixelCategorical


def test_bits_nats_round_trip_and_uniform():
    assert evaluation.uniform_bits_per_dim(17) == pytest.approx(4.087, abs=5e-4)
    nats = 64 * math.log(17)  # uniform over 17 levels at 64 pixels
    assert evaluation.bits_per_dim(nats, 64) == pytest.approx(math.log2(17))
    assert evaluation.nats_per_example(evaluation.bits_per_dim(123.4, 64), 64) == pytest.approx(123.4)
    t = torch.tensor([10.0, 20.0])
    assert torch.allclose(evaluation.bits_per_dim(t, 10), t / (10 * math.log(2)))
    with pytest.raises(ValueError, match="dims"):
        evaluation.bits_per_dim(1.0, 0)


def test_floor_model_reference_number(digits):
    bpd = evaluation.floor_bits_per_dim(digits.train, digits.test)
    assert bpd == pytest.approx(2.398, abs=1e-3)
    assert bpd < evaluation.uniform_bits_per_dim()
    # counting is maximum likelihood: heavier smoothing fits the training data worse
    def train_nll(alpha):
        return -evaluation.floor_model(digits.train, alpha).log_prob(digits.train.x).mean()
    assert train_nll(0.5) < train_nll(5.0) < train_nll(50.0)


def test_floor_model_is_normalised_and_smoothed():
    x = torch.randint(0, 3, (20, 1, 2, 2))
    model = PixelCategorical(shape=(1, 2, 2), levels=3, alpha=0.5).fit(x)
    assert torch.allclose(model.log_pi.exp().sum(1), torch.ones(4, dtype=model.log_pi.dtype))
    # the probability of every one of the 3^4 images sums to one
    grid = torch.cartesian_prod(*[torch.arange(3)] * 4).reshape(-1, 1, 2, 2)
    assert model.log_prob(grid).exp().sum().item() == pytest.approx(1.0, abs=1e-5)
    # add-0.5 smoothing: a level never seen keeps probability 0.5 / (N + 1.5)
    x0 = torch.zeros(10, 1, 2, 2, dtype=torch.long)
    m0 = PixelCategorical(shape=(1, 2, 2), levels=3).fit(x0)
    assert m0.log_pi.exp()[0, 2].item() == pytest.approx(0.5 / 11.5)


def test_floor_model_sample_matches_marginals(digits):
    model = evaluation.floor_model(digits.train)
    g = torch.Generator().manual_seed(0)
    s = model.sample(4000, generator=g)
    assert s.shape == (4000, 1, 8, 8) and s.min() >= 0 and s.max() <= 16
    # the sample's mean image matches the model's expected image
    expected = (model.log_pi.exp() * torch.arange(17)).sum(1).reshape(1, 8, 8)
    assert torch.allclose(s.float().mean(0), expected.float(), atol=0.35)
    assert torch.equal(s, model.sample(4000, generator=torch.Generator().manual_seed(0)))


def test_floor_model_rejects_bad_input():
    model = PixelCategorical()
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\), got \(3, 64\)"):
        model.log_prob(torch.zeros(3, 64, dtype=torch.long))
    with pytest.raises(ValueError, match="0..16"):
        model.fit(torch.full((3, 1, 8, 8), 20))
    with pytest.raises(ValueError, match="alpha"):
        PixelCategorical(alpha=-1)
