"""The short results table printed at the end of a training run."""

from __future__ import annotations

from train.training import TrainingResult


def print_summary(result: TrainingResult, run_id: str, model_version: str | None) -> None:
    m = result.metrics
    rows = []
    if "cv_macro_f1_mean" in m:
        rows.append(("cross-validation", f"{m['cv_macro_f1_mean']:.3f} ± {m['cv_macro_f1_std']:.3f}",
                     m["cv_micro_f1_mean"], None))
    rows += [(split, f"{m[f'{split}_macro_f1']:.3f}", m[f"{split}_micro_f1"], m[f"{split}_no_theme_accuracy"])
             for split in ("validation", "test") if f"{split}_macro_f1" in m]
    print(f"\n{'':18}{'macro-F1':>14}{'micro-F1':>10}{'no-theme acc':>14}")
    for name, macro, micro, none in rows:
        print(f"{name:18}{macro:>14}{micro:10.3f}{'' if none is None else f'{none:14.3f}'}")
    print("test F1 by theme: " + ", ".join(f"{t} {m[f'test_{t}_f1']:.3f}" for t in result.corpus.themes))
    print(f"exported {result.export_dir}  (MLflow run {run_id}"
          + (f", model version {model_version})" if model_version else ")"))
