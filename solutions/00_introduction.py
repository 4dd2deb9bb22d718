# %% [markdown] coursekit={"id": "intro", "kind": "locked"}
# # Exercise 00 · KL divergences, bits per dimension and the floor model
#
# Goes with lecture `notebooks/00_introduction.ipynb`. **17 points:** 7 from public tests, 10 from hidden tests.
#
# **How this works.** Write your code only in the cells that say `YOUR CODE HERE` (the other cells are locked). After each task, run the public test cell below it: it tells you what it expected and what it got. Hidden tests, run by your instructor's grader, decide the grade — the public tests are a minimum, not a guarantee. All your code must live in the answer cells: cells you add yourself are not run by the grader. You can check your points from a terminal with `coursekit check exercises/00_introduction.ipynb`.

# %% coursekit={"id": "setup", "kind": "locked"}
import math

import torch

from coursekit import data
from coursekit.grading.checks import check_close, check_shape, check_true

torch.manual_seed(0)
splits = data.digits()


# %% [markdown] coursekit={"id": "task-gaussian-kl", "kind": "locked"}
# ## Task 1 · The KL divergence between two Gaussians (2 + 3 points)
#
# For one-dimensional Gaussians $q = \mathcal N(\mu_q, \sigma_q^2)$ and $p = \mathcal N(\mu_p, \sigma_p^2)$,
# $$\mathrm{KL}(q\,\|\,p) = \log\frac{\sigma_p}{\sigma_q} + \frac{\sigma_q^2 + (\mu_q - \mu_p)^2}{2\sigma_p^2} - \frac12 .$$
# Implement it for tensors (elementwise, with broadcasting). You will meet this formula again as the VAE's KL term in lecture 02.

# %% coursekit={"id": "gaussian-kl", "kind": "answer"}
def gaussian_kl(mu_q, sigma_q, mu_p, sigma_p):
    """KL(N(mu_q, sigma_q²) ‖ N(mu_p, sigma_p²)) in nats, elementwise for tensors."""
    ### BEGIN SOLUTION
    return torch.log(sigma_p / sigma_q) + (sigma_q**2 + (mu_q - mu_p) ** 2) / (2 * sigma_p**2) - 0.5
    ### END SOLUTION


# %% coursekit={"id": "gaussian-kl-public", "kind": "public-test", "points": 2}
one, zero = torch.tensor(1.0), torch.tensor(0.0)
check_close(gaussian_kl(zero, one, zero, one), 0.0, name="KL(q‖q) for q = N(0, 1)")
check_close(gaussian_kl(zero, one, one, one), 0.5, name="KL(N(0, 1) ‖ N(1, 1))")
two = torch.tensor(2.0)
check_close(gaussian_kl(zero, two, zero, one), math.log(0.5) + 2.0 - 0.5, name="KL(N(0, 2²) ‖ N(0, 1))")
print("Task 1 public tests passed")

# %% coursekit={"id": "gaussian-kl-hidden", "kind": "hidden-test", "points": 3}
g = torch.Generator().manual_seed(1)
mu_q, mu_p = torch.randn(5, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)
s_q, s_p = 0.5 + torch.rand(5, generator=g, dtype=torch.float64), 0.5 + torch.rand(5, generator=g, dtype=torch.float64)
got = gaussian_kl(mu_q, s_q, mu_p, s_p)
check_shape(got, (5,), name="gaussian_kl on 5 pairs")
# a Monte-Carlo estimate E_q[log q − log p] with 400k samples per pair
z = mu_q + s_q * torch.randn(400_000, 5, generator=g, dtype=torch.float64)
log_q = -0.5 * ((z - mu_q) / s_q) ** 2 - torch.log(s_q) - 0.5 * math.log(2 * math.pi)
log_p = -0.5 * ((z - mu_p) / s_p) ** 2 - torch.log(s_p) - 0.5 * math.log(2 * math.pi)
check_close(got, (log_q - log_p).mean(0), name="gaussian_kl vs Monte Carlo", rtol=0.02, atol=0.01)
check_true(bool((got >= 0).all()), "KL must be >= 0")
reverse = gaussian_kl(mu_p, s_p, mu_q, s_q)
check_true(bool((reverse - got).abs().max() > 1e-3), "KL(q‖p) and KL(p‖q) should differ here")
check_close(gaussian_kl(torch.zeros(3, 1), torch.ones(3, 1), torch.zeros(1, 4), 2 * torch.ones(1, 4)),
            torch.full((3, 4), math.log(2) + 1 / 8 - 0.5), name="broadcasting (3, 1) with (1, 4)")


# %% [markdown] coursekit={"id": "task-categorical-kl", "kind": "locked"}
# ## Task 2 · The KL divergence between two categorical distributions (2 + 3 points)
#
# For distributions over $K$ values, $\mathrm{KL}(p\,\|\,q) = \sum_k p_k \log \frac{p_k}{q_k}$, with two conventions: a term with $p_k = 0$ is $0$ (since $p \log p \to 0$), and a term with $p_k > 0 = q_k$ is $+\infty$. `p` and `q` are tensors whose **last** dimension holds the $K$ probabilities; return one KL per leading index.

# %% coursekit={"id": "categorical-kl", "kind": "answer"}
def categorical_kl(p, q):
    """KL(p ‖ q) over the last dimension, in nats, with 0·log(0/q) = 0 and p·log(p/0) = +inf."""
    ### BEGIN SOLUTION
    ratio = torch.where(p > 0, torch.log(p) - torch.log(q), torch.zeros_like(p))
    return (torch.where(p > 0, p, torch.zeros_like(p)) * ratio).sum(-1)
    ### END SOLUTION


# %% coursekit={"id": "categorical-kl-public", "kind": "public-test", "points": 2}
p = torch.tensor([0.5, 0.25, 0.25])
check_close(categorical_kl(p, p), 0.0, name="KL(p‖p)")
check_close(categorical_kl(p, torch.full((3,), 1 / 3)), math.log(3) - 1.5 * math.log(2), name="KL(p‖uniform)")
print("Task 2 public tests passed")

# %% coursekit={"id": "categorical-kl-hidden", "kind": "hidden-test", "points": 3}
p = torch.tensor([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
q = torch.tensor([[0.2, 0.4, 0.4], [0.5, 0.5, 0.0]])
got = categorical_kl(p, q)
check_shape(got, (2,), name="categorical_kl on a batch of 2")
check_close(got, torch.tensor([math.log(0.5 / 0.4), math.log(2.0)]), name="KL with p_k = 0 terms")
check_true(bool(torch.isinf(categorical_kl(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])))),
           "p_k > 0 = q_k must give +inf")
g = torch.Generator().manual_seed(2)
a, b = torch.rand(4, 6, generator=g).softmax(-1), torch.rand(4, 6, generator=g).softmax(-1)
check_true(bool((categorical_kl(a, b) >= 0).all()), "KL must be >= 0")
check_close(categorical_kl(a, b), (a * (a / b).log()).sum(-1), name="KL on random distributions")


# %% [markdown] coursekit={"id": "task-floor", "kind": "locked"}
# ## Task 3 · The floor model and bits per dimension (3 + 4 points)
#
# The floor model gives each pixel $d$ its own categorical $\pi_d$ over the $K = 17$ levels, fitted by counting with add-$\alpha$ smoothing:
# $$\pi_{d,k} = \frac{n_{d,k} + \alpha}{N + K\alpha}, \qquad n_{d,k} = \#\{i : x^{(i)}_d = k\}.$$
#
# 1. `fit_floor(x, levels, alpha)` takes integer images `x` of shape (N, 1, 8, 8) and returns $\log \pi$ as a tensor of shape (D, K) = (64, 17).
# 2. `floor_log_prob(log_pi, x)` returns $\log p(x) = \sum_d \log \pi_{d, x_d}$ for each image: shape (N,).
# 3. `bits_per_dim(log_px, D)` turns log-likelihoods in nats (one per example) into the average bits per dimension, $-\overline{\log p(x)} / (D \ln 2)$.
#
# The lecture quotes ≈ 2.398 bits/dim on the test split for α = 0.5. Do you get it?

# %% coursekit={"id": "floor", "kind": "answer"}
def fit_floor(x, levels=17, alpha=0.5):
    """log π, shape (D, K): per-pixel categorical fitted by counting with add-alpha smoothing."""
    ### BEGIN SOLUTION
    flat = x.reshape(x.shape[0], -1).long()                                  # (N, D)
    counts = torch.nn.functional.one_hot(flat, levels).sum(0).double()      # (D, K)
    return torch.log((counts + alpha) / (flat.shape[0] + levels * alpha))
    ### END SOLUTION


def floor_log_prob(log_pi, x):
    """log p(x) in nats for each image: the sum over pixels of log π_{d, x_d}; shape (N,)."""
    ### BEGIN SOLUTION
    flat = x.reshape(x.shape[0], -1).long()                                  # (N, D)
    return log_pi[torch.arange(flat.shape[1]), flat].sum(1)
    ### END SOLUTION


def bits_per_dim(log_px, D):
    """Average bits per dimension from log-likelihoods in nats, one per example."""
    ### BEGIN SOLUTION
    return (-log_px.mean() / (D * math.log(2))).item()
    ### END SOLUTION


# %% coursekit={"id": "floor-public", "kind": "public-test", "points": 3}
log_pi = fit_floor(splits.train.x)
check_shape(log_pi, (64, 17), name="fit_floor(train)")
check_close(log_pi.exp().sum(1), torch.ones(64), name="each pixel's probabilities sum to 1", atol=1e-5)
check_shape(floor_log_prob(log_pi, splits.test.x[:5]), (5,), name="floor_log_prob on 5 images")
bpd = bits_per_dim(floor_log_prob(log_pi, splits.test.x), 64)
print(f"floor model: {bpd:.3f} bits/dim on the test split")
check_true(2.0 < bpd < 4.087, f"bits/dim should lie between 2 and the uniform 4.087, got {bpd}")

# %% coursekit={"id": "floor-hidden", "kind": "hidden-test", "points": 4}
x = splits.train.x.reshape(1000, 64)
reference = torch.stack([torch.bincount(x[:, d], minlength=17) for d in range(64)]).double()  # (64, 17)
reference = ((reference + 0.5) / (1000 + 17 * 0.5)).log()
check_close(fit_floor(splits.train.x), reference, name="fit_floor vs counting", atol=1e-5)
check_close(fit_floor(splits.train.x, alpha=2.0).exp()[0, 0],
            (int((x[:, 0] == 0).sum()) + 2.0) / (1000 + 34.0), name="fit_floor with alpha = 2", atol=1e-6)
lp = floor_log_prob(reference, splits.test.x)
check_close(lp[:3], torch.stack([reference[torch.arange(64), splits.test.x[i].reshape(-1)].sum() for i in range(3)]),
            name="floor_log_prob on 3 test images", atol=1e-4)
check_close(bits_per_dim(lp, 64), 2.398, name="floor bits/dim on the test split", atol=1e-3)
check_close(bits_per_dim(torch.tensor([-64 * math.log(17)]), 64), math.log2(17), name="uniform bits/dim")

# %% [markdown] coursekit={"id": "outro", "kind": "locked"}
# ## Before you submit
#
# Run *Kernel → Restart Kernel and Run All Cells*: every public test should print "passed". Then submit this notebook as it is (do not rename it). Questions to think about (not graded): why does the floor model need smoothing at all on the test split? What would `bits_per_dim` be for a model that memorised the training set, on the test set?
