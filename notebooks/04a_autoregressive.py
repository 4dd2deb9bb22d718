# %% [markdown]
# # 04a · Autoregressive models I: the chain rule, FVSBN, NADE and MADE
#
# **Learning objectives.** After this lecture you can
# 1. factorise any distribution over $D$ pixels with the **chain rule** in a fixed ordering, and say why a table of its conditionals needs $K^D - 1$ numbers;
# 2. compute an autoregressive model's loss, $-\log p(x) = -\sum_d \log p(x_d \mid x_{<d})$, by hand (the worked $3\times3$ example) and read it in bits per dimension;
# 3. build the three classic neural parameterisations of the conditionals — **FVSBN** (one softmax regression per pixel), **NADE** (one hidden layer shared by all pixels, $O(HD)$ per image) and **MADE** (an autoencoder whose weights are masked so output $d$ sees inputs before $d$ only) — and check the autoregressive property by autograd;
# 4. train all three in one pass per batch (**teacher forcing**), compare their exact test bits/dim with the uniform model and the per-pixel floor, and average MADE over several **orderings** the right way (log-mean-exp);
# 5. sample pixel by pixel (one network pass per pixel: $D$ passes), and play with the **temperature** and with **image completion** in a widget.
#
# **Time:** about 60 minutes of reading and playing; the notebook runs top to bottom in well under a minute on a 2-core laptop CPU the first time (36 s measured cold by `benchmarks/notebook_times.py`), and in seconds afterwards, because the trained models are cached on disk.
# **Before you start:** run all cells (*Run → Run All Cells*). Lecture 00 (bits per dimension, the per-pixel floor) is the background; lecture 04b continues with PixelCNN and its gated and colour versions, 04c with WaveNet and fast sampling, 04d with a VQ-VAE and a prior over its codes.

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults run the lecture in about a minute on a 2-core CPU.
SEED = 0             # every random number below follows from it
DEVICE = "auto"      # "auto" = CUDA, then Apple MPS, then CPU
DATA = "digits"      # "digits" (8×8, 17 grey levels, ships with the course) or "mnist" (28×28)         GPU: "mnist"
MNIST_ROOT = None    # for DATA = "mnist": the folder with the IDX files (coursekit.data.mnist.download fetches them)
BINARIZE = False     # True: pixels 0/1 (threshold at half), the setting of the published MNIST numbers   GPU: True
EPOCHS = 60          # at most (early stopping on the validation NLL, best weights kept)                  GPU: 100
PATIENCE = 5         # epochs without a better validation NLL before stopping
LR = 3e-3            # Adam's step size (NADE, MADE)
FVSBN_LR = 1e-2      # the linear FVSBN converges slowly at LR: a larger step (at LR it is still improving after 60 epochs)
NADE_HIDDEN = 128    # NADE's hidden units H                                                             GPU: 500
MADE_HIDDEN = 256    # MADE's hidden units (one layer)                                                   GPU: 2000
MADE_ORDERINGS = 8   # orderings for the order-agnostic MADE and its ensemble                           GPU: 32
MADE_WEIGHT_DECAY = 1e-2   # an L2 penalty for the one-ordering MADE, which overfits 1,000 digits without it  GPU: 0
CACHE_DIR = None     # trained models are kept here (None: $COURSEKIT_CACHE, else ~/.cache/coursekit)
RETRAIN = False      # True: train every model again even if a cached one exists

# %%
import math
import time

import torch
from IPython.display import Markdown, display

from coursekit import data, evaluation, resolve_device, seed_everything, viz
from coursekit.evaluation import evaluate_model, format_table
from coursekit.models import FVSBN, MADE, NADE
from coursekit.training import train_cached

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
if device.type == "cpu":
    torch.set_num_threads(1)   # these networks are small: one thread is faster than two that fight for a busy CPU
splits = data.load(DATA, **({"root": MNIST_ROOT} if DATA in ("mnist", "fashion_mnist") else {}))
if BINARIZE:
    splits = data.binarized(splits)
K, SHAPE, D = splits.train.levels, tuple(splits.train.x.shape[1:]), splits.train.dims
loaders = data.loaders(splits, batch_size=64 if DATA == "digits" else 128, seed=SEED)
test_x = splits.test.x.to(device)
print(f"torch {torch.__version__} on {device}; {DATA}: {[len(s) for s in splits]} images of shape {SHAPE}, "
      f"K = {K} levels, D = {D} pixels")

# %% [markdown]
# ## 1. The chain rule, and what a table of conditionals costs
#
# Any distribution over $D$ pixels can be written, exactly, as a product of one-dimensional conditionals (the **chain rule** of probability):
# $$p(x) = p(x_1)\,p(x_2 \mid x_1)\,p(x_3 \mid x_1, x_2) \cdots p(x_D \mid x_1, \dots, x_{D-1}) = \prod_{d=1}^{D} p(x_d \mid x_{<d}).$$
# No assumption is made: this is what every **autoregressive** model does, in some fixed **ordering** of the pixels (here raster order: row by row, left to right). Each factor is a distribution over the $K$ levels of *one* pixel, which is easy to normalise, so $\log p(x) = \sum_d \log p(x_d \mid x_{<d})$ is **exact** — no bound, no sampling, unlike the VAE of lecture 02.
#
# The catch is the conditionals. Written as a table, $p(x_d \mid x_{<d})$ needs $K - 1$ numbers for every one of the $K^{d-1}$ values of $x_{<d}$: for binary pixels $2^{d-1}$ numbers for pixel $d$ (seed 000: "needs 2^{i-1} params"), and $\sum_d K^{d-1}(K-1) = K^D - 1$ in all — the same as a table of the whole joint. The cell counts it:

# %%
for levels, dims in ((2, 4), (2, 9), (2, 64), (17, 64)):
    per_pixel = [levels ** (d - 1) * (levels - 1) for d in range(1, dims + 1)]
    print(f"K = {levels:2d}, D = {dims:2d}: pixel d = {dims} alone needs {float(per_pixel[-1]):.3g} numbers; "
          f"all D conditionals {float(sum(per_pixel)):.3g} (K^D − 1 = {float(levels ** dims - 1):.3g})")

# %% [markdown]
# A table for an 8×8 binary image would need $1.8 \times 10^{19}$ numbers, and it could not generalise: each row is estimated from the images that match its $x_{<d}$ exactly, which is almost never more than one. So the conditionals are **parameterised**: one function $f_\theta(x_{<d})$ gives the $K$ logits $\ell_d$ of pixel $d$, and $p(x_d \mid x_{<d}) = \mathrm{softmax}(\ell_d)_{x_d}$. The rest of this lecture is three choices of $f_\theta$, from a linear map to a masked network. All three share one base class, `coursekit.models.Autoregressive`: a model supplies the logits $\ell$ (N, K, C, H, W) of every pixel from the earlier ones, and the base class turns them into `log_prob`, the loss, samples and completions.
#
# ## 2. The loss, worked by hand on a 3×3 image
#
# The loss of one image is its negative log-likelihood, a sum over pixels of the surprise of each pixel given the ones before it (seed 004):
# $$\mathcal L(x) = -\log p_\theta(x) = -\sum_{i=1}^{H}\sum_{j=1}^{W} \log p_\theta\big(x_{ij} \mid x_{1:i-1,\,:},\; x_{i,\,1:j-1}\big),$$
# the rows above in full, then the pixels to the left in the same row. Take seed 004's image with $K = 256$ levels,
# $$x = \begin{bmatrix} 100 & 150 & 200 \\ 50 & 125 & 175 \\ 25 & 75 & 225 \end{bmatrix}, \qquad \mathcal L(x) = -\big[\log p(100) + \log p(150 \mid 100) + \log p(200 \mid 100, 150) + \dots\big],$$
# and a small hand-made model so that every term can be printed: the first pixel is uniform over the 256 levels, and every later pixel is "probably close to the pixel before it in the ordering", a discretised Gaussian of width $\sigma = 40$ around $x_{d-1}$, renormalised over $0..255$. The cell checks that each conditional sums to 1 over the 256 values (that is all the chain rule needs to give a valid $p(x)$), prints each term, and adds them up.

# %%
x_worked = torch.tensor([[100, 150, 200], [50, 125, 175], [25, 75, 225]])
levels_256 = torch.arange(256, dtype=torch.float64)

def p_next(previous, sigma=40.0):
    """p(x_d = v | x_<d) for v = 0..255: uniform for the first pixel, else a discretised Gaussian around x_{d-1}."""
    if previous is None:
        return torch.full((256,), 1 / 256, dtype=torch.float64)
    weights = torch.exp(-0.5 * ((levels_256 - previous) / sigma) ** 2)
    return weights / weights.sum()

flat = x_worked.flatten().tolist()      # raster order: (1,1), (1,2), (1,3), (2,1), ...
total_bits = 0.0
print(f"{'pixel':>6s} {'x_d':>4s} {'conditioned on':>22s} {'Σ_v p(v|·)':>11s} {'p(x_d|x_<d)':>12s} {'−log2 p':>8s}")
for d, value in enumerate(flat):
    probs = p_next(flat[d - 1] if d > 0 else None)
    bits = -math.log2(probs[value].item())
    total_bits += bits
    given = "nothing" if d == 0 else ", ".join(map(str, flat[:d])) if d < 3 else f"{flat[0]}, …, {flat[d - 1]} ({d} px)"
    print(f"{f'({d // 3 + 1},{d % 3 + 1})':>6s} {value:4d} {given:>22s} {probs.sum().item():11.6f} "
          f"{probs[value].item():12.5f} {bits:8.3f}")
print(f"L(x) = {total_bits:.2f} bits = {total_bits * math.log(2):.2f} nats; {total_bits / 9:.3f} bits/dim "
      f"(the uniform model: 9 × 8 = 72 bits, 8 bits/dim)")

# %% [markdown]
# Read the table from the top (pixels numbered (row, column) from 1, as in the formula): the first pixel costs 8 bits (uniform over 256); a pixel 50 to 75 levels from its predecessor costs 7.3 to 9.0 bits, hardly less than the uniform 8; and each of the three jumps of 150 levels, at (2,1), (3,1) and (3,3), costs about 16.7 bits. In all 97.85 bits, *more* than the uniform model's 72: a confident wrong guess costs more than no guess. This model only looks one pixel back, so it does not know that the pixel *above* is often the better guess; a model that sees more of $x_{<d}$ can do better, and that is what the networks below and PixelCNN (lecture 04b) learn from data. Two things to keep from this example:
# - the loss is a **sum** over pixels (a mean would divide it by $D$), and bits/dim divides the sum by $D \ln 2$ when it is in nats;
# - training does not need a loop over pixels: when $x$ is a training image, all of $x_{<d}$ is known for every $d$, so all $D$ terms come from **one pass** (**teacher forcing**: feed the true earlier pixels, never the model's own guesses). Only sampling has to go pixel by pixel (section 6).
#
# ## 3. FVSBN: one softmax regression per pixel
#
# The simplest parameterisation makes each conditional a linear model of the pixels before it (the fully visible sigmoid belief network, here with a softmax over $K$ levels instead of a sigmoid over 2):
# $$\ell_d = c_d + \sum_{j < d} W_{d j}\,\tilde x_j, \qquad \tilde x_j = x_j / (K - 1),$$
# all $D$ at once as $\ell = (W \odot M)\,\tilde x + c$ with a strictly lower-triangular mask $M_{dj} = 1[j < d]$: the mask is what makes the model autoregressive. It has $O(D^2 K)$ parameters instead of $K^D$, but every conditional is a linear function of the past.

# %%
def fit(name, model, lr=LR, weight_decay=0.0):
    """Train with Adam and early stopping on the validation NLL (best weights kept), cached on disk."""
    torch.manual_seed(SEED)
    model = model.to(device)
    start = time.perf_counter()
    history = train_cached(model, loaders["train"], val_data=loaders["val"], epochs=EPOCHS, patience=PATIENCE, lr=lr,
                           weight_decay=weight_decay, seed=SEED, device=device, cache_dir=CACHE_DIR, retrain=RETRAIN,
                           name=name, progress=False)
    seconds = time.perf_counter() - start
    model.eval()
    where = "loaded from the cache" if history.from_cache else f"trained in {seconds:.1f} s"
    print(f"{name}: {sum(p.numel() for p in model.parameters()):,} parameters, {len(history['epoch'])} epochs "
          f"(best {history.best_round + 1}), {where}")
    return model

fvsbn = fit("fvsbn", FVSBN(shape=SHAPE, levels=K), lr=FVSBN_LR)
rows = {"FVSBN": evaluate_model(fvsbn, splits.test, name="FVSBN", train_split=splits.train)}
print(f"FVSBN test NLL: {rows['FVSBN'].bits_per_dim:.3f} bits/dim (uniform {rows['FVSBN'].uniform_bits_per_dim:.3f}, "
      f"per-pixel floor {rows['FVSBN'].floor_bits_per_dim:.3f})")

# %% [markdown]
# What does one conditional look at? Row $d$ of $W \odot M$ holds, for each level $k$, the weights of the earlier pixels. The picture shows, for the pixel in the middle of the image, the weights towards "ink" (the top level) minus those towards "blank" (level 0): the positions before it that push its ink up (positive) or down. Everything at and after the pixel is exactly zero: the mask.

# %%
row, col = SHAPE[1] // 2, SHAPE[2] // 2
d_mid = row * SHAPE[2] + col
weights = (fvsbn.W.weight * fvsbn.W.mask).detach().cpu().view(D, K, D)     # (D·K, D) → (D, K, D): [pixel, level, input]
contrast = (weights[d_mid, K - 1] - weights[d_mid, 0]).view(1, 1, *SHAPE[1:])
limit = contrast.abs().max().item()
fig = viz.image_grid(contrast, vmin=-limit, vmax=limit, cmap="PuOr", colorbar="weight (ink − blank)", scale=1.8)
fig.axes[0].set_title(f"FVSBN: what pixel ({row}, {col}) looks at", fontsize=8)
viz.show(fig, alt=f"A {SHAPE[1]}×{SHAPE[2]} map of the FVSBN weights of pixel ({row}, {col}) towards ink minus "
         "towards blank: non-zero only at the pixels before it in raster order, zero at and after it.")

# %% [markdown]
# ## 4. NADE: one hidden layer shared by all pixels
#
# FVSBN is linear. Giving every conditional its own hidden layer would cost $D$ networks. **NADE** (Larochelle & Murray, 2011) gives them *one* hidden layer with shared weights, each pixel seeing the columns of $W$ for the pixels before it (the seeds' notation):
# $$h_d = \sigma\big(b + W_{\cdot,<d}\,\tilde x_{<d}\big), \qquad \ell_d = c_d + V_d\, h_d .$$
# The sharing is what makes it cheap: the pre-activations $a_d = b + W_{\cdot,<d}\tilde x_{<d}$ obey $a_1 = b$, $a_{d+1} = a_d + W_{\cdot,d}\,\tilde x_d$, one column added per pixel, so all $D$ hidden layers cost $O(HD)$ instead of $O(HD^2)$, for $H$ hidden units (not the image height of section 2; seed 000 writes the cost $O(TD)$). `NADE.logits_explicit` runs that recursion as a loop, pixel by pixel; the model trains with the same thing written as one cumulative sum. The cell checks that they agree and times both. Both are $O(HD)$; the cumulative sum replaces $D$ small steps by one large operation, which pays off most on a GPU, so on a CPU with 64 pixels the loop may well be as fast.

# %%
nade_probe = NADE(shape=SHAPE, levels=K, hidden=NADE_HIDDEN).to(device)
x_tilde = nade_probe.input_features(test_x[:256])

def best_ms(fn, repeats=5):
    """The fastest of a few timed calls, in ms (the first call of anything pays for warm-up)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(1000 * (time.perf_counter() - start))
    return min(times), out

with torch.no_grad():
    t_loop, explicit = best_ms(lambda: nade_probe.logits_explicit(x_tilde))
    t_fast, fast = best_ms(lambda: nade_probe.conditional_logits(x_tilde))
print(f"the O(HD) recursion as a loop and as a cumulative sum agree to {(explicit - fast).abs().max().item():.1e} "
      f"(best of 5: the loop {t_loop:.1f} ms, the cumulative sum {t_fast:.1f} ms, 256 images, untrained)")
nade = fit("nade", NADE(shape=SHAPE, levels=K, hidden=NADE_HIDDEN))
rows["NADE"] = evaluate_model(nade, splits.test, name=f"NADE (H = {NADE_HIDDEN})", train_split=splits.train)
print(f"NADE test NLL: {rows['NADE'].bits_per_dim:.3f} bits/dim")

# %% [markdown]
# ## 5. MADE: masks make an autoencoder autoregressive
#
# An autoencoder maps $x$ to a reconstruction of $x$; its output $d$ depends on every input, $x_d$ included, so its "probabilities" do not multiply to a distribution. **MADE** (Germain et al., 2015) removes the forbidden paths by multiplying each weight matrix by a 0/1 mask. Give every input $d$ its position $m^0(d)$ in the ordering, and every hidden unit $k$ of layer $l$ a number $m^l(k)$ between $\min_j m^{l-1}(j)$ and $D-1$, the most inputs it may see. Then
# $$M^{l}_{k j} = 1\big[m^{l}(k) \ge m^{l-1}(j)\big] \ \text{(hidden layers)}, \qquad M^{V}_{d k} = 1\big[m^0(d) > m^{L}(k)\big] \ \text{(output: strict)},$$
# so a path from input $j$ to output $d$ exists only if $m^0(j) < m^0(d)$. (Pixels are numbered (row, column) from 0 in code, as in the FVSBN picture above.) One pass through the masked network gives every conditional, as in an autoencoder. The picture shows the masks of a small MADE on a 3×3 image (9 inputs, two hidden layers); the cell after it checks the property on the real model by autograd: the gradient of each $\ell_d$ with respect to each input.

# %%
small = MADE(shape=(1, 3, 3), levels=2, hidden_sizes=(12, 12))
viz.show(viz.made_masks_figure(small.mask_set(0)[1], scale=0.12),
         alt="MADE's three masks for 9 inputs and two hidden layers of 12 (units unsorted): each row of M¹ lets a unit read "
             "the first m¹(k) inputs; in M² a unit reads the hidden units whose number is at most its own; in the output "
             "mask output d reads only units whose number is below d, so it never sees input d.")

made = MADE(shape=SHAPE, levels=K, hidden_sizes=(MADE_HIDDEN,), direct=True).to(device)
x_tilde = made.input_features(test_x[:16]).requires_grad_(True)
logits = made.conditional_logits(x_tilde).flatten(2)                     # (16, K, D)
seen = torch.stack([torch.autograd.grad(logits[:, :, d].sum(), x_tilde, retain_graph=True)[0].abs().sum((0, 1)).flatten()
                    != 0 for d in range(D)])                             # (D, D): seen[d, j] = ℓ_d depends on x̃_j
print(f"ℓ_d depends on x̃_j with j ≥ d: {int(seen.triu().sum())} pairs (must be 0); with j < d: {int(seen.tril(-1).sum())} "
      f"of the {D * (D - 1) // 2} allowed")

# %% [markdown]
# Two details matter for the digits. The MADE here has one hidden layer of `MADE_HIDDEN` units and **direct connections**: a masked linear map from the inputs to the logits beside the hidden layer, $\ell = V h + A\tilde x + c$ with $A$ masked like FVSBN's $W$ (an option of the MADE authors' code), so the model contains an FVSBN and the hidden layer learns what it misses. And with only 1,000 training images one masked network in one ordering overfits within a few dozen epochs: it is trained with an L2 penalty on its weights (`MADE_WEIGHT_DECAY`, Adam's `weight_decay`). Without it, `benchmarks/ar_bits_per_dim.py --models made-direct-no-l2` measured the overfitting: its validation NLL stops improving after 34 to 38 epochs, and its test score, 2.113 bits/dim (mean of seeds 0, 1, 2), is worse than the FVSBN's 2.086; with the penalty, 2.048.
#
# **Order-agnostic training.** Nothing forces raster order: a different permutation $m^0$ gives a different, equally valid model with *the same weights*. MADE trains one network for `MADE_ORDERINGS` orderings at once — a different mask set at each step — and at test time averages the resulting models. The average of densities is a mixture,
# $$p(x) = \frac1M\sum_{m=1}^{M} p_m(x), \qquad \log p(x) = \operatorname{logsumexp}_m \log p_m(x) - \log M,$$
# which is again an exact likelihood. (The mean of $\log p_m(x)$ would be a different, smaller number: by Jensen, $\log \frac1M\sum_m p_m \ge \frac1M \sum_m \log p_m$.) The order-agnostic MADE is trained without the L2 penalty. Each mask set also draws new hidden numbers $m^l(k)$, so the training is **connectivity-agnostic** too (the paper's term). The cell prints each ordering's own score and the ensemble's.

# %%
made = fit("made", MADE(shape=SHAPE, levels=K, hidden_sizes=(MADE_HIDDEN,), direct=True), weight_decay=MADE_WEIGHT_DECAY)
made_oa = fit("made-orderings", MADE(shape=SHAPE, levels=K, hidden_sizes=(MADE_HIDDEN,), direct=True,
                                     orderings=MADE_ORDERINGS))
with torch.no_grad():
    per_ordering = made_oa.log_prob_per_ordering(test_x)                # (M, N) nats
ensemble, mean_of_logs = torch.logsumexp(per_ordering, 0) - math.log(MADE_ORDERINGS), per_ordering.mean(0)
to_bpd = lambda nats: evaluation.bits_per_dim(-nats.mean().item(), D)
print("each ordering alone: " + ", ".join(f"{to_bpd(lp):.3f}" for lp in per_ordering) + " bits/dim")
print(f"ensemble (log-mean-exp): {to_bpd(ensemble):.3f} bits/dim; the mean of the logs instead: {to_bpd(mean_of_logs):.3f}")
rows["MADE"] = evaluate_model(made, splits.test, name=f"MADE ({MADE_HIDDEN}, direct, raster order)",
                              train_split=splits.train)
rows["MADE-OA"] = evaluate_model(made_oa, splits.test, name=f"MADE ({MADE_HIDDEN}, direct, {MADE_ORDERINGS} orderings)",
                                 train_split=splits.train)
display(Markdown(format_table(list(rows.values()))))

# %% [markdown]
# **Reading the table** (measured with the default parameters, seed 0, on the 447 test digits): FVSBN 2.087 bits/dim, NADE 2.066, MADE in raster order 2.067 and the 8-ordering ensemble 2.069 — all well below the per-pixel floor 2.398 (lecture 00's best model with independent pixels) and the uniform 4.087. Conditioning on the past is worth 2.398 − 2.066 = 0.33 bits per pixel, 21 bits per digit; a hidden layer on top of the linear FVSBN buys another 2.087 − 2.066 = 0.021. The differences among NADE and the two MADEs (at most 0.003 bits/dim) are smaller than what one seed decides, and NADE and the order-agnostic MADE were still improving when `EPOCHS = 60` stopped them (best epochs 60 and 59). Trained until early stopping, over seeds 0, 1, 2, `benchmarks/ar_bits_per_dim.py` measured FVSBN 2.086, NADE 2.060, MADE 2.048 in one ordering and 2.055 with eight (and, for lectures 04b and 04c, PixelCNN 1.878, the gated PixelCNN 1.838, WaveNet 1.835). The ensemble line shows what averaging buys: each ordering alone scores 2.112 to 2.182, their mixture 2.069, better than any of them. These are exact likelihoods of the test digits; they say nothing about how the samples look (section 6): likelihood and sample quality are different measurements (lecture 00).
#
# > **Common mistake.** Averaging the *log*-likelihoods of the orderings (the second number above) is not the ensemble's likelihood: it under-reports it, and it is not the log of any distribution. The mixture's log-likelihood is the log-mean-exp, computed with the shift (`torch.logsumexp`) so that $e^{\log p_m}$ — about $e^{-92}$ for a digit here, and far smaller for MNIST — does not underflow.
#
# For scale on the standard benchmark, binarised MNIST (28×28, 0/1 pixels), the papers report test NLLs of about 88 to 89 nats per image for NADE and MADE (Larochelle & Murray, 2011; Germain et al., 2015), and PixelCNN (lecture 04b) 81.3 (van den Oord et al., 2016a). Those are per image, not per pixel: 88.9 nats over 784 pixels is 0.16 bits/dim. Set `DATA = "mnist"` and `BINARIZE = True` on a GPU to train the same three models there.
#
# **Real-valued and many-level conditionals.** Each conditional so far is a categorical over $K$ levels: $K - 1$ free numbers per pixel, and no notion that level 120 is close to level 121. For 256 levels, or for real-valued data, autoregressive models use a small **mixture** instead: RNADE (Uria et al., 2013) gives each $p(x_d \mid x_{<d})$ a mixture of Gaussians whose weights, means and widths the network outputs (seed 000: "Real-valued: conditionals by mixture of gaussians"); PixelCNN++ (Salimans et al., 2017) puts a mixture of logistics on the 256 levels, discretised by integrating each component over the bin of every level. Section 2's conditional was already of this kind, one discretised Gaussian. The cell builds a three-component discretised logistic mixture over 0..255 and checks that it is a distribution.

# %%
def discretised_logistic_mixture(weights, means, scales, levels=256):
    """p(v) for v = 0..levels−1: Σ_m π_m [σ((v + ½ − μ_m)/s_m) − σ((v − ½ − μ_m)/s_m)], the end bins open (PixelCNN++)."""
    v = torch.arange(levels, dtype=torch.float64)[:, None]                      # (levels, 1)
    upper = torch.sigmoid((v + 0.5 - means) / scales)
    lower = torch.sigmoid((v - 0.5 - means) / scales)
    upper[-1], lower[0] = 1.0, 0.0                                              # the edges take the tails
    return ((upper - lower) * weights).sum(1)                                   # (levels,)

pi, mu, s = torch.tensor([0.6, 0.3, 0.1]), torch.tensor([0.0, 128.0, 255.0]), torch.tensor([4.0, 20.0, 4.0])
pmf = discretised_logistic_mixture(pi, mu, s)
print(f"Σ_v p(v) = {pmf.sum().item():.6f} with {3 * 3 - 1} free numbers (3 weights summing to 1, 3 means, 3 scales) "
      f"where a categorical needs 255; p(0) = {pmf[0].item():.3f}, p(128) = {pmf[128].item():.4f}, "
      f"p(129) = {pmf[129].item():.4f}: neighbouring levels get similar probabilities")

# %% [markdown]
# ## 6. Sampling: one network pass per pixel
#
# Sampling follows the chain rule forwards: draw $x_1 \sim p(x_1)$, then $x_2 \sim p(x_2 \mid x_1)$, and so on. Pixel $d$ can only be drawn once pixels $1..d-1$ are, so generating one image takes $D$ passes through the network, where training took one. The cell times it.

# %%
for name, model in (("FVSBN", fvsbn), ("NADE", nade), ("MADE", made)):
    start = time.perf_counter()
    samples = model.sample(64, generator=torch.Generator().manual_seed(SEED))
    print(f"{name}: 64 samples in {time.perf_counter() - start:.2f} s ({D} passes); one training-style pass over "
          f"the same 64 images: ", end="")
    start = time.perf_counter()
    with torch.no_grad():
        model.log_prob(samples)
    print(f"{1000 * (time.perf_counter() - start):.1f} ms")
viz.show(viz.image_grid(torch.cat([test_x[:16].cpu(), nade.sample(32, generator=torch.Generator().manual_seed(SEED)).cpu()]),
                        nrow=16, levels=K),
         alt="Top row: 16 test digits; two rows below: 32 samples of the NADE at temperature 1, for comparison with "
             "the test digits above them.")

# %% [markdown]
# **Temperature and completion.** Each draw is $x_d = \arg\max_k (\ell_{dk}/T + g_{dk})$ with Gumbel noise $g$ (equivalent to sampling $\mathrm{softmax}(\ell_d / T)$). $T = 1$ samples the model; $T \to 0$ takes the most likely level at every step (greedy, and not the most likely *image*); $T > 1$ flattens every conditional towards uniform. The widget keeps the random numbers fixed while you move $T$, so you see what $T$ alone does. Its second slider gives the model the first rows of test digits and lets it **complete** the rest: $x_{\text{rest}} \sim p(x_{\text{rest}} \mid x_{\text{first rows}})$, exact because in raster order the known rows come first.
#
# Try: at which $T$ do the samples stop looking like digits, in either direction? How many rows must be known before the completion keeps the digit's class?

# %%
viz.sampling_widget(nade, splits.test.x[:8], seed=SEED)

# %% [markdown]
# > **Common mistake.** "Greedy" decoding ($T = 0$) is not the most probable image: it picks the best $x_1$, then the best $x_2$ *given that choice*, and so on. Finding $\arg\max_x p(x)$ is a search over $K^D$ images. And an autoregressive model judged only by its training loss never sees its own mistakes (every training conditional is given the *true* past): a sample that goes wrong early keeps conditioning on the error (the seeds' "may accumulate errors over multiple steps").
#
# ## Summary
#
# - The chain rule $p(x) = \prod_d p(x_d \mid x_{<d})$ in a fixed ordering is exact for any distribution; a table of its conditionals costs $K^D - 1$ numbers, so the conditionals are parameterised.
# - The loss is $-\sum_d \log p(x_d \mid x_{<d})$: all $D$ terms in one pass (teacher forcing), exact, in bits/dim after dividing by $D \ln 2$.
# - FVSBN is linear in the past; NADE shares one hidden layer across pixels at $O(HD)$; MADE masks an autoencoder (hidden masks $\ge$, output mask $>$), and averages orderings with log-mean-exp.
# - Sampling takes $D$ sequential passes; temperature rescales the logits; completion conditions on the known pixels that come first in the ordering.
#
# **Exercises.** The graded exercise `exercises/04_autoregressive.ipynb` covers lectures 04a and 04b: the 3×3 loss, MADE's masks from an ordering, PixelCNN's masks A and B and the sampling loop. Try also: (a) set `MADE_ORDERINGS = 1` and `MADE_HIDDEN = 1024` without direct connections: does MADE still beat FVSBN on 1,000 digits? (b) Change `p_next` in section 2 to condition on the pixel *above* ($x_{d-3}$) when there is one: how many bits does the 3×3 image cost now? (c) In the widget, complete with 1 known row at $T = 0$ and at $T = 1$: which completions keep the class?
#
# **References.**
# - B. J. Frey, *Graphical Models for Machine Learning and Digital Communication*, MIT Press 1998 — fully visible sigmoid belief networks.
# - H. Larochelle, I. Murray, *The Neural Autoregressive Distribution Estimator*, AISTATS 2011.
# - M. Germain, K. Gregor, I. Murray, H. Larochelle, *MADE: Masked Autoencoder for Distribution Estimation*, ICML 2015.
# - B. Uria, I. Murray, H. Larochelle, *RNADE: The real-valued neural autoregressive density-estimator*, NeurIPS 2013 — mixtures of Gaussians as conditionals.
# - B. Uria, M.-A. Côté, K. Gregor, I. Murray, H. Larochelle, *Neural Autoregressive Distribution Estimation*, JMLR 2016 — NADE's extensions, order-agnostic training.
# - T. Salimans, A. Karpathy, X. Chen, D. P. Kingma, *PixelCNN++*, ICLR 2017 — discretised logistic mixtures.
# - A. van den Oord, N. Kalchbrenner, K. Kavukcuoglu, *Pixel Recurrent Neural Networks*, ICML 2016 (2016a) — PixelCNN's 81.3 nats quoted above.
