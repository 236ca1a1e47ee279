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


def _word_ngrams(tokens: list[str], min_n: int, max_n: int) -> list[str]:
    grams = tokens if min_n == 1 else []
    count = len(tokens)
    for n in range(max(min_n, 2), min(max_n, count) + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(count - n + 1))
    return grams


def _char_wb_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    grams = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        word = f" {word} "
        length = len(word)
        for n in range(min_n, max_n + 1):
            if length <= n:  # a short word counts once, whole
                grams.append(word)
                break
            grams.extend(word[i : i + n] for i in range(length - n + 1))
    return grams


def _char_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    text = _WHITE_SPACES.sub(" ", text)
    return [text[i : i + n] for n in range(min_n, max_n + 1) for i in range(len(text) - n + 1)]


def build_analyzer(
    analyzer: str,
    ngram_range: tuple[int, int] | list[int],
    lowercase: bool = True,
    strip_accents: str | None = None,
    token_pattern: str = r"(?u)\b\w\w+\b",
    stop_words: list[str] | None = None,
    normalise: bool = False,
) -> Callable[[str], list[str]]:
    """A function from text to its n-grams, for the settings of a fitted vectorizer."""
    min_n, max_n = ngram_range
    # Closures specialised to the settings: this runs once per sentence on the predictor's hot path.
    if analyzer == "word":
        pattern = re.compile(token_pattern)
        if pattern.groups > 1:
            raise ValueError("token_pattern may have at most one capturing group")
        findall, stop = pattern.findall, frozenset(stop_words or ())
        if stop:
            def grams(text: str) -> list[str]:
                return _word_ngrams([t for t in findall(text) if t not in stop], min_n, max_n)
        elif (min_n, max_n) == (1, 1):
            grams = findall
        else:
            def grams(text: str) -> list[str]:
                return _word_ngrams(findall(text), min_n, max_n)
    elif analyzer == "char_wb":
        grams = partial(_char_wb_ngrams, min_n=min_n, max_n=max_n)
    elif analyzer == "char":
        grams = partial(_char_ngrams, min_n=min_n, max_n=max_n)
    else:
        raise ValueError(f"unsupported analyzer {analyzer!r}; use word, char_wb or char")
    strip = _ACCENT_STRIPPERS[strip_accents]

    if lowercase and strip is not None:
        def analyze(text: str) -> list[str]:
            return grams(strip(text.lower()))
    elif lowercase:
        def analyze(text: str) -> list[str]:
            return grams(text.lower())
    elif strip is not None:
        def analyze(text: str) -> list[str]:
            return grams(strip(text))
    else:
        analyze = grams
    if normalise:
        inner = analyze

        def analyze(text: str) -> list[str]:
            return inner(normalise_text(text))

    return analyze
