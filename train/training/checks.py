"""Everything that can fail quickly, checked before any long work: data, config, output folder."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline

from train.data.corpus import Corpus, label_matrix
from train.runtime.errors import ConfigError, DataError, UserError
from train.training.pipeline import build_pipeline

EXPORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
PROBE_ROWS = 8  # positive and negative sentences per theme in the quick trial fit
PROBE_SCAN = 20_000  # rows searched for them (a streamed corpus may have millions)


@dataclass
class Prepared:
    corpus: Corpus
    pipeline: Pipeline
    trainer: object  # BatchTrainer or StreamingTrainer: has .fit(pipeline, corpus) and .min_examples
    target: Path  # where the export goes


def in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def export_target(cfg: DictConfig) -> Path:
    """models/<name> for a single run; inside a sweep, the job's own output folder, so that
    trials never replace the model in use (the best one is registered in MLflow instead)."""
    if not EXPORT_NAME.fullmatch(str(cfg.name)):
        raise ConfigError(f"name={cfg.name!r}: use letters, digits, '.', '_' and '-' (no folders)")
    if in_sweep():
        return Path(HydraConfig.get().runtime.output_dir) / cfg.name
    return Path(cfg.paths.models_dir) / cfg.name


def instantiate_part(node: DictConfig, what: str):
    try:
        return instantiate(node)
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, UserError):
            raise cause from None
        raise ConfigError(f"cannot build the {what}: {cause or err}") from None


def _trial_fit(pipeline: Pipeline, corpus: Corpus, cfg: DictConfig) -> None:
    """Fit a copy on a few sentences: scikit-learn checks hyperparameters only in fit, and a
    bad one should fail now, not after minutes of cross-validation. The features and the bare
    model are tried first, so that the message names the part at fault rather than a wrapper."""
    train = corpus.splits["train"]
    train = train.select(range(min(len(train), PROBE_SCAN)))
    y = label_matrix(train["labels"], corpus.themes)
    if (y.min(axis=0) == y.max(axis=0)).any():
        return  # a theme without both classes in reach: nothing to probe with
    rows = sorted({int(i) for t in range(y.shape[1]) for side in (0, 1)
                   for i in np.flatnonzero(y[:, t] == side)[:PROBE_ROWS]})
    texts = [train[i]["text"] for i in rows]
    try:
        x = clone(pipeline[:-1]).fit_transform(texts)
        instantiate(cfg.model, _convert_="all").fit(x, y[rows, 0])
        clone(pipeline).fit(texts, y[rows])
    except (ValueError, TypeError) as err:  # sklearn's InvalidParameterError is both
        raise ConfigError(f"invalid hyperparameter: {str(err).splitlines()[0]}") from None


def _check_enough_examples(corpus: Corpus, needed: int) -> None:
    y = label_matrix(corpus.splits["train"]["labels"], corpus.themes)
    for theme, positives in zip(corpus.themes, y.sum(axis=0)):
        negatives = len(y) - positives
        if min(positives, negatives) < needed:
            raise ConfigError(
                f"theme {theme!r} has {positives} positive and {negatives} negative training sentences; "
                f"training needs {needed} of each: add labeled sentences or lower trainer.cv_folds / calibration.cv"
            )


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ConfigError(f"cannot write models to {folder} ({err.strerror}); fix it or set paths.models_dir") from None


def prepare(cfg: DictConfig) -> Prepared:
    """Data, trainer, pipeline and example counts, checked in that order; the output folder is
    ``run_training``'s first check."""
    target = export_target(cfg)
    corpus: Corpus = instantiate_part(cfg.data, "data")
    if "train" not in corpus.splits:
        raise DataError("the data has no train split")
    trainer = instantiate_part(cfg.trainer, "trainer")
    try:
        pipeline = build_pipeline(cfg, trainer.multilabel)
    except InstantiationException as err:
        raise ConfigError(f"cannot build the pipeline: {err.__cause__ or err}") from None
    calibrated = isinstance(pipeline.named_steps["classifier"].estimator, CalibratedClassifierCV)
    needed = max(trainer.min_examples, cfg.calibration.cv if calibrated else 1)
    if needed > 1:
        _check_enough_examples(corpus, needed)
    _trial_fit(pipeline, corpus, cfg)
    return Prepared(corpus, pipeline, trainer, target)
