"""Evaluation artifacts a person reads: per-theme report, plots, top terms, misclassified sentences."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never open a window
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    classification_report,
    multilabel_confusion_matrix,
)


def write_report(out: Path, y_true: np.ndarray, scores: np.ndarray, thresholds: np.ndarray,
                 themes: list[str], split: str) -> list[Path]:
    """Classification report, one confusion matrix per theme and precision-recall curves of
    one evaluated split, in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    y_pred = (scores >= thresholds).astype(int)
    written = [out / f"classification_report_{split}.txt"]
    written[0].write_text(
        classification_report(y_true, y_pred, target_names=themes, zero_division=0, digits=3), encoding="utf-8"
    )
    for theme, matrix in zip(themes, multilabel_confusion_matrix(y_true, y_pred)):
        fig, ax = plt.subplots(figsize=(3.2, 3))
        ConfusionMatrixDisplay(matrix, display_labels=["other", theme]).plot(ax=ax, colorbar=False)
        ax.set_title(f"{theme} ({split})")
        written.append(_save(fig, out / f"confusion_{split}_{theme}.png"))
    fig, ax = plt.subplots(figsize=(5, 4))
    for t, theme in enumerate(themes):
        PrecisionRecallDisplay.from_predictions(y_true[:, t], scores[:, t], name=theme, ax=ax)
    ax.set_title(f"Precision-recall on {split}")
    written.append(_save(fig, out / f"precision_recall_{split}.png"))
    return written


def swept_settings(jobs: list[str]) -> list[dict[str, str]]:
    """Per job (named by its overrides, ``key=value ...``), the settings that differ between jobs."""
    settings = [dict(o.split("=", 1) for o in job.split() if "=" in o) for job in jobs]
    varied = {k for k in {k for s in settings for k in s} if len({s.get(k) for s in settings}) > 1}
    return [{k: v for k, v in s.items() if k in varied} for s in settings]


def plot_sweep(jobs: list[str], values: list[float], metric: str, path: Path) -> bool:
    """``metric`` of each job against each setting the sweep varied (jobs are named by their
    overrides, ``key=value ...``), one panel per setting; False when no setting varied."""
    settings = swept_settings(jobs)
    swept = sorted({k for s in settings for k in s})
    if not swept:
        return False
    fig, axes = plt.subplots(1, len(swept), figsize=(3.2 * len(swept), 3), sharey=True, squeeze=False)
    for ax, key in zip(axes[0], swept):
        labels = sorted({s.get(key, "(default)") for s in settings}, key=_number_first)
        ax.scatter([labels.index(s.get(key, "(default)")) for s in settings], values)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.set_xlabel(key)
    axes[0][0].set_ylabel(metric)
    _save(fig, path)
    return True


def _number_first(label: str) -> tuple:
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def top_terms(spec: dict, vocabularies: list, coef: np.ndarray, k: int = 20) -> dict[str, dict[str, list]]:
    """The k n-grams with the largest and smallest weight for each theme, from the exported
    arrays (hashed blocks have no names and are left out)."""
    names, rows, start = [], [], 0
    for block, terms in zip(spec["blocks"], vocabularies):
        width = len(terms) if terms is not None else block["n_features"]
        if terms is not None:
            names.extend(terms)
            rows.extend(range(start, start + width))
        start += width
    result = {}
    if not rows:
        return result
    names, weights = np.asarray(names, dtype=object), coef[rows]
    for t, theme in enumerate(spec["themes"]):
        order = np.argsort(weights[:, t])
        result[theme] = {
            "positive": [[str(names[i]), round(float(weights[i, t]), 4)] for i in order[::-1][:k]],
            "negative": [[str(names[i]), round(float(weights[i, t]), 4)] for i in order[:k]],
        }
    return result


def misclassified(split, y_true: np.ndarray, scores: np.ndarray, thresholds: np.ndarray,
                  themes: list[str], limit: int = 1000) -> dict[str, list]:
    """Columns of a table of (at most ``limit``) sentences whose predicted themes differ from their labels."""
    y_pred = scores >= thresholds
    wrong = np.flatnonzero((y_pred != y_true.astype(bool)).any(axis=1))[:limit]
    rows = split.select(wrong)

    def names(row):
        return ", ".join(t for t, on in zip(themes, row) if on)

    table = {name: rows[name] for name in ("id", "source", "text") if name in rows.column_names}
    table["labels"] = [names(y_true[i]) for i in wrong]
    table["predicted"] = [names(y_pred[i]) for i in wrong]
    for t, theme in enumerate(themes):
        table[f"score_{theme}"] = [round(float(scores[i, t]), 4) for i in wrong]
    return table
