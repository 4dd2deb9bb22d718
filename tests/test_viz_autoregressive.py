"""Lecture 04's pictures: MADE's masks, receptive fields (the blind spot), growth and timing curves, and the
temperature / completion widget. They only draw, so the tests check that what is drawn is what the model says."""
import numpy as np
import pytest
import torch

from coursekit.models import FVSBN, MADE, PixelCNN
from coursekit.models.pixelcnn import receptive_field
from coursekit.viz.autoregressive import (_field_categories, made_masks_figure, receptive_field_figure,
                                          receptive_field_growth_figure, sampling_time_figure, sampling_widget)


def test_made_masks_figure_draws_one_panel_per_layer_and_the_first_output_block():
    model = MADE(shape=(1, 3, 3), levels=4, hidden_sizes=(12, 10), direct=True)
    masks = model.mask_set(0)[1]                          # M¹, M², M^V (repeated K times), M^A (repeated)
    fig = made_masks_figure(masks[:3])
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert [im.shape for im in images] == [(12, 9), (10, 12), (9, 10)]   # the output mask cut to its first block
    assert np.array_equal(np.asarray(images[2]), masks[2][:9].numpy())
    assert "M^V" in fig.axes[2].get_title() and "hidden × hidden" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match="one string per mask"):
        made_masks_figure(masks[:3], titles=["a"])
    with pytest.raises(ValueError, match="2-D"):
        made_masks_figure([torch.ones(3)])


def test_field_categories_name_the_blind_spot():
    field = np.zeros((3, 3), dtype=bool)
    field[0, 0] = field[1, 0] = True                      # sees two of the four earlier pixels
    c = _field_categories(field, (1, 1))
    assert c[1, 1] == 3 and c[0, 0] == c[1, 0] == 1
    assert c[0, 1] == c[0, 2] == 2                        # earlier, not seen: the blind spot
    assert (c[2] == 0).all() and c[1, 2] == 0             # after the position


def test_receptive_field_figure_counts_the_pixelcnn_blind_spot_and_refuses_a_leak():
    torch.manual_seed(0)
    model = PixelCNN(shape=(1, 6, 6), levels=3, channels=8, layers=3, first_kernel=3, head=8).double()
    field = receptive_field(model, (3, 2))
    fig = receptive_field_figure({"masked PixelCNN": field}, (3, 2))
    before = torch.arange(36).view(6, 6) < 3 * 6 + 2
    blind = int((before & ~field).sum())
    assert blind > 0                                      # the masked stack's blind spot, up and to the right
    assert f"blind spot: {blind} of 20" in fig.axes[0].get_title()
    leaking = field.clone()
    leaking[3, 4] = True                                  # a pixel after the position
    with pytest.raises(ValueError, match="not autoregressive"):
        receptive_field_figure({"broken": leaking}, (3, 2))
    with pytest.raises(ValueError, match="inside the 6×6"):
        receptive_field_figure({"masked": field}, (6, 0))


def test_growth_and_timing_figures_check_their_inputs():
    fig = receptive_field_growth_figure({"1, 2, 4, 8": [2, 4, 8, 16], "all 1": [2, 3, 4, 5]})
    assert [list(line.get_ydata()) for line in fig.axes[0].lines] == [[2, 4, 8, 16], [2, 3, 4, 5]]
    fig = sampling_time_figure([16, 64], {"naive": [0.1, 1.0], "cached": [0.02, 0.08]})
    assert len(fig.axes[0].lines) == 3                    # two samplers and the ∝ D guide
    with pytest.raises(ValueError, match="one time per entry"):
        sampling_time_figure([16, 64], {"naive": [0.1]})


def test_sampling_widget_follows_the_seed_and_the_sliders():
    torch.manual_seed(0)
    model = FVSBN(shape=(1, 4, 4), levels=5)
    x = torch.randint(0, 5, (3, 1, 4, 4))
    first, again = sampling_widget(model, x, seed=1), sampling_widget(model, x, seed=1)
    assert first.image.value == again.image.value         # seeded: the same picture twice
    start = first.image.value
    first.sliders["temperature"].value = 0.0
    greedy = first.image.value
    assert greedy != start
    first.sliders["rows"].value = 2                       # completion of the test images from their first 2 rows
    assert first.image.value not in (start, greedy)
    first.sliders["rows"].value = 0
    assert first.image.value == greedy                    # back to the argmax samples
    assert model.training                                 # the widget put the model's mode back
    with pytest.raises(ValueError, match="slider's values"):
        sampling_widget(model, temperature=0.3)
    with pytest.raises(ValueError, match=r"\(N, 1, 4, 4\)"):
        sampling_widget(model, torch.zeros(2, 1, 3, 3))
