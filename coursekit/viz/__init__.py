"""Figures and slider widgets for the lectures: a small generic layer, then one file per idea.

    from coursekit import viz
    viz.show(viz.image_grid(samples, nrow=8), alt="64 samples")   # a figure in a notebook cell
    viz.kl_fit_demo(separation=3.0)                 # a widget: last line of a cell

The generic layer:

- `figures`: `image_grid`, `density_2d`, `scatter_2d`, `training_curves`, `series_figure` (lines over a
  measured x); `to_png`, `show` (with alt text), `describe`, `png_size`, `clear_panel`, `PNG_DPI`, `CATEGORICAL`;
- `slider`: the slider frame every widget uses, `image_slider_widget` (sliders above or beside
  a PNG of `render(**values)`), `image_rows_slider` (labelled image rows under one slider),
  `figure_png` (the widgets' one-draw PNG), `close_figure`.

One file per idea, each of which only draws (the numbers come from the model, `divergences`
or `evaluation` code):

- `kl_fit`: forward vs reverse KL fits of one Gaussian to a mixture (lecture 00), `kl_fit_figure`, `kl_fit_demo`;
- `trilemma`: the generative learning trilemma as a picture (lecture 00), `trilemma_figure`;
- `latent`: walking a latent space (lectures 01-02), `latent_traversal_widget`, `interpolation_widget`;
- `beta_vae`: the β slider over trained β-VAEs (lecture 03), `beta_vae_widget`;
- `autoregressive`: MADE's masks, receptive fields and the blind spot, receptive-field growth, sampling
  time against pixels, and the temperature / completion slider (lecture 04), `made_masks_figure`,
  `receptive_field_figure`, `receptive_field_growth_figure`, `sampling_time_figure`, `sampling_widget`;
- `attention`: attention weights, the softmax without √d, the cost against T, the sinusoidal position table and a
  trained GPT's attention over a digit (lecture 05), `attention_weights_figure`, `softmax_saturation_figure`,
  `attention_cost_figure`, `positional_encoding_figure`, `attention_map_figure`;
- `flows`: the change of variables in 1-D and 2-D, what a determinant costs, 2-D flow densities and the density
  along a path between modes, the bits/dim bars, and the slider through a 2-D flow's layers (lecture 06),
  `change_of_variables_1d_figure`, `density_maps_figure`, `determinant_cost_figure`, `density_profile_figure`,
  `bits_per_dim_figure`, `flow_layers_widget`;
- `gan`: the discriminator against D* on a 1-D mixture, the generator's gradients against D(G(z)), ring samples
  with their mode coverage, the two players' losses, labelled image rows, a Fréchet distance beside its scale,
  CycleGAN's arrows and the latent-walk slider (lecture 07), `discriminator_1d_figure`, `generator_gradients_figure`,
  `ring_samples_figure`, `adversarial_curves_figure`, `image_rows_figure`, `frechet_scale_figure`,
  `cycle_arrows_figure`, `latent_walk_slider`;
- `diffusion`: the noise schedules, the forward-process slider (x_t of a few digits and a 2-D marginal at step t),
  stepped reverse trajectories, the bound term by term, samplers' quality and time by steps, a learned score beside
  the exact one, and the guidance-weight slider (lecture 08), `schedule_figure`, `forward_process_slider`,
  `trajectory_figure`, `bound_terms_figure`, `sampler_steps_figure`, `vector_fields_figure`, `guidance_slider`;
- `comparison`: the benchmark's rows (`coursekit.evaluation.suite.summarise`) as pictures — likelihood against sample
  quality, sampling speed by family, the trilemma measured — the noise-dilution slider and a table to sort and
  filter (lecture 09), `likelihood_quality_figure`, `sampling_speed_figure`, `trilemma_measured_figure`,
  `noise_dilution_slider`, `results_table_widget`.

Conventions. No pyplot, anywhere: a figure is a `matplotlib.figure.Figure` made with
`Figure()` and nothing calls `matplotlib.use`, so `%matplotlib inline` and the widgets keep
working; Jupyter shows a bare Figure only through `viz.show(fig, alt="what it shows")`.
Figures are PNG at `PNG_DPI` = 120 with a 256-colour palette (lighter than the full-colour
80-dpi PNGs before them: the notebooks are committed with their outputs). Importing `viz`
sets matplotlib's colour cycle to `CATEGORICAL`, ten colours a colour-blind reader tells
apart (no red beside a green); heat maps use viridis, with `colorbar=True` for a scale.
Tensors may be passed as they are (detached and moved to the CPU here), and most figures take
`ax=` to draw into a panel. A widget is sliders plus an `ipywidgets.Image` holding the PNG of
a Figure (kept and redrawn, one draw per slider change, shown at its pixel size), returned as a
box with its parts as attributes: `.image`, `.sliders` (a dict by name) and, per widget,
`.readout`, `.z()`, `.summaries`, `.render`. `benchmarks/widget_times.py` times every widget.
"""
from .attention import (attention_cost_figure, attention_map_figure, attention_weights_figure,
                        positional_encoding_figure, softmax_saturation_figure)
from .autoregressive import (made_masks_figure, receptive_field_figure, receptive_field_growth_figure,
                             sampling_time_figure, sampling_widget)
from .beta_vae import beta_vae_widget
from .comparison import (likelihood_quality_figure, noise_dilution_slider, results_table_widget, sampling_speed_figure,
                         trilemma_measured_figure)
from .diffusion import (bound_terms_figure, forward_process_slider, guidance_slider, sampler_steps_figure,
                        schedule_figure, trajectory_figure, vector_fields_figure)
from .figures import (CATEGORICAL, PNG_DPI, clear_panel, density_2d, describe, image_grid, png_size, scatter_2d,
                      series_figure, show, to_png, training_curves)
from .flows import (bits_per_dim_figure, change_of_variables_1d_figure, density_maps_figure, density_profile_figure,
                    determinant_cost_figure, flow_layers_widget)
from .gan import (adversarial_curves_figure, cycle_arrows_figure, discriminator_1d_figure, frechet_scale_figure,
                  generator_gradients_figure, image_rows_figure, latent_walk_slider, ring_samples_figure)
from .kl_fit import kl_fit_demo, kl_fit_figure
from .latent import interpolation_widget, latent_traversal_widget
from .slider import close_figure, figure_png, image_rows_slider, image_slider_widget
from .trilemma import trilemma_figure

__all__ = [
    "PNG_DPI", "CATEGORICAL", "to_png", "png_size", "show", "describe", "clear_panel",
    "image_grid", "density_2d", "scatter_2d", "training_curves", "series_figure",
    "image_slider_widget", "image_rows_slider", "figure_png", "close_figure",
    "kl_fit_figure", "kl_fit_demo", "trilemma_figure",
    "latent_traversal_widget", "interpolation_widget",
    "beta_vae_widget",
    "made_masks_figure", "receptive_field_figure", "receptive_field_growth_figure", "sampling_time_figure",
    "sampling_widget",
    "attention_weights_figure", "softmax_saturation_figure", "attention_cost_figure", "positional_encoding_figure",
    "attention_map_figure",
    "change_of_variables_1d_figure", "density_maps_figure", "determinant_cost_figure", "density_profile_figure",
    "bits_per_dim_figure", "flow_layers_widget",
    "discriminator_1d_figure", "generator_gradients_figure", "ring_samples_figure", "adversarial_curves_figure",
    "image_rows_figure", "frechet_scale_figure", "cycle_arrows_figure", "latent_walk_slider",
    "schedule_figure", "forward_process_slider", "trajectory_figure", "bound_terms_figure", "sampler_steps_figure",
    "vector_fields_figure", "guidance_slider",
    "likelihood_quality_figure", "sampling_speed_figure", "trilemma_measured_figure", "noise_dilution_slider",
    "results_table_widget",
]
