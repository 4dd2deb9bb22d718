"""Execute notebooks top to bottom, report each one's wall time and the kernel's peak memory.

    python scripts/execute_notebooks.py notebooks/*.ipynb            # re-execute in place (make notebooks)
    python scripts/execute_notebooks.py --no-save notebooks/*.ipynb  # only time them (benchmarks)
    python scripts/execute_notebooks.py --param EPOCHS=1 notebooks/02_vae.ipynb

Each notebook runs in its own kernel, in its own folder, with a per-cell timeout. Saved
notebooks keep their (light) outputs but no widget state, no execution timestamps and no widget
model ids (notebook_sources.clean), so they stay small in git and re-executing an unchanged
lecture changes only its numbers and images. Widgets cannot render from the file: each training
progress bar (tqdm.auto's widget) is saved as its final text, `desc: 100% 480/480`, read from the
widget state the run recorded (notebook_sources.finish_progress_bars), and each interactive
widget as a short note to run the cell. This executes the .ipynb as it is: `make notebooks`
first writes it from its .py source (scripts/notebook_sources.py sync). `--param` changes the
parameters cell's source, so save such a run only to look at it, never to commit it.
`--json` prints one JSON line per notebook for benchmarks/notebook_times.py.
"""
from __future__ import annotations

import argparse
import ast
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def run_one(path: Path, save: bool, timeout: int, params: dict[str, object]) -> dict[str, object]:
    """Execute one notebook in this process's child kernel; return its time and peak memory."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    if params:
        cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
        if cell is None:
            raise SystemExit(f"{path} has no cell tagged 'parameters' to override {sorted(params)}")
        cell.source += "\n# overridden by execute_notebooks.py\n" + "".join(f"{k} = {v!r}\n" for k, v in params.items())
    # The widget state is recorded (for the progress bars' final text) but never saved: clean() drops it.
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=save,
                            record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the kernel's peak RSS (Linux: KiB)
    if save:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from notebook_sources import clean, finish_progress_bars, write_notebook

        finish_progress_bars(nb, client.widget_state)
        clean(nb)
        write_notebook(nb, path)
    return {"notebook": str(path), "seconds": round(seconds, 2), "peak_mib": round(peak_mib, 1),
            "bytes": path.stat().st_size}


def parse_param(text: str) -> tuple[str, object]:
    name, _, value = text.partition("=")
    if not name.isidentifier() or not value:
        raise argparse.ArgumentTypeError(f"--param must look like NAME=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--no-save", action="store_true", help="execute without writing outputs back")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds (default 600)")
    parser.add_argument("--param", action="append", type=parse_param, default=[], help="override a parameter, NAME=VALUE")
    parser.add_argument("--json", action="store_true", help="print one JSON line per notebook")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")

    if len(args.notebooks) > 1:
        # One process per notebook, so each peak-memory reading belongs to one kernel.
        for path in args.notebooks:
            cmd = [sys.executable, __file__, str(path), "--timeout", str(args.timeout)]
            cmd += ["--no-save"] * args.no_save + ["--json"] * args.json
            cmd += [f"--param={k}={v!r}" for k, v in args.param]
            if subprocess.run(cmd).returncode != 0:
                return 1
        return 0
    result = run_one(args.notebooks[0], not args.no_save, args.timeout, dict(args.param))
    if args.json:
        print(json.dumps(result), flush=True)
    else:
        print(f"{result['notebook']}: {result['seconds']:.1f} s, kernel peak {result['peak_mib']:.0f} MiB, "
              f"{result['bytes'] / 1024:.0f} KiB on disk", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
