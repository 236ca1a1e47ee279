import re

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from conftest import THEMES
from train.runtime.predictor import Predictor
from train.tracking.registry import promote
from train.tracking.runs import flatten


@pytest.fixture(scope="module")
def run(trained):
    client = MlflowClient(tracking_uri=trained.cfg.tracking.uri)
    return client, client.get_run(trained.run_id)


def test_run_logs_the_flattened_config_and_tags(trained, run):
    _, logged = run
    params = logged.data.params
    assert params["model._target_"] == "sklearn.svm.LinearSVC"
    assert params["features._target_"] == "sklearn.pipeline.FeatureUnion"
    assert params["thresholds.splits"] == "['validation', 'realcopy_dev']"
    assert params["data.themes"] == str(THEMES)
    assert "overrides" in params
    tags = logged.data.tags
    assert tags["run_kind"] == "single"
    assert tags["data_fingerprint"] == trained.result.corpus.fingerprint
    assert re.fullmatch(r"[0-9a-f]{40}", tags["git_commit"])
    assert tags["version.scikit-learn"]


def test_long_param_values_are_cut_to_mlflows_limit():
    from omegaconf import OmegaConf

    flat = flatten(OmegaConf.create({"a": {"b": "x" * 10_000, "c": [1, 2]}}))
    assert len(flat["a.b"]) == 6000 and flat["a.b"].endswith("...") and flat["a.c"] == "[1, 2]"


def test_run_logs_metrics_for_comparison(run):
    _, logged = run
    metrics = logged.data.metrics
    expected = ["cv/macro_f1_mean", "cv/macro_f1_std", "validation/macro_f1", "test/macro_f1", "test/micro_f1",
                "test/no_theme_accuracy", "test/seed_micro_f1", "test/authored_macro_f1", "speed/fit_seconds",
                "speed/predict_sentences_per_second", "speed/predict_one_median_ms", "size/model_bytes",
                "size/n_features"]
    expected += [f"{split}/{t}_{m}" for split in ("test", "realcopy_dev", "realcopy_test")
                 for t in THEMES for m in ("precision", "recall", "f1")]
    expected += [f"{split}/{m}" for split in ("realcopy_dev", "realcopy_test")
                 for m in ("macro_f1", "micro_f1", "no_theme_accuracy")]
    missing = [name for name in expected if name not in metrics]
    assert not missing
    assert 0.5 < metrics["test/macro_f1"] <= 1.0 and 0.5 < metrics["realcopy_test/macro_f1"] <= 1.0


def test_run_logs_its_datasets_and_artifacts(trained, run):
    client, logged = run
    inputs = {d.dataset.name: d for d in logged.inputs.dataset_inputs}
    assert set(inputs) == {f"theme-sentences-{split}"
                           for split in ("train", "validation", "test", "realcopy_dev", "realcopy_test")}
    assert inputs["theme-sentences-train"].dataset.digest == trained.result.corpus.fingerprint
    names = {a.path for a in client.list_artifacts(trained.run_id)}
    assert {"config.yaml", "overrides.yaml", "evaluation"} <= names
    evaluation = {a.path.split("/")[-1] for a in client.list_artifacts(trained.run_id, "evaluation")}
    for split in ("test", "realcopy_test"):
        assert {f"classification_report_{split}.txt", f"precision_recall_{split}.png",
                f"misclassified_{split}.json"} <= evaluation
        assert {f"confusion_{split}_{t}.png" for t in THEMES} <= evaluation
    assert "top_terms.json" in evaluation


def test_registered_model_predicts_like_the_exported_predictor(trained):
    import mlflow.pyfunc

    mlflow.set_tracking_uri(trained.cfg.tracking.uri)
    model = mlflow.pyfunc.load_model(f"models:/theme-classifier/{trained.version}")
    texts = trained.result.corpus.splits["test"]["text"][:50]
    frame = model.predict(pd.DataFrame({"text": texts}))
    predictor = Predictor.load(trained.export_dir)
    assert frame["themes"].map(list).tolist() == predictor.predict(texts)
    np.testing.assert_allclose(frame[THEMES].to_numpy(), predictor.scores(texts), atol=1e-12)
    with pytest.raises(Exception, match="text"):
        model.predict(pd.DataFrame({"sentence": texts}))


def test_champion_alias_loads_through_predictor(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("THEME_CLASSIFIER_MODEL_CACHE", str(tmp_path))
    uri = trained.cfg.tracking.uri
    assert promote("theme-classifier", tracking_uri=uri) == trained.version
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    champion = Predictor.load("models:/theme-classifier@champion")
    texts = ["Airlines resumed flights to Kabul.", "Visa fees doubled."]
    np.testing.assert_array_equal(champion.scores(texts), Predictor.load(trained.export_dir).scores(texts))
