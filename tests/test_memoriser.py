"""The memoriser and the noisy mixture (coursekit/models/memoriser.py): exact probabilities that sum to 1 over a
space small enough to enumerate, the closed forms the lecture quotes, samples of the right kind, loud errors,
and the contract's checks (tests/test_contract.py) on both."""
import itertools
import math

import pytest
import torch

from coursekit.models import FVSBN, VAE, Flow2D, PixelCategorical
from coursekit.models.memoriser import Memoriser, NoisyMixture
from test_contract import Tiny, likelihood_problems, loss_problems, sample_problems

SHAPE, K = (1, 2, 2), 3
EVERY_IMAGE = torch.tensor(list(itertools.product(range(K), repeat=4))).reshape(-1, *SHAPE)   # (81, 1, 2, 2)


def training_set(n: int = 12, seed: int = 0) -> torch.Tensor:
    """n images of the tiny space, with repeats (the memoriser counts them)."""
    g = torch.Generator().manual_seed(seed)
    x = EVERY_IMAGE[torch.randint(0, EVERY_IMAGE.shape[0], (n,), generator=g)]
    return torch.cat([x, x[:3]])                                         # three images twice (or more)


def in_set(samples: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Whether each sample equals one of `images`, (n,) bool."""
    return (samples.flatten(1)[:, None, :] == images.flatten(1)[None]).all(-1).any(1)


# --- the memoriser ---------------------------------------------------------------------------------

@pytest.mark.parametrize("epsilon", [1e-3, 0.3, 1.0])
def test_memoriser_probabilities_sum_to_one(epsilon):
    model = Memoriser(shape=SHAPE, levels=K, epsilon=epsilon).fit(training_set())
    total = model.log_prob(EVERY_IMAGE).double().exp().sum()
    assert total == pytest.approx(1.0, abs=1e-5)


def test_memoriser_matches_its_closed_form():
    """p(x) = (1 − ε)·count(x)/N + ε·p_floor(x), with the floor fitted on the same images."""
    train, epsilon = training_set(), 0.2
    model = Memoriser(shape=SHAPE, levels=K, epsilon=epsilon).fit(train)
    floor = PixelCategorical(shape=SHAPE, levels=K).fit(train)
    count = (EVERY_IMAGE.flatten(1)[:, None, :] == train.flatten(1)[None]).all(-1).sum(1).double()
    expected = (1 - epsilon) * count / train.shape[0] + epsilon * floor.log_prob(EVERY_IMAGE).double().exp()
    assert torch.allclose(model.log_prob(EVERY_IMAGE).double().exp(), expected, rtol=1e-5)
    unseen = ~in_set(EVERY_IMAGE, train)
    assert unseen.any()                          # a test image it never saw: log ε + log p_floor, below the floor
    assert torch.allclose(model.log_prob(EVERY_IMAGE[unseen]),
                          math.log(epsilon) + floor.log_prob(EVERY_IMAGE[unseen]), atol=1e-5)


def test_memoriser_samples_are_training_images():
    train = torch.randint(0, 17, (20, 1, 4, 4), generator=torch.Generator().manual_seed(1))
    sharp = Memoriser(shape=(1, 4, 4), levels=17, epsilon=1e-9).fit(train)
    samples = sharp.sample(200, generator=torch.Generator().manual_seed(0))
    assert samples.dtype == torch.int64 and in_set(samples, train).all()
    half = Memoriser(shape=(1, 4, 4), levels=17, epsilon=0.5).fit(train)
    share = in_set(half.sample(2000, generator=torch.Generator().manual_seed(0)), train).float().mean().item()
    assert abs(share - 0.5) < 5 * math.sqrt(0.25 / 2000)       # 1 − ε of them (a floor draw is never one: 17⁻¹⁶)


def test_memoriser_before_fit_is_the_floor_and_a_checkpoint_carries_its_memory(tmp_path):
    empty = Memoriser(shape=SHAPE, levels=K, epsilon=0.1)
    assert torch.allclose(empty.log_prob(EVERY_IMAGE), torch.full((81,), -4 * math.log(K)))
    fitted = Memoriser(shape=SHAPE, levels=K, epsilon=0.1).fit(training_set())
    torch.save(fitted.state_dict(), tmp_path / "memo.pt")
    empty.load_state_dict(torch.load(tmp_path / "memo.pt", weights_only=True))
    assert torch.equal(empty.memory, fitted.memory)
    assert torch.allclose(empty.log_prob(EVERY_IMAGE), fitted.log_prob(EVERY_IMAGE))


def test_memoriser_refuses_bad_input():
    with pytest.raises(ValueError, match=r"epsilon .* \(0, 1\], got 0"):
        Memoriser(epsilon=0)
    with pytest.raises(ValueError, match=r"epsilon .* got 1.5"):
        Memoriser(epsilon=1.5)
    model = Memoriser(shape=SHAPE, levels=K)
    with pytest.raises(ValueError, match=r"shape \(N, 1, 2, 2\), got \(5, 4\)"):
        model.fit(torch.zeros(5, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"levels 0..2, got values in 3..3"):
        model.log_prob(torch.full((2, *SHAPE), 3))
    with pytest.raises(ValueError, match="positive int"):
        model.sample(0)


# --- the noisy mixture -----------------------------------------------------------------------------

def tiny_models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {"fvsbn": FVSBN(shape=SHAPE, levels=K),
            "floor": PixelCategorical(shape=SHAPE, levels=K).fit(training_set())}


@pytest.mark.parametrize("noise", ["uniform", "floor"])
@pytest.mark.parametrize("weight", [0.01, 0.5, 1.0])
def test_noisy_mixture_sums_to_one_and_keeps_the_bound(noise, weight):
    """Σ_x p(x) = 1, and max(log w + log p_model, log(1−w) + log p_noise) ≤ log p ≤ max(log p_model, log p_noise):
    a mixture is at least each weighted part and at most the larger part. So −log₂ p ≤ −log₂ p_model + log₂(1/w)."""
    models = tiny_models()
    noise_model = models["floor"] if noise == "floor" else "uniform"
    mixture = NoisyMixture(models["fvsbn"], weight, noise=noise_model)
    with torch.no_grad():
        log_p = mixture.log_prob(EVERY_IMAGE).double()
        log_model = models["fvsbn"].log_prob(EVERY_IMAGE).double()
        log_noise = (models["floor"].log_prob(EVERY_IMAGE).double() if noise == "floor"
                     else torch.full_like(log_model, -4 * math.log(K)))
    assert log_p.exp().sum() == pytest.approx(1.0, abs=1e-5)
    lower = torch.maximum(math.log(weight) + log_model,
                          (math.log1p(-weight) if weight < 1 else -math.inf) + log_noise)
    upper = torch.maximum(log_model, log_noise)
    assert (log_p >= lower - 1e-5).all() and (log_p <= upper + 1e-5).all()
    if 0 < weight < 1:
        assert (log_p > math.log(weight) + log_model + 1e-9).all()      # the noise adds something everywhere


def test_noisy_mixture_samples_the_model_with_probability_w():
    """A 'model' that always draws the blank image (a floor fitted on blanks with α = 0), diluted with uniform
    noise: the share of blank samples is w (a uniform 4×4 image of 17 levels is blank with probability 17⁻¹⁶)."""
    blank = torch.zeros(10, 1, 4, 4, dtype=torch.long)
    model = PixelCategorical(shape=(1, 4, 4), levels=17, alpha=0.0).fit(blank)
    mixture = NoisyMixture(model, weight=0.3)
    samples = mixture.sample(2000, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (2000, 1, 4, 4) and samples.dtype == torch.int64
    share = (samples.flatten(1) == 0).all(1).float().mean().item()
    assert abs(share - 0.3) < 5 * math.sqrt(0.3 * 0.7 / 2000)


def test_noisy_mixture_refuses_bad_input():
    fvsbn = tiny_models()["fvsbn"]
    with pytest.raises(ValueError, match=r"weight .* \(0, 1\], got 0"):
        NoisyMixture(fvsbn, weight=0)
    with pytest.raises(TypeError, match="exact likelihood .* got likelihood 'bound'"):
        NoisyMixture(VAE(shape=SHAPE, levels=K, latent_dim=2, hidden=4, depth=1))
    with pytest.raises(ValueError, match="integer levels"):
        NoisyMixture(Flow2D(layers=1, hidden=4))
    with pytest.raises(ValueError, match=r"shape \(1, 2, 2\) with 3 levels, got shape \(1, 3, 3\)"):
        NoisyMixture(fvsbn, noise=PixelCategorical(shape=(1, 3, 3), levels=K))
    with pytest.raises(ValueError, match="'uniform' or a model"):
        NoisyMixture(fvsbn, noise="gaussian")
    with pytest.raises(ValueError, match=r"levels 0..2"):
        NoisyMixture(fvsbn, 0.5).log_prob(torch.full((2, *SHAPE), 5))


# --- the contract's checks ---------------------------------------------------------------------------

CONTRACT = {
    "Memoriser": Tiny(lambda: Memoriser(shape=(1, 4, 4), levels=5, epsilon=0.1),
                      fit=lambda m: m.fit(torch.randint(0, 5, (30, 1, 4, 4)))),
    "NoisyMixture": Tiny(lambda: NoisyMixture(FVSBN(shape=(1, 3, 3), levels=3), weight=0.5)),
    "NoisyMixture-floor": Tiny(lambda: NoisyMixture(FVSBN(shape=(1, 3, 3), levels=3), weight=0.5,
                                                    noise=PixelCategorical(shape=(1, 3, 3), levels=3))),
}
"""The entries to add to TINY in tests/test_contract.py (run here through its checks until they are)."""


@pytest.mark.parametrize("name", CONTRACT)
def test_contract_checks(name):
    tiny = CONTRACT[name]
    torch.manual_seed(0)
    model = tiny.make()
    model = tiny.fit(model) if tiny.fit is not None else model
    assert not loss_problems(model, tiny)
    assert not likelihood_problems(model, tiny)
    assert not likelihood_problems(model.double(), tiny, dtype=torch.float64)
    torch.manual_seed(0)
    assert not sample_problems(model.eval())
    with torch.device("meta"):
        on_meta = tiny.make()
    assert not sample_problems(on_meta.double())
