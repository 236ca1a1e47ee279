"""The model-folder format: file names, checksums, and reading a folder with its checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from train.runtime.errors import ModelFileError
from train.runtime.model_checks import check_spec, check_vocabularies, check_weights

FORMAT = "theme-classifier/linear-v1"
SPEC_FILE = "predictor.json"
VOCABULARY_FILE = "vocabulary.json"
WEIGHTS_FILE = "weights.npz"
MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"  # HMAC-SHA256 of the manifest, when trained with a key
READ_FILES = {SPEC_FILE, VOCABULARY_FILE, WEIGHTS_FILE}  # what the loader reads
RECORD_FILES = {"config.yaml", "metrics.json"}  # what training records beside them
KEY_ENV = "THEME_CLASSIFIER_MODEL_KEY"  # a signing key: training signs with it, loading verifies
UNSUPPORTED_ZIP_FLAGS = 0x01 | 0x20 | 0x40  # encrypted, patched, strongly encrypted: never written by NumPy


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sign(manifest: bytes, key: str | bytes) -> str:
    """The HMAC-SHA256 of a manifest's bytes under ``key``, in hex."""
    return hmac.new(key.encode() if isinstance(key, str) else key, manifest, hashlib.sha256).hexdigest()


def read_model_folder(path: Path, key: str | bytes | None = None) -> tuple[dict, list[list[str] | None],
                                                                          dict[str, np.ndarray]]:
    """(spec, vocabularies, weight arrays) of an exported folder: every file matches its
    manifest, the manifest its signature (when a ``key`` is given, or ``THEME_CLASSIFIER_MODEL_KEY``
    is set), and every field what the trainer writes."""
    if not (path / MANIFEST_FILE).is_file():
        raise ModelFileError(f"{path}: not an exported model (no {MANIFEST_FILE}); train one with `python -m train`")
    key = (os.environ.get(KEY_ENV) or None) if key is None else key
    try:
        manifest_bytes = (path / MANIFEST_FILE).read_bytes()
        if key is not None:
            _check_signature(path, manifest_bytes, key)
        _check_manifest(path, json.loads(manifest_bytes))
        spec = json.loads((path / SPEC_FILE).read_text(encoding="utf-8"))
        if not isinstance(spec, dict) or spec.get("format") != FORMAT:
            found = spec.get("format") if isinstance(spec, dict) else None
            raise ModelFileError(f"{path}: model format {found!r}, this version reads {FORMAT!r}; re-export it")
        check_spec(spec, str(path / SPEC_FILE))
        vocabularies = json.loads((path / VOCABULARY_FILE).read_text(encoding="utf-8"))
        check_vocabularies(spec, vocabularies, str(path / VOCABULARY_FILE))
        weights = _read_arrays(path / WEIGHTS_FILE)
        check_weights(spec, vocabularies, weights, str(path / WEIGHTS_FILE))
    except ModelFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RecursionError, zipfile.BadZipFile, EOFError, OverflowError,
            MemoryError, RuntimeError, NotImplementedError) as err:  # whatever a malformed file makes a reader raise
        raise ModelFileError(f"{path}: unreadable model file ({type(err).__name__}: {str(err)[:200]}); "
                             "re-export the model") from None
    return spec, vocabularies, weights


def _check_signature(path: Path, manifest: bytes, key: str | bytes) -> None:
    signature = path / SIGNATURE_FILE
    if not signature.is_file():
        raise ModelFileError(f"{signature}: missing: the model is not signed; train it with {KEY_ENV} set")
    if not hmac.compare_digest(signature.read_text(encoding="ascii").strip(), sign(manifest, key)):
        raise ModelFileError(f"{signature}: does not match the manifest under this key: the model was not "
                             "signed with it, or was changed since")


def _check_manifest(path: Path, manifest) -> None:
    """Checksums of exactly the files the format has (plain names in this folder), all matching."""
    checksums = manifest.get("sha256") if isinstance(manifest, dict) else None
    if not isinstance(checksums, dict):
        raise ModelFileError(f"{path / MANIFEST_FILE}: sha256: expected an object of file checksums; re-export")
    names = set(checksums)
    if not READ_FILES <= names <= READ_FILES | RECORD_FILES:
        odd = sorted((READ_FILES - names) or (names - READ_FILES - RECORD_FILES))[0]
        raise ModelFileError(f"{path / MANIFEST_FILE}: sha256: {odd!r:.80} is "
                             f"{'missing' if odd in READ_FILES else 'not a file of this format'}; re-export the model")
    for name, expected in checksums.items():
        file = path / name
        if not isinstance(expected, str) or file.is_symlink() or not file.is_file() or sha256_file(file) != expected:
            raise ModelFileError(f"{file}: missing or altered since export (checksum mismatch); re-export the model")


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an uncompressed ``.npz``, each declared size checked against the bytes it
    has before anything is allocated for it."""
    size = path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len({m.filename for m in members}) != len(members):
            raise ModelFileError(f"{path}: holds two arrays of one name; re-export the model")
        for member in members:
            # Stored, unencrypted, and its sizes those of bytes that are really in the file: the
            # zip's own size fields are written by whoever wrote the file.
            if member.compress_type != zipfile.ZIP_STORED or member.flag_bits & UNSUPPORTED_ZIP_FLAGS \
                    or member.compress_size != member.file_size \
                    or member.header_offset + member.compress_size > size or not member.filename.endswith(".npy"):
                raise ModelFileError(f"{path}: {member.filename!r:.80} is not a stored array; re-export the model")
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                if version not in ((1, 0), (2, 0)):
                    raise ModelFileError(f"{path}: {member.filename}: array format {version}; re-export the model")
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                    else np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(stream)
                if dtype.hasobject or not all(0 <= n < 2**40 for n in shape) \
                        or math.prod(shape) * dtype.itemsize > member.file_size:
                    raise ModelFileError(f"{path}: {member.filename}: declares more data than it holds; "
                                         "re-export the model")
    with np.load(path, allow_pickle=False) as arrays:
        return {name: arrays[name] for name in arrays.files}
