"""The vocabulary columns of a batch's n-grams, or their summed weights, found with a few
NumPy calls per batch.

Cutting every n-gram of every sentence into a string and looking each up in a dict costs
about a microsecond an n-gram, and a sentence has hundreds of character n-grams. Two
facts avoid most of that work:

- character n-grams within words (``char_wb``) never cross a space, so a word's columns
  are the same in every sentence; words repeat (Zipf), so ``WordColumns`` cuts and looks
  up each distinct word's n-grams once and keeps them in one flat array, and a batch's
  columns are one gather from it;
- a word n-gram is a tuple of tokens, so ``TokenColumns`` numbers the vocabulary's tokens
  1..T and finds an n-gram by the base-(T+1) number of its tokens' ids: each token is
  looked up once, and the n-grams are arithmetic on arrays.

Where a block's score is a plain sum over its n-gram occurrences (``WordSums``: counts times
weights, L1-normalised or not), a char_wb word's n-grams add up to one row per word, and a
text is the sum of its words' rows: no n-gram is cut or counted after a word's first sight.

With the C kernel, ``WordColumns`` keeps the kernel's WordTable holding its words at their
places, and the kernel reads the flat array itself; ``TokenColumns`` serves the NumPy path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from itertools import chain, repeat

import numpy as np


class _WordCache:
    """Per distinct word, what is made once from the columns of its in-vocabulary n-grams.

    Words are kept until ``limit`` of them are held; the next batch then starts afresh, so
    memory stays bounded by the limit and one batch's words. Threads share the cache: none
    reads while one adds or clears words."""

    def __init__(self, grams_of: Callable[[str], list[str]], vocabulary: dict[str, int], limit: int):
        self._grams_of, self._vocabulary, self._limit = grams_of, vocabulary, limit
        self._index: dict[str, int] = {}
        self._lock = threading.Lock()

    def _ids(self, words: list[str]) -> np.ndarray:
        """The words' places in the cache, learning the new ones (under the lock)."""
        ids = np.fromiter(map(self._index.get, words, repeat(-1)), dtype=np.int64, count=len(words))
        if (ids < 0).any():
            self._learn(words)
            ids = np.fromiter(map(self._index.__getitem__, words), dtype=np.int64, count=len(words))
        return ids

    def _id_list(self, words: list[str]) -> list[int]:
        """``_ids`` as a list, with no NumPy call: for one text."""
        ids = list(map(self._index.get, words))
        if None in ids:
            self._learn(words)
            ids = list(map(self._index.__getitem__, words))
        return ids

    def _learn(self, words: list[str]) -> None:
        """Add the words not held yet; start afresh first if they would pass the limit."""
        index = self._index
        new = [word for word in dict.fromkeys(words) if word not in index]
        if len(index) + len(new) > self._limit and index:
            index.clear()
            self._forget()
            new = list(dict.fromkeys(words))
        get, grams_of = self._vocabulary.get, self._grams_of
        first = len(index)
        self._add(first, new, [[c for c in map(get, grams_of(word)) if c is not None] for word in new])
        index.update(zip(new, range(first, first + len(new))))

    def _forget(self) -> None:
        """Drop what is kept besides the index when the cache starts afresh."""

    def _add(self, first: int, words: list[str], columns: list[list[int]]) -> None:
        """Keep what the words from place ``first`` on are made of, given their columns."""
        raise NotImplementedError


class WordColumns(_WordCache):
    """Per distinct word, the columns of its in-vocabulary n-grams (with repeats), in one flat array.

    ``table``: the C kernel's WordTable, kept holding the same words at the same places, for
    ``add_decisions``; None on the NumPy path."""

    def __init__(self, grams_of: Callable[[str], list[str]], vocabulary: dict[str, int], limit: int,
                 table=None):
        super().__init__(grams_of, vocabulary, limit)
        self._table = table
        self._bounds = np.zeros(1 << 12, dtype=np.int64)  # word i's columns: flat[bounds[i]:bounds[i + 1]]
        self._flat = np.zeros(1 << 16, dtype=np.uint32)  # a vocabulary never has 2**32 terms
        self._views: list[np.ndarray] = []  # word i's columns, for one text at a time

    def columns(self, texts_words: Sequence[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every in-vocabulary n-gram of each text, given the text's words."""
        words = list(chain.from_iterable(texts_words))
        word_rows = np.repeat(np.arange(len(texts_words), dtype=np.uint32),
                              np.fromiter(map(len, texts_words), dtype=np.int64, count=len(texts_words)))
        with self._lock:
            ids = self._ids(words)
            starts = self._bounds[ids]
            lengths = self._bounds[ids + 1] - starts
            # the flat positions of every word's run of columns, word after word
            offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
            return np.repeat(word_rows, lengths), self._flat[offsets]

    def add_decisions(self, texts: list[str], add: Callable) -> None:
        """``add(table, bounds, flat)``, the C kernel's pass over ``texts`` (as the analyzer
        preprocesses them), which adds their decisions, or returns the words the cache lacks
        without adding any: those are learned and the pass made again. Under the lock: a word
        learned meanwhile could rewrite the arrays."""
        with self._lock:
            missing = add(self._table, self._bounds, self._flat)
            if missing is None:
                return
            if len(self._index) + len(missing) > self._limit:  # starting afresh: learn all the texts' words
                missing = [word for text in texts for word in text.split()]
            self._learn(missing)
            if add(self._table, self._bounds, self._flat) is not None:
                raise RuntimeError("the word cache lacks words it has just learned")

    def one(self, words: list[str]) -> np.ndarray:
        """The columns of one text's n-grams, unsorted: the batch path's result for one text,
        with the fewest NumPy calls (each costs microseconds, as much as the arithmetic)."""
        with self._lock:
            ids, views = self._id_list(words), self._views
            return np.concatenate([views[i] for i in ids]) if ids else np.zeros(0, dtype=np.uint32)

    def _forget(self) -> None:
        self._views.clear()
        if self._table is not None:
            self._table.clear()

    def _add(self, first: int, words: list[str], columns: list[list[int]]) -> None:
        if self._table is not None:
            self._table.add(words)
        used = int(self._bounds[first])
        added = np.fromiter(chain.from_iterable(columns), dtype=np.uint32)
        self._flat = _fitted(self._flat, used, used + len(added))
        self._flat[used:used + len(added)] = added
        self._bounds = _fitted(self._bounds, first + 1, first + len(columns) + 1)
        ends = used + np.cumsum([len(c) for c in columns], dtype=np.int64)
        self._bounds[first + 1:first + len(columns) + 1] = ends
        # views into the flat array; one that outlives a growth keeps the old array alive
        flat = self._flat
        self._views.extend(flat[start:end] for start, end in zip(chain([used], ends[:-1].tolist()), ends.tolist()))


class WordSums(_WordCache):
    """Per distinct word, the sum of its in-vocabulary n-grams' weight rows, in one array.

    ``weight_rows(columns)`` gives the rows (one per column, ``width`` values each)."""

    def __init__(self, grams_of: Callable[[str], list[str]], vocabulary: dict[str, int],
                 weight_rows: Callable[[np.ndarray], np.ndarray], width: int, limit: int):
        super().__init__(grams_of, vocabulary, limit)
        self._weight_rows = weight_rows
        self._sums = np.zeros((1 << 12, width))  # word i's summed row: sums[i]

    def sums(self, texts_words: Sequence[list[str]]) -> np.ndarray:
        """The summed rows of each text's words (zeros for a text without words)."""
        with self._lock:
            ids = self._ids(list(chain.from_iterable(texts_words)))  # first: learning may grow the array
            rows = self._sums[ids]
        return run_sums(rows, np.fromiter(map(len, texts_words), dtype=np.int64, count=len(texts_words)))

    def one(self, words: list[str]) -> np.ndarray:
        """The summed rows of one text's words."""
        with self._lock:
            ids = self._id_list(words)
            return self._sums[ids].sum(axis=0)

    def _add(self, first: int, words: list[str], columns: list[list[int]]) -> None:
        lengths = np.fromiter(map(len, columns), dtype=np.int64, count=len(columns))
        flat = np.fromiter(chain.from_iterable(columns), dtype=np.int64, count=int(lengths.sum()))
        self._sums = _fitted(self._sums, first, first + len(columns))
        self._sums[first:first + len(columns)] = run_sums(self._weight_rows(flat), lengths)


def run_sums(rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The sums of consecutive runs of ``rows``, one per length (a run of length 0 sums to zeros)."""
    out = np.zeros((len(lengths), rows.shape[1]))
    some = lengths > 0  # reduceat sums from each start to the next: empty runs are skipped
    if len(rows):
        out[some] = np.add.reduceat(rows, (np.cumsum(lengths) - lengths)[some], axis=0)
    return out


def _fitted(array: np.ndarray, used: int, needed: int) -> np.ndarray:
    """``array``, or a copy of its first ``used`` items with room for ``needed``, growing by doubling."""
    if needed <= len(array):
        return array
    grown = np.zeros((max(2 * len(array), needed), *array.shape[1:]), dtype=array.dtype)
    grown[:used] = array[:used]
    return grown


class TokenColumns:
    """Columns of word n-grams (n >= 1) from token ids; None from ``build`` when the ids of
    the longest n-gram would not fit in 63 bits, or a term is not a plain tuple of tokens."""

    def __init__(self, token_ids: dict[str, int], unigram_columns: np.ndarray, keys: np.ndarray,
                 key_columns: np.ndarray, base: int, ngram_range: tuple[int, int]):
        self._token_ids, self._unigram_columns = token_ids, unigram_columns
        self._keys, self._key_columns, self._base = keys, key_columns, np.uint64(base)
        self._min_n, self._max_n = ngram_range

    @classmethod
    def build(cls, terms: list[str], ngram_range: tuple[int, int]) -> TokenColumns | None:
        min_n, max_n = ngram_range
        lengths = 1 + np.fromiter(map(str.count, terms, repeat(" ")), dtype=np.int64, count=len(terms))
        tokens = " ".join(terms).split(" ")  # every term's tokens, term after term
        if len(terms) and (lengths.min() < min_n or lengths.max() > max_n) or "" in tokens:
            return None  # a token pattern that matches spaces: terms are not token tuples
        token_ids = dict(zip(dict.fromkeys(tokens), range(1, len(tokens) + 1)))  # 0: a token no term has
        base = len(token_ids) + 1
        if base ** max_n >= 2**63:
            return None
        ids = np.fromiter(map(token_ids.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        first = np.cumsum(lengths) - lengths  # each term's first token in ids
        keys = np.zeros(len(terms), dtype=np.uint64)
        for k in range(max_n):  # Horner's rule over each term's tokens, all terms at once
            more = lengths > k
            keys[more] = keys[more] * np.uint64(base) + ids[first[more] + k].astype(np.uint64)
        unigram_columns = np.full(base, -1, dtype=np.int64)
        single = np.flatnonzero(lengths == 1)
        unigram_columns[ids[first[single]]] = single
        longer = np.flatnonzero(lengths > 1)
        order = np.argsort(keys[longer])
        return cls(token_ids, unigram_columns, keys[longer][order], longer[order], base, (min_n, max_n))

    def columns(self, texts_tokens: Sequence[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every in-vocabulary n-gram of each text, given the text's tokens."""
        tokens = list(chain.from_iterable(texts_tokens))
        ids = np.fromiter(map(self._token_ids.get, tokens, repeat(0)), dtype=np.int64, count=len(tokens))
        rows = np.repeat(np.arange(len(texts_tokens), dtype=np.int64),
                         np.fromiter(map(len, texts_tokens), dtype=np.int64, count=len(texts_tokens)))
        found_rows, found_cols = [], []
        if self._min_n == 1:
            cols = self._unigram_columns[ids]
            hit = cols >= 0
            found_rows.append(rows[hit])
            found_cols.append(cols[hit])
        # n-grams of n tokens: the key of the n-gram starting at each position, kept where
        # all n tokens are known and in one text
        keys, known = ids.astype(np.uint64), ids > 0
        for n in range(2, self._max_n + 1):
            if len(ids) < n:
                break
            keys = keys[:-1] * self._base + ids[n - 1:].astype(np.uint64)
            known = known[:-1] & (ids[n - 1:] > 0)
            if n < self._min_n or not len(self._keys):
                continue
            candidates = known & (rows[:len(rows) - n + 1] == rows[n - 1:])  # rows never decrease
            query = keys[candidates]
            at = np.minimum(np.searchsorted(self._keys, query), len(self._keys) - 1)
            hit = self._keys[at] == query
            found_rows.append(rows[:len(rows) - n + 1][candidates][hit])
            found_cols.append(self._key_columns[at[hit]])
        if not found_rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(found_rows), np.concatenate(found_cols)
