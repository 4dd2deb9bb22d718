"""`knn_coverage` (Naeem et al. 2020): the share of real images whose k-NN ball in the classifier's
features holds a sample."""
import pytest
import torch

from coursekit import evaluation as ev


@pytest.fixture(scope="module")
def clf(digits):
    return ev.classifier(digits)


def test_real_images_cover_the_real_images(clf, digits):
    assert ev.knn_coverage(digits.train.x, digits.test, clf) > 0.8       # ≈ 1 − 2^−5 for fresh data


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
