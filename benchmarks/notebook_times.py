"""Execute every lecture (without saving) and print its wall time, the kernel's peak memory and
its size on disk, then the total. The course's budget: each lecture ≤ 120 s on a 2-core CPU
by its default parameters (aim for 60 s).

Measured cold by default, as a student's first run is: each run gets a new, empty model cache
(`COURSEKIT_CACHE`), so lectures that cache trained models (03) train them. `--warm` uses your
cache instead (a re-run's time).

    python benchmarks/notebook_times.py                 # every lecture in notebooks/, cold
    python benchmarks/notebook_times.py notebooks/00_introduction.ipynb --repeat 3
    python benchmarks/notebook_times.py --warm          # with the models already in ~/.cache/coursekit
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 120


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook; the mean and spread are printed")
    parser.add_argument("--warm", action="store_true", help="use your model cache instead of an empty one per run")
    args = parser.parse_args()
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]*.ipynb"))
    print(f"{os.cpu_count()} CPU cores, Python {sys.version.split()[0]}, "
          f"{'your model cache (warm)' if args.warm else 'an empty model cache per run (cold)'}", flush=True)
    print(f"{'lecture':40s} {'seconds':>16s} {'peak MiB':>9s} {'KiB':>6s}", flush=True)
    total, over = 0.0, []
    for path in notebooks:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="coursekit-cold-cache-") as cache:
                env = dict(os.environ) if args.warm else {**os.environ, "COURSEKIT_CACHE": cache}
                out = subprocess.run([sys.executable, str(ROOT / "scripts" / "execute_notebooks.py"), "--no-save",
                                      "--json", str(path)], capture_output=True, text=True, env=env)
            if out.returncode != 0:
                print(out.stderr[-3000:], file=sys.stderr)
                print(f"{path.name}: FAILED", flush=True)
                return 1
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        seconds = [r["seconds"] for r in runs]
        mean = statistics.mean(seconds)
        spread = f" ± {statistics.stdev(seconds):.1f}" if len(seconds) > 1 else ""
        total += mean
        if mean > BUDGET_S:
            over.append(path.name)
        print(f"{path.name:40s} {mean:>10.1f}{spread:>6s} {max(r['peak_mib'] for r in runs):>9.0f} "
              f"{runs[0]['bytes'] / 1024:>6.0f}", flush=True)
    print(f"{'total':40s} {total:>10.1f}", flush=True)
    if over:
        print(f"over the {BUDGET_S} s budget: {', '.join(over)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
