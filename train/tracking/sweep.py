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
        import mlflow
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        experiment_id = client.get_run(parent).info.experiment_id
        children = client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent}'",
                                      order_by=[f"metrics.`{self.metric}` DESC"])
        client.set_tag(parent, "children", str(len(children)))
        scored = [c for c in children if self.metric in c.data.metrics]
        if scored:
            best = scored[0]
            client.set_tag(parent, "best_run_id", best.info.run_id)
            client.set_tag(parent, "best_run_name", best.info.run_name or "")
            client.log_metric(parent, f"best/{self.metric}", best.data.metrics[self.metric])
            name = tracking.registered_model_name
            if name:
                version = mlflow.register_model(best.data.tags["model_uri"], name).version
                client.set_tag(parent, "best_model_version", str(version))
                if tracking.promote_to_champion:
                    client.set_registered_model_alias(name, "champion", str(version))
        client.set_terminated(parent, "FINISHED" if len(scored) == len(children) else "FAILED")
