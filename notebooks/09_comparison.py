# %% [markdown]
# # 09 · Comparing the families
#
# **Learning objectives.** After this lecture you can
# 1. read one table of every model of the course, trained with its lecture's default parameters and measured on the **same 447 test digits** by one evaluator: test **bits/dim** (exact, or an upper bound with its name), **Fréchet distance** and **coverage** of 400 samples, seconds to draw 100 samples — and say where each number came from (commit, date, machine, command);
# 2. say why **likelihood is not sample quality** (seed 000), with the course's own models and a live demonstration: mixing a share $s$ of noise into a model costs at most $\log_2\frac{1}{1 - s}/D$ bits/dim and ruins its samples; memorising the training set makes perfect samples and a poor likelihood;
# 3. compare **sampling speed** across families on a log scale, and explain it by the number of sequential network passes per sample;
# 4. draw the **generative learning trilemma** (quality, coverage, speed) with measured numbers, find its Pareto set, and check lecture 00's qualitative picture against it;
# 5. choose a family for a task, and say what these measurements bound and what they do not.
#
# **Time:** about 45 minutes of reading; the notebook reads `benchmarks/results.json` and runs two small live demonstrations: about a quarter of a minute the first time (12.3 s wall clock, measured cold — empty model cache, default parameters — by `python benchmarks/notebook_times.py` on the 2-core machine at a load average near 1.2, its row in `benchmarks/notebook_times.json`; the course's digit classifier trains once), seconds afterwards. `RECOMPUTE = True` trains and measures four entries here instead: minutes, not seconds, on a CPU.
# **Before you start:** lecture 00 (the trilemma as a picture), 00b (bits/dim, the floor model, the Fréchet distance and its scale), 07 section 10 (the memoriser and the noisy mixture), and the lectures of the families you want to compare.

# %%
import course_setup  # Colab or a bare Jupyter: installs coursekit from this repository if it is missing

# %% tags=["parameters"]
# Parameters (papermill can override this cell). The defaults only read the committed benchmark results (`python -m benchmarks`) and run in seconds on a 2-core CPU.
RESULTS = None       # a results.json to read; None: benchmarks/results.json, found from this folder upwards
RECOMPUTE = False    # True: measure RECOMPUTE_KEYS here instead, seed SEED only, in this process (minutes on a CPU)
RECOMPUTE_KEYS = ("floor", "fvsbn", "vae", "dcgan")   # cheap entries for RECOMPUTE (every key: coursekit.evaluation.suite.entries())   GPU: None (all)
SEED = 0             # the seed of the live demonstrations (and of RECOMPUTE)
DEVICE = "auto"      # "auto" = CUDA, then Apple MPS, then CPU (RECOMPUTE's device)
DATA = "digits"      # "digits" (8×8, 17 grey levels, ships with the course) or "mnist" (28×28; with RECOMPUTE)          GPU: "mnist"
MNIST_ROOT = None    # for DATA = "mnist": the folder with the four IDX files (coursekit.data.mnist.download fetches them)
FRECHET_N = 400      # samples per Fréchet distance in the live demonstrations (the benchmark's n: only numbers at one n compare)
NOISE_SHARES = (0.0, 0.5, 0.9, 0.99, 0.999)   # the noise shares s of section 2's slider
MEMORISER_EPSILON = 1e-3                      # the memoriser's share of the floor model (lecture 07, section 10)

# %%
import math

import torch
from IPython.display import Markdown, display

from coursekit import data, evaluation, resolve_device, seed_everything, viz
from coursekit.evaluation import suite
from coursekit.models.memoriser import Memoriser, NoisyMixture
from coursekit.utils import seeded_generator
from coursekit.viz.trilemma import FAMILIES, trilemma_figure

generator = seed_everything(SEED)
device = resolve_device(DEVICE)
if RECOMPUTE:   # a quick version: seed SEED of a few entries, each trained and measured in this process
    results = suite.run(RECOMPUTE_KEYS, seeds=(SEED,), data=DATA, device=device, data_dir=MNIST_ROOT, subprocess=False,
                        command=f"lecture 09 with RECOMPUTE = True, RECOMPUTE_KEYS = {RECOMPUTE_KEYS}")
else:
    results = suite.load_results(RESULTS)
rows = suite.summarise(results)                     # one dict per row, in course order: <number>_mean, <number>_sd
row = {r["key"]: r for r in rows}
refs, split = results["references"], results["split"]
D = split["dims"]
seeds = sorted({s for r in rows for s in r["seeds"]})
print(f"{len(rows)} rows from {len(results['runs'])} runs (seeds {seeds}) on the {results['data']} {split['name']} split: "
      f"{split['examples']} images of {D} pixels, {split['levels']} levels")
by_command = {}                                     # where the numbers come from: each command, when, at which commit
for r in results["runs"]:
    by_command.setdefault(r["provenance"]["command"], []).append(r["provenance"])
for command, provs in by_command.items():
    dates = sorted(p["date"] for p in provs)
    commits = sorted({p["commit"] + (" (with uncommitted changes)" if p.get("dirty") else "") for p in provs})
    machines = sorted({p["machine"].split(", load")[0] for p in provs})
    print(f"{len(provs)} runs by `{command}`, {dates[0]} to {dates[-1]}, at commit {', '.join(commits)}; "
          f"{'; '.join(machines)}, torch {provs[0]['torch']}, {provs[0]['threads']} thread"
          f"{'s' * (provs[0]['threads'] != 1)} per job, {sorted({p.get('device', 'cpu') for p in provs})}")

# %% [markdown]
# ## 1. One table, one split, one evaluator
#
# Every number below comes from one command, `python -m benchmarks` (`--quick` for seed 0 only), which trains each model of the course with its lecture's default parameters (`coursekit.evaluation.families`: the parameters cells, copied) and measures it with one evaluator (`coursekit.evaluation.suite`). Its results, `benchmarks/results.json`, are committed with the course; this lecture reads them and recomputes nothing unless `RECOMPUTE = True`. The cell above printed which invocations measured them, when, at which commit and on which machine (a *job* trains one model at one seed and measures it, giving one *run* for each row it measures — the VAE's job gives two, −ELBO and IWAE, the DDPM's two, Algorithm 2 and DDIM; a *row* of the table averages its runs over the seeds). Say it plainly: these rows come from three invocations of `python -m benchmarks` — a quick one, a full one that resumed from it and kept its runs, and one that redid the DDPM's seed 0 — and two of them ran at commits with other files uncommitted ("with uncommitted changes" above), so those commits alone do not reproduce them exactly. The same table is in the README, generated from the same file.
#
# For each row (a model, or one model measured two ways: a VAE's −ELBO and its IWAE bound; a DDPM sampled by Algorithm 2 — DDPM's ancestral sampler, 1000 steps (Ho et al., 2020; lecture 08) — and by DDIM (Song et al., 2021)) and each seed:
# - **bits/dim** on the test digits: exact where the model has a likelihood (autoregressive models, the floor), an **upper bound** where it has a bound (the VAE's −ELBO and IWAE, the flow's dequantised bound, the VQ-VAE's bound — "elbo-delta" in the table, the ELBO with a one-code (delta) posterior and its PixelCNN prior (lecture 04d) — the diffusion bound), nothing for the GAN;
# - **Fréchet distance** of 400 samples to the test digits in the course classifier's features (00b), beside real training digits (the best to hope for at this $n$), the floor model and uniform noise;
# - **coverage** (Naeem et al., 2020): the share of 400 test digits whose neighbourhood (the ball to their 5th nearest real neighbour) holds at least one sample — 1 when no region of the data is missed, but even real training digits reach only 0.83 at this $n$ (printed by the cell below), so read a model's coverage against 0.83, not 1;
# - seconds to **draw 100 samples** (the median of 4 timed draws), seconds of training, parameters and peak memory.
#
# The β-VAE of lecture 03 is trained on sprites, not on the digits, so it has no row here.

# %%
display(Markdown(suite.markdown_table(results, source="this notebook (RECOMPUTE = True)" if RECOMPUTE else RESULTS or suite.RESULTS)))
cov = refs["coverage"]
print(f"coverage (n = {cov['n']}, k = {cov['k']}) of the references: real training digits {cov['real']:.2f}, "
      f"the floor model {cov['floor']:.2f}, uniform noise {cov['noise']:.2f}")

# %% [markdown]
# ## 2. Likelihood is not sample quality
#
# The first picture puts each row with both numbers in one plane: test bits/dim across, Fréchet distance up. Lower is better on both. An **open** marker is an upper bound: the model's true bits/dim lie somewhere to its left, so an open marker to the right of a filled one does not mean the model is worse. The GAN has no likelihood and stands apart on the right. The Fréchet axis is logarithmic, to spread the trained models apart; labels that would overlap move aside on a thin leader line. The dashed floor line (112.1) and the floor's point (107.1) differ because the line is one draw of 400 samples (the reference) and the point the table's mean over 3 seeds (± 5.2): the same model, two estimates.

# %%
with_both = [r for r in rows if r["bits_per_dim_mean"] is not None and r["frechet_mean"] is not None]
exact = [r for r in with_both if r["likelihood"] == "exact"]
best_bpd_exact = min(exact, key=lambda r: r["bits_per_dim_mean"])
best_bpd_any = min(with_both, key=lambda r: r["bits_per_dim_mean"])
with_fd = [r for r in rows if r["frechet_mean"] is not None]
best_fd = min(with_fd, key=lambda r: r["frechet_mean"])
no_likelihood = [r for r in with_fd if r["bits_per_dim_mean"] is None]
viz.show(viz.likelihood_quality_figure(rows, refs),
         alt=f"A scatter of test bits/dim (across) against Fréchet distance (up, on a log axis) for the {len(with_both)} rows with both, "
             f"filled markers for the {len(exact)} exact likelihoods, open ones for the {len(with_both) - len(exact)} upper "
             f"bounds, each labelled by its key, one colour and marker per family (Okabe–Ito colours); dotted and dashed lines at the Fréchet distance of real digits "
             f"({refs['frechet']['real']:.1f}) and of the floor model ({refs['frechet']['floor']:.1f}), and a vertical line "
             f"at the floor's {refs['floor_bits_per_dim']:.3f} bits/dim. The lowest exact bits/dim: {best_bpd_exact['name']} "
             f"({best_bpd_exact['bits_per_dim_mean']:.3f}, FD {best_bpd_exact['frechet_mean']:.1f}); the lowest Fréchet "
             f"distance: {best_fd['name']} ({best_fd['frechet_mean']:.1f}). A side panel, 'no likelihood', holds "
             + (", ".join(f"{r['name']} at FD {r['frechet_mean']:.1f}" for r in no_likelihood) or "nothing") + ".")
print(f"best exact bits/dim: {best_bpd_exact['name']} ({best_bpd_exact['bits_per_dim_mean']:.3f}); "
      f"lowest bits/dim of any kind: {best_bpd_any['name']} ({best_bpd_any['bits_per_dim_mean']:.3f}, {best_bpd_any['likelihood']})")
print(f"best Fréchet distance: {best_fd['name']} ({best_fd['frechet_mean']:.1f}; real digits {refs['frechet']['real']:.1f}, "
      f"floor {refs['frechet']['floor']:.1f}); the best exact model's: {best_bpd_exact['frechet_mean']:.1f}")


def ranks(values):
    """1 for the smallest value, 2 for the next, ... (ties share the mean rank)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    r = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(x, y):
    """Spearman's rank correlation: the correlation of the ranks."""
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))


print("by bits/dim, lowest first (≤: an upper bound):",
      ", ".join(f"{r['key']} {'≤ ' * (r['likelihood'] == 'bound')}{r['bits_per_dim_mean']:.3f}"
                for r in sorted(with_both, key=lambda r: r["bits_per_dim_mean"])))
print("by Fréchet distance, lowest first:",
      ", ".join(f"{r['key']} {r['frechet_mean']:.1f}" for r in sorted(with_fd, key=lambda r: r["frechet_mean"])))
rho_exact = spearman([r["bits_per_dim_mean"] for r in exact], [r["frechet_mean"] for r in exact])
print(f"Spearman rank correlation of bits/dim and Fréchet distance over the {len(exact)} exact rows: {rho_exact:.2f}")
FULL = {"pixelcnn", "vae-iwae", "realnvp", "dcgan", "ddpm"} <= set(row)   # the whole table: the text's claims are checked
if FULL:   # what the text below says
    assert best_bpd_exact["key"] != best_fd["key"], "the best model by bits/dim is not the best by Fréchet distance"
    assert best_fd["family"] == "diffusion", "a diffusion row has the best Fréchet distance"
    trained = [r for r in with_both if r["key"] != "floor"]
    assert max(trained, key=lambda r: r["bits_per_dim_mean"])["family"] == "diffusion", \
        "the diffusion bound is the highest bits/dim of every trained model"

# %% [markdown]
# Measured with the default parameters (the committed results, means over seeds 0, 1 and 2): the lowest bits/dim is WaveNet's exact 1.831 (the gated PixelCNN's 1.843 next — a tie, within their spread over seeds of ± 0.009 and ± 0.013), the lowest Fréchet distance the DDPM's 14.6 by Algorithm 2 (DDIM-50 17.2, the DCGAN 20.0; real digits 7.1). The two rankings disagree at both ends. The DDPM, first by Fréchet distance, has the highest bits/dim of every trained model, ≤ 2.331 — a bound, so its true value may be lower, but an upper bound cannot show it. WaveNet, first by bits/dim, is seventh by Fréchet distance (25.2), and the masked PixelCNN, third by bits/dim (1.908), has the worst Fréchet distance of the autoregressive rows (34.2). The flow's bound, ≤ 2.083, is level with the FVSBN's exact 2.088 and below both VAE bounds, while its samples score 46.3, the worst of the trained models. Among the 9 exact rows the two measures barely agree: Spearman's rank correlation is 0.25, which over 9 points cannot be told from 0 (chance alone gives values that large often). And the DCGAN, third by Fréchet distance, has no likelihood to rank at all.
#
# **Seed 000's point, live.** "Log-likelihood is not a good metric. We can have high likelihood with poor quality by mixing in noise and not losing much likelihood; or low likelihood with good quality by remembering input data and having sharp peaks there." Lecture 07 (section 10) built both models with exact likelihoods (`coursekit.models.memoriser`). Mix a share $s$ of uniform noise into any model: $p_s(x) = (1 - s)\,p(x) + s\,p_{\text{noise}}(x) \ge (1 - s)\,p(x)$, so
# $$\text{bits/dim}(p_s) \le \text{bits/dim}(p) + \frac{\log_2 \frac{1}{1 - s}}{D},$$
# at most $\log_2 100 / 64 = 0.104$ bits/dim for 99% noise on 8×8 digits, while 99% of the samples are noise. The **memoriser** is the training set, each image with probability $(1 - \varepsilon)/N$, plus $\varepsilon$ of the floor model so that unseen digits have $p(x) > 0$: its samples are training digits — as good as data — and a test digit costs $-\log_2\varepsilon / D$ bits/dim more than under the floor model.
#
# The slider dilutes both, the floor model and the memoriser, with a share $s$ of noise; each value is computed here (exact test bits/dim on all test digits, Fréchet distance of `FRECHET_N` samples). Grey points are the benchmark's exact rows, for scale.

# %%
splits = data.load(DATA, **({"root": MNIST_ROOT} if DATA in ("mnist", "fashion_mnist") else {}))
K, SHAPE, D_live = splits.train.levels, tuple(splits.train.x.shape[1:]), splits.train.dims
clf = evaluation.classifier(splits, kind=DATA, device=device)
bases = {"floor model": evaluation.floor_model(splits.train)}
if DATA == "digits":   # the memoriser compares every test image with every training image: cheap for 1000 digits only
    bases["memoriser"] = Memoriser(shape=SHAPE, levels=K, epsilon=MEMORISER_EPSILON).fit(splits.train.x)
diluted_samples, diluted = {}, {}
for label, base in bases.items():
    diluted_samples[label], diluted[label] = {}, {}
    for s in NOISE_SHARES:
        model = NoisyMixture(base, weight=1 - s)                 # p_s = (1 − s)·p + s·uniform noise
        bpd = evaluation.bits_per_dim(-model.log_prob(splits.test.x).mean().item(), D_live)
        x = model.sample(FRECHET_N, generator=seeded_generator(SEED))
        fd = evaluation.frechet_distance(x, splits.test, clf, n=FRECHET_N, seed=SEED).value
        diluted_samples[label][s], diluted[label][s] = x[:12], (bpd, fd)
    for s in NOISE_SHARES:
        bpd, fd = diluted[label][s]
        cost, bound = bpd - diluted[label][0.0][0], math.log2(1 / (1 - s)) / D_live
        print(f"{label:11s} s = {s:<5g}: {bpd:.3f} bits/dim (+{cost:.3f}; the bound +{bound:.3f}), Fréchet distance {fd:6.1f}")
        assert cost <= bound + 1e-4, "diluting costs at most log2(1/(1 − s))/D bits/dim (up to float32 rounding)"
if "memoriser" in diluted:
    if FULL:
        assert diluted["memoriser"][0.0][1] < best_fd["frechet_mean"], "the memoriser beats every trained model in FD"
    print(f"the memoriser's Fréchet distance {diluted['memoriser'][0.0][1]:.1f} against the benchmark's best, "
          f"{best_fd['name']} {best_fd['frechet_mean']:.1f}, and real digits {refs['frechet']['real']:.1f}")
dilution_widget = viz.noise_dilution_slider(diluted_samples, diluted, context=rows, references=refs, levels=K)
dilution_widget

# %% [markdown]
# Measured with the default parameters: each share costs exactly what the bound allows, for both models — 0.016, 0.052, 0.104 and 0.156 bits/dim at $s$ = 0.5, 0.9, 0.99 and 0.999 (the noise's own probability of a test digit, $s \cdot 17^{-64}$, is negligible beside $(1 - s)\,p(x)$) — while the floor model's Fréchet distance climbs from 112.1 to 177.3 at $s$ = 0.99, next to pure noise's 179.0, and the memoriser's from 11.8 to 174.3. Undiluted, the memoriser has the best samples in this lecture, 11.8 (one seed, seed 0) against the best trained model's 14.6 ± 1.9 over three seeds (real digits 7.1) — they *are* training digits — and a test likelihood of 2.553 bits/dim, worse than the floor model's 2.398 and worse even than the floor diluted with 99% noise (2.502), whose samples are noise. By likelihood the order is floor, floor with 99% noise, memoriser; by Fréchet distance the memoriser is first and the floor with 99% noise last. Neither number sees the copying: lecture 07 (section 10) catches it by comparing each sample with its nearest training digit.
#
# The same arithmetic applies to the course's best models without sampling anything: diluting the best exact model with 99% noise costs at most 0.104 bits/dim, and its samples become 99% noise, which scores like noise (the reference line of uniform noise in the table). The cell ranks that diluted model among the table's rows by bits/dim.

# %%
share = 0.99
diluted_best = best_bpd_exact["bits_per_dim_mean"] + math.log2(1 / (1 - share)) / D
better_than = [r["name"] for r in with_both if r["bits_per_dim_mean"] > diluted_best]
print(f"{best_bpd_exact['name']} with {share:.0%} noise: at most {diluted_best:.3f} bits/dim, still better than "
      f"{len(better_than)} of the {len(with_both)} rows with a likelihood ({', '.join(better_than)}); its samples are "
      f"{share:.0%} uniform noise (Fréchet distance of pure noise: {refs['frechet']['noise']:.1f})")

# %% [markdown]
# Measured with the default parameters: WaveNet diluted with 99% noise would score at most 1.934 bits/dim — still better than 12 of the 15 rows with a likelihood: every model outside the autoregressive family, and five of the other seven autoregressive rows (all but the two PixelCNNs) — while 99% of its samples are noise (pure noise scores 179.0). A table ranked by likelihood alone would put it fourth, behind WaveNet itself and the two PixelCNNs.
#
# ## 3. Sampling speed by family
#
# Time to draw 100 samples, on a log scale: the families differ by orders of magnitude, and the reason is the number of **sequential network passes** per sample. A GAN, a VAE and a flow need one pass (the batch of 100 in parallel); an autoregressive model over pixels needs $D = 64$ passes, one per pixel, each waiting for the last (lecture 04; the VQ-VAE's prior needs one per code); a DDPM needs $T = 1000$ passes by Algorithm 2, and DDIM 50.

# %%
timed = [r for r in rows if r["sample_seconds_100_mean"] is not None]
fastest = min(timed, key=lambda r: r["sample_seconds_100_mean"])
slowest = max(timed, key=lambda r: r["sample_seconds_100_mean"])
viz.show(viz.sampling_speed_figure(rows),
         alt="Seconds to draw 100 samples on a log axis, one dot per row, grouped by family: "
             + "; ".join(f"{r['name']} {r['sample_seconds_100_mean']:.2g} s" for r in timed) + ".")
print(f"fastest: {fastest['name']} ({fastest['sample_seconds_100_mean']:.3g} s per 100); slowest: {slowest['name']} "
      f"({slowest['sample_seconds_100_mean']:.3g} s per 100), {slowest['sample_seconds_100_mean'] / fastest['sample_seconds_100_mean']:,.0f}× slower")
by_family = {}
for r in timed:
    by_family.setdefault(r["family"], []).append(r["sample_seconds_100_mean"])
for family, times in by_family.items():
    print(f"{family:15s} {min(times):8.3g} to {max(times):8.3g} s per 100 samples ({len(times)} row{'s' * (len(times) > 1)})")
if FULL:
    ratios = {"DDPM / DDIM-50": row["ddpm"]["sample_seconds_100_mean"] / row["ddim-50"]["sample_seconds_100_mean"],
              "DDPM / DCGAN": row["ddpm"]["sample_seconds_100_mean"] / row["dcgan"]["sample_seconds_100_mean"],
              "gated PixelCNN / WaveNet": row["gated-pixelcnn"]["sample_seconds_100_mean"]
              / row["wavenet"]["sample_seconds_100_mean"]}
    print("; ".join(f"{name}: about {float(f'{ratio:.2g}'):,g}× the time" for name, ratio in ratios.items()))   # ms timings: 2 digits
    assert slowest["key"] == "ddpm", "the text says Algorithm 2's 1000 steps are the slowest sampler"

# %% [markdown]
# Measured with the default parameters: the rows span almost five orders of magnitude, from the floor model's 0.000151 s per 100 samples (64 independent draws, no network) and the one-pass samplers' few milliseconds to Algorithm 2's 11.1 s — about 1,700× the DCGAN's 0.0065 s, for 1000 sequential passes against one. DDIM-50 takes 0.552 s, about 20× less than Algorithm 2, as its 50 passes against 1000 predict. The VAE (0.0056 s by its −ELBO row) and the flow (0.0117 s) are one-pass samplers too. At a few milliseconds the clock of a shared machine is noisy: the VAE's two rows draw with the same decoder and took 0.0056 and 0.0121 s, and the DCGAN's time has a standard deviation of 0.0043 s over seeds; only the orders of magnitude count. The autoregressive rows spread over two of them, 0.0247 s (the FVSBN) to 2.63 s (the gated PixelCNN): all take 64 sequential steps, but a step costs what the network costs — the PixelCNNs run a full forward pass over the whole image at every step (`Autoregressive.sample`, the naive sampler), while WaveNet's sampler caches what earlier steps computed (lecture 04c's Fast WaveNet) and takes 0.0658 s, about 40× less than the gated PixelCNN. On a GPU the one-pass samplers gain most, from the batch of 100 drawn in parallel; a sequential sampler still waits for each of its steps.
#
# ## 4. The trilemma, measured
#
# Lecture 00 drew the **generative learning trilemma** (Xiao, Kreis & Vahdat, 2022) as a picture of a claim: high sample quality, mode coverage and fast sampling, each family usually meeting two of them and giving up the third. Here it is again, to compare with the numbers.

# %%
viz.show(trilemma_figure(), alt="Lecture 00's triangle: the corners high sample quality (top), mode coverage and "
         "diversity (bottom left) and fast sampling (bottom right). GANs sit on the edge between quality and fast "
         "sampling; VAEs and normalizing flows between coverage and fast sampling; diffusion and autoregressive models "
         "between quality and coverage.")

# %% [markdown]
# Measured, the three wishes are three numbers per row: Fréchet distance (quality, lower is better), coverage (higher is better) and seconds per 100 samples (lower is better). A row is on the **Pareto set** when no other row is at least as good on all three and better on one: the rows worth choosing from, since every other row is matched or beaten on all three wishes, and beaten on at least one, by some row of the set. The cell finds it and marks it ★. As in section 2, the floor model's dashed line (112.1, one draw of 400 samples) and its bar (107.1, the mean over 3 seeds) are two estimates for the same model.

# %%
def dominates(a, b):
    """a is at least as good as b on quality, coverage and speed, and better on one."""
    pa = (a["frechet_mean"], -a["coverage_mean"], a["sample_seconds_100_mean"])
    pb = (b["frechet_mean"], -b["coverage_mean"], b["sample_seconds_100_mean"])
    return all(x <= y for x, y in zip(pa, pb)) and pa != pb


sampled = [r for r in rows if None not in (r["frechet_mean"], r["coverage_mean"], r["sample_seconds_100_mean"])]
pareto = [r for r in sampled if not any(dominates(o, r) for o in sampled if o is not r)]
print("Pareto set (quality, coverage, speed):", ", ".join(r["name"] for r in pareto))
viz.show(viz.trilemma_measured_figure(rows, refs, highlight=[r["key"] for r in pareto]),
         alt="Three aligned panels, one row per model with samples: Fréchet distance (bars, lower is better, lines at real "
             "digits and the floor model), coverage (bars, higher is better, the same two lines) and seconds per 100 samples "
             "(dots on a log axis). " + "; ".join(f"{'★ ' if r in pareto else ''}{r['name']}: FD {r['frechet_mean']:.1f}, "
                                                  f"coverage {r['coverage_mean']:.2f}, {r['sample_seconds_100_mean']:.2g} s"
                                                  for r in sampled) + ". ★ marks the Pareto set.")

# the families of lecture 00's picture, each by its best row on each wish, ranked among the families
families = {"GANs": "GAN", "VAEs": "VAE", "normalizing flows": "flow", "diffusion models": "diffusion",
            "autoregressive models": "autoregressive"}
best = {}
for name, family in families.items():
    members = [r for r in sampled if r["family"] == family]
    if members:
        best[name] = {"quality": min(r["frechet_mean"] for r in members),
                      "coverage": -max(r["coverage_mean"] for r in members),
                      "speed": min(r["sample_seconds_100_mean"] for r in members)}
rank = {wish: ranks([best[n][wish] for n in best]) for wish in ("quality", "coverage", "speed")}
lines = ["| family | quality rank | coverage rank | speed rank | measured: weakest wish | lecture 00: gives up |",
         "|---|---|---|---|---|---|"]
weakest = {}
for i, name in enumerate(best):
    by_wish = {wish: rank[wish][i] for wish in ("quality", "coverage", "speed")}
    weakest[name] = [wish for wish, r in by_wish.items() if r == max(by_wish.values())]   # ties: all of them
    lines.append(f"| {name} | {' | '.join(f'{r:g}' for r in by_wish.values())} | {' and '.join(weakest[name])} | "
                 f"{FAMILIES[name][2]} |")
display(Markdown(f"Ranks among the {len(best)} families (1 = best), each family by its best row:\n\n" + "\n".join(lines)))
gives_up = {name: next(w for w in ("quality", "coverage", "speed") if w in FAMILIES[name][2].replace("fast sampling", "speed"))
            for name in best}
agree = [name for name in best if weakest[name] == [gives_up[name]]]   # the wish it gives up is its weakest, alone
more = [name for name in best if name not in agree]
print(f"lecture 00's picture holds, on these measurements, for {len(agree)} of {len(best)} families: {', '.join(agree)}; "
      + "; ".join(f"{name} are weakest in {' and '.join(weakest[name])}" for name in more))
gan_row = min((r for r in sampled if r["family"] == "GAN"), key=lambda r: r["frechet_mean"])
ar_row = min((r for r in sampled if r["family"] == "autoregressive"), key=lambda r: r["frechet_mean"])
print(f"quality ranks 2 and 3: {gan_row['name']} FD {gan_row['frechet_mean']:.1f} ± {gan_row['frechet_sd']:.1f}, "
      f"{ar_row['name']} FD {ar_row['frechet_mean']:.1f} ± {ar_row['frechet_sd']:.1f} (sd over seeds)")
if FULL:   # what the text says
    assert agree == ["GANs", "diffusion models", "autoregressive models"], "the picture holds for these three families"
    assert all(set(weakest[name]) == {"quality", "coverage"} for name in more), \
        "the VAE and the flow are weakest in coverage as well as quality"

# %% [markdown]
# Measured with the default parameters: the Pareto set has nine rows — the floor model (the fastest of all, but with coverage 0.17 and a Fréchet distance of 107.1 it barely draws digits), the raster-order MADE, WaveNet, the VQ-VAE, the GPT, the VAE's −ELBO row, the DCGAN and both DDPM samplers. Algorithm 2 leads in quality (14.6) and coverage (0.72); DDIM-50 keeps most of both (17.2, 0.71) at a twentieth of its time; the VAE is the fastest sampler after the floor model (0.0056 s), with a Fréchet distance of 38.8; the DCGAN (20.0, 0.41, 0.0065 s), the GPT (20.3, 0.56, 0.079 s) and WaveNet (25.2, 0.57, 0.066 s) sit in between. The VAE's IWAE row is out only because its clock was slower for the same samples: timing noise decides there. Ranked as families, each by its best row, lecture 00's picture holds for three of the five (checked by the cell): the GAN is second in quality and speed but third in coverage (0.41, against the diffusion model's 0.72 and real digits' 0.83); the diffusion model is first in quality and coverage and last in speed; the autoregressive models are second in coverage and fourth in speed. The VAE and the flow do not fit it here: the picture puts them on the coverage–speed edge, giving up quality only, but they have the worst coverage of the five (0.39 and 0.29, below the GAN's 0.41) as well as the worst quality — on these digits they give up coverage too, and keep only speed. And some ranks are closer than the spread over seeds: the GAN's second place in quality (20.0 ± 4.5) against the GPT's third (20.3 ± 3.5) could swap with another draw of seeds. Read coverage at $n$ = 400 with care: one test digit more or less covered moves it by 0.0025, and its standard deviation over seeds reaches 0.09 (the gated PixelCNN).
#
# ## 5. What each family is for
#
# The measured columns come from the table; the last two are general knowledge from the literature, with a reference each, and hold at scale more than on 8×8 digits.

# %%
def family_line(family):
    members = [r for r in rows if r["family"] == family]
    kinds = sorted({r["likelihood"] if r["likelihood"] != "bound" else f"bound ({r['bound']})" for r in members})
    bpd = [r["bits_per_dim_mean"] for r in members if r["bits_per_dim_mean"] is not None]
    fd = [r["frechet_mean"] for r in members if r["frechet_mean"] is not None]
    t = [r["sample_seconds_100_mean"] for r in members if r["sample_seconds_100_mean"] is not None]
    fmt = lambda xs, f: "—" if not xs else (f.format(min(xs)) if min(xs) == max(xs) else f"{f.format(min(xs))}–{f.format(max(xs))}")
    return f"| {family} | {', '.join(kinds)} | {fmt(bpd, '{:.3f}')} | {fmt(fd, '{:.1f}')} | {fmt(t, '{:.3g}')} |"


display(Markdown("| family | likelihood | bits/dim | Fréchet distance | s per 100 samples |\n|---|---|---|---|---|\n"
                 + "\n".join(family_line(f) for f in dict.fromkeys(r["family"] for r in rows))))

# %% [markdown]
# | family | sequential passes per sample | strengths | when to choose it (general knowledge) |
# |---|---|---|---|
# | autoregressive (04a–05) | $D$ (one per pixel or token) | exact likelihood, stable maximum-likelihood training | density estimation, compression, lossless likelihood comparisons; text and other sequences, where transformers rule (Radford et al., 2019) |
# | VAE (02–03) | 1 | fast sampling, a low-dimensional latent to interpolate and edit, a bound | representation learning, a fast prior, the autoencoder under latent diffusion (Rombach et al., 2022) |
# | VQ-VAE + prior (04d) | one per code | a short discrete code grid for an autoregressive prior | high-resolution images and audio through codes (van den Oord et al., 2017; Esser et al., 2021) |
# | flow (06) | 1 (and 1 back) | exact invertibility, a density in both directions | exact likelihoods with fast sampling; density estimation of continuous data (Papamakarios et al., 2021) |
# | GAN (07) | 1 | fast, sharp samples | real-time generation, image-to-image translation, where coverage matters less (Karras et al., 2019) |
# | diffusion (08) | $T$ (1000; 10–50 with DDIM) | the best sample quality and coverage here and at scale, a bound | quality first: text-to-image, audio, video (Dhariwal & Nichol, 2021; Rombach et al., 2022) |
#
# Measured with the default parameters, the first table bears the second out on these digits: the diffusion rows have the best Fréchet distance (14.6 and 17.2) and coverage, at 0.552 and 11.1 s per 100 samples against the DCGAN's 0.0065; the autoregressive rows have the lowest bits/dim, exact (1.831 to 2.088; the best bound, the flow's ≤ 2.083, sits among them); the GAN samples in one pass, third by Fréchet distance, with no likelihood at all; the VAE and the flow sample in one pass and draw the weakest samples of the trained models (38.8 and 46.3). At scale the same trade-offs steer practice: latent diffusion runs the slow sampler in a VAE's small latent space (lecture 08, section 10) and distillation cuts its steps to a few; autoregressive transformers generate text, where an exact likelihood and one token at a time are natural.
#
# ## 6. Sort and filter it yourself
#
# The table again, as a widget: sort by any column (best first), tick the families to show. Numbers are means ± sample standard deviation over the seeds; bits/dim that are upper bounds carry "≤" and their bound's name.

# %%
table_widget = viz.results_table_widget(rows)
table_widget

# %% [markdown]
# ## 7. The intro_dgm reference numbers
#
# Tomczak's *Deep Generative Modeling* comes with public code (intro_dgm) for the same 8×8 digits. Its models were measured on **this split** with the same bits/dim convention, and the numbers are quoted in lectures 02, 05, 06 and 08; the numbers are copied into `results.json`, labelled, and **not rerun** by `python -m benchmarks`. They are a check that our models are in the right range, not a row of our table.

# %%
print(suite.INTRO_DGM_NOTE if results["intro_dgm"] == [dict(r) for r in suite.INTRO_DGM] else results.get("intro_dgm_note", ""))
for ref in results["intro_dgm"]:
    print(f"{ref['name']:40s} {ref['measure']:26s} {ref['bits_per_dim']:.3f} bits/dim")
for key in ("vae-elbo", "vae-iwae", "realnvp", "ddpm"):
    if key in row and row[key]["bits_per_dim_mean"] is not None:
        r = row[key]
        print(f"ours: {r['name']:34s} {'≤ ' if r['likelihood'] == 'bound' else ''}{r['bits_per_dim_mean']:.3f} bits/dim ({r['bound'] or 'exact'})")
print(f"ours: best exact, {best_bpd_exact['name']}: {best_bpd_exact['bits_per_dim_mean']:.3f} bits/dim")

# %% [markdown]
# Measured with the default parameters: on every comparable row our number is lower. The best autoregressive model, WaveNet, reaches 1.831 against intro_dgm's ARM's 1.946; the VAE's −ELBO 2.147 against 2.178, and its IWAE estimate 2.101 against 2.107 (less than our spread over seeds, 0.007); the flow's dequantised bound 2.083 against 3.76, and the diffusion bound 2.331 against 4.95. The first three gaps are of the size architecture and training time make. The last two are a trap and a bug, each explained where it is taught: intro_dgm's RealNVP adds noise over half a level, which made its reported 2.76 bits/dim (quoted in lecture 06) one bit too good — 3.76 as a valid bound, worse than the per-pixel floor (lecture 06); and its diffusion model never registers its reverse networks as parameters, so they are never trained — a bound computed term by term exposes it (lecture 08).
#
# ## 8. What these measurements bound, and what they do not
#
# - **The Fréchet distance at $n$ = 400 is biased upwards.** It is estimated from 400 samples and 400 test digits; even real digits score far from 0 (the real-vs-real reference), and the bias shrinks as $n$ grows — but $n$ cannot grow past the 447 test digits of this split. Only numbers at the same $n$ compare. These distances are computed in the course classifier's features (00b), not Inception's, so they do not compare with published FIDs. The cell measures real training digits against the test digits at three $n$.

# %%
for n in (100, 200, 400):
    fd_real = evaluation.frechet_distance(splits.train, splits.test, clf, n=n, seed=SEED).value
    print(f"real training digits vs test digits, n = {n}: Fréchet distance {fd_real:.1f}")

# %% [markdown]
# Measured with the default parameters: real training digits against the test digits score 26.5 at $n$ = 100, 13.6 at $n$ = 200 and 7.1 at $n$ = 400 — the same kind of images, about half the distance each time $n$ doubles: the bias falls roughly like $1/n$. The bias shifts every row measured at the same $n$ alike, so it does not decide a ranking; what does is the noise: differences of a few units are within the spread over seeds, which the table shows from ± 1.2 (the raster MADE) to ± 8.1 (the gated PixelCNN).
#
# - **Bounds are upper bounds.** A VAE's −ELBO, its IWAE-1000 estimate, the flow's dequantised bound, the VQ-VAE's bound and the diffusion bound lie above the true bits/dim by an unknown gap; a bound ranks below an exact number only if the gap is known to be smaller than the difference. Exact rows compare with each other exactly; the graded exercise ranks such a mix.
# - **One split of 447 test digits.** The numbers say how these models do on these digits, 8×8 with 17 levels, with networks small enough to train in a lecture on a CPU. Rankings can change with resolution, data and model size: lecture 08's CIFAR-10 numbers are context, not comparable.
# - **Seeds.** Means and sample standard deviations over seeds 0, 1 and 2 (the DDPM's seed 0 is lecture 08's committed checkpoint; its seeds 1 and 2 are trained afresh). Three seeds give a rough spread, and a difference smaller than it is not a ranking: the DDPM's 14.6 ± 1.9 against DDIM-50's 17.2 ± 2.5 and the DCGAN's 20.0 ± 4.5 are about that far apart, and the gated PixelCNN's Fréchet distance moves by ± 8.1 between seeds.
# - **Times on a shared 2-core CPU.** Sampling and training times were measured on the machine printed at the top, with the threads printed there. They rank the families by orders of magnitude, not by percent; on a GPU (not measured here) the ratios change, and a sequential sampler still waits for each of its steps.
# - **Default parameters.** Every model is trained with its lecture's defaults, sized to run in a lecture on a CPU: neither tuned nor trained to convergence. The table measures the course's models, not the families' best.
#
# ## Summary
#
# - One command, one split, one evaluator: `python -m benchmarks` trains every model of the course with its lecture's default parameters and measures it on the same 447 test digits — bits/dim exact or as a named upper bound, Fréchet distance and coverage of 400 samples, seconds per 100 samples — and writes `benchmarks/results.json` with the commit, date, machine and command; this lecture and the README read that file.
# - Likelihood is not sample quality. Measured with the default parameters (means over seeds 0, 1 and 2): the lowest bits/dim is WaveNet's exact 1.831, the lowest Fréchet distance the DDPM's 14.6, whose bound (≤ 2.331) is the highest of every trained model; over the 9 exact rows the two rankings correlate at only 0.25, which 9 points cannot tell from 0. Mixing in a share $s$ of noise costs at most $\log_2\frac{1}{1 - s}/D$ bits/dim — 0.104 at 99%, measured to the digit — and turns the samples to noise (177.3 for the floor model); a memoriser draws samples better than any trained model's (11.8, one seed) with a worse likelihood than the floor model's (2.553 against 2.398).
# - Sampling time follows the number of sequential network passes: one for the GAN, the VAE and the flow (0.0056 to 0.0121 s per 100 samples), 64 for the autoregressive models (0.0247 to 2.63 s; caching makes WaveNet about 40× faster than the gated PixelCNN), 1000 for the DDPM (11.1 s), 50 for DDIM (about 20× faster).
# - The trilemma measured: quality, coverage and speed per row give a Pareto set of nine rows; lecture 00's picture holds for the GAN, diffusion and autoregressive models, while the VAE and the flow give up coverage as well as quality on these digits.
# - Choose by the wish that matters: an exact likelihood (autoregressive models; flows on continuous data), fast samples (GANs, VAEs, flows), quality and coverage at the price of time (diffusion).
# - The numbers bound only what they measure: the Fréchet distance at $n$ = 400 is biased upwards (real digits 26.5 at $n$ = 100, 7.1 at 400), bounds are upper bounds, one split of 447 small digits, three seeds, times on one shared 2-core CPU, and every model at its lecture's default parameters.
#
# **Exercises.** The graded exercise `exercises/09_comparison.ipynb` converts nats per image to bits/dim (and a dequantised bound back to the discrete levels), ranks models correctly when some numbers are exact and some are bounds, and finds the Pareto set of the measured trilemma. Try also: (a) set `RECOMPUTE = True` with `RECOMPUTE_KEYS = ("floor", "vae")` and compare your numbers with the committed ones: how far apart are two runs of the same seed on your machine? (b) In section 2, dilute with `NOISE_SHARES = (0.0, 0.999, 0.99999)`: how close do the bits/dim come to the uniform distribution's 4.087, and why can the mixture never cost more than $\log_2(1/s)/D$ bits/dim over the noise alone? (c) Add the training time as a fourth wish: which rows leave the Pareto set, and which join it?
#
# **References.**
# - L. Theis, A. van den Oord, M. Bethge, *A note on the evaluation of generative models*, ICLR 2016 (likelihood, samples and Parzen-window estimates disagree; the noise-mixture argument).
- J. Ho, A. Jain, P. Abbeel, *Denoising Diffusion Probabilistic Models*, NeurIPS 2020 (DDPM; Algorithm 2, its sampler).
- J. Song, C. Meng, S. Ermon, *Denoising Diffusion Implicit Models*, ICLR 2021 (DDIM).
# - Z. Xiao, K. Kreis, A. Vahdat, *Tackling the Generative Learning Trilemma with Denoising Diffusion GANs*, ICLR 2022 (the trilemma).
# - M. F. Naeem, S. J. Oh, Y. Uh, Y. Choi, J. Yoo, *Reliable Fidelity and Diversity Metrics for Generative Models*, ICML 2020 (coverage).
# - M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter, *GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium*, NeurIPS 2017 (the Fréchet Inception Distance).
# - J. M. Tomczak, *Deep Generative Modeling*, Springer 2022 (2nd ed. 2024), and its code, github.com/jmtomczak/intro_dgm (the reference numbers of section 7).
# - P. Dhariwal, A. Nichol, *Diffusion Models Beat GANs on Image Synthesis*, NeurIPS 2021.
# - R. Rombach, A. Blattmann, D. Lorenz, P. Esser, B. Ommer, *High-Resolution Image Synthesis with Latent Diffusion Models*, CVPR 2022.
# - A. van den Oord, O. Vinyals, K. Kavukcuoglu, *Neural Discrete Representation Learning*, NeurIPS 2017 (VQ-VAE); P. Esser, R. Rombach, B. Ommer, *Taming Transformers for High-Resolution Image Synthesis*, CVPR 2021 (VQGAN).
# - G. Papamakarios, E. Nalisnick, D. J. Rezende, S. Mohamed, B. Lakshminarayanan, *Normalizing Flows for Probabilistic Modeling and Inference*, JMLR 2021.
# - T. Karras, S. Laine, T. Aila, *A Style-Based Generator Architecture for Generative Adversarial Networks*, CVPR 2019.
# - A. Radford, J. Wu, R. Child, D. Luan, D. Amodei, I. Sutskever, *Language Models are Unsupervised Multitask Learners*, 2019 (GPT-2).
