"""The exported theme classifier: load it and label sentences, with NumPy and the standard library only.

    from train import Predictor
    predictor = Predictor.load("models/theme-classifier")
    predictor.predict(["Tariffs on steel rose."])        # [["trade"]]
    predictor.predict_proba("Tariffs on steel rose.")    # {"aviation": 0.01, ...}

The model directory holds plain JSON and NumPy arrays (read with ``allow_pickle=False``),
so loading it can never run code; every file is checked against its SHA-256 in the manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from train.analyzers import build_analyzer

FORMAT = "theme-classifier/linear-v1"
SPEC_FILE = "predictor.json"
VOCABULARY_FILE = "vocabulary.json"
WEIGHTS_FILE = "weights.npz"
MANIFEST_FILE = "manifest.json"


class ModelFileError(ValueError):
    """A model directory that is missing, altered, or of a format this version cannot read."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _Block:
    """One vectorizer: its analyzer, how an n-gram finds its column, and the weighting."""

    analyze: Callable[[str], list[str]]
    column_of: Callable[[str], int | None]  # None: the n-gram is not a feature
    width: int  # columns of this block
    idf: np.ndarray | None
    binary: bool
    sublinear_tf: bool
    norm: str | None
    offset: int  # first column of this block in the weight matrix

    def _weigh(self, cols: np.ndarray, counts: np.ndarray) -> np.ndarray:
        values = np.ones(len(counts)) if self.binary else counts.astype(np.float64)
        if self.sublinear_tf and not self.binary:
            values = 1.0 + np.log(values)
        if self.idf is not None:
            values = values * self.idf[cols]
        return values

    def _normaliser(self, values: np.ndarray) -> np.ndarray:
        return values**2 if self.norm == "l2" else np.abs(values)

    def features(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value) of the non-zero features of each text."""
        column_of = self.column_of
        rows: list[int] = []
        cols: list[int] = []
        for row, text in enumerate(texts):
            ids = [i for i in map(column_of, self.analyze(text)) if i is not None]
            cols.extend(ids)
            rows.extend([row] * len(ids))
        keys, counts = np.unique(np.asarray(rows, dtype=np.int64) * self.width + np.asarray(cols, dtype=np.int64),
                                 return_counts=True)
        rows_out, cols_out = np.divmod(keys, self.width)
        values = self._weigh(cols_out, counts)
        if self.norm is not None:
            totals = np.bincount(rows_out, weights=self._normaliser(values), minlength=len(texts))
            totals = np.sqrt(totals) if self.norm == "l2" else totals
            totals[totals == 0] = 1.0
            values = values / totals[rows_out]
        return rows_out, cols_out + self.offset, values

    def features_of_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(column, value) of one text: the batch path without its per-call overhead."""
        counts = Counter(i for i in map(self.column_of, self.analyze(text)) if i is not None)
        cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = self._weigh(cols, np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        if self.norm is not None and len(values):
            total = self._normaliser(values).sum()
            values = values / (np.sqrt(total) if self.norm == "l2" else total)
        return cols + self.offset, values


def _column_finder(block: dict, terms: list[str] | None) -> tuple[Callable[[str], int | None], int]:
    if block.get("kind", "vocabulary") == "vocabulary":
        return {t: j for j, t in enumerate(terms)}.get, len(terms)
    import mmh3  # only hashed models need it

    width = block["n_features"]
    return (lambda gram: abs(mmh3.hash(gram, 0, signed=True)) % width), width


class Predictor:
    """Scores English sentences for each theme and labels them with the themes over threshold."""

    def __init__(self, spec: dict, vocabularies: list[list[str]], weights: dict[str, np.ndarray]):
        self.themes: tuple[str, ...] = tuple(spec["themes"])
        self.thresholds: dict[str, float] = dict(zip(self.themes, map(float, spec["thresholds"])))
        self.info: dict = {k: spec[k] for k in ("name", "created", "versions", "data_fingerprint") if k in spec}
        self._coef = weights["coef"]
        self._intercept = weights["intercept"]
        self._scale = weights["scale"]
        self._offset = weights["offset"]
        self._threshold_list = [float(t) for t in spec["thresholds"]]
        self._blocks: list[_Block] = []
        offset = 0
        for i, (block, terms) in enumerate(zip(spec["blocks"], vocabularies)):
            analyze = build_analyzer(
                block["analyzer"], block["ngram_range"], block["lowercase"], block["strip_accents"],
                block["token_pattern"], block["stop_words"],
            )
            column_of, width = _column_finder(block, terms)
            self._blocks.append(_Block(analyze, column_of, width, weights.get(f"idf_{i}"), block["binary"],
                                       block.get("sublinear_tf", False), block["norm"], offset))
            offset += width
        if offset != self._coef.shape[0] or self._coef.shape[1] != len(self.themes):
            raise ModelFileError(f"weights of shape {self._coef.shape} do not fit {offset} features x {len(self.themes)} themes")

    @classmethod
    def load(cls, path: str | Path) -> Predictor:
        """Load an exported model directory, or ``models:/<name>@<alias>`` from the MLflow registry."""
        if str(path).startswith("models:/"):
            from train.registry import download_model  # MLflow only on this path

            path = download_model(str(path))
        path = Path(path)
        if not (path / MANIFEST_FILE).is_file():
            raise ModelFileError(f"{path}: not an exported model (no {MANIFEST_FILE}); train one with `python -m train`")
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
        for name, expected in manifest["sha256"].items():
            if not (path / name).is_file() or sha256_file(path / name) != expected:
                raise ModelFileError(f"{path / name}: missing or altered since export (checksum mismatch); re-export the model")
        spec = json.loads((path / SPEC_FILE).read_text(encoding="utf-8"))
        if spec.get("format") != FORMAT:
            raise ModelFileError(f"{path}: model format {spec.get('format')!r}, this version reads {FORMAT!r}; re-export it")
        vocabularies = json.loads((path / VOCABULARY_FILE).read_text(encoding="utf-8"))
        with np.load(path / WEIGHTS_FILE, allow_pickle=False) as arrays:
            weights = {name: arrays[name] for name in arrays.files}
        return cls(spec, vocabularies, weights)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Probability per text (rows) and theme (columns, in ``self.themes`` order)."""
        texts = _checked(texts)
        if len(texts) == 1:
            return self._score_one(texts[0])[None, :]
        decision = np.tile(self._intercept, (len(texts), 1))
        for block in self._blocks:
            rows, cols, values = block.features(texts)
            for t in range(len(self.themes)):
                decision[:, t] += np.bincount(rows, weights=values * self._coef[cols, t], minlength=len(texts))
        probabilities = 1.0 / (1.0 + np.exp(-(self._scale * decision + self._offset)))
        probabilities[[not text.strip() for text in texts]] = 0.0  # no words, no evidence of any theme
        return probabilities

    def _score_one(self, text: str) -> np.ndarray:
        if not text.strip():
            return np.zeros(len(self.themes))
        decision = self._intercept.copy()
        for block in self._blocks:
            cols, values = block.features_of_one(text)
            decision += values @ self._coef[cols]
        return 1.0 / (1.0 + np.exp(-(self._scale * decision + self._offset)))

    def predict_proba(self, texts: str | Sequence[str]) -> dict[str, float] | list[dict[str, float]]:
        """A score in [0, 1] per theme: one dict for one string, a list of dicts for a list."""
        if isinstance(texts, str):
            return dict(zip(self.themes, self._score_one(texts).tolist()))
        return [dict(zip(self.themes, row)) for row in self.scores(texts).tolist()]

    def predict(self, texts: str | Sequence[str]) -> list[str] | list[list[str]]:
        """Themes over their thresholds: a list for one string, a list of lists for a list."""
        if isinstance(texts, str):
            return self._over_threshold(self._score_one(texts).tolist())
        return [self._over_threshold(row) for row in self.scores(texts).tolist()]

    def _over_threshold(self, scores: list[float]) -> list[str]:
        return [theme for theme, score, limit in zip(self.themes, scores, self._threshold_list) if score >= limit]

    def explain(self, text: str, top: int = 5) -> dict[str, dict]:
        """Per theme: score, threshold, and the n-grams that pushed its log-odds up and down most."""
        if not isinstance(text, str):
            raise TypeError(f"explain takes one string, got {type(text).__name__}")
        scores = self.scores([text])[0]
        contributions: list[tuple[str, np.ndarray]] = []
        for block in self._blocks:
            cols, values = block.features_of_one(text)
            value_of = dict(zip(cols.tolist(), values))
            grams = dict.fromkeys(g for g in block.analyze(text) if block.column_of(g) is not None)
            for gram in grams:  # each distinct n-gram with its column's share of the log-odds
                col = block.column_of(gram) + block.offset
                contributions.append((gram, value_of[col] * self._coef[col] * self._scale))
        result = {}
        for t, theme in enumerate(self.themes):
            ranked = sorted(((term, float(w[t])) for term, w in contributions), key=lambda tw: tw[1])
            result[theme] = {
                "score": float(scores[t]),
                "threshold": self.thresholds[theme],
                "up": [tw for tw in reversed(ranked[-top:]) if tw[1] > 0],
                "down": [tw for tw in ranked[:top] if tw[1] < 0],
            }
        return result


def _checked(texts) -> list[str]:
    """The sentences of a list, tuple, 1-D array, Series, or a DataFrame's ``text`` column."""
    if isinstance(texts, str):
        raise TypeError("expected a sequence of strings; wrap a single sentence in a list")
    if hasattr(texts, "columns"):  # a DataFrame iterates over its column names, never its rows
        if "text" not in texts.columns:
            raise ValueError(f"a DataFrame needs a 'text' column; got columns {list(texts.columns)}")
        texts = texts["text"]
    if isinstance(texts, (bytes, bytearray, Mapping, Set)) or not isinstance(texts, Iterable):
        raise TypeError(f"expected a str or a sequence of str, got {type(texts).__name__}")
    if getattr(texts, "ndim", 1) != 1:
        raise ValueError(f"expected a 1-D sequence of sentences, got an array of shape {texts.shape}")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"item {i} is {type(text).__name__}, not str; pass sentences as strings "
                            "(drop or fill missing values first)")
    return texts
