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
