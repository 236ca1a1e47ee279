"""Upkeep of the tracking store: a new SQLite store appears whole or not at all, and runs
whose process died are marked KILLED by the next run on the store."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import train.tracking.env  # noqa: F401  (before mlflow)
from mlflow.entities import RunStatus, ViewType
from mlflow.tracking import MlflowClient

from train.training.processes import alive, identity, still_running

PROCESS_TAG = "process"  # "<host>/<pid>:<start time>" of the process that runs the run
BUILD_INFIX = ".creating-"  # a store being built beside its final name: .<name>.creating-<pid>-<id>


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores and in-memory ones)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri.removeprefix("sqlite:///").partition("?")[0]
    return Path(path) if path and path != ":memory:" else None


def create_sqlite_store(uri: str) -> None:
    """Build and migrate a missing SQLite store beside its place, then link it into place.

    MLflow creates a store by migrating it where it stands: a process killed in that first
    second leaves a half-migrated database that every later run refuses. Linking (never
    replacing) also lets parallel jobs race safely: the first complete store wins."""
    path = sqlite_file(uri)
    if path is None or path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    for left in path.parent.glob(f".{path.name}{BUILD_INFIX}*"):  # builds of processes that died
        if not alive(int(left.name.rpartition(BUILD_INFIX)[2].split("-")[0])):
            left.unlink(missing_ok=True)
    build = path.with_name(f".{path.name}{BUILD_INFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        MlflowClient(tracking_uri=f"sqlite:///{build}").search_experiments()  # creates every table
        try:
            os.link(build, path)
        except FileExistsError:
            pass  # another process made the store meanwhile
    finally:
        for left in (build, build.with_name(f"{build.name}-journal")):
            left.unlink(missing_ok=True)


def process_tag() -> dict[str, str]:
    return {PROCESS_TAG: f"{socket.gethostname()}/{identity()}"}


def mark_dead_runs_killed(client: MlflowClient) -> list[str]:
    """Mark KILLED the RUNNING runs of this host whose process is gone; returns their ids."""
    host = socket.gethostname()
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    if not experiments:
        return []
    running = client.search_runs(experiments, f"attributes.status = 'RUNNING' and tags.{PROCESS_TAG} LIKE '{host}/%'",
                                 run_view_type=ViewType.ALL)
    killed = []
    for run in running:
        if not still_running(run.data.tags[PROCESS_TAG].removeprefix(f"{host}/")):
            client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED))
            killed.append(run.info.run_id)
    return killed
