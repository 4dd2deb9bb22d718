"""coursekit.viz.slider, the frame every widget uses: the update logic, exercised in-process by setting
slider values; and image_rows_slider (lecture 01), whose rows follow the slider."""
import ipywidgets as widgets
import pytest
import torch
from matplotlib.figure import Figure

from coursekit import data, viz
from coursekit.models import PCA

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def line_figure(slope: float, offset: float = 0.0) -> Figure:
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [offset, offset + slope])
    return fig


def test_image_slider_widget_renders_once_and_again_on_every_change():
    calls = []

    def render(slope, offset):
        calls.append((slope, offset))
        return line_figure(slope, offset)

    sliders = {"slope": widgets.FloatSlider(value=1.0, min=-2, max=2),
               "offset": widgets.IntSlider(value=0, min=0, max=3)}
    box = viz.image_slider_widget(render, sliders)
    assert isinstance(box, widgets.VBox)
    assert box.sliders == sliders and box.image in box.children
    assert calls == [(1.0, 0)]
    first = bytes(box.image.value)
    assert first.startswith(PNG_SIGNATURE)

    box.sliders["slope"].value = -1.5
    assert calls[-1] == (-1.5, 0)
    assert bytes(box.image.value) != first
    box.sliders["offset"].value = 2
    assert calls[-1] == (-1.5, 2) and len(calls) == 3


def test_image_slider_widget_closes_pyplot_figures_it_renders():
    import matplotlib.pyplot as plt

    plt.close("all")

    def render(slope):
        fig = plt.figure(figsize=(2, 2))
        fig.add_subplot().plot([0, 1], [0, slope])
        return fig

    box = viz.image_slider_widget(render, {"slope": widgets.FloatSlider(value=1.0)})
    box.sliders["slope"].value = 2.0
    assert plt.get_fignums() == []


def test_image_slider_widget_rejects_bad_arguments():
    slider = widgets.FloatSlider()
    with pytest.raises(ValueError, match="empty"):
        viz.image_slider_widget(line_figure, {})
    with pytest.raises(ValueError, match="callable"):
        viz.image_slider_widget("not a function", {"slope": slider})
    with pytest.raises(ValueError, match=r"ValueWidgets.*'slope': 'float'"):
        viz.image_slider_widget(line_figure, {"slope": 1.0})
    with pytest.raises(ValueError, match="must return a matplotlib Figure, got NoneType"):
        viz.image_slider_widget(lambda slope: None, {"slope": slider})


# ---------------------------------------------------------------------------------- image_rows_slider


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

    box = viz.image_rows_slider(rows, [1, 2, 5, 10, 64], description="k")
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
    box = viz.image_rows_slider(lambda s: {"clean": shown[:4], "noisy": (shown + s * noise).clamp(0, 1)},
                                [0.0, 0.3, 0.6], description="σ", value=0.3, nrow=4)
    before = bytes(box.image.value)
    box.sliders["v"].value = 0.6
    assert bytes(box.image.value) != before


def test_image_rows_slider_rejects_bad_arguments(digits_float):
    _, shown = digits_float
    with pytest.raises(ValueError, match="at least one value"):
        viz.image_rows_slider(lambda v: {"x": shown}, [])
    with pytest.raises(ValueError, match="not one of the slider's values"):
        viz.image_rows_slider(lambda v: {"x": shown}, [1, 2], value=3)
    with pytest.raises(ValueError, match="non-empty dict"):
        viz.image_rows_slider(lambda v: shown, [1, 2])
