import json

from train.data.seeds import extract
from train.data.jsonl import iter_jsonl
from train.runtime.paths import EXTRACTED_SEEDS, SEEDS_DIR
from train.data.segment import segment

FURNITURE = ["You may also like", "Latest Articles", "All Rights Reserved", "by NWMNewsDesk", "Increase font size",
             "Read More:", "Similar Posts", "can be reached at", "0 comment", "Home »"]


def test_extraction_drops_page_furniture_and_headings():
    texts = [s.text for s in extract(SEEDS_DIR)]
    for marker in FURNITURE:
        assert not any(marker in t for t in texts), marker
    # Headlines and bare headings have no sentence of their own.
    assert "Bilateral ties" not in texts
    assert not any(t.startswith("Pakistan’s diplomatic reset deepens") for t in texts)


def test_spans_point_at_the_source_text():
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        for s in segment(path.stem, raw):
            assert " ".join(raw[s.start:s.end].split()) == s.text or s.text.startswith("Islamabad is keen")


def test_drop_cap_is_rejoined():
    texts = [s.text for s in extract(SEEDS_DIR)]
    assert any(t.startswith("Islamabad is keen to improve") for t in texts)
    assert not any(t.startswith("slamabad") for t in texts)


def test_ids_depend_on_text_not_position():
    raw = "First sentence is right here with words.\nSecond sentence is also here with words."
    first = {s.text: s.id for s in segment("doc", raw)}
    swapped = {s.text: s.id for s in segment("doc", "\n".join(reversed(raw.split("\n"))))}
    assert first == swapped and len(first) == 2


def test_committed_extraction_is_up_to_date():
    committed = [row for _, row in iter_jsonl(EXTRACTED_SEEDS)]
    assert committed == [s.to_dict() for s in extract(SEEDS_DIR)], "run `theme-extract` and relabel"


def test_every_extracted_sentence_has_exactly_one_label_row(tmp_path):
    labels = {row["id"]: row for _, row in iter_jsonl(EXTRACTED_SEEDS.parents[1] / "seed.jsonl")}
    extracted = extract(SEEDS_DIR)
    unlabeled = [s.text for s in extracted if s.id not in labels]
    assert not unlabeled, f"seed sentences without a label row in data/seed.jsonl: {unlabeled}"
    orphans = set(labels) - {s.id for s in extracted}
    assert not orphans, f"label rows whose sentence the segmenter no longer produces: {orphans}"
    assert all(labels[s.id]["text"] == s.text for s in extracted)


def test_extract_command_writes_jsonl(tmp_path):
    from train.cli.extract import main

    out = tmp_path / "seeds.jsonl"
    assert main([f"paths.extracted_seeds={out}"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(extract(SEEDS_DIR))
    assert set(rows[0]) == {"id", "doc_id", "index", "start", "end", "text"}
