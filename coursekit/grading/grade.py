"""Grade a class: every submission, a gradebook and per-student feedback.

    coursekit grade SUBMISSIONS --out OUT

SUBMISSIONS holds one folder per student, named by the student's id, with the submitted
notebooks inside under their exercise names (`SUBMISSIONS/s1234/00_introduction.ipynb`), as
an LMS export gives them. OUT receives `gradebook.csv` (written atomically: a crash never
leaves half a gradebook), `feedback/<student>.html` and, for the instructor only,
`logs/<student>__<exercise>.log` (the test run's output, which can show hidden tests).
"""
from __future__ import annotations

import csv
import hashlib
import html
import io
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..utils import atomic_write
from .format import read_source
from .run import STATUSES, Limits, Result, TestResult, grade_notebook
from .sandbox import Isolation

__all__ = ["grade_class", "grader_errors", "write_gradebook", "feedback_html", "csv_cell", "STATUS_ORDER", "TOOL_FOLDERS", "REGRADED"]

STATUS_ORDER = ["tampered", "error", "memory", "timeout", "crash", "invalid", "ok"]
"""Which status a student row shows when exercises differ: the first that occurs (tampered wins)."""
REGRADED = ("error", "crash", "timeout")
"""Statuses a loaded machine can cause: such a notebook is graded once more, alone and with twice
the time, before its result is recorded (if it ends the same way again, that stands)."""
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@\-]*$")
TOOL_FOLDERS = (".ipynb_checkpoints", ".git", "__pycache__")
"""Folders in SUBMISSIONS that tools make, not students: passed over, and listed in the summary."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _students(submissions: Path) -> tuple[list[Path], list[str]]:
    """The student folders (every real folder, dotted names included) and what was refused, with why."""
    if not submissions.is_dir():
        raise FileNotFoundError(f"no submissions folder at {submissions} (expected one folder per student)")
    folders, refused = [], []
    for p in sorted(submissions.iterdir()):
        if p.name in TOOL_FOLDERS:
            refused.append(f"{p.name}: a folder tools make, not a student's (passed over)")
        elif p.is_symlink():
            refused.append(f"{p.name}: a link, which the grader does not follow (no row)")
        elif p.is_dir():
            folders.append(p)
        else:
            refused.append(f"{p.name}: a file, not a student's folder (no row)")
    return folders, refused


def csv_cell(value: str) -> str:
    """A text cell a spreadsheet shows as text: one that starts like a formula (=, +, -, @, tab,
    carriage return) gets a leading apostrophe, so `=1+2` as a student id is never evaluated."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def file_stem(student: str) -> str:
    """A safe file name for a student's feedback: the id itself when it is plain, else a cleaned
    id plus a short hash (two odd ids never share a file; no id can name a path elsewhere)."""
    if _SAFE.match(student) and len(student) <= 100:
        return student
    cleaned = re.sub(r"[^A-Za-z0-9._@-]", "_", student)[:60].lstrip(".") or "student"
    return f"{cleaned}-{hashlib.sha256(student.encode()).hexdigest()[:8]}"


def class_isolation(mode: str, submissions: Path, solutions: Path, out: Path) -> Isolation:
    """The sandbox for a class run. `mode`: "users" (a user and a private file system per kernel,
    refused clearly where impossible), "none" (kernels run as the grader), or "auto" (users
    where possible, else none, with why). Hidden from every kernel: the solutions and their
    repository's .git, the submissions and the output folder."""
    if mode not in ("auto", "users", "none"):
        raise ValueError(f"isolation must be 'auto', 'users' or 'none', got {mode!r}")
    if mode == "none":
        return Isolation.none("turned off (--isolation none)")
    hidden = [solutions, submissions, out]
    repo = next((p for p in [solutions.resolve(), *solutions.resolve().parents] if (p / ".git").exists()), None)
    if repo is not None:
        hidden.append(repo / ".git")
    out.mkdir(parents=True, exist_ok=True)
    iso = Isolation.detect(hidden)
    if mode == "auto" and not iso.active and sys.platform.startswith("linux") and os.geteuid() == 0:
        raise RuntimeError(f"the grader is root but its sandbox does not work here ({iso.reason}); kernels would "
                           f"run as root. Fix that (in a container: --cap-add SYS_ADMIN), or pass --isolation none "
                           f"to grade without it")
    if mode == "users" and not iso.active:
        raise RuntimeError(f"--isolation users is not possible here: {iso.reason}. Run the grader as root on "
                           f"Linux (sudo, or a container), or pass --isolation auto/none for weaker limits")
    return iso


def grade_class(submissions: Path, solutions: Path, out: Path, exercises: list[str] | None = None,
                limits: Limits = Limits(), jobs: int | None = None, log=print,
                isolation: str = "auto") -> dict[str, dict[str, Result]]:
    """Grade every student folder in `submissions` against the sources in `solutions`,
    `jobs` notebooks at a time (default: the number of CPU cores). `isolation`: see
    `class_isolation`; what was in force is said in the log."""
    submissions, solutions, out = Path(submissions), Path(solutions), Path(out)
    sources = {p.stem: read_source(p) for p in sorted(solutions.glob("[0-9]*.ipynb"))}
    if exercises:
        unknown = sorted(set(exercises) - set(sources))
        if unknown:
            raise ValueError(f"no solution source for {unknown} in {solutions}; there are {sorted(sources)}")
        sources = {k: v for k, v in sources.items() if k in exercises}
    if not sources:
        raise FileNotFoundError(f"no solution notebooks (NN_topic.ipynb) in {solutions}")
    if not sys.platform.startswith("linux"):
        raise RuntimeError(f"coursekit grade needs Linux: it watches memory and every process a submission starts "
                           f"through /proc, which {sys.platform} does not have. Grade inside a Linux container "
                           f"(see README, 'What the grader defends against'); `coursekit check` works here")
    jobs = max(1, jobs or os.cpu_count() or 1)
    iso = class_isolation(isolation, submissions, solutions, out)
    if iso.active:
        log("isolation: each kernel runs as a user of its own, sees only its scratch folder as writable, "
            "and cannot see the solutions, the submissions or the grader's files")
    else:
        log(f"isolation: WEAKER — kernels run as the grader's own user ({iso.reason}); a submission can read "
            f"what the grader can read and may leave processes behind. For the full guarantee grade as root "
            f"on Linux (sudo, a container)")
    work = []  # (student, exercise, path or None)
    folders, refused = _students(submissions)
    for folder in folders:
        student = folder.name
        for name in sources:
            path = folder / f"{name}.ipynb"
            work.append((student, name, path if (path.is_file() or path.is_symlink()) else None))

    def one(item, limits: Limits) -> Result:
        student, name, path = item
        source_nb, source_specs = sources[name]
        if path is None:
            return Result(name, status="invalid", notes=[f"no {name}.ipynb was submitted"],
                          tests=[TestResult(s.id, s.kind, 0.0, s.points, False, "not submitted")
                                 for s in source_specs if s.is_test])
        try:   # the exception barrier: whatever goes wrong here is this row's `error`, never the run's
            return grade_notebook(source_nb, source_specs, path, name, limits=limits, isolation=iso)
        except Exception as err:  # noqa: BLE001 - recorded in the row, reported in the summary
            return Result(name, status="error", detail=f"the grader failed ({type(err).__name__}: {err})"[:300],
                          notes=["the grader could not grade this notebook; this is not charged to you, "
                                 "your instructor re-runs it"],
                          tests=[TestResult(s.id, s.kind, 0.0, s.points, False, "not graded (grader error)")
                                 for s in source_specs if s.is_test])

    log(f"grading {len(work)} notebook(s), {jobs} at a time ...")
    results: dict[str, dict[str, Result]] = {student: {} for student, _, _ in work}
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # each grading runs in its own process
        for (student, name, _), result in zip(work, pool.map(lambda item: one(item, limits), work)):
            results[student][name] = result
            log(f"  {student}/{name}: {result.points:g}/{result.max_points:g} ({result.status})")
    again = [item for item in work if results[item[0]][item[1]].status in REGRADED]
    if again:   # what a busy machine may have caused is graded once more, alone, with twice the time
        log(f"re-grading {len(again)} notebook(s) that ended in {'/'.join(REGRADED)}, one at a time, "
            f"with twice the time ...")
    for student, name, path in again:
        first = results[student][name]
        second = one((student, name, path), limits.relaxed())
        second.notes.append(f"graded twice: the first run ended in {first.status} ({first.detail}); it was "
                            f"graded again alone with twice the time, and that result stands")
        results[student][name] = second
        log(f"  {student}/{name}: {first.status} -> {second.points:g}/{second.max_points:g} ({second.status})")
    for line in refused:
        log(f"  not graded: {line}")
    errors = grader_errors(results)
    if errors:
        log(f"{len(errors)} notebook(s) ended in a grader error (no total written for those students): "
            f"{', '.join(errors)}; re-run them")
    write_gradebook(results, out / "gradebook.csv")
    for student, by_exercise in results.items():
        stem = file_stem(student)
        _write_text(out / "feedback" / f"{stem}.html", feedback_html(student, by_exercise))
        for name, result in by_exercise.items():
            if result.log:
                _write_text(out / "logs" / f"{stem}__{name}.log", result.log)
    return results


def grader_errors(results: dict[str, dict[str, Result]]) -> list[str]:
    """`student/exercise` of every notebook the grader itself failed on (status `error`): to re-run."""
    return sorted(f"{student}/{name}" for student, by in results.items() for name, r in by.items()
                  if r.status == "error")


def _write_text(path: Path, text: str) -> None:
    with atomic_write(path, "w") as f:
        f.write(text)


def _overall_status(by_exercise: dict[str, Result]) -> str:
    statuses = {r.status for r in by_exercise.values()}
    return next(s for s in STATUS_ORDER if s in statuses) if statuses else "ok"


def write_gradebook(results: dict[str, dict[str, Result]], path: Path) -> None:
    """One row per student: student_id, total, max, status, then per exercise and per test points.

    A notebook the grader itself failed on (status `error`) writes no number: its points and
    the student's total are left empty (the summary says to re-run it), so a grader's failure
    is never recorded as a zero. Text cells that a spreadsheet would evaluate are neutralised."""
    exercises = sorted({e for r in results.values() for e in r})
    tests = {e: [t.id for t in next(r[e] for r in results.values() if e in r).tests] for e in exercises}
    header = ["student_id", "total", "max", "status"]
    for e in exercises:
        header += [e, f"{e} max", f"{e} status", f"{e} detail"] + [f"{e}/{t}" for t in tests[e]]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for student in sorted(results):
        by_exercise = results[student]
        failed = any(r.status == "error" for r in by_exercise.values())   # the grader's failure, not the student's
        row = [csv_cell(student), "" if failed else f"{sum(r.points for r in by_exercise.values()):g}",
               f"{sum(r.max_points for r in by_exercise.values()):g}", _overall_status(by_exercise)]
        for e in exercises:
            r = by_exercise.get(e)
            points = {t.id: t.points for t in r.tests} if r else {}
            error = r is not None and r.status == "error"
            row += ["" if error else (f"{r.points:g}" if r else "0"), f"{r.max_points:g}" if r else "",
                    r.status if r else "missing", csv_cell(r.detail) if r else ""]
            row += ["" if error else f"{points.get(t, 0):g}" for t in tests[e]]
        writer.writerow(row)
    _write_text(Path(path), buffer.getvalue())


def feedback_html(student: str, by_exercise: dict[str, Result]) -> str:
    """A student's feedback: per test pass/fail and points; public tests' messages; hidden tests by name only."""
    e = html.escape
    parts = [f"<!doctype html><meta charset='utf-8'><title>Feedback for {e(student)}</title>",
             "<style>body{font-family:sans-serif;max-width:52em}td,th{padding:2px 8px;text-align:left}"
             ".pass{color:#060}.fail{color:#a00}pre{white-space:pre-wrap;margin:0}</style>",
             f"<h1>Feedback for {e(student)}</h1>"]
    total = sum(r.points for r in by_exercise.values())
    maximum = sum(r.max_points for r in by_exercise.values())
    parts.append(f"<p>Total: <b>{total:g} / {maximum:g}</b> points.</p>")
    for name, r in sorted(by_exercise.items()):
        parts.append(f"<h2>{e(name)}: {r.points:g} / {r.max_points:g} (status: {e(r.status)})</h2>")
        if r.status != "ok":
            parts.append(f"<p><b>{e(r.status)}</b>: {e(STATUSES.get(r.status, ''))}"
                         + (f" — {e(r.detail)}" if r.detail else "") + "</p>")
        parts.append("<table><tr><th>test</th><th></th><th>points</th><th>message</th></tr>")
        for t in r.tests:
            verdict = "<span class='pass'>passed</span>" if t.passed else "<span class='fail'>failed</span>"
            kind = "hidden" if t.kind == "hidden-test" else "public"
            message = "" if t.passed or kind == "hidden" else f"<pre>{e(t.message)}</pre>"
            parts.append(f"<tr><td>{e(t.id)} ({kind})</td><td>{verdict}</td>"
                         f"<td>{t.points:g} / {t.max_points:g}</td><td>{message}</td></tr>")
        parts.append("</table>")
        if r.notes:
            parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in r.notes) + "</ul>")
    return "\n".join(parts) + "\n"
