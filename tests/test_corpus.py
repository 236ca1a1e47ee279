import json
from collections import Counter

import pytest

from conftest import ROOT, THEMES
from train.data.corpus import load_corpus, read_records
from train.runtime.errors import DataError

DATA_FILES = sorted(str(p) for p in (ROOT / "data").glob("*.jsonl"))
GOOD = {"id": "a-1", "text": "Tariffs on steel were cut by half.", "labels": ["trade"], "source": "authored"}


def write(tmp_path, *lines, name="rows.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": "x", "text": ', r"rows\.jsonl:2: not valid JSON"),
        ({"id": "x", "text": "Some text here.", "labels": []}, r"rows\.jsonl:2: missing field\(s\) source"),
        ({**GOOD, "id": "x", "labels": ["trades"]}, r"rows\.jsonl:2: unknown theme\(s\) trades; use aviation"),
        ({**GOOD, "id": "x", "text": "   "}, r"rows\.jsonl:2: field 'text' must be a non-empty string"),
        ({**GOOD, "id": "x", "labels": "trade"}, r"rows\.jsonl:2: 'labels' must be a list"),
        ({**GOOD, "id": "x", "labels": ["trade", "trade"]}, r"rows\.jsonl:2: a theme is repeated"),
        (GOOD, r"rows\.jsonl:2: duplicate id 'a-1' \(first at .*rows\.jsonl:1\)"),
        ('["not", "an", "object"]', r"rows\.jsonl:2: expected a JSON object"),
    ],
)
def test_bad_rows_are_reported_with_file_and_line(tmp_path, line, message):
    path = write(tmp_path, GOOD, line)
    with pytest.raises(ValueError, match=message):
        read_records([path], THEMES)


def test_missing_file_and_empty_glob_are_errors(tmp_path):
    with pytest.raises(DataError, match="no such data file"):
        read_records([tmp_path / "missing.jsonl"], THEMES)
    with pytest.raises(DataError, match="no data files match"):
        load_corpus(str(tmp_path / "*.jsonl"), THEMES)


def test_same_text_with_different_labels_is_an_error(tmp_path):
    path = write(tmp_path, GOOD, {**GOOD, "id": "a-2", "text": "TARIFFS on steel were cut by half!", "labels": []})
    with pytest.raises(DataError, match="same text but different labels"):
        load_corpus([str(path)], THEMES)


@pytest.fixture(scope="module")
def corpus(bundled_corpus):
    return bundled_corpus


def test_splits_are_deterministic_and_depend_on_the_seed(small_corpus):
    first, again, other = (load_corpus([str(small_corpus)], THEMES, seed=seed) for seed in (13, 13, 14))
    for name in ("train", "validation", "test"):
        assert first.splits[name]["id"] == again.splits[name]["id"]
    assert first.fingerprint == again.fingerprint
    corpus = first
    assert corpus.splits["test"]["id"] != other.splits["test"]["id"]
    assert corpus.fingerprint != other.fingerprint


def test_splits_are_disjoint_stratified_and_cover_every_row(corpus):
    bundled = ("train", "validation", "test")  # the real-copy sets are read whole, beside these
    ids = {name: set(corpus.splits[name]["id"]) for name in bundled}
    assert not ids["train"] & ids["validation"] and not ids["train"] & ids["test"] and not ids["validation"] & ids["test"]
    assert sum(map(len, ids.values())) + corpus.duplicates_removed == len(read_records(DATA_FILES, THEMES))
    total = sum(map(len, ids.values()))
    for name, share in (("validation", 0.15), ("test", 0.15)):
        assert abs(len(ids[name]) / total - share) < 0.02
        counts = Counter(label for labels in corpus.splits[name]["labels"] for label in labels)
        for theme in THEMES:  # each theme close to its share of the split
            overall = sum(theme in labels for split in bundled for labels in corpus.splits[split]["labels"])
            assert abs(counts[theme] / overall - share) < 0.03


def test_near_duplicates_stay_in_one_split(tmp_path):
    rows = [{**GOOD, "id": f"n-{i}", "text": f"Pakistan and Bangladesh agreed on visa-free travel for officials {w}.",
             "labels": ["visas"]} for i, w in enumerate(["today", "on Monday", "this week", "yesterday"])]
    filler = [{**GOOD, "id": f"f-{i}", "text": text, "labels": labels} for i, (text, labels) in enumerate(
        [(f"Sentence number {i} about {topic} and nothing else at all {i * 7}.", labels)
         for i, (topic, labels) in enumerate([("tariffs", ["trade"]), ("airlines", ["aviation"]),
                                              ("militants", ["counterterrorism"]), ("floods", [])] * 10)])]
    path = write(tmp_path, *rows, *filler)
    corpus = load_corpus([str(path)], THEMES, seed=1)
    homes = {name for name, split in corpus.splits.items() for i in split["id"] if i.startswith("n-")}
    assert len(homes) == 1


def test_fingerprint_changes_with_a_label(tmp_path):
    first = load_corpus([str(write(tmp_path, *[{**GOOD, "id": f"r{i}", "text": f"Row {i} talks about tariffs and cotton {i}.",
                                               "labels": ["trade"] if i % 2 else []} for i in range(40)]))], ["trade"])
    second = load_corpus([str(write(tmp_path, *[{**GOOD, "id": f"r{i}", "text": f"Row {i} talks about tariffs and cotton {i}.",
                                                "labels": ["trade"] if i % 2 or i == 0 else []} for i in range(40)]))], ["trade"])
    assert first.fingerprint != second.fingerprint


def test_bundled_corpus_meets_the_size_targets():
    records = read_records(DATA_FILES, THEMES)
    authored = [r for r in records if r["source"] == "authored"]
    per_theme = Counter(label for r in authored for label in r["labels"])
    assert all(per_theme[t] >= 1000 for t in THEMES), per_theme
    assert sum(len(r["labels"]) > 1 for r in authored) >= 500
    assert sum(not r["labels"] for r in authored) >= 2500
    assert all(8 <= len(r["text"].split()) <= 60 for r in records if r["source"] != "seed")
    assert {r["source"] for r in records} == {"seed", "authored", "paraphrased"}


@pytest.mark.slow
def test_dataset_card_counts_are_generated_from_the_data():
    from train.cli.datacard import main

    assert main(["--check"]) == 0, "run `theme-datacard`"
