# %% [markdown]
# # 00b · The course's data and how we score samples (appendix to lecture 00)
#
# **Learning objectives.** After this appendix you know
# 1. every data set the lectures use — the 8×8 digits, coloured digits, toy 2-D densities, sprites with known factors, and MNIST from your own files — what it looks like and what it is for;
# 2. how we score models that have no likelihood: the **Fréchet distance** in a small classifier's feature space (and why its sample size must be fixed), **mode coverage** on the 8-Gaussian ring, the **MIG** disentanglement score, and the classifier check for conditional samples;
# 3. what each score says about real data and about noise, so a model's number has a scale.
#
# **Time:** 20 minutes to read; about 15 s to run on a 2-core laptop CPU the first time (measured cold by `benchmarks/notebook_times.py`: most of it training the evaluation classifier once; later runs load it from the cache).

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults run in about 15 s on a 2-core CPU.
SEED = 0            # every random number below follows from it
DEVICE = "auto"     # "auto" = CUDA, then Apple MPS, then CPU
FD_N = 400          # the Fréchet distance's fixed sample size (the statistic is biased by n)
MNIST_ROOT = None   # a folder with MNIST's IDX files (e.g. "~/data/mnist"); None skips the MNIST cells

# %%
import math

import torch
from IPython.display import Markdown, display
from matplotlib.figure import Figure

from coursekit import data, evaluation, resolve_device, seed_everything, viz
from coursekit.data import sprites, toy2d

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
splits = data.digits()

# %% [markdown]
# ## 1. Image data that ships with the course
#
# **Digits** (lecture 00 onwards): 1,797 images, 8×8, 17 grey levels, with the fixed split train / val / test = 1000 / 350 / 447. **Coloured digits** (lecture 04): the same digits with coloured ink, 3 channels and a few levels per channel; the tint is a known factor. The three channels of a pixel are strongly dependent — they all follow the same stroke — which is exactly what PixelCNN's R → G → B ordering, $p(r)\,p(g \mid r)\,p(b \mid r, g)$, models.

# %%
colour = data.colour_digits(levels=4, seed=SEED)
print(colour.train)
print("tints (RGB, Okabe–Ito colours):", [tuple(round(v, 2) for v in t.tolist()) for t in data.TINTS])
fig = Figure(figsize=(7.2, 2.1), layout="constrained")
ax1, ax2 = fig.subplots(2, 1)
viz.image_grid(splits.train.x[:12], nrow=12, ax=ax1); ax1.set_title("digits: 17 grey levels", fontsize=8)
viz.image_grid(colour.train.x[:12], nrow=12, levels=4, ax=ax2); ax2.set_title("coloured digits: 4 levels per channel", fontsize=8)
viz.show(fig, alt="Two rows of the same first 12 training digits. Top: grey digits with 17 levels, light on dark. "
         "Bottom: the same digits with coloured ink, one tint per digit and 4 levels per channel; the tint is a "
         "known factor, the strokes are the same.")

# %% [markdown]
# **Sprites** (lecture 03): one white shape per 32×32 image, rendered at every combination of five known factors — shape (square, ellipse, triangle), scale, rotation, and x, y position — like DeepMind's dSprites, but made here in about a second. Because the factors are known, we can ask whether a model's latent code has one dimension per factor (*disentanglement*). Rotation is measured in turns of each shape's own symmetry (a square turned by 90° is the same square), so every combination of factors gives a different image.

# %%
sp = sprites.sprites(seed=SEED)
print(sp.train, "factors:", sp.train.factor_names, sep="\n")
viz.show(viz.image_grid(sp.train.x[:16], nrow=8, levels=2),
         alt="16 training sprites in two rows of eight: one white square, ellipse or triangle per black 32 × 32 "
         "image, each at its own size, angle and position.")

# a traversal: change one factor at a time from a middle setting
middle = dict(shape=0, scale=0.8, rotation=0.0, x=0.5, y=0.5)
sweeps = {"shape": [0, 1, 2, 0, 1, 2], "scale": torch.linspace(0.6, 1.0, 6).tolist(),
          "rotation": torch.linspace(0, 5 / 6, 6).tolist(), "x": torch.linspace(0, 1, 6).tolist(),
          "y": torch.linspace(0, 1, 6).tolist()}
rows = [torch.stack([sprites.render(**{**middle, name: v}) for v in values]) for name, values in sweeps.items()]
viz.show(viz.image_grid(torch.cat(rows), nrow=6, levels=2, titles=[f"{n}" if i == 0 else "" for n in sweeps for i in range(6)]),
         alt="A traversal in five rows of six sprites, one factor changed per row from a middle setting: shape "
         "(square, ellipse, triangle, twice), scale (growing), rotation (the square turning), x (moving left to "
         "right) and y (moving top to bottom).")

# %% [markdown]
# ## 2. Toy 2-D densities
#
# For flows, GANs and diffusion we first look at two dimensions, where we can *see* the density a model learns and compare it with the truth. Where the density is known in closed form — the Gaussian mixtures and the checkerboard — `log_prob` gives it, so a lecture can draw the true density next to the learned one.

# %%
fig = Figure(figsize=(7.7, 4.0), layout="constrained")
axes = fig.subplots(2, 4).flatten()
for ax, name in zip(axes[:5], toy2d.TOY_NAMES):
    toy = toy2d.toy_distribution(name)
    viz.scatter_2d(toy.sample(2000, generator=generator), ax=ax, s=1, xlim=(-3, 3), ylim=(-3, 3))
    ax.set_title(f"{name}" + (" (log p known)" if toy.has_log_prob else ""), fontsize=8)
for ax, toy in zip(axes[5:7], [toy2d.EightGaussians(), toy2d.Checkerboard()]):
    viz.density_2d(toy.log_prob, (-3, 3), (-3, 3), resolution=120, ax=ax)
    ax.set_title(f"true density: {toy.name}", fontsize=8)
axes[7].axis("off")
viz.show(fig, alt="Seven panels on the square from −3 to 3. Five scatter plots of samples: two interleaved half-moons, "
         "eight small clusters on a circle, a swiss-roll spiral, a checkerboard of filled squares and three "
         "concentric rings. Then the true densities of the eight Gaussians (eight bright spots on a dark ground) "
         "and of the checkerboard (flat bright squares), as heat maps.")

# %% [markdown]
# ## 3. MNIST, from files you provide
#
# On a GPU the lectures scale to MNIST (28×28, 256 levels). `coursekit` reads the four IDX files (gzipped or not) from a folder you name, checks each one's MD5 on the decompressed bytes, and uses train = first 50,000 training images, val = last 10,000, test = the official 10,000. Nothing is downloaded unless you ask: `coursekit.data.mnist.download(root)` fetches the files when you are online. Set `MNIST_ROOT` in the parameters cell to see them here; without the files you get a message that says which are missing and where to put them:

# %%
if MNIST_ROOT is None:
    try:
        data.load("mnist", root="mnist-files-not-here", split="test")
    except FileNotFoundError as err:
        print(str(err).splitlines()[0])
else:
    mnist_test = data.load("mnist", root=pathlib.Path(MNIST_ROOT).expanduser(), split="test")
    print(mnist_test)
    viz.show(viz.image_grid(mnist_test.x[:16], nrow=8, levels=256),
             alt="The first 16 MNIST test digits in two rows of eight, 28 × 28 pixels with 256 grey levels, light on dark.")

# %% [markdown]
# ## 4. Scoring samples without a likelihood
#
# A GAN has no $\log p_\theta(x)$; a VAE has only a bound. To compare samples we need scores computed from the samples alone.
#
# ### The Fréchet distance
#
# Map each image to the features $\phi(x)$ of a small classifier trained on the digits, fit a Gaussian to the features of each set, and measure the Fréchet (2-Wasserstein) distance between the two Gaussians:
# $$\mathrm{FD} = \lVert \mu_a - \mu_b \rVert^2 + \mathrm{Tr}\!\left(\Sigma_a + \Sigma_b - 2\,(\Sigma_a \Sigma_b)^{1/2}\right).$$
# This is the FID of Heusel et al. (2017), with our own classifier in place of Inception. Lower is better; 0 means the two feature distributions have the same mean and covariance. **The estimate is biased by the sample size $n$** (a smaller $n$ gives a larger FD even for two sets from the same distribution), so every FD in this course uses the same fixed $n$ and says so. First the classifier (trained once, then loaded from a cache):

# %%
clf = evaluation.classifier(splits, seed=SEED, device=device, progress=True)
print(f"evaluation classifier: test accuracy {clf.test_accuracy:.3f}"
      f" ({'loaded from the cache' if clf.from_cache else f'trained in {clf.train_seconds:.1f} s'})")

# %%
ref = evaluation.frechet_reference(splits, clf, n=FD_N, seed=SEED)
rows = ["| set compared with the test digits | FD |", "|---|---|",
        f"| training digits (real vs real: the best a model can hope for) | {float(ref['real']):.1f} |",
        f"| floor-model samples (independent pixels) | {float(ref['floor']):.1f} |",
        f"| uniform noise | {float(ref['noise']):.1f} |"]
sigmas = [0.05, 0.1, 0.2, 0.4]
train_float = data.to_float(splits.train.x)
for s in sigmas:
    noisy = (train_float + s * torch.randn(train_float.shape, generator=generator)).clamp(0, 1)
    rows.append(f"| training digits + Gaussian noise, σ = {s} | {float(evaluation.frechet_distance(noisy, splits.test, clf, n=FD_N)):.1f} |")
display(Markdown("\n".join(rows) + f"\n\nOne protocol for every row: {FD_N} images of the set against {FD_N} test digits, "
                 "none of them copies of a test digit. The score grows steadily with the noise, from the real-vs-real "
                 "row up: it measures sample quality, not likelihood."))

# %% [markdown]
# > **Common mistake.** Comparing FDs computed with different sample sizes, or with different feature networks. FD is only a ranking within one protocol: same classifier, same $n$, same reference set.
#
# ### Mode coverage on the 8-Gaussian ring
#
# A model of the ring of 8 Gaussians can fail in two ways: **missing modes** (mode collapse, lecture 07) and **bad samples** between the modes. `mode_coverage` assigns each sample to its nearest mode, counts it as good if it lies within 3 standard deviations, and counts a mode as *hit* if it receives at least a tenth of its fair share of samples.

# %%
ring = toy2d.EightGaussians()
exact = ring.sample(2000, generator=generator)
collapsed = exact[torch.isin(torch.cdist(exact, ring.modes.float()).argmin(1), torch.tensor([0, 1, 2]))]
noise = 6 * torch.rand(2000, 2, generator=generator) - 3
rows = ["| samples | modes hit | fraction within 3σ of a mode |", "|---|---|---|"]
for name, x in [("exact samples", exact), ("only 3 modes (collapsed)", collapsed), ("uniform noise", noise)]:
    c = evaluation.mode_coverage(x, ring.modes, ring.std)
    rows.append(f"| {name} | {c['modes_hit']} / 8 | {c['fraction_near_a_mode']:.2f} |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# ### Disentanglement: the mutual information gap (MIG)
#
# For each known factor $v_k$, find the two latent dimensions with the largest mutual information with it; MIG averages the gap between them, normalised by the factor's entropy (Chen et al., 2018):
# $$\mathrm{MIG} = \frac1K \sum_{k=1}^K \frac{I(z_{j^{(k)}}; v_k) - I(z_{j'^{(k)}}; v_k)}{H(v_k)} .$$
# A code with one dimension per factor scores near 1; a code that mixes the factors scores near 0 even if it holds all their information. Check it on hand-built codes for the sprites' factors: the factors themselves (perfectly disentangled), and a random rotation of them (same information, entangled).

# %%
f = sp.train.factors                                            # (N, 5) known factors
code_ = (f - f.mean(0)) / f.std(0)                              # one latent per factor
code_ = torch.cat([code_, torch.randn(len(f), 2, generator=generator)], 1)  # plus 2 nuisance dimensions
rotation, _ = torch.linalg.qr(torch.randn(7, 7, generator=generator))
print(f"MIG, disentangled code: {evaluation.mig(code_, f):.3f}")
print(f"MIG, the same code randomly rotated: {evaluation.mig(code_ @ rotation, f):.3f}")

# %% [markdown]
# ### Do conditional samples show the requested class?
#
# For a conditional model ("draw a 3") we ask the classifier: the fraction of samples it labels as the requested class. Real test digits with their true labels show the ceiling; shuffled labels show chance.

# %%
labels = splits.test.y
shuffled = labels[torch.randperm(len(labels), generator=generator)]
print(f"true labels:     {evaluation.conditional_accuracy(splits.test.x, labels, clf):.3f}")
print(f"shuffled labels: {evaluation.conditional_accuracy(splits.test.x, shuffled, clf):.3f}")

# %% [markdown]
# ## Summary
#
# - Everything runs offline on data that ships with the course: the digits (and a coloured variant), toy 2-D densities with known log-densities where they exist, and sprites with known factors; MNIST comes from files you point to, checked by their MD5s.
# - The Fréchet distance in a small classifier's feature space scores sample quality; it depends on $n$, so we fix $n$ and always show the real-vs-real reference next to a model's number.
# - Mode coverage separates *missing modes* from *bad samples*; MIG measures whether each factor lives in one latent dimension; the classifier check tells whether conditional samples obey their label.
#
# **Exercises.** No graded exercise for this appendix. Try: (a) compute the real-vs-real FD at n = 100 and n = 350 — which is larger, and why? (b) Make a code that is disentangled but *noisy* (add noise to each latent) and watch MIG fall. (c) How small must the weight of one of the 8 modes be before `mode_coverage` stops counting it?
#
# **References.**
# - M. Heusel et al., *GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium* (the FID), NeurIPS 2017.
# - M. Bińkowski et al., *Demystifying MMD GANs* (the bias of FID in $n$), ICLR 2018.
# - R. T. Q. Chen, X. Li, R. Grosse, D. Duvenaud, *Isolating Sources of Disentanglement in VAEs* (MIG), NeurIPS 2018.
# - L. Matthey, I. Higgins, D. Hassabis, A. Lerchner, *dSprites: Disentanglement testing Sprites dataset* (2017).
# - A. Srivastava et al., *VEEGAN* (mode coverage on a ring of Gaussians), NeurIPS 2017.
# - Y. LeCun, C. Cortes, C. Burges, *The MNIST database of handwritten digits*; H. Xiao, K. Rasul, R. Vollgraf, *Fashion-MNIST* (2017).
