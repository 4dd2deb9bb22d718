"""Grading on a loaded machine: nothing the machine causes is charged to a student.

The cause of the honest "crash" rows (nbval: "Kernel dead on test start") was nbval's fixed
5 s wait for a cell's output messages after the kernel's reply: a kernel starved of CPU sends
its "idle" message later than that, nbval stops the kernel, and every later cell is lost. The
first test reproduces that exactly (the kernel's idle message is held back 7 s) and fails on
a grader without the fix.
"""
import nbformat

from coursekit.grading.run import Limits, execute

LAGGING_KERNEL = """\
import time as _time
_k = get_ipython().kernel
_original, _held = _k._publish_status, []
def _late_idle(status, channel, parent=None):
    if status == "idle" and channel == "shell" and not _held:
        _held.append(1)
        _time.sleep(7)   # the idle message comes 7 s after the reply, as from a starved kernel
    return _original(status, channel, parent)
_k._publish_status = _late_idle
"""


def test_a_kernel_whose_output_lags_its_reply_is_not_stopped(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LAGGING_KERNEL),
                                         nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell("assert x == 1")])
    run = execute(nb, tmp_path, Limits(cell_timeout=30))
    assert [run.cells[i]["outcome"] for i in range(3)] == ["passed"] * 3, run.log[-2000:]
    assert all(c["kernel_alive"] for c in run.cells.values())


def test_an_interrupted_kernel_that_ignores_the_interrupt_is_stopped_quickly(tmp_path):
    """The long patience is for kernels that replied; a timed-out cell that swallows the
    interrupt is stopped after a short grace, so a stubborn loop does not cost minutes."""
    stubborn = ("while True:\n    try:\n        while True:\n            pass\n"
                "    except KeyboardInterrupt:\n        pass\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(stubborn), nbformat.v4.new_code_cell("1")])
    # 10 s per cell: the grader's first cell imports torch, which a loaded machine can take more than 3 s
    # over (that cell then times out and this one is not run); 10 s + the 10 s grace stay far below the
    # 60 s bound, which waiting the full patience (120 s) would exceed
    run = execute(nb, tmp_path, Limits(cell_timeout=10, startup_timeout=120))
    assert run.cells[0]["timed_out"] and run.cells[0]["outcome"] == "failed"
    assert run.seconds < 60, run.seconds
