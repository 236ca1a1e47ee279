"""The exported theme classifier: load it and label sentences, with NumPy, the standard library, the
C kernel where it is built (``train.runtime.kernel``), and pyahocorasick for cue features or mmh3
for hashed ones.

    from train import Predictor
    predictor = Predictor.load("models/theme-classifier")
    predictor.predict(["Tariffs on steel rose."])        # [["trade"]]
    predictor.predict_proba("Tariffs on steel rose.")    # {"aviation": 0.01, ...}

The model directory holds plain JSON and NumPy arrays (read with ``allow_pickle=False``),
so loading it can never run code; every file is checked against its SHA-256 in the manifest.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from functools import cached_property
from itertools import chain, compress, repeat
from pathlib import Path

import numpy as np

from train.runtime.analyzers import (TOKEN_PATTERNS, build_analyzer, build_preprocessor, build_units,
                                     char_wb_word_ngrams)
from train.runtime.cues import Cues
from train.runtime.errors import ModelFileError
from train.runtime.gram_columns import TokenColumns, WordColumns, WordSums, run_sums
from train.runtime.kernel import tfidf as kernel  # None where it was not built: the NumPy path
from train.runtime.model_folder import read_model_folder
from train.runtime.normalise import NORMALISATION, normalise_text

URI_SCHEMES = "theme_classifier.model_uris"  # entry points: URI scheme -> function(uri) -> local folder
BATCH_CHUNK = 4096  # sentences vectorised together
PARALLEL_MIN = 20_000  # below this, starting work in other processes costs more than it saves
TERM_CACHE = 1_000_000  # hashed and large models: terms whose weights are kept at hand
WORD_CACHE = 200_000  # char_wb blocks: words whose n-gram columns are kept at hand
# What a model says of itself: its export, MLflow run, registered version and training data.
INFO_FIELDS = ("name", "created", "run_id", "model_version", "versions", "data_fingerprint", "normalisation")


class _Block:
    """One vectorizer: its analyzer, how an n-gram finds its column, its weighting and weights."""

    def __init__(self, spec: dict, terms: list[str] | None, idf: np.ndarray | None, coef: np.ndarray,
                 normalise: bool):
        settings = dict(lowercase=spec["lowercase"], strip_accents=spec["strip_accents"],
                        token_pattern=spec["token_pattern"], stop_words=spec["stop_words"], normalise=normalise)
        self.analyze = build_analyzer(spec["analyzer"], spec["ngram_range"], **settings)
        self.binary, self.norm = spec["binary"], spec["norm"]
        self.sublinear_tf = spec.get("sublinear_tf", False) and not self.binary
        self.idf, self.coef = idf, coef  # coef: this block's rows of the weight matrix
        self.hashed = spec.get("kind", "vocabulary") != "vocabulary"
        if not self.hashed:
            self._terms, self.width = terms, len(terms)
        else:
            import mmh3  # only hashed models need it

            self.width, self._hash = spec["n_features"], mmh3.hash
        if self.width != len(coef):
            raise ModelFileError(f"{len(coef)} weight rows for a block of {self.width} features")
        # Counts times weights, L1-normalised or not: a text's score is a sum over its n-gram
        # occurrences, with no counting of distinct n-grams (for char_wb, a sum over its words).
        self.additive = not self.binary and not self.sublinear_tf and self.norm in (None, "l1")
        # Vocabulary blocks of words or char_wb n-grams find a batch's columns (or, additive
        # char_wb, its words' sums) with array arithmetic (gram_columns); hashed and char blocks
        # cut and look up every n-gram.
        self._units, self._columns, self._token_terms, self._word_sums = None, None, None, None
        if not self.hashed and spec["analyzer"] in ("word", "char_wb"):
            min_n, max_n = spec["ngram_range"]
            grams_of = lambda word: char_wb_word_ngrams(word, min_n, max_n)  # noqa: E731
            if spec["analyzer"] == "char_wb" and self.additive and kernel is None:  # the kernel counts as fast
                self._word_sums = WordSums(grams_of, self.vocabulary, self._weight_rows, 1 + coef.shape[1], WORD_CACHE)
            elif spec["analyzer"] == "char_wb":
                self._columns = WordColumns(grams_of, self.vocabulary, WORD_CACHE,
                                            kernel.WordTable() if kernel is not None else None)
            else:  # built at the first batch: a predictor that scores sentences one at a time never needs it
                self._token_terms = terms, (min_n, max_n)
            self._units = build_units(spec["analyzer"], **settings)
        self._char_wb = isinstance(self._columns, WordColumns)
        # The C kernel, where it is built: it counts, weighs and multiplies in one pass, and a
        # word vocabulary finds its n-grams from their tokens (TermTable), not TokenColumns.
        self._kernel, self._term_table = kernel, None
        if kernel is not None:
            # Each column's idf (or 1) and coef row side by side, as the kernel reads them: for one
            # sentence, out of cache, that is one memory fetch an n-gram rather than two. idf and
            # coef become views of it, so the weights are held once.
            rows = np.empty((len(coef), 1 + coef.shape[1]))
            rows[:, 0], rows[:, 1:] = (1.0 if idf is None else idf), coef
            self.coef, self.idf = rows[:, 1:], (None if idf is None else rows[:, 0])
            self._weighting = (rows, self.sublinear_tf, self.binary, {None: 0, "l1": 1, "l2": 2}[self.norm])
            self._preprocess = build_preprocessor(spec["lowercase"], spec["strip_accents"], normalise) or str
            if self._token_terms is not None:
                self._term_table, self._token_terms = kernel.TermTable(terms), None
                self._ngram_range = tuple(spec["ngram_range"])
                # The kernel finds the tokens of the two token patterns itself; stop words take
                # the tokens from Python.
                self._shortest_token = None if spec["stop_words"] else \
                    dict(zip(TOKEN_PATTERNS, (2, 1))).get(spec["token_pattern"])
        # One text: a kernel block adds its share to the caller's array (add_one), the others
        # return theirs (decision_of_one).
        self.add_one = self._one_text_in_c() if kernel is not None else None
        self.decision_of_one = self._one_text_decision() if kernel is None else None

    @cached_property
    def vocabulary(self) -> dict[str, int]:
        """Term -> column. Made at first use: with the C kernel a word block scores without it,
        and for a large vocabulary the dict is much of the load time and memory."""
        return dict(zip(self._terms, range(len(self._terms))))

    def column_of(self, gram: str) -> int | None:
        if not self.hashed:
            return self.vocabulary.get(gram)
        return abs(self._hash(gram)) % self.width

    def features(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value) of the non-zero features of each text, columns within this block."""
        return self._weighted(*self._occurrences(texts), len(texts))

    def decisions(self, texts: Sequence[str]) -> np.ndarray:
        """This block's share of each theme's log-odds, per text (rows) and theme (columns)."""
        if self._word_sums is not None:
            return self._normalised(self._word_sums.sums([self._units(text) for text in texts]))
        if self._kernel is not None:
            return self._kernel_decisions(texts)
        rows, cols = self._occurrences(texts)
        if self.additive:  # each occurrence adds its column's weight row
            weights = self._weight_rows(cols)
            sums = np.column_stack([np.bincount(rows, weights=w, minlength=len(texts)) for w in weights.T])
            return self._normalised(sums)
        rows, cols, values = self._weighted(rows, cols, len(texts))
        contributions = np.take(self.coef, cols, axis=0)
        contributions *= values[:, None]
        return _row_sums(rows, contributions, len(texts))

    def _kernel_decisions(self, texts: Sequence[str]) -> np.ndarray:
        """``decisions`` by the C kernel."""
        out = np.zeros((len(texts), self.coef.shape[1]))
        kernel, weighting = self._kernel, self._weighting
        if self._term_table is not None and self._shortest_token is not None:
            kernel.add_text_decisions(self._term_table, list(map(self._preprocess, texts)), self._shortest_token,
                                      self._ngram_range, *weighting, out)
        elif self._term_table is not None:  # stop words: the tokens from Python
            texts_tokens = [self._units(text) for text in texts]
            per_text = np.fromiter(map(len, texts_tokens), dtype=np.int64, count=len(texts_tokens))
            kernel.add_token_decisions(self._term_table, list(chain.from_iterable(texts_tokens)), per_text,
                                       self._ngram_range, *weighting, out)
        elif self._char_wb:
            prepared = list(map(self._preprocess, texts))
            self._columns.add_decisions(prepared, lambda table, bounds, flat: kernel.add_word_run_decisions(
                table, prepared, bounds, flat, *weighting, out))
        else:
            kernel.add_decisions(*self._occurrences(texts), *weighting, out)
        return out

    def _weight_rows(self, cols: np.ndarray) -> np.ndarray:
        """Per column of an additive block: (b, b * coef...), b its idf (or 1), what one occurrence adds."""
        mass = self.idf[cols] if self.idf is not None else np.ones(len(cols))
        return np.column_stack([mass, np.take(self.coef, cols, axis=0) * mass[:, None]])

    def _normalised(self, sums: np.ndarray) -> np.ndarray:
        """Summed weight rows (mass, theme sums) as log-odds shares: over the mass for L1."""
        if self.norm is None:
            return sums[:, 1:]
        mass = sums[:, :1]
        return sums[:, 1:] / np.where(mass > 0, mass, 1.0)

    def _occurrences(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every in-vocabulary n-gram occurrence of each text."""
        pending = self._token_terms
        if pending is not None:
            # A thread that comes while another builds them takes the dictionary path below,
            # which gives the same answers.
            self._token_terms = None
            self._columns = TokenColumns.build(*pending)
        if self._columns is not None:
            return self._columns.columns([self._units(text) for text in texts])
        grams = [self.analyze(text) for text in texts]
        flat = list(chain.from_iterable(grams))
        rows = np.repeat(np.arange(len(texts)), np.fromiter(map(len, grams), dtype=np.int64, count=len(grams)))
        if not self.hashed:
            cols = np.fromiter(map(self.vocabulary.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
            return rows[cols >= 0], cols[cols >= 0]
        # sklearn's unsigned feature hashing: |murmurhash3_32(gram, seed 0)| mod width
        return rows, np.abs(np.fromiter(map(self._hash, flat), dtype=np.int64, count=len(flat))) % self.width

    def _weighted(self, rows: np.ndarray, cols: np.ndarray, n_texts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Counts of (row, column) occurrences turned into tf-idf values, normalised per row."""
        keys, counts = self._counted(rows, cols, n_texts)
        rows, cols = np.divmod(keys, self.width)
        return rows, cols, self._values(counts, cols, rows, n_texts)

    def _counted(self, rows: np.ndarray, cols: np.ndarray, n_texts: int) -> tuple[np.ndarray, np.ndarray]:
        """The distinct keys row * width + column, sorted, and how often each occurs. A sort
        and a diff rather than np.unique; on 32-bit keys when they fit, which sort about twice
        as fast as 64-bit ones. The keys come as runs, one per text: a stable sort (timsort)
        merges runs and takes about two thirds of the time of the default one."""
        dtype = np.uint32 if n_texts * self.width < 2**32 else np.int64
        keys = rows.astype(dtype) * dtype(self.width) + cols.astype(dtype)
        keys.sort(kind="stable")
        return _distinct(keys) if len(keys) else (keys, np.zeros(0, dtype=np.int64))

    def _values(self, counts: np.ndarray, cols: np.ndarray, rows: np.ndarray, n_texts: int) -> np.ndarray:
        """Counts of distinct n-grams as tf-idf values, normalised per row."""
        values = np.ones(len(counts)) if self.binary else counts.astype(np.float64)
        if self.sublinear_tf:
            values = 1.0 + np.log(values)
        if self.idf is not None:
            values = values * self.idf[cols]
        if self.norm is not None:
            squares = values * values if self.norm == "l2" else np.abs(values)
            totals = np.bincount(rows, weights=squares, minlength=n_texts)
            totals = np.sqrt(totals) if self.norm == "l2" else totals
            totals[totals == 0] = 1.0
            values = values / totals[rows]
        return values

    def _one_text_values(self, counts: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, float]:
        """``_values`` for one text, unnormalised, and the norm to divide by (1.0: none)."""
        if self.binary:
            values = self.idf.take(cols) if self.idf is not None else np.ones(len(cols))
        else:
            values = np.log(counts) + 1.0 if self.sublinear_tf else counts.astype(np.float64)
            if self.idf is not None:
                values *= self.idf.take(cols)
        total = math.sqrt(np.dot(values, values)) if self.norm == "l2" else \
            float(np.abs(values).sum()) if self.norm == "l1" else 1.0
        return values, total or 1.0

    def _term_rows(self) -> tuple[dict[str, tuple[float, ...]], set[str] | None]:
        """Per term, (n, b*coef...) with b its weight (idf, or 1) and n what it adds to the norm
        (b*b for l2, b for l1); and, for hashed models, the terms met so far that share a
        column with another (None: terms never share a row).

        Rows are made as terms come, up to TERM_CACHE terms (out-of-vocabulary ones as None),
        not at load: building a row per term costs a model of 100,000 terms 0.1 s at load, more
        than a fresh process takes to label its first sentences without them. Hashed models
        keep one tuple per column, shared by colliding terms."""
        l2 = self.norm == "l2"
        if not self.hashed:
            base = self.idf if self.idf is not None else np.ones(self.width)
            vocabulary, weighted, norm_part = self.vocabulary, self.coef, base * base if l2 else base

            class LazyRows(dict):
                def __missing__(self, term: str) -> tuple[float, ...] | None:
                    column = vocabulary.get(term)
                    row = None if column is None else (float(norm_part[column]),
                                                       *(weighted[column] * base[column]).tolist())
                    if len(self) < TERM_CACHE:
                        self[term] = row
                    return row

            return LazyRows(), None
        by_column: dict[int, tuple[float, ...]] = {}
        hash_, width, coef = self._hash, self.width, self.coef
        colliding: set[str] = set()
        owner: dict[int, str] = {}  # the first term met in each column

        class Rows(dict):
            def __missing__(self, term: str) -> tuple[float, ...]:
                column = abs(hash_(term)) % width
                row = by_column.get(column)
                if row is None:
                    row = by_column[column] = (1.0, *coef[column].tolist())
                if len(self) < TERM_CACHE:
                    first = owner.setdefault(column, term)
                    if first != term:
                        colliding.update((first, term))
                    self[term] = row
                return row

        return Rows(), colliding

    def _one_text_decision(self) -> Callable[[str], list[float] | None]:
        """``decision_of_one`` on the NumPy path: this block's share of each theme's log-odds for
        one text (None: no feature present).

        Plain Python over the term rows: for one short sentence of words NumPy's per-call
        cost outweighs the arithmetic. Character n-grams are ten times as many: there the
        word cache and a few NumPy calls win."""
        l1 = self.norm == "l1"

        def shares(sums: list[float]) -> list[float] | None:
            """An additive block's summed row (mass, theme sums...) as log-odds shares."""
            if not sums or not sums[0]:  # no n-gram in the vocabulary
                return None
            scale = sums[0] if l1 else 1.0
            return [x / scale for x in sums[1:]]

        if self._word_sums is not None:
            sums_of, units = self._word_sums.one, self._units
            return lambda text: shares(sums_of(units(text)).tolist())
        if self._char_wb:
            coef, columns_of, units, values_of = self.coef, self._columns.one, self._units, self._one_text_values

            def cached(text: str) -> list[float] | None:
                cols = columns_of(units(text))
                if not len(cols):
                    return None
                cols.sort()
                cols, counts = _distinct(cols)
                values, total = values_of(counts, cols)
                return [x / total for x in np.dot(values, coef.take(cols, axis=0)).tolist()]

            return cached
        rows, colliding = self._term_rows()
        shared = colliding is not None
        get = rows.__getitem__  # a term of no column: None
        analyze, binary, sublinear, norm, l2 = self.analyze, self.binary, self.sublinear_tf, self.norm, self.norm == "l2"

        if self.additive:  # each occurrence adds its row
            return lambda text: shares([sum(column) for column in zip(*(r for r in map(get, analyze(text)) if r))])

        def one(text: str) -> list[float] | None:
            grams = analyze(text)
            counts = Counter(grams)
            found = [r for r in map(get, counts) if r]  # as if each n-gram occurred once
            if not found:
                return None
            maybe_collides = shared and (len(rows) >= TERM_CACHE or not colliding.isdisjoint(counts))
            if maybe_collides and len(set(map(id, found))) < len(found):
                # two of the sentence's terms hash to one column: count them together, as sklearn does
                _, cols, values = self.features([text])
                return (values @ self.coef[cols]).tolist()
            sums = [sum(column) for column in zip(*found)]
            if not binary and len(counts) < len(grams):  # correct for the n-grams seen more than once
                for term, count in counts.items():
                    if count > 1 and (r := get(term)):
                        f = 1.0 + math.log(count) if sublinear else float(count)
                        sums = [x + (f - 1.0) * y for x, y in zip(sums, r)]
                        if l2:
                            sums[0] += (f * f - f) * r[0]  # squares scale by f*f, not f
            scale = math.sqrt(sums[0]) if l2 else sums[0] if norm == "l1" else 1.0
            return [x / scale for x in sums[1:]]

        return one

    def _one_text_in_c(self) -> Callable[[str, np.ndarray], None]:
        """``add_one``: add this block's share for one text to ``out`` (1 x themes), by the C kernel."""
        kernel, weighting, units = self._kernel, self._weighting, self._units
        if self._term_table is not None and self._shortest_token is not None:
            add_texts, table, ngram_range = kernel.add_text_decisions, self._term_table, self._ngram_range
            preprocess, shortest = self._preprocess, self._shortest_token
            return lambda text, out: add_texts(table, [preprocess(text)], shortest, ngram_range, *weighting, out)
        if self._term_table is not None:
            add_tokens, table, ngram_range = kernel.add_token_decisions, self._term_table, self._ngram_range
            return lambda text, out: add_tokens(table, units(text), None, ngram_range, *weighting, out)
        if self._char_wb:
            add_runs, add_decisions, preprocess = kernel.add_word_run_decisions, self._columns.add_decisions, \
                self._preprocess

            def add_words(text: str, out: np.ndarray) -> None:
                prepared = [preprocess(text)]
                add_decisions(prepared, lambda table, bounds, flat: add_runs(table, prepared, bounds, flat, *weighting,
                                                                             out))

            return add_words
        # the text's columns (-1: none) in one array
        add, analyze, width = kernel.add_decisions, self.analyze, self.width
        if not self.hashed:
            column_of = self.vocabulary.get
        else:
            hash_ = self._hash
            column_of = lambda gram, _: abs(hash_(gram)) % width  # noqa: E731

        def add_grams(text: str, out: np.ndarray) -> None:
            grams = analyze(text)
            add(None, np.fromiter(map(column_of, grams, repeat(-1)), dtype=np.int64, count=len(grams)), *weighting, out)

        return add_grams


class _CueBlock:
    """The cue features: ``weight`` in a theme's column when the text has one of its guideline cues."""

    add_one = None  # one text: decision_of_one

    def __init__(self, spec: dict, terms: list[str], idf: None, coef: np.ndarray, normalise: bool):
        self._cues = Cues(spec["themes"], spec["cue_set"])
        self.terms, self.coef, self.width = terms, coef, len(terms)
        self.weight = float(spec["weight"])
        if self.width != len(coef) or self.width != len(spec["themes"]):
            raise ModelFileError(f"{len(coef)} weight rows for {len(spec['themes'])} cue features")
        self._prepare = normalise_text if normalise else str
        self._weighted_coef = (coef * self.weight).tolist()

    def analyze(self, text: str) -> list[str]:
        return [self.terms[i] for i in self._cues.hits(self._prepare(text))]

    def column_of(self, name: str) -> int | None:
        return self.terms.index(name) if name in self.terms else None

    def features(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        hits = self._cues.hits_many([self._prepare(text) for text in texts])
        rows = np.repeat(np.arange(len(texts)), [len(h) for h in hits])
        cols = np.fromiter(chain.from_iterable(hits), dtype=np.int64, count=len(rows))
        return rows, cols, np.full(len(rows), self.weight)

    def decisions(self, texts: Sequence[str]) -> np.ndarray:
        rows, cols, values = self.features(texts)
        return _row_sums(rows, np.take(self.coef, cols, axis=0) * values[:, None], len(texts))

    def decision_of_one(self, text: str) -> list[float] | None:
        hits = self._cues.hits(self._prepare(text))
        if not hits:
            return None
        return [sum(column) for column in zip(*(self._weighted_coef[i] for i in hits))]


class Predictor:
    """Scores English sentences for each theme and labels them with the themes over threshold."""

    def __init__(self, spec: dict, vocabularies: list[list[str] | None], weights: dict[str, np.ndarray],
                 n_jobs: int = 1):
        self.n_jobs = n_jobs  # processes for batches of PARALLEL_MIN sentences or more
        self._pool = None  # a ProcessPoolExecutor, at the first batch that uses it
        self.themes: tuple[str, ...] = tuple(spec["themes"])
        self.thresholds: dict[str, float] = dict(zip(self.themes, map(float, spec["thresholds"])))
        self.info: dict = {k: spec[k] for k in INFO_FIELDS if k in spec}
        normalisation = spec.get("normalisation")
        if normalisation not in (None, NORMALISATION):
            raise ModelFileError(f"text normalisation {normalisation!r} is unknown to this version; re-export the model")
        coef = weights["coef"]
        if coef.ndim != 2 or coef.shape[1] != len(self.themes):
            raise ModelFileError(f"weights of shape {coef.shape} do not fit {len(self.themes)} themes")
        self._intercept, self._scale, self._offset = weights["intercept"], weights["scale"], weights["offset"]
        self._blocks: list[_Block | _CueBlock] = []
        start = 0
        for i, (block, terms) in enumerate(zip(spec["blocks"], vocabularies)):
            width = len(terms) if terms is not None else block["n_features"]
            kind = _CueBlock if block.get("kind") == "cues" else _Block
            self._blocks.append(kind(block, terms, weights.get(f"idf_{i}"), coef[start:start + width],
                                     normalisation is not None))
            start += width
        if start != len(coef):
            raise ModelFileError(f"{len(coef)} weight rows for {start} features")
        self._score_one = self._one_text_scorer()

    @classmethod
    def load(cls, path: str | Path, n_jobs: int = 1, key: str | bytes | None = None) -> Predictor:
        """Load an exported model directory, or ``models:/<name>@<alias>`` from the MLflow registry.

        ``n_jobs`` > 1 scores large batches in that many forked worker processes (Linux and
        macOS); keep 1 inside servers that run threads. ``key`` (default: the environment's
        ``THEME_CLASSIFIER_MODEL_KEY``) requires the manifest's signature under that key."""
        scheme, sep, _ = str(path).partition(":/")
        resolved: dict = {}
        if sep and len(scheme) > 1:  # models:/name@alias and the like: resolved by an installed plugin
            path, resolved = _resolve_uri(str(path), scheme)
        spec, vocabularies, weights = read_model_folder(Path(path), key)
        predictor = cls(spec, vocabularies, weights, n_jobs)
        # What the resolver knows of the model (a registered version and its URI), not in its files.
        predictor.info |= {k: str(v) for k, v in resolved.items() if k in ("model_version", "model_uri")}
        return predictor

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Probability per text (rows) and theme (columns, in ``self.themes`` order)."""
        texts = _checked(texts)
        if len(texts) == 1:
            return np.array([self._score_one(texts[0])])
        if self.n_jobs > 1 and len(texts) >= PARALLEL_MIN:
            import multiprocessing  # here, not at import: it is a tenth of a cold start

            if "fork" in multiprocessing.get_all_start_methods():
                return self._parallel_scores(texts)
        return self._batch_scores(texts)

    def _parallel_scores(self, texts: list[str]) -> np.ndarray:
        if self._pool is None:  # forked workers inherit this predictor: nothing is pickled but texts
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(self.n_jobs, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_install_worker_predictor, initargs=(self,))
        step = -(-len(texts) // self.n_jobs)
        return np.vstack(list(self._pool.map(_worker_scores, [texts[i:i + step] for i in range(0, len(texts), step)])))

    def _batch_scores(self, texts: list[str]) -> np.ndarray:
        if len(texts) > BATCH_CHUNK:  # bounded arrays: sorting millions of keys at once is slower
            return np.vstack([self._batch_scores(texts[i:i + BATCH_CHUNK]) for i in range(0, len(texts), BATCH_CHUNK)])
        n = len(texts)
        decision = np.tile(self._intercept, (n, 1))  # texts x themes
        for block in self._blocks:
            decision += block.decisions(texts)
        z = self._scale * decision + self._offset
        e = np.exp(-np.abs(z))  # never overflows: the logistic of z from exp(-|z|), as one sentence does
        probabilities = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        probabilities[[not text.strip() for text in texts]] = 0.0  # no words, no evidence of any theme
        return probabilities

    def _one_text_scorer(self) -> Callable[[str], list[float]]:
        """text -> probability per theme: the kernel's blocks add into one array, the others'
        shares (plain Python: no NumPy call for vocabulary models without the kernel) are added
        to its values."""
        adds = [block.add_one for block in self._blocks if block.add_one is not None]
        ones = [block.decision_of_one for block in self._blocks if block.add_one is None]
        start = np.array(self._intercept, dtype=np.float64).reshape(1, -1)
        intercept, scale, offset = self._intercept.tolist(), self._scale.tolist(), self._offset.tolist()
        exp, none = math.exp, [0.0] * len(self.themes)

        def score(text: str) -> list[float]:
            if not text.strip():
                return none[:]  # no words, no evidence of any theme
            decision = intercept
            if adds:
                out = start.copy()
                for add in adds:
                    add(text, out)
                decision = out[0].tolist()
            for one in ones:
                part = one(text)
                if part is not None:
                    decision = [d + p for d, p in zip(decision, part)]
            probabilities = []
            for d, s, o in zip(decision, scale, offset):
                z = s * d + o
                probabilities.append(1.0 / (1.0 + exp(-z)) if z >= 0 else exp(z) / (1.0 + exp(z)))  # no overflow
            return probabilities

        return score

    def predict_proba(self, texts: str | Sequence[str]) -> dict[str, float] | list[dict[str, float]]:
        """A score in [0, 1] per theme: one dict for one string, a list of dicts for a list."""
        if isinstance(texts, str):
            return dict(zip(self.themes, self._score_one(texts)))
        return [dict(zip(self.themes, row)) for row in self.scores(texts).tolist()]

    def predict(self, texts: str | Sequence[str]) -> list[str] | list[list[str]]:
        """Themes over their thresholds: a list for one string, a list of lists for a list."""
        if isinstance(texts, str):
            return self._over_threshold(self._score_one(texts))
        return self.themes_over_threshold(self.scores(texts))

    def themes_over_threshold(self, scores: np.ndarray) -> list[list[str]]:
        """Per row of ``scores`` (as ``scores`` gives them), the themes at or over their thresholds."""
        hits = scores >= np.fromiter(self.thresholds.values(), dtype=np.float64)
        return [list(compress(self.themes, row)) for row in hits.tolist()]

    def _over_threshold(self, scores: list[float]) -> list[str]:
        return [theme for theme, score, limit in zip(self.themes, scores, self.thresholds.values()) if score >= limit]

    def explain(self, text: str, top: int = 5) -> dict[str, dict]:
        """Per theme: score, threshold, and the n-grams that pushed its log-odds up and down most."""
        if not isinstance(text, str):
            raise TypeError(f"explain takes one string, got {type(text).__name__}")
        scores = self.scores([text])[0]
        contributions: list[tuple[str, np.ndarray]] = []
        for block in self._blocks:
            _, cols, values = block.features([text])
            value_of = dict(zip(cols.tolist(), values))
            for gram in dict.fromkeys(block.analyze(text)):  # each distinct n-gram, in order
                col = block.column_of(gram)
                if col is not None:
                    contributions.append((gram, value_of[col] * block.coef[col] * self._scale))
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


def _row_sums(rows: np.ndarray, contributions: np.ndarray, n_texts: int) -> np.ndarray:
    """Per text, the sum of its contributions (rows: each one's text, sorted, so one run a text)."""
    return run_sums(contributions, np.bincount(rows, minlength=n_texts))


def _run_starts(keys: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted, non-empty array starts, then its length
    (in few NumPy calls: for one sentence, their overhead is most of the cost)."""
    first = np.empty(len(keys) + 1, dtype=bool)
    first[0] = first[-1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:-1])
    return np.flatnonzero(first)


def _distinct(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted, non-empty array and how often each occurs."""
    starts = _run_starts(keys)
    return keys[starts[:-1]], starts[1:] - starts[:-1]


def _resolve_uri(uri: str, scheme: str) -> tuple[Path, dict]:
    """The local folder of a model URI, and what the resolver says of the model, from the
    resolver registered for its scheme (the training install registers ``models`` for the
    MLflow registry). A resolver returns a folder, or a folder and a dict."""
    from importlib.metadata import entry_points  # only for URIs: a fifth of the runtime's import time

    resolvers = {e.name: e for e in entry_points(group=URI_SCHEMES)}
    if scheme not in resolvers:
        raise ModelFileError(f"{uri}: no resolver for {scheme}:/ URIs is installed; "
                             "install theme-classifier[train] for models:/ URIs, or give a model folder")
    try:
        resolve = resolvers[scheme].load()
    except ImportError as missing:  # the base install registers the resolver but lacks MLflow
        raise ModelFileError(f"{uri}: {scheme}:/ URIs need {missing.name or 'the training stack'}; "
                             "install theme-classifier[train], or give a model folder") from None
    found = resolve(uri)
    folder, info = found if isinstance(found, tuple) else (found, {})
    return Path(folder), dict(info)


_worker_predictor: Predictor | None = None


def _install_worker_predictor(predictor: Predictor) -> None:
    global _worker_predictor
    _worker_predictor = predictor


def _worker_scores(texts: list[str]) -> np.ndarray:
    return _worker_predictor._batch_scores(texts)


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
