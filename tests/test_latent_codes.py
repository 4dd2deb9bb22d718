"""What a VAE's code carries, computed by the model and evaluation code (the β slider only draws it).

`VAE.latent_report` is `rate_distortion` with the same noise plus the encoder's μ, log σ² and the
per-dimension KL, which matches torch.distributions and sums to the mean rate; `VAE.traverse`
rows are `decode` of the swept code, each independent of the others; `slerp` keeps the norms;
`MIGResult.top_factor` names the factor a latent copies.
"""
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from coursekit import data
from coursekit.evaluation import mig_details
from coursekit.models import VAE
from coursekit.models.vae import ACTIVE_KL, LatentReport, slerp


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    vae = VAE(latent_dim=3, hidden=16, dropout=0.0).eval()
    with torch.no_grad():
        vae.encoder_head[-1].bias[:3].add_(torch.tensor([1.5, 0.0, -0.5]))   # μ away from 0: unequal KLs
    return vae


@pytest.fixture(scope="module")
def x():
    return data.digits("test").x[:50]


# --- latent_report ----------------------------------------------------------------------------

def test_latent_report_is_rate_distortion_with_the_same_noise_and_the_encoders_code(model, x):
    report = model.latent_report(x, generator=torch.Generator().manual_seed(1))
    rate, distortion = model.rate_distortion(x, generator=torch.Generator().manual_seed(1))
    assert torch.equal(report.rate, rate) and torch.equal(report.distortion, distortion)  # so R + D = −ELBO
    with torch.no_grad():
        mu, log_var = model.encode(x)
    torch.testing.assert_close(report.mu, mu)
    torch.testing.assert_close(report.log_var, log_var)
    assert report.mu.shape == report.log_var.shape == (50, 3) and report.kl_per_dim.shape == (3,)


def test_kl_per_dim_is_the_mean_kl_of_each_coordinate_and_sums_to_the_rate(model, x):
    report = model.latent_report(x, generator=torch.Generator().manual_seed(1))
    q = Normal(report.mu, (0.5 * report.log_var).exp())
    expected = kl_divergence(q, Normal(0.0, 1.0)).mean(0)                  # (L,)
    torch.testing.assert_close(report.kl_per_dim, expected)
    torch.testing.assert_close(report.kl_per_dim.sum(), report.rate.mean())
    assert len(set(report.kl_per_dim.tolist())) == 3                        # the test can tell the dims apart


def test_latent_report_chunks_do_not_matter_and_a_conditional_vae_passes_its_labels(model, x):
    whole = model.latent_report(x, generator=torch.Generator().manual_seed(1))
    chunked = model.latent_report(x, generator=torch.Generator().manual_seed(1), batch_size=7)
    for name in ("rate", "distortion", "mu", "log_var", "kl_per_dim"):
        torch.testing.assert_close(getattr(chunked, name), getattr(whole, name))
    torch.manual_seed(0)
    cvae = VAE(latent_dim=2, hidden=16, dropout=0.0, num_classes=10).eval()
    y = data.digits("test").y[:50]
    report = cvae.latent_report(x, y, batch_size=16)
    with torch.no_grad():
        torch.testing.assert_close(report.mu, cvae.encode(x, y)[0])


def test_order_and_active_read_the_per_dimension_kl():
    kl = torch.tensor([0.01, 2.0, 0.06, ACTIVE_KL])
    report = LatentReport(rate=torch.zeros(1), distortion=torch.zeros(1), mu=torch.zeros(1, 4),
                          log_var=torch.zeros(1, 4), kl_per_dim=kl)
    assert report.order.tolist() == [1, 2, 3, 0]
    assert report.active == 2 and isinstance(report.active, int)           # "more than ACTIVE_KL" is strict


# --- traverse ---------------------------------------------------------------------------------

def test_traverse_rows_are_decode_of_the_swept_code(model):
    z0 = torch.tensor([0.3, -0.7, 1.1])
    values = torch.linspace(-2.0, 2.0, 5)
    rows = model.traverse(z0, [2, 0], values)
    assert rows.shape == (2, 5, 1, 8, 8)
    for row, j in zip(rows, [2, 0]):
        z = z0.repeat(5, 1)
        z[:, j] = values
        with torch.no_grad():
            torch.testing.assert_close(row, model.decode(z))
    assert torch.equal(model.traverse(z0, [0], values)[0], rows[1])          # a row does not depend on the others
    assert not torch.equal(rows[0, 0], rows[0, -1])                           # the sweep changes the picture
    assert model.traverse(z0, [], values).shape == (0, 5, 1, 8, 8)
    assert model.traverse(z0, torch.tensor([1]), [0.0, 1.0]).shape == (1, 2, 1, 8, 8)


def test_traverse_errors_name_what_is_wrong(model):
    with pytest.raises(ValueError, match=r"shape \(3,\), got \(1, 3\)"):
        model.traverse(torch.zeros(1, 3), [0], [0.0])
    with pytest.raises(ValueError, match=r"0\.\.2, got \[3\]"):
        model.traverse(torch.zeros(3), [3], [0.0])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        model.traverse(torch.zeros(3), [0], [])


# --- slerp (moved from the latent widgets) ----------------------------------------------------

def test_slerp_ends_and_norms():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(16, generator=g), torch.randn(16, generator=g)
    torch.testing.assert_close(slerp(a, b, 0.0), a)
    torch.testing.assert_close(slerp(a, b, 1.0), b)
    mid = slerp(a, b, 0.5)
    assert mid.norm() == pytest.approx(0.5 * (a.norm() + b.norm()).item(), rel=1e-5)
    assert mid.norm() > (0.5 * (a + b)).norm()


# --- MIGResult.top_factor ---------------------------------------------------------------------

def test_top_factor_names_the_factor_each_latent_copies():
    g = torch.Generator().manual_seed(0)
    factors = torch.randint(0, 4, (600, 2), generator=g)
    noise = lambda: 0.01 * torch.randn(600, generator=g)  # noqa: E731
    latents = torch.stack([factors[:, 1] + noise(), factors[:, 0] + noise(), factors[:, 1] + noise()], 1)
    details = mig_details(latents, factors)
    assert details.top_factor.tolist() == [1, 0, 1]
    assert torch.equal(details.top_factor, details.normalized_mi.argmax(1))
