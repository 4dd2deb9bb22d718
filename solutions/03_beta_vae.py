# %% [markdown] coursekit={"id": "intro", "kind": "locked"}
# # Exercise 03 · β, rate and disentanglement
#
# Goes with lecture `notebooks/03_beta_vae.ipynb`. **19 points:** 6 from public tests, 13 from hidden tests.
#
# You will solve the trade-off behind the β-VAE by hand where it can be solved, for Gaussian sources: turn a budget of nats into an allocation and its multiplier β with the KKT conditions (reverse water-filling); write the plug-in mutual information of two discrete variables; build the Mutual Information Gap (MIG) from it and score codes of sprites whose factors of variation are known; and find which latent dimensions of an encoder are switched on. Nothing is trained: the whole notebook runs in a few seconds.
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
# ## Task 1 · Reverse water-filling: from a budget of nats to β (2 + 4 points)
#
# Lecture 03 starts from a *constraint* — reconstruct as well as possible with a code of at most $\delta$ nats — and its KKT conditions turn the budget into a multiplier $\beta$. Here you do this by hand in the one case where it can be done: independent Gaussian sources $x_i \sim \mathcal N(0, \sigma_i^2)$, $i = 1, \dots, n$, coded under squared error. Spending $R_i$ nats on source $i$ buys at best the distortion (the Gaussian's distortion–rate function)
# $$D_i(R_i) = \sigma_i^2\, e^{-2R_i}, \qquad R_i \ge 0 .$$
# With a total budget of $\delta \ge 0$ nats the problem is
# $$\min_{R_1, \dots, R_n}\ \sum_i \sigma_i^2 e^{-2R_i} \qquad\text{subject to}\qquad \sum_i R_i \le \delta, \qquad R_i \ge 0 .$$
# It is convex ($e^{-2R}$ is convex, the constraints are linear), so the KKT conditions are necessary and sufficient. Give the budget the multiplier $\beta \ge 0$ (it is the β of the β-VAE) and each constraint $-R_i \le 0$ a multiplier $\lambda_i \ge 0$:
# $$\mathcal L = \sum_i \sigma_i^2 e^{-2R_i} + \beta\Big(\sum_i R_i - \delta\Big) - \sum_i \lambda_i R_i ,$$
# with stationarity $\partial\mathcal L/\partial R_i = 0$ for every $i$ and complementary slackness $\beta\,(\sum_i R_i - \delta) = 0$, $\lambda_i R_i = 0$.
#
# **Work it out on paper first** (this is the point of the task; the tests check the answer's properties, not a formula):
# 1. Solve stationarity for a source with $R_i > 0$ and for one with $R_i = 0$. What do all coded sources have in common at the optimum? Which sources get no rate at all?
# 2. Show that the budget is spent exactly ($\sum_i R_i = \delta$) whenever some $\sigma_i^2 > 0$.
# 3. The total rate is then a decreasing function of β. Find the β at which it equals $\delta$: which sources are coded depends on β itself, so either try the sources in order of decreasing variance, or search β numerically (bisection on $\log\beta$ converges in a few dozen steps).
#
# Write `reverse_water_filling(variances, budget)`: `variances` is a float tensor of any shape (each element one source), `budget` the number $\delta$ of nats. Return `(rate, distortion, beta_kl)`: the optimal $R_i$ and $D_i$ as tensors of the shape and dtype of `variances`, and the multiplier β as a Python float. At $\delta = 0$ several β satisfy the conditions; return the smallest. A variance of 0 is allowed (such a source needs no rate); raise a `ValueError` if a variance is negative, if the budget is negative, or if no variance is positive.
#
# (Once you have it: a source that gets no rate is what a switched-off latent of a β-VAE is — posterior collapse of that dimension, $q(z_j \mid x) = p(z_j)$ with KL 0 — and a smaller budget, which is a larger β, switches more of them off. Task 4 finds them in an encoder's output.)

# %% coursekit={"id": "water-filling", "kind": "answer"}
def reverse_water_filling(variances, budget):
    """The allocation of at most `budget` nats over independent Gaussian sources with these variances that
    minimises the total squared error, sum_i sigma_i^2 exp(-2 R_i) with R_i >= 0: returns (rate, distortion,
    beta_kl), beta_kl being the KKT multiplier of the budget."""
    ### BEGIN SOLUTION
    variances = torch.as_tensor(variances)
    if not variances.is_floating_point():
        variances = variances.to(torch.get_default_dtype())
    budget = float(budget)
    if not budget >= 0:
        raise ValueError(f"budget must be a number of nats >= 0, got {budget}")
    if not bool((variances >= 0).all()):
        raise ValueError(f"variances must be >= 0, got a smallest value of {variances.min().item()}")
    if not bool((variances > 0).any()):
        raise ValueError("at least one variance must be positive: with none, no rate buys anything and β is undefined")
    # R_i > 0 ⇒ λ_i = 0 ⇒ 2 σ_i² e^{−2R_i} = β: every coded source ends at the same distortion θ = β/2 (the water level);
    # R_i = 0 ⇒ λ_i = β − 2σ_i² ≥ 0: the sources with σ_i² ≤ θ are not coded. The budget binds (β > 0), so
    # Σ_{coded} ½ log(σ_i²/θ) = δ. With the m largest variances coded: log θ = (Σ_{i≤m} log σ_i² − 2δ) / m.
    s = torch.sort(variances.detach().flatten().to(torch.float64), descending=True).values
    for m in range(1, len(s) + 1):
        log_level = float((torch.log(s[:m]).sum() - 2 * budget) / m)
        if m == len(s) or log_level >= float(torch.log(s[m])):      # the (m+1)-th source lies at or below the level
            break
    level = math.exp(log_level)                                      # θ = β / 2
    rate = (0.5 * torch.log(variances / level)).clamp(min=0.0)       # R_i = max(0, ½ log(σ_i² / θ))
    distortion = variances.clamp(max=level)                          # D_i = min(σ_i², θ)
    return rate, distortion, 2 * level
    ### END SOLUTION


# %% coursekit={"id": "water-filling-public", "kind": "public-test", "points": 2}
rate, distortion, beta_kl = reverse_water_filling(torch.tensor([4.0, 1.0, 0.25]), budget=math.log(4.0))
check_shape(rate, (3,), name="rate for σ² = (4, 1, 0.25)")
check_shape(distortion, (3,), name="distortion for σ² = (4, 1, 0.25)")
check_true(isinstance(beta_kl, float), f"beta_kl should be a Python float, got {type(beta_kl).__name__}")
check_close(rate.sum(), torch.tensor(math.log(4.0)), name="the total rate for a budget of log 4 nats (it is spent)")
check_close(distortion, torch.tensor([0.5, 0.5, 0.25]), name="distortion for σ² = (4, 1, 0.25), a budget of log 4 nats")
check_close(rate, torch.tensor([1.0397208, 0.3465736, 0.0]), name="rate for σ² = (4, 1, 0.25), a budget of log 4 nats")
check_close(beta_kl, 1.0, name="β for σ² = (4, 1, 0.25), a budget of log 4 nats")
rate64, distortion64, _ = reverse_water_filling(torch.tensor([3.0, 0.1], dtype=torch.float64), budget=0.5)
check_true(rate64.dtype == torch.float64 and distortion64.dtype == torch.float64,
           f"float64 variances should give float64 rate and distortion, got {rate64.dtype} and {distortion64.dtype}")
print("Task 1 public tests passed")

# %% coursekit={"id": "water-filling-hidden", "kind": "hidden-test", "points": 3}
g = torch.Generator().manual_seed(11)
var = 0.05 + 3 * torch.rand(2, 6, generator=g, dtype=torch.float64)   # (2, 6): 12 sources with variances in (0.05, 3.05)


def objective(r):
    return (var * torch.exp(-2 * r)).flatten(-2).sum(-1)                # total distortion of allocations (..., 2, 6)


def total_rate(beta):                                                   # Σ_i max(0, ½ log(2σ_i²/β)), decreasing in β
    return float((0.5 * torch.log(2 * var / beta)).clamp(min=0).sum())


for budget in (0.4, 2.5, 9.0):
    rate, dist, beta_kl = reverse_water_filling(var, budget)
    check_shape(rate, (2, 6), name=f"rate for variances of shape (2, 6), budget {budget}")
    check_shape(dist, (2, 6), name=f"distortion for variances of shape (2, 6), budget {budget}")
    check_true(rate.dtype == torch.float64 and dist.dtype == torch.float64,
               f"float64 variances should give float64 results, got {rate.dtype} and {dist.dtype}")
    check_true(bool((rate >= 0).all()), f"rates must be >= 0, got {rate.min().item()} with budget {budget}")
    check_close(rate.sum(), torch.tensor(budget, dtype=torch.float64), rtol=1e-9, atol=1e-9,
                name=f"total rate with budget {budget} (the budget is spent)")
    check_close(dist, var * torch.exp(-2 * rate), name=f"distortion vs σ² e^(−2R) at your rates, budget {budget}")
    # the minimiser: no other allocation of the same budget does better, random or a small transfer between two sources
    best = float(objective(rate))
    weights = torch.rand(4000, 12, generator=g, dtype=torch.float64) ** 3    # uneven splits of the budget
    trials = (budget * weights / weights.sum(1, keepdim=True)).view(4000, 2, 6)
    check_true(bool((objective(trials) >= best - 1e-12).all()),
               f"4000 random allocations of {budget} nats: the best gave {objective(trials).min().item():.6f}, "
               f"below your allocation's {best:.6f}")
    flat = rate.flatten()
    for i in range(12):
        for j in range(12):
            if i != j and flat[j] > 1e-4:
                moved = flat.clone()
                moved[i] += 1e-4
                moved[j] -= 1e-4
                check_true(float(objective(moved.view(2, 6))) >= best - 1e-12,
                           f"moving 1e-4 nats from source {j} to source {i} lowered the distortion (budget {budget})")
    # KKT: β = −dD_i/dR_i = 2 D_i on every coded source; a source is left out exactly where 2σ_i² ≤ β
    coded = rate > 0
    check_close(2 * dist[coded], torch.full((int(coded.sum()),), beta_kl, dtype=torch.float64),
                name=f"−dD_i/dR_i = 2 D_i on the coded sources vs your β, budget {budget}")
    check_true(bool((2 * var[~coded] <= beta_kl * (1 + 1e-9)).all()),
               f"a source with 2σ² above β = {beta_kl:.4f} got no rate (budget {budget})")
    # β itself, by bisection on the total rate (it falls from ∞ to 0 as β grows)
    lo, hi = 1e-12, 2 * float(var.max())
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if total_rate(mid) > budget else (lo, mid)
    check_close(beta_kl, hi, rtol=1e-7, name=f"β for budget {budget} vs bisection of the total rate")
check_true(0 < int((reverse_water_filling(var, 0.4)[0] > 0).sum()) < 12, "test set-up: some sources coded, some not")
# a larger budget lowers β; a budget of 0 codes nothing at the smallest β that allows it
betas = [reverse_water_filling(var, b)[2] for b in (0.1, 1.0, 4.0, 16.0)]
check_true(all(a > b for a, b in zip(betas, betas[1:])), f"β should fall as the budget grows, got {betas}")
r0, d0, b0 = reverse_water_filling(var, 0.0)
check_close(r0, torch.zeros_like(var), name="rates with a budget of 0")
check_close(d0, var, name="distortion with a budget of 0")
check_close(b0, 2 * float(var.max()), name="β with a budget of 0 (the smallest β that switches every source off)")
# a source of variance 0 needs no rate; equal variances share the budget equally
r_edge, d_edge, b_edge = reverse_water_filling(torch.tensor([0.0, 2.0, 2.0, 0.5], dtype=torch.float64), 1.0)
check_close(r_edge, torch.tensor([0.0, 0.5, 0.5, 0.0], dtype=torch.float64), name="rate for σ² = (0, 2, 2, 0.5), a budget of 1")
check_close(d_edge, torch.tensor([0.0, 2 / math.e, 2 / math.e, 0.5], dtype=torch.float64),
            name="distortion for σ² = (0, 2, 2, 0.5), a budget of 1")
check_close(b_edge, 4 / math.e, name="β for σ² = (0, 2, 2, 0.5), a budget of 1")

# %% coursekit={"id": "water-filling-errors-hidden", "kind": "hidden-test", "points": 1}
for bad_variances, bad_budget, what in [(torch.tensor([1.0, -0.5]), 1.0, "a negative variance"),
                                        (torch.tensor([1.0, 2.0]), -0.5, "a budget of −0.5"),
                                        (torch.tensor([0.0, 0.0]), 1.0, "no positive variance")]:
    try:
        reverse_water_filling(bad_variances, bad_budget)
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
# The latents are continuous; the standard estimate (the one `coursekit.evaluation.mig` uses) goes:
#
# 1. discretise each latent column $j$ into `bins` equal-width bins between its minimum and its maximum over the $N$ samples: $z_{nj}$ goes into bin $\big\lfloor \texttt{bins} \cdot (z_{nj} - \min_j) / (\max_j - \min_j) \big\rfloor$, and the maximum itself, which would land in bin `bins`, goes into the last bin, `bins − 1`; A column that never moves ($\max_j = \min_j$) goes into one bin: it carries no information;
# 2. the factors are discrete already: each factor's distinct values are its labels;
# 3. $I(z_j; v_k)$ is Task 2's plug-in estimate for the binned column and the factor, and $H(v_k) = I(v_k; v_k)$;
# 4. for each factor, the gap between the largest and the second-largest normalised MI $I(z_j; v_k)/H(v_k)$ over the latents $j$; then the mean over the factors.
#
# `latents` is a float tensor (N, L) with L ≥ 2, `factors` a tensor (N, F) (the sprites' factors are floats, each with a few distinct values); return a Python float. The setup cell's `factors` are those of the 768 test sprites: a code that *is* the factors scores close to 1 (not exactly 1: on a sample of the grid the factors are not quite independent), and mixing them by a rotation brings it down.
#
# The hidden tests grade what MIG means, not one implementation's rounding: codes whose MIG is known exactly (copies of the factors, rescaled and shifted, beside independent noise; a factor coarsened; two factors in one latent; a latent that never moves), a factor beside pure noise, and the invariances MIG has (permuting, rescaling or shifting latents; renaming factor values).

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

# %% coursekit={"id": "mig-known-hidden", "kind": "hidden-test", "points": 2}
# Codes whose MIG is known exactly. A latent with at most `bins` + 1 equally spaced values keeps every value in a bin
# of its own under any equal-width binning, so its information about a factor is the plug-in MI of discrete labels
# (sklearn's mutual_info_score); nothing here depends on where exactly the bin edges fall.
from sklearn.metrics import mutual_info_score

labels = torch.stack([torch.unique(factors[:, k], return_inverse=True)[1] for k in range(5)], 1)   # (768, 5) in 0..V−1


def exact_mig(columns, targets):
    "MIG of discrete latents (a list of (N,) label tensors) against the (N, F) discrete factors, from exact plug-in MIs."
    gaps = []
    for k in range(targets.shape[1]):
        v = targets[:, k].numpy()
        info = sorted((mutual_info_score(c.numpy(), v) for c in columns), reverse=True)
        gaps.append((info[0] - info[1]) / mutual_info_score(v, v))
    return sum(gaps) / len(gaps)


g = torch.Generator().manual_seed(31)
noise = [torch.randint(0, 10, (768,), generator=g) for _ in range(2)]                  # independent discrete noise
shape, scale, rotation, x, y = labels.T
cases = {  # name: (the latent columns as labels, the code the function gets: rescaled, shifted, some flipped)
    "the factors, permuted, rescaled, shifted and flipped": ([x, shape, y, rotation, scale],
                                                             [2.5, -0.01, 1000.0, -3.0, 0.2], [0.0, 7.0, -50.0, 1.0, 0.3]),
    "the factors and two columns of independent discrete noise": ([shape, scale, rotation, x, y, *noise],
                                                                  [1, 1, 1, 1, 1, 0.5, -2], [0] * 7),
    "x coarsened (4 values) beside x itself": ([x // 2, shape, scale, rotation, x, y], [1, 1, 1, -1, 1, 1], [0] * 6),
    "shape and scale in one latent (15 values)": ([shape * 5 + scale, rotation, x, y, noise[0]], [0.1, 1, 1, 1, 1],
                                                 [0] * 5),
    "a latent that never moves beside the factors": ([shape, scale, rotation, x, y, torch.zeros(768, dtype=torch.long)],
                                                    [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 3.5]),
}
for name, (columns, scales, shifts) in cases.items():
    code = torch.stack(columns, 1).double() * torch.tensor(scales, dtype=torch.float64) + torch.tensor(shifts, dtype=torch.float64)
    got = mutual_information_gap(code, factors)
    check_true(isinstance(got, float) and math.isfinite(got), f"MIG of {name}: expected a finite Python float, got {got!r}")
    check_close(got, exact_mig(columns, labels), rtol=1e-7, atol=1e-9, name=f"MIG of {name}")
# a continuous code: the factors' labels plus noise far smaller than the bins (11 bins: no label sits near an edge)
jittered = labels.double() + 1e-3 * torch.rand(768, 5, generator=g, dtype=torch.float64)
check_close(mutual_information_gap(jittered, factors, bins=11), exact_mig(list(labels.T), labels), rtol=1e-7, atol=1e-9,
            name="MIG of the factors plus noise of 1e-3, 11 bins")
# one factor copied, the other two absent, four columns of continuous noise: MIG ≈ 1/3 (200,000 samples, so the
# plug-in estimate's upward bias, about (bins − 1)(V − 1)/2N nats per pair, is small)
n = 200_000
synthetic = torch.stack([torch.randint(0, v, (n,), generator=g) for v in (4, 6, 8)], 1).float()    # (n, 3) factors
code = torch.cat([synthetic[:, :1] + 0.01 * torch.rand(n, 1, generator=g), torch.randn(n, 4, generator=g)], 1)
got = mutual_information_gap(code, synthetic)
check_close(got, 1 / 3, atol=0.01, name="MIG of (a copy of factor 0, four noise columns) against three factors")

# %% coursekit={"id": "mig-properties-hidden", "kind": "hidden-test", "points": 2}
from sklearn.metrics import mutual_info_score

g = torch.Generator().manual_seed(32)
standard = (factors.double() - factors.double().mean(0)) / factors.double().std(0)
code = torch.cat([standard + 0.2 * torch.randn(768, 5, generator=g, dtype=torch.float64),
                  torch.randn(768, 2, generator=g, dtype=torch.float64)], 1)
base = mutual_information_gap(code, factors)
for s in range(3):
    permuted = mutual_information_gap(code[:, torch.randperm(7, generator=g)], factors)
    check_close(permuted, base, name="MIG after permuting the latent columns", rtol=0, atol=1e-9)
    scales = (torch.rand(7, generator=g, dtype=torch.float64) + 0.1) * 10.0 ** torch.randint(-3, 4, (7,), generator=g)
    scales = scales * torch.where(torch.rand(7, generator=g) < 0.5, -1.0, 1.0).double()
    moved = mutual_information_gap(code * scales + 100 * torch.randn(7, generator=g, dtype=torch.float64), factors)
    check_close(moved, base, name="MIG after rescaling each latent (some by negative factors, scales 1e-3 to 1e4) "
                "and shifting it", rtol=0, atol=1e-9)
check_close(mutual_information_gap(code, factors * torch.tensor([3.0, -1.0, 10.0, 0.5, 2.0]) + 1), base, rtol=0,
            atol=1e-9, name="MIG after renaming the factors' values (rescaled, one flipped, shifted)")
unmixed = mutual_information_gap(standard, factors)
for s in range(3):
    rotation, _ = torch.linalg.qr(torch.randn(5, 5, generator=g, dtype=torch.float64))
    rotated = mutual_information_gap(standard @ rotation, factors)
    check_true(rotated < unmixed - 0.5, f"a random rotation of the factors should score far below the factors "
               f"themselves ({unmixed:.3f}), got {rotated:.3f}")
# copying a factor's latent into a second one takes that factor's gap to 0 and leaves the others: MIG falls by gap/5
labels = torch.stack([torch.unique(factors[:, k], return_inverse=True)[1] for k in range(5)], 1).double()  # (768, 5)
alone = mutual_information_gap(labels, factors)
for k in range(5):
    others = [j for j in range(5) if j != k]
    h = mutual_info_score(labels[:, k].numpy(), labels[:, k].numpy())
    gap_k = (h - max(mutual_info_score(labels[:, j].numpy(), labels[:, k].numpy()) for j in others)) / h
    shared = mutual_information_gap(torch.cat([labels, labels[:, k:k + 1]], 1), factors)
    check_close(alone - shared, gap_k / 5, rtol=1e-6, atol=1e-9,
                name=f"the drop in MIG when factor {k}'s latent is copied into a sixth latent (its gap falls to 0)")


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
# Run *Kernel → Restart Kernel and Run All Cells*: every public test should print "passed". Then submit this notebook as it is (do not rename it). Questions to think about (not graded): in Task 1, which source is the first to lose its rate as the budget shrinks, and what is the total distortion as a function of the budget while every source is coded? Why does a rotation of the factors (Task 3) lose MIG although it loses no information — and would the KL term of a VAE with the isotropic prior $\mathcal N(0, I)$ notice the rotation of a Gaussian code? Which MIG would a code get in which a factor is spread over two latents, each holding half of it?
