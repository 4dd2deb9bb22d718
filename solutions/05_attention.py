# %% [markdown] coursekit={"id": "intro", "kind": "locked"}
# # Exercise 05 · Causal self-attention, multi-head by reshaping, the sampling loop and the key–value cache
#
# Goes with lecture 05 (attention and autoregressive transformers). **20 points:** 8 from public tests, 12 from hidden tests.
#
# You will write, with plain torch, the pieces a GPT is made of: scaled dot-product attention with the causal mask for one head; several heads at once by reshaping; the loop that samples a sequence one token at a time with a temperature and top-k; and one step of attention with a key–value cache, the trick that makes that loop fast. Nothing is trained: the whole notebook runs in a few seconds.
#
# `coursekit.models.layers` holds the course's own `attention` and `MultiHeadAttention`, and `coursekit.models.gpt` its sampler and cache. Work from the lecture's equations; read those files afterwards to compare. Do not call `torch.nn.functional.scaled_dot_product_attention` or `torch.nn.MultiheadAttention` in your answers: the tests compare your code with them.
#
# **How this works.** Write your code only in the cells that say `YOUR CODE HERE` (the other cells are locked). After each task, run the public test cell below it: it tells you what it expected and what it got. Hidden tests, run by your instructor's grader, decide the grade — the public tests are a minimum, not a guarantee. All your code must live in the answer cells: cells you add yourself are not run by the grader. You can check your points from a terminal with `coursekit check exercises/05_attention.ipynb`.

# %% coursekit={"id": "setup", "kind": "locked"}
import math

import torch
import torch.nn.functional as F

from coursekit.grading.checks import check_close, check_shape, check_true

torch.set_num_threads(1)  # the problems here are small: one thread is the fastest
torch.manual_seed(0)

# the worked example of Task 1: one sequence (B = 1) of T = 3 tokens, each a d_model = 2 vector; d_k = 4, d_v = 3
x_example = torch.tensor([[[1.0, 0.0],
                           [0.0, 1.0],
                           [1.0, 1.0]]])             # (B, T, d_model) = (1, 3, 2)
W_Q_example = torch.tensor([[2.0, 0.0, 2.0, 0.0],
                            [0.0, 1.0, 0.0, 1.0]])   # (d_model, d_k) = (2, 4)
W_K_example = torch.tensor([[1.0, 1.0, 0.0, 0.0],
                            [0.0, 1.0, 1.0, 2.0]])   # (d_model, d_k) = (2, 4)
W_V_example = torch.tensor([[1.0, 0.0, 2.0],
                            [0.0, 3.0, 1.0]])        # (d_model, d_v) = (2, 3)
print("Q = x W_Q:", (x_example @ W_Q_example)[0].tolist())
print("K = x W_K:", (x_example @ W_K_example)[0].tolist())
print("V = x W_V:", (x_example @ W_V_example)[0].tolist())


# %% [markdown] coursekit={"id": "task-attention", "kind": "locked"}
# ## Task 1 · Causal self-attention, one head (2 + 3 points)
#
# A head projects each token $x_t \in \mathbb R^{d_\text{model}}$ (a row of $x$) to a query, a key and a value, $Q = x W_Q$, $K = x W_K$ (both $T \times d_k$) and $V = x W_V$ ($T \times d_v$), and mixes the values with weights that compare each query with every key:
# $$\alpha = \mathrm{softmax}\!\Big(\frac{Q K^\top}{\sqrt{d_k}} + M\Big), \qquad \text{output} = \alpha V, \qquad M_{ts} = \begin{cases} 0 & s \le t \\ -\infty & s > t. \end{cases}$$
# The softmax runs over the keys $s$, along each row $t$, so every row of $\alpha$ sums to 1. The causal mask $M$ lets token $t$ attend to itself and the tokens before it only: $-\infty$ *before* the softmax makes those weights exactly 0 and leaves the others a proper softmax. Dividing by $\sqrt{d_k}$ (the width of the queries and keys, the lecture's $d$; not $d_\text{model}$ nor $d_v$) keeps the scores of order 1 however wide the head is, so the softmax does not saturate.
#
# In the set-up's example the second token's query $q_2 = (0, 1, 0, 1)$ meets the keys $k_1 = (1, 1, 0, 0)$ and $k_2 = (0, 1, 1, 2)$: the scores are $1/\sqrt 4$ and $3/\sqrt 4$, so $\alpha_{2,\cdot} = \mathrm{softmax}(0.5, 1.5, -\infty) = (0.269, 0.731, 0)$.
#
# Write `causal_self_attention(x, W_Q, W_K, W_V)`: `x` is (B, T, d_model), `W_Q` and `W_K` are (d_model, d_k), `W_V` is (d_model, d_v). Return `(output, weights)`: the output $\alpha V$, (B, T, d_v), and the weights $\alpha$, (B, T, T), `weights[b, t, s]` the weight of token $s$ in token $t$'s output.

# %% coursekit={"id": "attention", "kind": "answer"}
def causal_self_attention(x, W_Q, W_K, W_V):
    """One head of causal self-attention: α = softmax(Q Kᵀ / √d_k + M) with M = −∞ above the diagonal; returns
    (α V (B, T, d_v), α (B, T, T)) for x (B, T, d_model), W_Q and W_K (d_model, d_k), W_V (d_model, d_v)."""
    ### BEGIN SOLUTION
    Q, K, V = x @ W_Q, x @ W_K, x @ W_V                          # (B, T, d_k), (B, T, d_k), (B, T, d_v)
    T, d_k = x.shape[1], W_Q.shape[1]
    scores = Q @ K.transpose(-2, -1) / math.sqrt(d_k)             # (B, T, T): q_t · k_s / √d_k
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device))   # (T, T): key s ≤ query t
    scores = scores.masked_fill(~allowed, float("-inf"))          # + M: −∞ where s > t
    weights = torch.softmax(scores, dim=-1)                       # α: a softmax over the keys s, row by row
    return weights @ V, weights                                   # (B, T, d_v), (B, T, T)
    ### END SOLUTION


# %% coursekit={"id": "attention-public", "kind": "public-test", "points": 2}
output, weights = causal_self_attention(x_example, W_Q_example, W_K_example, W_V_example)
check_shape(output, (1, 3, 3), name="the output α V of the example, (B, T, d_v)")
check_shape(weights, (1, 3, 3), name="the weights α of the example, (B, T, T)")
print("α =", [[round(float(a), 3) for a in row] for row in weights[0]])
above = torch.triu(torch.ones(3, 3, dtype=torch.bool), diagonal=1)
check_true(bool((weights[0][above] == 0).all()), "token t must not attend to the tokens after it: α[t, s] should be "
           f"exactly 0 for s > t (the mask M is −∞ there, before the softmax), got α = {weights[0].tolist()}")
check_close(weights.sum(-1), torch.ones(1, 3), atol=1e-6,
            name="the sum of each row of α (a softmax over the keys s ≤ t of query t)")
check_close(output[0, 0], W_V_example[0], atol=1e-6, name="the first token's output: it sees itself only, so it is v_1")
check_close(weights[0, 1, :2], torch.tensor([0.268941, 0.731059]), atol=1e-5,
            name="the second row of α, softmax(q_2 · k_s / √d_k) = softmax(0.5, 1.5) with d_k = 4")
check_close(weights[0, 2], torch.tensor([0.062890, 0.170953, 0.766157]), atol=1e-5,
            name="the third row of α, softmax((3, 5, 8) / √4)")
check_close(output[0], weights[0] @ (x_example[0] @ W_V_example), atol=1e-5, name="the output α V")
print("Task 1 public test passed")

# %% coursekit={"id": "attention-hidden", "kind": "hidden-test", "points": 3}
def reference_attention(x, W_Q, W_K, W_V):   # written out entry by entry: a softmax over s ≤ t of q_t · k_s / √d_k
    Q, K, V = x @ W_Q, x @ W_K, x @ W_V
    B, T = x.shape[:2]
    alpha = torch.zeros(B, T, T, dtype=x.dtype)
    for t in range(T):
        alpha[:, t, :t + 1] = torch.softmax(Q[:, t:t + 1] @ K[:, :t + 1].transpose(1, 2) / W_Q.shape[1] ** 0.5, -1)[:, 0]
    return alpha @ V, alpha


g = torch.Generator().manual_seed(501)
for B, T, d_model, d_k, d_v in [(2, 5, 6, 4, 3), (3, 7, 4, 8, 5), (1, 1, 3, 2, 2), (4, 9, 5, 16, 7)]:
    x = torch.randn(B, T, d_model, generator=g, dtype=torch.float64)
    W_Q, W_K = (torch.randn(d_model, d_k, generator=g, dtype=torch.float64) for _ in range(2))
    W_V = torch.randn(d_model, d_v, generator=g, dtype=torch.float64)
    got_output, got_weights = causal_self_attention(x, W_Q, W_K, W_V)
    expected_output, expected_weights = reference_attention(x, W_Q, W_K, W_V)
    where = f"B = {B}, T = {T}, d_model = {d_model}, d_k = {d_k}, d_v = {d_v}"
    check_shape(got_weights, (B, T, T), name=f"α for {where}")
    check_close(got_weights, expected_weights, atol=1e-9, name=f"the weights α for {where}")
    fused = F.scaled_dot_product_attention(x @ W_Q, x @ W_K, x @ W_V, is_causal=True)
    check_close(got_output, fused, atol=1e-9, name=f"the output against F.scaled_dot_product_attention for {where}")
# causality by autograd: output t has zero gradient with respect to every input token after t, and a nonzero one
# with respect to the tokens up to t
x = torch.randn(2, 6, 4, generator=g, dtype=torch.float64, requires_grad=True)
W_Q, W_K, W_V = (torch.randn(4, 4, generator=g, dtype=torch.float64) for _ in range(3))
for t in range(6):
    (grad,) = torch.autograd.grad(causal_self_attention(x, W_Q, W_K, W_V)[0][:, t].sum(), x)
    per_token = grad.abs().sum((0, 2))                                          # (T,)
    check_true(bool((per_token[t + 1:] == 0).all()) and bool((per_token[:t + 1] > 0).all()),
               f"output {t} should depend on tokens 0..{t} only: the gradient's size per input token is "
               f"{[f'{float(v):.3g}' for v in per_token]}")


# %% [markdown] coursekit={"id": "task-heads", "kind": "locked"}
# ## Task 2 · Multi-head attention by reshaping (2 + 3 points)
#
# $H$ heads attend in parallel, each in its own slice of width $d_h = d_\text{model} / H$: head $h$ uses the columns $h d_h, \dots, (h+1) d_h - 1$ of $Q = xW_Q$, $K = xW_K$ and $V = xW_V$ (all three $d_\text{model} \times d_\text{model}$ here), so
# $$\text{head}_h = \mathrm{softmax}\!\Big(\frac{Q_h K_h^\top}{\sqrt{d_h}} + M\Big) V_h, \qquad \text{output} = \big[\text{head}_1, \dots, \text{head}_H\big]\, W_O,$$
# the heads' outputs concatenated along the features, in order, then mixed by $W_O$ ($d_\text{model} \times d_\text{model}$). Each head scales by $\sqrt{d_h}$, its own width.
#
# Rather than a loop over the heads, reshape: (B, T, d_model) → (B, T, H, d_h) splits the features into the heads' slices, and a transpose → (B, H, T, d_h) puts the heads next to the batch, so one batched matrix product computes every head's scores (B, H, T, T). Going back, transpose again to (B, T, H, d_h) before merging the last two axes. A `.view(B, H, T, d_h)` straight from (B, T, d_model) looks right by its shape but mixes the tokens and the heads.
#
# Write `multi_head_attention(x, W_Q, W_K, W_V, W_O, heads)`: `x` is (B, T, d_model), every weight (d_model, d_model), `heads` divides d_model. Return `(output, weights)`: the output (B, T, d_model) and every head's causal weights $\alpha_h$ as one (B, heads, T, T) tensor.

# %% coursekit={"id": "heads", "kind": "answer"}
def multi_head_attention(x, W_Q, W_K, W_V, W_O, heads):
    """Causal multi-head self-attention: head h attends with the columns h·d_h..(h+1)·d_h − 1 of Q, K, V and scales by
    √d_h; the heads' outputs are concatenated in order and multiplied by W_O. Returns (output (B, T, d_model),
    weights (B, heads, T, T))."""
    ### BEGIN SOLUTION
    B, T, d = x.shape
    d_h = d // heads                                                   # each head's width

    def split(M):                                                      # head h gets the columns h·d_h..(h+1)·d_h − 1
        return M.view(B, T, heads, d_h).transpose(1, 2)  # (B, T, d) → (B, T, heads, d_h) → (B, heads, T, d_h)

    Q, K, V = split(x @ W_Q), split(x @ W_K), split(x @ W_V)           # 3 × (B, heads, T, d_h)
    scores = Q @ K.transpose(-2, -1) / math.sqrt(d_h)                 # (B, heads, T, T): q_t · k_s / √d_h per head
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device))   # (T, T): key s ≤ query t
    weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)   # α_h, (B, heads, T, T)
    heads_out = weights @ V                                            # (B, heads, T, d_h)
    concatenated = heads_out.transpose(1, 2).reshape(B, T, d)          # (B, heads, T, d_h) → (B, T, heads·d_h)
    return concatenated @ W_O, weights                                 # (B, T, d), (B, heads, T, T)
    ### END SOLUTION


# %% coursekit={"id": "heads-public", "kind": "public-test", "points": 2}
g = torch.Generator().manual_seed(52)
x = torch.randn(2, 5, 8, generator=g)
W_Q, W_K, W_V, W_O = (torch.randn(8, 8, generator=g) for _ in range(4))
output, weights = multi_head_attention(x, W_Q, W_K, W_V, W_O, heads=2)
check_shape(output, (2, 5, 8), name="the output, (B, T, d_model)")
check_shape(weights, (2, 2, 5, 5), name="the weights of every head, (B, heads, T, T)")
heads_out = []
for h in range(2):
    columns = slice(4 * h, 4 * (h + 1))   # head h's slice of width d_h = 4: one head of Task 1 with those columns
    head_out, head_weights = causal_self_attention(x, W_Q[:, columns], W_K[:, columns], W_V[:, columns])
    check_close(weights[:, h], head_weights, atol=1e-5, name=f"the weights of head {h} (d_model = 8, 2 heads: columns "
                f"{4 * h}..{4 * h + 3} of Q and K, scaled by √d_h = √4), compared with Task 1's causal_self_attention")
    heads_out.append(head_out)
check_close(output, torch.cat(heads_out, dim=-1) @ W_O, atol=1e-4,
            name="the output [head_1, head_2] W_O: the heads' outputs concatenated in order, then W_O")
print("Task 2 public test passed")

# %% coursekit={"id": "heads-hidden", "kind": "hidden-test", "points": 3}
g = torch.Generator().manual_seed(502)
for B, T, d, heads in [(3, 6, 8, 4), (2, 7, 12, 3), (1, 5, 6, 1), (2, 4, 8, 8), (4, 9, 16, 2)]:
    x = torch.randn(B, T, d, generator=g, dtype=torch.float64)
    W_Q, W_K, W_V, W_O = (torch.randn(d, d, generator=g, dtype=torch.float64) / d ** 0.5 for _ in range(4))
    reference = torch.nn.MultiheadAttention(d, heads, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        reference.in_proj_weight.copy_(torch.cat([W_Q.T, W_K.T, W_V.T]))   # nn.Linear computes x Wᵀ
        reference.in_proj_bias.zero_()
        reference.out_proj.weight.copy_(W_O.T)
        reference.out_proj.bias.zero_()
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)     # True = may NOT attend, for nn.Multihead…
    expected_output, expected_weights = reference(x, x, x, attn_mask=future, average_attn_weights=False)
    got_output, got_weights = multi_head_attention(x, W_Q, W_K, W_V, W_O, heads)
    where = f"B = {B}, T = {T}, d_model = {d}, {heads} heads"
    check_shape(got_weights, (B, heads, T, T), name=f"the weights for {where}")
    check_close(got_weights, expected_weights.detach(), atol=1e-9, name=f"every head's weights for {where}, "
                "against torch.nn.MultiheadAttention")
    check_close(got_output, expected_output.detach(), atol=1e-9, name=f"the output for {where}, against "
                "torch.nn.MultiheadAttention")


# %% [markdown] coursekit={"id": "task-sampling", "kind": "locked"}
# ## Task 3 · The sampling loop with temperature and top-k (2 + 3 points)
#
# A trained GPT gives, for the tokens so far $x_{<t}$, the logits $\ell_t \in \mathbb R^V$ of the next token over a vocabulary of $V$ tokens. Sampling appends one token at a time, each conditioned on *every* token before it (the prompt included) and on nothing else:
# 1. $\ell_t$ = `next_logits(x)` on the whole sequence so far, (N, t) → (N, V);
# 2. **top-k** (when `top_k` is not None and smaller than V): the logits below the $k$-th largest of $\ell_t$ become $-\infty$, so only the $k$ most likely tokens can be drawn;
# 3. draw $x_t$ from $\mathrm{softmax}(\ell_t / T)$ at temperature $T$ by the Gumbel-max trick, as in exercise 04 and `coursekit`'s samplers: $x_t = \arg\max_v (\ell_{t,v} / T + g_{t,v})$ with the given Gumbel noise $g$. $T < 1$ sharpens the distribution towards its mode, $T > 1$ flattens it; $T = 0$ means the argmax of $\ell_t$ (greedy decoding, no noise);
# 4. append $x_t$ to the sequence.
#
# Write `generate(next_logits, prompt, gumbel, temperature=1.0, top_k=None)`: `prompt` is an (N, t_0) `torch.long` tensor (t_0 ≥ 1, e.g. a start token), `gumbel` the noise (N, S, V) for the S new tokens, `gumbel[:, s]` the noise of the s-th new token. Return the whole sequences, prompt first, (N, t_0 + S) `torch.long`. Call `next_logits` once per new token, S times in all (the tests count the calls and look at what each call is given).

# %% coursekit={"id": "sampling", "kind": "answer"}
def generate(next_logits, prompt, gumbel, temperature=1.0, top_k=None):
    """The prompt (N, t_0) followed by S sampled tokens, (N, t_0 + S) long: x_t = argmax_v(top_k(ℓ_t)_v / T + g_{t,v})
    with ℓ_t = next_logits(x_{<t}) (N, V) and g = gumbel[:, s] (N, V) for the s-th new token; T = 0: argmax ℓ_t."""
    ### BEGIN SOLUTION
    N, S, V = gumbel.shape
    x = prompt
    for s in range(S):
        logits = next_logits(x)                                           # ℓ_t (N, V), given every token so far
        if top_k is not None and top_k < V:
            kth = logits.topk(top_k, dim=-1).values[:, -1:]               # (N, 1): the k-th largest logit
            logits = logits.masked_fill(logits < kth, float("-inf"))      # only the k largest can be drawn
        scores = logits / temperature + gumbel[:, s] if temperature > 0 else logits
        x_t = scores.argmax(dim=-1)                                       # (N,)
        x = torch.cat([x, x_t[:, None]], dim=1)                           # (N, t) → (N, t + 1)
    return x
    ### END SOLUTION


# %% coursekit={"id": "sampling-public", "kind": "public-test", "points": 2}
def counting_model(V=3, strength=3.0):
    """A model that strongly prefers the token after the last one, (x_last + 1) mod V: logits 3 · one-hot. It records
    the length of every context it is given."""
    lengths = []

    def next_logits(x):
        lengths.append(x.shape[1])
        return strength * F.one_hot((x[:, -1] + 1) % V, V).float()
    return next_logits, lengths


next_logits, lengths = counting_model()
prompt = torch.tensor([[0], [2]])
greedy = generate(next_logits, prompt, torch.zeros(2, 4, 3), temperature=0)
check_true(isinstance(greedy, torch.Tensor) and greedy.dtype == torch.long,
           f"generate should return a torch.long tensor, got {type(greedy).__name__} {getattr(greedy, 'dtype', '')}")
check_shape(greedy, (2, 5), name="the prompt (2, 1) followed by S = 4 new tokens")
check_true(lengths == [1, 2, 3, 4], "next_logits should be called once per new token on every token so far: "
           f"expected contexts of lengths [1, 2, 3, 4], got {lengths}")
check_true(greedy.tolist() == [[0, 1, 2, 0, 1], [2, 0, 1, 2, 0]], "greedy (T = 0) from the prompts 0 and 2: "
           f"expected [[0, 1, 2, 0, 1], [2, 0, 1, 2, 0]], got {greedy.tolist()}")
noise = torch.zeros(1, 4, 3)
noise[0, 1] = torch.tensor([4.0, 0.0, 0.0])   # the second new token: level 0 gets noise 4, the preferred one logit 3
for T, expected in [(1.0, [0, 1, 0, 1, 2]), (0.5, [0, 1, 2, 0, 1]), (2.0, [0, 1, 0, 1, 2])]:
    next_logits, _ = counting_model()
    drawn = generate(next_logits, torch.tensor([[0]]), noise, temperature=T)
    check_true(drawn.tolist() == [expected], f"at T = {T} the second new token scores 3 / T for token 2 against "
               f"0 / T + 4 for token 0: expected {expected}, got {drawn.tolist()[0]}")
fixed = torch.tensor([[-1.0, -1.5, -3.0, -4.0]])   # four tokens; top-2 keeps tokens 0 and 1
noise = torch.tensor([[[0.0, 1.0, 5.0, 5.0]]])      # without top-k, token 2 or 3 would win
drawn = generate(lambda x: fixed.expand(x.shape[0], 4), torch.tensor([[0]]), noise, top_k=2)
check_true(drawn.tolist() == [[0, 1]], "top_k = 2 of the logits (−1, −1.5, −3, −4) keeps tokens 0 and 1 (the others "
           f"−∞); with the noise (0, 1, 5, 5) token 1 wins (−1.5 + 1 > −1): expected [[0, 1]], got {drawn.tolist()}")
print("Task 3 public test passed")

# %% coursekit={"id": "sampling-hidden", "kind": "hidden-test", "points": 3}
def random_model(V, g, max_len=12):
    """Logits that depend on the whole context: a table by (length, last token) plus a sum over every earlier token."""
    table = 2.0 * torch.randn(max_len, V, V, generator=g, dtype=torch.float64)
    mixing = torch.randn(V, V, generator=g, dtype=torch.float64)

    def next_logits(x):
        return table[x.shape[1], x[:, -1]] + mixing[x].sum(1)                  # (N, V)
    return next_logits


def reference_generate(next_logits, prompt, gumbel, T, k):
    x = prompt
    for s in range(gumbel.shape[1]):
        ell = next_logits(x)
        if k is not None:
            ell = torch.where(ell >= ell.sort(-1, descending=True).values[:, k - 1:k], ell, float("-inf"))
        x = torch.cat([x, ((ell / T + gumbel[:, s]) if T > 0 else ell).argmax(-1, keepdim=True)], 1)
    return x


def gumbel_noise(shape, g):
    return -torch.log(-torch.log(torch.rand(shape, generator=g, dtype=torch.float64).clamp_min(1e-300)))


g = torch.Generator().manual_seed(503)
for V, t0, S in [(5, 1, 6), (4, 3, 5)]:
    next_logits = random_model(V, g)
    prompt = torch.randint(0, V, (60, t0), generator=g)
    noise = gumbel_noise((60, S, V), g)
    for T, k in [(0, None), (0.5, None), (1.0, None), (2.0, None), (1.0, 2), (0.7, 3), (1.5, V)]:
        calls = []
        got = generate(lambda x: (calls.append(x.clone()), next_logits(x))[1], prompt, noise, temperature=T, top_k=k)
        check_true(len(calls) == S and all(c.shape[1] == t0 + i for i, c in enumerate(calls)),
                   f"one call per new token on every token so far: expected context lengths "
                   f"{list(range(t0, t0 + S))}, got {[c.shape[1] for c in calls]}")
        expected = reference_generate(next_logits, prompt, noise, T, k)
        check_shape(got, tuple(expected.shape), name=f"the sequences (N, t_0 + S) for t_0 = {t0}, S = {S}")
        wrong = int((got != expected).any(1).sum())
        check_true(wrong == 0, f"V = {V}, prompt length {t0}, T = {T}, top_k = {k}: {wrong} of 60 sequences differ from "
                   f"the reference sampler's, e.g. expected {expected[(got != expected).any(1)][:1].tolist()}, "
                   f"got {got[(got != expected).any(1)][:1].tolist()}")
# the draws follow the model: over all V² pairs of new tokens, the frequencies of 40,000 draws match the product of
# the tempered, top-k conditionals
V = 3
next_logits = random_model(V, g)
prompt = torch.zeros(40_000, 1, dtype=torch.long)
for T, k in [(1.0, None), (0.7, 2)]:
    draws = generate(next_logits, prompt, gumbel_noise((40_000, 2, V), g), temperature=T, top_k=k)
    pairs = torch.tensor([[a, b] for a in range(V) for b in range(V)])                # (V², 2)
    log_q = torch.zeros(V * V, dtype=torch.float64)
    for s in range(2):
        ell = next_logits(torch.cat([torch.zeros(V * V, 1, dtype=torch.long), pairs[:, :s]], 1))
        if k is not None:
            ell = torch.where(ell >= ell.sort(-1, descending=True).values[:, k - 1:k], ell, float("-inf"))
        log_q += torch.log_softmax(ell / T, -1).gather(1, pairs[:, s:s + 1])[:, 0]
    frequency = torch.bincount(draws[:, 1] * V + draws[:, 2], minlength=V * V).double() / 40_000
    check_close(frequency, log_q.exp(), atol=0.012, name=f"frequencies of the {V * V} pairs in 40,000 draws at T = {T}, "
                f"top_k = {k}, vs the product of the conditionals softmax(top_k(ℓ)/T)")


# %% [markdown] coursekit={"id": "task-cache", "kind": "locked"}
# ## Task 4 · One step of attention with a key–value cache (2 + 3 points)
#
# The loop of Task 3 runs the whole model on the whole sequence for every new token, though only the last position's output is new: the keys and values of the earlier tokens do not change (the mask keeps them from seeing later tokens). A **key–value cache** keeps them: at step $t$ the new token $x_t$ alone is projected,
# $$q_t = x_t W_Q, \quad k_t = x_t W_K, \quad v_t = x_t W_V, \qquad K_{\le t} = \begin{bmatrix} K_{<t} \\ k_t \end{bmatrix}, \quad V_{\le t} = \begin{bmatrix} V_{<t} \\ v_t \end{bmatrix},$$
# $$y_t = \mathrm{softmax}\!\Big(\frac{q_t K_{\le t}^\top}{\sqrt{d_k}}\Big) V_{\le t},$$
# one query against every cached key, itself included; no mask is needed, since the cache holds nothing after $t$. Step by step from an empty cache this gives exactly the rows of Task 1's causal attention, at $O(t\,d)$ per step instead of recomputing all $t$ rows.
#
# Write `attention_step(x_t, W_Q, W_K, W_V, cache)`: `x_t` is the new token, (B, d_model); `cache` is the pair `(K, V)` of the earlier tokens' keys (B, t, d_k) and values (B, t, d_v), in order (t = 0 at the start: tensors with a zero-length middle axis). Return `(y_t, (K, V))`: the output (B, d_v) and the cache with $k_t$ and $v_t$ appended, (B, t + 1, d_k) and (B, t + 1, d_v). Do not change the tensors you are given.

# %% coursekit={"id": "cache", "kind": "answer"}
def attention_step(x_t, W_Q, W_K, W_V, cache):
    """One token's causal self-attention with a key–value cache: y_t = softmax(q_t K_{≤t}ᵀ / √d_k) V_{≤t} for x_t
    (B, d_model) and the cache (K_{<t} (B, t, d_k), V_{<t} (B, t, d_v)); returns (y_t (B, d_v), (K_{≤t}, V_{≤t}))."""
    ### BEGIN SOLUTION
    K_cache, V_cache = cache                                              # (B, t, d_k), (B, t, d_v)
    q_t, k_t, v_t = x_t @ W_Q, x_t @ W_K, x_t @ W_V                       # (B, d_k), (B, d_k), (B, d_v)
    K = torch.cat([K_cache, k_t[:, None, :]], dim=1)                      # (B, t + 1, d_k): k_1, …, k_t appended
    V = torch.cat([V_cache, v_t[:, None, :]], dim=1)                      # (B, t + 1, d_v)
    scores = (K @ q_t[:, :, None])[:, :, 0] / math.sqrt(W_Q.shape[1])    # (B, t + 1): q_t · k_s / √d_k, s ≤ t
    weights = torch.softmax(scores, dim=-1)                               # (B, t + 1): a softmax over the keys
    y_t = (weights[:, None, :] @ V)[:, 0, :]                              # (B, 1, t + 1) @ (B, t + 1, d_v) → (B, d_v)
    return y_t, (K, V)
    ### END SOLUTION


# %% coursekit={"id": "cache-public", "kind": "public-test", "points": 2}
g = torch.Generator().manual_seed(54)
x = torch.randn(2, 4, 3, generator=g)                  # B = 2 sequences of T = 4 tokens, d_model = 3
W_Q, W_K = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)   # d_k = 5
W_V = torch.randn(3, 2, generator=g)                                        # d_v = 2
full = F.scaled_dot_product_attention(x @ W_Q, x @ W_K, x @ W_V, is_causal=True)   # (B, T, d_v), every row at once
cache = (torch.zeros(2, 0, 5), torch.zeros(2, 0, 2))
for t in range(4):
    y_t, cache = attention_step(x[:, t], W_Q, W_K, W_V, cache)
    check_shape(y_t, (2, 2), name=f"y_t at step {t}, (B, d_v)")
    check_true(isinstance(cache, (tuple, list)) and len(cache) == 2, "attention_step should return the cache as a "
               f"pair (K, V), got {type(cache).__name__}")
    check_shape(cache[0], (2, t + 1, 5), name=f"the cached keys after step {t}, (B, t + 1, d_k)")
    check_shape(cache[1], (2, t + 1, 2), name=f"the cached values after step {t}, (B, t + 1, d_v)")
    check_close(cache[0], x[:, :t + 1] @ W_K, atol=1e-5, name=f"the cached keys after step {t}: k_1, …, k_{t + 1} in order")
    check_close(y_t, full[:, t], atol=1e-5, name=f"y_t at step {t} against row {t} of the full causal attention")
print("Task 4 public test passed")

# %% coursekit={"id": "cache-hidden", "kind": "hidden-test", "points": 3}
g = torch.Generator().manual_seed(504)
for B, T, d_model, d_k, d_v, t0 in [(3, 7, 4, 6, 3, 0), (2, 9, 6, 2, 5, 4), (1, 5, 3, 3, 3, 1), (4, 6, 8, 16, 4, 0)]:
    x = torch.randn(B, T, d_model, generator=g, dtype=torch.float64)
    W_Q, W_K = (torch.randn(d_model, d_k, generator=g, dtype=torch.float64) for _ in range(2))
    W_V = torch.randn(d_model, d_v, generator=g, dtype=torch.float64)
    full = F.scaled_dot_product_attention(x @ W_Q, x @ W_K, x @ W_V, is_causal=True)
    cache = (x[:, :t0] @ W_K, x[:, :t0] @ W_V)          # a prompt of t0 tokens already in the cache
    where = f"B = {B}, d_model = {d_model}, d_k = {d_k}, d_v = {d_v}, a cache of {t0} tokens to start"
    for t in range(t0, T):
        given = (cache[0].clone(), cache[1].clone())
        y_t, new_cache = attention_step(x[:, t], W_Q, W_K, W_V, cache)
        check_true(torch.equal(given[0], cache[0]) and torch.equal(given[1], cache[1]),
                   f"attention_step must not change the cache it is given (step {t}, {where})")
        check_close(y_t, full[:, t], atol=1e-9, name=f"y_t at step {t} against the full causal attention's row, {where}")
        check_close(new_cache[0], x[:, :t + 1] @ W_K, atol=1e-9, name=f"the cached keys after step {t}, {where}")
        check_close(new_cache[1], x[:, :t + 1] @ W_V, atol=1e-9, name=f"the cached values after step {t}, {where}")
        cache = new_cache


# %% [markdown] coursekit={"id": "outro", "kind": "locked"}
# ## Before you submit
#
# Run *Kernel → Restart Kernel and Run All Cells*: every public test should print "passed". Then submit this notebook as it is (do not rename it). Questions to think about (not graded): in Task 1, what do the weights of the example become without the $\sqrt{d_k}$, and with $d_k = 400$ random features instead of 4? In Task 2, the heads together have as many parameters as one head of width $d_\text{model}$: what can two heads do that one cannot? In Task 3, what does top-k with $k = 1$ do at any temperature, and what does $T \to \infty$ without top-k give? In Task 4, sampling N sequences of length D costs how many multiplications of $q \cdot k$ with the cache, and how many without it?
