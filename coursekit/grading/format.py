"""The authoring format of an exercise's source notebook, `solutions/NN_topic.ipynb`.

Every cell carries `metadata["coursekit"] = {"id": ..., "kind": ..., "points": ...}`:

- `id`: stable, unique in the notebook (letters, digits, `-`, `_`); points and answers are
  keyed to it, never to a cell's position.
- `kind`: `"answer"` (the student writes here), `"public-test"` (the student sees and runs it),
  `"hidden-test"` (only in the instructor's edition; it decides the grade), or `"locked"`
  (text or code the student reads and runs but does not change).
- `points`: for tests only, a positive number.

In answer cells the solution sits between two marker lines; the build replaces it with a stub
that raises NotImplementedError:

    def gaussian_kl(mu_q, sigma_q, mu_p, sigma_p):
        ### BEGIN SOLUTION
        return torch.log(sigma_p / sigma_q) + ...
        ### END SOLUTION
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["KINDS", "TEST_KINDS", "CellSpec", "FormatError", "cell_spec", "read_source", "specs",
           "solution_regions", "stub_source", "BEGIN", "END"]

KINDS = ("answer", "public-test", "hidden-test", "locked")
TEST_KINDS = ("public-test", "hidden-test")
BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")


class FormatError(ValueError):
    """A solution notebook does not follow the authoring format."""


@dataclass(frozen=True)
class CellSpec:
    id: str
    kind: str
    points: float = 0.0

    @property
    def is_test(self) -> bool:
        return self.kind in TEST_KINDS


def cell_spec(cell, where: str = "") -> CellSpec | None:
    """The cell's CellSpec, or None for a cell without coursekit metadata (only in submissions)."""
    meta = cell.get("metadata", {}).get("coursekit")
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise FormatError(f"{where}: metadata 'coursekit' must be a dict, got {type(meta).__name__}")
    cid, kind, points = meta.get("id"), meta.get("kind"), meta.get("points", 0)
    if not isinstance(cid, str) or not _ID.match(cid):
        raise FormatError(f"{where}: id must be a string of letters, digits, '-' and '_', got {cid!r}")
    if kind not in KINDS:
        raise FormatError(f"{where} ({cid}): kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(points, (int, float)) or isinstance(points, bool):
        raise FormatError(f"{where} ({cid}): points must be a number, got {points!r}")
    if kind in TEST_KINDS and not points > 0:
        raise FormatError(f"{where} ({cid}): a test needs points > 0, got {points!r}")
    if kind not in TEST_KINDS and points:
        raise FormatError(f"{where} ({cid}): only tests carry points, this {kind} cell has {points!r}")
    return CellSpec(cid, kind, float(points))


def specs(nb, where: str = "notebook") -> list[CellSpec]:
    """Every cell's spec, checking the format: all cells marked, ids unique, tests in code cells."""
    out, seen = [], set()
    for i, cell in enumerate(nb.cells):
        spec = cell_spec(cell, f"{where}, cell {i}")
        if spec is None:
            raise FormatError(f"{where}, cell {i} has no coursekit metadata (id, kind); every cell of a "
                              f"solution notebook needs it")
        if spec.id in seen:
            raise FormatError(f"{where}: the id {spec.id!r} is used by more than one cell")
        seen.add(spec.id)
        if spec.kind != "locked" and cell.cell_type != "code" and spec.kind != "answer":
            raise FormatError(f"{where}, cell {i} ({spec.id}): a {spec.kind} must be a code cell")
        if spec.kind == "answer" and cell.cell_type == "code":
            solution_regions(cell.source, f"{where}, cell {i} ({spec.id})")
        out.append(spec)
    if not any(s.is_test for s in out):
        raise FormatError(f"{where} has no test cell: nothing to grade")
    return out


def read_source(path: str | Path):
    """Read and validate a solution notebook; returns (notebook, specs)."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    return nb, specs(nb, str(path))


def solution_regions(source: str, where: str = "") -> list[str]:
    """The text between each BEGIN/END marker pair (the parts a release must never contain)."""
    regions, current = [], None
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if current is not None:
                raise FormatError(f"{where}: '{BEGIN}' inside another solution region")
            current = []
        elif stripped == END:
            if current is None:
                raise FormatError(f"{where}: '{END}' without a '{BEGIN}' before it")
            regions.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    if current is not None:
        raise FormatError(f"{where}: '{BEGIN}' without an '{END}'")
    return regions


def stub_source(source: str, cell_id: str) -> str:
    """Replace every solution region by a `raise NotImplementedError(...)` at the marker's indent."""
    lines, out, inside = source.splitlines(), [], False
    for line in lines:
        stripped = line.strip()
        if stripped == BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f'{indent}# YOUR CODE HERE (exercise "{cell_id}"): replace the next line')
            out.append(f'{indent}raise NotImplementedError("Exercise {cell_id!s} is not solved yet: write your '
                       f'code here, then run the tests below")')
            inside = True
        elif stripped == END:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)
