"""MLflow's environment defaults for this project; import before importing mlflow.

Telemetry off (our machines have no internet), no progress bars on artifact downloads, and
warnings only in the log (the store's "creating tables" notes are noise on a command line).
Values the user has set are kept. Also ``registration_quietly``: MLflow prints its own notes
on registering a model, which the project's summaries already say."""

import contextlib
import io
import os
import sys

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

REGISTRATION_NOTES = ("Successfully registered model ", "Created version ", "Registered model ")


@contextlib.contextmanager
def registration_quietly():
    """Run MLflow's registration without its notes on stderr; anything else it writes there is kept."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            yield
    finally:
        kept = [line for line in captured.getvalue().splitlines(keepends=True)
                if not line.startswith(REGISTRATION_NOTES)]
        sys.stderr.write("".join(kept))
