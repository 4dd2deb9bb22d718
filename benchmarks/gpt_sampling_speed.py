"""Pixel GPT sampling: the naive sampler (the whole model over the whole sequence once per pixel) vs the
key–value-cached one (one token through every layer per pixel, attending to the cached keys and values), seconds
for `--n` samples, against the number of pixels D.

For each D in `--dims` (square grey images, D = H·W: 64 = 8×8 and 256 = 16×16 by default) a GPT of the default
configuration (`GPTConfig()` with only `shape` changed; 17 levels) draws `--n` samples both ways; each time is the
median of `--repeats` runs, wall-clock and CPU (the process's CPU seconds: on a shared machine the wall time is
inflated, the CPU time much less so). The models are untrained: sampling costs the same whatever the weights are,
so timing needs no training; the two samplers are checked to give the same images for the same generator.

The naive sampler's cost grows as D³ for attention (D passes, each O(D²)) and D² for the rest; where D exceeds
`--naive-full-max` it is timed on its last `--naive-steps` steps only (`complete` with the first D − m pixels
known: every step of the naive loop is one full forward pass) and scaled by D / m; such rows are marked "*".

On a shared 2-core machine (one thread, other jobs running) the cached sampler was 18.9× faster at D = 64 (2.12 s vs
0.112 s, the same images) and 79.5× at D = 256 with the naive time extrapolated (54.6 s vs 0.69 s).

    python benchmarks/gpt_sampling_speed.py            # D = 64, 256; 100 samples; 3 repeats
    python benchmarks/gpt_sampling_speed.py --quick    # D = 64; 1 repeat
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from coursekit.models.gpt import GPT, GPTConfig


def timed(fn) -> tuple[float, float, torch.Tensor]:
    """(wall seconds, CPU seconds, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def median_time(fn, repeats: int) -> tuple[float, float, torch.Tensor]:
    runs = [timed(fn) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), runs[-1][2]


def measure(D: int, args: argparse.Namespace) -> dict:
    side = math.isqrt(D)
    if side * side != D:
        raise ValueError(f"every D in --dims must be a square number (an H×H image), got {D}")
    torch.manual_seed(0)
    model = GPT(shape=(1, side, side)).eval()
    n = args.n
    seeded = lambda: torch.Generator().manual_seed(0)   # noqa: E731
    wall_c, cpu_c, cached = median_time(lambda: model.sample(n, generator=seeded()), args.repeats)
    row = {"D": D, "cached_wall": wall_c, "cached_cpu": cpu_c}
    if D <= args.naive_full_max:
        wall_n, cpu_n, naive = median_time(lambda: model.sample(n, generator=seeded(), cached=False), args.repeats)
        row.update(naive_wall=wall_n, naive_cpu=cpu_n, extrapolated=False, same=torch.equal(naive, cached))
    else:
        m = min(args.naive_steps, D)
        known = torch.ones(1, side, side, dtype=torch.bool)
        known.view(-1)[D - m:] = False                         # the last m pixels are drawn: m full forward passes
        x = torch.zeros(n, 1, side, side, dtype=torch.long)
        wall_n, cpu_n, naive = median_time(lambda: model.complete(x, known, generator=seeded(), cached=False),
                                           args.repeats)
        same = torch.equal(naive, model.complete(x, known, generator=seeded()))   # the cached sampler's completion
        row.update(naive_wall=wall_n * D / m, naive_cpu=cpu_n * D / m, extrapolated=True, same=same)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dims", type=int, nargs="+", default=[64, 256], help="pixels D (square images)")
    parser.add_argument("--n", type=int, default=100, help="samples per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (the median is printed)")
    parser.add_argument("--naive-full-max", type=int, default=64,
                        help="largest D sampled naively in full; above it the naive time is extrapolated")
    parser.add_argument("--naive-steps", type=int, default=32, help="naive steps timed where extrapolated")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="D = 64; 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.dims, args.repeats = [64], 1
    torch.set_num_threads(args.threads)

    c = GPTConfig()
    print(f"GPT sampling, {args.n} samples, median of {args.repeats}; default config (d_model {c.d_model}, "
          f"{c.n_heads} heads, {c.layers} layers), untrained; {torch.get_num_threads()} thread(s)", flush=True)
    print(f"{'D':>5s} {'image':>7s} {'naive s':>9s} {'cached s':>9s} {'speed-up':>9s} {'naive CPU s':>12s} "
          f"{'cached CPU s':>13s} {'CPU speed-up':>13s}  same samples", flush=True)
    for D in args.dims:
        r = measure(D, args)
        side = math.isqrt(D)
        mark = "*" if r["extrapolated"] else " "
        same = ("yes" if r["same"] else "NO") + (" (the completed pixels)" if r["extrapolated"] else "")
        print(f"{D:5d} {f'{side}×{side}':>7s} {r['naive_wall']:8.2f}{mark} {r['cached_wall']:9.3f} "
              f"{r['naive_wall'] / r['cached_wall']:8.1f}× {r['naive_cpu']:11.2f}{mark} {r['cached_cpu']:13.3f} "
              f"{r['naive_cpu'] / r['cached_cpu']:12.1f}×  {same}", flush=True)
    if any(D > args.naive_full_max for D in args.dims):
        print(f"* naive time extrapolated: its last {args.naive_steps} steps timed, scaled by D / {args.naive_steps}")
    print("Wall times on a shared machine are inflated by other processes; the CPU columns much less.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
