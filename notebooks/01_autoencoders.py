# %% [markdown]
# # 01 · Autoencoders and PCA
#
# **Learning objectives.** After this lecture you can
# 1. define an autoencoder — an encoder $f$, a decoder $g$, trained so that $g\circ f \approx \mathrm{id}$ under the reconstruction loss $\|x - g(f(x))\|^2$ — and train one with `coursekit`;
# 2. derive PCA as the best $k$-dimensional *linear* code, and show numerically that the optimal linear autoencoder spans the PCA subspace (principal angles ≈ 0°) although its weights are not the principal components;
# 3. tell undercomplete from overcomplete codes, and explain why noise or masking (the **denoising autoencoder**) makes an overcomplete code useful, e.g. for **inpainting**;
# 4. read a bottleneck-size vs reconstruction-error curve, for PCA and for a non-linear autoencoder;
# 5. explain, with pictures of its latent space, why a plain autoencoder is **not** a generative model — the reason lecture 02 adds a prior;
# 6. use an encoder as a feature extractor for a small labelled set.
#
# **Time:** about 60 minutes of reading and playing; the notebook runs top to bottom in about a minute on a laptop CPU (it trains thirteen small autoencoders).
# **Before you start:** run all cells (*Run → Run All Cells*). Sections 4, 6 and 7 have sliders.

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults run in about a minute on a 2-core CPU.
SEED = 0                      # every random number below follows from it
DEVICE = "auto"               # "auto" = CUDA, then Apple MPS, then CPU
DATA = "digits"               # "digits" (8×8, ships with the course) or "mnist" (28×28: set MNIST_ROOT)
MNIST_ROOT = None             # the folder holding the four MNIST IDX files, for DATA = "mnist"
LATENT_DIM = 5                # k of the linear-AE-vs-PCA comparison and of the "5-D" model
LATENT_SIZES = (1, 2, 5, 8, 16, 32)     # the bottleneck curve of section 6 (one MLP autoencoder each)
HIDDEN = (128, 64)            # the MLP autoencoders' hidden layers (the decoder mirrors them)
CONV_CHANNELS = (16, 32)      # the convolutional autoencoder; each entry after the first halves H and W
EPOCHS = 30                   # epochs for every MLP / convolutional autoencoder
BATCH_SIZE = 64
LR = 3e-3                     # Adam's learning rate for the MLP / convolutional autoencoders
LINEAR_STEPS = 1500           # full-batch Adam steps for the linear autoencoder (learning rate 3e-2)
NOISE_STD = 0.3               # σ of the denoising autoencoder's Gaussian noise
MASK_PROB = 0.5               # fraction of pixels hidden by the masking autoencoder, and in the inpainting test
LABELS_PER_CLASS = 5          # the small labelled set of section 8: 5 per class = 50 labels
# On a GPU, for MNIST: DATA = "mnist", MNIST_ROOT = "path/to/folder", HIDDEN = (512, 256),
# CONV_CHANNELS = (32, 64, 64), LATENT_SIZES = (1, 2, 4, 8, 16, 32, 64, 128), EPOCHS = 20,
# BATCH_SIZE = 256, LINEAR_STEPS = 3000 (a few minutes on one GPU; MNIST on a CPU takes far longer).

# %%
import copy
import functools
import math

import torch
import torch.nn.functional as F
from IPython.display import Markdown, display
from matplotlib.figure import Figure
from torch import nn

from coursekit import data, resolve_device, seed_everything, viz
from coursekit.models import (PCA, ConvAutoencoder, LinearAutoencoder, MLPAutoencoder, corrupt, few_label_indices,
                              inpaint, kernel_pca, linear_probe, principal_angles)
from coursekit.training import evaluate, train

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
if device.type == "cpu":
    torch.set_num_threads(1)  # these networks are tiny: a second thread costs more in waiting than it saves

splits = data.load(DATA, **({"root": MNIST_ROOT} if DATA in ("mnist", "fashion_mnist") else {}))
levels = splits.train.levels
to_float = functools.partial(data.to_float, levels=levels)       # integer levels → floats in [0, 1]
loaders = data.loaders(splits, batch_size=BATCH_SIZE, seed=SEED, transform=to_float)
x_train, x_val, x_test = (to_float(s.x).to(device) for s in splits)   # (N, C, H, W) floats
y_train, y_test = splits.train.y.to(device), splits.test.y.to(device)
shape = tuple(x_train.shape[1:])
D = math.prod(shape)
print(f"torch {torch.__version__} on {device}; {DATA}: {len(x_train)} training images of shape {shape}, D = {D}")


def fit(model, name, epochs=EPOCHS, **kw):
    # coursekit.training.train with this lecture's defaults: the loaders above, Adam, best validation epoch kept
    train(model, loaders["train"], val_data=loaders["val"], epochs=epochs, lr=LR, device=device, seed=SEED,
          desc=name, **kw)
    return model


def recon_error(model, x):
    # mean over the images of ‖x − g(f(x))‖², in eval mode (no corruption), in batches of 2048 images
    return evaluate(model, [(part,) for part in x.split(2048)])["recon"]


def nearest_distance(z, reference):
    # distance from each row of z to its nearest row of reference, 1024 rows of z at a time
    return torch.cat([torch.cdist(part, reference).min(1).values for part in z.split(1024)])


# %% [markdown]
# ## 1. Encoder, decoder, and $g \circ f \approx \mathrm{id}$
#
# An **autoencoder** is a pair of maps
# $$f_\phi: \mathbb R^D \to \mathbb R^k \ \ (\text{encoder}, \ z = f_\phi(x)), \qquad g_\theta: \mathbb R^k \to \mathbb R^D \ \ (\text{decoder}, \ \hat x = g_\theta(z)),$$
# trained so that decoding the code gives the input back, $g_\theta \circ f_\phi \approx \mathrm{id}$, by minimising the **reconstruction loss**
# $$\mathcal L(\phi, \theta) = \frac1N \sum_{i=1}^N \big\|x^{(i)} - g_\theta\big(f_\phi(x^{(i)})\big)\big\|^2 .$$
# No labels are used: the input is its own target (self-supervised learning, lecture 00). The seeds write the same thing as $\|x - d(e(x))\|^2$ with $e$ = encoder and $d$ = decoder; we use $f$ and $g$ throughout. The code $z$ is also called the *latent* representation, and $k$ the *bottleneck* size. The whole idea in five lines:

# %%
torch.manual_seed(SEED)
f = nn.Sequential(nn.Flatten(), nn.Linear(D, 2)).to(device)            # encoder: (N, C, H, W) → (N, D) → (N, k=2)
g = nn.Sequential(nn.Linear(2, D), nn.Unflatten(1, shape)).to(device)  # decoder: (N, 2) → (N, D) → (N, C, H, W)
x = x_train[:8]
loss = (x - g(f(x))).pow(2).flatten(1).sum(1).mean()                   # ‖x − g(f(x))‖² summed over pixels, mean over images
print(f"z = f(x) has shape {tuple(f(x).shape)}; untrained reconstruction loss {loss.item():.2f}")

# %% [markdown]
# `coursekit.models.autoencoder` wraps exactly this with a configuration dataclass and three architectures — `LinearAutoencoder` (the five lines above), `MLPAutoencoder` (ReLU layers, a sigmoid output so $\hat x \in (0,1)$) and `ConvAutoencoder` — which all have `encode` ($f$), `decode` ($g$) and `loss(batch)`, returning `{"loss", "recon", "mse"}` (`mse` = recon / D, per pixel). So one trainer, `coursekit.training.train`, trains them all. Our first real autoencoder has $k$ = `LATENT_DIM` = 5:

# %%
ae = {}  # the MLP autoencoders, by code size k
ae[LATENT_DIM] = fit(MLPAutoencoder(shape=shape, latent_dim=LATENT_DIM, hidden=HIDDEN), f"MLP AE, k={LATENT_DIM}")
print(ae[LATENT_DIM])
print(f"test reconstruction error ‖x − g(f(x))‖² = {recon_error(ae[LATENT_DIM], x_test):.3f} per image "
      f"(the images themselves have ‖x − x̄‖² = {(x_test - x_train.mean(0)).pow(2).flatten(1).sum(1).mean():.3f})")
with torch.no_grad():
    shown = x_test[:12]
    fig = Figure(figsize=(7.5, 1.6), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1)
    viz.image_grid(shown, nrow=12, ax=ax1, vmin=0, vmax=1); ax1.set_title("test digits x", fontsize=8, loc="left")
    viz.image_grid(ae[LATENT_DIM](shown), nrow=12, ax=ax2, vmin=0, vmax=1)
    ax2.set_title(f"reconstructions g(f(x)) through a {LATENT_DIM}-number code", fontsize=8, loc="left")
viz.show(fig, alt=f"Two rows: 12 test digits (top) and their reconstructions through a {LATENT_DIM}-number code "
         "(bottom): each reconstruction keeps its digit's shape, with softer, blurrier strokes.")

# %% [markdown]
# ## 2. PCA: the best linear code
#
# Restrict both maps to be linear (affine). Centre the data, $x_c = x - \mu$ with $\mu = \frac1N\sum_i x^{(i)}$, and look for a $k$-dimensional subspace with an orthonormal basis $U \in \mathbb R^{D\times k}$ ($U^\top U = I_k$) to project on: $f(x) = U^\top (x - \mu)$, $g(z) = \mu + U z$. With the covariance $\Sigma = \frac1N X_c^\top X_c = V \Lambda V^\top$ (eigenvalues $\lambda_1 \ge \lambda_2 \ge \dots \ge \lambda_D \ge 0$, eigenvectors the columns of $V$),
# $$\frac1N\sum_i \|x_c^{(i)} - U U^\top x_c^{(i)}\|^2 = \operatorname{tr}\Sigma - \operatorname{tr}(U^\top \Sigma U) \;\ge\; \sum_{j>k} \lambda_j ,$$
# with equality exactly when $U$ spans the top $k$ eigenvectors $V_k$ (Ky Fan's theorem; Eckart–Young for the matrix form). This is **principal component analysis**: the code keeps the $k$ directions of largest variance, and the error is **the sum of the discarded eigenvalues**.
#
# In practice we never form $\Sigma$: the singular value decomposition of the centred data, $X_c = U_s S V^\top$, gives the same $V$ and $\lambda_j = S_j^2 / N$ (more accurately, since squaring $X_c$ squares its condition number). `coursekit.models.PCA` does exactly this and then behaves like an autoencoder (`encode`, `decode`, `loss`):

# %%
X = x_train.flatten(1)                                        # (N, D)
mu = X.mean(0)
S = torch.linalg.svdvals(X - mu)                              # singular values of X_c
lam = S**2 / len(X)                                           # λ_j = S_j² / N, the covariance's eigenvalues
pca = PCA(shape=shape, latent_dim=LATENT_DIM).fit(x_train)    # the same SVD, plus μ and V_k
print(f"largest eigenvalues λ_1..λ_6: {[round(v, 3) for v in lam[:6].tolist()]}")
print(f"PCA with k = {LATENT_DIM}: training error {recon_error(pca, x_train):.4f} = Σ_(j>k) λ_j = {lam[LATENT_DIM:].sum():.4f}; "
      f"test error {recon_error(pca, x_test):.4f}")

fig = Figure(figsize=(7.8, 2.3), layout="constrained")
ax_spec, ax_comp = fig.subfigures(1, 2, width_ratios=[1, 1.6])
ax = ax_spec.add_subplot()
ax.plot(range(1, len(lam) + 1), lam.cpu(), "o-", ms=2, label="λ_j")
ax.set_xlabel("j", fontsize=8); ax.set_ylabel("eigenvalue λ_j", fontsize=8); ax.tick_params(labelsize=7)
ax2 = ax.twinx()
ax2.plot(range(1, len(lam) + 1), (lam.cumsum(0) / lam.sum()).cpu(), "C1", label="explained fraction")
ax2.set_ylim(0, 1.02); ax2.tick_params(labelsize=7); ax2.set_ylabel("Σ_(i≤j) λ_i / Σ λ", fontsize=8, color="C1")
components = PCA(shape=shape, latent_dim=8).fit(x_train).components.reshape(8, *shape)
a = components.abs().max().item()
axc = ax_comp.add_subplot()
viz.image_grid(torch.cat([mu.reshape(1, *shape) * 2 * a - a, components]), nrow=9, cmap="RdBu_r", vmin=-a, vmax=a, ax=axc,
                titles=["mean"] + [f"v{j}" for j in range(1, 9)], scale=0.8)
axc.set_title("the mean (rescaled) and the first 8 principal directions (red +, blue −)", fontsize=8)
viz.show(fig, alt="Left: the covariance's eigenvalues λ_j against j, falling steeply over the first few j and then "
         "flattening towards zero, with the explained fraction (right axis) rising towards 1. Right: the mean image, "
         "rescaled, and the first 8 principal directions as 8 × 8 maps, red positive, blue negative, white zero: "
         "each direction adds ink in some places and removes it in others.")

# %% [markdown]
# ## 3. The optimal linear autoencoder spans the PCA subspace
#
# Now train, by gradient descent, the linear autoencoder $f(x) = W_e x + b_e$, $g(z) = W_d z + b_d$ with $W_e \in \mathbb R^{k\times D}$, $W_d \in \mathbb R^{D\times k}$ and nothing else imposed. Bourlard & Kamp (1988) and Baldi & Hornik (1989) showed that when $\lambda_k > \lambda_{k+1}$ its loss has **no bad local minima**: every critical point is a saddle except the global minima, which are
# $$W_d = V_k C, \qquad W_e = C^{-1} V_k^\top, \qquad b_d = \mu - W_d (W_e \mu + b_e), \qquad C \in \mathbb R^{k\times k} \text{ any invertible matrix},$$
# so $g(f(x)) = \mu + V_k V_k^\top (x - \mu)$: **exactly PCA's reconstruction**. But the loss cannot see $C$, so the columns of $W_d$ are *some* basis of the PCA subspace, not the principal directions $v_1, \dots, v_k$.
#
# To compare subspaces, not vectors, we use **principal angles**. For orthonormal bases $Q_A$, $Q_B$ (from a QR decomposition), the cosines of the angles $0 \le \theta_1 \le \dots \le \theta_k \le 90°$ between $\operatorname{span}(A)$ and $\operatorname{span}(B)$ are the singular values of $Q_A^\top Q_B$; all $\theta_i = 0$ means the subspaces coincide, whatever basis each is written in. (`principal_angles` reads small angles from the sines, the singular values of $(I - Q_A Q_A^\top) Q_B$, since $\arccos$ of a number near 1 loses them.)
#
# We train with the course's trainer on the full training set as one batch (each "epoch" is one Adam step):

# %%
linear = LinearAutoencoder(shape=shape, latent_dim=LATENT_DIM)
history = train(linear, [(x_train,)], epochs=LINEAR_STEPS, lr=3e-2, device=device, seed=SEED, desc="linear AE")
angles = principal_angles(linear.W_d.detach(), pca.components.T, degrees=True)
print(f"principal angles between span(W_d) and the PCA subspace: {[round(a, 2) for a in angles.tolist()]} degrees")
print(f"test error: linear AE {recon_error(linear, x_test):.4f}, PCA {recon_error(pca, x_test):.4f}")
random_subspace = torch.randn(D, LATENT_DIM, generator=generator).to(device)
print(f"for scale, a random {LATENT_DIM}-dimensional subspace is at "
      f"{[round(a) for a in principal_angles(random_subspace, pca.components.T, degrees=True).tolist()]} degrees")

fig = Figure(figsize=(4.2, 2.2), layout="constrained")
ax = fig.add_subplot()
ax.plot(history["train/loss"], label="linear AE (training loss)")
ax.axhline(lam[LATENT_DIM:].sum().item(), color="k", ls="--", lw=1, label="PCA optimum Σ_(j>k) λ_j")
ax.set_yscale("log"); ax.set_xlabel("Adam step", fontsize=8); ax.tick_params(labelsize=7); ax.legend(fontsize=7)
viz.show(fig, alt="The linear autoencoder's training loss against the Adam step, on a log scale: it falls steeply "
         "and settles onto the dashed horizontal line of the PCA optimum, the sum of the discarded eigenvalues.")

# %% [markdown]
# Now the pictures. Row 1: PCA's principal directions. Row 2: the decoder's columns $w_1, \dots, w_k$ (each normalised): different images — a mixture $V_k C$ of the principal directions. Row 3: PCA run *inside* the learned subspace (project the data on an orthonormal basis $Q$ of $\operatorname{span}(W_d)$, diagonalise the $k\times k$ covariance there, rotate $Q$): the principal directions come back, up to sign.

# %%
W_d = linear.W_d.detach()                                    # (D, k)
Q, _ = torch.linalg.qr(W_d)                                  # orthonormal basis of span(W_d)
Z = (X - X.mean(0)) @ Q                                      # the data's coordinates in that basis, (N, k)
_, R = torch.linalg.eigh(Z.T @ Z / len(Z))                   # PCA inside the subspace (ascending eigenvalues)
recovered = (Q @ R.flip(1)).T                                # (k, D): rotated back to the principal directions
recovered = recovered * torch.sign((recovered * pca.components).sum(1, keepdim=True))  # fix the signs
rows = {"PCA directions v_j": pca.components, "decoder columns w_j (normalised)": F.normalize(W_d, dim=0).T,
        "PCA inside span(W_d)": recovered}
fig = Figure(figsize=(0.8 * LATENT_DIM + 0.5, 3.2), layout="constrained")
for ax, (title, vectors) in zip(fig.subplots(3, 1), rows.items()):
    a = vectors.abs().max().item()
    viz.image_grid(vectors.reshape(-1, *shape), nrow=LATENT_DIM, cmap="RdBu_r", vmin=-a, vmax=a, ax=ax, colorbar=True)
    ax.set_title(title, fontsize=8, loc="left")
viz.show(fig, alt=f"Three rows of {LATENT_DIM} signed 8 × 8 maps (red positive, blue negative, white zero; a colour bar "
         "per row): PCA's principal directions; the linear autoencoder's normalised decoder columns, which look "
         "different; and PCA run inside the decoder's subspace, which gives back the first row.")
print(f"largest |cos| between each decoder column and any principal direction: "
      f"{[round(c, 2) for c in (F.normalize(W_d, dim=0).T @ pca.components.T).abs().max(1).values.tolist()]}")
print(f"after PCA inside the subspace: {[round(c, 4) for c in (recovered * pca.components).sum(1).tolist()]}")

# %% [markdown]
# > **Common mistake.** "Setting the encoder to $z = Wx$ and the decoder to $x = W^\top z$, we get PCA" [003], and "the optimal linear autoencoder *is* PCA" [000]. Two slips hide in these lines.
# > 1. **Centring.** Without biases and on uncentred data, the optimum spans the top eigenvectors of the second-moment matrix $\frac1N X^\top X$, not of the covariance: PCA needs $x - \mu$ (or the biases $b_e$, $b_d$, which learn it). The cell below measures how far apart the two subspaces are on our data.
# > 2. **Subspace, not components.** The loss fixes only $\operatorname{span}(W_d)$: any invertible $C$ (an orthogonal one with tied weights $W$, $W^\top$) gives the same loss, so the weights are a rotated/mixed basis, as the pictures show. "Is PCA" is true of the reconstruction $g(f(x))$ and of the subspace, not of the weights.
# >
# > A third, from [003]: "PCA … assumes the data to be Gaussian." It does not: PCA is the best linear subspace in squared error for *any* distribution with a covariance. The Gaussian assumption belongs to **probabilistic PCA** (Tipping & Bishop, 1999), the linear-Gaussian latent variable model $x = Wz + \mu + \varepsilon$ whose maximum-likelihood $W$ spans the same subspace. What PCA really cannot do is *bend*: it fits a flat subspace to data that lies near a curved manifold.

# %%
second_moment = X.T @ X / len(X)                              # (1/N) XᵀX, no centring
top_uncentred = torch.linalg.eigh(second_moment).eigenvectors[:, -LATENT_DIM:]
print(f"angles between the uncentred optimum and the PCA subspace: "
      f"{[round(a, 1) for a in principal_angles(top_uncentred, pca.components.T, degrees=True).tolist()]} degrees")


# %% [markdown]
# ### A remark on kernel PCA
#
# PCA only needs inner products $x^\top x'$ (the $N\times N$ matrix $X_c X_c^\top$ has the same non-zero eigenvalues as $N\Sigma$). **Kernel PCA** (Schölkopf, Smola & Müller, 1998) replaces them by a kernel $k(x, x') = \langle\varphi(x), \varphi(x')\rangle$, i.e. PCA in a feature space $\varphi(x)$ that is never built: centre the Gram matrix, $\tilde K = HKH$ with $H = I - \tfrac1N \mathbf 1\mathbf 1^\top$, diagonalise it, $\tilde K a_j = \lambda_j a_j$, and the $j$-th coordinate of training point $i$ is $\sqrt{\lambda_j}\, a_{ij}$. With an RBF kernel $k(x, x') = \exp(-\gamma\|x - x'\|^2)$ the code is a non-linear function of $x$ — but the kernel is *hand-crafted*, there is **no decoder** (mapping a code back to an image is the "pre-image problem"), and it costs $O(N^2)$ memory and $O(N^3)$ time. An autoencoder learns both maps from the data: a *non-linear PCA* [003]. Below, the 2-D codes of linear and RBF-kernel PCA (γ by the median heuristic, 1/median‖x − x'‖²), scored by how often a point's nearest neighbour in the code space has its label (leave-one-out 1-NN accuracy; section 7 adds the 2-D autoencoder).

# %%
def loo_1nn(z, y):
    # leave-one-out 1-nearest-neighbour accuracy of the labels y in the code space z: (N, k)
    d = torch.cdist(z, z)
    d.fill_diagonal_(float("inf"))
    return (y[d.argmin(1)] == y).float().mean().item()


n_kernel = min(1000, len(x_train))                           # kernel PCA is O(N²) in memory: a subset
xk, yk = x_train[:n_kernel], y_train[:n_kernel]
gamma = 1.0 / torch.cdist(xk.flatten(1), xk.flatten(1)).pow(2).median().item()
codes_2d = {"linear PCA": PCA(shape=shape, latent_dim=2).fit(x_train).encode(xk),
            f"RBF kernel PCA, γ = {gamma:.3f}": kernel_pca(xk, k=2, gamma=gamma)}
fig = Figure(figsize=(6.6, 3.0), layout="constrained")
for ax, (name, z) in zip(fig.subplots(1, 2), codes_2d.items()):
    viz.scatter_2d(z, yk, ax=ax, s=3, title=f"{name}: 1-NN accuracy {loo_1nn(z, yk):.3f}")
viz.show(fig, alt="Two scatter plots of the 2-D codes of the training digits, one colour per class with a legend: "
         "linear PCA (left) and RBF kernel PCA (right), each titled with its 1-NN accuracy. In both, a few classes "
         "have a region of their own and the rest overlap.")

# %% [markdown]
# ## 4. Undercomplete vs overcomplete; the denoising autoencoder
#
# With $k < D$ the code is **undercomplete**: it cannot hold everything, so the autoencoder must keep what matters most (in the linear case, the top principal directions). With $k \ge D$ it is **overcomplete**, and the identity map is a perfect solution: reconstruction error zero, nothing learnt about the data. A linear autoencoder with $k = D + 16$ shows it: it reconstructs almost perfectly, and it passes noise straight through, because it has learnt to copy.

# %%
copier = LinearAutoencoder(shape=shape, latent_dim=D + 16)
train(copier, [(x_train,)], epochs=max(1, LINEAR_STEPS // 3), lr=1e-2, device=device, seed=SEED, desc="overcomplete linear AE")
noisy_test = corrupt(x_test, noise_std=NOISE_STD, generator=torch.Generator().manual_seed(SEED))
noise_energy = (noisy_test - x_test).pow(2).flatten(1).sum(1).mean().item()
with torch.no_grad():
    copied = (copier(noisy_test) - x_test).pow(2).flatten(1).sum(1).mean().item()
print(f"k = {D + 16} > D = {D}: test reconstruction error {recon_error(copier, x_test):.4f} (PCA with k = {LATENT_DIM}: "
      f"{recon_error(pca, x_test):.3f})")
print(f"fed noisy digits (σ = {NOISE_STD}): ‖g(f(x̃)) − x‖² = {copied:.3f}, while the noise itself is ‖x̃ − x‖² = {noise_energy:.3f}")

# %% [markdown]
# The **denoising autoencoder** (Vincent et al., 2008) removes the trivial solution by changing the task: corrupt the input, $\tilde x \sim q(\tilde x \mid x)$, and reconstruct the *clean* $x$:
# $$\mathcal L_\text{DAE} = \mathbb E_{x}\, \mathbb E_{\tilde x \sim q(\cdot\mid x)} \big\|x - g(f(\tilde x))\big\|^2, \qquad \tilde x = x + \sigma\varepsilon,\ \varepsilon\sim\mathcal N(0, I) \quad\text{or}\quad \tilde x = m \odot x,\ m_d \sim \text{Bernoulli}(1-p).$$
# Copying $\tilde x$ now costs $\mathbb E\|\tilde x - x\|^2 = D\sigma^2$; the best possible map is the posterior mean $\mathbb E[x \mid \tilde x]$, which pulls $\tilde x$ back towards where the data lives. For Gaussian noise, Tweedie's formula makes this exact: $\mathbb E[x \mid \tilde x] = \tilde x + \sigma^2 \nabla_{\tilde x}\log p_\sigma(\tilde x)$, with $p_\sigma$ the density of the noisy data. So a good denoiser estimates the *score* $\nabla \log p_\sigma$ (Vincent, 2011; Alain & Bengio, 2014) — the idea behind the diffusion models of lecture 08.
#
# In `coursekit` any autoencoder with `noise_std > 0` or `mask_prob > 0` is a denoising one: in training mode `loss` encodes `corrupt(x)` and compares with the clean `x`; in evaluation mode it measures plain reconstruction (like dropout). Two overcomplete MLP autoencoders, $k = 2D$, the same except for the noise:

# %%
wide = dict(shape=shape, latent_dim=2 * D, hidden=(4 * D,))
plain_wide = fit(MLPAutoencoder(**wide), f"plain AE, k={2 * D}")
denoiser = fit(MLPAutoencoder(**wide, noise_std=NOISE_STD), f"denoising AE, k={2 * D}")


def denoising_error(model, x_noisy, x_clean):
    with torch.no_grad():
        return (model(x_noisy) - x_clean).pow(2).flatten(1).sum(1).mean().item()


rows = ["| model | ‖x − g(f(x))‖² on clean test digits | ‖x − g(f(x̃))‖² on noisy ones |", "|---|---|---|",
        f"| identity (copy the input) | 0 | {noise_energy:.3f} |"]
for name, model in [("overcomplete linear AE (a copier)", copier), ("plain MLP AE", plain_wide), ("denoising MLP AE", denoiser)]:
    rows.append(f"| {name} | {recon_error(model, x_test):.3f} | {denoising_error(model, noisy_test, x_test):.3f} |")
display(Markdown("\n".join(rows)))
with torch.no_grad():
    panels = {"clean x": x_test[:12], f"noisy x̃ (σ = {NOISE_STD})": noisy_test[:12].clamp(0, 1),
              "plain AE: g(f(x̃))": plain_wide(noisy_test[:12]), "denoising AE: g(f(x̃))": denoiser(noisy_test[:12])}
fig = Figure(figsize=(7.5, 3.2), layout="constrained")
for ax, (title, images) in zip(fig.subplots(4, 1), panels.items()):
    viz.image_grid(images, nrow=12, vmin=0, vmax=1, ax=ax)
    ax.set_title(title, fontsize=8, loc="left")
viz.show(fig, alt=f"Four rows of the same 12 test digits: clean; with Gaussian noise of σ = {NOISE_STD} (speckled); "
         "and reconstructed from the noisy digits by the plain and by the denoising autoencoder. Compare the last two "
         "rows with the clean one; the table above gives their errors.")

# %% [markdown]
# The denoiser gives up a little clean reconstruction and removes much more noise. Slide the test-time noise level σ to see where each model breaks (the denoising autoencoder was trained at σ = `NOISE_STD` only):

# %%
eps = torch.randn(x_test[:10].shape, generator=torch.Generator().manual_seed(SEED)).to(device)


def denoising_rows(sigma):
    x_noisy = x_test[:10] + sigma * eps
    with torch.no_grad():
        return {f"noisy, σ = {sigma:.1f}": x_noisy.clamp(0, 1),
                f"plain AE (error {denoising_error(plain_wide, x_noisy, x_test[:10]):.2f})": plain_wide(x_noisy),
                f"denoising AE (error {denoising_error(denoiser, x_noisy, x_test[:10]):.2f})": denoiser(x_noisy)}


viz.image_rows_slider(denoising_rows, [round(0.1 * i, 1) for i in range(9)], description="noise σ",
                          value=round(NOISE_STD, 1))

# %% [markdown]
# > **Common mistake.** "Overcomplete is for denoising, inpainting" [000] reads as if an overcomplete code were useful by itself. It is not: trained only to reconstruct, an overcomplete autoencoder can copy (the linear one above did). It is the **corruption** — noise, masking — or another regulariser (a sparsity penalty, a contractive penalty on $\partial f/\partial x$) that makes an overcomplete code learn something. And denoising works with undercomplete codes too.
#
# ## 5. Inpainting: filling in what is missing
#
# **Inpainting** fills in missing pixels given the others. Masking noise trains exactly that: with `mask_prob` = $p$, each pixel of the input is set to 0 with probability $p$ and the target is the whole image. A convolutional autoencoder suits it, since a convolution sees each pixel's neighbours. At test time, with a mask $m$ of known pixels, one pass gives $\hat x = g(f(m\odot x))$; or repeat
# $$x \leftarrow m \odot x + (1 - m) \odot g(f(x)),$$
# which keeps the known pixels and refines the unknown ones (`coursekit.models.inpaint`). We hide half of the pixels of every test digit, at random, and measure the error on the hidden ones only:

# %%
masker = fit(ConvAutoencoder(shape=shape, latent_dim=D // 2, channels=CONV_CHANNELS, mask_prob=MASK_PROB),
             f"masking conv AE, k={D // 2}")
known = torch.rand(x_test.shape, generator=torch.Generator().manual_seed(SEED + 1)).to(device) >= MASK_PROB


def missing_error(filled):
    # squared error on the hidden pixels only, summed per image, averaged over images
    return ((filled - x_test) * ~known).pow(2).flatten(1).sum(1).mean().item()


mean_fill = torch.where(known, x_test, x_train.mean(0, keepdim=True).expand_as(x_test))
fills = {"training mean image": mean_fill,
         "plain AE, 1 pass": inpaint(plain_wide, x_test, known, steps=1),
         "plain AE, 10 passes": inpaint(plain_wide, x_test, known, steps=10),
         "masking conv AE, 1 pass": inpaint(masker, x_test, known, steps=1),
         "masking conv AE, 10 passes": inpaint(masker, x_test, known, steps=10)}
display(Markdown("| fill the hidden pixels with | error on them |\n|---|---|\n" +
                 "\n".join(f"| {name} | {missing_error(filled):.3f} |" for name, filled in fills.items())))
holes = torch.where(known, x_test, torch.full_like(x_test, 0.5))[:12]  # hidden pixels drawn grey
fig = Figure(figsize=(7.5, 3.2), layout="constrained")
for ax, (title, images) in zip(fig.subplots(4, 1), {"original": x_test[:12], f"{MASK_PROB:.0%} of the pixels hidden (grey)": holes,
                                                    "plain AE, 10 passes": fills["plain AE, 10 passes"][:12],
                                                    "masking conv AE, 1 pass": fills["masking conv AE, 1 pass"][:12]}.items()):
    viz.image_grid(images, nrow=12, vmin=0, vmax=1, ax=ax)
    ax.set_title(title, fontsize=8, loc="left")
viz.show(fig, alt=f"Four rows of the same 12 test digits: the originals; with {MASK_PROB:.0%} of the pixels hidden, "
         "drawn grey; filled in by the plain autoencoder after 10 passes; and by the masking convolutional "
         "autoencoder in one pass. Compare the last two rows with the originals; the table above gives the errors "
         "on the hidden pixels.")

# %% [markdown]
# The plain autoencoder reads the zeros as "no ink" and reproduces them, worse than the mean image; iterating helps it a lot, since each pass puts back a little ink that the next pass can use. The masking autoencoder was trained for this job and fills the holes in one pass (iterating feeds it its own outputs, which it was never trained on, and does not help it). It learnt to fill *scattered* holes: hiding a whole half of the digit is a different corruption, which it would have to be trained with.
#
# ## 6. Bottleneck size vs reconstruction quality
#
# Autoencoding is compression, and the bottleneck $k$ sets the rate. The seed slides [001] compare a 2-D and a 5-D latent space on MNIST; here is the same comparison on our digits — ground truth, 5-D code, 2-D code:

# %%
ae[2] = fit(MLPAutoencoder(shape=shape, latent_dim=2, hidden=HIDDEN), "MLP AE, k=2")
shown = x_test[:30]
with torch.no_grad():
    blocks = {"ground truth": shown, f"{LATENT_DIM}-D latent space": ae[LATENT_DIM](shown), "2-D latent space": ae[2](shown)}
fig = Figure(figsize=(7.8, 2.3), layout="constrained")
for ax, (title, images) in zip(fig.subplots(1, 3), blocks.items()):
    viz.image_grid(images, nrow=6, vmin=0, vmax=1, ax=ax)
    ax.set_title(title, fontsize=9)
viz.show(fig, alt=f"Three blocks of the same 30 test digits, six per row, in the same places: the ground truth, the "
         f"reconstructions through the {LATENT_DIM}-D code and through the 2-D code. The {LATENT_DIM}-D ones stay "
         "close to the digits; the 2-D ones are blurrier, and some have turned into another digit.")
print(f"test error: k = 2: {recon_error(ae[2], x_test):.3f}, k = {LATENT_DIM}: {recon_error(ae[LATENT_DIM], x_test):.3f}")

# %% [markdown]
# With two numbers per image the autoencoder keeps the rough shape and often the class, but blurs the strokes and turns some digits into others (compare the blocks digit by digit); five numbers fix most of them. Over a range of sizes — one MLP autoencoder per $k$, against PCA, whose errors come in closed form:

# %%
for k in LATENT_SIZES:
    if k not in ae:
        ae[k] = fit(MLPAutoencoder(shape=shape, latent_dim=k, hidden=HIDDEN), f"MLP AE, k={k}")
pca_by_k = {k: PCA(shape=shape, latent_dim=k).fit(x_train) for k in LATENT_SIZES}
curve = {k: {"PCA, test": recon_error(pca_by_k[k], x_test), "MLP AE, test": recon_error(ae[k], x_test),
             "MLP AE, training": recon_error(ae[k], x_train)} for k in LATENT_SIZES}
fig = Figure(figsize=(4.6, 2.6), layout="constrained")
ax = fig.add_subplot()
for name, style in [("PCA, test", "o-"), ("MLP AE, test", "s-"), ("MLP AE, training", "s--")]:
    ax.plot(LATENT_SIZES, [curve[k][name] for k in LATENT_SIZES], style, ms=3, label=name)
ax.set_xscale("log", base=2); ax.set_xticks(LATENT_SIZES, [str(k) for k in LATENT_SIZES])
ax.set_xlabel("code size k", fontsize=8); ax.set_ylabel("‖x − g(f(x))‖² per image", fontsize=8)
ax.tick_params(labelsize=7); ax.legend(fontsize=7)
viz.show(fig, alt="Reconstruction error per image against the code size k (log scale): PCA on the test split, and "
         "the MLP autoencoder on the test and (dashed) on the training split. All fall as k grows; the MLP curves "
         "lie below PCA's at small k and above it at large k, where PCA's error falls towards zero and the MLP's "
         "flattens. The table below gives the values.")
display(Markdown("| k | " + " | ".join(map(str, LATENT_SIZES)) + " |\n" + "|---" * (len(LATENT_SIZES) + 1) + "|\n" +
                 "\n".join(f"| {name} | " + " | ".join(f"{curve[k][name]:.3f}" for k in LATENT_SIZES) + " |"
                           for name in curve[LATENT_SIZES[0]])))

# %% [markdown]
# What the curve shows, and what it does not (the numbers of the table, with the default parameters). With a **tight** bottleneck the non-linear autoencoder beats PCA on the test split (k = 1, 2, 5): it can bend its $k$-dimensional code surface along the data, PCA cannot. With a **wide** one PCA wins by far — but read the dashed line before drawing a conclusion from that. At k = 32 the MLP autoencoder's error on its own *training* images (0.936) is above PCA's on the *test* images (0.178): a network that had found even the PCA solution would do better than that on the images it was trained on. So the MLP curve at large $k$ measures this training budget (`EPOCHS` = 30 on 1,000 images), not what a non-linear autoencoder can do. The same short training is why the curve is not monotone (k = 8 scores 1.841 on the test split, k = 5 1.697): a larger code can always leave its extra dimensions unused, so a fully optimised curve would not rise. The conclusion this lecture draws is only the first one: with few numbers per image, a non-linear code is worth it.
#
# Slide $k$ for PCA (closed form, so instant) and watch the digits sharpen:

# %%
pca_full = PCA(shape=shape, latent_dim=D).fit(x_train)         # all D directions; truncate to k below


def pca_rows(k):
    V_k = pca_full.components[:k]                              # (k, D)
    x = x_test[:12].flatten(1)
    x_hat = pca_full.mean + (x - pca_full.mean) @ V_k.T @ V_k   # μ + V_k V_kᵀ (x − μ)
    error = (x - x_hat).pow(2).sum(1).mean().item()
    return {"test digits": x_test[:12], f"PCA, k = {k}: error {error:.3f} per image": x_hat.reshape(-1, *shape)}


viz.image_rows_slider(pca_rows, list(range(1, D + 1)), description="code size k", value=LATENT_DIM)

# %% [markdown]
# ### What squared error rewards
#
# Why do the reconstructions blur instead of guessing a sharp stroke? Because of what $\|x - \hat x\|^2$ rewards. Compare, for every test digit, four "reconstructions": the digit itself moved one pixel to the right (every stroke correct, just misplaced), a flat grey square at the digit's own mean intensity, the average training digit, and the digit blurred over 3×3 pixels:

# %%
def squared_error(x_hat, x):
    return (x_hat - x).pow(2).flatten(1).sum(1)                                # ‖x − x̂‖² per image


shifted = torch.zeros_like(x_test)
shifted[..., 1:] = x_test[..., :-1]                                            # one pixel right, a blank column in
candidates = {"the digit, one pixel right": shifted,
              "flat grey (its own mean)": x_test.mean(dim=(2, 3), keepdim=True).expand_as(x_test),
              "the average training digit": x_train.mean(0, keepdim=True).expand_as(x_test),
              "blurred over 3×3": F.avg_pool2d(F.pad(x_test, (1, 1, 1, 1), mode="replicate"), 3, stride=1)}
errors = {name: squared_error(images, x_test) for name, images in candidates.items()}
fig = Figure(figsize=(7.8, 2.0), layout="constrained")
for ax, (name, images) in zip(fig.subplots(1, 5), [("test digit 0", x_test), *candidates.items()]):
    viz.image_grid(images[:1], nrow=1, vmin=0, vmax=1, ax=ax)
    ax.set_title(name if name == "test digit 0" else f"{name}\n‖x − x̂‖² = {squared_error(images[:1], x_test[:1]).item():.2f}",
                 fontsize=8)
viz.show(fig, alt="Five 8 × 8 images, each titled with its squared error against the first: a test digit; the same "
         "digit moved one pixel right; a flat grey square at its mean intensity; the average training digit; the digit "
         "blurred over 3×3. The shifted digit, which keeps every stroke, scores worse than the featureless grey "
         "square, and the blurred digit scores best.")
print("mean over the test digits of ‖x − x̂‖²: " + "; ".join(f"{name}: {e.mean().item():.2f}" for name, e in errors.items()))
print(f"the shifted digit scores worse than the flat grey square on {(errors[list(errors)[0]] > errors[list(errors)[1]]).float().mean().item():.0%} "
      f"of the test digits")

# %% [markdown]
# The cell prints the averages (measured with the default parameters): the correct digit one pixel off scores *worse* than a featureless grey square, and worse than the average digit; the blurred digit scores best. Squared error cannot tell "a sharp stroke slightly misplaced" from "no stroke": it pays for every pixel on its own, twice for a misplaced stroke (missing here, extra there). A decoder that is unsure where a stroke goes therefore minimises it by spreading the stroke over every place it might be — a blur. This is a property of the loss (a Gaussian likelihood with fixed variance), not of the network; lecture 02's categorical decoder, lecture 04's autoregressive models and lecture 07's GANs are three ways around it.

# %% [markdown]
# ## 7. Why a plain autoencoder is not a generative model
#
# To *generate* we need two things: a distribution over codes to draw $z$ from, and a decoder that gives a plausible image wherever that distribution puts mass. A plain autoencoder has neither. Its loss only looks at the codes of training images, $f(x^{(i)})$, so (1) these codes form an irregular cloud, with no known density, gaps between the classes and empty regions around them, and (2) nothing asks $g$ to be sensible in the gaps. Here is the code space of the $k = 2$ autoencoder (its 1-NN accuracy, as in section 3, is far above PCA's and kernel PCA's: the classes separate), with 300 codes drawn uniformly from the box around the training codes (×), and what the decoder makes of a grid over the same box:

# %%
with torch.no_grad():
    z_train, z_test = ae[2].encode(x_train), ae[2].encode(x_test)
low, high = z_train.min(0).values, z_train.max(0).values
z_random = low + (high - low) * torch.rand(300, 2, generator=generator).to(device)   # uniform over the box
fig = Figure(figsize=(7.9, 3.9), layout="constrained")
ax1, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.1])
viz.scatter_2d(z_train[:n_kernel], y_train[:n_kernel], ax=ax1, s=3,
                title=f"codes of training digits: 1-NN accuracy {loo_1nn(z_train[:n_kernel], y_train[:n_kernel]):.3f}")
ax1.scatter(*z_random.cpu().T, s=6, marker="x", c="k", lw=0.6)
grid_n = 12
u = torch.linspace(0, 1, grid_n, device=device)
grid = torch.stack(torch.meshgrid(u, u.flip(0), indexing="xy"), -1).reshape(-1, 2) * (high - low) + low  # row 0: top (largest z_2)
with torch.no_grad():
    viz.image_grid(ae[2].decode(grid), nrow=grid_n, vmin=0, vmax=1, ax=ax2)
ax2.set_title("g(z) on a 12 × 12 grid over the same box", fontsize=9)
viz.show(fig, alt="Left: the 2-D codes of the training digits, one colour per class with a legend, and 300 random "
         "codes from their bounding box as black crosses: each class has its own region, and there is empty "
         "space between and around them, where many of the crosses fall. Right: the decoder's images on a 12 × 12 grid over the "
         "same box (z_1 across, z_2 up): digits where training codes lie, blurred mixtures of neighbouring classes "
         "between them, and strokes that belong to no digit towards the corners.")
with torch.no_grad():
    viz.show(viz.image_grid(ae[2].decode(z_random[:24]), nrow=12, vmin=0, vmax=1, scale=0.5),
             alt="The decoder's images for 24 of the random codes, in two rows of twelve: some look like digits, "
             "others are blurred mixtures or shapes that are no digit.")


# %% [markdown]
# The grid shows what the decoder does where there were no training codes: blurred compromises between neighbouring classes, and strokes that belong to no digit towards the corners; the second row of pictures decodes 24 of the random codes. To count the holes, call a code *in a hole* when it is further from every training code than 99 % of the test digits' codes are. Three ways one might try to pick codes, for the 2-D and the 5-D autoencoder:

# %%
def hole_fractions(model):
    with torch.no_grad():
        z_tr, z_te = model.encode(x_train), model.encode(x_test)
    k = z_tr.shape[1]
    nearest = lambda z: nearest_distance(z, z_tr)                          # distance to the nearest training code
    level = torch.quantile(nearest(z_te), 0.99)                            # 99 % of test codes are closer
    g = torch.Generator().manual_seed(SEED)
    draw = lambda *size: torch.randn(*size, generator=g).to(device)
    lo, hi = z_tr.min(0).values, z_tr.max(0).values
    picks = {"codes of test digits": z_te,
             "uniform over the box of the codes": lo + (hi - lo) * torch.rand(2000, k, generator=g).to(device),
             "z ~ N(0, I)": draw(2000, k),
             "a Gaussian fitted to the codes": z_tr.mean(0) + draw(2000, k) @ torch.linalg.cholesky(torch.cov(z_tr.T)).T}
    return {name: (nearest(z) > level).float().mean().item() for name, z in picks.items()}


holes = {k: hole_fractions(ae[k]) for k in (2, LATENT_DIM)}
display(Markdown(f"| codes picked as | in holes, k = 2 | in holes, k = {LATENT_DIM} |\n|---|---|---|\n" +
                 "\n".join(f"| {name} | {holes[2][name]:.0%} | {holes[LATENT_DIM][name]:.0%} |" for name in holes[2])))

# %% [markdown]
# Test digits land in holes 1 % of the time, by the definition. Codes we invent do worse, and the more dimensions, the worse: in 5-D most of the box, and most of the standard normal, is empty of data. The autoencoder never said where its codes live, so $\mathcal N(0, I)$ is a guess — in 2-D it happens to fall inside the cloud, which covers the origin, but nothing in the training made that so, and in 5-D it misses. Even a Gaussian fitted to the codes afterwards puts mass in the gaps.
#
# **Interpolation** walks on straight lines between the codes of two test digits, $z(t) = (1-t)\,f(x_a) + t\,f(x_b)$. We decode three such paths in the 5-D code space, and count, over 300 random pairs of test digits, how many paths pass through a hole somewhere:

# %%
with torch.no_grad():
    z5_train, z5_test = ae[LATENT_DIM].encode(x_train), ae[LATENT_DIM].encode(x_test)
nearest5 = lambda z: nearest_distance(z, z5_train)                    # distance to the nearest training code
level5 = torch.quantile(nearest5(z5_test), 0.99)                     # the hole level, as above
pairs = [(int((y_test == a).nonzero()[0]), int((y_test == b).nonzero()[0])) for a, b in [(0, 1), (3, 6), (2, 7)]]
t = torch.linspace(0, 1, 11, device=device)[:, None]
with torch.no_grad():
    paths = [ae[LATENT_DIM].decode((1 - t) * z5_test[i] + t * z5_test[j]) for i, j in pairs]   # z(t), 11 points each
viz.show(viz.image_grid(torch.cat(paths), nrow=11, vmin=0, vmax=1, scale=0.5,
                          titles=[f"t={v:.1f}" for v in t.squeeze(1).tolist()] + [""] * 22),
         alt=f"Three rows of 11 images decoded at t = 0, 0.1, …, 1 on straight lines between the {LATENT_DIM}-D codes of two "
         "test digits, a 0 and a 1, a 3 and a 6, a 2 and a 7: each row starts and ends with its digits, and the "
         "middle images blend the two, some looking like neither.")
g = torch.Generator().manual_seed(SEED)
a, b = torch.randint(len(x_test), (2, 300), generator=g).to(device)      # 300 random pairs of test digits
t21 = torch.linspace(0, 1, 21, device=device)[:, None, None]
walks = (1 - t21) * z5_test[a] + t21 * z5_test[b]                      # (21, 300, k)
in_hole = (nearest5(walks.reshape(-1, LATENT_DIM)).reshape(21, 300) > level5).any(0)
interpolation_holes = in_hole.float().mean().item()
print(f"{interpolation_holes:.0%} of the 300 straight paths pass through a hole; "
      f"{holes[LATENT_DIM]['z ~ N(0, I)']:.0%} of the codes drawn from N(0, I) are in one")

# %% [markdown]
# Straight paths between two real codes mostly stay inside the cloud: in the code space of an autoencoder the space between two digits is largely filled with *other* digits, so a path is a walk through other classes and blurred blends (in the second row the 3 passes through 9-like shapes before it becomes a 6), not a smooth morph of one digit into the other; and a few paths do cross holes. The holes are where *invented* codes land. Drag along a path yourself in the 2-D code space (the widget is lecture 02's, where the same walk through a VAE's latent space can be compared):

# %%
i, j = pairs[0]
viz.interpolation_widget(ae[2].decode, z_test[i], z_test[j], steps=8)

# %% [markdown]
# > **Common mistake.** "Latent space should be continuous and interpolable. Autoencoder spaces are neither" [000] is the right conclusion stated too loosely: $f$ and $g$ are continuous functions, so nearby codes *do* decode to similar images. What is missing is, first, a **known distribution over codes** to sample from (without one, "sample a $z$" has no meaning; a Gaussian fitted afterwards still puts mass in the gaps), and second, **completeness**: nothing makes every region of the code space decode to a digit, so invented codes fall into holes, and nothing makes the space between two codes a meaningful path. Lecture 02's variational autoencoder fixes both with a prior $p(z) = \mathcal N(0, I)$ and a KL term that pulls the codes onto it.
#
# ## 8. The encoder as a feature extractor for a few labels
#
# An autoencoder is trained without labels, so it can use every unlabelled image; its encoder can then serve a task that has only a few labels [001]. We keep `LABELS_PER_CLASS` = 5 labels per class (50 in all) of the training split, fit a logistic regression (`linear_probe`: standardised features, L2 penalty, L-BFGS) on different features, and score it on the whole test split, averaging over 10 random draws of the 50:

# %%
k_features = 16 if 16 in ae else max(LATENT_SIZES)
dae_features = fit(MLPAutoencoder(shape=shape, latent_dim=k_features, hidden=HIDDEN, noise_std=NOISE_STD),
                   f"denoising AE, k={k_features}")
draws = [few_label_indices(y_train, LABELS_PER_CLASS, torch.Generator().manual_seed(SEED + r)) for r in range(10)]
with torch.no_grad():
    features = {f"pixels ({D} numbers)": (x_train.flatten(1), x_test.flatten(1)),
                f"PCA code (k = {k_features})": (pca_by_k[k_features].encode(x_train), pca_by_k[k_features].encode(x_test)),
                f"autoencoder code (k = {k_features})": (ae[k_features].encode(x_train), ae[k_features].encode(x_test)),
                f"denoising autoencoder code (k = {k_features})": (dae_features.encode(x_train), dae_features.encode(x_test))}
probe = {name: sum(linear_probe(f_train[idx], y_train[idx], f_test, y_test) for idx in draws) / len(draws)
         for name, (f_train, f_test) in features.items()}
display(Markdown(f"| features | test accuracy, {LABELS_PER_CLASS * 10} labels |\n|---|---|\n" +
                 "\n".join(f"| {name} | {acc:.3f} |" for name, acc in probe.items())))


# %% [markdown]
# On these small, clean digits the raw pixels are already a good representation. A 16-number code does about as well as the 64 pixels — the denoising autoencoder's code best, within about a point of the pixels either way; PCA's and the plain autoencoder's a little behind — but no code clearly beats them. The gain here is compression (a quarter of the numbers), not accuracy. On harder data, such as natural images, learnt features beat pixels by far; that is why self-supervised pre-training exists.
#
# The slides' other use is to **initialise** a classifier with the encoder: add a linear layer on top of $f$ and train everything on the 50 labels. Against the same network from a random initialisation (the first 3 draws, 200 Adam steps each):

# %%
def fine_tuned_accuracy(encoder, idx, steps=200):
    torch.manual_seed(SEED)
    net = nn.Sequential(copy.deepcopy(encoder), nn.Linear(k_features, 10)).to(device)   # f, then a linear classifier
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(net(x_train[idx]), y_train[idx]).backward()
        opt.step()
    with torch.no_grad():
        return (net(x_test).argmax(1) == y_test).float().mean().item()


torch.manual_seed(SEED)
scratch = MLPAutoencoder(shape=shape, latent_dim=k_features, hidden=HIDDEN).to(device)  # same architecture, untrained
fine_tuning = {"random initialisation": scratch.encoder, "initialised with the autoencoder's encoder": ae[k_features].encoder,
               "initialised with the denoising autoencoder's encoder": dae_features.encoder}
fine_tuned = {name: sum(fine_tuned_accuracy(encoder, idx) for idx in draws[:3]) / 3 for name, encoder in fine_tuning.items()}
display(Markdown(f"| network trained on {LABELS_PER_CLASS * 10} labels | test accuracy |\n|---|---|\n" +
                 "\n".join(f"| {name} | {acc:.3f} |" for name, acc in fine_tuned.items())))

# %% [markdown]
# Here pre-training helps the network over a random start, by one to two points. Compare with the frozen codes of the table before: with only 50 labels, training every weight of the network is not better than fitting a linear classifier on a good frozen code — the usual recipe with few labels is to freeze first and fine-tune only with more.
#
# ## Key numbers
#
# The numbers this lecture quotes, in one place. Their last digits depend on the machine (a trained network's weights differ with the floating-point library and the CPU), so the test suite does not compare them digit by digit; the asserts at the end check, on every run, each claim the text makes from them:

# %%
print(f"principal angles, linear AE (k = {LATENT_DIM}) vs PCA: max {angles.max().item():.1f} degrees")
print(f"PCA: training error {recon_error(pca, x_train):.4f} = sum of discarded eigenvalues {lam[LATENT_DIM:].sum().item():.4f}")
print("test reconstruction error by code size k:")
for k in LATENT_SIZES:
    print(f"  k = {k:3d}: PCA {curve[k]['PCA, test']:.3f}   MLP AE {curve[k]['MLP AE, test']:.3f}")
print(f"denoising (σ = {NOISE_STD}): identity {noise_energy:.3f}, plain AE {denoising_error(plain_wide, noisy_test, x_test):.3f}, "
      f"denoising AE {denoising_error(denoiser, noisy_test, x_test):.3f}")
print(f"inpainting {MASK_PROB:.0%} hidden pixels: mean image {missing_error(fills['training mean image']):.3f}, "
      f"masking conv AE {missing_error(fills['masking conv AE, 1 pass']):.3f}")
print(f"straight paths through a hole (k = {LATENT_DIM}): {interpolation_holes:.0%}")
print(f"codes in holes (k = 2 / k = {LATENT_DIM}): uniform {holes[2]['uniform over the box of the codes']:.0%} / "
      f"{holes[LATENT_DIM]['uniform over the box of the codes']:.0%}, N(0, I) {holes[2]['z ~ N(0, I)']:.0%} / "
      f"{holes[LATENT_DIM]['z ~ N(0, I)']:.0%}")
print("few labels:", ", ".join(f"{name.split(' (')[0]} {acc:.3f}" for name, acc in probe.items()))

# the claims of the text, checked with the numbers just printed
assert angles.max().item() < 1, "the linear AE spans the PCA subspace: principal angles ≈ 0°"
assert abs(recon_error(pca, x_train) - lam[LATENT_DIM:].sum().item()) < 1e-3, "PCA's error is the sum of the discarded eigenvalues"
mlp, pca_test = {k: curve[k]["MLP AE, test"] for k in LATENT_SIZES}, {k: curve[k]["PCA, test"] for k in LATENT_SIZES}
assert all(mlp[k] < pca_test[k] for k in (1, 2, 5)), "with a tight bottleneck (k = 1, 2, 5) the MLP AE beats PCA on the test split"
assert all(pca_test[k] < mlp[k] for k in (8, 16, 32)), "the curves cross between k = 5 and k = 8; PCA wins at large k"
assert curve[32]["MLP AE, training"] > pca_test[32], "at k = 32 the MLP's training error is above PCA's test error"
assert mlp[8] > mlp[5], "the MLP curve is not monotone: k = 8 scores worse than k = 5"
assert denoising_error(denoiser, noisy_test, x_test) < denoising_error(plain_wide, noisy_test, x_test) < noise_energy, \
    "on noisy digits the denoising AE beats the plain AE, which beats the identity"
assert recon_error(denoiser, x_test) > recon_error(plain_wide, x_test), "the denoiser gives up a little clean reconstruction"
inpainted = {name: missing_error(filled) for name, filled in fills.items()}
assert inpainted["plain AE, 1 pass"] > inpainted["training mean image"] > inpainted["masking conv AE, 1 pass"], \
    "one pass of the plain AE is worse than the mean image, one pass of the masking AE better"
assert inpainted["plain AE, 10 passes"] < inpainted["plain AE, 1 pass"], "iterating helps the plain AE"
assert inpainted["masking conv AE, 10 passes"] > inpainted["masking conv AE, 1 pass"], "iterating does not help the masking AE"
assert 0 < interpolation_holes < 0.5, "straight paths mostly stay inside the cloud, and a few cross holes"
for picked in ["uniform over the box of the codes", "z ~ N(0, I)"]:
    assert holes[2][picked] < holes[LATENT_DIM][picked], f"{picked}: the more dimensions, the more codes in holes"
assert holes[2]["z ~ N(0, I)"] < 0.05 < 0.5 < holes[LATENT_DIM]["z ~ N(0, I)"], "N(0, I) falls inside the 2-D cloud, and misses in 5-D"
assert all(holes[k]["a Gaussian fitted to the codes"] > 0.05 for k in (2, LATENT_DIM)), "a fitted Gaussian still puts mass in the gaps"
pixels, pca_code, ae_code, dae_code = probe.values()
assert dae_code > max(pca_code, ae_code) and abs(dae_code - pixels) < 0.015, \
    "few labels: the denoising AE's code is the best code, within about a point of the pixels"
assert max(pca_code, ae_code) < pixels, "PCA's and the plain AE's codes are a little behind the pixels"
scratch_acc, *pretrained_acc = fine_tuned.values()
assert all(acc > scratch_acc for acc in pretrained_acc), "pre-training helps fine-tuning over a random start"
assert max(pretrained_acc) <= dae_code, "fine-tuning every weight on 50 labels is not better than a probe on a good frozen code"

# %% [markdown]
# ## Summary
#
# - An autoencoder is an encoder $f$ and a decoder $g$ trained to make $g\circ f \approx \mathrm{id}$ by minimising $\|x - g(f(x))\|^2$, with no labels.
# - PCA is the best linear code: project on the top-$k$ eigenvectors of the covariance (via the SVD of the centred data); its error is the sum of the discarded eigenvalues. A linear autoencoder trained by gradient descent finds the same **subspace** (principal angles ≈ 0°) in a different basis; kernel PCA bends the code with a hand-made kernel but has no decoder.
# - Undercomplete codes must compress; overcomplete ones can copy, unless the task is changed: the **denoising** autoencoder reconstructs clean $x$ from corrupted $\tilde x$, and **masking** noise trains it to **inpaint**.
# - A smaller bottleneck means blurrier, more confused reconstructions; non-linear autoencoders beat PCA at small $k$. At large $k$ our short-trained MLP loses to PCA even on its training images, which says more about its training than about autoencoders: check the training error before concluding from a comparison.
# - A plain autoencoder is not generative: no distribution over codes, and holes in the code space where the decoder produces non-digits. The VAE (lecture 02) adds the prior that fixes this.
# - The encoder's code is a compact feature for tasks with few labels, and can initialise a classifier.
#
# **Exercises.** The graded exercise for this lecture (`exercises/01_autoencoders.ipynb`) has you compute PCA with `torch.linalg.svd`, check that its error is the sum of the discarded eigenvalues, write the principal angles, and train a linear autoencoder until it finds the PCA subspace. Ungraded questions to try here: (a) train the linear autoencoder with `LATENT_DIM = 2` and then 3: why is it much slower to settle for some $k$ than others? (Look at $\lambda_k - \lambda_{k+1}$.) (b) Train the masking autoencoder with the bottom half of the image hidden instead of random pixels (write a corruption that does this) and inpaint bottom halves. (c) Set `DATA = "mnist"` on a GPU: does the crossing point of the two curves in section 6 move? (d) Set `EPOCHS = 100`: at k = 32, how far do the MLP's training and test errors fall, and does its training error get below PCA's?
#
# **References.**
# - H. Bourlard, Y. Kamp, *Auto-association by multilayer perceptrons and singular value decomposition*, Biological Cybernetics 59 (1988).
# - P. Baldi, K. Hornik, *Neural networks and principal component analysis: learning from examples without local minima*, Neural Networks 2 (1989).
# - B. Schölkopf, A. Smola, K.-R. Müller, *Nonlinear component analysis as a kernel eigenvalue problem*, Neural Computation 10 (1998).
# - M. Tipping, C. Bishop, *Probabilistic principal component analysis*, JRSS B 61 (1999).
# - G. Hinton, R. Salakhutdinov, *Reducing the dimensionality of data with neural networks*, Science 313 (2006).
# - P. Vincent, H. Larochelle, Y. Bengio, P.-A. Manzagol, *Extracting and composing robust features with denoising autoencoders*, ICML 2008.
# - P. Vincent, *A connection between score matching and denoising autoencoders*, Neural Computation 23 (2011).
# - G. Alain, Y. Bengio, *What regularized auto-encoders learn from the data-generating distribution*, JMLR 15 (2014).
# - Å. Björck, G. Golub, *Numerical methods for computing angles between linear subspaces*, Mathematics of Computation 27 (1973).
# - I. Goodfellow, Y. Bengio, A. Courville, *Deep Learning* (2016), chapter 14 (autoencoders).
