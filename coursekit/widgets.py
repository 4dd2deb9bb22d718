"""ipywidgets for the lectures, built from plain arguments and returned, so they can be tested.

A widget here is sliders plus an `ipywidgets.Image(format="png")` that shows a figure: on
every slider change the figure is rendered again (`coursekit.plot`, no pyplot) and its PNG
bytes become the image's `.value`. No `Output` widget and no `%matplotlib` magic are
involved, so the same code runs in a kernel, in a test and in a browser test.

    box = kl_fit_demo(separation=3.0)
    box                      # last line of a cell: displays the widget
    box.sliders["separation"].value = 8.0   # what dragging the slider does
    box.image.value[:8]      # the PNG now shown

The returned `VBox` carries its parts as attributes: `box.image`, `box.sliders` (a dict by
name) and, for the demos, `box.readout`.
"""
from __future__ import annotations

import sys
from typing import Callable, Mapping

import ipywidgets as widgets
from matplotlib.figure import Figure

from . import divergences, plot

__all__ = ["image_slider_widget", "kl_fit_demo"]


def _close(fig: Figure) -> None:
    """Free a rendered figure: pyplot's registry lets go of it if pyplot made it (pyplot is never imported here)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)


def image_slider_widget(
    render: Callable[..., Figure],
    sliders: Mapping[str, widgets.ValueWidget],
    layout: widgets.Layout | None = None,
    dpi: int = plot.PNG_DPI,
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
        image.value = plot.to_png(fig, dpi=dpi)
        _close(fig)

    update()
    for slider in sliders.values():
        slider.observe(update, names="value")
    box = widgets.VBox([*sliders.values(), image], layout=layout or widgets.Layout())
    box.image = image
    box.sliders = sliders
    return box


def _fit_readout_html(p: divergences.GaussianMixture1D, forward: tuple[float, float],
                      reverse: tuple[float, float]) -> str:
    """Both fits' (μ, σ) and their KL values as a small HTML table."""
    kl_forward = divergences.forward_kl(p, *forward)
    kl_reverse = divergences.reverse_kl(p, *reverse)
    rows = [("forward: min KL(p‖q)", forward, f"KL(p‖q) = {kl_forward:.3f}"),
            ("reverse: min KL(q‖p)", reverse, f"KL(q‖p) = {kl_reverse:.3f}")]
    cells = "".join(f"<tr><td>{name}</td><td>μ = {mu:+.3f}</td><td>σ = {sigma:.3f}</td><td>{kl}</td></tr>"
                    for name, (mu, sigma), kl in rows)
    return f"<table style='font-family: monospace; font-size: 90%'>{cells}</table>"


def kl_fit_demo(separation: float = 3.0, std: float = 1.0, weight: float = 0.5) -> widgets.VBox:
    """Lecture 00's demo: fit one Gaussian q to p = w·N(−d/2, s²) + (1 − w)·N(d/2, s²) two ways.

    Sliders set the separation d (0 to 10) and the first component's weight w (0 to 1); the
    component std s is fixed by `std`. The figure shows p with the forward fit
    (moment matching, mode covering) and the reverse fit (gradient descent, mode seeking);
    `box.readout` (an HTML table) gives both fits' μ, σ and KL values. The sliders update on
    release (`continuous_update=False`): each update runs the reverse fit, about 0.1 s.
    """
    if not 0 <= separation <= 10:
        raise ValueError(f"separation must be in [0, 10] (the slider's range), got {separation!r}")
    if not 0 <= weight <= 1:
        raise ValueError(f"weight must be in [0, 1], got {weight!r}")
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std!r}")

    readout = widgets.HTML()
    style = {"description_width": "90px"}
    sliders = {
        "separation": widgets.FloatSlider(value=separation, min=0.0, max=10.0, step=0.1, description="separation d",
                                          continuous_update=False, style=style),
        "weight": widgets.FloatSlider(value=weight, min=0.0, max=1.0, step=0.05, description="weight w",
                                      continuous_update=False, style=style),
    }

    def render(separation: float, weight: float) -> Figure:
        p = divergences.two_component_mixture(separation, std=std, weight=weight)
        forward = divergences.fit_gaussian_forward_kl(p)
        reverse = divergences.fit_gaussian_reverse_kl(p)
        readout.value = _fit_readout_html(p, forward, reverse)
        return plot.kl_fit_figure(p, forward=forward, reverse=reverse)

    box = image_slider_widget(render, sliders)
    box.children = (*box.children, readout)
    box.readout = readout
    return box
