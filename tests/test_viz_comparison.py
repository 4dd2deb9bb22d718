"""Lecture 09's pictures and widgets, drawn from `suite.summarise` rows of a results dict made up here (the fixture:
made-up numbers that only exercise the drawing, never committed as results). They only draw, so the tests check
that what is drawn is what the rows say: where each point and bar sits, which markers are open (bounds), which
rows a sorted and filtered table lists."""
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba

from coursekit.evaluation import suite
from coursekit.viz.comparison import (OKABE_ITO, TABLE_COLUMNS, family_styles, likelihood_quality_figure,
                                      noise_dilution_slider, results_table_widget, sampling_speed_figure, statistic,
                                      trilemma_measured_figure)

# key, name, family, likelihood, bound, bits/dim, FD, coverage, s per 100 samples (seed 0; seed 1 adds a little)
_ROWS = [
    ("floor", "Floor", "independent", "exact", None, 2.40, 112.0, 0.30, 0.002),
    ("fvsbn", "FVSBN", "autoregressive", "exact", None, 2.10, 29.0, 0.70, 0.03),
    ("pixelcnn", "PixelCNN <b>", "autoregressive", "exact", None, 1.98, 22.0, 0.80, 0.2),
    ("vae-elbo", "VAE (−ELBO)", "VAE", "bound", "elbo", 2.18, 45.0, 0.60, 0.003),
    ("dcgan", "DCGAN", "GAN", "none", None, None, 18.0, 0.55, 0.004),
    ("ddpm", "DDPM", "diffusion", "bound", "diffusion", 2.33, 15.0, 0.85, 20.0),
]
_REFERENCES = {"uniform_bits_per_dim": 4.087, "floor_bits_per_dim": 2.398,
               "frechet": {"n": 400, "real": 7.1, "floor": 112.4, "noise": 179.6},
               "coverage": {"real": 0.95, "floor": 0.30, "noise": 0.0}}


@pytest.fixture
def results():
    runs = []
    for seed in (0, 1):
        for key, name, family, likelihood, bound, bpd, fd, cov, s100 in _ROWS:
            bump = 1 + 0.02 * seed
            runs.append({"key": key, "entry": key, "name": name, "family": family, "lecture": "00", "seed": seed,
                         "data": "digits", "device": "cpu", "likelihood": likelihood, "bound": bound,
                         "bits_per_dim": None if bpd is None else bpd * bump,
                         "nats": None if bpd is None else bpd * bump * 64 * np.log(2), "frechet": fd * bump,
                         "frechet_n": 400, "coverage": cov, "coverage_k": 5, "train_seconds": 1.0, "source": "trained",
                         "notes": "", "sample_seconds_100": s100 * bump, "parameters": 100, "peak_memory_mib": 300.0})
    return {"format": 1, "data": "digits", "references": _REFERENCES, "runs": runs}


@pytest.fixture
def rows(results):
    return suite.summarise(results)


def _point(fig_axes, x, y):
    """The marker line drawn at (x, y) in any of the axes."""
    for ax in fig_axes:
        for line in ax.get_lines():
            xs, ys = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
            if len(xs) == 1 and np.isclose(xs[0], x) and np.isclose(ys[0], y) and line.get_marker() not in (None, "None"):
                return line
    raise AssertionError(f"no marker at ({x}, {y})")


def test_statistic_reads_the_mean_and_sd_of_a_summary_row(rows):
    fvsbn = rows[1]
    mean, sd = statistic(fvsbn, "bits_per_dim")
    assert mean == pytest.approx(2.10 * 1.01) and sd == pytest.approx(np.std([2.10, 2.10 * 1.02], ddof=1))
    assert statistic(rows[4], "bits_per_dim") == (None, 0.0)             # the GAN has no likelihood
    with pytest.raises(ValueError, match="no frechet_mean"):
        statistic({"key": "x"}, "frechet")


def test_likelihood_quality_draws_exact_filled_bounds_open_and_the_gan_apart(rows):
    fig = likelihood_quality_figure(rows, _REFERENCES)
    main, side = fig.axes[0], fig.axes[1]
    for r in rows:
        if r["bits_per_dim_mean"] is None:
            continue
        line = _point([main], r["bits_per_dim_mean"], r["frechet_mean"])
        is_open = to_rgba(line.get_markerfacecolor()) == to_rgba("white")
        assert is_open == (r["likelihood"] == "bound"), r["key"]
    gan = rows[4]
    _point([side], 0, gan["frechet_mean"])                                # the GAN: in the side panel, at its FD
    assert [t.get_text() for t in side.get_xticklabels()] == ["dcgan"]
    heights = {round(float(line.get_ydata()[0]), 3) for line in main.get_lines() if len(set(line.get_ydata())) == 1
               and len(line.get_ydata()) == 2 and line.get_linestyle() != "None"}
    assert {7.1, 112.4} <= heights                                        # the real and floor references as lines
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "≤ upper bound (open)" in legend and "exact bits/dim (filled)" in legend
    assert any(t.get_text() == "≤ ddpm" for t in main.texts)              # a bound's label carries ≤
    with pytest.raises(ValueError, match="no row has a Fréchet distance"):
        likelihood_quality_figure([dict(r, frechet_mean=None) for r in rows])


def test_families_get_distinct_okabe_ito_colours(rows):
    styles = family_styles(rows)
    colours = [c for c, _ in styles.values()]
    assert len(set(colours)) == len(colours) == len(styles)               # no two families share a colour
    assert set(colours) <= set(OKABE_ITO)
    assert styles["autoregressive"][0] != styles["diffusion"][0]


def test_sampling_speed_is_on_a_log_axis_grouped_by_family(rows):
    fig = sampling_speed_figure(rows)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    for r in rows:
        _point([ax], r["sample_seconds_100_mean"], _y_of(ax, r["name"]))
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == [r["name"] for r in rows]                             # top to bottom in the course's order


def _y_of(ax, name):
    labels = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    return labels[name]


def test_trilemma_panels_show_each_rows_three_numbers_and_mark_the_highlighted(rows):
    fig = trilemma_measured_figure(rows, _REFERENCES, highlight=["ddpm", "dcgan"])
    quality, coverage, speed = fig.axes[:3]
    widths = [p.get_width() for p in quality.patches]
    assert widths == pytest.approx([r["frechet_mean"] for r in rows])
    assert [p.get_width() for p in coverage.patches] == pytest.approx([r["coverage_mean"] for r in rows])
    assert speed.get_xscale() == "log"
    labels = [t.get_text() for t in quality.get_yticklabels()]
    assert "★ DDPM" in labels and "★ DCGAN" in labels and "FVSBN" in labels
    assert any(np.allclose(line.get_xdata(), 0.95) for line in coverage.get_lines())   # real digits' coverage
    with pytest.raises(ValueError, match="no samples here"):
        trilemma_measured_figure(rows, highlight=["nonexistent"])


def test_noise_dilution_slider_redraws_the_samples_and_circles_the_share(rows):
    g = torch.Generator().manual_seed(0)
    shares = (0.0, 0.5, 0.99)
    samples = {m: {s: torch.randint(0, 17, (4, 1, 8, 8), generator=g) for s in shares} for m in ("floor", "memo")}
    measured = {"floor": {0.0: (2.4, 112.0), 0.5: (2.41, 133.0), 0.99: (2.5, 177.0)},
                "memo": {0.0: (2.55, 12.0), 0.5: (2.57, 50.0), 0.99: (2.66, 174.0)}}
    box = noise_dilution_slider(samples, measured, context=rows, references=_REFERENCES, levels=17)
    before = box.image.value
    assert box.shown()["s"] == 0.0 and box.shown()["points"]["memo"] == (2.55, 12.0)
    box.sliders["s"].value = 0.99
    assert box.image.value != before
    assert box.shown()["points"] == {"floor": (2.5, 177.0), "memo": (2.66, 174.0)}
    with pytest.raises(ValueError, match=r"nothing at noise share \[0.5\]"):
        noise_dilution_slider(samples, {"floor": measured["floor"], "memo": {0.0: (1, 1), 0.99: (1, 1)}})
    with pytest.raises(ValueError, match="same models"):
        noise_dilution_slider(samples, {"floor": measured["floor"]})


def test_results_table_sorts_best_first_and_filters_by_family(rows):
    box = results_table_widget(rows)
    assert box.shown() == [r["key"] for r in rows]                        # course order at first
    box.sort.value = "Fréchet distance"
    assert box.shown() == ["ddpm", "dcgan", "pixelcnn", "fvsbn", "vae-elbo", "floor"]
    box.sort.value = "coverage"                                           # higher is better: highest first
    assert box.shown()[0] == "ddpm" and box.shown()[-1] == "floor"
    box.sort.value = "bits/dim"                                           # the GAN has none: listed last
    assert box.shown() == ["pixelcnn", "fvsbn", "vae-elbo", "ddpm", "floor", "dcgan"]
    box.families["autoregressive"].value = False
    assert box.shown() == ["vae-elbo", "ddpm", "floor", "dcgan"]
    html = box.html.value
    assert "FVSBN" not in html and "≤ 2.20" in html and "(elbo)" in html and "±" in html
    for f in box.families.values():
        f.value = False
    assert box.shown() == [] and "No family is ticked" in box.html.value
    box.families["autoregressive"].value = True
    assert "PixelCNN &lt;b&gt;" in box.html.value                          # names are escaped, not markup
    assert set(TABLE_COLUMNS) >= {"course order", "bits/dim", "coverage"}
    with pytest.raises(ValueError, match="sort must be one of"):
        results_table_widget(rows, sort="speed")
