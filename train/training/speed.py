"""How fast an exported predictor scores, measured on real sentences at the end of a run."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from train.runtime.predictor import Predictor

MEASURE_SECONDS = 0.5  # batches are scored for at least this long


def predictor_speed(predictor: Predictor, texts: Sequence[str]) -> dict[str, float]:
    """Batch sentences/s (one process), and the median time of one sentence alone once the
    sentences have been seen."""
    texts = list(texts)
    scored, started = 0, time.perf_counter()
    while scored == 0 or time.perf_counter() - started < MEASURE_SECONDS:
        predictor.scores(texts)
        scored += len(texts)
    batch_rate = scored / (time.perf_counter() - started)
    for text in texts[:200]:  # one pass first: the one-sentence path fills its caches as terms come
        predictor.predict(text)
    one = []
    for text in texts[:200]:
        started = time.perf_counter()
        predictor.predict(text)
        one.append(time.perf_counter() - started)
    return {"speed/predict_sentences_per_second": batch_rate, "speed/predict_one_median_ms": float(np.median(one) * 1000)}
