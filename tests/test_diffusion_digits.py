"""Lecture 08's digits DDPM (coursekit/evaluation/diffusion_digits.py) and its committed checkpoint: fast checks only.

The checkpoint is a state dict that loads with weights_only=True, was trained with the setting DIGITS_DDPM, is
shipped as package data, and samples digits the classifier recognises; the measurements' bookkeeping. The long
runs (training the setting, the 3-seed numbers, the check that a fresh seed-0 run reproduces the checkpoint) are
benchmarks/diffusion_quality.py's.
"""
from __future__ import annotations

import dataclasses
import math
import subprocess
import tomllib
from pathlib import Path

import pytest
import torch

from coursekit import data, evaluation
from coursekit.evaluation.diffusion_digits import (
    BOUND_PARTS, DIGITS_DDPM, DIGITS_DDPM_CHECKPOINT, bound_bits_per_dim, digits_ddpm_checkpoint_info, guidance_sweep,
    pretrained_digits_ddpm, save_digits_ddpm, timed_samples, train_digits_ddpm, within_class_spread,
)
from coursekit.models.diffusion import DDPM

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


@pytest.fixture(scope="module")
def model() -> DDPM:
    return pretrained_digits_ddpm()


@pytest.fixture(scope="module")
def splits():
    return data.digits()


@pytest.fixture(scope="module")
def clf(splits):
    return evaluation.classifier(splits)


def test_the_checkpoint_is_a_small_state_dict_that_loads_with_weights_only():
    payload = torch.load(DIGITS_DDPM_CHECKPOINT, map_location="cpu", weights_only=True)
    assert set(payload) == {"format", "settings", "config", "model", "info"}
    assert all(isinstance(v, torch.Tensor) for v in payload["model"].values())
    assert payload["settings"] == dataclasses.asdict(DIGITS_DDPM)
    assert payload["info"]["seed"] == 0 and payload["info"]["steps"] == DIGITS_DDPM.steps
    assert DIGITS_DDPM_CHECKPOINT.stat().st_size < 2_500_000


def test_the_checkpoint_matches_the_setting(model):
    assert dataclasses.asdict(model.config) == dataclasses.asdict(DIGITS_DDPM.model_config())
    assert not model.training and model.config.classes == 10 and model.T == DIGITS_DDPM.T
    fresh = DDPM(DIGITS_DDPM.model_config())
    assert set(fresh.state_dict()) == set(model.state_dict())
    assert any(not torch.equal(fresh.state_dict()[k], v) for k, v in model.state_dict().items())   # trained weights


def test_a_checkpoint_of_another_setting_is_refused_naming_the_field(tmp_path, model):
    other = dataclasses.replace(DIGITS_DDPM, steps=DIGITS_DDPM.steps + 1)
    path = save_digits_ddpm(model, tmp_path / "other.pt", settings=other, seed=0)
    with pytest.raises(ValueError, match=r"'steps': \(%d, %d\)" % (DIGITS_DDPM.steps + 1, DIGITS_DDPM.steps)):
        pretrained_digits_ddpm(path)
    assert pretrained_digits_ddpm(path, settings=other).config.channels == DIGITS_DDPM.channels
    with pytest.raises(FileNotFoundError, match="scripts/train_diffusion.py"):
        pretrained_digits_ddpm(tmp_path / "missing.pt")


def test_the_checkpoint_ships_with_the_package_and_is_not_ignored_by_git():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    relative = DIGITS_DDPM_CHECKPOINT.relative_to(ROOT / "coursekit").as_posix()
    assert any(Path(relative).match(pattern) for pattern in package_data["coursekit"])
    done = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", str(DIGITS_DDPM_CHECKPOINT)])
    assert done.returncode == 1, "the committed checkpoint is ignored by .gitignore"
    done = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", "coursekit/weights/another.pt"])
    assert done.returncode == 0, "only the one checkpoint is let through .gitignore"


def test_guided_samples_are_digits_the_classifier_recognises(model, splits, clf):
    rows = guidance_sweep(model, [0.0, 3.0], clf, splits.test, n=40, method="ddim", steps=25)
    assert [r["w"] for r in rows] == [0.0, 3.0]
    assert all(r["accuracy"] >= 0.8 for r in rows), rows          # 10% would be labels ignored
    samples, seconds = timed_samples(model, 10, seed=1, y=torch.arange(10), method="ddim", steps=10)
    assert samples.dtype == torch.int64 and samples.shape == (10, 1, 8, 8) and seconds > 0
    assert 0 <= samples.min() and samples.max() <= 16 and samples.float().std() > 1
    again, _ = timed_samples(model, 10, seed=1, y=torch.arange(10), method="ddim", steps=10)
    assert torch.equal(samples, again)                               # seeded


def test_within_class_spread_is_zero_for_copies_and_positive_for_the_digits(splits, clf):
    assert within_class_spread(splits.test, None, clf) > 1.0
    copies = splits.test.x[:10].repeat(5, 1, 1, 1)                   # 5 identical images per label
    labels = torch.arange(10).repeat(5)
    assert within_class_spread(copies, labels, clf) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="one per image"):
        within_class_spread(copies, labels[:3], clf)


def test_the_bound_has_every_term_and_its_parts_add_up(model, splits):
    x = splits.test.x[:4]
    b = bound_bits_per_dim(model, x, seed=0)
    assert b["per_t"].shape == (model.T + 1,) and (b["per_t"] >= 0).all()
    assert set(b["parts"]) == set(BOUND_PARTS)
    assert sum(b["parts"].values()) == pytest.approx(b["bits_per_dim"], rel=1e-9)
    assert b["bits_per_dim"] < evaluation.uniform_bits_per_dim(17)  # a trained model beats uniform
    conditional = bound_bits_per_dim(model, x, splits.test.y[:4], seed=0)["bits_per_dim"]
    assert conditional != b["bits_per_dim"] and math.isfinite(conditional)


def test_train_digits_ddpm_keeps_the_ema_weights_and_is_seeded(splits):
    small = dataclasses.replace(DIGITS_DDPM, channels=8)
    one = train_digits_ddpm(0, settings=small, steps=3, splits=splits)
    two = train_digits_ddpm(0, settings=small, steps=3, splits=splits)
    assert one["steps"] == 3 and one["history"].ema is not None and not one["model"].training
    for k, v in one["model"].state_dict().items():
        assert torch.equal(v, two["model"].state_dict()[k])
        assert torch.equal(v, one["history"].ema.model.state_dict()[k])   # the averaged weights, not the raw ones


def test_the_checkpoint_says_how_it_was_made():
    info = digits_ddpm_checkpoint_info()["info"]
    assert info["train_seconds"] > 0 and info["torch"]
