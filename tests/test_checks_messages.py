"""A failed check says what was expected and what came, first, without the checker's internals.

Students read these failures in JupyterLab, where IPython formats the traceback: the message must
be the first thing they see, not the last after frames of coursekit/grading/checks.py.
"""
import re
from pathlib import Path

import nbformat
import pytest
import torch

import coursekit
from coursekit.grading import checks
from coursekit.grading.checks import CheckFailed, check_close, check_shape, check_true

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TOL = "(tolerance 1e-06 + 0.0001·|expected|)"

FAILURES = [   # (the call, as a test cell writes it; the message it must fail with)
    ('check_close(1.0, 2.0, name="KL")', f"KL: expected 2, got 1 {TOL}"),
    ('check_close(float("inf"), 1.0, name="KL")', f"KL: expected 1, got inf {TOL}"),
    ('check_close(torch.tensor(float("nan")), 2.0, name="loss")', "loss: got NaN in 1 place(s); expected 2"),
    ('check_close(torch.tensor([1.0, float("nan")]), torch.tensor([1.0, 2.0]), name="loss")',
     "loss: got NaN in 1 place(s); expected a tensor of shape (2,)"),
    ('check_close(torch.tensor([1.0, 5.0, 3.0]), torch.tensor([1.0, 2.0, 3.0]), name="mu")',
     "mu: 1 of 3 values differ; the worst, at flat index 1: expected 2, got 5"),
    ('check_close(torch.zeros(2), torch.zeros(3), name="x")', "x: expected shape (3,), got (2,)"),
    ('check_close(None, 1.0, name="r")', "r: got None — did your function forget to `return` its result?"),
    ('check_close("abc", 1.0, name="s")', "s: expected a number or a tensor, got str ('abc')"),
    ('check_shape(torch.zeros(2, 3), (3, 2), name="z")', "z: expected shape (3, 2), got (2, 3)"),
    ('check_true(1 > 2, "1 should exceed 2")', "1 should exceed 2"),
]


@pytest.mark.parametrize("call, message", FAILURES, ids=[m.split(":")[0] + f"-{i}" for i, (_, m) in enumerate(FAILURES)])
def test_a_failed_check_raises_an_assertion_error_with_the_whole_message(call, message):
    with pytest.raises(AssertionError) as info:
        eval(call, {"torch": torch, "check_close": check_close, "check_shape": check_shape, "check_true": check_true})
    assert type(info.value) is CheckFailed and str(info.value) == message
    err = info.value   # no chained exception from torch's conversion in front of it
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)


def test_checks_that_hold_pass():
    check_close(torch.ones(3), torch.ones(3) + 1e-7)
    check_close(float("inf"), float("inf"))
    check_close(torch.nn.Parameter(torch.ones(2)), torch.ones(2))
    check_shape(torch.zeros(2, 3), (2, 3))
    check_true(True, "never shown")


def test_the_display_never_fails_and_starts_with_the_message(monkeypatch):
    try:
        check_close(1.0, 2.0, name="KL")
    except CheckFailed as err:
        caught = err
    lines = [ANSI.sub("", s) for s in caught._render_traceback_()]
    assert lines[0] == f"CheckFailed: KL: expected 2, got 1 {TOL}"
    assert "checks.py" not in "\n".join(lines)

    def broken(*args):
        raise RuntimeError("formatter broke")
    monkeypatch.setattr(checks, "_callers_frames", broken)   # IPython would then show no error at all
    assert [ANSI.sub("", s) for s in caught._render_traceback_()] == [f"CheckFailed: KL: expected 2, got 1 {TOL}"]


def _run_in_kernel(cells: list[str], where: Path) -> tuple[list, str]:
    """Each cell's error output (None where it ran), from a real kernel as JupyterLab's, importing
    this coursekit; and what the first cell printed."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env = {**__import__("os").environ, "PYTHONPATH": str(Path(coursekit.__file__).resolve().parents[1])}
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120,
                   resources={"metadata": {"path": str(where)}}).execute(env=env)
    errors = []
    for cell in nb.cells:
        found = [o for o in cell.outputs if o.output_type == "error"]
        errors.append(found[0] if found else None)
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    return errors, printed


def test_in_a_notebook_the_message_comes_first_and_no_checker_internals(tmp_path):
    helper = 'def my_test(x):\n    check_true(x == 4, f"x should be 4, got {x}")\n\nmy_test(3)'
    cells = ["import torch\nfrom coursekit.grading.checks import check_close, check_shape, check_true\n"
             "import coursekit.grading.checks as c\nprint(c.__file__)",
             *(call for call, _ in FAILURES), helper,
             "%xmode Plain", FAILURES[0][0], "%xmode Minimal", FAILURES[0][0]]
    messages = [m for _, m in FAILURES] + ["x should be 4, got 3", FAILURES[0][1], FAILURES[0][1]]
    errors, printed = _run_in_kernel(cells, tmp_path)
    assert errors[0] is None, errors[0]
    assert Path(printed.strip()).resolve() == Path(checks.__file__).resolve()   # the code under test
    failing = [i for i, e in enumerate(errors) if e is not None]
    assert len(failing) == len(messages), [errors[i].evalue for i in failing]
    for i, message in zip(failing, messages):
        error, cell = errors[i], cells[i]
        assert (error.ename, error.evalue) == ("CheckFailed", message)
        text = ANSI.sub("", "\n".join(error.traceback))
        lines = [line for line in text.splitlines() if line.strip()]
        shown = f"CheckFailed: {message}"
        assert shown in lines[:3], f"the message is not among the first 3 lines:\n{text}"
        assert lines[0] == shown, text
        assert text.count(shown) == 1, f"the message is shown more than once:\n{text}"
        for internal in ("checks.py", "raise ", "_as_tensor", "g64", "e64", "torch.as_tensor", "Traceback"):
            assert internal not in text, f"{internal!r} of the checker shows in:\n{text}"
        if cells[i - 1] != "%xmode Minimal":   # and where it failed: the test's own line
            assert cell.splitlines()[-1].strip() in text, text
