"""The slider frame every widget of the course uses: sliders beside or above a PNG of a figure.

A widget is sliders plus an `ipywidgets.Image(format="png")`: on every slider change the
figure is drawn again (a `matplotlib.figure.Figure`, no pyplot) and its PNG bytes become the
image's `.value`. No `Output` widget and no `%matplotlib` magic are involved, so the same
code runs in a kernel, in a test and in a browser test.

    box = image_slider_widget(render, {"t": ipywidgets.FloatSlider(0.5, min=0, max=1)})
    box                          # last line of a cell: displays the widget
    box.sliders["t"].value = 0.8 # what dragging the slider does: render(t=0.8) is drawn
    box.image.value[:8]          # the PNG now shown

What keeps an update fast (`benchmarks/widget_times.py` prints each widget's time):

- one draw per update, straight to pixels: the Agg canvas's buffer goes to PNG through PIL
  (full colour, fast compression), not through `savefig`, which draws twice to crop;
- a `render` may return the *same* Figure every time, changing only what moved: the layout
  found at the first draw is kept, so later draws skip the constrained-layout pass (the
  widgets of `latent`, `kl_fit` and `beta_vae` do this);
- `cache=n` keeps the last n pictures by slider values, for a `render` that depends on its
  arguments only (a slider over a few trained models, a code size k).

The picture is shown at its own size, one image pixel per CSS pixel (`image.layout.width`
is the PNG's width), never stretched to the box's width and blurred. `arrange="beside"`
puts the sliders in a column to the left of the picture, for widgets with many sliders.

The returned box carries its parts as attributes: `box.image` (the `ipywidgets.Image`) and
`box.sliders` (a dict by keyword of `render`); the widgets built on it add their own (the KL
demo's `.readout`, the traversal's `.z()`, the β slider's `.summaries` and `.render`).
`image_rows_slider` is the frame for the commonest picture: labelled rows of images that
follow one slider (lecture 01's PCA code size and denoising noise level).
"""
from __future__ import annotations

import math
import sys
from collections import OrderedDict
from typing import Callable, Mapping

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .figures import PNG_DPI, _encode_png, clear_panel, image_grid

__all__ = ["image_slider_widget", "image_rows_slider", "close_figure", "figure_png"]


def close_figure(fig: Figure) -> None:
    """Free a rendered figure: pyplot's registry lets go of it if pyplot made it (pyplot is never imported here)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)


def figure_png(fig: Figure, dpi: int = PNG_DPI, colors: int | None = None) -> bytes:
    """The whole figure as PNG bytes, drawn once: Agg's pixel buffer, encoded by PIL with fast compression.

    The widgets' path. `to_png`, for still figures, crops to what is drawn (`savefig` draws the
    figure twice for that), reduces it to a 256-colour palette and compresses harder: lighter
    bytes to commit, but a widget's picture is never committed and the palette search costs
    time (about 0.1 s for lecture 03's β picture), so full colour is the default here. The
    figure keeps its Agg canvas, so drawing it again after a change redraws only the figure.
    """
    if fig.get_dpi() != dpi:
        fig.set_dpi(dpi)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())                    # (H, W, 4), the figure's background opaque
    return _encode_png(np.ascontiguousarray(rgba[..., :3]), colors, compress_level=1)


def _show_at_native_size(image: widgets.Image, png: bytes) -> None:
    """One image pixel per CSS pixel: the box's flex layout would otherwise stretch the image to its width."""
    width = f"{int.from_bytes(png[16:20], 'big')}px"
    if image.layout.width != width:
        image.layout.width = width
        image.layout.max_width = "100%"     # a picture wider than the notebook shrinks rather than overflows
        image.layout.height = "auto"
        image.layout.flex = "0 0 auto"


def image_slider_widget(
    render: Callable[..., Figure],
    sliders: Mapping[str, widgets.ValueWidget],
    layout: widgets.Layout | None = None,
    dpi: int = PNG_DPI,
    *,
    arrange: str = "above",
    cache: int = 0,
) -> widgets.Box:
    """Sliders and an image of `render(**values)`, drawn again whenever a slider's value changes.

    `sliders` maps each keyword of `render` to the widget that sets it (FloatSlider,
    IntSlider, Dropdown, ...); `render` returns a Figure. It may return a new Figure each time
    (it is closed once drawn) or the same one, changed (its first layout is kept: faster). It is
    rendered once here, so a `render` that fails does so now, not on the first drag.
    `arrange` is "above" (sliders above the picture, a VBox) or "beside" (a column of sliders
    left of the picture, an HBox). `cache=n` keeps the last n pictures by slider values: only
    for a `render` without side effects. The picture is shown at its pixel size.
    The returned box has `.image` (the `ipywidgets.Image`) and `.sliders` (the dict).
    """
    if not callable(render):
        raise ValueError(f"render must be a callable returning a Figure, got {type(render).__name__}")
    if not sliders:
        raise ValueError("sliders must map at least one keyword of render to a widget, got an empty mapping")
    wrong = {name: type(s).__name__ for name, s in sliders.items() if not isinstance(s, widgets.ValueWidget)}
    if wrong:
        raise ValueError(f"sliders must be ipywidgets ValueWidgets (FloatSlider, ...), got {wrong}")
    if arrange not in ("above", "beside"):
        raise ValueError(f"arrange must be 'above' or 'beside', got {arrange!r}")
    if not isinstance(cache, int) or cache < 0:
        raise ValueError(f"cache must be an int >= 0 (pictures kept), got {cache!r}")

    sliders = dict(sliders)
    image = widgets.Image(format="png")
    pictures: OrderedDict[tuple, bytes] = OrderedDict()

    def draw(values: dict) -> bytes:
        fig = render(**values)
        if not isinstance(fig, Figure):
            raise ValueError(f"render must return a matplotlib Figure, got {type(fig).__name__}")
        png = figure_png(fig, dpi=dpi)
        close_figure(fig)                   # pyplot's registry lets go (the Figure itself may be drawn again)
        if fig.get_layout_engine() is not None:
            fig.set_layout_engine("none")   # the positions found by this draw stay: redraws skip the layout
        return png

    def update(change: dict | None = None) -> None:
        values = {name: slider.value for name, slider in sliders.items()}
        key = tuple(values.items())
        if cache and key in pictures:
            pictures.move_to_end(key)
            png = pictures[key]
        else:
            png = draw(values)
            if cache:
                pictures[key] = png
                while len(pictures) > cache:
                    pictures.popitem(last=False)
        _show_at_native_size(image, png)
        image.value = png

    update()
    for slider in sliders.values():
        slider.observe(update, names="value")
    if arrange == "beside":
        column = widgets.VBox(list(sliders.values()), layout=widgets.Layout(flex="0 0 auto"))
        box = widgets.HBox([column, image], layout=layout or widgets.Layout(align_items="flex-start"))
    else:
        box = widgets.VBox([*sliders.values(), image], layout=layout or widgets.Layout(align_items="flex-start"))
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
    The slider is `box.sliders["v"]`. Each value's picture is kept once drawn (`rows` should
    give the same rows for the same v), and one figure is redrawn while the rows keep their shape.
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

    shown: dict = {}   # the figure and the shape of its rows, reused while the rows keep their shape

    def render(v) -> Figure:
        panels = rows(v)
        if not isinstance(panels, Mapping) or not panels:
            raise ValueError(f"rows(v) must return a non-empty dict {{label: images}}, got {type(panels).__name__}")
        counts = {label: len(images) for label, images in panels.items()}
        n = max(counts.values())
        per_row = min(nrow or n, n)
        heights = [math.ceil(c / per_row) for c in counts.values()]
        if shown.get("shape") == (per_row, heights):
            fig, axes = shown["fig"], shown["axes"]
            for ax in axes:
                clear_panel(ax)
        else:
            fig = Figure(figsize=(scale * per_row, scale * 1.35 * sum(heights)), layout="constrained")
            axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
            shown.update(fig=fig, axes=axes, shape=(per_row, heights))
        for ax, (label, images) in zip(axes, panels.items()):
            if levels is not None:
                kw = {"vmin": 0, "vmax": levels - 1}
            else:  # floats on 0..1 (a linear decoder's overshoot is clipped), integers by image_grid's rule
                kw = {"vmin": 0.0, "vmax": 1.0} if getattr(images, "is_floating_point", lambda: False)() else {}
            image_grid(images, nrow=per_row, ax=ax, **kw)
            ax.set_title(str(label), fontsize=8, loc="left", y=1.0)
        return fig

    return image_slider_widget(render, {"v": slider}, cache=min(len(values), 64))
