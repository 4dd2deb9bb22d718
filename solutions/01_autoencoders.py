# %% [markdown] coursekit={"id": "intro", "kind": "locked"}
# # Exercise 01 · PCA, principal angles and the linear autoencoder
#
# Goes with lecture `notebooks/01_autoencoders.ipynb`. **20 points:** 8 from public tests, 12 from hidden tests.
#
# You will compute PCA with the singular value decomposition, check that its reconstruction error is the sum of the discarded eigenvalues, measure the angles between two subspaces, and train a linear autoencoder until it finds the PCA subspace — the lecture's claims, built by you.
#
# **How this works.** Write your code only in the cells that say `YOUR CODE HERE` (the other cells are locked). After each task, run the public test cell below it: it tells you what it expected and what it got. Hidden tests, run by your instructor's grader, decide the grade — the public tests are a minimum, not a guarantee. All your code must live in the answer cells: cells you add yourself are not run by the grader. You can check your points from a terminal with `coursekit check exercises/01_autoencoders.ipynb`. The whole notebook should run in well under a minute.

# %% coursekit={"id": "setup", "kind": "locked"}
import math

import torch

from coursekit import data
from coursekit.grading.checks import check_close, check_shape, check_true

torch.manual_seed(0)
torch.set_num_threads(1)  # the problems here are small: one thread is the fastest
splits = data.digits()
X_train = data.to_float(splits.train.x).flatten(1)  # (1000, 64): one flattened 8×8 digit per row, values in [0, 1]
X_test = data.to_float(splits.test.x).flatten(1)    # (447, 64)


# %% [markdown] coursekit={"id": "task-pca", "kind": "locked"}
# ## Task 1 · PCA by the singular value decomposition (2 + 3 points)
#
# For data $X \in \mathbb R^{N\times D}$ (one example per row) with mean $\mu$, the centred data has the SVD $X - \mu = U S V^\top$. The principal directions are the columns of $V$ and the eigenvalues of the covariance $\Sigma = \frac1N (X-\mu)^\top (X-\mu)$ are $\lambda_j = S_j^2 / N$ (divisor $N$, not $N - 1$).
#
# Write `pca_svd(X, k)` returning
# - `mu`, shape (D,): the mean of the rows;
# - `V_k`, shape (D, k): the top-$k$ principal directions as orthonormal **columns**;
# - `lam`, shape (min(N, D),): **all** the eigenvalues $\lambda_j$, largest first.
#
# Use `torch.linalg.svd(..., full_matrices=False)`; do not form $\Sigma$. Your function must work for any float dtype and must not change `X`.

# %% coursekit={"id": "pca", "kind": "answer"}
def pca_svd(X, k):
    """PCA of the rows of X (N, D): (mu (D,), V_k (D, k) orthonormal columns, lam (min(N, D),) decreasing)."""
    ### BEGIN SOLUTION
    n_rows = X.shape[0]
    mean = X.mean(dim=0)
    _, singular, Vt = torch.linalg.svd(X - mean, full_matrices=False)
    return mean, Vt[:k].T, singular.square() / n_rows
    ### END SOLUTION


# %% coursekit={"id": "pca-public", "kind": "public-test", "points": 2}
mu, V, lam = pca_svd(X_train, 5)
check_shape(mu, (64,), name="mu")
check_shape(V, (64, 5), name="V_k for k = 5")
check_shape(lam, (64,), name="lam (all the eigenvalues)")
check_close(V.T @ V, torch.eye(5), name="V_kᵀ V_k (the columns must be orthonormal)", atol=1e-5)
check_true(bool((lam[:-1] >= lam[1:] - 1e-7).all()), "lam must be sorted from the largest to the smallest")
check_close(lam.sum(), X_train.var(dim=0, unbiased=False).sum(), name="Σ_j λ_j = the total variance (divisor N)", rtol=1e-4)
print(f"λ_1..λ_5 = {[round(v, 4) for v in lam[:5].tolist()]}")
print("Task 1 public tests passed")

# %% coursekit={"id": "pca-hidden", "kind": "hidden-test", "points": 3}
X64 = X_train.double()
before = X64.clone()
mu64, V64, lam64 = pca_svd(X64, 4)
check_true(torch.equal(X64, before), "pca_svd must not modify X in place")
check_true(mu64.dtype == torch.float64 and V64.dtype == torch.float64, f"float64 in, float64 out: got {mu64.dtype}, {V64.dtype}")
cov = (X64 - X64.mean(0)).T @ (X64 - X64.mean(0)) / X64.shape[0]
evals, evecs = torch.linalg.eigh(cov)  # ascending
check_close(lam64, evals.flip(0).clamp(min=0), name="eigenvalues vs eigh of the covariance", atol=1e-9)
top = evecs[:, -4:]
check_close(V64 @ V64.T, top @ top.T, name="the projection V_k V_kᵀ onto the top-4 subspace", atol=1e-7)
check_close(mu64, X64.mean(0), name="mu", atol=1e-12)
few = torch.rand(10, 64, generator=torch.Generator().manual_seed(5))
mu_f, V_f, lam_f = pca_svd(few, 3)
check_shape(lam_f, (10,), name="lam for N = 10 < D = 64 (min(N, D) eigenvalues)")
check_shape(V_f, (64, 3), name="V_k for N = 10 < D = 64")
check_close(lam_f[-1], 0.0, name="the last eigenvalue of 10 centred points (they span at most 9 dimensions)", atol=1e-5)


# %% [markdown] coursekit={"id": "task-reconstruct", "kind": "locked"}
# ## Task 2 · Reconstruction error = the sum of the discarded eigenvalues (2 + 3 points)
#
# PCA is a linear autoencoder: encode $z = V_k^\top (x - \mu)$, decode $\hat x = \mu + V_k z$. Write
#
# - `pca_reconstruct(X, mu, V_k)`: $\hat x$ for every row of `X`, shape (N, D);
# - `mean_squared_error(X, X_hat)`: $\frac1N \sum_i \|x_i - \hat x_i\|^2$ (summed over the $D$ dimensions, averaged over the $N$ rows), a scalar tensor.
#
# On the data PCA was fitted on, the lecture claims that the error is exactly $\sum_{j>k} \lambda_j$. Check it.

# %% coursekit={"id": "reconstruct", "kind": "answer"}
def pca_reconstruct(X, mu, V_k):
    """x̂ = μ + V_k V_kᵀ (x − μ) for every row of X: shape (N, D)."""
    ### BEGIN SOLUTION
    codes = (X - mu) @ V_k
    return codes @ V_k.T + mu
    ### END SOLUTION


def mean_squared_error(X, X_hat):
    """(1/N) Σ_i ‖x_i − x̂_i‖²: summed over dimensions, averaged over rows (a scalar tensor)."""
    ### BEGIN SOLUTION
    squared = (X - X_hat) ** 2
    return squared.sum(dim=1).mean()
    ### END SOLUTION


# %% coursekit={"id": "reconstruct-public", "kind": "public-test", "points": 2}
mu, V, lam = pca_svd(X_train, 5)
X_hat = pca_reconstruct(X_train, mu, V)
check_shape(X_hat, (1000, 64), name="pca_reconstruct(X_train) with k = 5")
error = mean_squared_error(X_train, X_hat)
check_close(error, lam[5:].sum(), name="training error with k = 5 vs Σ_(j>5) λ_j", rtol=1e-4)
print(f"k = 5: training error {error.item():.4f}, test error {mean_squared_error(X_test, pca_reconstruct(X_test, mu, V)).item():.4f}")
print("Task 2 public tests passed")

# %% coursekit={"id": "reconstruct-hidden", "kind": "hidden-test", "points": 3}
X64 = X_train.double()
mean64 = X64.mean(0)
cov = (X64 - mean64).T @ (X64 - mean64) / len(X64)
evals, evecs = torch.linalg.eigh(cov)
evals, evecs = evals.flip(0), evecs.flip(1)
for k in (1, 3, 10, 30):
    V_ref = evecs[:, :k]
    rec = pca_reconstruct(X64, mean64, V_ref)
    check_close(rec, mean64 + (X64 - mean64) @ V_ref @ V_ref.T, name=f"pca_reconstruct with k = {k}", atol=1e-10)
    check_close(mean_squared_error(X64, rec), evals[k:].sum(), name=f"error with k = {k} vs the discarded eigenvalues", atol=1e-8)
check_close(pca_reconstruct(X64, mean64, evecs), X64, name="k = D reconstructs exactly", atol=1e-10)
once = pca_reconstruct(X_test.double(), mean64, evecs[:, :6])
check_close(pca_reconstruct(once, mean64, evecs[:, :6]), once, name="reconstructing a reconstruction changes nothing", atol=1e-10)
a, b = torch.zeros(2, 3), torch.tensor([[1.0, 2.0, 2.0], [0.0, 0.0, 3.0]])
check_close(mean_squared_error(a, b), (9.0 + 9.0) / 2, name="mean_squared_error on two rows")
check_shape(mean_squared_error(a, b), (), name="mean_squared_error returns a scalar")


# %% [markdown] coursekit={"id": "task-angles", "kind": "locked"}
# ## Task 3 · Principal angles between subspaces (2 + 3 points)
#
# Two bases can look nothing alike and still span the same subspace. The **principal angles** $0 \le \theta_1 \le \dots \le \theta_m \le 90°$ between $\operatorname{span}(A)$ and $\operatorname{span}(B)$ ($A$ is $D\times p$, $B$ is $D\times q$, $m = \min(p, q)$) compare the subspaces themselves: with orthonormal bases $Q_A$, $Q_B$ of the two column spaces (`torch.linalg.qr`), the cosines $\cos\theta_i$ are the singular values of $Q_A^\top Q_B$.
#
# Write `principal_angles_deg(A, B)` returning the $m$ angles **in degrees, in increasing order**. The columns of `A` and `B` need not be orthonormal. (Clamp the cosines to $[-1, 1]$ before `torch.arccos`: rounding can push them a hair above 1.)

# %% coursekit={"id": "angles", "kind": "answer"}
def principal_angles_deg(A, B):
    """The min(p, q) principal angles between span(A) and span(B), in degrees, increasing."""
    ### BEGIN SOLUTION
    basis_a, _ = torch.linalg.qr(A)
    basis_b, _ = torch.linalg.qr(B)
    cosines = torch.linalg.svdvals(basis_a.T @ basis_b).clamp(-1.0, 1.0)   # decreasing
    return torch.rad2deg(torch.arccos(cosines))                            # hence increasing
    ### END SOLUTION


# %% coursekit={"id": "angles-public", "kind": "public-test", "points": 2}
e1, e2, e3 = torch.eye(3, dtype=torch.float64)
check_close(principal_angles_deg(2 * e1[:, None], (e1 + e2)[:, None]), torch.tensor([45.0]), name="angle between the lines 2·e1 and e1 + e2 (neither of unit length)", atol=1e-6)
check_close(principal_angles_deg(e1[:, None], e2[:, None]), torch.tensor([90.0]), name="angle between the lines e1 and e2", atol=1e-6)
plane = torch.stack([e1, e2], 1)
check_close(principal_angles_deg(plane, 3 * plane), torch.zeros(2), name="a plane and itself (another basis)", atol=1e-5)
print("Task 3 public tests passed")

# %% coursekit={"id": "angles-hidden", "kind": "hidden-test", "points": 3}
g = torch.Generator().manual_seed(11)
A = torch.randn(30, 5, generator=g, dtype=torch.float64)
B = torch.randn(30, 3, generator=g, dtype=torch.float64)
got = principal_angles_deg(A, B)
check_shape(got, (3,), name="angles between a 5-dim and a 3-dim subspace")
# reference: the cosines from an orthonormal basis made by Gram-Schmidt (via the SVD of each matrix)
Ua = torch.linalg.svd(A, full_matrices=False).U
Ub = torch.linalg.svd(B, full_matrices=False).U
reference = torch.rad2deg(torch.arccos(torch.linalg.svdvals(Ua.T @ Ub).clamp(-1, 1)))
check_close(got, reference, name="angles between random subspaces", atol=1e-6)
check_true(bool((got[1:] >= got[:-1]).all()), f"the angles must increase, got {got.tolist()}")
R = torch.randn(5, 5, generator=g, dtype=torch.float64)
check_close(principal_angles_deg(A @ R, B), got, name="angles after a change of basis of A", atol=1e-6)
check_close(principal_angles_deg(B, A), got, name="angles with A and B swapped", atol=1e-6)
e = torch.eye(4, dtype=torch.float64)
check_close(principal_angles_deg(e[:, :2], torch.stack([e[:, 0] + e[:, 2], e[:, 1]], 1)), torch.tensor([0.0, 45.0]),
            name="span(e1, e2) vs span(e1 + e3, e2)", atol=1e-5)


# %% [markdown] coursekit={"id": "task-linear-ae", "kind": "locked"}
# ## Task 4 · A linear autoencoder finds the PCA subspace (2 + 3 points)
#
# Train the linear autoencoder $f(x) = W_e x + b_e$, $g(z) = W_d z + b_d$ (two `torch.nn.Linear` layers: $D \to k$ and $k \to D$, with biases) on the rows of `X` by **full-batch** Adam (`lr`, `steps` steps) on the loss $\frac1N\sum_i \|x_i - g(f(x_i))\|^2$. Call `torch.manual_seed(seed)` before creating the layers. Return the decoder's weight $W_d$, shape (D, k), detached, and the last loss as a Python float.
#
# The lecture's claim: at the optimum, $\operatorname{span}(W_d)$ is the top-$k$ PCA subspace, although $W_d$'s columns are not the principal directions. The public test checks the loss; the hidden tests check the subspace. (It takes a few seconds: 1,500 steps on a 1000 × 64 matrix.)

# %% coursekit={"id": "linear-ae", "kind": "answer"}
def train_linear_autoencoder(X, k, steps=1500, lr=3e-2, seed=0):
    """Full-batch Adam on the linear autoencoder's loss; returns (W_d of shape (D, k), the last loss as a float)."""
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    D = X.shape[1]
    f, g = torch.nn.Linear(D, k), torch.nn.Linear(k, D)
    optimiser = torch.optim.Adam([*f.parameters(), *g.parameters()], lr=lr)
    for _ in range(steps):
        optimiser.zero_grad()
        objective = (X - g(f(X))).square().sum(dim=1).mean()
        objective.backward()
        optimiser.step()
    return g.weight.detach(), objective.item()
    ### END SOLUTION


# %% coursekit={"id": "linear-ae-public", "kind": "public-test", "points": 2}
W_d, final_loss = train_linear_autoencoder(X_train, 4)
check_shape(W_d, (64, 4), name="W_d for k = 4")
check_true(isinstance(final_loss, float), f"the loss must be returned as a Python float, got {type(final_loss).__name__}")
optimum = torch.linalg.eigvalsh(torch.cov(X_train.T, correction=0)).flip(0)[4:].sum().item()
print(f"linear autoencoder, k = 4: loss {final_loss:.4f}; PCA's optimum Σ_(j>4) λ_j = {optimum:.4f}")
check_close(final_loss, optimum, name="the trained loss vs PCA's optimum (within 2 %)", rtol=0.02)
print("Task 4 public tests passed")

# %% coursekit={"id": "linear-ae-hidden", "kind": "hidden-test", "points": 3}
X64 = X_train.double()
cov = torch.cov(X64.T, correction=0)
evecs = torch.linalg.eigh(cov).eigenvectors.flip(1)
optimum4 = torch.linalg.eigvalsh(cov).flip(0)[4:].sum().item()
def reference_angles(M, U):
    qm = torch.linalg.svd(M.double(), full_matrices=False).U
    return torch.rad2deg(torch.arccos(torch.linalg.svdvals(U.T @ qm).clamp(-1, 1)))
# What holds at the optimum, with a margin (the solution, seeds 0 and 1: largest angle 0.00°, blank rows below 1e-27).
W_d, final_loss = train_linear_autoencoder(X_train, 4, seed=1)
check_shape(W_d, (64, 4), name="W_d for k = 4 (seed 1)")
angles = reference_angles(W_d, evecs[:, :4])
check_true(bool(angles.max() < 2.0), f"span(W_d) should be the top-4 PCA subspace: largest principal angle {angles.max().item():.1f}° (expected < 2°)")
check_true(bool(reference_angles(W_d, evecs[:, 4:8]).min() > 45.0), "span(W_d) should be far from principal directions 5..8")
check_true(final_loss > optimum4 - 1e-3, f"no linear autoencoder can beat PCA: loss {final_loss:.4f} < optimum {optimum4:.4f}")
check_close(final_loss, optimum4, name="the trained loss vs PCA's optimum (seed 1, within 1 %)", rtol=0.01)
# A pixel blank in every training image is reconstructed by the decoder's bias: at any optimum the decoder's row
# for it is 0. The encoder's weights on such a pixel get exactly zero gradient and keep their random initial
# values however long it trains, so the encoder's weight (transposed) fails this at every training length.
blank = X_train.std(dim=0) == 0
check_true(int(blank.sum()) >= 1, "the test needs pixels that are blank in every training image")
check_true(bool(W_d[blank].abs().max() < 1e-3), f"W_d's rows for the {int(blank.sum())} pixels blank in every training "
           f"image should be 0 at the optimum, got up to {W_d[blank].abs().max().item():.3g}: is W_d the decoder's weight?")
# What holds whatever the training state: the seed decides everything, and `steps` is used.
W_a, _ = train_linear_autoencoder(X_train, 4, steps=20, seed=3)
W_b, _ = train_linear_autoencoder(X_train, 4, steps=20, seed=3)
W_c, _ = train_linear_autoencoder(X_train, 4, steps=20, seed=4)
check_true(torch.equal(W_a, W_b), "the same seed must give the same W_d (call torch.manual_seed(seed) before creating the layers)")
check_true(not torch.equal(W_a, W_c), "another seed must give another W_d: is `seed` used?")
W_short, _ = train_linear_autoencoder(X_train, 4, steps=3, seed=1)
check_true(bool(reference_angles(W_short, evecs[:, :4]).max() > 10.0), "after 3 steps of at most lr per weight the "
           "subspace cannot have been found yet: is `steps` used?")

# %% [markdown] coursekit={"id": "outro", "kind": "locked"}
# ## Before you submit
#
# Run *Kernel → Restart Kernel and Run All Cells*: every public test should print "passed". Then submit this notebook as it is (do not rename it). Questions to think about (not graded): train the linear autoencoder with $k = 2$ and look at its principal angles after 500, 1000 and 1500 steps; compare with $k = 4$. Why does the gap $\lambda_k - \lambda_{k+1}$ control how fast the subspace settles? Why do the encoder's weights on a pixel that is blank in every training image never change, while the decoder's row for it goes to 0? And why do the angles computed with `arccos` bottom out around $10^{-6}$° in float64 (and around $0.02$° in float32) even when the subspaces are identical?
