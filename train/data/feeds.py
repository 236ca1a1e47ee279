"""Sentences from an analyst's own files, each with the file and line it came from.

Text files hold a sentence or a paragraph a line; JSON Lines a ``text`` field a line;
Parquet a ``text`` column; HTML an article, read from its paragraphs, headings and list items.
Every text is split into sentences with the project's segmenter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from train.data.corpus import normalise
from train.data.jsonl import iter_jsonl
from train.data.segment import is_body, sentences_in
from train.runtime.errors import DataError

MIN_WORDS = 4  # shorter lines are headlines, datelines or captions, not sentences to label
HTML_SUFFIXES = {".html", ".htm"}


@dataclass(frozen=True)
class FeedSentence:
    id: str  # from the normalised text: the same sentence has the same id in every file
    text: str
    file: str
    line: int


def sentence_key(text: str) -> str:
    return "reviewed-" + hashlib.sha1(normalise(text).encode()).hexdigest()[:12]


def read_feeds(paths: list[Path]) -> list[FeedSentence]:
    """Every sentence of ``paths`` in file and reading order, repeats of a sentence left out."""
    seen: set[str] = set()
    sentences = []
    for path in paths:
        if not path.is_file():
            raise DataError(f"{path}: no such file; give text, JSONL, Parquet or HTML files")
        for line, text, article in _texts(path):
            parts = sentences_in(text)
            for part in parts:
                key = sentence_key(part)
                keep = is_body(part, len(parts)) if article else len(part.split()) >= MIN_WORDS
                if keep and key not in seen and normalise(part):
                    seen.add(key)
                    sentences.append(FeedSentence(key, part, str(path), line))
    return sentences


def _texts(path: Path):
    """(line, text, is_article) per text of one file."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        for line, row in iter_jsonl(path):
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise DataError(f"{path}:{line}: expected an object with a 'text' string")
            yield line, row["text"], False
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            column = pq.read_table(path, columns=["text"]).column("text").to_pylist()
        except (KeyError, ValueError) as err:  # pyarrow reports a missing column as either
            raise DataError(f"{path}: no 'text' column ({err}); name the sentence column 'text'") from None
        for row, text in enumerate(column, start=1):
            if text is not None:
                yield row, str(text), False
    elif suffix in HTML_SUFFIXES:
        parser = _Paragraphs()
        parser.feed(_read_text(path))
        parser.close()
        for line, text in parser.paragraphs:
            yield line, text, True
    else:
        for line, text in enumerate(_read_text(path).splitlines(), start=1):
            if text.strip():
                yield line, text, False


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; save the file as UTF-8") from None


class _Paragraphs(HTMLParser):
    """The text of an article's blocks with the line each starts on; scripts and navigation skipped."""

    BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "td", "figcaption"}
    SKIPPED = {"script", "style", "nav", "header", "footer", "aside", "form", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[tuple[int, str]] = []
        self._skipping = 0
        self._parts: list[str] = []
        self._line = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self._skipping += 1
        elif tag in self.BLOCKS:
            self._flush()
            self._line = self.getpos()[0]
        elif tag == "br":
            self._parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data):
        if not self._skipping:
            if not self._parts:
                self._line = self._line or self.getpos()[0]
            self._parts.append(data)

    def close(self):
        super().close()
        self._flush()

    def _flush(self):
        text = " ".join("".join(self._parts).split())
        if text:
            self.paragraphs.append((self._line, text))
        self._parts, self._line = [], 0
