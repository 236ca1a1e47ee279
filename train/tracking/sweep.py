"""A Hydra sweep (-m) as one MLflow parent run with one child run per job."""

from __future__ import annotations

import os
from typing import Any

from hydra.experimental.callback import Callback
from hydra.utils import instantiate
from omegaconf import DictConfig

class SweepCallback(Callback):
    """Opens one parent run before a sweep's jobs start and tags it with the best child at the end.

    Hydra creates callbacks for every command, so MLflow is imported only once a sweep starts."""

    def __init__(self, metric: str) -> None:
        self.metric = metric

    def _tracking(self, config: DictConfig):
        from train.tracking.runs import MlflowTracking

        tracking = instantiate(config.tracking)
        return tracking if isinstance(tracking, MlflowTracking) else None  # tracking=none: no runs

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        tracking = self._tracking(config)
        if tracking is None:
            return
        from mlflow.tracking import MlflowClient

        from train.tracking.runs import PARENT_RUN_ENV, git_state
        from train.tracking.store import process_tag

        experiment_id = tracking.check()
        run = MlflowClient().create_run(
            experiment_id, run_name=f"sweep {' '.join(config.hydra.overrides.task)}".strip(),
            tags={"run_kind": "sweep", **git_state(), **process_tag()},
        )
        os.environ[PARENT_RUN_ENV] = run.info.run_id

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        tracking = self._tracking(config)
        if tracking is None:
            return
        from train.tracking.runs import PARENT_RUN_ENV

        parent = os.environ.pop(PARENT_RUN_ENV, None)
        if parent is None:
            return
        from mlflow.tracking import MlflowClient

        from train.tracking.registry import register

        client = MlflowClient()
        experiment_id = client.get_run(parent).info.experiment_id
        children = client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent}'",
                                      order_by=[f"metrics.`{self.metric}` DESC"])
        client.set_tag(parent, "children", str(len(children)))
        scored = [c for c in children if self.metric in c.data.metrics and "model_uri" in c.data.tags]
        best, version = (scored[0] if scored else None), None
        if best is not None:
            client.set_tag(parent, "best_run_id", best.info.run_id)
            client.set_tag(parent, "best_run_name", best.info.run_name or "")
            client.log_metric(parent, f"best/{self.metric}", best.data.metrics[self.metric])
            name = tracking.registered_model_name
            if name:
                version = register(best.data.tags["model_uri"], name)
                client.set_tag(parent, "best_model_version", version)
                if tracking.promote_to_champion:
                    client.set_registered_model_alias(name, "champion", version)
        rows = job_rows(children, self.metric)
        if rows:
            _log_jobs(client, parent, rows, self.metric)
        view = _add_sweep_view(client, experiment_id, parent, children, self.metric)
        summary = sweep_summary(parent, rows, self.metric, best, version, tracking.registered_model_name)
        client.set_tag(parent, "mlflow.note.content", f"```\n{summary.strip()}\n```")
        client.set_terminated(parent, "FINISHED" if len(scored) == len(children) else "FAILED")
        print(f"{summary}\ncompare the jobs: `mlflow ui`, then {tracking.compare_url(experiment_id, view, charts=True)}")


def summary_metrics(metric: str) -> list[str]:
    """The sweep's metric, then the headline metrics."""
    from train.training.evaluation import HEADLINE_METRICS

    return list(dict.fromkeys((metric, *HEADLINE_METRICS)))


def job_rows(children, metric: str) -> list[dict]:
    """One row per job, best first: its overrides, headline metrics, status and seconds."""
    rows = []
    for child in children:
        info, metrics = child.info, child.data.metrics
        seconds = (info.end_time - info.start_time) / 1000 if info.end_time else float("nan")
        rows.append({"job": child.info.run_name or child.info.run_id, "run_id": info.run_id, "status": info.status,
                     **{name: metrics.get(name, float("nan")) for name in summary_metrics(metric)},
                     "seconds": seconds})
    return rows


def sweep_summary(parent: str, rows: list[dict], metric: str, best, version: str | None, name: str | None) -> str:
    """The table printed at the end of a sweep: every job, then the best one and its version."""
    from train.training.report import swept_settings

    columns = summary_metrics(metric)
    labels = [" ".join(f"{k}={v}" for k, v in s.items()) or r["job"]
              for s, r in zip(swept_settings([r["job"] for r in rows]), rows)]
    width = max([len("job"), *map(len, labels)])
    heads = [c.replace("/macro_f1", "") for c in columns]
    lines = [f"\nsweep: MLflow run {parent}, {len(rows)} jobs, ranked by {metric}",
             "  ".join([f"{'job':<{width}}", *(f"{h:>{max(len(h), 6)}}" for h in heads), f"{'seconds':>7}", "status"])]
    for row, label in zip(rows, labels):
        values = [f"{row[c]:>{max(len(h), 6)}.3f}" for c, h in zip(columns, heads)]
        lines.append("  ".join([f"{label:<{width}}", *values, f"{row['seconds']:>7.0f}", row["status"]]))
    if best is None:
        lines.append(f"no job logged {metric}: nothing registered")
    else:
        registered = f", registered as models:/{name}/{version}" if version else ""
        lines.append(f"best: {labels[[r['run_id'] for r in rows].index(best.info.run_id)]} "
                     f"(run {best.info.run_id}){registered}")
    return "\n".join(lines)


def _log_jobs(client, parent: str, rows: list[dict], metric: str) -> None:
    """The jobs as a table and a plot of the chosen metric against each swept setting, on the parent run."""
    import tempfile
    from pathlib import Path

    import pandas as pd

    from train.training.report import plot_sweep

    client.log_table(parent, pd.DataFrame(rows), "sweep/jobs.json")
    with tempfile.TemporaryDirectory() as tmp:
        plot = Path(tmp) / f"{metric.replace('/', '_')}_by_setting.png"
        if plot_sweep([r["job"] for r in rows], [r[metric] for r in rows], metric, plot):
            client.log_artifact(parent, str(plot), "sweep")


def _add_sweep_view(client, experiment_id: str, parent: str, children, metric: str) -> str:
    """A UI view of this sweep's jobs, charting the params that differ between them; its key."""
    import json

    from train.tracking.ui_views import sweep_view, view_tag

    # Params every job has (a parallel-coordinates chart needs a value on each axis) that differ between jobs.
    params = sorted(set.intersection(*(set(c.data.params) for c in children)) - {"overrides"}) if children else []
    varied = [k for k in params if len({c.data.params[k] for c in children}) > 1][:8]
    key = f"sweep-{parent[:8]}"
    client.set_experiment_tag(experiment_id, view_tag(key), json.dumps(sweep_view(parent, varied, metric)))
    return key
