"""The gradebook of a class run: the results kept as data, and the files an LMS imports.

A run of `coursekit grade ... --out OUT` writes, all atomically:

- `OUT/results.json`: every student's result per exercise and per test (the record the other
  files are made from; a re-grade of some students is merged into it);
- `OUT/gradebook.csv`: one row per student, per exercise and per test (wide, for a spreadsheet);
- `OUT/grades_long.csv`: one row per student, exercise and test (long, for any importer or
  pandas): `student_id, exercise, test, kind, points, max_points, passed, status`;
- `OUT/canvas.csv`: Canvas's gradebook import format (`Student, ID, SIS User ID, SIS Login ID,
  Section`, a `Points Possible` row, one column per exercise). With a roster (the CSV that
  Canvas's *Grades → Export* gives; kept as `OUT/roster.csv` for later runs) the identity
  columns and the assignment columns' names come from it, so the import updates the existing
  assignments of the students it matches. After a re-grade, `OUT/canvas_regraded.csv` holds
  the re-graded students' rows alone.

Before a merge replaces the gradebook, the previous files are kept in `OUT/history/`.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from ..utils import atomic_write
from .run import Result, TestResult

__all__ = ["STATUS_ORDER", "csv_cell", "overall_status", "write_gradebook", "write_long", "write_canvas",
           "save_results", "load_results", "merge_results", "write_all", "read_roster", "RESULTS_FILE",
           "CANVAS_IDENTITY", "LONG_COLUMNS", "ROSTER_FILE"]

STATUS_ORDER = ["tampered", "error", "memory", "timeout", "crash", "invalid", "ok"]
"""Which status a student row shows when exercises differ: the first that occurs (tampered wins)."""
RESULTS_FILE = "results.json"
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
"""The identity columns of Canvas's gradebook CSV, in its own order; every other column is an assignment."""
LONG_COLUMNS = ["student_id", "exercise", "test", "kind", "points", "max_points", "passed", "status"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMAT = "coursekit-results/1"

Results = dict[str, dict[str, Result]]


def csv_cell(value: str) -> str:
    """A text cell a spreadsheet shows as text: one that starts like a formula (=, +, -, @, tab,
    carriage return) gets a leading apostrophe, so `=1+2` as a student id is never evaluated."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def overall_status(by_exercise: dict[str, Result]) -> str:
    statuses = {r.status for r in by_exercise.values()}
    return next(s for s in STATUS_ORDER if s in statuses) if statuses else "ok"


def _write_text(path: Path, text: str) -> None:
    with atomic_write(Path(path), "w") as f:
        f.write(text)


def _csv_text(rows) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _test_ids(results: Results, exercise: str) -> list[str]:
    """Every test id of `exercise` in any student's result, in the order they come (a re-grade
    after a test was renamed adds the new id; the old one stays for the others)."""
    return list(dict.fromkeys(t.id for by in results.values() if exercise in by for t in by[exercise].tests))


def _maximum(results: Results, exercise: str) -> float:
    """The exercise's points possible: the largest any result has (after a fix that added points,
    the re-graded results carry the new total)."""
    return max(by[exercise].max_points for by in results.values() if exercise in by)


def _failed(r: Result | None) -> bool:
    """The grader's own failure on this notebook: it writes no number, never a zero."""
    return r is not None and r.status == "error"


# --- the wide gradebook ------------------------------------------------------------------

def write_gradebook(results: Results, path: Path) -> None:
    """One row per student: student_id, total, max, status, then per exercise and per test points.

    A notebook the grader itself failed on (status `error`) writes no number: its points and
    the student's total are left empty (the summary says to re-run it), so a grader's failure
    is never recorded as a zero. Text cells that a spreadsheet would evaluate are neutralised."""
    exercises = sorted({e for r in results.values() for e in r})
    tests = {e: _test_ids(results, e) for e in exercises}
    header = ["student_id", "total", "max", "status"]
    for e in exercises:
        header += [e, f"{e} max", f"{e} status", f"{e} detail"] + [f"{e}/{t}" for t in tests[e]]
    rows = [header]
    for student in sorted(results):
        by_exercise = results[student]
        failed = any(_failed(r) for r in by_exercise.values())
        row = [csv_cell(student), "" if failed else f"{sum(r.points for r in by_exercise.values()):g}",
               f"{sum(r.max_points for r in by_exercise.values()):g}", overall_status(by_exercise)]
        for e in exercises:
            r = by_exercise.get(e)
            points = {t.id: t.points for t in r.tests} if r else {}
            row += ["" if _failed(r) else (f"{r.points:g}" if r else "0"), f"{r.max_points:g}" if r else "",
                    r.status if r else "missing", csv_cell(r.detail) if r else ""]
            row += ["" if _failed(r) else f"{points.get(t, 0):g}" for t in tests[e]]
        rows.append(row)
    _write_text(Path(path), _csv_text(rows))


# --- the long format ---------------------------------------------------------------------

def write_long(results: Results, path: Path) -> None:
    """One row per student, exercise and test (`LONG_COLUMNS`), plus one `test = (total)` row
    per student and exercise. Points of a notebook the grader failed on are left empty."""
    rows = [LONG_COLUMNS]
    for student in sorted(results):
        for name, r in sorted(results[student].items()):
            failed = _failed(r)
            for t in r.tests:
                rows.append([csv_cell(student), name, t.id, t.kind, "" if failed else f"{t.points:g}",
                             f"{t.max_points:g}", "" if failed else str(t.passed).lower(), r.status])
            rows.append([csv_cell(student), name, "(total)", "total", "" if failed else f"{r.points:g}",
                         f"{r.max_points:g}", "", r.status])
    _write_text(Path(path), _csv_text(rows))


# --- Canvas ------------------------------------------------------------------------------

def read_roster(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    """A Canvas gradebook export: its rows (students only) and its assignment column names.

    Refuses, with what it found, a file without Canvas's identity columns."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no roster at {path} (expected the CSV from Canvas's Gradebook → Export)")
    with path.open(newline="", encoding="utf-8-sig") as f:
        first = f.readline()
        f.seek(0)
        delimiter = ";" if first.count(";") > first.count(",") else ","   # Canvas can export with semicolons
        reader = csv.DictReader(f, delimiter=delimiter)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in ("Student", "ID", "SIS Login ID", "Section") if c not in header]
        if missing:
            raise ValueError(f"{path} is not a Canvas gradebook export: it has no {', '.join(missing)} column(s) "
                             f"(found: {', '.join(header[:8]) or 'nothing'})")
        rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    rows = [r for r in rows if r.get("Student") and "Points Possible" not in r.get("Student", "")
            and r.get("Student") != "Student, Test"]
    return rows, [h for h in header if h not in CANVAS_IDENTITY]


def _assignment_column(exercise: str, roster_columns: list[str]) -> str:
    """Canvas names an existing assignment `Name (id)`: the roster's column whose name, without
    its ` (id)`, is exactly the exercise's is reused, so the import updates that assignment; else
    the exercise's own name, which Canvas offers to create. Two such columns are refused."""
    same = [c for c in roster_columns if c.rsplit(" (", 1)[0].strip() == exercise]
    if len(same) > 1:
        raise ValueError(f"the roster has {len(same)} assignments named {exercise!r} ({', '.join(same)}); rename "
                         f"one in Canvas or remove its column from the roster")
    return same[0] if same else exercise


_ROSTER_KEYS = ("SIS Login ID", "SIS User ID", "ID", "Student")
"""How a student id is matched to a roster row: by SIS login first, then SIS user id, Canvas id, name."""


def _roster_match(roster_rows: list[dict[str, str]], student: str) -> dict[str, str] | None:
    wanted = student.casefold()
    for key in _ROSTER_KEYS:
        found = [r for r in roster_rows if r.get(key, "").casefold() == wanted]
        if found:
            return found[0]
    return None


def write_canvas(results: Results, path: Path, roster: Path | None = None,
                 only: set[str] | None = None) -> list[str]:
    """Canvas's gradebook CSV. Returns the student ids the roster did not match (their rows keep
    the id as `SIS Login ID`, and Canvas reports them on import).

    Without a roster each student's id goes into `Student` and `SIS Login ID` (Canvas matches a
    row by `ID`, else by its SIS ids), so name the submission folders by SIS login. `only`: write
    the rows of these students alone (a re-grade's file, which leaves the others' grades in
    Canvas as they are)."""
    exercises = sorted({e for r in results.values() for e in r})
    roster_rows, roster_columns = read_roster(roster) if roster else ([], [])
    columns = [_assignment_column(e, roster_columns) for e in exercises]
    rows = [CANVAS_IDENTITY + columns,
            ["    Points Possible", "", "", "", ""] + [f"{_maximum(results, e):g}" for e in exercises]]
    unmatched = []
    for student in sorted(results):
        if only is not None and student not in only:
            continue
        match = _roster_match(roster_rows, student) if roster_rows else None
        if match is None:
            if roster_rows:
                unmatched.append(student)
            identity = [csv_cell(student), "", "", csv_cell(student), ""]
        else:
            identity = [csv_cell(match.get(c, "")) for c in CANVAS_IDENTITY]
        by = results[student]
        rows.append(identity + ["" if e not in by or _failed(by[e]) else f"{by[e].points:g}" for e in exercises])
    _write_text(Path(path), _csv_text(rows))
    return unmatched


# --- results as data ---------------------------------------------------------------------

def save_results(results: Results, path: Path) -> None:
    """Every result without its log (the logs are files of their own) and its list of cells that did
    not pass (the log says why)."""
    data = {"format": _FORMAT, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "students": {s: {e: {k: v for k, v in asdict(r).items() if k not in ("log", "cells_not_passed")}
                             for e, r in by.items()}
                         for s, by in sorted(results.items())}}
    _write_text(Path(path), json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def load_results(path: Path) -> Results:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {_FORMAT!r}")
        return {s: {e: Result(**{**r, "tests": [TestResult(**t) for t in r["tests"]]}) for e, r in by.items()}
                for s, by in data["students"].items()}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"cannot read the previous results in {path} ({err}); grade the class into a new --out "
                         f"folder instead") from err


def merge_results(previous: Results, new: Results) -> Results:
    """The previous results with every re-graded student's exercises replaced by the new ones."""
    merged = {s: dict(by) for s, by in previous.items()}
    for student, by in new.items():
        merged.setdefault(student, {}).update(by)
    return merged


ROSTER_FILE = "roster.csv"
"""A run's roster, kept in the output folder: a re-grade or an export without --roster uses it."""


def write_all(results: Results, out: Path, roster: Path | None = None, regraded: set[str] | None = None) -> list[str]:
    """results.json, gradebook.csv, grades_long.csv and canvas.csv in `out`; a previous set is
    copied to `out/history/<time>/` first, so a merge never loses a grade. A roster given is kept
    as `out/roster.csv` and used by later runs that give none. With `regraded` (a merge) also
    `canvas_regraded.csv`: those students' rows only. Returns the ids the roster did not match."""
    out = Path(out)
    files = [RESULTS_FILE, "gradebook.csv", "grades_long.csv", "canvas.csv", "canvas_regraded.csv", ROSTER_FILE]
    if any((out / f).exists() for f in files):
        keep = out / "history" / time.strftime("%Y%m%d-%H%M%S")
        n = 1
        while keep.exists():
            n += 1
            keep = keep.with_name(f"{keep.name.split('.')[0]}.{n}")
        keep.mkdir(parents=True)
        for f in files:
            if (out / f).exists():
                shutil.copy2(out / f, keep / f)
    if roster is not None and Path(roster).resolve() != (out / ROSTER_FILE).resolve():
        read_roster(roster)   # refused before anything is written
        shutil.copyfile(roster, out / ROSTER_FILE)
    roster = out / ROSTER_FILE if (out / ROSTER_FILE).is_file() else None
    save_results(results, out / RESULTS_FILE)
    write_gradebook(results, out / "gradebook.csv")
    write_long(results, out / "grades_long.csv")
    if regraded:
        write_canvas(results, out / "canvas_regraded.csv", roster, only=regraded)
    elif (out / "canvas_regraded.csv").exists():
        (out / "canvas_regraded.csv").unlink()   # kept in history/: it belonged to the previous re-grade
    return write_canvas(results, out / "canvas.csv", roster)
