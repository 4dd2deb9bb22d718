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
