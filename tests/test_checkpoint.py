import re

import pytest
import torch
from torch import nn

from coursekit.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


class Net(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.lin = nn.Linear(3, width)
        self.register_buffer("mask", torch.ones(width))


def test_round_trip_with_optimizer_and_extra(tmp_path):
    torch.manual_seed(0)
    a = Net()
    opt = torch.optim.Adam(a.parameters(), lr=0.1)
    a.lin.weight.sum().backward()
    opt.step()
    path = save_checkpoint(tmp_path / "a.pt", a, opt, epoch=3, history={"val/loss": [1.0, 0.5]})
    b = Net()
    opt_b = torch.optim.Adam(b.parameters(), lr=0.1)
    extra = load_checkpoint(path, b, opt_b)
    assert extra == {"epoch": 3, "history": {"val/loss": [1.0, 0.5]}}
    assert torch.equal(a.lin.weight, b.lin.weight)
    assert opt_b.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]


def test_atomic_write_leaves_no_temporary_files_and_keeps_old_on_failure(tmp_path, monkeypatch):
    a = Net()
    path = save_checkpoint(tmp_path / "a.pt", a)
    good = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, a)
    assert path.read_bytes() == good  # the old checkpoint survives a failed write
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]


def test_missing_corrupt_and_mismatched_files_get_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at .*nothere.pt"):
        load_checkpoint(tmp_path / "nothere.pt", Net())
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt, truncated or not a checkpoint"):
        load_checkpoint(corrupt, Net())
    truncated = tmp_path / "truncated.pt"
    save_checkpoint(truncated, Net())
    truncated.write_bytes(truncated.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="corrupt, truncated"):
        load_checkpoint(truncated, Net())
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a coursekit checkpoint"):
        load_checkpoint(foreign, Net())
    wide = save_checkpoint(tmp_path / "wide.pt", Net(width=8))
    target = Net(width=4)
    before = target.lin.weight.clone()
    with pytest.raises(CheckpointError, match=r"lin.weight: the model has shape \(4, 3\), the checkpoint \(8, 3\)"):
        load_checkpoint(wide, target)
    assert torch.equal(target.lin.weight, before)  # nothing half-loaded
    with pytest.raises(CheckpointError, match="holds a Net, but it is being loaded into a Linear"):
        load_checkpoint(wide, nn.Linear(3, 8))


def test_pickled_modules_are_refused(tmp_path):
    """weights_only=True: a whole pickled module (arbitrary code) is not loaded."""
    path = tmp_path / "module.pt"
    torch.save({"format": 1, "model_class": "Net", "model": Net(), "optimizer": None, "extra": {}}, path)
    with pytest.raises(CheckpointError, match="corrupt, truncated or not a checkpoint"):
        load_checkpoint(path, Net())


class TwoNets(nn.Module):
    def __init__(self):
        super().__init__()
        self.g = nn.Linear(3, 4)
        self.d = nn.Linear(4, 1)


def stepped(model, make):
    """Optimisers (a dict or list from `make`) that have taken one step, so they carry state."""
    optimizers = make(model)
    (model.d(model.g(torch.ones(2, 3))).sum()).backward()
    for opt in (optimizers.values() if isinstance(optimizers, dict) else optimizers):
        opt.step()
    return optimizers


def gan_optimizers(m):
    return {"generator": torch.optim.Adam(m.g.parameters(), lr=0.1), "discriminator": torch.optim.SGD(m.d.parameters(), lr=0.1, momentum=0.9)}


def test_several_optimizers_ema_and_scaler_round_trip(tmp_path):
    from coursekit.training import EMA

    torch.manual_seed(0)
    a = TwoNets()
    optimizers = stepped(a, gan_optimizers)
    ema = EMA(a, 0.99)
    ema.update(a)
    scaler = torch.amp.GradScaler("cpu", init_scale=512.0)
    path = save_checkpoint(tmp_path / "gan.pt", a, optimizers, ema=ema, scaler=scaler, step=7)
    torch.manual_seed(1)
    b = TwoNets()
    optimizers_b, ema_b, scaler_b = gan_optimizers(b), EMA(b, 0.99), torch.amp.GradScaler("cpu")
    assert load_checkpoint(path, b, optimizers_b, ema=ema_b, scaler=scaler_b) == {"step": 7}
    for name in optimizers:
        assert repr(optimizers_b[name].state_dict()) == repr(optimizers[name].state_dict()), name
    assert ema_b.updates == 1 and all(torch.equal(x, y) for x, y in zip(ema_b.model.parameters(), ema.model.parameters()))
    assert scaler_b.get_scale() == 512.0
    load_checkpoint(path, TwoNets())                          # the weights alone load too

    as_list = save_checkpoint(tmp_path / "list.pt", a, list(optimizers.values()))
    c = TwoNets()
    optimizers_c = list(gan_optimizers(c).values())
    load_checkpoint(as_list, c, optimizers_c)
    assert torch.equal(optimizers_c[1].state_dict()["state"][0]["momentum_buffer"],
                       optimizers["discriminator"].state_dict()["state"][0]["momentum_buffer"])


def test_optimizer_and_ema_mismatches_name_what_was_expected_and_nothing_is_loaded(tmp_path):
    from coursekit.training import EMA

    torch.manual_seed(0)
    a = TwoNets()
    path = save_checkpoint(tmp_path / "gan.pt", a, stepped(a, gan_optimizers))
    single = save_checkpoint(tmp_path / "one.pt", a, torch.optim.Adam(a.parameters()))
    b = TwoNets()
    before = b.g.weight.clone()
    cases = [
        (path, torch.optim.Adam(b.parameters()), "holds several optimizers ['discriminator', 'generator'], but one optimizer"),
        (single, gan_optimizers(b), "has one optimizer, but optimizers ['discriminator', 'generator'] were given"),
        (path, {"gen": torch.optim.Adam(b.g.parameters())},
         "holds optimizers ['discriminator', 'generator'], but ['gen'] were given"),
        (path, {"generator": torch.optim.SGD(b.g.parameters(), lr=0.1), "discriminator": torch.optim.SGD(b.d.parameters(), lr=0.1)},
         "optimizer 'generator' was saved as Adam, but SGD was given"),
        (path, {"generator": torch.optim.Adam([b.g.weight]), "discriminator": torch.optim.SGD(b.d.parameters(), lr=0.1)},
         "optimizer 'generator' has parameter groups of sizes [2] in the checkpoint, but the one given has [1]"),
    ]
    for file, optimizers, message in cases:
        with pytest.raises(CheckpointError, match=re.escape(message)):
            load_checkpoint(file, b, optimizers)
        assert torch.equal(b.g.weight, before)                # nothing half-loaded
    with pytest.raises(CheckpointError, match=r"has no EMA state, but an EMA \(decay 0.9\)"):
        load_checkpoint(path, b, ema=EMA(b, 0.9))
    with_ema = save_checkpoint(tmp_path / "ema.pt", a, ema=EMA(a, 0.9))
    with pytest.raises(CheckpointError, match="holds an EMA with decay 0.9, but one with decay 0.5"):
        load_checkpoint(with_ema, b, ema=EMA(b, 0.5))
    assert torch.equal(b.g.weight, before)
