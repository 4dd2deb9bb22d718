# %% [markdown]
# # 02 · Variational autoencoders and the ELBO
#
# **Learning objectives.** After this lecture you can
# 1. write down a latent variable model $p_\theta(x) = \int p_\theta(x \mid z)\,p(z)\,dz$, say why the integral (and the posterior $p_\theta(z \mid x)$) is intractable, and show why naive Monte Carlo from the prior fails;
# 2. derive the **evidence lower bound** two ways — with Jensen's inequality, and from the identity $\log p_\theta(x) = \mathrm{ELBO} + \mathrm{KL}(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x))$ — and read its two terms;
# 3. make sampling differentiable with the **reparameterisation trick**, compute the Gaussian KL in closed form, and pick a decoder (categorical, Bernoulli, Gaussian) that matches the data;
# 4. train a VAE, use $\mu$ at inference, and explore its latent space — the 2-D manifold, a traversal widget, interpolation — and measure its continuity and completeness against a plain autoencoder's;
# 5. estimate $\log p_\theta(x)$ with **importance sampling (the IWAE bound)** and report bits/dim next to the ELBO and the baselines of lecture 00;
# 6. condition a VAE on a label and generate every digit in one handwriting.
#
# **Time:** about 75 minutes of reading and playing; the notebook runs top to bottom in about a minute on a 2-core laptop CPU (it trains six small models).
# **Before you start:** run all cells (*Run → Run All Cells*); lecture 01 (autoencoders) is the background. Section 9 has two widgets.

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults run the lecture in about a minute on a 2-core CPU.
SEED = 0            # every random number below follows from it
DEVICE = "auto"     # "auto" = CUDA, then Apple MPS, then CPU
DATA = "digits"     # "digits" (8×8, 17 grey levels, ships with the course) or "mnist" (28×28, 256 levels)
MNIST_ROOT = None   # for DATA = "mnist": the folder with the four IDX files (coursekit.data.mnist.download fetches them)
LATENT_DIM = 16     # the main VAE's latent size                                    GPU / MNIST: 32
HIDDEN = 512        # units per hidden layer, two layers each way                   GPU / MNIST: 1024
DROPOUT = 0.5       # on the hidden units, in training only                         GPU / MNIST: 0.1
EPOCHS = 40         # at most (early stopping on the validation ELBO); the benchmark: 300; GPU / MNIST: 100
SIDE_HIDDEN = 256   # the five side models (2-D, plain AE, Bernoulli, Gaussian, conditional); GPU / MNIST: 512
SIDE_EPOCHS = 30    # their epochs                                                  GPU / MNIST: 30
IWAE_K = 1000       # importance samples per test image for log p(x)
IWAE_N = None       # test images to estimate log p(x) on (None = all 447)           GPU / MNIST: 2000

# %%
import inspect
import math
import time

import torch
from IPython.display import Markdown, display
from matplotlib.figure import Figure

from coursekit import data, evaluation, resolve_device, seed_everything, viz
from coursekit.models import VAE
from coursekit.models.vae import gaussian_kl, reparameterize, diagonal_gaussian_log_prob, standard_normal_log_prob
from coursekit.training import train

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
if device.type == "cpu":
    torch.set_num_threads(1)   # these networks are small: one thread is faster than two that fight for a busy CPU
splits = data.load(DATA, **({"root": MNIST_ROOT} if DATA in ("mnist", "fashion_mnist") else {}))
LEVELS, SHAPE, D = splits.train.levels, tuple(splits.train.x.shape[1:]), splits.train.dims
loaders = data.loaders(splits, batch_size=64 if DATA == "digits" else 128, seed=SEED)
test_x, test_y = splits.test.x.to(device), splits.test.y.to(device)
print(f"torch {torch.__version__} on {device}; {DATA}: {[len(s) for s in splits]} images of shape {SHAPE}, "
      f"{LEVELS} levels, D = {D}")

# %% [markdown]
# ## 1. Latent variable models, and why their likelihood is intractable
#
# Lecture 01's autoencoder compresses a digit into a code $z$ and decodes it back — but it is not a generative model: nothing says *which* codes to decode. A **latent variable model** tells a generative story instead:
#
# 1. draw a latent $z \sim p(z) = \mathcal N(0, I)$ — the "explanatory factors" (which digit, slant, stroke width), never observed;
# 2. draw the image $x \sim p_\theta(x \mid z)$ from a **decoder**, a neural network that outputs the parameters of a simple distribution over pixels (independent given $z$).
#
# Every pixel depends on every other one through the shared $z$, so the marginal
# $$p_\theta(x) = \int p_\theta(x \mid z)\,p(z)\,dz$$
# is a very flexible, infinite mixture. To train by maximum likelihood (lecture 00) we need $\log p_\theta(x^{(i)})$ for every training image — and the integral has **no closed form** when $p_\theta(x \mid z)$ is a neural network. Numerical integration on a grid needs $G^L$ decoder calls for $G$ points per axis in $L$ dimensions; so does the posterior $p_\theta(z \mid x) = p_\theta(x \mid z)\,p(z) / p_\theta(x)$, whose normaliser is the same integral.
#
# > **Common mistake.** The CS 2770 slides say "intractable to compute $p(x \mid z)$ for every $z$". Computing $p_\theta(x \mid z)$ for *one* $z$ is cheap — one pass through the decoder. What is intractable is the *integral over all* $z$: the number of $z$ one would need.

# %%
for L in (1, 2, 16, 32):
    calls = 100 ** L   # a grid of 100 points per latent axis
    print(f"L = {L:2d}: a 100-point grid needs 100^{L} = {calls:.0e} decoder calls per image"
          + ("   (feasible: we do it in section 8)" if L == 2 else ""))

# %% [markdown]
# **Naive Monte Carlo.** The integral is an expectation under the prior, so we could average:
# $$p_\theta(x) = \mathbb E_{z \sim p(z)}\big[p_\theta(x \mid z)\big] \approx \frac1k \sum_{s=1}^k p_\theta(x \mid z_s), \qquad z_s \sim p(z).$$
# It is unbiased, but its variance is enormous: for a given digit almost every $z$ from the prior decodes to a *different* digit, for which $p_\theta(x \mid z)$ is tiny (think $e^{-300}$), and a handful of lucky draws carry the whole sum. We show this numerically in section 7, once we have a trained decoder: the fix is to sample $z$ where the posterior is, from an **encoder** $q_\phi(z \mid x)$.
#
# ## 2. The evidence lower bound (ELBO), derived two ways
#
# Introduce an **encoder** (inference network) $q_\phi(z \mid x)$, any distribution over $z$ that we can sample and evaluate — ours will be $\mathcal N(\mu_\phi(x), \mathrm{diag}\,\sigma^2_\phi(x))$ with $\mu, \log\sigma^2$ output by a neural network. One network serves every $x$ (*amortised* inference).
#
# **Derivation 1: importance sampling and Jensen's inequality** (the short notes). Multiply and divide by $q_\phi$ inside the integral:
# $$\log p_\theta(x) = \log \int q_\phi(z \mid x)\,\frac{p_\theta(x \mid z)\,p(z)}{q_\phi(z \mid x)}\,dz = \log \mathbb E_{q_\phi(z\mid x)}\!\left[\frac{p_\theta(x \mid z)\,p(z)}{q_\phi(z \mid x)}\right] \;\ge\; \mathbb E_{q_\phi(z\mid x)}\!\left[\log \frac{p_\theta(x \mid z)\,p(z)}{q_\phi(z \mid x)}\right],$$
# because $\log$ is concave ($\log \mathbb E[w] \ge \mathbb E[\log w]$). Splitting the log:
# $$\boxed{\;\mathrm{ELBO}(x; \theta, \phi) = \underbrace{\mathbb E_{q_\phi(z \mid x)}\big[\log p_\theta(x \mid z)\big]}_{\text{reconstruction: } -\texttt{recon}} \;-\; \underbrace{\mathrm{KL}\big(q_\phi(z \mid x)\,\big\|\,p(z)\big)}_{\text{regulariser: }\texttt{kl}}\;}$$
#
# **Derivation 2: the exact identity** (the CS 2770 and workshop slides). Since $p_\theta(x)$ does not depend on $z$, take its log inside an expectation under $q_\phi$, and use Bayes' rule $p_\theta(x) = p_\theta(x \mid z)\,p(z) / p_\theta(z \mid x)$:
# $$\begin{aligned}
# \log p_\theta(x) &= \mathbb E_{q_\phi(z\mid x)}\big[\log p_\theta(x)\big] = \mathbb E_{q_\phi}\!\left[\log \frac{p_\theta(x \mid z)\,p(z)}{p_\theta(z \mid x)}\right] = \mathbb E_{q_\phi}\!\left[\log \frac{p_\theta(x \mid z)\,p(z)}{p_\theta(z \mid x)}\cdot\frac{q_\phi(z \mid x)}{q_\phi(z \mid x)}\right] \\
# &= \mathbb E_{q_\phi}\big[\log p_\theta(x \mid z)\big] - \mathbb E_{q_\phi}\!\left[\log \frac{q_\phi(z \mid x)}{p(z)}\right] + \mathbb E_{q_\phi}\!\left[\log \frac{q_\phi(z \mid x)}{p_\theta(z \mid x)}\right] \\
# &= \underbrace{\mathbb E_{q_\phi}\big[\log p_\theta(x \mid z)\big] - \mathrm{KL}\big(q_\phi(z \mid x)\,\|\,p(z)\big)}_{\mathrm{ELBO}} \;+\; \underbrace{\mathrm{KL}\big(q_\phi(z \mid x)\,\|\,p_\theta(z \mid x)\big)}_{\ge 0,\ \text{intractable}} .
# \end{aligned}$$
# The second derivation says more than the first: the **gap** between $\log p_\theta(x)$ and the ELBO is exactly the KL from the encoder to the true posterior. Maximising the ELBO over $\phi$ (with $\theta$ fixed) therefore *is* variational inference, $\min_\phi \mathrm{KL}(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x))$ — a **reverse** KL, mode seeking, as in lecture 00 — and over $\theta$ it pushes up $\log p_\theta(x)$ (up to the gap). Both at once: $\max_{\theta,\phi} \frac1N \sum_i \mathrm{ELBO}(x^{(i)}; \theta, \phi)$; the loss to minimise is $-\mathrm{ELBO} = \texttt{recon} + \texttt{kl}$.
#
# Reading the two terms: **recon** rewards codes from which the decoder can rebuild $x$ (similar images get nearby codes); **kl** pulls each $q_\phi(z \mid x)$ towards the prior, which keeps the codes where the prior will later sample them and gives the latent space its continuity (section 8). Lecture 03 puts a weight $\beta_\text{KL}$ on the second term.
#
# > **Common mistake.** The short notes write the encoder as $q_\phi(z)$ and the decoder as $p_\phi(x \mid z)$. The encoder must depend on $x$ — it is an approximation of the posterior $p_\theta(z \mid x)$, one per image — and the decoder has its own parameters $\theta$: the ELBO is maximised over both $\theta$ and $\phi$, not over $\phi$ alone (the notes' objective $\phi^* = \arg\min_\phi \mathrm{KL}(q_\phi \| p(z\mid x))$ is only the inference half).
#
# We check the identity on a model where every term is computable in section 8 (a 2-D latent, where the integral is a sum over a grid), and the test suite checks it on probabilistic PCA, a linear-Gaussian VAE whose $\log p(x)$ is known in closed form (`tests/test_vae.py`).

# %% [markdown]
# ## 3. The reparameterisation trick
#
# The ELBO's first term is an expectation over $q_\phi(z \mid x)$, whose parameters we want to differentiate. A sampler $z \sim \mathcal N(\mu, \sigma^2)$ is a black box that returns a number: autograd sees no path from $z$ back to $\mu$ and $\sigma$, so $\nabla_\phi$ of anything computed from $z$ is zero. The fix (Kingma & Welling, 2014) moves the randomness into an input that does not depend on $\phi$:
# $$z = \mu_\phi(x) + \sigma_\phi(x) \odot \varepsilon, \qquad \varepsilon \sim \mathcal N(0, I) \quad\Longrightarrow\quad \nabla_\phi\, \mathbb E_{q_\phi}[f(z)] = \mathbb E_{\varepsilon}\big[\nabla_\phi f(\mu_\phi + \sigma_\phi \odot \varepsilon)\big],$$
# with $\partial z / \partial \mu = 1$ and $\partial z / \partial \sigma = \varepsilon$. In `coursekit.models.vae`:

# %%
print(inspect.getsource(reparameterize))
mu = torch.tensor([0.5, -1.0], requires_grad=True)
log_var = torch.tensor([0.0, -2.0], requires_grad=True)
z = reparameterize(mu, log_var)
z.sum().backward()
print("reparameterised: z =", z.detach().numpy().round(3), " ∂Σz/∂μ =", mu.grad.numpy(), " ∂Σz/∂log σ² =", log_var.grad.numpy().round(3))

z_plain = torch.distributions.Normal(mu, (0.5 * log_var).exp()).sample()
print("Normal(μ, σ).sample(): requires_grad =", z_plain.requires_grad, " grad_fn =", z_plain.grad_fn,
      " → no gradient can reach μ or σ")

# %% [markdown]
# Without the trick one can still get a gradient, with the **score-function** (REINFORCE) estimator $\nabla_\mu \mathbb E_q[f(z)] = \mathbb E_q[f(z)\,\nabla_\mu \log q(z)]$, which only needs samples and $\log q$. Both are unbiased; compare their spread for $f(z) = (z - 2)^2$, $q = \mathcal N(\mu{=}0, 1)$, whose true gradient is $\partial_\mu \mathbb E[(z-2)^2] = 2(\mu - 2) = -4$:

# %%
eps = torch.randn(10_000, generator=generator)
mu0, f = 0.0, lambda z: (z - 2) ** 2
z = mu0 + eps
reparam = 2 * (z - 2)                    # ∂f(μ + ε)/∂μ, one sample each
score = f(z) * (z - mu0)                 # f(z) ∂ log N(z; μ, 1)/∂μ
print(f"true gradient −4.000; reparameterised {reparam.mean():.3f} ± {reparam.std():.2f} per sample; "
      f"score function {score.mean():.3f} ± {score.std():.2f} per sample")
fig = Figure(figsize=(5.2, 2.3), layout="constrained")
ax = fig.add_subplot()
bins = torch.linspace(-40, 30, 120)
ax.hist(score.numpy(), bins=bins.numpy(), alpha=0.6, density=True, label="score function (no reparameterisation)")
ax.hist(reparam.numpy(), bins=bins.numpy(), alpha=0.6, density=True, label="reparameterised")
ax.axvline(-4, color="k", lw=1, ls="--", label="true gradient")
ax.set_xlabel("one-sample gradient estimate of ∂/∂μ E[(z−2)²]", fontsize=8); ax.legend(fontsize=7, frameon=False)
ax.tick_params(labelsize=7)
viz.show(fig, alt="Histograms of the 10,000 one-sample gradient estimates of each kind: the score-function estimates "
         "spread over a wide range, the reparameterised ones form a narrow peak, and both centre on the dashed line "
         "of the true gradient, −4.")

# %% [markdown]
# The reparameterised estimates are several times less spread out: that, and not only "making it differentiable", is why VAEs train with it.
#
# > **Common mistake.** The short notes say the reparameterised $z = \mu + \sigma\,\epsilon$ is "non-differentiable because the randomness introduces discontinuity". It is the other way round: for a fixed $\varepsilon$, $z$ is a smooth (linear) function of $\mu$ and $\sigma$, which is the whole point. What blocks gradients is drawing $z$ *directly* from $\mathcal N(\mu, \sigma^2)$ (`Normal.sample()` above, `torch.normal(mu, sigma)`): the draw carries no derivative. (`Normal.rsample()` is torch's name for the reparameterised draw.)
#
# ## 4. The KL term in closed form
#
# For $q = \mathcal N(\mu, \mathrm{diag}\,\sigma^2)$ and $p = \mathcal N(0, I)$ the KL needs no sampling. Per dimension, with $\log q(z) = -\tfrac12\big[\log 2\pi\sigma^2 + (z-\mu)^2/\sigma^2\big]$ and $\log p(z) = -\tfrac12\big[\log 2\pi + z^2\big]$,
# $$\mathrm{KL}(q\|p) = \mathbb E_q[\log q - \log p] = -\tfrac12\log\sigma^2 - \tfrac12 + \tfrac12\,\mathbb E_q[z^2] = \tfrac12\left(\mu^2 + \sigma^2 - \log\sigma^2 - 1\right),$$
# using $\mathbb E_q[(z-\mu)^2/\sigma^2] = 1$ and $\mathbb E_q[z^2] = \mu^2 + \sigma^2$; summed over the $L$ latent dimensions. It is $0$ exactly when $\mu = 0, \sigma = 1$. Checked against a Monte-Carlo estimate $\frac1S\sum_s[\log q(z_s) - \log p(z_s)]$:

# %%
print(inspect.getsource(gaussian_kl))
mu_q, log_var_q = torch.tensor([[1.0, -0.5, 0.0]]), torch.tensor([[-1.0, 0.5, -3.0]])
closed = gaussian_kl(mu_q, log_var_q).item()
sizes = [10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000]
runs = []
for S in sizes:
    z = reparameterize(mu_q.expand(20, S, 3), log_var_q.expand(20, S, 3), generator)       # 20 repeats of S samples
    runs.append((diagonal_gaussian_log_prob(z, mu_q, log_var_q) - standard_normal_log_prob(z)).mean(1))  # (20,)
runs = torch.stack(runs)                                                                   # (sizes, 20)
print(f"closed form: {closed:.4f} nats; Monte Carlo with 30,000 samples: {runs[-1].mean():.4f} ± {runs[-1].std():.4f}")
fig = Figure(figsize=(4.6, 2.4), layout="constrained")
ax = fig.add_subplot()
for r in range(20):
    ax.plot(sizes, runs[:, r].numpy(), color="C0", lw=0.6)
ax.axhline(closed, color="k", ls="--", lw=1, label="closed form ½Σ(μ² + σ² − log σ² − 1)")
ax.set_xscale("log"); ax.set_xlabel("Monte-Carlo samples S", fontsize=8); ax.set_ylabel("KL estimate (nats)", fontsize=8)
ax.legend(fontsize=7, frameon=False); ax.tick_params(labelsize=7)
viz.show(fig, alt="Twenty Monte-Carlo estimates of the KL in nats, each a line against the number of samples S (log "
         "scale), and the closed form as a dashed horizontal line: the lines scatter widely at small S and close in "
         "on the closed form as S grows.")

# %% [markdown]
# ## 5. Decoders: what $p_\theta(x \mid z)$ should be
#
# The decoder outputs the parameters of a distribution over pixels, independent given $z$: $\log p_\theta(x \mid z) = \sum_{d=1}^D \log p_\theta(x_d \mid z)$. Match it to the data:
#
# | data | decoder $p_\theta(x_d \mid z)$ | $-\log p_\theta(x_d \mid z)$ | `VAEConfig.decoder` |
# |---|---|---|---|
# | $K$ grey levels (our digits: $K = 17$) | categorical $\mathrm{Cat}(\mathrm{softmax}(\ell_d(z)))$ | cross-entropy $-\log \mathrm{softmax}(\ell_d)_{x_d}$ | `"categorical"` (default) |
# | binary, $x_d \in \{0, 1\}$ | Bernoulli, $\pi_d = \mathrm{sigmoid}(\ell_d(z))$ | binary cross-entropy $-x_d\log\pi_d - (1-x_d)\log(1-\pi_d)$ | `"bernoulli"` |
# | real-valued | Gaussian $\mathcal N(m_d(z), \sigma_x^2)$ | $\frac{(x_d - m_d)^2}{2\sigma_x^2} + \log\sigma_x + \tfrac12\log 2\pi$ | `"gaussian"` |
#
# The categorical decoder is a proper probability over the 17 levels, so $-\log p$ is a code length in the same units as the floor model of lecture 00: our bits/dim will be directly comparable. The Gaussian decoder here uses a **fixed** $\sigma_x$ (`x_std=0.1`) by default — then the reconstruction term is the autoencoder's squared error scaled by $1/(2\sigma_x^2)$, plus a constant — or a **learned** one (`learn_x_std=True`: one $\log\sigma_x$ per pixel, a parameter that does not depend on $z$, starting at `x_std`).
#
# > **Common mistake.** "The VAE loss is MSE + KL." With a Gaussian decoder the squared error comes with the weight $1/(2\sigma_x^2)$; dropping it (or averaging the error over pixels while summing the KL over latents) silently sets the balance between the two terms — a hidden $\beta_\text{KL}$ — and the number is no longer a bound on any likelihood. Likewise binary cross-entropy on grey levels in $[0, 1]$ is not a normalised likelihood (it is for $x_d \in \{0, 1\}$ only). Choose the decoder, then the loss follows.
#
# The whole objective, as the model computes it (one $z$ per image, the KL in closed form, per-example means in nats):

# %%
print(inspect.getsource(VAE.loss))

# %% [markdown]
# ## 6. Training the VAE on the digits
#
# The main model: two hidden layers of `HIDDEN` = 512 ELU units each way, a `LATENT_DIM` = 16-dimensional latent and the categorical decoder; Adam at $10^{-3}$ with batches of 64. One thousand training images are few for a network this size: without regularisation the validation ELBO stops improving after a few dozen epochs while the training ELBO keeps climbing. So the hidden units get **dropout** (each zeroed with probability `DROPOUT` = 0.5 in training, never at evaluation), and **early stopping** keeps the weights of the best validation epoch. The benchmark (`benchmarks/vae_bits_per_dim.py`) trains this model for up to 300 epochs (early stopping ends it after about 110, a minute per seed on a laptop CPU); this lecture stops after `EPOCHS` = 40 to stay within its time budget, so its numbers in section 7 are a little worse than the benchmark's.

# %%
vae = VAE(latent_dim=LATENT_DIM, hidden=HIDDEN, dropout=DROPOUT, levels=LEVELS, shape=SHAPE)
print(vae)
start = time.perf_counter()
history = train(vae, loaders["train"], val_data=loaders["val"], epochs=EPOCHS, patience=50, lr=1e-3,
                device=device, seed=SEED, desc="VAE")
vae_seconds = time.perf_counter() - start
best = history.best_round
print(f"{len(history['epoch'])} epochs in {vae_seconds:.0f} s; best validation epoch {best + 1}: "
      f"−ELBO {-history['val/elbo'][best]:.2f} nats = recon {history['val/recon'][best]:.2f} + KL {history['val/kl'][best]:.2f}")
fig = viz.training_curves(history, keys=["recon", "kl", "elbo"])
fig.set_size_inches(7.8, 2.3)                                      # within the notebook's width
viz.show(fig, alt="Three panels against the epoch, each with a training and a validation curve: the reconstruction "
         "term (nats) falls; the KL term (nats) rises after the first few epochs; the ELBO rises, the training curve "
         "ending above the validation one.")

# %% [markdown]
# The reconstruction term falls while, after the first few epochs, the KL term *rises*: the encoder spends nats of KL to say something about $x$. How it spends them, per latent dimension ($\mathrm{KL}_j = \tfrac12(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1)$ averaged over the test set): dimensions with $\mathrm{KL}_j \approx 0$ are **inactive** — their $q$ equals the prior for every image, the decoder ignores them ("posterior collapse" of those units; appendix `02b_posterior_collapse` shows a whole model collapse, and the remedies). The ELBO pays for each dimension it uses, so it uses only as many as help.

# %%
vae.eval()
with torch.no_grad():
    mu, log_var = vae.encode(test_x)
kl_per_dim = (0.5 * (mu ** 2 + log_var.exp() - log_var - 1)).mean(0).cpu()    # (L,)
active = int((kl_per_dim > 0.1).sum())
fig = Figure(figsize=(4.6, 2.0), layout="constrained")
ax = fig.add_subplot()
ax.bar(range(1, LATENT_DIM + 1), kl_per_dim.numpy())
ax.set_xlabel("latent dimension j", fontsize=8); ax.set_ylabel("KL_j (nats)", fontsize=8); ax.tick_params(labelsize=7)
viz.show(fig, alt=f"A bar chart of KL_j in nats for each of the {LATENT_DIM} latent dimensions j, averaged over the "
         "test digits: the bars differ widely in height; the tall ones are the dimensions the encoder uses, those "
         "near zero are inactive. The line below counts them.")
print(f"{active} of {LATENT_DIM} dimensions are active (KL_j > 0.1 nats; {int((kl_per_dim > evaluation.ACTIVE_KL).sum())} above "
      f"{evaluation.ACTIVE_KL} nats, the threshold of lecture 03 and VAE.latent_report); the KL term totals {kl_per_dim.sum():.2f} nats")

# %% [markdown]
# ### Use $\mu$ at inference
#
# At training time $z$ is *sampled*, $z = \mu + \sigma \odot \varepsilon$: that noise is what forces nearby codes to decode to similar images. To *encode* an image afterwards (features, reconstruction, the starting point of an edit) use the mean $\mu_\phi(x)$: it is the most likely code, deterministic and noise-free. `model.reconstruct(x)` decodes $\mu$. Below: test digits, $\mathbb E[x \mid z{=}\mu]$, and three decodings of sampled $z$.

# %%
x8, y8 = test_x[:8], test_y[:8]
with torch.no_grad():
    mu8, log_var8 = vae.encode(x8)
    rows = [x8.float(), vae.reconstruct(x8)] + [vae.decode(reparameterize(mu8, log_var8, generator.manual_seed(SEED + r)))
                                               for r in range(3)]
fig = viz.image_grid(torch.cat(rows), nrow=8, levels=LEVELS)
fig.axes[0].set_title("rows: data · decode(μ) · decode(z) for three z ~ q(z|x)", fontsize=8)
viz.show(fig, alt="Five rows of the same 8 test digits: the data; the decoder's mean at z = μ, a blurrier copy of each "
         "digit; and three decodings of codes drawn from q(z|x), which differ a little from each other and from "
         "decode(μ) but keep each digit's shape.")

# %% [markdown]
# **Generating** is the generative story of section 1: $z \sim \mathcal N(0, I)$, then $x \sim p_\theta(x \mid z)$. A categorical decoder gives, for every pixel, a distribution over the 17 grey levels, and there are three ways to turn it into a picture: its **mean** $\mathbb E[x \mid z]$ (what one usually shows), its **mode** (the most likely level of each pixel), or a **draw** $x \sim p_\theta(x \mid z)$ — an actual sample of the model, which adds independent noise to every pixel: the decoder has no way to correlate pixels except through $z$. A **temperature** $\tau < 1$ ($z \sim \mathcal N(0, \tau^2 I)$) draws codes nearer the prior's centre.
#
# Which looks most like real digits? Judge it on a scale, not by eye: the Fréchet distance of appendix 00b, 400 images against the test digits, next to what real training digits score (the best a model can hope for) and what the floor model's independent pixels score (a model that learned no structure).
#
# > **Common mistake.** The workshop slides say "during sampling, first sample the latent variable using the reparametrization trick". New images come from the **prior**, $z \sim p(z)$: there is no $x$ to encode, hence no $\mu_\phi(x), \sigma_\phi(x)$. The reparameterisation is a device for training gradients, not part of generation.

# %%
clf = evaluation.classifier(splits, kind=DATA, device=device)          # appendix 00b's feature network (cached)
scale = evaluation.frechet_reference(splits, clf, seed=SEED)           # real vs real, the floor, uniform noise
fd = lambda imgs: float(evaluation.frechet_distance(imgs.float().clamp(0, LEVELS - 1) / (LEVELS - 1), splits.test, clf))
with torch.no_grad():
    z = torch.randn(scale["real"].n, LATENT_DIM, generator=generator.manual_seed(SEED)).to(device)   # (400, L)
    decodings = {"the mean E[x ∣ z]": vae.decode(z),
                 "the mode, argmax_k p(x_d = k ∣ z)": vae.decoder_output(z).argmax(dim=1),     # (N, K, C, H, W) → (N, C, H, W)
                 "a draw x ~ p(x ∣ z)": vae.sample(len(z), z=z, generator=generator.manual_seed(SEED)),
                 "the mean at τ = 0.6": vae.decode(0.6 * z)}
fig = viz.image_grid(torch.cat([imgs[:16].float() for imgs in decodings.values()]), nrow=16, levels=LEVELS, scale=0.55)
fig.axes[0].set_title("rows: " + " · ".join(decodings), fontsize=8)
viz.show(fig, alt="Four rows of 16 samples from the prior, the same codes z in every column, each row a way of "
         "turning the decoder's output into a picture: the mean (smooth, blurred greys), the mode (sharp, nearly "
         "black-and-white strokes), a draw (grainy, with independent noise in every pixel) and the mean at τ = 0.6 "
         "(blurred digits that look more alike). The table below scores each row.")
rows = [f"| real training digits (the best to hope for) | {float(scale['real']):.1f} |"]
rows += [f"| VAE, z ~ N(0, I): {name} | {fd(imgs):.1f} |" for name, imgs in decodings.items()]
rows += [f"| floor model: independent pixels | {float(scale['floor']):.1f} |",
         f"| uniform noise | {float(scale['noise']):.1f} |"]
display(Markdown(f"| {scale['real'].n} images vs the test digits | Fréchet distance |\n|---|---|\n" + "\n".join(rows)))

# %% [markdown]
# Read the table against its two ends (the numbers are those printed above, with the default parameters). At τ = 1 every decoding of the VAE lands between the two ends: far better than the floor, but still several times the real digits' distance — good for 40 epochs on a thousand images, far from data. The decoding matters as much as the model. The **mode** scores best: it keeps each pixel's most likely level, sharp strokes and a clean background. The **mean** scores worst of the three at τ = 1: it averages over the levels the decoder is unsure of, and blur is what the classifier's features notice most. A **draw** lies between: its pixel noise costs less than the mean's blur here. And the lower temperature *raises* the distance, past the floor's: codes near the prior's centre decode to similar, average-looking digits, so the samples lose the diversity the Fréchet distance also measures — "typical" is not "better". What the score does not say: whether the samples are new digits or copies of training digits (a memorising model scores like real data), nor anything about likelihood (section 7).

# %% [markdown]
# ## 7. Estimating $\log p_\theta(x)$: from naive Monte Carlo to importance sampling
#
# The ELBO is a lower bound; to report the model's likelihood we estimate $\log p_\theta(x)$ itself by **importance sampling** with the encoder as proposal:
# $$p_\theta(x) = \mathbb E_{z \sim q_\phi(z\mid x)}\!\left[w(z)\right],\quad w(z) = \frac{p_\theta(x \mid z)\,p(z)}{q_\phi(z \mid x)}, \qquad \mathcal L_k(x) = \log \frac1k \sum_{s=1}^k w(z_s),\ z_s \sim q_\phi(z \mid x).$$
# By Jensen, $\mathbb E[\mathcal L_k] \le \log p_\theta(x)$: it is still a lower bound, the **IWAE bound** (Burda et al., 2016). $\mathcal L_1$ is a one-sample ELBO; $\mathbb E[\mathcal L_k]$ increases with $k$ and tends to $\log p_\theta(x)$ as $k \to \infty$. Naive Monte Carlo is the same formula with the prior as proposal ($w = p_\theta(x \mid z)$). In code, `log_weights(x, k, proposal)` returns the $k$ values $\log w(z_s)$ and `iwae_bound` is their `logsumexp` minus $\log k$. Compare the two proposals on one test digit, with 10 independent estimates at each $k$:

# %%
x1 = test_x[:1]
with torch.no_grad():
    pool = {p: vae.log_weights(x1, k=10_000, proposal=p, generator=generator.manual_seed(SEED))[:, 0].cpu()
            for p in ("prior", "encoder")}                                              # 10,000 log w each
reference = (pool["encoder"].logsumexp(0) - math.log(10_000)).item()                 # the best estimate we have
ks = [1, 10, 100, 1_000]
fig = Figure(figsize=(7.8, 2.6), layout="constrained")
ax1, ax2 = fig.subplots(1, 2)
for p, color in (("prior", "C2"), ("encoder", "C0")):
    for k in ks:
        est = pool[p][: 10 * k].view(10, k).logsumexp(1) - math.log(k)                 # 10 estimates with k samples
        ax1.scatter([k] * 10, est.numpy(), s=6, color=color, alpha=0.6, label=f"proposal: {p}" if k == 1 else None)
    ax2.hist(pool[p].numpy(), bins=80, color=color, alpha=0.6, density=True, label=f"log w, z ~ {p}")
ax1.axhline(reference, color="k", ls="--", lw=1, label="encoder, k = 10,000")
ax1.set_xscale("log"); ax1.set_xlabel("k", fontsize=8); ax1.set_ylabel("estimate of log p(x) (nats)", fontsize=8)
ax1.legend(fontsize=7, frameon=False)
ax2.set_xlabel("log w (nats)", fontsize=8); ax2.legend(fontsize=7, frameon=False)
for ax in (ax1, ax2):
    ax.tick_params(labelsize=7)
viz.show(fig, alt="Left: ten estimates of log p(x) for one test digit at each k (log scale), with the prior and with "
         "the encoder as proposal, and the encoder's k = 10,000 estimate as a dashed line: the prior's estimates "
         "lie far below it and scatter widely at small k, closing in as k grows; the encoder's sit close to it "
         "already at small k. Right: histograms "
         "of log w under each proposal: the prior's spread over a wide range far below, the encoder's form a narrow "
         "peak at the top.")
for p in ("prior", "encoder"):
    w = (pool[p] - pool[p].max()).exp()
    print(f"{p:7s}: log w from {pool[p].min():7.1f} to {pool[p].max():6.1f} nats; "
          f"effective sample size of the 10,000 draws (Σw)²/Σw²: {(w.sum() ** 2 / (w ** 2).sum()).item():7.1f}")
with torch.no_grad():                                                                   # the same on 50 test digits
    x50 = test_x[:50]
    best50 = vae.iwae_bound(x50, k=1000, generator=generator.manual_seed(SEED))
    errors = {p: vae.iwae_bound(x50, k=100, proposal=p, generator=generator.manual_seed(SEED + 1)) - best50
              for p in ("prior", "encoder")}
for p, e in errors.items():
    print(f"50 test digits, k = 100 from the {p:7s}: {e.mean():6.1f} nats from the k = 1000 encoder estimate on average "
          f"(worst {e.min():6.1f})")

# %% [markdown]
# From the prior, $\log w$ spreads over more than two hundred nats and one or two of the 10,000 draws carry the whole sum (an effective sample size of about 2): with small $k$ the estimate is tens of nats too low, and the estimates scatter. From the encoder the weights lie within about twenty nats of each other, and by the effective sample sizes printed below the figure (2.2 and 47.7 of the 10,000 draws) one encoder draw is worth about twenty prior draws on this image — an underestimate: the effective sample size of such heavy-tailed weights is itself unreliable, and by accuracy the prior needs more. Over 50 test digits, 100 prior draws miss by about 4 nats on average (up to 15), 100 encoder draws by 0.3. That is the quantitative case for the encoder. (Why is naive Monte Carlo *low* rather than scattered around the truth? The average of $w$ is unbiased for $p(x)$, but its log is not: by Jensen, $\mathbb E[\log \bar w] \le \log \mathbb E[\bar w]$, and the heavier the tail of $w$, the bigger the gap.)
#
# ### The likelihood of the test split in bits/dim
#
# $\mathcal L_k$ averaged over the test split, converted as in lecture 00, next to the ELBO (which it must beat) and the baselines. Lower is better; the IWAE number is the one to compare with the other families of the course.

# %%
n_eval = len(test_x) if IWAE_N is None else min(IWAE_N, len(test_x))
start = time.perf_counter()
with torch.no_grad():
    elbo_test = vae.elbo(test_x[:n_eval], samples=100, generator=generator.manual_seed(SEED))
    iwae_test = vae.iwae_bound(test_x[:n_eval], k=IWAE_K, generator=generator.manual_seed(SEED))
iwae_seconds = time.perf_counter() - start
bpd = lambda log_p: evaluation.bits_per_dim(-log_p.mean().item(), D)
floor_bpd = evaluation.floor_bits_per_dim(splits.train, splits.test)
print(f"ELBO and IWAE with k = {IWAE_K} on {n_eval} test images took {iwae_seconds:.1f} s")

# %%
# NBVAL_CHECK_OUTPUT
# (the line above makes the test suite check that these numbers come out the same on every run)
print(f"uniform over {LEVELS} levels:       {evaluation.uniform_bits_per_dim(LEVELS):.3f} bits/dim")
print(f"floor (independent pixels): {floor_bpd:.3f} bits/dim")
print(f"VAE, −ELBO:                 {bpd(elbo_test):.2f} bits/dim")
print(f"VAE, −IWAE (k = {IWAE_K}):       {bpd(iwae_test):.2f} bits/dim")
print(f"IWAE tighter than the ELBO on every image: {bool((iwae_test > elbo_test).all())}")

# %% [markdown]
# The VAE beats the floor model by a wide margin — it models how pixels go together — and the importance-sampled estimate is noticeably tighter than the ELBO. The gap between them, about two nats per image, is a *lower bound* on $\mathbb E_x\,\mathrm{KL}(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x))$, not the KL itself: IWAE-$k$ is still below $\log p_\theta(x)$, so the true gap is at least this large (section 8's 2-D model, where $\log p_\theta(x)$ is known by quadrature, shows the rest). And the KL has two parts (Cremer et al., 2018): the *approximation gap*, what the best diagonal Gaussian for this $x$ would still miss, and the *amortisation gap*, what the encoder loses by predicting $q$ for every $x$ with one network instead of fitting each $q$ separately. With the benchmark's longer training (`benchmarks/vae_bits_per_dim.py`, means over seeds 0–2) the same model reaches 2.14 (−ELBO) and 2.09 (IWAE-1000) bits/dim; the VAE of Tomczak's public *intro_dgm* code, measured for that code on this split, gets 2.18 and 2.11 (the benchmark prints them beside its table; not rerun here).
#
# > **Common mistake.** Reporting the $-\mathrm{ELBO}$ as "the NLL". It is an upper bound on the NLL, and two models with different encoders are not comparable by their ELBOs. Say which bound you report (`model.bound` is `"iwae-1000"` here), and use a large $k$.
#
# ## 8. A two-dimensional latent space, and the plain autoencoder's
#
# With $L = 2$ we can look at the whole latent space. We train a VAE with a 2-D latent, and for comparison **a plain autoencoder**: the same networks trained without the KL term ($\beta_\text{KL} = 0$). Without the KL there is nothing to keep $\sigma$ up, so the encoder's noise shrinks towards zero and $z = \mu(x)$ becomes a deterministic code — lecture 01's autoencoder with the categorical likelihood as its reconstruction loss.

# %%
side = dict(hidden=SIDE_HIDDEN, dropout=0.0, levels=LEVELS, shape=SHAPE)   # smaller, faster side models
vae2 = VAE(latent_dim=2, **side)
ae2 = VAE(latent_dim=2, beta_kl=0.0, **side)     # no KL term: a plain autoencoder
for model, name in ((vae2, "2-D VAE"), (ae2, "2-D plain AE")):
    train(model, loaders["train"], val_data=loaders["val"], epochs=SIDE_EPOCHS, patience=15, device=device,
          seed=SEED, desc=name)
with torch.no_grad():
    codes = {name: m.encode(test_x) for name, m in (("VAE", vae2), ("plain AE", ae2))}
for name, (m, lv) in codes.items():
    print(f"{name:8s}: codes μ span [{m.min():.1f}, {m.max():.1f}], spread (sd per dimension) "
          f"{m.std(0).mean():.2f}; mean encoder σ = {(0.5 * lv).exp().mean():.3f}")

# %% [markdown]
# **The manifold.** Decode a grid of latents placed at equal prior probability: $z = \Phi^{-1}(u)$ for $u$ on an even grid in $(0, 1)^2$ ($\Phi$ the standard normal CDF), as in Kingma & Welling's figure. Below it, where the test digits' codes $\mu$ land, coloured by class, for both models.

# %%
n_grid = 10
u = torch.linspace(0.5 / n_grid, 1 - 0.5 / n_grid, n_grid)
axis = torch.distributions.Normal(0.0, 1.0).icdf(u)                                  # Φ⁻¹(u)
grid_z = torch.stack(torch.meshgrid(axis, axis.flip(0), indexing="xy"), -1).reshape(-1, 2).to(device)  # (100, 2)
with torch.no_grad():
    manifold = vae2.decode(grid_z)                                                    # (100, C, H, W)
fig = viz.image_grid(manifold, nrow=n_grid, levels=LEVELS, scale=0.45)
fig.axes[0].set_title("the 2-D VAE's decoder at z = Φ⁻¹(u) on a 10 × 10 grid (z₁ across, z₂ up)", fontsize=8)
viz.show(fig, alt="The 2-D VAE's decoder on a 10 × 10 grid of codes, evenly spaced in probability under the prior "
         "(z₁ across, z₂ up): every cell is a digit-like image, and neighbouring cells change gradually from one "
         "digit to another.")
fig = Figure(figsize=(6.4, 2.7), layout="constrained")
for ax, (name, (m, _)) in zip(fig.subplots(1, 2), codes.items()):
    viz.scatter_2d(m, test_y, ax=ax, title=f"{name}: test codes μ", s=4)
    ax.tick_params(labelsize=7)
viz.show(fig, alt="Scatter plots of the test digits' codes μ, one colour per class with a legend: the 2-D VAE (left) "
         "and the 2-D plain autoencoder (right). Read the axes: the VAE's codes fill a compact region around the "
         "origin, on the prior's scale; the plain autoencoder's spread over a wider range.")

# %% [markdown]
# The VAE's codes fill a blob the size of the prior, $\mathcal N(0, I)$, every region of which decodes to a digit-like image, with classes side by side and smooth morphs between them. The plain autoencoder's codes live wherever the optimiser put them — a different scale, long thin arms, empty space between — because nothing asked for more.
#
# The 2-D latent also lets us **check the ELBO identity**: with $L = 2$ the integral $p_\theta(x) = \int p_\theta(x\mid z)p(z)\,dz$ is a sum over a fine grid (section 1's $100^2$-odd calls; the grid is placed around $\mu_\phi(x)$, ±7 encoder standard deviations, where the posterior's mass is), so $\log p_\theta(x)$ is known up to quadrature error, and so is the gap $\mathrm{KL}(q\,\|\,p_\theta(z\mid x)) = \log p_\theta(x) - \mathrm{ELBO}$. Fitting, for each image on its own, the best diagonal Gaussian $q^*$ (gradient ascent on that image's ELBO) splits the gap in two (Cremer et al., 2018): the **approximation gap** $\log p_\theta(x) - \mathrm{ELBO}(q^*)$, the price of a diagonal Gaussian, and the **amortisation gap** $\mathrm{ELBO}(q^*) - \mathrm{ELBO}(q_\phi)$, the price of one encoder network for all images.

# %%
x6 = test_x[:6]
log_px_grid = []
with torch.no_grad():
    mu6, log_var6 = vae2.encode(x6)
    for xi, m, s in zip(x6, mu6, (0.5 * log_var6).exp()):
        axes = [torch.linspace(float(m[j] - 7 * s[j]), float(m[j] + 7 * s[j]), 121, device=device) for j in (0, 1)]
        zz = torch.stack(torch.meshgrid(*axes, indexing="xy"), -1).reshape(-1, 2)            # (121², 2) around μ
        cell = (axes[0][1] - axes[0][0]) * (axes[1][1] - axes[1][0])                          # Δz₁ Δz₂
        log_px_z = torch.cat([vae2.log_px_z(xi.expand(len(c), *SHAPE), c) for c in zz.split(512)])   # in chunks
        log_joint = log_px_z + standard_normal_log_prob(zz)                                  # log p(x|z) + log p(z)
        log_px_grid.append(torch.logsumexp(log_joint, 0) + torch.log(cell))                 # log Σ p(x|z) p(z) Δz₁Δz₂
    log_px_grid = torch.stack(log_px_grid)
    elbo6 = vae2.elbo(x6, samples=2000, generator=generator.manual_seed(SEED))
    iwae6 = vae2.iwae_bound(x6, k=IWAE_K, generator=generator.manual_seed(SEED))
# The best diagonal Gaussian for each image on its own, q*(z) = argmax_q ELBO(x; q) (Cremer et al., 2018): 400 Adam
# steps on its (μ, log σ²) from the encoder's, 64 reparameterised samples a step; then its ELBO with 2,000 samples.
def elbo_of(mu, log_var, eps):                       # eps: (S, 6, 2) → the ELBO of q = N(mu, diag e^log_var), (6,)
    z = mu + (0.5 * log_var).exp() * eps
    log_px_z = vae2.log_px_z(x6.repeat(len(eps), 1, 1, 1), z.reshape(-1, 2)).view(len(eps), 6).mean(0)
    return log_px_z - 0.5 * (mu ** 2 + log_var.exp() - 1 - log_var).sum(-1)

mu_star, log_var_star = mu6.clone().requires_grad_(), log_var6.clone().requires_grad_()
optimiser = torch.optim.Adam([mu_star, log_var_star], lr=0.05)
noise = torch.Generator().manual_seed(SEED)
for _ in range(400):
    optimiser.zero_grad()
    (-elbo_of(mu_star, log_var_star, torch.randn(64, 6, 2, generator=noise).to(device)).sum()).backward()
    optimiser.step()
with torch.no_grad():
    elbo_star = elbo_of(mu_star, log_var_star, torch.randn(2000, 6, 2, generator=noise).to(device))
approximation, amortisation = log_px_grid - elbo_star, elbo_star - elbo6
rows = ["| test image | log p(x) by quadrature | IWAE, k = %d | ELBO | ELBO of q* | gap = KL(q ‖ p(z|x)) | "
        "approximation gap | amortisation gap |" % IWAE_K, "|---|---|---|---|---|---|---|---|"]
for i in range(6):
    rows.append(f"| {i} | {log_px_grid[i]:.2f} | {iwae6[i]:.2f} | {elbo6[i]:.2f} | {elbo_star[i]:.2f} | "
                f"{log_px_grid[i] - elbo6[i]:.2f} | {approximation[i]:.2f} | {amortisation[i]:.2f} |")
display(Markdown("\n".join(rows) + "\n\nEvery ELBO lies below log p(x), by the KL from q to the true posterior; the IWAE estimate closes most of "
                 "that gap (it may land a tenth of a nat above: it is a bound only on average, and the grid has its own error). "
                 f"The gap splits into the **approximation gap** log p(x) − ELBO(q*), {approximation.mean():.2f} nats on average "
                 f"here, what even the best diagonal Gaussian for each image misses, and the **amortisation gap** "
                 f"ELBO(q*) − ELBO(q_φ), {amortisation.mean():.2f} nats, what the encoder loses by predicting q with one "
                 f"network for every image ({'the larger part' if amortisation.mean() > approximation.mean() else 'the smaller part'} "
                 f"on these six images, measured with the default parameters)."))

# %% [markdown]
# ### Continuity and completeness
#
# The two properties the KL term buys (CS 2770 slides):
# 1. **completeness** — any $z$ the prior may produce decodes to something meaningful;
# 2. **continuity** — nearby latents decode to similar images, so a path between two codes morphs one image into the other.
#
# *Completeness.* Sample latents and decode them. The VAE samples from its prior $\mathcal N(0, I)$. The plain autoencoder has no prior: decoding $\mathcal N(0, I)$ is a guess at where its codes are, so we also give it the best simple density we can — a Gaussian fitted *afterwards* to its training codes. The Fréchet distance (appendix 00b: lower is better; real training digits against the test split give the reference) measures how digit-like the decoded images are.

# %%
with torch.no_grad():
    train_codes = ae2.encode(splits.train.x.to(device))[0]                                  # (1000, 2)
    fitted = torch.distributions.MultivariateNormal(train_codes.mean(0), torch.cov(train_codes.T))
    z = torch.randn(400, 2, generator=generator.manual_seed(SEED)).to(device)
    decoded = {"VAE, z ~ N(0, I)": vae2.decode(z), "plain AE, z ~ N(0, I)": ae2.decode(z),
               "plain AE, z ~ Gaussian fitted to its codes": ae2.decode(fitted.sample((400,)))}
fds = {name: fd(imgs) for name, imgs in decoded.items()}        # section 6's Fréchet distance: n = 400, test digits
fig = Figure(figsize=(7.6, 2.4), layout="constrained")
for ax, (name, imgs) in zip(fig.subplots(3, 1), decoded.items()):
    viz.image_grid(imgs[:16], nrow=16, levels=LEVELS, ax=ax)
    ax.set_title(f"{name}: Fréchet distance {fds[name]:.0f}", fontsize=8, loc="left")
viz.show(fig, alt="Three rows of 16 decoded codes, each titled with its Fréchet distance: the VAE with z from its prior "
         "N(0, I); the plain autoencoder with z from N(0, I), which it was never trained on; and the plain "
         "autoencoder with z from a Gaussian fitted to its training codes. Read the distances against the scale "
         "printed below.")
print("Fréchet distances, 400 images vs the test digits:",
      ", ".join(f"{name} {value:.1f}" for name, value in fds.items()))
print(f"the scale (section 6): real training digits {float(scale['real']):.1f}, the floor model's independent pixels "
      f"{float(scale['floor']):.1f}, uniform noise {float(scale['noise']):.1f}")


# %% [markdown]
# Read the three numbers against section 6's scale, printed under the panels (measured with the default parameters). The **2-D VAE** decoding its prior scores 103.3, barely better than the floor model's independent pixels (112.4) and far from real digits (7.1): every $z$ it draws decodes to a digit-like blob (completeness), but with two latent dimensions and the decoder's mean (section 6: the blurriest decoding) the blobs are poor digits. Completeness is not quality. The **plain autoencoder** decoding the same $\mathcal N(0, I)$ scores 210.1, worse than uniform noise (179.6): its codes spread over a range several times wider, with gaps between the classes, so for it the prior is simply the wrong density. But a Gaussian fitted *afterwards* to the autoencoder's codes gives it 75.7, better than the VAE's 103.3 by this score (the VAE's encoder noise makes each decoding an average over all the images whose codes overlap, and averages are blurry). Ghosh et al. (2020) build on exactly this: a deterministic autoencoder plus a density fitted to its codes is a competitive generator. What the KL term buys is the guarantee that *one simple density known in advance* covers the codes — no second model to fit, and a likelihood bound — not a monopoly on good samples. (Nor does the VAE's aggregate of codes fill $\mathcal N(0, I)$ perfectly: regions of the prior that no training code reaches decode to in-between images.)
#
# *Continuity.* Points close in latent space should decode to similar images. "Close" needs a scale; take each model's own: the spread (standard deviation) of its test codes per dimension. Move every test code by a random step of a fraction $\epsilon$ of that spread and measure how much worse the decoder explains the image, $-\log p_\theta(x \mid \mu + \epsilon\, s \odot \xi) + \log p_\theta(x \mid \mu)$ with $\xi \sim \mathcal N(0, I)$; and look at a straight path between the codes of two test digits.

# %%
def perturbed_nll(model, eps, gen, x=test_x[:1000]):
    with torch.no_grad():
        mu_t = model.encode(x)[0]                                            # (N, 2)
        step = eps * mu_t.std(0) * torch.randn(mu_t.shape, generator=gen).to(device)
        return (model.log_px_z(x, mu_t) - model.log_px_z(x, mu_t + step)).mean().item()

def path(model, a, b, n=10):
    with torch.no_grad():
        za, zb = model.encode(test_x[[a, b]])[0]
        t = torch.linspace(0, 1, n, device=device).unsqueeze(1)
        return model.decode((1 - t) * za + t * zb)                         # (n, C, H, W)

a, b = next((i, j) for i, j in zip(range(0, 400, 7), range(3, 403, 7)) if test_y[i] != test_y[j])
eps_grid = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5]
fig = Figure(figsize=(7.2, 4.4), layout="constrained")
top, bottom = fig.subfigures(2, 1, height_ratios=[1.1, 1])                   # the path large enough to read
ax = top.add_subplot()
viz.image_grid(torch.cat([path(vae2, a, b), path(ae2, a, b)]), nrow=10, levels=LEVELS, ax=ax)
ax.set_title("a straight path between two codes: VAE (top), plain AE (bottom)", fontsize=8)
ax = bottom.add_subplot()
for name, model, color in (("VAE", vae2, "C0"), ("plain AE", ae2, "C1")):
    ax.plot(eps_grid, [perturbed_nll(model, e, generator.manual_seed(SEED)) for e in eps_grid], "o-", color=color,
            label=name, ms=3)
ax.set_xlabel("step ε (fraction of the codes' spread)", fontsize=8)
ax.set_ylabel("extra −log p(x | z) (nats)", fontsize=8); ax.legend(fontsize=7, frameon=False); ax.tick_params(labelsize=7)
viz.show(fig, alt="Top: two rows of 10 decodings along a straight path between the codes of two test digits of "
         "different classes, the VAE above and the plain autoencoder below, each morphing from one digit to the "
         "other. Bottom: the extra −log p(x|z) in nats when the test digits' codes are moved by a random step ε, a "
         "fraction of the codes' spread, one line per model: both rise with ε, the plain autoencoder's faster.")

# %% [markdown]
# Both decoders are continuous functions, so both paths morph. Measured on each model's own scale, the autoencoder's reconstructions degrade faster when the code moves: its decoder has only ever seen the exact codes of the training images, while the VAE's decoder was trained on codes jittered by the encoder's noise (σ ≈ 0.2 against a spread of about 1, printed above) and had to explain each image from all of them.
#
# > **Common mistake.** "Autoencoder latent spaces are neither continuous nor interpolable, so they are only good for reconstruction" (summary sheet 000; the CS 2770 slides argue the same). Overstated: a plain autoencoder's decoder is a continuous function and its interpolations morph too, as above. What it lacks is a *known density over its codes* — so it cannot be sampled without fitting one — and any pressure to keep nearby codes meaningful away from the training codes. The VAE's KL term supplies both; measure the difference rather than assume it.
#
# ## 9. Exploring the latent space: traversal and interpolation widgets
#
# **Latent traversal** (the "vary $z_1$" figures of Kingma & Welling): one slider per latent dimension of the main VAE, starting at the code $\mu$ of a test digit; the image is $\mathbb E[x \mid z]$. Each slider's label gives that dimension's $\mathrm{KL}_j$ from section 6, and the bars beside the image show the current $z$ (active dimensions in colour): sliding an inactive dimension (KL ≈ 0) moves its bar but not the digit, because the decoder has learnt to ignore it. With the prior's diagonal covariance, the active dimensions often change one aspect at a time (slant, width, a loop closing) — lecture 03 makes that a goal.

# %%
traversal = viz.latent_traversal_widget(vae.decode, mu[0], limit=3.0, levels=LEVELS,
                                            labels={j: f"KL {kl_per_dim[j]:.1f}" for j in range(LATENT_DIM)},
                                            highlight=[j for j in range(LATENT_DIM) if kl_per_dim[j] > 0.1])
display(traversal)

# %% [markdown]
# The same thing frozen: the five most active dimensions, each swept from $-2.5$ to $2.5$ with the others held at the digit's $\mu$:

# %%
order = kl_per_dim.argsort(descending=True)[:5]
values = torch.linspace(-2.5, 2.5, 9, device=device)
with torch.no_grad():
    rows = []
    for j in order:
        z = mu[0].repeat(9, 1)
        z[:, j] = values
        rows.append(vae.decode(z))
fig = viz.image_grid(torch.cat(rows), nrow=9, levels=LEVELS)
fig.axes[0].set_title("rows: z_" + ", z_".join(str(int(j) + 1) for j in order) + " (most active first); columns: −2.5 … +2.5",
                      fontsize=8)
viz.show(fig, alt="A traversal of the first test digit's code: five rows, one per latent dimension, the five with "
         "the largest KL first, and nine columns setting that dimension from −2.5 to +2.5 with the others fixed: "
         "moving along a row changes the digit's shape or identity gradually, and the less active the dimension, "
         "the less its row changes.")

# %% [markdown]
# **Interpolation**: a slider $t \in [0, 1]$ between the codes of two test digits, $z(t) = (1-t)\,\mu_a + t\,\mu_b$. The dropdown switches to **spherical** interpolation (slerp), which keeps $\|z\|$ at typical prior values: in $L$ dimensions almost all of $\mathcal N(0, I)$'s mass is near the sphere of radius $\sqrt L$, while the midpoint of a straight line is closer to the origin than either end.

# %%
interp = viz.interpolation_widget(vae.decode, mu[a], mu[b], levels=LEVELS, steps=8)
display(interp)

# %% [markdown]
# ## 10. The Bernoulli and the Gaussian decoder in practice
#
# Same encoder, two other likelihoods, short runs: the **Bernoulli** decoder on binarised digits (ink where the level exceeds 8) and the **Gaussian** decoder with a *learned* $\sigma_x$ on dequantised digits, $y = (x + u)/17$ with $u \sim U[0, 1)$ (lecture 06 explains why a density on real values must be fitted to dequantised, not raw, discrete data: otherwise $\sigma_x \to 0$ on always-white pixels and the density grows without bound).

# %%
binary = data.loaders(splits, batch_size=64, seed=SEED, transform=lambda x: data.binarize(x, LEVELS))
dequantised = data.loaders(splits, batch_size=64, seed=SEED, transform=lambda x: data.dequantize(x, LEVELS))
vae_bern = VAE(decoder="bernoulli", latent_dim=LATENT_DIM, hidden=SIDE_HIDDEN, dropout=0.0, shape=SHAPE)
vae_gauss = VAE(decoder="gaussian", learn_x_std=True, latent_dim=LATENT_DIM, hidden=SIDE_HIDDEN, dropout=0.0, shape=SHAPE)
for model, data_loaders, name in ((vae_bern, binary, "Bernoulli VAE"), (vae_gauss, dequantised, "Gaussian VAE")):
    train(model, data_loaders["train"], val_data=data_loaders["val"], epochs=SIDE_EPOCHS, patience=15,
          device=device, seed=SEED, desc=name)
xb = data.binarize(test_x[:8], LEVELS)
xg = data.dequantize(test_x[:8], LEVELS, generator=torch.Generator().manual_seed(SEED))
with torch.no_grad():
    panels = {"Bernoulli": torch.cat([xb, vae_bern.reconstruct(xb), vae_bern.sample(8, mean=True, generator=generator.manual_seed(SEED))]),
              "Gaussian": torch.cat([xg, vae_gauss.reconstruct(xg), vae_gauss.sample(8, mean=True, generator=generator.manual_seed(SEED))])}
sigma_x = vae_gauss.log_std_x.exp().detach().cpu()                                      # (C, H, W)
fig = Figure(figsize=(7.8, 1.9), layout="constrained")
axes = fig.subplots(1, 3, width_ratios=[4, 4, 1.3])
for ax, (name, imgs) in zip(axes, panels.items()):
    viz.image_grid(imgs, nrow=8, vmin=0, vmax=1, ax=ax)
    ax.set_title(f"{name}: data · decode(μ) · mean of p(x|z), z ~ p(z)", fontsize=8)
viz.image_grid(sigma_x[None], cmap="viridis", vmin=float(sigma_x.min()), vmax=float(sigma_x.max()), ax=axes[2], scale=1.2,
               colorbar="σ_x")
axes[2].set_title("learned σ_x", fontsize=8)
viz.show(fig, alt="Left and middle: three rows of 8 images for the Bernoulli VAE (on binarised digits) and for the "
         "Gaussian VAE (on dequantised digits): the data, the decoding of μ and the decoder's mean for codes drawn "
         "from the prior. Right: the Gaussian decoder's learned σ_x per pixel as a viridis map with a colour bar: "
         "smallest in the border columns, where the digits are always blank, larger in the middle.")
print(f"learned σ_x per pixel: from {sigma_x.min():.3f} (the border, always nearly blank) to {sigma_x.max():.3f} "
      f"(started at {vae_gauss.config.x_std})")

# %% [markdown]
# Their ELBOs are not comparable with the categorical one, nor with each other: the Bernoulli VAE models different data (1 bit per pixel at most), and the Gaussian one a *density* on $[0,1)^D$, which becomes a bound on the discrete likelihood only after subtracting $D \log 17$ (lecture 06). The categorical decoder is the one whose bits/dim compare with every other model of the course.
#
# ## 11. The conditional VAE: $z$ independent of the label
#
# With labels, give $y$ to both networks: $q_\phi(z \mid x, y)$ and $p_\theta(x \mid z, y)$, keeping the prior $p(z) = \mathcal N(0, I)$ **independent of $y$**. The ELBO is the same with $y$ added on the right of every bar:
# $$\log p_\theta(x \mid y) \ge \mathbb E_{q_\phi(z \mid x, y)}\big[\log p_\theta(x \mid z, y)\big] - \mathrm{KL}\big(q_\phi(z \mid x, y)\,\|\,p(z)\big).$$
# Since the decoder is told the class, $z$ gains nothing by encoding it and the KL charges for every nat it carries: $z$ keeps what the label does not say — the *style* (slant, width, stroke). So one $z$ decoded with each $y$ writes every digit in the same hand. (This course does not teach the *semi-supervised* case, where only some images have labels; Kingma et al.'s M2 model, in the further reading, treats the missing label as a second latent variable. There is no code for it here, so take the pointer as a pointer, not a result.)

# %%
num_classes = int(splits.train.y.max()) + 1
cvae = VAE(latent_dim=LATENT_DIM, num_classes=num_classes, **side)
train(cvae, loaders["train"], val_data=loaders["val"], epochs=SIDE_EPOCHS, patience=15, device=device, seed=SEED,
      desc="conditional VAE")
with torch.no_grad():
    mu_c = cvae.encode(test_x, test_y)[0]                                                # (N, L): style codes
    chosen = mu_c.norm(dim=1).argsort(descending=True)[:6]                               # the six most unusual styles
    styles = mu_c[chosen]                                                                # (6, L)
    z = styles.repeat_interleave(num_classes, 0)                                         # each style 10 times
    y = torch.arange(num_classes, device=device).repeat(6)                               # every class per style
    grid = cvae.decode(z, y)
    y_all = torch.arange(num_classes, device=device).repeat(40)
    samples = cvae.sample(len(y_all), y=y_all, generator=generator.manual_seed(SEED), mean=True)
fig = Figure(figsize=(7.2, 4.0), layout="constrained")
left, right = fig.subplots(1, 2, width_ratios=[1, 10])
viz.image_grid(test_x[chosen].float(), nrow=1, levels=LEVELS, ax=left); left.set_title("style of", fontsize=8)
viz.image_grid(grid, nrow=num_classes, levels=LEVELS, ax=right)
right.set_title("one z per row (the style of the digit on the left), y = 0, 1, …, 9 across", fontsize=8)
viz.show(fig, alt="Left: a column of six test digits with the most unusual styles (the largest codes). Right: the "
         "conditional VAE's decodings with each row's style code fixed and the label y = 0, 1, …, 9 across: each "
         "column should show its requested digit, and each row whatever of its digit's style the code carries "
         "(compare a row with the digit on its left).")
accuracy = evaluation.conditional_accuracy(samples.clamp(0, LEVELS - 1) / (LEVELS - 1), y_all, clf)
print(f"the classifier reads the requested digit in {accuracy:.0%} of 400 samples z ~ N(0, I) "
      f"(its own test accuracy: {clf.test_accuracy:.0%}; ignoring y would give 10%)")

# %% [markdown]
# ## Summary
#
# - A latent variable model $p_\theta(x) = \int p_\theta(x\mid z)p(z)\,dz$ is flexible but its likelihood and posterior are intractable; naive Monte Carlo from the prior has so much variance that one sample dominates.
# - With an encoder $q_\phi(z\mid x)$: $\log p_\theta(x) = \mathrm{ELBO} + \mathrm{KL}(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x))$, so the ELBO $= \mathbb E_q[\log p_\theta(x\mid z)] - \mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z))$ is a lower bound whose gap is the posterior mismatch (Jensen gives the bound without the gap).
# - Reparameterise, $z = \mu + \sigma\odot\varepsilon$, to get low-variance gradients; the Gaussian KL to $\mathcal N(0, I)$ is $\tfrac12\sum(\mu^2 + \sigma^2 - \log\sigma^2 - 1)$; pick the decoder from the data (categorical for grey levels, Bernoulli for binary, Gaussian for real values); use $\mu$ at inference, the prior for generation.
# - The KL term keeps the codes where the prior samples them (completeness) and trains the decoder on jittered codes (continuity); a plain autoencoder can only be sampled through a density fitted to its codes afterwards. Traversals and interpolations show what each latent dimension does.
# - Judge samples on a scale (real vs real, the independent-pixel floor): with the default parameters the VAE's samples at τ = 1 sit between the two, and how a categorical decoder is turned into a picture (mean, mode or draw) moves the Fréchet distance as much as the model does.
# - Report $\log p_\theta(x)$ with the IWAE bound at large $k$ in bits/dim: on the digits the VAE is far below the floor (2.398), and IWAE-1000 is several hundredths of a bit tighter than the ELBO.
# - A conditional VAE with a label-independent prior separates content ($y$) from style ($z$).
#
# **Exercises.** The graded exercise for this lecture (`exercises/02_vae.ipynb`) has you implement the reparameterised sample, the Gaussian KL, the ELBO of the categorical decoder and the IWAE estimate, and check them against coursekit's `VAE`; read a table of bounds (which one to report, in bits/dim, and what the gap between two of them says about the posterior); and train a VAE on your own ELBO to under 2.30 bits/dim on the test digits. Ungraded questions to try here: (a) retrain with `LATENT_DIM = 2, 4, 32`: how do the ELBO, the IWAE bound and the number of active dimensions change? (b) In section 7, roughly how many prior draws would naive Monte Carlo need on test image 0 to match ten encoder draws? Use the effective sample sizes. (c) Train with `beta_kl=0.5` and `beta_kl=2` (lecture 03's β-VAE): which of recon and KL moves, and what happens to the bits/dim? (d) For the linear-Gaussian VAE (`architecture="linear", decoder="gaussian"`, $x = Wz + b + \sigma\varepsilon$) show that the exact posterior is Gaussian with covariance $\sigma^2(\sigma^2 I + W^\top W)^{-1}$, so a diagonal encoder can equal it only when $W^\top W$ is diagonal; then show that the maximum-likelihood $W$ is defined only up to a rotation and that one of the rotations makes $W^\top W$ diagonal, so at the optimum the ELBO can equal $\log p(x)$ (Lucas et al., 2019). (e) Posterior collapse, and the remedies used against it, are measured in the appendix `02b_posterior_collapse`.
#
# **References.**
# - D. P. Kingma, M. Welling, *Auto-Encoding Variational Bayes*, ICLR 2014 — the VAE, the reparameterisation trick, the 2-D manifold figure.
# - D. J. Rezende, S. Mohamed, D. Wierstra, *Stochastic Backpropagation and Approximate Inference in Deep Generative Models*, ICML 2014.
# - Y. Burda, R. Grosse, R. Salakhutdinov, *Importance Weighted Autoencoders*, ICLR 2016 — the IWAE bound and its monotonicity in $k$.
# - C. Cremer, X. Li, D. Duvenaud, *Inference Suboptimality in Variational Autoencoders*, ICML 2018 — the approximation and amortisation gaps.
# - D. P. Kingma, D. J. Rezende, S. Mohamed, M. Welling, *Semi-Supervised Learning with Deep Generative Models*, NeurIPS 2014 — the M2 model; K. Sohn, H. Lee, X. Yan, *Learning Structured Output Representation using Deep Conditional Generative Models*, NeurIPS 2015 — the conditional VAE.
# - D. P. Kingma, M. Welling, *An Introduction to Variational Autoencoders*, Foundations and Trends in ML (2019).
# - S. Mohamed, M. Rosca, M. Figurnov, A. Mnih, *Monte Carlo Gradient Estimation in Machine Learning*, JMLR 2020 — score-function vs pathwise (reparameterised) gradients.
# - P. Ghosh, M. S. M. Sajjadi, A. Vergari, M. Black, B. Schölkopf, *From Variational to Deterministic Autoencoders*, ICLR 2020 — sampling a plain autoencoder through a density fitted to its codes.
# - J. Lucas, G. Tucker, R. Grosse, M. Norouzi, *Don't Blame the ELBO! A Linear VAE Perspective on Posterior Collapse*, NeurIPS 2019.
# - M. E. Tipping, C. M. Bishop, *Probabilistic Principal Component Analysis*, JRSS B (1999) — the linear-Gaussian VAE of the tests.
# - J. Tomczak, *Deep Generative Modeling*, Springer (2022), and its *intro_dgm* code — the digits split and the reference VAE.
# - L. Weng, *From Autoencoder to Beta-VAE* (2018), lilianweng.github.io — the derivation as in the workshop slides.
