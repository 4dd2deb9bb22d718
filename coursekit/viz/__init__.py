"""Figures and slider widgets for the lectures: a small generic layer, then one file per idea.

    from coursekit import viz
    viz.show(viz.image_grid(samples, nrow=8))       # a figure in a notebook cell
    viz.kl_fit_demo(separation=3.0)                 # a widget: last line of a cell

The generic layer:

- `figures`: `image_grid`, `density_2d`, `scatter_2d`, `training_curves`; `to_png`, `show`, `PNG_DPI`;
- `slider`: the slider frame every widget uses, `image_slider_widget` (sliders above a PNG of
  `render(**values)`), `image_rows_slider` (labelled image rows under one slider), `close_figure`.

One file per idea, each of which only draws (the numbers come from the model, `divergences`
or `evaluation` code):

- `kl_fit`: forward vs reverse KL fits of one Gaussian to a mixture (lecture 00), `kl_fit_figure`, `kl_fit_demo`;
- `latent`: walking a latent space (lectures 01-02), `latent_traversal_widget`, `interpolation_widget`;
- `beta_vae`: the β slider over trained β-VAEs (lecture 03), `beta_vae_widget`.

Conventions. No pyplot, anywhere: a figure is a `matplotlib.figure.Figure` made with
`Figure()` and nothing calls `matplotlib.use`, so `%matplotlib inline` and the widgets keep
working; Jupyter shows a bare Figure only through `viz.show(fig)`. Figures are small (PNG at
`PNG_DPI` = 80) because the notebooks are committed with their outputs; tensors may be passed
as they are (detached and moved to the CPU here), and most figures take `ax=` to draw into a
panel. A widget is sliders plus an `ipywidgets.Image` holding the PNG of a Figure, re-rendered
on every slider change, returned as a `VBox` with its parts as attributes: `.image`,
`.sliders` (a dict by name) and, per widget, `.readout`, `.z()`, `.summaries`, `.render`.
"""
from .beta_vae import beta_vae_widget
from .figures import PNG_DPI, density_2d, image_grid, scatter_2d, show, to_png, training_curves
from .kl_fit import kl_fit_demo, kl_fit_figure
from .latent import interpolation_widget, latent_traversal_widget
from .slider import close_figure, image_rows_slider, image_slider_widget

__all__ = [
    "PNG_DPI", "to_png", "show", "image_grid", "density_2d", "scatter_2d", "training_curves",
    "image_slider_widget", "image_rows_slider", "close_figure",
    "kl_fit_figure", "kl_fit_demo",
    "latent_traversal_widget", "interpolation_widget",
    "beta_vae_widget",
]
