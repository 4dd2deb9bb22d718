"""Autoencoders and PCA (lecture 01): the properties the lecture claims, not only that things run."""
import math

import pytest
import torch
from torch import nn

from coursekit import data, seed_everything
from coursekit.models import (
    PCA, ConvAEConfig, ConvAutoencoder, LinearAEConfig, LinearAutoencoder, MLPAEConfig, MLPAutoencoder, corrupt,
    few_label_indices, inpaint, kernel_pca, linear_probe, principal_angles,
)
from coursekit.training import evaluate, train

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="module")
def x_train():
    return data.to_float(data.digits("train").x)  # (1000, 1, 8, 8) in [0, 1]


@pytest.fixture(scope="module")
def x_test():
    return data.to_float(data.digits("test").x)


def all_models(**kw):
    return [LinearAutoencoder(latent_dim=3, **kw), MLPAutoencoder(latent_dim=3, hidden=(32,), **kw),
            ConvAutoencoder(latent_dim=3, channels=(4, 8), **kw)]


# --- the optimal linear autoencoder spans the PCA subspace ---------------------------------

@pytest.fixture(scope="module")
def trained_linear(x_train):
    """A linear AE with k = 4 (a clear eigen-gap after λ_4 on the digits), full batch Adam."""
    seed_everything(0)
    model = LinearAutoencoder(latent_dim=4)
    with _one_thread():
        train(model, [(x_train,)], epochs=1000, lr=3e-2, progress=False, device="cpu")
    return model


class _one_thread:
    """Tiny models train fastest on one thread (and do not fight other processes for cores)."""

    def __enter__(self):
        self.threads = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.threads)


def test_trained_linear_autoencoder_spans_the_pca_subspace(trained_linear, x_train, x_test):
    pca = PCA(latent_dim=4).fit(x_train)
    angles = principal_angles(trained_linear.W_d.detach(), pca.components.T, degrees=True)
    assert angles.shape == (4,)
    assert angles.max() < 5.0, f"principal angles between decoder columns and PCA subspace: {angles.tolist()}"
    # ... and it reconstructs as well as PCA (within 1 %), on the training and on the test split
    for x in (x_train, x_test):
        ae, best = evaluate(trained_linear, [(x,)])["recon"], evaluate(pca, [(x,)])["recon"]
        assert ae == pytest.approx(best, rel=0.01)
    # a subspace the AE did not find is far away: the angles are not small by accident
    other = PCA(latent_dim=8).fit(x_train).components[4:].T  # directions 5..8
    assert principal_angles(trained_linear.W_d.detach(), other, degrees=True).min() > 60


def test_the_decoder_columns_are_not_the_principal_components(trained_linear, x_train):
    """The loss only fixes the subspace: W_d is some (non-orthonormal) basis of it."""
    W_d = trained_linear.W_d.detach()
    gram = W_d.T @ W_d
    assert (gram - torch.eye(4)).abs().max() > 0.1
    pca = PCA(latent_dim=4).fit(x_train)
    cosines = (nn.functional.normalize(W_d, dim=0).T @ pca.components.T).abs()  # (4, 4)
    assert cosines.max(1).values.min() < 0.99, "every decoder column happens to be a principal component"


# --- PCA -------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 5, 20, 64])
def test_pca_training_error_is_the_sum_of_discarded_eigenvalues(x_train, k):
    x = x_train.double()
    pca = PCA(latent_dim=k).fit(x)
    X = x.flatten(1)
    covariance = (X - X.mean(0)).T @ (X - X.mean(0)) / len(X)  # divisor N
    eigenvalues = torch.linalg.eigvalsh(covariance).flip(0)
    assert torch.allclose(pca.eigenvalues, eigenvalues.clamp(min=0), atol=1e-10)
    error = pca.reconstruction_error(x).mean()
    assert error.item() == pytest.approx(eigenvalues[k:].sum().item(), abs=1e-9)
    assert torch.allclose(pca.components @ pca.components.T, torch.eye(k, dtype=torch.float64), atol=1e-10)
    assert pca.loss((x,))["recon"].item() == pytest.approx(error.item())


def test_pca_beats_every_other_k_dimensional_subspace(x_train):
    pca = PCA(latent_dim=5).fit(x_train)
    X = x_train.flatten(1)
    Xc = X - X.mean(0)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        Q, _ = torch.linalg.qr(torch.randn(64, 5, generator=g))  # a random orthonormal basis
        # nudge the PCA basis a little too: still worse
        Q2, _ = torch.linalg.qr(pca.components.T + 0.05 * torch.randn(64, 5, generator=g))
        for basis in (Q, Q2):
            error = (Xc - Xc @ basis @ basis.T).pow(2).sum(1).mean()
            assert error > pca.reconstruction_error(x_train).mean() + 1e-4


def test_pca_needs_enough_examples_and_components():
    with pytest.raises(ValueError, match="at most D = 64 components"):
        PCA(latent_dim=65)
    with pytest.raises(ValueError, match="3 examples give at most 3 components"):
        PCA(latent_dim=5).fit(torch.rand(3, 1, 8, 8))


# --- principal angles ------------------------------------------------------------------------

def test_principal_angles_of_known_subspaces():
    e1, e2, e3 = torch.eye(3, dtype=torch.float64)
    deg = lambda A, B: principal_angles(torch.stack(A, 1), torch.stack(B, 1), degrees=True)  # noqa: E731
    assert torch.allclose(deg([e1], [e1 + e2]), torch.tensor([45.0], dtype=torch.float64))
    assert torch.allclose(deg([e1], [e2]), torch.tensor([90.0], dtype=torch.float64))
    # the xy-plane and the plane spanned by e1 and e2 + e3: they share e1, and e2 is 45° from e2 + e3
    assert torch.allclose(deg([e1, e2], [e1 + 3 * e2 + 3 * e3, e1]), torch.tensor([0.0, 45.0], dtype=torch.float64),
                          atol=1e-7)
    # a line inside a plane: one angle, zero; the order of arguments does not matter
    assert torch.allclose(deg([e1, e2], [e1 - 2 * e2]), torch.zeros(1, dtype=torch.float64), atol=1e-7)
    assert torch.allclose(deg([e1 - 2 * e2], [e1, e2]), torch.zeros(1, dtype=torch.float64), atol=1e-7)


def test_principal_angles_ignore_the_basis_and_resolve_tiny_angles():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(20, 4, generator=g, dtype=torch.float64)
    B = torch.randn(20, 4, generator=g, dtype=torch.float64)
    R = torch.randn(4, 4, generator=g, dtype=torch.float64)  # any invertible change of basis
    assert torch.allclose(principal_angles(A, B), principal_angles(A @ R, B), atol=1e-10)
    assert torch.allclose(principal_angles(A, B), principal_angles(B, A), atol=1e-10)
    angles = principal_angles(A, B)
    assert torch.all(angles[1:] >= angles[:-1]) and angles.min() >= 0 and angles.max() <= math.pi / 2
    # rotate one direction of span(A) by 1e-7 rad: arccos(cos θ) would give 0 or noise, atan2 gives 1e-7
    Q, _ = torch.linalg.qr(A)
    u, v = Q[:, 0], torch.linalg.qr(torch.cat([Q, B[:, :1]], 1))[0][:, 4]  # v ⟂ span(A)
    tilted = torch.cat([(math.cos(1e-7) * u + math.sin(1e-7) * v)[:, None], Q[:, 1:]], 1)
    assert principal_angles(Q, tilted).max().item() == pytest.approx(1e-7, rel=1e-3)


def test_principal_angles_match_scipy():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    g = torch.Generator().manual_seed(1)
    A, B = torch.randn(30, 5, generator=g, dtype=torch.float64), torch.randn(30, 3, generator=g, dtype=torch.float64)
    expected = sorted(scipy_linalg.subspace_angles(A.numpy(), B.numpy()))
    assert torch.allclose(principal_angles(A, B), torch.tensor(expected, dtype=torch.float64), atol=1e-10)


def test_principal_angles_name_both_shapes():
    with pytest.raises(ValueError, match=r"A \(64, 3\) and B \(63, 3\)"):
        principal_angles(torch.rand(64, 3), torch.rand(63, 3))
    with pytest.raises(ValueError, match=r"B must be a \(D, columns\) matrix, got \(64,\)"):
        principal_angles(torch.rand(64, 3), torch.rand(64))


# --- kernel PCA ----------------------------------------------------------------------------

def test_kernel_pca_with_a_wide_kernel_is_linear_pca(x_train):
    """For γ → 0, exp(−γ‖x − x'‖²) ≈ 1 − γ‖x − x'‖², whose centred kernel is 2γ X_c X_cᵀ:
    kernel PCA's coordinates then span the same space as linear PCA's scores."""
    x = x_train[:300].double()
    z_kernel = kernel_pca(x, k=3, gamma=1e-5)
    z_linear = PCA(latent_dim=3).fit(x).encode(x)
    assert z_kernel.shape == (300, 3)
    assert principal_angles(z_kernel, z_linear, degrees=True).max() < 0.5
    # a narrow kernel is genuinely non-linear: its coordinates are elsewhere
    assert principal_angles(kernel_pca(x, k=3, gamma=0.5), z_linear, degrees=True).max() > 10


# --- the architectures ---------------------------------------------------------------------

@pytest.mark.parametrize("shape,channels", [((1, 8, 8), (16, 32)), ((3, 8, 8), (8,)), ((1, 28, 28), (4, 8, 8))])
def test_conv_autoencoder_preserves_shapes(shape, channels):
    model = ConvAutoencoder(shape=shape, latent_dim=6, channels=channels)
    x = torch.rand(5, *shape)
    z = model.encode(x)
    assert z.shape == (5, 6)
    assert model.decode(z).shape == (5, *shape) and model(x).shape == (5, *shape)
    assert ((model(x) > 0) & (model(x) < 1)).all(), "the sigmoid output stays inside (0, 1)"


def test_conv_config_checks_the_image_size_and_constructors_are_keyword_only():
    with pytest.raises(ValueError, match="divisible by 4"):
        ConvAEConfig(shape=(1, 6, 6), channels=(4, 8, 8))
    with pytest.raises(TypeError):
        MLPAEConfig((1, 8, 8), 2)  # keyword-only
    with pytest.raises(ValueError, match="latent_dim"):
        LinearAEConfig(latent_dim=0)
    with pytest.raises(ValueError, match="mask_prob"):
        MLPAEConfig(mask_prob=1.0)
    with pytest.raises(TypeError, match="no field"):
        MLPAutoencoder(MLPAEConfig(), channels=(4,))
    assert MLPAutoencoder(MLPAEConfig(latent_dim=7), noise_std=0.1).config == MLPAEConfig(latent_dim=7, noise_std=0.1)


def test_mlp_decoder_mirrors_the_encoder():
    model = MLPAutoencoder(latent_dim=5, hidden=(40, 20))
    enc = [m.out_features for m in model.encoder if isinstance(m, nn.Linear)]
    dec = [m.out_features for m in model.decoder if isinstance(m, nn.Linear)]
    assert enc == [40, 20, 5] and dec == [20, 40, 64]


def test_an_overcomplete_linear_autoencoder_learns_to_copy(x_train):
    """k ≥ D: reconstruction becomes perfect, so the code need not have learnt anything."""
    seed_everything(0)
    model = LinearAutoencoder(latent_dim=80)
    with _one_thread():
        train(model, [(x_train,)], epochs=300, lr=1e-2, progress=False, device="cpu")
    assert evaluate(model, [(x_train,)])["recon"] < 0.05  # PCA with k = 5 leaves 2.07
    g = torch.Generator().manual_seed(0)
    noisy = corrupt(x_train, noise_std=0.3, generator=g)
    with torch.no_grad():
        passed_through = (model(noisy) - x_train).pow(2).flatten(1).sum(1).mean()
    noise_energy = (noisy - x_train).pow(2).flatten(1).sum(1).mean()
    assert passed_through > 0.8 * noise_energy, "the copying autoencoder should pass the noise through"


# --- denoising -----------------------------------------------------------------------------

class Spy(nn.Module):
    """Records what the encoder is given, then applies it."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.inner(x)


@pytest.mark.parametrize("corruption", [{"noise_std": 0.5}, {"mask_prob": 0.5}])
def test_denoising_loss_feeds_corrupted_inputs_and_compares_with_clean_targets(x_train, corruption):
    model = MLPAutoencoder(latent_dim=4, hidden=(16,), **corruption)
    model.encoder = Spy(model.encoder)
    x = x_train[:50]
    model.train()
    torch.manual_seed(3)
    recon = model.loss((x,))["recon"]
    x_tilde = model.encoder.seen[-1]
    assert not torch.equal(x_tilde, x), "in training, the encoder must see a corrupted x̃"
    torch.manual_seed(3)
    assert torch.equal(x_tilde, model.corrupt(x)), "x̃ is the model's own corruption of x"
    with torch.no_grad():
        expected = (x - model.decoder(model.encoder.inner(x_tilde))).pow(2).flatten(1).sum(1).mean()
        against_noisy = (x_tilde - model.decoder(model.encoder.inner(x_tilde))).pow(2).flatten(1).sum(1).mean()
    assert recon.item() == pytest.approx(expected.item(), rel=1e-6), "the target must be the clean x"
    assert abs(recon.item() - against_noisy.item()) > 1e-3
    if "mask_prob" in corruption:
        dropped = ((x_tilde == 0) & (x != 0)).sum() / (x != 0).sum()
        assert 0.4 < dropped.item() < 0.6
    model.eval()  # evaluation measures plain reconstruction
    model.loss((x,))
    assert torch.equal(model.encoder.seen[-1], x)


def test_plain_autoencoder_loss_sees_the_clean_input_in_training(x_train):
    model = MLPAutoencoder(latent_dim=4, hidden=(16,))
    model.encoder = Spy(model.encoder)
    model.train()
    model.loss((x_train[:10], torch.zeros(10)))  # (x, y) batches work too
    assert torch.equal(model.encoder.seen[-1], x_train[:10])


def test_corrupt_is_reproducible_with_a_generator_and_keeps_shape(x_train):
    x = x_train[:20]
    a = corrupt(x, noise_std=0.2, mask_prob=0.3, generator=torch.Generator().manual_seed(0))
    b = corrupt(x, noise_std=0.2, mask_prob=0.3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == x.shape and not torch.equal(a, x)
    assert torch.equal(corrupt(x), x)


def test_inpaint_keeps_the_known_pixels_and_fills_the_rest(x_train, x_test):
    pca = PCA(latent_dim=20).fit(x_train)
    known = torch.rand(x_test.shape, generator=torch.Generator().manual_seed(0)) > 0.5
    filled = inpaint(pca, x_test, known, steps=20)
    assert torch.equal(filled[known], x_test[known])
    missing_error = (filled - x_test)[~known].pow(2).sum() / len(x_test)
    zero_error = x_test[~known].pow(2).sum() / len(x_test)
    assert missing_error < 0.6 * zero_error, "filling in should beat leaving the pixels at 0"
    with pytest.raises(ValueError, match="shape of x"):
        inpaint(pca, x_test, known[:5])


# --- the contract: devices, dtypes, errors, smoke ------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
def test_models_follow_the_device_and_dtype_of_the_input(device, x_train):
    x = x_train[:16].to(device=device, dtype=torch.float64)
    for model in all_models(noise_std=0.1, mask_prob=0.1):
        model = model.to(device=device, dtype=torch.float64).train()
        parts = model.loss((x,))
        assert parts["loss"].dtype == torch.float64 and parts["loss"].device.type == device
        parts["loss"].backward()
        assert model.encode(x).dtype == torch.float64 and model(x).dtype == torch.float64
    pca = PCA(latent_dim=3).fit(x)
    assert pca.components.dtype == torch.float64 and pca.mean.device.type == device
    assert pca(x).dtype == torch.float64
    assert principal_angles(pca.components.T, x.flatten(1)[:3].T).dtype == torch.float64
    assert kernel_pca(x, k=2).dtype == torch.float64
    assert corrupt(x, noise_std=0.1, mask_prob=0.2, generator=torch.Generator().manual_seed(0)).device.type == device


@pytest.mark.parametrize("make", [lambda: LinearAutoencoder(latent_dim=4), lambda: MLPAutoencoder(latent_dim=4),
                                  lambda: ConvAutoencoder(latent_dim=4, channels=(8, 16)),
                                  lambda: MLPAutoencoder(latent_dim=4, noise_std=0.3, mask_prob=0.2)],
                         ids=["linear", "mlp", "conv", "denoising"])
def test_one_epoch_smoke(make, x_train):
    seed_everything(0)
    model = make()
    loader = data.loaders(data.Splits(*(data.digits(s) for s in ("train", "val", "test"))), batch_size=32,
                          transform=data.to_float)["train"]
    before = [p.detach().clone() for p in model.parameters()]
    small = [batch for _, batch in zip(range(8), loader)]
    with _one_thread():
        history = train(model, small, epochs=1, val_data=small[:2], progress=False, device="cpu")
    assert set(history.rounds) >= {"train/loss", "train/recon", "train/mse", "val/recon"}
    assert math.isfinite(history.last("train/loss"))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert history.last("val/mse") == pytest.approx(history.last("val/recon") / 64)


def test_bad_shapes_name_both_shapes():
    model = MLPAutoencoder(latent_dim=2)
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\), got \(5, 64\).*x.view\(-1, 1, 8, 8\)"):
        model.loss((torch.rand(5, 64),))
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\), got \(5, 1, 28, 28\)"):
        model.encode(torch.rand(5, 1, 28, 28))
    with pytest.raises(ValueError, match=r"z must have shape \(N, 2\), got \(5, 3\)"):
        model.decode(torch.rand(5, 3))
    with pytest.raises(TypeError, match="floats"):
        model(torch.zeros(5, 1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\), got \(5, 64\)"):
        PCA(latent_dim=2).fit(torch.rand(5, 64))


def test_a_plain_autoencoder_cannot_sample():
    for model in (MLPAutoencoder(), PCA()):
        with pytest.raises(NotImplementedError, match="p\\(z\\)|probabilistic PCA"):
            model.sample(4)
    assert MLPAutoencoder().likelihood == "none"


# --- the code as features --------------------------------------------------------------------

def test_few_label_indices_and_linear_probe():
    y = data.digits("train").y
    idx = few_label_indices(y, 5, torch.Generator().manual_seed(0))
    assert len(idx) == 50 and len(set(idx.tolist())) == 50
    assert torch.equal(torch.bincount(y[idx]), torch.full((10,), 5))
    with pytest.raises(ValueError, match="fewer than per_class"):
        few_label_indices(y, 500)
    # separable features give a perfect probe; features that are pure noise give about chance
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(200) % 4
    separable = torch.nn.functional.one_hot(labels, 4).double() * 5 + 0.1 * torch.randn(200, 4, generator=g, dtype=torch.float64)
    assert linear_probe(separable[:100], labels[:100], separable[100:], labels[100:]) == 1.0
    noise = torch.randn(200, 4, generator=g)
    assert linear_probe(noise[:100], labels[:100], noise[100:], labels[100:]) < 0.5
