"""Pictures of attention (lecture 05): weight matrices, what the softmax does without √d, the cost against the
sequence length, the sinusoidal position table and a trained GPT's attention over the pixels of a digit.

    viz.show(attention_weights_figure({"head 1": A[0], "head 2": A[1]}), alt="...")
    viz.show(attention_map_figure(A[layer][0, :, t], (8, 8), t, image=x[0, 0]), alt="...")

Everything here only draws: the weights come from `models.layers.attention` or `GPT.attention_weights`, the
timings and entropies from the lecture's cells. Heat maps use viridis with a colour bar (weights in [0, 1]);
pixels a query may not see are drawn light grey and named in a legend, so nothing relies on colour alone.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from .figures import _to_numpy, series_figure

__all__ = ["attention_weights_figure", "softmax_saturation_figure", "attention_cost_figure",
           "positional_encoding_figure", "attention_map_figure"]

_UNSEEN = "#DDDDDD"   # light grey: a key the query may not attend to


def _viridis_with_unseen():
    """viridis, with NaN (a masked key) drawn light grey."""
    from matplotlib import colormaps
    return colormaps["viridis"].with_extremes(bad=_UNSEEN)


def attention_weights_figure(weights: Mapping[str, torch.Tensor], tokens: Sequence[str] | None = None,
                             masked: torch.Tensor | None = None, scale: float = 0.32) -> Figure:
    """Attention weights A (T_q, T_k), one panel per entry of `weights` (e.g. one per head): row t is how query t
    spreads its attention over the keys (each row sums to 1). `tokens` labels the axes; `masked`, a bool (T_q, T_k),
    marks the entries the mask forbids (True = forbidden), drawn light grey instead of their weight 0, with the
    weights printed in every allowed cell."""
    if not weights:
        raise ValueError("weights must map at least one panel title to an attention matrix (T_q, T_k)")
    arrays = {name: _to_numpy(w).astype(float) for name, w in weights.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"every weight matrix must be 2-D (T_q, T_k) and of one shape, got "
                         f"{ {k: a.shape for k, a in arrays.items()} }")
    Tq, Tk = next(iter(shapes))
    if tokens is not None and (len(tokens) != Tq or Tq != Tk):
        raise ValueError(f"tokens label a square (T, T) self-attention matrix: need {Tq} == {Tk} labels, got "
                         f"{len(tokens)}")
    hidden = None if masked is None else _to_numpy(masked).astype(bool)
    if hidden is not None and hidden.shape != (Tq, Tk):
        raise ValueError(f"masked must be a bool ({Tq}, {Tk}) like the weights, got {hidden.shape}")
    cmap = _viridis_with_unseen()
    fig = Figure(figsize=(len(arrays) * (scale * Tk + 0.5) + 0.9, scale * Tq + 1.0), layout="constrained")
    axes = fig.subplots(1, len(arrays), squeeze=False)[0]
    for ax, (name, A) in zip(axes, arrays.items()):
        shown = np.where(hidden, np.nan, A) if hidden is not None else A
        image = ax.imshow(shown, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        if Tq * Tk <= 100:
            for (t, s), a in np.ndenumerate(A):
                if hidden is None or not hidden[t, s]:
                    ax.text(s, t, f"{a:.2f}", ha="center", va="center", fontsize=6,
                            color="black" if a > 0.5 else "white")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("key s (attended to)", fontsize=7)
        ax.set_ylabel("query t", fontsize=7)
        ticks = range(Tq)
        ax.set_xticks(range(Tk), labels=tokens if tokens is not None else [str(s + 1) for s in range(Tk)], fontsize=6)
        ax.set_yticks(ticks, labels=tokens if tokens is not None else [str(t + 1) for t in ticks], fontsize=6)
    bar = fig.colorbar(image, ax=list(axes), fraction=0.04, pad=0.02)
    bar.set_label("weight α_ts", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    if hidden is not None:
        fig.legend(handles=[Patch(color=_UNSEEN, label="masked: −∞ before the softmax, weight 0")],
                   loc="outside lower center", fontsize=7, frameon=False)
    return fig


def softmax_saturation_figure(dims: Sequence[int], values: Mapping[str, Sequence[float]], ylabel: str,
                              reference: tuple[str, float] | None = None, ax=None) -> Figure:
    """A measurement of the attention softmax against the key dimension d (log axis), one line per way of
    scoring (e.g. "QKᵀ/√d" and "QKᵀ"); `reference` (label, value) draws a dotted horizontal line (the uniform
    weights' entropy log₂ T, say)."""
    dims = [int(d) for d in dims]
    line = None if reference is None else (reference[0], [float(reference[1])] * len(dims))
    return series_figure(dims, values, xlabel="dimension d of queries and keys", ylabel=ylabel, what="number",
                         xscale=("log", 2), reference=line, ticks_at_x=True, ax=ax)


def attention_cost_figure(lengths: Sequence[int], seconds: Mapping[str, Sequence[float]], power: float = 2.0,
                          xlabel: str = "sequence length T", ax=None) -> Figure:
    """Seconds against the sequence length (log–log), one line per measurement, with a dotted line ∝ T^power
    through the last point of the first line (where the asymptotic cost shows, not the fixed overheads)."""
    lengths = [int(t) for t in lengths]
    last = float(list(seconds.values())[0][-1]) if seconds and list(seconds.values())[0] else 0.0
    return series_figure(lengths, seconds, xlabel=xlabel, ylabel="seconds", what="time", xscale="log", yscale="log",
                         ticks_at_x=True, reference=(f"∝ $T^{{{power:g}}}$",
                                                     [last * (t / lengths[-1]) ** power for t in lengths]), ax=ax)


def positional_encoding_figure(P: torch.Tensor, ax=None) -> Figure:
    """A position table P (T, d) as a heat map, positions down and dimensions across, with a colour bar."""
    P = _to_numpy(P).astype(float)
    if P.ndim != 2:
        raise ValueError(f"P must be a (T, d) table of position embeddings, got shape {P.shape}")
    if ax is None:
        fig = Figure(figsize=(4.6, 3.0), layout="constrained")
        ax = fig.add_subplot()
    limit = float(np.abs(P).max()) or 1.0
    image = ax.imshow(P, cmap="viridis", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    ax.set_xlabel("dimension i")
    ax.set_ylabel("position t")
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label("P[t, i]", fontsize=7)
    return ax.figure


def attention_map_figure(weights: torch.Tensor, shape: tuple[int, int], position: int,
                         image: torch.Tensor | None = None, titles: Sequence[str] | None = None,
                         scale: float = 0.22) -> Figure:
    """Where a GPT over pixels looks when it predicts the pixel at raster index `position`: one panel per head.

    `weights` (heads, D) is one query row of `GPT.attention_weights` (step `position` attends to steps s ≤ position;
    step s holds pixel s − 1 and step 0 the start token). Each panel draws pixel p with the weight of step p + 1,
    the pixels the query may not see (at and after `position`) light grey, the predicted pixel outlined, and the
    start token's weight in the title. `image` (H, W), if given, is drawn first."""
    W_ = _to_numpy(weights).astype(float)
    H, W = shape
    D = H * W
    if W_.ndim != 2 or W_.shape[1] != D:
        raise ValueError(f"weights must be (heads, {D}) for a {H}×{W} image, got shape {W_.shape}")
    if not 0 <= position < D:
        raise ValueError(f"position must be a raster index in 0..{D - 1}, got {position!r}")
    if titles is not None and len(titles) != W_.shape[0]:
        raise ValueError(f"titles must have one string per head ({W_.shape[0]}), got {len(titles)}")
    panels = W_.shape[0] + (image is not None)
    fig = Figure(figsize=(panels * (scale * W + 0.3) + 0.9, scale * H + 1.2), layout="constrained")
    axes = list(fig.subplots(1, panels, squeeze=False)[0])
    i, j = divmod(position, W)
    if image is not None:
        ax = axes.pop(0)
        ax.imshow(_to_numpy(image).astype(float), cmap="gray", interpolation="nearest")   # light strokes on black
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#E69F00", linewidth=1.5))
        ax.set_title("the digit", fontsize=8)
        ax.set_axis_off()
    cmap = _viridis_with_unseen()
    vmax = float(W_[:, 1:position + 1].max()) if position > 0 else 1.0
    for h, ax in enumerate(axes):
        grid = np.full(D, np.nan)
        grid[:position] = W_[h, 1:position + 1]          # pixel p ← step p + 1
        shown = ax.imshow(grid.reshape(H, W), cmap=cmap, vmin=0, vmax=vmax or 1.0, interpolation="nearest")
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#E69F00", linewidth=1.5))
        title = titles[h] if titles is not None else f"head {h + 1}"
        ax.set_title(f"{title}\nstart token {W_[h, 0]:.2f}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    bar = fig.colorbar(shown, ax=axes, fraction=0.04, pad=0.02)
    bar.set_label("weight", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    fig.legend(handles=[Patch(color=_UNSEEN, label="not yet drawn: cannot be seen"),
                        Patch(facecolor="none", edgecolor="#E69F00", label="the pixel being predicted")],
               loc="outside lower center", ncol=2, fontsize=7, frameon=False)
    return fig
