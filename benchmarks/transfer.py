"""How well training on authored sentences carries over to real copy: fit on every
authored row, score the 83 seed sentences (real articles) at threshold 0.5.

    python benchmarks/transfer.py [hydra overrides, e.g. features=word_char model=linear_svc]
"""

from __future__ import annotations

import sys
import warnings

from train.config import compose_config
from train.corpus import label_matrix, read_records
from train.evaluate import multilabel_metrics
from train.paths import DATA_DIR
from train.pipeline import build_pipeline


def main(overrides: list[str]) -> None:
    warnings.filterwarnings("ignore", category=UserWarning)
    cfg = compose_config(overrides)
    themes = list(cfg.data.themes)
    records = read_records(sorted(DATA_DIR.glob("*.jsonl")), themes)
    parts = {s: [r for r in records if r["source"] == s] for s in ("authored", "seed")}
    x = {s: [r["text"] for r in rows] for s, rows in parts.items()}
    y = {s: label_matrix([r["labels"] for r in rows], themes) for s, rows in parts.items()}
    pipeline = build_pipeline(cfg).fit(x["authored"], y["authored"])
    predicted = (pipeline.predict_proba(x["seed"]) >= 0.5).astype(int)
    m = multilabel_metrics(y["seed"], predicted, themes)
    print(f"trained on {len(x['authored'])} authored, scored {len(x['seed'])} seed sentences "
          f"({' '.join(overrides) or 'default config'})")
    print(f"micro-F1 {m['micro_f1']:.3f}  subset accuracy {m['subset_accuracy']:.3f}  "
          f"no-theme accuracy {m['no_theme_accuracy']:.3f}")
    print("F1 by theme (support): " + ", ".join(f"{t} {m[f'{t}_f1']:.2f} ({m[f'{t}_support']:.0f})" for t in themes))


if __name__ == "__main__":
    main(sys.argv[1:])
