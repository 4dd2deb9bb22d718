"""What a reader sees in a committed lecture before running it (GitHub, nbviewer, JupyterLab).

The notebooks are committed without widget state (scripts/notebook_sources.py clean), so a saved
widget cannot render: its text/plain fallback, `VBox(children=(FloatSlider(...`, would show, and
tqdm.auto's training bar would show frozen as it was first displayed, `VAE:   0%|   | 0/640`.
clean turns the first into a "run this cell" note and the second into its final text (or drops
it); these tests read the committed files with their own rules, not clean's, so a clean that
misses a case fails here. Nothing here executes a notebook.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# a widget's repr: ipywidgets' containers and controls, and interact's `interactive(...)`
WIDGET_TEXT = re.compile(r"\s*(?:[VH]?Box|GridBox|interactive|Output|Tab|Accordion|Stack|\w*(?:Slider|Progress|Picker)"
                         r"|Dropdown|Button|ToggleButtons|RadioButtons|Checkbox|Select\w*|Image|Play)\(")
# tqdm's line: `desc:  42%|████▏     | 200/480 [00:05<00:07, ...]` or, without a total, `desc: 0step [00:00, ?step/s]`
TQDM_LINE = re.compile(r"(\d{1,3})%\|[^|\n]*\|\s*([\d.]+[kMG]?)/([\d.]+[kMG]?)")
TQDM_START = re.compile(r"\[00:00<\?, \?")            # no rate measured yet: the bar as first displayed
TQDM_NO_TOTAL_START = re.compile(r"(?:^|\s)0[^\s\d]* \[00:00, \?")


def frozen(line: str, text_only: bool) -> bool:
    """Whether a line shows a progress bar that had not finished. A bar saved as text/plain alone
    is tqdm.auto's widget as first displayed (its final state lives in the widget); a bar with a
    richer twin (an HTML bar a display handle updated) or a stream's last frame shows its last
    state, which may be an early stop: only one that never advanced counts as frozen there."""
    bar = TQDM_LINE.search(line)
    if bar:
        return not (bar[1] == "100" and bar[2] == bar[3]) and (text_only or bool(TQDM_START.search(line)))
    return bool(TQDM_NO_TOTAL_START.search(line))


def text(value) -> str:
    return "".join(value) if isinstance(value, list) else (value or "")


def output_problems(path: Path) -> list[str]:
    """Outputs of a committed notebook that would show a widget's text or a frozen progress bar."""
    found = []
    for i, cell in enumerate(json.loads(Path(path).read_text(encoding="utf-8"))["cells"]):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            shown = text(output.get("text")) if output["output_type"] == "stream" else text(data.get("text/plain"))
            where = f"cell {i} ({cell.get('id')}): {shown.strip()[:60]!r}"
            if WIDGET_VIEW in data:
                found.append(f"{where}: a widget view (its model id), which cannot render from the file")
            if WIDGET_TEXT.match(shown):
                found.append(f"{where}: a widget's text/plain in place of the widget")
            if "\r" in shown:
                found.append(f"{where}: carriage-return progress frames")
            text_only = output["output_type"] != "stream" and set(data) == {"text/plain"}
            if any(frozen(line, text_only) for line in shown.splitlines()):
                found.append(f"{where}: a frozen progress bar")
    return found


def test_there_are_lectures():
    assert LECTURES


@pytest.mark.parametrize("path", LECTURES, ids=[p.name for p in LECTURES])
def test_no_committed_output_is_a_widget_fallback_or_a_frozen_progress_bar(path):
    found = output_problems(path)
    assert found == [], (f"run `python scripts/notebook_sources.py clean notebooks/{path.name}` "
                         "(make notebooks does):\n" + "\n".join(found))


def test_the_check_finds_what_a_notebook_saved_without_clean_shows(tmp_path):
    """The rules above flag the outputs an execution saves (as nbclient writes them), and let
    through what clean writes in their place."""
    import nbformat

    view = {WIDGET_VIEW: {"model_id": "0123456789abcdef", "version_major": 2, "version_minor": 0}}
    bad = [("display_data", {**view, "text/plain": "VBox(children=(FloatSlider(value=0.5, description='t'),))"}),
           ("execute_result", {"text/plain": "VBox(children=(SelectionSlider(continuous_update=False, index=3…"}),
           ("execute_result", {"text/plain": "interactive(children=(IntSlider(value=3),))"}),
           ("display_data", {"text/plain": "VAE:   0%|          | 0/640 [00:00<?, ?step/s]"}),
           ("display_data", {"text/plain": "VAE:  40%|████      | 256/640 [00:05<00:07, 50.1step/s]"}),
           ("display_data", {"text/plain": "epochs: 0step [00:00, ?step/s]"}),
           ("stream", "\r  0%|          | 0/5 [00:00<?, ?it/s]\r100%|██████████| 5/5 [00:00<00:00, 19.7it/s]"),
           ("stream", "  0%|          | 0/5 [00:00<?, ?it/s]\n"),
           ("display_data", {"text/plain": "VAE:   0%|          | 0/640 [00:00<?, ?step/s]", "text/html": "<div>VAE</div>"})]
    good = [("display_data", {"text/markdown": "*▶ Run this cell to use the interactive widget.*",
                              "text/plain": "▶ Run this cell to use the interactive widget."}),
            ("display_data", {"text/plain": "VAE: 100% 640/640"}),
            ("display_data", {"text/plain": "stopped early: 40% 256/640"}),
            ("stream", "100%|██████████| 5/5 [00:00<00:00, 19.7it/s]\n"),
            ("stream", " 40%|████      | 2/5 [00:00<00:00, 19.7it/s]\n"),     # the last frame: stopped there
            # an HTML bar a display handle kept up to date (with its text twin): its last state, an early stop
            ("display_data", {"text/plain": "VAE:  40%|████      | 256/640 [00:05<00:07, 50.1step/s]",
                              "text/html": "<div class='bar'>VAE: 40%</div>"}),
            ("display_data", {"text/plain": "VAE: 100%|██████████| 640/640 [00:00<?, ?step/s]"}),  # resumed, done
            ("execute_result", {"text/plain": "Text(0.5, 1.0, 'a title')"}),
            ("stream", "epoch 3: loss 91.2 (best 90.1)\n")]

    def write(outputs, name):
        cell = nbformat.v4.new_code_cell("x", execution_count=1)
        for kind, content in outputs:
            if kind == "stream":
                cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=content))
            else:
                extra = {"execution_count": 1} if kind == "execute_result" else {}
                cell.outputs.append(nbformat.v4.new_output(kind, data=content, **extra))
        nb = nbformat.v4.new_notebook(cells=[cell])
        nbformat.write(nb, tmp_path / name)
        return tmp_path / name

    for k, output in enumerate(bad):
        assert output_problems(write([output], f"bad{k}.ipynb")), output
    assert output_problems(write(good, "good.ipynb")) == []
