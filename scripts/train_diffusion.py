"""Train lecture 08's digits DDPM (`coursekit.evaluation.diffusion_digits.DIGITS_DDPM`) and write the checkpoint
the lecture loads.

    python scripts/train_diffusion.py                       # seed 0 → coursekit/weights/ddpm_digits.pt
    python scripts/train_diffusion.py --out /tmp/ddpm.pt --seed 1

It trains the class-conditional U-Net DDPM of `DIGITS_DDPM` (label dropout, so the null label gives the
unconditional model too) on the 1000 training digits with `coursekit.training.train`, keeps the EMA weights
and writes them with the setting beside them (`save_digits_ddpm`), then prints how long the training took
(wall clock, one CPU thread; on a shared CPU it can be inflated), the file's size, and a quick look at the
model: the classifier's accuracy on 100 guided DDIM samples. `benchmarks/diffusion_quality.py` measures it
properly and checks that this script's seed-0 run reproduces the committed file's numbers.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout without installing

import torch  # noqa: E402

from coursekit import data, evaluation  # noqa: E402
from coursekit.evaluation.diffusion_digits import (  # noqa: E402
    DIGITS_DDPM, DIGITS_DDPM_CHECKPOINT, guidance_sweep, pretrained_digits_ddpm, save_digits_ddpm, train_digits_ddpm,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DIGITS_DDPM_CHECKPOINT)
    parser.add_argument("--device", default="cpu", help="cpu (the committed file), cuda, mps or auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (small batches: 1 is fastest)")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"training the digits DDPM {DIGITS_DDPM} with seed {args.seed} on {args.device}, "
          f"{torch.get_num_threads()} thread(s)", flush=True)
    run = train_digits_ddpm(args.seed, device=args.device, progress=args.progress)
    model = run["model"].cpu()
    path = save_digits_ddpm(model, args.out, seed=args.seed, steps=run["steps"], train_seconds=round(run["seconds"], 1),
                            train_cpu_seconds=round(run["cpu_seconds"], 1), device=str(args.device))
    params = sum(p.numel() for p in model.parameters())
    print(f"trained {run['steps']} steps in {run['seconds']:.1f} s ({run['seconds'] / 60:.1f} min wall clock, "
          f"{run['cpu_seconds']:.1f} s of CPU time); "
          f"{params:,} parameters; wrote {path} ({path.stat().st_size / 1e6:.2f} MB)", flush=True)
    loaded = pretrained_digits_ddpm(path)
    splits = data.digits()
    start = time.perf_counter()
    row = guidance_sweep(loaded, [0.0], evaluation.classifier(splits), splits.test, n=100)[0]
    print(f"check: 100 DDIM samples (50 steps, w = 0, labels 0..9): the classifier agrees with the label for "
          f"{row['accuracy']:.0%} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
