# %% [markdown] coursekit={"id": "intro", "kind": "locked"}
# # Exercise 09 · Comparing the families honestly: bits per dimension, dequantised bounds, what a table of exact values and bounds can prove, and the trilemma's Pareto front
#
# Goes with lecture 09 (comparing the families). **17 points:** 7 from public tests, 10 from hidden tests.
#
# Lecture 09 puts every model of the course in one table on one test split: bits per dimension where the model has a likelihood (exact, or an upper bound), sample quality (the Fréchet distance, lower is better), coverage (higher is better) and sampling time. You will write, in plain Python (and torch where a tensor comes in), the four small pieces of reasoning that the table rests on: turning nats per example into bits per dimension; the bound a density on dequantised data gives for the discrete data, and the half-level trap; which comparisons between exact values and bounds are *proven*; and which models are on the trilemma's Pareto front. Nothing is trained: the whole notebook runs in a few seconds.
#
# **How this works.** Write your code only in the cells that say `YOUR CODE HERE` (the other cells are locked). After each task, run the public test cell below it: it tells you what it expected and what it got. Hidden tests, run by your instructor's grader, decide the grade — the public tests are a minimum, not a guarantee. All your code must live in the answer cells: cells you add yourself are not run by the grader. You can check your points from a terminal with `coursekit check exercises/09_comparison.ipynb`.

# %% coursekit={"id": "setup", "kind": "locked"}
import math

import torch

from coursekit.grading.checks import check_close, check_shape, check_true

torch.manual_seed(0)

D_DIGITS, K_DIGITS = 64, 17        # the course's digits: 8 × 8 pixels, 17 grey levels


def check_number(got, expected, name, slips=(), atol=1e-4):
    """check_close for one number; when it fails and the number that came is what a common slip gives, say which."""
    try:
        value = float(got)
    except (TypeError, ValueError, RuntimeError):
        check_true(False, f"{name}: expected one number, {expected:.4f}; got {type(got).__name__} ({got!r:.80})")
    for slip, slipped in slips:
        if abs(value - expected) > atol and abs(value - slipped) <= atol:
            check_true(False, f"{name}: expected {expected:.4f}, got {value:.4f}, which is what {slip} gives")
    check_close(value, expected, atol=atol, rtol=0, name=name)


def row(name, frechet, coverage, seconds):
    """One row of Task 4's tables."""
    return {"name": name, "frechet": frechet, "coverage": coverage, "sample_seconds_100": seconds}


print(f"the digits: D = {D_DIGITS} dimensions, K = {K_DIGITS} levels; the uniform model: log2 K = "
      f"{math.log2(K_DIGITS):.3f} bits/dim")


# %% [markdown] coursekit={"id": "task-bits", "kind": "locked"}
# ## Task 1 · Bits per dimension from nats per example (1 + 1 points)
#
# A model's `log_prob(x)` (or its bound) comes in **nats per example**: the natural log, summed over the $D$ dimensions of one example. The table reports **bits per dimension**, which does not depend on the image size or the log's base:
# $$\text{bits/dim} = \frac{-\log p(x)}{D \ln 2}\qquad(-\log p(x)\text{ in nats}).$$
# A model that spreads its mass evenly over the $K^D$ images, $-\log p(x) = D\ln K$, scores $\log_2 K$ bits/dim: 4.087 for the digits' 17 levels, whatever $D$.
#
# Write `bits_per_dim(nats, D)`: `nats` is $-\log p(x)$ in nats, a Python float or a tensor of any shape (one value per example); `D` the number of dimensions of one example. Return the bits per dimension, a float for a float and a tensor of the same shape and dtype for a tensor.

# %% coursekit={"id": "bits", "kind": "answer"}
def bits_per_dim(nats, D):
    """−log p(x) in nats per example (a float or a tensor) → bits per dimension: nats / (D ln 2)."""
    ### BEGIN SOLUTION
    return nats / (D * math.log(2))
    ### END SOLUTION


# %% coursekit={"id": "bits-public", "kind": "public-test", "points": 1}
nats = 123.0                                                           # a digit's −log p(x), nats, D = 64
expected = nats / (64 * math.log(2))
check_number(bits_per_dim(nats, 64), expected, name="bits_per_dim(123.0 nats, D = 64) = 123 / (64 ln 2)",
             slips=[("nats per dimension (÷ D, but not ÷ ln 2)", nats / 64),
                    ("bits per example (÷ ln 2, but not ÷ D)", nats / math.log(2)),
                    ("÷ ln 10 (log10) where ÷ ln 2 belongs", nats / (64 * math.log(10))),
                    ("× ln 2 where ÷ ln 2 belongs", nats * math.log(2) / 64),
                    ("÷ D twice", nats / (64 * 64 * math.log(2))),
                    ("the sign flipped (−log p is positive, and so are bits)", -expected)])
value = bits_per_dim(nats, 64)
check_true(isinstance(value, float), f"bits_per_dim of a float should be a float, got {type(value).__name__}")
check_number(bits_per_dim(D_DIGITS * math.log(K_DIGITS), D_DIGITS), math.log2(K_DIGITS),
             name="the uniform model over 17 levels, D ln 17 nats per example: log2 17 bits/dim")
got = bits_per_dim(torch.tensor([2.0 * 64 * math.log(2), 0.0, 64 * math.log(17)]), 64)
check_true(isinstance(got, torch.Tensor), f"bits_per_dim of a tensor should return a tensor, got {type(got).__name__}")
check_shape(got, (3,), name="bits_per_dim of three examples' nats")
check_close(got, torch.tensor([2.0, 0.0, math.log2(17)]), atol=1e-5, name="bits_per_dim of three examples")
print("Task 1 public test passed")

# %% coursekit={"id": "bits-hidden", "kind": "hidden-test", "points": 1}
g = torch.Generator().manual_seed(901)
nats_h = torch.rand(3, 5, generator=g, dtype=torch.float64) * 2000 + 100   # float64, an extra batch dimension
given = nats_h.clone()
for D in (1, 3, 64, 784, 3072):
    got = bits_per_dim(nats_h, D)
    check_true(isinstance(got, torch.Tensor) and got.dtype == torch.float64,
               f"bits_per_dim of a float64 tensor should be float64, got {type(got).__name__} {getattr(got, 'dtype', '')}")
    check_shape(got, (3, 5), name=f"bits_per_dim of a (3, 5) tensor, D = {D}")
    check_close(got, nats_h / D / math.log(2), atol=1e-12, rtol=1e-12, name=f"bits_per_dim in float64, D = {D}")
    check_close(got * D, nats_h * math.log2(math.e), atol=1e-9, rtol=1e-12, name=f"bits per example, D = {D}")
check_true(torch.equal(nats_h, given), "bits_per_dim must not change its argument")
value = bits_per_dim(1000.0, 784)
check_true(isinstance(value, float), f"bits_per_dim of a float should be a float, got {type(value).__name__}")
check_close(value, 1000 / (784 * math.log(2)), atol=1e-12, rtol=0, name="bits_per_dim(1000.0, 784)")
for K in (2, 17, 256):
    check_close(bits_per_dim(3072 * math.log(K), 3072), math.log2(K), atol=1e-12, rtol=0,
                name=f"the uniform model over {K} levels, D = 3072: log2 {K} bits/dim")


# %% [markdown] coursekit={"id": "task-dequantised", "kind": "locked"}
# ## Task 2 · A dequantised bound, and the half-level trap (2 + 3 points)
#
# A flow (lecture 06) or any other density model of continuous $y$ is fitted to the discrete digits by **dequantisation**: each level $x \in \{0, \dots, K-1\}^D$ gets noise $u$ within its own cell, and is scaled to $[0, 1)^D$,
# $$y = \frac{x + u}{K}, \qquad u \sim q(u) = \mathcal U[0, w)^D,\quad 0 < w \le 1,$$
# with $w = 1$ the usual uniform dequantisation (the noise spans exactly one level) and $w < 1$ noise over a fraction $w$ of a level. The probability the density $p$ gives the discrete image is its mass on the cell of $x$, $P(x) = \int_{[0,1)^D} p\big(\tfrac{x+u}{K}\big) K^{-D}\, du$ (the $K^{-D}$ is the change of variables from $u$ to $y$), and Jensen's inequality with $q$ (Theis, van den Oord and Bethge, 2016) gives
# $$-\log P(x) \;\le\; \mathbb E_{u\sim q}\big[-\log p(y)\big] + D\log K + \log q(u), \qquad \log q(u) = -D\log w .$$
# So the model's $-\log p(y)$ on the dequantised data becomes a bound on the discrete data by **adding** $D\log K$ (and $D\log\frac1w$ when the noise is narrower than a level). With $w = 1$, $\log q = 0$. With noise over half a level, $w = \tfrac12$, $\log q = D\log 2$: forget it, and a density that crowds each level's mass into the half of the cell the noise can reach — twice as high there — reports exactly **one bit per dimension too few**. The uniform model over 17 levels is $\log_2 17 = 4.087$ bits/dim whatever the route; the trap reports 3.087.
#
# Write `dequantised_bits_per_dim(nll_y, D, K, noise_width=1.0)`: `nll_y` is $-\log p(y)$ in nats per example on data dequantised with noise of width `noise_width` $= w$ (levels) and scaled by $1/K$ as above, a float or a tensor of any shape; return the bound on $-\log_2 P(x)/D$, bits per dimension, a float or a tensor of the shape and dtype of `nll_y` (you may call your `bits_per_dim`). Noise wider than one level spills into the neighbouring levels' cells, and then the number bounds nothing: raise a `ValueError` that names the `noise_width` it got unless $0 < w \le 1$.

# %% coursekit={"id": "dequantised", "kind": "answer"}
def dequantised_bits_per_dim(nll_y, D, K, noise_width=1.0):
    """The bound on −log2 P(x) / D from −log p(y) (nats per example), y = (x + u)/K with u ~ U[0, w)^D:
    −log P(x) ≤ −log p(y) + D log K + log q(u), log q(u) = −D log w (Theis et al. 2016)."""
    ### BEGIN SOLUTION
    if not 0 < noise_width <= 1:
        raise ValueError(f"noise_width must lie in (0, 1] (noise within one level's cell), got {noise_width}")
    log_q = -D * math.log(noise_width)                                 # log q(u): U[0, w)^D has density w^{−D}
    bound_nats = nll_y + D * math.log(K) + log_q                       # −log P(x) ≤ −log p(y) + D log K + log q(u)
    return bound_nats / (D * math.log(2))                              # nats per example → bits per dimension
    ### END SOLUTION


# %% coursekit={"id": "dequantised-public", "kind": "public-test", "points": 2}
D, K = D_DIGITS, K_DIGITS
# the uniform model over 17 levels by two routes: a density uniform on [0, 1)^64 with noise over one level
# (−log p(y) = 0), and one uniform on the half-cells, density 2^64, with noise over half a level (−log p(y) = −64 ln 2)
check_number(dequantised_bits_per_dim(0.0, D, K), math.log2(K),
             name="the uniform density on [0, 1)^64, noise over one level: log2 17 bits/dim",
             slips=[("D log K left out", 0.0), ("D log K subtracted", -math.log2(K)),
                    ("ln where log2 belongs (nats per dimension)", math.log(K)),
                    ("log10 where log2 belongs", math.log10(K)),
                    ("K − 1 where K belongs (17 levels are 16 steps apart, but there are 17 cells)", math.log2(K - 1)),
                    ("÷ D twice", math.log2(K) / D)])
half = dequantised_bits_per_dim(-D * math.log(2), D, K, noise_width=0.5)
check_number(half, math.log2(K), name="the density 2^64 on the half-cells with noise over half a level: the same "
             "uniform model, log2 17 bits/dim (add log q(u) = D log 2)",
             slips=[("the half-level trap (log q(u) = D log 2 forgotten: one bit/dim too few)", math.log2(K) - 1),
                    ("log q(u) subtracted", math.log2(K) - 2),
                    ("log (K·w) where log (K/w) belongs", math.log2(K) - 2)])
# a case by hand: D = 4 pixels, K = 4 levels, −log p(y) = 1.5 nats; (1.5 + 4 ln 4)/(4 ln 2) = 0.541 + 2
check_number(dequantised_bits_per_dim(1.5, 4, 4), 1.5 / (4 * math.log(2)) + 2,
             name="dequantised_bits_per_dim(1.5 nats, D = 4, K = 4) = 1.5/(4 ln 2) + log2 4",
             slips=[("D log K left out", 1.5 / (4 * math.log(2))), ("ln where log2 belongs", (1.5 + 4 * math.log(4)) / 4)])
check_number(dequantised_bits_per_dim(1.5, 4, 4, noise_width=0.25), 1.5 / (4 * math.log(2)) + 2 + 2,
             name="the same with noise over a quarter of a level: + log2 4 = 2 bits/dim for log q(u)")
got = dequantised_bits_per_dim(torch.tensor([0.0, -D * math.log(2)]), D, K, noise_width=0.5)
check_true(isinstance(got, torch.Tensor), f"a tensor of nats should give a tensor, got {type(got).__name__}")
check_close(got, torch.tensor([math.log2(K) + 1, math.log2(K)]), atol=1e-5, name="two examples with half-level noise")
print("Task 2 public test passed")

# %% coursekit={"id": "dequantised-hidden", "kind": "hidden-test", "points": 3}
g = torch.Generator().manual_seed(902)
# against a reference by another route: log2 of the cell's width in y, 1/K·w, per dimension
for D, K, w in [(64, 17, 1.0), (784, 256, 1.0), (3, 5, 0.5), (10, 2, 0.25), (7, 3, 1 / 3), (12, 9, 0.9)]:
    nll = (torch.rand(2, 4, generator=g, dtype=torch.float64) - 0.5) * 10 * D   # −log p(y) may be negative
    given = nll.clone()
    got = dequantised_bits_per_dim(nll, D, K, noise_width=w)
    check_true(isinstance(got, torch.Tensor) and got.dtype == torch.float64 and got.shape == (2, 4),
               f"a (2, 4) float64 tensor should give a (2, 4) float64 tensor, got {type(got).__name__} "
               f"{getattr(got, 'dtype', '')} {tuple(getattr(got, 'shape', ()))}")
    reference = nll / D * math.log2(math.e) - math.log2(w / K)
    check_close(got, reference, atol=1e-10, rtol=1e-12, name=f"the bound in bits/dim, D = {D}, K = {K}, w = {w:.3f}")
    check_true(torch.equal(nll, given), "dequantised_bits_per_dim must not change nll_y")
    # the uniform model over K levels by this route: density w^{−D} on the reachable sub-cells, −log p(y) = D log w
    check_close(dequantised_bits_per_dim(D * math.log(w), D, K, noise_width=w), math.log2(K), atol=1e-10, rtol=0,
                name=f"the uniform model over {K} levels with noise over {w:.3f} of a level: log2 {K} bits/dim")
check_close(dequantised_bits_per_dim(0.0, 64, 17, noise_width=1), math.log2(17), atol=1e-12, rtol=0,
            name="noise_width = 1 given as an int")
for w in (1.5, 2.0, 0.0, -0.5):
    try:
        dequantised_bits_per_dim(10.0, 64, 17, noise_width=w)
    except ValueError as error:
        check_true(str(w) in str(error), f"the ValueError for noise_width = {w} should name it; it said: {error}")
    else:
        check_true(False, f"noise_width = {w} is not in (0, 1]: the noise leaves the level's cell (or has no width) "
                   "and the number bounds nothing, so dequantised_bits_per_dim should raise a ValueError")


# %% [markdown] coursekit={"id": "task-certain", "kind": "locked"}
# ## Task 3 · What a table of exact values and bounds can prove (2 + 3 points)
#
# Each row of lecture 09's table is a dict like `{"name": "RealNVP", "bits_per_dim": 2.083, "likelihood": "bound"}`, with `"likelihood"` one of
# - `"exact"`: the number **is** the model's true test bits/dim $v$ (the autoregressive models, the floor);
# - `"bound"`: an **upper bound**, $v \le$ the number (the VAE's ELBO or IWAE, a dequantised flow, the diffusion bound, the VQ-VAE's one-code bound): the true value may be anywhere below it;
# - `"none"`: no likelihood at all (a GAN); its `"bits_per_dim"` is `None`.
#
# Lower bits/dim is better. Model $A$ is **certainly better** than model $B$ when the table *proves* $v_A < v_B$. Think it through: $A$'s number is at least its true value whether it is exact or a bound; but a bound on $B$ says nothing about how low $v_B$ might be. So
# $$v_A \le \text{number}_A < \text{number}_B = v_B \quad\text{needs } B \text{ exact and } A \text{ with a number (exact or bound)};$$
# an upper bound on $A$ below an exact $B$ is a proof; an exact $A$ below a bound on $B$ is not, however far below; equal numbers prove nothing.
#
# Write `certainly_better(a, b)` (two rows → `True` or `False`) and `certain_pairs(rows)`: every ordered pair `(a["name"], b["name"])` of the table's rows for which `certainly_better(a, b)`, each pair once, as a list in any order. A ranking built from these pairs never puts a model ahead on a comparison the numbers do not prove. Do not change the rows.

# %% coursekit={"id": "certain", "kind": "answer"}
def certainly_better(a, b):
    """True when the table proves v_A < v_B: B's number is exact, A has a number (exact or an upper bound), and it is lower."""
    ### BEGIN SOLUTION
    if a["likelihood"] == "none" or b["likelihood"] != "exact":
        return False                                                   # no number for A, or B's true value may be lower
    return a["bits_per_dim"] < b["bits_per_dim"]                       # v_A ≤ number_A < number_B = v_B
    ### END SOLUTION


def certain_pairs(rows):
    """Every (A's name, B's name) with certainly_better(A, B), each once."""
    ### BEGIN SOLUTION
    return [(a["name"], b["name"]) for a in rows for b in rows if certainly_better(a, b)]
    ### END SOLUTION


# %% coursekit={"id": "certain-public", "kind": "public-test", "points": 2}
# rows in the course's order, with numbers the lectures quote (00b, 04b, 02, 06, 08, 07)
floor = {"name": "floor (independent pixels)", "bits_per_dim": 2.398, "likelihood": "exact"}
gated = {"name": "gated PixelCNN", "bits_per_dim": 1.838, "likelihood": "exact"}
iwae = {"name": "VAE (IWAE-1000)", "bits_per_dim": 2.09, "likelihood": "bound"}
realnvp = {"name": "RealNVP", "bits_per_dim": 2.083, "likelihood": "bound"}
ddpm = {"name": "DDPM", "bits_per_dim": 2.331, "likelihood": "bound"}
dcgan = {"name": "DCGAN", "bits_per_dim": None, "likelihood": "none"}
table = [floor, gated, iwae, realnvp, ddpm, dcgan]
for a, b, expected, why in [
        (gated, floor, True, "both exact, 1.838 < 2.398"),
        (floor, gated, False, "both exact, but 2.398 > 1.838"),
        (realnvp, floor, True, "an upper bound on RealNVP (2.083) below the floor's exact 2.398 proves it better"),
        (floor, realnvp, False, "the floor's number is above RealNVP's bound"),
        (gated, realnvp, False, "RealNVP's 2.083 is an upper bound: its true value may lie below the gated PixelCNN's "
                                "exact 1.838, so the lower number proves nothing"),
        (iwae, realnvp, False, "two bounds: neither true value is known from below"),
        (realnvp, iwae, False, "two bounds: neither true value is known from below"),
        (dcgan, floor, False, "the DCGAN has no likelihood"),
        (floor, dcgan, False, "the DCGAN has no likelihood"),
        (gated, gated, False, "a model is not better than itself")]:
    got = certainly_better(a, b)
    check_true(got is expected or (type(got) is not bool and got == expected and not isinstance(got, str)),
               f"certainly_better({a['name']}, {b['name']}): expected {expected} ({why}), got {got!r}")
pairs = certain_pairs(table)
check_true(len(pairs) == len(set(pairs)), f"each pair once; got duplicates in {pairs}")
expected_pairs = {(m["name"], floor["name"]) for m in (gated, iwae, realnvp, ddpm)}
check_true(set(pairs) == expected_pairs,
           f"certain_pairs of the six rows: expected the four models certainly better than the floor, "
           f"{sorted(expected_pairs)}, and nothing else (no model is certainly better than the gated PixelCNN: the "
           f"bounds may be loose); missing {sorted(expected_pairs - set(pairs))}, extra {sorted(set(pairs) - expected_pairs)}")
print("Task 3 public test passed")

# %% coursekit={"id": "certain-hidden", "kind": "hidden-test", "points": 3}
import copy

g = torch.Generator().manual_seed(903)


def reference_pairs(rows):
    """An independent route: each model's true value lies in an interval, [v, v] when exact, (−∞, v] for a bound,
    anything for none; A is certainly better than B when A's interval lies wholly below B's."""
    interval = {"exact": lambda v: (v, v), "bound": lambda v: (-math.inf, v), "none": lambda v: (-math.inf, math.inf)}
    spans = [interval[r["likelihood"]](r["bits_per_dim"]) for r in rows]
    return {(a["name"], b["name"]) for a, (_, hi_a) in zip(rows, spans) for b, (lo_b, _) in zip(rows, spans)
            if hi_a < lo_b}


kinds = ["exact", "bound", "none"]
for trial in range(30):
    n = int(torch.randint(1, 12, (1,), generator=g))
    rows = []
    for i in range(n):
        kind = kinds[int(torch.randint(0, 3, (1,), generator=g))]
        number = None if kind == "none" else round(1.5 + float(torch.randint(0, 8, (1,), generator=g)) / 8, 3)   # ties
        rows.append({"name": f"model {i}", "bits_per_dim": number, "likelihood": kind, "lecture": f"{i:02d}"})
    given = copy.deepcopy(rows)
    pairs = certain_pairs(rows)
    check_true(rows == given, "certain_pairs must not change the rows")
    check_true(len(pairs) == len(set(pairs)), f"each pair once; got duplicates in {pairs}")
    expected = reference_pairs(rows)
    check_true(set(pairs) == expected, f"certain_pairs of {rows}: missing {sorted(expected - set(pairs))}, extra "
               f"{sorted(set(pairs) - expected)}")
# ties: equal exact numbers prove nothing; the best model may be the last row
a = {"name": "A", "bits_per_dim": 2.0, "likelihood": "exact"}
b = {"name": "B", "bits_per_dim": 2.0, "likelihood": "exact"}
c = {"name": "C", "bits_per_dim": 1.9, "likelihood": "bound"}
check_true(not certainly_better(a, b) and not certainly_better(b, a), "two exact models at the same 2.0 bits/dim: "
           "neither is certainly better")
check_true(sorted(certain_pairs([a, b, c])) == [("C", "A"), ("C", "B")], f"a bound of 1.9 (the last row) below two "
           f"exact 2.0s beats both; got {certain_pairs([a, b, c])}")
check_true(certain_pairs([c]) == [] and certain_pairs([]) == [], "one row, or none: no pairs")


# %% [markdown] coursekit={"id": "task-pareto", "kind": "locked"}
# ## Task 4 · The trilemma's Pareto front (2 + 3 points)
#
# No family wins on everything: fast sampling, high sample quality and good coverage of the data pull apart (the generative-learning trilemma). Each row now has `"frechet"` (the Fréchet distance to the test digits, **lower** is better), `"coverage"` (the fraction of test digits near some sample, **higher** is better) and `"sample_seconds_100"` (seconds to draw 100 samples, **lower** is better), besides its `"name"`.
#
# Model $A$ **dominates** $B$ when $A$ is at least as good as $B$ on all three and strictly better on at least one. A model is **Pareto-optimal** when no model of the table dominates it: the front is the set of honest answers to "which is best?", one for each way of weighing the three. Two models with identical numbers do not dominate each other, so both stay on the front (or both leave it).
#
# Write `dominates(a, b)` (two rows → `True` or `False`) and `pareto_front(rows)`: the names of the Pareto-optimal rows, **in the order of `rows`**. Do not change the rows.

# %% coursekit={"id": "pareto", "kind": "answer"}
def dominates(a, b):
    """A is at least as good as B on all three (FD and seconds lower, coverage higher) and strictly better on one."""
    ### BEGIN SOLUTION
    no_worse = (a["frechet"] <= b["frechet"] and a["coverage"] >= b["coverage"]
                and a["sample_seconds_100"] <= b["sample_seconds_100"])
    better_somewhere = (a["frechet"] < b["frechet"] or a["coverage"] > b["coverage"]
                        or a["sample_seconds_100"] < b["sample_seconds_100"])
    return no_worse and better_somewhere
    ### END SOLUTION


def pareto_front(rows):
    """The names of the rows no row dominates, in the order of rows."""
    ### BEGIN SOLUTION
    return [b["name"] for b in rows if not any(dominates(a, b) for a in rows)]
    ### END SOLUTION


# %% coursekit={"id": "pareto-public", "kind": "public-test", "points": 2}
# made-up numbers of the kind lecture 09's table holds
trilemma = [row("floor", 112.0, 0.30, 0.001), row("VAE", 60.0, 0.80, 0.01), row("DCGAN", 20.0, 0.55, 0.01),
            row("PixelCNN", 25.0, 0.80, 2.0), row("GPT", 17.0, 0.80, 1.0), row("DDIM-50", 17.0, 0.84, 1.0),
            row("DDPM", 15.0, 0.85, 20.0), row("VAE, second seed", 60.0, 0.80, 0.01)]
by_name = {r["name"]: r for r in trilemma}
for a, b, expected, why in [
        ("DDIM-50", "PixelCNN", True, "better on all three"),
        ("PixelCNN", "DDIM-50", False, "worse on all three"),
        ("DDIM-50", "GPT", True, "the same FD and time, higher coverage: at least as good on all, better on one"),
        ("DCGAN", "VAE", False, "a lower FD but a lower coverage (higher is better)"),
        ("VAE", "DCGAN", False, "a higher coverage but a higher FD"),
        ("VAE", "floor", False, "better FD and coverage, but slower: 0.01 s against 0.001 s per 100 samples"),
        ("VAE", "VAE, second seed", False, "identical numbers: neither dominates the other"),
        ("DDPM", "DDIM-50", False, "better FD and coverage but 20 times slower")]:
    got = dominates(by_name[a], by_name[b])
    check_true(got is expected or (type(got) is not bool and got == expected and not isinstance(got, str)),
               f"dominates({a}, {b}): expected {expected} ({why}), got {got!r}")
front = pareto_front(trilemma)
expected_front = ["floor", "VAE", "DCGAN", "DDIM-50", "DDPM", "VAE, second seed"]
check_true(front == expected_front, f"pareto_front of the eight rows: expected {expected_front} (in the rows' order: "
           f"PixelCNN and GPT are dominated by DDIM-50; the two VAEs tie and both stay), got {front}")
print("Task 4 public test passed")

# %% coursekit={"id": "pareto-hidden", "kind": "hidden-test", "points": 3}
import copy

g = torch.Generator().manual_seed(904)


def reference_front(rows):
    """An independent route, vectorised: costs (FD, −coverage, seconds), lower is better on each."""
    costs = torch.tensor([[r["frechet"], -r["coverage"], r["sample_seconds_100"]] for r in rows], dtype=torch.float64)
    no_worse = (costs[:, None, :] <= costs[None, :, :]).all(-1)        # (a, b): a no worse than b everywhere
    better = (costs[:, None, :] < costs[None, :, :]).any(-1)           # (a, b): a better than b somewhere
    dominated = (no_worse & better).any(0)                             # (b,): some a dominates b
    return [r["name"] for r, d in zip(rows, dominated.tolist()) if not d]


for trial in range(40):
    n = int(torch.randint(1, 15, (1,), generator=g))
    grid = torch.randint(0, 4, (n, 3), generator=g).tolist()           # few values: ties on every criterion
    rows = [row(f"model {i}", 10.0 + 5 * f, 0.5 + 0.1 * c, 0.01 * 10 ** s) for i, (f, c, s) in enumerate(grid)]
    given = copy.deepcopy(rows)
    front = pareto_front(rows)
    check_true(rows == given, "pareto_front must not change the rows")
    expected = reference_front(rows)
    check_true(front == expected, f"pareto_front of {[(r['frechet'], r['coverage'], r['sample_seconds_100']) for r in rows]}"
               f": expected {expected}, got {front}")
# one criterion at a time: equal on two, better on the third dominates; the dominating row may come first
for i, key in enumerate(["frechet", "coverage", "sample_seconds_100"]):
    good = row("good", 10.0, 0.9, 1.0)
    bad = dict(good, name="bad")
    bad[key] = {"frechet": 11.0, "coverage": 0.8, "sample_seconds_100": 2.0}[key]
    check_true(dominates(good, bad) is True or dominates(good, bad) == 1, f"equal on two criteria and better on "
               f"{key}: 'good' dominates 'bad' ({good} against {bad})")
    check_true(not dominates(bad, good), f"'bad' does not dominate 'good' ({bad} against {good})")
    check_true(pareto_front([good, bad]) == ["good"] and pareto_front([bad, good]) == ["good"],
               f"front of 'good' and 'bad' (worse on {key} only), in either order: ['good']; got "
               f"{pareto_front([good, bad])} and {pareto_front([bad, good])}")
twins = [row("a", 10.0, 0.5, 1.0), row("b", 10.0, 0.5, 1.0), row("c", 10.0, 0.5, 1.0)]
check_true(pareto_front(twins) == ["a", "b", "c"], f"three identical rows: all on the front, got {pareto_front(twins)}")
check_true(pareto_front([]) == [] and pareto_front(twins[:1]) == ["a"], "no rows: an empty front; one row: itself")


# %% [markdown] coursekit={"id": "outro", "kind": "locked"}
# ## Before you submit
#
# Run *Kernel → Restart Kernel and Run All Cells*: every public test should print "passed". Then submit this notebook as it is (do not rename it). Questions to think about (not graded): in Task 1, what is 100 nats per example in bits/dim for the 8 × 8 digits and for 28 × 28 MNIST, and why does the table never report nats per example? In Task 2, what does the trap report for the uniform model over 17 levels with noise over a quarter of a level, and how many bits/dim too few is that? Does the honest bound for noise over half a level ever beat the one for noise over a whole level, for the same model? In Task 3, which rows of Task 3's table can no row certainly beat, and what would you have to measure to prove that the gated PixelCNN (exact 1.838) beats RealNVP (a bound of 2.083)? In Task 4, the Fréchet distance at n = 400 moves by about 1.8 from one draw of samples to the next (lecture 08): what would you change in `dominates` so that a draw's noise cannot knock a model off the front, and what does it do to the front?
