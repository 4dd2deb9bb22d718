"""Grade one submission: rebuild it from the source, execute it with nbval, score it by cell id.

The notebook that runs is built from the solution source, never from the submission: the
student's answer cells are spliced in by id, and every other cell (tests, public and hidden,
and locked cells) comes from the source. So an edited, deleted, moved, duplicated or re-tagged
test cannot change a score; each such change is reported. Cells the student added are not
run (the exercise says: all code goes in the answer cells).
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .build import build_exercise
from .format import CellSpec, FormatError, cell_spec

__all__ = ["TestResult", "Result", "splice", "execute", "grade_notebook"]

PREAMBLE = """\
# Added by the grader: fixed seeds, no display.
import os as _os, random as _random
_os.environ.setdefault("MPLBACKEND", "Agg")
_random.seed(0)
try:
    import numpy as _np; _np.random.seed(0)
except ImportError:
    pass
try:
    import torch as _torch; _torch.manual_seed(0)
except ImportError:
    pass
"""


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    id: str
    kind: str
    points: float
    max_points: float
    passed: bool
    message: str = ""


@dataclass
class Result:
    """One student's result on one exercise."""

    exercise: str
    status: str = "ok"  # ok | timeout | crash | invalid | error
    tests: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    log: str = ""  # the run's pytest output, for the instructor only (it can show hidden tests)

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_points(self) -> float:
        return sum(t.max_points for t in self.tests)


def splice(source_nb, source_specs: list[CellSpec], submission) -> tuple[object, list[str]]:
    """The notebook to run: the source with the submission's answer cells put in by id.

    Returns (notebook, notes). A missing answer keeps the exercise's stub; for a duplicated
    answer the first copy is used. Every difference in the other cells is reported only.
    """
    notes: list[str] = []
    by_id: dict[str, list] = {}
    extra = 0
    for i, cell in enumerate(submission.cells):
        try:
            spec = cell_spec(cell, f"cell {i}")
        except FormatError as err:
            notes.append(f"cell {i} has damaged grading metadata ({err}); it was ignored")
            continue
        if spec is None:
            extra += cell.cell_type == "code"
            continue
        by_id.setdefault(spec.id, []).append((cell, spec))
    if extra:
        notes.append(f"{extra} code cell(s) you added outside the answer cells were not run (put all code in "
                     f"the answer cells)")
    source_ids = {s.id for s in source_specs}
    for unknown in sorted(set(by_id) - source_ids):
        notes.append(f"cell id {unknown!r} is not part of this exercise; it was ignored")

    stubs = {s.id: c for c, s in zip(build_exercise(source_nb, source_specs).cells,
                                     [s for s in source_specs if s.kind != "hidden-test"])}
    cells = []
    for cell, spec in zip(source_nb.cells, source_specs):
        found = by_id.get(spec.id, [])
        if len(found) > 1:
            notes.append(f"cell {spec.id!r} appears {len(found)} times; only the first was used")
        if spec.kind == "answer":
            if not found:
                notes.append(f"answer cell {spec.id!r} is missing; it counts as not answered")
                cells.append(copy.deepcopy(stubs[spec.id]))
                continue
            got_cell, got_spec = found[0]
            if got_spec.kind != "answer":
                notes.append(f"answer cell {spec.id!r} was re-tagged as {got_spec.kind!r}; it was used as an answer")
            new = copy.deepcopy(cell)
            new.source = got_cell.source
            new.outputs, new.execution_count = [], None
            cells.append(new)
            continue
        if spec.kind != "hidden-test":
            if not found:
                notes.append(f"{spec.kind} cell {spec.id!r} was deleted; the original was run")
            else:
                got_cell, got_spec = found[0]
                if got_spec != spec:
                    notes.append(f"{spec.kind} cell {spec.id!r} had its metadata changed to {got_spec.kind!r}, "
                                 f"{got_spec.points:g} points; the original was run")
                if got_cell.source.strip() != cell.source.strip():
                    notes.append(f"{spec.kind} cell {spec.id!r} was edited; the original was run")
                tags = got_cell.get("metadata", {}).get("tags", [])
                if set(tags) & {"raises-exception", "skip-execution", "nbval-skip", "nbval-ignore-output"}:
                    notes.append(f"{spec.kind} cell {spec.id!r} was tagged {tags}; the tags were ignored")
        elif found:
            notes.append(f"a cell claims the hidden test id {spec.id!r}; it was ignored")
        new = copy.deepcopy(cell)
        new.metadata.pop("tags", None)
        if new.cell_type == "code":
            new.outputs, new.execution_count = [], None
        cells.append(new)
    expected = [s.id for s in source_specs if s.kind not in ("answer", "hidden-test")]
    present = [cid for cid in by_id if cid in expected]  # dicts keep the submission's order
    if present != [cid for cid in expected if cid in by_id]:
        notes.append("test or locked cells were moved; the original order was run")
    nb = copy.deepcopy(source_nb)
    nb.cells = cells
    return nb, notes


def execute(nb, workdir: Path, cell_timeout: int = 60, python: str = sys.executable) -> tuple[dict, str, int]:
    """Run `nb` under nbval in a fresh process inside `workdir`; returns (per-cell report, log, exit code).

    A grader-owned first cell fixes the seeds. The report maps each code cell's number (as
    nbval counts them, starting after the preamble) to its outcome and the kernel's reply.
    """
    workdir = Path(workdir)
    nb = copy.deepcopy(nb)
    nb.cells.insert(0, nbformat.v4.new_code_cell(PREAMBLE))
    nb_path = workdir / "submission.ipynb"
    nbformat.write(nb, nb_path)
    (workdir / "pytest.ini").write_text("[pytest]\n")
    report = workdir / "report.json"
    cmd = [python, "-m", "pytest", "-p", "coursekit.grading.nbval_status", "-p", "no:cacheprovider",
           "--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={cell_timeout}", "-c", str(workdir / "pytest.ini"),
           "--rootdir", str(workdir), "-q", "--no-header", "-rN", f"--grading-report={report}", str(nb_path)]
    env = {**os.environ, "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    results = json.loads(report.read_text()) if report.is_file() else {}
    # nbval numbers code cells from 0; shift past the preamble
    shifted = {int(k) - 1: v for k, v in results.items() if int(k) >= 1}
    return shifted, proc.stdout[-20000:] + proc.stderr[-20000:], proc.returncode


def grade_notebook(source_nb, source_specs: list[CellSpec], submission_path: Path, exercise: str,
                   cell_timeout: int = 60) -> Result:
    """Score one submitted notebook against its source; never raises for a bad submission."""
    result = Result(exercise)
    try:
        submission = nbformat.read(submission_path, as_version=4)
    except Exception as err:  # not JSON, not a notebook, empty: the submission scores 0
        result.status = "invalid"
        result.notes.append(f"the submission could not be read as a notebook ({type(err).__name__}: "
                            f"{str(err).splitlines()[0][:200] if str(err) else ''})")
        submission = None
    if submission is not None:
        nb, notes = splice(source_nb, source_specs, submission)
        result.notes += notes
        with tempfile.TemporaryDirectory(prefix="coursekit-grade-") as tmp:
            cells, result.log, code = execute(nb, Path(tmp), cell_timeout=cell_timeout)
        if not cells:
            result.status = "error"
            result.notes.append(f"the grader could not run the notebook (pytest exit {code}); this is not "
                                f"charged to you, your instructor has the log")
    else:
        cells = {}
    code_index = {}
    n = 0
    for cell, spec in zip(source_nb.cells, source_specs):
        if cell.cell_type == "code":
            code_index[spec.id] = n
            n += 1
    for cell, spec in zip(source_nb.cells, source_specs):
        if not spec.is_test:
            continue
        outcome = cells.get(code_index[spec.id], {})
        passed = outcome.get("outcome") == "passed"
        if outcome.get("ename") == "KeyboardInterrupt" and result.status == "ok":
            result.status = "timeout"
        if outcome and not outcome.get("kernel_alive", True) and result.status == "ok":
            result.status = "crash"
        result.tests.append(TestResult(spec.id, spec.kind, spec.points if passed else 0.0, spec.points, passed,
                                       "" if passed else outcome.get("message", "not run")))
    return result
