"""Lecture 04's pixel-by-pixel models on the digits: exact test bits/dim and training time, over seeds.

Trains FVSBN, NADE, MADE (256 units with direct connections: one ordering with an L2 penalty, and
order-agnostic with an 8-ordering ensemble, as in lecture 04a), the masked PixelCNN, the gated PixelCNN and WaveNet (and, with `--models gpt`, lecture 05's pixel GPT) (the configurations in MODELS, over the 17 grey levels, scaled inputs) once
per seed on the 1000 training digits with `coursekit.training.train` (Adam, batches of 64, at most `--epochs`
epochs, early stopping on the validation NLL with `--patience`, best weights kept; lr 3e-3, 200 epochs and
patience 10 unless the model's entry in TRAINING says otherwise or the command line sets them), then prints
each model's exact test NLL in bits/dim (`coursekit.evaluation.bits_per_dim`, −log p(x) by the
chain rule: no bound) and its training seconds, beside the uniform model (log2 K: 4.087 for 17 levels) and
the per-pixel floor (2.398, `evaluation.floor_bits_per_dim`).

`--colour` trains on `data.colour_digits()` instead: (3, 8, 8) images, 4 levels per channel, modelled in the
order R → G → B within each pixel (the masked PixelCNN with colour groups; FVSBN, NADE and MADE in raster order
of (C, H, W)); the gated PixelCNN is grey only.

    python benchmarks/ar_bits_per_dim.py              # seeds 0, 1, 2
    python benchmarks/ar_bits_per_dim.py --quick      # seed 0 only
    python benchmarks/ar_bits_per_dim.py --models pixelcnn gated                      # masked vs gated
    python benchmarks/ar_bits_per_dim.py --colour --quick                             # colour digits, PixelCNN
    python benchmarks/ar_bits_per_dim.py --models fvsbn-one-hot nade-one-hot made-16   # the other variants

Times are wall-clock on this machine; on a shared CPU they can be inflated.
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch

from coursekit import data, evaluation
from coursekit.models import FVSBN, MADE, NADE, Autoregressive, PixelCNN
from coursekit.models.gated_pixelcnn import GatedPixelCNN
from coursekit.models.gpt import GPT
from coursekit.models.wavenet import WaveNet
from coursekit.training import train


MODELS: dict[str, tuple[str, Callable[..., Autoregressive]]] = {
    "fvsbn": ("FVSBN", lambda **d: FVSBN(**d)),
    "fvsbn-one-hot": ("FVSBN (one-hot inputs)", lambda **d: FVSBN(inputs="one_hot", **d)),
    "nade": ("NADE (H = 128)", lambda **d: NADE(hidden=128, **d)),
    "nade-one-hot": ("NADE (H = 128, one-hot inputs)", lambda **d: NADE(hidden=128, inputs="one_hot", **d)),
    "made": ("MADE (1024, one ordering)", lambda **d: MADE(hidden_sizes=(1024,), **d)),
    "made-8": ("MADE (1024, 8 orderings)", lambda **d: MADE(hidden_sizes=(1024,), orderings=8, **d)),
    "made-16": ("MADE (1024, 16 orderings)", lambda **d: MADE(hidden_sizes=(1024,), orderings=16, **d)),
    "made-512-512-8": ("MADE (512-512, 8 orderings)", lambda **d: MADE(hidden_sizes=(512, 512), orderings=8, **d)),
    "made-direct": ("MADE (256, direct, one ordering)",
                    lambda **d: MADE(hidden_sizes=(256,), direct=True, **d)),
    "made-direct-no-l2": ("MADE (256, direct, one ordering, no L2)",
                          lambda **d: MADE(hidden_sizes=(256,), direct=True, **d)),
    "made-direct-8": ("MADE (256, direct, 8 orderings)",
                      lambda **d: MADE(hidden_sizes=(256,), direct=True, orderings=8, **d)),
    "pixelcnn": ("PixelCNN (7×7 A, 4 blocks of 64)", lambda **d: PixelCNN(**d)),
    "pixelcnn-32": ("PixelCNN (7×7 A, 4 blocks of 32)", lambda **d: PixelCNN(channels=32, head=32, **d)),
    "gated": ("Gated PixelCNN (default)", lambda **d: GatedPixelCNN(**d)),
    "wavenet": ("WaveNet (default)", lambda **d: WaveNet(**d)),
    "gpt": ("GPT (default)", lambda **d: GPT(**d)),
    "gpt-sinusoidal": ("GPT (sinusoidal positions)", lambda **d: GPT(positions="sinusoidal", **d)),
    "gpt-no-positions": ("GPT (no positions)", lambda **d: GPT(positions="none", **d)),
    "gpt-attention-dropout": ("GPT (dropout 0.1 on the attention weights too)",
                              lambda **d: GPT(attention_dropout=0.1, **d)),
}
"""key → (the name printed, a builder taking the data's shape and levels)."""
TRAINING: dict[str, dict] = {
    "fvsbn": dict(lr=1e-2),                   # linear: at 3e-3 it needs about 200 epochs (lecture 04a's FVSBN_LR)
    "made-direct": dict(weight_decay=1e-2),   # one ordering overfits 1000 digits without an L2 penalty (lecture 04a)
    "gated": dict(lr=3e-3, epochs=200, patience=5),
    "gpt": dict(patience=5),                  # dropout keeps it improving slowly: patience 10 adds ~15 epochs
    "gpt-sinusoidal": dict(patience=5),       # for 0.004 bits/dim (seed 0: 1.909 vs 1.913)
    "gpt-no-positions": dict(patience=5),
    "gpt-attention-dropout": dict(patience=5),
}
"""key → the training settings a model was tuned with (lr, epochs, patience, weight_decay), where they differ from
the defaults; weight_decay is not on the command line."""
DEFAULTS = dict(lr=3e-3, epochs=200, patience=10)
DEFAULT_MODELS = ("fvsbn", "nade", "made-direct", "made-direct-8", "pixelcnn", "gated", "wavenet")
COLOUR_MODELS = ("pixelcnn",)
GREY_ONLY = ("gated",)


def settings(key: str, args: argparse.Namespace) -> dict:
    """lr, epochs, patience for one model: the command line's where given, else TRAINING's, else DEFAULTS."""
    chosen = {**DEFAULTS, **TRAINING.get(key, {})}
    return {name: getattr(args, name) if getattr(args, name, None) is not None else value
            for name, value in chosen.items()}


def run(key: str, seed: int, splits: data.Splits, args: argparse.Namespace) -> dict[str, float]:
    loaders = data.loaders(splits, batch_size=args.batch_size, seed=seed)
    torch.manual_seed(seed)
    model = MODELS[key][1](shape=tuple(splits.train.x.shape[1:]), levels=splits.train.levels)
    start = time.perf_counter()
    history = train(model, loaders["train"], val_data=loaders["val"], seed=seed, device=args.device, progress=False,
                    **settings(key, args))
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        nll = -model.log_prob(splits.test.x.to(model.device)).mean().item()
    return {"bpd": float(evaluation.bits_per_dim(nll, splits.test.dims)), "seconds": seconds,
            "epochs": len(history["epoch"]), "best": (history.best_round or 0) + 1,
            "params": sum(p.numel() for p in model.parameters())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=None, choices=list(MODELS),
                        help=f"default {' '.join(DEFAULT_MODELS)} (with --colour: {' '.join(COLOUR_MODELS)})")
    parser.add_argument("--colour", action="store_true", help="data.colour_digits(): (3, 8, 8), 4 levels, R → G → B")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="one seed (0)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"at most (default {DEFAULTS['epochs']} or the model's in TRAINING); early stopping "
                             f"usually ends sooner")
    parser.add_argument("--patience", type=int, default=None, help=f"default {DEFAULTS['patience']} or TRAINING's")
    parser.add_argument("--lr", type=float, default=None, help=f"default {DEFAULTS['lr']} or TRAINING's")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (small models: 1 is fastest)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    if args.quick:
        args.seeds = [0]
    if args.models is None:
        args.models = list(COLOUR_MODELS if args.colour else DEFAULT_MODELS)
    if args.colour and set(args.models) & set(GREY_ONLY):
        parser.error(f"{sorted(set(args.models) & set(GREY_ONLY))} model grey images only; drop them with --colour")
    torch.set_num_threads(args.threads)

    splits = data.colour_digits() if args.colour else data.digits()
    floor = evaluation.floor_bits_per_dim(splits.train, splits.test)
    what = "colour digits (3, 8, 8), 4 levels per channel" if args.colour else "digits (1, 8, 8), 17 levels"
    print(f"{what}: test split, exact bits/dim; batch {args.batch_size}; seeds {args.seeds}; "
          f"{torch.get_num_threads()} thread(s)", flush=True)
    print(f"{'model':30s} {'params':>8s} {'seed':>4s} {'bits/dim':>9s} {'epochs':>7s} {'best':>5s} {'train s':>8s}"
          f"  lr, epochs, patience", flush=True)
    summary = []
    for key in args.models:
        name, rows = MODELS[key][0], []
        for seed in args.seeds:
            r = run(key, seed, splits, args)
            rows.append(r)
            print(f"{name:30s} {r['params']:8d} {seed:4d} {r['bpd']:9.4f} {r['epochs']:7d} {r['best']:5d} "
                  f"{r['seconds']:8.1f}  " + ", ".join(f"{v:g}" for v in settings(key, args).values()), flush=True)
        bpd, secs = [r["bpd"] for r in rows], [r["seconds"] for r in rows]
        summary.append((name, statistics.mean(bpd), statistics.stdev(bpd) if len(bpd) > 1 else 0.0,
                        statistics.mean(secs), bpd))
    print(f"\n{'model':30s} {'mean bpd':>9s} {'std':>7s} {'mean s':>7s}  per seed")
    print(f"{'uniform':30s} {evaluation.uniform_bits_per_dim(splits.test.levels):9.4f}")
    print(f"{'per-pixel floor':30s} {floor:9.4f}")
    for name, mean, std, secs, per_seed in summary:
        print(f"{name:30s} {mean:9.4f} {std:7.4f} {secs:7.1f}  " + ", ".join(f"{b:.4f}" for b in per_seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
