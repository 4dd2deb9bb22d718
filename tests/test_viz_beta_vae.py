"""coursekit.viz.beta_vae, lecture 03's β slider, in-process: each stop shows its own model's reconstructions,
traversals and MIG; and the module only draws (the numbers come from the model and evaluation code)."""
import ast
from pathlib import Path

import pytest
import torch
from matplotlib.figure import Figure

from coursekit import evaluation, viz
from coursekit.data import sprites
from coursekit.models import VAE
from coursekit.training import train

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sprite_set():
    return sprites.sprites(size=16, n=600, seed=0, fractions=(0.8, 0.1, 0.1))


@pytest.fixture(scope="module")
def models(sprite_set):
    out = {}
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(sprite_set.train.x), batch_size=60,
                                         shuffle=True, generator=torch.Generator().manual_seed(0))
    for beta in (1.0, 16.0):
        torch.manual_seed(0)
        model = VAE(shape=(1, 16, 16), decoder="bernoulli", latent_dim=3, hidden=32, dropout=0.0, beta_kl=beta)
        train(model, loader, epochs=3, lr=3e-3, progress=False, device="cpu")
        out[beta] = model
    return out


def test_the_slider_picks_a_model_and_the_picture_and_numbers_follow(models, sprite_set):
    x, f = sprite_set.train.x, sprite_set.train.factors
    box = viz.beta_vae_widget(models, x, f, sprite_set.train.factor_names, show=4, max_rows=2)
    slider = box.sliders["beta"]
    assert [value for _, value in slider.options] == [1.0, 16.0] and slider.value == 1.0
    first = bytes(box.image.value)
    assert first.startswith(PNG_SIGNATURE)
    slider.value = 16.0
    assert bytes(box.image.value) != first
    slider.value = 1.0
    assert bytes(box.image.value) == first
    width, _ = viz.png_size(first)
    assert box.image.layout.width == f"{width}px" and width <= 1000   # its own size, within a notebook's width

    for beta, model in models.items():
        s = box.summaries[beta]
        with torch.no_grad():
            mu, log_var = model.encode(x)
        # the numbers are the model's own: MIG of its μ, its mean KL, its reconstructions
        active = evaluation.active_latents(mu, log_var)
        assert s["mig"] == pytest.approx(evaluation.mig(mu, f, active=active))   # MIG on the active latents
        assert s["mig_all"] == pytest.approx(evaluation.mig(mu, f))
        assert s["rate"] == pytest.approx(float(0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(1).mean()), rel=1e-5)
        torch.testing.assert_close(s["recon"], model.reconstruct(x[:4]))
        assert len(s["traversals"]) == 2 and s["traversals"][0].shape == (9, 1, 16, 16)
        # row r sweeps latent order[r] of sprite 0's μ from −2.5 to 2.5 and leaves the others alone
        j = int(s["order"][0])
        z = mu[0].repeat(9, 1)
        z[:, j] = torch.linspace(-2.5, 2.5, 9)
        with torch.no_grad():
            torch.testing.assert_close(s["traversals"][0], model.decode(z))
        assert float(s["kl_per_dim"][j]) == float(s["kl_per_dim"].max())
    assert box.summaries[16.0]["rate"] < box.summaries[1.0]["rate"]     # a larger β buys a cheaper code
    still = box.render(16.0)
    assert isinstance(still, Figure) and "β = 16" in still._suptitle.get_text()


def test_bad_arguments_are_named(models, sprite_set):
    x, f, names = sprite_set.train.x, sprite_set.train.factors, sprite_set.train.factor_names
    with pytest.raises(ValueError, match="non-empty dict"):
        viz.beta_vae_widget({}, x, f, names)
    with pytest.raises(ValueError, match=r"factors must have shape \(480, F\)"):
        viz.beta_vae_widget(models, x, f[:10], names)
    with pytest.raises(ValueError, match="must name the 5 factors"):
        viz.beta_vae_widget(models, x, f, names[:2])
    with pytest.raises(ValueError, match="not one of the trained β values"):
        viz.beta_vae_widget(models, x, f, names, value=3.0)


# The model's and the evaluation's own maths, which a viz module calls through `latent_report`,
# `traverse`, `reconstruct` and `mig_details` instead of computing it inline.
MODEL_MATHS = {"rate_distortion", "gaussian_kl", "gaussian_kl_per_dim", "reparameterize", "log_px_z", "elbo",
               "iwae_bound", "encode", "decoder_output", "mig"}


def names_used(source: str) -> set[str]:
    """Every name, attribute and imported name a module's code refers to."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update(alias.name.rsplit(".", 1)[-1] for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted(Path(viz.__file__).parent.glob("*.py")), ids=lambda p: p.name)
def test_viz_modules_only_draw(path):
    assert not names_used(path.read_text()) & MODEL_MATHS, f"{path.name} computes model maths inline"


def test_the_guard_sees_inline_model_maths():
    inline = "rate, distortion = model.rate_distortion(x)\nmu, log_var = model.encode(x)\n"
    assert names_used(inline) & MODEL_MATHS == {"rate_distortion", "encode"}


def test_the_slider_counts_active_latents_with_the_threshold_it_is_given():
    torch.manual_seed(0)
    models = {1.0: VAE(architecture="conv", decoder="bernoulli", shape=(1, 16, 16), latent_dim=4, hidden=16,
                       conv_channels=(4, 4), dropout=0.0)}
    x = (torch.rand(64, 1, 16, 16) < 0.3).float()
    f = torch.randint(0, 3, (64, 2))
    with torch.no_grad():
        mu, log_var = models[1.0].encode(x)
    kl = (0.5 * (mu.pow(2) + log_var.exp() - log_var - 1)).mean(0)
    threshold = float(kl.sort().values[1])          # between the latents: the two smallest count as switched off
    box = viz.beta_vae_widget(models, x, f, ["a", "b"], max_rows=2, active_kl=threshold)
    s = box.summaries[1.0]
    active = kl > threshold
    assert 0 < int(active.sum()) < 4
    assert s["mig"] == pytest.approx(evaluation.mig(mu, f, active=active))
    assert bool((s["details"].normalized_mi[~active] == 0).all())
    assert float(s["details"].normalized_mi[active].sum()) > 0    # the package's 0.05 would switch all four off
