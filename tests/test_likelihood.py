import math

import pytest
import torch

from coursekit import evaluation
from coursekit.data import ImageSplit, dequantize, to_float
from coursekit.models import VAE, GenerativeModel, MLPAutoencoder, PixelCategorical
from coursekit.utils import seeded_generator


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


# --- evaluate_model: one row of the comparison table -------------------------------------------

def small(split: ImageSplit, n: int) -> ImageSplit:
    return ImageSplit(split.x[:n], split.y[:n], levels=split.levels, name=f"{split.name}[:{n}]")


class UniformDensity(GenerativeModel):
    """p(y) = 1 on [0, 1)^64: a density on real-valued data, exact."""

    likelihood = "exact"
    data_shape, data_levels = (1, 8, 8), None

    def log_prob(self, y):
        assert y.is_floating_point() and 0 <= y.min() and y.max() < 1, "the evaluator must dequantise"
        return torch.zeros(y.shape[0], dtype=y.dtype)


class Misbehaving(GenerativeModel, abstract=True):
    """Declares what it likes; each test sets what it returns (abstract: not checked at class creation)."""

    data_shape, data_levels = (1, 8, 8), 17

    def __init__(self, returns=None):
        super().__init__()
        self.returns = returns


class StubClassifier:
    """The evaluation classifier's interface, with the float view itself as the features."""

    def float_view(self, x):
        return to_float(x.x, x.levels) if isinstance(x, ImageSplit) else x

    def features(self, x):
        return (to_float(x) if not x.is_floating_point() else x).flatten(1)


def test_the_floor_models_row_is_the_floor(digits):
    row = evaluation.evaluate_model(evaluation.floor_model(digits.train), digits.test, train_split=digits.train)
    assert row.bits_per_dim == pytest.approx(row.floor_bits_per_dim, rel=1e-6)
    assert row.bits_per_dim == pytest.approx(2.398, abs=1e-3)
    assert row.is_exact and row.measure == "exact" and row.bound is None and row.likelihood == "exact"
    assert row.uniform_bits_per_dim == pytest.approx(4.087, abs=5e-4)
    assert (row.name, row.family, row.split, row.dims, row.levels, row.examples) == (
        "PixelCategorical", "PixelCategorical", "test", 64, 17, 447)
    assert row.nats == pytest.approx(evaluation.nats_per_example(row.bits_per_dim, 64))
    assert row.frechet is None and row.frechet_n is None


def test_a_bound_is_reported_as_its_named_bound(digits):
    torch.manual_seed(0)
    model = VAE(hidden=16, depth=1, latent_dim=2, iwae_k=5)
    test = small(digits.test, 40)
    state = torch.random.get_rng_state()
    row = evaluation.evaluate_model(model, test, name="tiny VAE", seed=3)
    assert torch.equal(torch.random.get_rng_state(), state), "the caller's random stream must be left alone"
    assert model.training, "the model's mode must be restored"
    assert (row.name, row.likelihood, row.bound, row.measure) == ("tiny VAE", "bound", "iwae-5", "≤ (bound: iwae-5)")
    assert not row.is_exact
    model.eval()
    torch.manual_seed(3)
    with torch.no_grad():
        expected = model.nll_bound(test.x).double().mean().item()
    assert row.nats == pytest.approx(expected, rel=1e-12)
    assert row.bits_per_dim == pytest.approx(expected / (64 * math.log(2)), rel=1e-12)
    again = evaluation.evaluate_model(model, test, seed=3, batch_size=7)  # batched: other draws, same quantity
    assert again.bits_per_dim == pytest.approx(row.bits_per_dim, rel=0.05)


def test_a_model_without_likelihood_still_gets_a_row(digits):
    row = evaluation.evaluate_model(MLPAutoencoder(), digits.test)
    assert row.bits_per_dim is None and row.nats is None and row.measure == "none" and not row.is_exact
    assert row.uniform_bits_per_dim == pytest.approx(math.log2(17)) and row.floor_bits_per_dim is None


def test_densities_on_real_values_are_dequantised(digits):
    """log P(x) ≥ E_u log p((x + u)/K) − D log K: the uniform density on [0, 1)^D scores exactly log2 K."""
    row = evaluation.evaluate_model(UniformDensity(), digits.test)
    assert row.bits_per_dim == pytest.approx(math.log2(17), abs=1e-12)
    assert row.bound == "dequantised" and row.measure == "≤ (bound: dequantised)"

    torch.manual_seed(0)
    model = VAE(decoder="gaussian", hidden=16, depth=1, latent_dim=2, iwae_k=3).eval()
    test = small(digits.test, 30)
    row = evaluation.evaluate_model(model, test, seed=1)
    y = dequantize(test.x, 17, generator=seeded_generator(1))
    torch.manual_seed(1)
    with torch.no_grad():
        expected = model.nll_bound(y).double().mean().item() + 64 * math.log(17)
    assert row.nats == pytest.approx(expected, rel=1e-9) and row.bound == "iwae-3+dequantised"


def test_refuses_models_and_splits_that_do_not_fit(digits):
    test = small(digits.test, 10)
    with pytest.raises(ValueError, match=r"shape \(1, 4, 4\), but the split 'test\[:10\]' holds images of shape \(1, 8, 8\)"):
        evaluation.evaluate_model(PixelCategorical(shape=(1, 4, 4)), test)
    with pytest.raises(ValueError, match="models 2 levels per pixel, but the split 'test.*' has 17 .binarise"):
        evaluation.evaluate_model(VAE(decoder="bernoulli"), test)
    with pytest.raises(ValueError, match="train_split"):
        evaluation.evaluate_model(PixelCategorical(), test, train_split=ImageSplit(
            digits.train.x.clamp(max=4), digits.train.y, levels=5, name="train5"))
    with pytest.raises(TypeError, match="ImageSplit"):
        evaluation.evaluate_model(PixelCategorical(), test.x)
    with pytest.raises(ValueError, match="classifier"):
        evaluation.evaluate_model(PixelCategorical(), test, samples=test.x)


def test_refuses_a_model_without_its_declared_method(digits):
    class NoLogProb(Misbehaving, abstract=True):
        likelihood = "exact"

    class Unnamed(Misbehaving, abstract=True):
        likelihood = "bound"
        bound = property(lambda self: "")

        def nll_bound(self, x):
            return torch.zeros(x.shape[0])

    class Returns(Misbehaving):
        likelihood = "exact"

        def log_prob(self, x):
            return self.returns(x)

    test = small(digits.test, 10)
    with pytest.raises(TypeError, match=r"NoLogProb declares likelihood = 'exact' but has no log_prob"):
        evaluation.evaluate_model(NoLogProb(), test)
    with pytest.raises(TypeError, match="does not name its bound"):
        evaluation.evaluate_model(Unnamed(), test)
    with pytest.raises(ValueError, match=r"one value per example, \(10,\), got \(10, 64\)"):
        evaluation.evaluate_model(Returns(lambda x: x.flatten(1).float()), test)
    with pytest.raises(ValueError, match="NaN for 10 of 10"):
        evaluation.evaluate_model(Returns(lambda x: torch.full((x.shape[0],), math.nan)), test)


def binary(split: ImageSplit, n: int) -> ImageSplit:
    """The first n images at levels 0/1 (level > 8, as data.binarize), int64 like every ImageSplit."""
    return ImageSplit((split.x[:n] > 8).long(), split.y[:n], levels=2, name=f"{split.name}[:{n}]>8")


def test_binary_models_get_the_int64_levels_and_a_clear_error_if_they_refuse_them(digits):
    """One convention (base.py): a model of integer levels takes int64 levels as well as integer-valued floats.
    The evaluator passes the split's int64 levels; a Bernoulli model that only takes floats (the trial
    contributor's `F.binary_cross_entropy_with_logits(logits, x)`) gets a TypeError saying what to change."""
    test = binary(digits.test, 12)
    assert test.x.dtype == torch.int64
    torch.manual_seed(0)
    vae = VAE(decoder="bernoulli", hidden=8, depth=1, latent_dim=2, iwae_k=2).eval()
    row = evaluation.evaluate_model(vae, test, seed=0)
    torch.manual_seed(0)
    with torch.no_grad():
        as_floats = vae.nll_bound(test.x.float()).double().mean().item()
    assert row.nats == pytest.approx(as_floats, rel=1e-6) and row.levels == 2

    class NaiveBernoulli(Misbehaving):
        likelihood = "exact"
        data_levels = 2

        def log_prob(self, x):
            logits = torch.zeros(x.shape, dtype=torch.float32)
            return -torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)

    assert torch.isfinite(NaiveBernoulli().log_prob(test.x.float())).all()    # fine on the float view
    with pytest.raises(TypeError, match=r"NaiveBernoulli.log_prob\(x\) fails on the split's integer levels "
                                        r"\(x is torch.int64, levels 0..1\) but runs on the same levels as "
                                        r"torch.float32 floats.*x.to\(logits.dtype\).*can't be cast"):
        evaluation.evaluate_model(NaiveBernoulli(), test)

    class Broken(NaiveBernoulli):                                             # fails on any dtype: its own error
        def log_prob(self, x):
            raise RuntimeError("the model's own bug")

    with pytest.raises(RuntimeError, match="^the model's own bug$"):
        evaluation.evaluate_model(Broken(), test)


def test_frechet_distance_at_a_fixed_n(digits):
    floor = evaluation.floor_model(digits.train)
    samples = floor.sample(120, generator=torch.Generator().manual_seed(0))
    clf = StubClassifier()
    row = evaluation.evaluate_model(floor, digits.test, samples=samples, classifier=clf, n=100)
    assert row.frechet_n == 100
    assert row.frechet == evaluation.frechet_distance(samples, digits.test, clf, 100, 0).value > 0
    default = evaluation.evaluate_model(floor, digits.test, samples=floor.sample(400), classifier=clf)
    assert default.frechet_n == evaluation.DEFAULT_FRECHET_N == 400
    with pytest.raises(ValueError, match="exactly n=400"):
        evaluation.evaluate_model(floor, digits.test, samples=samples, classifier=clf)


def test_the_table_says_which_numbers_are_bounds(digits):
    test = small(digits.test, 40)
    torch.manual_seed(0)
    floor = evaluation.floor_model(digits.train)
    rows = [evaluation.evaluate_model(floor, test, train_split=digits.train, name="floor",
                                      samples=floor.sample(40), classifier=StubClassifier(), n=40),
            evaluation.evaluate_model(VAE(hidden=16, depth=1, latent_dim=2, iwae_k=5), test, train_split=digits.train),
            evaluation.evaluate_model(MLPAutoencoder(), test)]
    table = evaluation.format_table(rows)
    lines = table.splitlines()
    assert len(lines) == 5 and lines[0].startswith("| model | family | likelihood | bits/dim")
    assert "| floor | PixelCategorical | exact | " in lines[2] and "(n = 40)" in lines[2]
    assert f"| ≤ (bound: iwae-5) | ≤ {rows[1].bits_per_dim:.3f} | ≤ " in lines[3]
    assert lines[4] == "| MLPAutoencoder | MLPAutoencoder | none | — | — | 4.087 | — | — |"
    assert rows[1].as_dict()["measure"] == "≤ (bound: iwae-5)"
    with pytest.raises(ValueError, match="one split"):
        evaluation.format_table([rows[0], evaluation.evaluate_model(floor, digits.test)])
