import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from conftest import THEMES, copy_with_edited_spec, run_python
from train.runtime.errors import ModelFileError
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
    assert str(promote("theme-classifier", tracking_uri=uri, version=trained.version).version) == trained.version
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    champion = Predictor.load("models:/theme-classifier@champion")
    assert (champion.info["model_version"], champion.info["run_id"]) == (trained.version, trained.run_id)
    assert champion.info["model_uri"] == "models:/theme-classifier@champion"
    texts = ["Airlines resumed flights to Kabul.", "Visa fees doubled."]
    np.testing.assert_array_equal(champion.scores(texts), Predictor.load(trained.export_dir).scores(texts))


def test_the_export_its_run_and_its_registered_version_are_one_model(trained, run):
    client, found = run
    info = Predictor.load(trained.export_dir).info
    assert (info["run_id"], info["model_version"]) == (trained.run_id, trained.version)
    assert client.get_model_version("theme-classifier", trained.version).run_id == trained.run_id


def test_the_experiment_opens_in_the_classic_ui_and_runs_describe_themselves(trained, run):
    client, found = run
    experiment = client.get_experiment(found.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "realcopy_test/macro_f1" in experiment.tags["mlflow.note.content"]
    view = json.loads(experiment.tags["mlflow.sharedViewState.compare"])  # the view the summary's link opens
    assert view["orderByKey"] == "metrics.`realcopy_test/macro_f1`" and not view["orderByAsc"]
    assert view["selectedColumns"][:3] == ["metrics.`realcopy_test/macro_f1`", "metrics.`realcopy_dev/macro_f1`",
                                           "metrics.`test/macro_f1`"]
    scatter = view["compareRunCharts"][0]
    assert (scatter["type"], scatter["xaxis"]["key"], scatter["yaxis"]["key"]) == (
        "SCATTER", "speed/predict_sentences_per_second", "realcopy_test/macro_f1")
    metrics = found.data.metrics
    assert found.data.tags["mlflow.note.content"] == "; ".join([
        *(f"{key} {metrics[key]:.3f}" for key in ("realcopy_test/macro_f1", "realcopy_dev/macro_f1", "test/macro_f1",
                                                  "validation/macro_f1")),
        f"{metrics['speed/predict_sentences_per_second']:,.0f} sentences/s"])


def test_promote_takes_an_explicit_choice_prints_it_and_says_when_the_local_export_differs(trained, tmp_path):
    uri = trained.cfg.tracking.uri
    same = run_python("-m", "train.cli.promote", "--run", trained.run_id, f"tracking.uri={uri}",
                      f"paths.models_dir={trained.export_dir.parent}")
    assert same.returncode == 0, same.stderr
    metrics = MlflowClient(uri).get_run(trained.run_id).data.metrics
    assert same.stdout == (f"models:/theme-classifier@champion -> version {trained.version} (run {trained.run_id})  "
                           f"realcopy_test/macro_f1 {metrics['realcopy_test/macro_f1']:.3f}  "
                           f"realcopy_dev/macro_f1 {metrics['realcopy_dev/macro_f1']:.3f}  "
                           f"test/macro_f1 {metrics['test/macro_f1']:.3f}  "
                           f"validation/macro_f1 {metrics['validation/macro_f1']:.3f}\n")
    other = copy_with_edited_spec(trained.export_dir, tmp_path, lambda spec: spec.update(run_id="0" * 32,
                                                                                         model_version="7"))
    other.rename(tmp_path / "theme-classifier")
    differs = run_python("-m", "train.cli.promote", "--version", trained.version, f"tracking.uri={uri}",
                         f"paths.models_dir={tmp_path}")
    assert differs.returncode == 0, differs.stderr
    assert differs.stdout.splitlines()[1] == (
        f"note: the local export {tmp_path / 'theme-classifier'} is another model (version 7, run {'0' * 32}): "
        "theme-predict and Predictor.load on that folder do not score with @champion")
    assert str(MlflowClient(uri).get_model_version_by_alias("theme-classifier", "champion").version) == trained.version


def _pyfunc_copy(trained, tmp_path, name: str, threshold: float | None = None) -> Path:
    """The registered model's files (MLmodel and the predictor folder), with every threshold
    set to ``threshold`` if given: a different model under the same layout."""
    client = MlflowClient(trained.cfg.tracking.uri)
    source = client.get_model_version_download_uri("theme-classifier", trained.version)
    local = Path(mlflow.artifacts.download_artifacts(source, dst_path=str(tmp_path / name)))
    if threshold is not None:
        [folder] = [p for p in (local / "artifacts").iterdir() if (p / "predictor.json").is_file()]
        edited = copy_with_edited_spec(folder, tmp_path, lambda spec: spec.update(thresholds=[threshold] * 4))
        shutil.rmtree(folder)
        edited.rename(folder)
    return local


REGISTER = """import sys
from pathlib import Path
from mlflow.tracking import MlflowClient
client = MlflowClient(sys.argv[1])
if not client.search_registered_models("name = 'm'"):
    client.create_registered_model("m")
print(client.create_model_version("m", source=Path(sys.argv[2]).as_uri()).version)
"""
LOAD_ONE = ("import sys; from train import Predictor; "
            "print(Predictor.load(sys.argv[1]).thresholds['trade'])")


def _in_fresh_process(code: str, *args: str, env: dict | None = None) -> str:
    """The output of ``code`` in a new interpreter: MLflow keeps one engine per store URI in a
    process, so a store recreated under the same URI is only seen afresh by a new process."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", **(env or {})})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.slow
def test_registry_loads_resolve_aliases_and_latest_each_time_and_survive_a_recreated_store(trained, tmp_path):
    original, edited = _pyfunc_copy(trained, tmp_path, "original"), _pyfunc_copy(trained, tmp_path, "edited", 0.25)
    store = tmp_path / "store" / "mlflow.db"
    uri = f"sqlite:///{store}"
    env = {"THEME_CLASSIFIER_MODEL_CACHE": str(tmp_path / "cache"), "MLFLOW_TRACKING_URI": uri}
    trade = str(Predictor.load(trained.export_dir).thresholds["trade"])

    def load(model: str) -> str:
        return _in_fresh_process(LOAD_ONE, model, env=env)

    assert _in_fresh_process(REGISTER, uri, str(original)) == "1"
    assert load("models:/m/1") == trade
    store.unlink()  # the store is recreated: its version 1 is another model
    assert _in_fresh_process(REGISTER, uri, str(edited)) == "1"
    assert load("models:/m/1") == "0.25"

    assert _in_fresh_process(REGISTER, uri, str(original)) == "2"
    assert load("models:/m/latest") == trade
    _in_fresh_process("import sys; from mlflow.tracking import MlflowClient; "
                      "MlflowClient(sys.argv[1]).set_registered_model_alias('m', 'champion', '1')", uri)
    assert load("models:/m@champion") == "0.25"
    _in_fresh_process("import sys; from mlflow.tracking import MlflowClient; "
                      "MlflowClient(sys.argv[1]).set_registered_model_alias('m', 'champion', '2')", uri)
    assert load("models:/m@champion") == trade


def test_a_killed_download_is_cleared_and_never_read(trained, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    half = cache / f".downloading-{dead.stdout.strip()}-x"
    half.mkdir(parents=True)
    (half / "MLmodel").write_text("flavors: {}")  # cut off before the predictor's files
    monkeypatch.setenv("THEME_CLASSIFIER_MODEL_CACHE", str(cache))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained.cfg.tracking.uri)
    loaded = Predictor.load(f"models:/theme-classifier/{trained.version}")
    assert loaded.thresholds == Predictor.load(trained.export_dir).thresholds
    assert [p.name.startswith("theme-classifier-v") for p in cache.iterdir()] == [True]


def test_an_mlmodel_pointing_outside_its_folder_is_refused(trained, tmp_path, monkeypatch):
    model = _pyfunc_copy(trained, tmp_path, "outside")
    mlmodel = model / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("path: artifacts/", "path: ../../"), encoding="utf-8")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("THEME_CLASSIFIER_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    client = MlflowClient(uri)
    client.create_registered_model("m")
    client.create_model_version("m", source=model.as_uri())
    with pytest.raises(ModelFileError, match="MLmodel: artifact path '../../.*' points outside the model"):
        Predictor.load("models:/m/1")


@pytest.mark.slow
def test_parallel_cold_loads_of_one_version_all_succeed(trained, tmp_path):
    env = {**os.environ, "THEME_CLASSIFIER_MODEL_CACHE": str(tmp_path / "cache"),
           "MLFLOW_TRACKING_URI": trained.cfg.tracking.uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
    loads = [subprocess.Popen([sys.executable, "-c", LOAD_ONE, f"models:/theme-classifier/{trained.version}"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [load.communicate(timeout=300) for load in loads]
    assert [load.returncode for load in loads] == [0] * 4, results
    assert {out.strip() for out, _ in results} == {str(Predictor.load(trained.export_dir).thresholds["trade"])}
    assert len([p for p in (tmp_path / "cache").iterdir()]) == 1


def test_a_sweeps_jobs_are_labelled_by_the_settings_they_vary():
    from train.training.report import swept_settings

    jobs = ["model=logreg data.files=[a.jsonl] seed=1", "model=ridge data.files=[a.jsonl] seed=1",
            "model=ridge data.files=[a.jsonl] seed=2"]
    assert swept_settings(jobs) == [{"model": "logreg", "seed": "1"}, {"model": "ridge", "seed": "1"},
                                    {"model": "ridge", "seed": "2"}]
    assert swept_settings(["x=1", "x=1"]) == [{}, {}]
