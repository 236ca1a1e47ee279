"""How fast an exported predictor scores, measured on real sentences at the end of a run."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from train.runtime.predictor import Predictor

BATCH = 20_000  # sentences in the batch measure


def predictor_speed(predictor: Predictor, texts: Sequence[str]) -> dict[str, float]:
    """Batch sentences/s (one process) and the median time of one sentence alone."""
    texts = list(texts)
    batch = texts * max(1, BATCH // max(1, len(texts)))
    started = time.perf_counter()
    predictor.scores(batch)
    batch_rate = len(batch) / (time.perf_counter() - started)
    one = []
    for text in texts[:200]:
        started = time.perf_counter()
        predictor.predict(text)
        one.append(time.perf_counter() - started)
    return {"speed/predict_sentences_per_second": batch_rate, "speed/predict_one_median_ms": float(np.median(one) * 1000)}
