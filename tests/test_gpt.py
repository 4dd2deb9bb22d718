"""The pixel GPT: causal (ℓ_t never sees x_≥t), a normalised exact likelihood, written-out attention equal to the
fused one, the key–value-cached sampler equal to the naive one (logits and samples), top-k and temperature, what
the position embeddings and the labels change, bad input errors, meta device and float64."""
from __future__ import annotations

import itertools

import pytest
import torch

from coursekit.models.gpt import GPT, GPTConfig
from coursekit.models.layers import causal_mask, materialize

SMALL = dict(shape=(1, 3, 3), levels=5, d_model=8, n_heads=2, layers=2)


def build(seed: int = 0, **fields) -> GPT:
    torch.manual_seed(seed)
    return GPT(**{**SMALL, **fields}).eval()


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randomise(model: GPT) -> GPT:
    """Larger random weights than the initialisation, so the logits differ across levels and steps."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("positions", ["learned", "sinusoidal", "none"])
def test_logits_of_step_t_do_not_depend_on_pixels_at_or_after_t(positions):
    model = randomise(build(positions=positions, inputs="one_hot")).double()
    D, K = 9, 5
    x = torch.randint(0, K, (1, 1, 3, 3), generator=gen())
    x_tilde = model.input_features(x).requires_grad_()                           # (1, K, 1, 3, 3)
    logits = model.conditional_logits(x_tilde).flatten(2)                         # (1, K, D)
    for t in range(D):
        (grad,) = torch.autograd.grad(logits[0, :, t].sum(), x_tilde, retain_graph=True)
        influence = grad.flatten(2).abs().sum(1)[0]                               # (D,): |∂ℓ_t/∂x̃_j|
        assert (influence[t:] == 0).all(), f"ℓ_{t} depends on pixels {influence[t:].nonzero().flatten().tolist()}"
        if t > 0:
            assert (influence[:t] > 0).any()                                      # and it does see the past


def test_log_prob_sums_to_one_over_every_binary_2x2_image():
    model = randomise(build(shape=(1, 2, 2), levels=2)).double()
    images = torch.tensor(list(itertools.product([0, 1], repeat=4))).view(16, 1, 2, 2)
    total = model.log_prob(images).exp().sum()
    assert torch.allclose(total, torch.tensor(1.0, dtype=torch.float64), atol=1e-12)


def test_conditional_log_prob_sums_to_one_for_every_label():
    model = randomise(build(shape=(1, 2, 2), levels=2, classes=3)).double()
    images = torch.tensor(list(itertools.product([0, 1], repeat=4))).view(16, 1, 2, 2)
    for label in range(3):
        total = model.log_prob(images, label).exp().sum()
        assert torch.allclose(total, torch.tensor(1.0, dtype=torch.float64), atol=1e-12)


def test_written_out_attention_gives_the_fused_models_logits():
    fused = randomise(build(fused=True))
    manual = GPT(**{**SMALL, "fused": False}).eval()
    manual.load_state_dict(fused.state_dict())
    x = torch.randint(0, 5, (4, 1, 3, 3), generator=gen())
    assert torch.allclose(fused.logits(x), manual.logits(x), atol=1e-5, rtol=0)
    assert torch.allclose(fused.double().logits(x), manual.double().logits(x), atol=1e-12, rtol=0)


def test_attention_weights_are_causal_distributions():
    model = randomise(build())
    x = torch.randint(0, 5, (2, 1, 3, 3), generator=gen())
    weights = model.attention_weights(x)
    assert len(weights) == 2
    for w in weights:
        assert w.shape == (2, 2, 9, 9)
        assert torch.allclose(w.sum(-1), torch.ones(2, 2, 9), atol=1e-6)
        assert (w[..., ~causal_mask(9)] == 0).all() and (w[..., causal_mask(9)] > 0).all()


@pytest.mark.parametrize("classes", [None, 3])
def test_cached_logits_equal_teacher_forced_logits(classes):
    model = randomise(build(classes=classes))
    y = torch.tensor([0, 1, 2, 0]) if classes else None
    x = torch.zeros(4, 1, 3, 3, dtype=torch.long)
    steps: list[torch.Tensor] = []
    drawn = model._fill_gpt(x, torch.zeros_like(x, dtype=torch.bool), y, 1.0, gen(), True, None, steps)
    cached = torch.stack(steps, dim=2)                                              # (n, K, D)
    teacher = model.logits(drawn, y).flatten(2)                                     # (n, K, D)
    assert torch.allclose(cached, teacher, atol=1e-5, rtol=0)                       # float32: rounding only
    model.double()
    steps = []
    drawn = model._fill_gpt(x.clone(), torch.zeros_like(x, dtype=torch.bool), y, 1.0, gen(), True, None, steps)
    assert torch.allclose(torch.stack(steps, dim=2), model.logits(drawn, y).flatten(2), atol=1e-12, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("temperature, top_k", [(1.0, None), (0.7, 3), (0.0, None)])
def test_cached_and_naive_samplers_draw_the_same_images(dtype, temperature, top_k):
    model = randomise(build()).to(dtype)
    for seed in range(3):
        a = model.sample(8, temperature, gen(seed), cached=True, top_k=top_k)
        b = model.sample(8, temperature, gen(seed), cached=False, top_k=top_k)
        assert torch.equal(a, b)
    assert not torch.equal(model.sample(8, 1.0, gen(0)), model.sample(8, 1.0, gen(1)))


def test_cached_and_naive_completions_agree_and_keep_the_known_pixels():
    model = randomise(build(classes=2))
    x = torch.randint(0, 5, (6, 1, 3, 3), generator=gen())
    known = torch.zeros(1, 3, 3, dtype=torch.bool)
    known[:, 0] = True                                                               # the top row is given
    a = model.complete(x, known, generator=gen(1), y=1)
    b = model.complete(x, known, generator=gen(1), y=1, cached=False)
    assert torch.equal(a, b) and torch.equal(a[:, :, 0], x[:, :, 0])


def test_top_k_never_draws_outside_the_k_largest_logits():
    model = randomise(build())
    steps: list[torch.Tensor] = []
    x = torch.zeros(64, 1, 3, 3, dtype=torch.long)
    drawn = model._fill_gpt(x, torch.zeros_like(x, dtype=torch.bool), None, 5.0, gen(), True, 2, steps)
    logits = torch.stack(steps, dim=2)                                              # (n, K, D)
    rank = (logits > logits.gather(1, drawn.flatten(1)[:, None])).sum(1)           # how many logits beat the draw
    assert (rank < 2).all()
    free = model.sample(64, 5.0, gen(), top_k=None)                                  # without top-k: more levels
    steps = []
    model._fill_gpt(x.clone(), torch.zeros_like(x, dtype=torch.bool), None, 5.0, gen(), True, None, steps)
    rank_free = (torch.stack(steps, 2) > torch.stack(steps, 2).gather(1, free.flatten(1)[:, None])).sum(1)
    assert (rank_free >= 2).any()


def test_temperature_zero_is_the_argmax_and_top_1():
    model = randomise(build())
    steps: list[torch.Tensor] = []
    x = torch.zeros(5, 1, 3, 3, dtype=torch.long)
    greedy = model._fill_gpt(x, torch.zeros_like(x, dtype=torch.bool), None, 0.0, None, True, None, steps)
    assert torch.equal(greedy.flatten(1), torch.stack(steps, 2).argmax(1))
    assert torch.equal(greedy, model.sample(5, 1.0, gen(), top_k=1))                # top-1 at any T: the argmax
    assert (greedy == greedy[:1]).all()                                               # no noise: all the same


def test_without_positions_the_model_sees_the_past_as_a_set():
    """No position embedding: attention is permutation-equivariant (a sum over keys, whatever their order), so
    one causal layer makes ℓ_t a function of its own input s_t and the multiset {s_1, …, s_t}. Swapping x_1 and
    x_2 (inputs s_2, s_3) leaves ℓ_t for t ≥ 4 unchanged without positions and changes it with them. (With more
    layers the earlier steps' hidden states, which see different prefixes, differ, so only one layer is a set.)"""
    x = torch.randint(0, 5, (4, 1, 3, 3), generator=gen())
    x[:, 0, 0, 0], x[:, 0, 0, 1] = 1, 3
    swapped = x.clone()
    swapped[:, 0, 0, 0], swapped[:, 0, 0, 1] = 3, 1
    for positions in ("none", "learned", "sinusoidal"):
        model = randomise(build(positions=positions, layers=1)).double()
        same = torch.allclose(model.logits(x).flatten(2)[..., 3:], model.logits(swapped).flatten(2)[..., 3:],
                              atol=1e-12, rtol=0)
        assert same == (positions == "none"), positions


def test_class_conditioning_changes_the_logits_and_the_labels_are_required():
    model = randomise(build(classes=3))
    x = torch.randint(0, 5, (2, 1, 3, 3), generator=gen())
    assert not torch.allclose(model.logits(x, 0), model.logits(x, 1))
    assert torch.equal(model.logits(x, torch.tensor([2, 2])), model.logits(x, 2))
    with pytest.raises(ValueError, match="give the labels y"):
        model.log_prob(x)
    with pytest.raises(ValueError, match=r"batch must be \(x, y\)"):
        model.loss((x,))
    loss = model.loss((x, torch.tensor([0, 1])))["loss"]
    assert torch.allclose(loss, -model.log_prob(x, torch.tensor([0, 1])).mean())
    assert model.sample(6, generator=gen()).shape == (6, 1, 3, 3)                    # y = 0, 1, 2, 0, 1, 2


@pytest.mark.parametrize("bad, message", [
    (lambda: GPT(**{**SMALL, "d_model": 9}), "divisible by n_heads"),
    (lambda: GPT(**{**SMALL, "positions": "rotary"}), "positions must be one of"),
    (lambda: GPT(**{**SMALL, "dropout": 1.0}), "dropout"),
    (lambda: GPT(**{**SMALL, "attention_dropout": -0.1}), "attention_dropout"),
    (lambda: GPT(**{**SMALL, "classes": 0}), "classes"),
    (lambda: GPT(GPTConfig(), d_model=8), "not both"),
    (lambda: build().logits(torch.zeros(2, 64, dtype=torch.long)), "(2, 64)"),
    (lambda: build().logits(torch.full((2, 1, 3, 3), 5)), "5"),
    (lambda: build().log_prob(torch.zeros(2, 1, 3, 3), torch.zeros(2)), "unconditional"),
    (lambda: build(classes=3).log_prob(torch.zeros(2, 1, 3, 3), torch.tensor([0, 3])), "y"),
    (lambda: build(classes=3).log_prob(torch.zeros(2, 1, 3, 3), torch.tensor([0])), r"\(2,\)"),
    (lambda: build().sample(0), "positive int"),
    (lambda: build().sample(2, top_k=0), "top_k"),
    (lambda: build().sample(2, temperature=-1.0), "temperature"),
])
def test_bad_input_errors_name_what_was_expected(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        bad()


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_meta_device_and_float64(positions):
    with torch.device("meta"):
        model = GPT(**{**SMALL, "positions": positions, "classes": 2})
    x = torch.zeros(3, 1, 3, 3, dtype=torch.long, device="meta")
    assert model.loss((x, torch.zeros(3, dtype=torch.long, device="meta")))["loss"].device.type == "meta"
    torch.manual_seed(0)
    real = materialize(model).double().eval()
    nll = -real.log_prob(torch.zeros(3, 1, 3, 3, dtype=torch.long), 1)
    assert nll.dtype == torch.float64 and torch.isfinite(nll).all()
    assert real.sample(3, generator=gen()).dtype == torch.long


def test_sampling_runs_without_dropout_and_restores_training_mode():
    model = randomise(build(dropout=0.5)).train()
    a = model.sample(6, generator=gen(), cached=False)
    assert model.training
    assert torch.equal(a, model.eval().sample(6, generator=gen()))


def test_attention_dropout_drops_attention_weights_only_and_only_in_training():
    x = torch.randint(0, 5, (4, 1, 3, 3), generator=gen())
    plain = randomise(build(dropout=0.0)).train()
    assert torch.equal(plain.logits(x), plain.logits(x))                # no dropout anywhere: deterministic
    dropped = build(dropout=0.0, attention_dropout=0.5)
    dropped.load_state_dict(plain.state_dict())                         # same weights: dropout has no parameters
    assert all(b.attention.dropout == 0.5 for b in dropped.blocks) and dropped.drop.p == 0.0
    dropped.train()
    assert not torch.equal(dropped.logits(x), dropped.logits(x))        # the attention weights are dropped
    assert torch.equal(dropped.eval().logits(x), plain.eval().logits(x))   # and not at evaluation
