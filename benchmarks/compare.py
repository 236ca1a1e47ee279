"""This project against fastText, on the same data and machine, in one run.

    pip install -e ".[bench]"
    python benchmarks/compare.py                          # bundled data and 100k, 1M, 3M synthetic
    python benchmarks/compare.py --sizes bundled          # every feature option on the bundled data
    python benchmarks/compare.py --sizes bundled --features word_char_cues,word_char

Systems: this project's default and every ``features`` option (bundled corpus; the
synthetic ones train the streaming mode), fastText with word bigrams (``fasttext``) and
fastText with word bigrams and subword n-grams of 3-5 characters (``fasttext-sub``). Each
trains in its own process (this project without cross-validation: it is not part of the
fit). Each is measured on the test split and, for the bundled corpus, on the real-copy
test set: macro-F1 (this project with its tuned thresholds, fastText at 0.5), batch
throughput on 100,000 sentences (this project also with two worker processes), one-sentence
latency (median and p99 over 3,000 calls); and once per system: cold start (a fresh process
imports, loads and labels one sentence), load time, peak memory of that process, size on
disk. Ratios are to fastText in the same run. Prints a table, writes JSON.
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
FASTTEXT_SUBWORDS = dict(minn=3, maxn=5)  # fastText's own character n-grams
# conf/features; the first is the default
FEATURES = ["word_char_cues", "word_char_cues_l1", "word_char", "word", "char", "hashing"]
TRAIN_WITH = {  # what an option is trained with besides features=<option>
    "hashing": ["features.n_features=262144"],  # 2**20 columns train for minutes
    "word_char_cues_l1": ["model.C=1"],  # its C, chosen on realcopy_dev (conf/features/word_char_cues_l1.yaml)
}
FASTTEXT_EPOCHS = {"bundled": 25}  # fastText's advice for small data; 5 (its default) for the rest
BATCH = 100_000  # sentences in the batch-throughput measure
PROBE = "Airlines resumed direct flights to Kabul after the visa deal."
COLD = {  # imports, load, label one sentence
    "ours": ("from train import Predictor", "p = Predictor.load({model!r})", "p.predict({probe!r})"),
    "fasttext": ("import fasttext", "m = fasttext.load_model({model!r})",
                 "m.f.predict({probe!r} + '\\n', -1, 0.5, 'strict')"),
}
# Peak memory is the process's own high-water mark (VmHWM): ru_maxrss would carry over this
# script's, inherited at fork.
MEASURE = ("import json, time; {0}; t = time.perf_counter(); {1}; loaded = time.perf_counter() - t; {2}; "
           "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]; "
           "print(json.dumps({{'load_ms': 1e3 * loaded, 'peak_mb': int(hwm) / 1024}}))")


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
    if system.startswith("fasttext"):
        import fasttext

        train_file = fasttext_file(data)
        started = time.perf_counter()
        epochs = FASTTEXT_EPOCHS.get(name, 5)
        options = FASTTEXT | (FASTTEXT_SUBWORDS if system == "fasttext-sub" else {})
        fasttext.train_supervised(input=str(train_file), epoch=epochs, **options).save_model(str(model))
        seconds = time.perf_counter() - started
    else:
        from train.training.config import compose_config
        from train.training.run import run_training

        overrides = ["tracking=none", f"paths.models_dir={model.parent}", f"name={model.name}",
                     f"hydra.run.dir={model.parent}"]
        if name == "bundled":
            features = system.partition(":")[2]
            cfg = compose_config(overrides + [f"features={features}", "trainer.cross_validate=false",
                                              *TRAIN_WITH.get(features, [])])
        else:
            # Synthetic rows are generated in random order: no need to reshuffle them.
            cfg = compose_config(overrides + ["experiment=streaming", f"data.path={data}",
                                              f"trainer.n_jobs={n_jobs}", "trainer.shuffle=false"])
        seconds = run_training(cfg).metrics["speed/fit_seconds"]
    return {"train_s": seconds, "train_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def worker_eval(system: str, data: Path, model: Path, split: str) -> dict:
    import numpy as np
    from datasets import load_from_disk
    from sklearn.metrics import f1_score

    test = load_from_disk(str(data))[split]
    test = test.select(range(min(len(test), 100_000)))
    texts, labels = list(test["text"]), list(test["labels"])
    batch = (texts * (BATCH // len(texts) + 1))[:BATCH]  # the same batch size for every corpus
    y = np.array([[t in row for t in THEMES] for row in labels], dtype=int)
    if system.startswith("fasttext"):
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
    singles = (singles * (3000 // len(singles) + 1))[:3000]
    for text in singles[:200]:  # warm: the first calls fill caches
        predict_one(text)
    latencies = []
    for text in singles:
        started = time.perf_counter()
        predict_one(text)
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    return {"macro_f1": float(f1_score(y, predicted, average="macro", zero_division=0)),
            "batch_per_s": len(batch) / batch_s,
            "one_median_us": 1e6 * latencies[len(latencies) // 2],
            "one_p99_us": 1e6 * latencies[int(len(latencies) * 0.99)], **extra}


def cold_start(system: str, model: Path, repeats: int = 5) -> dict:
    """Median wall time of a fresh process that imports, loads and labels one sentence; the
    load time and peak memory it measures; the model's size on disk."""
    kind = "fasttext" if system.startswith("fasttext") else "ours"
    code = MEASURE.format(*(part.format(model=str(model), probe=PROBE) for part in COLD[kind]))
    times, inside = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        inside.append(json.loads(done.stdout.strip().splitlines()[-1]))
    files = [model] if model.is_file() else [f for f in model.iterdir() if f.is_file()]
    return {"cold_start_s": statistics.median(times),
            "load_ms": statistics.median(r["load_ms"] for r in inside),
            "peak_mb": statistics.median(r["peak_mb"] for r in inside),
            "size_mb": sum(f.stat().st_size for f in files) / 1e6}


def run_worker(*args: str) -> dict:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "TQDM_DISABLE": "1"}
    done = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def ratio(row: dict, rows: list[dict], key: str, against: str) -> str:
    """``row[key]`` over the same measure of fastText ``against`` on the same corpus and split."""
    base = next((r for r in rows if r["system"] == against and r["corpus"] == row["corpus"]
                 and r["split"] == row["split"]), None)
    return f"{row[key] / base[key]:.2f}" if base and base.get(key) else ""


COLUMNS = [  # (heading, key, format, ratio to fastText with subwords and without)
    ("macro-F1", "macro_f1", "{:.3f}", False), ("batch/s", "batch_per_s", "{:,.0f}", True),
    ("2 procs", "batch_per_s_2proc", "{:,.0f}", False), ("one median µs", "one_median_us", "{:.1f}", True),
    ("one p99 µs", "one_p99_us", "{:.1f}", False), ("cold start s", "cold_start_s", "{:.2f}", True),
    ("load ms", "load_ms", "{:.1f}", False), ("peak MB", "peak_mb", "{:.0f}", False),
    ("size MB", "size_mb", "{:.1f}", False), ("train s", "train_s", "{:.1f}", False),
]


def markdown(rows: list[dict], machine: str) -> str:
    """The table for the README: each measure and, for the speed measures, its ratio to
    fastText with subwords (/sub) and without (/ft)."""
    heads = []
    for head, _, _, ratios in COLUMNS:
        heads += [head] + (["/sub", "/ft"] if ratios else [])
    lines = ["| corpus | eval | system | " + " | ".join(heads) + " |", "|---|---|---|" + "---:|" * len(heads)]
    for r in rows:
        cells = []
        for _, key, fmt, ratios in COLUMNS:
            cells.append(fmt.format(r[key]) if key in r else "")
            if ratios:
                cells += [ratio(r, rows, key, "fasttext-sub"), ratio(r, rows, key, "fasttext")]
        lines.append(f"| {r['corpus']} | {r['split']} | {r['system']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n{machine}."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="bundled,100k,1m,3m", help="comma-separated: bundled, 100k, 1m, 3m")
    parser.add_argument("--features", default=",".join(FEATURES), help="feature options measured on the bundled corpus")
    parser.add_argument("--work", type=Path, default=Path("/tmp/theme-classifier-bench"), help="data and models")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "compare.json")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, system, data, model, *rest = args.worker
        result = (worker_train(system, Path(data), Path(model), rest[0], int(rest[1])) if kind == "train"
                  else worker_eval(system, Path(data), Path(model), rest[0]))
        print(json.dumps(result))
        return

    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.sizes.split(","):
        data = prepare_data(name, args.work)
        fasttext_file(data)
        ours = [f"ours:{f}" for f in args.features.split(",")] if name == "bundled" else ["ours"]
        splits = ["test", "realcopy_test"] if name == "bundled" else ["test"]
        for system in [*ours, "fasttext", "fasttext-sub"]:
            folder = args.work / f"model-{name}-{system.replace(':', '-')}"
            model = folder / ("theme-classifier" if system.startswith("ours") else "model.bin")
            folder.mkdir(parents=True, exist_ok=True)
            trained = run_worker("train", system, str(data), str(model), name, "2")
            once = cold_start(system, model)
            for split in splits:
                row = {"corpus": name, "split": split, "system": system, **trained, **once,
                       **run_worker("eval", system, str(data), str(model), split)}
                rows.append(row)
                print(json.dumps(row), flush=True)

    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    print()
    print(markdown(rows, machine))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
