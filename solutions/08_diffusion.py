# %% [markdown] coursekit={"id": "intro", "kind": "locked"}
# # Exercise 08 · DDPM by hand: the forward process in closed form, the ε-prediction loss, Algorithm 2's reverse step and sampler, and classifier-free guidance
#
# Goes with lecture 08 (denoising diffusion). **20 points:** 9 from public tests, 11 from hidden tests.
#
# You will write, with plain torch, the five pieces of a denoising diffusion probabilistic model (Ho, Jain and Abbeel, 2020) that carry its equations: the forward process $q(x_t \mid x_0)$ in closed form; the simplified training loss, which asks a network $\varepsilon_\theta$ for the noise that was added; one step of the reverse process, Algorithm 2's update; the whole ancestral sampler; and one step of classifier-free guidance (Ho and Salimans, 2022). The networks are given: small functions whose outputs the tests know, so nothing is trained and the whole notebook runs in a few seconds.
#
# **The schedule and the index $t$.** A schedule is a float64 tensor `betas` of length $T$: $\beta_1, \dots, \beta_T$, with
# $$\alpha_t = 1 - \beta_t, \qquad \bar\alpha_t = \prod_{s=1}^{t} \alpha_s .$$
# The steps are numbered as in Ho et al., $t = 1, \dots, T$ (with $x_0$ the data), and Python counts from 0: **position $t - 1$ of `betas` (and of any tensor of $\alpha_t$ or $\bar\alpha_t$ you compute from it) holds step $t$**. A network is called as `eps_model(x_t, t)` with `t` an int64 tensor of shape (N,), one step per example, in Ho et al.'s numbering (1..T), never the position $t - 1$.
#
# **Careful with $\alpha_t$ and $\bar\alpha_t$.** The two look alike and mean different things: $\alpha_t$ is one step's signal fraction, $\bar\alpha_t$ the product of all of them up to $t$. The forward process in closed form and the training loss use $\bar\alpha_t$; the course's seed notes write the training input as $\sqrt{\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon$, a slip for $\sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon$ (lecture 08 points it out). The reverse step's mean uses both.
#
# `coursekit.models` holds the course's own DDPM; work from the lecture's equations and read it afterwards to compare.
#
# **How this works.** Write your code only in the cells that say `YOUR CODE HERE` (the other cells are locked). After each task, run the public test cell below it: it tells you what it expected and what it got. Hidden tests, run by your instructor's grader, decide the grade — the public tests are a minimum, not a guarantee. All your code must live in the answer cells: cells you add yourself are not run by the grader. You can check your points from a terminal with `coursekit check exercises/08_diffusion.ipynb`.

# %% coursekit={"id": "setup", "kind": "locked"}
import math

import torch
import torch.nn.functional as F

from coursekit.grading.checks import check_close, check_shape, check_true

torch.set_num_threads(1)  # the problems here are small: one thread is the fastest
torch.manual_seed(0)


def linear_betas(T=1000, beta_1=1e-4, beta_T=0.02):
    """Ho et al.'s linear schedule: β_1, ..., β_T evenly spaced from beta_1 to beta_T, float64, shape (T,)."""
    return torch.linspace(beta_1, beta_T, T, dtype=torch.float64)


betas_ho = linear_betas()                                              # (1000,): position t − 1 holds β_t
alpha_bars_ho = torch.cumprod(1 - betas_ho, dim=0)                     # ᾱ_t = Π_{s ≤ t} (1 − β_s)
print(f"Ho et al.'s schedule: T = {len(betas_ho)}, β_1 = {float(betas_ho[0]):.4f}, β_T = {float(betas_ho[-1]):.4f}; "
      f"ᾱ_1 = {float(alpha_bars_ho[0]):.4f}, ᾱ_500 = {float(alpha_bars_ho[499]):.4f}, "
      f"ᾱ_T = {float(alpha_bars_ho[-1]):.2e} (x_T is nearly pure noise)")

# the small schedule of the public tests: five coarse steps, so that every step and every slip shows
betas_small = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5], dtype=torch.float64)


# %% [markdown] coursekit={"id": "task-q-sample", "kind": "locked"}
# ## Task 1 · The forward process in closed form (2 + 2 points)
#
# Each forward step adds a little Gaussian noise, $q(x_t \mid x_{t-1}) = \mathcal N\big(\sqrt{\alpha_t}\, x_{t-1},\, \beta_t I\big)$. Composed, $t$ steps are one Gaussian (Ho et al., eq. 4):
# $$q(x_t \mid x_0) = \mathcal N\big(\sqrt{\bar\alpha_t}\, x_0,\, (1 - \bar\alpha_t) I\big), \qquad\text{so}\qquad x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \varepsilon, \quad \varepsilon \sim \mathcal N(0, I).$$
#
# Write `q_sample(x0, t, eps, betas)`: `x0` is a batch (N, ...) of any trailing shape (vectors (N, D), images (N, C, H, W)); `t` an int64 tensor (N,) with values in 1..T, one step per example; `eps` the noise, the shape of `x0`; `betas` the schedule (T,), float64. Return $x_t$, the shape and the dtype of `x0` (compute $\bar\alpha_t$ in float64 from `betas`, then cast the result). Each example uses its own $\bar\alpha_{t_i}$, broadcast over its dimensions.

# %% coursekit={"id": "q-sample", "kind": "answer"}
def q_sample(x0, t, eps, betas):
    """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε (Ho et al. 2020, eq. 4), one t in 1..T per example; x0's shape and dtype."""
    ### BEGIN SOLUTION
    alphas = 1 - betas                                                 # α_t = 1 − β_t, position t − 1 holds step t
    alpha_bars = torch.cumprod(alphas, dim=0)                          # ᾱ_t = Π_{s ≤ t} α_s
    shape = (-1, *[1] * (x0.dim() - 1))                                # (N,) → (N, 1, ..., 1): one step per example
    alpha_bar_t = alpha_bars[t - 1].view(shape)
    x_t = alpha_bar_t.sqrt() * x0 + (1 - alpha_bar_t).sqrt() * eps
    return x_t.to(x0.dtype)
    ### END SOLUTION


# %% coursekit={"id": "q-sample-public", "kind": "public-test", "points": 2}
x0 = torch.tensor([[1.0, -2.0], [0.5, 3.0], [2.0, 0.0]])                # N = 3 vectors, float32
eps = torch.tensor([[0.3, 1.0], [-1.0, 0.5], [0.0, -0.7]])
for step in (1, 3, 5):                                                 # t = 1 is the first step; t = T = 5 the last
    t = torch.full((3,), step, dtype=torch.long)
    try:
        x_t = q_sample(x0, t, eps, betas_small)
    except IndexError as error:
        check_true(False, f"q_sample at t = {step} of T = 5 raised IndexError ({error}): the steps are numbered 1..T, "
                   "and position t − 1 of the schedule holds step t")
    check_shape(x_t, (3, 2), name=f"x_t at t = {step}: the shape of x0")
    check_true(x_t.dtype == torch.float32, f"x_t should have x0's dtype, float32 (the schedule is float64: cast the "
               f"result), got {x_t.dtype}")
    alpha_bar = math.prod(1 - b for b in betas_small[:step].tolist())  # ᾱ_t = (1 − β_1)···(1 − β_t)
    expected = math.sqrt(alpha_bar) * x0 + math.sqrt(1 - alpha_bar) * eps
    check_close(x_t, expected, atol=1e-6, name=f"x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε at t = {step} with β = (0.1, ..., 0.5): "
                f"ᾱ_{step} = {alpha_bar:.4f} is the product of the first {step} α's (position {step - 1} of the "
                "schedule; at t = 1, ᾱ_1 = α_1 = 0.9), and x0 is scaled by √ᾱ_t, not √α_t")
t = torch.tensor([1, 5, 3])                                            # one step per example
x_t = q_sample(x0, t, eps, betas_small)
alpha_bar = torch.cumprod(1 - betas_small, 0)[t - 1].float()[:, None]
check_close(x_t, alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * eps, atol=1e-6,
            name="x_t with t = (1, 5, 3): each example scaled by its own ᾱ_{t_i} (broadcast over its dimensions)")
print("Task 1 public test passed")

# %% coursekit={"id": "q-sample-hidden", "kind": "hidden-test", "points": 2}
g = torch.Generator().manual_seed(801)
# images in float64 against t single steps of q(x_t | x_{t−1}) with the same noise folded in: x_t is Gaussian with
# mean √ᾱ_t x_0 and variance 1 − ᾱ_t, so ε = (x_t − √ᾱ_t x_0)/√(1 − ᾱ_t) is a deterministic reference
T_h = 30
betas_h = torch.rand(T_h, generator=g, dtype=torch.float64) * 0.08 + 0.01   # an uneven schedule, β in [0.01, 0.09]
x0_h = 2 * torch.randn(6, 2, 3, 3, generator=g, dtype=torch.float64) + 1
eps_h = torch.randn(6, 2, 3, 3, generator=g, dtype=torch.float64)
t_h = torch.tensor([1, 2, 7, 15, 29, 30])
given = (x0_h.clone(), t_h.clone(), eps_h.clone(), betas_h.clone())
mean_h, var_h = [], []
for step in t_h.tolist():
    m, v = 1.0, 0.0
    for beta in betas_h[:step].tolist():                               # compose x_s = √(1 − β_s) x_{s−1} + √β_s ε_s
        m, v = m * math.sqrt(1 - beta), v * (1 - beta) + beta          # x_s = m·x_0 + (noise of variance v)
    mean_h.append(m)
    var_h.append(v)
mean_h = torch.tensor(mean_h, dtype=torch.float64).view(-1, 1, 1, 1)
var_h = torch.tensor(var_h, dtype=torch.float64).view(-1, 1, 1, 1)
x_t = q_sample(x0_h, t_h, eps_h, betas_h)
check_true(all(torch.equal(a, b) for a, b in zip((x0_h, t_h, eps_h, betas_h), given)),
           "q_sample must not change its arguments")
check_shape(x_t, (6, 2, 3, 3), name="x_t for images (6, 2, 3, 3)")
check_true(x_t.dtype == torch.float64, f"x_t for float64 images should be float64, got {x_t.dtype}")
check_close(x_t, mean_h * x0_h + var_h.sqrt() * eps_h, atol=1e-10,
            name="x_t for images, t = (1, 2, 7, 15, 29, 30) of an uneven schedule, against t single steps composed")
# Monte Carlo: x_t's mean and variance over fresh noise, vectors of 4 and Ho et al.'s 1000-step schedule
n = 20000
x0_v = torch.tensor([1.5, -0.5, 3.0, 0.0], dtype=torch.float64).expand(n, 4)
t_v = torch.full((n,), 300)
x_t = q_sample(x0_v, t_v, torch.randn(n, 4, generator=g, dtype=torch.float64), betas_ho)
abar = float(alpha_bars_ho[299])
se_mean, se_var = math.sqrt((1 - abar) / n), (1 - abar) * math.sqrt(2 / n)
check_true(bool(((x_t.mean(0) - math.sqrt(abar) * x0_v[0]).abs() < 5 * se_mean).all()),
           f"the mean of x_300 over {n} draws should be √ᾱ_300 x_0 = {(math.sqrt(abar) * x0_v[0]).tolist()}, got "
           f"{x_t.mean(0).tolist()}")
check_true(bool(((x_t.var(0) - (1 - abar)).abs() < 5 * se_var).all()),
           f"the variance of x_300 should be 1 − ᾱ_300 = {1 - abar:.4f}, got {x_t.var(0).tolist()}")


# %% [markdown] coursekit={"id": "task-loss", "kind": "locked"}
# ## Task 2 · The simplified training loss (2 + 2 points)
#
# Ho et al. train $\varepsilon_\theta$ on the simplified objective (their eq. 14 and Algorithm 1):
# $$L_{\text{simple}}(\theta) = \mathbb E_{t, x_0, \varepsilon}\Big[\big\lVert \varepsilon - \varepsilon_\theta\big(\sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \varepsilon,\; t\big)\big\rVert^2\Big], \qquad t \sim \mathcal U\{1, \dots, T\},\ \varepsilon \sim \mathcal N(0, I).$$
#
# Write `ddpm_loss(eps_model, x0, betas, generator=None)`: for a batch `x0` (N, ...), draw one $t_i$ per example, uniform on $1, \dots, T$ (both ends included), and noise $\varepsilon$ of `x0`'s shape and dtype, both with `generator` (`None`: torch's global one); form $x_t$ with your `q_sample`; call `eps_model(x_t, t)` with `t` the int64 (N,) tensor; return the mean over **every entry** (examples and dimensions) of $(\varepsilon - \varepsilon_\theta)^2$, a scalar, as `F.mse_loss` computes it (that is what Ho et al.'s code and most others minimise; the sum over dimensions would only scale it). The loss must be differentiable with respect to the network's parameters. Draw in any order you like: the tests use networks whose loss they know whatever you draw.

# %% coursekit={"id": "loss", "kind": "answer"}
def ddpm_loss(eps_model, x0, betas, generator=None):
    """L_simple: mean over every entry of (ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t))², t ~ U{1..T} per example, ε ~ N(0, I)."""
    ### BEGIN SOLUTION
    N, T = x0.shape[0], len(betas)
    t = torch.randint(1, T + 1, (N,), generator=generator)              # (N,): t ~ U{1, ..., T}, Ho et al.'s numbering
    eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)   # ε ~ N(0, I), the shape of x0
    x_t = q_sample(x0, t, eps, betas)
    return F.mse_loss(eps_model(x_t, t), eps)                          # mean over the batch and the dimensions
    ### END SOLUTION


# %% coursekit={"id": "loss-public", "kind": "public-test", "points": 2}
T_small = len(betas_small)
alpha_bars_small = torch.cumprod(1 - betas_small, 0)


def oracle(x0, offset=0.0):
    """An ε-network that knows x0: ε_θ(x_t, t) = (x_t − √ᾱ_t x_0)/√(1 − ᾱ_t) + offset, the noise that was added (plus an
    offset); it checks how it is called and records the steps it gets."""
    seen = []

    def eps_model(x_t, t):
        check_true(isinstance(t, torch.Tensor) and t.dtype == torch.long and t.shape == (x0.shape[0],),
                   f"eps_model should be called with t an int64 tensor of shape ({x0.shape[0]},), one step per "
                   f"example; got {type(t).__name__} {getattr(t, 'dtype', '')} {tuple(getattr(t, 'shape', ()))}")
        check_true(bool(((t >= 1) & (t <= T_small)).all()), f"eps_model got steps {sorted(set(t.tolist()))}: t is drawn "
                   f"from 1..T = 1..{T_small} (Ho et al.'s numbering), not 0..T − 1")
        seen.append(t.clone())
        abar = alpha_bars_small[t - 1].to(x0.dtype).view(-1, *[1] * (x0.dim() - 1))
        return (x_t - abar.sqrt() * x0) / (1 - abar).sqrt() + offset

    return eps_model, seen


x0 = torch.randn(2000, 2) + torch.tensor([2.0, -1.0])                  # N = 2000 vectors, float32
eps_model, seen = oracle(x0)
loss = ddpm_loss(eps_model, x0, betas_small)
check_shape(loss, (), name="ddpm_loss: a scalar (0-dimensional) tensor")
check_true(len(seen) == 1, f"ddpm_loss should call eps_model once, on the whole batch; it was called {len(seen)} times")
steps = seen[0]
check_true(steps.min() == 1 and steps.max() == T_small, f"over 2000 examples every step 1..{T_small} should be drawn, both "
           f"ends included (torch.randint's upper end is excluded), got the steps {sorted(set(steps.tolist()))}")
check_true(len(set(steps.tolist())) > 1, "one t per example, not one for the whole batch")
check_close(loss, torch.tensor(0.0), atol=1e-8, name="the loss of a network that returns exactly the noise that was "
            "added (so x_t must be √ᾱ_t x_0 + √(1 − ᾱ_t) ε, with the same ε the loss compares against)")
c = torch.tensor(0.5, requires_grad=True)
eps_model, _ = oracle(x0, offset=c)
loss = ddpm_loss(eps_model, x0, betas_small)
check_close(loss, torch.tensor(0.25), atol=1e-5, name="the loss of a network off by 0.5 in every entry: 0.5² = 0.25, the "
            "mean over every entry (not the sum over dimensions)")
(grad,) = torch.autograd.grad(loss, c)
check_close(grad, torch.tensor(1.0), atol=1e-5, name="∂L/∂offset = 2·0.5: the loss is differentiable w.r.t. the network")
print("Task 2 public test passed")

# %% coursekit={"id": "loss-hidden", "kind": "hidden-test", "points": 2}
g = torch.Generator().manual_seed(802)
T_h = 7
betas_h = torch.linspace(0.05, 0.35, T_h, dtype=torch.float64)
abars_h = torch.cumprod(1 - betas_h, 0)
steps_seen = []


def zero_model(x_t, t):
    """ε_θ = 0: the loss is then the mean of ε², which is 1 for standard normal noise. Records t."""
    steps_seen.append(t.clone())
    return torch.zeros_like(x_t)


# the noise is standard normal, one draw per entry: the mean of ε² over 4000·1·4·4 entries is 1 ± 5·√(2/64000)
x0_i = torch.randn(4000, 1, 4, 4, generator=g)
loss = ddpm_loss(zero_model, x0_i, betas_h)
check_shape(loss, (), name="ddpm_loss for images (4000, 1, 4, 4)")
check_true(loss.dtype == torch.float32, f"the loss for float32 images should be float32, got {loss.dtype}")
check_true(abs(float(loss) - 1) < 5 * math.sqrt(2 / 64000), f"with ε_θ = 0 the loss is the mean of ε² over 64000 "
           f"entries, 1 ± {5 * math.sqrt(2 / 64000):.3f} for standard normal noise; got {float(loss):.4f}")
# t uniform on 1..T: each of the 7 steps about 4000/7 times (5 standard deviations of a binomial count)
counts = torch.bincount(steps_seen[0], minlength=T_h + 1)
expected_count, sd = 4000 / T_h, math.sqrt(4000 * (1 / T_h) * (1 - 1 / T_h))
check_true(counts[0] == 0 and bool(((counts[1:] - expected_count).abs() < 5 * sd).all()),
           f"the steps of 4000 examples should be uniform on 1..{T_h}, about {expected_count:.0f} each; counts of "
           f"0..{T_h}: {counts.tolist()}")
# the oracle in float64, images: the loss is exactly 0 (x_t formed with ᾱ_t and the same ε)
x0_d = torch.randn(50, 2, 3, 3, generator=g, dtype=torch.float64) * 2 + 1


def oracle_d(x_t, t):
    abar = abars_h[t - 1].view(-1, 1, 1, 1)
    return (x_t - abar.sqrt() * x0_d) / (1 - abar).sqrt()


loss = ddpm_loss(oracle_d, x0_d, betas_h)
check_true(loss.dtype == torch.float64, f"the loss for float64 images should be float64 (ε drawn in x0's dtype), got "
           f"{loss.dtype}")
check_close(loss, torch.tensor(0.0, dtype=torch.float64), atol=1e-20, name="the oracle's loss for float64 images")
# the generator: the same seed gives the same draws, so the same loss
same = [ddpm_loss(zero_model, x0_d, betas_h, generator=torch.Generator().manual_seed(8020)) for _ in range(2)]
other = ddpm_loss(zero_model, x0_d, betas_h, generator=torch.Generator().manual_seed(8021))
check_true(bool(same[0] == same[1]) and bool(same[0] != other), "ddpm_loss should draw t and ε with the generator it is "
           f"given: two generators seeded alike gave {float(same[0])} and {float(same[1])}, another seed {float(other)}")


# %% [markdown] coursekit={"id": "task-step", "kind": "locked"}
# ## Task 3 · One step of the reverse process (2 + 3 points)
#
# The reverse process $p_\theta(x_{t-1} \mid x_t) = \mathcal N\big(\mu_\theta(x_t, t), \sigma_t^2 I\big)$ takes the mean of the forward posterior $q(x_{t-1} \mid x_t, x_0)$ with $x_0$ replaced by what the network's $\varepsilon_\theta$ says it was. In terms of $\varepsilon_\theta$ (Ho et al., eq. 11), and one step of Algorithm 2:
# $$\mu_\theta(x_t, t) = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{1 - \alpha_t}{\sqrt{1 - \bar\alpha_t}}\, \varepsilon_\theta(x_t, t)\Big), \qquad x_{t-1} = \mu_\theta(x_t, t) + \sigma_t z, \quad z \sim \mathcal N(0, I) \text{ if } t > 1, \text{ else } z = 0 .$$
# Note the two different alphas: $1 - \alpha_t = \beta_t$ (this step's noise) over $\sqrt{1 - \bar\alpha_t}$ (all the noise so far). Ho et al. found two choices of $\sigma_t^2$ equally good: $\sigma_t^2 = \beta_t$, and the forward posterior's variance
# $$\sigma_t^2 = \tilde\beta_t = \frac{1 - \bar\alpha_{t-1}}{1 - \bar\alpha_t}\, \beta_t, \qquad \bar\alpha_0 = 1 \text{ (so } \tilde\beta_1 = 0).$$
# At the last step, $t = 1$, no noise is added whatever the choice: $x_0 = \mu_\theta(x_1, 1)$ is the sample.
#
# Write `p_sample_step(eps_model, x_t, t, z, betas, variance="beta")`: `x_t` a batch (N, ...); `t` a Python int in 1..T, the same step for the whole batch; `z` standard normal noise of `x_t`'s shape, given so that the step is deterministic (use it, do not draw your own; ignore it at $t = 1$); `variance` `"beta"` ($\sigma_t^2 = \beta_t$) or `"beta_tilde"` ($\sigma_t^2 = \tilde\beta_t$). Call the network once, as `eps_model(x_t, t_batch)` with `t_batch` an int64 (N,) tensor holding $t$ (not $t - 1$). Return $x_{t-1}$, the shape and dtype of `x_t`.

# %% coursekit={"id": "step", "kind": "answer"}
def p_sample_step(eps_model, x_t, t, z, betas, variance="beta"):
    """x_{t−1} = (x_t − (1 − α_t)/√(1 − ᾱ_t) ε_θ(x_t, t))/√α_t + σ_t z, no noise at t = 1 (Ho et al., Algorithm 2);
    σ_t² = β_t or β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) β_t."""
    ### BEGIN SOLUTION
    alphas = 1 - betas
    alpha_bars = torch.cumprod(alphas, dim=0)                          # position t − 1 holds step t
    alpha_t, alpha_bar_t, beta_t = alphas[t - 1], alpha_bars[t - 1], betas[t - 1]
    t_batch = torch.full((x_t.shape[0],), t, dtype=torch.long)         # (N,): the same step for every example
    eps_hat = eps_model(x_t, t_batch)                                  # ε_θ(x_t, t)
    mean = (x_t - (1 - alpha_t) / (1 - alpha_bar_t).sqrt() * eps_hat) / alpha_t.sqrt()   # μ_θ(x_t, t), eq. 11
    if t == 1:
        return mean.to(x_t.dtype)                                      # the last step adds no noise
    if variance == "beta":
        sigma2 = beta_t                                                # σ_t² = β_t
    elif variance == "beta_tilde":
        alpha_bar_prev = alpha_bars[t - 2]                             # ᾱ_{t−1}, at position t − 2 (t ≥ 2 here)
        sigma2 = (1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t     # σ_t² = β̃_t
    else:
        raise ValueError(f"variance must be 'beta' or 'beta_tilde', got {variance!r}")
    return (mean + sigma2.sqrt() * z).to(x_t.dtype)
    ### END SOLUTION


# %% coursekit={"id": "step-public", "kind": "public-test", "points": 2}
def linear_eps_model(x_t, t):
    """A stand-in for a trained ε-network: ε_θ(x_t, t) = 0.5 x_t + 0.1 t. Checks how it is called."""
    check_true(isinstance(t, torch.Tensor) and t.dtype == torch.long and t.shape == (x_t.shape[0],),
               f"eps_model should be called with t an int64 tensor of shape ({x_t.shape[0]},) holding the step; got "
               f"{type(t).__name__} {getattr(t, 'dtype', '')} {tuple(getattr(t, 'shape', ()))}")
    return 0.5 * x_t + 0.1 * t.to(x_t.dtype).view(-1, *[1] * (x_t.dim() - 1))


x_t = torch.tensor([[1.0, -2.0], [0.5, 3.0], [2.0, 0.0]])               # N = 3, float32
z = torch.tensor([[0.3, 1.0], [-1.0, 0.5], [0.0, -0.7]])
b = betas_small.tolist()
abar = [math.prod(1 - v for v in b[:s]) for s in range(1, 6)]          # ᾱ_1, ..., ᾱ_5
for step in (4, 2):
    got = p_sample_step(linear_eps_model, x_t, step, z, betas_small)
    check_shape(got, (3, 2), name=f"x_{step - 1}: the shape of x_t")
    check_true(got.dtype == torch.float32, f"x_{step - 1} should have x_t's dtype, float32, got {got.dtype}")
    alpha, beta, ab = 1 - b[step - 1], b[step - 1], abar[step - 1]
    eps_hat = 0.5 * x_t + 0.1 * step                                   # what eps_model returns, called with t = step
    expected = (x_t - beta / math.sqrt(1 - ab) * eps_hat) / math.sqrt(alpha) + math.sqrt(beta) * z
    check_close(got, expected, atol=1e-5, name=f"x_{step - 1} = (x_t − (1 − α_t)/√(1 − ᾱ_t) ε_θ)/√α_t + √β_t z at "
                f"t = {step}, β = (0.1, ..., 0.5): α_{step} = {alpha}, ᾱ_{step} = {ab:.4f}, and the network called "
                f"with t = {step} (not {step - 1})")
got = p_sample_step(linear_eps_model, x_t, 1, z, betas_small)
eps_hat = 0.5 * x_t + 0.1
expected = (x_t - 0.1 / math.sqrt(0.1) * eps_hat) / math.sqrt(0.9)
check_close(got, expected, atol=1e-5, name="x_0 at t = 1: the mean μ_θ(x_1, 1) alone, no σ_1 z (Algorithm 2's z = 0 at "
            "the last step)")
got = p_sample_step(linear_eps_model, x_t, 4, z, betas_small, variance="beta_tilde")
beta_tilde = (1 - abar[2]) / (1 - abar[3]) * b[3]
eps_hat = 0.5 * x_t + 0.4
expected = (x_t - b[3] / math.sqrt(1 - abar[3]) * eps_hat) / math.sqrt(1 - b[3]) + math.sqrt(beta_tilde) * z
check_close(got, expected, atol=1e-5, name=f"x_3 with σ_4² = β̃_4 = (1 − ᾱ_3)/(1 − ᾱ_4) β_4 = {beta_tilde:.4f}")
print("Task 3 public test passed")

# %% coursekit={"id": "step-hidden", "kind": "hidden-test", "points": 3}
g = torch.Generator().manual_seed(803)
T_h = 12
betas_h = torch.rand(T_h, generator=g, dtype=torch.float64) * 0.3 + 0.02
abars_h = torch.cumprod(1 - betas_h, 0)
W = torch.randn(3, 3, generator=g, dtype=torch.float64) / 3


def mixing_model(x_t, t):
    """ε_θ mixes the 3 channels and depends on t: (N, 3, H, W) → (N, 3, H, W), float64."""
    return torch.einsum("ij,njhw->nihw", W, x_t) + torch.sin(t.to(x_t.dtype)).view(-1, 1, 1, 1)


def reference_step(x_t, t, z, variance):
    """x_{t−1} by the forward posterior q(x_{t−1} | x_t, x̂_0) with x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ)/√ᾱ_t (Ho et al., eqs.
    6-7 and 15): μ̃ = √ᾱ_{t−1} β_t/(1 − ᾱ_t) x̂_0 + √α_t (1 − ᾱ_{t−1})/(1 − ᾱ_t) x_t, which is eq. 11's μ_θ."""
    beta, ab = float(betas_h[t - 1]), float(abars_h[t - 1])
    ab_prev = float(abars_h[t - 2]) if t > 1 else 1.0
    eps_hat = mixing_model(x_t, torch.full((x_t.shape[0],), t))
    x0_hat = (x_t - math.sqrt(1 - ab) * eps_hat) / math.sqrt(ab)
    mean = math.sqrt(ab_prev) * beta / (1 - ab) * x0_hat + math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab) * x_t
    if t == 1:
        return mean
    sigma2 = beta if variance == "beta" else (1 - ab_prev) / (1 - ab) * beta
    return mean + math.sqrt(sigma2) * z


x_h = 2 * torch.randn(4, 3, 2, 2, generator=g, dtype=torch.float64)
z_h = torch.randn(4, 3, 2, 2, generator=g, dtype=torch.float64)
given = (x_h.clone(), z_h.clone())
for variance in ("beta", "beta_tilde"):
    for step in range(1, T_h + 1):
        got = p_sample_step(mixing_model, x_h, step, z_h, betas_h, variance=variance)
        check_true(got.dtype == torch.float64 and got.shape == x_h.shape,
                   f"x_{step - 1} for float64 images (4, 3, 2, 2): got {got.dtype} {tuple(got.shape)}")
        check_close(got, reference_step(x_h, step, z_h, variance), atol=1e-10,
                    name=f"x_{step - 1} at t = {step} of an uneven 12-step schedule, σ_t² = {variance}, against the "
                    "forward posterior's mean with x̂_0 from ε_θ")
check_true(torch.equal(x_h, given[0]) and torch.equal(z_h, given[1]), "p_sample_step must not change x_t or z")
# Ho et al.'s 1000-step schedule, vectors in float32, at its two ends and in the middle
x_v = torch.randn(5, 2, generator=g)
z_v = torch.randn(5, 2, generator=g)
for step in (1, 2, 500, 1000):
    abar_t = float(alpha_bars_ho[step - 1])
    beta = float(betas_ho[step - 1])
    eps_hat = linear_eps_model(x_v.double(), torch.full((5,), step)).float()
    expected = (x_v - beta / math.sqrt(1 - abar_t) * eps_hat) / math.sqrt(1 - beta) + (math.sqrt(beta) if step > 1 else 0) * z_v
    check_close(p_sample_step(linear_eps_model, x_v, step, z_v, betas_ho), expected, atol=1e-5, rtol=1e-5,
                name=f"x_{step - 1} at t = {step} of Ho et al.'s schedule (T = 1000), float32")


# %% [markdown] coursekit={"id": "task-sampler", "kind": "locked"}
# ## Task 4 · The ancestral sampler, Algorithm 2 (2 + 2 points)
#
# Algorithm 2 of Ho et al.: $x_T \sim \mathcal N(0, I)$; for $t = T, T - 1, \dots, 1$: $z \sim \mathcal N(0, I)$ if $t > 1$, else $z = 0$, and $x_{t-1} = \mu_\theta(x_t, t) + \sigma_t z$; return $x_0$.
#
# Write `ddpm_sample(eps_model, shape, betas, generator=None, variance="beta")`: draw $x_T$ of the given `shape` (N, ...) and a fresh $z$ for every step, standard normal, in float32 with `generator` (`None`: torch's global one); run your `p_sample_step` from $t = T$ down to $t = 1$, each step once; return $x_0$, float32, of the given shape. Draw in any order you like (all the noise up front, or step by step): the tests do not recompute your draws; they record what the network is given and check that the noise between the steps is standard normal, fresh at every step and absent at the last.
#
# The public test runs your sampler with the exact $\varepsilon$-predictor of a Gaussian data set, $x_0 \sim \mathcal N(\mu, \mathrm{diag}\, s^2)$, computed analytically: $q(x_t) = \mathcal N\big(\sqrt{\bar\alpha_t}\mu,\ \bar\alpha_t s^2 + 1 - \bar\alpha_t\big)$ per dimension, and the best prediction of the noise from $x_t$ is $\mathbb E[\varepsilon \mid x_t] = \sqrt{1 - \bar\alpha_t}\,\big(x_t - \sqrt{\bar\alpha_t}\,\mu\big) / \big(\bar\alpha_t s^2 + 1 - \bar\alpha_t\big)$. With Ho et al.'s 1000 steps, the samples should have the data's mean and standard deviation.

# %% coursekit={"id": "sampler", "kind": "answer"}
def ddpm_sample(eps_model, shape, betas, generator=None, variance="beta"):
    """Algorithm 2 of Ho et al.: x_T ~ N(0, I), then x_{t−1} = μ_θ(x_t, t) + σ_t z for t = T, ..., 1 (z = 0 at t = 1)."""
    ### BEGIN SOLUTION
    T = len(betas)
    x = torch.randn(shape, generator=generator)                        # x_T ~ N(0, I), float32
    for t in range(T, 0, -1):                                          # t = T, T − 1, ..., 1
        z = torch.randn(shape, generator=generator) if t > 1 else torch.zeros(shape)
        x = p_sample_step(eps_model, x, t, z, betas, variance=variance)
    return x
    ### END SOLUTION


# %% coursekit={"id": "sampler-public", "kind": "public-test", "points": 2}
mu_data = torch.tensor([2.0, -1.0], dtype=torch.float64)                # the data: N(μ, diag s²) in 2-D
s_data = torch.tensor([0.5, 1.5], dtype=torch.float64)
calls = []


def gaussian_eps_model(x_t, t):
    """The exact ε-predictor of N(μ, diag s²) data under Ho et al.'s schedule: E[ε | x_t]. Records the steps it gets."""
    check_true(isinstance(t, torch.Tensor) and t.dtype == torch.long and t.shape == (x_t.shape[0],),
               f"eps_model should be called with t an int64 tensor of shape ({x_t.shape[0]},); got "
               f"{type(t).__name__} {getattr(t, 'dtype', '')} {tuple(getattr(t, 'shape', ()))}")
    calls.append(int(t[0]))
    abar = alpha_bars_ho[t - 1][:, None]
    return ((1 - abar).sqrt() * (x_t - abar.sqrt() * mu_data) / (abar * s_data**2 + 1 - abar)).to(x_t.dtype)


n = 2000
samples = ddpm_sample(gaussian_eps_model, (n, 2), betas_ho)
check_shape(samples, (n, 2), name="ddpm_sample's result: the shape asked for")
check_true(samples.dtype == torch.float32, f"the samples should be float32, got {samples.dtype}")
check_true(calls == list(range(1000, 0, -1)), f"the network should be called once per step, at t = 1000, 999, ..., 1 "
           f"in that order; it was called {len(calls)} times, first with t = {calls[:3]}, last with t = {calls[-3:]}")
# the samples' mean and standard deviation: the data's, to 5 standard errors plus 1% for 1000 discrete steps
mean, std = samples.double().mean(0), samples.double().std(0)
check_true(bool(((mean - mu_data).abs() < 5 * s_data / math.sqrt(n) + 0.01 * s_data).all()),
           f"the samples' mean should be the data's, μ = {mu_data.tolist()}: got {[round(v, 3) for v in mean.tolist()]}")
check_true(bool(((std / s_data - 1).abs() < 5 / math.sqrt(2 * n) + 0.01).all()),
           f"the samples' standard deviation should be the data's, s = {s_data.tolist()}: got "
           f"{[round(v, 3) for v in std.tolist()]} (too large: noise added at the last step? too small: none at the "
           "others, or the wrong σ_t?)")
print("Task 4 public test passed")

# %% coursekit={"id": "sampler-hidden", "kind": "hidden-test", "points": 2}
# A recording network on 6 coarse steps: from what it is given at each step (x_t) and the sampler's result (x_0), the
# noise of each step is z_t = (x_{t−1} − μ_θ(x_t, t))/σ_t, whatever order the sampler drew it in. It must be standard
# normal and fresh at every step (each check to 5 standard errors), and there must be none at t = 1.
T_h = 6
betas_h = torch.tensor([0.15, 0.2, 0.25, 0.3, 0.35, 0.4], dtype=torch.float64)
abars_h = torch.cumprod(1 - betas_h, 0)
inputs = []


def recording_model(x_t, t):
    inputs.append((x_t.detach().clone(), t.clone()))
    return 0.4 * x_t + 0.05 * t.to(x_t.dtype).view(-1, 1)


def mu_theta(x_t, t):
    """μ_θ(x_t, t) of recording_model, in float64."""
    beta, ab = float(betas_h[t - 1]), float(abars_h[t - 1])
    eps_hat = 0.4 * x_t + 0.05 * t
    return (x_t - beta / math.sqrt(1 - ab) * eps_hat) / math.sqrt(1 - beta)


n, D = 4000, 2
for variance in ("beta", "beta_tilde"):
    inputs.clear()
    x0_out = ddpm_sample(recording_model, (n, D), betas_h, variance=variance)
    check_true(x0_out.shape == (n, D) and x0_out.dtype == torch.float32, f"samples ({n}, {D}) float32, got "
               f"{tuple(x0_out.shape)} {x0_out.dtype}")
    check_true([int(t[0]) for _, t in inputs] == list(range(T_h, 0, -1)) and all(bool((t == t[0]).all()) for _, t in inputs),
               f"the network should be called at t = 6, 5, ..., 1 once each, the same t for the batch; got "
               f"{[sorted(set(t.tolist())) for _, t in inputs]}")
    xs = [x.double() for x, _ in inputs] + [x0_out.double()]           # x_T, x_{T−1}, ..., x_1, x_0
    x_T = xs[0]
    check_true(abs(float(x_T.mean())) < 5 / math.sqrt(n * D) and abs(float(x_T.var()) - 1) < 5 * math.sqrt(2 / (n * D)),
               f"x_T should be standard normal: mean {float(x_T.mean()):.4f}, variance {float(x_T.var()):.4f}")
    check_close(xs[-1], mu_theta(xs[-2], 1), atol=1e-5, name="x_0 = μ_θ(x_1, 1): no noise at the last step (z = 0 at t = 1)")
    zs = []
    for i, t in enumerate(range(T_h, 1, -1)):                          # t = 6, ..., 2
        beta, ab = float(betas_h[t - 1]), float(abars_h[t - 1])
        sigma2 = beta if variance == "beta" else (1 - float(abars_h[t - 2])) / (1 - ab) * beta
        z = (xs[i + 1] - mu_theta(xs[i], t)) / math.sqrt(sigma2)
        zs.append(z)
        check_true(abs(float(z.mean())) < 5 / math.sqrt(n * D) and abs(float(z.var()) - 1) < 5 * math.sqrt(2 / (n * D)),
                   f"the noise added at t = {t} (σ_t² = {variance}) should be standard normal, N(0, 1) per entry: mean "
                   f"{float(z.mean()):.4f}, variance {float(z.var()):.4f}")
    previous = [x_T] + zs[:-1]
    for t, z, z_before in zip(range(T_h, 1, -1), zs, previous):
        r = float((z * z_before).mean() / (z.std() * z_before.std()))
        check_true(abs(r) < 5 / math.sqrt(n * D), f"the noise at t = {t} should be a fresh draw, independent of the one "
                   f"before it (or of x_T): correlation {r:.3f}")
    check_true(all(abs(float(torch.corrcoef(z.T)[0, 1])) < 5 / math.sqrt(n) for z in zs),
               "the noise's entries should be independent draws (not one value repeated across an example)")
# the generator: the same seed gives the same samples
same = [ddpm_sample(recording_model, (8, D), betas_h, generator=torch.Generator().manual_seed(8040)) for _ in range(2)]
check_true(torch.equal(same[0], same[1]), "ddpm_sample should draw with the generator it is given: two generators "
           "seeded alike gave different samples")


# %% [markdown] coursekit={"id": "task-guidance", "kind": "locked"}
# ## Task 5 · One step of classifier-free guidance (1 + 2 points)
#
# A class-conditional network $\varepsilon_\theta(x_t, t, y)$ trained with label dropout (the label replaced by a **null label** $\varnothing$ some of the time) is also an unconditional one, $\varepsilon_\theta(x_t, t, \varnothing)$. Classifier-free guidance (Ho and Salimans, 2022, eq. 6) samples with
# $$\tilde\varepsilon_\theta(x_t, t, y) = (1 + w)\, \varepsilon_\theta(x_t, t, y) - w\, \varepsilon_\theta(x_t, t, \varnothing),$$
# pushing away from the unconditional prediction: $w = 0$ is the plain conditional model, larger $w$ trades diversity for samples that look more like their class. **Which convention:** this is Ho and Salimans' $w$. Much public code, `diffusers` among it, writes $\tilde\varepsilon = \varepsilon_\varnothing + s\,(\varepsilon_y - \varepsilon_\varnothing)$ with a guidance scale $s = 1 + w$, so its `guidance_scale=7.5` is $w = 6.5$ here, and its $s = 1$ is the conditional model.
#
# Write `guided_eps(eps_model, x_t, t, y, w, null_label)`: `x_t` (N, ...); `t` an int64 (N,) tensor of steps; `y` an int64 (N,) tensor of labels; `w` a float; `null_label` the integer that stands for "no label". Call the network as `eps_model(x_t, t, labels)` with the labels `y` for the conditional prediction and an int64 (N,) tensor filled with `null_label` for the unconditional one (two calls, or one on the batch doubled); return $\tilde\varepsilon$, the shape of `x_t`.

# %% coursekit={"id": "guidance", "kind": "answer"}
def guided_eps(eps_model, x_t, t, y, w, null_label):
    """ε̃ = (1 + w) ε_θ(x_t, t, y) − w ε_θ(x_t, t, ∅) (Ho & Salimans 2022, eq. 6; diffusers' scale s = 1 + w)."""
    ### BEGIN SOLUTION
    eps_cond = eps_model(x_t, t, y)                                    # ε_θ(x_t, t, y)
    eps_uncond = eps_model(x_t, t, torch.full_like(y, null_label))     # ε_θ(x_t, t, ∅): the null label
    return (1 + w) * eps_cond - w * eps_uncond
    ### END SOLUTION


# %% coursekit={"id": "guidance-public", "kind": "public-test", "points": 1}
NULL = 10                                                              # labels 0..9, and 10 for "no label"
class_shift = torch.linspace(-1.0, 1.0, 11)                            # what each label adds to the prediction


def conditional_model(x_t, t, labels):
    """ε_θ(x_t, t, y) = 0.5 x_t + 0.01 t + shift[y]: the label moves the prediction. Checks how it is called."""
    check_true(isinstance(labels, torch.Tensor) and labels.dtype == torch.long and labels.shape == (x_t.shape[0],),
               f"eps_model should be given the labels as an int64 tensor of shape ({x_t.shape[0]},), the null label "
               f"{NULL} for the unconditional prediction; got {type(labels).__name__} {getattr(labels, 'dtype', '')}")
    return 0.5 * x_t + 0.01 * t.to(x_t.dtype)[:, None] + class_shift[labels][:, None]


x_t = torch.tensor([[1.0, -2.0], [0.5, 3.0], [2.0, 0.0]])
t = torch.tensor([10, 10, 10])
y = torch.tensor([3, 7, 0])
eps_y, eps_null = conditional_model(x_t, t, y), conditional_model(x_t, t, torch.full((3,), NULL))
check_close(guided_eps(conditional_model, x_t, t, y, 0.0, NULL), eps_y, atol=1e-6,
            name="ε̃ at w = 0: the conditional prediction ε_θ(x_t, t, y) (Ho and Salimans' w, not diffusers' s = 1 + w)")
got = guided_eps(conditional_model, x_t, t, y, 2.0, NULL)
check_shape(got, (3, 2), name="ε̃: the shape of x_t")
check_close(got, 3.0 * eps_y - 2.0 * eps_null, atol=1e-6,
            name="ε̃ at w = 2: (1 + w) ε_θ(x_t, t, y) − w ε_θ(x_t, t, ∅), away from the unconditional prediction")
print("Task 5 public test passed")

# %% coursekit={"id": "guidance-hidden", "kind": "hidden-test", "points": 2}
g = torch.Generator().manual_seed(805)
table = torch.randn(6, 2, 3, generator=g, dtype=torch.float64)          # 5 classes and the null label 5
labels_seen = []


def image_model(x_t, t, labels):
    """A conditional ε-network on (N, 2, 3) 'images', float64: a per-label offset and a t-dependent scale."""
    labels_seen.append(labels.clone())
    return torch.tanh(x_t) * (1 + 0.001 * t.to(x_t.dtype)).view(-1, 1, 1) + table[labels]


x_h = torch.randn(7, 2, 3, generator=g, dtype=torch.float64)
t_h = torch.randint(1, 1001, (7,), generator=g)
y_h = torch.randint(0, 5, (7,), generator=g)
given = (x_h.clone(), t_h.clone(), y_h.clone())
cond, uncond = image_model(x_h, t_h, y_h), image_model(x_h, t_h, torch.full((7,), 5))
for w in (0.5, 3.0, 7.5 - 1):
    labels_seen.clear()
    got = guided_eps(image_model, x_h, t_h, y_h, w, 5)
    check_shape(got, (7, 2, 3), name="ε̃ for (7, 2, 3) float64 inputs")
    check_close(got, (1 + w) * cond - w * uncond, atol=1e-10, name=f"ε̃ at w = {w} for (7, 2, 3) inputs, null label 5")
    given_labels = torch.cat(labels_seen)
    check_true(bool((given_labels == 5).any()) and set(given_labels.tolist()) <= set(y_h.tolist()) | {5},
               f"the network should be given the labels y and the null label 5, got {sorted(set(given_labels.tolist()))}")
check_close(guided_eps(image_model, x_h, t_h, y_h, -1.0, 5), uncond, atol=1e-10,
            name="ε̃ at w = −1: the unconditional prediction (the formula is linear in w)")
check_true(all(torch.equal(a, b) for a, b in zip((x_h, t_h, y_h), given)), "guided_eps must not change x_t, t or y")


# %% [markdown] coursekit={"id": "outro", "kind": "locked"}
# ## Before you submit
#
# Run *Kernel → Restart Kernel and Run All Cells*: every public test should print "passed". Then submit this notebook as it is (do not rename it). Questions to think about (not graded): in Task 1, with Ho et al.'s schedule, how large is $\sqrt{\bar\alpha_t}$ at $t = 500$ and at $t = T$, and what would the seed notes' $\sqrt{\alpha_t}\,x_0$ be there: what would a network trained on it have learnt to denoise? In Task 3, what are $\beta_t$ and $\tilde\beta_t$ at $t = 2$ and at $t = T$, and why do the two choices of $\sigma_t^2$ hardly differ for large $t$? In Task 4, how much variance would noise at the last step add to the samples with Ho et al.'s schedule, and with `betas_small`? In Task 5, what is diffusers' `guidance_scale` for $w = 2$, and what does $w = -1$ give?
