"""Append-only JSON Lines files of review decisions: each row is on disk before the next is asked for."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from train.data.jsonl import iter_jsonl
from train.runtime.errors import DataError


class ReviewLog:
    """One JSON object a line. ``append`` writes the whole line with one ``write`` and syncs it,
    so a kill leaves either the full row or none; a line cut by a power loss is dropped on the
    next open. The file is locked while open: two sessions never interleave their rows."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise DataError(f"{path}: another theme-review session has it open; finish that one first") from None
        self._cut_torn_tail()
        self.rows: list[dict] = [row for _, row in iter_jsonl(path)]
        self._ends: list[int] = []  # file size before each row appended by this object, for undo

    def append(self, row: dict) -> None:
        line = (json.dumps(row, ensure_ascii=False) + "\n").encode()
        self._ends.append(os.fstat(self._fd).st_size)
        written = os.write(self._fd, line)
        if written != len(line):  # a full disk: take the partial row back out
            os.ftruncate(self._fd, self._ends.pop())
            raise OSError(f"{self.path}: only {written} of {len(line)} bytes written")
        os.fsync(self._fd)
        self.rows.append(row)

    def undo(self) -> dict:
        """Remove the last row this object appended and return it."""
        if not self._ends:
            raise IndexError("nothing appended in this session")
        os.ftruncate(self._fd, self._ends.pop())
        os.fsync(self._fd)
        return self.rows.pop()

    @property
    def can_undo(self) -> bool:
        return bool(self._ends)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1

    def __enter__(self) -> ReviewLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _cut_torn_tail(self) -> None:
        size = os.fstat(self._fd).st_size
        if not size:
            return
        with open(self.path, "rb") as data:
            content = data.read()
        if content.endswith(b"\n"):
            return
        os.ftruncate(self._fd, content.rfind(b"\n") + 1)
        os.fsync(self._fd)
