import json
import shutil

import numpy as np
import pytest

from conftest import ROOT, THEMES, run_python
from train.runtime.errors import ModelFileError
from train.runtime.predictor import Predictor


@pytest.fixture(scope="module")
def predictor(trained):
    return Predictor.load(trained.export_dir)


def test_scores_equal_the_scikit_learn_pipeline_on_the_test_split(trained, predictor):
    texts = trained.result.corpus.splits["test"]["text"]
    np.testing.assert_allclose(predictor.scores(texts), trained.result.pipeline.predict_proba(texts), rtol=0, atol=1e-9)


def test_predicts_themes_of_clear_sentences(predictor):
    got = predictor.predict([
        "The government raised import duties on Chinese steel and aluminium.",
        "Police arrested three suspected Islamic State militants planning a bombing.",
        "The airline will launch direct flights between Karachi and Manchester in March.",
        "Applicants for student visas now wait six months for an embassy appointment.",
        "Heavy rain flooded low-lying districts of the city on Sunday.",
    ])
    assert got == [["trade"], ["counterterrorism"], ["aviation"], ["visas"], []]


def test_scores_and_api_shapes(predictor):
    one = predictor.predict_proba("Tariffs on cotton yarn were cut.")
    assert set(one) == set(THEMES) and all(0.0 <= v <= 1.0 for v in one.values())
    many = predictor.predict_proba(["Tariffs on cotton yarn were cut.", "Flights resumed."])
    assert isinstance(many, list) and len(many) == 2 and many[0] == pytest.approx(one)
    assert predictor.predict([]) == [] and predictor.predict_proba([]) == []
    assert isinstance(predictor.predict("Tariffs on cotton yarn were cut."), list)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_gets_no_theme(predictor, text):
    assert predictor.predict(text) == []
    assert predictor.predict([text, "Visa fees doubled for tourists."])[0] == []
    assert set(predictor.predict_proba(text).values()) == {0.0}


@pytest.mark.parametrize("bad", [None, 42, b"bytes", ["ok", None], [3.5]])
def test_non_strings_raise_type_error(predictor, bad):
    with pytest.raises(TypeError, match="str"):
        predictor.predict(bad)


def test_explain_names_the_ngrams_behind_a_score(predictor):
    explanation = predictor.explain("New tariffs hit textile exports to Europe.")
    assert set(explanation) == set(THEMES)
    trade = explanation["trade"]
    assert trade["score"] >= trade["threshold"]
    assert {"tariffs", "exports"} & {term for term, _ in trade["up"]}
    assert all(weight > 0 for _, weight in trade["up"]) and all(weight < 0 for _, weight in trade["down"])
    with pytest.raises(TypeError):
        predictor.explain(["a list"])


def test_loads_and_predicts_in_a_fresh_process_without_heavy_imports(trained):
    code = (
        "import json, sys; from train import Predictor;"
        f"p = Predictor.load({str(trained.export_dir)!r});"
        "print(json.dumps(p.predict(['Airlines cancelled flights to Dubai.'])));"
        "print(json.dumps(sorted(m for m in ('mlflow', 'hydra', 'sklearn', 'pandas', 'datasets') if m in sys.modules)))"
    )
    done = run_python("-c", code)
    assert done.returncode == 0, done.stderr
    predicted, heavy = map(json.loads, done.stdout.splitlines())
    assert predicted == [["aviation"]]
    assert heavy == []


def test_altered_file_is_refused(trained, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(trained.export_dir, copy)
    weights = np.load(copy / "weights.npz")
    arrays = {k: weights[k] for k in weights.files}
    arrays["intercept"] = arrays["intercept"] + 5.0
    np.savez(copy / "weights.npz", **arrays)
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        Predictor.load(copy)


def test_missing_model_folder_says_how_to_make_one(tmp_path):
    with pytest.raises(ModelFileError, match="python -m train"):
        Predictor.load(tmp_path / "nothing")


@pytest.mark.slow
def test_large_batches_in_two_processes_give_the_same_answers(trained):
    from train.runtime.predictor import PARALLEL_MIN

    texts = list(trained.result.corpus.splits["test"]["text"])
    texts = (texts * (PARALLEL_MIN // len(texts) + 1))[: PARALLEL_MIN + 7]
    serial = Predictor.load(trained.export_dir)
    parallel = Predictor.load(trained.export_dir, n_jobs=2)
    np.testing.assert_array_equal(parallel.scores(texts), serial.scores(texts))
    assert parallel.predict(texts) == serial.predict(texts)


@pytest.mark.parametrize("norm", ["l2", "l1"])  # l1: the additive path, where occurrences just add up
def test_hashed_model_with_colliding_terms_scores_exactly(tmp_path, norm):
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline

    from train.data.corpus import label_matrix, read_records
    from train.training.publish import export_predictor

    records = read_records(sorted((ROOT / "data").glob("*.jsonl")), THEMES)[::4]
    texts, y = [r["text"] for r in records], label_matrix([r["labels"] for r in records], THEMES)
    # 64 columns: most sentences have several terms in one column
    pipeline = Pipeline([("features", HashingVectorizer(n_features=64, alternate_sign=False, norm=norm)),
                         ("classifier", OneVsRestClassifier(LogisticRegression(max_iter=500)))]).fit(texts, y)
    loaded = Predictor.load(export_predictor(pipeline, THEMES, [0.5] * 4, tmp_path / "m"))
    expected = pipeline.predict_proba(texts[:200])
    np.testing.assert_allclose([list(loaded.predict_proba(t).values()) for t in texts[:200]], expected, atol=1e-9)
    np.testing.assert_allclose(loaded.scores(texts[:200]), expected, atol=1e-9)
