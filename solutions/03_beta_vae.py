# %% [markdown] coursekit={"id": "intro", "kind": "locked"}
# # Exercise 03 · β, rate and disentanglement
#
# Goes with lecture `notebooks/03_beta_vae.ipynb`. **19 points:** 6 from public tests, 13 from hidden tests.
#
# You will solve the trade-off behind the β-VAE by hand where it can be solved, for Gaussian sources (reverse water-filling, with β as a Lagrange multiplier); write the plug-in mutual information of two discrete variables; build the Mutual Information Gap (MIG) from it and score codes of sprites whose factors of variation are known; and find which latent dimensions of an encoder are switched on. Nothing is trained: the whole notebook runs in a few seconds.
#
# **How this works.** Write your code only in the cells that say `YOUR CODE HERE` (the other cells are locked). After each task, run the public test cell below it: it tells you what it expected and what it got. Hidden tests, run by your instructor's grader, decide the grade — the public tests are a minimum, not a guarantee. All your code must live in the answer cells: cells you add yourself are not run by the grader. You can check your points from a terminal with `coursekit check exercises/03_beta_vae.ipynb`.

# %% coursekit={"id": "setup", "kind": "locked"}
import math

import torch

from coursekit.data import sprites
from coursekit.grading.checks import check_close, check_shape, check_true

torch.set_num_threads(1)  # the problems here are small: one thread is the fastest
torch.manual_seed(0)
test_sprites = sprites.sprites(split="test")  # 768 binary 32×32 sprites, each with its known factors
factors = test_sprites.factors                # (768, 5) float32: shape, scale, rotation, x, y
print(test_sprites.factor_names, tuple(factors.shape))
print("distinct values per factor:", [len(torch.unique(factors[:, k])) for k in range(factors.shape[1])])


# %% [markdown] coursekit={"id": "task-water-filling", "kind": "locked"}
# ## Task 1 · Reverse water-filling: β as a Lagrange multiplier (2 + 4 points)
#
# A β-VAE minimises *distortion + β · rate*, the rate being the KL term. The one case where this trade-off is solved by hand is the classical one: independent Gaussian sources $x_i \sim \mathcal N(0, \sigma_i^2)$, $i = 1, \dots, n$, coded under squared error. Spending $R_i$ nats on source $i$ buys at best the distortion (the Gaussian's distortion–rate function)
# $$D_i(R_i) = \sigma_i^2\, e^{-2R_i}, \qquad R_i \ge 0 .$$
# The β-weighted problem is
# $$\min_{R_1, \dots, R_n}\ \sum_i \sigma_i^2 e^{-2R_i} + \beta \sum_i R_i \qquad\text{subject to}\qquad R_i \ge 0 .$$
# It is convex ($e^{-2R}$ is convex, the constraints are linear), so the KKT conditions are necessary and sufficient. With a multiplier $\lambda_i \ge 0$ for each constraint $-R_i \le 0$, the Lagrangian is $\mathcal L = \sum_i \sigma_i^2 e^{-2R_i} + \beta \sum_i R_i - \sum_i \lambda_i R_i$, and the conditions are
#
# - stationarity: $\dfrac{\partial \mathcal L}{\partial R_i} = -2\sigma_i^2 e^{-2R_i} + \beta - \lambda_i = 0$;
# - complementary slackness: $\lambda_i R_i = 0$.
#
# If $R_i > 0$, then $\lambda_i = 0$ and stationarity reads $-2\sigma_i^2 e^{-2R_i} + \beta = 0$: $D_i = \beta/2$ and $R_i = \tfrac12\log(2\sigma_i^2/\beta)$, which is positive only when $\sigma_i^2 > \beta/2$. Otherwise $R_i = 0$, $D_i = \sigma_i^2$, and stationarity gives $\lambda_i = \beta - 2\sigma_i^2$, which is $\ge 0$ exactly when $\sigma_i^2 \le \beta/2$. Together:
# $$D_i = \min\big(\sigma_i^2,\ \beta/2\big), \qquad R_i = \max\!\Big(0,\ \tfrac12 \log \frac{2\sigma_i^2}{\beta}\Big).$$
# This is **reverse water-filling**: every coded component is brought down to the same "water level" $\beta/2$ of distortion, and on every active component the price of distortion in rate is the same, $-dD_i/dR_i = 2D_i = \beta$: β is the exchange rate between a nat of rate and a unit of distortion. A component whose variance lies below the water level, $\sigma_i^2 \le \beta/2$, gets **no rate at all**: describing it is not worth its price. In a β-VAE this is a switched-off latent — posterior collapse of that dimension, $q(z_j \mid x) = p(z_j)$ for every $x$, with KL 0 — and raising β raises the water level and switches more of them off (Task 4 finds them in an encoder's output).
#
# Write `reverse_water_filling(variances, beta_kl)`: `variances` is a float tensor of any shape, `beta_kl` the number β. Return `(rate, distortion)`: two tensors of the shape and dtype of `variances`, the rates in nats. A variance of 0 is allowed (it needs no rate); raise a `ValueError` if a variance is negative or if `beta_kl` ≤ 0.

# %% coursekit={"id": "water-filling", "kind": "answer"}
def reverse_water_filling(variances, beta_kl):
    """The minimiser of sum_i D_i + beta_kl * sum_i R_i over R_i >= 0, with D_i = sigma_i^2 exp(-2 R_i):
    returns (rate, distortion), R_i = max(0, log(2 sigma_i^2 / beta_kl) / 2) in nats and D_i = min(sigma_i^2, beta_kl / 2)."""
    ### BEGIN SOLUTION
    variances = torch.as_tensor(variances)
    if not variances.is_floating_point():
        variances = variances.to(torch.get_default_dtype())
    beta_kl = float(beta_kl)
    if not beta_kl > 0:
        raise ValueError(f"beta_kl must be positive, got {beta_kl}")
    if not bool((variances >= 0).all()):
        raise ValueError(f"variances must be >= 0, got a smallest value of {variances.min().item()}")
    water_level = beta_kl / 2
    distortion = variances.clamp(max=water_level)                    # D_i = min(sigma_i^2, beta / 2)
    rate = 0.5 * torch.log(variances / water_level).clamp(min=0.0)   # R_i = max(0, log(sigma_i^2 / level) / 2)
    return rate, distortion
    ### END SOLUTION


# %% coursekit={"id": "water-filling-public", "kind": "public-test", "points": 2}
rate, distortion = reverse_water_filling(torch.tensor([4.0, 1.0, 0.25]), beta_kl=1.0)  # water level β/2 = 0.5
check_shape(rate, (3,), name="rate for σ² = (4, 1, 0.25)")
check_shape(distortion, (3,), name="distortion for σ² = (4, 1, 0.25)")
check_close(distortion, torch.tensor([0.5, 0.5, 0.25]), name="distortion min(σ², β/2) for σ² = (4, 1, 0.25), β = 1")
check_close(rate, torch.tensor([0.5 * math.log(8.0), 0.5 * math.log(2.0), 0.0]),
            name="rate max(0, ½ log(2σ²/β)) for σ² = (4, 1, 0.25), β = 1")
rate64, distortion64 = reverse_water_filling(torch.tensor([3.0, 0.1], dtype=torch.float64), beta_kl=0.5)
check_true(rate64.dtype == torch.float64 and distortion64.dtype == torch.float64,
           f"float64 variances should give float64 rate and distortion, got {rate64.dtype} and {distortion64.dtype}")
print("Task 1 public tests passed")

# %% coursekit={"id": "water-filling-hidden", "kind": "hidden-test", "points": 3}
g = torch.Generator().manual_seed(11)
var = 3 * torch.rand(2, 6, generator=g, dtype=torch.float64)        # (2, 6) variances in [0, 3)
beta = 1.3
rate, dist = reverse_water_filling(var, beta)
check_shape(rate, (2, 6), name="rate for variances of shape (2, 6)")
check_shape(dist, (2, 6), name="distortion for variances of shape (2, 6)")
check_true(rate.dtype == torch.float64 and dist.dtype == torch.float64,
           f"float64 variances should give float64 results, got {rate.dtype} and {dist.dtype}")
check_close(dist, var.clamp(max=beta / 2), name="distortion min(σ², β/2), β = 1.3")
check_close(rate, (0.5 * torch.log(2 * var / beta)).clamp(min=0), name="rate max(0, ½ log(2σ²/β)), β = 1.3")
# it is the minimiser: no feasible allocation (R ≥ 0) does better, random or a small step away
def objective(r):
    return (var * torch.exp(-2 * r)).sum(-1) + beta * r.sum(-1)           # (..., 2)
best = objective(rate)
trials = 2.5 * torch.rand(4000, 2, 6, generator=g, dtype=torch.float64)
check_true(bool((objective(trials) >= best - 1e-12).all()),
           f"4000 random feasible allocations: the best reached {objective(trials).min(0).values.tolist()}, "
           f"below your allocation's {best.tolist()}")
steps = 1e-3 * torch.eye(12, dtype=torch.float64).view(12, 2, 6)
for moved in (rate + steps, (rate - steps).clamp(min=0)):
    check_true(bool((objective(moved) >= best - 1e-12).all()), "a step of 1e-3 in one rate lowered the objective")
# KKT: D_i = σ_i² e^{−2 R_i} at your rates, −dD_i/dR_i = β where R_i > 0, and R_i = 0 exactly where σ_i² ≤ β/2
r = rate.detach().clone().requires_grad_(True)
bought = var * torch.exp(-2 * r)
check_close(bought.detach(), dist, name="distortion vs σ² e^(−2R) at your rates")
bought.sum().backward()
active = var > beta / 2
check_true(bool(active.any()) and bool((~active).any()), "test set-up: some components above the level, some below")
check_close(-r.grad[active], torch.full((int(active.sum()),), beta, dtype=torch.float64),
            name="−dD_i/dR_i on the components with σ² > β/2 (stationarity)")
check_true(bool((rate[~active] == 0).all()), f"components with σ² ≤ β/2 must get rate 0, got {rate[~active].tolist()}")
check_true(bool((rate[active] > 0).all()), f"components with σ² > β/2 must get a positive rate, got {rate[active].tolist()}")
# at the level, at zero variance, and above every variance
r_edge, d_edge = reverse_water_filling(torch.tensor([0.5, 0.0, 2.0], dtype=torch.float64), 1.0)
check_close(r_edge, torch.tensor([0.0, 0.0, 0.5 * math.log(4.0)], dtype=torch.float64), name="rate for σ² = (β/2, 0, 2), β = 1")
check_close(d_edge, torch.tensor([0.5, 0.0, 0.5], dtype=torch.float64), name="distortion for σ² = (β/2, 0, 2), β = 1")
r_off, d_off = reverse_water_filling(var, 2 * var.max().item())
check_close(r_off, torch.zeros_like(var), name="rate when β/2 is above every variance (all switched off)")
check_close(d_off, var, name="distortion when β/2 is above every variance")

# %% coursekit={"id": "water-filling-errors-hidden", "kind": "hidden-test", "points": 1}
for bad_variances, bad_beta, what in [(torch.tensor([1.0, -0.5]), 1.0, "a negative variance"),
                                      (torch.tensor([1.0, 2.0]), 0.0, "beta_kl = 0"),
                                      (torch.tensor([1.0, 2.0]), -1.0, "beta_kl = −1")]:
    try:
        reverse_water_filling(bad_variances, bad_beta)
    except ValueError:
        continue
    except Exception as err:
        raise AssertionError(f"reverse_water_filling must raise ValueError for {what}, "
                             f"got {type(err).__name__}: {err}") from err
    raise AssertionError(f"reverse_water_filling must raise ValueError for {what}, but it returned")


# %% [markdown] coursekit={"id": "task-mi", "kind": "locked"}
# ## Task 2 · The mutual information of two discrete variables (1 + 3 points)
#
# For two discrete variables observed together $N$ times, $(a_n, b_n)$, the plug-in estimate replaces probabilities by frequencies, $\hat p(a, b) = \#\{n : a_n = a,\ b_n = b\}/N$, with the marginals $\hat p(a)$ and $\hat p(b)$:
# $$\hat I(a; b) = \sum_{(a, b):\ \hat p(a, b) > 0} \hat p(a, b)\, \log \frac{\hat p(a, b)}{\hat p(a)\, \hat p(b)} \;=\; \hat H(a) + \hat H(b) - \hat H(a, b), \qquad \hat H(a) = -\sum_a \hat p(a) \log \hat p(a),$$
# in nats. Pairs never observed contribute nothing ($0 \log 0 = 0$). $\hat I$ is 0 exactly when the table of counts factorises, and $\hat I(a; a) = \hat H(a)$: a variable carries all of its own information.
#
# `a` and `b` are (N,) tensors of labels. Labels are names, not numbers: they need not start at 0 or be consecutive (`torch.unique(..., return_inverse=True)` turns them into 0..V−1, and `torch.bincount` counts pairs). Return a Python float.

# %% coursekit={"id": "mi", "kind": "answer"}
def mutual_information(a, b):
    """Plug-in mutual information I(a; b) in nats of two (N,) tensors of discrete labels, from their joint counts."""
    ### BEGIN SOLUTION
    _, ia = torch.unique(a, return_inverse=True)                    # labels → 0..A−1
    _, ib = torch.unique(b, return_inverse=True)                    # labels → 0..B−1
    n_a, n_b = int(ia.max()) + 1, int(ib.max()) + 1
    counts = torch.bincount(ia * n_b + ib, minlength=n_a * n_b)     # joint counts of the pairs
    p = counts.reshape(n_a, n_b).to(torch.float64) / len(a)         # p(a, b)
    independent = p.sum(1, keepdim=True) * p.sum(0, keepdim=True)   # p(a) p(b)
    seen = p > 0
    return max(0.0, float((p[seen] * torch.log(p[seen] / independent[seen])).sum()))
    ### END SOLUTION


# %% coursekit={"id": "mi-public", "kind": "public-test", "points": 1}
a = torch.tensor([0, 0, 1, 1, 1, 1, 2, 2])
h_a = -(2 * 0.25 * math.log(0.25) + 0.5 * math.log(0.5))
got = mutual_information(a, a)
check_true(isinstance(got, float), f"mutual_information should return a Python float, got {type(got).__name__}")
check_close(mutual_information(a, a), h_a, name="I(a; a) = H(a) for a = [0, 0, 1, 1, 1, 1, 2, 2]")
check_close(mutual_information(torch.tensor([0, 0, 1, 1]), torch.tensor([5, 7, 5, 7])), 0.0, atol=1e-12,
            name="I(a; b) for a = [0, 0, 1, 1], b = [5, 7, 5, 7] (the counts factorise)")
print("Task 2 public tests passed")

# %% coursekit={"id": "mi-hidden", "kind": "hidden-test", "points": 3}
from sklearn.metrics import mutual_info_score

g = torch.Generator().manual_seed(21)
a = torch.randint(0, 6, (3000,), generator=g)
b = (a + torch.randint(0, 3, (3000,), generator=g)) % 5 * 10 - 7       # depends on a; labels −7, 3, 13, 23, 33
got = mutual_information(a, b)
check_true(isinstance(got, float), f"mutual_information should return a Python float, got {type(got).__name__}")
check_close(got, mutual_info_score(a.numpy(), b.numpy()), name="mutual_information vs sklearn's mutual_info_score",
            rtol=1e-6, atol=1e-9)
check_close(mutual_information(b, a), got, name="symmetry: I(b; a) vs I(a; b)", rtol=1e-9, atol=1e-12)
check_close(mutual_information(3 * a + 100, b), got, name="I after relabelling a → 3a + 100", rtol=1e-9, atol=1e-12)
counts = torch.bincount(a % 3).double()
h = float(-(counts / 3000 * torch.log(counts / 3000)).sum())
check_close(mutual_information(a, a % 3), h, name="I(a; f(a)) = H(f(a)) for f(a) = a mod 3", rtol=1e-9, atol=1e-12)
x = torch.randint(0, 4, (200_000,), generator=g)
y = torch.randint(0, 5, (200_000,), generator=g)
independent = mutual_information(x, y)
check_true(0.0 <= independent < 1e-3, f"I of two independent variables (200,000 samples) should be ≈ 0, got {independent}")
codes = [torch.unique(factors[:, k], return_inverse=True)[1] for k in range(5)]
for j, k in [(0, 3), (1, 2), (4, 4)]:
    check_close(mutual_information(codes[j], codes[k]), mutual_info_score(codes[j].numpy(), codes[k].numpy()),
                name=f"I(sprite factor {j}; factor {k}) vs sklearn", rtol=1e-6, atol=1e-9)


# %% [markdown] coursekit={"id": "task-mig", "kind": "locked"}
# ## Task 3 · The Mutual Information Gap (2 + 4 points)
#
# A code $z \in \mathbb R^L$ is *disentangled* with respect to known factors $v_1, \dots, v_F$ when each factor lives in one latent dimension and in no other. MIG (Chen et al., 2018) measures this:
# $$\mathrm{MIG} = \frac1F \sum_{k=1}^F \frac{I(z_{j^\ast_k}; v_k) - I(z_{j^\circ_k}; v_k)}{H(v_k)},$$
# where $j^\ast_k$ and $j^\circ_k$ are the latent dimensions with the largest and the second-largest mutual information with $v_k$. Dividing by $H(v_k)$, which no $I(z_j; v_k)$ exceeds, puts every factor on a scale from 0 to 1; the gap rewards a factor held by *one* latent: two latents that share it equally give 0.
#
# The latents are continuous; the standard estimate, which is `coursekit.evaluation.mig`'s, goes:
#
# 1. discretise each latent column $j$ into `bins` equal-width bins between its minimum and its maximum over the $N$ samples: $z_{nj}$ goes into bin $\big\lfloor \texttt{bins} \cdot (z_{nj} - \min_j) / (\max_j - \min_j) \big\rfloor$, and the maximum itself, which would land in bin `bins`, goes into the last bin, `bins − 1`;
# 2. the factors are discrete already: each factor's distinct values are its labels;
# 3. $I(z_j; v_k)$ is Task 2's plug-in estimate for the binned column and the factor, and $H(v_k) = I(v_k; v_k)$;
# 4. for each factor, the gap between the largest and the second-largest normalised MI $I(z_j; v_k)/H(v_k)$ over the latents $j$; then the mean over the factors.
#
# `latents` is a float tensor (N, L) with L ≥ 2, `factors` a tensor (N, F) (the sprites' factors are floats, each with a few distinct values); return a Python float. The setup cell's `factors` are those of the 768 test sprites: a code that *is* the factors scores close to 1 (not exactly 1: on a sample of the grid the factors are not quite independent), and mixing them by a rotation brings it down.

# %% coursekit={"id": "mig", "kind": "answer"}
def mutual_information_gap(latents, factors, bins=20):
    """MIG of a code (N, L) against discrete factors (N, F): the mean over factors of the gap between the two largest
    I(z_j; v_k) / H(v_k), each latent column binned into `bins` equal-width bins between its min and max."""
    ### BEGIN SOLUTION
    z = latents.detach().to(torch.float64)
    low, high = z.min(0).values, z.max(0).values
    width = (high - low).clamp(min=torch.finfo(z.dtype).tiny)        # a constant column goes into bin 0
    binned = ((z - low) / width * bins).long().clamp(0, bins - 1)     # (N, L) in 0..bins−1, the maximum in the last
    gaps = []
    for k in range(factors.shape[1]):
        v = torch.unique(factors[:, k], return_inverse=True)[1]       # the factor's values as labels 0..V−1
        informations = torch.tensor([mutual_information(binned[:, j], v) for j in range(z.shape[1])])
        first, second = torch.topk(informations / mutual_information(v, v), 2).values
        gaps.append(float(first - second))
    return sum(gaps) / len(gaps)
    ### END SOLUTION


# %% coursekit={"id": "mig-public", "kind": "public-test", "points": 2}
v = torch.tensor([[0.0], [0.0], [0.0], [0.0], [1.0], [1.0], [1.0], [1.0]])   # one factor, 8 samples
other = torch.tensor([[0.0], [1.0], [0.0], [1.0], [0.0], [1.0], [0.0], [1.0]])  # independent of it
got = mutual_information_gap(torch.cat([v, other], 1), v)
check_true(isinstance(got, float), f"mutual_information_gap should return a Python float, got {type(got).__name__}")
check_close(got, 1.0, name="MIG of the code (v, something independent of v) against v")
check_close(mutual_information_gap(torch.cat([v, v], 1), v), 0.0, atol=1e-12,
            name="MIG of the code (v, v): two latents share the factor equally")
perfect = mutual_information_gap(factors, factors)
print(f"MIG of the code that is the 5 sprite factors: {perfect:.4f}")
check_true(0.95 < perfect <= 1.0, f"the sprite factors as their own code should score between 0.95 and 1, got {perfect}")
print("Task 3 public tests passed")

# %% coursekit={"id": "mig-reference-hidden", "kind": "hidden-test", "points": 2}
from coursekit.evaluation import mig

g = torch.Generator().manual_seed(31)
standard = (factors - factors.mean(0)) / factors.std(0)                       # (768, 5)
codes = {
    "a random code (768, 6)": torch.randn(768, 6, generator=g),
    "the factors plus noise, and 3 noise columns": torch.cat([standard + 0.3 * torch.randn(768, 5, generator=g),
                                                              torch.randn(768, 3, generator=g)], 1),
    "the factors, columns shuffled": factors[:, torch.randperm(5, generator=g)],
}
pixels = test_sprites.x.flatten(1).double()
pixels = pixels - pixels.mean(0)
codes["the first 6 principal components of the images"] = pixels @ torch.linalg.svd(pixels, full_matrices=False)[2][:6].T
for name, code in codes.items():
    for bins in (20, 7):
        got = mutual_information_gap(code, factors, bins=bins)
        check_close(got, mig(code, factors, bins=bins), name=f"MIG of {name} with {bins} bins vs coursekit.evaluation.mig",
                    rtol=1e-6, atol=1e-6)

# %% coursekit={"id": "mig-properties-hidden", "kind": "hidden-test", "points": 2}
g = torch.Generator().manual_seed(32)
shuffled = factors[:, torch.randperm(5, generator=g)]
perfect = mutual_information_gap(shuffled, factors)
check_true(0.95 < perfect <= 1.0 + 1e-9, f"the factors as their own code (columns shuffled) should score ≈ 1, got {perfect}")
standard = (factors.double() - factors.double().mean(0)) / factors.double().std(0)
code = torch.cat([standard + 0.2 * torch.randn(768, 5, generator=g, dtype=torch.float64),
                  torch.randn(768, 2, generator=g, dtype=torch.float64)], 1)
base = mutual_information_gap(code, factors)
for s in range(3):
    permuted = mutual_information_gap(code[:, torch.randperm(7, generator=g)], factors)
    check_close(permuted, base, name="MIG after permuting the latent columns", rtol=0, atol=1e-9)
unmixed = mutual_information_gap(standard, factors)
for s in range(3):
    rotation, _ = torch.linalg.qr(torch.randn(5, 5, generator=g, dtype=torch.float64))
    rotated = mutual_information_gap(standard @ rotation, factors)
    check_true(rotated < unmixed - 0.5, f"a random rotation of the factors should score far below the factors "
               f"themselves ({unmixed:.3f}), got {rotated:.3f}")
from coursekit.evaluation import mig_details

shared = mutual_information_gap(torch.cat([standard, standard[:, :1]], 1), factors)
check_close(unmixed - shared, mig_details(standard, factors).gaps[0] / 5, rtol=1e-6, atol=1e-9,
            name="the drop in MIG when factor 0 is copied into a second latent (its gap falls to 0)")


# %% [markdown] coursekit={"id": "task-active", "kind": "locked"}
# ## Task 4 · Which latents are on? (1 + 2 points)
#
# For each of $N$ inputs an encoder gives $\mu_{nj}$ and $\log\sigma^2_{nj}$, $j = 1, \dots, L$. The KL term of the ELBO is a sum over the latent dimensions, and its average over the data says how many nats each dimension carries — the rate $R_j$ of Task 1:
# $$\overline{\mathrm{KL}}_j = \frac1N \sum_{n=1}^N \tfrac12\big(\mu_{nj}^2 + \sigma_{nj}^2 - 1 - \log \sigma_{nj}^2\big).$$
# A dimension whose posterior is the prior for every input, $\mu_{nj} = 0$ and $\sigma_{nj} = 1$, has $\overline{\mathrm{KL}}_j = 0$: it is switched off (collapsed), and the decoder learns to ignore it. A β-VAE with a larger β switches off more dimensions; those still on are the code.
#
# Write `kl_per_dimension(mu, log_var)`, which returns the (L,) tensor of the $\overline{\mathrm{KL}}_j$ for `mu` and `log_var` of shape (N, L), and `active_dimensions(mu, log_var, threshold=0.05)`, which returns the indices $j$ with $\overline{\mathrm{KL}}_j$ > `threshold` as a `torch.long` tensor, the dimension with the largest $\overline{\mathrm{KL}}_j$ first (an empty tensor if there is none).

# %% coursekit={"id": "kl-per-dimension", "kind": "answer"}
def kl_per_dimension(mu, log_var):
    """The mean over the batch of KL(N(mu_j, exp(log_var_j)) || N(0, 1)) for each latent dimension: (N, L) → (L,)."""
    ### BEGIN SOLUTION
    per_example = 0.5 * (mu ** 2 + torch.exp(log_var) - 1.0 - log_var)   # (N, L)
    return per_example.mean(dim=0)
    ### END SOLUTION


# %% coursekit={"id": "active-dimensions", "kind": "answer"}
def active_dimensions(mu, log_var, threshold=0.05):
    """Indices (torch.long) of the dimensions whose mean KL exceeds `threshold`, the largest KL first."""
    ### BEGIN SOLUTION
    kl = kl_per_dimension(mu, log_var)
    by_kl = torch.argsort(kl, descending=True)
    return by_kl[kl[by_kl] > threshold].to(torch.long)
    ### END SOLUTION


# %% coursekit={"id": "active-public", "kind": "public-test", "points": 1}
mu = torch.tensor([[1.0, 0.0, 0.1], [-1.0, 0.0, -0.1]])
log_var = torch.zeros(2, 3)
check_close(kl_per_dimension(mu, log_var), torch.tensor([0.5, 0.0, 0.005]),
            name="kl_per_dimension for mu = [[1, 0, 0.1], [−1, 0, −0.1]], log_var = 0")
on = active_dimensions(mu, log_var)
check_true(on.dtype == torch.long, f"active_dimensions should return a torch.long tensor, got {on.dtype}")
check_true(on.tolist() == [0], f"active dimensions (mean KL > 0.05) of that code: expected [0], got {on.tolist()}")
print("Task 4 public tests passed")

# %% coursekit={"id": "active-hidden", "kind": "hidden-test", "points": 2}
from coursekit.models.vae import gaussian_kl

g = torch.Generator().manual_seed(41)
mu, log_var = torch.randn(64, 7, generator=g, dtype=torch.float64), torch.randn(64, 7, generator=g, dtype=torch.float64)
kl = kl_per_dimension(mu, log_var)
check_shape(kl, (7,), name="kl_per_dimension on (64, 7)")
check_close(kl.sum(), gaussian_kl(mu, log_var).mean(), name="sum of kl_per_dimension vs the mean of gaussian_kl")
check_true(bool((kl >= 0).all()), f"a KL divergence is never negative, got {kl.tolist()}")
# five dimensions with known mean KL: 0 (the prior), 2, 0.5, 0.02 and ½(e^−2 − 1 + 2) ≈ 0.568 (μ = 0, a narrow σ)
sign = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
mu = sign * torch.tensor([[0.0, 2.0, 1.0, 0.2, 0.0]], dtype=torch.float64)
log_var = torch.tensor([[0.0, 0.0, 0.0, 0.0, -2.0]], dtype=torch.float64).expand(2, 5)
check_close(kl_per_dimension(mu, log_var), torch.tensor([0.0, 2.0, 0.5, 0.02, 0.5 * math.exp(-2) + 0.5],
            dtype=torch.float64), name="kl_per_dimension on the five hand-made dimensions")
for threshold, expected in [(0.05, [1, 4, 2]), (0.01, [1, 4, 2, 3]), (1.0, [1]), (3.0, [])]:
    on = active_dimensions(mu, log_var, threshold=threshold)
    check_true(on.dtype == torch.long and on.dim() == 1, f"active_dimensions should return a 1-D torch.long tensor, "
               f"got dtype {on.dtype} and shape {tuple(on.shape)}")
    check_true(on.tolist() == expected, f"active dimensions with threshold {threshold}: expected {expected} "
               f"(largest KL first), got {on.tolist()}")
check_true(active_dimensions(mu, log_var).tolist() == [1, 4, 2], "the default threshold should be 0.05")

# %% [markdown] coursekit={"id": "outro", "kind": "locked"}
# ## Before you submit
#
# Run *Kernel → Restart Kernel and Run All Cells*: every public test should print "passed". Then submit this notebook as it is (do not rename it). Questions to think about (not graded): in Task 1, which component switches off first as β grows, and what is the total rate as a function of β? Why does a rotation of the factors (Task 3) lose MIG although it loses no information — and would the KL term of a VAE with the isotropic prior $\mathcal N(0, I)$ notice the rotation of a Gaussian code? Which MIG would a code get in which a factor is spread over two latents, each holding half of it?
