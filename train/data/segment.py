"""Split a raw article into body sentences with provenance, dropping page furniture."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from functools import lru_cache

import pysbd

# Lines that web pages add around an article body; matched against a whole sentence.
_FURNITURE = re.compile(
    r"""^(
        home\s*».*                        # breadcrumb
      | by\s+\S+.{0,40}                   # byline
      | \d+\s+comments?                   # comment counter
      | (increase|decrease|reset)\s+font\s+size.*
      | you\s+may\s+also\s+like
      | similar\s+posts | latest\s+articles | blogs | banner
      | read\s+more:.*
      | .*all\s+rights\s+reserved\.?
      | ©.*
      | \d+\s+minutes?,?\s*(\d+\s+seconds?\s+)?read
      | the\s+writer\s+is\s+.*
      | he\s+can\s+be\s+reached\s+at.* | she\s+can\s+be\s+reached\s+at.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_TERMINAL = re.compile(r"""[.!?]["'’”`)\]]*$""")
_WHITESPACE = re.compile(r"\s+")
# A paragraph that is one capital letter is a drop cap split off its first word.
_DROP_CAP = re.compile(r"(?m)^([A-Z])\n\s*\n(?=[a-z])")
MIN_WORDS = 6


@dataclass(frozen=True)
class Sentence:
    id: str
    doc_id: str
    index: int
    start: int
    end: int
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


def sentence_id(doc_id: str, text: str) -> str:
    """Stable id from the document and the sentence text, not from its position."""
    digest = hashlib.sha1(f"{doc_id}\n{text}".encode()).hexdigest()[:10]
    return f"seed-{doc_id.split('_')[0]}-{digest}"


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def is_body(text: str, paragraph_sentences: int) -> bool:
    """Body copy: a full sentence, or part of a multi-sentence paragraph; not furniture."""
    if _FURNITURE.match(text) or len(text.split()) < MIN_WORDS:
        return False
    return bool(_TERMINAL.search(text)) or paragraph_sentences > 1


def segment(doc_id: str, raw: str) -> list[Sentence]:
    """Body sentences of one article, each with its character span in ``raw``.

    ``text`` is the span with whitespace collapsed (and a split-off drop cap rejoined),
    so ``raw[start:end]`` is the exact source of each sentence.
    """
    # A drop cap ("I\n\nslamabad is ...") is joined with blanks of equal length, so spans stay true.
    joined = _DROP_CAP.sub(lambda m: m.group(1) + "\0" * (len(m.group(0)) - 1), raw)
    sentences: list[Sentence] = []
    for para_start, paragraph in _paragraphs(joined):
        spans = _segmenter().segment(paragraph)
        for span in spans:
            text = _WHITESPACE.sub(" ", span.sent.replace("\0", "")).strip()
            if not is_body(text, len(spans)):
                continue
            lead = len(span.sent) - len(span.sent.lstrip())
            start = para_start + span.start + lead
            end = para_start + span.start + len(span.sent.rstrip())
            sentences.append(
                Sentence(sentence_id(doc_id, text), doc_id, len(sentences), start, end, text)
            )
    return sentences


def _paragraphs(text: str):
    """(offset, paragraph) for each block between blank lines or line breaks."""
    for match in re.finditer(r"[^\n]+", text):
        yield match.start(), match.group(0)


def sentences_in(paragraph: str) -> list[str]:
    """The sentences of one paragraph, whitespace collapsed, with no filtering."""
    texts = (_WHITESPACE.sub(" ", span.sent).strip() for span in _segmenter().segment(paragraph))
    return [text for text in texts if text]
