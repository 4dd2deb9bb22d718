"""coursekit.viz.kl_fit (lecture 00): the forward and reverse KL fits, as a figure and under two sliders."""
import pytest

from coursekit import viz
from coursekit.divergences import fit_gaussian_forward_kl, fit_gaussian_reverse_kl, two_component_mixture

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_kl_fit_figure_shows_the_mixture_and_both_fits_with_their_kl():
    p = two_component_mixture(8.0)
    fig = viz.kl_fit_figure(p, forward=fit_gaussian_forward_kl(p), reverse=fit_gaussian_reverse_kl(p))
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[1].startswith("forward KL(p‖q): mode covering,\nKL = ")
    assert labels[2].startswith("reverse KL(q‖p): mode seeking,\nKL = 0.693")  # q on one mode: log 2
    assert len(ax.lines) == 2


def test_kl_fit_figure_fits_when_no_fits_are_given():
    p = two_component_mixture(8.0)
    reverse_line = viz.kl_fit_figure(p).axes[0].lines[1]
    x, q = reverse_line.get_xdata(), reverse_line.get_ydata()
    assert abs(x[q.argmax()]) == pytest.approx(4.0, abs=0.1)  # the fitted q peaks on a mode


def test_kl_fit_demo_updates_image_and_readout_when_a_slider_moves():
    box = viz.kl_fit_demo(separation=3.0)
    separation, weight = box.sliders["separation"], box.sliders["weight"]
    assert separation.continuous_update is False and (separation.min, separation.max) == (0.0, 10.0)
    assert box.readout in box.children
    image, readout = bytes(box.image.value), box.readout.value
    assert image.startswith(PNG_SIGNATURE)
    assert "μ = +0.000" in readout  # separation 3: both fits centred

    separation.value = 8.0
    assert bytes(box.image.value) != image
    assert box.readout.value != readout
    assert "σ = 4.123" in box.readout.value  # forward fit: √(1 + 4²)
    assert "μ = -4.000" in box.readout.value or "μ = +4.000" in box.readout.value  # reverse fit on a mode

    readout = box.readout.value
    weight.value = 0.8
    assert box.readout.value != readout
    assert "μ = -4.000" in box.readout.value  # the heavier mode is at −d/2


@pytest.mark.parametrize("kwargs", [dict(separation=12.0), dict(separation=-1.0), dict(weight=1.5), dict(std=0.0)])
def test_kl_fit_demo_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="got"):
        viz.kl_fit_demo(**kwargs)


def test_the_reverse_fits_legend_says_mode_seeking_only_where_it_sits_on_one_mode():
    from coursekit import divergences
    from coursekit.viz import kl_fit

    close, far = divergences.two_component_mixture(2.0), divergences.two_component_mixture(7.0)
    between = divergences.fit_gaussian_reverse_kl(close)
    on_one = divergences.fit_gaussian_reverse_kl(far)
    assert kl_fit.reverse_label(close, between) == kl_fit.REVERSE_BETWEEN_LABEL
    assert kl_fit.reverse_label(far, on_one) == kl_fit.REVERSE_LABEL
    texts = [t.get_text() for t in kl_fit.kl_fit_figure(close).axes[0].get_legend().get_texts()]
    assert any("still between the modes" in t for t in texts) and not any("mode seeking" in t for t in texts)
