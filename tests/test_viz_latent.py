"""coursekit.viz.latent (lectures 01-02), in-process: moving a slider re-renders the decoded image."""
import ipywidgets as widgets
import pytest
import torch

from coursekit import viz
from coursekit.models import VAE

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Recorder:
    """A decoder z (N, 2) → 8×8 images whose brightness pattern follows z, that records its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, z):
        self.calls.append(z.clone())
        rows = torch.linspace(0, 1, 8).view(1, 1, 8, 1)
        cols = torch.linspace(0, 1, 8).view(1, 1, 1, 8)
        return torch.sigmoid(3 * z[:, 0].view(-1, 1, 1, 1) * rows - 3 * z[:, 1].view(-1, 1, 1, 1) * cols)


def test_latent_traversal_has_one_slider_per_dimension_and_moving_one_changes_the_image():
    decode = Recorder()
    box = viz.latent_traversal_widget(decode, torch.tensor([0.5, -1.0]), labels={0: "KL 1.2"})
    assert list(box.sliders) == ["z1", "z2"] and all(isinstance(s, widgets.FloatSlider) for s in box.sliders.values())
    assert "KL 1.2" in box.sliders["z1"].description
    torch.testing.assert_close(decode.calls[-1], torch.tensor([[0.5, -1.0]]))
    first = bytes(box.image.value)
    assert first.startswith(PNG_SIGNATURE)
    box.sliders["z2"].value = 2.0
    torch.testing.assert_close(decode.calls[-1], torch.tensor([[0.5, 2.0]]))
    torch.testing.assert_close(box.z(), torch.tensor([0.5, 2.0]))
    second = bytes(box.image.value)
    assert second != first
    box.sliders["z2"].value = -1.0          # back where it started: the same picture
    assert bytes(box.image.value) == first


def test_latent_traversal_picture_changes_even_for_a_dimension_the_decoder_ignores():
    ignores_z2 = lambda z: Recorder()(torch.stack([z[:, 0], torch.zeros_like(z[:, 0])], 1))  # noqa: E731
    box = viz.latent_traversal_widget(ignores_z2, torch.zeros(2), highlight=[0])
    before = bytes(box.image.value)
    box.sliders["z2"].value = 0.1       # one arrow-key step: the bar moves, the digit cannot
    assert bytes(box.image.value) != before


def test_latent_traversal_drives_a_vae_decoder():
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden=16).eval()
    with torch.no_grad():
        model.decoder_head[-1].weight.mul_(20)   # a decoder whose output clearly depends on z
    box = viz.latent_traversal_widget(model.decode, torch.zeros(3), levels=17)
    assert len(box.sliders) == 3
    before = bytes(box.image.value)
    box.sliders["z3"].value = 3.0
    assert bytes(box.image.value) != before


def test_interpolation_widget_walks_the_path_and_switches_to_slerp():
    decode = Recorder()
    z_a, z_b = torch.tensor([-2.0, 0.0]), torch.tensor([0.0, 2.0])
    box = viz.interpolation_widget(decode, z_a, z_b, steps=5)
    assert set(box.sliders) == {"t", "path"}
    first = bytes(box.image.value)
    torch.testing.assert_close(decode.calls[-1], torch.tensor([[-1.0, 1.0]]))      # t = 0.5, linear
    torch.testing.assert_close(decode.calls[-2][[0, -1]], torch.stack([z_a, z_b]))  # the strip's ends
    box.sliders["t"].value = 1.0
    torch.testing.assert_close(decode.calls[-1], z_b.unsqueeze(0))
    assert bytes(box.image.value) != first
    box.sliders["t"].value = 0.5
    box.sliders["path"].value = "spherical"
    middle = decode.calls[-1][0]
    assert middle.norm() == pytest.approx(2.0, abs=1e-5)      # slerp keeps the norm, the line passes at √2
    torch.testing.assert_close(middle, torch.tensor([-2 ** 0.5, 2 ** 0.5]))
    assert bytes(box.image.value) != first


def test_latent_widgets_reject_bad_arguments():
    with pytest.raises(ValueError, match=r"shape \(L,\)"):
        viz.latent_traversal_widget(Recorder(), torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"\(1, C, H, W\)"):
        viz.latent_traversal_widget(lambda z: z, torch.zeros(2))
    with pytest.raises(ValueError, match="same shape"):
        viz.interpolation_widget(Recorder(), torch.zeros(2), torch.zeros(3))


def test_latent_traversal_puts_its_sliders_beside_a_picture_shown_at_its_pixel_size():
    """Lecture 02's traversal: 16 sliders in a column left of the picture (not 510 px of sliders above
    it), and the picture one image pixel per CSS pixel (not 386 px stretched to the box's 964)."""
    box = viz.latent_traversal_widget(RecorderOf16(), torch.zeros(16), levels=17,
                                      labels={j: f"KL {j / 10:.1f}" for j in range(16)}, highlight=range(5))
    assert isinstance(box, widgets.HBox)
    column, image = box.children
    assert image is box.image and list(column.children) == list(box.sliders.values())
    width, height = viz.png_size(bytes(box.image.value))
    assert box.image.layout.width == f"{width}px" and box.image.layout.height == "auto"
    slider_width = int(box.sliders["z1"].layout.width.removesuffix("px"))
    assert slider_width + width <= 1000            # both fit side by side in a notebook 1000 px wide
    box.sliders["z16"].value = 2.0
    assert box.image.layout.width == f"{viz.png_size(bytes(box.image.value))[0]}px"


class RecorderOf16(Recorder):
    """The Recorder's picture from the first two of 16 latents."""

    def __call__(self, z):
        return super().__call__(z[:, :2])


def test_latent_widgets_keep_one_figure_and_draw_only_the_panels_that_change():
    decode = Recorder()
    box = viz.interpolation_widget(decode, torch.tensor([-2.0, 0.0]), torch.tensor([0.0, 2.0]), steps=5)
    strip_calls = sum(len(z) == 5 for z in decode.calls)
    for t in (0.1, 0.2, 0.3):
        before = bytes(box.image.value)
        box.sliders["t"].value = t
        assert bytes(box.image.value) != before
    assert sum(len(z) == 5 for z in decode.calls) == strip_calls   # moving t decodes one code, not the strip
    box.sliders["path"].value = "spherical"
    assert sum(len(z) == 5 for z in decode.calls) == strip_calls + 1
