"""A model folder is checked field by field: a defect is one ModelFileError naming the file and
field, a mutated export loads to the same answers or is refused, quickly; and signed models."""

import io
import json
import random
import shutil
import time
import zipfile

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from conftest import THEMES, pipeline_for
from train.data.corpus import label_matrix, read_records
from train.runtime.errors import ModelFileError
from train.runtime.model_folder import KEY_ENV, MANIFEST_FILE, SIGNATURE_FILE, sha256_file
from train.runtime.predictor import Predictor
from train.training.publish import export_predictor

PROBES = ["Airlines resumed flights to Kabul.", "Tariffs on steel rose after the trade talks.",
          "Police arrested two suspects over the bomb plot.", "Visa fees doubled for students.", "It rained.", ""]


@pytest.fixture(scope="module")
def small_export(small_corpus, tmp_path_factory):
    """The default features (word, char_wb and cue blocks) with a logistic model on ~400 sentences."""
    records = read_records([small_corpus], THEMES)
    texts, y = [r["text"] for r in records], label_matrix([r["labels"] for r in records], THEMES)
    pipeline = pipeline_for([])
    pipeline.steps[-1] = ("classifier", OneVsRestClassifier(LogisticRegression(max_iter=300)))
    pipeline.fit(texts, y)
    path = export_predictor(pipeline, THEMES, [0.4, 0.5, 0.5, 0.6], tmp_path_factory.mktemp("small") / "m")
    return path.resolve(), Predictor.load(path).scores(PROBES), pipeline


def rewritten(model, tmp_path, name: str, data: bytes, rehash: bool = True):
    """A copy of ``model`` whose file ``name`` holds ``data``; with ``rehash`` the manifest is
    made to match, as anyone who can write the folder can do."""
    copy = tmp_path / f"copy-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(model, copy)
    (copy / name).write_bytes(data)
    if rehash and name != MANIFEST_FILE:
        manifest = json.loads((copy / MANIFEST_FILE).read_text())
        manifest["sha256"][name] = sha256_file(copy / name)
        (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    return copy


def edited_json(model, tmp_path, name: str, edit):
    value = json.loads((model / name).read_text())
    edit(value)
    return rewritten(model, tmp_path, name, json.dumps(value).encode())


def npz_bytes(arrays: dict) -> bytes:
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def arrays_of(model) -> dict:
    with np.load(model / "weights.npz") as arrays:
        return {name: arrays[name] for name in arrays.files}


def set_block(i, key, value):
    return lambda spec: spec["blocks"][i].__setitem__(key, value)


SPEC_DEFECTS = [
    (lambda s: s.update(thresholds=[0.5, 0.5, 0.5, 1.5]), "thresholds[3]: expected a number in [0.0, 1.0]"),
    (lambda s: s.update(thresholds=[0.5, 0.5, 0.5, float("nan")]), "thresholds[3]: expected a number"),
    (lambda s: s.update(thresholds=[0.5]), "thresholds: expected a list of 4 numbers"),
    (lambda s: s.update(themes=["trade", "trade", "visas", "aviation"]), "themes: holds a duplicate"),
    (lambda s: s.update(themes="trade"), "themes: expected a list of non-empty strings"),
    (lambda s: s.update(normalisation="nfc-v9"), "normalisation: 'nfc-v9' is not one of"),
    (lambda s: s.update(surprise=1), "surprise: not a field of this format"),
    (lambda s: s.pop("blocks"), "blocks: missing"),
    (lambda s: s.update(blocks=[]), "blocks: expected a list of 1 to 8 feature blocks"),
    (set_block(0, "analyzer", "sentencepiece"), "blocks[0].analyzer: 'sentencepiece' is not one of"),
    (set_block(0, "ngram_range", [1, 500]), "blocks[0].ngram_range[1]: expected an integer in [1, 16]"),
    (set_block(0, "ngram_range", [3, 2]), "blocks[0].ngram_range[1]: expected an integer in [3, 16]"),
    (set_block(0, "ngram_range", [1.0, 2]), "blocks[0].ngram_range[0]: expected an integer"),
    (set_block(0, "token_pattern", "(a+)+$"), "blocks[0].token_pattern: '(a+)+$' is not one of"),
    (set_block(0, "norm", "l3"), "blocks[0].norm: 'l3' is not one of"),
    (set_block(0, "lowercase", "yes"), "blocks[0].lowercase: expected true or false"),
    (set_block(1, "strip_accents", "all"), "blocks[1].strip_accents: 'all' is not one of"),
    (set_block(0, "stop_words", [1, 2]), "blocks[0].stop_words: expected a list of non-empty strings"),
    (set_block(0, "kind", "hashing"), "blocks[0].n_features: missing"),
    (set_block(2, "cue_set", "guidelines-v0"), "blocks[2].cue_set: 'guidelines-v0' is not one of"),
    (set_block(2, "weight", -1), "blocks[2].weight: expected a number in [0.0, 1000000.0]"),
    (set_block(2, "themes", ["weather"]), "blocks[2].themes: not all in cue set"),
    (lambda s: s.update(run_id="x" * 10_000), "run_id: expected a string of at most 200 characters"),
]


@pytest.mark.parametrize("edit, message", SPEC_DEFECTS, ids=[m.split(":")[0] for _, m in SPEC_DEFECTS])
def test_a_spec_defect_names_the_file_and_field(small_export, tmp_path, edit, message):
    copy = edited_json(small_export[0], tmp_path, "predictor.json", edit)
    with pytest.raises(ModelFileError) as error:
        Predictor.load(copy)
    assert str(error.value).startswith(f"{copy / 'predictor.json'}: {message}")
    assert "\n" not in str(error.value)


def _swap(arrays, a, b):
    arrays[a], arrays[b] = arrays[b], arrays[a]
    return arrays


ARRAY_DEFECTS = [
    (lambda a: _swap(a, "idf_0", "idf_1"), "idf_0: expected float64 of shape"),
    (lambda a: _swap(a, "coef", "intercept"), "coef: expected float64 of shape"),
    (lambda a: a.update(coef=a["coef"].astype(np.float32)), "coef: expected float64 of shape"),
    (lambda a: a.update(coef=a["coef"][:-1]), "coef: expected float64 of shape"),
    (lambda a: a.update(intercept=np.array([np.inf, 0, 0, 0])), "intercept: holds a value that is not finite"),
    (lambda a: a.update(idf_0=-a["idf_0"]), "idf_0: holds a value that is not positive"),
    (lambda a: a.update(idf_2=np.ones(4)), "idf_2: block 2 (cues) has no idf weights"),
    (lambda a: a.update(extra=np.ones(4)), "extra: not an array of this format"),
    (lambda a: a.pop("offset"), "offset: missing"),
]


@pytest.mark.parametrize("edit, message", ARRAY_DEFECTS, ids=[m.split(":")[0] for _, m in ARRAY_DEFECTS])
def test_a_weights_defect_names_the_file_and_array(small_export, tmp_path, edit, message):
    arrays = arrays_of(small_export[0])
    edit(arrays)
    copy = rewritten(small_export[0], tmp_path, "weights.npz", npz_bytes(arrays))
    with pytest.raises(ModelFileError) as error:
        Predictor.load(copy)
    assert str(error.value).startswith(f"{copy / 'weights.npz'}: {message}")


def test_an_array_that_declares_more_data_than_it_holds_is_refused_before_allocating(small_export, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # a 10^12-element header over 8 bytes of data
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
        archive.writestr("coef.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\0" * 8)
    copy = rewritten(small_export[0], tmp_path, "weights.npz", buffer.getvalue())
    with pytest.raises(ModelFileError, match="coef.npy: declares more data than it holds"):
        Predictor.load(copy)


def _one_member_npz(header: dict, data: bytes, patch=None) -> bytes:
    """An .npz of one ``coef.npy`` member, its zip headers then edited by ``patch(raw, central, local)``."""
    import struct

    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, header)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("coef.npy", head.getvalue() + data)
    raw = bytearray(out.getvalue())
    if patch:
        patch(raw, struct, raw.rfind(b"PK\x01\x02"), raw.find(b"PK\x03\x04"))
    return bytes(raw)


def _declared_size(raw, struct, central, local):  # both headers claim 2 GiB uncompressed
    struct.pack_into("<I", raw, central + 24, 2**31)
    struct.pack_into("<I", raw, local + 22, 2**31)


def _flag(bit):
    def patch(raw, struct, central, local):
        struct.pack_into("<H", raw, central + 8, bit)
        struct.pack_into("<H", raw, local + 6, bit)
    return patch


@pytest.mark.parametrize("header, data, patch, message", [
    ({"descr": "<f8", "fortran_order": False, "shape": (2**28,)}, b"\0" * 64, _declared_size,
     "'coef.npy' is not a stored array"),
    ({"descr": "<f8", "fortran_order": False, "shape": (3,)}, b"\0" * 24, _flag(0x1), "'coef.npy' is not a stored"),
    ({"descr": "<f8", "fortran_order": False, "shape": (3,)}, b"\0" * 24, _flag(0x20), "'coef.npy' is not a stored"),
    ({"descr": "<f8", "fortran_order": False, "shape": (2**64, 0)}, b"", None, "coef.npy: declares more data"),
], ids=["zip-sizes-forged", "encrypted", "patched", "huge-dimension"])
def test_zip_headers_that_lie_are_refused_before_anything_is_read(small_export, tmp_path, header, data, patch,
                                                                   message):
    copy = rewritten(small_export[0], tmp_path, "weights.npz", _one_member_npz(header, data, patch))
    with pytest.raises(ModelFileError, match=message):
        Predictor.load(copy)


def test_vocabulary_defects_name_the_file_and_block(small_export, tmp_path):
    for edit, message in [(lambda v: v.pop(), "(top level): expected a list of 3 vocabularies"),
                          (lambda v: v[0].append(v[0][0]), "[0]: holds a duplicate"),
                          (lambda v: v[1].__setitem__(0, 7), "[1]: expected a list of non-empty strings"),
                          (lambda v: v[2].pop(), "[2]: expected 4 cue names")]:
        copy = edited_json(small_export[0], tmp_path, "vocabulary.json", edit)
        with pytest.raises(ModelFileError) as error:
            Predictor.load(copy)
        assert str(error.value).startswith(f"{copy / 'vocabulary.json'}: {message}")


@pytest.mark.parametrize("edit, message", [
    (lambda m: m["sha256"].pop("vocabulary.json"), "sha256: 'vocabulary.json' is missing"),
    (lambda m: m["sha256"].update({"../../etc/passwd": "0" * 64}), "sha256: '../../etc/passwd' is not a file of this"),
    (lambda m: m["sha256"].update({"notes.txt": "0" * 64}), "sha256: 'notes.txt' is not a file of this format"),
    (lambda m: m.update(sha256=[]), "sha256: expected an object of file checksums"),
])
def test_the_manifest_lists_exactly_the_files_of_the_format(small_export, tmp_path, edit, message):
    copy = edited_json(small_export[0], tmp_path, MANIFEST_FILE, edit)
    with pytest.raises(ModelFileError, match=message.replace("(", r"\(").replace(".", r"\.")):
        Predictor.load(copy)


def test_a_listed_file_that_is_a_symlink_out_of_the_folder_is_refused(small_export, tmp_path):
    copy = rewritten(small_export[0], tmp_path, "config.yaml", b"")
    outside = tmp_path / "outside.yaml"
    shutil.move(copy / "config.yaml", outside)
    (copy / "config.yaml").symlink_to(outside)
    with pytest.raises(ModelFileError, match="config.yaml: missing or altered"):
        Predictor.load(copy)


def _mutations(model, rng: random.Random):
    """(kind, file, bytes, rehash) of one mutation of a real export."""
    names = ["predictor.json", "vocabulary.json", "weights.npz", MANIFEST_FILE]
    name = rng.choice(names)
    data = bytearray((model / name).read_bytes())
    kind = rng.choice(["truncate", "flip", "json", "swap"])
    if kind == "truncate":
        return kind, name, bytes(data[:rng.randrange(len(data))]), rng.random() < 0.8
    if kind == "flip":
        at = rng.randrange(len(data))
        data[at] ^= 1 << rng.randrange(8)
        return kind, name, bytes(data), rng.random() < 0.8
    if kind == "swap":
        arrays = arrays_of(model)
        a, b = rng.sample(sorted(arrays), 2)
        kind = "swap alike" if arrays[a].shape == arrays[b].shape else kind  # e.g. intercept and scale
        return kind, "weights.npz", npz_bytes(_swap(arrays, a, b)), True
    name = rng.choice(["predictor.json", "vocabulary.json"])
    value = json.loads((model / name).read_text())
    replacement = rng.choice([None, -1, 0, 1, 2.5, 1e308, "", "x", True, [], {}, [1, 2], [[[[]]]], "(?u)\\b\\w\\w+\\b",
                              "[" * 100_000, 10**30, ["word"], {"kind": "cues"}])
    node, key = value, None
    while True:  # a random path down into the JSON value
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys or (key is not None and rng.random() < 0.4):
            break
        key = rng.choice(keys)
        parent, node = node, node[key]
    if key is None:
        return "json", name, json.dumps(replacement).encode(), True
    parent[key] = replacement
    return "json", name, json.dumps(value).encode(), True


def test_fuzzed_exports_load_to_the_same_answers_or_a_model_file_error_within_a_second(small_export, tmp_path):
    """Changes that leave the files unchecksummed, truncate them or swap arrays of different
    shapes are refused. A re-hashed byte flip, edited JSON value or swap of two arrays of one
    shape may make another valid model (a weight, a term, a threshold changed: only a signature
    tells it from the original); then it must load and score in [0, 1]. Nothing else may happen."""
    model, expected, _ = small_export
    rng = random.Random(20261203)
    outcomes = {"refused": 0, "same": 0, "another valid model": 0}
    for trial in range(150):
        kind, name, data, rehash = _mutations(model, rng)
        copy = rewritten(model, tmp_path, name, data, rehash)
        started = time.perf_counter()
        try:
            scores = Predictor.load(copy).scores(PROBES)
        except ModelFileError as err:
            assert "\n" not in str(err) and str(err).startswith(str(copy)), (trial, kind, name, err)
            outcomes["refused"] += 1
        else:
            assert rehash and kind in ("flip", "json", "swap alike"), (trial, kind, name)
            assert scores.shape == expected.shape and ((scores >= 0) & (scores <= 1)).all(), (trial, kind, name)
            same = np.allclose(scores, expected, rtol=0, atol=1e-12)
            outcomes["same" if same else "another valid model"] += 1
        finally:
            shutil.rmtree(copy)
        assert time.perf_counter() - started < 1.0, (trial, kind, name)
    assert outcomes["refused"] > 75 and outcomes["same"] > 0, outcomes


def test_a_signed_model_loads_only_with_its_key(small_export, tmp_path, monkeypatch):
    model, expected, pipeline = small_export
    monkeypatch.setenv(KEY_ENV, "training-secret")
    signed = export_predictor(pipeline, THEMES, [0.4, 0.5, 0.5, 0.6], tmp_path / "signed")
    monkeypatch.delenv(KEY_ENV)
    assert (signed / SIGNATURE_FILE).is_file()
    np.testing.assert_array_equal(Predictor.load(signed, key="training-secret").scores(PROBES), expected)
    Predictor.load(signed)  # without a key nothing is verified
    with pytest.raises(ModelFileError, match="manifest.sig: does not match the manifest under this key"):
        Predictor.load(signed, key="another-key")
    with pytest.raises(ModelFileError, match="manifest.sig: missing: the model is not signed"):
        Predictor.load(model, key="training-secret")
    forged = edited_json(signed, tmp_path, "predictor.json", lambda s: s.update(thresholds=[0.01] * 4))
    Predictor.load(forged)  # a consistent checksum proves nothing about who wrote it...
    monkeypatch.setenv(KEY_ENV, "training-secret")
    with pytest.raises(ModelFileError, match="does not match the manifest under this key"):
        Predictor.load(forged)  # ...the signature does (key from the environment)
