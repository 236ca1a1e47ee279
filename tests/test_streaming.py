"""The streaming trainer on a small saved DatasetDict, and Spark batch scoring."""

import sys

import numpy as np
import pytest
from datasets import Dataset, DatasetDict

from conftest import ROOT, THEMES, run_python, streaming_overrides
from train.data.corpus import read_records
from train.runtime.predictor import Predictor


@pytest.fixture(scope="module")
def arrow_corpus(tmp_path_factory):
    """The bundled sentences as a saved DatasetDict."""
    records = read_records(sorted((ROOT / "data").glob("*.jsonl")), THEMES)
    records = [records[i] for i in np.random.default_rng(0).permutation(len(records))]  # files are by theme
    texts = [r["text"] for r in records]
    labels = [r["labels"] for r in records]
    n = len(texts)
    path = tmp_path_factory.mktemp("arrow") / "corpus"
    DatasetDict({
        "train": Dataset.from_dict({"text": texts[: int(n * 0.8)], "labels": labels[: int(n * 0.8)]}),
        "validation": Dataset.from_dict({"text": texts[int(n * 0.8): int(n * 0.9)], "labels": labels[int(n * 0.8): int(n * 0.9)]}),
        "test": Dataset.from_dict({"text": texts[int(n * 0.9):], "labels": labels[int(n * 0.9):]}),
    }).save_to_disk(str(path))
    return path


@pytest.mark.slow
def test_streaming_run_trains_in_chunks_tracks_and_exports_an_exact_predictor(arrow_corpus, tmp_path):
    done = run_python("-m", "train", "experiment=streaming", f"data.path={arrow_corpus}", "trainer.chunk_size=1000",
                      "trainer.epochs=1", *streaming_overrides(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "test" in done.stdout and "cross-validation" not in done.stdout
    predictor = Predictor.load(tmp_path / "models" / "theme-classifier")
    assert predictor.predict("Airlines cancelled flights to Dubai after the strike.") == ["aviation"]


def test_streamed_model_scores_match_its_pipeline(arrow_corpus, tmp_path):
    from train.training.config import compose_config
    from train.training.run import run_training

    cfg = compose_config(["experiment=streaming", f"data.path={arrow_corpus}", "trainer.chunk_size=2000", "trainer.epochs=5",
                          "trainer.n_jobs=2", *streaming_overrides(tmp_path, tracked=False)])
    outcome = run_training(cfg)
    result = outcome.result
    texts = result.corpus.splits["test"]["text"]
    expected = np.column_stack([p[:, 1] for p in result.pipeline.predict_proba(texts)])
    np.testing.assert_allclose(result.scores["test"], expected, rtol=0, atol=1e-12)
    predictor = Predictor.load(outcome.export_dir)
    np.testing.assert_allclose(predictor.scores(texts), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose([list(predictor.predict_proba(t).values()) for t in texts[:50]], expected[:50], atol=1e-9)
    assert outcome.metrics["test/macro_f1"] > 0.7 and "cv/macro_f1_mean" not in outcome.metrics


def test_a_saved_dataset_without_a_test_split_is_refused(tmp_path):
    from train.runtime.errors import DataError
    from train.data.arrow import load_arrow_corpus

    DatasetDict({"train": Dataset.from_dict({"text": ["a b c"], "labels": [[]]})}).save_to_disk(str(tmp_path / "d"))
    with pytest.raises(DataError, match="missing split"):
        load_arrow_corpus(str(tmp_path / "d"), THEMES)
    with pytest.raises(DataError, match="not a saved DatasetDict"):
        load_arrow_corpus(str(tmp_path / "nothing"), THEMES)


@pytest.mark.slow
def test_spark_scores_a_table_like_the_predictor(trained, tmp_path, monkeypatch):
    from pyspark.sql import SparkSession

    from train.runtime.errors import DataError
    from train.tracking.spark import score_table

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained.cfg.tracking.uri)
    texts = list(trained.result.corpus.splits["test"]["text"]) + [""]
    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
    try:
        table = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], ["id", "sentence"])
        rows = sorted(score_table(spark, table, f"models:/theme-classifier/{trained.version}", "sentence").collect())
        with pytest.raises(DataError, match="no column 'text'"):
            score_table(spark, table, f"models:/theme-classifier/{trained.version}")
    finally:
        spark.stop()
    predictor = Predictor.load(trained.export_dir)
    assert [r["themes"] for r in rows] == predictor.predict(texts)
    np.testing.assert_allclose([[r[t] for t in THEMES] for r in rows], predictor.scores(texts), atol=1e-12)


def test_an_unknown_theme_in_streamed_labels_is_reported():
    import pyarrow as pa

    from train.runtime.errors import DataError
    from train.data.arrow import arrow_label_matrix as _labels

    column = pa.chunked_array([pa.array([["trade"], [], ["visas", "aviation"]]), pa.array([["trades"]])])
    with pytest.raises(DataError, match="unknown theme 'trades'"):
        _labels(column, tuple(THEMES))
    known = pa.chunked_array([pa.array([["trade"], []]), pa.array([["visas", "aviation"]])])
    assert _labels(known, tuple(THEMES)).tolist() == [[0, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 1]]
