import pytest
from hydra.utils import instantiate
from sklearn.pipeline import Pipeline

from conftest import ROOT
from train.config import compose_config
from train.paths import CONFIG_DIR
from train.pipeline import build_pipeline, tuplify_ngram_ranges


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize("features", options("features"))
@pytest.mark.parametrize("model", options("model"))
def test_every_features_and_model_option_builds_a_pipeline(features, model):
    pipeline = build_pipeline(compose_config([f"features={features}", f"model={model}"]))
    assert isinstance(pipeline, Pipeline)
    ranges = [v for k, v in pipeline.get_params(deep=True).items() if k.endswith("ngram_range")]
    assert ranges and all(isinstance(r, tuple) for r in ranges)
    assert hasattr(pipeline.named_steps["classifier"].estimator, "predict_proba")


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_composes_as_a_delta(experiment):
    cfg = compose_config([f"experiment={experiment}"])
    build_pipeline(cfg)
    assert cfg.data.files == compose_config().data.files  # a delta leaves the rest alone


@pytest.mark.parametrize("tracking", options("tracking"))
def test_every_tracking_option_composes(tracking):
    cfg = compose_config([f"tracking={tracking}"])
    assert cfg.tracking.uri and cfg.tracking.experiment


def test_data_config_instantiates_the_loader():
    corpus = instantiate(compose_config().data)
    assert set(corpus.splits) == {"train", "validation", "test"}


def test_paths_derive_from_the_project_root():
    cfg = compose_config()
    assert cfg.paths.root == str(ROOT)
    assert cfg.tracking.uri == f"sqlite:///{ROOT}/mlflow.db"
    assert cfg.paths.models_dir == f"{ROOT}/models"


def test_ngram_lists_become_tuples_in_nested_estimators():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    union = FeatureUnion([("a", TfidfVectorizer(ngram_range=[1, 2])), ("b", TfidfVectorizer(ngram_range=[2, 4]))])
    tuplify_ngram_ranges(union)
    assert union.transformer_list[0][1].ngram_range == (1, 2)
    assert union.transformer_list[1][1].ngram_range == (2, 4)
