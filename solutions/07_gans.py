# %% [markdown] coursekit={"id": "intro", "kind": "locked"}
# # Exercise 07 · The GAN losses from logits, WGAN-GP's gradient penalty, and the optimal discriminator with the Jensen–Shannon divergence
#
# Goes with lecture 07 (generative adversarial networks). **20 points:** 9 from public tests, 11 from hidden tests.
#
# You will write, with plain torch, the pieces a GAN's training step is made of: the discriminator's loss and the generator's two losses (the saturating minimax one and the non-saturating one) from the discriminator's logits, numerically stable, with their gradients; the gradient penalty of the Wasserstein GAN (WGAN-GP), on points between the real and the generated ones, in a form the critic can be trained through; and, on the lecture's 1-D mixture, the optimal discriminator $D^* = p_d / (p_d + p_m)$ and the Jensen–Shannon divergence that the minimax value measures, $V(G, D^*) = -\log 4 + 2\,\mathrm{JS}(p_d \,\|\, p_m)$. Nothing is trained: the whole notebook runs in a few seconds.
#
# Throughout, the discriminator returns a **logit** $\ell$ per example and $D(x) = \sigma(\ell) = 1 / (1 + e^{-\ell})$ is its probability that $x$ is real. A trained discriminator's logits reach tens or hundreds in magnitude, where $\sigma(\ell)$ rounds to exactly 0 or 1 and $\log \sigma(\ell)$ to $-\infty$: so compute every log-probability from the logit, never from the probability.
#
# `coursekit.models` holds the course's own GANs; work from the lecture's equations and read them afterwards to compare.
#
# **How this works.** Write your code only in the cells that say `YOUR CODE HERE` (the other cells are locked). After each task, run the public test cell below it: it tells you what it expected and what it got. Hidden tests, run by your instructor's grader, decide the grade — the public tests are a minimum, not a guarantee. All your code must live in the answer cells: cells you add yourself are not run by the grader. You can check your points from a terminal with `coursekit check exercises/07_gans.ipynb`.

# %% coursekit={"id": "setup", "kind": "locked"}
import math

import torch
import torch.nn.functional as F

from coursekit import data
from coursekit.grading.checks import check_close, check_shape, check_true

torch.set_num_threads(1)  # the problems here are small: one thread is the fastest
torch.manual_seed(0)

# Task 3's densities on a grid: the lecture's data, ½ N(−2, 0.5²) + ½ N(2, 0.5²), and two generators' densities, one
# spread over both modes and one collapsed onto the right-hand mode (mode collapse)
p_d = data.toy2d.gan_mixture_1d()
x_grid = torch.linspace(-8.0, 8.0, 4001, dtype=torch.float64)      # (4001,), spacing 0.004
log_p_d = p_d.log_prob(x_grid)                                       # (4001,): log p_d(x)
log_p_spread = torch.distributions.Normal(0.0, 2.0).log_prob(x_grid)      # a generator p_m = N(0, 2²)
log_p_collapsed = torch.distributions.Normal(2.0, 0.5).log_prob(x_grid)   # a generator p_m = N(2, 0.5²): one mode


def log1pexp(u):
    """softplus(u) = log(1 + e^u) written out: the tests' reference for small logits (it overflows for large u)."""
    return torch.log(1 + torch.exp(u))


print(f"grid: {len(x_grid)} points from {float(x_grid[0])} to {float(x_grid[-1])}; "
      f"∫ p_d dx on it = {float(torch.trapezoid(log_p_d.exp(), x_grid)):.6f}")


# %% [markdown] coursekit={"id": "task-losses", "kind": "locked"}
# ## Task 1 · The discriminator's loss and the generator's two losses, from logits (3 + 4 points)
#
# The minimax game of Goodfellow et al. (2014) is
# $$\min_G \max_D\; V(G, D) = \mathbb E_{x \sim p_d} \log D(x) + \mathbb E_{z \sim p(z)} \log\big(1 - D(G(z))\big).$$
# The discriminator ascends $V$; as a loss to **minimise**, for a batch of $N$ real logits $\ell_i = \ell(x_i)$ and $N'$ generated ones $\tilde\ell_j = \ell(G(z_j))$, each term the mean over its own batch:
# $$L_D = -\frac1N \sum_i \log \sigma(\ell_i) \;-\; \frac1{N'} \sum_j \log\big(1 - \sigma(\tilde\ell_j)\big).$$
# The generator descends the second term of $V$, the **saturating** (minimax) loss, or, as Goodfellow et al. suggest and everyone does, the **non-saturating** loss, the same fixed point with other gradients:
# $$L_G^{\text{sat}} = \frac1{N'} \sum_j \log\big(1 - \sigma(\tilde\ell_j)\big), \qquad L_G^{\text{ns}} = -\frac1{N'} \sum_j \log \sigma(\tilde\ell_j).$$
# Two identities keep these finite for any logit: $\log \sigma(\ell) = -\operatorname{softplus}(-\ell)$ and $\log(1 - \sigma(\ell)) = \log \sigma(-\ell) = -\operatorname{softplus}(\ell)$, with $\operatorname{softplus}(u) = \log(1 + e^u)$ (`F.logsigmoid` and `F.softplus` compute them stably). `torch.log(torch.sigmoid(l))` is $-\infty$ already at $\ell = -100$ in float32.
#
# Per generated example, with $D = \sigma(\tilde\ell)$, the gradients with respect to the logit are
# $$\frac{\partial}{\partial \tilde\ell} \log\big(1 - \sigma(\tilde\ell)\big) = -\sigma(\tilde\ell) = -D, \qquad \frac{\partial}{\partial \tilde\ell} \Big({-\log \sigma(\tilde\ell)}\Big) = -\big(1 - \sigma(\tilde\ell)\big) = D - 1 .$$
# Early in training the discriminator rejects the generated samples, $D(G(z)) \approx 0$: the saturating loss then gives the generator almost no gradient ($-D \approx 0$), the non-saturating one nearly the largest it can ($D - 1 \approx -1$). The lecture plots both against $D(G(z))$.
#
# Write `discriminator_loss(real_logits, fake_logits)`, `generator_loss_saturating(fake_logits)` and `generator_loss_non_saturating(fake_logits)`: logits of any shape ((N,) or (N, 1)), each a mean over all its entries; return a scalar tensor. They must be finite and exact for logits as large as ±1000. And `generator_gradients(fake_logits)`: return `(grad_sat, grad_ns)`, each the shape of `fake_logits`, the two closed forms above, the derivative of each example's own loss with respect to its own logit (not divided by N').

# %% coursekit={"id": "losses", "kind": "answer"}
def discriminator_loss(real_logits, fake_logits):
    """L_D = −mean log σ(ℓ) over the real logits − mean log(1 − σ(ℓ̃)) over the generated ones: −V(G, D), to minimise."""
    ### BEGIN SOLUTION
    return -(F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean())   # log(1 − σ(ℓ̃)) = log σ(−ℓ̃)
    ### END SOLUTION


def generator_loss_saturating(fake_logits):
    """L_G^sat = mean log(1 − σ(ℓ̃)): the minimax generator loss, to minimise."""
    ### BEGIN SOLUTION
    return F.logsigmoid(-fake_logits).mean()                          # log(1 − D(G(z))) = log σ(−ℓ̃)
    ### END SOLUTION


def generator_loss_non_saturating(fake_logits):
    """L_G^ns = −mean log σ(ℓ̃): the non-saturating generator loss, to minimise."""
    ### BEGIN SOLUTION
    return -F.logsigmoid(fake_logits).mean()                          # −log D(G(z)) = −log σ(ℓ̃)
    ### END SOLUTION


def generator_gradients(fake_logits):
    """(∂/∂ℓ̃ log(1 − σ(ℓ̃)), ∂/∂ℓ̃ (−log σ(ℓ̃))) = (−D, D − 1) per example, D = σ(ℓ̃); each the shape of fake_logits."""
    ### BEGIN SOLUTION
    D = torch.sigmoid(fake_logits)                                    # D(G(z)), the discriminator's probability
    return -D, D - 1
    ### END SOLUTION


# %% coursekit={"id": "losses-public", "kind": "public-test", "points": 3}
real_logits = torch.tensor([2.0, -1.0, 0.5, 4.0])                      # N = 4 real examples
fake_logits = torch.tensor([-2.0, 0.0, 3.0])                           # N' = 3 generated examples


expected_d = log1pexp(-real_logits).mean() + log1pexp(fake_logits).mean()
loss = discriminator_loss(real_logits, fake_logits)
check_shape(loss, (), name="discriminator_loss: a scalar (0-dimensional) tensor")
check_close(loss, expected_d, atol=1e-5, name="L_D = −mean log σ(ℓ) − mean log(1 − σ(ℓ̃)): positive, to be minimised, "
            "each term the mean over its own batch (4 real, 3 generated)")
check_close(discriminator_loss(torch.zeros(5), torch.zeros(2)), torch.tensor(2 * math.log(2)), atol=1e-6,
            name="L_D of a discriminator that says ½ everywhere: −2 log ½ = 2 log 2")
check_close(generator_loss_saturating(fake_logits), -log1pexp(fake_logits).mean(), atol=1e-5,
            name="L_G^sat = mean log(1 − σ(ℓ̃)): negative, the generator minimises V's second term")
check_close(generator_loss_non_saturating(fake_logits), log1pexp(-fake_logits).mean(), atol=1e-5,
            name="L_G^ns = −mean log σ(ℓ̃): positive, the generator maximises log D(G(z))")
extreme = torch.tensor([-1000.0, -100.0, 100.0, 1000.0])              # float32, a confident discriminator
check_close(discriminator_loss(extreme, extreme), torch.tensor((1100.0 + 1100.0) / 4), rtol=1e-5,
            name="L_D at logits ±100 and ±1000 in float32 (finite: log σ(ℓ) = −softplus(−ℓ), not log(sigmoid(ℓ)))")
check_close(generator_loss_saturating(extreme), torch.tensor(-1100.0 / 4), rtol=1e-5,
            name="L_G^sat at logits ±100 and ±1000 in float32 (finite)")
check_close(generator_loss_non_saturating(extreme), torch.tensor(1100.0 / 4), rtol=1e-5,
            name="L_G^ns at logits ±100 and ±1000 in float32 (finite)")
grad_sat, grad_ns = generator_gradients(torch.tensor([-5.0, 0.0, 5.0]))
check_shape(grad_sat, (3,), name="grad_sat: one per generated example")
D = torch.sigmoid(torch.tensor([-5.0, 0.0, 5.0]))
check_close(grad_sat, -D, atol=1e-6, name="∂/∂ℓ̃ log(1 − σ(ℓ̃)) = −D at ℓ̃ = −5, 0, 5 (the logit's gradient, not D's)")
check_close(grad_ns, D - 1, atol=1e-6, name="∂/∂ℓ̃ (−log σ(ℓ̃)) = D − 1 at ℓ̃ = −5, 0, 5")
rejected = torch.full((4,), -8.0, requires_grad=True)                  # D(G(z)) = 0.0003: the samples are rejected
generator_loss_non_saturating(rejected).backward()
check_close(rejected.grad, torch.full((4,), -1 / 4), atol=1e-3, name="autograd's gradient of L_G^ns w.r.t. 4 rejected "
            "logits (ℓ̃ = −8): about −1/4 each, the non-saturating loss still pushes them up")
print("Task 1 public test passed")

# %% coursekit={"id": "losses-hidden", "kind": "hidden-test", "points": 4}
g = torch.Generator().manual_seed(701)
bce = F.binary_cross_entropy_with_logits                               # an independent reference
for shape_real, shape_fake in [((7,), (5,)), ((6, 1), (9, 1)), ((3, 4), (2, 4))]:
    real = (5 * torch.randn(shape_real, generator=g, dtype=torch.float64)).requires_grad_(True)
    fake = (5 * torch.randn(shape_fake, generator=g, dtype=torch.float64) - 1).requires_grad_(True)
    given = (real.detach().clone(), fake.detach().clone())
    where = f"real logits {shape_real}, generated {shape_fake}, float64"
    loss = discriminator_loss(real, fake)
    check_true(torch.equal(real.detach(), given[0]) and torch.equal(fake.detach(), given[1]),
               "the losses must not change the logits they are given")
    reference = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
    check_close(loss, reference, atol=1e-10, name=f"L_D for {where}")
    for mine, expected, which in zip(torch.autograd.grad(loss, (real, fake)), torch.autograd.grad(reference, (real, fake)),
                                     ("real", "generated")):
        check_close(mine, expected, atol=1e-10, name=f"the gradient of L_D w.r.t. the {which} logits, {where}")
    sat, ns = generator_loss_saturating(fake), generator_loss_non_saturating(fake)
    check_close(sat, -bce(fake, torch.zeros_like(fake)), atol=1e-10, name=f"L_G^sat for {where}")
    check_close(ns, bce(fake, torch.ones_like(fake)), atol=1e-10, name=f"L_G^ns for {where}")
    n = fake.numel()
    grad_sat, grad_ns = generator_gradients(fake.detach())
    check_shape(grad_ns, shape_fake, name=f"generator_gradients' grad_ns for {where}")
    check_close(n * torch.autograd.grad(sat, fake)[0], grad_sat, atol=1e-10,
                name=f"generator_gradients' grad_sat against N'·autograd of L_G^sat, {where}")
    check_close(n * torch.autograd.grad(ns, fake)[0], grad_ns, atol=1e-10,
                name=f"generator_gradients' grad_ns against N'·autograd of L_G^ns, {where}")
# saturation: where the discriminator rejects the samples the minimax gradient vanishes, the non-saturating one does not
rejected = torch.tensor([-12.0, -10.0, -20.0], dtype=torch.float64, requires_grad=True)
g_sat = torch.autograd.grad(generator_loss_saturating(rejected), rejected)[0]
g_ns = torch.autograd.grad(generator_loss_non_saturating(rejected), rejected)[0]
check_true(bool((g_sat.abs() < 1e-4).all() and (g_ns < -0.33).all()),
           f"at rejected samples (ℓ̃ = −12, −10, −20) the saturating loss's gradient should vanish and the non-saturating "
           f"one's be about −1/3 each: got {g_sat.tolist()} and {g_ns.tolist()}")
grad_sat, grad_ns = generator_gradients(rejected.detach())
check_true(bool((grad_sat.abs() < 1e-4).all() and (grad_ns < -0.999).all()),
           f"generator_gradients at rejected samples: (−D, D − 1) ≈ (0, −1), got {grad_sat.tolist()}, {grad_ns.tolist()}")
# extreme logits in float32 and float64: finite values and gradients, equal to |ℓ| where the loss is linear
for dtype in (torch.float32, torch.float64):
    big = torch.tensor([-1000.0, -300.0, 300.0, 1000.0], dtype=dtype, requires_grad=True)
    for name, loss, expected in [("L_D", discriminator_loss(big, big), 2600.0 / 4),
                                 ("L_G^sat", generator_loss_saturating(big), -1300.0 / 4),
                                 ("L_G^ns", generator_loss_non_saturating(big), 1300.0 / 4)]:
        (grad,) = torch.autograd.grad(loss, big)
        check_true(bool(torch.isfinite(loss) and torch.isfinite(grad).all()),
                   f"{name} and its gradient at logits ±300, ±1000 in {dtype} should be finite, got {float(loss.detach())}, "
                   f"{grad.tolist()}")
        check_close(loss, torch.tensor(expected, dtype=dtype), rtol=1e-6, name=f"{name} at logits ±300, ±1000, {dtype}")
    grad_sat, grad_ns = generator_gradients(big.detach())
    check_true(bool(torch.isfinite(grad_sat).all() and torch.isfinite(grad_ns).all()),
               f"generator_gradients at logits ±1000 in {dtype} should be finite")


# %% [markdown] coursekit={"id": "task-penalty", "kind": "locked"}
# ## Task 2 · WGAN-GP's gradient penalty, trainable (3 + 4 points)
#
# A Wasserstein GAN's critic $f$ returns a real score (no sigmoid) and must be 1-Lipschitz. Gulrajani et al. (2017) ask it softly, with a penalty on the norm of its gradient at points $\hat x$ on the lines between real and generated examples:
# $$\hat x_i = \varepsilon_i\, x_i + (1 - \varepsilon_i)\, \tilde x_i, \quad \varepsilon_i \sim U[0, 1] \text{ one per example}, \qquad \mathrm{GP} = \lambda\, \frac1N \sum_i \Big(\big\lVert \nabla_{\hat x} f(\hat x_i) \big\rVert_2 - 1\Big)^2 ,$$
# the norm over all of one example's dimensions (a vector's entries, or an image's channels and pixels), the mean over the batch; $\lambda = 10$ in the paper. A linear critic $f(x) = w^\top x + b$ has the gradient $w$ everywhere, so its penalty is $\lambda (\lVert w\rVert - 1)^2$, zero exactly when $\lVert w\rVert = 1$.
#
# The penalty is part of the critic's loss, so it must be differentiable **with respect to the critic's parameters**: the gradient $\nabla_{\hat x} f$ is itself computed by autograd, and `torch.autograd.grad(..., create_graph=True)` keeps the graph of that computation, so that the penalty's own backward pass reaches the parameters through it. Without `create_graph=True` the gradient comes back as a constant and the penalty trains nothing.
#
# Write `gradient_penalty(critic, x_real, x_fake, lam=10.0, generator=None)`: `x_real` and `x_fake` are (N, ...), the same shape; `critic` maps (N, ...) to one score per example, (N,) or (N, 1). Draw one $\varepsilon_i \sim U[0, 1]$ per example, any way you like: `torch.rand(N, generator=generator, dtype=x_real.dtype)` draws them with the generator a caller may pass for reproducible draws (`None`: torch's global one), reshaped to broadcast over each example's dimensions. Which end of the segment $\varepsilon_i$ weights does not matter, $\hat x_i = (1 - \varepsilon_i)\, x_i + \varepsilon_i\, \tilde x_i$ is the same thing, since $1 - \varepsilon_i$ is uniform too: the tests do not recompute your $\varepsilon$, they use critics whose penalty is known whatever $\varepsilon$ is (a linear one; any critic when $\tilde x = x$) or whose mean over thousands of examples is known ($f(x) = \tfrac12 \lVert x\rVert^2$ between $x = 0$ and $\tilde x$, where $\lVert \nabla f(\hat x_i)\rVert$ is a uniform fraction of $\lVert \tilde x_i\rVert$). Return the penalty, a scalar tensor that can be backpropagated into the critic's parameters.

# %% coursekit={"id": "penalty", "kind": "answer"}
def gradient_penalty(critic, x_real, x_fake, lam=10.0, generator=None):
    """WGAN-GP: λ · mean over the batch of (‖∇_x̂ f(x̂)‖₂ − 1)² at x̂ = ε x + (1 − ε) x̃, one ε ~ U[0, 1] per example,
    differentiable w.r.t. the critic's parameters (create_graph=True). x_real, x_fake (N, ...); returns a scalar."""
    ### BEGIN SOLUTION
    N = x_real.shape[0]
    eps = torch.rand(N, generator=generator, dtype=x_real.dtype)       # (N,): ε_i ~ U[0, 1], one per example
    eps = eps.view(-1, *[1] * (x_real.dim() - 1))                      # (N,) → (N, 1, ..., 1): broadcasts per example
    x_hat = (eps * x_real + (1 - eps) * x_fake).detach().requires_grad_(True)   # x̂: the penalty trains the critic only
    scores = critic(x_hat)                                             # (N,) or (N, 1): f(x̂)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)      # (N, ...): ∇_x̂ f(x̂_i), row by row
    norms = grad.flatten(1).norm(dim=1)                                # (N, ...) → (N, D) → (N,): ‖∇ f(x̂_i)‖₂
    return lam * ((norms - 1) ** 2).mean()
    ### END SOLUTION


# %% coursekit={"id": "penalty-public", "kind": "public-test", "points": 3}
g = torch.Generator().manual_seed(72)
N, Dim = 8, 5
x_real, x_fake = torch.randn(N, Dim, generator=g), torch.randn(N, Dim, generator=g) + 3
for norm_w, expected in [(1.0, 0.0), (3.0, 10.0 * (3.0 - 1.0) ** 2)]:
    w = torch.randn(Dim, generator=g)
    w = (norm_w * w / w.norm()).requires_grad_(True)                   # a linear critic f(x) = w·x + 0.5, ‖w‖ = norm_w
    penalty = gradient_penalty(lambda v: v @ w + 0.5, x_real, x_fake)
    check_shape(penalty, (), name="gradient_penalty: a scalar (0-dimensional) tensor")
    check_close(penalty, torch.tensor(expected), atol=1e-4, name=f"the penalty of a linear critic with ‖w‖ = {norm_w} "
                f"(its gradient is w at every point, whatever ε: λ(‖w‖ − 1)² with the norm per example, (‖∇‖ − 1)² "
                f"not ‖∇‖², the mean over the batch of {N})")
check_true(penalty.requires_grad, "the penalty must be differentiable w.r.t. the critic's parameters: it does not "
           "require grad (pass create_graph=True to torch.autograd.grad)")
(grad_w,) = torch.autograd.grad(penalty, w)
check_close(grad_w, 2 * 10.0 * (3.0 - 1.0) * w.detach() / 3.0, atol=1e-4, name="∂GP/∂w of the linear critic with "
            "‖w‖ = 3: 2λ(‖w‖ − 1) w/‖w‖")


# The critic f(x) = ½‖x‖², whose gradient at x̂ is x̂ itself, between x = 0 and x̃ with ‖x̃_i‖ = a: ‖∇f(x̂_i)‖ = u_i·a,
# u_i the fraction of the way from x to x̃ (1 − ε_i, or ε_i with the ends the other way round), uniform on [0, 1] either
# way. The penalty (λ = 1) of M pairs is then the mean of M independent (a·u − 1)², whose mean is E = a²/3 − a + 1 and
# variance V = ∫₀¹ (a·u − 1)⁴ du − E² = ((a − 1)⁵ + 1)/(5a) − E²: it must lie within 5 standard errors 5·sqrt(V/M) of
# E, which a correct answer misses with probability 6·10⁻⁷ (a normal tail; M = 20,000 makes the mean normal). At the
# real points every term is (0 − 1)² = 1, exactly; with one ε for the whole batch the penalty is a single (a·u − 1)²,
# inside the band with probability about 2% for each a, so three a's let it through about once in 10⁵.
def half_square(v):
    """f(x) = ½‖x‖² per example: v (M, 2) → (M,); ∇f(x) = x."""
    return 0.5 * (v**2).sum(1)


M = 20000
for a in (2.0, 0.5, 4.0):
    direction = torch.randn(M, 2, generator=g)
    x_far = a * direction / direction.norm(dim=1, keepdim=True)       # (M, 2): ‖x̃_i‖ = a, in random directions
    penalty = float(gradient_penalty(half_square, torch.zeros(M, 2), x_far, lam=1.0).detach())
    E = a**2 / 3 - a + 1                                               # E(a·u − 1)², u ~ U[0, 1]
    V = ((a - 1) ** 5 + 1) / (5 * a) - E**2                            # its variance
    hint = ("every term is (0 − 1)² = 1: the gradient was taken at the real points x = 0, not at x̂"
            if abs(penalty - 1) < 1e-4 else
            "is one ε drawn for the whole batch (the mean of M equal terms), or x̂ off the segment from x to x̃?")
    check_true(abs(penalty - E) < 5 * math.sqrt(V / M),
               f"the penalty of f(x) = ½‖x‖² between x = 0 and {M} points x̃ with ‖x̃‖ = {a} (λ = 1): ‖∇f(x̂_i)‖ = u_i·{a} "
               f"with u_i ~ U[0, 1] one per example, so it should be the mean of (a·u − 1)², a²/3 − a + 1 = {E:.4f} "
               f"± {5 * math.sqrt(V / M):.4f} (5 standard errors); got {penalty:.4f}: {hint}")
print("Task 2 public test passed")

# %% coursekit={"id": "penalty-hidden", "kind": "hidden-test", "points": 4}
g = torch.Generator().manual_seed(702)


def reference_penalty_at(critic, x, lam):
    """λ · mean_i (‖∇f(x_i)‖ − 1)², each x_i on its own, its gradient by autograd with the graph kept: the penalty when
    every x̂_i = x_i."""
    terms = []
    for i in range(x.shape[0]):
        x_i = x[i].detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x_i[None]).sum(), x_i, create_graph=True)
        terms.append((torch.sqrt((grad**2).sum()) - 1) ** 2)
    return lam * torch.stack(terms).mean()


conv = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.Tanh(), torch.nn.Flatten(),
                           torch.nn.Linear(3 * 4 * 4, 1)).double()      # an image critic, (N, 2, 4, 4) → (N, 1)
mlp = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Softplus(), torch.nn.Linear(16, 1), torch.nn.Flatten(0))
mlp = mlp.double()                                                     # a vector critic, (N, 3) → (N,)
# x̃ = x: then x̂ = εx + (1 − ε)x = x whatever ε is, so a nonlinear critic's penalty and its gradient w.r.t. the
# critic's parameters are known exactly (to rounding: the tolerances leave room for a 1e-8 added under the root)
for critic, shape, lam in [(conv, (5, 2, 4, 4), 10.0), (mlp, (9, 3), 2.5)]:
    where = f"a nonlinear critic on {shape}, λ = {lam}, float64, x̃ = x (so x̂ = x whatever ε)"
    x_real = torch.randn(shape, generator=g, dtype=torch.float64)
    x_fake, given = x_real.clone(), x_real.clone()
    penalty = gradient_penalty(critic, x_real, x_fake, lam=lam, generator=torch.Generator().manual_seed(7020))
    check_true(torch.equal(x_real, given) and torch.equal(x_fake, given), "gradient_penalty must not change x_real or "
               "x_fake")
    reference = reference_penalty_at(critic, x_real, lam)
    check_close(penalty, reference, rtol=1e-6, atol=1e-8, name=f"the penalty for {where}")
    check_true(penalty.requires_grad, f"the penalty for {where} must be differentiable w.r.t. the critic's parameters "
               "(create_graph=True)")
    params = [p for p in critic.parameters() if p.dim() > 1]          # the weights: every one shapes ∇_x̂ f
    mine = torch.autograd.grad(penalty, params, allow_unused=True)
    check_true(all(p is not None for p in mine), f"every weight of the critic should get a gradient from the penalty "
               f"for {where}, some got none")
    for p_mine, p_ref in zip(mine, torch.autograd.grad(reference, params)):
        check_close(p_mine, p_ref, rtol=1e-5, atol=1e-7, name=f"∂GP/∂θ of the critic's parameters for {where}")


# x̃ ≠ x: the penalty is random. Its mean over the draws is λ/N Σ_i ∫₀¹ h_i(t) dt, h_i(t) = (‖∇f(x̃_i + t(x_i − x̃_i))‖
# − 1)², and its variance λ²/N² Σ_i Var_t h_i(t), whichever end ε weights (t and 1 − t are both uniform). The integrals
# by the trapezoid rule on 201 values of t (their error bounded by the change from 101 values); the penalty must lie
# within 5 standard errors of the mean (a correct answer misses with probability 6·10⁻⁷). At the real points, at the
# generated ones, with one ε for the batch or with x̂ off the segments it is tens of standard errors away (see the
# mutants in tests/test_exercise_mutants.py).
def segment_moments(critic, x_real, x_fake, n_t):
    """For each pair, the mean and variance of h_i(t) over t ~ U[0, 1], by the trapezoid rule on n_t values of t."""
    t = torch.linspace(0.0, 1.0, n_t, dtype=torch.float64)
    along = x_fake[None] + t.view(-1, *[1] * x_real.dim()) * (x_real - x_fake)[None]   # (n_t, N, ...): the segments
    points = along.reshape(-1, *x_real.shape[1:]).requires_grad_(True)                 # → (n_t·N, ...)
    (grad,) = torch.autograd.grad(critic(points).sum(), points)
    h = ((grad.flatten(1).norm(dim=1) - 1) ** 2).view(n_t, -1)                          # (n_t·N,) → (n_t, N): h_i(t)
    mean = torch.trapezoid(h, t, dim=0)
    return mean, torch.trapezoid(h**2, t, dim=0) - mean**2


def half_square(v):
    """f(x) = ½‖x‖² per example, over all of its dimensions: (N, ...) → (N,)."""
    return 0.5 * (v**2).flatten(1).sum(1)


n_pairs = 4000
for critic, shape, lam in [(half_square, (n_pairs, 1, 2, 3), 1.0), (mlp, (n_pairs, 3), 2.5)]:
    x_real = 0.5 * torch.randn(shape, generator=g, dtype=torch.float64) + 1.0
    x_fake = 0.5 * torch.randn(shape, generator=g, dtype=torch.float64) - 1.0
    if critic is mlp:
        x_real, x_fake = 2 * x_real, 2 * x_fake
    mean, variance = segment_moments(critic, x_real, x_fake, 201)
    expected, standard_error = lam * mean.mean(), lam * variance.sum().sqrt() / n_pairs
    quadrature_error = (expected - lam * segment_moments(critic, x_real, x_fake, 101)[0].mean()).abs()
    penalty = float(gradient_penalty(critic, x_real, x_fake, lam=lam).detach())
    check_true(abs(penalty - float(expected)) < float(5 * standard_error + quadrature_error),
               f"the penalty of {'f(x) = ½‖x‖²' if critic is half_square else 'a nonlinear critic'} on {n_pairs} pairs "
               f"{shape[1:]}, λ = {lam}: with one ε ~ U[0, 1] per example it should be {float(expected):.4f} "
               f"± {float(5 * standard_error + quadrature_error):.4f} (5 standard errors), got {penalty:.4f} "
               "(at the real or the generated points? one ε for the whole batch? x̂ off the segment from x̃ to x?)")
# generated points that carry the generator's graph (x̃ = G(z)) and no generator given: it still runs
G = torch.nn.Linear(2, 3).double()
x_fake = G(torch.randn(4, 2, generator=g, dtype=torch.float64))
penalty = gradient_penalty(mlp, torch.randn(4, 3, generator=g, dtype=torch.float64), x_fake)
check_true(bool(torch.isfinite(penalty)) and penalty.requires_grad,
           "the penalty with x̃ = G(z) (a tensor that requires grad) and no generator should be finite and trainable")


# %% [markdown] coursekit={"id": "task-optimal", "kind": "locked"}
# ## Task 3 · The optimal discriminator and the Jensen–Shannon divergence on the 1-D mixture (3 + 3 points)
#
# For a fixed generator with density $p_m$, the discriminator that maximises $V$ is, point by point,
# $$D^*(x) = \frac{p_d(x)}{p_d(x) + p_m(x)} = \sigma\big(\log p_d(x) - \log p_m(x)\big),$$
# the second form computed from the log-densities: it stays exact where both densities underflow to 0 (far in the tails, $\log p \approx -800$), where the first form is $0/0$. At that discriminator the value is
# $$V(G, D^*) = \int p_d \log D^* + p_m \log(1 - D^*)\, dx = -\log 4 + 2\,\mathrm{JS}(p_d \,\|\, p_m), \qquad \mathrm{JS}(p \,\|\, q) = \tfrac12 \mathrm{KL}\big(p \,\big\|\, M\big) + \tfrac12 \mathrm{KL}\big(q \,\big\|\, M\big), \quad M = \tfrac12 (p + q),$$
# which is $-\log 4$ exactly when $p_m = p_d$ (JS is 0) and approaches 0 as the two densities stop overlapping (JS approaches $\log 2$).
#
# Any discriminator does worse than $D^*$, $V(G, D) \le V(G, D^*)$, so a trained discriminator's value, estimated on samples, bounds the divergence from below:
# $$\mathrm{JS}(p_d \,\|\, p_m) \;\ge\; \tfrac12\big(\log 4 + V(G, D)\big), \qquad V(G, D) \approx \frac1N \sum_i \log \sigma(\ell_i) + \frac1{N'} \sum_j \log\big(1 - \sigma(\tilde\ell_j)\big).$$
#
# Write `optimal_discriminator(log_p_d, log_p_m)`: two tensors of log-densities at the same points, any shape; return $D^*$ at those points, the same shape. `js_divergence(log_p_d, log_p_m, x)`: the log-densities on a sorted grid `x` (1-D, the same length); return JS in nats, a scalar, integrated with `torch.trapezoid` over `x`, computed from the log-densities ($\log M = \operatorname{logaddexp}(\log p, \log q) - \log 2$). And `js_lower_bound(real_logits, fake_logits)`: return $\tfrac12(\log 4 + V)$ with $V$ the estimate above, each term a mean over its own batch, stable for any logit.

# %% coursekit={"id": "optimal", "kind": "answer"}
def optimal_discriminator(log_p_d, log_p_m):
    """D*(x) = p_d / (p_d + p_m) = σ(log p_d − log p_m), elementwise, from the log-densities."""
    ### BEGIN SOLUTION
    return torch.sigmoid(log_p_d - log_p_m)                           # 1 / (1 + p_m/p_d): no 0/0 where both underflow
    ### END SOLUTION


def js_divergence(log_p_d, log_p_m, x):
    """JS(p_d ‖ p_m) = ½ KL(p_d ‖ M) + ½ KL(p_m ‖ M), M = ½(p_d + p_m), in nats, by the trapezoid rule on the grid x."""
    ### BEGIN SOLUTION
    log_M = torch.logaddexp(log_p_d, log_p_m) - math.log(2)           # log M = log ½(p_d + p_m)
    kl_d = torch.trapezoid(log_p_d.exp() * (log_p_d - log_M), x)     # KL(p_d ‖ M) = ∫ p_d log(p_d / M)
    kl_m = torch.trapezoid(log_p_m.exp() * (log_p_m - log_M), x)     # KL(p_m ‖ M)
    return 0.5 * kl_d + 0.5 * kl_m
    ### END SOLUTION


def js_lower_bound(real_logits, fake_logits):
    """½(log 4 + V(G, D)), V estimated from D's logits on real and generated samples: a lower bound on JS(p_d ‖ p_m)."""
    ### BEGIN SOLUTION
    value = F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean()   # V(G, D) = E log D + E log(1 − D)
    return 0.5 * (math.log(4) + value)
    ### END SOLUTION


# %% coursekit={"id": "optimal-public", "kind": "public-test", "points": 3}
D_star = optimal_discriminator(log_p_d, log_p_collapsed)
check_shape(D_star, x_grid.shape, name="D* on the grid, the grid's shape")
p, q = log_p_d.exp(), log_p_collapsed.exp()
middle = (x_grid > -3) & (x_grid < 3)                                  # where p_d + p_m is far from underflowing
check_close(D_star[middle], (p / (p + q))[middle], atol=1e-9, name="D* = p_d / (p_d + p_m) on [−3, 3] for the "
            "collapsed generator N(2, 0.5²) (p_d over the sum, not p_m)")
at_right_mode = int(torch.argmin((x_grid - 2).abs()))
check_close(D_star[at_right_mode], torch.tensor(1 / 3, dtype=torch.float64), atol=1e-9,
            name="D*(2) for the collapsed generator: p_m = 2 p_d at its mode, so D* = 1/3")
check_close(js_divergence(log_p_d, log_p_d, x_grid), torch.tensor(0.0, dtype=torch.float64), atol=1e-9,
            name="JS(p_d ‖ p_d) (log M = log ½(p + q): the −log 2 belongs in it)")
for name, log_p_m in [("spread, N(0, 2²)", log_p_spread), ("collapsed, N(2, 0.5²)", log_p_collapsed)]:
    js = js_divergence(log_p_d, log_p_m, x_grid)
    check_shape(js, (), name="js_divergence: a scalar")
    D_star = optimal_discriminator(log_p_d, log_p_m)
    p_log_D = torch.where(D_star > 0, log_p_d.exp() * torch.log(D_star), 0.0)           # p_d log D* (0 where D* = 0:
    p_log_1mD = torch.where(D_star < 1, log_p_m.exp() * torch.log1p(-D_star), 0.0)     # there p_d ≤ 1e-16 p_m)
    value = torch.trapezoid(p_log_D + p_log_1mD, x_grid)
    check_close(value, -math.log(4) + 2 * js, atol=1e-6, name=f"V(G, D*) = −log 4 + 2·JS for the {name} generator, "
                "V integrated on the grid with your D*, JS from your js_divergence (the ½ on each KL)")
check_close(js_lower_bound(torch.zeros(6), torch.zeros(3)), torch.tensor(0.0), atol=1e-6,
            name="js_lower_bound of a discriminator that says ½ everywhere: ½(log 4 + 2 log ½) = 0")
check_close(js_lower_bound(torch.tensor([3.0, 1.0]), torch.tensor([-2.0, 0.0, -4.0])),
            0.5 * (math.log(4) - log1pexp(torch.tensor([-3.0, -1.0])).mean() - log1pexp(torch.tensor([-2.0, 0.0, -4.0])).mean()),
            atol=1e-6, name="js_lower_bound = ½(log 4 + mean log σ(ℓ) + mean log(1 − σ(ℓ̃))) for 2 real and 3 generated logits")
print("Task 3 public test passed")

# %% coursekit={"id": "optimal-hidden", "kind": "hidden-test", "points": 3}
g = torch.Generator().manual_seed(703)
# D* against torch.distributions, on a batch of points of any shape, and where both densities underflow
model = torch.distributions.Normal(torch.tensor(0.5, dtype=torch.float64), torch.tensor(1.5, dtype=torch.float64))
x = 3 * torch.randn(4, 5, generator=g, dtype=torch.float64)
mixture = torch.distributions.MixtureSameFamily(
    torch.distributions.Categorical(torch.tensor([0.5, 0.5], dtype=torch.float64)),
    torch.distributions.Normal(torch.tensor([-2.0, 2.0], dtype=torch.float64), torch.tensor([0.5, 0.5], dtype=torch.float64)))
D_star = optimal_discriminator(mixture.log_prob(x), model.log_prob(x))
check_shape(D_star, (4, 5), name="D* for a (4, 5) batch of points")
check_close(D_star, mixture.log_prob(x).exp() / (mixture.log_prob(x).exp() + model.log_prob(x).exp()), atol=1e-12,
            name="D* on a (4, 5) batch of points against p_d / (p_d + p_m) from torch.distributions")
tails = torch.tensor([-800.0, -1000.0, -750.0], dtype=torch.float64)   # log-densities where both underflow to 0
D_star = optimal_discriminator(tails, tails - torch.tensor([0.0, math.log(3), -math.log(3)], dtype=torch.float64))
check_close(D_star, torch.tensor([0.5, 0.75, 0.25], dtype=torch.float64), atol=1e-12,
            name="D* where both densities underflow (log p ≈ −800): from the log-ratio, ½, ¾ and ¼")
# JS against an independent reference, and at its extremes (to 1e-6: the sum times the spacing, or Simpson's rule, differ
# from the trapezoid rule by 1e-7 on these grids, a missing ½ or log 2 by more than 0.1)
far_grid = torch.linspace(-10.0, 50.0, 6001, dtype=torch.float64)
for name, grid, log_p_m in [("spread", x_grid, log_p_spread), ("collapsed", x_grid, log_p_collapsed),
                            ("far, N(40, 0.5²),", far_grid, torch.distributions.Normal(40.0, 0.5).log_prob(far_grid))]:
    log_p = p_d.log_prob(grid)
    p, q = log_p.exp(), log_p_m.exp()
    m = (p + q) / 2
    integrand = 0.5 * torch.where(p > 0, p * torch.log(p / m), 0.0) + 0.5 * torch.where(q > 0, q * torch.log(q / m), 0.0)
    reference = torch.trapezoid(integrand, grid)
    check_close(js_divergence(log_p, log_p_m, grid), reference, atol=1e-6, name=f"JS(p_d ‖ p_m) for the {name} generator")
    check_close(js_divergence(log_p_m, log_p, grid), reference, atol=1e-6, name=f"JS(p_m ‖ p_d) for the {name} "
                "generator: JS is symmetric")
    if grid is far_grid:
        check_close(reference, torch.tensor(math.log(2), dtype=torch.float64), atol=1e-4,
                    name="JS of densities that do not overlap: log 2")
# the lower bound: exact on given logits, finite at extreme ones, and tight at D* (Monte Carlo, 20,000 samples each)
real, fake = 4 * torch.randn(7, 1, generator=g, dtype=torch.float64), 4 * torch.randn(5, 1, generator=g, dtype=torch.float64)
check_close(js_lower_bound(real, fake), 0.5 * (math.log(4) + F.logsigmoid(real).mean() + F.logsigmoid(-fake).mean()),
            atol=1e-12, name="js_lower_bound for 7 real and 5 generated logits, (N, 1), float64")
big = torch.tensor([-1000.0, 1000.0])
check_close(js_lower_bound(big, -big), torch.tensor(0.5 * (math.log(4) - 1000.0)), rtol=1e-6,
            name="js_lower_bound at logits ±1000 in float32 (finite)")
x_d = p_d.sample(20000, generator=g)
x_m = 2.0 * torch.randn(20000, generator=g, dtype=torch.float64)     # samples of the spread generator N(0, 2²)
spread = torch.distributions.Normal(0.0, 2.0)
bound = js_lower_bound(p_d.log_prob(x_d) - spread.log_prob(x_d), p_d.log_prob(x_m) - spread.log_prob(x_m))
check_close(bound, js_divergence(log_p_d, log_p_spread, x_grid), atol=0.01,
            name="js_lower_bound with D*'s logits on 20,000 samples each: JS itself, to Monte-Carlo error")


# %% [markdown] coursekit={"id": "outro", "kind": "locked"}
# ## Before you submit
#
# Run *Kernel → Restart Kernel and Run All Cells*: every public test should print "passed". Then submit this notebook as it is (do not rename it). Questions to think about (not graded): in Task 1, at $D(G(z)) = 0.01$, how much larger is the non-saturating gradient than the saturating one, and where, as $D(G(z))$ goes from 0 to 1, are the two equal? Do both generator losses have the same fixed point? In Task 2, the penalty of a linear critic does not depend on the data at all: what does that say about what the penalty controls, and why must $\varepsilon$ be drawn per example rather than once per batch? In Task 3, the collapsed generator $N(2, 0.5^2)$ covers one of the two modes: what is $D^*$ at the mode it misses, what JS does your function give, and how far is it from the $\log 2$ of two densities that do not overlap at all? Why does a JS near $\log 2$ give the generator (saturating loss) a vanishing gradient?
