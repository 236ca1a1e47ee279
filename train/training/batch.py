"""The in-memory trainer: cross-validation, one fit, thresholds, evaluation of every held-out split."""

from __future__ import annotations

import time
from collections.abc import Callable

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from train.data.corpus import Corpus, label_matrix
from train.training.evaluation import ThresholdTuner, cross_validation, split_metrics
from train.training.result import TrainingResult


class BatchTrainer:
    """Fits the whole training split at once; every other split of the corpus is evaluated."""

    def __init__(self, multilabel: Callable[[BaseEstimator], BaseEstimator], thresholds: ThresholdTuner,
                 cross_validate: bool = True, cv_folds: int = 5, cv_jobs: int = 1, seed: int = 0):
        self.multilabel = multilabel  # wraps the model into one binary model per theme
        self.thresholds = thresholds
        self.cross_validate, self.cv_folds, self.cv_jobs, self.seed = cross_validate, cv_folds, cv_jobs, seed

    @property
    def min_examples(self) -> int:
        """Positive and negative training sentences each theme needs."""
        return self.cv_folds if self.cross_validate else 1

    def fit(self, pipeline: Pipeline, corpus: Corpus) -> TrainingResult:
        themes = list(corpus.themes)
        texts = {name: split["text"] for name, split in corpus.splits.items()}
        y = {name: label_matrix(split["labels"], themes) for name, split in corpus.splits.items()}
        metrics = {}
        if self.cross_validate:
            metrics |= cross_validation(pipeline, texts["train"], y["train"], self.cv_folds, self.seed, self.cv_jobs)
        started = time.perf_counter()
        pipeline.fit(texts["train"], y["train"])
        metrics["speed/fit_seconds"] = time.perf_counter() - started
        metrics["size/train_sentences"] = float(len(texts["train"]))

        held_out = [name for name in corpus.splits if name != "train"]
        scores = {name: pipeline.predict_proba(texts[name]) for name in held_out}
        labels = {name: y[name] for name in held_out}
        thresholds = self.thresholds(labels, scores, len(themes))
        for name in held_out:
            metrics |= split_metrics(name, y[name], scores[name], thresholds, corpus.splits[name]["source"], themes)
        return TrainingResult(metrics, thresholds, pipeline, corpus, scores, labels)
