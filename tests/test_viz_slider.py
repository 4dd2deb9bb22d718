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


def test_a_render_that_returns_the_same_figure_is_redrawn_with_its_first_layout():
    fig = Figure(figsize=(2, 2), layout="constrained")
    ax = fig.add_subplot()
    (line,) = ax.plot([0, 1], [0, 1])

    def render(slope):
        line.set_ydata([0, slope])
        return fig

    box = viz.image_slider_widget(render, {"slope": widgets.FloatSlider(value=1.0, min=-2, max=2)})
    first = bytes(box.image.value)
    position = ax.get_position().bounds
    assert fig.get_layout_engine() is None or type(fig.get_layout_engine()).__name__ == "PlaceHolderLayoutEngine"
    box.sliders["slope"].value = -1.0
    assert bytes(box.image.value) != first and ax.get_position().bounds == position
    assert viz.png_size(bytes(box.image.value)) == (2 * viz.PNG_DPI, 2 * viz.PNG_DPI)   # the whole figure, once


def test_the_picture_is_shown_at_its_pixel_size_and_arranged_as_asked():
    sliders = {"slope": widgets.FloatSlider(value=1.0, min=-2, max=2)}
    above = viz.image_slider_widget(line_figure, sliders)
    width, _ = viz.png_size(bytes(above.image.value))
    assert above.image.layout.width == f"{width}px" and above.image.layout.max_width == "100%"
    assert isinstance(above, widgets.VBox) and above.children[-1] is above.image
    beside = viz.image_slider_widget(line_figure, {"slope": widgets.FloatSlider(value=1.0)}, arrange="beside")
    assert isinstance(beside, widgets.HBox) and beside.children[1] is beside.image
    with pytest.raises(ValueError, match="arrange must be 'above' or 'beside', got 'below'"):
        viz.image_slider_widget(line_figure, sliders, arrange="below")
    with pytest.raises(ValueError, match="cache must be an int >= 0"):
        viz.image_slider_widget(line_figure, sliders, cache=-1)


def test_cache_draws_each_value_once():
    calls = []

    def render(k):
        calls.append(k)
        return line_figure(k)

    box = viz.image_slider_widget(render, {"k": widgets.IntSlider(value=0, min=0, max=3)}, cache=2)
    pictures = {0: bytes(box.image.value)}
    for k in (1, 0, 1, 2, 0):
        box.sliders["k"].value = k
        pictures.setdefault(k, bytes(box.image.value))
        assert bytes(box.image.value) == pictures[k]
    assert calls == [0, 1, 2, 0]          # 0 and 1 came from the cache; 0 was dropped (two kept) before its return
