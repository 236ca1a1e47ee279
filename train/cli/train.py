"""`python -m train` (`theme-train`): train, evaluate, track and export the theme classifier.

A Hydra app; the work happens in ``train.training.run.run_training``. Nothing heavy is
imported until Hydra has parsed the command line, so ``--help``, ``--cfg job`` and a
mistyped override answer at once.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

import train.training.config  # noqa: F401  (registers the project_root resolver)
from train.cli.errors import user_errors
from train.runtime.paths import CONFIG_DIR


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> float:
    from train.cli.summary import print_summary
    from train.training.run import run_training

    with user_errors("theme-train", cfg.debug):
        outcome = run_training(cfg)
    print_summary(outcome)
    return outcome.metrics[cfg.objective]  # what a sweeper maximises
