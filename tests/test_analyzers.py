import pytest
from hypothesis import given, settings, strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from train.runtime.analyzers import build_analyzer

SETTINGS = [
    dict(analyzer="word", ngram_range=(1, 1)),
    dict(analyzer="word", ngram_range=(1, 3), stop_words="english", strip_accents="unicode"),
    dict(analyzer="word", ngram_range=(2, 3), lowercase=False, strip_accents="ascii"),
    dict(analyzer="char_wb", ngram_range=(2, 5)),
    dict(analyzer="char", ngram_range=(1, 4), strip_accents="unicode"),
]


def pair(settings):
    vectorizer = TfidfVectorizer(**settings)
    stop_words = vectorizer.get_stop_words()
    ours = build_analyzer(settings["analyzer"], settings["ngram_range"], lowercase=vectorizer.lowercase,
                          strip_accents=vectorizer.strip_accents, token_pattern=vectorizer.token_pattern,
                          stop_words=sorted(stop_words) if stop_words else None)
    return vectorizer.build_analyzer(), ours


@pytest.mark.parametrize("settings_", SETTINGS, ids=lambda s: f"{s['analyzer']}{s['ngram_range']}")
@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
       | st.text(alphabet=st.characters(max_codepoint=127), max_size=80)  # the ASCII tokenizer's path
       | st.sampled_from(["Côte d'Ivoire's visa-free  deal", "U.S.–Pakistan\ttrade\n\nties", "", " x ", "日本 航空"]))
def test_same_ngrams_as_scikit_learn(settings_, text):
    sklearn_analyze, ours = pair(settings_)
    assert ours(text) == sklearn_analyze(text)


def test_unknown_analyzer_is_refused():
    with pytest.raises(ValueError, match="unsupported analyzer"):
        build_analyzer("sentencepiece", (1, 1))
