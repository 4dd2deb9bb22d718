"""Lecture 07's GANs measured over seeds: mode coverage on the ring, DCGAN's Fréchet distance, the conditional
GAN's accuracy, CycleGAN's cycle error, and why likelihood is not sample quality.

Five parts (`--parts`), each trained from scratch per seed and printed per seed, then as mean ± sd:

- `ring`: the small MLP GAN of `coursekit.models.gan.RING_NETWORK` on the ring of eight Gaussians, through
  `coursekit.evaluation.gan_ring.ring_experiment`, in every configuration of `gan.RING_DEFAULTS` (the
  lecture's: the pinned collapse, the losses, WGAN-GP, the unrolled remedy) and one more remedy, the pinned
  collapse with the minibatch-std discriminator feature; each for `--ring-factor` × its lecture's steps;
  modes hit (of 8) and the share of 2000 samples within 3σ of a mode (`evaluation.mode_coverage`).
- `digits`: the DCGAN of `gan.dcgan_digits()` trained with `gan.DIGITS_TRAINING`; the Fréchet distance of 400
  samples to the test digits in the evaluation classifier's features (n = 400), beside
  `evaluation.frechet_reference`'s real-vs-real, per-pixel-floor and noise values at the same n.
- `conditional`: the conditional DCGAN (`dcgan_digits(conditional=True)`); the share of 1000 samples (100
  per class) that the classifier labels as the requested digit (`evaluation.conditional_accuracy`), beside
  the classifier's own test accuracy (the most a perfect model can get) and 10% (ignoring the label).
- `cycle`: `models.cyclegan.CycleGAN2D` on the ring and its copy rotated by 22.5°, trained with
  `CYCLE_TRAINING`, with the cycle loss (λ = 5) and without it (λ = 0): the mean round-trip errors
  ‖G(F(x)) − x‖₁ and ‖F(G(y)) − y‖₁, how F(X) covers Y's modes, and the share of points x whose round trip
  G(F(x)) lands on x's own mode.
- `likelihood`: seed 000's two examples with exact likelihoods (`models.memoriser`): test bits/dim and the
  Fréchet distance (n = 400) of the per-pixel floor, an FVSBN (lecture 04a's settings), the FVSBN diluted
  with 99% uniform noise (`NoisyMixture`, w = 0.01) and the training set memorised (`Memoriser`,
  ε = 10⁻³); the DCGAN of `digits` beside them (no likelihood).

Issue 18's targets are checked at the end: WGAN-GP hits all 8 modes with ≥ 80% of samples near a mode (every
seed); DCGAN Fréchet distance ≤ 40; conditional accuracy ≥ 85%.

    python benchmarks/gan_quality.py                       # seeds 0, 1, 2, every part
    python benchmarks/gan_quality.py --quick               # seed 0, short runs: a smoke test, not a measurement
    python benchmarks/gan_quality.py --parts ring cycle --seeds 0

Times are wall-clock seconds of training on this machine; on a shared CPU they can be inflated.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from coursekit import data, evaluation
from coursekit.evaluation.gan_ring import ring_experiment
from coursekit.models import FVSBN
from coursekit.models.cyclegan import CYCLE_TRAINING, CycleGAN2D, unpaired_loader
from coursekit.models.gan import DIGITS_TRAINING, GAN, RING_DEFAULTS, dcgan_digits
from coursekit.models.memoriser import Memoriser, NoisyMixture
from coursekit.training import train
from coursekit.utils import seeded_generator

PARTS = ("ring", "digits", "conditional", "cycle", "likelihood")


def ring_rows() -> dict[str, dict]:
    """name → `ring_experiment`'s keyword arguments: every entry of RING_DEFAULTS, and the pinned collapse (its
    entry named "vanilla ...") with the minibatch-std feature as a second remedy."""
    rows = {name: dict(settings) for name, settings in RING_DEFAULTS.items()}
    vanilla = next((name for name in rows if name.startswith("vanilla")), None)
    if vanilla is not None:
        rows["vanilla + minibatch std"] = dict(rows[vanilla], minibatch_std=True)
    return rows


FVSBN_TRAINING = dict(lr=1e-2, epochs=60, patience=5)
"""Lecture 04a's FVSBN: Adam at 1e-2, at most 60 epochs, early stopping on the validation NLL."""
NOISE_WEIGHT, MEMORY_EPSILON = 0.01, 1e-3
FRECHET_N, CONDITIONAL_PER_CLASS = 400, 100


def mean_sd(values: list[float], digits: int = 3) -> str:
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


# --- the parts: each returns {row name: [one dict per seed]} ------------------------------------------------

def part_ring(args) -> dict[str, list[dict]]:
    print(f"\n## ring of eight Gaussians: modes hit (of 8), share of 2000 samples within 3σ of a mode; "
          f"{args.ring_factor:g} × the lecture's steps", flush=True)
    print(f"{'model':32s} {'seed':>4s} {'steps':>6s} {'modes':>5s} {'near':>6s} {'train s':>8s}", flush=True)
    results, every = {}, ring_rows()
    for name in args.ring or list(every):
        if name not in every:
            raise SystemExit(f"--ring {name!r}: no such ring experiment; there are {list(every)}")
        settings = dict(every[name])
        steps = args.ring_steps or int(round(args.ring_factor * settings.pop("steps", 2000)))
        settings.pop("steps", None)
        rows = []
        for seed in args.seeds:
            r = ring_experiment(**settings, steps=steps, seed=seed)
            row = {"modes": r["coverage"]["modes_hit"], "near": r["coverage"]["fraction_near_a_mode"],
                   "seconds": r["seconds"], "steps": steps, "loss": settings["loss"]}
            rows.append(row)
            print(f"{name:32s} {seed:4d} {steps:6d} {row['modes']:5d} {row['near']:6.3f} {row['seconds']:8.1f}",
                  flush=True)
        results[name] = rows
    print(f"\n{'model':32s} {'modes hit':>13s} {'near a mode':>15s} {'train s':>8s}  modes per seed")
    for name, rows in results.items():
        print(f"{name:32s} {mean_sd([r['modes'] for r in rows], 2):>13s} {mean_sd([r['near'] for r in rows]):>15s} "
              f"{statistics.mean(r['seconds'] for r in rows):8.1f}  " + " ".join(str(r["modes"]) for r in rows))
    return results


def train_digits_gan(config, splits, seed: int, args) -> tuple[GAN, float]:
    loaders = data.loaders(splits, batch_size=DIGITS_TRAINING["batch_size"], seed=seed)
    torch.manual_seed(seed)
    model = GAN(config)
    start = time.perf_counter()
    train(model, loaders["train"], steps=args.digits_steps or DIGITS_TRAINING["steps"], lr=DIGITS_TRAINING["lr"],
          seed=seed, device=args.device, progress=False)
    return model.eval(), time.perf_counter() - start


def part_digits(args, splits, clf, reference) -> dict[str, list[dict]]:
    steps = args.digits_steps or DIGITS_TRAINING["steps"]
    print(f"\n## DCGAN on the digits: Fréchet distance of {FRECHET_N} samples to the test digits (classifier "
          f"features, n = {FRECHET_N}); {steps} steps, lr {DIGITS_TRAINING['lr']:g}, batch "
          f"{DIGITS_TRAINING['batch_size']}", flush=True)
    print(f"reference at n = {FRECHET_N}: real vs real {reference['real'].value:.1f}, per-pixel floor "
          f"{reference['floor'].value:.1f}, noise {reference['noise'].value:.1f}", flush=True)
    print(f"{'model':32s} {'seed':>4s} {'FD':>7s} {'train s':>8s}", flush=True)
    rows = []
    for seed in args.seeds:
        model, seconds = train_digits_gan(dcgan_digits(), splits, seed, args)
        samples = model.sample(FRECHET_N, generator=seeded_generator(seed)).cpu()
        fd = evaluation.frechet_distance(samples, splits.test, clf, n=FRECHET_N).value
        rows.append({"fd": fd, "seconds": seconds})
        print(f"{'DCGAN':32s} {seed:4d} {fd:7.2f} {seconds:8.1f}", flush=True)
    print(f"\n{'model':32s} {'FD (n = 400)':>15s} {'train s':>8s}  per seed")
    print(f"{'DCGAN':32s} {mean_sd([r['fd'] for r in rows], 2):>15s} {statistics.mean(r['seconds'] for r in rows):8.1f}"
          f"  " + " ".join(f"{r['fd']:.2f}" for r in rows))
    return {"DCGAN": rows}


def part_conditional(args, splits, clf) -> dict[str, list[dict]]:
    n = CONDITIONAL_PER_CLASS * 10
    print(f"\n## conditional DCGAN: the classifier's label = the requested digit, {n} samples ({CONDITIONAL_PER_CLASS} "
          f"per class); classifier test accuracy {clf.test_accuracy:.3f} (the ceiling), 0.100 by ignoring the label",
          flush=True)
    print(f"{'model':32s} {'seed':>4s} {'accuracy':>8s} {'FD':>7s} {'train s':>8s}", flush=True)
    rows = []
    for seed in args.seeds:
        model, seconds = train_digits_gan(dcgan_digits(conditional=True), splits, seed, args)
        labels = torch.arange(n) % 10
        samples = model.sample(n, labels=labels.to(model.device), generator=seeded_generator(seed)).cpu()
        accuracy = evaluation.conditional_accuracy(samples, labels, clf)
        fd = evaluation.frechet_distance(samples, splits.test, clf, n=FRECHET_N).value
        rows.append({"accuracy": accuracy, "fd": fd, "seconds": seconds})
        print(f"{'conditional DCGAN':32s} {seed:4d} {accuracy:8.3f} {fd:7.2f} {seconds:8.1f}", flush=True)
    print(f"\n{'model':32s} {'accuracy':>15s} {'FD (n = 400)':>15s} {'train s':>8s}")
    print(f"{'conditional DCGAN':32s} {mean_sd([r['accuracy'] for r in rows]):>15s} "
          f"{mean_sd([r['fd'] for r in rows], 2):>15s} {statistics.mean(r['seconds'] for r in rows):8.1f}")
    return {"conditional DCGAN": rows}


def round_trip_to_own_mode(model: CycleGAN2D, x: torch.Tensor, translated: torch.Tensor,
                           back: torch.Tensor) -> float:
    """The share of points x whose round trip G(F(x)) is nearest to the same mode of X as x itself."""
    modes = model.domain_x.modes.to(x.dtype)
    return float((torch.cdist(x, modes).argmin(1) == torch.cdist(back, modes).argmin(1)).float().mean())


def part_cycle(args) -> dict[str, list[dict]]:
    steps = args.cycle_steps or CYCLE_TRAINING["steps"]
    print(f"\n## CycleGAN2D, X = the ring, Y = the ring rotated by 22.5°: round-trip errors (mean L1, 2000 points), "
          f"F(X) on Y's modes, share of round trips back on x's own mode; {steps} steps, batch "
          f"{CYCLE_TRAINING['batch_size']}, lr {CYCLE_TRAINING['lr']:g}", flush=True)
    print(f"{'model':24s} {'seed':>4s} {'|GF(x)-x|':>9s} {'|FG(y)-y|':>9s} {'F modes':>7s} {'F near':>6s} "
          f"{'own mode':>8s} {'train s':>8s}", flush=True)
    results = {}
    for lam in (5.0, 0.0):
        name = f"cycle loss λ = {lam:g}" if lam else "no cycle loss (λ = 0)"
        rows = []
        for seed in args.seeds:
            torch.manual_seed(seed)
            model = CycleGAN2D(cycle_weight=lam)
            loader = unpaired_loader(model.config, CYCLE_TRAINING["points"], CYCLE_TRAINING["batch_size"], seed)
            start = time.perf_counter()
            train(model, loader, steps=steps, lr=CYCLE_TRAINING["lr"], seed=seed, device=args.device, progress=False)
            seconds = time.perf_counter() - start
            model.eval()
            run = {k: v.cpu() for k, v in model.translations(2000, generator=seeded_generator(seed + 1)).items()}
            y = model.domain_y.sample(2000, generator=seeded_generator(seed + 2))
            with torch.no_grad():
                error_x = model.cycle_error(x=run["x"].to(model.device)).mean().item()
                error_y = model.cycle_error(y=y.to(model.device)).mean().item()
            coverage = evaluation.mode_coverage(run["translated"], model.domain_y.means.float(),
                                                model.config.std * model.config.scale)
            row = {"error_x": error_x, "error_y": error_y, "modes": coverage["modes_hit"],
                   "near": coverage["fraction_near_a_mode"], "seconds": seconds,
                   "own_mode": round_trip_to_own_mode(model, run["x"], run["translated"], run["reconstructed"])}
            rows.append(row)
            print(f"{name:24s} {seed:4d} {error_x:9.3f} {error_y:9.3f} {row['modes']:7d} {row['near']:6.3f} "
                  f"{row['own_mode']:8.3f} {seconds:8.1f}", flush=True)
        results[name] = rows
    print(f"\n{'model':24s} {'|GF(x)-x|':>15s} {'|FG(y)-y|':>15s} {'F modes':>11s} {'F near':>15s} {'own mode':>15s} "
          f"{'train s':>8s}")
    for name, rows in results.items():
        print(f"{name:24s} {mean_sd([r['error_x'] for r in rows]):>15s} {mean_sd([r['error_y'] for r in rows]):>15s} "
              f"{mean_sd([r['modes'] for r in rows], 1):>11s} {mean_sd([r['near'] for r in rows]):>15s} "
              f"{mean_sd([r['own_mode'] for r in rows]):>15s} {statistics.mean(r['seconds'] for r in rows):8.1f}")
    return results


def part_likelihood(args, splits, clf, reference, gan_rows: list[dict] | None) -> dict[str, list[dict]]:
    epochs = args.fvsbn_epochs or FVSBN_TRAINING["epochs"]
    D = splits.test.dims
    print(f"\n## likelihood is not sample quality: test bits/dim (exact) and Fréchet distance (n = {FRECHET_N}); "
          f"FVSBN lr {FVSBN_TRAINING['lr']:g}, at most {epochs} epochs, patience {FVSBN_TRAINING['patience']}; "
          f"bound: the mixture's bits/dim ≤ the FVSBN's + log2(1/w)/D = +{math.log2(1 / NOISE_WEIGHT) / D:.3f}",
          flush=True)
    print(f"{'model':36s} {'seed':>4s} {'bits/dim':>8s} {'FD':>7s} {'train s':>8s}", flush=True)
    names = {"floor": "per-pixel floor", "fvsbn": "FVSBN",
             "noisy": f"FVSBN + {1 - NOISE_WEIGHT:.0%} uniform noise (w = {NOISE_WEIGHT:g})",
             "memo": f"memoriser (ε = {MEMORY_EPSILON:g})"}
    results: dict[str, list[dict]] = {name: [] for name in names.values()}
    floor = evaluation.floor_model(splits.train)
    memoriser = Memoriser(shape=tuple(splits.train.x.shape[1:]), levels=splits.train.levels,
                          epsilon=MEMORY_EPSILON).fit(splits.train.x)
    for seed in args.seeds:
        loaders = data.loaders(splits, batch_size=64, seed=seed)
        torch.manual_seed(seed)
        fvsbn = FVSBN(shape=tuple(splits.train.x.shape[1:]), levels=splits.train.levels)
        start = time.perf_counter()
        train(fvsbn, loaders["train"], val_data=loaders["val"], epochs=epochs, patience=FVSBN_TRAINING["patience"],
              lr=FVSBN_TRAINING["lr"], seed=seed, device=args.device, progress=False)
        seconds = time.perf_counter() - start
        fvsbn.eval()
        models = {"floor": floor, "fvsbn": fvsbn, "noisy": NoisyMixture(fvsbn, NOISE_WEIGHT), "memo": memoriser}
        for key, model in models.items():
            model = model.to(fvsbn.device)
            with torch.no_grad():
                nats = -model.log_prob(splits.test.x.to(fvsbn.device)).mean().item()
                samples = model.sample(FRECHET_N, generator=seeded_generator(seed)).cpu()
            row = {"bpd": float(evaluation.bits_per_dim(nats, D)),
                   "fd": evaluation.frechet_distance(samples, splits.test, clf, n=FRECHET_N).value,
                   "seconds": seconds if key in ("fvsbn", "noisy") else 0.0}
            results[names[key]].append(row)
            print(f"{names[key]:36s} {seed:4d} {row['bpd']:8.4f} {row['fd']:7.2f} {row['seconds']:8.1f}", flush=True)
    print(f"\n{'model':36s} {'test bits/dim':>17s} {'FD (n = 400)':>15s}")
    print(f"{'real test digits (train vs test)':36s} {'':>17s} {reference['real'].value:15.2f}")
    for name, rows in results.items():
        print(f"{name:36s} {mean_sd([r['bpd'] for r in rows], 4):>17s} {mean_sd([r['fd'] for r in rows], 2):>15s}")
    if gan_rows:
        print(f"{'DCGAN (part digits)':36s} {'none':>17s} {mean_sd([r['fd'] for r in gan_rows], 2):>15s}")
    print(f"{'uniform noise':36s} {evaluation.uniform_bits_per_dim(splits.test.levels):17.4f} "
          f"{reference['noise'].value:15.2f}")
    return results


# --- issue 18's targets -------------------------------------------------------------------------------------

def check_targets(results: dict[str, dict[str, list[dict]]], quick: bool) -> None:
    print("\n## issue 18's targets" + (" (--quick: short runs, expected to miss them)" if quick else ""))
    ring = next((rows for rows in results.get("ring", {}).values() if rows and rows[0]["loss"] == "wasserstein"), None)
    if ring:
        ok = all(r["modes"] == 8 and r["near"] >= 0.8 for r in ring)
        print(f"WGAN-GP: all 8 modes with >= 80% near a mode at every seed: {'met' if ok else 'NOT met'} "
              f"(modes {[r['modes'] for r in ring]}, near {[round(r['near'], 3) for r in ring]})")
    digits = results.get("digits", {}).get("DCGAN")
    if digits:
        mean = statistics.mean(r["fd"] for r in digits)
        print(f"DCGAN Fréchet distance <= 40 (mean over seeds): {'met' if mean <= 40 else 'NOT met'} ({mean:.2f})")
    conditional = results.get("conditional", {}).get("conditional DCGAN")
    if conditional:
        mean = statistics.mean(r["accuracy"] for r in conditional)
        print(f"conditional GAN accuracy >= 85% (mean over seeds): {'met' if mean >= 0.85 else 'NOT met'} "
              f"({mean:.3f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="seed 0 and short runs: a smoke test, not a measurement")
    parser.add_argument("--ring", nargs="+", default=None, help=f"the ring experiments to run (default all: "
                                                                 f"{', '.join(ring_rows())})")
    parser.add_argument("--ring-factor", type=float, default=2.0, help="ring steps = this × the lecture's steps")
    parser.add_argument("--ring-steps", type=int, default=None, help="ring steps for every row (overrides the factor)")
    parser.add_argument("--digits-steps", type=int, default=None, help=f"default {DIGITS_TRAINING['steps']}")
    parser.add_argument("--cycle-steps", type=int, default=None, help=f"default {CYCLE_TRAINING['steps']}")
    parser.add_argument("--fvsbn-epochs", type=int, default=None, help=f"default {FVSBN_TRAINING['epochs']}")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (small models: 1 is fastest)")
    parser.add_argument("--device", default="auto", help="for the digits, cycle and likelihood parts (the ring "
                                                         "experiment trains on the CPU)")
    args = parser.parse_args()
    if args.quick:
        args.seeds = [0]
        args.ring_steps = args.ring_steps or 100
        args.digits_steps = args.digits_steps or 50
        args.cycle_steps = args.cycle_steps or 50
        args.fvsbn_epochs = args.fvsbn_epochs or 2
    torch.set_num_threads(args.threads)
    print(f"lecture 07 GAN benchmark: parts {args.parts}, seeds {args.seeds}, {torch.get_num_threads()} thread(s)"
          + (" (--quick: short runs, not a measurement)" if args.quick else ""), flush=True)

    start = time.perf_counter()
    results: dict[str, dict[str, list[dict]]] = {}
    splits = clf = reference = None
    if set(args.parts) & {"digits", "conditional", "likelihood"}:
        splits = data.digits()
        clf = evaluation.classifier(splits)
        reference = evaluation.frechet_reference(splits, clf, n=FRECHET_N)
    if "ring" in args.parts:
        results["ring"] = part_ring(args)
    if "digits" in args.parts:
        results["digits"] = part_digits(args, splits, clf, reference)
    if "conditional" in args.parts:
        results["conditional"] = part_conditional(args, splits, clf)
    if "cycle" in args.parts:
        results["cycle"] = part_cycle(args)
    if "likelihood" in args.parts:
        results["likelihood"] = part_likelihood(args, splits, clf, reference, results.get("digits", {}).get("DCGAN"))
    check_targets(results, args.quick)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
