"""Execute every lecture (notebooks/NN_*.ipynb) and every solution (solutions/*.ipynb), without
saving, and print each one's wall time, CPU time, the kernel's peak memory and its size on disk,
then the totals and the notebooks over the course's budgets:

    each lecture ≤ 120 s (aim for 60 s), and all lectures and solutions together ≤ 20 minutes,
    on a 2-core CPU, by their default parameters, with an empty model cache.

Measured cold by default, as a student's first run and CI's clean clone are: each run gets a new,
empty model cache (`COURSEKIT_CACHE`), so notebooks that cache trained models train them. The
measurements go to benchmarks/notebook_times.json, one row per notebook, each with its own
provenance (commit, date, machine, load average before and after, niceness, command), so that
`--only` can re-time a few notebooks and keep the other rows. `--readme` then rewrites README's
table (between `<!-- notebook-times:start -->` and `<!-- notebook-times:end -->`) from the JSON;
tests/test_notebook_times.py checks that the table is the JSON's and that every notebook has a row.

    python benchmarks/notebook_times.py --readme              # every notebook, cold (~20 min on 2 cores)
    python benchmarks/notebook_times.py --only notebooks/09_comparison.ipynb solutions/09_comparison.ipynb --readme
    python benchmarks/notebook_times.py --readme-only          # README's table from the JSON, nothing run
    python benchmarks/notebook_times.py --only notebooks/00_introduction.ipynb --repeat 3 --no-write
    python benchmarks/notebook_times.py --warm --no-write      # with your cache (a re-run's time; never written)

Wall time depends on what else the machine runs: each row keeps the load average, and the CPU
seconds (the kernel's and the executing process's) are the steadier number on a shared machine.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from coursekit.utils import atomic_write, marked_section, with_marked_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "notebook_times.json"
README = ROOT / "README.md"
START, END = "<!-- notebook-times:start -->", "<!-- notebook-times:end -->"
LECTURE_BUDGET_S = 120      # every lecture, cold (aim for 60 s)
TOTAL_BUDGET_S = 20 * 60    # every lecture and solution together, as nbval executes them
FORMAT = 1


def course_notebooks(root: Path = ROOT) -> list[str]:
    """Every notebook this benchmark must time, as paths relative to `root`: the lectures, then the solutions."""
    lectures = sorted((root / "notebooks").glob("[0-9][0-9]*.ipynb"))
    solutions = sorted((root / "solutions").glob("*.ipynb"))
    return [p.relative_to(root).as_posix() for p in lectures + solutions]


def kind_of(notebook: str) -> str:
    folder = Path(notebook).parent.name
    if folder not in ("notebooks", "solutions"):
        raise ValueError(f"{notebook}: expected a notebook in notebooks/ or solutions/")
    return "lecture" if folder == "notebooks" else "solution"


def machine() -> str:
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    try:
        import torch
        torch_version = f", torch {torch.__version__}"
    except ImportError:
        torch_version = ""
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores{', ' + model if model else ''}, "
            f"Python {platform.python_version()}{torch_version}")


def git_commit(notebook: str, root: Path = ROOT) -> tuple[str, bool]:
    """(the checkout's short commit, whether what decides `notebook`'s run differs from it: the notebook,
    the package or the executing script; other files being edited do not count)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout.strip()
    changed = git("status", "--porcelain", "--untracked-files=no", "--", notebook, "coursekit",
                  "scripts/execute_notebooks.py")
    return git("rev-parse", "--short", "HEAD") or "unknown", bool(changed)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_once(path: Path, warm: bool) -> dict:
    """Execute one notebook in a fresh process and kernel (a new, empty model cache unless `warm`)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="coursekit-cold-cache-") as cache:
        env = dict(os.environ) if warm else {**os.environ, "COURSEKIT_CACHE": cache}
        out = subprocess.run([sys.executable, str(ROOT / "scripts" / "execute_notebooks.py"), "--no-save",
                              "--json", str(path)], capture_output=True, text=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        raise RuntimeError(f"{path} failed to execute (exit status {out.returncode}); its stderr is above")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # every process this run waited for: the executing process and the kernel it started
    result["cpu_seconds"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1)
    return result


def measure(notebook: str, repeat: int, warm: bool, command: str) -> dict:
    """One row of notebook_times.json: the mean of `repeat` runs (and their spread), with provenance."""
    commit, dirty = git_commit(notebook)   # what runs: read before, as the notebook is
    load_before = load_average()
    runs = [run_once(ROOT / notebook, warm) for _ in range(repeat)]
    seconds = [r["seconds"] for r in runs]
    return {
        "notebook": notebook, "kind": kind_of(notebook),
        "seconds": round(statistics.mean(seconds), 1),
        "seconds_sd": round(statistics.stdev(seconds), 1) if len(seconds) > 1 else 0.0,
        "cpu_seconds": round(statistics.mean(r["cpu_seconds"] for r in runs), 1),
        "peak_mib": round(max(r["peak_mib"] for r in runs)), "kib": round(runs[0]["bytes"] / 1024),
        "runs": repeat, "cache": "warm" if warm else "cold",
        "provenance": {"commit": commit, "dirty": dirty,
                       "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "machine": machine(), "load_average_before": load_before, "load_average_after": load_average(),
                       "niceness": os.nice(0), "command": command},
    }


def merge(results: dict | None, rows: list[dict], notebooks: list[str]) -> dict:
    """`results` with `rows` replacing (or adding) their notebooks' rows; rows of notebooks no longer in
    `notebooks` (the course's) are dropped, and the rows come in the course's order."""
    by_name = {r["notebook"]: r for r in (results or {}).get("rows", [])}
    by_name.update({r["notebook"]: r for r in rows})
    order = {name: i for i, name in enumerate(notebooks)}
    kept = sorted((r for name, r in by_name.items() if name in order), key=lambda r: order[r["notebook"]])
    return {"format": FORMAT, "budgets": {"lecture_seconds": LECTURE_BUDGET_S, "total_seconds": TOTAL_BUDGET_S},
            "rows": kept}


def totals(results: dict) -> dict[str, float]:
    rows = results["rows"]
    return {"lectures": sum(r["seconds"] for r in rows if r["kind"] == "lecture"),
            "solutions": sum(r["seconds"] for r in rows if r["kind"] == "solution"),
            "all": sum(r["seconds"] for r in rows),
            "cpu": sum(r["cpu_seconds"] for r in rows)}


def over_budget(results: dict) -> list[str]:
    """One line per budget missed: the lectures over LECTURE_BUDGET_S, and the total over TOTAL_BUDGET_S."""
    lines = [f"{r['notebook']}: {r['seconds']:.0f} s > {LECTURE_BUDGET_S} s" for r in results["rows"]
             if r["kind"] == "lecture" and r["seconds"] > LECTURE_BUDGET_S]
    total = totals(results)["all"]
    if total > TOTAL_BUDGET_S:
        lines.append(f"all lectures and solutions: {total / 60:.1f} min > {TOTAL_BUDGET_S / 60:.0f} min")
    return lines


def markdown_table(results: dict) -> str:
    """README's table, written from notebook_times.json alone (the test regenerates it to compare)."""
    lines = ["| notebook | wall s | CPU s | peak MiB | load (1 min) before → after | measured |",
             "| --- | ---: | ---: | ---: | --- | --- |"]
    for r in results["rows"]:
        p = r["provenance"]
        flag = " **over 120 s**" if r["kind"] == "lecture" and r["seconds"] > LECTURE_BUDGET_S else ""
        spread = f" ± {r['seconds_sd']:.1f}" if r["runs"] > 1 else ""
        lines.append(f"| `{r['notebook']}` | {r['seconds']:.1f}{spread}{flag} | {r['cpu_seconds']:.0f} | "
                     f"{r['peak_mib']} | {p['load_average_before'][0]:.1f} → {p['load_average_after'][0]:.1f} | "
                     f"{p['date'][:16].replace('T', ' ')} UTC, {p['commit']}{' (modified)' if p['dirty'] else ''} |")
    t = totals(results)
    missed = over_budget(results)
    machines = sorted({r["provenance"]["machine"] for r in results["rows"]})
    commands = sorted({r["provenance"]["command"] for r in results["rows"]})
    lines += ["",
              f"Totals: lectures {t['lectures'] / 60:.1f} min, solutions {t['solutions'] / 60:.1f} min, "
              f"all {t['all'] / 60:.1f} min of wall time ({t['cpu'] / 60:.1f} min of CPU). Budgets: each lecture ≤ "
              f"{LECTURE_BUDGET_S} s, all together ≤ {TOTAL_BUDGET_S // 60} min, cold (an empty model cache per "
              f"notebook). " + (f"Over budget: {'; '.join(missed)}." if missed else "Every budget is met."),
              "",
              f"Measured on {'; '.join(machines)} with {' and '.join(f'`{c}`' for c in commands)} "
              f"(rows: `benchmarks/notebook_times.json`; a loaded machine inflates wall time, not CPU time)."]
    return "\n".join(lines)


def rewrite_readme(text: str, table: str) -> str:
    """`text` with everything between the notebook-times markers replaced by `table`."""
    return with_marked_section(text, START, END, f"{table}\n", "README (around the notebook-times table)")


def readme_table(text: str) -> str:
    """The table between the markers in README's `text`."""
    return marked_section(text, START, END, "README (around the notebook-times table)").strip("\n")


def load(path: Path = RESULTS) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def write_json(results: dict, path: Path = RESULTS) -> None:
    with atomic_write(path, "w") as f:
        f.write(json.dumps(results, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", type=Path, metavar="PATH",
                        help="time only these notebooks and update their rows (default: every lecture and solution)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook; the mean and spread are kept")
    parser.add_argument("--warm", action="store_true", help="use your model cache instead of an empty one (needs --no-write)")
    parser.add_argument("--no-write", action="store_true", help=f"print only; leave {RESULTS.relative_to(ROOT)} alone")
    parser.add_argument("--readme", action="store_true", help="then rewrite README's table from the JSON")
    parser.add_argument("--readme-only", action="store_true", help="rewrite README's table from the JSON; run nothing")
    args = parser.parse_args(argv)
    if args.warm and not args.no_write:
        parser.error("--warm times a re-run, not the budgets' cold run: add --no-write")
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    course = course_notebooks()
    if args.readme_only:
        results = load()
        if results is None:
            parser.error(f"no {RESULTS.relative_to(ROOT)} to write README's table from: run the benchmark first")
        README.write_text(rewrite_readme(README.read_text(), markdown_table(results)))
        print(f"README's notebook-times table rewritten from {RESULTS.relative_to(ROOT)}")
        return 0
    if args.only:
        chosen = []
        for path in args.only:
            name = (path if path.is_absolute() else Path.cwd() / path).resolve().relative_to(ROOT).as_posix()
            if name not in course:
                parser.error(f"{path} is not one of the course's notebooks (notebooks/NN_*.ipynb, solutions/*.ipynb)")
            chosen.append(name)
    else:
        chosen = course
    command = " ".join(["python", "benchmarks/notebook_times.py", *(argv if argv is not None else sys.argv[1:])])
    print(f"{machine()}; niceness {os.nice(0)}; load average {' '.join(map(str, load_average()))}; "
          f"{'your model cache (warm)' if args.warm else 'an empty model cache per notebook (cold)'}", flush=True)
    print(f"{'notebook':40s} {'wall s':>12s} {'CPU s':>7s} {'peak MiB':>9s} {'KiB':>6s} {'load':>11s}", flush=True)
    rows = []
    results = load()
    failed = []
    for name in chosen:
        try:
            row = measure(name, args.repeat, args.warm, command)
        except RuntimeError as err:   # said, and the others still timed; its old row (if any) is kept
            print(f"{name:40s} FAILED: {err}", flush=True)
            failed.append(name)
            continue
        rows.append(row)
        spread = f" ± {row['seconds_sd']:.1f}" if row["runs"] > 1 else ""
        load_text = f"{row['provenance']['load_average_before'][0]:.1f}→{row['provenance']['load_average_after'][0]:.1f}"
        print(f"{name:40s} {row['seconds']:>6.1f}{spread:>6s} {row['cpu_seconds']:>7.0f} {row['peak_mib']:>9d} "
              f"{row['kib']:>6d} {load_text:>11s}", flush=True)
        if not args.no_write:   # after each notebook, so an interrupted run keeps what it measured
            results = merge(results, [row], course)
            write_json(results)
    shown = merge(None, rows, course) if args.no_write or results is None else results
    t = totals(shown)
    print(f"{'lectures':40s} {t['lectures']:>6.1f}\n{'solutions':40s} {t['solutions']:>6.1f}\n"
          f"{'all':40s} {t['all']:>6.1f} s = {t['all'] / 60:.1f} min ({t['cpu'] / 60:.1f} min of CPU)"
          + ("" if args.no_write else f"  [all rows of {RESULTS.relative_to(ROOT)}]"), flush=True)
    for line in over_budget(shown):
        print(f"over budget: {line}", flush=True)
    missing = [n for n in course if n not in {r["notebook"] for r in shown["rows"]}]
    if missing:
        print(f"no time yet for: {', '.join(missing)}", flush=True)
    if args.readme and not args.no_write and results is not None:
        README.write_text(rewrite_readme(README.read_text(), markdown_table(results)))
        print("README's notebook-times table rewritten", flush=True)
    if failed:
        print(f"failed to execute (not timed): {', '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
