"""Cached vs naive sampling of WaveNet (`--model wavenet`, the default) or the pixel GPT (`--model gpt`): the naive
sampler (one full forward pass per pixel) against the cached one (Fast WaveNet's queues, one O(layers) step per
pixel; the GPT's key–value cache, one token through every layer), seconds for `--n` samples, against the number
of pixels D.

For each D in `--dims` (square grey images, D = H·W: 16, 64, 256 and 784 = 28×28 by default for WaveNet, 64 and
256 for the GPT) a model of the default configuration (`WaveNetConfig()` / `GPTConfig()` with only `shape` changed) draws `--n` samples both ways; each time is
the median of `--repeats` runs, wall-clock and CPU (the process's CPU seconds: on a shared machine the wall
time is inflated, the CPU time much less so). The models are untrained: sampling costs the same whatever the
weights are (no step depends on the values drawn), so timing needs no training; the two samplers are checked to
give the same images for the same generator (on the completed pixels where the naive time is extrapolated).

The naive sampler's cost grows as D² (D passes over D pixels; D³ for the GPT's attention, each pass O(D²)); where that exceeds `--naive-full-max` pixels it is
timed on its last `--naive-steps` steps only (`complete` with the first D − m pixels known: every step of the
naive loop is one full forward pass, whichever pixel it draws) and scaled by D / m; such rows are marked "*".

On a quiet 2-core machine (one thread) the cached sampler was 8× faster at D = 16, 33× at D = 64 (1.94 s vs
0.058 s), 144× at D = 256 and 513× at D = 784 with the naive time extrapolated (357 s vs 0.70 s). Sampling
D = 784 naively in full (`--dims 784 --naive-full-max 784 --repeats 1`) took 469 CPU s, 641× the cached time,
and gave the same images: the extrapolation underestimates the naive time, so its speed-ups are conservative.
The GPT's key–value cache was 19×, 24.7× and 21.7× faster at D = 64 and 80×, 88.9× and 40.4× at D = 256 (naive
extrapolated from 32 steps) in three runs on the shared machine; in the most crowded run the CPU-time ratios were
16.1× and 54.7×: wall times there are at the mercy of the other processes.

    python benchmarks/ar_sampling_speed.py            # D = 16, 64, 256, 784; 100 samples; 3 repeats
    python benchmarks/ar_sampling_speed.py --quick    # D = 16, 64; 1 repeat
    python benchmarks/ar_sampling_speed.py --model gpt          # D = 64, 256; naive extrapolated from 32 steps
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from coursekit.models.gpt import GPT, GPTConfig
from coursekit.models.wavenet import WaveNet, WaveNetConfig

MODELS = {
    "wavenet": dict(build=WaveNet, dims=[16, 64, 256, 784], quick_dims=[16, 64], naive_steps=16,
                    describe=lambda: (lambda c: f"channels {c.channels}, dilations {c.dilations}, "
                                                f"kernel {c.kernel}")(WaveNetConfig())),
    "gpt": dict(build=GPT, dims=[64, 256], quick_dims=[64], naive_steps=32,
                describe=lambda: (lambda c: f"d_model {c.d_model}, {c.n_heads} heads, {c.layers} layers")(GPTConfig())),
}
"""--model → the builder (taking `shape`), its default and quick D, the naive steps timed where extrapolated, and a
one-line description of its default configuration."""


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
    model = MODELS[args.model]["build"](shape=(1, side, side)).eval()
    n = args.n
    seeded = lambda: torch.Generator().manual_seed(0)   # noqa: E731
    wall_c, cpu_c, cached = median_time(lambda: model.sample(n, generator=seeded()), args.repeats)
    row = {"D": D, "cached_wall": wall_c, "cached_cpu": cpu_c, "params": sum(p.numel() for p in model.parameters())}
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
    parser.add_argument("--model", choices=list(MODELS), default="wavenet")
    parser.add_argument("--dims", type=int, nargs="+", default=None,
                        help="pixels D (square images); default 16 64 256 784 (wavenet), 64 256 (gpt)")
    parser.add_argument("--n", type=int, default=100, help="samples per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (the median is printed)")
    parser.add_argument("--naive-full-max", type=int, default=64,
                        help="largest D sampled naively in full; above it the naive time is extrapolated")
    parser.add_argument("--naive-steps", type=int, default=None,
                        help="naive steps timed where extrapolated; default 16 (wavenet), 32 (gpt)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="the model's quick D (16, 64 / 64); 1 repeat")
    args = parser.parse_args()
    chosen = MODELS[args.model]
    args.dims = args.dims or (chosen["quick_dims"] if args.quick else chosen["dims"])
    args.naive_steps = args.naive_steps or chosen["naive_steps"]
    if args.quick:
        args.repeats = 1
    torch.set_num_threads(args.threads)

    print(f"{args.model} sampling, {args.n} samples, median of {args.repeats}; default config "
          f"({chosen['describe']()}), untrained; {torch.get_num_threads()} thread(s)", flush=True)
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
