"""Pictures of normalizing flows (lecture 06): the change of variables in 1-D and 2-D, what a determinant costs,
flows fitted to 2-D densities (heat maps, samples and the density along a path between two modes), the bits/dim
table as bars, and the "slide through the layers" widget of a 2-D flow.

    viz.show(change_of_variables_1d_figure(x, z, log_det, log_p_z), alt="...")
    viz.show(density_maps_figure({"p_Z(z)": pz, "log |det|": ld}, extent=(-3, 3, -3, 3)), alt="...")
    flow_layers_widget(model.layer_samples(2000), names)          # last line of a cell

Everything here only draws: the densities, log-determinants, timings and bits/dim come from the lecture's cells
(`coursekit.models.flows`, `coursekit.models.realnvp`). Heat maps use viridis with a colour bar each; lines use the
course's colour-blind-safe cycle with markers or line styles, so nothing relies on colour alone.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from .figures import _to_numpy, _vector
from .slider import image_slider_widget

__all__ = ["change_of_variables_1d_figure", "density_maps_figure", "determinant_cost_figure",
           "density_profile_figure", "bits_per_dim_figure", "flow_layers_widget"]


def change_of_variables_1d_figure(x, z, log_det, log_p_z) -> Figure:
    """The 1-D change of variables, four panels over a grid x (n,): the base density p_Z(z) at z = f(x); the map
    z = f(x); its log-derivative log |f'(x)|; and the density it gives, p_X(x) = p_Z(f(x)) · |f'(x)|, next to
    p_Z(f(x)) alone (dashed), which is not a density (the log-det term is what fixes it).

    `z` = f(x), `log_det` = log |f'(x)| and `log_p_z` = log p_Z(f(x)), each (n,), come from the flow."""
    x = _vector(x, "x")
    n = x.shape[0]
    z, log_det, log_p_z = (_vector(v, name, n) for v, name in ((z, "z"), (log_det, "log_det"), (log_p_z, "log_p_z")))
    order = np.argsort(z)
    fig = Figure(figsize=(10.0, 2.5), layout="constrained")
    ax_pz, ax_f, ax_ld, ax_px = fig.subplots(1, 4)
    ax_pz.plot(z[order], np.exp(log_p_z[order]))
    ax_pz.set(xlabel="z", ylabel="p_Z(z)", title="base density")
    ax_f.plot(x, z)
    ax_f.set(xlabel="x", ylabel="z = f(x)", title="the flow f: x → z")
    ax_ld.plot(x, log_det)
    ax_ld.axhline(0.0, color="#777777", lw=0.8, ls=":")
    ax_ld.set(xlabel="x", ylabel="log |f′(x)|", title="log-det: > 0 stretches")
    ax_px.plot(x, np.exp(log_p_z + log_det), label="p_X(x) = p_Z(f(x))·|f′(x)|")
    ax_px.plot(x, np.exp(log_p_z), "--", label="p_Z(f(x)) alone")
    ax_px.set(xlabel="x", ylabel="density", title="data density")
    ax_px.legend(fontsize=6)
    for ax in (ax_pz, ax_f, ax_ld, ax_px):
        ax.title.set_fontsize(8)
        ax.grid(alpha=0.3)
    return fig


def density_maps_figure(maps: Mapping[str, object], extent: Sequence[float], labels: Mapping[str, str] | None = None,
                        points: Mapping[str, object] | None = None, floor: float | None = None,
                        scale: float = 2.6) -> Figure:
    """Heat maps of 2-D functions, one panel per entry of `maps` (an (R, R) array each, row i at the i-th y of the
    grid, over `extent` = (x0, x1, y0, y1)), each with its own colour bar labelled by `labels[name]` (else the
    name); then one scatter panel per entry of `points` ((N, 2) each) over the same extent. `floor` clips every
    map from below (for log-densities: a value far below the peak would otherwise take the whole colour scale)."""
    maps = {name: _to_numpy(m).astype(float) for name, m in maps.items()}
    points = {name: _to_numpy(p).astype(float) for name, p in (points or {}).items()}
    if not maps and not points:
        raise ValueError("give at least one map (R, R) or one set of points (N, 2)")
    for name, m in maps.items():
        if m.ndim != 2:
            raise ValueError(f"map {name!r} must be a 2-D grid (R, R), got shape {m.shape}")
    for name, p in points.items():
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"points {name!r} must have shape (N, 2), got {p.shape}")
    if len(extent) != 4:
        raise ValueError(f"extent must be (x0, x1, y0, y1), got {tuple(extent)}")
    x0, x1, y0, y1 = (float(e) for e in extent)
    panels = len(maps) + len(points)
    fig = Figure(figsize=(panels * (scale + 0.5), scale), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    for ax, (name, m) in zip(axes, maps.items()):
        shown = np.maximum(m, floor) if floor is not None else m
        image = ax.imshow(shown, origin="lower", extent=(x0, x1, y0, y1), cmap="viridis", aspect="auto",
                          interpolation="nearest")
        bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
        bar.set_label((labels or {}).get(name, name), fontsize=7)
        bar.ax.tick_params(labelsize=6)
        ax.set_title(name, fontsize=8)
    for ax, (name, p) in zip(axes[len(maps):], points.items()):
        ax.scatter(p[:, 0], p[:, 1], s=2, alpha=0.5, edgecolors="none")
        ax.set_title(f"{name} ({p.shape[0]} points)", fontsize=8)
    for ax in axes:
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=6)
    return fig


def determinant_cost_figure(sizes: Sequence[int], seconds: Mapping[str, Sequence[float]],
                            powers: Mapping[str, int] | None = None) -> Figure:
    """Seconds per call against the size n, one line per method (log–log), and for each `powers[name] = p` a dotted
    line ∝ n^p through that method's last point (e.g. n³ for a general determinant, n for a triangular one)."""
    sizes = [int(n) for n in sizes]
    if not seconds or any(len(v) != len(sizes) for v in seconds.values()):
        raise ValueError(f"seconds must map each method to one time per entry of sizes ({len(sizes)}), got "
                         f"{ {k: len(v) for k, v in seconds.items()} }")
    unknown = set(powers or {}) - set(seconds)
    if unknown:
        raise ValueError(f"powers names methods that are not in seconds: {sorted(unknown)}")
    fig = Figure(figsize=(4.4, 3.0), layout="constrained")
    ax = fig.add_subplot()
    markers = "osD^v"
    n = np.array(sizes, dtype=float)
    for k, (name, values) in enumerate(seconds.items()):
        ax.plot(sizes, values, marker=markers[k % len(markers)], label=name)
    for name, p in (powers or {}).items():
        last = float(seconds[name][-1])
        ax.plot(sizes, last * (n / n[-1]) ** p, ":", color="#777777")
        ax.annotate(f"∝ n{'³' if p == 3 else '' if p == 1 else f'^{p}'}", (n[0], last * (n[0] / n[-1]) ** p),
                    fontsize=7, color="#555555", xytext=(2, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes, labels=[str(s) for s in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("dimension n")
    ax.set_ylabel("seconds per call")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return fig


def density_profile_figure(t, log_densities: Mapping[str, object], xlabel: str = "position along the path",
                           marks: Mapping[str, float] | None = None) -> Figure:
    """log-densities along a path (t (n,), one curve of (n,) per entry, natural log): where a true density falls to
    almost nothing between two modes, a flow's stays far above it — its filament. `marks` draws labelled vertical
    lines (e.g. the two modes)."""
    t = _vector(t, "t")
    if not log_densities:
        raise ValueError("log_densities must map at least one name to (n,) log-densities")
    curves = {name: _vector(v, f"log_densities[{name!r}]", t.shape[0]) for name, v in log_densities.items()}
    fig = Figure(figsize=(4.6, 2.8), layout="constrained")
    ax = fig.add_subplot()
    styles = ["-", "--", "-.", ":"]
    for k, (name, v) in enumerate(curves.items()):
        ax.plot(t, v, styles[k % len(styles)], label=name)
    for name, position in (marks or {}).items():
        ax.axvline(position, color="#777777", lw=0.8, ls=":")
        ax.annotate(name, (position, 1.0), xycoords=("data", "axes fraction"), fontsize=7, ha="center", va="bottom")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("log p(x) (nats)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig


def bits_per_dim_figure(rows: Mapping[str, float], bounds: Sequence[str] = (),
                        references: Mapping[str, float] | None = None) -> Figure:
    """Test bits/dim as horizontal bars, one per model (lower is better), the value printed at each bar's end.
    Models named in `bounds` report an upper bound (hatched bars) rather than an exact likelihood (plain bars);
    `references` draws labelled vertical lines (the per-pixel floor, the uniform model)."""
    if not rows:
        raise ValueError("rows must map at least one model name to its bits/dim")
    unknown = set(bounds) - set(rows)
    if unknown:
        raise ValueError(f"bounds names models that are not in rows: {sorted(unknown)}")
    names, values = list(rows), [float(v) for v in rows.values()]
    fig = Figure(figsize=(5.6, 0.32 * len(names) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(names))[::-1]
    for yi, name, v in zip(y, names, values):
        bound = name in bounds
        ax.barh(yi, v, color="#56B4E9" if bound else "#E69F00", hatch="///" if bound else None, edgecolor="black",
                linewidth=0.5, label="upper bound (dequantised)" if bound else "exact")
        ax.text(v, yi, f" {v:.3f}", va="center", fontsize=7)
    for k, (name, v) in enumerate((references or {}).items()):
        ax.axvline(v, color="#555555", lw=0.9, ls=[":", "--", "-."][k % 3], label=f"{name} {v:.3f}")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=6, loc="lower right")
    ax.set_yticks(y, labels=names, fontsize=7)
    top = max(values + list((references or {}).values()))
    ax.set_xlim(0.0, top + 0.25)   # bars from 0: their lengths compare the numbers honestly
    ax.set_xlabel("test bits/dim (lower is better)")
    ax.grid(alpha=0.3, axis="x")
    return fig


def flow_layers_widget(states: Sequence[torch.Tensor], names: Sequence[str], lim: float | None = None,
                       step: int = 0) -> widgets.Box:
    """A slider through the layers of a 2-D flow's sampling direction: `states` are the points after each layer,
    [z, …, x] ((n, 2) each, `Flow2D.layer_samples`), `names` what was applied to reach each one. Every point keeps
    the colour of its base coordinate z₁ (viridis, with a colour bar), so one can follow where each part of the
    Gaussian goes. Axes are fixed over all layers (±`lim`, else the 99.5th percentile of |coordinate|). The box
    has `.sliders` {"layer"}, `.states` (the arrays) and `.scatter` (the drawn points)."""
    arrays = [_to_numpy(s).astype(float) for s in states]
    if not arrays or any(a.ndim != 2 or a.shape[1] != 2 or a.shape[0] != arrays[0].shape[0] for a in arrays):
        raise ValueError(f"states must be a non-empty list of (n, 2) point sets of one n, got "
                         f"{[a.shape for a in arrays]}")
    if len(names) != len(arrays):
        raise ValueError(f"names must label every state: {len(arrays)} states, got {len(names)} names")
    if not 0 <= step < len(arrays):
        raise ValueError(f"step must be a layer index in 0..{len(arrays) - 1}, got {step!r}")
    if lim is None:
        lim = float(np.percentile(np.abs(np.concatenate(arrays)), 99.5)) * 1.05
    colour = arrays[0][:, 0]
    fig = Figure(figsize=(3.6, 3.2), layout="constrained")
    ax = fig.add_subplot()
    dots = ax.scatter(arrays[step][:, 0], arrays[step][:, 1], c=colour, cmap="viridis", s=3, edgecolors="none")
    bar = fig.colorbar(dots, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label("z₁ of the base point", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=6)
    ax.grid(alpha=0.3)
    last = len(arrays) - 1

    def render(layer: int) -> Figure:
        dots.set_offsets(arrays[layer])
        ax.set_title(f"{layer} of {last} layers applied: {names[layer]}", fontsize=8)
        return fig

    slider = widgets.IntSlider(value=step, min=0, max=last, description="layer", continuous_update=False)
    box = image_slider_widget(render, {"layer": slider}, cache=len(arrays))
    box.states, box.scatter = arrays, dots
    return box
