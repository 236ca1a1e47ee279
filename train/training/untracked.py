"""``tracking=none``: train and export without MLflow (it is never imported)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from omegaconf import DictConfig

from train.training.result import TrainingResult


class Untracked:
    """The tracking interface with nothing behind it."""

    def check(self) -> None:
        pass

    def compare_url(self, experiment_id: None) -> None:
        return None

    @contextmanager
    def run(self, cfg: DictConfig):
        yield None  # no run id

    def log(self, cfg: DictConfig, result: TrainingResult, version_dir: Path, metrics: dict[str, float]) -> None:
        return None  # nothing registered

    def describe(self, run_id: None, tags: dict[str, str]) -> None:
        pass
