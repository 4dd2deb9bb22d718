# %% [markdown]
# # 04d · Autoregressive models IV: the VQ-VAE and an autoregressive prior over its codes
#
# **Learning objectives.** After this lecture you can
# 1. say why a pixel-level autoregressive model is slow and spends most of its capacity on local detail, and how compressing the image to a small grid of **discrete codes**, then modelling the codes autoregressively, changes that (the recipe of VQ-VAE, VQ-VAE-2, DALL·E 1 and VQGAN);
# 2. quantise an encoder's output with a **codebook** (nearest code), pass the decoder's gradient through the nearest-code step with the **straight-through estimator** (checked by autograd), and say what each of the three loss terms — reconstruction, codebook, commitment — moves;
# 3. train a VQ-VAE and read its code grids, its reconstructions and its **code usage** (perplexity, dead codes and their restarts);
# 4. fit a **PixelCNN prior** over the grid of code indices and sample codes → decoder → images, next to codes drawn uniformly;
# 5. derive the **bound** $-\log p(x) \le -\log p(x \mid k(x)) - \log p(k(x))$, compute both terms in bits, and say what it bounds and what it does not.
#
# **Time:** about 45 minutes of reading and playing; the notebook runs top to bottom in under half a minute on a 2-core laptop CPU the first time (26 s measured cold by `benchmarks/notebook_times.py`), and in seconds afterwards, because the trained models are cached on disk.
# **Before you start:** run all cells (*Run → Run All Cells*). Lecture 02 (latent variable models, the ELBO) and lectures 04a-04b (the chain rule, PixelCNN's masked convolutions) are the background.

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults run the lecture in about a minute on a 2-core CPU.
SEED = 0             # every random number below follows from it
DEVICE = "auto"      # "auto" = CUDA, then Apple MPS, then CPU
DATA = "digits"      # "digits" (8×8, 17 grey levels, ships with the course) or "mnist" (28×28)         GPU: "mnist"
MNIST_ROOT = None    # for DATA = "mnist": the folder with the IDX files (coursekit.data.mnist.download fetches them)
DOWNSAMPLE = 1       # stride-2 stages: 8×8 digits → a 4×4 grid of codes (2: a 2×2 grid)                GPU: 2 (7×7 grid)
CODES = 16           # M, the number of codes in the codebook                                            GPU: 64
CODE_DIM = 8         # d, the length of one code vector                                                  GPU: 16
CHANNELS = 32        # channels of the encoder's and decoder's convolutions                              GPU: 64
BETA_COMMIT = 0.25   # β, the weight of the commitment term (the paper's value)
EPOCHS = 25          # VQ-VAE epochs, a fixed number (no early stopping: section 3 says why)            GPU: 20
LR = 2e-3            # Adam's step size for the VQ-VAE
PRIOR_CHANNELS = 32  # the PixelCNN prior's channels                                                     GPU: 64
PRIOR_LAYERS = 2     # its residual blocks of masked 3×3 convolutions                                    GPU: 5
PRIOR_EPOCHS = 60    # at most (early stopping on the validation codes' NLL, best weights kept)          GPU: 40
PATIENCE = 10        # epochs without a better validation NLL before the prior stops
PRIOR_LR = 3e-3      # Adam's step size for the prior
CACHE_DIR = None     # trained models are kept here (None: $COURSEKIT_CACHE, else ~/.cache/coursekit)
RETRAIN = False      # True: train every model again even if a cached one exists

# %%
import math
import time

import torch
from IPython.display import Markdown, display
from matplotlib.figure import Figure

from coursekit import data, evaluation, resolve_device, seed_everything, viz
from coursekit.evaluation import evaluate_model, format_table
from coursekit.models import PixelCNN
from coursekit.models.vq_vae import VQVAE, code_splits, nearest_code
from coursekit.training import train_cached

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
if device.type == "cpu":
    torch.set_num_threads(1)   # these networks are small: one thread is faster than two that fight for a busy CPU
splits = data.load(DATA, **({"root": MNIST_ROOT} if DATA in ("mnist", "fashion_mnist") else {}))
K, SHAPE, D = splits.train.levels, tuple(splits.train.x.shape[1:]), splits.train.dims
loaders = data.loaders(splits, batch_size=64 if DATA == "digits" else 128, seed=SEED)
test_x = splits.test.x.to(device)
config = dict(shape=SHAPE, levels=K, downsample=DOWNSAMPLE, codes=CODES, code_dim=CODE_DIM, channels=CHANNELS,
              beta_commit=BETA_COMMIT)
print(f"torch {torch.__version__} on {device}; {DATA}: {[len(s) for s in splits]} images of shape {SHAPE}, "
      f"K = {K} levels, D = {D} pixels")

# %% [markdown]
# ## 1. Why model codes instead of pixels
#
# The models of lectures 04a–04c are exact, and on these digits they are the best likelihoods of the course so far. They pay for it twice:
# - **time**: sampling runs the network once per pixel, $D$ passes one after the other (per channel in colour);
# - **capacity**: most of the bits of an image are local detail — where exactly an edge falls, the grey level of a stroke's border — and a pixel-level model spends most of its parameters and most of its passes on that detail, while the structure that makes a digit a "3" spans the whole image.
#
# The **VQ-VAE** (van den Oord, Vinyals & Kavukcuoglu, 2017) splits the job in two. An autoencoder compresses the image into a small $h \times w$ grid of **discrete codes**: each cell holds one index $k_{ij} \in \{0, \dots, M-1\}$ into a learned **codebook** of $M$ vectors, and the decoder turns the grid back into pixels. Then an autoregressive model — the **prior** — learns the distribution of the code grids. Sampling draws a grid from the prior ($hw$ passes, not $D$) and decodes it in one pass. The prior sees a short sequence of symbols that each stand for a patch, so it models how the parts of an image go together; the decoder renders the local detail.
#
# This is the recipe behind much of image generation before diffusion: **VQ-VAE-2** (Razavi et al., 2019) uses two grids (32×32 and 64×64 for 256×256 images) with PixelCNN priors; **DALL·E 1** (Ramesh et al., 2021) compresses 256×256 images to 32×32 grids of 8192 codes (with a discrete VAE trained by a Gumbel-softmax relaxation instead of the straight-through estimator) and models text and code tokens with one transformer; **VQGAN** (Esser et al., 2021) trains the autoencoder with a perceptual and an adversarial loss and a transformer prior over 16×16 grids. The cell counts the sequential passes a sampler needs, in pixels and in codes:

# %%
for what, pixels, grid in (("these digits, 8×8, a 4×4 grid", 8 * 8, 4 * 4),
                           ("MNIST, 28×28, a 7×7 grid", 28 * 28, 7 * 7),
                           ("256×256 colour (R → G → B), a 32×32 grid", 256 * 256 * 3, 32 * 32)):
    print(f"{what:42s}: {pixels:7,d} passes pixel by pixel, {grid:5,d} code by code ({pixels / grid:4.0f}× fewer)")

# %% [markdown]
# > **Common mistake.** Summary sheet 000 draws the pipeline as $x \rightarrow z \xrightarrow{\text{enc}} \text{codebook} \xrightarrow{\text{dec}} z_q \rightarrow \hat x$, with the encoder and decoder on the wrong arrows. The encoder maps $x$ to $z_e$; the step from $z_e$ to $z_q$ is no network at all but a **nearest-neighbour lookup** in the codebook, an $\arg\min$ that has **no gradient**; the decoder maps $z_q$ to $\hat x$. The lookup is why the VQ-VAE needs a trick to train (section 2), and why its codes are discrete symbols an autoregressive prior can model.
#
# ## 2. The quantiser, and how gradients cross it
#
# The encoder maps the image to a grid of vectors, $z_e = E(x) \in \mathbb R^{d \times h \times w}$ (here $d$ = `CODE_DIM`, and the 8×8 digit becomes a 4×4 grid: one vector per 2×2 patch, though each vector sees more of the image than its patch). The **codebook** is a matrix $e \in \mathbb R^{M \times d}$ of $M$ code vectors $e_0, \dots, e_{M-1}$, learned with the rest. Every cell is replaced by its nearest code:
# $$k_{ij} = \arg\min_{m} \lVert z_{e,ij} - e_m \rVert^2, \qquad z_{q,ij} = e_{k_{ij}},$$
# and the decoder turns $z_q$ into a categorical distribution over the $K$ levels of every pixel, $p(x \mid k) = \prod_d p(x_d \mid z_q)$, as the VAE of lecture 02 does. `nearest_code` computes all the distances with one matrix product, $\lVert z - e_m \rVert^2 = \lVert z\rVert^2 - 2 z \cdot e_m + \lVert e_m \rVert^2$; the cell checks it against the direct computation on an untrained model.

# %%
torch.manual_seed(SEED)
probe = VQVAE(**config).to(device).eval()
x_probe = test_x[:64]
z_e = probe.encode(x_probe)                                                   # (64, d, h, w)
z_q, k = probe.quantize(z_e)                                                  # (64, d, h, w), (64, h, w)
cells = z_e.permute(0, 2, 3, 1).reshape(-1, CODE_DIM)                        # (64, d, h, w) → (64·h·w, d)
direct = (cells[:, None, :] - probe.codebook[None]).pow(2).sum(-1).argmin(1)  # (64·h·w, M) distances → (64·h·w,)
print(f"z_e {tuple(z_e.shape)} → codes k {tuple(k.shape)} → z_q {tuple(z_q.shape)}; the matrix-product nearest "
      f"code equals the direct one in {int((nearest_code(cells, probe.codebook) == direct).sum())} of {len(cells)} cells")
print(f"untrained, the {len(cells)} cells of 64 test digits use {len(k.unique())} of the {CODES} codes")

# %% [markdown]
# The untrained codebook is drawn from $U(-1/M, 1/M)$, tiny next to the encoder's outputs, so the cells snap to a few codes (4 of the 16 above). `VQVAE` therefore sets the codebook from the data on its first training batch (every $e_m$ becomes the $z_e$ of a random cell): section 3 shows what happens to codes that are still never chosen after that.
#
# **The gradient problem.** The reconstruction loss $-\log p(x \mid z_q)$ depends on the encoder only through $k = \arg\min$, which is piecewise constant: a small change of $z_e$ does not change $k$, so $\partial z_q / \partial z_e = 0$ almost everywhere (and autograd has no path at all through the integer $k$). The **straight-through estimator** (Bengio, Léonard & Courville, 2013) uses $z_q$ in the forward pass and pretends the quantiser is the identity in the backward pass:
# $$z_q^{\text{st}} = z_e + \mathrm{sg}[z_q - z_e],$$
# where $\mathrm{sg}$ (stop-gradient, `.detach()`) is the identity forwards with zero derivative. Its value is $z_q$; its derivative with respect to $z_e$ is the identity, so the encoder receives exactly the gradient the decoder sends to $z_q$. The cell checks both by autograd.

# %%
x_long = x_probe.long()
nll = lambda z: torch.nn.functional.cross_entropy(probe.decoder_logits(z), x_long, reduction="sum")   # −log p(x | z)
grads = torch.autograd.grad(nll(z_q), list(probe.encoder.parameters()), allow_unused=True)
print(f"decoding z_q itself: the encoder's {len(grads)} parameter tensors get "
      f"{sum(g is not None for g in grads)} gradients (no path through the argmin)")
z_q_st = z_e + (z_q - z_e).detach()                                      # straight-through: value z_q, gradient → z_e
grad_z_e, grad_z_q_st = torch.autograd.grad(nll(z_q_st), [z_e, z_q_st])
print(f"straight-through: value − z_q at most {(z_q_st - z_q).abs().max().item():.1e} (rounding); "
      f"∂loss/∂z_e − ∂loss/∂z_q at most {(grad_z_e - grad_z_q_st).abs().max().item():.1e} "
      f"(the gradient itself up to {grad_z_q_st.abs().max().item():.2f})")

# %% [markdown]
# **The three loss terms.** With the straight-through copy the reconstruction trains the decoder and the encoder, but nothing yet moves the codebook (the decoder's gradient skips it) or keeps the encoder's outputs near the codes. Two squared errors do, each with a stop-gradient on one side:
# $$\mathcal L = \underbrace{-\log p(x \mid z_q^{\text{st}})}_{\text{reconstruction}} \;+\; \underbrace{\lVert \mathrm{sg}[z_e] - e_k \rVert^2}_{\text{codebook}} \;+\; \beta\,\underbrace{\lVert z_e - \mathrm{sg}[e_k] \rVert^2}_{\text{commitment}},$$
# summed over the grid cells. The **codebook** term pulls each chosen code towards the encoder outputs that chose it (with plain gradient steps this is an online $k$-means: a code moves towards the mean of its cluster); the **commitment** term, with weight $\beta$ (0.25 in the paper and here), pulls the encoder's outputs towards their codes, so that they do not wander off and grow while the codebook chases them. Both terms have the same value; only the stop-gradient decides what each moves. `VQVAE.loss` returns the three terms; the cell differentiates each one separately and prints the size of its gradient on the three groups of parameters.

# %%
parts = probe.loss((x_probe,))                # eval mode: no codebook initialisation, no restarts
groups = {"encoder": list(probe.encoder.parameters()), "codebook": [probe.codebook],
          "decoder": list(probe.decoder.parameters())}
terms = {"reconstruction": parts["recon"], "codebook": parts["codebook"],
         "β · commitment": BETA_COMMIT * parts["commitment"]}
print(f"{'term':>15s}" + "".join(f"{g:>11s}" for g in groups) + "   (gradient norms; 0 = no gradient at all)")
for name, term in terms.items():
    norms = []
    for params in groups.values():
        gs = [g for g in torch.autograd.grad(term, params, retain_graph=True, allow_unused=True) if g is not None]
        norms.append(torch.cat([g.flatten() for g in gs]).norm().item() if gs else 0.0)
    print(f"{name:>15s}" + "".join(f"{n:11.3g}" for n in norms))

# %% [markdown]
# Read the table by rows: the reconstruction moves the encoder (only thanks to the straight-through copy) and the decoder, never the codebook; the codebook term moves only the codebook; the commitment term moves only the encoder.
#
# > **Common mistake.** Writing the quantiser as `z_q = codebook[k]` and training end to end "works": the loss falls, because the decoder and the codebook learn. But the encoder receives no gradient from the reconstruction (first line of the cell above), only the commitment term's pull towards the codes: it learns to sit near the codebook, never to describe the image. The straight-through line `z_e + (z_q - z_e).detach()` must be written exactly so: `z_e + (z_q - z_e)` without `.detach()` is $z_q$ again with its missing gradient, and swapping the stop-gradients of the codebook and commitment terms makes $\beta$ weigh the wrong thing.
#
# > **Easy to misread.** The CS 2770 slides (seed 001) introduce vector quantisation with "Common methods: clustering (e.g., k-means)", then "K-means, EM (GMM), end-to-end learning". The list is right as a list of ways to quantise; what it does not say is which one the VQ-VAE uses. Fitting a codebook by $k$-means to the features of a fixed encoder is not what the VQ-VAE does: the codebook, the encoder that produces the features and the decoder are trained together, end to end, by the one loss above. The codebook term resembles $k$-means only in that each code is pulled towards the mean of the encoder outputs assigned to it (the variant in the paper's appendix replaces the gradient step by exactly such a running mean, an exponential moving average).
#
# ## 3. Training the VQ-VAE, and how many codes it uses
#
# The VQ-VAE trains with Adam for a fixed `EPOCHS` on the 1,000 training digits. `fit` is lecture 04a's, with the stopping rule as an option: the VQ-VAE keeps its last weights (`restore_best=False`, no early stopping), the prior of section 4 stops early on its validation NLL. The model starts from the same random numbers as seed 0 of `benchmarks/vq_vae_bits_per_dim.py`.

# %%
def fit(name, model, epochs, lr, patience=None, restore_best=True, train_loaders=loaders):
    """Train with Adam on train_loaders, cached on disk; with `patience`, early stopping on the validation loss."""
    model = model.to(device)
    start = time.perf_counter()
    history = train_cached(model, train_loaders["train"], val_data=train_loaders["val"], epochs=epochs,
                           patience=patience, restore_best=restore_best, lr=lr, seed=SEED, device=device,
                           cache_dir=CACHE_DIR, retrain=RETRAIN, name=name, progress=False)
    seconds = time.perf_counter() - start
    model.eval()
    where = "loaded from the cache" if history.from_cache else f"trained in {seconds:.1f} s"
    best = f" (best {history.best_round + 1})" if patience else " (fixed, last weights kept)"
    print(f"{name}: {sum(p.numel() for p in model.parameters()):,} parameters, {len(history['epoch'])} epochs{best}, "
          f"{where}")
    return model, history

torch.manual_seed(SEED)                        # the benchmark's initialisation for this seed
vq, vq_history = fit("vq-vae", VQVAE(**config), EPOCHS, LR, restore_best=False)
h, w = vq.grid
recon_nats, _ = vq.nll_bound_parts(test_x)
print(f"{h}×{w} grid of M = {CODES} codes of d = {CODE_DIM}; test reconstruction −log p(x | k(x)): "
      f"{recon_nats.mean().item() / math.log(2):.1f} bits per image, "
      f"{evaluation.bits_per_dim(recon_nats.mean().item(), D):.3f} bits/dim")
val = vq_history.rounds
best_loss = min(range(len(val["val/loss"])), key=lambda i: val["val/loss"][i])
print(f"validation loss lowest at epoch {best_loss + 1} of {EPOCHS}; from there to the last epoch the validation "
      f"reconstruction falls {val['val/recon'][best_loss]:.1f} → {val['val/recon'][-1]:.1f} nats and the commitment "
      f"term grows {val['val/commitment'][best_loss]:.1f} → {val['val/commitment'][-1]:.1f}")

# %% [markdown]
# The last line is why the VQ-VAE trains for a fixed number of epochs. Its loss holds the commitment term, and that term *grows* as training goes on (presumably because the encoder spreads its outputs to tell more images apart) while the reconstruction keeps improving: with the default parameters the validation loss is lowest at epoch 7, after which the validation reconstruction still falls from 94.4 to 73.6 nats per image. "Stop at the lowest validation loss" would keep an early, blurrier model. The reconstruction term is the number that enters the bound of section 5.
#
# **What the codes look like.** Each test digit below becomes a 4×4 grid of code indices (middle row: the number in each cell is $k_{ij}$, the colour only helps to spot equal codes), and the decoder turns the grid back into the mean image $\mathbb E[x \mid k]$ (bottom row). The 8×8 image with 17 levels has been squeezed into 16 symbols of 4 bits each: 64 bits at most.

# %%
n_show = 10
x_show = test_x[:n_show]
with torch.no_grad():
    k_show = vq.codes(x_show).cpu()                                          # (n, h, w)
    x_back = vq.reconstruct(x_show).cpu()                                    # (n, 1, H, W) mean images
fig = Figure(figsize=(0.85 * n_show, 2.8), layout="constrained")
axes = fig.subplots(3, n_show)
for i in range(n_show):
    axes[0, i].imshow(x_show[i, 0].cpu(), cmap="gray", vmin=0, vmax=K - 1)
    axes[1, i].imshow(k_show[i], cmap="tab20" if CODES <= 20 else "viridis", vmin=0, vmax=CODES - 1)
    for (r, c), code in zip(((r, c) for r in range(h) for c in range(w)), k_show[i].flatten().tolist()):
        axes[1, i].text(c, r, str(code), ha="center", va="center", fontsize=max(4, 28 // max(h, w)))
    axes[2, i].imshow(x_back[i, 0], cmap="gray", vmin=0, vmax=K - 1)
for ax in axes.flat:
    ax.set_axis_off()
for row, label in enumerate(("test digit x", "codes k(x)", "decoded E[x | k]")):
    axes[row, 0].set_title(label, fontsize=7, loc="left")
viz.show(fig, alt=f"{n_show} test digits (top), their {h}×{w} grids of code indices written as numbers in coloured "
         "cells (middle), and the decoder's mean image of each grid (bottom): the digits come back recognisable, "
         "slightly smoothed.")

# %% [markdown]
# **Code usage and dead codes.** A code that no encoder output is nearest to gets no gradient (its codebook term is zero, and the reconstruction never reaches the codebook), so it stays where it is and is never chosen again: a **dead code**, capacity lost. The guard in `VQVAE`: a code unused for `dead_after` consecutive training batches (16, one epoch of the digits) is moved onto the encoder output of a random cell of the current batch, where it is sure to be chosen by someone. The count of these **restarts** is kept. How evenly the codes are used is measured by the **perplexity** $\exp H(\hat p)$ of the code frequencies $\hat p_m$: $M$ when all $M$ codes are used equally, 1 when one code takes every cell — the effective number of codes in use.

# %%
usage = vq.code_usage(test_x).cpu()                                          # p̂ (M,), sums to 1
steps = vq_history.steps
restart_steps = [i for i, r in enumerate(steps["restarts"]) if r > 0]
print(f"test codes: perplexity {vq.perplexity(test_x):.2f} of M = {CODES}; {int((usage == 0).sum())} codes unused "
      f"on the test digits; the most used code takes {usage.max().item():.0%} of the cells")
print(f"dead-code restarts during training: {int(vq.restarts)} codes, at steps "
      + ", ".join(str(i + 1) for i in restart_steps) + f" of {len(steps['restarts'])}; per-batch perplexity "
      f"{min(steps['perplexity']):.2f} at its lowest, {steps['perplexity'][-1]:.2f} at the last batch")
fig = Figure(figsize=(8.0, 2.4), layout="constrained")
ax_use, ax_perp = fig.subplots(1, 2, width_ratios=(1, 1.4))
ax_use.bar(range(CODES), usage.numpy(), color="tab:blue")
ax_use.axhline(1 / CODES, color="black", lw=0.8, ls="--", label="equal use, 1/M")
ax_use.set(xlabel="code m", ylabel="share of test cells p̂_m", title="code usage on the test digits")
ax_use.legend(fontsize=7)
ax_perp.plot(range(1, len(steps["perplexity"]) + 1), steps["perplexity"], lw=0.8, color="tab:blue")
for i in restart_steps:
    ax_perp.axvline(i + 1, color="tab:red", lw=0.6, alpha=0.7)
ax_perp.axhline(CODES, color="black", lw=0.8, ls="--")
ax_perp.set(xlabel="training step (batch of 64)", ylabel="perplexity of the batch's codes", ylim=(0, CODES + 1),
            title="codes in use while training (red: a restart)")
for ax in (ax_use, ax_perp):
    ax.title.set_fontsize(8)
viz.show(fig, alt=f"Left: a bar per code, the share of the test cells it takes, uneven around the dashed line of equal "
         f"use 1/{CODES}. Right: the perplexity of each training batch's codes against the step: it drops towards 1 "
         "early in training, red lines mark the dead-code restarts, and it then climbs and settles below "
         f"M = {CODES}.")

# %% [markdown]
# Early in training the encoder's outputs huddle together and a few codes take almost every cell — the per-batch perplexity falls close to 1 — and the codes that lose are dead. The restarts (red lines) put them back where the data is, and the perplexity recovers. Unequal use at the end is no failure: blank background is far more common than any stroke, and the prior of section 4 is what learns how often each code occurs. What matters is that no code stays dead.
#
# Before fitting a prior, this VQ-VAE already bounds the likelihood under the **uniform prior** $p(k) = M^{-hw}$ (each grid equally likely: the prior the VQ-VAE was trained under); section 5 derives it. `evaluate_model` computes it as the model declares it, a bound with its name:

# %%
rows = {"uniform": evaluate_model(vq, splits.test, name=f"VQ-VAE ({h}×{w} grid, M = {CODES}), uniform prior",
                                  train_split=splits.train)}
print(f"VQ-VAE with the uniform prior: ≤ {rows['uniform'].bits_per_dim:.3f} bits/dim ({vq.bound}); "
      f"the per-pixel floor {rows['uniform'].floor_bits_per_dim:.3f}, "
      f"uniform {rows['uniform'].uniform_bits_per_dim:.3f}")

# %% [markdown]
# ## 4. An autoregressive prior over the codes
#
# Every training digit now has a code grid $k(x)$, an $h \times w$ "image" whose "pixels" take $M$ values. Any model of lectures 04a-04b can learn its distribution; here it is lecture 04b's PixelCNN, in raster order over the 4×4 grid, with **one-hot inputs**: a code index is a name, not a quantity, so code 7 must not be fed as "between 6 and 8". `code_splits` encodes every split once with the trained, frozen VQ-VAE; the prior is then trained like any pixel model, with early stopping on the validation codes.

# %%
codes = code_splits(vq, splits)                                              # (N, 1, h, w) code grids, levels M
code_loaders = data.loaders(codes, batch_size=64 if DATA == "digits" else 128, seed=SEED)
torch.manual_seed(SEED)
prior, prior_history = fit("vq-vae-prior", PixelCNN(shape=(1, h, w), levels=CODES, inputs="one_hot",
                                                    channels=PRIOR_CHANNELS, head=PRIOR_CHANNELS, layers=PRIOR_LAYERS,
                                                    first_kernel=3 if max(h, w) <= 3 else 7),
                           PRIOR_EPOCHS, PRIOR_LR, patience=PATIENCE, train_loaders=code_loaders)
with torch.no_grad():
    prior_bits = -prior.log_prob(codes.test.x.to(device)).mean().item() / math.log(2)
independent_bits = evaluation.floor_bits_per_dim(codes.train, codes.test) * h * w
print(f"test code grids, bits per grid: uniform {h * w * math.log2(CODES):.1f} (hw·log2 M); independent cells "
      f"(each cell's code frequencies) {independent_bits:.1f}; PixelCNN prior {prior_bits:.1f}")

# %% [markdown]
# The uniform prior spends $hw \log_2 M$ = 64.0 bits on every grid. A model of each cell's own code frequencies (the per-pixel floor of lecture 00, applied to the codes) needs 46.1, because each cell's codes are far from equally frequent; the PixelCNN needs 40.4 (measured with the default parameters), by learning how the codes of neighbouring cells go together — which strokes continue which.
#
# > **Easy to misread.** The CS 2770 slides (seed 001) head VQ-VAE-2 "VQ-VAE-2 :VAE+PixelCNN" and say "PixelCNN: use a more expressive bottleneck for VAE (instead of Gaussian)". That is right in substance — the PixelCNN takes the place of a VAE's Gaussian prior — but easily read as a PixelCNN trained inside the VAE. There is no Gaussian anywhere in a VQ-VAE, and the two are not trained together: the VQ-VAE is trained first, under the uniform prior over grids, and the PixelCNN is fitted afterwards to the codes of the frozen encoder, replacing the uniform prior. Retrain the VQ-VAE and its codes are renumbered: the old prior means nothing for it.
#
# **Sampling** is the two stages in order: draw a code grid from the prior (16 passes, one per cell, lecture 04a's sampling loop), look up the codes, decode in one pass. `VQVAE.sample` does it; `pixels="argmax"` shows each pixel's most likely level, `pixels="sample"` draws each pixel from $p(x_d \mid z_q)$ (the model whose likelihood section 5 bounds). For contrast, the last row decodes code grids drawn **uniformly**, what sampling from the VQ-VAE alone, with the prior it was trained under, gives.

# %%
n_samples = 12
vq.attach_prior(prior)
row_images = {"test digits": splits.test.x[n_show:n_show + n_samples],
              "prior codes, pixels argmax": vq.sample(n_samples, pixels="argmax",
                                                      generator=torch.Generator().manual_seed(SEED)),
              "prior codes, pixels drawn": vq.sample(n_samples, generator=torch.Generator().manual_seed(SEED)),
              "uniform codes, pixels argmax": vq.decoder_logits(vq.lookup(torch.randint(
                  CODES, (n_samples, h, w), generator=torch.Generator().manual_seed(SEED)).to(device))).argmax(1)}
fig = Figure(figsize=(0.62 * n_samples, 3.4), layout="constrained")
for ax, (label, images) in zip(fig.subplots(len(row_images), 1), row_images.items()):
    viz.image_grid(images.detach().cpu(), nrow=n_samples, levels=K, ax=ax)
    ax.set_title(label, fontsize=7, loc="left")
viz.show(fig, alt=f"Four rows of {n_samples}: test digits for scale; samples whose codes come from the PixelCNN prior, "
         "decoded with each pixel's most likely level, a few readable digits among digit-sized tangles of strokes; the "
         "same codes with every pixel drawn, noisier; and decodings of uniformly drawn code grids, scattered patches "
         "that form no digit.")

# %% [markdown]
# Next to the test digits in the first row, the prior's samples are poor digits: a few can be read (a 5, a 0), most are digit-sized tangles of strokes. The uniformly drawn codes are worse still — scattered patches that do not join into strokes: every code decodes to a plausible patch, but nothing makes the neighbouring patches agree. That difference is the prior's whole contribution, since the decoder is the same in both rows. Drawing every pixel (third row) adds the decoder's per-pixel noise: given $z_q$ the pixels are independent. On 1,000 tiny digits with a 33k-parameter prior this is as far as the recipe goes; its strength shows at scale, where the code grid is far shorter than the pixel sequence (section 1).
#
# ## 5. The bound: what the VQ-VAE's bits/dim mean
#
# With a prior $p(k)$ over grids and the decoder $p(x \mid k)$, the VQ-VAE is a latent variable model with a discrete latent, as lecture 02's VAE is one with a continuous latent:
# $$p(x) = \sum_{k \in \{0..M-1\}^{h \times w}} p(k)\, p(x \mid k).$$
# The sum has $M^{hw}$ terms ($16^{16} \approx 1.8 \times 10^{19}$ with the default parameters), so $-\log p(x)$ cannot be computed. But every term is non-negative, so the sum is at least its term at the encoder's own grid $k(x)$:
# $$p(x) \ge p(k(x))\, p(x \mid k(x)) \quad\Longrightarrow\quad -\log p(x) \;\le\; \underbrace{-\log p(x \mid k(x))}_{\text{reconstruction}} \;\underbrace{-\,\log p(k(x))}_{\text{prior}}.$$
# This is lecture 02's ELBO with the deterministic encoder $q(k \mid x) = \delta(k - k(x))$: $\mathbb E_q[\log p(x \mid k)] - \mathrm{KL}(q \,\|\, p(k))$ with $\mathrm{KL}(\delta_{k(x)} \| p) = -\log p(k(x))$ (the one-point distribution has entropy 0), so the bound is named **"elbo-delta"**. Its gap is $-\log p(k(x) \mid x)$: how much probability the posterior gives to grids other than $k(x)$. Under the uniform prior the second term is the constant $hw \log M$ — which is why the VQ-VAE trains with no KL term at all. The cell prints both terms in bits with the PixelCNN prior, the bound under both priors, and the reference points.

# %%
with torch.no_grad():
    recon, prior_nll = vq.nll_bound_parts(test_x)                            # (N,) nats each, the PixelCNN prior
ln2, uniform_grid_bits = math.log(2), h * w * math.log2(CODES)
rows["prior"] = evaluate_model(vq, splits.test, name=f"VQ-VAE ({h}×{w} grid, M = {CODES}), PixelCNN prior",
                               train_split=splits.train)
print(f"reconstruction −log p(x | k(x)): {recon.mean().item() / ln2:6.1f} bits per image "
      f"({recon.mean().item() / ln2 / D:.3f} bits/dim)")
print(f"prior −log p(k(x)):             {prior_nll.mean().item() / ln2:6.1f} bits per image with the PixelCNN "
      f"({uniform_grid_bits:.1f} with the uniform prior)")
print(f"bound on −log p(x): {rows['prior'].bits_per_dim:.3f} bits/dim with the PixelCNN prior, "
      f"{rows['uniform'].bits_per_dim:.3f} with the uniform prior (their difference: "
      f"{rows['uniform'].bits_per_dim - rows['prior'].bits_per_dim:.3f} = the prior's "
      f"{uniform_grid_bits - prior_nll.mean().item() / ln2:.1f} bits saved / {D} pixels)")
print(f"reference points: per-pixel floor {rows['prior'].floor_bits_per_dim:.3f}, "
      f"uniform {rows['prior'].uniform_bits_per_dim:.3f} bits/dim")
display(Markdown(format_table(list(rows.values()))))

# %% [markdown]
# **Reading the numbers** (measured with the default parameters, seed 0, on the 447 test digits): the decoder needs 100.4 bits per image to spell out a digit given its codes (1.569 bits/dim), and the PixelCNN prior 40.4 bits to name the codes, where the uniform prior spends 64.0. Under the uniform prior the bound, 2.569 bits/dim, is worse than the per-pixel floor 2.398 (a model with independent pixels); with the PixelCNN prior it is 2.200, below the floor: the prior is what takes the bound under it. `benchmarks/vq_vae_bits_per_dim.py` trains the same model over seeds 0, 1, 2: a bound of 2.2134 ± 0.0504 bits/dim with the PixelCNN prior (per seed 2.2003, 2.2691, 2.1709 — seed 0 is this run, to the digit) and 2.5896 ± 0.0464 with the uniform prior. The best exact models of lectures 04b and 04c, WaveNet and the gated PixelCNN, reach 1.835 and 1.838 bits/dim (means over seeds 0, 1, 2, `benchmarks/ar_bits_per_dim.py`).
#
# What the bound says, and what it does not:
# - it bounds the NLL of one definite model, $\sum_k p(k)\,p(x \mid k)$ with this decoder and this prior: the true $-\log p(x)$ of that model is **at most** the number in the table;
# - it is not that NLL: the gap $-\log p(k(x) \mid x)$ is unknown, and it shrinks only if other grids explain $x$ badly;
# - a better prior lowers the second term only; the first is fixed once the VQ-VAE is trained (the PixelCNN changed the bound by exactly the bits it saved on the codes);
# - compared with an exact model, it is fair only in one direction. "The VQ-VAE's bound is above the gated PixelCNN's exact 1.838" does not say the VQ-VAE is the worse density model; a bound *below* an exact model's NLL would say that it is better.
#
# How loose is the one-term bound? Adding more terms of the sum can only raise $p(x)$'s lower estimate, so any set $S$ of grids that contains $k(x)$ gives a valid bound at least as tight, $-\log p(x) \le -\log \sum_{k \in S} p(k)\,p(x \mid k)$. The cell takes $S$ = the encoder's grid and every grid that differs from it in one cell ($1 + hw(M-1)$ grids per image).

# %%
with torch.no_grad():
    k0 = vq.codes(test_x).flatten(1)                                          # (N, h·w)
    log_joint = [vq.log_px_z(test_x, k0.view(-1, h, w)) + vq.prior_log_prob(k0.view(-1, h, w))]
    for cell in range(h * w):
        for shift in range(1, CODES):
            k_other = k0.clone()
            k_other[:, cell] = (k_other[:, cell] + shift) % CODES           # another code in this one cell
            k_other = k_other.view(-1, h, w)                                  # (N, h·w) → (N, h, w)
            log_joint.append(vq.log_px_z(test_x, k_other) + vq.prior_log_prob(k_other))
    log_joint = torch.stack(log_joint)                                        # (1 + hw(M−1), N): log p(k) p(x | k)
    log_partial = torch.logsumexp(log_joint, 0)                               # log Σ_{k ∈ S} p(k) p(x | k)
share = (log_joint[0] - log_partial).exp()                                    # the encoder's grid's share of the sum
print(f"one term (k(x)):              ≤ {evaluation.bits_per_dim(-log_joint[0].mean().item(), D):.4f} bits/dim")
print(f"{len(log_joint)} terms (one cell changed): ≤ {evaluation.bits_per_dim(-log_partial.mean().item(), D):.4f} "
      f"bits/dim; the encoder's grid holds {share.mean().item():.1%} of these terms' sum on average "
      f"(the least: {share.min().item():.1%})")
better = (log_joint[1:].max(0).values > log_joint[0]).double().mean().item()
print(f"a grid with one cell changed has a larger p(k) p(x | k) than k(x) itself for {better:.1%} of the test digits")

# %% [markdown]
# Measured with the default parameters: the 240 grids that differ from $k(x)$ in one cell lower the bound from 2.2003 to 2.0962 bits/dim, and the encoder's own grid holds only 2.8% of those 241 terms' sum on average. For 99.6% of the test digits one of the changed grids has a *larger* $p(k)\,p(x \mid k)$ than $k(x)$ itself. So the one-term bound is loose by more than a tenth of a bit per pixel, and the reason is instructive: the nearest-code grid is the encoder's choice, not the posterior's most probable grid. The encoder was trained to land near codes and to reconstruct well, not to find the grid that maximises $p(k)\,p(x \mid k)$ under a prior that was fitted afterwards. Even 2.0962 leaves out almost all of the $16^{16}$ grids: the true $-\log p(x)$ of this model is lower still, by an amount we do not know. What we can say against the gated PixelCNN's exact 1.838 is only what the bound says — the VQ-VAE's true NLL is at most 2.0962 — not which model is better.
#
# > **Common mistake.** Reporting the VQ-VAE's number as "its NLL" or "its bits/dim" without the word *bound*, or putting it in one column with exact likelihoods as if the two were the same kind of number. `evaluate_model` prints it as "≤ …" with the bound's name ("elbo-delta", and which prior) for that reason. Two upper bounds compare no better: this one against a VAE's IWAE bound (lecture 02) says nothing about which model is better unless one bound is below the *other* model's exact NLL.
#
# ## Summary
#
# - A pixel-level autoregressive model samples in $D$ sequential passes and spends its capacity on local detail; the VQ-VAE compresses an image to an $h \times w$ grid of discrete codes, and an autoregressive prior models the grid ($hw$ passes). VQ-VAE-2, DALL·E 1 and VQGAN follow this recipe at scale.
# - The quantiser replaces each encoder output $z_e$ by its nearest code $e_k$; the $\arg\min$ has no gradient, and the straight-through estimator $z_e + \mathrm{sg}[z_q - z_e]$ hands the decoder's gradient to the encoder.
# - Loss = reconstruction (decoder and encoder) + $\lVert \mathrm{sg}[z_e] - e\rVert^2$ (codebook only) + $\beta\lVert z_e - \mathrm{sg}[e]\rVert^2$ (encoder only). Train for fixed epochs: the commitment term grows while the reconstruction improves.
# - Dead codes get no gradient and never return; restarting them on the encoder outputs of a batch keeps the codebook in use (perplexity measures how many codes are in use).
# - The prior (a PixelCNN with one-hot inputs) is fitted afterwards to the frozen codes; samples are codes from the prior → decoder. Uniform codes give patchworks.
# - $-\log p(x) \le -\log p(x \mid k(x)) - \log p(k(x))$: one term of $\sum_k p(k)p(x\mid k)$, the ELBO with a deterministic encoder. It bounds the NLL of that model from above; a better prior lowers only its second term; against an exact model it is fair only in the direction "the true NLL is at most this".
#
# **Exercises.** There is no graded exercise for 04d: the lecture's graded exercise is `exercises/04_autoregressive.ipynb` (lectures 04a and 04b). Try: (a) set `CODES = 64`: does the perplexity follow, how many restarts are there, and which term of the bound moves? (b) Set `DOWNSAMPLE = 2` (a 2×2 grid of 4 cells; `CODES = 32`, `CHANNELS = 64`): the reconstruction gets worse and the prior's job smaller — which wins in the bound? (c) Set `BETA_COMMIT = 1.0` (and 0.05): what happens to the code usage and the reconstruction? (d) With section 4's independent-cells model of the codes as the prior, what is the bound in bits/dim, and how much of the PixelCNN's improvement over the uniform prior does it keep? (e) Show that the uniform-prior bound is exactly $\frac{1}{D\ln 2}\left(\text{recon} + hw\ln M\right)$, and explain why training the VQ-VAE under it needs no KL term.
#
# **References.**
# - A. van den Oord, O. Vinyals, K. Kavukcuoglu, *Neural Discrete Representation Learning*, NIPS 2017 — the VQ-VAE, its loss and the PixelCNN prior over codes.
# - A. Razavi, A. van den Oord, O. Vinyals, *Generating Diverse High-Fidelity Images with VQ-VAE-2*, NeurIPS 2019 — hierarchical code grids, PixelCNN priors with attention.
# - Y. Bengio, N. Léonard, A. Courville, *Estimating or Propagating Gradients Through Stochastic Neurons for Conditional Computation*, arXiv:1308.3432, 2013 — the straight-through estimator.
# - P. Esser, R. Rombach, B. Ommer, *Taming Transformers for High-Resolution Image Synthesis*, CVPR 2021 — VQGAN: a perceptual and adversarial loss for the autoencoder, a transformer prior over the codes.
# - A. Ramesh, M. Pavlov, G. Goh, S. Gray, C. Voss, A. Radford, M. Chen, I. Sutskever, *Zero-Shot Text-to-Image Generation*, ICML 2021 — DALL·E 1: a discrete VAE's 32×32 code grids and one transformer over text and image tokens.
