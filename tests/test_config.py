import pytest
from hydra.utils import instantiate
from sklearn.pipeline import Pipeline

from conftest import ROOT, pipeline_for
from train.training.config import compose_config
from train.runtime.paths import CONFIG_DIR
from train.training.pipeline import tuplify_ngram_ranges


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize("features", options("features"))
@pytest.mark.parametrize("model", options("model"))
def test_every_features_and_model_option_builds_a_pipeline(features, model):
    pipeline = pipeline_for([f"features={features}", f"model={model}"])
    assert isinstance(pipeline, Pipeline)
    ranges = [v for k, v in pipeline.get_params(deep=True).items() if k.endswith("ngram_range")]
    assert ranges and all(isinstance(r, tuple) for r in ranges)
    assert hasattr(pipeline.named_steps["classifier"].estimator, "predict_proba")


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_composes_as_a_delta(experiment):
    cfg = compose_config([f"experiment={experiment}"] + (["data.path=/nowhere"] if experiment == "streaming" else []))
    default = compose_config()
    assert cfg.paths == default.paths and cfg.tracking == default.tracking  # a delta leaves the rest alone


@pytest.mark.parametrize("tracking", options("tracking"))
def test_every_tracking_option_instantiates(tracking):
    tracking_object = instantiate(compose_config([f"tracking={tracking}"]).tracking)
    assert hasattr(tracking_object, "run") and hasattr(tracking_object, "log")


def test_data_config_instantiates_the_loader(bundled_corpus):
    corpus = bundled_corpus
    assert set(corpus.splits) == {"train", "validation", "test", "realcopy_dev", "realcopy_test"}


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


@pytest.mark.parametrize("launcher, target", [
    ("parallel", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"),
    ("slurm", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"),
])
def test_launcher_configs_compose(launcher, target):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_ == target
    if launcher == "slurm":
        assert cfg.hydra.launcher.cpus_per_task == 2 and cfg.hydra.launcher.array_parallelism == 32


def test_streaming_experiment_composes_into_an_incremental_pipeline():
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.multioutput import MultiOutputClassifier

    pipeline = pipeline_for(["experiment=streaming", "data.path=/nowhere"])
    assert isinstance(pipeline.named_steps["features"], HashingVectorizer)
    assert isinstance(pipeline.named_steps["classifier"], MultiOutputClassifier)
    assert hasattr(pipeline.named_steps["classifier"], "partial_fit")
