"""Every model of the course trained with its lecture's defaults and measured on one test split.

    python -m benchmarks --quick                 # seed 0 of every entry (< 15 min on 2 cores)
    python -m benchmarks                         # seeds 0, 1, 2 (resumes: finished jobs are kept)
    python -m benchmarks --only vae dcgan --seeds 1
    python -m benchmarks --readme                # also rewrite README.md's table (no training if all is done)
    python -m benchmarks --data mnist --data-dir DIR --device cuda   # the MNIST configurations (a GPU)

Writes benchmarks/results.json (every row of every seed, with the commit, date, machine and
command) and benchmarks/results.md (the table; the MNIST run writes results_mnist.json/.md).
Each (entry, seed) job runs in a process of its own and is written as soon as it finishes, so
an interrupted run resumes where it stopped; `--fresh` redoes the selected entries. The
measurements are `coursekit.evaluation.suite`'s.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="seed 0 only (a later full run resumes from it)")
    parser.add_argument("--only", nargs="+", metavar="KEY", help="only these entries (default: all, in course order)")
    parser.add_argument("--seeds", type=int, metavar="N", help="seeds 0..N-1 (default 3)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default: auto")
    parser.add_argument("--data", default="digits", choices=("digits", "mnist"), help="default: digits")
    parser.add_argument("--data-dir", metavar="DIR", help="the folder with the MNIST IDX files (for --data mnist)")
    parser.add_argument("--fresh", action="store_true", help="redo the selected entries' jobs even if finished")
    parser.add_argument("--readme", action="store_true", help="also rewrite README.md's benchmark table")
    parser.add_argument("--out", metavar="PATH", help="results file (default benchmarks/results.json; "
                                                      "benchmarks/results_mnist.json for --data mnist)")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="torch threads per job on the CPU (default 1, as the lectures use; 0: torch's default)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _label(path: Path) -> str:
    """The path as the table names it: relative to the course's root where it is inside it."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def main(argv: list[str] | None = None) -> int:
    from coursekit.evaluation import suite
    from coursekit.utils import atomic_write

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.quick and args.seeds is not None:
        parser.error("--quick is seed 0 only; give either --quick or --seeds N")
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    if args.threads < 0:
        parser.error(f"--threads must be 0 (torch's default) or more, got {args.threads}")
    if args.data == "mnist" and args.data_dir is None:
        parser.error("--data mnist needs --data-dir DIR, the folder with the MNIST IDX files "
                     "(coursekit.data.mnist.download(DIR) fetches them when you are online)")
    if args.readme and args.data != "digits":
        parser.error("--readme shows the digits table; run it without --data mnist")
    known = suite.entries()
    unknown = [key for key in args.only or () if key not in known]
    if unknown:
        parser.error(f"unknown entr{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; the entries are: "
                     f"{', '.join(known) or 'none registered'}")
    selected = list(args.only or known)

    def configured(key: str) -> bool:
        try:
            known[key].settings_for(args.data)
        except ValueError:
            return False
        return True

    if not any(configured(key) for key in selected):
        parser.error(f"no selected entry has {'an MNIST' if args.data == 'mnist' else 'a ' + args.data} "
                     f"configuration: {', '.join(selected) or 'none registered'}")
    seeds = [0] if args.quick else list(range(3 if args.seeds is None else args.seeds))
    default = HERE / ("results.json" if args.data == "digits" else "results_mnist.json")
    out = Path(args.out) if args.out else default
    try:
        results = suite.run(args.only, seeds, data=args.data, device=args.device, data_dir=args.data_dir, out=out,
                            fresh=args.fresh, subprocess=True, progress=not args.no_progress,
                            command=shlex.join(["python", "-m", "benchmarks", *argv]), threads=args.threads or None)
    except (FileNotFoundError, ValueError) as err:   # missing data, another results format: said, no traceback
        print(f"python -m benchmarks: error: {err}", file=sys.stderr)
        return 2
    table = suite.markdown_table(results, _label(out))
    markdown = out.with_suffix(".md")
    with atomic_write(markdown, "w") as f:
        f.write(table)
    print(table)
    print(f"wrote {_label(out)} and {_label(markdown)}")
    if args.readme:
        changed = suite.update_readme(ROOT / "README.md", results, _label(out))
        print("README.md's benchmark table " + ("rewritten" if changed else "already up to date"))
    if results.failed:
        print(f"{len(results.failed)} job(s) failed and were not written: "
              + ", ".join(f"{key} seed {seed}" for key, seed, _ in results.failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
