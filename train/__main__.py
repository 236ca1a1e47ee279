"""`python -m train`: train, evaluate, export and track the theme classifier (a Hydra app)."""

from __future__ import annotations

import sys

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from train.config import CONFIG_DIR
from train.corpus import DataError
from train.summary import print_summary
from train.tracking import TrackingError, configure, log_training, training_run
from train.training import ConfigError, prepare


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> float:
    try:
        prepared = prepare(cfg)  # data, hyperparameters, output folder: before any long work
        configure(cfg.tracking)  # an unreachable store fails here, before training
    except (DataError, ConfigError, TrackingError) as err:
        if cfg.debug:
            raise
        print(f"theme-train: {err}", file=sys.stderr)
        sys.exit(2)
    with training_run(cfg) as run:
        result = instantiate(cfg.trainer.run)(cfg, prepared)
        version = log_training(cfg, result)
    print_summary(result, run.info.run_id, version)
    return result.metrics.get("validation_macro_f1")  # what a sweeper maximises


if __name__ == "__main__":
    main()
