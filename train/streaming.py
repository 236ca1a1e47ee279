"""Streaming training for corpora too large for memory: hashed features, SGD with partial_fit,
chunks read from a memory-mapped Arrow DatasetDict on disk."""

from __future__ import annotations

import hashlib
import math
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from datasets import DatasetDict, load_from_disk
from joblib import Parallel, delayed
from omegaconf import DictConfig
from scipy import sparse
from tqdm.auto import tqdm

from train.corpus import Corpus, DataError, label_matrix
from train.training import Prepared, TrainingResult, export, split_metrics, thresholds_for

SOURCE = "streamed"  # source name for rows that carry none


def load_arrow_corpus(path: str, themes: list[str]) -> Corpus:
    """A DatasetDict saved with ``save_to_disk`` (train and test; validation optional), memory-mapped."""
    if not (Path(path) / "dataset_dict.json").is_file():
        raise DataError(f"{path}: not a saved DatasetDict; write one with DatasetDict.save_to_disk")
    splits = load_from_disk(path)
    missing = {"train", "test"} - set(splits)
    if missing:
        raise DataError(f"{path}: missing split(s) {', '.join(sorted(missing))}")
    for name, split in splits.items():
        if not {"text", "labels"} <= set(split.column_names):
            raise DataError(f"{path}: split {name!r} needs 'text' and 'labels' columns, has {split.column_names}")
    digest = hashlib.sha256("".join(splits[n]._fingerprint for n in sorted(splits)).encode()).hexdigest()[:16]
    return Corpus(DatasetDict(splits), tuple(themes), digest, 0)


def _labels(chunk_labels: list[list[str]], themes: tuple[str, ...]) -> np.ndarray:
    try:
        return label_matrix(chunk_labels, themes)
    except KeyError as err:
        raise DataError(f"unknown theme {err.args[0]!r} in the data; use {', '.join(themes)}") from None


def _transform(vectorizer, texts: list[str], parallel: Parallel | None):
    """Hash a chunk, split over worker processes when there are several."""
    if parallel is None:
        return vectorizer.transform(texts)
    step = math.ceil(len(texts) / parallel.n_jobs)
    parts = parallel(delayed(vectorizer.transform)(texts[i:i + step]) for i in range(0, len(texts), step))
    return sparse.vstack(parts, format="csr")


def predict_scores(pipeline, split, chunk_size: int, parallel: Parallel | None, desc: str) -> np.ndarray:
    """Probability per row and theme, chunk by chunk."""
    vectorizer, classifier = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
    out = []
    for chunk in tqdm(split.iter(batch_size=chunk_size), total=math.ceil(len(split) / chunk_size), desc=desc,
                      disable=None, leave=False):
        probabilities = classifier.predict_proba(_transform(vectorizer, chunk["text"], parallel))
        out.append(np.column_stack([p[:, 1] for p in probabilities]))
    return np.vstack(out)


def train_streaming(cfg: DictConfig, prepared: Prepared) -> TrainingResult:
    """Fit by passes over the training split in chunks, then evaluate and export."""
    corpus, pipeline = prepared.corpus, prepared.pipeline
    themes, train = corpus.themes, corpus.splits["train"]
    vectorizer, classifier = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
    if cfg.trainer.alpha == "inverse_train_size":
        # SGD's default alpha over-regularises as data grows; 1/n keeps the fit sharp at any size.
        classifier.estimator.set_params(alpha=1.0 / len(train))
    n_chunks = math.ceil(len(train) / cfg.trainer.chunk_size)
    started = time.perf_counter()
    with Parallel(n_jobs=cfg.trainer.n_jobs) if cfg.trainer.n_jobs > 1 else nullcontext() as parallel:
        with tqdm(total=cfg.trainer.epochs * n_chunks, desc="training", unit="chunk", disable=None) as bar:
            for epoch in range(cfg.trainer.epochs):
                # SGD learns badly from rows in file order (all of one theme, then the next).
                rows = train.shuffle(seed=cfg.seed + epoch) if cfg.trainer.shuffle else train
                for chunk in rows.iter(batch_size=cfg.trainer.chunk_size):
                    x = _transform(vectorizer, chunk["text"], parallel)
                    classifier.partial_fit(x, _labels(chunk["labels"], themes), classes=[[0, 1]] * len(themes))
                    bar.update()
        metrics = {"fit_seconds": time.perf_counter() - started, "train_size": float(len(train)),
                   "n_features": float(vectorizer.n_features)}
        names = [n for n in ("validation", "test") if n in corpus.splits]
        scores = {n: predict_scores(pipeline, corpus.splits[n], cfg.trainer.chunk_size, parallel, n) for n in names}
    y = {n: _labels(corpus.splits[n]["labels"], themes) for n in names}
    thresholds = thresholds_for(cfg, y.get("validation"), scores.get("validation"), len(themes))
    for name in names:
        split = corpus.splits[name]
        sources = split["source"] if "source" in split.column_names else [SOURCE] * len(split)
        metrics.update(split_metrics(name, y[name], scores[name], thresholds, sources, list(themes)))
    export_dir = export(cfg, prepared, thresholds, metrics)
    return TrainingResult(metrics, thresholds, pipeline, corpus, scores["test"], export_dir)

