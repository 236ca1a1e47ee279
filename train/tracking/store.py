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

from train.training.processes import identity, left_by_dead_process, still_running

PROCESS_TAG = "process"  # "<host><pid namespace>/<pid>:<start time>" of the process that runs the run
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
        if left_by_dead_process(left.name, f".{path.name}{BUILD_INFIX}"):
            left.unlink(missing_ok=True)
    build = path.with_name(f".{path.name}{BUILD_INFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        MlflowClient(tracking_uri=f"sqlite:///{build}").search_experiments()  # creates every table
        try:
            os.link(build, path)
        except FileExistsError:
            pass  # another process made the store meanwhile
        except OSError:  # a filesystem without hard links: a rename, which a parallel creator may race
            if not path.exists():
                os.replace(build, path)
    finally:
        for left in (build, build.with_name(f"{build.name}-journal")):
            left.unlink(missing_ok=True)


def this_machine() -> str:
    """The host and its pid namespace: containers that share a host name see different pids."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}{namespace}"


def process_tag() -> dict[str, str]:
    return {PROCESS_TAG: f"{this_machine()}/{identity()}"}


def mark_dead_runs_killed(client: MlflowClient) -> list[str]:
    """Mark KILLED the RUNNING runs of this machine whose process is gone; returns their ids."""
    here = f"{this_machine()}/"
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    if not experiments:
        return []
    running = client.search_runs(experiments, "attributes.status = 'RUNNING'", run_view_type=ViewType.ALL,
                                 max_results=50_000)
    killed = []
    for run in running:
        tag = run.data.tags.get(PROCESS_TAG, "")
        if tag.startswith(here) and not still_running(tag.removeprefix(here)):
            client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED))
            killed.append(run.info.run_id)
    return killed
