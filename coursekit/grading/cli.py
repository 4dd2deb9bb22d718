"""The `coursekit` command: build, release, grade, check.

    coursekit build [--solutions solutions] [--exercises exercises] [--check]
    coursekit release --out DIR
    coursekit grade SUBMISSIONS --out OUT [--exercise NN_topic ...] [--cell-timeout 60]
    coursekit check NOTEBOOK
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]


def _root() -> Path:
    """The course folder: the current directory or the nearest parent with solutions/ or exercises/."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "solutions").is_dir() or (folder / "exercises").is_dir():
            return folder
    return here


def cmd_build(args) -> int:
    from .build import build_all, out_of_date

    if args.check:
        stale = out_of_date(args.solutions, args.exercises)
        for path in stale:
            print(f"out of date: {path} (run `coursekit build`)")
        return 1 if stale else 0
    for path in build_all(args.solutions, args.exercises):
        print(f"wrote {path}")
    return 0


def cmd_release(args) -> int:
    from .build import release

    out = release(_root(), args.out)
    print(f"student release written to {out} (no solutions, no hidden tests)")
    return 0


def cmd_grade(args) -> int:
    from .grade import grade_class, grader_errors

    from .run import Limits

    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout, memory_mb=args.memory_mb,
                    startup_timeout=args.startup_timeout)
    try:
        results = grade_class(args.submissions, args.solutions, args.out, exercises=args.exercise or None,
                              limits=limits, jobs=args.jobs, isolation=args.isolation)
    except (RuntimeError, FileNotFoundError, ValueError) as err:   # refused before anything was graded
        print(f"coursekit grade: {err}", file=sys.stderr)
        return 2
    print(f"graded {len(results)} student(s): {Path(args.out) / 'gradebook.csv'}, feedback in {Path(args.out) / 'feedback'}")
    errors = grader_errors(results)
    if errors:
        print(f"{len(errors)} notebook(s) could not be graded (status error, no total written): {', '.join(errors)}; "
              f"re-run `coursekit grade` for those students", file=sys.stderr)
        return 3
    return 0


def cmd_check(args) -> int:
    """Run a notebook's own public tests, as the student has them, and print the points."""
    import nbformat

    from .format import FormatError, cell_spec
    from .run import Limits, execute

    path = Path(args.notebook)
    if not path.is_file():
        print(f"no notebook at {path}", file=sys.stderr)
        return 2
    nb = nbformat.read(path, as_version=4)
    specs, extra = [], 0
    for cell in nb.cells:
        try:
            spec = cell_spec(cell)
        except FormatError:
            spec = None
        specs.append(spec)
        extra += spec is None and cell.cell_type == "code"
    with tempfile.TemporaryDirectory(prefix="coursekit-check-") as tmp:
        run = execute(nb, Path(tmp), Limits(cell_timeout=args.cell_timeout))
    results = run.cells
    if not results:
        print(run.log[-3000:])
        print("the notebook could not be run", file=sys.stderr)
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
    print(f"public tests: {got:g} / {total:g} points (hidden tests decide the grade)")
    if extra:
        print(f"note: {extra} code cell(s) are outside the answer cells; the grader does not run them")
    return 0 if got == total else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="coursekit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="write exercises/ from solutions/")
    p.add_argument("--solutions", type=Path, default=None)
    p.add_argument("--exercises", type=Path, default=None)
    p.add_argument("--check", action="store_true", help="only report exercises that are out of date (exit 1)")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("release", help="write the student release (no solutions, no hidden tests)")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_release)
    p = sub.add_parser("grade", help="grade a folder of submissions (one folder per student)")
    p.add_argument("submissions", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--solutions", type=Path, default=None)
    p.add_argument("--exercise", action="append", help="grade only this exercise (repeatable)")
    p.add_argument("--cell-timeout", type=int, default=60, help="seconds per cell (default 60)")
    p.add_argument("--notebook-timeout", type=int, default=900, help="wall-clock seconds per notebook (default 900)")
    p.add_argument("--memory-mb", type=int, default=4096, help="memory per submission in MiB (default 4096)")
    p.add_argument("--startup-timeout", type=int, default=120,
                   help="seconds a kernel may take to start, separate from the cell timeout (default 120)")
    p.add_argument("--jobs", type=int, default=None, help="notebooks graded at once (default: the number of cores)")
    p.add_argument("--isolation", choices=("auto", "users", "none"), default="auto",
                   help="users: each kernel as its own user in a private file system (Linux, root; refused "
                        "elsewhere); none: as the grader's user; auto (default): users where possible")
    p.set_defaults(func=cmd_grade)
    p = sub.add_parser("check", help="run your notebook's public tests and see your points")
    p.add_argument("notebook", type=Path)
    p.add_argument("--cell-timeout", type=int, default=120)
    p.set_defaults(func=cmd_check)
    args = parser.parse_args(argv)
    root = _root()
    for name in ("solutions", "exercises"):
        if hasattr(args, name) and getattr(args, name) is None:
            setattr(args, name, root / name)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
