"""Lecture 03's β slider: what each trained β-VAE's code keeps, in one picture per β.

For each β the picture shows images and their reconstructions decode(μ(x)), one latent
traversal per row (the dimensions carrying the most KL first, each labelled with the factor it
shares most information with) and the normalised mutual-information matrix I(z_j; v_k)/H(v_k)
behind MIG; the title reads MIG (computed on the active latents: a switched-off latent, mean KL at
most `ACTIVE_KL` nats, carries no information, so its row of the matrix is 0), rate R, distortion D
and the number of active latents.

The numbers come from the model and evaluation code, not from here: `VAE.latent_report`
(rate, distortion, μ, the per-dimension KL, the latent order, the active count),
`VAE.reconstruct`, `VAE.traverse` and `evaluation.mig_details` (with `MIGResult.top_factor`).
This file calls them once per β and draws. The widget is the slider frame of
`coursekit.viz.slider` (a `matplotlib.figure.Figure` per stop, no pyplot, shown as a PNG):
`box.sliders["beta"]`, `box.image`, and `box.summaries[β]` and `box.render(β)`.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from ..evaluation.disentanglement import ACTIVE_KL, mig_details
from ..utils import seeded_generator
from .figures import clear_panel, image_grid
from .slider import image_slider_widget

__all__ = ["beta_vae_widget"]


def _beta_summary(model, x: torch.Tensor, factors: torch.Tensor, bins: int, show: int, limit: float, steps: int,
                  max_rows: int, seed: int, active_kl: float) -> dict:
    """What the β slider shows for one model, gathered from the model's and the evaluation's own methods."""
    model.eval()
    device = next(model.parameters()).device
    x = x.to(device)
    generator = seeded_generator(seed)      # D's one draw (a CPU generator: the same numbers on every device)
    report = model.latent_report(x, generator=generator)              # R, D (N,); μ (N, L); KL per z_j (L,)
    order = report.order                                              # latents by the nats they carry
    recon = model.reconstruct(x[:show])                               # (show, C, H, W)
    values = torch.linspace(-limit, limit, steps, device=device)
    rows = model.traverse(report.mu[0], order[:max_rows], values)     # (rows, steps, C, H, W) around x[0]'s μ
    active = report.kl_per_dim > active_kl                            # (L,) switched-off latents carry no information
    details = mig_details(report.mu, factors, bins=bins, active=active)
    return {"mig": details.score, "mig_all": details.on_all_latents().score, "details": details, "rate": float(report.rate.mean()),
            "distortion": float(report.distortion.mean()), "kl_per_dim": report.kl_per_dim.cpu(), "order": order.cpu(),
            "active": report.active, "x": x[:show].cpu(), "recon": recon.cpu(), "traversals": list(rows.cpu()),
            "values": values.cpu()}


def beta_vae_widget(models: Mapping[float, object], x, factors, factor_names: Sequence[str], *,
                    show: int = 8, limit: float = 2.5, steps: int = 9, max_rows: int = 5, bins: int = 20,
                    levels: int | None = 2, seed: int = 0, value: float | None = None,
                    active_kl: float = ACTIVE_KL) -> widgets.VBox:
    """A β slider over trained β-VAEs: reconstructions, latent traversals and MIG for the chosen β.

    `models` maps each β to a trained VAE (lecture 03 trains them once and caches them, so the
    slider only picks among them). `x` (N, C, H, W) are the images the numbers are measured
    on, `factors` (N, F) their known factors of variation named by `factor_names`. For each β
    the picture shows the first `show` images of `x` and their reconstructions decode(μ);
    one traversal row per latent z_j, the `max_rows` dimensions with the largest mean
    KL(q(z_j | x) ‖ N(0, 1)) first, each moving z_j over `steps` values in [−limit, limit] from
    x[0]'s μ, labelled with the factor it shares most information with; and the matrix of
    normalised mutual information I(z_j; v_k) / H(v_k) behind MIG. The title reads MIG (on the
    latents whose mean KL exceeds `active_kl` nats; "mig_all" in the summary is on all latents), rate
    R and distortion D (nats, means over `x`; D from one draw seeded by `seed`).

    Everything is computed once, when the widget is built; `box.summaries[β]` holds the numbers
    ("mig", "rate", "distortion", "active", "kl_per_dim", "order", "details": the MIGResult) and
    the pictures' tensors ("x", "recon", "traversals", "values"), `box.sliders["beta"]` the
    slider and `box.render(β)` the Figure for one β (a still picture for a static page). The
    widget keeps one figure, redrawn for each β, and each β's picture once drawn.
    """
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
    summaries = {b: _beta_summary(by_beta[b], x, factors, bins, show, limit, steps, max_rows, seed, active_kl)
                 for b in betas}
    vmax = None if levels is None else levels - 1
    names = list(factor_names)

    def layout(n_rows: int) -> tuple[Figure, list, object]:
        fig = Figure(figsize=(9.0, 1.0 + 0.62 * (2 + n_rows)), layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=[1.75, 1])
        return fig, list(left.subplots(2 + n_rows, 1, squeeze=False)[:, 0]), right.subplots()

    def draw(fig: Figure, axes: list, ax, beta: float) -> Figure:
        s = summaries[beta]
        rows = s["traversals"]
        latent_dim = len(s["kl_per_dim"])
        grid_kw = {"vmin": 0, "vmax": vmax} if vmax is not None else {"vmin": 0.0, "vmax": 1.0}
        image_grid(s["x"], nrow=show, ax=axes[0], **grid_kw)
        axes[0].set_title("data x", fontsize=8, loc="left", y=1.0)
        image_grid(s["recon"], nrow=show, ax=axes[1], **grid_kw)
        axes[1].set_title("reconstruction decode(μ(x))", fontsize=8, loc="left", y=1.0)
        normalized = s["details"].normalized_mi                                   # (L, F)
        top_factor = s["details"].top_factor                                      # (L,)
        for row_ax, images, j in zip(axes[2:], rows, s["order"].tolist()):
            image_grid(images, nrow=len(images), ax=row_ax, **grid_kw)
            k = int(top_factor[j])
            row_ax.set_title(f"z_{j + 1}: KL {float(s['kl_per_dim'][j]):.2f} nats; most about {names[k]} "
                             f"({float(normalized[j, k]):.2f})", fontsize=8, loc="left", y=1.0)
        shown = s["order"].tolist()
        ax.imshow(normalized[shown].cpu().numpy(), vmin=0, vmax=1, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(names)), names, rotation=45, fontsize=8)
        ax.set_yticks(range(latent_dim), [f"z_{j + 1}" for j in shown], fontsize=7)
        for r, j in enumerate(shown):
            for k in range(len(names)):
                v = float(normalized[j, k])
                if v >= 0.05:
                    ax.text(k, r, f"{v:.2f}", ha="center", va="center", fontsize=6, color="w" if v < 0.6 else "k")
        ax.set_title("I(z_j; v_k) / H(v_k)", fontsize=8, y=1.0)
        fig.suptitle(f"β = {beta:g}:  MIG {s['mig']:.3f} (on the active latents),  rate R {s['rate']:.1f} nats,  distortion D "
                     f"{s['distortion']:.1f} nats,  {s['active']} of {latent_dim} latents active", fontsize=9)
        return fig

    def render(beta: float) -> Figure:
        """A new Figure for one β (a still, e.g. for a static page)."""
        return draw(*layout(len(summaries[beta]["traversals"])), beta)

    kept: dict = {}   # the widget's one figure, its panels cleared and drawn again for each β

    def render_in_place(beta: float) -> Figure:
        n_rows = len(summaries[beta]["traversals"])
        if kept.get("n_rows") != n_rows:
            kept.update(zip(("fig", "axes", "ax"), layout(n_rows)), n_rows=n_rows)
        else:
            for panel in (*kept["axes"], kept["ax"]):
                clear_panel(panel)
        return draw(kept["fig"], kept["axes"], kept["ax"], beta)

    start = betas[0] if value is None else float(value)
    if start not in summaries:
        raise ValueError(f"value {value!r} is not one of the trained β values {betas}")
    slider = widgets.SelectionSlider(options=[(f"{b:g}", b) for b in betas], value=start, description="β (beta_kl)",
                                     continuous_update=False, style={"description_width": "90px"})
    # 100 dpi: the 9-inch picture is 900 px wide, within a notebook's width (shown at its pixel size, not shrunk)
    box = image_slider_widget(render_in_place, {"beta": slider}, dpi=100, cache=len(betas))
    box.summaries = summaries
    box.render = render   # box.render(β) -> Figure: a still of any stop, e.g. for a static page
    return box
