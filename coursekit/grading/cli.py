"""The `coursekit` command: build, release, grade, export, check.

Instructors (in the course repository):
    coursekit build                              exercises/ from solutions/ (edited notebooks kept)
    coursekit release --out release              the student release, from the committed files
    coursekit release --out release --update     an erratum: new files added, edited ones kept
    coursekit release --out release --update --publish-solutions 02_vae
    coursekit grade SUBMISSIONS --out graded     the exercise(s) the students submitted
    coursekit grade SUBMISSIONS --out graded --student s1234     re-grade one student, merged
    coursekit export graded --roster canvas_export.csv           the LMS files again, with a roster
Students:
    coursekit check exercises/02_vae.ipynb       your notebook's public tests and points

Run `coursekit COMMAND --help` for every option and its default.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]


class CommandError(Exception):
    """A refusal or a problem with the input: printed as one line, exit status 2."""


def _root() -> Path:
    """The course folder: the current directory or the nearest parent with solutions/ or exercises/."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "solutions").is_dir() or (folder / "exercises").is_dir():
            return folder
    return here


def _say(message: str) -> None:
    print(message, flush=True)


def cmd_build(args) -> int:
    if not args.solutions.is_dir():
        raise CommandError(f"no solutions folder at {args.solutions} (expected solutions/NN_topic.ipynb; "
                           f"run in the course's root or pass --solutions DIR)")
    from .build import build_all, out_of_date

    if args.check:
        stale = out_of_date(args.solutions, args.exercises)
        for path in stale:
            print(f"out of date: {path} (run `coursekit build`)")
        return 1 if stale else 0
    written, kept = build_all(args.solutions, args.exercises, force=args.force)
    for path in written:
        print(f"wrote {path}")
    for path in kept:
        print(f"left alone: {path} was edited (answers filled in?) and differs from a fresh build; move it away "
              f"or pass --force (make exercises FORCE=1) to overwrite it", file=sys.stderr)
    return 1 if kept else 0


def cmd_release(args) -> int:
    from .build import release

    report = release(_root(), args.out, update=args.update, publish_solutions=args.publish_solutions or ())
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    where = report.out
    if args.update:
        for rel in report.added:
            print(f"added    {rel}")
        for rel in report.updated:
            print(f"updated  {rel}")
        for rel, beside in report.kept:
            print(f"skipped  {rel}: edited since it was released, left as it is; the new version is {beside}")
        for rel in report.dropped:
            print(f"no longer released: {rel} (left in place)")
        print(f"release {where} updated from commit {report.commit[:10] or '(not a git checkout)'}: "
              f"{len(report.added)} added, {len(report.updated)} updated, {len(report.kept)} skipped as edited")
    else:
        print(f"student release written to {where} from commit {report.commit[:10] or '(not a git checkout)'}: "
              f"{len(report.added)} files, no hidden tests"
              + (f", solutions of {', '.join(args.publish_solutions)}" if args.publish_solutions else ", no solutions"))
    return 0


def _limits(args):
    from .run import Limits

    return Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout, memory_mb=args.memory_mb,
                  startup_timeout=args.startup_timeout)


def cmd_grade(args) -> int:
    if not args.submissions.exists():
        raise CommandError(f"no submissions folder at {args.submissions} (expected "
                           f"SUBMISSIONS/<student_id>/<NN_topic>.ipynb)")
    from .grade import grade_class, grader_errors

    try:
        results = grade_class(args.submissions, args.solutions, args.out, exercises=args.exercise or None,
                              limits=_limits(args), jobs=args.jobs, isolation=args.isolation, log=_say,
                              students=args.student or None, overwrite=args.overwrite, roster=args.roster)
    except (RuntimeError, FileNotFoundError, ValueError) as err:   # refused before anything was graded
        raise CommandError(str(err)) from None
    out = Path(args.out)
    print(f"graded {len(results)} student(s): {out / 'gradebook.csv'} (also grades_long.csv, canvas.csv), "
          f"feedback in {out / 'feedback'}")
    errors = grader_errors(results)
    if errors:
        print(f"{len(errors)} notebook(s) could not be graded (status error, no total written): {', '.join(errors)}; "
              f"re-grade them with --student", file=sys.stderr)
        return 3
    return 0


def cmd_export(args) -> int:
    from .gradebook import RESULTS_FILE, load_results, write_all

    path = Path(args.graded) / RESULTS_FILE
    if not path.is_file():
        raise CommandError(f"no {RESULTS_FILE} in {args.graded}: give the --out folder of a `coursekit grade` run")
    try:
        unmatched = write_all(load_results(path), Path(args.graded), args.roster)
    except (FileNotFoundError, ValueError) as err:
        raise CommandError(str(err)) from None
    print(f"wrote gradebook.csv, grades_long.csv and canvas.csv in {args.graded}")
    if unmatched:
        print(f"not in the roster (their canvas.csv rows carry the id as SIS Login ID): {', '.join(unmatched)}",
              file=sys.stderr)
        return 1
    return 0


def _read_notebook(path: Path):
    """The notebook at `path`, or a CommandError that says what came instead."""
    if not path.exists():
        raise CommandError(f"no such file: {path}")
    if path.is_dir():
        raise CommandError(f"{path} is a folder; give a notebook (e.g. exercises/02_vae.ipynb)")
    if path.suffix != ".ipynb":
        raise CommandError(f"{path} is not a notebook (expected a .ipynb file, e.g. exercises/02_vae.ipynb)")
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - any reading problem is the same one line to the student
        raise CommandError(f"{path} is not a readable notebook ({type(err).__name__}: {str(err)[:120]})") from None


def cmd_check(args) -> int:
    """Run each notebook's public tests, as the student has them, and print the points."""
    notebooks = [(path, _read_notebook(path)) for path in args.notebook]   # every input checked before any runs
    status = 0
    for path, nb in notebooks:
        status = max(status, _check_one(path, nb, args.cell_timeout))
    return status


def _check_one(path: Path, nb, cell_timeout: int) -> int:
    from .format import FormatError, cell_spec

    specs, extra = [], 0
    for cell in nb.cells:
        try:
            spec = cell_spec(cell)
        except FormatError:
            spec = None
        specs.append(spec)
        extra += spec is None and cell.cell_type == "code"
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    tests = [s for s in specs if s is not None and s.kind == "public-test"]
    if not tests:
        print(f"{path}: no public tests in this notebook (is it an exercise from exercises/?)")
        return 2
    print(f"{path}: running its {n_code} code cells in a fresh kernel, top to bottom (models train as in "
          f"JupyterLab: this can take a minute or two) ...", flush=True)
    from .run import Limits, execute

    with tempfile.TemporaryDirectory(prefix="coursekit-check-") as tmp:
        run = execute(nb, Path(tmp), Limits(cell_timeout=cell_timeout))
    results = run.cells
    if not results:
        print(run.log[-3000:])
        print(f"{path}: the notebook could not be run", file=sys.stderr)
        return 2
    got = total = 0.0
    n = 0
    for cell, spec in zip(nb.cells, specs):
        if cell.cell_type != "code":
            continue
        outcome = results.get(n, {})
        n += 1
        if spec is None or spec.kind != "public-test":
            continue
        passed = outcome.get("outcome") == "passed"
        total += spec.points
        got += spec.points if passed else 0
        line = f"{'PASS' if passed else 'FAIL'}  {spec.id}  {spec.points if passed else 0:g}/{spec.points:g}"
        print(line + ("" if passed else f"\n      {outcome.get('message', 'not run')}"))
    print(f"public tests: {got:g} / {total:g} points (hidden tests decide the grade) in {run.seconds:.0f} s")
    if extra:
        print(f"note: {extra} code cell(s) are outside the answer cells; the grader does not run them")
    return 0 if got == total else 1


class _Help(argparse.HelpFormatter):
    """Every option's help ends with its default, unless the help says it already or there is none."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" not in text and action.default not in (None, False, argparse.SUPPRESS) and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _parser() -> argparse.ArgumentParser:
    fmt = _Help
    parser = argparse.ArgumentParser(prog="coursekit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", formatter_class=fmt, help="write exercises/ from solutions/",
                       description="Write exercises/NN_topic.ipynb (stubs, no hidden tests, no outputs) from each "
                                   "solutions/NN_topic.ipynb. A notebook someone edited is left alone unless --force.")
    p.add_argument("--solutions", type=Path, default=None, metavar="DIR",
                   help="folder of solution sources (default: solutions/ of the course root)")
    p.add_argument("--exercises", type=Path, default=None, metavar="DIR",
                   help="folder to write the student notebooks to (default: exercises/ of the course root)")
    p.add_argument("--check", action="store_true", help="only list the exercises that are out of date (exit 1 if any)")
    p.add_argument("--force", action="store_true", help="overwrite exercise notebooks that were edited")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("release", formatter_class=fmt, help="write or update the student release",
                       description="Write the student edition (lectures, coursekit, exercises, the student README "
                                   "and Makefile) from the committed files; every file is searched for solutions "
                                   "and hidden tests before anything is written.")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="the release folder; must not exist, unless --update (e.g. release)")
    p.add_argument("--update", action="store_true",
                   help="update an existing release: add new files, replace files nobody edited, and leave "
                        "edited ones alone (the new version is written beside them)")
    p.add_argument("--publish-solutions", action="append", metavar="NN_topic", default=None,
                   help="also release this exercise's solved notebook as solutions/NN_topic.ipynb (no hidden "
                        "tests), e.g. after its deadline; repeatable")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("grade", formatter_class=fmt, help="grade a folder of submissions (one folder per student)",
                       description="Grade SUBMISSIONS/<student_id>/<NN_topic>.ipynb against the solution sources and "
                                   "write gradebook.csv, grades_long.csv, canvas.csv, results.json, feedback/ and "
                                   "logs/ to --out. By default the exercises graded are those the students "
                                   "submitted.")
    p.add_argument("submissions", type=Path, metavar="SUBMISSIONS", help="folder with one folder per student")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="output folder; refused if it holds files, unless --student (merge) or --overwrite")
    p.add_argument("--solutions", type=Path, default=None, metavar="DIR",
                   help="folder of solution sources (default: solutions/ of the course root)")
    p.add_argument("--exercise", action="append", metavar="NN_topic",
                   help="grade this exercise, e.g. --exercise 02_vae; repeatable (default: the exercises "
                        "named by the submitted notebooks)")
    p.add_argument("--student", action="append", metavar="ID",
                   help="grade only this student's folder, e.g. after a fix; merged into the gradebook already "
                        "in --out (the previous files go to --out/history/); repeatable")
    p.add_argument("--overwrite", action="store_true",
                   help="grade the whole class into an --out that holds a gradebook (kept in --out/history/)")
    p.add_argument("--roster", type=Path, default=None, metavar="CSV",
                   help="Canvas's gradebook export (Grades → Export): canvas.csv takes its names, ids, sections "
                        "and assignment columns from it")
    p.add_argument("--cell-timeout", type=int, default=60, metavar="SECONDS", help="time limit per cell")
    p.add_argument("--notebook-timeout", type=int, default=900, metavar="SECONDS",
                   help="wall-clock limit per notebook")
    p.add_argument("--memory-mb", type=int, default=4096, metavar="MiB", help="memory limit per submission")
    p.add_argument("--startup-timeout", type=int, default=120, metavar="SECONDS",
                   help="time a kernel may take to start, separate from the cell timeout")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="notebooks graded at once (default: the number of cores)")
    p.add_argument("--isolation", choices=("auto", "users", "none"), default="auto",
                   help="users: each kernel as its own user in a private file system (Linux, as root); none: "
                        "as the grader's user; auto: users where possible")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("export", formatter_class=fmt, help="write the gradebook files again, e.g. with a roster",
                       description="Rewrite gradebook.csv, grades_long.csv and canvas.csv in a graded folder from "
                                   "its results.json (the previous files go to history/).")
    p.add_argument("graded", type=Path, metavar="DIR", help="the --out folder of a `coursekit grade` run")
    p.add_argument("--roster", type=Path, default=None, metavar="CSV",
                   help="Canvas's gradebook export (Grades → Export), to match students and assignments")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("check", formatter_class=fmt, help="run your notebook's public tests and see your points",
                       description="Run each notebook top to bottom in a fresh kernel and print PASS/FAIL and the "
                                   "points of every public test. Hidden tests, run by your instructor, decide the "
                                   "grade.")
    p.add_argument("notebook", type=Path, nargs="+", metavar="NOTEBOOK",
                   help="an exercise notebook, e.g. exercises/02_vae.ipynb")
    p.add_argument("--cell-timeout", type=int, default=120, metavar="SECONDS", help="time limit per cell")
    p.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = _root()
    for name in ("solutions", "exercises"):
        if hasattr(args, name) and getattr(args, name) is None:
            setattr(args, name, root / name)
    try:
        return args.func(args)
    except (CommandError, FileExistsError, FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"coursekit {args.command}: {err}", file=sys.stderr)   # a refusal: one line, no traceback
        return 2
    except KeyboardInterrupt:
        print(f"coursekit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
