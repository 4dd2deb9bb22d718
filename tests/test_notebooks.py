"""The conventions every lecture follows (the notebooks themselves are executed by nbval)."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "notebooks").glob("[0-9][0-9]*.ipynb"))


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
    # 1. an optional install cell, then 2. the parameters cell, tagged for papermill
    assert "find_spec(\"coursekit\")" in source(cells[0]), "the first code cell must be the Colab install cell"
    params = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1 and params[0] is cells[1], "the second code cell must be the one tagged 'parameters'"
    assert re.search(r"^SEED = \d+", source(params[0]), re.M), "the parameters cell sets SEED"
    assert re.search(r"^DEVICE = \"auto\"", source(params[0]), re.M), "the parameters cell sets DEVICE = \"auto\""
    # it is committed executed, without errors, in order
    counts = [c["execution_count"] for c in cells]
    assert all(counts) and counts == sorted(counts), "commit the lecture executed top to bottom (make notebooks)"
    assert not [o for c in cells for o in c["outputs"] if o["output_type"] == "error"]
    # light outputs
    assert path.stat().st_size < 600_000, f"{path.name} is {path.stat().st_size} bytes: keep outputs light"
    for c in cells:
        for o in c["outputs"]:
            png = o.get("data", {}).get("image/png", "")
            assert len(png) < 150_000, f"an image in {path.name} is {len(png)} base64 bytes"
    assert "widgets" not in nb["metadata"], "widget state is not committed (store_widget_state=False)"
    # no pyplot state in lectures: figures are matplotlib.figure.Figure, shown with plot.show
    assert not any(re.search(r"\bplt\.|import matplotlib.pyplot|matplotlib\.use", source(c)) for c in cells)
    # it ends with a summary, an exercises pointer and references
    text = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    for heading in ("## Summary", "**Exercises.**", "**References.**"):
        assert heading in text, f"{path.name} lacks {heading}"


@pytest.mark.parametrize("path", LECTURES, ids=[p.name for p in LECTURES])
def test_readme_lists_every_lecture(path):
    assert f"notebooks/{path.name}" in (ROOT / "README.md").read_text()
