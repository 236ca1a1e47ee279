"""Build the scikit-learn pipeline from the composed Hydra config."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from train.runtime.cues import Cues
from train.runtime.normalise import normalise_text


class TextNormaliser(TransformerMixin, BaseEstimator):
    """The predictor's text normalisation, as the pipeline's first step (stateless)."""

    def fit(self, texts, y=None):
        return self

    def transform(self, texts):
        return [normalise_text(text) for text in texts]


class CueFeatures(TransformerMixin, BaseEstimator):
    """One feature per theme: ``weight`` when the sentence contains one of the theme's guideline
    cues (``train.runtime.cues``), else 0. Stateless; the predictor computes the same block."""

    def __init__(self, themes=("aviation", "counterterrorism", "trade", "visas"), cue_set: str = "guidelines-v1",
                 weight: float = 0.25):
        self.themes, self.cue_set, self.weight = themes, cue_set, weight

    def fit(self, texts, y=None):
        return self

    def transform(self, texts):
        rows, cols = [], []
        for row, hits in enumerate(Cues(list(self.themes), self.cue_set).hits_many(list(texts))):
            rows.extend([row] * len(hits))
            cols.extend(hits)
        values = np.full(len(rows), float(self.weight))
        return sparse.csr_matrix((values, (rows, cols)), shape=(len(texts), len(self.themes)))

    def get_feature_names_out(self, input_features=None):
        return np.array([f"cue:{theme}" for theme in self.themes], dtype=object)


def tuplify_ngram_ranges(estimator: BaseEstimator) -> BaseEstimator:
    """Turn every ``*ngram_range`` list into the tuple scikit-learn expects (YAML has no tuples)."""
    lists = {k: tuple(v) for k, v in estimator.get_params(deep=True).items()
             if k.endswith("ngram_range") and isinstance(v, list)}
    return estimator.set_params(**lists)


def build_pipeline(cfg: DictConfig, multilabel: Callable[[BaseEstimator], BaseEstimator]) -> Pipeline:
    """normalise -> features -> one linear model per theme (``multilabel``, the trainer's), each scoring in [0, 1]."""
    features = instantiate(cfg.features, _convert_="all")
    model = instantiate(cfg.model, _convert_="all")
    if not hasattr(model, "predict_proba"):
        model = instantiate(cfg.calibration)(estimator=model)
    pipeline = Pipeline([("normalise", TextNormaliser()), ("features", features), ("classifier", multilabel(model))])
    return tuplify_ngram_ranges(pipeline)
