"""The conventions every lecture follows (the notebooks themselves are executed by nbval)."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "notebooks").glob("[0-9][0-9]*.ipynb"))
SETUP_CELL = "import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing"


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_there_are_lectures():
    assert LECTURES, "notebooks/ holds no lecture"


@pytest.mark.parametrize("path", LECTURES, ids=[p.name for p in LECTURES])
def test_lecture_conventions(path):
    nb = json.loads(path.read_text())
    cells = code_cells(nb)
    # 1. the one-line install cell (notebooks/course_setup.py), then 2. the parameters cell, tagged for papermill
    assert source(cells[0]).strip() == SETUP_CELL, f"the first code cell must be exactly: {SETUP_CELL}"
    params = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1 and params[0] is cells[1], "the second code cell must be the one tagged 'parameters'"
    assert re.search(r"^SEED = \d+", source(params[0]), re.M), "the parameters cell sets SEED"
    assert re.search(r"^DEVICE = \"auto\"", source(params[0]), re.M), "the parameters cell sets DEVICE = \"auto\""
    # it is committed executed, without errors, in order
    counts = [c["execution_count"] for c in cells]
    assert all(counts) and counts == sorted(counts), (
        f"commit the lecture executed top to bottom: `python scripts/execute_notebooks.py notebooks/{path.name}` "
        f"then `python scripts/notebook_sources.py clean notebooks/{path.name}` (or `make notebooks` for all)")
    assert not [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    # light outputs
    assert path.stat().st_size < 600_000, f"{path.name} is {path.stat().st_size} bytes: keep outputs light"
    for c in cells:
        for o in c["outputs"]:
            data = o.get("data", {})
            # a PNG output, and the data: images inside viz.show's HTML <img alt=...>
            html = "".join(data.get("text/html", ""))
            for png in [data.get("image/png", "")] + re.findall(r"base64,([A-Za-z0-9+/=]+)", html):
                assert len(png) < 150_000, f"an image in {path.name} is {len(png)} base64 bytes"
    assert "widgets" not in nb["metadata"], "widget state is not committed (store_widget_state=False)"
    # no pyplot state in lectures: figures are matplotlib.figure.Figure, shown with viz.show
    assert not any(re.search(r"\bplt\.|import matplotlib.pyplot|matplotlib\.use", source(c)) for c in cells)
    # it ends with a summary, an exercises pointer and references
    text = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    for heading in ("## Summary", "**Exercises.**", "**References.**"):
        assert heading in text, f"{path.name} lacks {heading}"


@pytest.mark.parametrize("path", LECTURES, ids=[p.name for p in LECTURES])
def test_readme_lists_every_lecture(path):
    assert f"notebooks/{path.name}" in (ROOT / "README.md").read_text(), (
        f"add a row for notebooks/{path.name} to README's table of lectures ('What the course covers')")


# --- notebooks/course_setup.py: what the first cell imports -------------------------------

def load_course_setup(monkeypatch, found):
    """course_setup as a fresh module, with coursekit `found` (importable) or not."""
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (object() if found else None) if name == "coursekit" else real_find_spec(name, *a))
    spec = importlib.util.spec_from_file_location("course_setup_under_test", ROOT / "notebooks" / "course_setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # runs ensure_coursekit() once, as the lecture's import does
    return module


def test_course_setup_does_nothing_when_coursekit_is_importable(monkeypatch):
    calls = []
    monkeypatch.setattr("subprocess.run", lambda *a, **k: calls.append(a))
    module = load_course_setup(monkeypatch, found=True)
    assert module.ensure_coursekit() is None and calls == []


def test_course_setup_installs_the_repository_above_the_working_directory(monkeypatch, tmp_path):
    import sys

    (tmp_path / "coursekit").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    calls = []
    monkeypatch.setattr("subprocess.run", lambda cmd, **k: calls.append((cmd, k)))
    monkeypatch.setattr(sys, "path", list(sys.path))
    load_course_setup(monkeypatch, found=False)
    assert calls == [([sys.executable, "-m", "pip", "install", "--quiet", "-e", str(tmp_path)], {"check": True})]
    assert sys.path[0] == str(tmp_path)


def test_course_setup_without_a_repository_raises_a_clear_import_error(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("subprocess.run", lambda *a, **k: pytest.fail("nothing to install"))
    with pytest.raises(ImportError, match="coursekit is not installed. Clone the course repository"):
        load_course_setup(monkeypatch, found=False)
