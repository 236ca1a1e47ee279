"""The guideline cue features: which cues fire, the training transformer, and the exported block."""

import numpy as np
from hypothesis import given, settings, strategies as st
import pytest

from conftest import THEMES, copy_with_edited_spec
from train.runtime.cues import Cues
from train.runtime.errors import ModelFileError


@pytest.mark.parametrize("text, themes", [
    ("Airlines resumed flights to Kabul.", ["aviation"]),
    ("Air strikes pounded the district for a third day.", []),  # excluded by the guidelines
    ("Air strikes hit the town near the airport.", ["aviation"]),  # "airport" still counts
    ("The finance minister warned of capital flight.", []),
    ("Trade unions called a national strike.", []),
    ("Tariffs on steel rose and e-visa fees were cut.", ["trade", "visas"]),
    ("ISWAP fighters attacked a military base.", []),  # a name the cues do not know: left to the model
    ("Suicide bombers struck a market in Mogadishu.", ["counterterrorism"]),
    ("Heavy rain flooded low-lying districts.", []),
])
def test_cues_fire_on_guideline_phrases_and_not_on_excluded_ones(text, themes):
    cues = Cues(THEMES)
    assert [THEMES[i] for i in cues.hits(text)] == themes


def test_the_training_transformer_gives_one_weighted_column_per_theme():
    from train.training.pipeline import CueFeatures

    x = CueFeatures(THEMES, weight=0.5).fit_transform(["Tariffs rose.", "Rain fell.", "Visa fees and flights."])
    assert x.toarray().tolist() == [[0, 0, 0.5, 0], [0, 0, 0, 0], [0.5, 0, 0, 0.5]]


def test_an_unknown_cue_set_is_refused():
    with pytest.raises(ModelFileError, match="unknown cue set 'guidelines-v0'"):
        Cues(THEMES, "guidelines-v0")


def test_a_model_naming_an_unknown_cue_set_is_refused(trained, tmp_path):
    from train.runtime.predictor import Predictor

    def rename_cue_set(spec):
        cue_blocks = [b for b in spec["blocks"] if b.get("kind") == "cues"]
        assert cue_blocks, "the default model has a cue block"
        cue_blocks[0]["cue_set"] = "guidelines-v0"

    copy = copy_with_edited_spec(trained.export_dir, tmp_path, rename_cue_set)
    with pytest.raises(ModelFileError, match=r"predictor.json: blocks\[2\].cue_set: .guidelines-v0. is not one of"):
        Predictor.load(copy)


def test_explain_names_the_cues_behind_a_score(trained):
    from train.runtime.predictor import Predictor

    up = dict(Predictor.load(trained.export_dir).explain("New tariffs hit textile exports to Europe.")["trade"]["up"])
    assert up.get("cue:trade", 0) > 0
    assert np.isfinite(list(up.values())).all()


def test_no_cue_pattern_uses_an_upper_case_escape():
    """Patterns are lowercased before compiling: \\W, \\B, \\S or \\D would turn into their opposites."""
    import re

    from train.runtime.cues import CUE_SETS

    patterns = [p for cue_set in CUE_SETS.values() for rules in cue_set.values() for group in rules.values() for p in group]
    assert [p for p in patterns if re.search(r"\\[A-Z]", p)] == []


def _plain_hits(text: str) -> list[int]:
    """The cue search as the guidelines state it, with no gates and no shared boundaries:
    blank the excluded phrases, each word-bounded, then search for the cues."""
    import re

    from train.runtime.cues import GUIDELINES_V1

    def plain(patterns):
        return re.compile("|".join(p if p.startswith(r"\b") else rf"\b(?:{p})\b" for p in patterns).lower())

    text = text.lower()
    return [i for i, theme in enumerate(THEMES)
            if plain(GUIDELINES_V1[theme]["positive"]).search(plain(GUIDELINES_V1[theme]["negative"]).sub(" ", text))]


def test_a_pattern_that_sets_its_own_boundaries_keeps_them():
    # "\\bETA\\b (?:separatists?|militants?|group)" blanks "eta group" in "eta groups": no
    # trailing boundary is added, so no visa cue is left
    for text in ["ETA groups claimed the attack.", "ETA group claimed it.", "The ETA of the visa office"]:
        assert Cues(THEMES).hits(text) == _plain_hits(text)
    assert Cues(THEMES).hits("ETA groups claimed the attack.") == []


def test_a_theme_with_a_pattern_of_no_known_literal_still_gates_its_others(monkeypatch):
    import re

    from train.runtime import cues as module

    patterns = {"trade": {"positive": ["tariffs?", "[a-z]+ing deals"], "negative": ["tariff wall"]}}
    monkeypatch.setitem(module.CUE_SETS, "scratch", patterns)
    cues = Cues(["trade"], "scratch")
    for text in ["Tariffs rose.", "A tariff wall.", "Trading deals were signed.", "Nothing here.", "tariff walls"]:
        plain = re.compile(r"\b(?:tariffs?)\b|\b(?:[a-z]+ing deals)\b").search(
            re.compile(r"\b(?:tariff wall)\b").sub(" ", text.lower()))
        assert cues.hits(text) == ([0] if plain else []), text


def test_the_literal_gates_change_no_answer_on_the_corpus_and_real_copy():
    import json
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data"
    texts = [json.loads(line)["text"] for path in sorted(data.glob("*.jsonl")) + sorted(data.glob("realcopy/*.jsonl"))
             for line in path.open(encoding="utf-8")]
    cues = Cues(THEMES)
    assert len(texts) > 5000
    assert [cues.hits(t) for t in texts] == [_plain_hits(t) for t in texts]


# Words that start, end or join cues and excluded phrases, so that generated texts hit the edges.
_CUE_PIECES = ["air", "airport", "strike", "strikes", "force", "fighter", "jets", "jet", "e", "visa", "free", "-",
               " ", "trade", "union", "traded", "was", "h", "1b", "eta", "of", "arrival", "b-52", "bombers",
               "import", "re", "export", "duties", "capital", "flight", "terror", "counter", "anti", "x", "'", "\n"]


@settings(max_examples=250, deadline=None)
@given(st.lists(st.sampled_from(_CUE_PIECES) | st.text(max_size=3), max_size=12))
def test_the_literal_gates_change_no_answer_on_generated_texts(pieces):
    text = "".join(pieces)
    assert Cues(THEMES).hits(text) == _plain_hits(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_CUE_PIECES) | st.text(max_size=3), max_size=8).map("".join), max_size=6))
def test_texts_searched_together_get_their_own_answers(texts):
    assert Cues(THEMES).hits_many(texts) == [_plain_hits(t) for t in texts]


def test_required_literals_are_found_in_every_match():
    from train.runtime.cues import required_literals

    assert required_literals("air[- ]?(?:craft|planes?)") == {"craft", "plane"}
    assert required_literals("(?:strategic|stealth|heavy|b-\\d+) bombers?") == {" bomber"}
    assert required_literals("(?:re[- ]?)?(?:export|import)(?:s|ed|ers?|ing)?") == {"export", "import"}
    assert required_literals("airlines?|boeing") == {"airline", "boeing"}
    assert required_literals("\\w+") is None


def test_prefix_literals_begin_every_match():
    from train.runtime.cues import prefix_literals

    assert prefix_literals("tariffs?") == {"tariff"}
    assert prefix_literals("(?:passenger|jumbo) jets?|boeing") == {"passenger", "jumbo", "boeing"}
    assert prefix_literals("\\betas?\\b") == {"eta"}
    assert prefix_literals("(?:re[- ]?)?(?:export|import)") is None  # an optional start
    assert prefix_literals("p?caa|faa") is None
    assert prefix_literals("[a-z]+ing") is None


def test_patterns_share_a_word_start_only_when_every_match_begins_with_a_word_character():
    from train.runtime.cues import _starts_with_word_character

    assert _starts_with_word_character(r"air[- ]?(?:craft|planes?)")
    assert _starts_with_word_character(r"\bETAs?\b") and _starts_with_word_character(r"P?CAA")
    assert not _starts_with_word_character(r"[- ]?visa")  # may begin with a hyphen
    assert not _starts_with_word_character(r"(?:visa|-free)")
    assert not _starts_with_word_character(r"a?")  # may match nothing
    assert not _starts_with_word_character(r"[a-z]x")  # a range: not proven
