"""Lecture 04d's VQ-VAE on the digits: the one-code bound on −log p(x) in bits/dim, its two terms, code use, time.

Per seed, on the 1000 training digits with `coursekit.training.train` (Adam, batches of 64):

1. the VQ-VAE (`VQVAE`, categorical decoder over the 17 levels) for a fixed `--epochs` (its validation "loss"
   holds the commitment term, which grows as the encoder spreads its outputs, so it is no stopping rule;
   the last weights are kept);
2. the prior, a PixelCNN with one-hot inputs over the (1, h, w) code grids of the training digits
   (`code_splits`), with early stopping on the validation codes' NLL (`--patience`, best weights kept);

then prints, on the 447 test digits,

    recon     −log p(x | k(x)) in bits/dim (the decoder's code length given the code grid),
    prior     −log p(k(x)) in bits per image (the uniform prior's hw·log2 M beside it),
    bound     (recon + prior) / (64 ln 2): an upper bound on −log p(x) of the model Σ_k p(k) p(x | k),
              bits/dim; "uniform" is the same bound under the uniform prior,
    perplexity of the test codes (of M) and the dead codes restarted during training, and the seconds
    each stage trained.

Reference points: uniform 4.087, the per-pixel floor 2.398 (`evaluation.floor_bits_per_dim`), and the masked
PixelCNN's exact 1.873 on the pixels (benchmarks/ar_bits_per_dim.py, seed 0; quoted, not rerun here).

    python benchmarks/vq_vae_bits_per_dim.py            # seeds 0, 1, 2
    python benchmarks/vq_vae_bits_per_dim.py --quick    # seed 0 only
    python benchmarks/vq_vae_bits_per_dim.py --downsample 2 --codes 64   # a 2×2 grid of 64 codes

Times are wall-clock on this machine; on a shared CPU they can be inflated.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from coursekit import data, evaluation
from coursekit.models.made import MADE
from coursekit.models.pixelcnn import PixelCNN
from coursekit.models.vq_vae import VQVAE, VQVAEConfig, code_splits
from coursekit.training import train

PIXELCNN_EXACT = 1.873
"""The masked PixelCNN's exact test bits/dim on the digits (benchmarks/ar_bits_per_dim.py, seed 0)."""


def make_prior(args: argparse.Namespace, grid: tuple[int, int], codes: int):
    """The prior over (1, h, w) code grids with M levels: a one-hot PixelCNN (7×7 mask A; 3×3 on a grid of
    at most 3×3, where 7×7 is all padding), or a MADE (scaled inputs: the only kind it takes)."""
    if args.prior == "made":
        return MADE(shape=(1, *grid), levels=codes, hidden_sizes=(args.prior_channels * 8,))
    return PixelCNN(shape=(1, *grid), levels=codes, inputs="one_hot", channels=args.prior_channels,
                    head=args.prior_channels, layers=args.prior_layers, first_kernel=3 if max(grid) <= 3 else 7)


def run(seed: int, splits: data.Splits, args: argparse.Namespace) -> dict[str, float]:
    loaders = data.loaders(splits, batch_size=args.batch_size, seed=seed)
    torch.manual_seed(seed)
    vq = VQVAE(downsample=args.downsample, codes=args.codes, code_dim=args.code_dim, channels=args.channels)
    start = time.perf_counter()
    train(vq, loaders["train"], val_data=loaders["val"], epochs=args.epochs, lr=args.lr, seed=seed,
          device=args.device, restore_best=False, progress=False)
    vq_seconds = time.perf_counter() - start

    codes = code_splits(vq.eval(), splits)                             # (N, 1, h, w) code grids, levels M
    code_loaders = data.loaders(codes, batch_size=args.batch_size, seed=seed)
    torch.manual_seed(seed)
    prior = make_prior(args, vq.grid, args.codes)
    start = time.perf_counter()
    train(prior, code_loaders["train"], val_data=code_loaders["val"], epochs=args.prior_epochs,
          patience=args.patience, lr=args.prior_lr, seed=seed, device=args.device, progress=False)
    prior_seconds = time.perf_counter() - start

    x = splits.test.x.to(vq.device)
    with torch.no_grad():
        recon, uniform = vq.nll_bound_parts(x)                         # (N,) nats each, under the uniform prior
        vq.attach_prior(prior.eval())
        recon_again, prior_nll = vq.nll_bound_parts(x)
    assert torch.equal(recon, recon_again)                             # a prior changes the second term only
    D, ln2 = splits.test.dims, math.log(2)
    return {"recon_bpd": float(evaluation.bits_per_dim(recon.mean().item(), D)),
            "prior_bits": prior_nll.mean().item() / ln2, "uniform_bits": uniform.mean().item() / ln2,
            "bound_bpd": float(evaluation.bits_per_dim((recon + prior_nll).mean().item(), D)),
            "uniform_bpd": float(evaluation.bits_per_dim((recon + uniform).mean().item(), D)),
            "perplexity": vq.perplexity(x), "restarts": int(vq.restarts), "vq_s": vq_seconds,
            "prior_s": prior_seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = VQVAEConfig()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="one seed (0)")
    parser.add_argument("--downsample", type=int, default=defaults.downsample, help="1: a 4×4 grid, 2: 2×2")
    parser.add_argument("--codes", type=int, default=defaults.codes, help="M, the codebook size")
    parser.add_argument("--code-dim", type=int, default=defaults.code_dim, help="d, the length of a code")
    parser.add_argument("--channels", type=int, default=defaults.channels)
    parser.add_argument("--epochs", type=int, default=25, help="VQ-VAE epochs (fixed: no early stopping)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--prior", choices=("pixelcnn", "made"), default="pixelcnn")
    parser.add_argument("--prior-channels", type=int, default=32)
    parser.add_argument("--prior-layers", type=int, default=2)
    parser.add_argument("--prior-epochs", type=int, default=60, help="at most; early stopping usually ends sooner")
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--prior-lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (small models: 1 is fastest)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    if args.quick:
        args.seeds = [0]
    torch.set_num_threads(args.threads)

    splits = data.digits()
    h, w = VQVAEConfig(downsample=args.downsample).grid
    print(f"digits test split; VQ-VAE {h}×{w} grid of M = {args.codes} codes of d = {args.code_dim}, {args.channels} "
          f"channels, {args.epochs} epochs, lr {args.lr}; prior {args.prior} (at most {args.prior_epochs} epochs, "
          f"patience {args.patience}); seeds {args.seeds}; {torch.get_num_threads()} thread(s)", flush=True)
    print(f"{'seed':>4s} {'recon bpd':>9s} {'prior bits':>10s} {'uniform':>8s} {'bound bpd':>9s} {'unif bpd':>8s} "
          f"{'perplex':>7s} {'restarts':>8s} {'vq s':>6s} {'prior s':>7s}", flush=True)
    rows = []
    for seed in args.seeds:
        r = run(seed, splits, args)
        rows.append(r)
        print(f"{seed:4d} {r['recon_bpd']:9.4f} {r['prior_bits']:10.2f} {r['uniform_bits']:8.2f} {r['bound_bpd']:9.4f} "
              f"{r['uniform_bpd']:8.4f} {r['perplexity']:7.2f} {r['restarts']:8d} {r['vq_s']:6.1f} "
              f"{r['prior_s']:7.1f}", flush=True)

    def mean_std(key: str) -> str:
        values = [r[key] for r in rows]
        return f"{statistics.mean(values):.4f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.4f}"

    print(f"\nmean over seeds {args.seeds}:")
    print(f"  VQ-VAE bound (bits/dim, an upper bound)  {mean_std('bound_bpd')}   per seed "
          + ", ".join(f"{r['bound_bpd']:.4f}" for r in rows))
    print(f"    its recon term (bits/dim)              {mean_std('recon_bpd')}")
    print(f"    its prior term (bits per image)        {mean_std('prior_bits')}")
    print(f"    under the uniform prior (bits/dim)     {mean_std('uniform_bpd')}")
    print(f"  seconds: VQ-VAE {statistics.mean(r['vq_s'] for r in rows):.1f}, "
          f"prior {statistics.mean(r['prior_s'] for r in rows):.1f}")
    print(f"  uniform over 17 levels                   {evaluation.uniform_bits_per_dim(splits.test.levels):.4f}")
    print(f"  per-pixel floor                          "
          f"{evaluation.floor_bits_per_dim(splits.train, splits.test):.4f}")
    print(f"  PixelCNN, exact (ar_bits_per_dim.py)     {PIXELCNN_EXACT:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
