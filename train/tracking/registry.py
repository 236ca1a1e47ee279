"""The MLflow model registry: promote a version to an alias, and fetch a registered predictor."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from train.tracking.env import registration_quietly  # before mlflow: its environment defaults
import mlflow
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from train.runtime.errors import ModelFileError, TrackingError
from train.runtime.paths import MODELS_DIR
from train.tracking.pyfunc import ARTIFACT_KEY
from train.training.evaluation import HEADLINE_METRICS
from train.training.processes import left_by_dead_process

CACHE_ENV = "THEME_CLASSIFIER_MODEL_CACHE"  # where registry models are downloaded to
DEFAULT_CACHE = MODELS_DIR / ".registry-cache"
DOWNLOADING = ".downloading-"  # a download in progress in the cache: .downloading-<pid>-*


def default_tracking_uri() -> str:
    """MLFLOW_TRACKING_URI if set, else the store the default training config writes to."""
    if "MLFLOW_TRACKING_URI" in os.environ:
        return os.environ["MLFLOW_TRACKING_URI"]
    from train.training.config import compose_config

    return compose_config().tracking.uri


def _client(tracking_uri: str | None) -> MlflowClient:
    uri = tracking_uri or default_tracking_uri()
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def download_model(uri: str, tracking_uri: str | None = None) -> tuple[Path, dict[str, str]]:
    """The local predictor folder of ``models:/<name>@<alias>``, ``models:/<name>/<version>``
    or ``models:/<name>/latest`` (the ``models`` resolver of ``Predictor.load``), and the
    version it resolved to.

    An alias or ``latest`` is resolved to a version at every call; the cache holds each
    version's files under its run id and a digest of its registry entry, so a recreated
    store or a moved alias never loads an old model. A download is made beside the cache
    and renamed into it: a killed download leaves nothing behind that a later load reads,
    and parallel loads of one version are safe."""
    client = _client(tracking_uri)
    try:
        version = _resolve_version(client, uri)
        cache = Path(os.environ.get(CACHE_ENV, DEFAULT_CACHE))
        identity = f"{client.tracking_uri}\n{version.name}\n{version.version}\n{version.run_id}\n{version.source}\n" \
                   f"{version.creation_timestamp}"
        digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
        local = cache / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', version.name)}-v{version.version}-{version.run_id}-{digest}"
        if not (local / "MLmodel").is_file():
            _download(version, local)
    except MlflowException as err:
        raise TrackingError(f"{uri}: {err.message.splitlines()[0]}") from None
    return _predictor_folder(local), {"model_version": str(version.version), "model_uri": uri}


def _resolve_version(client: MlflowClient, uri: str):
    name, _, alias = uri.removeprefix("models:/").partition("@")
    if alias:
        return client.get_model_version_by_alias(name, alias)
    name, _, number = name.partition("/")
    if number == "latest":
        versions = client.search_model_versions(f"name = '{name}'")
        if not versions:
            raise TrackingError(f"no registered versions of {name!r}; train with `python -m train` first")
        return max(versions, key=lambda v: int(v.version))
    if not number.isdigit():
        raise TrackingError(f"{uri}: give models:/<name>@<alias>, models:/<name>/<version> or models:/<name>/latest")
    return client.get_model_version(name, number)


def _download(version, local: Path) -> None:
    local.parent.mkdir(parents=True, exist_ok=True)
    for left in local.parent.glob(f"{DOWNLOADING}*"):  # downloads of processes that died
        if left_by_dead_process(left.name, DOWNLOADING):
            shutil.rmtree(left, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{DOWNLOADING}{os.getpid()}-", dir=local.parent))
    try:
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{version.name}/{version.version}",
                                            dst_path=str(staging))
        try:
            staging.rename(local)
        except OSError:
            if not (local / "MLmodel").is_file():  # not a parallel load that finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _predictor_folder(local: Path) -> Path:
    """The predictor folder the ``MLmodel`` file names, which must lie inside the download."""
    mlmodel = local / "MLmodel"
    try:
        relative = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))["flavors"]["python_function"]["artifacts"][
            ARTIFACT_KEY]["path"]
        folder = (local / relative).resolve()
    except (yaml.YAMLError, KeyError, TypeError, OSError) as err:
        raise ModelFileError(f"{mlmodel}: no python_function artifact {ARTIFACT_KEY!r} ({type(err).__name__}); "
                             "register a model trained by this project") from None
    if not folder.is_relative_to(local.resolve()):
        raise ModelFileError(f"{mlmodel}: artifact path {relative!r} points outside the model; "
                             "register a model trained by this project")
    return folder


def promote(name: str, alias: str = "champion", tracking_uri: str | None = None, *, version: str | None = None,
            run_id: str | None = None, best: str | None = None, experiment: str | None = None,
            sweep: str | None = None):
    """Point ``alias`` at one chosen version of registered model ``name`` and return it.

    Exactly one choice: ``version``; the version of run ``run_id``; or the run with the highest
    metric ``best`` among the runs of ``experiment`` that logged a model (or the children of
    the sweep run ``sweep``), registered first if it is not yet."""
    if sum(x is not None for x in (version, run_id, best)) != 1:
        raise TrackingError("choose what to promote: --version N, --run RUN_ID or --best METRIC")
    client = _client(tracking_uri)
    try:
        if best is not None:
            run_id = _best_run(client, best, experiment, sweep)
        if run_id is not None:
            version = _version_of_run(client, name, run_id)
        chosen = client.get_model_version(name, str(version))
        client.set_registered_model_alias(name, alias, chosen.version)
    except MlflowException as err:
        raise TrackingError(f"cannot promote {name!r}: {err.message.splitlines()[0]}") from None
    return chosen


def run_metrics(version, tracking_uri: str | None = None) -> dict[str, float]:
    """The headline metrics of the run a model version came from."""
    if not version.run_id:
        return {}
    metrics = _client(tracking_uri).get_run(version.run_id).data.metrics
    return {k: metrics[k] for k in HEADLINE_METRICS if k in metrics}


def _best_run(client: MlflowClient, metric: str, experiment: str | None, sweep: str | None) -> str:
    if sweep is not None:
        experiment_id = client.get_run(sweep).info.experiment_id
        where = f"tags.mlflow.parentRunId = '{sweep}'"
    else:
        found = client.get_experiment_by_name(experiment or "")
        if found is None:
            raise TrackingError(f"no experiment {experiment!r} in this store; train with `python -m train` first")
        experiment_id, where = found.experiment_id, ""
    runs = [r for r in client.search_runs([experiment_id], where, order_by=[f"metrics.`{metric}` DESC"],
                                          max_results=50_000)
            if "model_uri" in r.data.tags and metric in r.data.metrics and r.info.status == "FINISHED"]
    if not runs:
        raise TrackingError(f"no finished run with a model and metric {metric!r} "
                            f"{'in sweep ' + sweep if sweep else 'in experiment ' + repr(experiment)}")
    return runs[0].info.run_id


def _version_of_run(client: MlflowClient, name: str, run_id: str) -> str:
    """The registered version of a run's model, registering it if it has none (a sweep child)."""
    versions = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    if versions:
        return max(versions, key=lambda v: int(v.version)).version
    model_uri = client.get_run(run_id).data.tags.get("model_uri")
    if model_uri is None:
        raise TrackingError(f"run {run_id} logged no model; choose a run of a training")
    return register(model_uri, name)


def register(model_uri: str, name: str) -> str:
    """Register a logged model as a new version of ``name``; its number. MLflow's own notes on
    stderr are left out: the caller's summary names the version."""
    with registration_quietly():
        return str(mlflow.register_model(model_uri, name).version)
