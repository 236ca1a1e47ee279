"""Screenshots of the real MLflow UI over the project's store, for the README.

    python docs/screenshots.py                # after `python -m train` and a sweep (`-m ...`)

Starts `mlflow ui` on a free local port and takes, in headless Chromium, the views that
training prints the address of: the experiment's runs compared (table and charts) and the
newest sweep's jobs. Needs Chromium (Debian: `apt-get install chromium`).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from train.tracking.runs import MlflowTracking  # noqa: E402  (after the path is set)
from train.tracking.ui_views import COMPARE_VIEW  # noqa: E402
from train.training.processes import terminate  # noqa: E402

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--virtual-time-budget=25000"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=f"sqlite:///{ROOT}/mlflow.db")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    from mlflow.tracking import MlflowClient

    client = MlflowClient(args.store)
    experiment_id = MlflowTracking(args.store, "theme-classifier").check()
    runs = client.search_runs([experiment_id], order_by=["attributes.start_time DESC"])
    sweep = next(r for r in runs if r.data.tags.get("run_kind") == "sweep")
    port = _free_port()
    ui = subprocess.Popen([str(Path(sys.executable).with_name("mlflow")), "ui", "--backend-store-uri", args.store,
                           "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/health")
        tracking = MlflowTracking(args.store, "theme-classifier")

        def url(view: str = COMPARE_VIEW, charts: bool = False) -> str:
            return tracking.compare_url(experiment_id, view, charts).replace("http://127.0.0.1:5000", base)

        pages = {
            "mlflow-runs.png": url(),
            "mlflow-charts.png": url(charts=True),
            "mlflow-sweep.png": url(f"sweep-{sweep.info.run_id[:8]}", charts=True),
        }
        for name, url in pages.items():
            _shot(args.chromium, url, args.out / name)
            print(f"{args.out / name}  <- {url}")
    finally:
        terminate(ui)


def _shot(chromium: str, url: str, path: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1800,1100",
                        f"--screenshot={path}", url], check=True, timeout=120, capture_output=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


if __name__ == "__main__":
    main()
