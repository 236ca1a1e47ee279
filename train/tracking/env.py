"""MLflow's environment defaults for this project; import before importing mlflow.

Telemetry off (our machines have no internet) and no progress bars on artifact downloads.
Values the user has set are kept."""

import os

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
