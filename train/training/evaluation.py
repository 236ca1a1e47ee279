"""Multi-label metrics, threshold tuning and cross-validation.

Metric names are ``<split>/<metric>`` (``realcopy_test/macro_f1``, ``test/trade_f1``,
``cv/macro_f1_mean``), so the MLflow UI groups them by split.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import cross_validate

from train.training.processes import workers_end_with_this_process

# The numbers users choose a model by, in the order they read them: real copy first.
HEADLINE_METRICS = ("realcopy_test/macro_f1", "realcopy_dev/macro_f1", "test/macro_f1", "validation/macro_f1")


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray, themes: Sequence[str]) -> dict[str, float]:
    """Macro/micro F1, subset accuracy, no-theme accuracy and per-theme precision/recall/F1."""
    metrics = {
        "macro_f1": f1_score(y_true, y_pred, average="macro", zero_division=0),
        "micro_f1": f1_score(y_true, y_pred, average="micro", zero_division=0),
        "subset_accuracy": accuracy_score(y_true, y_pred),
    }
    no_theme = y_true.sum(axis=1) == 0
    # Of the sentences with no theme, the share the model also leaves with none.
    metrics["no_theme_accuracy"] = float((y_pred[no_theme].sum(axis=1) == 0).mean()) if no_theme.any() else float("nan")
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    for i, theme in enumerate(themes):
        metrics[f"{theme}_precision"] = precision[i]
        metrics[f"{theme}_recall"] = recall[i]
        metrics[f"{theme}_f1"] = f1[i]
        metrics[f"{theme}_support"] = support[i]
    return {name: float(value) for name, value in metrics.items()}


def per_source_metrics(y: np.ndarray, predicted: np.ndarray, sources: Sequence[str]) -> dict[str, float]:
    """Headline metrics for each data source, macro F1 over the themes present in it."""
    metrics = {}
    sources = np.asarray(sources)
    if len(set(sources)) < 2:
        return metrics  # one source: the split's own metrics say it all
    for source in sorted(set(sources)):
        rows = sources == source
        present = np.flatnonzero(y[rows].sum(axis=0) + predicted[rows].sum(axis=0))
        metrics[f"{source}_count"] = float(rows.sum())
        metrics[f"{source}_micro_f1"] = float(f1_score(y[rows], predicted[rows], average="micro", zero_division=0))
        metrics[f"{source}_macro_f1"] = float(
            f1_score(y[rows], predicted[rows], average="macro", labels=present, zero_division=0)
        ) if len(present) else float("nan")
        metrics[f"{source}_subset_accuracy"] = float((y[rows] == predicted[rows]).all(axis=1).mean())
    return metrics


def split_metrics(name: str, y: np.ndarray, scores: np.ndarray, thresholds: np.ndarray, sources: Sequence[str],
                  themes: Sequence[str]) -> dict[str, float]:
    """Every metric of one evaluated split, named ``<name>/<metric>``."""
    predicted = (scores >= thresholds).astype(int)
    metrics = multilabel_metrics(y, predicted, themes) | per_source_metrics(y, predicted, sources)
    metrics["size"] = float(len(y))
    return {f"{name}/{key}": value for key, value in metrics.items()}


class ThresholdTuner:
    """Per-theme decision thresholds: the grid value that maximises F1 on the tuning splits
    (ties go to the one nearest 0.5), or 0.5 for every theme when ``tune`` is false."""

    def __init__(self, tune: bool = True, splits: Sequence[str] = ("validation",), start: float = 0.2,
                 stop: float = 0.8, step: float = 0.05):
        self.tune, self.splits = tune, tuple(splits)
        self.grid = np.arange(start, stop + 1e-9, step).round(6)

    def __call__(self, labels: dict[str, np.ndarray], scores: dict[str, np.ndarray], n_themes: int) -> np.ndarray:
        present = [s for s in self.splits if s in labels]
        if not self.tune or not present:
            return np.full(n_themes, 0.5)
        y, s = np.vstack([labels[n] for n in present]), np.vstack([scores[n] for n in present])
        order = np.argsort(np.abs(self.grid - 0.5), kind="stable")
        best = []
        for t in range(n_themes):
            f1s = [f1_score(y[:, t], s[:, t] >= self.grid[i], zero_division=0) for i in order]
            best.append(self.grid[order[int(np.argmax(f1s))]])
        return np.array(best)


def cross_validation(pipeline, texts: list[str], y: np.ndarray, folds: int, seed: int, n_jobs: int) -> dict[str, float]:
    """Mean and standard deviation of macro/micro F1 over multi-label stratified folds."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    splitter = MultilabelStratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with workers_end_with_this_process():
        scores = cross_validate(clone(pipeline), np.asarray(texts, dtype=object), y, cv=splitter,
                                scoring=("f1_macro", "f1_micro"), n_jobs=n_jobs)
    return {
        f"cv/{name}_f1_{stat}": float(fn(scores[f"test_f1_{name}"]))
        for name in ("macro", "micro")
        for stat, fn in (("mean", np.mean), ("std", np.std))
    }
