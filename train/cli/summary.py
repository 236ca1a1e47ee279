"""The short results table printed at the end of a training run."""

from __future__ import annotations

from train.training.run import Outcome

SPLITS = ("realcopy_test", "realcopy_dev", "test", "validation")  # real copy first: the numbers that matter


def print_summary(outcome: Outcome) -> None:
    m, themes = outcome.metrics, outcome.result.corpus.themes
    print(f"\n{'':18}{'macro-F1':>14}{'micro-F1':>10}{'no-theme acc':>14}  F1 by theme")
    for split in (s for s in SPLITS if f"{s}/macro_f1" in m):
        by_theme = " ".join(f"{t[:5]} {m[f'{split}/{t}_f1']:.3f}" for t in themes)
        print(f"{split:18}{m[f'{split}/macro_f1']:>14.3f}{m[f'{split}/micro_f1']:10.3f}"
              f"{m[f'{split}/no_theme_accuracy']:14.3f}  {by_theme}")
    if "cv/macro_f1_mean" in m:
        print(f"{'cross-validation':18}{m['cv/macro_f1_mean']:>8.3f} ± {m['cv/macro_f1_std']:.3f}{m['cv/micro_f1_mean']:10.3f}")
    print(f"speed: {m['speed/predict_sentences_per_second']:,.0f} sentences/s in a batch, "
          f"{m['speed/predict_one_median_ms'] * 1000:.0f} µs for one sentence")
    where = f"MLflow run {outcome.run_id}" if outcome.run_id else "not tracked"
    version = f", model version {outcome.model_version}" if outcome.model_version else ""
    print(f"exported {outcome.export_dir}  ({where}{version})")
    if outcome.compare_url:
        print(f"compare runs: `mlflow ui`, then {outcome.compare_url}")
