"""Grade mutants of an exercise's solution: the proof that its tests separate right from subtly wrong.

A mutant is the solution with one slip a student makes (a flipped sign, a missing ½, a sum
over the wrong axis, log-mean-exp without the shift, an off-by-one, a transposed matrix):

    Mutant("kl", "0.5 * torch.sum", "torch.sum", "the ½ left out")

`grade_mutants(source, mutants)` puts each mutant's answer into the exercise, builds the
notebook the grader's verification run executes (`run.two_runs`: the answer cells' screened
definitions, then every test, public and hidden), and runs it the way that run does: seeds
fixed at the start and re-set before each test cell to the cell's number. To take seconds per
mutant rather than two kernels each, it runs in one Python process per exercise: the cells
before the first answer (the set-up, often a trained model) run once, then the solution and
each mutant run in a child forked from that state. It returns the points each variant scores;
`tests/test_exercise_mutants.py` asserts that the solution scores full points and that every
mutant loses some. (It is not the kernel: IPython magics in locked or test cells are not run.
Linux and macOS, which can fork.)

A mutant can be given the test meant to catch it (`Mutant(..., stop_after="kl-public")`): its
child then stops once that test's cell has run, so a slip in an early answer does not pay for
the later answers' training cells. Its `Graded` says so (`complete=False`) and holds the tests
up to there: a test that scored 0 stays 0 whatever runs later, so "it lost points" is decided,
but `points` is not the grade. The solution always runs to the end.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import random
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Mutant", "Graded", "grade_mutants", "apply_mutant"]


@dataclass(frozen=True)
class Mutant:
    """The solution with `old` replaced by `new` in answer cell `answer` (`old` must occur
    exactly once there, so a mutant cannot silently stop applying when the solution changes)."""

    answer: str
    old: str
    new: str
    what: str
    stop_after: str | None = None   # a test id: stop this mutant's run once that test's cell has run


@dataclass
class Graded:
    """What one variant (the solution, or a mutant) scored, test by test."""

    what: str
    points: float
    max_points: float
    tests: dict[str, float] = field(default_factory=dict)   # test id -> points
    failures: dict[str, str] = field(default_factory=dict)  # test id -> the first line of its error
    error: str = ""                                          # the child itself failed (not a test)
    complete: bool = True                                    # False: stopped after the mutant's `stop_after` test

    @property
    def lost_points(self) -> bool:
        """Some test that ran scored 0 (each test scores all its points or none): decided even when the
        run stopped early, where `points < max_points` is not."""
        return any(p == 0.0 for p in self.tests.values())


def apply_mutant(source_nb, specs, mutant: Mutant | None):
    """The source notebook with `mutant` applied to its answer cell (a copy)."""
    import copy

    nb = copy.deepcopy(source_nb)
    if mutant is None:
        return nb
    cells = [c for c, s in zip(nb.cells, specs) if s.kind == "answer" and s.id == mutant.answer]
    if not cells:
        raise ValueError(f"mutant {mutant.what!r}: no answer cell {mutant.answer!r}")
    count = cells[0].source.count(mutant.old)
    if count != 1:
        raise ValueError(f"mutant {mutant.what!r}: {mutant.old!r} occurs {count} times in answer {mutant.answer!r} "
                         f"(expected exactly once)")
    cells[0].source = cells[0].source.replace(mutant.old, mutant.new)
    return nb


def _seed(seed: int) -> None:
    import numpy
    import torch

    random.seed(seed)
    numpy.random.seed(seed)
    torch.manual_seed(seed)


def _exec(number: int, source: str, namespace: dict) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, f"<cell {number}>", "exec"), namespace)  # noqa: S102 - the course's own cells


def _run_cells(cells, namespace: dict, tests: dict[int, tuple[str, float]]) -> tuple[dict[str, float], dict[str, str]]:
    """Execute `cells` [(code number, source)] in `namespace`; a test cell (its code number in
    `tests`) starts from seed = its number and scores its points when it raises nothing."""
    points, failures = {}, {}
    for number, source in cells:
        test = tests.get(number)
        if test is not None:
            _seed(number)
        try:
            _exec(number, source, namespace)
        except Exception as err:  # noqa: BLE001 - a failing cell is a failing test (or a broken answer)
            if test is not None:
                points[test[0]] = 0.0
                failures[test[0]] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:300]
            continue
        if test is not None:
            points[test[0]] = test[1]
    return points, failures


def _variant_cells(source_nb, specs, mutant):
    """(code cells [(number, source)], tests {number: (id, points)}) of the verification run, the cells
    cut after the mutant's `stop_after` test where it names one."""
    from .run import splice, two_runs

    nb = apply_mutant(source_nb, specs, mutant)
    spliced, _, _ = splice(source_nb, specs, nb)
    _, verify, flags, _ = two_runs(spliced, source_nb, specs)
    if flags:
        raise ValueError(f"{mutant.what if mutant else 'the solution'}: the screen flags it ({'; '.join(flags)}); "
                         f"a mutant must be an honest mistake")
    cells, tests, number = [], {}, 0
    for cell, spec in zip(verify.cells, specs):
        if cell.cell_type != "code":
            continue
        cells.append((number, cell.source))
        if mutant is not None and spec.kind == "answer" and spec.id == mutant.answer:
            answer_number = number
        if spec.is_test:
            tests[number] = (spec.id, float(spec.points))
        number += 1
    if mutant is not None and mutant.stop_after is not None:
        stop = [n for n, (tid, _) in tests.items() if tid == mutant.stop_after]
        if len(stop) != 1:
            raise ValueError(f"mutant {mutant.what!r}: stop_after={mutant.stop_after!r} names no test of the exercise "
                             f"(tests: {', '.join(tid for tid, _ in tests.values())})")
        if stop[0] < answer_number:
            raise ValueError(f"mutant {mutant.what!r}: its test {mutant.stop_after!r} comes before its answer "
                             f"{mutant.answer!r}, so it cannot catch it")
        cells = [(n, s) for n, s in cells if n <= stop[0]]
        tests = {n: t for n, t in tests.items() if n <= stop[0]}
    return cells, tests


def _fork_variant(prepared, first_answer: int, namespace: dict) -> tuple[int, int]:
    """Run one variant's cells (from the first answer on) in a child forked from the set-up's
    state; returns (the pipe its JSON report comes through, the child's pid)."""
    cells, tests = prepared
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: run this variant from the set-up's state, report, and leave
        try:
            os.close(read)
            import torch
            torch.set_num_threads(1)
            points, failures = _run_cells([(n, s) for n, s in cells if n >= first_answer], dict(namespace), tests)
            payload = {"points": points, "failures": failures}
        except BaseException:  # noqa: BLE001 - reported to the parent as this variant's error
            payload = {"error": traceback.format_exc()[-2000:]}
        with os.fdopen(write, "w") as f:
            json.dump(payload, f)
        os._exit(0)
    os.close(write)
    return read, pid


def grade_mutants(source: Path, mutants: list[Mutant], timeout: float = 300.0, jobs: int | None = None) -> list[Graded]:
    """Grade the solution and every mutant of the exercise at `source` (a solutions/NN_topic.ipynb);
    returns [the solution's Graded, then one per mutant, in order; a mutant with `stop_after` is graded up
    to that test's cell, `complete=False` unless it is the last test]. The variants run `jobs` at a
    time (default: the number of CPU cores), each in its own child on one thread: the same
    results as one at a time, since every child starts from the same state and seeds."""
    import select
    import signal
    import time

    from .format import read_source

    source = Path(source).resolve()
    source_nb, specs = read_source(source)
    variants = [None, *mutants]
    prepared = [_variant_cells(source_nb, specs, m) for m in variants]   # every mutant applies, before any runs
    first_answer = next(i for i, s in enumerate(s for c, s in zip(source_nb.cells, specs) if c.cell_type == "code")
                        if s.kind == "answer")
    max_points = sum(float(s.points) for s in specs if s.is_test)
    os.environ.setdefault("MPLBACKEND", "Agg")
    here = os.getcwd()
    os.chdir(source.parent)   # where the grader's kernel would find the same relative paths
    try:
        namespace: dict = {"__name__": "__main__"}
        _seed(0)
        for number, src in prepared[0][0]:
            if number >= first_answer:
                break
            try:
                _exec(number, src, namespace)
            except Exception as err:
                raise RuntimeError(f"{source.name}: the set-up cell {number} failed ({type(err).__name__}: {err})") from err
        jobs = max(1, min(jobs or os.cpu_count() or 1, len(variants)))
        payloads: list[dict | None] = [None] * len(variants)
        waiting = list(range(len(variants)))
        running: dict[int, tuple[int, int, float, list[bytes]]] = {}   # pipe -> (variant, pid, deadline, chunks)
        while waiting or running:
            while waiting and len(running) < jobs:   # `jobs` children at a time, each on one thread
                i = waiting.pop(0)
                pipe, pid = _fork_variant(prepared[i], first_answer, namespace)
                running[pipe] = (i, pid, time.monotonic() + timeout, [])
            left = min(deadline for _, _, deadline, _ in running.values()) - time.monotonic()
            ready = select.select(list(running), [], [], max(0.0, left))[0]
            for pipe in ready:
                i, pid, _, chunks = running[pipe]
                chunk = os.read(pipe, 1 << 16)
                if chunk:
                    chunks.append(chunk)
                    continue
                del running[pipe]
                os.close(pipe)
                os.waitpid(pid, 0)
                try:
                    payloads[i] = json.loads(b"".join(chunks).decode() or '{"error": "the child died without a report"}')
                except ValueError:
                    payloads[i] = {"error": "the child's report was unreadable"}
            for pipe, (i, pid, deadline, _) in list(running.items()):
                if pipe not in ready and time.monotonic() >= deadline:
                    os.kill(pid, signal.SIGKILL)
                    del running[pipe]
                    os.close(pipe)
                    os.waitpid(pid, 0)
                    payloads[i] = {"error": "timed out after %g s" % timeout}
        results = []
        all_tests = len(prepared[0][1])
        for mutant, payload, (_, tests) in zip(variants, payloads, prepared):
            what = mutant.what if mutant else "the solution"
            points = {tid: float(p) for tid, p in payload.get("points", {}).items()}
            error = payload.get("error", "")
            results.append(Graded(what, sum(points.values()), max_points, points, payload.get("failures", {}), error,
                                  complete=len(tests) == all_tests))
        return results
    finally:
        os.chdir(here)


def _main(argv: list[str]) -> int:   # python -m coursekit.grading.mutants SOURCE: the solution's points
    graded = grade_mutants(Path(argv[0]), [])
    for g in graded:
        print(f"{g.what}: {g.points:g}/{g.max_points:g} {g.failures or ''} {g.error}")
    return 0 if all(math.isclose(g.points, g.max_points) for g in graded) else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
