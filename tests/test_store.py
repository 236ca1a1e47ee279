"""The tracking store under kills and concurrency: created whole, dead runs marked KILLED,
workers that end with their trainer, and two trainings at once that each register their own model."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from conftest import ROOT, isolated_overrides, run_python
from train.tracking.store import PROCESS_TAG, create_sqlite_store, mark_dead_runs_killed, process_tag, this_machine

CREATE_STORE = "import sys; from train.tracking.store import create_sqlite_store; create_sqlite_store(sys.argv[1])"


def _popen(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def test_a_new_store_is_complete_and_the_build_leaves_nothing_beside_it(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    (tmp_path / ".mlflow.db.creating-old").write_text("")  # a name no build of ours has: left alone
    create_sqlite_store(uri)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".mlflow.db.creating-old", "mlflow.db"]
    assert [e.name for e in MlflowClient(uri).search_experiments()] == ["Default"]
    create_sqlite_store(uri)  # an existing store is left alone
    assert [e.name for e in MlflowClient(uri).search_experiments()] == ["Default"]


@pytest.mark.slow
def test_killing_the_creation_of_a_store_leaves_none_or_a_complete_one(tmp_path):
    """SIGKILL at moments across the creation (which takes about a second after the imports)."""
    outcomes = []
    for attempt, delay in enumerate((0.8, 1.2, 1.6, 2.0, 2.4, 2.8, 3.2)):
        uri = f"sqlite:///{tmp_path}/{attempt}/mlflow.db"
        creator = _popen("-c", CREATE_STORE, uri)
        time.sleep(delay)
        creator.send_signal(signal.SIGKILL)
        creator.wait()
        store = tmp_path / str(attempt) / "mlflow.db"
        outcomes.append(store.exists())
        create_sqlite_store(uri)  # the next run: builds it if missing, and clears the dead build
        assert [e.name for e in MlflowClient(uri).search_experiments()] == ["Default"]
        assert sorted(p.name for p in store.parent.iterdir()) == ["mlflow.db"]
    assert not all(outcomes), "no kill landed during the creation: the test proves nothing"


def test_runs_of_dead_processes_are_marked_killed_and_live_ones_kept(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.create_experiment("e", artifact_location=f"file://{tmp_path}/artifacts")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = this_machine()
    runs = {
        "dead": client.create_run(experiment, tags={PROCESS_TAG: f"{host}/{dead.stdout.strip()}:"}),
        "alive": client.create_run(experiment, tags=process_tag()),
        "other host": client.create_run(experiment, tags={PROCESS_TAG: f"not-{host}/1:"}),
        "a look-alike host": client.create_run(experiment, tags={PROCESS_TAG: f"{host[:-1]}%/1:"}),
        "untagged": client.create_run(experiment),
    }
    pid_one_reused = client.create_run(experiment, tags={PROCESS_TAG: f"{host}/{os.getpid()}:1"})  # another start time
    killed = mark_dead_runs_killed(client)
    assert sorted(killed) == sorted([runs["dead"].info.run_id, pid_one_reused.info.run_id])
    status = {name: client.get_run(run.info.run_id).info.status for name, run in runs.items()}
    assert status == {"dead": "KILLED", "alive": "RUNNING", "other host": "RUNNING", "a look-alike host": "RUNNING",
                      "untagged": "RUNNING"}


def _process_state(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _is_running(pid: int) -> bool:
    state = _process_state(pid)
    return state is not None and state[0] not in "ZX"  # a zombie has ended


def _loky_workers(parent: int) -> set[int]:
    workers = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        pid = int(cmdline.parent.name)
        try:
            if b"popen_loky_posix" in cmdline.read_bytes() and _process_state(pid)[1] == parent and _is_running(pid):
                workers.add(pid)
        except (OSError, TypeError):
            continue
    return workers


def _export_state(live: Path) -> tuple[str, str]:
    return os.readlink(live), (live / "manifest.json").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["cross-validation", "logging"])
def test_a_trainer_killed_mid_run_keeps_the_export_takes_its_workers_along_and_is_marked_killed(tmp_path, small_corpus,
                                                                                                stage):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    base = [*isolated_overrides(tmp_path), f"data.files=[{small_corpus}]"]
    assert run_python("-m", "train", *base).returncode == 0
    live = tmp_path / "models" / "theme-classifier"
    before = _export_state(live)
    trainer = _popen("-m", "train", *base, "trainer.cv_jobs=2", "trainer.cv_folds=5", "seed=14")
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while True:  # until the stage is reached: CV's two workers are up, or a finished version is being logged
        assert trainer.poll() is None and time.monotonic() < deadline, trainer.stdout.read()
        workers |= _loky_workers(trainer.pid)
        if len(workers) >= 2 if stage == "cross-validation" else any(live.parent.glob(".*.versions/pending-*")):
            break
        time.sleep(0.02)
    trainer.send_signal(signal.SIGKILL)
    trainer.wait()
    time.sleep(3)
    assert workers and not [pid for pid in workers if _is_running(pid)]
    assert _export_state(live) == before
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("theme-classifier")
    killed = [r for r in client.search_runs([experiment.experiment_id]) if r.info.status == "RUNNING"]
    assert len(killed) == 1  # nothing could mark it as the process died
    assert run_python("-m", "train", *base, "seed=15").returncode == 0  # the next run marks it and goes on
    assert client.get_run(killed[0].info.run_id).info.status == "KILLED"
    assert _export_state(live) != before
    assert not list(live.parent.glob(".*.versions/pending-*")) + list(live.parent.glob(".*.versions/incomplete-*"))


@pytest.mark.slow
def test_two_trainings_at_once_each_register_their_own_model(tmp_path, small_corpus):
    """Two runs on different data and seeds, one store and one export name, started together."""
    half = tmp_path / "half.jsonl"
    half.write_text("\n".join(small_corpus.read_text(encoding="utf-8").splitlines()[::2]), encoding="utf-8")
    jobs = [_popen("-m", "train", *isolated_overrides(tmp_path), f"data.files=[{data}]", f"seed={seed}",
                   f"hydra.run.dir={tmp_path}/outputs-{seed}")
            for data, seed in ((small_corpus, 13), (half, 14))]
    for job in jobs:
        output = job.communicate(timeout=600)[0]
        assert job.returncode == 0, output
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    versions = client.search_model_versions("name = 'theme-classifier'")
    assert len(versions) == 2
    fingerprints = set()
    for version in versions:
        run = client.get_run(version.run_id)
        source = client.get_model_version_download_uri("theme-classifier", version.version)
        local = Path(mlflow.artifacts.download_artifacts(source, dst_path=str(tmp_path / f"v{version.version}")))
        [folder] = [p for p in (local / "artifacts").iterdir() if (p / "predictor.json").is_file()]
        spec = json.loads((folder / "predictor.json").read_text())
        metrics = json.loads((folder / "metrics.json").read_text())
        assert spec["run_id"] == version.run_id
        assert spec["data_fingerprint"] == run.data.tags["data_fingerprint"]
        assert metrics["realcopy_test/macro_f1"] == pytest.approx(run.data.metrics["realcopy_test/macro_f1"])
        fingerprints.add(spec["data_fingerprint"])
    assert len(fingerprints) == 2


def test_a_broken_store_file_is_one_line_that_says_to_move_it_aside(tmp_path):
    from train.runtime.errors import TrackingError
    from train.tracking.runs import MlflowTracking

    store = tmp_path / "mlflow.db"
    store.write_bytes(b"not a database, as a half-written file can be" * 100)
    with pytest.raises(TrackingError) as error:
        MlflowTracking(f"sqlite:///{store}", "theme-classifier").check()
    assert str(error.value) == (f"cannot use the MLflow store at sqlite:///{store} (DatabaseError); "
                                f"if its creation was interrupted, move {store} aside and train again")


def test_a_deleted_experiment_says_how_to_restore_it(tmp_path):
    from train.runtime.errors import TrackingError
    from train.tracking.runs import MlflowTracking

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    experiment = MlflowTracking(uri, "theme-classifier", artifact_location=f"file://{tmp_path}/a").check()
    MlflowClient(uri).delete_experiment(experiment)
    with pytest.raises(TrackingError, match=f"experiment 'theme-classifier' is deleted in {uri}; restore it with "
                                            f"`mlflow experiments restore --experiment-id {experiment}`"):
        MlflowTracking(uri, "theme-classifier").check()


CHECK_STORE = ("import sys; from train.tracking.runs import MlflowTracking; "
               "MlflowTracking(sys.argv[1], 'theme-classifier', artifact_location=sys.argv[2]).check()")


@pytest.mark.slow
def test_parallel_jobs_set_up_one_new_store_and_experiment_together(tmp_path):
    """Four processes at once, three times: each creates or finds the store, the experiment and
    its tags (racing to insert the same tag once failed one of them)."""
    for attempt in range(3):
        uri = f"sqlite:///{tmp_path}/{attempt}/mlflow.db"
        jobs = [_popen("-c", CHECK_STORE, uri, f"file://{tmp_path}/{attempt}/artifacts") for _ in range(4)]
        outputs = [job.communicate(timeout=300)[0] for job in jobs]
        assert [job.returncode for job in jobs] == [0] * 4, outputs
        [experiment] = [e for e in MlflowClient(uri).search_experiments() if e.name == "theme-classifier"]
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
