"""The seed sentences (with provenance) of the raw articles in seeds/."""

from __future__ import annotations

from pathlib import Path

from train.data.segment import Sentence, segment
from train.runtime.errors import DataError


def extract(seeds_dir: Path) -> list[Sentence]:
    """Body sentences of every article in ``seeds_dir``, in file then reading order."""
    articles = sorted(seeds_dir.glob("*.txt"))
    if not articles:
        raise DataError(f"no .txt articles in {seeds_dir}; copy the seed articles there")
    return [s for path in articles for s in segment(path.stem, path.read_text(encoding="utf-8"))]
