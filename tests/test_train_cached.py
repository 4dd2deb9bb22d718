"""train_cached: train once, load afterwards, and train afresh whenever something that decides the weights changes."""
import functools
import warnings

import pytest
import torch

from coursekit import data, seed_everything
from coursekit.models import VAE
from coursekit.checkpoint import save_checkpoint
from coursekit.training import cache_key, train, train_cached


@pytest.fixture(scope="module")
def loaders():
    return data.loaders(data.digits(), batch_size=100, seed=0)


def small_vae(seed=0, **kw):
    seed_everything(seed)
    return VAE(latent_dim=2, hidden=16, dropout=0.0, **kw)


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def cached_files(tmp_path):
    return sorted(p.name for p in (tmp_path / "models").glob("*.pt"))


def test_second_call_loads_the_same_weights_and_history_without_training(loaders, tmp_path, monkeypatch):
    first = small_vae()
    h1 = train_cached(first, loaders["train"], val_data=loaders["val"], epochs=2, cache_dir=tmp_path,
                      progress=False, name="vae")
    assert not h1.from_cache and len(cached_files(tmp_path)) == 1
    # the trained result is what plain `train` gives: the cache does not change the training
    plain = small_vae()
    train(plain, loaders["train"], val_data=loaders["val"], epochs=2, progress=False)
    for k, v in weights(plain).items():
        torch.testing.assert_close(first.state_dict()[k], v)

    def no_training(*args, **kwargs):
        raise AssertionError("train() was called although the model is cached")

    monkeypatch.setattr("coursekit.training.cached.train", no_training)
    second = small_vae()
    h2 = train_cached(second, loaders["train"], val_data=loaders["val"], epochs=2, cache_dir=tmp_path,
                      progress=False, name="vae")
    assert h2.from_cache and not second.training
    assert h2.rounds == h1.rounds and h2.steps == h1.steps and h2.best_round == h1.best_round
    for k, v in weights(first).items():
        assert torch.equal(second.state_dict()[k], v), k


@pytest.mark.parametrize("change", ["epochs", "lr", "init seed", "training seed", "patience", "restore_best", "beta_kl",
                                    "data", "batch size", "val data", "transform", "ema_decay", "warmup_steps",
                                    "lr_schedule"])
def test_anything_that_decides_the_weights_changes_the_key(loaders, change):
    base = dict(model=small_vae(), train_data=loaders["train"], epochs=2, val_data=loaders["val"])
    key = cache_key(base["model"], base["train_data"], epochs=2, val_data=loaders["val"])
    other = dict(base)
    if change == "epochs":
        other["epochs"] = 3
    elif change == "lr":
        other["lr"] = 3e-3
    elif change == "training seed":
        other["seed"] = 1
    elif change == "patience":
        other["patience"] = 5
    elif change == "restore_best":
        other["restore_best"] = False
    elif change == "ema_decay":
        other["ema_decay"] = 0.99
    elif change == "warmup_steps":
        other["warmup_steps"] = 5
    elif change == "lr_schedule":
        other["lr_schedule"] = "cosine"
    elif change == "init seed":
        other["model"] = small_vae(seed=1)
    elif change == "beta_kl":                     # same initial weights: only the config differs
        other["model"] = small_vae(beta_kl=4.0)
    elif change == "data":
        other["train_data"] = data.loaders(data.Splits(data.digits("val"), data.digits("val"), data.digits("test")),
                                           batch_size=100)["train"]
    elif change == "batch size":
        other["train_data"] = data.loaders(data.digits(), batch_size=50, seed=0)["train"]
    elif change == "val data":
        other["val_data"] = loaders["test"]
    elif change == "transform":
        other["train_data"] = data.loaders(data.digits(), batch_size=100, seed=0, transform=lambda x: 16 - x)["train"]
    model, train_data = other.pop("model"), other.pop("train_data")
    assert cache_key(model, train_data, **other) != key


def test_transforms_are_keyed_by_their_code_not_their_name_or_address():
    def key(transform):
        return cache_key(small_vae(), data.loaders(data.digits(), batch_size=100, seed=0, transform=transform)["train"], epochs=1)

    flip, flip_again, shift = (lambda x: 16 - x), (lambda x: 16 - x), (lambda x: x // 2)
    assert key(flip) == key(flip_again)                 # the same code in a new object: the same model
    assert key(flip) != key(shift)                      # two lambdas, both named <lambda>, different code
    assert key(functools.partial(data.binarize, levels=17)) == key(functools.partial(data.binarize, levels=17))
    assert key(functools.partial(data.binarize, levels=17)) != key(functools.partial(data.binarize, levels=9))
    assert key(None) != key(flip)


def test_defaults_spelled_out_give_the_same_key(loaders):
    model = small_vae()
    assert (cache_key(model, loaders["train"], epochs=2)
            == cache_key(model, loaders["train"], epochs=2, restore_best=True, lr=1e-3, seed=0))


def test_device_progress_and_distributed_are_not_in_the_key(loaders):
    model = small_vae()
    assert (cache_key(model, loaders["train"], epochs=2, device="cpu", progress=False, distributed=False)
            == cache_key(model, loaders["train"], epochs=2, device="auto", progress=True, desc="x"))


def test_the_weight_average_is_cached_with_the_model(loaders, tmp_path):
    first = small_vae()
    h1 = train_cached(first, loaders["train"], epochs=1, ema_decay=0.9, cache_dir=tmp_path, progress=False)
    second = small_vae()
    h2 = train_cached(second, loaders["train"], epochs=1, ema_decay=0.9, cache_dir=tmp_path, progress=False)
    assert h2.from_cache and h2.ema is not None and h2.ema.updates == h1.ema.updates
    for k, v in h1.ema.model.state_dict().items():
        assert torch.equal(h2.ema.model.state_dict()[k], v), k


def test_retrain_and_unreadable_cache_train_again(loaders, tmp_path):
    train_cached(small_vae(), loaders["train"], epochs=1, cache_dir=tmp_path, progress=False)
    [name] = cached_files(tmp_path)
    assert not train_cached(small_vae(), loaders["train"], epochs=1, cache_dir=tmp_path, progress=False,
                            retrain=True).from_cache
    (tmp_path / "models" / name).write_bytes(b"not a checkpoint")
    model = small_vae()
    with pytest.warns(UserWarning, match="could not be (read|used)"):
        history = train_cached(model, loaders["train"], epochs=1, cache_dir=tmp_path, progress=False)
    assert not history.from_cache
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # the file was replaced by a good one
        assert train_cached(small_vae(), loaders["train"], epochs=1, cache_dir=tmp_path, progress=False).from_cache


def test_a_cache_without_history_does_not_leak_its_weights_into_training(loaders, tmp_path):
    trained = small_vae()
    train_cached(trained, loaders["train"], epochs=1, cache_dir=tmp_path, progress=False)
    [name] = cached_files(tmp_path)
    key = cache_key(small_vae(), loaders["train"], epochs=1, progress=False)
    save_checkpoint(tmp_path / "models" / name, trained, key=key)  # loadable weights under the right key, but no history
    model = small_vae()
    with pytest.warns(UserWarning, match="could not be (read|used)"):
        train_cached(model, loaders["train"], epochs=1, cache_dir=tmp_path, progress=False)
    plain = small_vae()
    train(plain, loaders["train"], epochs=1, progress=False)       # what training from the initial weights gives
    for k, v in plain.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v)


def test_a_cache_that_cannot_be_written_still_returns_the_trained_model(loaders, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    model = small_vae()
    before = weights(model)
    with pytest.warns(UserWarning, match="could not be cached"):
        history = train_cached(model, loaders["train"], epochs=1, cache_dir=blocked, progress=False)
    assert not history.from_cache and len(history["epoch"]) == 1
    assert any(not torch.equal(model.state_dict()[k], v) for k, v in before.items())


def test_what_cannot_be_keyed_is_refused(loaders, tmp_path):
    with pytest.raises(TypeError, match="DataLoader over an ImageSplit or a TensorDataset"):
        train_cached(small_vae(), [(torch.zeros(2, 1, 8, 8, dtype=torch.long),)], epochs=1, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="step_fn"):
        train_cached(small_vae(), loaders["train"], epochs=1, cache_dir=tmp_path, step_fn=lambda *a: {})
    with pytest.raises(TypeError, match="collate_fn"):
        odd = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(4, 1, 8, 8, dtype=torch.long)),
                                          batch_size=2, collate_fn=object())
        train_cached(small_vae(), odd, epochs=1, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="resume_from"):
        train_cached(small_vae(), loaders["train"], epochs=1, cache_dir=tmp_path, resume_from="run.pt")
    with pytest.raises(TypeError, match="refuses them"):
        train_cached(small_vae(), loaders["train"], epochs=1, cache_dir=tmp_path, epoch=3)
    assert not (tmp_path / "models").exists()


LAYER_SOURCE = '''
import torch
from torch import nn


class Scale(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.w = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * self.w{extra}
'''

MODEL_SOURCE = '''
import torch
from torch import nn
from trial_layers import Scale


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = Scale(64)

    def loss(self, batch):
        x = batch[0].float().flatten(1)
        return {"loss": (self.scale(x) - x.mean()).pow(2).mean()}
'''


def _key_of_model_from_files(folder, loader, layer_extra: str) -> str:
    """cache_key of `Tiny` built from two files: the model's, and the layer's it uses (rewritten with `layer_extra`)."""
    import importlib
    import sys

    (folder / "trial_layers.py").write_text(LAYER_SOURCE.format(extra=layer_extra))
    (folder / "trial_model.py").write_text(MODEL_SOURCE)
    sys.path.insert(0, str(folder))
    try:
        for name in ("trial_layers", "trial_model"):
            sys.modules.pop(name, None)
        importlib.invalidate_caches()
        torch.manual_seed(0)
        return cache_key(importlib.import_module("trial_model").Tiny(), loader, epochs=1)
    finally:
        sys.path.remove(str(folder))
        for name in ("trial_layers", "trial_model"):
            sys.modules.pop(name, None)


def test_the_key_covers_the_code_of_the_layers_a_model_uses(loaders, tmp_path):
    # A model whose layer lives in another file (as the families use models/layers.py): changing
    # only the layer's code must change the key, or a stale model would be served.
    key = _key_of_model_from_files(tmp_path, loaders["train"], "")
    assert _key_of_model_from_files(tmp_path, loaders["train"], "") == key
    assert _key_of_model_from_files(tmp_path, loaders["train"], " + 0.0") != key


def test_the_vae_key_reads_the_shared_layers_file():
    import hashlib

    from coursekit.cache import source_key
    from coursekit.models import layers

    seen = []

    class Recorder:
        def update(self, data):
            seen.append(bytes(data))

    source_key(Recorder(), VAE())
    assert any(chunk == open(layers.__file__, "rb").read() for chunk in seen)
    assert hashlib  # the real key feeds the same chunks to a SHA-256


def test_train_cached_refuses_to_run_across_processes(loaders, tmp_path, monkeypatch):
    from coursekit.training.distributed import Ranks

    monkeypatch.setattr("coursekit.training.cached.ranks_for", lambda distributed: Ranks(0, 2))
    monkeypatch.setattr("torch.distributed.get_world_size", lambda: 2)
    with pytest.raises(RuntimeError, match="one process.*torchrun"):
        train_cached(small_vae(), loaders["train"], epochs=1, cache_dir=tmp_path, progress=False)
    assert not (tmp_path / "models").exists()


def test_report_prints_what_was_trained_and_then_that_it_came_from_the_cache(loaders, tmp_path, capsys):
    options = dict(val_data=loaders["val"], epochs=2, cache_dir=tmp_path, progress=False, name="small vae", report=True)
    model = small_vae()
    train_cached(model, loaders["train"], **options)
    trained = capsys.readouterr().out
    n_params = sum(p.numel() for p in model.parameters())
    assert trained.startswith(f"small vae: {n_params:,} parameters, 2 epochs (best ") and "trained in" in trained
    train_cached(small_vae(), loaders["train"], **options)
    assert capsys.readouterr().out.strip().endswith("2 epochs (best " + trained.split("(best ")[1].split(")")[0]
                                                    + "), loaded from the cache")
    train_cached(small_vae(), loaders["train"], **{**options, "report": False})
    assert capsys.readouterr().out == ""                                # silent unless asked
