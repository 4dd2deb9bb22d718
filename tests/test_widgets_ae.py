"""coursekit.widgets.image_rows_slider (lecture 01): moving the slider re-renders the rows."""
import ipywidgets as widgets
import pytest
import torch

from coursekit import data
from coursekit import widgets as ckw
from coursekit.models import PCA

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def digits_float():
    splits = data.digits()
    return data.to_float(splits.train.x), data.to_float(splits.test.x[:8])


def test_pca_bottleneck_slider_changes_the_picture(digits_float):
    train, shown = digits_float
    calls = []

    def rows(k):
        calls.append(k)
        pca = PCA(latent_dim=k).fit(train)
        return {"test digits": shown, f"PCA, k = {k}": pca(shown)}

    box = ckw.image_rows_slider(rows, [1, 2, 5, 10, 64], description="k")
    assert isinstance(box, widgets.VBox) and box.image in box.children
    assert isinstance(box.sliders["v"], widgets.SelectionSlider)
    assert calls == [1]
    first = bytes(box.image.value)
    assert first.startswith(PNG_SIGNATURE)
    box.sliders["v"].value = 64
    assert calls[-1] == 64
    at_64 = bytes(box.image.value)
    assert at_64 != first and at_64.startswith(PNG_SIGNATURE)
    box.sliders["v"].value = 1  # back to the start: the same picture again (rendering is deterministic)
    assert bytes(box.image.value) == first


def test_noise_slider_rows_of_different_lengths_and_start_value(digits_float):
    _, shown = digits_float
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(shown.shape, generator=g)
    box = ckw.image_rows_slider(lambda s: {"clean": shown[:4], "noisy": (shown + s * noise).clamp(0, 1)},
                                [0.0, 0.3, 0.6], description="σ", value=0.3, nrow=4)
    before = bytes(box.image.value)
    box.sliders["v"].value = 0.6
    assert bytes(box.image.value) != before


def test_image_rows_slider_rejects_bad_arguments(digits_float):
    _, shown = digits_float
    with pytest.raises(ValueError, match="at least one value"):
        ckw.image_rows_slider(lambda v: {"x": shown}, [])
    with pytest.raises(ValueError, match="not one of the slider's values"):
        ckw.image_rows_slider(lambda v: {"x": shown}, [1, 2], value=3)
    with pytest.raises(ValueError, match="non-empty dict"):
        ckw.image_rows_slider(lambda v: shown, [1, 2])
