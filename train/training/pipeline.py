"""Build the scikit-learn pipeline from the composed Hydra config."""

from __future__ import annotations

from collections.abc import Callable

from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from train.runtime.normalise import normalise_text


class TextNormaliser(TransformerMixin, BaseEstimator):
    """The predictor's text normalisation, as the pipeline's first step (stateless)."""

    def fit(self, texts, y=None):
        return self

    def transform(self, texts):
        return [normalise_text(text) for text in texts]


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
