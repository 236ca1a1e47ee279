"""MLflow's environment defaults for this project; import before importing mlflow.

Telemetry off (our machines have no internet), no progress bars on artifact downloads, and
warnings only in the log (the store's "creating tables" notes are noise on a command line).
Values the user has set are kept."""

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
