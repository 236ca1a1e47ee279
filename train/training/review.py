"""The review queue (the sentences that would teach the model most, first) and a review session.

A sentence's value is how close its nearest theme score is to that theme's threshold (1 at the
threshold, 0 at the far end) plus how far the current model and a second configuration are
apart on any theme (0 to 1). Sentences already in the corpus, or near-duplicates of one, are
left out, and no two near-duplicates are shown one after the other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from train.data.corpus import expand, label_matrix, max_similarity, near_duplicate_groups, normalise, read_records
from train.data.feeds import FeedSentence
from train.data.review_log import ReviewLog
from train.runtime.predictor import Predictor
from train.training.checks import instantiate_part
from train.training.pipeline import build_pipeline

SOURCE = "reviewed"


@dataclass
class Item:
    sentence: FeedSentence
    scores: dict[str, float]  # the current model's
    second: dict[str, float]  # the second configuration's
    thresholds: dict[str, float]  # the current model's
    closeness: float  # 1: a score sits on its threshold; 0: every score is as far from it as can be
    disagreement: float  # the largest gap between the two models' scores of a theme

    @property
    def value(self) -> float:
        return self.closeness + self.disagreement

    @property
    def suggested(self) -> list[str]:
        return [theme for theme, score in self.scores.items() if score >= self.thresholds[theme]]


def corpus_texts(cfg: DictConfig) -> list[str]:
    """Every sentence the project already has: bundled, reviewed and real-copy evaluation rows."""
    files = expand(cfg.data.files) + [str(p) for p in cfg.data.evaluation_files.values()]
    return [r["text"] for r in read_records(sorted(set(files)), list(cfg.data.themes))]


def second_scores(cfg: DictConfig, texts: Sequence[str]) -> np.ndarray:
    """Probabilities from the configuration ``cfg`` fitted on every bundled row (no CV, no tuning)."""
    records = read_records(expand(cfg.data.files), list(cfg.data.themes))
    trainer = instantiate_part(cfg.trainer, "trainer")
    pipeline = build_pipeline(cfg, trainer.multilabel)
    pipeline.fit([r["text"] for r in records], label_matrix([r["labels"] for r in records], list(cfg.data.themes)))
    return pipeline.predict_proba(list(texts))


def build_queue(sentences: Sequence[FeedSentence], predictor: Predictor, second: np.ndarray,
                known: Sequence[str], threshold: float) -> list[Item]:
    """The sentences not near-duplicates (cosine >= ``threshold``) of ``known``, most valuable first."""
    fresh = max_similarity([s.text for s in sentences], known) < threshold
    sentences = [s for s, keep in zip(sentences, fresh) if keep]
    second = second[fresh]
    if not sentences:
        return []
    scores = predictor.scores([s.text for s in sentences])
    limits = np.array([predictor.thresholds[t] for t in predictor.themes])
    closeness = 1 - (np.abs(scores - limits) / np.maximum(limits, 1 - limits)).min(axis=1)
    disagreement = np.abs(scores - second).max(axis=1)
    order = np.argsort(-(closeness + disagreement), kind="stable")
    groups = near_duplicate_groups([s.text for s in sentences], threshold)
    themes = predictor.themes
    items = [Item(sentences[i], dict(zip(themes, map(float, scores[i]))), dict(zip(themes, map(float, second[i]))),
                  predictor.thresholds, float(closeness[i]), float(disagreement[i])) for i in order]
    return _spread([groups[i] for i in order], items)


def _spread(groups: list[int], items: list[Item]) -> list[Item]:
    """``items`` in the same order, except that an item sharing the previous one's near-duplicate
    group waits for the first item that does not."""
    pending = list(zip(groups, items))
    spread: list[Item] = []
    last = None
    while pending:
        pick = next((i for i, (group, _) in enumerate(pending) if group != last), 0)
        last, item = pending.pop(pick)
        spread.append(item)
    return spread


class ReviewSession:
    """Walks a queue: each decision is appended to ``decisions`` at once, each skip to ``skips``.
    Sentences already decided or skipped in an earlier session are not asked again."""

    def __init__(self, queue: Sequence[Item], decisions: ReviewLog, skips: ReviewLog, model: dict,
                 known: Sequence[str] = ()):
        self.decisions, self.skips, self.model = decisions, skips, model
        done = {row["id"] for row in decisions.rows} | {row["id"] for row in skips.rows}
        self.queue = [item for item in queue if item.sentence.id not in done]
        self.position = 0
        self._known = {normalise(text) for text in known} | {normalise(row["text"]) for row in decisions.rows}
        self._history: list[tuple[int, ReviewLog | None]] = []  # per step: where it was, the log it wrote

    @property
    def current(self) -> Item | None:
        return self.queue[self.position] if self.position < len(self.queue) else None

    @property
    def decided(self) -> int:
        return len(self.decisions.rows)

    def decide(self, labels: Sequence[str]) -> str:
        """Save the current sentence with ``labels`` (``[]``: no theme) and move on; the message says what happened."""
        item = self._current()
        key = normalise(item.sentence.text)
        if key in self._known:
            self._step(None)
            return "already in the corpus: not saved again"
        labels = sorted(labels)
        self.decisions.append({
            "id": item.sentence.id, "text": item.sentence.text, "labels": labels, "source": SOURCE,
            "input_file": item.sentence.file, "input_line": item.sentence.line,
            "model": self.model, "scores": {t: round(s, 4) for t, s in item.scores.items()},
            "reviewed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
        self._known.add(key)
        self._step(self.decisions)
        return f"saved: {', '.join(labels) or 'no theme'}"

    def skip(self) -> str:
        item = self._current()
        self.skips.append({"id": item.sentence.id, "input_file": item.sentence.file, "input_line": item.sentence.line})
        self._step(self.skips)
        return "skipped"

    def undo(self) -> str:
        """Take back this session's last decision or skip and show that sentence again."""
        if not self._history:
            return "nothing to undo in this session"
        self.position, log = self._history.pop()
        if log is not None:
            row = log.undo()
            if log is self.decisions:
                self._known.discard(normalise(row["text"]))
        return "undone"

    def _step(self, log: ReviewLog | None) -> None:
        self._history.append((self.position, log))
        self.position += 1

    def _current(self) -> Item:
        if self.current is None:
            raise IndexError("the queue is done")
        return self.current
