"""`knn_coverage` (Naeem et al. 2020): the share of real images whose k-NN ball in the classifier's
features holds a sample."""
import pytest
import torch

from coursekit import evaluation as ev


@pytest.fixture(scope="module")
def clf(digits):
    return ev.classifier(digits)


def test_real_images_cover_the_real_images(clf, digits):
    """Two halves of the training digits in random order are exchangeable: a real image is left
    uncovered when none of the 2n − 1 others nearest it among its k nearest is a sample, which has
    probability C(n−1, k)/C(2n−1, k) ≈ 2^−k, so coverage ≈ 0.97 for k = 5."""
    order = torch.randperm(len(digits.train), generator=torch.Generator().manual_seed(0))
    x = digits.train.x[order]
    assert ev.knn_coverage(x[:500], x[500:], clf) > 0.9
    # the fixed split is by position in the file (the last 447 images), not random: lower, still high
    assert ev.knn_coverage(digits.train.x, digits.test, clf) > 0.7


def test_one_repeated_image_covers_almost_nothing(clf, digits):
    one = digits.train.x[:1].expand(400, -1, -1, -1)
    assert ev.knn_coverage(one, digits.test, clf) < 0.1


def test_noise_covers_less_than_real_images_and_results_are_seeded(clf, digits):
    noise = torch.randint(0, digits.test.levels, (400, *digits.test.x.shape[1:]), generator=torch.Generator().manual_seed(0))
    assert ev.knn_coverage(noise, digits.test, clf) < ev.knn_coverage(digits.train.x, digits.test, clf)
    a = ev.knn_coverage(digits.train.x, digits.test, clf, n=300, seed=1)
    assert a == ev.knn_coverage(digits.train.x, digits.test, clf, n=300, seed=1)
    # floats in [0, 1] are the same images as their levels
    floats = digits.train.x.float() / (digits.train.levels - 1)
    assert ev.knn_coverage(floats, digits.test, clf, n=300, seed=1) == pytest.approx(a)


def test_knn_coverage_rejects_bad_input(clf, digits):
    with pytest.raises(ValueError, match="at least 400"):
        ev.knn_coverage(digits.train.x[:100], digits.test, clf)
    with pytest.raises(ValueError, match="n >= k"):
        ev.knn_coverage(digits.train.x, digits.test, clf, n=5, k=5)
    with pytest.raises(ValueError, match="shape"):
        ev.knn_coverage(digits.train.x.flatten(1), digits.test, clf)
    with pytest.raises(TypeError, match="evaluation classifier"):
        ev.knn_coverage(digits.train.x, digits.test, None)
    with pytest.raises(TypeError, match="ImageSplit"):
        ev.knn_coverage(digits.train.x, [1, 2], clf)
    with pytest.raises(ValueError, match="lie in"):
        ev.knn_coverage(digits.train.x.float(), digits.test, clf)


class IdentityFeatures:
    """A stand-in for the evaluation classifier whose features are the points themselves."""
    shape = (2,)

    def features(self, x):
        return x.reshape(len(x), -1).double()


def brute_force_coverage(real, samples, k):
    """Coverage by the definition, with plain loops: r_i = distance to the k-th nearest other real point;
    covered if some sample is strictly closer than r_i."""
    covered = 0
    for i, x in enumerate(real):
        others = sorted(float((x - y).norm()) for j, y in enumerate(real) if j != i)
        radius = others[k - 1]
        covered += any(float((x - s).norm()) < radius for s in samples)
    return covered / len(real)


def test_hand_placed_points_match_the_definition():
    """Six real points on a line; radii for k = 2 are 3, 2, 3, 3, 5, 9. The sample at −3 lies exactly on
    the ball of 0 (not covered: strictly inside only); 5.5 covers 3, 6 and 10 but not 3 with k = 1."""
    line = lambda *xs: torch.tensor([[float(x), 0.0] for x in xs])
    real = line(0, 1, 3, 6, 10, 15)
    samples = line(-3, 5.5, 100, 200, 300, 400)
    clf = IdentityFeatures()
    expected = {1: 1 / 6, 2: 3 / 6, 3: 6 / 6}
    for k, value in expected.items():
        assert brute_force_coverage(real, samples, k) == pytest.approx(value)
        assert ev.knn_coverage(samples, real, clf, n=6, k=k) == pytest.approx(value), k
    # ≤ instead of < would cover 0 as well (4/6 for k = 2); the ball's edge is not inside
    assert ev.knn_coverage(samples, real, clf, n=6, k=2) != pytest.approx(4 / 6)
