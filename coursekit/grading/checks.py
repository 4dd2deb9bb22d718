"""Assertions for exercise tests that say what was expected and what came.

    from coursekit.grading.checks import check_close, check_shape
    check_close(gaussian_kl(mu, s, mu, s), 0.0, name="KL(q‖q)")

A failed check raises `CheckFailed`, an AssertionError. In a notebook (JupyterLab, nbval, the
grader's kernel) it shows its message first, then the lines of the test cell that ran the check;
this module's own frames are left out, they say nothing about the student's answer.
"""
from __future__ import annotations

import math
import re
import traceback
import types

import torch

__all__ = ["CheckFailed", "check_close", "check_shape", "check_true"]

_HERE = globals()   # this module's frames are the ones a failure's display leaves out
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class CheckFailed(AssertionError):
    """A check that did not hold; the message says what was expected and what came."""

    def _render_traceback_(self) -> list[str]:
        """The lines IPython shows for this failure: the message, then where the caller ran the check.

        IPython calls this instead of formatting the traceback itself. It must not raise: IPython
        would then show no error at all.
        """
        shell = None
        lines = [f"{type(self).__name__}: {self}"]
        try:
            shell = _ipython()
            if shell is not None:
                colors = shell.InteractiveTB.Colors
                lines = [f"{colors.excName}{type(self).__name__}{colors.Normal}: {self}"]
        except Exception:
            pass
        try:
            lines += _callers_frames(self, shell)
        except Exception:
            pass
        return lines


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _callers_frames(exc: CheckFailed, shell) -> list[str]:
    """The traceback of `exc` without this module's frames, as IPython's current mode shows it,
    less its header and its closing message line (the message is already on top)."""
    kept = []
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals is not _HERE:
            kept.append(tb)
        tb = tb.tb_next
    trimmed = None
    for tb in reversed(kept):
        trimmed = types.TracebackType(trimmed, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    if trimmed is None:
        return []
    if shell is None:
        return [line.rstrip("\n") for line in traceback.format_list(traceback.extract_tb(trimmed))]
    stb = list(shell.InteractiveTB.structured_traceback(type(exc), exc, trimmed))
    plain = [_ANSI.sub("", s).strip() for s in stb]
    if stb and plain[-1] == f"{type(exc).__name__}: {exc}".strip():
        stb.pop()
    chained = exc.__cause__ is not None or (exc.__context__ is not None and not exc.__suppress_context__)
    header = re.compile(r"-+" if chained else rf"-+|({re.escape(type(exc).__name__)}\s+)?Traceback \(most recent call last\):?")
    head = 0   # "-----", "CheckFailed   Traceback (most recent call last)"; an earlier exception's header stays
    while head < min(2, len(stb)) and header.fullmatch(plain[head]):
        head += 1
    return stb[head:]


def _as_tensor(x, name: str) -> torch.Tensor:
    __tracebackhide__ = True   # pytest and IPython's debugger skip this frame; the message says it all
    if isinstance(x, torch.Tensor):
        if type(x) is not torch.Tensor:   # a subclass (a Parameter, or one that lies): compare its plain values
            with torch._C.DisableTorchFunctionSubclass():
                x = x.detach().as_subclass(torch.Tensor)
        return x.detach()
    try:
        return torch.as_tensor(x, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        pass   # raised outside the handler: torch's own error would only add noise before the message
    raise CheckFailed(f"{name}: expected a number or a tensor, got {type(x).__name__} ({x!r:.80})")


def check_shape(x, expected: tuple[int, ...], name: str = "result") -> None:
    """Fail with both shapes when `x` does not have shape `expected`."""
    __tracebackhide__ = True
    got = tuple(_as_tensor(x, name).shape)
    if got != tuple(expected):
        raise CheckFailed(f"{name}: expected shape {tuple(expected)}, got {got}")


def check_close(got, expected, name: str = "result", rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Fail with expected vs got (and where they differ most) unless |got − expected| ≤ atol + rtol·|expected|."""
    __tracebackhide__ = True
    if got is None:
        raise CheckFailed(f"{name}: got None — did your function forget to `return` its result?")
    g, e = _as_tensor(got, name), _as_tensor(expected, name)
    if g.shape != e.shape and g.numel() != 1 and e.numel() != 1:
        raise CheckFailed(f"{name}: expected shape {tuple(e.shape)}, got {tuple(g.shape)}")
    g64, e64 = g.to(torch.float64).cpu(), e.to(torch.float64).cpu()
    if torch.isnan(g64).any():
        raise CheckFailed(f"{name}: got NaN in {int(torch.isnan(g64).sum())} place(s); expected {_fmt(e64)}")
    both_inf = torch.isinf(g64) & torch.isinf(e64) & (torch.sign(g64) == torch.sign(e64))
    diff = torch.where(both_inf, torch.zeros_like(g64), (g64 - e64).abs())
    bound = atol + rtol * torch.where(torch.isinf(e64), torch.zeros_like(e64), e64.abs())
    bad = diff > bound
    if bad.any():
        if g64.numel() == 1 and e64.numel() == 1:
            raise CheckFailed(f"{name}: expected {_fmt(e64)}, got {_fmt(g64)} (tolerance {atol:g} + {rtol:g}·|expected|)")
        worst = int(torch.argmax(torch.where(bad, diff, torch.zeros_like(diff)).reshape(-1)))
        raise CheckFailed(f"{name}: {int(bad.sum())} of {bad.numel()} values differ; the worst, at flat index "
                          f"{worst}: expected {e64.reshape(-1)[worst].item():.6g}, got {g64.reshape(-1)[worst].item():.6g}")


def check_true(condition: bool, message: str) -> None:
    """Fail with `message` unless `condition` holds (an assert that cannot be optimised away)."""
    __tracebackhide__ = True
    if not condition:
        raise CheckFailed(message)


def _fmt(t: torch.Tensor) -> str:
    if t.numel() == 1:
        v = t.item()
        return str(v) if math.isinf(v) else f"{v:.6g}"
    return f"a tensor of shape {tuple(t.shape)}"
