"""`theme-review --report`: what the reviewed sentences changed, on the same held-out sentences.

The reviewed rows join the training split only, so the baseline (the same configuration
without them) and the new model are scored on the very same validation, test and real-copy
sentences. The new model is a tracked run exported as ``<name>-reviewed``: the live
``models/<name>`` stays as it is until you train it with ``python -m train``.
"""

from __future__ import annotations

from omegaconf import DictConfig

from train.cli.compose import composed
from train.cli.summary import SPLITS
from train.data.jsonl import iter_jsonl
from train.runtime.errors import DataError
from train.training.checks import instantiate_part, prepare
from train.training.run import run_training

TAG = "review.sentences"


def report(cfg: DictConfig, overrides: list[str]) -> str:
    reviewed = cfg.paths.reviewed
    try:
        count = sum(1 for _ in iter_jsonl(reviewed))
    except FileNotFoundError:
        count = 0
    if not count:
        raise DataError(f"{reviewed}: no reviewed sentences yet; run theme-review FILE first")
    # The baseline is fitted and scored only: nothing of it is tracked or exported.
    base_cfg = composed("theme-review", [*overrides, "data.train_only=[]", "trainer.cross_validate=false"])
    prepared = prepare(base_cfg)
    before = prepared.trainer.fit(prepared.pipeline, prepared.corpus).metrics
    name = [] if any(o.startswith("name=") for o in overrides) else [f"name={cfg.name}-reviewed"]
    new_cfg = composed("theme-review", [*overrides, *name])
    outcome = run_training(new_cfg)
    added = outcome.result.corpus.train_only_rows
    text = comparison(before, outcome.metrics, list(outcome.result.corpus.themes), added, count)
    tracking = instantiate_part(new_cfg.tracking, "tracking")
    tracking.describe(outcome.run_id, {TAG: str(added), "mlflow.note.content": f"```\n{text}\n```"})
    where = f"MLflow run {outcome.run_id}" if outcome.run_id else "not tracked"
    return f"{text}\nexported {outcome.export_dir} ({where}); models/{cfg.name} is unchanged"


def comparison(before: dict, after: dict, themes: list[str], added: int, reviewed: int) -> str:
    """Macro-F1 and per-theme F1 per split, before -> after, with the change."""
    left_out = f" ({reviewed - added} left out as repeats or near-duplicates of held-out sentences)" \
        if added < reviewed else ""
    lines = [f"{added} reviewed sentences in training{left_out}: "
             f"{before['size/train_sentences']:.0f} -> {after['size/train_sentences']:.0f} sentences",
             f"{'':15}{'macro-F1 before':>16}{'after':>8}{'change':>8}   F1 change by theme"]
    for split in (s for s in SPLITS if f"{s}/macro_f1" in after):
        b, a = before[f"{split}/macro_f1"], after[f"{split}/macro_f1"]
        by_theme = " ".join(f"{t[:5]} {after[f'{split}/{t}_f1'] - before[f'{split}/{t}_f1']:+.3f}" for t in themes)
        lines.append(f"{split:15}{b:16.3f}{a:8.3f}{a - b:+8.3f}   {by_theme}")
    return "\n".join(lines)
