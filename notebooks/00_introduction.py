# %% [markdown]
# # 00 · What is a generative model?
#
# **Learning objectives.** After this lecture you can
# 1. say how generative modelling differs from supervised, unsupervised and self-supervised learning, and name its two jobs: *density estimation* and *sample generation*;
# 2. place every model of this course on the taxonomy (explicit tractable, explicit approximate, implicit) and in the *generative learning trilemma*;
# 3. show that maximum likelihood minimises $\mathrm{KL}(p_\text{data}\,\|\,p_\theta)$, and predict what the forward and the reverse KL do when a simple model meets a multimodal distribution;
# 4. measure a density model in **bits per dimension** and beat the uniform baseline with the *floor model* that every later lecture must beat.
#
# **Time:** about 45 minutes of reading and playing; the notebook runs top to bottom in well under a minute on a laptop CPU.
# **Before you start:** run all cells (*Run → Run All Cells*). Section 4 has a slider; the notation used by the whole course is in the table at the end.

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults run in seconds on a CPU.
SEED = 0            # every random number below follows from it
DEVICE = "auto"     # "auto" = CUDA, then Apple MPS, then CPU; nothing here needs a GPU
N_SAMPLES = 30      # images drawn from the floor model in section 6
SEPARATION = 7.0    # the KL demo's starting distance between the two modes (from about 6 the reverse fit sits on one mode)

# %%
import math

import torch
from IPython.display import Markdown, display
from matplotlib.figure import Figure

from coursekit import data, divergences, evaluation, resolve_device, seed_everything, viz

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
print(f"torch {torch.__version__}, computing on {device}")

# %% [markdown]
# ## 1. Learning with and without labels
#
# | | data | goal | examples |
# |---|---|---|---|
# | **supervised** | pairs $(x, y)$ | a map $x \mapsto y$, i.e. $p(y \mid x)$ | classification, regression, detection, captioning |
# | **unsupervised** | $x$ only | hidden structure of $p(x)$ | clustering, dimensionality reduction (PCA), **density estimation** |
# | **self-supervised** | $x$ and labels made from $x$ itself | features that serve downstream tasks with few labels | predict a masked pixel, the next word, the rotation |
#
# Labels are expensive, unlabelled data is cheap and everywhere. A **generative model** learns $p_\theta(x) \approx p_\text{data}(x)$ from samples $x^{(1)}, \dots, x^{(N)} \sim p_\text{data}$ alone. With labels it can model $p_\theta(x \mid y)$ (*conditional generation*: "draw a 3"), and it can still classify, by Bayes' rule: $p(y \mid x) \propto p(x \mid y)\, p(y)$.
#
# Our data set throughout the course: scikit-learn's 1,797 handwritten digits, 8×8 pixels with **17 grey levels** (0 = no ink … 16 = full ink; drawn light on dark below). It ships with scikit-learn, so everything runs offline. The split is fixed and unshuffled (train = first 1000, validation = next 350, test = last 447) so our numbers can be compared with published ones.

# %%
splits = data.digits()
print(*splits, sep="\n")
viz.show(viz.image_grid(splits.train.x[:20], nrow=10, titles=[str(int(y)) for y in splits.train.y[:20]]),
         alt="The first 20 training digits in two rows of ten, each an 8 × 8 image drawn light on dark with its label "
         "above it: coarse but readable handwritten digits.")

# %% [markdown]
# ## 2. Two jobs: density estimation and sample generation
#
# A generative model can be asked two different things:
#
# 1. **Density estimation** — *how likely is this $x$?* Evaluate $p_\theta(x)$. Useful for outlier detection ("this X-ray is unlike the training data"), compression and model comparison.
# 2. **Sample generation** — *show me a new $x$.* Draw $x \sim p_\theta$. Useful for synthesis, inpainting, super-resolution, data augmentation, and all of "generative AI".
#
# Some models do both (autoregressive models, flows), some only approximately (VAEs, diffusion), some only sample (GANs). The simplest model does both exactly: fit a Gaussian $q_\theta(x) = \mathcal N(x; \mu, \sigma^2)$ to one-dimensional data by maximum likelihood, $\hat\mu = \frac1N\sum_i x^{(i)}$, $\hat\sigma^2 = \frac1N\sum_i (x^{(i)} - \hat\mu)^2$. Below the "unknown" $p_\text{data}$ is a lopsided two-component mixture; the model only sees its samples.

# %%
p_data = divergences.two_component_mixture(separation=3.0, std=0.7, weight=0.3)  # the truth, hidden from the model
x_train = p_data.sample(500, generator=generator)                                # all the model sees

mu_hat, sigma_hat = x_train.mean().item(), x_train.std(unbiased=False).item()    # maximum likelihood
q = lambda x: divergences.gaussian_log_prob(x, mu_hat, sigma_hat)                # log q_θ(x)

print(f"fitted q_θ = N(μ={mu_hat:.3f}, σ²={sigma_hat:.3f}²)")
print(f"density estimation: log q_θ(0.0) = {q(torch.tensor(0.0)).item():.3f},  log q_θ(3.0) = {q(torch.tensor(3.0)).item():.3f}")
x_new = mu_hat + sigma_hat * torch.randn(5, generator=generator, dtype=torch.float64)  # sample generation
print("sample generation: ", [round(v, 2) for v in x_new.tolist()])

grid = torch.linspace(-5, 5, 400, dtype=torch.float64)
fig = Figure(figsize=(5, 2.4), layout="constrained")
ax = fig.add_subplot()
ax.hist(x_train.numpy(), bins=40, density=True, color="0.8", label="training samples")
ax.plot(grid, p_data.log_prob(grid).exp(), "k--", lw=1, label="$p_{data}$ (unknown to the model)")
ax.plot(grid, q(grid).exp(), "C0", label=r"$q_\theta$ (maximum likelihood)")
ax.legend(fontsize=7, frameon=False); ax.set_xlabel("x")
viz.show(fig, alt="Density against x: a histogram of the training samples, the two-bump mixture p_data dashed over it, "
         "and the fitted Gaussian q_θ as a solid curve: one wide bump centred between the two modes, too low at both "
         "peaks and too high in the dip between them.")

# %% [markdown]
# The Gaussian is the best Gaussian, but not a good model: it cannot represent two bumps. Every lecture in this course is a way of building a far more flexible $p_\theta$ for images — where $x$ has $D = 64$ (digits), $784$ (MNIST) or millions of dimensions — that we can still fit and sample.
#
# ## 3. A map of the families
#
# ```
# generative models
# ├── explicit density: the model writes down p_θ(x)
# │   ├── tractable: log p_θ(x) computed exactly
# │   │   ├── autoregressive models: FVSBN, NADE, MADE, PixelRNN/CNN, WaveNet, transformers   → lectures 04, 05
# │   │   └── normalizing flows: NICE, RealNVP, Glow                                          → lecture 06
# │   └── approximate: a bound on log p_θ(x), or a Markov chain
# │       ├── variational: VAE, β-VAE (ELBO), diffusion models (an ELBO too)                  → lectures 02, 03, 08
# │       └── Markov chain: Boltzmann machines
# └── implicit density: the model can only sample
#     ├── direct: generative adversarial networks (GANs)                                       → lecture 07
#     └── Markov chain: generative stochastic networks
# ```
# Lecture 01 (autoencoders and PCA) is the non-probabilistic ancestor of the VAE: it learns a latent code but no density.
#
# **What we want from a generative model** — high-dimensional data; fast, efficient sampling; high sample quality; diverse samples (all the modes of the data); optionally, density evaluation; and a low-dimensional latent space we can interpolate in. No family has everything. The **generative learning trilemma** (Xiao et al., 2022) names the three that usually fight:

# %%
from coursekit.viz.trilemma import FAMILIES, trilemma_figure

viz.show(trilemma_figure(), alt="A triangle with the corners high sample quality (top), mode coverage and diversity "
         "(bottom left) and fast sampling (bottom right). GANs are written on the edge between quality and fast "
         "sampling; VAEs and normalizing flows between coverage and fast sampling; diffusion and autoregressive "
         "models between quality and coverage.")
display(Markdown("| family | gives up | taught in |\n|---|---|---|\n" + "\n".join(
    f"| {name} | {gives_up} | {where} |" for name, (_a, _b, gives_up, where) in FAMILIES.items())))

# %% [markdown]
# A picture of a claim, not yet a measurement: which corner a family gives up is the usual case in the literature, and there are exceptions in every direction (GANs with good coverage, fast diffusion samplers). Two of the wishes are not on the triangle: an **exact likelihood** (autoregressive models and flows have one, VAEs and diffusion models a bound, GANs none) and a low-dimensional latent space (VAEs and GANs have one; a flow's latent has the data's own dimension; autoregressive models have none). **Lecture 09 puts measured numbers on this picture** — bits/dim, Fréchet distance against the real-vs-real scale, mode coverage, and seconds per sample — for every family trained on the same test split, and checks where the picture holds on our data.
#
# ## 4. Maximum likelihood is KL minimisation
#
# The **Kullback–Leibler divergence** from $q$ to $p$ is
# $$\mathrm{KL}(p\,\|\,q) = \mathbb E_{x\sim p}\!\left[\log\frac{p(x)}{q(x)}\right] = \int p(x) \log\frac{p(x)}{q(x)}\,dx .$$
# It is **never negative** (Gibbs' inequality, from Jensen's inequality with the concave log: $-\mathrm{KL}(p\|q) = \mathbb E_p \log\frac{q}{p} \le \log \mathbb E_p \frac{q}{p} = \log\!\int q = 0$), it is **zero only when $p = q$**, and it is **not symmetric**: $\mathrm{KL}(p\|q) \ne \mathrm{KL}(q\|p)$ in general, so it is not a distance.
#
# Split the log of the ratio:
# $$\mathrm{KL}(p_\text{data}\,\|\,p_\theta) = \underbrace{\mathbb E_{p_\text{data}}[\log p_\text{data}(x)]}_{-H(p_\text{data}),\ \text{independent of }\theta} \;-\; \mathbb E_{p_\text{data}}[\log p_\theta(x)] .$$
# Only the second term depends on $\theta$, and with samples it becomes the average log-likelihood:
# $$\arg\min_\theta \mathrm{KL}(p_\text{data}\,\|\,p_\theta) = \arg\max_\theta \mathbb E_{p_\text{data}}[\log p_\theta(x)] \approx \arg\max_\theta \frac1N \sum_{i=1}^N \log p_\theta(x^{(i)}) .$$
# **Maximum likelihood is forward-KL minimisation.** Let us check it on the 1-D example: for several Gaussians $q = \mathcal N(\mu, \hat\sigma^2)$, the average negative log-likelihood of the samples should equal $H(p_\text{data}) + \mathrm{KL}(p_\text{data}\|q)$ — the difference is the same constant for every $q$.

# %%
g = divergences.default_grid(p_data)
log_p = p_data.log_prob(g)
entropy = -torch.trapezoid(log_p.exp() * log_p, g).item()   # H(p_data) = −∫ p log p
x_big = p_data.sample(200_000, generator=generator)           # many samples: a Monte-Carlo check

rows = ["| μ of q | average NLL of the samples | KL(p_data ‖ q) | NLL − KL |", "|---|---|---|---|"]
for mu in [-1.0, 0.0, mu_hat, 2.0]:
    nll = -divergences.gaussian_log_prob(x_big, mu, sigma_hat).mean().item()
    kl = divergences.forward_kl(p_data, mu, sigma_hat, grid=g)
    rows.append(f"| {mu:.3f} | {nll:.4f} | {kl:.4f} | {nll - kl:.4f} |")
display(Markdown("\n".join(rows) + f"\n\nH(p_data) = {entropy:.4f} nats: the last column is that constant (up to Monte-Carlo noise), "
                 "and the smallest NLL and the smallest KL come from the same μ, the maximum-likelihood one."))

# %% [markdown]
# ### Forward vs reverse KL: mode covering vs mode seeking
#
# Fit one Gaussian $q = \mathcal N(\mu, \sigma^2)$ to a **two-component mixture** $p$. There are two KLs to minimise, and they disagree:
#
# - **Forward** $\mathrm{KL}(p\,\|\,q) = \mathbb E_p[\log p - \log q]$ — what maximum likelihood minimises. The expectation is under $p$: wherever $p$ has mass and $q$ has almost none, $-\log q$ explodes. So $q$ must **cover every mode** ("zero-avoiding"). For a Gaussian the minimiser is moment matching, $\mu = \mathbb E_p[x]$, $\sigma^2 = \mathrm{Var}_p[x]$, which puts the mean *between* the modes, where $p$ has no mass: blurry, averaged samples. (Remember this when you see blurry VAE samples.)
# - **Reverse** $\mathrm{KL}(q\,\|\,p) = \mathbb E_q[\log q - \log p]$ — what variational inference minimises (the VAE's encoder, lecture 02). The expectation is under $q$: $q$ is punished for putting mass where $p$ has none, not for missing some of $p$. So $q$ **seeks one mode** ("zero-forcing") and ignores the other. (A GAN that drops modes is often explained this way, but Goodfellow's 2016 tutorial argues that the divergence is not the cause: GANs set up to minimise the forward KL (f-GANs, Nowozin et al. 2016) still drop modes. The tutorial points to the training instead: alternating gradient steps do not tell min-max from max-min, and in max-min the generator sends every $z$ to the one point the current discriminator rates most real. Lecture 07 shows it.)
#
# The demo starts with the modes far apart (separation 7): the forward fit widens to cover both, the reverse fit sits on one. Slide the separation down: below about 6 (equal weights) the reverse fit stays between the modes, and as they overlap the two fits agree; the legend says which you are looking at. Move the weight to see which mode the reverse fit prefers.

# %%
demo = viz.kl_fit_demo(separation=SEPARATION)
display(demo)

# %% [markdown]
# The same picture, frozen, for three separations (this is what the slider shows):

# %%
fig = Figure(figsize=(6.4, 5.6), layout="constrained")
for ax, separation in zip(fig.subplots(3, 1), [2.0, 4.0, 7.0]):
    viz.kl_fit_figure(divergences.two_component_mixture(separation), ax=ax)
    ax.set_title(f"separation {separation:g}", fontsize=9)
viz.show(fig, alt="Three panels, one above the other, for separations 2, 4 and 7, each showing the mixture p shaded "
         "and two Gaussian fits, with each fit's KL in the legend. At separation 2 the two fits coincide; at 4 both "
         "sit between the two modes, the reverse fit a little narrower; at 7 the forward fit (solid) is one wide "
         "bump covering both modes while the reverse fit (dashed) sits tall and narrow on one mode.")

# %% [markdown]
# ### A symmetric alternative: the Jensen–Shannon divergence
#
# $$\mathrm{JS}(p\,\|\,q) = \tfrac12\,\mathrm{KL}\!\left(p \,\middle\|\, m\right) + \tfrac12\,\mathrm{KL}\!\left(q \,\middle\|\, m\right), \qquad m = \tfrac12 (p + q).$$
# It is symmetric, always finite and bounded: $0 \le \mathrm{JS} \le \log 2$. The original GAN (lecture 07) minimises it: with the optimal discriminator, the GAN's value is $V(G, D^*) = -\log 4 + 2\,\mathrm{JS}(p_\text{data}\,\|\,p_G)$. Measured on both fits:

# %%
rows = ["| separation | fit | μ | σ | KL(p‖q) | KL(q‖p) | JS(p‖q) |", "|---|---|---|---|---|---|---|"]
for separation in [2.0, 4.0, 7.0]:
    p = divergences.two_component_mixture(separation)
    g = divergences.default_grid(p)
    for name, (mu, sigma) in [("forward", divergences.fit_gaussian_forward_kl(p)),
                              ("reverse", divergences.fit_gaussian_reverse_kl(p, grid=g))]:
        log_q = lambda x, mu=mu, sigma=sigma: divergences.gaussian_log_prob(x, mu, sigma)
        js = divergences.js_divergence_on_grid(p.log_prob, log_q, g).item()
        mu = 0.0 if abs(mu) < 5e-3 else mu  # print −0.00 as 0.00
        rows.append(f"| {separation:g} | {name} | {mu:.2f} | {sigma:.2f} | {divergences.forward_kl(p, mu, sigma, g):.3f} "
                    f"| {divergences.reverse_kl(p, mu, sigma, g):.3f} | {js:.3f} |")
display(Markdown("\n".join(rows) + f"\n\nlog 2 = {math.log(2):.3f}: each fit wins its own KL, and neither KL is the other."))

# %% [markdown]
# ## 5. Scoring a density model: bits per dimension
#
# For discrete data such as our 17-level pixels, $p_\theta(x)$ is a probability, so $-\log p_\theta(x) \ge 0$ is the number of nats (or, with $\log_2$, bits) a code built from the model needs to store $x$. To compare models across image sizes we report the test average per dimension:
# $$\text{bits/dim} = \frac{\mathbb E_{x\sim\text{test}}[-\log p_\theta(x)]}{D \ln 2}, \qquad D = 1\cdot 8 \cdot 8 = 64 .$$
# Lower is better. Two reference points frame every number in this course:
#
# - **uniform**: every level equally likely, $\log_2 17 \approx 4.087$ bits/dim — a model that learnt nothing;
# - **the floor model** below — a model that learnt each pixel on its own but nothing about how pixels go together.
#
# ## 6. The floor model: every pixel on its own
#
# Let each pixel $d$ have its own categorical distribution over the $K = 17$ levels and ignore all correlations:
# $$p_\pi(x) = \prod_{d=1}^{D} \mathrm{Cat}(x_d \mid \pi_d), \qquad \log p_\pi(x) = \sum_{d=1}^D \log \pi_{d, x_d}.$$
# Maximising the log-likelihood subject to $\sum_k \pi_{d,k} = 1$ (a Lagrange multiplier per pixel) gives the counts: $\pi_{d,k} = n_{d,k} / N$. A level never seen at a pixel in training would get probability 0, and one such test pixel makes the test log-likelihood $-\infty$. So we **smooth**: add $\alpha = \tfrac12$ to every count, $\pi_{d,k} = (n_{d,k} + \alpha)/(N + K\alpha)$.

# %%
# NBVAL_CHECK_OUTPUT
# (the line above makes the test suite check that these numbers come out the same on every run)
floor = evaluation.floor_model(splits.train, alpha=0.5).to(device)
test_bpd = evaluation.bits_per_dim(-floor.log_prob(splits.test.x).mean().item(), splits.test.dims)
print(f"uniform:     {evaluation.uniform_bits_per_dim(17):.3f} bits/dim")
print(f"floor model: {test_bpd:.3f} bits/dim on the test split")

unsmoothed = evaluation.floor_model(splits.train, alpha=0.0)
log_p0 = unsmoothed.log_prob(splits.test.x)
print(f"without smoothing: {int(torch.isinf(log_p0).sum())} of {len(splits.test)} test images get log p = −∞ "
      "(a level never seen at some pixel in training)")

# %% [markdown]
# > **Common mistake.** Reporting a test likelihood without smoothing (or with a probability clipped to `1e-12` "to avoid NaNs"). The first gives $-\infty$, the second a number that depends on the clip. Smoothing is part of the model: it is a prior (a Dirichlet with parameter $\alpha$), not a hack.
#
# What did the floor model learn? Its mean image and, per pixel, the entropy of $\pi_d$ (how unsure it is). Then samples: every pixel is drawn on its own.

# %%
pi = floor.log_pi.exp().cpu()                                    # (D, K) = (64, 17)
levels = torch.arange(17, dtype=pi.dtype)
mean_image = (pi * levels).sum(1).reshape(1, 1, 8, 8)            # E[x_d] per pixel
entropy_bits = -(pi * pi.log2()).sum(1).reshape(1, 1, 8, 8)      # H(π_d) in bits per pixel
fig = Figure(figsize=(4.4, 2.2), layout="constrained")
ax1, ax2 = fig.subplots(1, 2)
viz.image_grid(mean_image, vmin=0, vmax=16, ax=ax1); ax1.set_title("mean image", fontsize=8)
viz.image_grid(entropy_bits, cmap="viridis", colorbar="bits", ax=ax2); ax2.set_title("entropy per pixel (bits)", fontsize=8)
viz.show(fig, alt="Left: the floor model's mean image, a blurred light oval in the middle columns on a dark ground. "
         "Right: the entropy of each pixel's 17-level distribution, with a colour bar in bits: near 0 in the blank "
         "left and right columns and highest in the middle, where strokes vary from digit to digit.")
print(f"the entropies average to {entropy_bits.mean():.3f} bits/pixel: the floor model's expected bits/dim on its own samples")

# %%
samples = floor.sample(N_SAMPLES, generator=torch.Generator().manual_seed(SEED))
viz.show(viz.image_grid(samples, nrow=10),
         alt="Samples of the floor model, ten per row: speckled patches with ink near the middle and dark (blank) left "
         "and right edges, whose pixels do not join into strokes, so none of them is a digit.")
sample_bpd = evaluation.bits_per_dim(-floor.log_prob(samples).mean().item(), 64)
print(f"the model's own samples score {sample_bpd:.3f} bits/dim under it; the test digits {test_bpd:.3f}")

# %% [markdown]
# Each pixel on its own is plausible — ink in the middle, blank edges — but the images are not digits: strokes need neighbouring pixels to agree, and this model cannot make them agree. **Every model in the rest of the course is a way to capture those dependencies**, and each will be judged by how far below ≈2.40 bits/dim it gets on the same test split (and, for models without a likelihood, by how good its samples look and score).
#
# ## Notation used in the whole course
#
# | symbol | meaning |
# |---|---|
# | $x$, $x_d$ | a data point (an image) and its $d$-th dimension (pixel) |
# | $D$ | the number of dimensions of $x$ ($C \cdot H \cdot W$; 64 for the digits). Not the discriminator, which is $D_\psi$ |
# | $N$, $x^{(i)}$ | the number of training examples, the $i$-th one |
# | $K$ | the number of levels of a discrete pixel (17 for the digits, 256 for 8-bit images) |
# | $p_\text{data}$ | the unknown distribution the data comes from |
# | $p_\theta$ | the model, with parameters $\theta$ (also $p_\text{model}$) |
# | $z$, $p(z)$ | a latent variable and its prior, usually $\mathcal N(0, I)$ |
# | $q_\phi(z \mid x)$ | an encoder / approximate posterior with parameters $\phi$ (lecture 02) |
# | $\mathcal N(\mu, \sigma^2)$, $\mathrm{Cat}(\pi)$ | Gaussian, categorical distributions |
# | $\mathrm{KL}(p\|q)$, $\mathrm{JS}(p\|q)$, $H(p)$ | Kullback–Leibler, Jensen–Shannon divergences, entropy (nats unless said) |
# | $\mathbb E_{x\sim p}[\cdot]$ | expectation under $p$ |
# | ELBO | evidence lower bound, $\log p_\theta(x) \ge \mathrm{ELBO}$ (lectures 02, 03, 08) |
# | $\beta_\text{KL}$ | the KL weight of a β-VAE (lecture 03) — not the diffusion schedule |
# | $\beta_t,\ \alpha_t = 1-\beta_t,\ \bar\alpha_t = \prod_{s\le t}\alpha_s$ | the diffusion noise schedule (lecture 08) |
# | $f$, $\lvert\det J_f\rvert$ | an invertible flow and its Jacobian determinant (lecture 06) |
# | $G$, $D_\psi$ | a GAN's generator and discriminator (lecture 07) |
# | bits/dim | $-\log_2 p_\theta(x) / D$ averaged over the test split |
#
# In code, names follow these symbols: `log_pi`, `mu`, `sigma`, `beta_kl`, `betas`, `alpha_bar`.
#
# ## Summary
#
# - A generative model learns $p_\theta(x) \approx p_\text{data}(x)$ from samples; it is asked to **evaluate** densities, to **sample**, or both.
# - Families differ in what they can do exactly: tractable likelihood (autoregressive, flows), a bound (VAE, diffusion), or sampling only (GANs); none wins the quality–diversity–speed trilemma outright.
# - Maximum likelihood = minimising the forward $\mathrm{KL}(p_\text{data}\|p_\theta)$, which is mode covering; the reverse KL is mode seeking; JS is a symmetric, bounded compromise.
# - Bits/dim is the common currency: uniform is 4.087, the independent-pixel floor 2.398 on the digits test split.
#
# **Exercises.** The graded exercise for this lecture (`exercises/00_introduction.ipynb`) has you implement the Gaussian KL and the floor model and check them. Ungraded questions to try here: (a) with weight 0.8 in the demo, which mode does the reverse fit choose, and why? (b) Compute the floor model's test bits/dim for $\alpha$ from $10^{-4}$ to 5 (`evaluation.floor_bits_per_dim(splits.train, splits.test, alpha=...)`). Which $\alpha$ is best on the test split? Why do a tiny and a large $\alpha$ both lose, and why is the curve so flat near its best value? (c) Prove that moment matching minimises the forward KL for a Gaussian $q$.
#
# **References.**
# - I. Goodfellow, *NIPS 2016 Tutorial: Generative Adversarial Networks* (2016) — the taxonomy of section 3.
# - Z. Xiao, K. Kreis, A. Vahdat, *Tackling the Generative Learning Trilemma with Denoising Diffusion GANs*, ICLR 2022.
# - C. Bishop, *Pattern Recognition and Machine Learning* (2006), §1.6 (KL divergence) and §10.1.2 (forward vs reverse KL).
# - T. Minka, *Divergence measures and message passing*, Microsoft Research technical report (2005).
# - L. Theis, A. van den Oord, M. Bethge, *A note on the evaluation of generative models*, ICLR 2016 — bits/dim and its pitfalls.
# - J. Tomczak, *Deep Generative Modeling*, Springer (2022) — the digits split and reference numbers.
