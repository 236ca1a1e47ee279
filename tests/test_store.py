"""The tracking store under kills and concurrency: created whole, dead runs marked KILLED,
workers that end with their trainer, and two trainings at once that each register their own model."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from conftest import ROOT, isolated_overrides
from train.tracking.store import PROCESS_TAG, create_sqlite_store, mark_dead_runs_killed, process_tag

CREATE_STORE = "import sys; from train.tracking.store import create_sqlite_store; create_sqlite_store(sys.argv[1])"


def _popen(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def test_a_new_store_is_complete_and_the_build_leaves_nothing_beside_it(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    create_sqlite_store(uri)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow.db"]
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
    host = socket.gethostname()
    runs = {
        "dead": client.create_run(experiment, tags={PROCESS_TAG: f"{host}/{dead.stdout.strip()}:"}),
        "alive": client.create_run(experiment, tags=process_tag()),
        "other host": client.create_run(experiment, tags={PROCESS_TAG: f"not-{host}/1:"}),
        "untagged": client.create_run(experiment),
    }
    pid_one_reused = client.create_run(experiment, tags={PROCESS_TAG: f"{host}/{os.getpid()}:1"})  # another start time
    killed = mark_dead_runs_killed(client)
    assert sorted(killed) == sorted([runs["dead"].info.run_id, pid_one_reused.info.run_id])
    status = {name: client.get_run(run.info.run_id).info.status for name, run in runs.items()}
    assert status == {"dead": "KILLED", "alive": "RUNNING", "other host": "RUNNING", "untagged": "RUNNING"}


def _running_children(pid: int) -> set[int]:
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] not in "ZX" and int(fields[1]) == pid:  # state, parent pid
            children.add(int(stat.parent.name))
    return children


@pytest.mark.slow
def test_a_trainer_killed_during_cross_validation_takes_its_workers_along_and_is_marked_killed(tmp_path,
                                                                                              small_corpus):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    trainer = _popen("-m", "train", *isolated_overrides(tmp_path), f"data.files=[{small_corpus}]", "trainer.cv_jobs=2",
                     "trainer.cv_folds=5")
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while len(workers) < 2:  # cross-validation has started its two workers (beside resource trackers)
        assert trainer.poll() is None and time.monotonic() < deadline, trainer.stdout.read()
        workers = {pid for pid in _running_children(trainer.pid)
                   if b"popen_loky_posix" in Path(f"/proc/{pid}/cmdline").read_bytes()}
        time.sleep(0.1)
    trainer.send_signal(signal.SIGKILL)
    trainer.wait()
    time.sleep(3)
    assert not {pid for pid in workers if Path(f"/proc/{pid}").exists()
                and Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in "ZX"}
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("theme-classifier")
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.status == "RUNNING"  # nothing could mark it as the process died
    from train.tracking.runs import MlflowTracking

    MlflowTracking(uri, "theme-classifier").check()  # what the next training does first
    assert client.get_run(run.info.run_id).info.status == "KILLED"


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
