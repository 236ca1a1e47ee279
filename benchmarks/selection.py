"""How the default configuration was chosen: candidates compared on realcopy_dev, with
cross-validation on train beside it. realcopy_test is not looked at here.

    python benchmarks/selection.py                     # the candidates below
    python benchmarks/selection.py "features=char model.C=10" ...
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from train.training.config import compose_config  # noqa: E402
from train.training.run import run_training  # noqa: E402

WORD_CHAR = "features=word_char model=logreg"
CANDIDATES = [
    "features=word model=logreg",
    "features=word model=logreg features.ngram_range=[1,2]",
    "features=word model=logreg features.sublinear_tf=false",
    "features=word model=logreg features.min_df=1",
    "features=char model=logreg",
    WORD_CHAR,
    f"{WORD_CHAR} +features.transformer_list.0.1.min_df=2",
    f"{WORD_CHAR} features.transformer_list.1.1.ngram_range=[3,5]",
    f"{WORD_CHAR} model.C=3",
    f"{WORD_CHAR} model.C=10",
    f"{WORD_CHAR} model.C=100",
    f"{WORD_CHAR} model.class_weight=null",
    "features=word_char model=linear_svc",
    "features=word_char_cues model=logreg features.transformer_list.2.1.weight=0.5",
    "features=word_char_cues model=linear_svc features.transformer_list.2.1.weight=0.5",
    "features=word_char_cues model=linear_svc features.transformer_list.2.1.weight=0.1",
    "features=word_char_cues model=linear_svc features.transformer_list.2.1.weight=0.15",
    "features=word_char_cues model=linear_svc features.transformer_list.2.1.weight=0.25",
    "features=word_char_cues model=linear_svc features.transformer_list.2.1.weight=1.0",
]
THRESHOLDS = "thresholds.splits=[validation,realcopy_dev]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="*", default=CANDIDATES, help="override sets, one string each")
    parser.add_argument("--tune-on", default=THRESHOLDS, help="threshold override applied to every candidate")
    args = parser.parse_args()
    print(f"thresholds: {args.tune_on}\n")
    print("| candidate | realcopy_dev macro-F1 | no-theme acc | CV macro-F1 (train) | test macro-F1 | sentences/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for candidate in args.candidates:
        with tempfile.TemporaryDirectory() as tmp:
            m = run_training(compose_config(["tracking=none", f"paths.models_dir={tmp}", f"hydra.run.dir={tmp}",
                                             args.tune_on, *candidate.split()])).metrics
        print(f"| `{candidate}` | {m['realcopy_dev/macro_f1']:.3f} | {m['realcopy_dev/no_theme_accuracy']:.3f} | "
              f"{m['cv/macro_f1_mean']:.3f} ± {m['cv/macro_f1_std']:.3f} | {m['test/macro_f1']:.3f} | "
              f"{m['speed/predict_sentences_per_second']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
