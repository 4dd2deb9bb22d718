"""Build the student notebooks from the solution sources, and the student release.

    coursekit build                  # solutions/*.ipynb → exercises/*.ipynb
    coursekit release --out DIR      # lectures, coursekit, exercises, README: no solutions, no hidden tests
"""
from __future__ import annotations

import copy
import fnmatch
import shutil
from pathlib import Path

import nbformat

from ..utils import atomic_write
from .format import CellSpec, read_source, solution_regions, stub_source

__all__ = ["build_exercise", "build_all", "out_of_date", "release", "RELEASE_INCLUDE", "secrets_of"]


def build_exercise(source_nb, source_specs: list[CellSpec], keep_solutions: bool = False):
    """The student notebook: solutions stubbed, hidden tests removed, outputs cleared, locked cells locked.

    With `keep_solutions` the answers stay solved: what a perfect student would submit (for
    the grader's own tests and benchmarks)."""
    nb = copy.deepcopy(source_nb)
    cells = []
    for cell, spec in zip(nb.cells, source_specs):
        if spec.kind == "hidden-test":
            continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if spec.kind == "answer" and not keep_solutions:
                cell.source = stub_source(cell.source, spec.id)
        editable = spec.kind == "answer"
        cell.metadata["editable"] = editable
        cell.metadata["deletable"] = editable
        cell.metadata.pop("id", None)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb


def _write_atomic(nb, path: Path) -> None:
    with atomic_write(path, "w") as f:
        nbformat.write(nb, f)


def _exercise_text(nb) -> str:
    return nbformat.writes(nb)


def build_all(solutions: Path, exercises: Path) -> list[Path]:
    """Write exercises/NN_topic.ipynb for every solutions/NN_topic.ipynb; returns the paths written."""
    written = []
    for source in sorted(Path(solutions).glob("[0-9]*.ipynb")):
        nb, source_specs = read_source(source)
        target = Path(exercises) / source.name
        _write_atomic(build_exercise(nb, source_specs), target)
        written.append(target)
    return written


def out_of_date(solutions: Path, exercises: Path) -> list[str]:
    """The exercise notebooks that are missing or differ from what `build_all` would write."""
    stale = []
    for source in sorted(Path(solutions).glob("[0-9]*.ipynb")):
        nb, source_specs = read_source(source)
        target = Path(exercises) / source.name
        expected = _exercise_text(build_exercise(nb, source_specs))
        if not target.is_file() or target.read_text(encoding="utf-8").rstrip("\n") != expected.rstrip("\n"):
            stale.append(str(target))
    return stale


# --- the student release -----------------------------------------------------------------

RELEASE_INCLUDE = ["README.md", "LICENSE", "pyproject.toml", "environment.yml", "postBuild", "Makefile", "jupytext.toml",
                   "scripts", "coursekit", "notebooks", "exercises"]
"""What a student gets. Not: solutions/, tests/ (they read the solutions), benchmarks/, .ci/."""
_IGNORE = ["__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", ".pytest_cache"]


def secrets_of(solutions: Path) -> list[tuple[str, str]]:
    """(where, text) for every solution region and hidden-test body: what a release must not contain."""
    secrets = []
    for source in sorted(Path(solutions).glob("[0-9]*.ipynb")):
        nb, source_specs = read_source(source)
        for cell, spec in zip(nb.cells, source_specs):
            where = f"{source.name}:{spec.id}"
            if spec.kind == "hidden-test":
                secrets.append((where, cell.source.strip()))
            elif spec.kind == "answer" and cell.cell_type == "code":
                secrets += [(where, region.strip()) for region in solution_regions(cell.source) if region.strip()]
    return secrets


def release(root: Path, out: Path) -> Path:
    """Copy the student edition of the course at `root` into `out` (which must not exist yet).

    The exercises are rebuilt first, so the release never carries stale ones; then every file
    of the release is searched for every solution region and hidden-test body.
    """
    root, out = Path(root).resolve(), Path(out).resolve()
    if out.exists():
        raise FileExistsError(f"{out} already exists: give a new folder for the release, nothing is overwritten")
    if (out == root or root in out.parents) and out.parent != root:
        raise ValueError(f"the release folder {out} must be outside the course at {root}, or directly in it "
                         f"(e.g. ./release, which git and pytest ignore)")
    build_all(root / "solutions", root / "exercises")
    out.mkdir(parents=True)
    for name in RELEASE_INCLUDE:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, out / name, ignore=shutil.ignore_patterns(*_IGNORE))
        elif src.is_file():
            shutil.copy2(src, out / name)
    leaks = find_leaks(out, secrets_of(root / "solutions"))
    if leaks:
        shutil.rmtree(out)
        raise RuntimeError("the release would contain solutions or hidden tests, so it was not written: "
                           + "; ".join(f"{what} in {where}" for what, where in leaks))
    return out


def find_leaks(folder: Path, secrets: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(secret, file) for every secret text found in a file under `folder` (whitespace-normalised)."""
    def norm(text: str) -> str:
        return " ".join(text.split())

    wanted = [(where, norm(text)) for where, text in secrets if norm(text)]
    leaks = []
    for path in Path(folder).rglob("*"):
        if not path.is_file() or any(fnmatch.fnmatch(part, pat) for part in path.parts for pat in _IGNORE):
            continue
        try:
            content = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        haystacks = [norm(content)]
        if path.suffix == ".ipynb":  # notebooks store sources as JSON string lists: search the cells too
            try:
                haystacks += [norm(c.source) for c in nbformat.reads(content, as_version=4).cells]
            except Exception:  # not a notebook after all: the raw text was searched already
                pass
        for where, text in wanted:
            if any(text in hay for hay in haystacks):
                leaks.append((where, str(path.relative_to(folder))))
    return leaks
