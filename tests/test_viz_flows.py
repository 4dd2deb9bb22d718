"""Lecture 06's pictures: the change of variables, density maps, determinant cost, density profiles, the bits/dim bars
and the slider through a 2-D flow's layers. They only draw, so the tests check that what is drawn is what the
numbers say."""
import math

import numpy as np
import pytest
import torch

from coursekit.models.realnvp import Flow2D
from coursekit.viz.flows import (bits_per_dim_figure, change_of_variables_1d_figure, density_maps_figure,
                                 density_profile_figure, determinant_cost_figure, flow_layers_widget)


def test_change_of_variables_figure_draws_p_z_times_the_jacobian():
    x = torch.linspace(-3, 3, 61)
    z = 2 * x                                                           # f' = 2 everywhere: log-det log 2
    log_det = torch.full_like(x, math.log(2))
    log_p_z = -0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)
    fig = change_of_variables_1d_figure(x, z, log_det, log_p_z)
    density_panel = fig.axes[3]
    p_x, p_z_alone = (line.get_ydata() for line in density_panel.get_lines())
    assert np.allclose(p_x, 2 * np.exp(log_p_z.numpy()))               # p_X = p_Z(f(x)) · |f'(x)|
    assert np.allclose(p_z_alone, np.exp(log_p_z.numpy()))
    assert np.allclose(fig.axes[2].get_lines()[0].get_ydata(), math.log(2))
    with pytest.raises(ValueError, match=r"shape \(61,\)"):
        change_of_variables_1d_figure(x, z[:10], log_det, log_p_z)


def test_density_maps_figure_draws_each_map_with_its_colour_bar_and_clips_at_the_floor():
    values = torch.arange(12.0).reshape(3, 4) - 20                      # −20 … −9
    fig = density_maps_figure({"log p": values}, (-1, 1, -2, 2), labels={"log p": "nats"},
                              points={"samples": torch.zeros(5, 2)}, floor=-12)
    image = fig.axes[0].images[0]
    assert np.allclose(image.get_array(), np.maximum(values.numpy(), -12))
    assert image.get_extent() == [-1, 1, -2, 2]
    assert any(ax.get_ylabel() == "nats" for ax in fig.axes)            # the colour bar says what it measures
    assert "5 points" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        density_maps_figure({}, (0, 1, 0, 1), points={"p": torch.zeros(3, 3)})
    with pytest.raises(ValueError, match=r"2-D grid"):
        density_maps_figure({"m": torch.zeros(3)}, (0, 1, 0, 1))


def test_determinant_cost_figure_puts_each_reference_through_its_methods_last_point():
    sizes, general, triangular = [10, 20, 40], [1.0, 8.0, 64.0], [1.0, 1.0, 1.0]
    fig = determinant_cost_figure(sizes, {"general": general, "triangular": triangular},
                                  powers={"general": 3, "triangular": 1})
    lines = fig.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in lines[:2]] == [general, triangular]
    assert np.allclose(lines[2].get_ydata(), [1.0, 8.0, 64.0])         # ∝ n³ through (40, 64)
    assert np.allclose(lines[3].get_ydata(), [0.25, 0.5, 1.0])         # ∝ n through (40, 1)
    with pytest.raises(ValueError, match="one time per entry"):
        determinant_cost_figure(sizes, {"general": [1.0]})
    with pytest.raises(ValueError, match="not in seconds"):
        determinant_cost_figure(sizes, {"general": general}, powers={"other": 1})


def test_density_profile_figure_plots_the_curves_given():
    t = np.linspace(0, 1, 5)
    fig = density_profile_figure(t, {"true": -t ** 2, "flow": -t}, marks={"mode": 0.0})
    lines = fig.axes[0].get_lines()
    assert np.allclose(lines[0].get_ydata(), -t ** 2) and np.allclose(lines[1].get_ydata(), -t)
    with pytest.raises(ValueError, match=r"\(5,\)"):
        density_profile_figure(t, {"true": np.zeros(4)})


def test_bits_per_dim_figure_hatches_the_bounds_only_and_prints_each_value():
    rows = {"PixelCNN": 1.878, "RealNVP": 2.083}
    fig = bits_per_dim_figure(rows, bounds=["RealNVP"], references={"floor": 2.398})
    ax = fig.axes[0]
    bars = ax.patches
    assert [round(b.get_width(), 3) for b in bars] == [1.878, 2.083]
    assert [bool(b.get_hatch()) for b in bars] == [False, True]         # the bound is hatched, the exact is not
    assert {" 1.878", " 2.083"} <= {t.get_text() for t in ax.texts}
    assert any(np.allclose(line.get_xdata(), 2.398) for line in ax.get_lines())
    with pytest.raises(ValueError, match="not in rows"):
        bits_per_dim_figure(rows, bounds=["GPT"])


def test_flow_layers_widget_shows_the_chosen_layers_points():
    torch.manual_seed(0)
    model = Flow2D(layers=2, hidden=8)
    states = model.layer_samples(50, generator=torch.Generator().manual_seed(0))
    assert len(states) == 5                                             # z, then 2 × (coupling⁻¹, ActNorm⁻¹)
    names = ["z"] + [f"layer {k}" for k in range(1, 5)]
    box = flow_layers_widget(states, names)
    first = box.image.value
    assert np.allclose(box.scatter.get_offsets(), states[0].numpy())   # step 0: the base sample z
    box.sliders["layer"].value = 4
    assert np.allclose(box.scatter.get_offsets(), states[4].numpy())   # the last step: the flow's sample x
    assert box.image.value != first
    assert np.allclose(box.scatter.get_array(), states[0][:, 0].numpy())   # colours follow each point's z₁
    with pytest.raises(ValueError, match="label every state"):
        flow_layers_widget(states, names[:2])
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        flow_layers_widget([torch.zeros(3, 3)], ["z"])
