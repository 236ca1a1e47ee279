"""Streaming training for corpora too large for memory: hashed features, SGD with partial_fit,
chunks read batch by batch from an Arrow DatasetDict saved on disk."""

from __future__ import annotations

import hashlib
import math
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import DatasetDict, load_from_disk
from joblib import Parallel, delayed
from omegaconf import DictConfig
from scipy import sparse
from tqdm.auto import tqdm

from train.corpus import Corpus, DataError
from train.training import Prepared, TrainingResult, export, split_metrics, thresholds_for

SOURCE = "streamed"  # source name for rows that carry none


def load_arrow_corpus(path: str, themes: list[str]) -> Corpus:
    """A DatasetDict saved with ``save_to_disk`` (train and test; validation optional), left on disk."""
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


def iter_chunks(split, chunk_size: int, columns: list[str]):
    """Arrow tables of about ``chunk_size`` rows.

    A split that is a plain set of Arrow files is read batch by batch from the files, not
    memory-mapped, so resident memory stays flat however large the corpus; a shuffled or
    selected split is read through its index mapping instead."""
    if getattr(split, "_indices", None) is not None or not split.cache_files:
        yield from split.select_columns(columns).with_format("arrow").iter(batch_size=chunk_size)
        return
    pending, rows = [], 0
    for cache_file in split.cache_files:
        with pa.OSFile(cache_file["filename"]) as source:
            for batch in pa.ipc.open_stream(source):
                pending.append(batch.select(columns))
                rows += batch.num_rows
                if rows >= chunk_size:
                    yield pa.Table.from_batches(pending)
                    pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _labels(column: pa.ChunkedArray, themes: tuple[str, ...]) -> np.ndarray:
    """0/1 matrix of a list<string> column, computed in Arrow (no Python list per row)."""
    column = column.combine_chunks()
    names = pc.list_flatten(column)
    positions = pc.index_in(names, value_set=pa.array(themes))
    if positions.null_count:
        unknown = names.filter(pc.is_null(positions))[0].as_py()
        raise DataError(f"unknown theme {unknown!r} in the data; use {', '.join(themes)}")
    matrix = np.zeros((len(column), len(themes)), dtype=np.int8)
    matrix[pc.list_parent_indices(column).to_numpy(), positions.to_numpy()] = 1
    return matrix


def _transform(vectorizer, texts: list[str], parallel: Parallel | None):
    """Hash a chunk, split over worker processes when there are several."""
    if parallel is None:
        return vectorizer.transform(texts)
    step = math.ceil(len(texts) / parallel.n_jobs)
    parts = parallel(delayed(vectorizer.transform)(texts[i:i + step]) for i in range(0, len(texts), step))
    return sparse.vstack(parts, format="csr")


def evaluate_split(pipeline, split, themes, chunk_size: int, parallel: Parallel | None, desc: str):
    """(probability per row and theme, 0/1 labels, source per row), chunk by chunk."""
    vectorizer, classifier = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
    columns = ["text", "labels"] + (["source"] if "source" in split.column_names else [])
    scores, labels, sources = [], [], []
    for chunk in tqdm(iter_chunks(split, chunk_size, columns), desc=desc, unit=" chunks", disable=None, leave=False):
        probabilities = classifier.predict_proba(_transform(vectorizer, chunk["text"].to_pylist(), parallel))
        scores.append(np.column_stack([p[:, 1] for p in probabilities]))
        labels.append(_labels(chunk["labels"], themes))
        sources.extend(chunk["source"].to_pylist() if "source" in columns else [SOURCE] * len(chunk))
    return np.vstack(scores), np.vstack(labels), sources


def train_streaming(cfg: DictConfig, prepared: Prepared) -> TrainingResult:
    """Fit by passes over the training split in chunks, then evaluate and export."""
    corpus, pipeline = prepared.corpus, prepared.pipeline
    themes, train = corpus.themes, corpus.splits["train"]
    vectorizer, classifier = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
    if cfg.trainer.alpha == "inverse_train_size":
        # SGD's default alpha over-regularises as data grows; 1/n keeps the fit sharp at any size.
        classifier.estimator.set_params(alpha=1.0 / len(train))
    started = time.perf_counter()
    with Parallel(n_jobs=cfg.trainer.n_jobs) if cfg.trainer.n_jobs > 1 else nullcontext() as parallel:
        with tqdm(total=cfg.trainer.epochs * len(train), desc="training", unit=" sentences", unit_scale=True,
                  disable=None) as bar:
            for epoch in range(cfg.trainer.epochs):
                # SGD learns badly from rows in file order (all of one theme, then the next).
                rows = train.shuffle(seed=cfg.seed + epoch) if cfg.trainer.shuffle else train
                for chunk in iter_chunks(rows, cfg.trainer.chunk_size, ["text", "labels"]):
                    x = _transform(vectorizer, chunk["text"].to_pylist(), parallel)
                    classifier.partial_fit(x, _labels(chunk["labels"], themes), classes=[[0, 1]] * len(themes))
                    bar.update(len(chunk))
        metrics = {"fit_seconds": time.perf_counter() - started, "train_size": float(len(train)),
                   "n_features": float(vectorizer.n_features)}
        names = [n for n in ("validation", "test") if n in corpus.splits]
        evaluated = {n: evaluate_split(pipeline, corpus.splits[n], themes, cfg.trainer.chunk_size, parallel, n)
                     for n in names}
    scores = {n: e[0] for n, e in evaluated.items()}
    y = {n: e[1] for n, e in evaluated.items()}
    thresholds = thresholds_for(cfg, y.get("validation"), scores.get("validation"), len(themes))
    for name in names:
        metrics.update(split_metrics(name, y[name], scores[name], thresholds, evaluated[name][2], list(themes)))
    export_dir = export(cfg, prepared, thresholds, metrics)
    return TrainingResult(metrics, thresholds, pipeline, corpus, scores["test"], y["test"], export_dir)

