"""Real MLflow servers on 127.0.0.1: a tracking server used over HTTP, and a served model."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import isolated_overrides, run_python
from train.training.processes import terminate

pytestmark = pytest.mark.slow
MLFLOW = str(Path(sys.executable).with_name("mlflow"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, payload: dict | None = None) -> dict:
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as response:
        body = response.read().decode()
    return json.loads(body) if body.strip().startswith(("{", "[")) else {"text": body}


def start(args: list[str], ready_url: str, env: dict, log: Path, timeout: float = 120) -> subprocess.Popen:
    # The scoring server execs uvicorn by name: it must be on PATH next to this interpreter.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    process = subprocess.Popen(args, env={**os.environ, "PATH": path, "MLFLOW_DISABLE_TELEMETRY": "true", **env},
                               stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(ready_url, timeout=2)
            return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise TimeoutError(f"server not ready: {log.read_text()[-2000:]}")


def test_training_logs_to_a_real_tracking_server_over_http(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start([MLFLOW, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                    "--backend-store-uri", f"sqlite:///{tmp_path}/server.db",
                    "--artifacts-destination", str(tmp_path / "server-artifacts")],
                   f"{url}/health", {}, tmp_path / "server.log")
    try:
        overrides = [o for o in isolated_overrides(tmp_path) if not o.startswith("tracking.")]
        done = run_python("-m", "train", "tracking=server", f"tracking.uri={url}", *overrides)
        assert done.returncode == 0, done.stderr[-3000:]
        experiment = request(f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=theme-classifier")
        found = request(f"{url}/api/2.0/mlflow/runs/search",
                        {"experiment_ids": [experiment["experiment"]["experiment_id"]]})["runs"]
        assert len(found) == 1
        data = found[0]["data"]
        metrics = {m["key"]: m["value"] for m in data["metrics"]}
        params = {p["key"]: p["value"] for p in data["params"]}
        assert metrics["realcopy_test/macro_f1"] > 0.5 and params["model._target_"] == "sklearn.svm.LinearSVC"
        assert any(Path(tmp_path / "server-artifacts").rglob("classification_report_realcopy_test.txt"))
    finally:
        terminate(server)


def test_served_champion_answers_invocations(trained, tmp_path):
    from train.tracking.registry import promote

    promote("theme-classifier", tracking_uri=trained.cfg.tracking.uri, version=trained.version)
    port = free_port()
    server = start([MLFLOW, "models", "serve", "-m", "models:/theme-classifier@champion", "--env-manager", "local",
                    "--host", "127.0.0.1", "--port", str(port)],
                   f"http://127.0.0.1:{port}/ping", {"MLFLOW_TRACKING_URI": trained.cfg.tracking.uri},
                   tmp_path / "serve.log")
    try:
        answer = request(f"http://127.0.0.1:{port}/invocations", {"dataframe_records": [
            {"text": "The airline resumed direct flights to Manchester."},
            {"text": "Heavy rain flooded the city on Sunday."},
        ]})
        rows = answer["predictions"]
        assert [row["themes"] for row in rows] == [["aviation"], []]
        assert 0.0 <= rows[0]["aviation"] <= 1.0
    finally:
        terminate(server)
