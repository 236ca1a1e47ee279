"""A fitted scikit-learn pipeline as the plain arrays and JSON that the runtime ``Predictor`` reads."""

from __future__ import annotations

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from train.runtime.analyzers import TOKEN_PATTERNS
from train.runtime.errors import UnsupportedModelError
from train.runtime.model_folder import FORMAT
from train.runtime.normalise import NORMALISATION
from train.training.pipeline import CueFeatures, TextNormaliser

VECTORIZERS = (TfidfVectorizer, HashingVectorizer)


def _vectorizers(features) -> list[TfidfVectorizer | HashingVectorizer | CueFeatures]:
    if isinstance(features, VECTORIZERS):
        parts = [features]
    elif isinstance(features, FeatureUnion) and not features.transformer_weights:
        parts = [t for _, t in features.transformer_list if t not in ("drop", None)]
    else:
        raise UnsupportedModelError("features must be a TfidfVectorizer, a HashingVectorizer, or a FeatureUnion "
                                    "of them without weights")
    for v in parts:
        if isinstance(v, CueFeatures):
            continue
        if not isinstance(v, VECTORIZERS) or callable(v.analyzer) or v.tokenizer or v.preprocessor \
                or callable(v.strip_accents) or v.input != "content":
            raise UnsupportedModelError(f"{v!r}: only vectorizers with built-in analyzer settings can be exported")
        if v.token_pattern not in TOKEN_PATTERNS:
            raise UnsupportedModelError(f"token_pattern {v.token_pattern!r}: the export supports "
                                        f"{' or '.join(map(repr, TOKEN_PATTERNS))}")
        if isinstance(v, HashingVectorizer) and v.alternate_sign:
            raise UnsupportedModelError("HashingVectorizer must have alternate_sign=False to be exported")
    return parts


def _block(v: TfidfVectorizer | HashingVectorizer | CueFeatures) -> tuple[dict, list[str] | None]:
    if isinstance(v, CueFeatures):
        spec = {"kind": "cues", "cue_set": v.cue_set, "themes": list(v.themes), "weight": float(v.weight)}
        return spec, [str(name) for name in v.get_feature_names_out()]
    stop_words = v.get_stop_words()
    spec = {
        "kind": "hashing" if isinstance(v, HashingVectorizer) else "vocabulary",
        "analyzer": v.analyzer,
        "ngram_range": list(v.ngram_range),
        "lowercase": v.lowercase,
        "strip_accents": v.strip_accents,
        "token_pattern": v.token_pattern,
        "stop_words": sorted(stop_words) if stop_words else None,
        "binary": v.binary,
        "sublinear_tf": getattr(v, "sublinear_tf", False),
        "norm": v.norm,
    }
    if isinstance(v, HashingVectorizer):
        spec["n_features"] = v.n_features
        return spec, None
    terms = [None] * len(v.vocabulary_)
    for term, index in v.vocabulary_.items():
        terms[index] = term
    return spec, terms


def _linear_scorer(estimator) -> tuple[np.ndarray, float, float, float]:
    """(coef, intercept, scale, offset) with probability = sigmoid(scale * (x.coef + intercept) + offset)."""
    if isinstance(estimator, CalibratedClassifierCV):
        calibrated = estimator.calibrated_classifiers_
        if len(calibrated) != 1 or calibrated[0].method != "sigmoid":
            raise UnsupportedModelError("calibration must be method=sigmoid with ensemble=False to be exported")
        base, sigmoid = calibrated[0].estimator, calibrated[0].calibrators[0]
        scale, offset = -float(sigmoid.a_), -float(sigmoid.b_)
    elif isinstance(estimator, LogisticRegression) or (
        isinstance(estimator, SGDClassifier) and estimator.loss == "log_loss"
    ):
        base, scale, offset = estimator, 1.0, 0.0
    else:
        raise UnsupportedModelError(
            f"{type(estimator).__name__}: export supports logistic models or sigmoid-calibrated linear ones"
        )
    if not hasattr(base, "coef_") or np.atleast_2d(base.coef_).shape[0] != 1:
        raise UnsupportedModelError(f"{type(base).__name__} is not a fitted binary linear model")
    return base.coef_.ravel(), float(np.ravel(base.intercept_)[0]), scale, offset


def predictor_files(pipeline: Pipeline, themes: list[str], thresholds: list[float]) -> tuple[dict, list, dict]:
    """The spec, vocabularies and weight arrays that reproduce ``pipeline.predict_proba``."""
    steps = [type(step) for _, step in pipeline.steps[:-2]]
    if steps not in ([], [TextNormaliser]):
        raise UnsupportedModelError("the pipeline must be [TextNormaliser,] features, classifier to be exported")
    classifier = pipeline.named_steps["classifier"]
    estimators = getattr(classifier, "estimators_", [])
    if len(estimators) != len(themes) or any(list(getattr(e, "classes_", [])) != [0, 1] for e in estimators):
        raise UnsupportedModelError("the classifier must be fitted on a 0/1 matrix with one column per theme, "
                                    "by one binary model per theme")
    blocks, vocabularies, weights = [], [], {}
    for i, vectorizer in enumerate(_vectorizers(pipeline.named_steps["features"])):
        spec, terms = _block(vectorizer)
        blocks.append(spec)
        vocabularies.append(terms)
        if getattr(vectorizer, "use_idf", False):
            weights[f"idf_{i}"] = vectorizer.idf_.astype(np.float64)
    scorers = [_linear_scorer(e) for e in estimators]
    weights["coef"] = np.column_stack([s[0] for s in scorers]).astype(np.float64)
    for key, column in (("intercept", 1), ("scale", 2), ("offset", 3)):
        weights[key] = np.array([s[column] for s in scorers], dtype=np.float64)
    spec = {"format": FORMAT, "themes": list(themes), "thresholds": [float(t) for t in thresholds], "blocks": blocks}
    if steps:  # the predictor normalises text as the TextNormaliser step did
        spec["normalisation"] = NORMALISATION
    return spec, vocabularies, weights
