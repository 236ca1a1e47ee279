"""The cost of a large model: load time, peak memory and size of the predictor for
vocabularies of 100k, 1M and 5M n-grams, against fastText with as many n-gram buckets.

    python benchmarks/large_vocab.py                       # 100k, 1m and 5m terms
    python benchmarks/large_vocab.py --terms 100k 1m --work /tmp/large-vocab

For each size, a real model is trained on a synthetic corpus (the first 200,000 sentences of
benchmarks/synthetic.py's 1M, which hold 6.3M distinct word 1-3-grams): word 1-3-grams (min_df 1, the ``max_features`` most frequent kept, so the
vocabulary has exactly that many terms) with one logistic SGD model per theme, exported with
the project's exporter. fastText is trained on the same sentences with word 3-grams and
``bucket`` = the same number of n-gram rows (dim 50, as in compare.py). Both are then loaded
in fresh processes (compare.py's cold-start measure: the median of 5). Prints a Markdown table
with ratios to fastText measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import FASTTEXT, THEMES, cold_start, fasttext_file, prepare_data  # noqa: E402

TERMS = {"100k": 100_000, "1m": 1_000_000, "5m": 5_000_000}


def train_ours(data: Path, sentences: int, terms: int, out: Path) -> float:
    """Fit and export the model; returns the fit seconds."""
    import numpy as np
    from datasets import load_from_disk
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline

    from train.training.publish import export_predictor

    train = load_from_disk(str(data))["train"].select(range(sentences))
    texts = train["text"]
    y = np.array([[theme in labels for theme in THEMES] for labels in train["labels"]], dtype=int)
    vectorizer = TfidfVectorizer(ngram_range=(1, 3), min_df=1, max_features=terms, sublinear_tf=True,
                                 dtype=np.float32)
    pipeline = Pipeline([("features", FeatureUnion([("word", vectorizer)])),
                         ("classifier", OneVsRestClassifier(SGDClassifier(loss="log_loss", max_iter=5, tol=None,
                                                                          random_state=0)))])
    started = time.perf_counter()
    pipeline.fit(texts, y)
    seconds = time.perf_counter() - started
    found = len(vectorizer.vocabulary_)
    if found < terms:
        raise SystemExit(f"the corpus has only {found:,} distinct n-grams; use a larger one")
    export_predictor(pipeline, list(THEMES), [0.5] * len(THEMES), out)
    return seconds


def train_fasttext(data: Path, sentences: int, terms: int, out: Path) -> float:
    import fasttext

    subset = data / f"fasttext-train-{sentences}.txt"
    if not subset.exists():
        with open(fasttext_file(data), encoding="utf-8") as full, open(subset, "w", encoding="utf-8") as part:
            part.writelines(line for _, line in zip(range(sentences), full))
    started = time.perf_counter()
    options = FASTTEXT | {"wordNgrams": 3, "bucket": terms}
    fasttext.train_supervised(input=str(subset), epoch=5, **options).save_model(str(out))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", nargs="+", choices=list(TERMS), default=list(TERMS))
    parser.add_argument("--sentences", type=int, default=200_000, help="training sentences (default: %(default)s)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/theme-large-vocab"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    data = prepare_data("1m", args.work)
    rows = []
    for size in args.terms:
        terms = TERMS[size]
        ours, theirs = args.work / f"ours-{size}" / "model", args.work / f"fasttext-{size}.bin"
        fit = {"ours": train_ours(data, args.sentences, terms, ours),
               "fasttext": train_fasttext(data, args.sentences, terms, theirs)}
        for system, model in (("ours", ours), ("fasttext", theirs)):
            rows.append({"terms": size, "system": system, "fit_s": fit[system], **cold_start(system, model)})
            print(rows[-1], file=sys.stderr, flush=True)
    print(f"\n{platform.machine()}, {os.cpu_count()} CPUs, {args.sentences:,} synthetic sentences\n")
    print("| terms | system | fit s | load ms | peak MB | size MB | cold start s | load / fastText | peak / fastText |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        base = next(r for r in rows if r["terms"] == row["terms"] and r["system"] == "fasttext")
        print(f"| {row['terms']} | {row['system']} | {row['fit_s']:,.0f} | {row['load_ms']:,.0f} | {row['peak_mb']:,.0f} | "
              f"{row['size_mb']:,.1f} | {row['cold_start_s']:.2f} | {row['load_ms'] / base['load_ms']:.2f}x | "
              f"{row['peak_mb'] / base['peak_mb']:.2f}x |")


if __name__ == "__main__":
    main()
