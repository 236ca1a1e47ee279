import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

ROOT = Path(__file__).resolve().parents[1]
THEMES = ["aviation", "counterterrorism", "trade", "visas"]


def isolated_overrides(tmp: Path) -> list[str]:
    """Every output of a run (models, MLflow store and artifacts) under ``tmp``; quick CV."""
    return [
        f"paths.models_dir={tmp}/models",
        f"tracking.uri=sqlite:///{tmp}/mlflow.db",
        f"tracking.artifact_location=file://{tmp}/mlartifacts",
        "cv.folds=2",
        "cv.n_jobs=1",
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
    from train.config import compose_config
    from train.tracking import log_training, training_run
    from train.training import train

    tmp = tmp_path_factory.mktemp("trained")
    cfg = compose_config(isolated_overrides(tmp))
    with training_run(cfg) as run:
        result = train(cfg)
        version = log_training(cfg, result)
    return SimpleNamespace(cfg=cfg, result=result, run_id=run.info.run_id, version=version, tmp=tmp)
