"""What a student sees: every widget, in JupyterLab, in a real (headless) browser.

nbval executes the notebooks but never renders a widget; these tests open each lecture that
has widgets, run all its cells, move each slider with the keyboard and assert that the picture
the student sees changes. Before/after screenshots are saved in test-artifacts/browser/.
"""
from __future__ import annotations

import time

import pytest

from .conftest import ROOT
from .lab import cell_errors, move_slider, open_and_run_all

# every lecture with a widget: each of its sliders must change a picture on the page
WIDGET_LECTURES = ["00_introduction.ipynb", "01_autoencoders.ipynb", "02_vae.ipynb", "03_beta_vae.ipynb",
                   "04a_autoregressive.ipynb", "05_attention.ipynb", "06_flows.ipynb", "07_gans.ipynb",
                   "08_diffusion.ipynb", "09_comparison.ipynb"]


def image_sources(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('img.widget-image')].map(e => e.getAttribute('src'))")


def wait_for_change(page, before: list[str], timeout_s: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout_s
    now = image_sources(page)
    while time.monotonic() < deadline and now == before:
        time.sleep(0.25)
        now = image_sources(page)
    return now


@pytest.mark.parametrize("lecture", WIDGET_LECTURES)
def test_sliders_change_what_the_student_sees(lab, page, artifacts, lecture, request):
    open_and_run_all(page, lab.url(f"notebooks/{lecture}"))
    assert cell_errors(page) == []
    if "NBVAL_CHECK_OUTPUT" not in (ROOT / "notebooks" / lecture).read_text():
        request.config.coursekit_ran_in_browser.add(lecture)   # nbval need not run it again (../../conftest.py)
    page.wait_for_selector(".widget-slider .noUi-handle", timeout=60_000)
    sliders = page.locator(".widget-slider").count()
    assert sliders >= 1
    for slider in range(sliders):
        box = page.locator(".widget-slider").nth(slider)
        box.scroll_into_view_if_needed()
        time.sleep(0.5)  # let JupyterLab render the cells now in view
        before = image_sources(page)
        assert any(before), "no widget image is shown"
        stem = f"{lecture.removesuffix('.ipynb')}-slider{slider}"
        page.screenshot(path=str(artifacts / f"{stem}-before.png"))
        move_slider(page, slider, key="ArrowRight")
        after = wait_for_change(page, before, timeout_s=30)
        if after == before:  # the slider may have started at its maximum
            move_slider(page, slider, key="ArrowLeft", presses=20)
            after = wait_for_change(page, before, timeout_s=30)
        page.screenshot(path=str(artifacts / f"{stem}-after.png"))
        assert after != before, f"moving slider {slider} of {lecture} did not change any picture"


@pytest.fixture(scope="module")
def release_lab(tmp_path_factory):
    from coursekit.grading.build import release

    from .conftest import ROOT, Lab

    out = release(ROOT, tmp_path_factory.mktemp("student") / "release").out
    server = Lab(out)
    yield server
    server.stop()


def test_student_release_opens_and_a_public_test_gives_feedback(release_lab, page, artifacts):
    """The student's edition: the exercise opens, its locked cells are locked, and running it
    shows the public test's feedback for the unsolved task."""
    open_and_run_all(page, release_lab.url("exercises/00_introduction.ipynb"))
    # what the student sees: the public test's cell, scrolled into view, shows the message
    failing = page.locator(".jp-Cell", has_text="Exercise gaussian-kl is not solved yet").last
    failing.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "release-exercise-00.png"))
    shown = failing.inner_text()
    assert "NotImplementedError" in shown and "check_close(gaussian_kl" in shown, shown[:500]
    # and the notebook (its model: JupyterLab renders only the cells in view) holds no secret
    cells = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.toJSON().cells")
    kinds = [c["metadata"].get("coursekit", {}).get("kind") for c in cells]
    assert "hidden-test" not in kinds and "public-test" in kinds
    assert not any("BEGIN SOLUTION" in "".join(c["source"]) for c in cells)
    locked = [c for c in cells if c["metadata"].get("coursekit", {}).get("kind") in ("locked", "public-test")]
    assert locked and all(c["metadata"].get("editable") is False for c in locked)
