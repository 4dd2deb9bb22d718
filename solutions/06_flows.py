# %% [markdown] coursekit={"id": "intro", "kind": "locked"}
# # Exercise 06 · An affine coupling layer, ActNorm's data-dependent initialisation, and an honest bits/dim with dequantisation
#
# Goes with lecture 06 (normalizing flows). **20 points:** 9 from public tests, 11 from hidden tests.
#
# You will write, with plain torch, three pieces of a flow: an affine coupling layer (RealNVP's) forward, inverse and log-determinant; Glow's ActNorm, initialised from the data so that its first output is standardised, and its log-determinant; and the bits per dimension of a flow on discrete data, with the uniform dequantisation that makes it a valid bound. Nothing is trained: the whole notebook runs in a few seconds.
#
# Every flow here follows the course's contract: `forward` maps data to latent, $x \mapsto z$ (the direction of the density, used in training), and returns `(z, log_det)` with $\log\lvert\det \partial z / \partial x\rvert$ one number per example; `inverse` maps latent to data (sampling) and returns `(x, log_det)` with the log-determinant of *its own* direction. Then
# $$\log p_X(x) = \log p_Z(z) + \log\Big\lvert\det \frac{\partial z}{\partial x}\Big\rvert, \qquad z = f(x).$$
#
# `coursekit.models` holds the course's own flows; work from the lecture's equations and read them afterwards to compare.
#
# **How this works.** Write your code only in the cells that say `YOUR CODE HERE` (the other cells are locked). After each task, run the public test cell below it: it tells you what it expected and what it got. Hidden tests, run by your instructor's grader, decide the grade — the public tests are a minimum, not a guarantee. All your code must live in the answer cells: cells you add yourself are not run by the grader. You can check your points from a terminal with `coursekit check exercises/06_flows.ipynb`.

# %% coursekit={"id": "setup", "kind": "locked"}
import math

import torch

from coursekit.grading.checks import check_close, check_shape, check_true

torch.set_num_threads(1)  # the problems here are small: one thread is the fastest
torch.manual_seed(0)


def s_t_example(h):
    """Task 1's example networks for vectors of D = 4: s and t read x_A = (h_1, h_2) only, and return one value for
    every position, (N, 4) each: s = (x_1 + x_2) / 4 and t = x_1 − x_2 everywhere."""
    s = (0.25 * (h[:, 0] + h[:, 1]))[:, None].expand_as(h)    # (N, 4)
    t = (h[:, 0] - h[:, 1])[:, None].expand_as(h)             # (N, 4)
    return s, t


x_example = torch.tensor([[1.0, 2.0, 3.0, 4.0]])   # one example (N = 1) of D = 4
mask_example = torch.tensor([1.0, 1.0, 0.0, 0.0])  # m: 1 on A (kept, conditions the rest), 0 on B (transformed)
s, t = s_t_example(mask_example * x_example)
print("s(x_A) =", s[0].tolist(), " t(x_A) =", t[0].tolist())


def uniformising_flow(y):
    """Task 3's flow z = Φ⁻¹(y), elementwise (Φ the standard Gaussian's CDF): it maps U[0, 1) to N(0, 1), and its
    log|det ∂z/∂y| = −Σ_i log N(z_i; 0, 1) per example."""
    z = torch.special.ndtri(y)
    return z, (0.5 * z**2 + 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)   # (N, ...) → (N, D) → (N,)


# %% [markdown] coursekit={"id": "task-coupling", "kind": "locked"}
# ## Task 1 · An affine coupling layer: forward, inverse and log-determinant (3 + 4 points)
#
# A binary mask $m$ (the shape of one example; 1 on the dimensions $A$, 0 on the dimensions $B$) splits $x$ in two. The half $x_A$ passes unchanged and sets a log-scale $s$ and a shift $t$ for the other half:
# $$z_A = x_A, \qquad z_B = x_B \odot \exp\big(s(x_A)\big) + t(x_A).$$
# Written with the mask, for every position at once: $h = m \odot x$ (the network sees $x_A$ and zeros elsewhere), $(s, t) = $ `s_t(h)`, and
# $$z = m \odot x + (1 - m) \odot \big(x \odot e^{s} + t\big), \qquad \log\Big\lvert\det\frac{\partial z}{\partial x}\Big\rvert = \sum_{i \in B} s_i = \sum_i (1 - m_i)\, s_i .$$
# The Jacobian is triangular (once $A$ comes first): $\partial z_A / \partial x_A = I$, $\partial z_A / \partial x_B = 0$ and $\partial z_B / \partial x_B = \mathrm{diag}(e^{s})$, so its log-determinant is the sum of $s$ over $B$ only, one number per example: $s$ has a value at every position, and those on $A$ do not count. $\partial z_B / \partial x_A$ can be anything: $s$ and $t$ may be any networks, and need never be inverted.
#
# The inverse reads $x_A = z_A$ first (it is unchanged), recomputes the same $s$ and $t$ from it, then undoes the affine map in reverse order, the shift first:
# $$x_B = \big(z_B - t(z_A)\big) \odot \exp\big(-s(z_A)\big), \qquad \log\Big\lvert\det\frac{\partial x}{\partial z}\Big\rvert = -\sum_{i \in B} s_i .$$
#
# In the set-up's example, $x = (1, 2, 3, 4)$ and $m = (1, 1, 0, 0)$ give $s = 0.75$ and $t = -1$ at every position, so $z = (1,\ 2,\ 3e^{0.75} - 1,\ 4e^{0.75} - 1) = (1, 2, 5.351, 7.468)$ and $\log\lvert\det\rvert = 2 \times 0.75 = 1.5$.
#
# Write `coupling_forward(x, mask, s_t)` and `coupling_inverse(z, mask, s_t)`. `x` and `z` are (N, ...) with any number of dimensions after the batch (vectors (N, D) or images (N, C, H, W)); `mask` has the shape of one example, (...), and broadcasts over the batch; `s_t(h)` takes the masked input, (N, ...), and returns `(s, t)`, each (N, ...). Return `(z, log_det)` and `(x, log_det)`, `log_det` (N,).

# %% coursekit={"id": "coupling", "kind": "answer"}
def coupling_forward(x, mask, s_t):
    """Affine coupling, data → latent: z = m ⊙ x + (1 − m) ⊙ (x ⊙ exp(s) + t) with (s, t) = s_t(m ⊙ x); returns
    (z (N, ...), log|det ∂z/∂x| = Σ (1 − m) ⊙ s per example (N,))."""
    ### BEGIN SOLUTION
    s, t = s_t(mask * x)                                              # (N, ...) each, from x_A alone
    z = mask * x + (1 - mask) * (x * torch.exp(s) + t)                # z_A = x_A, z_B = x_B ⊙ e^s + t
    log_det = ((1 - mask) * s).flatten(1).sum(1)                      # (N, ...) → (N, D) → (N,): Σ over B of s
    return z, log_det
    ### END SOLUTION


def coupling_inverse(z, mask, s_t):
    """Affine coupling, latent → data: x = m ⊙ z + (1 − m) ⊙ (z − t) ⊙ exp(−s) with (s, t) = s_t(m ⊙ z); returns
    (x (N, ...), log|det ∂x/∂z| = −Σ (1 − m) ⊙ s per example (N,))."""
    ### BEGIN SOLUTION
    s, t = s_t(mask * z)                                              # z_A = x_A: the same s and t as the forward
    x = mask * z + (1 - mask) * ((z - t) * torch.exp(-s))            # x_B = (z_B − t) ⊙ e^{−s}
    log_det = -((1 - mask) * s).flatten(1).sum(1)                     # (N, ...) → (N, D) → (N,)
    return x, log_det
    ### END SOLUTION


# %% coursekit={"id": "coupling-public", "kind": "public-test", "points": 3}
z, log_det = coupling_forward(x_example, mask_example, s_t_example)
check_shape(z, (1, 4), name="z for the example, (N, D)")
check_shape(log_det, (1,), name="log|det ∂z/∂x| for the example: one number per example, (N,)")
print("z =", [round(float(v), 3) for v in z[0]], " log|det| =", round(float(log_det[0]), 4))
check_close(z[0, :2], x_example[0, :2], atol=0, rtol=0, name="z_A: the half where the mask is 1 passes unchanged")
check_close(z[0, 2:], 3 + x_example[0, 2:] * math.exp(0.75) - 4, atol=1e-5,
            name="z_B = x_B ⊙ exp(s) + t with s = 0.75 and t = −1")
check_close(log_det, torch.tensor([1.5]), atol=1e-5, name="log|det ∂z/∂x| = Σ over B of s = 0.75 + 0.75 (s counts on "
            "B only, summed, not averaged, and positive: the forward stretches B by e^0.75)")
x_back, log_det_inverse = coupling_inverse(z, mask_example, s_t_example)
check_shape(x_back, (1, 4), name="the inverse's x, (N, D)")
check_close(x_back, x_example, atol=1e-5, name="coupling_inverse(coupling_forward(x)): x again")
check_close(log_det_inverse, -log_det, atol=1e-5, name="the inverse's log|det ∂x/∂z|, minus the forward's")
g = torch.Generator().manual_seed(61)
W_s, W_t = torch.randn(6, 6, generator=g) / 3, torch.randn(6, 6, generator=g)
for mask in [torch.tensor([1.0, 0, 1, 0, 1, 0]), torch.tensor([0.0, 0, 0, 1, 1, 1])]:
    x = torch.randn(5, 6, generator=g)
    z, _ = coupling_forward(x, mask, lambda h: (torch.tanh(h @ W_s), h @ W_t))
    x_back, _ = coupling_inverse(z, mask, lambda h: (torch.tanh(h @ W_s), h @ W_t))
    check_close(x_back, x, atol=1e-4, name=f"inverse(forward(x)) for 5 random vectors of D = 6, mask {mask.tolist()}")
print("Task 1 public test passed")

# %% coursekit={"id": "coupling-hidden", "kind": "hidden-test", "points": 4}
g = torch.Generator().manual_seed(601)


def conv_s_t(C, g):
    """s and t as one random 3×3 convolution each, reading every position of the masked input."""
    w_s = torch.randn(C, C, 3, 3, generator=g, dtype=torch.float64) / 4
    w_t = torch.randn(C, C, 3, 3, generator=g, dtype=torch.float64)
    return lambda h: (torch.tanh(torch.nn.functional.conv2d(h, w_s, padding=1)) + 0.3,
                      torch.nn.functional.conv2d(h, w_t, padding=1))


def dense_s_t(D, g):
    W_s, W_t = (torch.randn(D, D, generator=g, dtype=torch.float64) for _ in range(2))
    return lambda h: (0.5 * torch.sin(h @ W_s) - 0.2, h @ W_t + 1.0)


checkerboard = ((torch.arange(4)[:, None] + torch.arange(5)[None, :]) % 2).double()[None]   # (1, H, W), over channels
channels = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)[:, None, None]               # (C, 1, 1), over pixels
cases = [("a checkerboard mask on (N, 3, 4, 5) images", (4, 3, 4, 5), checkerboard.expand(3, 4, 5), conv_s_t(3, g)),
         ("a channel mask on (N, 3, 4, 5) images", (4, 3, 4, 5), channels.expand(3, 4, 5), conv_s_t(3, g)),
         ("a random mask on (N, 7) vectors", (6, 7), torch.tensor([0.0, 1, 1, 0, 1, 0, 0], dtype=torch.float64),
          dense_s_t(7, g))]
for where, shape, mask, s_t in cases:
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    z, log_det = coupling_forward(x, mask, s_t)
    check_shape(log_det, (shape[0],), name=f"log_det for {where}")
    check_true(torch.equal(mask * z, mask * x), f"z_A must be x_A exactly for {where}")
    x_back, log_det_inverse = coupling_inverse(z, mask, s_t)
    check_close(x_back, x, atol=1e-9, name=f"inverse(forward(x)) for {where}")
    check_close(log_det_inverse, -log_det, atol=1e-9, name=f"the inverse's log_det, minus the forward's, for {where}")
    z_any = 2 * torch.randn(shape, generator=g, dtype=torch.float64)   # any latent, not one the forward made
    check_close(coupling_forward(coupling_inverse(z_any, mask, s_t)[0], mask, s_t)[0], z_any, atol=1e-9,
                name=f"forward(inverse(z)) for {where}")
    for n in range(2):   # the log-det against log|det| of the autograd Jacobian of one example, (D, D)
        def one(v, n=n):
            return coupling_forward(v.reshape(1, *shape[1:]), mask, s_t)[0].reshape(-1)   # (D,) → (1, ...) → (D,)
        jacobian = torch.autograd.functional.jacobian(one, x[n].reshape(-1))               # (D, D)
        check_close(log_det[n], torch.linalg.slogdet(jacobian).logabsdet, atol=1e-9,
                    name=f"log_det of example {n} against log|det| of the autograd Jacobian, {where}")


# %% [markdown] coursekit={"id": "task-actnorm", "kind": "locked"}
# ## Task 2 · ActNorm: data-dependent initialisation and log-determinant (3 + 3 points)
#
# Glow's ActNorm scales and shifts each channel $c$ of an image, the same at every pixel $(i, j)$:
# $$y_{n,c,i,j} = e^{\log s_c}\, x_{n,c,i,j} + b_c, \qquad \log\Big\lvert\det\frac{\partial y_n}{\partial x_n}\Big\rvert = H \cdot W \cdot \sum_{c} \log \lvert s_c\rvert,$$
# a diagonal Jacobian whose entry $s_c$ appears once per pixel, $H \cdot W$ times per channel; every example gets the same log-det. The parameters are initialised from the first batch so that its output is standardised per channel: with the mean $\mu_c$ and the standard deviation $\sigma_c$ of channel $c$ over the batch and every pixel ($N \cdot H \cdot W$ values; the biased estimate, divided by the count), $\log s_c = -\log \sigma_c$ and $b_c = -\mu_c / \sigma_c$, so that $y = (x - \mu_c) / \sigma_c$ has mean 0 and variance 1 in each channel. After that they are trained like any other weights.
#
# A channel that is constant over the batch ($\sigma_c = 0$; e.g. the digits' blank border, once squeezed into channels) would make $\log s_c = +\infty$: for such a channel, $\sigma_c \le 10^{-6}$, keep the scale $s_c = 1$ ($\log s_c = 0$) and only centre it, $b_c = -\mu_c$.
#
# Write `actnorm_init(x)`: `x` is the first batch (N, C, H, W); return `(log_s, b)`, each (C,). And `actnorm_forward(x, log_s, b)`: return `(y, log_det)`, `y` (N, C, H, W) and `log_det` (N,).

# %% coursekit={"id": "actnorm", "kind": "answer"}
def actnorm_init(x, eps=1e-6):
    """ActNorm's data-dependent initialisation for x (N, C, H, W): log s_c = −log σ_c and b_c = −μ_c / σ_c from each
    channel's mean and (biased) standard deviation over N, H, W; a channel with σ_c ≤ eps keeps log s_c = 0, b_c = −μ_c.
    Returns (log_s (C,), b (C,))."""
    ### BEGIN SOLUTION
    axes = (0, 2, 3)                                                  # the batch and every pixel: one value per channel
    mu = x.mean(dim=axes)                                             # (C,): μ_c
    sigma = x.std(dim=axes, correction=0)                             # (C,): σ_c, divided by the count N·H·W
    sigma = torch.where(sigma > eps, sigma, torch.ones_like(sigma))   # a constant channel keeps the scale 1
    log_s = -torch.log(sigma)                                         # log s_c = −log σ_c
    b = -mu * torch.exp(log_s)                                        # b_c = −μ_c / σ_c: the output has mean 0
    return log_s, b
    ### END SOLUTION


def actnorm_forward(x, log_s, b):
    """ActNorm, data → latent: y = exp(log s_c) x + b_c in each channel c of x (N, C, H, W); returns (y (N, C, H, W),
    log|det ∂y/∂x| = H·W·Σ_c log s_c for every example (N,))."""
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    y = torch.exp(log_s).view(1, C, 1, 1) * x + b.view(1, C, 1, 1)   # (C,) → (1, C, 1, 1): the same at every pixel
    log_det = (H * W * log_s.sum()).expand(N)                         # () → (N,): one log-det per example
    return y, log_det
    ### END SOLUTION


# %% coursekit={"id": "actnorm-public", "kind": "public-test", "points": 3}
g = torch.Generator().manual_seed(62)
x = torch.randn(4, 2, 3, 3, generator=g) * torch.tensor([2.0, 0.5])[:, None, None] + torch.tensor([3.0, -1.0])[:, None, None]
log_s, b = actnorm_init(x)
check_shape(log_s, (2,), name="log s for (N, C, H, W) = (4, 2, 3, 3): one per channel, (C,)")
check_shape(b, (2,), name="b for (N, C, H, W) = (4, 2, 3, 3): one per channel, (C,)")
y, log_det = actnorm_forward(x, log_s, b)
check_shape(y, (4, 2, 3, 3), name="ActNorm's output y, (N, C, H, W)")
check_close(y.mean(dim=(0, 2, 3)), torch.zeros(2), atol=1e-5,
            name="the mean of each channel of y after the initialisation (over the batch and every pixel)")
check_close(y.var(dim=(0, 2, 3), correction=0), torch.ones(2), atol=1e-4,
            name="the variance of each channel of y after the initialisation (σ_c is the standard deviation, not the "
                 "variance, over N·H·W = 36 values, divided by 36)")
check_shape(log_det, (4,), name="ActNorm's log|det|: one number per example, (N,)")
log_s, b = torch.tensor([math.log(2.0), -0.25]), torch.tensor([1.0, -3.0])
y, log_det = actnorm_forward(x, log_s, b)
check_close(y[:, 1], math.exp(-0.25) * x[:, 1] - 3.0, atol=1e-5, name="channel 1 of y = exp(log s_1) x + b_1")
check_close(log_det, torch.full((4,), 9 * (math.log(2.0) - 0.25)), atol=1e-5,
            name="log|det| = H·W·Σ_c log s_c = 3·3·(log 2 − 0.25) for every example")
print("Task 2 public test passed")

# %% coursekit={"id": "actnorm-hidden", "kind": "hidden-test", "points": 3}
g = torch.Generator().manual_seed(602)
for N, C, H, W in [(5, 3, 4, 6), (2, 4, 4, 4), (1, 2, 3, 5), (7, 1, 2, 2)]:
    x = 3 * torch.randn(N, C, H, W, generator=g, dtype=torch.float64) + torch.randn(C, 1, 1, generator=g,
                                                                                    dtype=torch.float64) * 4
    given = x.clone()
    log_s, b = actnorm_init(x)
    check_true(torch.equal(x, given), "actnorm_init must not change the batch it is given")
    where = f"(N, C, H, W) = {(N, C, H, W)}"
    check_shape(log_s, (C,), name=f"log s for {where}")
    flat = x.transpose(0, 1).reshape(C, -1)                            # (C, N·H·W)
    check_close(log_s, -torch.log(flat.std(1, correction=0)), atol=1e-9, name=f"log s_c = −log σ_c for {where}")
    check_close(b, -flat.mean(1) / flat.std(1, correction=0), atol=1e-9, name=f"b_c = −μ_c / σ_c for {where}")
    y, log_det = actnorm_forward(x, log_s, b)
    check_close(y.transpose(0, 1).reshape(C, -1).var(1, correction=0), torch.ones(C, dtype=torch.float64), atol=1e-9,
                name=f"the variance of each channel of y for {where}")
    log_s = torch.randn(C, generator=g, dtype=torch.float64)
    y, log_det = actnorm_forward(x[:1], log_s, b)
    jacobian = torch.autograd.functional.jacobian(
        lambda v: actnorm_forward(v.reshape(1, C, H, W), log_s, b)[0].reshape(-1), x[0].reshape(-1))   # (D, D)
    check_close(log_det, torch.linalg.slogdet(jacobian).logabsdet.reshape(1), atol=1e-9,
                name=f"ActNorm's log_det against log|det| of the autograd Jacobian for {where}")
# a constant channel (a blank border): finite parameters, the scale left at 1, the channel centred
x = torch.randn(6, 3, 4, 4, generator=g, dtype=torch.float64)
x[:, 1] = 0.0
x[:, 2] = 5.0
log_s, b = actnorm_init(x)
check_true(bool(torch.isfinite(log_s).all() and torch.isfinite(b).all()),
           f"a constant channel must give finite parameters, got log s = {log_s.tolist()}, b = {b.tolist()}")
check_close(log_s[1:], torch.zeros(2, dtype=torch.float64), atol=0, rtol=0, name="log s of the constant channels: 0")
check_close(b[1:], torch.tensor([0.0, -5.0], dtype=torch.float64), atol=1e-12, name="b of the constant channels 0 and 5")
y, log_det = actnorm_forward(x, log_s, b)
check_true(bool(torch.isfinite(log_det).all() and (y[:, 1:] == 0).all()),
           "a constant channel's output should be 0 and the log-det finite")


# %% [markdown] coursekit={"id": "task-dequantisation", "kind": "locked"}
# ## Task 3 · Dequantisation and bits per dimension (3 + 4 points)
#
# A flow is a density on $\mathbb R^D$; the digits are discrete, each pixel one of $K$ levels $0, \dots, K-1$ ($K = 17$ for the course's digits). A density can put unbounded mass on those points; **uniform dequantisation** forbids it. Add noise $u \sim U[0, 1)^D$, spanning exactly one level, and scale to $[0, 1)$:
# $$y = \frac{x + u}{K}.$$
# The level $k$ becomes the whole interval $[k/K, (k+1)/K)$, and these intervals tile $[0, 1)$ without overlap, so for any density $p_Y$ on $y$ (by Jensen's inequality)
# $$\log P(x) \;\ge\; \mathbb E_u\big[\log p_Y(y)\big] - D \log K,$$
# the $-D \log K$ coming from the change of variables $v = x + u \mapsto y = v / K$. The right-hand side is a valid bound for the discrete model, in nats per image; divided by $D \log 2$ it is in **bits per dimension**, the number the course compares across families:
# $$\text{bits/dim} = -\frac{\log p_Z(z) + \log\lvert\det \partial z / \partial y\rvert - D\log K}{D \log 2}, \qquad (z, \log\lvert\det\rvert) = \mathrm{flow}(y),$$
# with a standard Gaussian base $p_Z = \mathcal N(0, I_D)$: $\log p_Z(z) = -\tfrac12 \sum_i z_i^2 - \tfrac D2 \log 2\pi$. The flow that spreads $y$ uniformly over $[0, 1)^D$ (the set-up's `uniformising_flow`, $z = \Phi^{-1}(y)$) makes the numerator $-D\log K$, so it scores exactly $\log_2 K$ bits/dim (4.087 for 17 levels): the uniform model over the $K$ levels. Noise spanning half a level (as one well-known tutorial's does) lets the flow squeeze each level's mass into half the interval and report a bound 1 bit/dim better than it has earned.
#
# Write `dequantise(x, K, generator=None)`: `x` holds integer levels in $0, \dots, K-1$ (a `torch.long` tensor of any shape); return $y = (x + u)/K$, a float tensor of the same shape, with the noise drawn by `torch.rand(..., generator=generator)`. And `bits_per_dim(flow, y, K)`: `y` is a dequantised, scaled batch (N, ...) and `flow(y)` returns `(z, log_det)`, `z` the shape of `y` and `log_det` (N,); return the bound in bits per dimension of each example, (N,), with $D$ the number of values in one example.

# %% coursekit={"id": "dequantisation", "kind": "answer"}
def dequantise(x, K, generator=None):
    """Uniform dequantisation over exactly one level, scaled to [0, 1): y = (x + u) / K with u ~ U[0, 1) of x's
    shape drawn with `generator`, for integer levels x in 0..K − 1."""
    ### BEGIN SOLUTION
    u = torch.rand(x.shape, generator=generator)                     # u ~ U[0, 1): one whole level
    return (x + u) / K                                               # y ∈ [x/K, (x + 1)/K)
    ### END SOLUTION


def bits_per_dim(flow, y, K):
    """The dequantised bound in bits per dimension of each example of y (N, ...): −(log N(z; 0, I) + log|det ∂z/∂y|
    − D log K) / (D log 2) with (z, log_det) = flow(y); returns (N,)."""
    ### BEGIN SOLUTION
    z, log_det = flow(y)
    D = y[0].numel()                                                 # values in one example
    log_p_z = (-0.5 * z**2 - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)   # (N, ...) → (N, D) → (N,)
    log_p_y = log_p_z + log_det                                      # change of variables: log p_Y(y)
    log_p_x = log_p_y - D * math.log(K)                              # y = (x + u) / K: the bound on log P(x)
    return -log_p_x / (D * math.log(2))                              # nats per image → bits per dimension
    ### END SOLUTION


# %% coursekit={"id": "dequantisation-public", "kind": "public-test", "points": 3}
K = 17
x = torch.arange(K).repeat(2000)                                     # (2000·K,): every level 2000 times
g = torch.Generator().manual_seed(63)
y = dequantise(x, K, generator=g)
check_true(isinstance(y, torch.Tensor) and y.is_floating_point() and y.shape == x.shape,
           f"dequantise should return a float tensor of x's shape {tuple(x.shape)}, got "
           f"{type(y).__name__} {getattr(y, 'dtype', '')} {tuple(getattr(y, 'shape', ()))}")
per_level = (y * K - x).reshape(2000, K)                             # (2000, K): the noise u, level by level
check_true(bool((per_level >= -1e-5).all() and (per_level <= 1 + 1e-5).all()),
           f"the noise u = K·y − x should lie in [0, 1) (one whole level above x, scaled by 1/K), got values from "
           f"{float(per_level.min()):.3f} to {float(per_level.max()):.3f}")
span = per_level.max(0).values - per_level.min(0).values             # (K,)
check_true(bool((span > 0.99).all()), "the noise should span the whole level [0, 1) at every level: over 2000 draws "
           f"its range should be about 1, got {float(span.min()):.3f} at its narrowest")
check_close(per_level.mean(0), torch.full((K,), 0.5), atol=0.03, name="the mean of the noise u at each level (U[0, 1))")

y = (torch.randint(0, K, (3, 1, 8, 8), generator=g) + torch.rand(3, 1, 8, 8, generator=g)) / K   # a dequantised batch
bits = bits_per_dim(uniformising_flow, y, K)
check_shape(bits, (3,), name="bits/dim of each example of a (3, 1, 8, 8) batch, (N,)")
check_close(bits, torch.full((3,), math.log2(K)), atol=1e-4, name="bits/dim of the flow that makes y uniform on "
            "[0, 1)^D: the uniform model over K = 17 levels, log₂ 17 (the D log K term, the log-det with its sign, "
            "then nats → bits)")
normal = torch.distributions.Normal(0.0, 1.0)
for flow, log_p_y, what in [(lambda v: (v, torch.zeros(v.shape[0])), normal.log_prob(y).sum((1, 2, 3)), "the identity"),
                            (lambda v: (2 * v - 1, torch.full((v.shape[0],), 64 * math.log(2))),
                             normal.log_prob(2 * y - 1).sum((1, 2, 3)) + 64 * math.log(2), "z = 2y − 1")]:
    check_close(bits_per_dim(flow, y, K), -(log_p_y - 64 * math.log(K)) / (64 * math.log(2)), atol=1e-4,
                name=f"bits/dim of the flow {what} on a (3, 1, 8, 8) batch")
print("Task 3 public test passed")

# %% coursekit={"id": "dequantisation-hidden", "kind": "hidden-test", "points": 4}
for K, shape in [(2, (4, 3, 2, 2)), (256, (5, 10)), (17, (2, 1, 8, 8))]:
    x = torch.randint(0, K, shape, generator=torch.Generator().manual_seed(K))
    given = x.clone()
    y1 = dequantise(x, K, generator=torch.Generator().manual_seed(6031))
    y2 = dequantise(x, K, generator=torch.Generator().manual_seed(6031))
    y3 = dequantise(x, K, generator=torch.Generator().manual_seed(6032))
    check_true(torch.equal(x, given), "dequantise must not change x")
    check_true(torch.equal(y1, y2) and not torch.equal(y1, y3),
               f"dequantise should draw its noise with the generator it is given: the same seed, the same y (K = {K})")
    u = y1.double() * K - x                                            # the noise, to float32's rounding
    check_true(bool((u >= -1e-4).all() and (u <= 1 + 1e-4).all() and (u.max() - u.min() > 0.9)),
               f"K·y − x should fill [0, 1) for K = {K}, shape {shape}: got {float(u.min()):.4f} to {float(u.max()):.4f}")
# the bound against an independent reference: a linear flow z = A y + c on the flattened example, under which y is
# Gaussian, y ~ N(−A⁻¹c, (AᵀA)⁻¹), with log|det ∂z/∂y| = log|det A|
g = torch.Generator().manual_seed(603)
for K, shape in [(17, (4, 3, 2, 2)), (256, (3, 1, 3, 3)), (2, (5, 6))]:
    D = math.prod(shape[1:])
    A = torch.randn(D, D, generator=g, dtype=torch.float64) + 3 * torch.eye(D, dtype=torch.float64)
    c = torch.randn(D, generator=g, dtype=torch.float64)
    y = (torch.randint(0, K, shape, generator=g) + torch.rand(shape, generator=g, dtype=torch.float64)) / K

    def linear_flow(v):
        z = (v.flatten(1) @ A.T + c).reshape(v.shape)                  # (N, ...) → (N, D) → (N, ...)
        return z, torch.linalg.slogdet(A).logabsdet.expand(v.shape[0])

    mean = -torch.linalg.solve(A, c)
    reference = torch.distributions.MultivariateNormal(mean, precision_matrix=A.T @ A).log_prob(y.flatten(1))
    check_close(bits_per_dim(linear_flow, y, K), -(reference - D * math.log(K)) / (D * math.log(2)), atol=1e-9,
                name=f"bits/dim under a linear flow for {K} levels and a batch of shape {shape}")
    check_close(bits_per_dim(uniformising_flow, y, K), torch.full((shape[0],), math.log2(K), dtype=torch.float64),
                atol=1e-6, name=f"bits/dim of the uniformising flow for {K} levels and a batch of shape {shape}")


# %% [markdown] coursekit={"id": "outro", "kind": "locked"}
# ## Before you submit
#
# Run *Kernel → Restart Kernel and Run All Cells*: every public test should print "passed". Then submit this notebook as it is (do not rename it). Questions to think about (not graded): in Task 1, two coupling layers with complementary masks, one after the other: what is the log-det of the pair, and why is one layer alone never enough? Why may `s_t` be a network that is not invertible? In Task 2, what would ActNorm initialised per pixel (statistics over the batch only) do at the digits' blank border, and how many parameters would it have for (C, H, W) = (1, 8, 8)? In Task 3, with noise over half a level, $y = (x + u/2)/K$, a flow can spread $y$ uniformly over the lower half of every level's interval: what bits/dim does `bits_per_dim` report for it at $K = 17$, and what probability does the same model really give each discrete image?
