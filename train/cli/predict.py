"""`theme-predict`: label sentences with an exported model, one JSON line per input line.

    theme-predict "Tariffs on Pakistani textiles fell." "Flights resumed."
    theme-predict --file sentences.txt        # one sentence per line
    cat sentences.txt | theme-predict --model models:/theme-classifier@champion

Works in the base install (NumPy only); ``models:/`` URIs need the ``[train]`` extra.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from train.cli.errors import user_errors
from train.runtime.paths import DEFAULT_MODEL
from train.runtime.predictor import Predictor

DIGITS = 4  # scores are rounded alike in every output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theme-predict", description="Label English news sentences by theme.")
    parser.add_argument("sentences", nargs="*", help="sentences to label (default: read stdin, one per line)")
    parser.add_argument("--file", type=Path, help="read sentences from this file, one per line")
    parser.add_argument("--model", default=str(DEFAULT_MODEL),
                        help="exported model folder or models:/<name>@<alias> (default: %(default)s)")
    parser.add_argument("--explain", action="store_true", help="add the n-grams behind each theme's score")
    parser.add_argument("--jobs", type=int, default=1, help="processes for large inputs (default: %(default)s)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    if args.sentences and args.file:
        parser.error("give sentences as arguments or with --file, not both")
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends the output quietly
    with user_errors("theme-predict", args.debug):
        predictor = Predictor.load(args.model, n_jobs=args.jobs)
        if args.file:
            lines = args.file.read_text(encoding="utf-8").splitlines()
        else:
            lines = args.sentences or sys.stdin.read().splitlines()
    # One output line per input line: a blank line gets no theme, so outputs stay aligned.
    for text, scores in zip(lines, predictor.predict_proba(lines)):
        row = {"text": text, "themes": [t for t, s in scores.items() if s >= predictor.thresholds[t]],
               "scores": {t: round(s, DIGITS) for t, s in scores.items()}}
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
