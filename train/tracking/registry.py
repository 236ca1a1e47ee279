"""The MLflow model registry: promote a version to an alias, and fetch a registered predictor.

    python -m train.registry                      # alias `champion` -> latest version
    python -m train.registry --version 3 --alias champion
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import train.mlflow_env  # noqa: F401  (before mlflow)
import mlflow
import yaml
from mlflow.tracking import MlflowClient

from train.mlflow_model import ARTIFACT_KEY
from train.paths import PROJECT_ROOT

CACHE_ENV = "THEME_CLASSIFIER_MODEL_CACHE"  # where registry models are downloaded to
DEFAULT_CACHE = PROJECT_ROOT / "models" / ".registry-cache"


def default_tracking_uri() -> str:
    """MLFLOW_TRACKING_URI if set, else the store the default training config writes to."""
    if "MLFLOW_TRACKING_URI" in os.environ:
        return os.environ["MLFLOW_TRACKING_URI"]
    from train.config import compose_config

    return compose_config().tracking.uri


def _client(tracking_uri: str | None) -> MlflowClient:
    uri = tracking_uri or default_tracking_uri()
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def download_model(uri: str, tracking_uri: str | None = None) -> Path:
    """The local predictor folder of ``models:/<name>@<alias>`` or ``models:/<name>/<version>``."""
    client = _client(tracking_uri)
    name, _, ref = uri.removeprefix("models:/").partition("@")
    if ref:
        version = client.get_model_version_by_alias(name, ref).version
    else:
        name, _, version = name.partition("/")
    store = hashlib.sha1(client.tracking_uri.encode()).hexdigest()[:8]
    local = Path(os.environ.get(CACHE_ENV, DEFAULT_CACHE)) / f"{name}-v{version}-{store}"
    if not (local / "MLmodel").is_file():
        local.mkdir(parents=True, exist_ok=True)
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(local))
    mlmodel = yaml.safe_load((local / "MLmodel").read_text(encoding="utf-8"))
    return local / mlmodel["flavors"]["python_function"]["artifacts"][ARTIFACT_KEY]["path"]


def promote(name: str, version: str | None = None, alias: str = "champion", tracking_uri: str | None = None) -> str:
    """Point ``alias`` at ``version`` (default: the newest) of registered model ``name``."""
    client = _client(tracking_uri)
    if version is None:
        versions = client.search_model_versions(f"name = '{name}'")
        if not versions:
            raise ValueError(f"no registered versions of {name!r}; train with `python -m train` first")
        version = max(versions, key=lambda v: int(v.version)).version
    client.set_registered_model_alias(name, alias, str(version))
    return str(version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="theme-promote", description="Point a registry alias at a model version.")
    parser.add_argument("--name", default="theme-classifier", help="registered model name (default: %(default)s)")
    parser.add_argument("--version", help="version to promote (default: the newest)")
    parser.add_argument("--alias", default="champion", help="alias to set (default: %(default)s)")
    parser.add_argument("--tracking-uri", help="MLflow store (default: MLFLOW_TRACKING_URI or the project's mlflow.db)")
    args = parser.parse_args(argv)
    try:
        version = promote(args.name, args.version, args.alias, args.tracking_uri)
    except Exception as err:  # MLflow raises its own exception types for unknown names and versions
        print(f"theme-promote: {err}", file=sys.stderr)
        return 2
    print(f"models:/{args.name}@{args.alias} -> version {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
