"""Small shared helpers: seeding, the one `device="auto"` resolver, the one rule for random
draws, input checks, atomic writes and hashing.

**The rule for random numbers and devices.** Every function that draws random numbers takes
an optional `generator`. With one, numbers are drawn on the generator's own device (the CPU
for `torch.Generator()`, as `seeded_generator` makes) and then moved to the data's device, so
a seeded result is the same on every device; without one, they come from torch's global
stream directly on the data's device. `draw_device`, `randn`, `rand` and `randperm` apply it.
"""
from __future__ import annotations

import contextlib
import math
import os
import random
import tempfile
from pathlib import Path
from typing import IO, Iterator, Sequence

import numpy as np
import torch

__all__ = ["seed_everything", "resolve_device", "random_state_preserved", "float64_device", "seeded_generator", "draw_device", "randn", "rand", "randperm",
           "check_shape", "check_integer_range", "check_images", "atomic_write", "resolve_cache_dir", "hash_tensor",
           "marked_section", "with_marked_section"]


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (every device) and return a CPU `torch.Generator` seeded alike.

    A seeded run on one machine gives the same numbers twice; across machines and CUDA
    versions small differences remain (PyTorch does not promise bitwise reproducibility).
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} ({seed!r})")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # seeds CUDA and MPS generators too
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    return torch.Generator().manual_seed(seed)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """`"auto"` picks CUDA, then Apple's MPS, then the CPU; anything else is passed to torch.device."""
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be 'auto', a device string or torch.device, got {type(device).__name__}")
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available here; use device='auto' or 'cpu'")
    return resolved


@contextlib.contextmanager
def random_state_preserved(device: torch.device | str = "cpu") -> Iterator[None]:
    """Give Python's, NumPy's and torch's random streams (the CPU's and, on CUDA, `device`'s) back
    as they were when the block ends: what a helper that trains or samples with its own seed uses,
    so a notebook gives the same numbers whether the helper ran or loaded from a cache."""
    device = torch.device(device)
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def float64_device(t: torch.Tensor) -> torch.device:
    """Where float64 statistics of `t` are computed: t's device, except Apple's MPS (no float64) → the CPU."""
    return torch.device("cpu") if t.device.type == "mps" else t.device


def seeded_generator(seed: int) -> torch.Generator:
    """A CPU `torch.Generator` seeded with `seed`: the one kind of generator the package makes itself."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} ({seed!r})")
    return torch.Generator().manual_seed(int(seed))


def draw_device(generator: torch.Generator | None, device: torch.device | str) -> torch.device:
    """Where random numbers are drawn: on `generator`'s device if one is given, else on `device`."""
    return torch.device(generator.device) if generator is not None else torch.device(device)


def randn(shape: Sequence[int] | torch.Size, *, device: torch.device | str, dtype: torch.dtype | None = None,
          generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard normal noise of `shape` on `device`, drawn by the package's one rule (module docstring)."""
    return torch.randn(tuple(shape), generator=generator, dtype=dtype,
                       device=draw_device(generator, device)).to(device)


def rand(shape: Sequence[int] | torch.Size, *, device: torch.device | str, dtype: torch.dtype | None = None,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform noise U[0, 1) of `shape` on `device`, drawn by the package's one rule."""
    return torch.rand(tuple(shape), generator=generator, dtype=dtype,
                      device=draw_device(generator, device)).to(device)


def randperm(n: int, *, device: torch.device | str = "cpu", generator: torch.Generator | None = None) -> torch.Tensor:
    """A random permutation of 0..n-1 on `device`, drawn by the package's one rule."""
    return torch.randperm(n, generator=generator, device=draw_device(generator, device)).to(device)


def check_shape(x: torch.Tensor, expected: Sequence[int | None], name: str = "x") -> None:
    """Raise a ValueError naming both shapes when `x` does not match `expected` (None = any size)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    shape = tuple(x.shape)
    ok = len(shape) == len(expected) and all(e is None or e == s for e, s in zip(expected, shape))
    if not ok:
        want = "(" + ", ".join("N" if i == 0 and e is None else ("*" if e is None else str(e))
                               for i, e in enumerate(expected)) + ")"
        raise ValueError(f"{name} must have shape {want}, got {shape}")


def check_integer_range(x: torch.Tensor, low: int, high: int, name: str = "x") -> None:
    """Raise a ValueError unless `x` holds integers in [low, high] (as integers or integer-valued floats)."""
    if x.numel() == 0 or x.device.type == "meta":   # a meta tensor has a shape but no values to check
        return
    if x.is_floating_point() and not torch.equal(x, x.round()):
        raise ValueError(f"{name} must hold integer levels {low}..{high}, got non-integer floats "
                         f"(min {x.min().item():.3g}, max {x.max().item():.3g}); pass the raw levels, not a float view")
    lo, hi = int(x.min().item()), int(x.max().item())
    if lo < low or hi > high:
        raise ValueError(f"{name} must hold integer levels {low}..{high}, got values in {lo}..{hi}")


def check_images(x: torch.Tensor, shape: Sequence[int], *, levels: int | None = None, floating: bool = False,
                 name: str = "x") -> torch.Tensor:
    """Check a batch of images (N, *shape) and return it: the one shape/level check of the models.

    `levels`: `x` must hold integer levels 0..levels-1 (an integer dtype or integer-valued
    floats); `floating=True`: `x` must be floating point (a float view). A flat (N, D) batch
    gets a hint to reshape it. Errors name what was expected and what came.
    """
    shape = tuple(int(s) for s in shape)
    expected = "(N, " + ", ".join(map(str, shape)) + ")"
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {expected}, got {type(x).__name__}")
    if x.dim() != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        dims = math.prod(shape)
        hint = (f" (flattened images? reshape them with x.view(-1, {', '.join(map(str, shape))}))"
                if x.dim() == 2 and x.shape[1] == dims else "")
        raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)}{hint}")
    if levels is not None:
        check_integer_range(x, 0, levels - 1, name)
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must hold floats (e.g. data.to_float of the levels), got {x.dtype}")
    return x


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", suffix: str = ".tmp") -> Iterator[IO]:
    """Write `path` all at once or not at all: yield a temporary file beside it, then fsync and
    `os.replace` it over `path`. On any error the temporary file is removed and `path` keeps its
    old content. Used for checkpoints, downloads, built notebooks and gradebooks."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    text = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    try:
        with os.fdopen(fd, mode, **text) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_markers(text: str, start: str, end: str, what: str) -> None:
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"{what} must hold one {start} line followed by one {end} line (each exactly once)")


def marked_section(text: str, start: str, end: str, what: str = "the text") -> str:
    """What stands between the `start` and `end` markers of `text` (generated tables in README.md),
    without the newline that follows `start`; a ValueError naming `what` unless each marker is
    there once, `start` first."""
    _check_markers(text, start, end, what)
    body = text.split(start, 1)[1].split(end, 1)[0]
    return body[1:] if body.startswith("\n") else body


def with_marked_section(text: str, start: str, end: str, body: str, what: str = "the text") -> str:
    """`text` with what stands between its `start` and `end` markers replaced by `body` (written
    after a newline following `start`); the same check as `marked_section`."""
    _check_markers(text, start, end, what)
    head, rest = text.split(start, 1)
    return f"{head}{start}\n{body}{end}{rest.split(end, 1)[1]}"


def resolve_cache_dir(path: str | os.PathLike | None = None) -> Path:
    """Where cached files (the evaluation classifier, trained lecture models) live: `path`,
    else `$COURSEKIT_CACHE`, else `~/.cache/coursekit`."""
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get("COURSEKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "coursekit"


def hash_tensor(h, t: torch.Tensor) -> None:
    """Feed a tensor's dtype, shape and bytes to the hashlib object `h` (for cache keys)."""
    t = t.detach().cpu().contiguous()
    h.update(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())   # raw bytes, for every dtype (bfloat16 too)
