"""Graded exercises end to end: format, build, release, grading, gradebook, feedback, check."""
import copy
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from coursekit.grading import build, format as fmt, grade
from coursekit.grading.run import Limits, Result, TestResult

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9]*.ipynb"))


def cell(kind, cid, source, points=0, md=False):
    c = nbformat.v4.new_markdown_cell(source) if md else nbformat.v4.new_code_cell(source)
    c.metadata["coursekit"] = {"id": cid, "kind": kind, **({"points": points} if points else {})}
    return c


def tiny_source():
    return nbformat.v4.new_notebook(cells=[
        cell("locked", "intro", "# Tiny", md=True),
        cell("answer", "double", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
        cell("public-test", "double-public", "assert double(2) == 4", points=1),
        cell("hidden-test", "double-hidden", "assert double(-3) == -6 and double(0.5) == 1.0", points=2),
    ])


# --- the authoring format --------------------------------------------------------------

def test_format_validation_names_the_problem():
    nb = tiny_source()
    assert [s.kind for s in fmt.specs(nb)] == ["locked", "answer", "public-test", "hidden-test"]
    bad = copy.deepcopy(nb)
    del bad.cells[0].metadata["coursekit"]
    with pytest.raises(fmt.FormatError, match="cell 0 has no coursekit metadata"):
        fmt.specs(bad)
    bad = copy.deepcopy(nb)
    bad.cells[3].metadata["coursekit"]["id"] = "double-public"
    with pytest.raises(fmt.FormatError, match="'double-public' is used by more than one cell"):
        fmt.specs(bad)
    bad = copy.deepcopy(nb)
    del bad.cells[2].metadata["coursekit"]["points"]
    with pytest.raises(fmt.FormatError, match="a test needs points > 0"):
        fmt.specs(bad)
    bad = copy.deepcopy(nb)
    bad.cells[1].source = bad.cells[1].source.replace("    ### END SOLUTION", "")
    with pytest.raises(fmt.FormatError, match="without an '### END SOLUTION'"):
        fmt.specs(bad)
    bad = copy.deepcopy(nb)
    bad.cells[1].metadata["coursekit"]["kind"] = "solution"
    with pytest.raises(fmt.FormatError, match="kind must be one of"):
        fmt.specs(bad)


def test_stub_replaces_the_solution_at_its_indentation():
    stub = fmt.stub_source(tiny_source().cells[1].source, "double")
    assert "return 2 * x" not in stub and "BEGIN SOLUTION" not in stub
    assert '    raise NotImplementedError("Exercise double is not solved yet' in stub
    compile(stub, "<stub>", "exec")


def test_built_exercise_has_stubs_no_hidden_tests_no_outputs_and_locked_cells():
    nb = tiny_source()
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="old output")]
    nb.cells[2].execution_count = 3
    ex = build.build_exercise(nb, fmt.specs(nb))
    ids = [c.metadata["coursekit"]["id"] for c in ex.cells]
    assert ids == ["intro", "double", "double-public"]
    assert "return 2 * x" not in ex.cells[1].source
    assert ex.cells[2].outputs == [] and ex.cells[2].execution_count is None
    assert ex.cells[1].metadata["editable"] is True
    assert ex.cells[0].metadata["editable"] is False and ex.cells[2].metadata["deletable"] is False


def test_committed_exercises_are_built_from_their_solutions():
    assert SOLUTIONS, "solutions/ holds no exercise"
    assert build.out_of_date(ROOT / "solutions", ROOT / "exercises") == [], "run `coursekit build`"


# --- the student release ----------------------------------------------------------------

def test_release_has_the_student_edition_and_no_secret(tmp_path):
    out = build.release(ROOT, tmp_path / "release").out
    for name in ("README.md", "LICENSE", "pyproject.toml", "coursekit", "notebooks", "exercises"):
        assert (out / name).exists(), name
    for name in ("solutions", "tests", ".ci"):
        assert not (out / name).exists(), name
    # of benchmarks/ only the committed results lecture 09 reads
    assert {p.name for p in (out / "benchmarks").glob("*")} <= {"results.json"}
    secrets = build.secrets_of(ROOT / "solutions")
    assert len(secrets) >= len(SOLUTIONS) * 2
    assert build.find_leaks(out, secrets) == []
    # the search finds a secret that does slip in, in a notebook or any other file
    planted = out / "notebooks" / "leak.txt"
    planted.write_text("notes:\n" + secrets[0][1])
    assert [where for _, where in build.find_leaks(out, secrets)] == ["notebooks/leak.txt"]
    with pytest.raises(FileExistsError, match="already exists"):
        build.release(ROOT, out)


# --- grading a class --------------------------------------------------------------------

FILLED_ANSWERS = {
    # Task 1 right, Task 2 right on the public test but wrong on zeros, Task 3 left as the stub
    "gaussian-kl": "def gaussian_kl(mu_q, sigma_q, mu_p, sigma_p):\n"
                   "    return torch.log(sigma_p / sigma_q) + (sigma_q**2 + (mu_q - mu_p)**2) / (2 * sigma_p**2) - 0.5",
    "categorical-kl": "def categorical_kl(p, q):\n    return (p * (p / q).log()).sum(-1)",
}


def with_answers(nb, answers):
    nb = copy.deepcopy(nb)
    for c in nb.cells:
        cid = c.metadata.get("coursekit", {}).get("id")
        if cid in answers:
            c.source = answers[cid]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory, isolation_mode, pytestconfig):
    """One class, graded once: two copies of the solution, the untouched exercise, a filled-in
    submission with tampering, and one that hides its errors.

    A solution graded here with full points and every code cell passed in both runs (the student's
    notebook runs every cell but the hidden tests, the verification run every test) has run in
    full: nbval does not execute solutions/NN_topic.ipynb a second time (../conftest.py)."""
    subs = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("graded")
    exercise = nbformat.read(ROOT / "exercises" / "00_introduction.ipynb", as_version=4)
    # the exercise with the solution's answers: a perfect student, every exercise; and a second perfect student on
    # the first exercise only (the same points twice: grading is deterministic; once per exercise would re-run every
    # exercise's set-up, minutes of CI, for what tests/test_exercise_mutants.py already grades per exercise)
    for student, paths in (("sol1", SOLUTIONS), ("sol2", SOLUTIONS[:1])):
        (subs / student).mkdir()
        for path in paths:
            nbformat.write(build.build_exercise(*fmt.read_source(path), keep_solutions=True), subs / student / path.name)
    (subs / "blank").mkdir()
    for path in SOLUTIONS:
        (subs / "blank" / path.name).write_bytes((ROOT / "exercises" / path.name).read_bytes())
    filled = with_answers(exercise, FILLED_ANSWERS)
    for c in filled.cells:  # tampering: a public test edited to pass, a new cell added
        if c.metadata["coursekit"]["id"] == "floor-public":
            c.source = "assert True"
    filled.cells.append(nbformat.v4.new_code_cell("print('my scratch work')"))
    (subs / "filled").mkdir()
    nbformat.write(filled, subs / "filled" / "00_introduction.ipynb")
    sneaky = with_answers(exercise, {
        "gaussian-kl": "get_ipython().showtraceback = lambda *a, **k: None\n"
                       "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)\n"
                       "def gaussian_kl(mu_q, sigma_q, mu_p, sigma_p):\n    return mu_q * 0 + 0.5"})
    (subs / "sneaky").mkdir()
    nbformat.write(sneaky, subs / "sneaky" / "00_introduction.ipynb")
    results = grade.grade_class(subs, ROOT / "solutions", out, exercises=[p.stem for p in SOLUTIONS],
                                limits=Limits(cell_timeout=120), log=lambda *a: None,
                                isolation=isolation_mode)
    ran_in_full = getattr(pytestconfig, "coursekit_solutions_ran_in_full", None)
    for path in SOLUTIONS if ran_in_full is not None else ():
        r = results["sol1"][path.stem]
        if r.status == "ok" and r.points == r.max_points and r.cells_not_passed == []:
            ran_in_full[path.name] = r.seconds
    return results, out


def test_solution_gets_full_points_twice_and_the_exercise_gets_zero_on_every_test(graded):
    results, _ = graded
    for path in SOLUTIONS:
        name = path.stem
        for student in ("sol1", "sol2") if path == SOLUTIONS[0] else ("sol1",):
            r = results[student][name]
            assert r.status == "ok", (student, name, r.notes)
            assert [t.passed for t in r.tests] == [True] * len(r.tests), (student, name, r.tests)
            assert r.points == r.max_points > 0
            assert r.cells_not_passed == [], (student, name, r.cells_not_passed)   # every cell ran, in both runs
        blank = results["blank"][name]
        assert blank.status == "ok"
        assert [(t.id, t.points) for t in blank.tests] == [(t.id, 0.0) for t in blank.tests]
        assert {t.kind for t in blank.tests} == {"public-test", "hidden-test"}


def test_filled_in_submission_scores_by_test_and_tampering_changes_nothing(graded):
    r = graded[0]["filled"]["00_introduction"]
    points = {t.id: t.points for t in r.tests}
    assert points == {"gaussian-kl-public": 2, "gaussian-kl-hidden": 3, "categorical-kl-public": 2,
                      "categorical-kl-hidden": 0, "floor-public": 0, "floor-hidden": 0}
    assert r.points == 7
    # the failing tests are the cells that did not pass: the floor's public test in both runs and the
    # hidden tests of the wrong categorical KL and the unsolved floor in the verification run
    assert r.cells_not_passed == [f"{run}: code cell {n} failed" for run, n in (
        ("your notebook", 8), ("the verification run", 6), ("the verification run", 8),
        ("the verification run", 9))], r.cells_not_passed
    assert any("'floor-public' was edited; the original was run" in n for n in r.notes)
    assert any("1 code cell(s) you added" in n for n in r.notes)


def test_suppressed_tracebacks_cannot_turn_a_failure_into_a_pass(graded, tmp_path):
    r = graded[0]["sneaky"]["00_introduction"]   # flagged by the screen: nothing counts until reviewed
    assert r.status == "tampered" and "get_ipython" in r.detail and r.points == 0
    # and where such code runs anyway (the student's own notebook), the kernel's reply still decides
    from coursekit.grading.run import execute
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "get_ipython().showtraceback = lambda *a, **k: None\n"
        "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)"),
        nbformat.v4.new_code_cell("assert 1 == 2, 'a failing test'")])
    ran = execute(nb, tmp_path, Limits(cell_timeout=60))
    assert ran.cells[1]["outcome"] == "failed" and ran.cells[1]["suppressed"]


def test_a_locked_cell_that_raises_costs_no_points_but_is_listed(tmp_path):
    """What lets nbval skip a solution graded here: a cell that is no test (a locked cell after an
    answer) raising in either run is listed, so such a solution is not taken as run in full."""
    from coursekit.grading.run import grade_notebook
    source = tiny_source()
    source.cells.insert(2, cell("locked", "broken", "raise RuntimeError('a locked cell fails')"))
    nbformat.write(build.build_exercise(source, fmt.specs(source), keep_solutions=True), tmp_path / "sub.ipynb")
    r = grade_notebook(source, fmt.specs(source), tmp_path / "sub.ipynb", "tiny", limits=Limits(cell_timeout=60))
    assert (r.status, r.points, r.max_points) == ("ok", 3, 3)
    assert r.cells_not_passed == ["your notebook: code cell 1 failed", "the verification run: code cell 1 failed"]


def test_gradebook_has_a_row_per_student_and_lms_columns(graded):
    results, out = graded
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [r["student_id"] for r in rows] == sorted(results)
    by = {r["student_id"]: r for r in rows}
    full = sum(r.max_points for r in results["sol1"].values())
    assert by["sol1"]["total"] == by["sol1"]["max"] == f"{full:g}"
    assert by["sol1"]["00_introduction max"] == "17"
    assert by["blank"]["total"] == "0" and by["filled"]["total"] == "7"
    assert by["filled"]["00_introduction/gaussian-kl-hidden"] == "3"
    assert by["filled"]["00_introduction/floor-public"] == "0"


def test_feedback_shows_public_messages_and_hides_hidden_tests(graded):
    _, out = graded
    text = (out / "feedback" / "filled.html").read_text()
    assert "7 / 17" in text and "categorical-kl-hidden (hidden)" in text
    assert "NotImplementedError: Exercise floor is not solved yet" in text  # a public test's message
    for path in SOLUTIONS:
        for where, secret in build.secrets_of(ROOT / "solutions"):
            for line in secret.splitlines():
                if len(line.strip()) > 25:
                    assert line.strip() not in text, f"feedback leaks {where}: {line.strip()}"


def test_gradebook_is_written_atomically(tmp_path, monkeypatch):
    good = {"s1": {"ex": Result("ex", tests=[TestResult("t", "public-test", 1, 1, True)])}}
    path = tmp_path / "gradebook.csv"
    grade.write_gradebook(good, path)
    before = path.read_text()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        grade.write_gradebook({"s2": good["s1"]}, path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["gradebook.csv"]


def test_student_check_command_reports_public_points(tmp_path):
    exercise = ROOT / "exercises" / "00_introduction.ipynb"
    blank = subprocess.run([sys.executable, "-m", "coursekit.grading", "check", str(exercise)],
                           capture_output=True, text=True, cwd=tmp_path)
    assert blank.returncode == 1
    assert "public tests: 0 / 7 points" in blank.stdout
    assert "FAIL  gaussian-kl-public" in blank.stdout and "NotImplementedError" in blank.stdout
