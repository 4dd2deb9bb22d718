"""Running a real class (issue 13): one exercise graded at a time, the LMS files, a re-grade
merged into the gradebook, the CLI's one-line refusals, `coursekit build` keeping a student's
edits, and the student release (its contents, an update that keeps edited files, solutions
published after a deadline). Grading is faked here where the runs themselves are not the point
(they are graded for real in test_grading.py and test_grader_adversarial.py)."""
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from coursekit.grading import build, cli, grade, gradebook
from coursekit.grading import format as fmt
from coursekit.grading.run import Result, TestResult

from test_grading import tiny_source

ROOT = Path(__file__).resolve().parents[1]


def tiny_source_2():
    nb = tiny_source()
    for c in nb.cells:
        c.metadata["coursekit"]["id"] = c.metadata["coursekit"]["id"].replace("double", "triple")
        c.source = c.source.replace("double", "triple").replace("2 *", "3 *").replace("== 4", "== 6")
    return nb


@pytest.fixture
def course(tmp_path):
    """Two exercises; the students submitted only the second, one of them under a wrong name."""
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(tiny_source(), solutions / "00_tiny.ipynb")
    nbformat.write(tiny_source_2(), solutions / "01_triple.ipynb")
    subs = tmp_path / "subs"
    for student in ("alice", "bob", "carol"):
        (subs / student).mkdir(parents=True)
    for student in ("alice", "bob"):
        nbformat.write(tiny_source_2(), subs / student / "01_triple.ipynb")
    nbformat.write(tiny_source_2(), subs / "carol" / "01_triple (1).ipynb")
    return solutions, subs


def fake_grade(points=None):
    """grade_notebook that gives every test `points[student]` of its points (default: all)."""
    points = points or {}

    def grade_notebook(source_nb, source_specs, path, name, limits=None, isolation=None, **kwargs):
        share = points.get(Path(path).parent.name, 1.0)
        return Result(name, tests=[TestResult(s.id, s.kind, share * s.points, s.points, share == 1.0)
                                   for s in source_specs if s.is_test])
    return grade_notebook


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "coursekit.grading", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or ROOT)


# --- which exercises a run grades --------------------------------------------------------

def test_a_collection_of_one_exercise_grades_that_exercise_only(course, tmp_path, monkeypatch):
    solutions, subs = course
    monkeypatch.setattr(grade, "grade_notebook", fake_grade())
    lines = []
    results = grade.grade_class(subs, solutions, tmp_path / "out", log=lines.append, isolation="none")
    assert {e for by in results.values() for e in by} == {"01_triple"}       # not 00_tiny: nobody submitted it
    book = {r[0]: r for r in rows(tmp_path / "out" / "gradebook.csv")}
    assert book["student_id"][:5] == ["student_id", "total", "max", "status", "01_triple"]
    assert book["alice"][1:4] == ["3", "3", "ok"] and book["carol"][1:4] == ["0", "3", "invalid"]
    assert book["carol"][7] == "found 01_triple (1).ipynb, not 01_triple.ipynb"      # the detail, for you
    assert any("exercise(s): 01_triple (the ones submitted" in line for line in lines)
    feedback = (tmp_path / "out" / "feedback" / "carol.html").read_text()
    assert "01_triple (1).ipynb" in feedback and "01_triple.ipynb" in feedback    # what to rename it to


def test_exercise_choice_and_an_unknown_exercise(course, tmp_path, monkeypatch):
    solutions, subs = course
    monkeypatch.setattr(grade, "grade_notebook", fake_grade())
    results = grade.grade_class(subs, solutions, tmp_path / "out", exercises=["00_tiny", "01_triple"],
                                log=lambda *a: None, isolation="none")
    assert results["alice"]["00_tiny"].status == "invalid" and results["alice"]["01_triple"].points == 3
    with pytest.raises(grade.GradeRefused, match=r"no exercise named 02_vae: the exercises are 00_tiny, 01_triple"):
        grade.grade_class(subs, solutions, tmp_path / "o2", exercises=["02_vae"], isolation="none")


def test_no_notebook_named_after_an_exercise_is_refused_with_what_was_found(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(tiny_source(), solutions / "00_tiny.ipynb")
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    nbformat.write(tiny_source(), tmp_path / "subs" / "alice" / "homework.ipynb")
    with pytest.raises(grade.GradeRefused, match=r"no submitted notebook is named after an exercise \(00_tiny\); "
                                                 r"found homework.ipynb"):
        grade.grade_class(tmp_path / "subs", solutions, tmp_path / "out", isolation="none")
    assert not (tmp_path / "out").exists()


# --- the gradebook files an LMS imports ----------------------------------------------------

def test_the_lms_files_have_the_columns_their_importers_require(course, tmp_path, monkeypatch):
    solutions, subs = course
    monkeypatch.setattr(grade, "grade_notebook", fake_grade({"bob": 0.5}))
    grade.grade_class(subs, solutions, tmp_path / "out", log=lambda *a: None, isolation="none")
    out = tmp_path / "out"
    # Canvas: its identity columns in its order, then one column per assignment, a Points Possible row
    canvas = rows(out / "canvas.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01_triple"]
    assert canvas[1][0].strip() == "Points Possible" and canvas[1][5] == "3"
    by_login = {r[3]: r for r in canvas[2:]}
    assert by_login["alice"][5] == "3" and by_login["bob"][5] == "1.5" and by_login["carol"][5] == "0"
    # long: one row per student, exercise and test, plus a total row per exercise
    long = list(csv.DictReader((out / "grades_long.csv").open(newline="")))
    assert list(long[0]) == gradebook.LONG_COLUMNS
    bob = [r for r in long if r["student_id"] == "bob"]
    assert [(r["test"], r["points"], r["max_points"]) for r in bob] == [
        ("triple-public", "0.5", "1"), ("triple-hidden", "1", "2"), ("(total)", "1.5", "3")]
    assert json.loads((out / "results.json").read_text())["students"]["bob"]["01_triple"]["tests"][0]["points"] == 0.5


def test_a_canvas_roster_supplies_identities_and_the_assignment_column(course, tmp_path, monkeypatch):
    solutions, subs = course
    roster = tmp_path / "export.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,01_triple (4411),Quiz 1 (4400)\n"
                      "    Points Possible,,,,,3,10\n"
                      "\"Lovelace, Ada\",101,u101,alice,Sec A,,7\n"
                      "\"Babbage, Charles\",102,u102,bob,Sec A,,8\n", encoding="utf-8")
    monkeypatch.setattr(grade, "grade_notebook", fake_grade())
    lines = []
    grade.grade_class(subs, solutions, tmp_path / "out", log=lines.append, isolation="none", roster=roster)
    canvas = rows(tmp_path / "out" / "canvas.csv")
    assert canvas[0][5] == "01_triple (4411)"                                     # updates the existing assignment
    assert ["Lovelace, Ada", "101", "u101", "alice", "Sec A", "3"] in canvas
    assert any("not in the roster" in line and "carol" in line for line in lines)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,score\nalice,3\n")
    code = cli.main(["export", str(tmp_path / "out"), "--roster", str(bad)])
    assert code == 2
    # the roster is kept: an export (or a re-grade) without --roster still matches the students
    assert cli.main(["export", str(tmp_path / "out")]) == 1                        # 1: carol is unmatched
    assert rows(tmp_path / "out" / "canvas.csv") == canvas


def test_the_assignment_column_is_matched_exactly_and_a_semicolon_export_is_read(course, tmp_path, monkeypatch):
    solutions, subs = course
    roster = tmp_path / "export.csv"
    roster.write_text("\ufeffStudent;ID;SIS User ID;SIS Login ID;Section;01_triple_bonus (9);01_triple (7)\n"
                      "Student, Test;1;;;;;\n"
                      "Ada;101;u101;ALICE;A;;\n", encoding="utf-8")
    monkeypatch.setattr(grade, "grade_notebook", fake_grade())
    grade.grade_class(subs, solutions, tmp_path / "out", log=lambda *a: None, isolation="none", roster=roster)
    canvas = rows(tmp_path / "out" / "canvas.csv")
    assert canvas[0][5] == "01_triple (7)"                    # not the bonus column whose name starts alike
    assert ["Ada", "101", "u101", "ALICE", "A", "3"] in canvas    # the SIS login matched whatever its case
    twice = tmp_path / "twice.csv"
    twice.write_text("Student,ID,SIS User ID,SIS Login ID,Section,01_triple (7),01_triple (8)\n")
    with pytest.raises(ValueError, match="2 assignments named '01_triple'"):
        gradebook.write_canvas({"alice": {"01_triple": Result("01_triple")}}, tmp_path / "c.csv", twice)


def test_a_malformed_roster_is_refused_before_anything_is_graded(course, tmp_path, monkeypatch):
    solutions, subs = course
    bad = tmp_path / "bad.csv"
    bad.write_text("name,score\n")
    calls = []
    monkeypatch.setattr(grade, "grade_notebook", lambda *a, **k: calls.append(a))
    with pytest.raises(ValueError, match="not a Canvas gradebook export"):
        grade.grade_class(subs, solutions, tmp_path / "out", isolation="none", roster=bad)
    assert calls == [] and not (tmp_path / "out").exists()


def test_submissions_of_several_exercises_ask_which_to_grade(course, tmp_path, monkeypatch):
    solutions, subs = course
    nbformat.write(tiny_source(), subs / "bob" / "00_tiny.ipynb")     # one stray notebook of another exercise
    with pytest.raises(grade.GradeRefused, match=r"several exercises: 01_triple \(2 students\), 00_tiny "
                                                 r"\(1 student\); say which to grade, e.g. --exercise 01_triple"):
        grade.grade_class(subs, solutions, tmp_path / "out", isolation="none")


# --- a re-grade merged into the gradebook ------------------------------------------------

def test_a_regrade_of_one_student_is_merged_and_the_previous_gradebook_kept(course, tmp_path, monkeypatch):
    solutions, subs = course
    out = tmp_path / "out"
    monkeypatch.setattr(grade, "grade_notebook", fake_grade({"bob": 0.0}))
    grade.grade_class(subs, solutions, out, log=lambda *a: None, isolation="none")
    before = (out / "gradebook.csv").read_text()
    alice_feedback = (out / "feedback" / "alice.html").read_text()
    with pytest.raises(grade.GradeRefused, match="already holds a gradebook.*--student ID.*--overwrite"):
        grade.grade_class(subs, solutions, out, log=lambda *a: None, isolation="none")
    monkeypatch.setattr(grade, "grade_notebook", fake_grade({"bob": 1.0, "alice": 0.0}))   # alice must not change
    time.sleep(1.1)   # history folders are named by the second
    grade.grade_class(subs, solutions, out, students=["bob"], log=lambda *a: None, isolation="none")
    book = {r[0]: r for r in rows(out / "gradebook.csv")}
    assert book["bob"][1] == "3" and book["alice"][1] == "3" and book["carol"][3] == "invalid"
    kept = list((out / "history").glob("*/gradebook.csv"))
    assert len(kept) == 1 and kept[0].read_text() == before
    assert (out / "feedback" / "alice.html").read_text() == alice_feedback
    assert "re-graded on" in (out / "feedback" / "bob.html").read_text()
    regraded = rows(out / "canvas_regraded.csv")                    # to import without touching the others
    assert [r[3] for r in regraded[2:]] == ["bob"] and regraded[2][5] == "3"
    with pytest.raises(grade.GradeRefused, match="no folder for student\\(s\\) dave"):
        grade.grade_class(subs, solutions, out, students=["dave"], isolation="none")


# --- the CLI: help with defaults, one clear line for bad input ----------------------------

def test_every_option_has_help_with_its_format_and_default():
    parser = cli._parser()
    subparsers = next(a for a in parser._actions if a.choices and isinstance(a.choices, dict)).choices
    assert set(subparsers) == {"build", "release", "grade", "export", "check"}
    for name, sub in subparsers.items():
        for action in sub._actions:
            if action.dest == "help":
                continue
            assert action.help, f"coursekit {name} {action.option_strings or action.dest}: no help"
            if action.option_strings and action.default not in (None, False):
                assert str(action.default) in sub.format_help(), (name, action.dest)
    text = subparsers["grade"].format_help()
    assert "--exercise NN_topic" in text and "e.g. --exercise 02_vae" in text and "(default: 60)" in text


@pytest.mark.parametrize("args, expected", [
    (["check", "nosuch.ipynb"], "coursekit check: no such file: nosuch.ipynb"),
    (["check", "README.md"], "coursekit check: README.md is not a notebook (expected a .ipynb file"),
    (["check", "exercises"], "coursekit check: exercises is a folder; give a notebook"),
    (["grade", "nosuch", "--out", "o"], "coursekit grade: no submissions folder at nosuch"),
    (["grade", "README.md", "--out", "o"], "coursekit grade: README.md is a file; expected a folder"),
    (["export", "nosuch"], "coursekit export: no results.json in nosuch"),
])
def test_bad_input_gets_one_clear_line_and_no_traceback(args, expected):
    done = run_cli(*args)
    assert done.returncode == 2
    assert done.stderr.strip() == done.stderr.strip().splitlines()[0], done.stderr      # one line
    assert done.stderr.startswith(expected), done.stderr
    assert "Traceback" not in done.stderr


def test_a_wrong_exercise_name_and_an_existing_out_folder_are_one_line(course, tmp_path):
    solutions, subs = course
    done = run_cli("grade", subs, "--solutions", solutions, "--out", tmp_path / "o", "--exercise", "02_vae",
                   "--isolation", "none")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == ("coursekit grade: no exercise named 02_vae: the exercises are 00_tiny, 01_triple "
                                   "(solutions/NN_topic.ipynb, given without .ipynb, e.g. --exercise 00_tiny)")
    (tmp_path / "o2").mkdir()
    (tmp_path / "o2" / "gradebook.csv").write_text("student_id\n")
    done = run_cli("grade", subs, "--solutions", solutions, "--out", tmp_path / "o2", "--isolation", "none")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "already holds a gradebook" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "o2" / "gradebook.csv").read_text() == "student_id\n"      # nothing touched


def test_check_refuses_a_missing_file_fast_and_says_what_it_runs(tmp_path):
    done = run_cli("check", tmp_path / "missing.ipynb")
    assert done.returncode == 2 and "no such file" in done.stderr
    # fast: the answer comes before torch (seconds to import) or a kernel is started (it took 12 s)
    probe = subprocess.run([sys.executable, "-c", "import sys\nfrom coursekit.grading.cli import main\n"
                            f"main(['check', {str(tmp_path / 'missing.ipynb')!r}])\n"
                            "print('imported torch' if 'torch' in sys.modules else 'no torch')"],
                           capture_output=True, text=True, cwd=ROOT)
    assert probe.stdout.strip() == "no torch", probe.stdout + probe.stderr
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(nb, tmp_path / "plain.ipynb")
    done = run_cli("check", tmp_path / "plain.ipynb")
    assert done.returncode == 2 and "no public tests in this notebook" in done.stdout


# --- coursekit build keeps a student's edits ---------------------------------------------

def test_build_leaves_an_edited_exercise_alone_unless_forced(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    nbformat.write(tiny_source(), solutions / "00_tiny.ipynb")
    written, kept = build.build_all(solutions, exercises)
    assert [p.name for p in written] == ["00_tiny.ipynb"] and kept == []
    target = exercises / "00_tiny.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[1].source = "def double(x):\n    return x + x   # my answer"
    nbformat.write(nb, target)
    mine = target.read_text()
    # the solution changes (an erratum): the untouched notebook would be rebuilt, the edited one is kept
    changed = tiny_source()
    changed.cells[0].source = "# Tiny, corrected"
    nbformat.write(changed, solutions / "00_tiny.ipynb")
    written, kept = build.build_all(solutions, exercises)
    assert written == [] and kept == [target] and target.read_text() == mine
    done = run_cli("build", "--solutions", solutions, "--exercises", exercises)
    assert done.returncode == 1 and "left alone" in done.stderr and "--force" in done.stderr
    assert target.read_text() == mine
    # a notebook that was only run (outputs, no edits) is not an edit
    written, _ = build.build_all(solutions, exercises, force=True)
    nb = nbformat.read(target, as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    nbformat.write(nb, target)
    assert build.edited_exercises(solutions, exercises) == []


# --- the student release -----------------------------------------------------------------

@pytest.fixture(scope="module")
def committed_course(tmp_path_factory):
    """A git clone of the course with the working tree's files committed (the release is made
    from commits), and its first release."""
    base = tmp_path_factory.mktemp("course")
    repo = base / "course"
    names = [*build.RELEASE_INCLUDE, "solutions", build.STUDENT_FILES, ".gitignore"]
    repo.mkdir()
    for name in names:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info",
                                                                             ".ipynb_checkpoints"))
        elif src.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "course"], check=True)
    report = build.release(repo, base / "release")
    return repo, base / "release", report, git


def test_the_release_is_the_student_edition(committed_course):
    repo, out, report, _ = committed_course
    assert (out / "README.md").read_text() == (ROOT / "student" / "README.md").read_text()
    readme = (out / "README.md").read_text()
    for instructor_only in ("coursekit grade", "How an instructor grades", "hidden test code", "SUBMISSIONS",
                            "What the grader defends against", "make test"):
        assert instructor_only not in readme, instructor_only
    assert "make lab" in readme and "make check" in readme and "coursekit check" in readme
    assert (out / "exercises" / "README.md").read_text() == (ROOT / "student" / "exercises" / "README.md").read_text()
    assert "do not rename" in (out / "exercises" / "README.md").read_text()
    assert (out / "Makefile").read_text() == (ROOT / "student" / "Makefile").read_text()
    for name in ("solutions", "tests", ".ci", "student", "CONTRIBUTING.md", ".git"):
        assert not (out / name).exists(), name
    assert {p.name for p in (out / "benchmarks").glob("*")} <= {"results.json"}   # only what lecture 09 reads
    assert build.find_leaks(out, build.secrets_of(ROOT / "solutions")) == []
    manifest = json.loads((out / build.MANIFEST).read_text())
    assert manifest["commit"] == report.commit and len(report.commit) == 40
    assert set(manifest["files"]) == set(report.added) and "exercises/02_vae.ipynb" in manifest["files"]
    assert report.warnings == []


def test_the_release_makefile_offers_lab_and_check():
    done = subprocess.run(["make", "-n", "-f", str(ROOT / "student" / "Makefile"), "check", "EXERCISE=02_vae",
                           f"STAMP={ROOT / 'Makefile'}"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "coursekit check exercises/02_vae.ipynb" in done.stdout


def test_the_release_is_made_from_commits_and_warns_of_uncommitted_changes(committed_course, tmp_path):
    repo, _, _, git = committed_course
    lecture = repo / "notebooks" / "00_introduction.py"
    original = lecture.read_text()
    lecture.write_text(original + "\n# an uncommitted edit\n")
    try:
        report = build.release(repo, tmp_path / "r")
    finally:
        lecture.write_text(original)
    assert any("uncommitted" in w and "notebooks/00_introduction.py" in w for w in report.warnings)
    assert (tmp_path / "r" / "notebooks" / "00_introduction.py").read_text() == original
    with pytest.raises(FileExistsError, match="already exists: pass --update"):
        build.release(repo, tmp_path / "r")


def test_an_update_adds_and_replaces_but_keeps_what_the_student_edited(committed_course, tmp_path):
    repo, first, _, git = committed_course
    student = tmp_path / "student-copy"
    shutil.copytree(first, student)
    mine = student / "exercises" / "02_vae.ipynb"
    nb = nbformat.read(mine, as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("coursekit", {}).get("kind") == "answer")
    answer.source += "\n# my work"
    nbformat.write(nb, mine)
    my_work = mine.read_bytes()
    ran = student / "notebooks" / "01_autoencoders.ipynb"          # run, not edited: outputs only
    nb = nbformat.read(ran, as_version=4)
    next(c for c in nb.cells if c.cell_type == "code").outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    nbformat.write(nb, ran)
    # the erratum: a lecture's text, the exercise's text, a new file
    for path in (repo / "solutions" / "02_vae.ipynb", repo / "notebooks" / "03_beta_vae.ipynb"):
        nb = nbformat.read(path, as_version=4)
        next(c for c in nb.cells if c.cell_type == "markdown").source += "\n\nErratum: a corrected sentence."
        nbformat.write(nb, path)
    (repo / "notebooks" / "04_new.py").write_text("# %% [markdown]\n# A new lecture\n")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "erratum"], check=True)
    report = build.release(repo, student, update=True, publish_solutions=["00_introduction"])
    assert "notebooks/04_new.py" in report.added and "solutions/00_introduction.ipynb" in report.added
    assert "notebooks/03_beta_vae.ipynb" in report.updated
    assert [rel for rel, _ in report.kept] == ["exercises/02_vae.ipynb"] and mine.read_bytes() == my_work
    beside = list((student / "exercises").glob("02_vae.update-*.ipynb"))
    assert len(beside) == 1 and "Erratum" in beside[0].read_text()
    assert report.kept[0][1] == f"exercises/{beside[0].name}"
    assert "notebooks/01_autoencoders.ipynb" not in report.updated + report.kept   # unchanged upstream: untouched
    assert "ran" in ran.read_text()
    solved = nbformat.read(student / "solutions" / "00_introduction.ipynb", as_version=4)
    kinds = [c.metadata["coursekit"]["kind"] for c in solved.cells]
    assert "hidden-test" not in kinds and "NotImplementedError" not in "".join(
        c.source for c in solved.cells if c.metadata["coursekit"]["kind"] == "answer")
    assert build.find_leaks(student, build.secrets_of(repo / "solutions", kinds=("hidden-test",))) == []
    # a second update, nothing changed upstream: nothing is touched, the published solution stays
    again = build.release(repo, student, update=True)
    assert again.added == again.updated == again.kept == again.dropped == [] and mine.read_bytes() == my_work
    assert (student / "solutions" / "00_introduction.ipynb").is_file()
    # a fix of outputs alone (a lecture re-executed) reaches a copy whose lecture was only run
    path = repo / "notebooks" / "01_autoencoders.ipynb"
    nb = nbformat.read(path, as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code" and c.outputs)
    code.outputs = [nbformat.v4.new_output("stream", text="a corrected output\n")]
    nbformat.write(nb, path)
    subprocess.run([*git, "commit", "-qam", "outputs"], check=True)
    third = build.release(repo, student, update=True)
    assert third.updated == ["notebooks/01_autoencoders.ipynb"] and "a corrected output" in ran.read_text()
    for rel in ("exercises/00_introduction.ipynb", "solutions/00_introduction.ipynb", build.MANIFEST):
        assert (student / rel).stat().st_mode & 0o777 == 0o644, rel           # students can read what they get
    with pytest.raises(ValueError, match="no exercise named 09_nope to publish"):
        build.release(repo, tmp_path / "x", publish_solutions=["09_nope"])
    assert not (tmp_path / "x").exists()


# --- the lab and git --------------------------------------------------------------------

def test_student_data_and_instructor_output_are_ignored_by_git():
    for path in ("SUBMISSIONS/s1/02_vae.ipynb", "graded/gradebook.csv", "release/README.md"):
        done = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", path])
        assert done.returncode == 0, f"{path} is not ignored"


def test_make_lab_opens_jupyterlab_at_the_course_root_showing_the_first_lecture(tmp_path):
    """The command `make lab` runs, started for real: the server's root is the course (so
    exercises/ is reachable) and the page it opens is the first lecture."""
    done = subprocess.run(["make", "-s", "-n", "lab", f"STAMP={ROOT / 'Makefile'}"], capture_output=True, text=True,
                          cwd=ROOT)
    command = next(line for line in done.stdout.splitlines() if "jupyter lab" in line)
    assert "--ServerApp.root_dir=" in command and command.rstrip().endswith("notebooks/00_introduction.ipynb")
    import shlex
    import socket
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = shlex.split(command) + ["--no-browser", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
                                   "--IdentityProvider.token=t0k", f"--ServerApp.runtime_dir={tmp_path}"]
    server = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**__import__("os").environ, "JUPYTER_RUNTIME_DIR": str(tmp_path)})
    try:
        listing = None
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token=t0k", timeout=2) as r:
                    listing = json.load(r)
                break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not start"
        names = {item["name"] for item in listing["content"]}
        assert {"notebooks", "exercises", "README.md"} <= names, names
        opened = "".join(p.read_text() for p in tmp_path.glob("jpserver-*-open.html"))
        assert "lab/tree/notebooks/00_introduction.ipynb" in opened, opened[:300]
    finally:
        server.terminate()
        server.wait(timeout=30)


# --- an erratum does not make a kept notebook "tampered" ---------------------------------

def test_a_cell_from_an_earlier_version_or_an_edited_text_cell_is_a_note_not_tampering():
    from coursekit.grading.run import splice

    source = tiny_source()
    specs = fmt.specs(source)
    old_test = "assert double(2) == 4  # the version first released"
    submission = build.build_exercise(source, specs)
    for c in submission.cells:
        cid = c.metadata["coursekit"]["id"]
        if cid == "double-public":
            c.source = old_test
        if cid == "intro":
            c.source = "# Tiny (my notes: remember the factor 2)"
    _, notes, tampering = splice(source, specs, submission, released={"double-public": {old_test}})
    assert tampering == []
    assert any("'double-public' is from an earlier version" in n for n in notes)
    assert any("text cell 'intro' was edited; it plays no part in grading" in n for n in notes)
    _, _, tampering = splice(source, specs, submission)             # without the history it is an edit
    assert tampering == ["public-test cell 'double-public' was edited; the original was run"]


def test_earlier_versions_of_a_source_come_from_its_git_history(tmp_path):
    repo = tmp_path / "repo"
    (repo / "solutions").mkdir(parents=True)
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    source = repo / "solutions" / "00_tiny.ipynb"
    nb = tiny_source()
    nbformat.write(nb, source)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    nb.cells[2].source = "assert double(2) == 4, 'corrected'"
    nbformat.write(nb, source)
    subprocess.run([*git, "commit", "-qam", "v2"], check=True)
    texts = build.released_cells(source)
    assert texts["double-public"] == {"assert double(2) == 4", "assert double(2) == 4, 'corrected'"}
    assert "double" not in texts and "double-hidden" not in texts       # answers and hidden tests: never
    assert build.released_cells(tmp_path / "elsewhere.ipynb") == {}


def test_a_course_in_a_folder_of_a_repository_is_released_from_its_commit(committed_course, tmp_path):
    repo, _, _, _ = committed_course
    outer = tmp_path / "outer"
    shutil.copytree(repo, outer / "course", ignore=shutil.ignore_patterns(".git"))
    git = ["git", "-C", str(outer), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "course in a folder"], check=True)
    (outer / "course" / "notebooks" / "00_introduction.py").write_text("# an uncommitted edit\n")
    report = build.release(outer / "course", tmp_path / "r")
    assert len(report.commit) == 40 and any("uncommitted" in w for w in report.warnings)
    assert (tmp_path / "r" / "notebooks" / "00_introduction.py").read_text() != "# an uncommitted edit\n"
    assert (tmp_path / "r" / "README.md").read_text() == (ROOT / "student" / "README.md").read_text()
