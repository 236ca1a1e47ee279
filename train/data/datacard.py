"""Regenerate the counts tables of the dataset card (data/README.md) from the data itself.

Usage: python -m train.datacard [--check]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter

from hydra.utils import instantiate

from train.config import compose_config
from train.corpus import read_records
from train.paths import DATA_DIR

CARD = DATA_DIR / "README.md"
START, END = "<!-- counts:start -->", "<!-- counts:end -->"


def counts_tables() -> str:
    """Markdown tables: rows per theme and source, then per split of the default config."""
    cfg = compose_config()
    themes = list(cfg.data.themes)
    records = read_records(sorted(DATA_DIR.glob("*.jsonl")), themes)
    sources = sorted({r["source"] for r in records})

    def column(rows):
        counts = Counter(label for r in rows for label in r["labels"])
        return [counts[t] for t in themes] + [sum(len(r["labels"]) > 1 for r in rows),
                                              sum(not r["labels"] for r in rows), len(rows)]

    names = [f"`{t}`" for t in themes] + ["several themes", "no theme", "sentences"]
    by_source = {s: column([r for r in records if r["source"] == s]) for s in sources}
    by_source["all"] = column(records)
    corpus = instantiate(cfg.data)
    by_split = {name: column(list(split)) for name, split in corpus.splits.items()}

    def table(columns: dict[str, list[int]]) -> str:
        lines = ["| | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
        lines += [f"| {name} | " + " | ".join(str(c[i]) for c in columns.values()) + " |" for i, name in enumerate(names)]
        return "\n".join(lines)

    return (f"{START}\nBy source:\n\n{table(by_source)}\n\nBy split (default config, seed {cfg.seed}; "
            f"{corpus.duplicates_removed} exact duplicates removed; fingerprint `{corpus.fingerprint}`):\n\n"
            f"{table(by_split)}\n{END}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the card is out of date, write nothing")
    args = parser.parse_args(argv)
    card = CARD.read_text(encoding="utf-8")
    if START not in card or END not in card:
        print(f"{CARD}: add the markers {START} and {END} where the tables go", file=sys.stderr)
        return 2
    updated = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: counts_tables(), card, flags=re.S)
    if args.check:
        if updated != card:
            print(f"{CARD} is out of date: run `python -m train.datacard`", file=sys.stderr)
            return 1
        return 0
    CARD.write_text(updated, encoding="utf-8")
    print(f"updated the counts in {CARD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
