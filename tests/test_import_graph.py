"""The package's modules import each other without cycles, and the layers stay in order.

The graph is read statically from every module's `import` statements (module-level and
inside functions alike: a lazy import that closes a cycle is still a cycle), so the test sees
what a reader sees.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "coursekit"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an `ImportFrom` names (`from ..x import y` inside coursekit.a.b → coursekit.x)."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the nodes inside `if TYPE_CHECKING:` blocks: imports for annotations, never run."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def imports_of(name: str, path: Path) -> set[str]:
    """The coursekit modules `name` imports at run time (a name imported from a package counts as
    its submodule if one exists; imports under `if TYPE_CHECKING:` are for annotations only)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = type_checking_only(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("coursekit"))
        elif isinstance(node, ast.ImportFrom):
            target = resolve(name, path.name == "__init__.py", node)
            if not target.startswith("coursekit"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Edges from a submodule up to its own package's __init__ and back are how packages re-export;
    every other edge is kept. (A package's __init__ importing its submodules is not a cycle.)"""
    out = {}
    for node, targets in graph.items():
        out[node] = {t for t in targets if not node.startswith(t + ".")}
    return out


def test_the_graph_sees_the_modules():
    assert "coursekit.data.splits" in MODULES and "coursekit.training.loop" in MODULES
    assert "coursekit.data.splits" in GRAPH["coursekit.data.digits_8x8"]
    assert "coursekit.training.loop" in GRAPH["coursekit.evaluation.classifiers"] or \
        "coursekit.training" in GRAPH["coursekit.evaluation.classifiers"]


def test_type_checking_imports_are_not_run_time_imports():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .training import x\nimport coursekit.data\n")
    skip = type_checking_only(tree)
    kept = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in skip]
    assert [ast.unparse(n) for n in kept] == ["from typing import TYPE_CHECKING", "import coursekit.data"]


def test_find_cycle_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles():
    cycle = find_cycle(without_package_inits(GRAPH))
    assert cycle is None, "import cycle: " + " → ".join(cycle)


# Lower layers never import higher ones: utils < checkpoint/cache < data < models < training
# < evaluation < viz; grading stands apart (it imports only utils).
LAYERS = [
    ("coursekit.utils",),
    ("coursekit.checkpoint", "coursekit.cache", "coursekit.divergences"),
    ("coursekit.data",),
    ("coursekit.models",),
    ("coursekit.training",),
    ("coursekit.evaluation",),
    ("coursekit.viz",),
]


def layer_of(module: str) -> int | None:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    return None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_lower_layers_do_not_import_higher_ones(module):
    mine = layer_of(module)
    if mine is None:
        return
    higher = sorted(t for t in GRAPH[module] if (layer_of(t) or 0) > mine)
    assert not higher, f"{module} (layer {LAYERS[mine][0]}) imports {higher} from a higher layer"


def test_grading_imports_no_model_code():
    for name in MODULES:
        if name.startswith("coursekit.grading"):
            bad = sorted(t for t in GRAPH[name] if not t.startswith("coursekit.grading") and t != "coursekit.utils")
            assert not bad, f"{name} imports {bad}: the grader depends only on itself and coursekit.utils"
