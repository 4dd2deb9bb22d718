"""Shared by the unit tests and nbval (pytest reads this file for every item under the course's root).

The browser suite (tests/browser, which runs first) executes each widget lecture from top to bottom in
JupyterLab, in this environment's kernel, and keeps the notebook as the kernel left it: every cell's
outputs (tests/browser/lab.py). nbval does not execute such a lecture a second time, which would cost
CI the lecture's whole run again; it checks the outputs the browser's run produced instead, cell by
cell, as it checks its own: a cell that raised fails, an unexpected unrun cell fails, and a cell marked
`# NBVAL_CHECK_OUTPUT` must match the committed outputs (nbval's own comparison). Where Chromium is
missing the browser suite is skipped and nbval executes every lecture as before.

Likewise tests/test_grading.py grades each solution (solutions/NN_topic.ipynb) through the grader: its
two runs together execute every code cell (the student's notebook all but the hidden tests, the
verification run every test on the answers' definitions). Where that grading gave full points and
every code cell passed in both runs, nbval skips the solution instead of executing it a third time
(it has no `# NBVAL_CHECK_OUTPUT` cell to compare); otherwise, or where test_grading.py did not run,
nbval executes it as before.
"""
from __future__ import annotations

import copy
from pathlib import Path

import pytest


def pytest_configure(config):
    config.coursekit_ran_in_browser = set()   # names of lectures tests/browser ran without an error
    config.coursekit_browser_outputs = {}     # name -> the notebook (nbformat JSON) after its run in JupyterLab
    config.coursekit_solutions_ran_in_full = {}   # name -> seconds: solutions tests/test_grading.py ran in full


@pytest.hookimpl(tryfirst=True)   # before pytest sets up the notebook (nbval starts its kernel there)
def pytest_runtest_setup(item):
    path = Path(str(item.fspath))
    if path.suffix == ".ipynb" and path.parent.name == "solutions":
        seconds = getattr(item.config, "coursekit_solutions_ran_in_full", {}).get(path.name)
        if seconds is not None and "NBVAL_CHECK_OUTPUT" not in path.read_text(encoding="utf-8"):
            pytest.skip(f"{path.name} ran in full in tests/test_grading.py's grading of the solution ({seconds:.0f} s: "
                        f"every code cell passed, in the student's notebook or the verification run)")
        return
    if path.suffix != ".ipynb" or path.parent.name != "notebooks":
        return
    ran = getattr(item.config, "coursekit_browser_outputs", {}).get(path.name)
    if ran is not None and hasattr(item, "cell_num"):
        _check_the_browsers_outputs(item, ran)
    elif path.name in getattr(item.config, "coursekit_ran_in_browser", ()):
        pytest.skip(f"{path.name} ran top to bottom in JupyterLab without an error (tests/browser) and has no "
                    f"output for nbval to compare")


def _check_the_browsers_outputs(item, notebook: dict) -> None:
    """Make nbval's cell `item` check the output of the browser's run of its notebook instead of
    running the cell: no kernel is started for the notebook (its set-up is replaced), and the test
    is nbval's own tail of `IPyNbCell.runtest`, on the outputs JupyterLab received from the kernel."""
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines
    from nbval.plugin import coalesce_streams

    if not hasattr(item.parent, "coursekit_browser_cells"):
        # multi-line strings joined as nbformat reads a file (JupyterLab's JSON is not validated: the
        # outputs are what is checked)
        code = [c for c in notebook["cells"] if c.get("cell_type") == "code"]
        item.parent.coursekit_browser_cells = rejoin_lines(nbformat.from_dict(copy.deepcopy({"cells": code}))).cells
        item.parent.setup = item.parent.setup_sanitize_files   # nbval's set-up without the kernel
    cells = item.parent.coursekit_browser_cells

    def runtest():
        if item.options["skip"]:
            pytest.skip()
        if item.cell_num >= len(cells) or cells[item.cell_num].source.strip() != item.cell.source.strip():
            item.raise_cell_error("the browser ran another version of this cell (tests/browser's copy of the "
                                  "notebook differs from the one nbval collected)")
        ran = cells[item.cell_num]
        if ran.execution_count is None and ran.source.strip():
            item.raise_cell_error("the cell did not run in the browser's run of the notebook (tests/browser)")
        outs = coalesce_streams(copy.deepcopy(ran.outputs))
        errors = [o for o in outs if o.output_type == "error"]
        if errors and not item.options["check_exception"]:
            item.raise_cell_error("Cell execution caused an exception (in the browser's run, tests/browser)",
                                  "\n" + "\n".join(errors[0].get("traceback", [])))
        unrun = item.cell.execution_count is None
        if unrun and item.cell.outputs:
            item.raise_cell_error("Unrun reference cell has outputs")
        if item.options["check"] and not unrun and not item.compare_outputs(outs, coalesce_streams(item.cell.outputs)):
            item.raise_cell_error("Cell outputs differ (from the browser's run, tests/browser)",
                                  "\n".join(item.comparison_traceback))

    item.runtest = runtest
