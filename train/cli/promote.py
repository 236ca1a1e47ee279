"""`theme-promote`: point a registry alias (default ``champion``) at one chosen model version.

    theme-promote --version 3
    theme-promote --run 0f3c...                      # the version of that run's model
    theme-promote --best realcopy_dev/macro_f1       # the best run of the experiment
    theme-promote --best validation/macro_f1 --sweep <parent run id> tracking=server

It never guesses: one of --version, --run or --best is required. It prints what it promoted
with its run's headline metrics, and says so when the local export is another model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from train.cli.compose import add_overrides, composed
from train.cli.errors import user_errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theme-promote", description="Point a registry alias at one model version.")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--version", help="the registered version to promote")
    choice.add_argument("--run", metavar="RUN_ID", help="promote the version of this run's model")
    choice.add_argument("--best", metavar="METRIC", help="promote the run with the highest METRIC "
                        "(e.g. realcopy_dev/macro_f1) in the experiment, or in --sweep")
    parser.add_argument("--sweep", metavar="RUN_ID", help="with --best: only the children of this sweep run")
    parser.add_argument("--alias", default="champion", help="alias to set (default: %(default)s)")
    add_overrides(parser)
    args = parser.parse_args(argv)
    if args.sweep and not args.best:
        parser.error("--sweep goes with --best METRIC")
    cfg = composed("theme-promote", args.overrides)
    with user_errors("theme-promote", cfg.debug):
        from train.runtime.errors import ConfigError
        from train.tracking.registry import promote, run_metrics

        if not cfg.tracking.get("registered_model_name"):
            raise ConfigError("this tracking config registers no model; use tracking=sqlite or tracking=server")
        name = cfg.tracking.registered_model_name
        chosen = promote(name, args.alias, cfg.tracking.uri, version=args.version, run_id=args.run, best=args.best,
                         experiment=cfg.tracking.experiment, sweep=args.sweep)
        metrics = run_metrics(chosen, cfg.tracking.uri)
    scores = "  ".join(f"{k} {v:.3f}" for k, v in metrics.items())
    print(f"models:/{name}@{args.alias} -> version {chosen.version} (run {chosen.run_id})  {scores}".rstrip())
    local = _local_export(Path(cfg.paths.models_dir) / cfg.name)
    if local is not None and local.get("run_id") != chosen.run_id:
        print(f"note: the local export {Path(cfg.paths.models_dir) / cfg.name} is another model "
              f"(version {local.get('model_version', 'unregistered')}, run {local.get('run_id')}): theme-predict and "
              f"Predictor.load on that folder do not score with @{args.alias}")
    return 0


def _local_export(path: Path) -> dict | None:
    """The spec of the export at ``path``, read only to say which model it is (None: none there)."""
    import json

    from train.runtime.model_folder import SPEC_FILE

    try:
        spec = json.loads((path / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # no export here, or an unreadable one: nothing to compare
    return spec if isinstance(spec, dict) else None


if __name__ == "__main__":
    sys.exit(main())
