"""This project against fastText, on the same data and machine, in one run.

    pip install -e ".[bench]"
    python benchmarks/compare.py                          # bundled data and 100k, 1M, 3M synthetic
    python benchmarks/compare.py --sizes bundled,100k     # a quicker subset

For each corpus and system: training time, peak memory of the training process,
macro-F1 on the test split (this project with its thresholds tuned on validation, as it
trains by default; fastText at 0.5), batch throughput on 100,000 test sentences (this
project also with two worker processes), one-sentence
latency (median and p99 over 3,000 calls) and cold start (a fresh process imports,
loads and labels one sentence). The bundled corpus trains this project's default
pipeline; the synthetic ones (benchmarks/synthetic.py, cached under --work) train the
streaming mode. Each training runs in its own process. Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"100k": 100_000, "1m": 1_000_000, "3m": 3_000_000}
THEMES = ["aviation", "counterterrorism", "trade", "visas"]
FASTTEXT = dict(loss="ova", lr=0.5, wordNgrams=2, dim=50, minCount=1, thread=2, verbose=0)
FASTTEXT_EPOCHS = {"bundled": 25}  # fastText's advice for small data; 5 (its default) for the rest
BATCH = 100_000  # sentences in the batch-throughput measure
PROBE = "Airlines resumed direct flights to Kabul after the visa deal."
COLD = {
    "ours": "from train import Predictor; p = Predictor.load({model!r}); p.predict({probe!r})",
    "fasttext": "import fasttext; m = fasttext.load_model({model!r}); m.f.predict({probe!r} + '\\n', -1, 0.5, 'strict')",
}


# --- data ---------------------------------------------------------------------------------

def prepare_data(name: str, work: Path) -> Path:
    """A DatasetDict on disk (train / validation / test) for ``name``, made once."""
    out = work / f"data-{name}"
    if (out / "dataset_dict.json").is_file():
        return out
    if name == "bundled":
        from hydra.utils import instantiate

        from train.training.config import compose_config

        instantiate(compose_config().data).splits.save_to_disk(str(out))
    else:
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "synthetic.py"), "--sentences",
                        str(SIZES[name]), "--out", str(out)], check=True)
    return out


def fasttext_file(data: Path) -> Path:
    """The training split in fastText's format (made once, not timed)."""
    from datasets import load_from_disk

    path = data / "fasttext-train.txt"
    if not path.exists():
        train = load_from_disk(str(data))["train"]
        with open(path, "w", encoding="utf-8") as out:
            for chunk in train.iter(batch_size=100_000):
                for text, labels in zip(chunk["text"], chunk["labels"]):
                    out.write(" ".join(f"__label__{l}" for l in labels) + " " + text.replace("\n", " ") + "\n")
    return path


# --- workers: each runs in its own process -------------------------------------------------

def worker_train(system: str, data: Path, model: Path, name: str, n_jobs: int) -> dict:
    if system == "fasttext":
        import fasttext

        train_file = fasttext_file(data)
        started = time.perf_counter()
        epochs = FASTTEXT_EPOCHS.get(name, 5)
        fasttext.train_supervised(input=str(train_file), epoch=epochs, **FASTTEXT).save_model(str(model))
        seconds = time.perf_counter() - started
    else:
        from train.training.config import compose_config
        from train.training.run import run_training

        overrides = ["tracking=none", f"paths.models_dir={model.parent}", f"name={model.name}",
                     f"hydra.run.dir={model.parent}"]
        if name == "bundled":
            cfg = compose_config(overrides + [f"trainer.cv_jobs={n_jobs}"])  # cross-validation is part of a run
        else:
            # Synthetic rows are generated in random order: no need to reshuffle them.
            cfg = compose_config(overrides + ["experiment=streaming", f"data.path={data}",
                                              f"trainer.n_jobs={n_jobs}", "trainer.shuffle=false"])
        seconds = run_training(cfg).metrics["speed/fit_seconds"]
    return {"train_s": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def worker_eval(system: str, data: Path, model: Path) -> dict:
    import numpy as np
    from datasets import load_from_disk
    from sklearn.metrics import f1_score

    test = load_from_disk(str(data))["test"]
    test = test.select(range(min(len(test), 100_000)))
    texts, labels = list(test["text"]), list(test["labels"])
    batch = (texts * (BATCH // len(texts) + 1))[:BATCH]  # the same batch size for every corpus
    y = np.array([[t in row for t in THEMES] for row in labels], dtype=int)
    if system == "fasttext":
        import fasttext

        m = fasttext.load_model(str(model))
        lines = [t.replace("\n", " ") + "\n" for t in texts]
        predict_one = lambda line: m.f.predict(line, -1, 0.5, "strict")
        test_labels, _ = m.f.multilinePredict(lines, -1, 0.5, "strict")
        predicted = np.array([[f"__label__{t}" in row for t in THEMES] for row in test_labels], dtype=int)
        batch_lines = [t.replace("\n", " ") + "\n" for t in batch]
        started = time.perf_counter()
        m.f.multilinePredict(batch_lines, -1, 0.5, "strict")
        batch_s = time.perf_counter() - started
        singles = lines
        extra = {}
    else:
        from train.runtime.predictor import Predictor

        p = Predictor.load(model)
        predict_one = p.predict
        predicted = np.array([[t in row for t in THEMES] for row in p.predict(texts)], dtype=int)
        started = time.perf_counter()
        p.predict(batch)
        batch_s = time.perf_counter() - started
        singles = texts
        two = Predictor.load(model, n_jobs=2)
        two.predict(batch[:30_000])  # start the worker processes
        started = time.perf_counter()
        two.predict(batch)
        extra = {"batch_per_s_2proc": len(batch) / (time.perf_counter() - started)}
    latencies = []
    for text in singles[:3000]:
        started = time.perf_counter()
        predict_one(text)
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    return {"macro_f1": float(f1_score(y, predicted, average="macro", zero_division=0)),
            "batch_per_s": len(batch) / batch_s,
            "one_median_us": 1e6 * latencies[len(latencies) // 2],
            "one_p99_us": 1e6 * latencies[int(len(latencies) * 0.99)], **extra}


def cold_start(system: str, model: Path, repeats: int = 5) -> float:
    code = COLD[system].format(model=str(model), probe=PROBE)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_worker(*args: str) -> dict:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "TQDM_DISABLE": "1"}
    done = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(rows: list[dict], machine: str) -> str:
    """The table for the README."""
    lines = ["| corpus | system | train s | peak MB | macro-F1 | batch/s (2 procs) | one sentence median / p99 µs | cold start s |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        two = f" ({r['batch_per_s_2proc']:,.0f})" if "batch_per_s_2proc" in r else ""
        lines.append(f"| {r['corpus']} | {r['system']} | {r['train_s']:.1f} | {r['peak_mb']:.0f} | {r['macro_f1']:.3f} | "
                     f"{r['batch_per_s']:,.0f}{two} | {r['one_median_us']:.1f} / {r['one_p99_us']:.1f} | "
                     f"{r['cold_start_s']:.2f} |")
    return "\n".join(lines) + f"\n\n{machine}."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="bundled,100k,1m,3m", help="comma-separated: bundled, 100k, 1m, 3m")
    parser.add_argument("--work", type=Path, default=Path("/tmp/theme-classifier-bench"), help="data and models")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "compare.json")
    parser.add_argument("--speedup", action="store_true", help="also train ours with one process, to show the gain of two")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, system, data, model, *rest = args.worker
        result = (worker_train(system, Path(data), Path(model), rest[0], int(rest[1])) if kind == "train"
                  else worker_eval(system, Path(data), Path(model)))
        print(json.dumps(result))
        return

    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.sizes.split(","):
        data = prepare_data(name, args.work)
        fasttext_file(data)
        for system in ("ours", "fasttext"):
            model = args.work / f"model-{name}-{system}" / ("theme-classifier" if system == "ours" else "model.bin")
            model.parent.mkdir(parents=True, exist_ok=True)
            row = {"corpus": name, "system": system, **run_worker("train", system, str(data), str(model), name, "2")}
            row.update(run_worker("eval", system, str(data), str(model)))
            row["cold_start_s"] = cold_start(system, model)
            if args.speedup and system == "ours":
                row["train_s_one_process"] = run_worker("train", system, str(data), str(model), name, "1")["train_s"]
            rows.append(row)
            print(json.dumps(row), flush=True)

    print(f"\n{'corpus':8} {'system':9} {'train s':>8} {'peak MB':>8} {'macro-F1':>9} {'batch/s':>10} "
          f"{'2 procs':>10} {'1 median µs':>12} {'1 p99 µs':>9} {'cold s':>7}"
          + ("  train s, 1 process" if args.speedup else ""))
    for r in rows:
        two = f"{r['batch_per_s_2proc']:10,.0f}" if "batch_per_s_2proc" in r else f"{'':10}"
        extra = f"  {r['train_s_one_process']:8.1f}" if "train_s_one_process" in r else ""
        print(f"{r['corpus']:8} {r['system']:9} {r['train_s']:8.1f} {r['peak_mb']:8.0f} {r['macro_f1']:9.3f} "
              f"{r['batch_per_s']:10,.0f} {two} {r['one_median_us']:12.1f} {r['one_p99_us']:9.1f} "
              f"{r['cold_start_s']:7.3f}{extra}")
    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    print(f"({machine})\n")
    print(markdown(rows, machine))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
