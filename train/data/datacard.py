"""The counts tables of the dataset card (data/README.md), generated from the data itself."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from train.data.corpus import Corpus

START, END = "<!-- counts:start -->", "<!-- counts:end -->"


def _table(columns: dict[str, list[int]], names: list[str]) -> str:
    lines = ["| | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(str(c[i]) for c in columns.values()) + " |" for i, name in enumerate(names)]
    return "\n".join(lines)


def counts_tables(records: Sequence[dict], corpus: Corpus, seed: int, evaluation_records: Sequence[dict] = ()) -> str:
    """Markdown tables: rows per theme and source, per split of the given corpus, and the
    real-copy evaluation sets by split and by region."""
    themes = list(corpus.themes)

    def column(rows):
        counts = Counter(label for r in rows for label in r["labels"])
        return [counts[t] for t in themes] + [sum(len(r["labels"]) > 1 for r in rows),
                                              sum(not r["labels"] for r in rows), len(rows)]

    names = [f"`{t}`" for t in themes] + ["several themes", "no theme", "sentences"]
    by_source = {s: column([r for r in records if r["source"] == s]) for s in sorted({r["source"] for r in records})}
    by_source["all"] = column(records)
    trained = {n: column(list(corpus.splits[n])) for n in ("train", "validation", "test")}
    text = (f"{START}\nTraining data by source:\n\n{_table(by_source, names)}\n\nBy split (default config, seed {seed}; "
            f"{corpus.duplicates_removed} exact duplicates removed; fingerprint `{corpus.fingerprint}`):\n\n"
            f"{_table(trained, names)}\n")
    evaluation = {n: list(corpus.splits[n]) for n in corpus.splits if n.startswith("realcopy_")}
    if evaluation:
        sets = _table({n: column(r) for n, r in evaluation.items()}, names)
        text += f"\nReal-copy evaluation sets (`data/realcopy/`):\n\n{sets}\n"
    if evaluation_records:
        text += f"\n{region_table(evaluation_records)}\n"
    return text + END


def region_table(rows: Sequence[dict]) -> str:
    """Sentences and outlets per region of the real-copy rows."""
    regions = sorted({r["region"] for r in rows})
    lines = ["| region | sentences | outlets |", "|---|---:|---:|"]
    for region in regions:
        mine = [r for r in rows if r["region"] == region]
        lines.append(f"| {region} | {len(mine)} | {len({r['outlet'] for r in mine})} |")
    lines.append(f"| all | {len(rows)} | {len({r['outlet'] for r in rows})} |")
    return "\n".join(lines)


def updated_card(card: str, tables: str) -> str:
    """The card with its generated section replaced; ValueError if the markers are missing."""
    if START not in card or END not in card:
        raise ValueError(f"add the markers {START} and {END} where the tables go")
    return re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: tables, card, flags=re.S)
