"""Lecture 07's pictures: D against D*, the generator's gradients, ring samples with their coverage, the players'
losses, labelled image rows, a Fréchet distance beside its scale, CycleGAN arrows and the latent-walk slider. They
only draw, so the tests check that what is drawn is what the numbers say, and that the slider moves the codes."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from coursekit import viz
from coursekit.viz.gan import (adversarial_curves_figure, cycle_arrows_figure, discriminator_1d_figure,
                               frechet_scale_figure, generator_gradients_figure, image_rows_figure,
                               latent_walk_slider, ring_samples_figure)


def test_the_gan_figures_are_exported_by_viz():
    for name in ("discriminator_1d_figure", "generator_gradients_figure", "ring_samples_figure",
                 "adversarial_curves_figure", "image_rows_figure", "frechet_scale_figure", "cycle_arrows_figure",
                 "latent_walk_slider"):
        assert name in viz.__all__ and callable(getattr(viz, name))


def _overlaps_an_axes(fig, artist) -> bool:
    """Whether `artist` (a legend) covers any part of a panel, once the figure's layout is done."""
    fig.draw_without_rendering()
    box = artist.get_window_extent()
    return any(box.overlaps(ax.get_window_extent()) for ax in fig.axes)


def test_discriminator_figure_draws_the_curves_given_and_the_half_line():
    x = torch.linspace(-4, 4, 81)
    p_d, p_m = torch.exp(-(x + 2) ** 2), torch.exp(-(x - 2) ** 2)
    d_star = p_d / (p_d + p_m)
    fig = discriminator_1d_figure(x, {"p_d": p_d, "p_m": p_m}, {"D*": d_star, "trained D": d_star.flip(0)})
    ax_p, ax_d = fig.axes
    assert [line.get_label() for line in ax_p.get_lines()] == ["p_d", "p_m"]
    assert np.allclose(ax_d.get_lines()[0].get_ydata(), d_star.numpy())
    assert any(np.allclose(line.get_ydata(), 0.5) for line in ax_d.get_lines())     # ½ where p_d = p_m
    assert "D(x)" in ax_d.get_ylabel()
    with pytest.raises(ValueError, match=r"\(81,\)"):
        discriminator_1d_figure(x, {"p_d": p_d[:5]}, {"D*": d_star})


def test_discriminator_curves_are_told_apart_without_colour():
    x = torch.linspace(-4, 4, 81)
    d_star = torch.sigmoid(x)
    fitted = {f"D after k = {k}": torch.sigmoid(x / k) for k in (1, 10, 100, 1000, 10000)}
    fig = discriminator_1d_figure(x, {"p_d": d_star}, {"D*": d_star, **fitted})
    ax_d = fig.axes[1]
    reference, *others = ax_d.get_lines()[:1 + len(fitted)]
    assert reference.get_label() == "D*" and reference.get_color() == "black" and not reference.is_dashed()
    assert all(reference.get_linewidth() > line.get_linewidth() for line in others)
    assert all(line.is_dashed() for line in others)                       # no trained D is solid like D*
    patterns = [tuple(line._unscaled_dash_pattern[1]) for line in others]
    assert len(set(patterns)) == len(patterns)                            # and no two share a dash pattern
    assert "#bd1f01" not in {line.get_color() for line in others}        # the red that looked like D*'s orange
    assert not _overlaps_an_axes(fig, ax_d.get_legend())                  # the legend covers no curve


def test_generator_gradients_figure_plots_gradient_sizes_on_a_log_axis():
    d = torch.linspace(0.01, 0.99, 50)
    fig = generator_gradients_figure(d, {"saturating": torch.log1p(-d), "non-saturating": -torch.log(d)},
                                     {"saturating": -d, "non-saturating": -(1 - d)})
    ax_l, ax_g = fig.axes
    assert ax_g.get_yscale() == "log"
    assert np.allclose(ax_g.get_lines()[0].get_ydata(), d.numpy())        # |∂/∂logit| of log(1 − D) is D
    assert np.allclose(ax_g.get_lines()[1].get_ydata(), 1 - d.numpy())    # of −log D it is 1 − D
    assert ax_l.get_xlabel() == "D(G(z))"
    with pytest.raises(ValueError, match="same curves"):
        generator_gradients_figure(d, {"a": d}, {"b": d})


def test_ring_figure_draws_one_panel_per_loss_with_a_circle_per_mode_and_the_coverage():
    angles = torch.arange(8) * math.pi / 4
    modes = 2 * torch.stack([angles.cos(), angles.sin()], 1)                 # (8, 2)
    samples = {"vanilla": modes[:2].repeat(50, 1), "WGAN-GP": modes.repeat(10, 1)}
    coverage = {"vanilla": {"modes_hit": 2, "fraction_near_a_mode": 1.0}}
    fig = ring_samples_figure(samples, modes, 0.1, coverage)
    axes = fig.axes
    assert len(axes) == 2
    assert "2/8 modes, 100% within 3σ" in axes[0].get_title() and axes[1].get_title() == "WGAN-GP"
    circles = [p for p in axes[0].patches if hasattr(p, "radius")]
    assert len(circles) == 8 and all(math.isclose(c.radius, 0.3) for c in circles)
    assert np.allclose(axes[0].collections[0].get_offsets(), samples["vanilla"].numpy())
    far = ring_samples_figure({"far": torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, -10.0], [1.0, 1.0]])}, modes, 0.1)
    assert "(50% outside the view)" in far.axes[0].get_title()            # points beyond the square are counted
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        ring_samples_figure({"x": torch.zeros(3, 3)}, modes, 0.1)
    with pytest.raises(ValueError, match="not in samples"):
        ring_samples_figure(samples, modes, 0.1, {"other": coverage["vanilla"]})


def _rows(fig):
    """The panels' boxes (figure fractions) grouped into rows, top row first, each left to right, after layout."""
    fig.draw_without_rendering()
    rows = {}
    for ax in fig.axes:
        box = ax.get_position()
        rows.setdefault(round(box.y0, 3), []).append(box)
    return [sorted(boxes, key=lambda b: b.x0) for _, boxes in sorted(rows.items(), reverse=True)]


def test_ring_and_loss_figures_put_five_runs_in_one_row_and_centre_a_short_last_row():
    angles = torch.arange(8) * math.pi / 4
    modes = 2 * torch.stack([angles.cos(), angles.sin()], 1)                 # (8, 2)
    five = {f"run {i}": modes.repeat(4, 1) for i in range(5)}
    history = {"d_loss": [1.0] * 30, "g_loss": [0.5] * 30}
    for fig in (ring_samples_figure(five, modes, 0.1), adversarial_curves_figure({n: history for n in five})):
        assert len(fig.axes) == 5 and [len(row) for row in _rows(fig)] == [5]   # no empty axes
        assert all(t.get_size() >= 7 for ax in fig.axes for t in ax.get_xticklabels())
    seven = ring_samples_figure({f"run {i}": modes for i in range(7)}, modes, 0.1)
    top, bottom = _rows(seven)
    assert len(seven.axes) == 7 and (len(top), len(bottom)) == (4, 3)
    left_gap, right_gap = bottom[0].x0 - top[0].x0, top[-1].x1 - bottom[-1].x1
    assert left_gap > 0 and math.isclose(left_gap, right_gap, abs_tol=0.02)  # the short row sits in the middle


def test_adversarial_curves_leave_out_the_steps_a_loss_was_not_logged():
    d_loss = [1.0] * 40
    g_loss = [float("nan") if s % 2 else 2.0 for s in range(40)]               # the generator steps every other step
    fig = adversarial_curves_figure({"k = 2": {"d_loss": d_loss, "g_loss": g_loss}}, smooth=1)
    lines = fig.axes[0].get_lines()
    raw_g = lines[2]
    assert list(raw_g.get_xdata()) == list(range(0, 40, 2)) and np.allclose(raw_g.get_ydata(), 2.0)
    assert fig.axes[0].get_title() == "k = 2"
    assert fig.axes[0].get_legend() is None and len(fig.legends) == 1     # one legend for every panel, below
    assert not _overlaps_an_axes(fig, fig.legends[0])
    with pytest.raises(ValueError, match="g_loss"):
        adversarial_curves_figure({"run": {"d_loss": d_loss}})


def test_image_rows_figure_labels_each_row():
    rows = {"x": torch.randint(0, 17, (6, 1, 8, 8)), "G(z*)": torch.randint(0, 17, (6, 1, 8, 8))}
    fig = image_rows_figure(rows, titles={"G(z*)": [f"{e:.1f}" for e in range(6)]}, levels=17)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["x", "G(z*)"]
    assert {"0.0", "5.0"} <= {t.get_text() for t in fig.axes[1].texts}
    with pytest.raises(ValueError, match="not in rows"):
        image_rows_figure(rows, titles={"y": ["a"]})


def test_frechet_scale_figure_draws_bars_from_zero_with_their_values():
    fig = frechet_scale_figure({"DCGAN": 31.4}, {"real vs real": 7.0, "independent pixels": 112.0})
    ax = fig.axes[0]
    assert [round(b.get_width(), 1) for b in ax.patches] == [31.4, 7.0, 112.0]
    assert [bool(b.get_hatch()) for b in ax.patches] == [False, True, True]   # the scale is hatched, the model not
    assert ax.get_xlim()[0] == 0.0
    assert {" 31.4", " 112.0"} <= {t.get_text() for t in ax.texts}


def test_cycle_arrows_title_is_the_mean_cycle_error():
    x = torch.zeros(10, 2)
    run = {"x": x, "translated": x + 1, "reconstructed": x + torch.tensor([3.0, -4.0])}   # ‖G(F(x)) − x‖₁ = 7
    fig = cycle_arrows_figure({"no cycle loss": run}, domain_x=x, domain_y=x + 1, arrows=4)
    assert "= 7.000" in fig.axes[0].get_title()
    assert len(fig.axes[0].texts) == 8                                     # two arrows for each of the 4 points
    assert fig.axes[0].get_legend() is None and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["domain X", "domain Y", "x", "F(x)", "G(F(x))",
                                                                 "x → F(x)", "F(x) → G(F(x))"]
    assert not _overlaps_an_axes(fig, fig.legends[0])                     # it covers no mode of any panel
    with pytest.raises(ValueError, match="missing"):
        cycle_arrows_figure({"bad": {"x": x}})


def test_latent_walk_slider_moves_every_code_along_the_unit_direction_and_redraws():
    torch.manual_seed(0)
    generator = nn.Sequential(nn.Linear(4, 64), nn.Sigmoid(), nn.Unflatten(1, (1, 8, 8)))
    z = torch.randn(5, 4)
    direction = torch.tensor([0.0, 3.0, 0.0, 4.0])                        # length 5: walked as (0, 0.6, 0, 0.8)
    box = latent_walk_slider(generator, z, {"d": direction, "e1": torch.tensor([1.0, 0, 0, 0])})
    first = box.image.value
    assert torch.allclose(box.codes(), z)                                  # t = 0: the codes themselves
    assert torch.allclose(box.images(), generator(z).detach())
    box.sliders["t"].value = 2.0
    assert torch.allclose(box.codes(), z + 2.0 * direction / 5)
    assert box.image.value != first
    box.sliders["direction"].value = "e1"
    assert torch.allclose(box.codes()[:, 0], z[:, 0] + 2.0) and torch.allclose(box.codes()[:, 1:], z[:, 1:])
    with pytest.raises(ValueError, match=r"\(4,\)"):
        latent_walk_slider(generator, z, {"bad": torch.ones(3)})
    with pytest.raises(ValueError, match="zero vector"):
        latent_walk_slider(generator, z, {"zero": torch.zeros(4)})


def test_latent_walk_slider_passes_labels_to_a_conditional_generator():
    class Conditional(nn.Module):
        def generate(self, z, labels):
            return (z[:, :1, None, None] + labels[:, None, None, None].float()).expand(-1, 1, 8, 8)

    z, labels = torch.zeros(3, 2), torch.tensor([0, 1, 2])
    box = latent_walk_slider(Conditional(), z, {"d": torch.tensor([1.0, 0.0])}, labels=labels)
    assert torch.allclose(box.images()[:, 0, 0, 0], labels.float())
    with pytest.raises(ValueError, match="one label per code"):
        latent_walk_slider(Conditional(), z, {"d": torch.tensor([1.0, 0.0])}, labels=torch.tensor([0]))
