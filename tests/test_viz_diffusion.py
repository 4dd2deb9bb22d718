"""Lecture 08's pictures: the schedules, the forward-process slider, reverse trajectories, the bound term by term,
samplers by steps, two vector fields and the guidance slider. They only draw, so the tests check that what is
drawn is what the numbers say, and that each slider shows what its value asks for."""
import math

import numpy as np
import pytest
import torch
from matplotlib.collections import PathCollection
from matplotlib.quiver import Quiver

from coursekit import viz
from coursekit.viz.diffusion import (bound_terms_figure, forward_process_slider, guidance_slider, sampler_steps_figure,
                                     schedule_figure, trajectory_figure, vector_fields_figure)


def _alpha_bars(T=50):
    betas = torch.linspace(1e-3, 0.2, T, dtype=torch.float64)
    return torch.cumprod(1 - betas, 0)                                     # ᾱ_t = Π_{s ≤ t} (1 − β_s), (T,)


def test_the_diffusion_figures_are_exported_by_viz():
    for name in ("schedule_figure", "forward_process_slider", "trajectory_figure", "bound_terms_figure",
                 "sampler_steps_figure", "vector_fields_figure", "guidance_slider"):
        assert name in viz.__all__ and callable(getattr(viz, name))


def test_schedule_figure_draws_the_signal_and_the_noise_and_one_grey_level():
    a = _alpha_bars()
    fig = schedule_figure({"linear": a}, levels=17)
    ax_s, ax_n = fig.axes
    assert np.allclose(ax_s.get_lines()[0].get_ydata(), a.sqrt().numpy())
    assert np.allclose(ax_n.get_lines()[0].get_ydata(), (1 - a).sqrt().numpy())
    assert list(ax_n.get_lines()[0].get_xdata()[[0, -1]]) == [1, 50]       # t = 1..T, not 0..T − 1
    assert np.allclose(ax_n.get_lines()[1].get_ydata(), 2 / 16)            # one grey level of 17 on [−1, 1]
    assert ax_n.get_yscale() == "log"
    with pytest.raises(ValueError, match="non-increasing"):
        schedule_figure({"rising": a.flip(0)})


def _q_sample(alpha_bars, calls):
    def q_sample(x0, t, eps):
        calls.append(t.clone())
        a = alpha_bars[t - 1].view(-1, *[1] * (x0.dim() - 1)).to(x0.dtype)   # position t − 1 holds step t
        return a.sqrt() * x0 + (1 - a).sqrt() * eps
    return q_sample


def test_forward_slider_shows_the_data_at_t_0_and_q_sample_with_one_noise_draw_at_t():
    torch.manual_seed(0)
    a, calls = _alpha_bars(), []
    images, points = torch.rand(4, 1, 8, 8) * 2 - 1, torch.randn(100, 2)
    eps_i, eps_p = torch.randn_like(images), torch.randn_like(points)
    box = forward_process_slider(_q_sample(a, calls), images, points, eps_i, eps_p, alpha_bars=a)
    assert box.sliders["t"].options[0] == 0 and box.sliders["t"].options[-1] == 50
    assert torch.equal(box.shown()["images"], images) and torch.equal(box.shown()["points"], points)
    first = box.image.value
    box.sliders["t"].value = 50
    assert all(c.dtype == torch.int64 and (c == 50).all() for c in calls)   # t passed as int64 in 1..T
    expected = a[49].sqrt() * points + (1 - a[49]).sqrt() * eps_p
    assert torch.allclose(box.shown()["points"], expected.float())
    assert box.image.value != first
    box.sliders["t"].value = 0
    assert box.image.value == first                                        # the same noise draw: back to the data
    with pytest.raises(ValueError, match="shapes of images"):
        forward_process_slider(_q_sample(a, []), images, points, eps_i[:2], eps_p, alpha_bars=a)
    with pytest.raises(ValueError, match=r"0\.\.50"):
        forward_process_slider(_q_sample(a, []), images, points, eps_i, eps_p, alpha_bars=a, steps=[0, 60])


def test_trajectory_figure_shows_stops_and_one_path_per_point():
    torch.manual_seed(0)
    traj = torch.randn(11, 30, 2).cumsum(0)                               # (S, N, 2)
    times = list(range(100, -1, -10))
    fig = trajectory_figure(traj, times, data=torch.zeros(5, 2), panels=4, paths=7)
    *stops, paths = fig.axes
    assert len(stops) == 3 and stops[0].get_title() == "x_100 (noise)" and stops[-1].get_title() == "x_0 (samples)"
    assert np.allclose(stops[0].collections[0].get_offsets(), traj[0].numpy())
    assert len(paths.get_lines()) == 7
    assert np.allclose(paths.get_lines()[0].get_xydata(), traj[:, 0].numpy())
    every = trajectory_figure(traj, times, paths=1, path_every=4).axes[-1].get_lines()[0]
    assert np.allclose(every.get_xydata(), traj[[0, 4, 8, 10], 0].numpy())   # every 4th stop and the last
    chosen = trajectory_figure(traj, times, stops=[0, 9, 10])
    assert [ax.get_title() for ax in chosen.axes[:3]] == ["x_100 (noise)", "x_10", "x_0 (samples)"]
    with pytest.raises(ValueError, match="times"):
        trajectory_figure(traj, times[:3])
    with pytest.raises(ValueError, match="indices"):
        trajectory_figure(traj, times, stops=[11])


def test_bound_terms_figure_sums_to_the_whole_bound():
    terms = torch.tensor([0.8, 0.5, 0.2, 0.1, 0.05, 0.001])                # L_0..L_T, T = 5
    fig = bound_terms_figure({"DDPM": terms})
    ax_t, ax_c = fig.axes
    assert np.allclose(ax_t.get_lines()[0].get_ydata(), terms[1:].numpy())
    assert np.allclose(ax_c.get_lines()[0].get_ydata()[-1], terms.sum().item())
    assert "whole bound 1.651" in ax_c.get_legend().get_texts()[0].get_text()
    assert "L_0 (decoder) = 0.800" in [t.get_text() for t in ax_t.get_legend().get_texts()][1]
    with pytest.raises(ValueError, match="T \\+ 1"):
        bound_terms_figure({"bad": torch.tensor([1.0])})


def test_sampler_steps_figure_skips_samplers_not_run_at_a_number_of_steps():
    steps = [10, 50, 1000]
    fig = sampler_steps_figure(steps, {"DDPM": [float("nan"), float("nan"), 12.0], "DDIM": [20.0, 13.0, 12.5]},
                               {"DDPM": [float("nan"), float("nan"), 30.0], "DDIM": [0.3, 1.5, 30.0]},
                               references={"real vs real": 7.1})
    ax_q, ax_s = fig.axes
    assert list(ax_q.get_lines()[0].get_xdata()) == [1000]
    assert np.allclose(ax_q.get_lines()[1].get_ydata(), [20.0, 13.0, 12.5])
    assert any(np.allclose(line.get_ydata(), 7.1) for line in ax_q.get_lines())
    assert ax_s.get_yscale() == "log"
    with pytest.raises(ValueError, match="same samplers"):
        sampler_steps_figure(steps, {"a": [1, 2, 3]}, {"b": [1, 2, 3]})


def test_vector_fields_share_one_arrow_scale():
    xy = torch.stack(torch.meshgrid(torch.linspace(-2, 2, 5), torch.linspace(-2, 2, 5), indexing="ij"), -1).view(-1, 2)
    fig = vector_fields_figure(xy, {"exact": -xy, "learned": -2 * xy}, titles={"learned": "cos 1.00"},
                               clip_quantile=1.0)
    q1, q2 = (next(c for c in ax.collections if isinstance(c, Quiver)) for ax in fig.axes)
    assert np.allclose(q1.U, -xy[:, 0].numpy()) and np.allclose(q2.V, -2 * xy[:, 1].numpy())
    clipped = vector_fields_figure(xy, {"exact": -xy, "learned": -2 * xy}, clip_quantile=0.5)
    c2 = next(c for c in clipped.axes[1].collections if isinstance(c, Quiver))
    cap = np.quantile(np.concatenate([xy.norm(dim=1).numpy(), 2 * xy.norm(dim=1).numpy()]), 0.5)
    assert np.hypot(c2.U, c2.V).max() <= cap + 1e-9                       # long arrows drawn at the quantile's length
    long = np.hypot(c2.U, c2.V) > 0
    assert np.allclose(np.arctan2(c2.V, c2.U)[long], np.arctan2(-xy[:, 1].numpy(), -xy[:, 0].numpy())[long])  # same direction
    assert q1.scale == q2.scale                                            # lengths compare across panels
    assert fig.axes[1].get_title() == "learned\ncos 1.00"
    with pytest.raises(ValueError, match="one vector per point"):
        vector_fields_figure(xy, {"bad": xy[:3]})


def test_guidance_slider_shows_the_samples_of_the_chosen_weight_and_marks_it():
    samples = {w: torch.full((20, 1, 8, 8), float(w)) for w in (0.0, 1.0, 4.0)}
    curves = {"class accuracy": {0.0: 0.8, 1.0: 0.9, 4.0: 0.97}, "diversity": {0.0: 3.0, 1.0: 2.5, 4.0: 1.0}}
    box = guidance_slider(samples, curves, nrow=10, vmin=0.0, vmax=4.0)
    assert box.sliders["w"].options == (0.0, 1.0, 4.0)
    assert torch.equal(box.shown()["images"], samples[0.0])
    first = box.image.value
    box.sliders["w"].value = 4.0
    assert torch.equal(box.shown()["images"], samples[4.0]) and box.image.value != first
    with pytest.raises(ValueError, match=r"w = \[4\.0\]"):
        guidance_slider(samples, {"acc": {0.0: 1.0, 1.0: 1.0}})
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        guidance_slider({0.0: torch.zeros(3, 8, 8)}, {"acc": {0.0: 1.0}})
