"""`theme-predict`: label sentences with an exported model, one output line per input line.

    theme-predict "Tariffs on Pakistani textiles fell." "Flights resumed."
    theme-predict --file sentences.txt        # one sentence per line
    cat sentences.txt | theme-predict --model models:/theme-classifier@champion
    theme-predict --format tsv --file sentences.txt > scored.tsv   # or --format table, to read
    theme-predict --info                      # which export, MLflow run and registered version, and scoring path

Works in the base install (NumPy, mmh3, pyahocorasick); ``models:/`` URIs need the ``[train]`` extra.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from train.cli.errors import user_errors
from train.runtime import kernel
from train.runtime.paths import DEFAULT_MODEL
from train.runtime.predictor import Predictor

DIGITS = 4  # scores are rounded alike in every output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theme-predict", description="Label English news sentences by theme.")
    parser.add_argument("sentences", nargs="*", help="sentences to label (default: read stdin, one per line)")
    parser.add_argument("--file", type=Path, help="read sentences from this file, one per line")
    parser.add_argument("--model", default=str(DEFAULT_MODEL),
                        help="exported model folder or models:/<name>@<alias> (default: %(default)s)")
    parser.add_argument("--format", choices=("jsonl", "tsv", "table"), default="jsonl",
                        help="jsonl: a JSON object a line; tsv: a header, then themes, scores and text; "
                             "table: aligned columns (default: %(default)s)")
    parser.add_argument("--explain", action="store_true", help="add the n-grams behind each theme's score (jsonl)")
    parser.add_argument("--info", action="store_true",
                        help="print which model this is (export, MLflow run, registered version) and how it "
                             "scores (the C kernel or NumPy), and exit")
    parser.add_argument("--jobs", type=int, default=1, help="processes for large inputs (default: %(default)s)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    if args.sentences and args.file:
        parser.error("give sentences as arguments or with --file, not both")
    if args.explain and args.format != "jsonl":
        parser.error("--explain writes JSON: use it with --format jsonl")
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends the output quietly
    with user_errors("theme-predict", args.debug):
        predictor = Predictor.load(args.model, n_jobs=args.jobs)
        if args.info:
            print(json.dumps({"model": args.model, **predictor.info, "themes": list(predictor.themes),
                              "thresholds": predictor.thresholds,
                              "scoring": "C kernel" if kernel.tfidf is not None else "NumPy (the C kernel is not built)"},
                             indent=2))
            return 0
        if args.file:
            lines = args.file.read_text(encoding="utf-8").splitlines()
        else:
            lines = args.sentences or sys.stdin.read().splitlines()
    # One output line per input line: a blank line gets no theme, so outputs stay aligned.
    themes = predictor.themes
    if args.format == "tsv":
        print("\t".join(["themes", *themes, "text"]))
    elif args.format == "table":
        print(" ".join([f"{'themes':<24}", *(f"{t:>{max(len(t), 6)}}" for t in themes), " text"]))
    for text, scores in zip(lines, predictor.predict_proba(lines)):
        labels = [t for t, s in scores.items() if s >= predictor.thresholds[t]]
        rounded = {t: round(s, DIGITS) for t, s in scores.items()}
        if args.format == "tsv":  # a tab or carriage return inside a text would split its row
            clean = text.replace("\t", " ").replace("\r", " ")
            print("\t".join([",".join(labels), *(f"{rounded[t]:.{DIGITS}f}" for t in themes), clean]))
        elif args.format == "table":
            print(" ".join([f"{','.join(labels) or '-':<24}",
                            *(f"{rounded[t]:{max(len(t), 6)}.{DIGITS}f}" for t in themes), " " + text]))
        else:
            row = {"text": text, "themes": labels, "scores": rounded}
            if args.explain:
                row["explanation"] = _rounded(predictor.explain(text))
            print(json.dumps(row, ensure_ascii=False))
    return 0


def _rounded(explanation: dict) -> dict:
    return {theme: {"score": round(e["score"], DIGITS), "threshold": e["threshold"],
                    "up": [[g, round(w, DIGITS)] for g, w in e["up"]],
                    "down": [[g, round(w, DIGITS)] for g, w in e["down"]]} for theme, e in explanation.items()}


if __name__ == "__main__":
    sys.exit(main())
