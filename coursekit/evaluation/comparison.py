"""One row of the course's comparison table for any model on any split: `evaluate_model`.

    rows = [evaluate_model(m, splits.test, train_split=splits.train, samples=m.sample(400),
                           classifier=clf) for m in (floor, vae)]
    print(format_table(rows))       # exact numbers and bounds, each saying which it is

A row holds the test bits/dim (exact, or an upper bound named by the model's `bound`), the
baselines on the same split (uniform over the levels; the per-pixel floor fitted on
`train_split`) and, given samples and a classifier, the Fréchet distance at a fixed n.
The closing lecture builds its table from these rows only.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass
from typing import Iterator, Sequence

import torch

from ..data import ImageSplit, dequantize
from ..models.base import LIKELIHOODS, GenerativeModel
from ..utils import random_state_preserved, seeded_generator
from .frechet import DEFAULT_FRECHET_N, frechet_distance
from .likelihood import bits_per_dim, floor_bits_per_dim, uniform_bits_per_dim

__all__ = ["ComparisonRow", "evaluate_model", "format_table"]


@dataclass(frozen=True)
class ComparisonRow:
    """One model on one split: a row of the course's comparison table.

    `bits_per_dim` and `nats` (per example) are the test negative log-likelihood, or an upper
    bound on it when `bound` names one; both are None for a model with no likelihood. The
    baselines are on the same split: uniform over its levels, and the per-pixel floor fitted
    on the training split (None when none was given). `frechet` is the Fréchet distance of the
    given samples to the split at `frechet_n` examples (None without samples).
    """

    name: str
    family: str
    likelihood: str
    bound: str | None
    bits_per_dim: float | None
    nats: float | None
    uniform_bits_per_dim: float
    floor_bits_per_dim: float | None
    frechet: float | None
    frechet_n: int | None
    split: str
    dims: int
    levels: int
    examples: int

    @property
    def is_exact(self) -> bool:
        """True when `bits_per_dim` is an exact likelihood, not a bound (False without a likelihood)."""
        return self.bits_per_dim is not None and self.bound is None

    @property
    def measure(self) -> str:
        """What the number is: "exact", "≤ (bound: iwae-1000)" or "none"."""
        if self.bits_per_dim is None:
            return "none"
        return "exact" if self.bound is None else f"≤ (bound: {self.bound})"

    def as_dict(self) -> dict:
        """The fields, plus "measure", as a plain dict (for a DataFrame or JSON)."""
        return {**asdict(self), "measure": self.measure}


def _likelihood_method(model: GenerativeModel):
    """The model's declared likelihood: (method or None, sign, bound name or None), or a clear error."""
    kind, cls = getattr(model, "likelihood", None), type(model).__name__
    if kind not in LIKELIHOODS:
        raise TypeError(f"{cls} declares likelihood = {kind!r}; it must be one of {LIKELIHOODS}")
    if kind == "none":
        return None, 0.0, None
    attr = "log_prob" if kind == "exact" else "nll_bound"
    method = getattr(model, attr, None)
    if not callable(method):
        raise TypeError(f"{cls} declares likelihood = {kind!r} but has no {attr}(x): it cannot be evaluated")
    if kind == "exact":
        return method, -1.0, None
    bound = getattr(model, "bound", None)
    if not isinstance(bound, str) or not bound:
        raise TypeError(f"{cls} declares likelihood = 'bound' but does not name its bound (bound = {bound!r}); "
                        f"a bound must never be reported as an exact likelihood")
    return method, 1.0, bound


def _call_on_levels(method, x: torch.Tensor, dtype: torch.dtype, family: str, levels: int):
    """method(x); when it fails on integer levels but runs on the same levels as floats, a TypeError that
    says so (the contract: a model of integer levels takes int64 levels; see coursekit/models/base.py)."""
    try:
        return method(x)
    except (RuntimeError, TypeError) as err:
        if x.is_floating_point():
            raise
        try:
            method(x.to(dtype))
        except (RuntimeError, TypeError, ValueError):
            raise err from None                                 # not (only) the dtype: the model's own error
        raise TypeError(
            f"{family}.{method.__name__}(x) fails on the split's integer levels (x is {x.dtype}, levels "
            f"0..{levels - 1}) but runs on the same levels as {dtype} floats. evaluate_model passes the levels as "
            f"ImageSplit.x holds them, int64, and the contract (coursekit/models/base.py) is that a model of "
            f"integer levels takes them as int64 as well as integer-valued floats: cast inside the model, e.g. "
            f"x.to(logits.dtype) for a Bernoulli likelihood, x.long() for a categorical one. "
            f"({type(err).__name__}: {err})") from err


@contextlib.contextmanager
def _seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Seed torch's global stream for a stochastic bound, and give the caller's stream back afterwards."""
    if seed is None:
        yield
        return
    with random_state_preserved(device):
        torch.manual_seed(seed)
        yield


def evaluate_model(model: GenerativeModel, split: ImageSplit, *, name: str | None = None,
                   train_split: ImageSplit | None = None, samples: torch.Tensor | None = None,
                   classifier=None, n: int | None = None, seed: int | None = 0, batch_size: int = 512,
                   alpha: float = 0.5) -> ComparisonRow:
    """Evaluate `model` on `split` (integer images, levels 0..split.levels−1): one `ComparisonRow`.

    - The likelihood is the one the model declares: −`log_prob(x)` ("exact") or `nll_bound(x)`
      ("bound", reported with the bound's name), averaged over the split in batches of
      `batch_size`, in eval mode and without gradients (the mode is restored afterwards).
      The model's `data_shape` must be the split's image shape, and a model of integer levels
      (`data_levels = K`) must have K = split.levels (binarise the split for a Bernoulli model:
      levels 0/1, e.g. `ImageSplit((s.x > 8).long(), s.y, levels=2)` for the 17-level digits).
      Such a model is given x as the split holds it, int64 levels (the contract of base.py: it
      takes int64 levels and integer-valued floats alike); one that fails on int64 but runs on
      floats gets a TypeError saying so.
    - A model of real-valued data (`data_levels = None`: a Gaussian decoder, a flow on [0, 1))
      is evaluated on the dequantised split y = (x + u)/K, u ~ U[0, 1)^D (`data.dequantize`, one
      draw from `seed`), and its nats get + D·log K: log P(x) ≥ E_u[log p(y)] − D·log K
      (Theis et al., 2016), so the row is an upper bound on the discrete NLL, comparable with
      the discrete models, and its bound is named "dequantised" (or "<bound>+dequantised").
      A model declaring `bound = "dequantised"` takes the integer levels and adds the noise and
      the D·log K itself; its numbers are used as they are.
    - Baselines on the split: uniform, log2(levels) bits/dim; the per-pixel floor fitted on
      `train_split` (the floor needs training data: without `train_split` it is None).
    - With `samples` (n or more images from the model, integer levels or floats in [0, 1]) and
      the evaluation `classifier`, the Fréchet distance to the split at exactly `n` examples
      (default `DEFAULT_FRECHET_N` = 400).
    - `seed` fixes the random draws of a stochastic bound (torch's global stream is forked, so
      the caller's stream is untouched), the dequantisation noise and the Fréchet subsample;
      None uses the global stream as it is.

    Likelihoods conditional on a label (a conditional VAE's log p(x | y)) are not unconditional
    log p(x): such a model raises its own error here.
    """

    if not isinstance(model, GenerativeModel):
        raise TypeError(f"model must be a coursekit GenerativeModel, got {type(model).__name__}")
    for label, part in (("split", split), ("train_split", train_split)):
        if part is not None and not isinstance(part, ImageSplit):
            raise TypeError(f"{label} must be an ImageSplit (e.g. coursekit.data.digits().test), "
                            f"got {type(part).__name__}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    method, sign, bound = _likelihood_method(model)
    family = type(model).__name__
    shape, levels = tuple(split.x.shape[1:]), split.levels
    if tuple(model.data_shape) != shape:
        raise ValueError(f"{family} models images of shape {tuple(model.data_shape)}, but the split "
                         f"{split.name!r} holds images of shape {shape}")
    if model.data_levels is not None and model.data_levels != levels:
        hint = " (binarise the split for a Bernoulli model)" if model.data_levels == 2 else ""
        raise ValueError(f"{family} models {model.data_levels} levels per pixel, but the split {split.name!r} has "
                         f"{levels}{hint}")
    if train_split is not None and (tuple(train_split.x.shape[1:]) != shape or train_split.levels != levels):
        raise ValueError(f"train_split {train_split.name!r} (shape {tuple(train_split.x.shape[1:])}, "
                         f"{train_split.levels} levels) does not match the split {split.name!r} (shape {shape}, "
                         f"{levels} levels)")

    nats = bpd = None
    if method is not None:
        dequantised = model.data_levels is None
        if dequantised:
            bound = "dequantised" if bound is None else f"{bound}+dequantised"
        dtype = next((p.dtype for p in (*model.parameters(), *model.buffers()) if p.is_floating_point()),
                     torch.get_default_dtype())
        noise = seeded_generator(seed) if seed is not None else None
        was_training = model.training
        model.eval()
        values = []
        try:
            with torch.no_grad(), _seeded(seed, model.device):
                for x in split.x.split(batch_size):
                    x = x.to(model.device)
                    if dequantised:
                        x = dequantize(x, levels, generator=noise).to(dtype)       # y = (x + u)/K ∈ [0, 1)
                    nll = sign * _call_on_levels(method, x, dtype, family, levels)  # (B,) nats
                    if not isinstance(nll, torch.Tensor) or tuple(nll.shape) != (x.shape[0],):
                        got = tuple(nll.shape) if isinstance(nll, torch.Tensor) else type(nll).__name__
                        raise ValueError(f"{family}.{method.__name__}(x) must return one value per example, "
                                         f"({x.shape[0]},), got {got}")
                    values.append(nll.double().cpu())
        finally:
            model.train(was_training)
        nll = torch.cat(values)                                                     # (N,)
        if torch.isnan(nll).any():
            raise ValueError(f"{family}.{method.__name__}(x) returned NaN for {int(torch.isnan(nll).sum())} of "
                             f"{len(nll)} examples of {split.name!r}")
        if dequantised:
            nll = nll + split.dims * math.log(levels)                               # −log P(x) ≤ −log p(y) + D log K
        nats = float(nll.mean())
        bpd = float(bits_per_dim(nats, split.dims))

    frechet = frechet_n = None
    if samples is not None:
        if classifier is None:
            raise ValueError("the Fréchet distance needs the evaluation classifier: pass "
                             "classifier=coursekit.evaluation.classifier(splits)")
        n = DEFAULT_FRECHET_N if n is None else n
        result = frechet_distance(samples, split, classifier, n, 0 if seed is None else seed)
        frechet, frechet_n = result.value, result.n

    return ComparisonRow(
        name=family if name is None else name, family=family, likelihood=model.likelihood, bound=bound,
        bits_per_dim=bpd, nats=nats, uniform_bits_per_dim=uniform_bits_per_dim(levels),
        floor_bits_per_dim=None if train_split is None else floor_bits_per_dim(train_split, split, alpha),
        frechet=frechet, frechet_n=frechet_n, split=split.name, dims=split.dims, levels=levels,
        examples=len(split),
    )


def format_table(rows: Sequence[ComparisonRow], digits: int = 3) -> str:
    """The rows as a Markdown table. A bound's bits/dim are printed "≤ 2.104" beside the bound's
    name, so a bound is never read as an exact likelihood; "—" where a number does not exist."""
    rows = list(rows)
    if not rows or not all(isinstance(r, ComparisonRow) for r in rows):
        raise TypeError("rows must be a non-empty sequence of ComparisonRow (from evaluate_model)")
    where = {(r.split, r.dims, r.levels) for r in rows}
    if len(where) > 1:
        raise ValueError(f"one table compares models on one split; these rows come from {sorted(where)}")

    def number(value: float | None, prefix: str = "") -> str:
        return "—" if value is None else f"{prefix}{value:.{digits}f}"

    lines = ["| model | family | likelihood | bits/dim | nats/example | uniform | floor | Fréchet |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        le = "" if r.is_exact else "≤ "
        fd = "—" if r.frechet is None else f"{r.frechet:.{digits}f} (n = {r.frechet_n})"
        lines.append(f"| {r.name} | {r.family} | {r.measure} | {number(r.bits_per_dim, le)} | "
                     f"{number(r.nats, le)} | {number(r.uniform_bits_per_dim)} | {number(r.floor_bits_per_dim)} | "
                     f"{fd} |")
    return "\n".join(lines)
