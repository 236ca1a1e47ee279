"""MLflow tracking: one store, one run per training, sweeps as a parent run with one child per job."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import train.mlflow_env  # noqa: F401  (before mlflow)
import mlflow
import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig, OmegaConf

from train.mlflow_model import ARTIFACT_KEY, predict_frame
from train.paths import PROJECT_ROOT
from train.predictor import Predictor
from train.report import misclassified, top_terms, write_report
from train.training import TrainingResult, in_sweep, package_versions

PARENT_RUN_ENV = "THEME_CLASSIFIER_SWEEP_RUN_ID"
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value
MODEL_PIP_REQUIREMENTS = ("mlflow", "numpy", "pandas")  # the pyfunc needs no scikit-learn


class TrackingError(RuntimeError):
    """The tracking store cannot be reached or used."""


def configure(tracking: DictConfig) -> str:
    """Point MLflow at the configured store and return the experiment id (created if new)."""
    mlflow.set_tracking_uri(tracking.uri)
    client = MlflowClient()
    if tracking.uri.startswith(("http://", "https://")):
        _check_server(tracking.uri)
    try:
        experiment = client.get_experiment_by_name(tracking.experiment)
        if experiment is None:
            try:
                # An explicit artifact location: MLflow's default is ./mlruns under the working directory.
                client.create_experiment(tracking.experiment, artifact_location=tracking.artifact_location)
            except MlflowException:
                pass  # created meanwhile by a parallel job
            experiment = client.get_experiment_by_name(tracking.experiment)
    except Exception as err:  # MLflow raises several types for an unreachable or broken store
        raise TrackingError(
            f"cannot use the MLflow store at {tracking.uri} ({type(err).__name__}); start the server "
            f"or choose another store with tracking=sqlite or tracking.uri=..."
        ) from err
    mlflow.set_experiment(experiment_id=experiment.experiment_id)
    return experiment.experiment_id


def _check_server(uri: str) -> None:
    """A quick probe: MLflow's own client retries an unreachable server for minutes."""
    try:
        urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=5).close()
    except OSError as err:
        raise TrackingError(f"no MLflow server answers at {uri} ({err}); start it, or train with tracking=sqlite") from None


def flatten(cfg: DictConfig) -> dict[str, str]:
    """The resolved config as dotted keys, values cut to MLflow's length limit."""
    flat: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
        else:
            text = str(node)
            flat[prefix] = text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 3] + "..."

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return flat


def git_state() -> dict[str, str]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout.strip()

    try:
        return {"git_commit": git("rev-parse", "HEAD"), "git_dirty": str(bool(git("status", "--porcelain")))}
    except (OSError, subprocess.CalledProcessError):
        return {"git_commit": "unknown", "git_dirty": "unknown"}


def _overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


@contextmanager
def training_run(cfg: DictConfig):
    """An active MLflow run for one training: a child of the sweep's parent run inside a sweep."""
    configure(cfg.tracking)
    parent = os.environ.get(PARENT_RUN_ENV)
    tags = {"run_kind": "sweep_child" if parent else "single", **git_state()}
    tags.update({f"version.{name}": v for name, v in package_versions().items()})
    name = " ".join(_overrides()) or None
    with mlflow.start_run(run_name=name, parent_run_id=parent, tags=tags) as run:
        yield run


def log_training(cfg: DictConfig, result: TrainingResult) -> str | None:
    """Log params, data, metrics, artifacts and the model of a finished training to the active run.

    Returns the registered model version, if the model was registered."""
    themes = list(result.corpus.themes)
    splits = result.corpus.splits
    mlflow.log_params(flatten(cfg))
    overrides = _overrides()
    mlflow.log_param("overrides", " ".join(overrides) or "(none)")
    mlflow.set_tag("data_fingerprint", result.corpus.fingerprint)
    source = str(cfg.data.get("path") or cfg.paths.data_dir)
    for name in splits:
        dataset = mlflow.data.from_huggingface(splits[name], path=source, name=f"theme-sentences-{name}",
                                               digest=result.corpus.fingerprint)
        _log_input(dataset, name)

    predictor = Predictor.load(result.export_dir)
    metrics = dict(result.metrics)
    metrics.update(_speed(predictor, splits["test"].select(range(min(20_000, len(splits["test"]))))["text"]))
    metrics["model_size_bytes"] = float(sum(p.stat().st_size for p in result.export_dir.resolve().iterdir()))
    metrics["duplicates_removed"] = float(result.corpus.duplicates_removed)
    mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})

    y_test = result.test_labels
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
        (out / "overrides.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(overrides)), encoding="utf-8")
        write_report(out / "evaluation", y_test, result.test_scores, result.thresholds, themes)
        mlflow.log_artifacts(str(out))
    if hasattr(result.pipeline.named_steps["features"], "get_feature_names_out"):  # hashed features have no names
        mlflow.log_dict(top_terms(result.pipeline, themes), "evaluation/top_terms.json")
    mlflow.log_table(misclassified(splits["test"], y_test, result.test_scores, result.thresholds, themes),
                     "evaluation/misclassified_test.json")
    return _log_model(cfg, result.export_dir, predictor)


def _log_input(dataset, context: str, attempts: int = 3) -> None:
    """log_input, retried: parallel jobs that log the same new dataset race to insert its row,
    and the loser's insert fails although the row is then there to link to."""
    for attempt in range(attempts):
        try:
            mlflow.log_input(dataset, context=context)
            return
        except MlflowException as err:
            if "UNIQUE constraint" not in str(err) or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def _speed(predictor: Predictor, texts: list[str]) -> dict[str, float]:
    batch = list(texts) * max(1, 20_000 // max(1, len(texts)))
    started = time.perf_counter()
    predictor.scores(batch)
    batch_rate = len(batch) / (time.perf_counter() - started)
    one = []
    for text in texts[:200]:
        started = time.perf_counter()
        predictor.predict(text)
        one.append(time.perf_counter() - started)
    return {"predict_sentences_per_second": batch_rate, "predict_one_median_ms": float(np.median(one) * 1000)}


def _log_model(cfg: DictConfig, export_dir: Path, predictor: Predictor) -> str | None:
    example = pd.DataFrame({"text": ["Pakistan and Bangladesh agreed on visa-free travel and new direct flights."]})
    signature = infer_signature(example, predict_frame(predictor, example["text"].tolist()))
    # Sweep trials are not registered one by one: the sweep registers its best child.
    registered = None if in_sweep() else cfg.tracking.registered_model_name
    versions = package_versions()
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
        artifacts={ARTIFACT_KEY: str(export_dir.resolve())},
        code_paths=[str(Path(__file__).parent)],
        signature=signature,
        input_example=example,
        pip_requirements=[f"{name}=={versions[name]}" for name in MODEL_PIP_REQUIREMENTS],
        registered_model_name=registered or None,
    )
    mlflow.set_tag("model_uri", info.model_uri)  # how a sweep registers its best child
    if not registered:
        return None
    version = str(info.registered_model_version)
    if cfg.tracking.promote_to_champion:
        MlflowClient().set_registered_model_alias(registered, "champion", version)
    return version


class SweepCallback(Callback):
    """Opens one parent run before a sweep's jobs start and tags it with the best child at the end."""

    def __init__(self, metric: str = "validation_macro_f1") -> None:
        self.metric = metric

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        experiment_id = configure(config.tracking)
        run = MlflowClient().create_run(
            experiment_id, run_name=f"sweep {' '.join(config.hydra.overrides.task)}".strip(),
            tags={"run_kind": "sweep", **git_state()},
        )
        os.environ[PARENT_RUN_ENV] = run.info.run_id  # read by every job, in this process or a worker

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        parent = os.environ.pop(PARENT_RUN_ENV, None)
        if parent is None:
            return
        client = MlflowClient()
        experiment_id = client.get_run(parent).info.experiment_id
        children = client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent}'",
                                      order_by=[f"metrics.{self.metric} DESC"])
        client.set_tag(parent, "children", str(len(children)))
        scored = [c for c in children if self.metric in c.data.metrics]
        if scored:
            best = scored[0]
            client.set_tag(parent, "best_run_id", best.info.run_id)
            client.set_tag(parent, "best_run_name", best.info.run_name or "")
            client.log_metric(parent, f"best_{self.metric}", best.data.metrics[self.metric])
            name = config.tracking.registered_model_name
            if name:
                version = mlflow.register_model(best.data.tags["model_uri"], name).version
                client.set_tag(parent, "best_model_version", str(version))
                if config.tracking.promote_to_champion:
                    client.set_registered_model_alias(name, "champion", str(version))
        client.set_terminated(parent, "FINISHED" if len(scored) == len(children) else "FAILED")
