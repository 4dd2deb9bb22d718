"""The benchmark's entries (coursekit.evaluation.families): the lectures' own defaults, read from their
parameters cells; every entry fitted in a shrunk setting and evaluated; the course's order; MNIST shapes."""
import ast
import inspect
import math
import re
from pathlib import Path

import pytest
import torch

from coursekit import data
from coursekit.data import ImageSplit, Splits
from coursekit.evaluation import evaluate_model
from coursekit.evaluation.diffusion_digits import DIGITS_DDPM, digits_ddpm_checkpoint_info
from coursekit.evaluation.families import COURSE_ORDER, DDPM_SETTING_FIELDS, ENTRIES, DiffusionSampler, ELBOBound
from coursekit.models.diffusion import DDPM
from coursekit.models.gan import DIGITS_TRAINING

pytestmark = pytest.mark.usefixtures("one_thread")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CPU = torch.device("cpu")

# --- the lectures' parameters cells -------------------------------------------------------------------

LECTURES = {"00": "00_introduction", "02": "02_vae", "04a": "04a_autoregressive", "04b": "04b_pixelcnn",
            "04c": "04c_wavenet", "04d": "04d_vq_vae", "05": "05_attention", "06": "06_flows", "07": "07_gans",
            "08": "08_diffusion"}


def call(func, keyword, owner=None, first_arg=None, default=None):
    """The expression of `keyword` in the lecture's first call (in source order) of `func` (`owner.func` when
    owner is given; its first argument's source `first_arg` when given); `default` (an expression) when the
    call leaves the keyword to the function's default."""
    return ("call", func, keyword, owner, first_arg, default)


LOADERS_BATCH = call("loaders", "batch_size")

# setting → the lecture's expression for it (a constant of the parameters cell, or a call's keyword), evaluated
# with the parameters cell's values (and DATA = "digits", or the GPU / MNIST values and DATA = "mnist").
SOURCES = {
    "floor": {"alpha": call("floor_model", "alpha")},
    "fvsbn": {"epochs": "EPOCHS", "patience": "PATIENCE", "lr": "FVSBN_LR", "batch_size": LOADERS_BATCH},
    "nade": {"epochs": "EPOCHS", "patience": "PATIENCE", "lr": "LR", "hidden": "NADE_HIDDEN",
             "batch_size": LOADERS_BATCH},
    "made": {"epochs": "EPOCHS", "patience": "PATIENCE", "lr": "LR", "hidden": "MADE_HIDDEN",
             "orderings": "MADE_ORDERINGS", "weight_decay": "MADE_WEIGHT_DECAY", "batch_size": LOADERS_BATCH},
    "pixelcnn": {"epochs": "EPOCHS", "patience": "PATIENCE", "lr": "LR", "channels": "CHANNELS", "layers": "LAYERS",
                 "batch_size": LOADERS_BATCH},
    "gated-pixelcnn": {"epochs": "EPOCHS", "patience": "PATIENCE", "lr": "LR", "channels": "CHANNELS",
                       "layers": "LAYERS", "batch_size": LOADERS_BATCH},
    "wavenet": {"epochs": "EPOCHS", "patience": "PATIENCE", "lr": "LR", "channels": "CHANNELS",
                "dilations": "list(DILATIONS)", "batch_size": LOADERS_BATCH},
    "vq-vae": {"downsample": "DOWNSAMPLE", "codes": "CODES", "code_dim": "CODE_DIM", "channels": "CHANNELS",
               "beta_commit": "BETA_COMMIT", "epochs": "EPOCHS", "lr": "LR", "prior_channels": "PRIOR_CHANNELS",
               "prior_layers": "PRIOR_LAYERS", "prior_epochs": "PRIOR_EPOCHS", "patience": "PATIENCE",
               "prior_lr": "PRIOR_LR", "batch_size": LOADERS_BATCH},
    "gpt": {"d_model": "D_MODEL", "heads": "HEADS", "layers": "LAYERS", "positions": "POSITIONS",
            "dropout": "DROPOUT", "epochs": "EPOCHS", "patience": "PATIENCE", "lr": "LR", "batch_size": LOADERS_BATCH},
    "vae": {"latent_dim": "LATENT_DIM", "hidden": "HIDDEN", "dropout": "DROPOUT", "epochs": "EPOCHS",
            "patience": call("train", "patience", first_arg="vae"), "lr": call("train", "lr", first_arg="vae"),
            "batch_size": LOADERS_BATCH, "iwae_k": "IWAE_K", "elbo_samples": call("elbo", "samples", owner="vae")},
    "realnvp": {"epochs": "EPOCHS", "patience": "PATIENCE", "lr": "LR", "hidden": "HIDDEN", "steps": "STEPS",
                "batch_size": LOADERS_BATCH},
    "dcgan": {"steps": call("train_cached", "steps", first_arg="dcgan"),
              "lr": call("train_cached", "lr", first_arg="dcgan"), "batch_size": LOADERS_BATCH, "width": "WIDTH"},
    "ddpm": {"T": "T", "digits_steps": "DIGITS_STEPS", "ddim_steps": call("timed_samples", "steps"),
             "ddim_eta": call("timed_samples", "eta", default="SAMPLE_ETA"),         # DDPM.sample's default η
             **{name: f"DIGITS_DDPM.{name}" for name in DDPM_SETTING_FIELDS if name != "T"}},
}


def _gpu_value(comment: str):
    """The value after 'GPU:' or 'GPU / MNIST:' in a parameter's comment; None when there is none;
    the string itself when it is not a Python literal (e.g. 'add 256, 784')."""
    match = re.search(r"GPU(?: / MNIST)?: (.+)$", comment)
    if match is None:
        return None
    text = match.group(1).strip()
    doubling = re.fullmatch(r"\(1, 2, …, (\d+)\)", text)                 # "(1, 2, …, 512)": the powers of two
    if doubling:
        return tuple(2 ** i for i in range(int(math.log2(int(doubling.group(1)))) + 1))
    for candidate in (text, text.split(" (")[0]):                        # "2 (7×7 grid)": the number
        try:
            return ast.literal_eval(candidate)
        except (ValueError, SyntaxError):
            pass
    return text


def parameters_cell(lecture: str) -> tuple[dict, dict]:
    """(the parameters cell's constants, their GPU / MNIST values where the comment gives one)."""
    lines = (NOTEBOOKS / f"{LECTURES[lecture]}.py").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# %%") and "parameters" in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("# %%"))
    constants, gpu = {}, {}
    for node in ast.parse("\n".join(lines[start + 1:end])).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            constants[name] = ast.literal_eval(node.value)
            line = lines[start + node.lineno]
            value = _gpu_value(line.split("#", 1)[1]) if "#" in line else None
            if value is not None:
                gpu[name] = value
    return constants, gpu


def lecture_expression(lecture: str, source) -> str:
    """The source of a setting's expression: a constant's name as it is, or the keyword of a call."""
    if isinstance(source, str):
        return source
    _, func, keyword, owner, first_arg, default = source
    tree = ast.parse((NOTEBOOKS / f"{LECTURES[lecture]}.py").read_text())
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name != func:
            continue
        if owner is not None and not (isinstance(f, ast.Attribute) and ast.unparse(f.value) == owner):
            continue
        if first_arg is not None and not (node.args and ast.unparse(node.args[0]) == first_arg):
            continue
        calls.append(node)
    assert calls, f"lecture {lecture} has no call of {func} ({owner=}, {first_arg=})"
    first = min(calls, key=lambda n: (n.lineno, n.col_offset))
    found = [k.value for k in first.keywords if k.arg == keyword]
    if not found and default is not None:
        return default
    assert found, f"lecture {lecture}'s {func}(...) at line {first.lineno} has no {keyword}="
    return ast.unparse(found[0])


def lecture_values(entry, data_name: str) -> dict:
    constants, gpu = parameters_cell(entry.lecture)
    namespace = dict(constants, DIGITS_TRAINING=DIGITS_TRAINING, DIGITS_DDPM=DIGITS_DDPM,
                     SAMPLE_ETA=inspect.signature(DDPM.sample).parameters["eta"].default)
    if data_name == "mnist":
        namespace.update(gpu)
        namespace["DATA"] = "mnist"
    else:
        namespace["DATA"] = "digits"
    return {key: eval(lecture_expression(entry.lecture, source), {"__builtins__": {"list": list}}, namespace)
            for key, source in SOURCES[entry.key].items()}


def test_entries_in_the_course_order():
    assert tuple(ENTRIES) == COURSE_ORDER
    assert COURSE_ORDER == ("floor", "fvsbn", "nade", "made", "pixelcnn", "gated-pixelcnn", "wavenet", "vq-vae",
                            "gpt", "vae", "realnvp", "dcgan", "ddpm")
    for key, entry in ENTRIES.items():
        assert entry.key == key and entry.lecture in LECTURES and entry.name and entry.family


@pytest.mark.parametrize("key", COURSE_ORDER)
def test_settings_are_the_lectures_defaults(key):
    entry = ENTRIES[key]
    assert set(entry.settings) == set(SOURCES[key]), "every setting must be mapped to the lecture's name for it"
    assert entry.settings == lecture_values(entry, "digits")


@pytest.mark.parametrize("key", COURSE_ORDER)
def test_mnist_settings_are_the_lectures_gpu_values(key):
    entry = ENTRIES[key]
    constants, gpu = parameters_cell(entry.lecture)
    has_mnist = "DATA" in constants                     # the parameters cell takes DATA = "mnist"
    assert (entry.mnist_settings is not None) == has_mnist
    if has_mnist:
        assert entry.mnist_settings == lecture_values(entry, "mnist")
        assert entry.settings_for("mnist") == entry.mnist_settings
    else:
        with pytest.raises(ValueError, match="no MNIST configuration"):
            entry.settings_for("mnist")


def test_settings_are_plain_json():
    import json
    for entry in ENTRIES.values():
        for settings in (entry.settings, entry.mnist_settings or {}):
            assert json.loads(json.dumps(settings)) == settings, entry.key


def test_ddpm_samplers_are_the_lectures():
    """08's FD cell: DDIM with 50 steps, the unconditional model (guidance −1) and DDPM.sample's default η."""
    fd_call = lecture_expression("08", call("timed_samples", "guidance")), \
        lecture_expression("08", call("timed_samples", "method"))
    assert fd_call == ("-1.0", "'ddim'")
    assert ENTRIES["ddpm"].settings["ddim_eta"] == inspect.signature(DDPM.sample).parameters["eta"].default


# --- shrunk fits on the digits, evaluated -------------------------------------------------------------

SHRUNK = {
    "floor": {},
    "fvsbn": dict(epochs=1),
    "nade": dict(epochs=1, hidden=8),
    "made": dict(epochs=1, hidden=16, orderings=2),
    "pixelcnn": dict(epochs=1, channels=8, layers=1),
    "gated-pixelcnn": dict(epochs=1, channels=8, layers=1),
    "wavenet": dict(epochs=1, channels=8),
    "vq-vae": dict(epochs=1, prior_epochs=1, channels=8, prior_channels=8, prior_layers=1),
    "gpt": dict(epochs=1, d_model=16, heads=2, layers=1),
    "vae": dict(epochs=1, hidden=32, iwae_k=4, elbo_samples=2),
    "realnvp": dict(epochs=1, hidden=8, steps=1),
    "dcgan": dict(steps=2, width=8),
    "ddpm": dict(digits_steps=2, T=10, warmup_steps=0, channels=8, ddim_steps=5),
}

EXACT = {"floor", "fvsbn", "nade", "made", "made-orderings", "pixelcnn", "gated-pixelcnn", "wavenet", "gpt"}


def small(splits: Splits, n_train: int = 128, n_val: int = 64) -> Splits:
    cut = lambda s, n: ImageSplit(s.x[:n], s.y[:n], s.levels, s.name)
    return Splits(cut(splits.train, n_train), cut(splits.val, n_val), splits.test)


@pytest.fixture(scope="module")
def digits():
    return data.digits()


def expected_measure(key: str, model) -> str:
    if key in EXACT:
        return "exact"
    if key == "dcgan":
        return "none"
    if key == "realnvp":
        return "≤ (bound: dequantised)"
    return f"≤ (bound: {model.bound})"


@pytest.mark.parametrize("key", COURSE_ORDER)
def test_shrunk_fit_evaluates(key, digits):
    entry = ENTRIES[key]
    settings = dict(entry.settings, **SHRUNK[key])
    fitted = entry.fit(small(digits), 0, CPU, settings)
    assert fitted.source == "trained" and fitted.train_seconds >= 0 and fitted.variants
    test = ImageSplit(digits.test.x[:32], digits.test.y[:32], digits.test.levels, "test")
    rows = {}
    for variant in fitted.variants:
        row = evaluate_model(variant.model, test, name=variant.name)
        rows[variant.key] = row
        assert row.measure == expected_measure(variant.key, variant.model), variant.key
        if row.measure == "none":
            assert row.bits_per_dim is None
        else:
            assert math.isfinite(row.bits_per_dim) and row.bits_per_dim > 0
        samples = variant.sample(5, torch.Generator().manual_seed(0))
        assert samples.shape == (5, 1, 8, 8) and samples.dtype == torch.int64
        assert 0 <= samples.min() and samples.max() <= 16
    if key == "vae":
        assert set(rows) == {"vae-elbo", "vae-iwae"}
        assert rows["vae-elbo"].bound == "elbo" and rows["vae-iwae"].bound == "iwae-4"
        assert rows["vae-iwae"].bits_per_dim < rows["vae-elbo"].bits_per_dim + 0.05   # IWAE-4 at least as tight, ± noise
    if key == "ddpm":
        assert set(rows) == {"ddpm", "ddim-5"}
        assert rows["ddpm"].bits_per_dim == rows["ddim-5"].bits_per_dim          # one bound, computed once
        ddpm, ddim = (v.model for v in fitted.variants)
        assert ddpm.cache is ddim.cache and len(ddpm.cache.values) == 1
        assert ddpm.options == {"guidance": -1.0, "method": "ddpm"}
        assert ddim.options == {"guidance": -1.0, "method": "ddim", "steps": 5, "eta": 0.0}


def test_ddpm_seed_0_is_the_committed_checkpoint():
    entry = ENTRIES["ddpm"]
    fitted = entry.fit(data.digits(), 0, CPU, entry.settings)
    info = digits_ddpm_checkpoint_info()["info"]
    assert fitted.source == "checkpoint" and fitted.train_seconds is None            # not trained, so not timed here
    assert f"recorded {float(info['train_seconds']):.0f} s" in fitted.notes
    assert "checkpoint" in fitted.notes and "not trained here" in fitted.notes
    assert [v.key for v in fitted.variants] == ["ddpm", "ddim-50"]
    ddim = fitted.variants[1]
    assert isinstance(ddim.model, DiffusionSampler) and ddim.model.ddpm.config.T == 1000
    samples = ddim.sample(3, torch.Generator().manual_seed(0))
    assert samples.shape == (3, 1, 8, 8) and samples.dtype == torch.int64


def test_elbo_bound_wraps_the_same_network():
    from coursekit.models import VAE
    torch.manual_seed(0)
    vae = VAE(latent_dim=2, hidden=8, shape=(1, 8, 8), levels=17).eval()
    wrapped = ELBOBound(vae, samples=3)
    assert list(wrapped.parameters()) == list(vae.parameters())
    x = data.digits().test.x[:4]
    torch.manual_seed(1)
    expected = -vae.elbo(x, samples=3)
    torch.manual_seed(1)
    assert torch.allclose(wrapped.nll_bound(x), expected)
    with pytest.raises(ValueError, match="positive int"):
        ELBOBound(vae, samples=0)


# --- MNIST: every entry with an MNIST configuration builds and trains on 28×28, 256 levels ---------------

MNIST_SHRUNK = dict(SHRUNK, **{
    "made": dict(epochs=1, hidden=16, orderings=2),
    "vq-vae": dict(epochs=1, prior_epochs=1, channels=8, prior_channels=8, prior_layers=1, codes=8),
    "wavenet": dict(epochs=1, channels=8),
    "dcgan": dict(steps=1, width=8),
    "ddpm": dict(digits_steps=1, T=10, warmup_steps=0, channels=8, ddim_steps=5),
})


# FVSBN's W and MADE's direct connections are (D·K, D): 157 million weights for 784 pixels of 256 levels, too
# slow to build and step in a unit test on a CPU; they are built on 28×28 images of 16 levels here.
MNIST_LEVELS = {"fvsbn": 16, "made": 16}


def fake_mnist(levels: int) -> Splits:
    g = torch.Generator().manual_seed(0)
    part = lambda n, name: ImageSplit(torch.randint(0, levels, (n, 1, 28, 28), generator=g),
                                      torch.randint(0, 10, (n,), generator=g), levels, name)
    return Splits(part(8, "train"), part(4, "val"), part(4, "test"))


@pytest.mark.parametrize("key", [k for k in COURSE_ORDER if ENTRIES[k].mnist_settings is not None])
def test_mnist_fit_builds_on_28x28(key):
    entry = ENTRIES[key]
    settings = dict(entry.mnist_settings, **MNIST_SHRUNK[key])
    levels = MNIST_LEVELS.get(key, 256)
    splits = fake_mnist(levels)
    fitted = entry.fit(splits, 1, CPU, settings)
    assert fitted.source == "trained"
    for variant in fitted.variants:
        assert tuple(variant.model.data_shape) == (1, 28, 28) and variant.model.data_levels == levels, variant.key
        if variant.model.likelihood == "none":
            samples = variant.sample(2, torch.Generator().manual_seed(0))
            assert samples.shape == (2, 1, 28, 28) and samples.dtype == torch.int64 and samples.max() <= levels - 1
        elif key != "ddpm":                            # the DDPM's bound is T network passes: its construction suffices
            x = splits.test.x[:2]
            with torch.no_grad():
                value = variant.model.log_prob(x) if variant.model.likelihood == "exact" else variant.model.nll_bound(x)
            assert value.shape == (2,) and torch.isfinite(value).all(), variant.key
