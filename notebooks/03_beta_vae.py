# %% [markdown]
# # 03 · β-VAE: rate, distortion and disentanglement
#
# **Learning objectives.** After this lecture you can
# 1. state the VAE as a **constrained problem** — reconstruct as well as possible while the code carries at most $\delta$ nats — and derive with the **KKT conditions** that its Lagrangian is the ELBO with a weight $\beta$ on the KL term;
# 2. read the two terms as **distortion** $D$ and **rate** $R$ ($-\mathrm{ELBO} = D + R$), say why $\beta$ is the slope of the rate–distortion trade-off, and predict which latent dimensions switch off as $\beta$ grows;
# 3. define **disentanglement** against known factors of variation and compute the **Mutual Information Gap (MIG)**, including what it does and does not measure;
# 4. train β-VAEs on sprites with known factors (shape, scale, rotation, x, y), draw their rate–distortion curve, and use the **β slider** to see reconstructions, latent traversals and MIG change with β;
# 5. say honestly what β buys (more axis-aligned codes, worse likelihood) and what it cannot promise (Locatello et al., 2019).
#
# **Time:** about 60 minutes of reading and playing; the notebook runs top to bottom in well under a minute on a 2-core laptop CPU the first time (44 s measured cold by `benchmarks/notebook_times.py` on a quiet 2-core machine, most of it training five small β-VAEs for 12 epochs each), and in seconds afterwards, because trained models are cached on disk.
# **Before you start:** run all cells (*Run → Run All Cells*); lecture 02 (the VAE and its ELBO) is the background. Section 7 has the β slider.

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults run the lecture in about a minute on a 2-core CPU.
SEED = 0                     # every random number below follows from it
DEVICE = "auto"              # "auto" = CUDA, then Apple MPS, then CPU
SPRITE_SIZE = 32             # sprites are SPRITE_SIZE × SPRITE_SIZE binary images (7,680 of them)   GPU: 64
BETAS = (0.5, 1, 2, 4, 8)    # the KL weights β to train, one model each: the slider's stops         GPU: add 16
LATENT_DIM = 10              # latent dimensions L (twice the number of factors)
ARCHITECTURE = "mlp"         # "mlp" or "conv" (the convolutional encoder/decoder)                  GPU: "conv"
HIDDEN = 256                 # units per hidden layer                                                GPU: 512
EPOCHS = 12                  # passes over the 6,144 training sprites per model (not converged: section 6)   GPU: 60
BATCH_SIZE = 128             # a larger batch and step than lecture 02's: the same epochs in fewer, cheaper steps
LR = 2e-3
MIG_BINS = 20                # equal-width bins per latent dimension for the mutual information
ACTIVE_KL = 0.05             # nats: a latent whose mean KL(q(z_j|x) ‖ N(0, 1)) is at most this is switched off
CACHE_DIR = None             # trained models are kept here (None: $COURSEKIT_CACHE, else ~/.cache/coursekit)
RETRAIN = False              # True: train every model again even if a cached one exists

# %%
import math
import time

import torch
from IPython.display import Markdown, display
from matplotlib.figure import Figure

from coursekit import data, evaluation, resolve_device, seed_everything, viz
from coursekit.data import sprites
from coursekit.evaluation.disentanglement import active_latents
from coursekit.models import VAE
from coursekit.models.vae import gaussian_kl_per_dim
from coursekit.training import train_cached

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
if device.type == "cpu":
    torch.set_num_threads(1)   # these networks are small: one thread is faster than two that fight for a busy CPU
splits = sprites.sprites(size=SPRITE_SIZE, seed=SEED)               # Splits(train, val, test) over the full factor grid
SHAPE, D_PIXELS = tuple(splits.train.x.shape[1:]), splits.train.dims
FACTOR_NAMES = splits.train.factor_names                              # ("shape", "scale", "rotation", "x", "y")
x_all = torch.cat([s.x for s in splits]).to(device)                   # every sprite: (7680, 1, H, W), 0/1
factors_all = torch.cat([s.factors for s in splits])                  # (7680, 5): the true factors of each
loaders = data.loaders(splits, batch_size=BATCH_SIZE, seed=SEED)
print(f"torch {torch.__version__} on {device}; sprites: {[len(s) for s in splits]} binary images of shape {SHAPE}; "
      f"factors {FACTOR_NAMES}")

# %% [markdown]
# ## 1. From a constraint to β: the KKT conditions
#
# Lecture 02 maximised the ELBO, $\mathbb E_{q_\phi(z\mid x)}[\log p_\theta(x \mid z)] - \mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z))$, and read its two terms as a reconstruction term and a regulariser. Higgins et al. (2017) start from a different question: **reconstruct as well as possible, with a code that carries at most $\delta$ nats on average**,
# $$\max_{\theta,\phi}\; \mathbb E_{x\sim p_{\text{data}}}\Big[\mathbb E_{q_\phi(z\mid x)} \log p_\theta(x \mid z)\Big] \quad\text{subject to}\quad \mathbb E_{x\sim p_{\text{data}}}\Big[\mathrm{KL}\big(q_\phi(z \mid x)\,\|\,p(z)\big)\Big] \le \delta .$$
# A tight budget $\delta$ forces the encoder to keep only the most useful information — and, the hope is, to spend each nat on one independent factor of the data, since the prior $p(z) = \mathcal N(0, I)$ has independent coordinates and a code aligned with them is the cheapest.
#
# **The Lagrangian.** Attach a multiplier $\beta$ to the constraint:
# $$\mathcal L(\theta, \phi; \beta) = \mathbb E_x\Big[\mathbb E_{q_\phi} \log p_\theta(x \mid z)\Big] - \beta\Big(\mathbb E_x\big[\mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z))\big] - \delta\Big).$$
# The **Karush–Kuhn–Tucker (KKT) conditions** are what a solution $(\theta^*, \phi^*, \beta^*)$ must satisfy (under mild regularity; the problem is not convex in the network weights, so they are necessary, not sufficient):
# 1. *stationarity*: $\nabla_{\theta,\phi}\,\mathcal L(\theta^*, \phi^*; \beta^*) = 0$;
# 2. *primal feasibility*: $\mathbb E_x[\mathrm{KL}] \le \delta$;
# 3. *dual feasibility*: $\beta^* \ge 0$;
# 4. *complementary slackness*: $\beta^*\,(\mathbb E_x[\mathrm{KL}] - \delta) = 0$ — either the budget is spent exactly, or the constraint is slack and $\beta^* = 0$.
#
# For a fixed $\beta$ the term $\beta\delta$ does not depend on $\theta, \phi$, so stationarity of $\mathcal L$ is stationarity of the **β-VAE objective**
# $$\mathcal F_\beta(\theta, \phi) = \mathbb E_{q_\phi(z\mid x)}\big[\log p_\theta(x \mid z)\big] - \beta\,\mathrm{KL}\big(q_\phi(z \mid x)\,\|\,p(z)\big),$$
# averaged over the data: the ELBO with a weight $\beta$ on its KL term ("max Orange − β Purple" in the summary sheet). $\beta = 1$ is the ELBO; $\beta > 1$ is a tighter budget $\delta$, $\beta < 1$ a looser one. In practice one picks $\beta$, not $\delta$: each $\beta$ corresponds to the budget its solution ends up spending. In `coursekit` it is `VAE(beta_kl=β)` (not `betas`, which later lectures keep for the diffusion noise schedule); `loss` minimises $-\mathcal F_\beta$ and still reports the true ELBO.
#
# > **Common mistake.** The summary sheet writes the constraint inside the expectation over $x$, as $\mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z)) < \delta$ for each $x$. That would be one constraint, and one multiplier $\beta_x$, per data point. The β-VAE has a single $\beta$ because it constrains the **average** KL over the data, as written above.
#
# > **Common mistake.** "β > 1 gives a better VAE." As a model of the data it gives a *worse* one: $\mathcal F_\beta \ne$ ELBO for $\beta \ne 1$, and the ELBO — the bound on $\log p_\theta(x)$ — is, in theory, best at $\beta = 1$, the only setting that maximises it (section 6 shows what short training does to that). What $\beta > 1$ buys is a different code, not a better likelihood.

# %% [markdown]
# ## 2. Rate and distortion
#
# Name the two terms after their meaning in information theory (Alemi et al., 2018):
# $$D = -\,\mathbb E_x\,\mathbb E_{q_\phi(z\mid x)}\big[\log p_\theta(x \mid z)\big] \quad\text{(distortion, nats)}, \qquad R = \mathbb E_x\,\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p(z)\big) \quad\text{(rate, nats)} .$$
# The rate is what sending $z$ costs: it bounds the information the code holds about the data, $R \ge I_q(x; z)$. The negative ELBO is their sum, $-\mathrm{ELBO} = D + R$, and the β-VAE minimises $D + \beta R$. On the $(R, D)$ plane the lines $D + \beta R = c$ have slope $-\beta$; the β-VAE slides such a line down until it touches the set of achievable $(R, D)$. So **β is minus the slope of the rate–distortion curve at the chosen point**: $\beta = -\,dD/dR$. A large $\beta$ lands where the curve is steep — few nats, each of which buys a large drop in distortion.
#
# **A case we can solve exactly.** A Gaussian source $x \sim \mathcal N(0, \sigma^2)$ described with $R$ nats can be reconstructed with squared error no better than $D(R) = \sigma^2 e^{-2R}$ (Shannon's rate–distortion function; a Gaussian decoder's $-\log p(x\mid z)$ with variance $s^2$ is the squared error divided by $2s^2$ plus a constant, so the trade-off has the same form, with the threshold below at $\beta \ge \sigma^2/s^2$). Minimise $D(R) + \beta R$ over $R \ge 0$ with the KKT conditions: stationarity gives $-2\sigma^2 e^{-2R} + \beta - \lambda = 0$ with a multiplier $\lambda \ge 0$ for $R \ge 0$ and $\lambda R = 0$, so
# $$R^*(\beta) = \max\Big(0,\; \tfrac12 \log \frac{2\sigma^2}{\beta}\Big), \qquad D^* = \min\big(\sigma^2,\; \beta/2\big).$$
# When $\beta \ge 2\sigma^2$ the best rate is **zero**: this coordinate is not worth a single nat and the code ignores it. That is what happens to a VAE's latent dimensions as $\beta$ grows — they switch off one by one, the weakest first (posterior collapse, on purpose). The cell checks the closed form against a brute-force search and the slope $-dD/dR$ against $\beta$.

# %%
# NBVAL_CHECK_OUTPUT
sigma2 = 1.0                                                    # σ², the source's variance
R_grid = torch.linspace(0, 3, 30_001, dtype=torch.float64)     # rates to search, nats
D_curve = sigma2 * torch.exp(-2 * R_grid)                      # D(R) = σ² e^{−2R}
rows = ["| β | argmin of D + βR on the grid | KKT: R* = max(0, ½ log 2σ²/β) | −dD/dR at R* |", "|---|---|---|---|"]
points = {}
for beta in (0.25, 0.5, 1.0, 1.5, 2.0, 3.0):
    R_search = float(R_grid[torch.argmin(D_curve + beta * R_grid)])
    R_star = max(0.0, 0.5 * math.log(2 * sigma2 / beta))
    slope = 2 * sigma2 * math.exp(-2 * R_star)                 # −dD/dR = 2σ² e^{−2R}
    points[beta] = (R_star, sigma2 * math.exp(-2 * R_star))
    rows.append(f"| {beta:g} | {R_search:.4f} | {R_star:.4f} | "
                + (f"{slope:.4f} (= β)" if R_star > 0 else f"{slope:.4f} (R* = 0: 2σ² ≤ β, the constraint R ≥ 0 binds)") + " |")
display(Markdown("\n".join(rows)))

# %%
fig = Figure(figsize=(5.6, 3.2), layout="constrained")
ax = fig.subplots()
ax.plot(R_grid, D_curve, color="k", lw=1.5, label="D(R) = σ² e^{−2R}")
for i, (beta, (R_star, D_star)) in enumerate(points.items()):
    line = D_star - beta * (R_grid - R_star)                   # D + βR = const through the optimum: slope −β
    ax.plot(R_grid, line, color=f"C{i}", lw=0.8, ls="--")
    ax.plot([R_star], [D_star], "o", color=f"C{i}", label=f"β = {beta:g}: R* = {R_star:.2f}")
ax.set_xlim(0, 2); ax.set_ylim(0, 1.2)
ax.set_xlabel("rate R (nats)"); ax.set_ylabel("distortion D (squared error)")
ax.set_title("each β picks the point where the curve's slope is −β", fontsize=9)
ax.legend(fontsize=7)
viz.show(fig, alt="The distortion–rate curve D(R) of a Gaussian source, falling from σ² at R = 0, with one dot per β at "
         "its optimum and a dashed tangent of slope −β through it: larger β puts the dot further left, at lower rate.")

# %% [markdown]
# With many independent Gaussian coordinates of variances $\sigma_i^2$ the same conditions give every coordinate the same slope $\beta$ until its rate hits zero — *reverse water-filling*, the graded exercise of this lecture. A β-VAE's latent dimensions behave the same way, with the learned factors of the data in place of the coordinates: the question of this lecture is whether those learned coordinates are the data's *true* factors.
#
# ## 3. Sprites: data with known factors of variation
#
# To measure disentanglement we need data whose factors of variation are known. `coursekit.data.sprites` renders one white shape on black at every combination of five factors, like DeepMind's dSprites (Matthey et al., 2017), in a second: **shape** (square, ellipse, triangle), **scale** (5 values), **rotation** (8 values, in turns of the shape's own symmetry, so no two factor settings give the same image), **x** and **y** (8 positions each) — $3 \cdot 5 \cdot 8 \cdot 8 \cdot 8 = 7{,}680$ binary images. Each row below changes one factor and keeps the others.

# %%
grid = sprites.sprite_factors()
rows = []
for k, name in enumerate(FACTOR_NAMES):
    f = torch.tensor([0.0, 0.8, 0.0, 0.5, 0.5]).repeat(8, 1)   # a reference sprite: square, scale 0.8, centred
    values = grid.values[k]
    f[:, k] = values[torch.linspace(0, len(values) - 1, 8).round().long()]
    rows.append(sprites.render_batch(f[:, 0].long(), f[:, 1], f[:, 2], f[:, 3], f[:, 4], size=SPRITE_SIZE))
fig = Figure(figsize=(6.0, 4.2), layout="constrained")
axes = fig.subplots(len(rows), 1)
for ax, name, images in zip(axes, FACTOR_NAMES, rows):
    viz.image_grid(images, nrow=8, levels=2, ax=ax)
    ax.set_title(f"{name}: {grid.sizes[FACTOR_NAMES.index(name)]} values", fontsize=8, loc="left")
viz.show(fig, alt="Five rows of sprites, one per factor (shape, scale, rotation, x, y): along each row only that factor "
         "changes, from a reference sprite.")

# %% [markdown]
# ## 4. Measuring disentanglement: the Mutual Information Gap
#
# A code $z = \mu_\phi(x)$ is **disentangled** when each factor of variation $v_k$ is carried by one latent dimension and each latent dimension carries at most one factor: moving $z_j$ changes one thing about the image. (The summary sheet also mentions the supervised route — give the known factors $y$ to the model and make $z$ independent of them, as the conditional VAE of lecture 02 does with the digit label. This lecture asks what happens *without* labels.)
#
# The **Mutual Information Gap** (Chen et al., 2018) turns this into a number. For each factor $v_k$, find the latent dimension with the most information about it, $j^{*}$, and the runner-up $j^{\circ}$:
# $$\mathrm{MIG} = \frac1F \sum_{k=1}^{F} \frac{I(z_{j^{*}}; v_k) - I(z_{j^{\circ}}; v_k)}{H(v_k)} \in [0, 1].$$
# Dividing by the factor's entropy $H(v_k)$ puts every factor on the same scale. MIG is 1 when each factor lives entirely in one dimension, and 0 when the best two share it equally (or none holds it). `evaluation.mig` estimates each $I(z_j; v_k)$ by binning $z_j$ into `MIG_BINS` equal-width bins and counting (a plug-in estimate, in nats), on all 7,680 sprites: MIG describes the code, not a held-out likelihood.
#
# Two codes that hold the same information show what MIG rewards: the factors themselves (with five unused noise dimensions), and the same code **rotated** by a random orthogonal matrix — every dimension a mixture of all factors. The rotation loses no information (it is invertible) and yet MIG collapses: **MIG measures axis alignment, not information**. A model that has learned the factors but mixed them scores no better than one that learned nothing.

# %%
# NBVAL_CHECK_OUTPUT
g = torch.Generator().manual_seed(SEED)
standardised = (factors_all - factors_all.mean(0)) / factors_all.std(0)         # (N, 5): one factor per column
ideal = torch.cat([standardised, torch.randn(len(standardised), 5, generator=g)], 1)   # + 5 unused latents: (N, 10)
Q, _ = torch.linalg.qr(torch.randn(10, 10, generator=g))                          # a random orthogonal matrix
rotated = ideal @ Q                                                               # the same information, mixed
mig_ideal = evaluation.mig_details(ideal, factors_all, bins=MIG_BINS)
mig_rotated = evaluation.mig_details(rotated, factors_all, bins=MIG_BINS)
print(f"MIG of the factors themselves: {mig_ideal.score:.3f}; of the same code rotated: {mig_rotated.score:.3f}")


# %%
def mi_heatmap(ax, result, title):
    "The matrix I(z_j; v_k) / H(v_k) behind a MIG: latents down, factors across."
    image = ax.imshow(result.normalized_mi.numpy(), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(FACTOR_NAMES)), FACTOR_NAMES, rotation=45, fontsize=7)
    ax.set_yticks(range(result.normalized_mi.shape[0]), [f"z_{j + 1}" for j in range(result.normalized_mi.shape[0])], fontsize=6)
    ax.set_title(title, fontsize=8)
    return image

fig = Figure(figsize=(6.2, 3.0), layout="constrained")
for ax, result, name in zip(fig.subplots(1, 2), (mig_ideal, mig_rotated), ("factors as the code", "rotated code")):
    image = mi_heatmap(ax, result, f"{name}: MIG {result.score:.2f}")
fig.colorbar(image, ax=fig.axes, shrink=0.8).set_label("I(z_j; v_k) / H(v_k)", fontsize=7)
viz.show(fig, alt="Two heat maps of I(z_j; v_k)/H(v_k), latents down and factors across, with a colour bar from 0 to 1. "
         "Left, the factors used as the code: one bright cell per factor. Right, the same code rotated: every latent "
         "holds a little of every factor, and MIG drops.")

# %% [markdown]
# ## 5. Training β-VAEs, once
#
# One VAE per $\beta$ in `BETAS`, identical in everything else: the same architecture (a Bernoulli decoder, since sprites are binary; `LATENT_DIM` latents, twice the number of factors), the same initial weights, the same batches. `train_cached` trains a model the first time and stores its weights under a key made of everything that decides them (the model's code and configuration, its initial weights, the data, the training options); the next run of this notebook — or a change of `BETAS` that keeps some values — loads them in milliseconds. Set `RETRAIN = True` to train from scratch.

# %%
models, histories = {}, {}
start = time.perf_counter()
for beta in BETAS:
    torch.manual_seed(SEED)                                     # the same initial weights for every β
    model = VAE(shape=SHAPE, decoder="bernoulli", latent_dim=LATENT_DIM, architecture=ARCHITECTURE,
                hidden=HIDDEN, dropout=0.0, beta_kl=float(beta))
    histories[beta] = train_cached(model, loaders["train"], val_data=loaders["val"], epochs=EPOCHS, lr=LR,
                                   seed=SEED, device=device, cache_dir=CACHE_DIR, retrain=RETRAIN,
                                   name=f"sprites-beta-vae-{beta:g}", desc=f"β = {beta:g}")
    models[beta] = model
loaded = sum(h.from_cache for h in histories.values())
print(f"{len(BETAS)} β-VAEs ready in {time.perf_counter() - start:.1f} s ({loaded} loaded from the cache, "
      f"{len(BETAS) - loaded} trained for {EPOCHS} epochs)")
for beta, h in histories.items():   # the validation loss D + βR (nats per sprite) of the last three epochs
    print(f"β = {beta:g}: validation D + βR, last three epochs: " + ", ".join(f"{v:.1f}" for v in h["val/loss"][-3:]))

# %% [markdown]
# For each model: rate and distortion on the test sprites (nats per image; $D$ from one reparameterised draw), the ELBO in bits per pixel, how many latent dimensions carry information (**active**: mean KL above `ACTIVE_KL` = 0.05 nats), and MIG on all sprites — on the active latents, and, as Chen et al. define it, on all of them (the next cell shows why the two differ).

# %%
test_x = splits.test.x.to(device)
table = {}
for beta, model in models.items():
    with torch.no_grad():
        R, D = model.rate_distortion(test_x, generator=torch.Generator(device).manual_seed(SEED))  # (N,) each, nats
        mu_all, log_var_all = model.encode(x_all)                                                   # (7680, L) each
    mu_all, log_var_all = mu_all.cpu(), log_var_all.cpu()
    active = active_latents(mu_all, log_var_all, threshold=ACTIVE_KL)                               # (L,) bool
    mig_active = evaluation.mig_details(mu_all, factors_all, bins=MIG_BINS, active=active)
    table[beta] = {"R": float(R.mean()), "D": float(D.mean()), "mu": mu_all, "log_var": log_var_all,
                   "kl": gaussian_kl_per_dim(mu_all, log_var_all).mean(0),                          # (L,): ½(μ² + σ² − log σ² − 1)
                   "active": active,
                   "mig": mig_active, "mig_all": mig_active.on_all_latents()}                # one binning, two counts
best = min(table, key=lambda b: table[b]["R"] + table[b]["D"])
rows = ["| β | rate R (nats) | distortion D (nats) | −ELBO = D + R (bits/pixel) | D + βR (what it minimised) | active latents "
        "| MIG (active latents) | MIG (all latents) |", "|---|---|---|---|---|---|---|---|"]
for beta, t in table.items():
    rows.append(f"| {beta:g} | {t['R']:.2f} | {t['D']:.2f} | {(t['R'] + t['D']) / (D_PIXELS * math.log(2)):.4f}"
                f"{' (best)' if beta == best else ''} | {t['D'] + beta * t['R']:.2f} | {int(t['active'].sum())} of {LATENT_DIM} | "
                f"{t['mig'].score:.3f} | {t['mig_all'].score:.3f} |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# ### Switched-off latents fool the estimate
#
# MIG is computed from the encoder means $\mu_j(x)$, binned into `MIG_BINS` equal-width bins between each column's own minimum and maximum. A latent that β has switched off has $q(z_j \mid x) \approx \mathcal N(0, 1)$ for every sprite, but its $\mu_j(x)$ still moves a little with $x$ — by a few hundredths, against a posterior spread $\sigma_j \approx 1$ — and the bins stretch those moves over the full range. The plug-in estimate then finds information about the factors that the code $z_j = \mu_j + \sigma_j\varepsilon$ does not carry: a decoder reading $z_j$ sees noise. Where such a latent becomes a factor's runner-up $j^\circ$, it shrinks that factor's gap and MIG drops for a reason that has nothing to do with disentanglement. The cell shows it for the largest β: each latent's mean KL, the spread of $\mu_j$ over the sprites against its mean $\sigma_j$, and its information about the factor it shares the most with, measured on $\mu_j$ and on one draw of $z_j$; then each factor's best latent and runner-up with and without the switched-off latents.

# %%
beta = max(BETAS)
t = table[beta]
g = torch.Generator().manual_seed(SEED)
z_drawn = t["mu"] + torch.exp(0.5 * t["log_var"]) * torch.randn(t["mu"].shape, generator=g)   # one z ~ q(z|x) per sprite
on_drawn = evaluation.mig_details(z_drawn, factors_all, bins=MIG_BINS).normalized_mi            # (L, F), z instead of μ
on_mu = t["mig_all"].normalized_mi                                                              # (L, F)
rows = [f"| z_j (β = {beta:g}) | mean KL (nats) | sd of μ_j over sprites | mean σ_j | most about | I(μ_j; v)/H(v) | I(z_j; v)/H(v), z drawn |",
        "|---|---|---|---|---|---|---|"]
for j in torch.argsort(t["kl"], descending=True).tolist():
    k = int(on_mu[j].argmax())
    rows.append(f"| z_{j + 1} ({'on' if t['active'][j] else 'off'}) | {float(t['kl'][j]):.3f} | {float(t['mu'][:, j].std()):.3f} | "
                f"{float(torch.exp(0.5 * t['log_var'][:, j]).mean()):.2f} | {FACTOR_NAMES[k]} | {float(on_mu[j, k]):.2f} | "
                f"{float(on_drawn[j, k]):.2f} |")
display(Markdown("\n".join(rows)))
rows = ["| factor | best latent | runner-up, all latents | gap | runner-up, active latents | gap |", "|---|---|---|---|---|---|"]
for k, name in enumerate(FACTOR_NAMES):
    cells = []
    for result in (t["mig_all"], t["mig"]):
        order = torch.argsort(result.normalized_mi[:, k], descending=True)
        first, second = int(order[0]), int(order[1])
        cells.append((first, second, float(result.normalized_mi[second, k]), float(result.gaps[k])))
    (first, s_all, i_all, gap_all), (_, s_act, i_act, gap_act) = cells
    rows.append(f"| {name} | z_{first + 1} ({float(on_mu[first, k]):.2f}{', off' if not t['active'][first] else ''}) | z_{s_all + 1} ({i_all:.2f}"
                f"{', off' if not t['active'][s_all] else ''}) | {gap_all:.3f} | z_{s_act + 1} ({i_act:.2f}) | {gap_act:.3f} |")
display(Markdown("\n".join(rows)))
print(f"β = {beta:g}: MIG on all {LATENT_DIM} latents {t['mig_all'].score:.3f}, "
      f"on the {int(t['active'].sum())} active ones {t['mig'].score:.3f}")

# %% [markdown]
# With the default parameters (seed 0), at β = 8 the seven switched-off latents carry 0.001–0.002 nats each; their $\mu_j$ move by about 0.03 (the standard deviation over the sprites) under a posterior $\sigma_j$ of 1.00, yet binned between their own minimum and maximum they show between 0.06 and 0.16 of a factor's entropy — and 0.00 once $z_j$ is drawn from $q(z_j \mid x)$, while the three active latents keep most of theirs ($y$: 0.85 on $\mu$, 0.67 on a draw). That 0.00 is what the rate says it must be: a latent's mean KL bounds the information $z_j$ holds about the image, $I(x; z_j) \le \mathbb E_x\,\mathrm{KL}(q(z_j\mid x)\,\|\,p(z_j))$, and the factors hold no more than the image, so a latent at 0.002 nats holds at most 0.002 nats about any factor, about 0.001 of $H(x) = \log 8 = 2.08$ nats. On all ten latents every factor's runner-up is a switched-off latent, which shrinks the gaps ($x$ from 0.749 to 0.653, scale from 0.459 to 0.361) and takes MIG from 0.425 to 0.379.
#
# So the table's **MIG (active latents)** counts only the latents whose mean KL exceeds `ACTIVE_KL` (`active_latents(μ, log σ²)` in `coursekit.evaluation.disentanglement`; `mig_details(..., active=mask)` takes the others' information as zero), and that is the MIG the rest of the lecture reads. The two columns agree at β ≤ 2, where no switched-off latent is a runner-up, and part as β switches latents off. The threshold is a choice, but not a delicate one here: the β = 8 model's KLs jump from 0.960 to 0.002 nats, so any threshold in between gives the same three latents. What the correction does not do: the active latents are still scored on $\mu$, not on the code $z$, and MIG still measures axis alignment, not how much the code knows.
#
# Which factors have a latent of their own? For each β, the largest $I(z_j; v_k)/H(v_k)$ over the active latents, and which latent it is:

# %%
rows = ["| β | " + " | ".join(FACTOR_NAMES) + " |", "|---|" + "---|" * len(FACTOR_NAMES)]
for beta, t in table.items():
    mi = t["mig"].normalized_mi                                                 # (L, F); switched-off rows are 0
    rows.append(f"| {beta:g} | " + " | ".join(f"{float(mi[:, k].max()):.2f} (z_{int(mi[:, k].argmax()) + 1})"
                                             for k in range(len(FACTOR_NAMES))) + " |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## 6. The rate–distortion curve
#
# Each model is one point $(R, D)$. Larger $\beta$ moves left (fewer nats in the code) and up (worse reconstructions). The ELBO, $-(D + R)$, is constant along lines of slope $-1$; the dashed one goes through the model with the best ELBO. In theory that is $\beta = 1$, the only model that maximises the ELBO itself. After 12 epochs, though, the $\beta = 0.5$ model is ahead (0.0989 against 0.1062 bits per pixel in the table): a smaller KL weight lets the encoder put information into $z$ sooner, and the $\beta = 1$ model has not caught up yet (this is why VAEs are often trained with a *KL warm-up*, $\beta$ rising from 0 to 1). None of the five has converged — their validation losses were still falling in the last epochs (the training cell prints them) — and the lecture trains them for 12 epochs to run in about a minute, not because 12 is enough. Longer training narrows the gap without closing it at any length this lecture can afford: after 80 epochs on seed 0, −ELBO = D + R is 48.9 nats at $\beta = 0.5$ and 49.9 at $\beta = 1$ (`python benchmarks/beta_disentanglement.py --betas 0.5 1 --seeds 0 --epochs 80` prints both parts: R = 25.20, D = 23.69 and R = 18.27, D = 31.63), against 70.2 and 75.4 after 12 epochs. The theory speaks of the optimum; which of two under-trained models has the better ELBO is decided by the optimisation. The points of short runs sit above the true (unknown) optimal curve, so do not read their slopes too precisely. On the right, MIG (on the active latents, and dashed on all latents) and the number of active latents against $\beta$.

# %%
Rs = [table[b]["R"] for b in BETAS]; Ds = [table[b]["D"] for b in BETAS]
fig = Figure(figsize=(9.6, 3.4), layout="constrained")
ax, ax_mig = fig.subplots(1, 2)
ax.plot(Rs, Ds, "-o", color="k", ms=4)
for beta, r, d in zip(BETAS, Rs, Ds):
    ax.annotate(f"β = {beta:g}", (r, d), textcoords="offset points", xytext=(5, 4), fontsize=8)
c = table[best]["R"] + table[best]["D"]
r_line = torch.linspace(0, max(Rs) * 1.1, 50)
ax.plot(r_line, c - r_line, color="C3", lw=0.8, ls="--", label=f"D + R = {c:.1f} (the best ELBO, β = {best:g})")
ax.set_xlim(0, max(Rs) * 1.1); ax.set_ylim(min(Ds) * 0.8, max(Ds) * 1.1)
ax.set_xlabel("rate R = E KL(q(z|x) ‖ p(z))  (nats)"); ax.set_ylabel("distortion D = −E log p(x|z)  (nats)")
ax.legend(fontsize=7); ax.set_title("test sprites", fontsize=9)
ax_mig.plot(BETAS, [table[b]["mig"].score for b in BETAS], "-o", color="C0", ms=4, label="MIG, active latents")
ax_mig.plot(BETAS, [table[b]["mig_all"].score for b in BETAS], "--o", color="C0", ms=3, mfc="w", label="MIG, all latents")
ax_mig.legend(fontsize=7, loc="upper left")
ax_mig.set_xscale("log", base=2); ax_mig.set_xticks(BETAS, [f"{b:g}" for b in BETAS])
ax_mig.set_xlabel("β"); ax_mig.set_ylabel("MIG", color="C0"); ax_mig.set_ylim(0, 1)
ax_active = ax_mig.twinx()
ax_active.plot(BETAS, [int(table[b]["active"].sum()) for b in BETAS], "-s", color="C1", ms=4)
ax_active.set_ylabel("active latents", color="C1"); ax_active.set_ylim(0, LATENT_DIM + 0.5)
ax_mig.set_title(f"seed {SEED}: one run, not an average", fontsize=9)
viz.show(fig, alt="Left: each trained β-VAE as a point (rate R, distortion D) on the test sprites, larger β further "
         "left and higher, with a dashed line of constant ELBO through the best one. Right: MIG on the active latents "
         "and on all latents, and the number of active latents, against β on a log scale.")

# %% [markdown]
# ## 7. The β slider: reconstructions, traversals and MIG
#
# Each stop of the slider is one of the trained models. The picture shows eight sprites and their reconstructions $\text{decode}(\mu(x))$; then one **latent traversal** per row — sprite 1's code with one coordinate $z_j$ swept from $-2.5$ to $2.5$ prior standard deviations, the dimensions carrying the most KL first, each labelled with the factor it shares the most information with; and on the right the matrix $I(z_j; v_k)/H(v_k)$ that MIG is computed from. Watch three things as β grows: the reconstructions lose detail (orientation and corners first: they cost nats and change few pixels), fewer rows move the image, and the rows that do move change *one* factor — the matrix turns from smeared columns into a few bright cells, one per row.

#
# The slider computes MIG on the **active** latents, as the table's "active latents" column does: the bottom rows of its matrix — the switched-off latents, last by KL — are 0, where on all latents they would show the spurious values of section 5's second table.

# %%
beta_slider = viz.beta_vae_widget(models, x_all, factors_all, FACTOR_NAMES, bins=MIG_BINS, seed=SEED,
                                  active_kl=ACTIVE_KL)
beta_slider

# %% [markdown]
# For a static page (or a printout), the two ends of the slider, $\beta = 1$ and the largest $\beta$:

# %%
for b in (1.0 if 1.0 in beta_slider.summaries else min(beta_slider.summaries), max(beta_slider.summaries)):
    viz.show(beta_slider.render(b), alt=f"The β slider's picture at β = {b:g}: sprites and their reconstructions, one "
             "latent traversal per row (most informative latent first), and the matrix I(z_j; v_k)/H(v_k) behind MIG.")
    print(f"β = {b:g}: the slider's MIG (active latents) {beta_slider.summaries[b]['mig']:.3f}; "
          f"the table's: all latents {table[b]['mig_all'].score:.3f}, active latents {table[b]['mig'].score:.3f}")

# %% [markdown]
# ## 8. What β buys, and what it cannot promise
#
# - **It trades likelihood for structure — up to a point.** The table shows the ELBO falling as β grows (−ELBO from 0.0989 to 0.1308 bits per pixel) while MIG on the active latents rises (from 0.088 to 0.425): the code spends fewer nats, and the nats it keeps go to fewer, more axis-aligned dimensions. That holds within the lecture's range of β, not beyond it: `python benchmarks/beta_disentanglement.py --betas 1 8 16 32 --seeds 0` prints MIG 0.425, 0.362 and 0.178 at β = 8, 16 and 32 (on all latents 0.379, 0.254 and 0.115), with 3, 3 and 2 latents active and the rate down to 1.41 nats at β = 32. Once β starves the latents that hold the factors, MIG falls with them: it rewards a code that keeps each factor in one latent, not one that keeps nothing. A β-VAE is a representation learner; for samples and likelihoods, β = 1 (or better models, lectures 04–08) is the right choice.
# - **Cheap factors first.** The code spends its nats where they remove the most distortion. x and y move every ink pixel, so they are the factors best held by one latent at every β (section 5's last table: 0.33 and 0.33 of their entropy at β = 1, 0.82 and 0.85 at β = 8, each in a latent of its own); scale and shape come next and share one latent from β = 2 on (z_5 holds 0.47 of scale and 0.18 of shape at β = 8), and rotation, which changes only a few edge pixels of a small shape, is left out altogether — no active latent holds more than about 0.05 of it at any β.
# - **One seed is an anecdote.** The rise of MIG with β is clear on average but single runs vary a lot: `python benchmarks/beta_disentanglement.py` trains every β with three seeds (the lecture's defaults otherwise) and prints MIG on the active latents of 0.107 ± 0.014, 0.159 ± 0.024, 0.234 ± 0.032 and 0.343 ± 0.143 at β = 1, 2, 4 and 8 (mean ± sd over seeds 0, 1, 2); at β = 8, seed 1 scores 0.178 where seed 0 scores 0.425. Locatello et al. (2019) trained 12,000 models and found that, without supervision or inductive biases, the random seed and the hyperparameters matter about as much as the method, and that no unsupervised score tells you which run is disentangled without the true factors — which real data do not come with. Sprites have known factors; photographs do not.
# - **Variants.** Burgess et al. (2018) raise the budget $\delta$ slowly during training ($\mathcal F = \mathbb E\log p(x\mid z) - \gamma\,|\mathrm{KL} - C|$ with $C$ growing), which keeps reconstructions sharp; FactorVAE (Kim & Mnih, 2018) and β-TCVAE (Chen et al., 2018) penalise only the *total correlation* part of the KL, the part that couples the latent dimensions.
#
# ## Summary
#
# - The β-VAE is the Lagrangian of "reconstruct best with at most δ nats of code": by the KKT conditions, $\max\;\mathbb E_q[\log p_\theta(x\mid z)] - \beta\,\mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z))$ with $\beta \ge 0$ the multiplier of the constraint on the **average** KL. β = 1 is the ELBO.
# - Distortion $D = -\mathbb E\log p_\theta(x\mid z)$ and rate $R = \mathbb E\,\mathrm{KL}$ add up to $-\mathrm{ELBO}$; β is minus the slope of the rate–distortion curve at the chosen point. Coordinates whose signal is not worth β (for a Gaussian under squared error, $\sigma^2 \le \beta/2$) get zero rate: latents switch off as β grows.
# - Disentanglement is measured against known factors; MIG $= \frac1F\sum_k (I(z_{j^*}; v_k) - I(z_{j^\circ}; v_k))/H(v_k)$ rewards axis alignment, so a rotated perfect code scores near 0.
# - MIG is estimated on the encoder means; switched-off latents (mean KL ≈ 0.001 nats) look informative to the binned estimate while their code carries nothing, so count only the active latents (mean KL above a threshold).
# - On sprites, larger β lowers the rate, raises the distortion and, up to a point (here β = 8), raises MIG; the β slider shows reconstructions, traversals and the MI matrix change together. It is not a free lunch: the likelihood gets worse, and unsupervised disentanglement depends on seeds and inductive biases.
#
# **Exercises.** The graded exercise for this lecture (`exercises/03_beta_vae.ipynb`) has you solve the KKT conditions for many Gaussian coordinates at once (reverse water-filling), estimate mutual information from counts, implement MIG, and find a VAE's active latent dimensions. Ungraded questions to try here: (a) set `LATENT_DIM = 5`, exactly the number of factors: does MIG go up or down, and why? (b) Add β = 16 and β = 32 to `BETAS`: which factor is the last to keep a dimension? (c) Change `SEED` and compare the MIG of each β with the table above (then run `python benchmarks/beta_disentanglement.py`). (d) Use the Gaussian source of section 2 with $\sigma^2 = 4$: at which β does the code switch off?
#
# **References.**
# - I. Higgins, L. Matthey, A. Pal, C. Burgess, X. Glorot, M. Botvinick, S. Mohamed, A. Lerchner, *β-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework*, ICLR 2017 — the constrained objective and β.
# - A. Alemi, B. Poole, I. Fischer, J. Dillon, R. A. Saurous, K. Murphy, *Fixing a Broken ELBO*, ICML 2018 — rate, distortion and the ELBO.
# - C. P. Burgess, I. Higgins, A. Pal, L. Matthey, N. Watters, G. Desjardins, A. Lerchner, *Understanding disentangling in β-VAE*, 2018 — the information-bottleneck view and the growing capacity C.
# - R. T. Q. Chen, X. Li, R. Grosse, D. Duvenaud, *Isolating Sources of Disentanglement in Variational Autoencoders*, NeurIPS 2018 — MIG and β-TCVAE.
# - H. Kim, A. Mnih, *Disentangling by Factorising*, ICML 2018 — FactorVAE.
# - F. Locatello, S. Bauer, M. Lucic, G. Rätsch, S. Gelly, B. Schölkopf, O. Bachem, *Challenging Common Assumptions in the Unsupervised Learning of Disentangled Representations*, ICML 2019.
# - L. Matthey, I. Higgins, D. Hassabis, A. Lerchner, *dSprites: Disentanglement testing Sprites dataset*, 2017 — the data set our sprites imitate.
# - T. M. Cover, J. A. Thomas, *Elements of Information Theory*, 2nd ed., Wiley (2006), ch. 10 — the Gaussian rate–distortion function and reverse water-filling.
# - S. Boyd, L. Vandenberghe, *Convex Optimization*, Cambridge (2004), §5.5 — the KKT conditions.
# - L. Weng, *From Autoencoder to Beta-VAE* (2018), lilianweng.github.io.
