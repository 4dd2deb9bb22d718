"""The benchmark runner (`coursekit.evaluation.suite`, `python -m benchmarks`), with tiny fake entries:
the row schema, bounds kept as bounds, resuming, failing jobs, the summary and the table, the README
section; and that README's table is the one results.json gives."""
from __future__ import annotations

import json
import statistics
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from coursekit.evaluation import floor_model, registry, suite
from coursekit.models.base import GenerativeModel

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_thread")


class Bounded(GenerativeModel):
    """The floor model with a made-up bound one nat above its exact NLL (a stand-in for an ELBO)."""

    likelihood = "bound"
    bound = "fake-bound"

    def __init__(self, floor):
        super().__init__()
        self.floor = floor

    @property
    def data_shape(self):
        return self.floor.data_shape

    @property
    def data_levels(self):
        return self.floor.data_levels

    def nll_bound(self, x):
        return -self.floor.log_prob(x) + 1.0

    def loss(self, batch):
        return self.floor.loss(batch)

    def sample(self, n):
        return self.floor.sample(n)


class NoSamples(Bounded):
    """A model with a likelihood that cannot sample."""

    likelihood = "exact"
    can_sample = False

    def log_prob(self, x):
        return self.floor.log_prob(x)

    def sample(self, n):
        raise NotImplementedError("no sampling")


def make_entry(calls: list, key: str = "fake", fail_seeds=(), interrupt_seeds=(), settings=None) -> registry.Entry:
    def fit(splits, seed, device, settings):
        calls.append((key, seed, dict(settings)))
        if seed in fail_seeds:
            raise RuntimeError(f"training diverged for seed {seed}")
        if seed in interrupt_seeds:
            raise KeyboardInterrupt
        floor = floor_model(splits.train, alpha=settings["alpha"]).to(device)
        return registry.Fitted([
            registry.Variant("fake-exact", "Fake (exact)", floor,
                             sample=lambda n, g: floor.sample(n, generator=g)),
            registry.Variant("fake-bound", "Fake (bound)", Bounded(floor)),
            registry.Variant("fake-nosamples", "Fake (no samples)", NoSamples(floor)),
        ], train_seconds=0.5 + seed)

    return registry.Entry(key=key, name="Fake", family="test", lecture="00", fit=fit,
                          settings=settings or {"alpha": 0.5}, mnist_settings=None)


@pytest.fixture
def fake(monkeypatch):
    """ENTRIES holds only the fake entry (the real ones are not imported); returns the fit calls."""
    calls: list = []
    monkeypatch.setattr(registry, "ENTRIES", {"fake": make_entry(calls)})
    monkeypatch.setattr(suite, "ENTRIES_MODULE", "coursekit.evaluation._no_such_module_for_tests")
    return calls


def test_rows_follow_the_schema_and_bounds_stay_bounds(fake, tmp_path):
    out = tmp_path / "results.json"
    results = suite.run(["fake"], [0], out=out, subprocess=False, progress=False, command="test")
    assert json.loads(out.read_text()) == dict(results) and results.failed == []
    assert results["format"] == 1 and results["data"] == "digits"
    assert results["split"] == {"name": "test", "examples": 447, "dims": 64, "levels": 17}
    refs = results["references"]
    assert refs["uniform_bits_per_dim"] == pytest.approx(4.087, abs=1e-3)
    assert refs["floor_bits_per_dim"] == pytest.approx(2.398, abs=1e-3)
    assert refs["frechet"]["n"] == 400 and refs["frechet"]["real"] < refs["frechet"]["floor"] < refs["frechet"]["noise"]
    assert refs["coverage"]["real"] > refs["coverage"]["noise"]
    assert [r["bits_per_dim"] for r in results["intro_dgm"]] == [1.946, 2.178, 2.107, 3.76, 4.95]
    assert "not rerun" in results["intro_dgm_note"]
    exact, bound, nosamples = results["runs"]
    expected = {"key", "entry", "name", "family", "lecture", "seed", "data", "device", "likelihood", "bound",
                "bits_per_dim", "nats", "frechet", "frechet_n", "coverage", "coverage_k", "train_seconds", "source",
                "notes", "sample_seconds_100", "parameters", "peak_memory_mib", "settings", "settings_hash",
                "provenance"}
    for row in results["runs"]:
        assert set(row) == expected
        assert (row["entry"], row["seed"], row["data"], row["device"]) == ("fake", 0, "digits", "cpu")
        assert row["settings"] == {"alpha": 0.5} and row["settings_hash"] == suite.settings_hash({"alpha": 0.5})
        assert row["train_seconds"] == 0.5 and row["source"] == "trained" and row["peak_memory_mib"] > 10
        assert set(row["provenance"]) >= {"commit", "dirty", "date", "machine", "torch", "threads", "command"}
        assert row["provenance"]["command"] == "test"
    assert exact["likelihood"] == "exact" and exact["bound"] is None
    assert exact["bits_per_dim"] == pytest.approx(refs["floor_bits_per_dim"])   # the floor model is the floor
    assert bound["likelihood"] == "bound" and bound["bound"] == "fake-bound"
    assert bound["nats"] == pytest.approx(exact["nats"] + 1.0)
    for row in (exact, bound):
        assert row["frechet_n"] == 400 and row["coverage_k"] == 5 and 0 < row["coverage"] < 1
        assert row["frechet"] == pytest.approx(refs["frechet"]["floor"], rel=0.5)
        assert row["sample_seconds_100"] > 0
    assert nosamples["frechet"] is None and nosamples["coverage"] is None and nosamples["sample_seconds_100"] is None
    table = suite.markdown_table(results)
    assert "≤ " in table.splitlines()[3] and "(fake-bound)" in table.splitlines()[3]
    assert "(exact)" in table.splitlines()[2] and "≤" not in table.splitlines()[2]


def test_a_dequantised_model_is_reported_as_a_bound(monkeypatch):
    """A model of real values (data_levels None) declaring 'exact' gets evaluate_model's dequantised
    bound: its row says 'bound', never 'exact'."""

    class Continuous(NoSamples):
        @property
        def data_levels(self):
            return None

        def log_prob(self, y):                      # a density on [0, 1)^D: uniform, log p = 0
            return torch.zeros(y.shape[0])

    def fit(splits, seed, device, settings):
        return registry.Fitted([registry.Variant("flow", "Flow", Continuous(floor_model(splits.train)))], 1.0)

    monkeypatch.setattr(registry, "ENTRIES", {"flow": registry.Entry("flow", "Flow", "flow", "06", fit)})
    monkeypatch.setattr(suite, "ENTRIES_MODULE", "coursekit.evaluation._no_such_module_for_tests")
    (row,) = suite.measure("flow", 0, device="cpu")
    assert row["likelihood"] == "bound" and row["bound"] == "dequantised"
    assert row["bits_per_dim"] == pytest.approx(suite.math.log2(17))


def test_a_second_run_resumes_and_a_settings_change_or_fresh_reruns(fake, tmp_path, monkeypatch, capsys):
    out = tmp_path / "results.json"
    suite.run(["fake"], [0], out=out, subprocess=False, progress=False)
    assert [(k, s) for k, s, _ in fake] == [("fake", 0)]
    again = suite.run(["fake"], [0], out=out, subprocess=False, progress=False)
    assert len(fake) == 1 and len(again["runs"]) == 3                 # nothing retrained
    suite.run(["fake"], [0, 1], out=out, subprocess=False, progress=False)
    assert [s for _, s, _ in fake] == [0, 1]                          # only the new seed
    suite.run(["fake"], [0, 1], out=out, subprocess=False, progress=False, fresh=True)
    assert [s for _, s, _ in fake] == [0, 1, 0, 1]
    monkeypatch.setitem(registry.ENTRIES, "fake", make_entry(fake, settings={"alpha": 1.0}))
    results = suite.run(["fake"], [0], out=out, subprocess=False, progress=False)
    assert fake[-1] == ("fake", 0, {"alpha": 1.0}) and len(fake) == 5
    # seed 1's rows, measured with the old settings, are dropped rather than averaged with the new
    assert {(r["seed"], r["settings_hash"]) for r in results["runs"]} == {(0, suite.settings_hash({"alpha": 1.0}))}
    assert len(results["runs"]) == 3
    assert "dropping fake's rows of seed(s) 0, 1: measured with other settings" in capsys.readouterr().err
    # --fresh on seed 0 keeps seed 1's (current) rows
    suite.run(["fake"], [1], out=out, subprocess=False, progress=False)
    results = suite.run(["fake"], [0], out=out, subprocess=False, progress=False, fresh=True)
    assert [s for _, s, _ in fake[-2:]] == [1, 0] and sorted({r["seed"] for r in results["runs"]}) == [0, 1]


def test_rows_of_another_device_or_thread_count_are_dropped_not_averaged(fake, tmp_path, capsys):
    out = tmp_path / "results.json"
    suite.run(["fake"], [0, 1], out=out, subprocess=False, progress=False)
    saved = json.loads(out.read_text())
    for row in saved["runs"]:
        if row["seed"] == 1:   # seed 1 as if measured on a GPU
            row["device"] = "cuda"
    out.write_text(json.dumps(saved))
    results = suite.run(["fake"], [0], out=out, subprocess=False, progress=False)
    assert {(r["seed"], r["device"]) for r in results["runs"]} == {(0, "cpu")}
    assert "dropping fake's rows of seed(s) 1: measured on another device" in capsys.readouterr().err
    # a run with 2 threads does not average with rows measured on 1 (and redoes the selected seed)
    fake.clear()
    results = suite.run(["fake"], [1], out=out, subprocess=False, progress=False, threads=2)
    assert [s for _, s, _ in fake] == [1] and {r["seed"] for r in results["runs"]} == {1}
    assert {r["provenance"]["threads"] for r in results["runs"]} == {2}
    assert "dropping fake's rows of seed(s) 0: measured on another device or with other threads" in \
        capsys.readouterr().err


def test_a_failing_job_is_not_written_and_the_others_go_on(fake, tmp_path, monkeypatch, capsys):
    out = tmp_path / "results.json"
    monkeypatch.setitem(registry.ENTRIES, "fake", make_entry(fake, fail_seeds=(1,)))
    results = suite.run(["fake"], [0, 1, 2], out=out, subprocess=False, progress=False)
    assert [(k, s) for k, s, _ in results.failed] == [("fake", 1)]
    assert "training diverged for seed 1" in capsys.readouterr().err
    saved = json.loads(out.read_text())
    assert sorted({r["seed"] for r in saved["runs"]}) == [0, 2]
    # an interruption (Ctrl-C in seed 2's job) keeps what finished before it
    out2 = tmp_path / "interrupted.json"
    monkeypatch.setitem(registry.ENTRIES, "fake", make_entry(fake, interrupt_seeds=(2,)))
    with pytest.raises(KeyboardInterrupt):
        suite.run(["fake"], [0, 1, 2], out=out2, subprocess=False, progress=False)
    assert sorted({r["seed"] for r in json.loads(out2.read_text())["runs"]}) == [0, 1]
    # and the next run does only the job that was lost
    fake.clear()
    monkeypatch.setitem(registry.ENTRIES, "fake", make_entry(fake))
    suite.run(["fake"], [0, 1, 2], out=out2, subprocess=False, progress=False)
    assert [s for _, s, _ in fake] == [2]


def cli():
    """benchmarks/__main__.py as a module (the course's root is not on sys.path under pytest)."""
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import __main__ as module
    finally:
        sys.path.remove(str(ROOT))
    return module


def test_unknown_keys_and_mnist_without_a_folder_are_clear_errors(fake, tmp_path, capsys):
    with pytest.raises(KeyError, match="the entries are: fake"):
        suite.run(["nope"], [0], subprocess=False, progress=False)
    main = cli().main
    for argv, message in ((["--only", "nope", "fake"], "unknown entry nope; the entries are: fake"),
                          (["--data", "mnist"], "--data mnist needs --data-dir"),
                          (["--quick", "--seeds", "2"], "either --quick or --seeds")):
        with pytest.raises(SystemExit) as exit_:
            main([*argv, "--out", str(tmp_path / "r.json")])
        assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_mnist_with_no_configured_entry_is_a_parser_error_and_run_errors_exit_2(fake, tmp_path, capsys, monkeypatch):
    main = cli().main
    out = tmp_path / "r.json"
    with pytest.raises(SystemExit) as exit_:
        main(["--data", "mnist", "--data-dir", str(tmp_path), "--only", "fake", "--quick", "--out", str(out)])
    assert exit_.value.code == 2
    assert "no selected entry has an MNIST configuration: fake" in capsys.readouterr().err
    assert not out.exists() and not out.with_suffix(".md").exists()
    # an error of suite.run (missing data files, a results file of another format) is said without a traceback
    out.write_text(json.dumps({"format": 1, "data": "mnist", "runs": []}))
    assert main(["--quick", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "holds results on 'mnist', not 'digits'" in err and "Traceback" not in err

    def missing(*args, **kwargs):
        raise FileNotFoundError("no MNIST IDX files in DIR")

    monkeypatch.setattr(suite, "run", missing)
    assert main(["--quick", "--out", str(out), "--no-progress"]) == 2
    assert "no MNIST IDX files in DIR" in capsys.readouterr().err


def test_run_reads_an_existing_results_file_through_load_results(fake, tmp_path):
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"rows": []}))
    for fresh in (False, True):
        with pytest.raises(ValueError, match="is not a benchmark results file of format 1"):
            suite.run(["fake"], [0], out=out, subprocess=False, progress=False, fresh=fresh)
    assert fake == [] and json.loads(out.read_text()) == {"rows": []}


def test_readme_without_training_when_all_is_done_and_exit_1_on_a_failed_job(fake, tmp_path, monkeypatch, capsys):
    module = cli()
    monkeypatch.setattr(module, "ROOT", tmp_path)
    out = tmp_path / "benchmarks" / "results.json"
    suite.run(["fake"], [0], out=out, subprocess=False, progress=False, command="python -m benchmarks --quick")
    readme = tmp_path / "README.md"
    readme.write_text(f"# Course\n\n{suite.README_START}\nold\n{suite.README_END}\n")
    fake.clear()
    assert module.main(["--quick", "--readme", "--out", str(out), "--no-progress"]) == 0
    assert fake == []                                                   # nothing retrained
    results = suite.load_results(out)
    assert suite.readme_section(readme) == suite.markdown_table(results)   # names benchmarks/results.json
    assert (tmp_path / "benchmarks" / "results.md").read_text() == suite.markdown_table(results)
    assert "README.md's benchmark table rewritten" in capsys.readouterr().out

    def failing_run(*args, **kwargs):
        results = suite.SuiteResults(hand_results())
        results.failed.append(("nade", 1, "boom"))
        return results

    monkeypatch.setattr(suite, "run", failing_run)
    assert module.main(["--quick", "--out", str(out), "--no-progress"]) == 1
    assert "1 job(s) failed and were not written: nade seed 1" in capsys.readouterr().err


def test_entries_without_mnist_settings_are_skipped_with_a_reason(fake, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(suite, "_splits", lambda data, data_dir: pytest.fail("nothing should be loaded"))
    monkeypatch.setattr(suite, "references", lambda splits, clf: {})
    monkeypatch.setattr(suite, "_classifier", lambda splits, data, device: None)
    results = suite.run(["fake"], [0], data="mnist", data_dir=tmp_path, subprocess=False, progress=False)
    assert results["runs"] == [] and fake == []
    assert "skipping fake: Fake (lecture 00) has no MNIST configuration" in capsys.readouterr().err


def hand_results() -> dict:
    """A results file written by hand: two seeds of an exact row, one of a bound, one without a likelihood."""
    prov = {"commit": "abc1234", "dirty": False, "date": "2026-12-01T04:00:00Z", "machine": "Linux x86_64, 2 CPU cores",
            "cpu_cores": 2, "cpu_model": "AMD EPYC", "gpu": None, "torch": "2.13.0+cpu", "threads": 1, "device": "cpu",
            "command": "python -m benchmarks --quick"}

    def row(key, name, seed, likelihood, bound, bpd, fd, cov, train, s100, params, mib, source="trained"):
        return {"key": key, "entry": key.split("-")[0], "name": name, "family": "f", "lecture": "02", "seed": seed,
                "data": "digits", "device": "cpu", "likelihood": likelihood, "bound": bound, "bits_per_dim": bpd,
                "nats": None if bpd is None else bpd * 64 * suite.math.log(2), "frechet": fd, "frechet_n": 400,
                "coverage": cov, "coverage_k": 5, "train_seconds": train, "source": source, "notes": "",
                "sample_seconds_100": s100, "parameters": params, "peak_memory_mib": mib, "settings": {},
                "settings_hash": "00000000", "provenance": prov}

    return {"format": 1, "data": "digits", "split": {"name": "test", "examples": 447, "dims": 64, "levels": 17},
            "references": {"uniform_bits_per_dim": 4.087, "floor_bits_per_dim": 2.398,
                           "frechet": {"n": 400, "real": 7.1, "floor": 112.4, "noise": 179.6},
                           "coverage": {"n": 400, "k": 5, "real": 0.84, "floor": 0.18, "noise": 0.07}},
            "intro_dgm": [dict(r) for r in suite.INTRO_DGM], "intro_dgm_note": suite.INTRO_DGM_NOTE,
            "provenance": prov,
            "runs": [row("nade", "NADE", 0, "exact", None, 2.0, 20.0, 0.5, 10.0, 0.012, 1234, 300.0),
                     row("nade", "NADE", 1, "exact", None, 2.2, 24.0, 0.7, 14.0, 0.014, 1234, 310.0),
                     row("vae-iwae", "VAE (IWAE-1000)", 0, "bound", "iwae-1000", 2.104, 30.0, 0.6, 5.0, 0.0005,
                         98765, 400.0),
                     row("dcgan", "DCGAN", 0, "none", None, None, 16.6, 0.8, 120.0, 0.002, 50000, 500.0,
                         source="checkpoint")]}


def test_summarise_gives_mean_sample_sd_and_seeds_in_course_order():
    nade, vae, gan = suite.summarise(hand_results())
    assert [nade["key"], vae["key"], gan["key"]] == ["nade", "vae-iwae", "dcgan"]
    assert nade["n_seeds"] == 2 and nade["seeds"] == [0, 1]
    assert nade["bits_per_dim_mean"] == pytest.approx(2.1)
    assert nade["bits_per_dim_sd"] == pytest.approx(statistics.stdev([2.0, 2.2]))     # sample sd: ÷ (n − 1)
    assert nade["bits_per_dim_sd"] == pytest.approx(((0.1 ** 2 + 0.1 ** 2) / 1) ** 0.5)
    assert nade["frechet_mean"] == 22.0 and nade["frechet_sd"] == pytest.approx(8 ** 0.5)
    assert vae["n_seeds"] == 1 and vae["bits_per_dim_sd"] == 0.0 and vae["bound"] == "iwae-1000"
    assert gan["bits_per_dim_mean"] is None and gan["bits_per_dim_sd"] is None and gan["sources"] == ["checkpoint"]


def test_markdown_table_of_a_hand_written_results_file():
    table = suite.markdown_table(hand_results())
    assert table == suite.markdown_table(hand_results())                              # deterministic
    lines = table.splitlines()
    assert lines[0].startswith("| model | lecture | bits/dim | FD (n = 400) | coverage (k = 5) |")
    assert lines[2] == ("| NADE | 02 | 2.100 ± 0.141 (exact) | 22.0 ± 2.8 | 0.60 ± 0.14 | 12 ± 3 | 0.0130 ± 0.0014 | "
                        "1,234 | 305 ± 7 | 2 |")
    assert lines[3] == "| VAE (IWAE-1000) | 02 | ≤ 2.104 (iwae-1000) | 30.0 | 0.60 | 5.0 | 0.0005 | 98,765 | 400 | 1 |"
    assert lines[4] == "| DCGAN ¹ | 02 | — | 16.6 | 0.80 | 120 | 0.0020 | 50,000 | 500 | 1 |"
    assert "uniform 4.087 bits/dim; per-pixel floor 2.398 bits/dim" in table
    assert "real training images 7.1, floor samples 112.4, noise 179.6" in table
    assert suite.INTRO_DGM_NOTE in table and "| intro_dgm VAE | IWAE | 2.107 |" in table and "| 3.76 |" in table
    assert lines[-1] == ("Generated from benchmarks/results.json; its rows were measured by `python -m benchmarks "
                         "--quick` (JOBS jobs, 2026-12-01T04:00:00Z, commit abc1234; 2 CPU cores (AMD EPYC), torch "
                         "2.13.0+cpu on 1 thread(s), cpu).".replace("JOBS", str(len({(r["entry"], r["seed"]) for r in
                                                                                   hand_results()["runs"]}))))


def test_a_number_of_fewer_seeds_says_so_and_a_parenthesised_bound_is_not_nested():
    results = hand_results()
    results["runs"][0]["train_seconds"] = None   # NADE: seed 0 from a checkpoint, nothing trained
    for row in results["runs"][:2]:
        row.update(likelihood="bound", bound="diffusion bound (all 1001 terms, T=1000)")
    nade = suite.summarise(results)[0]
    assert nade["train_seconds_n_seeds"] == 1 and nade["bits_per_dim_n_seeds"] == 2 and nade["n_seeds"] == 2
    line = suite.markdown_table(results).splitlines()[2]
    assert line == ("| NADE | 02 | ≤ 2.100 ± 0.141, diffusion bound (all 1001 terms, T=1000) | 22.0 ± 2.8 | "
                    "0.60 ± 0.14 | 14 (1 seed) | 0.0130 ± 0.0014 | 1,234 | 305 ± 7 | 2 |")
    results["runs"][1]["train_seconds"] = 12.0
    results["runs"].append({**results["runs"][1], "seed": 2, "train_seconds": 10.0})
    assert "| 11 ± 1 (2 seeds) |" in suite.markdown_table(results)


def test_the_table_says_how_times_memory_and_sample_quality_are_measured():
    table = suite.markdown_table(hand_results())
    assert "s / 100 samples is the median of 4 timed draws of 100." in table
    assert "peak MiB is the job process's peak resident memory on the CPU (torch's peak allocation on CUDA)" in table
    assert "the floor row" in table and "FD and coverage use 400 test images." in table


def test_markdown_table_names_every_command_that_measured_rows_oldest_first():
    """A resumed file holds rows of several invocations: the table names each, with its jobs and commits."""
    results = hand_results()
    later = {**results["runs"][0]["provenance"], "command": "python -m benchmarks", "commit": "def5678",
             "dirty": True, "date": "2026-12-01T05:00:00Z"}
    results["runs"][1] = {**results["runs"][1], "provenance": later}
    line = suite.markdown_table(results).splitlines()[-1]
    first, second = line.index("`python -m benchmarks --quick` ("), line.index("; then `python -m benchmarks` (1 job, ")
    assert first < second and "commit def5678 with uncommitted changes" in line[second:]
    assert "commit abc1234;" in line[first:second] and "def5678" not in line[first:second]


def test_update_readme_replaces_only_the_section_and_needs_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Course\n\nintro\n\n{suite.README_START}\nold table\n{suite.README_END}\n\n## Next\n")
    assert suite.update_readme(readme, hand_results()) is True
    text = readme.read_text()
    assert text.startswith("# Course\n\nintro\n\n") and text.endswith(f"{suite.README_END}\n\n## Next\n")
    assert suite.readme_section(readme) == suite.markdown_table(hand_results())
    assert suite.update_readme(readme, hand_results()) is False                    # already up to date
    readme.write_text("# Course\n\nno markers here\n")
    with pytest.raises(ValueError, match="benchmarks:start"):
        suite.update_readme(readme, hand_results())
    assert readme.read_text() == "# Course\n\nno markers here\n"


def test_load_results_searches_upward_and_says_how_to_make_the_file(tmp_path, monkeypatch):
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    with pytest.raises(FileNotFoundError, match="python -m benchmarks --quick"):
        suite.load_results()
    (tmp_path / "benchmarks" / "results.json").write_text(json.dumps(hand_results()))
    assert suite.load_results() == hand_results()
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a benchmark results file"):
        suite.load_results(tmp_path / "bad.json")


def test_a_job_runs_in_a_child_process(tmp_path, monkeypatch):
    """The real path: `python -m coursekit.evaluation.suite --child` in a fresh process, which imports
    the entries module it is told (here a fake one) and prints its rows."""
    (tmp_path / "fake_bench_entries.py").write_text(textwrap.dedent("""
        from coursekit.evaluation import floor_model, registry

        def fit(splits, seed, device, settings):
            if seed == 1:
                raise RuntimeError("seed one is broken")
            model = floor_model(splits.train).to(device)
            return registry.Fitted([registry.Variant("child", "Child", model)], train_seconds=0.25)

        if "child" not in registry.ENTRIES:
            registry.register(registry.Entry("child", "Child", "test", "00", fit, settings={"a": 1}))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setattr(registry, "ENTRIES", {})
    monkeypatch.setattr(suite, "ENTRIES_MODULE", "fake_bench_entries")
    sys.modules.pop("fake_bench_entries", None)
    out = tmp_path / "results.json"
    results = suite.run(None, [0, 1], out=out, progress=False, command="child test")
    (row,) = results["runs"]
    assert row["key"] == "child" and row["seed"] == 0 and row["train_seconds"] == 0.25
    assert row["bits_per_dim"] == pytest.approx(results["references"]["floor_bits_per_dim"])
    assert row["peak_memory_mib"] > 10 and row["provenance"]["command"] == "child test"
    (failed,) = results.failed
    assert failed[:2] == ("child", 1) and "seed one is broken" in failed[2]


def test_readme_table_is_generated_from_the_committed_results():
    """README.md's benchmark section is exactly what `python -m benchmarks --readme` writes from the
    committed benchmarks/results.json (fails, not skips, while that file is missing)."""
    results = suite.load_results(ROOT / "benchmarks" / "results.json")
    assert suite.readme_section(ROOT / "README.md") == suite.markdown_table(results), \
        "README.md's table is stale: run `python -m benchmarks --readme` (it retrains nothing when all is done)"


def test_the_committed_results_match_the_code():
    """benchmarks/results.json was measured with every entry's current lecture defaults, over seeds
    0, 1, 2 and every variant: a changed default without a regenerated file fails here."""
    results = suite.load_results(ROOT / "benchmarks" / "results.json")
    known = suite.entries()
    for row in results["runs"]:
        expected = suite.settings_hash(known[row["entry"]].settings_for("digits"))
        assert row["settings_hash"] == expected, (
            f"{row['key']} seed {row['seed']} was measured with settings {row['settings_hash']}, the entry's "
            f"current ones hash to {expected}: rerun `python -m benchmarks --only {row['entry']}`")
    for key in known:
        rows = [r for r in results["runs"] if r["entry"] == key]
        variants = {r["key"] for r in rows if r["seed"] == 0}
        assert variants, f"benchmarks/results.json has no seed 0 rows of entry {key}"
        for seed in (0, 1, 2):
            got = {r["key"] for r in rows if r["seed"] == seed}
            assert got == variants, f"entry {key} seed {seed} has variants {sorted(got)}, expected {sorted(variants)}"


def test_the_student_release_carries_the_results_and_no_other_benchmark_file(tmp_path):
    """Lecture 09 reads benchmarks/results.json, so the release has it; the scripts stay out."""
    import subprocess

    from coursekit.grading import build

    assert "benchmarks/results.json" in build.RELEASE_INCLUDE and "benchmarks" not in build.RELEASE_INCLUDE
    repo = tmp_path / "course"
    (repo / "benchmarks").mkdir(parents=True)
    (repo / "benchmarks" / "results.json").write_text("{}\n")
    (repo / "benchmarks" / "gan_quality.py").write_text("print(1)\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "course"]):
        subprocess.run([*git, *args], check=True)
    into = tmp_path / "into"
    into.mkdir()
    build._committed_tree(repo, into, build.RELEASE_INCLUDE)
    assert [p.relative_to(into).as_posix() for p in into.rglob("*") if p.is_file()] == ["benchmarks/results.json"]
