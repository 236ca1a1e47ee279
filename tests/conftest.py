import os
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
# Tests write under temporary folders only: no .hypothesis folder (examples database, caches) in the project.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-"))
settings.register_profile("suite", database=None)
settings.load_profile("suite")

ROOT = Path(__file__).resolve().parents[1]
THEMES = ["aviation", "counterterrorism", "trade", "visas"]
# The predictor's two ways of scoring: its C kernel (built at install where a C compiler is
# present) and the NumPy path it takes without one. Exactness tests run on both.
RUNTIME_PATHS = ["C kernel", "NumPy"]


def load_predictor(path, runtime_path: str = "C kernel", **settings):
    """``Predictor.load(path, **settings)`` on one of the RUNTIME_PATHS."""
    from unittest.mock import patch

    import train.runtime.predictor as module

    if runtime_path == "NumPy":
        with patch.object(module, "kernel", None):
            return module.Predictor.load(path, **settings)
    if module.kernel is None:
        pytest.skip("the C kernel is not built in this install")
    return module.Predictor.load(path, **settings)


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


def streaming_overrides(tmp: Path, tracked: bool = True) -> list[str]:
    """``isolated_overrides`` for the streaming trainer, which has no cross-validation settings."""
    return [o for o in isolated_overrides(tmp, tracked) if not o.startswith("trainer.cv_")]


def run_python(*args: str, cwd: Path = ROOT, env: dict | None = None, timeout: int = 300, input: str | None = None):
    """Run ``python args...`` in a fresh interpreter; return the completed process."""
    import subprocess

    full_env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", **(env or {})}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout, input=input)


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory):
    """About 400 bundled sentences: every theme and no-theme, in one JSONL file."""
    import json
    import random

    from train.data.corpus import expand, read_records

    records = read_records(expand(str(ROOT / "data" / "*.jsonl")), THEMES)
    random.Random(0).shuffle(records)
    picked = [r for t in THEMES for r in [r for r in records if t in r["labels"]][:80]]
    picked += [r for r in records if not r["labels"]][:120]
    path = tmp_path_factory.mktemp("small") / "small.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in {r["id"]: r for r in picked}.values()), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def bundled_corpus():
    """The default config's corpus: the bundled splits and the real-copy sets (loaded once)."""
    from hydra.utils import instantiate

    from train.training.config import compose_config

    return instantiate(compose_config().data)


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


def copy_with_edited_spec(model_dir: Path, tmp: Path, edit) -> Path:
    """A copy of an export whose predictor.json ``edit(spec)`` changed, with the manifest
    re-hashed to match: what someone who can write the folder could make."""
    import json
    import shutil

    from train.runtime.model_folder import MANIFEST_FILE, SPEC_FILE, sha256_file

    copy = tmp / "edited-model"
    shutil.copytree(model_dir, copy)
    spec = json.loads((copy / SPEC_FILE).read_text())
    edit(spec)
    (copy / SPEC_FILE).write_text(json.dumps(spec))
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["sha256"][SPEC_FILE] = sha256_file(copy / SPEC_FILE)
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    return copy
