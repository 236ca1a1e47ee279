"""Read labeled sentences from JSONL, validate them, and split them into a DatasetDict."""

from __future__ import annotations

import glob
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict, Features, Sequence as SequenceFeature, Value

from train.data.jsonl import iter_jsonl
from train.runtime.errors import DataError

REQUIRED_FIELDS = ("id", "text", "labels", "source")
SPLITS = ("train", "validation", "test")
FEATURES = Features(
    {
        "id": Value("string"),
        "text": Value("string"),
        "labels": SequenceFeature(Value("string")),
        "source": Value("string"),
    }
)


@dataclass(frozen=True)
class Corpus:
    splits: DatasetDict
    themes: tuple[str, ...]
    fingerprint: str  # digest of the records and of how they were split
    duplicates_removed: int
    train_only_rows: int = 0  # rows of the ``train_only`` files in the training split


def read_records(files: Sequence[str | Path], themes: Sequence[str], keep: Sequence[str] = ()) -> list[dict]:
    """Every labeled row of ``files``, validated; labels come back sorted. ``keep`` names
    optional fields to carry along (None where a row has none)."""
    if not files:
        raise DataError("no labeled data files given; point data.files at data/*.jsonl")
    known = set(themes)
    seen: dict[str, str] = {}
    records = []
    for path in map(Path, files):
        if not path.is_file():
            raise DataError(f"{path}: no such data file; check data.files")
        for line, row in iter_jsonl(path):
            where = f"{path}:{line}"
            record = _validated(row, known, where)
            record.update({name: row.get(name) for name in keep})
            if record["id"] in seen:
                raise DataError(f"{where}: duplicate id {record['id']!r} (first at {seen[record['id']]}); give each row its own id")
            seen[record["id"]] = where
            records.append(record)
    if not records:
        raise DataError(f"no labeled rows in {', '.join(map(str, files))}")
    return records


def _validated(row: object, themes: set[str], where: str) -> dict:
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object per line, got {type(row).__name__}")
    missing = [name for name in REQUIRED_FIELDS if name not in row]
    if missing:
        raise DataError(f"{where}: missing field(s) {', '.join(missing)}; each row needs {', '.join(REQUIRED_FIELDS)}")
    for name in ("id", "text", "source"):
        if not isinstance(row[name], str) or not row[name].strip():
            raise DataError(f"{where}: field {name!r} must be a non-empty string")
    labels = row["labels"]
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise DataError(f"{where}: 'labels' must be a list of theme names ([] for none)")
    unknown = sorted(set(labels) - themes)
    if unknown:
        raise DataError(f"{where}: unknown theme(s) {', '.join(unknown)}; use {', '.join(sorted(themes))}")
    if len(set(labels)) != len(labels):
        raise DataError(f"{where}: a theme is repeated in 'labels'")
    return {"id": row["id"], "text": row["text"], "labels": sorted(labels), "source": row["source"]}


def expand(files: str | Sequence[str]) -> list[str]:
    """A list of paths, or the files one glob pattern matches (an error if none)."""
    if not isinstance(files, str):
        return list(files)
    paths = sorted(glob.glob(files))
    if not paths:
        raise DataError(f"no data files match {files}; check data.files")
    return paths


def read_evaluation_sets(files: Mapping[str, str], themes: Sequence[str]) -> dict[str, list[dict]]:
    """Real-copy rows by split name (``realcopy_dev`` may guide choices, ``realcopy_test`` is
    only reported); every row also needs the ``source_url`` it was paraphrased from."""
    sets = {}
    for name, path in files.items():
        sets[name] = read_records([path], themes, keep=("source_url",))
        for record in sets[name]:
            if not isinstance(record["source_url"], str) or not record["source_url"].startswith("http"):
                raise DataError(f"{path}: row {record['id']!r} needs the 'source_url' it was paraphrased from")
    return sets


def check_no_overlap(training: Sequence[dict], evaluation: Sequence[dict]) -> None:
    """No evaluation sentence, and no article an evaluation sentence came from, in training."""
    seen = {normalise(r["text"]): r["id"] for r in training}
    urls = {r.get("source_url") for r in training} - {None}
    for record in evaluation:
        if normalise(record["text"]) in seen:
            raise DataError(f"evaluation row {record['id']!r} repeats training row {seen[normalise(record['text'])]!r}; "
                            "remove one")
        if record["source_url"] in urls:
            raise DataError(f"evaluation row {record['id']!r} comes from an article that training also uses "
                            f"({record['source_url']}); keep each article on one side")


def normalise(text: str) -> str:
    """The text as compared for duplicates: case, accents, punctuation and spacing ignored."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return " ".join(re.findall(r"\w+", text))


def drop_exact_duplicates(records: list[dict]) -> list[dict]:
    """Keep the first of rows with the same normalised text; conflicting labels are an error."""
    first: dict[str, dict] = {}
    for record in records:
        key = normalise(record["text"])
        kept = first.setdefault(key, record)
        if kept["labels"] != record["labels"]:
            raise DataError(
                f"ids {kept['id']!r} and {record['id']!r} have the same text but different labels; "
                "make them agree or remove one"
            )
    return list(first.values())


def _char_vectors(texts: Sequence[str]):
    """Unit-length character n-gram tf-idf rows of the normalised texts, as near-duplicates are judged."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), dtype=np.float32).fit_transform(
        map(normalise, texts))


def _blocks(rows, others, block: int = 1000):
    """``rows @ others.T`` in blocks of rows: the full product holds most pairs (short n-grams are shared)."""
    for start in range(0, rows.shape[0], block):
        yield rows[start:start + block] @ others.T


def near_duplicate_groups(texts: Sequence[str], threshold: float) -> np.ndarray:
    """A group number per text; texts whose character n-gram cosine >= threshold share one."""
    from scipy.sparse import vstack
    from scipy.sparse.csgraph import connected_components

    vectors = _char_vectors(texts)
    similar = vstack([product >= threshold for product in _blocks(vectors, vectors)])
    return connected_components(similar, directed=False)[1]


def max_similarity(texts: Sequence[str], known: Sequence[str]) -> np.ndarray:
    """Per text, its highest character n-gram cosine to any of ``known`` (0 if none)."""
    if not texts or not known:
        return np.zeros(len(texts))
    vectors = _char_vectors([*texts, *known])
    return np.concatenate([product.max(axis=1).toarray().ravel()
                           for product in _blocks(vectors[:len(texts)], vectors[len(texts):])])


def split_indices(
    label_matrix: np.ndarray, groups: np.ndarray, validation: float, test: float, seed: int
) -> dict[str, np.ndarray]:
    """Multi-label stratified train/validation/test row indices; a group stays in one split."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    group_ids, first_row = np.unique(groups, return_index=True)
    group_labels = np.stack([label_matrix[groups == g].max(axis=0) for g in group_ids])
    # The stratifier wants a multi-label matrix; "no theme" as a column also balances unlabeled rows.
    group_labels = np.column_stack([group_labels, group_labels.sum(axis=1) == 0])
    held_out = validation + test
    train_g, rest_g = next(
        MultilabelStratifiedShuffleSplit(n_splits=1, test_size=held_out, random_state=seed).split(
            first_row, group_labels
        )
    )
    val_g, test_g = next(
        MultilabelStratifiedShuffleSplit(n_splits=1, test_size=test / held_out, random_state=seed).split(
            rest_g, group_labels[rest_g]
        )
    )
    parts = {"train": train_g, "validation": rest_g[val_g], "test": rest_g[test_g]}
    return {name: np.flatnonzero(np.isin(groups, group_ids[g])) for name, g in parts.items()}


def fingerprint(records: Sequence[dict], **settings) -> str:
    """Digest of the rows (in any order) and of the settings that shape the splits."""
    digest = hashlib.sha256()
    for record in sorted(records, key=lambda r: r["id"]):
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def label_matrix(labels: Sequence[Sequence[str]], themes: Sequence[str]) -> np.ndarray:
    """0/1 matrix, one column per theme in the order given."""
    column = {theme: i for i, theme in enumerate(themes)}
    matrix = np.zeros((len(labels), len(themes)), dtype=np.int8)
    for row, names in enumerate(labels):
        matrix[row, [column[name] for name in names]] = 1
    return matrix


def load_corpus(
    files: str | Sequence[str],
    themes: Sequence[str],
    validation: float = 0.15,
    test: float = 0.15,
    seed: int = 0,
    near_duplicate_threshold: float = 0.8,
    evaluation_files: Mapping[str, str] | None = None,
    train_only: str | Sequence[str] = (),
) -> Corpus:
    """Labeled sentences as train/validation/test splits, the same for the same data and seed,
    plus the real-copy evaluation sets of ``evaluation_files``, whole and never trained on.

    ``files`` is a list of paths or one glob pattern. Exact duplicates are dropped;
    near-duplicates are kept together in one split, so no test sentence has a twin in training.
    ``train_only`` (paths, or a glob that may match nothing) holds rows that join the training
    split only, such as reviewed sentences: chosen where the model is unsure, they would skew
    what the held-out splits measure, and the splits stay the same as they grow. A row of them
    that repeats another or is a near-duplicate of a held-out sentence is left out.
    """
    if not 0 < validation < 1 or not 0 < test < 1 or validation + test >= 1:
        raise DataError("data.validation and data.test must be fractions in (0, 1) that leave room for training")
    themes = tuple(themes)
    extra_files = sorted(glob.glob(train_only)) if isinstance(train_only, str) else list(train_only)
    excluded = {Path(f).resolve() for f in extra_files}
    records = read_records([f for f in expand(files) if Path(f).resolve() not in excluded], themes,
                           keep=("source_url",))
    extra = read_records(extra_files, themes, keep=("source_url",)) if extra_files else []
    clash = {r["id"] for r in records} & {r["id"] for r in extra}
    if clash:
        raise DataError(f"id {min(clash)!r} is in both data.files and data.train_only; give each row its own id")
    evaluation = read_evaluation_sets(evaluation_files, themes) if evaluation_files else {}
    for rows in evaluation.values():
        check_no_overlap(records + extra, rows)
    unique = drop_exact_duplicates(records)
    added = drop_exact_duplicates(unique + extra)[len(unique):]  # first kept: the bundled rows come first
    labels = label_matrix([r["labels"] for r in unique], themes)
    groups = near_duplicate_groups([r["text"] for r in unique], near_duplicate_threshold)
    indices = split_indices(labels, groups, validation, test, seed)
    parts = {name: [unique[i] for i in sorted(indices[name])] for name in SPLITS} | evaluation
    held_out = [r["text"] for name, rows in parts.items() if name != "train" for r in rows]
    similarity = max_similarity([r["text"] for r in added], held_out)
    added = [r for r, s in zip(added, similarity) if s < near_duplicate_threshold]
    parts["train"] = parts["train"] + added
    splits = DatasetDict({name: Dataset.from_list([{k: r[k] for k in FEATURES} for r in rows], features=FEATURES)
                          for name, rows in parts.items()})
    settings = dict(themes=themes, validation=validation, test=test, seed=seed, threshold=near_duplicate_threshold)
    digest = fingerprint(records + added + [r for rows in evaluation.values() for r in rows], **settings)
    return Corpus(splits, themes, digest, len(records) - len(unique), len(added))
