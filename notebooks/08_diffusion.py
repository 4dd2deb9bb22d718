# %% [markdown]
# # 08 · Denoising diffusion
#
# **Learning objectives.** After this lecture you can
# 1. write the **forward process** $q(x_t \mid x_{t-1}) = \mathcal N(\sqrt{\alpha_t}\,x_{t-1}, \beta_t I)$, derive its closed form $q(x_t \mid x_0) = \mathcal N(\sqrt{\bar\alpha_t}\,x_0, (1 - \bar\alpha_t) I)$ with $\bar\alpha_t = \prod_{s \le t} \alpha_s$, check it against $t$ single steps, and spot the seeds' slip ($\sqrt{\alpha_t}$ where $\sqrt{\bar\alpha_t}$ is meant);
# 2. derive the posterior $q(x_{t-1} \mid x_t, x_0)$, the **variational bound** term by term, and why a network that predicts the **noise** $\varepsilon$ is enough: $\tilde\mu_t = \frac{1}{\sqrt{\alpha_t}}\big(x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,\varepsilon\big)$;
# 3. read Ho et al.'s **training** and **sampling** algorithms beside their code, train a DDPM on a 2-D toy and watch its samples travel from noise to data;
# 4. sample the digits with a U-Net DDPM, measure its **bound in bits/dim with every one of the $T$ terms** and say which steps cost the bits;
# 5. trade quality for speed with **DDIM**, steer samples with **classifier-free guidance** (and say which convention, $w$ or $1 + w$), and run **latent diffusion** on a VAE's codes;
# 6. read $\varepsilon_\theta$ as a **score**, $\varepsilon_\theta(x_t, t) \approx -\sqrt{1 - \bar\alpha_t}\,\nabla_{x_t}\log q(x_t)$, and say in what sense **a VAE is a one-step diffusion model**.
#
# **Time:** about 75 minutes of reading; the notebook runs top to bottom in about a minute on a 2-core CPU the first time (measured cold, empty model cache, with the default parameters, as `benchmarks/notebook_times.py` times every lecture: 52.3 s wall clock and 53 s of CPU on a quiet 2-core machine; a loaded machine takes longer, e.g. 127 s at a load average near 8; the toy DDPM, a VAE and a latent diffusion prior train live, the digits model is a committed checkpoint), in well under a minute afterwards (the trained models are cached on disk; sampling and the bound run every time).
# **Before you start:** lecture 02 (the ELBO, the Gaussian KL, the reparameterisation), 00b (the Fréchet distance and its scale), 07 (sample quality against likelihood).

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults run the lecture in about two minutes on a 2-core CPU (the Time line above gives the measured seconds).
SEED = 0             # every random number below follows from it
DEVICE = "auto"      # "auto" = CUDA, then Apple MPS, then CPU
DATA = "digits"      # "digits" (8×8, 17 grey levels, ships with the course) or "mnist" (28×28, 256 levels)     GPU: "mnist"
MNIST_ROOT = None    # for DATA = "mnist": the folder with the four IDX files (coursekit.data.mnist.download fetches them)
T = 1000             # diffusion steps of every model trained here (Ho et al.'s T)
TOY = "8gaussians"   # the 2-D data set of sections 1, 4 and 5 ("8gaussians": its noised density is known exactly)
TOY_STEPS = 2000     # training steps of the toy DDPM (batches of 256)                                        GPU: 10000
CHECK_N = 20000      # Monte-Carlo draws for the closed-form check of section 1
FRECHET_N = 400      # images per set for the Fréchet distance (00b: only numbers at one n compare)          GPU: 2000
DDIM_STEPS = (10, 20, 50)  # DDIM's step counts in the table of section 8                                  GPU: (10, 20, 50, 100, 1000)
DDIM_ETA1_STEPS = (50,)    # step counts also sampled with η = 1 (stochastic DDIM) in that table             GPU: (10, 20, 50, 100)
DDPM_N = 0           # samples of 1000-step DDPM in that table (0: quoted from the benchmark)                 GPU: 2000
BOUND_N = 20         # test digits for the bound of section 7, every one of the T + 1 terms each           GPU: all
GUIDANCE_W = (0.0, 0.5, 1.0, 2.0, 4.0)   # guidance weights of section 9 (Ho & Salimans' w; diffusers' scale is 1 + w)
GUIDANCE_N = 200     # samples per weight (20 of each class)                                                 GPU: 1000
VAE_EPOCHS = 20      # epochs of lecture 02's VAE under the latent diffusion of section 10 (lecture 02: 40)  GPU: 100
LATENT_STEPS = 2000  # training steps of the latent diffusion prior (section 10)                             GPU: 10000
DIGITS_STEPS = None  # None: the committed digits checkpoint; a number: train the U-Net DDPM live that long   GPU / MNIST: 20000
CACHE_DIR = None     # trained models are kept here (None: $COURSEKIT_CACHE, else ~/.cache/coursekit)
RETRAIN = False      # True: train the models again even if cached ones exist

# %%
import dataclasses
import inspect
import math
import time

import torch
from IPython.display import Markdown, display
from torch.utils.data import DataLoader

from coursekit import data, evaluation, resolve_device, seed_everything, viz
from coursekit.evaluation.diffusion_digits import (DIGITS_DDPM, bound_bits_per_dim, pretrained_digits_ddpm,
                                                   timed_samples, within_class_spread)
from coursekit.models.diffusion import DDPM, LatentDiffusion, NoiseSchedule, discretized_gaussian_log_prob
from coursekit.models.vae import VAE, gaussian_kl as vae_gaussian_kl
from coursekit.training import train_cached
from coursekit.utils import seeded_generator

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
if device.type == "cpu":
    torch.set_num_threads(1)   # these networks are small: one thread is faster than two that fight for a busy CPU
splits = data.load(DATA, **({"root": MNIST_ROOT} if DATA in ("mnist", "fashion_mnist") else {}))
K, SHAPE, D = splits.train.levels, tuple(splits.train.x.shape[1:]), splits.train.dims
clf = evaluation.classifier(splits, kind=DATA, device=device)   # the course's small digit classifier (cached): Fréchet features, labels
toy = data.toy2d.toy_distribution(TOY)
toy_train = data.toy2d.toy_dataset(TOY, 10_000, seed=SEED)


def load_digits_ddpm():
    """The class-conditional U-Net DDPM of sections 6-9: the committed checkpoint for the digits; with DIGITS_STEPS
    set, or DATA = "mnist", the same setting (`DIGITS_DDPM`) trained here, its EMA weights kept, cached on disk."""
    if DATA == "digits" and DIGITS_STEPS is None:
        return pretrained_digits_ddpm(device=device)
    torch.manual_seed(SEED)
    model = DDPM(dataclasses.replace(DIGITS_DDPM.model_config(), shape=SHAPE, levels=K, T=T)).to(device)
    loader = data.loaders(splits, batch_size=DIGITS_DDPM.batch_size, seed=SEED)["train"]
    history = train_cached(model, loader, **dict(DIGITS_DDPM.training(), steps=DIGITS_STEPS or DIGITS_DDPM.steps),
                           seed=SEED, device=device, cache_dir=CACHE_DIR, retrain=RETRAIN, name=f"ddpm-{DATA}",
                           progress=True, report=True)
    history.ema.copy_to(model)                                                  # keep the averaged weights
    return model.eval()


print(f"torch {torch.__version__} on {device}; {DATA}: {[len(s) for s in splits]} images of shape {SHAPE}, "
      f"K = {K} levels; the classifier's test accuracy {clf.test_accuracy:.3f}; toy: {toy}")

# %% [markdown]
# ## 1. The forward process: adding noise, step by step and in one go
#
# A diffusion model has two processes (seed 001: "learning to generate by denoising"). The **forward** process $q$ is fixed, with no parameters: it takes a data point $x_0$ and adds a little Gaussian noise at each of $T$ steps,
# $$q(x_t \mid x_{t-1}) = \mathcal N\big(x_t;\ \sqrt{1 - \beta_t}\,x_{t-1},\ \beta_t I\big), \qquad q(x_{1:T} \mid x_0) = \prod_{t=1}^T q(x_t \mid x_{t-1}),$$
# with a **variance schedule** $\beta_1 < \dots < \beta_T$ (seed 003). Shrinking by $\sqrt{1 - \beta_t}$ while adding variance $\beta_t$ keeps a unit-variance input at unit variance, so after enough steps $x_T$ is close to $\mathcal N(0, I)$ whatever $x_0$ was. The **reverse** process $p_\theta$ is learned: it starts from $x_T \sim \mathcal N(0, I)$ and removes the noise step by step.
#
# Write $\alpha_t = 1 - \beta_t$ and $\bar\alpha_t = \prod_{s=1}^t \alpha_s$. One step is $x_t = \sqrt{\alpha_t}\,x_{t-1} + \sqrt{1 - \alpha_t}\,\varepsilon_t$; two steps,
# $$x_t = \sqrt{\alpha_t \alpha_{t-1}}\,x_{t-2} + \underbrace{\sqrt{\alpha_t(1 - \alpha_{t-1})}\,\varepsilon_{t-1} + \sqrt{1 - \alpha_t}\,\varepsilon_t}_{\text{a sum of independent Gaussians: variance } \alpha_t - \alpha_t\alpha_{t-1} + 1 - \alpha_t \,=\, 1 - \alpha_t\alpha_{t-1}},$$
# and by induction the **closed form**
# $$q(x_t \mid x_0) = \mathcal N\big(\sqrt{\bar\alpha_t}\,x_0,\ (1 - \bar\alpha_t) I\big), \qquad x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon,\quad \varepsilon \sim \mathcal N(0, I):$$
# any $x_t$ in one draw, without the $t - 1$ steps before it. This is what makes training cheap.
#
# **The seeds' slip.** Seed 004 writes $x_t = \sqrt{\alpha_t}\,x_0 + \sqrt{1 - \alpha_t}\,\varepsilon$ and seed 000 trains on $\varepsilon_\theta(\sqrt{\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon, t)$: with $\alpha_t$, one step's factor (close to 1), in place of $\bar\alpha_t$, the cumulative product. Ho et al.'s Algorithm 1 and seeds 000 (in its derivation) and 003 have $\sqrt{\bar\alpha_t}$. The cell checks the closed form against $t$ single steps (`NoiseSchedule.q_step`, applied $t$ times to `CHECK_N` copies of one point) in mean and variance, and prints what the slip's $x_t$ would be.

# %%
linear = NoiseSchedule.linear(T)                       # Ho et al.: β_t from 1e-4 to 0.02
x0_point = torch.tensor([[1.5, -0.5]]).expand(CHECK_N, 2)           # one point, CHECK_N copies
g = seeded_generator(SEED)
x_steps = x0_point.clone()
rows = []
for t in range(1, T + 1):
    t_vec = torch.full((CHECK_N,), t, dtype=torch.long)
    x_steps = linear.q_step(x_steps, t_vec, torch.randn(CHECK_N, 2, generator=g))    # one step of q(x_t | x_{t−1})
    if t in (1, 10, 100, 1000):
        x_closed = linear.q_sample(x0_point, t_vec, torch.randn(CHECK_N, 2, generator=g))   # one draw of q(x_t | x_0)
        a_bar, a_t = linear.alpha_bars[t - 1].item(), linear.alphas[t - 1].item()
        rows.append(f"| {t} | {a_t:.5f} | {a_bar:.5f} | {x_steps[:, 0].mean():.4f} / {x_closed[:, 0].mean():.4f} / "
                    f"{math.sqrt(a_bar) * 1.5:.4f} | {x_steps[:, 0].var():.4f} / {x_closed[:, 0].var():.4f} / "
                    f"{1 - a_bar:.4f} | {math.sqrt(a_t) * 1.5:.4f} |")
display(Markdown(f"| t | α_t | ᾱ_t | mean of x_t[0]: t steps / closed form / √ᾱ_t·x_0 | variance: t steps / closed form / "
                 f"1 − ᾱ_t | the slip's mean √α_t·x_0 |\n|---|---|---|---|---|---|\n" + "\n".join(rows)))
print(f"Monte-Carlo standard errors at t = T: about {1 / math.sqrt(CHECK_N):.4f} for a mean, "
      f"{math.sqrt(2 / CHECK_N):.4f} for a variance near 1; "
      f"ᾱ_T = {linear.alpha_bars[-1].item():.2e}, so q(x_T | x_0) is N(0, I) to within √ᾱ_T·|x_0| = "
      f"{linear.alpha_bars[-1].sqrt().item() * 1.58:.4f}")

# %% [markdown]
# Measured with the default parameters: after $t$ single steps and in one closed-form draw, the mean and variance of $x_t$'s first coordinate agree with $\sqrt{\bar\alpha_t}\,x_0$ and $1 - \bar\alpha_t$ to within Monte-Carlo error at every $t$ in the table (at $t = T$: means 0.0033 and 0.0097 against 0.0095, standard error 0.0071; variances 1.0136 and 1.0041 against 1.0000, standard error 0.0100). Note how slowly $\bar\alpha_t$ moves at first (0.99811 after 10 steps) and that it is 0.00004 at $T$: $x_T$ has forgotten $x_0$. The slip's mean $\sqrt{\alpha_t}\,x_0$ is 1.4984 at $t = 100$ and 1.4849 at $t = T$, where the true mean is 1.4207 and 0.0095: with $\sqrt{\alpha_t}$ the signal never leaves, a network trained on such $x_t$ never sees inputs like the $\mathcal N(0, I)$ draws that sampling starts from, and the sampler (which uses $\bar\alpha_t$) would not match what was trained.
#
# **Schedules.** Ho et al.'s **linear** schedule runs $\beta_t$ from $10^{-4}$ to $0.02$ over $T = 1000$ steps. Nichol & Dhariwal (2021) found it destroys information too early on small images and proposed the **cosine** schedule, $\bar\alpha_t = f(t)/f(0)$ with $f(t) = \cos^2\!\big(\tfrac{t/T + s}{1 + s}\cdot\tfrac{\pi}{2}\big)$, which keeps $\bar\alpha_t$ near 1 longer and falls linearly in the middle. For data with few grey levels there is a third consideration: our digits have 17 levels, 0.125 apart on the $[-1, 1]$ scale. With $\sqrt{\beta_1} = 0.01$, the first steps add noise so much smaller than one grey level that $x_0$ can be read off $x_t$ exactly: the network must be an almost exact denoiser there, a near-step function of $x_t$ that a small network learns badly, and the bound pays for every error (section 7 shows how much of the bound the first steps cost even with the gentler schedule that follows; exercise (b) tries the linear one). The **grey-level** schedule (`NoiseSchedule.grey_level`) starts at $\sqrt{\beta_1}$ = half a grey level and is otherwise linear; it is the default for the digits model. The cell prints, for each schedule, how many of its steps add noise below one grey level and when $\sqrt{\bar\alpha_t}$ falls below 0.1. The picture shows the signal kept, $\sqrt{\bar\alpha_t}$, and the noise added, $\sqrt{1 - \bar\alpha_t}$, against one grey level.

# %%
schedules = {"linear (Ho et al.)": linear, "cosine (Nichol & Dhariwal)": NoiseSchedule.cosine(T),
             f"grey level (√β_1 = ½ of 2/(K−1), K = 17)": NoiseSchedule.grey_level(T, levels=17)}
for name, s in schedules.items():
    print(f"{name:42s} ᾱ_T = {s.alpha_bars[-1].item():.2e}; √(1 − ᾱ_1) = {(1 - s.alpha_bars[0]).sqrt().item():.4f}; "
          f"steps with noise std below one grey level (0.125): {int(((1 - s.alpha_bars).sqrt() < 0.125).sum())}; "
          f"√ᾱ_t < 0.1 from t = {int((s.alpha_bars.sqrt() < 0.1).nonzero()[0]) + 1}")
fell = {name: int((s.alpha_bars.sqrt() < 0.1).nonzero()[0]) + 1 for name, s in schedules.items()}
viz.show(viz.schedule_figure({name: s.alpha_bars for name, s in schedules.items()}, levels=17),
         alt="Left: the signal kept, √ᾱ_t, against t from 1 to 1000 for three schedules, falling below 0.1 at t = "
             + ", ".join(f"{t} ({name.split(' (')[0]})" for name, t in fell.items())
             + ": the grey-level schedule first, the cosine one last, after staying near 1 longest. Right, on a log "
             "axis: the noise standard deviation √(1 − ᾱ_t), rising from 0.01 (linear), 0.0625 (grey level) or 0.0064 "
             "(cosine) at t = 1 to 1, with a dotted line at one grey level of 17, 0.125.")

# %% [markdown]
# **The forward process, slid.** The slider moves $t$ from 0 (the data) to $T$: the row shows $x_t$ for eight test digits (on the $[-1, 1]$ scale, values beyond it drawn as black or white), and the right panel the marginal $q(x_t)$ of the 2-D ring — both under the grey-level schedule of the digits model, with one fixed draw of $\varepsilon$ per point pushed through `NoiseSchedule.q_sample`. After a few hundred steps the digits are hard to read; by $T$ both are indistinguishable from $\mathcal N(0, I)$ (the circles mark radius 1 and 2).

# %%
digit_schedule = NoiseSchedule.grey_level(T, levels=K)
x0_digits = splits.test.x[:8].float() * (2 / (K - 1)) - 1                  # (8, C, H, W) on [−1, 1]
x0_toy = toy.sample(1000, generator=seeded_generator(SEED)).float()         # (1000, 2)
eps_digits = torch.randn(x0_digits.shape, generator=seeded_generator(SEED + 1))
eps_toy = torch.randn(x0_toy.shape, generator=seeded_generator(SEED + 2))

forward_widget = viz.forward_process_slider(digit_schedule.q_sample, x0_digits, x0_toy, eps_digits, eps_toy,
                                            alpha_bars=digit_schedule.alpha_bars)
forward_widget

# %% [markdown]
# ## 2. The reverse process, the bound, and why predicting ε is enough
#
# To generate we need the reverse steps $q(x_{t-1} \mid x_t)$. By Bayes, $q(x_{t-1} \mid x_t) = q(x_t \mid x_{t-1})\,q(x_{t-1}) / q(x_t)$, and $q(x_t) = \int q(x_t \mid x_0)\,q(x_0)\,dx_0$ needs the whole data distribution: intractable (seed 000). Two facts rescue us. If every $\beta_t$ is small, the reverse step has the same functional form as the forward one, a Gaussian (Sohl-Dickstein et al., 2015; seed 003), so the model is
# $$p_\theta(x_{0:T}) = p(x_T) \prod_{t=1}^T p_\theta(x_{t-1} \mid x_t), \qquad p(x_T) = \mathcal N(0, I), \qquad p_\theta(x_{t-1} \mid x_t) = \mathcal N\big(\mu_\theta(x_t, t), \sigma_t^2 I\big),$$
# with fixed variances $\sigma_t^2$ ($\beta_t$ or $\tilde\beta_t$ below; Ho et al. found both work). And *conditioned on $x_0$* the reverse step is tractable: a product of Gaussians in $x_{t-1}$,
# $$q(x_{t-1} \mid x_t, x_0) = \mathcal N\big(\tilde\mu_t(x_t, x_0), \tilde\beta_t I\big), \quad \tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1 - \bar\alpha_t}\,x_0 + \frac{\sqrt{\alpha_t}\,(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t}\,x_t, \quad \tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\,\beta_t.$$
#
# **The bound.** $x_{1:T}$ are latent variables and $q(x_{1:T} \mid x_0)$ is a (fixed) encoder, so lecture 02's ELBO applies (seed 000):
# $$-\log p_\theta(x_0) \le \underbrace{\mathrm{KL}\big(q(x_T \mid x_0)\,\|\,p(x_T)\big)}_{L_T:\ \text{no parameters}} + \sum_{t=2}^{T} \underbrace{\mathbb E_{q}\,\mathrm{KL}\big(q(x_{t-1} \mid x_t, x_0)\,\|\,p_\theta(x_{t-1} \mid x_t)\big)}_{L_{t-1}} \underbrace{-\ \mathbb E_{q}\log p_\theta(x_0 \mid x_1)}_{L_0:\ \text{the decoder}}.$$
# $L_0$ and $L_T$ are the VAE's reconstruction and prior terms; the $T - 1$ KL terms in between are new. Each is a KL between two Gaussians whose variances ($\tilde\beta_t$ and $\sigma_t^2$) are fixed, so up to a constant it is a squared distance of means:
# $$L_{t-1} = \mathbb E_q \frac{1}{2\sigma_t^2}\,\big\|\tilde\mu_t(x_t, x_0) - \mu_\theta(x_t, t)\big\|^2 + \text{const}.$$
#
# **Why predicting ε is enough** (seed 000's identity, derived). Put $x_0 = (x_t - \sqrt{1 - \bar\alpha_t}\,\varepsilon)/\sqrt{\bar\alpha_t}$ into $\tilde\mu_t$. The coefficient of $x_t$ becomes
# $$\frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{(1 - \bar\alpha_t)\sqrt{\bar\alpha_t}} + \frac{\sqrt{\alpha_t}(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t} = \frac{\beta_t + \alpha_t(1 - \bar\alpha_{t-1})}{\sqrt{\alpha_t}\,(1 - \bar\alpha_t)} = \frac{1 - \bar\alpha_t}{\sqrt{\alpha_t}\,(1 - \bar\alpha_t)} = \frac{1}{\sqrt{\alpha_t}}$$
# (using $\sqrt{\bar\alpha_{t-1}/\bar\alpha_t} = 1/\sqrt{\alpha_t}$ , $\alpha_t\bar\alpha_{t-1} = \bar\alpha_t$ and $\beta_t + \alpha_t = 1$), and that of $\varepsilon$ becomes $-\beta_t/(\sqrt{\alpha_t}\sqrt{1 - \bar\alpha_t})$:
# $$\tilde\mu_t = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,\varepsilon\Big), \qquad\text{so choose}\qquad \mu_\theta(x_t, t) = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{\beta_t}{\sqrt{1 - \bar\alpha_t}}\,\varepsilon_\theta(x_t, t)\Big).$$
# $x_t$ is the network's input, so the only unknown in $\tilde\mu_t$ is the noise $\varepsilon$ that was added: the network **predicts the noise** (seed 000 writes $1 - \alpha_t$ for $\beta_t$, the same number). Then
# $$L_{t-1} = \mathbb E_{x_0, \varepsilon} \frac{\beta_t^2}{2\sigma_t^2\,\alpha_t\,(1 - \bar\alpha_t)}\,\big\|\varepsilon - \varepsilon_\theta\big(\sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon,\ t\big)\big\|^2,$$
# a denoising regression, one per $t$, with a weight. Ho et al.'s **simplified loss** drops the weight and samples $t$ uniformly: $L_{\text{simple}} = \mathbb E_{t, x_0, \varepsilon}\,\|\varepsilon - \varepsilon_\theta(\sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon, t)\|^2$. It down-weights the small-$t$ terms the true bound weights most (the weight is about $1/(2t)$ early on for the linear schedule) and trains better samplers, at the price of a worse bound (section 12 quotes their numbers). The cell checks the identity numerically with the package's `q_posterior` and `reverse_mean` and prints the weight at a few $t$.

# %%
torch.set_default_dtype(torch.float64)                                      # the schedule built and stored in float64:
linear64 = NoiseSchedule.linear(T)                                          # in float32, 1 − ᾱ_t loses digits near t = 1
torch.set_default_dtype(torch.float32)
x0_check = x0_toy[:500].double()
t_vec = torch.randint(1, T + 1, (500,), generator=seeded_generator(SEED))
eps = torch.randn(x0_check.shape, generator=seeded_generator(SEED + 3), dtype=torch.float64)
x_t = linear64.q_sample(x0_check, t_vec, eps)
mu_tilde, beta_tilde = linear64.q_posterior(x0_check, x_t, t_vec)          # μ̃_t(x_t, x_0), β̃_t
mu_from_eps = linear64.reverse_mean(x_t, t_vec, eps)                        # (x_t − β_t/√(1 − ᾱ_t) ε)/√α_t with the true ε
print(f"max |μ̃_t(x_t, x_0) − (x_t − β_t/√(1 − ᾱ_t)·ε)/√α_t| over 500 draws of (x_0, t, ε), in float64: "
      f"{(mu_tilde - mu_from_eps).abs().max().item():.1e}")
for t in (1, 2, 10, 100, 1000):
    b, a, ab = (linear.betas[t - 1].item(), linear.alphas[t - 1].item(), linear.alpha_bars[t - 1].item())
    print(f"t = {t:4d}: the bound's weight β_t²/(2σ_t² α_t (1 − ᾱ_t)) with σ_t² = β_t: {b / (2 * a * (1 - ab)):.4f}")

# %% [markdown]
# Measured with the default parameters: the two sides of the identity differ by at most 6.0e-13 in float64 — rounding: they are the same formula. The weight of $\|\varepsilon - \varepsilon_\theta\|^2$ in the true bound (with $\sigma_t^2 = \beta_t$) is 0.5000 at $t = 1$, 0.2727 at $t = 2$ and 0.0737 at $t = 10$ — close to $1/(2t)$ for the first couple of steps, then falling more slowly as $\beta_t$ grows — and levels off near 0.010 from $t = 100$ to $T$: the bound pays fifty times more attention to the first step than to the middle ones, the simplified loss the same to all.
#
# ## 3. Training and sampling, beside their code
#
# Ho et al.'s two algorithms, exactly (seed 000 gives both; its training line has the slip above):
#
# | Algorithm 1: training | Algorithm 2: sampling |
# |---|---|
# | **repeat** | $x_T \sim \mathcal N(0, I)$ |
# | $x_0 \sim q(x_0)$ | **for** $t = T, \dots, 1$ **do** |
# | $t \sim \mathrm{Uniform}\{1, \dots, T\}$ | $z \sim \mathcal N(0, I)$ if $t > 1$, else $z = 0$ |
# | $\varepsilon \sim \mathcal N(0, I)$ | $x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\big(x_t - \frac{1 - \alpha_t}{\sqrt{1 - \bar\alpha_t}}\,\varepsilon_\theta(x_t, t)\big) + \sigma_t z$ |
# | gradient step on $\nabla_\theta \|\varepsilon - \varepsilon_\theta(\sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon, t)\|^2$ | **end for** |
# | **until** converged | **return** $x_0$ |
#
# And the package's code for them (`coursekit.models.diffusion`): `DDPM.loss` is Algorithm 1's body, `DDPM._ddpm_loop` Algorithm 2's loop, and `NoiseSchedule.reverse_mean` the line $\mu_\theta$. Note the last step: no noise is added at $t = 1$ — $x_0$ is the mean $\mu_\theta(x_1, 1)$ — and the time index runs $1..T$ in the algorithm and in the code (the schedule's tensors hold step $t$ at position $t - 1$).

# %%
for code in (DDPM.loss, DDPM._ddpm_loop, NoiseSchedule.reverse_mean):
    print(inspect.getsource(code))

# %% [markdown]
# ## 4. DDPM on a 2-D toy
#
# The simplest ε-network: an MLP that reads $x_t$ and a **sinusoidal embedding** of $t$ (lecture 05's position table, used for time: `TimeMLP`, 3 hidden layers of 128 units, the embedding added before each). The data: eight Gaussians on a ring (lecture 07's mode-collapse test), linear schedule, $T$ = 1000 steps. The training loop is the course's trainer running Algorithm 1 for `TOY_STEPS` steps on batches of 256 — live, so you see the loss; a GAN's two losses said nothing about progress (lecture 07), this one is a regression and falls.

# %%
torch.manual_seed(SEED)
toy_model = DDPM(shape=(2,), T=T)                                         # TimeMLP, linear schedule (the defaults for points)
toy_loader = DataLoader(toy_train, batch_size=256, shuffle=True, generator=seeded_generator(SEED))
toy_history = train_cached(toy_model, toy_loader, steps=TOY_STEPS, lr=2e-3, seed=SEED, device=device,
                           cache_dir=CACHE_DIR, retrain=RETRAIN, name=f"ddpm-{TOY}", progress=True, report=True)
toy_model.eval()
toy_samples, toy_trajectory = toy_model.sample(2000, return_trajectory=True, generator=seeded_generator(SEED))
coverage = evaluation.mode_coverage(toy_samples.cpu(), toy.modes, toy.std)
losses = toy_history["train/loss"]
print(f"loss (the ε-MSE) over the first 5% of steps {sum(losses[:len(losses) // 20]) / (len(losses) // 20):.3f}, "
      f"the last 5% {sum(losses[-(len(losses) // 20):]) / (len(losses) // 20):.3f}; samples: "
      f"{coverage['modes_hit']} of 8 modes hit, {coverage['fraction_near_a_mode']:.0%} within 3σ of a mode")
shown_t = [t for t in (T, 300, 100, 30, 0) if t <= T]                     # the steps drawn as panels
viz.show(viz.trajectory_figure(toy_trajectory.cpu(), list(range(T, -1, -1)), data=x0_toy, paths=12,
                               stops=[T - t for t in shown_t], path_every=T // 40),   # index i is step T − i
         alt=f"Five panels of 2000 points at t = {', '.join(map(str, shown_t))}: pure noise, a round Gaussian cloud, "
             f"at t = 1000; still a cloud at t = 300; a blurred ring at t = 100; eight tight clusters by t = 30; at "
             f"t = 0 the points sit on the eight modes ({coverage['fraction_near_a_mode']:.0%} within 3σ of a mode). "
             f"A sixth panel draws 12 whole paths through every {T // 40}th step, from a circle at x_1000 to a cross at "
             "x_0: each wanders near the centre, then moves out to one mode.")

# %% [markdown]
# Measured with the default parameters: the ε-MSE falls from 0.403 (mean over the first 5% of steps) to 0.236 (the last 5%) — not towards 0: at large $t$ almost nothing of $x_0$ is left in $x_t$, and no network can tell which part of $x_t$ was noise, so the loss has a floor well above 0. The 2000 samples hit all 8 modes, 84% of them within 3σ of one (the rest sit on faint bridges between modes; exercise: train longer). The picture shows where the work is done: at $t = 300$ the cloud is still round, a ring appears by $t = 100$, and the eight clusters form in the last few dozen steps — the same share of steps that section 7 will find costs most of the bits on the digits. Unlike lecture 07's GANs on the same ring, nothing here was tuned per run and there is no adversary: one regression loss, and a sampler that follows it.
#
# ## 5. The score-matching view
#
# A second reading of the same network (seed 002's "score matching" and "unified perspective"; Song et al., 2021). For a Gaussian $q(x_t \mid x_0)$ the gradient of its log-density with respect to $x_t$ is
# $$\nabla_{x_t} \log q(x_t \mid x_0) = -\frac{x_t - \sqrt{\bar\alpha_t}\,x_0}{1 - \bar\alpha_t} = -\frac{\varepsilon}{\sqrt{1 - \bar\alpha_t}},$$
# so the simplified loss is, up to a factor $1 - \bar\alpha_t$, the **denoising score matching** objective $\mathbb E\,\|s_\theta(x_t, t) - \nabla_{x_t}\log q(x_t \mid x_0)\|^2$ with $s_\theta = -\varepsilon_\theta/\sqrt{1 - \bar\alpha_t}$. Its minimiser over functions of $x_t$ is the average of the target over the $x_0$ that could have produced $x_t$, and that average is the **score** of the noised data distribution (Vincent, 2011):
# $$\varepsilon_\theta(x_t, t) \approx -\sqrt{1 - \bar\alpha_t}\;\nabla_{x_t} \log q(x_t).$$
# The network learns which way is uphill in the density of noisy data, at every noise level; sampling follows it back (Algorithm 2 is a discretised reverse-time stochastic differential equation; Song et al. 2021 put DDPM and score-based models, seed 002's two views, in one framework). On the ring the check is exact: $q(x_t)$ of a mixture of Gaussians $\mathcal N(\mu_k, \sigma^2 I)$ is the mixture of $\mathcal N(\sqrt{\bar\alpha_t}\,\mu_k, (\bar\alpha_t \sigma^2 + 1 - \bar\alpha_t) I)$, and its score is computed by autograd from its log-density. The cell compares the two fields on a grid, at three noise levels.

# %%
grid_1d = torch.linspace(-3, 3, 15)
grid = torch.stack(torch.meshgrid(grid_1d, grid_1d, indexing="xy"), -1).reshape(-1, 2)   # (225, 2)
fields, titles = {}, {}
for t in (50, 200, 500):
    a_bar = linear.alpha_bars[t - 1].double()
    noised = data.toy2d.GaussianMixture2D(a_bar.sqrt() * toy.means, stds=(a_bar * toy.std ** 2 + 1 - a_bar).sqrt().item())
    x = grid.double().requires_grad_(True)
    (exact,) = torch.autograd.grad(noised.log_prob(x).sum(), x)              # ∇ log q(x_t), (225, 2)
    with torch.no_grad():
        t_vec = torch.full((len(grid),), t, dtype=torch.long, device=device)
        learned = -toy_model.eps_theta(grid.to(device), t_vec).cpu().double() / (1 - a_bar).sqrt()   # −ε_θ/√(1 − ᾱ_t)
    weight = noised.log_prob(grid.double()).exp()                            # where q(x_t) has mass
    cosine = torch.nn.functional.cosine_similarity(learned, exact, dim=1)
    agree = (weight * cosine).sum() / weight.sum()
    relative = ((weight * (learned - exact).pow(2).sum(1)).sum() / (weight * exact.pow(2).sum(1)).sum()).sqrt()
    print(f"t = {t:3d} (√(1 − ᾱ_t) = {(1 - a_bar).sqrt():.3f}, 1/√(1 − ᾱ_t) = {(1 - a_bar).rsqrt():.1f}): weighted by q(x_t) over the grid, the cosine between "
          f"the learned and the exact score is {agree:.3f} on average, and ‖learned − exact‖/‖exact‖ = {relative:.2f}")
    fields[f"exact ∇log q(x_t), t = {t}"], fields[f"−ε_θ/√(1 − ᾱ_t), t = {t}"] = exact, learned
    titles[f"−ε_θ/√(1 − ᾱ_t), t = {t}"] = f"weighted cosine with exact: {agree:.2f}"
for t in (50, 500):
    pair = {f"exact ∇log q(x_t), t = {t}": fields[f"exact ∇log q(x_t), t = {t}"],
            f"−ε_θ/√(1 − ᾱ_t), t = {t}": fields[f"−ε_θ/√(1 − ᾱ_t), t = {t}"]}
    viz.show(viz.vector_fields_figure(grid, pair, titles={k: titles[k] for k in pair if k in titles}, background=x0_toy),
             alt=f"Two arrow fields on a 15 by 15 grid over the ring at t = {t}, the same arrow scale in both: left the "
                 f"exact score of the noised ring, right the network's −ε_θ/√(1 − ᾱ_t) "
                 f"({titles[f'−ε_θ/√(1 − ᾱ_t), t = {t}']}). "
                 + ("The arrows point towards the nearest of the eight modes." if t < 100 else
                    "The noised ring is one blob: the arrows point towards the centre."))

# %% [markdown]
# Measured with the default parameters: weighted by where $q(x_t)$ has mass, the learned and the exact fields point the same way (mean cosine 0.921 at $t = 50$, 0.966 at $t = 200$, 0.955 at $t = 500$), and their relative error $\lVert s_\theta - \nabla\log q\rVert / \lVert\nabla\log q\rVert$ is 0.47, 0.15 and 0.10. The agreement is worst at small $t$, where the exact score is steep (its slope near a mode is $1/(\bar\alpha_t\sigma^2 + 1 - \bar\alpha_t)$) and the network's $\varepsilon$ error is magnified by $1/\sqrt{1 - \bar\alpha_t}$ = 5.9: the small-$t$ steps are where the details of the data are decided, and where they are hardest to learn (section 7 measures what they cost).
#
# ## 6. DDPM on the digits
#
# For images the ε-network is a small **U-Net** (Ho et al.'s architecture in miniature, seed 001's slide): residual blocks that each add a projection of the time embedding to every pixel, a stride-2 downsampling to 4×4 and back up with skip connections, and **self-attention** over the 16 positions at the lowest resolution (lecture 05's attention, pixels as tokens). It is class-conditional: a learned label embedding joins the time embedding, with an eleventh "null" label for classifier-free guidance (section 9). Training it to good samples takes longer than this whole lecture on a CPU (`scripts/train_diffusion.py` prints how long, and stores it in the checkpoint: `digits_ddpm_checkpoint_info()`), so it was trained once by `scripts/train_diffusion.py` with the setting `DIGITS_DDPM` (`coursekit.evaluation.diffusion_digits`, printed below: steps and batch size, Adam with a warm-up and a cosine decay, the share of batches with the null label, the weights' exponential moving average kept) and its weights are committed with the course, loaded with `weights_only=True`; `benchmarks/diffusion_quality.py` retrains it and checks that the committed numbers are reproduced. The training loop is the toy's, with images and labels. With `DIGITS_STEPS` set, or on MNIST (`DATA = "mnist"`), the cell trains the same setting live instead.
#
# The cell samples ten digits, one per class, with **Algorithm 2**, all $T$ steps, and draws the chain at a few $t$.

# %%
ddpm = load_digits_ddpm()
print(DIGITS_DDPM)
n_params = sum(p.numel() for p in ddpm.parameters())
print(f"{ddpm.bound}: {n_params:,} parameters; schedule {ddpm.schedule.name}, σ_t² = {ddpm.config.variance}, "
      f"{ddpm.config.classes} classes (+ the null label), p_uncond = {ddpm.config.p_uncond}")
start = time.perf_counter()
ten, chain = ddpm.sample(10, y=torch.arange(10, device=device), return_trajectory=True,
                         generator=seeded_generator(SEED))                       # Algorithm 2, T steps
ddpm_seconds_10 = time.perf_counter() - start
print(f"Algorithm 2 for 10 digits, {T} network evaluations each: {ddpm_seconds_10:.1f} s")
chain_t = [T, 600, 400, 300, 200, 100, 50, 20, 0]
viz.show(viz.image_rows_figure({f"x_{t}": chain[T - t].cpu() for t in chain_t}, vmin=-1.0, vmax=1.0),
         alt=f"{len(chain_t)} rows of ten images, the reverse chain of ten digits 0 to 9 at t = "
             f"{', '.join(map(str, chain_t))}: noise at the top; the rough shape of each digit appears between "
             "t = 400 and 200; strokes sharpen below t = 100; the last row is ten readable digits, 0 to 9.")

# %% [markdown]
# Measured with the default parameters: the cell prints how long Algorithm 2 took for the ten digits, $T$ = 1000 network evaluations each (batched over the ten). Reading the chain (a judgment from the picture, not a measurement): little of the digits is visible above $t = 400$, their rough shapes emerge between $t = 400$ and $200$, and strokes sharpen below $t = 100$ — as on the toy, the image is decided in the last few hundred of the 1000 steps.
#
# **How good are the samples?** Lecture 00b's Fréchet distance at `FRECHET_N` = 400 against the test digits, with its scale at the same $n$: real training digits (the best a model can hope for), the independent-pixel floor model, noise. The samples are the **unconditional** model's (the null label: $w = -1$ in section 9's convention), as in `benchmarks/diffusion_quality.py`. Sampling 400 digits with Algorithm 2 costs $400 \times T$ network evaluations, minutes on a CPU; this cell uses DDIM with 50 steps (section 8 explains it, and the benchmark measures what it costs in quality against Algorithm 2).

# %%
scale = evaluation.frechet_reference(splits, clf, n=FRECHET_N, seed=SEED)
samples_50, seconds_50 = timed_samples(ddpm, FRECHET_N, seed=SEED, guidance=-1.0, method="ddim", steps=50)   # w = −1: ∅
fd_50 = evaluation.frechet_distance(samples_50, splits.test, clf, n=FRECHET_N, seed=SEED).value
print(f"Fréchet distance to the test digits, n = {FRECHET_N}: the unconditional DDPM (DDIM, 50 steps) {fd_50:.1f}, "
      f"sampled in {seconds_50:.1f} s; real training digits {scale['real'].value:.1f}, the independent-pixel floor "
      f"{scale['floor'].value:.1f}, noise {scale['noise'].value:.1f}")
viz.show(viz.frechet_scale_figure({"DDPM (unconditional, DDIM 50 steps)": fd_50},
                                  {"real training digits": scale["real"].value,
                                   "independent pixels (floor model)": scale["floor"].value,
                                   "uniform noise": scale["noise"].value}),
         alt=f"Horizontal bars of Fréchet distance from 0: the DDPM's samples {fd_50:.1f}, beside the hatched "
             f"references, real training digits {scale['real'].value:.1f}, independent pixels "
             f"{scale['floor'].value:.1f} and noise {scale['noise'].value:.1f}.")
viz.show(viz.image_grid(samples_50[:64], nrow=16, levels=K),
         alt="64 samples of the unconditional DDPM (the null label), four rows of sixteen 8×8 digits of many classes.")

# %% [markdown]
# Measured with the default parameters (seed 0): the unconditional model's 400 DDIM samples are at 16.4, near the real digits (7.1, the best possible at this $n$) and far from the independent-pixel floor (112.4) and noise (179.6). For scale, lecture 07's DCGAN scored 16.6, 18.7 and 27.2 at seeds 0–2 on the same measure (`benchmarks/gan_quality.py`): the diffusion model is level with the DCGAN's best seed, with a network of 129,169 parameters and no adversary, and `benchmarks/diffusion_quality.py` repeats the comparison over three fresh trainings of this setting (its seed 0 reproduces the committed weights exactly): the unconditional model sampled by Algorithm 2 scores 15.36 ± 3.41 (mean ± sd over seeds 0–2, one draw of 400 per seed; 14.66 ± 2.21 when each seed's Fréchet distance is the mean of two draws, its quality part's rerun), against 20.83 ± 5.61 for the DCGAN. What the number does not say (lecture 07): it mixes fidelity and diversity into one number from two moments of a classifier's features, and it is biased upwards at this small $n$.
#
# ## 7. The bound, term by term: which steps cost the bits
#
# The likelihood of a diffusion model is a bound, and the package computes **every one of its $T + 1$ terms** (`DDPM.bound_terms`, nats per example): $L_T$ in closed form, each $L_{t-1}$ as the Gaussian KL of section 2 at one draw of $x_t \sim q(x_t \mid x_0)$, and $L_0$ with Ho et al.'s **discretised decoder**. The digits are integers; $p_\theta(x_0 \mid x_1)$ gives each of the 17 levels $k$ (at $2k/16 - 1$) the mass of $\mathcal N(\mu_\theta(x_1, 1), \sigma_1^2)$ over its bin of width $2/16$, the end bins stretched to $\pm\infty$, so $L_0$ is a code length and the bound bounds $-\log_2 P(x)$ of the discrete image, comparable with every exact model of the course in bits/dim. Each $L_{t-1}$ is an expectation over $x_t$, so what the cell computes is a Monte-Carlo estimate too, and an unbiased one: all $T + 1$ terms, one draw of $x_t$ per term, averaged over `BOUND_N` test digits (each digit costs $T$ network evaluations). Averaging a random subset of the $t$ and scaling up would also be unbiased, with a larger variance (the terms differ by orders of magnitude, as the figure shows); computing every term removes that noise and leaves the one draw of $x_t$ per term and the choice of digits. The model is class-conditional; without labels the package measures its unconditional model, the null label $\varnothing$ (`bound_bits_per_dim`, shared with `benchmarks/diffusion_quality.py`, which computes the same estimate on all 447 test digits).

# %%
bound_x = splits.test.x[:BOUND_N or len(splits.test)].to(device)
bound = bound_bits_per_dim(ddpm, bound_x, seed=SEED)          # every one of the T + 1 terms, the unconditional model
per_term_bits, total = bound["per_t"], bound["bits_per_dim"]  # (T + 1,) bits/dim by column; their sum
early = per_term_bits[:10].sum().item()                       # L_0 … L_9: the steps t = 1..10
print(f"the bound on {len(bound_x)} test digits, all {T + 1} terms, one draw of x_t each: {total:.3f} bits/dim, in {bound['seconds']:.1f} s; "
      f"uniform {evaluation.uniform_bits_per_dim(K):.3f}, the per-pixel floor "
      f"{evaluation.floor_bits_per_dim(splits.train, splits.test):.3f}")
display(Markdown("| part of the bound | bits/dim | share |\n|---|---|---|\n" + "\n".join(
    f"| {name} | {bits:.3f} | {bits / total:.0%} |" for name, bits in bound["parts"].items())))
print(f"the first ten steps, t = 1..10 (L_0 … L_9): {early:.3f} bits/dim, {early / total:.0%} of the bound")
viz.show(viz.bound_terms_figure({"DDPM on the digits": per_term_bits}),
         alt=f"Left, on log axes: each term of the bound in bits/dim against t, falling from about "
             f"{per_term_bits[1]:.2g} at t = 1 to about {per_term_bits[T - 1]:.1g} near t = {T}, with L_0 = "
             f"{per_term_bits[0]:.3f} as a marker at the left edge. Right: the bound summed up to t, climbing steeply "
             f"over the first ten steps ({early:.2f} of {total:.2f} bits/dim by t = 10) and slowly after.")

# %% [markdown]
# Measured with the default parameters, on the first 20 test digits (all 1001 terms, one draw of $x_t$ each): the bound's estimate is 2.339 bits/dim — below the per-pixel floor (2.398) and far below uniform (4.087), so the model has learned dependencies between pixels, though it stays above the exact likelihoods of lecture 04's autoregressive models (the masked PixelCNN 1.878 bits/dim, the 3-seed mean of `benchmarks/ar_bits_per_dim.py` on the whole test set; 20 digits are a small sample); `benchmarks/diffusion_quality.py` computes the same estimate on all 447 test digits: 2.358 bits/dim for this checkpoint (its seed 0) and 2.331 ± 0.023 over seeds 0–2, split much as here (on average 0.696 for $L_0$, 0.902 for $t = 2..9$, 0.544 for $t = 10..100$, 0.189 for the rest). For contrast it prints the valid bound measured for the course on the public intro_dgm diffusion model (Tomczak) on this split, 4.95 bits/dim, worse than uniform: its reverse networks are never registered as parameters, so they are never trained — a bug a bound computed term by term exposes and samples might hide. 72% of the bound (1.684 bits/dim) is paid in the first ten steps, $t = 1..10$: the decoder $L_0$ costs 0.753, $t = 2..9$ 0.898 and the $t = 10$ term the remaining 0.033 (the table counts it in its $t = 10..100$ row), against 0.510 for $t = 10..100$, 0.178 for all of $t = 101..T$ and nothing for the prior term ($\bar\alpha_T$ is tiny). Why the first steps: there $x_t$ still holds the exact grey levels, the posterior $q(x_{t-1} \mid x_t, x_0)$ is very narrow, and the network's small errors in $\varepsilon$ are divided by a small $\sqrt{1 - \bar\alpha_t}$ (section 5), which is why the bound weights them most (section 2). Ho et al.'s simplified loss gives these steps the same weight as every other, so the model spends little effort on them: good samples, a loose bound. The grey-level schedule already helps (half a grey level of noise at $t = 1$, where the linear schedule's 0.01 would leave $x_0$ exactly readable; exercise (b)).
#
# ## 8. Faster sampling: DDIM
#
# Algorithm 2 needs $T$ sequential network evaluations per sample. **DDIM** (Song, Meng & Ermon, 2021) keeps the trained network and changes the sampler. Its observation: the training loss only involves the marginals $q(x_t \mid x_0)$, and many processes share them. For any increasing sub-sequence $\tau$ of $1..T$ (`ddim_timesteps`) and $t'$ the step before $t$ in it, predict $x_0$ from the current noise estimate and jump:
# $$\hat x_0 = \frac{x_t - \sqrt{1 - \bar\alpha_t}\,\varepsilon_\theta(x_t, t)}{\sqrt{\bar\alpha_t}}, \qquad x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1 - \bar\alpha_{t'} - \sigma_t^2}\;\varepsilon_\theta(x_t, t) + \sigma_t z,$$
# $$\sigma_t = \eta\,\sqrt{\frac{1 - \bar\alpha_{t'}}{1 - \bar\alpha_t}}\,\sqrt{1 - \frac{\bar\alpha_t}{\bar\alpha_{t'}}}.$$
# With $\eta = 1$ on all $T$ steps this is Algorithm 2 with $\sigma_t^2 = \tilde\beta_t$, and with fewer steps it is the same kind of sampler on a coarser grid: fresh noise $\sigma_t z$ at every jump, stochastic like DDPM. With $\eta = 0$ it is **deterministic** given $x_T$ (an ODE solver in Song et al. 2021's view, and an encoder: run it forwards and $x_T$ becomes a latent code of $x_0$). The table samples `FRECHET_N` digits of the unconditional model with each number of steps and $\eta = 0$, and with $\eta = 1$ at the steps of `DDIM_ETA1_STEPS` (50), all from the same $x_T$, and times them (Algorithm 2's row only with `DDPM_N` > 0: 400 samples take minutes on a CPU; `benchmarks/diffusion_quality.py` measures it).

# %%
rows, fd_by_steps, seconds_by_steps = [], {}, {}
runs = ([(0.0, "ddim", s) for s in DDIM_STEPS] + [(1.0, "ddim", s) for s in DDIM_ETA1_STEPS]
        + ([(None, "ddpm", T)] if DDPM_N else []))
for eta, method, steps in runs:
    name, n = ("DDPM (Algorithm 2)", DDPM_N) if method == "ddpm" else (f"DDIM, η = {eta:g}", FRECHET_N)
    if (method, steps, eta, n) == ("ddim", 50, 0.0, FRECHET_N):
        samples, seconds = samples_50, seconds_50                                  # section 6's run, the same seed
    else:                                                                          # the same x_T (seed) for every row
        samples, seconds = timed_samples(ddpm, n, seed=SEED, guidance=-1.0, method=method,
                                         **({"steps": steps, "eta": eta} if method == "ddim" else {}))
    fd = evaluation.frechet_distance(samples, splits.test, clf, n=FRECHET_N, seed=SEED).value
    fd_by_steps[(method, steps, eta)], seconds_by_steps[(method, steps, eta)] = fd, seconds
    rows.append(f"| {name} | {steps} | {fd:.1f} | {seconds:.1f} | {1000 * seconds / n:.1f} |")
display(Markdown(f"| sampler | steps | Fréchet distance, n = {FRECHET_N} | seconds | ms per sample |\n|---|---|---|---|---|\n"
                 + "\n".join(rows) + f"\n| real training digits (the scale) | — | {scale['real'].value:.1f} | — | — |"))
x_T = torch.randn(4, *SHAPE, generator=seeded_generator(SEED + 7)).to(device)
again = [ddpm.sample(4, y=torch.arange(4, device=device), method="ddim", steps=20, x_T=x_T) for _ in range(2)]
print(f"DDIM with η = 0 from the same x_T twice: identical samples {torch.equal(*again)}")

# %% [markdown]
# Measured with the default parameters (seed 0, one CPU thread; the seconds are wall clock and depend on the machine and its load): DDIM's Fréchet distance falls from 30.8 with 10 steps to 20.1 with 20 and 16.4 with 50, while its time grows in proportion to the steps (each step is one network evaluation of the batch). At 50 steps, $\eta = 1$ from the same $x_T$ scores 18.2, against 16.4 for $\eta = 0$: one draw of 400 samples each, and one such draw's Fréchet distance moves by ± 1.77 (sd) from one draw of $x_T$ to the next (the benchmark's draw noise, below), so this row alone does not rank the two samplers. With $\eta = 0$ the same $x_T$ gives the same samples twice (printed). Algorithm 2 with all 1000 steps costs twenty times the network evaluations of DDIM-50; `benchmarks/diffusion_quality.py` measures both on the same model, in quality and in time, for three fresh trainings of this setting (set `DDPM_N = 400` to add its row here: minutes on a CPU). Its quality part (`--parts quality`) draws 400 unconditional samples by Algorithm 2, by DDIM-50 with $\eta = 0$ and by DDIM-50 with $\eta = 1$, each twice (the first draw from the $x_T$ this lecture uses: its seed-0 values are this table's 16.4 and 18.2), and reports the mean of the two Fréchet distances. Per seed 0, 1, 2: Algorithm 2 14.13, 12.77 and 17.10; DDIM-50 with $\eta = 0$ 15.48, 16.53 and 18.04 (ratios 1.096, 1.295, 1.055); with $\eta = 1$ 16.84, 13.78 and 16.37 (ratios 1.191, 1.080, 0.957). Over the seeds (its summary): the ratio to Algorithm 2's Fréchet distance is 1.149 ± 0.128 for $\eta = 0$ and 1.076 ± 0.117 for $\eta = 1$, at 23.8 ± 2.5 and 23.3 ± 1.8 times the speed; one draw's Fréchet distance varies by ± 1.77 about its model's mean, ± 1.25 for the mean of two. The course's target is DDIM with 50 steps within 10% of Algorithm 2 in Fréchet distance and at least 15 times faster. Stochastic DDIM ($\eta = 1$) meets it on the mean over the three seeds (1.076; its worst seed 1.191); deterministic DDIM ($\eta = 0$) does not (1.149; within 10% at two seeds of three, 1.295 at the third). Both are more than 15 times faster. How firm the ranking is: the two means, 1.149 and 1.076, differ by less than either ratio's sd over the seeds (0.128, 0.117), and the draw noise is of the size of the differences measured, so on this small model the honest reading is "$\eta = 1$ at least as good as $\eta = 0$ at 50 steps, and within the target", not a clear win. (An earlier run of the benchmark, one draw per sampler and $\eta = 0$ only, gave 1.164 ± 0.136 at 22.1 ± 1.3× from the same first draws.)
#
# ## 9. Classifier-free guidance
#
# A conditional model $\varepsilon_\theta(x_t, t, y)$ samples $p(x \mid y)$, but its samples of a class can be atypical: a 4 that looks like a 9. **Guidance** trades diversity for class fidelity (seed 000: "mix predictions of a conditional and an unconditional model, because conditional models are not diverse" — more precisely, not *typical*). Classifier guidance (Dhariwal & Nichol, 2021) adds the gradient of a separate classifier trained on noisy images. **Classifier-free guidance** (Ho & Salimans, 2022) needs no classifier: one network learns both $\varepsilon_\theta(x_t, t, y)$ and the unconditional $\varepsilon_\theta(x_t, t, \varnothing)$ — in training each label is replaced by the null label $\varnothing$ with probability `p_uncond` = 0.2 (this setting; Ho & Salimans tried 0.1 and 0.2) — and sampling uses
# $$\tilde\varepsilon = (1 + w)\,\varepsilon_\theta(x_t, t, y) - w\,\varepsilon_\theta(x_t, t, \varnothing).$$
# Read through section 5: $\varepsilon/\sqrt{1 - \bar\alpha_t}$ is minus a score, and $\nabla\log p(x_t \mid y) - \nabla\log p(x_t) = \nabla\log p(y \mid x_t)$ by Bayes, so the guided score is $\nabla\log p(x_t \mid y) + w\,\nabla\log p(y \mid x_t)$: the model's own implicit classifier, raised to the power $w$. **Which convention.** This lecture (and `DDPM.sample(guidance=w)`) uses Ho & Salimans' $w$: $w = 0$ is the plain conditional model, $w = -1$ the unconditional one. Much public code, e.g. diffusers' `guidance_scale` $s$ and Stable Diffusion's 7.5, writes $\tilde\varepsilon = \varepsilon_\varnothing + s\,(\varepsilon_y - \varepsilon_\varnothing)$, which is $s = 1 + w$: their 7.5 is $w = 6.5$, and their $s = 1$ is our $w = 0$.
#
# The cell samples `GUIDANCE_N` digits (the same number of each class) at each weight of `GUIDANCE_W` with DDIM (20 steps), and measures two things: the share the classifier labels as the requested digit (fidelity), and the **diversity** within a class — the root-mean-square distance of a sample's classifier features (the Fréchet distance's) to the mean of its requested class, averaged over the classes (`within_class_spread`, shared with the benchmark), divided by the same for the test digits (1 = as varied as the data).

# %%
real_spread = within_class_spread(splits.test, None, clf)      # the test digits' spread within their classes
guided, fidelity, diversity = {}, {}, {}
g_labels = torch.arange(10, device=device).repeat_interleave(GUIDANCE_N // 10)
for w in GUIDANCE_W:
    guided[w] = ddpm.sample(len(g_labels), y=g_labels, guidance=w, method="ddim", steps=20,
                            generator=seeded_generator(SEED)).cpu()
    fidelity[w] = evaluation.conditional_accuracy(guided[w], g_labels, clf)
    diversity[w] = within_class_spread(guided[w], g_labels.cpu(), clf) / real_spread
    print(f"w = {w:3.1f} (diffusers' scale {1 + w:3.1f}): classified as requested {fidelity[w]:.1%}, "
          f"within-class diversity {diversity[w]:.2f} of the test digits'")
per_class = GUIDANCE_N // 10
guidance_widget = viz.guidance_slider({w: s.view(10, per_class, *SHAPE)[:, :10].reshape(-1, *SHAPE) for w, s in guided.items()},
                                      {"classified as requested": fidelity, "within-class diversity (data = 1)": diversity},
                                      nrow=10, levels=K)
guidance_widget

# %% [markdown]
# Measured with the default parameters (seed 0, 200 samples per weight, DDIM with 20 steps): the plain conditional model ($w = 0$) already produces the requested digit for 96.5% of its samples, and $w = 0.5$ raises that to 100% — above the classifier's own accuracy on real test digits, 98.4%: guided samples are *easier* than real digits. The price is diversity: the within-class spread falls from 0.86 of the test digits' at $w = 0$ to 0.74 at $w = 0.5$ and 0.70 at $w = 2$. At $w = 4$ it rises again, to 0.75, while the accuracy stays at 100%: a reading of the slider, not a measurement, is that strong guidance pushes samples off the data (thicker, saturated strokes), which spreads the features without making the digits more varied. `benchmarks/diffusion_quality.py` runs a similar sweep ($w$ = 0, 0.5, 1, 2, 3, 5) with 400 samples and 50 DDIM steps per seed and adds the Fréchet distance, which measures the drift off the data: at seed 0 the accuracy goes from 0.978 at $w = 0$ to 0.998 at $w = 0.5$ and 1.000 from $w = 1$, while the Fréchet distance rises from 10.35 to 10.42, 12.28, 15.90 at $w = 2$ and 26.77 at $w = 5$ (its per-seed lines; over seeds 0–2 the means are 0.973 ± 0.009 at $w = 0$ and 0.997 at $w = 0.5$, the Fréchet distance 10.40 at $w = 0$ and 28.99 at $w = 5$). Small weights buy fidelity almost for free; large ones cost sample quality. What the two numbers bound: the accuracy is whether the sample is recognisably the requested class to *this* classifier; the spread is how varied the samples of a class are in its features. Neither alone is quality: one perfect 3 repeated would score 100% and a spread of 0.
#
# ## 10. Latent diffusion
#
# High-resolution images are expensive to diffuse pixel by pixel (seed 000, its section 6.2): **latent diffusion** (Rombach et al., 2022, behind Stable Diffusion) first trains an autoencoder, then a diffusion model on its latent codes, and decodes the sampled codes. Here, in miniature: lecture 02's VAE (`VAE`, categorical decoder, 16 latent dimensions) trained on the digits, then a DDPM with a `TimeMLP` over its 16-dimensional codes $z \sim q_\phi(z \mid x)$ (`LatentDiffusion`; the VAE stays frozen). The question it answers: is $\mathcal N(0, I)$ a good prior for the VAE's codes? The VAE's ELBO pushes the aggregate posterior $q_\phi(z) = \mathbb E_x\, q_\phi(z \mid x)$ towards the prior but never all the way; where they differ, prior samples decode to poor images. A diffusion prior learns $q_\phi(z)$ itself.

# %%
torch.manual_seed(SEED)
vae = VAE(latent_dim=16, hidden=512, dropout=0.5, levels=K, shape=SHAPE)            # lecture 02's main VAE
image_loaders = data.loaders(splits, batch_size=64, seed=SEED)
train_cached(vae, image_loaders["train"], val_data=image_loaders["val"], epochs=VAE_EPOCHS, patience=50, lr=1e-3,
             seed=SEED, device=device, cache_dir=CACHE_DIR, retrain=RETRAIN, name=f"vae-{DATA}-for-latent-diffusion",
             progress=False, report=True)
vae.eval()
latent = LatentDiffusion(vae, T=T)
train_cached(latent, image_loaders["train"], steps=LATENT_STEPS, lr=2e-3, seed=SEED, device=device,
             cache_dir=CACHE_DIR, retrain=RETRAIN, name=f"latent-diffusion-{DATA}", progress=False, report=True)
latent.eval()
codes = {"N(0, I)": torch.randn(FRECHET_N, 16, generator=seeded_generator(SEED)).to(device),           # the VAE's prior
         "diffusion": latent.prior.sample(FRECHET_N, decoder_noise=True, generator=seeded_generator(SEED))}  # T steps
decoded, fd_latent = {}, {}
for prior, z in codes.items():
    for how, mean in (("drawn", False), ("mean", True)):
        decoded[prior, how] = vae.sample(FRECHET_N, z=z, mean=mean, generator=seeded_generator(SEED)).cpu()
        if mean:
            decoded[prior, how] = decoded[prior, how] / (K - 1)             # E[level | z] as the float view in [0, 1]
        fd_latent[prior, how] = evaluation.frechet_distance(decoded[prior, how], splits.test, clf, n=FRECHET_N,
                                                            seed=SEED).value
    print(f"codes from the {prior:9s} prior: Fréchet distance, n = {FRECHET_N}, of x ~ p(x | z) "
          f"{fd_latent[prior, 'drawn']:.1f}, of the decoder's mean E[x | z] {fd_latent[prior, 'mean']:.1f}")
print(f"(real digits {scale['real'].value:.1f}, floor {scale['floor'].value:.1f})")
from_prior, from_latent = decoded["N(0, I)", "drawn"], decoded["diffusion", "drawn"]
fd_vae, fd_lat = fd_latent["N(0, I)", "drawn"], fd_latent["diffusion", "drawn"]
viz.show(viz.image_rows_figure({"VAE: z ~ N(0, I), decoded": from_prior[:16],
                                "latent diffusion: z by a DDPM on the codes, decoded": from_latent[:16]}, levels=K),
         alt=f"Two rows of sixteen digits drawn from the same VAE decoder, speckled by its independent pixel draws: "
             f"above with codes from its N(0, I) prior (Fréchet distance {fd_vae:.1f}), below with codes sampled by the "
             f"latent diffusion model ({fd_lat:.1f}).")

# %% [markdown]
# Measured with the default parameters: with codes from $\mathcal N(0, I)$ the VAE's drawn samples score 45.0 and its decoder means 84.2; with codes from the diffusion prior, 36.5 and 74.1 (real digits 7.1, floor 112.4; the pixel DDPM of section 6, 16.4). The diffusion prior helps, and the decoder limits: its 64 independent categorical draws add speckle that no prior removes (the drawn images), and its means are blurred averages, far from any digit in the classifier's features. Latent diffusion works at scale because its autoencoder reconstructs almost perfectly and the diffusion model does the generative work; here the VAE is the weak part, and a DDPM on the pixels (section 6) does better.
#
# ## 11. "A VAE is a one-step diffusion model"
#
# Seed 000 says it in one line; here it is concrete. Take $T = 1$. The forward process is one Gaussian step, $q(x_1 \mid x_0) = \mathcal N(\sqrt{\bar\alpha_1}\,x_0, (1 - \bar\alpha_1) I)$: an **encoder**, fixed rather than learned, with a latent $x_1$ of the data's size. The prior is $p(x_1) = \mathcal N(0, I)$, and the one reverse step $p_\theta(x_0 \mid x_1)$ is a **decoder**. The bound has only its two ends,
# $$-\log p_\theta(x_0) \le \underbrace{\mathrm{KL}\big(q(x_1 \mid x_0)\,\|\,\mathcal N(0, I)\big)}_{L_1 = L_T:\ \text{the VAE's KL term}} + \underbrace{\mathbb E_{q(x_1 \mid x_0)}\big[-\log p_\theta(x_0 \mid x_1)\big]}_{L_0:\ \text{its reconstruction term}},$$
# which is lecture 02's negative ELBO, term for term. The cell builds a DDPM with $T = 1$ ($\beta_1 = 0.5$) and checks its two bound terms against lecture 02's formulas: the VAE's closed-form Gaussian KL (`coursekit.models.vae.gaussian_kl`) with the encoder's mean $\sqrt{\bar\alpha_1}\,x_0$ and log-variance $\log(1 - \bar\alpha_1)$, and the decoder's $-\log p_\theta(x_0 \mid x_1)$ at the same draw of $x_1$.

# %%
torch.manual_seed(SEED)                                                                # the untrained decoder's weights
one_step = DDPM(shape=SHAPE, levels=K, T=1, schedule="linear", beta_1=0.5, beta_T=0.5, classes=0).to(device)
x_vae = splits.test.x[:8].to(device)
terms_1 = one_step.bound_terms(x_vae, generator=seeded_generator(SEED))                # (8, 2): L_0, L_1
x0 = one_step.to_network(x_vae)
a_bar = one_step.schedule.alpha_bars[0]
mu_enc = (a_bar.sqrt() * x0).flatten(1)                                                # the "encoder's" mean, (8, D)
kl_vae = vae_gaussian_kl(mu_enc, torch.full_like(mu_enc, math.log(1 - a_bar.item())))  # lecture 02's closed form
eps = torch.randn(x0.shape, generator=seeded_generator(SEED)).to(device)               # bound_terms' one draw of x_1
x_1 = one_step.schedule.q_sample(x0, torch.ones(len(x0), dtype=torch.long, device=device), eps)
with torch.no_grad():
    mean = one_step.schedule.reverse_mean(x_1, torch.ones(len(x0), dtype=torch.long, device=device),
                                          one_step.eps_theta(x_1, torch.ones(len(x0), dtype=torch.long, device=device)))
recon = -discretized_gaussian_log_prob(x0, mean, one_step.schedule.sigma2()[0], K).flatten(1).sum(1)
print(f"L_1 (DDPM, T = 1) {terms_1[:, 1].mean():.3f} nats; the VAE's KL(q(z|x) ‖ N(0, I)) with μ = √ᾱ_1·x_0, "
      f"log σ² = log(1 − ᾱ_1): {kl_vae.mean():.3f}; max difference over 8 digits {(terms_1[:, 1] - kl_vae).abs().max():.1e}")
print(f"L_0 (DDPM, T = 1) {terms_1[:, 0].mean():.3f} nats; −log p_θ(x_0 | x_1) by hand at the same x_1: "
      f"{recon.mean():.3f}; max difference {(terms_1[:, 0] - recon).abs().max():.1e} (an untrained decoder: a poor bound)")

# %% [markdown]
# Measured with the default parameters: the one-step DDPM's prior term $L_1$ and lecture 02's closed-form KL agree exactly (17.977 nats averaged over eight digits; maximum difference 0), and so do its decoder term and $-\log p_\theta(x_0 \mid x_1)$ computed by hand at the same $x_1$ (maximum difference 0; the network is untrained, so this decoder's term, printed, is large). The diffusion bound with $T = 1$ *is* a VAE's ELBO, with a fixed encoder.
#
# What differs is what makes diffusion work. A VAE **learns** its encoder and squeezes $x$ into a smaller $z$; its one decoder step must turn a code into a whole image, and a Gaussian (or factorised) decoder cannot represent the data's dependencies that the code left out: blur. A diffusion model **fixes** its encoder to $T$ small noising steps, so every reverse step is a small correction for which a Gaussian is nearly exact (the functional-form argument of section 2), and the network only ever solves a denoising regression — no encoder to balance against a decoder, the instability seed 003 names as the VAE's problem. The price: the latent has the data's size, and sampling takes many network evaluations.
#
# ## 12. Beyond this lecture
#
# - **Ho et al.'s numbers, for context.** On CIFAR-10 (32×32 colour, 256 levels; not comparable with the digits), the simplified loss reached FID 3.17 with a bound of NLL $\le$ 3.75 bits/dim, while training on the true bound $L$ gave a better bound, NLL $\le$ 3.70, with a worse FID (Ho et al., 2020, Table 1). This lecture's digits show the same tension: the simplified loss spends its effort where samples improve, not where the small-$t$ terms of the bound are paid (section 7).
# - **Conditioning.** **ControlNet** (Zhang, Rao & Agrawala, 2023) adds control (edges, depth, pose) to a large trained text-to-image model without retraining it: a trainable copy of the U-Net's encoder reads the control image and adds its outputs to the frozen model's blocks through zero-initialised convolutions, so training starts from the unchanged model (seed 000: "add layers that add something to block outputs").
# - **Text to image** (seeds 001, 003). **DALL·E 2** (Ramesh et al., 2022, "unCLIP"): a prior maps a CLIP text embedding to a CLIP image embedding, and a diffusion decoder generates the image from it, followed by diffusion upsamplers. **Imagen** (Saharia et al., 2022): a frozen T5 text encoder conditions a cascade of diffusion models (64×64, then super-resolution to 256 and 1024) with classifier-free guidance; large guidance weights push pixels out of range, which its *dynamic thresholding* clips. **Stable Diffusion** is section 10 at scale: latent diffusion on a VQ/KL autoencoder's codes, with text through cross-attention.
# - **Faster and better samplers and training.** Learned variances (Nichol & Dhariwal, 2021) improve the bound; probability-flow ODE solvers (Song et al., 2021; DPM-Solver, Lu et al., 2022) and distillation cut the steps to a handful; continuous time $t$ ("$t$ can be continuous", seed 000) and the SDE view unify DDPM and score-based models (seed 002).
# - **The trilemma** (lecture 00, seed 002): GANs sample fast and sharp but miss modes; VAEs and flows sample fast and cover modes but are less sharp; diffusion models are sharp and cover modes, and pay with slow sampling — the cost DDIM (section 8) and its successors attack.
#
# ## Summary
#
# - The forward process adds Gaussian noise in $T$ small steps, $q(x_t \mid x_{t-1}) = \mathcal N(\sqrt{\alpha_t}\,x_{t-1}, \beta_t I)$, and has the closed form $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon$ with the **cumulative** $\bar\alpha_t$ — checked against $t$ single steps; the seeds' $\sqrt{\alpha_t}$ would leave most of $x_0$ in $x_T$.
# - The bound is lecture 02's ELBO with $T$ latent layers: a prior term, a decoder term and $T - 1$ Gaussian KLs, each a weighted squared error in the noise once $\mu_\theta$ is written through $\varepsilon_\theta$ ($\tilde\mu_t = (x_t - \beta_t\varepsilon/\sqrt{1 - \bar\alpha_t})/\sqrt{\alpha_t}$, derived and checked). Ho et al.'s simplified loss drops the weights.
# - Measured with the default parameters: a TimeMLP DDPM trained live on the ring covers 8 of 8 modes (84% of samples within 3σ of one), its $-\varepsilon_\theta/\sqrt{1 - \bar\alpha_t}$ pointing along the exact score (weighted cosine 0.92 to 0.97). On the digits, the committed U-Net DDPM's unconditional samples score a Fréchet distance of 16.4 at $n$ = 400 with DDIM-50 (30.8 with 10 steps, 20.1 with 20; real digits 7.1, floor 112.4), its bound, estimated with all 1001 terms and one draw of $x_t$ each, is 2.339 bits/dim on 20 test digits, 72% of it paid in the first ten steps, and guidance $w = 0.5$ lifts the classifier's agreement from 96.5% to 100% while the within-class spread falls from 0.86 to 0.74 of the data's. Over three fresh trainings (`benchmarks/diffusion_quality.py`, each Fréchet distance the mean of two draws of 400): 14.66 ± 2.21 by Algorithm 2 (the DCGAN's 20.83 ± 5.61); DDIM-50 at about 23× the speed scores 1.149 ± 0.128 times that with $\eta = 0$ and 1.076 ± 0.117 times with $\eta = 1$ — the course's "within 10%" target not met and met, with draw noise of the size of the gap — and a test bound of 2.331 ± 0.023 bits/dim on all 447 test digits.
# - $\varepsilon_\theta \approx -\sqrt{1 - \bar\alpha_t}\,\nabla\log q(x_t)$: the network is a score model (checked on the ring, where the score is exact); classifier-free guidance adds $w$ times the model's implicit classifier's gradient, in Ho & Salimans' $w$ (diffusers' scale is $1 + w$).
# - A one-step diffusion model is a VAE with a fixed Gaussian encoder and a latent of the data's size (its bound is the negative ELBO, term for term); a diffusion model fixes its encoder to many small steps, each easy to reverse, and pays with slow sampling.
#
# **Exercises.** The graded exercise `exercises/08_diffusion.ipynb` writes `q_sample`, the simplified loss, one reverse step of Algorithm 2 with either variance, the whole sampler, and one classifier-free guidance step; its hidden tests catch the seeds' $\sqrt{\alpha_t}$, noise added at the last step, $t$ off by one and guidance with the wrong sign. Try also: (a) train the toy DDPM with `T = 50` (and the same $\beta_1$, $\beta_T$): what happens to the samples, and why does the reverse step's Gaussian form need small $\beta_t$? (b) Train the digits setting with Ho et al.'s linear schedule, `train_digits_ddpm(settings=dataclasses.replace(DIGITS_DDPM, schedule="linear"))["model"]` (minutes on a CPU), and recompute the bound of section 7 with `bound_bits_per_dim`: which terms grow? (c) Run the DDIM table with $\eta = 1$ at more step counts (`DDIM_ETA1_STEPS = (10, 20, 50)`): how do the stochastic samples compare at 10 and 50 steps? (d) In section 9, what guidance weight does Stable Diffusion's default scale 7.5 correspond to here, and what happens to the within-class diversity at $w = 8$?
#
# **References.**
# - J. Ho, A. Jain, P. Abbeel, *Denoising Diffusion Probabilistic Models*, NeurIPS 2020 (Algorithms 1 and 2, the simplified loss, the discretised decoder, CIFAR-10's FID 3.17 and NLL ≤ 3.75 / 3.70).
# - J. Sohl-Dickstein, E. Weiss, N. Maheswaranathan, S. Ganguli, *Deep Unsupervised Learning using Nonequilibrium Thermodynamics*, ICML 2015.
# - A. Nichol, P. Dhariwal, *Improved Denoising Diffusion Probabilistic Models*, ICML 2021 (the cosine schedule, learned variances).
# - J. Song, C. Meng, S. Ermon, *Denoising Diffusion Implicit Models*, ICLR 2021 (DDIM).
# - C. Lu, Y. Zhou, F. Bao, J. Chen, C. Li, J. Zhu, *DPM-Solver: A Fast ODE Solver for Diffusion Probabilistic Model Sampling in Around 10 Steps*, NeurIPS 2022.
# - Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole, *Score-Based Generative Modeling through Stochastic Differential Equations*, ICLR 2021.
# - Y. Song, S. Ermon, *Generative Modeling by Estimating Gradients of the Data Distribution*, NeurIPS 2019.
# - P. Vincent, *A Connection Between Score Matching and Denoising Autoencoders*, Neural Computation 2011.
# - P. Dhariwal, A. Nichol, *Diffusion Models Beat GANs on Image Synthesis*, NeurIPS 2021 (classifier guidance).
# - J. Ho, T. Salimans, *Classifier-Free Diffusion Guidance*, NeurIPS 2021 Workshop on Deep Generative Models and Downstream Applications (arXiv:2207.12598, 2022).
# - R. Rombach, A. Blattmann, D. Lorenz, P. Esser, B. Ommer, *High-Resolution Image Synthesis with Latent Diffusion Models*, CVPR 2022 (latent diffusion, Stable Diffusion).
# - L. Zhang, A. Rao, M. Agrawala, *Adding Conditional Control to Text-to-Image Diffusion Models*, ICCV 2023 (ControlNet).
# - A. Ramesh, P. Dhariwal, A. Nichol, C. Chu, M. Chen, *Hierarchical Text-Conditional Image Generation with CLIP Latents*, 2022 (DALL·E 2).
# - C. Saharia et al., *Photorealistic Text-to-Image Diffusion Models with Deep Language Understanding*, NeurIPS 2022 (Imagen).
# - Z. Xiao, K. Kreis, A. Vahdat, *Tackling the Generative Learning Trilemma with Denoising Diffusion GANs*, ICLR 2022 (the trilemma).
# - The CVPR 2022 tutorial *Denoising Diffusion-based Generative Modeling: Foundations and Applications* (K. Kreis, R. Gao, A. Vahdat), cvpr2022-tutorial-diffusion-models.github.io (seed 001's slides).
