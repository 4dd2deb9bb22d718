"""How long each lecture widget takes to answer a slider move: from setting the value to new PNG bytes.

Builds every widget of lectures 00-03, lecture 07's latent walk and lecture 08's two sliders as the lectures do, with the lectures' default
architectures and widget arguments, and moves each slider through a fixed list of values:

    kl_fit_demo              lecture 00   separation d and weight w (the reverse fit runs each time)
    image_rows_slider        lecture 01   the PCA code size k (two rows of 12 digits)
    interpolation_widget     lectures 01-02   t along the path, and the path's kind
    latent_traversal_widget  lecture 02   z_1, z_2, ... of a 16-D VAE (16 sliders)
    beta_vae_widget          lecture 03   β over five trained β-VAEs on 32×32 sprites
    latent_walk_slider       lecture 07   t along a direction and the direction, eight DCGAN digits (untrained)
    forward_process_slider   lecture 08   the time step t: eight digits x_t and 2,000 points of the ring at step t
    guidance_slider          lecture 08   the guidance weight w over five stored sets of 100 samples

The models are the lectures' architectures (lecture 02's VAE: 16 latents, 2 × 512 hidden
units; lecture 03's: 10 latents, 2 × 256, 32×32 sprites, five β), trained for only
`--epochs` epochs: the update time depends on the figure and the decoder's size, not on how
well the model is trained. Each update is timed from `slider.value = v` to the moment
`box.image.value` holds the new bytes (what the kernel does; the browser's round trip and
decoding come on top), and the script prints the mean and the maximum per widget, and the
picture's size in pixels and bytes.

    python benchmarks/widget_times.py              # ~1 min on 2 cores, most of it training the stand-ins
    python benchmarks/widget_times.py --repeats 3  # each list of slider values three times

One thread (as the lectures on a CPU). Times are wall-clock; on a shared machine they are inflated.
"""
from __future__ import annotations

import argparse
import statistics
import struct
import time

import torch

from coursekit import data, viz
from coursekit.data import sprites
from coursekit.models import VAE
from coursekit.models.diffusion import NoiseSchedule
from coursekit.models.gan import GAN, dcgan_digits
from coursekit.training import train


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    return struct.unpack(">II", bytes(png[16:24]))


def time_moves(box, moves: list[tuple[str, object]], repeats: int) -> list[float]:
    """Seconds per update for each (slider name, value) in `moves`; each move must change the picture."""
    times = []
    for _ in range(repeats):
        for name, value in moves:
            if box.sliders[name].value == value:    # a later pass: already there, nothing would be drawn
                continue
            before = bytes(box.image.value)
            start = time.perf_counter()
            box.sliders[name].value = value
            new = bytes(box.image.value)
            times.append(time.perf_counter() - start)
            if new == before:
                raise RuntimeError(f"moving {name} to {value!r} did not change the picture")
    return times


def report(name: str, box, times: list[float]) -> None:
    png = bytes(box.image.value)
    w, h = png_size(png)
    print(f"{name:<34} mean {statistics.mean(times):6.3f} s   max {max(times):6.3f} s   "
          f"({len(times)} updates; picture {w}×{h} px, {len(png) / 1000:.0f} kB)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=1, help="training epochs of the stand-in models")
    parser.add_argument("--repeats", type=int, default=1, help="passes over each widget's list of slider moves")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    # ---- lecture 00: the KL demo, starting at the lecture's separation (7)
    box = viz.kl_fit_demo(separation=7.0)
    moves = [("separation", 6.0), ("separation", 5.0), ("separation", 3.0), ("separation", 8.5),
             ("weight", 0.3), ("weight", 0.7), ("separation", 7.0), ("weight", 0.5)]
    report("kl_fit_demo (lecture 00)", box, time_moves(box, moves, args.repeats))

    # ---- lecture 01: PCA code size k over two rows of 12 test digits
    digits = data.load("digits")
    x = digits.test.x[:12].float() / 16                                   # (12, 1, 8, 8) in [0, 1]
    flat = digits.train.x.flatten(1).float() / 16
    mean = flat.mean(0)
    _, _, v = torch.linalg.svd(flat - mean, full_matrices=False)         # principal directions, (64, 64)

    def pca_rows(k: int) -> dict:
        basis = v[:k]                                                     # (k, 64)
        recon = ((x.flatten(1) - mean) @ basis.T @ basis + mean).reshape(x.shape)
        return {"test digits": x, f"PCA, k = {k}": recon}

    box = viz.image_rows_slider(pca_rows, list(range(1, 65)), description="code size k", value=5)
    moves = [("v", k) for k in (6, 8, 12, 2, 20, 32, 1, 5)]
    report("image_rows_slider (lecture 01, PCA)", box, time_moves(box, moves, args.repeats))

    # ---- lecture 02: the main VAE (16 latents, 2 × 512), its traversal and interpolation
    loaders = data.loaders(digits, batch_size=64, seed=args.seed)
    vae = VAE(latent_dim=16, hidden=512, dropout=0.5, levels=digits.train.levels, shape=(1, 8, 8))
    train(vae, loaders["train"], epochs=args.epochs, lr=1e-3, device="cpu", seed=args.seed, progress=False)
    vae.eval()
    with torch.no_grad():
        mu, _ = vae.encode(digits.test.x[:8])
    box = viz.latent_traversal_widget(vae.decode, mu[0], limit=3.0, levels=digits.train.levels,
                                      labels={j: f"KL {0.1 * j:.1f}" for j in range(16)}, highlight=range(8))
    moves = [("z1", 2.0), ("z2", -1.5), ("z1", -2.0), ("z5", 1.0), ("z16", 2.5), ("z3", 0.5), ("z2", 1.0), ("z1", 0.0)]
    report("latent_traversal_widget (lecture 02)", box, time_moves(box, moves, args.repeats))

    box = viz.interpolation_widget(vae.decode, mu[1], mu[2], levels=digits.train.levels, steps=8)
    moves = [("t", 0.3), ("t", 0.8), ("t", 0.1), ("path", "spherical"), ("t", 0.6), ("t", 0.95), ("path", "linear"),
             ("t", 0.5)]
    report("interpolation_widget (lecture 02)", box, time_moves(box, moves, args.repeats))

    # ---- lecture 03: the β slider over five β-VAEs on 32×32 sprites (10 latents, 2 × 256)
    sprite_splits = sprites.sprites(size=32, seed=args.seed)
    x_all = torch.cat([s.x for s in sprite_splits])
    factors_all = torch.cat([s.factors for s in sprite_splits])
    sprite_loaders = data.loaders(sprite_splits, batch_size=64, seed=args.seed)
    models = {}
    for beta in (0.5, 1, 2, 4, 8):
        model = VAE(shape=(1, 32, 32), decoder="bernoulli", latent_dim=10, architecture="mlp", hidden=256,
                    dropout=0.0, beta_kl=float(beta))
        train(model, sprite_loaders["train"], epochs=args.epochs, lr=1e-3, device="cpu", seed=args.seed, progress=False)
        models[float(beta)] = model
    box = viz.beta_vae_widget(models, x_all, factors_all, sprite_splits.train.factor_names, bins=20, seed=args.seed)
    moves = [("beta", b) for b in (1.0, 2.0, 4.0, 8.0, 0.5, 4.0, 1.0, 8.0)]
    report("beta_vae_widget (lecture 03)", box, time_moves(box, moves, args.repeats))

    # ---- lecture 07: the latent walk, eight codes of the digits DCGAN along two directions (its weights do not
    # change the time an update takes, so it is not trained here)
    gan = GAN(dcgan_digits()).eval()
    z = gan.noise(8, generator=torch.Generator().manual_seed(args.seed))
    directions = {name: torch.randn(gan.config.latent_dim, generator=torch.Generator().manual_seed(args.seed + k))
                  for k, name in enumerate(("first", "second"), start=1)}
    box = viz.latent_walk_slider(lambda codes: gan.sample(len(codes), z=codes), z, directions, limit=6.0, levels=17)
    moves = [("t", t) for t in (1.0, 2.5, -3.0, 6.0)] + [("direction", "second"), ("t", 0.5), ("direction", "first")]
    report("latent_walk_slider (lecture 07)", box, time_moves(box, moves, args.repeats))

    # ---- lecture 08: the forward process at step t (the digits model's grey-level schedule, one fixed noise draw)
    # and the guidance weight over stored samples (what the slider shows does not depend on how they were drawn)
    schedule = NoiseSchedule.grey_level(1000, levels=17)
    x0 = digits.test.x[:8].float() / 8 - 1                               # 17 levels on the network's [-1, 1]
    ring = data.toy2d.toy_dataset("8gaussians", 2000, seed=args.seed).tensors[0]   # (2000, 2)
    g = torch.Generator().manual_seed(args.seed)
    box = viz.forward_process_slider(schedule.q_sample, x0, ring, torch.randn(x0.shape, generator=g),
                                     torch.randn(ring.shape, generator=g), alpha_bars=schedule.alpha_bars)
    stops = list(box.sliders["t"].options)
    moves = [("t", t) for t in (stops[3], stops[len(stops) // 2], stops[-1], stops[1], stops[-2])]
    report("forward_process_slider (lecture 08)", box, time_moves(box, moves, args.repeats))
    weights = (0.0, 0.5, 1.0, 2.0, 4.0)
    samples = {w: torch.randint(0, 17, (100, 1, 8, 8), generator=g) for w in weights}
    curves = {"classified as requested": {w: 0.9 + 0.02 * k for k, w in enumerate(weights)},
              "within-class diversity (data = 1)": {w: 0.9 - 0.05 * k for k, w in enumerate(weights)}}
    box = viz.guidance_slider(samples, curves, nrow=10, levels=17)
    moves = [("w", w) for w in (1.0, 4.0, 0.5, 2.0, 0.0)]
    report("guidance_slider (lecture 08)", box, time_moves(box, moves, args.repeats))


if __name__ == "__main__":
    main()
