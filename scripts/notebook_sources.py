"""The text sources of the notebooks: what authors edit, reviewers read and git merges.

Every lecture `notebooks/NN_topic.ipynb` and exercise source `solutions/NN_topic.ipynb` has a
twin `NN_topic.py` next to it in jupytext's percent format (`# %%` code cells, `# %% [markdown]`
cells as comments, cell metadata only `tags` and `coursekit`; options in ../jupytext.toml). The
.py is the source; the .ipynb is generated from it and stays committed (executed, for the
lectures) for students who browse.

    python scripts/notebook_sources.py sync  [PATH ...]   # .py -> .ipynb, keeping outputs (make sources)
    python scripts/notebook_sources.py check [PATH ...]   # exit 1 if a notebook and its .py disagree
    python scripts/notebook_sources.py clean [PATH ...]   # drop timestamps, widget state and widget ids
    python scripts/notebook_sources.py pair  [PATH ...]   # .ipynb -> .py, for a notebook without a .py

PATH is a notebook or its .py (default: all of them). `make notebooks` runs sync, re-executes the
lectures and cleans them.

sync writes each .ipynb from its .py. Cells are matched to the notebook's existing cells with
jupytext's own rules (jupytext.combine.map_outputs_to_inputs, what `jupytext --sync` and
JupyterLab use: same content first, then same position), and a matched cell keeps its id and
any cell metadata the text does not carry. Its outputs and execution count are kept when its
source is unchanged; a code cell whose source changed loses them, since they no longer belong to
it (re-execute: `make notebooks`), unless `--keep-outputs` says the change cannot alter them
(a comment, say). A new cell gets a deterministic id (a hash of the notebook's name, the cell's
type and source), so two people syncing the same text get the same notebook. After a merge,
take either side's .ipynb and run sync: the merged .py decides. Syncing an unchanged .py is a
byte-for-byte no-op, and a file whose content would not change is not rewritten.

check lists every notebook that lacks its .py (or a .py without a notebook), whose cells differ
from its text (count, type, source, or the metadata the text carries: `tags`, `coursekit`), that
has cells without ids or with duplicate ids, or that still carries volatile data (run clean).

clean removes what changes on every execution but means nothing: per-cell execution timestamps
(`metadata.execution`, `ExecuteTime`, papermill's), notebook `metadata.widgets`, papermill and
jupytext metadata, the Python version in `language_info`, and widget-view outputs' model
ids (the `application/vnd.jupyter.widget-view+json` entry). Without the widget state a saved
widget cannot render, and a reader would see its text/plain fallback, so clean also rewrites
the outputs that only a running kernel can show (deterministically; cleaning twice changes
nothing more):
- a tqdm progress bar saved as text alone (tqdm.auto's widget: its text/plain is tqdm's own line,
  `desc:  0%|  | 0/480 [00:00<?, ?step/s]`, as the bar was when first displayed) becomes its
  final text, `desc: 100% 480/480`, when that line shows it finished, and otherwise goes (never
  a frozen 0% bar); scripts/execute_notebooks.py first writes each bar's final text from the
  widget state. A bar with a richer twin (an HTML bar a display handle kept up to date) shows
  its last state: coursekit's own training bar (an HTML bar updated in place) becomes its last
  counts without times or rates, `desc: 100% 480/480` or `desc: 40% 20/50` after an early stop;
- any other widget (the output has a widget view, or its text/plain is an ipywidgets repr such
  as `VBox(children=(FloatSlider(...`) becomes the short note WIDGET_NOTE (text/markdown and
  text/plain); a picture or other rich fallback in the same output is kept, after the note, and
  a widget view with nothing else goes;
- a stream holding carriage-return frames (a text progress bar on stderr) keeps only each
  line's last frame (adjacent streams of the same name are joined first, as Jupyter shows them).
scripts/execute_notebooks.py calls clean after executing, so re-executing an unchanged lecture
changes only numbers and images.

pair writes the .py of a notebook that has none (the one-time conversion). The .py is the
source, so pair does not overwrite one that differs from its notebook unless given --force
(e.g. after editing the .ipynb in a Jupyter without jupytext; JupyterLab with jupytext installed
saves both files of a pair itself, through jupytext.toml).
"""
from __future__ import annotations

import argparse
import copy
import fnmatch
import hashlib
import html
import re
import sys
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import map_outputs_to_inputs
from jupytext.config import load_jupytext_configuration_file, validate_jupytext_configuration_file
from jupytext.metadata_filter import metadata_filter_as_dict

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "solutions")
PATTERN = "[0-9]*"
TEXT_FORMAT = "py:percent"
# jupytext.toml holds the options (for this script, the jupytext command and JupyterLab). A copy
# without it (a copy of scripts/ alone) uses the same, written here;
# tests/test_notebook_sources.py checks that the two agree.
OPTIONS = {"formats": ["notebooks///ipynb,notebooks///py:percent", "solutions///ipynb,solutions///py:percent"],
           "notebook_metadata_filter": "-all", "cell_metadata_filter": "tags,coursekit,-all"}
if (ROOT / "jupytext.toml").is_file():
    CONFIG = load_jupytext_configuration_file(str(ROOT / "jupytext.toml"))
else:
    CONFIG = validate_jupytext_configuration_file("notebook_sources.OPTIONS", dict(OPTIONS))
# The cell metadata that the text carries (jupytext.toml's cell_metadata_filter): tags, coursekit.
TEXT_METADATA = tuple(metadata_filter_as_dict(CONFIG.cell_metadata_filter).get("additional", []))
# Layout hints jupytext's reader records (blank lines, cell markers): not notebook content.
JUPYTEXT_LAYOUT = ("cell_marker", "lines_to_next_cell", "lines_to_end_of_cell_marker", "skipline", "noskipline")
DEFAULT_METADATA = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                    "language_info": {"name": "python"}}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "papermill")
VOLATILE_NOTEBOOK_METADATA = ("widgets", "papermill", "jupytext")
# What a widget's output says in a committed notebook (the widget itself needs a running kernel).
WIDGET_NOTE = "▶ Run this cell to use the interactive widget (widgets are not saved in the notebook file)."
# tqdm's line for a bar with a total, `desc:  42%|████▏     | 200/480 [00:05<00:07, 38.1step/s, loss=1.2]`
# (desc optional), and for one without, `desc: 200step [00:05, 38.1step/s]`: what tqdm.auto's widget
# (tqdm.notebook.TqdmHBox) puts in its text/plain, as the bar was when it was first displayed.
TQDM_BAR = re.compile(r"(?P<desc>.*?)\s*(?P<pct>\d{1,3})%\|[^|\n]*\|\s*(?P<n>\d[\d.]*[kMGTPEZY]?)/(?P<total>\d[\d.]*[kMGTPEZY]?)"
                      r"\s*\[\d+:\d\d(?::\d\d)?<[^\]\n]*\]\s*")
TQDM_NO_TOTAL = re.compile(r"(?P<desc>.*?)\s*\d[\d.]*[kMGTPEZY]?\S* \[\d+:\d\d(?::\d\d)?, [^\]\n]*/s\b[^\]\n]*\]\s*")
# The ipywidgets that can be displayed (ipywidgets 7 and 8); their repr is `Name(trait=value, ...)`.
WIDGET_CLASSES = frozenset(
    "Accordion AppLayout Audio BoundedFloatText BoundedIntText Box Button Checkbox ColorPicker ColorsInput "
    "Combobox Controller DatePicker DatetimePicker Dropdown FileUpload FloatLogSlider FloatProgress "
    "FloatRangeSlider FloatSlider FloatText FloatsInput GridBox GridspecLayout HBox HTML HTMLMath Image "
    "IntProgress IntRangeSlider IntSlider IntText IntsInput Label NaiveDatetimePicker Output Password Play "
    "RadioButtons Select SelectMultiple SelectionRangeSlider SelectionSlider Stack Tab TagsInput Text "
    "Textarea TimePicker ToggleButton ToggleButtons TwoByTwoLayout VBox Valid Video interactive".split())
WIDGET_REPR = re.compile(r"(?P<name>[A-Za-z_]\w*)\((?:\)|[A-Za-z_]\w*=)")

__all__ = ["ROOT", "TEXT_METADATA", "course_notebooks", "text_path", "read_text", "to_text", "read_notebook",
           "notebook_text", "write_notebook", "synced", "sync", "differences", "volatile", "clean", "problems",
           "pair", "WIDGET_NOTE", "progress_bar", "is_widget_repr", "last_frames", "clean_outputs",
           "finish_progress_bars"]


# --- paths and reading/writing ------------------------------------------------------------

def text_path(path: Path) -> Path:
    return Path(path).with_suffix(".py")


def course_notebooks(root: Path = ROOT) -> list[Path]:
    """Every lecture and exercise source, as .ipynb paths: those with a notebook or a .py (or both)."""
    found = set()
    for folder in FOLDERS:
        for path in (Path(root) / folder).glob(PATTERN):
            if path.suffix in (".ipynb", ".py"):
                found.add(path.with_suffix(".ipynb"))
    return sorted(found)


def read_text(path: Path):
    """The notebook a .py source describes (no outputs; jupytext gives its cells random ids)."""
    return jupytext.read(str(path), fmt=TEXT_FORMAT, config=CONFIG)


def to_text(nb) -> str:
    """The percent-format text of a notebook, with the options of jupytext.toml."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("jupytext", None)
    return jupytext.writes(nb, fmt=TEXT_FORMAT, config=CONFIG)


def read_notebook(path: Path):
    return nbformat.read(str(path), as_version=4)


def notebook_text(nb) -> str:
    """Exactly what nbformat.write puts in a file."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def write_notebook(nb, path: Path) -> bool:
    """Write `nb` to `path` unless the file holds exactly that already; True when it was written."""
    text = notebook_text(nb)
    path = Path(path)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8", newline="\n")
    return True


def _text_metadata(cell) -> dict:
    return {k: v for k, v in cell.metadata.items() if k not in JUPYTEXT_LAYOUT}


# --- sync: .py -> .ipynb --------------------------------------------------------------------

def _new_id(name: str, cell, occurrence: int, taken: set[str]) -> str:
    salt = 0
    while True:
        key = f"{name}\0{cell.cell_type}\0{occurrence}\0{salt}\0{cell.source}"
        cid = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
        if cid not in taken:
            return cid
        salt += 1


def synced(text_nb, old_nb, name: str, keep_outputs: bool = False):
    """The notebook with the cells of `text_nb` (read from the .py) and, for the cells that
    match one of `old_nb` (the current .ipynb, or None), that cell's id and the metadata the
    text does not carry; outputs stay with code cells whose source is unchanged (or all matched
    cells, with `keep_outputs`). Returns (notebook, stats): stats counts kept, changed, new cells
    and lists the changed code cells whose outputs were dropped."""
    old_cells = old_nb.cells if old_nb is not None else []
    mapping = map_outputs_to_inputs(text_nb.cells, old_cells)
    cells: list = [None] * len(text_nb.cells)
    taken: set[str] = set()
    stats = {"kept": 0, "changed": 0, "new": 0, "outputs_dropped": []}
    for i, (text_cell, j) in enumerate(zip(text_nb.cells, mapping)):
        old = old_cells[j] if j is not None else None
        if old is None or not old.get("id") or old["id"] in taken:
            continue  # a new cell: it gets an id below, once every kept id is known
        cell = copy.deepcopy(old)
        cell.source = text_cell.source
        cell.metadata = {k: v for k, v in old.metadata.items() if k not in TEXT_METADATA}
        cell.metadata.update(_text_metadata(text_cell))
        if text_cell.source == old.source:
            stats["kept"] += 1
        else:
            stats["changed"] += 1
            if cell.cell_type == "code" and not keep_outputs:
                if cell.outputs or cell.execution_count is not None:
                    stats["outputs_dropped"].append(f"cell {i} ({cell.id})")
                cell.outputs = []
                cell.execution_count = None
        taken.add(cell.id)
        cells[i] = cell
    occurrences: dict[tuple[str, str], int] = {}
    for i, text_cell in enumerate(text_nb.cells):
        if cells[i] is not None:
            continue
        make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
                "raw": nbformat.v4.new_raw_cell}[text_cell.cell_type]
        cell = make(source=text_cell.source, metadata=_text_metadata(text_cell))
        key = (text_cell.cell_type, text_cell.source)
        cell.id = _new_id(name, text_cell, occurrences.get(key, 0), taken)
        occurrences[key] = occurrences.get(key, 0) + 1
        taken.add(cell.id)
        cells[i] = cell
        stats["new"] += 1
    if old_nb is not None:
        metadata = copy.deepcopy(old_nb.metadata)
        minor = max(old_nb.nbformat_minor, 5)
    else:
        metadata, minor = copy.deepcopy(DEFAULT_METADATA), 5
    metadata.update({k: v for k, v in copy.deepcopy(text_nb.metadata).items() if k != "jupytext"})
    nb = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    nb.nbformat_minor = minor
    clean(nb)
    return nb, stats


def sync(path: Path, keep_outputs: bool = False) -> tuple[bool, dict]:
    """Write the notebook at `path` from its .py; returns (whether the file changed, stats)."""
    path = Path(path)
    old = read_notebook(path) if path.is_file() else None
    nb, stats = synced(read_text(text_path(path)), old, path.stem, keep_outputs)
    return write_notebook(nb, path), stats


# --- check and clean ------------------------------------------------------------------------

def _short(text: str, width: int = 70) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return repr(line if len(line) <= width else line[: width - 1] + "…")


def differences(text_nb, nb) -> list[str]:
    """How the notebook's cells differ from its text source's: type, source, and the metadata the
    text carries (tags, coursekit, and any other key written in the .py). Empty when they agree."""
    out = []
    if len(text_nb.cells) != len(nb.cells):
        out.append(f"{len(nb.cells)} cells in the notebook, {len(text_nb.cells)} in the .py")
    for i, (t, c) in enumerate(zip(text_nb.cells, nb.cells)):
        where = f"cell {i} ({c.get('id', 'no id')})"
        if t.cell_type != c.cell_type:
            out.append(f"{where}: a {c.cell_type} cell in the notebook, a {t.cell_type} cell in the .py")
            continue
        if t.source != c.source:
            out.append(f"{where}: the source differs (.py {_short(t.source)}, notebook {_short(c.source)})")
        tmeta = _text_metadata(t)
        keys = set(TEXT_METADATA) | set(tmeta)
        cmeta = {k: v for k, v in c.metadata.items() if k in keys}
        if tmeta != cmeta:
            out.append(f"{where}: the metadata differs (.py {tmeta}, notebook {cmeta})")
    return out


# --- outputs only a running kernel can show: widgets and progress bars ------------------------

def _joined(text) -> str:
    return "".join(text) if isinstance(text, list) else (text or "")


def progress_bar(text: str) -> str | None:
    """What a tqdm line (the text/plain of tqdm.auto's widget, see TQDM_BAR) becomes in a clean
    notebook: its final text `desc: 100% 480/480` when the line shows the bar finished, "" (drop
    it) when it does not, as when it was saved at 0% on first display; None when `text` is not
    a tqdm line."""
    match = TQDM_BAR.fullmatch(text)
    if match:
        return _bar_counts(match) if match["pct"] == "100" and match["n"] == match["total"] else ""
    return "" if TQDM_NO_TOTAL.fullmatch(text) else None


def _bar_counts(match) -> str:
    """A TQDM_BAR line as its description and counts alone, `desc: 40% 20/50` (no times or rates)."""
    desc = match["desc"].strip().removesuffix(":").rstrip()
    return f"{desc + ': ' if desc else ''}{int(match['pct'])}% {match['n']}/{match['total']}"


def _training_bar(plain: str) -> list:
    """coursekit's training bar (coursekit/training/loop.py: an HTML bar a display handle updated
    to its last state) as its last counts without times or rates, `desc: 100% 480/480` or, after
    an early stop, `desc: 40% 20/50`, so re-executing a lecture changes no byte of it."""
    match = TQDM_BAR.fullmatch(plain.strip())
    return [nbformat.v4.new_output("display_data", data={"text/plain": _bar_counts(match)})] if match else []


def is_widget_repr(text: str) -> bool:
    """Whether `text` is an ipywidgets widget's repr, `VBox(children=(FloatSlider(...`."""
    match = WIDGET_REPR.match(text.strip())
    return bool(match) and match["name"] in WIDGET_CLASSES


def last_frames(text: str) -> str:
    """`text` as a terminal leaves it when each carriage return starts a new frame of its line:
    each line keeps its last frame that is not blank (without the frame's padding)."""
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            shown = [frame for frame in line.split("\r") if frame.strip()]
            line = shown[-1].rstrip() if shown else ""
        lines.append(line)
    return "\n".join(lines)


def _note():
    return nbformat.v4.new_output("display_data", data={"text/markdown": f"*{WIDGET_NOTE}*", "text/plain": WIDGET_NOTE})


def _rewritten(output) -> list | None:
    """The outputs that take `output`'s place in a clean notebook (see the module's docstring), or
    None when it stays as it is."""
    kind = output.get("output_type")
    if kind == "stream":
        text = _joined(output.get("text"))
        if "\r" not in text:
            return None
        new = copy.deepcopy(output)
        new["text"] = last_frames(text)
        return [new] if new["text"] else []
    if kind not in ("display_data", "execute_result"):
        return None
    data = output.get("data", {})
    plain = _joined(data.get("text/plain"))
    rich = {key: value for key, value in data.items() if key not in (WIDGET_VIEW, "text/plain")}
    if "coursekit-progress" in _joined(rich.get("text/html")):   # coursekit's own bar, kept up to date
        return _training_bar(plain)
    if not rich:
        final = progress_bar(plain)
        if final is not None:
            return [nbformat.v4.new_output("display_data", data={"text/plain": final})] if final else []
    if WIDGET_VIEW not in data and not is_widget_repr(plain):
        return None
    if not plain and not rich:
        return []  # a bare widget view: nothing says what it was
    kept = []
    if rich:  # a picture (or other fallback) that shows without the widget: keep it, after the note
        if plain and not is_widget_repr(plain):
            rich["text/plain"] = data["text/plain"]
        fallback = copy.deepcopy(output)
        fallback["data"] = nbformat.from_dict(copy.deepcopy(rich))
        kept.append(fallback)
    return [_note()] + kept


def _same_stream(a, b) -> bool:
    return a.get("output_type") == b.get("output_type") == "stream" and a.get("name") == b.get("name")


def clean_outputs(outputs: list) -> list:
    """A code cell's outputs with widgets and progress bars rewritten (the module's docstring)."""
    joined: list = []
    for output in outputs:  # a text progress bar's frames arrive as many streams: join them first
        if (joined and _same_stream(joined[-1], output)
                and "\r" in _joined(joined[-1].get("text")) + _joined(output.get("text"))):
            joined[-1] = copy.deepcopy(joined[-1])
            joined[-1]["text"] = _joined(joined[-1].get("text")) + _joined(output.get("text"))
        else:
            joined.append(output)
    cleaned: list = []
    for output in joined:
        new = _rewritten(output)
        for out in ([output] if new is None else new):
            if cleaned and out == _note() and cleaned[-1] == out:
                continue  # one note for a widget displayed twice in a row
            cleaned.append(out)
    return cleaned


def _output_issues(outputs: list) -> list[str]:
    found = []
    for output in outputs:
        data = output.get("data", {})
        plain = _joined(data.get("text/plain"))
        if output.get("output_type") == "stream" and "\r" in _joined(output.get("text")):
            found.append("carriage-return progress frames in a stream")
        elif WIDGET_VIEW in data:
            found.append("a widget model id in an output")
        elif set(data) == {"text/plain"} and progress_bar(plain) is not None:
            found.append(f"a saved progress bar {_short(plain, 40)}")
        elif is_widget_repr(plain):
            found.append(f"a widget's text in place of the widget {_short(plain, 40)}")
    if not found and clean_outputs(outputs) != outputs:
        found.append("outputs to rewrite")
    return found


def finish_progress_bars(nb, widget_state: dict) -> int:
    """Replace, in place, each tqdm.auto widget output with the bar's final text, read from the
    widget state an execution recorded (nbclient's `widget_state`, with store_widget_state):
    `desc: 100% 480/480`, or where it stopped (`desc: 42% 200/480`, an early stop). Only the left
    label and the counts are kept (no times or rates), so the text is deterministic. Returns how
    many bars it rewrote; clean() deals with the rest."""
    def value(model) -> str:
        return html.unescape(str(model.get("value") or "")).replace("\u2007", " ").strip()

    done = 0
    for cell in nb.cells:
        for k, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            view = data.get(WIDGET_VIEW)
            if not isinstance(view, dict) or progress_bar(_joined(data.get("text/plain"))) is None:
                continue
            box = widget_state.get(view.get("model_id"), {})
            children = [widget_state.get(str(c).removeprefix("IPY_MODEL_"), {}) for c in box.get("children", [])]
            if (box.get("_model_name") != "HBoxModel"
                    or [c.get("_model_name") for c in children] != ["HTMLModel", "FloatProgressModel", "HTMLModel"]):
                continue
            left, count = value(children[0]), value(children[2]).split(" [")[0].strip()
            text = " ".join(f"{left} {count}".split())   # tqdm pads the percentage: ` 40%`
            if text:
                cell.outputs[k] = nbformat.v4.new_output("display_data", data={"text/plain": text})
                done += 1
    return done


def volatile(nb) -> list[str]:
    """What clean() would remove or rewrite in the notebook, as short descriptions."""
    found = [f"metadata.{key}" for key in VOLATILE_NOTEBOOK_METADATA if key in nb.metadata]
    if "version" in nb.metadata.get("language_info", {}):
        found.append("metadata.language_info.version")
    for i, cell in enumerate(nb.cells):
        found += [f"cell {i}: metadata.{key}" for key in VOLATILE_CELL_METADATA if key in cell.metadata]
        found += [f"cell {i}: {issue}" for issue in _output_issues(cell.get("outputs", []))]
    return found


def clean(nb) -> bool:
    """Remove, in place, what changes on every execution but means nothing, and rewrite the
    outputs only a running kernel can show (see the module's docstring). Returns whether
    anything was removed or rewritten."""
    changed = bool(volatile(nb))
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = clean_outputs(cell.outputs)
    return changed


def _id_problems(nb) -> list[str]:
    ids = [c.get("id") for c in nb.cells]
    out = [f"cell {i} has no id" for i, cid in enumerate(ids) if not cid]
    dup = sorted({cid for cid in ids if cid and ids.count(cid) > 1})
    return out + ([f"duplicate cell ids {dup}"] if dup else [])


def problems(path: Path) -> list[str]:
    """Everything `check` reports about one notebook (given as its .ipynb path)."""
    path, text = Path(path), text_path(path)
    if not text.is_file():
        return [f"no text source {text.name} (write it: scripts/notebook_sources.py pair {path})"]
    if not path.is_file():
        return [f"no notebook for {text.name} (write it: make sources)"]
    nb = read_notebook(path)
    out = [f"{d} (run `make sources` after editing the .py)" for d in differences(read_text(text), nb)]
    out += _id_problems(nb)
    found = volatile(nb)
    if found:
        out.append(f"volatile data, run scripts/notebook_sources.py clean: {', '.join(found[:4])}"
                   + (f" and {len(found) - 4} more" if len(found) > 4 else ""))
    return out


# --- pair: .ipynb -> .py --------------------------------------------------------------------

def pair(path: Path, force: bool = False) -> str:
    """Write the .py source of the notebook at `path`; returns 'wrote', 'unchanged' or 'differs'
    (an existing .py that disagrees with the notebook is only overwritten with `force`)."""
    path = Path(path)
    nb, target = read_notebook(path), text_path(path)
    text = to_text(nb)
    back = read_text_string(text)
    lost = differences(back, nb)
    if lost:  # the text must describe the notebook exactly
        raise ValueError(f"{path}: the percent text does not round-trip: {lost[:3]}")
    if target.is_file():
        if target.read_text(encoding="utf-8") == text:
            return "unchanged"
        if not force and differences(read_text(target), nb):
            return "differs"
    target.write_text(text, encoding="utf-8", newline="\n")
    return "wrote"


def read_text_string(text: str):
    return jupytext.reads(text, fmt=TEXT_FORMAT, config=CONFIG)


# --- the command line -----------------------------------------------------------------------

def _targets(paths: list[Path]) -> list[Path]:
    if not paths:
        return course_notebooks()
    out = []
    for p in paths:
        if p.suffix not in (".ipynb", ".py") or not fnmatch.fnmatch(p.name, PATTERN):
            print(f"skipped {p}: not a lecture or exercise source (NN_topic.ipynb or NN_topic.py)", file=sys.stderr)
            continue
        if p.with_suffix(".ipynb") not in out:
            out.append(p.with_suffix(".ipynb"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in [("sync", "write each .ipynb from its .py (make sources)"),
                       ("check", "exit 1 listing the notebooks that disagree with their .py"),
                       ("clean", "remove execution timestamps, widget state and widget model ids; widgets and "
                                 "progress bars become a note or their final text"),
                       ("pair", "write the .py of a notebook that has none")]:
        p = sub.add_parser(name, help=text)
        p.add_argument("paths", nargs="*", type=Path, help="notebooks or their .py (default: all)")
        if name == "sync":
            p.add_argument("--keep-outputs", action="store_true",
                           help="keep the outputs of code cells whose source changed (a comment, a rename)")
        if name == "pair":
            p.add_argument("--force", action="store_true", help="overwrite a .py that differs from its notebook")
    args = parser.parse_args(argv)
    targets = _targets(args.paths)

    if args.command == "check":
        bad = 0
        for path in targets:
            found = problems(path)
            bad += bool(found)
            for line in found:
                print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {line}")
        print(f"{len(targets) - bad} of {len(targets)} notebooks agree with their text source and are clean"
              + ("" if not bad else f"; {bad} are not"))
        return 1 if bad else 0

    status = 0
    for path in targets:
        if args.command == "sync":
            if not text_path(path).is_file():
                print(f"{path}: no text source {text_path(path).name}; skipped (pair it first)", file=sys.stderr)
                status = 1
                continue
            written, stats = sync(path, args.keep_outputs)
            line = (f"{'wrote' if written else 'unchanged'} {path}: {stats['kept']} cells kept, "
                    f"{stats['changed']} changed, {stats['new']} new")
            if stats["outputs_dropped"]:
                line += f"; outputs dropped from {', '.join(stats['outputs_dropped'])}: re-execute (make notebooks)"
            print(line)
        elif args.command == "clean":
            if not path.is_file():
                continue
            nb = read_notebook(path)
            clean(nb)
            print(f"{'cleaned' if write_notebook(nb, path) else 'clean'} {path}")
        elif args.command == "pair":
            if not path.is_file():
                print(f"{path}: no notebook to pair; skipped", file=sys.stderr)
                status = 1
                continue
            outcome = pair(path, args.force)
            if outcome == "differs":
                print(f"{text_path(path)} differs from {path.name} and is the source: edit it and run "
                      f"`make sources`, or pass --force to overwrite it from the notebook", file=sys.stderr)
                status = 1
            else:
                print(f"{outcome} {text_path(path)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
