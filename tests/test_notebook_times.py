"""benchmarks/notebook_times.json times every lecture and solution, and README's table is generated from it.

A new notebook (lecture 09, its solution, ...) fails here until it is timed:
`python benchmarks/notebook_times.py --only notebooks/NN_topic.ipynb solutions/NN_topic.ipynb --readme`.
"""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_benchmark():
    spec = importlib.util.spec_from_file_location("notebook_times_under_test", ROOT / "benchmarks" / "notebook_times.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nt = load_benchmark()


def committed():
    assert nt.RESULTS.is_file(), "no benchmarks/notebook_times.json: run `python benchmarks/notebook_times.py --readme`"
    return json.loads(nt.RESULTS.read_text())


def test_every_lecture_and_solution_has_a_cold_time():
    notebooks = nt.course_notebooks()
    assert any(n.startswith("notebooks/") for n in notebooks) and any(n.startswith("solutions/") for n in notebooks)
    timed = [r["notebook"] for r in committed()["rows"]]
    missing = [n for n in notebooks if n not in timed]
    assert missing == [], (f"no time in benchmarks/notebook_times.json for {missing}: run `python "
                           f"benchmarks/notebook_times.py --only {' '.join(missing)} --readme`")
    assert [n for n in timed if n not in notebooks] == [], "rows for notebooks that no longer exist"
    assert timed == notebooks, "rows in the course's order (lectures, then solutions), one per notebook"
    for row in committed()["rows"]:
        assert row["cache"] == "cold" and row["seconds"] > 0 and row["cpu_seconds"] > 0 and row["peak_mib"] > 0, row
        assert row["kind"] == nt.kind_of(row["notebook"])
        assert set(row["provenance"]) >= {"commit", "date", "machine", "load_average_before", "command"}


def test_readme_table_is_generated_from_notebook_times_json():
    table = nt.markdown_table(committed())
    assert nt.readme_table((ROOT / "README.md").read_text()) == table, (
        "README's notebook-times table is not the one benchmarks/notebook_times.json gives: "
        "run `python benchmarks/notebook_times.py --readme-only`")


def row(notebook, seconds, cpu=None, date="2026-12-01T04:00:00Z"):
    return {"notebook": notebook, "kind": nt.kind_of(notebook), "seconds": seconds, "seconds_sd": 0.0,
            "cpu_seconds": cpu if cpu is not None else seconds, "peak_mib": 500, "kib": 100, "runs": 1, "cache": "cold",
            "provenance": {"commit": "abc1234", "dirty": False, "date": date, "machine": "a test machine",
                           "load_average_before": [1.0, 1.0, 1.0], "load_average_after": [2.0, 1.0, 1.0],
                           "niceness": 0, "command": "python benchmarks/notebook_times.py"}}


COURSE = ["notebooks/00_a.ipynb", "notebooks/01_b.ipynb", "solutions/00_a.ipynb"]


def test_only_replaces_its_own_rows_keeps_the_others_and_drops_stale_ones():
    old = nt.merge(None, [row(n, 10.0) for n in COURSE + ["notebooks/02_gone.ipynb"]], COURSE + ["notebooks/02_gone.ipynb"])
    new = nt.merge(old, [row("notebooks/01_b.ipynb", 99.0, date="2026-12-02T00:00:00Z")], COURSE)
    assert [r["notebook"] for r in new["rows"]] == COURSE
    assert [r["seconds"] for r in new["rows"]] == [10.0, 99.0, 10.0]
    assert new["rows"][1]["provenance"]["date"] == "2026-12-02T00:00:00Z"
    # a new notebook merged in lands in the course's order, not at the end
    course = COURSE[:2] + ["notebooks/01c_new.ipynb"] + COURSE[2:]
    newer = nt.merge(new, [row("notebooks/01c_new.ipynb", 5.0)], course)
    assert [r["notebook"] for r in newer["rows"]] == course


def test_budgets_name_slow_lectures_and_a_long_total_not_slow_solutions():
    quick = nt.merge(None, [row(COURSE[0], 60.0), row(COURSE[1], 119.0), row(COURSE[2], 500.0)], COURSE)
    assert nt.over_budget(quick) == []
    slow = nt.merge(None, [row(COURSE[0], 60.0), row(COURSE[1], 121.0), row(COURSE[2], 1100.0)], COURSE)
    assert nt.over_budget(slow) == ["notebooks/01_b.ipynb: 121 s > 120 s",
                                    "all lectures and solutions: 21.4 min > 20 min"]
    table = nt.markdown_table(slow)
    assert "121.0 **over 120 s**" in table and "Over budget: notebooks/01_b.ipynb" in table
    assert "1100.0 **over" not in table   # a solution has no per-notebook budget
    assert "all 21.4 min of wall time" in table and "Every budget is met." in nt.markdown_table(quick)


def test_readme_rewrite_replaces_only_between_the_markers():
    text = f"intro\n{nt.START}\nold table\n{nt.END}\nafter\n"
    new = nt.rewrite_readme(text, "| new |")
    assert new == f"intro\n{nt.START}\n| new |\n{nt.END}\nafter\n"
    assert nt.readme_table(new) == "| new |"
    with pytest.raises(ValueError, match="notebook-times:start"):
        nt.rewrite_readme("no markers here", "| new |")
    with pytest.raises(ValueError, match="notebook-times:start"):
        nt.rewrite_readme(f"{nt.END}\n{nt.START}\n", "| new |")
