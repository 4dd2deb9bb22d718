"""Properties the lectures claim for the shared layers: masks make outputs depend on earlier inputs
only (exact zeros in the Jacobian, not small numbers), the hand-written attention equals the fused
one, and every layer runs in float64 and on the meta device (no hard-coded device), and a layer built
on meta is whole again after `to_empty` and `reset_parameters()` (masks and tables rebuilt exactly)."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch.autograd.functional import jacobian

from coursekit.models.layers import (
    MLP, CausalConv1d, MaskedConv2d, MaskedLinear, MaskedMLP, MultiHeadAttention, SinusoidalTimeEmbedding,
    attention, causal_mask, made_degrees, made_masks, materialize,
)


# --- MADE: masked linear layers -------------------------------------------------------------

@pytest.mark.parametrize("hidden", [[], [3], [24, 24]])
def test_made_masks_follow_the_paper(hidden):
    D = 5
    degrees = made_degrees(D, hidden, order=[3, 1, 5, 2, 4], generator=torch.Generator().manual_seed(1))
    masks = made_masks(degrees)
    assert len(masks) == len(hidden) + 1
    for m_prev, m in zip(degrees[:-1], degrees[1:]):
        assert m.min() >= max(1, m_prev.min()) and m.max() <= D - 1
    for (m_prev, m), M in zip(zip(degrees[:-1], degrees[1:]), masks[:-1]):
        for k in range(len(m)):
            for j in range(len(m_prev)):
                assert M[k, j] == float(m[k] >= m_prev[j])
    for d in range(D):
        for k in range(len(degrees[-1])):
            assert masks[-1][d, k] == float(degrees[0][d] > degrees[-1][k])


def test_made_masks_connect_every_allowed_pair():
    """With evenly spread degrees, a path exists from x_e to output d exactly when e comes before d."""
    order = torch.tensor([2, 4, 1, 3])
    paths = None
    for M in made_masks(made_degrees(4, [6, 6], order)):
        paths = M if paths is None else M @ paths        # (D, D): number of paths from input e to output d
    assert torch.equal(paths > 0, order[None, :] < order[:, None])


@pytest.mark.parametrize("order", [None, "random"])
@pytest.mark.parametrize("hidden, out_per_dim, seed", [([], 1, 0), ([32, 32], 1, 0), ([32], 3, 3), ([16, 16], 2, None)])
def test_masked_mlp_output_d_depends_only_on_earlier_inputs(order, hidden, out_per_dim, seed):
    torch.manual_seed(0)
    D = 6
    if order == "random":
        order = torch.randperm(D, generator=torch.Generator().manual_seed(7)) + 1
    net = MaskedMLP(D, hidden, out_per_dim=out_per_dim, order=order, seed=seed, activation="tanh")
    x = torch.randn(1, D)
    J = jacobian(net, x)[0, :, 0, :]                         # (out_per_dim·D, D): ∂ out_o / ∂ x_e
    assert J.shape == (out_per_dim * D, D)
    m = net.order
    allowed = (m[None, :] < m[:, None]).repeat(out_per_dim, 1)   # output j·D + d may see x_e iff m(e) < m(d)
    assert (J[~allowed] == 0).all(), "an output depends on an input that does not come before it"
    assert (J[allowed] != 0).float().mean() > 0.5, "the masked network is (almost) trivially zero"


def test_masking_keeps_the_weights_and_zeroes_their_gradient():
    torch.manual_seed(0)
    layer = MaskedLinear(5, 4)
    mask = (torch.rand(4, 5) > 0.5).float()
    mask[0, 0], mask[0, 1] = 0.0, 1.0
    layer.set_mask(mask)
    before = layer.weight.detach().clone()
    layer(torch.randn(8, 5)).pow(2).sum().backward()
    assert torch.equal(layer.weight.detach(), before)                 # masked entries keep their values
    assert (layer.weight[mask == 0] != 0).all()
    assert (layer.weight.grad[mask == 0] == 0).all()                  # and get no gradient
    assert (layer.weight.grad[mask == 1] != 0).any()
    x = torch.randn(3, 5)
    assert torch.allclose(layer(x), x @ (before * mask).T + layer.bias)   # y = x (W ⊙ M)ᵀ + b


# --- PixelCNN: masked convolutions ----------------------------------------------------------

def _pixel_influence(net, C, H, W, dtype=torch.float64):
    """(H·W, H·W) matrix: entry [p, q] = Σ |∂ out(pixel p) / ∂ x(pixel q)| over channels, raster order."""
    x = torch.randn(1, C, H, W, dtype=dtype)
    J = jacobian(net, x)                                 # (1, C_out, H, W, 1, C, H, W)
    return J.abs().sum(dim=(0, 1, 4, 5)).reshape(H * W, H * W)


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_conv_single_layer(mask_type):
    torch.manual_seed(0)
    H = W = 5
    conv = MaskedConv2d(3, 4, 3, mask_type=mask_type).double()
    influence = _pixel_influence(conv, 3, H, W)
    p = torch.arange(H * W)
    later = p[None, :] > p[:, None] if mask_type == "B" else p[None, :] >= p[:, None]
    assert (influence[later] == 0).all()
    diagonal = influence.diagonal()
    assert (diagonal != 0).all() if mask_type == "B" else (diagonal == 0).all()
    for i in range(H):
        for j in range(W):
            if j > 0:
                assert influence[i * W + j, i * W + j - 1] != 0       # left neighbour
            if i > 0:
                assert influence[i * W + j, (i - 1) * W + j] != 0     # upper neighbour


def test_masked_conv_stack_A_then_B_is_causal_over_the_whole_image():
    torch.manual_seed(0)
    H, W, C = 6, 6, 2
    layers = [MaskedConv2d(C, 8, 5, "A"), MaskedConv2d(8, 8, 3, "B"), MaskedConv2d(8, 8, 3, "B"),
              MaskedConv2d(8, 3, 1, "B")]
    stack = torch.nn.Sequential(*[m for layer in layers for m in (layer, torch.nn.Tanh())][:-1]).double()
    influence = _pixel_influence(stack, C, H, W)
    p = torch.arange(H * W)
    assert (influence[p[None, :] >= p[:, None]] == 0).all(), "a pixel sees itself or a later pixel"
    for i in range(H):
        for j in range(W):
            if j > 0:
                assert influence[i * W + j, i * W + j - 1] != 0
            if i > 0:
                assert influence[i * W + j, (i - 1) * W + j] != 0


def test_masked_conv_mask_type_A_vs_B():
    a, b = MaskedConv2d(1, 1, 3, "A"), MaskedConv2d(1, 1, 3, "B")
    assert torch.equal(a.mask[0, 0], torch.tensor([[1.0, 1, 1], [1, 0, 0], [0, 0, 0]]))
    assert torch.equal(b.mask[0, 0], torch.tensor([[1.0, 1, 1], [1, 1, 0], [0, 0, 0]]))


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_conv_colour_groups_order_r_g_b_within_a_pixel(mask_type):
    """With channel_groups C = 3 (channel k in group k mod 3): output channel o at pixel p sees every input channel
    at pixels before p, and at p itself exactly the input channels of groups < g(o) (A) or ≤ g(o) (B)."""
    torch.manual_seed(0)
    C, H, W, c_in, c_out = 3, 4, 4, 6, 9
    conv = MaskedConv2d(c_in, c_out, 3, mask_type=mask_type, channel_groups=C).double()
    J = jacobian(conv, torch.randn(1, c_in, H, W, dtype=torch.float64))   # (1, c_out, H, W, 1, c_in, H, W)
    J = J[0, :, :, :, 0].reshape(c_out, H * W, c_in, H * W)               # [o, p, i, q]
    p = torch.arange(H * W)
    assert (J.abs().sum((0, 2))[p[None, :] > p[:, None]] == 0).all()      # no later pixel, any channel
    for o in range(c_out):
        for i in range(c_in):
            allowed = i % C < o % C if mask_type == "A" else i % C <= o % C
            centre = J[o, :, i, :].diagonal()                                # ∂ y_{o,p} / ∂ x_{i,p}, (H·W,)
            assert (centre != 0).all() if allowed else (centre == 0).all(), (o, i)
            assert J[o, 5, i, 4] != 0 and J[o, 5, i, 1] != 0                 # left and upper neighbours: every channel


def test_masked_conv_one_colour_group_is_the_grey_mask():
    for mask_type in ("A", "B"):
        grey = MaskedConv2d(4, 5, 5, mask_type)
        assert torch.equal(MaskedConv2d(4, 5, 5, mask_type, channel_groups=1).mask, grey.mask)
    a = MaskedConv2d(3, 3, 3, "A", channel_groups=3).mask[:, :, 1, 1]     # the centre tap, (out, in)
    assert torch.equal(a, torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0]]))
    b = MaskedConv2d(3, 3, 3, "B", channel_groups=3).mask[:, :, 1, 1]
    assert torch.equal(b, torch.tensor([[1.0, 0, 0], [1, 1, 0], [1, 1, 1]]))
    with pytest.raises(ValueError, match=r"channel_groups \(C, the colour groups\) must be a positive int, got 0"):
        MaskedConv2d(3, 3, 3, "A", channel_groups=0)


# --- WaveNet: causal convolutions -----------------------------------------------------------

@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("shift", [False, True])
def test_causal_conv_sees_exactly_its_taps(dilation, shift):
    torch.manual_seed(0)
    T, k = 12, 3
    conv = CausalConv1d(2, 3, k, dilation=dilation, shift=shift).double()
    x = torch.randn(1, 2, T, dtype=torch.float64)
    assert conv(x).shape == (1, 3, T)
    influence = jacobian(conv, x).abs().sum(dim=(0, 1, 3, 4))        # (T, T): [t, s] = Σ |∂ y_t / ∂ x_s|
    for t in range(T):
        taps = {t - int(shift) - i * dilation for i in range(k)}       # y_t = Σ_i W_i x_{t − shift − i·dilation}
        for s in range(T):
            assert (influence[t, s] != 0) == (s in taps), (t, s)
    later = torch.arange(T)[None, :] >= torch.arange(T)[:, None] + (0 if shift else 1)
    assert (influence[later] == 0).all()


@pytest.mark.parametrize("k, dilations", [(2, [1, 2, 4, 8]), (3, [1, 2, 4])])
def test_dilated_stack_receptive_field(k, dilations):
    torch.manual_seed(0)
    T = 40
    layers = [CausalConv1d(1 if i == 0 else 4, 4, k, dilation=d) for i, d in enumerate(dilations)]
    stack = torch.nn.Sequential(*[m for layer in layers for m in (layer, torch.nn.Tanh())]).double()
    x = torch.randn(1, 1, T, dtype=torch.float64, requires_grad=True)
    stack(x)[0, :, -1].sum().backward()
    seen = (x.grad[0, 0] != 0).nonzero().flatten()
    field = 1 + sum((k - 1) * d for d in dilations)
    assert seen.tolist() == list(range(T - field, T))


# --- attention ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("causal", [False, True])
def test_hand_written_attention_matches_sdpa(dtype, atol, causal):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 8, generator=g, dtype=dtype) for _ in range(3))
    mask = causal_mask(7) if causal else None
    out, weights = attention(q, k, v, mask)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v, is_causal=causal), atol=atol, rtol=0)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=atol, rtol=0)
    assert torch.allclose(weights.sum(-1), torch.ones((), dtype=dtype), atol=atol)
    if causal:
        assert (weights[..., ~causal_mask(7)] == 0).all()


def test_causal_mask_is_the_lower_triangle():
    assert torch.equal(causal_mask(4), torch.tril(torch.ones(4, 4)).bool())


@pytest.mark.parametrize("fused", [True, False])
def test_causal_self_attention_does_not_look_ahead(fused):
    torch.manual_seed(0)
    T = 6
    mha = MultiHeadAttention(8, 2, causal=True, fused=fused).double()
    J = jacobian(mha, torch.randn(1, T, 8, dtype=torch.float64))   # (1, T, 8, 1, T, 8)
    influence = J.abs().sum(dim=(0, 2, 3, 5))                        # (T, T)
    later = torch.arange(T)[None, :] > torch.arange(T)[:, None]
    assert (influence[later] == 0).all()
    assert (influence[~later] != 0).all()


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_fused_equals_written_out(causal):
    torch.manual_seed(0)
    fused = MultiHeadAttention(12, 3, causal=causal, fused=True)
    manual = MultiHeadAttention(12, 3, causal=causal, fused=False)
    manual.load_state_dict(fused.state_dict())
    x = torch.randn(4, 9, 12)
    assert torch.allclose(fused(x), manual(x), atol=1e-5, rtol=0)
    y, weights = fused(x, return_weights=True)
    assert weights.shape == (4, 3, 9, 9) and torch.allclose(y, manual(x), atol=1e-6, rtol=0)
    pad = torch.ones(4, 1, 1, 9, dtype=torch.bool)
    pad[:, :, :, 7:] = False                                          # the last two keys are padding
    assert torch.allclose(fused(x, mask=pad), manual(x, mask=pad), atol=1e-5, rtol=0)


# --- time embedding -------------------------------------------------------------------------

def test_sinusoidal_time_embedding():
    dim, P = 16, 10000.0
    emb = SinusoidalTimeEmbedding(dim, max_period=P)
    t = torch.tensor([0, 1, 5, 999])
    e = emb(t)
    assert e.shape == (4, dim) and e.dtype == torch.float32
    assert torch.equal(e[0, :dim // 2], torch.zeros(dim // 2)) and torch.equal(e[0, dim // 2:], torch.ones(dim // 2))
    assert torch.equal(emb(t.float()), e)                             # integer and float steps agree
    assert torch.cdist(e, e).add(torch.eye(4)).min() > 0.1            # different t, different embeddings
    half = dim // 2
    for b, step in enumerate(t.tolist()):
        for i in range(half):
            omega = P ** (-i / half)                                  # ω_i = P^(−i / (dim/2))
            assert math.isclose(e[b, i].item(), math.sin(step * omega), abs_tol=1e-4)
            assert math.isclose(e[b, half + i].item(), math.cos(step * omega), abs_tol=1e-4)


# --- every layer in float64 and on the meta device ------------------------------------------

BUILDERS = {
    "mlp": (lambda: MLP([5, 16, 3], activation="gelu", dropout=0.1, final_activation=True), (4, 5), (4, 3)),
    "masked_linear": (lambda: MaskedLinear(5, 3), (4, 5), (4, 3)),
    "masked_mlp": (lambda: MaskedMLP(5, [16, 16], out_per_dim=2), (4, 5), (4, 10)),
    "masked_conv": (lambda: MaskedConv2d(2, 3, 5, "A"), (4, 2, 6, 7), (4, 3, 6, 7)),
    "causal_conv": (lambda: CausalConv1d(2, 3, 2, dilation=4, shift=True), (4, 2, 9), (4, 3, 9)),
    "attention_fused": (lambda: MultiHeadAttention(8, 2, causal=True, fused=True), (4, 5, 8), (4, 5, 8)),
    "attention_manual": (lambda: MultiHeadAttention(8, 2, causal=True, fused=False), (4, 5, 8), (4, 5, 8)),
}


@pytest.mark.parametrize("name", BUILDERS)
def test_layers_run_in_float64(name):
    build, in_shape, out_shape = BUILDERS[name]
    y = build().double()(torch.randn(in_shape, dtype=torch.float64))
    assert y.shape == out_shape and y.dtype == torch.float64


@pytest.mark.parametrize("name", BUILDERS)
def test_layers_build_and_run_on_the_meta_device(name):
    build, in_shape, out_shape = BUILDERS[name]
    meta = torch.device("meta")
    with meta:
        layer = build()
    assert all(p.device == meta for p in layer.parameters()) and all(b.device == meta for b in layer.buffers())
    y = layer(torch.empty(in_shape, device=meta))
    assert y.shape == out_shape and y.device == meta


def test_time_embedding_in_float64_and_on_meta():
    e = SinusoidalTimeEmbedding(8).double()(torch.arange(3))
    assert e.shape == (3, 8) and e.dtype == torch.float64
    with torch.device("meta"):
        emb = SinusoidalTimeEmbedding(8)
    y = emb(torch.zeros(3, device="meta", dtype=torch.long))
    assert y.shape == (3, 8) and y.device.type == "meta"


# --- built on meta, materialised with to_empty, then reset ----------------------------------

RESETTABLE = {
    **{name: make for name, (make, _, _) in BUILDERS.items()},
    "masked_conv_B": lambda: MaskedConv2d(3, 2, 3, "B"),
    "masked_conv_colour": lambda: MaskedConv2d(6, 9, 3, "A", channel_groups=3),
    "masked_mlp_random_order": lambda: MaskedMLP(4, [8], out_per_dim=3, order=[3, 1, 4, 2], seed=5),
    "masked_mlp_no_hidden": lambda: MaskedMLP(5, [], seed=None),
    "time_embedding": lambda: SinusoidalTimeEmbedding(10, max_period=100.0),
}


def _scribble(module: torch.nn.Module) -> None:
    """What `to_empty` may leave: garbage. Made deterministic (NaN, −1), so "not rebuilt" always shows."""
    with torch.no_grad():
        for t in (*module.parameters(), *module.buffers()):
            t.fill_(float("nan") if t.is_floating_point() else -1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", RESETTABLE)
def test_meta_built_layers_are_rebuilt_exactly_after_to_empty(name, dtype):
    """meta → `to_empty(device="cpu")` → `reset_parameters()` of each module with its own tensors
    (`materialize`, FSDP's order) gives the CPU-built layer: buffers equal (masks, order, ω), and in
    float32 with the same seed the weights too, since each reset draws what its constructor drew (in
    float64 the reset draws float64 weights, the CPU build float32 ones cast up: other numbers)."""
    make = RESETTABLE[name]
    torch.manual_seed(0)
    on_cpu = make().to(dtype)
    with torch.device("meta"):
        layer = make().to(dtype)
    layer.to_empty(device="cpu")
    _scribble(layer)
    expected, buffers = on_cpu.state_dict(), dict(layer.named_buffers())
    assert all(not torch.equal(t, expected[n]) for n, t in buffers.items()), "the check below would be vacuous"
    torch.manual_seed(0)
    assert materialize(layer) is layer
    got = layer.state_dict()
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key].dtype == expected[key].dtype and got[key].device.type == "cpu", key
        if key in buffers or dtype == torch.float32:
            assert torch.equal(got[key], expected[key]), f"{key} differs from the CPU-built layer after the reset"
        else:
            assert torch.isfinite(got[key]).all(), f"{key} not re-initialised by the reset"


@pytest.mark.parametrize("make", [lambda: MaskedLinear(5, 3), lambda: MaskedConv2d(2, 3, 5, "A"),
                                  lambda: SinusoidalTimeEmbedding(8), lambda: CausalConv1d(2, 3, 2)])
def test_a_single_layers_reset_parameters_rebuilds_its_buffers(make):
    on_cpu = make()
    with torch.device("meta"):
        layer = make()
    layer.to_empty(device="cpu")
    _scribble(layer)
    layer.reset_parameters()
    for name, buffer in on_cpu.named_buffers():
        assert torch.equal(layer.get_buffer(name), buffer), name
    assert all(torch.isfinite(p).all() for p in layer.parameters())


def test_reset_keeps_a_mask_given_by_set_mask():
    torch.manual_seed(0)
    custom = (torch.rand(2, 3, 3, 3) > 0.5).float()
    conv, linear = MaskedConv2d(3, 2, 3, "A"), MaskedLinear(4, 2)
    conv.set_mask(custom)
    linear.set_mask([[1, 0, 1, 0], [0, 1, 1, 1]])
    for layer in (conv, linear):
        before = layer.mask.clone()
        layer.to_empty(device="cpu")
        _scribble(layer)
        layer.reset_parameters()
        assert torch.equal(layer.mask, before)
    assert torch.equal(conv.mask, custom)


def test_a_mask_set_from_meta_cannot_be_rebuilt_and_says_so():
    with torch.device("meta"):
        layer = MaskedLinear(4, 2)
        layer.set_mask(torch.ones(2, 4))       # a meta tensor: no values to remember
    layer.to_empty(device="cpu")
    with pytest.raises(RuntimeError, match="set from a meta tensor.*set_mask"):
        layer.reset_parameters()


def test_materialize_refuses_a_module_it_cannot_reset():
    class Table(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("table", torch.arange(3.0))

    with torch.device("meta"):
        net = torch.nn.Sequential(MaskedLinear(3, 3), Table())
    with pytest.raises(TypeError, match=r"1 \(Table\) has parameters or buffers of its own but no reset_parameters"):
        materialize(net)


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("call, shapes", [
    (lambda: MaskedLinear(5, 3)(torch.randn(2, 4)), ["(..., 5)", "(2, 4)"]),
    (lambda: MaskedLinear(5, 3).set_mask(torch.ones(5, 3)), ["(3, 5)", "(5, 3)"]),
    (lambda: MaskedConv2d(1, 2, 3).set_mask(torch.ones(2, 1, 5, 5)), ["(2, 1, 3, 3)", "(2, 1, 5, 5)"]),
    (lambda: MaskedMLP(4, [8])(torch.randn(2, 5)), ["(N, 4)", "(2, 5)"]),
    (lambda: MLP([4, 8, 2])(torch.randn(3, 5)), ["(..., 4)", "(3, 5)"]),
    (lambda: MaskedConv2d(1, 4, 3)(torch.randn(2, 64)), ["(N, 1, *, *)", "(2, 64)"]),
    (lambda: CausalConv1d(2, 4, 3)(torch.randn(2, 3, 10)), ["(N, 2, *)", "(2, 3, 10)"]),
    (lambda: MultiHeadAttention(8, 2)(torch.randn(2, 5, 6)), ["(N, *, 8)", "(2, 5, 6)"]),
    (lambda: attention(torch.randn(2, 5, 4), torch.randn(2, 5, 3), torch.randn(2, 5, 4)), ["(2, 5, 4)", "(2, 5, 3)"]),
    (lambda: SinusoidalTimeEmbedding(8)(torch.zeros(3, 1)), ["(N", "(3, 1)"]),
])
def test_bad_shapes_name_expected_and_actual(call, shapes):
    with pytest.raises(ValueError) as err:
        call()
    for shape in shapes:
        assert shape in str(err.value), (shape, str(err.value))


@pytest.mark.parametrize("call", [
    lambda: MaskedConv2d(1, 2, 4),                       # even kernel: no centre pixel
    lambda: MaskedConv2d(1, 2, 3, mask_type="C"),
    lambda: MultiHeadAttention(10, 3),                   # d_model not divisible by n_heads
    lambda: SinusoidalTimeEmbedding(7),
    lambda: MLP([4]),
    lambda: MLP([4, 2], activation="swish"),
    lambda: made_degrees(4, [8], order=[0, 1, 2, 3]),    # 0-based, must be 1..D
    lambda: attention(torch.randn(5, 4), torch.randn(5, 4), torch.randn(5, 4), mask=torch.ones(5, 5)),
])
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_even_kernel_message_says_what_was_given():
    with pytest.raises(ValueError, match="odd.*got 4"):
        MaskedConv2d(1, 2, 4)
