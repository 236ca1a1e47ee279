"""Every documented option trains end to end (on a small corpus) and exports exactly."""

import json

import numpy as np
import pytest

from conftest import isolated_overrides, run_python, streaming_overrides
from train.runtime.paths import CONFIG_DIR
from train.runtime.predictor import Predictor


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def run(tmp_path, small_corpus, *overrides):
    from train.training.config import compose_config
    from train.training.run import run_training

    small = ["features.n_features=4096"] if "features=hashing" in overrides else []  # 2^20 columns: minutes
    return run_training(compose_config([*isolated_overrides(tmp_path, tracked=False), f"data.files=[{small_corpus}]",
                                        *overrides, *small]))


COMBINATIONS = [(f, m) for f in options("features") for m in options("model")]
FAST = {("word_char_cues", "linear_svc"), ("word_char_cues_l1", "linear_svc"), ("word", "logreg"), ("char", "ridge"),
        ("hashing", "sgd")}


@pytest.mark.parametrize("features, model", [
    pytest.param(f, m, marks=() if (f, m) in FAST else pytest.mark.slow) for f, m in COMBINATIONS])
def test_every_features_and_model_option_trains_and_exports_exactly(tmp_path, small_corpus, features, model):
    outcome = run(tmp_path, small_corpus, f"features={features}", f"model={model}")
    result = outcome.result
    texts = result.corpus.splits["realcopy_test"]["text"]
    expected = result.pipeline.predict_proba(texts)
    np.testing.assert_allclose(result.scores["realcopy_test"], expected, atol=1e-12)
    predictor = Predictor.load(outcome.export_dir)
    np.testing.assert_allclose(predictor.scores(texts), expected, rtol=0, atol=1e-9)
    one_by_one = [list(predictor.predict_proba(text).values()) for text in texts[:100]]  # the one-sentence path
    np.testing.assert_allclose(one_by_one, expected[:100], rtol=0, atol=1e-9)
    assert 0.0 <= outcome.metrics["realcopy_test/macro_f1"] <= 1.0 and outcome.metrics["size/n_features"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("experiment", [e for e in options("experiment") if e not in ("optuna_search", "streaming")])
def test_every_experiment_trains_end_to_end(tmp_path, small_corpus, experiment):
    outcome = run(tmp_path, small_corpus, f"experiment={experiment}")
    assert 0.0 <= outcome.metrics["test/macro_f1"] <= 1.0 and (outcome.export_dir / "manifest.json").is_file()


@pytest.mark.slow
def test_the_streaming_experiment_trains_end_to_end(tmp_path, small_corpus):
    from datasets import Dataset, DatasetDict

    rows = [json.loads(line) for line in small_corpus.read_text(encoding="utf-8").splitlines()]
    half = len(rows) // 2
    DatasetDict({"train": Dataset.from_list(rows[:half]), "test": Dataset.from_list(rows[half:])}).save_to_disk(
        str(tmp_path / "arrow"))
    from train.training.config import compose_config
    from train.training.run import run_training

    outcome = run_training(compose_config(["experiment=streaming", f"data.path={tmp_path / 'arrow'}", "trainer.epochs=5",
                                           *streaming_overrides(tmp_path, tracked=False)]))
    assert 0.0 <= outcome.metrics["test/macro_f1"] <= 1.0 and (outcome.export_dir / "manifest.json").is_file()


@pytest.mark.slow
def test_the_optuna_experiment_sweeps_end_to_end(tmp_path, small_corpus):
    done = run_python("-m", "train", "-m", "experiment=optuna_search", "hydra.sweeper.n_trials=2",
                      f"hydra.sweep.dir={tmp_path}/sweep", f"data.files=[{small_corpus}]",
                      *isolated_overrides(tmp_path, tracked=False), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(list((tmp_path / "sweep").glob("*/theme-classifier/manifest.json"))) == 2
    assert (tmp_path / "sweep" / "optimization_results.yaml").is_file()  # the Optuna sweeper's summary
