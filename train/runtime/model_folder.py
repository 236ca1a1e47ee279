"""The model-folder format: file names, checksums, and reading a folder with its checks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from train.runtime.errors import ModelFileError

FORMAT = "theme-classifier/linear-v1"
SPEC_FILE = "predictor.json"
VOCABULARY_FILE = "vocabulary.json"
WEIGHTS_FILE = "weights.npz"
MANIFEST_FILE = "manifest.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_model_folder(path: Path) -> tuple[dict, list[list[str] | None], dict[str, np.ndarray]]:
    """(spec, vocabularies, weight arrays) of an exported folder whose files match their manifest."""
    if not (path / MANIFEST_FILE).is_file():
        raise ModelFileError(f"{path}: not an exported model (no {MANIFEST_FILE}); train one with `python -m train`")
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
        for name, expected in manifest["sha256"].items():
            if not (path / name).is_file() or sha256_file(path / name) != expected:
                raise ModelFileError(f"{path / name}: missing or altered since export (checksum mismatch); "
                                     "re-export the model")
        spec = json.loads((path / SPEC_FILE).read_text(encoding="utf-8"))
        if spec.get("format") != FORMAT:
            raise ModelFileError(f"{path}: model format {spec.get('format')!r}, this version reads {FORMAT!r}; "
                                 "re-export it")
        vocabularies = json.loads((path / VOCABULARY_FILE).read_text(encoding="utf-8"))
        with np.load(path / WEIGHTS_FILE, allow_pickle=False) as arrays:
            weights = {name: arrays[name] for name in arrays.files}
    except (OSError, ValueError, KeyError, TypeError) as err:
        if isinstance(err, ModelFileError):
            raise
        raise ModelFileError(f"{path}: unreadable model file ({type(err).__name__}: {err}); re-export the model") from None
    return spec, vocabularies, weights
