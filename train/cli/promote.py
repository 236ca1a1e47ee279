"""`theme-promote`: point a registry alias (default ``champion``) at a version of the model.

    theme-promote                        # champion -> the newest version of cfg.name
    theme-promote --version 3 tracking=server
"""

from __future__ import annotations

import argparse
import sys

from train.cli.compose import add_overrides, composed
from train.cli.errors import user_errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theme-promote", description="Point a registry alias at a model version.")
    parser.add_argument("--version", help="version to promote (default: the newest)")
    parser.add_argument("--alias", default="champion", help="alias to set (default: %(default)s)")
    add_overrides(parser)
    args = parser.parse_args(argv)
    cfg = composed("theme-promote", args.overrides)
    with user_errors("theme-promote", cfg.debug):
        from train.runtime.errors import ConfigError
        from train.tracking.registry import promote

        if not cfg.tracking.get("registered_model_name"):
            raise ConfigError("this tracking config registers no model; use tracking=sqlite or tracking=server")
        name = cfg.tracking.registered_model_name
        version = promote(name, args.version, args.alias, cfg.tracking.uri)
    print(f"models:/{name}@{args.alias} -> version {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
