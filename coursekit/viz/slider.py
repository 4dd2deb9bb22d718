"""The slider frame every widget of the course uses: sliders above a PNG of a figure.

A widget is sliders plus an `ipywidgets.Image(format="png")`: on every slider change the
figure is rendered again (a `matplotlib.figure.Figure`, no pyplot) and its PNG bytes become
the image's `.value`. No `Output` widget and no `%matplotlib` magic are involved, so the same
code runs in a kernel, in a test and in a browser test.

    box = image_slider_widget(render, {"t": ipywidgets.FloatSlider(0.5, min=0, max=1)})
    box                          # last line of a cell: displays the widget
    box.sliders["t"].value = 0.8 # what dragging the slider does: render(t=0.8) is drawn
    box.image.value[:8]          # the PNG now shown

The returned `VBox` carries its parts as attributes: `box.image` (the `ipywidgets.Image`) and
`box.sliders` (a dict by keyword of `render`); the widgets built on it add their own (the KL
demo's `.readout`, the traversal's `.z()`, the β slider's `.summaries` and `.render`).
`image_rows_slider` is the frame for the commonest picture: labelled rows of images that
follow one slider (lecture 01's PCA code size and denoising noise level).
"""
from __future__ import annotations

import math
import sys
from typing import Callable, Mapping

import ipywidgets as widgets
from matplotlib.figure import Figure

from .figures import PNG_DPI, image_grid, to_png

__all__ = ["image_slider_widget", "image_rows_slider", "close_figure"]


def close_figure(fig: Figure) -> None:
    """Free a rendered figure: pyplot's registry lets go of it if pyplot made it (pyplot is never imported here)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)


def image_slider_widget(
    render: Callable[..., Figure],
    sliders: Mapping[str, widgets.ValueWidget],
    layout: widgets.Layout | None = None,
    dpi: int = PNG_DPI,
) -> widgets.VBox:
    """Sliders above an image of `render(**values)`, re-rendered whenever a slider's value changes.

    `sliders` maps each keyword of `render` to the widget that sets it (FloatSlider,
    IntSlider, Dropdown, ...); `render` returns a Figure, which is drawn to PNG and closed.
    It is rendered once here, so a `render` that fails does so now, not on the first drag.
    The returned box has `.image` (the `ipywidgets.Image`) and `.sliders` (the dict).
    """
    if not callable(render):
        raise ValueError(f"render must be a callable returning a Figure, got {type(render).__name__}")
    if not sliders:
        raise ValueError("sliders must map at least one keyword of render to a widget, got an empty mapping")
    wrong = {name: type(s).__name__ for name, s in sliders.items() if not isinstance(s, widgets.ValueWidget)}
    if wrong:
        raise ValueError(f"sliders must be ipywidgets ValueWidgets (FloatSlider, ...), got {wrong}")

    sliders = dict(sliders)
    image = widgets.Image(format="png")

    def update(change: dict | None = None) -> None:
        fig = render(**{name: slider.value for name, slider in sliders.items()})
        if not isinstance(fig, Figure):
            raise ValueError(f"render must return a matplotlib Figure, got {type(fig).__name__}")
        image.value = to_png(fig, dpi=dpi)
        close_figure(fig)

    update()
    for slider in sliders.values():
        slider.observe(update, names="value")
    box = widgets.VBox([*sliders.values(), image], layout=layout or widgets.Layout())
    box.image = image
    box.sliders = sliders
    return box


def image_rows_slider(rows: Callable[[object], Mapping[str, object]], values, *, description: str = "value",
                      value=None, nrow: int | None = None, scale: float = 0.55,
                      levels: int | None = None) -> widgets.VBox:
    """A slider over `values` above labelled rows of images: row "label" shows `rows(v)["label"]`.

    `rows(v)` returns a dict {label: images (N, C, H, W)}, one row per entry in order (the
    labels can carry numbers, e.g. the reconstruction error at v). Lecture 01 slides the code
    size k of PCA (`{"test digits": x, f"PCA, k = {k}": pca_k(x)}`) and the noise level σ
    of a denoising autoencoder. `values` is any sequence (ints, floats, strings); the slider
    starts at `value` (default: the first) and updates on release. `levels` fixes the colour
    range to 0..levels−1 (integer images); float tensors are drawn on 0..1, values outside clipped.
    The slider is `box.sliders["v"]`.
    """
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one value for the slider, got an empty sequence")
    if not callable(rows):
        raise ValueError(f"rows must be a callable v -> {{label: images}}, got {type(rows).__name__}")
    start = values[0] if value is None else value
    if start not in values:
        raise ValueError(f"value {start!r} is not one of the slider's values {values}")
    slider = widgets.SelectionSlider(options=values, value=start, description=description,
                                     continuous_update=False, style={"description_width": "90px"})

    def render(v) -> Figure:
        panels = rows(v)
        if not isinstance(panels, Mapping) or not panels:
            raise ValueError(f"rows(v) must return a non-empty dict {{label: images}}, got {type(panels).__name__}")
        counts = {label: len(images) for label, images in panels.items()}
        n = max(counts.values())
        per_row = min(nrow or n, n)
        heights = [math.ceil(c / per_row) for c in counts.values()]
        fig = Figure(figsize=(scale * per_row, scale * 1.35 * sum(heights)), layout="constrained")
        axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
        for ax, (label, images) in zip(axes, panels.items()):
            if levels is not None:
                kw = {"vmin": 0, "vmax": levels - 1}
            else:  # floats on 0..1 (a linear decoder's overshoot is clipped), integers by image_grid's rule
                kw = {"vmin": 0.0, "vmax": 1.0} if getattr(images, "is_floating_point", lambda: False)() else {}
            image_grid(images, nrow=per_row, ax=ax, **kw)
            ax.set_title(str(label), fontsize=8, loc="left")
        return fig

    return image_slider_widget(render, {"v": slider})
