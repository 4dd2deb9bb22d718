# %% [markdown]
# # 07 · Generative adversarial networks
#
# **Learning objectives.** After this lecture you can
# 1. write the **minimax game** $V(G, D)$, derive the optimal discriminator $D^* = p_d/(p_d + p_m)$ and $V(G, D^*) = -\log 4 + 2\,\mathrm{JS}(p_d \,\|\, p_m)$, and check both numerically against a discriminator trained for $k$ steps;
# 2. say why the **saturating** generator loss $\log(1 - D(G(z)))$ stalls a young generator and the **non-saturating** $-\log D(G(z))$ does not (its gradient, plotted);
# 3. make a GAN **collapse** onto a few modes of a mixture reproducibly, and compare what fixes it — other losses with their own learning rates (non-saturating, **least-squares**, **Wasserstein with gradient penalty**) and, at the collapsing configuration's own loss and rates, the **unrolled** GAN (in which the *generator* looks ahead at the discriminator's next steps) — by how many modes they cover;
# 4. build a **DCGAN** by its architecture rules, train it on the digits and read its **Fréchet distance** against its scale (real data, independent pixels, noise);
# 5. walk a GAN's latent space — **interpolation**, **vector arithmetic**, a latent-walk slider — sample a **conditional GAN** per class, and **invert** a generator to find $z$ with $G(z) \approx x$;
# 6. explain **cycle consistency** (CycleGAN) on a toy domain pair, and why **likelihood is not sample quality**, with two models that make the point.
#
# **Time:** about 75 minutes of reading; the notebook runs top to bottom in about a minute and a half on a 2-core CPU the first time (81.1 s measured cold on a quiet machine, as `benchmarks/notebook_times.py` times every lecture; the two DCGANs train in 28 s of that, 14.1 s and 13.9 s as printed, the ring's five GANs in about 24 s, `RING_DEFAULTS`' notes), in seconds afterwards (the trained models are cached on disk).
# **Before you start:** lecture 00 (the KL and JS divergences, mode-covering and mode-seeking fits), 00b (the Fréchet distance and its references), 02 (a latent space and its interpolations).

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults run the lecture in about a minute and a half on a 2-core CPU (the Time line above gives the measured seconds).
SEED = 0             # every random number below follows from it
DEVICE = "auto"      # "auto" = CUDA, then Apple MPS, then CPU
DATA = "digits"      # "digits" (8×8, 17 grey levels, ships with the course) or "mnist" (28×28, 256 levels)     GPU: "mnist"
MNIST_ROOT = None    # for DATA = "mnist": the folder with the four IDX files (coursekit.data.mnist.download fetches them)
D_STEPS = (1, 10, 100, 1000)   # discriminator steps against a frozen generator (section 2)
RING_STEPS = None    # trainer steps of every GAN on the ring (None: each its own, RING_DEFAULTS)
UNROLL = None        # discriminator steps the unrolled generator looks ahead (None: RING_DEFAULTS'; 0 skips it)
DCGAN_STEPS = None   # discriminator steps of the DCGAN, one generator step each (None: DIGITS_TRAINING's)  GPU: 10000
CONDITIONAL_STEPS = None # the same for the class-conditional DCGAN (None: DIGITS_TRAINING's; 0 skips it)  GPU: 10000
WIDTH = 32           # DCGAN's base channels                                                             GPU: 64
INVERT_STEPS = 300   # Adam steps of GAN inversion per start
RESTARTS = 3         # random starts per inverted digit (the best kept)                                  GPU: 20
CYCLE_STEPS = 500    # steps of each CycleGAN on the toy domain pair (0 skips it)                        GPU: 3000
FRECHET_N = 400      # images per set for the Fréchet distance (00b: only numbers at one n compare)          GPU: 2000
CACHE_DIR = None     # trained models are kept here (None: $COURSEKIT_CACHE, else ~/.cache/coursekit)
RETRAIN = False      # True: train the models again even if cached ones exist
# GPU: DATA = "mnist" trains both DCGANs on 28×28 MNIST (28 is divisible by 4, as DCGAN's two stride-2 steps need;
# tests/test_gan.py builds a 28×28 DCGAN, trains it one step and samples it) and scores them with the MNIST
# classifier's features; no MNIST run of this lecture has been measured yet (the course's CPU machine has no GPU for it).

# %%
import math

import torch
from IPython.display import Markdown, display

from coursekit import data, evaluation, resolve_device, seed_everything, viz
from coursekit.divergences import js_divergence_on_grid
from coursekit.evaluation.gan_ring import ring_experiment
from coursekit.models.cyclegan import CycleGAN2D, CYCLE_TRAINING, unpaired_loader
from coursekit.models.gan import (DIGITS_TRAINING, GAN, RING_DEFAULTS, MLPDiscriminator, dcgan_digits,
                                  discriminator_loss, generator_loss, invert, value_function)
from coursekit.models.memoriser import Memoriser, NoisyMixture
from coursekit.training import train_cached
from coursekit.utils import seeded_generator

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
if device.type == "cpu":
    torch.set_num_threads(1)   # these networks are small: one thread is faster than two that fight for a busy CPU
splits = data.load(DATA, **({"root": MNIST_ROOT} if DATA in ("mnist", "fashion_mnist") else {}))
K, SHAPE, D = splits.train.levels, tuple(splits.train.x.shape[1:]), splits.train.dims
loaders = data.loaders(splits, batch_size=DIGITS_TRAINING["batch_size"], seed=SEED)
clf = evaluation.classifier(splits, kind=DATA, device=device)   # the course's small digit classifier (cached): Fréchet features, labels
print(f"torch {torch.__version__} on {device}; {DATA}: {[len(s) for s in splits]} images of shape {SHAPE}, "
      f"K = {K} levels; the classifier's test accuracy {clf.test_accuracy:.3f}")

# %% [markdown]
# ## 1. The game
#
# Every model so far wrote down a density — exactly (lectures 04-06) or as a bound (02) — and maximised the likelihood of the data. A **generative adversarial network** (Goodfellow et al., 2014) gives that up and keeps only a sampler: a **generator** $G$ maps noise $z \sim p_z = \mathcal N(0, I)$ to data space, $\hat x = G(z)$, and its samples have some density $p_m$ that is never written down. What trains it is a second network, the **discriminator** $D(x) \in [0, 1]$, the probability that $x$ is real rather than generated. The two play one game over the **value**
# $$\min_G \max_D V(G, D) = \mathbb E_{x \sim p_d} \log D(x) + \mathbb E_{z \sim p_z} \log\big(1 - D(G(z))\big).$$
# $D$ wants $D(x) \to 1$ on real data and $D(G(z)) \to 0$ on fakes; $G$ wants its fakes called real. For $D$ this is a binary cross-entropy: real is class 1, fake class 0. The course's networks output a **logit** $\ell$, $D = \sigma(\ell)$, and the losses are written from $\ell$ with $\log\sigma(\ell) = -\operatorname{softplus}(-\ell)$ and $\log(1 - \sigma(\ell)) = -\operatorname{softplus}(\ell)$, which never take the log of a rounded-off 0 (`coursekit.models.gan.discriminator_loss`, `generator_loss`, `value_function`).
#
# **Training** alternates (Algorithm 1 of the paper, seed 001's slides): $k$ steps of gradient *ascent* on $V$ for $D$, each on a fresh minibatch of real data and of noise, then one step for $G$. "Some find $k = 1$ more stable, others use $k > 1$, no best rule" (seed 001). The course's trainer runs it as the model's own `training_step`: one discriminator step per trainer step, a generator step after every $k$-th (`GANConfig.k`), two Adam optimisers. The cell checks on random logits that the discriminator's loss is exactly $-V$, and shows what the logit form saves where $D$ is sure.

# %%
torch.manual_seed(SEED)
real_logits, fake_logits = 3 * torch.randn(6), 3 * torch.randn(6)
V = value_function(real_logits, fake_logits)
by_hand = torch.log(torch.sigmoid(real_logits)).mean() + torch.log(1 - torch.sigmoid(fake_logits)).mean()
print(f"V(G, D) from logits {V.item():.6f}, from D = σ(ℓ) by hand {by_hand.item():.6f}; "
      f"the discriminator's loss {discriminator_loss(real_logits, fake_logits, 'minimax').item():.6f} = −V")
huge = torch.tensor([40.0])                       # D is sure this sample is real: σ(40) rounds to 1 in float32
print(f"at ℓ = 40: log(1 − σ(ℓ)) by hand {torch.log(1 - torch.sigmoid(huge)).item()}, "
      f"from the logit −softplus(ℓ) = {-torch.nn.functional.softplus(huge).item():.1f}")

# %% [markdown]
# ## 2. The optimal discriminator, and what the game minimises
#
# For a fixed $G$, $V$ is an integral over $x$ of $p_d(x) \log D(x) + p_m(x) \log(1 - D(x))$. Pointwise, $a \log y + b \log(1 - y)$ is largest at $y = a/(a + b)$, so the best discriminator is
# $$D^*(x) = \frac{p_d(x)}{p_d(x) + p_m(x)} \qquad (\text{`data.toy2d.optimal\_discriminator`}),$$
# ½ where the two densities are equal, near 1 where only the data has mass. Putting it back,
# $$V(G, D^*) = \mathbb E_{p_d} \log \frac{p_d}{p_d + p_m} + \mathbb E_{p_m} \log \frac{p_m}{p_d + p_m} = -\log 4 + \mathrm{KL}\Big(p_d \,\Big\|\, \tfrac{p_d + p_m}{2}\Big) + \mathrm{KL}\Big(p_m \,\Big\|\, \tfrac{p_d + p_m}{2}\Big) = -\log 4 + 2\,\mathrm{JS}(p_d \,\|\, p_m),$$
# minimal, $-\log 4$, exactly when $p_m = p_d$ (seed 000). Seed 000's convergence argument goes one step further: if $D$ reached $D^*$ after every step and the generator updated $p_m$ itself, $V(p_m, D^*)$ is convex in $p_m$, so small enough steps take $p_m$ to $p_d$ (Goodfellow et al., 2014, Proposition 2). Neither holds in practice: $D$ gets a few steps, not its optimum, and $G$ moves its weights, not $p_m$. With a discriminator at its optimum, the generator minimises the **Jensen–Shannon divergence**, lecture 00's symmetric divergence, not the forward KL of maximum likelihood.
#
# The cell makes it concrete on the lecture's 1-D data, $p_d = \tfrac12 \mathcal N(-2, 0.5^2) + \tfrac12 \mathcal N(2, 0.5^2)$ (`data.toy2d.gan_mixture_1d`). The "generator" is frozen and known in closed form — it got the left mode right and put 30% of its mass in a wide bump in the wrong place — so $D^*$ and JS are exact. A discriminator (the package's `MLPDiscriminator`, 2 × 32 units) then takes the inner loop of Algorithm 1, $k$ steps on fresh minibatches of 256 real and 256 fake points, and is drawn after each of `D_STEPS`.

# %%
p_d = data.toy2d.gan_mixture_1d()                                                        # ½ N(−2, ½²) + ½ N(2, ½²)
p_m = data.toy2d.gan_mixture_1d(means=(-2.0, 0.5), stds=(0.5, 1.0), weights=(0.7, 0.3))    # the frozen generator
x_1d = torch.linspace(-5, 5, 2001, dtype=torch.float64)
log_p_d, log_p_m = p_d.log_prob(x_1d), p_m.log_prob(x_1d)
d_star = data.toy2d.optimal_discriminator(log_p_d, log_p_m)


def value_on_grid(d_of_x):
    """V(G, D) = ∫ p_d log D + p_m log(1 − D) dx by the trapezoid rule on the grid x_1d."""
    integrand = log_p_d.exp() * torch.log(d_of_x) + log_p_m.exp() * torch.log1p(-d_of_x)
    return torch.trapezoid(integrand, x_1d).item()


js = js_divergence_on_grid(p_d.log_prob, p_m.log_prob, x_1d).item()
print(f"V(G, D*) = {value_on_grid(d_star):.4f};  −log 4 + 2·JS = {-math.log(4):.4f} + 2 × {js:.4f} = "
      f"{-math.log(4) + 2 * js:.4f}")

torch.manual_seed(SEED)
disc = MLPDiscriminator(data_dim=1, hidden=32)
opt_d = torch.optim.Adam(disc.parameters(), lr=5e-3)
g_1d = seeded_generator(SEED)
half_sum = 0.5 * (log_p_d.exp() + log_p_m.exp())                # ½(p_d + p_m): where the points D sees come from
fitted = {}
for step in range(1, max(D_STEPS) + 1):                          # Algorithm 1's inner loop, G frozen
    real = p_d.sample(256, generator=g_1d).float()[:, None]      # (256, 1)
    fake = p_m.sample(256, generator=g_1d).float()[:, None]
    loss_d = discriminator_loss(disc(real), disc(fake), "minimax")   # = −V on the minibatch
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    if step in D_STEPS:
        with torch.no_grad():
            fitted[f"D after k = {step}"] = torch.sigmoid(disc(x_1d.float()[:, None])).double()
        gap = torch.trapezoid(half_sum * (fitted[f"D after k = {step}"] - d_star).abs(), x_1d).item()
        print(f"k = {step:4d}: V(G, D) = {value_on_grid(fitted[f'D after k = {step}']):.4f}, "
              f"mean |D − D*| over ½(p_d + p_m) = {gap:.3f}")
d_star_at = {m: d_star[(x_1d - m).abs().argmin()].item() for m in (-2.0, 2.0)}   # D* at the two data modes
viz.show(viz.discriminator_1d_figure(x_1d, {"p_d (data)": log_p_d.exp(), "p_m (generator)": log_p_m.exp()},
                                     {"D* = p_d/(p_d + p_m)": d_star, **fitted}),
         alt="Left: the data density, two equal bumps at −2 and 2, and the generator's density, a tall bump at −2 and "
             f"a low wide one near 0.5. Right: the optimal discriminator D* as a thick black line, about "
             f"{d_star_at[-2.0]:.2f} on the left mode, near 0 around 0 where only the generator has mass, about "
             f"{d_star_at[2.0]:.2f} on the right mode, which the generator misses, and falling to 0 again beyond 4, where "
             "the generator's wide bump outlasts the data's; the discriminators trained for 1, 10, 100 and 1000 steps, "
             "dashed and dotted lines in colour, approach it between the modes but not in the tails.")

# %% [markdown]
# Measured with the default parameters: $V(G, D^*) = -1.0879$ by quadrature, and $-\log 4 + 2\,\mathrm{JS} = -1.3863 + 2 \times 0.1492 = -1.0879$ (JS is at most $\log 2 = 0.693$ nats). The trained discriminator climbs towards it: $V(G, D)$ = −1.3309, −1.2181, −1.1087 and −1.0947 after $k$ = 1, 10, 100 and 1000 steps — each *below* $V(G, D^*)$, as it must be, since $D^*$ maximises $V$ — and its mean distance to $D^*$, averaged over the points it is trained on ($\tfrac12(p_d + p_m)$), falls from 0.152 to 0.028; the largest gaps are left in the tails, where few samples fall. What the check bounds: the algebra (quadrature agrees to 4 decimals) and that a small network, given enough steps, finds $D^*$ *here*, in one dimension with plenty of samples. What it does not: in a real GAN $D$ gets $k$ steps (often one) per generator step, so it is never at $D^*$ and the generator never minimises exactly JS.
#
# Two lessons for training. (1) The generator's gradient is only as good as the discriminator it is taken against: with $k = 1$ the discriminator is far from $D^*$ (the first curve). (2) A *perfect* discriminator is no better: where $p_m$ and $p_d$ do not overlap, $D^* \in \{0, 1\}$, JS is stuck at $\log 2$ whatever small step $G$ takes, and against a near-perfect discriminator (its logit very negative on the fakes) the minimax generator loss's gradient vanishes (next section); the non-saturating one keeps a signal, though Arjovsky & Bottou (2017) show it becomes noisy. (With an exact $D^* \in \{0, 1\}$, $\nabla_x D^* = 0$ and no loss has a gradient.)
#
# ## 3. Saturating and non-saturating generator losses
#
# Early in training the generator is bad and the discriminator rejects its samples easily: $D(G(z)) \approx 0$. The generator's minimax loss $\log(1 - D(G(z)))$ is flat there — with $D = \sigma(\ell)$, its derivative with respect to the logit is $-\sigma(\ell) = -D(G(z)) \to 0$: it **saturates**, and gradients are largest where the samples are already good (seed 001's slide). The **non-saturating** loss $-\log D(G(z))$ has the same fixed point (both push $D(G(z))$ up) but derivative $-(1 - D(G(z))) \to -1$ where the fakes are rejected: the strongest signal where it is most needed. The cell computes both losses and their gradients by autograd from the package's `generator_loss`, over a range of logits.

# %%
logits = torch.linspace(-7, 7, 281, requires_grad=True)
d_fake = torch.sigmoid(logits).detach()
losses, gradients = {}, {}
for kind, label in (("minimax", "saturating: log(1 − D(G(z)))"), ("non_saturating", "non-saturating: −log D(G(z))")):
    per_sample = torch.stack([generator_loss(l[None], kind) for l in logits])   # one loss per logit, (281,)
    (grad,) = torch.autograd.grad(per_sample.sum(), logits)                      # ∂ loss / ∂ℓ for each
    losses[label], gradients[label] = per_sample.detach(), grad
for D_value in (0.001, 0.01, 0.5):
    i = int((d_fake - D_value).abs().argmin())
    print(f"D(G(z)) = {d_fake[i]:.3f}: |∂/∂ℓ| saturating {gradients['saturating: log(1 − D(G(z)))'][i].abs():.4f}, "
          f"non-saturating {gradients['non-saturating: −log D(G(z))'][i].abs():.4f}")
viz.show(viz.generator_gradients_figure(d_fake, losses, gradients),
         alt="Left: the two generator losses against D(G(z)) from 0 to 1, both falling, the saturating one flat near 0 "
             "and steep near 1, the non-saturating one steep near 0. Right, on a log scale: the size of their "
             "gradient with respect to the logit, the saturating one equal to D(G(z)), falling towards zero at the "
             "left where a young generator's samples are, the non-saturating one equal to 1 − D(G(z)), near 1 there.")

# %% [markdown]
# Measured with the default parameters: at $D(G(z)) = 0.001$ the saturating loss's gradient is 0.0010, the non-saturating one's 0.9990 — a thousand times stronger; they meet at $D = 0.5$ (0.5000 each). The non-saturating loss is the one almost everyone uses (seed 001: "gradient ascent on the generator, different objective"); it is no longer a zero-sum game: against $D^*$ the non-saturating generator's expected gradient is the gradient of $\mathrm{KL}(p_m \,\|\, p_d) - 2\,\mathrm{JS}(p_d \,\|\, p_m)$ (Arjovsky & Bottou, 2017), not of JS — the mode-seeking KL of lecture 00, one reason it drops modes — though $p_m = p_d$ is still its optimum.
#
# **Least squares** (LSGAN, Mao et al. 2017, seed 001's assignment loss) replaces the cross-entropy by squared errors on the raw output $\ell$: $\min_D \tfrac12 \mathbb E_{p_d}(\ell(x) - 1)^2 + \tfrac12 \mathbb E_{p_z} \ell(G(z))^2$ and $\min_G \tfrac12 \mathbb E_{p_z} (\ell(G(z)) - 1)^2$: a fake far on the "fake" side is penalised quadratically, so its gradient *grows* with the distance instead of vanishing. **Wasserstein** (WGAN, Arjovsky et al. 2017; WGAN-GP, Gulrajani et al. 2017) drops the probability altogether: a **critic** $f$ with unbounded scores estimates the earth-mover distance $W(p_d, p_m) = \sup_{\lVert f\rVert_L \le 1} \mathbb E_{p_d} f - \mathbb E_{p_m} f$, and the generator minimises $-\mathbb E f(G(z))$. The Lipschitz constraint is what makes it a distance; the **gradient penalty** $\lambda\,\mathbb E_{\hat x}(\lVert\nabla_{\hat x} f(\hat x)\rVert_2 - 1)^2$ at random points $\hat x$ between real and fake ones enforces it softly (`gradient_penalty`, with `create_graph=True` so the penalty trains the critic). Unlike JS, $W$ keeps shrinking as $p_m$ moves towards $p_d$ even when they do not overlap: "gradients don't vanish" (seed 000).
#
# ## 4. Mode collapse on a ring of eight Gaussians
#
# The generator is rewarded for samples the *current* discriminator calls real, not for covering the data. If it finds one region $D$ likes, it can send every $z$ there; $D$ then learns to reject that region, $G$ jumps to another, and so on — **mode collapse**: "G only produces one sample or one class of samples" (seed 000). The standard test is eight Gaussians (σ = 0.1) on a circle of radius 2 (`data.toy2d.EightGaussians`). `evaluation.mode_coverage` counts a sample as good if it lies within 3σ of a mode and a mode as **hit** if it holds at least a tenth of its fair share of the samples.
#
# Every run below uses the same small networks — an MLP generator from a 2-D $z$ and an MLP discriminator, 2 × 64 units each (`RING_NETWORK`) — the same 10,000 training points and the same seed; each loss gets the learning rates and steps it needs (`RING_DEFAULTS`, shared with `benchmarks/gan_quality.py`, which repeats every run over three seeds), printed in the table. The first is **pinned to collapse**: the saturating minimax loss with a discriminator that learns ten times more slowly than its generator. The last keeps its loss and learning rates and adds the remedy of the next paragraph.

# %%
RING_RUNS = {   # RING_DEFAULTS' settings (shared with benchmarks/gan_quality.py) → the name in the table
    "vanilla (collapses)": "minimax, D 10× slower than G: pinned to collapse",
    "non_saturating": "non-saturating",
    "least_squares": "least squares (LSGAN)",
    "wasserstein": "WGAN-GP",
    "unrolled": "the pinned collapse, its generator unrolled",
}
ring = data.toy2d.EightGaussians()
ring_settings = {label: dict(RING_DEFAULTS[key], **({"unroll": UNROLL} if key == "unrolled" and UNROLL else {}))
                 for key, label in RING_RUNS.items() if key != "unrolled" or UNROLL != 0}
ring_results = {label: ring_experiment(**dict(settings, **({"steps": RING_STEPS} if RING_STEPS else {})), seed=SEED,
                                       cached=True, cache_dir=CACHE_DIR, retrain=RETRAIN)   # trains, or loads
                for label, settings in ring_settings.items()}
rows = [f"| {name} | {', '.join(f'{k} {v}' for k, v in ring_settings[name].items())} | {r['coverage']['modes_hit']} "
        f"of 8 | {r['coverage']['fraction_near_a_mode']:.0%} |" for name, r in ring_results.items()]
display(Markdown(f"| GAN on the ring (seed {SEED}) | settings | modes hit | samples within 3σ of a mode |\n"
                 "|---|---|---|---|\n" + "\n".join(rows)))
viz.show(viz.ring_samples_figure({name: r["samples"] for name, r in ring_results.items()}, ring.modes, ring.std,
                                 {name: r["coverage"] for name, r in ring_results.items()},
                                 data=ring.sample(1000, generator=seeded_generator(SEED))),
         alt=f"One row of {len(ring_results)} scatter panels, one per GAN on the ring, each with the eight modes as "
             "crosses and dashed 3σ circles, the data in grey behind, and the modes hit and the share of samples near a "
             "mode in its title: "
             + "; ".join(f"{name}: {r['coverage']['modes_hit']} of 8 modes, "
                         f"{r['coverage']['fraction_near_a_mode']:.0%} near a mode"
                         for name, r in ring_results.items()) + ".")

# %% [markdown]
# Measured with the default parameters (seed 0): the pinned configuration **collapses**: all its samples lie in one streak on one side of the ring that passes a single mode (1 of 8 hit), with 9% of them within 3σ of it and a quarter outside the picture. Trained longer it can settle on its mode: with 2 000 steps it covered 1 mode with 99.9% of its samples near it (`RING_DEFAULTS`' notes) — every sample a good sample, of one mode only: fidelity without diversity, which the share of samples near a mode alone would never reveal, so the table needs both columns. A reading of the picture, not a measurement: with the discriminator ten times slower than the generator, the generator can find one region the discriminator still likes and move everything there before the discriminator catches up. The non-saturating loss covers 8 of 8 modes (67% of samples near one), least squares 8 of 8 (61%), WGAN-GP 8 of 8 (87%), and the pinned configuration's loss and learning rates with the **unrolled** generator, looking 3 discriminator steps ahead, 8 of 8 (72%) in the same 750 steps. Among these four the share near a mode is what differs: a generator maps the connected $z$-plane, so its samples form bridges between neighbouring modes, and these thin out with training. The table is a comparison at the lecture's time budget, not of the losses at equal effort: WGAN-GP ran 3 500 critic steps (1 750 generator steps) where the others ran 750, and with 2 000 steps the non-saturating loss reached 93% and least squares 79% (`RING_DEFAULTS`' notes). Nor is the table a test of the losses alone: the non-saturating, least-squares and WGAN-GP rows change the learning rates as well as the loss (both networks at the same rate, where the pinned discriminator is ten times slower). At the pinned rates the non-saturating loss collapses too: trained for 2 000 steps it covered 2, 1 and 1 modes at seeds 0, 1, 2 (`RING_DEFAULTS`' notes). Only the unrolled row keeps the pinned loss and rates and changes one thing. What this bounds: what these settings do at this seed, one run each. At seeds 1 and 2 the pinned configuration covered 2 and 0 modes, while the other four covered 7 or 8 at every seed (WGAN-GP 8 and 8, with 88% and 82% of samples near a mode; `RING_DEFAULTS`' notes). GAN training is sensitive to the seed and to the settings, and the settings are tuned per loss. WGAN-GP's penalty weight is λ = 0.1 here, as in Gulrajani et al.'s own toy-data code (`gan_toy.py`: `LAMBDA = .1`, "smaller lambda seems to help for toy tasks specifically"). With the paper's image settings λ = 10 and k = 5 (and lr $10^{-3}$, batches of 128 or 256) the critic and generator oscillated on this ring and covered 0 to 3 modes in 5 000 steps (`RING_DEFAULTS`' notes). `benchmarks/gan_quality.py` repeats every row over three seeds, by default at twice the lecture's steps (`--ring-factor 2`; `--ring-factor 1` repeats the lecture's runs; `--ring-steps 2000` the 2 000-step runs quoted above from `RING_DEFAULTS`' notes, all but the non-saturating loss at the pinned rates, which is no row of it). Nor is it a ranking of the losses in general: at other settings they order differently (exercise (b) changes the pinned one).
#
# **The unrolled GAN, the right way round.** Seed 000 writes the remedy as "unrolling — use $k$ previous $D$ for each $G$ update". That is backwards: an unrolled GAN (Metz et al., 2017) looks **ahead**, not back. For the generator's update it simulates $K$ *future* steps of the discriminator on the current batch ($K$ = `GANConfig.unroll`; $j$ counts them, since $k$ is already the discriminator's steps per generator step),
# $$\theta_D^{0} = \theta_D, \qquad \theta_D^{j+1} = \theta_D^{j} + \eta\, \nabla_{\theta_D} V\big(\theta_G, \theta_D^{j}\big), \qquad j = 0, \dots, K-1,$$
# and takes the generator's loss against the discriminator it would face *after* them, $V(\theta_G, \theta_D^{K}(\theta_G))$, differentiating **through** the $K$ steps (`create_graph=True`): the term $\partial V/\partial\theta_D^{K} \cdot d\theta_D^{K}/d\theta_G$ tells the generator how the discriminator will react to its move. A generator that piles onto one mode now sees that the discriminator would punish that mode within $K$ steps, so the move no longer pays. The discriminator's own update is the ordinary one, and the simulated steps are thrown away (`GAN.generator_objective`, `GANConfig.unroll`). Looking back is a different idea: historical averaging (Salimans et al., 2016) penalises each player's distance from the mean of its own past parameters. Unrolling costs $K$ extra forward and backward passes through $D$ per generator step, and a second-order backward through them. **Minibatch features** are the other remedy the syllabus names: the discriminator sees a statistic of the whole batch — here its standard deviation (`minibatch_std=True`, Karras et al. 2018's simplification of Salimans et al.'s minibatch discrimination) — and a collapsed batch, all alike, gives itself away. On the pinned collapse it is no reliable cure: trained for 2 000 steps it covered 0, 0 and 8 modes at seeds 0, 1, 2 (`RING_DEFAULTS`' notes; the row "vanilla + minibatch std" of `benchmarks/gan_quality.py --parts ring --ring-steps 2000`).
#
# The two players' losses (moving averages over 25 steps) say little about progress: each is measured against an opponent that keeps changing, and neither falls steadily the way a likelihood does (WGAN's critic is the argued exception: $-$`d_loss` estimates $W$, Arjovsky et al. 2017; here its penalised estimate sits near 0). The cell prints each loss's mean over its last 100 logged values.

# %%
for name, r in ring_results.items():
    ends = {key: torch.tensor(r["history"].logged(key)[1][-100:]).mean().item() for key in ("d_loss", "g_loss")}
    print(f"{name}: mean over its last 100 logged values, d_loss {ends['d_loss']:.3f}, g_loss {ends['g_loss']:.3f}")
viz.show(viz.adversarial_curves_figure({name: r["history"] for name, r in ring_results.items()}),
         alt=f"One row of {len(ring_results)} small panels, one per GAN on the ring: the discriminator's loss d_loss "
             "(solid) and the generator's loss g_loss (dashed) against the training step, smoothed over 25 steps with "
             "the raw values faint behind, one legend below; they oscillate and level off rather than fall steadily, "
             "and WGAN-GP's critic loss stays near 0 while its generator's loss rises and falls.")

# %% [markdown]
# Measured with the default parameters, over each run's last 100 logged values: WGAN-GP's critic loss averages −0.021, so its penalised estimate of $W$ is 0.021, near 0, while its generator's loss, 12.043, has no fixed zero (adding a constant to $f$ changes it and nothing else). The minimax and non-saturating discriminators sit at 1.382 (the pinned collapse), 1.288 and 1.370 (unrolled), near $2\log 2 = 1.386$, what a discriminator that says ½ everywhere scores — the collapsed run included: its losses look no worse than the others'.
#
# ## 5. DCGAN on the digits
#
# Radford et al. (2016) found convolutional GANs hard to train until they fixed a handful of **architecture rules** (seed 001's slide, seed 000):
# - no pooling: **strided convolutions** in the discriminator, **fractionally-strided** (transposed) ones in the generator, so each network learns its own down- and up-sampling;
# - **batch norm** in both (not on the discriminator's input layer, nor on the generator's output layer);
# - **no fully connected hidden layers** (only the projection of $z$ at the generator's input);
# - **ReLU** in the generator, **Tanh** at its output (images in $[-1, 1]$); **LeakyReLU** in the discriminator.
#
# `dcgan_digits()` builds them for 8×8 digits (and, with `DATA = "mnist"`, for 28×28 MNIST): the 17 grey levels are mapped to $[-1, 1]$ inside the model and samples mapped back. The printout is the two networks; training is `DIGITS_TRAINING`'s discriminator steps (the benchmark's), each followed by one generator step ($k = 1$), non-saturating loss, Adam at DCGAN's $2 \times 10^{-4}$ and $\beta_1 = 0.5$.

# %%
torch.manual_seed(SEED)
dcgan = GAN(dcgan_digits(shape=SHAPE, levels=K, width=WIDTH)).to(device)
print(dcgan.generator, "\n", dcgan.discriminator, sep="")
dc_history = train_cached(dcgan, loaders["train"], steps=DCGAN_STEPS or DIGITS_TRAINING["steps"], lr=DIGITS_TRAINING["lr"],
                          seed=SEED, device=device, cache_dir=CACHE_DIR, retrain=RETRAIN, name=f"dcgan-{DATA}",
                          progress=False, report=True)
dcgan.eval()
dc_samples = dcgan.sample(FRECHET_N, generator=seeded_generator(SEED)).cpu()
viz.show(viz.image_grid(dc_samples[:64], nrow=16, levels=K),
         alt=f"64 DCGAN samples, four rows of sixteen {SHAPE[1]}×{SHAPE[2]} digits: many are readable digits of several "
             "classes, some blurred or broken strokes.")

# %% [markdown]
# **Is it any good?** A GAN has no likelihood to report. Lecture 00b's **Fréchet distance** fits a Gaussian to the small classifier's penultimate features of `FRECHET_N` = 400 samples and of 400 test digits and measures the distance between the two Gaussians. It means nothing alone; `evaluation.frechet_reference` gives its scale at the same $n$: real training digits against the test digits (the best a model can hope for at this $n$), samples of the independent-pixel floor model, and uniform noise.

# %%
scale = evaluation.frechet_reference(splits, clf, n=FRECHET_N, seed=SEED)
fd_dcgan = evaluation.frechet_distance(dc_samples, splits.test, clf, n=FRECHET_N, seed=SEED).value
print(f"Fréchet distance to the test digits, n = {FRECHET_N}: DCGAN {fd_dcgan:.1f}; real training digits "
      f"{scale['real'].value:.1f}, the independent-pixel floor {scale['floor'].value:.1f}, noise {scale['noise'].value:.1f}")
viz.show(viz.frechet_scale_figure({"DCGAN samples": fd_dcgan},
                                  {"real training digits": scale["real"].value,
                                   "independent pixels (floor model)": scale["floor"].value,
                                   "uniform noise": scale["noise"].value}),
         alt=f"Horizontal bars of Fréchet distance from 0: the DCGAN's samples {fd_dcgan:.1f}, beside the hatched "
             f"references, real training digits {scale['real'].value:.1f}, independent pixels "
             f"{scale['floor'].value:.1f} and noise {scale['noise'].value:.1f}.")

# %% [markdown]
# Measured with the default parameters (seed 0): the DCGAN's 400 samples are at 16.6 — much nearer the real digits (7.1) than the independent-pixel floor (112.4) or noise (179.6) — after 750 discriminator and 750 generator steps (`DIGITS_TRAINING`). `benchmarks/gan_quality.py` (seeds 0, 1, 2, the same settings) measured 16.6, 18.7 and 27.2: read a single run's number as one draw from a spread of about ten units.
#
# What the number measures, and what it does not. It compares the **first two moments** of 400 samples' features in a network trained to tell digits apart: it sees what that classifier needs — strokes, shapes, the mix of classes — and is blind to what it ignores (a faint speckle, a shifted pixel). It mixes **fidelity** and **diversity** into one number: a generator that draws one perfect 3 scores badly. It is biased upwards at small $n$, which is why real digits score about 7, not 0, and why only numbers at the same $n$ compare. It cannot tell a new digit from a **copied** training digit (section 10 builds a model that scores near real data, 11.9 against 7.1, by memorising). And it is not the FID of the papers: published MNIST FIDs — Lucic et al. (2018) report about 6.8 for the non-saturating GAN and 20.3 for WGAN-GP — use Inception features of 28×28 images; they are context, not comparable with these numbers.
#
# ## 6. The latent space: interpolation, vector arithmetic, and a walk
#
# DCGAN's second result was that its latent space is organised: straight lines between two codes give gradual changes, and differences of codes carry meaning ("man with glasses − man + woman = woman with glasses", seed 001, from averages of three codes each). The cell draws 2,000 codes $z$, asks the classifier how likely each sample $G(z)$ is to be each digit, and keeps for every class the 40 codes whose samples look most like it.

# %%
z_pool = dcgan.noise(2000, generator=seeded_generator(SEED + 2))
with torch.no_grad():
    probabilities = clf.logits(dcgan.sample(2000, z=z_pool)).softmax(1)        # (2000, 10): p(class | G(z))
pool_class = probabilities.argmax(1)
top = probabilities.topk(40, dim=0).indices                                  # (40, 10): the best 40 codes per class
by_class = {c: z_pool[top[:, c]] for c in range(10)}                         # (40, latent_dim) each
print("the classifier's mean probability of its class over the 40 codes kept per class:",
      {c: round(probabilities[top[:, c], c].mean().item(), 2) for c in range(10)})
pairs = [(1, 7), (3, 8), (0, 6)]
ts = torch.linspace(0, 1, 9)
rows = {}
for a, b in pairs:
    z_a, z_b = by_class[a][0], by_class[b][0]                           # the codes most like an a and a b
    path = torch.stack([(1 - t) * z_a + t * z_b for t in ts])             # (9, latent_dim): the straight line
    rows[f"from a {a} to a {b}"] = dcgan.sample(len(path), z=path).cpu()
viz.show(viz.image_rows_figure(rows, titles={label: [f"t={t:.2f}" for t in ts] for label in rows}, levels=K),
         alt="Three rows of nine digits, the generator's images along straight lines in z: a 1 turning into a 7, a 3 "
             "into an 8 and a 0 into a 6, changing gradually, most intermediate images digit-like.")

# %% [markdown]
# **Vector arithmetic.** Take the mean of 20 codes of 1s and of 20 codes of 7s; their difference $\bar z_7 - \bar z_1$ is a direction. Added to 20 *other* codes of 1s, does it make 7s? The classifier counts how often, beside the share of 7s among random samples (the base rate).

# %%
a, b = 1, 7
direction_ab = by_class[b][:20].mean(0) - by_class[a][:20].mean(0)          # z̄_7 − z̄_1 from 20 codes each
ones = by_class[a][20:]                                                      # 20 other codes of 1s
with torch.no_grad():
    before, moved = dcgan.sample(len(ones), z=ones).cpu(), dcgan.sample(len(ones), z=ones + direction_ab).cpu()
share_b, share_before = (clf.predict(moved) == b).float().mean().item(), (clf.predict(before) == b).float().mean().item()
print(f"G(z + z̄_7 − z̄_1) for 20 codes of 1s not used in the means: {share_b:.0%} classified as a {b} "
      f"({share_before:.0%} before the move); {b}s among all 2000 random samples: {(pool_class == b).float().mean():.0%}; "
      f"the move's length ‖z̄_7 − z̄_1‖ = {direction_ab.norm():.2f}")
viz.show(viz.image_rows_figure({f"G(z), codes of {a}s": before[:12], f"G(z + z̄_{b} − z̄_{a})": moved[:12]}, levels=K),
         alt=f"Two rows of twelve digits: generated 1s above, and below the images of the same codes moved by the "
             f"difference of the class means ({share_b:.0%} of 20 such images classified as 7s).")

# %% [markdown]
# Measured with the default parameters: 45% of the 20 moved codes come out as 7s (none did before the move), where 8% of random samples are 7s. The direction carries part of what makes a 7 a 7 in this generator, not all of it: it is one mean difference in 32 dimensions, estimated from 20 codes per class, and the other moved codes stay 1s or become something else (the picture shows which). Radford et al. saw the same with faces: single codes gave unstable results, averages of three were needed.
#
# **The latent walk.** The slider moves eight codes together along one unit direction, $z + t\,u$, and the row shows $G(z + t\,u)$; the dropdown picks $u$: the vector-arithmetic direction $\bar z_7 - \bar z_1$, a random direction, or the line from a 3's code to an 8's. At $t = 0$ the row is the eight samples themselves; along $\bar z_7 - \bar z_1$, $t = \lVert \bar z_7 - \bar z_1\rVert = 3.32$ (printed above) is the vector-arithmetic move itself. Far out ($\lvert t\rvert$ beyond a few units, where a Gaussian's codes rarely are) the images degrade: the generator was never trained there.

# %%
z_walk = dcgan.noise(8, generator=seeded_generator(SEED + 3))
directions = {"z̄(7) − z̄(1)": direction_ab,
              "a random direction": torch.randn(dcgan.config.latent_dim, generator=seeded_generator(SEED + 4)).to(device),
              "from a 3's code to an 8's": by_class[8][0] - by_class[3][0]}
walk = viz.latent_walk_slider(lambda z: dcgan.sample(len(z), z=z), z_walk, directions, limit=6.0, levels=K)
walk

# %% [markdown]
# ## 7. A conditional GAN
#
# Give both players the label: $G(z, y)$ and $D(x, y)$ (Mirza & Osindero, 2014). Here $G$ reads $[z, \text{one-hot}(y)]$ and $D$ gets the one-hot label as ten constant image channels. The discriminator now rejects a good 3 offered as a 7, so the generator must obey the label. The grid samples one row per class $y = 0, \dots, 9$; the classifier reads 400 samples (40 of each class) and counts how often it agrees with the requested label.

# %%
if CONDITIONAL_STEPS != 0:
    torch.manual_seed(SEED)
    cgan = GAN(dcgan_digits(conditional=True, shape=SHAPE, levels=K, width=WIDTH)).to(device)
    train_cached(cgan, loaders["train"], steps=CONDITIONAL_STEPS or DIGITS_TRAINING["steps"], lr=DIGITS_TRAINING["lr"],
                 seed=SEED, device=device, cache_dir=CACHE_DIR, retrain=RETRAIN, name=f"dcgan-{DATA}-conditional",
                 progress=False, report=True)
    cgan.eval()
    requested = torch.arange(10).repeat_interleave(FRECHET_N // 10).to(device)      # 0 × 40, 1 × 40, …
    c_samples = cgan.sample(len(requested), labels=requested, generator=seeded_generator(SEED))
    accuracy = evaluation.conditional_accuracy(c_samples, requested, clf)
    fd_cgan = evaluation.frechet_distance(c_samples.cpu(), splits.test, clf, n=FRECHET_N, seed=SEED).value
    print(f"the classifier labels {accuracy:.1%} of {len(requested)} samples as the requested digit (its own test "
          f"accuracy {clf.test_accuracy:.1%}; ignoring the label would get 10%); Fréchet distance {fd_cgan:.1f}")
    grid = c_samples.view(10, -1, *SHAPE)[:, :10].reshape(-1, *SHAPE).cpu()        # the first 10 of each class
    viz.show(viz.image_grid(grid, nrow=10, levels=K),
             alt=f"Ten rows of ten samples of the conditional DCGAN, one row per requested class from 0 at the top to 9 "
                 f"at the bottom; the classifier agrees with the requested class for {accuracy:.0%} of such samples.")

# %% [markdown]
# Measured with the default parameters (seed 0): after `DIGITS_TRAINING`'s 750 steps, the classifier labels 90.8% of the 400 samples as the digit that was asked for (90.4% ± 1.3 over seeds 0–2 in `benchmarks/gan_quality.py`, of 1 000 samples each) — against 98.4% on real test digits (what a generator as good as the data would get; one drawing only easy digits could score higher) and 10% for a generator that ignored its label — and the samples' Fréchet distance is 17.3 (40 per class, so the class mix is the test set's, roughly). What the accuracy bounds: whether the sample is recognisably the requested class to *this* classifier; not whether the samples of a class are diverse (one perfect 3 repeated would score 100%), which the Fréchet distance and the picture have to tell.
#
# ## 8. GAN inversion
#
# A GAN has no encoder: for a given image $x$ there is no $q(z \mid x)$. **Inversion** finds one by optimisation (seed 000): $z^* = \arg\min_z \lVert G(z) - x\rVert^2$, by Adam on $z$ from several random starts, the best kept (`invert`). With $z^*$ one can edit a real image in latent space, or fill in a missing part. The cell inverts the first test digit of each class; the same ten digits rolled two pixels to the right (`torch.roll`: the columns pushed off the right edge come back on the left); their negatives ($16 - x$: dark strokes on a light background, where the digits are light on dark); and, as a control, ten of the GAN's own samples, made from known codes $z$. They are rounded to 17 levels, so even the true $z$ leaves an error (its median is printed first); what the inversion misses beyond that is the optimiser's, and what it misses beyond the optimiser's share on the other targets is the generator's range.

# %%
first_of = [int((splits.test.y == c).nonzero()[0]) for c in range(10)]
x_real = splits.test.x[first_of].to(device)                             # (10, 1, 8, 8): one test digit per class
z_own = dcgan.noise(10, generator=seeded_generator(SEED + 5))                # known codes
own = dcgan.sample(10, z=z_own)                                                # G(z_own), rounded to K levels
with torch.no_grad():
    own_floor = (dcgan.generate(z_own) - dcgan.to_network(own)).flatten(1).pow(2).sum(1)   # the true z's error, (10,)
print(f"the GAN's own samples from their true codes: ‖G(z) − x‖² median {own_floor.median():.2f} "
      f"(from {own_floor.min():.2f} to {own_floor.max():.2f}), the rounding to {K} levels alone")
targets = {"test digits x": x_real,
           "rolled 2 pixels right": torch.roll(x_real, shifts=2, dims=-1),   # pixels leaving at the right wrap round
           f"negatives {K - 1} − x": (K - 1) - x_real,
           "the GAN's own samples": own}
z_star, x_hat, err = invert(dcgan, torch.cat(list(targets.values())), steps=INVERT_STEPS, restarts=RESTARTS,
                            generator=seeded_generator(SEED))                 # all 40 at once: (40, ...) each
rows, titles = {}, {}
for i, (name, x) in enumerate(targets.items()):
    part = slice(10 * i, 10 * i + 10)
    inverted = f"their G(z*), titled ‖G(z*) − x‖² ({name})"
    rows[name], rows[inverted], titles[inverted] = x.cpu(), x_hat[part].cpu(), [f"{e:.1f}" for e in err[part].tolist()]
    print(f"{name:24s} ‖G(z*) − x‖² median {err[part].median():6.2f} (from {err[part].min():.2f} to {err[part].max():.2f})")
kept = (clf.predict(x_hat[:10]) == splits.test.y[first_of].to(device)).float().mean().item()
m_test, m_shifted, m_negative, m_own = (err[10 * i:10 * i + 10].median().item() for i in range(4))
print(f"(on the networks' [−1, 1] scale, summed over {D} pixels: the test digits' median is a root-mean-square error "
      f"of √({m_test:.2f}/{D}) = {math.sqrt(m_test / D):.3f} per pixel, one grey level being {2 / (K - 1):.3f}.) "
      f"G(z*) of the test digits keeps their class for {kept:.0%} of them, by the classifier")
viz.show(viz.image_rows_figure(rows, titles=titles, levels=K),
         alt=f"Eight rows of ten digits in pairs, each row of targets above its inversions G(z*) titled with the "
             f"squared error: the test digits, inverted as close copies (median error {m_test:.1f}); "
             f"the same digits rolled right, inverted as blurred compromises (median "
             f"{m_shifted:.1f}); their negatives, dark on a light background, inverted as "
             f"light-on-dark patterns (median {m_negative:.1f}); and ten of the GAN's own samples, "
             f"inverted almost exactly (median {m_own:.1f}).")

# %% [markdown]
# Measured with the default parameters: the test digits are inverted almost exactly — median squared error 0.37 (from 0.19 to 1.10), a root-mean-square error of $\sqrt{0.37/64} = 0.076$ per pixel on the $[-1, 1]$ scale, under one grey level (0.125) — against 0.09 for the GAN's own samples, whose true codes leave 0.06 from the rounding alone: the optimiser's residual is the difference, about 0.03; all ten inversions keep their digit's class. Rolled two pixels, the median error is 17.85: the generator, trained on centred digits, has no code for an off-centre one and returns blurred compromises. The negatives, 92.53: nothing in its range is dark on light, and $G(z^*)$ is a light-on-dark pattern that matches a few pixels. Inversion finds a close point of the range (3 restarts of 300 Adam steps); it fails exactly where the range ends, which is also a test of what a GAN has learned: 1,000 training digits, centred, light strokes on a dark background.
#
# ## 9. Cycle consistency: CycleGAN on a toy pair
#
# **Image translation** learns a map from one domain to another — sketches to photos, maps to aerial views. **pix2pix** (Isola et al., 2017) has *pairs* $(x, y)$: a generator $G: X \to Y$, a discriminator that judges the pair $(x, G(x))$ against $(x, y)$, plus an $L_1$ loss $\lVert G(x) - y\rVert_1$ (seed 000). **CycleGAN** (Zhu et al., 2017) has no pairs, only a set of each: two translators $F: X \to Y$ and $G: Y \to X$ (seed 000's names), each with its own adversarial loss, plus a **cycle-consistency** loss $\mathbb E_x \lVert G(F(x)) - x\rVert_1 + \mathbb E_y \lVert F(G(y)) - y\rVert_1$: translating there and back must return the input. Without it, the adversarial losses only ask that $F(X)$ *look like* $Y$ as a set; any map that does — however it scrambles which $x$ goes where — is as good.
#
# The toy pair (`coursekit.models.cyclegan`): $X$ is the ring of eight Gaussians, $Y$ the same ring rotated by 22.5°, so $Y$'s modes sit between $X$'s. Two `CycleGAN2D`s train on unpaired batches, one with the cycle loss (λ = 5) and one without (λ = 0). The arrows show, for 40 points $x$, the translation $x \to F(x)$ (solid) and the way back $F(x) \to G(F(x))$ (dashed).

# %%
if CYCLE_STEPS:
    cycle_runs = {}
    for label, weight in (("with the cycle loss (λ = 5)", 5.0), ("without it (λ = 0)", 0.0)):
        torch.manual_seed(SEED)
        cyclegan = CycleGAN2D(cycle_weight=weight)
        train_cached(cyclegan, unpaired_loader(cyclegan.config, seed=SEED), steps=CYCLE_STEPS, lr=CYCLE_TRAINING["lr"],
                     seed=SEED, device="cpu", cache_dir=CACHE_DIR, retrain=RETRAIN,
                     name=f"cyclegan2d-cycle-{weight:g}", progress=False)
        cyclegan.eval()
        with torch.no_grad():
            run = cyclegan.translations(1000, generator=seeded_generator(SEED))
        domain_x, domain_y = cyclegan.config.domains()
        translated_cover = evaluation.mode_coverage(run["translated"], domain_y.means.float(), cyclegan.config.std)
        cycle_runs[label] = run
        home = torch.cdist(run["x"], domain_x.means.float()).argmin(1)                   # x's own mode of X
        back = torch.cdist(run["reconstructed"], domain_x.means.float()).argmin(1)       # where G(F(x)) lands
        print(f"{label}: mean ‖G(F(x)) − x‖₁ = {(run['reconstructed'] - run['x']).abs().sum(1).mean():.3f}; "
              f"G(F(x)) on x's own mode for {(home == back).float().mean():.0%} of points; F(x) covers "
              f"{translated_cover['modes_hit']} of Y's 8 modes, {translated_cover['fraction_near_a_mode']:.0%} of its "
              f"points within 3σ of one")
    viz.show(viz.cycle_arrows_figure(cycle_runs, domain_x=domain_x.sample(1000, generator=seeded_generator(SEED)),
                                     domain_y=domain_y.sample(1000, generator=seeded_generator(SEED + 1))),
             alt="Two panels, with and without the cycle loss, one legend below them: domain X (grey) and domain Y "
                 "(light), and for 40 points an arrow to their translation F(x) and a dashed arrow back to G(F(x)). "
                 "With the cycle loss F reflects the ring at this seed, its arrows running across the disc from one "
                 "side to the other, and the dashed arrows return to their starting points; without it the arrows "
                 "cross the disc in all directions and the dashed ones land on other modes.")

# %% [markdown]
# Measured with the default parameters (seed 0): with the cycle loss the round trip returns within 0.077 on average (L1; the modes' σ is 0.1) and every point comes back to its own mode; without it the round trip is off by 3.362 and only 28% of the points come back to their own mode (chance: 12.5%, one mode in eight). Both translators $F$ map $X$ onto $Y$ equally well — all 8 of $Y$'s modes covered, 98% of the translated points within 3σ of one — so the adversarial loss is satisfied either way: only the cycle makes $G$ undo $F$. The cycle does not choose *which* map: rotations by 22.5° + k·45° and reflections of the ring all match the domains and can be undone (`CycleGAN2D`'s docstring: the benchmark's seeds found both). Over seeds 0, 1, 2, `benchmarks/gan_quality.py` measured round trips of 0.069 with the cycle loss and 3.909 without, 100% against 9% back on their own mode.
#
# ## 10. Why likelihood is not sample quality
#
# Seed 000: "We can have high likelihood with poor quality by mixing in noise and not losing much likelihood; or low likelihood with good quality by remembering input data and having sharp peaks there." Both models are built here with exact likelihoods on the digits (`coursekit.models.memoriser`):
# - **NoisyMixture**: $p(x) = w\,p_{\text{model}}(x) + (1 - w)\,p_{\text{noise}}(x)$ with $w = 0.01$ and uniform noise. Since $\log p(x) \ge \log w + \log p_{\text{model}}(x)$, its bits/dim are at most $\log_2(1/w)/D = \log_2 100 / 64 = 0.104$ worse than the model's — and 99% of its samples are noise. The model here is the independent-pixel floor (lecture 00b).
# - **Memoriser**: the training set, each image with probability $(1 - \varepsilon)/N$, plus $\varepsilon = 10^{-3}$ of the floor model so that an unseen image has $p(x) > 0$. Its samples are training digits — as good as data — while a test digit, which it never saw, costs $-\log_2 \varepsilon / D = 0.156$ bits/dim more than the floor itself.

# %%
floor = evaluation.floor_model(splits.train)
noisy = NoisyMixture(floor, weight=0.01)
memoriser = Memoriser(shape=SHAPE, levels=K, epsilon=1e-3).fit(splits.train.x)
table = []
for name, model in (("independent pixels (floor)", floor), ("floor diluted: 1% floor + 99% noise", noisy),
                    ("memoriser: the training set + 0.1% floor", memoriser)):
    bits = evaluation.bits_per_dim(-model.log_prob(splits.test.x).mean().item(), D)
    samples = model.sample(FRECHET_N, generator=seeded_generator(SEED))
    fd = evaluation.frechet_distance(samples, splits.test, clf, n=FRECHET_N, seed=SEED).value
    table.append((name, f"{bits:.3f}", f"{fd:.1f}"))
table.append(("DCGAN (section 5)", "— (no likelihood)", f"{fd_dcgan:.1f}"))
table.append(("real training digits", "—", f"{scale['real'].value:.1f}"))
display(Markdown(f"| model | test bits/dim (lower is better) | Fréchet distance, n = {FRECHET_N} (lower is better) |\n"
                 "|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in table)))
copies = memoriser.memorised_count(memoriser.sample(FRECHET_N, generator=seeded_generator(SEED)))
dc_copies = (torch.cdist(dc_samples.flatten(1).float(), splits.train.x.flatten(1).float()).min(1).values == 0)
print(f"memoriser samples that are copies of a training digit: {(copies > 0).float().mean():.0%}; "
      f"DCGAN samples that are: {dc_copies.float().mean():.0%}")

# %% [markdown]
# Measured with the default parameters: diluting the floor model with 99% noise costs 2.502 − 2.398 = 0.104 bits/dim, exactly the bound, while its samples become noise (Fréchet distance 177.9; noise itself 179.6). The memoriser's samples are training digits — 100% of them copies — and score 11.9, near the real digits' 7.1 and better than the DCGAN's 16.6, while its test likelihood, 2.553 bits/dim, is the worst in the table. Likelihood ranks the noisy model above the memoriser, the Fréchet distance the other way round: they measure different things (Theis et al., 2016, make the point in general). Neither catches the copying; the nearest-neighbour check in the last line does, which is why GAN papers (seed 001's slides) show each sample beside its nearest training image. None of the DCGAN's samples is an exact copy (near-copies would need a distance threshold). With a stronger base model the first example sharpens: `benchmarks/gan_quality.py` diluted lecture 04a's FVSBN (2.088 bits/dim) the same way and measured 2.192 bits/dim — better than the floor — with a Fréchet distance of 178.2 (means over seeds 0, 1, 2).
#
# ## 11. Beyond this lecture
#
# - **Progressive and style-based GANs.** Hierarchical training generates a low-resolution image first and grows the networks to higher resolutions during training (ProGAN, Karras et al. 2018). **StyleGAN** (Karras et al., 2019) maps $z$ through fully connected layers to an intermediate latent space $\mathcal W$, sets the scale and mean of each layer's normalisation from $w$ (adaptive instance normalisation), and adds noise at each layer for fine detail (seed 000). Its $\mathcal W$ space is where most inversion and editing is done.
# - **Inversion at scale.** If the generator outputs an image *and* its segmentation mask, inverting any image gives its mask too — even for images outside the training distribution (seed 000; e.g. Zhang et al., DatasetGAN, 2021).
# - **3-D GANs** (seed 000, 5.1): a **3-D GAN** generates voxels instead of pixels (Wu et al., 2016); **Platonic-GAN** learns 3-D shapes from 2-D images only, rendering its 3-D output differentiably back to 2-D for the discriminator; **HoloGAN** pairs a 3-D feature volume with a 2-D super-resolution GAN; **GRAF** generates radiance fields, more efficient than voxels; **GIRAFFE** composes radiance fields and upsamples with 2-D convolutions; **EG3D** takes three 2-D feature planes from a StyleGAN backbone and projects each 3-D point onto these tri-planes.
# - **Image translation** (seed 000, 5.2): pix2pix (paired) and CycleGAN (unpaired, section 9); **BicycleGAN** (Zhu et al., 2017) adds a noise input so one sketch maps to many images; **vid2vid** (Wang et al., 2018) translates videos. VQGAN (Esser et al., 2021; seed 001) adds a GAN loss to a VQ-VAE's reconstruction (lecture 04d) for sharper decoded images.
#
# ## Summary
#
# - The game: $\min_G \max_D \mathbb E_{p_d}\log D + \mathbb E_{p_z}\log(1 - D(G(z)))$; $D^* = p_d/(p_d + p_m)$ and $V(G, D^*) = -\log 4 + 2\,\mathrm{JS}$, checked by quadrature; a trained discriminator approaches $D^*$ only with many steps.
# - The saturating generator loss has gradient $D(G(z))$, which vanishes where a young generator's samples are; the non-saturating $-\log D(G(z))$ has $1 - D(G(z))$. LSGAN and WGAN-GP change the loss so that gradients do not vanish.
# - Mode collapse, made reproducible: a minimax GAN whose discriminator learns ten times more slowly than its generator covers 1 of 8 modes of the ring (its samples one streak past that mode, 9% within 3σ of it); non-saturating, least-squares and WGAN-GP GANs with their own learning rates cover all 8 (67%, 61% and 87% of samples near a mode) — the rates matter as much as the loss: at the pinned rates the non-saturating loss collapses too — and the unrolled generator fixes the pinned collapse at its own loss and rates in the same 750 steps (8 of 8, 72%).
# - The unrolled GAN lets the **generator** look $K$ discriminator steps ahead and differentiates through them — not "previous discriminators", as seed 000 writes.
# - DCGAN on the digits: Fréchet distance 16.6 at $n$ = 400 (16.6, 18.7 and 27.2 over seeds 0–2, `benchmarks/gan_quality.py`), read between real digits (7.1) and independent pixels (112.4); a latent space where lines and mean differences mean something; a conditional DCGAN whose samples are the requested digit 91% of the time (90.4% ± 1.3 over seeds 0–2, `benchmarks/gan_quality.py`); inversion that recovers test digits and fails where the generator's range ends.
# - Likelihood and sample quality are different measurements: a 99%-noise model beats a memoriser in bits/dim, and the memoriser beats every model here in Fréchet distance.
#
# **Exercises.** The graded exercise `exercises/07_gans.ipynb` writes the discriminator's and both generator losses from logits (numerically stable), the gradient penalty, and $D^*$ with the JS divergence on the 1-D mixture. Try also: (a) in section 2, give the discriminator `D_STEPS = (1, 3, 10)` only: how far is $V(G, D)$ from $V(G, D^*)$, and what does the generator then minimise? (b) The pinned collapse has a slow discriminator. Give it the generator's learning rate, `ring_experiment(**dict(RING_DEFAULTS["vanilla (collapses)"], lr_d=5e-3), seed=SEED)`, or keep it slow and give it $k = 5$ steps per generator step (`k=5`), or keep everything and change only the loss (`loss="non_saturating"`): which of the three fixes the collapse, and at what cost? (c) Invert a test digit with `RESTARTS = 1` and `20`: how much of the error is the optimiser's? (d) The memoriser of section 10 scores near real digits in Fréchet distance: which measurement in that section exposes it, and what would it cost to run on a GAN trained on a million images?
#
# **References.**
# - I. Goodfellow, J. Pouget-Abadie, M. Mirza, B. Xu, D. Warde-Farley, S. Ozair, A. Courville, Y. Bengio, *Generative Adversarial Nets*, NeurIPS 2014.
# - A. Radford, L. Metz, S. Chintala, *Unsupervised Representation Learning with Deep Convolutional Generative Adversarial Networks*, ICLR 2016 (DCGAN).
# - X. Mao, Q. Li, H. Xie, R. Y. K. Lau, Z. Wang, S. P. Smolley, *Least Squares Generative Adversarial Networks*, ICCV 2017.
# - M. Arjovsky, L. Bottou, *Towards Principled Methods for Training Generative Adversarial Networks*, ICLR 2017.
# - M. Arjovsky, S. Chintala, L. Bottou, *Wasserstein Generative Adversarial Networks*, ICML 2017.
# - I. Gulrajani, F. Ahmed, M. Arjovsky, V. Dumoulin, A. Courville, *Improved Training of Wasserstein GANs*, NeurIPS 2017 (WGAN-GP).
# - L. Metz, B. Poole, D. Pfau, J. Sohl-Dickstein, *Unrolled Generative Adversarial Networks*, ICLR 2017.
# - T. Salimans, I. Goodfellow, W. Zaremba, V. Cheung, A. Radford, X. Chen, *Improved Techniques for Training GANs*, NeurIPS 2016 (minibatch discrimination, historical averaging).
# - I. Gulrajani et al.'s toy-data code, `gan_toy.py` in github.com/igul222/improved_wgan_training (LAMBDA = .1).
# - T. Karras, T. Aila, S. Laine, J. Lehtinen, *Progressive Growing of GANs for Improved Quality, Stability, and Variation*, ICLR 2018 (minibatch standard deviation).
# - T. Karras, S. Laine, T. Aila, *A Style-Based Generator Architecture for Generative Adversarial Networks*, CVPR 2019.
# - M. Mirza, S. Osindero, *Conditional Generative Adversarial Nets*, 2014.
# - P. Isola, J.-Y. Zhu, T. Zhou, A. A. Efros, *Image-to-Image Translation with Conditional Adversarial Networks*, CVPR 2017 (pix2pix).
# - J.-Y. Zhu, T. Park, P. Isola, A. A. Efros, *Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks*, ICCV 2017 (CycleGAN).
# - J.-Y. Zhu, R. Zhang, D. Pathak, T. Darrell, A. A. Efros, O. Wang, E. Shechtman, *Toward Multimodal Image-to-Image Translation*, NeurIPS 2017 (BicycleGAN).
# - T.-C. Wang, M.-Y. Liu, J.-Y. Zhu, G. Liu, A. Tao, J. Kautz, B. Catanzaro, *Video-to-Video Synthesis*, NeurIPS 2018 (vid2vid).
# - P. Esser, R. Rombach, B. Ommer, *Taming Transformers for High-Resolution Image Synthesis*, CVPR 2021 (VQGAN).
# - M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter, *GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium*, NeurIPS 2017 (FID).
# - M. Lucic, K. Kurach, M. Michalski, S. Gelly, O. Bousquet, *Are GANs Created Equal? A Large-Scale Study*, NeurIPS 2018 — the MNIST FIDs quoted for context.
# - L. Theis, A. van den Oord, M. Bethge, *A Note on the Evaluation of Generative Models*, ICLR 2016 — likelihood and sample quality.
# - J. Wu, C. Zhang, T. Xue, W. T. Freeman, J. B. Tenenbaum, *Learning a Probabilistic Latent Space of Object Shapes via 3D Generative-Adversarial Modeling*, NeurIPS 2016; P. Henzler, N. Mitra, T. Ritschel, *Escaping Plato's Cave: 3D Shape from Adversarial Rendering*, ICCV 2019 (Platonic-GAN); T. Nguyen-Phuoc et al., *HoloGAN*, ICCV 2019; K. Schwarz et al., *GRAF*, NeurIPS 2020; M. Niemeyer, A. Geiger, *GIRAFFE*, CVPR 2021; E. R. Chan et al., *Efficient Geometry-aware 3D Generative Adversarial Networks* (EG3D), CVPR 2022.
# - Y. Zhang et al., *DatasetGAN: Efficient Labeled Data Factory with Minimal Human Effort*, CVPR 2021.
