"""What a trainer gives back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline

from train.data.corpus import Corpus


@dataclass
class TrainingResult:
    metrics: dict[str, float]
    thresholds: np.ndarray
    pipeline: Pipeline
    corpus: Corpus
    scores: dict[str, np.ndarray]  # per evaluated split: probability per sentence and theme
    labels: dict[str, np.ndarray]  # per evaluated split: 0/1 per sentence and theme
