"""The streaming trainer, for corpora too large for memory: hashed features, SGD with
partial_fit, chunks read batch by batch from an Arrow DatasetDict saved on disk."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import nullcontext

import numpy as np
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from train.data.arrow import arrow_label_matrix, iter_chunks
from train.data.corpus import Corpus
from train.runtime.errors import ConfigError
from train.training.evaluation import ThresholdTuner, split_metrics
from train.training.processes import workers_end_with_this_process
from train.training.result import TrainingResult

SOURCE = "streamed"  # source name for rows that carry none


def _transform(features, texts: list[str], parallel: Parallel | None):
    """Hash a chunk, split over worker processes when there are several."""
    if parallel is None:
        return features.transform(texts)
    step = math.ceil(len(texts) / parallel.n_jobs)
    parts = parallel(delayed(features.transform)(texts[i:i + step]) for i in range(0, len(texts), step))
    return sparse.vstack(parts, format="csr")


def evaluate_split(pipeline, split, themes, chunk_size: int, parallel: Parallel | None, desc: str):
    """(probability per row and theme, 0/1 labels, source per row), chunk by chunk."""
    features, classifier = pipeline[:-1], pipeline.named_steps["classifier"]
    columns = ["text", "labels"] + (["source"] if "source" in split.column_names else [])
    scores, labels, sources = [], [], []
    for chunk in tqdm(iter_chunks(split, chunk_size, columns), desc=desc, unit=" chunks", disable=None, leave=False):
        probabilities = classifier.predict_proba(_transform(features, chunk["text"].to_pylist(), parallel))
        scores.append(np.column_stack([p[:, 1] for p in probabilities]))
        labels.append(arrow_label_matrix(chunk["labels"], themes))
        sources.extend(chunk["source"].to_pylist() if "source" in columns else [SOURCE] * len(chunk))
    return np.vstack(scores), np.vstack(labels), sources


class StreamingTrainer:
    """Passes over the training split in chunks with ``partial_fit``; needs features that need
    no fitting (hashing) and a model with ``partial_fit`` (sgd)."""

    min_examples = 1  # no cross-validation

    def __init__(self, multilabel: Callable[[BaseEstimator], BaseEstimator], thresholds: ThresholdTuner,
                 chunk_size: int = 50_000, epochs: int = 1, shuffle: bool = True, n_jobs: int = 1,
                 alpha: float | str = "inverse_train_size", seed: int = 0):
        if alpha != "inverse_train_size" and not isinstance(alpha, (int, float)):
            raise ConfigError(f"trainer.alpha must be a number or inverse_train_size, got {alpha!r}")
        self.multilabel, self.thresholds = multilabel, thresholds
        self.chunk_size, self.epochs, self.shuffle, self.n_jobs = chunk_size, epochs, shuffle, n_jobs
        self.alpha, self.seed = alpha, seed

    def fit(self, pipeline: Pipeline, corpus: Corpus) -> TrainingResult:
        themes, train = corpus.themes, corpus.splits["train"]
        features, classifier = pipeline[:-1], pipeline.named_steps["classifier"]
        # SGD's default alpha over-regularises as data grows; 1/n keeps the fit sharp at any size.
        alpha = 1.0 / len(train) if self.alpha == "inverse_train_size" else float(self.alpha)
        classifier.estimator.set_params(alpha=alpha)
        started = time.perf_counter()
        with workers_end_with_this_process(), Parallel(n_jobs=self.n_jobs) if self.n_jobs > 1 else nullcontext() \
                as parallel:
            with tqdm(total=self.epochs * len(train), desc="training", unit=" sentences", unit_scale=True,
                      disable=None) as bar:
                for epoch in range(self.epochs):
                    # SGD learns badly from rows in file order (all of one theme, then the next).
                    rows = train.shuffle(seed=self.seed + epoch) if self.shuffle else train
                    for chunk in iter_chunks(rows, self.chunk_size, ["text", "labels"]):
                        x = _transform(features, chunk["text"].to_pylist(), parallel)
                        classifier.partial_fit(x, arrow_label_matrix(chunk["labels"], themes),
                                               classes=[[0, 1]] * len(themes))
                        bar.update(len(chunk))
            metrics = {"speed/fit_seconds": time.perf_counter() - started, "size/train_sentences": float(len(train))}
            names = [n for n in corpus.splits if n != "train"]
            evaluated = {n: evaluate_split(pipeline, corpus.splits[n], themes, self.chunk_size, parallel, n)
                         for n in names}
        scores = {n: e[0] for n, e in evaluated.items()}
        labels = {n: e[1] for n, e in evaluated.items()}
        thresholds = self.thresholds(labels, scores, len(themes))
        for name in names:
            metrics |= split_metrics(name, labels[name], scores[name], thresholds, evaluated[name][2], list(themes))
        return TrainingResult(metrics, thresholds, pipeline, corpus, scores, labels)
