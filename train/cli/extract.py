"""`theme-extract`: regenerate data/extracted/seed_sentences.jsonl from the raw articles in seeds/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from train.cli.compose import add_overrides, composed
from train.cli.errors import user_errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theme-extract", description=__doc__.splitlines()[0].split(": ", 1)[1])
    add_overrides(parser)
    args = parser.parse_args(argv)
    cfg = composed("theme-extract", args.overrides)
    with user_errors("theme-extract", cfg.debug):
        from train.data.jsonl import write_jsonl
        from train.data.seeds import extract

        seeds, out = Path(cfg.paths.seeds_dir), Path(cfg.paths.extracted_seeds)
        sentences = extract(seeds)
        write_jsonl(out, (s.to_dict() for s in sentences))
    print(f"{len(sentences)} sentences from {seeds} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
