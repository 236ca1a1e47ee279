"""`theme-datacard`: regenerate the counts tables of the dataset card (data/README.md).

    theme-datacard            # rewrite the tables
    theme-datacard --check    # exit 1 if they are out of date, write nothing
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from train.cli.compose import add_overrides, composed
from train.cli.errors import user_errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theme-datacard", description="Regenerate the dataset card's counts.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the card is out of date, write nothing")
    add_overrides(parser)
    args = parser.parse_args(argv)
    cfg = composed("theme-datacard", args.overrides)
    card = Path(cfg.paths.data_dir) / "README.md"
    with user_errors("theme-datacard", cfg.debug):
        from hydra.utils import instantiate

        from train.data.corpus import expand, read_records
        from train.data.datacard import counts_tables, updated_card
        from train.runtime.errors import DataError

        records = read_records(expand(cfg.data.files), cfg.data.themes)
        evaluation_files = list((cfg.data.get("evaluation_files") or {}).values())
        evaluation = read_records(evaluation_files, cfg.data.themes, keep=("region", "outlet")) \
            if evaluation_files else []
        tables = counts_tables(records, instantiate(cfg.data), cfg.seed, evaluation)
        text = card.read_text(encoding="utf-8")
        try:
            updated = updated_card(text, tables)
        except ValueError as err:
            raise DataError(f"{card}: {err}") from None
    if args.check:
        if updated != text:
            print(f"{card} is out of date: run `theme-datacard`", file=sys.stderr)
            return 1
        return 0
    card.write_text(updated, encoding="utf-8")
    print(f"updated the counts in {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
