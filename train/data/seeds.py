"""Regenerate the seed sentences (with provenance) from the raw articles in seeds/.

Usage: python -m train.extract [--seeds DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from train.jsonl import write_jsonl
from train.paths import EXTRACTED_SEEDS, SEEDS_DIR
from train.segment import Sentence, segment


def extract(seeds_dir: Path = SEEDS_DIR) -> list[Sentence]:
    """Body sentences of every article in ``seeds_dir``, in file then reading order."""
    articles = sorted(seeds_dir.glob("*.txt"))
    if not articles:
        raise FileNotFoundError(f"no .txt articles in {seeds_dir}; copy the seed articles there")
    return [s for path in articles for s in segment(path.stem, path.read_text(encoding="utf-8"))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=SEEDS_DIR, help="folder of raw .txt articles")
    parser.add_argument("--out", type=Path, default=EXTRACTED_SEEDS, help="JSONL file to write")
    args = parser.parse_args(argv)
    sentences = extract(args.seeds)
    write_jsonl(args.out, (s.to_dict() for s in sentences))
    print(f"{len(sentences)} sentences from {args.seeds} -> {args.out}")


if __name__ == "__main__":
    main()
