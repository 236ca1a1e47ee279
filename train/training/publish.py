"""Model folders on disk: write a complete version folder, then publish it atomically.

A version is written beside its final place under ``.<name>.versions/`` (first as
``incomplete-<pid>-*``, then complete as ``pending-<pid>-*``, which MLflow logs from) and
becomes live only when ``publish`` renames a symlink over ``models/<name>``: a reader sees
the old model or the new one, never a mix, and a crash, a kill or a failed run before
publishing leaves the previous export as it was. Folders of dead writers are removed by
the next publish.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from train.runtime.model_folder import (KEY_ENV, MANIFEST_FILE, SIGNATURE_FILE, SPEC_FILE, VOCABULARY_FILE,
                                        WEIGHTS_FILE, sha256_file, sign)
from train.training.processes import left_by_dead_process

KEEP_VERSIONS = 2  # the live export and the one before it, for a quick roll-back
INCOMPLETE = "incomplete-"  # prefix of a version folder being written, then its writer's pid
PENDING = "pending-"  # prefix of a complete version folder not yet published, then its writer's pid


def write_version(target: Path, spec: dict, vocabularies: list, weights: dict[str, np.ndarray],
                  extra_files: dict[str, str] | None = None) -> Path:
    """A complete, checksummed, not yet published version folder for ``target``."""
    versions = target.parent / f".{target.name}.versions"
    versions.mkdir(parents=True, exist_ok=True)
    spec = {**spec, "name": target.name, "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    staging = Path(tempfile.mkdtemp(prefix=f"{INCOMPLETE}{os.getpid()}-", dir=versions))
    try:
        (staging / SPEC_FILE).write_text(json.dumps(spec, indent=2), encoding="utf-8")
        (staging / VOCABULARY_FILE).write_text(json.dumps(vocabularies, ensure_ascii=False), encoding="utf-8")
        np.savez(staging / WEIGHTS_FILE, **weights)
        for name, text in (extra_files or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
        _seal(staging)
        pending = versions / f"{PENDING}{os.getpid()}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S.%f}-{uuid.uuid4().hex[:6]}"
        staging.rename(pending)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return pending


def _seal(folder: Path, known: dict[str, str] | None = None) -> None:
    """Write the manifest of the folder's files (and its signature, with a key); files read-only
    to others. ``known``: checksums of files that have not changed since, not hashed again."""
    files = sorted(p for p in folder.iterdir() if p.name not in (MANIFEST_FILE, SIGNATURE_FILE))
    checksums = {p.name: (known or {}).get(p.name) or sha256_file(p) for p in files}
    manifest = json.dumps({"sha256": checksums}, indent=2)
    (folder / MANIFEST_FILE).write_text(manifest, encoding="utf-8")
    if os.environ.get(KEY_ENV):
        (folder / SIGNATURE_FILE).write_text(sign(manifest.encode(), os.environ[KEY_ENV]), encoding="ascii")
    for path in folder.iterdir():
        path.chmod(0o644)


def stamp(pending: Path, fields: dict) -> None:
    """Add ``fields`` to a pending version's spec (its registered version, known only once it
    is logged) and seal it again."""
    spec = json.loads((pending / SPEC_FILE).read_text(encoding="utf-8")) | fields
    (pending / SPEC_FILE).write_text(json.dumps(spec, indent=2), encoding="utf-8")
    known = json.loads((pending / MANIFEST_FILE).read_text(encoding="utf-8"))["sha256"]
    _seal(pending, {name: digest for name, digest in known.items() if name != SPEC_FILE})


def discard(version: Path) -> None:
    """Remove a version folder that will not be published."""
    shutil.rmtree(version, ignore_errors=True)


def publish(target: Path, pending: Path) -> Path:
    """Make the ``pending`` version live at ``target`` with one atomic rename, then prune old versions."""
    version = pending.with_name(pending.name.removeprefix(PENDING).split("-", 1)[1])
    pending.rename(version)
    if target.exists() and not target.is_symlink():
        # A plain folder from a copy or an older layout: keep it as a version, then link.
        target.rename(version.parent / f"{version.name}-previous")
    link = target.parent / f".{target.name}.link-{uuid.uuid4().hex[:8]}"
    link.symlink_to(version.relative_to(target.parent))
    os.replace(link, target)
    _prune(version.parent, keep={version.name})
    return target


def _prune(versions: Path, keep: set[str]) -> None:
    """Remove old versions and what killed writers left behind, keeping the newest few."""
    unfinished = (INCOMPLETE, PENDING)
    finished = sorted((p for p in versions.iterdir() if not p.name.startswith(unfinished)), reverse=True)
    for old in finished[KEEP_VERSIONS:]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    for prefix in unfinished:
        for folder in versions.glob(f"{prefix}*"):
            if left_by_dead_process(folder.name, prefix):
                shutil.rmtree(folder, ignore_errors=True)


def export_predictor(pipeline, themes: list[str], thresholds: list[float], target: Path,
                     extra_files: dict[str, str] | None = None, info: dict | None = None) -> Path:
    """Convert a fitted pipeline, write it and publish it at ``target`` in one step."""
    from train.training.convert import predictor_files

    spec, vocabularies, weights = predictor_files(pipeline, themes, thresholds)
    return publish(target, write_version(target, spec | (info or {}), vocabularies, weights, extra_files))
