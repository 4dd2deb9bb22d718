import math
import warnings

import pytest
import torch
from torch import nn

from coursekit import data, seed_everything
from coursekit.checkpoint import load_checkpoint
from coursekit.models.base import GenerativeModel, batch_images
from coursekit.training import History, evaluate, train
from coursekit.utils import resolve_device


class TinyCategorical(GenerativeModel):
    """A per-pixel categorical with learnable logits plus a tiny MLP: enough to train."""

    likelihood = "none"   # a training toy: the loop needs only loss(batch)

    def __init__(self, hidden: int = 16, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, 64 * 17))

    def loss(self, batch):
        x = batch_images(batch)
        logits = self.net(torch.zeros_like(x, dtype=torch.float32)).view(-1, 17, 64)  # (B, K, D)
        nll = nn.functional.cross_entropy(logits, x.view(-1, 64), reduction="none").sum(1).mean()
        return {"loss": nll, "nll": nll, "half": nll / 2}


@pytest.fixture(scope="module")
def loaders():
    return data.loaders(data.digits(), batch_size=100, seed=0)


def fresh(seed=0, **kw):
    seed_everything(seed)
    return TinyCategorical(**kw)


def test_training_lowers_the_loss_and_records_every_part(loaders):
    model = fresh()
    before = evaluate(model, loaders["val"])["loss"]
    history = train(model, loaders["train"], val_data=loaders["val"], epochs=4, lr=3e-2, progress=False)
    assert isinstance(history, History)
    assert history["epoch"] == [1.0, 2.0, 3.0, 4.0]
    assert history["step"] == [10, 20, 30, 40]
    for key in ("train/loss", "train/nll", "train/half", "val/loss", "val/nll", "val/half"):
        assert len(history[key]) == 4, key
    assert history["train/half"][0] == pytest.approx(history["train/loss"][0] / 2)
    assert len(history.steps["loss"]) == 40
    assert history["val/loss"][-1] < 0.8 * before
    # the round's train value is the mean of its steps
    assert history["train/loss"][1] == pytest.approx(sum(history.steps["loss"][10:20]) / 10, rel=1e-5)
    assert evaluate(model, loaders["val"])["loss"] == pytest.approx(history["val/loss"][history.best_round], rel=1e-5)


def test_seeded_runs_reproduce_and_seeds_differ(loaders):
    runs = [train(fresh(0, dropout=0.3), loaders["train"], epochs=2, seed=s, progress=False).steps["loss"]
            for s in (7, 7, 8)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_steps_mode_and_eval_every(loaders):
    history = train(fresh(), loaders["train"], steps=25, eval_every=10, val_data=loaders["val"], progress=False)
    assert history["step"] == [10, 20, 25]
    assert history["epoch"] == [1.0, 2.0, 2.5]
    assert len(history.steps["loss"]) == 25


def test_early_stopping_restores_the_best_weights(loaders):
    model = fresh()
    # a learning rate this large makes the validation loss bounce, so patience triggers
    history = train(model, loaders["train"], val_data=loaders["val"], epochs=30, lr=2.0, patience=2, progress=False)
    assert history.stopped_early
    assert len(history["val/loss"]) < 30
    best = min(history["val/loss"])
    assert history["val/loss"][history.best_round] == best
    assert evaluate(model, loaders["val"])["loss"] == pytest.approx(best, rel=1e-5)


def test_custom_training_step_hook(loaders):
    class TwoOptimisers(TinyCategorical):
        def configure_optimizers(self, lr):
            return {"a": torch.optim.SGD(self.net[1].parameters(), lr=lr),
                    "b": torch.optim.SGD(self.net[4].parameters(), lr=lr)}

        def training_step(self, batch, optimizers, step):   # the older signature, without ctx (no grad_clip, amp)
            self.calls = getattr(self, "calls", 0) + 1
            for _ in range(2):  # k = 2 inner steps, as a GAN's critic
                for opt in optimizers.values():
                    opt.zero_grad()
                loss = self.loss(batch)["loss"]
                loss.backward()
                optimizers["b"].step()
            optimizers["a"].step()
            return {"loss": loss.detach(), "inner_steps": 2}

    model = fresh().__class__  # noqa: F841 - keep the seed pattern explicit
    seed_everything(0)
    model = TwoOptimisers()
    history = train(model, loaders["train"], steps=5, lr=0.01, progress=False)
    assert model.calls == 5
    assert history.steps["inner_steps"] == [2.0] * 5

    seen = []

    def step_fn(m, batch, optimizers, step):
        seen.append(step)
        return {"loss": torch.tensor(1.0)}

    train(fresh(), loaders["train"], steps=3, step_fn=step_fn, progress=False)
    assert seen == [0, 1, 2]


def test_checkpoint_written_during_training(loaders, tmp_path):
    model = fresh()
    path = tmp_path / "ckpt" / "model.pt"
    history = train(model, loaders["train"], val_data=loaders["val"], epochs=3, lr=3e-2,
                    checkpoint_path=str(path), progress=False)
    other = fresh(seed=1)
    extra = load_checkpoint(path, other)
    assert extra["history"]["val/loss"] == history["val/loss"][: history.best_round + 1]
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)


def test_bad_arguments_are_named(loaders):
    model = fresh()
    with pytest.raises(ValueError, match="exactly one of epochs or steps"):
        train(model, loaders["train"], progress=False)
    with pytest.raises(ValueError, match="exactly one of epochs or steps"):
        train(model, loaders["train"], epochs=1, steps=1, progress=False)
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        train(model, loaders["train"], epochs=0, progress=False)
    with pytest.raises(ValueError, match="patience"):
        train(model, loaders["train"], epochs=1, patience=2, progress=False)
    with pytest.raises(ValueError, match=r"eval_every=5 counts optimisation steps and goes with steps=\.\.\.; "
                                         r"with epochs=2 a round is one epoch"):
        train(model, loaders["train"], epochs=2, eval_every=5, progress=False)
    with pytest.raises(ValueError, match="eval_every must be a positive int, got 0"):
        train(model, loaders["train"], steps=2, eval_every=0, progress=False)

    class NoDict(TinyCategorical):
        def loss(self, batch):
            return super().loss(batch)["loss"]

    with pytest.raises(TypeError, match="must return a dict with a 'loss' entry, got Tensor"):
        train(NoDict(), loaders["train"], epochs=1, progress=False)

    class Exploding(TinyCategorical):
        def loss(self, batch):
            return {"loss": super().loss(batch)["loss"] * float("nan")}

    with pytest.raises(FloatingPointError, match="at step 0"):
        train(Exploding(), loaders["train"], epochs=1, progress=False)


def test_amp_is_ignored_with_a_warning_on_cpu(loaders):
    with pytest.warns(UserWarning, match="amp=True is ignored on cpu"):
        train(fresh(), loaders["train"], steps=2, amp=True, device="cpu", progress=False)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    auto = resolve_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else auto.type)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="got 'gpu0'"):
        resolve_device("gpu0")


def test_float64_model_trains_with_float64_batches():
    """The trainer moves batches and keeps the model's dtype: nothing is pinned to float32."""

    class Gauss(GenerativeModel):
        def __init__(self):
            super().__init__()
            self.mu = nn.Parameter(torch.zeros(2, dtype=torch.float64))

        def loss(self, batch):
            x = batch_images(batch)
            assert x.dtype == torch.float64
            nll = 0.5 * ((x - self.mu) ** 2).sum(1).mean()
            return {"loss": nll}

    x = torch.randn(256, 2, dtype=torch.float64) + torch.tensor([3.0, -1.0], dtype=torch.float64)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=64)
    model = Gauss()
    train(model, loader, epochs=30, lr=0.1, progress=False)
    assert torch.allclose(model.mu, x.mean(0), atol=0.1)
