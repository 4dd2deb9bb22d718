"""The adversarial suite: hostile submissions graded in one run beside honest ones.

Each hostile notebook must get its expected status and score, and the honest ones full marks.
Limits are tight here (10 s per cell, 1.5 GB) so the suite stays quick.
"""
import copy
import csv
import time
from pathlib import Path

import nbformat
import pytest

from coursekit.grading import grade
from coursekit.grading.build import build_exercise
from coursekit.grading.format import read_source
from coursekit.grading.run import Limits

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = "00_introduction"
LIMITS = Limits(cell_timeout=10, notebook_timeout=150, memory_mb=1500, output_kb=256)

WRONG_KL = "def gaussian_kl(mu_q, sigma_q, mu_p, sigma_p):\n    return mu_q * 0 + 0.5"


def solved():
    """The exercise with the solution's answers: an honest, perfect submission."""
    return build_exercise(*read_source(ROOT / "solutions" / f"{EXERCISE}.ipynb"), keep_solutions=True)


def cell_by_id(nb, cid):
    return next(c for c in nb.cells if c.metadata.get("coursekit", {}).get("id") == cid)


def answer(source_prefix="", kl_source=None):
    """A perfect submission whose gaussian-kl answer is replaced or prefixed."""
    nb = solved()
    c = cell_by_id(nb, "gaussian-kl")
    c.source = source_prefix + (kl_source if kl_source is not None else c.source)
    return nb


def edit_test(new_source):
    nb = answer(kl_source=WRONG_KL)
    cell_by_id(nb, "gaussian-kl-public").source = new_source
    return nb


def retag(tags=None, marker=None):
    nb = answer(kl_source=WRONG_KL)
    c = cell_by_id(nb, "gaussian-kl-public")
    if tags:
        c.metadata["tags"] = tags
    if marker:
        c.source = f"# {marker}\n" + c.source
    return nb


def deleted():
    nb = answer(kl_source=WRONG_KL)
    nb.cells = [c for c in nb.cells if c.metadata["coursekit"]["id"] != "gaussian-kl-public"]
    return nb


def duplicated():
    nb = answer(kl_source=WRONG_KL)
    i = next(i for i, c in enumerate(nb.cells) if c.metadata["coursekit"]["id"] == "gaussian-kl-public")
    fake = copy.deepcopy(nb.cells[i])
    fake.source = "pass"
    nb.cells.insert(i, fake)
    return nb


def moved():
    nb = answer(kl_source=WRONG_KL)
    i = next(i for i, c in enumerate(nb.cells) if c.metadata["coursekit"]["id"] == "gaussian-kl-public")
    nb.cells.append(nb.cells.pop(i))
    return nb


def points_edited():
    nb = solved()
    cell_by_id(nb, "floor-public").metadata["coursekit"]["points"] = 100
    return nb


MONKEYPATCH = ("import coursekit.grading.checks as _c, torch as _t\n"
               "_c.check_close = lambda *a, **k: None\ncheck_close = lambda *a, **k: None\n"
               "_t.allclose = lambda *a, **k: True\n")
SUPPRESS = ("get_ipython().showtraceback = lambda *a, **k: None\n"
            "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n")

# name: (notebook or raw bytes, expected status, expected points of 17, a word the detail must hold)
CASES = {
    "honest1": (solved, "ok", 17, ""),
    "honest2": (solved, "ok", 17, ""),
    "infinite-loop": (lambda: answer("while True:\n    pass\n"), "timeout", 12, "cell"),
    "stubborn-loop": (lambda: answer("while True:\n    try:\n        while True:\n            pass\n"
                                     "    except KeyboardInterrupt:\n        pass\n"), "timeout", 0, "cell"),
    "memory-hog": (lambda: answer("hog = []\nwhile True:\n    hog.append(bytearray(50_000_000))\n"), "memory", 0, "MiB"),
    "os-exit": (lambda: answer("import os\nos._exit(1)\n"), "crash", 0, "died"),
    "sys-exit": (lambda: answer("import sys\nsys.exit()\n"), "ok", 12, ""),
    "keyboard-interrupt": (lambda: answer("raise KeyboardInterrupt\n"), "ok", 12, ""),
    "system-exit": (lambda: answer("raise SystemExit(3)\n"), "ok", 12, ""),
    "output-flood": (lambda: answer("for _ in range(300):\n    print('x' * 20_000)\n"), "ok", 17, ""),
    "suppressed-tracebacks": (lambda: answer(SUPPRESS, WRONG_KL), "tampered", 12, "tracebacks"),
    "test-edited": (lambda: edit_test("assert True"), "tampered", 12, "edited"),
    "test-deleted": (deleted, "tampered", 12, "deleted"),
    "test-duplicated": (duplicated, "tampered", 12, "appears 2 times"),
    "test-raises-exception-tag": (lambda: retag(tags=["raises-exception"]), "tampered", 12, "tagged"),
    "test-nbval-skip": (lambda: retag(marker="NBVAL_SKIP"), "tampered", 12, "edited"),
    "test-moved": (moved, "tampered", 12, "moved"),
    "points-edited": (points_edited, "tampered", 17, "metadata changed"),
    "monkeypatched-helpers": (lambda: answer(MONKEYPATCH, WRONG_KL), "tampered", 12, "replaced"),
    "not-json": (b"{this is not json", "invalid", 0, "readable"),
    "empty-file": (b"", "invalid", 0, "readable"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("adversarial")
    out = tmp_path_factory.mktemp("adversarial-out")
    for name, (make, *_rest) in CASES.items():
        (subs / name).mkdir()
        target = subs / name / f"{EXERCISE}.ipynb"
        if isinstance(make, bytes):
            target.write_bytes(make)
        else:
            nbformat.write(make(), target)
    # a submission that is a link out of the submissions folder (path traversal)
    outside = tmp_path_factory.mktemp("outside") / "x.ipynb"
    nbformat.write(solved(), outside)
    (subs / "path-traversal").mkdir()
    (subs / "path-traversal" / f"{EXERCISE}.ipynb").symlink_to(Path("..") / ".." / outside.parent.name / "x.ipynb")
    # a student id that is no file name
    (subs / "odd name; with spaces").mkdir()
    nbformat.write(solved(), subs / "odd name; with spaces" / f"{EXERCISE}.ipynb")
    start = time.monotonic()
    results = grade.grade_class(subs, ROOT / "solutions", out, exercises=[EXERCISE], limits=LIMITS,
                                log=lambda *a: None)
    return results, out, time.monotonic() - start


@pytest.mark.parametrize("name", list(CASES))
def test_each_submission_gets_its_status_and_score(graded, name):
    _, expected_status, expected_points, word = CASES[name]
    r = graded[0][name][EXERCISE]
    assert (r.status, r.points) == (expected_status, expected_points), (r.detail, r.notes, [(t.id, t.message) for t in r.tests])
    assert r.max_points == 17
    assert word in r.detail or word in " ".join(r.notes), (r.detail, r.notes)


def test_a_dead_kernel_is_noticed_at_once(graded):
    """os._exit is detected within seconds, not after the 10 s cell timeout times the cells left."""
    r = graded[0]["os-exit"][EXERCISE]
    assert r.seconds < 30, r.seconds


def test_links_are_not_followed_and_odd_ids_stay_in_the_gradebook(graded):
    results, out, _ = graded
    r = results["path-traversal"][EXERCISE]
    assert (r.status, r.points) == ("invalid", 0) and "link" in r.detail
    assert results["odd name; with spaces"][EXERCISE].points == 17
    feedback = sorted(p.name for p in (out / "feedback").iterdir())
    assert all("/" not in f and not f.startswith(".") for f in feedback)
    assert any(f.startswith("odd_name__with_spaces-") for f in feedback)
    rows = {row["student_id"]: row for row in csv.DictReader((out / "gradebook.csv").open())}
    assert rows["odd name; with spaces"]["total"] == "17"
    assert set(rows) == set(results)


def test_grading_again_gives_the_same_gradebook(graded, tmp_path):
    """Reruns are idempotent: the honest and the deterministic hostile rows come out the same."""
    results = graded[0]
    subs = tmp_path / "again"
    for name in ("honest1", "test-edited", "monkeypatched-helpers", "os-exit", "not-json"):
        (subs / name).mkdir(parents=True)
        make = CASES[name][0]
        target = subs / name / f"{EXERCISE}.ipynb"
        target.write_bytes(make) if isinstance(make, bytes) else nbformat.write(make(), target)
    first = grade.grade_class(subs, ROOT / "solutions", tmp_path / "a", exercises=[EXERCISE], limits=LIMITS,
                              log=lambda *a: None)
    second = grade.grade_class(subs, ROOT / "solutions", tmp_path / "b", exercises=[EXERCISE], limits=LIMITS,
                               log=lambda *a: None)
    assert (tmp_path / "a" / "gradebook.csv").read_text() == (tmp_path / "b" / "gradebook.csv").read_text()
    for name in first:
        assert first[name][EXERCISE].points == results[name][EXERCISE].points
