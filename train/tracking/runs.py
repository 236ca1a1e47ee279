"""MLflow tracking: one store, one run per training, its metrics, artifacts and model."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from train.tracking.env import registration_quietly  # before mlflow: its environment defaults
import mlflow
import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig, OmegaConf

from train.runtime.errors import TrackingError
from train.runtime.model_folder import read_model_folder
from train.runtime.paths import PROJECT_ROOT
from train.runtime.predictor import Predictor
from train.tracking.pyfunc import ARTIFACT_KEY, predict_frame
from train.tracking.store import create_sqlite_store, mark_dead_runs_killed, process_tag, sqlite_file
from train.tracking.ui_views import COMPARE_VIEW, compare_view, view_tag, view_url
from train.training.checks import in_sweep
from train.training.evaluation import HEADLINE_METRICS
from train.training.report import misclassified, top_terms, write_report
from train.training.result import TrainingResult
from train.training.versions import package_versions

EXPERIMENT_TAGS = {
    "mlflow.experimentKind": "custom_model_development",
    view_tag(COMPARE_VIEW): json.dumps(compare_view()),
    "mlflow.note.content": "Theme classifiers of English news sentences (trade, counterterrorism, aviation, visas). "
                           "Compare runs by realcopy_test/macro_f1 (real news copy), then test/macro_f1, against "
                           "speed/predict_sentences_per_second. A sweep is a parent run with one child per job.",
}
PARENT_RUN_ENV = "THEME_CLASSIFIER_SWEEP_RUN_ID"  # set by the sweep callback, read by every job
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value
# the pyfunc needs no scikit-learn; the predictor's own dependencies: hashed features, cue features
MODEL_PIP_REQUIREMENTS = ("mlflow", "numpy", "pandas", "mmh3", "pyahocorasick")
REPORTED_SPLITS = ("realcopy_test", "test")  # splits with plots and a table of misclassified sentences


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


def run_name() -> str | None:
    """What the run is: its overrides (a sweep's jobs differ in them), else its feature and
    model options; None (MLflow's random name) outside a Hydra app."""
    if not HydraConfig.initialized():
        return None
    choices = HydraConfig.get().runtime.choices
    return " ".join(_overrides()) or f"features={choices.get('features')} model={choices.get('model')}"


def run_description(metrics: dict[str, float]) -> str:
    """The run's description in the MLflow UI: its headline numbers in words."""
    parts = [f"{key} {metrics[key]:.3f}" for key in HEADLINE_METRICS if key in metrics]
    if "speed/predict_sentences_per_second" in metrics:
        parts.append(f"{metrics['speed/predict_sentences_per_second']:,.0f} sentences/s")
    return "; ".join(parts)


class MlflowTracking:
    """Runs in one MLflow store; a single run registers its model under ``registered_model_name``."""

    def __init__(self, uri: str, experiment: str, registered_model_name: str | None = None,
                 promote_to_champion: bool = False, artifact_location: str | None = None):
        self.uri, self.experiment = uri, experiment
        self.registered_model_name, self.promote_to_champion = registered_model_name, promote_to_champion
        self.artifact_location = artifact_location

    def check(self) -> str:
        """Point MLflow at the store and return the experiment id (created if new)."""
        mlflow.set_tracking_uri(self.uri)
        if self.uri.startswith(("http://", "https://")):
            _check_server(self.uri)
        try:
            create_sqlite_store(self.uri)  # before any client: a client migrates a missing store in place
            client = MlflowClient()
            mark_dead_runs_killed(client)
            experiment = client.get_experiment_by_name(self.experiment)
            if experiment is None:
                try:
                    # An explicit artifact location: MLflow's default is ./mlruns under the working directory.
                    client.create_experiment(self.experiment, artifact_location=self.artifact_location)
                except MlflowException:
                    pass  # created meanwhile by a parallel job
                experiment = client.get_experiment_by_name(self.experiment)
            if experiment.lifecycle_stage == "deleted":
                raise TrackingError(f"experiment {self.experiment!r} is deleted in {self.uri}; restore it with "
                                    f"`mlflow experiments restore --experiment-id {experiment.experiment_id}` or "
                                    "train with tracking.experiment=<another name>")
            for key, value in EXPERIMENT_TAGS.items():  # the UI's classic mode, the compare view, a description
                if experiment.tags.get(key) != value and (key != "mlflow.note.content" or key not in experiment.tags):
                    _set_experiment_tag(client, experiment.experiment_id, key, value)  # an edited description stays
            mlflow.set_experiment(experiment_id=experiment.experiment_id)
        except TrackingError:
            raise
        except Exception as err:  # MLflow raises several types for an unreachable or broken store
            database = sqlite_file(self.uri)
            fix = (f"if its creation was interrupted, move {database} aside and train again" if database else
                   "start the server or choose another store with tracking=sqlite or tracking.uri=...")
            raise TrackingError(f"cannot use the MLflow store at {self.uri} ({type(err).__name__}); {fix}") from err
        return experiment.experiment_id

    def compare_url(self, experiment_id: str, view: str = COMPARE_VIEW, charts: bool = False) -> str:
        """Where the UI shows the experiment's runs side by side (``mlflow ui``'s address for a local store)."""
        base = self.uri.rstrip("/") if self.uri.startswith(("http://", "https://")) else "http://127.0.0.1:5000"
        return view_url(base, experiment_id, view, charts)

    @contextmanager
    def run(self, cfg: DictConfig):
        """An active MLflow run for one training (a child of the sweep's parent inside a sweep); yields its id."""
        parent = os.environ.get(PARENT_RUN_ENV)
        tags = {"run_kind": "sweep_child" if parent else "single", **git_state(), **process_tag()}
        tags.update({f"version.{name}": v for name, v in package_versions().items()})
        with mlflow.start_run(run_name=run_name(), parent_run_id=parent, tags=tags) as run:
            yield run.info.run_id

    def log(self, cfg: DictConfig, result: TrainingResult, version_dir: Path, metrics: dict[str, float]) -> str | None:
        """Params, data, metrics, artifacts and the model of ``version_dir`` to the active run.

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
        mlflow.set_tag("mlflow.note.content", run_description(metrics))
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)} | {
            "size/duplicates_removed": float(result.corpus.duplicates_removed)})

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
            (out / "overrides.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(overrides)), encoding="utf-8")
            for split in (s for s in REPORTED_SPLITS if s in result.scores):
                write_report(out / "evaluation", result.labels[split], result.scores[split], result.thresholds,
                             themes, split)
            mlflow.log_artifacts(str(out))
        spec, vocabularies, weights = read_model_folder(version_dir)
        terms = top_terms(spec, vocabularies, weights["coef"])
        if terms:
            mlflow.log_dict(terms, "evaluation/top_terms.json")
        for split in (s for s in REPORTED_SPLITS if s in result.scores):
            mlflow.log_table(misclassified(splits[split], result.labels[split], result.scores[split],
                                           result.thresholds, themes), f"evaluation/misclassified_{split}.json")
        return self._log_model(version_dir, Predictor(spec, vocabularies, weights))

    def describe(self, run_id: str, tags: dict[str, str]) -> None:
        """Tags on a finished run (``mlflow.note.content`` is its description in the UI)."""
        client = MlflowClient(self.uri)
        for key, value in tags.items():
            client.set_tag(run_id, key, value)

    def _log_model(self, version_dir: Path, predictor: Predictor) -> str | None:
        example = pd.DataFrame({"text": ["Pakistan and Bangladesh agreed on visa-free travel and new direct flights."]})
        signature = infer_signature(example, predict_frame(predictor, example["text"].tolist()))
        # Sweep trials are not registered one by one: the sweep registers its best child.
        registered = None if in_sweep() else self.registered_model_name
        versions = package_versions()
        with registration_quietly():  # the run's summary names the version
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
                artifacts={ARTIFACT_KEY: str(version_dir)},
                code_paths=[str(Path(__file__).parents[1])],
                signature=signature,
                input_example=example,
                pip_requirements=[f"{name}=={versions[name]}" for name in MODEL_PIP_REQUIREMENTS],
                registered_model_name=registered or None,
            )
        mlflow.set_tag("model_uri", info.model_uri)  # how a sweep registers its best child
        if not registered:
            return None
        version = str(info.registered_model_version)
        if self.promote_to_champion:
            MlflowClient().set_registered_model_alias(registered, "champion", version)
        return version


def _set_experiment_tag(client: MlflowClient, experiment_id: str, key: str, value: str) -> None:
    """Set a tag that parallel jobs set too: the loser of the race to insert it finds it there."""
    try:
        client.set_experiment_tag(experiment_id, key, value)
    except MlflowException:
        if key not in client.get_experiment(experiment_id).tags:
            raise


def _check_server(uri: str) -> None:
    """A quick probe: MLflow's own client retries an unreachable server for minutes."""
    try:
        urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=5).close()
    except OSError as err:
        raise TrackingError(f"no MLflow server answers at {uri} ({err}); start it, or train with tracking=sqlite") from None


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
