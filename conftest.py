"""Shared by the unit tests and nbval (pytest reads this file for every item under the course's root).

The browser suite (tests/browser, which runs first) executes each widget lecture from top to bottom in
JupyterLab and fails on any cell error. A lecture it ran that way, and whose outputs nbval compares
nowhere (no `# NBVAL_CHECK_OUTPUT` cell), is not executed a second time by nbval: the second run would
check nothing the first did not, and costs CI a minute per few lectures. Where Chromium is missing the
browser suite is skipped and nbval executes every lecture as before.
"""
from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config):
    config.coursekit_ran_in_browser = set()   # names of lectures tests/browser ran without an error


def pytest_runtest_setup(item):
    path = Path(str(item.fspath))
    if path.suffix == ".ipynb" and path.parent.name == "notebooks" and \
            path.name in getattr(item.config, "coursekit_ran_in_browser", ()):
        pytest.skip(f"{path.name} ran top to bottom in JupyterLab without an error (tests/browser) and has no "
                    f"output for nbval to compare")
