"""theme-review's parts: reading feeds, the append-only log, the queue, the session, train-only rows."""

import json

import numpy as np
import pytest

from conftest import ROOT, THEMES
from train.data.corpus import load_corpus, read_records
from train.data.feeds import FeedSentence, read_feeds, sentence_key
from train.data.review_log import ReviewLog
from train.runtime.errors import DataError
from train.runtime.predictor import Predictor
from train.training.review import Item, ReviewSession, _spread, build_queue

PARAGRAPH = ("The two governments agreed to restore direct flights between Lahore and Dhaka next month. "
             "Officials said visa rules for business travellers would also be eased.")


def test_text_files_give_every_sentence_with_its_line(tmp_path):
    path = tmp_path / "feed.txt"
    path.write_text(f"{PARAGRAPH}\n\nBREAKING NEWS\nPort handling charges for exporters will rise in July.\n"
                    f"{PARAGRAPH}\n", encoding="utf-8")
    found = read_feeds([path])
    assert [(s.line, s.text) for s in found] == [
        (1, "The two governments agreed to restore direct flights between Lahore and Dhaka next month."),
        (1, "Officials said visa rules for business travellers would also be eased."),
        (4, "Port handling charges for exporters will rise in July."),
    ]  # the headline is too short to label and the repeated paragraph is not asked twice
    assert found[0].file == str(path) and found[0].id == sentence_key(found[0].text.upper())


def test_jsonl_parquet_and_html_files(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl = tmp_path / "feed.jsonl"
    jsonl.write_text(json.dumps({"text": "Customs officers seized a shipment of counterfeit textiles at the port."})
                     + "\n\n" + json.dumps({"text": PARAGRAPH, "url": "https://example.org/a"}) + "\n")
    parquet = tmp_path / "feed.parquet"
    pq.write_table(pa.table({"text": ["Police arrested three suspects linked to a banned militant group.", None]}),
                   parquet)
    html = tmp_path / "article.html"
    html.write_text("<html><head><script>var x = 'Flights resumed between Karachi and Dubai today.';</script></head>"
                    "<body><nav><li>Home</li><li>World news and analysis from the region</li></nav>\n"
                    "<h1>Carrier adds routes</h1>\n<p>The national carrier will add three weekly flights\n"
                    "to Jeddah from March, the airline said on Tuesday.</p>\n<footer>All rights reserved.</footer>"
                    "</body></html>", encoding="utf-8")
    found = read_feeds([jsonl, parquet, html])
    assert [(s.file.rsplit("/", 1)[1], s.line) for s in found] == [
        ("feed.jsonl", 1), ("feed.jsonl", 3), ("feed.jsonl", 3), ("feed.parquet", 1), ("article.html", 3)]
    assert found[-1].text == "The national carrier will add three weekly flights to Jeddah from March, the airline said on Tuesday."


@pytest.mark.parametrize("name, content, message", [
    ("bad.jsonl", '{"title": "no text"}\n', r"bad\.jsonl:1: expected an object with a 'text' string"),
    ("bad.txt", b"caf\xe9 is not utf-8", r"bad\.txt: not UTF-8 text"),
    ("missing.txt", None, r"missing\.txt: no such file"),
])
def test_bad_feed_files_are_one_line_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataError, match=message):
        read_feeds([path])


def test_log_rows_survive_reopening_and_undo_truncates(tmp_path):
    path = tmp_path / "reviewed.jsonl"
    with ReviewLog(path) as log:
        log.append({"id": "a", "n": 1})
        log.append({"id": "b", "n": 2})
        assert log.undo() == {"id": "b", "n": 2}
        assert log.can_undo
    assert path.read_text().splitlines() == ['{"id": "a", "n": 1}']
    with ReviewLog(path) as log:
        assert log.rows == [{"id": "a", "n": 1}] and not log.can_undo


def test_a_torn_last_line_is_cut_and_a_second_session_is_refused(tmp_path):
    path = tmp_path / "reviewed.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "te')
    with ReviewLog(path) as log:
        assert log.rows == [{"id": "a"}]
        assert path.read_text() == '{"id": "a"}\n'
        with pytest.raises(DataError, match="another theme-review session has it open"):
            ReviewLog(path)
    ReviewLog(path).close()  # free again once the first is closed


def item(text: str, scores=(0.5, 0.1, 0.1, 0.1)) -> Item:
    sentence = FeedSentence(sentence_key(text), text, "feed.txt", 1)
    return Item(sentence, dict(zip(THEMES, scores)), dict(zip(THEMES, scores)), dict.fromkeys(THEMES, 0.4), 0.9, 0.0)


def session(tmp_path, queue, known=()):
    decisions = ReviewLog(tmp_path / "reviewed.jsonl")
    skips = ReviewLog(tmp_path / "reviewed.skipped")
    return ReviewSession(queue, decisions, skips, {"name": "m", "run_id": "r1", "created": "now"}, known)


TEXTS = ["Airports will screen passengers arriving from the region more closely.",
         "The ministry cut duties on imported solar panels.",
         "Embassies will issue electronic visas within three days.",
         "The central bank left interest rates unchanged."]


def test_session_saves_skips_undoes_and_resumes(tmp_path):
    queue = [item(text) for text in TEXTS]
    s = session(tmp_path, queue)
    assert s.current.suggested == ["aviation"]
    assert s.decide(["aviation"]) == "saved: aviation"
    assert s.skip() == "skipped"
    assert s.decide([]) == "saved: no theme"
    assert s.undo() == "undone" and s.current is queue[2]
    assert s.decide(["visas"]) == "saved: visas"
    s.decisions.close(), s.skips.close()

    rows = read_records([tmp_path / "reviewed.jsonl"], THEMES, keep=("input_file", "input_line", "model"))
    assert [(r["text"], r["labels"], r["source"]) for r in rows] == [
        (TEXTS[0], ["aviation"], "reviewed"), (TEXTS[2], ["visas"], "reviewed")]
    assert rows[0]["input_file"] == "feed.txt" and rows[0]["model"]["run_id"] == "r1"

    again = session(tmp_path, queue)  # what was decided or skipped is not asked again
    assert [i.sentence.text for i in again.queue] == [TEXTS[3]] and again.decided == 2
    assert again.undo() == "nothing to undo in this session"


def test_a_sentence_already_in_the_corpus_is_refused(tmp_path):
    s = session(tmp_path, [item(TEXTS[1]), item(TEXTS[0])], known=[TEXTS[1].upper()])
    assert s.decide(["trade"]) == "already in the corpus: not saved again"
    assert s.decide([]) == "saved: no theme"
    assert s.undo() == "undone" and s.undo() == "undone" and s.current.sentence.text == TEXTS[1]
    assert s.decisions.rows == []


def test_near_duplicates_never_follow_each_other():
    items = [item(f"sentence {i}") for i in range(6)]
    spread = _spread([0, 0, 0, 1, 2, 1], items)
    assert [items.index(i) for i in spread] == [0, 3, 1, 4, 2, 5]
    assert [items.index(i) for i in _spread([7, 7], items[:2])] == [0, 1]  # nothing else to put between


def test_queue_puts_unsure_sentences_first_and_leaves_out_known_ones(trained):
    predictor = Predictor.load(trained.export_dir)
    corpus = trained.result.corpus
    held_out = list(corpus.splits["realcopy_test"]["text"])[:40]
    sentences = [FeedSentence(sentence_key(t), t, "feed.txt", n) for n, t in enumerate(held_out, 1)]
    second = np.full((len(sentences), len(THEMES)), 0.5)
    known = held_out[:10]
    queue = build_queue(sentences, predictor, second, known, 0.8)
    assert {i.sentence.text for i in queue} == set(held_out[10:])
    values = [i.value for i in queue]
    scores = predictor.scores(held_out[10:])
    limits = np.array([predictor.thresholds[t] for t in predictor.themes])
    expected = 1 - (np.abs(scores - limits) / np.maximum(limits, 1 - limits)).min(axis=1) + np.abs(scores - 0.5).max(axis=1)
    assert sorted(values, reverse=True) == pytest.approx(sorted(expected, reverse=True))
    assert values[0] == pytest.approx(expected.max())


def test_train_only_rows_join_training_and_leave_the_held_out_splits_alone(tmp_path, small_corpus):
    rows = read_records([small_corpus], THEMES)
    base = load_corpus([str(small_corpus)], THEMES, seed=3)
    test_text = base.splits["test"]["text"][0]
    extra = tmp_path / "reviewed.jsonl"
    extra.write_text("\n".join(json.dumps(r) for r in [
        {"id": "r-1", "text": "A new cargo terminal opened to speed up textile exports.", "labels": ["trade"],
         "source": "reviewed"},
        {"id": "r-2", "text": rows[0]["text"].upper(), "labels": rows[0]["labels"], "source": "reviewed"},
        {"id": "r-3", "text": test_text + " Officials said.", "labels": base.splits["test"]["labels"][0],
         "source": "reviewed"},
    ]) + "\n")
    grown = load_corpus([str(small_corpus), str(extra)], THEMES, seed=3, train_only=str(extra))
    assert grown.train_only_rows == 1
    assert list(grown.splits["train"]["id"]) == [*base.splits["train"]["id"], "r-1"]
    for name in ("validation", "test"):
        assert list(grown.splits[name]["id"]) == list(base.splits[name]["id"])
    assert grown.fingerprint != base.fingerprint
    assert load_corpus([str(small_corpus)], THEMES, seed=3, train_only=str(tmp_path / "none.jsonl")).fingerprint \
        == base.fingerprint
    clash = tmp_path / "clash.jsonl"
    clash.write_text(json.dumps({**rows[1], "text": "Something else entirely was said here."}) + "\n")
    with pytest.raises(DataError, match=f"id '{rows[1]['id']}' is in both data.files and data.train_only"):
        load_corpus([str(small_corpus)], THEMES, train_only=[str(clash)])


@pytest.mark.slow
def test_report_retrains_with_the_reviewed_rows_and_tags_the_run(tmp_path, small_corpus):
    from mlflow.tracking import MlflowClient

    from conftest import isolated_overrides, run_python

    labels = [["aviation", "visas"], ["trade"], ["counterterrorism"], ["aviation"], ["visas"], [], ["trade"],
              ["counterterrorism"], ["visas"], ["aviation"], ["trade"], []]
    lines = [line for line in (ROOT / "docs" / "examples" / "feed.txt").read_text().splitlines() if line]
    reviewed = tmp_path / "reviewed.jsonl"
    reviewed.write_text("".join(json.dumps({"id": f"reviewed-{n}", "text": text, "labels": label, "source": "reviewed"})
                                + "\n" for n, (text, label) in enumerate(zip(lines, labels))))
    done = run_python("-m", "train.cli.review", "--report", *isolated_overrides(tmp_path),
                      f"data.files=[{small_corpus}]", f"paths.reviewed={reviewed}", timeout=900)
    assert done.returncode == 0, done.stderr
    lines_out = done.stdout.splitlines()
    assert lines_out[0].startswith("12 reviewed sentences in training:")
    assert [line.split()[0] for line in lines_out[2:6]] == ["realcopy_test", "realcopy_dev", "test", "validation"]
    assert (tmp_path / "models" / "theme-classifier-reviewed" / "predictor.json").is_file()
    assert not (tmp_path / "models" / "theme-classifier").exists()
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    run = client.search_runs([client.get_experiment_by_name("theme-classifier").experiment_id])[0]
    assert run.data.tags["review.sentences"] == "12"
    assert lines_out[2] in run.data.tags["mlflow.note.content"]
    assert run.data.metrics["size/train_sentences"] == float(lines_out[0].split()[-2])
