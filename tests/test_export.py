import numpy as np
import pytest

from conftest import THEMES
from train.training import publish as export_module
from train.runtime.errors import UnsupportedModelError
from train.training.publish import export_predictor
from train.runtime.predictor import Predictor


def test_a_crash_during_export_leaves_the_previous_model_intact(trained, tmp_path, monkeypatch):
    target = tmp_path / "theme-classifier"
    pipeline = trained.result.pipeline
    export_predictor(pipeline, THEMES, [0.5] * 4, target)
    before = Predictor.load(target).scores(["Visa rules eased."])

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(export_module, "sha256_file", crash)  # fails after the arrays are written
    with pytest.raises(OSError, match="disk full"):
        export_predictor(pipeline, THEMES, [0.9] * 4, target)
    after = Predictor.load(target)
    np.testing.assert_array_equal(after.scores(["Visa rules eased."]), before)
    assert after.thresholds == dict.fromkeys(THEMES, 0.5)
    leftovers = [p.name for p in (tmp_path / ".theme-classifier.versions").iterdir() if p.name.startswith("incomplete-")]
    assert leftovers == []


def test_re_export_swaps_atomically_and_keeps_one_previous_version(trained, tmp_path):
    target = tmp_path / "m"
    for threshold in (0.3, 0.4, 0.6):
        export_predictor(trained.result.pipeline, THEMES, [threshold] * 4, target)
    assert target.is_symlink()
    assert Predictor.load(target).thresholds["trade"] == 0.6
    assert len(list((tmp_path / ".m.versions").iterdir())) == 2


def test_pipelines_that_cannot_be_exported_exactly_are_refused(tmp_path):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline([("features", TfidfVectorizer()), ("classifier", OneVsRestClassifier(RandomForestClassifier(n_estimators=2)))])
    texts = ["tariffs rise", "airlines fly", "visa fees", "militants attack"] * 3
    pipeline.fit(texts, np.eye(4, dtype=int)[[0, 1, 2, 3] * 3])
    with pytest.raises(UnsupportedModelError, match="RandomForestClassifier"):
        export_predictor(pipeline, THEMES, [0.5] * 4, tmp_path / "m")
    assert not (tmp_path / "m").exists()
