"""Train a course model data-parallel on N processes, with the same `coursekit.training` the notebooks use.

    torchrun --nproc_per_node=2 scripts/train_ddp.py --epochs 20 --out runs/vae_digits.pt
    torchrun --nproc_per_node=4 scripts/train_ddp.py --data mnist --root ~/data/mnist \\
             --batch-size 512 --epochs 30 --warmup-steps 500 --lr-schedule cosine --ema-decay 0.999 --amp
    torchrun --nproc_per_node=4 scripts/train_ddp.py ... --resume runs/vae_digits.pt   # continue a run
    python scripts/train_ddp.py --epochs 2                                             # one process works too

It trains the lecture 02 VAE (`coursekit.models.VAE`) on the 8x8 digits (17 levels, a
categorical decoder) or on binarised MNIST / Fashion-MNIST (a Bernoulli decoder; the IDX files
must be in `--root`, see `coursekit.data.mnist.download`).

Under torchrun every process joins the process group (`coursekit.training.init_distributed`:
NCCL on `cuda:LOCAL_RANK` where there are GPUs, gloo on CPUs) and `train` trains data-parallel
with DistributedDataParallel: `--batch-size` is the global batch and each of the N processes
gets `batch-size / N` of it, so the learning rate and the number of steps per epoch are those of
a one-process run. Rank 0 validates, shows progress, writes the checkpoint (`--out`, whenever
the validation loss improves) and prints the result; `coursekit.checkpoint.load_checkpoint`
loads it into a `VAE` made with the same options, in a notebook or anywhere.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing

import torch  # noqa: E402

from coursekit import data  # noqa: E402
from coursekit.models import VAE  # noqa: E402
from coursekit.training import evaluate, init_distributed, is_main_process, train  # noqa: E402
from coursekit.utils import resolve_device, seed_everything  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", choices=("digits", "mnist", "fashion_mnist"), default="digits")
    p.add_argument("--root", help="the folder with the MNIST / Fashion-MNIST IDX files (for --data mnist)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, help="training length in epochs (default 10)")
    length.add_argument("--steps", type=int, help="training length in optimisation steps")
    p.add_argument("--batch-size", type=int, default=128, help="the global batch, split among the processes")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--latent-dim", type=int, default=16)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--ema-decay", type=float, default=None, help="keep a weight average (e.g. 0.999)")
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--lr-schedule", choices=("constant", "cosine"), default="constant")
    p.add_argument("--grad-clip", type=float, default=None)
    p.add_argument("--patience", type=int, default=None, help="early stopping on the validation loss")
    p.add_argument("--amp", action="store_true", help="float16 mixed precision (CUDA only)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="checkpoint to write (rank 0)")
    p.add_argument("--resume", type=Path, default=None, help="a checkpoint written by --out to continue from")
    args = p.parse_args(argv)
    if args.epochs is None and args.steps is None:
        args.epochs = 10
    if args.data != "digits" and args.root is None:
        p.error(f"--data {args.data} needs --root, the folder with its IDX files")
    return args


def make_model_and_data(args: argparse.Namespace) -> tuple[VAE, dict]:
    """The VAE and the train/val/test loaders for `--data`."""
    if args.data == "digits":
        splits = data.load("digits")
        options, transform = {}, None                                           # 17 levels, categorical
    else:
        splits = data.load(args.data, root=args.root)
        options = {"shape": (1, 28, 28), "decoder": "bernoulli"}
        transform = functools.partial(data.binarize, levels=256)                # 0..255 → {0, 1}
    seed_everything(args.seed)                                                  # the same initial weights everywhere
    model = VAE(latent_dim=args.latent_dim, hidden=args.hidden, dropout=args.dropout, **options)
    loaders = data.loaders(splits, batch_size=args.batch_size, seed=args.seed, transform=transform)
    return model, loaders


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    under_torchrun = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    device = init_distributed() if under_torchrun else resolve_device("auto")
    try:
        model, loaders = make_model_and_data(args)
        history = train(model, loaders["train"], val_data=loaders["val"], epochs=args.epochs, steps=args.steps,
                        lr=args.lr, device=device, seed=args.seed, patience=args.patience, amp=args.amp,
                        grad_clip=args.grad_clip, ema_decay=args.ema_decay, warmup_steps=args.warmup_steps,
                        lr_schedule=args.lr_schedule,
                        checkpoint_path=str(args.out) if args.out else None,
                        resume_from=str(args.resume) if args.resume else None,
                        desc=f"VAE on {args.data}")
        scored = history.ema.model if history.ema is not None else model
        result = {"val/loss": history["val/loss"][history.best_round], **{f"test/{k}": v for k, v in
                  evaluate(scored, loaders["test"], device).items()}}
        if is_main_process():
            world = torch.distributed.get_world_size() if under_torchrun else 1
            print(f"trained on {world} process(es), {len(history['step'])} rounds, {int(history['step'][-1])} steps; "
                  + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))
            if args.out:
                print(f"checkpoint: {args.out}")
        return result
    finally:
        if under_torchrun:
            torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
