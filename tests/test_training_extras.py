"""What the trainer offers beyond the default step: weight EMA, learning-rate warm-up and cosine
decay, several optimisers checkpointed together, resuming a run exactly, and custom steps that
get the default step's non-finite check and gradient clipping (through `ctx`)."""
import math
import re

import pytest
import torch
from torch import nn

from coursekit import data, seed_everything
from coursekit.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from coursekit.models.base import batch_images
from coursekit.training import EMA, LRSchedule, evaluate, train


class TinyMLP(nn.Module):
    """A small per-pixel categorical model of the 8x8 digits (17 levels), optionally with dropout."""

    def __init__(self, dropout: float = 0.0, crash_after: int | None = None):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 64 * 17))
        self.crash_after, self.calls = crash_after, 0   # crash_after: simulate a run killed after that many steps

    def loss(self, batch):
        if self.training and self.crash_after is not None:
            self.calls += 1
            if self.calls > self.crash_after:
                raise KeyboardInterrupt
        x = batch_images(batch)
        logits = self.net(x.float() / 16).view(-1, 17, 64)  # (B, K, D)
        nll = nn.functional.cross_entropy(logits, x.view(-1, 64), reduction="none").sum(1).mean()
        return {"loss": nll}


class Linear1D(nn.Module):
    """loss = g·θ: a constant gradient g, so SGD moves θ by −η_s·g at step s and everything has a closed form."""

    def __init__(self, theta0=1.0, g=0.5):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([theta0], dtype=torch.float64))
        self.g = g
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def loss(self, batch):
        if self.training:
            self.calls += 1
        return {"loss": self.g * self.theta.sum() + 0 * batch[0].sum()}


class TwoPlayer(nn.Module):
    """A GAN-like toy without noise: G moves the data, D scores it; each has its own optimiser."""

    def __init__(self):
        super().__init__()
        self.G = nn.Linear(2, 2)
        self.D = nn.Linear(2, 1)
        self.log = []

    def configure_optimizers(self, lr):
        return {"generator": torch.optim.Adam(self.G.parameters(), lr=lr),
                "discriminator": torch.optim.Adam(self.D.parameters(), lr=lr)}

    def d_loss(self, x):
        fake = self.G(x).detach()
        return nn.functional.softplus(-self.D(x)).mean() + nn.functional.softplus(self.D(fake)).mean()

    def g_loss(self, x):
        return nn.functional.softplus(-self.D(self.G(x))).mean()

    def loss(self, batch):
        d, g = self.d_loss(batch[0]), self.g_loss(batch[0])
        return {"loss": d + g, "d_loss": d, "g_loss": g}

    def training_step(self, batch, optimizers, step, ctx):
        x = batch[0]
        g_opt, d_opt = optimizers["generator"], optimizers["discriminator"]
        ctx.zero_grad(d_opt)
        d_loss = self.d_loss(x)
        ctx.backward(d_loss, d_opt, name="d_loss")
        g_before = [p.detach().clone() for p in self.G.parameters()]
        ctx.step(d_opt)
        g_untouched = all(torch.equal(a, b) for a, b in zip(g_before, self.G.parameters()))
        ctx.zero_grad(g_opt)
        g_loss = self.g_loss(x)
        ctx.backward(g_loss, g_opt, name="g_loss")
        d_before = [p.detach().clone() for p in self.D.parameters()]
        ctx.step(g_opt)
        d_untouched = all(torch.equal(a, b) for a, b in zip(d_before, self.D.parameters()))
        self.log.append((g_untouched, d_untouched))
        return {"loss": (d_loss + g_loss).detach(), "d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


@pytest.fixture(scope="module")
def loaders():
    return data.loaders(data.digits(), batch_size=100, seed=0)


def points(n=64, batch_size=16):
    x = torch.randn(n, 2, generator=torch.Generator().manual_seed(0)) + torch.tensor([2.0, -1.0])
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=batch_size, shuffle=False)


def zeros_loader(n=8, batch_size=2):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(n, 1, dtype=torch.float64)),
                                       batch_size=batch_size)


def fresh(cls=TinyMLP, seed=0, **kw):
    seed_everything(seed)
    return cls(**kw)


def same_weights(a, b):
    return all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())


# ---------------------------------------------------------------- EMA

def test_ema_matches_its_closed_form_and_copies_buffers():
    """θ_s = θ_0 − s·η·g under SGD; after k steps θ_ema = d^k θ_0 + (1 − d) Σ_{s=1..k} d^(k−s) θ_s."""
    theta0, g, eta, d, k = 1.0, 0.5, 0.1, 0.9, 8
    model = Linear1D(theta0, g)
    history = train(model, zeros_loader(), steps=k, ema_decay=d, optimizer=torch.optim.SGD(model.parameters(), lr=eta),
                    device="cpu", progress=False)
    thetas = [theta0 - s * eta * g for s in range(k + 1)]
    expected = d ** k * theta0 + (1 - d) * sum(d ** (k - s) * thetas[s] for s in range(1, k + 1))
    assert history.ema.updates == k
    assert history.ema.model.theta.item() == pytest.approx(expected, rel=1e-12)
    assert model.theta.item() == pytest.approx(thetas[k], rel=1e-12)              # the raw weights stay in the model
    assert history.ema.model.calls.item() == model.calls.item() == k              # buffers are copied, not averaged
    assert not history.ema.model.theta.requires_grad


def test_ema_with_decay_zero_is_the_raw_weights_and_validation_uses_the_average(loaders):
    model = fresh()
    history = train(model, loaders["train"], steps=7, ema_decay=0.0, progress=False)
    assert same_weights(history.ema.model, model)

    model = fresh()
    history = train(model, loaders["train"], val_data=loaders["val"], epochs=2, lr=3e-2, ema_decay=0.9, progress=False)
    assert not same_weights(history.ema.model, model)
    assert history["val/loss"][-1] == pytest.approx(evaluate(history.ema.model, loaders["val"])["loss"], rel=1e-6)
    history.ema.copy_to(model)
    assert same_weights(model, history.ema.model)
    for bad in (1.0, -0.1, "0.9"):
        with pytest.raises(ValueError, match="ema_decay must be a float in \\[0, 1\\)"):
            EMA(model, bad)


# ---------------------------------------------------------------- learning-rate schedule

def test_warmup_and_cosine_follow_the_formula_and_are_recorded_and_applied():
    lr, min_lr, W, T = 0.2, 0.02, 4, 20
    schedule = LRSchedule(total_steps=T, warmup_steps=W, schedule="cosine", min_lr=min_lr)
    assert schedule.lr(0, lr) == pytest.approx(lr / W)                       # warm-up starts at η/W
    assert schedule.lr(W - 1, lr) == pytest.approx(lr)                       # and reaches η at its last step
    assert schedule.lr(W, lr) == pytest.approx(lr)                           # the cosine starts at η
    assert schedule.lr(W + (T - W) // 2, lr) == pytest.approx((lr + min_lr) / 2)   # midway: halfway down
    assert schedule.lr(T - 1, lr) == pytest.approx(min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * (T - 1 - W) / (T - W))))
    assert schedule.lr(T, lr) == pytest.approx(min_lr)                       # the floor, one past the last step

    model = Linear1D(theta0=1.0, g=0.5)
    history = train(model, zeros_loader(n=2 * T, batch_size=2), steps=T, warmup_steps=W, lr_schedule="cosine",
                    min_lr=min_lr, optimizer=torch.optim.SGD(model.parameters(), lr=lr), device="cpu", progress=False)
    expected = [schedule.lr(s, lr) for s in range(T)]
    assert history.steps["lr"] == pytest.approx(expected, rel=1e-12)
    # the rate recorded for step s is the one SGD used: θ_T = θ_0 − g Σ_s η_s
    assert model.theta.item() == pytest.approx(1.0 - 0.5 * sum(expected), rel=1e-12)

    constant = train(fresh(Linear1D), zeros_loader(), steps=3, lr=0.05, progress=False)
    assert constant.steps["lr"] == [0.05] * 3


def test_schedule_arguments_are_checked(loaders):
    with pytest.raises(ValueError, match="lr_schedule must be one of \\('constant', 'cosine'\\), got 'linear'"):
        train(fresh(), loaders["train"], steps=2, lr_schedule="linear", progress=False)
    with pytest.raises(ValueError, match="min_lr=0.1 .* needs lr_schedule='cosine'"):
        train(fresh(), loaders["train"], steps=2, min_lr=0.1, progress=False)
    with pytest.raises(ValueError, match="min_lr=0.1 is above the learning rate 0.01"):
        train(fresh(), loaders["train"], steps=2, lr=0.01, min_lr=0.1, lr_schedule="cosine", progress=False)
    with pytest.raises(ValueError, match="warmup_steps must be an int >= 0, got -1"):
        train(fresh(), loaders["train"], steps=2, warmup_steps=-1, progress=False)
    with pytest.raises(ValueError, match="warmup_steps=4 is longer than the run's 3 steps"):
        train(fresh(), loaders["train"], steps=3, warmup_steps=4, progress=False)
    with pytest.raises(ValueError, match="warmup_steps=21 is longer than the run's 20 steps"):
        train(fresh(), loaders["train"], epochs=2, warmup_steps=21, progress=False)     # 10 batches an epoch
    history = train(fresh(), loaders["train"], steps=3, warmup_steps=3, lr=0.03, progress=False)   # as long: fine
    assert history.steps["lr"] == pytest.approx([0.01, 0.02, 0.03])


# ---------------------------------------------------------------- several optimisers, custom steps

def test_two_optimisers_each_update_their_own_parameters_and_checkpoint_together(tmp_path):
    model = fresh(TwoPlayer)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    path = tmp_path / "gan.pt"
    history = train(model, points(), epochs=2, lr=0.01, checkpoint_path=str(path), device="cpu", progress=False)
    assert model.log == [(True, True)] * 8       # the D step left G alone, the G step left D alone
    assert all(not torch.equal(initial[k], v) for k, v in model.state_dict().items())
    assert set(history.steps) == {"loss", "d_loss", "g_loss", "lr/generator", "lr/discriminator"}

    other = fresh(TwoPlayer, seed=1)
    optimizers = other.configure_optimizers(0.01)
    load_checkpoint(path, other, optimizers)
    assert same_weights(other, model)
    saved = torch.load(path, weights_only=True)["optimizers"]
    for name, opt in optimizers.items():
        for i, state in opt.state_dict()["state"].items():
            for key, value in state.items():
                assert torch.equal(value, saved[name]["state"][i][key]), (name, i, key)
        assert len(opt.state_dict()["state"]) == 2       # a weight and a bias, both with Adam moments


def test_a_part_reported_on_some_steps_is_averaged_over_those_steps_and_aligned_with_them(loaders):
    """A GAN logs "g_loss" once every k critic steps: its round mean is the mean of the values logged
    (not their sum over every step of the round), and every series stays aligned with the steps."""
    def step_fn(model, batch, optimizers, step, ctx):
        ctx.zero_grad(optimizers)
        loss = model.loss(batch)["loss"]
        ctx.backward(loss, optimizers)
        ctx.step(optimizers)
        parts = {"loss": loss.detach(), "d_loss": torch.tensor(1.0)}
        if step % 2 == 0:
            parts["g_loss"] = torch.tensor(float(step + 1))     # steps 0, 2, 4: the values 1, 3, 5
        if step == 4:
            parts["late"] = 7.0                                 # once, in the second round only
        if step == 1:
            parts["early"] = 2.0                                # once, in the first round only
        return parts

    history = train(fresh(), loaders["train"], steps=6, eval_every=3, step_fn=step_fn, progress=False)
    assert history["step"] == [3, 6]
    assert history["train/g_loss"] == [2.0, 5.0]                # (1 + 3) / 2 and 5 / 1, not 4/3 and 5/3
    assert history["train/d_loss"] == [1.0, 1.0]
    assert math.isnan(history["train/late"][0]) and history["train/late"][1] == 7.0
    assert history["train/early"][0] == 2.0 and math.isnan(history["train/early"][1])
    assert {len(v) for v in history.rounds.values()} == {2}     # one value per round in every series
    assert {len(v) for v in history.steps.values()} == {6}      # one value per step in every series
    g = history.steps["g_loss"]
    assert [g[0], g[2], g[4]] == [1.0, 3.0, 5.0] and all(math.isnan(g[s]) for s in (1, 3, 5))
    assert history.logged("g_loss") == ([0, 2, 4], [1.0, 3.0, 5.0])
    assert history.logged("late") == ([4], [7.0]) and history.logged("early") == ([1], [2.0])
    assert history.logged("d_loss") == (list(range(6)), [1.0] * 6)
    with pytest.raises(KeyError, match="no per-step series 'x'"):
        history.logged("x")

    from coursekit.viz import training_curves
    fig = training_curves(history)
    assert {ax.get_title() for ax in fig.axes} == {"loss", "d_loss", "g_loss", "late", "early"}


def nan_in_default_step():
    class Exploding(TinyMLP):
        def loss(self, batch):
            return {"loss": super().loss(batch)["loss"] * float("nan")}
    return Exploding()


def test_a_non_finite_loss_raises_the_same_error_in_default_and_custom_steps(loaders):
    message = r"the loss part '{}' became nan at step 0: lower the learning rate \(lr=0.001\) or set grad_clip"
    with pytest.raises(FloatingPointError, match=message.format("loss")):
        train(nan_in_default_step(), loaders["train"], steps=2, progress=False)

    def ctx_step(model, batch, optimizers, step, ctx):
        loss = model.loss(batch)["loss"] * float("nan")
        ctx.zero_grad(optimizers)
        ctx.backward(loss, optimizers, name="recon")
        ctx.step(optimizers)
        return {"loss": loss}

    with pytest.raises(FloatingPointError, match=message.format("recon")):
        train(fresh(), loaders["train"], steps=2, step_fn=ctx_step, progress=False)

    def old_step(model, batch, optimizers, step):   # no ctx: the loss it returns is checked
        return {"loss": torch.tensor(float("nan"))}

    with pytest.raises(FloatingPointError, match=message.format("loss")):
        train(fresh(), loaders["train"], steps=2, step_fn=old_step, progress=False)


def test_the_non_finite_error_reports_the_learning_rate_of_that_step(loaders):
    """Under warm-up the rate of step s is lr·(s + 1)/W, not lr: the message says which one was used."""
    lr, W, bad_step = 0.004, 8, 2
    rate = LRSchedule(total_steps=10, warmup_steps=W).lr(bad_step, lr)                 # 0.0015
    message = rf"became nan at step {bad_step}: lower the learning rate \(lr={re.escape(str(rate))}\)"

    class LateNan(TinyMLP):
        def loss(self, batch):
            self.calls += 1
            loss = super().loss(batch)["loss"]
            return {"loss": loss * float("nan") if self.calls > bad_step else loss}

    def ctx_step(model, batch, optimizers, step, ctx):
        ctx.zero_grad(optimizers)
        loss = model.loss(batch)["loss"]
        ctx.backward(loss, optimizers)
        ctx.step(optimizers)
        return {"loss": loss}

    def old_step(model, batch, optimizers, step):       # no ctx: the loss it returns is checked after the step
        optimizers.zero_grad()
        loss = model.loss(batch)["loss"]
        if step < bad_step:
            loss.backward()
            optimizers.step()
        return {"loss": loss.detach()}

    for step_fn in (None, ctx_step, old_step):
        with pytest.raises(FloatingPointError, match=message):
            train(fresh(LateNan), loaders["train"], steps=10, lr=lr, warmup_steps=W, step_fn=step_fn, progress=False)


@pytest.mark.parametrize("grad_clip", [0.5, None])
def test_custom_steps_get_gradient_clipping(loaders, grad_clip):
    norms = []

    def step_fn(model, batch, optimizers, step, ctx):
        ctx.zero_grad(optimizers)
        loss = 1000 * model.loss(batch)["loss"]          # gradients far above the clip
        ctx.backward(loss, optimizers)
        norms.append(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()])).item())
        ctx.step(optimizers)
        return {"loss": loss.detach()}

    train(fresh(), loaders["train"], steps=3, step_fn=step_fn, grad_clip=grad_clip, progress=False)
    assert len(norms) == 3
    if grad_clip is None:
        assert min(norms) > 10                           # so the clipped case below is a real test
    else:
        assert max(norms) <= grad_clip * (1 + 1e-5)


def old_style_step(model, batch, optimizers, step):    # no ctx: its own backward, which the trainer cannot clip
    optimizers.zero_grad()
    loss = 1000 * model.loss(batch)["loss"]
    loss.backward()
    optimizers.step()
    return {"loss": loss.detach()}


class OldStyleModel(TinyMLP):
    def configure_optimizers(self, lr):
        return torch.optim.Adam(self.parameters(), lr=lr)

    def training_step(self, batch, optimizer, step):
        return old_style_step(self, batch, optimizer, step)


def test_a_step_without_ctx_is_refused_where_it_would_lose_clipping_or_loss_scaling(loaders):
    model = fresh()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TypeError) as err:
        train(model, loaders["train"], steps=3, step_fn=old_style_step, grad_clip=0.5, progress=False)
    message = str(err.value)
    assert "step_fn old_style_step(model, batch, optimizers, step) takes no `ctx` argument" in message   # found
    assert "cannot clip its gradients (grad_clip=0.5)" in message                                        # why
    assert "define it as step_fn(model, batch, optimizers, step, ctx)" in message                       # what to do
    assert "ctx.backward(loss, optimizers)" in message
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())          # nothing was trained

    with pytest.raises(TypeError, match=re.escape("OldStyleModel.training_step(batch, optimizer, step) takes no `ctx` "
                                                  "argument, so the trainer cannot clip its gradients (grad_clip=0.5): "
                                                  "define it as training_step(self, batch, optimizers, step, ctx)")):
        train(fresh(OldStyleModel), loaders["train"], steps=3, grad_clip=0.5, progress=False)

    # mixed precision (on CUDA only) would run the step's own backward without a GradScaler
    from coursekit.training.loop import _refuse_step_without_ctx
    with pytest.raises(TypeError, match=r"cannot scale its loss for mixed precision \(amp=True, a GradScaler\): "
                                        r"define it as training_step"):
        _refuse_step_without_ctx("M.training_step(batch, optimizers, step)",
                                 "training_step(self, batch, optimizers, step, ctx)", grad_clip=None, use_amp=True,
                                 ranks=None)
    if torch.cuda.is_available():
        with pytest.raises(TypeError, match=r"amp=True"):
            train(fresh(), loaders["train"], steps=1, step_fn=old_style_step, amp=True, device="cuda", progress=False)
    else:                                                # amp is ignored on the CPU: nothing is lost, nothing refused
        with pytest.warns(UserWarning, match="amp=True is ignored on cpu"):
            train(fresh(), loaders["train"], steps=1, step_fn=old_style_step, amp=True, device="cpu", progress=False)

    # without grad_clip and amp such a step still trains (the same steps as the model's own, older training_step)
    a, b = fresh(OldStyleModel), fresh(OldStyleModel)
    train(a, loaders["train"], steps=3, progress=False)
    train(b, loaders["train"], steps=3, step_fn=old_style_step, progress=False)
    assert same_weights(a, b) and not same_weights(a, fresh(OldStyleModel))


def test_ctx_refuses_a_step_without_backward_and_two_backwards_per_step(loaders):
    def no_backward(model, batch, optimizers, step, ctx):
        ctx.step(optimizers)
        return {"loss": torch.tensor(0.0)}

    with pytest.raises(RuntimeError, match="came without ctx.backward"):
        train(fresh(), loaders["train"], steps=1, step_fn=no_backward, progress=False)

    def twice(model, batch, optimizers, step, ctx):
        loss = model.loss(batch)["loss"]
        ctx.backward(loss, optimizers)
        ctx.backward(loss, optimizers)

    with pytest.raises(RuntimeError, match="called twice for the same optimizer"):
        train(fresh(), loaders["train"], steps=1, step_fn=twice, progress=False)

    class BadOptimisers(TinyMLP):
        def configure_optimizers(self, lr):
            return {"a": "adam"}

    with pytest.raises(TypeError, match=r"got dict of \['str'\]"):
        train(BadOptimisers(), loaders["train"], steps=1, progress=False)


# ---------------------------------------------------------------- resuming

def test_resuming_after_two_epochs_gives_the_four_epoch_run_exactly(loaders, tmp_path):
    """Shuffled batches, dropout, EMA, Adam and a warm-up + cosine schedule: the random state,
    every optimiser, the EMA and the history are checkpointed, so the result is bit-identical."""
    options = dict(lr=1e-2, ema_decay=0.9, warmup_steps=5, lr_schedule="cosine", progress=False)
    straight = fresh(dropout=0.2)
    h_straight = train(straight, loaders["train"], epochs=4, **options)

    path = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):        # a run killed in epoch 3, after the epoch-2 checkpoint
        train(fresh(dropout=0.2, crash_after=20), loaders["train"], epochs=4, checkpoint_path=str(path), **options)
    assert load_checkpoint(path, fresh(dropout=0.2))["step"] == 20

    resumed = fresh(seed=5, dropout=0.2)       # other initial weights: everything comes from the checkpoint
    h_resumed = train(resumed, loaders["train"], epochs=4, resume_from=str(path), **options)
    assert same_weights(resumed, straight)
    assert same_weights(h_resumed.ema.model, h_straight.ema.model)
    assert h_resumed.rounds == h_straight.rounds and h_resumed.steps == h_straight.steps


def test_resuming_mid_epoch_and_from_the_plain_two_epoch_run(loaders, tmp_path):
    straight = fresh()
    h_straight = train(straight, loaders["train"], steps=25, eval_every=5, lr=1e-2, progress=False)
    path = tmp_path / "run.pt"
    train(fresh(), loaders["train"], steps=15, eval_every=5, lr=1e-2, checkpoint_path=str(path), progress=False)
    resumed = fresh(seed=3)                     # step 15 is the middle of epoch 2 (10 batches an epoch)
    h_resumed = train(resumed, loaders["train"], steps=25, eval_every=5, lr=1e-2, resume_from=str(path), progress=False)
    assert same_weights(resumed, straight)
    assert h_resumed.rounds == h_straight.rounds

    four = fresh()
    train(four, loaders["train"], epochs=4, lr=1e-2, progress=False)
    train(fresh(), loaders["train"], epochs=2, lr=1e-2, checkpoint_path=str(path), progress=False)
    again = fresh(seed=3)
    train(again, loaders["train"], epochs=4, lr=1e-2, resume_from=str(path), progress=False)
    assert same_weights(again, four)


def test_resume_refuses_what_does_not_fit(loaders, tmp_path):
    plain = save_checkpoint(tmp_path / "plain.pt", fresh())
    with pytest.raises(CheckpointError, match=r"lacks \['trainer', 'history'\].*not written by train"):
        train(fresh(), loaders["train"], epochs=1, resume_from=str(plain), progress=False)
    path = tmp_path / "run.pt"
    train(fresh(), loaders["train"], epochs=2, checkpoint_path=str(path), progress=False)
    with pytest.raises(CheckpointError, match="written by a run without val_data, but this one is with"):
        train(fresh(), loaders["train"], val_data=loaders["val"], epochs=3, resume_from=str(path), progress=False)
    with pytest.raises(ValueError, match="at step 20, beyond the 10 steps asked for"):
        train(fresh(), loaders["train"], epochs=1, resume_from=str(path), progress=False)
    with pytest.raises(CheckpointError, match=re.escape("has no EMA state, but an EMA (decay 0.9)")):
        train(fresh(), loaders["train"], epochs=3, ema_decay=0.9, resume_from=str(path), progress=False)
    with pytest.warns(UserWarning, match="other settings than it was trained with"):
        train(fresh(), loaders["train"], epochs=3, warmup_steps=2, resume_from=str(path), progress=False)


# ---------------------------------------------------------------- distributed pieces that need no processes

def test_shards_split_every_global_batch_between_the_processes(loaders):
    from coursekit.training.distributed import Ranks, shard_loader

    dataset = torch.utils.data.TensorDataset(torch.arange(64))
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))
    shards = [shard_loader(loader, Ranks(rank, 2), seed=3) for rank in range(2)]
    one = torch.utils.data.DataLoader(dataset, batch_size=16, sampler=torch.utils.data.DistributedSampler(
        dataset, num_replicas=1, rank=0, shuffle=True, seed=3))
    for epoch in range(2):
        for sampler in (shards[0].sampler, shards[1].sampler, one.sampler):
            sampler.set_epoch(epoch)
        assert len(shards[0]) == len(one) == 4
        for (a,), (b,), (whole,) in zip(*shards, one):
            assert len(a) == len(b) == 8                                  # half of the global batch each
            assert sorted(torch.cat([a, b]).tolist()) == sorted(whole.tolist())

    with pytest.raises(ValueError, match="batch size 100 is the global batch; it must divide evenly among the 3"):
        shard_loader(loaders["train"], Ranks(0, 3), seed=0)
    with pytest.raises(TypeError, match="needs train_data to be a DataLoader .* got list"):
        shard_loader([torch.zeros(2)], Ranks(0, 2), seed=0)


def test_distributed_options_outside_a_process_group(loaders):
    with pytest.raises(RuntimeError, match="distributed=True needs an initialised process group"):
        train(fresh(), loaders["train"], steps=1, distributed=True, progress=False)
    with pytest.raises(ValueError, match="distributed must be 'auto', True or False, got 'yes'"):
        train(fresh(), loaders["train"], steps=1, distributed="yes", progress=False)
    a, b = fresh(), fresh()
    train(a, loaders["train"], steps=3, progress=False)
    train(b, loaders["train"], steps=3, distributed=False, progress=False)   # "auto" without a group: one process
    assert same_weights(a, b)
