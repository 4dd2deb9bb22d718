"""Pictures of generative adversarial networks (lecture 07): the discriminator against D* on a 1-D mixture, the
generator's gradients against D(G(z)), samples on the ring of eight Gaussians with their coverage, the two players'
losses, labelled rows of images (interpolation, vector arithmetic, inversion), a Fréchet distance beside its scale,
CycleGAN's translations as arrows, and the latent-walk slider.

    viz.show(discriminator_1d_figure(x, {"p_d": pd, "p_m": pm}, {"D*": d_star, "trained D": d}), alt="...")
    viz.show(ring_samples_figure({"non-saturating": s1, "WGAN-GP": s2}, modes, std, coverage), alt="...")
    latent_walk_slider(gan, z, {"random direction": u})          # last line of a cell

Everything here only draws: losses, discriminators, coverage and distances come from the lecture's cells
(`coursekit.models.gan`, `coursekit.evaluation`). Lines use the course's colour-blind-safe cycle with different line
styles or markers, so nothing relies on colour alone.
"""
from __future__ import annotations

import math
import textwrap
from typing import Any, Callable, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle
from matplotlib.ticker import MaxNLocator

from .figures import CATEGORICAL, _to_numpy, _vector, clear_panel, image_grid
from .slider import image_slider_widget

__all__ = ["discriminator_1d_figure", "generator_gradients_figure", "ring_samples_figure", "adversarial_curves_figure",
           "image_rows_figure", "frechet_scale_figure", "cycle_arrows_figure", "latent_walk_slider"]

_STYLES = ("-", "--", "-.", ":")
# The fitted discriminators are drawn over D* (thick black, solid) in styles that are never solid: dashed, dash-dot,
# dotted, dash-dot-dot, long dashes; and in the course's colours without its red and dark orange, which a red-green
# colour-blind reader confuses with each other.
_FITTED_STYLES = ("--", "-.", ":", (0, (6, 1.5, 1, 1.5, 1, 1.5)), (0, (9, 3)))
_FITTED_COLOURS = tuple(CATEGORICAL[i] for i in (0, 1, 4, 5, 3, 8))
_MAX_COLUMNS = 5
_TICK_SIZE = 7          # points: about 12 pixels at the course's 120 dpi, readable at the figure's own size


def _points(values, name: str) -> np.ndarray:
    array = _to_numpy(values).astype(float)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must be 2-D points of shape (N, 2), got {array.shape}")
    return array


def discriminator_1d_figure(x, densities: Mapping[str, object], discriminators: Mapping[str, object],
                            samples: Mapping[str, object] | None = None) -> Figure:
    """Two panels over a 1-D grid x (n,): the densities (p_d and the generator's p_m, one (n,) curve each, with
    optional histograms of `samples` behind them), and the discriminators D(x) ∈ [0, 1], (n,) each, with the line ½
    where p_d = p_m. The first discriminator is the reference D* = p_d / (p_d + p_m), drawn thick, solid and black
    behind the others (the trained ones), which are dashed, dash-dotted, dotted, ... and coloured, so each curve is
    told apart without colour even where it lies on D*; their legend sits outside the panel."""
    x = _vector(x, "x")
    n = x.shape[0]
    if not densities or not discriminators:
        raise ValueError("densities and discriminators must each map at least one name to an (n,) curve")
    curves = {name: _vector(v, f"densities[{name!r}]", n) for name, v in densities.items()}
    ds = {name: _vector(v, f"discriminators[{name!r}]", n) for name, v in discriminators.items()}
    fig = Figure(figsize=(9.6, 2.9), layout="constrained")
    ax_p, ax_d = fig.subplots(1, 2, sharex=True)
    for k, (name, values) in enumerate((samples or {}).items()):
        ax_p.hist(_vector(values, f"samples[{name!r}]"), bins=60, range=(x[0], x[-1]), density=True, alpha=0.25,
                  color=CATEGORICAL[k % len(CATEGORICAL)], label=f"{name} (histogram)")
    for k, (name, values) in enumerate(curves.items()):
        ax_p.plot(x, values, _STYLES[k % len(_STYLES)], color=CATEGORICAL[k % len(CATEGORICAL)], label=name)
    ax_p.set(xlabel="x", ylabel="density", title="the data p_d and the generator's p_m")
    (reference, d_ref), *fitted = ds.items()
    ax_d.plot(x, d_ref, "-", color="black", lw=2.8, zorder=2, label=reference)
    for k, (name, values) in enumerate(fitted):
        ax_d.plot(x, values, ls=_FITTED_STYLES[k % len(_FITTED_STYLES)], lw=1.6, zorder=3,
                  color=_FITTED_COLOURS[k % len(_FITTED_COLOURS)], label=name)
    ax_d.axhline(0.5, color="#777777", lw=0.8, ls=(0, (1, 3)), zorder=1, label="½ (p_d = p_m)")
    ax_d.set(xlabel="x", ylabel="D(x) = P(real | x)", title="discriminators", ylim=(-0.03, 1.03))
    ax_p.legend(fontsize=7, handlelength=2.6)
    ax_d.legend(fontsize=7, handlelength=3.2, loc="center left", bbox_to_anchor=(1.02, 0.5))
    for ax in (ax_p, ax_d):
        ax.title.set_fontsize(9)
        ax.tick_params(labelsize=_TICK_SIZE)
        ax.grid(alpha=0.3)
    return fig


def generator_gradients_figure(d_fake, losses: Mapping[str, object], gradients: Mapping[str, object]) -> Figure:
    """The generator's losses (left) and the size of their gradient with respect to the discriminator's logit
    (right, log scale) against D(G(z)) (n,) in (0, 1), one curve per loss ((n,) each, the same names in both):
    the saturating log(1 − D) has almost no gradient where D(G(z)) ≈ 0 — where a young generator's samples are."""
    d = _vector(d_fake, "d_fake")
    n = d.shape[0]
    if not losses or set(losses) != set(gradients):
        raise ValueError(f"losses and gradients must name the same curves, got {list(losses)} and {list(gradients)}")
    fig = Figure(figsize=(8.4, 2.9), layout="constrained")
    ax_l, ax_g = fig.subplots(1, 2, sharex=True)
    for k, name in enumerate(losses):
        style = dict(ls=_STYLES[k % len(_STYLES)], color=CATEGORICAL[k % len(CATEGORICAL)], label=name)
        ax_l.plot(d, _vector(losses[name], f"losses[{name!r}]", n), **style)
        ax_g.plot(d, np.abs(_vector(gradients[name], f"gradients[{name!r}]", n)), **style)
    ax_l.set(xlabel="D(G(z))", ylabel="generator loss", title="the generator's loss")
    ax_g.set(xlabel="D(G(z))", ylabel="|∂ loss / ∂ logit|", title="its gradient (log scale)", yscale="log")
    for ax in (ax_l, ax_g):
        ax.axvspan(0.0, 0.1, color="#999999", alpha=0.15, lw=0)
        ax.title.set_fontsize(9)
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3, which="both")
    ax_g.annotate("early training:\nD spots the fakes", (0.02, 0.04), xycoords="axes fraction", fontsize=6)
    return fig


def _grid_shape(n: int) -> tuple[int, int]:
    """(rows, columns) for n panels in rows of at most `_MAX_COLUMNS`, as even as they come (7: 4 + 3)."""
    rows = math.ceil(n / _MAX_COLUMNS)
    return rows, math.ceil(n / rows)


def _panel_axes(fig: Figure, n: int, share: bool = False) -> list[Axes]:
    """n panels in rows of at most `_MAX_COLUMNS` (5: one row; 7: 4 + 3), a shorter last row centred, and no empty
    axes. With `share` the panels share both axes and only the first panel of each row labels its y ticks."""
    rows, cols = _grid_shape(n)
    grid = fig.add_gridspec(rows, 2 * cols)                    # each panel spans two columns: a row can be centred
    axes: list[Axes] = []
    for i in range(n):
        row, col = divmod(i, cols)
        in_row = min(cols, n - row * cols)
        start = (cols - in_row) + 2 * col                      # a row of in_row < cols panels is offset by half
        first = axes[0] if share and axes else None
        ax = fig.add_subplot(grid[row, start:start + 2], sharex=first, sharey=first)
        if share and col > 0:
            ax.tick_params(labelleft=False)
        ax.tick_params(labelsize=_TICK_SIZE)
        axes.append(ax)
    return axes


def _wrapped(title: str, width_inches: float, fontsize: float) -> str:
    """`title` broken into lines that fit a panel `width_inches` wide (a character is about 0.55 em)."""
    chars = max(12, int(width_inches * 72 / (0.55 * fontsize)))
    return "\n".join(textwrap.fill(line, chars) for line in title.split("\n"))


def ring_samples_figure(samples: Mapping[str, object], modes, std: float, coverage: Mapping[str, Mapping] | None = None,
                        data=None, radius_in_stds: float = 3.0, lim: float | None = None,
                        scale: float = 2.0) -> Figure:
    """One scatter panel per entry of `samples` ((N, 2) each) on the ring: the modes (K, 2) as crosses, the circle
    of `radius_in_stds`·σ around each, optional `data` points in grey behind, and in each title the coverage of
    `evaluation.mode_coverage` when `coverage[name]` is given ("modes hit k/K, f% within 3σ"), and the share of the
    samples that fall outside the drawn square (±`lim`, by default the ring's radius plus 2·`radius_in_stds`·σ).
    The panels, `scale` inches wide, share their axes and stand in rows of at most five (five runs: one row)."""
    if not samples:
        raise ValueError("samples must map at least one name to (N, 2) points")
    panels = {name: _points(p, f"samples[{name!r}]") for name, p in samples.items()}
    modes = _points(modes, "modes")
    if not float(std) > 0:
        raise ValueError(f"std must be > 0, got {std!r}")
    unknown = set(coverage or {}) - set(panels)
    if unknown:
        raise ValueError(f"coverage names panels that are not in samples: {sorted(unknown)}")
    if lim is None:
        lim = float(np.abs(modes).max() + 2 * radius_in_stds * std)
    rows, cols = _grid_shape(len(panels))
    fig = Figure(figsize=(scale * cols, (scale + 0.55) * rows), layout="constrained")
    axes = _panel_axes(fig, len(panels), share=True)
    background = _points(data, "data") if data is not None else None
    for ax, (name, points) in zip(axes, panels.items()):
        if background is not None:
            ax.scatter(background[:, 0], background[:, 1], s=2, color="#bbbbbb", edgecolors="none")
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5, color=CATEGORICAL[0], edgecolors="none")
        for mode in modes:
            ax.add_patch(Circle(tuple(mode), radius_in_stds * std, fill=False, ls="--", lw=0.7, color="#555555"))
        ax.scatter(modes[:, 0], modes[:, 1], marker="x", s=18, color=CATEGORICAL[2], linewidths=1.0)
        title = str(name)
        outside = float((np.abs(points) > lim).any(axis=1).mean())
        if outside > 0:
            title += f" ({outside:.0%} outside the view)" if outside >= 0.005 else " (<1% outside the view)"
        title = _wrapped(title, scale, 8)
        if coverage and name in coverage:
            c = coverage[name]
            title += (f"\n{int(c['modes_hit'])}/{len(modes)} modes, {float(c['fraction_near_a_mode']):.0%} "
                      f"within {radius_in_stds:g}σ")
        ax.set_title(title, fontsize=8)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
    return fig


def _logged(history: Any, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of a per-step series: a History's `.logged(key)`, or a dict's list with NaNs left out."""
    if hasattr(history, "logged"):
        steps, values = history.logged(key)
        return np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    if isinstance(history, Mapping) and key in history:
        values = np.asarray(history[key], dtype=float)
        keep = ~np.isnan(values)
        return np.arange(len(values), dtype=float)[keep], values[keep]
    raise ValueError(f"no per-step series {key!r}: give a coursekit History or a dict of lists with that key")


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def adversarial_curves_figure(histories: Mapping[str, Any], keys: Sequence[str] = ("d_loss", "g_loss"),
                              smooth: int = 25, scale: float = 2.0) -> Figure:
    """The two players' losses during training, one panel per run (a `History`, or a dict of per-step lists
    with NaN where a step did not report): each of `keys` against the optimisation step, as a moving average over
    `smooth` logged values (the raw values faint behind). Neither loss falling says the samples got better: each
    player's loss is measured against an opponent that keeps changing. The panels, `scale` inches wide, stand in
    rows of at most five (five runs: one row), with one legend below them."""
    if not histories:
        raise ValueError("histories must map at least one run's name to its History")
    rows, cols = _grid_shape(len(histories))
    fig = Figure(figsize=(scale * cols, (0.8 * scale + 0.6) * rows + 0.3), layout="constrained")
    axes = _panel_axes(fig, len(histories))
    for ax, (name, history) in zip(axes, histories.items()):
        for k, key in enumerate(keys):
            steps, values = _logged(history, key)
            colour = CATEGORICAL[k % len(CATEGORICAL)]
            ax.plot(steps, values, color=colour, alpha=0.2, lw=0.5)
            smoothed = _moving_average(values, smooth)
            offset = len(values) - len(smoothed)
            ax.plot(steps[offset // 2: offset // 2 + len(smoothed)], smoothed, _STYLES[k % len(_STYLES)],
                    color=colour, label=key)
        ax.set_title(_wrapped(str(name), scale, 8), fontsize=8)
        ax.set_xlabel("step", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8, handlelength=2.6)
    return fig


def image_rows_figure(rows: Mapping[str, object], titles: Mapping[str, Sequence[str]] | None = None,
                      levels: int | None = None, vmin: float | None = None, vmax: float | None = None,
                      scale: float = 0.62) -> Figure:
    """Labelled rows of images, one row per entry of `rows` ((N, C, H, W) each, the same N or fewer), the label
    left above its row and optional per-image `titles[label]` (a t, an error): an interpolation, a piece of
    vector arithmetic, real digits above their inversions G(z*)."""
    if not rows:
        raise ValueError("rows must map at least one label to images (N, C, H, W)")
    unknown = set(titles or {}) - set(rows)
    if unknown:
        raise ValueError(f"titles names rows that are not in rows: {sorted(unknown)}")
    counts = {label: len(images) for label, images in rows.items()}
    n = max(counts.values())
    per_row_title = 0.25 if titles else 0.0
    fig = Figure(figsize=(scale * n, (scale + 0.22 + per_row_title) * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    if levels is not None:
        vmin, vmax = 0 if vmin is None else vmin, levels - 1 if vmax is None else vmax
    for ax, (label, images) in zip(axes, rows.items()):
        image_grid(images, nrow=n, titles=(titles or {}).get(label), vmin=vmin, vmax=vmax, ax=ax)
        ax.set_title(str(label), fontsize=8, loc="left", y=1.0)
    return fig


def frechet_scale_figure(scores: Mapping[str, float], references: Mapping[str, float]) -> Figure:
    """Fréchet distances as horizontal bars from 0 (lower is better), the models in `scores` and the scale in
    `references` (real vs real, the independent-pixel floor, noise) in grey, each value printed at its bar's end:
    a model's distance is read between "real" and "floor"."""
    if not scores:
        raise ValueError("scores must map at least one model name to its Fréchet distance")
    names = list(scores) + list(references)
    values = [float(v) for v in scores.values()] + [float(v) for v in references.values()]
    fig = Figure(figsize=(5.6, 0.34 * len(names) + 1.0), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(names))[::-1]
    for i, (yi, name, v) in enumerate(zip(y, names, values)):
        reference = name in references and name not in scores
        ax.barh(yi, v, color="#bbbbbb" if reference else CATEGORICAL[0], hatch="///" if reference else None,
                edgecolor="black", linewidth=0.5, label="reference" if reference else "model")
        ax.text(v, yi, f" {v:.1f}", va="center", fontsize=7)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=6, loc="upper right")   # the models' bars come first: short
    ax.set_yticks(y, labels=names, fontsize=7)
    ax.set_xlim(0.0, max(values) * 1.15)
    ax.set_xlabel("Fréchet distance to the test digits (lower is better)")
    ax.grid(alpha=0.3, axis="x")
    return fig


def cycle_arrows_figure(runs: Mapping[str, Mapping[str, object]], domain_x=None, domain_y=None,
                        arrows: int = 40, lim: float | None = None, scale: float = 3.0) -> Figure:
    """CycleGAN on a 2-D domain pair, one panel per run (e.g. with and without the cycle loss): `runs[name]` holds
    "x" (N, 2) points of domain X, "translated" F(x) (N, 2) and "reconstructed" G(F(x)) (N, 2); the panel draws the
    domains' points behind (grey and light), an arrow x → F(x) (solid) and F(x) → G(F(x)) (dashed) for the first
    `arrows` points, and the mean cycle error ‖G(F(x)) − x‖₁ (CycleGAN's L1 norm) over all N in its title. One
    legend below the panels names the points and the two arrows, so it covers no mode."""
    if not runs:
        raise ValueError("runs must map at least one name to {'x', 'translated', 'reconstructed'}")
    parsed = {}
    for name, run in runs.items():
        missing = {"x", "translated", "reconstructed"} - set(run)
        if missing:
            raise ValueError(f"runs[{name!r}] must hold 'x', 'translated' and 'reconstructed', missing {sorted(missing)}")
        x, fx, back = (_points(run[k], f"runs[{name!r}][{k!r}]") for k in ("x", "translated", "reconstructed"))
        if not x.shape == fx.shape == back.shape:
            raise ValueError(f"runs[{name!r}]: x, translated and reconstructed must have one shape, got "
                             f"{x.shape}, {fx.shape} and {back.shape}")
        parsed[name] = (x, fx, back)
    backgrounds = [(_points(d, label), label, colour) for d, label, colour in
                   ((domain_x, "domain_x", "#bbbbbb"), (domain_y, "domain_y", "#e2cfa0")) if d is not None]
    if lim is None:
        every = np.concatenate([a for run in parsed.values() for a in run] + [b[0] for b in backgrounds])
        lim = float(np.percentile(np.abs(every), 99.5)) * 1.1
    fig = Figure(figsize=(scale * len(parsed), scale + 0.3), layout="constrained")
    axes = fig.subplots(1, len(parsed), squeeze=False)[0]
    for ax, (name, (x, fx, back)) in zip(axes, parsed.items()):
        for points, label, colour in backgrounds:
            ax.scatter(points[:, 0], points[:, 1], s=2, color=colour, edgecolors="none",
                       label="domain X" if label == "domain_x" else "domain Y")
        m = min(arrows, len(x))
        for i in range(m):
            ax.annotate("", fx[i], x[i], arrowprops=dict(arrowstyle="->", color=CATEGORICAL[0], lw=0.6))
            ax.annotate("", back[i], fx[i], arrowprops=dict(arrowstyle="->", color=CATEGORICAL[1], lw=0.6, ls="--"))
        ax.scatter(x[:m, 0], x[:m, 1], s=6, marker="o", color=CATEGORICAL[0], label="x")
        ax.scatter(fx[:m, 0], fx[:m, 1], s=8, marker="^", color=CATEGORICAL[4], label="F(x)")
        ax.scatter(back[:m, 0], back[:m, 1], s=8, marker="s", color=CATEGORICAL[1], label="G(F(x))")
        error = float(np.abs(back - x).sum(axis=1).mean())                 # ‖G(F(x)) − x‖₁ per point, averaged
        ax.set_title(f"{name}\nmean ‖G(F(x)) − x‖₁ = {error:.3f}", fontsize=8)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=_TICK_SIZE)
    key = [Line2D([], [], ls="", marker="o", markersize=3, color=colour,
                  label="domain X" if label == "domain_x" else "domain Y") for _, label, colour in backgrounds]
    key += [Line2D([], [], ls="", marker="o", markersize=4, color=CATEGORICAL[0], label="x"),
            Line2D([], [], ls="", marker="^", markersize=5, color=CATEGORICAL[4], label="F(x)"),
            Line2D([], [], ls="", marker="s", markersize=4, color=CATEGORICAL[1], label="G(F(x))"),
            Line2D([], [], ls="-", lw=1.0, color=CATEGORICAL[0], label="x → F(x)"),
            Line2D([], [], ls="--", lw=1.0, color=CATEGORICAL[1], label="F(x) → G(F(x))")]
    fig.legend(handles=key, loc="outside lower center", ncol=math.ceil(len(key) / 2), fontsize=7, handlelength=2.4)
    return fig


def _generator_of(model: Any) -> Callable:
    if hasattr(model, "generate"):
        return model.generate
    if callable(model):
        return model
    raise ValueError(f"model must have .generate(z, labels) or be callable z -> images, got {type(model).__name__}")


def latent_walk_slider(model: Any, z, directions: Mapping[str, object], labels=None, limit: float = 3.0,
                       step: float = 0.25, levels: int | None = None, scale: float = 0.8) -> widgets.VBox:
    """A slider t ∈ [−limit, limit] that moves every code of `z` (N, L) along a chosen direction: the row of images
    shows G(z + t·u) for the unit vector u = d / |d| of `directions[name]` (L,), picked by a dropdown (a random
    direction, the line from one code to another, the difference of two classes' mean codes: vector arithmetic).

    `model` is a GAN (its `generate(z, labels)`, `labels` (N,) for a conditional one) or any callable z -> images
    (N, C, H, W). At t = 0 the row is G(z) itself. The box has `.sliders` {"t", "direction"}, `.images()` (the
    images now shown) and `.codes()` (the codes now drawn)."""
    generate = _generator_of(model)
    if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[0] < 1:
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"z must be a batch of latent codes of shape (N, L), got {got}")
    if not directions:
        raise ValueError("directions must map at least one name to a direction of shape (L,)")
    if not limit > 0:
        raise ValueError(f"limit must be > 0, got {limit!r}")
    z = z.detach()
    units = {}
    for name, d in directions.items():
        d = torch.as_tensor(d, dtype=z.dtype).detach().to(z.device)
        if d.shape != (z.shape[1],):
            raise ValueError(f"directions[{name!r}] must have the codes' shape ({z.shape[1]},), got {tuple(d.shape)}")
        norm = d.norm()
        if not norm > 0:
            raise ValueError(f"directions[{name!r}] is the zero vector: no direction to walk along")
        units[name] = d / norm
    if labels is not None:
        labels = torch.as_tensor(labels, device=z.device)
        if labels.shape != (z.shape[0],):
            raise ValueError(f"labels must have one label per code ({z.shape[0]},), got {tuple(labels.shape)}")
    vmax = None if levels is None else levels - 1
    n = z.shape[0]

    sliders = {
        "t": widgets.FloatSlider(value=0.0, min=-limit, max=limit, step=step, description="t",
                                 readout_format=".2f", continuous_update=False),
        "direction": widgets.Dropdown(options=list(units), value=next(iter(units)), description="direction"),
    }
    fig = Figure(figsize=(scale * n, scale * 1.45), layout="constrained")
    ax = fig.add_subplot()
    shown: dict[str, torch.Tensor] = {}

    def codes(t: float, direction: str) -> torch.Tensor:
        return z + t * units[direction]                                   # (N, L): every code moved by t·u

    def render(t: float, direction: str) -> Figure:
        z_t = codes(t, direction)
        with torch.no_grad():
            images = generate(z_t, labels) if labels is not None else generate(z_t)
        if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[0] != n:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"the generator must map z ({n}, L) to images ({n}, C, H, W), got {got}")
        shown.update(images=images.detach().cpu(), codes=z_t.detach().cpu())
        clear_panel(ax)
        image_grid(images, nrow=n, vmin=0 if vmax is not None else None, vmax=vmax, ax=ax)
        ax.set_title(f"G(z + t·u), u = {direction} (unit length), t = {t:+.2f}", fontsize=8, loc="left", y=1.0)
        return fig

    box = image_slider_widget(render, sliders)
    box.images = lambda: shown["images"]
    box.codes = lambda: shown["codes"]
    return box
