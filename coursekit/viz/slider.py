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
from typing import Callable, Mapping, Sequence

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


# ---------------------------------------------------------------------------------- lecture 02: latent spaces

def _decoded_image(decode: Callable, z, levels: int | None):
    """decode(z) for one latent vector z (L,), without gradients: the image (1, C, H, W) and its colour range."""
    import torch

    with torch.no_grad():
        image = decode(z.unsqueeze(0))
    if not isinstance(image, torch.Tensor) or image.dim() != 4 or image.shape[0] != 1:
        got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"decode must map z of shape (1, L) to an image of shape (1, C, H, W), got {got}")
    return image


def latent_traversal_widget(decode: Callable, z, limit: float = 3.0, step: float = 0.1,
                            levels: int | None = None, labels: Mapping[int, str] | None = None,
                            highlight: Sequence[int] | None = None, scale: float = 2.2) -> widgets.VBox:
    """One slider per latent dimension z_1 … z_L, and the decoded image decode(z) that follows them.

    `decode` maps a batch of latents (1, L) to images (1, C, H, W), e.g. `model.decode` of a
    VAE (the mean image E[x | z]) or `lambda z: model.decode(z, y=3)`; `z` (L,) is where the
    sliders start (the origin, or an encoded digit's μ). Each slider runs over [−limit, limit]
    (±3 prior standard deviations by default). `levels` sets the colour range as in
    `plot.image_grid` (17 for the digits' 0..16; None guesses from the values). `labels` adds
    a note to a slider's description, e.g. {j: "KL 2.1"}.

    Beside the image, a bar per dimension shows the current z (the dimensions in `highlight`,
    e.g. a VAE's active ones, in colour, the others grey), so moving a slider always changes
    the picture — even for a dimension the decoder ignores, whose bar moves while the image
    stays. The box also has `.z()`, the current latent vector.
    """
    import torch

    if not isinstance(z, torch.Tensor) or z.dim() != 1 or z.numel() < 1:
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"z must be one latent vector of shape (L,), got {got}")
    if not limit > 0:
        raise ValueError(f"limit must be > 0, got {limit!r}")
    n = z.numel()
    labels = dict(labels or {})
    strong = set(range(n)) if highlight is None else {int(j) for j in highlight}
    start = z.detach().clone()
    style = {"description_width": "110px"}
    sliders = {f"z{j + 1}": widgets.FloatSlider(
        value=float(start[j].clamp(-limit, limit)), min=-limit, max=limit, step=step, readout_format=".1f",
        description=f"z_{j + 1}" + (f" ({labels[j]})" if j in labels else ""), continuous_update=False, style=style)
        for j in range(n)}
    vmax = None if levels is None else levels - 1

    def current(**values) -> "torch.Tensor":
        return torch.tensor([values[f"z{j + 1}"] for j in range(n)], dtype=start.dtype, device=start.device)

    def render(**values) -> Figure:
        z_now = current(**values)
        image = _decoded_image(decode, z_now, levels)
        fig = Figure(figsize=(scale * 2.2, scale), layout="constrained")
        ax_image, ax_bars = fig.subplots(1, 2, width_ratios=[1, 1.2])
        plot.image_grid(image, vmin=0 if vmax is not None else None, vmax=vmax, ax=ax_image)
        ax_image.set_title("decode(z)", fontsize=7)
        ax_bars.barh(range(1, n + 1), z_now.cpu().numpy(), color=["C0" if j in strong else "0.7" for j in range(n)])
        ax_bars.set_xlim(-limit, limit)
        ax_bars.set_ylim(n + 0.5, 0.5)
        ax_bars.axvline(0, color="k", lw=0.5)
        ax_bars.set_title("z", fontsize=7)
        ax_bars.tick_params(labelsize=6)
        return fig

    box = image_slider_widget(render, sliders)
    box.z = lambda: current(**{name: s.value for name, s in box.sliders.items()})
    return box


def slerp(z_a, z_b, t: float):
    """Spherical interpolation: along the great circle from z_a to z_b, norms interpolated linearly.

    Under a Gaussian prior in many dimensions almost all mass sits near the sphere of radius
    √L, while the straight line between two such points passes closer to the origin, where
    typical latents do not live; slerp stays out at typical norms.
    """
    import torch

    norm_a, norm_b = z_a.norm(), z_b.norm()
    cos = torch.clamp(torch.dot(z_a / norm_a, z_b / norm_b), -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:
        return (1 - t) * z_a + t * z_b
    direction = (torch.sin((1 - t) * omega) * z_a / norm_a + torch.sin(t * omega) * z_b / norm_b) / torch.sin(omega)
    return direction * ((1 - t) * norm_a + t * norm_b)


def interpolation_widget(decode: Callable, z_start, z_end, levels: int | None = None, steps: int = 8,
                         scale: float = 0.9) -> widgets.VBox:
    """A slider t ∈ [0, 1] that walks from z_start to z_end; the image shows decode(z(t)).

    The figure has two rows: the whole path at `steps` evenly spaced t (the start and end
    images at its ends), and the image at the slider's t, large. A dropdown picks the path:
    "linear", z(t) = (1 − t) z_start + t z_end, or "spherical" (`slerp`). `decode` maps (N, L)
    latents to (N, C, H, W) images; z_start, z_end are (L,), e.g. the μ of two encoded digits.
    """
    import torch

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

    def point(t: float, path: str):
        return (1 - t) * z_start + t * z_end if path == "linear" else slerp(z_start, z_end, t)

    def render(t: float, path: str) -> Figure:
        ts = torch.linspace(0, 1, steps).tolist()
        with torch.no_grad():
            strip = decode(torch.stack([point(s, path) for s in ts]))           # (steps, C, H, W)
        here = _decoded_image(decode, point(t, path), levels)                    # (1, C, H, W)
        fig = Figure(figsize=(scale * steps, scale * 2.6), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.6])
        kw = dict(vmin=0 if vmax is not None else None, vmax=vmax)
        plot.image_grid(strip, nrow=steps, titles=[f"t={s:.2f}" for s in ts], ax=top.add_subplot(), **kw)
        ax = bottom.add_subplot()
        plot.image_grid(here, ax=ax, **kw)
        ax.set_title(f"t = {t:.2f} ({path})", fontsize=8)
        return fig

    return image_slider_widget(render, sliders)


__all__ += ["latent_traversal_widget", "interpolation_widget", "slerp"]


def image_rows_slider(rows: Callable[[object], Mapping[str, object]], values, *, description: str = "value",
                      value=None, nrow: int | None = None, scale: float = 0.55,
                      levels: int | None = None) -> widgets.VBox:
    """A slider over `values` above labelled rows of images: row "label" shows `rows(v)["label"]`.

    `rows(v)` returns a dict {label: images (N, C, H, W)}, one row per entry in order (the
    labels can carry numbers, e.g. the reconstruction error at v). Lecture 01 slides the code
    size k of PCA (`{"test digits": x, f"PCA, k = {k}": pca_k(x)}`) and the noise level σ
    of a denoising autoencoder. `values` is any sequence (ints, floats, strings); the slider
    starts at `value` (default: the first) and updates on release. `levels` fixes the colour
    range to 0..levels−1 (integer images); float tensors are drawn on 0..1, values outside clipped.
    The slider is `box.sliders["v"]`.
    """
    import math

    values = list(values)
    if not values:
        raise ValueError("values must hold at least one value for the slider, got an empty sequence")
    if not callable(rows):
        raise ValueError(f"rows must be a callable v -> {{label: images}}, got {type(rows).__name__}")
    start = values[0] if value is None else value
    if start not in values:
        raise ValueError(f"value {start!r} is not one of the slider's values {values}")
    slider = widgets.SelectionSlider(options=values, value=start, description=description,
                                     continuous_update=False, style={"description_width": "90px"})

    def render(v) -> Figure:
        panels = rows(v)
        if not isinstance(panels, Mapping) or not panels:
            raise ValueError(f"rows(v) must return a non-empty dict {{label: images}}, got {type(panels).__name__}")
        counts = {label: len(images) for label, images in panels.items()}
        n = max(counts.values())
        per_row = min(nrow or n, n)
        heights = [math.ceil(c / per_row) for c in counts.values()]
        fig = Figure(figsize=(scale * per_row, scale * 1.35 * sum(heights)), layout="constrained")
        axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
        for ax, (label, images) in zip(axes, panels.items()):
            if levels is not None:
                kw = {"vmin": 0, "vmax": levels - 1}
            else:  # floats on 0..1 (a linear decoder's overshoot is clipped), integers by image_grid's rule
                kw = {"vmin": 0.0, "vmax": 1.0} if getattr(images, "is_floating_point", lambda: False)() else {}
            plot.image_grid(images, nrow=per_row, ax=ax, **kw)
            ax.set_title(str(label), fontsize=8, loc="left")
        return fig

    return image_slider_widget(render, {"v": slider})


__all__ += ["image_rows_slider"]


def _beta_summary(model, x, factors, bins: int, show: int, limit: float, steps: int, max_rows: int,
                  seed: int) -> dict:
    """What the β slider shows for one model: MIG and its parts, rate, distortion, pictures."""
    import torch

    from .evaluation import mig_details
    from .models.vae import gaussian_kl_per_dim

    model.eval()
    device = next(model.parameters()).device
    x = x.to(device)
    with torch.no_grad():
        generator = torch.Generator(device=device).manual_seed(seed)
        rate, distortion = model.rate_distortion(x, generator=generator)           # (N,) each, nats
        mus, log_vars = zip(*(model.encode(x[i:i + 2048]) for i in range(0, len(x), 2048)))
        mu, log_var = torch.cat(mus), torch.cat(log_vars)                         # (N, L) each
        kl_per_dim = gaussian_kl_per_dim(mu, log_var).mean(0)                     # (L,) mean KL of each z_j
        order = torch.argsort(kl_per_dim, descending=True)                        # latents by the nats they carry
        recon = model.reconstruct(x[:show])                                       # (show, C, H, W)
        base = mu[0]                                                              # traverse around x[0]'s code
        values = torch.linspace(-limit, limit, steps, device=device)
        rows = []
        for j in order[:max_rows].tolist():
            z = base.repeat(steps, 1)                                             # (steps, L)
            z[:, j] = values
            rows.append(model.decode(z))                                          # (steps, C, H, W)
    details = mig_details(mu, factors, bins=bins)
    return {"mig": details.score, "details": details, "rate": float(rate.mean()), "distortion": float(distortion.mean()),
            "kl_per_dim": kl_per_dim.cpu(), "order": order.cpu(), "active": int((kl_per_dim > 0.05).sum()),
            "x": x[:show].cpu(), "recon": recon.cpu(), "traversals": [r.cpu() for r in rows], "values": values.cpu()}


def beta_vae_widget(models: Mapping[float, object], x, factors, factor_names: Sequence[str], *,
                    show: int = 8, limit: float = 2.5, steps: int = 9, max_rows: int = 5, bins: int = 20,
                    levels: int | None = 2, seed: int = 0, value: float | None = None) -> widgets.VBox:
    """A β slider over trained β-VAEs: reconstructions, latent traversals and MIG for the chosen β.

    `models` maps each β to a trained VAE (lecture 03 trains them once and caches them, so the
    slider only picks among them). `x` (N, C, H, W) are the images the numbers are measured
    on, `factors` (N, F) their known factors of variation named by `factor_names`. For each β
    the picture shows the first `show` images of `x` and their reconstructions decode(μ);
    one traversal row per latent z_j, the `max_rows` dimensions with the largest mean
    KL(q(z_j | x) ‖ N(0, 1)) first, each moving z_j over `steps` values in [−limit, limit] from
    x[0]'s μ, labelled with the factor it shares most information with; and the matrix of
    normalised mutual information I(z_j; v_k) / H(v_k) behind MIG. The title reads MIG, rate
    R and distortion D (nats, means over `x`; D from one draw seeded by `seed`).

    Everything is computed once here; `box.summaries[β]` holds the numbers ("mig", "rate",
    "distortion", "active", "kl_per_dim", "details": the MIGResult), `box.sliders["beta"]`
    the slider and `box.render(β)` the Figure for one β (a still picture for a static page).
    """
    import torch

    if not isinstance(models, Mapping) or not models:
        got = "an empty dict" if isinstance(models, Mapping) else type(models).__name__
        raise ValueError(f"models must be a non-empty dict {{β: trained VAE}}, got {got}")
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"x must be images of shape (N, C, H, W), got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    if not isinstance(factors, torch.Tensor) or factors.dim() != 2 or factors.shape[0] != x.shape[0]:
        got = tuple(factors.shape) if isinstance(factors, torch.Tensor) else type(factors).__name__
        raise ValueError(f"factors must have shape ({x.shape[0]}, F), one row per image of x, got {got}")
    if len(factor_names) != factors.shape[1]:
        raise ValueError(f"factor_names must name the {factors.shape[1]} factors, got {list(factor_names)}")
    if not 1 <= show <= x.shape[0]:
        raise ValueError(f"show must be in 1..{x.shape[0]} (the images of x), got {show!r}")
    betas = sorted(float(b) for b in models)
    by_beta = {float(b): m for b, m in models.items()}
    summaries = {b: _beta_summary(by_beta[b], x, factors, bins, show, limit, steps, max_rows, seed) for b in betas}
    vmax = None if levels is None else levels - 1
    names = list(factor_names)

    def render(beta: float) -> Figure:
        s = summaries[beta]
        rows = s["traversals"]
        latent_dim = len(s["kl_per_dim"])
        fig = Figure(figsize=(9.0, 1.0 + 0.62 * (2 + len(rows))), layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=[1.75, 1])
        axes = left.subplots(2 + len(rows), 1, squeeze=False)[:, 0]
        grid_kw = {"vmin": 0, "vmax": vmax} if vmax is not None else {"vmin": 0.0, "vmax": 1.0}
        plot.image_grid(s["x"], nrow=show, ax=axes[0], **grid_kw)
        axes[0].set_title("data x", fontsize=8, loc="left")
        plot.image_grid(s["recon"], nrow=show, ax=axes[1], **grid_kw)
        axes[1].set_title("reconstruction decode(μ(x))", fontsize=8, loc="left")
        normalized = s["details"].normalized_mi                                   # (L, F)
        for ax, images, j in zip(axes[2:], rows, s["order"].tolist()):
            plot.image_grid(images, nrow=len(images), ax=ax, **grid_kw)
            k = int(normalized[j].argmax())
            ax.set_title(f"z_{j + 1}: KL {float(s['kl_per_dim'][j]):.2f} nats; most about {names[k]} "
                         f"({float(normalized[j, k]):.2f})", fontsize=8, loc="left")
        ax = right.subplots()
        shown = s["order"].tolist()
        ax.imshow(normalized[shown].cpu().numpy(), vmin=0, vmax=1, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(names)), names, rotation=45, fontsize=8)
        ax.set_yticks(range(latent_dim), [f"z_{j + 1}" for j in shown], fontsize=7)
        for r, j in enumerate(shown):
            for k in range(len(names)):
                v = float(normalized[j, k])
                if v >= 0.05:
                    ax.text(k, r, f"{v:.2f}", ha="center", va="center", fontsize=6, color="w" if v < 0.6 else "k")
        ax.set_title("I(z_j; v_k) / H(v_k)", fontsize=8)
        fig.suptitle(f"β = {beta:g}:  MIG {s['mig']:.3f},  rate R {s['rate']:.1f} nats,  distortion D "
                     f"{s['distortion']:.1f} nats,  {s['active']} of {latent_dim} latents active", fontsize=9)
        return fig

    start = betas[0] if value is None else float(value)
    if start not in summaries:
        raise ValueError(f"value {value!r} is not one of the trained β values {betas}")
    slider = widgets.SelectionSlider(options=[(f"{b:g}", b) for b in betas], value=start, description="β (beta_kl)",
                                     continuous_update=False, style={"description_width": "90px"})
    box = image_slider_widget(render, {"beta": slider})
    box.summaries = summaries
    box.render = render   # box.render(β) -> Figure: a still of any stop, e.g. for a static page
    return box


__all__ += ["beta_vae_widget"]
