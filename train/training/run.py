"""One training run from a composed config: check, fit, evaluate, log, then publish."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from train.runtime.predictor import Predictor
from train.training.checks import check_writable, export_target, in_sweep, instantiate_part, prepare
from train.training.convert import predictor_files
from train.training.publish import discard, publish, stamp, write_version
from train.training.result import TrainingResult
from train.training.speed import predictor_speed
from train.training.versions import package_versions


@dataclass
class Outcome:
    result: TrainingResult
    metrics: dict[str, float]  # the trainer's, plus speed and size of the export
    export_dir: Path
    run_id: str | None
    model_version: str | None  # registered version, if the model was registered
    compare_url: str | None = None  # the MLflow UI's view of this run beside the others


def run_training(cfg: DictConfig) -> Outcome:
    """Train, evaluate and export one model. ``models/<name>`` changes only once the run has
    succeeded, logging included: a failed or killed run leaves the previous export as it was."""
    check_writable(export_target(cfg).parent)  # the quickest checks first
    tracking = instantiate_part(cfg.tracking, "tracking")
    experiment_id = tracking.check()  # an unreachable store fails here, before the data is read
    prepared = prepare(cfg)  # data, hyperparameters, example counts: before any long work
    with tracking.run(cfg) as run_id:
        result = prepared.trainer.fit(prepared.pipeline, prepared.corpus)
        themes = list(result.corpus.themes)
        spec, vocabularies, weights = predictor_files(result.pipeline, themes, result.thresholds.tolist())
        spec |= {"data_fingerprint": result.corpus.fingerprint, "versions": package_versions(), "run_id": run_id}
        sample = result.corpus.splits["test"].select(range(min(2000, len(result.corpus.splits["test"]))))["text"]
        metrics = result.metrics | predictor_speed(Predictor(spec, vocabularies, weights), sample)
        metrics["size/n_features"] = float(len(weights["coef"]))
        pending = write_version(prepared.target, spec, vocabularies, weights, {
            "config.yaml": OmegaConf.to_yaml(cfg, resolve=True),
            "metrics.json": json.dumps(metrics, indent=2, sort_keys=True),
        })
        try:
            metrics["size/model_bytes"] = float(sum(p.stat().st_size for p in pending.iterdir()))
            version = tracking.log(cfg, result, pending, metrics)  # registers from this run's own folder
            if version is not None:  # the export names its registered version: one id for both
                stamp(pending, {"model_version": version})
            export_dir = publish(prepared.target, pending)
        except BaseException:
            discard(pending)
            raise
    compare_url = None if in_sweep() else tracking.compare_url(experiment_id)  # a sweep prints it once, at its end
    return Outcome(result, metrics, export_dir, run_id, version, compare_url)
