"""Text to n-grams exactly as scikit-learn's TfidfVectorizer does it, with the standard library only.

The exported predictor uses these so that it never needs scikit-learn at run time; a test
checks that they give the same n-grams as the vectorizers they stand in for.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import partial

from train.runtime.normalise import normalise_text

_WHITE_SPACES = re.compile(r"\s\s+")


def _strip_accents_unicode(text: str) -> str:
    if text.isascii():
        return text
    normalized = unicodedata.normalize("NFKD", text)
    return "".join(c for c in normalized if not unicodedata.combining(c))


def _strip_accents_ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ASCII", "ignore").decode("ASCII")


_ACCENT_STRIPPERS = {None: None, "unicode": _strip_accents_unicode, "ascii": _strip_accents_ascii}

DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's: runs of two or more word characters
# The token patterns a model may use: a model file names one of these, never its own regular
# expression, which could take unbounded time on a crafted sentence.
TOKEN_PATTERNS = (DEFAULT_TOKEN_PATTERN, r"(?u)\b\w+\b")
_ASCII_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_ASCII_NON_WORD_TO_SPACE = bytes(b if b in _ASCII_WORD else 32 for b in range(256))


def _default_tokens(text: str, findall: Callable[[str], list[str]]) -> list[str]:
    """The default pattern's tokens. In ASCII text, \\w is [A-Za-z0-9_]: blanking every other
    byte and splitting gives the same runs as the regular expression, twice as fast."""
    if text.isascii():
        return [t for t in text.encode().translate(_ASCII_NON_WORD_TO_SPACE).decode().split() if len(t) > 1]
    return findall(text)


def _word_ngrams(tokens: list[str], min_n: int, max_n: int) -> list[str]:
    grams = tokens if min_n == 1 else []  # the tokens' own list: it grows past count
    count = len(tokens)
    for n in range(max(min_n, 2), min(max_n, count) + 1):
        # the n-grams starting at each position: n shifted slices zipped, joined in C
        grams.extend(map(" ".join, zip(*(tokens[k:count] for k in range(n)))))
    return grams


def char_wb_word_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """The char_wb n-grams of one whitespace-free word, padded with a space on each side."""
    word = f" {word} "
    length = len(word)
    grams = []
    for n in range(min_n, max_n + 1):
        if length <= n:  # a short word counts once, whole
            grams.append(word)
            break
        grams.extend(word[i : i + n] for i in range(length - n + 1))
    return grams


def _char_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    text = _WHITE_SPACES.sub(" ", text)
    return [text[i : i + n] for n in range(min_n, max_n + 1) for i in range(len(text) - n + 1)]


def build_units(
    analyzer: str,
    lowercase: bool = True,
    strip_accents: str | None = None,
    token_pattern: str = DEFAULT_TOKEN_PATTERN,
    stop_words: list[str] | None = None,
    normalise: bool = False,
) -> Callable[[str], list[str]]:
    """A function from text to what its n-grams are cut from: the tokens of a word analyzer,
    stop words removed, or the white-space separated words of a char_wb analyzer."""
    preprocess = build_preprocessor(lowercase, strip_accents, normalise)
    if analyzer == "char_wb":
        # str.split() splits on runs of any white space, as sklearn's collapse-then-split does
        return str.split if preprocess is None else lambda text: preprocess(text).split()
    if analyzer != "word":
        raise ValueError(f"analyzer {analyzer!r} has no units; use word or char_wb")
    pattern = re.compile(token_pattern)
    if pattern.groups > 1:
        raise ValueError("token_pattern may have at most one capturing group")
    findall, stop = pattern.findall, frozenset(stop_words or ())
    if token_pattern == DEFAULT_TOKEN_PATTERN:
        findall = partial(_default_tokens, findall=findall)
    if stop:
        return lambda text: [t for t in findall(preprocess(text) if preprocess else text) if t not in stop]
    return findall if preprocess is None else lambda text: findall(preprocess(text))


def build_analyzer(analyzer: str, ngram_range: tuple[int, int] | list[int], **settings) -> Callable[[str], list[str]]:
    """A function from text to its n-grams, for the settings of a fitted vectorizer
    (``settings``: those of ``build_units``)."""
    min_n, max_n = ngram_range
    # Closures specialised to the settings: this runs once per sentence on the predictor's hot path.
    if analyzer == "char":
        preprocess = build_preprocessor(settings.get("lowercase", True), settings.get("strip_accents"),
                                        settings.get("normalise", False))
        if preprocess is None:
            return partial(_char_ngrams, min_n=min_n, max_n=max_n)
        return lambda text: _char_ngrams(preprocess(text), min_n, max_n)
    if analyzer not in ("word", "char_wb"):
        raise ValueError(f"unsupported analyzer {analyzer!r}; use word, char_wb or char")
    units = build_units(analyzer, **settings)
    if analyzer == "char_wb":
        return lambda text: [gram for word in units(text) for gram in char_wb_word_ngrams(word, min_n, max_n)]
    if (min_n, max_n) == (1, 1):
        return units
    return lambda text: _word_ngrams(units(text), min_n, max_n)


def build_preprocessor(lowercase: bool = True, strip_accents: str | None = None,
                       normalise: bool = False) -> Callable[[str], str] | None:
    """Text as the vectorizer sees it before cutting n-grams (None: unchanged)."""
    steps = [step for step in (normalise_text if normalise else None, str.lower if lowercase else None,
                               _ACCENT_STRIPPERS[strip_accents]) if step is not None]
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]
    if len(steps) == 2:
        first, second = steps
        return lambda text: second(first(text))
    first, second, third = steps
    return lambda text: third(second(first(text)))
