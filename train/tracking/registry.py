"""The MLflow model registry: promote a version to an alias, and fetch a registered predictor."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import train.tracking.env  # noqa: F401  (before mlflow)
import mlflow
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from train.runtime.errors import TrackingError
from train.runtime.paths import MODELS_DIR
from train.tracking.pyfunc import ARTIFACT_KEY

CACHE_ENV = "THEME_CLASSIFIER_MODEL_CACHE"  # where registry models are downloaded to
DEFAULT_CACHE = MODELS_DIR / ".registry-cache"


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


def download_model(uri: str, tracking_uri: str | None = None) -> Path:
    """The local predictor folder of ``models:/<name>@<alias>`` or ``models:/<name>/<version>``
    (the ``models`` resolver of ``Predictor.load``)."""
    client = _client(tracking_uri)
    name, _, ref = uri.removeprefix("models:/").partition("@")
    try:
        if ref:
            version = client.get_model_version_by_alias(name, ref).version
        else:
            name, _, version = name.partition("/")
        store = hashlib.sha1(client.tracking_uri.encode()).hexdigest()[:8]
        local = Path(os.environ.get(CACHE_ENV, DEFAULT_CACHE)) / f"{name}-v{version}-{store}"
        if not (local / "MLmodel").is_file():
            local.mkdir(parents=True, exist_ok=True)
            mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(local))
    except MlflowException as err:
        raise TrackingError(f"{uri}: {err.message.splitlines()[0]}") from None
    mlmodel = yaml.safe_load((local / "MLmodel").read_text(encoding="utf-8"))
    return local / mlmodel["flavors"]["python_function"]["artifacts"][ARTIFACT_KEY]["path"]


def promote(name: str, version: str | None = None, alias: str = "champion", tracking_uri: str | None = None) -> str:
    """Point ``alias`` at ``version`` (default: the newest) of registered model ``name``."""
    client = _client(tracking_uri)
    try:
        if version is None:
            versions = client.search_model_versions(f"name = '{name}'")
            if not versions:
                raise TrackingError(f"no registered versions of {name!r}; train with `python -m train` first")
            version = max(versions, key=lambda v: int(v.version)).version
        client.set_registered_model_alias(name, alias, str(version))
    except MlflowException as err:
        raise TrackingError(f"cannot promote {name!r} version {version}: {err.message.splitlines()[0]}") from None
    return str(version)
