"""Walking through a latent space: one slider per latent dimension, and paths between two codes.

`latent_traversal_widget` puts a slider on each coordinate z_j of a code and shows decode(z)
beside a bar chart of z; `interpolation_widget` slides t along a path from z_start to z_end,
straight, (1 − t) z_start + t z_end, or spherical (`coursekit.models.vae.slerp`, which keeps
the norms a Gaussian prior's typical codes have). Both take any `decode` that maps latents
(N, L) to images (N, C, H, W): a VAE's `model.decode`, an autoencoder's decoder, a lambda
that fixes a label. They only draw: the decoder does the modelling.

Both are built on the slider frame (`coursekit.viz.slider`): the returned box has `.image`
(the PNG of a `matplotlib.figure.Figure`, no pyplot, shown at its pixel size) and `.sliders`;
the traversal also has `.z()`, the current code. Each keeps one figure and redraws only its
panels on a slider move (`benchmarks/widget_times.py` prints the time an update takes).
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from ..models.vae import slerp
from .figures import CATEGORICAL, clear_panel, image_grid
from .slider import image_slider_widget

__all__ = ["latent_traversal_widget", "interpolation_widget"]


def _decoded_image(decode: Callable, z: torch.Tensor) -> torch.Tensor:
    """decode(z) for one latent vector z (L,), without gradients: the image (1, C, H, W)."""
    with torch.no_grad():
        image = decode(z.unsqueeze(0))
    if not isinstance(image, torch.Tensor) or image.dim() != 4 or image.shape[0] != 1:
        got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"decode must map z of shape (1, L) to an image of shape (1, C, H, W), got {got}")
    return image


def latent_traversal_widget(decode: Callable, z, limit: float = 3.0, step: float = 0.1,
                            levels: int | None = None, labels: Mapping[int, str] | None = None,
                            highlight: Sequence[int] | None = None, scale: float = 2.2) -> widgets.HBox:
    """One slider per latent dimension z_1 … z_L beside the decoded image decode(z) that follows them.

    `decode` maps a batch of latents (1, L) to images (1, C, H, W), e.g. `model.decode` of a
    VAE (the mean image E[x | z]) or `lambda z: model.decode(z, y=3)`; `z` (L,) is where the
    sliders start (the origin, or an encoded digit's μ). Each slider runs over [−limit, limit]
    (±3 prior standard deviations by default). `levels` sets the colour range as in
    `viz.image_grid` (17 for the digits' 0..16; None guesses from the values). `labels` adds
    a note to a slider's description, e.g. {j: "KL 2.1"}.

    The sliders are a column left of the picture, so a slider and its effect are seen at once;
    the picture (`scale` inches tall, shown at its pixel size) is decode(z) and a bar per
    dimension showing the current z (the dimensions in `highlight`, e.g. a VAE's active ones,
    in colour, the others grey), so moving a slider always changes the picture — even for a
    dimension the decoder ignores, whose bar moves while the image stays. The box also has
    `.z()`, the current latent vector.
    """
    if not isinstance(z, torch.Tensor) or z.dim() != 1 or z.numel() < 1:
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"z must be one latent vector of shape (L,), got {got}")
    if not limit > 0:
        raise ValueError(f"limit must be > 0, got {limit!r}")
    n = z.numel()
    labels = dict(labels or {})
    strong = set(range(n)) if highlight is None else {int(j) for j in highlight}
    start = z.detach().clone()
    style = {"description_width": "100px" if labels else "40px"}
    compact = widgets.Layout(width="330px" if labels else "270px")
    sliders = {f"z{j + 1}": widgets.FloatSlider(
        value=float(start[j].clamp(-limit, limit)), min=-limit, max=limit, step=step, readout_format=".1f",
        description=f"z_{j + 1}" + (f" ({labels[j]})" if j in labels else ""), continuous_update=False, style=style,
        layout=compact)
        for j in range(n)}
    vmax = None if levels is None else levels - 1
    colors = [CATEGORICAL[0] if j in strong else "0.75" for j in range(n)]

    def current(**values) -> torch.Tensor:
        return torch.tensor([values[f"z{j + 1}"] for j in range(n)], dtype=start.dtype, device=start.device)

    # one figure for every update: the image panel is drawn again, the bars only change length
    fig = Figure(figsize=(scale * 2.2, scale), layout="constrained")
    ax_image, ax_bars = fig.subplots(1, 2, width_ratios=[1, 1.2])
    bars = ax_bars.barh(range(1, n + 1), start.clamp(-limit, limit).cpu().numpy(), color=colors)
    ax_bars.set_xlim(-limit, limit)
    ax_bars.set_ylim(n + 0.5, 0.5)
    ax_bars.axvline(0, color="k", lw=0.5)
    ax_bars.set_title("z (active in colour)" if highlight is not None else "z", fontsize=7, y=1.0)
    ax_bars.set_yticks(range(1, n + 1), [f"z_{j + 1}" for j in range(n)] if n <= 16 else None)
    ax_bars.tick_params(labelsize=6)

    def render(**values) -> Figure:
        z_now = current(**values)
        image = _decoded_image(decode, z_now)
        clear_panel(ax_image)
        image_grid(image, vmin=0 if vmax is not None else None, vmax=vmax, ax=ax_image)
        ax_image.set_title("decode(z)", fontsize=7, y=1.0)
        for bar, value in zip(bars, z_now.cpu().tolist()):
            bar.set_width(value)
        return fig

    box = image_slider_widget(render, sliders, arrange="beside")
    box.z = lambda: current(**{name: s.value for name, s in box.sliders.items()})
    return box


def interpolation_widget(decode: Callable, z_start, z_end, levels: int | None = None, steps: int = 8,
                         scale: float = 0.9) -> widgets.VBox:
    """A slider t ∈ [0, 1] that walks from z_start to z_end; the image shows decode(z(t)).

    The figure has two rows: the whole path at `steps` evenly spaced t (the start and end
    images at its ends), and the image at the slider's t, large. A dropdown picks the path:
    "linear", z(t) = (1 − t) z_start + t z_end, or "spherical" (`models.vae.slerp`). `decode` maps (N, L)
    latents to (N, C, H, W) images; z_start, z_end are (L,), e.g. the μ of two encoded digits.
    """
    for name, z in (("z_start", z_start), ("z_end", z_end)):
        if not isinstance(z, torch.Tensor) or z.dim() != 1:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"{name} must be one latent vector of shape (L,), got {got}")
    if z_start.shape != z_end.shape:
        raise ValueError(f"z_start and z_end must have the same shape, got {tuple(z_start.shape)} and {tuple(z_end.shape)}")
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an int >= 2, got {steps!r}")
    z_start, z_end = z_start.detach(), z_end.detach()
    vmax = None if levels is None else levels - 1
    sliders = {
        "t": widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="t", continuous_update=False),
        "path": widgets.Dropdown(options=["linear", "spherical"], value="linear", description="path"),
    }

    def point(t: float, path: str) -> torch.Tensor:
        return (1 - t) * z_start + t * z_end if path == "linear" else slerp(z_start, z_end, t)

    # one figure for every update: the strip is drawn again only when the path changes
    ts = torch.linspace(0, 1, steps).tolist()
    fig = Figure(figsize=(scale * steps, scale * 2.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.6])
    ax_strip, ax_here = top.add_subplot(), bottom.add_subplot()
    kw = dict(vmin=0 if vmax is not None else None, vmax=vmax)
    drawn = {}

    def render(t: float, path: str) -> Figure:
        if drawn.get("path") != path:
            with torch.no_grad():
                strip = decode(torch.stack([point(s, path) for s in ts]))       # (steps, C, H, W)
            clear_panel(ax_strip)
            image_grid(strip, nrow=steps, titles=[f"t={s:.2f}" for s in ts], ax=ax_strip, **kw)
            drawn["path"] = path
        here = _decoded_image(decode, point(t, path))                          # (1, C, H, W)
        clear_panel(ax_here)
        image_grid(here, ax=ax_here, **kw)
        ax_here.set_title(f"t = {t:.2f} ({path})", fontsize=8, y=1.0)
        return fig

    return image_slider_widget(render, sliders)
