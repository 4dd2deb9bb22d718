"""The grader's defences one by one: the screen of answer cells, the per-user sandbox, the
reaper, the re-grade of what a busy machine may have caused, and the refusals."""
import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from coursekit.grading import grade
from coursekit.grading.format import read_source
from coursekit.grading.run import Limits, Result, TestResult, execute, protected_names
from coursekit.grading.sandbox import Isolation, make_scratch, next_uid, reap, uid_processes
from coursekit.grading.screen import defined_names, screen_answer

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9]*.ipynb"))
ROOT_ON_LINUX = sys.platform.startswith("linux") and os.geteuid() == 0


# --- the screen ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_solution_passes_the_screen_whole(path):
    """Honest answers need nothing the screen flags, and keep every statement."""
    nb, specs = read_source(path)
    answers = [c.source for c, s in zip(nb.cells, specs) if s.kind == "answer"]
    protected = protected_names(nb, specs)
    assert {"check_close", "torch"} <= protected
    for source in answers:
        screened = screen_answer(source, protected)
        assert (screened.flags, screened.dropped) == ([], []), source[:80]
        assert defined_names(screened.source) == defined_names(source)


FLAGGED = {
    "get_ipython().events.register('pre_run_cell', print)": "get_ipython",
    "import os": "imports os",
    "import subprocess as sp": "imports subprocess",
    "from torch.overrides import TorchFunctionMode": "torch.overrides",
    "import torch._dynamo": "imports torch._dynamo",
    "from coursekit.grading import checks": "coursekit.grading",
    "def f():\n    global check_close\n    check_close = print": "global",
    "def f():\n    torch.allclose = print": "sets the attribute allclose",
    "def f(x):\n    import coursekit.evaluation as ev\n    ev.mig = x": "sets the attribute mig",
    "def f():\n    return globals()": "uses globals",
    "def f(x):\n    return x.__class__": "__class__",
    "def f(x):\n    return getattr(x, name)": "computed name",
    "class Liar(float):\n    pass": "subclasses float",
    "class T(torch.Tensor):\n    pass": "subclasses Tensor",
    "class E:\n    def __eq__(self, other):\n        return True": "defines __eq__",
    "Meta = type('Meta', (), {})": "type(name, bases, namespace)",
    "def bool(x):\n    return True": "rebinds bool",
    "check_close = print": "rebinds check_close",
    "import numpy as torch": "rebinds torch",
    "def open(*a):\n    pass": "defines open",
    "def f():\n    return exec('1')": "uses exec",
    # routes found in review: module re-exports, attribute access from strings, aliases, walrus, history
    "_s = torch.sys.modules['IPython']": "uses .sys",
    "def f():\n    return torch.os.kill(-1, 9)": "uses .os",
    "import operator\n_g = operator.attrgetter('x')": "imports operator",
    "from coursekit import grading": "imports coursekit.grading",
    "T = torch.Tensor\nclass Liar(T):\n    pass": "an alias of a class",
    "from torch import Tensor as Base\nclass Liar(Base):\n    pass": "subclasses Tensor",
    "class L(getattr(torch, 'Tensor')):\n    pass": "computed base class",
    "x = (bool := lambda v: True)": "rebinds bool with :=",
    "def f():\n    return In[-1]": "uses In",
    "def f(x):\n    return x.as_subclass(torch.Tensor)": "as_subclass",
    "def f(x):\n    return getattr(x, 'y' + '__code__')": "a string names __code__",
    # honest code that must not be flagged
    "def f(m):\n    return m._modules": "",   # private attribute of a local object
    "x = torch.zeros(3)\nx.requires_grad = True": "",   # the cell's own object
    "class Net(torch.nn.Module):\n    def forward(self, input):\n        return self.lin(input)": "",
    "import time\nfrom IPython.display import display": "",
    "class A:\n    def __repr__(self):\n        return f'{self.__class__.__name__}()'": "",
    "class A:\n    def f(self, ks):\n        return sorted(ks, key=lambda k: self._w[k])": "",
    "model = torch.nn.Linear(2, 2)\nfor p in model.parameters():\n    p.requires_grad = False": "",
    'def f(x):\n    """Like a Module\'s __call__."""\n    return x': "",
    "import torchvision\ndef f(a, b):\n    return torchvision.ops.box_iou(a, b)": "",
}


@pytest.mark.parametrize("source", list(FLAGGED))
def test_the_screen_flags_what_answers_have_no_business_with(source):
    screened = screen_answer(source, {"torch", "check_close", "bool"})
    word = FLAGGED[source]
    if word:
        assert any(word in f for f in screened.flags), screened.flags
    else:
        assert screened.flags == [], screened.flags


def test_the_screen_keeps_definitions_and_drops_the_rest():
    source = ("import math\nimport numpy as np\nSCALE = 2.0\na, b = 1, 2\n\n"
              "def f(x):\n    return SCALE * x\n\nclass Model(torch.nn.Module):\n    pass\n\n"
              "print(f(3))\nfor i in range(3):\n    pass\nmodel = Model()\nmodel.eval()\n%timeit f(1)\n")
    screened = screen_answer(source, {"torch"})
    assert screened.flags == []
    assert defined_names(screened.source) == {"math", "np", "SCALE", "a", "b", "f", "Model", "model"}
    assert len(screened.dropped) == 4 and "print(f(3))" in screened.dropped[0], screened.dropped
    timed = screen_answer("%%time\ndef f(x):\n    return x\n")   # a timed cell keeps its definitions
    assert (defined_names(timed.source), timed.flags, timed.dropped) == ({"f"}, [], [])
    broken = screen_answer("def f(:\n    pass\n")
    assert broken.source == "" and broken.syntax_error and "syntax error" in broken.dropped[0]


# --- the sandbox --------------------------------------------------------------------------

PROBE = r'''
import coursekit, os
found = {"uid": os.getuid(), "cwd": os.getcwd(), "tmp": sorted(os.listdir("/tmp"))}
root = os.path.dirname(os.path.dirname(coursekit.__file__))
found["solutions"] = os.listdir(os.path.join(root, "solutions"))
found["git"] = os.listdir(os.path.join(root, ".git")) if os.path.isdir(os.path.join(root, ".git")) else []
found["writes"] = []
for path in [os.path.join(root, "coursekit", "grading", "checks.py"), os.path.join(root, "planted.txt"), "/var/tmp/x",
             "/tmp/mine.txt"]:
    try:
        with open(path, "a") as f:
            f.write("")
        found["writes"].append(path)
    except OSError:
        pass
notebooks = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            notebooks += [w for w in open(f"/proc/{pid}/cmdline", "rb").read().decode().split("\0")
                          if w.endswith("submission.ipynb")]
        except OSError:
            pass
found["notebook_paths"] = notebooks
found["notebook_readable"] = [p for p in notebooks if os.access(p, os.R_OK)]
import socket
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=5).close()
    found["network"] = "connected"
except OSError as err:
    found["network"] = type(err).__name__
raise RuntimeError(repr(found))
'''


@pytest.mark.skipif(not ROOT_ON_LINUX, reason="the per-user sandbox needs root on Linux")
def test_a_sandboxed_kernel_sees_only_its_scratch_and_cannot_read_the_solutions(tmp_path):
    iso = Isolation.detect([ROOT / "solutions", ROOT / ".git"])
    assert iso.active, iso.reason
    import socket
    listener = socket.create_server(("127.0.0.1", 0))   # a port on the grader's loopback: out of the kernel's reach
    port = listener.getsockname()[1]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE.replace("PORT", str(port)))])
    try:
        ran = execute(nb, tmp_path, Limits(cell_timeout=60), isolation=iso)
    finally:
        listener.close()
    found = eval(ran.cells[0]["evalue"])   # noqa: S307 - the probe's own repr of plain values
    assert found["uid"] != 0 and found["cwd"] == "/tmp"
    assert found["solutions"] == [] and found["git"] == []
    assert found["writes"] == ["/var/tmp/x", "/tmp/mine.txt"], found["writes"]   # its scratch, seen as /tmp and /var/tmp
    assert found["notebook_paths"] and not found["notebook_readable"], found
    assert not (ROOT / "planted.txt").exists()
    assert found["network"] != "connected", "the kernel reached the grader's loopback"


@pytest.mark.skipif(not ROOT_ON_LINUX, reason="the per-user sandbox needs root on Linux")
def test_a_checkout_under_tmp_stays_readable_and_its_solutions_hidden(tmp_path):
    """CI may clone the course into /tmp, which the sandbox covers with the scratch folder: what
    the kernel needs there is put back, and the hidden paths inside it are hidden again."""
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    (course / "pkg.txt").write_text("the package")
    (course / "solutions" / "secret.py").write_text("hidden test")
    uid = next_uid()
    scratch = make_scratch(tmp_path, uid)
    base = Isolation.detect([])
    iso = Isolation(True, "", [str(course / "solutions")], base.readable + [str(course)])
    code = (f"import os; print(open({str(course / 'pkg.txt')!r}).read(), os.listdir({str(course / 'solutions')!r}),"
            f" os.access({str(course)!r}, os.W_OK))")
    done = subprocess.run(iso.launcher(uid, scratch) + [sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    reap(uid)
    assert done.stdout.strip() == "the package [] False", (done.stdout, done.stderr[-500:])


@pytest.mark.skipif(not ROOT_ON_LINUX, reason="the per-user sandbox needs root on Linux")
def test_the_reaper_kills_every_process_of_a_user_however_detached(tmp_path):
    uid = next_uid()
    scratch = make_scratch(tmp_path, uid)
    code = "import os, time\nif os.fork() > 0:\n    os._exit(0)\nos.setsid()\ntime.sleep(120)\n"
    iso = Isolation(True, "", [], Isolation.detect([]).readable)
    subprocess.run(iso.launcher(uid, scratch) + [sys.executable, "-c", code], check=True, timeout=60)
    deadline = time.monotonic() + 10
    while not uid_processes(uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uid_processes(uid), "the detached sleeper did not start"
    assert reap(uid) >= 1
    assert uid_processes(uid) == []


def test_without_root_isolation_says_why_and_users_mode_refuses(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    iso = Isolation.detect([tmp_path])
    assert not iso.active and "not root" in iso.reason
    with pytest.raises(RuntimeError, match="--isolation users is not possible here: the grader is not root"):
        grade.class_isolation("users", tmp_path, ROOT / "solutions", tmp_path / "out")
    assert not grade.class_isolation("auto", tmp_path, ROOT / "solutions", tmp_path / "out").active


def test_root_without_a_working_sandbox_refuses_rather_than_run_kernels_as_root(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(Isolation, "detect", classmethod(lambda cls, hidden: cls.none("mount: permission denied")))
    with pytest.raises(RuntimeError, match="kernels would run as root.*--isolation none"):
        grade.class_isolation("auto", tmp_path, ROOT / "solutions", tmp_path / "out")
    assert not grade.class_isolation("none", tmp_path, ROOT / "solutions", tmp_path / "out").active


def test_a_lying_tensor_subclass_cannot_pass_check_close():
    import torch

    from coursekit.grading.checks import check_close

    class Agreeable(torch.Tensor):
        def any(self, *args, **kwargs):
            return False
    with pytest.raises(AssertionError, match="3 of 3 values differ"):
        check_close(torch.zeros(3).as_subclass(Agreeable), torch.ones(3))
    check_close(torch.nn.Parameter(torch.ones(2)), torch.ones(2))   # an honest subclass still compares


def test_grading_refuses_clearly_off_linux(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    (tmp_path / "s1").mkdir()
    with pytest.raises(RuntimeError, match="needs Linux.*container"):
        grade.grade_class(tmp_path, ROOT / "solutions", tmp_path / "out", exercises=["00_introduction"],
                          log=lambda *a: None)


# --- what a busy machine may cause is graded again, alone, with more time ---------------------

def test_a_timeout_crash_or_error_is_graded_again_alone_with_twice_the_time(tmp_path, monkeypatch):
    calls = []

    def fake_grade(source_nb, specs, path, name, limits, isolation, **kwargs):
        calls.append((path.parent.name, limits.cell_timeout))
        first = sum(1 for student, _ in calls if student == path.parent.name) == 1
        status = {"slow": "timeout", "dead": "crash", "broken": "error", "fine": "ok"}[path.parent.name]
        if not first and path.parent.name == "slow":
            status = "ok"   # alone and with more time it passes
        points = 17.0 if status == "ok" else 0.0
        return Result(name, status=status, detail=status,
                      tests=[TestResult("t", "hidden-test", points, 17.0, status == "ok")])

    monkeypatch.setattr(grade, "grade_notebook", fake_grade)
    for student in ("slow", "dead", "broken", "fine"):
        (tmp_path / "subs" / student).mkdir(parents=True)
        (tmp_path / "subs" / student / "00_introduction.ipynb").write_text("{}")
    lines = []
    results = grade.grade_class(tmp_path / "subs", ROOT / "solutions", tmp_path / "out", exercises=["00_introduction"],
                                limits=Limits(cell_timeout=7), jobs=4, log=lines.append, isolation="none")
    again = sorted(student for student, timeout in calls if timeout == 14)
    assert again == ["broken", "dead", "slow"] and len(calls) == 7
    assert results["slow"]["00_introduction"].status == "ok" and results["slow"]["00_introduction"].points == 17
    assert "graded twice: the first run ended in timeout" in results["slow"]["00_introduction"].notes[0]
    assert results["dead"]["00_introduction"].status == "crash"   # the same again: that stands
    assert any("re-grading 3 notebook(s)" in line for line in lines)
    assert not any("graded twice" in n for n in results["fine"]["00_introduction"].notes)


def test_relaxed_limits_double_the_time_and_keep_the_memory():
    limits = Limits(cell_timeout=10, notebook_timeout=100, memory_mb=500, startup_timeout=30)
    assert limits.relaxed() == Limits(cell_timeout=20, notebook_timeout=200, memory_mb=500, startup_timeout=60)



def test_an_answer_that_is_a_value_stays_gradable(tmp_path):
    """A trained model or a number assigned in an answer cell is kept by the verification run (a
    name assignment); a value built by a top-level loop is not, and the student is told so."""
    from coursekit.grading.format import specs as read_specs
    from coursekit.grading.run import grade_notebook

    def cell(kind, cid, source, points=0):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["coursekit"] = {"id": cid, "kind": kind, **({"points": points} if points else {})}
        return c

    source = nbformat.v4.new_notebook(cells=[
        cell("locked", "setup", "import torch\ntorch.manual_seed(0)"),
        cell("answer", "value", "### BEGIN SOLUTION\nmodel = torch.nn.Linear(3, 1)\ntotal = sum(range(10))\n"
                                "### END SOLUTION"),
        cell("public-test", "value-public", "assert total == 45", points=1),
        cell("hidden-test", "value-hidden", "assert model(torch.ones(2, 3)).shape == (2, 1)", points=2)])
    specs = read_specs(source, "values")
    from coursekit.grading.build import build_exercise
    solved = build_exercise(source, specs, keep_solutions=True)   # what a student who solved it submits
    nbformat.write(solved, tmp_path / "a.ipynb")
    looped = copy.deepcopy(solved)
    next(c for c in looped.cells if c.metadata["coursekit"]["id"] == "value").source = "model = torch.nn.Linear(3, 1)\ntotal = 0\nfor i in range(10):\n    total += i\n"
    nbformat.write(looped, tmp_path / "b.ipynb")
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2) as pool:   # the two gradings side by side, as a class run grades them
        good, partial = pool.map(lambda name: grade_notebook(source, specs, tmp_path / name, "values",
                                                             limits=Limits(cell_timeout=60)), ["a.ipynb", "b.ipynb"])
    assert (good.status, good.points) == ("ok", 3), (good.detail, good.notes, [t.message for t in good.tests])
    assert partial.points == 2 and "did not run" in " ".join(partial.notes)
    assert "verification run" in next(t.message for t in partial.tests if t.id == "value-public")
