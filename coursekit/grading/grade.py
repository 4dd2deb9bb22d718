"""Grade a class: every submission, a gradebook and per-student feedback.

    coursekit grade SUBMISSIONS --out OUT                    # the exercise(s) the students submitted
    coursekit grade SUBMISSIONS --out OUT --student s1234    # re-grade one student, merged into OUT

SUBMISSIONS holds one folder per student, named by the student's id, with the submitted
notebooks inside under their exercise names (`SUBMISSIONS/s1234/02_vae.ipynb`). Which
exercises are graded: those named with `exercises`, else those at least one student submitted
(a collection of one assignment grades that assignment only). OUT receives the gradebook files
(`gradebook.py`: results.json, gradebook.csv, grades_long.csv, canvas.csv, written atomically),
`feedback/<student>.html` and, for the instructor only, `logs/<student>__<exercise>.log` (the
test run's output, which can show hidden tests).
"""
from __future__ import annotations

import hashlib
import html
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..utils import atomic_write
from .build import released_cells
from .format import read_source
from .gradebook import (RESULTS_FILE, STATUS_ORDER, csv_cell, load_results, merge_results, read_roster, write_all,
                        write_gradebook)
from .gradebook import overall_status as _overall_status
from .run import STATUSES, Limits, Result, TestResult, grade_notebook
from .sandbox import Isolation

__all__ = ["grade_class", "grader_errors", "write_gradebook", "feedback_html", "csv_cell", "STATUS_ORDER", "TOOL_FOLDERS",
           "REGRADED", "submitted_exercises", "GradeRefused"]

REGRADED = ("error", "crash", "timeout")
"""Statuses a loaded machine can cause: such a notebook is graded once more, alone and with twice
the time, before its result is recorded (if it ends the same way again, that stands)."""
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@\-]*$")
TOOL_FOLDERS = (".ipynb_checkpoints", ".git", "__pycache__")
"""Folders in SUBMISSIONS that tools make, not students: passed over, and listed in the summary."""


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


class GradeRefused(ValueError):
    """The class run was refused before anything was graded; the message says why and what to do."""


def _submitted(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix == ".ipynb" and not p.name.startswith("."))


def submitted_exercises(folders: list[Path], names) -> list[str]:
    """The exercises (of `names`) that at least one student folder holds a notebook of."""
    return sorted({p.stem for folder in folders for p in _submitted(folder)} & set(names))


def _plan(submissions: Path, solutions: Path, out: Path, exercises, students, overwrite):
    """What a run grades, checked before anything is: (sources, folders, refused, previous results).
    Every refusal is one GradeRefused/FileNotFoundError line that says what to do instead."""
    if submissions.exists() and not submissions.is_dir():
        raise GradeRefused(f"{submissions} is a file; expected a folder with one folder per student "
                           f"(SUBMISSIONS/<student_id>/<NN_topic>.ipynb)")
    sources = {p.stem: p for p in sorted(Path(solutions).glob("[0-9]*.ipynb"))}
    if not sources:
        raise FileNotFoundError(f"no solution notebooks (NN_topic.ipynb) in {solutions}")
    folders, refused = _students(submissions)
    previous = None
    if out.exists() and not out.is_dir():
        raise GradeRefused(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()):
        if students and (out / RESULTS_FILE).is_file():
            previous = load_results(out / RESULTS_FILE)
        elif not overwrite:
            what = "a gradebook" if (out / RESULTS_FILE).exists() or (out / "gradebook.csv").exists() else "files"
            raise GradeRefused(f"--out {out} already holds {what}: give a new folder, re-grade some students into "
                               f"it with --student ID, or pass --overwrite to grade the class again (the previous "
                               f"gradebook is kept in {out / 'history'})")
    if students:
        by_name = {f.name: f for f in folders}
        unknown = [s for s in students if s not in by_name]
        if unknown:
            raise GradeRefused(f"no folder for student(s) {', '.join(unknown)} in {submissions}"
                               + (f" (there are {len(folders)}, e.g. {', '.join(sorted(by_name)[:5])})" if folders else ""))
        folders = [by_name[s] for s in dict.fromkeys(students)]
        refused = []
    if exercises:
        unknown = sorted(set(exercises) - set(sources))
        if unknown:
            raise GradeRefused(f"no exercise named {', '.join(unknown)}: the exercises are {', '.join(sources)} "
                               f"(solutions/NN_topic.ipynb, given without .ipynb, e.g. --exercise {next(iter(sources))})")
        chosen = [e for e in sources if e in exercises]
    elif previous is not None:   # a re-grade keeps the exercises of the gradebook it joins
        chosen = [e for e in sources if any(e in by for by in previous.values())]
    else:
        chosen = submitted_exercises(folders, sources)
        if len(chosen) > 1:   # mixed: a stray notebook would add a column of zeros, so ask
            counts = {e: sum((f / f"{e}.ipynb").exists() for f in folders) for e in chosen}
            raise GradeRefused("the submissions hold notebooks of several exercises: " + ", ".join(
                f"{e} ({n} student{'s' * (n != 1)})" for e, n in sorted(counts.items(), key=lambda kv: -kv[1]))
                + f"; say which to grade, e.g. --exercise {max(counts, key=counts.get)} (repeat it to grade several)")
        if not chosen:
            found = sorted({p.name for f in folders for p in _submitted(f)})
            raise GradeRefused(f"no submitted notebook is named after an exercise ({', '.join(sources)}); found "
                               f"{', '.join(found[:6]) if found else 'no notebooks'} in {len(folders)} student "
                               f"folder(s). Expected SUBMISSIONS/<student_id>/<NN_topic>.ipynb, or choose with "
                               f"--exercise")
    return {e: read_source(sources[e]) for e in chosen}, folders, refused, previous


def grade_class(submissions: Path, solutions: Path, out: Path, exercises: list[str] | None = None,
                limits: Limits = Limits(), jobs: int | None = None, log=print,
                isolation: str = "auto", students: list[str] | None = None, overwrite: bool = False,
                roster: Path | None = None) -> dict[str, dict[str, Result]]:
    """Grade the student folders in `submissions` against the sources in `solutions`, `jobs`
    notebooks at a time (default: the number of CPU cores), and write the gradebook files to `out`.

    `exercises`: which to grade (default: those any student submitted). `students`: grade only
    these folders; when `out` holds a previous run their results are merged into it (the other
    students' rows are kept, the previous files go to `out/history/`). An `out` that holds files
    is refused unless `students` or `overwrite` is given. `isolation`: see `class_isolation`;
    what was in force is said in the log. `roster`: a Canvas gradebook export (see
    `gradebook.write_canvas`). Returns the results of the students graded in this run."""
    submissions, solutions, out = Path(submissions), Path(solutions), Path(out)
    if roster is not None:
        read_roster(roster)   # a missing or malformed roster is refused before anything is graded
    sources, folders, refused, previous = _plan(submissions, solutions, out, exercises, students, overwrite)
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
    log(f"exercise(s): {', '.join(sources)}" + ("" if exercises or previous is not None else
                                                 " (the ones submitted; choose with --exercise)"))
    released = {name: released_cells(Path(solutions) / f"{name}.ipynb") for name in sources}
    work = []  # (student, exercise, path or None)
    for folder in folders:
        student = folder.name
        for name in sources:
            path = folder / f"{name}.ipynb"
            work.append((student, name, path if (path.is_file() or path.is_symlink()) else None))

    def one(item, limits: Limits) -> Result:
        student, name, path = item
        source_nb, source_specs = sources[name]
        if path is None:
            others = [p.name for p in _submitted(submissions / student) if p.stem not in sources]
            found = f"found {', '.join(others[:4])}, not {name}.ipynb" if others else ""
            return Result(name, status="invalid", detail=found or "not submitted",
                          notes=[f"no {name}.ipynb was submitted" + (
                              f" ({found}: submit the exercise under its own name)" if found else "")],
                          tests=[TestResult(s.id, s.kind, 0.0, s.points, False, "not submitted")
                                 for s in source_specs if s.is_test])
        try:   # the exception barrier: whatever goes wrong here is this row's `error`, never the run's
            return grade_notebook(source_nb, source_specs, path, name, limits=limits, isolation=iso,
                                  released=released.get(name))
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
    if previous is not None:
        when = time.strftime("%Y-%m-%d %H:%M")
        for student, by in results.items():
            for name, r in by.items():
                before = previous.get(student, {}).get(name)
                if before is not None:
                    r.notes.append(f"re-graded on {when}; the previous result was {before.points:g}/"
                                   f"{before.max_points:g} ({before.status})")
    merged = merge_results(previous, results) if previous is not None else results
    out.mkdir(parents=True, exist_ok=True)
    for student, by_exercise in results.items():   # feedback and logs first: they never depend on a roster
        stem = file_stem(student)
        _write_text(out / "feedback" / f"{stem}.html", feedback_html(student, merged[student]))
        for name, result in by_exercise.items():
            if result.log:
                _write_text(out / "logs" / f"{stem}__{name}.log", result.log)
    unmatched = write_all(merged, out, roster, regraded=set(results) if previous is not None else None)
    if previous is not None:
        log(f"merged {len(results)} re-graded student(s) into {out / 'gradebook.csv'} ({len(merged)} rows; the "
            f"previous files are in {out / 'history'}); canvas_regraded.csv holds their rows alone")
    if unmatched:
        log(f"not in the roster (their canvas.csv rows carry the id as SIS Login ID): {', '.join(unmatched)}")
    return results


def grader_errors(results: dict[str, dict[str, Result]]) -> list[str]:
    """`student/exercise` of every notebook the grader itself failed on (status `error`): to re-run."""
    return sorted(f"{student}/{name}" for student, by in results.items() for name, r in by.items()
                  if r.status == "error")


def _write_text(path: Path, text: str) -> None:
    with atomic_write(path, "w") as f:
        f.write(text)


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
