"""Bad training inputs, crashes, concurrent writers and hostile model files."""

import json
import multiprocessing
import os
import pickle
import shutil
import signal
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from mlflow.tracking import MlflowClient

from conftest import THEMES, copy_with_edited_spec, isolated_overrides, run_python
from train.data.corpus import read_records
from train.training.publish import export_predictor
from train.runtime.errors import ModelFileError
from train.runtime.model_folder import MANIFEST_FILE, sha256_file
from train.runtime.predictor import Predictor

BAD_DATA = '{"id": "x", "text": "Tariffs were cut.", "labels": ["trade"], "source": "authored"}\n{"id": "y", "text": \n'


@pytest.fixture(scope="module")
def bad_jsonl(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad") / "corrupt.jsonl"
    path.write_text(BAD_DATA, encoding="utf-8")
    return path


def snapshot(trained):
    client = MlflowClient(tracking_uri=trained.cfg.tracking.uri)
    experiment = client.get_experiment_by_name("theme-classifier")
    runs = sorted(r.info.run_id for r in client.search_runs([experiment.experiment_id]))
    manifest = (trained.export_dir / MANIFEST_FILE).read_text()
    return runs, manifest, os.readlink(trained.export_dir)


@pytest.mark.parametrize("override, message", [
    ("model=gradient_boosting", "Could not find 'model/gradient_boosting'"),
    ("features=bpe", "Could not find 'features/bpe'"),
    pytest.param("model.C=-1", "theme-train: invalid hyperparameter: The 'C' parameter of LinearSVC",
                 marks=pytest.mark.slow),
    ("name=../../escaped", "theme-train: name='../../escaped': use letters, digits"),
    ("modle.C=3", "Could not override 'modle.C'"),
    pytest.param("data.files=/no/such/dir/*.jsonl", "theme-train: no data files match /no/such/dir/*.jsonl", marks=pytest.mark.slow),
    pytest.param("trainer.cv_folds=1000", "theme-train: theme 'aviation' has", marks=pytest.mark.slow),
    pytest.param("CORRUPT", "corrupt.jsonl:2: not valid JSON", marks=pytest.mark.slow),
    ("paths.models_dir=/etc/hostname/models", "theme-train: cannot write models to /etc/hostname/models"),
    pytest.param("tracking.uri=http://127.0.0.1:9", "theme-train: no MLflow server answers at http://127.0.0.1:9", marks=pytest.mark.slow),
])
def test_bad_training_input_fails_early_in_one_line_and_touches_nothing(trained, bad_jsonl, small_corpus, override,
                                                                        message):
    if override == "CORRUPT":
        override = f"data.files=[{bad_jsonl}]"
    before = snapshot(trained)
    done = run_python("-m", "train", *isolated_overrides(trained.tmp), f"data.files=[{small_corpus}]", override)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    if message.startswith("theme-train:"):
        assert done.stderr.strip().count("\n") == 0, done.stderr  # one line, no traceback
    assert snapshot(trained) == before


@pytest.mark.slow
def test_debug_flag_shows_the_traceback(trained, small_corpus):
    done = run_python("-m", "train", *isolated_overrides(trained.tmp), f"data.files=[{small_corpus}]", "model.C=-1",
                      "debug=true")
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "ConfigError: invalid hyperparameter" in done.stderr


def _export_and_hang(pipeline, target, ready):
    import train.training.publish as export

    real_savez = np.savez

    def slow_savez(*args, **kwargs):
        real_savez(*args, **kwargs)
        ready.set()
        time.sleep(60)  # killed here, with the new version half-written

    export.np.savez = slow_savez
    export_predictor(pipeline, THEMES, [0.9] * 4, target)


def test_sigkill_during_export_leaves_the_previous_model_and_no_blocking_leftovers(trained, tmp_path):
    target = tmp_path / "theme-classifier"
    export_predictor(trained.result.pipeline, THEMES, [0.5] * 4, target)
    ready = multiprocessing.get_context("fork").Event()
    child = multiprocessing.get_context("fork").Process(target=_export_and_hang,
                                                        args=(trained.result.pipeline, target, ready))
    child.start()
    assert ready.wait(60)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert Predictor.load(target).thresholds["trade"] == 0.5
    versions = tmp_path / ".theme-classifier.versions"
    assert any(p.name.startswith("incomplete-") for p in versions.iterdir())
    export_predictor(trained.result.pipeline, THEMES, [0.7] * 4, target)  # the next run is not blocked
    assert Predictor.load(target).thresholds["trade"] == 0.7
    assert not any(p.name.startswith("incomplete-") for p in versions.iterdir())


def _export(pipeline, target, threshold):
    for _ in range(5):
        export_predictor(pipeline, THEMES, [threshold] * 4, target)


def test_concurrent_exports_to_one_name_end_with_one_complete_model(trained, tmp_path):
    target = tmp_path / "theme-classifier"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_export, args=(trained.result.pipeline, target, t)) for t in (0.3, 0.6)]
    for w in writers:
        w.start()
    readings = set()
    while any(w.is_alive() for w in writers):
        if target.exists():
            readings.add(Predictor.load(target).thresholds["trade"])  # every read sees a whole model
    for w in writers:
        w.join()
        assert w.exitcode == 0
    final = Predictor.load(target)
    assert final.thresholds["trade"] in (0.3, 0.6) and readings <= {0.3, 0.6}


def _tampered_copy(trained, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(trained.export_dir, copy)
    return copy


class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("resign", [False, True], ids=["checksum-unchanged", "checksum-forged"])
def test_a_pickle_under_the_weights_name_is_refused_without_running(trained, tmp_path, resign):
    copy = _tampered_copy(trained, tmp_path)
    marker = tmp_path / "payload-ran"
    (copy / "weights.npz").write_bytes(pickle.dumps(Payload(marker)))
    if resign:  # an attacker who also rewrites the manifest
        manifest = json.loads((copy / MANIFEST_FILE).read_text())
        manifest["sha256"]["weights.npz"] = sha256_file(copy / "weights.npz")
        (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="not a zip file" if resign else "checksum mismatch"):
        Predictor.load(copy)
    assert not marker.exists()


def test_a_model_of_another_format_version_says_to_re_export(trained, tmp_path):
    copy = copy_with_edited_spec(trained.export_dir, tmp_path, lambda spec: spec.update(format="theme-classifier/linear-v0"))
    with pytest.raises(ModelFileError, match="re-export"):
        Predictor.load(copy)


@pytest.mark.slow
def test_same_seed_and_data_give_identical_metrics_and_scores(tmp_path, small_corpus):
    from train.training.config import compose_config
    from train.training.run import run_training

    outcomes = [run_training(compose_config(isolated_overrides(tmp_path / str(i), tracked=False)
                                            + [f"data.files=[{small_corpus}]"])) for i in range(2)]
    # speed varies, and so does the size of metrics.json that records it
    first, second = (json.dumps({k: v for k, v in o.metrics.items()
                                 if not k.startswith("speed/") and k != "size/model_bytes"}, sort_keys=True)
                     for o in outcomes)
    assert first == second  # compared as JSON, where NaN equals NaN
    for split in outcomes[0].result.scores:
        np.testing.assert_array_equal(outcomes[0].result.scores[split], outcomes[1].result.scores[split])


@pytest.mark.slow
def test_eight_parallel_sweep_jobs_on_sqlite_record_all_children(tmp_path):
    done = run_python("-m", "train", "-m", "hydra/launcher=parallel", "hydra.launcher.n_jobs=4", "seed=1,2,3,4,5,6,7,8",
                      f"hydra.sweep.dir={tmp_path}/sweep", *isolated_overrides(tmp_path),
                      "tracking.registered_model_name=null", timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.get_experiment_by_name("theme-classifier")
    runs = client.search_runs([experiment.experiment_id])
    children = [r for r in runs if r.data.tags.get("run_kind") == "sweep_child"]
    assert len(children) == 8 and all(r.info.status == "FINISHED" for r in children)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(
    st.text(max_size=80),
    st.builds(lambda i, t, l, s: json.dumps({"id": i, "text": t, "labels": l, "source": s}),
              st.one_of(st.text(max_size=5), st.integers()), st.one_of(st.text(max_size=40), st.none()),
              st.one_of(st.lists(st.sampled_from(THEMES + ["x", ""]), max_size=3), st.text(max_size=5)),
              st.sampled_from(["authored", "seed", "", 3])),
), max_size=12))
def test_fuzz_the_loader_gives_rows_or_a_located_error(tmp_path, lines):
    path = tmp_path / "fuzz.jsonl"
    path.write_text("\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines), encoding="utf-8")
    try:
        records = read_records([path], THEMES)
    except ValueError as err:
        assert str(err).startswith(f"{path}:") or "no labeled rows" in str(err)
    else:
        assert all(r["text"].strip() and set(r["labels"]) <= set(THEMES) for r in records)


@pytest.mark.slow
def test_a_run_that_fails_while_logging_leaves_the_live_export_as_it_was(trained, small_corpus):
    """The artifact store is unwritable: the run fails after training, before publishing."""
    before = os.readlink(trained.export_dir), (trained.export_dir / MANIFEST_FILE).read_text()
    done = run_python("-m", "train", *isolated_overrides(trained.tmp), f"data.files=[{small_corpus}]",
                      "tracking.experiment=unwritable-artifacts",
                      "tracking.artifact_location=file:///proc/no-such-store")
    assert done.returncode != 0
    assert (os.readlink(trained.export_dir), (trained.export_dir / MANIFEST_FILE).read_text()) == before
    versions = trained.export_dir.parent / f".{trained.export_dir.name}.versions"
    assert not [p.name for p in versions.iterdir() if p.name.startswith(("pending-", "incomplete-"))]
    client = MlflowClient(tracking_uri=trained.cfg.tracking.uri)
    failed = client.search_runs([client.get_experiment_by_name("unwritable-artifacts").experiment_id])
    assert [r.info.status for r in failed] == ["FAILED"]
