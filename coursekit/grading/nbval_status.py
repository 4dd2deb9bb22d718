"""A pytest plugin for grading runs: nbval plus the kernel's own verdict on every cell.

nbval fails a cell only when the kernel *publishes* an error message. Student code can stop
that (replace `InteractiveShell.showtraceback`, install `set_custom_exc`), and a failing test
would then pass. The kernel's execute_reply still says `status: error`, so this plugin records
every reply and fails a cell whose reply was not `ok`, whatever was shown. It also writes
each cell's outcome to the JSON file named by `--grading-report`.

Loaded only by the grader: `python -m pytest -p coursekit.grading.nbval_status ...`.
"""
from __future__ import annotations

import json
import os
import time

import pytest
from nbval import kernel as nbval_kernel

_original_execute = nbval_kernel.RunningKernel.execute_cell_input
_original_await_reply = nbval_kernel.RunningKernel.await_reply


def _execute_cell_input(self, cell_input, allow_stdin=None):
    msg_id = _original_execute(self, cell_input, allow_stdin=allow_stdin)
    self.coursekit_last_msg_id = msg_id
    return msg_id


def _await_reply(self, msg_id, timeout=None):
    """nbval's loop, keeping the reply's content instead of dropping it."""
    while True:
        msg = self.get_message(stream="shell", timeout=timeout)
        if msg["parent_header"].get("msg_id") == msg_id:
            replies = getattr(self, "coursekit_replies", {})
            replies[msg_id] = msg["content"]
            self.coursekit_replies = replies
            if msg["content"]["status"] == "aborted":
                raise RuntimeError("Kernel aborted execution request")
            return


def pytest_addoption(parser):
    parser.addoption("--grading-report", default=None, help="write each cell's outcome to this JSON file")


def pytest_configure(config):
    nbval_kernel.RunningKernel.execute_cell_input = _execute_cell_input
    nbval_kernel.RunningKernel.await_reply = _await_reply
    config._coursekit_results = {}


def _cell_num(item) -> int | None:
    return getattr(item, "cell_num", None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    num = _cell_num(item)
    if num is None or report.when != "call":
        return
    kernel = getattr(item.parent, "kernel", None)
    msg_id = getattr(kernel, "coursekit_last_msg_id", None)
    reply = getattr(kernel, "coursekit_replies", {}).get(msg_id, {}) if kernel is not None else {}
    status = reply.get("status")
    message = ""
    if report.passed and status not in ("ok", None):
        report.outcome = "failed"
        report.longrepr = (f"the kernel reported {status}: {reply.get('ename', '?')}: {reply.get('evalue', '')} "
                           f"although the cell showed no error (tracebacks were suppressed)")
    if report.passed and status is None:
        report.outcome = "failed"
        report.longrepr = "the kernel sent no reply for this cell"
    if report.failed:
        if status == "error":
            message = f"{reply.get('ename', 'Error')}: {reply.get('evalue', '')}"
        else:
            text = str(report.longrepr)
            message = text.strip().splitlines()[0] if text.strip() else "failed"
            for line in text.splitlines():  # nbval puts the exception's last line near the end
                if line.strip() and not line.startswith((" ", "-", "\x1b")):
                    message = line.strip()
    item.config._coursekit_results[num] = {
        "outcome": report.outcome, "status": status, "ename": reply.get("ename"),
        "evalue": reply.get("evalue"), "message": message[:2000],
        "kernel_alive": bool(kernel is not None and kernel.is_alive()), "time": time.time(),
    }


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--grading-report")
    if path:
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({str(k): v for k, v in session.config._coursekit_results.items()}, f)
        os.replace(tmp, path)
