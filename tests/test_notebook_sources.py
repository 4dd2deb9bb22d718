"""The .py text sources of the lectures and exercise sources (scripts/notebook_sources.py).

Every notebooks/NN_*.ipynb and solutions/NN_*.ipynb has its percent-format .py; they agree; the
committed notebooks carry no execution timestamps, widget state or widget model ids; cell ids
exist, are unique and survive a sync. Nothing here executes a notebook.
"""
import copy
import fnmatch
import json
import shutil
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import notebook_sources as ns  # noqa: E402

NOTEBOOKS = [p for p in ns.course_notebooks() if p.is_file()]     # a .py without its notebook: test below
ORPHANS = [p for p in ns.course_notebooks() if not p.is_file()]
IDS = [f"{p.parent.name}/{p.name}" for p in NOTEBOOKS]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_every_lecture_and_solution_has_its_text_source():
    names = {f"{p.parent.name}/{p.stem}" for p in NOTEBOOKS}
    for folder in ("notebooks", "solutions"):
        ipynb = sorted((ROOT / folder).glob("[0-9]*.ipynb"))
        assert ipynb, f"{folder}/ holds no notebook"
        assert {f"{folder}/{p.stem}" for p in ipynb} <= names
    missing = [str(p.relative_to(ROOT)) for p in NOTEBOOKS if not p.with_suffix(".py").is_file()]
    orphans = [str(p.relative_to(ROOT)) for p in ORPHANS]
    assert missing == [], "write them: python scripts/notebook_sources.py pair"
    assert orphans == [], ("a .py without its notebook: write it with `python scripts/notebook_sources.py sync "
                           + " ".join(orphans) + "` (or `make sources`)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_agrees_with_its_text_source(path):
    diffs = ns.differences(ns.read_text(path.with_suffix(".py")), ns.read_notebook(path))
    assert diffs == [], "edit the .py, then `make sources`:\n" + "\n".join(diffs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_notebook_has_nothing_volatile_and_unique_cell_ids(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in raw["metadata"] and "papermill" not in raw["metadata"]
    assert "version" not in raw["metadata"].get("language_info", {}), "the Python version changes between machines"
    for i, cell in enumerate(raw["cells"]):
        assert not {"execution", "ExecuteTime", "papermill"} & set(cell["metadata"]), f"cell {i} has timestamps"
        for output in cell.get("outputs", []):
            assert WIDGET_VIEW not in output.get("data", {}), f"cell {i} has a widget model id"
    ids = [cell.get("id") for cell in raw["cells"]]
    assert all(ids), "every cell has an id"
    assert len(set(ids)) == len(ids), "cell ids are unique"
    found = ns.volatile(ns.read_notebook(path))
    assert found == [], f"run `python scripts/notebook_sources.py clean {path.relative_to(ROOT)}`: {found[:4]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_text_source_is_clean_and_keeps_the_metadata_that_matters(path):
    text = path.with_suffix(".py").read_text(encoding="utf-8")
    assert text.startswith("# %%"), "no YAML header: notebook metadata is not part of the text"
    source_nb = ns.read_text(path.with_suffix(".py"))
    for cell in source_nb.cells:
        assert set(ns._text_metadata(cell)) <= {"tags", "coursekit"}, cell.metadata
    if path.parent.name == "notebooks":  # papermill's parameters cell
        assert sum("parameters" in c.metadata.get("tags", []) for c in source_nb.cells) == 1
    else:  # what grading reads, from the text alone
        from coursekit.grading import format as fmt

        assert fmt.specs(source_nb, str(path)) == fmt.specs(ns.read_notebook(path), str(path))


def test_pytest_collects_no_text_source_as_a_test_module():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    patterns = options.get("python_files", ["test_*.py", "*_test.py"])
    patterns = patterns.split() if isinstance(patterns, str) else patterns
    texts = [p for folder in ("notebooks", "solutions") for p in (ROOT / folder).glob("*.py")]
    assert any(p.name == "course_setup.py" for p in texts) and len(texts) > len(NOTEBOOKS)
    assert [p.name for p in texts if any(fnmatch.fnmatch(p.name, pat) for pat in patterns)] == []


def test_jupytext_toml_holds_the_options_the_script_falls_back_on():
    assert tomllib.loads((ROOT / "jupytext.toml").read_text()) == ns.OPTIONS


def test_jupytext_pairs_lectures_and_solutions_but_not_exercises():
    from jupytext.config import load_jupytext_config

    for path, paired in [(ROOT / "notebooks" / "01_autoencoders.ipynb", True),
                         (ROOT / "solutions" / "01_autoencoders.ipynb", True),
                         (ROOT / "exercises" / "01_autoencoders.ipynb", False)]:
        formats = load_jupytext_config(str(path)).default_formats(str(path))
        assert (formats is not None and "py:percent" in formats) == paired, (path, formats)


# --- sync, on copies ------------------------------------------------------------------------

def copy_pair(path: Path, folder: Path) -> Path:
    shutil.copy(path, folder / path.name)
    shutil.copy(path.with_suffix(".py"), folder / path.with_suffix(".py").name)
    return folder / path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_syncing_an_unchanged_source_leaves_the_notebook_byte_identical(path, tmp_path):
    copy = copy_pair(path, tmp_path)
    written, stats = ns.sync(copy)
    assert not written and copy.read_bytes() == path.read_bytes()
    assert stats["changed"] == stats["new"] == 0


def lecture_with_outputs():
    path = ROOT / "notebooks" / "01_autoencoders.ipynb"
    nb = ns.read_notebook(path)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs]
    assert len(code) > 3
    return path, nb, code[2]


def edit_text(copy: Path, edit) -> None:
    """Apply `edit(cells)` to the notebook the .py describes and write the .py back."""
    source_nb = ns.read_text(copy.with_suffix(".py"))
    edit(source_nb.cells)
    copy.with_suffix(".py").write_text(ns.to_text(source_nb), encoding="utf-8")


def same_cell(a, b) -> bool:
    return (a.id, a.cell_type, a.source, a.metadata, a.get("outputs"), a.get("execution_count")) == \
           (b.id, b.cell_type, b.source, b.metadata, b.get("outputs"), b.get("execution_count"))


@pytest.mark.parametrize("keep_outputs", [False, True])
def test_changing_one_cell_changes_only_that_cell(tmp_path, keep_outputs):
    path, before, k = lecture_with_outputs()
    copy = copy_pair(path, tmp_path)

    def edit(cells):
        cells[k].source += "\nprint('one more line')"
        cells[0].source = cells[0].source.replace("#", "##", 1)  # a markdown edit
    edit_text(copy, edit)
    written, stats = ns.sync(copy, keep_outputs=keep_outputs)
    after = ns.read_notebook(copy)
    assert written and stats == {"kept": len(before.cells) - 2, "changed": 2, "new": 0,
                                 "outputs_dropped": [] if keep_outputs else [f"cell {k} ({before.cells[k].id})"]}
    assert [c.id for c in after.cells] == [c.id for c in before.cells]
    for i, (a, b) in enumerate(zip(before.cells, after.cells)):
        if i not in (0, k):
            assert same_cell(a, b), f"cell {i} changed"
    assert after.cells[0].source == before.cells[0].source.replace("#", "##", 1)
    assert after.cells[k].source.endswith("print('one more line')")
    if keep_outputs:
        assert after.cells[k].outputs == before.cells[k].outputs
    else:  # its outputs belonged to the old source
        assert after.cells[k].outputs == [] and after.cells[k].execution_count is None
    assert ns.problems(copy) == []


def test_inserted_and_removed_cells_leave_the_others_alone_and_new_ids_are_deterministic(tmp_path):
    path, before, k = lecture_with_outputs()
    results = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        copy = copy_pair(path, folder)

        def edit(cells):
            del cells[k]
            cells.insert(3, nbformat.v4.new_code_cell("x = 1  # a new cell"))
            cells.insert(4, nbformat.v4.new_code_cell("x = 1  # a new cell"))  # the same text twice
        edit_text(copy, edit)
        ns.sync(copy)
        results.append(copy.read_bytes())
    assert results[0] == results[1], "two syncs of the same text write the same notebook"
    after = ns.read_notebook(copy)
    expected = [c for i, c in enumerate(before.cells) if i != k]
    kept = after.cells[:3] + after.cells[5:]
    assert len(kept) == len(expected) and all(same_cell(a, b) for a, b in zip(expected, kept))
    new = after.cells[3:5]
    assert [c.source for c in new] == ["x = 1  # a new cell"] * 2 and all(c.outputs == [] for c in new)
    ids = [c.id for c in after.cells]
    assert len(set(ids)) == len(ids) and before.cells[k].id not in ids
    assert ns.problems(copy) == []


def test_a_notebook_written_from_its_text_alone_is_deterministic(tmp_path):
    source = ROOT / "solutions" / "01_autoencoders.py"
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        shutil.copy(source, tmp_path / run / source.name)
        ns.sync(tmp_path / run / "01_autoencoders.ipynb")
    a, b = ((tmp_path / run / "01_autoencoders.ipynb").read_bytes() for run in ("a", "b"))
    assert a == b
    nb = nbformat.reads(a.decode(), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3" and ns.problems(tmp_path / "a" / "01_autoencoders.ipynb") == []


# --- check and clean ------------------------------------------------------------------------

def test_check_lists_a_notebook_that_disagrees_with_its_text(tmp_path, capsys):
    path = ROOT / "notebooks" / "00_introduction.ipynb"
    copy = copy_pair(path, tmp_path)
    nb = ns.read_notebook(copy)
    params = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells[params].metadata["tags"] = []
    nb.cells[params + 1].source += "\n# edited in the notebook, not in the .py"
    nbformat.write(nb, copy)
    found = ns.problems(copy)
    assert len(found) == 2
    assert f"cell {params} " in found[0] and "metadata" in found[0]
    assert f"cell {params + 1} " in found[1] and "source" in found[1]
    assert ns.main(["check", str(copy)]) == 1
    assert "1 are not" in capsys.readouterr().out
    copy.with_suffix(".py").unlink()
    assert "no text source" in ns.problems(copy)[0]


def test_clean_removes_timestamps_widget_state_and_widget_ids_and_notes_the_widget():
    nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}, "papermill": {"duration": 1.0},
                                            "language_info": {"name": "python", "version": "3.11.7"},
                                            "kernelspec": ns.DEFAULT_METADATA["kernelspec"]})
    view = {WIDGET_VIEW: {"model_id": "0123456789abcdef", "version_major": 2, "version_minor": 0}}
    cell = nbformat.v4.new_code_cell("show()", execution_count=1, metadata={
        "execution": {"iopub.status.busy": "2026-01-01T00:00:00Z"}, "tags": ["keep"]})
    cell.outputs = [nbformat.v4.new_output("display_data", data={**view, "text/plain": "IntSlider(value=3)"}),
                    nbformat.v4.new_output("display_data", data=copy.deepcopy(view)),
                    nbformat.v4.new_output("stream", text="42\n")]
    nb.cells = [cell]
    assert len(ns.volatile(nb)) == 6
    assert ns.clean(nb) is True
    assert ns.volatile(nb) == [] and ns.clean(nb) is False
    assert nb.metadata == {"language_info": {"name": "python"}, "kernelspec": ns.DEFAULT_METADATA["kernelspec"]}
    assert cell.metadata == {"tags": ["keep"]}
    assert [o.get("data") for o in cell.outputs] == [NOTE, None]  # the bare widget view is gone
    assert cell.outputs[1].text == "42\n"


# --- clean: widgets and progress bars, which need a running kernel -------------------------

NOTE = {"text/markdown": f"*{ns.WIDGET_NOTE}*", "text/plain": ns.WIDGET_NOTE}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def widget_view(model_id="0123456789abcdef"):
    return {WIDGET_VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0}}


def display(data, kind="display_data", **kw):
    return nbformat.v4.new_output(kind, data=data, **kw)


def stream(text, name="stderr"):
    return nbformat.v4.new_output("stream", name=name, text=text)


SLIDER = "VBox(children=(FloatSlider(value=4.0, continuous_update=False, description='separation d', max=10.0, style=Sli…"
BAR_0 = "training VAE:   0%|          | 0/300 [00:00<?, ?step/s]"
BAR_100 = "training VAE: 100%|██████████| 300/300 [00:12<00:00, 24.1step/s, loss=91.2]"


def notebook_with(*cells_outputs):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": ns.DEFAULT_METADATA["kernelspec"]})
    for i, outputs in enumerate(cells_outputs):
        cell = nbformat.v4.new_code_cell(f"cell_{i}()", execution_count=i + 1)
        cell.outputs = list(outputs)
        nb.cells.append(cell)
    return nb


def cleaned(*outputs):
    nb = notebook_with(outputs)
    ns.clean(nb)
    return [dict(o) for o in nb.cells[0].outputs]


@pytest.mark.parametrize("data, kind", [
    ({**widget_view(), "text/plain": SLIDER}, "display_data"),             # as nbclient saves it
    ({"text/plain": SLIDER}, "display_data"),                              # as committed before the fix
    ({**widget_view(), "text/plain": "interactive(children=(IntSlider(value=3),))"}, "execute_result"),
    ({"text/plain": "HBox(children=(Button(description='go', style=ButtonStyle()),))"}, "execute_result"),
    ({**widget_view(), "text/plain": "MyCustomPanel(whatever)"}, "display_data"),  # a view: a widget, whatever its repr
    ({"text/plain": "Output()"}, "display_data"),
])
def test_an_interactive_widget_becomes_the_run_this_cell_note(data, kind):
    extra = {"execution_count": 3} if kind == "execute_result" else {}
    assert cleaned(display(data, kind, **extra)) == [{"output_type": "display_data", "data": NOTE, "metadata": {}}]


def test_a_widget_keeps_the_picture_the_cell_drew_and_a_picture_in_its_own_bundle():
    drawn = display({"image/png": PNG, "text/plain": "<Figure size 640x480 with 1 Axes>"})
    mixed = display({**widget_view(), "image/png": PNG, "text/plain": SLIDER}, metadata={"image/png": {"width": 64}})
    out = cleaned(display({**widget_view(), "text/plain": SLIDER}), drawn, mixed)
    assert [o["data"] for o in out] == [NOTE, drawn.data, NOTE, {"image/png": PNG}]
    assert out[3]["metadata"] == {"image/png": {"width": 64}}


def test_two_widgets_in_a_row_get_one_note():
    out = cleaned(display({**widget_view("a"), "text/plain": SLIDER}), display({**widget_view("b"), "text/plain": SLIDER}))
    assert [o["data"] for o in out] == [NOTE]


@pytest.mark.parametrize("with_view", [True, False])
def test_a_progress_bar_becomes_its_final_text_or_goes(with_view):
    view = widget_view() if with_view else {}
    early = "stopped early:  40%|████      | 20/50 [00:01<00:01, 19.9step/s]"
    no_total = "epochs: 0step [00:00, ?step/s]"
    out = cleaned(stream("before\n", "stdout"), display({**view, "text/plain": BAR_0}),
                  display({**view, "text/plain": BAR_100}), display({**view, "text/plain": early}),
                  display({**view, "text/plain": no_total}), display({**view, "text/plain": "  0%|          | 0/9 [00:00<?, ?it/s]"}),
                  display({**view, "text/plain": "100%|##########| 1.2k/1.2k [00:01<00:00, 1.1kit/s]"}))
    assert out == [dict(stream("before\n", "stdout")),
                   {"output_type": "display_data", "data": {"text/plain": "training VAE: 100% 300/300"}, "metadata": {}},
                   {"output_type": "display_data", "data": {"text/plain": "100% 1.2k/1.2k"}, "metadata": {}}]


def test_the_final_text_of_a_progress_bar_comes_from_the_recorded_widget_state():
    def html(value):
        return {"_model_name": "HTMLModel", "value": value}
    state = {"box1": {"_model_name": "HBoxModel", "children": ["IPY_MODEL_l1", "IPY_MODEL_p1", "IPY_MODEL_r1"]},
             "l1": html("training\u2007VAE:\u2007100%"), "r1": html("\u2007300/300\u2007[00:12&lt;00:00,\u200724.1step/s]"),
             "p1": {"_model_name": "FloatProgressModel", "value": 300.0, "max": 300.0},
             "box2": {"_model_name": "HBoxModel", "children": ["IPY_MODEL_l2", "IPY_MODEL_p2", "IPY_MODEL_r2"]},
             "l2": html("β\u2007=\u20070.5:\u2007\u200740%"), "r2": html("\u200720/50\u2007[00:01&lt;00:01]"),
             "p2": {"_model_name": "FloatProgressModel", "value": 20.0, "max": 50.0}}
    nb = notebook_with([display({**widget_view("box1"), "text/plain": BAR_0})],
                       [display({**widget_view("box2"), "text/plain": "β = 0.5:   0%|          | 0/50 [00:00<?, ?step/s]"}),
                        display({**widget_view("unknown"), "text/plain": BAR_0}),        # no state: clean drops it
                        display({**widget_view("box1"), "text/plain": SLIDER})])         # not a bar: left to clean
    assert ns.finish_progress_bars(nb, state) == 2
    ns.clean(nb)
    assert [o.data for o in nb.cells[0].outputs] == [{"text/plain": "training VAE: 100% 300/300"}]
    assert [o.data for o in nb.cells[1].outputs] == [{"text/plain": "β = 0.5: 40% 20/50"}, NOTE]


def test_coursekits_training_bar_becomes_its_last_counts_without_times():
    """The training loop's own bar (an HTML bar a display handle kept up to date) is saved at its
    last state, with times and rates that differ on every run: clean keeps only the counts."""
    from coursekit.training import loop

    def saved(n, total, style):
        bar = loop.tqdm(total=total, desc="training VAE", unit="step", gui=True)
        bar.__class__ = loop._DisplayBar           # the bar's own rendering, without a kernel to display in
        bar.update(n)
        bar.set_postfix(loss=1.23)
        data = bar._bundle(style)
        bar.disable = True
        return display(data)
    assert "coursekit-progress" in saved(50, 50, "success")["data"]["text/html"]
    out = cleaned(saved(50, 50, "success"), saved(20, 50, "stopped"))
    assert [o["data"] for o in out] == [{"text/plain": "training VAE: 100% 50/50"},
                                        {"text/plain": "training VAE: 40% 20/50"}]
    assert cleaned(*out) == out


def test_carriage_return_frames_in_a_stream_keep_only_the_last_frame():
    frames = ["\r  0%|          | 0/5 [00:00<?, ?it/s]", "\r 40%|████      | 2/5 [00:00<00:00, 19.8it/s]",
              "\r100%|██████████| 5/5 [00:00<00:00, 19.7it/s]", "\r100%|██████████| 5/5 [00:00<00:00, 19.6it/s]   "]
    out = cleaned(*[stream(f) for f in frames], stream("done\n", "stdout"), stream("\n"),
                  stream("epoch 1\r\nepoch 2\r\n"), stream("a\rb\n", "stdout"), stream("x\r   \r"))
    assert out == [dict(stream("100%|██████████| 5/5 [00:00<00:00, 19.6it/s]")), dict(stream("done\n", "stdout")),
                   dict(stream("\nepoch 1\nepoch 2\n")), dict(stream("b\n", "stdout")), dict(stream("x"))]
    assert ns.last_frames("\r   \r") == "" and cleaned(stream("\r  \r")) == []


def test_ordinary_outputs_are_left_alone():
    outputs = [stream("loss 0.123\n", "stdout"), stream("a warning\n"),
               display({"text/plain": "Text(0.5, 1.0, 'a title')"}, "execute_result", execution_count=1),
               display({"text/plain": "Point(x=1, y=2)"}, "execute_result", execution_count=1),
               display({"text/plain": "VBoxes are fine (3 of them)"}),
               display({"text/plain": "accuracy: 95% 19/20"}),
               display({"text/plain": "training VAE: 100% 300/300"}),
               # another library's progress bar shown as HTML (a display handle updated it): kept
               display({"text/html": "<div class='other-progress'>VAE: 40%</div>",
                        "text/plain": "VAE:  40%|████      | 256/640 [00:05<00:07, 50.1step/s]"}),
               display({"text/markdown": "**β = 4**", "text/plain": "<IPython.core.display.Markdown object>"}),
               display({"image/png": PNG, "text/plain": "<Figure size 640x480 with 1 Axes>"}),
               nbformat.v4.new_output("error", ename="ValueError", evalue="no", traceback=["ValueError: no"])]
    nb = notebook_with(outputs)
    before = copy.deepcopy(nb)
    assert ns.volatile(nb) == [] and ns.clean(nb) is False
    assert nb == before


def test_clean_is_idempotent_and_check_reports_what_it_rewrites(tmp_path):
    nb = notebook_with([display({**widget_view(), "text/plain": SLIDER}), display({"image/png": PNG, "text/plain": "fig"})],
                       [stream("\r 10%|█| 1/10"), stream("\r100%|██████████| 10/10\n"), display({"text/plain": BAR_0})],
                       [display({"text/plain": BAR_100}), display({"text/plain": SLIDER}, "execute_result", execution_count=3)])
    issues = ns.volatile(nb)
    assert len(issues) == 6, issues
    assert ns.clean(nb) is True
    once = ns.notebook_text(nb)
    assert ns.volatile(nb) == [] and ns.clean(nb) is False and ns.notebook_text(nb) == once
    again = nbformat.reads(once, as_version=4)
    assert ns.clean(again) is False and ns.notebook_text(again) == once
    nbformat.validate(again)
    path = tmp_path / "01_x.ipynb"
    path.write_text(ns.notebook_text(notebook_with([display({"text/plain": BAR_0})])), encoding="utf-8")
    assert ns.main(["clean", str(path)]) == 0
    assert ns.read_notebook(path).cells[0].outputs == []
    first = path.read_bytes()
    assert ns.main(["clean", str(path)]) == 0 and path.read_bytes() == first
