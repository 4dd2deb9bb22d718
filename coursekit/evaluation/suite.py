"""The course's benchmark: every registered entry trained and measured on one test split.

    python -m benchmarks --quick            # seed 0 of every entry → benchmarks/results.json, results.md
    results = load_results()                # the committed file, from anywhere in the course
    summarise(results)                      # mean, sample sd and seeds per row, in course order
    print(markdown_table(results))          # the table README.md shows

`measure(entry_key, seed)` trains one entry (`coursekit.evaluation.registry`) with its lecture's
settings and measures each of its rows: test bits/dim through `evaluate_model` (exact, or a bound
with its name), Fréchet distance and `knn_coverage` of 400 samples, the time to draw 100 samples,
parameters and peak memory. `run(...)` measures every pending (entry, seed) job, each in a child
process of its own (peak memory is the process's), and rewrites `results.json` after each one,
so an interrupted run loses at most the job that was running and the next run resumes.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import importlib
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

from ..utils import (atomic_write, marked_section, random_state_preserved, resolve_device, seed_everything,
                     seeded_generator, with_marked_section)
from . import registry

__all__ = ["INTRO_DGM", "INTRO_DGM_NOTE", "RESULTS", "ENTRIES_MODULE", "SAMPLES", "DRAWS", "COVERAGE_K",
           "SuiteResults", "entries", "settings_hash", "measure", "references", "provenance", "run", "load_results",
           "summarise", "markdown_table", "update_readme", "README_START", "README_END"]

FORMAT = 1
"""The version of results.json's layout."""

RESULTS = Path("benchmarks") / "results.json"
"""Where `python -m benchmarks` writes the digits results (relative to the course's root)."""

ENTRIES_MODULE = "coursekit.evaluation.families"
"""The module that registers the entries (imported for its side effect, lazily)."""

SAMPLES = 400
"""Samples per row: the Fréchet distance and the coverage are computed at this n."""
DRAWS = 4
"""The samples are drawn in DRAWS draws of SAMPLES // DRAWS (= 100), each timed."""
COVERAGE_K = 5
"""k of `knn_coverage`."""
DEFAULT_THREADS = 1
"""torch threads per job on the CPU, as the lectures use (None: torch's default)."""

INTRO_DGM_NOTE = ("measured for the public intro_dgm code on this split (quoted in lectures 02, 05, 06 and 08); "
                  "not rerun by this command")
INTRO_DGM = (
    {"name": "intro_dgm ARM (causal convolutions)", "measure": "exact", "bits_per_dim": 1.946},
    {"name": "intro_dgm VAE", "measure": "−ELBO", "bits_per_dim": 2.178},
    {"name": "intro_dgm VAE", "measure": "IWAE", "bits_per_dim": 2.107},
    {"name": "intro_dgm RealNVP", "measure": "valid dequantised bound", "bits_per_dim": 3.76},
    {"name": "intro_dgm diffusion", "measure": "valid bound", "bits_per_dim": 4.95},
)
"""Reference rows: Tomczak's intro_dgm models on the same digits split, as measured in earlier
issues (`INTRO_DGM_NOTE`); copied into every results.json, never recomputed."""

README_START = "<!-- benchmarks:start -->"
README_END = "<!-- benchmarks:end -->"

_NUMBERS = ("bits_per_dim", "nats", "frechet", "coverage", "train_seconds", "sample_seconds_100", "parameters",
            "peak_memory_mib")
_CHILD_MARK = "@@coursekit-suite-rows@@ "


class SuiteResults(dict):
    """The results dict (what results.json holds), with `failed`: the jobs of this call that
    failed, as (entry, seed, message) (not written to the file)."""

    failed: list[tuple[str, int, str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failed = []


# --- entries and settings ----------------------------------------------------------------

def entries() -> dict[str, registry.Entry]:
    """The registered entries in course order, after importing `ENTRIES_MODULE` (which registers
    them; when that module does not exist, whatever is registered already)."""
    try:
        importlib.import_module(ENTRIES_MODULE)
    except ModuleNotFoundError as err:
        if err.name is None or not ENTRIES_MODULE.startswith(err.name):
            raise   # the module exists but something it imports does not
    return registry.ENTRIES


def settings_hash(settings: dict) -> str:
    """8 hex digits of a SHA-256 of the settings as canonical JSON (what a resumed run compares)."""
    text = json.dumps(settings, sort_keys=True, default=repr, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _entry(key: str) -> registry.Entry:
    known = entries()
    if key not in known:
        raise KeyError(f"no benchmark entry {key!r}; the entries are {', '.join(known) or 'none (none registered)'}")
    return known[key]


def _splits(data: str, data_dir: str | os.PathLike | None):
    from .. import data as datasets

    if data == "digits":
        return datasets.load("digits")
    if data == "mnist":
        if data_dir is None:
            raise ValueError("--data mnist needs --data-dir DIR, the folder with the MNIST IDX files "
                             "(coursekit.data.mnist.download(DIR) fetches them when you are online)")
        return datasets.load("mnist", root=data_dir)
    raise ValueError(f"data must be 'digits' or 'mnist', got {data!r}")


def _classifier(splits, data: str, device: torch.device):
    from .classifiers import classifier

    return classifier(splits, kind=data, device=device)


# --- one entry, one seed -----------------------------------------------------------------

def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _draw(variant: registry.Variant, n: int, generator: torch.Generator) -> torch.Tensor | None:
    """n samples of the variant: its own `sample(n, generator)`, else `model.sample(n)` with torch's
    global stream seeded from the generator (and given back afterwards); None for a model that
    cannot sample (`can_sample = False`) or a `sample` that returns None."""
    if variant.sample is not None:
        return variant.sample(n, generator)
    model = variant.model
    if not model.can_sample:
        return None
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with random_state_preserved(model.device):
        torch.manual_seed(seed)
        return model.sample(n)


def _samples(variant: registry.Variant, seed: int, device: torch.device) -> tuple[torch.Tensor | None, float | None]:
    """SAMPLES samples in DRAWS timed draws (eval mode, no gradients), and the median seconds per 100 (the
    median, not the mean: the first draw also pays one-off costs, e.g. allocations and lazy initialisation)."""
    model = variant.model
    generator = seeded_generator(seed)
    was_training = model.training
    model.eval()
    draws, seconds = [], []
    try:
        with torch.no_grad():
            for _ in range(DRAWS):
                _sync(device)
                start = time.perf_counter()
                x = _draw(variant, SAMPLES // DRAWS, generator)
                _sync(device)
                seconds.append(time.perf_counter() - start)
                if x is None:
                    return None, None
                if not isinstance(x, torch.Tensor) or x.shape[0] != SAMPLES // DRAWS:
                    got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                    raise ValueError(f"{variant.key}: sampling {SAMPLES // DRAWS} images returned {got}")
                draws.append(x.detach().cpu())
    finally:
        model.train(was_training)
    per_100 = statistics.median(seconds) * 100 / (SAMPLES // DRAWS)
    return torch.cat(draws), per_100


def _peak_memory_mib(device: torch.device) -> float:
    """The process's peak resident memory (CPU), or the peak CUDA memory allocated by torch, in MiB."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def measure(entry_key: str, seed: int, *, data: str = "digits", device: str | torch.device | None = None,
            data_dir: str | os.PathLike | None = None, settings: dict | None = None,
            threads: int | None = DEFAULT_THREADS) -> list[dict]:
    """Train entry `entry_key` with `seed` and measure each of its variants: a list of rows.

    Loads the split (`data.load("digits")`, or MNIST from `data_dir`) and the cached evaluation
    classifier, seeds everything, calls `entry.fit(splits, seed, device, settings)` (settings:
    the entry's for `data` unless given), then per variant: `evaluate_model` on the test split
    (bits/dim exact or the bound with its name, the Fréchet distance of 400 samples),
    `knn_coverage` of the same samples, the median wall time of drawing 100 (4 timed draws of 100,
    CUDA synchronised), the parameter count and the peak memory: of the whole process on the
    CPU (run each job in a process of its own, as `run` does, for it to mean one job), torch's
    peak CUDA allocation since the job began on a GPU. Rows have no provenance (`run` adds it).
    On the CPU torch uses `threads` threads (default 1, as the lectures do: these networks are small,
    and two threads fighting for a busy 2-core machine made NADE's training 10× slower); None
    leaves torch's setting alone.
    """
    from .comparison import evaluate_model
    from .coverage import knn_coverage

    entry = _entry(entry_key)
    settings = entry.settings_for(data) if settings is None else dict(settings)
    device = resolve_device("auto" if device is None else device)
    if threads is not None:
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise ValueError(f"threads must be a positive int or None, got {threads!r}")
        if device.type == "cpu":
            torch.set_num_threads(threads)
    splits = _splits(data, data_dir)
    clf = _classifier(splits, data, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seed_everything(seed)
    fitted = entry.fit(splits, seed, device, dict(settings))
    if not isinstance(fitted, registry.Fitted) or not fitted.variants:
        raise TypeError(f"{entry.key}.fit must return a Fitted with at least one Variant, got {fitted!r}")
    rows = []
    for variant in fitted.variants:
        samples, per_100 = _samples(variant, seed, device)
        result = evaluate_model(variant.model, splits.test, name=variant.name, train_split=splits.train,
                                samples=samples, classifier=clf if samples is not None else None, n=SAMPLES,
                                seed=seed)
        coverage = None if samples is None else knn_coverage(samples, splits.test, clf, n=SAMPLES, k=COVERAGE_K,
                                                             seed=seed)
        likelihood = "none" if result.bits_per_dim is None else ("exact" if result.bound is None else "bound")
        rows.append({
            "key": variant.key, "entry": entry.key, "name": variant.name, "family": entry.family,
            "lecture": entry.lecture, "seed": int(seed), "data": data, "device": device.type,
            "likelihood": likelihood, "bound": result.bound if likelihood == "bound" else None,
            "bits_per_dim": result.bits_per_dim, "nats": result.nats,
            "frechet": result.frechet, "frechet_n": result.frechet_n,
            "coverage": coverage, "coverage_k": None if coverage is None else COVERAGE_K,
            "train_seconds": None if fitted.train_seconds is None else float(fitted.train_seconds),
            "source": fitted.source, "notes": fitted.notes,
            "sample_seconds_100": per_100,
            "parameters": int(sum(p.numel() for p in variant.model.parameters())),
            "peak_memory_mib": None,
            "settings": json.loads(json.dumps(settings, default=repr)), "settings_hash": settings_hash(settings),
        })
    peak = _peak_memory_mib(device)
    for row in rows:
        row["peak_memory_mib"] = round(peak, 1)
    return rows


# --- references and provenance -----------------------------------------------------------

def references(splits, clf) -> dict:
    """The split's description and the reference numbers every row is read against: uniform and
    floor bits/dim, and the Fréchet distance and coverage (n = 400) of real training images, floor
    samples and noise against the test split."""
    from .coverage import knn_coverage
    from .frechet import frechet_reference
    from .likelihood import floor_bits_per_dim, floor_model, uniform_bits_per_dim

    test = splits.test
    fd = frechet_reference(splits, clf, SAMPLES, 0)
    gen = seeded_generator(0)   # the same draws as frechet_reference's
    floor = floor_model(splits.train).sample(SAMPLES, generator=gen)
    noise = torch.randint(0, test.levels, (SAMPLES, *test.x.shape[1:]), generator=gen)
    coverage = {name: knn_coverage(x, test, clf, n=SAMPLES, k=COVERAGE_K, seed=0)
                for name, x in (("real", splits.train.x), ("floor", floor), ("noise", noise))}
    split = {"name": test.name, "examples": len(test), "dims": test.dims, "levels": test.levels}
    refs = {"uniform_bits_per_dim": uniform_bits_per_dim(test.levels),
            "floor_bits_per_dim": floor_bits_per_dim(splits.train, test),
            "frechet": {"n": SAMPLES, **{name: r.value for name, r in fd.items()}},
            "coverage": {"n": SAMPLES, "k": COVERAGE_K, **coverage}}
    return {"split": split, "references": refs}


def _git(*args: str) -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def provenance(device: torch.device | str, command: str, threads: int | None = None) -> dict:
    """Where and how the numbers were measured: git commit (short) and whether the tree had
    uncommitted changes, UTC date, machine (platform, cores, CPU model, load average at the
    start), torch version, torch's threads, the device and the command line."""
    device = torch.device(device)
    commit = _git("rev-parse", "--short", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    load = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
    cores = os.cpu_count()
    machine = f"{platform.system()} {platform.machine()}, {cores} CPU cores, {_cpu_model()}"
    if load is not None:
        machine += f", load {load[0]:.2f} at start"
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {"commit": commit, "dirty": None if status is None else bool(status),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": machine, "platform": platform.platform(), "cpu_cores": cores, "cpu_model": _cpu_model(),
            "load_average": load, "gpu": gpu, "python": platform.python_version(), "torch": torch.__version__,
            "threads": torch.get_num_threads() if threads is None or device.type != "cpu" else threads,
            "device": device.type, "command": command}


# --- the run -----------------------------------------------------------------------------

def _child_command(key: str, seed: int, data: str, device: torch.device, data_dir, threads: int | None) -> list[str]:
    """The child's command line; it takes the entry's own settings for `data` (as the parent did)."""
    cmd = [sys.executable, "-m", "coursekit.evaluation.suite", "--child", "--entry", key, "--seed", str(seed),
           "--data", data, "--device", str(device), "--entries-module", ENTRIES_MODULE]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    return cmd


def _measure_in_child(key: str, seed: int, data: str, device: torch.device, data_dir,
                      threads: int | None = DEFAULT_THREADS) -> list[dict]:
    """`measure` in a fresh Python process (its peak memory is the job's); a RuntimeError with the
    tail of its stderr if it fails."""
    done = subprocess.run(_child_command(key, seed, data, device, data_dir, threads), capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(_CHILD_MARK)]
    if done.returncode != 0 or len(lines) != 1:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-25:])
        raise RuntimeError(f"the child process exited with {done.returncode}:\n{tail}")
    return json.loads(lines[0][len(_CHILD_MARK):])


def _order(runs: list[dict], keys: Sequence[str]) -> list[dict]:
    """Runs in course order: by entry (registered order, unknown entries last), then seed, keeping
    the variants' order within a job."""
    rank = {key: i for i, key in enumerate(keys)}
    indexed = list(enumerate(runs))
    indexed.sort(key=lambda item: (rank.get(item[1]["entry"], len(rank)), item[1]["entry"] if item[1]["entry"]
                                   not in rank else "", item[1]["seed"], item[0]))
    return [row for _, row in indexed]


def _write(out: Path, results: dict) -> None:
    with atomic_write(out, "w") as f:
        f.write(json.dumps(results, indent=1, ensure_ascii=False) + "\n")


def _done(runs: list[dict], key: str, seed: int, data: str, device: str, digest: str) -> bool:
    rows = [r for r in runs if r["entry"] == key and r["seed"] == seed]
    return bool(rows) and all(r["data"] == data and r["device"] == device and r["settings_hash"] == digest
                              for r in rows)


def _run_threads(device: torch.device, threads: int | None) -> int | None:
    """The torch threads a job of this run uses on the CPU (None on another device: not compared)."""
    if device.type != "cpu":
        return None
    return torch.get_num_threads() if threads is None else threads


def _conditions(device: torch.device, threads: int | None) -> str:
    n = _run_threads(device, threads)
    return device.type + ("" if n is None else f", {n} thread(s)")


def _same_conditions(row: dict, device: torch.device, threads: int | None) -> bool:
    """Whether `row` was measured on this run's device type (and, on the CPU, its thread count)."""
    if row.get("device") != device.type:
        return False
    n = _run_threads(device, threads)
    return n is None or (row.get("provenance") or {}).get("threads") == n


def _progress(total: int, enabled: bool):
    from ..training.loop import _progress_bar   # the course's one bar (a display update in Jupyter, no widget)

    return _progress_bar(total=total, desc="benchmark", unit="job", disable=not enabled, leave=True)


def run(keys: Iterable[str] | None = None, seeds: Iterable[int] = (0, 1, 2), *, data: str = "digits",
        device: str | torch.device = "auto", data_dir: str | os.PathLike | None = None,
        out: str | os.PathLike | None = None, fresh: bool = False, subprocess: bool = True, progress: bool = True,
        command: str | None = None, threads: int | None = DEFAULT_THREADS) -> SuiteResults:
    """Measure entries `keys` (default: all, in course order) × `seeds`; the results dict.

    A job (entry, seed) is pending unless `out` already holds its rows with the same data, device
    type and settings hash (`fresh=True` redoes them all); rows of other entries and seeds in
    `out` are kept, except a selected entry's rows measured with other settings than its current
    ones, or on another device type or (on the CPU) thread count than this run's (dropped, with a
    printed notice, so no mean mixes two settings or two machines' conditions). Each job runs in a child process of its own (`subprocess=False`: in this
    process, as lecture 09's quick recompute does; peak memory is then this process's), and
    `out` is rewritten atomically after each finished job, so an interruption loses at most the
    running job. A failing job prints its error and is not written; the others go on, and it is
    listed in the result's `failed`. Entries without settings for `data` are skipped, with a
    printed reason. With nothing pending, `out` is not rewritten.
    """
    known = entries()
    if not known:
        raise RuntimeError(f"no benchmark entries are registered (importing {ENTRIES_MODULE} registered none)")
    keys = list(known) if keys is None else list(dict.fromkeys(keys))
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise KeyError(f"unknown benchmark entr{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}; "
                       f"the entries are: {', '.join(known)}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    if data not in ("digits", "mnist"):
        raise ValueError(f"data must be 'digits' or 'mnist', got {data!r}")
    if data == "mnist" and data_dir is None:
        raise ValueError("--data mnist needs --data-dir DIR, the folder with the MNIST IDX files")
    device = resolve_device(device)
    command = command or f"coursekit.evaluation.suite.run(keys={keys!r}, seeds={seeds!r}, data={data!r})"
    out = None if out is None else Path(out)

    results = SuiteResults()
    if out is not None and out.is_file() and not fresh:
        results.update(load_results(out))
        if results.get("data") != data:
            raise ValueError(f"{out} holds results on {results.get('data')!r}, not {data!r}: give another --out, "
                             f"or --fresh to start it anew")
    elif out is not None and out.is_file():
        old = load_results(out)
        if old.get("data") == data:   # --fresh redoes the selected jobs and keeps every other row
            results["runs"] = [r for r in old.get("runs", []) if not (r["entry"] in keys and r["seed"] in seeds)]
    runs = list(results.get("runs", []))

    jobs = []
    for key in keys:
        entry = known[key]
        try:
            settings = entry.settings_for(data)
        except ValueError as err:
            print(f"skipping {key}: {err}", file=sys.stderr)
            continue
        digest = settings_hash(settings)
        stale = sorted({r["seed"] for r in runs if r["entry"] == key and r["settings_hash"] != digest})
        if stale:   # measured with other settings: not to be averaged with the new ones
            print(f"dropping {key}'s rows of seed(s) {', '.join(map(str, stale))}: measured with other settings "
                  f"than the entry's current ones", file=sys.stderr)
            runs = [r for r in runs if not (r["entry"] == key and r["settings_hash"] != digest)]
        elsewhere = sorted({r["seed"] for r in runs if r["entry"] == key and not _same_conditions(r, device, threads)})
        if elsewhere:   # measured on another device type or thread count: not to be averaged with this run's
            print(f"dropping {key}'s rows of seed(s) {', '.join(map(str, elsewhere))}: measured on another device "
                  f"or with other threads than this run's ({_conditions(device, threads)})", file=sys.stderr)
            runs = [r for r in runs if not (r["entry"] == key and not _same_conditions(r, device, threads))]
        for seed in seeds:
            if fresh or not _done(runs, key, seed, data, device.type, digest):
                jobs.append((key, seed, settings))
    if not jobs:   # all done (or all skipped): nothing is measured, and `out` is rewritten only if rows were dropped
        results.setdefault("format", FORMAT)
        results.setdefault("data", data)
        dropped = len(runs) != len(results.get("runs", []))
        results["runs"] = _order(runs, list(known)) if dropped else results.get("runs", [])
        if dropped and out is not None:
            _write(out, results)
        return results

    splits = _splits(data, data_dir)
    results.update({"format": FORMAT, "data": data, **references(splits, _classifier(splits, data, device)),
                    "intro_dgm": [dict(r) for r in INTRO_DGM] if data == "digits" else [],
                    "intro_dgm_note": INTRO_DGM_NOTE if data == "digits" else "",
                    "provenance": provenance(device, command, threads)})
    results["runs"] = _order(runs, list(known))
    if out is not None:
        _write(out, results)
    bar = _progress(len(jobs), progress)
    try:
        for key, seed, settings in jobs:
            bar.set_postfix_str(f"{key} seed {seed}")
            rows = None
            try:
                if subprocess:
                    rows = _measure_in_child(key, seed, data, device, data_dir, threads)
                else:
                    rows = measure(key, seed, data=data, device=device, data_dir=data_dir, settings=settings,
                                   threads=threads)
            except Exception as err:  # noqa: BLE001 - one failing job must not stop the others: it is kept in
                # `failed`, said below, and `python -m benchmarks` exits 1 at the end
                message = str(err) if subprocess else "".join(traceback.format_exception(err)[-6:]).strip()
                results.failed.append((key, seed, message))
            if rows is None:
                bar.write(f"benchmark job {key} seed {seed} FAILED (not written):\n{results.failed[-1][2]}",
                          file=sys.stderr)
                bar.update(1)
                continue
            prov = provenance(device, command, threads)
            for row in rows:
                row["provenance"] = prov
            runs = [r for r in runs if not (r["entry"] == key and r["seed"] == seed)] + rows
            results["runs"] = _order(runs, list(known))
            if out is not None:
                _write(out, results)
            bar.update(1)
    finally:
        bar.close()
    return results


# --- reading the results -----------------------------------------------------------------

def load_results(path: str | os.PathLike | None = None) -> dict:
    """The results dict from `path`, or from `benchmarks/results.json` in the current directory or
    the nearest folder above it that has one (a lecture runs in notebooks/)."""
    if path is None:
        here = Path.cwd().resolve()
        for folder in (here, *here.parents):
            if (folder / RESULTS).is_file():
                path = folder / RESULTS
                break
        else:
            raise FileNotFoundError(f"no {RESULTS} in {here} or any folder above it: run `python -m benchmarks "
                                    f"--quick` in the course's folder to measure them (or pass the path)")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results file {path}: run `python -m benchmarks --quick` to measure them")
    results = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(results, dict) or results.get("format") != FORMAT or not isinstance(results.get("runs"), list):
        raise ValueError(f"{path} is not a benchmark results file of format {FORMAT} (a dict with 'format' and "
                         f"'runs'); regenerate it with `python -m benchmarks`")
    return results


def summarise(results: dict) -> list[dict]:
    """One dict per row key, in course order (the order of results["runs"]): its labels, `n_seeds`
    and `seeds`, and `<number>_mean`, `<number>_sd` (sample standard deviation; 0 with one seed;
    None where the number does not exist) and `<number>_n_seeds` (how many seeds have it; not
    `<number>_n`, which `frechet_n` already is) for bits_per_dim, nats, frechet, coverage,
    train_seconds, sample_seconds_100, parameters and peak_memory_mib."""
    groups: dict[str, list[dict]] = {}
    for row in results.get("runs", []):
        groups.setdefault(row["key"], []).append(row)
    summary = []
    for key, rows in groups.items():
        rows = sorted(rows, key=lambda r: r["seed"])
        first = rows[0]
        item = {name: first.get(name) for name in ("key", "entry", "name", "family", "lecture", "likelihood",
                                                   "bound", "data", "frechet_n", "coverage_k")}
        item.update({"n_seeds": len(rows), "seeds": [r["seed"] for r in rows],
                     "devices": sorted({r["device"] for r in rows}), "sources": sorted({r["source"] for r in rows}),
                     "notes": "; ".join(dict.fromkeys(r["notes"] for r in rows if r.get("notes")))})
        for name in _NUMBERS:
            values = [float(r[name]) for r in rows if r.get(name) is not None]
            item[f"{name}_mean"] = statistics.fmean(values) if values else None
            item[f"{name}_sd"] = (statistics.stdev(values) if len(values) > 1 else 0.0) if values else None
            item[f"{name}_n_seeds"] = len(values)
        summary.append(item)
    return summary


def _decimals(value: float, significant: int = 3) -> int:
    if value == 0 or not math.isfinite(value):
        return 0
    return max(0, min(4, significant - 1 - math.floor(math.log10(abs(value)))))


def _cell(mean: float | None, sd: float | None, n: int, decimals: int | None = None) -> str:
    if mean is None:
        return "—"
    d = _decimals(mean) if decimals is None else decimals
    return f"{mean:.{d}f}" if n < 2 else f"{mean:.{d}f} ± {sd:.{d}f}"


def _number_cell(item: dict, name: str, decimals: int | None = None) -> str:
    """`name`'s mean ± sd, saying over how many seeds where fewer of the row's seeds have the number."""
    n = item.get(f"{name}_n_seeds", item["n_seeds"])
    cell = _cell(item[f"{name}_mean"], item[f"{name}_sd"], n, decimals)
    if cell != "—" and n < item["n_seeds"]:
        cell += f" ({n} seed{'s' if n != 1 else ''})"
    return cell


def _bits_cell(item: dict) -> str:
    if item["bits_per_dim_mean"] is None:
        return "—"
    number = _number_cell(item, "bits_per_dim", 3)
    if item["likelihood"] == "exact":
        return f"{number} (exact)"
    bound = item["bound"]
    # no parentheses inside parentheses where the bound's name holds some
    return f"≤ {number}, {bound}" if "(" in str(bound) or "(" in number else f"≤ {number} ({bound})"


def markdown_table(results: dict, source: str | os.PathLike = RESULTS) -> str:
    """The results as Markdown: one line per row key in course order (mean ± sample sd over the
    seeds), the references on the same split, the intro_dgm rows (labelled: not rerun), and the
    provenance line naming `source` (the file the table was generated from)."""
    summary = summarise(results)
    ns = {item["frechet_n"] for item in summary if item["frechet_n"] is not None}
    fd_head = f"FD (n = {ns.pop()})" if len(ns) == 1 else "FD"
    lines = [f"| model | lecture | bits/dim | {fd_head} | coverage (k = {COVERAGE_K}) | train s | s / 100 samples | "
             "parameters | peak MiB | seeds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for item in summary:
        fd = _number_cell(item, "frechet", 1)
        if fd != "—" and fd_head == "FD":
            fd += f" (n = {item['frechet_n']})"
        params = "—" if item["parameters_mean"] is None else f"{round(item['parameters_mean']):,}"
        name = item["name"] + (" ¹" if "checkpoint" in item["sources"] else "")
        lines.append(f"| {name} | {item['lecture']} | {_bits_cell(item)} | {fd} | "
                     f"{_number_cell(item, 'coverage', 2)} | "
                     f"{_number_cell(item, 'train_seconds', 0 if (item['train_seconds_mean'] or 0) >= 10 else 1)} | "
                     f"{_number_cell(item, 'sample_seconds_100')} | "
                     f"{params} | {_number_cell(item, 'peak_memory_mib', 0)} | "
                     f"{item['n_seeds']} |")
    lines.append("")
    lines.append("Mean ± sample standard deviation over the seeds (a number that fewer of the row's seeds have "
                 "says over how many). bits/dim on the test split: exact, or an upper bound (≤) named after it; FD: "
                 f"Fréchet distance of {SAMPLES} samples to the test images in the evaluation classifier's features "
                 f"(lower is better); coverage: share of test images whose {COVERAGE_K}-NN ball holds a sample "
                 f"(higher is better). FD and coverage use {SAMPLES} test images. s / 100 samples is the median of "
                 f"{DRAWS} timed draws of {SAMPLES // DRAWS}. peak MiB is the job process's peak resident memory on "
                 "the CPU (torch's peak allocation on CUDA), of which Python, torch and the evaluation classifier "
                 "take about as much as the floor row shows.")
    notes = list(dict.fromkeys(item["notes"] for item in summary if "checkpoint" in item["sources"] and item["notes"]))
    if any("checkpoint" in item["sources"] for item in summary):
        lines.append("")
        lines.append("¹ Weights from the lecture's committed checkpoint for one seed" +
                     (": " + "; ".join(notes) if notes else "") + ".")
    split, refs = results.get("split"), results.get("references")
    if split and refs:
        fd, cov = refs["frechet"], refs["coverage"]
        lines.append("")
        lines.append(f"References on the same test split ({split['examples']} images, {split['dims']} dimensions, "
                     f"{split['levels']} levels): uniform {refs['uniform_bits_per_dim']:.3f} bits/dim; per-pixel "
                     f"floor {refs['floor_bits_per_dim']:.3f} bits/dim; FD (n = {fd['n']}) of real training images "
                     f"{fd['real']:.1f}, floor samples {fd['floor']:.1f}, noise {fd['noise']:.1f}; coverage "
                     f"{cov['real']:.2f}, {cov['floor']:.2f} and {cov['noise']:.2f}.")
    if results.get("intro_dgm"):
        lines.append("")
        same = results["intro_dgm"] == [dict(r) for r in INTRO_DGM]      # the same numbers: the note's current wording
        lines.append(f"For comparison, {INTRO_DGM_NOTE if same else results.get('intro_dgm_note') or INTRO_DGM_NOTE}:")
        lines.append("")
        lines.append("| model | measure | bits/dim |")
        lines.append("|---|---|---|")
        for row in results["intro_dgm"]:
            lines.append(f"| {row['name']} | {row['measure']} | {row['bits_per_dim']} |")   # as measured then
    prov = results.get("provenance") or {}
    if prov:
        lines.append("")
        lines.append(f"Generated from {Path(source).as_posix()}; its rows were measured by "
                     f"{_invocations(results, prov)}.")
    return "\n".join(lines) + "\n"


def _invocations(results: dict, latest: dict) -> str:
    """Each command that measured rows of `results` (a resumed file holds several), oldest first: how many
    (entry, seed) jobs it measured, when, at which commits, on which machine, torch and threads."""
    groups: dict[tuple, list[dict]] = {}
    for row in results.get("runs", []):
        p = row.get("provenance") or latest
        key = (p.get("command"), p.get("cpu_cores"), p.get("cpu_model"), p.get("gpu"), p.get("torch"),
               p.get("threads"), p.get("device"))
        groups.setdefault(key, []).append({**p, "job": (row.get("entry"), row.get("seed"))})
    if not groups:
        groups[(latest.get("command"), latest.get("cpu_cores"), latest.get("cpu_model"), latest.get("gpu"),
                latest.get("torch"), latest.get("threads"), latest.get("device"))] = [{**latest, "job": None}]
    parts = []
    for (command, cores, cpu, gpu, torch_version, threads, device), provs in sorted(
            groups.items(), key=lambda item: min(str(p.get("date")) for p in item[1])):
        dates = sorted(str(p.get("date")) for p in provs)
        commits = list(dict.fromkeys(str(p.get("commit") or "unknown") for p in sorted(provs, key=lambda p: str(p.get("date")))))
        dirty = any(p.get("dirty") for p in provs)
        jobs = len({p["job"] for p in provs if p["job"] is not None})
        when = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
        commit = commits[0] if len(commits) == 1 else f"{commits[0]} to {commits[-1]}"
        where = f"{gpu}" if gpu else f"{cores} CPU cores ({cpu})"
        parts.append(f"`{command}` ({jobs} job{'s' if jobs != 1 else ''}, {when}, commit {commit}"
                     f"{' with uncommitted changes' if dirty else ''}; {where}, torch {torch_version} on {threads} "
                     f"thread(s), {device})")
    return "; then ".join(parts)


def update_readme(readme_path: str | os.PathLike, results: dict, source: str | os.PathLike = RESULTS) -> bool:
    """Replace the text between README_START and README_END in `readme_path` with
    `markdown_table(results)`; True if the file changed. A ValueError if the markers are missing."""
    path = Path(readme_path)
    text = path.read_text(encoding="utf-8")
    new = with_marked_section(text, README_START, README_END, markdown_table(results, source),
                              f"{path} (around the benchmark table)")
    if new == text:
        return False
    with atomic_write(path, "w") as f:
        f.write(new)
    os.chmod(path, 0o644)
    return True


def readme_section(readme_path: str | os.PathLike) -> str:
    """The text between README_START and README_END in `readme_path` (what `update_readme` wrote)."""
    return marked_section(Path(readme_path).read_text(encoding="utf-8"), README_START, README_END, str(readme_path))


# --- the child process -------------------------------------------------------------------

def _child(argv: Sequence[str] | None = None) -> int:
    global ENTRIES_MODULE
    parser = argparse.ArgumentParser(prog="python -m coursekit.evaluation.suite",
                                     description="Measure one benchmark entry and seed; print its rows as one JSON line "
                                                 "(what `run` starts; use `python -m benchmarks`).")
    parser.add_argument("--child", action="store_true", required=True)
    parser.add_argument("--entry", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--data", default="digits")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir")
    parser.add_argument("--settings")
    parser.add_argument("--entries-module", default=ENTRIES_MODULE)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    ENTRIES_MODULE = args.entries_module
    settings = None if args.settings is None else json.loads(args.settings)
    rows = measure(args.entry, args.seed, data=args.data, device=args.device, data_dir=args.data_dir,
                   settings=settings, threads=args.threads)
    sys.stdout.flush()
    print(_CHILD_MARK + json.dumps(rows, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child())
