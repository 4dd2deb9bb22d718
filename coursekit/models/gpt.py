"""A small GPT (Radford et al., 2018; minGPT's layout) over the pixels of an image, read as a sequence of tokens.

The image is read in raster order as tokens x_1, …, x_D (D = C·H·W; 64 for the 8×8 digits), each token one of
K grey levels (17 for the digits). The input at step t is the token *before* it, so ℓ_t sees x_<t only:

    s = [start, x_1, …, x_{D−1}]                        a start token (one per class when conditioned on y)
    h⁰_t = E x̃(s_t) + P_t                              token embedding + position embedding (learned or sinusoidal)
    hˡ = hˡ⁻¹ + MHA(LN(hˡ⁻¹))                            pre-norm causal self-attention (t attends to ≤ t)
    hˡ = hˡ  + MLP(LN(hˡ))                              pre-norm position-wise MLP (d → 4d → d, GELU)
    ℓ_t = W_head LN(h^L_t) ∈ ℝ^K                         the logits of p(x_t | x_<t)

    MHA: Q, K, V = h W_Q, h W_K, h W_V;  head_h = softmax(Q_h K_hᵀ / √d_head + M) V_h,  M_ts = 0 if s ≤ t else −∞

(`layers.attention` writes it out; `layers.MultiHeadAttention(fused=True)` runs `F.scaled_dot_product_attention`.)
With `classes` set the start token is a learned embedding of the label y, s_1 = start(y), so every step sees the
label through attention: `log_prob(x, y)`, `loss((x, y))`, `sample(n, y=...)` (the conditional VAE's convention).

**Sampling.** The naive sampler (`cached=False`) runs the whole model on the whole sequence once per token: D
passes of cost O(D²) attention each. Causal attention never changes the keys and values of earlier steps, so a
key–value cache keeps each layer's K and V of the steps done and a step runs *one* token through every layer
(its query against the cached keys): `sample(..., cached=True)`, the default. Both draw the same Gumbel noise by
the base class's rule and take the same argmax(ℓ/T + g) (top-k first sets every logit outside the k largest to
−∞; temperature then scales the kept ones: the order does not matter, dividing by T > 0 keeps the ranking). The
cached and full passes add the same numbers in another order, so their logits differ by float rounding (about
1e-7 in float32, 1e-16 in float64): the samples are the same unless a draw falls within that of a tie, which the
tests check does not happen at their seeds (and compare the logits at atol 1e-5 in float32).

    model = GPT()                                                          # 8×8 digits, 17 levels
    model = GPT(shape=(1, 2, 2), levels=2, d_model=8, n_heads=2, layers=1)  # binary 2×2 images
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from .autoregressive import Autoregressive, AutoregressiveConfig, _check_config
from .base import batch_images, check_labels
from .layers import MultiHeadAttention, SinusoidalTimeEmbedding, attention

__all__ = ["GPTConfig", "GPT", "POSITIONS"]

POSITIONS = ("learned", "sinusoidal", "none")
"""Position embeddings P_t: a learned (D, d) table, the Transformer's fixed sinusoids, or none. Without them one
attention layer reads its past as a *set*: ℓ_t is a function of {s_1, …, s_t}, whatever their order. Stacked causal
layers recover some order (each earlier step's hidden state saw a different prefix), but not the positions."""


def _positive_int(value, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")


@dataclass
class GPTConfig(AutoregressiveConfig):
    """A GPT over the image in raster order: the data (`shape`, `levels` K; `inputs` "one_hot" makes the token
    embedding a lookup table, "scaled" a single learned direction times x / (K − 1)), the width `d_model`,
    `n_heads` heads, `layers` pre-norm blocks, `positions` (one of POSITIONS), `dropout` (on the embeddings and the
    MLP's output, training mode only), `attention_dropout` (on the attention weights), `classes` (None, or the
    number of labels to condition on), `top_k` (the samplers' default: None draws from all K levels), `fused`
    (attention by `F.scaled_dot_product_attention`, else written out; same numbers up to rounding).

    On the 1000 training digits (Adam 3e-3, batches of 64, patience 5, one thread; benchmarks/ar_bits_per_dim.py
    --models gpt) the default (106k parameters, dropout 0.1 on the embeddings and the MLP, none on the attention
    weights) reached 1.924, 1.950, 1.955 test bits/dim (seeds 0, 1, 2; mean 1.943) in 37–44 epochs (73–158 s on a
    2-core machine shared with other jobs). Dropout on the attention weights too (`--models gpt-attention-dropout`)
    gave 1.913, 1.925, 1.940 (mean 1.926; 74–79 s on a quieter machine) but each training step took 1.5–2× as long
    (80–120 ms against 160–190 ms per batch of 64, measured side by side: the dropout path of attention on a CPU).
    Without any dropout it overfits: 2.000 at seed 0 (patience 10). Sampling 100 digits with the key–value cache was
    19–25× faster than the naive sampler over three runs (0.11 s vs 2.1 s in the first;
    benchmarks/ar_sampling_speed.py --model gpt), and 40–89× at 16×16 (naive time extrapolated)."""

    inputs: Literal["scaled", "one_hot"] = "one_hot"
    d_model: int = 64
    n_heads: int = 4
    layers: int = 2
    positions: Literal["learned", "sinusoidal", "none"] = "learned"
    dropout: float = 0.1
    attention_dropout: float = 0.0
    classes: int | None = None
    top_k: int | None = None
    fused: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("d_model", "n_heads", "layers"):
            _positive_int(getattr(self, name), name)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be divisible by n_heads, got d_model={self.d_model}, "
                             f"n_heads={self.n_heads}")
        if self.positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {self.positions!r}")
        if self.positions == "sinusoidal" and self.d_model % 2:
            raise ValueError(f"sinusoidal positions need an even d_model (half sines, half cosines), "
                             f"got {self.d_model}")
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
        if self.classes is not None:
            _positive_int(self.classes, "classes (None, or the number of labels to condition on)")
        if self.top_k is not None:
            _positive_int(self.top_k, "top_k (None, or how many of the largest logits to draw from)")
        if not isinstance(self.fused, bool):
            raise ValueError(f"fused must be True or False, got {self.fused!r}")


class Block(nn.Module):
    """One pre-norm transformer block on h (N, T, d): h + MHA(LN(h)), then h + MLP(LN(h))."""

    def __init__(self, d_model: int, n_heads: int, dropout: float, fused: bool, attention_dropout: float = 0.0):
        super().__init__()
        self.ln_attention = nn.LayerNorm(d_model)
        self.attention = MultiHeadAttention(d_model, n_heads, causal=True, dropout=attention_dropout, fused=fused)
        self.ln_mlp = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model),
                                 nn.Dropout(dropout))

    def forward(self, h: torch.Tensor, return_weights: bool = False):
        if return_weights:
            a, weights = self.attention(self.ln_attention(h), return_weights=True)   # (N, T, d), (N, heads, T, T)
        else:
            a, weights = self.attention(self.ln_attention(h)), None
        h = h + a                                                                    # h + MHA(LN(h))
        h = h + self.mlp(self.ln_mlp(h))                                             # h + MLP(LN(h))
        return (h, weights) if return_weights else h

    def step(self, h_t: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor], t: int) -> torch.Tensor:
        """The block at step t alone, h_t (n, d) → (n, d), with this layer's key–value cache (K, V), each
        (n, heads, D, head_dim): K_t, V_t of this step are written into slot t, and the query q_t attends to
        slots 0..t (all earlier steps: no mask needed)."""
        mha, (keys, values) = self.attention, cache
        n, d, heads, head_dim = h_t.shape[0], mha.d_model, mha.n_heads, mha.head_dim
        q, k, v = mha.qkv(self.ln_attention(h_t)).split(d, dim=1)                   # 3 × (n, d)
        keys[:, :, t] = k.view(n, heads, head_dim)                                   # (n, d) → (n, heads, head_dim)
        values[:, :, t] = v.view(n, heads, head_dim)                                 # (n, d) → (n, heads, head_dim)
        q = q.view(n, heads, 1, head_dim)                                            # (n, heads, 1, head_dim)
        y, _ = attention(q, keys[:, :, :t + 1], values[:, :, :t + 1])                # (n, heads, 1, head_dim)
        h_t = h_t + mha.out(y.reshape(n, d))                                         # heads concatenated: (n, d)
        return h_t + self.mlp(self.ln_mlp(h_t))


class GPT(Autoregressive):
    """A GPT over the pixels in raster order: a start token, token + position embeddings, pre-norm causal
    transformer blocks, a categorical over K levels per step; exact likelihood; naive or key–value-cached
    sampling with temperature and top-k; optional class conditioning (the start token is the label's).

    `GPT(config)` or `GPT(**fields of GPTConfig)`."""

    def __init__(self, config: GPTConfig | None = None, **fields):
        super().__init__()
        self.config = c = _check_config(config, fields, GPTConfig)
        self.embed = nn.Linear(c.features, c.d_model, bias=False)                   # E: x̃ (E features) → d
        self.start = nn.Parameter(torch.empty(c.classes or 1, c.d_model))            # s_1: one per class
        if c.positions == "learned":
            self.position = nn.Parameter(torch.empty(c.dims, c.d_model))            # P (D, d)
        elif c.positions == "sinusoidal":
            self.sinusoid = SinusoidalTimeEmbedding(c.d_model, max_period=10000.0)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c.d_model, c.n_heads, c.dropout, c.fused, c.attention_dropout)
                                    for _ in range(c.layers))
        self.ln_final = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.levels)                                   # W_head: d → K logits
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The start token(s) and the learned positions ~ N(0, 0.02²) (GPT-2's embedding initialisation; what
        `layers.materialize` calls after building on `meta`; the other layers reset themselves)."""
        with torch.no_grad():
            nn.init.normal_(self.start, std=0.02)
            if self.config.positions == "learned":
                nn.init.normal_(self.position, std=0.02)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())

    # -- labels ---------------------------------------------------------------------------------

    def _check_y(self, y, n: int, device: torch.device) -> torch.Tensor | None:
        """y as int64 labels (n,) for a conditional model (an int is every example's label); None otherwise."""
        return check_labels(y, n, device, classes=self.config.classes, model="GPT", field="classes",
                            conditioned="this GPT is conditioned on labels")

    def start_token(self, y: torch.Tensor | None, n: int) -> torch.Tensor:
        """s_1 (n, 1, d): the start embedding, or the label's when the model is conditioned on y."""
        if y is None:
            return self.start[:1].expand(n, 1, -1)                                   # (1, d) → (n, 1, d)
        return self.start[y].unsqueeze(1)                                            # (n, d) → (n, 1, d)

    def position_embedding(self) -> torch.Tensor:
        """P (D, d): the learned table, the sinusoids of t = 0..D−1, or zeros (positions="none")."""
        c = self.config
        if c.positions == "learned":
            return self.position
        if c.positions == "sinusoidal":
            return self.sinusoid(torch.arange(c.dims, device=self.sinusoid.freqs.device))
        return self.start.new_zeros(c.dims, c.d_model)

    # -- the network: x → ℓ, all steps at once (teacher forcing) ----------------------------------

    def _inputs(self, x_tilde: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """h⁰ (N, D, d) = [start(y), E x̃_1, …, E x̃_{D−1}] + P: the sequence shifted right by one step."""
        N, E = x_tilde.shape[:2]
        x_seq = x_tilde.reshape(N, E, self.config.dims).transpose(1, 2)             # (N, E, C, H, W) → (N, D, E)
        tokens = self.embed(x_seq[:, :-1])                                           # E x̃_t, (N, D − 1, d)
        s = torch.cat([self.start_token(y, N), tokens], dim=1)                      # (N, D, d): s_t = x_{t−1}
        return self.drop(s + self.position_embedding())                              # + P (D, d)

    def conditional_logits(self, x_tilde: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """ℓ (N, K, C, H, W) from x̃ (N, E, C, H, W) (and the labels y (N,) when conditioned). The input is
        shifted right by one step and attention is causal, so ℓ_t depends on x̃_{<t} only."""
        N = x_tilde.shape[0]
        h = self._inputs(x_tilde, y)                                                 # (N, D, d)
        for block in self.blocks:
            h = block(h)                                                             # (N, D, d)
        logits = self.head(self.ln_final(h))                                         # (N, D, K)
        return logits.transpose(1, 2).reshape(N, self.config.levels, *self.config.shape)  # → (N, K, C, H, W)

    def logits(self, x: torch.Tensor, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """ℓ (N, K, C, H, W): the logits of p(x_d | x_<d [, y]) for every d, in one pass (teacher forcing)."""
        x = self._check_x(x)
        y = self._check_y(y, x.shape[0], x.device)
        return self.conditional_logits(self.input_features(x), y)

    def log_prob(self, x: torch.Tensor, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """log p(x [| y]) = Σ_d log softmax(ℓ_d)_{x_d} in nats, (N,): exact, by the chain rule."""
        x = self._check_x(x)
        log_p = -F.cross_entropy(self.logits(x, y), x, reduction="none")            # (N, C, H, W)
        return log_p.flatten(1).sum(1)                                               # (N, D) → (N,)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        """The mean negative log-likelihood per example in nats, and the same in bits/dim; a conditional model
        takes its labels from the batch (x, y), an unconditional one ignores them."""
        x, y = batch_images(batch), None
        if self.config.classes is not None:
            if not (isinstance(batch, (tuple, list)) and len(batch) >= 2):
                raise ValueError(f"this GPT is conditioned on labels (classes={self.config.classes}): the batch "
                                 f"must be (x, y), got {type(batch).__name__} of length "
                                 f"{len(batch) if isinstance(batch, (tuple, list)) else 1}")
            y = batch[1]
        nll = -self.log_prob(x, y).mean()
        return {"loss": nll, "nll": nll, "bits_per_dim": nll / (self.config.dims * math.log(2))}

    @torch.no_grad()
    def attention_weights(self, x: torch.Tensor, y: torch.Tensor | int | None = None) -> list[torch.Tensor]:
        """Every layer's attention weights A (N, heads, D, D) on x, by the written-out attention: A[n, h, t, s] is
        how much step t (predicting x_t) reads step s (which holds x_{s−1}; s = 0 is the start token)."""
        x = self._check_x(x)
        h = self._inputs(self.input_features(x), self._check_y(y, x.shape[0], x.device))   # (N, D, d)
        weights = []
        for block in self.blocks:
            h, w = block(h, return_weights=True)                                     # (N, D, d), (N, heads, D, D)
            weights.append(w)
        return weights

    # -- sampling: naive (one full pass per token) or with a key–value cache --------------------

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None,
               cached: bool = True, top_k: int | None = None, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """n images (n, C, H, W), drawn one token at a time in raster order: x_t = argmax(top_k(ℓ_t) / T + g_t)
        with the base class's Gumbel noise g (`temperature=0`: the argmax). `cached=True` runs one token per step
        through the key–value cache, `cached=False` the whole model per step; the same generator gives the same
        images. A conditional model takes `y` (an int or (n,) labels; None gives y = 0, 1, …, K−1, 0, …)."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n (the number of samples) must be a positive int, got {n!r}")
        x = torch.zeros(n, *self.config.shape, dtype=torch.long, device=self.device)
        if self.config.classes is not None and y is None:
            y = torch.arange(n, device=self.device) % self.config.classes
        return self._fill_gpt(x, torch.zeros_like(x, dtype=torch.bool), y, temperature, generator, cached, top_k)

    @torch.no_grad()
    def complete(self, x: torch.Tensor, known_mask: torch.Tensor, temperature: float = 1.0,
                 generator: torch.Generator | None = None, cached: bool = True, top_k: int | None = None,
                 y: torch.Tensor | int | None = None) -> torch.Tensor:
        """Image completion as `Autoregressive.complete` (keep x where `known_mask`, draw the rest in raster
        order); the cached sampler steps through the known pixels too (to fill its cache)."""
        x, known = self._completion_inputs(x, known_mask)
        return self._fill_gpt(x.clone(), known, y, temperature, generator, cached, top_k)

    def _draw(self, logits_t: torch.Tensor, gumbel_t: torch.Tensor | None, temperature: float,
              top_k: int | None) -> torch.Tensor:
        """x_t (n,) = argmax_k(top_k(ℓ_t)/T + g_t): logits below the k-th largest become −∞ (never drawn), then
        the Gumbel-max draw at temperature T (the plain argmax at T = 0, where top-k changes nothing)."""
        if top_k is not None and top_k < logits_t.shape[1]:
            kth = logits_t.topk(top_k, dim=1).values[:, -1:]                        # (n, 1): the k-th largest
            logits_t = logits_t.masked_fill(logits_t < kth, float("-inf"))
        scores = logits_t / temperature + gumbel_t if temperature > 0 else logits_t
        return scores.argmax(1)

    def _fill_gpt(self, x: torch.Tensor, known: torch.Tensor, y, temperature: float,
                  generator: torch.Generator | None, cached: bool, top_k: int | None,
                  logits_out: list | None = None) -> torch.Tensor:
        """Both samplers: for t = 1..D, ℓ_t from a full pass over x (naive) or one cached step, then
        x_t = draw(ℓ_t) where unknown. Runs in eval mode (no dropout). `logits_out`, a list, collects ℓ_t (n, K)."""
        if not isinstance(cached, bool):
            raise ValueError(f"cached must be True or False, got {cached!r}")
        K = self.config.levels
        top_k = self.config.top_k if top_k is None else top_k
        if top_k is not None:
            _positive_int(top_k, "top_k (None, or how many of the largest logits to draw from)")
        n, D = x.shape[0], self.config.dims
        y = self._check_y(y, n, x.device)
        gumbel = self._sampling_noise(n, temperature, x.device, generator)          # (n, D, K), None at T = 0
        flat, known_flat = x.view(n, D), known.reshape(n, D)                       # (N, C, H, W) → (N, D) views
        check_values = x.device.type != "meta"
        was_training = self.training
        self.eval()
        try:
            if cached:
                c, like = self.config, self.start
                caches = [(like.new_zeros(n, c.n_heads, D, c.d_model // c.n_heads),
                           like.new_zeros(n, c.n_heads, D, c.d_model // c.n_heads)) for _ in self.blocks]  # K, V
                levels = torch.arange(K, device=x.device).view(-1, 1, 1, 1)         # (K, 1, 1, 1): every level
                features = self.input_features(levels).view(K, -1)                  # (K, E, 1, 1, 1) → (K, E)
                P = self.position_embedding()                                        # (D, d)
                s_t = self.start_token(y, n)[:, 0]                                   # s_1, (n, d)
            for t in range(D):
                if cached:
                    h = s_t + P[t]                                                   # h⁰_t (n, d)
                    for block, cache in zip(self.blocks, caches):
                        h = block.step(h, cache, t)                                  # hˡ_t (n, d)
                    logits_t = self.head(self.ln_final(h))                           # ℓ_t (n, K)
                else:
                    if check_values and bool(known_flat[:, t].all()):
                        continue                                                     # nothing to draw here
                    logits_t = self.logits(x, y).flatten(2)[:, :, t]                 # (N, K, C, H, W) → (N, K, D) → (N, K)
                if logits_out is not None:
                    logits_out.append(logits_t)
                drawn = self._draw(logits_t, None if gumbel is None else gumbel[:, t], temperature, top_k)
                flat[:, t] = torch.where(known_flat[:, t], flat[:, t], drawn)
                if cached:
                    s_t = self.embed(features[flat[:, t]])                           # E x̃_t (n, d): the next input
        finally:
            self.train(was_training)
        return x.to(self._float_dtype()) if K == 2 else x      # base.py's convention, as the naive sampler
