"""Train, evaluate and export one theme classifier from a composed config."""

from __future__ import annotations

import json
import platform
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from train.corpus import Corpus, DataError, label_matrix
from train.evaluate import cross_validation, multilabel_metrics, per_source_metrics, tune_thresholds
from train.export import export_predictor
from train.pipeline import build_pipeline

PACKAGES = (
    "scikit-learn", "numpy", "scipy", "pandas", "datasets", "hydra-core", "mlflow", "pysbd", "iterative-stratification",
)


@dataclass
class TrainingResult:
    metrics: dict[str, float]
    thresholds: np.ndarray
    pipeline: Pipeline
    corpus: Corpus
    test_scores: np.ndarray  # probability per test sentence and theme
    test_labels: np.ndarray  # 0/1 per test sentence and theme
    export_dir: Path


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def export_target(cfg: DictConfig) -> Path:
    """models/<name> for a single run; inside a sweep, the job's own output folder, so that
    trials never replace the model in use (the best one is registered in MLflow instead)."""
    if in_sweep():
        return Path(HydraConfig.get().runtime.output_dir) / cfg.name
    return Path(cfg.paths.models_dir) / cfg.name


class ConfigError(ValueError):
    """A config that cannot train: the message names the setting to change."""


@dataclass
class Prepared:
    corpus: Corpus
    pipeline: Pipeline
    target: Path


def _check_hyperparameters(pipeline: Pipeline) -> None:
    # scikit-learn checks parameters only in fit; check them all now, before any long work.
    estimators = [pipeline, *(v for v in pipeline.get_params(deep=True).values() if isinstance(v, BaseEstimator))]
    for estimator in estimators:
        try:
            estimator._validate_params()
        except (ValueError, TypeError) as err:  # sklearn's InvalidParameterError is both
            raise ConfigError(f"invalid hyperparameter of {type(estimator).__name__}: {err}") from None


def _check_enough_examples(corpus: Corpus, cfg: DictConfig) -> None:
    needed = max(cfg.cv.folds, cfg.calibration.cv)
    y = label_matrix(corpus.splits["train"]["labels"], corpus.themes)
    for theme, positives in zip(corpus.themes, y.sum(axis=0)):
        negatives = len(y) - positives
        if min(positives, negatives) < needed:
            raise ConfigError(
                f"theme {theme!r} has {positives} positive and {negatives} negative training sentences; "
                f"{needed}-fold cross-validation needs {needed} of each: add labeled sentences or lower "
                "cv.folds / calibration.cv"
            )


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ConfigError(f"cannot write models to {folder} ({err.strerror}); fix it or set paths.models_dir") from None


def prepare(cfg: DictConfig) -> Prepared:
    """Everything that can fail quickly: data, hyperparameters, example counts, output folder."""
    try:
        corpus: Corpus = instantiate(cfg.data)
    except InstantiationException as err:
        raise (err.__cause__ if isinstance(err.__cause__, DataError) else err) from None
    try:
        pipeline = build_pipeline(cfg)
    except InstantiationException as err:
        raise ConfigError(f"cannot build the pipeline: {err.__cause__ or err}") from None
    _check_hyperparameters(pipeline)
    if cfg.trainer.cross_validate:
        _check_enough_examples(corpus, cfg)
    target = export_target(cfg)
    _check_writable(target.parent)
    return Prepared(corpus, pipeline, target)


def thresholds_for(cfg: DictConfig, y_validation: np.ndarray | None, scores_validation: np.ndarray | None,
                   n_themes: int) -> np.ndarray:
    """Per-theme thresholds tuned on validation, or 0.5 when tuning is off or there is no validation."""
    if not cfg.thresholds.tune or y_validation is None:
        return np.full(n_themes, 0.5)
    grid = np.arange(cfg.thresholds.grid.start, cfg.thresholds.grid.stop + 1e-9, cfg.thresholds.grid.step).round(6)
    return tune_thresholds(y_validation, scores_validation, grid)


def split_metrics(name: str, y: np.ndarray, scores: np.ndarray, thresholds: np.ndarray, sources: list[str],
                  themes: list[str]) -> dict[str, float]:
    predicted = (scores >= thresholds).astype(int)
    metrics = {f"{name}_{k}": v for k, v in multilabel_metrics(y, predicted, themes).items()}
    metrics.update(per_source_metrics(y, predicted, sources, name))
    metrics[f"{name}_size"] = float(len(y))
    return metrics


def export(cfg: DictConfig, prepared: Prepared, thresholds: np.ndarray, metrics: dict[str, float]) -> Path:
    """The fitted pipeline as a predictor, with the resolved config and metrics beside it."""
    info = {"data_fingerprint": prepared.corpus.fingerprint, "versions": package_versions()}
    extra = {
        "config.yaml": OmegaConf.to_yaml(cfg, resolve=True),
        "metrics.json": json.dumps(metrics, indent=2, sort_keys=True),
    }
    return export_predictor(prepared.pipeline, list(prepared.corpus.themes), thresholds.tolist(), prepared.target,
                            extra, info)


def train(cfg: DictConfig, prepared: Prepared | None = None) -> TrainingResult:
    """Cross-validate, fit, tune thresholds, evaluate and export; return the results."""
    prepared = prepared or prepare(cfg)
    corpus, pipeline = prepared.corpus, prepared.pipeline
    themes = list(corpus.themes)
    splits = {name: corpus.splits[name] for name in ("train", "validation", "test")}
    texts = {name: split["text"] for name, split in splits.items()}
    y = {name: label_matrix(split["labels"], themes) for name, split in splits.items()}

    metrics = cross_validation(pipeline, texts["train"], y["train"], cfg.cv.folds, cfg.seed, cfg.cv.n_jobs)
    started = time.perf_counter()
    pipeline.fit(texts["train"], y["train"])
    metrics["fit_seconds"] = time.perf_counter() - started
    metrics["train_size"] = float(len(texts["train"]))
    metrics["n_features"] = float(len(pipeline.named_steps["features"].get_feature_names_out()))

    scores = {name: pipeline.predict_proba(texts[name]) for name in ("validation", "test")}
    thresholds = thresholds_for(cfg, y["validation"], scores["validation"], len(themes))
    for name in ("validation", "test"):
        metrics.update(split_metrics(name, y[name], scores[name], thresholds, splits[name]["source"], themes))
    export_dir = export(cfg, prepared, thresholds, metrics)
    return TrainingResult(metrics, thresholds, pipeline, corpus, scores["test"], y["test"], export_dir)
