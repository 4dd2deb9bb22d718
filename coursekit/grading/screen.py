"""What of a student's answer cell the verification run receives, and what is flagged for review.

The verification run (see `run.grade_notebook`) executes the tests in a fresh kernel that gets
only the student's *definitions*: functions, classes, imports and assignments of names. Every
other top-level statement (a call, a loop, a print, an attribute or item assignment, a hook
installed at import time) is dropped, so whatever it would have done to the kernel never
happens where the grade is decided.

Definitions still run code when a test calls them, so the whole cell (dropped statements
included) is also read for constructs that answer code has no business with: reaching the
kernel or the interpreter (`get_ipython`, `globals`, `sys`, frames, `gc`, `ctypes`),
rebinding or patching what the tests use (`global`, `setattr`, an attribute of a module set,
a name the tests read rebound), torch's override machinery, classes that subclass
numbers or tensors or define comparison operators, dunder attributes. Each is flagged, and a
flagged submission is `tampered` for the instructor to review. The list is deliberately
strict: honest answers to these exercises need none of it (a test checks every solution).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

__all__ = ["Screened", "screen_answer", "free_names", "defined_names", "ALLOWED_IMPORTS"]

ALLOWED_IMPORTS = ("math", "cmath", "numbers", "statistics", "random", "functools", "itertools", "collections",
                   "dataclasses", "typing", "enum", "fractions", "decimal", "copy", "re", "heapq", "bisect", "time",
                   "warnings", "numpy", "scipy", "sklearn", "matplotlib", "tqdm", "torch", "torchvision", "coursekit",
                   "IPython.display")
"""Modules an answer may import (with their submodules, less those in `_DENIED_MODULES`). Left out
on purpose: `operator` and `string` (attribute access from strings), `abc` (metaclasses), `os`,
`sys` and everything that reaches the interpreter, the kernel, processes, files or the network."""
_DENIED_MODULES = ("torch.overrides", "torch.library", "torch.utils.cpp_extension", "torch.testing", "torch.utils.hooks",
                   "numpy.ctypeslib", "numpy.testing", "coursekit.grading")
"""Modules (and their submodules) an answer may not import although their package is allowed;
private modules (a part starting with `_`) are refused too."""
_DENIED_NAMES = {
    "get_ipython": "the kernel's internals", "globals": "the notebook's namespace", "locals": "frames",
    "vars": "namespaces", "exec": "running code from text", "eval": "running code from text",
    "compile": "running code from text", "__import__": "hidden imports", "setattr": "patching objects",
    "delattr": "patching objects", "open": "files", "breakpoint": "the debugger", "input": "input",
    "memoryview": "raw memory", "__builtins__": "the builtins", "exit": "the interpreter", "quit": "the interpreter",
    "In": "the kernel's input history", "Out": "the kernel's output history", "_ih": "the kernel's history",
    "_oh": "the kernel's history", "_dh": "the kernel's history", "_i": "the kernel's history",
    "_ii": "the kernel's history", "_iii": "the kernel's history", "attrgetter": "attribute access from strings",
    "methodcaller": "attribute access from strings", "get_type_hints": "code from strings",
}
_DENIED_ATTRIBUTES = {
    "overrides": "torch's override machinery", "library": "torch's operator registry",
    "_C": "torch's internals", "input_transformers_cleanup": "the kernel", "input_transformers_post": "the kernel",
    "settrace": "tracing", "setprofile": "profiling", "f_globals": "frames",
    "f_locals": "frames", "f_back": "frames", "gi_frame": "frames", "tb_frame": "frames",
    "TorchFunctionMode": "torch's override machinery", "as_subclass": "tensors posing as other tensors",
    "os": "the operating system (e.g. torch.os)", "sys": "the interpreter (e.g. torch.sys)",
    "builtins": "the builtins", "subprocess": "processes", "get_ipython": "the kernel's internals",
    "ctypes": "raw memory", "gc": "the garbage collector", "inspect": "frames", "importlib": "hidden imports",
    "attrgetter": "attribute access from strings", "methodcaller": "attribute access from strings",
    "get_type_hints": "code from strings",
    "TorchDispatchMode": "torch's override machinery",
}
_ALLOWED_DUNDERS = {"__init__", "__call__", "__len__", "__getitem__", "__iter__", "__repr__", "__str__",
                    "__post_init__", "__name__", "__doc__", "__enter__", "__exit__", "__next__"}
_SUSPECT_BASES = {"float", "int", "bool", "complex", "str", "tuple", "list", "dict", "type", "Tensor", "ndarray",
                  "Parameter", "ModuleType", "TorchFunctionMode", "TorchDispatchMode"}
_ALIASES = {"np": "numpy", "plt": "matplotlib.pyplot", "F": "torch.nn.functional", "nn": "torch.nn", "sp": "scipy",
            "D": "torch.distributions", "dist": "torch.distributions"}
"""Conventional import aliases: `import numpy as np` binds np to what the setup cell binds it to."""
_KEPT = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
_SUSPECT_TEXT = re.compile(r"__[A-Za-z]\w*__|\b(get_ipython|input_transformers\w*|f_back|f_globals|tb_frame|"
                           r"builtins|subprocess|settrace|setprofile|_grader\w*)\b")
"""Text in a string (other than a docstring) that names a dunder or the kernel's internals: a way
to reach them through getattr, format strings or the like."""


@dataclass
class Screened:
    source: str                                       # what the verification run executes
    dropped: list[str] = field(default_factory=list)  # top-level statements it does not run
    flags: list[str] = field(default_factory=list)    # constructs for the instructor to review
    syntax_error: str = ""


def _ipython_to_python(source: str) -> str:
    """Cell magics and `!shell` lines as the Python IPython would run (calls on get_ipython())."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - IPython missing or confused: parse the text as it is
        return source


def free_names(source: str) -> set[str]:
    """Names a cell reads that it does not bind itself (at any level): what it takes from the
    notebook's namespace or the builtins."""
    try:
        tree = ast.parse(_ipython_to_python(source))
    except SyntaxError:
        return set()
    loaded, stored = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stored.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            stored |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.arg):
            stored.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            stored.add(node.name)
    return loaded - stored


def defined_names(source: str) -> set[str]:
    """The names a cell binds at its top level."""
    try:
        tree = ast.parse(_ipython_to_python(source))
    except SyntaxError:
        return set()
    return set().union(*(_bound(stmt) for stmt in tree.body)) if tree.body else set()


def _bound(stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _name_assignment(stmt) -> bool:
    """`x = ...`, `x: T = ...`, `a, b = ...`: assignments to plain names only."""
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets = [stmt.target]
    else:
        return False
    def plain(t):
        return isinstance(t, ast.Name) or (isinstance(t, (ast.Tuple, ast.List)) and all(plain(e) for e in t.elts))
    return all(plain(t) for t in targets)


def _module_allowed(name: str) -> bool:
    parts = name.split(".")
    listed = any(name == a or name.startswith(a + ".") for a in ALLOWED_IMPORTS)
    return (listed and not any(p.startswith("_") for p in parts)
            and not any(name == d or name.startswith(d + ".") for d in _DENIED_MODULES))


class _Flagger(ast.NodeVisitor):
    def __init__(self, protected: set[str], docstrings: set[int] = frozenset()):
        self.flags: list[str] = []
        self.protected = protected
        self.docstrings = docstrings
        self.scopes: list[set[str]] = []   # names local to each enclosing function
        self.imported: dict[str, str] = {}   # `from torch import Tensor as Base`: Base -> Tensor
        self.aliases: set[str] = set()       # top-level names bound by assignment (T = torch.Tensor)

    def flag(self, node, what: str) -> None:
        self.flags.append(f"line {getattr(node, 'lineno', '?')}: {what}")

    def visit_Import(self, node):
        for a in node.names:
            if not _module_allowed(a.name):
                self.flag(node, f"imports {a.name} (answers may import {', '.join(ALLOWED_IMPORTS[:6])}, ..., "
                                f"torch, numpy, coursekit)")
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        for a in node.names:
            self.imported[a.asname or a.name] = a.name
        if node.level or not _module_allowed(module):
            self.flag(node, f"imports from {'.' * node.level}{module}")
        for a in node.names:
            if a.name.startswith("_") or a.name in _DENIED_ATTRIBUTES or a.name in _DENIED_NAMES:
                self.flag(node, f"imports {a.name} from {module}")
            elif not node.level and module and not _module_allowed(f"{module}.{a.name}"):
                self.flag(node, f"imports {module}.{a.name}")
        self.generic_visit(node)

    def _local(self, node) -> bool:
        """Whether the object an attribute chain starts from is a name local to the function (or to
        an enclosing one: a closure); at the top level, an object the cell itself made."""
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            node = node.func if isinstance(node, ast.Call) else node.value
        if not isinstance(node, ast.Name) or not self.scopes:
            return False
        scopes = self.scopes[1:] if len(self.scopes) > 1 else self.scopes
        return any(node.id in scope for scope in scopes)

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Name) and f.id == "getattr" and len(node.args) >= 2:
            name = node.args[1]
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                self.flag(node, "getattr with a computed name")
            elif name.value.startswith("_"):
                self.flag(node, f"getattr of {name.value}")
        if isinstance(f, ast.Name) and f.id == "type" and len(node.args) == 3:
            self.flag(node, "makes a class at run time with type(name, bases, namespace)")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in _DENIED_NAMES and len(self.scopes) > 1 and any(node.id in sc for sc in self.scopes[1:]):
            pass   # a local variable of that name (PyTorch's own `forward(self, input)`)
        elif node.id in _DENIED_NAMES:
            self.flag(node, f"uses {node.id} ({_DENIED_NAMES[node.id]})")
        elif node.id.startswith("__") and node.id.endswith("__") and node.id not in _ALLOWED_DUNDERS:
            self.flag(node, f"uses {node.id}")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        attr = node.attr
        if attr == "__name__" and isinstance(node.value, ast.Attribute) and node.value.attr == "__class__":
            self.visit(node.value.value)   # `self.__class__.__name__`, as in a __repr__
            return
        if attr == "ops" and isinstance(node.value, ast.Name) and node.value.id == "torch":
            self.flag(node, "uses torch.ops (torch's operators)")
        if attr.startswith("__") and attr.endswith("__") and attr not in _ALLOWED_DUNDERS:
            self.flag(node, f"uses the attribute {attr}")
        elif attr.startswith("_") and not attr.startswith("__") and not self._local(node.value):
            self.flag(node, f"uses the private attribute {attr} of a shared object")
        elif _DENIED_ATTRIBUTES.get(attr):
            self.flag(node, f"uses .{attr} ({_DENIED_ATTRIBUTES[attr]})")
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            if not self._local(node.value):
                self.flag(node, f"sets the attribute {attr} of {ast.unparse(node.value)[:40]}, which is not a "
                                f"local object (patching a module or a shared object)")
        self.generic_visit(node)

    def visit_NamedExpr(self, node):
        name = node.target.id
        if name in self.protected or name in _DENIED_NAMES:
            self.flag(node, f"rebinds {name} with :=, a name the exercise's own cells or the grader use")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and id(node) not in self.docstrings:
            hit = _SUSPECT_TEXT.search(node.value)
            if hit:
                self.flag(node, f"a string names {hit.group(0)}")

    def visit_Global(self, node):
        self.flag(node, f"declares {', '.join(node.names)} global (rebinding notebook names from a function)")

    def visit_FunctionDef(self, node):
        local = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                local.add(sub.id)
        for deco in node.decorator_list:
            self.visit(deco)
        self.scopes.append(local)
        for stmt in node.body:
            self.visit(stmt)
        self.scopes.pop()
        if node.args.defaults or node.args.kw_defaults:
            for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                self.visit(d)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self.scopes.append({a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)})
        self.visit(node.body)
        self.scopes.pop()

    def visit_ClassDef(self, node):
        for base in node.bases:
            name = base.attr if isinstance(base, ast.Attribute) else base.id if isinstance(base, ast.Name) else ""
            real = self.imported.get(name, name) if isinstance(base, ast.Name) else name
            if real in _SUSPECT_BASES or name in _SUSPECT_BASES:
                self.flag(node, f"class {node.name} subclasses {real} (a value that can pose as a number or a tensor)")
            elif isinstance(base, ast.Name) and name in self.aliases:
                self.flag(node, f"class {node.name} subclasses {name}, a name assigned in the cell (an alias of a class)")
            elif not isinstance(base, (ast.Name, ast.Attribute)):
                self.flag(node, f"class {node.name} has a computed base class")
        for kw in node.keywords:
            self.flag(node, f"class {node.name} passes {kw.arg}= to its class creation")
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name.startswith("__") \
                    and stmt.name.endswith("__") and stmt.name not in _ALLOWED_DUNDERS:
                self.flag(stmt, f"class {node.name} defines {stmt.name}")
        self.generic_visit(node)


_MAGIC_CALLS = ("run_line_magic", "run_cell_magic", "system", "getoutput")


def _is_magic(stmt) -> bool:
    """A top-level statement IPython made from a %magic or !command line:
    `get_ipython().run_line_magic(...)` (or `x = get_ipython().getoutput(...)`)."""
    value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in _MAGIC_CALLS
            and isinstance(value.func.value, ast.Call) and isinstance(value.func.value.func, ast.Name)
            and value.func.value.func.id == "get_ipython" and not value.func.value.args)


def _expand_timing_magics(body: list) -> list:
    """`%%time`, `%%timeit`, `%%capture` cells and `%time`/`%timeit` lines run their code: that code
    is the answer (an honest student timing a definition keeps it)."""
    out = []
    for stmt in body:
        code = None
        if _is_magic(stmt) and isinstance(stmt, ast.Expr):
            name, args = stmt.value.func.attr, stmt.value.args
            texts = [a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if len(texts) == len(args):
                if name == "run_cell_magic" and len(texts) == 3 and texts[0] in ("time", "timeit", "capture"):
                    code = texts[2]
                elif name == "run_line_magic" and len(texts) == 2 and texts[0] in ("time", "timeit"):
                    code = texts[1]
        if code is None:
            out.append(stmt)
            continue
        try:
            out += _expand_timing_magics(ast.parse(_ipython_to_python(code)).body)
        except SyntaxError:
            out.append(stmt)
    return out


def _top_level_stores(tree) -> set[str]:
    """Names bound at the top level of a cell, outside any function or class body."""
    found, todo = set(), list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        todo.extend(ast.iter_child_nodes(node))
    return found


def _same_binding(stmt, name: str) -> bool:
    """Whether an import binds `name` to what its name says (`import torch`, `import torch.nn as
    nn`, `from math import log`, `import numpy as np`): the same object the setup cell bound."""
    if isinstance(stmt, ast.Import):
        for a in stmt.names:
            bound = a.asname or a.name.split(".")[0]
            if bound == name:
                return (a.asname is None or a.name.split(".")[-1] == a.asname
                        or _ALIASES.get(a.asname) == a.name)
    if isinstance(stmt, ast.ImportFrom):
        for a in stmt.names:
            if (a.asname or a.name) == name:
                return a.asname is None or a.asname == a.name or _ALIASES.get(a.asname) == f"{stmt.module}.{a.name}"
    return False


def screen_answer(source: str, protected: set[str] = frozenset()) -> Screened:
    """The definitions of one answer cell, what was dropped, and what is flagged.

    `protected`: names the tests read from the notebook (helpers, modules, setup variables,
    builtins) that the answer must not rebind; a top-level binding of one is flagged (a plain
    `import torch` binds `torch` to itself and is fine)."""
    python = _ipython_to_python(source)
    try:
        tree = ast.parse(python)
    except SyntaxError as err:
        return Screened("", [f"the cell has a syntax error (line {err.lineno}: {err.msg}); nothing of it was run"],
                        [], syntax_error=f"line {err.lineno}: {err.msg}")
    tree.body = _expand_timing_magics(tree.body)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    flagger = _Flagger(set(protected), docstrings)
    flagger.aliases = {n for stmt in tree.body if _name_assignment(stmt) for n in _bound(stmt)}
    # names the cell itself binds at its top level (assignments, loop targets) are its own objects:
    # setting their attributes is no patch (`x = torch.zeros(3)` then `x.requires_grad = True`)
    flagger.scopes.append(_top_level_stores(tree))
    for stmt in tree.body:
        if not _is_magic(stmt):   # a %magic or !command line: dropped below, not suspicious
            flagger.visit(stmt)
    kept, dropped = [], []
    for stmt in tree.body:
        if _is_magic(stmt):
            dropped.append(f"line {stmt.lineno}: a %magic or !command")
        elif isinstance(stmt, _KEPT) or _name_assignment(stmt):
            kept.append(stmt)
            for name in sorted(_bound(stmt) & set(_DENIED_NAMES)):
                flagger.flag(stmt, f"defines {name}, a name the grader relies on")
            for name in sorted(_bound(stmt) & set(protected)):
                if not _same_binding(stmt, name):
                    flagger.flag(stmt, f"rebinds {name}, a name the exercise's own cells use")
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue   # a docstring or a bare constant
        elif not isinstance(stmt, ast.Pass):
            dropped.append(f"line {stmt.lineno}: {ast.unparse(stmt).splitlines()[0][:60]}")
    return Screened(ast.unparse(ast.Module(body=kept, type_ignores=[])) + "\n" if kept else "", dropped,
                    flagger.flags)
