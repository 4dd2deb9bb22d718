"""Pictures of autoregressive models (lecture 04): MADE's masks, what one output sees (the blind
spot), how far a dilated stack reaches, how sampling time grows with the pixels, and a
temperature / completion widget over any `models.Autoregressive`.

    viz.show(made_masks_figure(model.mask_set(0)[1]), alt="MADE's masks")
    viz.show(receptive_field_figure({"masked": rf_a, "gated": rf_b}, (4, 4)), alt="...")
    sampling_widget(model, x_test[:8])            # last line of a cell: temperature and known-rows sliders

Everything here only draws: the masks come from `layers.made_masks`, the receptive fields from
`models.pixelcnn.receptive_field` (autograd), the samples from the model's own `sample` and
`complete`. Colours are Okabe–Ito (told apart with any colour vision) and every category also
has a legend entry, so no picture relies on colour alone.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.patches import Patch

from ..utils import seeded_generator
from .figures import _to_numpy, clear_panel, image_grid, series_figure
from .slider import image_slider_widget

__all__ = ["made_masks_figure", "receptive_field_figure", "receptive_field_growth_figure", "sampling_time_figure",
           "sampling_widget", "FIELD_COLOURS"]

FIELD_COLOURS = {
    "after": "#DDDDDD",        # at or after the position: must not be seen (light grey)
    "seen": "#0072B2",         # before the position and seen (blue)
    "blind spot": "#E69F00",   # before the position and NOT seen (orange)
    "position": "#000000",     # the pixel whose conditional is drawn (black)
}
"""The four kinds of pixel in a receptive-field picture (Okabe–Ito colours)."""


def made_masks_figure(masks: Sequence[torch.Tensor], titles: Sequence[str] | None = None,
                      scale: float = 0.035) -> Figure:
    """MADE's masks side by side, one panel per layer: M[k, j] = 1 (dark) where unit k may read unit j.

    `masks` are 2-D 0/1 tensors (out, in) as `layers.made_masks` returns them (the output mask may be
    repeated K times: only its first block of rows is drawn, the one for logit 0). `scale` is inches per
    unit (the largest side decides the size). Titles default to "M¹ (hidden × input)", "M² (hidden × hidden)", …,
    "M^V (output × hidden)"."""
    masks = [_to_numpy(m) for m in masks]
    if not masks or any(m.ndim != 2 for m in masks):
        raise ValueError(f"masks must be a non-empty sequence of 2-D (out, in) tensors, got shapes "
                         f"{[tuple(m.shape) for m in masks]}")
    D = masks[0].shape[1]
    if masks[-1].shape[0] > D and masks[-1].shape[0] % D == 0:
        masks[-1] = masks[-1][:D]                         # (K·D, H) → (D, H): logit 0 of every pixel
    if titles is None:
        titles = [f"$M^{{{i + 1}}}$ (hidden × {'input' if i == 0 else 'hidden'})" for i in range(len(masks) - 1)]
        titles.append("$M^V$ (output × hidden)")
    if len(titles) != len(masks):
        raise ValueError(f"titles must have one string per mask ({len(masks)}), got {len(titles)}")
    widths = [min(m.shape[1], 256) for m in masks]
    height = max(min(m.shape[0], 256) for m in masks)
    fig = Figure(figsize=(max(2.0, scale * sum(widths) + 0.6 * len(masks)), max(1.6, scale * height + 0.5)),
                 layout="constrained")
    axes = fig.subplots(1, len(masks), squeeze=False, width_ratios=widths)[0]
    cmap = ListedColormap(["#F0F0F0", "#0072B2"])
    for ax, mask, title in zip(axes, masks, titles):
        ax.imshow(mask, cmap=cmap, vmin=0, vmax=1, interpolation="nearest", aspect="auto")
        ax.set_title(f"{title}\n{mask.shape[0]}×{mask.shape[1]}, {mask.mean():.0%} ones", fontsize=8)
        ax.set_xlabel("input unit j", fontsize=7)
        ax.set_ylabel("output unit k", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # units are whole numbers
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(handles=[Patch(color="#0072B2", label="1: connected"), Patch(color="#F0F0F0", label="0: cut")],
               loc="outside lower center", ncol=2, fontsize=7, frameon=False)
    return fig


def _field_categories(field: np.ndarray, position: tuple[int, int]) -> np.ndarray:
    """0 after, 1 seen, 2 blind spot, 3 the position, for an (H, W) bool field in raster order."""
    H, W = field.shape
    i, j = position
    flat = np.arange(H * W).reshape(H, W)
    before = flat < i * W + j
    out = np.where(before, np.where(field, 1, 2), 0)
    out[i, j] = 3
    return out


def receptive_field_figure(fields: Mapping[str, torch.Tensor], position: tuple[int, int],
                           scale: float = 0.28) -> Figure:
    """Which earlier pixels the conditional at `position` (row, column) depends on, one panel per model.

    `fields` maps a model's name to its (H, W) bool receptive field (`models.pixelcnn.receptive_field`:
    True where ∂ℓ_position / ∂x̃_ij ≠ 0). Each pixel is drawn as one of FIELD_COLOURS: the position, earlier
    pixels it sees, earlier pixels it does **not** see (the blind spot, counted in the title), and pixels at
    or after it. A pixel at or after the position that is seen would break the autoregressive property: it
    raises a ValueError rather than being drawn."""
    if not fields:
        raise ValueError("fields must map at least one model name to an (H, W) bool receptive field")
    arrays = {name: _to_numpy(f).astype(bool) for name, f in fields.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"every field must be one (H, W) bool map of the same shape, got "
                         f"{ {k: a.shape for k, a in arrays.items()} }")
    H, W = next(iter(shapes))
    i, j = position
    if not (0 <= i < H and 0 <= j < W):
        raise ValueError(f"position must be (row, column) inside the {H}×{W} image, got {position!r}")
    cmap = ListedColormap(list(FIELD_COLOURS.values()))
    fig = Figure(figsize=(max(3.0, len(arrays) * (scale * W + 0.4)), scale * H + 1.0), layout="constrained")
    axes = fig.subplots(1, len(arrays), squeeze=False)[0]
    for ax, (name, field) in zip(axes, arrays.items()):
        flat = np.arange(H * W).reshape(H, W)
        leaks = field & (flat >= i * W + j)
        if leaks.any():
            rows, cols = np.nonzero(leaks)
            raise ValueError(f"{name}: the conditional at {position} depends on pixels at or after it "
                             f"({list(zip(rows.tolist(), cols.tolist()))[:5]}): not autoregressive")
        categories = _field_categories(field, (i, j))
        ax.imshow(categories, cmap=cmap, vmin=-0.5, vmax=3.5, interpolation="nearest")
        ax.set_xticks(np.arange(-0.5, W, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, H, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=0.8)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        blind = int((categories == 2).sum())
        ax.set_title(f"{name}\nblind spot: {blind} of {i * W + j} earlier pixels", fontsize=8)
    fig.legend(handles=[Patch(color=c, label=k) for k, c in FIELD_COLOURS.items()], loc="outside lower center",
               ncol=4, fontsize=7, frameon=False)
    return fig


def receptive_field_growth_figure(sizes: Mapping[str, Sequence[int]], ax=None) -> Figure:
    """Receptive field (steps seen) against the number of layers, one line per schedule, e.g.
    {"dilations 1, 2, 4, 8": [2, 4, 8, 16], "no dilation": [2, 3, 4, 5]} (`models.wavenet.receptive_field_size`)."""
    if not sizes:
        raise ValueError("sizes must map at least one schedule's name to its receptive field per layer")
    if ax is None:
        fig = Figure(figsize=(4.2, 2.8), layout="constrained")
        ax = fig.add_subplot()
    markers = "osD^v"
    for k, (name, values) in enumerate(sizes.items()):
        values = [int(v) for v in values]
        ax.plot(range(1, len(values) + 1), values, marker=markers[k % len(markers)], label=name)
    ax.set_xlabel("layers")
    ax.set_ylabel("receptive field (earlier steps seen)")
    ax.set_yscale("log", base=2)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return ax.figure


def sampling_time_figure(pixels: Sequence[int], seconds: Mapping[str, Sequence[float]], ax=None) -> Figure:
    """Seconds to draw a batch against the number of pixels D, one line per sampler (log–log axes), with a
    dotted line ∝ D through the first point of the first sampler for scale."""
    pixels = [int(p) for p in pixels]
    first = float(list(seconds.values())[0][0]) if seconds and list(seconds.values())[0] else 0.0
    return series_figure(pixels, seconds, xlabel="pixels D", ylabel="seconds", what="time", xscale="log",
                         yscale="log", ticks_at_x=True, reference=("∝ D", [first * p / pixels[0] for p in pixels]),
                         ax=ax)


def sampling_widget(model, x: torch.Tensor | None = None, n: int = 16, seed: int = 0,
                    temperatures: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5),
                    temperature: float = 1.0, nrow: int = 8, cache: int = 32) -> widgets.Box:
    """A temperature slider (and, with `x`, a known-rows slider) over samples of an autoregressive model.

    Each picture is `model.sample(n, temperature=T)` drawn with the generator seeded by `seed`, so moving T
    keeps the same random numbers (the Gumbel noise g in argmax(ℓ/T + g)) and shows what T alone does:
    T = 0 is the argmax at every step, T = 1 samples the model, T > 1 flattens it. With test images `x`
    (N, C, H, W) the second slider, "known rows" r, keeps their first r rows and completes the rest
    (`model.complete`); r = 0 is unconditional sampling. The box has `.sliders` {"temperature", "rows"}."""
    temperatures = [float(t) for t in temperatures]
    if float(temperature) not in temperatures:
        raise ValueError(f"temperature {temperature!r} must be one of the slider's values {temperatures}")
    C, H, W = model.data_shape
    levels = model.data_levels
    sliders = {"temperature": widgets.SelectionSlider(options=temperatures, value=float(temperature),
                                                      description="T", continuous_update=False)}
    if x is not None:
        x = torch.as_tensor(x)
        if x.dim() != 4 or tuple(x.shape[1:]) != (C, H, W):
            raise ValueError(f"x must be test images (N, {C}, {H}, {W}) for the completion slider, got "
                             f"{tuple(x.shape)}")
        n = x.shape[0]
        sliders["rows"] = widgets.IntSlider(value=0, min=0, max=H - 1, description="known rows",
                                            continuous_update=False, style={"description_width": "80px"})
    device = model.device

    def render(temperature: float, rows: int = 0) -> Figure:
        generator = seeded_generator(seed)     # on the CPU: the package's rule, the same images on any device
        was_training = model.training
        model.eval()
        try:
            if rows == 0 or x is None:
                images = model.sample(n, temperature=temperature, generator=generator).cpu()
                title = f"{n} samples at T = {temperature:g}"
                shown = images
            else:
                known = torch.zeros(C, H, W, dtype=torch.bool)
                known[:, :rows] = True
                images = model.complete(x.to(device), known.to(device), temperature=temperature,
                                        generator=generator).cpu()
                given = torch.where(known, x.cpu().float(), torch.full_like(x.cpu().float(), float("nan")))
                shown = torch.cat([x.cpu().float(), given, images.float()])
                title = (f"rows: the test images; their first {rows} row(s), the rest hidden; "
                         f"completions at T = {temperature:g}")
        finally:
            model.train(was_training)
        fig = image_grid(shown, nrow=min(nrow, n) if rows == 0 or x is None else n, levels=levels, scale=0.5)
        fig.suptitle(title, fontsize=8)
        return fig

    return image_slider_widget(render, sliders, cache=cache)
