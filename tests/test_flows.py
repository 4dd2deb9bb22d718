"""The flow layers of `coursekit.models.flows`: each one inverts, and its log-det is log |det| of its Jacobian.

Every layer is made non-trivial first (its parameters jittered away from the identity start) and
checked in float64 against `torch.autograd.functional.jacobian`, one example at a time: the
change-of-variables formula the lecture relies on holds only if these agree.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch.autograd.functional import jacobian

from coursekit.models.flows import (
    ActNorm, AdditiveCoupling, AffineCoupling, ElementwiseAffine, FactorOut, Flow, FlowSequence, InvertibleConv1x1,
    LogitTransform, Permutation, Squeeze, StandardLogistic, StandardNormal, channel_mask, checkerboard_mask,
    half_mask,
)


def jitter(flow: Flow, std: float = 0.3, seed: int = 0) -> Flow:
    """The flow in float64 with every parameter moved by N(0, std²) noise: far enough from the identity
    start that a wrong log-det or inverse shows."""
    flow = flow.double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(std * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return flow


def autograd_log_det(flow: Flow, x1: torch.Tensor, context: torch.Tensor | None = None) -> float:
    """log |det ∂z/∂x| of one example x1 (1, ...) by the autograd Jacobian (D × D) and slogdet."""
    shape = x1.shape

    def f(flat):
        return flow(flat.view(shape), context)[0].flatten()

    J = jacobian(f, x1.flatten())
    return torch.linalg.slogdet(J)[1].item()


CONTEXT = 3


def cases():
    """(name, a flow, an input batch (N, ...) in float64, a context or None)."""
    g = torch.Generator().manual_seed(1)
    vec = torch.randn(4, 4, generator=g, dtype=torch.float64)
    img = torch.randn(4, 2, 4, 4, generator=g, dtype=torch.float64)
    unit = torch.rand(4, 1, 2, 2, generator=g, dtype=torch.float64)
    onehot = torch.eye(CONTEXT, dtype=torch.float64)[[0, 1, 2, 0]]
    fmap = torch.randn(4, CONTEXT, 4, 4, generator=g, dtype=torch.float64)
    return [
        ("elementwise-affine", ElementwiseAffine((4,)), vec, None),
        ("logit", LogitTransform(0.05), unit, None),
        ("affine-coupling-half", AffineCoupling(half_mask(4, 0), hidden=8), vec, None),
        ("affine-coupling-half-odd", AffineCoupling(half_mask(4, 1), hidden=8), vec, None),
        ("additive-coupling", AdditiveCoupling(half_mask(4, 1), hidden=8), vec, None),
        ("affine-coupling-checkerboard", AffineCoupling(checkerboard_mask(2, 4, 4, 1), hidden=4), img, None),
        ("affine-coupling-channel", AffineCoupling(channel_mask(2, 4, 4, 0), hidden=4), img, None),
        ("conditional-coupling-one-hot", AffineCoupling(half_mask(4, 0), hidden=8, context_dim=CONTEXT), vec, onehot),
        ("conditional-coupling-image", AffineCoupling(checkerboard_mask(2, 4, 4, 0), hidden=4, context_dim=CONTEXT),
         img, onehot),
        ("conditional-coupling-feature-map",
         AffineCoupling(channel_mask(2, 4, 4, 1), hidden=4, context_dim=CONTEXT), img, fmap),
        ("permutation-reverse", Permutation(4, "reverse"), vec, None),
        ("permutation-random-channels", Permutation(2, "random", seed=3), img, None),
        ("actnorm-vector", ActNorm(4), vec, None),
        ("actnorm-image", ActNorm(2), img, None),
        ("invertible-conv-1x1", InvertibleConv1x1(2), img, None),
        ("invertible-linear", InvertibleConv1x1(4), vec, None),
        ("squeeze", Squeeze(), img, None),
        ("factor-out", FactorOut(1, FlowSequence([ActNorm(1), AffineCoupling(checkerboard_mask(1, 4, 4), 4)])),
         img, None),
        ("sequence", FlowSequence([ActNorm(2), AffineCoupling(checkerboard_mask(2, 4, 4, 0), 4), Squeeze(),
                                   InvertibleConv1x1(8), AffineCoupling(channel_mask(8, 2, 2, 1), 4),
                                   Permutation(8, "random")]), img, None),
    ]


CASES = {name: (flow, x, context) for name, flow, x, context in cases()}


def prepared(name: str):
    torch.manual_seed(0)
    flow, x, context = cases()[list(CASES).index(name)][1:]
    flow = jitter(flow)
    with torch.no_grad():
        flow(x, context)              # ActNorm's data-dependent initialisation happens on this first batch
    return flow, x, context


@pytest.mark.parametrize("name", CASES)
def test_inverse_undoes_forward_and_the_log_dets_are_opposite(name):
    flow, x, context = prepared(name)
    z, log_det = flow(x, context)
    x_back, inv_log_det = flow.inverse(z, context)
    assert log_det.shape == (x.shape[0],) and inv_log_det.shape == (x.shape[0],)
    assert torch.allclose(x_back, x, atol=1e-9)
    assert torch.allclose(inv_log_det, -log_det, atol=1e-9)
    if z.shape == x.shape:                                 # and the other way round, where the shapes allow
        x_again, _ = flow.inverse(x, context)
        assert torch.allclose(flow(x_again, context)[0], x, atol=1e-9)


@pytest.mark.parametrize("name", CASES)
def test_log_det_is_log_abs_det_of_the_jacobian(name):
    flow, x, context = prepared(name)
    _, log_det = flow(x, context)
    for i in range(2):
        c = None if context is None else context[i:i + 1]
        assert log_det[i].item() == pytest.approx(autograd_log_det(flow, x[i:i + 1], c), abs=1e-8)


def test_the_jacobian_check_can_fail():
    """The jittered affine coupling's log-det is far from 0 (and from its negative), so a log-det that forgot
    the scale (NICE's 0 on an affine layer) or flipped its sign would fail the comparison above."""
    flow, x, _ = prepared("affine-coupling-half")
    true = autograd_log_det(flow, x[:1])
    assert abs(true) > 1e-2 and flow(x[:1])[1].item() == pytest.approx(true, abs=1e-8)
    assert flow(x[:1])[1].item() != pytest.approx(-true, abs=1e-3)


def test_coupling_passes_the_given_half_unchanged_and_its_jacobian_is_triangular():
    flow, x, _ = prepared("affine-coupling-half")
    z, _ = flow(x)
    assert torch.equal(z[:, :2], x[:, :2])                                  # mask (1, 1, 0, 0)
    J = jacobian(lambda v: flow(v.view(1, 4))[0].flatten(), x[0])
    assert torch.equal(J[:2, 2:], torch.zeros(2, 2, dtype=J.dtype))          # the given half sees nothing else
    assert torch.allclose(J[2:, 2:], torch.diag(torch.diagonal(J[2:, 2:])))  # the rest: elementwise in itself


def test_masks():
    assert half_mask(5, 0).tolist() == [1, 1, 1, 0, 0] and half_mask(5, 1).tolist() == [0, 0, 0, 1, 1]
    board = checkerboard_mask(2, 3, 3, 0)
    assert board[0].tolist() == [[1, 0, 1], [0, 1, 0], [1, 0, 1]] and torch.equal(board[0], board[1])
    assert torch.equal(checkerboard_mask(1, 3, 3, 1), 1 - checkerboard_mask(1, 3, 3, 0))
    assert channel_mask(4, 2, 2, 0)[:, 0, 0].tolist() == [1, 1, 0, 0]


def test_conditional_coupling_depends_on_the_context_and_needs_it():
    flow, x, context = prepared("conditional-coupling-one-hot")
    other = torch.eye(CONTEXT, dtype=torch.float64)[[1, 2, 0, 1]]
    assert not torch.allclose(flow(x, context)[0], flow(x, other)[0])
    with pytest.raises(ValueError, match="conditional"):
        flow(x)


def test_actnorm_initialises_to_zero_mean_unit_variance_and_survives_a_constant_zero_channel():
    """Channels with different means and scales come out standardised; a channel that is zero everywhere
    (the digits' border) is left unscaled: finite, no NaN, log s = 0."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, 4, 4, generator=g) * torch.tensor([5.0, 0.1, 0.0]).view(1, 3, 1, 1) \
        + torch.tensor([3.0, -2.0, 0.0]).view(1, 3, 1, 1)
    layer = ActNorm(3)
    z, log_det = layer(x)
    assert torch.isfinite(z).all() and torch.isfinite(log_det).all()
    per_channel = z.transpose(0, 1).reshape(3, -1)                          # (C, N·H·W)
    assert torch.allclose(per_channel[:2].mean(1), torch.zeros(2), atol=1e-5)
    assert torch.allclose(per_channel[:2].var(1, unbiased=False), torch.ones(2), atol=1e-4)
    assert torch.equal(per_channel[2], torch.zeros_like(per_channel[2])) and layer.log_scale[2].item() == 0.0
    assert bool(layer.initialized)
    before = layer.log_scale.detach().clone()
    layer(x * 10)                                                           # later batches do not re-initialise
    assert torch.equal(layer.log_scale.detach(), before)


def test_actnorm_on_flattened_digits_with_a_constant_zero_pixel():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(32, 64, generator=g) * 16
    x[:, 0] = 0.0                                                           # a border pixel: always zero
    z, log_det = ActNorm(64)(x)
    assert torch.isfinite(z).all() and torch.isfinite(log_det).all()
    assert torch.allclose(z[:, 1:].std(0, unbiased=False), torch.ones(63), atol=1e-4)


def test_the_lu_parameterisation_and_its_log_det():
    """W = P L (U + diag s) with L unit lower- and U strictly upper-triangular; H·W·Σ log|s| equals
    H·W·log|det W| from torch.linalg.slogdet, also after the factors have moved."""
    torch.manual_seed(0)
    layer = jitter(InvertibleConv1x1(5), std=0.5)
    W = layer.weight()
    L = layer.lower * layer.lower_mask + torch.eye(5, dtype=W.dtype)
    U = layer.upper * layer.lower_mask.T + torch.diag(layer.sign_s * layer.log_abs_s.exp())
    assert torch.allclose(W, layer.P @ L @ U) and torch.equal(torch.triu(L, 1), torch.zeros_like(L))
    assert torch.equal(torch.tril(U, -1), torch.zeros_like(U))
    x = torch.randn(3, 5, 2, 3, dtype=torch.float64)
    _, log_det = layer(x)
    sign, log_abs = torch.linalg.slogdet(W)
    assert sign != 0 and torch.allclose(log_det, torch.full((3,), 6 * log_abs.item(), dtype=torch.float64))


def test_invertible_conv_starts_as_a_rotation():
    layer = InvertibleConv1x1(4)
    W = layer.weight()
    assert torch.allclose(W @ W.T, torch.eye(4), atol=1e-5)                 # orthogonal: log|det| = 0
    assert layer(torch.randn(2, 4, 3, 3))[1].abs().max() < 1e-5


def test_squeeze_moves_each_2x2_patch_into_channels():
    x = torch.arange(2 * 2 * 4 * 6, dtype=torch.float64).view(2, 2, 4, 6)
    z, log_det = Squeeze()(x)
    assert z.shape == (2, 8, 2, 3) and torch.equal(log_det, torch.zeros(2, dtype=torch.float64))
    for c, a, b, i, j in [(0, 0, 0, 0, 0), (1, 1, 0, 1, 2), (1, 0, 1, 0, 1), (0, 1, 1, 1, 0)]:
        assert torch.equal(z[:, 4 * c + 2 * a + b, i, j], x[:, c, 2 * i + a, 2 * j + b])
    with pytest.raises(ValueError, match=r"H and W even, got \(2, 1, 3, 4\)"):
        Squeeze()(torch.zeros(2, 1, 3, 4))


def test_factor_out_leaves_the_kept_channels_alone():
    flow, x, _ = prepared("factor-out")
    z, _ = flow(x)
    assert torch.equal(z[:, :1], x[:, :1]) and not torch.allclose(z[:, 1:], x[:, 1:])


def test_sequence_adds_log_dets_and_returns_every_stage():
    flow, x, _ = prepared("sequence")
    z, log_det, states = flow(x, return_all=True)
    assert len(states) == len(flow) + 1 and states[0] is x and torch.equal(states[-1], z)
    parts = sum(f(s)[1] for f, s in zip(flow.flows, states[:-1]))
    assert torch.allclose(log_det, parts)
    back, _, inverse_states = flow.inverse(z, return_all=True)
    assert torch.allclose(inverse_states[-1], x, atol=1e-9) and len(inverse_states) == len(flow) + 1


@pytest.mark.parametrize("base, reference", [
    (StandardNormal((3,)), torch.distributions.Normal(0.0, 1.0)),
    (StandardLogistic((3,)), torch.distributions.TransformedDistribution(
        torch.distributions.Uniform(0.0, 1.0), [torch.distributions.SigmoidTransform().inv])),
])
def test_bases_log_prob_and_temperature(base, reference):
    z = torch.tensor([[0.0, 1.5, -2.0], [3.0, -0.5, 0.25]])
    assert torch.allclose(base.log_prob(z), reference.log_prob(z).sum(1), atol=1e-5)
    torch.manual_seed(0)
    cold, hot = base.sample(20000, temperature=0.5), base.sample(20000, temperature=1.0)
    assert cold.shape == (20000, 3) and cold.std() / hot.std() == pytest.approx(0.5, rel=0.05)
    assert torch.equal(base.sample(4, temperature=0.0), torch.zeros(4, 3))   # T = 0: the mode


def test_logistic_base_has_heavier_tails():
    z = torch.tensor([[6.0]])
    assert StandardLogistic((1,)).log_prob(z) > StandardNormal((1,)).log_prob(z)


def test_errors_name_expected_and_got_shapes():
    with pytest.raises(ValueError, match=r"\(N, 4\), got \(3, 5\)"):
        AffineCoupling(half_mask(4))(torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"ActNorm\(2\) expects x of shape \(N, 2\) or \(N, 2, H, W\), got \(3, 4\)"):
        ActNorm(2)(torch.zeros(3, 4))
    with pytest.raises(TypeError, match="must be a Flow"):
        FlowSequence([torch.nn.Linear(2, 2)])


def test_the_seed_slip_lu_without_u_is_a_smaller_family():
    """Seed 000's W = P(L + diag s) is triangular up to P: it cannot represent a general rotation,
    which W = P L (U + diag s) does exactly (at initialisation)."""
    torch.manual_seed(0)
    layer = InvertibleConv1x1(3)
    W = layer.weight()
    P_inv_W = layer.P.T @ W
    assert torch.triu(P_inv_W, 1).abs().max() > 1e-3                       # not lower-triangular: U is needed
    assert math.isclose(torch.linalg.slogdet(W)[1].item(), 0.0, abs_tol=1e-5)
