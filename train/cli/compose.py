"""Training-side commands read the same composed config as training, with the same overrides."""

from __future__ import annotations

import argparse

from omegaconf import DictConfig


def add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="config overrides, as for python -m train (e.g. name=my-model tracking=server)")


def composed(prog: str, overrides: list[str]) -> DictConfig:
    """The training config with ``overrides``; a bad override is a one-line error."""
    from hydra.errors import HydraException

    from train.cli.errors import user_errors
    from train.runtime.errors import ConfigError
    from train.training.config import compose_config

    with user_errors(prog):
        try:
            return compose_config(overrides)
        except HydraException as err:
            raise ConfigError(str(err).splitlines()[0]) from None
