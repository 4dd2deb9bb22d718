"""The gated PixelCNN (no blind spot) and the colour PixelCNN (R → G → B within a pixel), as lecture 04 claims them.

- the autoregressive property, by autograd: ∂ℓ_d / ∂x̃_j = 0 unless j comes before d in `sampling_order`, raster
  order for the gated model, pixel-major (i, j, R), (i, j, G), (i, j, B) for colour; and the check is not vacuous;
- colour masks: at the first layer (mask A) ℓ_{ij,c} sees channels c' < c of pixel (i, j) and not c itself; the
  whole network sees every channel of the earlier pixels and channels < c of (i, j);
- the gated PixelCNN's receptive field is what its two stacks compose to, and with enough layers exactly the
  pixels before (i, j) in raster order, where the masked PixelCNN of the same depth leaves its blind spot;
- exact likelihood: the probabilities of all images sum to 1; samples follow those probabilities (which they do
  only if the sampler visits the dimensions in the order the network conditions on); seeded sampling repeats;
- bad inputs and configurations are refused with messages that name what was expected and what came;
- built on meta and materialised, the models are whole; one epoch of the trainer lowers the loss.
"""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from coursekit.models.autoregressive import Autoregressive
from coursekit.models.gated_pixelcnn import GatedPixelCNN
from coursekit.models.layers import materialize
from coursekit.models.pixelcnn import PixelCNN, receptive_field
from coursekit.training import train

MODELS = {
    "gated": lambda shape, K, **kw: GatedPixelCNN(shape=shape, levels=K, channels=6, layers=2, head=6, **kw),
    "gated-one-hot-3x3": lambda shape, K, **kw: GatedPixelCNN(shape=shape, levels=K, channels=6, layers=2,
                                                              first_kernel=3, head=6, inputs="one_hot", **kw),
    "colour": lambda shape, K, **kw: PixelCNN(shape=shape, levels=K, channels=12, layers=1, head=12, **kw),
    "colour-one-hot-3x3": lambda shape, K, **kw: PixelCNN(shape=shape, levels=K, channels=12, layers=2,
                                                          first_kernel=3, head=12, inputs="one_hot", **kw),
}
GREY = {"gated": (1, 3, 3), "gated-one-hot-3x3": (1, 3, 3)}
SHAPE = {name: GREY.get(name, (3, 2, 3)) for name in MODELS}     # grey 3×3, or colour 2×3 (D = 18)


def build(name: str, shape=None, K: int = 3, seed: int = 0) -> Autoregressive:
    torch.manual_seed(seed)
    return MODELS[name](shape or SHAPE[name], K).double()


def all_images(shape, K: int) -> torch.Tensor:
    """Every image of `shape` with levels 0..K−1, (K^D, *shape) int64."""
    return torch.tensor(list(itertools.product(range(K), repeat=math.prod(shape)))).view(-1, *shape)


def dependencies(model: Autoregressive, x: torch.Tensor) -> torch.Tensor:
    """(D, D) bool: [d, j] True where ∂ℓ_d / ∂x̃_j ≠ 0 for some example, level and feature (flat (C, H, W) indices)."""
    x_tilde = model.input_features(x).detach().requires_grad_(True)           # (N, E, C, H, W)
    logits = model.conditional_logits(x_tilde).flatten(2)                       # (N, K, C, H, W) → (N, K, D)
    rows = []
    for d in range(logits.shape[2]):
        (grad,) = torch.autograd.grad(logits[:, :, d].sum(), x_tilde, retain_graph=True)
        rows.append(grad.abs().sum((0, 1)).flatten() != 0)                      # (N, E, C, H, W) → (D,)
    return torch.stack(rows)


def before(order: torch.Tensor) -> torch.Tensor:
    """(D, D) bool: [d, j] True where j comes before d in the ordering `order`."""
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))                                      # rank[d]: d's place in the order
    return rank[None, :] < rank[:, None]


def pixel_major(C: int, H: int, W: int) -> list[int]:
    """(i, j, c) for each pixel in raster order, c = R, G, B: the flat indices c·H·W + i·W + j."""
    return [c * H * W + i * W + j for i in range(H) for j in range(W) for c in range(C)]


# --- the autoregressive property ----------------------------------------------------------------

@pytest.mark.parametrize("name", MODELS)
def test_logits_depend_on_the_dimensions_before_them_in_the_sampling_order_only(name):
    model = build(name)
    C, H, W = model.config.shape
    assert model.sampling_order.tolist() == pixel_major(C, H, W)     # raster order when C = 1
    seen = dependencies(model, torch.randint(0, 3, (6, C, H, W), generator=torch.Generator().manual_seed(0)))
    allowed = before(model.sampling_order)
    assert not (seen & ~allowed).any(), f"ℓ_d depends on x̃_j at or after d: {(seen & ~allowed).nonzero().tolist()}"
    assert seen.sum() >= allowed.sum() // 2, "hardly any dependencies: the check would be vacuous"


def test_the_check_catches_raster_order_of_c_h_w_for_a_colour_model():
    """The colour model conditions pixel-major; in the flat (C, H, W) raster order (all of R first) its ℓ_R would
    depend on G and B of earlier pixels, which come later in that order: the property fails, as it should."""
    model = build("colour")
    seen = dependencies(model, torch.randint(0, 3, (6, *SHAPE["colour"])))
    raster = before(torch.arange(model.config.dims))
    assert (seen & ~raster).any()


def test_colour_first_layer_mask_A_sees_earlier_colours_of_the_pixel_but_not_its_own():
    """conv_A's centre tap: output group g(o) = o mod 3 sees input group g(i) < g(o) only; and through the whole
    network ℓ_{ij,c} sees channels c' < c of (i, j), all channels of the earlier pixels, nothing later (wide enough
    that no colour group's ReLUs are all off: a dead path would hide a dependency)."""
    torch.manual_seed(0)
    model = PixelCNN(shape=(3, 3, 3), levels=3, channels=24, layers=1, first_kernel=3, head=24,
                     inputs="one_hot").double()
    centre = model.conv_A.mask[:, :, 1, 1]                                      # (out, in) at (i, j) itself
    g_out, g_in = torch.arange(centre.shape[0]) % 3, torch.arange(centre.shape[1]) % 3
    assert torch.equal(centre.bool(), g_in[None, :] < g_out[:, None])         # not (i, j, c), yes (i, j, c' < c)
    assert (model.conv_A.mask[:, :, 0, :] == 1).all() and (model.conv_A.mask[:, :, 1, 0] == 1).all()
    for c in range(3):
        seen = receptive_field(model, (c, 1, 1), n=16)                          # (C, H, W) bool
        assert seen[:, 1, 1].tolist() == [c2 < c for c2 in range(3)], c       # R: none; G: R; B: R and G
        assert seen[:, 0, :].all() and seen[:, 1, 0].all()                      # every channel of earlier pixels
        assert not seen[:, 1, 2].any() and not seen[:, 2, :].any()              # nothing after (1, 1)
    assert receptive_field(model, 2 * 9 + 1 * 3 + 1, n=16).equal(receptive_field(model, (2, 1, 1), n=16))


# --- the gated PixelCNN's receptive field: no blind spot ---------------------------------------------

def gated_reach(i: int, j: int, H: int, W: int, layers: int, first_kernel: int, kernel: int) -> torch.Tensor:
    """(H, W) bool: the pixels L gated layers reach from (i, j), by the module docstring's counts: the vertical stack,
    shifted down, f//2 + (L − 1)·k//2 rows above row i − 1 and as many columns either side; the horizontal stack,
    f//2 + 1 + (L − 1)·k//2 columns left of j in row i."""
    grow = first_kernel // 2 + (layers - 1) * (kernel // 2)
    reach = torch.zeros(H, W, dtype=torch.bool)
    reach[max(i - 1 - grow, 0):i, max(j - grow, 0):j + grow + 1] = True          # ↓v: rows above
    reach[i, max(j - grow - 1, 0):j] = True                                      # h: left in the row
    return reach


@pytest.mark.parametrize("layers, first_kernel, kernel", [(1, 3, 3), (2, 3, 3), (2, 7, 3), (3, 3, 5)])
def test_gated_receptive_field_is_what_its_two_stacks_compose_to(layers, first_kernel, kernel):
    H = W = 8
    torch.manual_seed(0)
    model = GatedPixelCNN(shape=(1, H, W), levels=5, channels=8, layers=layers, first_kernel=first_kernel,
                          kernel=kernel, head=8).double()
    for i, j in [(4, 3), (0, 3), (3, 0), (7, 7), (5, 6), (0, 0)]:
        seen = receptive_field(model, (i, j), n=16)
        expected = gated_reach(i, j, H, W, layers, first_kernel, kernel)
        assert torch.equal(seen, expected), f"position {(i, j)}:\n{seen.int()}\nexpected\n{expected.int()}"


def all_receptive_fields(model, n: int = 16, seed: int = 0) -> torch.Tensor:
    """receptive_field(model, d, n=n, seed=seed) for every raster position d at once, (D, H, W) bool: one batched
    backward pass (is_grads_batched) instead of D."""
    _, H, W = model.config.shape
    x = torch.randint(0, model.config.levels, (n, 1, H, W), generator=torch.Generator().manual_seed(seed))
    x_tilde = model.input_features(x).detach().requires_grad_(True)                   # (n, E, 1, H, W)
    per_position = model.conditional_logits(x_tilde).sum((0, 1)).flatten()           # (N, K, 1, H, W) → (D,)
    (grads,) = torch.autograd.grad(per_position, x_tilde, torch.eye(H * W, dtype=per_position.dtype),
                                   is_grads_batched=True)                             # (D, n, E, 1, H, W)
    return grads.abs().sum((1, 2, 3)) != 0                                            # (D, H, W)


def test_all_receptive_fields_at_once_is_receptive_field_at_each_position():
    torch.manual_seed(0)
    model = PixelCNN(shape=(1, 4, 4), levels=3, channels=6, layers=2, first_kernel=3, head=6).double()
    fields = all_receptive_fields(model)
    assert all(torch.equal(fields[d], receptive_field(model, d, n=16)) for d in range(16))


def test_a_deep_enough_gated_pixelcnn_sees_every_earlier_pixel_where_the_masked_one_has_a_blind_spot():
    H = W = 6
    torch.manual_seed(0)
    gated = GatedPixelCNN(shape=(1, H, W), levels=3, channels=8, layers=5, first_kernel=3, head=8).double()
    masked = PixelCNN(shape=(1, H, W), levels=3, channels=8, layers=7, first_kernel=3, head=8).double()
    earlier = torch.arange(H * W)[None, :] < torch.arange(H * W)[:, None]            # (D, D): exactly d pixels
    assert torch.equal(all_receptive_fields(gated).flatten(1), earlier)
    blind = set()
    for d, seen in enumerate(all_receptive_fields(masked)):
        if not torch.equal(seen.flatten(), earlier[d]):
            i, j = divmod(d, W)
            assert not seen[i - 1, j + 2]                                         # one row up, two columns right
            blind.add((i, j))
    # seven masked 3×3 layers, more than enough to reach every row above: still blind wherever (i − 1, j + 2) exists
    assert blind == {(i, j) for i in range(1, H) for j in range(W - 2)}


# --- the likelihood and sampling --------------------------------------------------------------------

@pytest.mark.parametrize("name, shape, K", [("gated", (1, 2, 2), 2), ("gated-one-hot-3x3", (1, 2, 3), 3),
                                            ("colour", (3, 1, 2), 2), ("colour-one-hot-3x3", (3, 2, 2), 2)])
def test_probabilities_of_all_images_sum_to_one(name, shape, K):
    model = build(name, shape=shape, K=K).eval()
    with torch.no_grad():
        log_p = model.log_prob(all_images(shape, K))
    assert log_p.exp().sum().item() == pytest.approx(1.0, abs=1e-10)
    assert (log_p < 0).all()


@pytest.mark.parametrize("name, shape", [("colour", (3, 1, 1)), ("gated", (1, 1, 3))])
def test_samples_follow_the_models_probabilities(name, shape):
    """8 images of 3 binary dimensions: the sampler's frequencies match exp(log p) only if it fills the dimensions
    in the order the network conditions on (R, G, B within the pixel); a wrong order samples another distribution."""
    model = build(name, shape=shape, K=2, seed=3).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(4)                                                            # far from uniform
        images = all_images(shape, 2)
        p = model.log_prob(images).exp()                                         # (8,)
    s = model.sample(6000, generator=torch.Generator().manual_seed(0))
    assert s.dtype == torch.float64 and s.shape == (6000, *shape)               # binary data: 0./1. floats
    codes = (s.long().flatten(1) * torch.tensor([4, 2, 1])).sum(1)
    freq = torch.bincount(codes, minlength=8).double() / 6000
    assert p.max() > 0.3                                                         # the test is not of a uniform model
    assert ((freq - p).abs() <= 4.5 * (p * (1 - p) / 6000).sqrt() + 1e-3).all(), (freq, p)


@pytest.mark.parametrize("name", MODELS)
def test_seeded_sampling_repeats_and_complete_keeps_the_known_dimensions(name):
    model = build(name).eval()
    a = model.sample(4, generator=torch.Generator().manual_seed(7))
    assert a.shape == (4, *SHAPE[name]) and a.dtype == torch.long and 0 <= a.min() and a.max() < 3
    assert torch.equal(a, model.sample(4, generator=torch.Generator().manual_seed(7)))
    assert not torch.equal(a, model.sample(4, generator=torch.Generator().manual_seed(8)))
    known = torch.zeros(SHAPE[name], dtype=torch.bool)
    known[..., 0, :] = True                                                     # the first row, every channel
    x = torch.randint(0, 3, (4, *SHAPE[name]), generator=torch.Generator().manual_seed(1))
    done = model.complete(x, known, generator=torch.Generator().manual_seed(2))
    assert torch.equal(done[:, known], x[:, known])


# --- bad input --------------------------------------------------------------------------------------

def test_bad_inputs_and_configurations_are_refused_with_clear_messages():
    with pytest.raises(ValueError, match=r"GatedPixelCNN models grey images only.*\(3, 8, 8\).*use PixelCNN"):
        GatedPixelCNN(shape=(3, 8, 8))
    with pytest.raises(ValueError, match=r"first_kernel must be an odd positive int.*got 4"):
        GatedPixelCNN(first_kernel=4)
    with pytest.raises(ValueError, match=r"layers must be a positive int, got 0"):
        GatedPixelCNN(layers=0)
    with pytest.raises(TypeError, match=r"give a GatedPixelCNNConfig or keyword fields, not both"):
        GatedPixelCNN(GatedPixelCNN().config, channels=8)
    with pytest.raises(ValueError, match=r"head must be at least C = 3 .*got 2"):
        PixelCNN(shape=(3, 8, 8), head=2)
    gated, colour = build("gated"), build("colour")
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 3, 3\), got \(4, 9\)"):
        gated.log_prob(torch.zeros(4, 9, dtype=torch.long))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3, 2, 3\), got \(4, 1, 2, 3\)"):
        colour.log_prob(torch.zeros(4, 1, 2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"integer levels 0..2, got values in 0..3"):
        colour.log_prob(torch.tensor([0, 3]).repeat(9).view(1, 3, 2, 3))
    with pytest.raises(ValueError, match=r"position must be in the 2×3 image.*channel 0..2\), got \(3, 0, 0\)"):
        receptive_field(colour, (3, 0, 0))
    with pytest.raises(ValueError, match=r"a flat position must be in 0..17 .*got 18"):
        receptive_field(colour, 18)
    with pytest.raises(ValueError, match=r"position must be \(i, j\), \(c, i, j\) or a flat index, got \[1, 1\]"):
        receptive_field(gated, [1, 1])


# --- meta device and the trainer ------------------------------------------------------------------

@pytest.mark.parametrize("name", MODELS)
def test_built_on_meta_and_materialised_the_model_is_whole(name):
    shape = (1, 2, 2) if name in GREY else (3, 1, 2)
    with torch.device("meta"):
        model = MODELS[name](shape, 2)
    materialize(model.double(), "cpu").eval()
    with torch.no_grad():
        assert model.log_prob(all_images(shape, 2)).exp().sum().item() == pytest.approx(1.0, abs=1e-10)
    seen = dependencies(model, torch.randint(0, 2, (4, *shape)))
    assert not (seen & ~before(model.sampling_order)).any()


@pytest.mark.parametrize("name", MODELS)
def test_one_epoch_smoke(name):
    torch.manual_seed(0)
    shape = (1, 4, 4) if name in GREY else (3, 4, 4)
    model = MODELS[name](shape, 4)
    x = torch.randint(0, 4, (16, *shape), generator=torch.Generator().manual_seed(0))
    before_loss = model.loss((x,))["loss"].item()
    history = train(model, [(x[:8],), (x[8:],)], epochs=1, lr=1e-2, device="cpu", progress=False)
    assert len(history["epoch"]) == 1
    after = model.eval().loss((x,))["loss"].item()
    assert math.isfinite(after) and after < before_loss
