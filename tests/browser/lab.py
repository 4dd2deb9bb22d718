"""Driving a notebook in JupyterLab from Playwright: open, run all, find widgets, move sliders."""
from __future__ import annotations

import time

RUN_ALL_TIMEOUT_S = 240


def open_and_run_all(page, url: str, timeout_s: float = RUN_ALL_TIMEOUT_S) -> None:
    """Open a notebook, wait for its kernel, run every cell through the app's command API and
    wait until no cell is queued or running and the kernel is idle; the notebook with its outputs
    is then `page.coursekit_notebook` (nbformat's JSON)."""
    page.goto(url)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=90_000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
    dismiss_news(page)
    # the session's kernel must be connected before "run all", or cells race the connection
    page.wait_for_function("""() => {
        const w = window.jupyterapp.shell.currentWidget;
        const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
        return k && k.connectionStatus === 'connected' && k.status === 'idle';
    }""", timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + timeout_s
    time.sleep(1.0)
    while time.monotonic() < deadline:
        busy = page.evaluate("""() => {
            const w = window.jupyterapp.shell.currentWidget;
            const k = w.sessionContext.session.kernel;
            const prompts = [...document.querySelectorAll('.jp-InputArea-prompt')].map(e => e.textContent);
            return k.status !== 'idle' || prompts.some(t => t.includes('*'));
        }""")
        if not busy:
            # the notebook as the kernel left it, every cell's outputs: nbval compares these instead of
            # running the lecture a second time (../../conftest.py)
            page.coursekit_notebook = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.toJSON()")
            return
        time.sleep(0.5)
    raise TimeoutError(f"the notebook did not finish running within {timeout_s} s")


def dismiss_news(page) -> None:
    """Answer JupyterLab's "notified about official Jupyter news?" toast, so it covers nothing."""
    no = page.locator(".jp-Notification-Toast button", has_text="No")
    try:
        no.first.click(timeout=3000)
    except Exception:  # no toast this time: nothing to dismiss
        pass


def cell_errors(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type=\"application/vnd.jupyter.stderr\"] pre')]"
                         ".map(e => e.textContent).filter(t => t.includes('Error'))")


def move_slider(page, nth: int = 0, presses: int = 10, key: str = "ArrowRight") -> None:
    """Focus the nth slider handle and press an arrow key, as a student would."""
    handle = page.locator(".widget-slider .noUi-handle").nth(nth)
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(presses):
        page.keyboard.press(key)
    handle.blur()
