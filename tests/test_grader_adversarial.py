"""The adversarial suite: hostile submissions graded in one class beside honest ones, on a
loaded machine (more jobs than cores while CPU burners run).

Each hostile notebook must get its expected status and score, and the honest ones full marks.
The cases cover every class of attack the grader defends against (see README, "What the
grader defends against"): raising one's own grade from inside the kernel, masking a status,
reading the hidden tests, stopping the class, changing a classmate's grade, odd files. Cases
that need the per-user sandbox (root on Linux) are checked only where it is active, and the
run says so. Limits are tight here (10 s per cell, 1.5 GB) so the suite stays quick.

Points of exercise 00: gaussian-kl 2 public + 3 hidden, categorical-kl 2 + 3, floor 3 + 4 = 17.
"""
import copy
import csv
import hashlib
import multiprocessing
import os
import sys
import time
from pathlib import Path

import nbformat
import pytest

from coursekit.grading import grade
from coursekit.grading.build import build_exercise
from coursekit.grading.format import read_source
from coursekit.grading.run import Limits
from coursekit.grading.sandbox import SANDBOX_UIDS, uid_processes

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = "00_introduction"
LIMITS = Limits(cell_timeout=10, notebook_timeout=150, memory_mb=1500, output_kb=256)
JOBS, BURNERS = 4, 1   # more jobs than this machine's cores, and a process that only burns CPU
HIDDEN_MARKERS = ("Monte-Carlo estimate", "400_000", "gaussian_kl vs Monte Carlo", "KL with p_k = 0 terms")
DAEMON_MARK = "coursekit-adversarial-daemon"

WRONG_KL = "def gaussian_kl(mu_q, sigma_q, mu_p, sigma_p):\n    return mu_q * 0 + 0.5"


def solved():
    """The exercise with the solution's answers: an honest, perfect submission."""
    return build_exercise(*read_source(ROOT / "solutions" / f"{EXERCISE}.ipynb"), keep_solutions=True)


def blank_nb():
    """The exercise as handed out: every answer a stub that raises NotImplementedError."""
    return build_exercise(*read_source(ROOT / "solutions" / f"{EXERCISE}.ipynb"))


def cell_by_id(nb, cid):
    return next(c for c in nb.cells if c.metadata.get("coursekit", {}).get("id") == cid)


def answer(source_prefix="", kl_source=None):
    """A perfect submission whose gaussian-kl answer is replaced or prefixed."""
    nb = solved()
    c = cell_by_id(nb, "gaussian-kl")
    c.source = source_prefix + (kl_source if kl_source is not None else c.source)
    return nb


def late(source_prefix):
    """A perfect submission whose last answer (floor) starts with `source_prefix`: flagged code
    there leaves the first two tasks counting, so the notebook runs and the code with it."""
    nb = solved()
    c = cell_by_id(nb, "floor")
    c.source = source_prefix + c.source
    return nb


def blank(source_prefix):
    """A blank submission (nothing solved) whose first answer cell starts with `source_prefix`."""
    nb = blank_nb()
    c = cell_by_id(nb, "gaussian-kl")
    c.source = source_prefix + c.source
    return nb


def edit_test(new_source):
    nb = answer(kl_source=WRONG_KL)
    cell_by_id(nb, "gaussian-kl-public").source = new_source
    return nb


def retag(tags=None, marker=None):
    nb = answer(kl_source=WRONG_KL)
    c = cell_by_id(nb, "gaussian-kl-public")
    if tags:
        c.metadata["tags"] = tags
    if marker:
        c.source = f"# {marker}\n" + c.source
    return nb


def deleted():
    nb = answer(kl_source=WRONG_KL)
    nb.cells = [c for c in nb.cells if c.metadata["coursekit"]["id"] != "gaussian-kl-public"]
    return nb


def duplicated():
    nb = answer(kl_source=WRONG_KL)
    i = next(i for i, c in enumerate(nb.cells) if c.metadata["coursekit"]["id"] == "gaussian-kl-public")
    fake = copy.deepcopy(nb.cells[i])
    fake.source = "pass"
    nb.cells.insert(i, fake)
    return nb


def moved():
    nb = answer(kl_source=WRONG_KL)
    i = next(i for i, c in enumerate(nb.cells) if c.metadata["coursekit"]["id"] == "gaussian-kl-public")
    nb.cells.append(nb.cells.pop(i))
    return nb


def points_edited():
    nb = solved()
    cell_by_id(nb, "floor-public").metadata["coursekit"]["points"] = 100
    return nb


def malformed_cells():
    nb = solved()
    raw = nbformat.writes(nb)
    import json
    data = json.loads(raw)
    del data["cells"][3]["cell_type"]
    data["cells"][4]["source"] = 42
    return json.dumps(data).encode()


MONKEYPATCH = ("import coursekit.grading.checks as _c, torch as _t\n"
               "_c.check_close = lambda *a, **k: None\ncheck_close = lambda *a, **k: None\n"
               "_t.allclose = lambda *a, **k: True\n")
SUPPRESS = ("get_ipython().showtraceback = lambda *a, **k: None\n"
            "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n")
# raising one's own grade from inside the kernel: each would turn a blank submission into full marks
INPUT_TRANSFORMER = "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
FORGED_REPLIES = ("_kernel = get_ipython().kernel\n_real = _kernel.do_execute\n"
                  "async def _always_ok(code, silent, *args, **kwargs):\n"
                  "    await _real('pass', silent, *args, **kwargs)\n"
                  "    return {'status': 'ok', 'execution_count': 1, 'user_expressions': {}, 'payload': []}\n"
                  "_kernel.do_execute = _always_ok\n")
SHADOWED_GLOBALS = "def globals():\n    return {}\n\ncheck_close = check_shape = check_true = lambda *a, **k: None\n"
GUARD_REPLACED = ("for _name in list(globals()):\n    if _name.startswith('_grader_guard'):\n"
                  "        globals()[_name] = lambda *a, **k: None\n") + MONKEYPATCH
RUN_CELL_HOOK = ("import torch as _t\n_real_close = _t.allclose\n"
                 "def _patch(info):\n    _t.allclose = lambda *a, **k: True\n"
                 "get_ipython().events.register('pre_run_cell', _patch)\n")
PROFILE_HOOK = ("import sys\ndef _tracer(frame, event, arg):\n"
                "    if event == 'call' and frame.f_code.co_name == 'check_close':\n"
                "        frame.f_globals['_skip'] = True\n    return None\nsys.setprofile(_tracer)\n")
REBOUND_BUILTIN = "def bool(x):\n    return True\n\n"
# the same, hidden inside the definitions the verification run keeps
TORCH_FUNCTION_MODE = '''\
def gaussian_kl(mu_q, sigma_q, mu_p, sigma_p):
    from torch.overrides import TorchFunctionMode

    class Agree(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func.__name__ in ("sub", "__sub__", "abs", "gt", "__gt__"):
                return torch.zeros(())
            return func(*args, **(kwargs or {}))
    Agree().__enter__()
    return mu_q * 0 + 0.5
'''
LYING_FLOAT = '''\
class Agreeable(float):
    def __sub__(self, other):
        return 0.0
    __rsub__ = __sub__

def gaussian_kl(mu_q, sigma_q, mu_p, sigma_p):
    return Agreeable(0.5)
'''
PATCH_IN_FUNCTION = '''\
def gaussian_kl(mu_q, sigma_q, mu_p, sigma_p):
    torch.Tensor.__sub__ = lambda a, b: torch.zeros(())
    return mu_q * 0 + 0.5
'''
GLOBAL_IN_FUNCTION = '''\
def gaussian_kl(mu_q, sigma_q, mu_p, sigma_p):
    global check_close
    check_close = lambda *a, **k: None
    return mu_q * 0 + 0.5
'''
REFERENCE_PATCHED = '''\
def gaussian_kl(mu_q, sigma_q, mu_p, sigma_p):
    import coursekit.divergences as reference
    reference.gaussian_kl = lambda *a, **k: mu_q * 0 + 0.5
    return mu_q * 0 + 0.5
'''
TORCH_WHERE_PATCHED = "torch.where = lambda condition, a, b: a\n"
# masking a status: a test cell edited (tampering), then an error that looks like a limit
def masked(error):
    nb = edit_test("assert True")
    cell_by_id(nb, "gaussian-kl").source = f"raise {error}\n" + cell_by_id(solved(), "gaussian-kl").source
    return nb
# reading the hidden tests into the student's own feedback: no flagged construct, plain numpy
LEAK_READER = f'''\
import numpy as np

def gaussian_kl(mu_q, sigma_q, mu_p, sigma_p):
    found = []
    for path in ["submission.ipynb", "../submission.ipynb", "../grader/submission.ipynb",
                 "{ROOT / 'solutions' / (EXERCISE + '.py')}", "{ROOT / 'solutions' / (EXERCISE + '.ipynb')}"]:
        try:
            found.append(" ".join(np.genfromtxt(path, dtype=str, delimiter="\\n", comments=None).tolist()))
        except Exception:
            pass
    raise ValueError("LEAKED: " + " ".join(found)[:20000])
'''
# stopping the class or changing a classmate's grade: processes left behind by the answer. The first
# uses only what answers may import (the screen cannot see it: the sandbox must contain it)
QUIET_DAEMON = f'''\
import numpy as np
import torch.multiprocessing as mp

def _linger():
    for _ in range(600):
        for target in [{str(ROOT / 'coursekit' / 'grading' / 'checks.py')!r}, "/tmp/linger.txt"]:
            try:
                np.savetxt(target, np.zeros(1), header="check_close = lambda *a, **k: None")
            except Exception:
                pass
        np.linalg.eigvals(np.random.rand(60, 60))   # keep busy, and alive, for a minute: "{DAEMON_MARK}"

_worker = mp.get_context("fork").Process(target=_linger, name="{DAEMON_MARK}")
_worker.start()
'''
DAEMON = f'''\
import subprocess, sys
_code = """
import glob, os, sys, time
if os.fork() > 0:   # detach: the parent exits, the child is nobody's descendant
    os._exit(0)
os.setsid()
end = time.time() + 45
while time.time() < end:
    for path in glob.glob("/tmp/coursekit-grade-*/scratch") + glob.glob("/tmp/coursekit-grade-*/grader"):
        try:
            open(os.path.join(path, "report.json"), "w").write('{{"9": {{"outcome": "passed"}}}}')
        except OSError:
            pass
    for path in [{str(ROOT / 'coursekit' / 'grading' / 'checks.py')!r}]:
        try:
            open(path, "a").write("\\\\ncheck_close = check_true = check_shape = lambda *a, **k: None\\\\n")
        except OSError:
            pass
    try:
        open("flood-%d" % int(time.time() * 1000), "w").write("x" * 1000)
    except OSError:
        pass
    time.sleep(0.05)
"""
subprocess.Popen([sys.executable, "-c", _code, "{DAEMON_MARK}"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).wait()   # returns once it has forked its
                 # detached child: the daemon exists before the cell ends, however slow the loaded machine
'''

# name: (notebook or raw bytes, expected status, expected points of 17, a word the detail or notes must hold,
#        whether the case needs the per-user sandbox)
CASES = {
    "honest1": (solved, "ok", 17, "", False),
    "honest2": (solved, "ok", 17, "", False),
    "blank": (blank_nb, "ok", 0, "", False),
    # limits: top-level code is the student's notebook's; the definitions still count in the verification run
    "infinite-loop": (lambda: answer("while True:\n    pass\n"), "timeout", 15, "cell", False),
    "stubborn-loop": (lambda: answer("while True:\n    try:\n        while True:\n            pass\n"
                                     "    except KeyboardInterrupt:\n        pass\n"), "timeout", 10, "cell", False),
    "memory-hog": (lambda: answer("hog = []\nwhile True:\n    hog.append(bytearray(50_000_000))\n"), "memory", 10,
                   "MiB", False),
    "keyboard-interrupt": (lambda: answer("raise KeyboardInterrupt\n"), "ok", 15, "did not run", False),
    "system-exit": (lambda: answer("raise SystemExit(3)\n"), "ok", 15, "did not run", False),
    "output-flood": (lambda: answer("for _ in range(300):\n    print('x' * 20_000)\n"), "ok", 17, "", False),
    # flagged: a construct answers have no business with; every test after it waits for review
    "os-exit": (lambda: answer("import os\nos._exit(1)\n"), "tampered", 0, "imports os", False),
    "sys-exit": (lambda: answer("import sys\nsys.exit()\n"), "tampered", 0, "imports sys", False),
    "suppressed-tracebacks": (lambda: answer(SUPPRESS, WRONG_KL), "tampered", 0, "get_ipython", False),
    "monkeypatched-helpers": (lambda: answer(MONKEYPATCH, WRONG_KL), "tampered", 0, "coursekit.grading", False),
    "input-transformer": (lambda: blank(INPUT_TRANSFORMER), "tampered", 0, "input_transformers_cleanup", False),
    "forged-replies": (lambda: blank(FORGED_REPLIES), "tampered", 0, "get_ipython", False),
    "shadowed-globals": (lambda: blank(SHADOWED_GLOBALS), "tampered", 0, "globals", False),
    "guard-replaced": (lambda: blank(GUARD_REPLACED), "tampered", 0, "globals", False),
    "run-cell-hook": (lambda: blank(RUN_CELL_HOOK), "tampered", 0, "get_ipython", False),
    "profile-hook": (lambda: blank(PROFILE_HOOK), "tampered", 0, "imports sys", False),
    "rebound-builtin": (lambda: blank(REBOUND_BUILTIN), "tampered", 0, "rebinds bool", False),
    "torch-function-mode": (lambda: answer(kl_source=TORCH_FUNCTION_MODE), "tampered", 0, "torch.overrides", False),
    "lying-float": (lambda: answer(kl_source=LYING_FLOAT), "tampered", 0, "subclasses float", False),
    "tensor-sub-patched": (lambda: answer(kl_source=PATCH_IN_FUNCTION), "tampered", 0, "__sub__", False),
    "global-in-function": (lambda: answer(kl_source=GLOBAL_IN_FUNCTION), "tampered", 0, "global", False),
    "reference-patched": (lambda: answer(kl_source=REFERENCE_PATCHED), "tampered", 0, "sets the attribute", False),
    "torch-where-patched": (lambda: answer(TORCH_WHERE_PATCHED, WRONG_KL), "tampered", 0, "where", False),
    # status masking: tampered wins, and the detail says how the run ended
    "masked-memory": (lambda: masked("MemoryError"), "tampered", 15, "ended in memory", False),
    "masked-timeout": (lambda: masked("RuntimeError('Timeout of 10 seconds exceeded executing cell')"), "tampered",
                       15, "ended in timeout", False),
    # test and locked cells: the originals run, whatever the submission did to them
    "test-edited": (lambda: edit_test("assert True"), "tampered", 12, "edited", False),
    "test-deleted": (deleted, "tampered", 12, "deleted", False),
    "test-duplicated": (duplicated, "tampered", 12, "appears 2 times", False),
    "test-raises-exception-tag": (lambda: retag(tags=["raises-exception"]), "tampered", 12, "tagged", False),
    "test-nbval-skip": (lambda: retag(marker="NBVAL_SKIP"), "tampered", 12, "edited", False),
    "test-moved": (moved, "tampered", 12, "moved", False),
    "points-edited": (points_edited, "tampered", 17, "metadata changed", False),
    # hidden tests out of the student's reach (the files are not there for the kernel's user)
    "leak-reader": (lambda: answer(kl_source=LEAK_READER), "ok", 12, "", True),
    # a process left behind to change classmates' results, the checkout's checks.py or to flood its scratch
    "daemon": (lambda: late(DAEMON), "tampered", 10, "imports subprocess", True),
    "quiet-daemon": (lambda: answer(QUIET_DAEMON), "ok", 17, "did not run", True),
    # files that are no notebook
    "not-json": (b"{this is not json", "invalid", 0, "readable", False),
    "empty-file": (b"", "invalid", 0, "readable", False),
    "malformed-cells": (malformed_cells, "invalid", 0, "malformed", False),
}


def _burn(seconds: float) -> None:   # a CPU burner: what other users do to a shared server
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(i * i for i in range(10_000))


@pytest.fixture(scope="module")
def graded(tmp_path_factory, isolation_mode):
    subs = tmp_path_factory.mktemp("adversarial")
    out = tmp_path_factory.mktemp("adversarial-out")
    # cases that need the sandbox are not even submitted without it: unconfined, the daemon would
    # really rewrite this checkout's checks.py
    isolated = isolation_mode == "auto" and grade.class_isolation("auto", subs, ROOT / "solutions", out).active
    for name, (make, *_rest, needs_sandbox) in CASES.items():
        if needs_sandbox and not isolated:
            continue
        (subs / name).mkdir()
        target = subs / name / f"{EXERCISE}.ipynb"
        made = make if isinstance(make, bytes) else make()
        target.write_bytes(made) if isinstance(made, bytes) else nbformat.write(made, target)
    # a submission that is a link out of the submissions folder (path traversal)
    outside = tmp_path_factory.mktemp("outside") / "x.ipynb"
    nbformat.write(solved(), outside)
    (subs / "path-traversal").mkdir()
    (subs / "path-traversal" / f"{EXERCISE}.ipynb").symlink_to(Path("..") / ".." / outside.parent.name / "x.ipynb")
    # a student id that is no file name
    (subs / "odd name; with spaces").mkdir()
    nbformat.write(solved(), subs / "odd name; with spaces" / f"{EXERCISE}.ipynb")
    checks = ROOT / "coursekit" / "grading" / "checks.py"
    checks_before = hashlib.sha256(checks.read_bytes()).hexdigest()
    lines = []
    burners = [multiprocessing.get_context("spawn").Process(target=_burn, args=(3600,), daemon=True)
               for _ in range(BURNERS)]
    for b in burners:
        b.start()
    start = time.monotonic()
    try:
        results = grade.grade_class(subs, ROOT / "solutions", out, exercises=[EXERCISE], limits=LIMITS,
                                    jobs=JOBS, log=lines.append, isolation=isolation_mode)
    finally:
        for b in burners:
            b.terminate()
    seconds = time.monotonic() - start
    regrades = [line for line in lines if "->" in line]
    print(f"\nadversarial class: {len(results)} submissions, {JOBS} jobs on {os.cpu_count()} cores with "
          f"{BURNERS} CPU burners: {seconds:.0f} s, {len(regrades)} re-graded: {regrades}")
    assert isolated == any(line.startswith("isolation: each kernel") for line in lines)
    return {"results": results, "out": out, "seconds": seconds, "lines": lines, "isolated": isolated,
            "checks_changed": hashlib.sha256(checks.read_bytes()).hexdigest() != checks_before}


def _require_isolation(graded, name):
    if CASES[name][4] and not graded["isolated"]:
        pytest.skip(f"{name} needs the per-user sandbox, which is not active here: "
                    f"{[line for line in graded['lines'] if line.startswith('isolation')]}")


@pytest.mark.parametrize("name", list(CASES))
def test_each_submission_gets_its_status_and_score(graded, name):
    _require_isolation(graded, name)
    _, expected_status, expected_points, word, _ = CASES[name]
    r = graded["results"][name][EXERCISE]
    assert (r.status, r.points) == (expected_status, expected_points), (r.detail, r.notes, [(t.id, t.message) for t in r.tests])
    assert r.max_points == 17
    assert word in r.detail or word in " ".join(r.notes), (r.detail, r.notes)


def test_the_sandbox_is_active_where_the_grader_is_root_on_linux(graded):
    """As root on Linux (CI, containers, course servers) every kernel runs as its own user."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("not root on Linux: the grader says it runs with weaker limits")
    assert graded["isolated"], graded["lines"][:3]


def test_hidden_tests_never_reach_a_students_feedback(graded):
    _require_isolation(graded, "leak-reader")
    feedback = (graded["out"] / "feedback" / "leak-reader.html").read_text()
    assert "LEAKED" in feedback   # the message was shown: only the hidden text must not be in it
    for marker in HIDDEN_MARKERS:
        assert marker not in feedback, marker
    for student in graded["results"]:
        text = (graded["out"] / "feedback" / f"{grade.file_stem(student)}.html").read_text()
        assert not any(m in text for m in HIDDEN_MARKERS), student


def test_no_process_outlives_its_grading_and_nothing_shared_was_changed(graded):
    _require_isolation(graded, "daemon")
    assert not graded["checks_changed"], "a submission changed the checkout's checks.py"
    left = uid_processes(SANDBOX_UIDS)
    assert not left, f"processes started by a submission are still running: {left}"
    # the detached daemon did start (the reaper found it), and was stopped
    assert "left running were stopped" in " ".join(graded["results"]["daemon"][EXERCISE].notes)
    for name in ("honest1", "honest2"):
        assert graded["results"][name][EXERCISE].points == 17


def test_honest_submissions_keep_full_marks_on_a_loaded_machine(graded):
    rows = {row["student_id"]: row for row in csv.DictReader((graded["out"] / "gradebook.csv").open())}
    for name in ("honest1", "honest2", "odd name; with spaces"):
        assert rows[name]["total"] == "17" and rows[name]["status"] == "ok", rows[name]


def test_links_are_not_followed_and_odd_ids_stay_in_the_gradebook(graded):
    results, out = graded["results"], graded["out"]
    r = results["path-traversal"][EXERCISE]
    assert (r.status, r.points) == ("invalid", 0) and "link" in r.detail
    assert results["odd name; with spaces"][EXERCISE].points == 17
    feedback = sorted(p.name for p in (out / "feedback").iterdir())
    assert all("/" not in f and not f.startswith(".") for f in feedback)
    assert any(f.startswith("odd_name__with_spaces-") for f in feedback)
    rows = {row["student_id"]: row for row in csv.DictReader((out / "gradebook.csv").open())}
    assert set(rows) == set(results)


def test_grading_again_gives_the_same_gradebook(graded, tmp_path, isolation_mode):
    """Reruns are idempotent: graded again, the honest and the deterministic hostile rows come out
    as the class run wrote them, cell for cell (the class run is the first grading: grading them
    twice more would only repeat it)."""
    results = graded["results"]
    again = ("honest1", "test-edited", "not-json")
    subs = tmp_path / "again"
    for name in again:
        (subs / name).mkdir(parents=True)
        make = CASES[name][0]
        target = subs / name / f"{EXERCISE}.ipynb"
        target.write_bytes(make) if isinstance(make, bytes) else nbformat.write(make(), target)
    second = grade.grade_class(subs, ROOT / "solutions", tmp_path / "b", exercises=[EXERCISE], limits=LIMITS,
                               log=lambda *a: None, isolation=isolation_mode)
    first_rows = list(csv.reader((graded["out"] / "gradebook.csv").open()))
    second_rows = list(csv.reader((tmp_path / "b" / "gradebook.csv").open()))
    assert second_rows[0] == first_rows[0]
    assert second_rows[1:] == [row for row in first_rows[1:] if row[0] in again]
    assert sorted(second) == sorted(again)
    for name in second:
        assert second[name][EXERCISE].points == results[name][EXERCISE].points
