"""Lecture 05's pictures: attention weights, the softmax without √d, the cost against T, the position table and a
GPT's attention over a digit. They only draw, so the tests check that what is drawn is what the numbers say."""
import math

import numpy as np
import pytest
import torch

from coursekit.models import GPT
from coursekit.models.layers import attention, causal_mask
from coursekit.viz.attention import (attention_cost_figure, attention_map_figure, attention_weights_figure,
                                     positional_encoding_figure, softmax_saturation_figure)


def test_attention_weights_figure_draws_the_weights_and_greys_out_the_masked_keys():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 4, 2).unbind(0)
    allowed = causal_mask(4)
    _, A = attention(q, k, v, allowed)
    fig = attention_weights_figure({"causal": A}, masked=~allowed)
    drawn = fig.axes[0].images[0].get_array()
    assert np.ma.is_masked(drawn) or np.isnan(np.asarray(drawn, dtype=float)).any()
    shown = np.asarray(np.ma.filled(drawn, np.nan), dtype=float)
    assert np.isnan(shown[~allowed.numpy()]).all()                      # the future: grey, not a weight
    assert np.allclose(shown[allowed.numpy()], A[allowed].numpy())      # the past: the weights themselves
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == int(allowed.sum()) and "1.00" in texts         # row 1 puts all its weight on key 1
    assert any(ax.get_ylabel() == "weight α_ts" for ax in fig.axes)    # the colour bar says what it measures
    with pytest.raises(ValueError, match="one shape"):
        attention_weights_figure({"a": torch.ones(2, 2), "b": torch.ones(3, 3)})
    with pytest.raises(ValueError, match=r"bool \(4, 4\)"):
        attention_weights_figure({"a": A}, masked=torch.ones(3, 3, dtype=torch.bool))


def test_saturation_and_cost_figures_plot_the_numbers_given_and_their_references():
    fig = softmax_saturation_figure([4, 16], {"scaled": [5.3, 5.3], "unscaled": [4.1, 1.9]}, "bits",
                                    reference=("uniform", 6.0))
    lines = fig.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in lines[:2]] == [[5.3, 5.3], [4.1, 1.9]]
    assert list(lines[2].get_ydata()) == [6.0, 6.0]
    fig = attention_cost_figure([64, 128, 256], {"fused": [1.0, 4.0, 16.0]}, power=2)
    reference = fig.axes[0].get_lines()[-1]
    assert np.allclose(reference.get_ydata(), [1.0, 4.0, 16.0])         # ∝ T² through the last point
    with pytest.raises(ValueError, match="one time per entry"):
        attention_cost_figure([64, 128], {"fused": [1.0]})
    with pytest.raises(ValueError, match="one number per entry"):
        softmax_saturation_figure([4, 16], {"a": [1.0]}, "bits")


def test_positional_encoding_figure_has_a_symmetric_colour_scale():
    P = torch.sin(torch.arange(6.0)[:, None] * torch.tensor([1.0, 0.1]))
    fig = positional_encoding_figure(P)
    image = fig.axes[0].images[0]
    assert np.allclose(image.get_array(), P.numpy())
    low, high = image.get_clim()
    assert math.isclose(low, -high) and math.isclose(high, float(P.abs().max()))
    with pytest.raises(ValueError, match=r"\(T, d\)"):
        positional_encoding_figure(torch.ones(3))


def test_attention_map_figure_puts_step_s_on_pixel_s_minus_1_and_hides_the_future():
    model = GPT(shape=(1, 3, 3), levels=3, d_model=8, n_heads=2, layers=1, dropout=0.0)
    x = torch.randint(0, 3, (1, 1, 3, 3))
    (A,) = model.attention_weights(x)                                   # (1, heads, 9, 9)
    position = 4                                                        # the centre pixel
    row = A[0, :, position]
    fig = attention_map_figure(row, (3, 3), position, image=x[0, 0])
    panels = [ax for ax in fig.axes if ax.images][1:3]                  # after the digit: one panel per head
    for h, ax in enumerate(panels):
        shown = np.asarray(np.ma.filled(ax.images[0].get_array(), np.nan), dtype=float).flatten()
        assert np.allclose(shown[:position], row[h, 1:position + 1].numpy())   # pixel p ← step p + 1
        assert np.isnan(shown[position:]).all()                         # the predicted pixel and later: not seen
        assert f"{row[h, 0]:.2f}" in ax.get_title()                     # the start token's weight
    with pytest.raises(ValueError, match=r"\(heads, 9\)"):
        attention_map_figure(torch.ones(2, 8), (3, 3), 4)
    with pytest.raises(ValueError, match="raster index"):
        attention_map_figure(row, (3, 3), 9)
