"""Label sentences with an exported model and print one JSON line per sentence.

    python -m train.predict "Tariffs on Pakistani textiles fell." "Flights resumed."
    python -m train.predict --file sentences.txt        # one sentence per line
    cat sentences.txt | python -m train.predict
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from train.predictor import Predictor

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "theme-classifier"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theme-predict", description="Label English news sentences by theme.")
    parser.add_argument("sentences", nargs="*", help="sentences to label (default: read stdin, one per line)")
    parser.add_argument("--file", type=Path, help="read sentences from this file, one per line")
    parser.add_argument("--model", default=str(DEFAULT_MODEL),
                        help="exported model folder or models:/<name>@<alias> (default: %(default)s)")
    parser.add_argument("--explain", action="store_true", help="add the n-grams behind each theme's score")
    parser.add_argument("--jobs", type=int, default=1, help="processes for large inputs (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.sentences and args.file:
        parser.error("give sentences as arguments or with --file, not both")
    try:
        predictor = Predictor.load(args.model, n_jobs=args.jobs)
        if args.file:
            lines = args.file.read_text(encoding="utf-8").splitlines()
        else:
            lines = args.sentences or sys.stdin.read().splitlines()
    except (OSError, ValueError) as err:
        print(f"theme-predict: {err}", file=sys.stderr)
        return 2
    texts = [line for line in lines if line.strip()]
    for text, scores in zip(texts, predictor.predict_proba(texts)):  # scored once; themes from the scores
        row = {"text": text, "themes": [t for t, s in scores.items() if s >= predictor.thresholds[t]],
               "scores": {t: round(s, 6) for t, s in scores.items()}}
        if args.explain:
            row["explanation"] = predictor.explain(text)
        print(json.dumps(row, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
