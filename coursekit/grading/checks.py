"""Assertions for exercise tests that say what was expected and what came.

    from coursekit.grading.checks import check_close, check_shape
    check_close(gaussian_kl(mu, s, mu, s), 0.0, name="KL(q‖q)")
"""
from __future__ import annotations

import math

import torch

__all__ = ["check_close", "check_shape", "check_true"]


def _as_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        if type(x) is not torch.Tensor:   # a subclass (a Parameter, or one that lies): compare its plain values
            with torch._C.DisableTorchFunctionSubclass():
                x = x.detach().as_subclass(torch.Tensor)
        return x.detach()
    try:
        return torch.as_tensor(x, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise AssertionError(f"{name}: expected a number or a tensor, got {type(x).__name__} ({x!r:.80})") from err


def check_shape(x, expected: tuple[int, ...], name: str = "result") -> None:
    """Fail with both shapes when `x` does not have shape `expected`."""
    got = tuple(_as_tensor(x, name).shape)
    if got != tuple(expected):
        raise AssertionError(f"{name}: expected shape {tuple(expected)}, got {got}")


def check_close(got, expected, name: str = "result", rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Fail with expected vs got (and where they differ most) unless |got − expected| ≤ atol + rtol·|expected|."""
    if got is None:
        raise AssertionError(f"{name}: got None — did your function forget to `return` its result?")
    g, e = _as_tensor(got, name), _as_tensor(expected, name)
    if g.shape != e.shape and g.numel() != 1 and e.numel() != 1:
        raise AssertionError(f"{name}: expected shape {tuple(e.shape)}, got {tuple(g.shape)}")
    g64, e64 = g.to(torch.float64).cpu(), e.to(torch.float64).cpu()
    if torch.isnan(g64).any():
        raise AssertionError(f"{name}: got NaN in {int(torch.isnan(g64).sum())} place(s); expected {_fmt(e64)}")
    both_inf = torch.isinf(g64) & torch.isinf(e64) & (torch.sign(g64) == torch.sign(e64))
    diff = torch.where(both_inf, torch.zeros_like(g64), (g64 - e64).abs())
    bound = atol + rtol * torch.where(torch.isinf(e64), torch.zeros_like(e64), e64.abs())
    bad = diff > bound
    if bad.any():
        if g64.numel() == 1 and e64.numel() == 1:
            raise AssertionError(f"{name}: expected {_fmt(e64)}, got {_fmt(g64)} (tolerance {atol:g} + {rtol:g}·|expected|)")
        worst = int(torch.argmax(torch.where(bad, diff, torch.zeros_like(diff)).reshape(-1)))
        raise AssertionError(f"{name}: {int(bad.sum())} of {bad.numel()} values differ; the worst, at flat index "
                             f"{worst}: expected {e64.reshape(-1)[worst].item():.6g}, got {g64.reshape(-1)[worst].item():.6g}")


def check_true(condition: bool, message: str) -> None:
    """Fail with `message` unless `condition` holds (an assert that cannot be optimised away)."""
    if not condition:
        raise AssertionError(message)


def _fmt(t: torch.Tensor) -> str:
    if t.numel() == 1:
        v = t.item()
        return str(v) if math.isinf(v) else f"{v:.6g}"
    return f"a tensor of shape {tuple(t.shape)}"
