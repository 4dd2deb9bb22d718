# %% [markdown]
# # 05 · Attention and autoregressive transformers
#
# **Learning objectives.** After this lecture you can
# 1. compute scaled dot-product attention $\operatorname{softmax}(QK^\top/\sqrt{d} + M)\,V$ by hand on a tiny sequence, read its weights, and say why each output is a convex combination of the values;
# 2. show what the $\sqrt{d}$ is for (without it the softmax saturates and its gradient vanishes as $d$ grows), and what the causal mask $M$ is for (checked by autograd);
# 3. split attention into **heads** by a reshape, add **positions** (and see what a transformer without them cannot tell apart), and **measure** the $O(T^2 d)$ cost against the sequence length $T$;
# 4. train a small GPT over the 64 pixels of a digit, compare its exact test bits/dim with lecture 04's PixelCNN, WaveNet and MADE on the same split, read its attention maps, sample it with a temperature, and make sampling faster with a **key–value cache** that changes no sample.
#
# **Time:** about 60 minutes of reading; the notebook runs top to bottom in about a minute and a half on a 2-core CPU the first time (97.6 s measured cold on a quiet machine, 77 s of it training the GPT; `benchmarks/notebook_times.py` times every lecture this way), in about half a minute afterwards (the trained model is cached on disk).
# **Before you start:** lecture 04a (the chain rule, teacher forcing, temperature, bits/dim) and 04c (what a cache saves when sampling).

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults run the lecture in about a minute and a half on a 2-core CPU.
SEED = 0             # every random number below follows from it
DEVICE = "auto"      # "auto" = CUDA, then Apple MPS, then CPU
DATA = "digits"      # "digits" (8×8, 17 grey levels, ships with the course) or "mnist" (28×28)         GPU: "mnist"
MNIST_ROOT = None    # for DATA = "mnist": the folder with the IDX files (coursekit.data.mnist.download fetches them)
D_MODEL = 64         # the width d of every token's vector                                             GPU: 256
HEADS = 4            # attention heads per layer (head_dim = D_MODEL / HEADS)                          GPU: 8
LAYERS = 2           # transformer blocks                                                              GPU: 6
POSITIONS = "learned"  # "learned", "sinusoidal" or "none"
DROPOUT = 0.1        # on the embeddings and the MLP's output, training only (GPTConfig: none on the attention weights)
EPOCHS = 60          # at most (early stopping on the validation NLL, best weights kept)                  GPU: 30
PATIENCE = 5         # epochs without a better validation NLL before stopping
LR = 3e-3            # Adam's step size                                                                GPU: 1e-3
BATCH_SIZE = 64      #                                                                                 GPU: 128
COST_LENGTHS = (64, 128, 256, 512, 1024)  # sequence lengths T for the cost measurement               GPU: add 2048, 4096
TIMING_SAMPLES = 100  # images drawn per sampling-time measurement
CACHE_DIR = None     # trained models are kept here (None: $COURSEKIT_CACHE, else ~/.cache/coursekit)
RETRAIN = False      # True: train the model again even if a cached one exists

# %%
import math
import time

import torch
import torch.nn.functional as F
from IPython.display import Markdown, display

from coursekit import data, resolve_device, seed_everything, viz
from coursekit.evaluation import evaluate_model, format_table
from coursekit.models import GPT
from coursekit.models.layers import MultiHeadAttention, SinusoidalTimeEmbedding, attention, causal_mask
from coursekit.training import train_cached

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
if device.type == "cpu":
    torch.set_num_threads(1)   # these networks are small: one thread is faster than two that fight for a busy CPU
splits = data.load(DATA, **({"root": MNIST_ROOT} if DATA in ("mnist", "fashion_mnist") else {}))
LEVELS, SHAPE, D = splits.train.levels, tuple(splits.train.x.shape[1:]), splits.train.dims
loaders = data.loaders(splits, batch_size=BATCH_SIZE, seed=SEED)
test_x = splits.test.x.to(device)
print(f"torch {torch.__version__} on {device}; {DATA}: {[len(s) for s in splits]} images of shape {SHAPE}, "
      f"{LEVELS} levels, read as sequences of T = {D} tokens")

# %% [markdown]
# ## 1. Attention, step by step
#
# Lecture 04's models read the past through a fixed pattern: MADE through its masks, PixelCNN and WaveNet through a receptive field of fixed shape. **Attention** lets every step decide, from the data, how much to read from each earlier step. Each of $T$ tokens is a vector of width $d$, the rows of $X \in \mathbb{R}^{T \times d}$. Three learned matrices make a **query**, a **key** and a **value** per token,
# $$Q = XW_Q, \qquad K = XW_K, \qquad V = XW_V,$$
# query $t$ scores every key $s$ by a dot product, a softmax over $s$ turns the scores into weights, and the output is the weighted average of the values:
# $$\alpha_{ts} = \operatorname{softmax}_s\!\Big(\frac{q_t \cdot k_s}{\sqrt{d}}\Big), \qquad \text{out}_t = \sum_s \alpha_{ts}\, v_s, \qquad \text{all at once: } \operatorname{softmax}\!\Big(\frac{QK^\top}{\sqrt{d}}\Big) V.$$
# Each row of $\alpha$ is positive and sums to one, so every output is a **convex combination** of the values: attention mixes, it does not create. The cell does it by hand for $T = 5$ random tokens of width $d = 4$, then checks the course's written-out `layers.attention` and PyTorch's fused `F.scaled_dot_product_attention` against it.

# %%
torch.manual_seed(SEED)
T_toy, d_toy = 5, 4
X = torch.randn(T_toy, d_toy)                                          # five tokens, one row each
W_Q, W_K, W_V = (torch.randn(d_toy, d_toy) / math.sqrt(d_toy) for _ in range(3))
Q, K, V = X @ W_Q, X @ W_K, X @ W_V                                    # (T, d) each
scores = Q @ K.T / math.sqrt(d_toy)                                    # (T, T): q_t · k_s / √d
alpha = torch.softmax(scores, dim=-1)                                  # (T, T): row t over the keys s
out = alpha @ V                                                        # (T, d): out_t = Σ_s α_ts v_s
print("row sums of α:", alpha.sum(-1).tolist())
print(f"out_3 = Σ_s α_3s v_s: {out[2].tolist()}\n      by the sum:    {(alpha[2, :, None] * V).sum(0).tolist()}")
written, _ = attention(Q, K, V)
fused = F.scaled_dot_product_attention(Q[None], K[None], V[None])[0]
print(f"largest difference to layers.attention {(written - out).abs().max():.1e}, "
      f"to F.scaled_dot_product_attention {(fused - out).abs().max():.1e}")
viz.show(viz.attention_weights_figure({"α = softmax(QKᵀ/√d), no mask": alpha}),
         alt="A 5 by 5 heat map of attention weights with the numbers printed in each cell: every query row spreads "
             "its weight over all five keys, and each row sums to one.")

# %% [markdown]
# ## 2. Why divide by √d
#
# If the entries of $q$ and $k$ are independent with mean 0 and variance 1 (what a fresh network's layers give), then $q \cdot k = \sum_{i=1}^d q_i k_i$ has variance $d$: the wider the model, the larger the scores. A softmax of large scores is nearly one-hot: the largest score takes almost all the weight, and the softmax's gradient, $\partial\alpha/\partial s = \operatorname{diag}(\alpha) - \alpha\alpha^\top$, goes to zero with it — the model barely learns where to look. Dividing by $\sqrt{d}$ keeps the scores' variance at 1 whatever $d$ is.
#
# The cell measures this on random queries and keys for one query against $T = 64$ keys: the standard deviation of the scores, the **entropy** of the weights in bits ($\log_2 64 = 6$ for uniform weights, 0 for one-hot), the largest weight, and the size (Frobenius norm) of the softmax's Jacobian, averaged over 1000 draws.

# %%
dims = (4, 16, 64, 256, 1024)
T_keys, draws = 64, 1000
g = torch.Generator().manual_seed(SEED)
results = {"softmax(q·k / √d)": {"entropy": [], "largest": [], "jacobian": [], "std": []},
           "softmax(q·k), no √d": {"entropy": [], "largest": [], "jacobian": [], "std": []}}
for d in dims:
    q = torch.randn(draws, 1, d, generator=g)
    k = torch.randn(draws, T_keys, d, generator=g)
    raw = (q @ k.transpose(1, 2)).squeeze(1)                          # (draws, T): q · k_s, variance d
    for (name, r), s in zip(results.items(), (raw / math.sqrt(d), raw)):
        a = torch.softmax(s, dim=-1)                                   # (draws, T)
        r["std"].append(s.std().item())
        r["entropy"].append((-(a * a.clamp_min(1e-30).log2()).sum(-1)).mean().item())
        r["largest"].append(a.max(-1).values.mean().item())
        jacobian = torch.diag_embed(a) - a[:, :, None] * a[:, None, :]  # (draws, T, T): ∂α/∂s
        r["jacobian"].append(jacobian.flatten(1).norm(dim=1).mean().item())
for name, r in results.items():
    print(name)
    for i, d in enumerate(dims):
        print(f"  d = {d:4d}: scores' std {r['std'][i]:6.2f}, entropy {r['entropy'][i]:4.2f} bits, "
              f"largest weight {r['largest'][i]:.3f}, |∂α/∂s| {r['jacobian'][i]:.3f}")
viz.show(viz.softmax_saturation_figure(dims, {name: r["entropy"] for name, r in results.items()},
                                       "entropy of the weights (bits)", reference=("uniform: log₂ 64", 6.0)),
         alt="Entropy of attention weights over 64 keys against the dimension d on a log axis: with the division by "
             "the square root of d it stays flat near 5.3 bits; without it, it falls towards zero as d grows.")

# %% [markdown]
# Measured with the default parameters (seed 0): with $\sqrt{d}$ the scores keep a standard deviation of 1.00 (0.99 at $d = 4$) and the weights an entropy of 5.31 to 5.34 bits out of 6 at every $d$, the largest weight about 0.11. Without it the standard deviation is $\sqrt d$ (1.99 at $d = 4$, 31.94 at $d = 1024$), the entropy falls from 4.09 to 0.20 bits and the largest weight rises from 0.27 to 0.94. The Jacobian is not smaller at first — a softmax that is merely sharper is *more* sensitive (0.26 and 0.29 at $d$ = 4 and 16, against 0.18 scaled) — but once it saturates it shrinks: 0.13 at $d = 256$, 0.07 at $d = 1024$, 2.5 times smaller than with the scaling, and falling. This is a statement about initialisation: a trained model could learn smaller $W_Q, W_K$, but it would first have to climb out of a saturated softmax with a small gradient.
#
# ## 3. The causal mask
#
# For an autoregressive model, step $t$ must not read the tokens after it. Adding a mask before the softmax,
# $$M_{ts} = \begin{cases} 0 & s \le t \\ -\infty & s > t \end{cases}, \qquad \alpha = \operatorname{softmax}\!\Big(\frac{QK^\top}{\sqrt d} + M\Big),$$
# makes $e^{-\infty} = 0$: the future gets weight exactly 0 and each row still sums to one over the past. (Setting the weights to zero *after* the softmax would leave rows that no longer sum to one. A large negative number such as $-10^9$ in place of $-\infty$ also gives weight 0 in float32 — the softmax subtracts the row's maximum and $e^{-10^9}$ underflows — but a row whose keys are *all* masked then gets uniform weights instead of failing loudly with NaN.) The cell builds $M$, applies it to the toy scores, and then checks by autograd on a causal multi-head layer that output $t$ has zero gradient with respect to every token after $t$.

# %%
allowed = causal_mask(T_toy)                                           # (T, T) bool: s ≤ t
M = torch.zeros(T_toy, T_toy).masked_fill(~allowed, float("-inf"))     # M_ts = 0 if s ≤ t else −∞
alpha_causal = torch.softmax(scores + M, dim=-1)
print("M =\n", M)
print("row sums of the causal α:", alpha_causal.sum(-1).tolist())
viz.show(viz.attention_weights_figure({"α = softmax(QKᵀ/√d + M)": alpha_causal}, masked=~allowed),
         alt="The same 5 by 5 attention weights with the causal mask: the upper triangle is grey (weight 0); row one "
             "puts all its weight on key one, and every row sums to one over the keys up to its own position.")

torch.manual_seed(SEED)
causal_layer = MultiHeadAttention(8, 2, causal=True).eval()            # fused: F.scaled_dot_product_attention
x_seq = torch.randn(1, T_toy, 8, requires_grad=True)
for t in range(T_toy):
    (grad,) = torch.autograd.grad(causal_layer(x_seq)[0, t].sum(), x_seq)
    print(f"output {t + 1} depends on tokens {(grad[0].abs().sum(-1) > 0).nonzero().flatten().add(1).tolist()}")

# %% [markdown]
# ## 4. Many heads, by a reshape
#
# One softmax gives each query one way to distribute its attention. **Multi-head** attention runs $H$ attentions side by side, each on its own slice of width $d/H$ of the queries, keys and values, then concatenates their outputs and mixes them with $W_O$:
# $$\text{head}_h = \operatorname{softmax}\!\Big(\frac{Q_h K_h^\top}{\sqrt{d/H}} + M\Big) V_h, \qquad \text{out} = [\text{head}_1, \dots, \text{head}_H]\, W_O .$$
# In code the split is a reshape, `(B, T, d) → (B, T, H, d/H) → (B, H, T, d/H)`: the transpose puts the heads beside the batch so one batched matrix product does them all (`layers.MultiHeadAttention`). Its matrix products cost what one head of width $d$ costs; the softmax and the stored weights are $H$ times one head's ($H \cdot T^2$ numbers). The cell computes the two heads of a layer one at a time by slicing, checks them against the layer, and draws both heads' weights on the toy sequence.

# %%
torch.manual_seed(SEED)
layer = MultiHeadAttention(8, 2, causal=True, fused=False).eval()
x8 = torch.randn(1, T_toy, 8)
y_layer, weights = layer(x8, return_weights=True)                      # (1, T, 8), (1, heads, T, T)
q, k, v = layer.qkv(x8).split(8, dim=2)                                # 3 × (1, T, 8)
heads = [attention(q[..., h * 4:(h + 1) * 4], k[..., h * 4:(h + 1) * 4], v[..., h * 4:(h + 1) * 4],
                   causal_mask(T_toy))[0] for h in range(2)]           # 2 × (1, T, 4): head h on columns 4h..4h+3
y_by_hand = layer.out(torch.cat(heads, dim=-1))                        # concatenate, then W_O
print(f"heads one at a time vs the layer's reshape: largest difference {(y_by_hand - y_layer).abs().max():.1e}")
viz.show(viz.attention_weights_figure({f"head {h + 1}": weights[0, h] for h in range(2)}, masked=~allowed),
         alt="Two 5 by 5 causal attention maps side by side, one per head, on the same five random tokens, with the "
             "weights printed in each cell; on untrained weights and random tokens the two heads' weights are similar.")

# %% [markdown]
# ## 5. Positions, and what attention cannot see without them
#
# Nothing in $\operatorname{softmax}(QK^\top/\sqrt d)V$ knows where a token is: permute the keys and values together and each query gets the same output. For one causal layer over the shifted input $s = [\text{start}, x_1, \dots, x_{T-1}]$ this means the output at step $t$ is a function of its own input $s_t = x_{t-1}$ (the query) and of the **set** $\{\text{start}, x_1, \dots, x_{t-1}\}$ (the keys and values), not of their order: shuffle the earlier pixels, keep the current one in place, and it sees the same thing. Transformers therefore add a **position embedding** $P_t$ to each token's vector: a learned table (GPT), or the Transformer's fixed sinusoids of frequencies $\omega_i = 10000^{-i/(d/2)}$, $P_t = [\sin(t\omega_0), \dots, \sin(t\omega_{d/2-1}), \cos(t\omega_0), \dots, \cos(t\omega_{d/2-1})]$ (drawn below: sines in the first half of the columns, cosines in the second; the Transformer interleaves them, a fixed permutation of the same features). Their wavelengths range from $2\pi$ to $10000 \cdot 2\pi$, so nearby positions get similar vectors.
#
# The check: untrained GPTs (they need no training for this) predict the last pixel of a test digit, once as it is and once with all its earlier pixels but the one just before shuffled. With one layer and no positions the prediction does not change (up to float rounding); with two layers and no positions it changes (each earlier step's hidden state saw a different prefix, so order leaks back in; a causal stack can even infer positions, e.g. from how its weight on the start token falls like $1/t$: Haviv et al., 2022); with positions it changes.

# %%
viz.show(viz.positional_encoding_figure(SinusoidalTimeEmbedding(D_MODEL)(torch.arange(D).float())),
         alt="A heat map of the sinusoidal position table, positions down and dimensions across: the first columns "
             "are sines, the right half cosines; within each half the first columns oscillate quickly down the "
             "positions and the later ones ever more slowly, so the right half's last columns are nearly constant at 1.")

perm = torch.randperm(D - 2, generator=torch.Generator().manual_seed(SEED))
digit = splits.test.x[:1]
shuffled = digit.flatten(1).clone()
shuffled[:, :D - 2] = shuffled[:, perm]                                 # pixels 1..D−2 shuffled; pixel D−1 kept
shuffled = shuffled.view_as(digit)
for positions, n_layers in (("none", 1), ("none", 2), ("sinusoidal", 1)):
    torch.manual_seed(SEED)
    probe = GPT(shape=SHAPE, levels=LEVELS, d_model=D_MODEL, n_heads=HEADS, layers=n_layers,
                positions=positions).double().eval()
    last = [probe.logits(x).flatten(2)[0, :, D - 1] for x in (digit, shuffled)]   # ℓ_D (K,): p(x_D | x_<D)
    print(f"positions {positions!r:12s} {n_layers} layer(s): the last pixel's logits change by at most "
          f"{(last[0] - last[1]).abs().max():.1e} when the earlier pixels are shuffled")

# %% [markdown]
# Measured with the default parameters (seed 0, untrained models in float64): shuffling the earlier pixels moves the last pixel's logits by at most $8.6 \times 10^{-16}$ (rounding) with one layer and no positions, by 0.28 with two layers and no positions, and by 0.010 with one layer and sinusoidal positions (untrained, the positions are a small part of each token's vector; a trained model learns to use them).
#
# ## 6. What attention costs, measured
#
# The scores $QK^\top$ are a $T \times T$ matrix, each entry a dot product of length $d$; multiplying the weights by $V$ costs the same again. So one attention costs $O(T^2 d)$ time and holds $T^2$ weights per head in memory: double the sequence, four times the work. A whole transformer layer costs $O(T^2 d + T d^2)$ — the projections and the MLP are $O(T d^2)$ — so the $T^2$ term wins once $T > d$ (this lecture's GPT has $T = d = 64$: both matter). A convolution's layer costs $O(T)$. The cell times one attention (a batch of 4 sequences, 4 heads of width 16) at each length in `COST_LENGTHS`, written out and fused, the fastest of 5 runs each (timings on a shared machine are noisy; the fastest is the least disturbed).

# %%
def time_attention(fn, T: int, head_dim: int = 16, repeats: int = 5) -> float:
    """Seconds for fn(q, k, v, causal mask) on a batch of 4 sequences × 4 heads: the fastest of `repeats` runs (the
    least disturbed by whatever else the machine is doing)."""
    gen = torch.Generator().manual_seed(SEED)
    q, k, v = (torch.randn(4, 4, T, head_dim, generator=gen).to(device) for _ in range(3))   # (B, heads, T, head_dim)
    mask = causal_mask(T, device)
    fn(q, k, v, mask)                                                  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(q, k, v, mask)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)

cost = {"fused (F.scaled_dot_product_attention)": [], "written out (layers.attention)": []}
for T in COST_LENGTHS:
    cost["fused (F.scaled_dot_product_attention)"].append(
        time_attention(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), T))
    cost["written out (layers.attention)"].append(time_attention(attention, T))
log_T = torch.tensor(COST_LENGTHS[-3:], dtype=torch.float64).log()
for name, seconds in cost.items():
    log_s = torch.tensor(seconds[-3:], dtype=torch.float64).log()
    slope = ((log_T - log_T.mean()) * (log_s - log_s.mean())).sum() / (log_T - log_T.mean()).square().sum()
    print(f"{name}: " + ", ".join(f"T = {T}: {s * 1e3:.1f} ms" for T, s in zip(COST_LENGTHS, seconds))
          + f"; over the three longest, time ∝ T^{slope:.2f} (least squares on log–log)")
print("the written-out weights, 4 × 4 × T² floats: " + ", ".join(f"T = {T}: {16 * T ** 2 * 4 / 2 ** 20:g} MiB"
                                                                  for T in COST_LENGTHS))
viz.show(viz.attention_cost_figure(COST_LENGTHS, cost),
         alt="Seconds for one attention against the sequence length T, log-log: both lines rise steeply with T, the "
             "fused one below the written-out one; a dotted line proportional to T squared is drawn for scale.")

# %% [markdown]
# Measured with the default parameters (the committed run, on a quiet 2-core CPU): from $T = 256$ to 1024 the fused attention's time grew like $T^{2.17}$, close to the $T^2$ of the arithmetic; the written-out one like $T^{2.83}$, steeper — most of it in the last doubling (27.8 to 248.9 ms, 9×). A likely reason, not measured here: its $T \times T$ weights (16 MiB at $T = 512$, 64 MiB at 1024, printed above) no longer fit in the processor's cache, and it writes and reads them several times (scores, mask, softmax). At short lengths fixed overheads dominate. Your exponents will differ with the machine and its load; the growth much faster than $T$ will not. The fused kernel is faster but not asymptotically: on a CPU it still computes all $T^2$ scores; on a GPU, FlashAttention-style kernels avoid *storing* the $T \times T$ weights, not computing them. This quadratic cost is why image transformers work on short sequences — 64 pixels here, a VQ-VAE's grid of codes (lecture 04d) or patches in practice — and why so many "efficient attention" variants exist.
#
# ## 7. A GPT over the pixels of a digit
#
# Now the model. A digit is read in raster order as $T = 64$ tokens, each one of 17 grey levels. As in lecture 04 the input is shifted right by one step, $s = [\text{start}, x_1, \dots, x_{63}]$, so that with the causal mask the logits $\ell_t$ see $x_{<t}$ only:
# $$h^0_t = E\,\tilde x(s_t) + P_t, \qquad h^{l} = h^{l-1} + \text{MHA}(\text{LN}(h^{l-1})), \quad h^l \mathrel{+}= \text{MLP}(\text{LN}(h^l)), \qquad p(x_t \mid x_{<t}) = \operatorname{softmax}(W\,\text{LN}(h^L_t)).$$
# These are GPT-2's **pre-norm** blocks (layer norm before each sub-layer, a residual around it; GPT-1 and the original Transformer normalise after the residual instead). The loss is the next-token cross-entropy summed over the 64 positions, $-\log p(x)$ exactly, trained in one parallel pass (teacher forcing) like every model of lecture 04. `coursekit/models/gpt.py` holds the model in about 350 lines.

# %%
torch.manual_seed(SEED)
gpt = GPT(shape=SHAPE, levels=LEVELS, d_model=D_MODEL, n_heads=HEADS, layers=LAYERS, positions=POSITIONS,
          dropout=DROPOUT).to(device)
history = train_cached(gpt, loaders["train"], val_data=loaders["val"], epochs=EPOCHS, patience=PATIENCE, lr=LR,
                       seed=SEED, device=device, cache_dir=CACHE_DIR, retrain=RETRAIN, name="gpt", progress=False,
                       report=True)
gpt.eval()
x_tilde = gpt.input_features(test_x[:16]).requires_grad_(True)
(grad,) = torch.autograd.grad(gpt.conditional_logits(x_tilde).flatten(2)[:, :, 40].sum(), x_tilde)
seen = (grad.abs().sum((0, 1)).flatten() != 0).nonzero().flatten()
print(f"autograd on the trained model: ℓ at pixel 40 depends on pixels {seen.min().item()}..{seen.max().item()} "
      f"({len(seen)} of them), not on pixel 40 or later")
row = evaluate_model(gpt, splits.test, name=f"GPT ({LAYERS} layers, {HEADS} heads, d = {D_MODEL}, {POSITIONS} positions)",
                     train_split=splits.train)
display(Markdown(format_table([row])))

# %% [markdown]
# **Against lecture 04, on the same split.** Measured with the default parameters (seed 0): 1.924 test bits/dim, exact, after 44 epochs (the best at epoch 39). Over seeds 0, 1, 2 on the same 1000 training and 447 test digits, each trained until early stopping, `benchmarks/ar_bits_per_dim.py --models fvsbn nade made-direct pixelcnn gated wavenet gpt` measured these means of exact test bits/dim (copied from its output; the lecture does not retrain lecture 04's models, which would take several minutes):
#
# | model (lecture) | test bits/dim, mean of 3 seeds |
# |---|---|
# | uniform over 17 levels | 4.087 |
# | per-pixel floor (independent pixels) | 2.398 |
# | FVSBN (04a) | 2.086 |
# | NADE (04a) | 2.060 |
# | MADE, one ordering (04a) | 2.048 |
# | PixelCNN, masked (04b) | 1.878 |
# | gated PixelCNN (04b) | 1.838 |
# | WaveNet (04c) | 1.835 |
# | **GPT, this lecture's defaults** | **1.943** (1.924, 1.950, 1.955) |
#
# The GPT beats every model of lecture 04a and the per-pixel floor by a wide margin, but stays 0.07 bits/dim behind the masked PixelCNN and 0.11 behind the gated PixelCNN and WaveNet. That is the usual picture for small data: convolutions build in that nearby pixels matter most, and the GPT must learn it from 1000 digits (`GPTConfig`'s notes: without dropout it overfits, 2.000 at seed 0 with patience 10, a probe no benchmark row repeats; with dropout on the attention weights too, `benchmarks/ar_bits_per_dim.py --models gpt-attention-dropout` measured 1.926 over the same seeds, at 1.5–2× the time per step). For scale, the autoregressive model with causal convolutions of Tomczak's *intro_dgm* code reaches 1.946 bits/dim on these digits (measured for this course with that code). Transformers win when data and sequences are large (Image GPT, Chen et al. 2020); $T^2$ keeps them to short sequences.
#
# ## 8. Where the trained model looks
#
# `GPT.attention_weights` returns every layer's weights $\alpha$ (by the written-out attention). The picture takes one test digit and the pixel at row 5, column 4, and shows, for each head of each layer, how much that pixel's prediction reads from each earlier pixel (grey: not yet drawn, so not visible). The cell then averages over all test digits and positions how much weight each head puts on the left neighbour (the pixel just before in its row, which is the current input), the pixel directly above, and the start token. In layer 2 a step's value is already a mixture of the steps before it (layer 1 mixed them), so "the pixel above" is only approximately what it reads there.

# %%
A = gpt.attention_weights(test_x)                                      # LAYERS × (N, heads, T, T)
position = 4 * SHAPE[2] + 3 if DATA == "digits" else D // 2            # row 5, column 4 (0-based 4, 3)
W_img = SHAPE[2]
for l, weights_l in enumerate(A):
    row = weights_l[0, :, position]                                    # (heads, T): the outlined pixel's query
    peaks = [divmod(int(row[h, 1:position + 1].argmax()), W_img) for h in range(HEADS)]   # pixel p ← step p + 1
    viz.show(viz.attention_map_figure(row, SHAPE[1:], position, image=test_x[0, 0],
                                      titles=[f"layer {l + 1}, head {h + 1}" for h in range(HEADS)]),
             alt=f"Layer {l + 1}: the test digit and, per head, the weight the prediction of the outlined pixel (row 5, "
                 f"column 4) puts on each earlier pixel, later pixels grey. The largest weights: "
                 + "; ".join(f"head {h + 1} {row[h, 1 + r * W_img + c]:.2f} on row {r + 1}, column {c + 1}"
                             for h, (r, c) in enumerate(peaks)) + ".")
t = torch.arange(D)
left_of = t[(t % W_img) != 0]                                          # pixels with a left neighbour in their row
below_first_row = t[W_img:]                                            # pixels with a pixel above
for l, weights_l in enumerate(A):
    mean_w = weights_l.mean(0)                                         # (heads, T, T), over the test digits
    left = mean_w[:, left_of, left_of].mean(-1)                        # key step t holds pixel t − 1: the left neighbour
    above = mean_w[:, below_first_row, below_first_row - W_img + 1].mean(-1)   # key step t − W + 1 holds pixel t − W
    start = mean_w[:, t[1:], 0].mean(-1)                               # step 0 sees only the start token: left out
    for h in range(HEADS):
        print(f"layer {l + 1}, head {h + 1}: on average {left[h]:.2f} of the weight on the left neighbour, "
              f"{above[h]:.2f} on the pixel above, {start[h]:.2f} on the start token")
uniform = 1 / (t + 1.0)                                                # a head that spreads evenly over t + 1 steps
print(f"a uniform head: {uniform[left_of].mean():.2f} on the left neighbour, {uniform[below_first_row].mean():.2f} "
      f"on the pixel above, {uniform[1:].mean():.2f} on the start token")

# %% [markdown]
# Measured with the default parameters (seed 0): a head that spread its weight evenly would put 0.06 on the left neighbour, 0.04 on the pixel above and 0.06 on the start token (the last line). Layer 1's head 3 puts 0.14 on each of the two neighbours, head 1 0.12 on the pixel above, and layer 2's heads 2, 3 and 4 put 0.14, 0.17 and 0.10 on the left neighbour (head 4 also 0.13 above): two to four times even, learned from data alone — the local structure a convolution is built with. Layer 1's heads 2 and 4 keep 0.10 and 0.09 on the start token and little on either neighbour, and layer 2's head 1 spreads out. For the one pixel in the pictures the heads do not all look close by: in layer 1, head 4's largest weight (0.47) is two pixels to the left in the same row and head 1's (0.26) is one row up and one column left; in layer 2, head 3 puts 0.51 on the pixel directly above, while head 1's largest weight (0.21) is three rows up at the right edge. Attention maps are suggestive, not explanations: a weight says how much a value is read, not how much it changes the prediction (Jain & Wallace, 2019).
#
# ## 9. Sampling with a temperature
#
# Sampling runs the chain rule forwards: draw $x_1$, feed it back, draw $x_2$, … 64 times, each $x_t = \arg\max_k(\ell_{t,k}/\tau + g_{t,k})$ with Gumbel noise $g$ (lecture 04a; the slider calls the temperature $\tau$ "T"). The **temperature** $\tau$ divides the logits: $\tau \to 0$ takes the argmax at every step (greedy decoding: each conditional's mode, which is not the most probable image, and the same image whatever the noise), $\tau = 1$ samples the model, $\tau > 1$ flattens every conditional towards uniform (noise). The figure draws the same random numbers at $\tau$ = 0, 0.7, 1 and 1.5 (rows), then completes the bottom halves of eight test digits from their top four rows. Move the slider below: only the temperature changes the picture; its second slider sets how many rows of the test digits are kept.

# %%
temperatures = (0.0, 0.7, 1.0, 1.5)
rows_tau = [gpt.sample(12, temperature=tau, generator=torch.Generator().manual_seed(SEED)) for tau in temperatures]
viz.show(viz.image_grid(torch.cat(rows_tau), nrow=12, levels=LEVELS),
         alt="Four rows of twelve GPT samples drawn with the same random numbers at temperatures 0, 0.7, 1 and 1.5, top "
             "to bottom: the top row is one image repeated twelve times (greedy), the bottom row the noisiest.")
known = torch.zeros(SHAPE, dtype=torch.bool, device=device)
known[:, :SHAPE[1] // 2] = True                                        # the top half of every digit is given
completed = gpt.complete(test_x[:8], known, generator=torch.Generator().manual_seed(SEED))
given = torch.where(known, test_x[:8].float(), torch.full_like(test_x[:8].float(), float("nan")))   # NaN: hidden
viz.show(viz.image_grid(torch.cat([test_x[:8].float(), given, completed.float()]), nrow=8, levels=LEVELS),
         alt="Three rows of eight: test digits, their top halves with the hidden bottom halves left blank, and the "
             "GPT's completions of the bottom halves at temperature 1.")
viz.sampling_widget(gpt, splits.test.x[:8], seed=SEED)

# %% [markdown]
# ## 10. A key–value cache: faster sampling, the same samples
#
# The naive sampler runs the whole model over the whole sequence for each new token: $T$ passes, each costing $O(T d^2 + T^2 d)$ per layer (all $T$ tokens through the projections and the MLP, and $T \times T$ attention), $O(T^2 d^2 + T^3 d)$ in all. But with a causal mask nothing a step computed ever changes when later tokens arrive: the keys and values of steps $1..t-1$ in every layer are the same at step $t$ as when they were made. A **key–value cache** keeps them; step $t$ then runs one token through every layer, its query against the $t$ cached keys: $O(d^2 + t d)$ per layer, $O(T d^2 + T^2 d)$ in all (lecture 04c's Fast WaveNet is the same idea for convolutions). At $T = d = 64$ both terms shrink by about $T$. The two samplers do the same arithmetic in another order, so their logits differ by float rounding (`tests/test_gpt.py` checks the cached logits against the teacher-forced ones to $10^{-5}$ in float32): the samples are identical unless a draw falls within that of a tie. The cell checks it and times both for `TIMING_SAMPLES` images.

# %%
same_noise = lambda: torch.Generator().manual_seed(SEED)
seconds = {}
for name, cached in (("naive", False), ("cached", True)):
    start = time.perf_counter()
    drawn = gpt.sample(TIMING_SAMPLES, generator=same_noise(), cached=cached)
    seconds[name] = time.perf_counter() - start
    if cached:
        identical = torch.equal(drawn, naive_samples)
    naive_samples = drawn
print(f"{TIMING_SAMPLES} samples: naive {seconds['naive']:.2f} s, cached {seconds['cached']:.2f} s, "
      f"{seconds['naive'] / seconds['cached']:.1f}× faster; identical samples: {identical}")

# %% [markdown]
# Measured with the default parameters (the committed run, on a quiet 2-core CPU): 3.20 s naive against 0.14 s cached, 22.9× faster, and the same 100 images. The cache removes the repeated work, not the loop: 64 steps remain, one after the other (`benchmarks/ar_sampling_speed.py --model gpt` measured 19–25× at 64 pixels and 40–89× at 256 over three runs on a shared machine, naive time extrapolated at 256: the gap grows with the length). The price is memory, two tensors of (samples, heads, T, head_dim) per layer — for large language models the cache, not the weights, often limits how many sequences run at once.
#
# ## Summary
#
# - Attention: $\operatorname{softmax}(QK^\top/\sqrt d + M)V$; each output is a convex combination of values, weighted by query–key similarity.
# - $\sqrt d$ keeps the scores' variance at 1: without it the softmax saturates and its gradient vanishes as $d$ grows (measured above). The causal mask adds $-\infty$ above the diagonal, so step $t$ reads $\le t$ only (checked by autograd).
# - Heads are a reshape `(B, T, d) → (B, H, T, d/H)`; positions must be added, or one layer sees its past as a set; the cost grows like $T^2 d$.
# - A small GPT over 64 pixels trains to 1.943 bits/dim (mean of seeds 0–2, `benchmarks/ar_bits_per_dim.py --models gpt`), better than FVSBN, NADE and MADE, behind the convolutional PixelCNNs and WaveNet on 1000 digits; a key–value cache samples the same images over 20 times faster.
#
# **Exercises.** The graded exercise `exercises/05_attention.ipynb` writes causal attention, multi-head attention by reshaping, the sampling loop with temperature and top-k, and one step of the key–value cache. Try also: (a) `POSITIONS = "none"` and `"sinusoidal"`: what happens to the bits/dim, and to the attention maps? (b) `DROPOUT = 0.0`: compare `history["train/bits_per_dim"]` with `history["val/bits_per_dim"]` and explain the gap. (c) Add 2048 and 4096 to `COST_LENGTHS` and predict the times before you run it. (d) Why does a cache help a GPT so much more at 784 pixels than at 64?
#
# **References.**
# - A. Vaswani, N. Shazeer, N. Parmar, J. Uszkoreit, L. Jones, A. N. Gomez, Ł. Kaiser, I. Polosukhin, *Attention Is All You Need*, NeurIPS 2017.
# - A. Radford, K. Narasimhan, T. Salimans, I. Sutskever, *Improving Language Understanding by Generative Pre-Training*, 2018 (GPT); A. Radford et al., *Language Models are Unsupervised Multitask Learners*, 2019 (GPT-2, pre-norm).
# - N. Parmar, A. Vaswani, J. Uszkoreit, Ł. Kaiser, N. Shazeer, A. Ku, D. Tran, *Image Transformer*, ICML 2018; M. Chen, A. Radford, R. Child, J. Wu, H. Jun, D. Luan, I. Sutskever, *Generative Pretraining from Pixels*, ICML 2020 (Image GPT).
# - R. Child, S. Gray, A. Radford, I. Sutskever, *Generating Long Sequences with Sparse Transformers*, 2019.
# - T. Dao, D. Y. Fu, S. Ermon, A. Rudra, C. Ré, *FlashAttention*, NeurIPS 2022; R. Pope et al., *Efficiently Scaling Transformer Inference*, MLSys 2023 (what the key–value cache costs in memory at scale).
# - A. Haviv, O. Ram, O. Press, P. Izsak, O. Levy, *Transformer Language Models without Positional Encodings Still Learn Positional Information*, Findings of EMNLP 2022.
# - S. Jain, B. C. Wallace, *Attention is not Explanation*, NAACL 2019.
# - J. M. Tomczak, *Deep Generative Modeling*, Springer 2022, and its code *intro_dgm* (github.com/jmtomczak/intro_dgm).
# - A. Karpathy, *minGPT* and *nanoGPT* (github.com/karpathy), the layout `coursekit/models/gpt.py` follows.
