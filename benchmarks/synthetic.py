"""Seeded synthetic multi-label corpora of news-like sentences, for benchmarks at scale.

    python benchmarks/synthetic.py --sentences 1000000 --out /tmp/synthetic-1m

Vocabulary and word frequencies come from the bundled corpus; each theme's signal is
words that the bundled data ties to that theme, mixed into sentences of realistic length,
with hard negatives (a theme word in a sentence without the theme) and positives that
carry only one weak cue. Writes a `datasets.DatasetDict` (train / validation / test, Arrow on disk).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
THEMES = ("aviation", "counterterrorism", "trade", "visas")
_TOKEN = re.compile(r"[a-z][a-z'-]+")
TAIL_WORDS = 300_000


def _vocabulary() -> tuple[list[str], np.ndarray, dict[str, list[str]]]:
    """Words with their frequencies, and the words most tied to each theme, from data/."""
    import json

    counts: Counter = Counter()
    by_theme = {t: Counter() for t in THEMES}
    for path in sorted((ROOT / "data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            words = _TOKEN.findall(row["text"].lower())
            counts.update(words)
            for theme in row["labels"]:
                by_theme[theme].update(set(words))
    cues = {}
    for theme, seen in by_theme.items():
        # words far more common with the theme than overall (log-odds with smoothing)
        score = {w: np.log((seen[w] + 1) / (counts[w] - seen[w] + 1)) for w in seen if seen[w] >= 3}
        cues[theme] = sorted(score, key=score.get, reverse=True)[:120]
    # Filler is the rest of the vocabulary, so that a theme word appears only where placed.
    cue_words = {w for c in cues.values() for w in c}
    words = sorted(w for w in counts if w not in cue_words)
    freq = np.array([counts[w] for w in words], dtype=np.float64)
    return words, freq / freq.sum(), cues


def generate(n: int, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """``n`` sentences and their labels, the same for the same ``n`` and ``seed``."""
    rng = np.random.default_rng(seed)
    words, p, cues = _vocabulary()
    n_themes = rng.choice([0, 1, 2], size=n, p=[0.45, 0.45, 0.10])
    lengths = np.clip(rng.normal(22, 8, size=n).round().astype(int), 8, 50)
    filler = rng.choice(len(words), size=int(lengths.sum()), p=p)
    # A long tail of rare words (names, places, typos), so the vocabulary grows with the corpus.
    letters = rng.integers(ord("a"), ord("z") + 1, size=(TAIL_WORDS, 9), dtype=np.uint8)
    tail = [bytes(row[: 4 + k % 6]).decode() for k, row in enumerate(letters)]
    words = words + tail
    rare = rng.random(len(filler)) < 0.06
    filler[rare] = len(words) - len(tail) + np.minimum(rng.zipf(1.2, size=int(rare.sum())), TAIL_WORDS) - 1
    texts, labels = [], []
    start = 0
    for i in range(n):
        sentence = [words[j] for j in filler[start:start + lengths[i]]]
        start += lengths[i]
        chosen = sorted(rng.choice(len(THEMES), size=n_themes[i], replace=False))
        for t in chosen:  # 1-3 cues per theme, at random places
            for cue in rng.choice(cues[THEMES[t]], size=rng.integers(1, 4)):
                sentence.insert(rng.integers(0, len(sentence) + 1), cue)
        if rng.random() < 0.15:  # a hard negative: a cue of a theme the sentence does not have
            other = [t for t in range(len(THEMES)) if t not in chosen]
            sentence.insert(rng.integers(0, len(sentence) + 1), rng.choice(cues[THEMES[rng.choice(other)]]))
        texts.append(" ".join(sentence).capitalize() + ".")
        labels.append([THEMES[t] for t in chosen])
    return texts, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, required=True, help="training sentences (a tenth more for test)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the DatasetDict")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from datasets import Dataset, DatasetDict

    held_out = max(1000, args.sentences // 10)  # each of validation and test
    texts, labels = generate(args.sentences + 2 * held_out, args.seed)
    bounds = {"train": (0, args.sentences), "validation": (args.sentences, args.sentences + held_out),
              "test": (args.sentences + held_out, args.sentences + 2 * held_out)}
    splits = DatasetDict({name: Dataset.from_dict({"text": texts[a:b], "labels": labels[a:b]})
                          for name, (a, b) in bounds.items()})
    splits.save_to_disk(str(args.out))
    print(f"{args.sentences} train + {held_out} validation + {held_out} test sentences -> {args.out}")


if __name__ == "__main__":
    main()
