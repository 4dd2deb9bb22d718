"""Pictures of the course's benchmark (lecture 09): likelihood against sample quality, sampling speed by family,
the generative learning trilemma as measured, a slider that dilutes models with noise, and a table to sort and filter.

Every function takes the rows of `coursekit.evaluation.suite.summarise(results)` (one dict per row of the table,
in course order, each number as its mean and sd over seeds) and, where references are drawn, the `references`
of `results.json` (uniform and floor bits/dim; the Fréchet distance and coverage of real digits, the floor model
and uniform noise at the same n):

    rows = suite.summarise(results)
    viz.show(likelihood_quality_figure(rows, results["references"]), alt="...")
    viz.show(sampling_speed_figure(rows), alt="...")
    viz.show(trilemma_measured_figure(rows, results["references"]), alt="...")
    results_table_widget(rows)                     # last line of a cell: sort by a column, filter by family

Everything here only draws; the numbers come from the benchmark (`python -m benchmarks`). Each family has its own
colour from the course's colour-blind-safe cycle *and* its own marker shape, every point and bar is labelled by
name, and an exact likelihood is a filled marker while an upper bound is an open one ("≤" in the legend), so
nothing relies on colour alone.
"""
from __future__ import annotations

import html
import math
from typing import Any, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

from .figures import CATEGORICAL, clear_panel, image_grid

OKABE_ITO = ("#000000", "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999")
"""Okabe & Ito's colour-blind-safe palette (black, blue, orange, bluish green, reddish purple, sky blue, vermillion;
then grey), as `coursekit.viz.trilemma` uses: the families' colours, so that no two families share a hue."""
from .slider import image_slider_widget

__all__ = ["statistic", "family_styles", "OKABE_ITO", "likelihood_quality_figure", "sampling_speed_figure",
           "trilemma_measured_figure", "noise_dilution_slider", "results_table_widget", "TABLE_COLUMNS"]

_MARKERS = "osD^vP*Xh<>p"
_TICK_SIZE = 7

TABLE_COLUMNS = {
    "course order": None,
    "bits/dim": "bits_per_dim",
    "Fréchet distance": "frechet",
    "coverage": "coverage",
    "s per 100 samples": "sample_seconds_100",
    "training s": "train_seconds",
    "parameters": "parameters",
    "peak MiB": "peak_memory_mib",
}
"""The interactive table's columns: heading → the number's name in a summary row (None: the course's order)."""

_HIGHER_IS_BETTER = {"coverage"}


def statistic(row: Mapping[str, Any], name: str) -> tuple[float | None, float]:
    """(mean, sd) of the number `name` in a summary row of `suite.summarise`, which holds `<name>_mean` and
    `<name>_sd` (sd 0 with one seed). (None, 0.0) where the row has no such number (no likelihood, no samples)."""
    if not isinstance(row, Mapping):
        raise ValueError(f"a summary row must be a dict (coursekit.evaluation.suite.summarise), got {type(row).__name__}")
    if f"{name}_mean" not in row:
        raise ValueError(f"row {row.get('key')!r} has no {name}_mean: rows come from "
                         f"coursekit.evaluation.suite.summarise(results); it has {sorted(row)}")
    mean, sd = row[f"{name}_mean"], row.get(f"{name}_sd")
    return (None, 0.0) if mean is None else (float(mean), float(sd or 0.0))


def _check_rows(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    rows = list(rows)
    if not rows:
        raise ValueError("rows must hold at least one summary row (coursekit.evaluation.suite.summarise(results))")
    for row in rows:
        missing = [k for k in ("key", "name", "family") if k not in row]
        if missing:
            raise ValueError(f"every summary row needs 'key', 'name' and 'family'; row {dict(row).get('key')!r} "
                             f"lacks {missing}")
    return rows


def family_styles(rows: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """family → (colour, marker), in the order the families first appear in `rows` (the course's order)."""
    families = list(dict.fromkeys(row["family"] for row in _check_rows(rows)))
    return {f: (OKABE_ITO[i % len(OKABE_ITO)], _MARKERS[i % len(_MARKERS)]) for i, f in enumerate(families)}


def _is_bound(row: Mapping[str, Any]) -> bool:
    return row.get("likelihood") == "bound"


def _small(ax) -> None:
    ax.tick_params(labelsize=_TICK_SIZE)
    ax.title.set_fontsize(8)
    ax.xaxis.label.set_fontsize(8)
    ax.yaxis.label.set_fontsize(8)


def _reference(references: Mapping[str, Any] | None, *path: str) -> float | None:
    value: Any = references or {}
    for part in path:
        if not isinstance(value, Mapping) or value.get(part) is None:
            return None
        value = value[part]
    return float(value)


def _style_legend(styles: Mapping[str, tuple[str, str]], bounds: bool) -> list[Line2D]:
    handles = [Line2D([], [], ls="none", marker=m, color=c, markersize=6, label=f) for f, (c, m) in styles.items()]
    handles.append(Line2D([], [], ls="none", marker="o", color="0.3", markersize=6, label="exact bits/dim (filled)"))
    if bounds:
        handles.append(Line2D([], [], ls="none", marker="o", markerfacecolor="white", color="0.3", markersize=6,
                              label="≤ upper bound (open)"))
    return handles


def _place_labels(ax, points: Sequence[tuple[float, float]], labels: Sequence[str], fontsize: float = 6.5) -> None:
    """Write each label beside its point, trying a few positions around it and taking the first that overlaps no
    label already written (greedy, in the order given): readable names for clustered points, without a library."""
    fig = ax.figure
    fig.draw_without_rendering()                                          # the layout, so data → points is final
    to_points = 72.0 / fig.dpi
    height = fontsize * 1.15
    marks = [tuple(v * to_points for v in ax.transData.transform(p)) for p in points]
    placed: list[tuple[float, float, float, float]] = [(px - 5, py - 5, px + 5, py + 5) for px, py in marks]  # markers
    for (x, y), (px, py), text in zip(points, marks, labels):
        width = 0.55 * fontsize * len(text)
        candidates = [(5, 2), (5, -height - 1), (-5 - width, 2), (-5 - width, -height - 1), (5, height + 3),
                      (5, -2 * height - 3), (-5 - width, height + 3), (-5 - width, -2 * height - 3),
                      (5, 2 * height + 4), (5, -3 * height - 4), (-5 - width, 2 * height + 4),
                      (-5 - width, -3 * height - 4), (12, 3 * height + 6), (12, -4 * height - 6),
                      (-12 - width, 3 * height + 6), (-12 - width, -4 * height - 6)]
        def free(dx: float, dy: float) -> bool:
            box = (px + dx, py + dy, px + dx + width, py + dy + height)
            return all(box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in placed)
        dx, dy = next((c for c in candidates if free(*c)), candidates[0])
        placed.append((px + dx, py + dy, px + dx + width, py + dy + height))
        moved = (dx, dy) != candidates[0]                                  # a leader line to a label moved away
        ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize, color="0.15",
                    va="bottom", ha="left",
                    arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.5, "shrinkA": 0, "shrinkB": 3}
                    if moved else None)


def likelihood_quality_figure(rows: Sequence[Mapping[str, Any]], references: Mapping[str, Any] | None = None, *,
                              label_points: bool = True) -> Figure:
    """Test bits/dim (x) against the Fréchet distance of the samples (y), one point per row with samples, its error
    bars the sd over seeds. Exact likelihoods are filled markers, upper bounds open ones (the true value lies left
    of an open marker). Rows without a likelihood (a GAN) stand in a narrow panel on the right, on the same y axis.
    `references` adds the real digits' and the floor model's Fréchet distance (horizontal lines) and the floor's
    and uniform bits/dim (vertical lines). Lower is better on both axes."""
    rows = _check_rows(rows)
    styles = family_styles(rows)
    placed = [r for r in rows if statistic(r, "frechet")[0] is not None]
    if not placed:
        raise ValueError("no row has a Fréchet distance to draw: every row's 'frechet' is missing")
    with_bpd = [r for r in placed if statistic(r, "bits_per_dim")[0] is not None]
    without = [r for r in placed if statistic(r, "bits_per_dim")[0] is None]
    fig = Figure(figsize=(7.2, 4.9), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[5, 1 if without else 0.01])
    ax = fig.add_subplot(grid[0, 0])
    side = fig.add_subplot(grid[0, 1], sharey=ax)
    for row in with_bpd:
        colour, marker = styles[row["family"]]
        (x, dx), (y, dy) = statistic(row, "bits_per_dim"), statistic(row, "frechet")
        face = "white" if _is_bound(row) else colour
        ax.errorbar([x], [y], xerr=[dx] if dx else None, yerr=[dy] if dy else None, ls="none", marker=marker,
                    markersize=7, color=colour, markerfacecolor=face, markeredgewidth=1.4, elinewidth=0.8, capsize=2)
    for k, row in enumerate(without):
        colour, marker = styles[row["family"]]
        y, dy = statistic(row, "frechet")
        side.errorbar([k], [y], yerr=[dy] if dy else None, ls="none", marker=marker, markersize=7, color=colour,
                      elinewidth=0.8, capsize=2)
    lines = []
    for name, style, label in (("real", ":", "real digits"), ("floor", "--", "floor model (independent pixels)")):
        value = _reference(references, "frechet", name)
        if value is not None:
            for a in (ax, side):
                a.axhline(value, color="0.45", ls=style, lw=0.9)
            lines.append(Line2D([], [], color="0.45", ls=style, lw=0.9, label=f"Fréchet distance of the {label}"))
    value = _reference(references, "floor_bits_per_dim")
    if value is not None and with_bpd:
        ax.axvline(value, color="0.65", ls="-.", lw=0.9)
        lines.append(Line2D([], [], color="0.65", ls="-.", lw=0.9, label="bits/dim of the floor model"))
    n = _reference(references, "frechet", "n")
    ax.set_yscale("log")                                                  # spreads the cluster of trained models
    ax.yaxis.set_major_locator(FixedLocator([5, 10, 20, 50, 100, 200]))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel="test bits/dim (lower is better; open marker: an upper bound, the truth lies to its left)",
           ylabel="Fréchet distance" + (f", n = {n:g}" if n else "") + " (log axis, lower is better)",
           title="likelihood against sample quality")
    ax.grid(alpha=0.3)
    low, high = ax.get_xlim()
    ax.set_xlim(low, high + 0.08 * (high - low))                          # room for the labels on the right
    side.set_xlim(-0.6, max(len(without), 1) - 0.4)
    side.set_xticks(range(len(without)), [str(r["key"]) for r in without], rotation=60, fontsize=6.5)
    side.set_title("no likelihood", fontsize=8)
    side.tick_params(labelleft=False)
    side.grid(alpha=0.3, axis="y")
    if not without:
        side.set_visible(False)
    _small(ax)
    _small(side)
    fig.legend(handles=_style_legend(styles, any(_is_bound(r) for r in with_bpd)) + lines, fontsize=6,
               loc="outside lower center", ncols=4)
    if label_points:
        ordered = sorted(with_bpd, key=lambda r: statistic(r, "frechet")[0])
        _place_labels(ax, [(statistic(r, "bits_per_dim")[0], statistic(r, "frechet")[0]) for r in ordered],
                      [("≤ " if _is_bound(r) else "") + str(r["key"]) for r in ordered])
    return fig


def _barh_panel(ax, rows, name: str, styles, *, log: bool = False, fmt: str = "{:.3g}") -> None:
    """One horizontal bar per row (top to bottom in order) of `name`'s mean with its sd; on a log axis a dot in
    the family's marker instead (a bar's length means nothing there). Rows without the number show "—"."""
    y = np.arange(len(rows))[::-1]
    for yi, row in zip(y, rows):
        mean, sd = statistic(row, name)
        colour, marker = styles[row["family"]]
        if mean is None:
            ax.text(0.02, yi, "—", transform=ax.get_yaxis_transform(), va="center", fontsize=7, color="0.4")
            continue
        if log:
            ax.hlines(yi, 0, 1, transform=ax.get_yaxis_transform(), color="0.88", lw=0.6, zorder=0)
            ax.errorbar([mean], [yi], xerr=[sd] if sd else None, ls="none", marker=marker, markersize=6,
                        color=colour, markeredgecolor="0.2", markeredgewidth=0.5, elinewidth=0.8, capsize=2)
        else:
            ax.barh([yi], [mean], xerr=[sd] if sd else None, color=colour, edgecolor="0.25", linewidth=0.5,
                    error_kw={"elinewidth": 0.8, "capsize": 2}, height=0.7)
        ax.annotate(fmt.format(mean), (mean + (sd or 0), yi), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=6)
    if log:
        ax.set_xscale("log")
        low, high = ax.get_xlim()
        ax.set_xlim(low, high * 4)                                         # room for the last label
    ax.set_yticks(y, [str(r["name"]) for r in rows], fontsize=7)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.grid(alpha=0.3, axis="x", which="major")


def _family_handles(styles, rows) -> list[Line2D]:
    return [Line2D([], [], ls="none", marker=m, color=c, markersize=6, label=f)
            for f, (c, m) in styles.items() if any(r["family"] == f for r in rows)]


def sampling_speed_figure(rows: Sequence[Mapping[str, Any]]) -> Figure:
    """Seconds to draw 100 samples, one bar per row with samples, on a log axis, grouped by family in the rows'
    order, each bar labelled with its time (the sd over seeds as an error bar)."""
    rows = _check_rows(rows)
    styles = family_styles(rows)
    timed = [r for r in rows if statistic(r, "sample_seconds_100")[0] is not None]
    if not timed:
        raise ValueError("no row has a sampling time to draw: every row's 'sample_seconds_100' is missing")
    order = list(styles)
    timed.sort(key=lambda r: order.index(r["family"]))                    # stable: course order within a family
    fig = Figure(figsize=(6.4, 0.28 * len(timed) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    _barh_panel(ax, timed, "sample_seconds_100", styles, log=True, fmt="{:.3g} s")
    ax.set(xlabel="seconds to draw 100 samples (log scale; lower is faster)", title="sampling speed by family")
    fig.legend(handles=_family_handles(styles, timed), fontsize=6.5, loc="outside lower center",
               ncols=min(len(styles), 4))
    _small(ax)
    return fig


def trilemma_measured_figure(rows: Sequence[Mapping[str, Any]], references: Mapping[str, Any] | None = None, *,
                             highlight: Sequence[str] = ()) -> Figure:
    """The trilemma's three wishes as measured, three aligned panels with one bar per row that has samples:
    sample quality (Fréchet distance, lower is better), mode coverage (k-NN coverage, higher is better) and sampling
    speed (seconds per 100 samples, log scale, lower is better). `references` draws the real digits and the floor
    model as lines; rows whose key is in `highlight` (e.g. the Pareto set) are marked ★ before their name."""
    rows = _check_rows(rows)
    styles = family_styles(rows)
    shown = [r for r in rows if statistic(r, "frechet")[0] is not None]
    if not shown:
        raise ValueError("no row has samples to draw: every row's 'frechet' is missing")
    unknown = set(highlight) - {r["key"] for r in shown}
    if unknown:
        raise ValueError(f"highlight names rows {sorted(unknown)} that have no samples here; rows: "
                         f"{[r['key'] for r in shown]}")
    fig = Figure(figsize=(9.2, 0.27 * len(shown) + 2.1), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    panels = (("frechet", "quality: Fréchet distance\n(lower is better)", False, "{:.1f}"),
              ("coverage", "coverage\n(higher is better)", False, "{:.2f}"),
              ("sample_seconds_100", "speed: s per 100 samples\n(log scale; lower is better)", True, "{:.2g}"))
    for ax, (name, title, log, fmt) in zip(axes, panels):
        _barh_panel(ax, shown, name, styles, log=log, fmt=fmt)
        ax.set_title(title)
        for ref, style, label in (("real", ":", "real digits"), ("floor", "--", "floor model")):
            value = _reference(references, name, ref) if name in ("frechet", "coverage") else None
            if value is not None:
                ax.axvline(value, color="0.35", ls=style, lw=1.0, label=label)
        if name == "coverage":
            ax.set_xlim(0, 1.08)
        _small(ax)
    axes[0].set_yticks(axes[0].get_yticks(), [("★ " if r["key"] in highlight else "") + str(r["name"])
                                              for r in shown], fontsize=7)
    lines = [Line2D([], [], color="0.35", ls=":", label="real digits"),
             Line2D([], [], color="0.35", ls="--", label="floor model")] if references else []
    fig.legend(handles=_family_handles(styles, shown) + lines, fontsize=6.5, loc="outside lower center",
               ncols=min(len(styles) + len(lines), 5))
    star = " (★: no other row is as good on all three and better on one)" if highlight else ""
    fig.suptitle("the trilemma measured: quality, coverage, speed" + star, fontsize=9)
    return fig


def noise_dilution_slider(samples: Mapping[str, Mapping[float, Any]],
                          measured: Mapping[str, Mapping[float, tuple[float, float]]], *,
                          context: Sequence[Mapping[str, Any]] = (), references: Mapping[str, Any] | None = None,
                          levels: int | None = None, nrow: int = 12, scale: float = 0.42) -> widgets.VBox:
    """A slider over the share s of noise mixed into each model, p_s(x) = (1 − s)·p(x) + s·p_noise(x): left, a row
    of samples of each model at s (`samples[label][s]`, (N, C, H, W)); right, the likelihood–quality plane with each
    model's path over every s (`measured[label][s]` = (test bits/dim, Fréchet distance)), the current s circled,
    and the benchmark's rows with an exact likelihood and samples as grey context points (`context`: summary rows).
    The box has `.sliders` {"s"} and `.shown()` (the share and the points now circled)."""
    if not samples:
        raise ValueError("samples must map at least one model's label to {noise share: images}")
    if set(samples) != set(measured):
        raise ValueError(f"samples and measured must name the same models, got {sorted(samples)} and "
                         f"{sorted(measured)}")
    shares = sorted({float(s) for per in samples.values() for s in per})
    for label in samples:
        for what, per in (("samples", samples[label]), ("measured", measured[label])):
            missing = set(shares) - {float(s) for s in per}
            if missing:
                raise ValueError(f"{what}[{label!r}] has nothing at noise share {sorted(missing)}: give every model "
                                 f"every share")
        for s, images in samples[label].items():
            if not isinstance(images, torch.Tensor) or images.dim() != 4:
                got = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
                raise ValueError(f"samples[{label!r}][{s!r}] must be images (N, C, H, W), got {got}")
    paths = {label: {float(s): tuple(map(float, v)) for s, v in per.items()} for label, per in measured.items()}
    pictures = {label: {float(s): v for s, v in per.items()} for label, per in samples.items()}
    context = [r for r in context if statistic(r, "bits_per_dim")[0] is not None
               and statistic(r, "frechet")[0] is not None and not _is_bound(r)]
    labels = list(samples)
    fig = Figure(figsize=(scale * nrow + 3.8, max(scale * len(labels) * 1.25 + 0.8, 3.0)), layout="constrained")
    grid = fig.add_gridspec(len(labels), 2, width_ratios=[scale * nrow, 3.8])
    ax_rows = [fig.add_subplot(grid[i, 0]) for i in range(len(labels))]
    ax_plane = fig.add_subplot(grid[:, 1])
    slider = widgets.SelectionSlider(options=shares, value=shares[0], description="noise share s",
                                     continuous_update=False, style={"description_width": "90px"})
    shown: dict[str, Any] = {}

    def render(s: float) -> Figure:
        for ax, label in zip(ax_rows, labels):
            clear_panel(ax)
            images = pictures[label][s][:nrow]
            kw = {"vmin": 0, "vmax": levels - 1} if levels is not None else {}
            image_grid(images, nrow=nrow, ax=ax, **kw)
            bpd, fd = paths[label][s]
            ax.set_title(f"{label}, s = {s:g}: {bpd:.3f} bits/dim, Fréchet distance {fd:.1f}", fontsize=7, loc="left")
        ax_plane.cla()
        if context:
            ax_plane.scatter([statistic(r, "bits_per_dim")[0] for r in context],
                             [statistic(r, "frechet")[0] for r in context], s=14, color="0.7", zorder=1,
                             label="the benchmark's exact rows")
        circled = {}
        for k, label in enumerate(labels):
            xs, ys = zip(*(paths[label][v] for v in shares))
            ax_plane.plot(xs, ys, marker=_MARKERS[k % len(_MARKERS)], color=CATEGORICAL[k % len(CATEGORICAL)],
                          ls=("-", "--", "-.", ":")[k % 4], label=label, markersize=4, zorder=2)
            circled[label] = paths[label][s]
            ax_plane.scatter(*circled[label], s=110, facecolors="none", edgecolors="black", linewidths=1.2, zorder=3)
        real = _reference(references, "frechet", "real")
        if real is not None:
            ax_plane.axhline(real, color="0.45", ls=":", lw=0.9, label="real digits")
        ax_plane.set(xlabel="test bits/dim (exact; lower is better)", ylabel="Fréchet distance (lower is better)",
                     title=f"noise share s = {s:g}, circled")
        ax_plane.grid(alpha=0.3)
        ax_plane.legend(fontsize=6, loc="upper left")
        _small(ax_plane)
        shown.update(s=s, points=circled)
        return fig

    box = image_slider_widget(render, {"s": slider}, cache=len(shares))
    box.shown = lambda: dict(shown)
    return box


def _format(mean: float | None, sd: float, name: str, n_seeds: int) -> str:
    if mean is None:
        return "—"
    digits = {"bits_per_dim": 3, "frechet": 1, "coverage": 2, "peak_memory_mib": 0}.get(name)
    if name == "parameters":
        text = f"{mean:,.0f}"
    elif digits is not None:
        text = f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if n_seeds > 1 else "")
    else:
        text = f"{mean:.3g}" + (f" ± {sd:.2g}" if n_seeds > 1 else "")
    return text


def results_table_widget(rows: Sequence[Mapping[str, Any]], *, sort: str = "course order") -> widgets.VBox:
    """The summary as an HTML table a student can sort and filter: a Dropdown picks the column to sort by (best
    first: lowest, or highest for coverage; rows without the number last), a checkbox per family shows or hides its
    rows. Numbers are mean ± sd over seeds; bits/dim that are upper bounds carry "≤" and the bound's name.
    The box has `.sort` (the Dropdown), `.families` (checkboxes by family), `.html` (the table) and `.shown()`
    (the keys of the rows now listed, in order)."""
    rows = _check_rows(rows)
    if sort not in TABLE_COLUMNS:
        raise ValueError(f"sort must be one of {list(TABLE_COLUMNS)}, got {sort!r}")
    families = list(dict.fromkeys(r["family"] for r in rows))
    dropdown = widgets.Dropdown(options=list(TABLE_COLUMNS), value=sort, description="sort by",
                                style={"description_width": "60px"})
    boxes = {f: widgets.Checkbox(value=True, description=f, indent=False, layout=widgets.Layout(width="auto"))
             for f in families}
    table = widgets.HTML()
    shown: list[str] = []

    def order() -> list[Mapping[str, Any]]:
        chosen = [r for r in rows if boxes[r["family"]].value]
        name = TABLE_COLUMNS[dropdown.value]
        if name is None:
            return chosen
        sign = -1 if name in _HIGHER_IS_BETTER else 1
        present = [r for r in chosen if statistic(r, name)[0] is not None]
        absent = [r for r in chosen if statistic(r, name)[0] is None]
        return sorted(present, key=lambda r: sign * statistic(r, name)[0]) + absent

    def update(change: dict | None = None) -> None:
        listed = order()
        cell = "padding:2px 8px;border-bottom:1px solid #ddd;"
        head = "".join(f'<th style="{cell}text-align:left">{html.escape(h)}</th>'
                       for h in ("model", "family", "lecture", *list(TABLE_COLUMNS)[1:], "seeds"))
        body = []
        for r in listed:
            n_seeds = int(r.get("n_seeds") or 1)
            cells = [html.escape(str(r["name"])), html.escape(str(r["family"])), html.escape(str(r.get("lecture", "")))]
            for name in list(TABLE_COLUMNS.values())[1:]:
                text = _format(*statistic(r, name), name, n_seeds)
                if name == "bits_per_dim" and _is_bound(r) and text != "—":
                    text = f"≤ {text} ({r.get('bound') or 'bound'})"
                cells.append(html.escape(text))
            cells.append(str(n_seeds))
            body.append("<tr>" + "".join(f'<td style="{cell}text-align:{"left" if i < 3 else "right"}">{c}</td>'
                                         for i, c in enumerate(cells)) + "</tr>")
        table.value = (f'<table style="border-collapse:collapse;font-size:12px"><thead><tr>{head}</tr></thead>'
                       f"<tbody>{''.join(body)}</tbody></table>"
                       if listed else "<p>No family is ticked: tick one to list its rows.</p>")
        shown[:] = [r["key"] for r in listed]

    update()
    dropdown.observe(update, names="value")
    for box in boxes.values():
        box.observe(update, names="value")
    controls = widgets.HBox([dropdown, widgets.Label("show:"), *boxes.values()],
                            layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
    out = widgets.VBox([controls, table])
    out.sort, out.families, out.html = dropdown, boxes, table
    out.shown = lambda: list(shown)
    return out
