"""Grade one submission: rebuild it from the source, execute it with nbval, score it by cell id.

The notebook that runs is built from the solution source, never from the submission: the
student's answer cells are spliced in by id, and every other cell (tests, public and hidden,
and locked cells) comes from the source. So an edited, deleted, moved, duplicated or re-tagged
test cannot change a score; each such change is reported. Cells the student added are not
run (the exercise says: all code goes in the answer cells).

Each submission is then run twice (`two_runs`): the student's notebook as written, without the
hidden tests, and a verification run of every test in a fresh kernel that receives only the
answers' screened definitions (`screen`). A test counts only where the verification run passes
it (a public test also in the student's notebook). Kernels run in the sandbox (`sandbox`) when
the grader can provide one.
"""
from __future__ import annotations

import copy
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

try:
    import resource
except ImportError:   # Windows: no rlimits (coursekit grade refuses there; coursekit check runs without them)
    resource = None

import nbformat

from .build import build_exercise
from .format import CellSpec, FormatError, cell_spec
from .sandbox import KERNEL_NAME, Isolation, make_scratch, next_uid, reap, uid_processes

__all__ = ["Limits", "STATUSES", "TestResult", "Result", "Execution", "splice", "execute", "grade_notebook"]

@dataclass(frozen=True)
class Limits:
    """What one submission may use. Enforced without Docker (see README, "What the grader defends").

    - `cell_timeout`: seconds per cell (nbval interrupts the kernel, the cell fails);
    - `notebook_timeout`: wall-clock seconds for the whole notebook; past it the submission's
      process group is killed and the remaining tests score 0 (status "timeout");
    - `memory_mb`: resident memory of the run's processes together (pytest, the kernel and
      anything they start), watched every 0.05 s
      (killed: status "memory"), backed by an address-space limit (RLIMIT_AS) of
      `memory_mb` + 8 GiB on each process (PyTorch reserves far more address space than it
      uses), so one huge allocation fails with MemoryError instead (status "memory" too);
    - `output_kb`: printed output kept per cell; the rest is dropped (an output flood cannot
      exhaust the grader's memory);
    - `startup_timeout`: seconds a new kernel may take to answer, and a kernel that has replied
      may take to send the rest of a cell's messages. Separate from `cell_timeout` and generous:
      on a loaded machine a starved kernel is slow, not broken, and must not be charged a crash.
    """

    cell_timeout: int = 60
    notebook_timeout: int = 900
    memory_mb: int = 4096
    output_kb: int = 1024
    startup_timeout: int = 120

    def relaxed(self) -> "Limits":
        """The limits of a re-grade: twice the time (memory stays, it is the submission's)."""
        return Limits(cell_timeout=2 * self.cell_timeout, notebook_timeout=2 * self.notebook_timeout,
                      memory_mb=self.memory_mb, output_kb=self.output_kb, startup_timeout=2 * self.startup_timeout)


_PROTECTED = """\
[("torch", _gt, "allclose"), ("torch", _gt, "isclose"), ("torch", _gt, "equal"),
 ("torch.Tensor", _gt.Tensor, "__eq__"), ("torch.Tensor", _gt.Tensor, "__ge__"),
 ("torch.Tensor", _gt.Tensor, "__le__"), ("torch.Tensor", _gt.Tensor, "__lt__"),
 ("torch.Tensor", _gt.Tensor, "__gt__"), ("torch.Tensor", _gt.Tensor, "all"),
 ("torch.Tensor", _gt.Tensor, "any"), ("torch.Tensor", _gt.Tensor, "item"),
 ("torch.Tensor", _gt.Tensor, "__bool__"), ("torch.testing", _gt.testing, "assert_close"),
 ("math", _gm, "isclose"), ("builtins", _gb, "isinstance"), ("builtins", _gb, "bool"),
 ("builtins", _gb, "abs"), ("builtins", _gb, "all"), ("builtins", _gb, "any"),
 ("builtins", _gb, "len"), ("builtins", _gb, "float"), ("builtins", _gb, "AssertionError"),
 ("checks", _gc, "check_close"), ("checks", _gc, "check_shape"), ("checks", _gc, "check_true")]
"""


def preamble(token: str) -> str:
    """The grader's first cell: fixed seeds, and a snapshot of what the tests rely on.

    Before each test cell, `_grader_guard_<token>(globals())` compares the helpers and the
    functions the tests call (check_close, torch.allclose, Tensor.__eq__, isinstance, ...)
    with this snapshot, taken before any student code ran. A replaced one is put back and the
    test fails with GraderTamperError, which the gradebook reports as "tampered". The token
    is random per run, so answer code cannot name the guard in advance.
    """
    return f"""\
# Added by the grader: fixed seeds, no display, and a snapshot of what the tests rely on.
import os as _os, random as _random
_os.environ.setdefault("MPLBACKEND", "Agg")
_random.seed(0)
import builtins as _gb, math as _gm
import numpy as _np
import torch as _gt
import coursekit.grading.checks as _gc
_np.random.seed(0)
_gt.manual_seed(0)

def _grader_make_guard_{token}():
    import random, numpy, torch
    protected = {_PROTECTED.strip()}
    snapshot = [(where, owner, name, getattr(owner, name)) for where, owner, name in protected]
    helpers = {{name: getattr(_gc, name) for name in ("check_close", "check_shape", "check_true")}}

    GraderTamperError = type("GraderTamperError_{token}", (Exception,), {{}})   # a name answer code cannot forge

    def guard(namespace, seed=None):
        if seed is not None:   # every test starts from the same random state, whatever ran before it
            random.seed(seed); numpy.random.seed(seed); torch.manual_seed(seed)
        changed = []
        for where, owner, name, original in snapshot:
            if getattr(owner, name, None) is not original:
                changed.append(f"{{where}}.{{name}}")
                setattr(owner, name, original)
        for name, original in helpers.items():
            if name in namespace and namespace[name] is not original:
                changed.append(name)
                namespace[name] = original
        if changed:
            raise GraderTamperError("the answer code replaced " + ", ".join(changed) + ": the test cannot be trusted")
    return guard

_grader_guard_{token} = _grader_make_guard_{token}()
del _grader_make_guard_{token}
"""


STATUSES = {
    "ok": "graded normally",
    "tampered": "test or locked cells were changed, answer code replaced what the tests rely on, or an "
                "answer uses something the grader does not allow in answers; the originals were run, tests "
                "that saw a replaced helper or flagged code score 0 until the instructor reviews them",
    "timeout": "a cell or the whole notebook ran past its time limit, also when graded again alone with twice "
               "the time; tests not reached score 0",
    "memory": "the submission used more memory than allowed; tests not reached score 0",
    "crash": "the kernel died (os._exit, a segfault, a kill), also when graded again alone; tests not reached "
             "score 0",
    "invalid": "the file is not a readable notebook (empty, not JSON) or was not submitted",
    "error": "the grader itself failed; not charged to the student, re-run the grading",
}


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    id: str
    kind: str
    points: float
    max_points: float
    passed: bool
    message: str = ""


@dataclass
class Result:
    """One student's result on one exercise."""

    exercise: str
    status: str = "ok"  # see STATUSES
    detail: str = ""    # what the status is about: what was tampered with, which cell timed out, ...
    tests: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    log: str = ""  # the run's pytest output, for the instructor only (it can show hidden tests)
    seconds: float = 0.0
    cells_not_passed: list[str] | None = None
    """For the instructor: every code cell that did not pass in either run, e.g. "your notebook: code
    cell 4 failed" (a locked cell's error costs no points, so the tests alone would not show it); []
    when both runs ran every code cell without an error, None when no run took place."""

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_points(self) -> float:
        return sum(t.max_points for t in self.tests)


def splice(source_nb, source_specs: list[CellSpec], submission,
           released: dict[str, set[str]] | None = None) -> tuple[object, list[str], list[str]]:
    """The notebook to run: the source with the submission's answer cells put in by id.

    Returns (notebook, notes, tampering). A missing answer keeps the exercise's stub; for a
    duplicated answer the first copy is used. Every difference in the other cells is only
    reported: in `tampering` when it touches a test or locked code cell, else in `notes`. A
    cell whose text is that of an earlier version of the exercise (`released`: cell id → the
    texts it had in earlier commits of the source; a student kept their notebook when an
    erratum came) and an edited locked text cell (markdown plays no part in grading) are notes.
    """
    released = released or {}
    notes: list[str] = []
    tampering: list[str] = []
    by_id: dict[str, list] = {}
    extra = 0
    for i, cell in enumerate(submission.cells):
        try:
            spec = cell_spec(cell, f"cell {i}")
        except FormatError as err:
            tampering.append(f"cell {i} has damaged grading metadata ({err}); it was ignored")
            continue
        if spec is None:
            extra += cell.cell_type == "code"
            continue
        by_id.setdefault(spec.id, []).append((cell, spec))
    if extra:
        notes.append(f"{extra} code cell(s) you added outside the answer cells were not run (put all code in "
                     f"the answer cells)")
    source_ids = {s.id for s in source_specs}
    for unknown in sorted(set(by_id) - source_ids):
        notes.append(f"cell id {unknown!r} is not part of this exercise; it was ignored")

    stubs = {s.id: c for c, s in zip(build_exercise(source_nb, source_specs).cells,
                                     [s for s in source_specs if s.kind != "hidden-test"])}
    cells = []
    for cell, spec in zip(source_nb.cells, source_specs):
        found = by_id.get(spec.id, [])
        if len(found) > 1:
            (tampering if spec.kind != "answer" else notes).append(
                f"cell {spec.id!r} appears {len(found)} times; only the first was used")
        if spec.kind == "answer":
            if not found:
                notes.append(f"answer cell {spec.id!r} is missing; it counts as not answered")
                cells.append(copy.deepcopy(stubs[spec.id]))
                continue
            got_cell, got_spec = found[0]
            if got_spec.kind != "answer":
                tampering.append(f"answer cell {spec.id!r} was re-tagged as {got_spec.kind!r}; it was used as an answer")
            new = copy.deepcopy(cell)
            new.source = got_cell.source
            new.outputs, new.execution_count = [], None
            cells.append(new)
            continue
        if spec.kind != "hidden-test":
            if not found:
                tampering.append(f"{spec.kind} cell {spec.id!r} was deleted; the original was run")
            else:
                got_cell, got_spec = found[0]
                if got_spec != spec:
                    tampering.append(f"{spec.kind} cell {spec.id!r} had its metadata changed to {got_spec.kind!r}, "
                                 f"{got_spec.points:g} points; the original was run")
                if got_cell.source.strip() != cell.source.strip():
                    if got_cell.source.strip() in released.get(spec.id, ()):
                        notes.append(f"{spec.kind} cell {spec.id!r} is from an earlier version of this exercise "
                                     f"(it was corrected since); the current version was run")
                    elif cell.cell_type == "markdown" and got_cell.get("cell_type") == "markdown":
                        notes.append(f"text cell {spec.id!r} was edited; it plays no part in grading")
                    else:
                        tampering.append(f"{spec.kind} cell {spec.id!r} was edited; the original was run")
                tags = got_cell.get("metadata", {}).get("tags", [])
                if set(tags) & {"raises-exception", "skip-execution", "nbval-skip", "nbval-ignore-output"}:
                    tampering.append(f"{spec.kind} cell {spec.id!r} was tagged {tags}; the tags were ignored")
        elif found:
            tampering.append(f"a cell claims the hidden test id {spec.id!r}; it was ignored")
        new = copy.deepcopy(cell)
        new.metadata.pop("tags", None)
        if new.cell_type == "code":
            new.outputs, new.execution_count = [], None
        cells.append(new)
    expected = [s.id for s in source_specs if s.kind not in ("answer", "hidden-test")]
    present = [cid for cid in by_id if cid in expected]  # dicts keep the submission's order
    if present != [cid for cid in expected if cid in by_id]:
        tampering.append("test or locked cells were moved; the original order was run")
    nb = copy.deepcopy(source_nb)
    nb.cells = cells
    return nb, notes, tampering


@dataclass
class Execution:
    cells: dict[int, dict]  # code-cell number (0 = the source's first code cell) -> outcome
    log: str
    returncode: int | None
    killed: str | None      # "timeout" | "memory" when the grader killed the run
    seconds: float
    left_behind: int = 0    # processes of the kernel's user still running after the run's own were killed
    token: str = ""         # the run's guard token: only its exception counts as a guard hit


def _descendants(root: int) -> list[int]:
    """`root` and every process below it (Linux /proc). The kernel is among them although
    jupyter_client starts it in a session of its own, so process groups alone would miss it."""
    if not os.path.isdir("/proc"):   # macOS, Windows: only the run itself is known
        return [root]
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])  # after the name: state ppid ...
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _rss_kib(pids: list[int]) -> int:
    total, page_kib = 0, os.sysconf("SC_PAGE_SIZE") // 1024
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page_kib
        except (OSError, IndexError, ValueError):
            continue
    return total


_SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)   # Windows has no SIGKILL


def _kill_all(proc: subprocess.Popen, pids: list[int]) -> None:
    """SIGKILL the run's process group and every process found below it, then reap the run."""
    for pid in pids:
        try:
            os.kill(pid, _SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.killpg(proc.pid, _SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):   # AttributeError: no killpg (Windows)
        proc.kill()
    proc.wait()


# `python -m pytest`, except that jsonschema's optional IRI format checker is not imported: the
# rfc3987_syntax package builds its grammar when imported, about 1.8 s of CPU in every grading run
# (as much as the kernel's `import torch`), for a format nbformat never checks (its validator is
# called without a format checker, so a notebook is judged exactly as before)
_PYTEST = "import sys; sys.modules['rfc3987_syntax'] = None; import pytest; sys.exit(pytest.main())"


def execute(nb, workdir: Path, limits: Limits = Limits(), python: str = sys.executable,
            guarded: set[int] | None = None, isolation: Isolation | None = None) -> Execution:
    """Run `nb` under nbval in a fresh process group inside `workdir`, within `limits`.

    A grader-owned first cell fixes the seeds and snapshots what the tests rely on; the code
    cells numbered in `guarded` (tests) start with a call to the guard, which also re-seeds
    (with the cell's number), so a test sees the same random numbers in every run. The per-cell report is
    written by the nbval_status plugin after every cell, so a killed run keeps what it did.

    The kernel starts in `workdir/scratch`, never beside the notebook it runs. With an active
    `isolation` it runs as a user of its own in a private view of the file system (see
    `sandbox`): it cannot read the notebook, the report or the log, which stay the grader's,
    and every process of that user is killed when the run ends.
    """
    workdir = Path(workdir)
    isolation = isolation or Isolation.none("not asked for")
    uid = next_uid() if isolation.active else None
    scratch = make_scratch(workdir, uid)
    private = workdir / "grader"
    private.mkdir(mode=0o700)
    token = secrets.token_hex(6)
    nb = copy.deepcopy(nb)
    code_num = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            if guarded and code_num in guarded:
                # the guard before the test (re-seeding) and after it: a patch made while the test
                # ran fails that very test
                cell.source = (f"_grader_guard_{token}(globals(), {code_num})\n" + cell.source
                               + f"\n_grader_guard_{token}(globals())\n")
            code_num += 1
    nb.cells.insert(0, nbformat.v4.new_code_cell(preamble(token)))
    if guarded:   # and once more after the last cell
        nb.cells.append(nbformat.v4.new_code_cell(f"_grader_guard_{token}(globals())"))
    nb_path = private / "submission.ipynb"
    nbformat.write(nb, nb_path)
    (private / "pytest.ini").write_text("[pytest]\n")
    report, log_path = private / "report.json", private / "pytest.log"
    posix = os.name == "posix"
    spec_env = isolation.kernelspec(private / "jupyter", uid or 0, scratch) if posix else {}
    kernel = f"--nbval-kernel-name={KERNEL_NAME}" if posix else "--nbval-current-env"
    cmd = [python, "-c", _PYTEST, "-p", "nbval", "-p", "coursekit.grading.nbval_status", "-p", "no:cacheprovider",
           "--nbval-lax", kernel, f"--nbval-cell-timeout={limits.cell_timeout}",
           f"--nbval-kernel-startup-timeout={limits.startup_timeout}", f"--grading-patience={limits.startup_timeout}",
           "-c", str(private / "pytest.ini"), "--rootdir", str(private), "-q", "--no-header", "-rN",
           f"--grading-report={report}", f"--grading-output-kb={limits.output_kb}", str(nb_path)]
    if uid is not None:   # sandboxed: Unix sockets in the kernel's scratch, so it can live without a network
        cmd[-1:-1] = [f"--grading-ipc={scratch / 'kernel'}"]
    # only the plugins grading needs: autoloading every installed pytest plugin costs seconds per run
    env = {**os.environ, "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **spec_env}
    address_space = (limits.memory_mb + 8192) * 2**20

    def set_limits() -> None:  # in the child, before exec: inherited by the kernel
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    start = time.monotonic()
    killed = None
    with open(log_path, "w+b") as log:   # read back through this descriptor: the path is the student's to replace
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=posix,
                                preexec_fn=set_limits if posix and resource is not None else None)
        pids, tick = [proc.pid], 0
        while proc.poll() is None:
            pids = _descendants(proc.pid)
            if uid is not None and tick % 10 == 0:   # and the detached processes of the kernel's user
                pids = sorted(set(pids) | set(uid_processes(uid)))
            tick += 1
            if time.monotonic() - start > limits.notebook_timeout:
                killed = "timeout"
            elif _rss_kib(pids) > limits.memory_mb * 1024:
                killed = "memory"
            if killed:
                break
            time.sleep(0.05)
        _kill_all(proc, pids)  # whatever the run left behind (a kernel, a fork) goes too
        left_behind = reap(uid) if uid is not None else 0   # and every process of the kernel's user, however detached
        log.seek(max(0, os.fstat(log.fileno()).st_size - 40_000))
        log_tail = log.read().decode("utf-8", "replace")
    try:
        results = json.loads(_read_regular_file(report) or "{}")
    except ValueError:   # a report the run left unreadable: no results, which the caller reports
        results = {}
    if not isinstance(results, dict):
        results = {}
    # nbval numbers code cells from 0; shift past the preamble
    cells = {int(k) - 1: v for k, v in results.items() if str(k).lstrip("-").isdigit() and int(k) >= 1}
    return Execution(cells, log_tail, proc.returncode, killed, time.monotonic() - start, left_behind, token)


def _read_regular_file(path: Path, limit: int = 16 * 2**20) -> str | None:
    """The text of `path` if it is a plain file (not a link, FIFO or device), at most `limit` bytes;
    None otherwise. Opened without blocking and without following links: a file in the scratch
    folder is the student's to replace, and a FIFO must not stop the class."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        return f.read(limit).decode("utf-8", "replace")


def _malformed_cells(nb) -> list[str]:
    """What makes a read notebook's cells unusable: a cell without a known `cell_type`, or whose
    `source` is not text (a string or a list of strings). Other schema details are left alone,
    so an honest notebook from any editor is never refused for them."""
    problems = []
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        return ["it has no list of cells"]
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            kind = cell.get("cell_type") if isinstance(cell, dict) else type(cell).__name__
            problems.append(f"cell {i} has cell_type {kind!r} (expected 'code', 'markdown' or 'raw')")
            continue
        source = cell.get("source", "")
        if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(x, str) for x in source))):
            problems.append(f"cell {i}'s source is a {type(source).__name__}, not text")
        metadata = cell.get("metadata", {})
        if not isinstance(metadata, dict):
            problems.append(f"cell {i}'s metadata is a {type(metadata).__name__}, not a mapping")
            continue
        tags = metadata.get("tags", [])
        if not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            problems.append(f"cell {i}'s tags are not a list of text")
        if not isinstance(metadata.get("coursekit", {}), dict):
            problems.append(f"cell {i}'s coursekit metadata is not a mapping")
    return problems


def grade_notebook(source_nb, source_specs: list[CellSpec], submission_path: Path, exercise: str,
                   limits: Limits = Limits(), isolation: Isolation | None = None,
                   released: dict[str, set[str]] | None = None) -> Result:
    """Score one submitted notebook against its source; never raises for a bad submission.
    `released`: the earlier versions' cell texts (see `splice`)."""
    result = Result(exercise)
    tests = [(cell, spec) for cell, spec in zip(source_nb.cells, source_specs) if spec.is_test]
    code_index = {spec.id: n for n, (cell, spec) in
                  enumerate((c, s) for c, s in zip(source_nb.cells, source_specs) if c.cell_type == "code")}
    if Path(submission_path).is_symlink():
        result.status, result.detail = "invalid", "the submission is a link, which the grader does not follow"
        result.tests = _zero(tests, "not run")
        return result
    try:
        submission = nbformat.read(submission_path, as_version=4)
    except Exception as err:  # not JSON, not a notebook, empty: the submission scores 0
        result.status, result.detail = "invalid", "not a readable notebook"
        result.notes.append(f"the submission could not be read as a notebook ({type(err).__name__}: "
                            f"{str(err).splitlines()[0][:200] if str(err) else 'empty file'})")
        result.tests = _zero(tests, "not run")
        return result
    malformed = _malformed_cells(submission)
    if malformed:   # valid JSON, but not cells the grader can splice: the submission scores 0, the class goes on
        result.status, result.detail = "invalid", "not a well-formed notebook"
        result.notes.append("the submission's cells are malformed: " + "; ".join(malformed[:5]))
        result.tests = _zero(tests, "not run")
        return result
    nb, notes, tampering = splice(source_nb, source_specs, submission, released)
    result.notes += notes + tampering
    student_nb, verify_nb, flags, dropped = two_runs(nb, source_nb, source_specs)
    flagged_at = next((i for i, spec in enumerate(source_specs)
                       if spec.kind == "answer" and any(f.startswith(f"answer {spec.id!r} ") for f in flags)), None)
    position = {spec.id: i for i, spec in enumerate(source_specs)}
    if flagged_at is not None and all(position[s.id] > flagged_at for _, s in tests):
        # nothing could count before review: nothing is run (a flagged submission costs no kernel time)
        result.status = "tampered"
        result.detail = "; ".join(list(tampering) + [f"flagged for review: {f}" for f in flags])
        result.tests = _zero(tests, "not run: " + _FLAGGED_BEFORE)
        return result
    if dropped:
        result.notes.append("the verification run used only your definitions (functions, classes, imports, "
                            "assignments); it did not run: " + "; ".join(dropped[:8])
                            + (f"; and {len(dropped) - 8} more" if len(dropped) > 8 else ""))
    guarded = {code_index[s.id] for _, s in tests}
    runs = {}
    for name, notebook, cells in (("your notebook", student_nb, {code_index[s.id] for _, s in tests
                                                                 if s.kind != "hidden-test"}),
                                  ("the verification run", verify_nb, guarded)):
        tmp = tempfile.mkdtemp(prefix="coursekit-grade-")
        try:
            runs[name] = execute(notebook, Path(tmp), limits, guarded=cells, isolation=isolation)
        finally:   # never raises: a process that kept writing into the scratch folder cannot stop the class
            shutil.rmtree(tmp, ignore_errors=True)
    first, second = runs["your notebook"], runs["the verification run"]
    code_cells = sum(c.cell_type == "code" for c in source_nb.cells)
    result.cells_not_passed = [f"{name}: code cell {n} {run.cells[n].get('outcome')}" if n in run.cells
                               else f"{name}: code cell {n} did not run"
                               for name, run in runs.items() for n in range(code_cells)
                               if run.cells.get(n, {}).get("outcome") != "passed"]
    result.log = "\n".join(f"==== {name} ====\n{run.log}" for name, run in runs.items())
    result.seconds = first.seconds + second.seconds
    verdicts = {name: _run_status(run, limits) for name, run in runs.items()}
    left = sum(run.left_behind for run in runs.values())
    if left:
        result.notes.append(f"{left} process(es) your code left running were stopped when its grading ended")
    tamper = list(tampering) + [f"flagged for review: {f}" for f in flags]
    for name, (status, detail, hits) in verdicts.items():
        tamper += [f"{hit} ({name})" for hit in hits]
    ended = [(status, f"{detail} ({name})") for name, (status, detail, _) in verdicts.items() if status != "ok"]
    ended.sort(key=lambda sd: ("memory", "timeout", "crash", "error").index(sd[0]))
    if tamper:   # tampered wins over every other status: no error can hide it
        result.status, result.detail = "tampered", "; ".join(tamper)
        if ended:
            result.detail += f"; the run then ended in {ended[0][0]}"
    elif ended:
        result.status, result.detail = ended[0]
        if result.status == "error":
            result.notes.append("the grader could not run the notebook; this is not charged to you, "
                                "your instructor has the log")
    for cell, spec in tests:
        n = code_index[spec.id]
        a, b = first.cells.get(n, {}), second.cells.get(n, {})
        passed_b = b.get("outcome") == "passed"
        passed = passed_b and (spec.kind == "hidden-test" or a.get("outcome") == "passed")
        unsure = flagged_at is not None and position[spec.id] > flagged_at
        if unsure:   # flagged code was defined before this test ran: it cannot count until reviewed
            passed = False
            message = "not counted: " + _FLAGGED_BEFORE
        elif passed:
            message = ""
        elif spec.kind != "hidden-test" and a.get("outcome") != "passed":
            message = a.get("message") or f"not run ({result.status}: {result.detail})"
        elif spec.kind != "hidden-test":   # the verification run's text is not shown: it ran hidden tests too
            message = ("passed in your notebook but failed in the verification run, which runs only your "
                       "definitions (functions, classes, imports, assignments): does your answer rely on "
                       "top-level code? Your instructor has the details")
        else:
            message = b.get("message") or f"not run ({result.status}: {result.detail})"
        result.tests.append(TestResult(spec.id, spec.kind, spec.points if passed else 0.0, spec.points, passed, message))
    return result


_FLAGGED_BEFORE = ("an answer cell before it uses something the grader does not allow in answers (see the "
                   "notes); your instructor reviews it")


def _zero(tests, message: str) -> list[TestResult]:
    """Every test of `tests` (cell, spec pairs) at 0 points, with `message`."""
    return [TestResult(s.id, s.kind, 0.0, s.points, False, message) for _, s in tests]


def protected_names(source_nb, source_specs: list[CellSpec]) -> set[str]:
    """Names the exercise's locked and test cells read from the notebook (helpers, modules, setup
    variables, builtins) and its answers do not define: an answer must not rebind them."""
    from .screen import defined_names, free_names
    cells = list(zip(source_nb.cells, source_specs))
    read = [c.source for c, s in cells if (s.is_test or s.kind == "locked") and c.cell_type == "code"]
    answers = [c.source for c, s in cells if s.kind == "answer"]
    return set().union(*map(free_names, read)) - set().union(*map(defined_names, answers))


def two_runs(nb, source_nb, source_specs: list[CellSpec]):
    """The two notebooks a submission is graded by, from the spliced notebook `nb`:

    - *your notebook*: the student's answer cells as written, the locked cells and the public
      tests; hidden tests are left out (empty cells), so the kernel that runs the student's
      top-level code never receives them;
    - *the verification run*: every test, public and hidden, in a fresh kernel that receives
      only the screened definitions of each answer cell (`screen.screen_answer`).

    A test counts only where it passes in the verification run (and, for a public test, in the
    student's notebook too). Returns (student_nb, verify_nb, flags, dropped)."""
    from .screen import screen_answer
    protected = protected_names(source_nb, source_specs)
    student, verify = copy.deepcopy(nb), copy.deepcopy(nb)
    flags, dropped = [], []
    for s_cell, v_cell, spec in zip(student.cells, verify.cells, source_specs):
        if spec.kind == "hidden-test":
            s_cell.source = ""
        elif spec.kind == "answer":
            screened = screen_answer(v_cell.source, protected)
            v_cell.source = screened.source
            flags += [f"answer {spec.id!r} {f}" for f in screened.flags]
            dropped += [f"answer {spec.id!r} {d}" for d in screened.dropped if not screened.syntax_error]
    return student, verify, flags, dropped


def _run_status(run: Execution, limits: Limits) -> tuple[str, str, list[str]]:
    """How one run ended: (status, detail, tamper hits) with status ok, memory, timeout, crash or error."""
    outcomes = run.cells
    enames = {o.get("ename") for o in outcomes.values()}
    dead = [n for n, o in sorted(outcomes.items()) if not o.get("kernel_alive", True)]
    timed_out = [n for n, o in sorted(outcomes.items()) if o.get("timed_out")]
    # the guard's own exception, by the run's token (answer code cannot name it); its text is not
    # copied: the verification run's output is never shown to the student
    hits = ["answer code replaced something the tests rely on (check_close, torch.allclose, Tensor.__eq__, ...)"
            for o in outcomes.values() if run.token and o.get("ename") == f"GraderTamperError_{run.token}"][:1]
    if any(o.get("suppressed") for o in outcomes.values()):
        hits.append("tracebacks were suppressed: a failing cell showed no error")
    if run.killed == "memory" or "MemoryError" in enames:
        return "memory", (f"more than {limits.memory_mb} MiB" if run.killed == "memory"
                          else "an allocation failed (MemoryError)"), hits
    if run.killed == "timeout" or timed_out:
        return "timeout", (f"the notebook ran past {limits.notebook_timeout} s" if run.killed == "timeout"
                           else f"a cell ran past {limits.cell_timeout} s"), hits
    if dead:
        return "crash", "the kernel died while a cell ran", hits
    if not outcomes:
        return "error", f"no result from the test run (exit code {run.returncode})", hits
    return "ok", "", hits
