"""Corpora too large for JSONL: a DatasetDict saved on disk, read in Arrow batches."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import DatasetDict, load_from_disk

from train.data.corpus import Corpus
from train.runtime.errors import DataError


def load_arrow_corpus(path: str, themes: list[str]) -> Corpus:
    """A DatasetDict saved with ``save_to_disk`` (train and test; validation optional), left on disk."""
    if not (Path(path) / "dataset_dict.json").is_file():
        raise DataError(f"{path}: not a saved DatasetDict; write one with DatasetDict.save_to_disk")
    splits = load_from_disk(path)
    missing = {"train", "test"} - set(splits)
    if missing:
        raise DataError(f"{path}: missing split(s) {', '.join(sorted(missing))}")
    for name, split in splits.items():
        if not {"text", "labels"} <= set(split.column_names):
            raise DataError(f"{path}: split {name!r} needs 'text' and 'labels' columns, has {split.column_names}")
    digest = hashlib.sha256("".join(splits[n]._fingerprint for n in sorted(splits)).encode()).hexdigest()[:16]
    return Corpus(DatasetDict(splits), tuple(themes), digest, 0)


def iter_chunks(split, chunk_size: int, columns: list[str]):
    """Arrow tables of about ``chunk_size`` rows.

    A split that is a plain set of Arrow files is read batch by batch from the files, not
    memory-mapped, so resident memory stays flat however large the corpus; a shuffled or
    selected split is read through its index mapping instead."""
    if getattr(split, "_indices", None) is not None or not split.cache_files:
        yield from split.select_columns(columns).with_format("arrow").iter(batch_size=chunk_size)
        return
    pending, rows = [], 0
    for cache_file in split.cache_files:
        with pa.OSFile(cache_file["filename"]) as source:
            for batch in pa.ipc.open_stream(source):
                pending.append(batch.select(columns))
                rows += batch.num_rows
                if rows >= chunk_size:
                    yield pa.Table.from_batches(pending)
                    pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def arrow_label_matrix(column: pa.ChunkedArray, themes: tuple[str, ...]) -> np.ndarray:
    """0/1 matrix of a list<string> column, computed in Arrow (no Python list per row)."""
    column = column.combine_chunks()
    names = pc.list_flatten(column)
    positions = pc.index_in(names, value_set=pa.array(themes))
    if positions.null_count:
        unknown = names.filter(pc.is_null(positions))[0].as_py()
        raise DataError(f"unknown theme {unknown!r} in the data; use {', '.join(themes)}")
    matrix = np.zeros((len(column), len(themes)), dtype=np.int8)
    matrix[pc.list_parent_indices(column).to_numpy(), positions.to_numpy()] = 1
    return matrix
