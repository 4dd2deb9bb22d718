"""coursekit.widgets: the update logic, exercised in-process by setting slider values."""
import ipywidgets as widgets
import pytest
from matplotlib.figure import Figure

from coursekit import widgets as ckw

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
    box = ckw.image_slider_widget(render, sliders)
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

    box = ckw.image_slider_widget(render, {"slope": widgets.FloatSlider(value=1.0)})
    box.sliders["slope"].value = 2.0
    assert plt.get_fignums() == []


def test_image_slider_widget_rejects_bad_arguments():
    slider = widgets.FloatSlider()
    with pytest.raises(ValueError, match="empty"):
        ckw.image_slider_widget(line_figure, {})
    with pytest.raises(ValueError, match="callable"):
        ckw.image_slider_widget("not a function", {"slope": slider})
    with pytest.raises(ValueError, match=r"ValueWidgets.*'slope': 'float'"):
        ckw.image_slider_widget(line_figure, {"slope": 1.0})
    with pytest.raises(ValueError, match="must return a matplotlib Figure, got NoneType"):
        ckw.image_slider_widget(lambda slope: None, {"slope": slider})


def test_kl_fit_demo_updates_image_and_readout_when_a_slider_moves():
    box = ckw.kl_fit_demo(separation=3.0)
    separation, weight = box.sliders["separation"], box.sliders["weight"]
    assert separation.continuous_update is False and (separation.min, separation.max) == (0.0, 10.0)
    assert box.readout in box.children
    image, readout = bytes(box.image.value), box.readout.value
    assert image.startswith(PNG_SIGNATURE)
    assert "μ = +0.000" in readout  # separation 3: both fits centred

    separation.value = 8.0
    assert bytes(box.image.value) != image
    assert box.readout.value != readout
    assert "σ = 4.123" in box.readout.value  # forward fit: √(1 + 4²)
    assert "μ = -4.000" in box.readout.value or "μ = +4.000" in box.readout.value  # reverse fit on a mode

    readout = box.readout.value
    weight.value = 0.8
    assert box.readout.value != readout
    assert "μ = -4.000" in box.readout.value  # the heavier mode is at −d/2


@pytest.mark.parametrize("kwargs", [dict(separation=12.0), dict(separation=-1.0), dict(weight=1.5), dict(std=0.0)])
def test_kl_fit_demo_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="got"):
        ckw.kl_fit_demo(**kwargs)
