"""Lecture 00's picture of forward vs reverse KL: one Gaussian fitted to a two-mode mixture, two ways.

    forward fit:  argmin_q KL(p‖q)   moment matching, q covers both modes ("mode covering")
    reverse fit:  argmin_q KL(q‖p)   gradient descent, q settles on one mode ("mode seeking")

The fits and the KL values come from `coursekit.divergences` (`fit_gaussian_forward_kl`,
`fit_gaussian_reverse_kl`, `forward_kl`, `reverse_kl`); this file only draws them.
`kl_fit_figure` is the still picture (a `matplotlib.figure.Figure`, no pyplot);
`kl_fit_demo` puts it under two sliders, separation d and weight w (the slider frame of
`coursekit.viz.slider`), with `box.readout`, an HTML table of both fits' μ, σ and KL.

    viz.show(viz.kl_fit_figure(divergences.two_component_mixture(8.0)))
    box = viz.kl_fit_demo(separation=3.0); box.sliders["separation"].value = 8.0
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import divergences
from ..divergences import GaussianMixture1D
from .figures import CATEGORICAL, _new_axes, _to_numpy, clear_panel
from .slider import image_slider_widget

__all__ = ["kl_fit_figure", "kl_fit_demo"]

FORWARD_LABEL = "forward KL(p‖q): mode covering"
REVERSE_LABEL = "reverse KL(q‖p): mode seeking"
REVERSE_BETWEEN_LABEL = "reverse KL(q‖p): still between the modes"


def reverse_label(p: GaussianMixture1D, reverse: tuple[float, float]) -> str:
    """The reverse fit's legend says what this panel shows: "mode seeking" once the fit sits on
    one component (its mean within half that component's std of the component's mean), else that
    it is still between the modes (close modes: both fits agree)."""
    mu = reverse[0]
    on_one = bool(((p.means - mu).abs() < 0.5 * p.stds).any()) and len(p.means) > 1
    return REVERSE_LABEL if on_one else REVERSE_BETWEEN_LABEL


def _plot_range(p: GaussianMixture1D, fits: Sequence[tuple[float, float]]) -> tuple[float, float]:
    lows = [(p.means - 4 * p.stds).min().item(), *(mu - 3 * sigma for mu, sigma in fits)]
    highs = [(p.means + 4 * p.stds).max().item(), *(mu + 3 * sigma for mu, sigma in fits)]
    return min(lows), max(highs)


def kl_fit_figure(
    p: GaussianMixture1D,
    forward: tuple[float, float] | None = None,
    reverse: tuple[float, float] | None = None,
    grid: torch.Tensor | None = None,
    ax: Axes | None = None,
) -> Figure:
    """The mixture p and the two Gaussian fits q = N(μ, σ²), each labelled with its KL.

    `forward` and `reverse` are (μ, σ); left out, they are fitted here with
    `divergences.fit_gaussian_forward_kl` / `fit_gaussian_reverse_kl`. The legend shows
    KL(p‖q) for the forward fit and KL(q‖p) for the reverse fit, computed on `grid`
    (default: `divergences.default_grid(p)`).
    """
    grid = divergences.default_grid(p) if grid is None else grid
    forward = divergences.fit_gaussian_forward_kl(p) if forward is None else tuple(forward)
    reverse = divergences.fit_gaussian_reverse_kl(p, grid=grid) if reverse is None else tuple(reverse)
    kl_forward = divergences.forward_kl(p, *forward, grid=grid)
    kl_reverse = divergences.reverse_kl(p, *reverse, grid=grid)

    low, high = _plot_range(p, [forward, reverse])
    x = torch.linspace(low, high, 400, dtype=p.dtype, device=p.device)
    ax = _new_axes(ax, figsize=(5.0, 2.6))
    density = p.log_prob(x).exp()
    ax.fill_between(_to_numpy(x), _to_numpy(density), color="0.85", label="p (the mixture)")
    peak = density.max().item()
    # the KL on a line of its own keeps the legend inside a narrow panel (lecture 00 puts four side by side)
    curves = [(forward, f"{FORWARD_LABEL},\nKL = {kl_forward:.3f}", CATEGORICAL[0], "-"),
              (reverse, f"{reverse_label(p, reverse)},\nKL = {kl_reverse:.3f}", CATEGORICAL[1], "--")]
    for (mu, sigma), label, color, style in curves:
        q = divergences.gaussian_log_prob(x, mu, sigma).exp()
        ax.plot(_to_numpy(x), _to_numpy(q), color=color, linestyle=style, label=label)
        peak = max(peak, q.max().item())
    ax.set_xlim(low, high)
    ax.set_ylim(0, 1.9 * peak)  # head-room for the legend
    ax.set_xlabel("x", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    return ax.figure


def _fit_readout_html(p: GaussianMixture1D, forward: tuple[float, float], reverse: tuple[float, float]) -> str:
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
    release (`continuous_update=False`). Each update runs the reverse fit (kept per setting, so
    going back is cheaper) and redraws the one panel of a figure that is kept. Its time in the
    kernel, from the slider's new value to the new PNG, is what `benchmarks/widget_times.py`
    prints: a mean of 0.15-0.18 s and a maximum of 0.23-0.28 s in two runs on a shared 2-core
    machine (load 4-6; 0.35-0.56 s mean, 0.55-1.1 s maximum there when every update made a new
    figure and drew it twice through `savefig`). The browser's round trip comes on top.
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
    fig = Figure(figsize=(5.0, 2.6), layout="constrained")
    ax = fig.add_subplot()

    fits: dict = {}   # (d, w) -> both fits: going back to a setting skips the reverse fit's descent

    def render(separation: float, weight: float) -> Figure:
        p = divergences.two_component_mixture(separation, std=std, weight=weight)
        if (separation, weight) not in fits:
            fits[separation, weight] = divergences.fit_gaussian_forward_kl(p), divergences.fit_gaussian_reverse_kl(p)
        forward, reverse = fits[separation, weight]
        readout.value = _fit_readout_html(p, forward, reverse)
        clear_panel(ax)
        return kl_fit_figure(p, forward=forward, reverse=reverse, ax=ax)

    box = image_slider_widget(render, sliders)
    box.children = (*box.children, readout)
    box.readout = readout
    return box
