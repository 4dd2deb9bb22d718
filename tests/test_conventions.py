"""The conventions of `STYLE.md` that a test can see, checked on the source of every file in `coursekit/`.

Each rule reads a file's syntax tree (`ast`), so strings, comments and docstrings that merely
mention a pattern do not count, and names the line it objects to:

- `cuda_call`: no `.cuda(...)` call (the device follows the data; `torch.cuda.is_available()`
  and `device.type == "cuda"` are fine);
- `cuda_literal`: no device string "cuda:0" (any "cuda:<N>" written out as a whole string);
- `inplace_weight_masking`: no masking of weights behind autograd's back: anywhere, an in-place
  `*=`, `mul_`, `masked_fill_` or `[...] =` on `.data` (`w.data *= m`, `w.data[m == 0] = 0`);
  inside a `forward`, the same on an attribute named like a weight (`self.weight.mul_(m)`).
  Masks are applied functionally, `F.linear(x, self.weight * self.mask)`; scaling a weight
  in place at initialisation (`with torch.no_grad(): self.weight.mul_(0.1)` in `__init__`) is fine;
- `torch_load_without_weights_only`: every `torch.load(...)` passes `weights_only=True`;
- `pyplot_import`: the package never imports `matplotlib.pyplot` (figures are built without it);
- `infinity_stand_in`: no negative literal of magnitude ≥ 1e4 (`-9e15`, `-1e9`) standing in for
  −∞ in a mask: write `float("-inf")` (or `torch.finfo(dtype).min` where −∞ cannot be used);
- `broad_except_print`: no bare `except:` / `except Exception` / `except BaseException` that
  prints and carries on (`except Exception: print(...)`): fail loudly, or catch what you expect.

Every rule has a self-test on snippets it must flag and snippets it must let through, so each
test here can fail. The lecture/source pairing is `tests/test_notebook_sources.py`'s job.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Callable, Iterator

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "coursekit"
SOURCES = sorted(PACKAGE.rglob("*.py"))

Finding = tuple[int, str]


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def cuda_call(tree: ast.AST) -> Iterator[Finding]:
    for call in _calls(tree):
        if isinstance(call.func, ast.Attribute) and call.func.attr == "cuda":
            yield call.lineno, ".cuda() hard-codes the device: use .to(device) with the data's device"


def cuda_literal(tree: ast.AST) -> Iterator[Finding]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"cuda:\d+", node.value):
            yield node.lineno, f"{node.value!r} hard-codes the device: follow the data's device"


_MASKING_OPS = {"mul_", "masked_fill_", "masked_scatter_", "__imul__"}


def inplace_weight_masking(tree: ast.AST) -> Iterator[Finding]:
    in_forward = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                  and f.name == "forward" for n in ast.walk(f)}

    def weight_storage(node: ast.AST, where: ast.AST) -> bool:
        """`<anything>.data` anywhere; an attribute named like a weight (`self.weight`) inside forward."""
        return isinstance(node, ast.Attribute) and (
            node.attr == "data" or (id(where) in in_forward and "weight" in node.attr.lower()))

    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Mult):
            target = node.target.value if isinstance(node.target, ast.Subscript) else node.target
            if weight_storage(target, node):
                yield node.lineno, "in-place `*=` on a weight or .data: multiply by the mask inside forward instead"
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute)
                        and target.value.attr == "data"):
                    yield node.lineno, "assignment into .data[...] bypasses autograd: mask functionally"
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MASKING_OPS
              and weight_storage(node.func.value, node)):
            yield node.lineno, f".{node.func.attr}() on a weight or .data masks it in place: mask functionally"


def torch_load_without_weights_only(tree: ast.AST) -> Iterator[Finding]:
    for call in _calls(tree):
        if (isinstance(call.func, ast.Attribute) and call.func.attr == "load"
                and isinstance(call.func.value, ast.Name) and call.func.value.id == "torch"):
            safe = any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                       for k in call.keywords)
            if not safe:
                yield call.lineno, "torch.load without weights_only=True unpickles arbitrary objects"


def pyplot_import(tree: ast.AST) -> Iterator[Finding]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "matplotlib.pyplot" for a in node.names):
            yield node.lineno, "import matplotlib.pyplot: build figures with matplotlib.figure.Figure"
        elif isinstance(node, ast.ImportFrom) and (node.module == "matplotlib.pyplot" or (
                node.module == "matplotlib" and any(a.name == "pyplot" for a in node.names))):
            yield node.lineno, "pyplot imported: build figures with matplotlib.figure.Figure"


def infinity_stand_in(tree: ast.AST) -> Iterator[Finding]:
    for node in ast.walk(tree):
        if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)
                and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool)
                and abs(node.operand.value) >= 1e4):
            yield node.lineno, f"-{node.operand.value!r} stands in for −∞: write float('-inf')"


def broad_except_print(tree: ast.AST) -> Iterator[Finding]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler):
            names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            broad = node.type is None or any(isinstance(n, ast.Name) and n.id in ("Exception", "BaseException")
                                             for n in names)
            inside = [n for stmt in node.body for n in ast.walk(stmt)]
            prints = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
                         for n in inside)
            if broad and prints and not any(isinstance(n, ast.Raise) for n in inside):
                yield node.lineno, "a broad except that prints and carries on hides the error: raise it"


RULES: dict[str, Callable[[ast.AST], Iterator[Finding]]] = {
    rule.__name__: rule for rule in (cuda_call, cuda_literal, inplace_weight_masking, torch_load_without_weights_only,
                                     pyplot_import, infinity_stand_in, broad_except_print)
}


def findings(rule: Callable[[ast.AST], Iterator[Finding]], source: str) -> list[Finding]:
    return sorted(rule(ast.parse(source)))


def test_the_package_has_sources():
    assert len(SOURCES) > 20 and PACKAGE / "models" / "base.py" in SOURCES


@pytest.mark.parametrize("rule", RULES)
def test_package_follows(rule):
    problems = [f"{path.relative_to(PACKAGE.parent)}:{line}: {message}"
                for path in SOURCES for line, message in findings(RULES[rule], path.read_text(encoding="utf-8"))]
    assert not problems, "\n".join(problems)


# --- every rule can fail: snippets it must flag, and look-alikes it must let through --------------

FLAGGED = {
    "cuda_call": ["x = x.cuda()", "model.cuda(0)", "net = Net().cuda()"],
    "cuda_literal": ["x = x.to('cuda:0')", "torch.zeros(3, device=\"cuda:1\")"],
    "inplace_weight_masking": [
        "self.weight.data *= self.mask",
        "layer.weight.data[mask == 0] = 0",
        "w.data.mul_(mask)",
        "def forward(self, x):\n    with torch.no_grad():\n        self.weight.mul_(self.mask)\n    return x",
        "self.conv.weight.data.masked_fill_(~mask, 0.0)",
        "def forward(self, x):\n    self.conv.weight *= self.mask\n    return self.conv(x)",
    ],
    "torch_load_without_weights_only": ["state = torch.load(path)", "torch.load(f, weights_only=False)",
                                        "torch.load(f, map_location='cpu')"],
    "pyplot_import": ["import matplotlib.pyplot as plt", "from matplotlib import pyplot",
                      "from matplotlib.pyplot import subplots"],
    "infinity_stand_in": ["scores = scores.masked_fill(~mask, -9e15)", "att[mask] = -1e9", "x = -1e10"],
    "broad_except_print": ["try:\n    f()\nexcept Exception:\n    print('oops')",
                           "try:\n    f()\nexcept:\n    print('failed')\n    x = None",
                           "try:\n    f()\nexcept (ValueError, BaseException) as e:\n    print(e)"],
}

ALLOWED = {
    "cuda_call": ["if torch.cuda.is_available():\n    n = torch.cuda.device_count()", "x = x.to(device)"],
    "cuda_literal": ["ok = device.type == 'cuda'", "msg = 'use cuda:0 only in notebooks'", "d = torch.device('cuda')"],
    "inplace_weight_masking": [
        "return F.linear(x, self.weight * self.mask, self.bias)",
        "with torch.no_grad():\n    self.mask.copy_(mask)",
        "self.log_pi.copy_(log_pi)",
        "mask[:, :, c, c + 1:] = 0",
        "total *= 2",
        "weights *= mask",
        "def __init__(self):\n    with torch.no_grad():\n        self.weight.mul_(0.1)",
    ],
    "torch_load_without_weights_only": ["payload = torch.load(path, map_location=dev, weights_only=True)",
                                        "data = json.load(f)"],
    "pyplot_import": ["from matplotlib.figure import Figure", "pyplot = sys.modules.get('matplotlib.pyplot')"],
    "infinity_stand_in": ["scores = scores.masked_fill(~mask, float('-inf'))", "lo = -30.0",
                          "h = 'd53e105ee54ea40749a09fcbcd1e9432'", "eps = 1e-9", "big = 1e9"],
    "broad_except_print": ["try:\n    f()\nexcept Exception as err:\n    print(err)\n    raise",
                           "try:\n    f()\nexcept BaseException:\n    cleanup()\n    raise",
                           "try:\n    f()\nexcept KeyError:\n    print('no key')"],
}


@pytest.mark.parametrize("rule", RULES)
def test_rule_flags_what_it_forbids(rule):
    assert set(FLAGGED) == set(RULES) == set(ALLOWED)
    for snippet in FLAGGED[rule]:
        assert findings(RULES[rule], snippet), f"{rule} missed: {snippet!r}"
    for snippet in ALLOWED[rule]:
        assert not findings(RULES[rule], snippet), f"{rule} flagged an allowed form: {snippet!r}"
