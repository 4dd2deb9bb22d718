"""A pytest plugin for grading runs: nbval plus the kernel's own verdict on every cell.

- nbval fails a cell only when the kernel *publishes* an error message. Student code can stop
  that (replace `InteractiveShell.showtraceback`, install `set_custom_exc`), and a failing test
  would then pass. The kernel's execute_reply still says `status: error`, so this plugin
  records every reply and fails a cell whose reply was not `ok`, whatever was shown.
- nbval waits for a dead kernel's reply until the cell timeout; this plugin polls the kernel
  while it waits and fails the cell at once when the kernel has died.
- Printed output beyond `--grading-output-kb` per cell is dropped, so a flood of prints
  cannot exhaust the grader's memory.
- Each cell's outcome is written to `--grading-report` (JSON) after every cell, so a run the
  grader has to kill keeps the results of the cells that finished.
- nbval waits at most 5 s for a cell's output messages once the kernel has replied, and 10 s
  for the kernel's first answer, then stops the kernel: on a loaded machine a starved kernel
  sends its "idle" message later than that, and every later cell was lost ("Kernel dead on
  test start"; the student was charged a crash). Here both waits are `--grading-patience`
  seconds (the grader's start-up timeout), which only a kernel that is really stuck reaches.

Loaded only by the grader: `python -m pytest -p coursekit.grading.nbval_status ...`.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from queue import Empty

import pytest
from nbval import kernel as nbval_kernel

_original_execute = nbval_kernel.RunningKernel.execute_cell_input
_original_get_message = nbval_kernel.RunningKernel.get_message
_POLL = 0.2  # seconds between checks that the kernel is still alive
_INTERRUPT_GRACE = 10.0  # seconds an interrupted kernel has to stop and send its output
_state = {"output_limit": 1 << 20, "patience": 120.0}


class KernelDied(RuntimeError):
    pass


def _execute_cell_input(self, cell_input, allow_stdin=None):
    msg_id = _original_execute(self, cell_input, allow_stdin=allow_stdin)
    self.coursekit_last_msg_id = msg_id
    self.coursekit_output_bytes = 0
    self.coursekit_interrupted = False
    return msg_id


def _get_message(self, stream, timeout=None):
    """nbval's get_message, with stream output past the limit dropped. After a cell timeout
    (the kernel was interrupted), output is awaited only `_INTERRUPT_GRACE` seconds: a kernel
    that ignores the interrupt is stopped then, not after the full patience."""
    if stream == "iopub" and getattr(self, "coursekit_interrupted", False) and timeout is not None:
        timeout = min(timeout, _INTERRUPT_GRACE)
    msg = _original_get_message(self, stream, timeout=timeout)
    if stream == "iopub" and msg.get("msg_type") == "stream":
        used = getattr(self, "coursekit_output_bytes", 0)
        text = msg["content"].get("text", "")
        room = _state["output_limit"] - used
        if room <= 0:
            msg["content"]["text"] = ""
        elif len(text) > room:
            msg["content"]["text"] = text[:room] + "\n[the grader dropped the rest of this cell's output]\n"
        self.coursekit_output_bytes = used + len(text)
    return msg


def _await_reply(self, msg_id, timeout=None):
    """nbval's loop, keeping the reply's content and noticing a dead kernel at once."""
    waited = 0.0
    while True:
        try:
            msg = self.get_message(stream="shell", timeout=_POLL)
        except Empty:
            waited += _POLL
            if not self.is_alive():
                raise KernelDied("the kernel died while running this cell (os._exit, a crash or a kill)")
            if timeout is not None and waited >= timeout:
                self.coursekit_interrupted = True   # nbval interrupts the kernel next
                raise
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            replies = getattr(self, "coursekit_replies", {})
            replies[msg_id] = msg["content"]
            self.coursekit_replies = replies
            if msg["content"]["status"] == "aborted":
                raise RuntimeError("Kernel aborted execution request")
            return


def _ensure_iopub_up(self):
    """nbval's start-up handshake (kernel_info until IOPub answers), with `patience` seconds
    instead of a fixed 10 s for the reply and 30 s in all."""
    deadline = time.monotonic() + _state["patience"]
    while True:
        msg_id = self.kc.kernel_info()
        try:
            self.await_reply(msg_id, timeout=max(1.0, deadline - time.monotonic()))
        except Empty:
            raise RuntimeError(f"the kernel did not answer within {_state['patience']:g} s of starting") from None
        try:
            self.await_idle(msg_id, 1)
            return
        except Empty:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the kernel's output channel did not open within {_state['patience']:g} s") from None


class _IpcKernelManager(nbval_kernel.KernelManager):
    """nbval's kernel manager, talking to the kernel over Unix sockets at `--grading-ipc` (in
    the kernel's scratch folder): a sandboxed kernel then needs no network at all."""

    def __init__(self, **kwargs):
        super().__init__(transport="ipc", ip=_state["ipc"], **kwargs)


def pytest_addoption(parser):
    parser.addoption("--grading-report", default=None, help="write each cell's outcome to this JSON file")
    parser.addoption("--grading-output-kb", type=int, default=1024, help="printed output kept per cell")
    parser.addoption("--grading-ipc", default=None,
                     help="talk to the kernel over Unix sockets with this path prefix instead of TCP")
    parser.addoption("--grading-patience", type=float, default=120.0,
                     help="seconds to wait for a cell's output after its reply, and for a new kernel's first answer")


def pytest_configure(config):
    _state["output_limit"] = config.getoption("--grading-output-kb") * 1024
    _state["patience"] = config.getoption("--grading-patience")
    if config.getoption("--grading-ipc"):
        _state["ipc"] = config.getoption("--grading-ipc")
        nbval_kernel.KernelManager = _IpcKernelManager
    nbval_kernel.RunningKernel._ensure_iopub_up = _ensure_iopub_up
    nbval_kernel.RunningKernel.execute_cell_input = _execute_cell_input
    nbval_kernel.RunningKernel.get_message = _get_message
    nbval_kernel.RunningKernel.await_reply = _await_reply
    config._coursekit_results = {}


def pytest_collection_modifyitems(session, config, items):
    for item in items:   # nbval's cells wait `output_timeout` (5 s) for output after the reply
        if hasattr(item, "output_timeout"):
            item.output_timeout = _state["patience"]


def _write_report(config) -> None:
    path = config.getoption("--grading-report")
    if path:   # a new file of our own each time (never one planted in its place, e.g. a FIFO), then renamed
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".report-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({str(k): v for k, v in config._coursekit_results.items()}, f)
        os.replace(tmp, path)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    num = getattr(item, "cell_num", None)
    if num is None or report.when != "call":
        return
    kernel = getattr(item.parent, "kernel", None)
    msg_id = getattr(kernel, "coursekit_last_msg_id", None)
    reply = getattr(kernel, "coursekit_replies", {}).get(msg_id, {}) if kernel is not None else {}
    status = reply.get("status")
    suppressed = bool(report.passed and status not in ("ok", None))
    if suppressed:
        report.outcome = "failed"
        report.longrepr = (f"the kernel reported {status}: {reply.get('ename', '?')}: {reply.get('evalue', '')} "
                           f"although the cell showed no error (tracebacks were suppressed)")
    if report.passed and status is None:
        report.outcome = "failed"
        report.longrepr = "the kernel sent no reply for this cell"
    text = str(report.longrepr or "")
    message = ""
    if report.failed:
        if status == "error":
            message = f"{reply.get('ename', 'Error')}: {reply.get('evalue', '')}"
        elif call.excinfo is not None and not call.excinfo.errisinstance(AssertionError) and "nbval" not in text[:200]:
            message = f"{call.excinfo.typename}: {call.excinfo.value}"
        else:
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            message = lines[0] if lines else "failed"
    alive = bool(kernel is not None and kernel.is_alive())
    item.config._coursekit_results[num] = {
        "outcome": report.outcome, "status": status, "ename": reply.get("ename"),
        "evalue": (reply.get("evalue") or "")[:2000], "message": message[:2000],
        "kernel_alive": alive, "timed_out": "Timeout of" in text, "suppressed": suppressed,
    }
    _write_report(item.config)
