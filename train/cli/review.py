"""`theme-review`: label the sentences of your own feeds that would teach the model most.

    theme-review feeds/today.txt feeds/archive.jsonl      # text, JSONL, Parquet or HTML
    theme-review --report                                 # retrain with them and compare

Every decision is appended to data/reviewed.jsonl at once; the next training uses it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from train.cli.compose import composed
from train.cli.errors import user_errors

SECOND = "features=word model=logreg"  # a configuration that errs differently from the default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theme-review", description=__doc__.splitlines()[0].split(": ", 1)[1])
    parser.add_argument("inputs", nargs="*", metavar="FILE | KEY=VALUE",
                        help="files to review, and config overrides as for python -m train")
    parser.add_argument("--model", help="model to review with (default: models/<name>)")
    parser.add_argument("--second", default=SECOND,
                        help="overrides of the configuration whose disagreement ranks sentences (default: %(default)s)")
    parser.add_argument("--report", action="store_true",
                        help="retrain the configuration with the reviewed sentences and print what changed")
    args = parser.parse_intermixed_args(argv)  # files, options and overrides in any order
    # A word with '=' that is not a file is an override, the way python -m train reads it.
    overrides = [a for a in args.inputs if "=" in a and not Path(a).exists()]
    files = [Path(a) for a in args.inputs if a not in overrides]
    if args.report == bool(files):
        parser.error("give the files to review, or --report")
    cfg = composed("theme-review", overrides)
    with user_errors("theme-review", cfg.debug):
        if args.report:
            from train.cli.review_report import report

            print(report(cfg, overrides))
        else:
            _review(cfg, overrides, files, args.model, args.second.split())
    return 0


def _review(cfg, overrides: list[str], files: list[Path], model: str | None, second: list[str]) -> None:
    from train.data.feeds import read_feeds
    from train.data.review_log import ReviewLog
    from train.runtime.predictor import Predictor
    from train.training.review import ReviewSession, build_queue, corpus_texts, second_scores

    predictor = Predictor.load(model or Path(cfg.paths.models_dir) / cfg.name)
    sentences = read_feeds(files)
    print(f"{len(sentences)} sentences in {len(files)} file(s); ranking them ...", file=sys.stderr)
    known = corpus_texts(cfg)
    scores = second_scores(composed("theme-review", overrides + second), [s.text for s in sentences])
    queue = build_queue(sentences, predictor, scores, known, cfg.data.near_duplicate_threshold)
    reviewed = Path(cfg.paths.reviewed)
    with ReviewLog(reviewed) as decisions, ReviewLog(reviewed.with_suffix(".skipped")) as skips:
        model_info = {k: predictor.info.get(k) for k in ("name", "run_id", "created")}
        session = ReviewSession(queue, decisions, skips, model_info, known)
        if not session.queue:
            print(f"nothing to review: every sentence is in the corpus, decided or skipped ({reviewed})")
            return
        from train.cli.review_screen import ReviewScreen

        ReviewScreen(session, predictor).run()
    print(f"{session.position} of {len(session.queue)} reviewed this session; "
          f"{reviewed}: {session.decided} decided in all")


if __name__ == "__main__":
    sys.exit(main())
