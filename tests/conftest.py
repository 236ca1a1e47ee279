import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

ROOT = Path(__file__).resolve().parents[1]
THEMES = ["aviation", "counterterrorism", "trade", "visas"]


def isolated_overrides(tmp: Path, tracked: bool = True) -> list[str]:
    """Every output of a run (models, MLflow store and artifacts, Hydra's folder) under ``tmp``; quick CV.
    ``tracked=False`` trains with tracking=none."""
    tracking = [f"tracking.uri=sqlite:///{tmp}/mlflow.db", f"tracking.artifact_location=file://{tmp}/mlartifacts"] \
        if tracked else ["tracking=none"]
    return [
        f"paths.models_dir={tmp}/models",
        *tracking,
        "trainer.cv_folds=2",
        "trainer.cv_jobs=1",
        f"hydra.run.dir={tmp}/outputs",
    ]


def run_python(*args: str, cwd: Path = ROOT, env: dict | None = None, timeout: int = 300, input: str | None = None):
    """Run ``python args...`` in a fresh interpreter; return the completed process."""
    import subprocess

    full_env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", **(env or {})}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout, input=input)


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """One real training of the default model, tracked in a temporary MLflow store."""
    from train.training.config import compose_config
    from train.training.run import run_training

    tmp = tmp_path_factory.mktemp("trained")
    cfg = compose_config(isolated_overrides(tmp))
    outcome = run_training(cfg)
    return SimpleNamespace(cfg=cfg, result=outcome.result, metrics=outcome.metrics, export_dir=outcome.export_dir,
                           run_id=outcome.run_id, version=outcome.model_version, tmp=tmp)


def pipeline_for(overrides: list[str]):
    """The unfitted pipeline of a composed config, as the trainer builds it."""
    from hydra.utils import instantiate

    from train.training.config import compose_config
    from train.training.pipeline import build_pipeline

    cfg = compose_config(overrides)
    return build_pipeline(cfg, instantiate(cfg.trainer).multilabel)
