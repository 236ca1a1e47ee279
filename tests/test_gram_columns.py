"""The array paths of the predictor (per-word columns for char_wb, token ids for word n-grams)
score exactly as scikit-learn's pipeline does, for every vectorizer setting they serve."""

import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from conftest import ROOT, RUNTIME_PATHS, THEMES, load_predictor
from train.data.corpus import label_matrix, read_records
from train.runtime.gram_columns import TokenColumns
from train.training.publish import export_predictor

VECTORIZERS = {
    "word-1-2-stop-words": dict(analyzer="word", ngram_range=(1, 2), stop_words="english", sublinear_tf=True),
    "word-2-3-cased": dict(analyzer="word", ngram_range=(2, 3), lowercase=False, strip_accents="ascii"),
    "word-1-1-binary-l1": dict(analyzer="word", binary=True, norm="l1"),
    "char_wb-2-5": dict(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, strip_accents="unicode",
                        min_df=2),
    "char_wb-4-7-short-words-no-idf": dict(analyzer="char_wb", ngram_range=(4, 7), use_idf=False, norm=None),
    # additive blocks (counts times weights, L1-normalised or not): a sum over n-gram occurrences
    "word-1-2-l1": dict(analyzer="word", ngram_range=(1, 2), norm="l1", strip_accents="unicode"),
    "char_wb-2-5-l1": dict(analyzer="char_wb", ngram_range=(2, 5), norm="l1", strip_accents="unicode", min_df=2),
    "char-2-4-l1-no-idf": dict(analyzer="char", ngram_range=(2, 4), norm="l1", use_idf=False),
    "word-1-3-one-letter-tokens": dict(analyzer="word", ngram_range=(1, 3), token_pattern=r"(?u)\b\w+\b",
                                       sublinear_tf=True),
}
REAL = [r["text"] for r in read_records(sorted((ROOT / "data").glob("*.jsonl")), THEMES)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Per setting, a pipeline fitted on an eighth of the bundled sentences and its export."""
    records = read_records(sorted((ROOT / "data").glob("*.jsonl")), THEMES)[::8]
    texts, y = [r["text"] for r in records], label_matrix([r["labels"] for r in records], THEMES)
    out = {}
    for name, settings_ in VECTORIZERS.items():
        pipeline = Pipeline([
            ("features", FeatureUnion([("block", TfidfVectorizer(**settings_))])),
            ("classifier", OneVsRestClassifier(LogisticRegression(max_iter=300))),
        ]).fit(texts, y)
        out[name] = pipeline, export_predictor(pipeline, THEMES, [0.5] * 4, tmp_path_factory.mktemp(name) / "m")
    return out


@pytest.fixture(scope="module", params=RUNTIME_PATHS)
def runtime_path(request):
    return request.param


@pytest.fixture(scope="module")
def fitted(exported, runtime_path):
    """Per setting: the pipeline, its export loaded on one of the runtime's paths (the C
    kernel, or NumPy as where it is not built), and the export's folder."""
    return {name: (pipeline, load_predictor(path, runtime_path), path) for name, (pipeline, path) in exported.items()}


@pytest.mark.parametrize("name", VECTORIZERS)
def test_bundled_sentences_score_as_scikit_learn_in_a_batch_and_one_at_a_time(fitted, name):
    pipeline, predictor, _ = fitted[name]
    texts = REAL[1::2]  # half of them unseen in fitting
    expected = pipeline.predict_proba(texts)
    np.testing.assert_allclose(predictor.scores(texts), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose([list(predictor.predict_proba(t).values()) for t in texts[:300]], expected[:300],
                               rtol=0, atol=1e-9)


# Texts the bundled words hardly cover: words repeated within and across texts, accents,
# punctuation runs, tabs and newlines, one-letter words, empty texts, non-Latin scripts.
TEXTS = st.lists(
    st.sampled_from(REAL[:200])
    | st.text(alphabet=st.sampled_from(list("aeiou tnrs-.'\t\néÉ日x")), max_size=40)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    min_size=1, max_size=12)


@pytest.mark.parametrize("name", VECTORIZERS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=TEXTS)
def test_generated_texts_score_as_scikit_learn(fitted, name, texts):
    pipeline, predictor, _ = fitted[name]
    expected = pipeline.predict_proba(texts)
    expected[[not t.strip() for t in texts]] = 0.0  # the predictor's rule: no words, no theme
    np.testing.assert_allclose(predictor.scores(texts + [""]), np.vstack([expected, np.zeros(4)]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(list(predictor.predict_proba(texts[0]).values()), expected[0], rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", ["char_wb-2-5", "char_wb-2-5-l1"])  # n-gram columns per word; sums per word
def test_the_word_cache_starts_afresh_at_its_limit_with_the_same_answers(fitted, runtime_path, monkeypatch, name):
    import train.runtime.predictor as module

    pipeline, _, path = fitted[name]
    monkeypatch.setattr(module, "WORD_CACHE", 50)  # a few sentences' words
    small = load_predictor(path, runtime_path)
    texts = REAL[:400]
    batches = np.vstack([small.scores(texts[i:i + 7]) for i in range(0, len(texts), 7)])
    np.testing.assert_allclose(batches, pipeline.predict_proba(texts), rtol=0, atol=1e-9)
    block = small._blocks[0]
    assert block.additive == name.endswith("-l1")
    assert (block._word_sums is not None) == (block.additive and runtime_path == "NumPy")  # C: the kernel counts
    held = len((block._columns or block._word_sums)._index)
    if block._columns is not None and block._columns._table is not None:  # the C kernel's index of the words
        assert len(block._columns._table) == held
    last_batch_words = {w for t in texts[399 // 7 * 7:] for w in t.lower().split()}
    assert held <= max(50, 2 * len(last_batch_words))  # started afresh: not every word of the 400 texts


@pytest.mark.parametrize("name", [n for n in VECTORIZERS if n.startswith("word")])
def test_term_rows_are_made_as_terms_come_with_the_same_answers_past_their_limit(exported, name, monkeypatch):
    """On the NumPy path, term weights are made as terms come (bounded by TERM_CACHE) and the
    token columns at the first batch: nothing of that is built at load."""
    import train.runtime.predictor as module

    pipeline, path = exported[name]
    monkeypatch.setattr(module, "TERM_CACHE", 40)
    large = load_predictor(path, "NumPy")
    block = large._blocks[0]
    assert block._columns is None and block._token_terms is not None  # not built at load
    texts = REAL[:300]
    expected = pipeline.predict_proba(texts)
    np.testing.assert_allclose([list(large.predict_proba(t).values()) for t in texts], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(large.scores(texts), expected, rtol=0, atol=1e-9)
    assert block._token_terms is None  # built by the first batch


@pytest.mark.parametrize("name", [n for n in VECTORIZERS if n.startswith("word")])
def test_the_c_kernel_finds_word_n_grams_from_tokens_with_no_other_lookup(exported, name):
    block = load_predictor(exported[name][1], "C kernel")._blocks[0]
    assert block._term_table is not None and block._columns is None and block._token_terms is None
    # the kernel tokenises the two token patterns itself; stop words need Python's tokens
    assert (block._shortest_token is None) == ("stop_words" in VECTORIZERS[name])


@pytest.mark.parametrize("name", ["char_wb-2-5", "char_wb-2-5-l1"])
def test_threads_sharing_one_predictor_get_the_serial_answers(fitted, runtime_path, monkeypatch, name):
    import train.runtime.predictor as module

    pipeline, _, path = fitted[name]
    monkeypatch.setattr(module, "WORD_CACHE", 300)  # clears often, while other threads read
    shared = load_predictor(path, runtime_path)
    texts = REAL[:600]
    expected = pipeline.predict_proba(texts)
    failures = []

    def work(offset: int) -> None:
        for i in range(offset, len(texts), 4):
            got = shared.scores(texts[i:i + 3]) if i % 8 else np.array([shared._score_one(texts[i])])
            if not np.allclose(got, expected[i:i + len(got)], rtol=0, atol=1e-9):
                failures.append(i)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_terms_that_are_not_token_tuples_use_the_plain_lookup():
    assert TokenColumns.build(["new york", "york"], (1, 2)) is not None
    assert TokenColumns.build(["new  york"], (1, 2)) is None  # a token pattern that matched a space
    assert TokenColumns.build(["a b c"], (1, 2)) is None
