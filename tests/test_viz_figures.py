"""coursekit.viz.figures, the generic layer: pyplot-free figures with the expected panels, and helpful shape errors."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from coursekit import viz
from coursekit.divergences import two_component_mixture

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def digits_like(n: int) -> torch.Tensor:
    """Integer 8×8 'digits' with levels 0..16, shape (N, 1, 8, 8)."""
    return torch.randint(0, 17, (n, 1, 8, 8), generator=torch.Generator().manual_seed(0))


def standard_normal_log_prob(points: torch.Tensor) -> torch.Tensor:
    return -0.5 * (points**2).sum(-1) - np.log(2 * np.pi)


# ---------------------------------------------------------------------------------- PNG output


def test_to_png_returns_png_bytes_and_dpi_sets_the_size():
    fig = viz.image_grid(digits_like(4))
    small, large = viz.to_png(fig, dpi=40), viz.to_png(fig, dpi=160)
    assert isinstance(small, bytes) and small.startswith(PNG_SIGNATURE)
    width = lambda png: int.from_bytes(png[16:20], "big")  # noqa: E731  (IHDR width)
    assert width(large) > 3 * width(small)


def test_show_displays_an_img_with_alt_text_holding_the_png(monkeypatch):
    import base64
    import re

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False, **kw: shown.append((obj, raw)))
    fig = viz.image_grid(digits_like(2))
    fig.axes[0].set_title("two digits")
    viz.show(fig, alt="Two random 8×8 digits & their <noise>")
    ((bundle, raw),) = shown
    assert raw and set(bundle) == {"text/html", "text/plain"}       # the PNG is stored once, inside the HTML
    tag = bundle["text/html"]
    assert 'alt="Two random 8×8 digits &amp; their &lt;noise&gt;"' in tag
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', tag)[1])
    assert png.startswith(PNG_SIGNATURE) and f'width="{viz.png_size(png)[0]}"' in tag
    assert bundle["text/plain"] == "Two random 8×8 digits & their <noise>"
    viz.show(fig)                                                   # no alt: the figure's titles describe it
    assert 'alt="Figure: two digits"' in shown[-1][0]["text/html"]


def test_show_can_display_a_plain_png_with_the_alt_text_in_its_metadata(monkeypatch):
    import base64

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False, metadata=None: shown.append((obj, metadata)))
    viz.show(viz.image_grid(digits_like(2)), alt="two digits", html_img=False)
    ((bundle, metadata),) = shown
    assert set(bundle) == {"image/png", "text/plain"} and metadata == {"image/png": {"alt": "two digits"}}
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_SIGNATURE)


def test_describe_reads_the_suptitle_titles_and_axis_labels():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    left.set_title("entropy per pixel")
    right.set_xlabel("epoch")
    right.set_ylabel("loss")
    right.set_title("training")
    fig.suptitle("the floor model")
    assert viz.describe(fig) == "Figure: the floor model. 2 panels: entropy per pixel; training (loss vs epoch)"
    assert "without a title" in viz.describe(Figure())


def test_to_png_uses_a_palette_and_is_lighter_than_full_colour():
    fig = viz.density_2d(standard_normal_log_prob, (-3, 3), (-3, 3), resolution=60)
    palette, full = viz.to_png(fig), viz.to_png(fig, colors=None)
    assert palette[25] == 3 and full[25] == 2              # IHDR colour type: 3 = palette, 2 = RGB
    assert viz.png_size(palette) == viz.png_size(full)
    assert len(palette) < 0.7 * len(full)
    with pytest.raises(ValueError, match="colors must be an int in 2..256"):
        viz.to_png(fig, colors=1000)
    with pytest.raises(ValueError, match=r"expected PNG bytes"):
        viz.png_size(b"GIF89a" + bytes(30))


def test_the_default_resolution_draws_a_digit_large_and_text_legible():
    """At PNG_DPI an 8×8 digit of image_grid is about 0.7 in · 120 dpi = 84 pixels wide (with the
    0.1-inch crop margins, under 110); at 80 dpi and 0.6 in it was 48, and 30 in some panels."""
    png = viz.to_png(viz.image_grid(digits_like(1)))
    assert viz.PNG_DPI >= 110
    assert 84 <= viz.png_size(png)[0] <= 110


def test_the_colour_cycle_is_the_colour_blind_safe_one():
    import matplotlib
    from matplotlib.colors import to_hex

    assert [to_hex(c) for c in matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]] == list(viz.CATEGORICAL)
    assert to_hex("C2") == "#bd1f01" and "#2ca02c" not in viz.CATEGORICAL     # C2 is red, never tab10's green
    fig = viz.scatter_2d(torch.randn(30, 2), labels=torch.arange(30) % 3)
    assert [to_hex(c.get_facecolor()[0]) for c in fig.axes[0].collections] == list(viz.CATEGORICAL[:3])


# ---------------------------------------------------------------------------------- image_grid


def test_image_grid_lays_out_ten_images_in_two_rows_of_five():
    fig = viz.image_grid(digits_like(10), nrow=5)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    (image,) = ax.images
    # each 8×8 image plus a 1-pixel gap, and one more gap at the far edge
    assert image.get_array().shape == (2 * 9 + 1, 5 * 9 + 1)


def test_image_grid_places_the_images_in_reading_order():
    images = torch.arange(6).reshape(6, 1, 1, 1).expand(6, 1, 8, 8).float() / 5  # image i is all i/5
    mosaic = viz.image_grid(images, nrow=3).axes[0].images[0].get_array()
    assert mosaic[1, 1] == 0.0 and mosaic[1, 10] == pytest.approx(0.2)  # first row: images 0, 1
    assert mosaic[10, 1] == pytest.approx(0.6)  # second row starts with image 3


def test_image_grid_accepts_nhw_rgb_numpy_and_titles():
    assert viz.image_grid(np.random.rand(3, 8, 8), nrow=3).axes[0].images[0].get_array().shape == (10, 28)
    default = viz.image_grid(np.random.rand(3, 8, 8)).axes[0].images[0].get_array()
    assert default.shape == (19, 19)  # nrow = ⌈√3⌉ = 2 images per row
    rgb = viz.image_grid(torch.rand(4, 3, 6, 6), nrow=2).axes[0].images[0].get_array()
    assert rgb.shape == (2 * 7 + 1, 2 * 7 + 1, 4)  # RGBA: the gaps are transparent
    fig = viz.image_grid(digits_like(3), titles=["a", "b", "c"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["a", "b", "c"]


def test_image_grid_colour_range_levels_floats_and_vmin_vmax():
    def mosaic_range(images, **kwargs):
        mosaic = viz.image_grid(images, nrow=len(images), **kwargs).axes[0].images[0].get_array()
        return float(np.nanmin(mosaic)), float(np.nanmax(mosaic))

    levels = torch.tensor([0, 8, 16]).reshape(3, 1, 1, 1).expand(3, 1, 4, 4)
    assert mosaic_range(levels[:2]) == (0.0, 0.5)  # integer level 8 of 0..16 is mid-grey
    assert mosaic_range(levels.float() / 16) == (0.0, 1.0)
    assert mosaic_range(levels.float() - 8) == (0.0, 1.0)  # floats outside [0, 1]: min..max
    assert mosaic_range(levels[:2] > 4) == (0.0, 1.0)  # booleans
    assert mosaic_range(levels, vmin=0, vmax=32) == (0.0, 0.5)


def test_image_grid_detaches_tensors_that_require_grad():
    images = torch.rand(2, 1, 8, 8, requires_grad=True)
    assert isinstance(viz.image_grid(images * 2), Figure)


def test_image_grid_draws_into_a_given_axes():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert viz.image_grid(digits_like(4), ax=left) is fig
    viz.image_grid(digits_like(9), ax=right)
    assert [len(ax.images) for ax in fig.axes] == [1, 1]


@pytest.mark.parametrize("shape", [(10, 64), (10, 2, 8, 8), (10, 8, 8, 3), (8, 8, 1, 1, 1), (0, 1, 8, 8)])
def test_image_grid_wrong_shapes_name_the_shape(shape):
    with pytest.raises(ValueError, match=rf"got {tuple(shape)}".replace("(", r"\(").replace(")", r"\)")):
        viz.image_grid(torch.zeros(shape))


def test_image_grid_rejects_bad_nrow_and_titles():
    with pytest.raises(ValueError, match="nrow"):
        viz.image_grid(digits_like(4), nrow=0)
    with pytest.raises(ValueError, match=r"one string per image \(4\), got 2"):
        viz.image_grid(digits_like(4), titles=["a", "b"])


# ---------------------------------------------------------------------------------- 2-D plots


@pytest.mark.parametrize("kind", ["heat", "contour"])
def test_density_2d_draws_the_density_and_samples(kind):
    fig = viz.density_2d(standard_normal_log_prob, (-3, 3), (-2, 2), resolution=30, kind=kind,
                          samples=torch.randn(50, 2))
    (ax,) = fig.axes
    if kind == "heat":
        (image,) = ax.images
        density = image.get_array()
        assert density.shape == (30, 30)
        assert np.unravel_index(density.argmax(), density.shape) in {(14, 14), (14, 15), (15, 14), (15, 15)}
    else:
        assert len(ax.images) == 0 and len(ax.collections) >= 2  # contour set + scatter
    assert ax.get_xlim() == (-3.0, 3.0) and ax.get_ylim() == (-2.0, 2.0)


def test_density_2d_passes_points_in_the_dtype_of_the_model():
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones((), dtype=torch.float64))
            self.seen = []

        def log_prob(self, points):
            self.seen.append(points.dtype)
            return -0.5 * self.scale * (points**2).sum(-1)

    model = Model()
    viz.density_2d(model.log_prob, (-1, 1), (-1, 1), resolution=5)
    viz.density_2d(lambda points: model.log_prob(points), (-1, 1), (-1, 1), resolution=5)
    assert model.seen == [torch.float64, torch.float32]  # a plain function gets CPU float32


def test_density_2d_errors():
    with pytest.raises(ValueError, match="kind must be 'heat' or 'contour', got 'surface'"):
        viz.density_2d(standard_normal_log_prob, (-1, 1), (-1, 1), kind="surface")
    with pytest.raises(ValueError, match=r"returned \(5,\)"):
        viz.density_2d(lambda p: p[:5, 0], (-1, 1), (-1, 1), resolution=10)
    with pytest.raises(ValueError, match="xlim"):
        viz.density_2d(standard_normal_log_prob, (1, -1), (-1, 1))


def test_scatter_2d_one_collection_per_label():
    points = torch.randn(60, 2)
    labels = torch.arange(60) % 3
    fig = viz.scatter_2d(points, labels=labels)
    (ax,) = fig.axes
    assert len(ax.collections) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]
    assert len(viz.scatter_2d(points).axes[0].collections) == 1


def test_scatter_2d_shape_errors_name_the_shape():
    with pytest.raises(ValueError, match=r"\(N, 2\), got \(10, 3\)"):
        viz.scatter_2d(torch.zeros(10, 3))
    with pytest.raises(ValueError, match=r"got \(9,\)"):
        viz.scatter_2d(torch.zeros(10, 2), labels=torch.zeros(9))


# ---------------------------------------------------------------------------------- training


HISTORY = {
    "epoch": [1, 2, 3],
    "train/loss": [3.0, 2.0, 1.5], "val/loss": [3.2, 2.4, 2.0],
    "train/recon": [2.0, 1.5, 1.2], "val/recon": [2.1, 1.7, 1.5],
    "train/kl": [1.0, 0.5, 0.3],
}


def test_training_curves_one_panel_per_loss_part_train_and_val_together():
    fig = viz.training_curves(HISTORY)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "recon", "kl"]
    assert [len(ax.lines) for ax in fig.axes] == [2, 2, 1]
    assert fig.axes[0].lines[1].get_ydata().tolist() == [3.2, 2.4, 2.0]


def test_training_curves_accepts_a_history_object_keys_and_log_scale():
    class History:
        def as_dict(self):
            return HISTORY

    fig = viz.training_curves(History(), keys=["kl", "val/loss"], logy=True)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "kl"]
    assert [len(ax.lines) for ax in fig.axes] == [1, 1]
    assert all(ax.get_yscale() == "log" for ax in fig.axes)


def test_training_curves_stretches_per_step_series_over_the_epochs():
    fig = viz.training_curves({"train/loss": list(np.linspace(3, 1, 100)), "val/loss": [2.5, 1.5]})
    train, val = fig.axes[0].lines
    assert train.get_xdata()[-1] == val.get_xdata()[-1] == 100


def test_training_curves_errors():
    with pytest.raises(ValueError, match="no series"):
        viz.training_curves({"epoch": [1, 2]})
    with pytest.raises(ValueError, match=r"\['nll'\] are not in the history"):
        viz.training_curves(HISTORY, keys=["nll"])
    with pytest.raises(ValueError, match="got list"):
        viz.training_curves([1.0, 2.0])


# ---------------------------------------------------------------------------------- no pyplot


def test_viz_figures_create_no_pyplot_figures():
    import matplotlib.pyplot as plt

    plt.close("all")
    p = two_component_mixture(2.0)
    viz.image_grid(digits_like(4))
    viz.density_2d(standard_normal_log_prob, (-1, 1), (-1, 1), resolution=5)
    viz.scatter_2d(torch.randn(5, 2))
    viz.training_curves(HISTORY)
    viz.to_png(viz.kl_fit_figure(p, forward=(0.0, 1.0), reverse=(0.0, 1.0)))
    assert plt.get_fignums() == []


def test_importing_and_using_viz_leaves_the_backend_and_pyplot_alone():
    """In a fresh interpreter: no pyplot import, no backend change (checked without resolving it)."""
    script = textwrap.dedent("""
        import sys, matplotlib
        raw_backend = lambda: dict.__getitem__(matplotlib.rcParams, "backend")
        before = raw_backend()
        import torch
        from coursekit import viz
        png = viz.to_png(viz.image_grid(torch.zeros(2, 1, 8, 8)))
        assert png.startswith(b"\\x89PNG"), png[:8]
        assert raw_backend() == before, (before, raw_backend())
        assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_image_grid_levels_sets_the_colour_range():
    binary = torch.zeros(2, 1, 4, 4, dtype=torch.long)
    binary[:, :, 1:3, 1:3] = 1
    bright = viz.image_grid(binary, levels=2).axes[0].images[0].get_array()
    dim = viz.image_grid(binary).axes[0].images[0].get_array()
    assert float(bright.max()) == pytest.approx(1.0)   # level 1 of 2 is white
    assert float(dim.max()) == pytest.approx(1 / 16)    # read as digits, level 1 of 17 is nearly black
    with pytest.raises(ValueError, match="levels must be an int >= 2"):
        viz.image_grid(binary, levels=1)


def test_image_grid_colour_bar_is_in_the_images_units():
    entropy = torch.rand(1, 8, 8) * 3.2                      # a map in bits, 0..3.2
    fig = viz.image_grid(entropy, cmap="viridis", colorbar="bits")
    image_ax, bar_ax = fig.axes
    low, high = bar_ax.get_ylim()
    assert low == pytest.approx(float(entropy.min())) and high == pytest.approx(float(entropy.max()))
    assert bar_ax.get_ylabel() == "bits"
    assert len(viz.image_grid(entropy, cmap="viridis").axes) == 1         # none unless asked
    fig = viz.image_grid(torch.tensor([[[[0, 16]]]]), colorbar=True)      # integer digits: levels 0..16
    assert fig.axes[1].get_ylim() == (0.0, 16.0)
    with pytest.raises(ValueError, match="single-channel images"):
        viz.image_grid(torch.rand(2, 3, 4, 4), colorbar=True)


def test_density_2d_colour_bar():
    fig = viz.density_2d(standard_normal_log_prob, (-3, 3), (-3, 3), resolution=20, colorbar=True)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "p(x)"
