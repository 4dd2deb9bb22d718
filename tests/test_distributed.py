"""Data-parallel training: two CPU processes (gloo) under torchrun give the losses and weights of
one process trained on the same global batches, for models without batch statistics.

The module starts `python -m torch.distributed.run --standalone --nproc_per_node=2` on this file
once (a free port is chosen by the rendezvous; CUDA is hidden, so the backend is gloo), with a
timeout after which the whole process group is killed, so it can never hang CI (the workers,
which torchrun puts in sessions of their own, exit by themselves 30 s before it). Each process
trains two models on half of every global batch of 16 (the loader's batch size is the global
batch; `train` splits it), in float64: one through DDP (the default step), one with its own
two-optimiser step whose `ctx.backward` averages the gradients. Rank 0 alone writes the
checkpoints; then rank 0 alone fails to write one, and both must stop. Then both processes
run scripts/train_ddp.py's `main` for a few steps. The
single-process reference runs here, with a `DistributedSampler` of one replica, so that it
sees the same global batches in the same order.

Tolerance: float64, rtol 1e-9 and atol 1e-12 on every per-step loss and every final weight (the
only difference is the order of summation: the mean of two half-batch gradients against the
gradient of the full-batch mean).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(),
                                reason="this PyTorch build has no torch.distributed")

ROOT = Path(__file__).resolve().parents[1]
N, GLOBAL_BATCH, EPOCHS, TIMEOUT_S = 64, 16, 2, 300
RTOL, ATOL = 1e-9, 1e-12
OPTIONS = dict(epochs=EPOCHS, lr=0.05, seed=0, device="cpu", progress=False,
               warmup_steps=2, lr_schedule="cosine", ema_decay=0.5, grad_clip=1.0)


class Regressor(nn.Module):
    """A small MLP regression in float64: no BatchNorm, no dropout, no noise in the loss."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).double()

    def loss(self, batch):
        x, y = batch
        mse = ((self.net(x).squeeze(1) - y) ** 2).mean()
        return {"loss": mse, "half": mse / 2}


class TwoPlayer(nn.Module):
    """A noise-free GAN-like toy with two optimisers and its own step: its gradients are averaged by ctx.backward."""

    def __init__(self):
        super().__init__()
        self.G = nn.Linear(4, 4).double()
        self.D = nn.Linear(4, 1).double()

    def configure_optimizers(self, lr):
        return {"generator": torch.optim.Adam(self.G.parameters(), lr=lr),
                "discriminator": torch.optim.Adam(self.D.parameters(), lr=lr)}

    def d_loss(self, x):
        return nn.functional.softplus(-self.D(x)).mean() + nn.functional.softplus(self.D(self.G(x).detach())).mean()

    def g_loss(self, x):
        return nn.functional.softplus(-self.D(self.G(x))).mean()

    def loss(self, batch):
        d, g = self.d_loss(batch[0]), self.g_loss(batch[0])
        return {"loss": d + g, "d_loss": d, "g_loss": g}

    def training_step(self, batch, optimizers, step, ctx):
        x = batch[0]
        for name, loss_fn in (("discriminator", self.d_loss), ("generator", self.g_loss)):
            ctx.zero_grad(optimizers[name])
            loss = loss_fn(x)
            ctx.backward(loss, optimizers[name], name=name)
            ctx.step(optimizers[name])
        return self.loss(batch)


def dataset():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, 4, generator=g, dtype=torch.float64)
    y = torch.sin(x.sum(1)) + 0.1 * torch.randn(N, generator=g, dtype=torch.float64)
    return torch.utils.data.TensorDataset(x, y)


def models():
    torch.manual_seed(0)
    return {"ddp": Regressor(), "custom": TwoPlayer()}


def _worker(out: str) -> None:
    """One of the torchrun processes: train both models on its half of each global batch, then
    run scripts/train_ddp.py's `main` in the same process group (one start-up for both tests)."""
    import faulthandler
    import importlib.util

    import torch.distributed as dist

    from coursekit.training import init_distributed, loop, train

    # torchrun starts its workers in sessions of their own, out of reach of run_torchrun's kill: a worker
    # stuck in a collective dumps every thread's stack and exits by itself, before run_torchrun gives up
    faulthandler.dump_traceback_later(TIMEOUT_S - 30, exit=True)

    assert init_distributed() == torch.device("cpu") and dist.get_backend() == "gloo"   # CUDA is hidden
    rank = dist.get_rank()
    saves = []
    real_save = loop.save_checkpoint
    loop.save_checkpoint = lambda *a, **k: (saves.append(rank), real_save(*a, **k))[1]
    results = {}
    for name, model in models().items():
        loader = torch.utils.data.DataLoader(dataset(), batch_size=GLOBAL_BATCH, shuffle=True,
                                             generator=torch.Generator().manual_seed(0))
        history = train(model, loader, checkpoint_path=f"{out}/{name}.pt", **OPTIONS)
        results[name] = {"steps": history.steps, "rounds": history.rounds,
                         "weights": model.state_dict(), "ema": history.ema.model.state_dict()}
    results["saves"] = saves

    def full_disk(*args, **kwargs):          # rank 0 alone writes: its failure must stop every rank
        raise OSError("No space left on device")

    loop.save_checkpoint = full_disk
    try:                                      # fails after epoch 1 of 2: the others must not step on into epoch 2
        train(models()["ddp"], torch.utils.data.DataLoader(dataset(), batch_size=GLOBAL_BATCH),
              checkpoint_path=f"{out}/full.pt", epochs=2, lr=0.05, device="cpu", progress=False)
        results["failure"] = None
    except Exception as err:                  # noqa: BLE001 - reported to the test
        results["failure"] = [type(err).__name__, str(err)]
    loop.save_checkpoint = real_save
    torch.save(results, f"{out}/rank{rank}.pt")
    spec = importlib.util.spec_from_file_location("train_ddp", ROOT / "scripts" / "train_ddp.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(["--steps", "4", "--batch-size", "50", "--hidden", "16", "--latent-dim", "2", "--ema-decay", "0.9",
                 "--out", f"{out}/vae.pt"])             # ends by destroying the process group


def reference(model):
    """One process on the same global batches: a DistributedSampler with one replica orders them alike."""
    from coursekit.training import train

    data = dataset()
    sampler = torch.utils.data.DistributedSampler(data, num_replicas=1, rank=0, shuffle=True, seed=0)
    loader = torch.utils.data.DataLoader(data, batch_size=GLOBAL_BATCH, sampler=sampler)
    history = train(model, loader, distributed=False, **OPTIONS)
    return history, model


def run_torchrun(*script_and_args: str) -> str:
    """Run `torchrun --standalone --nproc_per_node=2 script args` (CPU, gloo); its output."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *script_and_args]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)          # the launcher and both workers
        output, _ = proc.communicate()
        pytest.fail(f"torchrun did not finish within {TIMEOUT_S} s; its output:\n{output[-4000:]}")
    assert proc.returncode == 0, f"torchrun failed (exit {proc.returncode}):\n{output[-4000:]}"
    return output


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """Both workers' results, and torchrun's output: one launch for the whole module."""
    out = tmp_path_factory.mktemp("ddp")
    return out, run_torchrun(__file__, str(out))


def test_two_processes_match_one_process_on_the_same_global_batches(launched):
    tmp_path, _ = launched
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert ranks[0]["saves"] == [0] * EPOCHS * 2 and ranks[1]["saves"] == []   # only rank 0 writes (2 models)
    for name, model in models().items():
        history, trained = reference(model)
        steps_per_epoch = N // GLOBAL_BATCH
        for rank in ranks:
            got = rank[name]
            assert len(got["steps"]["loss"]) == EPOCHS * steps_per_epoch
            for key, values in history.steps.items():      # the logged losses are averaged over the ranks
                torch.testing.assert_close(torch.tensor(got["steps"][key], dtype=torch.float64),
                                           torch.tensor(values, dtype=torch.float64), rtol=RTOL, atol=ATOL,
                                           msg=lambda m: f"{name} {key}: {m}")
            for key in ("train/loss", "epoch", "step"):
                torch.testing.assert_close(torch.tensor(got["rounds"][key], dtype=torch.float64),
                                           torch.tensor(history.rounds[key], dtype=torch.float64), rtol=RTOL, atol=ATOL)
            for key, value in trained.state_dict().items():
                torch.testing.assert_close(got["weights"][key], value, rtol=RTOL, atol=ATOL)
                torch.testing.assert_close(got["ema"][key], history.ema.model.state_dict()[key], rtol=RTOL, atol=ATOL)
        assert (tmp_path / f"{name}.pt").is_file()


def test_a_failure_on_rank_0_alone_stops_every_rank(launched):
    """Rank 0 cannot write its checkpoint: it raises its OSError, and rank 1, instead of waiting
    for it in the next step's all-reduce, raises a RuntimeError that says so."""
    tmp_path, _ = launched
    failures = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True)["failure"] for r in range(2)]
    assert failures[0] == ["OSError", "No space left on device"]
    assert failures[1][0] == "RuntimeError"
    assert failures[1][1].startswith("rank 0 failed to write the checkpoint ")
    assert "(OSError: No space left on device); rank 1 stops too" in failures[1][1]


def test_the_script_trains_the_vae_on_two_processes(launched):
    from coursekit.checkpoint import load_checkpoint
    from coursekit.models import VAE

    tmp_path, output = launched
    out = tmp_path / "vae.pt"
    assert "trained on 2 process(es), 1 rounds, 4 steps; val/loss" in output
    assert output.count("trained on") == 1                       # rank 0 alone reports
    assert load_checkpoint(out, VAE(latent_dim=2, hidden=16))["step"] == 4


if __name__ == "__main__":
    _worker(sys.argv[1])
