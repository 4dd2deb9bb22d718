"""The generic figures every lecture uses: image grids, 2-D densities and scatters, training curves.

Every function returns a `matplotlib.figure.Figure` made with `Figure()` itself, never with
`matplotlib.pyplot`, and nothing here calls `matplotlib.use`: pyplot's global state (its
current figure, its backend switch) is what breaks `%matplotlib inline` inside an
ipywidgets `Output`. Jupyter does not display a bare `Figure` by itself, so

    viz.show(viz.image_grid(samples, nrow=8))      # in a notebook cell
    png = viz.to_png(viz.density_2d(model.log_prob, (-3, 3), (-3, 3)))   # bytes, e.g. for a widget

Figures are PNG at `PNG_DPI` = 120 dots per inch (a 7-point label is about 12 pixels tall, an
8×8 digit of `image_grid` 84 pixels wide) stored with a palette of at most 256 colours, which
keeps them lighter than the 80-dpi full-colour PNGs they replace (the notebooks are committed
with their outputs). `show(fig, alt=...)` displays the figure as an `<img>` with alt text
(JupyterLab 4 shows an image output's `alt` only from HTML; an `image/png` output's metadata is
ignored there); without `alt` the text is made from the figure's titles (`describe`).

Colours a colour-blind reader can tell apart: `CATEGORICAL` (matplotlib's "petroff10", chosen
under simulated colour-vision deficiencies; no green beside a red), which importing `viz` makes
the default colour cycle, so `"C0"`, `"C1"`, ... in a lecture's own figure are these colours too;
heat maps use viridis (`colorbar=True` adds a colour bar in data units). Tensors are detached
and moved to the CPU here, so a model's outputs can be passed straight in. Most functions take
`ax=` to draw into a panel of a figure of your own (the per-idea files of `coursekit.viz` build
their panels that way).
"""
from __future__ import annotations

import base64
import html
import math
from io import BytesIO
from typing import Any, Callable, Mapping, Sequence

import matplotlib
import numpy as np
import torch
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator
from PIL import Image as PILImage

__all__ = ["PNG_DPI", "CATEGORICAL", "to_png", "png_size", "describe", "show", "clear_panel", "image_grid",
           "density_2d", "scatter_2d", "training_curves"]

PNG_DPI = 120
"""Dots per inch of every PNG the course shows (80 before: 7-point text was 8 pixels tall)."""

CATEGORICAL = ("#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6", "#a96b59", "#e76300", "#b9ac70",
               "#717581", "#92dadd")
"""Ten colours a colour-blind reader can tell apart: matplotlib's "petroff10" (Petroff 2021, "Accessible
color sequences for data visualization"): blue, orange, red, grey, purple, brown, ... and no green."""

# The course's colour cycle for every figure, the lectures' own included ("C2" is red, never a green
# beside it). Only the colour cycle is set: the backend and everything else stay as they were.
matplotlib.rcParams["axes.prop_cycle"] = cycler(color=list(CATEGORICAL))
matplotlib.rcParams["patch.facecolor"] = CATEGORICAL[0]


def _encode_png(rgb: np.ndarray, colors: int | None, compress_level: int) -> bytes:
    """An (H, W, 3) uint8 array as PNG: with a palette of at most `colors` colours (None: full colour)."""
    image = PILImage.fromarray(rgb)
    if colors is not None:
        image = image.quantize(colors=colors, method=PILImage.Quantize.MEDIANCUT, dither=PILImage.Dither.NONE)
    buffer = BytesIO()
    image.save(buffer, format="png", compress_level=compress_level)
    return buffer.getvalue()


def to_png(fig: Figure, dpi: int = PNG_DPI, colors: int | None = 256) -> bytes:
    """The figure as PNG bytes, cropped to what is drawn, with a palette of at most `colors` colours.

    256 colours keep the picture indistinguishable from full colour (grey digits have 17 or 256
    levels, a viridis map 256) at about half the bytes; `colors=None` stores full RGB.
    """
    if colors is not None and not (isinstance(colors, int) and 2 <= colors <= 256):
        raise ValueError(f"colors must be an int in 2..256 (a palette) or None (full colour), got {colors!r}")
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    buffer.seek(0)
    rgb = np.asarray(PILImage.open(buffer).convert("RGB"))  # (H, W, 3)
    return _encode_png(rgb, colors, compress_level=9)


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels of PNG bytes, read from the header."""
    if bytes(png[:8]) != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"expected PNG bytes (starting b'\\x89PNG'), got {bytes(png[:8])!r}")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def describe(fig: Figure) -> str:
    """A short text for a figure that has no alt text: its title and its panels' titles and axis labels."""
    parts = []
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        parts.append(suptitle.get_text())
    panels = []
    for ax in fig.axes:
        if getattr(ax, "_colorbar", None) is not None:
            continue
        title = next((t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t), "")
        labels = [label for label in (ax.get_xlabel(), ax.get_ylabel()) if label]
        text = title + (f" ({' vs '.join(labels[::-1])})" if labels else "")
        if text and text not in panels:
            panels.append(text)
    if len(panels) > 1:
        parts.append(f"{len(panels)} panels: " + "; ".join(panels))
    elif panels:
        parts.append(panels[0])
    return "Figure: " + ". ".join(parts) if parts else "Figure without a title: see the text around it."


def show(fig: Figure, dpi: int = PNG_DPI, alt: str | None = None, html_img: bool = True) -> None:
    """Display the figure in Jupyter (a bare `Figure` is not displayed by itself), with alt text.

    The output is an HTML `<img alt="...">` holding the PNG (`to_png`) and, as its plain-text
    form, the alt text itself: JupyterLab 4 reads an image's alt text only from HTML (its image
    renderer ignores an `image/png` output's metadata; its sanitiser keeps an `<img>`'s `alt`
    and a `data:` source, so an untrusted notebook shows it too), and the PNG is stored once.
    `html_img=False` displays a plain `image/png` instead, with the alt text in the output's
    metadata (which nbconvert's HTML uses, and JupyterLab does not). `alt` says what the
    figure shows; without it, `describe(fig)` builds one from the titles and axis labels.
    """
    from IPython.display import display  # IPython is only needed where figures are shown

    png = to_png(fig, dpi=dpi)
    width, _ = png_size(png)
    text = describe(fig) if alt is None else str(alt)
    source = base64.b64encode(png).decode("ascii")
    if not html_img:
        display({"image/png": source, "text/plain": text}, metadata={"image/png": {"alt": text}}, raw=True)
        return
    tag = f'<img src="data:image/png;base64,{source}" alt="{html.escape(text, quote=True)}" width="{width}"/>'
    display({"text/html": tag, "text/plain": text}, raw=True)


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _vector(values: Any, name: str, n: int | None = None) -> np.ndarray:
    """`values` as a 1-D float array, of length n if given; a ValueError naming `name` and both shapes otherwise."""
    array = _to_numpy(values).astype(float)
    if array.ndim != 1 or (n is not None and array.shape[0] != n):
        want = f"({n},)" if n is not None else "(n,)"
        raise ValueError(f"{name} must be a 1-D array of shape {want}, got {array.shape}")
    return array


def clear_panel(ax: Axes) -> Axes:
    """Remove what was drawn in `ax` (images, lines, patches, texts, collections, legend), keeping the
    axes, its position and its ticks: a widget draws a panel again this way, far faster than `ax.cla()`,
    which builds every tick anew."""
    for artist in [*ax.images, *ax.lines, *ax.patches, *ax.collections, *ax.texts]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    return ax


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


# ---------------------------------------------------------------------------------- images


def _as_nchw(images: Any) -> np.ndarray:
    """(N, C, H, W) with C in {1, 3}, or (N, H, W) read as C = 1; anything else is an error."""
    array = _to_numpy(images)
    if array.ndim == 3:
        array = array[:, None]  # (N, 1, H, W)
    if array.ndim != 4 or array.shape[1] not in (1, 3) or 0 in array.shape:
        raise ValueError(f"images must have shape (N, C, H, W) with C in {{1, 3}}, or (N, H, W), and N ≥ 1; "
                         f"got {tuple(array.shape)} (channels-last images need .permute(0, 3, 1, 2))")
    return array


def _value_range(array: np.ndarray, vmin: float | None, vmax: float | None) -> tuple[float, float]:
    """The colour range: booleans 0..1, integer digits 0..16 (or 0..255), floats in [0, 1] 0..1, else min..max."""
    if array.dtype.kind == "b":
        low, high = 0.0, 1.0
    elif array.dtype.kind in "iu":
        low, high = 0.0, (16.0 if array.max() <= 16 else 255.0)
    elif array.min() >= 0 and array.max() <= 1:
        low, high = 0.0, 1.0
    else:
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
    low = low if vmin is None else float(vmin)
    high = high if vmax is None else float(vmax)
    return low, (high if high > low else low + 1.0)


def _mosaic(images: np.ndarray, nrow: int, pad: int, title_rows: int) -> np.ndarray:
    """Tile (N, C, H, W) images into one (rows·(H+pad+title_rows)+pad, nrow·(W+pad)+pad, C) array.

    Gaps are NaN (drawn transparent), as torchvision's make_grid but with `nrow` images per row.
    """
    n, c, h, w = images.shape
    rows = math.ceil(n / nrow)
    cell_h, cell_w = h + pad + title_rows, w + pad
    mosaic = np.full((rows * cell_h + pad, nrow * cell_w + pad, c), np.nan)
    for i, image in enumerate(images):
        top = (i // nrow) * cell_h + pad + title_rows
        left = (i % nrow) * cell_w + pad
        mosaic[top:top + h, left:left + w] = image.transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    return mosaic


def image_grid(
    images: Any,
    nrow: int | None = None,
    titles: Sequence[str] | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "gray",
    scale: float = 0.7,
    ax: Axes | None = None,
    levels: int | None = None,
    colorbar: bool | str = False,
) -> Figure:
    """N images tiled into one picture, `nrow` images per row (torchvision's meaning).

    `images` is a tensor or array of shape (N, C, H, W) with C in {1, 3}, or (N, H, W): the
    course's 8×8 digits as integer levels 0..16, or floats. `nrow` defaults to ⌈√N⌉.
    `titles` puts one short string above each image (a label, a log-likelihood). The
    colour range is shared by all images: `vmin`/`vmax`, else 0..levels−1 when `levels` is
    given (2 for binary sprites, 4 for the coloured digits), else 0..16 for integer digits,
    0..1 for floats in [0, 1], and min..max otherwise. Each image is about `scale` inches wide
    (84 pixels at `PNG_DPI`). `colorbar=True` (or a label, e.g. "bits") adds a colour bar in the
    images' own units, vmin..vmax, for single-channel maps such as an entropy or a σ per pixel
    (use a perceptually uniform `cmap`, "viridis" or "cividis", there).
    """
    if levels is not None:
        if not isinstance(levels, int) or levels < 2:
            raise ValueError(f"levels must be an int >= 2 (the number of levels per channel), got {levels!r}")
        vmin = 0 if vmin is None else vmin
        vmax = levels - 1 if vmax is None else vmax
    array = _as_nchw(images)
    n, c, h, w = array.shape
    nrow = math.ceil(math.sqrt(n)) if nrow is None else nrow
    if not isinstance(nrow, int) or nrow < 1:
        raise ValueError(f"nrow (images per row) must be a positive int, got {nrow!r}")
    nrow = min(nrow, n)
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles must have one string per image ({n}), got {len(titles)}")

    low, high = _value_range(array, vmin, vmax)
    scaled = np.clip((array.astype(np.float64) - low) / (high - low), 0.0, 1.0)  # (N, C, H, W) in [0, 1]
    pad = max(1, h // 8)
    title_rows = 0 if titles is None else max(2, (h * 3) // 8)
    mosaic = _mosaic(scaled, nrow, pad, title_rows)  # (rows·cell_h + pad, nrow·cell_w + pad, C)

    rows = math.ceil(n / nrow)
    bar_width = 0.0
    if colorbar and ax is None:   # a map with a colour bar: at least 1.5 in tall, and room for the bar
        scale, bar_width = max(scale, 1.5 / rows), 0.9
    ax = _new_axes(ax, figsize=(scale * nrow + bar_width, scale * rows * (h + title_rows) / w))
    if c == 1:
        ax.imshow(mosaic[..., 0], cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
        if colorbar:
            bar = ax.figure.colorbar(ScalarMappable(Normalize(low, high), cmap=cmap), ax=ax, fraction=0.05, pad=0.02)
            bar.ax.tick_params(labelsize=7)
            if isinstance(colorbar, str):
                bar.set_label(colorbar, fontsize=7)
    elif colorbar:
        raise ValueError(f"colorbar needs single-channel images (a map of values), got {c} channels")
    else:
        alpha = np.isfinite(mosaic[..., :1]).astype(np.float64)  # (H', W', 1): gaps transparent
        ax.imshow(np.concatenate([np.nan_to_num(mosaic), alpha], axis=-1), interpolation="nearest")
    for i, title in enumerate(titles or []):
        x = (i % nrow) * (w + pad) + pad + w / 2
        y = (i // nrow) * (h + pad + title_rows) + pad + title_rows - 0.5
        ax.text(x, y, str(title), ha="center", va="bottom", fontsize=7)
    ax.set_axis_off()
    return ax.figure


# ---------------------------------------------------------------------------------- 2-D data


def _module_device_dtype(fn: Callable) -> tuple[torch.device, torch.dtype]:
    """The device and dtype of the module `fn` is a method of (model.log_prob), else CPU float32."""
    owner = getattr(fn, "__self__", fn)
    if isinstance(owner, torch.nn.Module):
        parameter = next(owner.parameters(), None)
        if parameter is not None:
            return parameter.device, parameter.dtype
    return torch.device("cpu"), torch.float32


def _check_limits(name: str, limits: Sequence[float]) -> tuple[float, float]:
    if len(limits) != 2 or not limits[0] < limits[1]:
        raise ValueError(f"{name} must be (low, high) with low < high, got {tuple(limits)!r}")
    return float(limits[0]), float(limits[1])


def _as_points_2d(points: Any, name: str) -> np.ndarray:
    array = _to_numpy(points)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {tuple(array.shape)}")
    return array


def density_2d(
    log_prob: Callable[[torch.Tensor], torch.Tensor],
    xlim: Sequence[float],
    ylim: Sequence[float],
    resolution: int = 100,
    kind: str = "heat",
    ax: Axes | None = None,
    samples: Any = None,
    cmap: str = "viridis",
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    colorbar: bool | str = False,
) -> Figure:
    """The density p(x) = exp(log p(x)) of a 2-D model on a `resolution`² grid over xlim × ylim.

    `log_prob` maps an (M, 2) tensor to M log-densities (`model.log_prob`, a lambda, ...);
    it is called once, without gradients, on the device and in the dtype of its module's
    parameters (else CPU float32; `device`/`dtype` override). `kind="heat"` draws an image,
    `kind="contour"` filled contours. `samples`, an (N, 2) tensor or array, is drawn on top.
    `colorbar=True` (or a label) adds a colour bar of p(x).
    """
    if kind not in ("heat", "contour"):
        raise ValueError(f"kind must be 'heat' or 'contour', got {kind!r}")
    if not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    (x0, x1), (y0, y1) = _check_limits("xlim", xlim), _check_limits("ylim", ylim)
    module_device, module_dtype = _module_device_dtype(log_prob)
    device = module_device if device is None else torch.device(device)
    dtype = module_dtype if dtype is None else dtype

    xs = torch.linspace(x0, x1, resolution, device=device, dtype=dtype)
    ys = torch.linspace(y0, y1, resolution, device=device, dtype=dtype)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")  # (R, R) each, rows follow y
    points = torch.stack([grid_x, grid_y], dim=-1).reshape(-1, 2)  # (R·R, 2)
    with torch.no_grad():
        log_density = log_prob(points)
    if log_density.numel() != points.shape[0]:
        raise ValueError(f"log_prob must return one value per point: it was given {tuple(points.shape)} "
                         f"and returned {tuple(log_density.shape)}")
    density = _to_numpy(log_density.reshape(resolution, resolution).exp().double())  # (R, R)

    ax = _new_axes(ax, figsize=(3.2, 3.0))
    if kind == "heat":
        mappable = ax.imshow(density, origin="lower", extent=(x0, x1, y0, y1), cmap=cmap, aspect="auto")
    else:
        mappable = ax.contourf(_to_numpy(xs.double()), _to_numpy(ys.double()), density, levels=12, cmap=cmap)
    if colorbar:
        bar = ax.figure.colorbar(mappable, ax=ax, fraction=0.05, pad=0.02)
        bar.ax.tick_params(labelsize=7)
        bar.set_label(colorbar if isinstance(colorbar, str) else "p(x)", fontsize=7)
    if samples is not None:
        points_np = _as_points_2d(samples, "samples")
        ax.scatter(points_np[:, 0], points_np[:, 1], s=3, c="white", edgecolors="none", alpha=0.7)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    return ax.figure


def scatter_2d(
    points: Any,
    labels: Any = None,
    ax: Axes | None = None,
    s: float = 4.0,
    alpha: float = 0.6,
    title: str | None = None,
    xlim: Sequence[float] | None = None,
    ylim: Sequence[float] | None = None,
) -> Figure:
    """2-D points, (N, 2), coloured by their integer `labels` (N,) if given, with a legend."""
    array = _as_points_2d(points, "points")
    ax = _new_axes(ax, figsize=(3.2, 3.0))
    if labels is None:
        ax.scatter(array[:, 0], array[:, 1], s=s, alpha=alpha, edgecolors="none")
    else:
        label_array = _to_numpy(labels).reshape(-1)
        if label_array.shape[0] != array.shape[0]:
            raise ValueError(f"labels must have one entry per point, shape ({array.shape[0]},), "
                             f"got {tuple(_to_numpy(labels).shape)}")
        for k, label in enumerate(np.unique(label_array)):
            chosen = label_array == label
            ax.scatter(array[chosen, 0], array[chosen, 1], s=s, alpha=alpha, edgecolors="none",
                       color=CATEGORICAL[k % len(CATEGORICAL)], label=str(label))
        ax.legend(fontsize=6, markerscale=2, loc="best")
    if xlim is not None:
        ax.set_xlim(*_check_limits("xlim", xlim))
    if ylim is not None:
        ax.set_ylim(*_check_limits("ylim", ylim))
    if title is not None:
        ax.set_title(title, fontsize=9)
    return ax.figure


# ---------------------------------------------------------------------------------- training


_X_AXIS_KEYS = ("epoch", "step")



def series_figure(x: Sequence[float], series: Mapping[str, Sequence[float]], *, xlabel: str, ylabel: str,
                  what: str = "value", xscale: str | tuple = "linear", yscale: str | tuple = "linear",
                  reference: tuple[str, Sequence[float]] | None = None, ticks_at_x: bool = False,
                  ax: Axes | None = None) -> Figure:
    """One line with markers per entry of `series` over the common `x` (each marker shape differs, so no line
    relies on colour alone), a dotted grey `reference` (label, y values) if given, labels, legend and grid.

    `xscale` / `yscale` are matplotlib scales ("log", or ("log", base) for another base); `ticks_at_x` puts the x
    ticks at the measured x values (no minor ticks). `what` names a y value in the error for a series of the
    wrong length. The generic frame of the lectures' measurement plots (sampling time, attention cost, ...)."""
    x = [float(v) for v in x]
    if not series or any(len(v) != len(x) for v in series.values()):
        raise ValueError(f"{what}s must map each line's name to one {what} per entry of x ({len(x)}), got "
                         f"{ {k: len(v) for k, v in series.items()} }")
    if ax is None:
        fig = Figure(figsize=(4.2, 2.8), layout="constrained")
        ax = fig.add_subplot()
    markers = "osD^v"
    for k, (name, values) in enumerate(series.items()):
        ax.plot(x, [float(v) for v in values], marker=markers[k % len(markers)], label=name)
    if reference is not None:
        ax.plot(x, [float(v) for v in reference[1]], ":", color="#777777", label=reference[0])
    for scale, set_scale in ((xscale, ax.set_xscale), (yscale, ax.set_yscale)):
        name, *base = scale if isinstance(scale, tuple) else (scale,)
        set_scale(name, **({"base": base[0]} if base else {}))
    if ticks_at_x:
        ax.set_xticks(x, labels=[f"{v:g}" for v in x])
        ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return ax.figure


def _history_dict(history: Any) -> dict[str, list[float]]:
    """A dict of series from a dict or anything with `.as_dict()` (coursekit.training.History)."""
    if hasattr(history, "as_dict"):
        history = history.as_dict()
    if not isinstance(history, Mapping):
        raise ValueError(f"history must be a dict of name -> list of floats, or have .as_dict(); "
                         f"got {type(history).__name__}")
    return {str(k): [float(v) for v in values] for k, values in history.items()}


def _loss_part(name: str) -> str:
    """'train/kl' and 'val/kl' share the part 'kl'; a name without a split is its own part."""
    return name.split("/", 1)[1] if "/" in name else name


def _group_by_part(series: dict[str, list[float]], keys: Sequence[str] | None) -> dict[str, list[str]]:
    names = [k for k in series if k not in _X_AXIS_KEYS and len(series[k]) > 0]
    if keys is not None:
        unknown = [k for k in keys if k not in names and k not in {_loss_part(n) for n in names}]
        if unknown:
            raise ValueError(f"keys {unknown} are not in the history; it has {names}")
        names = [n for n in names if n in keys or _loss_part(n) in keys]
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(_loss_part(name), []).append(name)
    return groups


def training_curves(history: Any, keys: Sequence[str] | None = None, logy: bool = False) -> Figure:
    """One panel per loss part ("loss", "recon", "kl", ...), its train and val series together.

    `history` maps names such as "train/loss", "val/loss", "train/kl" to lists of floats,
    one per epoch or per step, or is a `coursekit.training.History` (anything with `.as_dict()`).
    "epoch" and "step" series, if present, are the x-axis, not curves. `keys` picks names
    ("val/loss") or parts ("kl"). Series of different lengths in one panel (per-step train,
    per-epoch val) are stretched over the same x-range.
    """
    series = _history_dict(history)
    groups = _group_by_part(series, keys)
    if not groups:
        raise ValueError(f"history has no series to plot; it has {list(series)}")

    ncols = min(len(groups), 3)
    nrows = math.ceil(len(groups) / ncols)
    fig = Figure(figsize=(3.0 * ncols, 2.3 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).reshape(-1)
    for ax, (part, names) in zip(axes, groups.items()):
        longest = max(len(series[name]) for name in names)
        x_key = next((k for k in _X_AXIS_KEYS if len(series.get(k, [])) == longest), None)
        for name in names:
            values = np.asarray(series[name])
            x = np.arange(1, len(values) + 1) * (longest / len(values))  # stretched onto 1..longest
            if x_key is not None and len(values) == longest:
                x = np.asarray(series[x_key])
            ax.plot(x, values, label=name.split("/", 1)[0] if "/" in name else name)
        ax.set_title(part, fontsize=9)
        ax.set_xlabel(x_key or "epoch / step", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if logy:
            ax.set_yscale("log")
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in axes[len(groups):]:
        fig.delaxes(ax)
    return fig
