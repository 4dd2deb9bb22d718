"""Build the student notebooks from the solution sources, and the student release.

    coursekit build                  # solutions/*.ipynb → exercises/*.ipynb (an edited one is left alone)
    coursekit release --out DIR      # lectures, coursekit, exercises, the student README: from the
                                     #   committed files; no solutions, no hidden tests
    coursekit release --out DIR --update [--publish-solutions 02_vae]   # an erratum, or solutions
"""
from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..utils import atomic_write
from .format import CellSpec, read_source, solution_regions, stub_source
from .format import specs as format_specs

__all__ = ["build_exercise", "build_all", "out_of_date", "edited_exercises", "release", "ReleaseReport",
           "RELEASE_INCLUDE", "MANIFEST", "secrets_of", "find_leaks", "released_cells"]


def build_exercise(source_nb, source_specs: list[CellSpec], keep_solutions: bool = False):
    """The student notebook: solutions stubbed, hidden tests removed, outputs cleared, locked cells locked.

    With `keep_solutions` the answers stay solved: what a perfect student would submit (for
    the grader's own tests and benchmarks)."""
    nb = copy.deepcopy(source_nb)
    cells = []
    for cell, spec in zip(nb.cells, source_specs):
        if spec.kind == "hidden-test":
            continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if spec.kind == "answer" and not keep_solutions:
                cell.source = stub_source(cell.source, spec.id)
        editable = spec.kind == "answer"
        cell.metadata["editable"] = editable
        cell.metadata["deletable"] = editable
        cell.metadata.pop("id", None)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    nb.metadata["coursekit"] = {"built": _cells_hash(nb), "note": "built by `coursekit build`; the hash of the "
                                "cells as built tells an untouched notebook from one someone edited"}
    return nb


def _cells_hash(nb) -> str:
    """A hash of the cells' types and sources: what a student's edits change (running a notebook does not)."""
    h = hashlib.sha256()
    for cell in nb.cells:
        h.update(json.dumps([cell.cell_type, cell.source]).encode())
    return h.hexdigest()[:16]


def _edited(path: Path, built) -> bool:
    """Whether the notebook at `path` holds edits that a fresh build (`built`) would lose: its cells
    differ from the ones it was built with (recorded in its metadata), or, without that record,
    from the fresh build's. An unreadable file counts as edited (nothing is overwritten unasked)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - not a notebook we can read: keep it
        return True
    recorded = nb.metadata.get("coursekit", {}).get("built") if isinstance(nb.metadata.get("coursekit"), dict) else None
    return _cells_hash(nb) != (recorded or built.metadata["coursekit"]["built"])


def _write_public(path: Path, text: str) -> None:
    """Write `path` atomically, readable by students (atomic_write's temporary file is 0600)."""
    with atomic_write(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)


def _write_atomic(nb, path: Path) -> None:
    text = nbformat.writes(nb)
    _write_public(path, text if text.endswith("\n") else text + "\n")   # as nbformat.write ends it


def _exercise_text(nb) -> str:
    return nbformat.writes(nb)


def _exercise_builds(solutions: Path, exercises: Path):
    """(exercises/NN_topic.ipynb, its fresh build) for every solutions/NN_topic.ipynb."""
    for source in sorted(Path(solutions).glob("[0-9]*.ipynb")):
        yield Path(exercises) / source.name, build_exercise(*read_source(source))


def build_all(solutions: Path, exercises: Path, force: bool = False) -> tuple[list[Path], list[Path]]:
    """Write exercises/NN_topic.ipynb for every solutions/NN_topic.ipynb. A notebook someone
    edited (a student's answers in the same tree) is not overwritten unless `force`.
    Returns (written, left alone because edited)."""
    written, kept = [], []
    for target, built in _exercise_builds(solutions, exercises):
        if target.is_file() and not force and _edited(target, built):
            kept.append(target)
            continue
        _write_atomic(built, target)
        written.append(target)
    return written, kept


def edited_exercises(solutions: Path, exercises: Path) -> list[Path]:
    """The exercise notebooks a build would leave alone because someone edited them."""
    return [target for target, built in _exercise_builds(solutions, exercises)
            if target.is_file() and _edited(target, built)]


def out_of_date(solutions: Path, exercises: Path) -> list[str]:
    """The exercise notebooks that are missing or differ from what `build_all` would write."""
    return [str(target) for target, built in _exercise_builds(solutions, exercises)
            if not target.is_file()
            or target.read_text(encoding="utf-8").rstrip("\n") != _exercise_text(built).rstrip("\n")]


# --- the student release -----------------------------------------------------------------

RELEASE_INCLUDE = ["README.md", "LICENSE", "pyproject.toml", "environment.yml", "postBuild", "Makefile", "jupytext.toml",
                   "scripts", "coursekit", "notebooks", "exercises", "benchmarks/results.json"]
"""What a student gets. Not: solutions/, tests/ (they read the solutions), benchmarks/ (only its
results.json, which lecture 09 reads), .ci/."""
_IGNORE = ["__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", ".pytest_cache"]


def secrets_of(solutions: Path, kinds=("hidden-test", "answer")) -> list[tuple[str, str]]:
    """(where, text) for every solution region and hidden-test body: what a release must not contain."""
    secrets = []
    for source in sorted(Path(solutions).glob("[0-9]*.ipynb")):
        nb, source_specs = read_source(source)
        for cell, spec in zip(nb.cells, source_specs):
            where = f"{source.name}:{spec.id}"
            if spec.kind == "hidden-test" and spec.kind in kinds:
                secrets.append((where, cell.source.strip()))
            elif spec.kind == "answer" and cell.cell_type == "code" and spec.kind in kinds:
                secrets += [(where, region.strip()) for region in solution_regions(cell.source) if region.strip()]
    return secrets


MANIFEST = ".coursekit-release.json"
"""In a release: every file's fingerprint as released (`_fingerprint`), which tells an untouched
file from one a student edited when an update arrives."""
STUDENT_FILES = "student"
"""The folder of files that replace the instructor's in the release (README.md, Makefile,
exercises/README.md): the student's edition says nothing meant for instructors."""


@dataclass
class ReleaseReport:
    """What a release or an update did, file by file (paths relative to the release)."""

    out: Path
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)   # (edited file left alone, the new version beside it)
    dropped: list[str] = field(default_factory=list)    # no longer released: left in place
    warnings: list[str] = field(default_factory=list)
    commit: str = ""


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def _copy_out(src: Path, dst: Path) -> None:
    """Copy a file or a folder with fresh modification times (a copied pyproject.toml must look new
    to make's set-up) and the modes the umask gives (files 0644 by default, never 0600)."""
    if src.is_dir():
        shutil.copytree(src, dst, copy_function=shutil.copy, ignore=shutil.ignore_patterns(*_IGNORE))
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)


def _committed_tree(root: Path, into: Path, names: list[str]) -> tuple[str, list[str]]:
    """Extract the committed `names` of the course at `root` (the top of a git checkout or a folder
    in one) into `into`; returns (commit, warnings). Uncommitted changes are named in a warning;
    without git, or outside a checkout, the files as they are are used, with a warning."""
    try:
        prefix = _git(root, "rev-parse", "--show-prefix")
    except OSError:   # no git at all
        prefix = None
        why = "git is not installed"
    else:
        why = f"{root} is not in a git checkout"
    if prefix is None or prefix.returncode != 0:
        for name in names:
            if (root / name).exists():
                _copy_out(root / name, into / name)
        return "", [f"{why}: the release is made from the files as they are, not from a commit"]
    top = Path(_git(root, "rev-parse", "--show-toplevel").stdout.strip())
    tree = f"HEAD:{prefix.stdout.strip()}" if prefix.stdout.strip() else "HEAD"   # paths below are the course's
    commit = _git(root, "rev-parse", "HEAD").stdout.strip()
    tracked = [n for n in names if _git(top, "ls-tree", "--name-only", tree, n).stdout.strip()]
    archive = subprocess.run(["git", "-C", str(top), "archive", "--format=tar", tree, "--", *tracked],
                             capture_output=True)
    if archive.returncode != 0:
        raise RuntimeError(f"git archive failed in {root}: {archive.stderr.decode(errors='replace').strip()}")
    tar_path = into / ".release.tar"
    tar_path.write_bytes(archive.stdout)
    with tarfile.open(tar_path) as tar:
        if hasattr(tarfile, "data_filter"):   # Python >= 3.10.12 / 3.11.4
            tar.extractall(into, filter="data")
        else:  # git archive of our own commit: no absolute paths or links out
            tar.extractall(into)  # noqa: S202
    tar_path.unlink()
    changes = [line[3:] for line in _git(root, "status", "--porcelain", "--untracked-files=all", "--", *names)
               .stdout.splitlines() if line.strip()]
    warnings = []
    if changes:
        warnings.append(f"{len(changes)} uncommitted change(s) are NOT in the release (it is made from commit "
                        f"{commit[:10]}); commit them first if they should be: {', '.join(changes[:8])}"
                        + (" ..." if len(changes) > 8 else ""))
    return commit, warnings


def _stage(root: Path, stage: Path, publish: list[str]) -> tuple[str, list[str]]:
    """The release as it should be, written into `stage`: committed files, fresh exercises, the
    student's README and Makefile, and the solutions of the exercises in `publish`."""
    src = stage.parent / "src"
    src.mkdir()
    commit, warnings = _committed_tree(root, src, [*RELEASE_INCLUDE, "solutions", STUDENT_FILES])
    sources = {p.stem: p for p in sorted((src / "solutions").glob("[0-9]*.ipynb"))}
    unknown = [name for name in publish if name not in sources]
    if unknown:
        raise ValueError(f"no exercise named {', '.join(unknown)} to publish the solutions of: the exercises are "
                         f"{', '.join(sources) or 'none'} (e.g. --publish-solutions {next(iter(sources), '02_vae')})")
    build_all(src / "solutions", src / "exercises", force=True)
    stage.mkdir()
    for name in RELEASE_INCLUDE:
        if (src / name).exists():
            _copy_out(src / name, stage / name)
    student = src / STUDENT_FILES
    if not (student / "README.md").is_file():
        if (root / STUDENT_FILES / "README.md").is_file():
            raise FileNotFoundError(f"{STUDENT_FILES}/README.md is not committed: the release is made from commits; "
                                    f"commit it first")
        raise FileNotFoundError(f"no {STUDENT_FILES}/README.md in the course: the release needs the student's README")
    for path in sorted(p for p in student.rglob("*") if p.is_file()):
        _copy_out(path, stage / path.relative_to(student))
    for name in publish:
        nb, specs = read_source(sources[name])
        _write_atomic(build_exercise(nb, specs, keep_solutions=True), stage / "solutions" / f"{name}.ipynb")
    # the hidden tests never go out; the answers only of the exercises whose solutions are published
    secrets = secrets_of(src / "solutions", kinds=("hidden-test",)) + [
        (where, text) for where, text in secrets_of(src / "solutions", kinds=("answer",))
        if where.split(".ipynb:")[0] not in publish]
    leaks = find_leaks(stage, secrets)
    if leaks:
        raise RuntimeError("the release would contain solutions or hidden tests, so nothing was written: "
                           + "; ".join(f"{what} in {where}" for what, where in leaks))
    return commit, warnings


def released_cells(source: Path, limit: int = 100) -> dict[str, set[str]]:
    """Cell id → the texts each locked or test cell of the exercise had in the earlier commits of
    its source (the last `limit`): a student who kept their notebook when an erratum came still
    has one of these, which is no tampering. Empty outside a git checkout."""
    source = Path(source).resolve()
    try:
        top = _git(source.parent, "rev-parse", "--show-toplevel")
    except OSError:
        return {}
    if top.returncode != 0:
        return {}
    root = Path(top.stdout.strip()).resolve()
    rel = source.relative_to(root).as_posix()
    texts: dict[str, set[str]] = {}
    for commit in _git(root, "log", f"-n{limit}", "--format=%H", "--", rel).stdout.split():
        shown = _git(root, "show", f"{commit}:{rel}")
        if shown.returncode != 0:
            continue
        try:
            nb = nbformat.reads(shown.stdout, as_version=4)
            specs = format_specs(nb, f"{rel}@{commit[:8]}")
        except Exception:  # noqa: BLE001 - an old version in another format: nothing to accept from it
            continue
        kept = [sp for sp in specs if sp.kind != "hidden-test"]
        for cell, spec in zip(build_exercise(nb, specs).cells, kept):
            if spec.kind != "answer":
                texts.setdefault(spec.id, set()).add(cell.source.strip())
    return texts


def _beside(path: Path, stamp: str) -> Path:
    return path.with_name(f"{path.stem}.update-{stamp}{path.suffix}")


def release(root: Path, out: Path, update: bool = False, publish_solutions: list[str] | tuple = ()) -> ReleaseReport:
    """Write the student edition of the course at `root` to `out`.

    Made from the committed files (uncommitted changes are named in a warning), with exercises
    built fresh from the committed solutions, the files of `student/` in place of the
    instructor's README and Makefile, and every file searched for every solution region and
    hidden-test body before anything is written. A new `out` must not exist yet.

    With `update`, an existing release (a student's copy, or the folder students pull from) gets
    what changed upstream since it was released (its manifest says what that was): new files
    are added; a changed file nobody edited is replaced (a notebook that was only run counts as
    not edited; its outputs are replaced too); a changed file a student edited is left alone and
    the new version is written beside it (`02_vae.update-<date>.ipynb`); a file unchanged
    upstream is never touched. `publish_solutions` adds `solutions/NN_topic.ipynb`, solved and
    without hidden tests (after the deadline); solutions published once stay published. Run as
    root on a folder someone else owns, the files written are given to the folder's owner."""
    root, out = Path(root).resolve(), Path(out).resolve()
    if out.exists() and not update:
        raise FileExistsError(f"{out} already exists: pass --update to bring it up to date (files a student "
                              f"edited are kept), or give a new folder")
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file; give a folder for the release")
    if (out == root or root in out.parents) and out.parent != root:
        raise ValueError(f"the release folder {out} must be outside the course at {root}, or directly in it "
                         f"(e.g. ./release, which git and pytest ignore)")
    report = ReleaseReport(out)
    manifest = _read_manifest(out) if out.exists() else None
    published = sorted(set(publish_solutions) | set((manifest or {}).get("published", [])))
    with tempfile.TemporaryDirectory(prefix="coursekit-release-") as tmp:
        stage = Path(tmp) / "stage"
        report.commit, report.warnings = _stage(root, stage, published)
        files = {p.relative_to(stage).as_posix(): p for p in sorted(stage.rglob("*")) if p.is_file()}
        owner = _owner_of(out.parent if not out.exists() else out)
        if not out.exists():
            _copy_out(stage, out)
            report.added = sorted(files)
            _give(out, owner, [out / rel for rel in files])
            _write_manifest(out, {rel: _fingerprint(p) for rel, p in files.items()}, report.commit, published, owner)
            return report
        if manifest is None:
            report.warnings.append(f"{out} has no readable {MANIFEST} (not made by `coursekit release`): every "
                                   f"existing file that differs is treated as edited and kept")
        before = (manifest or {}).get("files", {})
        recorded, written = dict(before), []
        stamp = time.strftime("%Y%m%d")
        for rel, new in files.items():
            target, print_new = out / rel, _fingerprint(new)
            old = before.get(rel)
            now = _fingerprint(target) if target.is_file() else None
            if not target.exists():
                _copy_out(new, target)
                report.added.append(rel)
                written.append(target)
            elif old is not None and old.get("bytes") == print_new["bytes"]:
                pass                                                       # unchanged upstream: never touched
            elif now is not None and now["bytes"] == print_new["bytes"]:
                pass                                                       # already the new version
            elif now is not None and old is not None and _untouched(now, old):
                _copy_out(new, target)
                report.updated.append(rel)
                written.append(target)
            else:                                                          # edited: keep it, offer the new one
                beside = _beside(target, stamp)
                _copy_out(new, beside)
                report.kept.append((rel, beside.relative_to(out).as_posix()))
                written.append(beside)
            recorded[rel] = print_new
        report.dropped = sorted(rel for rel in before if rel not in files and (out / rel).exists())
        _give(out, owner, written)
        _write_manifest(out, recorded, report.commit, published, owner)
    return report


def _fingerprint(path: Path) -> dict[str, str]:
    """A file's bytes hash and, for a notebook, its cells' hash (types and sources: running a
    notebook changes its outputs, not its cells)."""
    data = {"bytes": hashlib.sha256(path.read_bytes()).hexdigest()}
    if path.suffix == ".ipynb":
        try:
            data["cells"] = _cells_hash(nbformat.read(path, as_version=4))
        except Exception:  # noqa: BLE001 - unreadable: its bytes are all we have
            pass
    return data


def _untouched(now: dict[str, str], recorded: dict[str, str]) -> bool:
    """Whether a file (its fingerprint `now`) is as released: the same bytes, or for a notebook the same cells."""
    return now["bytes"] == recorded.get("bytes") or ("cells" in now and now["cells"] == recorded.get("cells"))


def _owner_of(path: Path) -> tuple[int, int] | None:
    """(uid, gid) to give written files when root writes into someone else's folder, else None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    st = path.stat()
    return None if st.st_uid == 0 else (st.st_uid, st.st_gid)


def _give(out: Path, owner: tuple[int, int] | None, paths: list[Path]) -> None:
    if owner is None:
        return
    for path in paths:
        for p in [path, *path.parents]:
            if p == out.parent:
                break
            os.chown(p, *owner)


def _write_manifest(out: Path, files: dict[str, dict], commit: str, published: list[str],
                    owner: tuple[int, int] | None) -> None:
    text = json.dumps({"format": "coursekit-release/2", "commit": commit, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                       "published": published, "files": dict(sorted(files.items()))}, indent=1) + "\n"
    _write_public(out / MANIFEST, text)
    _give(out, owner, [out / MANIFEST])


def _read_manifest(out: Path) -> dict | None:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return {"files": {rel: dict(v) for rel, v in data["files"].items()},
                "published": list(data.get("published", []))}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def find_leaks(folder: Path, secrets: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(secret, file) for every secret text found in a file under `folder` (whitespace-normalised)."""
    def norm(text: str) -> str:
        return " ".join(text.split())

    wanted = [(where, norm(text)) for where, text in secrets if norm(text)]
    leaks = []
    for path in Path(folder).rglob("*"):
        if not path.is_file() or any(fnmatch.fnmatch(part, pat) for part in path.parts for pat in _IGNORE):
            continue
        try:
            content = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        haystacks = [norm(content)]
        if path.suffix == ".ipynb":  # notebooks store sources as JSON string lists: search the cells too
            try:
                haystacks += [norm(c.source) for c in nbformat.reads(content, as_version=4).cells]
            except Exception:  # not a notebook after all: the raw text was searched already
                pass
        for where, text in wanted:
            if any(text in hay for hay in haystacks):
                leaks.append((where, str(path.relative_to(folder))))
    return leaks
