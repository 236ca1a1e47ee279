"""theme-serve against `mlflow models serve`: the same model, the same requests, one machine.

    pip install -e ".[train,serve]"
    python benchmarks/serve_load.py                  # the project's export, and its registry's champion
    MLFLOW_TRACKING_URI=sqlite:////tmp/run/mlflow.db python benchmarks/serve_load.py \\
        --model /tmp/run/models/theme-classifier --requests 5000 --concurrency 8

Starts both servers on free 127.0.0.1 ports, each as it starts by default (one process):
``theme-serve --model MODEL`` and ``mlflow models serve -m REGISTERED --env-manager local``,
as the README serves the registered model. Checks that they answer alike, warms each up, then
sends ``--requests`` one-sentence ``dataframe_split`` requests (sentences of the real-copy test
set, in the same order to both) from ``--concurrency`` threads, each on its own keep-alive
connection, to one server at a time. The client shares the machine's CPUs with the server it
measures. Trains nothing; prints a table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

from train.runtime.paths import DATA_DIR, DEFAULT_MODEL
from train.training.processes import terminate

BIN = Path(sys.executable).parent  # theme-serve and mlflow, beside this interpreter
SENTENCES = DATA_DIR / "realcopy" / "test.jsonl"
MAX_REQUESTS, MAX_CONCURRENCY = 100_000, 64
WARMUP = 50  # requests per server before measuring: first calls fill caches
AGREEMENT = 50  # requests whose answers must match between the servers
READY_TIMEOUT = 180  # seconds; mlflow's server downloads the model and imports pandas first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load-test theme-serve and mlflow models serve.")
    parser.add_argument("--model", default=str(DEFAULT_MODEL),
                        help="what theme-serve loads: a model folder or models:/ URI (default: %(default)s)")
    parser.add_argument("--registered", default="models:/theme-classifier@champion",
                        help="what mlflow models serve loads (default: %(default)s); the tracking store is "
                             "MLFLOW_TRACKING_URI, else the training config's")
    parser.add_argument("--requests", type=bounded(MAX_REQUESTS), default=2000,
                        help=f"requests per server, at most {MAX_REQUESTS} (default: %(default)s)")
    parser.add_argument("--concurrency", type=bounded(MAX_CONCURRENCY), default=4,
                        help=f"client threads, at most {MAX_CONCURRENCY} (default: %(default)s)")
    args = parser.parse_args(argv)

    texts = [json.loads(line)["text"] for line in SENTENCES.read_text(encoding="utf-8").splitlines() if line.strip()]
    bodies = [json.dumps({"dataframe_split": {"columns": ["text"], "data": [[texts[i % len(texts)]]]}})
              for i in range(args.requests)]
    env = server_env()
    with tempfile.TemporaryDirectory(prefix="serve-load-") as logs:
        servers = {
            "theme-serve": lambda port: [str(BIN / "theme-serve"), "--model", args.model, "--port", str(port)],
            "mlflow models serve": lambda port: [str(BIN / "mlflow"), "models", "serve", "-m", args.registered,
                                                 "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)],
        }
        ports, processes = {}, []
        try:
            for name, command in servers.items():
                ports[name] = free_port()
                processes.append(start(command(ports[name]), ports[name], env, Path(logs) / f"{len(processes)}.log"))
            check_agreement(list(ports.values()), bodies[:AGREEMENT])
            results = {}
            for name, port in ports.items():
                measure(port, bodies[:WARMUP], args.concurrency)
                results[name] = measure(port, bodies, args.concurrency)
        finally:
            for process in processes:
                terminate(process)
    print_table(args, results)
    return 0


def bounded(limit: int):
    def parse(value: str) -> int:
        if not value.isdigit() or not 1 <= int(value) <= limit:
            raise argparse.ArgumentTypeError(f"{value!r}: give a whole number from 1 to {limit}")
        return int(value)

    return parse


def server_env() -> dict[str, str]:
    """Telemetry off for every process; mlflow's server execs uvicorn by name, so it must be on PATH."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if "MLFLOW_TRACKING_URI" not in env:
        from train.tracking.registry import default_tracking_uri

        env["MLFLOW_TRACKING_URI"] = default_tracking_uri()
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], port: int, env: dict, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{command[0]} exited: {log.read_text()[-2000:]}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass  # not listening yet
        finally:
            connection.close()
        time.sleep(0.5)
    process.kill()
    sys.exit(f"{command[0]} was not ready in {READY_TIMEOUT} s: {log.read_text()[-2000:]}")


def post(connection: http.client.HTTPConnection, body: str) -> bytes:
    connection.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = response.read()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {answer[:300]!r}")
    return answer


def check_agreement(ports: list[int], bodies: list[str]) -> None:
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for port in ports]
    for body in bodies:
        answers = [json.loads(post(connection, body)) for connection in connections]
        if any(answer != answers[0] for answer in answers):
            sys.exit(f"the servers answer {body} differently: {answers}")
    for connection in connections:
        connection.close()


def measure(port: int, bodies: list[str], concurrency: int) -> dict[str, float]:
    """Requests per second over the whole batch, and the median and 99th-percentile latency."""
    local, opened = threading.local(), []

    def timed(body: str) -> float:
        if not hasattr(local, "connection"):  # one keep-alive connection per client thread
            local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            opened.append(local.connection)
        started = time.perf_counter()
        post(local.connection, body)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(timed, bodies))
    elapsed = time.perf_counter() - started
    for connection in opened:
        connection.close()
    return {"requests_s": len(bodies) / elapsed, "p50_ms": 1e3 * statistics.median(latencies),
            "p99_ms": 1e3 * statistics.quantiles(latencies, n=100)[98]}


def print_table(args, results: dict[str, dict[str, float]]) -> None:
    ours, theirs = results["theme-serve"], results["mlflow models serve"]
    print(f"{args.requests} one-sentence dataframe_split requests per server, {args.concurrency} concurrent "
          f"keep-alive connections; {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"mlflow {version('mlflow')}, uvicorn {version('uvicorn')}")
    print(f"{'server':<24}{'requests/s':>12}{'p50 ms':>10}{'p99 ms':>10}")
    for name, row in results.items():
        print(f"{name:<24}{row['requests_s']:>12.1f}{row['p50_ms']:>10.2f}{row['p99_ms']:>10.2f}")
    print(f"{'theme-serve / mlflow':<24}{ours['requests_s'] / theirs['requests_s']:>11.2f}x"
          f"{ours['p50_ms'] / theirs['p50_ms']:>9.2f}x{ours['p99_ms'] / theirs['p99_ms']:>9.2f}x")


if __name__ == "__main__":
    sys.exit(main())
