"""Train, evaluate and export one theme classifier from a composed config."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from sklearn.pipeline import Pipeline

from train.corpus import Corpus, label_matrix
from train.evaluate import cross_validation, multilabel_metrics, tune_thresholds
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
    export_dir: Path


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _per_source(y: np.ndarray, predicted: np.ndarray, sources: list[str], split: str) -> dict[str, float]:
    """Headline metrics for each data source, macro F1 over the themes present in it."""
    from sklearn.metrics import f1_score

    metrics = {}
    for source in sorted(set(sources)):
        rows = np.array([s == source for s in sources])
        present = np.flatnonzero(y[rows].sum(axis=0) + predicted[rows].sum(axis=0))
        prefix = f"{split}_{source}"
        metrics[f"{prefix}_count"] = float(rows.sum())
        metrics[f"{prefix}_micro_f1"] = float(f1_score(y[rows], predicted[rows], average="micro", zero_division=0))
        metrics[f"{prefix}_macro_f1"] = float(
            f1_score(y[rows], predicted[rows], average="macro", labels=present, zero_division=0)
        ) if len(present) else float("nan")
        metrics[f"{prefix}_subset_accuracy"] = float((y[rows] == predicted[rows]).all(axis=1).mean())
    return metrics


def in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def export_target(cfg: DictConfig) -> Path:
    """models/<name> for a single run; inside a sweep, the job's own output folder, so that
    trials never replace the model in use (the best one is registered in MLflow instead)."""
    if in_sweep():
        return Path(HydraConfig.get().runtime.output_dir) / cfg.name
    return Path(cfg.paths.models_dir) / cfg.name


def train(cfg: DictConfig) -> TrainingResult:
    """Load data, cross-validate, fit, tune thresholds, evaluate and export; return the results."""
    corpus: Corpus = instantiate(cfg.data)
    themes = list(corpus.themes)
    pipeline = build_pipeline(cfg)
    splits = {name: corpus.splits[name] for name in ("train", "validation", "test")}
    texts = {name: split["text"] for name, split in splits.items()}
    y = {name: label_matrix(split["labels"], themes) for name, split in splits.items()}

    metrics = cross_validation(pipeline, texts["train"], y["train"], cfg.cv.folds, cfg.seed, cfg.cv.n_jobs)
    started = time.perf_counter()
    pipeline.fit(texts["train"], y["train"])
    metrics["fit_seconds"] = time.perf_counter() - started

    scores = {name: pipeline.predict_proba(texts[name]) for name in ("validation", "test")}
    if cfg.thresholds.tune:
        grid = np.arange(cfg.thresholds.grid.start, cfg.thresholds.grid.stop + 1e-9, cfg.thresholds.grid.step).round(6)
        thresholds = tune_thresholds(y["validation"], scores["validation"], grid)
    else:
        thresholds = np.full(len(themes), 0.5)
    for name in ("validation", "test"):
        predicted = (scores[name] >= thresholds).astype(int)
        metrics.update({f"{name}_{k}": v for k, v in multilabel_metrics(y[name], predicted, themes).items()})
        metrics.update(_per_source(y[name], predicted, splits[name]["source"], name))
    metrics["n_features"] = float(pipeline.named_steps["classifier"].estimators_[0].n_features_in_) if hasattr(
        pipeline.named_steps["classifier"].estimators_[0], "n_features_in_") else float("nan")
    for name in ("train", "validation", "test"):
        metrics[f"{name}_size"] = float(len(splits[name]))

    info = {"data_fingerprint": corpus.fingerprint, "versions": package_versions()}
    extra = {
        "config.yaml": OmegaConf.to_yaml(cfg, resolve=True),
        "metrics.json": json.dumps(metrics, indent=2, sort_keys=True),
    }
    export_dir = export_predictor(pipeline, themes, thresholds.tolist(), export_target(cfg), extra, info)
    return TrainingResult(metrics, thresholds, pipeline, corpus, scores["test"], export_dir)
