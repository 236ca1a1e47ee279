"""Export a fitted scikit-learn pipeline as the plain arrays and JSON that ``Predictor`` reads.

The directory is written beside its final place and swapped in with one atomic rename
of a symlink, so a reader sees the old model or the new one, never a mix, and a crash
or a kill part-way leaves the previous export in place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from train.predictor import FORMAT, MANIFEST_FILE, SPEC_FILE, VOCABULARY_FILE, WEIGHTS_FILE, sha256_file

KEEP_VERSIONS = 2  # the live export and the one before it, for a quick roll-back
INCOMPLETE = "incomplete-"  # prefix of a version folder still being written, then its writer's pid


class UnsupportedModelError(ValueError):
    """A pipeline part the array export cannot represent exactly."""


VECTORIZERS = (TfidfVectorizer, HashingVectorizer)


def _vectorizers(features) -> list[TfidfVectorizer | HashingVectorizer]:
    if isinstance(features, VECTORIZERS):
        parts = [features]
    elif isinstance(features, FeatureUnion) and not features.transformer_weights:
        parts = [t for _, t in features.transformer_list if t not in ("drop", None)]
    else:
        raise UnsupportedModelError("features must be a TfidfVectorizer, a HashingVectorizer, or a FeatureUnion "
                                    "of them without weights")
    for v in parts:
        if not isinstance(v, VECTORIZERS) or callable(v.analyzer) or v.tokenizer or v.preprocessor \
                or callable(v.strip_accents) or v.input != "content":
            raise UnsupportedModelError(f"{v!r}: only vectorizers with built-in analyzer settings can be exported")
        if isinstance(v, HashingVectorizer) and v.alternate_sign:
            raise UnsupportedModelError("HashingVectorizer must have alternate_sign=False to be exported")
    return parts


def _block(v: TfidfVectorizer | HashingVectorizer) -> tuple[dict, list[str] | None]:
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
    return spec, vocabularies, weights


def export_predictor(
    pipeline: Pipeline,
    themes: list[str],
    thresholds: list[float],
    target: Path,
    extra_files: dict[str, str] | None = None,
    info: dict | None = None,
) -> Path:
    """Write the predictor to ``target`` (a symlink to a fresh version folder) and return it."""
    spec, vocabularies, weights = predictor_files(pipeline, themes, thresholds)
    spec.update(info or {}, name=target.name, created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    versions = target.parent / f".{target.name}.versions"
    versions.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{INCOMPLETE}{os.getpid()}-", dir=versions))
    try:
        (staging / SPEC_FILE).write_text(json.dumps(spec, indent=2), encoding="utf-8")
        (staging / VOCABULARY_FILE).write_text(json.dumps(vocabularies, ensure_ascii=False), encoding="utf-8")
        np.savez(staging / WEIGHTS_FILE, **weights)
        for name, text in (extra_files or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
        manifest = {"sha256": {p.name: sha256_file(p) for p in sorted(staging.iterdir())}}
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        for path in staging.iterdir():
            path.chmod(0o644)
        final = versions / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S.%f}-{uuid.uuid4().hex[:6]}"
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap_in(target, final)
    _prune(versions, keep={final.name})
    return target


def _swap_in(target: Path, version: Path) -> None:
    """Point ``target`` at ``version`` with one atomic rename."""
    if target.exists() and not target.is_symlink():
        # A plain folder from a copy or an older layout: keep it as a version, then link.
        target.rename(version.parent / f"{version.name}-previous")
    link = target.parent / f".{target.name}.link-{uuid.uuid4().hex[:8]}"
    link.symlink_to(version.relative_to(target.parent))
    os.replace(link, target)


def _prune(versions: Path, keep: set[str]) -> None:
    """Remove old versions and what killed exports left behind, keeping the newest few."""
    finished = sorted((p for p in versions.iterdir() if not p.name.startswith(INCOMPLETE)), reverse=True)
    for old in finished[KEEP_VERSIONS:]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    for staging in versions.glob(f"{INCOMPLETE}*"):
        if not _alive(int(staging.name.split("-")[1])):
            shutil.rmtree(staging, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
