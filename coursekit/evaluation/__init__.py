"""Evaluation, one file per job.

- `likelihood`: nats ↔ bits/dim, the baselines every model must beat (uniform, the per-pixel
  floor);
- `comparison`: `evaluate_model`, which turns any model and split into one row of the course's
  comparison table (bits/dim with the bound's name, the baselines, the Fréchet distance), and
  `format_table`;
- `classifiers`: the small CNN trained once per data set (disk-cached) and conditional accuracy;
- `frechet`: the Fréchet distance at a fixed n, with its reference scale;
- `coverage`: modes hit on the 8-Gaussian ring; `knn_coverage`, the share of real images a model's
  samples reach in the classifier's features (Naeem et al. 2020);
- `disentanglement`: the Mutual Information Gap against known factors (on the active latents: `active_latents`).
- `registry` and `suite` (imported on their own, not here): the course's benchmark, every lecture's
  model measured on one test split (`python -m benchmarks`; `suite.load_results`, `summarise`,
  `markdown_table`).
- `diffusion_digits`: lecture 08's digits DDPM, its setting `DIGITS_DDPM`, the committed checkpoint
  (`pretrained_digits_ddpm`), training it afresh, and its measurements (guidance sweep, the bound by term).
"""
from .classifiers import (
    DEFAULT_CONFIGS, Classifier, ClassifierConfig, SmallCNN, classifier, classifier_key, conditional_accuracy,
    random_shift,
)
from .coverage import knn_coverage, mode_coverage
from .disentanglement import ACTIVE_KL, MIGResult, active_latents, mig, mig_details
from .frechet import DEFAULT_FRECHET_N, FrechetResult, frechet_distance, frechet_from_stats, frechet_reference
from .comparison import ComparisonRow, evaluate_model, format_table
from .likelihood import bits_per_dim, floor_bits_per_dim, floor_model, nats_per_example, uniform_bits_per_dim
from .diffusion_digits import (
    DIGITS_DDPM, DIGITS_DDPM_CHECKPOINT, DigitsDDPMSettings, bound_bits_per_dim, guidance_sweep, pretrained_digits_ddpm,
    train_digits_ddpm, within_class_spread,
)

__all__ = [
    "bits_per_dim", "nats_per_example", "uniform_bits_per_dim", "floor_model", "floor_bits_per_dim",
    "ComparisonRow", "evaluate_model", "format_table",
    "ClassifierConfig", "DEFAULT_CONFIGS", "SmallCNN", "random_shift", "Classifier", "classifier",
    "classifier_key", "conditional_accuracy", "DEFAULT_FRECHET_N", "FrechetResult", "frechet_distance",
    "frechet_from_stats", "frechet_reference", "mode_coverage", "knn_coverage", "MIGResult", "mig", "mig_details", "active_latents", "ACTIVE_KL",
    "DIGITS_DDPM", "DIGITS_DDPM_CHECKPOINT", "DigitsDDPMSettings", "bound_bits_per_dim", "guidance_sweep",
    "pretrained_digits_ddpm", "train_digits_ddpm", "within_class_spread",
]
