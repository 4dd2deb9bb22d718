"""The class run's bookkeeping (issue 12, first part), without executing a notebook: every
submitted id gets a row or a listed refusal, a grader failure writes no number and makes the
command exit non-zero, tampered wins over every other status, spreadsheet formulas are
neutralised. (The runs themselves are graded in test_grading.py and test_grader_adversarial.py.)"""
import csv
from pathlib import Path

import nbformat
import pytest

from coursekit.grading import cli, grade, run
from coursekit.grading.run import Execution, Result, TestResult

from test_grading import tiny_source


@pytest.fixture
def tiny_course(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(tiny_source(), solutions / "00_tiny.ipynb")
    subs = tmp_path / "subs"
    for student in ("alice", ".dotted", "..x", "=1+2", "bob"):
        (subs / student).mkdir(parents=True)
        nbformat.write(tiny_source(), subs / student / "00_tiny.ipynb")
    (subs / ".ipynb_checkpoints").mkdir()
    (subs / "notes.txt").write_text("not a student")
    (subs / "linked").symlink_to(subs / "alice")
    return solutions, subs


def fake_grade(failing=("bob",)):
    """grade_notebook that scores every test and raises for the students in `failing`."""
    def grade_notebook(source_nb, source_specs, path, name, limits=None, isolation=None, **kwargs):
        if Path(path).parent.name in failing:
            raise RuntimeError("the grader broke")
        return Result(name, tests=[TestResult(s.id, s.kind, s.points, s.points, True) for s in source_specs if s.is_test])
    return grade_notebook


def read_rows(path):
    with open(path, newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def test_every_submitted_id_gets_a_row_or_a_listed_refusal(tiny_course, tmp_path, monkeypatch):
    solutions, subs = tiny_course
    monkeypatch.setattr(grade, "grade_notebook", fake_grade(failing=()))
    lines = []
    grade.grade_class(subs, solutions, tmp_path / "out", jobs=2, log=lines.append, isolation="none")
    rows = read_rows(tmp_path / "out" / "gradebook.csv")
    assert set(rows) == {"alice", ".dotted", "..x", "'=1+2", "bob"}        # dotted ids are students too
    assert all(rows[s]["total"] == "3" for s in rows)
    summary = "\n".join(lines)
    for refused in (".ipynb_checkpoints", "notes.txt", "linked"):
        assert f"not graded: {refused}" in summary
    feedback = sorted(p.name for p in (tmp_path / "out" / "feedback").iterdir())
    assert len(feedback) == 5 and all(not f.startswith(".") for f in feedback)


def test_a_formula_id_or_detail_is_text_in_a_spreadsheet():
    assert grade.csv_cell("=1+2") == "'=1+2" and grade.csv_cell("+cmd") == "'+cmd"
    assert grade.csv_cell("@SUM(A1)") == "'@SUM(A1)" and grade.csv_cell("-2+3") == "'-2+3"
    assert grade.csv_cell("s1234") == "s1234" and grade.csv_cell("") == ""


def test_a_grader_failure_is_that_rows_error_writes_no_number_and_fails_the_command(tiny_course, tmp_path,
                                                                                     monkeypatch, capsys):
    solutions, subs = tiny_course
    monkeypatch.setattr(grade, "grade_notebook", fake_grade(failing=("bob",)))
    code = cli.main(["grade", str(subs), "--solutions", str(solutions), "--out", str(tmp_path / "out"),
                     "--jobs", "2", "--isolation", "none"])
    rows = read_rows(tmp_path / "out" / "gradebook.csv")
    assert rows["bob"]["status"] == "error" and rows["bob"]["total"] == "" and rows["bob"]["00_tiny"] == ""
    assert rows["bob"]["00_tiny/double-hidden"] == "" and "the grader broke" in rows["bob"]["00_tiny detail"]
    assert rows["alice"]["total"] == "3" and rows["alice"]["status"] == "ok"   # the others are graded
    assert code != 0 and "bob/00_tiny" in capsys.readouterr().err


def test_tampered_wins_over_every_other_status_in_a_row():
    order = grade.STATUS_ORDER
    assert order[0] == "tampered" and set(order) >= {"error", "memory", "timeout", "crash", "invalid", "ok"}
    both = {"a": Result("a", status="memory"), "b": Result("b", status="tampered"), "c": Result("c", status="error")}
    assert grade._overall_status(both) == "tampered"


@pytest.mark.parametrize("ending", ["memory", "timeout", "crash", "error"])
def test_a_detected_tampering_is_not_masked_by_how_the_run_ended(ending, monkeypatch, tmp_path):
    from coursekit.grading.build import build_exercise
    from coursekit.grading.format import specs as read_specs

    source = tiny_source()
    source_specs = read_specs(source, "tiny")
    submission = tmp_path / "00_tiny.ipynb"
    nbformat.write(build_exercise(source, source_specs, keep_solutions=True), submission)   # an honest notebook
    tamper = {"outcome": "failed", "ename": "GraderTamperError_abc123", "evalue": "check_close was replaced: the test"}
    cells = {1: tamper}
    killed = None
    if ending == "memory":
        cells[2] = {"outcome": "failed", "ename": "MemoryError"}
    elif ending == "timeout":
        killed = "timeout"
    elif ending == "crash":
        cells[2] = {"outcome": "failed", "kernel_alive": False}
    else:
        cells = {}          # no result at all would be the grader's error
        tamper = None
    monkeypatch.setattr(run, "execute", lambda *a, **k: Execution(cells, "", 1, killed, 0.1, token="abc123"))
    result = run.grade_notebook(source, source_specs, submission, "00_tiny")
    if tamper is None:
        assert result.status == "error"
    else:
        assert result.status == "tampered", (ending, result.status, result.detail)
        assert "replaced something the tests rely on" in result.detail and ending in result.detail
        assert "check_close was replaced" not in result.detail   # the kernel's own text is never copied


def test_an_exception_named_like_the_guards_is_no_guard_hit(monkeypatch, tmp_path):
    """Only the run's own guard exception (its name carries the run's random token) counts: answer
    code that raises a look-alike cannot put text of its choice into the detail."""
    from coursekit.grading.build import build_exercise
    from coursekit.grading.format import specs as read_specs

    source = tiny_source()
    source_specs = read_specs(source, "tiny")
    submission = tmp_path / "00_tiny.ipynb"
    nbformat.write(build_exercise(source, source_specs, keep_solutions=True), submission)
    forged = {"outcome": "failed", "ename": "GraderTamperError", "evalue": "HIDDEN TEST TEXT"}
    monkeypatch.setattr(run, "execute", lambda *a, **k: Execution({1: forged, 2: {"outcome": "passed"}}, "", 0, None,
                                                                   0.1, token="abc123"))
    result = run.grade_notebook(source, source_specs, submission, "00_tiny")
    assert result.status == "ok" and "HIDDEN" not in result.detail


@pytest.mark.parametrize("mutation", ["no cell_type", "unknown cell_type", "int source", "list of ints"])
def test_a_valid_json_notebook_with_malformed_cells_is_invalid_not_a_stopped_class(mutation, tmp_path, monkeypatch):
    import json

    from coursekit.grading.build import build_exercise
    from coursekit.grading.format import specs as read_specs

    source = tiny_source()
    source_specs = read_specs(source, "tiny")
    nb = json.loads(nbformat.writes(build_exercise(source, source_specs, keep_solutions=True)))
    cell = nb["cells"][1]
    {"no cell_type": lambda: cell.pop("cell_type"), "unknown cell_type": lambda: cell.update(cell_type="python"),
     "int source": lambda: cell.update(source=5), "list of ints": lambda: cell.update(source=[1, 2])}[mutation]()
    path = tmp_path / "00_tiny.ipynb"
    path.write_text(json.dumps(nb))
    monkeypatch.setattr(run, "execute", lambda *a, **k: pytest.fail("a malformed notebook must not be run"))
    result = run.grade_notebook(source, source_specs, path, "00_tiny")
    assert result.status == "invalid" and result.points == 0 and len(result.tests) == 2
    notes = " ".join(result.notes)
    assert "cell 1" in notes or "could not be read" in notes      # named, whichever check caught it


def test_an_honest_notebook_is_not_called_malformed():
    from coursekit.grading.build import build_exercise
    from coursekit.grading.format import specs as read_specs

    source = tiny_source()
    assert run._malformed_cells(build_exercise(source, read_specs(source, "tiny"), keep_solutions=True)) == []


def test_the_grader_reads_only_plain_files_from_the_scratch_folder_and_never_blocks(tmp_path):
    import os
    import threading

    plain = tmp_path / "report.json"
    plain.write_text('{"1": {"outcome": "passed"}}')
    assert run._read_regular_file(plain) == '{"1": {"outcome": "passed"}}'
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)                                   # a student's code can put a FIFO where a report was
    link = tmp_path / "link"
    link.symlink_to(plain)
    got = {}
    reader = threading.Thread(target=lambda: got.update(fifo=run._read_regular_file(fifo),
                                                        link=run._read_regular_file(link),
                                                        missing=run._read_regular_file(tmp_path / "gone")))
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "reading a FIFO blocked the grader"
    assert got == {"fifo": None, "link": None, "missing": None}


@pytest.mark.slow
def test_a_fifo_in_place_of_the_log_does_not_stop_the_grader(tmp_path):
    # End to end (one real run, ~10 s) without the sandbox, where the kernel can reach the
    # grader's folder beside its scratch: a cell replaces the run's log with a FIFO. The grader
    # reads its log through the descriptor it wrote, so the run finishes and later cells count.
    import threading

    sabotage = ("import os\nfor name in ('pytest.log', 'report.json.tmp', 'report.json'):\n"
                "    path = os.path.join('..', 'grader', name)\n"
                "    if os.path.exists(path):\n        os.remove(path)\n    os.mkfifo(path)\nx = 1\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(sabotage), nbformat.v4.new_code_cell("assert x == 1")])
    out = {}
    worker = threading.Thread(target=lambda: out.update(ran=run.execute(nb, tmp_path, run.Limits(cell_timeout=60))))
    worker.start()
    worker.join(timeout=300)
    assert not worker.is_alive(), "a FIFO in the grader's folder blocked the grader"
    assert (tmp_path / "grader" / "pytest.log").is_fifo()   # the sabotage did happen; the report was replaced
    # by the grader's own file when the next cell finished
    assert [out["ran"].cells[i]["outcome"] for i in (0, 1)] == ["passed", "passed"], out["ran"].log[-2000:]


def test_odd_cell_metadata_makes_a_notebook_invalid_not_a_grader_error(tmp_path):
    source = tiny_source()
    from coursekit.grading.format import specs as read_specs
    source_specs = read_specs(source, "tiny")
    for metadata in ([], {"tags": 5}, {"coursekit": "answer"}):
        nb = tiny_source()
        raw = nbformat.writes(nb)
        import json
        data = json.loads(raw)
        data["cells"][1]["metadata"] = metadata
        path = tmp_path / "00_tiny.ipynb"
        path.write_text(json.dumps(data))
        result = run.grade_notebook(source, source_specs, path, "00_tiny")
        notes = " ".join(result.notes)
        assert result.status == "invalid" and ("malformed" in notes or "could not be read" in notes), (metadata, notes)
