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
ids (the `application/vnd.jupyter.widget-view+json` entry; the output keeps its text/plain or
image fallback, or goes when there is none). scripts/execute_notebooks.py calls it after
executing, so re-executing an unchanged lecture changes only numbers and images.

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

__all__ = ["ROOT", "TEXT_METADATA", "course_notebooks", "text_path", "read_text", "to_text", "read_notebook",
           "notebook_text", "write_notebook", "synced", "sync", "differences", "volatile", "clean", "problems",
           "pair"]


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


def volatile(nb) -> list[str]:
    """What clean() would remove from the notebook, as short descriptions."""
    found = [f"metadata.{key}" for key in VOLATILE_NOTEBOOK_METADATA if key in nb.metadata]
    if "version" in nb.metadata.get("language_info", {}):
        found.append("metadata.language_info.version")
    for i, cell in enumerate(nb.cells):
        found += [f"cell {i}: metadata.{key}" for key in VOLATILE_CELL_METADATA if key in cell.metadata]
        found += [f"cell {i}: a widget model id in an output" for o in cell.get("outputs", [])
                  if WIDGET_VIEW in o.get("data", {})]
    return found


def clean(nb) -> bool:
    """Remove, in place, what changes on every execution but means nothing (see the module's
    docstring). Returns whether anything was removed."""
    changed = bool(volatile(nb))
    for key in VOLATILE_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            data = output.get("data")
            if data is not None and WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                if not data:
                    continue  # a widget with no text or image to show in its place
            outputs.append(output)
        cell.outputs = outputs
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
                       ("clean", "remove execution timestamps, widget state and widget model ids"),
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
