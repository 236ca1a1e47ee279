"""What the predictor does with every kind of input: a result or a clear TypeError/ValueError."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from train.runtime.predictor import Predictor

THEMES = ["aviation", "counterterrorism", "trade", "visas"]
SENTENCE = "Airlines resumed flights to Kabul after the visa deal."


@pytest.fixture(scope="module")
def predictor(trained):
    return Predictor.load(trained.export_dir)


def no_theme(result):
    return result == []


CASES = [
    # (id, input, expected: a callable on the result, or an exception type)
    ("none", None, TypeError),
    ("int", 42, TypeError),
    ("float", 3.5, TypeError),
    ("bytes", b"Airlines resumed flights.", TypeError),
    ("dict", {"text": SENTENCE}, TypeError),
    ("set", {SENTENCE}, TypeError),
    ("list with None", [SENTENCE, None], TypeError),
    ("list with number", [SENTENCE, 7], TypeError),
    ("empty list", [], lambda r: r == []),
    ("empty string", "", no_theme),
    ("whitespace", " \t\n ", no_theme),
    ("one string", SENTENCE, lambda r: "aviation" in r),
    # No English word, no evidence of a theme: text in other scripts gets none.
    ("urdu", "پاکستان اور امریکہ کے درمیان تجارتی معاہدہ", no_theme),
    ("chinese", "中国与巴基斯坦签署了新的贸易协定。", no_theme),
    ("arabic", "وقعت الإمارات اتفاقية تجارة حرة مع الهند", no_theme),
    ("emoji", "✈️🛂💼🔥 tariffs 🚫", lambda r: r == ["trade"]),
    ("control characters", "Tariffs\x00 on\x07 steel\x1b[31m rose\r\n", lambda r: "trade" in r),
    ("1 MB string", "Tariffs on steel rose. " * 45_000, lambda r: "trade" in r),
    ("numpy array", np.array([SENTENCE, "Tariffs rose."]), lambda r: len(r) == 2 and "trade" in r[1]),
    ("numpy 2-D array", np.array([[SENTENCE]]), ValueError),
    ("pandas series", pd.Series([SENTENCE, "Tariffs rose."]), lambda r: len(r) == 2 and "trade" in r[1]),
    ("series with missing value", pd.Series([SENTENCE, None]), TypeError),
    ("dataframe with text", pd.DataFrame({"text": [SENTENCE], "x": [1]}), lambda r: "aviation" in r[0]),
    ("dataframe without text", pd.DataFrame({"sentence": [SENTENCE]}), ValueError),
    ("dataframe with missing text", pd.DataFrame({"text": [SENTENCE, None]}), TypeError),
    ("tuple", (SENTENCE,), lambda r: "aviation" in r[0]),
    ("generator", (s for s in [SENTENCE]), lambda r: "aviation" in r[0]),
]


@pytest.mark.parametrize("value, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_input_table(predictor, value, expected):
    if isinstance(expected, type):
        with pytest.raises(expected) as caught:
            predictor.predict(value)
        assert len(str(caught.value).splitlines()) == 1
    else:
        assert expected(predictor.predict(value))


@pytest.mark.slow
def test_a_hundred_thousand_sentences_in_one_call(predictor):
    texts = ["Tariffs on steel rose.", "Flights to Doha resumed.", "Floods hit the coast."] * 33_334
    scores = predictor.scores(texts)
    assert scores.shape == (100_002, 4)
    np.testing.assert_array_equal(scores[3], scores[0])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text())
def test_any_unicode_text_gets_a_score_in_0_1_for_every_theme(predictor, text):
    scores = predictor.predict_proba(text)
    assert list(scores) == THEMES
    assert all(0.0 <= v <= 1.0 for v in scores.values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.text(max_size=60), st.sampled_from(
    ["Tariffs on steel rose.", "Airlines resumed flights.", "Visa fees doubled.", "Militants attacked a base.", ""])),
    max_size=25), data=st.data())
def test_a_batch_answers_like_one_sentence_at_a_time_in_any_order(predictor, texts, data):
    one_by_one = [predictor.predict_proba(t) for t in texts]
    order = data.draw(st.permutations(range(len(texts))))
    batch = predictor.predict_proba([texts[i] for i in order])
    for position, i in enumerate(order):
        assert batch[position] == pytest.approx(one_by_one[i], abs=1e-12)


def test_scores_far_from_zero_raise_no_overflow(tmp_path):
    """An unnormalised block on a long text drives the log-odds far below zero: the batch path
    gives 0, not an overflow warning (an error where warnings are errors)."""
    import warnings

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline

    from conftest import ROOT
    from train.data.corpus import label_matrix, read_records
    from train.training.publish import export_predictor

    records = read_records(sorted((ROOT / "data").glob("*.jsonl")), THEMES)[::8]
    texts, y = [r["text"] for r in records], label_matrix([r["labels"] for r in records], THEMES)
    pipeline = Pipeline([("features", TfidfVectorizer(norm=None)),
                         ("classifier", OneVsRestClassifier(LogisticRegression(max_iter=300)))]).fit(texts, y)
    loaded = Predictor.load(export_predictor(pipeline, THEMES, [0.5] * 4, tmp_path / "m"))
    long = ["the weather was mild " * 2000, "tariffs on steel " * 2000]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = loaded.scores(long)
    np.testing.assert_allclose(scores, pipeline.predict_proba(long), rtol=0, atol=1e-9)
    assert scores.min() < 1e-100  # far enough from zero that 1 / (1 + exp(-z)) would overflow
