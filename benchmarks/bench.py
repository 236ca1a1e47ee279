"""Speed of the command line, the default training run and the exported predictor, as a table.

    python benchmarks/bench.py [--runs 3] [--json results.json]

Start-up is timed for the answers that need no training (`--help`, `--cfg job`, a
mistyped override). Training is timed as a user runs it (`python -m train`, a fresh
process, imports included) into a temporary models folder and MLflow store. The predictor
is timed on the bundled sentences: cold start in a fresh process, batch throughput on
20,000 sentences, and one sentence at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLD_START = (
    "import time; t = time.perf_counter(); from train import Predictor;"
    "p = Predictor.load({model!r}); p.predict('Airlines resumed flights to Kabul.');"
    "print(time.perf_counter() - t)"
)


STARTUP = {"startup_help_s": ["--help"], "startup_cfg_job_s": ["--cfg", "job"], "startup_bad_override_s": ["modle.C=3"]}


def command_seconds(args: list[str]) -> float:
    """Median wall time of ``python -m train args`` over five fresh processes."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "train", *args], cwd=ROOT, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def train_once(tmp: Path) -> float:
    args = [sys.executable, "-m", "train", f"paths.models_dir={tmp}/models", f"tracking.uri=sqlite:///{tmp}/mlflow.db",
            f"tracking.artifact_location=file://{tmp}/mlartifacts", f"hydra.run.dir={tmp}/outputs"]
    started = time.perf_counter()
    subprocess.run(args, cwd=ROOT, check=True, capture_output=True, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="training runs to time (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    figures: dict[str, float] = {key: command_seconds(args) for key, args in STARTUP.items()}
    with tempfile.TemporaryDirectory() as tmp:
        fresh = [train_once(Path(tmp) / f"fresh{i}") for i in range(args.runs)]  # new store each time
        again = [train_once(Path(tmp) / "fresh0") for _ in range(args.runs)]  # store already there
        figures["train_fresh_store_s"] = statistics.median(fresh)
        figures["train_existing_store_s"] = statistics.median(again)
        model = Path(tmp) / "fresh0" / "models" / "theme-classifier"

        cold = [float(subprocess.run([sys.executable, "-c", COLD_START.format(model=str(model))], cwd=ROOT, check=True,
                                     capture_output=True, text=True).stdout) for _ in range(5)]
        figures["cold_start_s"] = statistics.median(cold)

        from train.data.corpus import read_records
        from train.runtime.predictor import Predictor

        predictor = Predictor.load(model)
        texts = [r["text"] for r in read_records(sorted((ROOT / "data").glob("*.jsonl")), predictor.themes)]
        batch = (texts * (20_000 // len(texts) + 1))[:20_000]
        rates = []
        for _ in range(3):
            started = time.perf_counter()
            predictor.predict(batch)
            rates.append(len(batch) / (time.perf_counter() - started))
        figures["batch_sentences_per_s"] = max(rates)
        single = []
        for text in texts[:3000]:
            started = time.perf_counter()
            predictor.predict(text)
            single.append(time.perf_counter() - started)
        single.sort()
        figures["one_sentence_median_ms"] = 1000 * single[len(single) // 2]
        figures["one_sentence_p99_ms"] = 1000 * single[int(len(single) * 0.99)]

    rows = [
        ("python -m train --help (s)", "startup_help_s", "< 2"),
        ("python -m train --cfg job (s)", "startup_cfg_job_s", "< 2"),
        ("python -m train with a mistyped override (s)", "startup_bad_override_s", "< 2"),
        ("python -m train, new MLflow store (s)", "train_fresh_store_s", ""),
        ("python -m train, existing store (s)", "train_existing_store_s", ""),
        ("predictor cold start: import, load, 1 sentence (s)", "cold_start_s", "< 2"),
        ("predictor batch of 20,000 (sentences/s)", "batch_sentences_per_s", "> 20,000"),
        ("predictor one sentence, median (ms)", "one_sentence_median_ms", "< 1"),
        ("predictor one sentence, p99 (ms)", "one_sentence_p99_ms", ""),
    ]
    print(f"{'measure':52} {'value':>10}  target")
    for label, key, target in rows:
        value = figures[key]
        print(f"{label:52} {value:>10,.{0 if value > 100 else 3}f}  {target}")
    print(f"({os.cpu_count()} cores, Python {sys.version.split()[0]}, {args.runs} training runs each)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
