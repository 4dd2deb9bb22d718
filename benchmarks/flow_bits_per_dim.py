"""Lecture 06's RealNVP on the digits: test bits/dim of the dequantised bound and training time, over seeds.

Trains the default `RealNVP` (`RealNVPConfig`'s defaults: logit, 4 checkerboard affine couplings with
ActNorm, squeeze, 4 × [ActNorm, LU 1×1 conv, channel coupling], 32 hidden channels) once per seed on the
1000 training digits (17 levels) with `coursekit.training.train` (Adam, batches of 64, lr 3e-3, at most
20 epochs, early stopping on the validation bound with patience 5, best weights kept), with uniform
and with variational dequantisation, and prints the test bound in bits/dim. The number is an **upper
bound** on the discrete −log₂ P(x) per dimension (−E_q[log p((x+u)/K) − log q(u|x)] + D log K,
`RealNVP.nll_bound`), estimated with `--draws` noise draws per test image; it stands beside the
autoregressive models' exact bits/dim (`benchmarks/ar_bits_per_dim.py`), the uniform model (log2 17 =
4.087) and the per-pixel floor (2.398).

    python benchmarks/flow_bits_per_dim.py            # seeds 0, 1, 2; uniform and variational
    python benchmarks/flow_bits_per_dim.py --quick    # seed 0 only
    python benchmarks/flow_bits_per_dim.py --models multiscale additive logistic conditional

Times are wall-clock on this machine; on a shared CPU they can be inflated.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from coursekit import data, evaluation
from coursekit.models.realnvp import RealNVP
from coursekit.training import train

MODELS: dict[str, tuple[str, dict]] = {
    "uniform": ("RealNVP, uniform dequantisation", {}),
    "variational": ("RealNVP, variational dequant.", dict(dequantization="variational")),
    "multiscale": ("RealNVP, multi-scale, uniform", dict(multiscale=True)),
    "additive": ("NICE-style additive, uniform", dict(coupling="additive")),
    "logistic": ("RealNVP, logistic base, uniform", dict(base="logistic")),
    "conditional": ("RealNVP | y (class-conditional)", dict(classes=10)),
}
"""key → (the name printed, RealNVP's keyword arguments)."""
DEFAULT_MODELS = ("uniform", "variational")


def test_bound(model: RealNVP, split, draws: int) -> float:
    """The test split's mean bound in nats per example, averaged over `draws` noise draws per image."""
    x, y = split.x.to(model.device), split.y.to(model.device)
    labels = y if model.config.classes else None
    with torch.no_grad():
        return torch.stack([model.nll_bound(x, labels) for _ in range(draws)]).mean().item()


def run(key: str, seed: int, splits: data.Splits, args: argparse.Namespace) -> dict[str, float]:
    loaders = data.loaders(splits, batch_size=args.batch_size, seed=seed)
    torch.manual_seed(seed)
    model = RealNVP(shape=tuple(splits.train.x.shape[1:]), levels=splits.train.levels, **MODELS[key][1])
    start = time.perf_counter()
    history = train(model, loaders["train"], val_data=loaders["val"], seed=seed, device=args.device, progress=False,
                    lr=args.lr, epochs=args.epochs, patience=args.patience)
    seconds = time.perf_counter() - start
    model.eval()
    torch.manual_seed(seed)
    nats = test_bound(model, splits.test, args.draws)
    return {"bpd": float(evaluation.bits_per_dim(nats, splits.test.dims)), "seconds": seconds,
            "epochs": len(history["epoch"]), "best": (history.best_round or 0) + 1,
            "params": sum(p.numel() for p in model.parameters())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="one seed (0)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--draws", type=int, default=10, help="noise draws per test image for the bound")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (small models: 1 is fastest)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    if args.quick:
        args.seeds = [0]
    torch.set_num_threads(args.threads)

    splits = data.digits()
    floor = evaluation.floor_bits_per_dim(splits.train, splits.test)
    print(f"digits (1, 8, 8), 17 levels: test split, dequantised upper bound on bits/dim ({args.draws} draws per "
          f"image); batch {args.batch_size}, lr {args.lr:g}, epochs {args.epochs}, patience {args.patience}; "
          f"seeds {args.seeds}; {torch.get_num_threads()} thread(s)", flush=True)
    print(f"{'model':32s} {'params':>7s} {'seed':>4s} {'bound bpd':>9s} {'epochs':>7s} {'best':>5s} {'train s':>8s}",
          flush=True)
    summary = []
    for key in args.models:
        name, rows = MODELS[key][0], []
        for seed in args.seeds:
            r = run(key, seed, splits, args)
            rows.append(r)
            print(f"{name:32s} {r['params']:7d} {seed:4d} {r['bpd']:9.4f} {r['epochs']:7d} {r['best']:5d} "
                  f"{r['seconds']:8.1f}", flush=True)
        bpd, secs = [r["bpd"] for r in rows], [r["seconds"] for r in rows]
        summary.append((name, statistics.mean(bpd), statistics.stdev(bpd) if len(bpd) > 1 else 0.0,
                        statistics.mean(secs), bpd))
    print(f"\n{'model':32s} {'mean bpd':>9s} {'std':>7s} {'mean s':>7s}  per seed (upper bounds)")
    print(f"{'uniform over 17 levels':32s} {evaluation.uniform_bits_per_dim(splits.test.levels):9.4f}")
    print(f"{'per-pixel floor':32s} {floor:9.4f}")
    for name, mean, std, secs, bpd in summary:
        print(f"{name:32s} {mean:9.4f} {std:7.4f} {secs:7.1f}  " + " ".join(f"{b:.4f}" for b in bpd))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
