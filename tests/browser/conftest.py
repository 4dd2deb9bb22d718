"""A JupyterLab server on a free loopback port and headless Chromium driven by Playwright.

The suite is skipped, with the reason, where Chromium (Debian's `chromium`, /usr/bin/chromium)
or the `playwright` package is missing; `.ci/run` installs Chromium before `make test`.
Screenshots land in test-artifacts/browser/.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("COURSEKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _why_not() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does this)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _why_not()
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A lecture whose test passed after running all its cells leaves its outputs for nbval to
    check (../../conftest.py), so nbval does not execute it a second time."""
    outcome = yield
    report = outcome.get_result()
    lecture = getattr(item, "callspec", None) and item.callspec.params.get("lecture")
    page = getattr(item, "funcargs", {}).get("page")
    notebook = getattr(page, "coursekit_notebook", None)
    if report.when == "call" and report.passed and lecture and notebook is not None:
        item.config.coursekit_browser_outputs[lecture] = notebook


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab over a folder; `url(path)` opens a notebook in it."""

    def __init__(self, root: Path):
        self.root, self.port, self.token = root, _free_port(), secrets.token_hex(16)
        jupyter = Path(sys.executable).parent / "jupyter"
        cmd = [str(jupyter), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
               "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root}",
               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log = open(root / "jupyter.log", "w")
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / ".jupyter-config")}
        self.proc = subprocess.Popen(cmd, cwd=root, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"JupyterLab did not start: {(root / 'jupyter.log').read_text()[-2000:]}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/lab/tree/{path}?token={self.token}&reset"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def course_copy(tmp_path_factory):
    """A copy of the course's notebooks, so autosave in the browser changes nothing in the repo, and of
    the benchmark results lecture 09 reads (benchmarks/results.json, found from notebooks/ upwards)."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    (root / "benchmarks").mkdir()
    shutil.copy2(ROOT / "benchmarks" / "results.json", root / "benchmarks" / "results.json")
    return root


@pytest.fixture(scope="session")
def lab(course_copy):
    server = Lab(course_copy)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
