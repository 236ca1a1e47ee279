"""Field-by-field checks of a model folder's contents before the predictor is built from them.

Every value is held to what the trainer can write: known options only, token patterns from a
fixed set (never an arbitrary regular expression), n-gram ranges and sizes that keep loading
and scoring bounded, finite float64 arrays of the shapes the spec implies. A defect is a
``ModelFileError`` naming the file and the field."""

from __future__ import annotations

import math
import operator
import re
from itertools import islice

import numpy as np

from train.runtime.analyzers import TOKEN_PATTERNS
from train.runtime.cues import CUE_SETS
from train.runtime.errors import ModelFileError
from train.runtime.normalise import NORMALISATION

SPEC_FIELDS = {"format", "themes", "thresholds", "blocks", "normalisation", "name", "created", "run_id", "model_version",
               "versions", "data_fingerprint"}
VECTORIZER_FIELDS = {"kind", "analyzer", "ngram_range", "lowercase", "strip_accents", "token_pattern", "stop_words",
                     "binary", "sublinear_tf", "norm"}
CUE_FIELDS = {"kind", "cue_set", "themes", "weight"}
ANALYZERS = ("word", "char", "char_wb")
ACCENT_OPTIONS = (None, "ascii", "unicode")
NORMS = (None, "l1", "l2")
MAX_NGRAM = 16  # longer n-grams multiply the work per sentence and no config asks for them
MAX_THEMES = 256
MAX_BLOCKS = 8
MAX_HASH_FEATURES = 1 << 28
MAX_TEXT_FIELD = 200  # name, created, run id, fingerprint, version strings
THEME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class _Fields:
    """Checks on one file's values; every failure names the file and the field."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, field: str, problem: str):
        raise ModelFileError(f"{self.file}: {field}: {problem}; re-export the model")

    def only(self, mapping, allowed: set[str], required: set[str], where: str) -> None:
        if not isinstance(mapping, dict):
            self.fail(where, f"expected an object, got {type(mapping).__name__}")
        unknown, missing = sorted(set(mapping) - allowed), sorted(required - set(mapping))
        if unknown:
            self.fail(f"{where}.{unknown[0]}" if where else unknown[0], "not a field of this format")
        if missing:
            self.fail(f"{where}.{missing[0]}" if where else missing[0], "missing")

    def choice(self, value, options, field: str) -> None:
        if type(value) not in (str, bool, type(None)) or value not in options:
            self.fail(field, f"{value!r:.60} is not one of {', '.join(map(repr, options))}")

    def boolean(self, value, field: str) -> None:
        if type(value) is not bool:
            self.fail(field, f"expected true or false, got {value!r:.60}")

    def integer(self, value, low: int, high: int, field: str) -> int:
        if type(value) is not int or not low <= value <= high:
            self.fail(field, f"expected an integer in [{low}, {high}], got {value!r:.60}")
        return value

    def number(self, value, low: float, high: float, field: str) -> float:
        if type(value) not in (int, float) or not math.isfinite(value) or not low <= value <= high:
            self.fail(field, f"expected a number in [{low}, {high}], got {value!r:.60}")
        return float(value)

    def strings(self, value, field: str, unique: bool = True, max_items: int | None = None) -> list[str]:
        # In C over the whole list (vocabularies run to millions of terms): the types seen, and an empty string.
        if not isinstance(value, list) or not set(map(type, value)) <= {str} or "" in value:
            self.fail(field, "expected a list of non-empty strings")
        if max_items is not None and len(value) > max_items:
            self.fail(field, f"{len(value)} items, at most {max_items}")
        # A vocabulary is written in column order, which scikit-learn sorts by term: strictly
        # ascending terms are distinct, checked without hashing millions of strings into a set.
        if unique and not all(map(operator.lt, value, islice(value, 1, None))) and len(set(value)) != len(value):
            self.fail(field, "holds a duplicate")
        return value

    def text(self, value, field: str) -> None:
        if type(value) is not str or len(value) > MAX_TEXT_FIELD:
            self.fail(field, f"expected a string of at most {MAX_TEXT_FIELD} characters")


def check_spec(spec, file: str) -> None:
    """The predictor spec (``predictor.json``): themes, thresholds, info and every block's options."""
    fields = _Fields(file)
    fields.only(spec, SPEC_FIELDS, {"format", "themes", "thresholds", "blocks"}, "")
    themes = fields.strings(spec["themes"], "themes", max_items=MAX_THEMES)
    if not themes or not all(THEME_NAME.fullmatch(t) for t in themes):
        fields.fail("themes", "expected 1 or more theme names of letters, digits, _ and -")
    if not isinstance(spec["thresholds"], list) or len(spec["thresholds"]) != len(themes):
        fields.fail("thresholds", f"expected a list of {len(themes)} numbers, one per theme")
    for i, threshold in enumerate(spec["thresholds"]):
        fields.number(threshold, 0.0, 1.0, f"thresholds[{i}]")
    fields.choice(spec.get("normalisation"), (None, NORMALISATION), "normalisation")
    for key in ("name", "created", "run_id", "model_version", "data_fingerprint"):
        if spec.get(key) is not None:
            fields.text(spec[key], key)
    versions = spec.get("versions", {})
    if not isinstance(versions, dict) or len(versions) > 64:
        fields.fail("versions", "expected an object of package versions")
    for package, version in versions.items():
        fields.text(version, f"versions.{package:.40}")
    blocks = spec["blocks"]
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= MAX_BLOCKS:
        fields.fail("blocks", f"expected a list of 1 to {MAX_BLOCKS} feature blocks")
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(block, dict):
            fields.fail(where, "expected an object")
        kind = block.get("kind")
        if kind == "cues":
            fields.only(block, CUE_FIELDS, CUE_FIELDS, where)
            fields.choice(block["cue_set"], tuple(CUE_SETS), f"{where}.cue_set")
            cue_themes = fields.strings(block["themes"], f"{where}.themes", max_items=MAX_THEMES)
            if not set(cue_themes) <= set(CUE_SETS[block["cue_set"]]):
                fields.fail(f"{where}.themes", f"not all in cue set {block['cue_set']!r}")
            fields.number(block["weight"], 0.0, 1e6, f"{where}.weight")
            continue
        fields.choice(kind, ("vocabulary", "hashing"), f"{where}.kind")
        allowed = VECTORIZER_FIELDS | ({"n_features"} if kind == "hashing" else set())
        fields.only(block, allowed, allowed - {"sublinear_tf"}, where)
        fields.choice(block["analyzer"], ANALYZERS, f"{where}.analyzer")
        ngrams = block["ngram_range"]
        if not isinstance(ngrams, list) or len(ngrams) != 2:
            fields.fail(f"{where}.ngram_range", "expected [min_n, max_n]")
        low = fields.integer(ngrams[0], 1, MAX_NGRAM, f"{where}.ngram_range[0]")
        fields.integer(ngrams[1], low, MAX_NGRAM, f"{where}.ngram_range[1]")
        for flag in ("lowercase", "binary", "sublinear_tf"):
            if flag in block:
                fields.boolean(block[flag], f"{where}.{flag}")
        fields.choice(block["strip_accents"], ACCENT_OPTIONS, f"{where}.strip_accents")
        fields.choice(block["token_pattern"], TOKEN_PATTERNS, f"{where}.token_pattern")
        fields.choice(block["norm"], NORMS, f"{where}.norm")
        if block["stop_words"] is not None:
            fields.strings(block["stop_words"], f"{where}.stop_words", unique=False, max_items=100_000)
        if kind == "hashing":
            fields.integer(block["n_features"], 1, MAX_HASH_FEATURES, f"{where}.n_features")


def check_vocabularies(spec: dict, vocabularies, file: str) -> None:
    """One list of distinct terms per vocabulary or cue block, None per hashing block."""
    fields = _Fields(file)
    blocks = spec["blocks"]
    if not isinstance(vocabularies, list) or len(vocabularies) != len(blocks):
        fields.fail("(top level)", f"expected a list of {len(blocks)} vocabularies, one per block")
    for i, (block, terms) in enumerate(zip(blocks, vocabularies)):
        if block["kind"] == "hashing":
            if terms is not None:
                fields.fail(f"[{i}]", "a hashing block has no vocabulary (null)")
            continue
        fields.strings(terms, f"[{i}]")
        if block["kind"] == "cues" and len(terms) != len(block["themes"]):
            fields.fail(f"[{i}]", f"expected {len(block['themes'])} cue names, one per cue theme")


def check_weights(spec: dict, vocabularies: list, weights: dict[str, np.ndarray], file: str) -> None:
    """Exactly the arrays the spec implies, float64, finite, of the shapes the blocks give."""
    fields = _Fields(file)
    n_themes = len(spec["themes"])
    widths = [len(terms) if terms is not None else block["n_features"]
              for block, terms in zip(spec["blocks"], vocabularies)]
    expected = {"coef": (sum(widths), n_themes), "intercept": (n_themes,), "scale": (n_themes,),
                "offset": (n_themes,)}
    for i, (block, width) in enumerate(zip(spec["blocks"], widths)):
        if f"idf_{i}" in weights:
            if block["kind"] != "vocabulary":
                fields.fail(f"idf_{i}", f"block {i} ({block['kind']}) has no idf weights")
            expected[f"idf_{i}"] = (width,)
    unknown = sorted(set(weights) - set(expected))
    if unknown:
        fields.fail(unknown[0], "not an array of this format")
    for name, shape in expected.items():
        if name not in weights:
            fields.fail(name, "missing")
        array = weights[name]
        if array.dtype != np.float64 or array.shape != shape:
            fields.fail(name, f"expected float64 of shape {shape}, got {array.dtype} of shape {array.shape}")
        if not np.isfinite(array).all():
            fields.fail(name, "holds a value that is not finite")
    for name in expected:
        if name.startswith("idf_") and (weights[name] <= 0).any():
            fields.fail(name, "holds a value that is not positive")
