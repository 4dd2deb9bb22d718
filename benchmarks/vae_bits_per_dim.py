"""Lecture 02's VAE on the digits: test bits/dim of the −ELBO and of the IWAE bound, over seeds.

Trains the default `VAE()` (categorical decoder over the 17 levels, latent 16, two hidden
layers of 512 ELU units with dropout 0.5 each way; Adam 1e-3, batches of 64, at most 300
epochs with early stopping on the validation ELBO, patience 50, best weights kept) once per
seed on the 1000 training digits, then estimates on the 447 test digits

    −ELBO      with 100 samples of z per image for E_q[log p(x|z)] and the closed-form KL,
    −IWAE-k    log (1/k) Σ_s p(x|z_s) p(z_s) / q(z_s|x), k = 1000 importance samples per image,

in bits/dim (nats / (64 ln 2)). Both are bounds: −IWAE-1000 is the tighter one, the number to
compare with other models. Reference points: uniform 4.087, the floor model 2.398, and
Tomczak's intro_dgm VAE on the same split, −ELBO 2.178 and IWAE-1000 2.107.

    python benchmarks/vae_bits_per_dim.py                    # seeds 0, 1, 2 (a few minutes on 2 cores)
    python benchmarks/vae_bits_per_dim.py --seeds 0 --epochs 100 --hidden 256 --dropout 0.2   # the lecture's run

The training time is wall-clock on this machine; on a shared CPU it can be inflated.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from coursekit import data, evaluation
from coursekit.models import VAE, VAEConfig
from coursekit.training import train


def run(seed: int, args: argparse.Namespace) -> dict[str, float]:
    splits = data.digits()
    loaders = data.loaders(splits, batch_size=args.batch_size, seed=seed)
    torch.manual_seed(seed)
    config = VAEConfig(latent_dim=args.latent, hidden=args.hidden, dropout=args.dropout)
    model = VAE(config)
    start = time.perf_counter()
    history = train(model, loaders["train"], val_data=loaders["val"], epochs=args.epochs, patience=args.patience,
                    lr=args.lr, seed=seed, device=args.device, progress=False)
    seconds = time.perf_counter() - start
    model.eval()
    x = splits.test.x.to(model.device)
    with torch.no_grad():
        elbo = model.elbo(x, samples=100, generator=torch.Generator().manual_seed(seed))
        start = time.perf_counter()
        iwae = model.iwae_bound(x, k=args.k, generator=torch.Generator().manual_seed(seed))
        iwae_seconds = time.perf_counter() - start
    bpd = lambda log_p: float(evaluation.bits_per_dim(-log_p.mean().item(), splits.test.dims))  # noqa: E731
    return {"seed": seed, "elbo_bpd": bpd(elbo), "iwae_bpd": bpd(iwae), "train_s": seconds, "iwae_s": iwae_seconds,
            "epochs": len(history["epoch"]), "best_epoch": (history.best_round or 0) + 1}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = VAEConfig()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=300, help="at most; early stopping usually ends sooner")
    parser.add_argument("--patience", type=int, default=50)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent", type=int, default=defaults.latent_dim)
    parser.add_argument("--hidden", type=int, default=defaults.hidden)
    parser.add_argument("--dropout", type=float, default=defaults.dropout)
    parser.add_argument("--k", type=int, default=1000, help="importance samples of the IWAE bound")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (small models: 1 is fastest)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    print(f"VAE(latent_dim={args.latent}, hidden={args.hidden}, dropout={args.dropout}), at most {args.epochs} epochs, "
          f"patience {args.patience}; IWAE with k = {args.k}; {torch.get_num_threads()} thread(s)", flush=True)
    print(f"{'seed':>4s} {'−ELBO bpd':>10s} {f'IWAE-{args.k} bpd':>14s} {'epochs':>7s} {'best':>5s} {'train s':>8s} "
          f"{'IWAE s':>7s}", flush=True)
    rows = []
    for seed in args.seeds:
        r = run(seed, args)
        rows.append(r)
        print(f"{r['seed']:4d} {r['elbo_bpd']:10.4f} {r['iwae_bpd']:14.4f} {r['epochs']:7d} {r['best_epoch']:5d} "
              f"{r['train_s']:8.1f} {r['iwae_s']:7.1f}", flush=True)
    for key, name in (("elbo_bpd", "−ELBO"), (f"iwae_bpd", f"IWAE-{args.k}"), ("train_s", "train s")):
        values = [r[key] for r in rows]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"{name:>10s}: mean {statistics.mean(values):.4f}, std {spread:.4f}, min {min(values):.4f}, "
              f"max {max(values):.4f}", flush=True)
    print("reference: uniform 4.087, floor 2.398; intro_dgm VAE −ELBO 2.178, IWAE-1000 2.107 bits/dim")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
