"""Pictures of denoising diffusion (lecture 08): the noise schedules, the forward-process slider (x_t for a few
digits and the marginal of a 2-D data set at step t), stepped reverse trajectories on a 2-D toy, the variational
bound term by term, samplers' quality and time by number of steps, two vector fields side by side (a learned
score against the exact one), and the guidance-weight slider.

    viz.show(schedule_figure({"linear": s1.alpha_bars, "cosine": s2.alpha_bars}, levels=17), alt="...")
    forward_process_slider(schedule.q_sample, x0_digits, x0_points, eps_digits, eps_points)   # last line of a cell
    viz.show(bound_terms_figure({"DDPM": bits_per_term}), alt="...")
    guidance_slider({0.0: s0, 1.0: s1, 3.0: s3}, {"class accuracy": acc}, ...)            # last line of a cell

Everything here only draws: x_t comes from the package's `q_sample` (passed in), trajectories, bound terms,
distances, times and fields from the lecture's cells (`coursekit.models.diffusion`, `coursekit.evaluation`).
Lines use the course's colour-blind-safe cycle with different line styles or markers, so nothing relies on colour
alone. Time steps follow Ho et al.: t = 1..T, and t = 0 is the data itself.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from .figures import CATEGORICAL, _to_numpy, _vector, clear_panel, image_grid
from .slider import image_slider_widget

__all__ = ["schedule_figure", "forward_process_slider", "trajectory_figure", "bound_terms_figure",
           "sampler_steps_figure", "vector_fields_figure", "guidance_slider"]

_STYLES = ("-", "--", "-.", ":")
_MARKERS = "osD^v"
_TICK_SIZE = 7


def _points(values: Any, name: str) -> np.ndarray:
    array = _to_numpy(values).astype(float)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must be 2-D points of shape (N, 2), got {array.shape}")
    return array


def _images(values: Any, name: str) -> torch.Tensor:
    if not isinstance(values, torch.Tensor) or values.dim() != 4:
        got = tuple(values.shape) if hasattr(values, "shape") else type(values).__name__
        raise ValueError(f"{name} must be a batch of images (N, C, H, W), got {got}")
    return values


def _small(ax) -> None:
    ax.tick_params(labelsize=_TICK_SIZE)
    ax.title.set_fontsize(8)
    ax.xaxis.label.set_fontsize(8)
    ax.yaxis.label.set_fontsize(8)


def schedule_figure(alpha_bars: Mapping[str, Any], levels: int | None = None) -> Figure:
    """The schedules side by side, one curve per entry of `alpha_bars` ((T,) each, position t − 1 holding ᾱ_t):
    left, the signal kept, √ᾱ_t, against t; right, the noise added, √(1 − ᾱ_t), the standard deviation of
    x_t given x_0, on a log axis, with one grey level of `levels`-level data on the [−1, 1] scale, 2/(levels − 1),
    drawn as a line: a schedule whose first steps sit far below it spends those steps (and their bound terms) on
    noise no pixel value can show."""
    if not alpha_bars:
        raise ValueError("alpha_bars must map at least one schedule's name to its ᾱ_1..ᾱ_T, shape (T,)")
    curves = {name: _vector(v, f"alpha_bars[{name!r}]") for name, v in alpha_bars.items()}
    for name, a in curves.items():
        if not ((a > 0) & (a <= 1)).all() or (np.diff(a) > 1e-12).any():
            raise ValueError(f"alpha_bars[{name!r}] must be a non-increasing product of α_t in (0, 1], "
                             f"got values from {a.min():.3g} to {a.max():.3g}")
    fig = Figure(figsize=(8.4, 2.8), layout="constrained")
    ax_s, ax_n = fig.subplots(1, 2)
    for k, (name, a) in enumerate(curves.items()):
        t = np.arange(1, len(a) + 1)
        style = dict(ls=_STYLES[k % len(_STYLES)], color=CATEGORICAL[k % len(CATEGORICAL)], label=f"{name} (T = {len(a)})")
        ax_s.plot(t, np.sqrt(a), **style)
        ax_n.plot(t, np.sqrt(1 - a), **style)
    if levels is not None:
        ax_n.axhline(2 / (levels - 1), color="#555555", lw=0.9, ls=(0, (1, 2)),
                     label=f"one grey level of {levels}: {2 / (levels - 1):.3f}")
    ax_s.set(xlabel="t", ylabel="√ᾱ_t (the signal kept)", title="x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε: the signal")
    ax_n.set(xlabel="t", ylabel="√(1 − ᾱ_t) (log scale)", title="the noise's standard deviation", yscale="log")
    for ax in (ax_s, ax_n):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6, handlelength=2.6)
        _small(ax)
    return fig


def _default_steps(T: int) -> list[int]:
    """0, then steps spread evenly in log t up to T (about 16 of them): the slider's stops."""
    steps = {0, 1, T} | {int(round(v)) for v in np.geomspace(1, T, 15)}
    return sorted(s for s in steps if 0 <= s <= T)


def forward_process_slider(q_sample: Callable, images, points, eps_images, eps_points, *, T: int | None = None,
                           alpha_bars=None, steps: Sequence[int] | None = None, image_range: tuple = (-1.0, 1.0),
                           lim: float = 3.5, scale: float = 0.75) -> widgets.VBox:
    """A slider over the time step t that shows the forward process at step t: a row of digits x_t (left) and the
    marginal q(x_t) of a 2-D data set (right, the points x_t with the circles of radius 1 and 2 of N(0, I), where
    q(x_T) should end up).

    `q_sample(x0, t, eps)` is the package's closed form (`NoiseSchedule.q_sample`), called with t an int64 tensor
    (N,) in 1..T; t = 0 shows the data. `images` (N, C, H, W) are on the network's [−1, 1] scale and drawn on
    `image_range`; `points` (M, 2); `eps_images` and `eps_points` are one fixed draw of ε of the same shapes, so
    the slider shows one noise path fading in rather than new noise at every stop. `T` defaults to
    len(`alpha_bars`); `alpha_bars` (T,), if given, puts ᾱ_t in the title. `steps` are the slider's stops (default:
    0 and about 15 steps spread evenly in log t). The box has `.sliders` {"t"} and `.shown()` {"images", "points"}
    (the x_t now drawn)."""
    images = _images(images, "images")
    points = torch.as_tensor(points)
    if points.dim() != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be 2-D points of shape (M, 2), got {tuple(points.shape)}")
    if tuple(eps_images.shape) != tuple(images.shape) or tuple(eps_points.shape) != tuple(points.shape):
        raise ValueError(f"eps_images and eps_points must have the shapes of images {tuple(images.shape)} and points "
                         f"{tuple(points.shape)}, got {tuple(eps_images.shape)} and {tuple(eps_points.shape)}")
    a_bar = None if alpha_bars is None else _vector(alpha_bars, "alpha_bars")
    if T is None:
        if a_bar is None:
            raise ValueError("give T (the number of steps) or alpha_bars (T,)")
        T = len(a_bar)
    if a_bar is not None and len(a_bar) != T:
        raise ValueError(f"alpha_bars must hold one ᾱ_t per step ({T},), got ({len(a_bar)},)")
    steps = _default_steps(T) if steps is None else sorted({int(s) for s in steps})
    if not steps or steps[0] < 0 or steps[-1] > T:
        raise ValueError(f"steps must be time steps in 0..{T}, got {steps}")
    n = images.shape[0]
    slider = widgets.SelectionSlider(options=steps, value=steps[0], description="t", continuous_update=False)
    fig = Figure(figsize=(max(scale * n, 4.0) + 2.9, 2.9), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[max(scale * n, 4.0), 2.9])
    ax_img, ax_pts = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    shown: dict[str, torch.Tensor] = {}

    def x_t(x0: torch.Tensor, eps: torch.Tensor, t: int) -> torch.Tensor:
        if t == 0:
            return x0
        steps_t = torch.full((x0.shape[0],), t, dtype=torch.int64, device=x0.device)
        with torch.no_grad():
            return q_sample(x0, steps_t, eps)

    def render(t: int) -> Figure:
        xi, xp = x_t(images, eps_images, t), x_t(points, eps_points, t)
        shown.update(images=xi.detach().cpu(), points=xp.detach().cpu())
        clear_panel(ax_img)
        image_grid(xi, nrow=n, vmin=image_range[0], vmax=image_range[1], ax=ax_img)
        about = "" if a_bar is None or t == 0 else (f": ᾱ_t = {a_bar[t - 1]:.3g}, √ᾱ_t = {math.sqrt(a_bar[t - 1]):.3f}, "
                                                    f"√(1 − ᾱ_t) = {math.sqrt(1 - a_bar[t - 1]):.3f}")
        ax_img.set_title(f"x_t for t = {t}{about}" if t else "x_0: the data", fontsize=8, loc="left")
        ax_pts.cla()
        p = xp.detach().cpu().double().numpy()
        ax_pts.scatter(p[:, 0], p[:, 1], s=2, alpha=0.5, color=CATEGORICAL[0], edgecolors="none")
        for r, ls in ((1.0, "--"), (2.0, ":")):
            ax_pts.add_patch(Circle((0.0, 0.0), r, fill=False, ls=ls, lw=0.8, color="#555555"))
        ax_pts.set_xlim(-lim, lim)
        ax_pts.set_ylim(-lim, lim)
        ax_pts.set_aspect("equal")
        ax_pts.set_title(f"q(x_t), t = {t}: std of the points {p.std(0).mean():.2f}\n"
                         "(circles: radius 1 and 2 of N(0, I))", fontsize=8)
        _small(ax_pts)
        return fig

    box = image_slider_widget(render, {"t": slider})
    box.shown = lambda: dict(shown)
    return box


def trajectory_figure(trajectory, times: Sequence[int], data=None, panels: int = 5, paths: int = 40,
                      stops: Sequence[int] | None = None, path_every: int = 1, lim: float = 3.5,
                      scale: float = 2.0) -> Figure:
    """Reverse (sampling) trajectories of 2-D points, from x_T to x_0: `trajectory` (S, N, 2) holds the points
    after each of S stops, `times` (S,) the step t of each (T first, 0 last). One panel per index of `stops` into
    the S stops (default: `panels` − 1 spread evenly over the chain) shows the points there, with optional `data`
    (M, 2) in grey behind the last stop; the final panel draws the whole path of the first `paths` points through
    every `path_every`-th stop (and the last), a line each from x_T (circle) to x_0 (cross): with many small noisy
    steps a path drawn through every stop is a tangle, through every 25th its drift shows."""
    traj = _to_numpy(trajectory).astype(float)
    if traj.ndim != 3 or traj.shape[2] != 2 or traj.shape[0] < 2:
        raise ValueError(f"trajectory must be (S, N, 2) points at S >= 2 stops, got {traj.shape}")
    times = [int(t) for t in times]
    if len(times) != traj.shape[0]:
        raise ValueError(f"times must give the step t of each of the {traj.shape[0]} stops, got {len(times)}")
    background = None if data is None else _points(data, "data")
    if stops is None:
        if panels < 2:
            raise ValueError(f"panels must be >= 2 (at least one stop and the paths), got {panels}")
        stops = sorted({int(round(i)) for i in np.linspace(0, traj.shape[0] - 1, panels - 1)})
    stops = [int(i) for i in stops]
    if not stops or min(stops) < 0 or max(stops) >= traj.shape[0]:
        raise ValueError(f"stops must be indices into the {traj.shape[0]} stops of the trajectory, got {stops}")
    fig = Figure(figsize=(scale * (len(stops) + 1), scale + 0.45), layout="constrained")
    axes = fig.subplots(1, len(stops) + 1, sharex=True, sharey=True)
    for ax, i in zip(axes, stops):
        if background is not None and i == traj.shape[0] - 1:
            ax.scatter(background[:, 0], background[:, 1], s=2, color="#bbbbbb", edgecolors="none")
        ax.scatter(traj[i, :, 0], traj[i, :, 1], s=2, alpha=0.5, color=CATEGORICAL[0], edgecolors="none")
        ax.set_title(f"x_{times[i]}" + (" (noise)" if i == 0 else " (samples)" if i == traj.shape[0] - 1 else ""),
                     fontsize=8)
    ax = axes[-1]
    if background is not None:
        ax.scatter(background[:, 0], background[:, 1], s=2, color="#dddddd", edgecolors="none")
    if not isinstance(path_every, int) or path_every < 1:
        raise ValueError(f"path_every must be a positive int (draw every path_every-th stop), got {path_every!r}")
    m = min(paths, traj.shape[1])
    along = sorted(set(range(0, traj.shape[0], path_every)) | {traj.shape[0] - 1})
    for j in range(m):
        ax.plot(traj[along, j, 0], traj[along, j, 1], lw=0.7, alpha=0.85, color=CATEGORICAL[j % 2 * 4])
    ax.scatter(traj[0, :m, 0], traj[0, :m, 1], s=10, marker="o", facecolors="none", edgecolors="black", lw=0.6,
               label=f"x_{times[0]}")
    ax.scatter(traj[-1, :m, 0], traj[-1, :m, 1], s=12, marker="x", color=CATEGORICAL[2], lw=0.9,
               label=f"x_{times[-1]}")
    ax.set_title(f"{m} paths x_{times[0]} → x_{times[-1]}", fontsize=8)
    ax.legend(fontsize=6, loc="lower right")
    for ax in axes:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=_TICK_SIZE)
    return fig


def bound_terms_figure(terms: Mapping[str, Any], unit: str = "bits/dim") -> Figure:
    """The variational bound term by term, one curve per entry of `terms` ((T + 1,) each, in `unit`, averaged over
    examples), in Ho et al.'s numbering: position 0 the decoder term L_0 = −log p_θ(x_0 | x_1), position t in
    1..T − 1 the KL term L_t = KL(q(x_t | x_{t+1}, x_0) ‖ p_θ(x_t | x_{t+1})), position T the prior term
    L_T = KL(q(x_T | x_0) ‖ N(0, I)).

    Left: each L_t against t on log axes, L_0 as a marker at the left edge. Right: the cumulative sum
    L_0 + … + L_t against t, ending at the whole bound (its value in the legend): where the curve climbs is which
    steps cost the bits."""
    if not terms:
        raise ValueError("terms must map at least one model's name to its T + 1 bound terms")
    curves = {name: _vector(v, f"terms[{name!r}]") for name, v in terms.items()}
    for name, v in curves.items():
        if len(v) < 2:
            raise ValueError(f"terms[{name!r}] must hold L_0..L_T (T + 1 >= 2 values), got {len(v)}")
    fig = Figure(figsize=(8.6, 2.9), layout="constrained")
    ax_t, ax_c = fig.subplots(1, 2)
    for k, (name, v) in enumerate(curves.items()):
        t = np.arange(1, len(v))
        colour, style = CATEGORICAL[k % len(CATEGORICAL)], _STYLES[k % len(_STYLES)]
        ax_t.plot(t, np.clip(v[1:], 1e-6, None), ls=style, color=colour, label=f"{name}: L_t, t = 1..{len(v) - 1}")
        ax_t.scatter([0.7], [max(v[0], 1e-6)], marker=_MARKERS[k % len(_MARKERS)], color=colour, zorder=3,
                     label=f"{name}: L_0 (decoder) = {v[0]:.3f}")
        ax_c.plot(np.arange(len(v)) + 0.7 * (np.arange(len(v)) == 0), np.cumsum(v), ls=style, color=colour,
                  label=f"{name}: whole bound {v.sum():.3f}")
    ax_t.set(xscale="log", yscale="log", xlabel="t (log scale; L_0 at the left edge)", ylabel=f"L_t ({unit})",
             title="each term of the bound")
    ax_c.set(xscale="log", xlabel="t (log scale)", ylabel=f"L_0 + … + L_t ({unit})",
             title="the bound summed up to t")
    for ax in (ax_t, ax_c):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6, handlelength=2.6)
        _small(ax)
    return fig


def sampler_steps_figure(steps: Sequence[int], quality: Mapping[str, Sequence[float]],
                         seconds: Mapping[str, Sequence[float]], references: Mapping[str, float] | None = None,
                         quality_label: str = "Fréchet distance (lower is better)") -> Figure:
    """Samplers by number of steps: left, sample quality (`quality[name]`, one value per entry of `steps`, NaN
    where a sampler was not run at that number) with the `references` (real vs real, the floor) as dotted
    horizontal lines; right, the seconds each took, both against steps on log axes. One marker shape per sampler."""
    steps = [int(s) for s in steps]
    if not quality or set(quality) != set(seconds):
        raise ValueError(f"quality and seconds must name the same samplers, got {list(quality)} and {list(seconds)}")
    fig = Figure(figsize=(8.4, 2.8), layout="constrained")
    ax_q, ax_s = fig.subplots(1, 2, sharex=True)
    for k, name in enumerate(quality):
        q = _vector(quality[name], f"quality[{name!r}]", len(steps))
        s = _vector(seconds[name], f"seconds[{name!r}]", len(steps))
        style = dict(marker=_MARKERS[k % len(_MARKERS)], ls=_STYLES[k % len(_STYLES)],
                     color=CATEGORICAL[k % len(CATEGORICAL)], label=name)
        keep = ~np.isnan(q)
        ax_q.plot(np.asarray(steps)[keep], q[keep], **style)
        ax_s.plot(np.asarray(steps)[~np.isnan(s)], s[~np.isnan(s)], **style)
    for k, (name, value) in enumerate((references or {}).items()):
        ax_q.axhline(float(value), color="#777777", lw=0.9, ls=(0, (1, 1 + 2 * k)), label=f"{name}: {value:.1f}")
    ax_q.set(xscale="log", xlabel="sampling steps", ylabel=quality_label, title="sample quality")
    ax_s.set(xscale="log", yscale="log", xlabel="sampling steps", ylabel="seconds", title="sampling time")
    for ax in (ax_q, ax_s):
        ax.set_xticks(steps, labels=[str(s) for s in steps])
        ax.minorticks_off()
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6, handlelength=2.6)
        _small(ax)
    return fig


def vector_fields_figure(points, fields: Mapping[str, Any], background=None, titles: Mapping[str, str] | None = None,
                         lim: float | None = None, clip_quantile: float = 0.9, scale: float = 2.8) -> Figure:
    """Vector fields over the same 2-D points, one panel each: `fields[name]` (M, 2) is an arrow at each of
    `points` (M, 2) (a learned score −ε_θ(x, t)/√(1 − ᾱ_t) beside the exact ∇ log q(x_t)); arrows are scaled
    together across panels so their lengths compare, and an arrow longer than the `clip_quantile` quantile of all
    the lengths is drawn at that length (its direction kept; a score grows without bound away from the data and
    would otherwise shrink every other arrow to a dot); `background` (K, 2) points in grey behind; `titles[name]`
    adds a line (an agreement measured by the lecture)."""
    xy = _points(points, "points")
    if not fields:
        raise ValueError("fields must map at least one name to (M, 2) vectors")
    vectors = {name: _points(v, f"fields[{name!r}]") for name, v in fields.items()}
    for name, v in vectors.items():
        if v.shape != xy.shape:
            raise ValueError(f"fields[{name!r}] must have one vector per point {xy.shape}, got {v.shape}")
    unknown = set(titles or {}) - set(vectors)
    if unknown:
        raise ValueError(f"titles names fields that are not in fields: {sorted(unknown)}")
    if not 0 < clip_quantile <= 1:
        raise ValueError(f"clip_quantile must be in (0, 1], got {clip_quantile!r}")
    lengths = np.concatenate([np.linalg.norm(v, axis=1) for v in vectors.values()])
    longest = float(np.quantile(lengths, clip_quantile)) or 1.0
    for name, v in vectors.items():
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        vectors[name] = v * np.minimum(1.0, longest / np.maximum(norm, 1e-300))     # at most `longest` long
    if lim is None:
        lim = float(np.abs(xy).max()) * 1.05
    spacing = 2 * lim / max(math.sqrt(len(xy)), 1.0)
    fig = Figure(figsize=(scale * len(vectors), scale + 0.35), layout="constrained")
    axes = fig.subplots(1, len(vectors), squeeze=False, sharex=True, sharey=True)[0]
    back = None if background is None else _points(background, "background")
    for k, (ax, (name, v)) in enumerate(zip(axes, vectors.items())):
        if back is not None:
            ax.scatter(back[:, 0], back[:, 1], s=2, color="#bbbbbb", edgecolors="none")
        ax.quiver(xy[:, 0], xy[:, 1], v[:, 0], v[:, 1], color=CATEGORICAL[[0, 4, 1][k % 3]], angles="xy",
                  scale_units="xy", scale=longest / (0.9 * spacing), width=0.006)
        ax.set_title(str(name) + (f"\n{titles[name]}" if titles and name in titles else ""), fontsize=8)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=_TICK_SIZE)
    return fig


def guidance_slider(samples: Mapping[float, Any], curves: Mapping[str, Mapping[float, float]], *,
                    nrow: int = 10, levels: int | None = None, vmin: float | None = None, vmax: float | None = None,
                    convention: str = "ε̃ = (1 + w) ε(x, y) − w ε(x, ∅)", scale: float = 0.45) -> widgets.VBox:
    """A slider over the guidance weight w: the samples drawn at w (`samples[w]`, (N, C, H, W), e.g. one row per
    requested class, `nrow` per row) beside the measurements the lecture made at every w (`curves[name][w]`, e.g.
    the share the classifier labels as requested, a diversity), a line each against w with the current w marked.
    Every w of `samples` must be measured in every curve. The picture names the guidance `convention`. The box
    has `.sliders` {"w"} and `.shown()` (the samples now drawn)."""
    if not samples:
        raise ValueError("samples must map at least one guidance weight w to its samples (N, C, H, W)")
    ws = sorted(float(w) for w in samples)
    batches = {float(w): _images(s, f"samples[{w!r}]") for w, s in samples.items()}
    if not curves:
        raise ValueError("curves must map at least one measurement's name to {w: value}")
    for name, c in curves.items():
        missing = set(ws) - {float(w) for w in c}
        if missing:
            raise ValueError(f"curves[{name!r}] has no value at w = {sorted(missing)}: measure every w of samples")
    lines = {name: [float({float(w): v for w, v in c.items()}[w]) for w in ws] for name, c in curves.items()}
    if levels is not None:
        vmin, vmax = 0 if vmin is None else vmin, levels - 1 if vmax is None else vmax
    first = batches[ws[0]]
    rows = math.ceil(first.shape[0] / nrow)
    slider = widgets.SelectionSlider(options=ws, value=ws[0], description="w", continuous_update=False)
    fig = Figure(figsize=(scale * nrow + 3.6, max(scale * rows * 1.1 + 0.6, 2.6)), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[scale * nrow, 3.6])
    ax_img = fig.add_subplot(grid[0, 0])
    ax_c = fig.add_subplot(grid[0, 1])
    shown: dict[str, Any] = {}

    def render(w: float) -> Figure:
        images = batches[w]
        shown["images"] = images.detach().cpu()
        clear_panel(ax_img)
        image_grid(images, nrow=nrow, vmin=vmin, vmax=vmax, ax=ax_img)
        ax_img.set_title(f"guidance weight w = {w:g}  ({convention})", fontsize=8, loc="left")
        ax_c.cla()
        for k, (name, values) in enumerate(lines.items()):
            ax_c.plot(ws, values, marker=_MARKERS[k % len(_MARKERS)], ls=_STYLES[k % len(_STYLES)],
                      color=CATEGORICAL[k % len(CATEGORICAL)], label=name)
            ax_c.scatter([w], [values[ws.index(w)]], s=80, facecolors="none", edgecolors="black", zorder=3)
        ax_c.axvline(w, color="#777777", lw=0.8, ls=":")
        ax_c.set(xlabel="guidance weight w", title="measured at each w")
        ax_c.grid(alpha=0.3)
        ax_c.legend(fontsize=6)
        _small(ax_c)
        return fig

    box = image_slider_widget(render, {"w": slider})                  # the slider above: the picture is wide
    box.shown = lambda: dict(shown)
    return box
