# %% [markdown] coursekit={"id": "intro", "kind": "locked"}
# # Exercise 02 · The VAE's objective, piece by piece
#
# Goes with lecture `notebooks/02_vae.ipynb`. **23 points:** 8 from public tests, 15 from hidden tests.
#
# You will write the four pieces of a VAE's training and evaluation — the reparameterised sample, the KL to the prior, the ELBO of a categorical decoder, and the importance-weighted (IWAE) estimate of $\log p_\theta(x)$ — and check them against a small VAE trained in the setup cell; then read a table of bounds, and train a VAE of your own on your ELBO. Write the pieces with plain torch operations (`torch.distributions` is fine in Task 5).
#
# **How this works.** Write your code only in the cells that say `YOUR CODE HERE` (the other cells are locked). After each task, run the public test cell below it: it tells you what it expected and what it got. Hidden tests, run by your instructor's grader, decide the grade — the public tests are a minimum, not a guarantee. All your code must live in the answer cells: cells you add yourself are not run by the grader. You can check your points from a terminal with `coursekit check exercises/02_vae.ipynb`.

# %% coursekit={"id": "setup", "kind": "locked"}
import math

import torch

from coursekit import data
from coursekit.grading.checks import check_close, check_shape, check_true
from coursekit.models import VAE
from coursekit.training import train

torch.set_num_threads(1)
torch.manual_seed(0)
splits = data.digits()
# A small VAE on the 17-level digits (latent L = 4), trained for 30 epochs (a few seconds). Its two networks, in the
# layout of this exercise: images as (N, D) integer levels with D = 64, logits as (N, D, K) with K = 17.
vae = VAE(latent_dim=4, hidden=256, dropout=0.0)
train(vae, data.loaders(splits, batch_size=64)["train"], epochs=30, progress=False, device="cpu")
vae.eval()


def encoder(x):
    "(N, D) levels → (mu, log_var), each (N, L): the parameters of q(z | x)."
    return vae.encode(x.view(-1, 1, 8, 8))


def decoder(z):
    "(N, L) latents → logits (N, D, K) of p(x_d | z)."
    return vae.decoder_output(z).flatten(2).transpose(1, 2)


x_test = splits.test.x.view(-1, 64)   # (447, 64) integer levels 0..16
print("encoder:", [tuple(t.shape) for t in encoder(x_test[:5])], " decoder:", tuple(decoder(torch.zeros(5, 4)).shape))
with torch.no_grad():   # coursekit's own estimates on the first 40 test images, for Task 5 (fixed seeds)
    in_use = vae.latent_report(x_test.view(-1, 1, 8, 8), generator=torch.Generator().manual_seed(0)).active
    elbo_40 = vae.elbo(x_test[:40].view(-1, 1, 8, 8), samples=300, generator=torch.Generator().manual_seed(7)).mean()
    iwae_40 = vae.iwae_bound(x_test[:40].view(-1, 1, 8, 8), k=300, generator=torch.Generator().manual_seed(9)).mean()
print(f"latents in use (mean KL > 0.05 nats): {in_use} of 4; first 40 test images: ELBO {elbo_40:.2f} nats, "
      f"L_300 {iwae_40:.2f} nats, gap {iwae_40 - elbo_40:.2f} nats")


# %% [markdown] coursekit={"id": "task-reparam", "kind": "locked"}
# ## Task 1 · The reparameterised sample (1 + 2 points)
#
# A sample of $q = \mathcal N(\mu, \mathrm{diag}\,\sigma^2)$ that gradients can flow through:
# $$z = \mu + \sigma \odot \varepsilon, \qquad \sigma = \exp\!\big(\tfrac12 \log\sigma^2\big), \qquad \varepsilon \sim \mathcal N(0, I).$$
# The encoder outputs $\log\sigma^2$ (`log_var`), not $\sigma$: any real number is a valid log-variance. Here the noise `eps` is given, so the function is deterministic; `mu`, `log_var` and `eps` have the same shape.

# %% coursekit={"id": "reparameterize", "kind": "answer"}
def reparameterize(mu, log_var, eps):
    """z = mu + sigma * eps with sigma = exp(log_var / 2), elementwise."""
    ### BEGIN SOLUTION
    sigma = torch.exp(log_var / 2)
    return mu + sigma * eps
    ### END SOLUTION


# %% coursekit={"id": "reparameterize-public", "kind": "public-test", "points": 1}
z = reparameterize(torch.tensor([1.0, -1.0]), torch.tensor([0.0, math.log(4.0)]), torch.tensor([0.5, 0.5]))
check_close(z, torch.tensor([1.5, 0.0]), name="reparameterize(mu=[1, -1], log_var=[0, log 4], eps=[0.5, 0.5])")
print("Task 1 public test passed")

# %% coursekit={"id": "reparameterize-hidden", "kind": "hidden-test", "points": 2}
m = torch.tensor([0.3, -2.0, 1.0], requires_grad=True)
lv = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
e = torch.tensor([1.5, -0.5, 0.25])
out = reparameterize(m, lv, e)
check_true(out.requires_grad, "z must carry gradients back to mu and log_var")
out.sum().backward()
check_close(m.grad, torch.ones(3), name="dz/dmu")
check_close(lv.grad, 0.5 * torch.exp(0.5 * lv.detach()) * e, name="dz/dlog_var = sigma * eps / 2")
many = reparameterize(torch.full((200_000,), 2.0), torch.full((200_000,), math.log(0.09)),
                      torch.randn(200_000, generator=torch.Generator().manual_seed(3)))
check_close(many.mean(), 2.0, name="mean of z", atol=0.01)
check_close(many.std(), 0.3, name="std of z", atol=0.01)


# %% [markdown] coursekit={"id": "task-kl", "kind": "locked"}
# ## Task 2 · The KL divergence to the prior (1 + 2 points)
#
# $$\mathrm{KL}\big(\mathcal N(\mu, \mathrm{diag}\,\sigma^2)\,\big\|\,\mathcal N(0, I)\big) = \frac12 \sum_{j=1}^{L} \left(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1\right).$$
# Sum over the **last** dimension (the latent dimensions): `mu` and `log_var` of shape (N, L) give N values; (B, N, L) gives (B, N).

# %% coursekit={"id": "kl", "kind": "answer"}
def kl_to_prior(mu, log_var):
    """KL(N(mu, diag exp(log_var)) || N(0, I)) in nats, summed over the last dimension."""
    ### BEGIN SOLUTION
    variance = torch.exp(log_var)
    return 0.5 * torch.sum(variance + mu * mu - 1.0 - log_var, dim=-1)
    ### END SOLUTION


# %% coursekit={"id": "kl-public", "kind": "public-test", "points": 1}
check_close(kl_to_prior(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3), name="KL of the prior to itself")
check_close(kl_to_prior(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2)), torch.tensor([0.5]),
            name="KL for mu = (1, 0), sigma = 1")
check_close(kl_to_prior(torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, math.log(4.0)]])),
            torch.tensor([0.5 * ((1.0 + 4.0 - 1.0 - 0.0) + (4.0 + 0.0 - 1.0 - math.log(4.0)))]),  # Σ_j ½(σ² + μ² − 1 − log σ²)
            name="KL for mu = (2, 0), sigma² = (1, 4)")
print("Task 2 public tests passed")

# %% coursekit={"id": "kl-hidden", "kind": "hidden-test", "points": 2}
g = torch.Generator().manual_seed(4)
m, lv = torch.randn(2, 5, 3, generator=g, dtype=torch.float64), torch.randn(2, 5, 3, generator=g, dtype=torch.float64)
got = kl_to_prior(m, lv)
check_shape(got, (2, 5), name="kl_to_prior on (2, 5, 3)")
reference = torch.distributions.kl_divergence(torch.distributions.Normal(m, (0.5 * lv).exp()),
                                              torch.distributions.Normal(0.0, 1.0)).sum(-1)
check_close(got, reference, name="kl_to_prior vs torch.distributions")
s = m[0, 0] + (0.5 * lv[0, 0]).exp() * torch.randn(300_000, 3, generator=g, dtype=torch.float64)
log_q = torch.distributions.Normal(m[0, 0], (0.5 * lv[0, 0]).exp()).log_prob(s).sum(-1)
log_p = torch.distributions.Normal(0.0, 1.0).log_prob(s).sum(-1)
check_close(got[0, 0], (log_q - log_p).mean(), name="kl_to_prior vs Monte Carlo", atol=0.03, rtol=0.01)


# %% [markdown] coursekit={"id": "task-categorical", "kind": "locked"}
# ## Task 3 · The categorical decoder's log-likelihood (1 + 2 points)
#
# The decoder gives, for every pixel $d$, $K$ logits $\ell_{d,1..K}$; the pixel's distribution is $\mathrm{softmax}(\ell_d)$, and pixels are independent given $z$:
# $$\log p_\theta(x \mid z) = \sum_{d=1}^{D} \log \mathrm{softmax}(\ell_d)_{x_d} = \sum_{d=1}^D \Big(\ell_{d, x_d} - \log \sum_{k} e^{\ell_{d,k}}\Big).$$
# `logits` has shape (N, D, K), `x` holds integer levels with shape (N, D); return one value per example, (N,). Keep it stable for large logits (`torch.log_softmax` or `torch.logsumexp`).

# %% coursekit={"id": "categorical", "kind": "answer"}
def log_categorical(logits, x):
    """log p(x | z) per example: the sum over pixels of log softmax(logits)[x_d]; logits (N, D, K), x (N, D)."""
    ### BEGIN SOLUTION
    log_probs = torch.log_softmax(logits, dim=-1)                          # (N, D, K)
    chosen = torch.gather(log_probs, -1, x.long().unsqueeze(-1)).squeeze(-1)  # (N, D)
    return chosen.sum(dim=-1)
    ### END SOLUTION


# %% coursekit={"id": "categorical-public", "kind": "public-test", "points": 1}
uniform = log_categorical(torch.zeros(2, 64, 17), x_test[:2])
check_shape(uniform, (2,), name="log_categorical on 2 images")
check_close(uniform, torch.full((2,), -64 * math.log(17)), name="equal logits: log p(x|z) = −D log K")
print("Task 3 public tests passed")

# %% coursekit={"id": "categorical-hidden", "kind": "hidden-test", "points": 2}
g = torch.Generator().manual_seed(5)
lg = 3 * torch.randn(4, 64, 17, generator=g)
xs = torch.randint(0, 17, (4, 64), generator=g)
check_close(log_categorical(lg, xs), torch.distributions.Categorical(logits=lg).log_prob(xs).sum(-1),
            name="log_categorical vs torch.distributions.Categorical", rtol=1e-4, atol=1e-3)
big = log_categorical(1000 * lg, xs)
check_true(bool(torch.isfinite(big).all()), f"log_categorical must be finite for logits of size 1000, got {big}")
every = torch.stack([log_categorical(lg[:1, :1], torch.full((1, 1), k)) for k in range(17)])
check_close(every.exp().sum(), 1.0, name="probabilities of the 17 levels of one pixel sum to 1", atol=1e-5)


# %% [markdown] coursekit={"id": "task-elbo", "kind": "locked"}
# ## Task 4 · The ELBO of one image, from one sample (1 + 2 points)
#
# Put the pieces together: with $z = \mu + \sigma\odot\varepsilon$,
# $$\widehat{\mathrm{ELBO}}(x) = \log p_\theta(x \mid z) - \mathrm{KL}\big(q_\phi(z \mid x)\,\|\,p(z)\big),$$
# where `decoder(z)` gives the logits of $p_\theta(x \mid z)$. `x` (N, D), `mu`, `log_var` and `eps` (N, L); return (N,). Its average over $\varepsilon$ is the ELBO; minus its mean over a batch is the VAE's training loss.

# %% coursekit={"id": "elbo", "kind": "answer"}
def elbo(x, mu, log_var, decoder, eps):
    """One-sample ELBO per example: log p(x | z) - KL(q || prior), with z = reparameterize(mu, log_var, eps)."""
    ### BEGIN SOLUTION
    latent = reparameterize(mu, log_var, eps)
    return log_categorical(decoder(latent), x) - kl_to_prior(mu, log_var)
    ### END SOLUTION


# %% coursekit={"id": "elbo-public", "kind": "public-test", "points": 1}
m0, lv0 = torch.zeros(3, 4), torch.zeros(3, 4)
with torch.no_grad():
    got = elbo(x_test[:3], m0, lv0, decoder, torch.zeros(3, 4))
    check_close(got, log_categorical(decoder(torch.zeros(3, 4)), x_test[:3]),
                name="ELBO with q = prior and eps = 0 (the KL is 0, z = 0)", atol=1e-4)
    m1 = torch.tensor([[1.0, 0.0, 0.0, 0.0]]).expand(3, 4)
    check_close(elbo(x_test[:3], m1, lv0, decoder, torch.zeros(3, 4)),
                log_categorical(decoder(m1), x_test[:3]) - 0.5,
                name="ELBO with mu = (1, 0, 0, 0), sigma = 1, eps = 0 (z = mu, and the KL is ½)", atol=1e-4)
check_true(bool((got < 0).all()), "an ELBO of discrete data is a log-probability bound: it must be negative")
print("Task 4 public tests passed")

# %% coursekit={"id": "elbo-hidden", "kind": "hidden-test", "points": 2}
g = torch.Generator().manual_seed(6)
xs = x_test[:32]
with torch.no_grad():
    m, lv = encoder(xs)
    e = torch.randn(m.shape, generator=g)
    got = elbo(xs, m, lv, decoder, e)
    zz = m + (0.5 * lv).exp() * e
    expected = vae.log_px_z(xs.view(-1, 1, 8, 8), zz) - 0.5 * (m ** 2 + lv.exp() - lv - 1).sum(-1)
check_shape(got, (32,), name="elbo on 32 test images")
check_close(got, expected, name="elbo vs the VAE's own computation", rtol=1e-4, atol=1e-3)
bits = -got.mean().item() / (64 * math.log(2))
check_true(2.0 < bits < 4.087, f"−ELBO of the trained VAE should be between 2 and 4.087 bits/dim, got {bits:.3f}")


# %% [markdown] coursekit={"id": "task-iwae", "kind": "locked"}
# ## Task 5 · The importance-weighted estimate of log p(x) (2 + 3 points)
#
# With the encoder as proposal, draw $z_1, \dots, z_k \sim q_\phi(z \mid x)$ for each image and average the importance weights $w_s = p_\theta(x \mid z_s)\,p(z_s) / q_\phi(z_s \mid x)$:
# $$\mathcal L_k(x) = \log \frac1k \sum_{s=1}^k w_s = \operatorname{logsumexp}_s(\log w_s) - \log k .$$
# $\mathbb E[\mathcal L_1]$ is the ELBO; $\mathbb E[\mathcal L_k]$ grows with $k$ towards $\log p_\theta(x)$. The weights are tiny ($\log w \approx -100$): work with logs throughout, never `torch.exp(log_w).mean()`.
#
# `encoder(x)` gives `(mu, log_var)` of shape (N, L), `decoder(z)` logits (N, D, K) for latents (N, L). Draw the noise with `torch.randn(..., generator=generator)`; decode all $k \cdot N$ latents in one call (reshape (k, N, L) to (k·N, L) and back). Return (N,). To check it, compare the mean of your $\mathcal L_{300}$ on `x_test[:40]` with the set-up cell's printout of coursekit's own: the two differ only by the Monte-Carlo noise of two estimates, much less than the printed gap between $\mathcal L_{300}$ and the ELBO.

# %% coursekit={"id": "iwae", "kind": "answer"}
def iwae_bound(x, encoder, decoder, k, generator=None):
    """L_k(x) = log (1/k) sum_s p(x|z_s) p(z_s) / q(z_s|x) with z_s ~ q(z|x), one value per image: (N,)."""
    ### BEGIN SOLUTION
    mu, log_var = encoder(x)                                           # (N, L) each
    n, latent = mu.shape
    noise = torch.randn((k, n, latent), generator=generator)          # (k, N, L)
    z = reparameterize(mu, log_var, noise)                            # (k, N, L)
    log_px_z = log_categorical(decoder(z.reshape(k * n, latent)), x.repeat(k, 1)).view(k, n)
    normal = torch.distributions.Normal
    log_pz = normal(0.0, 1.0).log_prob(z).sum(-1)                     # (k, N)
    log_qz = normal(mu, torch.exp(0.5 * log_var)).log_prob(z).sum(-1)  # (k, N)
    return torch.logsumexp(log_px_z + log_pz - log_qz, dim=0) - math.log(k)
    ### END SOLUTION


# %% coursekit={"id": "iwae-public", "kind": "public-test", "points": 2}
with torch.no_grad():
    l5 = iwae_bound(x_test[:4], encoder, decoder, k=5, generator=torch.Generator().manual_seed(0))
check_shape(l5, (4,), name="iwae_bound on 4 images with k = 5")
check_true(bool(torch.isfinite(l5).all()), f"iwae_bound must be finite (work in logs), got {l5}")
check_true(bool((l5 < 0).all()), f"log p(x) of discrete images is negative, got {l5}")
print("Task 5 public tests passed")

# %% coursekit={"id": "iwae-hidden", "kind": "hidden-test", "points": 3}
xs = x_test[:40]
with torch.no_grad():
    one = torch.stack([iwae_bound(xs, encoder, decoder, k=1, generator=torch.Generator().manual_seed(s)) for s in range(30)])
    m, lv = encoder(xs)
    reference_elbo = vae.elbo(xs.view(-1, 1, 8, 8), samples=300, generator=torch.Generator().manual_seed(7))
    l_many = iwae_bound(xs, encoder, decoder, k=300, generator=torch.Generator().manual_seed(8))
    reference = vae.iwae_bound(xs.view(-1, 1, 8, 8), k=300, generator=torch.Generator().manual_seed(9))
gap = (reference.mean() - reference_elbo.mean()).item()
print(f"IWAE-ELBO gap of the set-up VAE on 40 test images: {gap:.2f} nats (the tolerances below are 0.3)")
check_true(gap > 1.5, f"the test needs a model whose L_300 lies well above its ELBO, got a gap of {gap:.2f} nats")
check_close(one.mean(), reference_elbo.mean(), name="mean of L_1 vs the ELBO", atol=0.3)
check_close(l_many.mean(), reference.mean(), name="L_300 vs coursekit's VAE.iwae_bound", atol=0.3)
check_true(bool(l_many.mean() > one.mean() + gap / 2), f"L_300 ({l_many.mean():.2f}) should exceed the ELBO "
           f"({one.mean():.2f}) by about {gap:.2f} nats on average")
# q = p(z) and a decoder that ignores z: every weight w_s = p(x | z_s) p(z_s) / q(z_s | x) is p(x), so L_k = log p(x)
# exactly, whatever the draws (a check that does not rest on this model's entropies: 2·E[log q] cancels on average here)
flat = torch.randn(64, 17, generator=torch.Generator().manual_seed(13))
prior_encoder = lambda x: (torch.full((len(x), 4), 0.0), torch.full((len(x), 4), 0.0))
with torch.no_grad():
    exact = iwae_bound(xs[:5], prior_encoder, lambda z: flat.expand(len(z), 64, 17), k=7, generator=torch.Generator().manual_seed(14))
check_close(exact, torch.distributions.Categorical(logits=flat).log_prob(xs[:5]).sum(-1),
            name="L_7 with q = p(z) and p(x | z) = p(x): log p(x) exactly", atol=1e-3)
shifted = lambda z: decoder(z) * 60.0       # a much sharper decoder: log w of thousands of nats below zero,
with torch.no_grad():                       # beyond what exp() can hold even in float64 (about −745)
    deep = iwae_bound(xs[:5], encoder, shifted, k=50, generator=torch.Generator().manual_seed(10))
    lowest = torch.distributions.Categorical(logits=shifted(m[:5])).log_prob(xs[:5]).sum(-1).min().item()   # not the student's
check_true(lowest < -1000, f"the test needs log w far below −745, got {lowest:.0f}")
check_true(bool(torch.isfinite(deep).all()), f"iwae_bound must stay finite when log w ≈ {lowest:.0f} (use logsumexp, "
           f"which shifts by the largest log w before exponentiating), got {deep}")


# %% [markdown] coursekit={"id": "task-bounds", "kind": "locked"}
# ## Task 6 · Reading a table of bounds (1 + 2 points)
#
# A categorical VAE on the 17-level 8×8 digits ($D = 64$) is evaluated on its test images. Averaged over them, in nats per image (numbers made up for this question):
#
# | $\mathbb E_q[\log p_\theta(x \mid z)]$ | $\mathrm{KL}(q_\phi(z \mid x)\,\Vert\,p(z))$ | ELBO | $\mathcal L_{10}$ | $\mathcal L_{1000}$ |
# |---|---|---|---|---|
# | −91.30 | 7.10 | −98.40 | −96.91 | −95.62 |
#
# Reason from the bounds of Task 5 and the lecture, and assign two numbers (Python floats, or arithmetic on the table's numbers):
# - `code_length_bits_per_dim`: the smallest upper bound on the model's test code length, $-\log_2 p_\theta(x) / D$ in **bits per dimension**, that the table supports;
# - `posterior_kl_at_least`: the largest lower bound, in nats, that the table gives on the average $\mathrm{KL}\big(q_\phi(z \mid x)\,\|\,p_\theta(z \mid x)\big)$, the encoder's distance from the true posterior.

# %% coursekit={"id": "bounds", "kind": "answer"}
### BEGIN SOLUTION
code_length_bits_per_dim = 95.62 / (64 * math.log(2))   # −L_1000 ≥ −log p(x) in expectation: the tightest bound
posterior_kl_at_least = 98.40 - 95.62                      # log p(x) − ELBO = KL(q ‖ p(z|x)) and log p(x) ≥ L_1000
### END SOLUTION


# %% coursekit={"id": "bounds-public", "kind": "public-test", "points": 1}
for name, value in [("code_length_bits_per_dim", code_length_bits_per_dim), ("posterior_kl_at_least", posterior_kl_at_least)]:
    check_true(isinstance(value, (int, float)), f"{name} must be a Python number, got {type(value).__name__}")
check_true(0 < code_length_bits_per_dim < math.log2(17), f"a bound in bits/dim of a model better than uniform over 17 "
           f"levels lies between 0 and log2(17) = 4.09, got {code_length_bits_per_dim}")
check_true(posterior_kl_at_least >= 0, f"a KL divergence is never negative, got {posterior_kl_at_least}")
print("Task 6 public tests passed")

# %% coursekit={"id": "bounds-bits-hidden", "kind": "hidden-test", "points": 1}
check_close(code_length_bits_per_dim, 95.62 / (64 * math.log(2)), name="the tightest bound on the code length, bits/dim",
            atol=0.002)

# %% coursekit={"id": "bounds-kl-hidden", "kind": "hidden-test", "points": 1}
check_close(posterior_kl_at_least, 98.40 - 95.62, name="the largest lower bound on KL(q ‖ p(z|x)), nats", atol=0.005)


# %% [markdown] coursekit={"id": "task-train", "kind": "locked"}
# ## Task 7 · Train a VAE on your own ELBO (1 + 2 points)
#
# Now use the pieces for what they are for. `DigitVAE` below has the set-up's layout — `encoder(x)` takes (N, D) levels and gives `(mu, log_var)`, `decoder(z)` gives logits (N, D, K) — with one hidden layer of 128 units each way. Write
# - its `loss(batch)`, the contract of the course's trainer: `coursekit.training.train` calls it on every batch `(x, y)` (`x` of shape (B, 1, 8, 8), integer levels; `y` the labels, unused here) and minimises `loss(batch)["loss"]`. Make it minus your one-sample `elbo` of Task 4, **averaged** over the batch, with fresh noise $\varepsilon \sim \mathcal N(0, I)$ at every call;
# - `train_digit_vae(loader, epochs, seed=0)`: call `torch.manual_seed(seed)`, make a `DigitVAE()`, train it with `train(model, loader, epochs=epochs, seed=seed, device="cpu", progress=False)` and return the model.
#
# The public test trains it for 30 epochs (a few seconds) and prints its bound on the 447 test images, which it never trained on, beside the independent-pixel floor of lecture 00. The hidden test asks for less than 2.30 bits/dim there, estimated independently of your code: a VAE whose latent code carries the digits' shapes.

# %% coursekit={"id": "train-vae", "kind": "answer"}
class DigitVAE(torch.nn.Module):
    """q(z | x) and p(x | z) for the (N, 64) digits, in the layout of the set-up's `encoder` and `decoder`."""

    def __init__(self, latent_dim=4, hidden=128):
        super().__init__()
        self.encoder_net = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ELU(), torch.nn.Linear(hidden, 2 * latent_dim))
        self.decoder_net = torch.nn.Sequential(torch.nn.Linear(latent_dim, hidden), torch.nn.ELU(), torch.nn.Linear(hidden, 64 * 17))

    def encoder(self, x):
        "(N, 64) levels → (mu, log_var), each (N, L)."
        mu, log_var = self.encoder_net(x.float() / 16).chunk(2, dim=-1)
        return mu, log_var

    def decoder(self, z):
        "(N, L) latents → logits (N, 64, 17)."
        return self.decoder_net(z).view(-1, 64, 17)   # (N, 64·17) → (N, D, K)

    def loss(self, batch):
        "{'loss': −(the mean over the batch of the one-sample ELBO)} for a batch (x, y), x of shape (B, 1, 8, 8)."
        ### BEGIN SOLUTION
        x = batch[0].view(-1, 64)                              # (B, 1, 8, 8) → (B, D)
        mu, log_var = self.encoder(x)
        eps = torch.randn_like(mu)
        per_image = elbo(x, mu, log_var, self.decoder, eps)   # (B,)
        return {"loss": -per_image.mean()}
        ### END SOLUTION


def train_digit_vae(loader, epochs, seed=0):
    """A new DigitVAE trained by coursekit's `train` on `loader` for `epochs` epochs (seeded), returned."""
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    model = DigitVAE()
    train(model, loader, epochs=epochs, seed=seed, device="cpu", progress=False)
    return model
    ### END SOLUTION


# %% coursekit={"id": "train-vae-public", "kind": "public-test", "points": 1}
from coursekit import evaluation

trained = train_digit_vae(data.loaders(splits, batch_size=64)["train"], epochs=30)
check_true(isinstance(trained, DigitVAE), f"train_digit_vae must return the trained DigitVAE, got {type(trained).__name__}")
trained = trained.cpu().eval()
batch = (splits.train.x[:64], splits.train.y[:64])
parts = trained.loss(batch)
check_true(isinstance(parts, dict) and "loss" in parts, "loss(batch) must return a dict with the key 'loss'")
check_true(parts["loss"].dim() == 0 and parts["loss"].requires_grad, "loss(batch)['loss'] must be one number that gradients "
           "flow back from (a 0-dim tensor)")
with torch.no_grad():
    xb = batch[0].view(-1, 64)
    mu_b, lv_b = trained.encoder(xb)
    q_b = torch.distributions.Normal(mu_b, (0.5 * lv_b).exp())
    g = torch.Generator().manual_seed(11)
    recon_b = torch.stack([torch.distributions.Categorical(logits=trained.decoder(mu_b + q_b.stddev * torch.randn(mu_b.shape, generator=g)))
                           .log_prob(xb).sum(-1) for _ in range(50)]).mean(0)
    minus_elbo_b = -(recon_b - torch.distributions.kl_divergence(q_b, torch.distributions.Normal(0.0, 1.0)).sum(-1)).mean()
    mean_loss = torch.stack([trained.loss(batch)["loss"] for _ in range(50)]).mean()
check_close(mean_loss, minus_elbo_b, name="loss(batch) averaged over 50 calls vs −ELBO averaged over the batch", atol=0.5)
with torch.no_grad():
    mu_t, lv_t = trained.encoder(x_test)
    recon_t = torch.distributions.Categorical(logits=trained.decoder(mu_t + (0.5 * lv_t).exp() * torch.randn(mu_t.shape, generator=g))).log_prob(x_test).sum(-1)
    rate_t = torch.distributions.kl_divergence(torch.distributions.Normal(mu_t, (0.5 * lv_t).exp()),
                                               torch.distributions.Normal(0.0, 1.0)).sum(-1)
    bits = (-(recon_t - rate_t).mean() / (64 * math.log(2))).item()
floor_bits = evaluation.floor_bits_per_dim(splits.train, splits.test)
print(f"your VAE, −ELBO on the 447 test images: {bits:.3f} bits/dim (independent-pixel floor: {floor_bits:.3f})")
check_true(math.isfinite(bits) and bits < math.log2(17), f"a trained VAE should beat the uniform model's "
           f"log2(17) = 4.09 bits/dim on the test images, got {bits:.3f}")
print("Task 7 public tests passed")

# %% coursekit={"id": "train-vae-hidden", "kind": "hidden-test", "points": 2}
g = torch.Generator().manual_seed(12)
with torch.no_grad():
    mu_t, lv_t = trained.encoder(x_test)
    q_t = torch.distributions.Normal(mu_t, (0.5 * lv_t).exp())
    recon_t = torch.stack([torch.distributions.Categorical(logits=trained.decoder(mu_t + q_t.stddev * torch.randn(mu_t.shape, generator=g)))
                           .log_prob(x_test).sum(-1) for _ in range(20)]).mean(0)
    rate_t = torch.distributions.kl_divergence(q_t, torch.distributions.Normal(0.0, 1.0)).sum(-1)
held_out = (-(recon_t - rate_t).mean() / (64 * math.log(2))).item()
print(f"held-out −ELBO: {held_out:.3f} bits/dim, rate {rate_t.mean():.2f} nats")
check_true(held_out < 2.30, f"the trained VAE's −ELBO on the held-out test images should be below 2.30 bits/dim, got {held_out:.3f}")
check_true(bool(rate_t.mean() > 2.0), f"the latent code should carry information (rate > 2 nats), got {rate_t.mean():.2f}")

# %% [markdown] coursekit={"id": "outro", "kind": "locked"}
# ## Before you submit
#
# Run *Kernel → Restart Kernel and Run All Cells*: every public test should print "passed". Then submit this notebook as it is (do not rename it). Questions to think about (not graded): why does Task 5 use the *encoder* and not the prior $p(z)$ to draw $z$? What does $\mathcal L_k - \mathcal L_1$ tell you about the encoder? Would the estimate still be a lower bound in expectation if you averaged $\log w_s$ instead of $w_s$?
