"""Lecture 08's digits DDPM measured over seeds: sample quality, DDIM against DDPM, classifier-free guidance and
the full variational bound, then the committed checkpoint checked against a fresh seed-0 run.

Per seed, `coursekit.evaluation.diffusion_digits.train_digits_ddpm` trains the setting `DIGITS_DDPM` (a
class-conditional U-Net with label dropout, T = 1000 grey-level steps, EMA weights) afresh, then:

- `quality`: 400 samples of the unconditional model (the null label ∅, w = −1) by Algorithm 2 (1000 steps)
  and by DDIM with 50 steps, both deterministic (η = 0) and stochastic (η = 1, DDPM-like noise on the 50-step
  grid), all timed (the wall clock of drawing the 400 samples); their Fréchet distances to the test digits in
  the evaluation classifier's features at n = 400 (the FD of benchmarks/gan_quality.py), beside real-vs-real,
  the per-pixel floor and lecture 07's DCGAN. The FD of 400 samples moves by about ±1.5 from one draw to
  the next, so each FD is the mean over `--draws` (default 2) independent draws of 400, draw d seeded with
  seed + 1000 d (draw 0 with the seed itself, the x_T the other parts and the lecture use); the spread between
  the draws is printed as the draw noise.
- `guidance`: 400 guided samples (40 per digit) for each weight w of `--weights` (Ho & Salimans: ε̃ = (1 + w)
  ε_θ(x, y) − w ε_θ(x, ∅); diffusers' scale is 1 + w), by DDIM with 50 steps (what the lecture's slider
  shows), with the same x_T for every w: the share the classifier labels as the requested digit, the FD, and
  the within-class spread of the classifier features (diversity; the real test digits' beside it). The
  weight `--headline-w` is also sampled by Algorithm 2 (1000 steps).
- `bound`: the variational bound of the unconditional model on the 447 test digits in bits/dim, every one of
  the T + 1 terms (`DDPM.bound_terms`, one draw of x_t per term), and which t cost the bits (`BOUND_PARTS`);
  beside uniform, the per-pixel floor and Tomczak's intro_dgm diffusion model on the same split.

Issue 19's targets are checked at the end on the means over seeds: FD below the DCGAN's; guided accuracy ≥ 90%
at the headline weight; bound ≤ 3.2 bits/dim; DDIM-50 within 10% of DDPM-1000 in FD and ≥ 15× faster, for
η = 0 and η = 1 separately.
With seed 0 among the seeds (and not `--no-check-checkpoint`), the committed checkpoint
(coursekit/weights/ddpm_digits.pt, scripts/train_diffusion.py) is compared with the fresh seed-0 run: its
weights, and where they differ (another machine or torch), its numbers measured the same way; the exit code is 1
when those numbers are not within tolerance of the fresh run's.

    python benchmarks/diffusion_quality.py                 # seeds 0, 1, 2 (about 10 min per seed on one thread)
    python benchmarks/diffusion_quality.py --jobs 3        # the three seeds in three processes at once
    python benchmarks/diffusion_quality.py --quick         # seed 0, short runs: a smoke test, not a measurement
    python benchmarks/diffusion_quality.py --seeds 0 --parts bound
    python benchmarks/diffusion_quality.py --parts quality --jobs 2 --draws 2

Times are wall-clock seconds on this machine, one torch thread; on a shared CPU they can be inflated.
"""
from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from coursekit import data, evaluation
from coursekit.evaluation.diffusion_digits import (
    BOUND_PARTS, DIGITS_DDPM, DIGITS_DDPM_CHECKPOINT, bound_bits_per_dim, digits_ddpm_checkpoint_info, guidance_sweep,
    pretrained_digits_ddpm, timed_samples, train_digits_ddpm, within_class_spread,
)

PARTS = ("quality", "guidance", "bound")
FRECHET_N = 400
DDIM_STEPS = 50
DDIM_ETAS = (0.0, 1.0)
"""DDIM's η (Song et al. eq. 16): 0 is the deterministic sampler, 1 adds the DDPM posterior's noise on the
50-step grid."""
DRAW_OFFSET = 1000
"""Draw d of a quality measurement is seeded with seed + DRAW_OFFSET·d (draw 0: the seed itself)."""
DCGAN_FD = (16.6, 18.7, 27.2)
"""Not measured here: copied from the output of benchmarks/gan_quality.py --parts digits (lecture 07's DCGAN on
the digits at seeds 0-2, the FD at n = 400 that lecture 07 quotes, to one decimal): 20.83 ± 5.63 from the
unrounded values, 20.83 ± 5.61 from these. Rerun that benchmark if the DCGAN or the FD changes."""
INTRO_DGM_BOUND = 4.95
"""Tomczak's intro_dgm diffusion model: its valid bound on the digits test split in bits/dim, measured for the
public intro_dgm code on this split (issue 19): worse than uniform, its reverse networks are never registered
as parameters."""


def mean_sd(values: list[float], digits: int = 3) -> str:
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def sampler_key(eta: float | None) -> str:
    """The key of a sampler's numbers: "ddpm" for Algorithm 2, "ddim" for DDIM with η = 0, "ddim_eta1" for η = 1."""
    return "ddpm" if eta is None else "ddim" if eta == 0 else f"ddim_eta{eta:g}"


def sampler_name(eta: float | None, T: int) -> str:
    return f"DDPM {T} steps" if eta is None else f"DDIM {DDIM_STEPS} steps η = {eta:g}"


def measure_quality(model, splits, clf, seed: int, args) -> dict:
    """The unconditional FDs of DDPM-1000 and DDIM-50 (each η of DDIM_ETAS): fd_<key> the mean over args.draws
    draws of n, fds_<key> the draws, <key>_s the mean seconds of one draw; ratio_<key> and speedup_<key> of DDIM
    against DDPM."""
    n, out = args.n, {}
    for eta in (None, *DDIM_ETAS):
        key = sampler_key(eta)
        options = {} if eta is None else {"method": "ddim", "steps": DDIM_STEPS, "eta": eta}
        fds, secs = [], []
        for d in range(args.draws):
            x, s = timed_samples(model, n, seed=seed + DRAW_OFFSET * d, guidance=-1.0, **options)
            fds.append(evaluation.frechet_distance(x, splits.test, clf, n=n).value)
            secs.append(s)
        out[f"fd_{key}"], out[f"fds_{key}"], out[f"{key}_s"] = statistics.mean(fds), fds, statistics.mean(secs)
        line = (f"seed {seed}: unconditional (∅), {sampler_name(eta, model.T)}: FD {out[f'fd_{key}']:.2f}"
                + (f" (mean of {args.draws} draws: " + " ".join(f"{f:.2f}" for f in fds) + ")" if args.draws > 1 else "")
                + f", {out[f'{key}_s']:.1f} s per draw of {n}")
        if eta is not None:
            out[f"ratio_{key}"] = out[f"fd_{key}"] / out["fd_ddpm"]
            out[f"speedup_{key}"] = out["ddpm_s"] / out[f"{key}_s"]
            line += f": ratio to DDPM {out[f'ratio_{key}']:.3f}, {out[f'speedup_{key}']:.1f}× faster"
        print(line, flush=True)
    return out


def measure(model, splits, clf, seed: int, args) -> dict:
    """Every number of one trained model (the parts in args.parts), printed as it comes."""
    n, out = args.n, {}
    if "quality" in args.parts:
        out.update(measure_quality(model, splits, clf, seed, args))
    if "guidance" in args.parts:
        rows = guidance_sweep(model, args.weights, clf, splits.test, n=n, method="ddim", steps=DDIM_STEPS, seed=seed)
        out["sweep"] = rows
        for r in rows:
            print(f"seed {seed}: guidance w = {r['w']:g} (DDIM {DDIM_STEPS}): accuracy {r['accuracy']:.3f}, FD {r['fd']:.2f}, "
                  f"spread {r['spread']:.2f} ({r['seconds']:.1f} s)", flush=True)
        headline = guidance_sweep(model, [args.headline_w], clf, splits.test, n=n, method="ddpm", seed=seed)[0]
        out["headline"] = headline
        print(f"seed {seed}: guidance w = {args.headline_w:g} (DDPM {model.T}): accuracy {headline['accuracy']:.3f}, FD "
              f"{headline['fd']:.2f}, spread {headline['spread']:.2f} ({headline['seconds']:.1f} s)", flush=True)
    if "bound" in args.parts:
        test = splits.test.x[: args.bound_n] if args.bound_n else splits.test.x
        b = bound_bits_per_dim(model, test, seed=seed)
        out["bound"], out["bound_parts"], out["bound_s"] = b["bits_per_dim"], b["parts"], b["seconds"]
        print(f"seed {seed}: bound (all {model.T + 1} terms, {len(test)} test digits): {b['bits_per_dim']:.3f} bits/dim = "
              + " + ".join(f"{name} {v:.3f}" for name, v in b["parts"].items()) + f" ({b['seconds']:.0f} s)",
              flush=True)
    return out


def summary(runs: list[dict], splits, clf, reference, args) -> None:
    """The tables of means ± sd over the seeds."""
    n = args.n
    print(f"\n## summary over seeds {args.seeds} (mean ± sd; Fréchet distances at n = {n})")
    if "quality" in args.parts:
        print(f"each model FD is the mean over {args.draws} independent draw(s) of {n} samples; draw s = seconds of one draw")
        print(f"{'samples':44s} {'FD':>15s} {'draw s':>8s}  per seed")
        print(f"{'real digits (train vs test)':44s} {reference['real'].value:15.2f}")
        rows = [(f"unconditional DDPM, Algorithm 2, {DIGITS_DDPM.T} steps", None)]
        rows += [(f"unconditional DDIM, {DDIM_STEPS} steps (η = {eta:g})", eta) for eta in DDIM_ETAS]
        for name, eta in rows:
            key = sampler_key(eta)
            values = [r[f"fd_{key}"] for r in runs]
            print(f"{name:44s} {mean_sd(values, 2):>15s} {statistics.mean(r[f'{key}_s'] for r in runs):8.1f}  "
                  + " ".join(f"{v:.2f}" for v in values))
        print(f"{'DCGAN (lecture 07; copied, gan_quality.py)':44s} {mean_sd(list(DCGAN_FD), 2):>15s}           "
              + " ".join(f"{v:.2f}" for v in DCGAN_FD) + "  (benchmarks/gan_quality.py --parts digits' output, not rerun here)")
        print(f"{'per-pixel floor (independent pixels)':44s} {reference['floor'].value:15.2f}")
        print(f"{'uniform noise':44s} {reference['noise'].value:15.2f}")
        for eta in DDIM_ETAS:
            key = sampler_key(eta)
            print(f"DDIM {DDIM_STEPS} (η = {eta:g}) / DDPM {DIGITS_DDPM.T}: FD ratio "
                  f"{mean_sd([r[f'ratio_{key}'] for r in runs])} (" + " ".join(f"{r[f'ratio_{key}']:.3f}" for r in runs)
                  + f"), speed-up {mean_sd([r[f'speedup_{key}'] for r in runs], 1)}× (wall clock of drawing {n} samples)")
        if args.draws > 1:
            # the sd of one draw's FD about its model's mean, pooled over the seeds and the samplers
            deviations = [(f - statistics.mean(r[f"fds_{sampler_key(eta)}"])) ** 2 for r in runs
                          for eta in (None, *DDIM_ETAS) for f in r[f"fds_{sampler_key(eta)}"]]
            pooled = (sum(deviations) / (len(deviations) - len(runs) * (1 + len(DDIM_ETAS)))) ** 0.5
            print(f"draw noise: one draw's FD varies by ± {pooled:.2f} (sd, pooled over seeds and samplers) about its "
                  f"model's mean, ± {pooled / args.draws ** 0.5:.2f} for the mean of {args.draws} draws")
    if "guidance" in args.parts:
        spread = within_class_spread(splits.test, None, clf)
        print(f"\nguidance (DDIM {DDIM_STEPS} steps, {n // 10} samples per digit): accuracy = the classifier's label is the "
              f"requested digit (its own test accuracy {clf.test_accuracy:.3f} is the ceiling, 0.100 ignores the "
              f"label); spread = RMS distance of the features to their class mean (the real test digits: {spread:.2f})")
        print(f"{'w':>5s} {'accuracy':>15s} {'FD':>15s} {'spread':>15s}")
        for i, w in enumerate(args.weights):
            print(f"{w:5g} {mean_sd([r['sweep'][i]['accuracy'] for r in runs]):>15s} "
                  f"{mean_sd([r['sweep'][i]['fd'] for r in runs], 2):>15s} "
                  f"{mean_sd([r['sweep'][i]['spread'] for r in runs], 2):>15s}")
        print(f"w = {args.headline_w:g} by DDPM ({DIGITS_DDPM.T} steps): accuracy "
              f"{mean_sd([r['headline']['accuracy'] for r in runs])}, FD {mean_sd([r['headline']['fd'] for r in runs], 2)}, "
              f"spread {mean_sd([r['headline']['spread'] for r in runs], 2)}")
    if "bound" in args.parts:
        print(f"\ntest bound, bits/dim (every one of the {DIGITS_DDPM.T + 1} terms; the unconditional model)")
        print(f"{'DDPM bound':44s} {mean_sd([r['bound'] for r in runs]):>15s}  "
              + " ".join(f"{r['bound']:.3f}" for r in runs))
        for name in BOUND_PARTS:
            print(f"{'  ' + name:44s} {mean_sd([r['bound_parts'][name] for r in runs]):>15s}")
        print(f"{'uniform over 17 levels':44s} {evaluation.uniform_bits_per_dim(splits.test.levels):15.3f}")
        print(f"{'per-pixel floor (fitted on train)':44s} {evaluation.floor_bits_per_dim(splits.train, splits.test):15.3f}")
        print(f"{'intro_dgm diffusion (Tomczak), valid bound':44s} {INTRO_DGM_BOUND:15.2f}  (measured for the public "
              f"intro_dgm code on this split, issue 19)")


def check_targets(runs: list[dict], args) -> None:
    print("\n## issue 19's targets (means over seeds)" + (" (--quick: short runs, expected to miss them)" if args.quick else ""))
    if "quality" in args.parts:
        fd, dcgan = statistics.mean(r["fd_ddpm"] for r in runs), statistics.mean(DCGAN_FD)
        print(f"unconditional FD (DDPM) below the DCGAN's {dcgan:.2f}: {'met' if fd < dcgan else 'NOT met'} ({fd:.2f})")
        for eta in DDIM_ETAS:
            key = sampler_key(eta)
            ratios = [r[f"ratio_{key}"] for r in runs]
            ratio, speed = statistics.mean(ratios), statistics.mean(r[f"speedup_{key}"] for r in runs)
            print(f"DDIM {DDIM_STEPS} (η = {eta:g}) within 10% of DDPM in FD (at most 10% above): {'met' if ratio <= 1.10 else 'NOT met'} "
                  f"(ratio {mean_sd(ratios)}, worst seed {max(ratios):.3f}); at least 15× faster: "
                  f"{'met' if speed >= 15 else 'NOT met'} ({speed:.1f}×)")
    if "guidance" in args.parts:
        acc = statistics.mean(r["headline"]["accuracy"] for r in runs)
        print(f"guided accuracy (w = {args.headline_w:g}, DDPM) >= 90%: {'met' if acc >= 0.9 else 'NOT met'} ({acc:.3f})")
    if "bound" in args.parts:
        bound = statistics.mean(r["bound"] for r in runs)
        print(f"test bound <= 3.2 bits/dim (all terms): {'met' if bound <= 3.2 else 'NOT met'} ({bound:.3f})"
              + (f" on the first {args.bound_n} test digits" if args.bound_n else ""))


def check_checkpoint(fresh_state: dict, fresh_numbers: dict, splits, clf, args) -> bool:
    """The committed checkpoint against the fresh seed-0 run of the same setting: False when it is not reproduced
    (its numbers not within tolerance of the fresh run's)."""
    print(f"\n## the committed checkpoint {DIGITS_DDPM_CHECKPOINT} against a fresh seed-0 run")
    info = digits_ddpm_checkpoint_info()["info"]
    committed = pretrained_digits_ddpm()
    print(f"checkpoint: seed {info.get('seed')}, {info.get('steps')} steps, trained in {info.get('train_seconds')} s "
          f"with torch {info.get('torch')}; {DIGITS_DDPM_CHECKPOINT.stat().st_size / 1e6:.2f} MB")
    if info.get("seed") != 0 or args.steps not in (None, DIGITS_DDPM.steps):
        print("not comparable: the checkpoint or this run is not the default seed-0 setting")
        return True
    diff = max((fresh_state[k].float() - v.float()).abs().max().item() for k, v in committed.state_dict().items())
    print(f"largest weight difference, checkpoint vs fresh run: {diff:.3g}")
    if diff == 0:
        print("reproduced: the fresh seed-0 run has the committed weights, so the seed-0 numbers above are the "
              "checkpoint's")
        return True
    print("the weights differ (another machine or torch version): the checkpoint's numbers, measured the same way")
    numbers = measure(committed, splits, clf, 0, args)
    reproduced = True
    for key, tolerance in (("fd_ddpm", 0.15), ("fd_ddim", 0.15), ("fd_ddim_eta1", 0.15), ("bound", 0.03)):
        if key in numbers and key in fresh_numbers:
            a, b = numbers[key], fresh_numbers[key]
            ok = abs(a - b) <= tolerance * abs(b)
            reproduced &= ok
            print(f"{key}: checkpoint {a:.3f}, fresh {b:.3f}: {'within' if ok else 'NOT within'} {tolerance:.0%}")
    print("reproduced within tolerance" if reproduced else "NOT reproduced: exit code 1")
    return reproduced


def run_seed(seed: int, args, splits=None, clf=None) -> tuple[dict, dict | None]:
    """Train the setting with `seed` and measure it: (its numbers, its state dict for seed 0 else None). Runs in a
    worker process with `--jobs`."""
    torch.set_num_threads(args.threads)
    splits = splits or data.digits()
    clf = clf or evaluation.classifier(splits)
    run = train_digits_ddpm(seed, steps=args.steps, device=args.device)
    print(f"seed {seed}: trained {run['steps']} steps in {run['seconds']:.1f} s ({run['cpu_seconds']:.1f} s of CPU)",
          flush=True)
    numbers = measure(run["model"], splits, clf, seed, args)
    numbers["train_s"], numbers["train_cpu_s"] = run["seconds"], run["cpu_seconds"]
    state = {k: v.cpu() for k, v in run["model"].state_dict().items()} if seed == 0 else None
    return numbers, state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="seed 0 and short runs: a smoke test, not a measurement")
    parser.add_argument("--steps", type=int, default=None, help=f"training steps (default {DIGITS_DDPM.steps})")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0, 3.0, 5.0],
                        help="the guidance weights w of the sweep")
    parser.add_argument("--headline-w", type=float, default=1.0, help="the guidance weight also sampled by DDPM")
    parser.add_argument("--n", type=int, default=FRECHET_N, help="samples per measurement (the FD's n)")
    parser.add_argument("--draws", type=int, default=None, help="independent draws of n per unconditional FD (their "
                                                              "mean is reported; default 2, 1 with --quick)")
    parser.add_argument("--bound-n", type=int, default=None, help="test digits for the bound (default all 447)")
    parser.add_argument("--no-check-checkpoint", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (small models: 1 is fastest)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained and measured at once, in worker processes "
                                                             "(one per CPU core; timings then share the cores)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps = [0], args.steps or 100
        args.n, args.bound_n, args.weights, args.draws = 100, 20, [0.0, 3.0], args.draws or 1
        args.no_check_checkpoint = True
    args.draws = args.draws or 2
    torch.set_num_threads(args.threads)
    print(f"lecture 08 digits DDPM benchmark: {DIGITS_DDPM}, parts {args.parts}, seeds {args.seeds}, "
          f"{torch.get_num_threads()} thread(s)" + (" (--quick: short runs, not a measurement)" if args.quick else ""),
          flush=True)
    start = time.perf_counter()
    splits = data.digits()
    clf = evaluation.classifier(splits)
    reference = evaluation.frechet_reference(splits, clf, n=args.n)
    if args.jobs > 1 and len(args.seeds) > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(args.jobs, len(args.seeds)), mp_context=context) as pool:
            results = list(pool.map(run_seed, args.seeds, [args] * len(args.seeds)))
    else:
        results = [run_seed(seed, args, splits, clf) for seed in args.seeds]
    runs = [numbers for numbers, _ in results]
    fresh0 = next(((state, numbers) for seed, (numbers, state) in zip(args.seeds, results) if seed == 0), None)
    print(f"\ntraining: {mean_sd([r['train_s'] for r in runs], 1)} s per seed, {mean_sd([r['train_cpu_s'] for r in runs], 1)} s of CPU ({DIGITS_DDPM.steps if args.steps is None else args.steps} steps)")
    summary(runs, splits, clf, reference, args)
    check_targets(runs, args)
    reproduced = True
    if fresh0 is not None and not args.no_check_checkpoint:
        reproduced = check_checkpoint(*fresh0, splits, clf, args)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0 if reproduced else 1


if __name__ == "__main__":
    raise SystemExit(main())
