"""The real-copy evaluation sets, kept apart from training, and text normalisation shared with the predictor."""

import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from conftest import ROOT, THEMES, pipeline_for
from train.data.corpus import expand, load_corpus, normalise, read_records
from train.runtime.errors import DataError

REALCOPY = {name: ROOT / "data" / "realcopy" / f"{name}.jsonl" for name in ("dev", "test")}
TRAINING = expand(str(ROOT / "data" / "*.jsonl"))


def rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def evaluation():
    return [r for path in REALCOPY.values() for r in rows(path)]


def test_the_evaluation_set_meets_its_targets(evaluation):
    per_theme = Counter(label for r in evaluation for label in r["labels"])
    assert len(evaluation) >= 500 and all(per_theme[t] >= 80 for t in THEMES), per_theme
    assert sum(not r["labels"] for r in evaluation) >= 150
    assert sum(len(r["labels"]) > 1 for r in evaluation) >= 40
    assert len({r["outlet"] for r in evaluation}) >= 100
    regions = Counter(r["region"] for r in evaluation)
    assert set(regions) == {"south_asia", "middle_east", "europe", "africa", "americas", "east_asia"}
    assert all(r["source_url"].startswith("http") and r["source"] == "realcopy" for r in evaluation)


def test_no_article_and_no_sentence_is_on_both_sides(evaluation):
    training = read_records(TRAINING, THEMES, keep=("source_url",))
    assert not {r["source_url"] for r in training} & {r["source_url"] for r in evaluation}
    assert not {normalise(r["text"]) for r in training} & {normalise(r["text"]) for r in evaluation}
    dev, test = ({r["source_url"] for r in rows(path)} for path in REALCOPY.values())
    assert not dev & test  # an article's sentences stay in one of the two sets


def test_the_loader_refuses_an_evaluation_article_used_in_training(tmp_path):
    url = "https://example.org/news/1"
    train_rows = [{"id": f"t{i}", "text": f"Tariffs on cotton yarn rose by {i} percent on Monday.", "labels": ["trade"],
                   "source": "paraphrased", "source_url": url} for i in range(20)]
    train_rows += [{"id": f"n{i}", "text": f"Rain fell on the capital for the {i}th day running.", "labels": [],
                    "source": "authored"} for i in range(20)]
    (tmp_path / "train.jsonl").write_text("\n".join(map(json.dumps, train_rows)), encoding="utf-8")
    evaluation_row = {"id": "e1", "text": "Airlines cut fares on the route.", "labels": ["aviation"],
                      "source": "realcopy", "source_url": url}
    (tmp_path / "dev.jsonl").write_text(json.dumps(evaluation_row), encoding="utf-8")
    with pytest.raises(DataError, match="comes from an article that training also uses"):
        load_corpus(str(tmp_path / "train.jsonl"), ["aviation", "trade"],
                    evaluation_files={"realcopy_dev": str(tmp_path / "dev.jsonl")})


def test_evaluation_sets_are_read_whole_and_never_split(bundled_corpus):
    corpus = bundled_corpus
    for name, path in REALCOPY.items():
        assert corpus.splits[f"realcopy_{name}"]["id"] == [r["id"] for r in rows(path)]
    trained_on = set(corpus.splits["train"]["text"])
    assert not trained_on & set(corpus.splits["realcopy_test"]["text"])


TYPOGRAPHIC = [
    ("\u201cVisa\u2011free\u201d entry", '"Visa-free" entry'),
    ("Pakistan\u2019s airline", "Pakistan's airline"),
    ("anti\u00addumping duties", "antidumping duties"),
    ("counter\u200bterrorism", "counterterrorism"),
    ("\ufb01rst \ufb02ights", "first flights"),
    ("\uff34\uff41\uff52\uff49\uff46\uff46\uff53 rose \u2014 again", "Tariffs rose - again"),
    ("visa\u00a0fees", "visa fees"),
]


@pytest.mark.parametrize("raw, plain", TYPOGRAPHIC)
def test_normalisation_maps_typography_to_plain_text(raw, plain):
    from train.runtime.normalise import normalise_text

    assert normalise_text(raw) == plain


@pytest.fixture(scope="module")
def fitted_char_pipeline():
    from train.data.corpus import label_matrix

    records = read_records(TRAINING, THEMES)[::5]
    pipeline = pipeline_for(["features=word_char", "model=logreg"])
    return pipeline.fit([r["text"] for r in records], label_matrix([r["labels"] for r in records], THEMES))


@pytest.fixture(scope="module")
def exported_char_predictor(fitted_char_pipeline, tmp_path_factory):
    from train.runtime.predictor import Predictor
    from train.training.publish import export_predictor

    return Predictor.load(export_predictor(fitted_char_pipeline, THEMES, [0.5] * 4, tmp_path_factory.mktemp("n") / "m"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("Visa-free flights\u2019\u201c\u201d\u2013\u2014\u00ad\u200b\ufeff\ufb01\u00a0 e\u0301"),
                        max_size=40), min_size=1, max_size=5))
def test_training_and_the_predictor_see_the_same_features(fitted_char_pipeline, exported_char_predictor, texts):
    assume(all(t.strip() for t in texts))  # blank text scores 0 in the predictor by design
    predictor = exported_char_predictor
    np.testing.assert_allclose(predictor.scores(texts), fitted_char_pipeline.predict_proba(texts), atol=1e-9)
    np.testing.assert_allclose([list(predictor.predict_proba(t).values()) for t in texts],
                               fitted_char_pipeline.predict_proba(texts), atol=1e-9)
