"""The keyword baseline: a sentence gets every theme whose guideline cues it contains.

The cue lists (``train/runtime/cues.py``) were written from the annotation guidelines in
data/README.md, without looking at the evaluation sets. Alone, nothing is learned: this is
the floor a trained model has to clear. The default model also uses the same cues as
features, weighted by training.

    from keywords import KeywordClassifier
    KeywordClassifier(["aviation", "visas"]).predict(["Airlines resumed flights to Kabul."])
    # [['aviation']]
"""

from __future__ import annotations

from collections.abc import Sequence

from train.runtime.cues import Cues


class KeywordClassifier:
    """Labels a sentence with every theme one of whose cues it contains."""

    def __init__(self, themes: Sequence[str]):
        self.themes = list(themes)
        self._cues = Cues(self.themes)

    def predict(self, texts: Sequence[str]) -> list[list[str]]:
        return [[self.themes[i] for i in self._cues.hits(text)] for text in texts]
