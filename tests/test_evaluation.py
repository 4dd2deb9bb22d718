"""The evaluation tools: the cached digits classifier, the Fréchet distance, mode coverage on
the 8-Gaussian ring, the Mutual Information Gap and conditional accuracy."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit import data, evaluation as ev

TINY = ev.ClassifierConfig(channels=(4, 8), features=16, epochs=2, patience=2, max_shift=0)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A fresh cache folder, given to the code through $COURSEKIT_CACHE for this module."""
    folder = tmp_path_factory.mktemp("coursekit-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSEKIT_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def clf(cache, digits):
    """The digits classifier, trained once for the whole module."""
    return ev.classifier(digits)


# --- the classifier ----------------------------------------------------------------------

def test_classifier_is_accurate_and_cached_in_the_env_folder(clf, cache, digits):
    assert not clf.from_cache and clf.train_seconds > 0
    assert clf.test_accuracy >= 0.95, clf
    assert clf.val_accuracy >= 0.95
    assert clf.path.parent == cache / "classifiers" and clf.path.is_file()
    assert clf.path.name == f"digits-{clf.key[:16]}.pt"
    # integer levels and their float view are the same input
    x = digits.test.x
    feats = clf.features(x)
    assert feats.shape == (len(x), clf.feature_dim) and feats.dtype == torch.float32
    assert torch.equal(feats, clf.features(data.to_float(x)))
    assert torch.equal(clf.features(digits.test), feats)
    pred = clf.predict(x)
    assert pred.shape == (len(x),) and pred.dtype == torch.int64
    assert (pred == digits.test.y).float().mean().item() == pytest.approx(clf.test_accuracy)


def test_second_call_loads_from_cache_without_training(clf, digits, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("the cached classifier was trained again")

    monkeypatch.setattr("coursekit.evaluation.classifiers.train", no_training)
    again = ev.classifier(digits)
    assert again.from_cache and again.path == clf.path
    assert again.train_seconds == pytest.approx(clf.train_seconds)  # the time of the original training
    assert torch.equal(again.predict(digits.test.x), clf.predict(digits.test.x))
    assert torch.equal(again.features(digits.val.x), clf.features(digits.val.x))
    assert again.test_accuracy == clf.test_accuracy


def test_classifier_leaves_the_callers_random_stream_alone(clf, digits, tmp_path):
    for cache_dir in (None, tmp_path):  # a cache hit, then a (tiny) training run
        torch.manual_seed(123)
        np.random.seed(123)
        expected = torch.rand(3), np.random.rand()
        torch.manual_seed(123)
        np.random.seed(123)
        made = ev.classifier(digits, config=TINY if cache_dir else None, cache_dir=cache_dir)
        assert made.from_cache == (cache_dir is None)
        assert torch.equal(torch.rand(3), expected[0]) and np.random.rand() == expected[1]


def test_cache_key_covers_what_determines_the_weights(digits, monkeypatch):
    key = ev.classifier_key(digits)
    assert key == ev.classifier_key(data.digits())  # same content, new tensors
    assert ev.classifier_key(digits, seed=1) != key
    assert ev.classifier_key(digits, config=ev.ClassifierConfig(features=64)) != key
    assert ev.classifier_key(digits, kind="other") != key
    x = digits.train.x.clone()
    x[0, 0, 0, 0] = 16 - x[0, 0, 0, 0]  # one pixel of one training image
    changed = data.Splits(data.ImageSplit(x, digits.train.y, 17, "train"), digits.val, digits.test)
    assert ev.classifier_key(changed) != key
    same_but_test = data.Splits(digits.train, digits.val, digits.val)  # the test split is not in the key
    assert ev.classifier_key(same_but_test) == key
    monkeypatch.setattr(torch, "__version__", "9.9.0")
    assert ev.classifier_key(digits) != key


def test_corrupt_cache_file_is_retrained_with_a_warning(digits, tmp_path, monkeypatch):
    first = ev.classifier(digits, config=TINY, cache_dir=tmp_path)
    first.path.write_bytes(b"not a checkpoint")
    calls = []
    import coursekit.evaluation.classifiers as classifiers_module

    real_train = classifiers_module.train
    monkeypatch.setattr(classifiers_module, "train", lambda *a, **k: calls.append(1) or real_train(*a, **k))
    with pytest.warns(UserWarning, match="trained again"):
        second = ev.classifier(digits, config=TINY, cache_dir=tmp_path)
    assert calls == [1] and not second.from_cache
    assert torch.equal(second.predict(digits.test.x), first.predict(digits.test.x))  # seeded: the same weights
    third = ev.classifier(digits, config=TINY, cache_dir=tmp_path)
    assert third.from_cache and calls == [1]


def test_classifier_works_for_other_image_sizes_and_levels(digits, tmp_path):
    def mnist_like(split):  # 28×28, 256 levels, like MNIST
        x = F.interpolate(data.to_float(split.x), size=(28, 28), mode="bilinear", align_corners=False)
        return data.ImageSplit((x * 255).round().long(), split.y, 256, split.name)

    splits = data.Splits(*(mnist_like(s) for s in digits))
    config = ev.ClassifierConfig(channels=(8, 16), features=32, epochs=3, patience=3, max_shift=0, lr=5e-3)
    clf = ev.classifier(splits, kind="mnist", config=config, cache_dir=tmp_path)
    assert clf.path.name.startswith("mnist-") and clf.path.parent.name == "classifiers" and clf.shape == (1, 28, 28) and clf.levels == 256
    assert clf.features(splits.test.x[:5]).shape == (5, 32)
    assert clf.test_accuracy > 0.3  # three epochs on 1000 images (≈ 0.6): well above chance
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\), got \(5, 1, 8, 8\)"):
        clf.predict(digits.test.x[:5])
    with pytest.raises(ValueError, match="kind='mnist' needs its splits"):
        ev.classifier(kind="mnist")


def test_classifier_rejects_bad_images(clf, digits):
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\), got \(3, 64\)"):
        clf.features(torch.zeros(3, 64, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 1\], got values in 0..16"):
        clf.features(digits.test.x[:3].float())  # levels as floats: ambiguous, refused
    with pytest.raises(ValueError, match="0..16"):
        clf.features(torch.full((3, 1, 8, 8), 20))


# --- the Fréchet distance ----------------------------------------------------------------

def test_frechet_is_zero_for_identical_sets_and_symmetric(clf, digits):
    same = ev.frechet_distance(digits.test.x, digits.test.x.clone(), clf)
    assert same.n == 400 and "n = 400" in str(same)
    assert same.value < 1e-6
    ab = ev.frechet_distance(digits.train, digits.test, clf)
    ba = ev.frechet_distance(digits.test, digits.train, clf)
    assert ab.value > 1 and ab.value == pytest.approx(ba.value, rel=1e-6)
    # the subsample is seeded: the same seed repeats, another seed draws other images
    assert ev.frechet_distance(digits.train, digits.test, clf).value == ab.value
    assert ev.frechet_distance(digits.train, digits.test, clf, seed=1).value != pytest.approx(ab.value, rel=1e-3)


def test_frechet_grows_with_noise(clf, digits):
    x = data.to_float(digits.test.x)
    eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    values = [ev.frechet_distance(x, (x + sigma * eps).clamp(0, 1), clf).value for sigma in (0.0, 0.05, 0.1, 0.2, 0.4)]
    assert values[0] < 1e-6
    assert all(a < b for a, b in zip(values, values[1:])), values


def test_frechet_reference_real_is_far_below_floor_and_noise(clf, digits):
    ref = ev.frechet_reference(digits, clf)
    assert {r.n for r in ref.values()} == {400}
    assert 5 * ref["real"].value < ref["floor"].value < ref["noise"].value, {k: str(v) for k, v in ref.items()}
    # the same as computing it by hand from floor-model samples
    floor = ev.floor_model(digits.train).sample(400, generator=torch.Generator().manual_seed(0))
    assert ev.frechet_distance(floor, digits.test, clf).value == pytest.approx(ref["floor"].value)


def test_frechet_needs_n_examples_in_both_sets(clf, digits):
    with pytest.raises(ValueError, match="x_a with 300 and x_b with 447"):
        ev.frechet_distance(digits.test.x[:300], digits.test.x, clf)
    with pytest.raises(ValueError, match="x_a with 1000 and x_b with 447"):
        ev.frechet_distance(digits.train.x, digits.test.x, clf, n=500)
    assert ev.frechet_distance(digits.test.x[:300], digits.test.x, clf, n=300).n == 300


def test_frechet_matches_the_closed_form_for_diagonal_gaussians():
    mu_a, mu_b = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([0.5, 1.0, 0.0])
    sd_a, sd_b = torch.tensor([1.0, 2.0, 0.5]), torch.tensor([3.0, 1.0, 0.5])
    closed = ((mu_a - mu_b) ** 2).sum() + ((sd_a - sd_b) ** 2).sum()  # ||Δμ||² + Σ (σa − σb)²
    for method in ("eigh", "sqrtm"):
        got = ev.frechet_from_stats(mu_a, torch.diag(sd_a ** 2), mu_b, torch.diag(sd_b ** 2), method=method)
        assert got == pytest.approx(closed.item(), rel=1e-10)
    # and from samples (classifier=None: the rows are the features), up to sampling error
    g = torch.Generator().manual_seed(0)
    a = mu_a + sd_a * torch.randn(40_000, 3, generator=g, dtype=torch.float64)
    b = mu_b + sd_b * torch.randn(40_000, 3, generator=g, dtype=torch.float64)
    assert ev.frechet_distance(a, b, None, n=40_000).value == pytest.approx(closed.item(), rel=0.02)


def test_frechet_eigh_agrees_with_scipy_sqrtm_on_full_covariances():
    g = torch.Generator().manual_seed(1)
    for dim in (2, 10, 64):
        a, b = torch.randn(dim, dim, generator=g, dtype=torch.float64), torch.randn(dim, dim, generator=g, dtype=torch.float64)
        cov_a, cov_b = a @ a.T / dim + 0.1 * torch.eye(dim), b @ b.T / dim + 0.1 * torch.eye(dim, dtype=torch.float64)
        mu_a, mu_b = torch.randn(dim, generator=g, dtype=torch.float64), torch.zeros(dim, dtype=torch.float64)
        fast = ev.frechet_from_stats(mu_a, cov_a, mu_b, cov_b)
        explicit = ev.frechet_from_stats(mu_a, cov_a, mu_b, cov_b, method="sqrtm")
        assert fast == pytest.approx(explicit, rel=1e-8)
        assert fast == pytest.approx(ev.frechet_from_stats(mu_b, cov_b, mu_a, cov_a), rel=1e-8)


def test_frechet_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"cov_b must have shape \(3, 3\), got \(2, 2\)"):
        ev.frechet_from_stats(torch.zeros(3), torch.eye(3), torch.zeros(3), torch.eye(2))
    with pytest.raises(ValueError, match="same feature dimension"):
        ev.frechet_distance(torch.randn(10, 3), torch.randn(10, 4), None, n=10)


# --- mode coverage -----------------------------------------------------------------------

RING = torch.stack([2 * torch.cos(torch.arange(8) * math.pi / 4), 2 * torch.sin(torch.arange(8) * math.pi / 4)], 1)
STD = 0.05


def ring_samples(n, modes, seed=0):
    g = torch.Generator().manual_seed(seed)
    which = torch.as_tensor(modes)[torch.randint(len(modes), (n,), generator=g)]
    return RING[which] + STD * torch.randn(n, 2, generator=g)


def test_mode_coverage_of_exact_samples():
    cov = ev.mode_coverage(ring_samples(4000, range(8)), RING, STD)
    assert cov["modes_hit"] == 8 and cov["hit"].all()
    assert cov["fraction_near_a_mode"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)  # 3σ in 2-D: 98.9%
    assert torch.allclose(cov["per_mode_fraction"], torch.full((8,), 1 / 8), atol=0.02)
    assert cov["per_mode_fraction"].sum().item() == pytest.approx(cov["fraction_near_a_mode"])


def test_mode_coverage_of_a_collapsed_sampler_and_of_noise():
    cov = ev.mode_coverage(ring_samples(3000, [0, 3, 5]), RING, STD)
    assert cov["modes_hit"] == 3
    assert cov["hit"].tolist() == [i in (0, 3, 5) for i in range(8)]
    noise = torch.rand(4000, 2, generator=torch.Generator().manual_seed(0)) * 6 - 3
    cov = ev.mode_coverage(noise, RING, STD)
    assert cov["fraction_near_a_mode"] < 0.02 and cov["modes_hit"] == 0


def test_mode_coverage_hit_rule_needs_a_tenth_of_the_fair_share():
    # 1000 samples on mode 0; mode 1 gets 12 (< ⌈0.1·N/K⌉ = 13) or 13
    for extra, expected in ((12, 1), (13, 2)):
        samples = torch.cat([RING[0].expand(1000, 2), RING[1].expand(extra, 2)])
        n = len(samples)
        assert math.ceil(0.1 * n / 8) == 13
        assert ev.mode_coverage(samples, RING, STD)["modes_hit"] == expected


def test_mode_coverage_follows_dtype_and_checks_shapes():
    cov = ev.mode_coverage(ring_samples(100, range(8)).double(), RING, STD)
    assert cov["per_mode_fraction"].dtype == torch.float64
    with pytest.raises(ValueError, match=r"modes must have shape \(N, 2\), got \(8, 3\)"):
        ev.mode_coverage(torch.zeros(10, 2), torch.zeros(8, 3), STD)
    with pytest.raises(ValueError, match=r"samples must have shape \(N, D\), got \(10,\)"):
        ev.mode_coverage(torch.zeros(10), RING, STD)


# --- the Mutual Information Gap ----------------------------------------------------------

@pytest.fixture(scope="module")
def code():
    """Three discrete factors (5, 4 and 6 values), and a code that holds each in its own dimension."""
    g = torch.Generator().manual_seed(0)
    n = 5000
    factors = torch.stack([torch.randint(v, (n,), generator=g) for v in (5, 4, 6)], 1).float()  # (N, 3)
    latents = torch.cat([factors + 0.01 * torch.randn(n, 3, generator=g),
                         torch.randn(n, 2, generator=g)], 1)                                     # (N, 5): 2 nuisance
    return latents, factors


def test_mig_of_a_disentangled_code_is_high(code):
    latents, factors = code
    details = ev.mig_details(latents, factors)
    assert details.score > 0.9 and ev.mig(latents, factors) == details.score
    assert details.top_latent.tolist() == [0, 1, 2]
    assert torch.allclose(details.factor_entropy, torch.log(torch.tensor([5.0, 4, 6], dtype=torch.float64)), atol=0.01)
    # a permutation, rescaling and sign flip of the latents changes nothing
    perm = torch.tensor([4, 2, 0, 3, 1])
    assert ev.mig(-3 * latents[:, perm], factors) == pytest.approx(details.score)


def test_mig_of_a_rotated_code_is_low(code):
    latents, factors = code
    q, _ = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(0)))
    assert ev.mig(latents, factors) - ev.mig(latents @ q, factors) > 0.6
    assert ev.mig(latents @ q, factors) < 0.3


def test_mig_gap_vanishes_for_a_factor_copied_into_two_latents(code):
    latents, factors = code
    copied = torch.cat([latents, latents[:, :1]], 1)  # latent 5 repeats latent 0 (factor 0)
    gaps = ev.mig_details(copied, factors).gaps
    assert gaps[0].item() == pytest.approx(0.0, abs=1e-9)
    assert (gaps[1:] > 0.9).all()


def test_active_latents_is_mean_kl_above_the_threshold():
    # four latents with known mean KL: 0 (the prior), 0.5 (μ = ±1), 0.02 (μ = ±0.2), ½(e^−2 + 1) ≈ 0.568 (narrow σ)
    sign = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    mu = sign * torch.tensor([[0.0, 1.0, 0.2, 0.0]], dtype=torch.float64)
    log_var = torch.tensor([[0.0, 0.0, 0.0, -2.0]], dtype=torch.float64).expand(2, 4)
    assert ev.disentanglement.ACTIVE_KL == 0.05
    assert ev.disentanglement.active_latents(mu, log_var).tolist() == [False, True, False, True]
    assert ev.disentanglement.active_latents(mu, log_var, threshold=0.01).tolist() == [False, True, True, True]
    assert ev.disentanglement.active_latents(mu, log_var, threshold=0.55).tolist() == [False, False, False, True]
    with pytest.raises(ValueError, match=r"mu and log_var must both have shape \(N, L\), got \(2, 4\) and \(2, 3\)"):
        ev.disentanglement.active_latents(mu, log_var[:, :3])


def test_mig_on_active_latents_ignores_a_switched_off_latents_spurious_information(code):
    """A switched-off latent whose μ still moves a little with factor 0 (amplitude 1e-3, far below
    the posterior's σ ≈ 1): binned between its own min and max it looks as informative as the
    real latent, becomes factor 0's runner-up and takes its gap to 0. Counting the active
    latents only gives the code's MIG back."""
    latents, factors = code
    ghost = 1e-3 * latents[:, :1]                                   # μ of an off latent: a tiny copy of latent 0
    with_ghost = torch.cat([latents, ghost], 1)                     # (N, 6)
    active = torch.tensor([True] * 5 + [False])
    full = ev.mig_details(with_ghost, factors)
    counted = ev.mig_details(with_ghost, factors, active=active)
    assert full.gaps[0].item() == pytest.approx(0.0, abs=1e-9)       # the artefact
    assert counted.score == pytest.approx(ev.mig(latents, factors), abs=1e-12)
    assert counted.score - full.score > 0.25
    assert ev.mig(with_ghost, factors, active=active) == counted.score
    assert counted.active.tolist() == active.tolist()
    assert counted.normalized_mi[5].abs().max().item() == 0.0       # the off latent's row counts as nothing
    assert counted.estimated_mi[5, 0].item() > 0.9                  # ... while the plug-in estimate saw a lot
    assert torch.equal(counted.estimated_mi, full.normalized_mi)
    again = counted.on_all_latents()                                # all latents, without binning again
    assert again.score == full.score and torch.equal(again.gaps, full.gaps) and again.active is None
    assert torch.equal(again.top_latent, full.top_latent)
    # one active latent: the runner-up is an off latent with no information, so each gap is the top MI
    one = ev.mig_details(with_ghost, factors, active=torch.tensor([True] + [False] * 5))
    assert one.gaps[0].item() == pytest.approx(full.estimated_mi[0, 0].item(), abs=1e-12)
    assert one.gaps[1:].abs().max().item() < 0.01
    with pytest.raises(ValueError, match=r"active must be a bool mask of shape \(6,\).*got dtype torch.int64 and shape \(6,\)"):
        ev.mig(with_ghost, factors, active=torch.ones(6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"active must be a bool mask of shape \(6,\).*shape \(5,\)"):
        ev.mig(with_ghost, factors, active=active[:5])


def test_mig_rejects_bad_input(code):
    latents, factors = code
    with pytest.raises(ValueError, match=r"factors must have shape \(5000, F\) to match"):
        ev.mig(latents, factors[:10])
    with pytest.raises(ValueError, match="L >= 2"):
        ev.mig(latents[:, :1], factors)
    with pytest.raises(ValueError, match="factor 1 takes a single value"):
        ev.mig(latents, torch.stack([factors[:, 0], torch.zeros(len(factors))], 1))


# --- conditional accuracy ----------------------------------------------------------------

def test_conditional_accuracy_of_real_digits(clf, digits):
    x, y = digits.test.x, digits.test.y
    assert ev.conditional_accuracy(x, y, clf) == pytest.approx(clf.test_accuracy)
    assert ev.conditional_accuracy(x, y, clf) >= 0.9
    shuffled = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(0))]
    assert abs(ev.conditional_accuracy(x, shuffled, clf) - 0.1) < 0.05
    with pytest.raises(ValueError, match=r"requested_labels must have shape \(447,\)"):
        ev.conditional_accuracy(x, y[:10], clf)
