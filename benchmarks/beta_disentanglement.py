"""Lecture 03's β-VAEs on sprites: MIG, rate and distortion for each β, mean and spread over seeds.

Trains lecture 03's model once per (β, seed) — a Bernoulli VAE with 10 latents, two hidden
layers of 256 ELU units each way, no dropout; Adam 2e-3, batches of 128, 12 epochs, the
best validation epoch kept — on the 6,144 training sprites (32×32, every combination of
shape, scale, rotation, x and y), then measures

    MIG      the Mutual Information Gap of the encoder means μ(x) on all 7,680 sprites
             (20 equal-width bins per latent), coursekit.evaluation.mig, counting only the
             active latents (mean KL above 0.05 nats: `active_latents`); "MIG all" counts
             every latent, as Chen et al. do, switched-off ones included
    R, D     rate E KL(q(z|x) ‖ p(z)) and distortion −E log p(x|z) on the 768 test sprites,
             nats per image (D from one reparameterised draw)
    active   latent dimensions whose mean KL exceeds 0.05 nats

and prints one row per run, then the mean ± sample standard deviation of each β over seeds,
and whether the mean MIG (active latents) of every β > 1 exceeds that of β = 1 by more than
the spread (exit status 1 if not).
The seed sets both the initial weights and the order of the batches; the data split is fixed.

    python benchmarks/beta_disentanglement.py                         # β 1, 2, 4, 8 × seeds 0, 1, 2: 12 models
    python benchmarks/beta_disentanglement.py --betas 0.5 1 8 --seeds 0 1 2 3 4 --epochs 40

The times are wall-clock on this machine; on a shared CPU they can be inflated: the default run took
6 min on a busy 2-core machine (18–61 s per model; about 8 s per model with the CPU to itself).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from coursekit import data, evaluation
from coursekit.data import sprites
from coursekit.models import VAE
from coursekit.evaluation.disentanglement import active_latents
from coursekit.training import train


def run(beta: float, seed: int, splits: data.Splits, args: argparse.Namespace) -> dict[str, float]:
    loaders = data.loaders(splits, batch_size=args.batch_size, seed=seed)
    torch.manual_seed(seed)
    model = VAE(shape=tuple(splits.train.x.shape[1:]), decoder="bernoulli", latent_dim=args.latent,
                hidden=args.hidden, dropout=0.0, beta_kl=beta)
    start = time.perf_counter()
    train(model, loaders["train"], val_data=loaders["val"], epochs=args.epochs, lr=args.lr, seed=seed,
          device=args.device, progress=False)
    seconds = time.perf_counter() - start
    x_all = torch.cat([s.x for s in splits]).to(model.device)
    factors = torch.cat([s.factors for s in splits])
    with torch.no_grad():
        mu, log_var = model.encode(x_all)
        R, D = model.rate_distortion(splits.test.x.to(model.device),
                                     generator=torch.Generator(model.device).manual_seed(seed))
    active = active_latents(mu, log_var).cpu()
    mig = evaluation.mig_details(mu.cpu(), factors, bins=args.bins, active=active)
    return {"beta": beta, "seed": seed, "mig": mig.score, "mig_all": mig.on_all_latents().score,
            "rate": float(R.mean()), "distortion": float(D.mean()), "active": int(active.sum()),
            "train_s": seconds}


def mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--betas", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--latent", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--bins", type=int, default=20)
    parser.add_argument("--size", type=int, default=32, help="sprite side in pixels")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest for these small nets)")
    args = parser.parse_args()
    if 1.0 not in args.betas:
        parser.error(f"--betas must include 1 (the baseline every other β is compared with), got {args.betas}")
    torch.set_num_threads(args.threads)
    splits = sprites.sprites(size=args.size, seed=0)
    print(f"torch {torch.__version__}; sprites {[len(s) for s in splits]} of size {args.size}; β {args.betas}, "
          f"seeds {args.seeds}, {args.epochs} epochs", flush=True)
    print(f"{'β':>5} {'seed':>4} {'MIG':>6} {'MIG all':>7} {'rate':>7} {'distortion':>10} {'active':>6} {'train s':>8}",
          flush=True)
    results: dict[float, list[dict[str, float]]] = {}
    for beta in args.betas:
        for seed in args.seeds:
            r = run(beta, seed, splits, args)
            results.setdefault(beta, []).append(r)
            print(f"{beta:>5g} {seed:>4} {r['mig']:>6.3f} {r['mig_all']:>7.3f} {r['rate']:>7.2f} {r['distortion']:>10.2f} "
                  f"{r['active']:>6} {r['train_s']:>8.1f}", flush=True)
    print(f"\nmean ± sd over {len(args.seeds)} seeds")
    print(f"{'β':>5} {'MIG':>15} {'MIG all':>15} {'rate (nats)':>15} {'distortion':>15} {'active':>11}")
    for beta, rows in results.items():
        cols = [mean_sd([r[key] for r in rows]) for key in ("mig", "mig_all", "rate", "distortion", "active")]
        print(f"{beta:>5g} " + " ".join(f"{m:>8.3f} ± {s:<5.3f}" if i < 2 else f"{m:>8.2f} ± {s:<5.2f}"
                                      for i, (m, s) in enumerate(cols)))
    base_mean, base_sd = mean_sd([r["mig"] for r in results[1.0]])
    ok = True
    for beta, rows in results.items():
        if beta <= 1.0:
            continue
        m, s = mean_sd([r["mig"] for r in rows])
        above = m - base_mean > max(s, base_sd)
        ok &= above
        print(f"β = {beta:g}: mean MIG {m:.3f} vs β = 1: {base_mean:.3f} (+{m - base_mean:.3f}; "
              f"{'more' if above else 'NOT more'} than the larger spread {max(s, base_sd):.3f})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
