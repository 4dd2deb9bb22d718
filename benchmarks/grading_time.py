"""Grade a class of honest submissions and print how long it takes.

    python benchmarks/grading_time.py             # 30 students, exercise 00, as many at a time as cores
    python benchmarks/grading_time.py --students 10 --jobs 1
    python benchmarks/grading_time.py --jobs 4 --burners 2   # a loaded machine: more jobs than cores, CPU burners

Each student submits the exercise with the solution's answers, so every one must get full
marks; the script fails otherwise. It prints the time, the isolation in force and every
notebook graded twice (a re-grade after `error`, `crash` or `timeout`).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coursekit.grading import grade  # noqa: E402
from coursekit.grading.build import build_exercise  # noqa: E402
from coursekit.grading.format import read_source  # noqa: E402


def solved(exercise: str):
    """The exercise with the solution's answers: a perfect submission."""
    return build_exercise(*read_source(ROOT / "solutions" / f"{exercise}.ipynb"), keep_solutions=True)


def _burn(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(i * i for i in range(10_000))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--exercise", default="00_introduction")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--burners", type=int, default=0, help="processes that only burn CPU while grading")
    args = parser.parse_args()
    import multiprocessing
    burners = [multiprocessing.Process(target=_burn, args=(7200,), daemon=True) for _ in range(args.burners)]
    for b in burners:
        b.start()
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        subs, out = Path(tmp) / "submissions", Path(tmp) / "graded"
        nb = solved(args.exercise)
        for i in range(args.students):
            (subs / f"s{i:03d}").mkdir(parents=True)
            nbformat.write(nb, subs / f"s{i:03d}" / f"{args.exercise}.ipynb")
        start = time.perf_counter()
        try:
            results = grade.grade_class(subs, ROOT / "solutions", out, exercises=[args.exercise], jobs=args.jobs,
                                        log=lambda *a: lines.append(" ".join(map(str, a))))
        finally:
            for b in burners:
                b.terminate()
        seconds = time.perf_counter() - start
    per = [r[args.exercise].seconds for r in results.values()]
    full = sum(r[args.exercise].points == r[args.exercise].max_points for r in results.values())
    print(f"{args.students} honest submissions of {args.exercise}, {args.jobs or os.cpu_count()} at a time "
          f"on {os.cpu_count()} cores: {seconds:.1f} s in all, {seconds / args.students:.2f} s per student; "
          f"one notebook takes {min(per):.1f}-{max(per):.1f} s; {full}/{args.students} got full marks; "
          f"{args.burners} CPU burner(s)")
    for line in lines:
        if line.startswith("isolation") or "->" in line or "re-grading" in line:
            print(line)
    return 0 if full == args.students else 1


if __name__ == "__main__":
    sys.exit(main())
