"""The properties lecture 04 claims of the pixel-by-pixel models (FVSBN, NADE, MADE, PixelCNN) and of their shared base.

- the autoregressive property: ∂ℓ_d / ∂x̃_j = 0 unless j comes before d in the model's ordering (for every
  mask set of an order-agnostic MADE), and the check catches a model that lets d see itself;
- the chain rule gives a normalised, exact likelihood: the probabilities of all images sum to 1;
- NADE's explicit O(TD) recursion equals its vectorised path;
- PixelCNN's receptive field, by autograd, is exactly what its masks compose to: nothing at or after the
  position, and a blind spot up and to the right that a deeper stack reaches no better;
- the naive sampler conditions on the right pixels, in the model's ordering; `complete` keeps the known
  pixels; temperature 0 is the argmax at every step; samples follow the model's probabilities;
- bad inputs are refused with messages that name what was expected and what came;
- one epoch of `coursekit.training.train` on a tiny batch.
"""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from coursekit.checkpoint import load_checkpoint, save_checkpoint
from coursekit.models import FVSBN, MADE, NADE, Autoregressive, AutoregressiveConfig, PixelCNN
from coursekit.models.fvsbn import fvsbn_mask
from coursekit.models.layers import materialize
from coursekit.models.pixelcnn import receptive_field
from coursekit.training import train

MODELS = {
    "FVSBN-one-hot": lambda shape, K: FVSBN(shape=shape, levels=K, inputs="one_hot"),
    "FVSBN-scaled": lambda shape, K: FVSBN(shape=shape, levels=K),
    "NADE-one-hot": lambda shape, K: NADE(shape=shape, levels=K, hidden=5, inputs="one_hot"),
    "NADE-scaled-relu": lambda shape, K: NADE(shape=shape, levels=K, hidden=5, activation="relu"),
    "MADE": lambda shape, K: MADE(shape=shape, levels=K, hidden_sizes=(16, 16)),
    "MADE-order-agnostic": lambda shape, K: MADE(shape=shape, levels=K, hidden_sizes=(16, 16), orderings=4),
    "MADE-direct": lambda shape, K: MADE(shape=shape, levels=K, hidden_sizes=(16,), orderings=3, direct=True),
    "PixelCNN": lambda shape, K: PixelCNN(shape=shape, levels=K, channels=8, layers=2, head=8),
    "PixelCNN-one-hot-3x3": lambda shape, K: PixelCNN(shape=shape, levels=K, channels=8, layers=1, first_kernel=3,
                                                      head=8, inputs="one_hot"),
}


def build(name: str, shape=(1, 3, 3), K: int = 3, seed: int = 0) -> Autoregressive:
    torch.manual_seed(seed)
    return MODELS[name](shape, K).double()


def all_images(shape, K: int) -> torch.Tensor:
    """Every image of `shape` with levels 0..K−1, (K^D, *shape) int64."""
    D = math.prod(shape)
    return torch.tensor(list(itertools.product(range(K), repeat=D))).view(-1, *shape)


def mask_sets(model: Autoregressive) -> list[int]:
    return list(range(model.config.orderings)) if isinstance(model, MADE) else [0]


# --- the autoregressive property --------------------------------------------------------------

def autoregressive_violations(model: Autoregressive, x: torch.Tensor) -> list[str]:
    """Backpropagate each ℓ_d to the input features x̃; name every (d, j) with a non-zero gradient where j does
    not come before d in `model.sampling_order`, and say so when hardly any ℓ_d sees its past (a vacuous check)."""
    x_tilde = model.input_features(x).detach().requires_grad_(True)           # (N, E, C, H, W)
    logits = model.conditional_logits(x_tilde).flatten(2)                       # (N, K, D)
    order = model.sampling_order
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))                                      # rank[d]: d's position in the order
    problems, dependencies = [], 0
    for d in range(logits.shape[2]):
        (grad,) = torch.autograd.grad(logits[:, :, d].sum(), x_tilde, retain_graph=True)
        seen = grad.abs().sum((0, 1)).flatten() != 0                            # (D,): which x̃_j ℓ_d depends on
        for j in (seen & (rank >= rank[d])).nonzero().flatten().tolist():
            problems.append(f"ℓ_{d} (position {rank[d].item()}) depends on x̃_{j} (position {rank[j].item()})")
        dependencies += int(seen.sum())
    if dependencies < logits.shape[2] // 2:    # a random MADE may cut a few outputs off; most must see their past
        problems.append(f"only {dependencies} dependencies in all: the check is vacuous")
    return problems


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("shape", [(1, 3, 3), (2, 2, 2)])
def test_logits_of_d_depend_on_earlier_dimensions_only(name, shape):
    model = build(name, shape=shape)
    x = torch.randint(0, 3, (4, *shape), generator=torch.Generator().manual_seed(0))
    for m in mask_sets(model):
        if isinstance(model, MADE):
            model.use_mask_set(m)
        assert not autoregressive_violations(model, x), f"mask set {m}"


def test_order_agnostic_made_uses_several_orderings():
    model = build("MADE-order-agnostic")
    orders = {tuple(model.mask_set(m)[0].tolist()) for m in range(4)}
    assert len(orders) == 4 and tuple(range(1, 10)) in orders      # set 0 in raster order, the others random
    raster = build("MADE-order-agnostic").__class__(shape=(1, 3, 3), levels=3, hidden_sizes=(16, 16), orderings=3,
                                                    order_agnostic=False)
    assert {tuple(raster.mask_set(m)[0].tolist()) for m in range(3)} == {tuple(range(1, 10))}
    assert not torch.equal(raster.mask_set(1)[1][0], raster.mask_set(2)[1][0])   # other connectivities


def test_the_autoregressive_check_catches_a_model_that_sees_itself():
    """FVSBN with the diagonal let through (an off-by-one: j ≤ d instead of j < d) is named, pixel by pixel."""
    model = build("FVSBN-one-hot")
    D, K = 9, 3
    model.W.set_mask(torch.tril(torch.ones(D, D), diagonal=0).repeat_interleave(K, 0).repeat_interleave(K, 1))
    problems = autoregressive_violations(model, torch.randint(0, 3, (4, 1, 3, 3)))
    assert len(problems) == D and all(p.startswith(f"ℓ_{d} (position {d}) depends on x̃_{d} ") for d, p in
                                      enumerate(problems))


def test_fvsbn_mask_is_strictly_block_lower_triangular():
    mask = fvsbn_mask(3, 2, 1)
    assert mask.tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 0]]


# --- PixelCNN's receptive field and its blind spot ----------------------------------------------

def masked_stack_reach(first_kernel: int, layers: int, kernel: int = 3) -> set[tuple[int, int]]:
    """The offsets (Δi, Δj) of the input pixels that output (i, j) of a mask-A first_kernel² convolution followed by
    `layers` mask-B kernel² convolutions can reach, by composing the masks' offsets (no autograd, no weights)."""
    def offsets(k: int, mask_type: str) -> set[tuple[int, int]]:
        c = k // 2
        above = {(-a, b) for a in range(1, c + 1) for b in range(-c, c + 1)}           # every row above the centre
        left = {(0, -b) for b in range(1, c + 1)} | ({(0, 0)} if mask_type == "B" else set())
        return above | left
    reach, step = offsets(first_kernel, "A"), offsets(kernel, "B")
    for _ in range(layers):
        reach = {(a + s, b + t) for a, b in reach for s, t in step}
    return reach


@pytest.mark.parametrize("first_kernel, layers", [(3, 1), (3, 6), (7, 4)])
def test_pixelcnn_receptive_field_is_its_masks_and_has_the_blind_spot(first_kernel, layers):
    H = W = 8
    torch.manual_seed(0)
    model = PixelCNN(shape=(1, H, W), levels=5, channels=16, layers=layers, first_kernel=first_kernel,
                     head=16).double()
    reach = masked_stack_reach(first_kernel, layers)
    for i, j in [(4, 3), (5, 2), (7, 5), (0, 3), (3, 0)]:
        seen = receptive_field(model, (i, j), n=16)                                   # (H, W) bool, by autograd
        expected = torch.zeros(H, W, dtype=torch.bool)
        for a, b in reach:
            if 0 <= i + a < H and 0 <= j + b < W:
                expected[i + a, j + b] = True
        assert torch.equal(seen, expected), f"position {(i, j)}:\n{seen.int()}\nexpected\n{expected.int()}"
        # (a) the autoregressive property: nothing at or after (i, j) in raster order
        assert not seen.flatten()[i * W + j:].any()
    # (b) the blind spot: for (i, j) = (4, 3), the pixel one row up at column 3 + c + 1 (c = first_kernel // 2) is
    # never seen, while the same column two rows up is: the stack is deep enough to reach that column, yet not there.
    c = first_kernel // 2
    seen = receptive_field(model, (4, 3), n=16)
    assert not seen[3, 3 + c + 1] and seen[2, 3 + c + 1]
    assert receptive_field(model, 4 * W + 3, n=16).equal(seen)                          # a flat index works too


def test_a_deeper_pixelcnn_does_not_close_the_blind_spot():
    """Six more blocks see farther up and left, but the pixel up-right of the 3×3 stack stays unseen."""
    torch.manual_seed(0)
    for layers in (1, 3, 7):
        model = PixelCNN(shape=(1, 8, 8), levels=3, channels=8, layers=layers, first_kernel=3, head=8).double()
        seen = receptive_field(model, (5, 2), n=16)
        assert not seen[4, 4] and seen[3, 4] and not seen[5, 2:].any()


# --- the likelihood ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("shape, K", [((1, 2, 2), 3), ((1, 1, 3), 2)])
def test_probabilities_of_all_images_sum_to_one(name, shape, K):
    model = build(name, shape=shape, K=K).eval()
    with torch.no_grad():
        log_p = model.log_prob(all_images(shape, K))
    assert log_p.exp().sum().item() == pytest.approx(1.0, abs=1e-10)
    assert (log_p < 0).all()


def test_log_prob_is_the_chain_rule_by_hand():
    """log p(x) = Σ_d log softmax(ℓ_d)_{x_d}, written out with a loop over d."""
    model = build("NADE-one-hot")
    x = torch.randint(0, 3, (5, 1, 3, 3))
    logits = model.logits(x).flatten(2)                                                      # (N, K, D)
    by_hand = sum(logits[:, :, d].log_softmax(1).gather(1, x.flatten(1)[:, d:d + 1]).squeeze(1) for d in range(9))
    assert torch.allclose(model.log_prob(x), by_hand, atol=1e-12)


def test_made_ensemble_is_the_log_mean_exp_over_orderings():
    model = build("MADE-order-agnostic").eval()
    x = torch.randint(0, 3, (6, 1, 3, 3))
    with torch.no_grad():
        per = model.log_prob_per_ordering(x)                                           # (4, N)
        assert per.shape == (4, 6) and not torch.allclose(per[0], per[1])            # the orderings differ
        assert torch.allclose(model.log_prob(x), per.exp().mean(0).log(), atol=1e-12)  # log mean exp, not mean log
        assert (model.log_prob(x) >= per.mean(0) - 1e-12).all()                     # Jensen: ≥ the mean of the logs
        assert torch.allclose(model.log_prob(x, sets=1), per[0])
    assert model.current_mask_set == 0                                               # the ensemble puts it back


def test_made_order_agnostic_training_cycles_the_mask_sets():
    model = MADE(shape=(1, 3, 3), levels=3, hidden_sizes=(8,), orderings=3, resample_every=2).train()
    x = torch.randint(0, 3, (4, 1, 3, 3))
    seen = []
    for _ in range(7):
        model.loss((x,))
        seen.append(model.current_mask_set)
    assert seen == [0, 0, 1, 1, 2, 2, 0]
    with torch.no_grad():
        model.loss((x,))                      # no gradient: not a training step, the set stays
    assert model.current_mask_set == 0 and int(model.train_steps) == 7


def test_made_checkpoint_restores_its_mask_set(tmp_path):
    model = build("MADE-order-agnostic")
    model.use_mask_set(2)
    save_checkpoint(tmp_path / "made.pt", model)
    fresh = build("MADE-order-agnostic", seed=1)
    load_checkpoint(tmp_path / "made.pt", fresh)
    assert fresh.current_mask_set == 2 and torch.equal(fresh.sampling_order, model.sampling_order)
    x = torch.randint(0, 3, (4, 1, 3, 3))
    assert torch.equal(fresh.logits(x), model.logits(x))


@pytest.mark.parametrize("name", MODELS)
def test_built_on_meta_and_materialised_the_model_is_whole(name):
    """`layers.materialize` after building on meta: weights drawn afresh, masks and orderings rebuilt exactly, so
    the probabilities of all images still sum to 1 and the autoregressive property holds."""
    with torch.device("meta"):
        model = MODELS[name]((1, 2, 2), 3)
    if isinstance(model, MADE):
        model.use_mask_set(model.config.orderings - 1)
    materialize(model.double(), "cpu").eval()
    with torch.no_grad():
        assert model.log_prob(all_images((1, 2, 2), 3)).exp().sum().item() == pytest.approx(1.0, abs=1e-10)
    assert not autoregressive_violations(model, torch.randint(0, 3, (4, 1, 2, 2)))
    if isinstance(model, MADE):
        assert int(model.mask_index) == model.current_mask_set == model.config.orderings - 1


# --- NADE: explicit first, fast second --------------------------------------------------------

@pytest.mark.parametrize("name", ["NADE-one-hot", "NADE-scaled-relu"])
def test_nade_recursion_equals_the_vectorised_path(name):
    model = build(name, shape=(2, 3, 2), K=4)
    x_tilde = model.input_features(torch.randint(0, 4, (7, 2, 3, 2)))
    explicit, fast = model.logits_explicit(x_tilde), model.conditional_logits(x_tilde)
    assert explicit.shape == fast.shape == (7, 4, 2, 3, 2)
    assert torch.allclose(explicit, fast, atol=1e-12)


# --- sampling -----------------------------------------------------------------------------------

class Successor(Autoregressive):
    """A deterministic test model: x_{o(1)} = 2 and x_{o(t)} = x_{o(t−1)} + 1 mod K, in the ordering `order`
    (logits of ±50, so sampling at T = 1 is deterministic too)."""

    def __init__(self, order: list[int], shape=(1, 2, 3), K: int = 3):
        super().__init__()
        self.config = AutoregressiveConfig(shape=shape, levels=K, inputs="one_hot")
        self.order = torch.tensor(order)

    @property
    def sampling_order(self) -> torch.Tensor:
        return self.order

    def conditional_logits(self, x_tilde):
        N, K = x_tilde.shape[:2]
        one_hot = x_tilde.flatten(2)                                      # (N, K, D)
        logits = torch.full_like(one_hot, -50.0)
        logits[:, 2, self.order[0]] = 50.0
        for prev, d in zip(self.order[:-1].tolist(), self.order[1:].tolist()):
            logits[:, :, d] = 100 * one_hot[:, :, prev].roll(1, dims=1) - 50   # the successor of x_prev's level
        return logits.view(N, K, *self.config.shape)


def expected_sequence(order: list[int], start: int = 2, K: int = 3) -> torch.Tensor:
    x = torch.zeros(len(order), dtype=torch.long)
    for t, d in enumerate(order):
        x[d] = (start + t) % K
    return x


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0], [3, 0, 5, 1, 4, 2]])
def test_the_sampler_conditions_on_the_previous_pixels_in_the_order(order):
    model = Successor(order)
    samples = model.sample(4, generator=torch.Generator().manual_seed(0))
    assert samples.dtype == torch.long
    assert torch.equal(samples.flatten(1), expected_sequence(order).expand(4, -1))


def test_complete_keeps_the_known_pixels_and_conditions_on_them():
    order = [0, 1, 2, 3, 4, 5]
    model = Successor(order)
    x = torch.tensor([[0, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2]]).view(2, 1, 2, 3)
    known = torch.tensor([[1, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0]], dtype=torch.bool).view(2, 1, 2, 3)
    out = model.complete(x, known)
    assert out.flatten(1).tolist() == [[0, 1, 2, 0, 1, 2],      # x_0 = 0 known: the successors follow it
                                       [2, 0, 1, 2, 0, 1]]      # x_3 = 2 kept (the model would draw 2 anyway)
    x[1].view(-1)[3] = 0
    assert model.complete(x, known).flatten(1)[1].tolist() == [2, 0, 1, 0, 1, 2]   # kept, and x_4 follows it


@pytest.mark.parametrize("name", MODELS)
def test_complete_keeps_known_pixels_of_every_model(name):
    model = build(name).eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 3, (6, 1, 3, 3), generator=g)
    known = torch.rand(6, 1, 3, 3, generator=g) < 0.5
    out = model.complete(x, known, generator=g)
    assert out.shape == x.shape and out.dtype == torch.long
    assert torch.equal(out[known], x[known]) and out.min() >= 0 and out.max() <= 2
    assert torch.equal(model.complete(x, torch.ones(1, 3, 3, dtype=torch.bool)), x)    # all known: x itself


@pytest.mark.parametrize("name", MODELS)
def test_temperature_zero_is_the_argmax_at_every_step(name):
    model = build(name).eval()
    greedy = torch.zeros(3, 1, 3, 3, dtype=torch.long)
    with torch.no_grad():
        for p in model.parameters():                      # no exact ties (zero biases on zero inputs give some)
            p.add_(0.3 * torch.randn_like(p))
        for d in model.sampling_order.tolist():           # the argmax, one pixel at a time, by hand
            greedy.view(3, -1)[:, d] = model.logits(greedy).flatten(2)[:, :, d].argmax(1)
        kwargs = {"mask_set": 0} if isinstance(model, MADE) else {}
        assert torch.equal(model.sample(3, temperature=0, **kwargs), greedy)
        cold = model.sample(3, temperature=1e-9, generator=torch.Generator().manual_seed(0), **kwargs)
        assert torch.equal(cold, greedy)


@pytest.mark.parametrize("name", ["NADE-one-hot", "MADE-order-agnostic"])
def test_samples_follow_the_model_probabilities(name):
    """3 binary pixels: the frequencies of the 8 images in 8000 samples match exp(log_prob) (the ensemble's
    mixture for MADE), within 4.5 standard errors each."""
    model = build(name, shape=(1, 1, 3), K=2).eval()
    images = all_images((1, 1, 3), 2)
    with torch.no_grad():
        for q in model.parameters():                       # far from uniform, so a wrong sampler shows
            q.add_(1.5 * torch.randn(q.shape, generator=torch.Generator().manual_seed(1), dtype=q.dtype))
        p = model.log_prob(images).exp()
        if isinstance(model, MADE):                        # the mixture differs from each of its orderings
            per_set = model.log_prob_per_ordering(images).exp()            # (M, 8)
            assert ((per_set - p).abs().max(1).values > 0.05).all(), (per_set, p)
        s = model.sample(8000, generator=torch.Generator().manual_seed(0))
    assert s.dtype == torch.float64                                # binary data: 0./1. floats (base.py)
    codes = (s.long().flatten(1) * torch.tensor([4, 2, 1])).sum(1)
    freq = torch.bincount(codes, minlength=8).double() / 8000
    assert ((freq - p).abs() <= 4.5 * (p * (1 - p) / 8000).sqrt() + 1e-3).all(), (freq, p)


def test_seeded_samples_repeat_and_temperature_changes_them():
    model = build("NADE-one-hot").eval()
    a = model.sample(5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, model.sample(5, generator=torch.Generator().manual_seed(3)))
    hot = model.sample(200, temperature=5.0, generator=torch.Generator().manual_seed(3))
    cold = model.sample(200, temperature=0.2, generator=torch.Generator().manual_seed(3))
    diversity = lambda s: len({tuple(r) for r in s.flatten(1).tolist()})   # noqa: E731
    assert diversity(hot) > diversity(cold)


# --- bad input --------------------------------------------------------------------------------

def test_bad_inputs_are_refused_with_clear_messages():
    model = build("NADE-one-hot")
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 3, 3\), got \(4, 9\).*reshape"):
        model.log_prob(torch.zeros(4, 9, dtype=torch.long))
    with pytest.raises(ValueError, match=r"integer levels 0..2, got values in 3..3"):
        model.log_prob(torch.full((2, 1, 3, 3), 3))
    with pytest.raises(ValueError, match=r"non-integer floats"):
        model.loss((torch.full((2, 1, 3, 3), 0.5),))
    with pytest.raises(ValueError, match=r"temperature must be a number >= 0.*got -1"):
        model.sample(2, temperature=-1)
    with pytest.raises(ValueError, match=r"n \(the number of samples\) must be a positive int, got 0"):
        model.sample(0)
    x = torch.zeros(2, 1, 3, 3, dtype=torch.long)
    with pytest.raises(TypeError, match=r"known_mask must be a bool tensor"):
        model.complete(x, torch.ones(2, 1, 3, 3))
    with pytest.raises(ValueError, match=r"known_mask must have shape \(2, 1, 3, 3\) or \(1, 3, 3\).*got \(3, 3\)"):
        model.complete(x, torch.ones(3, 3, dtype=torch.bool))


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match=r"levels \(K, the grey levels per pixel\) must be an int >= 2, got 1"):
        FVSBN(levels=1)
    with pytest.raises(ValueError, match=r"shape must be \(C, H, W\)"):
        NADE(shape=(8, 8))
    with pytest.raises(ValueError, match=r"inputs must be one of \('scaled', 'one_hot'\), got 'onehot'"):
        NADE(inputs="onehot")
    with pytest.raises(ValueError, match=r"channels must be at least C = 3 .*got 2"):
        PixelCNN(shape=(3, 8, 8), channels=2)
    with pytest.raises(ValueError, match=r"first_kernel must be an odd positive int.*got 4"):
        PixelCNN(first_kernel=4)
    with pytest.raises(ValueError, match=r"position must be in the 3×3 image.*got \(3, 0\)"):
        receptive_field(PixelCNN(shape=(1, 3, 3), channels=4, head=4, layers=0), (3, 0))
    with pytest.raises(ValueError, match=r"MADE takes inputs='scaled'.*got 'one_hot'"):
        MADE(inputs="one_hot")
    with pytest.raises(ValueError, match=r"ensemble .* must be an int in 1..orderings = 2, got 3"):
        MADE(orderings=2, ensemble=3)
    with pytest.raises(ValueError, match=r"mask set must be an int in 0..1 \(orderings = 2\), got 2"):
        MADE(shape=(1, 2, 2), hidden_sizes=(4,), orderings=2).use_mask_set(2)
    with pytest.raises(ValueError, match=r"sets \(mask sets to average\) must be an int in 1..orderings = 2, got 3"):
        MADE(shape=(1, 2, 2), hidden_sizes=(4,), orderings=2).log_prob(torch.zeros(1, 1, 2, 2), sets=3)
    with pytest.raises(TypeError, match=r"give a NADEConfig or keyword fields, not both"):
        NADE(NADE().config, hidden=3)


# --- one epoch of the trainer -----------------------------------------------------------------

@pytest.mark.parametrize("name", MODELS)
def test_one_epoch_smoke(name):
    torch.manual_seed(0)
    model = MODELS[name]((1, 4, 4), 5)
    x = torch.randint(0, 5, (16, 1, 4, 4), generator=torch.Generator().manual_seed(0))
    before = model.loss((x,))["loss"].item()
    history = train(model, [(x[:8],), (x[8:],)], epochs=1, lr=1e-2, device="cpu", progress=False)
    assert len(history["epoch"]) == 1
    after = model.eval().loss((x,))["loss"].item()
    assert math.isfinite(after) and after < before
